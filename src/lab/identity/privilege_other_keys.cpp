// lab.privilege_other_keys: a thing reaches for another thing's keys and resources (T11,
// elevation of privilege; docs/DOMAIN.md "Resources", "Thing resources").
//
// Attacker: member A with compromised software and its own credentials. SecProf_2-4: asks the KDC
// for the key of a group it is not in (B and C's); reads B's sensor without a ticket over plain
// CoAP, over DTLS-PSK with its own KDC credential, and with a genuine ticket the KDC issued it for
// C (not for B), posted to B. SecProf_1: every member holds the one domain key (draft figure 8:
// keys shared, no origin authentication), so A sends link frames in the mother's name.
// Success: a key or a resource it is not entitled to (a 2.xx answer, an accepted frame).
#include "groups.h"
#include "privilege.h"
#include "secprof/domain/keys.h"
#include "secprof/domain/protocol.h"

namespace secprof::lab::internal {
namespace {

constexpr const char* kGroup = "lab-private";

class PrivilegeOtherKeys final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.privilege_other_keys",
        "T11",
        "operation",
        "application",
        "a member thing with compromised software asks for another group's key and reaches "
        "another thing's resources without a ticket for it",
        "it obtains a key or a resource it is not entitled to",
        {"M.app.access_control", "M.app.pairwise_keys", "M.app.group_keys"},
        {"kdc.group_keys", "thing.authorize"},
        false};
    return i;
  }

  Result<Measurement> Run(const RunContext& ctx) const override {
    DomainOptions o = Things(ctx, 3);
    SECPROF_ASSIGN_OR_RETURN(auto d, LiveDomain::Start(o));
    if (ctx.profile == domain::Profile::kSecProf1) return Duckling(*d, ctx);
    const std::string b = d->thing(1).state().serial, c = d->thing(2).state().serial;
    SECPROF_TRY(d->owner()->CreateGroup(kGroup));
    SECPROF_TRY(d->owner()->AddMember(kGroup, b));
    SECPROF_TRY(d->owner()->AddMember(kGroup, c));
    SECPROF_ASSIGN_OR_RETURN(auto* peer, d->ServeThing(1));
    const uint16_t pu = peer->server->udp_port(), pd = peer->server->dtls_port();
    SECPROF_ASSIGN_OR_RETURN(auto s, ThingOwnSession(*d, 0, ctx.dir / "own", ctx.timeout));
    const auto before = d->refusals();
    std::vector<Attempt> at;
    at.push_back(Try(*s, std::string("POST k/group ") + kGroup + " (B and C only)",
                     coap::Method::kPost, domain::path::kGroupKey,
                     domain::Encode(domain::GroupKeyRequest{kGroup})));
    // B's sensor without a ticket: plain CoAP.
    {
      SECPROF_ASSIGN_OR_RETURN(auto plain, coap::Client::Connect("127.0.0.1", pu, {}));
      at.push_back(Try(*plain, "GET B's sensor/temp over plain CoAP", coap::Method::kGet,
                       domain::path::kSensor));
    }
    // ... over DTLS-PSK with A's own KDC credential (SecProf_2: its PSK identity and key).
    SECPROF_ASSIGN_OR_RETURN(DeviceCopy own, CopyDevice(*d, 0, ctx.dir / "own-2", true));
    SECPROF_ASSIGN_OR_RETURN(FileLoot loot, ReadDeviceFiles(own));
    if (auto it = loot.secrets.find("pairwise"); it != loot.secrets.end()) {
      coap::ClientConfig cc;
      cc.security = coap::Security::kPsk;
      cc.psk_identity = loot.psk_identity.empty() ? loot.serial : loot.psk_identity;
      cc.psk_key = it->second.Clone();
      cc.timeout = ctx.timeout;
      at.push_back(Dtls(pd, std::move(cc), "DTLS-PSK to B with A's own KDC key"));
    }
    // ... with a genuine ticket the KDC issued A for C, posted to B.
    auto pr = s->Post(domain::path::kPairKey, domain::Encode(domain::PairKeyRequest{c}),
                      coap::content_format::kCbor);
    if (pr && pr->code == coap::kChanged) {
      SECPROF_ASSIGN_OR_RETURN(domain::PairKeyResponse pk,
                               domain::DecodePairKeyResponse(pr->payload));
      auto conn = thing::ConnectToPeer("127.0.0.1", pu, pd, pk, ctx.timeout);
      if (conn) {
        at.push_back(Try(**conn, "GET B's sensor with A's ticket for C", coap::Method::kGet,
                         domain::path::kSensor));
      } else {
        at.push_back(
            {"ticket for C posted to B, then DTLS-PSK with it", conn.error().message(), false});
      }
    } else {
      at.push_back({"(setup) k/pair for C", pr ? BodyText(*pr) : pr.error().message(), false});
    }
    return Verdict(at, "thing.authorize", RefusalDelta(before, d->refusals()));
  }

 private:
  static Attempt Dtls(uint16_t port, coap::ClientConfig cc, std::string what) {
    auto c = coap::Client::Connect("127.0.0.1", port, std::move(cc));
    if (!c) return {std::move(what), "handshake refused: " + c.error().message(), false};
    return Try(**c, what + ", GET sensor/temp", coap::Method::kGet, domain::path::kSensor);
  }

  // SecProf_1: member 1 (not the mother) sends a link frame in the mother's name to member 2.
  static Result<Measurement> Duckling(LiveDomain& d, const RunContext& ctx) {
    SECPROF_ASSIGN_OR_RETURN(DeviceCopy own, CopyDevice(d, 1, ctx.dir / "own", true));
    SECPROF_ASSIGN_OR_RETURN(FileLoot loot, ReadDeviceFiles(own));
    auto it = loot.secrets.find("domain");
    if (it == loot.secrets.end()) return Fail(ErrorCode::kInternal, "lab: member has no key");
    SECPROF_ASSIGN_OR_RETURN(auto* target, d.ServeThing(2));
    SECPROF_ASSIGN_OR_RETURN(auto c,
                             coap::Client::Connect("127.0.0.1", target->server->udp_port(), {}));
    const std::string mother = d.thing(0).state().serial;
    domain::LinkFrame f{mother, uint64_t{1} << 40, coap::Text("off")};
    SECPROF_ASSIGN_OR_RETURN(crypto::Bytes frame, domain::SealLinkFrame(it->second.view(), f));
    std::vector<Attempt> at;
    at.push_back(
        Try(*c, "POST l2: a frame in the mother's name (" + mother + ") from member " + loot.serial,
            coap::Method::kPost, domain::path::kLink, frame));
    Measurement m = Verdict(at, "thing.l2_security", "");
    if (m.outcome == Outcome::kSucceeded)
      m.reason +=
          " (SecProf_1 shares one domain key among members, draft figure 8/10: no origin "
          "authentication)";
    return m;
  }
};

}  // namespace

std::unique_ptr<Scenario> MakePrivilegeOtherKeys() {
  return std::make_unique<PrivilegeOtherKeys>();
}

}  // namespace secprof::lab::internal

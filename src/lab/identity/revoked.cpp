// lab.revoked: after a thing is decommissioned, credentials copied from it before are used again
// at the KDC and at a peer (T1/T6 at decommissioning; docs/DOMAIN.md "Owner commands" and
// "Limits": revocation reaches peers by polling).
//
// Attacker: copied a thing's storage while it was in service (the whole storage: state directory
// and, where the device has no tamper resistance, its KEK file) and took a ticket for a peer with
// it. After the thing is decommissioned (lc/decommission: credential revoked at the KDC, keys
// wiped on the thing) it opens a session with the copied credential, asks for keys, and opens
// the peer with the ticket at once. The peer polls the KDC's revocation list every second; the
// evidence records how long it kept accepting the ticket.
// SecProf_1: no KDC and no revocation: a member's copied domain key still opens the others after
// the member was reset. Token things (SecProf_3/4): the copy holds no key (the LDevID key stays in
// the token and is deleted from it at decommissioning), so only the ticket is left to use.
// Success: the KDC accepts the copied credential after the decommissioning, or B still accepts
// the ticket three poll intervals after it (the window before B's next poll is the documented
// limit: measured, not judged).
#include <chrono>

#include "groups.h"
#include "privilege.h"
#include "secprof/domain/keys.h"
#include "secprof/domain/protocol.h"
#include "secprof/domain/revocation.h"

namespace secprof::lab::internal {
namespace {

using namespace std::chrono_literals;

class Revoked final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.revoked",
        "T1",
        "decommissioning",
        "application",
        "copied a thing's credentials and a peer ticket while it was in service, and uses them "
        "after the thing was decommissioned",
        "the KDC accepts the copied credential after the decommissioning, or a peer still "
        "accepts the old ticket after its revocation poll",
        {"M.arch.credential_revocation"},
        {"kdc.revoke", "thing.authorize"},
        false};
    return i;
  }

  Result<Measurement> Run(const RunContext& ctx) const override {
    DomainOptions o = Things(ctx, ctx.profile == domain::Profile::kSecProf1 ? 3 : 2);
    SECPROF_ASSIGN_OR_RETURN(auto d, LiveDomain::Start(o));
    if (ctx.profile == domain::Profile::kSecProf1) return Duckling(*d, ctx);
    const std::string a = d->thing(0).state().serial, b = d->thing(1).state().serial;
    thing::ThingServerOptions so;
    so.revocation_poll = 1s;
    SECPROF_ASSIGN_OR_RETURN(auto* peer, d->ServeThing(1, so));
    const uint16_t pu = peer->server->udp_port(), pd = peer->server->dtls_port();
    // While in service: the copy, and a ticket for B through the thing's own API.
    SECPROF_ASSIGN_OR_RETURN(DeviceCopy copy, CopyDevice(*d, 0, ctx.dir / "copy", true));
    SECPROF_ASSIGN_OR_RETURN(FileLoot loot, ReadDeviceFiles(copy));
    SECPROF_ASSIGN_OR_RETURN(domain::PairKeyResponse pk, d->thing(0).RequestPairKey(b));

    // The legitimate path first: the ticket opens B while A is in service.
    const Attempt before_retire = PeerRead(pu, pd, pk, ctx.timeout, "");
    if (!before_retire.obtained)
      return Fail(ErrorCode::kInternal,
                  "lab: the ticket does not open B even before the decommissioning: " +
                      before_retire.answer);
    SECPROF_TRY(d->thing(0).Decommission());
    const auto before = d->refusals();
    std::vector<Attempt> at;
    auto s = OwnSession(*d, loot, nullptr, ctx.timeout);  // the copy's credential, not the token
    if (s) {
      at.push_back(Try(**s, "copied credential: POST k/pair for " + b, coap::Method::kPost,
                       domain::path::kPairKey, domain::Encode(domain::PairKeyRequest{b})));
      at.push_back(
          Try(**s, "copied credential: GET k/revoked", coap::Method::kGet, domain::path::kRevoked));
    } else {
      at.push_back({"session with the copied credential", s.error().message(), false});
    }
    // The peer drops the ticket at its next revocation poll (docs/DOMAIN.md "Limits": up to the
    // poll interval plus a request): that window is measured; a peer that still accepts the
    // ticket after three poll intervals is a success of the attack.
    std::string window;
    at.push_back(PeerAfterRetirement(pu, pd, pk, ctx.timeout, "decommissioning", window));
    // The defender's word: the KDC's refusal counters, else the registry's record of the thing
    // (a revoked PSK is refused in the handshake's key lookup, which counts no reason).
    std::string refused = RefusalDelta(before, d->refusals());
    if (refused.empty()) refused = "registry state " + RegistryState(*d, a);
    Measurement m = Verdict(at, "kdc.revoke", refused);
    m.evidence.push_back(
        {"timing", "B and the ticket taken before (revocation poll 1 s): " + window, ""});
    if (!loot.locked.empty())
      m.evidence.push_back({"log", "the copy of a token thing: " + loot.locked, ""});
    return m;
  }

  // SecProf_1: the mother (thing 0; members 1 and 2 serve their resources) is copied, then
  // reset; its copied domain key speaks to member 2.
  static Result<Measurement> Duckling(LiveDomain& d, const RunContext& ctx) {
    SECPROF_ASSIGN_OR_RETURN(DeviceCopy copy, CopyDevice(d, 0, ctx.dir / "copy", true));
    SECPROF_ASSIGN_OR_RETURN(FileLoot loot, ReadDeviceFiles(copy));
    auto it = loot.secrets.find("domain");
    if (it == loot.secrets.end()) return Fail(ErrorCode::kInternal, "lab: member has no key");
    SECPROF_TRY(d.thing(0).FactoryReset(/*force=*/true));
    SECPROF_ASSIGN_OR_RETURN(auto* target, d.ServeThing(2));
    SECPROF_ASSIGN_OR_RETURN(auto c,
                             coap::Client::Connect("127.0.0.1", target->server->udp_port(), {}));
    domain::LinkFrame f{loot.serial, uint64_t{1} << 40, coap::Text("after reset")};
    SECPROF_ASSIGN_OR_RETURN(crypto::Bytes frame, domain::SealLinkFrame(it->second.view(), f));
    std::vector<Attempt> at;
    at.push_back(Try(*c, "POST l2 under the reset member's copied domain key", coap::Method::kPost,
                     domain::path::kLink, frame));
    Measurement m = Verdict(at, "thing.l2_security", "");
    if (m.outcome == Outcome::kSucceeded)
      m.reason += " (SecProf_1 has no KDC: nothing revokes a member's domain key)";
    return m;
  }
};

}  // namespace

std::unique_ptr<Scenario> MakeRevoked() { return std::make_unique<Revoked>(); }

}  // namespace secprof::lab::internal

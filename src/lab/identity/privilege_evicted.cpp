// lab.privilege_evicted: a thing the owner evicted goes on using what it held (T11 at
// decommissioning; docs/DOMAIN.md "Owner commands" evict, "Limits": revocation reaches peers by
// polling).
//
// Attacker: member A with compromised software. Before the owner evicts it, A keeps its KDC
// session open and takes a ticket for peer B (both legitimate then). After the eviction it uses
// the open session (readings, a pair key, the revocation list), opens a new session with its
// credential, and reads B's sensor with the old ticket at once. B polls the KDC's revocation list
// every second (`secprof thing serve` defaults to 30 s); the evidence records how long B kept
// accepting the old ticket.
// Success: the KDC serves any of it after the eviction, or B still accepts the old ticket three
// poll intervals after it (the window before B's next poll is the documented limit: measured).
// SecProf_1 has no KDC and no eviction: not applicable.
#include <chrono>

#include "groups.h"
#include "privilege.h"
#include "secprof/domain/protocol.h"
#include "secprof/domain/revocation.h"
#include "secprof/registry/registry.h"

namespace secprof::lab::internal {
namespace {

using namespace std::chrono_literals;

class PrivilegeEvicted final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.privilege_evicted",
        "T11",
        "decommissioning",
        "application",
        "a member thing with compromised software, evicted by the owner, re-uses its open KDC "
        "session, its credential and a ticket it took before",
        "after the eviction the KDC still serves it, or a peer still accepts its old ticket "
        "after the peer's revocation poll",
        {"M.arch.credential_revocation", "M.boot.kdc_access_control", "M.app.access_control"},
        {"kdc.evict", "kdc.revoke", "thing.authorize"},
        false};
    return i;
  }

  Result<Measurement> Run(const RunContext& ctx) const override {
    if (ctx.profile == domain::Profile::kSecProf1) {
      Measurement m;
      m.outcome = Outcome::kNotApplicable;
      m.reason =
          "SecProf_1 has no KDC: nobody can evict a member (only a factory reset of "
          "every thing re-keys the domain)";
      return m;
    }
    DomainOptions o = Things(ctx, 2);
    SECPROF_ASSIGN_OR_RETURN(auto d, LiveDomain::Start(o));
    const std::string a = d->thing(0).state().serial, b = d->thing(1).state().serial;
    thing::ThingServerOptions so;
    so.revocation_poll = 1s;
    SECPROF_ASSIGN_OR_RETURN(auto* peer, d->ServeThing(1, so));
    const uint16_t pu = peer->server->udp_port(), pd = peer->server->dtls_port();
    // Before the eviction: an open session and a ticket for B.
    SECPROF_ASSIGN_OR_RETURN(auto s, ThingOwnSession(*d, 0, ctx.dir / "own", ctx.timeout));
    SECPROF_ASSIGN_OR_RETURN(
        auto pr, s->Post(domain::path::kPairKey, domain::Encode(domain::PairKeyRequest{b}),
                         coap::content_format::kCbor));
    if (pr.code != coap::kChanged)
      return Fail(ErrorCode::kInternal, "lab: A's pair key before eviction: " + BodyText(pr));
    SECPROF_ASSIGN_OR_RETURN(domain::PairKeyResponse pk, domain::DecodePairKeyResponse(pr.payload));

    // The legitimate path first: the ticket opens B while A is in service.
    const Attempt before_retire = PeerRead(pu, pd, pk, ctx.timeout, "");
    if (!before_retire.obtained)
      return Fail(
          ErrorCode::kInternal,
          "lab: the ticket does not open B even before the eviction: " + before_retire.answer);
    SECPROF_TRY(d->owner()->Retire(a, registry::State::kEvicted, "lab: evicted"));
    const auto before = d->refusals();
    std::vector<Attempt> at;
    at.push_back(Try(*s, "open session: POST op/report", coap::Method::kPost, domain::path::kReport,
                     domain::Encode(domain::Reading{a, 2100, int64_t{1} << 40})));
    at.push_back(Try(*s, "open session: POST k/pair for " + b, coap::Method::kPost,
                     domain::path::kPairKey, domain::Encode(domain::PairKeyRequest{b})));
    at.push_back(
        Try(*s, "open session: GET k/revoked", coap::Method::kGet, domain::path::kRevoked));
    auto fresh = ThingOwnSession(*d, 0, ctx.dir / "own-2", ctx.timeout);
    if (fresh) {
      at.push_back(Try(**fresh, "new session: POST k/pair for " + b, coap::Method::kPost,
                       domain::path::kPairKey, domain::Encode(domain::PairKeyRequest{b})));
    } else {
      at.push_back({"new session with its credential",
                    "handshake refused: " + fresh.error().message(), false});
    }
    // The peer drops the ticket at its next revocation poll (docs/DOMAIN.md "Limits": up to the
    // poll interval plus a request): that window is measured; a peer that still accepts the
    // ticket after three poll intervals is a success of the attack.
    std::string window;
    at.push_back(PeerAfterRetirement(pu, pd, pk, ctx.timeout, "eviction", window));
    Measurement m = Verdict(at, "kdc.evict", RefusalDelta(before, d->refusals()));
    m.evidence.push_back(
        {"timing", "B and the ticket taken before (revocation poll 1 s): " + window, ""});
    return m;
  }
};

}  // namespace

std::unique_ptr<Scenario> MakePrivilegeEvicted() { return std::make_unique<PrivilegeEvicted>(); }

}  // namespace secprof::lab::internal

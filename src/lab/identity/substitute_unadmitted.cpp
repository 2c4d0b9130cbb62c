// lab.substitute: a genuine device of the right vendor that the owner never admitted tries to
// join the domain (T2, malicious substitution; docs/DOMAIN.md "Admission").
//
// Attacker: holds a genuine, manufacturer-issued device (valid IDevID) that the owner did not buy
// for this domain, and puts it on the network during installation.
// Success: the KDC commissions it (the join returns operational credentials).
// Negative control: the owner admitted that device after all (it trusts the attacker's device:
// a setup code allowed, a voucher imported), and the same join succeeds.
#include "groups.h"
#include "secprof/lab/live_domain.h"

namespace secprof::lab::internal {
namespace {

class SubstituteUnadmitted final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.substitute",
        "T2",
        "installation",
        "application",
        "holds a genuine device of the domain's vendor that the owner never admitted, and lets it "
        "join during installation",
        "the KDC commissions the device (its join returns operational credentials)",
        {"M.arch.local_kdc", "M.boot.voucher"},
        {"kdc.admission"},
        true};
    return i;
  }

  Result<Measurement> Run(const RunContext& ctx) const override {
    Measurement m;
    if (ctx.profile == domain::Profile::kSecProf1) {
      m.outcome = Outcome::kNotApplicable;
      m.reason = "SecProf_1 has no KDC and no admission: a thing joins whoever pairs it";
      return m;
    }
    DomainOptions o;
    o.profile = ctx.profile;
    o.dir = ctx.dir;
    o.things = 1;
    o.spares = 1;
    o.tokens = ctx.tokens;
    o.timeout = ctx.timeout;
    SECPROF_ASSIGN_OR_RETURN(auto d, LiveDomain::Start(o));
    if (ctx.defence_off) SECPROF_TRY(d->Admit(1));  // the negative control
    const auto before = d->refusals();
    thing::Agent& spare = d->thing(1);
    auto joined = d->InstallAndJoin(1, d->kdc_udp_port(), d->kdc_dtls_port());
    if (joined) {
      m.outcome = Outcome::kSucceeded;
      m.reason = "the KDC commissioned " + spare.state().serial + " without an admission";
      m.evidence.push_back({"registry", spare.state().serial + " joined", ""});
      return m;
    }
    m.outcome = Outcome::kBlocked;
    m.control = "kdc.admission";
    // The defender's own reason: the KDC's refusal counter that moved.
    for (const auto& [reason, n] : d->refusals()) {
      auto it = before.find(reason);
      if (n > (it == before.end() ? 0 : it->second)) m.reason = reason;
    }
    if (m.reason.empty()) m.reason = std::string(joined.error().reason());
    m.evidence.push_back(
        {"refusal", "join of " + spare.state().serial + " refused", joined.error().message()});
    return m;
  }
};

}  // namespace

std::unique_ptr<Scenario> MakeSubstituteUnadmitted() {
  return std::make_unique<SubstituteUnadmitted>();
}

}  // namespace secprof::lab::internal

// lab.voucher_replayed: a voucher already used to commission a thing is used again after the thing
// left the domain (T2 at installation/re-ownership; docs/VOUCHER.md "Vouchers do not outlive
// ownership", docs/DOMAIN.md "Lifecycle").
//
// Attacker: the party that held the thing's voucher (the previous owner, or anyone who copied the
// owner's voucher files) after the thing was decommissioned and factory reset to be sold on. The
// voucher is still within its validity. It imports the voucher again and lets the reset thing join
// this domain with it, taking back a thing that is no longer its own.
// Success: the reset thing is commissioned again on the old voucher.
// SecProf_1 (no KDC) and SecProf_2 (setup codes, no vouchers) are not applicable.
#include "adversary.h"
#include "foreign_vendor.h"
#include "groups.h"
#include "privilege.h"
#include "secprof/core/clock.h"

namespace secprof::lab::internal {
namespace {

class VoucherReplayed final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.voucher_replayed",
        "T2",
        "reownership",
        "application",
        "holds a thing's voucher that was already used to commission it, and replays it after the "
        "thing was decommissioned and factory reset",
        "the reset thing is commissioned again on the old voucher",
        {"M.boot.voucher", "M.arch.credential_revocation"},
        {"kdc.voucher_check", "thing.voucher_check", "kdc.revoke"},
        false};
    return i;
  }

  Result<Measurement> Run(const RunContext& ctx) const override {
    if (auto na = NoVouchers(ctx.profile)) return *na;
    Measurement m;
    SECPROF_ASSIGN_OR_RETURN(auto d, LiveDomain::Start(OneUnadmittedThing(ctx)));
    SECPROF_ASSIGN_OR_RETURN(ForeignVendor acme, OpenVendor(d->factory_dir()));
    const std::string serial = d->manifest().things.at(0).serial;
    const int64_t now = UnixSeconds(SystemClock());
    // The voucher as the owner bought it (valid a day), used to commission the thing.
    SECPROF_ASSIGN_OR_RETURN(crypto::Bytes v,
                             SignVoucher(acme, serial, d->manifest().model, d->kdc()->domain_ca(),
                                         now - 60, now + 86400));
    SECPROF_TRY(d->owner()->ImportVoucher(v, *acme.ca));
    SECPROF_TRY(JoinNow(*d, 0));
    // The thing leaves: decommissioned (credential revoked), factory reset to be sold on.
    SECPROF_TRY(d->thing(0).Decommission());
    SECPROF_TRY(d->thing(0).FactoryReset());
    std::string trail = serial + " commissioned, decommissioned and factory reset\n";

    const auto before = d->refusals();
    auto imp = d->owner()->ImportVoucher(v, *acme.ca);
    trail += "the used voucher imported again: " +
             (imp ? std::string("imported") : imp.error().message()) + "\n";
    auto j = JoinNow(*d, 0);
    trail += "the reset thing joins with it: " +
             (j ? std::string("commissioned") : j.error().message()) + "\n";
    if (j) {
      m.outcome = Outcome::kSucceeded;
      m.reason = "the reset thing was commissioned again on its old voucher";
      m.evidence.push_back({"log", m.reason, trail});
      return m;
    }
    m.outcome = Outcome::kBlocked;
    const std::string refused = RefusalDelta(before, d->refusals());
    if (!refused.empty()) {
      m.control = "kdc.revoke";
      m.reason = refused;
    } else {
      m.control = "thing.voucher_check";
      m.reason =
          j.error().reason().empty() ? "voucher-before-reset" : std::string(j.error().reason());
    }
    m.evidence.push_back({"refusal", "the replayed voucher did not bring the thing back", trail});
    m.evidence.push_back(
        {"registry", serial + " in the registry: " + RegistryState(*d, serial), ""});
    return m;
  }
};

}  // namespace

std::unique_ptr<Scenario> MakeVoucherReplayed() { return std::make_unique<VoucherReplayed>(); }

}  // namespace secprof::lab::internal

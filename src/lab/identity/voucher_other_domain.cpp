// lab.voucher_other_domain: a voucher the manufacturer issued for another owner's domain is
// brought into this one (T2 at installation; docs/VOUCHER.md: a voucher pins one domain CA).
//
// Attacker: holds a genuine voucher for a thing, issued to another owner (it pins that owner's
// domain CA), and gets this domain's owner to import it so that the thing can be commissioned
// here: a thing diverted from the owner who bought it.
// Success: the voucher is imported and the thing is commissioned in this domain.
// SecProf_1 (no KDC) and SecProf_2 (setup codes, no vouchers) are not applicable.
#include "adversary.h"
#include "foreign_vendor.h"
#include "groups.h"
#include "privilege.h"
#include "secprof/core/clock.h"

namespace secprof::lab::internal {
namespace {

class VoucherOtherDomain final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.voucher_other_domain",
        "T2",
        "installation",
        "application",
        "holds a genuine manufacturer voucher for a thing that pins another owner's domain CA, "
        "and gets it imported into this domain",
        "the voucher is imported and the thing is commissioned in this domain",
        {"M.boot.voucher"},
        {"kdc.voucher_check"},
        false};
    return i;
  }

  Result<Measurement> Run(const RunContext& ctx) const override {
    if (auto na = NoVouchers(ctx.profile)) return *na;
    Measurement m;
    SECPROF_ASSIGN_OR_RETURN(auto d, LiveDomain::Start(OneUnadmittedThing(ctx)));
    SECPROF_ASSIGN_OR_RETURN(ForeignVendor acme, OpenVendor(d->factory_dir()));
    // The other owner's domain CA (a CA certificate of its own; only its key is pinned).
    SECPROF_ASSIGN_OR_RETURN(ForeignVendor other, MakeForeignVendor(ctx.dir / "other", "Other"));
    const std::string serial = d->manifest().things.at(0).serial;
    const int64_t now = UnixSeconds(SystemClock());
    SECPROF_ASSIGN_OR_RETURN(crypto::Bytes v, SignVoucher(acme, serial, d->manifest().model,
                                                          *other.ca, now, now + 86400));
    auto imp = d->owner()->ImportVoucher(v, *acme.ca);
    std::string trail = "import: " + (imp ? std::string("imported") : imp.error().message()) + "\n";
    if (imp) {
      auto j = JoinNow(*d, 0);
      trail += "join: " + (j ? std::string("commissioned") : j.error().message()) + "\n";
      if (j) {
        m.outcome = Outcome::kSucceeded;
        m.reason = "commissioned on a voucher for another domain";
        m.evidence.push_back({"log", m.reason, trail});
        return m;
      }
      m.outcome = Outcome::kBlocked;
      m.control = "thing.voucher_check";
      m.reason = std::string(j.error().reason());
      m.evidence.push_back({"refusal", "imported, but the join was refused", trail});
      return m;
    }
    m.outcome = Outcome::kBlocked;
    m.control = "kdc.voucher_check";
    m.reason = imp.error().reason().empty() ? "other-domain" : std::string(imp.error().reason());
    m.evidence.push_back({"refusal", "the owner's import refused the voucher", trail});
    m.evidence.push_back({"registry", LegitimateJoin(*d, 0), ""});
    return m;
  }
};

}  // namespace

std::unique_ptr<Scenario> MakeVoucherOtherDomain() {
  return std::make_unique<VoucherOtherDomain>();
}

}  // namespace secprof::lab::internal

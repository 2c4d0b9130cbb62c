// lab.voucher_expired: a thing admitted with a voucher that has expired (T2 at installation;
// docs/VOUCHER.md, docs/DOMAIN.md "Refusals" voucher-expired).
//
// Attacker: holds a voucher the manufacturer really issued for a thing, but whose validity is
// over (an old sale, a stock of vouchers), and gets it into the domain: (a) the owner imports the
// already expired voucher; (b) a voucher imported while valid expires before the thing joins.
// Success: the thing is commissioned on an expired voucher.
// SecProf_1 (no KDC) and SecProf_2 (setup codes, no vouchers) are not applicable.
#include <chrono>
#include <thread>

#include "adversary.h"
#include "foreign_vendor.h"
#include "groups.h"
#include "privilege.h"
#include "secprof/core/clock.h"

namespace secprof::lab::internal {
namespace {

using namespace std::chrono_literals;

class VoucherExpired final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.voucher_expired",
        "T2",
        "installation",
        "application",
        "holds a genuine but expired manufacturer voucher for a thing and gets it imported, or "
        "lets an imported voucher expire before the thing joins",
        "the thing is commissioned on an expired voucher",
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
    const std::string serial = d->manifest().things.at(0).serial;
    const std::string model = d->manifest().model;
    const int64_t now = UnixSeconds(SystemClock());
    std::string trail;

    // (a) Already expired when imported.
    SECPROF_ASSIGN_OR_RETURN(
        crypto::Bytes old,
        SignVoucher(acme, serial, model, d->kdc()->domain_ca(), now - 7200, now - 3600));
    auto imp = d->owner()->ImportVoucher(old, *acme.ca);
    trail += "import of a voucher expired an hour ago: " +
             (imp ? std::string("imported") : imp.error().message()) + "\n";
    std::string import_reason = imp ? "" : std::string(imp.error().reason());
    if (imp) return Joined(*d, std::move(m), trail, "the owner imported an expired voucher");

    // (b) Valid when imported, expired when the thing joins.
    const int64_t expires = now + 1;
    SECPROF_ASSIGN_OR_RETURN(
        crypto::Bytes brief,
        SignVoucher(acme, serial, model, d->kdc()->domain_ca(), now - 3600, expires));
    auto imp2 = d->owner()->ImportVoucher(brief, *acme.ca);
    trail += "import of a voucher valid for one more second: " +
             (imp2 ? std::string("imported") : imp2.error().message()) + "\n";
    if (imp2) {
      while (UnixSeconds(SystemClock()) <= expires + 1) std::this_thread::sleep_for(50ms);
      const auto before = d->refusals();
      auto j = JoinNow(*d, 0);
      trail += "join after it expired: " + (j ? std::string("commissioned") : j.error().message()) +
               "\n";
      if (j) return Joined(*d, std::move(m), trail, "commissioned after its voucher expired");
      import_reason = RefusalDelta(before, d->refusals());
    }
    m.outcome = Outcome::kBlocked;
    m.control = "kdc.voucher_check";
    m.reason = import_reason.empty() ? "voucher-refused" : import_reason;
    m.evidence.push_back({"refusal", "expired vouchers refused at import and at the join", trail});
    m.evidence.push_back({"registry", LegitimateJoin(*d, 0), ""});
    return m;
  }

 private:
  static Result<Measurement> Joined(LiveDomain& d, Measurement m, std::string trail,
                                    const std::string& how) {
    if (d.thing(0).state().state == thing::State::kManufactured) {
      auto j = JoinNow(d, 0);
      trail += "join: " + (j ? std::string("commissioned") : j.error().message()) + "\n";
      if (!j) {
        m.outcome = Outcome::kBlocked;
        m.control = "kdc.voucher_check";
        m.reason = std::string(j.error().reason());
        m.evidence.push_back({"refusal", "imported, but the join was refused", trail});
        return m;
      }
    }
    m.outcome = Outcome::kSucceeded;
    m.reason = how;
    m.evidence.push_back({"log", how, trail});
    return m;
  }
};

}  // namespace

std::unique_ptr<Scenario> MakeVoucherExpired() { return std::make_unique<VoucherExpired>(); }

}  // namespace secprof::lab::internal

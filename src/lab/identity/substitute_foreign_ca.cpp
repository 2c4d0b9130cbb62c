// lab.substitute_foreign_ca: another manufacturer's CA mints an IDevID carrying the serial of a
// thing the owner admitted, and its device joins in that thing's place (T2, malicious
// substitution; docs/DOMAIN.md "Roles and anchors": a voucher admits only its own vendor's
// device).
//
// Attacker: a second vendor ("Bolt") whose CA the owner trusts for Bolt's own devices (a
// multi-vendor domain: --vendor-ca) mints an IDevID with the admitted Acme serial, O=Acme, for a
// key it holds, and joins with it (j/voucher, j/enroll over DTLS) before the genuine thing does.
// Success: the KDC enrolls the minted device (an LDevID for the admitted serial).
// SecProf_1 has no KDC, SecProf_2 joins by setup code (no certificate is presented): both
// not applicable. Negative control: the owner's voucher for the serial is one Bolt signed (the
// owner believed it bought the serial from Bolt), and the minted IDevID names Bolt as its O: the
// binding of the serial to the vendor CA that signed its voucher is then on the attacker's side,
// and the same device enrolls. With the defence on, after the attack the genuine thing joins.
#include <chrono>

#include "adversary.h"
#include "foreign_vendor.h"
#include "groups.h"
#include "secprof/core/clock.h"

namespace secprof::lab::internal {
namespace {

class SubstituteForeignCa final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.substitute_foreign_ca",
        "T2",
        "installation",
        "application",
        "runs another vendor's CA that the owner trusts for that vendor's own devices, mints an "
        "IDevID with the serial of a thing the owner admitted, and joins with it",
        "the KDC enrolls the minted device (an LDevID for the admitted serial)",
        {"M.boot.voucher", "M.model.device_identity"},
        {"kdc.voucher_check", "kdc.admission"},
        true};
    return i;
  }

  Result<Measurement> Run(const RunContext& ctx) const override {
    Measurement m;
    if (domain::PolicyFor(ctx.profile).bootstrap != domain::Bootstrap::kVoucher) {
      m.outcome = Outcome::kNotApplicable;
      m.reason = ctx.profile == domain::Profile::kSecProf1
                     ? "SecProf_1 has no KDC: a thing joins whoever pairs it"
                     : "SecProf_2 joins by setup code: no device certificate is presented, so a "
                       "foreign CA has nothing to mint";
      return m;
    }
    SECPROF_ASSIGN_OR_RETURN(ForeignVendor bolt, MakeForeignVendor(ctx.dir / "bolt", "Bolt"));
    DomainOptions o;
    o.profile = ctx.profile;
    o.dir = ctx.dir / "domain";
    o.things = 0;
    o.spares = 1;  // admitted below: a voucher, not yet installed
    o.tokens = ctx.tokens;
    o.timeout = ctx.timeout;
    const std::string bolt_ca = bolt.ca_file.string();
    o.configure_kdc = [bolt_ca](kdc::KdcOptions& ko) { ko.vendor_ca_files.push_back(bolt_ca); };
    SECPROF_ASSIGN_OR_RETURN(auto d, LiveDomain::Start(o));
    const auto& rec = d->manifest().things.at(0);
    std::string minted_o = d->manifest().vendor;
    if (!ctx.defence_off) {
      SECPROF_TRY(d->Admit(0));  // the genuine vendor's voucher
    } else {
      const int64_t now = UnixSeconds(SystemClock());
      SECPROF_ASSIGN_OR_RETURN(
          crypto::Bytes v, SignVoucher(bolt, rec.serial, d->manifest().model, d->kdc()->domain_ca(),
                                       now, now + 3600));
      SECPROF_TRY(d->owner()->ImportVoucher(v, *bolt.ca));
      minted_o = bolt.name;
    }
    const auto before = d->refusals();
    SECPROF_ASSIGN_OR_RETURN(MintedDevice dev,
                             Mint(bolt, rec.serial, minted_o, d->manifest().model));
    SECPROF_ASSIGN_OR_RETURN(JoinAttempt a, TryJoin(d->kdc_dtls_port(), dev, ctx.timeout));
    const std::string refused = RefusalDelta(before, d->refusals());
    std::string trail = "handshake: " + (a.handshake.empty() ? "done" : a.handshake) + "\n";
    if (a.voucher) trail += "j/voucher: " + BodyText(*a.voucher) + "\n";
    if (a.enroll)
      trail += "j/enroll: " +
               (a.enrolled() ? std::string("2.04 (LDevID issued)") : BodyText(*a.enroll)) + "\n";
    m.evidence.push_back(
        {"log", "Bolt's CA minted " + rec.serial + " (O=" + minted_o + ") and joined", trail});
    if (a.enrolled()) {
      m.outcome = Outcome::kSucceeded;
      m.reason = "the KDC enrolled Bolt's device as " + rec.serial +
                 (ctx.defence_off ? " (the owner's voucher for it was Bolt's)" : "");
      return m;
    }
    m.outcome = Outcome::kBlocked;
    m.control = "kdc.voucher_check";
    m.reason = !refused.empty() ? refused : "handshake-refused";
    // The legitimate path: the genuine thing still joins afterwards.
    auto joined = d->InstallAndJoin(0, d->kdc_udp_port(), d->kdc_dtls_port());
    m.evidence.push_back({"registry",
                          "the genuine " + rec.serial + " then joins: " +
                              (joined ? std::string("commissioned") : joined.error().message()),
                          ""});
    return m;
  }
};

}  // namespace

std::unique_ptr<Scenario> MakeSubstituteForeignCa() {
  return std::make_unique<SubstituteForeignCa>();
}

}  // namespace secprof::lab::internal

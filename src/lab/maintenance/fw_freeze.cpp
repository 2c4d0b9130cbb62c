// lab.fw_freeze: the attacker withholds an update so that a thing stays on vulnerable firmware
// (T5/T10; Uptane's "freeze" attack: a device kept from learning that updates exist).
// docs/DOMAIN.md "Maintenance".
//
// The run: a thing joined through an on-path relay (wire/relay.h) runs sequence 1; the vendor's
// fix (sequence 2) is in the KDC's store and an incident starts a campaign offering it. Then:
//   1. on path: the relay drops every datagram between the thing and the KDC while the thing
//      checks for updates (SecProf_3/4; in SecProf_2 the join answers with the KDC's DTLS port,
//      so the thing's sessions bypass the relay and this attempt is not mounted);
//   2. a compromised repository: the relay forwards again, but the campaign is halted in the
//      KDC's registry, so the KDC answers the thing's offer request "nothing offered".
// Success: the thing still runs sequence 1 after both, and the domain raised no alert about it:
// no "alert:*" audit entry for the thing. Blocked: the domain records an alert for the thing (the
// audit entry is the reason): the KDC's "nothing offered" carries its signed, dated statement of
// the latest release the owner released to the thing (domain/latest_release.h, Uptane's timestamp
// role), and the thing, seeing it above what it runs, raises "alert:update-withheld".
// No negative control.
#include "firmware_attack.h"
#include "groups.h"
#include "secprof/registry/registry.h"
#include "wire/relay.h"

namespace secprof::lab::internal {
namespace {

class FwFreeze final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.fw_freeze",
        "T5",
        "maintenance",
        "application",
        "sits on the path between a thing and the KDC, or controls the KDC's firmware store, and "
        "withholds the update the campaign offers",
        "the thing stays on its vulnerable firmware and nothing in the domain notices",
        {"M.app.update_delivery", "M.proc.incident_response"},
        {"thing.update_check", "proc.irpd"},
        false};
    return i;
  }

  Result<Measurement> Run(const RunContext& ctx) const override {
    if (ctx.profile == domain::Profile::kSecProf1) return fw::NoDeliveryInSecProf1();
    SECPROF_ASSIGN_OR_RETURN(fw::FirmwareLab lab, fw::StartFirmwareLab(ctx, 1, /*join=*/false));
    LiveDomain& d = *lab.d;
    SECPROF_ASSIGN_OR_RETURN(auto relay, wire::Relay::Start({d.kdc_dtls_port()}));
    SECPROF_TRY(d.InstallAndJoin(0, d.kdc_udp_port(), relay->port(0)));
    thing::Agent& t = d.thing(0);
    SECPROF_TRY(t.GoOperational());
    const std::string serial = t.state().serial;
    const uint64_t vulnerable = t.RunningFirmware();
    SECPROF_TRY(fw::AddFix(lab, vulnerable + 1, 0x2f));
    SECPROF_ASSIGN_OR_RETURN(auto inc, fw::ReportIncident(lab, vulnerable, "high"));
    registry::Registry& reg = d.owner()->registry();
    SECPROF_ASSIGN_OR_RETURN(auto audit_before, reg.Audit(serial));
    Measurement m;
    // 1. On path: everything dropped while the thing checks. Only where the thing talks to the
    // port it was installed with: a SecProf_2 join answers with the KDC's DTLS port, so the
    // thing's sessions bypass the relay (the lab cannot put itself on that path).
    if (t.state().kdc_dtls == relay->port(0)) {
      relay->SetPolicy([](const wire::Datagram&, crypto::Bytes&) {
        return wire::Decision{wire::Decision::Action::kDrop, {}};
      });
      auto on_path = t.CheckForUpdate();
      relay->SetPolicy({});  // forward again
      const auto seen = relay->Capture();
      const auto dropped = std::count_if(seen.begin(), seen.end(), [](const wire::Datagram& g) {
        return g.fate == wire::Fate::kDropped;
      });
      m.evidence.push_back(
          {"log",
           "on path, " + std::to_string(dropped) + " datagrams dropped: the thing's check " +
               (on_path ? std::string(on_path->offered ? "was offered the fix" : "found nothing")
                        : "failed (" + on_path.error().message().substr(0, 200) + ")") +
               "; it runs sequence " + std::to_string(t.RunningFirmware()),
           ""});
    } else {
      m.evidence.push_back({"log",
                            "on path: not mounted (the join told the thing the KDC's own DTLS "
                            "port, so its sessions do not cross the lab's relay)",
                            ""});
    }
    // 2. The compromised repository halts the campaign: the KDC answers "nothing offered".
    SECPROF_TRY(reg.HaltCampaign(inc.campaign_id, "maintenance window", "compromised-repository"));
    SECPROF_ASSIGN_OR_RETURN(thing::Agent::UpdateOutcome frozen, t.CheckForUpdate());
    m.evidence.push_back({"log",
                          std::string("campaign halted in the store: the thing's check ") +
                              (frozen.offered ? "was offered an update" : "found nothing offered") +
                              (frozen.alert.empty() ? std::string(" and raised no alert")
                                                    : " and raised the alert " + frozen.alert) +
                              "; it runs sequence " + std::to_string(t.RunningFirmware()),
                          frozen.alert.substr(0, 512)});
    SECPROF_ASSIGN_OR_RETURN(auto audit_after, reg.Audit(serial));
    std::string alert;
    for (size_t k = audit_before.size(); k < audit_after.size(); ++k)
      if (audit_after[k].action.rfind("alert", 0) == 0) alert = audit_after[k].action;
    SECPROF_ASSIGN_OR_RETURN(auto targets, reg.CampaignTargets(inc.campaign_id));
    for (const auto& x : targets)
      if (x.serial == serial)
        m.evidence.push_back({"registry",
                              "campaign " + std::to_string(inc.campaign_id) + " target " +
                                  registry::TargetStatusName(x.status) + ", " +
                                  std::to_string(audit_after.size() - audit_before.size()) +
                                  " audit entries for the thing since, " +
                                  (alert.empty() ? "no alert" : "alert " + alert),
                              ""});
    if (t.RunningFirmware() == vulnerable && alert.empty() && !frozen.offered) {
      m.outcome = Outcome::kSucceeded;
      m.reason =
          "the thing stays on sequence " + std::to_string(vulnerable) +
          " unnoticed: a withheld offer only makes its own check fail, and the KDC records no "
          "alert for the thing (its \"nothing offered\" answer and the latest-release statement "
          "in it raised none" +
          (frozen.alert.empty() ? std::string(")")
                                : ": the thing's alert was " + frozen.alert + ")");
      return m;
    }
    m.outcome = Outcome::kBlocked;
    m.control = "thing.update_check";
    m.reason = alert.empty() ? "updated" : alert;
    return m;
  }
};

}  // namespace

std::unique_ptr<Scenario> MakeFwFreeze() { return std::make_unique<FwFreeze>(); }

}  // namespace secprof::lab::internal

// lab.vulnerable_fw: a thing on known-vulnerable firmware, from the incident report to patched
// (T10, vulnerable software, an RFC 8576 addition; the draft's §6 process 4, incident reporting
// and patch deployment; docs/DOMAIN.md "Maintenance").
//
// Attacker: exploits a published flaw in the firmware the thing runs; it needs only time. It
// does nothing but wait: its success is the domain's slowness.
// The run: the thing runs the factory firmware (sequence 1); the vendor's fix (sequence 2) is in
// the KDC's store; the owner reports the incident (OwnerTools::ReportIncident), which starts a
// campaign for the affected things. The thing serves as deployed, with its unattended update poll
// (ThingServerOptions::update_poll, here every kPollInterval). Then the domain is left alone for
// kPatchBound, watched through the KDC's own records (the campaign target's status, the audit
// log): does the thing get patched without anyone running a command on it?
// Success: the thing is not patched within the bound. Blocked: the registry records it patched
// (fw-installed) within the bound; the time from the report is the measurement.
// When it is not, the evidence also holds the time from the report to patched when the operator
// runs the thing's update by hand (Agent::CheckForUpdate, `secprof thing update`).
// SecProf_1 (no KDC): the vendor's update service (secprof/vendor/update_service.h) serves the
// fix the vendor published; the time measured is from the publication to the thing running it.
#include <chrono>
#include <filesystem>
#include <thread>

#include "firmware_attack.h"
#include "groups.h"
#include "secprof/crypto/hash.h"
#include "secprof/domain/protocol.h"
#include "secprof/registry/registry.h"
#include "secprof/scenario/scenario.h"
#include "secprof/update/suit.h"
#include "secprof/vendor/update_service.h"
#include "secprof/voucher/voucher.h"

namespace secprof::lab::internal {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

// Generous: the loop below ends as soon as the KDC records the install (about the poll interval
// plus one update), so the bound only costs time when the thing is not patched; under ASan on a
// loaded machine an update takes well over a second.
constexpr auto kPatchBound = 10000ms;
// The thing's update poll in the run (ThingServerOptions::update_poll; `secprof thing serve`
// defaults to an hour): well inside the bound.
constexpr auto kPollInterval = 200ms;

double Ms(Steady::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

class VulnerableFw final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.vulnerable_fw",
        "T10",
        "maintenance",
        "thing",
        "exploits a published flaw in the firmware a thing runs, for as long as the thing runs it",
        "the thing is still on the vulnerable firmware when the run's bound has passed after the "
        "incident was reported",
        {"M.app.update_delivery", "M.proc.incident_response", "M.app.fw_rollback_protection"},
        {"thing.update_check", "proc.irpd"},
        false};
    return i;
  }

  Result<Measurement> Run(const RunContext& ctx) const override {
    if (ctx.profile == domain::Profile::kSecProf1) return RunSecProf1(ctx);
    SECPROF_ASSIGN_OR_RETURN(fw::FirmwareLab lab, fw::StartFirmwareLab(ctx, 1));
    Measurement m;
    thing::Agent& t = lab.d->thing(0);
    const std::string serial = t.state().serial;
    const uint64_t vulnerable = t.RunningFirmware();
    SECPROF_TRY(fw::AddFix(lab, vulnerable + 1, 0x0f));
    // The thing as deployed: serving, with its unattended update poll (`secprof thing serve
    // --update-poll`), at a short interval for the run. From here until `served` is stopped, the
    // server's thread owns the agent: this thread reads only the KDC's records.
    thing::ThingServerOptions so;
    so.update_poll = kPollInterval;
    SECPROF_ASSIGN_OR_RETURN(auto served, scenario::RunningThingServer::Start(t, so));
    const auto reported = Steady::now();
    SECPROF_ASSIGN_OR_RETURN(auto out, fw::ReportIncident(lab, vulnerable, "critical"));
    m.evidence.push_back({"registry",
                          "incident " + std::to_string(out.incident_id) + ": " +
                              std::to_string(out.affected.size()) + " affected, campaign " +
                              std::to_string(out.campaign_id) + " started with the fix",
                          ""});
    // The domain left alone: the KDC's records, read until the thing reports or the bound passes.
    registry::Registry& reg = lab.d->owner()->registry();
    auto status = [&]() -> Result<registry::TargetStatus> {
      SECPROF_ASSIGN_OR_RETURN(auto targets, reg.CampaignTargets(out.campaign_id));
      for (const auto& x : targets)
        if (x.serial == serial) return x.status;
      return Fail(ErrorCode::kInternal, "lab.vulnerable_fw: the thing is not a target");
    };
    registry::TargetStatus unattended = registry::TargetStatus::kOffered;
    while (Steady::now() - reported < kPatchBound) {
      SECPROF_ASSIGN_OR_RETURN(unattended, status());
      if (unattended == registry::TargetStatus::kInstalled) break;
      std::this_thread::sleep_for(50ms);  // the KDC's records change only by the thing's report
    }
    const double unattended_ms = Ms(Steady::now() - reported);
    served.reset();  // the server's thread is joined: the agent is ours again
    SECPROF_ASSIGN_OR_RETURN(auto fetched, reg.Audit(serial));
    size_t fetches = 0;
    for (const auto& e : fetched) fetches += e.action == "fw-fetched";
    m.evidence.push_back({"registry",
                          "after " + std::to_string(static_cast<int>(unattended_ms)) +
                              " ms left alone: campaign target " +
                              registry::TargetStatusName(unattended) + ", " +
                              std::to_string(fetches) + " fetch(es) of the fix in the audit log",
                          ""});
    if (unattended == registry::TargetStatus::kInstalled) {
      m.outcome = Outcome::kBlocked;
      m.control = "thing.update_check";
      m.reason = "fw-installed";  // the KDC's audit of the thing's own report
      m.evidence.push_back({"timing",
                            "incident report to patched, unattended (the thing's update poll "
                            "every " +
                                std::to_string(kPollInterval.count()) +
                                " ms): " + std::to_string(static_cast<int>(unattended_ms)) +
                                " ms; the thing now runs sequence " +
                                std::to_string(t.RunningFirmware()),
                            ""});
      return m;
    }
    // The operator's path, for the measurement: `secprof thing update` on the thing.
    SECPROF_ASSIGN_OR_RETURN(thing::Agent::UpdateOutcome u, t.CheckForUpdate());
    const double by_hand_ms = Ms(Steady::now() - reported);
    m.evidence.push_back(
        {"timing",
         "incident report to patched when the operator runs the thing's update by hand: " +
             std::to_string(static_cast<int>(by_hand_ms)) + " ms (" +
             (u.installed ? "installed sequence " + std::to_string(t.RunningFirmware())
                          : "not installed: " + u.detail) +
             ")",
         ""});
    m.outcome = Outcome::kSucceeded;
    m.reason = "the fix was offered (campaign " + std::to_string(out.campaign_id) +
               ") but the thing's update poll did not install it: after " +
               std::to_string(static_cast<int>(unattended_ms)) + " ms the campaign target is " +
               registry::TargetStatusName(unattended) + " and the thing ran sequence " +
               std::to_string(vulnerable);
    return m;
  }

 private:
  // SecProf_1: no KDC; the vendor's update service (secprof/vendor/update_service.h) is where the
  // fix comes from. The vendor publishes the fix (sequence 2, signed with its CA key, as `secprof
  // fw sign --factory` does) into the directory its service serves; the paired thing serves as
  // deployed, polling the service every kPollInterval. Blocked when the thing runs the fix within
  // kPatchBound of the publication (the thing's own poll counters and its running sequence).
  static Result<Measurement> RunSecProf1(const RunContext& ctx) {
    DomainOptions o;
    o.profile = ctx.profile;
    o.dir = ctx.dir;
    o.things = 2;  // the mother and one paired thing
    o.timeout = ctx.timeout;
    SECPROF_ASSIGN_OR_RETURN(auto d, LiveDomain::Start(o));
    SECPROF_ASSIGN_OR_RETURN(voucher::Factory maker, voucher::Factory::Open(d->factory_dir()));
    const std::string releases = (ctx.dir / "vendor-releases").string();
    std::error_code ec;
    std::filesystem::create_directories(releases, ec);
    if (ec) return Fail(ErrorCode::kIo, "cannot create " + releases + ": " + ec.message());
    vendor::ServiceOptions vo;
    vo.publish_dir = releases;
    vo.vendor = maker.vendor();
    vo.models = {maker.model()};
    vo.signer = &maker.signer();
    SECPROF_ASSIGN_OR_RETURN(auto service, vendor::UpdateService::Start(std::move(vo)));
    std::jthread vendor_io([&service](std::stop_token st) { (void)service->Serve(st); });
    Measurement m;
    thing::Agent& t = d->thing(1);
    // The address the factory gives its things (`thing init --update-server`); known here only
    // once the service has its port.
    SECPROF_TRY(t.SetUpdateServer("127.0.0.1", service->port()));
    const uint64_t vulnerable = t.RunningFirmware();
    thing::ThingServerOptions so;
    so.update_poll = kPollInterval;
    SECPROF_ASSIGN_OR_RETURN(auto served, scenario::RunningThingServer::Start(t, so));
    // The vendor publishes its fix.
    crypto::Bytes fix = fw::MakeImage(16 * 1024, 0x0f);
    SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Digest digest, crypto::Sha256(fix));
    update::CreateParams cp;
    cp.vendor_id = domain::FirmwareVendorId(maker.vendor());
    cp.class_id = domain::FirmwareClassId(maker.vendor(), maker.model());
    cp.sequence_number = vulnerable + 1;
    SECPROF_ASSIGN_OR_RETURN(
        crypto::Bytes env,
        update::CreateEnvelopeWithSigner(
            update::Digest{update::kAlgSha256, crypto::Bytes(digest.begin(), digest.end())},
            fix.size(), cp, maker.signer()));
    const auto published = Steady::now();
    SECPROF_TRY(vendor::Publish(releases, "fix-" + std::to_string(vulnerable + 1), env, fix));
    m.evidence.push_back({"log",
                          maker.vendor() + " published sequence " + std::to_string(vulnerable + 1) +
                              " of " + maker.model() + " to its update service (127.0.0.1:" +
                              std::to_string(service->port()) + ")",
                          ""});
    // Left alone: the thing's own poll counters, read until it installed or the bound passed.
    thing::UpdatePollStats polls;
    while (Steady::now() - published < kPatchBound) {
      polls = served->server->update_polls();
      if (polls.installed > 0) break;
      std::this_thread::sleep_for(50ms);
    }
    const double unattended_ms = Ms(Steady::now() - published);
    served.reset();  // the server's thread is joined: the agent is ours again
    vendor_io.request_stop();
    vendor_io.join();
    const vendor::ServiceStats vs = service->stats();
    const uint64_t running = t.RunningFirmware();
    m.evidence.push_back({"log",
                          "after " + std::to_string(static_cast<int>(unattended_ms)) +
                              " ms left alone: " + std::to_string(polls.checks) + " check(s), " +
                              std::to_string(polls.installed) + " installed, last: " + polls.last +
                              "; the service answered " + std::to_string(vs.statements) +
                              " statement(s), " + std::to_string(vs.images) + " image(s), " +
                              std::to_string(vs.alerts.size()) + " alert(s)",
                          ""});
    if (running == vulnerable + 1) {
      m.outcome = Outcome::kBlocked;
      m.control = "thing.update_check";
      m.reason =
          "installed sequence " + std::to_string(running) + " from the vendor's update service";
      m.evidence.push_back({"timing",
                            "vendor publication to patched, unattended (the thing's update poll "
                            "every " +
                                std::to_string(kPollInterval.count()) +
                                " ms): " + std::to_string(static_cast<int>(unattended_ms)) + " ms",
                            ""});
      return m;
    }
    m.outcome = Outcome::kSucceeded;
    m.reason = "the vendor published the fix but after " +
               std::to_string(static_cast<int>(unattended_ms)) +
               " ms the thing still runs sequence " + std::to_string(running) +
               " (last check: " + polls.last + ")";
    return m;
  }
};

}  // namespace

std::unique_ptr<Scenario> MakeVulnerableFw() { return std::make_unique<VulnerableFw>(); }

}  // namespace secprof::lab::internal

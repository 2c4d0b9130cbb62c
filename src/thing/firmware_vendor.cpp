// SecProf_1's firmware updates from the vendor's update service (firmware_vendor.h;
// draft-garcia-security-mitigations-and-profiles §7.4 "Software update": devices operate
// unattended and need a remote update mechanism; ETSI EN 303 645 5.3; lab scenario
// lab.vulnerable_fw). Authenticity comes from the vendor's signatures alone, never the channel.
#include "firmware_vendor.h"

#include "agent_impl.h"
#include "firmware_fetch.h"
#include "firmware_latest.h"
#include "secprof/coap/errors.h"
#include "secprof/identity/identity.h"
#include "secprof/thing/reasons.h"
#include "secprof/vendor/update_service.h"

namespace secprof::thing::internal {

namespace {

inline constexpr const char* kAlertUpdateRefused = "update-refused";

bool InstallerRefusal(const Error& e) {
  return e.code() == ErrorCode::kVerifyFailed || e.code() == ErrorCode::kUnsupported ||
         e.code() == ErrorCode::kInvalidInput;
}

}  // namespace

Result<Agent::UpdateOutcome> CheckVendorUpdate(Agent& agent,
                                               const update::TestBootHook& test_boot) {
  Agent::Impl& impl = AgentAccess::Of(agent);
  const ThingState& st = impl.st;
  if (st.update_host.empty() || st.update_port == 0)
    return Fail(ErrorCode::kConflict, kNoUpdateServer,
                st.serial +
                    " has no update service to ask (SecProf_1 things get firmware from their "
                    "vendor's: `secprof thing init --update-server HOST:PORT`)");
  SECPROF_ASSIGN_OR_RETURN(identity::Certificate anchor,
                           identity::Certificate::FromPem(st.trust_anchor_pem));
  SECPROF_ASSIGN_OR_RETURN(crypto::PublicKey vendor_key, anchor.public_key());
  coap::ClientConfig cc;
  cc.timeout = impl.opt.timeout;
  SECPROF_ASSIGN_OR_RETURN(auto client,
                           coap::Client::Connect(st.update_host, st.update_port, std::move(cc)));
  const crypto::Bytes klass = domain::FirmwareClassId(st.vendor, st.model);
  const uint64_t running = agent.RunningFirmware();
  Agent::UpdateOutcome out;
  auto raise = [&](const domain::FirmwareAlert& a) {
    out.alert = a.kind + ": " + a.detail;
    auto sent = client->Post(vendor::path::kAlert, domain::Encode(a), coap::content_format::kCbor);
    if (!sent || sent->code != coap::kChanged) out.alert += " (not delivered to the service)";
  };

  // 1. The vendor's statement of its latest release for this model.
  SECPROF_ASSIGN_OR_RETURN(coap::Response got,
                           client->Get(vendor::path::kLatest, vendor::LatestQuery(klass)));
  const crypto::Bytes statement = got.code == coap::kContent ? got.payload : crypto::Bytes{};
  SECPROF_ASSIGN_OR_RETURN(
      LatestCheck latest,
      VerifyLatestRelease(st, statement, &vendor_key, "vendor " + st.vendor, impl.clock,
                          impl.opt.state_dir + "/firmware-latest-vendor"));
  if (!latest.alert.kind.empty()) {
    if (statement.empty())
      latest.alert.detail = "the update service answered " + coap::CodeString(got.code) +
                            " and no latest-release statement";
    raise(latest.alert);
    return out;
  }
  // 2. Nothing newer than what runs.
  if (latest.sequence <= running) return out;

  // 3. The release the statement names: fetched, verified and installed as from a KDC.
  out.offered = true;
  out.sequence = latest.sequence;
  SECPROF_TRY(agent.EnterMaintenance());
  const std::string q = vendor::ReleaseQuery(klass, latest.sequence);
  FirmwareGet get = [&](const char* path, std::optional<size_t> limit) {
    return limit ? client->Get(path, q, *limit) : client->Get(path, q);
  };
  Status done = FetchAndInstall(
      impl, get, {vendor::path::kManifest, vendor::path::kImage, "update service", latest.sequence},
      test_boot, &out.bytes_fetched);
  out.installed = done.has_value();
  out.detail =
      done ? "installed sequence " + std::to_string(latest.sequence) : done.error().message();
  SECPROF_TRY(agent.GoOperational());
  if (!done) {
    const bool refused = InstallerRefusal(done.error());
    raise(domain::FirmwareAlert{
        refused ? kAlertUpdateRefused : domain::kAlertUpdateWithheld,
        ("the vendor's latest release for " + st.vendor + " " + st.model + " is sequence " +
         std::to_string(latest.sequence) + ", this thing runs " + std::to_string(running) +
         (refused ? ", and the installer refused what was served: "
                  : ", and the update service did not deliver it: ") +
         out.detail)
            .substr(0, 1000)});
  }
  return out;
}

}  // namespace secprof::thing::internal

namespace secprof::thing {

Status Agent::SetUpdateServer(const std::string& host, uint16_t port) {
  if (host.empty() || port == 0)
    return Fail(ErrorCode::kInvalidInput, "an update service needs a host and a port above 0");
  ThingState next = impl_->st;
  next.update_host = host;
  next.update_port = port;
  return impl_->Commit(std::move(next));
}

}  // namespace secprof::thing

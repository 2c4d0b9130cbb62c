// Firmware updates, the thing's side: check, fetch, install, report (docs/DOMAIN.md
// "Maintenance", docs/UPDATE.md; draft-garcia-security-mitigations-and-profiles
// §3.1 "The Thing Lifecycle": "during each maintenance phase, the software on the device can be
// upgraded"). The KDC's side: src/kdc/firmware.cpp.
//
// POST fw/offer with the running sequence number; when a campaign offers an update: maintenance,
// GET the SUIT envelope, verify it alone (SlotStore::VerifyManifest), GET the image over the
// protected session (block-wise, RFC 7959) bounded by the manifest's image-size, install
// into the inactive slot (update::SlotStore: signature against the vendor trust anchor, vendor and
// class, size, digest, sequence strictly above the floor; write, test boot, confirm or revert),
// POST fw/status with the outcome, back to operational. A refused or failed update leaves the
// running image and the floor as they were and is reported as failed.
#include <filesystem>

#include "agent_impl.h"
#include "firmware_fetch.h"
#include "firmware_latest.h"
#include "firmware_vendor.h"
#include "secprof/coap/errors.h"
#include "secprof/core/fs.h"
#include "secprof/cose/key.h"
#include "secprof/domain/protocol.h"
#include "secprof/identity/identity.h"

namespace secprof::thing {

namespace fs = std::filesystem;

Status Agent::Impl::OpenFirmware(const update::TestBootHook& hook) {
  SECPROF_ASSIGN_OR_RETURN(identity::Certificate anchor,
                           identity::Certificate::FromPem(st.trust_anchor_pem));
  SECPROF_ASSIGN_OR_RETURN(crypto::PublicKey pk, anchor.public_key());
  SECPROF_ASSIGN_OR_RETURN(cose::Key key, cose::KeyFromPublic(pk));
  update::InstallIdentity id{domain::FirmwareVendorId(st.vendor),
                             domain::FirmwareClassId(st.vendor, st.model), std::move(key),
                             std::nullopt};
  update::InstallOptions io;
  io.test_boot = hook;
  io.clock = &clock;
  io.file_system = &Fs();
  firmware.reset();
  SECPROF_ASSIGN_OR_RETURN(update::SlotStore s,
                           update::SlotStore::Open(FirmwareDir(), std::move(id), io));
  firmware.emplace(std::move(s));
  return {};
}

namespace internal {

Status FetchAndInstall(Agent::Impl& impl, const FirmwareGet& get, const FirmwareSource& source,
                       const update::TestBootHook& test_boot, uint64_t* bytes) {
  SECPROF_ASSIGN_OR_RETURN(coap::Response env, get(source.manifest_path, std::nullopt));
  SECPROF_TRY(coap::ExpectCode(env, coap::kContent, "firmware manifest", source.peer));
  *bytes += env.payload.size();
  // Before any image byte: the envelope alone must be authentic, for this thing and newer than
  // its floor (update::SlotStore::VerifyManifest), and its image-size (draft-ietf-suit-manifest
  // §8.4.8) bounds the fetch: a source that sends more (Uptane's "endless data" attack; lab
  // scenario lab.fw_endless_data) is cut off there and refused, kImageTooLong, with nothing
  // written. The image is verified in full by InstallFile below.
  SECPROF_ASSIGN_OR_RETURN(update::ImageRecord want, impl.firmware->VerifyManifest(env.payload));
  if (source.sequence && want.sequence_number != *source.sequence)
    return Fail(ErrorCode::kVerifyFailed,
                std::string(source.peer) + " served sequence " +
                    std::to_string(want.sequence_number) + " for the release of sequence " +
                    std::to_string(*source.sequence) + " the latest-release statement names");
  auto got_img = get(source.image_path, static_cast<size_t>(want.size));
  if (!got_img) {
    if (got_img.error().code() == ErrorCode::kLimit)
      return Fail(
          update::MakeRefusal(update::Refusal::kImageTooLong, ErrorCode::kVerifyFailed,
                              "the image source sent more than the manifest's image-size of " +
                                  std::to_string(want.size) +
                                  " bytes; the fetch was stopped there and nothing was written (" +
                                  got_img.error().message() + ")"));
    return Fail(got_img.error());
  }
  coap::Response img = std::move(*got_img);
  SECPROF_TRY(coap::ExpectCode(img, coap::kContent, "firmware image", source.peer));
  *bytes += img.payload.size();
  // The download goes to a file in one write (the installer hashes it through mmap).
  std::string path = impl.opt.state_dir + "/download.img";
  SECPROF_TRY(WriteFileAtomic(
      path, std::string_view(reinterpret_cast<const char*>(img.payload.data()), img.payload.size()),
      0600));
  if (test_boot) SECPROF_TRY(impl.OpenFirmware(test_boot));
  auto installed = impl.firmware->InstallFile(env.payload, path);
  std::error_code ec;
  fs::remove(path, ec);
  if (test_boot) SECPROF_TRY(impl.OpenFirmware());
  return installed;
}

}  // namespace internal

uint64_t Agent::RunningFirmware() const {
  return impl_->firmware->state().active_image.sequence_number;
}
const update::SlotState& Agent::FirmwareState() const { return impl_->firmware->state(); }

Result<Agent::UpdateOutcome> Agent::CheckForUpdate(const update::TestBootHook& test_boot) {
  SECPROF_TRY(impl_->Check(Operation::kCheckForUpdate));
  // SecProf_1 has no KDC: the vendor's update service (firmware_vendor.cpp).
  if (!impl_->policy().kdc) return internal::CheckVendorUpdate(*this, test_boot);
  UpdateOutcome out;
  SECPROF_ASSIGN_OR_RETURN(
      coap::Response ro,
      impl_->Post(domain::path::kFirmwareOffer,
                  domain::Encode(domain::FirmwareOfferRequest{RunningFirmware()})));
  if (ro.code == coap::kChanged) {
    // Nothing offered: the KDC's signed, dated latest-release statement must hold, and must not
    // name a release above the running one (secprof/domain/latest_release.h, against freeze).
    SECPROF_ASSIGN_OR_RETURN(
        domain::FirmwareAlert alert,
        internal::CheckLatestRelease(impl_->st, RunningFirmware(), ro.payload, impl_->clock,
                                     impl_->opt.state_dir + "/firmware-latest"));
    if (alert.kind.empty()) return out;
    out.alert = alert.kind + ": " + alert.detail;
    SECPROF_ASSIGN_OR_RETURN(coap::Response ra,
                             impl_->Post(domain::path::kFirmwareAlert, domain::Encode(alert)));
    SECPROF_TRY(Expect(ra, coap::kChanged, "firmware alert"));
    return out;
  }
  SECPROF_TRY(Expect(ro, coap::kContent, "firmware offer"));
  SECPROF_ASSIGN_OR_RETURN(domain::FirmwareOffer offer, domain::DecodeFirmwareOffer(ro.payload));
  out.offered = true;
  out.campaign = offer.campaign;
  out.sequence = offer.sequence;
  SECPROF_TRY(EnterMaintenance());
  // Fetch, then install; any failure is reported to the KDC and leaves the running image.
  const std::string q = "id=" + std::to_string(offer.firmware);
  internal::FirmwareGet get = [&](const char* path,
                                  std::optional<size_t> limit) -> Result<coap::Response> {
    SECPROF_ASSIGN_OR_RETURN(coap::Client * c, impl_->Session());
    auto got = limit ? c->Get(path, q, *limit) : c->Get(path, q);
    if (!got) impl_->session.reset();  // broken, or closed to stop the transfer: not reused
    return got;
  };
  auto attempt = [&]() -> Status {
    return internal::FetchAndInstall(
        *impl_, get,
        {domain::path::kFirmwareManifest, domain::path::kFirmwareImage, "KDC", std::nullopt},
        test_boot, &out.bytes_fetched);
  };
  Status done = attempt();
  out.installed = done.has_value();
  out.detail =
      done ? "installed sequence " + std::to_string(offer.sequence) : done.error().message();
  auto report = impl_->Post(
      domain::path::kFirmwareStatus,
      domain::Encode(domain::FirmwareStatus{offer.campaign, out.installed,
                                            out.detail.substr(0, 1000), RunningFirmware()}));
  SECPROF_TRY(GoOperational());
  if (!report) return Fail(report.error().WithContext("reporting the update"));
  SECPROF_TRY(Expect(*report, coap::kChanged, "firmware status"));
  return out;
}

}  // namespace secprof::thing

// OwnerTools for maintenance (issue 5): the firmware store, campaigns and incidents.
#include <filesystem>

#include "internal.h"
#include "owner_impl.h"
#include "secprof/cbor/cbor.h"
#include "secprof/core/fs.h"
#include "secprof/cose/key.h"
#include "secprof/domain/protocol.h"
#include "secprof/update/suit.h"

namespace secprof::kdc {

namespace fs = std::filesystem;

Status OwnerTools::TrustVendor(const identity::Certificate& vendor_ca) {
  if (!vendor_ca.is_ca() || vendor_ca.subject().organization.empty())
    return Fail(ErrorCode::kInvalidInput, "a vendor trust anchor must be a CA certificate with O");
  SECPROF_TRY(CheckVendorCaDistinct(impl_->keys.domain_ca, vendor_ca));
  SECPROF_TRY(SaveVendorCa(impl_->keys_dir, vendor_ca));
  for (const auto& c : impl_->keys.vendor_cas)
    if (c == vendor_ca) return {};
  impl_->keys.vendor_cas.push_back(vendor_ca);
  return {};
}

Result<int64_t> OwnerTools::AddFirmware(const crypto::Bytes& envelope,
                                        const std::string& image_path, std::string_view model,
                                        std::string_view actor) {
  // Which vendor: the envelope's vendor-id must be one of this domain's manufacturer anchors.
  SECPROF_ASSIGN_OR_RETURN(update::Envelope env, update::ParseEnvelope(envelope));
  const update::Manifest& man = env.manifest;
  SECPROF_ASSIGN_OR_RETURN(update::ImageParameters params, update::ImageParametersFor(man));
  if (!params.vendor_id || !params.image_digest || !params.image_size)
    return Fail(ErrorCode::kInvalidInput,
                "firmware refused: the manifest sets no vendor-id, image digest or size");
  const identity::Certificate* vendor_ca = nullptr;
  for (const auto& ca : impl_->keys.vendor_cas)
    if (domain::FirmwareVendorId(ca.subject().organization) == *params.vendor_id) vendor_ca = &ca;
  if (!vendor_ca)
    return Fail(ErrorCode::kVerifyFailed,
                "firmware refused: its vendor-id names no manufacturer this domain trusts");
  const std::string vendor = vendor_ca->subject().organization;
  SECPROF_ASSIGN_OR_RETURN(crypto::PublicKey pk, vendor_ca->public_key());
  SECPROF_ASSIGN_OR_RETURN(cose::Key key, cose::KeyFromPublic(pk));
  if (auto v = update::VerifyEnvelope(env, key); !v)
    return Fail(ErrorCode::kVerifyFailed, "firmware refused: signature does not verify with " +
                                              vendor + "'s trust anchor: " + v.error().message());
  if (auto c = update::CheckVendorClass(params, domain::FirmwareVendorId(vendor),
                                        domain::FirmwareClassId(vendor, model));
      !c)
    return Fail(ErrorCode::kVerifyFailed, "firmware refused: " + c.error().message());
  if (auto i = update::CheckImageFile(params, image_path); !i)
    return Fail(ErrorCode::kVerifyFailed, "firmware refused: " + i.error().message());
  SECPROF_ASSIGN_OR_RETURN(std::string image, ReadFile(image_path));
  std::string digest = cbor::ToHex(params.image_digest->bytes);
  std::string dir = impl_->keys_dir + "/firmware";
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::string stored = dir + "/" + digest + ".bin";
  SECPROF_TRY(WriteFileAtomic(stored, image, 0644));
  registry::Firmware fw;
  fw.vendor = vendor;
  fw.model = std::string(model);
  fw.sequence = man.sequence_number;
  fw.envelope = envelope;
  fw.image_path = fs::absolute(stored).string();
  fw.image_size = image.size();
  fw.image_digest = digest;
  return impl_->reg->AddFirmware(fw, actor);
}

Result<int64_t> OwnerTools::StartCampaign(int64_t firmware_id, std::vector<std::string> serials,
                                          int64_t stage_size, double max_failure_rate,
                                          std::string_view actor, int64_t incident_id) {
  SECPROF_ASSIGN_OR_RETURN(registry::Firmware fw, impl_->reg->GetFirmware(firmware_id));
  if (serials.empty()) {
    SECPROF_ASSIGN_OR_RETURN(auto things, impl_->reg->List());
    for (const auto& t : things)
      if (registry::IsActive(t.state) && t.vendor == fw.vendor && t.model == fw.model)
        serials.push_back(t.serial);
    if (serials.empty())
      return Fail(ErrorCode::kNotFound,
                  "no active " + fw.vendor + " " + fw.model + " things to update");
  }
  return impl_->reg->StartCampaign(firmware_id, serials, stage_size, max_failure_rate, actor,
                                   incident_id);
}

Result<OwnerTools::IncidentOutcome> OwnerTools::ReportIncident(const registry::Incident& incident,
                                                               int64_t stage_size,
                                                               double max_failure_rate,
                                                               std::string_view actor) {
  IncidentOutcome out;
  SECPROF_ASSIGN_OR_RETURN(out.incident_id, impl_->reg->RecordIncident(incident, actor));
  SECPROF_ASSIGN_OR_RETURN(out.affected, impl_->reg->AffectedBy(out.incident_id));
  SECPROF_ASSIGN_OR_RETURN(auto store, impl_->reg->ListFirmware());
  const registry::Firmware* fix = nullptr;
  for (const auto& fw : store)
    if (fw.vendor == incident.vendor && fw.model == incident.model &&
        fw.sequence > incident.max_sequence && (!fix || fw.sequence > fix->sequence))
      fix = &fw;
  if (!fix || out.affected.empty()) return out;
  SECPROF_ASSIGN_OR_RETURN(out.campaign_id,
                           impl_->reg->StartCampaign(fix->id, out.affected, stage_size,
                                                     max_failure_rate, actor, out.incident_id));
  SECPROF_TRY(impl_->reg->LinkIncidentCampaign(out.incident_id, out.campaign_id, actor));
  return out;
}

}  // namespace secprof::kdc

// The owner's tools (OwnerTools; docs/DOMAIN.md "Owner commands"; draft §3.1: the owner admits,
// retires and replaces things and maintains their firmware): the same files as the running KDC,
// from another process.
#include <filesystem>

#include "internal.h"
#include "join_setup_code.h"
#include "secprof/cbor/cbor.h"
#include "secprof/core/fs.h"
#include "secprof/cose/key.h"
#include "secprof/domain/keys.h"
#include "secprof/domain/protocol.h"
#include "secprof/domain/setup_code.h"
#include "secprof/kdc/kdc.h"
#include "secprof/registry/location.h"
#include "secprof/update/suit.h"
#include "secprof/voucher/voucher.h"

namespace secprof::kdc {

// The state behind OwnerTools.
struct OwnerTools::Impl {
  std::string keys_dir;
  const Clock& clock;
  crypto::Random& rng;
  std::unique_ptr<registry::Registry> reg;
  DomainKeys keys;
};

namespace {
// Owner commands do not sign with the domain CA key: its token (and PIN) is not needed.
KeyDirOptions OwnerKek(KeyDirOptions k) {
  k.open_ca_token = false;
  return k;
}
}  // namespace

OwnerTools::OwnerTools(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OwnerTools::~OwnerTools() = default;

Result<std::unique_ptr<OwnerTools>> OwnerTools::Open(const std::string& db_path,
                                                     std::string keys_dir, const Clock& clock,
                                                     crypto::Random& rng,
                                                     const KeyDirOptions& kek) {
  if (db_path.empty()) return Fail(ErrorCode::kInvalidInput, kNoDatabase, "--db is required");
  const bool postgres = registry::IsPostgresUri(db_path);  // else an SQLite file
  if (!postgres && !std::filesystem::exists(db_path))
    return Fail(ErrorCode::kNotFound, kNoDatabase,
                db_path + " does not exist (start the KDC once with --db to create it)");
  if (keys_dir.empty() && postgres)
    return Fail(ErrorCode::kInvalidInput, kNotKeyDirectory,
                "--keys is required with a PostgreSQL registry");
  if (keys_dir.empty()) keys_dir = db_path + ".keys";
  // The owner's tools use the KDC's keys; they never make a domain CA of their own (a wrong
  // --keys would otherwise mint one that no voucher or LDevID matches).
  if (!std::filesystem::exists(keys_dir + "/domain-ca.pem"))
    return Fail(ErrorCode::kNotFound, kNotKeyDirectory,
                keys_dir + "/domain-ca.pem does not exist (not the key directory of this KDC?)");
  SECPROF_ASSIGN_OR_RETURN(auto reg, registry::Registry::Open(db_path, clock));
  SECPROF_ASSIGN_OR_RETURN(registry::DomainInfo info, reg->Domain());
  SECPROF_ASSIGN_OR_RETURN(DomainKeys keys,
                           OpenDomainKeys(keys_dir, info.owner, clock, rng, OwnerKek(kek)));
  if (!keys.colocated_kek.empty())
    SECPROF_TRY(reg->Append("owner", "override:colocated-kek", "", keys.colocated_kek));
  SECPROF_TRY(ConvertLegacySetupCodes(
      *reg, crypto::ByteView(keys.wrap_kek.data(), keys.wrap_kek.size()), rng));
  auto impl =
      std::unique_ptr<Impl>(new Impl{keys_dir, clock, rng, std::move(reg), std::move(keys)});
  return std::unique_ptr<OwnerTools>(new OwnerTools(std::move(impl)));
}

registry::Registry& OwnerTools::registry() { return *impl_->reg; }
const identity::Certificate& OwnerTools::domain_ca() const { return impl_->keys.domain_ca; }

Status OwnerTools::ImportVoucher(const crypto::Bytes& bytes, const identity::Certificate& vendor_ca,
                                 std::string_view actor) {
  if (auto d = CheckVendorCaDistinct(impl_->keys.domain_ca, vendor_ca); !d)
    return Fail(d.error().WithContext("voucher refused"));
  auto v = voucher::Verify(bytes, vendor_ca, impl_->clock);
  if (!v) return Fail(v.error().WithContext("voucher refused").WithReason(kVoucherRefused));
  auto bind = voucher::CheckBinding(*v, v->serial, impl_->keys.domain_ca);
  if (!bind)
    return Fail(ErrorCode::kVerifyFailed, kOtherDomain,
                "voucher refused: it pins another domain, not this KDC's domain CA");
  SECPROF_TRY(domain::ValidateSerial(v->serial));
  SECPROF_TRY(SaveVendorCa(impl_->keys_dir, vendor_ca));
  // The registry records which vendor CA verified the voucher: Joining admits only an IDevID that
  // chains to it (issue 9 item 3).
  const auto& fp = vendor_ca.fingerprint();
  return impl_->reg->ImportVoucherFrom(v->serial, v->vendor, v->model, bytes, v->expires,
                                       cbor::ToHex(crypto::ByteView(fp.data(), fp.size())), actor);
}

Status OwnerTools::AllowSetupCode(std::string_view serial, std::string_view vendor,
                                  std::string_view model, std::string_view setup_code,
                                  std::string_view actor) {
  SECPROF_TRY(domain::ValidateSerial(serial));
  SECPROF_TRY(domain::CheckSetupCodeStrength(setup_code));
  auto kek = crypto::ByteView(impl_->keys.wrap_kek.data(), impl_->keys.wrap_kek.size());
  SECPROF_ASSIGN_OR_RETURN(crypto::Bytes w, WrapSetupCodeKey(kek, serial, setup_code, impl_->rng));
  return impl_->reg->AllowSetupVerifier(serial, vendor, model, std::move(w), actor);
}

Status OwnerTools::RetireSetupCode(std::string_view serial, std::string_view reason,
                                   std::string_view actor) {
  return impl_->reg->RetireSetupCode(serial, reason, actor);
}

Status OwnerTools::Retire(std::string_view serial, registry::State to, std::string_view reason,
                          std::string_view actor) {
  if (to != registry::State::kDecommissioned && to != registry::State::kRevoked &&
      to != registry::State::kEvicted)
    return Fail(ErrorCode::kInvalidInput, kNotRetirement,
                "retire to decommissioned, revoked or evicted only");
  auto kek = crypto::ByteView(impl_->keys.wrap_kek.data(), impl_->keys.wrap_kek.size());
  auto r = impl_->reg->Transition(serial, to, actor, reason, RekeyWith(kek, impl_->rng));
  if (!r) return Fail(r.error());
  return {};
}

Status OwnerTools::Replace(std::string_view old_serial, std::string_view new_serial,
                           std::string_view actor) {
  auto kek = crypto::ByteView(impl_->keys.wrap_kek.data(), impl_->keys.wrap_kek.size());
  auto r = impl_->reg->Replace(old_serial, new_serial, actor, RekeyWith(kek, impl_->rng));
  if (!r) return Fail(r.error());
  return {};
}

Status OwnerTools::CreateGroup(std::string_view name, std::string_view actor) {
  SECPROF_TRY(domain::ValidateGroupName(name));
  auto kek = crypto::ByteView(impl_->keys.wrap_kek.data(), impl_->keys.wrap_kek.size());
  SECPROF_ASSIGN_OR_RETURN(crypto::Bytes wrapped, NewGroupKey(kek, name, 1, impl_->rng));
  return impl_->reg->CreateGroup(name, std::move(wrapped), actor);
}

Status OwnerTools::AddMember(std::string_view group, std::string_view serial,
                             std::string_view actor) {
  // SecProf_3/4 (Policy::rekey_on_join): the join re-keys the group in the same transaction, so
  // the newcomer cannot read traffic of the epoch before it joined (issue 9 item 8).
  SECPROF_ASSIGN_OR_RETURN(registry::DomainInfo info, impl_->reg->Domain());
  SECPROF_ASSIGN_OR_RETURN(domain::Profile profile, domain::ParseProfile(info.profile));
  if (!domain::PolicyFor(profile).rekey_on_join) return impl_->reg->AddMember(group, serial, actor);
  auto kek = crypto::ByteView(impl_->keys.wrap_kek.data(), impl_->keys.wrap_kek.size());
  return impl_->reg->AddMember(group, serial, actor, RekeyWith(kek, impl_->rng));
}

Status OwnerTools::RemoveMember(std::string_view group, std::string_view serial,
                                std::string_view actor) {
  SECPROF_ASSIGN_OR_RETURN(registry::Group g, impl_->reg->GetGroup(group));
  auto kek = crypto::ByteView(impl_->keys.wrap_kek.data(), impl_->keys.wrap_kek.size());
  SECPROF_ASSIGN_OR_RETURN(crypto::Bytes wrapped, NewGroupKey(kek, group, g.epoch + 1, impl_->rng));
  return impl_->reg->RemoveMember(group, serial, std::move(wrapped), actor);
}

Status OwnerTools::ReleaseQuarantine(std::string_view serial, std::string_view actor) {
  return impl_->reg->ReleaseQuarantine(serial, actor);
}

// ---- maintenance (issue 5; docs/DOMAIN.md "Maintenance"): firmware store, campaigns, incidents

namespace fs = std::filesystem;

Status OwnerTools::TrustVendor(const identity::Certificate& vendor_ca) {
  if (!vendor_ca.is_ca() || vendor_ca.subject().organization.empty())
    return Fail(ErrorCode::kInvalidInput, kNotVendorCa,
                "a vendor trust anchor must be a CA certificate with O");
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
  // Every refusal names the ids this domain expects (`secprof fw ids` derives them too).
  std::string expected;
  for (const auto& ca : impl_->keys.vendor_cas) {
    const std::string& o = ca.subject().organization;
    expected += (expected.empty() ? "" : "; ") + o + ": vendor-id " +
                update::FormatUuid(domain::FirmwareVendorId(o)) + ", class-id for " +
                std::string(model) + " " + update::FormatUuid(domain::FirmwareClassId(o, model));
  }
  if (expected.empty()) expected = "none: this domain trusts no manufacturer yet";
  expected = " (expected " + expected + ")";
  if (!params.vendor_id || !params.image_digest || !params.image_size)
    return Fail(ErrorCode::kInvalidInput, kFirmwareIncomplete,
                "firmware refused: the manifest sets no vendor-id, image digest or size" +
                    expected);
  const identity::Certificate* vendor_ca = nullptr;
  for (const auto& ca : impl_->keys.vendor_cas)
    if (domain::FirmwareVendorId(ca.subject().organization) == *params.vendor_id) vendor_ca = &ca;
  if (!vendor_ca)
    return Fail(ErrorCode::kVerifyFailed, kUntrustedVendor,
                "firmware refused: its vendor-id " + update::FormatUuid(*params.vendor_id) +
                    " names no manufacturer this domain trusts" + expected);
  const std::string vendor = vendor_ca->subject().organization;
  SECPROF_ASSIGN_OR_RETURN(crypto::PublicKey pk, vendor_ca->public_key());
  SECPROF_ASSIGN_OR_RETURN(cose::Key key, cose::KeyFromPublic(pk));
  if (auto v = update::VerifyEnvelope(env, key); !v)
    return Fail(ErrorCode::kVerifyFailed, kFirmwareSignature,
                "firmware refused: signature does not verify with " + vendor +
                    "'s trust anchor: " + v.error().message() + expected);
  if (auto c = update::CheckVendorClass(params, domain::FirmwareVendorId(vendor),
                                        domain::FirmwareClassId(vendor, model));
      !c)
    return Fail(ErrorCode::kVerifyFailed, kFirmwareClass,
                "firmware refused: " + c.error().message() + expected);
  if (auto i = update::CheckImageFile(params, image_path); !i)
    return Fail(ErrorCode::kVerifyFailed, kFirmwareImage,
                "firmware refused: " + i.error().message() + expected);
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
      return Fail(ErrorCode::kNotFound, kNoTargets,
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

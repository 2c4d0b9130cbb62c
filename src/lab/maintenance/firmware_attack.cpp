// The firmware adversary's bench (firmware_attack.h).
#include "firmware_attack.h"

#include <filesystem>

#include "secprof/core/fs.h"
#include "secprof/core/hex.h"
#include "secprof/crypto/hash.h"
#include "secprof/domain/protocol.h"
#include "secprof/identity/identity.h"
#include "secprof/keystore/file_store.h"
#include "secprof/registry/registry.h"
#include "secprof/update/suit.h"

namespace secprof::lab::internal::fw {

namespace fs = std::filesystem;

Result<FirmwareLab> StartFirmwareLab(const RunContext& ctx, int things, bool join) {
  DomainOptions o;
  o.join = join;
  o.profile = ctx.profile;
  o.dir = ctx.dir;
  o.things = things;
  o.tokens = ctx.tokens;
  o.timeout = ctx.timeout;
  FirmwareLab lab;
  SECPROF_ASSIGN_OR_RETURN(lab.d, LiveDomain::Start(o));
  const manufacture::Manifest& m = lab.d->manifest();
  lab.vendor = m.vendor;
  lab.model = m.model;
  lab.repo = ctx.dir / "compromised-repo";
  const fs::path factory = lab.d->factory_dir();
  // The owner trusts the vendor for firmware (docs/DOMAIN.md "Maintenance" step 1).
  SECPROF_ASSIGN_OR_RETURN(std::string ca_pem, ReadFile((factory / m.ca_certificate).string()));
  SECPROF_ASSIGN_OR_RETURN(identity::Certificate ca, identity::Certificate::FromPem(ca_pem));
  SECPROF_TRY(lab.d->owner()->TrustVendor(ca));
  // The vendor's signing key: the factory CA key in the factory's file key store.
  keystore::FileKeyStoreOptions so;
  so.dir = (factory / m.ca_key_location).string();
  SECPROF_ASSIGN_OR_RETURN(auto store, keystore::FileKeyStore::Open(std::move(so)));
  SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer der, store->ExportPrivate(m.ca_key_label));
  SECPROF_ASSIGN_OR_RETURN(crypto::PrivateKey sk,
                           crypto::PrivateKey::FromDer(crypto::ByteView(der.data(), der.size())));
  SECPROF_ASSIGN_OR_RETURN(lab.vendor_key, cose::KeyFromPrivate(std::move(sk)));
  std::error_code ec;
  fs::create_directories(lab.repo, ec);
  if (ec) return Fail(ErrorCode::kIo, "cannot create " + lab.repo.string() + ": " + ec.message());
  return lab;
}

crypto::Bytes MakeImage(size_t size, uint8_t salt) {
  crypto::Bytes image(size);
  for (size_t i = 0; i < size; ++i) image[i] = static_cast<uint8_t>(i * 7 + salt + (i >> 8));
  return image;
}

Result<crypto::Bytes> SignFor(crypto::ByteView image, const std::string& vendor,
                              const std::string& model, uint64_t sequence, const cose::Key& key) {
  update::CreateParams cp;
  cp.vendor_id = domain::FirmwareVendorId(vendor);
  cp.class_id = domain::FirmwareClassId(vendor, model);
  cp.sequence_number = sequence;
  return update::CreateEnvelope(image, cp, key);
}

namespace {

Result<std::string> WriteImage(FirmwareLab& lab, const crypto::Bytes& image) {
  std::string path = (lab.repo / ("image-" + std::to_string(++lab.planted) + ".bin")).string();
  SECPROF_TRY(WriteFileAtomic(
      path, std::string_view(reinterpret_cast<const char*>(image.data()), image.size()), 0644));
  return path;
}

}  // namespace

Result<int64_t> AddGenuine(FirmwareLab& lab, const crypto::Bytes& envelope,
                           const crypto::Bytes& image, const std::string& model) {
  SECPROF_ASSIGN_OR_RETURN(std::string path, WriteImage(lab, image));
  return lab.d->owner()->AddFirmware(envelope, path, model);
}

Result<int64_t> Plant(FirmwareLab& lab, const crypto::Bytes& envelope, const crypto::Bytes& image,
                      uint64_t sequence) {
  SECPROF_ASSIGN_OR_RETURN(std::string path, WriteImage(lab, image));
  SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Digest digest, crypto::Sha256(image));
  registry::Firmware f;
  f.vendor = lab.vendor;
  f.model = lab.model;
  f.sequence = sequence;
  f.envelope = envelope;
  f.image_path = fs::absolute(path).string();
  f.image_size = image.size();
  f.image_digest = ToHex(crypto::ByteView(digest.data(), digest.size()));
  return lab.d->owner()->registry().AddFirmware(f, "compromised-repository");
}

Status AddFix(FirmwareLab& lab, uint64_t sequence, uint8_t salt) {
  crypto::Bytes fix = MakeImage(16 * 1024, salt);
  SECPROF_ASSIGN_OR_RETURN(crypto::Bytes env,
                           SignFor(fix, lab.vendor, lab.model, sequence, lab.vendor_key));
  SECPROF_ASSIGN_OR_RETURN(int64_t id, AddGenuine(lab, env, fix, lab.model));
  (void)id;
  return Ok();
}

Result<kdc::OwnerTools::IncidentOutcome> ReportIncident(FirmwareLab& lab, uint64_t vulnerable,
                                                        const std::string& severity) {
  registry::Incident in;
  in.vendor = lab.vendor;
  in.model = lab.model;
  in.min_sequence = in.max_sequence = vulnerable;
  in.severity = severity;
  in.description = "lab: a remotely exploitable flaw in firmware " + std::to_string(vulnerable);
  SECPROF_ASSIGN_OR_RETURN(auto out, lab.d->owner()->ReportIncident(in, 1, 0.5));
  if (out.campaign_id == 0)
    return Fail(ErrorCode::kInternal, "lab: the incident started no campaign");
  return out;
}

Status Offer(FirmwareLab& lab, int64_t id, int i) {
  SECPROF_ASSIGN_OR_RETURN(int64_t campaign, lab.d->owner()->StartCampaign(
                                                 id, {lab.d->thing(i).state().serial}, 1, 1.0));
  (void)campaign;
  return Ok();
}

std::string InstallerReason(const std::string& detail) {
  // The installer's refusals (update/install.h): the message starts with the refusal's phrase.
  static constexpr update::Refusal kAll[] = {
      update::Refusal::kMalformed,       update::Refusal::kUnsupported,
      update::Refusal::kForgedSignature, update::Refusal::kWrongVendor,
      update::Refusal::kWrongClass,      update::Refusal::kImageDigest,
      update::Refusal::kImageSize,       update::Refusal::kRollback,
      update::Refusal::kReplay,          update::Refusal::kBusy,
      update::Refusal::kImageTooLong};
  static constexpr Reason kReasons[] = {
      update::kMalformedEnvelope, update::kUnsupportedSuit, update::kForgedSignature,
      update::kWrongVendor,       update::kWrongClass,      update::kImageDigest,
      update::kImageSize,         update::kRollback,        update::kReplay,
      update::kInstallPending,    update::kImageTooLong};
  static_assert(std::size(kAll) == std::size(kReasons));
  for (size_t k = 0; k < std::size(kAll); ++k)
    if (detail.rfind(update::RefusalName(kAll[k]), 0) == 0) return std::string(kReasons[k].name());
  return "";
}

Result<Attempt> TryUpdate(FirmwareLab& lab, int i, const crypto::Bytes& attacker_image) {
  thing::Agent& t = lab.d->thing(i);
  Attempt a;
  a.running_before = t.RunningFirmware();
  SECPROF_ASSIGN_OR_RETURN(thing::Agent::UpdateOutcome u, t.CheckForUpdate());
  a.offered = u.offered;
  a.installed = u.installed;
  a.detail = u.detail;
  a.reason = InstallerReason(u.detail);
  a.running_after = t.RunningFirmware();
  SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Digest digest, crypto::Sha256(attacker_image));
  const auto& active = t.FirmwareState().active_image.digest;
  a.runs_attacker =
      active.size() == digest.size() && std::equal(active.begin(), active.end(), digest.begin());
  return a;
}

Evidence AttemptEvidence(const std::string& label, const Attempt& a) {
  std::string summary = label + ": ";
  if (!a.offered)
    summary += "nothing was offered";
  else if (a.runs_attacker)
    summary += "the thing installed it and now runs it (sequence " +
               std::to_string(a.running_before) + " -> " + std::to_string(a.running_after) + ")";
  else
    summary += "the thing refused it (" + (a.reason.empty() ? std::string("no reason") : a.reason) +
               ") and still runs sequence " + std::to_string(a.running_after);
  return {"log", summary, a.detail.substr(0, 1024)};
}

Measurement NoDeliveryInSecProf1() {
  Measurement m;
  m.outcome = Outcome::kNotTestable;
  m.reason =
      "SecProf_1 has no firmware delivery from a KDC to attack, and this scenario attacks only "
      "that path: SecProf_1 things get firmware from their vendor's update service (module "
      "vendor, docs/DOMAIN.md \"SecProf_1: the vendor's update service\"), whose forged, "
      "rolled-back and withheld updates tests/vendor/update_service_test.cpp attacks; this "
      "scenario does not mount them against it yet";
  return m;
}

}  // namespace secprof::lab::internal::fw

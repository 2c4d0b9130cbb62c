// Maintenance in a scenario (docs/DOMAIN.md "Firmware"): an incident against the factory firmware
// (sequence 1); the vendor's fix (sequence 2) is in the store, so the KDC starts a staged
// campaign; every thing fetches it block-wise, verifies and installs it into its inactive slot,
// and reports.
#include "internal.h"
#include "secprof/core/fs.h"
#include "secprof/cose/key.h"
#include "secprof/domain/protocol.h"
#include "secprof/identity/identity.h"
#include "secprof/keystore/file_store.h"
#include "secprof/registry/registry.h"
#include "secprof/update/suit.h"

namespace secprof::scenario::internal {

Status RunFirmwareCampaign(ProfileRun& run, const RunOptions& o, kdc::OwnerTools& owner,
                           Fleet& fleet, int count) {
  const std::filesystem::path& dir = o.dir;
  const manufacture::Manifest& m = fleet.manifest;
  SECPROF_ASSIGN_OR_RETURN(std::string ca_pem,
                           ReadFile((dir / "factory" / m.ca_certificate).string()));
  SECPROF_ASSIGN_OR_RETURN(identity::Certificate ca, identity::Certificate::FromPem(ca_pem));
  SECPROF_TRY(owner.TrustVendor(ca));
  keystore::FileKeyStoreOptions so;
  so.dir = (dir / "factory" / m.ca_key_location).string();
  SECPROF_ASSIGN_OR_RETURN(auto vstore, keystore::FileKeyStore::Open(std::move(so)));
  SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer der, vstore->ExportPrivate(m.ca_key_label));
  SECPROF_ASSIGN_OR_RETURN(crypto::PrivateKey sk,
                           crypto::PrivateKey::FromDer(crypto::ByteView(der.data(), der.size())));
  SECPROF_ASSIGN_OR_RETURN(cose::Key vendor_key, cose::KeyFromPrivate(std::move(sk)));
  std::string image(64 * 1024, '\0');
  for (size_t i = 0; i < image.size(); ++i) image[i] = static_cast<char>(i * 7 + 2);
  std::string image_path = (dir / "firmware-2.bin").string();
  SECPROF_TRY(WriteFileAtomic(image_path, image));
  update::CreateParams cp;
  cp.vendor_id = domain::FirmwareVendorId(m.vendor);
  cp.class_id = domain::FirmwareClassId(m.vendor, m.model);
  cp.sequence_number = 2;
  SECPROF_ASSIGN_OR_RETURN(
      crypto::Bytes env,
      update::CreateEnvelope(
          crypto::ByteView(reinterpret_cast<const uint8_t*>(image.data()), image.size()), cp,
          vendor_key));
  SECPROF_TRY(owner.AddFirmware(env, image_path, m.model));
  registry::Incident in;
  in.vendor = m.vendor;
  in.model = m.model;
  in.min_sequence = in.max_sequence = 1;
  in.severity = "high";
  in.description = "demo: a flaw in the factory firmware";
  SECPROF_ASSIGN_OR_RETURN(auto inc, owner.ReportIncident(in, 2, 0.34));
  if (inc.campaign_id == 0) return Fail(ErrorCode::kInternal, "no campaign for the incident");
  int installed = 0;
  uint64_t bytes = 0;
  for (int round = 0; round < count; ++round)
    for (int i = 0; i < count; ++i) {
      SECPROF_ASSIGN_OR_RETURN(auto u, fleet.things[i]->CheckForUpdate());
      installed += u.installed;
      bytes += u.bytes_fetched;
      if (u.offered && !u.installed) return Fail(ErrorCode::kVerifyFailed, u.detail);
    }
  SECPROF_ASSIGN_OR_RETURN(auto camp, owner.registry().GetCampaign(inc.campaign_id));
  Say(o, run.profile,
      "incident -> campaign " + std::to_string(inc.campaign_id) + ": " + std::to_string(installed) +
          "/" + std::to_string(count) + " things on firmware 2 (" + std::to_string(bytes / 1024) +
          " KiB fetched block-wise), campaign " + registry::CampaignStateName(camp.state));
  if (installed != count) return Fail(ErrorCode::kInternal, "not every thing was updated");
  return {};
}

}  // namespace secprof::scenario::internal

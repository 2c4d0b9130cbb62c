// Internal to the maintenance/ scenarios: the firmware adversary's bench (T5, T10). A live domain
// whose owner trusts the vendor for firmware, the vendor's genuine signing key (the factory's CA
// key, as `secprof demo` signs its fix: src/scenario/firmware.cpp), and the two ways firmware
// reaches a thing (docs/DOMAIN.md "Maintenance"):
//   - the owner's path: OwnerTools::AddFirmware (the KDC verifies the envelope) and a campaign;
//   - a compromised repository (Uptane's attacker who controls the image repository, RFC 9124
//     §3.3 THREAT.IMG.*): a row in the KDC's firmware store with whatever envelope and image the
//     attacker wants, written to the registry directly (bypassing AddFirmware's checks), and a
//     campaign offering it. The thing's own installer is then the only defence.
// The verdict of every attempt comes from the thing as deployed: its Agent::CheckForUpdate (fetch
// over its DTLS session, update::SlotStore install), what it runs afterwards (sequence and the
// SHA-256 of its active slot), and its refusal as it reported it to the KDC.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "secprof/core/result.h"
#include "secprof/cose/key.h"
#include "secprof/crypto/secure_buffer.h"
#include "secprof/lab/live_domain.h"
#include "secprof/lab/scenario.h"

namespace secprof::lab::internal::fw {

// The factory's firmware (update::SlotStore::Initialize): every thing starts on sequence 1.
inline constexpr uint64_t kFactorySequence = 1;

struct FirmwareLab {
  std::unique_ptr<LiveDomain> d;
  cose::Key vendor_key;  // the genuine vendor's signing key
  std::string vendor, model;
  std::filesystem::path repo;  // where the compromised repository keeps its images
  int planted = 0;
};

// A domain (ctx.profile, SecProf_2..4) with `things` joined and operational (admitted only when
// `join` is false: the scenario joins them, e.g. through a relay), the vendor trusted for
// firmware (OwnerTools::TrustVendor) and its signing key loaded.
Result<FirmwareLab> StartFirmwareLab(const RunContext& ctx, int things, bool join = true);

// A deterministic image of `size` bytes; `salt` tells images apart.
crypto::Bytes MakeImage(size_t size, uint8_t salt);

// A SUIT envelope for `image` (update::CreateEnvelope) naming `vendor` and `model`'s class.
Result<crypto::Bytes> SignFor(crypto::ByteView image, const std::string& vendor,
                              const std::string& model, uint64_t sequence, const cose::Key& key);

// The owner's path: the KDC verifies and stores the release (OwnerTools::AddFirmware). Returns
// the firmware id, or the KDC's refusal.
Result<int64_t> AddGenuine(FirmwareLab& lab, const crypto::Bytes& envelope,
                           const crypto::Bytes& image, const std::string& model);

// The compromised repository: stores `image` (any bytes) and a firmware row for the lab's vendor
// and model with `envelope` (any bytes) and `sequence` straight into the registry. Returns its id.
Result<int64_t> Plant(FirmwareLab& lab, const crypto::Bytes& envelope, const crypto::Bytes& image,
                      uint64_t sequence);

// The vendor's fix: a genuine release of a 16 KiB image with `sequence`, through the owner's path.
Status AddFix(FirmwareLab& lab, uint64_t sequence, uint8_t salt);

// The owner reports an incident against `vulnerable` (OwnerTools::ReportIncident, stage 1, halt
// above 50 % failures); an Error when it starts no campaign (no fix in the store, no target).
Result<kdc::OwnerTools::IncidentOutcome> ReportIncident(FirmwareLab& lab, uint64_t vulnerable,
                                                        const std::string& severity);

// A campaign (stage 1, any failure rate) offering firmware `id` to thing `i`.
Status Offer(FirmwareLab& lab, int64_t id, int i);

struct Attempt {
  bool offered = false;
  bool installed = false;       // the thing's installer reported success
  uint64_t running_before = 0;  // sequence the thing ran before
  uint64_t running_after = 0;   // and after
  bool runs_attacker = false;   // its active slot hashes to the attacker's image
  std::string detail;           // the thing's report (its installer's message)
  std::string reason;           // the installer's stable refusal reason, from the report
};

// Thing `i` checks for an update as deployed (Agent::CheckForUpdate) and the outcome is judged
// against `attacker_image`.
Result<Attempt> TryUpdate(FirmwareLab& lab, int i, const crypto::Bytes& attacker_image);

// One line of evidence for an attempt, and the thing's report to the KDC (the campaign target's
// detail in the registry), for `label` (what was offered).
Evidence AttemptEvidence(const std::string& label, const Attempt& a);

// The stable reason (docs/ERRORS.md "update") an installer message starts with, or "".
std::string InstallerReason(const std::string& detail);

// SecProf_1 has no firmware delivery from a KDC (its things ask their vendor's update service,
// which these scenarios do not attack yet). The Measurement every firmware scenario reports there.
Measurement NoDeliveryInSecProf1();

}  // namespace secprof::lab::internal::fw

// secprof/registry/rollout.h — the registry's rollout aggregate (schema v2): firmware releases,
// staged update campaigns, incidents, and the firmware version each thing runs. Part of Registry
// (registry.h), which every caller uses; the contracts common to every method are in registry.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "secprof/core/result.h"
#include "secprof/crypto/secure_buffer.h"

namespace secprof::registry {
namespace internal {
class Ledger;
}

using crypto::Bytes;

// --- firmware, campaigns, incidents (schema v2)
// ---------------------------------------------------

// A firmware release the owner may roll out: the signed update envelope (SUIT manifest as received
// from the vendor) and where its image lies. Sequence numbers are the manifest's anti-rollback
// counter (draft-ietf-suit-manifest §8.4.2); (vendor, model, sequence) is unique.
struct Firmware {
  int64_t id = 0;  // assigned by AddFirmware (1, 2, 3 ...)
  std::string vendor, model;
  uint64_t sequence = 0;     // 0 .. 2^63-1 (stored as an SQLite INTEGER)
  Bytes envelope;            // the signed envelope, opaque here; 1 byte .. 1 MiB
  std::string image_path;    // where the KDC serves the image from; 1..4096 bytes, no control chars
  uint64_t image_size = 0;   // bytes, 1 .. 2^63-1
  std::string image_digest;  // hex SHA-256 of the image: 64 lower-case hex digits
  int64_t added = 0;         // unix s, set by AddFirmware
};

enum class CampaignState {
  kRunning,    // targets are being offered the firmware stage by stage
  kHalted,     // stopped: failure rate over the threshold, or by the owner (HaltCampaign)
  kCompleted,  // every target reported and the failure rate stayed within the threshold
};
// "running", "halted", "completed" (the names stored in the database).
const char* CampaignStateName(CampaignState s);

enum class TargetStatus {
  kWaiting,    // not released yet (a later stage)
  kOffered,    // released: OfferFor returns the campaign for this thing
  kInstalled,  // the thing reported a successful install
  kFailed,     // the thing reported a failed install
};
// "waiting", "offered", "installed", "failed" (the names stored in the database).
const char* TargetStatusName(TargetStatus s);

struct Campaign {
  int64_t id = 0;  // 1, 2, 3 ...
  int64_t firmware_id = 0;
  CampaignState state = CampaignState::kRunning;
  int64_t stage_size = 0;       // targets released per stage, >= 1
  double max_failure_rate = 0;  // 0..1; halted when failed / reported exceeds it
  int64_t released = 0;         // targets released so far (offered at any time)
  std::string reason;           // why it halted ("" while running or completed)
  int64_t incident_id = 0;      // the incident it responds to, 0 when none
  int64_t created = 0, updated = 0;
};

struct CampaignTarget {
  std::string serial;
  TargetStatus status = TargetStatus::kWaiting;
  std::string detail;  // the thing's report ("" until it reported)
  int64_t updated = 0;
};

// A vulnerability report against a range of firmware of one vendor and model.
struct Incident {
  int64_t id = 0;  // 1, 2, 3 ...
  std::string vendor, model;
  uint64_t min_sequence = 0, max_sequence = 0;  // the affected range, inclusive; min <= max
  std::string severity;                         // "low", "medium", "high" or "critical"
  std::string description;                      // 1..4096 bytes, no control characters
  int64_t created = 0;
  int64_t campaign_id = 0;  // the campaign that responds to it (the latest linked), 0 when none
};

// Firmware and campaigns (src/registry/rollout.cpp), incidents and running versions
// (src/registry/incidents.cpp).
class Rollout {
 public:
  // --- firmware (schema v2) --------------------------------------------------------------------
  // Contracts as everywhere above: one IMMEDIATE transaction with its audit entries, bad input
  // changes nothing. Actors: 1..256 bytes without control characters.

  // Stores a firmware release (fw.id and fw.added are ignored) and returns its id. kInvalidInput
  // for an empty vendor/model/envelope/image_path, image_size 0, a sequence or size over 2^63-1,
  // or an image_digest that is not 64 lower-case hex digits; kConflict when (vendor, model,
  // sequence) exists. Audit "firmware-added", detail "<vendor> <model> <sequence> <digest>".
  Result<int64_t> AddFirmware(const Firmware& fw, std::string_view actor);
  Result<Firmware> GetFirmware(int64_t id);      // kNotFound
  Result<std::vector<Firmware>> ListFirmware();  // by id

  // Starts rolling `firmware_id` out to `serials` in stages. Checks: the firmware exists
  // (kNotFound); `serials` is non-empty (kInvalidInput), holds no duplicate (kInvalidInput naming
  // it), each is an existing thing (kNotFound naming it) of the firmware's vendor and model
  // (kConflict naming it: never offer one model's firmware to another); stage_size >= 1;
  // 0 <= max_failure_rate <= 1 (not NaN); incident_id 0 or an existing incident (kNotFound), which
  // is then linked both ways (Incident::campaign_id = the new campaign). The first stage_size
  // targets in the order given are released (kOffered), the rest kWaiting. Returns the campaign id.
  // Audit "campaign-started" (detail: firmware, targets, stage size, threshold, incident) and one
  // "fw-offered" per released target (serial = the target).
  Result<int64_t> StartCampaign(int64_t firmware_id, const std::vector<std::string>& serials,
                                int64_t stage_size, double max_failure_rate, std::string_view actor,
                                int64_t incident_id = 0);

  // The oldest (lowest id) RUNNING campaign in which `serial` is kOffered, with its firmware;
  // nullopt when there is none (also for a serial the registry does not know). kInvalidInput for a
  // malformed serial. Read-only.
  Result<std::optional<std::pair<Campaign, Firmware>>> OfferFor(std::string_view serial);

  // Records a thing's install report: kOffered -> kInstalled (ok) / kFailed (!ok), with `detail`
  // (sanitised like audit details, cut at 4096 bytes). kNotFound for an unknown campaign or a
  // serial that is not one of its targets; kConflict for a target that is not kOffered (still
  // waiting, or already reported: a second report is refused). A report is accepted in a HALTED
  // campaign too (the install happened) but moves nothing there. ok also sets the thing's firmware
  // version (SetFirmwareVersion) to the firmware's sequence. Then, in the same transaction, when
  // the campaign is running and no released target is still kOffered (the stage has fully
  // reported):
  //   rate = failed / reported, over every target of the campaign that reported so far;
  //   rate > max_failure_rate -> kHalted, reason "failure rate 0.40 > 0.20 after N reports"
  //     (two decimals; waiting targets stay waiting); audit "campaign-halted";
  //   else, targets waiting -> the next stage_size of them (in the order given) become kOffered,
  //     audit "campaign-stage" (detail "stage K: <n> released") and "fw-offered" per target;
  //   else (all reported) -> kCompleted, audit "campaign-completed".
  // The halt check comes first, so a last stage over the threshold ends kHalted, not kCompleted.
  // Audit "fw-installed" / "fw-failed" (serial = the thing, detail = campaign, sequence, report).
  // Returns the campaign after the update.
  // `running_sequence` (the version the thing runs after a failed install) is recorded with a
  // failed report, in the same transaction; nothing is recorded when the report is refused.
  Result<Campaign> ReportInstall(int64_t campaign_id, std::string_view serial, bool ok,
                                 std::string_view detail, std::string_view actor,
                                 std::optional<uint64_t> running_sequence = std::nullopt);

  Result<Campaign> GetCampaign(int64_t id);       // kNotFound
  Result<std::vector<Campaign>> ListCampaigns();  // by id
  // The targets in the order given to StartCampaign. kNotFound for an unknown campaign.
  Result<std::vector<CampaignTarget>> CampaignTargets(int64_t id);
  // The owner's stop: kRunning -> kHalted with `reason` (1..4096 bytes, no control characters).
  // kNotFound; kConflict when the campaign is not running. Offered targets stay offered (OfferFor
  // no longer returns the campaign) and may still report. Audit "campaign-halted".
  Status HaltCampaign(int64_t id, std::string_view reason, std::string_view actor);

  // The firmware sequence a thing reported running (its state report, or a successful
  // ReportInstall). kNotFound for an unknown thing; kInvalidInput for a sequence over 2^63-1. Not
  // audited (it is a report, not a decision).
  Status SetFirmwareVersion(std::string_view serial, uint64_t sequence);
  // nullopt when the thing never reported a version; kNotFound for an unknown thing.
  Result<std::optional<uint64_t>> FirmwareVersion(std::string_view serial);

  // --- incidents (schema v2) --------------------------------------------------------------------
  // Records an incident (in.id, in.created and in.campaign_id are ignored) and returns its id.
  // kInvalidInput for an empty vendor/model/description, a severity other than "low", "medium",
  // "high", "critical", min_sequence > max_sequence, or a sequence over 2^63-1.
  // Audit "incident-recorded" (detail: severity, vendor, model, range).
  Result<int64_t> RecordIncident(const Incident& in, std::string_view actor);
  // Serials (sorted) of the ACTIVE things (IsActive) of the incident's vendor and model whose
  // FirmwareVersion is in [min_sequence, max_sequence]; a thing that never reported a version
  // counts as affected (unknown is not known to be safe). kNotFound for an unknown incident.
  Result<std::vector<std::string>> AffectedBy(int64_t incident_id);
  // Links a campaign to an incident: Incident::campaign_id = campaign_id (a later link replaces an
  // earlier one: the incident points at its latest response) and Campaign::incident_id =
  // incident_id. kNotFound for either; kConflict when the campaign already responds to another
  // incident. Repeating an existing link is Ok and changes nothing. Audit "incident-linked".
  Status LinkIncidentCampaign(int64_t incident_id, int64_t campaign_id, std::string_view actor);
  Result<Incident> GetIncident(int64_t id);       // kNotFound
  Result<std::vector<Incident>> ListIncidents();  // by id

 protected:
  explicit Rollout(internal::Ledger& ledger) : ledger_(ledger) {}
  ~Rollout() = default;
  Rollout(const Rollout&) = delete;
  Rollout& operator=(const Rollout&) = delete;

 private:
  internal::Ledger& ledger_;
};

}  // namespace secprof::registry

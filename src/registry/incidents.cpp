// secprof::registry — the rollout aggregate's incidents and the firmware version each thing runs
// (include/secprof/registry/rollout.h).
#include <algorithm>
#include <limits>
#include <string>

#include "internal.h"
#include "rollout_rows.h"

namespace secprof::registry {

using namespace internal;  // Tx, Row, the checks and limits

namespace {

constexpr size_t kMaxDescription = 4096;
constexpr uint64_t kMaxSequence = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
constexpr std::array<std::string_view, 4> kSeverities = {"low", "medium", "high", "critical"};

}  // namespace

Status internal::CheckSequence(std::string_view what, uint64_t v) {
  if (v > kMaxSequence) {
    return Fail(ErrorCode::kInvalidInput,
                std::string(what) + " " + std::to_string(v) + " is over 2^63-1");
  }
  return Ok();
}

Status internal::PutFirmwareVersion(Tx& tx, std::string_view serial, uint64_t sequence) {
  return tx.Execute(
      "INSERT INTO thing_firmware(serial, sequence, updated) VALUES(?, ?, ?) "
      "ON CONFLICT(serial) DO UPDATE SET sequence = excluded.sequence, "
      "updated = excluded.updated",
      serial, static_cast<int64_t>(sequence), tx.now());
}

Status Rollout::SetFirmwareVersion(std::string_view serial, uint64_t sequence) {
  SECPROF_TRY(CheckSerial(serial));
  SECPROF_TRY(CheckSequence("firmware sequence", sequence));
  return ledger_.Write([&](Tx& tx) -> Status {
    SECPROF_TRY(MustLoadThing(tx, serial));
    return PutFirmwareVersion(tx, serial, sequence);
  });
}

Result<std::optional<uint64_t>> Rollout::FirmwareVersion(std::string_view serial) {
  SECPROF_TRY(CheckSerial(serial));
  return ledger_.Read([&](Tx& tx) -> Result<std::optional<uint64_t>> {
    SECPROF_ASSIGN_OR_RETURN(
        std::optional<std::optional<int64_t>> row,
        tx.QueryOptional<std::optional<int64_t>>(
            "SELECT f.sequence FROM things t LEFT JOIN thing_firmware f ON f.serial = t.serial "
            "WHERE t.serial = ?",
            [](const Row& r) { return r.OptionalInt64(0); }, serial));
    if (!row) {
      return Fail(ErrorCode::kNotFound, kUnknownThing,
                  "no thing with serial " + std::string(serial));
    }
    if (!*row) return std::optional<uint64_t>();
    return std::optional<uint64_t>(static_cast<uint64_t>(**row));
  });
}

Result<int64_t> Rollout::RecordIncident(const Incident& in, std::string_view actor) {
  SECPROF_TRY(CheckText("vendor", in.vendor, kMaxName));
  SECPROF_TRY(CheckText("model", in.model, kMaxName));
  SECPROF_TRY(CheckText("description", in.description, kMaxDescription));
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  if (std::find(kSeverities.begin(), kSeverities.end(), in.severity) == kSeverities.end()) {
    return Fail(ErrorCode::kInvalidInput, "severity \"" + Sanitize(in.severity, kMaxName) +
                                              "\" is not one of low, medium, high, critical");
  }
  SECPROF_TRY(CheckSequence("minimum sequence", in.min_sequence));
  SECPROF_TRY(CheckSequence("maximum sequence", in.max_sequence));
  if (in.min_sequence > in.max_sequence) {
    return Fail(ErrorCode::kInvalidInput, "minimum sequence " + std::to_string(in.min_sequence) +
                                              " is above the maximum " +
                                              std::to_string(in.max_sequence));
  }
  return ledger_.Write([&](Tx& tx) -> Result<int64_t> {
    SECPROF_TRY(
        tx.Execute("INSERT INTO incidents(vendor, model, min_sequence, max_sequence, "
                   "severity, description, created) VALUES(?, ?, ?, ?, ?, ?, ?)",
                   in.vendor, in.model, static_cast<int64_t>(in.min_sequence),
                   static_cast<int64_t>(in.max_sequence), in.severity, in.description, tx.now()));
    const int64_t id = tx.LastInsertId();
    SECPROF_TRY(tx.Audit(actor, "incident-recorded", "",
                         "incident " + Id(id) + " " + in.severity + ": " + in.vendor + " " +
                             in.model + " sequences " + std::to_string(in.min_sequence) + ".." +
                             std::to_string(in.max_sequence) + ": " + in.description));
    return id;
  });
}

Result<std::vector<std::string>> Rollout::AffectedBy(int64_t incident_id) {
  return ledger_.Snapshot([&](Tx& tx) -> Result<std::vector<std::string>> {
    SECPROF_ASSIGN_OR_RETURN(Incident in, MustLoadIncident(tx, incident_id));
    std::vector<std::string> out;
    SECPROF_TRY(tx.ForEach(
        "SELECT t.serial, t.state, f.sequence FROM things t LEFT JOIN thing_firmware f "
        "ON f.serial = t.serial WHERE t.vendor = ? AND t.model = ? ORDER BY t.serial",
        [&](const Row& r) -> Status {
          SECPROF_ASSIGN_OR_RETURN(State state, ParseState(r.Text(1)));
          if (!IsActive(state)) return Ok();
          const std::optional<int64_t> seq = r.OptionalInt64(2);
          // No known version: not known to be safe, so affected.
          if (seq && (static_cast<uint64_t>(*seq) < in.min_sequence ||
                      static_cast<uint64_t>(*seq) > in.max_sequence)) {
            return Ok();
          }
          out.push_back(r.Text(0));
          return Ok();
        },
        in.vendor, in.model));
    return out;
  });
}

Status Rollout::LinkIncidentCampaign(int64_t incident_id, int64_t campaign_id,
                                     std::string_view actor) {
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  return ledger_.Write([&](Tx& tx) -> Status {
    SECPROF_ASSIGN_OR_RETURN(Incident in, MustLoadIncident(tx, incident_id));
    SECPROF_ASSIGN_OR_RETURN(Campaign c, MustLoadCampaign(tx, campaign_id));
    if (c.incident_id != 0 && c.incident_id != incident_id) {
      return Fail(
          ErrorCode::kConflict, kOtherIncident,
          "campaign " + Id(campaign_id) + " already responds to incident " + Id(c.incident_id));
    }
    if (c.incident_id == incident_id && in.campaign_id == campaign_id) return Ok();  // no change
    SECPROF_TRY(
        tx.Execute("UPDATE incidents SET campaign_id = ? WHERE id = ?", campaign_id, incident_id));
    SECPROF_TRY(tx.Execute("UPDATE campaigns SET incident_id = ?, updated = ? WHERE id = ?",
                           incident_id, tx.now(), campaign_id));
    std::string detail = "incident " + Id(incident_id) + " -> campaign " + Id(campaign_id);
    if (in.campaign_id != 0 && in.campaign_id != campaign_id) {
      detail += " (was campaign " + Id(in.campaign_id) + ")";
    }
    return tx.Audit(actor, "incident-linked", "", detail);
  });
}

Result<Incident> Rollout::GetIncident(int64_t id) {
  return ledger_.Read([&](Tx& tx) { return MustLoadIncident(tx, id); });
}

Result<std::vector<Incident>> Rollout::ListIncidents() {
  return ledger_.Read([&](Tx& tx) {
    return tx.QueryAll<Incident>(
        std::string("SELECT ") + kIncidentColumns + " FROM incidents ORDER BY id", ReadIncident);
  });
}

}  // namespace secprof::registry

// secprof::registry — the rollout aggregate's firmware releases and staged campaigns
// (include/secprof/registry/rollout.h). Incidents and running versions: incidents.cpp.
#include <array>
#include <charconv>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "internal.h"
#include "rollout_rows.h"
#include "secprof/crypto/hash.h"

namespace secprof::registry {

using namespace internal;  // Tx, Row, the checks and limits

namespace {

constexpr size_t kMaxEnvelope = 1024 * 1024;
constexpr size_t kMaxImagePath = 4096;
constexpr size_t kMaxTargets = 100000;

// The shortest decimal that reads back as the same double (std::to_chars without a precision).
std::string RateToText(double rate) {
  std::array<char, 64> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), rate);
  if (ec != std::errc()) return "1";  // cannot happen for a double in [0, 1] and 64 bytes
  return std::string(buf.data(), end);
}

// "0.40": the two-decimal form of the halt reason.
std::string TwoDecimals(double v) {
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), "%.2f", v);
  return buf.data();
}

// Offers the firmware to one target: status kOffered, audit "fw-offered".
Status OfferTarget(Tx& tx, const Campaign& c, const Firmware& fw, std::string_view serial,
                   std::string_view actor) {
  SECPROF_TRY(
      tx.Execute("UPDATE campaign_targets SET status = 'offered', updated = ? "
                 "WHERE campaign_id = ? AND serial = ? AND status = 'waiting'",
                 tx.now(), c.id, serial));
  if (tx.Changes() != 1) {
    return Fail(ErrorCode::kInternal,
                "target " + std::string(serial) + " of campaign " + Id(c.id) + " was not waiting");
  }
  return tx.Audit(actor, "fw-offered", serial,
                  "campaign " + Id(c.id) + " firmware " + Id(fw.id) + " sequence " +
                      std::to_string(fw.sequence));
}

Status SetCampaignState(Tx& tx, int64_t id, CampaignState state, std::string_view reason) {
  return tx.Execute("UPDATE campaigns SET state = ?, reason = ?, updated = ? WHERE id = ?",
                    CampaignStateName(state), reason, tx.now(), id);
}

// The staged rollout after a report in a running campaign (rules in rollout.h, ReportInstall).
Status AdvanceRollout(Tx& tx, const Campaign& c, const Firmware& fw, std::string_view actor) {
  std::map<std::string, int64_t> counts;
  SECPROF_TRY(tx.ForEach(
      "SELECT status, count(*) FROM campaign_targets WHERE campaign_id = ? GROUP BY status",
      [&](const Row& r) -> Status {
        counts[r.Text(0)] = r.Int64(1);
        return Ok();
      },
      c.id));
  if (counts["offered"] > 0) return Ok();  // the stage has not fully reported yet
  const int64_t failed = counts["failed"];
  const int64_t reported = counts["installed"] + failed;
  const int64_t waiting = counts["waiting"];
  const double rate =
      reported > 0 ? static_cast<double>(failed) / static_cast<double>(reported) : 0.0;
  if (rate > c.max_failure_rate) {
    const std::string reason = "failure rate " + TwoDecimals(rate) + " > " +
                               TwoDecimals(c.max_failure_rate) + " after " +
                               std::to_string(reported) + " reports";
    SECPROF_TRY(SetCampaignState(tx, c.id, CampaignState::kHalted, reason));
    return tx.Audit(
        actor, "campaign-halted", "",
        "campaign " + Id(c.id) + ": " + reason + " (" + std::to_string(waiting) + " waiting)");
  }
  if (waiting > 0) {
    SECPROF_ASSIGN_OR_RETURN(std::vector<std::string> next,
                             tx.QueryAll<std::string>(
                                 "SELECT serial FROM campaign_targets WHERE campaign_id = ? AND "
                                 "status = 'waiting' ORDER BY position LIMIT ?",
                                 [](const Row& r) { return r.Text(0); }, c.id, c.stage_size));
    const int64_t stage = c.released / c.stage_size + 1;
    const int64_t released = c.released + static_cast<int64_t>(next.size());
    SECPROF_TRY(tx.Execute("UPDATE campaigns SET released = ?, updated = ? WHERE id = ?", released,
                           tx.now(), c.id));
    SECPROF_TRY(tx.Audit(actor, "campaign-stage", "",
                         "campaign " + Id(c.id) + " stage " + std::to_string(stage) + ": " +
                             std::to_string(next.size()) + " released, failure rate " +
                             TwoDecimals(rate) + " after " + std::to_string(reported) +
                             " reports"));
    for (const std::string& serial : next) SECPROF_TRY(OfferTarget(tx, c, fw, serial, actor));
    return Ok();
  }
  SECPROF_TRY(SetCampaignState(tx, c.id, CampaignState::kCompleted, ""));
  return tx.Audit(actor, "campaign-completed", "",
                  "campaign " + Id(c.id) + ": " + std::to_string(reported - failed) +
                      " installed, " + std::to_string(failed) + " failed");
}

}  // namespace

const char* CampaignStateName(CampaignState s) {
  for (const auto& [state, name] : kCampaignStateNames) {
    if (state == s) return name;
  }
  return "?";
}

const char* TargetStatusName(TargetStatus s) {
  for (const auto& [status, name] : kTargetStatusNames) {
    if (status == s) return name;
  }
  return "?";
}

Result<int64_t> Rollout::AddFirmware(const Firmware& fw, std::string_view actor) {
  SECPROF_TRY(CheckText("vendor", fw.vendor, kMaxName));
  SECPROF_TRY(CheckText("model", fw.model, kMaxName));
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  SECPROF_TRY(CheckSequence("firmware sequence", fw.sequence));
  if (fw.envelope.empty()) return Fail(ErrorCode::kInvalidInput, "firmware envelope is empty");
  if (fw.envelope.size() > kMaxEnvelope) {
    return Fail(ErrorCode::kInvalidInput, "firmware envelope is longer than 1 MiB");
  }
  SECPROF_TRY(CheckText("image path", fw.image_path, kMaxImagePath));
  if (fw.image_size == 0) return Fail(ErrorCode::kInvalidInput, "firmware image size is 0");
  SECPROF_TRY(CheckSequence("firmware image size", fw.image_size));
  if (fw.image_digest.size() != 2 * crypto::kSha256Size || !IsLowerHex(fw.image_digest)) {
    return Fail(ErrorCode::kInvalidInput,
                "firmware image digest must be 64 lower-case hex digits (SHA-256)");
  }
  return ledger_.Write([&](Tx& tx) -> Result<int64_t> {
    const auto sequence = static_cast<int64_t>(fw.sequence);
    SECPROF_ASSIGN_OR_RETURN(
        std::optional<int64_t> dup,
        tx.QueryOptional<int64_t>(
            "SELECT id FROM firmware WHERE vendor = ? AND model = ? AND sequence = ?",
            [](const Row& r) { return r.Int64(0); }, fw.vendor, fw.model, sequence));
    if (dup) {
      return Fail(ErrorCode::kConflict, kExists,
                  "firmware " + fw.vendor + " " + fw.model + " sequence " +
                      std::to_string(fw.sequence) + " exists (id " + Id(*dup) + ")");
    }
    SECPROF_TRY(
        tx.Execute("INSERT INTO firmware(vendor, model, sequence, envelope, image_path, "
                   "image_size, image_digest, added) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
                   fw.vendor, fw.model, sequence, fw.envelope, fw.image_path,
                   static_cast<int64_t>(fw.image_size), fw.image_digest, tx.now()));
    const int64_t id = tx.LastInsertId();
    SECPROF_TRY(tx.Audit(actor, "firmware-added", "",
                         fw.vendor + " " + fw.model + " " + std::to_string(fw.sequence) + " " +
                             fw.image_digest + " (firmware " + Id(id) + ")"));
    return id;
  });
}

Result<Firmware> Rollout::GetFirmware(int64_t id) {
  return ledger_.Read([&](Tx& tx) { return MustLoadFirmware(tx, id); });
}

Result<std::vector<Firmware>> Rollout::ListFirmware() {
  return ledger_.Read([&](Tx& tx) {
    return tx.QueryAll<Firmware>(
        std::string("SELECT ") + kFirmwareColumns + " FROM firmware ORDER BY id", ReadFirmware);
  });
}

Result<int64_t> Rollout::StartCampaign(int64_t firmware_id, const std::vector<std::string>& serials,
                                       int64_t stage_size, double max_failure_rate,
                                       std::string_view actor, int64_t incident_id) {
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  if (stage_size < 1) {
    return Fail(ErrorCode::kInvalidInput,
                "stage size must be at least 1, not " + std::to_string(stage_size));
  }
  if (!(max_failure_rate >= 0.0 && max_failure_rate <= 1.0)) {  // also refuses NaN
    return Fail(ErrorCode::kInvalidInput, "maximum failure rate must be within 0..1");
  }
  if (incident_id < 0) {
    return Fail(ErrorCode::kInvalidInput, "incident id " + Id(incident_id) + " is negative");
  }
  if (serials.empty()) return Fail(ErrorCode::kInvalidInput, "a campaign needs at least one thing");
  if (serials.size() > kMaxTargets) {
    return Fail(ErrorCode::kInvalidInput,
                "a campaign has at most " + std::to_string(kMaxTargets) + " things");
  }
  {
    std::set<std::string_view> seen;
    for (const std::string& s : serials) {
      SECPROF_TRY(CheckSerial(s));
      if (!seen.insert(s).second) {
        return Fail(ErrorCode::kInvalidInput, "thing " + s + " is listed twice");
      }
    }
  }
  return ledger_.Write([&](Tx& tx) -> Result<int64_t> {
    const int64_t now = tx.now();
    SECPROF_ASSIGN_OR_RETURN(Firmware fw, MustLoadFirmware(tx, firmware_id));
    if (incident_id != 0) SECPROF_TRY(MustLoadIncident(tx, incident_id));
    for (const std::string& s : serials) {
      SECPROF_ASSIGN_OR_RETURN(Thing t, MustLoadThing(tx, s));
      if (t.vendor != fw.vendor || t.model != fw.model) {
        return Fail(ErrorCode::kConflict, kModelMismatch,
                    "thing " + s + " is a " + t.vendor + " " + t.model + ", firmware " + Id(fw.id) +
                        " is for " + fw.vendor + " " + fw.model);
      }
    }
    const int64_t first = std::min<int64_t>(stage_size, static_cast<int64_t>(serials.size()));
    const std::optional<int64_t> incident =
        incident_id != 0 ? std::optional<int64_t>(incident_id) : std::nullopt;
    SECPROF_TRY(
        tx.Execute("INSERT INTO campaigns(firmware_id, state, stage_size, "
                   "max_failure_rate, released, incident_id, created, updated) "
                   "VALUES(?, 'running', ?, ?, ?, ?, ?, ?)",
                   fw.id, stage_size, RateToText(max_failure_rate), first, incident, now, now));
    Campaign c;
    c.id = tx.LastInsertId();
    for (size_t i = 0; i < serials.size(); ++i) {
      SECPROF_TRY(
          tx.Execute("INSERT INTO campaign_targets(campaign_id, position, serial, status, "
                     "updated) VALUES(?, ?, ?, 'waiting', ?)",
                     c.id, static_cast<int64_t>(i), serials[i], now));
    }
    if (incident_id != 0) {
      SECPROF_TRY(
          tx.Execute("UPDATE incidents SET campaign_id = ? WHERE id = ?", c.id, incident_id));
    }
    std::string detail = "campaign " + Id(c.id) + " firmware " + Id(fw.id) + " (" + fw.vendor +
                         " " + fw.model + " " + std::to_string(fw.sequence) + "), " +
                         std::to_string(serials.size()) + " things, stage size " +
                         std::to_string(stage_size) + ", max failure rate " +
                         RateToText(max_failure_rate);
    if (incident_id != 0) detail += ", incident " + Id(incident_id);
    SECPROF_TRY(tx.Audit(actor, "campaign-started", "", detail));
    for (int64_t i = 0; i < first; ++i) {
      SECPROF_TRY(OfferTarget(tx, c, fw, serials[static_cast<size_t>(i)], actor));
    }
    return c.id;
  });
}

Result<std::optional<std::pair<Campaign, Firmware>>> Rollout::OfferFor(std::string_view serial) {
  using Offer = std::optional<std::pair<Campaign, Firmware>>;
  SECPROF_TRY(CheckSerial(serial));
  return ledger_.Snapshot([&](Tx& tx) -> Result<Offer> {
    SECPROF_ASSIGN_OR_RETURN(
        std::optional<Campaign> c,
        tx.QueryOptional<Campaign>(
            std::string("SELECT ") + kCampaignColumns +
                " FROM campaign_targets t JOIN campaigns c ON c.id = t.campaign_id "
                "WHERE t.serial = ? AND t.status = 'offered' AND c.state = 'running' "
                "ORDER BY c.id LIMIT 1",
            ReadCampaign, serial));
    if (!c) return Offer();
    SECPROF_ASSIGN_OR_RETURN(Firmware fw, MustLoadFirmware(tx, c->firmware_id));
    return Offer(std::in_place, std::move(*c), std::move(fw));
  });
}

Result<Campaign> Rollout::ReportInstall(int64_t campaign_id, std::string_view serial, bool ok,
                                        std::string_view detail, std::string_view actor,
                                        std::optional<uint64_t> running_sequence) {
  SECPROF_TRY(CheckSerial(serial));
  if (running_sequence) SECPROF_TRY(CheckSequence("firmware sequence", *running_sequence));
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  const std::string report = Sanitize(detail, kMaxDetail);
  return ledger_.Write([&](Tx& tx) -> Result<Campaign> {
    SECPROF_ASSIGN_OR_RETURN(Campaign c, MustLoadCampaign(tx, campaign_id));
    SECPROF_ASSIGN_OR_RETURN(
        std::optional<std::string> status_name,
        tx.QueryOptional<std::string>(
            "SELECT status FROM campaign_targets WHERE campaign_id = ? AND serial = ?",
            [](const Row& r) { return r.Text(0); }, c.id, serial));
    if (!status_name) {
      return Fail(ErrorCode::kNotFound, kUnknownCampaign,
                  "thing " + std::string(serial) + " is not a target of campaign " + Id(c.id));
    }
    SECPROF_ASSIGN_OR_RETURN(TargetStatus status,
                             ParseName(kTargetStatusNames, "target status", *status_name));
    if (status == TargetStatus::kWaiting) {
      return Fail(
          ErrorCode::kConflict, kNotReleased,
          "thing " + std::string(serial) + " was not offered campaign " + Id(c.id) + " yet");
    }
    if (status != TargetStatus::kOffered) {
      return Fail(ErrorCode::kConflict, kAlreadyReported,
                  "thing " + std::string(serial) + " already reported " + TargetStatusName(status) +
                      " in campaign " + Id(c.id));
    }
    SECPROF_ASSIGN_OR_RETURN(Firmware fw, MustLoadFirmware(tx, c.firmware_id));
    const TargetStatus to = ok ? TargetStatus::kInstalled : TargetStatus::kFailed;
    SECPROF_TRY(
        tx.Execute("UPDATE campaign_targets SET status = ?, detail = ?, updated = ? "
                   "WHERE campaign_id = ? AND serial = ?",
                   TargetStatusName(to), report, tx.now(), c.id, serial));
    if (ok)
      SECPROF_TRY(PutFirmwareVersion(tx, serial, fw.sequence));
    else if (running_sequence)
      SECPROF_TRY(PutFirmwareVersion(tx, serial, *running_sequence));
    SECPROF_TRY(tx.Audit(actor, ok ? "fw-installed" : "fw-failed", serial,
                         "campaign " + Id(c.id) + " sequence " + std::to_string(fw.sequence) +
                             ": " + std::string(detail)));  // Tx::Audit sanitises
    SECPROF_TRY(tx.Execute("UPDATE campaigns SET updated = ? WHERE id = ?", tx.now(), c.id));
    if (c.state == CampaignState::kRunning) SECPROF_TRY(AdvanceRollout(tx, c, fw, actor));
    return MustLoadCampaign(tx, c.id);
  });
}

Result<Campaign> Rollout::GetCampaign(int64_t id) {
  return ledger_.Read([&](Tx& tx) { return MustLoadCampaign(tx, id); });
}

Result<std::vector<Campaign>> Rollout::ListCampaigns() {
  return ledger_.Read([&](Tx& tx) {
    return tx.QueryAll<Campaign>(
        std::string("SELECT ") + kCampaignColumns + " FROM campaigns c ORDER BY c.id",
        ReadCampaign);
  });
}

Result<std::vector<CampaignTarget>> Rollout::CampaignTargets(int64_t id) {
  return ledger_.Snapshot([&](Tx& tx) -> Result<std::vector<CampaignTarget>> {
    SECPROF_TRY(MustLoadCampaign(tx, id));
    return tx.QueryAll<CampaignTarget>(
        "SELECT serial, status, detail, updated FROM campaign_targets WHERE campaign_id = ? "
        "ORDER BY position",
        [](const Row& r) -> Result<CampaignTarget> {
          CampaignTarget t;
          t.serial = r.Text(0);
          SECPROF_ASSIGN_OR_RETURN(t.status,
                                   ParseName(kTargetStatusNames, "target status", r.Text(1)));
          t.detail = r.Text(2);
          t.updated = r.Int64(3);
          return t;
        },
        id);
  });
}

Status Rollout::HaltCampaign(int64_t id, std::string_view reason, std::string_view actor) {
  SECPROF_TRY(CheckText("reason", reason, kMaxReason));
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  return ledger_.Write([&](Tx& tx) -> Status {
    SECPROF_ASSIGN_OR_RETURN(Campaign c, MustLoadCampaign(tx, id));
    if (c.state != CampaignState::kRunning) {
      return Fail(ErrorCode::kConflict, kCampaignNotRunning,
                  "campaign " + Id(id) + " is " + CampaignStateName(c.state) + ", not running");
    }
    SECPROF_TRY(SetCampaignState(tx, id, CampaignState::kHalted, reason));
    return tx.Audit(actor, "campaign-halted", "",
                    "campaign " + Id(id) + ": " + std::string(reason));
  });
}

}  // namespace secprof::registry

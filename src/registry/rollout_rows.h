// Internal to secprof::registry: the rows of the rollout aggregate (firmware, campaigns,
// incidents) as rollout.cpp and incidents.cpp read them.
#pragma once

#include <array>
#include <charconv>
#include <string>
#include <string_view>
#include <utility>

#include "internal.h"

namespace secprof::registry::internal {

inline constexpr std::array<std::pair<CampaignState, const char*>, 3> kCampaignStateNames = {{
    {CampaignState::kRunning, "running"},
    {CampaignState::kHalted, "halted"},
    {CampaignState::kCompleted, "completed"},
}};

inline constexpr std::array<std::pair<TargetStatus, const char*>, 4> kTargetStatusNames = {{
    {TargetStatus::kWaiting, "waiting"},
    {TargetStatus::kOffered, "offered"},
    {TargetStatus::kInstalled, "installed"},
    {TargetStatus::kFailed, "failed"},
}};

template <class Enum, size_t N>
Result<Enum> ParseName(const std::array<std::pair<Enum, const char*>, N>& names,
                       std::string_view what, std::string_view name) {
  for (const auto& [value, n] : names) {
    if (name == n) return value;
  }
  return Fail(ErrorCode::kInvalidInput, "registry row has an unknown " + std::string(what) + " \"" +
                                            std::string(name) + "\"");
}

inline Result<double> RateFromText(std::string_view text) {
  double rate = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), rate);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Fail(ErrorCode::kInvalidInput,
                "registry row has a malformed failure rate \"" + std::string(text) + "\"");
  }
  return rate;
}

inline std::string Id(int64_t id) { return std::to_string(id); }

inline constexpr char kFirmwareColumns[] =
    "id, vendor, model, sequence, envelope, image_path, image_size, image_digest, added";

inline Firmware ReadFirmware(const Row& row) {
  Firmware f;
  f.id = row.Int64(0);
  f.vendor = row.Text(1);
  f.model = row.Text(2);
  f.sequence = static_cast<uint64_t>(row.Int64(3));
  f.envelope = row.Blob(4);
  f.image_path = row.Text(5);
  f.image_size = static_cast<uint64_t>(row.Int64(6));
  f.image_digest = row.Text(7);
  f.added = row.Int64(8);
  return f;
}

inline Result<Firmware> MustLoadFirmware(Tx& tx, int64_t id) {
  SECPROF_ASSIGN_OR_RETURN(std::optional<Firmware> f,
                           tx.QueryOptional<Firmware>(std::string("SELECT ") + kFirmwareColumns +
                                                          " FROM firmware WHERE id = ?",
                                                      ReadFirmware, id));
  if (!f) return Fail(ErrorCode::kNotFound, kUnknownFirmware, "no firmware with id " + Id(id));
  return std::move(*f);
}

inline constexpr char kCampaignColumns[] =
    "c.id, c.firmware_id, c.state, c.stage_size, c.max_failure_rate, c.released, c.reason, "
    "c.incident_id, c.created, c.updated";

inline Result<Campaign> ReadCampaign(const Row& row) {
  Campaign c;
  c.id = row.Int64(0);
  c.firmware_id = row.Int64(1);
  SECPROF_ASSIGN_OR_RETURN(c.state, ParseName(kCampaignStateNames, "campaign state", row.Text(2)));
  c.stage_size = row.Int64(3);
  SECPROF_ASSIGN_OR_RETURN(c.max_failure_rate, RateFromText(row.Text(4)));
  c.released = row.Int64(5);
  c.reason = row.Text(6);
  c.incident_id = row.OptionalInt64(7).value_or(0);
  c.created = row.Int64(8);
  c.updated = row.Int64(9);
  return c;
}

inline Result<Campaign> MustLoadCampaign(Tx& tx, int64_t id) {
  SECPROF_ASSIGN_OR_RETURN(std::optional<Campaign> c,
                           tx.QueryOptional<Campaign>(std::string("SELECT ") + kCampaignColumns +
                                                          " FROM campaigns c WHERE c.id = ?",
                                                      ReadCampaign, id));
  if (!c) return Fail(ErrorCode::kNotFound, kUnknownCampaign, "no campaign with id " + Id(id));
  return std::move(*c);
}

inline constexpr char kIncidentColumns[] =
    "id, vendor, model, min_sequence, max_sequence, severity, description, created, campaign_id";

inline Incident ReadIncident(const Row& row) {
  Incident in;
  in.id = row.Int64(0);
  in.vendor = row.Text(1);
  in.model = row.Text(2);
  in.min_sequence = static_cast<uint64_t>(row.Int64(3));
  in.max_sequence = static_cast<uint64_t>(row.Int64(4));
  in.severity = row.Text(5);
  in.description = row.Text(6);
  in.created = row.Int64(7);
  in.campaign_id = row.OptionalInt64(8).value_or(0);
  return in;
}

inline Result<Incident> MustLoadIncident(Tx& tx, int64_t id) {
  SECPROF_ASSIGN_OR_RETURN(std::optional<Incident> in,
                           tx.QueryOptional<Incident>(std::string("SELECT ") + kIncidentColumns +
                                                          " FROM incidents WHERE id = ?",
                                                      ReadIncident, id));
  if (!in) return Fail(ErrorCode::kNotFound, kUnknownIncident, "no incident with id " + Id(id));
  return std::move(*in);
}

}  // namespace secprof::registry::internal

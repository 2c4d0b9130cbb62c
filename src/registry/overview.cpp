// secprof::registry — the owner's read-only views (include/secprof/registry/overview.h).
#include "secprof/registry/overview.h"

#include "ledger.h"

namespace secprof::registry {

Result<std::optional<int64_t>> LastSeen(Registry& reg, std::string_view serial) {
  SECPROF_TRY(reg.Get(serial));  // kInvalidInput for a malformed serial, kNotFound for an unknown
  // Every row the thing's own requests leave, whichever table holds it.
  SECPROF_ASSIGN_OR_RETURN(
      std::optional<std::optional<int64_t>> row, reg.ledger_->Read([&](internal::Tx& tx) {
        return tx.QueryOptional<std::optional<int64_t>>(
            "SELECT MAX(t) FROM ("
            " SELECT updated AS t FROM thing_firmware WHERE serial = ?1"
            " UNION ALL SELECT updated FROM reading_counters WHERE serial = ?1"
            " UNION ALL SELECT updated FROM campaign_targets"
            "  WHERE serial = ?1 AND status IN ('installed', 'failed')"
            " UNION ALL SELECT MAX(time) FROM audit WHERE serial = ?1 AND (actor = ?1 OR"
            "  (actor = 'kdc' AND action IN ('commissioned', 'join-repeat')))) AS seen",
            [](const internal::Row& r) { return r.OptionalInt64(0); }, serial);
      }));
  return row ? *row : std::optional<int64_t>();
}

Result<std::vector<ThingOverview>> ListOverview(Registry& reg, std::optional<State> filter) {
  SECPROF_ASSIGN_OR_RETURN(std::vector<Thing> things, reg.List(filter));
  std::vector<ThingOverview> out;
  out.reserve(things.size());
  for (auto& t : things) {
    ThingOverview o;
    auto code = reg.HasSetupCode(t);
    o.setup_code = code && *code;
    SECPROF_ASSIGN_OR_RETURN(o.firmware_sequence, reg.FirmwareVersion(t.serial));
    SECPROF_ASSIGN_OR_RETURN(o.last_seen, LastSeen(reg, t.serial));
    SECPROF_ASSIGN_OR_RETURN(o.groups, reg.GroupsOf(t.serial));
    o.thing = std::move(t);
    out.push_back(std::move(o));
  }
  return out;
}

namespace {

Result<CampaignOverview> Overview(Registry& reg, Campaign c) {
  CampaignOverview o;
  SECPROF_ASSIGN_OR_RETURN(o.firmware, reg.GetFirmware(c.firmware_id));
  o.firmware.envelope.clear();  // not part of a status view
  for (TargetStatus s : {TargetStatus::kWaiting, TargetStatus::kOffered, TargetStatus::kInstalled,
                         TargetStatus::kFailed})
    o.counts[TargetStatusName(s)] = 0;
  SECPROF_ASSIGN_OR_RETURN(std::vector<CampaignTarget> targets, reg.CampaignTargets(c.id));
  for (auto& t : targets) {
    TargetOverview v;
    SECPROF_ASSIGN_OR_RETURN(Thing thing, reg.Get(t.serial));
    v.thing_state = thing.state;
    SECPROF_ASSIGN_OR_RETURN(v.running_sequence, reg.FirmwareVersion(t.serial));
    if (t.status == TargetStatus::kInstalled || t.status == TargetStatus::kFailed)
      v.last_attempt = t.updated;
    v.serial = std::move(t.serial);
    v.status = t.status;
    v.updated = t.updated;
    v.reason = std::move(t.detail);
    ++o.counts[TargetStatusName(v.status)];
    o.targets.push_back(std::move(v));
  }
  o.campaign = std::move(c);
  return o;
}

}  // namespace

Result<CampaignOverview> GetCampaignOverview(Registry& reg, int64_t campaign_id) {
  SECPROF_ASSIGN_OR_RETURN(Campaign c, reg.GetCampaign(campaign_id));
  return Overview(reg, std::move(c));
}

Result<std::vector<CampaignOverview>> ListCampaignOverviews(Registry& reg) {
  SECPROF_ASSIGN_OR_RETURN(std::vector<Campaign> list, reg.ListCampaigns());
  std::vector<CampaignOverview> out;
  for (auto& c : list) {
    SECPROF_ASSIGN_OR_RETURN(CampaignOverview o, Overview(reg, std::move(c)));
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace secprof::registry

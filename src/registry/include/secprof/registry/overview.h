// secprof/registry/overview.h — read-only views that join the registry's aggregates for the
// owner's tools (`secprof kdc list`, `secprof kdc campaign status`; issue 13 item 3): per thing,
// the firmware it runs, when it was last seen and its groups; per campaign target, the thing's
// state, the sequences and the last attempt. Each is a sequence of Registry queries (no write).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "secprof/core/result.h"
#include "secprof/registry/registry.h"

namespace secprof::registry {

// When the KDC last heard from the thing (unix s): the newest of its firmware-version report
// (fw/offer), its accepted reading, its campaign install report, an audit entry it caused itself
// (actor = its serial: a state it reported) and its joins (audit "commissioned", "join-repeat" by
// the KDC). The owner's actions on the thing do not count. nullopt when it never was in contact;
// kNotFound for an unknown thing, kInvalidInput for a malformed serial. One read-only statement
// through Registry::database() (a consistent snapshot; nothing written).
Result<std::optional<int64_t>> LastSeen(Registry& reg, std::string_view serial);

struct ThingOverview {
  Thing thing;
  bool setup_code = false;                    // HasSetupCode (a registry error reads as false)
  std::optional<uint64_t> firmware_sequence;  // FirmwareVersion: the sequence it reported running
  std::optional<int64_t> last_seen;           // LastSeen (unix s)
  std::vector<std::string> groups;            // GroupsOf, sorted
};

// Every thing (List(filter), sorted by serial) with its overview.
Result<std::vector<ThingOverview>> ListOverview(Registry& reg,
                                                std::optional<State> filter = std::nullopt);

struct TargetOverview {
  std::string serial;
  TargetStatus status = TargetStatus::kWaiting;  // in this campaign
  State thing_state = State::kAllowed;           // the thing's lifecycle state now
  std::optional<uint64_t> running_sequence;      // FirmwareVersion now
  // When the thing reported its install (installed or failed); nullopt while waiting or offered.
  std::optional<int64_t> last_attempt;
  int64_t updated = 0;  // when the target's status last changed (released, offered, reported)
  std::string reason;   // the thing's report ("" until it reported)
};

struct CampaignOverview {
  Campaign campaign;
  Firmware firmware;                      // the release being rolled out (its sequence)
  std::map<std::string, int64_t> counts;  // TargetStatusName -> targets, every status present
  std::vector<TargetOverview> targets;    // in the order given to StartCampaign
};

// One campaign (kNotFound for an unknown id) or all of them (by id).
Result<CampaignOverview> GetCampaignOverview(Registry& reg, int64_t campaign_id);
Result<std::vector<CampaignOverview>> ListCampaignOverviews(Registry& reg);

}  // namespace secprof::registry

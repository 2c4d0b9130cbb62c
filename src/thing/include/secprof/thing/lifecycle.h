// secprof/thing/lifecycle.h — the thing's lifecycle transition table, as code, in one place
// (docs/DOMAIN.md "Thing agent" / "Lifecycle"; draft-garcia-security-mitigations-and-profiles
// §3.1 "The Thing Lifecycle", the phases of the earlier revision's figure 1).
//
// Every Agent method that the lifecycle constrains names its Operation; the agent checks the row
// before it does anything (CheckLifecycle) and, when the protocol step succeeded, moves to the
// row's resulting state (LifecycleResult) in one atomic write of state.json. A refusal is
// kConflict with reason kWrongState and changes nothing.
//
//   operation          allowed in                               -> state after success
//   Install            manufactured, re-owned                   -> installed
//   Join               installed                                -> commissioned
//   GoOperational      commissioned, maintenance                -> operational
//   EnterMaintenance   operational                              -> maintenance
//   SendReading        operational, commissioned                (unchanged)
//   RequestPairKey     operational, commissioned, maintenance   (unchanged)
//   FetchGroupKey      operational, commissioned, maintenance   (unchanged)
//   CheckForUpdate     operational                              (unchanged: through maintenance
//                                                                and back, by EnterMaintenance
//                                                                and GoOperational)
//   Decommission       commissioned, operational, maintenance   -> decommissioned
//   FactoryReset       decommissioned (any state when forced)   -> re-owned
//   BecomeMother       manufactured, re-owned                   -> commissioned   (SecProf_1)
//   AcceptImprint      manufactured, installed, re-owned        -> commissioned   (SecProf_1;
//                      an imprinted thing — commissioned, operational, maintenance — refuses with
//                      kAlreadyImprinted before the table is consulted)
//
// How the thing's states relate to the registry's (secprof/registry/registry.h `State`, the KDC's
// record of the same thing; SecProf_1 has no KDC and no registry):
//   thing                    registry
//   manufactured, installed  no row, or `allowed` once the owner allowed the serial
//   commissioned             `commissioned` (the KDC records it when the join succeeds)
//   operational              `operational`  (told to the KDC: POST lc/state before the move)
//   maintenance              `maintenance`  (likewise)
//   decommissioned           `decommissioned` (POST lc/decommission before the wipe; with
//                            Decommission(kdc_reachable=false) the registry keeps its state until
//                            the owner acts)
//   re-owned                 the old domain's row stays as it was; a new owner's registry:
//                            no row, or `allowed`
// The registry's `revoked`, `evicted` and `replaced` are the owner's decisions: the thing does not
// learn them as a state; its next request to the KDC is refused (4.01/4.03) and it stays where it
// is until it is decommissioned offline or factory reset.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include "secprof/core/result.h"
#include "secprof/thing/agent.h"

namespace secprof::thing {

enum class Operation {
  kInstall,
  kJoin,
  kGoOperational,
  kEnterMaintenance,
  kSendReading,
  kRequestPairKey,
  kFetchGroupKey,
  kCheckForUpdate,
  kDecommission,
  kFactoryReset,
  kBecomeMother,
  kAcceptImprint,
};

struct LifecycleRule {
  Operation op;
  // The operation in refusals: "<action> needs state <allowed...>; <serial> is <state>".
  const char* action;
  // The states it is allowed in, in the order the refusal names them (allowed[0..count)).
  std::array<State, 3> allowed;
  size_t count;
  // The state after success; nullopt: the operation does not move the lifecycle.
  std::optional<State> to;
  // With `force` the operation is allowed in every state (FactoryReset only).
  bool forceable = false;

  std::span<const State> Allowed() const { return {allowed.data(), count}; }
  bool Allows(State s) const;
};

// The whole table, one row per Operation, in Operation order.
std::span<const LifecycleRule> LifecycleTable();
const LifecycleRule& RuleFor(Operation op);

// Ok when `op` may run in `from` (always, for a forceable row with `force`); otherwise kConflict,
// reason kWrongState, naming `serial`, the allowed states and `from`.
Status CheckLifecycle(Operation op, State from, std::string_view serial, bool force = false);

// The state after `op` succeeded from `from`: the row's `to`, or `from` when it has none.
State LifecycleResult(Operation op, State from);

}  // namespace secprof::thing

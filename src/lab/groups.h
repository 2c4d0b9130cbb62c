// Internal to secprof::lab: the scenario groups, one function per folder, each returning its
// scenarios in a stable order. A new scenario is a file in its group's folder plus one line in
// the group's list (<group>/group.cpp).
#pragma once

#include <memory>
#include <vector>

#include "secprof/lab/scenario.h"

namespace secprof::lab::internal {

using Scenarios = std::vector<std::unique_ptr<Scenario>>;

// wire/: what crosses the network - eavesdropping, man in the middle, rogue KDCs, replay and the
// CoAP attacks that survive DTLS, passive identification and tracking (T3, T4, T8).
void AddWireScenarios(Scenarios& out);
// identity/: who a thing is - clones, substitutes, readers of stored files, privilege (T1, T2,
// T6, T11).
void AddIdentityScenarios(Scenarios& out);
// maintenance/: firmware and availability - forged/rolled-back/mix-and-match firmware, freeze,
// vulnerable firmware, floods, and the routing attacks not testable yet (T5, T7, T9, T10).
void AddMaintenanceScenarios(Scenarios& out);

}  // namespace secprof::lab::internal

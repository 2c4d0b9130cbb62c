// The wire/ scenarios, in order (groups.h).
#include "groups.h"

namespace secprof::lab::internal {

std::unique_ptr<Scenario> MakeEavesdropJoin();
std::unique_ptr<Scenario> MakeEavesdrop();

void AddWireScenarios(Scenarios& out) {
  out.push_back(MakeEavesdropJoin());
  out.push_back(MakeEavesdrop());
}

}  // namespace secprof::lab::internal

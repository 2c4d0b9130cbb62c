// The identity/ scenarios, in order (groups.h).
#include "groups.h"

namespace secprof::lab::internal {

std::unique_ptr<Scenario> MakeSubstituteUnadmitted();

void AddIdentityScenarios(Scenarios& out) { out.push_back(MakeSubstituteUnadmitted()); }

}  // namespace secprof::lab::internal

// The identity/ scenarios, in order (groups.h).
#include "groups.h"

namespace secprof::lab::internal {

std::unique_ptr<Scenario> MakeSubstituteUnadmitted();
std::unique_ptr<Scenario> MakeSubstituteForeignCa();
std::unique_ptr<Scenario> MakeClone();
std::unique_ptr<Scenario> MakeExtract();

void AddIdentityScenarios(Scenarios& out) {
  out.push_back(MakeSubstituteUnadmitted());
  out.push_back(MakeSubstituteForeignCa());
  out.push_back(MakeClone());
  out.push_back(MakeExtract());
}

}  // namespace secprof::lab::internal

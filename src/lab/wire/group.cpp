// The wire/ scenarios, in order (groups.h).
#include "groups.h"

namespace secprof::lab::internal {

std::unique_ptr<Scenario> MakeEavesdropJoin();
std::unique_ptr<Scenario> MakeEavesdrop();
std::unique_ptr<Scenario> MakeMitm();
std::unique_ptr<Scenario> MakeReplay();

void AddWireScenarios(Scenarios& out) {
  out.push_back(MakeEavesdropJoin());
  out.push_back(MakeEavesdrop());
  out.push_back(MakeMitm());
  out.push_back(MakeReplay());
}

}  // namespace secprof::lab::internal

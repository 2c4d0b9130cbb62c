// The wire/ scenarios, in order (groups.h).
#include "groups.h"

namespace secprof::lab::internal {

std::unique_ptr<Scenario> MakeEavesdropJoin();
std::unique_ptr<Scenario> MakeEavesdrop();
std::unique_ptr<Scenario> MakeMitm();
std::unique_ptr<Scenario> MakeReplay();
std::unique_ptr<Scenario> MakeRogueKdc();
std::unique_ptr<Scenario> MakeRogueKdcOtherOwner();
std::unique_ptr<Scenario> MakeRogueKdcMember();

void AddWireScenarios(Scenarios& out) {
  out.push_back(MakeEavesdropJoin());
  out.push_back(MakeEavesdrop());
  out.push_back(MakeMitm());
  out.push_back(MakeReplay());
  out.push_back(MakeRogueKdc());
  out.push_back(MakeRogueKdcOtherOwner());
  out.push_back(MakeRogueKdcMember());
}

}  // namespace secprof::lab::internal

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
std::unique_ptr<Scenario> MakeRequestDelay();
std::unique_ptr<Scenario> MakeResponseMismatch();
std::unique_ptr<Scenario> MakeSelectiveBlock();
std::unique_ptr<Scenario> MakeTrackIdentifiers();
std::unique_ptr<Scenario> MakeCuriousProxy();

void AddWireScenarios(Scenarios& out) {
  out.push_back(MakeEavesdropJoin());
  out.push_back(MakeEavesdrop());
  out.push_back(MakeMitm());
  out.push_back(MakeReplay());
  out.push_back(MakeRogueKdc());
  out.push_back(MakeRogueKdcOtherOwner());
  out.push_back(MakeRogueKdcMember());
  out.push_back(MakeRequestDelay());
  out.push_back(MakeResponseMismatch());
  out.push_back(MakeSelectiveBlock());
  out.push_back(MakeTrackIdentifiers());
  out.push_back(MakeCuriousProxy());
}

}  // namespace secprof::lab::internal

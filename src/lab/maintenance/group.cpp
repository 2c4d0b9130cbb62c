// The maintenance/ scenarios, in order (groups.h).
#include "groups.h"

namespace secprof::lab::internal {

std::unique_ptr<Scenario> MakeFwForged();
std::unique_ptr<Scenario> MakeFwRollback();
std::unique_ptr<Scenario> MakeFwMixAndMatch();
std::unique_ptr<Scenario> MakeFwEndlessData();
std::unique_ptr<Scenario> MakeFwPartial();
std::unique_ptr<Scenario> MakeFwFreeze();
std::unique_ptr<Scenario> MakeFwSlowRetrieval();
std::unique_ptr<Scenario> MakeBlockwiseRearrange();
std::unique_ptr<Scenario> MakeFlood();
std::unique_ptr<Scenario> MakeVulnerableFw();
std::unique_ptr<Scenario> MakeRoutingSinkhole();
std::unique_ptr<Scenario> MakeRoutingSelectiveForwarding();
std::unique_ptr<Scenario> MakeRoutingWormhole();
std::unique_ptr<Scenario> MakeRoutingSybil();

void AddMaintenanceScenarios(Scenarios& out) {
  out.push_back(MakeFwForged());
  out.push_back(MakeFwRollback());
  out.push_back(MakeFwMixAndMatch());
  out.push_back(MakeFwEndlessData());
  out.push_back(MakeFwPartial());
  out.push_back(MakeFwFreeze());
  out.push_back(MakeFwSlowRetrieval());
  out.push_back(MakeBlockwiseRearrange());
  out.push_back(MakeFlood());
  out.push_back(MakeVulnerableFw());
  out.push_back(MakeRoutingSinkhole());
  out.push_back(MakeRoutingSelectiveForwarding());
  out.push_back(MakeRoutingWormhole());
  out.push_back(MakeRoutingSybil());
}

}  // namespace secprof::lab::internal

// The identity/ scenarios, in order (groups.h).
#include "groups.h"

namespace secprof::lab::internal {

std::unique_ptr<Scenario> MakeSubstituteUnadmitted();
std::unique_ptr<Scenario> MakeSubstituteForeignCa();
std::unique_ptr<Scenario> MakeVoucherExpired();
std::unique_ptr<Scenario> MakeVoucherOtherDomain();
std::unique_ptr<Scenario> MakeVoucherReplayed();
std::unique_ptr<Scenario> MakeClone();
std::unique_ptr<Scenario> MakeRevoked();
std::unique_ptr<Scenario> MakeExtract();
std::unique_ptr<Scenario> MakeExtractKdc();
std::unique_ptr<Scenario> MakePrivilegeOwnerOps();
std::unique_ptr<Scenario> MakePrivilegeOtherKeys();
std::unique_ptr<Scenario> MakePrivilegeEvicted();

void AddIdentityScenarios(Scenarios& out) {
  out.push_back(MakeSubstituteUnadmitted());
  out.push_back(MakeSubstituteForeignCa());
  out.push_back(MakeVoucherExpired());
  out.push_back(MakeVoucherOtherDomain());
  out.push_back(MakeVoucherReplayed());
  out.push_back(MakeClone());
  out.push_back(MakeRevoked());
  out.push_back(MakeExtract());
  out.push_back(MakeExtractKdc());
  out.push_back(MakePrivilegeOwnerOps());
  out.push_back(MakePrivilegeOtherKeys());
  out.push_back(MakePrivilegeEvicted());
}

}  // namespace secprof::lab::internal

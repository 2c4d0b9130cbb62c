// The maintenance/ scenarios, in order (groups.h).
#include "groups.h"

namespace secprof::lab::internal {

void AddMaintenanceScenarios(Scenarios& out) {
  (void)out;  // scenarios are added here, one line each
}

}  // namespace secprof::lab::internal

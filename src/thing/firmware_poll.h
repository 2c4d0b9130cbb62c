// Internal to secprof::thing: thing-initiated update polling (ThingServerOptions::update_poll),
// driven by ThingServer::Serve on the server's own thread. docs/DOMAIN.md "Maintenance".
#pragma once

#include <chrono>
#include <mutex>

#include "secprof/thing/agent.h"

namespace secprof::thing::internal {

// Asks for an update every `every` while the thing is operational (SecProf_2-4: the KDC;
// SecProf_1: the vendor's update service, firmware_vendor.h), and installs what is offered
// through Agent::CheckForUpdate (fetch bounded by the verified manifest, the
// crash-safe A/B install of update::SlotStore, the report to the KDC). Unattended: an update
// reaches the thing within `every` (plus the update's own time) of its campaign's release,
// without anyone running a command on it (lab scenario lab.vulnerable_fw, threat T10).
//
// Threading: MaybeCheck is called by the thread that owns the agent (the server's I/O thread
// while it serves); stats() from any thread.
class UpdatePoller {
 public:
  UpdatePoller(Agent& agent, std::chrono::milliseconds every) : agent_(agent), every_(every) {}

  // Polling is on: a positive interval and a profile with a KDC (SecProf_2-4) or, SecProf_1, a
  // configured vendor update service.
  bool enabled() const;
  // Checks when due (the first check one interval after the first call). Not in state operational
  // (joining, decommissioned, ...): skipped, not counted. A failed check (KDC unreachable, a
  // refused update) is counted and retried at the next interval; the running image is never
  // affected.
  void MaybeCheck();
  UpdatePollStats stats() const;

 private:
  Agent& agent_;
  std::chrono::milliseconds every_;
  bool started_ = false;
  std::chrono::steady_clock::time_point next_{};
  mutable std::mutex mu_;
  UpdatePollStats stats_;
};

}  // namespace secprof::thing::internal

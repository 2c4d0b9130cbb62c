// Thing-initiated update polling (firmware_poll.h; docs/DOMAIN.md "Maintenance"; draft-garcia-
// security-mitigations-and-profiles §3.1, the maintenance phase, and §6 process 4, the deployment
// of patches; catalog control thing.update_check).
#include "firmware_poll.h"

namespace secprof::thing::internal {

bool UpdatePoller::enabled() const {
  return every_.count() > 0 && (agent_.policy().kdc || !agent_.state().update_host.empty());
}

void UpdatePoller::MaybeCheck() {
  if (!enabled() || agent_.state().state != State::kOperational) return;
  const auto now = std::chrono::steady_clock::now();
  if (!started_) {  // the first check one interval after serving started
    started_ = true;
    next_ = now + every_;
  }
  if (now < next_) return;
  next_ = now + every_;
  auto out = agent_.CheckForUpdate();
  // A check that ended outside state operational (an interrupted update) is put right at once:
  // the agent's own GoOperational, as CheckForUpdate would have done.
  if (agent_.state().state == State::kMaintenance) (void)agent_.GoOperational();
  std::lock_guard<std::mutex> l(mu_);
  ++stats_.checks;
  if (!out) {
    ++stats_.failed;
    stats_.last = out.error().message();
    return;
  }
  if (out->offered) ++stats_.offered;
  if (out->installed) ++stats_.installed;
  stats_.last = out->offered          ? out->detail
                : !out->alert.empty() ? "nothing offered; alert " + out->alert
                                      : "nothing offered";
  stats_.running = agent_.RunningFirmware();
}

UpdatePollStats UpdatePoller::stats() const {
  std::lock_guard<std::mutex> l(mu_);
  return stats_;
}

}  // namespace secprof::thing::internal

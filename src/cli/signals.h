// src/cli/signals.h — SIGINT/SIGTERM for the long-running commands (`secprof kdc`,
// `secprof thing serve`): blocked in the calling thread and the threads it starts, then taken
// synchronously with sigtimedwait, so no handler runs inside libcoap or SQLite.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <ctime>

namespace secprof::cli {

// Blocks SIGINT and SIGTERM in this thread (and the threads it starts afterwards); restores the
// previous mask when it dies.
class SignalBlock {
 public:
  SignalBlock() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    ok_ = pthread_sigmask(SIG_BLOCK, &set_, &old_) == 0;
  }
  ~SignalBlock() {
    if (ok_) pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SignalBlock(const SignalBlock&) = delete;
  SignalBlock& operator=(const SignalBlock&) = delete;
  bool ok() const { return ok_; }
  // The signal taken within `timeout`, or 0.
  int Wait(std::chrono::milliseconds timeout) const {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    ts.tv_nsec = static_cast<long>((timeout.count() % 1000) * 1000000);
    int s = sigtimedwait(&set_, nullptr, &ts);
    return s > 0 ? s : 0;
  }

 private:
  sigset_t set_{};
  sigset_t old_{};
  bool ok_ = false;
};

}  // namespace secprof::cli

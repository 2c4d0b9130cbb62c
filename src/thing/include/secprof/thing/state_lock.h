// secprof/thing/state_lock.h — one process at a time works on a thing's state directory: the agent
// is single-threaded and its firmware slot store admits one installer (docs/DOMAIN.md "The
// thing"). Every `secprof thing` step holds the lock for its duration, `serve` for as long as it
// serves.
//
// The lock is an exclusive advisory flock(2) on <state_dir>/.lock (posix::FileLock), released by
// the kernel if the process dies.
#pragma once

#include <string>

#include "secprof/core/posix.h"
#include "secprof/core/result.h"

namespace secprof::thing {

class StateLock {
 public:
  // Errors: kNotFound (`dir` is not a directory: no `secprof thing init` yet), kConflict (another
  // process holds it), kIo (the lock file cannot be opened).
  static Result<StateLock> Take(const std::string& dir);

  StateLock(StateLock&&) noexcept = default;
  StateLock& operator=(StateLock&&) = delete;
  StateLock(const StateLock&) = delete;

 private:
  explicit StateLock(posix::FileLock lock) : lock_(std::move(lock)) {}
  posix::FileLock lock_;
};

}  // namespace secprof::thing

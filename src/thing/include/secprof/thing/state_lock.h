// secprof/thing/state_lock.h — one process at a time works on a thing's state directory: the agent
// is single-threaded and its firmware slot store admits one installer (docs/DOMAIN.md "The
// thing"). Every `secprof thing` step holds the lock for its duration, `serve` for as long as it
// serves.
//
// The lock is an exclusive advisory flock(2) on <state_dir>/.lock, released by the kernel if the
// process dies. (kdc/registry_lock.cpp is the KDC's equivalent on <db>.lock; both move onto a core
// FileLock when one exists.)
#pragma once

#include <string>

#include "secprof/core/result.h"

namespace secprof::thing {

class StateLock {
 public:
  // Errors: kNotFound (`dir` is not a directory: no `secprof thing init` yet), kConflict (another
  // process holds it), kIo (the lock file cannot be opened).
  static Result<StateLock> Take(const std::string& dir);

  StateLock(StateLock&& o) noexcept;
  StateLock& operator=(StateLock&&) = delete;
  StateLock(const StateLock&) = delete;
  ~StateLock();

 private:
  explicit StateLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace secprof::thing

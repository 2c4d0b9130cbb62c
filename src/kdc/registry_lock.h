// One KDC per registry (issue 9, T9; docs/DOMAIN.md "Running it"): an exclusive advisory lock
// (flock(2)) on "<db_path>.lock", held for the Kdc's lifetime and released when the file
// descriptor closes, also when the process dies. The file holds the holder's pid for the message.
// Owner tools (OwnerTools, `secprof kdc list/allow/...`) do not take it: they share the registry
// with a running KDC through SQLite's own locking. Internal to secprof::kdc.
#pragma once

#include <string>
#include <utility>

#include "secprof/core/posix.h"
#include "secprof/core/result.h"

namespace secprof::kdc {

class RegistryLock {
 public:
  // kConflict "registry <db> is in use by another KDC (pid N)" when another process (or another
  // Kdc of this process) holds it; kIo when the lock file cannot be created.
  static Result<RegistryLock> Acquire(const std::string& db_path);

 private:
  explicit RegistryLock(posix::FileLock lock) : lock_(std::move(lock)) {}
  posix::FileLock lock_;  // released when it closes, also when the process dies
};

}  // namespace secprof::kdc

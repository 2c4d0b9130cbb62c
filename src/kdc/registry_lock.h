// One KDC per registry (issue 9, T9; docs/DOMAIN.md "Running it"): an exclusive advisory lock
// (flock(2)) on "<db_path>.lock", held for the Kdc's lifetime and released when the file
// descriptor closes, also when the process dies. The file holds the holder's pid for the message.
// Owner tools (OwnerTools, `secprof kdc list/allow/...`) do not take it: they share the registry
// with a running KDC through SQLite's own locking. Internal to secprof::kdc.
#pragma once

#include <string>

#include "secprof/core/result.h"

namespace secprof::kdc {

class RegistryLock {
 public:
  // kConflict "registry <db> is in use by another KDC (pid N)" when another process (or another
  // Kdc of this process) holds it; kIo when the lock file cannot be created.
  static Result<RegistryLock> Acquire(const std::string& db_path);
  RegistryLock(RegistryLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  RegistryLock& operator=(RegistryLock&& o) noexcept;
  RegistryLock(const RegistryLock&) = delete;
  RegistryLock& operator=(const RegistryLock&) = delete;
  ~RegistryLock();

 private:
  explicit RegistryLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace secprof::kdc

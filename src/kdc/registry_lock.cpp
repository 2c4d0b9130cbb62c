// The KDC's registry lock (registry_lock.h) on core/posix.h's FileLock.
#include "registry_lock.h"

#include <fcntl.h>
#include <unistd.h>

#include "secprof/kdc/reasons.h"

namespace secprof::kdc {

Result<RegistryLock> RegistryLock::Acquire(const std::string& db_path) {
  const std::string path = db_path + ".lock";
  // flock locks belong to the open file description: a second open() in this process conflicts
  // too, so two Kdc objects on one registry are refused alike.
  auto lock = posix::FileLock::TryAcquire(path, 0644);
  if (!lock) {
    const Error& e = lock.error();
    if (e.code() != ErrorCode::kConflict)
      return Fail(ErrorCode::kIo, "cannot take the registry lock: " + e.message());
    // The holder's pid, for the message (best effort: the file may be empty or being written).
    posix::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    char buf[32] = {};
    const ssize_t n = fd ? ::pread(fd.get(), buf, sizeof buf - 1, 0) : -1;
    std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return Fail(ErrorCode::kConflict, kRegistryInUse,
                "registry " + db_path + " is in use by another KDC" +
                    (pid.empty() ? "" : " (pid " + pid + ")") +
                    "; owner commands work alongside it");
  }
  // Ours now: record the pid (best effort, the lock does not depend on it).
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock->fd(), 0) == 0) (void)!::pwrite(lock->fd(), pid.data(), pid.size(), 0);
  return RegistryLock(std::move(*lock));
}

}  // namespace secprof::kdc

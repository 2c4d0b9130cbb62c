#include "registry_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace secprof::kdc {

Result<RegistryLock> RegistryLock::Acquire(const std::string& db_path) {
  const std::string path = db_path + ".lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return Fail(ErrorCode::kIo,
                "cannot open the registry lock " + path + ": " + std::strerror(errno));
  RegistryLock lock(fd);
  // flock locks belong to the open file description: a second open() in this process conflicts
  // too, so two Kdc objects on one registry are refused alike.
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK)
      return Fail(ErrorCode::kIo, "cannot lock " + path + ": " + std::strerror(errno));
    char buf[32] = {};
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return Fail(ErrorCode::kConflict, "registry " + db_path + " is in use by another KDC" +
                                          (pid.empty() ? "" : " (pid " + pid + ")") +
                                          "; owner commands work alongside it");
  }
  // Ours now: record the pid (best effort, the lock does not depend on it).
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, pid.data(), pid.size(), 0);
  return lock;
}

RegistryLock& RegistryLock::operator=(RegistryLock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

RegistryLock::~RegistryLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace secprof::kdc

// The POSIX primitives (posix.h).
#include "secprof/core/posix.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace secprof::posix {

Error ErrnoError(std::string_view op, const std::string& path, int err) {
  return Error(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
               std::string(op) + " " + path + ": " + std::strerror(err));
}

Error ErrnoError(std::string_view op, const std::string& path) {
  const int err = errno;
  return ErrnoError(op, path, err);
}

void UniqueFd::Reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool UniqueFd::Close() {
  const int fd = std::exchange(fd_, -1);
  return fd < 0 || ::close(fd) == 0;
}

Result<FileLock> FileLock::TryAcquire(const std::string& path, unsigned mode) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, mode));
  if (!fd) return Fail(ErrnoError("cannot open", path));
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK)
      return Fail(ErrorCode::kConflict, path + " is locked by another holder");
    return Fail(ErrnoError("cannot lock", path));
  }
  return FileLock(std::move(fd), path);
}

Status FsyncDir(const std::string& dir) {
  UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d) return Fail(ErrnoError("cannot open directory", dir));
  if (::fsync(d.get()) != 0) return Fail(ErrnoError("cannot fsync directory", dir));
  return Ok();
}

}  // namespace secprof::posix

// thing::StateLock (secprof/thing/state_lock.h).
#include "secprof/thing/state_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

namespace secprof::thing {

Result<StateLock> StateLock::Take(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return Fail(ErrorCode::kNotFound,
                dir + " is not a thing's state directory (run `secprof thing init` first)");
  std::string path = dir + "/.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Fail(ErrorCode::kIo, "cannot open " + path + ": " + std::strerror(errno));
  StateLock l(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0)
    return Fail(ErrorCode::kConflict,
                dir + " is in use by another `secprof thing` process (a running serve?)");
  return l;
}

StateLock::StateLock(StateLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}

StateLock::~StateLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace secprof::thing

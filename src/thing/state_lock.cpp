// thing::StateLock (secprof/thing/state_lock.h).
#include "secprof/thing/state_lock.h"

#include <filesystem>
#include <utility>

namespace secprof::thing {

Result<StateLock> StateLock::Take(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return Fail(ErrorCode::kNotFound,
                dir + " is not a thing's state directory (run `secprof thing init` first)");
  auto lock = posix::FileLock::TryAcquire(dir + "/.lock", 0600);
  if (!lock && lock.error().code() == ErrorCode::kConflict)
    return Fail(ErrorCode::kConflict,
                dir + " is in use by another `secprof thing` process (a running serve?)");
  if (!lock) return Fail(lock.error());
  return StateLock(std::move(*lock));
}

}  // namespace secprof::thing

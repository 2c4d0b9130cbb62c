// secprof/core/posix.h — the POSIX primitives every module shares: an owned file descriptor, an
// advisory lock on a file, errno turned into an Error, and a directory fsync that reports failure.
//
//   SECPROF_ASSIGN_OR_RETURN(posix::FileLock lock, posix::FileLock::TryAcquire(dir + "/lock"));
//   posix::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
//   if (!fd) return Fail(posix::ErrnoError("cannot open", path));
//   SECPROF_TRY(posix::FsyncDir(dir));  // after a rename that must survive a power loss
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "secprof/core/result.h"

namespace secprof::posix {

// "<op> <path>: <strerror(err)>", code kNotFound for ENOENT and kIo otherwise. The one-argument
// form reads errno: call it straight after the failing system call.
Error ErrnoError(std::string_view op, const std::string& path, int err);
Error ErrnoError(std::string_view op, const std::string& path);

// Owns a file descriptor: closes it on destruction (errors ignored) or in Close() (errors
// reported: a delayed write error may only show at close(2)). Move-only. -1 means none.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  // Gives up ownership without closing.
  int release() { return std::exchange(fd_, -1); }
  // Closes now (if open) without reporting errors.
  void Reset();
  // Closes now and returns false (errno set) when close(2) failed; true when there was nothing
  // to close.
  bool Close();

 private:
  int fd_ = -1;
};

// An exclusive advisory lock (flock(2), LOCK_EX | LOCK_NB) on a lock file, held while the object
// lives. flock locks belong to the open file description: a second TryAcquire of the same path,
// in this process or another, conflicts.
class FileLock {
 public:
  // Opens `path` (created with `mode` if absent) and locks it without waiting. kConflict when
  // the lock is held elsewhere; kIo (kNotFound) when the file cannot be opened or locked. The
  // messages name the path; callers usually replace the kConflict message with their own words.
  static Result<FileLock> TryAcquire(const std::string& path, unsigned mode = 0600);

  FileLock(FileLock&&) noexcept = default;
  FileLock& operator=(FileLock&&) noexcept = default;
  // The lock file, for callers that record who holds it (e.g. a pid).
  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }

 private:
  FileLock(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;  // closing it releases the lock
  std::string path_;
};

// fsync(2) on a directory: makes the creations, renames and removals of entries in `dir` durable.
// Strict: an error when the directory cannot be opened or fsync fails (kNotFound when it does not
// exist). Call it after a rename that must survive a power loss (the rename itself is only in
// the page cache until then).
Status FsyncDir(const std::string& dir);

}  // namespace secprof::posix

// secprof/core/fs.h — small file helpers with Result errors, and the file-system seam that
// durable state is written through (so that tests can drop what was not synced, see FileSystem).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "secprof/core/result.h"

namespace secprof {

// ---- The file-system seam ----------------------------------------------------------------------
//
// Only the operations that crash-safe writers need (WriteFileAtomic, the firmware slot store):
// write a new file, fsync it, rename, fsync a directory, read, remove, list. The default is the
// real POSIX file system; tests substitute one that records what has been synced and, on a
// simulated power loss, drops the rest (tests/support/fault_fs.h).
//
// Durability contract, as POSIX gives it: data written to a file survives a power loss only after
// WritableFile::Sync; a created, renamed or removed directory entry only after SyncDir on its
// directory.

// A file open for writing, created by FileSystem::NewFile or NewTempFile.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Appends all of `data` (retrying short writes).
  virtual Status Append(std::string_view data) = 0;
  // fsync(2): what was appended so far survives a power loss.
  virtual Status Sync() = 0;
  // close(2), reporting its error (a delayed write error may only show here).
  virtual Status Close() = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // Creates `path` with permission bits `mode`, or truncates it if it exists, for writing.
  virtual Result<std::unique_ptr<WritableFile>> NewFile(const std::string& path, unsigned mode) = 0;
  // Creates a new file with a unique name: `tmpl` ends in "XXXXXX", which is replaced in place
  // (mkstemp(3)); the file gets permission bits `mode`.
  virtual Result<std::unique_ptr<WritableFile>> NewTempFile(std::string& tmpl, unsigned mode) = 0;
  // rename(2): atomically replaces `to`.
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // fsync(2) of a directory (strict: an error when it cannot be opened or synced).
  virtual Status SyncDir(const std::string& dir) = 0;
  // Reads a whole file. kNotFound when it does not exist, kIo otherwise.
  virtual Result<std::string> ReadFile(const std::string& path) = 0;
  // unlink(2). kNotFound when it does not exist.
  virtual Status Remove(const std::string& path) = 0;
  // The names (not paths) of the entries of `dir`, in no particular order.
  virtual Result<std::vector<std::string>> ListDir(const std::string& dir) = 0;
};

// The real POSIX file system (one process-wide instance; stateless).
FileSystem& DefaultFileSystem();

// ---- Helpers -----------------------------------------------------------------------------------

// Reads a whole file. Errors: kNotFound when it does not exist, kIo otherwise.
Result<std::string> ReadFile(const std::string& path);

// Writes `data` to `path` atomically: a temporary file in the same directory is written, flushed
// with fsync, renamed over `path`, and the directory is fsynced. A crash at any point leaves either
// the old file or the new one, never a mix. `mode` applies to the new file (e.g. 0600 for keys).
// Returns Ok only once the new file is durable: when the directory fsync fails the error is
// returned (the rename has then happened but may not survive a power loss).
Status WriteFileAtomic(const std::string& path, std::string_view data, unsigned mode = 0644,
                       FileSystem& fs = DefaultFileSystem());

}  // namespace secprof

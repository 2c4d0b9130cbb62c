// tests/support/sync_dir_recorder.h — a FileSystem (core/fs.h) that forwards every operation to
// the real file system and records each directory fsync, or fails them on demand.
//
// For writers whose durable step is a directory fsync that the power-loss model of fault_fs.h
// cannot see (a file created with open(2) by SQLite, a name published with link(2)): a test
// asserts that the directory was synced after the change, and that a failed fsync is reported.
// Removing the writer's fsync makes such a test fail.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "secprof/core/fs.h"

namespace secprof::testing {

class SyncDirRecorder final : public FileSystem {
 public:
  // The directories synced so far (lexically normal), in order.
  std::vector<std::string> synced;
  // While true, every SyncDir fails with kIo and has no effect.
  bool fail_sync_dir = false;
  // When set: this many more SyncDir calls succeed, and every later one fails (a writer with two
  // syncs can be failed at the second).
  std::optional<size_t> fail_after;

  Result<std::unique_ptr<WritableFile>> NewFile(const std::string& path, unsigned mode) override {
    return DefaultFileSystem().NewFile(path, mode);
  }
  Result<std::unique_ptr<WritableFile>> NewTempFile(std::string& tmpl, unsigned mode) override {
    return DefaultFileSystem().NewTempFile(tmpl, mode);
  }
  Status Rename(const std::string& from, const std::string& to) override {
    return DefaultFileSystem().Rename(from, to);
  }
  Status SyncDir(const std::string& dir) override {
    if (fail_after && *fail_after == 0) fail_sync_dir = true;
    if (fail_after && *fail_after > 0) --*fail_after;
    if (fail_sync_dir) return Fail(ErrorCode::kIo, "injected fsync failure on " + dir);
    SECPROF_TRY(DefaultFileSystem().SyncDir(dir));
    synced.push_back(std::filesystem::path(dir).lexically_normal().string());
    return Ok();
  }
  Result<std::string> ReadFile(const std::string& path) override {
    return DefaultFileSystem().ReadFile(path);
  }
  Status Remove(const std::string& path) override { return DefaultFileSystem().Remove(path); }
  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    return DefaultFileSystem().ListDir(dir);
  }

  // How many times `dir` was synced.
  size_t SyncsOf(const std::filesystem::path& dir) const {
    const std::string d = dir.lexically_normal().string();
    size_t n = 0;
    for (const auto& s : synced) n += s == d ? 1 : 0;
    return n;
  }
};

}  // namespace secprof::testing

// Database::Open makes a database file it creates durable (store/sqlite.h "Durability"): SQLite
// syncs the directory of its journals and WALs, never of the main file, so Open fsyncs the new
// file's directory itself, strictly. A fake file system (OpenOptions::fs) records the directory
// syncs: removing the fsync from Open fails NewFileSyncsItsDirectory.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "secprof/core/fs.h"
#include "secprof/store/sqlite.h"
#include "testutil.h"

namespace secprof::store {
namespace {

using secprof::testing::TempDir;

// Forwards to the real file system and records every SyncDir; fails them while `fail_sync_dir`.
class SyncDirRecorder final : public FileSystem {
 public:
  std::vector<std::string> synced;
  bool fail_sync_dir = false;

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
};

TEST(StoreOpenDurability, NewFileSyncsItsDirectory) {
  TempDir dir;
  const std::string path = (dir.path() / "new.db").string();
  SyncDirRecorder fs;
  OpenOptions o;
  o.fs = &fs;
  auto db = Database::Open(path, o);
  ASSERT_TRUE(db) << db.error().ToString();
  EXPECT_EQ(fs.synced, std::vector<std::string>{dir.path().lexically_normal().string()});
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t(x)"));
  db->reset();

  // Opening an existing file creates no directory entry: nothing more to sync.
  auto again = Database::Open(path, o);
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(fs.synced.size(), 1u);
  EXPECT_EQ(*(*again)->QueryInt64("SELECT count(*) FROM t"), 0);
}

TEST(StoreOpenDurability, FailedDirectorySyncIsAnErrorAndLeavesNoFile) {
  TempDir dir;
  const std::string path = (dir.path() / "new.db").string();
  SyncDirRecorder fs;
  fs.fail_sync_dir = true;
  OpenOptions o;
  o.fs = &fs;
  auto db = Database::Open(path, o);
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code(), ErrorCode::kIo);
  EXPECT_NE(db.error().message().find(path), std::string::npos) << db.error().message();
  EXPECT_NE(db.error().message().find("injected fsync failure"), std::string::npos);
  // No half-made database is left behind, so a retry creates (and syncs) it afresh.
  EXPECT_FALSE(std::filesystem::exists(path));

  fs.fail_sync_dir = false;
  auto retry = Database::Open(path, o);
  ASSERT_TRUE(retry) << retry.error().ToString();
  EXPECT_EQ(fs.synced.size(), 1u);
}

TEST(StoreOpenDurability, ReadOnlyAndInMemoryOpensSyncNothing) {
  TempDir dir;
  const std::string path = (dir.path() / "ro.db").string();
  ASSERT_TRUE(Database::Open(path));
  SyncDirRecorder fs;
  OpenOptions o;
  o.fs = &fs;
  o.read_only = true;
  ASSERT_TRUE(Database::Open(path, o));
  o.read_only = false;
  ASSERT_TRUE(Database::Open(":memory:", o));
  EXPECT_TRUE(fs.synced.empty());
}

}  // namespace
}  // namespace secprof::store

// Database::Open makes a database file it creates durable (store/sqlite.h "Durability"): SQLite
// syncs the directory of its journals and WALs, never of the main file, so Open fsyncs the new
// file's directory itself, strictly. A fake file system (OpenOptions::fs,
// tests/support/sync_dir_recorder.h) records the directory syncs: removing the fsync from Open
// fails NewFileSyncsItsDirectory.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "secprof/core/fs.h"
#include "secprof/store/sqlite.h"
#include "support/sync_dir_recorder.h"
#include "testutil.h"

namespace secprof::store {
namespace {

using secprof::testing::TempDir;

using secprof::testing::SyncDirRecorder;

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

// Tests for the power-loss VFS (src/store/testing/secprof/store/fault_vfs.h) on its own: a power
// loss keeps what was synced and drops what was not, and a crash makes every later write fail.
// tests/registry/power_loss_test.cpp uses it on the registry.
#include <gtest/gtest.h>

#include <filesystem>

#include "secprof/store/fault_vfs.h"
#include "secprof/store/sqlite.h"
#include "testutil.h"

namespace secprof::store {
namespace {

using secprof::testing::TempDir;
using testing::FaultVfs;

class StoreFaultVfs : public ::testing::Test {
 protected:
  void SetUp() override {
    auto vfs = FaultVfs::Install();
    ASSERT_TRUE(vfs) << vfs.error().ToString();
    vfs_ = std::move(*vfs);
    path_ = (dir_.path() / "f.db").string();
    auto db = Open();
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)"));
    db.reset();  // the last close checkpoints and removes the WAL
    vfs_->MarkAllDurable();
  }
  void TearDown() override { vfs_.reset(); }
  std::unique_ptr<Database> Open() {
    auto db = Database::Open(path_);
    EXPECT_TRUE(db) << db.error().ToString();
    return db ? std::move(*db) : nullptr;
  }
  int64_t Rows() {
    auto db = Open();
    if (!db) return -1;
    EXPECT_TRUE(db->IntegrityCheck());
    return *db->QueryInt64("SELECT count(*) FROM t");
  }
  TempDir dir_;
  std::unique_ptr<FaultVfs> vfs_;
  std::string path_;
};

TEST_F(StoreFaultVfs, SyncedCommitSurvivesAndTheWriteAfterTheCrashFails) {
  auto db = Open();
  ASSERT_TRUE(db->Execute("INSERT INTO t(v) VALUES(?)", "kept"));  // synchronous=FULL
  EXPECT_GT(vfs_->syncs(), 0);
  vfs_->CrashAt(1);
  auto lost = db->Execute("INSERT INTO t(v) VALUES(?)", "lost");
  EXPECT_FALSE(lost);
  EXPECT_TRUE(vfs_->crashed());
  db.reset();
  ASSERT_TRUE(vfs_->PowerLoss());
  EXPECT_EQ(Rows(), 1);
}

TEST_F(StoreFaultVfs, UnsyncedCommitsAreDropped) {
  auto db = Open();
  ASSERT_TRUE(db->Exec("PRAGMA synchronous=OFF"));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(db->Execute("INSERT INTO t(v) VALUES(?)", "unsynced"));
  EXPECT_EQ(vfs_->syncs(), 0);
  EXPECT_EQ(*db->QueryInt64("SELECT count(*) FROM t"), 5);  // visible before the power loss
  db.reset();
  // The WAL was created in this epoch and never synced: it vanishes, and the checkpoint that the
  // close wrote into the database file (unsynced) is undone.
  ASSERT_TRUE(vfs_->PowerLoss());
  EXPECT_FALSE(std::filesystem::exists(path_ + "-wal"));
  EXPECT_EQ(Rows(), 0);
}

TEST_F(StoreFaultVfs, WithoutAPowerLossNothingIsDropped) {
  auto db = Open();
  ASSERT_TRUE(db->Exec("PRAGMA synchronous=OFF"));
  ASSERT_TRUE(db->Execute("INSERT INTO t(v) VALUES(?)", "x"));
  db.reset();
  EXPECT_EQ(Rows(), 1);  // a process exit is not a power loss: the page cache keeps it
}

TEST_F(StoreFaultVfs, EveryCrashPointLeavesACommittedPrefix) {
  // A dry run counts the I/O events of ten synced inserts.
  {
    auto db = Open();
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(db->Execute("INSERT INTO t(v) VALUES(?)", "dry"));
  }
  const int64_t events = vfs_->events();
  ASSERT_TRUE(vfs_->PowerLoss());  // (everything was synced: nothing to drop)
  ASSERT_EQ(Rows(), 10);
  {
    auto db = Open();
    ASSERT_TRUE(db->Exec("DELETE FROM t"));
  }
  vfs_->MarkAllDurable();
  for (int64_t crash = 1; crash <= events; ++crash) {
    int acked = 0;
    {
      auto db = Open();
      ASSERT_TRUE(db->Exec("DELETE FROM t"));
      vfs_->MarkAllDurable();
      vfs_->CrashAt(crash);
      for (int i = 0; i < 10; ++i) {
        if (!db->Execute("INSERT INTO t(v) VALUES(?)", "row")) break;
        ++acked;
      }
    }
    ASSERT_TRUE(vfs_->PowerLoss());
    const int64_t rows = Rows();
    EXPECT_TRUE(rows == acked || rows == acked + 1)
        << "crash at event " << crash << ": " << acked << " acknowledged, " << rows << " found";
  }
}

}  // namespace
}  // namespace secprof::store

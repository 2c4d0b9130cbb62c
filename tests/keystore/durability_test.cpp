// The key stores' directory fsyncs are strict and go through the core/fs.h seam
// (FileKeyStoreOptions::file_system, the FileSystem argument of WriteNewKekFile and
// RemoveKekFile): a key file, a KEK file or a removal is acknowledged only once its directory is
// synced, and a failed fsync is an error, not ignored. The names are published with link(2),
// which the power-loss model of support/fault_fs.h does not follow, so support/sync_dir_recorder.h
// records the syncs instead: removing any of these fsyncs fails a test here.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "secprof/crypto/random.h"
#include "secprof/keystore/file_store.h"
#include "secprof/keystore/kek.h"
#include "support/sync_dir_recorder.h"
#include "testutil.h"

namespace secprof::keystore {
namespace {

namespace fs = std::filesystem;
using crypto::KeyType;
using secprof::testing::SyncDirRecorder;
using secprof::testing::TempDir;

Result<std::unique_ptr<FileKeyStore>> OpenOn(const fs::path& dir, SyncDirRecorder& rec) {
  FileKeyStoreOptions o;
  o.dir = dir.string();
  o.kek = crypto::SecureBuffer(kKekSize);
  o.file_system = &rec;
  return FileKeyStore::Open(std::move(o));
}

TEST(KeystoreDurability, KeyFilesAndRemovalsSyncTheirDirectory) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "keys";
  SyncDirRecorder rec;
  auto store = OpenOn(dir, rec);
  ASSERT_TRUE(store) << store.error().ToString();

  const size_t before = rec.SyncsOf(dir);
  ASSERT_TRUE((*store)->GenerateKey("a", KeyType::kP256));
  // The staging file's WriteFileAtomic syncs once, the published name (link) once more.
  EXPECT_EQ(rec.SyncsOf(dir), before + 2) << "the link(2) of the key file was not synced";
  auto key = (*store)->Load("a");
  ASSERT_TRUE(key);
  ASSERT_TRUE((*store)->Import("b", *key));
  EXPECT_EQ(rec.SyncsOf(dir), before + 4) << "the link(2) of an imported key was not synced";
  ASSERT_TRUE((*store)->Delete("b"));
  EXPECT_EQ(rec.SyncsOf(dir), before + 5) << "the removal of a key file was not synced";
  EXPECT_FALSE(fs::exists(dir / "b.key"));
}

TEST(KeystoreDurability, AFailedDirectorySyncIsAnError) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "keys";
  SyncDirRecorder rec;
  auto store = OpenOn(dir, rec);
  ASSERT_TRUE(store);
  ASSERT_TRUE((*store)->GenerateKey("kept", KeyType::kP256));

  rec.fail_after = 1;  // the staging file's sync passes, the published name's fails
  auto made = (*store)->GenerateKey("new", KeyType::kP256);
  ASSERT_FALSE(made);
  EXPECT_EQ(made.error().code(), ErrorCode::kIo);
  EXPECT_NE(made.error().message().find("injected fsync failure"), std::string::npos)
      << made.error().message();
  auto removed = (*store)->Delete("kept");
  ASSERT_FALSE(removed);
  EXPECT_EQ(removed.error().code(), ErrorCode::kIo);

  rec.fail_after.reset();
  rec.fail_sync_dir = false;
  // The unacknowledged key was removed: a retry of the same label works.
  EXPECT_FALSE(fs::exists(dir / "new.key"));
  EXPECT_TRUE((*store)->GenerateKey("new", KeyType::kP256));
}

TEST(KeystoreDurability, KekFilesAndTheirRemovalSyncTheirDirectory) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "keks";
  const std::string path = (dir / "thing.kek").string();
  crypto::SecureBuffer key(kKekSize);
  SyncDirRecorder rec;

  // A failed fsync: an error, never an acknowledged KEK that may vanish.
  rec.fail_after = 1;  // the staging file's sync passes, the linked name's fails
  auto failed = WriteNewKekFile(path, key, crypto::SystemRandomSource(), rec);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code(), ErrorCode::kIo);
  EXPECT_FALSE(fs::exists(path)) << "an unacknowledged KEK file was left (a retry would conflict)";
  rec.fail_after.reset();
  rec.fail_sync_dir = false;
  rec.synced.clear();

  ASSERT_TRUE(WriteNewKekFile(path, key, crypto::SystemRandomSource(), rec));
  // WriteFileAtomic's sync of the staging file, then the sync of the linked name.
  EXPECT_EQ(rec.SyncsOf(dir), 2u) << "the link(2) of the KEK file was not synced";
  ASSERT_TRUE(RemoveKekFile(path, rec));
  EXPECT_EQ(rec.SyncsOf(dir), 3u) << "the removal of the KEK file was not synced";
  EXPECT_FALSE(fs::exists(path));
  // Already absent: Ok, and no sync (its directory may be gone).
  ASSERT_TRUE(RemoveKekFile(path, rec));
  EXPECT_EQ(rec.SyncsOf(dir), 3u);

  ASSERT_TRUE(WriteNewKekFile(path, key, crypto::SystemRandomSource(), rec));
  rec.fail_sync_dir = true;
  auto not_synced = RemoveKekFile(path, rec);
  ASSERT_FALSE(not_synced);
  EXPECT_EQ(not_synced.error().code(), ErrorCode::kIo);
}

}  // namespace
}  // namespace secprof::keystore

// The POSIX layer (core/posix.h) and the durability of WriteFileAtomic under injected faults and
// simulated power losses (tests/support/fault_fs.h).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "secprof/core/fs.h"
#include "secprof/core/posix.h"
#include "support/fault_fs.h"
#include "testutil.h"

namespace secprof {
namespace {

namespace fs = std::filesystem;
using testing::FaultFs;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

size_t Entries(const fs::path& dir) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.is_regular_file() ? 1 : 0;
  return n;
}

// ---- posix.h ------------------------------------------------------------------------------------

TEST(PosixTest, ErrnoErrorNamesTheOperationPathAndCause) {
  Error e = posix::ErrnoError("cannot open", "/x/y", ENOENT);
  EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  EXPECT_EQ(e.message(), "cannot open /x/y: No such file or directory");
  EXPECT_EQ(posix::ErrnoError("cannot write", "f", EIO).code(), ErrorCode::kIo);
  errno = EACCES;
  EXPECT_EQ(posix::ErrnoError("cannot read", "f").message(), "cannot read f: Permission denied");
}

TEST(PosixTest, UniqueFdClosesAndReportsClose) {
  testing::TempDir tmp;
  const std::string p = (tmp.path() / "f").string();
  int raw = -1;
  {
    posix::UniqueFd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    ASSERT_TRUE(fd);
    raw = fd.get();
    posix::UniqueFd moved(std::move(fd));
    EXPECT_FALSE(fd);  // NOLINT(bugprone-use-after-move): the moved-from owner is empty
    EXPECT_EQ(moved.get(), raw);
  }
  EXPECT_EQ(::fcntl(raw, F_GETFD), -1);  // closed by the destructor
  posix::UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  EXPECT_TRUE(fd.Close());
  EXPECT_FALSE(fd);
  EXPECT_TRUE(fd.Close());  // nothing to close
}

TEST(PosixTest, FileLockIsExclusiveUntilReleased) {
  testing::TempDir tmp;
  const std::string p = (tmp.path() / "lock").string();
  {
    auto a = posix::FileLock::TryAcquire(p);
    ASSERT_TRUE(a) << a.error().ToString();
    auto b = posix::FileLock::TryAcquire(p);  // another open file description: conflicts
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().code(), ErrorCode::kConflict);
  }
  EXPECT_TRUE(posix::FileLock::TryAcquire(p));  // released with the first holder
  auto missing = posix::FileLock::TryAcquire((tmp.path() / "no" / "lock").string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST(PosixTest, FsyncDirIsStrict) {
  testing::TempDir tmp;
  EXPECT_TRUE(posix::FsyncDir(tmp.path().string()));
  auto missing = posix::FsyncDir((tmp.path() / "absent").string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  std::ofstream((tmp.path() / "file").string()) << "x";
  auto not_dir = posix::FsyncDir((tmp.path() / "file").string());
  ASSERT_FALSE(not_dir);
  EXPECT_EQ(not_dir.error().code(), ErrorCode::kIo);
}

// ---- FaultFs itself: it drops exactly what was not synced ---------------------------------------

TEST(FaultFsTest, DropsUnsyncedDataAndUnsyncedEntries) {
  testing::TempDir tmp;
  const std::string dir = tmp.path().string();
  std::ofstream(tmp.path() / "old") << "durable";
  FaultFs f;
  f.Watch(dir);
  {  // entry synced, data never synced: empty after a power loss
    auto w = f.NewFile(dir + "/b", 0644);
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->Append("bbb"));
    ASSERT_TRUE((*w)->Close());
  }
  ASSERT_TRUE(f.SyncDir(dir));
  {  // written, synced, but its directory entry never synced: gone after a power loss
    auto w = f.NewFile(dir + "/a", 0644);
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->Append("aaa"));
    ASSERT_TRUE((*w)->Sync());
    ASSERT_TRUE((*w)->Close());
  }
  ASSERT_TRUE(f.Rename(dir + "/old", dir + "/renamed"));  // not synced: undone
  f.PowerLoss();
  EXPECT_FALSE(fs::exists(tmp.path() / "a"));
  EXPECT_EQ(Slurp(tmp.path() / "b"), "");
  EXPECT_FALSE(fs::exists(tmp.path() / "renamed"));
  EXPECT_EQ(Slurp(tmp.path() / "old"), "durable");
}

TEST(FaultFsTest, KeepLastChangeKeepsOnlyTheNewestUnsyncedEntry) {
  testing::TempDir tmp;
  const std::string dir = tmp.path().string();
  FaultFs f;
  f.Watch(dir);
  for (const char* name : {"first", "second"}) {
    auto w = f.NewFile(dir + "/" + name + ".tmp", 0644);
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->Append(name));
    ASSERT_TRUE((*w)->Sync());
    ASSERT_TRUE((*w)->Close());
    ASSERT_TRUE(f.Rename(dir + "/" + name + ".tmp", dir + "/" + name));
  }
  f.PowerLoss(FaultFs::Keep::kLastChange);
  EXPECT_FALSE(fs::exists(tmp.path() / "first"));  // the older rename was not written back
  EXPECT_FALSE(fs::exists(tmp.path() / "first.tmp"));
  EXPECT_EQ(Slurp(tmp.path() / "second"), "second");
}

TEST(FaultFsTest, ACrashStopsEveryLaterOperation) {
  testing::TempDir tmp;
  FaultFs f;
  f.CrashAfter(1);
  auto w = f.NewFile((tmp.path() / "a").string(), 0644);
  ASSERT_TRUE(w);
  EXPECT_FALSE((*w)->Append("x"));
  EXPECT_TRUE(f.crashed());
  EXPECT_FALSE(f.SyncDir(tmp.path().string()));
  EXPECT_EQ(Slurp(tmp.path() / "a"), "");  // the failed append had no effect
}

// ---- WriteFileAtomic ----------------------------------------------------------------------------

// The header promises Ok only once the new file is durable: a failed directory fsync is an error.
TEST(WriteFileAtomicFaultTest, FailsWhenTheDirectoryFsyncFails) {
  testing::TempDir tmp;
  const std::string path = (tmp.path() / "f").string();
  FaultFs f;
  ASSERT_TRUE(WriteFileAtomic(path, "one", 0600, f));
  f.FailNext(FaultFs::Op::kSyncDir);
  auto st = WriteFileAtomic(path, "two", 0600, f);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kIo);
  // The rename happened (the caller may not rely on it surviving a power loss) ...
  EXPECT_EQ(Slurp(path), "two");
  // ... and indeed it does not survive one.
  f.PowerLoss();
  EXPECT_EQ(Slurp(path), "one");
}

TEST(WriteFileAtomicFaultTest, AFailedStepBeforeTheRenameKeepsTheOldFileAndNoTemporary) {
  for (FaultFs::Op op : {FaultFs::Op::kNewTempFile, FaultFs::Op::kAppend, FaultFs::Op::kSync,
                         FaultFs::Op::kClose, FaultFs::Op::kRename}) {
    testing::TempDir tmp;
    const std::string path = (tmp.path() / "f").string();
    FaultFs f;
    ASSERT_TRUE(WriteFileAtomic(path, "one", 0600, f));
    f.FailNext(op);
    EXPECT_FALSE(WriteFileAtomic(path, "two", 0600, f)) << static_cast<int>(op);
    EXPECT_EQ(Slurp(path), "one");
    EXPECT_EQ(Entries(tmp.path()), 1u) << "a temporary file was left behind";
  }
}

// A power loss at every step of a replacement leaves the old or the new content, never a mix or
// an empty file; once WriteFileAtomic returned Ok, the new content survives. Fails if the fsync of
// the temporary file (an empty file after the power loss) or of the directory (the old content
// after an acknowledged write) is removed from WriteFileAtomic.
TEST(WriteFileAtomicFaultTest, PowerLossAtEveryStepLeavesOldOrNew) {
  const std::string old_text = "old content\n", new_text = std::string(10000, 'n');
  bool completed = false;
  for (long n = 0; !completed && n < 100; ++n) {
    testing::TempDir tmp;
    const std::string path = (tmp.path() / "state.json").string();
    ASSERT_TRUE(WriteFileAtomic(path, old_text, 0600));
    FaultFs f;
    f.Watch(tmp.path().string());
    f.CrashAfter(n);
    const bool ok = WriteFileAtomic(path, new_text, 0600, f).has_value();
    completed = ok;
    f.PowerLoss();
    const std::string after = Slurp(path);
    if (ok) {
      EXPECT_EQ(after, new_text) << "acknowledged write lost at crash step " << n;
    } else {
      EXPECT_TRUE(after == old_text || after == new_text) << "step " << n << ": '" << after << "'";
    }
  }
  EXPECT_TRUE(completed) << "the write never completed";
}

TEST(WriteFileAtomicFaultTest, PowerLossDuringTheFirstWriteLeavesNoFileOrTheWholeFile) {
  bool completed = false;
  for (long n = 0; !completed && n < 100; ++n) {
    testing::TempDir tmp;
    const fs::path path = tmp.path() / "new.bin";
    FaultFs f;
    f.CrashAfter(n);
    const bool ok = WriteFileAtomic(path.string(), "payload", 0600, f).has_value();
    completed = ok;
    f.PowerLoss();
    if (ok || fs::exists(path)) {
      EXPECT_EQ(Slurp(path), "payload") << "step " << n;
    }
  }
  EXPECT_TRUE(completed);
}

}  // namespace
}  // namespace secprof

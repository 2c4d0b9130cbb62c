// SlotStore::Recover removes the temporary files of writes a crash interrupted, and returns only
// once their removal is durable (it syncs the store's directory, install.cpp): after a power loss
// that drops every directory change not yet synced (tests/support/fault_fs.h), the temp files it
// reported removed stay removed. Removing that directory fsync from Recover fails this test: the
// removals are undone and the stray files are back.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "install_testutil.h"
#include "secprof/core/fs.h"
#include "support/fault_fs.h"
#include "testutil.h"

namespace secprof::update {
namespace {

using namespace installtest;
using secprof::testing::FaultFs;
using secprof::testing::TempDir;

TEST(RecoverPowerLoss, RemovedTempFilesStayRemoved) {
  for (FaultFs::Keep keep : {FaultFs::Keep::kNothing, FaultFs::Keep::kLastChange}) {
    SCOPED_TRACE(keep == FaultFs::Keep::kNothing ? "drop all" : "keep newest");
    TempDir tmp;
    const std::filesystem::path dir = tmp.path() / "fw";
    {  // an initialised store and two strays of interrupted writes, all on the real disk, synced
      auto s = SlotStore::Open(dir.string(), Identity());
      ASSERT_TRUE(s) << s.error().ToString();
      ASSERT_TRUE(s->Initialize(Image(1), 1));
    }
    WriteBytes(dir / ".slot-b.img.tmp", Image(9, 100));
    WriteBytes(dir / ".state.cbor.tmp-Ab12Cd", Image(8, 10));
    ASSERT_TRUE(DefaultFileSystem().SyncDir(dir.string()));

    FaultFs ffs;
    ffs.Watch(dir.string());  // what is on disk now is durable
    {
      InstallOptions o;
      o.file_system = &ffs;
      auto s = SlotStore::Open(dir.string(), Identity(), std::move(o));
      ASSERT_TRUE(s) << s.error().ToString();
      auto r = s->Recover();
      ASSERT_TRUE(r) << r.error().ToString();
      EXPECT_EQ(r->temp_files_removed, 2u);
      EXPECT_EQ(r->action, RecoveryAction::kNone);
    }
    ffs.PowerLoss(keep);  // every directory change not synced is dropped
    EXPECT_FALSE(std::filesystem::exists(dir / ".slot-b.img.tmp"))
        << "an acknowledged removal was undone by the power loss";
    EXPECT_FALSE(std::filesystem::exists(dir / ".state.cbor.tmp-Ab12Cd"))
        << "an acknowledged removal was undone by the power loss";
    // The store itself is untouched: it opens and recovers with nothing to do.
    auto s = SlotStore::Open(dir.string(), Identity());
    ASSERT_TRUE(s);
    auto again = s->Recover();
    ASSERT_TRUE(again) << again.error().ToString();
    EXPECT_EQ(again->temp_files_removed, 0u);
    EXPECT_EQ(s->state().active_image.sequence_number, 1u);
  }
}

}  // namespace
}  // namespace secprof::update

// Power-loss tests for the slot store: unlike install_crash_test.cpp (the process dies, the page
// cache survives), here the machine loses power, and everything not yet fsynced is dropped
// (tests/support/fault_fs.h: file contents written since their last fsync, creations and renames
// since their directory's last fsync).
//
// Each test stops an operation after its n-th file-system step, for n = 0, 1, 2, ... until the
// operation completes, then simulates the power loss (dropping every unsynced directory change,
// or keeping only the newest one, as a file system that writes metadata back out of order may),
// reopens the store, runs Recover() and checks:
//   - Recover succeeds: the active slot hashes to the digest the state records;
//   - the store holds the old image or the new one (active image and floor), never a mix;
//   - once the operation returned Ok, its result survives the power loss.
// Removing an fsync from the store or from WriteFileAtomic makes these tests fail (an acknowledged
// install lost, or an active slot that no longer matches its digest).
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>

#include "install_testutil.h"
#include "support/fault_fs.h"
#include "testutil.h"

namespace secprof::update {
namespace {

using namespace installtest;
using secprof::testing::FaultFs;
using secprof::testing::TempDir;

constexpr long kMaxSteps = 200;

// The durable facts that tell one version of the store from another.
struct Version {
  uint64_t seq = 0;
  uint64_t floor = 0;
  Slot active = Slot::kA;
  Bytes digest;
  bool operator==(const Version&) const = default;
};

Version Of(const SlotState& s) {
  return Version{s.active_image.sequence_number, s.floor, s.active, s.active_image.digest};
}

std::string Describe(const Version& v) {
  return "seq " + std::to_string(v.seq) + " floor " + std::to_string(v.floor) + " slot " +
         SlotName(v.active);
}

class InstallPowerLoss : public ::testing::TestWithParam<FaultFs::Keep> {
 protected:
  std::string Dir() const { return (tmp_.path() / "fw").string(); }

  Result<SlotStore> Open(FileSystem* fs = nullptr, TestBootHook hook = {}) {
    InstallOptions o;
    o.file_system = fs;
    o.test_boot = std::move(hook);
    o.read_chunk = 4096;  // several appends per image: a power loss can fall between them
    return SlotStore::Open(Dir(), Identity(), std::move(o));
  }

  // A fresh store on the real file system (everything synced) with seq 1 installed, and seq 2
  // installed too when `updated` (so that the next install overwrites slot a).
  void Prepare(bool updated) {
    std::filesystem::remove_all(Dir());
    auto s = Open();
    ASSERT_TRUE(s) << s.error().ToString();
    ASSERT_TRUE(s->Initialize(Image(1), 1));
    if (updated) {
      ASSERT_TRUE(s->Install(MakeEnvelope(2, Image(2)), Image(2)));
    }
    old_ = Of(s->state());
  }

  // After a power loss: reopens on the real file system, recovers, and returns the version.
  Result<Version> Reopen() {
    SECPROF_ASSIGN_OR_RETURN(SlotStore s, Open());
    SECPROF_ASSIGN_OR_RETURN(RecoveryReport r, s.Recover());
    (void)r;
    if (s.state().pending) return Fail(ErrorCode::kInternal, "still pending after Recover");
    const auto left = Snapshot(Dir());
    for (const auto& [name, _] : left)
      if (name.rfind(".", 0) == 0) return Fail(ErrorCode::kInternal, "temp file left: " + name);
    return Of(s.state());
  }

  // Runs `op` (true when it returned Ok) on a store over a FaultFs that crashes after n steps,
  // for every n, and checks the invariants above; `may_be_new`: the op moves the store to a newer
  // image (else it must leave the old one).
  template <class Op>
  void EveryStep(bool updated, Op op, bool may_be_new, const char* what) {
    bool completed = false;
    for (long n = 0; !completed && n < kMaxSteps; ++n) {
      SCOPED_TRACE(std::string(what) + ", power lost after step " + std::to_string(n));
      Prepare(updated);
      FaultFs ffs;
      ffs.Watch(Dir());
      {
        auto s = Open(&ffs);
        ASSERT_TRUE(s) << s.error().ToString();
        ffs.CrashAfter(n);
        completed = op(*s);
        if (completed) {
          ASSERT_FALSE(ffs.crashed());
        }
      }  // the store is gone with the machine
      ffs.PowerLoss(GetParam());
      auto v = Reopen();
      ASSERT_TRUE(v) << "store unusable after the power loss: " << v.error().ToString();
      if (completed && may_be_new) {
        EXPECT_NE(*v, old_) << "an acknowledged operation was lost: " << Describe(*v);
      } else if (!may_be_new) {
        EXPECT_EQ(*v, old_) << Describe(*v);
      }
      if (*v != old_) {
        ASSERT_TRUE(may_be_new);
        new_seen_ = true;
        EXPECT_EQ(v->seq, v->floor) << Describe(*v);
        EXPECT_GT(v->seq, old_.seq) << Describe(*v);
        EXPECT_NE(v->active, old_.active) << Describe(*v);
      }
    }
    EXPECT_TRUE(completed) << what << " never completed within " << kMaxSteps << " steps";
  }

  TempDir tmp_;
  Version old_;
  bool new_seen_ = false;
};

TEST_P(InstallPowerLoss, InstallLeavesOldOrNewAndKeepsAnAcknowledgedInstall) {
  for (bool updated : {false, true}) {
    new_seen_ = false;
    const uint64_t seq = updated ? 3 : 2;
    EveryStep(
        updated,
        [&](SlotStore& s) {
          return s.Install(MakeEnvelope(seq, Image(seq)), Image(seq)).has_value();
        },
        true, "install");
    EXPECT_TRUE(new_seen_);
  }
}

TEST_P(InstallPowerLoss, AFailedTestBootRevertsToTheOldImage) {
  const TestBootHook refuse = [](const std::string&) -> Status {
    return Fail(ErrorCode::kVerifyFailed, "the new image does not boot");
  };
  bool completed = false;
  for (long n = 0; !completed && n < kMaxSteps; ++n) {
    SCOPED_TRACE("power lost after step " + std::to_string(n));
    Prepare(false);
    FaultFs ffs;
    ffs.Watch(Dir());
    {
      auto s = Open(&ffs, refuse);
      ASSERT_TRUE(s) << s.error().ToString();
      ffs.CrashAfter(n);
      auto st = s->Install(MakeEnvelope(2, Image(2)), Image(2));
      ASSERT_FALSE(st);
      // The refusal reached its end (reverted and persisted) when the file system still works.
      completed = !ffs.crashed();
      if (completed) {
        ASSERT_TRUE(s->state().last_result);
        EXPECT_FALSE(s->state().last_result->ok);
      }
    }
    ffs.PowerLoss(GetParam());
    auto v = Reopen();
    ASSERT_TRUE(v) << v.error().ToString();
    EXPECT_EQ(*v, old_) << Describe(*v);
    if (completed) {  // the revert was acknowledged: its record survives
      auto s = Open();
      ASSERT_TRUE(s);
      ASSERT_TRUE(s->state().last_result);
      EXPECT_FALSE(s->state().last_result->ok);
      EXPECT_NE(s->state().last_result->message.find("does not boot"), std::string::npos);
    }
  }
  EXPECT_TRUE(completed);
}

TEST_P(InstallPowerLoss, RecoverOfAnInterruptedInstallSurvivesAPowerLossItself) {
  bool completed = false;
  for (long n = 0; !completed && n < kMaxSteps; ++n) {
    SCOPED_TRACE("power lost after step " + std::to_string(n));
    Prepare(false);
    {  // an install written but never test-booted, on the real file system, plus a stray temp
      auto s = Open();
      ASSERT_TRUE(s);
      auto v = s->Verify(MakeEnvelope(2, Image(2)), Image(2));
      ASSERT_TRUE(v);
      ASSERT_TRUE(s->Write(*v, Image(2)));
      WriteBytes(std::filesystem::path(Dir()) / ".slot-a.img.tmp", Image(9, 100));
    }
    FaultFs ffs;
    ffs.Watch(Dir());
    {
      auto s = Open(&ffs);
      ASSERT_TRUE(s);
      ASSERT_TRUE(s->state().pending);
      ffs.CrashAfter(n);
      auto r = s->Recover();
      completed = r.has_value();
      if (completed) {
        EXPECT_EQ(r->action, RecoveryAction::kDiscardedWritten);
      }
    }
    ffs.PowerLoss(GetParam());
    auto v = Reopen();
    ASSERT_TRUE(v) << v.error().ToString();
    EXPECT_EQ(*v, old_) << Describe(*v);
    if (completed) {  // the discarding was acknowledged: it survives, with its last_result
      auto s = Open();
      ASSERT_TRUE(s);
      EXPECT_FALSE(s->state().pending);
    }
  }
  EXPECT_TRUE(completed);
}

TEST_P(InstallPowerLoss, InitializeLeavesNothingOrTheFactoryImage) {
  bool completed = false;
  for (long n = 0; !completed && n < kMaxSteps; ++n) {
    SCOPED_TRACE("power lost after step " + std::to_string(n));
    std::filesystem::remove_all(Dir());
    std::filesystem::create_directories(Dir());
    FaultFs ffs;
    ffs.Watch(Dir());
    {
      auto s = Open(&ffs);
      ASSERT_TRUE(s);
      ffs.CrashAfter(n);
      completed = s->Initialize(Image(1), 1).has_value();
    }
    ffs.PowerLoss(GetParam());
    auto s = Open();
    ASSERT_TRUE(s) << s.error().ToString();
    if (!s->initialized()) {
      EXPECT_FALSE(completed) << "an acknowledged Initialize was lost";
      EXPECT_TRUE(s->Initialize(Image(1), 1));  // and the device can start over
    }
    auto r = s->Recover();
    ASSERT_TRUE(r) << r.error().ToString();
    EXPECT_EQ(s->state().active_image.sequence_number, 1u);
    EXPECT_EQ(s->state().active_image.digest, Sha256Of(Image(1)));
  }
  EXPECT_TRUE(completed);
}

// Every test twice: the power loss drops every unsynced directory change, or keeps only the newest
// (metadata written back out of order).
INSTANTIATE_TEST_SUITE_P(Keep, InstallPowerLoss,
                         ::testing::Values(FaultFs::Keep::kNothing, FaultFs::Keep::kLastChange),
                         [](const ::testing::TestParamInfo<FaultFs::Keep>& i) {
                           return i.param == FaultFs::Keep::kNothing ? "DropAll" : "KeepNewest";
                         });

}  // namespace
}  // namespace secprof::update

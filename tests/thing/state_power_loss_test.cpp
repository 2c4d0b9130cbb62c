// Power-loss tests for the thing's state.json (src/thing/state_io.h: SaveState, the write behind
// every lifecycle transition of the agent, Agent::Impl::Commit). The state carries the thing's
// wrapped secrets, its lifecycle state and its replay counters: after a power loss at any step of
// a write it must be the previous state or the new one, whole, and once SaveState returned Ok the
// new one. tests/support/fault_fs.h drops what was not fsynced: removing the file fsync or the
// directory fsync from WriteFileAtomic makes these tests fail.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "../../src/thing/internal.h"  // StateToJson, to compare states whole
#include "../../src/thing/state_io.h"
#include "support/fault_fs.h"
#include "testutil.h"

namespace secprof::thing {
namespace {

using secprof::testing::FaultFs;
using secprof::testing::TempDir;

constexpr long kMaxSteps = 100;

ThingState Sample(State s, uint64_t counter, const std::string& secrets) {
  ThingState t;
  t.state = s;
  t.serial = "SN-0001";
  t.vendor = "Acme";
  t.model = "Sensor";
  t.kdc_host = "127.0.0.1";
  t.kdc_udp = 5683;
  t.kdc_dtls = 5684;
  t.link_counter = counter;
  t.reading_reserved = counter * 64;
  t.link_seen = {{"SN-0002", counter}};
  t.history.push_back({1700000000, "manufactured", StateName(s), "test"});
  t.wrapped_secrets = secrets;
  t.kek = "file";
  t.kek_id = "kek-1";
  return t;
}

class StatePowerLoss : public ::testing::TestWithParam<FaultFs::Keep> {
 protected:
  std::string Path() const { return (tmp_.path() / "state.json").string(); }
  TempDir tmp_;
};

TEST_P(StatePowerLoss, ATransitionIsOldOrNewAndDurableOnceAcknowledged) {
  const ThingState before = Sample(State::kInstalled, 1, std::string(512, 'a'));
  const ThingState after = Sample(State::kOperational, 2, std::string(4096, 'b'));
  const std::string old_json = StateToJson(before), new_json = StateToJson(after);
  bool completed = false;
  for (long n = 0; !completed && n < kMaxSteps; ++n) {
    SCOPED_TRACE("power lost after step " + std::to_string(n));
    std::filesystem::remove_all(tmp_.path());
    std::filesystem::create_directories(tmp_.path());
    ASSERT_TRUE(SaveState(Path(), before));  // the real file system: synced
    FaultFs ffs;
    ffs.Watch(tmp_.path().string());
    ffs.CrashAfter(n);
    completed = SaveState(Path(), after, ffs).has_value();
    ffs.PowerLoss(GetParam());
    auto back = LoadState(Path());
    ASSERT_TRUE(back) << "state.json unreadable after the power loss: " << back.error().ToString();
    const std::string json = StateToJson(*back);
    if (completed) {
      EXPECT_EQ(json, new_json) << "an acknowledged transition was lost";
    } else {
      EXPECT_TRUE(json == old_json || json == new_json) << json;
    }
    EXPECT_EQ(back->wrapped_secrets,
              json == new_json ? after.wrapped_secrets : before.wrapped_secrets);
  }
  EXPECT_TRUE(completed);
}

TEST_P(StatePowerLoss, TheFirstStateIsAbsentOrWhole) {
  const ThingState t = Sample(State::kManufactured, 0, "");
  bool completed = false;
  for (long n = 0; !completed && n < kMaxSteps; ++n) {
    SCOPED_TRACE("power lost after step " + std::to_string(n));
    std::filesystem::remove_all(tmp_.path());
    std::filesystem::create_directories(tmp_.path());
    FaultFs ffs;
    ffs.CrashAfter(n);
    completed = SaveState(Path(), t, ffs).has_value();
    ffs.PowerLoss(GetParam());
    if (!completed && !std::filesystem::exists(Path())) continue;
    auto back = LoadState(Path());
    ASSERT_TRUE(back) << back.error().ToString();
    EXPECT_EQ(StateToJson(*back), StateToJson(t));
  }
  EXPECT_TRUE(completed);
}

TEST(StateSave, FailsWhenTheDirectoryCannotBeSynced) {
  TempDir tmp;
  const std::string path = (tmp.path() / "state.json").string();
  FaultFs ffs;
  ASSERT_TRUE(SaveState(path, Sample(State::kInstalled, 1, "aa"), ffs));
  ffs.FailNext(FaultFs::Op::kSyncDir);
  // The agent adopts a transition only when this returns Ok (Agent::Impl::Commit).
  EXPECT_FALSE(SaveState(path, Sample(State::kOperational, 2, "bb"), ffs));
}

INSTANTIATE_TEST_SUITE_P(Keep, StatePowerLoss,
                         ::testing::Values(FaultFs::Keep::kNothing, FaultFs::Keep::kLastChange),
                         [](const ::testing::TestParamInfo<FaultFs::Keep>& i) {
                           return i.param == FaultFs::Keep::kNothing ? "DropAll" : "KeepNewest";
                         });

}  // namespace
}  // namespace secprof::thing

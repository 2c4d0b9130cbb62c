// Power-cut tests for the installer: for every step of kInstallSteps, a child process installs an
// update and dies at that step (_exit, or SIGKILL to itself); the parent then opens the store,
// runs Recover() and checks the invariants:
//   - the active slot's file hashes to the digest the state records (and has its size);
//   - the floor is not below the active sequence number;
//   - the device is on the old image or the new one, and on the new one only if the crash came
//     after the confirmation was persisted;
//   - no install is pending and no temp file is left;
//   - installing the same update again succeeds if it had not been confirmed, and is refused as a
//     replay if it had.
// Every child is waited for; none outlives its test.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "install_testutil.h"
#include "testutil.h"

namespace secprof::update {
namespace {

using namespace installtest;
using secprof::testing::TempDir;

enum class Death { kExit, kSigkill };
constexpr int kCrashExit = 42;

void Die(Death how) {
  if (how == Death::kSigkill) ::kill(::getpid(), SIGKILL);
  ::_exit(kCrashExit);
}

// Runs `body` in a child that dies at `step`; returns true when the child died there.
template <class Body>
bool RunChildDyingAt(std::string_view step, Death how, Body body) {
  const pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    body([step, how](std::string_view s) {
      if (s == step) Die(how);
    });
    ::_exit(0);  // the step was never reached
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return false;
  if (how == Death::kSigkill) return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  return WIFEXITED(status) && WEXITSTATUS(status) == kCrashExit;
}

bool IsRevertStep(std::string_view step) { return step.rfind("revert:", 0) == 0; }

struct CrashCase {
  std::string step;
  Death how;
  bool second_update;  // the store has been through a -> b -> a before (slot b holds an image)
};

std::string Name(const ::testing::TestParamInfo<CrashCase>& i) {
  std::string n = i.param.step;
  for (char& c : n)
    if (c == ':' || c == '-') c = '_';
  return n + (i.param.how == Death::kExit ? "_exit" : "_sigkill") +
         (i.param.second_update ? "_again" : "");
}

class InstallCrash : public ::testing::TestWithParam<CrashCase> {
 protected:
  std::string Dir() const { return (tmp_.path() / "fw").string(); }
  TempDir tmp_;
};

TEST_P(InstallCrash, RecoverLeavesAConsistentStore) {
  const CrashCase& c = GetParam();
  // Before: a device on sequence `old_seq` (after two updates when second_update).
  uint64_t old_seq = 1;
  {
    auto s = SlotStore::Open(Dir(), Identity());
    ASSERT_TRUE(s) << s.error().ToString();
    ASSERT_TRUE(s->Initialize(Image(1), 1));
    if (c.second_update) {
      ASSERT_TRUE(s->Install(MakeEnvelope(2, Image(2)), Image(2)));
      ASSERT_TRUE(s->Install(MakeEnvelope(3, Image(3)), Image(3)));
      old_seq = 3;
    }
  }  // closed: the child takes the lock
  const uint64_t new_seq = old_seq + 1;
  const Bytes new_image = Image(new_seq, 20000);
  const Bytes old_image = Image(old_seq);
  const Bytes env = MakeEnvelope(new_seq, new_image);
  const auto img_path = tmp_.path() / "download.bin";
  WriteBytes(img_path, new_image);

  const bool failing_test = IsRevertStep(c.step);
  ASSERT_TRUE(RunChildDyingAt(c.step, c.how,
                              [&](CrashPoint crash) {
                                InstallOptions opt;
                                opt.crash_point = std::move(crash);
                                if (failing_test)
                                  opt.test_boot = [](const std::string&) -> Status {
                                    return Fail(ErrorCode::kVerifyFailed,
                                                "the new image did not come up");
                                  };
                                auto s = SlotStore::Open(Dir(), Identity(), std::move(opt));
                                if (!s) ::_exit(2);
                                (void)s->InstallFile(env, img_path.string());
                                ::_exit(3);
                              }))
      << "the child did not die at " << c.step;

  auto s = SlotStore::Open(Dir(), Identity());
  ASSERT_TRUE(s) << s.error().ToString();
  auto r = s->Recover();
  ASSERT_TRUE(r) << c.step << ": " << r.error().ToString();

  const SlotState& st = s->state();
  EXPECT_FALSE(st.pending);
  EXPECT_GE(st.floor, st.active_image.sequence_number);
  const Bytes active = ReadBytes(s->SlotPath(st.active));
  EXPECT_EQ(Sha256Of(active), st.active_image.digest);
  EXPECT_EQ(active.size(), st.active_image.size);
  const bool confirmed = c.step == "confirm:state-confirmed";
  if (confirmed) {
    EXPECT_EQ(st.active_image.sequence_number, new_seq);
    EXPECT_EQ(active, new_image);
    EXPECT_EQ(st.floor, new_seq);
  } else {
    EXPECT_EQ(st.active_image.sequence_number, old_seq);
    EXPECT_EQ(active, old_image);
    EXPECT_EQ(st.floor, old_seq);
  }
  // What Recover did, by phase: after the "written" state, a discard; after "testing", a revert
  // (the revert steps die before or after the revert is persisted).
  RecoveryAction want = RecoveryAction::kNone;
  if (c.step == "write:state-written") want = RecoveryAction::kDiscardedWritten;
  if (c.step == "test:state-testing" || c.step == "test:hook-passed" ||
      c.step == "revert:before-state")
    want = RecoveryAction::kRevertedTesting;
  EXPECT_EQ(r->action, want) << r->message;
  EXPECT_EQ(r->temp_files_removed, c.step == "write:slot-temp" ? 1u : 0u);
  for (const auto& e : std::filesystem::directory_iterator(Dir()))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();

  // The same update again.
  auto again = s->InstallFile(env, img_path.string());
  if (confirmed) {
    ASSERT_FALSE(again);
    EXPECT_TRUE(again.error().Is(kReplay)) << again.error().ToString();
  } else {
    ASSERT_TRUE(again) << c.step << ": " << again.error().ToString();
    EXPECT_EQ(s->state().active_image.sequence_number, new_seq);
    EXPECT_EQ(ReadBytes(s->SlotPath(s->state().active)), new_image);
  }
  EXPECT_EQ(s->state().floor, new_seq);
}

std::vector<CrashCase> Cases() {
  std::vector<CrashCase> v;
  for (std::string_view step : kInstallSteps) {
    if (step.rfind("init:", 0) == 0) continue;  // Initialize: its own test below
    for (Death how : {Death::kExit, Death::kSigkill})
      for (bool again : {false, true}) v.push_back({std::string(step), how, again});
  }
  return v;
}

INSTANTIATE_TEST_SUITE_P(EveryStep, InstallCrash, ::testing::ValuesIn(Cases()), Name);

TEST(InstallCrashInit, InterruptedInitializeCanBeRedone) {
  TempDir tmp;
  const std::string dir = (tmp.path() / "fw").string();
  ASSERT_TRUE(RunChildDyingAt("init:slot-renamed", Death::kSigkill, [&](CrashPoint crash) {
    InstallOptions opt;
    opt.crash_point = std::move(crash);
    auto s = SlotStore::Open(dir, Identity(), std::move(opt));
    if (!s) ::_exit(2);
    (void)s->Initialize(Image(1), 1);
    ::_exit(3);
  }));
  auto s = SlotStore::Open(dir, Identity());
  ASSERT_TRUE(s) << s.error().ToString();
  EXPECT_FALSE(s->initialized());
  auto r = s->Recover();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(s->Initialize(Image(1), 1));
  auto r2 = s->Recover();
  ASSERT_TRUE(r2) << r2.error().ToString();
  ASSERT_TRUE(s->Install(MakeEnvelope(2, Image(2)), Image(2)));
  EXPECT_EQ(s->state().floor, 2u);
}

// Every step name is reached by some install path (so the parameterised test covers them all).
TEST(InstallCrashSteps, EveryStepIsReached) {
  TempDir tmp;
  std::vector<std::string> seen;
  InstallOptions opt;
  opt.crash_point = [&](std::string_view s) { seen.emplace_back(s); };
  bool fail_boot = false;
  opt.test_boot = [&](const std::string&) -> Status {
    if (fail_boot) return Fail(ErrorCode::kVerifyFailed, "down");
    return Ok();
  };
  auto s = SlotStore::Open((tmp.path() / "fw").string(), Identity(), std::move(opt));
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->Initialize(Image(1), 1));
  ASSERT_TRUE(s->Install(MakeEnvelope(2, Image(2)), Image(2)));
  fail_boot = true;
  ASSERT_FALSE(s->Install(MakeEnvelope(3, Image(3)), Image(3)));
  for (std::string_view step : kInstallSteps)
    EXPECT_NE(std::find(seen.begin(), seen.end(), step), seen.end()) << step;
}

}  // namespace
}  // namespace secprof::update

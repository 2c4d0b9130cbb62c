// The lab's runner (secprof/lab/runner.h): order, directories, lab errors, negative controls,
// parallel workers, the selection, and one real scenario through the whole matrix.
#include <gtest/gtest.h>

#include <set>

#include "fake_scenario.h"
#include "secprof/lab/runner.h"
#include "testutil.h"

namespace secprof::lab {
namespace {

using testing::FakeInfo;
using testing::FakeScenario;
using testing::Measured;

// Blocked in SecProf_3/4, succeeded below; with the defence off, always succeeded.
Result<Measurement> ByProfile(const RunContext& ctx) {
  if (ctx.defence_off) return Measured(Outcome::kSucceeded, "", "defence off");
  if (ctx.profile >= domain::Profile::kSecProf3)
    return Measured(Outcome::kBlocked, "kdc.admission", "no-voucher");
  return Measured(Outcome::kSucceeded, "", "joined");
}

TEST(LabRunner, CellsAreScenarioMajorAndEachRunHasItsOwnEmptyDirectoryRemovedAfter) {
  secprof::testing::TempDir base;
  FakeScenario a(FakeInfo("lab.fake_a", "T2", "installation", {}, false), ByProfile);
  FakeScenario b(FakeInfo("lab.fake_b", "T3", "operation", {}, false), ByProfile);
  RunOptions o;
  o.base_dir = base.path();
  o.seed = 42;
  o.jobs = 1;
  auto m = RunScenarios({&a, &b}, o);
  ASSERT_TRUE(m.has_value()) << m.error().message();
  ASSERT_EQ(m->cells.size(), 8u);  // 2 scenarios x 4 profiles
  EXPECT_EQ(m->scenarios, (std::vector<std::string>{"lab.fake_a", "lab.fake_b"}));
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(m->cells[i].scenario, i < 4 ? "lab.fake_a" : "lab.fake_b");
    EXPECT_EQ(m->cells[i].profile, static_cast<domain::Profile>(i % 4 + 1));
    EXPECT_TRUE(m->cells[i].attack.ok());
    EXPECT_FALSE(m->cells[i].negative.has_value());  // no negative control declared
  }
  EXPECT_EQ(m->cells[2].attack.measurement.outcome, Outcome::kBlocked);
  std::set<std::filesystem::path> dirs;
  for (const auto& s : a.seen()) {
    EXPECT_TRUE(s.dir_was_empty_directory) << s.dir;
    EXPECT_FALSE(std::filesystem::exists(s.dir)) << s.dir << " left behind";
    EXPECT_EQ(s.seed, 42u);
    EXPECT_FALSE(s.defence_off);
    dirs.insert(s.dir);
  }
  for (const auto& s : b.seen()) dirs.insert(s.dir);
  EXPECT_EQ(dirs.size(), 8u);  // one directory per run
  EXPECT_GT(m->seconds, 0.0);
}

TEST(LabRunner, AnErrorOrAnExceptionIsALabErrorNeverAnOutcome) {
  secprof::testing::TempDir base;
  FakeScenario err(FakeInfo("lab.fake_error", "T2", "installation", {}, false),
                   [](const RunContext&) -> Result<Measurement> {
                     return Fail(ErrorCode::kIo, "no free port");
                   });
  FakeScenario thrown(
      FakeInfo("lab.fake_throw", "T2", "installation", {}, false),
      [](const RunContext&) -> Result<Measurement> { throw std::runtime_error("boom"); });
  RunOptions o;
  o.base_dir = base.path();
  o.profiles = {domain::Profile::kSecProf2};
  auto m = RunScenarios({&err, &thrown}, o);
  ASSERT_TRUE(m.has_value());
  ASSERT_EQ(m->cells.size(), 2u);
  EXPECT_FALSE(m->cells[0].attack.ok());
  EXPECT_NE(m->cells[0].attack.error.find("no free port"), std::string::npos);
  EXPECT_FALSE(m->cells[1].attack.ok());
  EXPECT_NE(m->cells[1].attack.error.find("boom"), std::string::npos);
}

TEST(LabRunner, NegativeControlsRunWithTheDefenceOffUnlessSwitchedOff) {
  secprof::testing::TempDir base;
  FakeScenario s(FakeInfo("lab.fake_neg", "T2", "installation", {}, true), ByProfile);
  RunOptions o;
  o.base_dir = base.path();
  o.profiles = {domain::Profile::kSecProf3};
  auto m = RunScenarios({&s}, o);
  ASSERT_TRUE(m.has_value());
  ASSERT_EQ(m->cells.size(), 1u);
  EXPECT_EQ(m->cells[0].attack.measurement.outcome, Outcome::kBlocked);
  ASSERT_TRUE(m->cells[0].negative.has_value());
  EXPECT_EQ(m->cells[0].negative->measurement.outcome, Outcome::kSucceeded);
  int off = 0;
  for (const auto& seen : s.seen()) off += seen.defence_off;
  EXPECT_EQ(off, 1);

  o.negative_controls = false;
  m = RunScenarios({&s}, o);
  ASSERT_TRUE(m.has_value());
  EXPECT_FALSE(m->cells[0].negative.has_value());
  EXPECT_FALSE(m->negative_controls);
}

TEST(LabRunner, ParallelWorkersGiveTheSameMatrixAndReportEveryRunOnce) {
  secprof::testing::TempDir base;
  FakeScenario a(FakeInfo("lab.fake_a", "T2", "installation", {}, true), ByProfile);
  FakeScenario b(FakeInfo("lab.fake_b", "T3", "operation", {}, false), ByProfile);
  auto run = [&](int jobs, size_t* reported) {
    RunOptions o;
    o.base_dir = base.path() / std::to_string(jobs);
    o.jobs = jobs;
    o.progress = [reported](const RunProgress& p) {
      ++*reported;
      EXPECT_EQ(p.done, *reported);
      EXPECT_EQ(p.total, 12u);  // 8 attacks + 4 negative controls
      EXPECT_NE(p.record, nullptr);
    };
    return RunScenarios({&a, &b}, o);
  };
  size_t n1 = 0, n4 = 0;
  auto one = run(1, &n1);
  auto four = run(4, &n4);
  ASSERT_TRUE(one.has_value());
  ASSERT_TRUE(four.has_value());
  EXPECT_EQ(n1, 12u);
  EXPECT_EQ(n4, 12u);
  ASSERT_EQ(one->cells.size(), four->cells.size());
  for (size_t i = 0; i < one->cells.size(); ++i) {
    EXPECT_EQ(one->cells[i].scenario, four->cells[i].scenario);
    EXPECT_EQ(one->cells[i].profile, four->cells[i].profile);
    EXPECT_EQ(one->cells[i].attack.measurement.outcome, four->cells[i].attack.measurement.outcome);
    EXPECT_EQ(one->cells[i].negative.has_value(), four->cells[i].negative.has_value());
  }
}

TEST(LabRunner, BadSelectionsAreRefused) {
  RunOptions o;
  o.scenarios = {"lab.no_such_scenario"};
  auto a = RunMatrix(o);
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().code(), ErrorCode::kInvalidInput);
  EXPECT_NE(a.error().message().find("lab.no_such_scenario"), std::string::npos);

  RunOptions none;
  none.threats = {"T2.9"};  // selects nothing
  EXPECT_FALSE(RunMatrix(none).has_value());

  FakeScenario s(FakeInfo("lab.fake", "T2", "installation", {}, false), ByProfile);
  RunOptions jobs;
  jobs.jobs = 0;
  EXPECT_FALSE(RunScenarios({&s}, jobs).has_value());
  jobs.jobs = 17;
  EXPECT_FALSE(RunScenarios({&s}, jobs).has_value());
}

TEST(LabRunner, ThreatFiltersSelectTheirScenariosAndSubAttacks) {
  RunOptions o;
  o.threats = {"T2"};
  auto s = SelectScenarios(o);
  ASSERT_TRUE(s.has_value());
  for (const Scenario* sc : *s) EXPECT_EQ(sc->info().threat.substr(0, 2), "T2");
  bool substitute = false;
  for (const Scenario* sc : *s) substitute = substitute || sc->info().id == "lab.substitute";
  EXPECT_TRUE(substitute);
  // "T7" selects the routing sub-attacks, when they exist.
  o.threats = {"T7"};
  if (auto t7 = SelectScenarios(o)) {
    for (const Scenario* sc : *t7) EXPECT_EQ(sc->info().threat.rfind("T7", 0), 0u);
  }
}

TEST(LabRunner, TheRealSubstituteScenarioAcrossSecProf1And2) {
  RunOptions o;
  o.scenarios = {"lab.substitute"};
  o.profiles = {domain::Profile::kSecProf1, domain::Profile::kSecProf2};
  auto m = RunMatrix(o);
  ASSERT_TRUE(m.has_value()) << m.error().message();
  ASSERT_EQ(m->cells.size(), 2u);
  ASSERT_TRUE(m->cells[0].attack.ok()) << m->cells[0].attack.error;
  ASSERT_TRUE(m->cells[1].attack.ok()) << m->cells[1].attack.error;
  EXPECT_EQ(m->cells[0].attack.measurement.outcome, Outcome::kNotApplicable);
  EXPECT_EQ(m->cells[1].attack.measurement.outcome, Outcome::kBlocked);
  EXPECT_EQ(m->cells[1].attack.measurement.control, "kdc.admission");
  EXPECT_TRUE(m->tokens_problem.empty());  // no token profile selected: no pool needed
}

}  // namespace
}  // namespace secprof::lab

// secprof::scenario in-process: a fleet, and a profile's whole run with its structured result.
// (SecProf_3/4 need SoftHSM2 tokens; `secprof demo` runs them, tests/cli checks the demo.)
#include "secprof/scenario/scenario.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "testutil.h"

namespace secprof::scenario {
namespace {

namespace fs = std::filesystem;

class Scenario : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("secprof-scenario-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(Scenario, MakeFleetManufacturesAndInitialisesEveryThing) {
  auto fleet = MakeFleet({dir_, domain::Profile::kSecProf2, "Acme", 3, nullptr});
  ASSERT_TRUE(fleet) << fleet.error().ToString();
  ASSERT_EQ(fleet->things.size(), 3u);
  EXPECT_EQ(fleet->manifest.vendor, "Acme");
  EXPECT_EQ(fleet->manifest.model, "Sensor");
  EXPECT_FALSE(fleet->token_keys);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(fleet->things[i]->state().serial, fleet->manifest.things[i].serial);
    EXPECT_EQ(fleet->things[i]->state().state, thing::State::kManufactured);
    EXPECT_TRUE(fs::exists(dir_ / "things" / fleet->manifest.things[i].serial));
  }
}

TEST_F(Scenario, SecProf2RunsTheWholeManagedLifecycle) {
  std::vector<std::string> said;
  RunOptions o{dir_ / "SecProf_2", 3, nullptr,
               [&](const std::string& p, const std::string& m) { said.push_back(p + " " + m); }};
  ProfileRun run = RunProfile(domain::Profile::kSecProf2, o);
  EXPECT_EQ(run.profile, "SecProf_2");
  EXPECT_TRUE(run.failures.empty()) << run.failures.front();
  EXPECT_EQ(run.things, 4);  // three and one spare
  EXPECT_EQ(run.joined, 3);
  EXPECT_GT(run.join_seconds, 0);
  // The spare joined before it was admitted: refused by the KDC and noted.
  uint64_t refusals = 0;
  for (const auto& [reason, n] : run.refused) refusals += n;
  EXPECT_GE(refusals, 1u);
  bool noted = false;
  for (const auto& n : run.notes)
    noted = noted || n.find("join of a device the owner did not admit") != std::string::npos;
  EXPECT_TRUE(noted);
  // At the end: one decommissioned, the spare replaced it; everyone else operational.
  EXPECT_EQ(run.states["decommissioned"], 1);
  EXPECT_EQ(run.states["operational"], 3);
  ASSERT_FALSE(said.empty());
  EXPECT_EQ(said.front(), "SecProf_2 manufactured 4 things (1 spare)");
}

TEST_F(Scenario, SecProf1PairsEveryThingWithTheMother) {
  ProfileRun run = RunProfile(domain::Profile::kSecProf1, {dir_ / "SecProf_1", 3, nullptr, {}});
  EXPECT_TRUE(run.failures.empty()) << run.failures.front();
  EXPECT_EQ(run.things, 3);
  EXPECT_EQ(run.joined, 3);          // the mother and the two she paired
  EXPECT_TRUE(run.refused.empty());  // no KDC
  // No KDC either for firmware: a paired thing installed the vendor's fix from its update service.
  bool updated = false;
  for (const auto& n : run.notes)
    updated |= n.find("installed sequence 2 from HomeCo's update service") != std::string::npos;
  EXPECT_TRUE(updated) << ::testing::PrintToString(run.notes);
}

TEST_F(Scenario, AVoucherProfileWithoutATokenIsAFailure) {
  Tokens none;
  none.problem = "no SoftHSM2 in this test";
  ProfileRun run = RunProfile(domain::Profile::kSecProf3, {dir_ / "SecProf_3", 3, &none, {}});
  bool said = false;
  for (const auto& f : run.failures)
    said = said || f == "no PKCS#11 token for this profile: no SoftHSM2 in this test";
  EXPECT_TRUE(said);
}

}  // namespace
}  // namespace secprof::scenario

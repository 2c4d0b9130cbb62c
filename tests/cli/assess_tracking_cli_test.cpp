// `secprof assess` with risk tracking and consistency warnings (issue 12, items 2 and 3), through
// the built binary: --fail-on honours unexpired acceptances, --date decides expiry, --strict
// refuses a model with warnings and writes nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "testutil.h"

namespace secprof {
namespace {

using secprof::testing::Binary;
using secprof::testing::RunResult;
using secprof::testing::SourceDir;
using secprof::testing::TempDir;

std::string Example(const std::string& name) {
  return (SourceDir() / "examples" / (name + ".yaml")).string();
}

RunResult Cli(const std::string& args) { return secprof::testing::Run(Binary() + " " + args); }

TEST(AssessTrackingCliTest, TrackedExamplesPassFailOnModerateUntilTheyExpire) {
  for (const char* ex : {"managed-home", "office-building", "industrial-plant"}) {
    const std::string tracked = Example(std::string(ex) + "-tracked");
    EXPECT_EQ(Cli("assess " + tracked + " --fail-on moderate --date 2026-12-07").exit_code, 0)
        << ex;
    // Without the decisions the same system fails the gate.
    EXPECT_EQ(Cli("assess " + Example(ex) + " --fail-on moderate --date 2026-12-07").exit_code, 1)
        << ex;
    // The first decision of each tracked example expires on 2036-12-01: then it counts again.
    RunResult later = Cli("assess " + tracked + " --fail-on moderate --date 2036-12-01");
    EXPECT_EQ(later.exit_code, 1) << ex;
  }
}

TEST(AssessTrackingCliTest, BadDateIsBadInput) {
  RunResult r = Cli("assess " + Example("home-lighting") + " --date 2026-02-30 2>&1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("YYYY-MM-DD"), std::string::npos) << r.out;
}

TEST(AssessTrackingCliTest, StrictRefusesWarningsAndWritesNothing) {
  TempDir dir;
  const auto out = dir.path() / "report.json";
  std::ofstream(out) << "previous";
  RunResult r = Cli("assess " + Example("managed-home") + " --strict --format json --out " +
                    out.string() + " 2>&1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("mitigation_contradicted"), std::string::npos) << r.out;
  std::ifstream in(out);
  std::string kept((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(kept, "previous");
  // The legitimate path: a model without warnings passes --strict.
  EXPECT_EQ(Cli("assess " + Example("home-lighting") + " --strict --date 2026-12-07").exit_code, 0);
}

TEST(AssessTrackingCliTest, HelpDocumentsTheNewOptions) {
  RunResult r = Cli("assess --help");
  for (const char* opt : {"--date", "--strict"}) {
    EXPECT_NE(r.out.find(opt), std::string::npos) << opt;
  }
}

}  // namespace
}  // namespace secprof

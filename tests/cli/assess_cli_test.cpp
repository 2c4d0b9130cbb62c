// End-to-end tests of `secprof assess` and `secprof demo` through the built binary: exit codes,
// every output format, --out, --fail-on, bad input, and golden JSON for the worked examples.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

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

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(AssessCliTest, JsonHasTheDocumentedTopLevel) {
  RunResult r = Cli("assess " + Example("office-building") + " --format json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["schema"], "secprof-assessment/3");
  EXPECT_EQ(j["profile"]["id"], "SecProf_3");
  ASSERT_TRUE(j["threats"].is_array());
  ASSERT_FALSE(j["threats"].empty());
  for (const auto& t : j["threats"]) {
    for (const char* k : {"id", "phase", "layer", "likelihood", "impact", "risk", "mitigated_by",
                          "why", "residual_risk"}) {
      EXPECT_TRUE(t.contains(k)) << "threat lacks " << k;
    }
  }
  EXPECT_TRUE(j["gaps"].is_array());
  EXPECT_TRUE(j["bia"].is_array());
  EXPECT_TRUE(j["pia"].is_array());
  EXPECT_TRUE(j["standards"]["etsi_en_303_645"].is_array());
}

TEST(AssessCliTest, SarifIsStructurallyValid) {
  RunResult r = Cli("assess " + Example("industrial-plant") + " --format sarif");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["version"], "2.1.0");
  ASSERT_EQ(j["runs"].size(), 1u);
  const auto& run = j["runs"][0];
  EXPECT_EQ(run["tool"]["driver"]["name"], "secprof");
  const auto& rules = run["tool"]["driver"]["rules"];
  ASSERT_FALSE(run["results"].empty());
  for (const auto& res : run["results"]) {
    // SARIF 2.1.0 §3.27: ruleIndex points at the rule with the same id; level is an enum value.
    const int idx = res["ruleIndex"];
    ASSERT_LT(static_cast<size_t>(idx), rules.size());
    EXPECT_EQ(rules[idx]["id"], res["ruleId"]);
    const std::string level = res["level"];
    EXPECT_TRUE(level == "error" || level == "warning" || level == "note") << level;
    EXPECT_FALSE(res["message"]["text"].get<std::string>().empty());
    const auto& loc = res["locations"][0]["physicalLocation"];
    EXPECT_EQ(loc["artifactLocation"]["uri"], Example("industrial-plant"));
    EXPECT_GE(loc["region"]["startLine"].get<int>(), 1);
  }
}

TEST(AssessCliTest, TextMarkdownAndHtmlRender) {
  RunResult t = Cli("assess " + Example("managed-home"));
  ASSERT_EQ(t.exit_code, 0);
  EXPECT_NE(t.out.find("PROFILE  SecProf_2"), std::string::npos);
  EXPECT_NE(t.out.find("accepted by design"), std::string::npos);
  RunResult m = Cli("assess " + Example("managed-home") + " --format md");
  ASSERT_EQ(m.exit_code, 0);
  EXPECT_NE(m.out.find("## Profile: SecProf_2"), std::string::npos);
  TempDir dir;
  auto out = dir.path() / "r.html";
  RunResult h = Cli("assess " + Example("managed-home") + " --format html --out " + out.string());
  ASSERT_EQ(h.exit_code, 0) << h.out;
  EXPECT_TRUE(h.out.empty());  // the report went to the file, not stdout
  std::string html = Slurp(out);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(std::count(html.begin(), html.end(), '<') > 100, true);
  EXPECT_NE(html.find("aria-label=\"Threats by lifecycle phase and layer\""), std::string::npos);
  EXPECT_NE(html.find("aria-label=\"Risk matrix\""), std::string::npos);
  // Self-contained: no script, no external resource.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
}

TEST(AssessCliTest, FailOnGatesOnResidualRisk) {
  // The industrial plant keeps high residual risks; the home lighting kit has none above low.
  RunResult hi = Cli("assess " + Example("industrial-plant") + " --fail-on high 2>&1");
  EXPECT_EQ(hi.exit_code, 1) << hi.out;
  EXPECT_NE(hi.out.find("--fail-on high"), std::string::npos);
  EXPECT_EQ(Cli("assess " + Example("home-lighting") + " --fail-on moderate").exit_code, 0);
  EXPECT_EQ(Cli("assess " + Example("home-lighting") + " --fail-on low").exit_code, 1);
}

TEST(AssessCliTest, BadInputExitsTwoWithLocation) {
  TempDir dir;
  auto bad = dir.path() / "bad.yaml";
  std::ofstream(bad) << "name: x\nthings:\n  - id: a\n    vendor: V\n    colour: red\n";
  RunResult r = Cli("assess " + bad.string() + " 2>&1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find(bad.string() + ":5:5: field 'things[0].colour': unknown key"),
            std::string::npos)
      << r.out;
  RunResult missing = Cli("assess /nonexistent/model.yaml 2>&1");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.out.find("/nonexistent/model.yaml"), std::string::npos);
  EXPECT_EQ(Cli("assess " + Example("home-lighting") + " --format pdf 2>&1").exit_code, 2);
  EXPECT_EQ(Cli("assess " + Example("home-lighting") + " --fail-on extreme 2>&1").exit_code, 2);
  EXPECT_EQ(Cli("assess 2>&1").exit_code, 2);
  auto unknown = dir.path() / "unknown-mitigation.yaml";
  std::ofstream(unknown) << "name: x\nthings: [{id: a, vendor: V}]\nmitigations: [M.app.magic]\n";
  RunResult u = Cli("assess " + unknown.string() + " 2>&1");
  EXPECT_EQ(u.exit_code, 2);
  EXPECT_NE(u.out.find(":3:15: field 'mitigations[0]': unknown mitigation 'M.app.magic'"),
            std::string::npos)
      << u.out;
}

TEST(AssessCliTest, OutIsNotWrittenOnBadInput) {
  TempDir dir;
  auto out = dir.path() / "report.json";
  std::ofstream(out) << "previous";
  EXPECT_EQ(Cli("assess /nonexistent.yaml --format json --out " + out.string() + " 2>/dev/null")
                .exit_code,
            2);
  EXPECT_EQ(Slurp(out), "previous");  // no state change on bad input
}

TEST(AssessCliTest, HelpDocumentsOptions) {
  RunResult r = Cli("assess --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* opt : {"--format", "--out", "--fail-on", "--catalog"}) {
    EXPECT_NE(r.out.find(opt), std::string::npos) << opt;
  }
}

// Golden JSON for the four worked examples. When the catalog or engine changes on purpose,
// regenerate with SECPROF_UPDATE_GOLDEN=1 and review the diff.
class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, MatchesGoldenJson) {
  const std::string name = GetParam();
  // Run from the checkout so the model path in the output is the relative one.
  RunResult r =
      secprof::testing::Run("cd " + SourceDir().string() + " && " + Binary() + " assess examples/" +
                            name + ".yaml --format json --date 2026-12-07");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto golden = SourceDir() / "tests" / "golden" / (name + ".json");
  if (std::getenv("SECPROF_UPDATE_GOLDEN")) {
    std::ofstream(golden, std::ios::binary) << r.out;
    GTEST_SKIP() << "golden file rewritten: " << golden;
  }
  ASSERT_TRUE(std::filesystem::exists(golden)) << golden;
  EXPECT_EQ(r.out, Slurp(golden)) << "assessment of " << name
                                  << " changed; if intended, rerun with SECPROF_UPDATE_GOLDEN=1";
}

INSTANTIATE_TEST_SUITE_P(Examples, GoldenTest,
                         ::testing::Values("home-lighting", "managed-home", "office-building",
                                           "industrial-plant"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(DemoCliTest, WritesFourReportsAndSummary) {
  TempDir dir;
  RunResult r = Cli("demo --no-lab --examples " + (SourceDir() / "examples").string() + " --out " +
                    dir.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  for (const char* p : {"SecProf_1", "SecProf_2", "SecProf_3", "SecProf_4"}) {
    EXPECT_NE(r.out.find(p), std::string::npos) << p;
  }
  for (const char* f : {"home-lighting", "managed-home", "office-building", "industrial-plant"}) {
    EXPECT_TRUE(std::filesystem::exists(dir.path() / (std::string(f) + ".html"))) << f;
    EXPECT_TRUE(std::filesystem::exists(dir.path() / (std::string(f) + ".json"))) << f;
  }
  EXPECT_EQ(Cli("demo --examples /nonexistent --out " + dir.path().string() + " 2>&1").exit_code,
            2);
}

}  // namespace
}  // namespace secprof

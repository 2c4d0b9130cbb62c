// `secprof lab list|run` and `secprof assess --lab` through the built binary: exit codes, formats,
// --out, bad input (issue 11 items 5 and 6; docs/LAB.md).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "testutil.h"

namespace secprof {
namespace {

using nlohmann::json;
using secprof::testing::Binary;
using secprof::testing::RunResult;
using secprof::testing::SourceDir;
using secprof::testing::TempDir;

RunResult Cli(const std::string& args) { return secprof::testing::Run(Binary() + " " + args); }

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(LabCli, ListInTextAndJson) {
  RunResult t = Cli("lab list");
  ASSERT_EQ(t.exit_code, 0) << t.out;
  EXPECT_NE(t.out.find("lab.substitute"), std::string::npos);
  RunResult j = Cli("lab list --format json");
  ASSERT_EQ(j.exit_code, 0) << j.out;
  auto doc = json::parse(j.out);
  EXPECT_EQ(doc["schema"], "secprof-lab-list");
  bool found = false;
  for (const auto& s : doc["scenarios"]) found = found || s["id"] == "lab.substitute";
  EXPECT_TRUE(found);
}

TEST(LabCli, HelpAndBadInputExit2) {
  EXPECT_EQ(Cli("lab run --help").exit_code, 0);
  EXPECT_EQ(Cli("lab 2>&1").exit_code, 2);  // a subcommand is required
  RunResult p = Cli("lab run --profile SecProf_9 --quiet 2>&1");
  EXPECT_EQ(p.exit_code, 2) << p.out;
  EXPECT_NE(p.out.find("SecProf_9"), std::string::npos) << p.out;
  RunResult s = Cli("lab run --scenario lab.nope --quiet 2>&1");
  EXPECT_EQ(s.exit_code, 2) << s.out;
  EXPECT_NE(s.out.find("lab.nope"), std::string::npos) << s.out;
  RunResult t = Cli("lab run --threat T99 --quiet 2>&1");
  EXPECT_EQ(t.exit_code, 2) << t.out;
  EXPECT_NE(t.out.find("T99"), std::string::npos) << t.out;
  EXPECT_EQ(Cli("lab run --format xml --quiet 2>&1").exit_code, 2);
  EXPECT_EQ(Cli("lab run --jobs 0 --quiet 2>&1").exit_code, 2);
}

// One real cell per format (SecProf_2: the cheapest domain), written with --out.
TEST(LabCli, RunWritesEveryFormatAndShowsProgress) {
  TempDir dir;
  const std::string base = "lab run --scenario lab.substitute --profile 2 --seed 3 --no-negative ";
  RunResult r = Cli(base + "--format json --out " + (dir.path() / "lab.json").string() + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("[  1/1] SecProf_2 lab.substitute: blocked by kdc.admission"),
            std::string::npos)
      << r.out;  // the progress line on stderr
  auto j = json::parse(Slurp(dir.path() / "lab.json"));
  EXPECT_EQ(j["schema"], "secprof-lab");
  EXPECT_EQ(j["seed"], 3);
  ASSERT_EQ(j["cells"].size(), 1u);
  EXPECT_EQ(j["cells"][0]["verdict"], "holds");
  EXPECT_EQ(j["summary"]["findings"], 0);

  // The other formats over SecProf_1, where lab.substitute is not applicable (no domain to start).
  const std::string cheap = "lab run --scenario lab.substitute --profile 1 ";
  RunResult text = Cli(cheap + "--quiet");
  ASSERT_EQ(text.exit_code, 0) << text.out;
  EXPECT_NE(text.out.find("Claimed by the catalog"), std::string::npos);
  EXPECT_NE(text.out.find("n/a"), std::string::npos);

  RunResult sarif = Cli(cheap + "--quiet --format sarif");
  ASSERT_EQ(sarif.exit_code, 0) << sarif.out;
  auto s = json::parse(sarif.out);
  EXPECT_EQ(s["version"], "2.1.0");
  EXPECT_TRUE(s["runs"][0]["results"].empty());  // no finding, no result

  RunResult html = Cli(cheap + "--quiet --format html --out " + (dir.path() / "lab.html").string());
  ASSERT_EQ(html.exit_code, 0) << html.out;
  const std::string page = Slurp(dir.path() / "lab.html");
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(page.find("<details"), std::string::npos);
}

// The lab's JSON feeds `secprof assess --lab`: each finding of the model's profile gets the
// outcomes of the attacks on its threat.
TEST(LabCli, AssessLabAddsTheMeasuredOutcomeToEachFinding) {
  TempDir dir;
  const std::string lab = (dir.path() / "lab.json").string();
  ASSERT_EQ(Cli("lab run --scenario lab.substitute --profile 2 --no-negative --quiet --format json "
                "--out " +
                lab)
                .exit_code,
            0);
  const std::string model = (SourceDir() / "examples" / "managed-home.yaml").string();
  RunResult j = Cli("assess " + model + " --format json --lab " + lab);
  ASSERT_EQ(j.exit_code, 0) << j.out;
  auto doc = json::parse(j.out);
  EXPECT_EQ(doc["lab"]["profile"], "SecProf_2");
  bool t2 = false;
  for (const auto& f : doc["threats"]) {
    ASSERT_TRUE(f.contains("lab")) << f.dump();
    if (f["id"] == "T2") {
      t2 = true;
      EXPECT_EQ(f["lab"]["outcomes"][0]["scenario"], "lab.substitute");
      EXPECT_EQ(f["lab"]["outcomes"][0]["outcome"], "blocked");
    }
  }
  EXPECT_TRUE(t2) << "managed-home has no T2 finding any more: pick another example";
  RunResult t = Cli("assess " + model + " --lab " + lab);
  ASSERT_EQ(t.exit_code, 0) << t.out;
  EXPECT_NE(t.out.find("Measured by the lab (SecProf_2"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("lab.substitute: blocked by kdc.admission"), std::string::npos) << t.out;

  // A file that is not a lab report: exit 2 naming it.
  std::ofstream(dir.path() / "other.json") << R"({"schema":"secprof-assessment/1"})";
  RunResult bad =
      Cli("assess " + model + " --lab " + (dir.path() / "other.json").string() + " 2>&1");
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
  EXPECT_NE(bad.out.find("other.json"), std::string::npos) << bad.out;
}

}  // namespace
}  // namespace secprof

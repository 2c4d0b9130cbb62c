// docs/DOMAIN.md "Walkthrough: from manufacture to a completed campaign" (issue 13 item 2), run
// as written: each ```sh walkthrough <profile>``` block goes to bash in an empty directory with
// the secprof under test first on the PATH. Only commands of the CLI appear in it (no C++ API):
// manufacture, kdc, kdc allow / import-voucher, voucher issue, thing, fw ids / sign / verify,
// kdc fw add, kdc campaign start / status. Loopback and ephemeral ports only; the script's trap
// stops the KDC it started.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "secprof/core/fs.h"
#include "testutil.h"

namespace {

namespace fs = std::filesystem;
using secprof::testing::TempDir;

// The body of the ```sh walkthrough <profile> block of docs/DOMAIN.md, or "" when absent.
std::string Walkthrough(const std::string& profile) {
  auto doc = secprof::ReadFile((secprof::testing::SourceDir() / "docs" / "DOMAIN.md").string());
  if (!doc) return "";
  const std::string open = "```sh walkthrough " + profile + "\n";
  const size_t a = doc->find(open);
  if (a == std::string::npos) return "";
  const size_t b = doc->find("\n```", a + open.size());
  if (b == std::string::npos) return "";
  return doc->substr(a + open.size(), b + 1 - a - open.size());
}

class FwWalkthrough : public ::testing::TestWithParam<const char*> {};

TEST_P(FwWalkthrough, RunsAsDocumented) {
  const std::string script = Walkthrough(GetParam());
  ASSERT_FALSE(script.empty()) << "docs/DOMAIN.md has no walkthrough block for " << GetParam();
  // The walkthrough uses nothing but the CLI.
  EXPECT_EQ(script.find("OwnerTools"), std::string::npos);
  TempDir dir;
  const std::string file = (dir.path() / "walkthrough.sh").string();
  std::ofstream(file) << script;
  const std::string bin_dir = fs::path(secprof::testing::Binary()).parent_path().string();
  auto r = secprof::testing::Run("cd '" + dir.path().string() + "' && PATH='" + bin_dir +
                                 "':\"$PATH\" timeout 120 bash " + file + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.out << "\n--- kdc.log:\n"
                            << secprof::ReadFile((dir.path() / "kdc.log").string()).value_or("");
  // fw sign --factory named the ids it derived, every thing installed sequence 2, the campaign
  // completed.
  EXPECT_NE(r.out.find("vendor-id"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("installed sequence 2"), std::string::npos) << r.out;
  // SecProf_1 has no campaign: the thing installed from the vendor's update service, which the
  // script stopped (its ready file is removed when it stops).
  if (std::string(GetParam()) == "SecProf_1") {
    EXPECT_NE(r.out.find("(the vendor's update service"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(dir.path() / "vendor.ready")) << r.out;
  } else {
    EXPECT_NE(r.out.find("completed"), std::string::npos) << r.out;
  }
  // SecProf_3's thing knows its owner after the join: the O of the domain CA its voucher pins
  // (the KDC's default --owner), the voucher naming none (issue 13 item 3).
  if (std::string(GetParam()) == "SecProf_3") {
    EXPECT_NE(r.out.find("owner:    secprof-owner"), std::string::npos) << r.out;
  }
  // The KDC the script started is gone: its ready file is removed when it stops.
  EXPECT_FALSE(fs::exists(dir.path() / "kdc.ready")) << r.out;
}

INSTANTIATE_TEST_SUITE_P(Profiles, FwWalkthrough,
                         ::testing::Values("SecProf_1", "SecProf_2", "SecProf_3"));

}  // namespace

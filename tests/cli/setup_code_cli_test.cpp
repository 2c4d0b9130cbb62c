// `secprof kdc retire-code` and the setup-code rules of `secprof kdc allow` (issue 9, item 4),
// with the KDC as a child process on 127.0.0.1 and a raw CoAP client as the thing or attacker.
// Every child is stopped and reaped by an RAII guard (tests/support/child_process.h).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "support/child_process.h"
#include "support/kdc_client.h"
#include "testutil.h"

namespace secprof::kdc {
namespace {

namespace fs = std::filesystem;
using namespace secprof::testing;
using secprof::testing::TempDir;

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}
std::string Body(const coap::Response& r) {
  return std::string(r.payload.begin(), r.payload.end());
}

void ReplaceInFile(const fs::path& p, const std::string& from, const std::string& to) {
  std::string s = Slurp(p);
  auto at = s.find(from);
  ASSERT_NE(at, std::string::npos) << from << " not in " << p;
  s.replace(at, from.size(), to);
  ASSERT_TRUE(WriteFileAtomic(p.string(), s, 0600));
}

TEST(KdcCliSetupCode, RetireCodeRefusesLaterJoinsAndAllowNeedsAStrongNewCode) {
  TempDir dir;
  const fs::path factory = dir.path() / "factory";
  const std::string db = (dir.path() / "kdc.db").string();
  const fs::path ready = dir.path() / "ready", log = dir.path() / "kdc.log";
  auto made =
      Secprof("manufacture --vendor Acme --model Plug --count 2 --out " + Quote(factory.string()));
  ASSERT_EQ(made.exit_code, 0) << made.out;
  const std::string s0 = "plug-000001", s1 = "plug-000002";
  const std::string code0 = Trimmed(Slurp(factory / "things" / s0 / "setup-code.txt"));
  const std::string code1 = Trimmed(Slurp(factory / "things" / s1 / "setup-code.txt"));
  ASSERT_EQ(code1.size(), 19u) << code1;

  Child kdc({"kdc", "--profile", "SecProf_2", "--db", db, "--listen", "127.0.0.1:0",
             "--join-repeat-grace", "60", "--ready-file", ready.string()},
            log);
  ASSERT_TRUE(kdc.started());
  auto ports = WaitReady(kdc, ready, log);
  ASSERT_TRUE(ports);
  auto r =
      Secprof("kdc allow --db " + Quote(db) + " --factory " + Quote(factory.string()) + " --all");
  ASSERT_EQ(r.exit_code, 0) << r.out;

  // --help documents the command.
  r = Secprof("kdc retire-code --help");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("retire"), std::string::npos) << r.out;
  EXPECT_EQ(Secprof("kdc retire-code --db " + Quote(db)).exit_code, 2);  // no serial

  // The owner retires thing 1's code (say its box was lost) while the KDC runs.
  r = Secprof("kdc retire-code --db " + Quote(db) + " " + s1 + " --reason 'box lost'");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("retired the setup code of " + s1), std::string::npos) << r.out;
  r = Secprof("kdc retire-code --db " + Quote(db) + " " + s1);
  EXPECT_EQ(r.exit_code, 1) << r.out;  // already retired: a refused change
  EXPECT_NE(r.out.find("already retired"), std::string::npos) << r.out;
  r = Secprof("kdc retire-code --db " + Quote(db) + " nosuch-000009");
  EXPECT_EQ(r.exit_code, 2) << r.out;

  // Whoever holds the retired code cannot join with it; nothing changes.
  auto udp = Udp(ports->udp);
  ASSERT_TRUE(udp) << udp.error().ToString();
  auto refused = JoinPsk(**udp, s1, code1);
  EXPECT_EQ(refused.code, coap::kForbidden) << Body(refused);
  r = Secprof("kdc list --db " + Quote(db) + " --format json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto list = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(list.is_discarded()) << r.out;
  ASSERT_EQ(list["things"].size(), 2u);
  EXPECT_EQ(list["things"][1]["state"], "allowed");
  EXPECT_EQ(list["things"][1]["joins"], 0);
  EXPECT_EQ(list["things"][1]["setup_code"], false);
  EXPECT_EQ(list["things"][0]["setup_code"], true);
  r = Secprof("kdc audit --db " + Quote(db) + " --serial " + s1);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("setup-code-retired"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("refused:code-retired"), std::string::npos) << r.out;

  // The other thing is unaffected.
  PskJoined j;
  auto ok = JoinPsk(**udp, s0, code0, &j);
  ASSERT_EQ(ok.code, coap::kChanged) << Body(ok);

  // Allowing thing 1 again needs a new code, and a weak one (40 bits) is refused.
  const fs::path manifest = factory / "manifest.json";
  ReplaceInFile(manifest, code1, "QRST-UVWX");
  r = Secprof("kdc allow --db " + Quote(db) + " --factory " + Quote(factory.string()) +
              " --serial " + s1);
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("too weak"), std::string::npos) << r.out;
  EXPECT_EQ(JoinPsk(**udp, s1, "QRST-UVWX").code, coap::kForbidden);
  const std::string fresh = "ABCD-EFGH-JKLM-NPQR";
  ReplaceInFile(manifest, "QRST-UVWX", fresh);
  r = Secprof("kdc allow --db " + Quote(db) + " --factory " + Quote(factory.string()) +
              " --serial " + s1);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(JoinPsk(**udp, s1, code1).code, coap::kUnauthorized);  // the old code stays dead
  auto joined = JoinPsk(**udp, s1, fresh);
  EXPECT_EQ(joined.code, coap::kChanged) << Body(joined);
}

}  // namespace
}  // namespace secprof::kdc

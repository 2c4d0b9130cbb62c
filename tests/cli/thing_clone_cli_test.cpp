// Issue 9 item 6 through processes only: `secprof kdc` as a child, a SecProf_2 thing made and
// joined with `secprof thing`, its state directory copied with `cp -a` (the attacker's clone), and
// both copies reporting with `secprof thing report`. The KDC refuses, alerts once and quarantines;
// `secprof kdc quarantined` lists it; `secprof kdc release` lifts it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/child_process.h"
#include "testutil.h"

namespace secprof::thing {
namespace {

namespace fs = std::filesystem;
using secprof::testing::TempDir;
using testing::Child;
using testing::Quote;
using testing::Secprof;
using testing::WaitReady;

TEST(CloneCli, CopiedStateDirectoryReportingIsQuarantined) {
  TempDir tmp;
  const fs::path factory = tmp.path() / "factory";
  ASSERT_EQ(
      Secprof("manufacture --vendor Acme --model Sensor --count 1 --out " + Quote(factory.string()))
          .exit_code,
      0);
  auto manifest = nlohmann::json::parse(testing::Slurp(factory / "manifest.json"));
  const std::string serial = manifest["things"][0]["serial"];
  const std::string db = (tmp.path() / "kdc.db").string();
  const fs::path ready = tmp.path() / "kdc.ready", log = tmp.path() / "kdc.log";
  Child kdc({"kdc", "--profile", "SecProf_2", "--db", db, "--listen", "127.0.0.1:0",
             "--join-window", "0", "--ready-file", ready.string()},
            log);
  ASSERT_TRUE(kdc.started());
  auto ports = WaitReady(kdc, ready, log);
  ASSERT_TRUE(ports);
  ASSERT_EQ(
      Secprof("kdc allow --db " + Quote(db) + " --factory " + Quote(factory.string()) + " --all")
          .exit_code,
      0);
  const fs::path t1 = tmp.path() / "t1", copy = tmp.path() / "t1-copy";
  auto T = [](const fs::path& s, const std::string& args) {
    return "thing --state " + Quote(s.string()) + " " + args;
  };
  ASSERT_EQ(Secprof(T(t1, "init --factory " + Quote(factory.string()) + " --serial " + serial +
                              " --profile SecProf_2"))
                .exit_code,
            0);
  ASSERT_EQ(Secprof(T(t1, "install --kdc 127.0.0.1:" + std::to_string(ports->udp))).exit_code, 0);
  ASSERT_EQ(Secprof(T(t1, "join")).exit_code, 0);
  ASSERT_EQ(Secprof(T(t1, "operational")).exit_code, 0);
  for (int i = 0; i < 3; ++i) {
    auto r = Secprof(T(t1, "report --celsius 21.5"));
    ASSERT_EQ(r.exit_code, 0) << r.out;  // a process per reading: a new port each time
  }

  // The attacker's copy.
  ASSERT_EQ(
      secprof::testing::Run("cp -a " + Quote(t1.string()) + " " + Quote(copy.string())).exit_code,
      0);
  // ... and its KEK, kept beside the directory (issue 9 item 12): the attacker has the whole
  // device.
  fs::copy_file(t1.string() + ".kek", copy.string() + ".kek");
  auto rc = Secprof(T(copy, "report --celsius 30"));
  auto rg = Secprof(T(t1, "report --celsius 21.5"));
  // One of the two is refused (the KDC cannot tell which is genuine), and from then on both.
  EXPECT_TRUE(rc.exit_code == 1 || rg.exit_code == 1) << rc.out << rg.out;
  auto again = Secprof(T(t1, "report --celsius 21.5"));
  EXPECT_EQ(again.exit_code, 1) << again.out;
  EXPECT_NE(again.out.find("quarantined"), std::string::npos) << again.out;
  EXPECT_EQ(Secprof(T(copy, "report --celsius 30")).exit_code, 1);

  auto q = Secprof("kdc quarantined --db " + Quote(db) + " --format json");
  ASSERT_EQ(q.exit_code, 0) << q.out;
  auto qj = nlohmann::json::parse(q.out, nullptr, false);
  ASSERT_FALSE(qj.is_discarded()) << q.out;
  EXPECT_EQ(qj["schema"], "secprof.kdc.quarantined.v2");
  ASSERT_EQ(qj["things"].size(), 1u);
  EXPECT_EQ(qj["things"][0]["serial"], serial);
  auto audit = Secprof("kdc audit --db " + Quote(db) + " --serial " + serial + " --format json");
  ASSERT_EQ(audit.exit_code, 0) << audit.out;
  size_t alerts = 0, pos = 0;
  while ((pos = audit.out.find("alert:clone-suspected", pos)) != std::string::npos) {
    ++alerts;
    ++pos;
  }
  EXPECT_EQ(alerts, 1u) << audit.out;

  // The owner removes the copy and lifts the quarantine: the genuine thing reports again.
  fs::remove_all(copy);
  auto rel = Secprof("kdc release --db " + Quote(db) + " " + serial);
  EXPECT_EQ(rel.exit_code, 0) << rel.out;
  EXPECT_EQ(Secprof("kdc release --db " + Quote(db) + " " + serial).exit_code, 1);
  EXPECT_EQ(Secprof("kdc release --db " + Quote(db) + " no-such-serial").exit_code, 2);
  auto ok = Secprof(T(t1, "report --celsius 21.5"));
  EXPECT_EQ(ok.exit_code, 0) << ok.out;

  // Bad policy: exit 2.
  EXPECT_EQ(Secprof("kdc --profile SecProf_2 --db " + Quote(db) +
                    " --listen 127.0.0.1:0 --on-clone ignore")
                .exit_code,
            2);
  EXPECT_EQ(kdc.Stop(), 0);
}

}  // namespace
}  // namespace secprof::thing

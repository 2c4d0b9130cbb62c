// Issue 10 item 6, the attacker's view of the KDC's PKCS#11 PIN (suite KdcTokenPinCli; a separate
// binary because SOFTHSM2_CONF is per process): `secprof kdc --pkcs11-token` takes the token's user
// PIN from $SECPROF_PKCS11_PIN (the CLI reads it; the library reads no environment). While the
// KDC runs, no process's command line (what `ps` shows any local user) holds the PIN, and neither
// the KDC's output nor any file it wrote (registry, audit log, key directory) does. A wrong PIN in
// the environment is refused without echoing it, and a missing one is refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "secprof/core/hex.h"
#include "secprof/crypto/random.h"
#include "support/child_process.h"
#include "support/softhsm_fixture.h"
#include "testutil.h"

namespace secprof {
namespace {

namespace fs = std::filesystem;

using testing::Child;
using testing::Quote;
using testing::Secprof;
using testing::Slurp;
using testing::TempDir;
using testing::WaitReady;

// A PIN no file, port number or message can hold by chance: 16 random hex digits.
std::string FreshPin() {
  Bytes b(8);
  EXPECT_TRUE(crypto::SystemRandomSource().Fill(b));
  return ToHex(b);
}

// Every file under `root` (outside `skip`) that contains `needle`.
std::vector<std::string> FilesHolding(const fs::path& root, const fs::path& skip,
                                      const std::string& needle) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file() || e.path().string().rfind(skip.string(), 0) == 0) continue;
    if (Slurp(e.path()).find(needle) != std::string::npos) out.push_back(e.path().string());
  }
  return out;
}

// The processes (any user's) whose command line holds `needle`, as /proc shows them to `ps`.
std::vector<std::string> CommandLinesHolding(const std::string& needle) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmd = Slurp(e.path() / "cmdline");  // NUL-separated; empty if it ended
    if (cmd.find(needle) != std::string::npos) out.push_back(name);
  }
  return out;
}

// The arguments of a SecProf_3 KDC whose domain CA key goes into token `label`.
std::vector<std::string> KdcArgs(const fs::path& dir, const std::string& label,
                                 const std::string& db) {
  return {"kdc",
          "--profile",
          "SecProf_3",
          "--db",
          (dir / db).string(),
          "--listen",
          "127.0.0.1:0",
          "--vendor-ca",
          (dir / "factory" / "ca" / "ca.pem").string(),
          "--pkcs11-token",
          label,
          "--ready-file",
          (dir / (db + ".ready")).string()};
}

// Runs `secprof kdc` to its end with `pin_env` as $SECPROF_PKCS11_PIN (unset when empty), for a
// PIN it must refuse (bounded by timeout(1) should it start serving instead); output merged.
testing::RunResult RefusedKdc(const fs::path& dir, const std::string& label,
                              const std::string& pin_env, const std::string& db) {
  if (pin_env.empty()) {
    ::unsetenv("SECPROF_PKCS11_PIN");
  } else {
    ::setenv("SECPROF_PKCS11_PIN", pin_env.c_str(), 1);  // inherited, never on a command line
  }
  std::string cmd = "timeout 60 " + Quote(testing::Binary());
  for (const auto& a : KdcArgs(dir, label, db)) cmd += " " + Quote(a);
  auto r = testing::Run(cmd + " 2>&1");
  ::unsetenv("SECPROF_PKCS11_PIN");
  return r;
}

TEST(KdcTokenPinCli, PinFromEnvironmentNeverOnACommandLineNorWritten) {
  SECPROF_REQUIRE_SOFTHSM();
  testing::SoftHsmToken hsm;  // sets SOFTHSM2_CONF, which the children inherit
  ASSERT_TRUE(hsm.ok()) << hsm.init_output();
  const std::string pin = FreshPin(), label = "kdc-pin";
  ASSERT_EQ(testing::Run("softhsm2-util --init-token --free --label " + label + " --pin " + pin +
                         " --so-pin 5678 >/dev/null 2>&1")
                .exit_code,
            0);
  TempDir tmp;
  const fs::path dir = tmp.path();
  auto r = Secprof("manufacture --vendor Acme --model Robot --count 1 --out " +
                   Quote((dir / "factory").string()));
  ASSERT_EQ(r.exit_code, 0) << r.out;

  // No PIN anywhere: refused (C_Login with an empty PIN), no KDC.
  r = RefusedKdc(dir, label, "", "none.db");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("PIN"), std::string::npos) << r.out;
  // A wrong PIN in the environment: refused, and the refusal does not repeat it.
  const std::string wrong = FreshPin();
  r = RefusedKdc(dir, label, wrong, "wrong.db");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("CKR_PIN_INCORRECT"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(wrong), std::string::npos) << r.out;
  // The right PIN in the environment: the KDC starts with its CA key in the token.
  ::setenv("SECPROF_PKCS11_PIN", pin.c_str(), 1);
  Child kdc(KdcArgs(dir, label, "kdc.db"), dir / "kdc.db.log");
  ::unsetenv("SECPROF_PKCS11_PIN");  // only the child has it
  ASSERT_TRUE(WaitReady(kdc, dir / "kdc.db.ready", dir / "kdc.db.log"));
  EXPECT_NE(Slurp(dir / "kdc.db.keys" / "domain-ca.key").find("pkcs11 " + label + " domain-ca-"),
            std::string::npos);
  // While it runs, no command line on the machine holds the PIN (the KDC starts no helper with
  // it either).
  EXPECT_TRUE(CommandLinesHolding(pin).empty());
  // The KDC works with the token: an owner command on the same registry answers.
  r = Secprof("kdc domain-ca --db " + Quote((dir / "kdc.db").string()));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(kdc.Stop(), 0);
  // Nothing it printed or wrote holds the PIN (the token's own files are the token's business).
  EXPECT_EQ(Slurp(dir / "kdc.db.log").find(pin), std::string::npos);
  EXPECT_TRUE(FilesHolding(dir, hsm.tokens(), pin).empty());
  EXPECT_TRUE(FilesHolding(dir, hsm.tokens(), wrong).empty());
}

}  // namespace
}  // namespace secprof

// Tests for `secprof kdc` (suites KdcCli*): the KDC as a child process on 127.0.0.1 (ephemeral
// ports, reported through --ready-file), joined over CoAP by the test, and the owner's
// subcommands run against its --db while it runs. Every child is stopped and reaped by an RAII
// guard, also when an assertion fails.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/child_process.h"
#include "support/kdc_client.h"
#include "testutil.h"

extern char** environ;

namespace secprof::kdc {
namespace {

namespace fs = std::filesystem;
using namespace secprof::testing;
using secprof::testing::Binary;
using secprof::testing::Run;
using secprof::testing::TempDir;

// The child-process helpers (Child, WaitReady, Slurp, Quote, Secprof) are shared with the other
// CLI tests: tests/support/child_process.h.

class KdcCli : public ::testing::Test {
 protected:
  void SetUp() override {
    factory_ = dir_.path() / "factory";
    db_ = (dir_.path() / "kdc.db").string();
    ready_ = dir_.path() / "ready";
    log_ = dir_.path() / "kdc.log";
  }

  TempDir dir_;
  fs::path factory_;
  std::string db_;
  fs::path ready_, log_;
};

TEST_F(KdcCli, SecProf2RunJoinListRevokeAuditWhileRunning) {
  auto made =
      Secprof("manufacture --vendor Acme --model Bulb --count 2 --out " + Quote(factory_.string()));
  ASSERT_EQ(made.exit_code, 0) << made.out;
  const std::string s0 = "bulb-000001", s1 = "bulb-000002";

  Child kdc({"kdc", "--profile", "SecProf_2", "--db", db_, "--listen", "127.0.0.1:0",
             "--ready-file", ready_.string()},
            log_);
  ASSERT_TRUE(kdc.started());
  auto ports = WaitReady(kdc, ready_, log_);
  ASSERT_TRUE(ports);
  ASSERT_NE(ports->udp, 0);
  ASSERT_NE(ports->dtls, 0);
  EXPECT_NE(
      Slurp(log_).find("kdc: SecProf_2 listening coap://127.0.0.1:" + std::to_string(ports->udp) +
                       " coaps://127.0.0.1:" + std::to_string(ports->dtls)),
      std::string::npos)
      << Slurp(log_);

  // The installer allows the factory's things with their setup codes.
  auto r =
      Secprof("kdc allow --db " + Quote(db_) + " --factory " + Quote(factory_.string()) + " --all");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("allowed 2 things"), std::string::npos) << r.out;
  r = Secprof("kdc allow --db " + Quote(db_) + " --factory " + Quote(factory_.string()) +
              " --serial nosuch-000009");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("nosuch-000009"), std::string::npos) << r.out;

  // Thing 0 joins over CoAP with its setup code.
  std::string code = Slurp(factory_ / "things" / s0 / "setup-code.txt");
  while (!code.empty() && (code.back() == '\n' || code.back() == '\r')) code.pop_back();
  auto udp = Udp(ports->udp);
  ASSERT_TRUE(udp) << udp.error().ToString();
  PskJoined j;
  auto jr = JoinPsk(**udp, s0, code, &j);
  ASSERT_EQ(jr.code, coap::kChanged) << Text(jr);
  EXPECT_EQ(j.dtls_port, ports->dtls);
  auto dtls = ConnectPsk(ports->dtls, j.identity, j.psk);
  ASSERT_TRUE(dtls) << dtls.error().ToString();
  auto rep = PostCbor(**dtls, domain::path::kReport, domain::Encode(domain::Reading{s0, 2100, 1}));
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->code, coap::kChanged);
  EXPECT_EQ(JoinPsk(**udp, s1, "BADCODE1").code, coap::kUnauthorized);

  // The owner looks at the registry while the KDC runs.
  r = Secprof("kdc list --db " + Quote(db_) + " --format json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto list = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(list.is_discarded()) << r.out;
  EXPECT_EQ(list["profile"], "SecProf_2");
  ASSERT_EQ(list["things"].size(), 2u);
  EXPECT_EQ(list["things"][0]["serial"], s0);
  EXPECT_EQ(list["things"][0]["state"], "commissioned");
  EXPECT_EQ(list["things"][0]["credential_kind"], "psk");
  EXPECT_EQ(list["things"][1]["state"], "allowed");
  EXPECT_EQ(r.out.find(code), std::string::npos) << "setup codes must not be listed";
  r = Secprof("kdc list --db " + Quote(db_) + " --state allowed");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find(s1), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(s0), std::string::npos) << r.out;
  EXPECT_EQ(Secprof("kdc list --db " + Quote(db_) + " --state sleeping").exit_code, 2);

  // Groups: only active things.
  r = Secprof("kdc group create --db " + Quote(db_) + " lights");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = Secprof("kdc group add --db " + Quote(db_) + " lights " + s0);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = Secprof("kdc group add --db " + Quote(db_) + " lights " + s1);
  EXPECT_EQ(r.exit_code, 1) << r.out;  // only allowed, not commissioned
  r = Secprof("kdc group list --db " + Quote(db_));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("lights: epoch 1, 1 member: " + s0), std::string::npos) << r.out;

  // Revoke: the handshake is refused afterwards and the group re-keyed.
  r = Secprof("kdc revoke --db " + Quote(db_) + " " + s0 + " --reason 'lost in transit'");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("commissioned -> revoked"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("lights"), std::string::npos) << r.out;
  EXPECT_FALSE(ConnectPsk(ports->dtls, j.identity, j.psk));
  r = Secprof("kdc revoke --db " + Quote(db_) + " " + s0);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("from revoked to revoked"), std::string::npos) << r.out;
  r = Secprof("kdc evict --db " + Quote(db_) + " nosuch-000009");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("nosuch-000009"), std::string::npos) << r.out;
  r = Secprof("kdc group list --db " + Quote(db_) + " --format json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto groups = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(groups.is_discarded()) << r.out;
  EXPECT_EQ(groups["schema"], "secprof.kdc.group.list.v2");
  EXPECT_EQ(groups["groups"][0]["epoch"], 2);
  EXPECT_TRUE(groups["groups"][0]["members"].empty());

  // The audit log: every step, refusals included, in a verified chain.
  r = Secprof("kdc audit --db " + Quote(db_) + " --verify");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("commissioned  " + s0), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("revoked  " + s0 + "  from commissioned: lost in transit"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("refused:bad-proof  " + s1), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("audit chain verified"), std::string::npos) << r.out;
  r = Secprof("kdc audit --db " + Quote(db_) + " --serial " + s0 + " --limit 1 --format json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto audit = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(audit.is_discarded()) << r.out;
  ASSERT_EQ(audit["entries"].size(), 1u);
  EXPECT_EQ(audit["entries"][0]["action"], "revoked");

  r = Secprof("kdc domain-ca --db " + Quote(db_));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out.rfind("-----BEGIN CERTIFICATE-----", 0), 0u) << r.out;
  EXPECT_EQ(r.out, Slurp(db_ + ".keys/domain-ca.pem"));

  // SIGTERM: a clean stop with the statistics.
  EXPECT_EQ(kdc.Stop(SIGTERM), 0) << Slurp(log_);
  std::string out = Slurp(log_);
  EXPECT_NE(out.find("SIGTERM, stopping"), std::string::npos) << out;
  EXPECT_NE(out.find("joins 1, repeats 0, requests 1"), std::string::npos) << out;
  EXPECT_NE(out.find("bad-proof 1"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(ready_));
}

TEST_F(KdcCli, AuditVerifyFailsOnATamperedChain) {
  Child kdc({"kdc", "--profile", "2", "--db", db_, "--listen", "127.0.0.1", "--ready-file",
             ready_.string()},
            log_);
  ASSERT_TRUE(WaitReady(kdc, ready_, log_));
  ASSERT_EQ(kdc.Stop(SIGINT), 0) << Slurp(log_);
  EXPECT_NE(Slurp(log_).find("SIGINT, stopping"), std::string::npos);
  auto r = Secprof("kdc audit --db " + Quote(db_) + " --verify");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  // Edit an entry behind the registry's back (dropping its append-only trigger first).
  r = secprof::testing::Run(
      "sqlite3 " + Quote(db_) +
      " \"DROP TRIGGER audit_no_update; UPDATE audit SET detail = 'edited' WHERE seq = 1\" 2>&1");
  if (r.exit_code != 0) GTEST_SKIP() << "sqlite3 shell not available or schema differs: " << r.out;
  r = Secprof("kdc audit --db " + Quote(db_) + " --verify");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("audit chain"), std::string::npos) << r.out;
}

TEST_F(KdcCli, SecProf3ImportVouchersWhileRunning) {
  ASSERT_EQ(Secprof("manufacture --vendor Acme --model Sensor --count 2 --out " +
                    Quote(factory_.string()))
                .exit_code,
            0);
  const fs::path evil = dir_.path() / "evil";
  ASSERT_EQ(
      Secprof("manufacture --vendor Evil --model Sensor --count 1 --out " + Quote(evil.string()))
          .exit_code,
      0);
  const std::string ca = (factory_ / "ca" / "ca.pem").string();
  // Without a manufacturer trust anchor a SecProf_3 KDC does not start.
  auto r =
      Secprof("kdc --profile SecProf_3 --db " + Quote(db_) + " --listen 127.0.0.1:0 --duration 5");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("trust anchor"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(db_)) << "a refused start creates nothing";

  Child kdc({"kdc", "--profile", "SecProf_3", "--db", db_, "--listen", "127.0.0.1:0", "--vendor-ca",
             ca, "--owner", "Plant 7", "--allow-file-ca-key", "--ready-file", ready_.string()},
            log_);
  auto ports = WaitReady(kdc, ready_, log_);
  ASSERT_TRUE(ports);

  const std::string dca = (dir_.path() / "domain-ca.pem").string();
  r = Secprof("kdc domain-ca --db " + Quote(db_) + " > " + Quote(dca));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string vdir = (dir_.path() / "vouchers").string();
  r = Secprof("voucher issue --factory " + Quote(factory_.string()) + " --all --domain-ca " +
              Quote(dca) + " --out " + Quote(vdir));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string v0 = vdir + "/sensor-000001.voucher", v1 = vdir + "/sensor-000002.voucher";

  // A voucher issued for another domain: refused (1), and with it the whole batch.
  TempDir other;
  const std::string other_db = (other.path() / "o.db").string();
  r = Secprof("kdc --profile SecProf_2 --db " + Quote(other_db) +
              " --listen 127.0.0.1:0 --duration 1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string other_ca = (other.path() / "dca.pem").string();
  ASSERT_EQ(Secprof("kdc domain-ca --db " + Quote(other_db) + " > " + Quote(other_ca)).exit_code,
            0);
  const std::string wrong = (dir_.path() / "wrong.voucher").string();
  r = Secprof("voucher issue --factory " + Quote(factory_.string()) +
              " --serial sensor-000002 --domain-ca " + Quote(other_ca) + " --out " + Quote(wrong));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = Secprof("kdc import-voucher --db " + Quote(db_) + " --vendor-ca " + Quote(ca) + " " +
              Quote(v0) + " " + Quote(wrong));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("wrong.voucher: voucher refused"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nothing imported"), std::string::npos) << r.out;
  r = Secprof("kdc list --db " + Quote(db_));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("0 things"), std::string::npos) << r.out;

  // The right vendor CA is needed; a file that is no voucher is bad input.
  r = Secprof("kdc import-voucher --db " + Quote(db_) + " --vendor-ca " +
              Quote((evil / "ca" / "ca.pem").string()) + " " + Quote(v0));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  r = Secprof("kdc import-voucher --db " + Quote(db_) + " --vendor-ca " + Quote(ca) + " " +
              Quote(dca));
  EXPECT_EQ(r.exit_code, 2) << r.out;

  r = Secprof("kdc import-voucher --db " + Quote(db_) + " --vendor-ca " + Quote(ca) + " " +
              Quote(v0) + " " + Quote(v1));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("imported 2 vouchers"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("new manufacturer trust anchor"), std::string::npos) << r.out;
  r = Secprof("kdc list --db " + Quote(db_) + " --format json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto list = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(list.is_discarded()) << r.out;
  ASSERT_EQ(list["things"].size(), 2u);
  EXPECT_EQ(list["things"][0]["voucher"], true);
  EXPECT_EQ(list["things"][0]["state"], "allowed");
  // allow (setup codes) is for SecProf_2 domains.
  r = Secprof("kdc allow --db " + Quote(db_) + " --factory " + Quote(factory_.string()) + " --all");
  EXPECT_EQ(r.exit_code, 2) << r.out;

  // Replace: thing 2 takes over thing 1 (both only allowed).
  r = Secprof("kdc replace --db " + Quote(db_) + " sensor-000001 sensor-000002");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = Secprof("kdc replace --db " + Quote(db_) + " sensor-000001 sensor-000002");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  r = Secprof("kdc decommission --db " + Quote(db_) + " sensor-000002");
  EXPECT_EQ(r.exit_code, 0) << r.out;

  EXPECT_EQ(kdc.Stop(SIGTERM), 0) << Slurp(log_);
}

TEST_F(KdcCli, BadArgumentsExitTwo) {
  // --duration bounds every run that would (wrongly) start.
  auto r =
      Secprof("kdc --profile SecProf_9 --db " + Quote(db_) + " --listen 127.0.0.1:0 --duration 5");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("SecProf_9"), std::string::npos) << r.out;
  r = Secprof("kdc --profile SecProf_1 --db " + Quote(db_) + " --listen 127.0.0.1:0 --duration 5");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("no KDC"), std::string::npos) << r.out;
  r = Secprof("kdc --profile SecProf_2 --listen 127.0.0.1:0 --duration 5");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("--db"), std::string::npos) << r.out;
  r = Secprof("kdc --profile SecProf_2 --db " + Quote(db_) + " --duration 5");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  r = Secprof("kdc --profile SecProf_2 --db " + Quote(db_) +
              " --listen 127.0.0.1:99999 --duration 5");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  r = Secprof("kdc --profile SecProf_2 --db " + Quote(db_) +
              " --listen 'not an address' --duration 5");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_FALSE(fs::exists(db_)) << "nothing is created for bad arguments before the address";
  r = Secprof("kdc list");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  r = Secprof("kdc list --db " + Quote(db_));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("does not exist"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(db_)) << "owner commands never create a registry";
  r = Secprof("kdc revoke --db " + Quote(db_) + " some-000001");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  r = Secprof("kdc group --db " + Quote(db_));
  EXPECT_EQ(r.exit_code, 2) << r.out;
}

TEST_F(KdcCli, DurationStopsTheKdc) {
  auto r = Secprof("kdc --profile SecProf_2 --db " + Quote(db_) +
                   " --listen 127.0.0.1:0 --duration 1 --join-window 0 --allowed-cipher "
                   "PSK-AES128-CCM8");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("kdc: SecProf_2 listening coap://127.0.0.1:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--duration 1 s reached"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("joins 0, repeats 0, requests 0, refusals 0"), std::string::npos) << r.out;
  // The registry was made, bound to the profile and owner: a SecProf_4 KDC refuses it.
  r = Secprof("kdc --profile SecProf_4 --db " + Quote(db_) + " --listen 127.0.0.1:0 --vendor-ca " +
              Quote(db_ + ".keys/domain-ca.pem") + " --duration 5 --allow-file-ca-key");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("SecProf_2"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace secprof::kdc

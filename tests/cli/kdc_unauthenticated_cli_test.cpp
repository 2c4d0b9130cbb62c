// Availability of a running `secprof kdc` (issue 9, T9; suite KdcCliUnderAttack): the KDC is a
// child process on 127.0.0.1, the attacker sends raw CoAP from other loopback addresses
// (127.0.0.2 ...; secprof/lab/attack_traffic.h), a genuine thing joins and reports meanwhile. Items:
//   15 unauthenticated traffic cannot fill the registry or silence the audit;
//   16 one KDC per registry (and per port);
//   14 no plain-CoAP port where the profile has no plain-CoAP step.
// Nothing here asserts how long anything takes: bounds are on rows, nonces and exit codes.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "secprof/registry/registry.h"
#include "secprof/store/sqlite.h"
#include "secprof/lab/attack_traffic.h"
#include "support/child_process.h"
#include "support/kdc_client.h"
#include "testutil.h"

namespace secprof::kdc {
namespace {

namespace fs = std::filesystem;
using namespace secprof::testing;
using secprof::testing::TempDir;

class KdcCliUnderAttack : public ::testing::Test {
 protected:
  void SetUp() override {
    factory_ = dir_.path() / "factory";
    db_ = (dir_.path() / "kdc.db").string();
    ready_ = dir_.path() / "ready";
    log_ = dir_.path() / "kdc.log";
    auto made = Secprof("manufacture --vendor Acme --model Bulb --count 2 --out " +
                        Quote(factory_.string()));
    ASSERT_EQ(made.exit_code, 0) << made.out;
  }
  std::string SetupCode(const std::string& serial) {
    std::string code = Slurp(factory_ / "things" / serial / "setup-code.txt");
    while (!code.empty() && (code.back() == '\n' || code.back() == ' ')) code.pop_back();
    return code;
  }
  // A genuine SecProf_2 thing from 127.0.0.1: j/nonce, j/psk, then a reading over DTLS-PSK.
  void JoinAndReport(const Ports& ports, const std::string& serial) {
    auto udp = Udp(ports.udp);
    ASSERT_TRUE(udp) << udp.error().ToString();
    PskJoined j;
    auto r = JoinPsk(**udp, serial, SetupCode(serial), &j);
    ASSERT_EQ(r.code, coap::kChanged) << serial << ": " << coap::AsText(r.payload);
    auto dtls = ConnectPsk(ports.dtls, j.identity, j.psk);
    ASSERT_TRUE(dtls) << dtls.error().ToString();
    auto rep =
        PostCbor(**dtls, domain::path::kReport, domain::Encode(domain::Reading{serial, 2100, 1}));
    ASSERT_TRUE(rep) << rep.error().ToString();
    EXPECT_EQ(rep->code, coap::kChanged) << coap::AsText(rep->payload);
  }
  // The refusal rows of the audit: (action, count) with count N for "x N from ..." rows, else 1.
  std::vector<std::pair<std::string, uint64_t>> RefusalRows() {
    auto reg = registry::Registry::Open(db_);
    EXPECT_TRUE(reg);
    std::vector<std::pair<std::string, uint64_t>> out;
    if (!reg) return out;
    auto audit = (*reg)->Audit();
    EXPECT_TRUE(audit);
    for (const auto& e : *audit) {
      if (e.action.rfind("refused:", 0) != 0) continue;
      uint64_t n = 1;
      if (e.detail.rfind("x ", 0) == 0) n = std::stoull(e.detail.substr(2));
      out.emplace_back(e.action, n);
    }
    return out;
  }
  int64_t Query(const std::string& sql) {
    auto db = store::Database::Open(db_);
    EXPECT_TRUE(db);
    auto v = (*db)->QueryInt64(sql);
    EXPECT_TRUE(v);
    return v ? *v : -1;
  }

  TempDir dir_;
  fs::path factory_;
  std::string db_;
  fs::path ready_, log_;
};

// "kdc: stopped after N s: ... refusals F" -> F.
uint64_t RefusalsInStats(const std::string& log) {
  size_t p = log.find(", refusals ");
  EXPECT_NE(p, std::string::npos) << log;
  return p == std::string::npos ? 0 : std::stoull(log.substr(p + 11));
}

// Item 15: eight loopback sources send malformed joins, nonce requests for an allowed serial,
// forged j/psk and plain-CoAP operational requests as fast as the KDC answers. The audit grows by
// at most (budget + reasons) rows per interval, every refusal is still accounted for in it, the
// attacked serial holds only the nonce its genuine join used, the flood sources are rate-limited (5.03), and genuine
// things join and report during and after the flood.
TEST_F(KdcCliUnderAttack, FloodFromManySourcesLeavesTheAuditBoundedAndGenuineThingsServed) {
  const std::string s0 = "bulb-000001", s1 = "bulb-000002";
  Child kdc({"kdc", "--profile", "SecProf_2", "--db", db_, "--listen", "127.0.0.1:0",
             "--join-window", "0", "--audit-interval", "1", "--ready-file", ready_.string()},
            log_);
  auto ports = WaitReady(kdc, ready_, log_);
  ASSERT_TRUE(ports);
  ASSERT_EQ(
      Secprof("kdc allow --db " + Quote(db_) + " --factory " + Quote(factory_.string()) + " --all")
          .exit_code,
      0);
  const int64_t rows_before = Query("SELECT count(*) FROM audit");
  const auto start = std::chrono::steady_clock::now();

  constexpr int kSources = 8, kRounds = 150;
  std::atomic<uint64_t> sent{0}, answered{0}, busy{0};
  std::atomic<bool> sockets_ok{true};
  {
    std::vector<std::jthread> attackers;
    for (int s = 0; s < kSources; ++s) {
      attackers.emplace_back([&, s] {
        attack::UdpSocket sock("127.0.0." + std::to_string(2 + s));
        if (!sock.ok()) {
          sockets_ok = false;
          return;
        }
        const attack::Packet garbage = {0xa1, 0x01, 0xff, 0x00};
        const attack::Packet nonce_req = domain::Encode(domain::JoinNonceRequest{s1});
        const attack::Packet forged = domain::Encode(
            domain::PskJoinRequest{s1, crypto::Bytes(16, uint8_t(s)), crypto::Bytes(32, 7)});
        const attack::Packet reading = domain::Encode(domain::Reading{s0, 1, 1});
        uint16_t mid = static_cast<uint16_t>(s * 4096);
        for (int i = 0; i < kRounds; ++i) {
          for (const auto& [path, body] : {std::pair{domain::path::kJoinNonce, &garbage},
                                           {domain::path::kJoinNonce, &nonce_req},
                                           {domain::path::kJoinPsk, &forged},
                                           {domain::path::kReport, &reading}}) {
            ++sent;
            sock.SendTo(ports->udp, attack::CoapRequest(attack::kCoapPost, ++mid, path, *body,
                                                        coap::content_format::kCbor));
            auto resp = sock.Recv(std::chrono::seconds(5));
            if (!resp) continue;
            ++answered;
            if (attack::CoapCode(*resp) == coap::kServiceUnavailable) ++busy;
          }
        }
      });
    }
    // A genuine thing joins and reports from 127.0.0.1 while the flood runs.
    JoinAndReport(*ports, s0);
  }  // attackers joined
  ASSERT_TRUE(sockets_ok) << "cannot bind 127.0.0.x";
  EXPECT_EQ(answered.load(), sent.load()) << "every flood request was answered, none dropped";
  EXPECT_GT(busy.load(), 0u) << "the flood sources were rate-limited";

  // After the flood: the serial the attacker asked nonces for joins and reports.
  JoinAndReport(*ports, s1);
  // The flood's nonce requests stored nothing (the SecProf_2 nonce is a stateless token,
  // docs/DOMAIN.md "Nonce"): the only row is the one the genuine join used up.
  EXPECT_EQ(Query("SELECT count(*) FROM nonces WHERE serial = '" + s1 + "'"), 1);

  EXPECT_EQ(kdc.Stop(SIGTERM), 0);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  const std::string log = Slurp(log_);
  const uint64_t refusals = RefusalsInStats(log);
  EXPECT_GE(refusals, sent.load() - 2 * kSources * kRounds) << log;  // at least the malformed ones
  EXPECT_NE(log.find("rate-limited"), std::string::npos) << log;
  EXPECT_EQ(log.find("audit write failed"), std::string::npos) << log;

  auto rows = RefusalRows();
  std::map<std::string, uint64_t> by_reason;
  uint64_t accounted = 0;
  for (const auto& [action, n] : rows) {
    by_reason[action] += n;
    accounted += n;
  }
  EXPECT_EQ(accounted, refusals) << "every refusal is in the audit, one by one or aggregated";
  EXPECT_GT(by_reason["refused:rate-limited"], 0u);
  EXPECT_GT(by_reason["refused:malformed"], 0u);
  // The bound: per interval (1 s here) at most the budget (10) plus one row per reason; intervals
  // counted generously (+2 for the partial first and the flush on stop).
  const uint64_t intervals =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(elapsed).count()) + 2;
  const uint64_t bound = intervals * (10 + by_reason.size());
  EXPECT_LE(rows.size(), bound) << rows.size() << " refusal rows for " << refusals << " refusals";
  EXPECT_LT(rows.size() * 10, refusals) << "the flood was aggregated, not written row by row";
  EXPECT_GE(Query("SELECT count(*) FROM audit"), rows_before);
  auto reg = registry::Registry::Open(db_);
  ASSERT_TRUE(reg);
  EXPECT_TRUE((*reg)->VerifyAuditChain());
}

// Item 15: a failed audit write is surfaced. The test holds the registry's write lock (as a full
// disk or a stuck owner command would block it) while an unauthenticated refusal happens: the KDC
// still answers, logs the failure, counts it in its statistics, and records the refusal in the
// aggregated row once the registry is writable again.
TEST_F(KdcCliUnderAttack, AFailedAuditWriteIsLoggedCountedAndRecordedLater) {
  Child kdc({"kdc", "--profile", "SecProf_2", "--db", db_, "--listen", "127.0.0.1:0",
             "--join-window", "0", "--audit-interval", "1", "--ready-file", ready_.string()},
            log_);
  auto ports = WaitReady(kdc, ready_, log_);
  ASSERT_TRUE(ports);
  {
    auto db = store::Database::Open(db_);
    ASSERT_TRUE(db);
    auto tx = store::Transaction::Begin(**db);  // BEGIN IMMEDIATE: the write lock
    ASSERT_TRUE(tx);
    attack::UdpSocket sock("127.0.0.2");
    ASSERT_TRUE(sock.ok());
    sock.SendTo(ports->udp, attack::CoapRequest(attack::kCoapPost, 1, domain::path::kJoinNonce,
                                                {0xff}, coap::content_format::kCbor));
    auto resp = sock.Recv(std::chrono::seconds(60));  // after the KDC's busy timeout
    ASSERT_TRUE(resp);
    EXPECT_EQ(attack::CoapCode(*resp), coap::kBadRequest);
  }  // rolled back: the lock is free
  EXPECT_EQ(kdc.Stop(SIGTERM), 0);
  const std::string log = Slurp(log_);
  EXPECT_NE(log.find("kdc: audit write failed"), std::string::npos) << log;
  EXPECT_NE(log.find("database is busy"), std::string::npos) << log;
  EXPECT_NE(log.find("WARNING: 1 audit writes failed"), std::string::npos) << log;
  bool recorded = false;
  for (const auto& [action, n] : RefusalRows())
    recorded = recorded || action == "refused:malformed";
  EXPECT_TRUE(recorded) << "the refusal reached the audit once the registry was writable";
}

// Item 16: a second `secprof kdc` on the registry of a running one is refused (exit 2) and
// changes nothing; owner commands keep working; the lock goes with the process, even a killed one.
TEST_F(KdcCliUnderAttack, SecondKdcOnTheSameRegistryIsRefused) {
  Child first({"kdc", "--profile", "SecProf_2", "--db", db_, "--listen", "127.0.0.1:0",
               "--ready-file", ready_.string()},
              log_);
  ASSERT_TRUE(WaitReady(first, ready_, log_));
  const int64_t rows = Query("SELECT count(*) FROM audit");
  auto r =
      Secprof("kdc --profile SecProf_2 --db " + Quote(db_) + " --listen 127.0.0.1:0 --duration 5");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("in use by another KDC (pid "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("listening"), std::string::npos) << r.out;
  EXPECT_EQ(Query("SELECT count(*) FROM audit"), rows);
  // Owner commands work alongside the running KDC.
  r = Secprof("kdc allow --db " + Quote(db_) + " --factory " + Quote(factory_.string()) + " --all");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = Secprof("kdc list --db " + Quote(db_));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("bulb-000001"), std::string::npos) << r.out;
  // A crashed KDC holds nothing: the next one starts.
  first.Kill();
  r = Secprof("kdc --profile SecProf_2 --db " + Quote(db_) + " --listen 127.0.0.1:0 --duration 1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("listening"), std::string::npos) << r.out;
}

// Item 14 (the KDC's part): SecProf_3 joins over DTLS with the IDevID, so its KDC binds no
// plain-CoAP port; SecProf_2 still does.
TEST_F(KdcCliUnderAttack, SecProf3KdcBindsNoPlainCoapPort) {
  Child kdc({"kdc", "--profile", "SecProf_3", "--db", db_, "--listen", "127.0.0.1:0", "--vendor-ca",
             (factory_ / "ca" / "ca.pem").string(), "--allow-file-ca-key", "--ready-file",
             ready_.string()},
            log_);
  auto ports = WaitReady(kdc, ready_, log_);
  ASSERT_TRUE(ports);
  EXPECT_EQ(ports->udp, 0);
  EXPECT_NE(ports->dtls, 0);
  EXPECT_EQ(kdc.Stop(SIGTERM), 0);
  const std::string log = Slurp(log_);
  EXPECT_NE(log.find("kdc: SecProf_3 listening coaps://127.0.0.1:"), std::string::npos) << log;
  EXPECT_EQ(log.find("coap://"), std::string::npos) << log;
}

}  // namespace
}  // namespace secprof::kdc

// The KDC killed at random points during concurrent joins (issue 4: "Kill the KDC at random points
// during 200 concurrent joins and restart it: the registry is consistent and every thing ends
// commissioned exactly once").
//
// `secprof kdc` runs as a child process on two fixed loopback ports (chosen free, below the
// kernel's ephemeral range so that no client socket can take them while the KDC is down). The
// things are thing::Agent objects in this process, joined by a pool of worker threads; each join
// that fails on the transport (the KDC is gone) is retried until it succeeds. Meanwhile the test
// thread SIGKILLs the KDC 3 to 5 times, at moments drawn from a seeded PRNG (the seed is printed;
// SECPROF_KILL_SEED replays it), and restarts it on the same ports. At the end:
//   - every agent is commissioned, on disk too;
//   - the registry holds every thing in kCommissioned, exactly one "commissioned" audit entry per
//     serial, an audit hash chain that verifies, and passes PRAGMA integrity_check;
//   - the key each agent holds is the key the KDC stored (unwrapped from the registry), and it
//     works: every thing goes operational and sends a reading over DTLS with it.
// SecProf_2 with SECPROF_KILL_THINGS things (default 200); SecProf_3 (vouchers, IDevID, LDevID)
// with SECPROF_KILL_THINGS_P3 (default 20).
//
// No assertion depends on timing: sleeps only spread the kills; waits have a safety bound only.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "../../src/kdc/testing.h"  // kdc::PairwiseContext
#include "secprof/core/fs.h"
#include "secprof/crypto/hash.h"
#include "secprof/identity/identity.h"
#include "secprof/kdc/kdc.h"
#include "secprof/manufacture/manufacture.h"
#include "secprof/registry/registry.h"
#include "secprof/store/sqlite.h"
#include "secprof/thing/agent.h"
#include "secprof/thing/testing.h"
#include "secprof/voucher/voucher.h"
#include "support/child_process.h"
#include "testutil.h"

namespace secprof::thing {
namespace {

namespace fs = std::filesystem;

using domain::Profile;
using secprof::testing::TempDir;
using testing::Child;
using testing::Slurp;
using testing::WaitReady;

int EnvInt(const char* name, int def) {
  const char* v = std::getenv(name);
  if (!v || !*v) return def;
  return std::atoi(v);
}

uint64_t Seed() {
  if (const char* v = std::getenv("SECPROF_KILL_SEED"); v && *v)
    return std::strtoull(v, nullptr, 10);
  std::random_device rd;
  return (uint64_t{rd()} << 32) | rd();
}

bool UdpPortFree(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// Two adjacent free UDP ports below the ephemeral range (ip_local_port_range), so a restart can
// bind them again: the kernel never hands them to a client socket meanwhile.
std::optional<std::pair<uint16_t, uint16_t>> PickPorts(std::mt19937_64& rng) {
  int low = 32768;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> low;
  int hi = std::min(low, 65536) - 2;
  int lo = std::max(10000, hi - 20000);
  if (hi <= lo) return std::nullopt;
  std::uniform_int_distribution<int> d(lo, hi);
  for (int i = 0; i < 200; ++i) {
    auto p = static_cast<uint16_t>(d(rng));
    if (UdpPortFree(p) && UdpPortFree(static_cast<uint16_t>(p + 1)))
      return std::make_pair(p, static_cast<uint16_t>(p + 1));
  }
  return std::nullopt;
}

// `secprof kdc` on fixed ports, restartable; the child is killed and reaped with the object.
class KdcProcess {
 public:
  KdcProcess(std::vector<std::string> args, fs::path ready, fs::path log)
      : args_(std::move(args)), ready_(std::move(ready)), log_(std::move(log)) {}

  // Starts it and waits until it listens (on the ports asked for).
  std::optional<testing::Ports> Start() {
    std::error_code ec;
    fs::remove(ready_, ec);  // a SIGKILLed KDC leaves its ready file behind
    child_ = std::make_unique<Child>(args_, log_);
    if (!child_->started()) return std::nullopt;
    ++starts_;
    return WaitReady(*child_, ready_, log_);
  }
  // A crash: SIGKILL, no cleanup in the KDC.
  void Kill() {
    if (child_) child_->Kill();
  }
  int Stop() { return child_ ? child_->Stop(SIGTERM) : -1; }
  int starts() const { return starts_; }
  const fs::path& log() const { return log_; }

 private:
  std::vector<std::string> args_;
  fs::path ready_, log_;
  std::unique_ptr<Child> child_;
  int starts_ = 0;
};

struct Thing {
  std::string serial;
  std::string state_dir;
  std::unique_ptr<Agent> agent;
};

// A transport failure while the KDC is down or restarting: the thing tries again. Connection
// refused during a DTLS handshake surfaces as a failed handshake (coap::Client reports every
// handshake that does not complete as refused), so for DTLS joins that counts as transport too; a
// handshake the KDC really refuses would keep failing and hit the attempt bound.
bool Transient(const Error& e) {
  if (e.code() == ErrorCode::kIo) return true;
  return e.code() == ErrorCode::kVerifyFailed &&
         e.message().find("DTLS handshake") != std::string::npos;
}

constexpr int kMaxAttempts = 500;  // per thing: only so that a broken build cannot spin forever

struct PoolResult {
  std::vector<std::string> failures;
  uint64_t retries = 0;
};

// Runs `step` for every thing on `workers` threads, retrying transient failures. `done` counts
// things finished (successfully or not). Setting `stop` ends the pool early (a failed assertion).
PoolResult RunPool(std::vector<Thing>& things, int workers, uint64_t seed, std::atomic<int>& done,
                   const std::atomic<bool>& stop, const std::function<Status(Thing&)>& step) {
  PoolResult out;
  std::mutex mu;
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> retries{0};
  {
    std::vector<std::jthread> pool;
    for (int w = 0; w < workers; ++w) {
      pool.emplace_back([&, w] {
        std::mt19937_64 rng(seed + static_cast<uint64_t>(w) + 1);
        std::uniform_int_distribution<int> backoff(5, 50);
        for (size_t i; !stop && (i = next.fetch_add(1)) < things.size();) {
          Thing& t = things[i];
          for (int attempt = 1;; ++attempt) {
            auto st = step(t);
            if (st) break;
            if (Transient(st.error()) && attempt < kMaxAttempts && !stop) {
              ++retries;
              std::this_thread::sleep_for(std::chrono::milliseconds(backoff(rng)));
              continue;
            }
            std::lock_guard<std::mutex> l(mu);
            out.failures.push_back(t.serial + " (attempt " + std::to_string(attempt) +
                                   "): " + st.error().ToString());
            break;
          }
          ++done;
        }
      });
    }
  }  // joins the pool
  out.retries = retries;
  return out;
}

struct KillScenario {
  Profile profile = Profile::kSecProf2;
  int things = 200;
  int workers = 24;
  std::chrono::milliseconds timeout{1500};  // per request / handshake
};

class KillTest : public ::testing::Test {
 protected:
  void Run(const KillScenario& sc) {
    const uint64_t seed = Seed();
    std::cout << "[ seed     ] SECPROF_KILL_SEED=" << seed << " ("
              << domain::ProfileName(sc.profile) << ", " << sc.things << " things)" << std::endl;
    RecordProperty("seed", std::to_string(seed));
    std::mt19937_64 rng(seed);
    const bool voucher = domain::PolicyFor(sc.profile).bootstrap == domain::Bootstrap::kVoucher;

    // Manufacture: one call, file key store.
    manufacture::Options mo;
    mo.vendor = "Acme";
    mo.model = "Meter";
    mo.count = sc.things;
    mo.out_dir = (tmp_.path() / "factory").string();
    const auto t_start = std::chrono::steady_clock::now();
    auto made = manufacture::Manufacture(mo);
    ASSERT_TRUE(made) << made.error().ToString();
    const auto& manifest = made->manifest;
    ASSERT_EQ(manifest.things.size(), static_cast<size_t>(sc.things));

    // The KDC on two fixed ports.
    auto ports = PickPorts(rng);
    ASSERT_TRUE(ports) << "no two free UDP ports below the ephemeral range";
    const std::string db = (tmp_.path() / "kdc.db").string();
    std::vector<std::string> args = {"kdc",
                                     "--profile",
                                     domain::ProfileName(sc.profile),
                                     "--db",
                                     db,
                                     "--listen",
                                     "127.0.0.1:" + std::to_string(ports->first),
                                     "--dtls-port",
                                     std::to_string(ports->second),
                                     "--join-window",
                                     "0",
                                     "--ready-file",
                                     (tmp_.path() / "kdc.ready").string()};
    if (voucher) {
      args.push_back("--vendor-ca");
      args.push_back(mo.out_dir + "/ca/ca.pem");
      // File-store things (key_protection_test covers the token-key policy, issue 9 item 5).
      args.push_back("--require-token-keys");
      args.push_back("no");
      args.push_back("--allow-file-ca-key");
    }
    KdcProcess kdc(args, tmp_.path() / "kdc.ready", tmp_.path() / "kdc.log");
    auto up = kdc.Start();
    ASSERT_TRUE(up);
    // SecProf_3 has no plain-CoAP step: its KDC binds no UDP port (issue 9, item 14).
    ASSERT_EQ(up->udp, voucher ? 0 : ports->first) << Slurp(kdc.log());
    ASSERT_EQ(up->dtls, ports->second) << Slurp(kdc.log());

    // The owner admits every thing: setup codes (SecProf_2) or vouchers for this domain (3).
    {
      auto owner = kdc::OwnerTools::Open(db);
      ASSERT_TRUE(owner) << owner.error().ToString();
      if (voucher) {
        auto pem = ReadFile(db + ".keys/domain-ca.pem");
        ASSERT_TRUE(pem) << pem.error().ToString();
        auto domain_ca = identity::Certificate::FromPem(*pem);
        ASSERT_TRUE(domain_ca) << domain_ca.error().ToString();
        auto vendor = voucher::Factory::Open(mo.out_dir);
        ASSERT_TRUE(vendor) << vendor.error().ToString();
        for (const auto& t : manifest.things) {
          auto v = vendor->Issue(t.serial, *domain_ca, "secprof-owner", std::chrono::hours(24),
                                 SystemClock());
          ASSERT_TRUE(v) << v.error().ToString();
          ASSERT_TRUE((*owner)->ImportVoucher(*v, vendor->vendor_ca()));
        }
      } else {
        for (const auto& t : manifest.things)
          ASSERT_TRUE((*owner)->AllowSetupCode(t.serial, "Acme", "Meter", t.setup_code));
      }
    }

    // The things, installed for the KDC.
    std::vector<Thing> things;
    for (const auto& rec : manifest.things) {
      Thing t;
      t.serial = rec.serial;
      t.state_dir = (tmp_.path() / ("thing-" + rec.serial)).string();
      InitOptions io{t.state_dir, mo.out_dir, rec.serial, sc.profile};
      io.allow_file_keys = true;  // file-store things also in SecProf_3
      ASSERT_TRUE(Agent::Init(io));
      AgentOptions ao;
      ao.state_dir = t.state_dir;
      ao.timeout = sc.timeout;
      auto a = Agent::Open(ao);
      ASSERT_TRUE(a) << a.error().ToString();
      t.agent = std::move(*a);
      ASSERT_TRUE(t.agent->Install("127.0.0.1", ports->first, ports->second));
      things.push_back(std::move(t));
    }

    std::cout << "[ figures  ] manufacture, admission and " << sc.things << " agents: "
              << std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - t_start)
                     .count()
              << " ms" << std::endl;

    // Joins, concurrently, while the KDC is killed and restarted.
    const int kills = std::uniform_int_distribution<int>(3, 5)(rng);
    std::vector<int> at;  // kill when this many things have joined (within the first 90%)
    for (int k = 0; k < kills; ++k)
      at.push_back(std::uniform_int_distribution<int>(0, sc.things * 9 / 10)(rng));
    std::sort(at.begin(), at.end());
    std::uniform_int_distribution<int> jitter(0, 40), downtime(0, 250);
    std::atomic<int> joined{0};
    std::atomic<bool> pool_done{false}, stop{false};
    PoolResult joins;
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<int> killed_at;
    {
      std::jthread pool([&] {
        joins = RunPool(things, std::min(sc.workers, sc.things), seed, joined, stop,
                        [](Thing& t) { return t.agent->Join(); });
        pool_done = true;
      });
      // A failed ASSERT below leaves the block early: then the pool stops retrying before `pool`
      // joins it (the guard is destroyed first).
      struct StopOnExit {
        std::atomic<bool>& flag;
        ~StopOnExit() { flag = true; }
      } stop_on_exit{stop};
      for (int k = 0; k < kills; ++k) {
        while (joined < at[k] && !pool_done)
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        std::this_thread::sleep_for(std::chrono::milliseconds(jitter(rng)));
        killed_at.push_back(joined);
        kdc.Kill();
        std::this_thread::sleep_for(std::chrono::milliseconds(downtime(rng)));
        auto again = kdc.Start();
        ASSERT_TRUE(again) << "restart " << k + 1 << " failed:\n" << Slurp(kdc.log());
        ASSERT_EQ(again->udp, voucher ? 0 : ports->first);
        ASSERT_EQ(again->dtls, ports->second);
      }
      pool.join();  // the pool finishes against the last KDC
    }
    const auto join_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    std::string kill_points;
    for (int k : killed_at) kill_points += " " + std::to_string(k);
    std::cout << "[ figures  ] " << sc.things << " joins in " << join_ms << " ms, " << joins.retries
              << " retried attempts, " << kills << " SIGKILLs after joins #:" << kill_points << ", "
              << kdc.starts() << " KDC starts" << std::endl;
    ASSERT_TRUE(joins.failures.empty())
        << joins.failures.size() << " joins failed, first: " << joins.failures.front()
        << "\nKDC log:\n"
        << Slurp(kdc.log());

    // Every agent is commissioned, and so is its state on disk.
    for (auto& t : things) {
      EXPECT_EQ(t.agent->state().state, State::kCommissioned) << t.serial;
      t.agent.reset();  // one Agent per state directory at a time (its firmware store is locked)
      AgentOptions ao;
      ao.state_dir = t.state_dir;
      ao.timeout = std::chrono::milliseconds(10000);  // no kills from here on
      auto a = Agent::Open(ao);
      ASSERT_TRUE(a) << a.error().ToString();
      EXPECT_EQ((*a)->state().state, State::kCommissioned) << t.serial;
      t.agent = std::move(*a);
    }

    // The registry: consistent, every thing commissioned exactly once, keys as the agents hold.
    {
      auto reg = registry::Registry::Open(db);
      ASSERT_TRUE(reg) << reg.error().ToString();
      auto integrity = (*reg)->database().QueryText("PRAGMA integrity_check");
      ASSERT_TRUE(integrity) << integrity.error().ToString();
      EXPECT_EQ(*integrity, "ok");
      EXPECT_TRUE((*reg)->VerifyAuditChain());
      auto counts = (*reg)->CountByState();
      ASSERT_TRUE(counts);
      EXPECT_EQ((*counts)[registry::State::kCommissioned], sc.things);
      auto audit = (*reg)->Audit();
      ASSERT_TRUE(audit);
      std::map<std::string, int> commissioned;
      int repeats = 0;
      for (const auto& e : *audit) {
        if (e.action == "commissioned") ++commissioned[e.serial];
        repeats += e.action == "join-repeat";
      }
      EXPECT_EQ(commissioned.size(), static_cast<size_t>(sc.things));
      for (const auto& [serial, n] : commissioned) EXPECT_EQ(n, 1) << serial;
      std::cout << "[ figures  ] audit: " << audit->size() << " entries, " << repeats
                << " repeated joins answered idempotently" << std::endl;

      auto kek = ReadFile(db + ".keys.kek");  // outside the key directory (issue 9 item 12)
      ASSERT_TRUE(kek) << kek.error().ToString();
      const crypto::ByteView kek_view(reinterpret_cast<const uint8_t*>(kek->data()), kek->size());
      for (const auto& t : things) {
        auto stored = (*reg)->Get(t.serial);
        ASSERT_TRUE(stored) << stored.error().ToString();
        EXPECT_EQ(stored->state, registry::State::kCommissioned) << t.serial;
        EXPECT_TRUE(stored->commissioned_at.has_value()) << t.serial;
        EXPECT_GE(stored->joins, 1) << t.serial;
        auto kdc_key =
            domain::UnwrapKey(kek_view, kdc::PairwiseContext(t.serial), stored->wrapped_key);
        ASSERT_TRUE(kdc_key) << t.serial << ": " << kdc_key.error().ToString();
        auto thing_key = AgentTestPeer::PairwiseKey(*t.agent);
        ASSERT_TRUE(thing_key) << t.serial;
        EXPECT_TRUE(
            thing_key->size() == kdc_key->size() &&
            std::equal(thing_key->data(), thing_key->data() + thing_key->size(), kdc_key->data()))
            << t.serial << ": the thing holds another key than the KDC stored";
        if (voucher) {
          EXPECT_EQ(t.agent->state().ldevid_pem, stored->ldevid_pem) << t.serial;
        } else {
          EXPECT_EQ(t.agent->state().psk_identity, stored->credential_id) << t.serial;
        }
      }
    }

    // And the keys work: every thing goes operational and reports over DTLS with them.
    std::atomic<int> operated{0};
    std::atomic<bool> no_stop{false};
    auto ops = RunPool(things, std::min(sc.workers, sc.things), seed ^ 0x5eed, operated, no_stop,
                       [](Thing& t) -> Status {
                         if (t.agent->state().state != State::kOperational)
                           SECPROF_TRY(t.agent->GoOperational());
                         return t.agent->SendReading(2000);
                       });
    EXPECT_TRUE(ops.failures.empty())
        << ops.failures.size() << " operational checks failed, first: " << ops.failures.front();
    {
      auto reg = registry::Registry::Open(db);
      ASSERT_TRUE(reg);
      auto counts = (*reg)->CountByState();
      ASSERT_TRUE(counts);
      EXPECT_EQ((*counts)[registry::State::kOperational], sc.things);
      EXPECT_TRUE((*reg)->VerifyAuditChain());
      EXPECT_TRUE((*reg)->database().IntegrityCheck());
    }
    EXPECT_EQ(kdc.Stop(), 0) << Slurp(kdc.log());
    EXPECT_FALSE(testing::HasSanitizerReport(Slurp(kdc.log()))) << Slurp(kdc.log());
    std::cout << "[ figures  ] " << sc.things << " things operational and reporting, "
              << ops.retries << " retried attempts; whole scenario "
              << std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - t_start)
                     .count()
              << " ms" << std::endl;
  }

  TempDir tmp_;
};

TEST_F(KillTest, SecProf2KdcKilledDuringConcurrentJoins) {
  KillScenario sc;
  sc.profile = Profile::kSecProf2;
  sc.things = std::max(1, EnvInt("SECPROF_KILL_THINGS", 200));
  Run(sc);
}

TEST_F(KillTest, SecProf3KdcKilledDuringConcurrentVoucherJoins) {
  KillScenario sc;
  sc.profile = Profile::kSecProf3;
  sc.things = std::max(1, EnvInt("SECPROF_KILL_THINGS_P3", 20));
  sc.workers = 8;
  sc.timeout = std::chrono::milliseconds(2000);
  Run(sc);
}

}  // namespace
}  // namespace secprof::thing

// Tests for secprof::registry: two objects on one file, a busy writer, concurrent writers from
// threads, and a fork + SIGKILL test of Commission.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "registry_fixture.h"
#include "secprof/crypto/hash.h"
#include "secprof/registry/registry.h"
#include "secprof/store/sqlite.h"
#include "testutil.h"

namespace secprof::registry {
namespace {
using namespace registry_fixture;

// --- concurrency ---------------------------------------------------------------------------------

TEST_F(RegistryTest, TwoObjectsOnOneFile) {
  auto r2 = Registry::Open(path_, clock_);
  ASSERT_TRUE(r2);
  Registry& other = **r2;
  ASSERT_TRUE(reg_->Allow("t", "acme", "bulb", std::nullopt, "owner"));
  auto seen = other.Get("t");
  ASSERT_TRUE(seen);
  ASSERT_TRUE(other.Commission("t", Ldevid("c"), "kdc"));
  EXPECT_EQ(StateOf("t"), State::kCommissioned);
  // The second object sees the first commission and answers a repeat join.
  auto again = reg_->Commission("t", Ldevid("c"), "kdc");
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->first_time);
  ASSERT_TRUE(other.Transition("t", State::kOperational, "kdc", ""));
  EXPECT_EQ(StateOf("t"), State::kOperational);
  EXPECT_TRUE(reg_->VerifyAuditChain());
  EXPECT_TRUE(other.VerifyAuditChain());
}

TEST_F(RegistryTest, BusyWriterGetsAClearError) {
  auto r2 = Registry::Open(path_, clock_, 20ms);
  ASSERT_TRUE(r2);
  auto raw = Raw();
  auto tx = store::Transaction::Begin(*raw);  // another process holds the write lock
  ASSERT_TRUE(tx);
  auto st = (*r2)->Allow("t", "acme", "bulb", std::nullopt, "owner");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kLimit);
  EXPECT_NE(st.error().message().find("database is busy"), std::string::npos);
  EXPECT_TRUE((*r2)->List());  // reads still work (WAL)
  tx->Rollback();
  ASSERT_TRUE((*r2)->Allow("t", "acme", "bulb", std::nullopt, "owner"));
}

TEST_F(RegistryTest, ConcurrentWritersFromThreads) {
  constexpr int kThreads = 4, kPerThread = 25;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      ASSERT_TRUE(reg_->Allow("t" + std::to_string(t) + "-" + std::to_string(i), "acme", "bulb",
                              std::nullopt, "owner"));
    }
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  // Half the threads share reg_ (its mutex), half open their own Registry (SQLite's lock).
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::unique_ptr<Registry> own;
      Registry* r = reg_.get();
      if (t % 2 == 1) {
        auto o = Registry::Open(path_, clock_);
        if (!o) {
          ++failures;
          return;
        }
        own = std::move(*o);
        r = own.get();
      }
      for (int i = 0; i < kPerThread; ++i) {
        const std::string s = "t" + std::to_string(t) + "-" + std::to_string(i);
        // Every thing is commissioned twice by two threads: the pair (t, t^1) overlaps.
        const std::string peer = "t" + std::to_string(t ^ 1) + "-" + std::to_string(i);
        if (!r->Commission(s, Psk("psk-" + s), "kdc")) ++failures;
        if (!r->Commission(peer, Psk("psk-" + peer), "kdc")) ++failures;
        if (!r->Append("kdc", "note", s, "x")) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto things = reg_->List(State::kCommissioned);
  ASSERT_EQ(things->size(), static_cast<size_t>(kThreads * kPerThread));
  for (const auto& t : *things) {
    EXPECT_EQ(t.joins, 2) << t.serial;
    EXPECT_EQ(Count("commissioned", t.serial), 1) << t.serial;
    EXPECT_EQ(Count("join-repeat", t.serial), 1) << t.serial;
  }
  EXPECT_TRUE(reg_->VerifyAuditChain());
  EXPECT_TRUE(reg_->database().IntegrityCheck());
}

// --- kill test -----------------------------------------------------------------------------------

class ChildGuard {
 public:
  explicit ChildGuard(pid_t pid) : pid_(pid) {}
  ~ChildGuard() { KillAndWait(); }
  void KillAndWait() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_;
};

bool ReadLine(int fd, std::string* line) {
  line->clear();
  char c;
  while (true) {
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    if (c == '\n') return true;
    *line += c;
  }
}

// The child: allows and commissions k<round>-0, k<round>-1, ... and repeats the join of an earlier
// thing now and then; reports each serial after its Commission returned. Never returns.
[[noreturn]] void CommissionForever(const std::string& path, int round, int fd) {
  FakeClock clock{std::chrono::system_clock::time_point(std::chrono::seconds(kStart))};
  auto r = Registry::Open(path, clock);
  if (!r) ::_exit(3);
  Registry& reg = **r;
  for (int i = 0;; ++i) {
    const std::string s = "k" + std::to_string(round) + "-" + std::to_string(i);
    if (!reg.Allow(s, "acme", "bulb", std::nullopt, "owner")) ::_exit(4);
    if (!reg.Commission(s, Psk("psk-" + s), "kdc")) ::_exit(5);
    const std::string line = s + "\n";
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(6);
    if (i % 3 == 2) {  // a repeated join of an earlier thing
      const std::string e = "k" + std::to_string(round) + "-" + std::to_string(i / 2);
      if (!reg.Commission(e, Psk("psk-" + e), "kdc")) ::_exit(7);
    }
    clock.Advance(1s);
  }
}

TEST(RegistryKill, CommissionSurvivesSigkill) {
  TempDir dir;
  const std::string path = (dir.path() / "kill.db").string();
  FakeClock clock{std::chrono::system_clock::time_point(std::chrono::seconds(kStart))};
  {
    auto r = Registry::Open(path, clock);
    ASSERT_TRUE(r);
    ASSERT_TRUE((*r)->InitDomain("SecProf_3", "owner"));
  }
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::set<std::string> reported;
  for (int round = 0; round < 6; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      CommissionForever(path, round, fds[1]);
    }
    ChildGuard child(pid);
    ::close(fds[1]);
    const int kill_after = std::uniform_int_distribution<int>(1, 25)(rng);
    std::string line;
    for (int i = 0; i < kill_after; ++i) {
      ASSERT_TRUE(ReadLine(fds[0], &line)) << "child died early";
      reported.insert(line);
    }
    ::usleep(std::uniform_int_distribution<unsigned>(0, 5000)(rng));
    child.KillAndWait();
    while (ReadLine(fds[0], &line)) reported.insert(line);
    ::close(fds[0]);

    auto r = Registry::Open(path, clock);
    ASSERT_TRUE(r) << r.error().ToString();
    Registry& reg = **r;
    ASSERT_TRUE(reg.database().IntegrityCheck());
    auto chain = reg.VerifyAuditChain();
    ASSERT_TRUE(chain) << chain.error().ToString();
    // Every reported thing is commissioned.
    for (const auto& s : reported) {
      auto t = reg.Get(s);
      ASSERT_TRUE(t) << s;
      EXPECT_EQ(t->state, State::kCommissioned) << s;
    }
    // Commissioned things and "commissioned" entries match one to one.
    std::map<std::string, int> entries;
    auto audit = reg.Audit();
    ASSERT_TRUE(audit);
    for (const auto& e : *audit) {
      if (e.action == "commissioned") ++entries[e.serial];
    }
    auto commissioned = reg.List(State::kCommissioned);
    ASSERT_TRUE(commissioned);
    for (const auto& t : *commissioned) EXPECT_EQ(entries[t.serial], 1) << t.serial;
    for (const auto& [serial, n] : entries) {
      EXPECT_EQ(n, 1) << serial;
      EXPECT_EQ(reg.Get(serial)->state, State::kCommissioned) << serial;
    }
    EXPECT_EQ(entries.size(), commissioned->size());
    EXPECT_LE(commissioned->size(), reported.size() + round + 1);
  }
}

}  // namespace
}  // namespace secprof::registry

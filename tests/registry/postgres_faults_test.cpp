// Faults on the PostgreSQL backend, against the real server of support/postgres_fixture.h: a
// writer that cannot get the registry's write lock in time (kLimit, nothing written), the server
// killed in the middle of a transaction (a clear kIo, nothing of it persisted, what was committed
// kept, the same Registry working again once the server is back), and the audit hash chain under
// two writer connections at once.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "backend_fixture.h"
#include "storage.h"

namespace secprof::registry {
namespace {

using namespace std::chrono_literals;
using internal::Storage;
using internal::Value;

int64_t Count(const std::string& uri, const std::string& table) {
  return std::stoll("0" + testing::PostgresServer::Value(uri, "SELECT count(*) FROM " + table));
}

TEST(PostgresFaults, WriterWaitsForTheLockThenGetsKLimitAndWritesNothing) {
  SECPROF_REQUIRE_POSTGRES(server);
  const std::string uri = server->NewDatabase();
  FakeClock clock;
  auto holder = internal::OpenPostgresStorage(uri, 5s);
  ASSERT_TRUE(holder) << holder.error().ToString();
  auto reg = Registry::Open(uri, clock, 100ms);
  ASSERT_TRUE(reg);
  ASSERT_TRUE((*reg)->Append("owner", "before", "", ""));
  // Another connection holds the write lock (an open write transaction).
  ASSERT_TRUE((*holder)->Begin(Storage::Mode::kWrite));
  auto busy = (*reg)->Append("owner", "blocked", "", "");
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code(), ErrorCode::kLimit);
  EXPECT_NE(busy.error().message().find("database is busy"), std::string::npos)
      << busy.error().message();
  // Reads do not wait for the write lock.
  auto entries = (*reg)->Audit();
  ASSERT_TRUE(entries);
  EXPECT_EQ(entries->size(), 1u);
  (*holder)->Rollback();
  ASSERT_TRUE((*reg)->Append("owner", "after", "", ""));
  entries = (*reg)->Audit();
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ(entries->back().action, "after");
  EXPECT_TRUE((*reg)->VerifyAuditChain());
}

TEST(PostgresFaults, ServerKilledMidTransactionKeepsNothingOfItAndTheRegistryRecovers) {
  SECPROF_REQUIRE_POSTGRES(server);
  const std::string uri = server->NewDatabase();
  FakeClock clock;
  auto reg = Registry::Open(uri, clock);
  ASSERT_TRUE(reg);
  ASSERT_TRUE((*reg)->Allow("kept", "acme", "m1", std::nullopt, "owner"));  // acknowledged
  auto storage = internal::OpenPostgresStorage(uri, 5s);
  ASSERT_TRUE(storage);
  Storage& st = **storage;
  ASSERT_TRUE(st.Begin(Storage::Mode::kWrite));
  const std::array<Value, 1> serial = {Value(std::string_view("lost"))};
  ASSERT_TRUE(
      st.Execute("INSERT INTO things(serial, vendor, model, state, created, updated) "
                 "VALUES(?, 'acme', 'm1', 'allowed', 1, 1)",
                 serial));
  std::string why;
  ASSERT_TRUE(server->CrashAndRestart(&why)) << why;
  auto commit = st.Commit();
  ASSERT_FALSE(commit);
  EXPECT_EQ(commit.error().code(), ErrorCode::kIo);
  EXPECT_NE(commit.error().message().find("connection to the PostgreSQL server lost"),
            std::string::npos)
      << commit.error().message();
  EXPECT_EQ(commit.error().message().find(server->password()), std::string::npos);
  EXPECT_EQ(testing::PostgresServer::Value(uri, "SELECT string_agg(serial, ',') FROM things"),
            "kept");
  // Both connections reconnect at their next use.
  ASSERT_TRUE(st.Begin(Storage::Mode::kRead)) << "reconnecting";
  st.Rollback();
  auto again = (*reg)->Allow("later", "acme", "m1", std::nullopt, "owner");
  ASSERT_TRUE(again) << again.error().ToString();
  auto things = (*reg)->List();
  ASSERT_TRUE(things);
  ASSERT_EQ(things->size(), 2u);
  EXPECT_TRUE((*reg)->VerifyAuditChain());
}

TEST(PostgresFaults, AuditChainHoldsUnderTwoConcurrentWriterConnections) {
  SECPROF_REQUIRE_POSTGRES(server);
  const std::string uri = server->NewDatabase();
  FakeClock clock;
  auto a = Registry::Open(uri, clock);
  auto b = Registry::Open(uri, clock);
  ASSERT_TRUE(a && b);
  constexpr int kEach = 20;
  for (int i = 0; i < kEach; ++i) {
    ASSERT_TRUE((*a)->Allow("t-" + std::to_string(i), "acme", "m1", std::nullopt, "owner"));
  }
  // Both connections commission the same things and append, at once: every serial is
  // commissioned exactly once (the other connection gets a repeat), and the chain has no fork.
  std::atomic<int> first_times{0}, failures{0};
  auto work = [&](Registry& reg, char fp) {
    for (int i = 0; i < kEach; ++i) {
      CommissionInput in;
      in.credential_kind = "psk";
      in.credential_id = "p-" + std::to_string(i);
      in.credential_fingerprint = std::string(64, 'a');
      in.wrapped_key = Bytes(48, static_cast<uint8_t>(fp));
      auto out = reg.Commission("t-" + std::to_string(i), in, "kdc");
      if (!out) {
        ++failures;
        continue;
      }
      first_times += out->first_time ? 1 : 0;
      if (!reg.Append("kdc", "note", "", std::string(1, fp))) ++failures;
    }
  };
  std::thread ta(work, std::ref(**a), 'a');
  std::thread tb(work, std::ref(**b), 'b');
  ta.join();
  tb.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(first_times.load(), kEach);
  EXPECT_EQ(Count(uri, "audit WHERE action = 'commissioned'"), kEach);
  EXPECT_EQ(Count(uri, "audit WHERE action = 'join-repeat'"), kEach);
  EXPECT_EQ(Count(uri, "audit WHERE action = 'note'"), 2 * kEach);
  auto verified = (*a)->VerifyAuditChain();
  EXPECT_TRUE(verified) << verified.error().ToString();
  // Two connections racing on one nonce: exactly one consumes it.
  const Bytes nonce(16, 7);
  ASSERT_TRUE((*a)->PutNonce(nonce, "t-0", UnixSeconds(clock) + 60));
  std::atomic<int> consumed{0}, replays{0};
  auto consume = [&](Registry& reg) {
    auto r = reg.ConsumeNonce(nonce, "t-0");
    if (r) ++consumed;
    if (!r && r.error().Is(kReplay)) ++replays;
  };
  std::thread ca(consume, std::ref(**a));
  std::thread cb(consume, std::ref(**b));
  ca.join();
  cb.join();
  EXPECT_EQ(consumed.load(), 1);
  EXPECT_EQ(replays.load(), 1);
}

}  // namespace
}  // namespace secprof::registry

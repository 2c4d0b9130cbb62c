// Unit tests for secprof/kdc/refusals.h (suite RefusalLedger) with a FakeClock and an in-memory
// audit sink, and for the join-nonce bounds of Registry::PutNonce (suite NonceBounds). The same
// protections against a running `secprof kdc` are in tests/cli/kdc_unauthenticated_cli_test.cpp.
#include "secprof/kdc/refusals.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "secprof/registry/registry.h"
#include "secprof/store/sqlite.h"
#include "testutil.h"

namespace secprof::kdc {
namespace {

struct Row {
  std::string action, serial, detail;
};

class RefusalLedgerTest : public ::testing::Test {
 protected:
  RefusalLedger Make(UnauthenticatedLimits lim) {
    return RefusalLedger(
        lim, clock_,
        [this](std::string_view a, std::string_view s, std::string_view d) -> Status {
          if (fail_) return Fail(ErrorCode::kIo, "database or disk is full");
          rows_.push_back({std::string(a), std::string(s), std::string(d)});
          return Ok();
        },
        [this](std::string_view line) { log_.emplace_back(line); });
  }
  FakeClock clock_;
  bool fail_ = false;
  std::vector<Row> rows_;
  std::vector<std::string> log_;
};

TEST(SourceAddress, DropsThePort) {
  EXPECT_EQ(SourceAddress("127.0.0.2:5683"), "127.0.0.2");
  EXPECT_EQ(SourceAddress("[::1]:5683"), "::1");
  EXPECT_EQ(SourceAddress("::1"), "::1");
  EXPECT_EQ(SourceAddress("10.0.0.1"), "10.0.0.1");
}

TEST_F(RefusalLedgerTest, RateLimitIsPerSourceAndRefills) {
  UnauthenticatedLimits lim;
  lim.burst = 3;
  lim.rate_per_second = 1;
  auto l = Make(lim);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(l.Admit("10.0.0.1")) << i;
    l.Charge("10.0.0.1");  // refused
  }
  EXPECT_FALSE(l.Admit("10.0.0.1"));
  EXPECT_FALSE(l.Admit("10.0.0.1"));
  EXPECT_TRUE(l.Admit("10.0.0.2"));  // another address keeps its own bucket
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_TRUE(l.Admit("10.0.0.1"));
  l.Charge("10.0.0.1");
  EXPECT_FALSE(l.Admit("10.0.0.1"));
  // A completed join gives its nonce's token back.
  l.Refund("10.0.0.1");
  EXPECT_TRUE(l.Admit("10.0.0.1"));
  EXPECT_EQ(l.counters().rate_limited, 3u);
  EXPECT_TRUE(rows_.empty()) << "rate-limited requests write nothing at once";
  clock_.Advance(lim.audit_interval);
  l.Tick();
  ASSERT_EQ(rows_.size(), 1u);
  EXPECT_EQ(rows_[0].action, "refused:rate-limited");
  EXPECT_EQ(rows_[0].detail, "x 3 from 1 sources (10.0.0.1 x 3)");
}

TEST_F(RefusalLedgerTest, RefusalsBeyondTheBudgetAreAggregatedPerReasonAndInterval) {
  UnauthenticatedLimits lim;
  lim.audit_budget = 2;
  lim.audit_interval = std::chrono::seconds(10);
  auto l = Make(lim);
  const std::vector<std::string> sources = {"10.0.0.1", "10.0.0.2", "10.0.0.3"};
  for (int i = 0; i < 300; ++i) l.Unauthenticated("malformed", sources[i % 3], "", "not CBOR");
  for (int i = 0; i < 30; ++i) l.Unauthenticated("bad-proof", "10.0.0.9", "bulb-000001", "no");
  ASSERT_EQ(rows_.size(), 2u) << "only the budget is audited one by one";
  EXPECT_EQ(rows_[0].action, "refused:malformed");
  EXPECT_EQ(rows_[0].detail, "not CBOR (from 10.0.0.1)");
  l.Tick();  // the interval is not over
  EXPECT_EQ(rows_.size(), 2u);
  clock_.Advance(std::chrono::seconds(10));
  l.Tick();
  ASSERT_EQ(rows_.size(), 4u);  // one row per reason
  EXPECT_EQ(rows_[2].action, "refused:bad-proof");
  EXPECT_EQ(rows_[2].serial, "bulb-000001");
  EXPECT_EQ(rows_[2].detail, "x 30 from 1 sources (10.0.0.9 x 30)");
  EXPECT_EQ(rows_[3].action, "refused:malformed");
  EXPECT_EQ(rows_[3].serial, "");
  EXPECT_NE(rows_[3].detail.find("x 298 from 3 sources"), std::string::npos) << rows_[3].detail;
  EXPECT_EQ(l.counters().aggregated, 328u);
  // A new interval: the budget is back.
  l.Unauthenticated("malformed", "10.0.0.1", "", "again");
  EXPECT_EQ(rows_.size(), 5u);
  EXPECT_EQ(rows_[4].detail, "again (from 10.0.0.1)");
}

TEST_F(RefusalLedgerTest, AuthenticatedRefusalsAreAuditedOneByOne) {
  UnauthenticatedLimits lim;
  lim.audit_budget = 0;
  auto l = Make(lim);
  for (int i = 0; i < 50; ++i) l.Authenticated("spoofed-reading", "bulb-000001", "names another");
  EXPECT_EQ(rows_.size(), 50u);
  EXPECT_EQ(l.counters().aggregated, 0u);
}

TEST_F(RefusalLedgerTest, TrackedSourcesAreBounded) {
  UnauthenticatedLimits lim;
  lim.max_sources = 4;
  lim.burst = 2;
  lim.audit_budget = 0;
  auto l = Make(lim);
  for (int i = 0; i < 1000; ++i) {
    std::string src = "10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256);
    if (l.Admit(src)) l.Charge(src);
    l.Unauthenticated("malformed", src, "", "x");
  }
  EXPECT_LE(l.counters().sources_tracked, 4u);
  // Untracked addresses share the overflow bucket: most of the wide flood is limited.
  EXPECT_GE(l.counters().rate_limited, 1000u - 4 * 2 - 2);
  clock_.Advance(lim.audit_interval);
  l.Tick();
  bool found = false;
  for (const auto& r : rows_)
    if (r.action == "refused:malformed") {
      found = true;
      EXPECT_NE(r.detail.find("x 1000 from 4 sources and 996 more refusals"), std::string::npos)
          << r.detail;
    }
  EXPECT_TRUE(found);
  // The tracked ones that refilled are forgotten for new addresses.
  clock_.Advance(std::chrono::seconds(10));
  EXPECT_TRUE(l.Admit("10.9.9.9"));
  EXPECT_LE(l.counters().sources_tracked, 4u);
}

TEST_F(RefusalLedgerTest, AFailedAuditWriteIsCountedLoggedAndRecordedLater) {
  UnauthenticatedLimits lim;
  lim.audit_budget = 1;
  auto l = Make(lim);
  fail_ = true;
  l.Unauthenticated("malformed", "10.0.0.1", "", "not CBOR");
  l.Unauthenticated("malformed", "10.0.0.1", "", "not CBOR");
  EXPECT_FALSE(l.Audit("pair-key", "bulb-000001", "peer x"));
  EXPECT_EQ(l.counters().audit_failures, 2u);
  ASSERT_EQ(log_.size(), 1u) << "one line, not one per failure";
  EXPECT_NE(log_[0].find("audit write failed"), std::string::npos) << log_[0];
  EXPECT_NE(log_[0].find("disk is full"), std::string::npos) << log_[0];
  clock_.Advance(lim.audit_interval);
  l.Tick();  // still failing: counts kept
  EXPECT_TRUE(rows_.empty());
  EXPECT_EQ(l.counters().audit_failures, 3u);
  fail_ = false;
  clock_.Advance(lim.audit_interval);
  l.Tick();
  ASSERT_EQ(rows_.size(), 1u);
  EXPECT_EQ(rows_[0].detail, "x 2 from 1 sources (10.0.0.1 x 2)") << "nothing counted was lost";
}

// ---- join nonces ----

class NonceBounds : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = registry::Registry::Open((dir_.path() / "r.db").string(), clock_);
    ASSERT_TRUE(r) << r.error().ToString();
    reg_ = std::move(*r);
    ASSERT_TRUE(reg_->InitDomain("SecProf_2", "owner"));
  }
  int64_t Count(const std::string& serial) {
    auto db = store::Database::Open((dir_.path() / "r.db").string());
    EXPECT_TRUE(db);
    auto st = (*db)->Prepare("SELECT count(*) FROM nonces WHERE serial = ?");
    EXPECT_TRUE(st);
    EXPECT_TRUE(st->Bind(1, serial));
    EXPECT_TRUE(st->Step());
    return st->Int64(0);
  }
  static crypto::Bytes Nonce(int i) {
    crypto::Bytes n(16, 0);
    n[0] = static_cast<uint8_t>(i);
    n[1] = static_cast<uint8_t>(i >> 8);
    return n;
  }
  secprof::testing::TempDir dir_;
  FakeClock clock_{std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000))};
  std::unique_ptr<registry::Registry> reg_;
};

TEST_F(NonceBounds, PerSerialKeepsTheNewestAndTheNewestStillWorks) {
  const int64_t exp = 1'800'000'060;
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(reg_->PutNonce(Nonce(i), "bulb-000001", exp + i, {.per_serial = 4, .total = 0}));
  EXPECT_EQ(Count("bulb-000001"), 4);
  // The newest one is usable (a genuine thing's nonce survives until four more are issued).
  EXPECT_TRUE(reg_->ConsumeNonce(Nonce(99), "bulb-000001"));
  // An evicted one is refused like an unknown one.
  EXPECT_FALSE(reg_->ConsumeNonce(Nonce(0), "bulb-000001"));
}

TEST_F(NonceBounds, TotalRefusesWithLimitAndChangesNothing) {
  const int64_t exp = 1'800'000'060;
  for (int i = 0; i < 8; ++i)
    ASSERT_TRUE(
        reg_->PutNonce(Nonce(i), "s-" + std::to_string(i), exp, {.per_serial = 4, .total = 8}));
  auto r = reg_->PutNonce(Nonce(50), "s-new", exp, {.per_serial = 4, .total = 8});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kLimit);
  EXPECT_EQ(Count("s-new"), 0);
  // Expired ones are purged: room again.
  clock_.Advance(std::chrono::seconds(61));
  EXPECT_TRUE(reg_->PutNonce(Nonce(51), "s-new", exp + 120, {.per_serial = 4, .total = 8}));
}

}  // namespace
}  // namespace secprof::kdc

// Tests for the clone guard's records (schema v3; src/registry/guard.cpp): reading counters only
// go up, refusals write nothing, quarantine and release with their audit entries, and a member
// added with a re-key function gets the new epoch in the same transaction.
#include <gtest/gtest.h>

#include "secprof/registry/registry.h"
#include "secprof/store/sqlite.h"
#include "testutil.h"

namespace secprof::registry {
namespace {

using secprof::testing::TempDir;

class RegistryGuard : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = Registry::Open((dir_.path() / "kdc.db").string(), clock_);
    ASSERT_TRUE(r) << r.error().ToString();
    reg_ = std::move(*r);
    // Setup codes are not stored in clear (schema v4): the wrapped key stands in for one.
    ASSERT_TRUE(reg_->AllowSetupVerifier("t1", "Acme", "Sensor", Bytes{1, 2, 3}, "owner"));
  }
  size_t AuditSize() { return reg_->Audit()->size(); }

  TempDir dir_;
  FakeClock clock_{std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000))};
  std::unique_ptr<Registry> reg_;
};

TEST_F(RegistryGuard, ReadingCountersOnlyGoUp) {
  EXPECT_EQ(*reg_->HighestReadingCounter("t1"), std::nullopt);
  EXPECT_TRUE(*reg_->AdvanceReadingCounter("t1", 5));
  EXPECT_TRUE(*reg_->AdvanceReadingCounter("t1", 6));
  const size_t audit = AuditSize();
  EXPECT_FALSE(*reg_->AdvanceReadingCounter("t1", 6));  // a replay
  EXPECT_FALSE(*reg_->AdvanceReadingCounter("t1", 2));
  EXPECT_EQ(*reg_->HighestReadingCounter("t1"), std::optional<int64_t>(6));
  EXPECT_EQ(AuditSize(), audit);  // not audited, nothing written
  EXPECT_FALSE(reg_->AdvanceReadingCounter("nobody", 1));
  EXPECT_FALSE(reg_->AdvanceReadingCounter("t1", -1));
}

TEST_F(RegistryGuard, QuarantineAndRelease) {
  ASSERT_TRUE(*reg_->AdvanceReadingCounter("t1", 100));
  EXPECT_FALSE(reg_->ReleaseQuarantine("t1", "owner"));  // not quarantined
  ASSERT_TRUE(reg_->QuarantineThing("t1", "suspected clone: test", "kdc"));
  const size_t audit = AuditSize();
  ASSERT_TRUE(reg_->QuarantineThing("t1", "again", "kdc"));  // repeat: no change
  EXPECT_EQ(AuditSize(), audit);
  auto q = reg_->QuarantineOf("t1");
  ASSERT_TRUE(q && q->has_value());
  EXPECT_EQ((*q)->reason, "suspected clone: test");
  EXPECT_EQ(reg_->ListQuarantined()->size(), 1u);
  EXPECT_FALSE(reg_->QuarantineThing("nobody", "x", "kdc"));
  ASSERT_TRUE(reg_->ReleaseQuarantine("t1", "owner"));
  EXPECT_FALSE(reg_->QuarantineOf("t1")->has_value());
  EXPECT_EQ(*reg_->HighestReadingCounter("t1"), std::nullopt);  // forgotten on release
  auto a = reg_->Audit(std::string("t1"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->at(a->size() - 2).action, "quarantined");
  EXPECT_EQ(a->back().action, "released");
  EXPECT_TRUE(reg_->VerifyAuditChain());
}

TEST_F(RegistryGuard, AddMemberWithRekeyInstallsTheNextEpoch) {
  CommissionInput in;
  in.credential_kind = "psk";
  in.credential_id = "t1";
  in.credential_fingerprint = std::string(64, 'a');
  in.wrapped_key = Bytes(48, 1);
  ASSERT_TRUE(reg_->Commission("t1", in, "kdc"));
  ASSERT_TRUE(reg_->CreateGroup("g", Bytes(48, 7), "owner"));
  // A failing re-key aborts the whole change.
  GroupRekeyFn failing = [](const std::string&, int64_t) -> Result<Bytes> {
    return Fail(ErrorCode::kInternal, "no key");
  };
  EXPECT_FALSE(reg_->AddMember("g", "t1", "owner", failing));
  EXPECT_TRUE(reg_->GetGroup("g")->members.empty());
  int64_t asked = 0;
  GroupRekeyFn rekey = [&](const std::string&, int64_t epoch) -> Result<Bytes> {
    asked = epoch;
    return Bytes(48, 9);
  };
  ASSERT_TRUE(reg_->AddMember("g", "t1", "owner", rekey));
  auto g = reg_->GetGroup("g");
  ASSERT_TRUE(g);
  EXPECT_EQ(asked, 2);
  EXPECT_EQ(g->epoch, 2);
  EXPECT_EQ(g->wrapped_key, Bytes(48, 9));
  EXPECT_EQ(g->members, std::vector<std::string>{"t1"});
}

}  // namespace
}  // namespace secprof::registry

// Tests for secprof::registry: opening and the schema, the domain, admission (Allow) and
// Commission (idempotent, refusals, checked input). The other operations are in
// registry_lifecycle_test.cpp, registry_audit_test.cpp and registry_concurrency_test.cpp.
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

// --- states and opening --------------------------------------------------------------------------

TEST(RegistryState, NamesRoundTrip) {
  std::set<std::string> names;
  for (State s : kAllStates) {
    names.insert(StateName(s));
    auto back = ParseState(StateName(s));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(names.size(), 8u);
  EXPECT_STREQ(StateName(State::kAllowed), "allowed");
  EXPECT_STREQ(StateName(State::kDecommissioned), "decommissioned");
  auto bad = ParseState("Allowed");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidInput);
  EXPECT_NE(bad.error().message().find("allowed, commissioned"), std::string::npos);
  EXPECT_TRUE(IsActive(State::kCommissioned));
  EXPECT_TRUE(IsActive(State::kOperational));
  EXPECT_TRUE(IsActive(State::kMaintenance));
  EXPECT_FALSE(IsActive(State::kAllowed));
  EXPECT_FALSE(IsActive(State::kRevoked));
  EXPECT_FALSE(IsActive(State::kReplaced));
}

TEST_F(RegistryTest, OpenCreatesTheSchema) {
  auto& db = reg_->database();
  EXPECT_EQ(*db.UserVersion(), kSchemaVersion);
  EXPECT_EQ(*db.QueryText("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(*db.QueryInt64("PRAGMA synchronous"), 2);
  for (const char* table :
       {"domain", "things", "groups", "group_members", "nonces", "revoked_credentials", "audit"}) {
    EXPECT_EQ(*db.QueryInt64(std::string("SELECT count(*) FROM sqlite_schema WHERE type = "
                                         "'table' AND name = '") +
                             table + "'"),
              1)
        << table;
  }
  EXPECT_TRUE(db.IntegrityCheck());
  EXPECT_EQ(std::filesystem::status(path_).permissions() &
                (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);
  // Reopening an existing registry works and keeps its content.
  ASSERT_TRUE(reg_->Allow("a-1", "acme", "bulb", std::nullopt, "owner"));
  reg_.reset();
  auto again = Registry::Open(path_, clock_);
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_TRUE((*again)->Get("a-1"));
}

TEST_F(RegistryTest, OpenRefusesANewerSchema) {
  const std::string newer = std::to_string(kSchemaVersion + 1);
  ASSERT_TRUE(reg_->database().Exec("PRAGMA user_version = " + newer));
  reg_.reset();
  auto r = Registry::Open(path_, clock_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kConflict);
  EXPECT_NE(r.error().message().find("database schema version " + newer +
                                     " is newer than this secprof (" +
                                     std::to_string(kSchemaVersion) + ")"),
            std::string::npos)
      << r.error().message();
}

TEST(RegistryOpen, RefusesFilesThatAreNotRegistries) {
  TempDir dir;
  FakeClock clock;
  auto text = dir.path() / "text.db";
  std::ofstream(text) << std::string(2000, 'x');
  auto r = Registry::Open(text.string(), clock);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidInput);
  EXPECT_NE(r.error().message().find(text.string()), std::string::npos);

  auto other = (dir.path() / "other.db").string();
  {
    auto db = store::Database::Open(other);
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->Exec("CREATE TABLE photos(id INTEGER)"));
  }
  auto r2 = Registry::Open(other, clock);
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code(), ErrorCode::kInvalidInput);
  EXPECT_NE(r2.error().message().find("not a secprof registry"), std::string::npos);
  auto db = store::Database::Open(other);
  EXPECT_EQ(*(*db)->QueryInt64("SELECT count(*) FROM sqlite_schema"), 1);  // left alone
}

// --- domain --------------------------------------------------------------------------------------

TEST_F(RegistryTest, DomainIsSetOnce) {
  auto none = reg_->Domain();
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(reg_->InitDomain("SecProf_3", "owner-1"));
  auto d = reg_->Domain();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->profile, "SecProf_3");
  EXPECT_EQ(d->owner, "owner-1");
  EXPECT_EQ(d->created, kStart);
  const int64_t n = AuditSize();
  EXPECT_TRUE(reg_->InitDomain("SecProf_3", "owner-1"));  // same: Ok, no change
  EXPECT_EQ(AuditSize(), n);
  auto other = reg_->InitDomain("SecProf_2", "owner-1");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code(), ErrorCode::kConflict);
  EXPECT_NE(other.error().message().find("SecProf_3"), std::string::npos);
  auto other_owner = reg_->InitDomain("SecProf_3", "mallory");
  ASSERT_FALSE(other_owner);
  EXPECT_EQ(other_owner.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(reg_->Domain()->owner, "owner-1");
  EXPECT_EQ(AuditSize(), n);
  EXPECT_EQ(reg_->InitDomain("", "x").error().code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(reg_->InitDomain("SecProf 3", "x").error().code(), ErrorCode::kInvalidInput);
}

// --- admission -----------------------------------------------------------------------------------

TEST_F(RegistryTest, AllowCreatesAndUpdatesTheSetupCode) {
  // A code in clear is not stored (schema v3): refused, nothing written.
  auto clear = reg_->Allow("bulb-1", "acme", "bulb", std::string("123-456"), "owner");
  ASSERT_FALSE(clear);
  EXPECT_EQ(clear.error().code(), ErrorCode::kInvalidInput);
  EXPECT_FALSE(reg_->Get("bulb-1"));
  const Bytes v1 = {1, 2, 3, 4}, v2 = {9, 9, 9};
  ASSERT_TRUE(reg_->AllowSetupVerifier("bulb-1", "acme", "bulb", v1, "owner"));
  auto t = reg_->Get("bulb-1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->state, State::kAllowed);
  EXPECT_EQ(t->vendor, "acme");
  EXPECT_EQ(t->model, "bulb");
  EXPECT_FALSE(t->setup_code);
  EXPECT_EQ(reg_->GetSetupCode("bulb-1").value()->verifier, v1);
  EXPECT_EQ(t->created, kStart);
  EXPECT_EQ(t->joins, 0);
  EXPECT_EQ(t->key_epoch, 0);
  EXPECT_FALSE(t->commissioned_at);
  EXPECT_TRUE(t->voucher.empty());
  clock_.Advance(10s);
  ASSERT_TRUE(reg_->RetireSetupCode("bulb-1", "lost", "owner"));
  EXPECT_TRUE(reg_->GetSetupCode("bulb-1").value()->verifier.empty());
  ASSERT_TRUE(reg_->AllowSetupVerifier("bulb-1", "acme", "bulb", v2, "owner"));
  t = reg_->Get("bulb-1");
  auto code = reg_->GetSetupCode("bulb-1");
  ASSERT_TRUE(code && *code);
  EXPECT_EQ((*code)->verifier, v2);
  EXPECT_FALSE((*code)->retired_at) << "a new code undoes the retirement";
  EXPECT_EQ(t->created, kStart);
  EXPECT_EQ(t->updated, kStart + 10);
  EXPECT_EQ(Count("allowed", "bulb-1"), 2);
  EXPECT_EQ(Count("setup-code-retired", "bulb-1"), 1);
  auto other_model = reg_->Allow("bulb-1", "acme", "plug", std::nullopt, "owner");
  ASSERT_FALSE(other_model);
  EXPECT_EQ(other_model.error().code(), ErrorCode::kConflict);

  ASSERT_TRUE(reg_->Commission("bulb-1", Ldevid("c1"), "kdc"));
  auto again = reg_->Allow("bulb-1", "acme", "bulb", std::nullopt, "owner");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kConflict);
  EXPECT_NE(again.error().message().find("commissioned"), std::string::npos);
  EXPECT_EQ(StateOf("bulb-1"), State::kCommissioned);
}

TEST_F(RegistryTest, BadArgumentsAreRefusedAndChangeNothing) {
  const int64_t n = AuditSize();
  for (const std::string& serial :
       {std::string(""), std::string("with space"), std::string(129, 'a'), std::string("a\nb"),
        std::string("caf\xc3\xa9")}) {
    auto st = reg_->Allow(serial, "acme", "bulb", std::nullopt, "owner");
    ASSERT_FALSE(st) << serial;
    EXPECT_EQ(st.error().code(), ErrorCode::kInvalidInput);
  }
  EXPECT_EQ(reg_->Allow("ok", "", "bulb", std::nullopt, "owner").error().code(),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(reg_->Allow("ok", "acme", "bu\x1b[2Jlb", std::nullopt, "owner").error().code(),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(reg_->Allow("ok", "acme", "bulb", std::string(""), "owner").error().code(),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(reg_->Allow("ok", "acme", "bulb", std::nullopt, "").error().code(),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(reg_->ImportVoucher("ok", "acme", "bulb", {}, kStart + 100, "owner").error().code(),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(reg_->ImportVoucher("ok", "acme", "bulb", Bytes(65 * 1024, 1), kStart, "owner")
                .error()
                .code(),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(reg_->List()->size(), 0u);
  EXPECT_EQ(AuditSize(), n);
}

TEST_F(RegistryTest, ImportVoucherStoresIt) {
  const Bytes voucher = {0xd2, 0x84, 1, 2, 3};
  ASSERT_TRUE(reg_->ImportVoucher("gw-1", "acme", "gateway", voucher, kStart + 3600, "owner"));
  auto t = reg_->Get("gw-1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->state, State::kAllowed);
  EXPECT_EQ(t->voucher, voucher);
  EXPECT_EQ(t->voucher_expiry, std::optional<int64_t>(kStart + 3600));
  EXPECT_FALSE(t->setup_code);
  EXPECT_EQ(Count("voucher-imported", "gw-1"), 1);
  // A newer voucher replaces it while the thing is still allowed.
  const Bytes v2 = {9, 9};
  ASSERT_TRUE(reg_->ImportVoucher("gw-1", "acme", "gateway", v2, kStart + 7200, "owner"));
  EXPECT_EQ(reg_->Get("gw-1")->voucher, v2);
  EXPECT_EQ(reg_->Get("gw-1")->voucher_expiry, std::optional<int64_t>(kStart + 7200));
}

// --- commissioning -------------------------------------------------------------------------------

TEST_F(RegistryTest, CommissionFirstTime) {
  ASSERT_TRUE(reg_->ImportVoucher("gw-1", "acme", "gateway", {1, 2, 3}, kStart + 60, "owner"));
  clock_.Advance(5s);
  auto in = Ldevid("0a1b2c", 7);
  auto out = reg_->Commission("gw-1", in, "kdc");
  ASSERT_TRUE(out) << out.error().ToString();
  EXPECT_TRUE(out->first_time);
  const Thing& t = out->thing;
  EXPECT_EQ(t.state, State::kCommissioned);
  EXPECT_EQ(t.credential_kind, "ldevid");
  EXPECT_EQ(t.credential_id, "0a1b2c");
  EXPECT_EQ(t.credential_fingerprint, in.credential_fingerprint);
  EXPECT_EQ(t.ldevid_pem, in.ldevid_pem);
  EXPECT_EQ(t.wrapped_key, Key(7));
  EXPECT_EQ(t.key_epoch, 1);
  EXPECT_EQ(t.joins, 1);
  EXPECT_EQ(t.commissioned_at, std::optional<int64_t>(kStart + 5));
  EXPECT_EQ(t.updated, kStart + 5);
  EXPECT_EQ(Count("commissioned", "gw-1"), 1);
  auto found = reg_->FindByCredential("ldevid", "0a1b2c");
  ASSERT_TRUE(found);
  ASSERT_TRUE(*found);
  EXPECT_EQ((*found)->serial, "gw-1");
  EXPECT_FALSE(*reg_->FindByCredential("psk", "0a1b2c"));
  EXPECT_FALSE(*reg_->FindByCredential("ldevid", "ffff"));
}

TEST_F(RegistryTest, CommissionIsIdempotent) {
  ASSERT_TRUE(reg_->Allow("s-1", "acme", "sensor", std::nullopt, "owner"));
  auto in = Psk("psk-id-1", 3);
  ASSERT_TRUE(reg_->Commission("s-1", in, "kdc"));
  // The same thing joins again (it lost our answer): same credential, new key material offered.
  auto repeat = in;
  repeat.wrapped_key = Key(99);
  for (State s : {State::kCommissioned, State::kOperational, State::kMaintenance}) {
    if (s != State::kCommissioned) {
      ASSERT_TRUE(reg_->Transition("s-1", s, "kdc", ""));
    }
    auto out = reg_->Commission("s-1", repeat, "kdc");
    ASSERT_TRUE(out) << out.error().ToString();
    EXPECT_FALSE(out->first_time);
    EXPECT_EQ(out->thing.state, s);             // unchanged
    EXPECT_EQ(out->thing.wrapped_key, Key(3));  // the stored key, not the offered one
    EXPECT_EQ(out->thing.key_epoch, 1);
    EXPECT_EQ(out->thing.commissioned_at, std::optional<int64_t>(kStart));
  }
  EXPECT_EQ(reg_->Get("s-1")->joins, 4);
  EXPECT_EQ(Count("commissioned", "s-1"), 1);
  EXPECT_EQ(Count("join-repeat", "s-1"), 3);

  // Another credential for the same serial: refused, nothing written.
  const int64_t n = AuditSize();
  auto other = reg_->Commission("s-1", Psk("psk-id-2"), "kdc");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code(), ErrorCode::kConflict);
  EXPECT_NE(other.error().message().find("another credential"), std::string::npos);
  EXPECT_EQ(AuditSize(), n);
  EXPECT_EQ(reg_->Get("s-1")->credential_id, "psk-id-1");
  EXPECT_EQ(reg_->Get("s-1")->joins, 4);
}

TEST_F(RegistryTest, CommissionRefusals) {
  auto unknown = reg_->Commission("nobody", Ldevid("x"), "kdc");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);

  for (State s : {State::kDecommissioned, State::kRevoked, State::kEvicted, State::kReplaced}) {
    const std::string serial = std::string("t-") + StateName(s);
    MakeThing(serial, s);
    const int64_t n = AuditSize();
    auto r = reg_->Commission(serial, Ldevid("new-" + serial), "kdc");
    ASSERT_FALSE(r) << serial;
    EXPECT_EQ(r.error().code(), ErrorCode::kVerifyFailed);
    EXPECT_NE(r.error().message().find(StateName(s)), std::string::npos) << r.error().message();
    EXPECT_EQ(StateOf(serial), s);
    EXPECT_EQ(AuditSize(), n);
  }

  // An expired voucher: refused; at the expiry second itself still valid.
  ASSERT_TRUE(reg_->ImportVoucher("v-1", "acme", "gw", {1}, kStart + 10, "owner"));
  ASSERT_TRUE(reg_->ImportVoucher("v-2", "acme", "gw", {1}, kStart + 10, "owner"));
  clock_.Advance(10s);
  ASSERT_TRUE(reg_->Commission("v-1", Ldevid("v1"), "kdc"));
  clock_.Advance(1s);
  auto expired = reg_->Commission("v-2", Ldevid("v2"), "kdc");
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code(), ErrorCode::kVerifyFailed);
  EXPECT_NE(expired.error().message().find("expired"), std::string::npos);
  EXPECT_EQ(StateOf("v-2"), State::kAllowed);

  // A credential already bound to another thing, or revoked.
  ASSERT_TRUE(reg_->Allow("c-1", "acme", "bulb", std::nullopt, "owner"));
  auto taken = reg_->Commission("c-1", Ldevid("v1"), "kdc");
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code(), ErrorCode::kConflict);
  EXPECT_NE(taken.error().message().find("v-1"), std::string::npos);
  auto revoked = reg_->Commission("c-1", Ldevid("cert-t-revoked"), "kdc");
  ASSERT_FALSE(revoked);
  EXPECT_EQ(revoked.error().code(), ErrorCode::kVerifyFailed);
  EXPECT_NE(revoked.error().message().find("revoked"), std::string::npos);
  EXPECT_EQ(StateOf("c-1"), State::kAllowed);
}

TEST_F(RegistryTest, CommissionInputIsChecked) {
  ASSERT_TRUE(reg_->Allow("x-1", "acme", "bulb", std::nullopt, "owner"));
  std::vector<CommissionInput> bad;
  auto k = Ldevid("c");
  k.credential_kind = "x509";
  bad.push_back(k);
  k = Ldevid("c");
  k.credential_id = "";
  bad.push_back(k);
  k = Ldevid("c");
  k.credential_fingerprint = std::string(64, 'A');  // upper case
  bad.push_back(k);
  k = Ldevid("c");
  k.credential_fingerprint = "abcd";
  bad.push_back(k);
  k = Ldevid("c");
  k.ldevid_pem = "";
  bad.push_back(k);
  k = Psk("p");
  k.ldevid_pem = "pem";
  bad.push_back(k);
  k = Psk("p");
  k.wrapped_key = {};
  bad.push_back(k);
  k = Psk("p");
  k.wrapped_key = Bytes(1025, 1);
  bad.push_back(k);
  const int64_t n = AuditSize();
  for (size_t i = 0; i < bad.size(); ++i) {
    auto r = reg_->Commission("x-1", bad[i], "kdc");
    ASSERT_FALSE(r) << i;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidInput) << i << ": " << r.error().message();
  }
  EXPECT_EQ(StateOf("x-1"), State::kAllowed);
  EXPECT_EQ(AuditSize(), n);
}

}  // namespace
}  // namespace secprof::registry

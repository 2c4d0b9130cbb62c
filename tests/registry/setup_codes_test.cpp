// Registry schema v4 (suites RegistrySetupCode*): setup-code keys instead of codes, the
// setup-code join that consumes its nonce only in the commissioning transaction, the repeat grace,
// retirement, and the conversion of rows a v2 registry wrote with the code in clear.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <span>
#include <string>

#include "../../src/registry/schema.h"  // the v1 + v2 migrations, to build a v2 file as v2 did
#include "secprof/core/fs.h"
#include "secprof/registry/registry.h"
#include "secprof/store/sqlite.h"
#include "testutil.h"

namespace secprof::registry {
namespace {

using namespace std::chrono_literals;
using secprof::testing::TempDir;

constexpr int64_t kStart = 1'700'000'000;

// The rows a setup-code join may touch, as text: equal snapshots mean nothing changed.
std::string Snapshot(store::Database& db) {
  std::string out;
  for (const char* q :
       {"SELECT group_concat(quote(serial) || quote(state) || quote(joins) || quote(updated) || "
        "quote(wrapped_key), ';') FROM things",
        "SELECT group_concat(quote(nonce) || quote(used_at), ';') FROM nonces",
        "SELECT group_concat(quote(serial) || quote(verifier) || quote(retire_at) || "
        "quote(retired_at), ';') FROM setup_codes",
        "SELECT count(*) FROM audit"}) {
    auto t = db.QueryText(q);
    out += (t ? *t : std::string("<null>")) + "\n";
  }
  return out;
}

CommissionInput Psk(const std::string& serial) {
  CommissionInput in;
  in.credential_kind = "psk";
  in.credential_id = serial;
  in.credential_fingerprint = std::string(64, 'a');
  in.wrapped_key = Bytes(60, 7);
  return in;
}

class RegistrySetupCode : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = Registry::Open((dir_.path() / "r.db").string(), clock_);
    ASSERT_TRUE(r) << r.error().ToString();
    reg_ = std::move(*r);
    ASSERT_TRUE(reg_->AllowSetupVerifier("p-1", "acme", "plug", Bytes{1, 2, 3}, "owner"));
  }
  Status Nonce(const Bytes& n, const std::string& serial = "p-1") {
    return reg_->PutNonce(n, serial, kStart + 10'000);
  }
  FakeClock clock_{std::chrono::system_clock::time_point(std::chrono::seconds(kStart))};
  TempDir dir_;
  std::unique_ptr<Registry> reg_;
};

TEST_F(RegistrySetupCode, TheNonceIsConsumedOnlyWhenTheJoinCommits) {
  const Bytes n1(16, 1), n2(16, 2), n3(16, 3);
  ASSERT_TRUE(Nonce(n1));
  EXPECT_TRUE(reg_->ValidateNonce(n1, "p-1"));
  EXPECT_FALSE(reg_->ValidateNonce(n1, "p-2"));
  EXPECT_FALSE(reg_->ValidateNonce(Bytes(16, 9), "p-1"));

  // A retired code: the join is refused and nothing changes, the nonce included.
  ASSERT_TRUE(reg_->RetireSetupCode("p-1", "lost", "owner"));
  std::string before = Snapshot(reg_->database());
  auto r = reg_->CommissionBySetupCode("p-1", Psk("p-1"), n1, 120s, "kdc");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kVerifyFailed);
  EXPECT_EQ(Snapshot(reg_->database()), before);
  EXPECT_TRUE(reg_->ValidateNonce(n1, "p-1"));

  // A new code; the same nonce now commissions, and is used.
  ASSERT_TRUE(reg_->AllowSetupVerifier("p-1", "acme", "plug", Bytes{4, 5}, "owner"));
  r = reg_->CommissionBySetupCode("p-1", Psk("p-1"), n1, 120s, "kdc");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_TRUE(r->first_time);
  EXPECT_FALSE(reg_->ValidateNonce(n1, "p-1"));
  EXPECT_EQ(reg_->GetSetupCode("p-1").value()->retire_at, std::optional<int64_t>(kStart + 120));
  r = reg_->CommissionBySetupCode("p-1", Psk("p-1"), n1, 120s, "kdc");  // replay
  ASSERT_FALSE(r);

  // Within the grace: a repeat, alerted.
  clock_.Advance(60s);
  ASSERT_TRUE(Nonce(n2));
  r = reg_->CommissionBySetupCode("p-1", Psk("p-1"), n2, 120s, "kdc");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_FALSE(r->first_time);
  auto alerts = reg_->Audit("p-1");
  ASSERT_TRUE(alerts);
  EXPECT_EQ(std::count_if(alerts->begin(), alerts->end(),
                          [](const AuditEntry& e) { return e.action == "alert:join-repeat"; }),
            1);

  // After it: refused, nothing changes.
  clock_.Advance(61s);
  ASSERT_TRUE(Nonce(n3));
  before = Snapshot(reg_->database());
  r = reg_->CommissionBySetupCode("p-1", Psk("p-1"), n3, 120s, "kdc");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("grace"), std::string::npos) << r.error().message();
  EXPECT_EQ(Snapshot(reg_->database()), before);

  // The next setup-code join of any thing erases the key whose grace ended.
  ASSERT_TRUE(reg_->AllowSetupVerifier("p-2", "acme", "plug", Bytes{6}, "owner"));
  const Bytes m(16, 4);
  ASSERT_TRUE(Nonce(m, "p-2"));
  CommissionInput other = Psk("p-2");
  other.credential_fingerprint = std::string(64, 'b');
  ASSERT_TRUE(reg_->CommissionBySetupCode("p-2", other, m, 120s, "kdc"));
  auto code = reg_->GetSetupCode("p-1");
  ASSERT_TRUE(code && *code);
  EXPECT_TRUE((*code)->verifier.empty());
  EXPECT_EQ((*code)->retired_at, std::optional<int64_t>(kStart + 120));
}

TEST_F(RegistrySetupCode, RetireAndTheClearCodeApi) {
  auto none = reg_->RetireSetupCode("nosuch", "x", "owner");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(reg_->Allow("v-1", "acme", "gw", std::nullopt, "owner"));
  none = reg_->RetireSetupCode("v-1", "x", "owner");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), ErrorCode::kNotFound);  // no setup code
  EXPECT_FALSE(reg_->AllowSetupVerifier("p-3", "acme", "plug", Bytes{}, "owner"));
  EXPECT_FALSE(reg_->AllowSetupVerifier("p-3", "acme", "plug", Bytes(1025, 1), "owner"));
  EXPECT_FALSE(reg_->Get("p-3"));
}

// HasSetupCode: the rule `secprof kdc list --format json` shows as "setup_code".
TEST_F(RegistrySetupCode, HasSetupCodeUntilTheOwnerRetiresIt) {
  auto has = [&](const Thing& t) {
    auto r = reg_->HasSetupCode(t);
    EXPECT_TRUE(r) << r.error().ToString();
    return r && *r;
  };
  auto p1 = reg_->Get("p-1");
  ASSERT_TRUE(p1);
  EXPECT_TRUE(has(*p1));
  ASSERT_TRUE(reg_->Allow("v-1", "acme", "gw", std::nullopt, "owner"));
  auto v1 = reg_->Get("v-1");
  ASSERT_TRUE(v1);
  EXPECT_FALSE(has(*v1));  // admitted by voucher: no code
  ASSERT_TRUE(reg_->RetireSetupCode("p-1", "lost", "owner"));
  EXPECT_FALSE(has(*p1));
  // A malformed serial is an error, not "no code".
  Thing bad;
  bad.serial = "bad serial\n";
  EXPECT_FALSE(reg_->HasSetupCode(bad));
}

// A registry file as schema v2 wrote it, with setup codes in clear, is migrated by Open; the
// conversion (which the KDC runs, holding the KEK) leaves no code in the files.
TEST(RegistrySetupCodeMigration, AV2FileWithClearCodesIsConverted) {
  TempDir dir;
  const std::string path = (dir.path() / "v2.db").string();
  const std::string allowed_code = "ABCD-EFGH-JKLM-NPQR", joined_code = "QRST-UVWX-YZ23-4567";
  {
    auto db = store::Database::Open(path);
    ASSERT_TRUE(db) << db.error().ToString();
    ASSERT_TRUE(store::Migrate(**db, std::span(internal::kMigrations).first(2)));
    ASSERT_TRUE((*db)->Exec(
        "INSERT INTO things(serial, vendor, model, state, setup_code, created, updated) VALUES"
        "('a-1', 'acme', 'plug', 'allowed', '" +
        allowed_code +
        "', 1, 1),"
        "('j-1', 'acme', 'plug', 'operational', '" +
        joined_code + "', 1, 1)"));
  }
  FakeClock clock{std::chrono::system_clock::time_point(std::chrono::seconds(kStart))};
  auto reg = Registry::Open(path, clock);
  ASSERT_TRUE(reg) << reg.error().ToString();
  EXPECT_EQ(*(*reg)->database().UserVersion(), kSchemaVersion);
  auto legacy = (*reg)->LegacySetupCodes();
  ASSERT_TRUE(legacy);
  ASSERT_EQ(legacy->size(), 2u);
  EXPECT_EQ((*legacy)[0], std::make_pair(std::string("a-1"), allowed_code));

  auto files = [&path] {
    std::string all;
    for (const char* ext : {"", "-wal", "-shm"})
      if (std::filesystem::exists(path + ext)) all += ReadFile(path + ext).value_or("");
    return all;
  };
  ASSERT_NE(files().find(allowed_code), std::string::npos) << "precondition: the code is there";

  ASSERT_TRUE((*reg)->ConvertLegacySetupCode("a-1", Bytes{1, 2, 3}));
  ASSERT_TRUE((*reg)->ConvertLegacySetupCode("j-1", Bytes{4, 5, 6}));
  auto again = (*reg)->ConvertLegacySetupCode("a-1", Bytes{1});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE((*reg)->LegacySetupCodes()->empty());
  EXPECT_FALSE((*reg)->Get("a-1")->setup_code);
  EXPECT_EQ((*reg)->GetSetupCode("a-1").value()->verifier, (Bytes{1, 2, 3}));
  auto joined = (*reg)->GetSetupCode("j-1");
  ASSERT_TRUE(joined && *joined);
  EXPECT_TRUE((*joined)->verifier.empty()) << "a thing that joined before v4 keeps no key";
  EXPECT_TRUE((*joined)->retired_at);
  EXPECT_TRUE((*reg)->VerifyAuditChain());

  const std::string after = files();
  ASSERT_FALSE(after.empty());
  EXPECT_EQ(after.find(allowed_code), std::string::npos);
  EXPECT_EQ(after.find(joined_code), std::string::npos);
}

}  // namespace
}  // namespace secprof::registry

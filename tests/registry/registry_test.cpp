// Tests for secprof::registry: every operation, every refused transition, idempotent Commission,
// replayed nonces, the append-only audit log and its hash chain, concurrent access, and a
// fork + SIGKILL test of Commission.
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

#include "secprof/crypto/hash.h"
#include "secprof/registry/registry.h"
#include "secprof/store/sqlite.h"
#include "testutil.h"

namespace secprof::registry {
namespace {

using secprof::testing::TempDir;
using namespace std::chrono_literals;

constexpr int64_t kStart = 1'700'000'000;  // the fake clock's start, unix s

constexpr State kAllStates[] = {State::kAllowed,     State::kCommissioned,   State::kOperational,
                                State::kMaintenance, State::kDecommissioned, State::kRevoked,
                                State::kEvicted,     State::kReplaced};

std::string Hex(const crypto::Sha256Digest& d) {
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : d) {
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

// A realistic fingerprint: hex SHA-256 of `seed`.
std::string Fingerprint(const std::string& seed) {
  auto d =
      crypto::Sha256(crypto::ByteView(reinterpret_cast<const uint8_t*>(seed.data()), seed.size()));
  return Hex(*d);
}

// The documented audit hash (docs/REGISTRY.md), computed independently of the implementation.
crypto::Sha256Digest EntryHash(const crypto::Sha256Digest& prev, const AuditEntry& e) {
  Bytes in(prev.begin(), prev.end());
  auto u64 = [&](uint64_t v) {
    for (int i = 7; i >= 0; --i) in.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  auto lp = [&](const std::string& s) {
    for (int i = 3; i >= 0; --i) in.push_back(static_cast<uint8_t>(s.size() >> (8 * i)));
    in.insert(in.end(), s.begin(), s.end());
  };
  u64(static_cast<uint64_t>(e.seq));
  u64(static_cast<uint64_t>(e.time));
  lp(e.actor);
  lp(e.action);
  lp(e.serial);
  lp(e.detail);
  return *crypto::Sha256(in);
}

Bytes Key(uint8_t fill, size_t n = 48) { return Bytes(n, fill); }

CommissionInput Ldevid(const std::string& id, uint8_t key = 1) {
  CommissionInput in;
  in.credential_kind = "ldevid";
  in.credential_id = id;
  in.credential_fingerprint = Fingerprint(id);
  in.ldevid_pem = "-----BEGIN CERTIFICATE-----\n" + id + "\n-----END CERTIFICATE-----\n";
  in.wrapped_key = Key(key);
  return in;
}

CommissionInput Psk(const std::string& id, uint8_t key = 2) {
  CommissionInput in;
  in.credential_kind = "psk";
  in.credential_id = id;
  in.credential_fingerprint = Fingerprint("psk:" + id);
  in.wrapped_key = Key(key);
  return in;
}

class RegistryTest : public ::testing::Test {
 protected:
  RegistryTest() : clock_(std::chrono::system_clock::time_point(std::chrono::seconds(kStart))) {}
  void SetUp() override {
    path_ = (dir_.path() / "kdc.db").string();
    auto r = Registry::Open(path_, clock_);
    ASSERT_TRUE(r) << r.error().ToString();
    reg_ = std::move(*r);
  }
  int64_t Now() const {
    return std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch())
        .count();
  }
  int64_t AuditSize() {
    auto a = reg_->Audit();
    EXPECT_TRUE(a);
    return a ? static_cast<int64_t>(a->size()) : -1;
  }
  int Count(const std::string& action, const std::string& serial) {
    auto a = reg_->Audit(serial);
    EXPECT_TRUE(a);
    int n = 0;
    for (const auto& e : *a) n += e.action == action;
    return n;
  }
  State StateOf(const std::string& serial) {
    auto t = reg_->Get(serial);
    EXPECT_TRUE(t) << serial;
    return t ? t->state : State::kAllowed;
  }
  // A thing with `serial` brought to state `s` through the public API.
  void MakeThing(const std::string& serial, State s) {
    ASSERT_TRUE(reg_->Allow(serial, "acme", "bulb", std::nullopt, "owner"));
    if (s == State::kAllowed) return;
    if (s == State::kReplaced) {
      ASSERT_TRUE(reg_->Allow(serial + "-new", "acme", "bulb", std::nullopt, "owner"));
      ASSERT_TRUE(reg_->Replace(serial, serial + "-new", "owner"));
      return;
    }
    ASSERT_TRUE(reg_->Commission(serial, Ldevid("cert-" + serial), "kdc"));
    if (s == State::kDecommissioned || s == State::kRevoked || s == State::kEvicted) {
      ASSERT_TRUE(reg_->Transition(serial, s, "owner", ""));
      return;
    }
    if (s == State::kCommissioned) return;
    ASSERT_TRUE(reg_->Transition(serial, State::kOperational, "kdc", ""));
    if (s == State::kOperational) return;
    ASSERT_TRUE(reg_->Transition(serial, State::kMaintenance, "kdc", ""));
  }
  std::unique_ptr<store::Database> Raw() {
    auto db = store::Database::Open(path_);
    EXPECT_TRUE(db) << db.error().ToString();
    return db ? std::move(*db) : nullptr;
  }

  TempDir dir_;
  FakeClock clock_;
  std::string path_;
  std::unique_ptr<Registry> reg_;
};

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

// --- transitions ---------------------------------------------------------------------------------

// The lifecycle graph, written out independently of the implementation.
bool Expected(State from, State to) {
  const std::set<std::pair<State, State>> allowed = {
      {State::kCommissioned, State::kOperational},
      {State::kOperational, State::kMaintenance},
      {State::kMaintenance, State::kOperational},
      {State::kAllowed, State::kDecommissioned},
      {State::kAllowed, State::kRevoked},
      {State::kAllowed, State::kEvicted},
      {State::kCommissioned, State::kDecommissioned},
      {State::kCommissioned, State::kRevoked},
      {State::kCommissioned, State::kEvicted},
      {State::kOperational, State::kDecommissioned},
      {State::kOperational, State::kRevoked},
      {State::kOperational, State::kEvicted},
      {State::kMaintenance, State::kDecommissioned},
      {State::kMaintenance, State::kRevoked},
      {State::kMaintenance, State::kEvicted},
  };
  return allowed.count({from, to}) != 0;
}

TEST_F(RegistryTest, EveryTransitionPair) {
  int n = 0, refused = 0;
  for (State from : kAllStates) {
    for (State to : kAllStates) {
      const std::string serial = "p" + std::to_string(n++);
      MakeThing(serial, from);
      const int64_t audit = AuditSize();
      auto r = reg_->Transition(serial, to, "owner", "test");
      SCOPED_TRACE(std::string(StateName(from)) + " -> " + StateName(to));
      if (Expected(from, to)) {
        ASSERT_TRUE(r) << r.error().ToString();
        EXPECT_EQ(StateOf(serial), to);
        auto last = reg_->Audit(serial, 1);
        ASSERT_EQ(last->size(), 1u);
        EXPECT_EQ(last->front().action, StateName(to));
        EXPECT_EQ(last->front().actor, "owner");
        EXPECT_NE(last->front().detail.find("test"), std::string::npos);
      } else {
        ++refused;
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code(), ErrorCode::kConflict);
        const std::string want =
            "cannot move " + serial + " from " + StateName(from) + " to " + StateName(to);
        EXPECT_NE(r.error().message().find(want), std::string::npos) << r.error().message();
        EXPECT_EQ(StateOf(serial), from);
        EXPECT_EQ(AuditSize(), audit);
      }
    }
  }
  EXPECT_EQ(refused, 64 - 15);
  auto unknown = reg_->Transition("nobody", State::kRevoked, "owner", "");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
}

TEST_F(RegistryTest, TerminalTransitionRevokesAndLeavesGroups) {
  MakeThing("a", State::kOperational);
  MakeThing("b", State::kOperational);
  ASSERT_TRUE(reg_->CreateGroup("lights", Key(0x10), "owner"));
  ASSERT_TRUE(reg_->CreateGroup("all", Key(0x20), "owner"));
  ASSERT_TRUE(reg_->CreateGroup("other", Key(0x30), "owner"));
  ASSERT_TRUE(reg_->AddMember("lights", "a", "owner"));
  ASSERT_TRUE(reg_->AddMember("all", "a", "owner"));
  ASSERT_TRUE(reg_->AddMember("all", "b", "owner"));
  ASSERT_TRUE(reg_->AddMember("other", "b", "owner"));
  clock_.Advance(30s);
  auto groups = reg_->Transition("a", State::kRevoked, "owner", "key extracted");
  ASSERT_TRUE(groups);
  EXPECT_EQ(*groups, (std::vector<std::string>{"all", "lights"}));
  auto t = reg_->Get("a");
  EXPECT_EQ(t->state, State::kRevoked);
  EXPECT_TRUE(t->wrapped_key.empty());
  EXPECT_EQ(t->credential_id, "cert-a");  // kept for the record
  EXPECT_TRUE(*reg_->IsCredentialRevoked("ldevid", "cert-a"));
  EXPECT_FALSE(*reg_->IsCredentialRevoked("ldevid", "cert-b"));
  EXPECT_FALSE(*reg_->IsCredentialRevoked("psk", "cert-a"));
  auto crl = reg_->RevokedCredentials("ldevid");
  ASSERT_TRUE(crl);
  ASSERT_EQ(crl->size(), 1u);
  EXPECT_EQ((*crl)[0], (std::pair<std::string, int64_t>("cert-a", kStart + 30)));
  EXPECT_TRUE(reg_->RevokedCredentials("psk")->empty());
  EXPECT_TRUE(reg_->GroupsOf("a")->empty());
  auto all = reg_->GetGroup("all");
  EXPECT_EQ(all->members, std::vector<std::string>{"b"});
  EXPECT_TRUE(all->needs_rekey);
  EXPECT_EQ(all->epoch, 1);  // not rekeyed yet: the caller must
  EXPECT_TRUE(reg_->GetGroup("lights")->needs_rekey);
  EXPECT_FALSE(reg_->GetGroup("other")->needs_rekey);
  ASSERT_TRUE(reg_->Rekey("all", Key(0x21), "kdc"));
  all = reg_->GetGroup("all");
  EXPECT_FALSE(all->needs_rekey);
  EXPECT_EQ(all->epoch, 2);
  EXPECT_EQ(all->wrapped_key, Key(0x21));
  EXPECT_EQ(Count("group-member-removed", "a"), 2);
  // A revoked thing cannot be a group member again.
  auto add = reg_->AddMember("all", "a", "owner");
  ASSERT_FALSE(add);
  EXPECT_EQ(add.error().code(), ErrorCode::kConflict);
}

TEST_F(RegistryTest, TerminalTransitionWithRekeyCallbackIsAtomic) {
  MakeThing("a", State::kOperational);
  MakeThing("b", State::kCommissioned);
  ASSERT_TRUE(reg_->CreateGroup("g1", Key(0x10), "owner"));
  ASSERT_TRUE(reg_->CreateGroup("g2", Key(0x20), "owner"));
  ASSERT_TRUE(reg_->AddMember("g1", "a", "owner"));
  ASSERT_TRUE(reg_->AddMember("g2", "a", "owner"));
  ASSERT_TRUE(reg_->AddMember("g2", "b", "owner"));

  // A failing key source aborts everything: still operational, still a member, key unchanged.
  const int64_t n = AuditSize();
  int calls = 0;
  auto failing = [&](const std::string& group, int64_t) -> Result<Bytes> {
    ++calls;
    if (group == "g2") return Fail(ErrorCode::kCrypto, "no randomness");
    return Key(0x11);
  };
  auto r = reg_->Transition("a", State::kEvicted, "owner", "", failing);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kCrypto);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(StateOf("a"), State::kOperational);
  EXPECT_EQ(*reg_->GroupsOf("a"), (std::vector<std::string>{"g1", "g2"}));
  EXPECT_EQ(reg_->GetGroup("g1")->epoch, 1);
  EXPECT_FALSE(*reg_->IsCredentialRevoked("ldevid", "cert-a"));
  EXPECT_FALSE(reg_->Get("a")->wrapped_key.empty());
  EXPECT_EQ(AuditSize(), n);

  std::vector<std::pair<std::string, int64_t>> seen;
  auto ok = [&](const std::string& group, int64_t epoch) -> Result<Bytes> {
    seen.emplace_back(group, epoch);
    return Key(static_cast<uint8_t>(0x40 + epoch));
  };
  auto groups = reg_->Transition("a", State::kEvicted, "owner", "", ok);
  ASSERT_TRUE(groups) << groups.error().ToString();
  EXPECT_EQ(*groups, (std::vector<std::string>{"g1", "g2"}));
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, int64_t>>{{"g1", 2}, {"g2", 2}}));
  auto g2 = reg_->GetGroup("g2");
  EXPECT_EQ(g2->epoch, 2);
  EXPECT_EQ(g2->wrapped_key, Key(0x42));
  EXPECT_FALSE(g2->needs_rekey);
  EXPECT_EQ(g2->members, std::vector<std::string>{"b"});
  EXPECT_EQ(Count("group-rekeyed", ""), 2);
}

// --- replacement ---------------------------------------------------------------------------------

TEST_F(RegistryTest, ReplaceMovesTheRole) {
  MakeThing("old", State::kOperational);
  MakeThing("other", State::kOperational);
  ASSERT_TRUE(reg_->Allow("new", "acme", "bulb", std::nullopt, "owner"));
  ASSERT_TRUE(reg_->CreateGroup("g1", Key(1), "owner"));
  ASSERT_TRUE(reg_->CreateGroup("g2", Key(2), "owner"));
  ASSERT_TRUE(reg_->AddMember("g1", "old", "owner"));
  ASSERT_TRUE(reg_->AddMember("g1", "other", "owner"));
  ASSERT_TRUE(reg_->AddMember("g2", "other", "owner"));

  auto groups = reg_->Replace("old", "new", "installer");
  ASSERT_TRUE(groups) << groups.error().ToString();
  EXPECT_EQ(*groups, std::vector<std::string>{"g1"});
  auto o = reg_->Get("old");
  auto n = reg_->Get("new");
  EXPECT_EQ(o->state, State::kReplaced);
  EXPECT_EQ(o->replaced_by, "new");
  EXPECT_TRUE(o->wrapped_key.empty());
  EXPECT_EQ(n->state, State::kAllowed);
  EXPECT_EQ(n->replaces, "old");
  EXPECT_TRUE(*reg_->IsCredentialRevoked("ldevid", "cert-old"));
  EXPECT_EQ(reg_->GetGroup("g1")->members, (std::vector<std::string>{"new", "other"}));
  EXPECT_TRUE(reg_->GetGroup("g1")->needs_rekey);
  EXPECT_FALSE(reg_->GetGroup("g2")->needs_rekey);
  EXPECT_EQ(Count("replaced", "old"), 1);
  EXPECT_EQ(Count("replaces", "new"), 1);
  // The replacement can now join and keeps its memberships.
  ASSERT_TRUE(reg_->Commission("new", Ldevid("cert-new"), "kdc"));
  EXPECT_EQ(*reg_->GroupsOf("new"), std::vector<std::string>{"g1"});

  // Refusals, each changing nothing.
  const int64_t before = AuditSize();
  auto again = reg_->Replace("old", "other", "installer");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kConflict);
  EXPECT_NE(again.error().message().find("already replaced by new"), std::string::npos);
  MakeThing("x", State::kOperational);
  auto twice = reg_->Replace("x", "new", "installer");  // new already replaces old
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code(), ErrorCode::kConflict);
  const int64_t after_x = AuditSize();
  MakeThing("dead", State::kRevoked);
  const int64_t after_dead = AuditSize();
  auto into_dead = reg_->Replace("x", "dead", "installer");
  ASSERT_FALSE(into_dead);
  EXPECT_EQ(into_dead.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(reg_->Replace("x", "x", "installer").error().code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(reg_->Replace("x", "ghost", "installer").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(reg_->Replace("ghost", "x", "installer").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(StateOf("x"), State::kOperational);
  EXPECT_EQ(AuditSize(), after_dead);
  EXPECT_GT(after_x, before);
}

TEST_F(RegistryTest, ReplaceARevokedThingWithRekey) {
  MakeThing("old", State::kOperational);
  MakeThing("new", State::kOperational);
  ASSERT_TRUE(reg_->CreateGroup("g", Key(1), "owner"));
  ASSERT_TRUE(reg_->AddMember("g", "old", "owner"));
  ASSERT_TRUE(reg_->AddMember("g", "new", "owner"));
  ASSERT_TRUE(reg_->Transition("old", State::kRevoked, "owner", "broken"));
  // old already left g; it has no groups to hand over.
  auto groups = reg_->Replace("old", "new", "installer", [](const std::string&, int64_t e) {
    return Result<Bytes>(Key(static_cast<uint8_t>(e)));
  });
  ASSERT_TRUE(groups);
  EXPECT_TRUE(groups->empty());
  EXPECT_EQ(StateOf("old"), State::kReplaced);
  EXPECT_EQ(StateOf("new"), State::kOperational);
  EXPECT_EQ(Count("replaced", "old"), 1);
  auto r = reg_->Audit("old", 1);
  EXPECT_NE(r->front().detail.find("from revoked"), std::string::npos);
}

// --- pairwise keys and credentials ---------------------------------------------------------------

TEST_F(RegistryTest, SetPairwiseKeyAndRenewCredential) {
  MakeThing("t", State::kOperational);
  ASSERT_TRUE(reg_->SetPairwiseKey("t", Key(0x55), "kdc"));
  auto t = reg_->Get("t");
  EXPECT_EQ(t->wrapped_key, Key(0x55));
  EXPECT_EQ(t->key_epoch, 2);
  EXPECT_EQ(Count("pairwise-rekey", "t"), 1);
  EXPECT_EQ(reg_->SetPairwiseKey("t", {}, "kdc").error().code(), ErrorCode::kInvalidInput);
  MakeThing("allowed", State::kAllowed);
  EXPECT_EQ(reg_->SetPairwiseKey("allowed", Key(1), "kdc").error().code(), ErrorCode::kConflict);

  auto renewed = reg_->RenewCredential("t", Ldevid("cert-t-2", 0x66), "kdc");
  ASSERT_TRUE(renewed) << renewed.error().ToString();
  EXPECT_EQ(renewed->credential_id, "cert-t-2");
  EXPECT_EQ(renewed->wrapped_key, Key(0x66));
  EXPECT_EQ(renewed->key_epoch, 3);
  EXPECT_EQ(renewed->state, State::kOperational);
  EXPECT_TRUE(*reg_->IsCredentialRevoked("ldevid", "cert-t"));
  EXPECT_FALSE(*reg_->IsCredentialRevoked("ldevid", "cert-t-2"));
  EXPECT_FALSE(*reg_->FindByCredential("ldevid", "cert-t"));
  EXPECT_EQ((*reg_->FindByCredential("ldevid", "cert-t-2"))->serial, "t");
  // The revoked one cannot come back, and the thing keeps its new credential.
  auto back = reg_->RenewCredential("t", Ldevid("cert-t"), "kdc");
  ASSERT_FALSE(back);
  EXPECT_EQ(back.error().code(), ErrorCode::kVerifyFailed);
  EXPECT_EQ(reg_->Get("t")->credential_id, "cert-t-2");
  // Joining with the renewed credential is a repeat join.
  auto join = reg_->Commission("t", Ldevid("cert-t-2"), "kdc");
  ASSERT_TRUE(join);
  EXPECT_FALSE(join->first_time);
}

// --- queries -------------------------------------------------------------------------------------

TEST_F(RegistryTest, ListAndCount) {
  MakeThing("c", State::kOperational);
  MakeThing("a", State::kAllowed);
  MakeThing("b", State::kRevoked);
  MakeThing("d", State::kAllowed);
  auto all = reg_->List();
  ASSERT_TRUE(all);
  std::vector<std::string> serials;
  for (const auto& t : *all) serials.push_back(t.serial);
  EXPECT_EQ(serials, (std::vector<std::string>{"a", "b", "c", "d"}));
  auto allowed = reg_->List(State::kAllowed);
  ASSERT_EQ(allowed->size(), 2u);
  EXPECT_EQ((*allowed)[0].serial, "a");
  EXPECT_EQ((*allowed)[1].serial, "d");
  EXPECT_TRUE(reg_->List(State::kEvicted)->empty());
  auto counts = reg_->CountByState();
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->size(), 8u);
  EXPECT_EQ(counts->at(State::kAllowed), 2);
  EXPECT_EQ(counts->at(State::kOperational), 1);
  EXPECT_EQ(counts->at(State::kRevoked), 1);
  EXPECT_EQ(counts->at(State::kEvicted), 0);
  auto missing = reg_->Get("zzz");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(reg_->Get("").error().code(), ErrorCode::kInvalidInput);
}

// --- groups --------------------------------------------------------------------------------------

TEST_F(RegistryTest, Groups) {
  MakeThing("a", State::kOperational);
  MakeThing("b", State::kCommissioned);
  MakeThing("c", State::kMaintenance);
  MakeThing("allowed", State::kAllowed);
  ASSERT_TRUE(reg_->CreateGroup("lights", Key(1), "owner"));
  auto g = reg_->GetGroup("lights");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->epoch, 1);
  EXPECT_EQ(g->wrapped_key, Key(1));
  EXPECT_TRUE(g->members.empty());
  EXPECT_EQ(reg_->CreateGroup("lights", Key(2), "owner").error().code(), ErrorCode::kConflict);
  EXPECT_EQ(reg_->CreateGroup("bad name", Key(2), "owner").error().code(),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(reg_->CreateGroup("x", {}, "owner").error().code(), ErrorCode::kInvalidInput);

  ASSERT_TRUE(reg_->AddMember("lights", "c", "owner"));
  ASSERT_TRUE(reg_->AddMember("lights", "a", "owner"));
  ASSERT_TRUE(reg_->AddMember("lights", "b", "owner"));
  EXPECT_EQ(reg_->GetGroup("lights")->members, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(reg_->GetGroup("lights")->epoch, 1);  // joining does not rekey
  EXPECT_EQ(reg_->AddMember("lights", "a", "owner").error().code(), ErrorCode::kConflict);
  auto not_active = reg_->AddMember("lights", "allowed", "owner");
  ASSERT_FALSE(not_active);
  EXPECT_EQ(not_active.error().code(), ErrorCode::kConflict);
  EXPECT_NE(not_active.error().message().find("allowed"), std::string::npos);
  EXPECT_EQ(reg_->AddMember("nope", "a", "owner").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(reg_->AddMember("lights", "ghost", "owner").error().code(), ErrorCode::kNotFound);

  ASSERT_TRUE(reg_->RemoveMember("lights", "b", Key(3), "owner"));
  g = reg_->GetGroup("lights");
  EXPECT_EQ(g->members, (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(g->epoch, 2);
  EXPECT_EQ(g->wrapped_key, Key(3));
  EXPECT_EQ(reg_->RemoveMember("lights", "b", Key(4), "owner").error().code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(reg_->RemoveMember("lights", "a", {}, "owner").error().code(),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(reg_->GetGroup("lights")->epoch, 2);

  ASSERT_TRUE(reg_->Rekey("lights", Key(5), "kdc"));
  EXPECT_EQ(reg_->GetGroup("lights")->epoch, 3);
  EXPECT_EQ(reg_->Rekey("nope", Key(5), "kdc").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(reg_->GetGroup("nope").error().code(), ErrorCode::kNotFound);

  ASSERT_TRUE(reg_->CreateGroup("heating", Key(6), "owner"));
  ASSERT_TRUE(reg_->AddMember("heating", "a", "owner"));
  EXPECT_EQ(*reg_->GroupsOf("a"), (std::vector<std::string>{"heating", "lights"}));
  EXPECT_TRUE(reg_->GroupsOf("ghost")->empty());
  auto list = reg_->ListGroups();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "heating");
  EXPECT_EQ((*list)[0].members, std::vector<std::string>{"a"});
  EXPECT_EQ((*list)[1].name, "lights");
  EXPECT_EQ((*list)[1].epoch, 3);
  EXPECT_EQ(Count("group-member-added", "a"), 2);
  EXPECT_EQ(Count("group-member-removed", "b"), 1);
}

// --- nonces --------------------------------------------------------------------------------------

TEST_F(RegistryTest, NoncesAreSingleUse) {
  const Bytes n1(16, 0xa1);
  ASSERT_TRUE(reg_->PutNonce(n1, "t-1", kStart + 60));
  EXPECT_EQ(reg_->PutNonce(n1, "t-1", kStart + 60).error().code(), ErrorCode::kConflict);

  // Another serial or an unknown nonce: refused, and the nonce stays usable by its owner.
  auto wrong = reg_->ConsumeNonce(n1, "t-2");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), ErrorCode::kVerifyFailed);
  auto unknown = reg_->ConsumeNonce(Bytes(16, 0xee), "t-1");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kVerifyFailed);

  ASSERT_TRUE(reg_->ConsumeNonce(n1, "t-1"));
  auto replay = reg_->ConsumeNonce(n1, "t-1");
  ASSERT_FALSE(replay);
  EXPECT_EQ(replay.error().code(), ErrorCode::kVerifyFailed);
  EXPECT_EQ(replay.error().message(), "replayed join (nonce already used)");

  // Expiry: usable at the expiry second, not after.
  const Bytes n2(8, 0xb2), n3(64, 0xc3);
  ASSERT_TRUE(reg_->PutNonce(n2, "t-1", kStart + 10));
  ASSERT_TRUE(reg_->PutNonce(n3, "t-1", kStart + 10));
  clock_.Advance(10s);
  ASSERT_TRUE(reg_->ConsumeNonce(n2, "t-1"));
  clock_.Advance(1s);
  auto expired = reg_->ConsumeNonce(n3, "t-1");
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code(), ErrorCode::kVerifyFailed);
  EXPECT_EQ(expired.error().message(), "nonce expired");
  // A used nonce is still recognised as a replay until it expires (n1: kStart + 60).
  EXPECT_EQ(reg_->ConsumeNonce(n1, "t-1").error().message(), "replayed join (nonce already used)");

  // Sizes and expiry in the past.
  EXPECT_EQ(reg_->PutNonce(Bytes(7, 1), "t-1", kStart + 100).error().code(),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(reg_->PutNonce(Bytes(65, 1), "t-1", kStart + 100).error().code(),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(reg_->PutNonce(Bytes(16, 1), "t-1", kStart).error().code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(reg_->ConsumeNonce(Bytes(3, 1), "t-1").error().code(), ErrorCode::kInvalidInput);
  // Nonces are not audit events.
  EXPECT_EQ(AuditSize(), 0);
}

TEST_F(RegistryTest, ExpiredNoncesArePurged) {
  ASSERT_TRUE(reg_->PutNonce(Bytes(16, 1), "t", kStart + 10));
  ASSERT_TRUE(reg_->PutNonce(Bytes(16, 2), "t", kStart + 100));
  ASSERT_TRUE(reg_->ConsumeNonce(Bytes(16, 1), "t"));
  auto count = [&] { return *reg_->database().QueryInt64("SELECT count(*) FROM nonces"); };
  EXPECT_EQ(count(), 2);  // the used one is kept until it expires
  clock_.Advance(11s);
  ASSERT_TRUE(reg_->PutNonce(Bytes(16, 3), "t", kStart + 100));
  EXPECT_EQ(count(), 2);  // 1 purged; 2 and 3 remain
  EXPECT_EQ(reg_->ConsumeNonce(Bytes(16, 1), "t").error().code(), ErrorCode::kVerifyFailed);
  ASSERT_TRUE(reg_->ConsumeNonce(Bytes(16, 2), "t"));
}

// --- audit ---------------------------------------------------------------------------------------

TEST_F(RegistryTest, AppendAndQueryTheAudit) {
  ASSERT_TRUE(reg_->Append("kdc", "join-refused", "unknown-1", "no voucher"));
  clock_.Advance(1s);
  ASSERT_TRUE(reg_->Allow("t", "acme", "bulb", std::nullopt, "owner"));
  clock_.Advance(1s);
  // A refused peer's claimed serial and a detail with control characters are recorded, printable.
  ASSERT_TRUE(reg_->Append("kdc", "join-refused", "evil\x1b[31m serial", "line1\nline2\\"));
  ASSERT_TRUE(reg_->Append("kdc", "owner-query", "", std::string(5000, 'd')));
  EXPECT_EQ(reg_->Append("kdc", "", "t", "x").error().code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(reg_->Append("kdc", "two words", "t", "x").error().code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(reg_->Append("", "a", "t", "x").error().code(), ErrorCode::kInvalidInput);

  auto all = reg_->Audit();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 4u);
  for (size_t i = 0; i < all->size(); ++i) EXPECT_EQ((*all)[i].seq, static_cast<int64_t>(i) + 1);
  EXPECT_EQ((*all)[0].action, "join-refused");
  EXPECT_EQ((*all)[0].serial, "unknown-1");
  EXPECT_EQ((*all)[0].time, kStart);
  EXPECT_EQ((*all)[1].action, "allowed");
  EXPECT_EQ((*all)[1].actor, "owner");
  EXPECT_EQ((*all)[2].serial, "evil\\x1b[31m serial");
  EXPECT_EQ((*all)[2].detail, "line1\\x0aline2\\\\");
  EXPECT_EQ((*all)[2].time, kStart + 2);
  EXPECT_LT((*all)[3].detail.size(), 4200u);
  EXPECT_EQ((*all)[3].detail.substr((*all)[3].detail.size() - 3), "...");

  auto of_t = reg_->Audit(std::string("t"));
  ASSERT_EQ(of_t->size(), 1u);
  EXPECT_EQ(of_t->front().seq, 2);
  auto newest = reg_->Audit(std::nullopt, 2);
  ASSERT_EQ(newest->size(), 2u);
  EXPECT_EQ((*newest)[0].seq, 3);
  EXPECT_EQ((*newest)[1].seq, 4);
  EXPECT_TRUE(reg_->VerifyAuditChain());
}

// The hash of an entry follows the documented encoding (docs/REGISTRY.md), computed here
// independently.
TEST_F(RegistryTest, AuditHashFollowsTheDocumentedEncoding) {
  ASSERT_TRUE(reg_->Append("kdc", "join-refused", "s-1", "why"));
  ASSERT_TRUE(reg_->Append("owner", "note", "", ""));
  auto all = *reg_->Audit();
  crypto::Sha256Digest prev{};
  for (const auto& e : all) {
    prev = EntryHash(prev, e);
    EXPECT_EQ(Hex(prev), e.hash) << "seq " << e.seq;
  }
}

TEST_F(RegistryTest, AuditRowsCannotBeChangedOrDeleted) {
  MakeThing("t", State::kOperational);
  auto raw = Raw();
  ASSERT_TRUE(raw);
  auto up = raw->Exec("UPDATE audit SET detail = 'nothing happened' WHERE seq = 1");
  ASSERT_FALSE(up);
  EXPECT_EQ(up.error().code(), ErrorCode::kConflict);
  EXPECT_NE(up.error().message().find("append-only"), std::string::npos) << up.error().message();
  auto del = raw->Exec("DELETE FROM audit WHERE seq = 2");
  ASSERT_FALSE(del);
  EXPECT_EQ(del.error().code(), ErrorCode::kConflict);
  EXPECT_NE(del.error().message().find("append-only"), std::string::npos);
  auto del_all = raw->Exec("DELETE FROM audit");
  ASSERT_FALSE(del_all);
  EXPECT_EQ(*raw->QueryInt64("SELECT count(*) FROM audit"), 3);
  EXPECT_TRUE(reg_->VerifyAuditChain());
}

TEST_F(RegistryTest, ChainVerificationFindsAnEditedRow) {
  MakeThing("t", State::kOperational);  // seq 1 allowed, 2 commissioned, 3 operational
  ASSERT_TRUE(reg_->Append("kdc", "note", "t", "x"));
  ASSERT_TRUE(reg_->VerifyAuditChain());
  auto raw = Raw();
  ASSERT_TRUE(raw->Exec("DROP TRIGGER audit_no_update"));
  ASSERT_TRUE(raw->Exec("UPDATE audit SET actor = 'somebody else' WHERE seq = 2"));
  auto st = reg_->VerifyAuditChain();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kVerifyFailed);
  EXPECT_NE(st.error().message().find("seq 2"), std::string::npos) << st.error().message();
  // An editor who also recomputes that row's hash breaks the next link instead.
  auto entries = *reg_->Audit();
  crypto::Sha256Digest h1;
  ASSERT_EQ(entries[0].seq, 1);
  h1 = EntryHash({}, entries[0]);
  ASSERT_TRUE(
      raw->Exec("UPDATE audit SET hash = '" + Hex(EntryHash(h1, entries[1])) + "' WHERE seq = 2"));
  st = reg_->VerifyAuditChain();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("seq 3"), std::string::npos) << st.error().message();
}

TEST_F(RegistryTest, ChainVerificationFindsRemovedRows) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(reg_->Append("kdc", "note", "t", std::to_string(i)));
  auto raw = Raw();
  ASSERT_TRUE(raw->Exec("DROP TRIGGER audit_no_delete"));
  ASSERT_TRUE(raw->Exec("DELETE FROM audit WHERE seq = 5"));  // the tail
  auto st = reg_->VerifyAuditChain();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kVerifyFailed);
  EXPECT_NE(st.error().message().find("seq 5"), std::string::npos) << st.error().message();
  ASSERT_TRUE(raw->Exec("DELETE FROM audit WHERE seq = 3"));  // the middle
  st = reg_->VerifyAuditChain();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("seq 3"), std::string::npos) << st.error().message();
}

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

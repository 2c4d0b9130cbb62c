// Tests for secprof::registry: single-use nonces and their purge; the append-only audit log and its
// hash chain (the documented encoding, rows that cannot change, edited or removed rows found).
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

}  // namespace
}  // namespace secprof::registry

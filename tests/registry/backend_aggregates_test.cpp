// The registry's aggregates on both storage backends (backend_fixture.h): things and their
// lifecycle, groups, the audit log and its hash chain, join nonces. Each case states what the
// registry's contract (registry.h and the aggregates' headers) says; the same assertions must hold
// on SQLite and on PostgreSQL.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "backend_fixture.h"

namespace secprof::registry {
namespace {

using namespace std::chrono_literals;

Bytes Key(uint8_t fill, size_t n = 48) { return Bytes(n, fill); }

std::string Fingerprint(char c) { return std::string(64, c); }

CommissionInput Psk(const std::string& id, char fp = 'a') {
  CommissionInput in;
  in.credential_kind = "psk";
  in.credential_id = id;
  in.credential_fingerprint = Fingerprint(fp);
  in.wrapped_key = Key(2);
  return in;
}

CommissionInput Ldevid(const std::string& id, char fp = 'b') {
  CommissionInput in;
  in.credential_kind = "ldevid";
  in.credential_id = id;
  in.credential_fingerprint = Fingerprint(fp);
  in.ldevid_pem = "-----BEGIN CERTIFICATE-----\n" + id + "\n-----END CERTIFICATE-----\n";
  in.wrapped_key = Key(1);
  return in;
}

using BackendThings = BackendTest;
using BackendGroups = BackendTest;
using BackendAudit = BackendTest;
using BackendNonces = BackendTest;

TEST_P(BackendThings, DomainIsSetOnceAndSurvivesReopening) {
  EXPECT_TRUE(reg_->Domain().error().code() == ErrorCode::kNotFound);
  ASSERT_TRUE(reg_->InitDomain("SecProf_3", "owner-1"));
  ASSERT_TRUE(reg_->InitDomain("SecProf_3", "owner-1"));  // the same values: no change
  auto other = reg_->InitDomain("SecProf_2", "owner-2");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code(), ErrorCode::kConflict);
  EXPECT_TRUE(other.error().Is(kExists));
  reg_.reset();
  auto again = Open();  // migrations already applied: nothing to do, nothing lost
  ASSERT_NE(again, nullptr);
  auto d = again->Domain();
  ASSERT_TRUE(d) << d.error().ToString();
  EXPECT_EQ(d->profile, "SecProf_3");
  EXPECT_EQ(d->owner, "owner-1");
  EXPECT_EQ(d->created, kBackendStart);
  EXPECT_TRUE(again->VerifyAuditChain());
}

TEST_P(BackendThings, CommissionIsIdempotentAndListedInByteOrder) {
  // Serials whose byte order differs from a natural-language collation's.
  for (const char* s : {"b-2", "B-1", "a_1", "A-3", "_z"})
    ASSERT_TRUE(reg_->Allow(s, "acme", "m1", std::nullopt, "owner"));
  auto first = reg_->Commission("b-2", Ldevid("0a"), "kdc");
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_TRUE(first->first_time);
  EXPECT_EQ(first->thing.state, State::kCommissioned);
  EXPECT_EQ(first->thing.key_epoch, 1);
  EXPECT_EQ(first->thing.wrapped_key, Key(1));
  CommissionInput repeat = Ldevid("0a");
  repeat.wrapped_key = Key(9);  // ignored on a repeat: the stored key is handed out
  auto second = reg_->Commission("b-2", repeat, "kdc");
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->first_time);
  EXPECT_EQ(second->thing.wrapped_key, Key(1));
  EXPECT_EQ(second->thing.joins, 2);
  auto mismatch = reg_->Commission("b-2", Ldevid("0a", 'c'), "kdc");
  ASSERT_FALSE(mismatch);
  EXPECT_TRUE(mismatch.error().Is(kCredentialMismatch));
  auto stolen = reg_->Commission("B-1", Ldevid("0a"), "kdc");  // another thing's credential
  ASSERT_FALSE(stolen);
  EXPECT_TRUE(stolen.error().Is(kCredentialInUse));

  auto all = reg_->List();
  ASSERT_TRUE(all);
  std::vector<std::string> serials;
  for (const auto& t : *all) serials.push_back(t.serial);
  EXPECT_EQ(serials, (std::vector<std::string>{"A-3", "B-1", "_z", "a_1", "b-2"}));
  auto found = reg_->FindByCredential("ldevid", "0a");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->serial, "b-2");
  auto counts = reg_->CountByState();
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->at(State::kAllowed), 4);
  EXPECT_EQ(counts->at(State::kCommissioned), 1);
  auto commissioned = reg_->List(State::kCommissioned);
  ASSERT_TRUE(commissioned);
  ASSERT_EQ(commissioned->size(), 1u);
  EXPECT_EQ(commissioned->front().ldevid_pem, Ldevid("0a").ldevid_pem);
}

TEST_P(BackendThings, RefusalsChangeNothing) {
  ASSERT_TRUE(reg_->Allow("t-1", "acme", "m1", std::nullopt, "owner"));
  auto before = reg_->Audit();
  ASSERT_TRUE(before) << before.error().message();
  EXPECT_EQ(reg_->Allow("", "acme", "m1", std::nullopt, "owner").error().code(),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(reg_->Commission("nobody", Psk("p"), "kdc").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(reg_->Allow("t-1", "other", "m1", std::nullopt, "owner").error().code(),
            ErrorCode::kConflict);
  // Names are UTF-8 text (PostgreSQL's text would refuse anything else; SQLite now does too).
  EXPECT_EQ(reg_->Allow("t-2", "ac\xffme", "m1", std::nullopt, "owner").error().code(),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(reg_->Allow("t-2", "acme", "\xc3\x28", std::nullopt, "owner").error().code(),
            ErrorCode::kInvalidInput);
  EXPECT_TRUE(
      reg_->Allow("t-3", "L\xc3\xa4mpchen \xe2\x80\x94 K\xc3\xbc", "m1", std::nullopt, "owner"));
  auto bad_kind = Psk("p");
  bad_kind.credential_kind = "x509";
  EXPECT_EQ(reg_->Commission("t-1", bad_kind, "kdc").error().code(), ErrorCode::kInvalidInput);
  auto after = reg_->Audit();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->size(), before->size() + 1);  // t-3's "allowed" only
  auto t = reg_->Get("t-1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->state, State::kAllowed);
  EXPECT_EQ(t->vendor, "acme");
}

TEST_P(BackendThings, VoucherAndTerminalTransitionRevokes) {
  const Bytes voucher = {0x00, 0xff, 0x10, 0x00, 0x80};  // bytes, NULs included, round-trip
  ASSERT_TRUE(reg_->ImportVoucherFrom("v-1", "acme", "m1", voucher, Now() + 3600,
                                      std::string(64, 'e'), "owner"));
  auto t = reg_->Get("v-1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->voucher, voucher);
  auto issuer = reg_->VoucherIssuer("v-1");
  ASSERT_TRUE(issuer && *issuer);
  EXPECT_EQ(**issuer, std::string(64, 'e'));
  ASSERT_TRUE(reg_->Commission("v-1", Psk("psk-1"), "kdc"));
  ASSERT_TRUE(reg_->Transition("v-1", State::kOperational, "kdc", ""));
  ASSERT_TRUE(reg_->SetPairwiseKey("v-1", Key(7), "kdc"));
  auto revoked = reg_->Transition("v-1", State::kRevoked, "owner", "stolen");
  ASSERT_TRUE(revoked) << revoked.error().ToString();
  auto is = reg_->IsCredentialRevoked("psk", "psk-1");
  ASSERT_TRUE(is);
  EXPECT_TRUE(*is);
  t = reg_->Get("v-1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->state, State::kRevoked);
  EXPECT_TRUE(t->wrapped_key.empty());  // the x'' of the SQL: an empty blob, not NULL
  EXPECT_EQ(t->key_epoch, 2);
  auto join = reg_->Commission("v-1", Psk("psk-1"), "kdc");
  ASSERT_FALSE(join);
  EXPECT_EQ(join.error().code(), ErrorCode::kVerifyFailed);
  auto back = reg_->Transition("v-1", State::kOperational, "owner", "");
  ASSERT_FALSE(back);
  EXPECT_TRUE(back.error().Is(kWrongState));
  auto list = reg_->RevokedCredentials("psk");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front().first, "psk-1");
}

TEST_P(BackendGroups, MembersEpochsAndRekeyOnLeave) {
  for (const char* s : {"g-1", "g-2"}) {
    ASSERT_TRUE(reg_->Allow(s, "acme", "m1", std::nullopt, "owner"));
    ASSERT_TRUE(reg_->Commission(s, Psk(std::string("p-") + s, s[2]), "kdc"));
  }
  ASSERT_TRUE(reg_->CreateGroup("lights", Key(3), "owner"));
  EXPECT_TRUE(reg_->CreateGroup("lights", Key(3), "owner").error().Is(kExists));
  ASSERT_TRUE(reg_->AddMember("lights", "g-1", "owner"));
  ASSERT_TRUE(reg_->AddMember("lights", "g-2", "owner",
                              [](const std::string&, int64_t epoch) -> Result<Bytes> {
                                return Bytes(48, static_cast<uint8_t>(epoch));
                              }));
  auto g = reg_->GetGroup("lights");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->epoch, 2);
  EXPECT_EQ(g->wrapped_key, Bytes(48, 2));
  EXPECT_EQ(g->members, (std::vector<std::string>{"g-1", "g-2"}));
  EXPECT_TRUE(reg_->AddMember("lights", "g-1", "owner").error().Is(kExists));
  ASSERT_TRUE(reg_->RemoveMember("lights", "g-2", Key(4), "owner"));
  EXPECT_TRUE(reg_->RemoveMember("lights", "g-2", Key(4), "owner").error().Is(kNotMember));
  // A terminal transition without a rekey callback marks the group for the KDC to rekey.
  auto left = reg_->Transition("g-1", State::kEvicted, "owner", "");
  ASSERT_TRUE(left);
  EXPECT_EQ(*left, std::vector<std::string>{"lights"});
  g = reg_->GetGroup("lights");
  ASSERT_TRUE(g);
  EXPECT_TRUE(g->members.empty());
  EXPECT_TRUE(g->needs_rekey);
  ASSERT_TRUE(reg_->Rekey("lights", Key(5), "owner"));
  g = reg_->GetGroup("lights");
  ASSERT_TRUE(g);
  EXPECT_FALSE(g->needs_rekey);
  EXPECT_EQ(g->epoch, 4);
  ASSERT_TRUE(reg_->CreateGroup("alarms", Key(6), "owner"));
  auto all = reg_->ListGroups();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(all->front().name, "alarms");
  EXPECT_EQ(reg_->GetGroup("none").error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(reg_->VerifyAuditChain());
}

TEST_P(BackendAudit, ChainQueriesAndLimits) {
  ASSERT_TRUE(reg_->InitDomain("SecProf_3", "owner-1"));
  for (int i = 0; i < 6; ++i) {
    clock_.Advance(1s);
    ASSERT_TRUE(reg_->Append("kdc", "join-refused", i % 2 ? "s-odd" : "s-even",
                             "try " + std::to_string(i) + " \x01\xff"));
  }
  auto all = reg_->Audit();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 7u);
  for (size_t i = 0; i < all->size(); ++i) EXPECT_EQ((*all)[i].seq, static_cast<int64_t>(i + 1));
  EXPECT_EQ((*all)[1].detail, "try 0 \\x01\\xff");  // control characters and non-UTF-8 escaped
  auto odd = reg_->Audit(std::string("s-odd"));
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->size(), 3u);
  auto newest = reg_->Audit(std::nullopt, 2);  // LIMIT with a bound parameter
  ASSERT_TRUE(newest);
  ASSERT_EQ(newest->size(), 2u);
  EXPECT_EQ(newest->front().seq, 6);
  EXPECT_EQ(newest->back().time, kBackendStart + 6);
  EXPECT_TRUE(reg_->VerifyAuditChain());
}

TEST_P(BackendAudit, RowsCannotBeEditedAndAnEditIsFound) {
  ASSERT_TRUE(reg_->Append("kdc", "a", "", "one"));
  ASSERT_TRUE(reg_->Append("kdc", "b", "", "two"));
  // The attacker with SQL access: the append-only triggers refuse UPDATE and DELETE.
  EXPECT_NE(RawSql("UPDATE audit SET detail = 'forged' WHERE seq = 1"), "");
  EXPECT_NE(RawSql("DELETE FROM audit WHERE seq = 2"), "");
  if (postgres()) {
    EXPECT_NE(RawSql("TRUNCATE audit"), "");
  }
  auto entries = reg_->Audit();
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ(entries->front().detail, "one");
  // One who drops the trigger first: the chain no longer verifies.
  ASSERT_EQ(RawSql("DROP TRIGGER audit_no_update" + std::string(postgres() ? " ON audit" : "")),
            "");
  ASSERT_EQ(RawSql("UPDATE audit SET detail = 'forged' WHERE seq = 1"), "");
  auto verified = reg_->VerifyAuditChain();
  ASSERT_FALSE(verified);
  EXPECT_TRUE(verified.error().Is(kAuditChainBroken));
}

TEST_P(BackendNonces, SingleUseExpiryAndBounds) {
  const Bytes n1(16, 1), n2(16, 2), n3(16, 3);
  ASSERT_TRUE(reg_->PutNonce(n1, "s-1", Now() + 60));
  EXPECT_TRUE(reg_->PutNonce(n1, "s-1", Now() + 60).error().Is(kExists));
  EXPECT_TRUE(reg_->ValidateNonce(n1, "s-1"));
  EXPECT_TRUE(reg_->ConsumeNonce(n1, "s-2").error().Is(kNonceOtherThing));
  ASSERT_TRUE(reg_->ConsumeNonce(n1, "s-1"));
  EXPECT_TRUE(reg_->ConsumeNonce(n1, "s-1").error().Is(kReplay));
  EXPECT_TRUE(reg_->ConsumeNonce(n2, "s-1").error().Is(kUnknownNonce));
  ASSERT_TRUE(reg_->PutNonce(n2, "s-1", Now() + 10));
  clock_.Advance(11s);
  EXPECT_TRUE(reg_->ConsumeNonce(n2, "s-1").error().Is(kNonceExpired));
  // per_serial = 2 keeps the newest two of the serial's nonces (the LIMIT -1 OFFSET of the SQL).
  const AuditLog::NonceBounds bounds{2, 100};
  for (uint8_t i = 10; i < 15; ++i)
    ASSERT_TRUE(reg_->PutNonce(Bytes(16, i), "s-3", Now() + 100 + i, bounds));
  EXPECT_TRUE(reg_->ValidateNonce(Bytes(16, 14), "s-3"));
  EXPECT_TRUE(reg_->ValidateNonce(Bytes(16, 13), "s-3"));
  EXPECT_TRUE(reg_->ValidateNonce(Bytes(16, 12), "s-3").error().Is(kUnknownNonce));
  // total: refused once that many are outstanding, and nothing is stored.
  auto full = reg_->PutNonce(n3, "s-4", Now() + 60, AuditLog::NonceBounds{0, 3});
  ASSERT_FALSE(full);
  EXPECT_TRUE(full.error().Is(kTooManyNonces));
  EXPECT_TRUE(reg_->ValidateNonce(n3, "s-4").error().Is(kUnknownNonce));
}

INSTANTIATE_BACKENDS(BackendThings);
INSTANTIATE_BACKENDS(BackendGroups);
INSTANTIATE_BACKENDS(BackendAudit);
INSTANTIATE_BACKENDS(BackendNonces);

}  // namespace
}  // namespace secprof::registry

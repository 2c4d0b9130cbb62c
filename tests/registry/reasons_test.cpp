// The registry's refusal reasons (registry.h, docs/ERRORS.md "registry"): each refusal a caller
// branches on carries its stable reason, keeps its ErrorCode, and changes nothing.
#include <gtest/gtest.h>

#include "secprof/crypto/hash.h"
#include "secprof/registry/registry.h"
#include "secprof/store/sqlite.h"
#include "testutil.h"

namespace secprof::registry {
namespace {

using secprof::testing::TempDir;

constexpr int64_t kStart = 1'700'000'000;

Bytes Key(uint8_t fill) { return Bytes(48, fill); }
Bytes Nonce(uint8_t fill) { return Bytes(16, fill); }

CommissionInput Psk(const std::string& id) {
  CommissionInput in;
  in.credential_kind = "psk";
  in.credential_id = id;
  auto d = crypto::Sha256(crypto::ByteView(reinterpret_cast<const uint8_t*>(id.data()), id.size()));
  static const char kHex[] = "0123456789abcdef";
  for (uint8_t b : *d) {
    in.credential_fingerprint += kHex[b >> 4];
    in.credential_fingerprint += kHex[b & 15];
  }
  in.wrapped_key = Key(2);
  return in;
}

class RegistryReasons : public ::testing::Test {
 protected:
  RegistryReasons() : clock_(std::chrono::system_clock::time_point(std::chrono::seconds(kStart))) {}
  void SetUp() override {
    auto r = Registry::Open((dir_.path() / "r.db").string(), clock_);
    ASSERT_TRUE(r) << r.error().ToString();
    reg_ = std::move(*r);
    ASSERT_TRUE(reg_->Allow("a1", "acme", "bulb", std::nullopt, "owner"));
    ASSERT_TRUE(reg_->Allow("a2", "acme", "bulb", std::nullopt, "owner"));
  }
  // Asserts the refusal's code and reason, and that the audit log did not grow.
  template <class R>
  void ExpectRefused(const R& result, ErrorCode code, Reason reason, size_t audit_before) {
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code(), code) << result.error().ToString();
    EXPECT_TRUE(result.error().Is(reason))
        << "reason \"" << result.error().reason() << "\", want \"" << reason.name() << "\"";
    EXPECT_EQ(AuditSize(), audit_before);
  }
  size_t AuditSize() { return reg_->Audit()->size(); }

  FakeClock clock_;
  TempDir dir_;
  std::unique_ptr<Registry> reg_;
};

TEST_F(RegistryReasons, UnknownRecords) {
  const size_t n = AuditSize();
  ExpectRefused(reg_->Get("nobody"), ErrorCode::kNotFound, kUnknownThing, n);
  ExpectRefused(reg_->Transition("nobody", State::kRevoked, "owner", ""), ErrorCode::kNotFound,
                kUnknownThing, n);
  ExpectRefused(reg_->FirmwareVersion("nobody"), ErrorCode::kNotFound, kUnknownThing, n);
  ExpectRefused(reg_->GetGroup("none"), ErrorCode::kNotFound, kUnknownGroup, n);
  ExpectRefused(reg_->GetFirmware(7), ErrorCode::kNotFound, kUnknownFirmware, n);
  ExpectRefused(reg_->GetCampaign(7), ErrorCode::kNotFound, kUnknownCampaign, n);
  ExpectRefused(reg_->GetIncident(7), ErrorCode::kNotFound, kUnknownIncident, n);
}

TEST_F(RegistryReasons, LifecycleRefusals) {
  // allowed -> operational is not an edge of the graph.
  size_t n = AuditSize();
  ExpectRefused(reg_->Transition("a1", State::kOperational, "owner", ""), ErrorCode::kConflict,
                kWrongState, n);
  ExpectRefused(reg_->SetPairwiseKey("a1", Key(3), "kdc"), ErrorCode::kConflict, kWrongState, n);
  ExpectRefused(reg_->Allow("a1", "other", "bulb", std::nullopt, "owner"), ErrorCode::kConflict,
                kModelMismatch, n);
  ASSERT_TRUE(reg_->Commission("a1", Psk("id-a1"), "kdc"));
  n = AuditSize();
  ExpectRefused(reg_->Allow("a1", "acme", "bulb", std::nullopt, "owner"), ErrorCode::kConflict,
                kWrongState, n);
  ExpectRefused(reg_->Commission("a1", Psk("id-other"), "kdc"), ErrorCode::kConflict,
                kCredentialMismatch, n);
  ExpectRefused(reg_->Commission("a2", Psk("id-a1"), "kdc"), ErrorCode::kConflict, kCredentialInUse,
                n);
  ASSERT_TRUE(reg_->Transition("a1", State::kRevoked, "owner", "lost"));
  n = AuditSize();
  ExpectRefused(reg_->Commission("a1", Psk("id-a1"), "kdc"), ErrorCode::kVerifyFailed,
                kThingRetired, n);
  ExpectRefused(reg_->Commission("a2", Psk("id-a1"), "kdc"), ErrorCode::kVerifyFailed,
                kCredentialRevoked, n);
  ExpectRefused(reg_->AddMember("g", "a1", "owner"), ErrorCode::kNotFound, kUnknownGroup, n);
}

TEST_F(RegistryReasons, VoucherExpired) {
  ASSERT_TRUE(reg_->ImportVoucher("v1", "acme", "bulb", Bytes{1, 2, 3}, kStart - 1, "owner"));
  const size_t n = AuditSize();
  ExpectRefused(reg_->Commission("v1", Psk("id-v1"), "kdc"), ErrorCode::kVerifyFailed,
                kVoucherExpired, n);
}

TEST_F(RegistryReasons, NonceRefusals) {
  ASSERT_TRUE(reg_->PutNonce(Nonce(1), "a1", kStart + 60));
  const size_t n = AuditSize();
  ExpectRefused(reg_->PutNonce(Nonce(1), "a1", kStart + 60), ErrorCode::kConflict, kExists, n);
  ExpectRefused(reg_->ValidateNonce(Nonce(9), "a1"), ErrorCode::kVerifyFailed, kUnknownNonce, n);
  ExpectRefused(reg_->ConsumeNonce(Nonce(1), "a2"), ErrorCode::kVerifyFailed, kNonceOtherThing, n);
  ASSERT_TRUE(reg_->ConsumeNonce(Nonce(1), "a1"));
  ExpectRefused(reg_->ConsumeNonce(Nonce(1), "a1"), ErrorCode::kVerifyFailed, kReplay, n);
  ASSERT_TRUE(reg_->PutNonce(Nonce(2), "a1", kStart + 10));
  clock_.Advance(std::chrono::seconds(11));
  ExpectRefused(reg_->ConsumeNonce(Nonce(2), "a1"), ErrorCode::kVerifyFailed, kNonceExpired, n);
  ASSERT_TRUE(reg_->PutNonce(Nonce(3), "a2", kStart + 100));
  ExpectRefused(reg_->PutNonce(Nonce(4), "a2", kStart + 100, Registry::NonceBounds{0, 1}),
                ErrorCode::kLimit, kTooManyNonces, n);
}

TEST_F(RegistryReasons, GroupRefusals) {
  ASSERT_TRUE(reg_->CreateGroup("g", Key(5), "owner"));
  ASSERT_TRUE(reg_->Commission("a1", Psk("id-a1"), "kdc"));
  ASSERT_TRUE(reg_->AddMember("g", "a1", "owner"));
  const size_t n = AuditSize();
  ExpectRefused(reg_->CreateGroup("g", Key(5), "owner"), ErrorCode::kConflict, kExists, n);
  ExpectRefused(reg_->AddMember("g", "a1", "owner"), ErrorCode::kConflict, kExists, n);
  ExpectRefused(reg_->AddMember("g", "a2", "owner"), ErrorCode::kConflict, kWrongState, n);
  ExpectRefused(reg_->RemoveMember("g", "a2", Key(6), "owner"), ErrorCode::kNotFound, kNotMember,
                n);
}

TEST_F(RegistryReasons, AuditChainBroken) {
  ASSERT_TRUE(reg_->VerifyAuditChain());
  // The log is append-only (triggers); a changed head is what an attacker truncating it leaves.
  ASSERT_TRUE(reg_->database().Exec("UPDATE domain SET value = '1' WHERE key = 'audit_head_seq'"));
  auto v = reg_->VerifyAuditChain();
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code(), ErrorCode::kVerifyFailed);
  EXPECT_TRUE(v.error().Is(kAuditChainBroken));
}

}  // namespace
}  // namespace secprof::registry

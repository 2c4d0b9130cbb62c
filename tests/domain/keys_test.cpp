// Tests for secprof/domain/keys.h and setup_code.h (suites DomainKeys*, DomainSetupCode*): keys at
// rest (WrapKey / UnwrapKey), per-purpose derivation, the join proof, tickets, group messages and
// link frames — each round trip, and each refusal the header promises (another key, another
// context or recipient, a tampered byte, an expired ticket, a stale epoch, a replayed counter).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <optional>
#include <string>

#include "secprof/core/clock.h"
#include "secprof/crypto/keys.h"
#include "secprof/crypto/random.h"
#include "secprof/crypto/signer.h"
#include "secprof/domain/keys.h"
#include "secprof/domain/protocol.h"
#include "secprof/domain/setup_code.h"

namespace secprof::domain {
namespace {

Bytes B(size_t n, uint8_t v) { return Bytes(n, v); }
Bytes Of(const crypto::SecureBuffer& s) { return Bytes(s.data(), s.data() + s.size()); }
ByteView V(const crypto::SecureBuffer& s) { return ByteView(s.data(), s.size()); }

// ------------------------------------------------------------------------------ keys at rest

TEST(DomainKeysWrap, RoundTripWithFreshNonces) {
  auto rng = crypto::FakeRandom::FromSeed(1);
  const Bytes kek = B(32, 0x11), key = B(32, 0x22);
  auto w1 = WrapKey(kek, "thing ACME-1", key, rng);
  auto w2 = WrapKey(kek, "thing ACME-1", key, rng);
  ASSERT_TRUE(w1 && w2);
  EXPECT_EQ(w1->size(), 12 + key.size() + 16) << "nonce || ciphertext || tag";
  EXPECT_NE(*w1, *w2) << "each wrap draws its own nonce";
  for (const Bytes* w : {&*w1, &*w2}) {
    auto k = UnwrapKey(kek, "thing ACME-1", *w);
    ASSERT_TRUE(k) << k.error().ToString();
    EXPECT_EQ(Of(*k), key);
  }
}

TEST(DomainKeysWrap, RefusesAnotherKekContextOrATamperedByte) {
  auto rng = crypto::FakeRandom::FromSeed(2);
  const Bytes kek = B(32, 0x11);
  auto w = WrapKey(kek, "thing ACME-1", B(32, 0x22), rng);
  ASSERT_TRUE(w);

  auto other_kek = UnwrapKey(B(32, 0x12), "thing ACME-1", *w);
  ASSERT_FALSE(other_kek);
  EXPECT_EQ(other_kek.error().code(), ErrorCode::kVerifyFailed);

  // The context is authenticated: a wrapped key moved to another record does not open.
  auto other_ctx = UnwrapKey(kek, "thing ACME-2", *w);
  ASSERT_FALSE(other_ctx);
  EXPECT_EQ(other_ctx.error().code(), ErrorCode::kVerifyFailed);

  for (size_t i : {size_t{0}, size_t{12}, w->size() - 1}) {  // nonce, ciphertext, tag
    Bytes t = *w;
    t[i] ^= 0x01;
    auto r = UnwrapKey(kek, "thing ACME-1", t);
    ASSERT_FALSE(r) << "byte " << i;
    EXPECT_EQ(r.error().code(), ErrorCode::kVerifyFailed);
  }

  auto short_input = UnwrapKey(kek, "thing ACME-1", ByteView(w->data(), 27));
  ASSERT_FALSE(short_input);
  EXPECT_EQ(short_input.error().code(), ErrorCode::kInvalidInput);
}

TEST(DomainKeysDerive, DeterministicAndSeparatedByPurpose) {
  const Bytes master = B(32, 0x33);
  auto a = DeriveKey(master, "ticket", 32);
  auto b = DeriveKey(master, "ticket", 32);
  auto c = DeriveKey(master, "link", 32);
  auto d = DeriveKey(B(32, 0x34), "ticket", 32);
  ASSERT_TRUE(a && b && c && d);
  EXPECT_EQ(Of(*a), Of(*b));
  EXPECT_NE(Of(*a), Of(*c)) << "one key per purpose (key separation)";
  EXPECT_NE(Of(*a), Of(*d));
  EXPECT_NE(Of(*a), master);

  auto weak = DeriveKey(B(15, 0x33), "ticket", 32);
  ASSERT_FALSE(weak);
  EXPECT_EQ(weak.error().code(), ErrorCode::kInvalidInput);
}

// ------------------------------------------------------------------------- SecProf_2 join

TEST(DomainSetupCode, NormalFormStrengthAndKeyBinding) {
  EXPECT_EQ(NormalizeSetupCode("abcd-efgh ijkl"), "ABCDEFGHIJKL");
  EXPECT_DOUBLE_EQ(SetupCodeBits("0123456789"), 10 * std::log2(10.0));
  EXPECT_DOUBLE_EQ(SetupCodeBits("ABCDEF01"), 8 * 4.0);        // hexadecimal before base32
  EXPECT_TRUE(CheckSetupCodeStrength("ABCD-EFGH-JKMN-PQRS"));  // 16 x base32 = 80 bits
  auto weak = CheckSetupCodeStrength("1234-5678");
  ASSERT_FALSE(weak);
  EXPECT_EQ(weak.error().code(), ErrorCode::kInvalidInput);

  auto k1 = SetupCodeKey("abcd-efgh-jkmn-pqrs", "ACME-1");
  auto k1b = SetupCodeKey("ABCDEFGHJKMNPQRS", "ACME-1");
  auto k2 = SetupCodeKey("ABCDEFGHJKMNPQRS", "ACME-2");
  ASSERT_TRUE(k1 && k1b && k2);
  EXPECT_EQ(k1->size(), kSetupCodeKeySize);
  EXPECT_EQ(Of(*k1), Of(*k1b)) << "codes are case-insensitive and separators do not count";
  EXPECT_NE(Of(*k1), Of(*k2)) << "the same code on two things gives two keys";
  EXPECT_FALSE(SetupCodeKey("", "ACME-1"));
  EXPECT_FALSE(SetupCodeKey("ABCDEFGHJKMNPQRS", ""));
}

TEST(DomainKeysJoin, ProofAndSealedPskOpenOnlyWithTheCode) {
  const std::string code = "ABCD-EFGH-JKMN-PQRS", serial = "ACME-1";
  const Bytes nonce = B(kNonceSize, 0x44);
  auto proof = JoinProof(code, serial, nonce);
  ASSERT_TRUE(proof);
  EXPECT_TRUE(VerifyJoinProof(code, serial, nonce, *proof));
  auto key = SetupCodeKey(code, serial);
  ASSERT_TRUE(key);
  EXPECT_TRUE(VerifyJoinProofWithKey(V(*key), serial, nonce, *proof)) << "the KDC keeps only K";
  auto with_key = JoinProofWithKey(V(*key), serial, nonce);
  ASSERT_TRUE(with_key);
  EXPECT_EQ(*with_key, *proof);

  auto expect_refused = [](const Status& st, const char* what) {
    ASSERT_FALSE(st) << what;
    EXPECT_EQ(st.error().code(), ErrorCode::kVerifyFailed) << what;
  };
  expect_refused(VerifyJoinProof("ABCD-EFGH-JKMN-PQRT", serial, nonce, *proof), "another code");
  expect_refused(VerifyJoinProof(code, "ACME-2", nonce, *proof), "another serial");
  expect_refused(VerifyJoinProof(code, serial, B(kNonceSize, 0x45), *proof), "another nonce");

  auto rng = crypto::FakeRandom::FromSeed(3);
  const Bytes psk = B(32, 0x55);
  auto sealed = SealJoinPsk(V(*key), serial, "Home of Ada", nonce, psk, rng);
  ASSERT_TRUE(sealed);
  auto opened = OpenJoinPsk(code, serial, "Home of Ada", nonce, *sealed);
  ASSERT_TRUE(opened) << opened.error().ToString();
  EXPECT_EQ(Of(*opened), psk);
  auto wrong = OpenJoinPsk("ABCD-EFGH-JKMN-PQRT", serial, "Home of Ada", nonce, *sealed);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), ErrorCode::kVerifyFailed);
  // An on-path attacker who rewrites the owner the answer names: the seal does not open, so the
  // thing never records an owner the KDC did not name.
  auto renamed = OpenJoinPsk(code, serial, "Mallory", nonce, *sealed);
  ASSERT_FALSE(renamed) << "the owner is bound into the seal";
  EXPECT_EQ(renamed.error().code(), ErrorCode::kVerifyFailed);
  auto extended = OpenJoinPsk(code, serial, "Home of Ada ", nonce, *sealed);
  ASSERT_FALSE(extended) << "the owner is bound byte for byte";
  auto replayed = OpenJoinPsk(code, serial, "Home of Ada", B(kNonceSize, 0x46), *sealed);
  ASSERT_FALSE(replayed) << "a sealed PSK belongs to one nonce";
  EXPECT_EQ(replayed.error().code(), ErrorCode::kVerifyFailed);
}

// --------------------------------------------------------------------------------- tickets

TEST(DomainKeysTicket, OpensForItsRecipientUntilItExpires) {
  auto rng = crypto::FakeRandom::FromSeed(4);
  const Bytes b_master = B(32, 0x66);
  FakeClock clock(std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000)));
  TicketContents t;
  t.requester = "ACME-A";
  t.recipient = "ACME-B";
  t.kid = B(16, 0x77);
  t.key = crypto::SecureBuffer(B(32, 0x88));
  t.expires = 1'700'000'600;
  auto sealed = SealTicket(b_master, t, rng);
  ASSERT_TRUE(sealed) << sealed.error().ToString();

  auto opened = OpenTicket(b_master, "ACME-B", *sealed, clock);
  ASSERT_TRUE(opened) << opened.error().ToString();
  EXPECT_EQ(opened->requester, "ACME-A");
  EXPECT_EQ(opened->recipient, "ACME-B");
  EXPECT_EQ(opened->kid, t.kid);
  EXPECT_EQ(Of(opened->key), B(32, 0x88));
  EXPECT_EQ(opened->expires, t.expires);

  auto other_recipient = OpenTicket(b_master, "ACME-C", *sealed, clock);
  ASSERT_FALSE(other_recipient) << "the recipient is bound in the external AAD";
  EXPECT_EQ(other_recipient.error().code(), ErrorCode::kVerifyFailed);
  auto other_key = OpenTicket(B(32, 0x67), "ACME-B", *sealed, clock);
  ASSERT_FALSE(other_key);
  EXPECT_EQ(other_key.error().code(), ErrorCode::kVerifyFailed);

  clock.Advance(std::chrono::seconds(600));
  auto expired = OpenTicket(b_master, "ACME-B", *sealed, clock);
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code(), ErrorCode::kVerifyFailed);
}

// ----------------------------------------------------------------------------- group messages

TEST(DomainKeysGroup, CurrentEpochOnly) {
  auto rng = crypto::FakeRandom::FromSeed(5);
  const Bytes gk = B(32, 0x99);
  auto m = SealGroupMessage(gk, "floor-1", 4, "ACME-A", B(5, 0x01), nullptr, rng);
  ASSERT_TRUE(m) << m.error().ToString();
  auto open = OpenGroupMessage(gk, "floor-1", 4, *m, false, {});
  ASSERT_TRUE(open) << open.error().ToString();
  EXPECT_EQ(open->group, "floor-1");
  EXPECT_EQ(open->epoch, 4);
  EXPECT_EQ(open->data, B(5, 0x01));
  EXPECT_FALSE(open->origin_authenticated);

  auto stale = OpenGroupMessage(gk, "floor-1", 5, *m, false, {});
  ASSERT_FALSE(stale) << "a member removed before the rekey holds only older keys";
  EXPECT_EQ(stale.error().code(), ErrorCode::kVerifyFailed);
  auto other_group = OpenGroupMessage(gk, "floor-2", 4, *m, false, {});
  ASSERT_FALSE(other_group);
  EXPECT_EQ(other_group.error().code(), ErrorCode::kVerifyFailed);
  auto other_key = OpenGroupMessage(B(32, 0x98), "floor-1", 4, *m, false, {});
  ASSERT_FALSE(other_key);
  EXPECT_EQ(other_key.error().code(), ErrorCode::kVerifyFailed);
  auto unsigned_when_required = OpenGroupMessage(gk, "floor-1", 4, *m, true, {});
  ASSERT_FALSE(unsigned_when_required);
  EXPECT_EQ(unsigned_when_required.error().code(), ErrorCode::kVerifyFailed);
}

TEST(DomainKeysGroup, OriginAuthenticationNamesAMember) {
  auto rng = crypto::FakeRandom::FromSeed(6);
  auto sk = crypto::PrivateKey::Generate(crypto::KeyType::kP256);
  ASSERT_TRUE(sk);
  const crypto::PublicKey pub = sk->public_key();
  auto signer =
      crypto::SoftwareSigner::Create(std::move(*sk), crypto::SignatureAlgorithm::kEcdsaP256Sha256);
  ASSERT_TRUE(signer) << signer.error().ToString();
  const Bytes gk = B(32, 0x9a);
  auto m = SealGroupMessage(gk, "floor-1", 1, "ACME-A", B(3, 0x02), &*signer, rng);
  ASSERT_TRUE(m) << m.error().ToString();

  auto members = [&](std::string_view serial) -> std::optional<crypto::PublicKey> {
    if (serial == "ACME-A") return pub;
    return std::nullopt;
  };
  auto open = OpenGroupMessage(gk, "floor-1", 1, *m, true, members);
  ASSERT_TRUE(open) << open.error().ToString();
  EXPECT_TRUE(open->origin_authenticated);
  EXPECT_EQ(open->sender, "ACME-A");
  EXPECT_EQ(open->data, B(3, 0x02));

  auto nobody = [](std::string_view) -> std::optional<crypto::PublicKey> { return std::nullopt; };
  auto removed = OpenGroupMessage(gk, "floor-1", 1, *m, true, nobody);
  ASSERT_FALSE(removed) << "a sender that is not a member";
  EXPECT_EQ(removed.error().code(), ErrorCode::kVerifyFailed);
}

// -------------------------------------------------------------------------- link frames

TEST(DomainKeysLink, MacAndFreshness) {
  const Bytes dk = B(32, 0xaa);
  auto f = SealLinkFrame(dk, LinkFrame{"ACME-A", 7, B(4, 0x03)});
  ASSERT_TRUE(f) << f.error().ToString();
  auto last = [](uint64_t n) { return [n](std::string_view) { return n; }; };

  auto open = OpenLinkFrame(dk, *f, last(6));
  ASSERT_TRUE(open) << open.error().ToString();
  EXPECT_EQ(open->sender, "ACME-A");
  EXPECT_EQ(open->counter, 7u);
  EXPECT_EQ(open->data, B(4, 0x03));

  for (uint64_t seen : {uint64_t{7}, uint64_t{8}}) {
    auto replay = OpenLinkFrame(dk, *f, last(seen));
    ASSERT_FALSE(replay) << "counter 7 after " << seen;
    EXPECT_EQ(replay.error().code(), ErrorCode::kVerifyFailed);
  }
  auto other_key = OpenLinkFrame(B(32, 0xab), *f, last(0));
  ASSERT_FALSE(other_key);
  EXPECT_EQ(other_key.error().code(), ErrorCode::kVerifyFailed);
  Bytes tampered = *f;
  tampered[tampered.size() / 2] ^= 0x01;
  EXPECT_FALSE(OpenLinkFrame(dk, tampered, last(0)));
}

}  // namespace
}  // namespace secprof::domain

// Unit tests for secprof::crypto: known answers printed in RFCs (cited at each use), round trips,
// tampering and the test seams (wiping, fake randomness): SecureBuffer, Random, SHA-256, HMAC,
// HKDF, AEAD. Signatures, keys and key agreement are in crypto_sign_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <type_traits>
#include <vector>

#include "crypto_fixture.h"
#include "hex.h"
#include "secprof/crypto/crypto.h"

namespace secprof::crypto {
namespace {
using namespace crypto_fixture;

// ---------------------------------------------------------------- SecureBuffer

struct WipeLog {
  static inline int calls = 0;
  static inline size_t last_size = 0;
  static inline bool last_all_zero = false;
  static void Observe(const uint8_t* data, size_t size) {
    ++calls;
    last_size = size;
    last_all_zero = std::all_of(data, data + size, [](uint8_t b) { return b == 0; });
  }
  static void Reset() {
    calls = 0;
    last_size = 0;
    last_all_zero = false;
  }
};

class CryptoSecureBuffer : public ::testing::Test {
 protected:
  void SetUp() override {
    WipeLog::Reset();
    SetWipeObserverForTesting(&WipeLog::Observe);
  }
  void TearDown() override { SetWipeObserverForTesting(nullptr); }
};

static_assert(!std::is_copy_constructible_v<SecureBuffer>, "no accidental copies");
static_assert(!std::is_copy_assignable_v<SecureBuffer>, "no accidental copies");
static_assert(std::is_nothrow_move_constructible_v<SecureBuffer>);

TEST_F(CryptoSecureBuffer, WipesOnDestruction) {
  {
    SecureBuffer key(Bytes(48, 0xAA));
    EXPECT_EQ(key.size(), 48u);
    EXPECT_EQ(key[0], 0xAA);
  }
  // The observer runs on the block after OPENSSL_cleanse and before it is freed.
  EXPECT_EQ(WipeLog::calls, 1);
  EXPECT_EQ(WipeLog::last_size, 48u);
  EXPECT_TRUE(WipeLog::last_all_zero);
}

TEST_F(CryptoSecureBuffer, MoveTransfersWithoutCopyAndAssignmentWipesOld) {
  SecureBuffer a(Bytes(16, 0x11));
  const uint8_t* block = a.data();
  SecureBuffer b(std::move(a));
  EXPECT_EQ(b.data(), block);  // the same block: no copy of the secret was made
  EXPECT_TRUE(a.empty());      // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_EQ(WipeLog::calls, 0);

  SecureBuffer c(Bytes(8, 0x22));
  c = std::move(b);  // c's old 8-byte block is wiped
  EXPECT_EQ(WipeLog::calls, 1);
  EXPECT_EQ(WipeLog::last_size, 8u);
  EXPECT_TRUE(WipeLog::last_all_zero);
  EXPECT_EQ(c.size(), 16u);
  EXPECT_EQ(c[15], 0x11);
}

TEST_F(CryptoSecureBuffer, ResizeClearAndClone) {
  SecureBuffer a(Bytes{1, 2, 3, 4});
  a.resize(6);
  EXPECT_EQ(WipeLog::calls, 1);  // old block wiped
  EXPECT_TRUE(WipeLog::last_all_zero);
  EXPECT_EQ(Hex(a), "010203040000");
  SecureBuffer b = a.Clone();
  b[0] = 9;
  EXPECT_EQ(a[0], 1);
  a.clear();
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(WipeLog::calls, 2);
  EXPECT_EQ(WipeLog::last_size, 6u);
}

TEST(CryptoCleanse, ZeroesBytesAndStringsInPlace) {
  Bytes b{1, 2, 3, 0xff};
  Cleanse(b);
  EXPECT_EQ(b, Bytes(4, 0));
  std::string s = "a secret";
  Cleanse(s);
  EXPECT_EQ(s, std::string(8, '\0'));
  Bytes empty;
  Cleanse(empty);  // no-op, no crash
  EXPECT_TRUE(empty.empty());
}

TEST(CryptoConstantTime, Equal) {
  EXPECT_TRUE(ConstantTimeEqual(Bytes{1, 2, 3}, Bytes{1, 2, 3}));
  EXPECT_FALSE(ConstantTimeEqual(Bytes{1, 2, 3}, Bytes{1, 2, 4}));
  EXPECT_FALSE(ConstantTimeEqual(Bytes{1, 2, 3}, Bytes{1, 2}));
  EXPECT_TRUE(ConstantTimeEqual(Bytes{}, Bytes{}));
}

// ---------------------------------------------------------------- Random

TEST(CryptoRandom, FakeFromSeedIsDeterministicAndChunkingDoesNotMatter) {
  FakeRandom a = FakeRandom::FromSeed(7);
  FakeRandom b = FakeRandom::FromSeed(7);
  FakeRandom c = FakeRandom::FromSeed(8);
  auto x = a.Draw(100);
  ASSERT_TRUE(x);
  // Same stream drawn in uneven pieces.
  Bytes y;
  for (size_t n : {1u, 31u, 32u, 36u}) {
    auto part = b.Draw(n);
    ASSERT_TRUE(part);
    y.insert(y.end(), part->begin(), part->end());
  }
  EXPECT_EQ(*x, y);
  EXPECT_EQ(a.consumed(), 100u);
  auto z = c.Draw(100);
  ASSERT_TRUE(z);
  EXPECT_NE(*x, *z);
}

TEST(CryptoRandom, FakeFromStreamReplaysThenFails) {
  FakeRandom r = FakeRandom::FromStream(Bytes{1, 2, 3, 4, 5});
  auto a = r.Draw(3);
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, (Bytes{1, 2, 3}));
  auto b = r.Draw(3);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code(), ErrorCode::kLimit);
  auto c = r.Draw(2);  // the failed draw consumed nothing
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, (Bytes{4, 5}));
}

TEST(CryptoRandom, FailingAndSystem) {
  FakeRandom f = FakeRandom::Failing();
  EXPECT_FALSE(f.Draw(1));
  auto s1 = SystemRandomSource().Draw(32);
  auto s2 = SystemRandomSource().Draw(32);
  ASSERT_TRUE(s1 && s2);
  EXPECT_NE(*s1, *s2);
}

TEST(CryptoRandom, DeterministicKeyGeneration) {
  for (KeyType t : {KeyType::kP256, KeyType::kEd25519, KeyType::kX25519, KeyType::kEd448}) {
    FakeRandom r1 = FakeRandom::FromSeed(1);
    FakeRandom r2 = FakeRandom::FromSeed(1);
    auto k1 = PrivateKey::Generate(t, r1);
    auto k2 = PrivateKey::Generate(t, r2);
    ASSERT_TRUE(k1 && k2) << KeyTypeName(t);
    EXPECT_TRUE(k1->public_key() == k2->public_key());
  }
  FakeRandom failing = FakeRandom::Failing();
  EXPECT_FALSE(PrivateKey::Generate(KeyType::kP256, failing));
}

// ---------------------------------------------------------------- SHA-256, HMAC, HKDF

TEST(CryptoHash, Sha256KnownAnswer) {
  // FIPS 180-2 Appendix B.1 ("abc").
  auto d = Sha256(Str("abc"));
  ASSERT_TRUE(d);
  EXPECT_EQ(Hex(*d), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto e = Sha256({});
  ASSERT_TRUE(e);
  EXPECT_EQ(Hex(*e), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(CryptoHash, IncrementalEqualsOneShot) {
  Bytes big(1 << 20);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 131 + 7);
  auto one = Sha256(big);
  ASSERT_TRUE(one);
  auto h = Sha256Hasher::Create();
  ASSERT_TRUE(h);
  size_t off = 0;
  for (size_t step = 1; off < big.size(); step = step * 3 + 1) {
    const size_t n = std::min(step, big.size() - off);
    ASSERT_TRUE(h->Update(ByteView(big).subspan(off, n)));
    off += n;
  }
  auto inc = h->Finish();
  ASSERT_TRUE(inc);
  EXPECT_EQ(*inc, *one);
  EXPECT_FALSE(h->Finish());  // spent
  EXPECT_FALSE(h->Update(big));
}

TEST(CryptoHmac, Rfc4231TestCase2AndTruncatedVerify) {
  // RFC 4231 §4.3, Test Case 2: Key = "Jefe", Data = "what do ya want for nothing?".
  const Bytes key = Str("Jefe");
  const Bytes data = Str("what do ya want for nothing?");
  auto tag = HmacSha256(key, data);
  ASSERT_TRUE(tag);
  EXPECT_EQ(Hex(*tag), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_TRUE(HmacSha256Verify(key, data, *tag));
  // COSE HMAC 256/64: the first 8 bytes (RFC 9053 §3.1).
  const ByteView t8 = ByteView(*tag).first(8);
  EXPECT_TRUE(HmacSha256Verify(key, data, t8, 8));
  EXPECT_EQ(HmacSha256Verify(key, data, t8).error().code(), ErrorCode::kVerifyFailed);
  EXPECT_EQ(HmacSha256Verify(key, data, t8, 4).error().code(), ErrorCode::kInvalidInput);
  Sha256Digest bad = *tag;
  bad[31] ^= 1;
  EXPECT_EQ(HmacSha256Verify(key, data, bad).error().code(), ErrorCode::kVerifyFailed);
  EXPECT_FALSE(HmacSha256Verify(Str("Jeff"), data, *tag));
}

TEST(CryptoHkdf, Rfc5869TestCase1) {
  // RFC 5869 Appendix A.1, Test Case 1 (basic test case with SHA-256).
  const Bytes ikm = Unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
  const Bytes salt = Unhex("000102030405060708090a0b0c");
  const Bytes info = Unhex("f0f1f2f3f4f5f6f7f8f9");
  const std::string prk_hex = "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5";
  const std::string okm_hex =
      "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865";
  auto prk = HkdfSha256Extract(salt, ikm);
  ASSERT_TRUE(prk);
  EXPECT_EQ(Hex(*prk), prk_hex);
  auto okm = HkdfSha256Expand(*prk, info, 42);
  ASSERT_TRUE(okm);
  EXPECT_EQ(Hex(*okm), okm_hex);
  auto both = HkdfSha256(ikm, salt, info, 42);
  ASSERT_TRUE(both);
  EXPECT_EQ(Hex(*both), okm_hex);
}

TEST(CryptoHkdf, LengthLimits) {
  const Bytes ikm(32, 1);
  EXPECT_EQ(HkdfSha256(ikm, {}, {}, 0).error().code(), ErrorCode::kInvalidInput);
  EXPECT_TRUE(HkdfSha256(ikm, {}, {}, kHkdfSha256MaxOutput));
  EXPECT_EQ(HkdfSha256(ikm, {}, {}, kHkdfSha256MaxOutput + 1).error().code(),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(HkdfSha256Expand(Bytes(31, 1), {}, 16).error().code(), ErrorCode::kInvalidInput);
  // Empty IKM and empty salt are legal (RFC 5869 §2.2: salt defaults to HashLen zeros).
  auto a = HkdfSha256({}, {}, {}, 16);
  auto b = HkdfSha256({}, Bytes(32, 0), {}, 16);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(Hex(*a), Hex(*b));
}

// ---------------------------------------------------------------- AEAD

TEST(CryptoAead, CoseAlgorithmTable) {
  struct Row {
    int64_t alg;
    Aead::Mode mode;
    size_t key, nonce, tag;
  };
  // RFC 9053 Tables 5 and 6.
  const Row rows[] = {
      {1, Aead::Mode::kAesGcm, 16, 12, 16},  {2, Aead::Mode::kAesGcm, 24, 12, 16},
      {3, Aead::Mode::kAesGcm, 32, 12, 16},  {10, Aead::Mode::kAesCcm, 16, 13, 8},
      {11, Aead::Mode::kAesCcm, 32, 13, 8},  {12, Aead::Mode::kAesCcm, 16, 7, 8},
      {13, Aead::Mode::kAesCcm, 32, 7, 8},   {30, Aead::Mode::kAesCcm, 16, 13, 16},
      {31, Aead::Mode::kAesCcm, 32, 13, 16}, {32, Aead::Mode::kAesCcm, 16, 7, 16},
      {33, Aead::Mode::kAesCcm, 32, 7, 16},
  };
  for (const Row& r : rows) {
    auto a = Aead::FromCoseAlgorithm(r.alg);
    ASSERT_TRUE(a) << r.alg;
    EXPECT_EQ(a->mode(), r.mode);
    EXPECT_EQ(a->key_size(), r.key);
    EXPECT_EQ(a->nonce_size(), r.nonce);
    EXPECT_EQ(a->tag_size(), r.tag);
  }
  EXPECT_EQ(Aead::FromCoseAlgorithm(24).error().code(), ErrorCode::kUnsupported);
}

TEST(CryptoAead, ParameterChecks) {
  EXPECT_FALSE(Aead::AesCcm(16, 6, 8));
  EXPECT_FALSE(Aead::AesCcm(16, 14, 8));
  EXPECT_FALSE(Aead::AesCcm(16, 13, 2));
  EXPECT_FALSE(Aead::AesCcm(16, 13, 7));
  EXPECT_FALSE(Aead::AesCcm(20, 13, 8));
  EXPECT_TRUE(Aead::AesCcm(16, 12, 8));  // DTLS AES_128_CCM_8 (RFC 6655 §3)
  EXPECT_TRUE(Aead::AesCcm(16, 13, 4));
  EXPECT_FALSE(Aead::AesGcm(16, 16));
  auto ccm = Aead::AesCcm(16, 13, 8);
  ASSERT_TRUE(ccm);
  EXPECT_EQ(ccm->max_plaintext_size(), 65535u);  // L = 2 bytes
  const Bytes key(16, 1), nonce(13, 2);
  EXPECT_EQ(ccm->Seal(Bytes(15, 1), nonce, {}, {}).error().code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(ccm->Seal(key, Bytes(12, 1), {}, {}).error().code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(ccm->Seal(key, nonce, {}, Bytes(65536, 0)).error().code(), ErrorCode::kLimit);
  EXPECT_TRUE(ccm->Seal(key, nonce, {}, Bytes(65535, 0)));
}

TEST(CryptoAead, RoundTripAndTamperingForEveryCoseAlgorithm) {
  for (int64_t alg : {1, 2, 3, 10, 11, 12, 13, 30, 31, 32, 33}) {
    SCOPED_TRACE("COSE alg " + std::to_string(alg));
    auto aead = Aead::FromCoseAlgorithm(alg);
    ASSERT_TRUE(aead);
    FakeRandom rng = FakeRandom::FromSeed(static_cast<uint64_t>(alg));
    auto key = rng.DrawSecret(aead->key_size());
    auto nonce = rng.Draw(aead->nonce_size());
    ASSERT_TRUE(key && nonce);
    const Bytes aad = Str("external aad");
    for (size_t len : {0u, 1u, 16u, 64u, 1000u}) {
      Bytes pt(len);
      for (size_t i = 0; i < len; ++i) pt[i] = static_cast<uint8_t>(i);
      auto ct = aead->Seal(*key, *nonce, aad, pt);
      ASSERT_TRUE(ct);
      ASSERT_EQ(ct->size(), len + aead->tag_size());
      auto back = aead->Open(*key, *nonce, aad, *ct);
      ASSERT_TRUE(back);
      EXPECT_EQ(*back, pt);
      auto secret = aead->OpenSecret(*key, *nonce, aad, *ct);
      ASSERT_TRUE(secret);
      EXPECT_EQ(Bytes(secret->begin(), secret->end()), pt);

      auto expect_reject = [&](ByteView k, ByteView n, ByteView a, ByteView c, const char* what) {
        auto r = aead->Open(k, n, a, c);
        ASSERT_FALSE(r) << what;
        EXPECT_EQ(r.error().code(), ErrorCode::kVerifyFailed) << what;
        auto s = aead->OpenSecret(k, n, a, c);
        ASSERT_FALSE(s) << what;
        EXPECT_EQ(s.error().code(), ErrorCode::kVerifyFailed) << what;
      };
      if (len > 0) {
        Bytes t = *ct;
        t[0] ^= 0x80;
        expect_reject(*key, *nonce, aad, t, "tampered ciphertext");
      }
      Bytes t = *ct;
      t.back() ^= 0x01;
      expect_reject(*key, *nonce, aad, t, "tampered tag");
      expect_reject(*key, *nonce, Str("external aaD"), *ct, "tampered aad");
      expect_reject(*key, *nonce, {}, *ct, "missing aad");
      Bytes n2 = *nonce;
      n2[0] ^= 1;
      expect_reject(*key, n2, aad, *ct, "other nonce");
      SecureBuffer k2 = key->Clone();
      k2[0] ^= 1;
      expect_reject(k2, *nonce, aad, *ct, "wrong key");
      expect_reject(*key, *nonce, aad, ByteView(*ct).first(aead->tag_size() - 1), "too short");
    }
  }
}

TEST(CryptoAead, KeyedContextMatchesStatelessAndSurvivesFailures) {
  for (int64_t alg : {1, 3, 10, 13, 30, 33}) {
    SCOPED_TRACE("COSE alg " + std::to_string(alg));
    auto aead = Aead::FromCoseAlgorithm(alg);
    ASSERT_TRUE(aead);
    FakeRandom rng = FakeRandom::FromSeed(100 + static_cast<uint64_t>(alg));
    auto key = rng.DrawSecret(aead->key_size());
    ASSERT_TRUE(key);
    auto keyed = AeadKey::Create(*aead, *key);
    ASSERT_TRUE(keyed);
    EXPECT_FALSE(AeadKey::Create(*aead, Bytes(5, 0)));
    for (int i = 0; i < 4; ++i) {
      auto nonce = rng.Draw(aead->nonce_size());
      ASSERT_TRUE(nonce);
      const Bytes aad = Str("aad"), pt(static_cast<size_t>(i * 20), static_cast<uint8_t>(i));
      auto a = keyed->Seal(*nonce, aad, pt);
      auto b = aead->Seal(*key, *nonce, aad, pt);
      ASSERT_TRUE(a && b);
      EXPECT_EQ(*a, *b);
      // A failed open must not disturb the next operations on the same context.
      Bytes bad = *a;
      bad.back() ^= 1;
      EXPECT_EQ(keyed->Open(*nonce, aad, bad).error().code(), ErrorCode::kVerifyFailed);
      auto back = keyed->Open(*nonce, aad, *a);
      ASSERT_TRUE(back);
      EXPECT_EQ(*back, pt);
    }
    EXPECT_EQ(keyed->Seal(Bytes(3, 0), {}, {}).error().code(), ErrorCode::kInvalidInput);
    // The allocation-free variants agree with the others and check the buffer size.
    const Bytes nonce(aead->nonce_size(), 7), pt = Str("sixteen bytes!!!");
    Bytes buf(pt.size() + aead->tag_size());
    auto n = keyed->SealInto(nonce, {}, pt, buf);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, buf.size());
    EXPECT_EQ(buf, *keyed->Seal(nonce, {}, pt));
    Bytes small(buf.size() - 1);
    EXPECT_EQ(keyed->SealInto(nonce, {}, pt, small).error().code(), ErrorCode::kInvalidInput);
    Bytes plain(pt.size());
    auto m = keyed->OpenInto(nonce, {}, buf, plain);
    ASSERT_TRUE(m);
    EXPECT_EQ(*m, pt.size());
    EXPECT_EQ(plain, pt);
    buf[0] ^= 1;
    EXPECT_EQ(keyed->OpenInto(nonce, {}, buf, plain).error().code(), ErrorCode::kVerifyFailed);
    EXPECT_EQ(plain, Bytes(pt.size(), 0));  // no unauthenticated plaintext left behind
  }
}

}  // namespace
}  // namespace secprof::crypto

// Tests for cose::CreateSign1WithSigner: a COSE_Sign1 made through a crypto::Signer (the key
// behind it may be a token's) verifies with VerifySign1 and the signer's public key; a DER ECDSA
// signer is converted to r || s (RFC 9053 §2.1); an alg the signer cannot produce is refused.
#include <gtest/gtest.h>

#include "secprof/cbor/cbor.h"
#include "secprof/cose/cose.h"
#include "secprof/crypto/random.h"
#include "secprof/crypto/signer.h"

namespace secprof::cose {
namespace {

using cbor::Value;

Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }

crypto::SoftwareSigner MakeSigner(crypto::KeyType type, crypto::SignatureAlgorithm alg,
                                  uint64_t seed) {
  auto rng = crypto::FakeRandom::FromSeed(seed);
  auto sk = crypto::PrivateKey::Generate(type, rng);
  EXPECT_TRUE(sk);
  auto s = crypto::SoftwareSigner::Create(std::move(*sk), alg);
  EXPECT_TRUE(s) << s.error().ToString();
  return std::move(*s);
}

// A signer that returns whatever it is told to, to check the length guard.
class BrokenSigner final : public crypto::Signer {
 public:
  explicit BrokenSigner(crypto::SoftwareSigner inner) : inner_(std::move(inner)) {}
  crypto::SignatureAlgorithm algorithm() const override { return inner_.algorithm(); }
  const crypto::PublicKey& public_key() const override { return inner_.public_key(); }
  Result<Bytes> Sign(ByteView) override { return Bytes(63, 0x01); }

 private:
  crypto::SoftwareSigner inner_;
};

const Bytes kPayload = B("voucher payload");
const Bytes kAad = B("aad");

TEST(CoseSign1WithSigner, VerifiesWithThePublicKeyForEveryAlgorithm) {
  struct Case {
    crypto::KeyType type;
    crypto::SignatureAlgorithm sa;
    int64_t alg;
  };
  for (const Case& c :
       {Case{crypto::KeyType::kP256, crypto::SignatureAlgorithm::kEcdsaP256Sha256, kAlgEs256},
        Case{crypto::KeyType::kP256, crypto::SignatureAlgorithm::kEcdsaP256Sha256Der, kAlgEs256},
        Case{crypto::KeyType::kEd25519, crypto::SignatureAlgorithm::kEd25519, kAlgEdDsa},
        Case{crypto::KeyType::kEd448, crypto::SignatureAlgorithm::kEd448, kAlgEdDsa}}) {
    SCOPED_TRACE(crypto::SignatureAlgorithmName(c.sa));
    auto signer = MakeSigner(c.type, c.sa, 11);
    Sign1Params p;
    p.alg = c.alg;
    p.protected_extra.Set(label::kContentType, Value::Unsigned(60));
    p.unprotected.Set(label::kKid, Value::ByteString(B("kid")));
    p.external_aad = kAad;
    auto m = CreateSign1WithSigner(signer, kPayload, p);
    ASSERT_TRUE(m) << m.error().ToString();
    EXPECT_EQ(*m->protected_header.map.Find(label::kAlg), Value::Int(c.alg));
    EXPECT_EQ(*m->protected_header.map.Find(label::kContentType), Value::Unsigned(60));
    ASSERT_TRUE(m->payload);
    EXPECT_EQ(*m->payload, kPayload);
    if (c.type == crypto::KeyType::kP256) {
      EXPECT_EQ(m->signature.size(), 64u);
    }

    auto pub = KeyFromPublic(signer.public_key());
    ASSERT_TRUE(pub);
    auto back = DecodeSign1(Encode(*m));
    ASSERT_TRUE(back) << back.error().ToString();
    auto ok = VerifySign1(*back, *pub, kAad);
    EXPECT_TRUE(ok) << ok.error().ToString();
    // Another AAD, another payload byte, another key: all fail.
    EXPECT_EQ(VerifySign1(*back, *pub, {}).error().code(), ErrorCode::kVerifyFailed);
    Sign1 flipped = *back;
    flipped.payload->at(0) ^= 1;
    EXPECT_EQ(VerifySign1(flipped, *pub, kAad).error().code(), ErrorCode::kVerifyFailed);
    auto other = MakeSigner(c.type, c.sa, 12);
    auto other_pub = KeyFromPublic(other.public_key());
    ASSERT_TRUE(other_pub);
    EXPECT_EQ(VerifySign1(*back, *other_pub, kAad).error().code(), ErrorCode::kVerifyFailed);

    p.detached = true;
    auto d = CreateSign1WithSigner(signer, kPayload, p);
    ASSERT_TRUE(d);
    EXPECT_FALSE(d->payload);
    EXPECT_TRUE(VerifySign1(*d, *pub, kAad, ByteView(kPayload)));
  }
}

TEST(CoseSign1WithSigner, MismatchingAlgorithmIsRefused) {
  auto p256 = MakeSigner(crypto::KeyType::kP256, crypto::SignatureAlgorithm::kEcdsaP256Sha256, 1);
  auto ed = MakeSigner(crypto::KeyType::kEd25519, crypto::SignatureAlgorithm::kEd25519, 2);
  Sign1Params p;
  p.alg = kAlgEdDsa;
  auto r = CreateSign1WithSigner(p256, kPayload, p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidInput);
  EXPECT_NE(r.error().message().find("cannot carry"), std::string::npos) << r.error().ToString();
  p.alg = kAlgEs256;
  r = CreateSign1WithSigner(ed, kPayload, p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidInput);
  // Not a signature algorithm at all, and an unknown one.
  p.alg = kAlgHmac256_256;
  r = CreateSign1WithSigner(p256, kPayload, p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidInput);
  p.alg = -999;
  r = CreateSign1WithSigner(p256, kPayload, p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidInput);
  // alg both protected (from params.alg) and unprotected.
  p.alg = kAlgEs256;
  p.unprotected.Set(label::kAlg, Value::Int(kAlgEs256));
  r = CreateSign1WithSigner(p256, kPayload, p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidInput);
}

TEST(CoseSign1WithSigner, WrongLengthSignatureIsRefused) {
  BrokenSigner broken(
      MakeSigner(crypto::KeyType::kP256, crypto::SignatureAlgorithm::kEcdsaP256Sha256, 3));
  Sign1Params p;
  auto r = CreateSign1WithSigner(broken, kPayload, p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kCrypto);
  EXPECT_NE(r.error().message().find("63-byte"), std::string::npos) << r.error().ToString();
}

}  // namespace
}  // namespace secprof::cose

// RFC 9864 fully-specified signature algorithms in COSE_Sign1: ESP256 (-9) is ECDSA on P-256
// with SHA-256 only (§2.1); Ed25519 (-19) and Ed448 (-53) name the curve (§2.2). Each signs and
// verifies, through a key and through a crypto::Signer; a key of another type or curve, or one
// restricted to another algorithm (RFC 9052 §7.1), is refused; a forged signature fails.
#include <gtest/gtest.h>

#include "secprof/cbor/cbor.h"
#include "secprof/cose/cose.h"
#include "secprof/crypto/random.h"
#include "secprof/crypto/signer.h"

namespace secprof::cose {
namespace {

Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }

Key Generate(crypto::KeyType type, uint64_t seed) {
  auto rng = crypto::FakeRandom::FromSeed(seed);
  auto sk = crypto::PrivateKey::Generate(type, rng);
  EXPECT_TRUE(sk);
  auto k = KeyFromPrivate(std::move(*sk));
  EXPECT_TRUE(k);
  return std::move(*k);
}
Key PublicOf(const Key& k) { return *KeyFromPublic(*k.public_key); }

struct Case {
  int64_t alg;
  const char* name;
  crypto::KeyType good;
  crypto::KeyType wrong;  // a signature key the algorithm does not take
};

class FullySpecified : public ::testing::TestWithParam<Case> {};

TEST_P(FullySpecified, SignsVerifiesAndRefusesTheWrongKeys) {
  const Case c = GetParam();
  const Key key = Generate(c.good, 1);
  auto info = LookupAlgorithm(c.alg);
  ASSERT_TRUE(info);
  EXPECT_STREQ(info->name, c.name);
  EXPECT_EQ(LookupAlgorithmByName(c.name)->id, c.alg);
  Sign1Params p;
  p.alg = c.alg;
  auto m = CreateSign1(key, B("payload"), p);
  ASSERT_TRUE(m) << m.error().ToString();
  auto wire = Encode(*m);
  auto back = DecodeSign1(wire);
  ASSERT_TRUE(back);
  EXPECT_TRUE(VerifySign1(*back, PublicOf(key), {}));
  // Forged: another key of the right type.
  auto forged = VerifySign1(*back, PublicOf(Generate(c.good, 2)), {});
  ASSERT_FALSE(forged);
  EXPECT_EQ(forged.error().code(), ErrorCode::kVerifyFailed);
  // A key of another type or curve cannot sign or verify this algorithm.
  const Key wrong = Generate(c.wrong, 3);
  EXPECT_EQ(CreateSign1(wrong, B("payload"), p).error().code(), ErrorCode::kVerifyFailed);
  EXPECT_EQ(VerifySign1(*back, PublicOf(wrong), {}).error().code(), ErrorCode::kVerifyFailed);
  // A key restricted to the polymorphic algorithm is not a key for the fully-specified one.
  Key restricted = PublicOf(key);
  restricted.alg = c.good == crypto::KeyType::kP256 ? kAlgEs256 : kAlgEdDsa;
  EXPECT_EQ(VerifySign1(*back, restricted, {}).error().code(), ErrorCode::kVerifyFailed);
}

TEST_P(FullySpecified, ThroughASigner) {
  const Case c = GetParam();
  auto rng = crypto::FakeRandom::FromSeed(7);
  auto sk = crypto::PrivateKey::Generate(c.good, rng);
  ASSERT_TRUE(sk);
  const crypto::SignatureAlgorithm sa =
      c.good == crypto::KeyType::kP256    ? crypto::SignatureAlgorithm::kEcdsaP256Sha256Der
      : c.good == crypto::KeyType::kEd448 ? crypto::SignatureAlgorithm::kEd448
                                          : crypto::SignatureAlgorithm::kEd25519;
  auto signer = crypto::SoftwareSigner::Create(std::move(*sk), sa);
  ASSERT_TRUE(signer) << signer.error().ToString();
  Sign1Params p;
  p.alg = c.alg;
  auto m = CreateSign1WithSigner(*signer, B("payload"), p);
  ASSERT_TRUE(m) << m.error().ToString();
  auto pub = KeyFromPublic(signer->public_key());
  ASSERT_TRUE(pub);
  EXPECT_TRUE(VerifySign1(*m, *pub, {}));
}

INSTANTIATE_TEST_SUITE_P(
    Rfc9864, FullySpecified,
    ::testing::Values(Case{kAlgEsp256, "ESP256", crypto::KeyType::kP256, crypto::KeyType::kEd25519},
                      Case{kAlgEd25519, "Ed25519", crypto::KeyType::kEd25519,
                           crypto::KeyType::kEd448},
                      Case{kAlgEd448, "Ed448", crypto::KeyType::kEd448, crypto::KeyType::kEd25519}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(FullySpecifiedSigner, Ed448SignerCannotCarryEd25519) {
  auto rng = crypto::FakeRandom::FromSeed(9);
  auto sk = crypto::PrivateKey::Generate(crypto::KeyType::kEd448, rng);
  ASSERT_TRUE(sk);
  auto signer = crypto::SoftwareSigner::Create(std::move(*sk), crypto::SignatureAlgorithm::kEd448);
  ASSERT_TRUE(signer);
  Sign1Params p;
  p.alg = kAlgEd25519;
  auto m = CreateSign1WithSigner(*signer, B("payload"), p);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code(), ErrorCode::kInvalidInput);
}

}  // namespace
}  // namespace secprof::cose

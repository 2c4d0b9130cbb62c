// Unit tests for secprof::crypto: signatures (ECDSA, Ed25519 and Ed448 against RFC 8032),
// key encodings, ECDH and X25519 (RFC 7748), the Signer seam.
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

// ---------------------------------------------------------------- signatures

TEST(CryptoSign, EcdsaRoundTripBothEncodingsAndConversion) {
  auto sk = PrivateKey::Generate(KeyType::kP256);
  ASSERT_TRUE(sk);
  const PublicKey& pk = sk->public_key();
  const Bytes msg = Str("COSE Sig_structure stand-in");
  auto raw = sk->Sign(SignatureAlgorithm::kEcdsaP256Sha256, msg);
  auto der = sk->Sign(SignatureAlgorithm::kEcdsaP256Sha256Der, msg);
  ASSERT_TRUE(raw && der);
  EXPECT_EQ(raw->size(), 64u);
  EXPECT_TRUE(pk.Verify(SignatureAlgorithm::kEcdsaP256Sha256, msg, *raw));
  EXPECT_TRUE(pk.Verify(SignatureAlgorithm::kEcdsaP256Sha256Der, msg, *der));
  // Conversions in both directions verify, and round-trip exactly.
  auto as_der = EcdsaP256RawToDer(*raw);
  ASSERT_TRUE(as_der);
  EXPECT_TRUE(pk.Verify(SignatureAlgorithm::kEcdsaP256Sha256Der, msg, *as_der));
  auto back = EcdsaP256DerToRaw(*as_der);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, *raw);
  auto as_raw = EcdsaP256DerToRaw(*der);
  ASSERT_TRUE(as_raw);
  EXPECT_TRUE(pk.Verify(SignatureAlgorithm::kEcdsaP256Sha256, msg, *as_raw));
  // Encodings are not interchangeable.
  EXPECT_FALSE(pk.Verify(SignatureAlgorithm::kEcdsaP256Sha256, msg, *der));
  EXPECT_FALSE(pk.Verify(SignatureAlgorithm::kEcdsaP256Sha256Der, msg, *raw));
  // Tampered message or signature, wrong key.
  Bytes msg2 = msg;
  msg2[0] ^= 1;
  EXPECT_EQ(pk.Verify(SignatureAlgorithm::kEcdsaP256Sha256, msg2, *raw).error().code(),
            ErrorCode::kVerifyFailed);
  Bytes sig2 = *raw;
  sig2[40] ^= 1;
  EXPECT_FALSE(pk.Verify(SignatureAlgorithm::kEcdsaP256Sha256, msg, sig2));
  auto other = PrivateKey::Generate(KeyType::kP256);
  ASSERT_TRUE(other);
  EXPECT_FALSE(other->public_key().Verify(SignatureAlgorithm::kEcdsaP256Sha256, msg, *raw));
  // Algorithm that does not fit the key.
  EXPECT_EQ(pk.Verify(SignatureAlgorithm::kEd25519, msg, *raw).error().code(),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(sk->Sign(SignatureAlgorithm::kEd25519, msg).error().code(), ErrorCode::kInvalidInput);
}

TEST(CryptoSign, RawDerConversionEdgeCases) {
  // r with its top bit set needs a 0x00 pad in DER; s = 1 with leading zeros shrinks to one byte.
  Bytes raw(64, 0);
  raw[0] = 0x80;
  raw[31] = 0x05;
  raw[63] = 0x01;
  auto der = EcdsaP256RawToDer(raw);
  ASSERT_TRUE(der);
  EXPECT_EQ(Hex(*der),
            "3026022100800000000000000000000000000000000000000000000000000000000000000502"
            "0101");
  auto back = EcdsaP256DerToRaw(*der);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, raw);
  // Non-minimal integer (extra 0x00), long-form length, trailing byte, negative r, r > 32 bytes.
  EXPECT_FALSE(EcdsaP256DerToRaw(Unhex("300702020001020101")));
  EXPECT_FALSE(EcdsaP256DerToRaw(Unhex("308106020101020101")));
  EXPECT_FALSE(EcdsaP256DerToRaw(Unhex("300602010102010100")));
  EXPECT_FALSE(EcdsaP256DerToRaw(Unhex("3006020181020101")));
  EXPECT_TRUE(EcdsaP256DerToRaw(Unhex("3006020101020101")));  // the well-formed control
  // r = 2^256: 33 content bytes, a valid DER INTEGER that does not fit the raw form.
  EXPECT_FALSE(EcdsaP256DerToRaw(Unhex("3026022101" + std::string(64, '0') + "020101")));
  EXPECT_FALSE(EcdsaP256RawToDer(Bytes(63, 1)));
}

TEST(CryptoSign, Ed25519Rfc8032Test1) {
  // RFC 8032 §7.1, TEST 1 (empty message).
  auto sk = PrivateKey::FromRaw(
      KeyType::kEd25519, Unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  ASSERT_TRUE(sk);
  auto pub = sk->public_key().ToRaw();
  ASSERT_TRUE(pub);
  EXPECT_EQ(Hex(*pub), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  auto sig = sk->Sign(SignatureAlgorithm::kEd25519, {});
  ASSERT_TRUE(sig);
  EXPECT_EQ(Hex(*sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e"
            "39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  auto pk = PublicKey::FromRaw(KeyType::kEd25519, *pub);
  ASSERT_TRUE(pk);
  EXPECT_TRUE(pk->Verify(SignatureAlgorithm::kEd25519, {}, *sig));
  EXPECT_FALSE(pk->Verify(SignatureAlgorithm::kEd25519, Bytes{0}, *sig));
  EXPECT_FALSE(pk->Verify(SignatureAlgorithm::kEd25519, {}, ByteView(*sig).first(63)));
}

// RFC 8032 §7.4 (Ed448 test vectors), "-----TEST 1 (blank message)" and "-----1 octet"; the
// values as printed in the RFC. No Wycheproof Ed448 file is among the shared vectors.
struct Ed448Vector {
  const char* name;
  const char* secret;
  const char* public_key;
  const char* message;
  const char* signature;
};
constexpr Ed448Vector kRfc8032Ed448[] = {
    {"blank",
     "6c82a562cb808d10d632be89c8513ebf6c929f34ddfa8c9f63c9960ef6e348a3528c8a3fcc2f044e39a3fc5b94"
     "492f8f032e7549a20098f95b",
     "5fd7449b59b461fd2ce787ec616ad46a1da1342485a70e1f8a0ea75d80e96778edf124769b46c7061bd6783d"
     "f1e50f6cd1fa1abeafe8256180",
     "",
     "533a37f6bbe457251f023c0d88f976ae2dfb504a843e34d2074fd823d41a591f2b233f034f628281f2fd7a22"
     "ddd47d7828c59bd0a21bfd3980ff0d2028d4b18a9df63e006c5d1c2d345b925d8dc00b4104852db99ac5c7cd"
     "da8530a113a0f4dbb61149f05a7363268c71d95808ff2e652600"},
    {"1 octet",
     "c4eab05d357007c632f3dbb48489924d552b08fe0c353a0d4a1f00acda2c463afbea67c5e8d2877c5e3bc397"
     "a659949ef8021e954e0a12274e",
     "43ba28f430cdff456ae531545f7ecd0ac834a55d9358c0372bfa0c6c6798c0866aea01eb00742802b8438ea4"
     "cb82169c235160627b4c3a9480",
     "03",
     "26b8f91727bd62897af15e41eb43c377efb9c610d48f2335cb0bd0087810f4352541b143c4b981b7e18f62de"
     "8ccdf633fc1bf037ab7cd779805e0dbcc0aae1cbcee1afb2e027df36bc04dcecbf154336c19f0af7e0a64729"
     "05e799f1953d2a0ff3348ab21aa4adafd1d234441cf807c03a00"},
};

TEST(CryptoSign, Ed448Rfc8032Section7_4) {
  for (const auto& v : kRfc8032Ed448) {
    SCOPED_TRACE(v.name);
    auto sk = PrivateKey::FromRaw(KeyType::kEd448, Unhex(v.secret));
    ASSERT_TRUE(sk) << sk.error().ToString();
    EXPECT_EQ(sk->type(), KeyType::kEd448);
    auto pub = sk->public_key().ToRaw();
    ASSERT_TRUE(pub);
    EXPECT_EQ(Hex(*pub), v.public_key);
    const Bytes msg = Unhex(v.message);
    auto sig = sk->Sign(SignatureAlgorithm::kEd448, msg);
    ASSERT_TRUE(sig) << sig.error().ToString();
    EXPECT_EQ(Hex(*sig), v.signature);  // PureEdDSA is deterministic
    auto pk = PublicKey::FromRaw(KeyType::kEd448, Unhex(v.public_key));
    ASSERT_TRUE(pk);
    EXPECT_TRUE(pk->Verify(SignatureAlgorithm::kEd448, msg, Unhex(v.signature)));
    // Another message, a flipped signature bit, a truncated signature: all kVerifyFailed.
    Bytes other = msg;
    other.push_back(0x01);
    EXPECT_EQ(pk->Verify(SignatureAlgorithm::kEd448, other, *sig).error().code(),
              ErrorCode::kVerifyFailed);
    Bytes flipped = *sig;
    flipped[10] ^= 0x40;
    EXPECT_EQ(pk->Verify(SignatureAlgorithm::kEd448, msg, flipped).error().code(),
              ErrorCode::kVerifyFailed);
    EXPECT_EQ(pk->Verify(SignatureAlgorithm::kEd448, msg, ByteView(*sig).first(113)).error().code(),
              ErrorCode::kVerifyFailed);
    // Ed448 is not Ed25519: the algorithms do not cross key types.
    EXPECT_EQ(pk->Verify(SignatureAlgorithm::kEd25519, msg, *sig).error().code(),
              ErrorCode::kInvalidInput);
    EXPECT_EQ(sk->Sign(SignatureAlgorithm::kEd25519, msg).error().code(), ErrorCode::kInvalidInput);
  }
  // Sizes: 57-byte keys only (RFC 8032 §5.2.5).
  EXPECT_EQ(PrivateKey::FromRaw(KeyType::kEd448, Bytes(32, 1)).error().code(),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(PublicKey::FromRaw(KeyType::kEd448, Bytes(56, 1)).error().code(),
            ErrorCode::kInvalidInput);
  // No key agreement with an Ed448 key.
  auto e = PrivateKey::Generate(KeyType::kEd448);
  ASSERT_TRUE(e);
  EXPECT_EQ(DeriveSharedSecret(*e, e->public_key()).error().code(), ErrorCode::kInvalidInput);
  EXPECT_FALSE(SoftwareKeyAgreement::Create(std::move(*e)));
  EXPECT_STREQ(KeyTypeName(KeyType::kEd448), "Ed448");
  EXPECT_EQ(KeyTypeFor(SignatureAlgorithm::kEd448), KeyType::kEd448);
}

TEST(CryptoKeys, P256FromScalarMatchesRfc6979Key) {
  // RFC 6979 Appendix A.2.5: the P-256 key pair (x = private scalar, Ux/Uy = public point).
  auto sk = PrivateKey::FromRaw(
      KeyType::kP256, Unhex("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721"));
  ASSERT_TRUE(sk);
  auto c = sk->public_key().ToP256Coordinates();
  ASSERT_TRUE(c);
  EXPECT_EQ(Hex(c->x), "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6");
  EXPECT_EQ(Hex(c->y), "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299");
  auto pk = PublicKey::FromP256Coordinates(c->x, c->y);
  ASSERT_TRUE(pk);
  EXPECT_TRUE(*pk == sk->public_key());
  auto d = sk->ToRaw();
  ASSERT_TRUE(d);
  EXPECT_EQ(Hex(*d), "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721");
  // Off-curve point, zero and out-of-range scalars are refused.
  Bytes y = c->y;
  y[31] ^= 1;
  EXPECT_EQ(PublicKey::FromP256Coordinates(c->x, y).error().code(), ErrorCode::kInvalidInput);
  EXPECT_FALSE(PrivateKey::FromRaw(KeyType::kP256, Bytes(32, 0)));
  EXPECT_FALSE(PrivateKey::FromRaw(KeyType::kP256, Bytes(32, 0xff)));
  EXPECT_FALSE(PrivateKey::FromRaw(KeyType::kP256, Bytes(31, 1)));
}

TEST(CryptoKeys, PemDerRawRoundTrips) {
  for (KeyType t : {KeyType::kP256, KeyType::kEd25519, KeyType::kX25519, KeyType::kEd448}) {
    SCOPED_TRACE(KeyTypeName(t));
    auto sk = PrivateKey::Generate(t);
    ASSERT_TRUE(sk);
    auto pem = sk->ToPem();
    ASSERT_TRUE(pem);
    EXPECT_NE(pem->AsStringView().find("-----BEGIN PRIVATE KEY-----"), std::string_view::npos);
    auto sk2 = PrivateKey::FromPem(pem->AsStringView());
    ASSERT_TRUE(sk2);
    EXPECT_EQ(sk2->type(), t);
    EXPECT_TRUE(sk2->public_key() == sk->public_key());
    auto der = sk->ToDer();
    ASSERT_TRUE(der);
    auto sk3 = PrivateKey::FromDer(*der);
    ASSERT_TRUE(sk3);
    auto r1 = sk->ToRaw();
    auto r3 = sk3->ToRaw();
    ASSERT_TRUE(r1 && r3);
    EXPECT_TRUE(ConstantTimeEqual(*r1, *r3));
    auto sk4 = PrivateKey::FromRaw(t, *r1);
    ASSERT_TRUE(sk4);
    EXPECT_TRUE(sk4->public_key() == sk->public_key());

    auto ppem = sk->public_key().ToPem();
    ASSERT_TRUE(ppem);
    EXPECT_NE(ppem->find("-----BEGIN PUBLIC KEY-----"), std::string::npos);
    auto pk = PublicKey::FromPem(*ppem);
    ASSERT_TRUE(pk);
    EXPECT_TRUE(*pk == sk->public_key());
    auto praw = pk->ToRaw();
    ASSERT_TRUE(praw);
    auto pk2 = PublicKey::FromRaw(t, *praw);
    ASSERT_TRUE(pk2);
    EXPECT_TRUE(*pk2 == *pk);
    auto pder = pk->ToDer();
    ASSERT_TRUE(pder);
    Bytes trailing = *pder;
    trailing.push_back(0);
    EXPECT_FALSE(PublicKey::FromDer(trailing));

    // A private key is not a public key, and the reverse.
    EXPECT_FALSE(PublicKey::FromPem(pem->AsStringView()));
    EXPECT_FALSE(PrivateKey::FromPem(*ppem));
  }
  EXPECT_FALSE(PublicKey::FromPem("not a pem"));
}

// ---------------------------------------------------------------- key agreement

TEST(CryptoEcdh, BothSidesAgree) {
  for (KeyType t : {KeyType::kP256, KeyType::kX25519}) {
    SCOPED_TRACE(KeyTypeName(t));
    auto a = PrivateKey::Generate(t);
    auto b = PrivateKey::Generate(t);
    ASSERT_TRUE(a && b);
    auto ab = DeriveSharedSecret(*a, b->public_key());
    auto ba = DeriveSharedSecret(*b, a->public_key());
    ASSERT_TRUE(ab && ba);
    EXPECT_EQ(ab->size(), 32u);
    EXPECT_TRUE(ConstantTimeEqual(*ab, *ba));
  }
  auto p = PrivateKey::Generate(KeyType::kP256);
  auto x = PrivateKey::Generate(KeyType::kX25519);
  auto e = PrivateKey::Generate(KeyType::kEd25519);
  ASSERT_TRUE(p && x && e);
  EXPECT_EQ(DeriveSharedSecret(*p, x->public_key()).error().code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(DeriveSharedSecret(*e, e->public_key()).error().code(), ErrorCode::kInvalidInput);
}

TEST(CryptoEcdh, X25519Rfc7748PublicKeyAndLowOrderPoint) {
  // RFC 7748 §6.1: Alice's private key and the public key derived from it.
  auto alice = PrivateKey::FromRaw(
      KeyType::kX25519, Unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  ASSERT_TRUE(alice);
  auto pub = alice->public_key().ToRaw();
  ASSERT_TRUE(pub);
  EXPECT_EQ(Hex(*pub), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  // u = 0 is a point of small order: the output is all zeros and must be refused (§6.1).
  auto zero = PublicKey::FromRaw(KeyType::kX25519, Bytes(32, 0));
  ASSERT_TRUE(zero);
  EXPECT_FALSE(DeriveSharedSecret(*alice, *zero));
}

// ---------------------------------------------------------------- Signer seam

TEST(CryptoSigner, SoftwareSignerAndKeyAgreement) {
  auto sk = PrivateKey::Generate(KeyType::kEd25519);
  ASSERT_TRUE(sk);
  auto wrong = SoftwareSigner::Create(std::move(*sk), SignatureAlgorithm::kEcdsaP256Sha256);
  EXPECT_EQ(wrong.error().code(), ErrorCode::kInvalidInput);

  auto p = PrivateKey::Generate(KeyType::kP256);
  ASSERT_TRUE(p);
  auto signer = SoftwareSigner::Create(std::move(*p), SignatureAlgorithm::kEcdsaP256Sha256);
  ASSERT_TRUE(signer);
  Signer& s = *signer;  // used through the interface, as COSE and the keystore will
  auto sig = s.Sign(Str("m"));
  ASSERT_TRUE(sig);
  EXPECT_TRUE(s.public_key().Verify(s.algorithm(), Str("m"), *sig));

  auto e = PrivateKey::Generate(KeyType::kEd25519);
  ASSERT_TRUE(e);
  EXPECT_FALSE(SoftwareKeyAgreement::Create(std::move(*e)));
  auto x1 = PrivateKey::Generate(KeyType::kX25519);
  auto x2 = PrivateKey::Generate(KeyType::kX25519);
  ASSERT_TRUE(x1 && x2);
  const PublicKey x2pub = x2->public_key();
  auto ka = SoftwareKeyAgreement::Create(std::move(*x1));
  ASSERT_TRUE(ka);
  auto k1 = ka->Agree(x2pub);
  auto k2 = DeriveSharedSecret(*x2, ka->public_key());
  ASSERT_TRUE(k1 && k2);
  EXPECT_TRUE(ConstantTimeEqual(*k1, *k2));
}

}  // namespace
}  // namespace secprof::crypto

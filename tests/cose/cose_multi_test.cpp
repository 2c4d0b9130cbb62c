// Unit tests for secprof::cose: COSE_Sign and COSE_Encrypt with a direct recipient, their
// malformed forms, COSE_Key / JWK / PEM keys, CWT claims (RFC 8392 Appendix A.1).
#include <gtest/gtest.h>

#include <fstream>

#include "cose_fixture.h"
#include "secprof/cbor/cbor.h"
#include "secprof/cose/cose.h"
#include "secprof/cose/cwt.h"
#include "secprof/crypto/random.h"
#include "support/cose_keys.h"
#include "testutil.h"

namespace secprof::cose {
namespace {
using namespace cose_fixture;

// ---- COSE_Sign (RFC 9052 §4.1) and COSE_Encrypt with a direct recipient (§5.1, §8.5.1)
// ---------------------------------------------------------------------------------------------

TEST(CoseSign, ThreeSignersEachAndAllVerify) {
  Key p256 = Generate(crypto::KeyType::kP256, 11);
  Key ed25519 = Generate(crypto::KeyType::kEd25519, 12);
  Key ed448 = Generate(crypto::KeyType::kEd448, 13);
  std::vector<SignerParams> signers(3);
  signers[0].key = p256;
  signers[0].alg = kAlgEs256;
  signers[1].key = ed25519;
  signers[1].alg = kAlgEdDsa;
  signers[2].key = ed448;
  signers[2].alg = kAlgEdDsa;
  SignParams p;
  p.body_protected.Set(label::kContentType, Value::Int(0));
  p.external_aad = kAad;
  auto m = CreateSign(kPayload, signers, p);
  ASSERT_TRUE(m) << m.error().ToString();
  ASSERT_EQ(m->signatures.size(), 3u);
  EXPECT_EQ(m->signatures[2].signature.size(), crypto::kEd448SignatureSize);
  // kid comes from the key when the signer's unprotected header is empty.
  EXPECT_EQ(*m->signatures[1].unprotected.Find(label::kKid), Value::ByteString(B("k1")));
  for (bool tagged : {true, false}) {
    const Bytes wire = Encode(*m, tagged);
    EXPECT_EQ(wire[0] == 0xd8 && wire[1] == 98, tagged);
    auto back = DecodeSign(wire);
    ASSERT_TRUE(back) << back.error().ToString();
    EXPECT_EQ(Encode(*back, tagged), wire);
    const std::vector<Key> keys = {p256, ed25519, ed448};
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_TRUE(VerifySignature(*back, i, keys[i], kAad)) << i;
      auto which = VerifySign(*back, keys[i], kAad);
      ASSERT_TRUE(which) << which.error().ToString();
      EXPECT_EQ(*which, i);
    }
    EXPECT_TRUE(VerifySignAll(*back, {ed448, p256, ed25519}, kAad));
    // A missing key for one signer, a wrong AAD, a key that signed nothing.
    ExpectError(VerifySignAll(*back, {p256, ed25519}, kAad), ErrorCode::kVerifyFailed,
                "signer 2 verifies with none of the 2 keys");
    ExpectError(VerifySignature(*back, 1, ed25519, {}), ErrorCode::kVerifyFailed,
                "signer 1 EdDSA signature does not verify");
    ExpectError(VerifySign(*back, Generate(crypto::KeyType::kEd25519, 99), kAad),
                ErrorCode::kVerifyFailed, "none of the 3 COSE_Sign signers verifies");
    ExpectError(VerifySignature(*back, 3, p256, kAad), ErrorCode::kInvalidInput, "no signer 3");
  }
  // The signature covers the body's protected header and the signer's (RFC 9052 §4.4).
  Sign tampered = *m;
  tampered.protected_header = ProtectedHeader{};
  ExpectError(VerifySignature(tampered, 0, p256, kAad), ErrorCode::kVerifyFailed,
              "does not verify");
  tampered = *m;
  tampered.signatures[1].protected_header.encoded = H("a10127");  // same map, other... bytes
  tampered.signatures[1].protected_header.encoded.push_back(0);
  ExpectError(VerifySignature(tampered, 1, ed25519, kAad), ErrorCode::kVerifyFailed,
              "does not verify");
  // Detached payload.
  p.detached = true;
  auto d = CreateSign(kPayload, signers, p);
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->payload);
  EXPECT_TRUE(VerifySignAll(*d, {p256, ed25519, ed448}, kAad, ByteView(kPayload)));
  ExpectError(VerifySign(*d, p256, kAad), ErrorCode::kInvalidInput, "detached payload");
  // No signers; a MAC algorithm for a signer; a public key cannot sign.
  ExpectError(CreateSign(kPayload, {}, p), ErrorCode::kInvalidInput, "at least one signer");
  std::vector<SignerParams> bad(1);
  bad[0].key = p256;
  bad[0].alg = kAlgHmac256_256;
  ExpectError(CreateSign(kPayload, bad, p), ErrorCode::kInvalidInput, "not a signature algorithm");
  bad[0].alg = kAlgEs256;
  bad[0].key = *KeyFromPublic(*p256.public_key);
  ExpectError(CreateSign(kPayload, bad, p), ErrorCode::kVerifyFailed, "no private key");
}

TEST(CoseEncrypt, DirectRecipientRoundTripsForEveryAead) {
  for (int64_t alg : {kAlgA128Gcm, kAlgA256Gcm, kAlgAesCcm16_64_128, kAlgAesCcm64_128_256}) {
    auto info = LookupAlgorithm(alg);
    ASSERT_TRUE(info);
    const Key key = SymmetricKey(Bytes(info->key_size, 0x42), B("our-secret"));
    auto rng = crypto::FakeRandom::FromSeed(5);
    EncryptParams p;
    p.alg = alg;
    p.external_aad = kAad;
    auto m = CreateEncrypt(key, kPayload, p, rng);
    ASSERT_TRUE(m) << m.error().ToString();
    ASSERT_EQ(m->recipients.size(), 1u);
    const Recipient& r = m->recipients[0];
    EXPECT_TRUE(r.protected_header.encoded.empty());
    EXPECT_EQ(*r.unprotected.Find(label::kAlg), Value::Int(kAlgDirect));
    EXPECT_EQ(*r.unprotected.Find(label::kKid), Value::ByteString(B("our-secret")));
    ASSERT_TRUE(r.ciphertext);
    EXPECT_TRUE(r.ciphertext->empty());
    for (bool tagged : {true, false}) {
      const Bytes wire = Encode(*m, tagged);
      EXPECT_EQ(wire[0] == 0xd8 && wire[1] == 96, tagged);
      auto back = DecodeEncrypt(wire);
      ASSERT_TRUE(back) << back.error().ToString();
      EXPECT_EQ(Encode(*back, tagged), wire);
      auto pt = DecryptEncrypt(*back, key, kAad);
      ASSERT_TRUE(pt) << pt.error().ToString();
      EXPECT_EQ(*pt, kPayload);
      ExpectError(DecryptEncrypt(*back, key, {}), ErrorCode::kVerifyFailed,
                  "authentication tag does not verify");
    }
    // The content layer's AAD is the "Encrypt" Enc_structure, not "Encrypt0" (RFC 9052 §5.3):
    // the same body as a COSE_Encrypt0 does not open.
    Encrypt0 as0{m->protected_header, m->unprotected, m->ciphertext};
    ExpectError(DecryptEncrypt0(as0, key, kAad), ErrorCode::kVerifyFailed, "does not verify");
  }
}

class CoseMultiMalformed : public ::testing::Test {
 protected:
  static Bytes Enc(cbor::Array a, uint64_t tag) {
    return cbor::Encode(Value::Tag(tag, Value::MakeArray(std::move(a))));
  }
  const Value prot_ = Value::ByteString(H("a1010a"));  // {1: 10} AES-CCM-16-64-128
  const Value iv_map_ = Value::Map({{Value::Int(label::kIv), Value::ByteString(Bytes(13, 1))}});
  const Value ct_ = Value::ByteString(Bytes(28, 2));
  static Value Direct(Value prot, Value ct) {
    return Value::MakeArray({std::move(prot),
                             Value::Map({{Value::Int(label::kAlg), Value::Int(kAlgDirect)}}),
                             std::move(ct)});
  }
  const Key key_ = SymmetricKey(Bytes(16, 3));
};

TEST_F(CoseMultiMalformed, WrongSignerArray) {
  const Value body = Value::ByteString(Bytes{});
  const Value signer = Value::MakeArray(
      {Value::ByteString(H("a10127")), Value::Map(), Value::ByteString(Bytes(64, 0))});
  auto sign = [&](Value sigs) {
    return DecodeSign(Enc({body, Value::Map(), Value::ByteString(kPayload), std::move(sigs)}, 98));
  };
  EXPECT_TRUE(sign(Value::MakeArray({signer})));  // the well-formed control
  ExpectError(sign(Value::MakeArray({})), ErrorCode::kInvalidInput, "signatures must not be empty");
  ExpectError(sign(signer.array()[2]), ErrorCode::kInvalidInput,
              "signatures must be an array, found byte string");
  ExpectError(sign(Value::MakeArray({Value::ByteString(Bytes(64, 0))})), ErrorCode::kInvalidInput,
              "signer 0 must be an array (COSE_Signature)");
  ExpectError(sign(Value::MakeArray({signer, Value::MakeArray({body, Value::Map()})})),
              ErrorCode::kInvalidInput, "signer 1 must be an array of 3 items");
  ExpectError(
      sign(Value::MakeArray({Value::MakeArray({Value::Map(), Value::Map(), signer.array()[2]})})),
      ErrorCode::kInvalidInput, "signer 0: protected header must be a byte string");
  ExpectError(
      sign(Value::MakeArray({Value::MakeArray({signer.array()[0], Value::Map(), Value::Null()})})),
      ErrorCode::kInvalidInput, "signer 0: signature must be a byte string");
  // The same label in both of a signer's buckets.
  ExpectError(
      sign(Value::MakeArray({Value::MakeArray(
          {signer.array()[0], Value::Map({{Value::Int(1), Value::Int(-8)}}), signer.array()[2]})})),
      ErrorCode::kInvalidInput, "in both the protected and the unprotected bucket");
  // Too many signers.
  cbor::Array many(kMaxSigners + 1, signer);
  ExpectError(sign(Value::MakeArray(many)), ErrorCode::kLimit, "more than the limit of 64");
  // COSE_Sign is an array of 4; a COSE_Sign1 is not a COSE_Sign and the reverse; tag mismatch.
  ExpectError(DecodeSign(Enc({body, Value::Map(), Value::Null()}, 98)), ErrorCode::kInvalidInput,
              "array of 4 items, found 3");
  ExpectError(DecodeSign(Enc({body, Value::Map(), Value::Null(), Value::MakeArray({signer})}, 18)),
              ErrorCode::kInvalidInput, "CBOR tag 18 where COSE_Sign expects tag 98");
  ExpectError(DecodeSign1(Enc({body, Value::Map(), Value::Null(), Value::MakeArray({signer})}, 18)),
              ErrorCode::kInvalidInput, "signature must be a byte string, found array");
  // A signer with a MAC alg, with crit naming something unknown, an unprotected crit in the body.
  auto verify_with = [&](Value signer_prot, Value body_unprot) {
    auto m = DecodeSign(Enc({body, std::move(body_unprot), Value::ByteString(kPayload),
                             Value::MakeArray({Value::MakeArray(
                                 {std::move(signer_prot), Value::Map(), signer.array()[2]})})},
                            98));
    EXPECT_TRUE(m) << m.error().ToString();
    if (!m) return Result<size_t>(Fail(m.error()));
    return VerifySign(*m, Generate(crypto::KeyType::kEd25519, 1), {});
  };
  ExpectError(verify_with(Value::ByteString(H("a10105")), Value::Map()), ErrorCode::kInvalidInput,
              "HMAC 256/256 is a MAC algorithm");
  ExpectError(verify_with(Value::ByteString(H("a2012702811863")), Value::Map()),
              ErrorCode::kInvalidInput, "critical header parameter 99 is not understood");
  ExpectError(
      verify_with(Value::ByteString(H("a10127")),
                  Value::Map({{Value::Int(label::kCrit), Value::MakeArray({Value::Int(1)})}})),
      ErrorCode::kInvalidInput, "crit must be a protected header parameter");
  ExpectError(verify_with(Value::ByteString(Bytes{}), Value::Map()), ErrorCode::kInvalidInput,
              "no algorithm");
}

TEST_F(CoseMultiMalformed, WrongRecipients) {
  auto encrypt = [&](Value recipients) {
    return DecodeEncrypt(Enc({prot_, iv_map_, ct_, std::move(recipients)}, 96));
  };
  const Value good = Direct(Value::ByteString(Bytes{}), Value::ByteString(Bytes{}));
  EXPECT_TRUE(encrypt(Value::MakeArray({good})));
  ExpectError(encrypt(Value::MakeArray({})), ErrorCode::kInvalidInput,
              "recipients must not be empty");
  ExpectError(encrypt(Value::Map()), ErrorCode::kInvalidInput, "recipients must be an array");
  ExpectError(
      encrypt(Value::MakeArray({Value::MakeArray({Value::ByteString(Bytes{}), Value::Map()})})),
      ErrorCode::kInvalidInput,
      "recipient 0 must be an array of 3 or 4 items (COSE_recipient), found 2");
  ExpectError(encrypt(Value::MakeArray({Value::MakeArray(
                  {Value::ByteString(Bytes{}), Value::Map(), Value::Text("x")})})),
              ErrorCode::kInvalidInput, "recipient 0: ciphertext must be a byte string or nil");
  // A nested recipients list must itself be a non-empty array of recipients.
  cbor::Array nested = good.array();
  nested.push_back(Value::MakeArray({}));
  ExpectError(encrypt(Value::MakeArray({Value::MakeArray(nested)})), ErrorCode::kInvalidInput,
              "recipient 0: recipients must not be empty");
  nested.back() = Value::MakeArray({Value::Int(1)});
  ExpectError(encrypt(Value::MakeArray({Value::MakeArray(nested)})), ErrorCode::kInvalidInput,
              "recipient 0: recipient 0 must be an array (COSE_recipient)");
  ExpectError(DecodeEncrypt(Enc({prot_, iv_map_, ct_}, 96)), ErrorCode::kInvalidInput,
              "array of 4 items, found 3");
  ExpectError(DecodeEncrypt(Enc({prot_, iv_map_, ct_, Value::MakeArray({good})}, 16)),
              ErrorCode::kInvalidInput, "CBOR tag 16 where COSE_Encrypt expects tag 96");
  ExpectError(DecodeEncrypt0(Enc({prot_, iv_map_, ct_, Value::MakeArray({good})}, 96)),
              ErrorCode::kInvalidInput, "CBOR tag 96 where COSE_Encrypt0 expects tag 16");
}

TEST_F(CoseMultiMalformed, DirectRecipientRules) {
  // Decodes (structure is fine), then decryption refuses what RFC 9052 §8.5.1 / RFC 9053 §6.1.1
  // forbid for direct, before any cryptography.
  auto decrypt = [&](cbor::Array recipients) {
    auto m = DecodeEncrypt(Enc({prot_, iv_map_, ct_, Value::MakeArray(std::move(recipients))}, 96));
    EXPECT_TRUE(m) << m.error().ToString();
    if (!m) return Result<Bytes>(Fail(m.error()));
    return DecryptEncrypt(*m, key_, {});
  };
  const Value empty = Value::ByteString(Bytes{});
  ExpectError(decrypt({Direct(empty, Value::ByteString(Bytes{1, 2}))}), ErrorCode::kInvalidInput,
              "ciphertext must be a zero-length byte string");
  ExpectError(decrypt({Direct(empty, Value::Null())}), ErrorCode::kInvalidInput,
              "ciphertext must be a zero-length byte string");
  ExpectError(decrypt({Direct(Value::ByteString(H("a1044101")), empty)}), ErrorCode::kInvalidInput,
              "protected header must be zero length");
  ExpectError(decrypt({Direct(empty, empty), Direct(empty, empty)}), ErrorCode::kInvalidInput,
              "must be the only recipient; this message has 2");
  cbor::Array nested = Direct(empty, empty).array();
  nested.push_back(Value::MakeArray({Direct(empty, empty)}));
  ExpectError(decrypt({Value::MakeArray(nested)}), ErrorCode::kInvalidInput,
              "no recipients of its own");
  ExpectError(decrypt({Value::MakeArray({empty, Value::Map(), empty})}), ErrorCode::kInvalidInput,
              "recipient 0 has no alg");
  // Other recipient algorithms: A128KW (-3), ECDH-ES + HKDF-256 (-25), a text alg.
  auto other = [&](Value alg) {
    return Value::MakeArray({empty, Value::Map({{Value::Int(label::kAlg), std::move(alg)}}),
                             Value::ByteString(Bytes(24, 0))});
  };
  ExpectError(decrypt({other(Value::Int(-3)), other(Value::Int(-25))}), ErrorCode::kUnsupported,
              "no recipient uses direct (-6), the only recipient algorithm implemented; found alg "
              "-3, -25");
  ExpectError(decrypt({other(Value::Text("x"))}), ErrorCode::kUnsupported, "found alg \"x\"");
  // The well-formed control reaches the AEAD, which then fails on this made-up ciphertext.
  ExpectError(decrypt({Direct(empty, empty)}), ErrorCode::kVerifyFailed, "does not verify");
  // A content alg that is not one (direct as the body's alg).
  auto m = DecodeEncrypt(
      Enc({Value::ByteString(H("a10125")), iv_map_, ct_, Value::MakeArray({Direct(empty, empty)})},
          96));
  ASSERT_TRUE(m);
  ExpectError(DecryptEncrypt(*m, key_, {}), ErrorCode::kInvalidInput, "unknown algorithm -6");
}

// ---- Keys
// ----------------------------------------------------------------------------------------

TEST(CoseKey, CoseKeyRoundTripsAndValidates) {
  for (auto t : {crypto::KeyType::kP256, crypto::KeyType::kEd25519, crypto::KeyType::kX25519,
                 crypto::KeyType::kEd448}) {
    Key k = Generate(t, 3);
    for (bool priv : {true, false}) {
      auto v = KeyToCose(k, priv);
      ASSERT_TRUE(v);
      auto back = DecodeCoseKey(cbor::Encode(*v));
      ASSERT_TRUE(back) << back.error().ToString();
      EXPECT_EQ(back->kty, k.kty);
      EXPECT_EQ(back->crv, k.crv);
      EXPECT_EQ(back->kid, k.kid);
      EXPECT_TRUE(*back->public_key == *k.public_key);
      EXPECT_EQ(back->private_key != nullptr, priv);
    }
  }
  Key sym = SymmetricKey(Bytes(16, 9), B("s"));
  auto v = KeyToCose(sym, true);
  ASSERT_TRUE(v);
  auto back = DecodeCoseKey(cbor::Encode(*v));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->secret->size(), 16u);

  ExpectError(DecodeCoseKey(H("a0")), ErrorCode::kInvalidInput, "kty (1) is required");
  ExpectError(DecodeCoseKey(H("a10103")), ErrorCode::kUnsupported, "key type 3");
  ExpectError(DecodeCoseKey(H("a2010220014100")), ErrorCode::kInvalidInput, "");  // bad x/y
  ExpectError(DecodeCoseKey(H("a30102200122f5")), ErrorCode::kUnsupported, "compressed");
  ExpectError(DecodeCoseKey(H("a201012002")), ErrorCode::kUnsupported, "curve 2");
  // d that does not belong to x/y.
  Key a = Generate(crypto::KeyType::kP256, 4), b = Generate(crypto::KeyType::kP256, 5);
  auto mixed = KeyToCose(a, false);
  auto bd = KeyToCose(b, true);
  ASSERT_TRUE(mixed && bd);
  mixed->map().emplace_back(Value::Int(key_label::kD), *bd->Find(key_label::kD));
  ExpectError(KeyFromCose(*mixed), ErrorCode::kInvalidInput, "does not match");
}

TEST(CoseKey, JwkFormsAndErrors) {
  // RFC 7518 / RFC 8037 style, with the cose-wg key of sign1-tests.
  auto ec = KeyFromJwk(R"({"kty":"EC","kid":"11","crv":"P-256",
      "x":"usWxHK2PmfnHKwXPS54m0kTcGJ90UiglWiGahtagnv8",
      "y":"IBOL-C3BttVivg-lSreASjpkttcsz-1rb7btKLv8EX4",
      "d":"V8kgd2ZBRuh2dgyVINBUqpPDr7BOMGcF22CQMIUHtNM"})");
  ASSERT_TRUE(ec) << ec.error().ToString();
  EXPECT_EQ(ec->kid, B("11"));
  EXPECT_TRUE(ec->private_key);
  auto oct = KeyFromJwk(R"({"kty":"oct","k":"hJtXIZ2uSN5kbQfbtTNWbg"})");
  ASSERT_TRUE(oct);
  EXPECT_EQ(cbor::ToHex(oct->secret->view()), "849b57219dae48de646d07dbb533566e");
  ExpectError(KeyFromJwk("{"), ErrorCode::kInvalidInput, "not valid JSON");
  ExpectError(KeyFromJwk(R"({"k":"AA"})"), ErrorCode::kInvalidInput, "kty is required");
  ExpectError(KeyFromJwk(R"({"kty":"oct","k":"A*"})"), ErrorCode::kInvalidInput, "base64url");
  ExpectError(KeyFromJwk(R"({"kty":"OKP","crv":"X448","x":"AA"})"), ErrorCode::kUnsupported,
              "X448");
  // Ed448 (RFC 8037 §2, RFC 9053 §7.2 crv 7): the key of RFC 8032 §7.4 "-----TEST 1 (blank)".
  ExpectError(KeyFromJwk(R"({"kty":"OKP","crv":"Ed448","x":"AA"})"), ErrorCode::kInvalidInput,
              "Ed448 public key must be 57 bytes");
  auto ed448 = KeyFromJwk(
      R"({"kty":"OKP","crv":"Ed448","kid":"ed448",
      "x_hex":"5fd7449b59b461fd2ce787ec616ad46a1da1342485a70e1f8a0ea75d80e96778edf124769b46c7061bd6783df1e50f6cd1fa1abeafe8256180",
      "d_hex":"6c82a562cb808d10d632be89c8513ebf6c929f34ddfa8c9f63c9960ef6e348a3528c8a3fcc2f044e39a3fc5b94492f8f032e7549a20098f95b"})");
  ASSERT_TRUE(ed448) << ed448.error().ToString();
  EXPECT_EQ(ed448->crv, Curve::kEd448);
  EXPECT_EQ(ed448->Describe(), "OKP Ed448 kid h'6564343438' (private)");
  // d that does not match x.
  ExpectError(KeyFromJwk(
                  R"({"kty":"OKP","crv":"Ed448",
      "x_hex":"5fd7449b59b461fd2ce787ec616ad46a1da1342485a70e1f8a0ea75d80e96778edf124769b46c7061bd6783df1e50f6cd1fa1abeafe8256180",
      "d_hex":"6c82a562cb808d10d632be89c8513ebf6c929f34ddfa8c9f63c9960ef6e348a3528c8a3fcc2f044e39a3fc5b94492f8f032e7549a20098f95c"})"),
              ErrorCode::kInvalidInput, "does not match");
  ExpectError(KeyFromJwk(R"({"kty":"RSA"})"), ErrorCode::kUnsupported, "RSA");
}

TEST(CoseKey, PemKeys) {
  Key k448 = Generate(crypto::KeyType::kEd448, 6);
  auto pem448 = k448.private_key->ToPem();
  ASSERT_TRUE(pem448);
  auto back448 = KeyFromPem(pem448->AsStringView());
  ASSERT_TRUE(back448) << back448.error().ToString();
  EXPECT_EQ(back448->kty, KeyType::kOkp);
  EXPECT_EQ(back448->crv, Curve::kEd448);
  Key k = Generate(crypto::KeyType::kEd25519, 6);
  auto pem = k.private_key->ToPem();
  ASSERT_TRUE(pem);
  auto back = KeyFromPem(pem->AsStringView());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->crv, Curve::kEd25519);
  auto pub = k.public_key->ToPem();
  ASSERT_TRUE(pub);
  auto pk = KeyFromPem(*pub);
  ASSERT_TRUE(pk);
  EXPECT_FALSE(pk->has_private());
  ExpectError(KeyFromPem("-----BEGIN CERTIFICATE-----"), ErrorCode::kInvalidInput,
              "neither a PRIVATE KEY nor a PUBLIC KEY");
}

// ---- CWT (RFC 8392)
// ------------------------------------------------------------------------------

// RFC 8392 Appendix A.1, "Example CWT Claims Set" (hex as printed in the RFC).
constexpr const char* kRfc8392A1 =
    "a70175636f61703a2f2f61732e6578616d706c652e636f6d02656572696b77037818636f61703a2f2f6c69676874"
    "2e6578616d706c652e636f6d041a5612aeb0051a5610d9f0061a5610d9f007420b71";

TEST(CoseCwt, Rfc8392AppendixA1ClaimsSet) {
  auto c = DecodeCwtClaims(H(kRfc8392A1));
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(*c->iss, "coap://as.example.com");
  EXPECT_EQ(*c->sub, "erikw");
  EXPECT_EQ(*c->aud, "coap://light.example.com");
  EXPECT_EQ(*c->exp, 1444064944);
  EXPECT_EQ(*c->nbf, 1443944944);
  EXPECT_EQ(*c->iat, 1443944944);
  EXPECT_EQ(*c->cti, H("0b71"));
  EXPECT_TRUE(c->other.empty());
  EXPECT_EQ(cbor::ToHex(cbor::Encode(ClaimsToValue(*c))), kRfc8392A1);
  // Tag 61 (RFC 8392 §6) is accepted.
  EXPECT_TRUE(DecodeCwtClaims(cbor::Encode(Value::Tag(kTagCwt, ClaimsToValue(*c)))));
  EXPECT_TRUE(CheckCwtTimes(*c, 1443944944));
  ExpectError(CheckCwtTimes(*c, 1444064944), ErrorCode::kVerifyFailed, "expired");
  ExpectError(CheckCwtTimes(*c, 1443944943), ErrorCode::kVerifyFailed, "not valid before");
  EXPECT_TRUE(CheckCwtTimes(*c, 1444064944, 10));
}

TEST(CoseCwt, RejectsWrongClaimTypes) {
  ExpectError(DecodeCwtClaims(H("a10101")), ErrorCode::kInvalidInput, "iss must be a text string");
  ExpectError(DecodeCwtClaims(H("a10461ff")), ErrorCode::kInvalidInput, "invalid UTF-8");
  ExpectError(DecodeCwtClaims(H("a104f93c00")), ErrorCode::kUnsupported, "floating-point");
  ExpectError(DecodeCwtClaims(H("a10701")), ErrorCode::kInvalidInput, "cti must be a byte string");
  ExpectError(DecodeCwtClaims(H("d83ca0")), ErrorCode::kInvalidInput, "unexpected CBOR tag 60");
  auto other = DecodeCwtClaims(H("a2016161186301"));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->other.size(), 1u);
}

}  // namespace
}  // namespace secprof::cose

// Unit tests for secprof::cose: round trips for every algorithm and malformed and mismatched
// input rejected with a reason. COSE_Sign/COSE_Encrypt, keys and CWT are in cose_multi_test.cpp;
// the `secprof cose` command's exit codes are tests/cli/cose_cli_test.cpp.
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

// ---- Round trips
// ---------------------------------------------------------------------------------

TEST(CoseSign1, Es256AndEdDsaRoundTripTaggedUntaggedDetached) {
  for (auto [type, alg] : {std::pair{crypto::KeyType::kP256, kAlgEs256},
                           std::pair{crypto::KeyType::kEd25519, kAlgEdDsa}}) {
    Key key = Generate(type, 7);
    Sign1Params p;
    p.alg = alg;
    p.unprotected.Set(label::kKid, Value::ByteString(key.kid));
    p.external_aad = kAad;
    auto m = CreateSign1(key, kPayload, p);
    ASSERT_TRUE(m) << m.error().ToString();
    EXPECT_EQ(*m->protected_header.map.Find(label::kAlg), Value::Int(alg));
    for (bool tagged : {true, false}) {
      const Bytes wire = Encode(*m, tagged);
      EXPECT_EQ(wire[0] == 0xd2, tagged);
      auto back = DecodeSign1(wire);
      ASSERT_TRUE(back) << back.error().ToString();
      EXPECT_TRUE(VerifySign1(*back, key, kAad));
      ExpectError(VerifySign1(*back, key, {}), ErrorCode::kVerifyFailed, "does not verify");
    }
    // A verifier with only the public key.
    auto pub = KeyFromPublic(*key.public_key);
    ASSERT_TRUE(pub);
    EXPECT_TRUE(VerifySign1(*m, *pub, kAad));
    ExpectError(CreateSign1(*pub, kPayload, p), ErrorCode::kVerifyFailed, "no private key");

    p.detached = true;
    auto d = CreateSign1(key, kPayload, p);
    ASSERT_TRUE(d);
    EXPECT_FALSE(d->payload);
    ExpectError(VerifySign1(*d, key, kAad), ErrorCode::kInvalidInput, "detached payload");
    EXPECT_TRUE(VerifySign1(*d, key, kAad, ByteView(kPayload)));
  }
}

TEST(CoseSign1, Ed25519IsDeterministicAndMatchesRfc8032Key) {
  // RFC 8032 §7.1 TEST 1 key (the cose-wg eddsa examples use it too).
  auto sk = crypto::PrivateKey::FromRaw(
      crypto::KeyType::kEd25519,
      H("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  ASSERT_TRUE(sk);
  auto key = KeyFromPrivate(std::move(*sk));
  ASSERT_TRUE(key);
  Sign1Params p;
  p.alg = kAlgEdDsa;
  auto a = CreateSign1(*key, kPayload, p);
  auto b = CreateSign1(*key, kPayload, p);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(Encode(*a), Encode(*b));
}

TEST(CoseMac0, HmacRoundTripsAndTruncation) {
  Key key = SymmetricKey(H("849b57219dae48de646d07dbb533566e976686457c1491be3a76dcea6c427188"));
  for (auto [alg, size] : {std::pair{kAlgHmac256_64, 8u}, std::pair{kAlgHmac256_256, 32u}}) {
    Mac0Params p;
    p.alg = alg;
    p.external_aad = kAad;
    auto m = CreateMac0(key, kPayload, p);
    ASSERT_TRUE(m) << m.error().ToString();
    EXPECT_EQ(m->tag.size(), size);
    auto back = DecodeMac0(Encode(*m, false));
    ASSERT_TRUE(back);
    EXPECT_TRUE(VerifyMac0(*back, key, kAad));
    back->tag.back() ^= 1;
    ExpectError(VerifyMac0(*back, key, kAad), ErrorCode::kVerifyFailed, "tag does not verify");
  }
  ExpectError(CreateMac0(SymmetricKey(H("00112233")), kPayload, {}), ErrorCode::kVerifyFailed,
              "at least 32 bytes");
}

TEST(CoseEncrypt0, EveryAeadAlgorithmRoundTrips) {
  for (int64_t alg :
       {kAlgA128Gcm, kAlgA192Gcm, kAlgA256Gcm, kAlgAesCcm16_64_128, kAlgAesCcm16_64_256,
        kAlgAesCcm64_64_128, kAlgAesCcm64_64_256, kAlgAesCcm16_128_128, kAlgAesCcm16_128_256,
        kAlgAesCcm64_128_128, kAlgAesCcm64_128_256}) {
    auto info = LookupAlgorithm(alg);
    ASSERT_TRUE(info);
    Bytes k(info->key_size, 0x42);
    Key key = SymmetricKey(k);
    auto rng = crypto::FakeRandom::FromSeed(static_cast<uint64_t>(alg));
    Encrypt0Params p;
    p.alg = alg;
    p.external_aad = kAad;
    auto m = CreateEncrypt0(key, kPayload, p, rng);
    ASSERT_TRUE(m) << info->name << ": " << m.error().ToString();
    EXPECT_EQ(m->unprotected.Find(label::kIv)->bytes().size(), info->iv_size);
    EXPECT_EQ(m->ciphertext->size(), kPayload.size() + info->tag_size);
    auto back = DecodeEncrypt0(Encode(*m));
    ASSERT_TRUE(back);
    auto pt = DecryptEncrypt0(*back, key, kAad);
    ASSERT_TRUE(pt) << info->name << ": " << pt.error().ToString();
    EXPECT_EQ(*pt, kPayload);
    ExpectError(DecryptEncrypt0(*back, key, {}), ErrorCode::kVerifyFailed,
                "authentication tag does not verify");
    ExpectError(
        DecryptEncrypt0(*back, SymmetricKey(Bytes(info->key_size == 16 ? 32 : 16, 1)), kAad),
        ErrorCode::kVerifyFailed, "the key must have");
  }
}

TEST(CoseEncrypt0, PartialIvCombinesWithBaseIv) {
  // RFC 9052 §3.1: nonce = Base IV XOR (Partial IV left-padded to the IV length).
  Key key = SymmetricKey(Bytes(16, 7));
  key.base_iv = H("00112233445566778899aabbcc");
  Encrypt0 m;
  HeaderMap prot;
  prot.Set(label::kAlg, Value::Int(kAlgAesCcm16_64_128));
  m.protected_header = ProtectedHeader::FromMap(prot);
  m.unprotected.Set(label::kPartialIv, Value::ByteString(H("0102")));
  ASSERT_TRUE(EncryptPrepared(m, key, kPayload, {}));
  // The same message with the full IV spelled out decrypts identically.
  Encrypt0 full = m;
  full.unprotected = HeaderMap();
  full.unprotected.Set(label::kIv, Value::ByteString(H("00112233445566778899aabace")));
  auto pt = DecryptEncrypt0(full, key, {});
  ASSERT_TRUE(pt) << pt.error().ToString();
  EXPECT_EQ(*pt, kPayload);
  EXPECT_TRUE(DecryptEncrypt0(m, key, {}));
}

TEST(CoseStructures, MatchRfc9052Layouts) {
  // Sig_structure for protected {1: -7}, no AAD, payload "This is the content." (cose-wg
  // sign1-tests intermediates use the same layout).
  EXPECT_EQ(cbor::ToHex(SigStructure1(H("a10126"), {}, kPayload)),
            "846a5369676e61747572653143a101264054546869732069732074686520636f6e74656e742e");
  EXPECT_EQ(cbor::ToHex(MacStructure0({}, {}, B("x"))), "84644d41433040404178");
  EXPECT_EQ(cbor::ToHex(EncStructure0(H("a1010a"), {})), "8368456e63727970743043a1010a40");
  // An empty protected map received as h'A0' is used as h'' (RFC 9052 §4.4).
  auto p = ProtectedHeader::FromEncoded(H("a0"));
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->for_structure().empty());
  EXPECT_EQ(p->encoded, H("a0"));
}

// ---- Malformed and mismatched messages
// -----------------------------------------------------------

class CoseMalformed : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = Generate(crypto::KeyType::kP256, 1);
    Sign1Params p;
    auto m = CreateSign1(key_, kPayload, p);
    ASSERT_TRUE(m);
    good_ = Encode(*m);
    msg_ = *m;
  }
  Key key_;
  Sign1 msg_;
  Bytes good_;
};

TEST_F(CoseMalformed, TruncatedAndTrailingCbor) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{5}, good_.size() - 1}) {
    auto r = DecodeSign1(ByteView(good_.data(), n));
    ExpectError(r, ErrorCode::kInvalidInput, "truncated input");
  }
  Bytes extra = good_;
  extra.push_back(0);
  ExpectError(DecodeSign1(extra), ErrorCode::kInvalidInput, "trailing bytes");
}

TEST_F(CoseMalformed, WrongStructure) {
  auto sign1 = [](cbor::Array a) { return cbor::Encode(Value::Tag(18, Value::MakeArray(a))); };
  const Value prot = Value::ByteString(H("a10126"));
  const Value sig = Value::ByteString(Bytes(64, 0));
  ExpectError(DecodeSign1(sign1({prot, Value::Map(), Value::Null()})), ErrorCode::kInvalidInput,
              "array of 4 items, found 3");
  ExpectError(DecodeSign1(sign1({prot, Value::Map(), Value::Null(), sig, sig})),
              ErrorCode::kInvalidInput, "array of 4 items, found 5");
  ExpectError(DecodeSign1(cbor::Encode(Value::Tag(18, Value::Map()))), ErrorCode::kInvalidInput,
              "must be an array, found map");
  ExpectError(DecodeSign1(sign1({Value::Map(), Value::Map(), Value::Null(), sig})),
              ErrorCode::kInvalidInput, "protected header must be a byte string, found map");
  ExpectError(DecodeSign1(sign1({prot, Value::ByteString(Bytes{}), Value::Null(), sig})),
              ErrorCode::kInvalidInput, "unprotected header must be a map");
  ExpectError(DecodeSign1(sign1({prot, Value::Map(), Value::Text("x"), sig})),
              ErrorCode::kInvalidInput, "payload must be a byte string or nil");
  ExpectError(DecodeSign1(sign1({prot, Value::Map(), Value::Null(), Value::Text("s")})),
              ErrorCode::kInvalidInput, "signature must be a byte string");
  ExpectError(DecodeSign1(sign1({Value::ByteString(H("01")), Value::Map(), Value::Null(), sig})),
              ErrorCode::kInvalidInput, "header map is a unsigned integer");
  // kid must be a bstr
  ExpectError(
      DecodeSign1(sign1({prot, Value::Map({{Value::Int(4), Value::Int(1)}}), Value::Null(), sig})),
      ErrorCode::kInvalidInput, "must be a byte string");
  // The same label in both buckets (RFC 9052 §3).
  ExpectError(
      DecodeSign1(sign1({prot, Value::Map({{Value::Int(1), Value::Int(-7)}}), Value::Null(), sig})),
      ErrorCode::kInvalidInput, "in both the protected and the unprotected bucket");
  // Indefinite lengths are refused in COSE input (see cbor::Limits::allow_indefinite).
  ExpectError(DecodeSign1(H("d29f43a10126a0f64100ff")), ErrorCode::kInvalidInput,
              "indefinite-length array not allowed");
  // Duplicate labels in a header map.
  ExpectError(DecodeSign1(H("d28443a10126a2044101044102f640") /* unprot {4: h'01', 4: h'02'} */),
              ErrorCode::kInvalidInput, "duplicate map key 4");
}

TEST_F(CoseMalformed, TagMismatch) {
  Bytes as_mac = good_;
  as_mac[0] = 0xd1;  // tag 17 (COSE_Mac0) on a COSE_Sign1
  ExpectError(DecodeSign1(as_mac), ErrorCode::kInvalidInput,
              "CBOR tag 17 where COSE_Sign1 expects tag 18");
  ExpectError(DecodeMac0(good_), ErrorCode::kInvalidInput, "CBOR tag 18 where COSE_Mac0 expects");
  ExpectError(DecodeEncrypt0(good_), ErrorCode::kInvalidInput, "expects tag 16");
  ExpectError(DecodeSign1(Encode(msg_, false), TagPolicy::kRequireTagged), ErrorCode::kInvalidInput,
              "must carry CBOR tag 18");
  ExpectError(DecodeSign1(good_, TagPolicy::kRequireUntagged), ErrorCode::kInvalidInput,
              "must be untagged");
}

TEST_F(CoseMalformed, WrongAlgorithmInProtectedHeader) {
  auto with_alg = [&](Value alg) {
    Sign1 m = msg_;
    HeaderMap h;
    h.Set(label::kAlg, std::move(alg));
    m.protected_header = ProtectedHeader::FromMap(h);
    auto back = DecodeSign1(Encode(m));
    EXPECT_TRUE(back);
    return VerifySign1(*back, key_, {});
  };
  ExpectError(with_alg(Value::Int(-999)), ErrorCode::kInvalidInput, "unknown algorithm -999");
  ExpectError(with_alg(Value::Text("unknown")), ErrorCode::kInvalidInput,
              "unknown algorithm \"unknown\"");
  ExpectError(with_alg(Value::Int(kAlgHmac256_256)), ErrorCode::kInvalidInput,
              "HMAC 256/256 is a MAC algorithm; this message needs a signature algorithm");
  // EdDSA in the header, but the key is EC2 P-256: this key cannot verify it.
  ExpectError(with_alg(Value::Int(kAlgEdDsa)), ErrorCode::kVerifyFailed,
              "EdDSA needs an OKP Ed25519 or Ed448 key");
  // No alg at all.
  Sign1 m = msg_;
  m.protected_header = ProtectedHeader{};
  ExpectError(VerifySign1(m, key_, {}), ErrorCode::kInvalidInput, "no algorithm");
  // A key restricted to another algorithm (RFC 9052 §7.1).
  Key restricted = key_;
  restricted.alg = kAlgEdDsa;
  ExpectError(VerifySign1(msg_, restricted, {}), ErrorCode::kVerifyFailed,
              "restricted to algorithm -8");
  // crit naming a parameter we do not understand.
  HeaderMap crit;
  crit.Set(label::kAlg, Value::Int(kAlgEs256));
  crit.Set(label::kCrit, Value::MakeArray({Value::Int(99)}));
  crit.Set(99, Value::Int(0));
  m.protected_header = ProtectedHeader::FromMap(crit);
  ExpectError(VerifySign1(m, key_, {}), ErrorCode::kInvalidInput, "is not understood");
}

TEST_F(CoseMalformed, TamperedContentFailsVerification) {
  Sign1 m = msg_;
  m.payload->back() ^= 1;
  ExpectError(VerifySign1(m, key_, {}), ErrorCode::kVerifyFailed, "does not verify");
  m = msg_;
  m.signature.resize(63);
  ExpectError(VerifySign1(m, key_, {}), ErrorCode::kVerifyFailed, "");
  Key other = Generate(crypto::KeyType::kP256, 2);
  ExpectError(VerifySign1(msg_, other, {}), ErrorCode::kVerifyFailed, "does not verify");
}

}  // namespace
}  // namespace secprof::cose

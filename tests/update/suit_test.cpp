// Unit tests for secprof::update: create -> verify round trip, wrong key, vendor/class and image
// checks, truncated envelope, wrong tag, strictness of the parser.
#include <gtest/gtest.h>

#include <fstream>

#include "secprof/crypto/keys.h"
#include "secprof/update/suit.h"
#include "testutil.h"

namespace secprof::update {
namespace {

cose::Key P256(uint8_t seed) {
  Bytes d(32, seed);
  d[0] = 0x01;
  auto sk = crypto::PrivateKey::FromRaw(crypto::KeyType::kP256, d);
  EXPECT_TRUE(sk.has_value());
  return *cose::KeyFromPrivate(std::move(*sk));
}

CreateParams Params() {
  CreateParams p;
  p.vendor_id = *ParseUuid("fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe");
  p.class_id = *ParseUuid("1492af14-2569-5e48-bf42-9b2d51f2ab45");
  p.sequence_number = 7;
  return p;
}

Bytes Image() {
  Bytes img(1000);
  for (size_t i = 0; i < img.size(); ++i) img[i] = static_cast<uint8_t>(i * 7);
  return img;
}

TEST(SuitCreate, RoundTripVerifies) {
  auto key = P256(0x11);
  auto env = CreateEnvelope(Image(), Params(), key);
  ASSERT_TRUE(env.has_value()) << env.error().ToString();
  auto parsed = ParseAndVerify(*env, key);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().ToString();
  EXPECT_EQ(parsed->manifest.sequence_number, 7u);
  ASSERT_EQ(parsed->manifest.common.components.size(), 1u);
  EXPECT_EQ(parsed->manifest.common.components[0], ComponentId{Bytes{0x00}});
  auto p = ImageParametersFor(parsed->manifest);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(*p->image_size, 1000u);
  EXPECT_TRUE(CheckImage(*p, Image()));
  EXPECT_TRUE(CheckVendorClass(*p, Params().vendor_id, Params().class_id));
  ASSERT_TRUE(parsed->manifest.validate && parsed->manifest.invoke && parsed->manifest.install);
  EXPECT_EQ(parsed->manifest.invoke->commands[0].label, cmd::kInvoke);
}

TEST(SuitCreate, DeterministicManifest) {
  // ECDSA signatures are randomized; the manifest bytes and digest are not.
  auto key = P256(0x11);
  auto a = ParseEnvelope(*CreateEnvelope(Image(), Params(), key));
  auto b = ParseEnvelope(*CreateEnvelope(Image(), Params(), key));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->manifest_bstr, b->manifest_bstr);
  EXPECT_EQ(a->auth.digest_encoded, b->auth.digest_encoded);
}

TEST(SuitCreate, Ed25519AndUri) {
  auto sk = crypto::PrivateKey::FromRaw(crypto::KeyType::kEd25519, Bytes(32, 0x42));
  ASSERT_TRUE(sk);
  auto key = *cose::KeyFromPrivate(std::move(*sk));
  auto params = Params();
  params.uri = "coap://fw.example/img.bin";
  auto env = CreateEnvelope(Image(), params, key);
  ASSERT_TRUE(env) << env.error().ToString();
  auto parsed = ParseAndVerify(*env, key);
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  EXPECT_EQ(*ImageParametersFor(parsed->manifest)->uri, params.uri);
}

TEST(SuitCreate, RefusesBadParameters) {
  auto p = Params();
  p.vendor_id.pop_back();
  EXPECT_EQ(CreateEnvelope(Image(), p, P256(1)).error().code(), ErrorCode::kInvalidInput);
  auto pub = cose::KeyFromPublic(*P256(1).public_key);
  ASSERT_TRUE(pub);
  EXPECT_FALSE(CreateEnvelope(Image(), Params(), *pub));
}

TEST(SuitVerify, WrongKeyRejected) {
  auto env = CreateEnvelope(Image(), Params(), P256(0x11));
  ASSERT_TRUE(env);
  auto r = ParseAndVerify(*env, P256(0x22));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kVerifyFailed);
}

TEST(SuitVerify, VendorClassMismatchDetected) {
  auto env = ParseAndVerify(*CreateEnvelope(Image(), Params(), P256(3)), P256(3));
  ASSERT_TRUE(env);
  auto p = *ImageParametersFor(env->manifest);
  Bytes other = Params().vendor_id;
  other[15] ^= 1;
  auto v = CheckVendorClass(p, other, Params().class_id);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code(), ErrorCode::kVerifyFailed);
  EXPECT_NE(v.error().message().find("vendor-id"), std::string::npos);
  auto c = CheckVendorClass(p, Params().vendor_id, other);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("class-id"), std::string::npos);
  EXPECT_FALSE(CheckVendorClass(ImageParameters{}, Params().vendor_id, Params().class_id));
}

TEST(SuitVerify, ImageFileDigestAndSize) {
  secprof::testing::TempDir dir;
  auto env = ParseAndVerify(*CreateEnvelope(Image(), Params(), P256(3)), P256(3));
  ASSERT_TRUE(env);
  auto p = *ImageParametersFor(env->manifest);
  const auto good = (dir.path() / "good.bin").string();
  const auto bad = (dir.path() / "bad.bin").string();
  const auto shorter = (dir.path() / "short.bin").string();
  Bytes img = Image();
  std::ofstream(good, std::ios::binary)
      .write(reinterpret_cast<const char*>(img.data()), img.size());
  img[500] ^= 0x80;
  std::ofstream(bad, std::ios::binary).write(reinterpret_cast<const char*>(img.data()), img.size());
  std::ofstream(shorter, std::ios::binary).write(reinterpret_cast<const char*>(img.data()), 999);
  EXPECT_TRUE(CheckImageFile(p, good));
  auto b = CheckImageFile(p, bad);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code(), ErrorCode::kVerifyFailed);
  EXPECT_NE(b.error().message().find("image-digest"), std::string::npos);
  auto s = CheckImageFile(p, shorter);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("image-size"), std::string::npos);
  EXPECT_EQ(CheckImageFile(p, (dir.path() / "missing").string()).error().code(),
            ErrorCode::kNotFound);
}

TEST(SuitParse, TruncatedEnvelopeRejected) {
  auto env = CreateEnvelope(Image(), Params(), P256(3));
  ASSERT_TRUE(env);
  for (size_t n = 0; n < env->size(); ++n) {
    auto r = ParseEnvelope(ByteView(env->data(), n));
    ASSERT_FALSE(r) << "prefix of " << n << " bytes accepted";
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidInput);
  }
}

TEST(SuitParse, WrongTagRejected) {
  auto env = CreateEnvelope(Image(), Params(), P256(3));
  ASSERT_TRUE(env);
  Bytes b = *env;
  ASSERT_EQ(b[0], 0xd8);
  ASSERT_EQ(b[1], 107);
  b[1] = 108;
  auto r = ParseEnvelope(b);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("tag"), std::string::npos);
  // Untagged: valid SUIT (SUIT_Envelope), refused only when the caller requires the tag.
  Bytes untagged(env->begin() + 2, env->end());
  EXPECT_TRUE(ParseEnvelope(untagged));
  EXPECT_FALSE(ParseEnvelope(untagged, {}, false));
}

TEST(SuitParse, StructuralErrorsNameTheField) {
  using cbor::Value;
  auto env = ParseEnvelope(*CreateEnvelope(Image(), Params(), P256(3)));
  ASSERT_TRUE(env);
  // Rebuild with a manifest of version 2.
  Value m = *cbor::Decode(ByteView(env->manifest_bstr).subspan(2));
  for (auto& [k, v] : m.map())
    if (k == Value::Int(1)) v = Value::Unsigned(2);
  auto r = ParseManifest(cbor::Encode(m));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("manifest-version"), std::string::npos);
  // Missing sequence number.
  Value m2 = *cbor::Decode(ByteView(env->manifest_bstr).subspan(2));
  m2.map().erase(m2.map().begin() + 1);
  auto r2 = ParseManifest(cbor::Encode(m2));
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().message().find("manifest-sequence-number"), std::string::npos);
  // An envelope without the authentication wrapper.
  Value e = Value::Tag(107, Value::Map({{Value::Int(3), Value::ByteString(cbor::Encode(m))}}));
  auto r3 = ParseEnvelope(cbor::Encode(e));
  ASSERT_FALSE(r3);
  EXPECT_NE(r3.error().message().find("authentication-wrapper"), std::string::npos);
}

TEST(SuitParse, NonPreferredSerializationRejected) {
  auto env = CreateEnvelope(Image(), Params(), P256(3));
  ASSERT_TRUE(env);
  // d8 6b a2 02 58 LL ...: widen the wrapper's bstr head 58 LL to 59 00 LL.
  Bytes b(env->begin(), env->begin() + 4);
  ASSERT_EQ((*env)[4], 0x58);
  b.push_back(0x59);
  b.push_back(0x00);
  b.insert(b.end(), env->begin() + 5, env->end());
  EXPECT_FALSE(ParseEnvelope(b));
}

TEST(SuitParse, SizeLimit) {
  auto env = CreateEnvelope(Image(), Params(), P256(3));
  ASSERT_TRUE(env);
  ParseLimits l;
  l.max_envelope_bytes = 64;
  EXPECT_EQ(ParseEnvelope(*env, l).error().code(), ErrorCode::kLimit);
}

TEST(SuitUuid, ParseAndFormat) {
  auto u = ParseUuid("fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe");
  ASSERT_TRUE(u);
  EXPECT_EQ(FormatUuid(*u), "fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe");
  EXPECT_EQ(*ParseUuid("fa6b4a53d5ad5fdfbe9de663e4d41ffe"), *u);
  EXPECT_FALSE(ParseUuid("fa6b4a53-d5ad-5fdf-be9d-e663e4d41f"));
  EXPECT_FALSE(ParseUuid("fa6b4a53d5ad5fdfbe9de663e4d41ffe00"));
  EXPECT_FALSE(ParseUuid("zz6b4a53d5ad5fdfbe9de663e4d41ffe"));
}

}  // namespace
}  // namespace secprof::update

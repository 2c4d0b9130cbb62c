// Conformance: the six examples of draft-ietf-suit-manifest (shared/vectors/suit, from
// suit-wg/manifest-spec examples/) parse, verify with the public half of private_key.pem, carry
// the values their JSON input names, and stop verifying when any byte of the manifest, the
// digest, the signature or a severed member changes.
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <sstream>

#include "secprof/core/fs.h"
#include "secprof/cose/cose.h"
#include "secprof/update/suit.h"
#include "testutil.h"

namespace secprof::update {
namespace {

std::filesystem::path SuitDir() { return secprof::testing::VectorsDir() / "suit"; }

// Every ~~~ block of exampleN.txt whose lines are all hex digits is an encoded envelope (the
// file holds it without and with the COSE authentication object; example 2 also with severable
// elements). Returned in file order.
std::vector<Bytes> HexEnvelopes(const std::string& text) {
  std::vector<Bytes> out;
  std::istringstream in(text);
  std::string line, block;
  bool inside = false, all_hex = true;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.rfind("~~~", 0) == 0) {
      if (inside && all_hex && !block.empty()) {
        auto b = cbor::FromHex(block);
        if (b) out.push_back(*b);
      }
      inside = !inside;
      block.clear();
      all_hex = true;
      continue;
    }
    if (!inside) continue;
    for (char c : line)
      if (!std::isxdigit(static_cast<unsigned char>(c))) all_hex = false;
    block += line;
  }
  return out;
}

cose::Key VectorKey() {
  auto pem = ReadFile((SuitDir() / "private_key.pem").string());
  EXPECT_TRUE(pem.has_value());
  auto k = cose::KeyFromPem(*pem);
  EXPECT_TRUE(k.has_value()) << k.error().ToString();
  // Verify with the public half only.
  auto pub = cose::KeyFromPublic(*k->public_key);
  EXPECT_TRUE(pub.has_value());
  return *pub;
}

size_t Find(const Bytes& hay, const Bytes& needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end());
  return it == hay.end() ? std::string::npos : static_cast<size_t>(it - hay.begin());
}

// Flips `mask` into each byte of [begin, end) and counts the variants that still verify.
size_t AcceptedFlips(const Bytes& env, size_t begin, size_t end, uint8_t mask, const cose::Key& key,
                     std::string* first) {
  size_t accepted = 0;
  for (size_t i = begin; i < end; ++i) {
    Bytes b = env;
    b[i] ^= mask;
    if (ParseAndVerify(b, key)) {
      if (!accepted && first) *first = "offset " + std::to_string(i);
      ++accepted;
    }
  }
  return accepted;
}

struct Expected {
  uint64_t seq;
  bool has_digest;  // component 0's image-digest is set at the top level of the shared sequence
};

class SuitExample : public ::testing::TestWithParam<int> {};

TEST_P(SuitExample, ParsesVerifiesAndRejectsEveryFlip) {
  SECPROF_REQUIRE_VECTORS("suit");
  const int n = GetParam();
  const auto base = SuitDir() / ("example" + std::to_string(n));
  auto txt = ReadFile(base.string() + ".txt");
  ASSERT_TRUE(txt.has_value());
  auto envs = HexEnvelopes(*txt);
  ASSERT_GE(envs.size(), 2u) << "expected the envelope without and with the COSE object";
  const cose::Key key = VectorKey();

  // The JSON input of the reference tool: sequence number, component 0's ids, digest and size.
  auto json = ReadFile(base.string() + ".json");
  ASSERT_TRUE(json.has_value());
  const Bytes vendor = *ParseUuid("fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe");
  const Bytes klass = *ParseUuid("1492af14-2569-5e48-bf42-9b2d51f2ab45");
  ASSERT_NE(json->find("\"manifest-sequence-number\": " + std::to_string(n)), std::string::npos);
  ASSERT_NE(json->find("fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe"), std::string::npos);
  ASSERT_NE(json->find("1492af14-2569-5e48-bf42-9b2d51f2ab45"), std::string::npos);
  const Bytes digest0 =
      *cbor::FromHex("00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210");
  ASSERT_NE(json->find(cbor::ToHex(digest0)), std::string::npos);
  ASSERT_NE(json->find("\"install-size\" : 34768"), std::string::npos);

  size_t signed_count = 0;
  for (size_t e = 0; e < envs.size(); ++e) {
    SCOPED_TRACE("example " + std::to_string(n) + " envelope " + std::to_string(e));
    const Bytes& wire = envs[e];
    auto env = ParseEnvelope(wire);
    ASSERT_TRUE(env.has_value()) << env.error().ToString();
    const Manifest& m = env->manifest;
    EXPECT_EQ(m.version, 1u);
    EXPECT_EQ(m.sequence_number, static_cast<uint64_t>(n));
    auto p = ImageParametersFor(m, 0);
    ASSERT_TRUE(p.has_value());
    EXPECT_TRUE(CheckVendorClass(*p, vendor, klass));
    if (n != 3) {  // example 3 sets the digest per slot inside try-each
      ASSERT_TRUE(p->image_digest.has_value());
      EXPECT_EQ(p->image_digest->bytes, digest0);
      EXPECT_EQ(p->image_size, 34768u);
    } else {
      EXPECT_FALSE(p->image_digest.has_value());
    }
    if (n == 5) {
      auto p1 = ImageParametersFor(m, 1);
      ASSERT_TRUE(p1);
      EXPECT_EQ(cbor::ToHex(p1->image_digest->bytes),
                "0123456789abcdeffedcba987654321000112233445566778899aabbccddeeff");
      EXPECT_EQ(p1->image_size, 76834u);
    }
    EXPECT_FALSE(Summary(*env).empty());
    EXPECT_NE(cbor::Diagnostic(env->value).find("107("), std::string::npos);

    if (env->auth.blocks.empty()) {
      auto v = VerifyEnvelope(*env, key);
      ASSERT_FALSE(v);  // nothing to verify the manifest with
      EXPECT_EQ(v.error().code(), ErrorCode::kUnsupported);
      continue;
    }
    ++signed_count;
    auto v = VerifyEnvelope(*env, key);
    ASSERT_TRUE(v) << v.error().ToString();

    // Every byte of the manifest bstr (head included), with two different flips.
    const size_t mpos = Find(wire, env->manifest_bstr);
    ASSERT_NE(mpos, std::string::npos);
    std::string first;
    for (uint8_t mask : {uint8_t{0x01}, uint8_t{0xff}}) {
      EXPECT_EQ(AcceptedFlips(wire, mpos, mpos + env->manifest_bstr.size(), mask, key, &first), 0u)
          << "manifest flip accepted at " << first;
    }
    // Every byte of the digest in the authentication wrapper.
    const size_t dpos = Find(wire, env->auth.digest_encoded);
    ASSERT_NE(dpos, std::string::npos);
    EXPECT_EQ(AcceptedFlips(wire, dpos, dpos + env->auth.digest_encoded.size(), 0x01, key, &first),
              0u)
        << "digest flip accepted at " << first;
    // Every byte of the COSE_Sign1 (protected header, signature, ...), in particular each of
    // the 64 signature bytes.
    const Bytes& block = env->auth.blocks[0];
    const size_t bpos = Find(wire, block);
    ASSERT_NE(bpos, std::string::npos);
    auto sign1 = cose::DecodeSign1(block);
    ASSERT_TRUE(sign1);
    ASSERT_EQ(sign1->signature.size(), 64u);
    const size_t spos = Find(wire, sign1->signature);
    ASSERT_NE(spos, std::string::npos);
    for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}}) {
      EXPECT_EQ(AcceptedFlips(wire, spos, spos + 64, mask, key, &first), 0u)
          << "signature flip accepted at " << first;
    }
    EXPECT_EQ(AcceptedFlips(wire, bpos, bpos + block.size(), 0x01, key, &first), 0u)
        << "COSE_Sign1 flip accepted at " << first;
    // Severed members (example 2): each byte is covered by its digest in the manifest.
    for (const auto& [label, bstr] : env->severed) {
      const size_t pos = Find(wire, bstr);
      ASSERT_NE(pos, std::string::npos);
      EXPECT_EQ(AcceptedFlips(wire, pos, pos + bstr.size(), 0x01, key, &first), 0u)
          << "severed member " << label << " flip accepted at " << first;
    }
    // A truncated envelope never parses.
    for (size_t k = 0; k < wire.size(); ++k)
      ASSERT_FALSE(ParseEnvelope(ByteView(wire.data(), k))) << "prefix " << k;
  }
  EXPECT_GE(signed_count, 1u);
  if (n == 2) {
    // Example 2 also comes with severable elements carried by the envelope.
    EXPECT_TRUE(std::any_of(envs.begin(), envs.end(), [](const Bytes& w) {
      auto e = ParseEnvelope(w);
      return e && e->severed.size() == 2;
    }));
  }
}

TEST_P(SuitExample, OtherKeyRejected) {
  SECPROF_REQUIRE_VECTORS("suit");
  auto txt = ReadFile((SuitDir() / ("example" + std::to_string(GetParam()) + ".txt")).string());
  ASSERT_TRUE(txt);
  auto envs = HexEnvelopes(*txt);
  auto other = crypto::PrivateKey::FromRaw(crypto::KeyType::kP256, Bytes(32, 0x05));
  ASSERT_TRUE(other);
  auto key = cose::KeyFromPrivate(std::move(*other));
  ASSERT_TRUE(key);
  for (const auto& w : envs) {
    auto env = ParseEnvelope(w);
    ASSERT_TRUE(env);
    if (env->auth.blocks.empty()) continue;
    auto v = VerifyEnvelope(*env, *key);
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error().code(), ErrorCode::kVerifyFailed);
  }
}

INSTANTIATE_TEST_SUITE_P(Draft, SuitExample, ::testing::Range(0, 6),
                         [](const ::testing::TestParamInfo<int>& i) {
                           return "example" + std::to_string(i.param);
                         });

}  // namespace
}  // namespace secprof::update

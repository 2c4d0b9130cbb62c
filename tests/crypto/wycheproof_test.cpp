// Conformance of secprof::crypto against Wycheproof v1 test vectors (C2SP/wycheproof,
// testvectors_v1/), read from VectorsDir()/wycheproof; skipped with one line when absent.
//
// Rules, for every file:
//   - every "valid" vector is accepted and, where the vector gives an output (ciphertext, tag,
//     OKM, shared secret), produces exactly that output;
//   - every "invalid" vector is rejected;
//   - "acceptable" vectors (only ecdh_secp256r1_test.json has them) follow an explicit per-flag
//     policy, written next to that test and asserted, so a change in behaviour is noticed;
//   - the number of vectors exercised must equal the file's numberOfTests and be > 0, so no test
//     can pass vacuously.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "hex.h"
#include "secprof/crypto/crypto.h"
#include "testutil.h"

namespace secprof::crypto {
namespace {

using nlohmann::json;
using testing::Hex;
using testing::Unhex;

struct Counts {
  int valid = 0;
  int invalid = 0;
  int acceptable = 0;
  int acceptable_accepted = 0;
  int acceptable_rejected = 0;
  int total() const { return valid + invalid + acceptable; }
};

std::optional<json> Load(const std::string& file) {
  const auto path = ::secprof::testing::VectorsDir() / "wycheproof" / file;
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "cannot open " << path;
    return std::nullopt;
  }
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    ADD_FAILURE() << "not JSON: " << path;
    return std::nullopt;
  }
  return j;
}

void Report(const std::string& file, const json& j, const Counts& c) {
  std::cout << "[ wycheproof ] " << file << ": " << c.total() << " vectors: " << c.valid
            << " valid, " << c.invalid << " invalid, " << c.acceptable << " acceptable ("
            << c.acceptable_accepted << " accepted, " << c.acceptable_rejected << " rejected)\n";
  ::testing::Test::RecordProperty("valid", c.valid);
  ::testing::Test::RecordProperty("invalid", c.invalid);
  ::testing::Test::RecordProperty("acceptable", c.acceptable);
  EXPECT_GT(c.total(), 0) << file << ": no vectors exercised";
  EXPECT_EQ(c.total(), j.at("numberOfTests").get<int>()) << file << ": vectors skipped";
}

std::string Where(const std::string& file, const json& t) {
  return file + " tcId " + std::to_string(t.at("tcId").get<int>()) + " (" +
         t.at("comment").get<std::string>() + ")";
}

// A hex string field of a vector.
Bytes H(const json& v) { return Unhex(v.get<std::string>()); }

std::set<std::string> Flags(const json& t) {
  std::set<std::string> f;
  for (const auto& x : t.at("flags")) f.insert(x.get<std::string>());
  return f;
}

// Applies the valid/invalid rule; `acceptable_policy` decides "acceptable" vectors:
// true = must accept, false = must reject.
void Judge(const std::string& file, const json& t, bool accepted, Counts* c,
           std::optional<bool> acceptable_policy = std::nullopt) {
  const std::string result = t.at("result").get<std::string>();
  if (result == "valid") {
    ++c->valid;
    EXPECT_TRUE(accepted) << "valid vector rejected: " << Where(file, t);
  } else if (result == "invalid") {
    ++c->invalid;
    EXPECT_FALSE(accepted) << "invalid vector accepted: " << Where(file, t);
  } else if (result == "acceptable") {
    ++c->acceptable;
    (accepted ? c->acceptable_accepted : c->acceptable_rejected)++;
    if (!acceptable_policy) {
      ADD_FAILURE() << "no policy for acceptable vector: " << Where(file, t);
    } else {
      EXPECT_EQ(accepted, *acceptable_policy)
          << "acceptable vector treated against policy: " << Where(file, t);
    }
  } else {
    ADD_FAILURE() << "unknown result '" << result << "': " << Where(file, t);
  }
}

// ------------------------------------------------------------------ ECDSA P-256 / SHA-256

void RunEcdsa(const std::string& file, SignatureAlgorithm alg) {
  SECPROF_REQUIRE_VECTORS("wycheproof");
  auto j = Load(file);
  ASSERT_TRUE(j);
  Counts c;
  for (const auto& g : j->at("testGroups")) {
    ASSERT_EQ(g.at("sha").get<std::string>(), "SHA-256");
    auto pk = PublicKey::FromDer(H(g.at("publicKeyDer")));
    ASSERT_TRUE(pk) << file << ": group key refused: " << pk.error().ToString();
    // The same key from its coordinates (COSE_Key / JWK path) must be the same key.
    const auto& jk = g.at("publicKey");
    auto from_point = PublicKey::FromRaw(KeyType::kP256, H(jk.at("uncompressed")));
    ASSERT_TRUE(from_point);
    EXPECT_TRUE(*from_point == *pk);
    for (const auto& t : g.at("tests")) {
      const Bytes msg = Unhex(t.at("msg").get<std::string>());
      const Bytes sig = Unhex(t.at("sig").get<std::string>());
      const bool ok = static_cast<bool>(pk->Verify(alg, msg, sig));
      Judge(file, t, ok, &c);
      if (ok) {
        // An accepted signature converts to the other encoding and still verifies.
        if (alg == SignatureAlgorithm::kEcdsaP256Sha256) {
          auto der = EcdsaP256RawToDer(sig);
          ASSERT_TRUE(der);
          EXPECT_TRUE(pk->Verify(SignatureAlgorithm::kEcdsaP256Sha256Der, msg, *der))
              << Where(file, t);
        } else {
          auto raw = EcdsaP256DerToRaw(sig);
          ASSERT_TRUE(raw) << Where(file, t);
          EXPECT_TRUE(pk->Verify(SignatureAlgorithm::kEcdsaP256Sha256, msg, *raw))
              << Where(file, t);
        }
      }
    }
  }
  Report(file, *j, c);
}

TEST(WycheproofEcdsa, P256Sha256P1363) {
  RunEcdsa("ecdsa_secp256r1_sha256_p1363_test.json", SignatureAlgorithm::kEcdsaP256Sha256);
}

TEST(WycheproofEcdsa, P256Sha256Der) {
  RunEcdsa("ecdsa_secp256r1_sha256_test.json", SignatureAlgorithm::kEcdsaP256Sha256Der);
}

// ------------------------------------------------------------------ Ed25519

TEST(WycheproofEd25519, Verify) {
  SECPROF_REQUIRE_VECTORS("wycheproof");
  const std::string file = "ed25519_test.json";
  auto j = Load(file);
  ASSERT_TRUE(j);
  Counts c;
  for (const auto& g : j->at("testGroups")) {
    auto pk = PublicKey::FromRaw(KeyType::kEd25519, H(g.at("publicKey").at("pk")));
    ASSERT_TRUE(pk) << pk.error().ToString();
    auto from_der = PublicKey::FromDer(H(g.at("publicKeyDer")));
    ASSERT_TRUE(from_der);
    EXPECT_TRUE(*from_der == *pk);
    for (const auto& t : g.at("tests")) {
      const bool ok = static_cast<bool>(
          pk->Verify(SignatureAlgorithm::kEd25519, H(t.at("msg")), H(t.at("sig"))));
      Judge(file, t, ok, &c);
    }
  }
  Report(file, *j, c);
}

// ------------------------------------------------------------------ AES-CCM

TEST(WycheproofAesCcm, SealAndOpen) {
  SECPROF_REQUIRE_VECTORS("wycheproof");
  const std::string file = "aes_ccm_test.json";
  auto j = Load(file);
  ASSERT_TRUE(j);
  Counts c;
  for (const auto& g : j->at("testGroups")) {
    const int key_bits = g.at("keySize"), iv_bits = g.at("ivSize"), tag_bits = g.at("tagSize");
    // Parameter sets CCM does not define (nonce outside 7..13, odd or too short tags) are refused
    // when the Aead is made: every vector of such a group must then be "invalid".
    auto aead = Aead::AesCcm(key_bits / 8, iv_bits / 8, tag_bits / 8);
    const bool whole_bytes = iv_bits % 8 == 0 && tag_bits % 8 == 0;
    for (const auto& t : g.at("tests")) {
      const Bytes key = H(t.at("key")), iv = H(t.at("iv")), aad = H(t.at("aad"));
      const Bytes msg = H(t.at("msg")), ct = H(t.at("ct")), tag = H(t.at("tag"));
      Bytes sealed_expected = ct;
      sealed_expected.insert(sealed_expected.end(), tag.begin(), tag.end());
      bool ok = false;
      if (aead && whole_bytes) {
        auto opened = aead->Open(key, iv, aad, sealed_expected);
        ok = opened.has_value();
        if (ok) {
          EXPECT_EQ(Hex(*opened), Hex(msg)) << Where(file, t);
          auto sealed = aead->Seal(key, iv, aad, msg);
          ASSERT_TRUE(sealed) << Where(file, t);
          EXPECT_EQ(Hex(*sealed), Hex(sealed_expected)) << Where(file, t);
          auto keyed = AeadKey::Create(*aead, key);  // the keyed path gives the same bytes
          ASSERT_TRUE(keyed);
          auto sealed2 = keyed->Seal(iv, aad, msg);
          ASSERT_TRUE(sealed2);
          EXPECT_EQ(*sealed2, *sealed) << Where(file, t);
        } else {
          EXPECT_EQ(opened.error().code(), ErrorCode::kVerifyFailed) << Where(file, t);
        }
      }
      Judge(file, t, ok, &c);
    }
  }
  Report(file, *j, c);
}

// ------------------------------------------------------------------ HKDF-SHA256

TEST(WycheproofHkdf, Sha256) {
  SECPROF_REQUIRE_VECTORS("wycheproof");
  const std::string file = "hkdf_sha256_test.json";
  auto j = Load(file);
  ASSERT_TRUE(j);
  Counts c;
  for (const auto& g : j->at("testGroups")) {
    for (const auto& t : g.at("tests")) {
      auto okm =
          HkdfSha256(H(t.at("ikm")), H(t.at("salt")), H(t.at("info")), t.at("size").get<size_t>());
      const bool ok = okm && Hex(*okm) == t.at("okm").get<std::string>();
      if (okm && t.at("result") == "valid") {
        EXPECT_EQ(Hex(*okm), t.at("okm").get<std::string>()) << Where(file, t);
      }
      Judge(file, t, ok, &c);
    }
  }
  Report(file, *j, c);
}

// ------------------------------------------------------------------ HMAC-SHA256

TEST(WycheproofHmac, Sha256) {
  SECPROF_REQUIRE_VECTORS("wycheproof");
  const std::string file = "hmac_sha256_test.json";
  auto j = Load(file);
  ASSERT_TRUE(j);
  Counts c;
  for (const auto& g : j->at("testGroups")) {
    const size_t tag_size = g.at("tagSize").get<size_t>() / 8;
    for (const auto& t : g.at("tests")) {
      const Bytes key = H(t.at("key")), msg = H(t.at("msg")), tag = H(t.at("tag"));
      const bool ok = static_cast<bool>(HmacSha256Verify(key, msg, tag, tag_size));
      if (t.at("result") == "valid") {
        auto full = HmacSha256(key, msg);
        ASSERT_TRUE(full);
        EXPECT_EQ(Hex(ByteView(*full).first(tag_size)), Hex(tag)) << Where(file, t);
      }
      Judge(file, t, ok, &c);
    }
  }
  Report(file, *j, c);
}

// ------------------------------------------------------------------ ECDH P-256

// The private key is printed as an ASN.1-style integer (may carry a 0x00 sign byte or be short):
// normalise it to the 32-byte scalar our API takes.
Bytes Scalar32(const Bytes& be) {
  auto first = std::find_if(be.begin(), be.end(), [](uint8_t b) { return b != 0; });
  Bytes trimmed(first, be.end());
  if (trimmed.size() > 32) return trimmed;  // FromRaw will refuse it
  Bytes out(32 - trimmed.size(), 0);
  out.insert(out.end(), trimmed.begin(), trimmed.end());
  return out;
}

// Policy for "acceptable" ECDH vectors. We take peer keys only as strict-DER SubjectPublicKeyInfo
// naming the curve (RFC 5480 §2.1.1 namedCurve), or as raw SEC 1 points:
//   - CompressedPublic / CompressedPoint (a valid compressed point in a named-curve SPKI):
//     ACCEPTED, with the exact shared secret — SEC 1 §2.3.3 allows compression and the point is
//     on the curve;
//   - everything else acceptable here is REJECTED: InvalidAsn (BER such as long-form lengths) and
//     keys with explicit curve parameters (UnnamedCurve, and with it WrongOrder, UnusedParam,
//     ModifiedGenerator, ModifiedCofactor, NoCofactor, ModifiedCurveParameter), even when the
//     parameters happen to describe P-256.
bool EcdhAcceptablePolicy(const std::set<std::string>& flags) {
  const bool compressed = flags.count("CompressedPublic") || flags.count("CompressedPoint");
  const bool explicit_or_ber = flags.count("InvalidAsn") || flags.count("UnnamedCurve");
  return compressed && !explicit_or_ber;
}

TEST(WycheproofEcdh, P256) {
  SECPROF_REQUIRE_VECTORS("wycheproof");
  const std::string file = "ecdh_secp256r1_test.json";
  auto j = Load(file);
  ASSERT_TRUE(j);
  Counts c;
  int raw_point_checks = 0;
  for (const auto& g : j->at("testGroups")) {
    ASSERT_EQ(g.at("curve"), "secp256r1");
    ASSERT_EQ(g.at("encoding"), "asn");
    for (const auto& t : g.at("tests")) {
      const Bytes spki = H(t.at("public"));
      auto sk = PrivateKey::FromRaw(KeyType::kP256, Scalar32(H(t.at("private"))));
      auto pk = PublicKey::FromDer(spki);
      bool ok = false;
      if (sk && pk) {
        auto shared = DeriveSharedSecret(*sk, *pk);
        if (shared) {
          ok = true;
          EXPECT_EQ(Hex(*shared), t.at("shared").get<std::string>()) << Where(file, t);
        }
      }
      if (t.at("result") == "valid") {
        EXPECT_TRUE(sk) << Where(file, t) << ": " << sk.error().ToString();
        EXPECT_TRUE(pk) << Where(file, t) << ": " << pk.error().ToString();
        // The same peer as a raw uncompressed point (the last 65 bytes of a named-curve SPKI).
        if (ok && spki.size() == 91 && spki[26] == 0x04) {
          auto raw = PublicKey::FromRaw(KeyType::kP256, ByteView(spki).last(65));
          ASSERT_TRUE(raw) << Where(file, t);
          auto shared = DeriveSharedSecret(*sk, *raw);
          ASSERT_TRUE(shared) << Where(file, t);
          EXPECT_EQ(Hex(*shared), t.at("shared").get<std::string>());
          ++raw_point_checks;
        }
      }
      Judge(file, t, ok, &c, EcdhAcceptablePolicy(Flags(t)));
    }
  }
  EXPECT_GT(raw_point_checks, 0);
  Report(file, *j, c);
}

}  // namespace
}  // namespace secprof::crypto

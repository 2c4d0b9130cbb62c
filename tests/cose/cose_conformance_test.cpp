// Conformance against the cose-wg Examples (VectorsDir()/cose; see vectors/README.md and
// examples.cddl there). For every example in the five folders:
//   - "fail": true  -> decoding + verifying/decrypting output.cbor must fail;
//   - pass          -> output.cbor verifies / decrypts to the plaintext; the intermediates
//                      (ToBeSign_hex per signer, ToMac_hex, AAD_hex, CEK_hex) equal what we
//                      build from the input; and the message we build from the input (headers
//                      in the input's order, IV from rng_stream, the example's "failures"
//                      applied) encodes to output.cbor byte for byte. ECDSA is randomized, so
//                      for ES256 the signature is taken from output.cbor and only verified.
// Message kinds: "sign0" COSE_Sign1, "sign" COSE_Sign (every signer verified with its key),
// "mac0" COSE_Mac0, "encrypted" COSE_Encrypt0, "enveloped" COSE_Encrypt with a direct recipient.
// Examples we do not handle are skipped with the reason and listed; none is skipped silently,
// and every folder asserts that nothing is skipped.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "secprof/cbor/cbor.h"
#include "secprof/cose/cose.h"
#include "testutil.h"

namespace secprof::cose {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
using cbor::Value;

Bytes H(const std::string& hex) {
  auto b = cbor::FromHex(hex);
  EXPECT_TRUE(b) << hex;
  return b ? *b : Bytes{};
}

Bytes Utf8(const std::string& s) { return Bytes(s.begin(), s.end()); }

// The Examples' header names (JSON) to COSE labels and values.
Result<HeaderMap> Headers(const json& j) {
  Value m = Value::Map();
  if (j.is_null()) return HeaderMap();
  for (const auto& [name, v] : j.items()) {
    if (name == "alg") {
      if (v.is_number_integer()) {
        m.map().emplace_back(Value::Int(label::kAlg), Value::Int(v.get<int64_t>()));
      } else if (v.get<std::string>() == "direct") {  // RFC 9053 §6.1.1, a recipient alg
        m.map().emplace_back(Value::Int(label::kAlg), Value::Int(kAlgDirect));
      } else {
        auto a = LookupAlgorithmByName(v.get<std::string>());
        // Unknown names stay text, as the example puts them on the wire.
        m.map().emplace_back(Value::Int(label::kAlg),
                             a ? Value::Int(a->id) : Value::Text(v.get<std::string>()));
      }
    } else if (name == "kid") {
      m.map().emplace_back(Value::Int(label::kKid), Value::ByteString(Utf8(v.get<std::string>())));
    } else if (name == "ctyp") {
      m.map().emplace_back(Value::Int(label::kContentType), Value::Int(v.get<int64_t>()));
    } else {
      return Fail(ErrorCode::kUnsupported, "header '" + name + "'");
    }
  }
  return HeaderMap::FromValue(m);
}

struct Tally {
  int files = 0;
  int passed = 0;    // pass examples that verified and matched
  int rejected = 0;  // fail examples that were rejected
  std::vector<std::string> skipped;
};

std::map<std::string, Tally>& Tallies() {
  static std::map<std::string, Tally> t;
  return t;
}

enum class Kind { kSign1, kMac0, kEncrypt0, kSign, kEncrypt };

class CoseWgExample {
 public:
  CoseWgExample(const fs::path& file, const json& j) : file_(file), j_(j) {}

  // Returns "" when handled, else the reason to skip.
  std::string Run(Tally& t) {
    const json& in = j_["input"];
    const bool fail = j_.value("fail", false);
    const json* section;
    Kind kind;
    if (in.contains("sign0")) {
      section = &in["sign0"], kind = Kind::kSign1;
    } else if (in.contains("mac0")) {
      section = &in["mac0"], kind = Kind::kMac0;
    } else if (in.contains("encrypted")) {
      section = &in["encrypted"], kind = Kind::kEncrypt0;
    } else if (in.contains("sign")) {
      section = &in["sign"], kind = Kind::kSign;
    } else if (in.contains("enveloped")) {
      section = &in["enveloped"], kind = Kind::kEncrypt;
    } else {
      return "unknown example kind";
    }
    const json& s = *section;
    // COSE_Sign: one key per signer; the others: the signer's or the (single) recipient's key.
    std::vector<Key> keys;
    if (kind == Kind::kSign) {
      EXPECT_TRUE(s["signers"].is_array() && !s["signers"].empty()) << file_;
      for (const auto& signer : s["signers"]) {
        auto k = KeyFromJwk(signer["key"].dump());
        if (!k && k.error().code() == ErrorCode::kUnsupported)
          return "key not supported: " + k.error().message();
        EXPECT_TRUE(k) << file_ << ": " << k.error().ToString();
        if (!k) return "";
        keys.push_back(*k);
      }
    }
    const json& jwk = kind == Kind::kSign1  ? s["key"]
                      : kind == Kind::kSign ? s["signers"][0]["key"]
                                            : s["recipients"][0]["key"];
    auto key = KeyFromJwk(jwk.dump());
    if (!key && key.error().code() == ErrorCode::kUnsupported)
      return "key not supported: " + key.error().message();
    EXPECT_TRUE(key) << file_ << ": " << key.error().ToString();
    if (!key) return "";
    if (kind == Kind::kMac0 || kind == Kind::kEncrypt0 || kind == Kind::kEncrypt) {
      const auto& r = s["recipients"][0];
      if (r["unprotected"].value("alg", "") != "direct")
        return "recipient algorithm " + r["unprotected"]["alg"].dump() + " is not implemented";
    }
    keys_ = keys;
    const Bytes aad = s.contains("external") ? H(s["external"].get<std::string>()) : Bytes{};
    const Bytes plaintext = Utf8(in["plaintext"].get<std::string>());
    const Bytes wire = H(j_["output"]["cbor"].get<std::string>());

    // 1. The message as published verifies (pass) or is rejected (fail).
    Status verdict = Verdict(kind, wire, *key, aad, plaintext);
    if (kind == Kind::kEncrypt) {  // the CEK is the direct recipient's key (RFC 9053 §6.1.1)
      if (j_["intermediates"].contains("CEK_hex"))
        Check(cbor::ToHex(key->secret->view()), j_["intermediates"]["CEK_hex"], "CEK");
    }
    if (fail) {
      EXPECT_FALSE(verdict) << file_ << ": a \"fail\" example was accepted";
      if (!verdict) ++t.rejected;
      // Intermediates are computed before the failure is applied: still check them.
      Rebuild(kind, s, *key, aad, plaintext, wire, /*compare_output=*/false);
      return "";
    }
    EXPECT_TRUE(verdict) << file_ << ": " << verdict.error().ToString();
    // 2. Rebuilding from the input gives the intermediates and the output bytes.
    const bool rebuilt = Rebuild(kind, s, *key, aad, plaintext, wire, /*compare_output=*/true);
    if (verdict && rebuilt) ++t.passed;
    return "";
  }

 private:
  Status Verdict(Kind kind, const Bytes& wire, const Key& key, const Bytes& aad,
                 const Bytes& plaintext) {
    switch (kind) {
      case Kind::kSign1: {
        SECPROF_ASSIGN_OR_RETURN(Sign1 m, DecodeSign1(wire));
        return VerifySign1(m, key, aad);
      }
      case Kind::kMac0: {
        SECPROF_ASSIGN_OR_RETURN(Mac0 m, DecodeMac0(wire));
        return VerifyMac0(m, key, aad);
      }
      case Kind::kEncrypt0: {
        SECPROF_ASSIGN_OR_RETURN(Encrypt0 m, DecodeEncrypt0(wire));
        SECPROF_ASSIGN_OR_RETURN(Bytes pt, DecryptEncrypt0(m, key, aad));
        if (pt != plaintext) return Fail(ErrorCode::kVerifyFailed, "plaintext differs");
        return Ok();
      }
      case Kind::kSign: {
        SECPROF_ASSIGN_OR_RETURN(Sign m, DecodeSign(wire));
        if (m.signatures.size() != keys_.size())
          return Fail(ErrorCode::kVerifyFailed, "number of signers differs");
        // Every signer with its own key, then all at once, then one signer with one key.
        for (size_t i = 0; i < keys_.size(); ++i) SECPROF_TRY(VerifySignature(m, i, keys_[i], aad));
        SECPROF_TRY(VerifySignAll(m, keys_, aad));
        SECPROF_ASSIGN_OR_RETURN(size_t which, VerifySign(m, key, aad));
        if (which != 0) return Fail(ErrorCode::kVerifyFailed, "wrong signer index");
        return Ok();
      }
      case Kind::kEncrypt: {
        SECPROF_ASSIGN_OR_RETURN(Encrypt m, DecodeEncrypt(wire));
        SECPROF_ASSIGN_OR_RETURN(Bytes pt, DecryptEncrypt(m, key, aad));
        if (pt != plaintext) return Fail(ErrorCode::kVerifyFailed, "plaintext differs");
        return Ok();
      }
    }
    return Fail(ErrorCode::kInternal, "kind");
  }

  // Builds the message from the input; checks the intermediate and, if asked, the output bytes.
  bool Rebuild(Kind kind, const json& s, const Key& key, const Bytes& aad, const Bytes& plaintext,
               const Bytes& wire, bool compare_output) {
    auto prot_map = Headers(s.contains("protected") ? s["protected"] : json());
    auto unprot = Headers(s.contains("unprotected") ? s["unprotected"] : json());
    EXPECT_TRUE(prot_map && unprot) << file_;
    if (!prot_map || !unprot) return false;
    const ProtectedHeader prot = ProtectedHeader::FromMap(*prot_map);
    const json& inter = j_["intermediates"];
    const json& failures = j_["input"].contains("failures") ? j_["input"]["failures"] : json();
    bool ok = true;
    Bytes built;
    const bool tagged = !failures.contains("RemoveCBORTag");
    switch (kind) {
      case Kind::kSign1: {
        const Bytes tbs = SigStructure1(prot.for_structure(), aad, plaintext);
        ok &= Check(cbor::ToHex(tbs), inter["ToBeSign_hex"], "ToBeSign");
        if (!compare_output) return ok;
        Sign1 m{prot, *unprot, plaintext, {}};
        auto st = SignPrepared(m, key, aad);
        EXPECT_TRUE(st) << file_ << ": " << st.error().ToString();
        if (!st) return false;
        auto published = DecodeSign1(wire);
        if (!published) return false;
        if (m.signature.size() == 64 && key.kty == KeyType::kEc2) {
          // ECDSA is randomized: ours must verify; then compare the rest with theirs.
          EXPECT_TRUE(VerifySign1(m, key, aad)) << file_;
          m.signature = published->signature;
        }
        ApplyFailures(m.protected_header, failures);
        built = Encode(m, tagged);
        break;
      }
      case Kind::kMac0: {
        const Bytes tbm = MacStructure0(prot.for_structure(), aad, plaintext);
        ok &= Check(cbor::ToHex(tbm), inter["ToMac_hex"], "ToMac");
        if (!compare_output) return ok;
        Mac0 m{prot, *unprot, plaintext, {}};
        auto st = MacPrepared(m, key, aad);
        EXPECT_TRUE(st) << file_ << ": " << st.error().ToString();
        if (!st) return false;
        ApplyFailures(m.protected_header, failures);
        built = Encode(m, tagged);
        break;
      }
      case Kind::kEncrypt0: {
        const Bytes enc = EncStructure0(prot.for_structure(), aad);
        ok &= Check(cbor::ToHex(enc), inter["AAD_hex"], "AAD");
        if (!compare_output) return ok;
        // The IV is the first draw from the example's RNG stream, appended to the unprotected
        // bucket (where the Examples' generator put it).
        Encrypt0 m{prot, *unprot, std::nullopt};
        m.unprotected.Set(label::kIv, Value::ByteString(H(j_["input"]["rng_stream"][0])));
        auto st = EncryptPrepared(m, key, plaintext, aad);
        EXPECT_TRUE(st) << file_ << ": " << st.error().ToString();
        if (!st) return false;
        ApplyFailures(m.protected_header, failures);
        built = Encode(m, tagged);
        break;
      }
      case Kind::kSign: {
        Sign m{prot, *unprot, plaintext, {}};
        const json& signers = s["signers"];
        const json& inter_signers = inter["signers"];
        for (size_t i = 0; i < signers.size(); ++i) {
          const json& sj = signers[i];
          auto sp = Headers(sj.contains("protected") ? sj["protected"] : json());
          auto su = Headers(sj.contains("unprotected") ? sj["unprotected"] : json());
          EXPECT_TRUE(sp && su) << file_;
          if (!sp || !su) return false;
          Signature sig{ProtectedHeader::FromMap(*sp), *su, {}};
          const Bytes tbs = SigStructure(prot.for_structure(), sig.protected_header.for_structure(),
                                         aad, plaintext);
          ok &= Check(cbor::ToHex(tbs), inter_signers[i]["ToBeSign_hex"], "signer ToBeSign");
          m.signatures.push_back(std::move(sig));
        }
        if (!compare_output) return ok;
        auto published = DecodeSign(wire);
        if (!published || published->signatures.size() != m.signatures.size()) return false;
        for (size_t i = 0; i < m.signatures.size(); ++i) {
          auto st = SignPrepared(m, i, keys_[i], aad);
          EXPECT_TRUE(st) << file_ << ": " << st.error().ToString();
          if (!st) return false;
          if (keys_[i].kty == KeyType::kEc2) {  // ECDSA is randomized: ours verifies; use theirs
            EXPECT_TRUE(VerifySignature(m, i, keys_[i], aad)) << file_;
            m.signatures[i].signature = published->signatures[i].signature;
          }
        }
        ApplyFailures(m.protected_header, failures);
        built = Encode(m, tagged);
        break;
      }
      case Kind::kEncrypt: {
        const Bytes enc = EncStructure(prot.for_structure(), aad);
        ok &= Check(cbor::ToHex(enc), inter["AAD_hex"], "AAD");
        if (!compare_output) return ok;
        Encrypt m{prot, *unprot, std::nullopt, {}};
        m.unprotected.Set(label::kIv, Value::ByteString(H(j_["input"]["rng_stream"][0])));
        for (const auto& rj : s["recipients"]) {
          auto rp = Headers(rj.contains("protected") ? rj["protected"] : json());
          auto ru = Headers(rj.contains("unprotected") ? rj["unprotected"] : json());
          EXPECT_TRUE(rp && ru) << file_;
          if (!rp || !ru) return false;
          m.recipients.push_back(Recipient{ProtectedHeader::FromMap(*rp), *ru, Bytes{}, {}});
        }
        auto st = EncryptPrepared(m, key, plaintext, aad);
        EXPECT_TRUE(st) << file_ << ": " << st.error().ToString();
        if (!st) return false;
        ApplyFailures(m.protected_header, failures);
        built = Encode(m, tagged);
        break;
      }
    }
    EXPECT_EQ(cbor::ToHex(built), cbor::ToHex(wire)) << file_ << ": re-encoding differs";
    return ok && built == wire;
  }

  // The pass examples' "failures" change the message after it was protected.
  void ApplyFailures(ProtectedHeader& p, const json& failures) {
    if (failures.contains("ChangeProtected"))
      p.encoded = H(failures["ChangeProtected"].get<std::string>());
  }

  bool Check(const std::string& ours, const json& theirs, const char* what) {
    std::string t = theirs.get<std::string>();
    for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_EQ(ours, t) << file_ << ": " << what << " differs";
    return ours == t;
  }

  fs::path file_;
  const json& j_;
  std::vector<Key> keys_;  // COSE_Sign: one per signer, in order
};

void RunFolder(const std::string& folder) {
  const fs::path dir = secprof::testing::VectorsDir() / "cose" / folder;
  Tally& t = Tallies()[folder];
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f);
    std::stringstream ss;
    ss << in.rdbuf();
    const json j = json::parse(ss.str(), nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << f;
    ++t.files;
    CoseWgExample ex(f, j);
    const std::string skip = ex.Run(t);
    if (!skip.empty()) t.skipped.push_back(f.filename().string() + ": " + skip);
  }
  std::cout << "[ cose-wg  ] " << folder << ": " << t.files << " files, " << t.passed << " passed, "
            << t.rejected << " rejected as expected, " << t.skipped.size() << " skipped\n";
  for (const auto& s : t.skipped) std::cout << "[ skipped  ]   " << s << "\n";
  EXPECT_GT(t.files, 0) << "no examples in " << dir;
  EXPECT_EQ(t.passed + t.rejected + static_cast<int>(t.skipped.size()), t.files)
      << "every example must pass, be rejected as a fail case, or be skipped with a reason";
}

TEST(CoseWgExamples, Sign1Tests) {
  SECPROF_REQUIRE_VECTORS("cose/sign1-tests");
  RunFolder("sign1-tests");
  EXPECT_EQ(Tallies()["sign1-tests"].skipped.size(), 0u);
}

TEST(CoseWgExamples, Mac0Tests) {
  SECPROF_REQUIRE_VECTORS("cose/mac0-tests");
  RunFolder("mac0-tests");
  EXPECT_EQ(Tallies()["mac0-tests"].skipped.size(), 0u);
}

TEST(CoseWgExamples, EncryptedTests) {
  SECPROF_REQUIRE_VECTORS("cose/encrypted-tests");
  RunFolder("encrypted-tests");
  EXPECT_EQ(Tallies()["encrypted-tests"].skipped.size(), 0u);
}

TEST(CoseWgExamples, AesCcmExamples) {
  SECPROF_REQUIRE_VECTORS("cose/aes-ccm-examples");
  RunFolder("aes-ccm-examples");
  // 8 COSE_Encrypt0 (aes-ccm-enc-0N) and 8 COSE_Encrypt with a direct recipient (aes-ccm-0N).
  EXPECT_EQ(Tallies()["aes-ccm-examples"].skipped.size(), 0u);
  EXPECT_EQ(Tallies()["aes-ccm-examples"].passed, 16);
}

TEST(CoseWgExamples, EddsaExamples) {
  SECPROF_REQUIRE_VECTORS("cose/eddsa-examples");
  RunFolder("eddsa-examples");
  // COSE_Sign with Ed25519 and with Ed448 signers, COSE_Sign1 with Ed25519 and with Ed448.
  EXPECT_EQ(Tallies()["eddsa-examples"].skipped.size(), 0u);
  EXPECT_EQ(Tallies()["eddsa-examples"].passed, 4);
}

}  // namespace
}  // namespace secprof::cose

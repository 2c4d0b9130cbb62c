// `secprof cose` end to end (suite CoseCli): sign and verify with their exit codes (0 verified,
// 1 does not verify, 2 malformed), COSE_Sign with any of its signers, MAC, encrypt and decrypt.
// The library is tested in tests/cose/cose_test.cpp; both use support/cose_keys.h.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "secprof/cbor/cbor.h"
#include "secprof/cose/cose.h"
#include "secprof/crypto/random.h"
#include "support/cose_keys.h"
#include "testutil.h"

namespace secprof::cose {
namespace {

using cbor::Value;

using secprof::testing::B;
using secprof::testing::H;
const Bytes kPayload = secprof::testing::kCosePayload;
Key Generate(crypto::KeyType t, uint64_t seed) {
  return secprof::testing::GenerateCoseKey(t, seed);
}

// ---- The command -----------------------------------------------------------------------------

class CoseCli : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const Bytes& b) {
    auto p = dir_.path() / name;
    std::ofstream(p, std::ios::binary)
        .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    return p.string();
  }
  std::string Write(const std::string& name, const std::string& s) { return Write(name, B(s)); }
  static std::string CliBinary() { return secprof::testing::Binary(); }
  secprof::testing::RunResult Run(const std::string& args) {
    return secprof::testing::Run(CliBinary() + " " + args + " 2>&1");
  }
  secprof::testing::TempDir dir_;
};

TEST_F(CoseCli, SignVerifyExitCodes) {
  Key k = Generate(crypto::KeyType::kP256, 11);
  auto pem = k.private_key->ToPem();
  ASSERT_TRUE(pem);
  const std::string key = Write("k.pem", std::string(pem->AsStringView()));
  const std::string in = Write("p.txt", std::string("hello"));
  const std::string out = (dir_.path() / "s.cbor").string();
  auto r = Run("cose sign --in " + in + " --out " + out + " --key " + key + " --aad 0102 --kid 11");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = Run("cose verify " + out + " --key " + key + " --aad 0102");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("OK: COSE_Sign1"), std::string::npos) << r.out;
  // Only the public key, as a COSE_Key file.
  auto ck = KeyToCose(k, false);
  ASSERT_TRUE(ck);
  const std::string pub = Write("k.cose", cbor::Encode(*ck));
  EXPECT_EQ(Run("cose verify " + out + " --key " + pub + " --aad 0102").exit_code, 0);
  // Wrong AAD: does not verify (1).
  r = Run("cose verify " + out + " --key " + pub);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("does not verify"), std::string::npos) << r.out;
  // Untagged works too.
  r = Run("cose sign --untagged --in " + in + " --out " + out + " --key " + key);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(Run("cose verify " + out + " --key " + pub).exit_code, 0);
  // Malformed (2): truncated, wrong tag, not a key.
  const std::string trunc = Write("t.cbor", H("d28443a101"));
  r = Run("cose verify " + trunc + " --key " + pub);
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("truncated input"), std::string::npos) << r.out;
  const std::string tag = Write("tag.cbor", H("d86080"));
  EXPECT_EQ(Run("cose verify " + tag + " --key " + pub).exit_code, 2);
  EXPECT_EQ(Run("cose verify " + out + " --key " + in).exit_code, 2);
  EXPECT_EQ(Run("cose verify " + out + " --key " + pub + " --aad zz").exit_code, 2);
}

TEST_F(CoseCli, VerifyCoseSignWithAnySigner) {
  Key ed448 = Generate(crypto::KeyType::kEd448, 21);
  Key p256 = Generate(crypto::KeyType::kP256, 22);
  std::vector<SignerParams> signers(2);
  signers[0].key = p256;
  signers[0].alg = kAlgEs256;
  signers[1].key = ed448;
  signers[1].alg = kAlgEdDsa;
  auto m = CreateSign(kPayload, signers, SignParams{});
  ASSERT_TRUE(m);
  auto pem448 = ed448.public_key->ToPem();
  auto pem256 = p256.public_key->ToPem();
  auto other = Generate(crypto::KeyType::kEd25519, 23).public_key->ToPem();
  ASSERT_TRUE(pem448 && pem256 && other);
  const std::string k448 = Write("ed448.pem", *pem448), k256 = Write("p256.pem", *pem256),
                    kother = Write("other.pem", *other);
  for (bool tagged : {true, false}) {
    const std::string msg = Write("s.cbor", Encode(*m, tagged));
    auto r = Run("cose verify " + msg + " --key " + k448);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("COSE_Sign signer 1 of 2 verifies"), std::string::npos) << r.out;
    r = Run("cose verify " + msg + " --key " + k256);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("signer 0 of 2"), std::string::npos) << r.out;
    r = Run("cose verify " + msg + " --key " + kother);
    EXPECT_EQ(r.exit_code, 1) << r.out;
  }
  EXPECT_EQ(
      Run("cose verify " + Write("s.cbor", Encode(*m)) + " --key " + k448 + " --aad 00").exit_code,
      1);
  // An empty signatures array: malformed (exit 2).
  Sign empty = *m;
  empty.signatures.clear();
  EXPECT_EQ(Run("cose verify " + Write("e.cbor", Encode(empty)) + " --key " + k448).exit_code, 2);
}

TEST_F(CoseCli, MacEncryptDecryptAndHelp) {
  const std::string jwk = Write(
      "k.jwk",
      std::string(
          R"({"kty":"oct","kid":"our-secret","k":"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"})"));
  const std::string in = Write("p.txt", std::string("secret text"));
  const std::string mac = (dir_.path() / "m.cbor").string();
  auto r = Run("cose mac --in " + in + " --out " + mac + " --key " + jwk + " --alg 'HMAC 256/64'");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(Run("cose verify " + mac + " --key " + jwk).exit_code, 0);
  std::ifstream mf(mac, std::ios::binary);
  auto m = DecodeMac0(Bytes(std::istreambuf_iterator<char>(mf), {}));
  ASSERT_TRUE(m);
  m->tag[0] ^= 1;
  const Bytes bad = Encode(*m);
  EXPECT_EQ(Run("cose verify " + Write("bad.cbor", bad) + " --key " + jwk).exit_code, 1);

  const std::string enc = (dir_.path() / "e.cbor").string();
  r = Run("cose encrypt --in " + in + " --out " + enc + " --key " + jwk +
          " --alg AES-CCM-16-64-256");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string dec = (dir_.path() / "d.txt").string();
  r = Run("cose decrypt --in " + enc + " --out " + dec + " --key " + jwk);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::ifstream f(dec);
  std::string text((std::istreambuf_iterator<char>(f)), {});
  EXPECT_EQ(text, "secret text");
  EXPECT_EQ(Run("cose decrypt --in " + enc + " --key " + jwk + " --aad 00").exit_code, 1);
  EXPECT_EQ(Run("cose encrypt --in " + in + " --key " + jwk + " --alg ES256").exit_code, 2);

  // COSE_Encrypt with a direct recipient, tagged and untagged; a non-direct recipient is
  // unsupported (exit 2).
  const Key cek = SymmetricKey(H("849b57219dae48de646d07dbb533566e"));
  const std::string cek_jwk =
      Write("cek.jwk", std::string(R"({"kty":"oct","k":"hJtXIZ2uSN5kbQfbtTNWbg"})"));
  auto rng = crypto::FakeRandom::FromSeed(3);
  EncryptParams ep;
  ep.alg = kAlgAesCcm16_64_128;
  auto em = CreateEncrypt(cek, B("secret text"), ep, rng);
  ASSERT_TRUE(em);
  for (bool tagged : {true, false}) {
    r = Run("cose decrypt --in " + Write("e96.cbor", Encode(*em, tagged)) + " --key " + cek_jwk);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    EXPECT_EQ(r.out, "secret text");
  }
  EXPECT_EQ(Run("cose decrypt --in " + Write("e96.cbor", Encode(*em)) + " --key " + jwk).exit_code,
            1);  // another key: the AEAD tag fails
  Encrypt kw = *em;
  kw.recipients[0].unprotected.Set(label::kAlg, Value::Int(-3));  // A128KW
  r = Run("cose decrypt --in " + Write("kw.cbor", Encode(kw)) + " --key " + cek_jwk);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("no recipient uses direct"), std::string::npos) << r.out;

  r = Run("cose verify --help");
  EXPECT_NE(r.out.find("any one of its signers"), std::string::npos) << r.out;
  for (const char* sub : {"verify", "sign", "mac", "encrypt", "decrypt"}) {
    r = Run(std::string("cose ") + sub + " --help");
    EXPECT_EQ(r.exit_code, 0) << sub;
    EXPECT_NE(r.out.find("--key"), std::string::npos) << sub;
  }
}

}  // namespace
}  // namespace secprof::cose

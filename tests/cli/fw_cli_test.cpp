// `secprof fw sign|verify|inspect` end to end: exit codes 0 valid, 1 invalid, 2 malformed or bad
// arguments; the draft's examples verify through the CLI with the public half of their key.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "secprof/cbor/cbor.h"
#include "secprof/core/fs.h"
#include "testutil.h"
#include "update/suit_builder.h"

namespace {

using secprof::testing::Binary;
auto Sh(const std::string& cmd) { return secprof::testing::Run(cmd); }
using secprof::testing::TempDir;

constexpr const char* kVendor = "fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe";
constexpr const char* kClass = "1492af14-2569-5e48-bf42-9b2d51f2ab45";

class FwCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(
        Sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + P("k.pem") +
           " 2>/dev/null && openssl pkey -in " + P("k.pem") + " -pubout -out " + P("pub.pem") +
           " && openssl genpkey -algorithm ED25519 -out " + P("other.pem") + " 2>/dev/null")
            .exit_code,
        0);
    std::string img(4096, '\0');
    for (size_t i = 0; i < img.size(); ++i) img[i] = static_cast<char>(i * 13 + 1);
    std::ofstream(P("img.bin"), std::ios::binary) << img;
    img[100] ^= 1;
    std::ofstream(P("bad.bin"), std::ios::binary) << img;
  }
  std::string P(const std::string& name) const { return (dir_.path() / name).string(); }
  secprof::testing::RunResult Fw(const std::string& args) {
    return Sh(Binary() + " fw " + args + " 2>&1");
  }
  secprof::testing::RunResult SignDefault(const std::string& out, int seq = 5) {
    return Fw("sign --image " + P("img.bin") + " --seq " + std::to_string(seq) + " --vendor " +
              kVendor + " --class " + kClass + " --key " + P("k.pem") + " --out " + P(out));
  }
  TempDir dir_;
};

TEST_F(FwCli, SignVerifyInspect) {
  auto s = SignDefault("e.suit");
  ASSERT_EQ(s.exit_code, 0) << s.out;
  auto v = Fw("verify " + P("e.suit") + " --key " + P("pub.pem") + " --image " + P("img.bin") +
              " --vendor " + kVendor + " --class " + kClass);
  EXPECT_EQ(v.exit_code, 0) << v.out;
  auto i = Fw("inspect " + P("e.suit"));
  EXPECT_EQ(i.exit_code, 0) << i.out;
  EXPECT_NE(i.out.find("manifest-sequence-number: 5"), std::string::npos) << i.out;
  EXPECT_NE(i.out.find(kVendor), std::string::npos);
  EXPECT_NE(i.out.find("107({"), std::string::npos);
  EXPECT_NE(i.out.find("<< ["), std::string::npos);
}

TEST_F(FwCli, InvalidIsExit1) {
  ASSERT_EQ(SignDefault("e.suit").exit_code, 0);
  // Another key.
  EXPECT_EQ(Fw("verify " + P("e.suit") + " --key " + P("other.pem")).exit_code, 1);
  // A tampered image.
  auto r = Fw("verify " + P("e.suit") + " --key " + P("pub.pem") + " --image " + P("bad.bin"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("image-digest"), std::string::npos) << r.out;
  // Wrong class.
  EXPECT_EQ(Fw("verify " + P("e.suit") + " --key " + P("pub.pem") + " --vendor " + kVendor +
               " --class 00000000-0000-0000-0000-000000000000")
                .exit_code,
            1);
  // A flipped byte in the last bytes of the manifest (the invoke sequence).
  auto raw = secprof::ReadFile(P("e.suit"));
  ASSERT_TRUE(raw);
  std::string t = *raw;
  t[t.size() - 1] ^= 0x01;
  std::ofstream(P("t.suit"), std::ios::binary) << t;
  auto f = Fw("verify " + P("t.suit") + " --key " + P("pub.pem"));
  EXPECT_TRUE(f.exit_code == 1 || f.exit_code == 2) << f.out;
}

TEST_F(FwCli, MalformedOrBadArgumentsIsExit2) {
  ASSERT_EQ(SignDefault("e.suit").exit_code, 0);
  auto raw = secprof::ReadFile(P("e.suit"));
  ASSERT_TRUE(raw);
  std::ofstream(P("short.suit"), std::ios::binary) << raw->substr(0, raw->size() / 2);
  EXPECT_EQ(Fw("verify " + P("short.suit") + " --key " + P("pub.pem")).exit_code, 2);
  EXPECT_EQ(Fw("inspect " + P("short.suit")).exit_code, 2);
  std::string wrong_tag = *raw;
  wrong_tag[1] = 108;
  std::ofstream(P("tag.suit"), std::ios::binary) << wrong_tag;
  auto w = Fw("verify " + P("tag.suit") + " --key " + P("pub.pem"));
  EXPECT_EQ(w.exit_code, 2);
  EXPECT_NE(w.out.find("tag"), std::string::npos) << w.out;
  EXPECT_EQ(Fw("verify " + P("missing.suit") + " --key " + P("pub.pem")).exit_code, 2);
  EXPECT_EQ(Fw("verify " + P("e.suit")).exit_code, 2);  // --key missing
  EXPECT_EQ(Fw("sign --image " + P("img.bin") + " --seq 1 --vendor nothex --class " + kClass +
               " --key " + P("k.pem") + " --out " + P("x.suit"))
                .exit_code,
            2);
  EXPECT_EQ(Fw("sign --image " + P("img.bin") + " --seq -1 --vendor " + kVendor + " --class " +
               kClass + " --key " + P("k.pem") + " --out " + P("x.suit"))
                .exit_code,
            2);
  EXPECT_EQ(
      Fw("verify " + P("e.suit") + " --key " + P("pub.pem") + " --vendor " + kVendor).exit_code,
      2);  // --vendor without --class
}

TEST_F(FwCli, HelpOnEachCommand) {
  for (const char* c : {"sign", "verify", "inspect"}) {
    auto h = Fw(std::string(c) + " --help");
    EXPECT_EQ(h.exit_code, 0) << c;
    EXPECT_NE(h.out.find("Usage"), std::string::npos) << c;
  }
  auto h = Fw("--help");
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.out.find("inspect"), std::string::npos);
}

TEST_F(FwCli, DraftExamplesVerify) {
  SECPROF_REQUIRE_VECTORS("suit");
  const auto suit = secprof::testing::VectorsDir() / "suit";
  ASSERT_EQ(Sh("openssl pkey -in " + (suit / "private_key.pem").string() + " -pubout -out " +
               P("vec_pub.pem"))
                .exit_code,
            0);
  for (int n = 0; n < 6; ++n) {
    auto txt = secprof::ReadFile((suit / ("example" + std::to_string(n) + ".txt")).string());
    ASSERT_TRUE(txt);
    // The last hex block is the envelope with the COSE authentication object.
    const size_t end = txt->rfind("~~~");
    const size_t start = txt->rfind("~~~", end - 1);
    ASSERT_NE(start, std::string::npos);
    auto bytes = secprof::cbor::FromHex(txt->substr(start + 3, end - start - 3));
    ASSERT_TRUE(bytes) << n;
    const std::string f = P("ex" + std::to_string(n) + ".suit");
    std::ofstream(f, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes->data()),
               static_cast<std::streamsize>(bytes->size()));
    auto v = Fw("verify " + f + " --key " + P("vec_pub.pem") + " --vendor " + kVendor +
                " --class " + kClass);
    EXPECT_EQ(v.exit_code, 0) << "example " << n << ": " << v.out;
    EXPECT_EQ(Fw("verify " + f + " --key " + P("pub.pem")).exit_code, 1) << n;
    EXPECT_EQ(Fw("inspect " + f).exit_code, 0) << n;
  }
}

// Issue 13 item 1 through the CLI: ESP256 (RFC 9864), untagged envelopes, COSE_Mac0 with a
// shared symmetric key (wrong key: exit 1), and verify/inspect naming what they did not check.
TEST_F(FwCli, SuitAsPublished) {
  // ESP256 chosen with --alg; the verifier's key names no algorithm.
  auto s = Fw("sign --image " + P("img.bin") + " --seq 2 --vendor " + kVendor + " --class " +
              kClass + " --key " + P("k.pem") + " --alg ESP256 --out " + P("esp.suit"));
  ASSERT_EQ(s.exit_code, 0) << s.out;
  auto v = Fw("verify " + P("esp.suit") + " --key " + P("pub.pem"));
  EXPECT_EQ(v.exit_code, 0) << v.out;
  EXPECT_NE(v.out.find("COSE_Sign1 ESP256 verifies"), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("not checked: the image"), std::string::npos) << v.out;
  EXPECT_EQ(Fw("sign --image " + P("img.bin") + " --seq 2 --vendor " + kVendor + " --class " +
               kClass + " --key " + P("k.pem") + " --alg EdDSA --out " + P("x.suit"))
                .exit_code,
            2);  // a P-256 key cannot make an EdDSA signature: a bad argument
  // Untagged: the same envelope without its tag 107 head (d8 6b).
  auto raw = secprof::ReadFile(P("esp.suit"));
  ASSERT_TRUE(raw);
  ASSERT_EQ(static_cast<uint8_t>((*raw)[0]), 0xd8);
  std::ofstream(P("untagged.suit"), std::ios::binary) << raw->substr(2);
  auto u = Fw("verify " + P("untagged.suit") + " --key " + P("pub.pem") + " --image " +
              P("img.bin") + " --vendor " + kVendor + " --class " + kClass);
  EXPECT_EQ(u.exit_code, 0) << u.out;
  EXPECT_NE(u.out.find("untagged envelope"), std::string::npos) << u.out;
  // COSE_Mac0: a JWK oct key of 32 bytes (base64url of 0x00..0x1f).
  const std::string k1 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
  const std::string k2 = "AQECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
  std::ofstream(P("mac.jwk")) << R"({"kty":"oct","k":")" << k1 << R"("})";
  std::ofstream(P("other.jwk")) << R"({"kty":"oct","k":")" << k2 << R"("})";
  auto m = Fw("sign --image " + P("img.bin") + " --seq 2 --vendor " + kVendor + " --class " +
              kClass + " --key " + P("mac.jwk") + " --out " + P("mac.suit"));
  ASSERT_EQ(m.exit_code, 0) << m.out;
  auto mv = Fw("verify " + P("mac.suit") + " --key " + P("mac.jwk") + " --image " + P("img.bin"));
  EXPECT_EQ(mv.exit_code, 0) << mv.out;
  EXPECT_NE(mv.out.find("COSE_Mac0 HMAC 256/256 verifies"), std::string::npos) << mv.out;
  auto wrong = Fw("verify " + P("mac.suit") + " --key " + P("other.jwk"));
  EXPECT_EQ(wrong.exit_code, 1) << wrong.out;
  EXPECT_NE(wrong.out.find("MAC does not verify"), std::string::npos) << wrong.out;
  auto i = Fw("inspect " + P("mac.suit"));
  EXPECT_EQ(i.exit_code, 0) << i.out;
  EXPECT_NE(i.out.find("COSE_Mac0 HMAC 256/256"), std::string::npos) << i.out;
  EXPECT_NE(i.out.find("not checked: the digest and authentication"), std::string::npos) << i.out;
}

TEST_F(FwCli, VerifyNamesCommandsAnInstallerWouldNotExecute) {
  using namespace secprof::update;
  using namespace secprof::update::suittest;
  auto pem = secprof::ReadFile(P("k.pem"));
  ASSERT_TRUE(pem);
  auto key = secprof::cose::KeyFromPem(*pem);
  ASSERT_TRUE(key);
  ManifestSpec spec;
  spec.seq = 3;
  auto img = secprof::ReadFile(P("img.bin"));
  spec.image = Bytes(img->begin(), img->end());
  spec.vendor_id = *ParseUuid(kVendor);
  spec.class_id = *ParseUuid(kClass);
  spec.extra_install = {{cmd::kWait, Value::Unsigned(0)}};
  spec.members = {{Value::Int(key::kSetVersion), Bstr(Value::MakeArray({Value::Int(1)}))}};
  const Bytes env = BuildEnvelope(BuildManifest(spec), *key);
  std::ofstream(P("wait.suit"), std::ios::binary)
      .write(reinterpret_cast<const char*>(env.data()), static_cast<std::streamsize>(env.size()));
  auto v = Fw("verify " + P("wait.suit") + " --key " + P("pub.pem") + " --image " + P("img.bin"));
  EXPECT_EQ(v.exit_code, 0) << v.out;  // authentic and the image matches
  EXPECT_NE(v.out.find("NOT EXECUTABLE: suit-directive-wait (draft-ietf-suit-update-management-09 "
                       "§5.6) in manifest.install[2]"),
            std::string::npos)
      << v.out;
  EXPECT_NE(v.out.find("not checked: suit-set-version"), std::string::npos) << v.out;
  auto i = Fw("inspect " + P("wait.suit"));
  EXPECT_EQ(i.exit_code, 0) << i.out;
  EXPECT_NE(i.out.find("NOT EXECUTABLE: suit-directive-wait"), std::string::npos) << i.out;
  // The same as JSON.
  auto ij = Fw("inspect " + P("wait.suit") + " --format json");
  ASSERT_EQ(ij.exit_code, 0) << ij.out;
  auto j = nlohmann::json::parse(ij.out);
  EXPECT_EQ(j.at("sequence_number"), 3);
  EXPECT_EQ(j.at("components").at(0).at("vendor_id"), kVendor);
  EXPECT_EQ(j.at("authentication_blocks").at(0).at("algorithm"), "ES256");
  bool wait_named = false;
  for (const auto& fe : j.at("features"))
    if (fe.at("where") == "manifest.install[2]")
      wait_named = fe.at("handling") == "not executed" &&
                   fe.at("feature").get<std::string>().find("directive-wait") != std::string::npos;
  EXPECT_TRUE(wait_named) << ij.out;
  EXPECT_EQ(j.at("not_executable").size(), 1u) << ij.out;
  auto vj = Fw("verify " + P("wait.suit") + " --key " + P("pub.pem") + " --format json");
  ASSERT_EQ(vj.exit_code, 0) << vj.out;
  auto v2 = nlohmann::json::parse(vj.out);
  EXPECT_EQ(v2.at("valid"), true);
  EXPECT_EQ(v2.at("authentication").at("structure"), "COSE_Sign1");
  EXPECT_EQ(v2.at("not_executable").size(), 1u);
  // A refusal prints no JSON result: the error goes to stderr, exit 1.
  auto bad = Sh(Binary() + " fw verify " + P("wait.suit") + " --key " + P("other.pem") +
                " --format json 2>/dev/null");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(bad.out.empty()) << bad.out;
}

// Issue 13 item 2: firmware signed with the CLI alone. `fw sign --factory DIR --model M` signs with
// the factory's vendor CA key and derives the ids; `manufacture` and `fw ids` print the same ids;
// a model the factory did not make is refused (1) with the model it made; `kdc fw add` refusals
// name the ids the domain expected.
TEST_F(FwCli, FactorySigningAndIds) {
  const std::string factory = P("factory");
  auto made = Sh(Binary() + " manufacture --vendor Acme --model Valve --count 1 --out " + factory +
                 " --format json 2>&1");
  ASSERT_EQ(made.exit_code, 0) << made.out;
  auto mj = nlohmann::json::parse(made.out);
  const std::string vid = mj.at("firmware_vendor_id");
  const std::string cid = mj.at("firmware_class_id");
  auto ids = Fw("ids --vendor Acme --model Valve --format json");
  ASSERT_EQ(ids.exit_code, 0) << ids.out;
  EXPECT_EQ(nlohmann::json::parse(ids.out).at("vendor_id"), vid);
  EXPECT_EQ(nlohmann::json::parse(ids.out).at("class_id"), cid);
  auto fids = Fw("ids --factory " + factory + " --model Valve");
  EXPECT_EQ(fids.exit_code, 0) << fids.out;
  EXPECT_NE(fids.out.find(cid), std::string::npos) << fids.out;

  auto s = Fw("sign --factory " + factory + " --model Valve --image " + P("img.bin") +
              " --seq 3 --out " + P("f.suit") + " --format json");
  ASSERT_EQ(s.exit_code, 0) << s.out;
  auto sj = nlohmann::json::parse(s.out);
  EXPECT_EQ(sj.at("vendor_id"), vid);
  EXPECT_EQ(sj.at("class_id"), cid);
  EXPECT_EQ(sj.at("sequence_number"), 3);
  // It verifies with the vendor CA certificate, for those ids.
  auto v = Fw("verify " + P("f.suit") + " --key " + factory + "/ca/ca.pem --image " + P("img.bin") +
              " --vendor " + vid + " --class " + cid);
  EXPECT_EQ(v.exit_code, 0) << v.out;
  auto i = Fw("inspect " + P("f.suit"));
  EXPECT_NE(i.out.find("vendor-id:    " + vid), std::string::npos) << i.out;
  EXPECT_NE(i.out.find("class-id:     " + cid), std::string::npos) << i.out;

  // A model the factory did not make: refused, naming the one it made; nothing written.
  auto pump = Fw("sign --factory " + factory + " --model Pump --image " + P("img.bin") +
                 " --seq 3 --out " + P("pump.suit"));
  EXPECT_EQ(pump.exit_code, 1) << pump.out;
  EXPECT_NE(pump.out.find("models it made: Valve"), std::string::npos) << pump.out;
  EXPECT_FALSE(std::filesystem::exists(P("pump.suit")));
  EXPECT_EQ(Fw("ids --factory " + factory + " --model Pump").exit_code, 1);
  // Bad arguments: --factory with --key, --factory without --model, --model without --factory.
  EXPECT_EQ(Fw("sign --factory " + factory + " --model Valve --key " + P("k.pem") + " --image " +
               P("img.bin") + " --seq 3 --out " + P("x.suit"))
                .exit_code,
            2);
  EXPECT_EQ(
      Fw("sign --factory " + factory + " --image " + P("img.bin") + " --seq 3 --out " + P("x.suit"))
          .exit_code,
      2);
  EXPECT_EQ(Fw("sign --model Valve --key " + P("k.pem") + " --vendor " + kVendor + " --class " +
               kClass + " --image " + P("img.bin") + " --seq 3 --out " + P("x.suit"))
                .exit_code,
            2);
  EXPECT_EQ(Fw("sign --factory " + P("nofactory") + " --model Valve --image " + P("img.bin") +
               " --seq 3 --out " + P("x.suit"))
                .exit_code,
            2);

  // kdc fw add refusals name the expected ids.
  const std::string db = P("kdc.db");
  auto k = Sh(Binary() + " kdc --profile SecProf_2 --db " + db +
              " --listen 127.0.0.1:0 --duration 1 2>&1");
  ASSERT_EQ(k.exit_code, 0) << k.out;
  auto untrusted = Sh(Binary() + " kdc fw add --db " + db + " --envelope " + P("f.suit") +
                      " --image " + P("img.bin") + " --model Valve 2>&1");
  EXPECT_EQ(untrusted.exit_code, 1) << untrusted.out;
  EXPECT_NE(untrusted.out.find("vendor-id " + vid + " names no manufacturer"), std::string::npos)
      << untrusted.out;
  auto pump_add =
      Sh(Binary() + " kdc fw add --db " + db + " --envelope " + P("f.suit") + " --image " +
         P("img.bin") + " --model Pump --vendor-ca " + factory + "/ca/ca.pem 2>&1");
  EXPECT_EQ(pump_add.exit_code, 1) << pump_add.out;
  auto pump_ids = Fw("ids --vendor Acme --model Pump --format json");
  const std::string pump_cid = nlohmann::json::parse(pump_ids.out).at("class_id");
  EXPECT_NE(
      pump_add.out.find("expected Acme: vendor-id " + vid + ", class-id for Pump " + pump_cid),
      std::string::npos)
      << pump_add.out;
  auto ok = Sh(Binary() + " kdc fw add --db " + db + " --envelope " + P("f.suit") + " --image " +
               P("img.bin") + " --model Valve 2>&1");
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
}

}  // namespace

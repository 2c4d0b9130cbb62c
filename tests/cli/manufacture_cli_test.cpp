// `secprof manufacture` end to end (suite ManufactureCli): the CLI as a user runs it, checked with
// openssl and with our own key stores; the PKCS#11 case makes a throw-away SoftHSM2 token
// (tests/support/softhsm_fixture.h) and skips with one line without SoftHSM2. The library's pieces
// are tested in tests/manufacture/manufacture_test.cpp.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "secprof/core/fs.h"
#include "secprof/identity/identity.h"
#include "secprof/keystore/file_store.h"
#include "secprof/keystore/pkcs11_store.h"
#include "secprof/manufacture/manufacture.h"
#include "support/softhsm_fixture.h"
#include "testutil.h"

namespace secprof::manufacture {
namespace {

namespace fs = std::filesystem;
using testing::Binary;
using testing::Run;
using testing::RunResult;
using testing::TempDir;

RunResult Cli(const std::string& args) { return Run(Binary() + " manufacture " + args + " 2>&1"); }

Manifest LoadManifestOrDie(const fs::path& dir) {
  auto text = ReadFile((dir / "manifest.json").string());
  EXPECT_TRUE(text);
  auto m = ManifestFromJson(text ? *text : "", "manifest.json");
  EXPECT_TRUE(m) << m.error().ToString();
  return m ? *m : Manifest{};
}

bool HaveOpenssl() { return Run("command -v openssl >/dev/null 2>&1").exit_code == 0; }

// `openssl verify -CAfile <thing>/ca.pem <thing>/idevid.pem`, using the thing's own copy of the
// trust anchor as a thing would.
void ExpectOpensslAccepts(const fs::path& out, const ThingRecord& t) {
  auto r = Run("openssl verify -CAfile " + (out / t.trust_anchor).string() + " " +
               (out / t.idevid).string() + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find(": OK"), std::string::npos) << r.out;
}

identity::Certificate Cert(const fs::path& p) {
  auto pem = ReadFile(p.string());
  EXPECT_TRUE(pem) << p;
  auto c = identity::Certificate::FromPem(pem ? *pem : "");
  EXPECT_TRUE(c) << c.error().ToString();
  return *c;
}

TEST(ManufactureCli, MakesNThingsThatOpensslAccepts) {
  TempDir tmp;
  const fs::path out = tmp.path() / "factory";
  auto r = Cli("--vendor Acme --model 'LightBulb 9' --count 3 --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("created vendor CA"), std::string::npos) << r.out;
  Manifest m = LoadManifestOrDie(out);
  EXPECT_EQ(m.vendor, "Acme");
  EXPECT_EQ(m.model, "LightBulb 9");
  ASSERT_EQ(m.things.size(), 3u);
  auto ca = Cert(out / m.ca_certificate);
  EXPECT_TRUE(ca.is_ca());
  std::set<std::string> serials, codes;
  for (size_t i = 0; i < m.things.size(); ++i) {
    const ThingRecord& t = m.things[i];
    EXPECT_EQ(t.index, static_cast<int>(i) + 1);
    EXPECT_EQ(t.serial, SerialFor("LightBulb 9", t.index));
    serials.insert(t.serial);
    codes.insert(t.setup_code);
    EXPECT_EQ(t.key_store, "file");
    for (const char* f : {"idevid.pem", "ca.pem", "setup-code.txt", "thing.json"})
      EXPECT_TRUE(fs::exists(out / t.dir / f)) << t.dir << "/" << f;
    EXPECT_EQ(*ReadFile((out / t.dir / "setup-code.txt").string()), t.setup_code + "\n");
    EXPECT_EQ(*ReadFile((out / t.trust_anchor).string()), ca.ToPem());
    // The IDevID names the thing as 802.1AR says and chains to the vendor CA.
    auto idevid = Cert(out / t.idevid);
    EXPECT_EQ(idevid.subject().serial_number, t.serial);
    EXPECT_EQ(idevid.subject().organization, "Acme");
    EXPECT_EQ(idevid.subject().organizational_unit, "LightBulb 9");
    EXPECT_FALSE(idevid.is_ca());
    identity::VerifyOptions v;
    v.trust_anchors = {ca};
    EXPECT_TRUE(identity::VerifyCertificate(idevid, v));
    if (HaveOpenssl()) ExpectOpensslAccepts(out, t);
  }
  EXPECT_EQ(serials.size(), 3u);
  EXPECT_EQ(codes.size(), 3u);
  EXPECT_EQ(fs::status(out / "manifest.json").permissions() & fs::perms::all, fs::perms(0600));
}

TEST(ManufactureCli, FileStoreKeysAreEncryptedAndMatchTheIdevid) {
  TempDir tmp;
  const fs::path out = tmp.path() / "f";
  ASSERT_EQ(Cli("--vendor V --model M --count 1 --out " + out.string()).exit_code, 0);
  Manifest m = LoadManifestOrDie(out);
  ASSERT_EQ(m.things.size(), 1u);
  const ThingRecord& t = m.things[0];
  keystore::FileKeyStoreOptions so;
  so.dir = (out / t.key_location).string();
  auto store = keystore::FileKeyStore::Open(std::move(so));
  ASSERT_TRUE(store) << store.error().ToString();
  auto pub = (*store)->PublicKey(t.key_label);
  ASSERT_TRUE(pub) << pub.error().ToString();
  EXPECT_TRUE(Cert(out / t.idevid).MatchesPublicKey(*pub));
  // The file holds neither a PEM private key nor the raw scalar nor the PKCS#8 DER.
  auto der = (*store)->ExportPrivate(t.key_label);
  ASSERT_TRUE(der);
  auto key = crypto::PrivateKey::FromDer(*der);
  auto raw = key->ToRaw();
  const std::string file = *ReadFile((*store)->PathFor(t.key_label));
  EXPECT_EQ(file.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(file.find(std::string(raw->AsStringView())), std::string::npos);
  EXPECT_EQ(file.find(std::string(der->AsStringView())), std::string::npos);
  // And the vendor CA key likewise.
  const std::string ca_key = *ReadFile((out / "ca/keystore/vendor-ca.key").string());
  EXPECT_EQ(ca_key.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(ca_key.substr(0, 4), "SPKS");
}

TEST(ManufactureCli, RerunAddsThingsAndNeverOverwrites) {
  TempDir tmp;
  const fs::path out = tmp.path() / "f";
  ASSERT_EQ(Cli("--vendor Acme --model Sensor --count 2 --out " + out.string()).exit_code, 0);
  Manifest first = LoadManifestOrDie(out);
  const std::string idevid1 = *ReadFile((out / first.things[0].idevid).string());
  const std::string key1 = *ReadFile(
      (out / first.things[0].key_location / (first.things[0].key_label + ".key")).string());
  auto r = Cli("--vendor Acme --model Sensor --count 3 --out " + out.string() + " --format json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("\"vendor_ca_created\": false"), std::string::npos) << r.out;
  Manifest second = LoadManifestOrDie(out);
  ASSERT_EQ(second.things.size(), 5u);
  EXPECT_EQ(second.ca_fingerprint, first.ca_fingerprint);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(second.things[i].index, i + 1);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(second.things[i].idevid_fingerprint, first.things[i].idevid_fingerprint);
    EXPECT_EQ(second.things[i].setup_code, first.things[i].setup_code);
  }
  EXPECT_EQ(*ReadFile((out / first.things[0].idevid).string()), idevid1);
  EXPECT_EQ(
      *ReadFile(
          (out / first.things[0].key_location / (first.things[0].key_label + ".key")).string()),
      key1);
  if (HaveOpenssl()) ExpectOpensslAccepts(out, second.things[4]);
}

TEST(ManufactureCli, AnotherVendorOrModelIsRefused) {
  TempDir tmp;
  const fs::path out = tmp.path() / "f";
  ASSERT_EQ(Cli("--vendor Acme --model Sensor --out " + out.string()).exit_code, 0);
  const std::string before = *ReadFile((out / "manifest.json").string());
  auto r = Cli("--vendor Evil --model Sensor --out " + out.string());
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("vendor 'Acme'"), std::string::npos) << r.out;
  r = Cli("--vendor Acme --model Other --out " + out.string());
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("model 'Sensor'"), std::string::npos) << r.out;
  EXPECT_EQ(*ReadFile((out / "manifest.json").string()), before);
}

TEST(ManufactureCli, SerialLeftByAnInterruptedRunIsSkipped) {
  TempDir tmp;
  const fs::path out = tmp.path() / "f";
  ASSERT_EQ(Cli("--vendor Acme --model Sensor --count 1 --out " + out.string()).exit_code, 0);
  // A crash after claiming serial 2 but before the manifest was written.
  const fs::path orphan = out / "things" / SerialFor("Sensor", 2);
  fs::create_directories(orphan);
  std::ofstream(orphan / "marker") << "half made";
  ASSERT_EQ(Cli("--vendor Acme --model Sensor --count 1 --out " + out.string()).exit_code, 0);
  Manifest m = LoadManifestOrDie(out);
  ASSERT_EQ(m.things.size(), 2u);
  EXPECT_EQ(m.things[1].index, 3);
  EXPECT_EQ(*ReadFile((orphan / "marker").string()), "half made");
  EXPECT_FALSE(fs::exists(orphan / "idevid.pem"));
}

TEST(ManufactureCli, BadArgumentsExit2WithAMessage) {
  TempDir tmp;
  const std::string out = " --out " + (tmp.path() / "f").string();
  struct Case {
    std::string args, message;
  } cases[] = {
      {"--model M" + out, "--vendor is required"},
      {"--vendor V" + out, "--model is required"},
      {"--vendor V --model M", "--out is required"},
      {"--vendor V --model M --count 0" + out, "--count"},
      {"--vendor V --model M --count x" + out, "--count"},
      {"--vendor V --model M --keystore tpm" + out, "--keystore"},
      {"--vendor V --model M --keystore pkcs11" + out, "--token"},
      {"--vendor V --model M --keystore pkcs11 --token t" + out, "--pin"},
      {"--vendor V --model M --token t" + out, "pkcs11 only"},
      {"--vendor '' --model M" + out, "--vendor: must not be empty"},
      {"--vendor V --model " + std::string(70, 'm') + out, "longer than 64"},
  };
  for (const Case& c : cases) {
    auto r = Cli(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << c.args << "\n" << r.out;
  }
  EXPECT_FALSE(fs::exists(tmp.path() / "f" / "manifest.json"));
  auto help = Cli("--help");
  EXPECT_EQ(help.exit_code, 0);
  for (const char* opt : {"--vendor", "--model", "--count", "--out", "--keystore", "--token",
                          "--pin", "--pkcs11-module"})
    EXPECT_NE(help.out.find(opt), std::string::npos) << opt;
}

TEST(ManufactureCli, Pkcs11KeysStayInTheToken) {
  SECPROF_REQUIRE_SOFTHSM();
  testing::SoftHsmToken token;
  ASSERT_TRUE(token.ok()) << token.init_output();
  const fs::path out = token.dir() / "factory";
  auto r = Cli("--vendor Acme --model Meter --count 2 --keystore pkcs11 --token " +
               std::string(testing::kTestTokenLabel) + " --pin " + testing::kTestPin + " --out " +
               out.string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  Manifest m = LoadManifestOrDie(out);
  ASSERT_EQ(m.things.size(), 2u);
  auto store = keystore::Pkcs11KeyStore::Open(token.Options());
  ASSERT_TRUE(store) << store.error().ToString();
  for (const ThingRecord& t : m.things) {
    EXPECT_EQ(t.key_store, "pkcs11");
    EXPECT_EQ(t.key_location, "pkcs11:token=" + std::string(testing::kTestTokenLabel));
    EXPECT_FALSE(fs::exists(out / t.dir / "keystore"));  // no key material on disk
    auto pub = (*store)->PublicKey(t.key_label);
    ASSERT_TRUE(pub) << pub.error().ToString();
    EXPECT_TRUE(Cert(out / t.idevid).MatchesPublicKey(*pub));
    EXPECT_EQ((*store)->ExportPrivate(t.key_label).error().code(), ErrorCode::kUnsupported);
    if (HaveOpenssl()) ExpectOpensslAccepts(out, t);
  }
  store->reset();  // the CLI run below initialises the module in its own process anyway
  r = Cli("--vendor Acme --model Meter --count 1 --keystore pkcs11 --token " +
          std::string(testing::kTestTokenLabel) + " --pin 0000 --out " + out.string());
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("CKR_PIN_INCORRECT"), std::string::npos) << r.out;
  EXPECT_EQ(LoadManifestOrDie(out).things.size(), 2u);
}

}  // namespace
}  // namespace secprof::manufacture

// `secprof voucher issue|verify|inspect` end to end: a factory made with `secprof manufacture`,
// the owner's domain CA made here, and the exit codes of every path (0 ok, 1 does not verify or
// bind, 2 malformed or bad arguments). Built as voucher_cli_test from tests/voucher/CMakeLists.txt.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "secprof/core/fs.h"
#include "secprof/core/time_format.h"
#include "secprof/crypto/random.h"
#include "secprof/crypto/signer.h"
#include "secprof/identity/identity.h"
#include "secprof/voucher/voucher.h"
#include "testutil.h"

namespace secprof::voucher {
namespace {

namespace fs = std::filesystem;
using testing::Binary;
using testing::Run;
using testing::RunResult;
using testing::TempDir;

RunResult Cli(const std::string& args) { return Run(Binary() + " voucher " + args + " 2>&1"); }
RunResult CliOut(const std::string& args) { return Run(Binary() + " voucher " + args); }

// Writes a fresh self-signed domain CA certificate (PEM) for `org` to `path`.
void MakeDomainCa(const fs::path& path, const std::string& org, uint64_t seed) {
  auto rng = crypto::FakeRandom::FromSeed(seed);
  auto sk = crypto::PrivateKey::Generate(crypto::KeyType::kP256, rng);
  ASSERT_TRUE(sk);
  auto signer =
      crypto::SoftwareSigner::Create(std::move(*sk), crypto::SignatureAlgorithm::kEcdsaP256Sha256);
  ASSERT_TRUE(signer);
  identity::CaOptions o;
  o.organization = org;
  auto ca = identity::CreateDomainCa(*signer, o);
  ASSERT_TRUE(ca) << ca.error().ToString();
  ASSERT_TRUE(WriteFileAtomic(path.string(), ca->ToPem()));
}

std::set<std::string> Listing(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) out.insert(e.path().string());
  return out;
}

class VoucherCli : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r =
        testing::Run(Binary() + " manufacture --vendor Acme --model LightBulb-9 --count 3 --out " +
                     factory() + " 2>&1");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    MakeDomainCa(tmp_.path() / "domain.pem", "Plant 7", 1);
    MakeDomainCa(tmp_.path() / "other-domain.pem", "Plant 7", 2);
  }
  std::string factory() const { return (tmp_.path() / "factory").string(); }
  std::string p(const std::string& name) const { return (tmp_.path() / name).string(); }
  std::string ca() const { return factory() + "/ca/ca.pem"; }
  std::string Serial(int i) const {
    char buf[32];
    std::snprintf(buf, sizeof buf, "lightbulb-9-%06d", i);
    return buf;
  }

  TempDir tmp_;
};

TEST_F(VoucherCli, IssueVerifyInspect) {
  auto r = Cli("issue --factory " + factory() + " --serial " + Serial(1) + " --domain-ca " +
               p("domain.pem") + " --owner 'Plant 7' --days 30 --out " + p("v1.voucher"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("wrote " + p("v1.voucher")), std::string::npos) << r.out;
  ASSERT_TRUE(fs::exists(p("v1.voucher")));

  r = Cli("verify " + p("v1.voucher") + " --ca " + ca());
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("OK: " + p("v1.voucher") + ": voucher for serial " + Serial(1)),
            std::string::npos)
      << r.out;
  r = Cli("verify " + p("v1.voucher") + " --ca " + ca() + " --serial " + Serial(1) +
          " --domain-ca " + p("domain.pem"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("OK: it pins the domain CA"), std::string::npos) << r.out;

  r = CliOut("inspect " + p("v1.voucher") + " --format json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["serial"], Serial(1));
  EXPECT_EQ(j["vendor"], "Acme");
  EXPECT_EQ(j["model"], "LightBulb-9");
  EXPECT_EQ(j["owner"], "Plant 7");
  EXPECT_EQ(j["alg"], "ES256");
  EXPECT_EQ(j["schema"], "secprof.voucher.inspect.v2");
  // Times are ISO 8601 UTC (docs/CLI.md); read back, they are 30 days apart.
  auto created = ParseIso8601(j["created"].get<std::string>());
  auto expires = ParseIso8601(j["expires"].get<std::string>());
  ASSERT_TRUE(created && expires) << j.dump();
  EXPECT_EQ(*expires - *created, 30 * 86400);
  EXPECT_EQ(j["domain_hash"].get<std::string>().size(), 64u);
  EXPECT_EQ(j["verified"], false);
  r = Cli("inspect " + p("v1.voucher"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("NOT verified"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("serial    " + Serial(1)), std::string::npos) << r.out;
}

TEST_F(VoucherCli, VerifyFailuresExit1) {
  ASSERT_EQ(Cli("issue --factory " + factory() + " --serial " + Serial(2) + " --domain-ca " +
                p("domain.pem") + " --out " + p("v.voucher"))
                .exit_code,
            0);
  // Wrong serial, wrong domain.
  auto r = Cli("verify " + p("v.voucher") + " --ca " + ca() + " --serial " + Serial(1));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("voucher is for serial '" + Serial(2) + "', not '" + Serial(1) + "'"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("OK:"), std::string::npos) << r.out;
  r = Cli("verify " + p("v.voucher") + " --ca " + ca() + " --domain-ca " + p("other-domain.pem"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("pins another domain"), std::string::npos) << r.out;
  // Another vendor's CA as the anchor.
  auto m =
      testing::Run(Binary() + " manufacture --vendor Acme --model LightBulb-9 --count 1 --out " +
                   p("factory2") + " 2>&1");
  ASSERT_EQ(m.exit_code, 0) << m.out;
  r = Cli("verify " + p("v.voucher") + " --ca " + p("factory2") + "/ca/ca.pem");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("another vendor CA"), std::string::npos) << r.out;
  // A flipped signature byte (the last bytes of the file are the signature).
  auto raw = ReadFile(p("v.voucher"));
  ASSERT_TRUE(raw);
  std::string flipped = *raw;
  flipped[flipped.size() - 5] ^= 0x10;
  ASSERT_TRUE(WriteFileAtomic(p("flipped.voucher"), flipped));
  r = Cli("verify " + p("flipped.voucher") + " --ca " + ca());
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("voucher signature does not verify"), std::string::npos) << r.out;
  // Expired: issued in-process a year ago for one day.
  FakeClock past(std::chrono::system_clock::now() - std::chrono::days(365));
  auto ca_pem = ReadFile(p("domain.pem"));
  ASSERT_TRUE(ca_pem);
  auto domain = identity::Certificate::FromPem(*ca_pem);
  ASSERT_TRUE(domain);
  auto old = IssueFromFactory(factory(), Serial(1), *domain, "", std::chrono::days(1), past);
  ASSERT_TRUE(old) << old.error().ToString();
  ASSERT_TRUE(WriteFileAtomic(p("old.voucher"), std::string(old->begin(), old->end())));
  r = Cli("verify " + p("old.voucher") + " --ca " + ca());
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("voucher expired at"), std::string::npos) << r.out;
}

TEST_F(VoucherCli, MalformedInputExit2) {
  ASSERT_EQ(Cli("issue --factory " + factory() + " --serial " + Serial(1) + " --domain-ca " +
                p("domain.pem") + " --out " + p("v.voucher"))
                .exit_code,
            0);
  auto raw = ReadFile(p("v.voucher"));
  ASSERT_TRUE(raw);
  ASSERT_TRUE(WriteFileAtomic(p("trunc.voucher"), raw->substr(0, raw->size() / 2)));
  ASSERT_TRUE(WriteFileAtomic(p("text.voucher"), "not a voucher\n"));
  for (const std::string& f : {p("trunc.voucher"), p("text.voucher")}) {
    auto r = Cli("verify " + f + " --ca " + ca());
    EXPECT_EQ(r.exit_code, 2) << r.out;
    EXPECT_NE(r.out.find(f + ": voucher: "), std::string::npos) << r.out;
    r = Cli("inspect " + f);
    EXPECT_EQ(r.exit_code, 2) << r.out;
  }
  auto r = Cli("verify " + p("missing.voucher") + " --ca " + ca());
  EXPECT_EQ(r.exit_code, 2) << r.out;
  r = Cli("verify " + p("v.voucher") + " --ca " + p("text.voucher"));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("--ca"), std::string::npos) << r.out;
  r = Cli("verify " + p("v.voucher"));  // --ca is required
  EXPECT_EQ(r.exit_code, 2) << r.out;
  r = Cli("inspect " + p("v.voucher") + " --format yaml");
  EXPECT_EQ(r.exit_code, 2) << r.out;
}

TEST_F(VoucherCli, IssueErrorsExit2AndWriteNothing) {
  const auto before = Listing(tmp_.path());
  auto r = Cli("issue --factory " + factory() + " --serial nope-000009 --domain-ca " +
               p("domain.pem") + " --out " + p("x.voucher"));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("serial nope-000009 is not in " + factory() + "/manifest.json"),
            std::string::npos)
      << r.out;
  // One unknown serial among known ones: nothing is written.
  r = Cli("issue --factory " + factory() + " --serial " + Serial(1) +
          " --serial nope-000009 --domain-ca " + p("domain.pem") + " --out " + p("outdir"));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  const std::vector<std::string> bad = {
      "--factory " + factory() + " --domain-ca " + p("domain.pem") + " --out " + p("x"),
      "--factory " + factory() + " --all --serial " + Serial(1) + " --domain-ca " +
          p("domain.pem") + " --out " + p("x"),
      "--factory " + factory() + " --serial " + Serial(1) + " --serial " + Serial(1) +
          " --domain-ca " + p("domain.pem") + " --out " + p("x"),
      "--factory " + factory() + " --serial " + Serial(1) + " --domain-ca " + p("domain.pem") +
          " --days 0 --out " + p("x"),
      "--factory " + factory() + " --serial " + Serial(1) + " --domain-ca " + p("missing.pem") +
          " --out " + p("x"),
      "--factory " + p("nofactory") + " --serial " + Serial(1) + " --domain-ca " + p("domain.pem") +
          " --out " + p("x"),
      "--factory " + factory() + " --serial " + Serial(1) + " --domain-ca " + p("domain.pem") +
          " --owner \"$(printf 'a\\tb')\" --out " + p("x"),
  };
  for (const auto& args : bad) {
    r = Cli("issue " + args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.out;
    EXPECT_FALSE(r.out.empty()) << args;
  }
  EXPECT_EQ(Listing(tmp_.path()), before);
}

TEST_F(VoucherCli, SeveralSerialsAndAllGoToADirectory) {
  auto r = Cli("issue --factory " + factory() + " --serial " + Serial(1) + " --serial " +
               Serial(3) + " --domain-ca " + p("domain.pem") + " --out " + p("some"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(fs::exists(p("some") + "/" + Serial(1) + ".voucher"));
  EXPECT_TRUE(fs::exists(p("some") + "/" + Serial(3) + ".voucher"));
  EXPECT_FALSE(fs::exists(p("some") + "/" + Serial(2) + ".voucher"));

  r = Cli("issue --factory " + factory() + " --all --domain-ca " + p("domain.pem") + " --out " +
          p("all"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("issued 3 vouchers"), std::string::npos) << r.out;
  for (int i = 1; i <= 3; ++i) {
    const std::string f = p("all") + "/" + Serial(i) + ".voucher";
    auto v = Cli("verify " + f + " --ca " + ca() + " --serial " + Serial(i) + " --domain-ca " +
                 p("domain.pem"));
    EXPECT_EQ(v.exit_code, 0) << v.out;
  }
  // Several vouchers into an existing regular file: refused.
  ASSERT_TRUE(WriteFileAtomic(p("afile"), "x"));
  r = Cli("issue --factory " + factory() + " --all --domain-ca " + p("domain.pem") + " --out " +
          p("afile"));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("must be a directory"), std::string::npos) << r.out;
}

TEST_F(VoucherCli, HelpEverywhere) {
  for (std::string sub : {"", "issue ", "verify ", "inspect "}) {
    auto r = Cli(sub + "--help");
    EXPECT_EQ(r.exit_code, 0) << sub << r.out;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << sub << r.out;
  }
  auto r = Cli("");
  EXPECT_NE(r.exit_code, 0) << r.out;  // a subcommand is required
}

}  // namespace
}  // namespace secprof::voucher

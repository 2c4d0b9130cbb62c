// Issue 9 items 5 and 12 with keys in a token (SoftHSM2 standing in for a secure element), played
// against real `secprof` processes (suite TokenKeyProtection; a separate binary because
// SOFTHSM2_CONF is per process): the manufacturer claims key-in-token in the IDevID, a SecProf_3
// KDC requiring token keys admits the token thing and refuses a file-key thing of the same
// vendor; the token thing's state directory holds no KEK at all (its secrets are sealed in the
// token), so a byte copy of it, used with an attacker's token of the same label and PIN, opens
// nothing; a token thing of the old layout (a file KEK inside its directory) is refused without
// --allow-colocated-kek and migrate-kek re-seals its secrets in the token. The domain CA key is
// generated in a token too (--pkcs11-token).
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "secprof/core/fs.h"
#include "secprof/crypto/random.h"
#include "secprof/identity/identity.h"
#include "support/child_process.h"
#include "support/softhsm_fixture.h"
#include "testutil.h"

namespace secprof::thing {
namespace {

namespace fs = std::filesystem;

using secprof::testing::TempDir;
using testing::Child;
using testing::Quote;
using testing::Secprof;
using testing::Slurp;
using testing::WaitReady;

std::string FirstSerial(const fs::path& factory) {
  auto j = nlohmann::json::parse(Slurp(factory / "manifest.json"));
  return j["things"][0]["serial"];
}

TEST(TokenKeyProtection, TokenThingJoinsFileThingRefusedCopyOpensNothing) {
  SECPROF_REQUIRE_SOFTHSM();
  secprof::testing::SoftHsmToken token;
  ASSERT_TRUE(token.ok()) << token.init_output();
  TempDir tmp;
  auto P = [&](const std::string& n) { return tmp.path() / n; };
  const std::string pin = secprof::testing::kTestPin;
  const std::string label = secprof::testing::kTestTokenLabel;

  // A vendor that makes keys in tokens, and one (for the refusal) that makes them in files.
  const fs::path factory = P("factory"), files = P("factory-files");
  auto r = Secprof("manufacture --vendor Acme --model Robot --count 2 --keystore pkcs11 --token " +
                   label + " --pin " + pin + " --out " + Quote(factory.string()));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = Secprof("manufacture --vendor Budget --model Rover --count 1 --out " + Quote(files.string()));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string s_token = FirstSerial(factory), s_file = FirstSerial(files);
  // The manufacturer's claim is in the token thing's IDevID only.
  for (const auto& [f, want] : {std::pair{factory, true}, std::pair{files, false}}) {
    auto cert = identity::Certificate::FromPem(Slurp(f / "things" / FirstSerial(f) / "idevid.pem"));
    ASSERT_TRUE(cert);
    const auto& pol = cert->certificate_policies();
    EXPECT_EQ(std::find(pol.begin(), pol.end(), identity::kPolicyKeyInToken) != pol.end(), want)
        << f;
  }

  const std::string db = P("kdc.db").string();
  Child kdc(
      {"kdc", "--profile", "SecProf_3", "--db", db, "--listen", "127.0.0.1:0", "--vendor-ca",
       (factory / "ca" / "ca.pem").string(), "--vendor-ca", (files / "ca" / "ca.pem").string(),
       "--pkcs11-token", label, "--pin", pin, "--ready-file", P("kdc.ready").string()},
      P("kdc.log"));
  auto ports = WaitReady(kdc, P("kdc.ready"), P("kdc.log"));
  ASSERT_TRUE(ports);
  // The domain CA key was generated in the token: recorded, and not in the KDC's file store.
  EXPECT_NE(Slurp(db + ".keys/domain-ca.key").find("pkcs11 " + label + " domain-ca-"),
            std::string::npos);
  // ... and so was the KDC's DTLS key: the KDC's file store holds no key at all.
  EXPECT_FALSE(fs::exists(db + ".keys/keystore/domain-ca.key"));
  EXPECT_FALSE(fs::exists(db + ".keys/keystore/kdc-tls.key"));
  {
    auto store = keystore::Pkcs11KeyStore::Open(token.Options());
    ASSERT_TRUE(store);
    auto labels = (*store)->List();
    ASSERT_TRUE(labels);
    int kdc_keys = 0;
    for (const auto& l : *labels) {
      if (l.rfind("domain-ca-", 0) != 0 && l.rfind("kdc-tls-", 0) != 0) continue;
      ++kdc_keys;
      EXPECT_EQ((*store)->ExportPrivate(l).error().code(), ErrorCode::kUnsupported) << l;
    }
    EXPECT_EQ(kdc_keys, 2);
  }
  const std::string dca = P("domain-ca.pem").string();
  ASSERT_EQ(Secprof("kdc domain-ca --db " + Quote(db) + " > " + Quote(dca)).exit_code, 0);
  for (const fs::path& f : {factory, files}) {
    const std::string vdir = (f / "vouchers").string();
    ASSERT_EQ(Secprof("voucher issue --factory " + Quote(f.string()) + " --all --domain-ca " +
                      Quote(dca) + " --out " + Quote(vdir))
                  .exit_code,
              0);
    r = Secprof("kdc import-voucher --db " + Quote(db) + " --vendor-ca " +
                Quote((f / "ca" / "ca.pem").string()) + " " + Quote(vdir) + "/*.voucher");
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  const std::string kdc_addr =
      "127.0.0.1:" + std::to_string(ports->udp) + ":" + std::to_string(ports->dtls);
  auto T = [&](const fs::path& state, const std::string& args) {
    return "thing --state " + Quote(state.string()) + " --pin " + pin + " " + args;
  };

  // The token thing: no override needed, joins, reports; no KEK in or beside its directory.
  const fs::path t = P("t");
  for (const std::string& step : {"init --factory " + Quote(factory.string()) + " --serial " +
                                      s_token + " --profile SecProf_3",
                                  "install --kdc " + kdc_addr, std::string("join"),
                                  std::string("operational"), std::string("report --celsius 20")}) {
    r = Secprof(T(t, step));
    ASSERT_EQ(r.exit_code, 0) << step << "\n" << r.out;
  }
  auto st = nlohmann::json::parse(Secprof(T(t, "status --format json")).out);
  EXPECT_EQ(st["kek"], "token");
  EXPECT_TRUE(st["key_overrides"].empty());
  EXPECT_FALSE(fs::exists(t.string() + ".kek"));
  EXPECT_FALSE(fs::exists(t / "kek"));
  EXPECT_FALSE(fs::exists(t / "keystore"));

  // The file-key thing: accepted locally only with the recorded override, and
  // refused by the KDC (4.03), its registry entry unchanged.
  const fs::path u = P("u");
  ASSERT_EQ(Secprof(T(u, "init --factory " + Quote(files.string()) + " --serial " + s_file +
                             " --profile SecProf_3 --allow-file-keys"))
                .exit_code,
            0);
  ASSERT_EQ(Secprof(T(u, "install --kdc " + kdc_addr)).exit_code, 0);
  r = Secprof(T(u, "join"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("token"), std::string::npos) << r.out;
  r = Secprof("kdc list --db " + Quote(db) + " --format json");
  auto list = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(list.is_discarded()) << r.out;
  for (const auto& th : list["things"]) {
    if (th["serial"] == s_file) {
      EXPECT_EQ(th["state"], "allowed") << th.dump();
    }
    if (th["serial"] == s_token) {
      EXPECT_EQ(th["state"], "operational") << th.dump();
    }
  }

  // The attacker copies the token thing's directory and brings a token of their own with the
  // same label and PIN (SoftHSM2 configured elsewhere). The copy opens nothing.
  const fs::path clone = P("clone");
  ASSERT_EQ(
      secprof::testing::Run("cp -a " + Quote(t.string()) + " " + Quote(clone.string())).exit_code,
      0);
  const std::string clone_before = Slurp(clone / "state.json");
  {
    const fs::path other = P("attacker-hsm");
    fs::create_directories(other / "tokens");
    std::ofstream(other / "softhsm2.conf")
        << "directories.tokendir = " << (other / "tokens").string()
        << "\nobjectstore.backend = file\nlog.level = ERROR\n";
    const std::string conf = "SOFTHSM2_CONF=" + Quote((other / "softhsm2.conf").string()) + " ";
    ASSERT_EQ(secprof::testing::Run(conf + "softhsm2-util --init-token --free --label " + label +
                                    " --pin " + pin + " --so-pin 5678 >/dev/null 2>&1")
                  .exit_code,
              0);
    r = secprof::testing::Run(conf + Quote(secprof::testing::Binary()) + " " +
                              T(clone, "report --celsius 99") + " 2>&1");
    EXPECT_NE(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("kek-" + s_token), std::string::npos) << r.out;
  }
  EXPECT_EQ(Slurp(clone / "state.json"), clone_before);
  // A token thing of the layout before issue 9 (its secrets sealed under <state>/kek): refused
  // without the override, works with it, and migrate-kek re-seals its secrets in the token.
  const std::string s_old =
      nlohmann::json::parse(Slurp(factory / "manifest.json"))["things"][1]["serial"];
  const fs::path o = P("old");
  ASSERT_EQ(Secprof(T(o, "init --factory " + Quote(factory.string()) + " --serial " + s_old +
                             " --profile SecProf_3"))
                .exit_code,
            0);
  {
    auto j = nlohmann::ordered_json::parse(Slurp(o / "state.json"));
    j.erase("kek");
    j.erase("kek_label");
    ASSERT_TRUE(WriteFileAtomic((o / "state.json").string(), j.dump(2) + "\n", 0600));
    auto k = crypto::SystemRandomSource().DrawSecret(32);
    ASSERT_TRUE(k);
    ASSERT_TRUE(WriteFileAtomic((o / "kek").string(), k->AsStringView(), 0600));
  }
  r = Secprof(T(o, "install --kdc " + kdc_addr));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("migrate-kek"), std::string::npos) << r.out;
  for (const std::string& step : {"install --kdc " + kdc_addr, std::string("join"),
                                  std::string("operational"), std::string("report --celsius 5")}) {
    r = Secprof(T(o, "--allow-colocated-kek " + step));
    ASSERT_EQ(r.exit_code, 0) << step << "\n" << r.out;
  }
  ASSERT_FALSE(
      nlohmann::json::parse(Slurp(o / "state.json"))["secrets"].get<std::string>().empty());
  r = Secprof(T(o, "migrate-kek"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("token key 'kek-" + s_old + "'"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(o / "kek"));
  st = nlohmann::json::parse(Secprof(T(o, "status --format json")).out);
  EXPECT_EQ(st["kek"], "token");
  EXPECT_TRUE(st["key_overrides"].empty()) << st.dump();
  r = Secprof(T(o, "report --celsius 6"));  // the secrets open in the token now
  EXPECT_EQ(r.exit_code, 0) << r.out;

  // The genuine thing (its own token) still reports.
  r = Secprof(T(t, "report --celsius 21"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(kdc.Stop(SIGTERM), 0) << Slurp(P("kdc.log"));
}

}  // namespace
}  // namespace secprof::thing

// Issue 9 items 5 and 12 played as attacks against real `secprof` processes (suite
// KeyProtection): a byte copy of a thing's state directory (cp -a) must open nothing — no sealed
// secret, no key of the key store — because the KEK is not in it; a KEK inside the directory
// (the old layout) is refused without --allow-colocated-kek, accepted and recorded with it, and
// moved out by migrate-kek; a SecProf_3 thing with a file key store is refused at init without
// --allow-file-keys and, with it, refused by a KDC that requires token keys (no state change).
// The token path is in thing_key_protection_token_cli_test.cpp (SoftHSM2 needs its own process).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "secprof/core/fs.h"
#include "secprof/crypto/random.h"
#include "secprof/keystore/file_store.h"
#include "secprof/keystore/kek.h"
#include "secprof/registry/registry.h"
#include "support/child_process.h"
#include "testutil.h"

namespace secprof::thing {
namespace {

namespace fs = std::filesystem;

using secprof::testing::TempDir;
using testing::Child;
using testing::Quote;
using testing::Secprof;
using testing::SerialsOf;
using testing::Slurp;
using testing::WaitReady;

// Every file under `dir` whose name is "kek" or ends in ".kek".
std::vector<std::string> KekFilesUnder(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (n == "kek" || (n.size() > 4 && n.substr(n.size() - 4) == ".kek") || n == "wrap.kek")
      out.push_back(e.path().string());
  }
  return out;
}

nlohmann::json Status(const fs::path& state, const std::string& extra = "") {
  auto r =
      Secprof("thing --state " + Quote(state.string()) + " " + extra + " status --format json");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  return nlohmann::json::parse(r.out, nullptr, false);
}

// Rewrites a new-layout file-key thing into the layout before issue 9: <state>/kek (the same
// secrets KEK) and <state>/keystore/kek (a fresh store KEK, the keys re-encrypted under it),
// state.json without "kek". What an existing installation looks like.
void MakeOldLayout(const fs::path& state) {
  auto& rng = crypto::SystemRandomSource();
  auto master = keystore::ReadKekFile(state.string() + ".kek");
  ASSERT_TRUE(master) << master.error().ToString();
  auto derived =
      keystore::DeriveKek(crypto::ByteView(master->data(), master->size()), "thing keystore");
  ASSERT_TRUE(derived);
  auto store_kek = rng.DrawSecret(32);
  ASSERT_TRUE(store_kek);
  ASSERT_TRUE(keystore::RewrapFileStore(
      (state / "keystore").string(), crypto::ByteView(derived->data(), derived->size()),
      crypto::ByteView(store_kek->data(), store_kek->size()), rng));
  ASSERT_TRUE(
      WriteFileAtomic((state / "keystore" / "kek").string(), store_kek->AsStringView(), 0600));
  ASSERT_TRUE(WriteFileAtomic((state / "kek").string(), master->AsStringView(), 0600));
  fs::remove(state.string() + ".kek");
  auto j = nlohmann::ordered_json::parse(Slurp(state / "state.json"));
  j.erase("kek");
  j.erase("kek_id");
  j.erase("kek_label");
  j.erase("key_overrides");
  ASSERT_TRUE(WriteFileAtomic((state / "state.json").string(), j.dump(2) + "\n", 0600));
}

class KeyProtection : public ::testing::Test {
 protected:
  std::string T(const fs::path& state, const std::string& args) {
    return "thing --state " + Quote(state.string()) + " " + args;
  }
  fs::path P(const std::string& name) const { return dir_.path() / name; }
  TempDir dir_;
};

TEST_F(KeyProtection, CopiedStateDirectoryOpensNothingAndColocatedKekIsRefused) {
  const fs::path factory = P("factory");
  ASSERT_EQ(
      Secprof("manufacture --vendor Acme --model Sensor --count 2 --out " + Quote(factory.string()))
          .exit_code,
      0);
  const auto serials = SerialsOf(factory);
  ASSERT_EQ(serials.size(), 2u);
  const std::string db = P("kdc.db").string();
  const fs::path ready = P("kdc.ready"), log = P("kdc.log");
  Child kdc({"kdc", "--profile", "SecProf_2", "--db", db, "--listen", "127.0.0.1:0",
             "--join-window", "0", "--ready-file", ready.string()},
            log);
  auto ports = WaitReady(kdc, ready, log);
  ASSERT_TRUE(ports);
  ASSERT_EQ(
      Secprof("kdc allow --db " + Quote(db) + " --factory " + Quote(factory.string()) + " --all")
          .exit_code,
      0);
  const std::string kdc_addr = "127.0.0.1:" + std::to_string(ports->udp);

  // The legitimate thing: joins and reports; its KEK is beside, not inside, its directory.
  const fs::path t1 = P("t1");
  for (const std::string& step :
       {"init --factory " + Quote(factory.string()) + " --serial " + serials[0] +
            " --profile SecProf_2",
        "install --kdc " + kdc_addr, std::string("join"), std::string("operational"),
        std::string("report --celsius 21.5")}) {
    auto r = Secprof(T(t1, step));
    ASSERT_EQ(r.exit_code, 0) << step << "\n" << r.out;
  }
  EXPECT_TRUE(KekFilesUnder(t1).empty()) << KekFilesUnder(t1).front();
  struct stat st {};
  ASSERT_EQ(::stat((t1.string() + ".kek").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(Status(t1)["kek"], "file");

  // Attack 1: a byte copy of the state directory, used elsewhere on the same machine.
  const fs::path clone = P("clone");
  ASSERT_EQ(
      secprof::testing::Run("cp -a " + Quote(t1.string()) + " " + Quote(clone.string())).exit_code,
      0);
  const std::string clone_before = Slurp(clone / "state.json");
  auto r = Secprof(T(clone, "report --celsius 99"));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("KEK"), std::string::npos) << r.out;
  EXPECT_EQ(Slurp(clone / "state.json"), clone_before);
  // ... nor does the copy's key store open with any key found in the copy (there is none), nor
  // with a KEK that a fresh store would make: the keys authenticate only under the thing's own.
  {
    keystore::FileKeyStoreOptions o;
    o.dir = (clone / "keystore").string();
    fs::create_directories(P("attacker"));
    o.kek_file = (P("attacker") / "kek").string();  // a KEK the attacker made
    auto s = keystore::FileKeyStore::Open(std::move(o));
    ASSERT_TRUE(s) << s.error().ToString();
    auto labels = (*s)->List();
    ASSERT_TRUE(labels);
    ASSERT_FALSE(labels->empty());
    for (const auto& l : *labels) {
      auto k = (*s)->Load(l);
      ASSERT_FALSE(k) << l << " opened under an attacker's KEK";
      EXPECT_EQ(k.error().code(), ErrorCode::kVerifyFailed);
    }
  }
  // Another thing's KEK does not open it either (named as a wrong KEK).
  const fs::path t2 = P("t2");
  ASSERT_EQ(Secprof(T(t2, "init --factory " + Quote(factory.string()) + " --serial " + serials[1] +
                              " --profile SecProf_2"))
                .exit_code,
            0);
  r = Secprof(T(clone, "--kek-file " + Quote(t2.string() + ".kek") + " status"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("is not"), std::string::npos) << r.out;
  // The genuine thing still works.
  r = Secprof(T(t1, "report --celsius 22"));
  EXPECT_EQ(r.exit_code, 0) << r.out;

  // The old layout (KEK inside the directory): refused without the override, state untouched.
  MakeOldLayout(t1);
  if (HasFatalFailure()) return;
  const std::string old_state = Slurp(t1 / "state.json");
  r = Secprof(T(t1, "report --celsius 23"));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("migrate-kek"), std::string::npos) << r.out;
  EXPECT_EQ(Slurp(t1 / "state.json"), old_state);
  // Its copy is a working clone — exactly the hole — so the override is explicit and recorded.
  r = Secprof(T(t1, "--allow-colocated-kek report --celsius 23"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  auto js = Status(t1, "--allow-colocated-kek");
  EXPECT_EQ(js["kek"], "colocated");
  EXPECT_EQ(js["key_overrides"], nlohmann::json::array({"colocated-kek"}));
  bool noted = false;
  for (const auto& h : js["history"])
    noted = noted || h["why"].get<std::string>().find("allow-colocated-kek") != std::string::npos;
  EXPECT_TRUE(noted) << js.dump(2);
  r = Secprof(T(t1, "--allow-colocated-kek status"));
  EXPECT_NE(r.out.find("override: colocated-kek"), std::string::npos) << r.out;

  // migrate-kek moves it out (same KEK: the sealed secrets stay valid) and re-encrypts the store.
  r = Secprof(T(t1, "migrate-kek"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(KekFilesUnder(t1).empty()) << KekFilesUnder(t1).front();
  EXPECT_TRUE(fs::exists(t1.string() + ".kek"));
  r = Secprof(T(t1, "migrate-kek"));  // idempotent
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("nothing to migrate"), std::string::npos) << r.out;
  r = Secprof(T(t1, "report --celsius 24"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  js = Status(t1);
  EXPECT_EQ(js["kek"], "file");
  EXPECT_TRUE(js["key_overrides"].empty()) << js.dump(2);
  // And a copy made now opens nothing again.
  const fs::path clone2 = P("clone2");
  ASSERT_EQ(
      secprof::testing::Run("cp -a " + Quote(t1.string()) + " " + Quote(clone2.string())).exit_code,
      0);
  r = Secprof(T(clone2, "report --celsius 99"));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  // A KEK file chosen inside the directory at init: refused, accepted (recorded) with the flag.
  const fs::path t3 = P("t3");
  r = Secprof(T(t3, "--kek-file " + Quote((t3 / "my.kek").string()) + " init --factory " +
                        Quote(factory.string()) + " --serial " + serials[1] +
                        " --profile SecProf_2"));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_FALSE(fs::exists(t3 / "state.json"));
  EXPECT_EQ(kdc.Stop(), 0);
}

TEST_F(KeyProtection, SecProf3FileKeysRefusedAtInitAndByTheKdc) {
  const fs::path factory = P("factory");
  ASSERT_EQ(
      Secprof("manufacture --vendor Acme --model Sensor --count 1 --out " + Quote(factory.string()))
          .exit_code,
      0);
  const auto serials = SerialsOf(factory);
  ASSERT_EQ(serials.size(), 1u);
  // init refuses a file key store for SecProf_3: exit 2, nothing written.
  const fs::path t = P("t");
  auto r = Secprof(T(t, "init --factory " + Quote(factory.string()) + " --serial " + serials[0] +
                            " --profile SecProf_3"));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("--allow-file-keys"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(t / "state.json"));
  // With the override: accepted and recorded.
  r = Secprof(T(t, "init --factory " + Quote(factory.string()) + " --serial " + serials[0] +
                       " --profile SecProf_3 --allow-file-keys"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto js = Status(t);
  EXPECT_EQ(js["key_overrides"], nlohmann::json::array({"file-keys"}));
  EXPECT_NE(js["history"][0]["why"].get<std::string>().find("allow-file-keys"), std::string::npos);
  // A SecProf_3 file-key thing made before this check (no recorded override) is refused until the
  // override is given, which is then recorded.
  {
    auto j = nlohmann::ordered_json::parse(Slurp(t / "state.json"));
    j["key_overrides"] = nlohmann::json::array();
    ASSERT_TRUE(WriteFileAtomic((t / "state.json").string(), j.dump(2) + "\n", 0600));
  }
  const std::string unrecorded = Slurp(t / "state.json");
  r = Secprof(T(t, "status"));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("--allow-file-keys"), std::string::npos) << r.out;
  EXPECT_EQ(Slurp(t / "state.json"), unrecorded);
  js = Status(t, "--allow-file-keys");
  EXPECT_EQ(js["key_overrides"], nlohmann::json::array({"file-keys"}));
  EXPECT_EQ(Status(t)["key_overrides"], nlohmann::json::array({"file-keys"}));  // now recorded

  // A SecProf_3 KDC keeps its domain CA key in a token: without one (and without the audited
  // override) it does not start, and creates nothing.
  const std::string db = P("kdc.db").string();
  const fs::path ready = P("kdc.ready"), log = P("kdc.log");
  r = Secprof("kdc --profile SecProf_3 --db " + Quote(db) + " --listen 127.0.0.1:0 --vendor-ca " +
              Quote((factory / "ca" / "ca.pem").string()) + " --duration 1");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("--pkcs11-token"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(db));
  EXPECT_FALSE(fs::exists(db + ".keys"));
  EXPECT_FALSE(fs::exists(db + ".keys.kek"));
  // With --allow-file-ca-key it runs (audited below), and token keys are still required of
  // things by default: the file-key thing's join is refused, 4.03, audited, nothing changed.
  Child kdc(
      {"kdc", "--profile", "SecProf_3", "--db", db, "--listen", "127.0.0.1:0", "--vendor-ca",
       (factory / "ca" / "ca.pem").string(), "--allow-file-ca-key", "--ready-file", ready.string()},
      log);
  auto ports = WaitReady(kdc, ready, log);
  ASSERT_TRUE(ports);
  const std::string dca = P("domain-ca.pem").string();
  ASSERT_EQ(Secprof("kdc domain-ca --db " + Quote(db) + " > " + Quote(dca)).exit_code, 0);
  const std::string vdir = P("vouchers").string();
  ASSERT_EQ(Secprof("voucher issue --factory " + Quote(factory.string()) + " --all --domain-ca " +
                    Quote(dca) + " --out " + Quote(vdir))
                .exit_code,
            0);
  r = Secprof("kdc import-voucher --db " + Quote(db) + " --vendor-ca " +
              Quote((factory / "ca" / "ca.pem").string()) + " " +
              Quote(vdir + "/" + serials[0] + ".voucher"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = Secprof(T(t, "install --kdc 127.0.0.1:" + std::to_string(ports->udp) + ":" +
                       std::to_string(ports->dtls)));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string thing_before = Slurp(t / "state.json");
  auto reg_state = [&] {
    auto reg = registry::Registry::Open(db);
    EXPECT_TRUE(reg);
    auto th = (*reg)->Get(serials[0]);
    EXPECT_TRUE(th);
    return std::string(registry::StateName(th->state));
  };
  const std::string kdc_before = reg_state();
  r = Secprof(T(t, "join"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("token"), std::string::npos) << r.out;
  EXPECT_EQ(Slurp(t / "state.json"), thing_before);
  EXPECT_EQ(reg_state(), kdc_before);
  r = Secprof("kdc audit --db " + Quote(db) + " --serial " + serials[0]);
  EXPECT_NE(r.out.find("refused:token-keys-required"), std::string::npos) << r.out;
  r = Secprof("kdc audit --db " + Quote(db));
  EXPECT_NE(r.out.find("override:file-ca-key"), std::string::npos) << r.out;
  EXPECT_EQ(kdc.Stop(), 0);

  // The owner may relax the policy explicitly; then the same thing joins.
  Child relaxed({"kdc", "--profile", "SecProf_3", "--db", db, "--listen", "127.0.0.1:0",
                 "--vendor-ca", (factory / "ca" / "ca.pem").string(), "--require-token-keys", "no",
                 "--allow-file-ca-key", "--ready-file", P("kdc2.ready").string()},
                log);
  auto ports2 = WaitReady(relaxed, P("kdc2.ready"), log);
  ASSERT_TRUE(ports2);
  ASSERT_EQ(Secprof(T(t, "factory-reset --force")).exit_code, 0);
  ASSERT_EQ(Secprof(T(t, "install --kdc 127.0.0.1:" + std::to_string(ports2->udp) + ":" +
                             std::to_string(ports2->dtls)))
                .exit_code,
            0);
  r = Secprof(T(t, "join"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  ASSERT_EQ(Secprof(T(t, "operational")).exit_code, 0);
  // Even so, a byte copy of its directory cannot use its LDevID: the key store's KEK is not in it.
  const fs::path clone = P("clone3");
  ASSERT_EQ(secprof::testing::Run("cp -a " + Quote(t.string()) + " " + Quote(clone.string()))
                .exit_code,
            0);
  r = Secprof(T(clone, "report --celsius 1"));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("KEK"), std::string::npos) << r.out;
  r = Secprof(T(t, "report --celsius 1"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(relaxed.Stop(), 0);
}

}  // namespace
}  // namespace secprof::thing

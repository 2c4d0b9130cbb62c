// Issue 9 item 12 at the KDC, played against real `secprof kdc` processes (suite
// KdcKeyProtection): a copy of the KDC's files (registry + key directory) yields neither the KEK
// that wraps every thing's PSK nor the domain CA key, because the KEK lives outside the key
// directory ("<keys>.kek"); a KEK inside it (the old wrap.kek layout) is refused without
// --allow-colocated-kek, audited with it, and moved out by `secprof kdc migrate-kek`; the domain
// keeps working throughout.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../../src/kdc/testing.h"  // PairwiseContext
#include "secprof/core/fs.h"
#include "secprof/crypto/random.h"
#include "secprof/domain/keys.h"
#include "secprof/kdc/kdc.h"
#include "secprof/keystore/file_store.h"
#include "secprof/keystore/kek.h"
#include "secprof/registry/registry.h"
#include "support/child_process.h"
#include "testutil.h"

namespace secprof::kdc {
namespace {

namespace fs = std::filesystem;

using secprof::testing::TempDir;
using secprof::testing::Child;
using secprof::testing::Quote;
using secprof::testing::Secprof;
using secprof::testing::Slurp;
using secprof::testing::WaitReady;

std::vector<fs::path> KekFilesUnder(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (n == "kek" || n == "wrap.kek" || (n.size() > 4 && n.substr(n.size() - 4) == ".kek"))
      out.push_back(e.path());
  }
  return out;
}

crypto::ByteView View(const std::string& s) {
  return crypto::ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

class KdcKeyProtection : public ::testing::Test {
 protected:
  fs::path P(const std::string& n) const { return dir_.path() / n; }
  std::string T(const std::string& args) {
    return "thing --state " + Quote(P("t").string()) + " " + args;
  }
  // The KDC as a child process; nullopt when it did not come up.
  std::optional<secprof::testing::Ports> StartKdc(std::unique_ptr<Child>& kdc,
                                                const std::vector<std::string>& extra = {}) {
    fs::remove(P("kdc.ready"));
    // Restarts reuse the first start's ports: the thing was installed with them.
    std::vector<std::string> args = {"kdc",
                                     "--profile",
                                     "SecProf_2",
                                     "--db",
                                     db_,
                                     "--listen",
                                     "127.0.0.1:" + std::to_string(ports_.udp),
                                     "--dtls-port",
                                     std::to_string(ports_.dtls),
                                     "--join-window",
                                     "0",
                                     "--ready-file",
                                     P("kdc.ready").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    kdc = std::make_unique<Child>(args, P("kdc.log"));
    auto p = WaitReady(*kdc, P("kdc.ready"), P("kdc.log"));
    if (p && ports_.udp == 0) ports_ = *p;
    return p;
  }
  // A factory of one thing, a running KDC that allowed it, and the thing joined and operational
  // (all through processes). Returns the serial; empty on failure (with the failure recorded).
  std::string EnrolOneThing(std::unique_ptr<Child>& kdc) {
    const fs::path factory = P("factory");
    auto r = Secprof("manufacture --vendor Acme --model Sensor --count 1 --out " +
                     Quote(factory.string()));
    EXPECT_EQ(r.exit_code, 0) << r.out;
    auto m = nlohmann::json::parse(Slurp(factory / "manifest.json"), nullptr, false);
    if (r.exit_code != 0 || m.is_discarded()) return "";
    const std::string serial = m["things"][0]["serial"];
    auto ports = StartKdc(kdc);
    EXPECT_TRUE(ports) << Slurp(P("kdc.log"));
    if (!ports) return "";
    r = Secprof("kdc allow --db " + Quote(db_) + " --factory " + Quote(factory.string()) +
                " --all");
    EXPECT_EQ(r.exit_code, 0) << r.out;
    for (const std::string& step : {"init --factory " + Quote(factory.string()) + " --serial " +
                                        serial + " --profile SecProf_2",
                                    "install --kdc 127.0.0.1:" + std::to_string(ports->udp),
                                    std::string("join"), std::string("operational")}) {
      r = Secprof(T(step));
      EXPECT_EQ(r.exit_code, 0) << step << "\n" << r.out;
      if (r.exit_code != 0) return "";
    }
    return serial;
  }
  secprof::testing::Ports ports_;
  TempDir dir_;
  std::string db_ = (dir_.path() / "kdc.db").string();
};

TEST_F(KdcKeyProtection, CopiedKdcFilesHoldNeitherTheWrapKekNorTheDomainCaKey) {
  std::unique_ptr<Child> kdc;
  const std::string serial = EnrolOneThing(kdc);
  ASSERT_FALSE(serial.empty());
  ASSERT_EQ(Secprof(T("report --celsius 20")).exit_code, 0);
  EXPECT_EQ(kdc->Stop(SIGTERM), 0) << Slurp(P("kdc.log"));

  const fs::path keys = db_ + ".keys";
  EXPECT_TRUE(KekFilesUnder(keys).empty()) << KekFilesUnder(keys).front();
  ASSERT_TRUE(fs::exists(db_ + ".keys.kek"));

  // The attacker copies the registry and the key directory (everything named kdc.db*, except the
  // KEK kept beside it).
  const fs::path stolen = P("stolen");
  fs::create_directories(stolen);
  ASSERT_EQ(secprof::testing::Run("cp -a " + Quote(db_) + " " + Quote(keys.string()) + " " +
                                  Quote(stolen.string()))
                .exit_code,
            0);
  const std::string sdb = (stolen / "kdc.db").string();
  auto reg = registry::Registry::Open(sdb);
  ASSERT_TRUE(reg) << reg.error().ToString();
  auto t = (*reg)->Get(serial);
  ASSERT_TRUE(t);
  ASSERT_FALSE(t->wrapped_key.empty());
  // Positive control (the check can fail): the real KEK does unwrap the stored PSK.
  auto real = keystore::ReadKekFile(db_ + ".keys.kek");
  ASSERT_TRUE(real);
  EXPECT_TRUE(domain::UnwrapKey(crypto::ByteView(real->data(), real->size()),
                                PairwiseContext(serial), t->wrapped_key));
  // No file of the copy unwraps it.
  size_t tried = 0;
  for (const auto& e : fs::recursive_directory_iterator(stolen)) {
    if (!e.is_regular_file()) continue;
    std::string bytes = Slurp(e.path());
    if (bytes.size() < 32) continue;
    for (size_t off = 0; off + 32 <= std::min<size_t>(bytes.size(), 4096); ++off, ++tried)
      EXPECT_FALSE(
          domain::UnwrapKey(View(bytes).subspan(off, 32), PairwiseContext(serial), t->wrapped_key))
          << e.path() << " at " << off;
  }
  EXPECT_GT(tried, 0u);
  // The domain CA key in the copy opens under no KEK the attacker can make.
  {
    keystore::FileKeyStoreOptions o;
    o.dir = (stolen / "kdc.db.keys" / "keystore").string();
    o.kek_file = P("attacker.kek").string();
    auto s = keystore::FileKeyStore::Open(std::move(o));
    ASSERT_TRUE(s);
    auto ca = (*s)->Load("domain-ca");
    ASSERT_FALSE(ca);
    EXPECT_EQ(ca.error().code(), ErrorCode::kVerifyFailed);
  }
  // A KDC started on the copy cannot open its keys (exit 2) and never listens.
  auto r =
      Secprof("kdc --profile SecProf_2 --db " + Quote(sdb) + " --listen 127.0.0.1:0 --duration 1");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("KEK"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("listening"), std::string::npos) << r.out;

  // Legitimate path: the real KDC restarts and the thing reports.
  auto ports = StartKdc(kdc);
  ASSERT_TRUE(ports) << Slurp(P("kdc.log"));
  ASSERT_EQ(Secprof(T("report --celsius 21")).exit_code, 0);
  EXPECT_EQ(kdc->Stop(SIGTERM), 0);
}

TEST_F(KdcKeyProtection, ColocatedKekRefusedAuditedWithOverrideAndMigrated) {
  std::unique_ptr<Child> kdc;
  ASSERT_FALSE(EnrolOneThing(kdc).empty());
  EXPECT_EQ(kdc->Stop(SIGTERM), 0);

  // The layout before issue 9: wrap.kek and keystore/kek inside the key directory.
  const std::string keys = db_ + ".keys";
  auto& rng = crypto::SystemRandomSource();
  auto master = keystore::ReadKekFile(keys + ".kek");
  ASSERT_TRUE(master);
  auto derived =
      keystore::DeriveKek(crypto::ByteView(master->data(), master->size()), "kdc keystore");
  ASSERT_TRUE(derived);
  auto store_kek = rng.DrawSecret(32);
  ASSERT_TRUE(store_kek);
  ASSERT_TRUE(keystore::RewrapFileStore(
      keys + "/keystore", crypto::ByteView(derived->data(), derived->size()),
      crypto::ByteView(store_kek->data(), store_kek->size()), rng));
  ASSERT_TRUE(WriteFileAtomic(keys + "/keystore/kek", store_kek->AsStringView(), 0600));
  ASSERT_TRUE(WriteFileAtomic(keys + "/wrap.kek", master->AsStringView(), 0600));
  fs::remove(keys + ".kek");

  auto audit_count = [&] {
    auto reg = registry::Registry::Open(db_);
    EXPECT_TRUE(reg);
    auto a = (*reg)->Audit();
    EXPECT_TRUE(a);
    return a ? a->size() : 0;
  };
  const size_t audit_before = audit_count();
  auto r =
      Secprof("kdc --profile SecProf_2 --db " + Quote(db_) + " --listen 127.0.0.1:0 --duration 1");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("migrate-kek"), std::string::npos) << r.out;
  EXPECT_EQ(audit_count(), audit_before) << "a refused start changes nothing";
  // Owner commands refuse it too.
  r = Secprof("kdc group create --db " + Quote(db_) + " cell");
  EXPECT_EQ(r.exit_code, 2) << r.out;

  // With the explicit override: it runs, and the override is in the audit log.
  auto ports = StartKdc(kdc, {"--allow-colocated-kek"});
  ASSERT_TRUE(ports) << Slurp(P("kdc.log"));
  ASSERT_EQ(Secprof(T("report --celsius 19")).exit_code, 0);
  EXPECT_EQ(kdc->Stop(SIGTERM), 0);
  r = Secprof("kdc audit --db " + Quote(db_));
  EXPECT_NE(r.out.find("override:colocated-kek"), std::string::npos) << r.out;

  // Migration: out of the directory, the registry's wrapped keys still valid.
  r = Secprof("kdc migrate-kek --db " + Quote(db_));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(KekFilesUnder(keys).empty()) << KekFilesUnder(keys).front();
  EXPECT_TRUE(fs::exists(keys + ".kek"));
  r = Secprof("kdc migrate-kek --db " + Quote(db_));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("nothing to migrate"), std::string::npos) << r.out;
  ports = StartKdc(kdc);
  ASSERT_TRUE(ports) << Slurp(P("kdc.log"));
  EXPECT_EQ(Secprof(T("report --celsius 18")).exit_code, 0);
  EXPECT_EQ(kdc->Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace secprof::kdc

// Issue 9 item 2 through the `secprof` binary (suite AuthzForgeCli): a vendor CA posing as the
// domain CA (its subject and key identifier, another key) is refused as the owner meets it, with
// exit 1 (refused): importing a voucher under it, and starting the KDC with it as --vendor-ca.
// The in-process attack (forged LDevID, the KDC's checks, a running KDC) is
// tests/thing/authz_forge_test.cpp; the certificates are support/forged_certs.h.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "secprof/core/fs.h"
#include "secprof/kdc/kdc.h"
#include "secprof/voucher/voucher.h"
#include "support/child_process.h"
#include "support/domain_fixture.h"
#include "support/forged_certs.h"
#include "testutil.h"

namespace secprof {
namespace {

namespace fs = std::filesystem;
using secprof::testing::Quote;
using secprof::testing::Secprof;

TEST(AuthzForgeCli, VendorCaPosingAsDomainCaIsRefusedByTheBinary) {
  secprof::testing::TempDir tmp;
  const fs::path factory = tmp.path() / "factory";
  auto made = secprof::testing::MakeFactory(factory, "Acme", "Sensor-1", 1);
  ASSERT_EQ(made.things.size(), 1u);
  const std::string db = (tmp.path() / "kdc.db").string();
  const std::string acme_ca = (factory / "ca/ca.pem").string();
  {  // The domain: its registry and key directory (the KDC's first start), then stopped.
    kdc::KdcOptions ko;
    ko.profile = domain::Profile::kSecProf3;
    ko.kek.allow_file_ca_key = true;
    ko.require_token_keys = false;
    ko.db_path = db;
    ko.owner = "Owner";
    ko.vendor_ca_files = {acme_ca};
    auto k = kdc::Kdc::Create(ko);
    ASSERT_TRUE(k) << k.error().ToString();
  }
  auto owner = kdc::OwnerTools::Open(db);
  ASSERT_TRUE(owner) << owner.error().ToString();
  const identity::Certificate domain_ca = (*owner)->domain_ca();
  owner->reset();

  secprof::testing::forge::PkeyPtr evil_key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  ASSERT_TRUE(evil_key);
  const identity::Certificate evil = secprof::testing::forge::EvilCa(domain_ca, evil_key.get());
  const std::string evil_pem = (tmp.path() / "evil.pem").string();
  ASSERT_TRUE(WriteFileAtomic(evil_pem, evil.ToPem(), 0644));
  auto acme = voucher::Factory::Open(factory.string());
  ASSERT_TRUE(acme);
  auto voucher0 =
      acme->Issue(made.things[0].serial, domain_ca, "Owner", std::chrono::hours(1), SystemClock());
  ASSERT_TRUE(voucher0);
  const std::string v0 = (tmp.path() / "v0.voucher").string();
  ASSERT_TRUE(WriteFileAtomic(
      v0, std::string_view(reinterpret_cast<const char*>(voucher0->data()), voucher0->size()),
      0644));

  // Importing the genuine voucher under the evil CA: refused (the CLI checks the voucher's kid
  // first), nothing imported.
  auto r = Secprof("kdc import-voucher --allow-colocated-kek --db " + Quote(db) + " --vendor-ca " +
                   Quote(evil_pem) + " " + Quote(v0));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("nothing imported"), std::string::npos) << r.out;
  // Starting the KDC with it as a trust anchor: refused before it serves.
  r = Secprof("kdc --profile SecProf_3 --owner Owner --db " + Quote(db) +
              " --allow-file-ca-key --listen 127.0.0.1:0 --duration 1 --vendor-ca " +
              Quote(acme_ca) + " --vendor-ca " + Quote(evil_pem));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("domain's CA"), std::string::npos) << r.out;
  // The legitimate import: the same voucher under Acme's CA.
  r = Secprof("kdc import-voucher --allow-colocated-kek --db " + Quote(db) + " --vendor-ca " +
              Quote(acme_ca) + " " + Quote(v0));
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

}  // namespace
}  // namespace secprof

// What `secprof kdc allow` and `secprof kdc import-voucher` call (kdc::AllowFromFactory,
// kdc::ImportVoucherFiles) and where a KDC keeps its files (kdc::Layout), in-process. The
// commands themselves are checked through the binary in tests/kdc/*_cli_test.cpp.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "secprof/core/fs.h"
#include "secprof/kdc/factory_manifest.h"
#include "secprof/kdc/kdc.h"
#include "secprof/kdc/layout.h"
#include "secprof/kdc/voucher_import.h"
#include "secprof/manufacture/manufacture.h"
#include "secprof/registry/registry.h"
#include "secprof/voucher/voucher.h"
#include "testutil.h"

namespace secprof::kdc {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

TEST(KdcLayout, KeysDefaultBesideTheRegistry) {
  Layout l = Layout::For("/x/kdc.db");
  EXPECT_EQ(l.keys, "/x/kdc.db.keys");
  EXPECT_EQ(l.RegistryLock(), "/x/kdc.db.lock");
  EXPECT_EQ(l.DomainCaCertificate(), "/x/kdc.db.keys/domain-ca.pem");
  EXPECT_EQ(l.KdcCertificate(), "/x/kdc.db.keys/kdc.pem");
  EXPECT_EQ(Layout::For("/x/kdc.db", "/k").keys, "/k");
  const uint8_t fp[] = {0x01, 0xab};
  EXPECT_EQ(Layout::For("d", "/k").VendorAnchor(crypto::ByteView(fp, 2)), "/k/vendors/01ab.pem");
}

// A KDC created over a fresh registry (which makes the domain), and the owner's tools beside it.
class OwnerLibrary : public ::testing::Test {
 protected:
  void Start(domain::Profile p) {
    manufacture::Options mo;
    mo.vendor = "Acme";
    mo.model = "Plug";
    mo.count = 3;
    mo.out_dir = factory_;
    auto made = manufacture::Manufacture(mo);
    ASSERT_TRUE(made) << made.error().ToString();
    manifest_ = made->manifest;
    KdcOptions o;
    o.profile = p;
    o.db_path = db_;
    o.join_window = 0s;
    o.require_token_keys = false;
    o.kek.allow_file_ca_key = true;
    if (p != domain::Profile::kSecProf2)  // a voucher domain starts with its manufacturer's CA
      o.vendor_ca_files = {(fs::path(factory_) / manifest_.ca_certificate).string()};
    auto k = Kdc::Create(std::move(o));
    ASSERT_TRUE(k) << k.error().ToString();
    kdc_ = std::move(*k);
    auto t = OwnerTools::Open(db_);
    ASSERT_TRUE(t) << t.error().ToString();
    tools_ = std::move(*t);
  }
  bool Known(const std::string& serial) {
    return static_cast<bool>(tools_->registry().Get(serial));
  }

  secprof::testing::TempDir dir_;
  std::string factory_ = (dir_.path() / "factory").string();
  std::string db_ = (dir_.path() / "kdc.db").string();
  manufacture::Manifest manifest_;
  std::unique_ptr<Kdc> kdc_;
  std::unique_ptr<OwnerTools> tools_;
};

TEST_F(OwnerLibrary, AllowsTheChosenSerialsOfAManifest) {
  Start(domain::Profile::kSecProf2);
  std::vector<std::string> seen;
  auto n = AllowFromFactory(*tools_, {factory_, {manifest_.things[1].serial}, false, db_},
                            [&](const std::string& s, const std::string& v, const std::string& m) {
                              seen.push_back(s + " " + v + " " + m);
                            });
  ASSERT_TRUE(n) << n.error().ToString();
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(seen, std::vector<std::string>{manifest_.things[1].serial + " Acme Plug"});
  auto t = tools_->registry().Get(manifest_.things[1].serial);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->state, registry::State::kAllowed);
  EXPECT_FALSE(Known(manifest_.things[0].serial));
  // --all allows the rest (allowing an allowed thing again is not a refusal).
  auto all = AllowFromFactory(*tools_, {factory_, {}, true, db_});
  ASSERT_TRUE(all) << all.error().ToString();
  EXPECT_EQ(*all, 3u);
  EXPECT_TRUE(Known(manifest_.things[0].serial));
}

TEST_F(OwnerLibrary, OneBadSerialAllowsNothing) {
  Start(domain::Profile::kSecProf2);
  auto n =
      AllowFromFactory(*tools_, {factory_, {manifest_.things[0].serial, "nope-1"}, false, db_});
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(Known(manifest_.things[0].serial));
  auto twice = AllowFromFactory(
      *tools_, {factory_, {manifest_.things[0].serial, manifest_.things[0].serial}, false, db_});
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code(), ErrorCode::kInvalidInput);
  auto neither = AllowFromFactory(*tools_, {factory_, {}, false, db_});
  ASSERT_FALSE(neither);
  EXPECT_EQ(neither.error().code(), ErrorCode::kInvalidInput);
}

TEST_F(OwnerLibrary, VouchersAreAdmittedInAVoucherDomainOnly) {
  Start(domain::Profile::kSecProf3);
  auto n = AllowFromFactory(*tools_, {factory_, {}, true, db_});
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code(), ErrorCode::kInvalidInput);
  EXPECT_NE(n.error().message().find("admitted by voucher"), std::string::npos);
}

TEST_F(OwnerLibrary, ImportsABatchOfVouchersAllOrNone) {
  Start(domain::Profile::kSecProf3);
  auto vendor = voucher::Factory::Open(factory_);
  ASSERT_TRUE(vendor) << vendor.error().ToString();
  std::vector<std::string> files;
  for (int i = 0; i < 2; ++i) {
    auto v =
        vendor->Issue(manifest_.things[i].serial, tools_->domain_ca(), "Owner", 24h, SystemClock());
    ASSERT_TRUE(v) << v.error().ToString();
    files.push_back((dir_.path() / ("v" + std::to_string(i) + ".cbor")).string());
    ASSERT_TRUE(WriteFileAtomic(files.back(), std::string(v->begin(), v->end())));
  }
  const std::string garbage = (dir_.path() / "garbage.cbor").string();
  ASSERT_TRUE(WriteFileAtomic(garbage, "not a voucher"));
  const std::string ca = (fs::path(factory_) / manifest_.ca_certificate).string();
  const std::string keys = Layout::For(db_).keys;

  std::vector<std::string> refused, imported;
  VoucherImportObserver observe;
  observe.refused = [&](const Error& e) { refused.push_back(e.message()); };
  observe.imported = [&](const std::string& f, const std::string& s) {
    imported.push_back(f + " " + s);
  };
  auto bad = ImportVoucherFiles(*tools_, {ca, {files[0], garbage, files[1]}, db_, keys}, observe);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(bad.error().message(), "1 of 3 vouchers refused; nothing imported");
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].rfind(garbage + ": voucher refused: ", 0), 0u);
  EXPECT_TRUE(imported.empty());
  EXPECT_FALSE(Known(manifest_.things[0].serial));

  const auto& fp = vendor->vendor_ca().fingerprint();
  const std::string anchor = Layout::For(db_).VendorAnchor(crypto::ByteView(fp.data(), fp.size()));
  const bool anchor_before = fs::exists(anchor);
  auto ok = ImportVoucherFiles(*tools_, {ca, files, db_, keys}, observe);
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_EQ(ok->imported, 2u);
  EXPECT_EQ(ok->vendor_organization, "Acme");
  EXPECT_EQ(ok->new_anchor, !anchor_before);
  EXPECT_EQ(imported, (std::vector<std::string>{files[0] + " " + manifest_.things[0].serial,
                                                files[1] + " " + manifest_.things[1].serial}));
  EXPECT_TRUE(Known(manifest_.things[0].serial));
  // The vendor CA is now a trust anchor where kdc::Layout says (for the KDC's next start).
  EXPECT_TRUE(fs::exists(anchor));
}

}  // namespace
}  // namespace secprof::kdc

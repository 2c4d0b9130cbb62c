// Why Kdc::Create and OwnerTools refuse (secprof/kdc/reasons.h, second part; docs/ERRORS.md
// "kdc: starting a KDC and the owner's tools"): each refusal carries its reason, changes nothing,
// and the legitimate call next to it succeeds.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "secprof/kdc/kdc.h"
#include "secprof/registry/registry.h"
#include "support/domain_fixture.h"
#include "testutil.h"

namespace secprof::kdc {
namespace {

namespace fs = std::filesystem;

size_t AuditSize(OwnerTools& tools) {
  auto entries = tools.registry().Audit(std::nullopt);
  EXPECT_TRUE(entries) << entries.error().ToString();
  return entries ? entries->size() : 0;
}

TEST(KdcStartReasons, NoRegistryPath) {
  secprof::testing::TempDir dir;
  auto k = Kdc::Create(KdcOptions{});
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().code(), ErrorCode::kInvalidInput);
  EXPECT_TRUE(k.error().Is(kNoDatabase)) << k.error().reason();
  auto t = OwnerTools::Open("");
  ASSERT_FALSE(t);
  EXPECT_TRUE(t.error().Is(kNoDatabase)) << t.error().reason();
}

TEST(KdcStartReasons, OwnerToolsNeedAnExistingRegistry) {
  secprof::testing::TempDir dir;
  const std::string db = (dir.path() / "kdc.db").string();
  auto t = OwnerTools::Open(db);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(t.error().Is(kNoDatabase)) << t.error().reason();
  EXPECT_FALSE(fs::exists(db));  // nothing was created
  KdcOptions o;
  o.db_path = db;
  ASSERT_TRUE(Kdc::Create(std::move(o)));  // the KDC's first start creates it
  EXPECT_TRUE(OwnerTools::Open(db));
}

// The owner is the domain CA's O and is named in every SecProf_2 join answer: an empty, over-long
// (RFC 5280 ub-organization-name = 64) or non-printable owner is refused before anything is made.
TEST(KdcStartReasons, OwnerMustFitTheDomainCa) {
  secprof::testing::TempDir dir;
  const std::string db = (dir.path() / "kdc.db").string();
  for (const std::string& bad : {std::string(), std::string(65, 'o'), std::string("Ada\nEve")}) {
    KdcOptions o;
    o.db_path = db;
    o.owner = bad;
    auto k = Kdc::Create(std::move(o));
    ASSERT_FALSE(k) << "owner of " << bad.size() << " bytes";
    EXPECT_EQ(k.error().code(), ErrorCode::kInvalidInput);
    EXPECT_TRUE(k.error().Is(kBadOwner)) << k.error().reason();
    EXPECT_FALSE(fs::exists(db));  // refused before the registry is created
  }
  // The longest owner allowed makes a domain CA too (its CN is cut to fit RFC 5280's 64).
  for (const std::string& good : {std::string("Home of Ada"), std::string(64, 'o')}) {
    KdcOptions o;
    o.db_path = (dir.path() / (std::to_string(good.size()) + ".db")).string();
    o.owner = good;
    auto k = Kdc::Create(std::move(o));
    EXPECT_TRUE(k) << "owner of " << good.size() << " bytes: " << k.error().ToString();
  }
}

TEST(KdcStartReasons, OneKdcPerRegistry) {
  secprof::testing::TempDir dir;
  KdcOptions o;
  o.db_path = (dir.path() / "kdc.db").string();
  auto first = Kdc::Create(o);
  ASSERT_TRUE(first) << first.error().ToString();
  auto second = Kdc::Create(o);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), ErrorCode::kConflict);
  EXPECT_TRUE(second.error().Is(kRegistryInUse)) << second.error().reason();
  first->reset();  // released with its Kdc: the next start succeeds
  EXPECT_TRUE(Kdc::Create(o));
}

class OwnerToolsReasons : public ::testing::Test {
 protected:
  void SetUp() override {
    made_ = secprof::testing::MakeFactory(dir_.path(), "Acme", 1);
    ASSERT_EQ(made_.manifest.things.size(), 1u);
    KdcOptions o;
    o.db_path = (dir_.path() / "kdc.db").string();
    auto k = Kdc::Create(std::move(o));
    ASSERT_TRUE(k) << k.error().ToString();
    k->reset();
    auto t = OwnerTools::Open((dir_.path() / "kdc.db").string());
    ASSERT_TRUE(t) << t.error().ToString();
    tools_ = std::move(*t);
    thing_ = made_.manifest.things[0];
    ASSERT_TRUE(tools_->AllowSetupCode(thing_.serial, made_.manifest.vendor, made_.manifest.model,
                                       thing_.setup_code));
  }

  // The trust anchors saved in the key directory.
  size_t VendorFiles() const {
    std::error_code ec;
    size_t n = 0;
    for (fs::directory_iterator it(dir_.path() / "kdc.db.keys" / "vendors", ec), end;
         !ec && it != end; it.increment(ec))
      ++n;
    return n;
  }

  secprof::testing::TempDir dir_;
  secprof::testing::Factory made_;
  manufacture::ThingRecord thing_;
  std::unique_ptr<OwnerTools> tools_;
};

TEST_F(OwnerToolsReasons, RetireOnlyToARetiredState) {
  const size_t before = AuditSize(*tools_);
  auto st = tools_->Retire(thing_.serial, registry::State::kOperational, "why");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kInvalidInput);
  EXPECT_TRUE(st.error().Is(kNotRetirement)) << st.error().reason();
  EXPECT_EQ(AuditSize(*tools_), before);
  EXPECT_EQ(tools_->registry().Get(thing_.serial)->state, registry::State::kAllowed);
  ASSERT_TRUE(tools_->Retire(thing_.serial, registry::State::kDecommissioned, "sold"));
  EXPECT_EQ(tools_->registry().Get(thing_.serial)->state, registry::State::kDecommissioned);
}

TEST_F(OwnerToolsReasons, TrustVendorTakesOnlyAVendorCa) {
  auto idevid = secprof::testing::LoadCert(fs::path(made_.dir) / thing_.idevid);
  ASSERT_TRUE(idevid);
  auto st = tools_->TrustVendor(*idevid);  // a thing's certificate, not a CA
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kInvalidInput);
  EXPECT_TRUE(st.error().Is(kNotVendorCa)) << st.error().reason();
  EXPECT_EQ(VendorFiles(), 0u);  // nothing saved
  auto ca = secprof::testing::LoadCert(fs::path(made_.dir) / made_.manifest.ca_certificate);
  ASSERT_TRUE(ca);
  EXPECT_TRUE(tools_->TrustVendor(*ca));
  EXPECT_EQ(VendorFiles(), 1u);
  // The domain's own CA is no vendor's.
  auto clash = tools_->TrustVendor(tools_->domain_ca());
  ASSERT_FALSE(clash);
  EXPECT_TRUE(clash.error().Is(kVendorCaClash)) << clash.error().reason();
}

}  // namespace
}  // namespace secprof::kdc

// Tests for secprof::kdc (suites KdcSecProf3*), as kdc_test.cpp: voucher + IDevID join, LDevID
// enrollment, refusals (forged voucher, unknown vendor, no voucher, revoked LDevID).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "kdc_fixture.h"
#include "secprof/registry/registry.h"
#include "secprof/voucher/voucher.h"
#include "support/kdc_client.h"
#include "testutil.h"

namespace secprof::kdc {
namespace {
using namespace kdc_fixture;

// ------------------------------------------------------------------------------- SecProf_3

class KdcSecProf3 : public ::testing::Test {
 protected:
  void SetUp() override {
    acme_dir_ = dir_.path() / "acme";
    evil_dir_ = dir_.path() / "evil";
    acme_ = MakeFactory(acme_dir_, "Acme", "Sensor-7", 3);
    evil_ = MakeFactory(evil_dir_, "Evil", "Sensor-7", 1);
    ASSERT_EQ(acme_.things.size(), 3u);
    ASSERT_EQ(evil_.things.size(), 1u);
    acme_ca_ = LoadCert(acme_dir_ / "ca" / "ca.pem");
    ASSERT_TRUE(acme_ca_);
    db_ = (dir_.path() / "kdc.db").string();
    KdcOptions o;
    o.profile = domain::Profile::kSecProf3;
    o.db_path = db_;
    o.owner = "Plant 7";
    o.vendor_ca_files = {(acme_dir_ / "ca" / "ca.pem").string()};
    o.require_token_keys = false;    // file-store IDevIDs (key_protection_test covers the policy)
    o.kek.allow_file_ca_key = true;  // a file-store domain CA (audited override)
    auto k = Kdc::Create(std::move(o));
    ASSERT_TRUE(k) << k.error().ToString();
    kdc_ = std::move(*k);
    auto tools = OwnerTools::Open(db_);
    ASSERT_TRUE(tools) << tools.error().ToString();
    tools_ = std::move(*tools);
    // Vouchers for things 0 and 1; thing 2 has none.
    for (size_t i = 0; i < 2; ++i) {
      auto v =
          voucher::IssueFromFactory(acme_dir_.string(), acme_.things[i].serial, tools_->domain_ca(),
                                    "Plant 7", std::chrono::days(30), SystemClock());
      ASSERT_TRUE(v) << v.error().ToString();
      auto st = tools_->ImportVoucher(*v, *acme_ca_);
      ASSERT_TRUE(st) << st.error().ToString();
    }
  }

  std::string IdevidPem(const fs::path& factory, const manufacture::ThingRecord& t) {
    auto pem = ReadFile((factory / t.idevid).string());
    EXPECT_TRUE(pem);
    return pem ? *pem : "";
  }

  Result<std::unique_ptr<coap::Client>> ConnectIdevid(const fs::path& factory,
                                                      const manufacture::ThingRecord& t) {
    return ConnectPki(kdc_->dtls_port(), IdevidPem(factory, t), IdevidKeyPem(factory, t));
  }

  struct Enrolled {
    std::string ldevid_pem;
    crypto::SecureBuffer key_pem;
    crypto::SecureBuffer pairwise;
  };

  // j/enroll on an IDevID session with the key in out->key_pem, or a fresh P-256 key when it is
  // empty.
  coap::Response Enroll(coap::Client& c, const std::string& serial, Enrolled* out) {
    auto sk = out->key_pem.empty()
                  ? crypto::PrivateKey::Generate(crypto::KeyType::kP256)
                  : crypto::PrivateKey::FromPem(std::string_view(
                        reinterpret_cast<const char*>(out->key_pem.data()), out->key_pem.size()));
    EXPECT_TRUE(sk);
    if (!sk) return {};
    auto pem = sk->ToPem();
    EXPECT_TRUE(pem);
    auto signer = crypto::SoftwareSigner::Create(std::move(*sk),
                                                 crypto::SignatureAlgorithm::kEcdsaP256Sha256);
    EXPECT_TRUE(signer);
    if (!signer || !pem) return {};
    identity::Name n;
    n.common_name = serial;
    n.serial_number = serial;
    auto csr = identity::CreateRequest(*signer, n);
    EXPECT_TRUE(csr) << csr.error().ToString();
    if (!csr) return {};
    auto r =
        PostCbor(c, domain::path::kEnroll, domain::Encode(domain::EnrollRequest{csr->ToDer()}));
    EXPECT_TRUE(r) << r.error().ToString();
    if (!r) return {};
    if (r->code == coap::kChanged) {
      auto resp = domain::DecodeEnrollResponse(r->payload);
      EXPECT_TRUE(resp) << resp.error().ToString();
      if (resp) {
        auto cert = identity::Certificate::FromDer(resp->ldevid);
        EXPECT_TRUE(cert);
        if (cert) out->ldevid_pem = cert->ToPem();
        out->key_pem = std::move(*pem);
        out->pairwise = std::move(resp->key);
      }
    }
    return *r;
  }

  secprof::testing::TempDir dir_;
  fs::path acme_dir_, evil_dir_;
  manufacture::Manifest acme_, evil_;
  std::optional<identity::Certificate> acme_ca_;
  std::string db_;
  std::unique_ptr<Kdc> kdc_;
  std::unique_ptr<OwnerTools> tools_;
};

TEST_F(KdcSecProf3, VoucherThenEnrollThenOperateWithLdevid) {
  Serving serving(*kdc_);
  const auto& t = acme_.things[0];
  auto c = ConnectIdevid(acme_dir_, t);
  ASSERT_TRUE(c) << c.error().ToString();

  // The thing checks the voucher against its manufacturer trust anchor before trusting the KDC.
  auto vr = (*c)->Get(domain::path::kVoucher);
  ASSERT_TRUE(vr) << vr.error().ToString();
  ASSERT_EQ(vr->code, coap::kContent) << Text(*vr);
  auto resp = domain::DecodeVoucherResponse(vr->payload);
  ASSERT_TRUE(resp) << resp.error().ToString();
  auto trust_anchor = LoadCert(acme_dir_ / t.trust_anchor);
  ASSERT_TRUE(trust_anchor);
  auto v = voucher::Verify(resp->voucher, *trust_anchor, SystemClock());
  ASSERT_TRUE(v) << v.error().ToString();
  auto domain_ca = identity::Certificate::FromDer(resp->domain_ca);
  ASSERT_TRUE(domain_ca);
  EXPECT_TRUE(voucher::CheckBinding(*v, t.serial, *domain_ca));
  EXPECT_EQ(*domain_ca, kdc_->domain_ca());
  // The KDC's certificate chains to the pinned domain CA, and is the one it showed in DTLS.
  auto kdc_cert = identity::Certificate::FromDer(resp->kdc_chain);
  ASSERT_TRUE(kdc_cert);
  identity::VerifyOptions vo;
  vo.trust_anchors = {*domain_ca};
  EXPECT_TRUE(identity::VerifyCertificate(*kdc_cert, vo));
  EXPECT_EQ((*c)->server_identity().certificate_der, kdc_cert->ToDer());

  Enrolled e;
  auto er = Enroll(**c, t.serial, &e);
  ASSERT_EQ(er.code, coap::kChanged) << Text(er);
  auto ldevid = identity::Certificate::FromPem(e.ldevid_pem);
  ASSERT_TRUE(ldevid);
  auto path = identity::VerifyCertificate(*ldevid, vo);
  ASSERT_TRUE(path) << path.error().ToString();
  EXPECT_EQ(ldevid->subject().serial_number, t.serial);
  EXPECT_EQ(ldevid->subject().organization, "Plant 7");
  EXPECT_EQ(e.pairwise.size(), domain::kMasterKeySize);
  auto rec = tools_->registry().Get(t.serial);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->state, State::kCommissioned);
  EXPECT_EQ(rec->credential_kind, registry::kCredentialLdevid);
  EXPECT_EQ(rec->credential_id, ldevid->serial_hex());

  // The IDevID session is provisional: operational resources refuse it.
  auto op = PostCbor(**c, domain::path::kReport, domain::Encode(domain::Reading{t.serial, 1, 1}));
  ASSERT_TRUE(op);
  EXPECT_EQ(op->code, coap::kForbidden) << Text(*op);

  auto oc = ConnectPki(kdc_->dtls_port(), e.ldevid_pem, e.key_pem);
  ASSERT_TRUE(oc) << oc.error().ToString();
  op = PostCbor(**oc, domain::path::kReport, domain::Encode(domain::Reading{t.serial, 1999, 1}));
  ASSERT_TRUE(op);
  EXPECT_EQ(op->code, coap::kChanged) << Text(*op);
  // The LDevID is not an IDevID: it cannot enroll again.
  Enrolled again;
  EXPECT_EQ(Enroll(**oc, t.serial, &again).code, coap::kForbidden);

  KdcStats s = kdc_->stats();
  EXPECT_EQ(s.joins, 1u);
  EXPECT_EQ(s.requests, 1u);
}

TEST_F(KdcSecProf3, RepeatedEnrollWithTheSameKeyIsIdempotent) {
  Serving serving(*kdc_);
  const auto& t = acme_.things[1];
  auto c = ConnectIdevid(acme_dir_, t);
  ASSERT_TRUE(c) << c.error().ToString();
  Enrolled e1;
  ASSERT_EQ(Enroll(**c, t.serial, &e1).code, coap::kChanged);
  Enrolled e2;
  e2.key_pem = e1.key_pem.Clone();
  ASSERT_EQ(Enroll(**c, t.serial, &e2).code, coap::kChanged);
  EXPECT_EQ(e1.ldevid_pem, e2.ldevid_pem);
  EXPECT_TRUE(
      std::equal(e1.pairwise.data(), e1.pairwise.data() + e1.pairwise.size(), e2.pairwise.data()));
  // Another key for the same serial while it is commissioned: a conflict.
  Enrolled e3;
  EXPECT_EQ(Enroll(**c, t.serial, &e3).code, coap::kForbidden);
  EXPECT_EQ(CountAudit(tools_->registry(), t.serial, "commissioned"), 1);
  EXPECT_EQ(kdc_->stats().join_repeats, 1u);
}

TEST_F(KdcSecProf3, ForgedVoucherIsRefusedByImport) {
  // Evil's CA signs a voucher that claims Acme's thing 2 for this domain.
  keystore::FileKeyStoreOptions so;
  so.dir = (evil_dir_ / "ca" / "keystore").string();
  auto store = keystore::FileKeyStore::Open(std::move(so));
  ASSERT_TRUE(store) << store.error().ToString();
  auto signer = (*store)->GetSigner(manufacture::kCaKeyLabel);
  ASSERT_TRUE(signer) << signer.error().ToString();
  int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(SystemClock().Now().time_since_epoch())
          .count();
  voucher::Voucher v;
  v.serial = acme_.things[2].serial;
  v.vendor = "Acme";
  v.model = "Sensor-7";
  v.domain_hash = voucher::DomainHash(tools_->domain_ca());
  v.created = now;
  v.expires = now + 86400;
  auto forged = voucher::Issue(**signer, v);
  ASSERT_TRUE(forged) << forged.error().ToString();
  auto st = tools_->ImportVoucher(*forged, *acme_ca_);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kVerifyFailed);
  EXPECT_TRUE(st.error().Is(kVoucherRefused)) << st.error().reason();
  EXPECT_FALSE(tools_->registry().Get(acme_.things[2].serial));

  // A genuine voucher for another domain is refused too.
  secprof::testing::TempDir other;
  KdcOptions o;
  o.db_path = (other.path() / "other.db").string();
  auto other_kdc = Kdc::Create(std::move(o));
  ASSERT_TRUE(other_kdc) << other_kdc.error().ToString();
  auto elsewhere = voucher::IssueFromFactory(acme_dir_.string(), acme_.things[2].serial,
                                             (*other_kdc)->domain_ca(), "Other",
                                             std::chrono::days(1), SystemClock());
  ASSERT_TRUE(elsewhere);
  st = tools_->ImportVoucher(*elsewhere, *acme_ca_);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kVerifyFailed);
  EXPECT_TRUE(st.error().Is(kOtherDomain)) << st.error().reason();
  EXPECT_FALSE(tools_->registry().Get(acme_.things[2].serial));
}

TEST_F(KdcSecProf3, IdevidOfAnUnknownVendorIsRefusedInTheHandshake) {
  Serving serving(*kdc_);
  auto c = ConnectIdevid(evil_dir_, evil_.things[0]);
  EXPECT_FALSE(c);
  EXPECT_EQ(kdc_->stats().joins, 0u);
}

TEST_F(KdcSecProf3, SerialWithoutVoucherIsForbidden) {
  Serving serving(*kdc_);
  const auto& t = acme_.things[2];
  auto c = ConnectIdevid(acme_dir_, t);
  ASSERT_TRUE(c) << c.error().ToString();
  auto vr = (*c)->Get(domain::path::kVoucher);
  ASSERT_TRUE(vr);
  EXPECT_EQ(vr->code, coap::kForbidden) << Text(*vr);
  Enrolled e;
  EXPECT_EQ(Enroll(**c, t.serial, &e).code, coap::kForbidden);
  EXPECT_FALSE(tools_->registry().Get(t.serial));
  EXPECT_EQ(kdc_->stats().refused[Name(kNoVoucher)], 2u);
}

TEST_F(KdcSecProf3, RevokedLdevidIsRefusedInTheHandshake) {
  Serving serving(*kdc_);
  const auto& t = acme_.things[0];
  Enrolled e;
  {
    auto c = ConnectIdevid(acme_dir_, t);
    ASSERT_TRUE(c) << c.error().ToString();
    ASSERT_EQ(Enroll(**c, t.serial, &e).code, coap::kChanged);
  }
  ASSERT_TRUE(ConnectPki(kdc_->dtls_port(), e.ldevid_pem, e.key_pem));
  ASSERT_TRUE(tools_->Retire(t.serial, State::kRevoked, "key compromise"));
  auto c = ConnectPki(kdc_->dtls_port(), e.ldevid_pem, e.key_pem);
  EXPECT_FALSE(c);
  EXPECT_GE(kdc_->stats().refused[Name(kRevokedCredential)], 1u);
  // Its IDevID cannot enroll again either.
  auto ic = ConnectIdevid(acme_dir_, t);
  ASSERT_TRUE(ic) << ic.error().ToString();
  Enrolled again;
  EXPECT_EQ(Enroll(**ic, t.serial, &again).code, coap::kForbidden);
}

TEST(KdcSecProf3Create, NeedsAManufacturerTrustAnchor) {
  secprof::testing::TempDir dir;
  KdcOptions o;
  o.profile = domain::Profile::kSecProf3;
  o.db_path = (dir.path() / "kdc.db").string();
  auto k = Kdc::Create(std::move(o));
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().code(), ErrorCode::kInvalidInput);
  EXPECT_TRUE(k.error().Is(kNoTrustAnchor)) << k.error().reason();
}

}  // namespace
}  // namespace secprof::kdc

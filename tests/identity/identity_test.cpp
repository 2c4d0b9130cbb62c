// Tests for secprof::identity: the vendor CA and IDevID profiles (IEEE 802.1AR-2018 §8), signing
// through the Signer seam, chain validation (RFC 5280 §6) and revocation with CRLs. CSR -> LDevID,
// parsing, tampering and the openssl binary are in identity_csr_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>

#include "identity_fixture.h"
#include "secprof/core/fs.h"
#include "secprof/crypto/keys.h"
#include "secprof/crypto/signer.h"
#include "secprof/identity/identity.h"
#include "testutil.h"

namespace secprof::identity {
namespace {
using namespace identity_fixture;

// ------------------------------------------------------------------------------ profiles

TEST_F(Identity, VendorCaProfile) {
  const Certificate& ca = *vendor_ca_;
  EXPECT_TRUE(ca.is_ca());
  EXPECT_EQ(ca.path_len(), 0);
  EXPECT_EQ(ca.key_usage(), key_usage::kKeyCertSign | key_usage::kCrlSign);
  EXPECT_TRUE(ca.self_issued());
  EXPECT_EQ(ca.subject().organization, "Acme Devices");
  EXPECT_EQ(ca.subject().common_name, "Acme Devices Root CA");
  EXPECT_EQ(ca.subject(), ca.issuer());
  EXPECT_EQ(ca.subject_key_id().size(), 20u);
  EXPECT_EQ(ca.subject_key_id(), ca.authority_key_id());
  EXPECT_EQ(ca.not_before(), std::chrono::floor<std::chrono::seconds>(kStart));
  EXPECT_EQ(ca.not_after(), ca.not_before() + std::chrono::days(365 * 25));
  EXPECT_FALSE(ca.never_expires());
  EXPECT_TRUE(ca.MatchesPublicKey(vendor_key_.public_key()));
  // Self-signed: it validates as its own anchor.
  auto chain = VerifyCertificate(ca, {.trust_anchors = {ca}}, clock_);
  ASSERT_TRUE(chain) << chain.error().ToString();
  EXPECT_EQ(chain->size(), 1u);
}

TEST_F(Identity, IdevidFieldsReadBack) {
  const Certificate dev = Idevid("SN-0001", device_key_.public_key());
  EXPECT_EQ(dev.subject().serial_number, "SN-0001");
  EXPECT_EQ(dev.subject().organization, "Acme Devices");
  EXPECT_EQ(dev.subject().organizational_unit, "LightBulb-9");
  EXPECT_EQ(dev.subject().common_name, "LightBulb-9 SN-0001");
  EXPECT_EQ(dev.issuer(), vendor_ca_->subject());
  EXPECT_FALSE(dev.is_ca());
  EXPECT_FALSE(dev.path_len());
  EXPECT_EQ(dev.key_usage(), key_usage::kDigitalSignature);
  EXPECT_EQ(dev.authority_key_id(), vendor_ca_->subject_key_id());
  EXPECT_NE(dev.subject_key_id(), vendor_ca_->subject_key_id());
  // 802.1AR-2018 §8 (validity) / RFC 5280 §4.1.2.5: notAfter 99991231235959Z as GeneralizedTime
  // (tag 0x18).
  EXPECT_TRUE(dev.never_expires());
  EXPECT_EQ(dev.not_after(), kNoWellDefinedExpiration);
  const std::string gt = std::string("\x18\x0f") + "99991231235959Z";
  EXPECT_NE(Contents(dev.ToDer()).find(gt), std::string::npos);
  // notBefore 2025 is a UTCTime (tag 0x17) "250301120000Z".
  EXPECT_NE(Contents(dev.ToDer()).find(std::string("\x17\x0d") + "250301120000Z"),
            std::string::npos);
  // hardwareModuleName (RFC 4108 §5): derived hwType, hwSerialNum = the serial.
  ASSERT_TRUE(dev.hardware_module_name());
  EXPECT_EQ(dev.hardware_module_name()->hw_type.rfind("2.25.", 0), 0u);
  EXPECT_EQ(Contents(dev.hardware_module_name()->hw_serial_num), "SN-0001");
  // Serial: positive, at most 128 bits (RFC 5280 §4.1.2.2).
  EXPECT_GE(dev.serial().size(), 1u);
  EXPECT_LE(dev.serial().size(), 16u);
  EXPECT_NE(dev.serial().front(), 0);
  EXPECT_EQ(dev.serial_hex().size(), 2 * dev.serial().size());
  // The key.
  EXPECT_TRUE(dev.MatchesPublicKey(device_key_.public_key()));
  auto other = dev.MatchesPublicKey(vendor_key_.public_key());
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code(), ErrorCode::kVerifyFailed);
  auto pk = dev.public_key();
  ASSERT_TRUE(pk);
  EXPECT_TRUE(*pk == device_key_.public_key());
}

TEST_F(Identity, IdevidOptions) {
  auto c =
      IssueIdevid(vendor_key_, *vendor_ca_, device_key_.public_key(),
                  {.serial_number = "X1",
                   .model = "Gateway",
                   .vendor = "Acme Subsidiary",
                   .common_name = "gw-x1",
                   .hw_type = "1.3.6.1.4.1.99999.1.2",
                   .key_agreement = true,
                   .not_after = TimePoint{std::chrono::sys_days{std::chrono::year{2040} / 1 / 1}}},
                  clock_);
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->subject().organization, "Acme Subsidiary");
  EXPECT_EQ(c->subject().common_name, "gw-x1");
  EXPECT_EQ(c->key_usage(), key_usage::kDigitalSignature | key_usage::kKeyAgreement);
  EXPECT_EQ(c->hardware_module_name()->hw_type, "1.3.6.1.4.1.99999.1.2");
  EXPECT_FALSE(c->never_expires());
  EXPECT_EQ(c->not_after(), TimePoint{std::chrono::sys_days{std::chrono::year{2040} / 1 / 1}});

  auto no_san =
      IssueIdevid(vendor_key_, *vendor_ca_, device_key_.public_key(),
                  {.serial_number = "X2", .model = "M", .hardware_module_name = false}, clock_);
  ASSERT_TRUE(no_san);
  EXPECT_FALSE(no_san->hardware_module_name());

  // Refused requests.
  auto bad_oid =
      IssueIdevid(vendor_key_, *vendor_ca_, device_key_.public_key(),
                  {.serial_number = "X3", .model = "M", .hw_type = "commonName"}, clock_);
  ASSERT_FALSE(bad_oid);
  EXPECT_EQ(bad_oid.error().code(), ErrorCode::kInvalidInput);
  auto no_serial = IssueIdevid(vendor_key_, *vendor_ca_, device_key_.public_key(),
                               {.serial_number = "", .model = "M"}, clock_);
  ASSERT_FALSE(no_serial);
  // serialNumber is a PrintableString (X.520): '@' and '_' are not in its alphabet.
  auto bad_chars = IssueIdevid(vendor_key_, *vendor_ca_, device_key_.public_key(),
                               {.serial_number = "SN_1@x", .model = "M"}, clock_);
  ASSERT_FALSE(bad_chars);
  EXPECT_EQ(bad_chars.error().code(), ErrorCode::kInvalidInput);
}

TEST_F(Identity, HwTypeIsStablePerModel) {
  const auto a = Idevid("A", device_key_.public_key()).hardware_module_name()->hw_type;
  const auto b = Idevid("B", device_key_.public_key()).hardware_module_name()->hw_type;
  EXPECT_EQ(a, b);
  auto other = IssueIdevid(vendor_key_, *vendor_ca_, device_key_.public_key(),
                           {.serial_number = "C", .model = "Thermostat"}, clock_);
  ASSERT_TRUE(other);
  EXPECT_NE(other->hardware_module_name()->hw_type, a);
}

TEST_F(Identity, SerialsComeFromTheRandomSource) {
  auto rng = crypto::FakeRandom::FromSeed(7);
  auto expected = crypto::FakeRandom::FromSeed(7).Draw(16);
  ASSERT_TRUE(expected);
  auto c = IssueIdevid(vendor_key_, *vendor_ca_, device_key_.public_key(),
                       {.serial_number = "S", .model = "M"}, clock_, rng);
  ASSERT_TRUE(c);
  Bytes want(std::find_if(expected->begin(), expected->end(), [](uint8_t b) { return b != 0; }),
             expected->end());
  EXPECT_EQ(c->serial(), want);

  auto failing = crypto::FakeRandom::Failing();
  auto f = IssueIdevid(vendor_key_, *vendor_ca_, device_key_.public_key(),
                       {.serial_number = "S", .model = "M"}, clock_, failing);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code(), ErrorCode::kCrypto);
}

// ------------------------------------------------------------------------------ signers

TEST_F(Identity, SignsThroughTheSignerInterfaceOnly) {
  TokenSigner token(MakeSigner());
  auto ca = CreateVendorCa(token, {.organization = "Token Vendor"}, clock_);
  ASSERT_TRUE(ca) << ca.error().ToString();
  auto dev = IssueIdevid(token, *ca, device_key_.public_key(),
                         {.serial_number = "T1", .model = "M"}, clock_);
  ASSERT_TRUE(dev) << dev.error().ToString();
  EXPECT_EQ(token.calls, 2);
  EXPECT_TRUE(VerifyCertificate(*dev, {.trust_anchors = {*ca}}, clock_));

  // A faulty token: the bad signature is caught at issuance.
  token.corrupt = true;
  auto bad = IssueIdevid(token, *ca, device_key_.public_key(),
                         {.serial_number = "T2", .model = "M"}, clock_);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("does not verify"), std::string::npos)
      << bad.error().message();
}

TEST_F(Identity, EverySignatureAlgorithm) {
  struct Case {
    KeyType type;
    SignatureAlgorithm alg;
  };
  for (Case c : {Case{KeyType::kP256, SignatureAlgorithm::kEcdsaP256Sha256},
                 Case{KeyType::kP256, SignatureAlgorithm::kEcdsaP256Sha256Der},
                 Case{KeyType::kEd25519, SignatureAlgorithm::kEd25519},
                 Case{KeyType::kEd448, SignatureAlgorithm::kEd448}}) {
    SCOPED_TRACE(crypto::SignatureAlgorithmName(c.alg));
    SoftwareSigner ca_key = MakeSigner(c.type, c.alg);
    SoftwareSigner dev_key = MakeSigner(c.type, c.alg);
    auto ca = CreateVendorCa(ca_key, {.organization = "V"}, clock_);
    ASSERT_TRUE(ca) << ca.error().ToString();
    auto dev = IssueIdevid(ca_key, *ca, dev_key.public_key(), {.serial_number = "1", .model = "M"},
                           clock_);
    ASSERT_TRUE(dev) << dev.error().ToString();
    auto chain = VerifyCertificate(*dev, {.trust_anchors = {*ca}}, clock_);
    EXPECT_TRUE(chain) << chain.error().ToString();
    auto csr = CreateRequest(dev_key, {.common_name = "d", .serial_number = "1"});
    ASSERT_TRUE(csr) << csr.error().ToString();
    EXPECT_TRUE(csr->VerifySignature());
  }
}

TEST_F(Identity, IssuerMustMatchTheSignerAndBeACa) {
  SoftwareSigner stranger = MakeSigner();
  auto wrong_key = IssueIdevid(stranger, *vendor_ca_, device_key_.public_key(),
                               {.serial_number = "1", .model = "M"}, clock_);
  ASSERT_FALSE(wrong_key);
  EXPECT_EQ(wrong_key.error().code(), ErrorCode::kInvalidInput);

  const Certificate dev = Idevid("1", device_key_.public_key());
  auto not_ca = IssueIdevid(device_key_, dev, vendor_key_.public_key(),
                            {.serial_number = "2", .model = "M"}, clock_);
  ASSERT_FALSE(not_ca);
  EXPECT_NE(not_ca.error().message().find("not a CA"), std::string::npos);

  // pathLenConstraint 0 forbids a subordinate CA.
  auto sub = IssueIntermediateCa(vendor_key_, *vendor_ca_, device_key_.public_key(),
                                 {.organization = "Acme"}, clock_);
  ASSERT_FALSE(sub);
}

// ------------------------------------------------------------------------------ validation

TEST_F(Identity, ChainValidates) {
  const Certificate dev = Idevid("SN-1", device_key_.public_key());
  auto chain = VerifyCertificate(dev, {.trust_anchors = {*vendor_ca_}}, clock_);
  ASSERT_TRUE(chain) << chain.error().ToString();
  ASSERT_EQ(chain->size(), 2u);
  EXPECT_EQ((*chain)[0], dev);
  EXPECT_EQ((*chain)[1], *vendor_ca_);

  auto no_anchor = VerifyCertificate(dev, {}, clock_);
  ASSERT_FALSE(no_anchor);
  EXPECT_EQ(no_anchor.error().code(), ErrorCode::kInvalidInput);
}

TEST_F(Identity, CertificateFromAnotherCaIsRejected) {
  SoftwareSigner other_key = MakeSigner();
  // Same names as the genuine vendor CA: only the key differs.
  auto other_ca = CreateVendorCa(other_key, {.organization = "Acme Devices"}, clock_);
  ASSERT_TRUE(other_ca);
  auto forged = IssueIdevid(other_key, *other_ca, device_key_.public_key(),
                            {.serial_number = "SN-1", .model = "LightBulb-9"}, clock_);
  ASSERT_TRUE(forged);
  auto r = VerifyCertificate(*forged, {.trust_anchors = {*vendor_ca_}}, clock_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kVerifyFailed);
  // OpenSSL finds no issuer: the AKI names the other CA's key.
  EXPECT_NE(r.error().message().find("unable to get local issuer certificate"), std::string::npos)
      << r.error().message();
}

TEST_F(Identity, ExpiredAndNotYetValid) {
  SoftwareSigner domain_key = MakeSigner();
  auto domain = CreateDomainCa(domain_key, {.organization = "Owner"}, clock_);
  ASSERT_TRUE(domain);
  auto csr = CreateRequest(device_key_, {.common_name = "bulb", .serial_number = "SN-1"});
  ASSERT_TRUE(csr);
  auto ldevid = IssueLdevid(domain_key, *domain, *csr, {.validity = std::chrono::days(30)}, clock_);
  ASSERT_TRUE(ldevid) << ldevid.error().ToString();
  const VerifyOptions opts{.trust_anchors = {*domain}};

  FakeClock later(kStart + std::chrono::days(29));
  EXPECT_TRUE(VerifyCertificate(*ldevid, opts, later));
  later.Advance(std::chrono::days(2));
  auto expired = VerifyCertificate(*ldevid, opts, later);
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code(), ErrorCode::kVerifyFailed);
  EXPECT_NE(expired.error().message().find("certificate has expired"), std::string::npos)
      << expired.error().message();

  FakeClock earlier(kStart - 1h);
  auto early = VerifyCertificate(*ldevid, opts, earlier);
  ASSERT_FALSE(early);
  EXPECT_NE(early.error().message().find("certificate is not yet valid"), std::string::npos)
      << early.error().message();

  // An IDevID with the 9999 notAfter still validates in 2200.
  const Certificate dev = Idevid("SN-9", device_key_.public_key());
  SoftwareSigner long_key = MakeSigner();
  auto long_ca =
      CreateVendorCa(long_key, {.organization = "Forever", .never_expires = true}, clock_);
  ASSERT_TRUE(long_ca);
  EXPECT_TRUE(long_ca->never_expires());
  auto forever = IssueIdevid(long_key, *long_ca, device_key_.public_key(),
                             {.serial_number = "F", .model = "M"}, clock_);
  ASSERT_TRUE(forever);
  FakeClock far(std::chrono::sys_days{std::chrono::year{2200} / 1 / 1});
  // system_clock::time_point holds up to 2262 on this platform.
  EXPECT_TRUE(VerifyCertificate(*forever, {.trust_anchors = {*long_ca}}, far));
  // ...but not when its CA (25 years) has expired.
  auto ca_expired = VerifyCertificate(dev, {.trust_anchors = {*vendor_ca_}}, far);
  ASSERT_FALSE(ca_expired);
  EXPECT_NE(ca_expired.error().message().find("certificate has expired"), std::string::npos);
}

TEST_F(Identity, IntermediateCa) {
  SoftwareSigner root_key = MakeSigner(), sub_key = MakeSigner();
  auto root = CreateVendorCa(root_key, {.organization = "Big Vendor", .path_len = 1}, clock_);
  ASSERT_TRUE(root);
  auto sub =
      IssueIntermediateCa(root_key, *root, sub_key.public_key(),
                          {.organization = "Big Vendor", .common_name = "Factory 7 CA"}, clock_);
  ASSERT_TRUE(sub) << sub.error().ToString();
  EXPECT_TRUE(sub->is_ca());
  EXPECT_EQ(sub->path_len(), 0);
  EXPECT_EQ(sub->authority_key_id(), root->subject_key_id());
  auto dev = IssueIdevid(sub_key, *sub, device_key_.public_key(),
                         {.serial_number = "1", .model = "M"}, clock_);
  ASSERT_TRUE(dev);
  auto chain = VerifyCertificate(*dev, {.trust_anchors = {*root}, .intermediates = {*sub}}, clock_);
  ASSERT_TRUE(chain) << chain.error().ToString();
  EXPECT_EQ(chain->size(), 3u);
  auto missing = VerifyCertificate(*dev, {.trust_anchors = {*root}}, clock_);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("unable to get local issuer certificate"),
            std::string::npos);
}

// ------------------------------------------------------------------------------ revocation

TEST_F(Identity, RevokedCertificateIsRejectedOnceListed) {
  const Certificate dev = Idevid("SN-1", device_key_.public_key());
  const Certificate other = Idevid("SN-2", vendor_key_.public_key());

  // Before: a CRL that does not list it (and no CRL at all).
  auto crl1 = IssueCrl(vendor_key_, *vendor_ca_, {}, {.crl_number = 1}, clock_);
  ASSERT_TRUE(crl1) << crl1.error().ToString();
  EXPECT_TRUE(crl1->revoked().empty());
  EXPECT_EQ(crl1->crl_number(), 1u);
  EXPECT_EQ(crl1->issuer(), vendor_ca_->subject());
  EXPECT_EQ(crl1->next_update(), crl1->this_update() + std::chrono::days(7));
  auto ok = VerifyCertificate(dev, {.trust_anchors = {*vendor_ca_}, .crls = {*crl1}}, clock_);
  EXPECT_TRUE(ok) << ok.error().ToString();
  EXPECT_TRUE(VerifyCertificate(dev, {.trust_anchors = {*vendor_ca_}}, clock_));

  // After: the next CRL lists it.
  clock_.Advance(1h);
  const RevokedEntry entry{dev.serial(), std::chrono::floor<std::chrono::seconds>(clock_.Now())};
  auto crl2 = IssueCrl(vendor_key_, *vendor_ca_, std::span(&entry, 1), {.crl_number = 2}, clock_);
  ASSERT_TRUE(crl2) << crl2.error().ToString();
  ASSERT_EQ(crl2->revoked().size(), 1u);
  EXPECT_EQ(crl2->revoked()[0].serial, dev.serial());
  EXPECT_EQ(crl2->revoked()[0].revocation_date, entry.revocation_date);
  EXPECT_TRUE(crl2->Lists(dev));
  EXPECT_FALSE(crl2->Lists(other));
  auto revoked = VerifyCertificate(dev, {.trust_anchors = {*vendor_ca_}, .crls = {*crl2}}, clock_);
  ASSERT_FALSE(revoked);
  EXPECT_EQ(revoked.error().code(), ErrorCode::kVerifyFailed);
  EXPECT_NE(revoked.error().message().find("certificate revoked"), std::string::npos)
      << revoked.error().message();
  EXPECT_TRUE(VerifyCertificate(other, {.trust_anchors = {*vendor_ca_}, .crls = {*crl2}}, clock_));
  // Revocation checking can be switched off explicitly.
  EXPECT_TRUE(VerifyCertificate(
      dev, {.trust_anchors = {*vendor_ca_}, .crls = {*crl2}, .revocation = RevocationCheck::kNone},
      clock_));
}

TEST_F(Identity, CrlProblemsAreReported) {
  const Certificate dev = Idevid("SN-1", device_key_.public_key());
  // Checking asked for but no CRL from the issuer.
  auto none = VerifyCertificate(
      dev, {.trust_anchors = {*vendor_ca_}, .revocation = RevocationCheck::kLeaf}, clock_);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message().find("unable to get certificate CRL"), std::string::npos)
      << none.error().message();

  // A CRL past its nextUpdate.
  auto crl = IssueCrl(vendor_key_, *vendor_ca_, {}, {.next_update = std::chrono::days(1)}, clock_);
  ASSERT_TRUE(crl);
  FakeClock later(kStart + std::chrono::days(2));
  auto stale = VerifyCertificate(dev, {.trust_anchors = {*vendor_ca_}, .crls = {*crl}}, later);
  ASSERT_FALSE(stale);
  EXPECT_NE(stale.error().message().find("CRL has expired"), std::string::npos)
      << stale.error().message();

  // A CRL signed by someone else with the vendor CA's name is not the vendor's CRL.
  SoftwareSigner other_key = MakeSigner();
  auto other_ca = CreateVendorCa(other_key, {.organization = "Acme Devices"}, clock_);
  ASSERT_TRUE(other_ca);
  auto foreign = IssueCrl(other_key, *other_ca, {}, {}, clock_);
  ASSERT_TRUE(foreign);
  auto r = VerifyCertificate(dev, {.trust_anchors = {*vendor_ca_}, .crls = {*foreign}}, clock_);
  EXPECT_FALSE(r);

  // Only a CA with cRLSign may issue CRLs.
  auto by_leaf = IssueCrl(device_key_, dev, {}, {}, clock_);
  EXPECT_FALSE(by_leaf);
}

}  // namespace
}  // namespace secprof::identity

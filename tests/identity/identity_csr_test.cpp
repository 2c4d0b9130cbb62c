// Tests for secprof::identity: CSR -> LDevID, DER/PEM parsing and tampering (refused with a
// reason), and interoperability with the real `openssl` binary (verify, x509).
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

// ------------------------------------------------------------------------------ CSR -> LDevID

TEST_F(Identity, CsrToLdevidRoundTrip) {
  SoftwareSigner domain_key = MakeSigner();
  auto domain = CreateDomainCa(domain_key,
                               {.organization = "Plant Owner", .common_name = "Plant CA"}, clock_);
  ASSERT_TRUE(domain);
  EXPECT_EQ(domain->subject().common_name, "Plant CA");

  // The thing asks for more than policy allows: O and OU are not copied.
  auto csr = CreateRequest(device_key_, {.common_name = "bulb-1",
                                         .serial_number = "SN-1",
                                         .organization = "Evil Corp",
                                         .organizational_unit = "admin"});
  ASSERT_TRUE(csr) << csr.error().ToString();
  EXPECT_TRUE(csr->VerifySignature());
  auto again = CertificateRequest::FromPem(csr->ToPem());
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(again->ToDer(), csr->ToDer());
  EXPECT_EQ(again->subject().organization, "Evil Corp");
  auto csr_key = again->public_key();
  ASSERT_TRUE(csr_key);
  EXPECT_TRUE(*csr_key == device_key_.public_key());

  auto ldevid = IssueLdevid(domain_key, *domain, *again,
                            {.expected_serial_number = std::string("SN-1")}, clock_);
  ASSERT_TRUE(ldevid) << ldevid.error().ToString();
  EXPECT_EQ(ldevid->subject().common_name, "bulb-1");
  EXPECT_EQ(ldevid->subject().serial_number, "SN-1");
  EXPECT_EQ(ldevid->subject().organization, "Plant Owner");
  EXPECT_EQ(ldevid->subject().organizational_unit, "");
  EXPECT_EQ(ldevid->not_after() - ldevid->not_before(), std::chrono::days(365));
  EXPECT_EQ(ldevid->key_usage(), key_usage::kDigitalSignature);
  EXPECT_FALSE(ldevid->is_ca());
  EXPECT_FALSE(ldevid->hardware_module_name());
  EXPECT_TRUE(ldevid->MatchesPublicKey(device_key_.public_key()));
  EXPECT_TRUE(VerifyCertificate(*ldevid, {.trust_anchors = {*domain}}, clock_));
  // The LDevID is the domain's, not the vendor's.
  EXPECT_FALSE(VerifyCertificate(*ldevid, {.trust_anchors = {*vendor_ca_}}, clock_));

  // The serial the thing proved with its IDevID must be the one it asks for.
  auto wrong = IssueLdevid(domain_key, *domain, *again,
                           {.expected_serial_number = std::string("SN-2")}, clock_);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), ErrorCode::kVerifyFailed);

  // Policy: no CN, a configured O and validity.
  auto minimal = IssueLdevid(domain_key, *domain, *again,
                             {.validity = std::chrono::days(90),
                              .copy_common_name = false,
                              .organization = "Line 3",
                              .key_agreement = true},
                             clock_);
  ASSERT_TRUE(minimal);
  EXPECT_EQ(minimal->subject().common_name, "");
  EXPECT_EQ(minimal->subject().organization, "Line 3");
  EXPECT_EQ(minimal->not_after() - minimal->not_before(), std::chrono::days(90));
  EXPECT_EQ(minimal->key_usage(), key_usage::kDigitalSignature | key_usage::kKeyAgreement);
}

TEST_F(Identity, CsrWithBadSignatureIsRefused) {
  SoftwareSigner domain_key = MakeSigner();
  auto domain = CreateDomainCa(domain_key, {.organization = "Owner"}, clock_);
  ASSERT_TRUE(domain);
  auto csr = CreateRequest(device_key_, {.common_name = "bulb", .serial_number = "SN-1"});
  ASSERT_TRUE(csr);

  // (a) the last signature byte flipped; (b) the subject changed after signing.
  Bytes sig_flipped = csr->ToDer();
  sig_flipped.back() ^= 0x01;
  Bytes subject_changed = csr->ToDer();
  const std::string der = Contents(subject_changed);
  const size_t at = der.find("SN-1");
  ASSERT_NE(at, std::string::npos);
  subject_changed[at + 3] = '2';
  for (const Bytes& tampered : {sig_flipped, subject_changed}) {
    auto parsed = CertificateRequest::FromDer(tampered);
    ASSERT_TRUE(parsed) << parsed.error().ToString();
    auto v = parsed->VerifySignature();
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error().code(), ErrorCode::kVerifyFailed);
    auto issued = IssueLdevid(domain_key, *domain, *parsed, {}, clock_);
    ASSERT_FALSE(issued);
    EXPECT_EQ(issued.error().code(), ErrorCode::kVerifyFailed);
    EXPECT_NE(issued.error().message().find("signature"), std::string::npos)
        << issued.error().message();
  }
}

// ------------------------------------------------------------------------------ parsing

TEST_F(Identity, RoundTripsDerAndPem) {
  const Certificate dev = Idevid("SN-1", device_key_.public_key());
  auto from_der = Certificate::FromDer(dev.ToDer());
  ASSERT_TRUE(from_der);
  EXPECT_EQ(*from_der, dev);
  auto from_pem = Certificate::FromPem(dev.ToPem());
  ASSERT_TRUE(from_pem);
  EXPECT_EQ(*from_pem, dev);
  EXPECT_EQ(from_pem->fingerprint(), dev.fingerprint());
  EXPECT_EQ(from_pem->hardware_module_name(), dev.hardware_module_name());
  EXPECT_NE(dev.fingerprint(), vendor_ca_->fingerprint());
  EXPECT_EQ(dev.ToPem().rfind("-----BEGIN CERTIFICATE-----\n", 0), 0u);

  auto list = Certificate::ListFromPem(dev.ToPem() + "\n" + vendor_ca_->ToPem());
  ASSERT_TRUE(list) << list.error().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1], *vendor_ca_);

  auto crl = IssueCrl(vendor_key_, *vendor_ca_, {}, {}, clock_);
  ASSERT_TRUE(crl);
  auto crl2 = RevocationList::FromPem(crl->ToPem());
  ASSERT_TRUE(crl2) << crl2.error().ToString();
  EXPECT_EQ(crl2->ToDer(), crl->ToDer());
}

TEST_F(Identity, TamperedDerIsRejectedWithAReason) {
  const Certificate dev = Idevid("SN-1", device_key_.public_key());
  const Bytes& der = dev.ToDer();

  // A flipped signature byte parses but does not validate.
  Bytes flipped = der;
  flipped.back() ^= 0x01;
  auto parsed = Certificate::FromDer(flipped);
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  auto v = VerifyCertificate(*parsed, {.trust_anchors = {*vendor_ca_}}, clock_);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code(), ErrorCode::kVerifyFailed);
  EXPECT_NE(v.error().message().find("certificate signature failure"), std::string::npos)
      << v.error().message();

  // A changed subject (the serial) in the TBS: same result.
  Bytes renamed = der;
  // "SN-1" occurs in CN, in serialNumber and in hwSerialNum, in that order: change the second.
  const std::string text = Contents(renamed);
  const size_t at = text.find("SN-1", text.find("SN-1") + 1);
  ASSERT_NE(at, std::string::npos);
  renamed[at + 3] = '7';
  auto renamed_cert = Certificate::FromDer(renamed);
  ASSERT_TRUE(renamed_cert);
  EXPECT_EQ(renamed_cert->subject().serial_number, "SN-7");
  EXPECT_FALSE(VerifyCertificate(*renamed_cert, {.trust_anchors = {*vendor_ca_}}, clock_));

  // Truncated.
  for (size_t n : {size_t{0}, size_t{1}, size_t{10}, der.size() / 2, der.size() - 1}) {
    auto t = Certificate::FromDer(ByteView(der.data(), n));
    ASSERT_FALSE(t) << n;
    EXPECT_EQ(t.error().code(), ErrorCode::kInvalidInput);
  }
  // Trailing garbage.
  Bytes trailing = der;
  trailing.push_back(0x00);
  auto tr = Certificate::FromDer(trailing);
  ASSERT_FALSE(tr);
  EXPECT_NE(tr.error().message().find("1 trailing bytes"), std::string::npos)
      << tr.error().message();
  // Non-minimal length encoding of the outer SEQUENCE (BER, not DER).
  ASSERT_EQ(der[1], 0x82);
  Bytes ber = {0x30, 0x83, 0x00};
  ber.insert(ber.end(), der.begin() + 2, der.end());
  EXPECT_FALSE(Certificate::FromDer(ber));

  // PEM: trailing text, two blocks, wrong label, prose before.
  const std::string pem = dev.ToPem();
  EXPECT_FALSE(Certificate::FromPem(pem + "garbage\n"));
  EXPECT_FALSE(Certificate::FromPem(pem + pem));
  EXPECT_FALSE(Certificate::FromPem("Subject: x\n" + pem));
  std::string relabeled = pem;
  relabeled.replace(relabeled.find("CERTIFICATE"), 11, "CERTIFICATX");
  EXPECT_FALSE(Certificate::FromPem(relabeled));
  EXPECT_TRUE(Certificate::FromPem("\n\n" + pem + "\n\n"));
  // A certificate is not a CSR or a CRL.
  EXPECT_FALSE(CertificateRequest::FromDer(der));
  EXPECT_FALSE(RevocationList::FromDer(der));
  EXPECT_FALSE(CertificateRequest::FromPem(pem));
}

// ------------------------------------------------------------------------------ openssl CLI

class IdentityOpenssl : public Identity {
 protected:
  void SetUp() override {
    if (Shell("openssl version >/dev/null 2>&1").exit_code != 0) {
      GTEST_SKIP() << "the openssl binary is not on PATH";
    }
    // The openssl binary validates at the real time.
    clock_ = FakeClock(std::chrono::system_clock::now() - 1min);
    Identity::SetUp();
  }
  std::string Path(const char* name) const { return (dir_.path() / name).string(); }
  TempDir dir_;
};

TEST_F(IdentityOpenssl, OpensslVerifyAcceptsTheChain) {
  const Certificate dev = Idevid("SN-0042", device_key_.public_key());
  WriteText(Path("ca.pem"), vendor_ca_->ToPem());
  WriteText(Path("idevid.pem"), dev.ToPem());
  auto r = Shell("openssl verify -CAfile " + Path("ca.pem") + " " + Path("idevid.pem") + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find(": OK"), std::string::npos) << r.out;
  auto strict = Shell("openssl verify -x509_strict -CAfile " + Path("ca.pem") + " " +
                      Path("idevid.pem") + " 2>&1");
  EXPECT_EQ(strict.exit_code, 0) << strict.out;

  // openssl reads the fields as we wrote them.
  auto text = Shell(
      "openssl x509 -noout -subject -ext basicConstraints,keyUsage,subjectAltName "
      "-enddate -nameopt RFC2253 -in " +
      Path("idevid.pem") + " 2>&1");
  ASSERT_EQ(text.exit_code, 0) << text.out;
  EXPECT_NE(text.out.find("serialNumber=SN-0042"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("OU=LightBulb-9"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("O=Acme Devices"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("notAfter=Dec 31 23:59:59 9999 GMT"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("Digital Signature"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("critical"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("othername"), std::string::npos) << text.out;

  // A certificate from another CA with the same name.
  SoftwareSigner other_key = MakeSigner();
  auto other_ca = CreateVendorCa(other_key, {.organization = "Acme Devices"}, clock_);
  ASSERT_TRUE(other_ca);
  auto forged = IssueIdevid(other_key, *other_ca, device_key_.public_key(),
                            {.serial_number = "SN-0042", .model = "LightBulb-9"}, clock_);
  ASSERT_TRUE(forged);
  WriteText(Path("forged.pem"), forged->ToPem());
  auto bad = Shell("openssl verify -CAfile " + Path("ca.pem") + " " + Path("forged.pem") + " 2>&1");
  EXPECT_NE(bad.exit_code, 0) << bad.out;
}

TEST_F(IdentityOpenssl, OpensslChecksOurCrl) {
  const Certificate dev = Idevid("SN-1", device_key_.public_key());
  const RevokedEntry entry{dev.serial(), std::chrono::floor<std::chrono::seconds>(clock_.Now())};
  auto crl = IssueCrl(vendor_key_, *vendor_ca_, std::span(&entry, 1), {}, clock_);
  ASSERT_TRUE(crl);
  WriteText(Path("ca.pem"), vendor_ca_->ToPem());
  WriteText(Path("dev.pem"), dev.ToPem());
  WriteText(Path("crl.pem"), crl->ToPem());
  auto text = Shell("openssl crl -noout -text -in " + Path("crl.pem") + " 2>&1");
  ASSERT_EQ(text.exit_code, 0) << text.out;
  EXPECT_NE(text.out.find("X509v3 CRL Number"), std::string::npos) << text.out;
  auto r = Shell("openssl verify -crl_check -CAfile " + Path("ca.pem") + " -CRLfile " +
                 Path("crl.pem") + " " + Path("dev.pem") + " 2>&1");
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("certificate revoked"), std::string::npos) << r.out;
}

TEST_F(IdentityOpenssl, ParsesCertificatesMadeByOpenssl) {
  // An openssl-made CSR and an RSA certificate: CSR accepted and verified; RSA parses, but its
  // key is not one crypto handles.
  auto gen = Shell("cd " + dir_.path().string() +
                   " && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                   "-keyout k.pem -subj '/CN=cli/serialNumber=CLI-1' -out req.pem 2>&1"
                   " && openssl req -x509 -newkey rsa:2048 -nodes -keyout rk.pem -subj '/CN=rsa' "
                   "-days 2 -out rsa.pem 2>&1");
  ASSERT_EQ(gen.exit_code, 0) << gen.out;
  auto req_pem = ReadFile(Path("req.pem"));
  ASSERT_TRUE(req_pem);
  auto req = CertificateRequest::FromPem(*req_pem);
  ASSERT_TRUE(req) << req.error().ToString();
  EXPECT_TRUE(req->VerifySignature());
  EXPECT_EQ(req->subject().serial_number, "CLI-1");
  SoftwareSigner domain_key = MakeSigner();
  auto domain = CreateDomainCa(domain_key, {.organization = "Owner"}, clock_);
  ASSERT_TRUE(domain);
  auto ldevid = IssueLdevid(domain_key, *domain, *req, {}, clock_);
  ASSERT_TRUE(ldevid) << ldevid.error().ToString();
  EXPECT_EQ(ldevid->subject().common_name, "cli");

  auto rsa_pem = ReadFile(Path("rsa.pem"));
  ASSERT_TRUE(rsa_pem);
  auto rsa = Certificate::FromPem(*rsa_pem);
  ASSERT_TRUE(rsa) << rsa.error().ToString();
  EXPECT_EQ(rsa->subject().common_name, "rsa");
  EXPECT_TRUE(rsa->self_issued());
  auto key = rsa->public_key();
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code(), ErrorCode::kUnsupported);
}

}  // namespace
}  // namespace secprof::identity

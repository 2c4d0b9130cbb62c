// Interoperability (issue 4 item 8): libcoap's own coap-client-openssl (Debian libcoap3-bin) talks
// to the KDC over DTLS, with a PSK (SecProf_2) and with certificates (SecProf_3: the thing's
// LDevID), and is refused with credentials the KDC does not accept.
#include <gtest/gtest.h>

#include <fstream>

#include "../../src/kdc/testing.h"  // PairwiseContext
#include "secprof/core/fs.h"
#include "secprof/domain/keys.h"
#include "secprof/domain/protocol.h"
#include "secprof/kdc/kdc.h"
#include "secprof/keystore/file_store.h"
#include "secprof/voucher/voucher.h"
#include "support/kdc_client.h"
#include "testutil.h"

namespace secprof::kdc {
namespace {

secprof::testing::RunResult Sh(const std::string& cmd) { return secprof::testing::Run(cmd); }

using secprof::testing::TempDir;

bool HaveCoapClient() {
  return Sh("command -v coap-client-openssl >/dev/null 2>&1").exit_code == 0;
}
#define REQUIRE_COAP_CLIENT()                                                                 \
  do {                                                                                        \
    if (!HaveCoapClient())                                                                    \
      GTEST_SKIP() << "coap-client-openssl not found (Debian package libcoap3-bin): skipped"; \
  } while (0)

std::string Write(const TempDir& d, const std::string& name, std::string_view text) {
  std::string p = (d.path() / name).string();
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

// The CBOR body of op/report for `serial`, in a file for coap-client's -f.
std::string ReadingFile(const TempDir& d, const std::string& serial) {
  crypto::Bytes b = domain::Encode(domain::Reading{serial, 2150, 1});
  return Write(d, "reading-" + serial + ".cbor", std::string(b.begin(), b.end()));
}

TEST(KdcInterop, LibcoapClientWithPsk) {
  REQUIRE_COAP_CLIENT();
  TempDir tmp;
  auto m = testing::MakeFactory(tmp.path() / "factory", "Acme", "Meter", 1);
  ASSERT_EQ(m.things.size(), 1u);
  const std::string serial = m.things[0].serial;
  KdcOptions o;
  o.profile = domain::Profile::kSecProf2;
  o.db_path = (tmp.path() / "kdc.db").string();
  auto k = Kdc::Create(o);
  ASSERT_TRUE(k) << k.error().ToString();
  testing::Serving serving(**k);
  auto owner = OwnerTools::Open(o.db_path);
  ASSERT_TRUE(owner);
  ASSERT_TRUE((*owner)->AllowSetupCode(serial, "Acme", "Meter", m.things[0].setup_code));
  // coap-client takes its PSK as text (-k): commission the thing with a printable 32-byte key,
  // wrapped under the KDC's KEK exactly as a join would store it.
  const std::string psk = "interop-psk-0123456789abcdef0123";
  auto kek = ReadFile(o.db_path + ".keys.kek");  // outside the key directory (issue 9 item 12)
  ASSERT_TRUE(kek);
  crypto::ByteView kv(reinterpret_cast<const uint8_t*>(kek->data()), kek->size());
  auto wrapped =
      domain::WrapKey(kv, PairwiseContext(serial),
                      crypto::ByteView(reinterpret_cast<const uint8_t*>(psk.data()), psk.size()),
                      crypto::SystemRandomSource());
  ASSERT_TRUE(wrapped);
  registry::CommissionInput in;
  in.credential_kind = std::string(registry::kCredentialPsk);
  in.credential_id = serial;
  in.credential_fingerprint = std::string(64, 'a');
  in.wrapped_key = *wrapped;
  ASSERT_TRUE((*owner)->registry().Commission(serial, in, "test"));

  std::string uri = "coaps://127.0.0.1:" + std::to_string((*k)->dtls_port()) + "/op/report";
  std::string body = ReadingFile(tmp, serial);
  auto r = Sh("timeout 10 coap-client-openssl -B 8 -m post -t 60 -f " + body + " -u " + serial +
              " -k " + psk + " " + uri + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("ok"), std::string::npos) << r.out;
  // A wrong key: no session, no answer.
  r = Sh("timeout 10 coap-client-openssl -B 4 -m post -t 60 -f " + body + " -u " + serial +
         " -k wrong-psk-0123456789abcdef012345 " + uri + " 2>&1");
  EXPECT_EQ(r.out.find("ok"), std::string::npos) << r.out;
  // After revocation the PSK is refused in the handshake.
  ASSERT_TRUE((*owner)->Retire(serial, registry::State::kRevoked, "interop test"));
  r = Sh("timeout 10 coap-client-openssl -B 4 -m post -t 60 -f " + body + " -u " + serial + " -k " +
         psk + " " + uri + " 2>&1");
  EXPECT_EQ(r.out.find("ok"), std::string::npos) << r.out;
}

TEST(KdcInterop, LibcoapClientWithCertificates) {
  REQUIRE_COAP_CLIENT();
  TempDir tmp;
  auto factory = tmp.path() / "factory";
  auto m = testing::MakeFactory(factory, "Acme", "Meter", 1);
  ASSERT_EQ(m.things.size(), 1u);
  const auto& t = m.things[0];
  KdcOptions o;
  o.profile = domain::Profile::kSecProf3;
  o.db_path = (tmp.path() / "kdc.db").string();
  o.vendor_ca_files = {(factory / "ca/ca.pem").string()};
  o.require_token_keys = false;    // a file-store IDevID (key_protection_test covers the policy)
  o.kek.allow_file_ca_key = true;  // a file-store domain CA (audited override)
  auto k = Kdc::Create(o);
  ASSERT_TRUE(k) << k.error().ToString();
  testing::Serving serving(**k);
  auto owner = OwnerTools::Open(o.db_path);
  ASSERT_TRUE(owner);
  auto v = voucher::IssueFromFactory(factory.string(), t.serial, (*k)->domain_ca(), "Owner",
                                     std::chrono::hours(1), SystemClock());
  ASSERT_TRUE(v) << v.error().ToString();
  ASSERT_TRUE((*owner)->ImportVoucher(*v, *testing::LoadCert(factory / "ca/ca.pem")));

  // Enroll with our client (IDevID), so the thing has an LDevID and its key.
  auto idevid_pem = ReadFile((factory / t.idevid).string());
  ASSERT_TRUE(idevid_pem);
  auto id_key = testing::IdevidKeyPem(factory, t);
  auto c = testing::ConnectPki((*k)->dtls_port(), *idevid_pem, id_key);
  ASSERT_TRUE(c) << c.error().ToString();
  auto ld_key = crypto::PrivateKey::Generate(crypto::KeyType::kP256);
  ASSERT_TRUE(ld_key);
  auto key_pem = ld_key->ToPem();
  ASSERT_TRUE(key_pem);
  auto signer = crypto::SoftwareSigner::Create(std::move(*ld_key),
                                               crypto::SignatureAlgorithm::kEcdsaP256Sha256);
  ASSERT_TRUE(signer);
  identity::Name subject;
  subject.serial_number = t.serial;
  auto csr = identity::CreateRequest(*signer, subject);
  ASSERT_TRUE(csr);
  auto er = testing::PostCbor(**c, domain::path::kEnroll,
                              domain::Encode(domain::EnrollRequest{csr->ToDer()}));
  ASSERT_TRUE(er);
  ASSERT_EQ(er->code, coap::kChanged) << testing::Text(*er);
  auto resp = domain::DecodeEnrollResponse(er->payload);
  ASSERT_TRUE(resp);
  auto ldevid = identity::Certificate::FromDer(resp->ldevid);
  ASSERT_TRUE(ldevid);

  std::string cert = Write(tmp, "ldevid.pem", ldevid->ToPem());
  std::string key =
      Write(tmp, "ldevid.key",
            std::string_view(reinterpret_cast<const char*>(key_pem->data()), key_pem->size()));
  std::string ca = Write(tmp, "domain-ca.pem", (*k)->domain_ca().ToPem());
  std::string body = ReadingFile(tmp, t.serial);
  std::string uri = "coaps://127.0.0.1:" + std::to_string((*k)->dtls_port()) + "/op/report";
  auto r = Sh("timeout 10 coap-client-openssl -B 8 -m post -t 60 -f " + body + " -c " + cert +
              " -j " + key + " -C " + ca + " " + uri + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("ok"), std::string::npos) << r.out;
  // The IDevID is not an operational credential: 4.03 from the KDC.
  std::string idc = Write(tmp, "idevid.pem", *idevid_pem);
  std::string idk =
      Write(tmp, "idevid.key",
            std::string_view(reinterpret_cast<const char*>(id_key.data()), id_key.size()));
  r = Sh("timeout 10 coap-client-openssl -B 8 -m post -t 60 -f " + body + " -c " + idc + " -j " +
         idk + " -C " + ca + " " + uri + " 2>&1");
  EXPECT_EQ(r.out.find("ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("LDevID"), std::string::npos) << r.out;
  // Revoked: the LDevID is refused in the handshake.
  ASSERT_TRUE((*owner)->Retire(t.serial, registry::State::kRevoked, "interop test"));
  r = Sh("timeout 10 coap-client-openssl -B 4 -m post -t 60 -f " + body + " -c " + cert + " -j " +
         key + " -C " + ca + " " + uri + " 2>&1");
  EXPECT_EQ(r.out.find("ok"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace secprof::kdc

// Tests for token-held DTLS-PKI keys in secprof::coap (suite CoapPkcs11): a client and a server
// whose private keys were generated non-extractable in a SoftHSM2 token (keystore::
// Pkcs11KeyStore) complete DTLS handshakes with ordinary PEM peers (ours and coap-client-openssl)
// and with each other, through OpenSSL's pkcs11 engine; mistakes in the token settings are
// reported by Create/Connect with a clear error.
//
// The engine is loaded once per process and binds to the SoftHSM2 configuration at its first
// C_Initialize, so this binary makes its tokens once (a gtest Environment) and keeps one key
// store open until every test has run: closing the last store finalises the module under the
// engine (see docs/COAP.md).
#include <fstream>
#include <memory>
#include <optional>

#include "coap/coap_test_util.h"
#include "secprof/coap/coap.h"
#include "secprof/crypto/signer.h"
#include "secprof/identity/identity.h"
#include "secprof/keystore/pkcs11_store.h"
#include "support/softhsm_fixture.h"
#include "testutil.h"

namespace secprof::coap {
namespace {

using crypto::KeyType;
using crypto::PrivateKey;
using crypto::SignatureAlgorithm;
using crypto::SoftwareSigner;

constexpr const char* kOtherTokenLabel = "secprof-test-2";

struct Pem {
  std::string cert;
  std::string key;  // empty for token keys
};

// Shared by all tests of the binary (see the file comment).
struct World {
  std::unique_ptr<testing::SoftHsmToken> token;
  std::unique_ptr<keystore::Pkcs11KeyStore> store;
  std::string skip_reason;
  std::unique_ptr<SoftwareSigner> ca_key;
  std::optional<identity::Certificate> ca;
  Pem thing_token, kdc_token, other_token, pem_kdc, pem_thing;
  // A second vendor, with its own CA, and a thing of it.
  std::unique_ptr<SoftwareSigner> vendor2_key;
  std::optional<identity::Certificate> vendor2_ca;
  Pem pem_vendor2_thing;
};
World* g_world = nullptr;

SoftwareSigner NewSigner() {
  auto k = PrivateKey::Generate(KeyType::kP256);
  if (!k) throw std::runtime_error(k.error().ToString());
  auto s = SoftwareSigner::Create(std::move(*k), SignatureAlgorithm::kEcdsaP256Sha256);
  if (!s) throw std::runtime_error(s.error().ToString());
  return std::move(*s);
}

identity::Certificate Issue(const crypto::PublicKey& pub, const std::string& serial,
                            bool vendor2 = false) {
  auto cert = identity::IssueIdevid(vendor2 ? *g_world->vendor2_key : *g_world->ca_key,
                                    vendor2 ? *g_world->vendor2_ca : *g_world->ca, pub,
                                    {.serial_number = serial, .model = "CoapToken"});
  if (!cert) throw std::runtime_error(cert.error().ToString());
  return *cert;
}

Pem TokenParty(keystore::KeyStore& store, const std::string& label, const std::string& serial) {
  auto pub = store.GenerateKey(label, KeyType::kP256);
  if (!pub) throw std::runtime_error(pub.error().ToString());
  return Pem{Issue(*pub, serial).ToPem(), ""};
}

Pem PemParty(const std::string& serial, bool vendor2 = false) {
  SoftwareSigner key = NewSigner();
  auto pem = key.private_key().ToPem();
  if (!pem) throw std::runtime_error(pem.error().ToString());
  return Pem{Issue(key.public_key(), serial, vendor2).ToPem(), std::string(pem->AsStringView())};
}

class TokenEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    g_world = new World;
    World& w = *g_world;
    w.skip_reason = testing::SoftHsmUnavailable();
    if (!w.skip_reason.empty()) return;
    w.token = std::make_unique<testing::SoftHsmToken>();
    if (!w.token->ok()) {
      w.skip_reason = "softhsm2-util --init-token failed: " + w.token->init_output();
      return;
    }
    auto r = testing::Run(std::string("softhsm2-util --init-token --free --label ") +
                          kOtherTokenLabel + " --pin 4321 --so-pin 8765 2>&1");
    if (r.exit_code != 0) {
      w.skip_reason = "second token: " + r.out;
      return;
    }
    w.ca_key = std::make_unique<SoftwareSigner>(NewSigner());
    auto ca = identity::CreateVendorCa(*w.ca_key, {.organization = "Acme"});
    if (!ca) throw std::runtime_error(ca.error().ToString());
    w.ca = *ca;
    {  // A key on the second token, whose store is closed again (logged out) at once.
      keystore::Pkcs11KeyStoreOptions o = w.token->Options();
      o.token_label = kOtherTokenLabel;
      o.pin = keystore::Pin("4321");
      auto other = keystore::Pkcs11KeyStore::Open(o);
      if (!other) throw std::runtime_error(other.error().ToString());
      w.other_token = TokenParty(**other, "idevid-other", "SN-OTHER");
    }
    auto store = keystore::Pkcs11KeyStore::Open(w.token->Options());
    if (!store) throw std::runtime_error(store.error().ToString());
    w.store = std::move(*store);
    w.thing_token = TokenParty(*w.store, "idevid-thing", "SN-TOKEN-1");
    w.kdc_token = TokenParty(*w.store, "kdc-key", "KDC-TOKEN");
    w.pem_kdc = PemParty("KDC-PEM");
    w.pem_thing = PemParty("SN-PEM-2");
    w.vendor2_key = std::make_unique<SoftwareSigner>(NewSigner());
    auto ca2 = identity::CreateVendorCa(*w.vendor2_key, {.organization = "Globex"});
    if (!ca2) throw std::runtime_error(ca2.error().ToString());
    w.vendor2_ca = *ca2;
    w.pem_vendor2_thing = PemParty("SN-GLOBEX-7", /*vendor2=*/true);
  }
  void TearDown() override {
    delete g_world;  // the store first (then the token directory): see the file comment
    g_world = nullptr;
  }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new TokenEnvironment);

#define REQUIRE_TOKEN()                                                                  \
  do {                                                                                   \
    if (!g_world || !g_world->skip_reason.empty()) GTEST_SKIP() << g_world->skip_reason; \
  } while (0)

Pkcs11PrivateKey TokenKey(const std::string& object, const std::string& token = "secprof-test",
                          std::string_view pin = testing::kTestPin) {
  Pkcs11PrivateKey k;
  k.uri = "pkcs11:token=" + token + ";object=" + object + ";type=private";
  k.pin = Key(pin);
  k.module_path = keystore::kDefaultPkcs11Module;
  return k;
}

PkiConfig PemPki(const Pem& p) {
  PkiConfig c;
  c.certificate_pem = p.cert;
  c.private_key_pem = Key(p.key);
  c.trust_anchors_pem = g_world->ca->ToPem();
  return c;
}

PkiConfig TokenPki(const Pem& p, Pkcs11PrivateKey key) {
  PkiConfig c;
  c.certificate_pem = p.cert;
  c.private_key_pkcs11 = std::move(key);
  c.trust_anchors_pem = g_world->ca->ToPem();
  return c;
}

ServerConfig PkiServer(PkiConfig pki) {
  ServerConfig cfg;
  cfg.udp_port.reset();
  cfg.dtls_port = 0;
  cfg.pki = std::move(pki);
  return cfg;
}

ClientConfig PkiClient(PkiConfig pki) {
  ClientConfig c;
  c.security = Security::kPki;
  c.pki = std::move(pki);
  return c;
}

void AddWhoami(Server& s) {
  s.AddResource("whoami", Method::kGet, [](const Request& r) {
    return Response{.code = kContent, .payload = Text(r.peer.serial_number + " " + r.peer.cipher)};
  });
}

TEST(CoapPkcs11, ClientWithATokenKeyAndAPemServer) {
  REQUIRE_TOKEN();
  RunningServer srv(PkiServer(PemPki(g_world->pem_kdc)), AddWhoami);
  auto c = Client::Connect("127.0.0.1", srv->dtls_port(),
                           PkiClient(TokenPki(g_world->thing_token, TokenKey("idevid-thing"))));
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ((*c)->server_identity().serial_number, "KDC-PEM");
  auto r = (*c)->Get("whoami");
  ASSERT_TRUE(r) << r.error().ToString();
  // The server saw the certificate whose key signed the handshake inside the token.
  EXPECT_EQ(AsText(r->payload), "SN-TOKEN-1 ECDHE-ECDSA-AES128-CCM8");
}

TEST(CoapPkcs11, ServerWithATokenKeyAndAPemClient) {
  REQUIRE_TOKEN();
  RunningServer srv(PkiServer(TokenPki(g_world->kdc_token, TokenKey("kdc-key"))), AddWhoami);
  for (int i = 0; i < 3; ++i) {  // the server signs in the token for every handshake
    auto c = Client::Connect("127.0.0.1", srv->dtls_port(), PkiClient(PemPki(g_world->pem_thing)));
    ASSERT_TRUE(c) << c.error().ToString();
    EXPECT_EQ((*c)->server_identity().serial_number, "KDC-TOKEN");
    EXPECT_EQ((*c)->server_identity().cipher, "ECDHE-ECDSA-AES128-CCM8");
    auto r = (*c)->Get("whoami");
    ASSERT_TRUE(r) << r.error().ToString();
    EXPECT_EQ(AsText(r->payload), "SN-PEM-2 ECDHE-ECDSA-AES128-CCM8");
  }
}

// In token mode libcoap reads the trust anchor from a DER file, which holds one certificate; the
// others reach OpenSSL through a per-connection verify store. A KDC trusting two vendors (in
// either order) admits things of both.
TEST(CoapPkcs11, ATokenServerWithSeveralTrustAnchors) {
  REQUIRE_TOKEN();
  for (bool vendor2_first : {true, false}) {
    PkiConfig pki = TokenPki(g_world->kdc_token, TokenKey("kdc-key"));
    pki.trust_anchors_pem = vendor2_first ? g_world->vendor2_ca->ToPem() + g_world->ca->ToPem()
                                          : g_world->ca->ToPem() + g_world->vendor2_ca->ToPem();
    RunningServer srv(PkiServer(std::move(pki)), AddWhoami);
    for (const Pem* p : {&g_world->pem_thing, &g_world->pem_vendor2_thing}) {
      PkiConfig cp = PemPki(*p);  // trusts the KDC's CA
      auto c = Client::Connect("127.0.0.1", srv->dtls_port(), PkiClient(std::move(cp)));
      ASSERT_TRUE(c) << c.error().ToString();
      auto r = (*c)->Get("whoami");
      ASSERT_TRUE(r) << r.error().ToString();
      EXPECT_EQ(AsText(r->payload).substr(0, 3), "SN-") << AsText(r->payload);
    }
  }
  // A thing of a vendor the KDC does not trust is refused.
  RunningServer srv(PkiServer(TokenPki(g_world->kdc_token, TokenKey("kdc-key"))), AddWhoami);
  auto c =
      Client::Connect("127.0.0.1", srv->dtls_port(), PkiClient(PemPki(g_world->pem_vendor2_thing)));
  if (c) {
    EXPECT_FALSE((*c)->Get("whoami"));
  }
}

TEST(CoapPkcs11, BothKeysInTheToken) {
  REQUIRE_TOKEN();
  RunningServer srv(PkiServer(TokenPki(g_world->kdc_token, TokenKey("kdc-key"))), AddWhoami);
  auto c = Client::Connect("127.0.0.1", srv->dtls_port(),
                           PkiClient(TokenPki(g_world->thing_token, TokenKey("idevid-thing"))));
  ASSERT_TRUE(c) << c.error().ToString();
  auto r = (*c)->Get("whoami");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(AsText(r->payload), "SN-TOKEN-1 ECDHE-ECDSA-AES128-CCM8");
}

TEST(CoapPkcs11, TheKeysCannotBeExported) {
  REQUIRE_TOKEN();
  for (const char* label : {"idevid-thing", "kdc-key"}) {
    auto exported = g_world->store->ExportPrivate(label);
    ASSERT_FALSE(exported) << label;
    EXPECT_EQ(exported.error().code(), ErrorCode::kUnsupported) << exported.error().ToString();
  }
  // What the token itself says about them (pkcs11-tool, opensc), when available: sensitive and
  // never extractable (CKA_SENSITIVE, CKA_NEVER_EXTRACTABLE; PKCS#11 v2.40 §4.9).
  auto r = testing::Run(std::string("pkcs11-tool --module ") + keystore::kDefaultPkcs11Module +
                        " --token-label secprof-test --login --pin " + testing::kTestPin +
                        " --list-objects --type privkey 2>&1");
  if (r.exit_code == 0) {
    for (const char* label : {"idevid-thing", "kdc-key"}) {
      auto at = r.out.find(std::string("label:      ") + label);
      ASSERT_NE(at, std::string::npos) << r.out;
      auto access = r.out.find("Access:", at);
      ASSERT_NE(access, std::string::npos) << r.out;
      std::string line = r.out.substr(access, r.out.find('\n', access) - access);
      EXPECT_NE(line.find("never extractable"), std::string::npos) << line;
      EXPECT_NE(line.find("sensitive"), std::string::npos) << line;
    }
  }
}

TEST(CoapPkcs11, MistakesAreReportedByConnectAndCreate) {
  REQUIRE_TOKEN();
  RunningServer srv(PkiServer(PemPki(g_world->pem_kdc)), AddWhoami);
  auto connect = [&](PkiConfig pki) {
    return Client::Connect("127.0.0.1", srv->dtls_port(), PkiClient(std::move(pki)));
  };
  auto expect = [](const auto& result, ErrorCode code, const std::string& text) {
    SCOPED_TRACE(text);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code(), code) << result.error().ToString();
    EXPECT_NE(result.error().ToString().find(text), std::string::npos) << result.error().ToString();
  };
  // Wrong PIN (second token: nobody in this process is logged in there).
  expect(
      connect(TokenPki(g_world->other_token, TokenKey("idevid-other", kOtherTokenLabel, "0000"))),
      ErrorCode::kInvalidInput, "PIN");
  // No such key.
  expect(connect(TokenPki(g_world->thing_token, TokenKey("no-such-key"))), ErrorCode::kNotFound,
         "no-such-key");
  // A token key that is not the certificate's.
  expect(connect(TokenPki(g_world->thing_token, TokenKey("kdc-key"))), ErrorCode::kInvalidInput,
         "does not belong");
  // The PIN in the URI, an empty PIN, a URI that is not one.
  Pkcs11PrivateKey in_uri = TokenKey("idevid-thing");
  in_uri.uri += ";pin-value=1234";
  expect(connect(TokenPki(g_world->thing_token, std::move(in_uri))), ErrorCode::kInvalidInput,
         "PIN");
  expect(connect(TokenPki(g_world->thing_token, TokenKey("idevid-thing", "secprof-test", ""))),
         ErrorCode::kInvalidInput, "pin is empty");
  Pkcs11PrivateKey not_uri = TokenKey("idevid-thing");
  not_uri.uri = "/tmp/key.pem";
  expect(connect(TokenPki(g_world->thing_token, std::move(not_uri))), ErrorCode::kInvalidInput,
         "pkcs11:");
  // Another module than the one the process-wide engine uses.
  Pkcs11PrivateKey other_module = TokenKey("idevid-thing");
  other_module.module_path = "/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so";
  expect(connect(TokenPki(g_world->thing_token, std::move(other_module))), ErrorCode::kInvalidInput,
         "process-wide");
  // PEM and token key at once.
  PkiConfig both = TokenPki(g_world->thing_token, TokenKey("idevid-thing"));
  both.private_key_pem = Key(g_world->pem_thing.key);
  expect(connect(std::move(both)), ErrorCode::kInvalidInput, "not both");
  // The server side reports the same way. (On the second token again: PKCS#11 login state is
  // per process and token, and the first token is logged in by now, so there a wrong PIN would
  // go unnoticed; see docs/COAP.md.)
  auto s = Server::Create(PkiServer(
      TokenPki(g_world->other_token, TokenKey("idevid-other", kOtherTokenLabel, "9999"))));
  expect(s, ErrorCode::kInvalidInput, "PIN");
  // After all that, the right settings still work.
  auto ok = connect(TokenPki(g_world->thing_token, TokenKey("idevid-thing")));
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_TRUE((*ok)->Get("whoami"));
}

TEST(CoapPkcs11, InteropLibcoapClientWithPemAgainstATokenServer) {
  REQUIRE_TOKEN();
  if (testing::Run("command -v coap-client-openssl >/dev/null 2>&1").exit_code != 0)
    GTEST_SKIP() << "coap-client-openssl not found (Debian package libcoap3-bin)";
  testing::TempDir dir;
  auto write = [&](const char* name, const std::string& text) {
    std::ofstream(dir.path() / name) << text;
    return (dir.path() / name).string();
  };
  std::string ca = write("ca.pem", g_world->ca->ToPem());
  std::string cert = write("thing.pem", g_world->pem_thing.cert);
  std::string key = write("thing.key", g_world->pem_thing.key);
  RunningServer srv(PkiServer(TokenPki(g_world->kdc_token, TokenKey("kdc-key"))), AddWhoami);
  auto r =
      testing::Run("timeout 10 coap-client-openssl -B 8 -m get -c " + cert + " -j " + key + " -C " +
                   ca + " coaps://127.0.0.1:" + std::to_string(srv->dtls_port()) + "/whoami 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("SN-PEM-2 ECDHE-ECDSA-AES128-CCM8"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace secprof::coap

// tests/kdc/kdc_test_util.h — helpers for the KDC tests: a factory of things, the SecProf_2 join
// and the DTLS client configurations a thing would use. Loopback only, ephemeral ports.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>

#include "secprof/coap/coap.h"
#include "secprof/core/fs.h"
#include "secprof/crypto/keys.h"
#include "secprof/crypto/signer.h"
#include "secprof/domain/keys.h"
#include "secprof/domain/protocol.h"
#include "secprof/domain/setup_code.h"
#include "secprof/identity/identity.h"
#include "secprof/kdc/kdc.h"
#include "secprof/keystore/file_store.h"
#include "secprof/keystore/kek.h"
#include "secprof/manufacture/manufacture.h"

namespace secprof::kdc::testing {

// A Kdc served on its own thread while this object lives (REQUIRES: the Kdc outlives it). The
// thread is stopped and joined in the destructor, also when a test fails half-way.
class Serving {
 public:
  explicit Serving(Kdc& kdc) : io_([&kdc](std::stop_token st) { (void)kdc.Serve(st); }) {}
  Serving(const Serving&) = delete;
  Serving& operator=(const Serving&) = delete;

 private:
  std::jthread io_;
};

inline manufacture::Manifest MakeFactory(const std::filesystem::path& dir,
                                         const std::string& vendor, const std::string& model,
                                         int count) {
  manufacture::Options o;
  o.vendor = vendor;
  o.model = model;
  o.count = count;
  o.out_dir = dir.string();
  auto made = manufacture::Manufacture(o);
  EXPECT_TRUE(made) << made.error().ToString();
  if (!made) return {};
  return made->manifest;
}

inline std::optional<identity::Certificate> LoadCert(const std::filesystem::path& p) {
  auto pem = ReadFile(p.string());
  EXPECT_TRUE(pem) << p;
  if (!pem) return std::nullopt;
  auto c = identity::Certificate::FromPem(*pem);
  EXPECT_TRUE(c) << p << ": " << (c ? "" : c.error().ToString());
  if (!c) return std::nullopt;
  return *c;
}

inline Result<coap::Response> PostCbor(coap::Client& c, const char* path, const crypto::Bytes& b) {
  return c.Post(path, b, coap::content_format::kCbor);
}

inline Result<std::unique_ptr<coap::Client>> Udp(uint16_t port) {
  return coap::Client::Connect("127.0.0.1", port, coap::ClientConfig{});
}

// What a SecProf_2 thing gets from a successful join.
struct PskJoined {
  std::string identity;
  crypto::SecureBuffer psk;
  uint16_t dtls_port = 0;
  crypto::Bytes request;  // the j/psk request as sent (for replays)
};

// j/nonce then j/psk with the proof over `setup_code`. Returns the j/psk response (any code);
// `joined` gets the decoded answer on 2.04.
inline coap::Response JoinPsk(coap::Client& c, const std::string& serial,
                              const std::string& setup_code, PskJoined* joined = nullptr) {
  auto nr = PostCbor(c, domain::path::kJoinNonce, domain::Encode(domain::JoinNonceRequest{serial}));
  EXPECT_TRUE(nr) << nr.error().ToString();
  if (!nr) return {};
  if (nr->code != coap::kCreated) return *nr;
  auto nonce = domain::DecodeJoinNonce(nr->payload);
  EXPECT_TRUE(nonce) << nonce.error().ToString();
  if (!nonce) return {};
  auto proof = domain::JoinProof(setup_code, serial, nonce->nonce);
  EXPECT_TRUE(proof);
  if (!proof) return {};
  crypto::Bytes req = domain::Encode(domain::PskJoinRequest{serial, nonce->nonce, *proof});
  auto jr = PostCbor(c, domain::path::kJoinPsk, req);
  EXPECT_TRUE(jr) << jr.error().ToString();
  if (!jr) return {};
  if (jr->code == coap::kChanged && joined) {
    auto resp = domain::DecodePskJoinResponse(jr->payload);
    EXPECT_TRUE(resp) << resp.error().ToString();
    if (resp) {
      joined->identity = resp->identity;
      auto psk = domain::OpenJoinPsk(setup_code, serial, nonce->nonce, resp->sealed_psk);
      EXPECT_TRUE(psk) << psk.error().ToString();
      if (psk) joined->psk = std::move(*psk);
      joined->dtls_port = resp->dtls_port;
      joined->request = req;
    }
  }
  return *jr;
}

inline Result<std::unique_ptr<coap::Client>> ConnectPsk(uint16_t port, const std::string& identity,
                                                        const crypto::SecureBuffer& psk) {
  coap::ClientConfig cc;
  cc.security = coap::Security::kPsk;
  cc.psk_identity = identity;
  cc.psk_key = psk.Clone();
  return coap::Client::Connect("127.0.0.1", port, std::move(cc));
}

// DTLS with a certificate, not checking the KDC's (a provisional session: the thing checks the
// voucher instead).
inline Result<std::unique_ptr<coap::Client>> ConnectPki(uint16_t port, const std::string& cert_pem,
                                                        const crypto::SecureBuffer& key_pem) {
  coap::ClientConfig cc;
  cc.security = coap::Security::kPki;
  cc.pki.certificate_pem = cert_pem;
  cc.pki.private_key_pem = key_pem.Clone();
  cc.pki.require_peer_certificate = false;
  return coap::Client::Connect("127.0.0.1", port, std::move(cc));
}

// The private key `label` of the file key store in `dir`, as PEM.
// `master_kek_file` (optional): the KEK file kept outside the store's directory and `purpose` the
// derivation secprof uses for that store ("thing keystore", "kdc keystore"; keystore/kek.h).
inline crypto::SecureBuffer StoreKeyPem(const std::string& dir, const std::string& label,
                                        const std::string& master_kek_file = {},
                                        std::string_view purpose = {}) {
  keystore::FileKeyStoreOptions o;
  o.dir = dir;
  if (!master_kek_file.empty()) {
    auto master = keystore::ReadKekFile(master_kek_file);
    EXPECT_TRUE(master) << master.error().ToString();
    if (!master) return {};
    auto k = keystore::DeriveKek(crypto::ByteView(master->data(), master->size()), purpose);
    EXPECT_TRUE(k) << k.error().ToString();
    if (!k) return {};
    o.kek = std::move(*k);
  }
  auto store = keystore::FileKeyStore::Open(std::move(o));
  EXPECT_TRUE(store) << store.error().ToString();
  if (!store) return {};
  auto der = (*store)->ExportPrivate(label);
  EXPECT_TRUE(der) << der.error().ToString();
  if (!der) return {};
  auto sk = crypto::PrivateKey::FromDer(crypto::ByteView(der->data(), der->size()));
  EXPECT_TRUE(sk);
  if (!sk) return {};
  auto pem = sk->ToPem();
  EXPECT_TRUE(pem);
  return pem ? std::move(*pem) : crypto::SecureBuffer{};
}

// The IDevID private key of a thing made with the file key store, as PEM.
inline crypto::SecureBuffer IdevidKeyPem(const std::filesystem::path& factory,
                                         const manufacture::ThingRecord& t) {
  return StoreKeyPem((factory / t.key_location).string(), t.key_label);
}

inline std::string Text(const coap::Response& r) { return coap::AsText(r.payload); }

}  // namespace secprof::kdc::testing

// tests/support/kdc_client.h — what a thing sends the KDC, for the tests that play the thing (or
// an attacker) by hand: the SecProf_2 join on the wire and the DTLS client configurations a thing
// would use. Loopback only, ephemeral ports. The domain itself (a factory, a served KDC, key
// stores read back) is support/domain_fixture.h, included here.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "secprof/coap/coap.h"
#include "secprof/crypto/signer.h"
#include "secprof/domain/keys.h"
#include "secprof/domain/protocol.h"
#include "secprof/domain/setup_code.h"
#include "support/domain_fixture.h"

namespace secprof::testing {

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
      auto psk =
          domain::OpenJoinPsk(setup_code, serial, resp->owner, nonce->nonce, resp->sealed_psk);
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

inline std::string Text(const coap::Response& r) { return coap::AsText(r.payload); }

}  // namespace secprof::testing

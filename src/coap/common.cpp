// Shared pieces of secprof::coap: start-up, addresses, PKI setup, peer identities, codes.
#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "internal.h"
#include "secprof/core/enum_names.h"
#include "secprof/crypto/openssl_errors.h"
#include "secprof/identity/identity.h"

namespace secprof::coap {

namespace {
constexpr EnumName<Method> kMethodNames[] = {{Method::kGet, "GET"},
                                             {Method::kPost, "POST"},
                                             {Method::kPut, "PUT"},
                                             {Method::kDelete, "DELETE"}};
}  // namespace

const char* MethodName(Method m) { return NameOf(kMethodNames, m, "?"); }

std::string CodeString(Code code) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%u.%02u", static_cast<unsigned>(code >> 5),
                static_cast<unsigned>(code & 0x1f));
  return buf;
}

Bytes Text(std::string_view s) { return Bytes(s.begin(), s.end()); }
std::string AsText(ByteView b) { return std::string(b.begin(), b.end()); }

namespace {
std::atomic<int> g_log_level{LOG_CRIT};  // SetLogLevel's value, applied by EnsureStarted
}  // namespace

void SetLogLevel(int syslog_level) {
  g_log_level.store(syslog_level);
  coap_set_log_level(static_cast<coap_log_t>(syslog_level));
  coap_dtls_set_log_level(syslog_level);
}

namespace internal {

void EnsureStarted() {
  static std::once_flag once;
  std::call_once(once, [] {
    coap_startup();
    const int level = g_log_level.load();
    coap_set_log_level(static_cast<coap_log_t>(level));
    coap_dtls_set_log_level(level);
  });
}

Result<ContextPtr> NewContext() {
  EnsureStarted();
  ContextPtr ctx(coap_new_context(nullptr));
  if (!ctx) return Fail(ErrorCode::kInternal, "coap_new_context failed");
  return ctx;
}

Result<coap_address_t> ParseAddress(const std::string& host, uint16_t port) {
  coap_address_t a;
  coap_address_init(&a);
  in_addr v4{};
  in6_addr v6{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    a.size = sizeof(sockaddr_in);
    a.addr.sin.sin_family = AF_INET;
    a.addr.sin.sin_addr = v4;
    a.addr.sin.sin_port = htons(port);
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    a.size = sizeof(sockaddr_in6);
    a.addr.sin6.sin6_family = AF_INET6;
    a.addr.sin6.sin6_addr = v6;
    a.addr.sin6.sin6_port = htons(port);
  } else {
    return Fail(ErrorCode::kInvalidInput, "not a numeric IP address: '" + host + "'");
  }
  return a;
}

Result<uint16_t> EndpointPort(const coap_endpoint_t* ep) {
  // coap_endpoint_str prints the bound address, e.g. "127.0.0.1:40123 (DTLS)" or
  // "[::1]:5684 (UDP)"; the port follows the last ':' before the space. libcoap 4.3.1 writes it
  // into one static buffer shared by every thread, so two servers starting at once (the lab runs
  // domains in parallel) could read each other's half-written text: the call and the copy are
  // serialised here (the only caller in the process; libcoap calls it itself only when logging
  // at debug level).
  static std::mutex endpoint_str_mutex;
  std::string s;
  {
    std::lock_guard<std::mutex> lock(endpoint_str_mutex);
    s = coap_endpoint_str(ep);
  }
  auto sp = s.find(' ');
  std::string addr = s.substr(0, sp);
  auto colon = addr.rfind(':');
  if (colon == std::string::npos) return Fail(ErrorCode::kInternal, "endpoint string: " + s);
  long port = std::strtol(addr.c_str() + colon + 1, nullptr, 10);
  if (port <= 0 || port > 65535) return Fail(ErrorCode::kInternal, "endpoint port: " + s);
  return static_cast<uint16_t>(port);
}

namespace {

// RFC 7925 §4.2 (PSK) and §4.4.2 (certificates): the mandatory-to-implement suites, by their
// OpenSSL names.
constexpr const char* kRfc7925Pki = "ECDHE-ECDSA-AES128-CCM8";
constexpr const char* kRfc7925PkiAndPsk = "ECDHE-ECDSA-AES128-CCM8:PSK-AES128-CCM8";

// coap_dtls_cn_callback_t: called by libcoap for each certificate of the peer's chain.
int OnPeerCertificate(const char* cn, const uint8_t* der, size_t der_len, coap_session_t*,
                      unsigned depth, int validated, void* arg) {
  try {
    auto* h = static_cast<PkiHolder*>(arg);
    if (h->config.require_peer_certificate && !validated) return 0;
    if (!h->config.verify_peer) return 1;
    PeerCertificate pc;
    pc.common_name = cn ? cn : "";
    pc.der.assign(der, der + der_len);
    pc.depth = depth;
    pc.validated = validated != 0;
    return h->config.verify_peer(pc) ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

// coap_dtls_security_setup_t: restricts the SSL object to DTLS 1.2 and the RFC 7925 suites
// (rfc7925_cipher_suites), and gives it every trust anchor (token mode with several anchors).
int OnTlsSetup(void* tls, coap_dtls_pki_t* setup) {
  if (!tls) return 1;  // libcoap passes NULL where it has no SSL object yet
  SSL* ssl = static_cast<SSL*>(tls);
  auto* h = static_cast<PkiHolder*>(setup->cn_call_back_arg);
  if (!h) return 0;
  if (h->config.rfc7925_cipher_suites) {
    const char* list = h->also_psk ? kRfc7925PkiAndPsk : kRfc7925Pki;
    if (SSL_set_cipher_list(ssl, list) != 1) return 0;
    if (SSL_set_min_proto_version(ssl, DTLS1_2_VERSION) != 1) return 0;
  }
  if (h->anchors && SSL_set1_verify_cert_store(ssl, h->anchors.get()) != 1) return 0;
  return 1;
}

}  // namespace

Status FillPkiSetup(PkiHolder& h) {
  const PkiConfig& c = h.config;
  if (c.certificate_pem.empty())
    return Fail(ErrorCode::kInvalidInput, "coap PKI: certificate_pem is empty");
  if (c.private_key_pkcs11 && !c.private_key_pem.empty())
    return Fail(ErrorCode::kInvalidInput,
                "coap PKI: give the private key either as PEM or in a token, not both");
  if (!c.private_key_pkcs11 && c.private_key_pem.empty())
    return Fail(ErrorCode::kInvalidInput, "coap PKI: no private key (private_key_pem is empty)");
  if (c.require_peer_certificate && c.trust_anchors_pem.empty())
    return Fail(ErrorCode::kInvalidInput,
                "coap PKI: require_peer_certificate needs trust_anchors_pem");

  std::memset(&h.setup, 0, sizeof h.setup);
  coap_dtls_pki_t& s = h.setup;
  s.version = COAP_DTLS_PKI_SETUP_VERSION;
  s.verify_peer_cert = h.config.require_peer_certificate ? 1 : 0;
  s.check_common_ca = h.config.require_peer_certificate ? 1 : 0;
  s.allow_self_signed = 0;
  s.allow_expired_certs = 0;
  s.cert_chain_validation = 1;
  s.cert_chain_verify_depth = 3;
  s.check_cert_revocation = 0;
  s.validate_cn_call_back = &OnPeerCertificate;
  s.cn_call_back_arg = &h;
  s.additional_tls_setup_call_back = &OnTlsSetup;
  if (!c.private_key_pkcs11) {
    s.pki_key.key_type = COAP_PKI_KEY_PEM_BUF;
    auto& b = s.pki_key.key.pem_buf;
    b.ca_cert = reinterpret_cast<const uint8_t*>(c.trust_anchors_pem.data());
    b.ca_cert_len = c.trust_anchors_pem.size();
    b.public_cert = reinterpret_cast<const uint8_t*>(c.certificate_pem.data());
    b.public_cert_len = c.certificate_pem.size();
    b.private_key = c.private_key_pem.data();
    b.private_key_len = c.private_key_pem.size();
    return Ok();
  }

  // COAP_PKI_KEY_PKCS11: libcoap 4.3.1 takes the key as a "pkcs11:" URI and, when the
  // certificate and the CA are not URIs too, reads them as DER files (SSL_use_certificate_file /
  // the CA file with SSL_FILETYPE_ASN1). A DER file holds one certificate: libcoap gets the first
  // trust anchor, and with more than one, OnTlsSetup gives each SSL object a store of them all.
  const Pkcs11PrivateKey& k = *c.private_key_pkcs11;
  auto cert = identity::Certificate::FromPem(c.certificate_pem);
  if (!cert) return Fail(cert.error().WithContext("coap PKI: certificate_pem"));
  SECPROF_TRY(CheckPkcs11Key(k, cert->ToDer()));
  SECPROF_ASSIGN_OR_RETURN(h.files, PrivateDir::Create());
  SECPROF_ASSIGN_OR_RETURN(h.certificate_path, h.files->Write("certificate.der", cert->ToDer()));
  if (!c.trust_anchors_pem.empty()) {
    auto cas = identity::Certificate::ListFromPem(c.trust_anchors_pem);
    if (!cas) return Fail(cas.error().WithContext("coap PKI: trust_anchors_pem"));
    SECPROF_ASSIGN_OR_RETURN(h.trust_anchor_path,
                             h.files->Write("trust-anchor.der", cas->front().ToDer()));
    if (cas->size() > 1) {
      h.anchors.reset(X509_STORE_new());
      if (!h.anchors) return Fail(ErrorCode::kInternal, "X509_STORE_new failed");
      for (const auto& ca : *cas) {
        const unsigned char* p = ca.ToDer().data();
        openssl::X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(ca.ToDer().size())));
        if (!x || X509_STORE_add_cert(h.anchors.get(), x.get()) != 1)
          return Fail(crypto::OpenSslError("coap PKI: trust anchor into the verify store"));
      }
    }
  }
  h.pin_cstr = crypto::SecureBuffer(k.pin.size() + 1);
  std::memcpy(h.pin_cstr.data(), k.pin.data(), k.pin.size());
  s.pki_key.key_type = COAP_PKI_KEY_PKCS11;
  auto& p = s.pki_key.key.pkcs11;
  p.ca = h.trust_anchor_path.empty() ? nullptr : h.trust_anchor_path.c_str();
  p.public_cert = h.certificate_path.c_str();
  p.private_key = k.uri.c_str();
  p.user_pin = reinterpret_cast<const char*>(h.pin_cstr.data());
  return Ok();
}

PeerIdentity IdentityOf(coap_session_t* session) {
  PeerIdentity p;
  coap_tls_library_t lib = COAP_TLS_LIBRARY_NOTLS;
  void* tls = coap_session_get_tls(session, &lib);
  if (!tls || lib != COAP_TLS_LIBRARY_OPENSSL) return p;
  SSL* ssl = static_cast<SSL*>(tls);
  if (const char* c = SSL_get_cipher_name(ssl)) p.cipher = c;
  if (X509* cert = SSL_get0_peer_certificate(ssl)) {
    p.kind = PeerIdentity::Kind::kCertificate;
    unsigned char* der = nullptr;
    int n = i2d_X509(cert, &der);
    if (n > 0) {
      p.certificate_der.assign(der, der + n);
      OPENSSL_free(der);
      if (auto c = identity::Certificate::FromDer(p.certificate_der)) {
        p.subject = c->subject().text;
        p.serial_number = c->subject().serial_number;
        p.serial_hex = c->serial_hex();
      }
    }
  } else if (const coap_bin_const_t* id = coap_session_get_psk_identity(session)) {
    p.kind = PeerIdentity::Kind::kPsk;
    p.psk_identity.assign(reinterpret_cast<const char*>(id->s), id->length);
  }
  return p;
}

}  // namespace internal
}  // namespace secprof::coap

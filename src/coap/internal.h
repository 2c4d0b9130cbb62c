// Internals of secprof::coap: libcoap handles, process-wide start-up, and the pieces shared by
// Server and Client (addresses, the PKI setup, the peer's identity). Not a public header.
#pragma once

#include <coap3/coap.h>
#include <openssl/x509_vfy.h>

#include <filesystem>
#include <memory>
#include <string>

#include "secprof/coap/coap.h"
#include "secprof/crypto/openssl_handles.h"

namespace secprof::coap::internal {

// coap_startup() exactly once per process (std::call_once); libcoap's log level is the one given
// to coap::SetLogLevel (default 2 = LOG_CRIT: quiet).
void EnsureStarted();

struct ContextDeleter {
  void operator()(coap_context_t* c) const { coap_free_context(c); }
};
using ContextPtr = std::unique_ptr<coap_context_t, ContextDeleter>;

struct SessionDeleter {
  void operator()(coap_session_t* s) const { coap_session_release(s); }
};
using SessionPtr = std::unique_ptr<coap_session_t, SessionDeleter>;

// A new context, or kInternal.
Result<ContextPtr> NewContext();

// A numeric IPv4/IPv6 address and a port. kInvalidInput otherwise.
Result<coap_address_t> ParseAddress(const std::string& host, uint16_t port);

// The port an endpoint is bound to (resolves port 0), from coap_endpoint_str.
Result<uint16_t> EndpointPort(const coap_endpoint_t* ep);

// RFC 7959 §2.2: a block number has at most 20 bits and a block at most 1024 bytes, so a
// block-wise body is at most (2^20 - 1) * 1024 bytes (libcoap's MAX_BLK_LEN; it silently
// truncates anything longer).
inline constexpr size_t kMaxBlockwiseBody = ((size_t{1} << 20) - 1) * 1024;

// A directory only we can read (mkdtemp: 0700) holding files written 0600, removed with
// everything in it when the object dies.
class PrivateDir {
 public:
  static Result<std::unique_ptr<PrivateDir>> Create();
  ~PrivateDir();
  PrivateDir(const PrivateDir&) = delete;
  PrivateDir& operator=(const PrivateDir&) = delete;
  // Writes `bytes` to a new file `name` (O_EXCL, 0600) and returns its path.
  Result<std::string> Write(const std::string& name, ByteView bytes);

 private:
  explicit PrivateDir(std::filesystem::path path) : path_(std::move(path)) {}
  std::filesystem::path path_;
};

// A PkiConfig kept alive for libcoap (which reads the PEM buffers during every handshake, so they
// must outlive the context) together with the coap_dtls_pki_t that points into it.
struct PkiHolder {
  PkiConfig config;
  bool also_psk = false;  // server endpoint that also does PSK (affects the cipher list)
  coap_dtls_pki_t setup{};
  // COAP_PKI_KEY_PKCS11 only: the PIN with a terminating NUL for libcoap's user_pin, and DER
  // copies of the certificate and the trust anchor (libcoap reads files in that mode).
  crypto::SecureBuffer pin_cstr{};
  std::unique_ptr<PrivateDir> files{};
  std::string certificate_path{};
  std::string trust_anchor_path{};
  // COAP_PKI_KEY_PKCS11 with several trust anchors: a DER file holds one certificate, so libcoap
  // gets the first and every SSL object gets this store with all of them
  // (SSL_set1_verify_cert_store in the TLS-setup callback).
  openssl::X509StorePtr anchors{};
};
// Checks holder.config and fills holder.setup (PEM buffers or PKCS#11 URI and DER files,
// verification flags, CN and TLS-setup callbacks). kInvalidInput for an inconsistent config,
// kNotFound / kInvalidInput / kUnsupported / kCrypto from the PKCS#11 key check.
Status FillPkiSetup(PkiHolder& holder);

// OpenSSL's "pkcs11" engine, loaded once per process (key.module_path as its module when given),
// and a check that key.uri names a private key that key.pin unlocks and that belongs to
// `certificate_der`, done by loading it once (prompting is disabled). Serialised by a mutex.
Status CheckPkcs11Key(const Pkcs11PrivateKey& key, ByteView certificate_der);

// What the peer of `session` proved in its DTLS handshake (kind kNone for UDP).
PeerIdentity IdentityOf(coap_session_t* session);

}  // namespace secprof::coap::internal

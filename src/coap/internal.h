// Internals of secprof::coap: libcoap handles, process-wide start-up, and the pieces shared by
// Server and Client (addresses, the PKI setup, the peer's identity). Not a public header.
#pragma once

#include <coap3/coap.h>

#include <memory>
#include <string>

#include "secprof/coap/coap.h"

namespace secprof::coap::internal {

// coap_startup() exactly once per process (std::call_once); libcoap's log level comes from
// $SECPROF_COAP_LOG (a syslog level number, default 2 = LOG_CRIT: quiet).
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

// A PkiConfig kept alive for libcoap (which reads the PEM buffers during every handshake, so they
// must outlive the context) together with the coap_dtls_pki_t that points into it.
struct PkiHolder {
  PkiConfig config;
  bool also_psk = false;  // server endpoint that also does PSK (affects the cipher list)
  coap_dtls_pki_t setup{};
};
// Fills holder.setup (PEM buffers, verification flags, CN and TLS-setup callbacks).
void FillPkiSetup(PkiHolder& holder);

// What the peer of `session` proved in its DTLS handshake (kind kNone for UDP).
PeerIdentity IdentityOf(coap_session_t* session);

}  // namespace secprof::coap::internal

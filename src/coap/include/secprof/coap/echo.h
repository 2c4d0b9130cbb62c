// secprof/coap/echo.h — request freshness with the CoAP Echo option (RFC 9175 §2), the defence
// against the request delay attack (draft-ietf-core-attacks-on-coap §2.3: DTLS and OSCORE give
// integrity and replay protection, not freshness; an on-path attacker may hold a request and
// deliver it after its sender gave up).
//
// Server (coap::Server::RequireEcho): an unsafe request to a resource that requires freshness is
// executed only when it carries an Echo value this server issued less than
// Limits::echo_freshness ago. Otherwise it is answered 4.01 Unauthorized with a new Echo option
// (RFC 9175 §2.3, §2.4 item 2) and the handler is not called. Values are stateless (RFC 9175
// §2.3 "time-based freshness", Appendix A method 3): an 8-byte big-endian timestamp in
// milliseconds of the server's monotonic clock followed by the first 16 bytes of
// HMAC-SHA256(key, "secprof-echo-v1" || timestamp), the key being 32 bytes drawn from OpenSSL's
// DRBG when the server is created. The server keeps no per-client state; a restart makes every
// earlier value unknown (the client then gets a new one).
//
// Client (coap::Client, RFC 9175 §2.4 item 3; its own, docs/COAP.md): a 4.01 with an Echo of
// 1..40 bytes (§2.2.1) makes it send the request again, once, at once, with the value copied byte
// for byte (new tokens); the repeat's answer is the response, even another 4.01. So a request to
// such a resource costs two round trips. No value is kept for later requests (§2.4 allows reuse;
// not done), which also means a held request never carries a value older than one round trip.
#pragma once

#include <cstddef>
#include <cstdint>

#include "secprof/core/result.h"

namespace secprof::coap {

// RFC 9175 §2.2.1: option number 252, 0-40 bytes (IANA CoAP Option Numbers registry).
inline constexpr uint16_t kEchoOption = 252;
// The length of the values this server issues: timestamp (8) + truncated MAC (16).
inline constexpr size_t kEchoValueSize = 24;

// Why a request needing freshness was answered 4.01 with a new Echo (ServerStats counts them;
// ServerConfig::on_echo_refused receives them).
// No Echo option: the first request of an exchange, the normal case (RFC 9175 §2.4 item 2).
inline constexpr Reason kEchoMissing{"echo-missing"};
// An Echo this server issued, older than Limits::echo_freshness: the request was held, or the
// client reused an old value.
inline constexpr Reason kEchoStale{"echo-stale"};
// An Echo whose MAC does not verify (forged, altered, or from before a restart of the server).
inline constexpr Reason kEchoUnknown{"echo-unknown"};

}  // namespace secprof::coap

// Internals of secprof::coap::Server that bound what unauthenticated peers can make libcoap 4.3.1
// hold (docs/COAP.md "Availability"): the port check, half-open DTLS handshakes, and plain-CoAP
// Block1 requests inspected before libcoap reads them. Not a public header.
#pragma once

#include <coap3/coap.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "secprof/coap/coap.h"

namespace secprof::coap::internal {

using SteadyTime = std::chrono::steady_clock::time_point;

// kIo "port in use" when a UDP socket already holds `addr` (its port not 0). libcoap sets
// SO_REUSEADDR on its sockets, under which a second one binds the same port and steals its
// datagrams; a probe socket bound *without* SO_REUSEADDR fails with EADDRINUSE instead. The probe
// is closed before libcoap binds (a process that binds in between is not detected).
Status CheckPortFree(const coap_address_t& addr, const std::string& label);

// The descriptor of this process's UDP socket bound to exactly `bound` (libcoap's endpoint
// socket; libcoap 4.3.1 does not hand it out), found by scanning /proc/self/fd. kInternal if none.
Result<int> FindBoundUdpSocket(const coap_address_t& bound);

// The IP address (no port) of a peer, as text: the unit the per-address bounds count in.
std::string AddressOnly(const coap_address_t& a);
std::string AddressOnly(const sockaddr* sa);
// "address|port" of a peer: the unit libcoap keeps one session per.
std::string PeerKey(const sockaddr* sa);

// --- Half-open DTLS handshakes (issue 9 item 13) ---------------------------------------------
//
// libcoap 4.3.1 keeps a server session for every ClientHello that returned a valid cookie
// (RFC 6347 §4.2.1) until the handshake completes, or fails after about 31 s of retransmissions,
// and refuses new ClientHellos once max_handshake_sessions are open: a single host filled them
// with ~65 abandoned handshakes. This guard learns every DTLS server session from libcoap's
// events and, after each coap_io_process, closes (coap_session_disconnected) those beyond
// `per_address` for one IP address (that address's oldest first), those older than `timeout`,
// and, beyond `global`, the oldest of the address holding the most. A new handshake therefore
// always gets a slot; what an attacker loses is its own oldest attempts.
//
// libcoap 4.3.1 also creates a "hello" session for every ClientHello from a new address and port
// (before any cookie), counts it among its handshake sessions and frees it only after 30 s, one
// per later ClientHello: a few hundred ClientHellos, each from another port (spoofable: no answer
// is needed), made it ignore every new ClientHello. A hello session holds nothing once libcoap has
// answered its HelloVerifyRequest (the cookie is stateless, RFC 6347 §4.2.1; a returning
// ClientHello with a valid cookie gets a new session), so Enforce has libcoap free each one right
// away. libcoap 4.3.1 offers no call for that: ReleaseHello marks the session as a closed server
// session, which libcoap's next coap_io_process frees (with COAP_EVENT_SERVER_SESSION_DEL). It
// writes two fields of libcoap's private coap_session_t, at offsets checked against the public
// getters on every use (docs/COAP.md); if they do not match, nothing is written and the hello
// session stays (hellos_kept counts it).
class HandshakeGuard {
 public:
  struct Closed {
    uint64_t per_address = 0;
    uint64_t global = 0;
    uint64_t timed_out = 0;
    uint64_t hellos_released = 0;  // not counted in total()
    uint64_t hellos_kept = 0;      // layout check failed: left to libcoap
    // Half-open handshakes libcoap ended itself (closing, or freed without an event) before
    // they completed and before the guard closed them; not counted in total().
    uint64_t failed = 0;
    uint64_t total() const { return per_address + global + timed_out; }
  };

  HandshakeGuard(unsigned global, unsigned per_address, std::chrono::milliseconds timeout)
      : global_(global), per_address_(per_address), timeout_(timeout) {}

  // A DTLS server-side session appeared (COAP_EVENT_SERVER_SESSION_NEW; libcoap 4.3.1 creates it
  // as a "hello" session and turns it into a handshake session once the cookie checks out).
  void OnNew(coap_session_t* s, SteadyTime now);
  // It completed its handshake (`connected`: COAP_EVENT_DTLS_CONNECTED) or went away
  // (COAP_EVENT_DTLS_CLOSED, _ERROR, COAP_EVENT_SERVER_SESSION_DEL). True when it was a tracked
  // handshake past the cookie (not a hello session) that went away without completing: libcoap
  // ended it, not the guard (whose victims are off the books before they are closed).
  bool OnGone(coap_session_t* s, bool connected);
  // Closes what is beyond the bounds (see above). Sessions are looked up again in libcoap
  // (coap_session_get_by_peer) before use, so a session libcoap freed without an event is dropped
  // from the books, never touched.
  Closed Enforce(coap_context_t* ctx, SteadyTime now);
  // Handshakes in progress (hello sessions not counted), as of the last Enforce.
  size_t half_open() const { return half_open_; }
  // Forgets everything (the context is about to be freed).
  void Clear() { entries_.clear(); }

 private:
  struct Entry {
    coap_address_t remote;
    int ifindex = 0;
    std::string address;  // AddressOnly(remote)
    SteadyTime since;
  };
  unsigned global_;
  unsigned per_address_;
  std::chrono::milliseconds timeout_;
  std::map<coap_session_t*, Entry> entries_;
  bool layout_ok_ = true;  // false after a failed layout check: never write again
  size_t half_open_ = 0;
};

// Marks a libcoap 4.3.1 hello session (type COAP_SESSION_TYPE_HELLO) as a closed server session
// (COAP_SESSION_TYPE_SERVER, COAP_SESSION_STATE_NONE), which libcoap frees in its next
// coap_io_process. false, having written nothing, unless the private fields sit where expected
// (each checked against coap_session_get_proto / _type / _state) and the session is unreferenced.
bool ReleaseHello(coap_session_t* s);

// --- Plain-CoAP Block1 requests (issue 9 item 14) --------------------------------------------

// The parts of a CoAP message (RFC 7252 §3) the Block1 gate needs.
struct CoapHead {
  uint8_t type = 0;  // 0 CON, 1 NON, 2 ACK, 3 RST
  uint8_t code = 0;
  uint16_t message_id = 0;
  Bytes token{};
  bool has_block1 = false;
  uint32_t block_num = 0;  // RFC 7959 §2.2
  bool block_more = false;
  unsigned block_szx = 0;
  std::optional<uint64_t> size1{};  // RFC 7959 §4
  size_t payload_length = 0;
};
// nullopt for anything that is not a well-formed CoAP message (libcoap then deals with it).
std::optional<CoapHead> ParseCoapHead(ByteView datagram);

// A 4.13 Request Entity Too Large answer to `req` (RFC 7959 §2.9.3) with Size1 = `limit` (§4):
// a piggybacked ACK for a CON request (same Message ID), else a NON with `message_id`; the token
// echoed (RFC 7252 §5.3.2) and a diagnostic payload.
Bytes Encode413(const CoapHead& req, uint64_t limit, uint16_t message_id);
// The same shape with 5.03 Service Unavailable and Max-Age = `retry_after_s` (RFC 7252 §5.9.3.4).
Bytes Encode503(const CoapHead& req, uint32_t retry_after_s, uint16_t message_id);

// What the Block1 gate decides for one plain-CoAP datagram, before libcoap reads it.
class Block1Guard {
 public:
  enum class Verdict { kPass, kTooLarge, kBusy };
  Block1Guard(size_t limit, unsigned per_address, std::chrono::seconds lifetime)
      : limit_(limit), per_address_(per_address), lifetime_(lifetime) {}
  // kTooLarge: a Block1 block whose Size1, or whose offset plus length (NUM × 2^(SZX+4) + its
  // payload, RFC 7959 §2.2), exceeds the limit — refused at the first such block, before libcoap
  // reserves anything. kBusy: the first block of a new transfer from an address that already has
  // `per_address` transfers under way (a transfer ends with its last block, M = 0, or after
  // `lifetime`). Anything else passes.
  Verdict Inspect(const CoapHead& h, const std::string& address, uint16_t port, SteadyTime now);
  size_t limit() const { return limit_; }

 private:
  size_t limit_;
  unsigned per_address_;
  std::chrono::seconds lifetime_;
  // address -> port -> last block seen
  std::map<std::string, std::map<uint16_t, SteadyTime>> transfers_;
};

}  // namespace secprof::coap::internal

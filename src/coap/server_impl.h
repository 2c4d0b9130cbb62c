// Internals of secprof::coap::Server shared by its source files: the registered resources and
// Server::Impl (what the context's callbacks point into), and the libcoap callbacks that
// server.cpp registers. Not a public header.
//
//   server.cpp          Create, the accessors, AddResource / RequireEcho
//   server_session.cpp  PSK identity lookup and session events (ServerStats bookkeeping)
//   server_request.cpp  the method handler: Block1 assembly, limits, Echo check, the response
//   server_loop.cpp     RunOnce / Serve: the Block1 gate, libcoap's I/O, the handshake bounds
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "assembly.h"
#include "echo.h"
#include "guard.h"
#include "internal.h"

namespace secprof::coap {

namespace internal {

constexpr size_t kMethods = 5;  // index = Method code 1..4

// One registered path; libcoap's coap_resource_t points back to it through its user data.
struct Entry {
  std::string path;
  std::array<Handler, kMethods> handlers{};
  // RequireEcho: the method needs a fresh Echo (RFC 9175), and who hears of its refusals.
  std::array<bool, kMethods> echo{};
  std::array<std::function<void(const Request&, Reason)>, kMethods> echo_refused{};
  coap_resource_t* resource = nullptr;  // owned by the context
};

}  // namespace internal

struct Server::Impl {
  std::optional<PskServerConfig> psk;
  std::unique_ptr<internal::PkiHolder> pki;
  coap_dtls_spsk_t spsk{};
  // The key most recently handed to libcoap by the PSK lookup (libcoap copies it).
  crypto::SecureBuffer last_key;
  coap_bin_const_t last_key_bin{};
  std::map<std::string, std::unique_ptr<internal::Entry>, std::less<>> resources;
  uint16_t udp_port = 0;
  uint16_t dtls_port = 0;
  size_t max_request_body = 0;
  // ServerStats, written on the I/O thread, read anywhere.
  std::atomic<size_t> sessions{0};
  std::atomic<size_t> dtls_established{0};
  std::atomic<uint64_t> sessions_created{0};
  std::atomic<uint64_t> handshakes_completed{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> requests_too_large{0};
  std::atomic<size_t> half_open_handshakes{0};
  std::atomic<uint64_t> handshakes_evicted{0};
  std::atomic<uint64_t> handshakes_timed_out{0};
  std::atomic<uint64_t> handshakes_failed{0};
  std::atomic<uint64_t> blocks_refused{0};
  std::atomic<uint64_t> partial_requests_refused{0};
  std::atomic<uint64_t> hello_sessions_released{0};
  std::atomic<uint64_t> hello_sessions_kept{0};
  std::atomic<uint64_t> echo_missing{0};
  std::atomic<uint64_t> echo_stale{0};
  std::atomic<uint64_t> echo_unknown{0};
  // Request freshness (secprof/coap/echo.h), on the I/O thread.
  std::unique_ptr<internal::EchoGuard> echo;
  const Clock* clock = nullptr;
  // Availability guards (guard.h), used on the I/O thread only.
  std::unique_ptr<internal::HandshakeGuard> handshakes;
  std::unique_ptr<internal::Block1Guard> block1;
  std::unique_ptr<internal::BodyAssembler> bodies;
  int udp_fd = -1;  // libcoap's plain-CoAP endpoint socket (not ours to close)
  // A DTLS session appeared or went since the last HandshakeGuard::Enforce, and when that ran.
  bool handshakes_changed = false;
  internal::SteadyTime last_enforce{};
  Bytes peek_buffer;
  uint16_t next_message_id = 0;
  std::function<void(std::string_view)> log;
  internal::SteadyTime last_log{};
  std::array<uint64_t, 4> logged{};  // evicted, timed out, blocks refused, partial refused
  // Declared last so that it is freed first: the context (and every session, endpoint and
  // resource it holds) goes before the buffers and handlers its callbacks point into.
  internal::ContextPtr ctx;
};

namespace internal {

// The Server::Impl a server session belongs to (the context's app data), or null.
Server::Impl* ImplOf(coap_session_t* session);

// coap_dtls_id_callback_t for the DTLS-PSK endpoint (server_session.cpp); `arg` is the Impl.
const coap_bin_const_t* OnPskIdentity(coap_bin_const_t* identity, coap_session_t*, void* arg);
// coap_event_handler_t: session bookkeeping for ServerStats (server_session.cpp).
int OnServerEvent(coap_session_t* s, const coap_event_t event);
// coap_method_handler_t for every registered method (server_request.cpp).
void OnRequest(coap_resource_t* resource, coap_session_t* session, const coap_pdu_t* request,
               const coap_string_t* query, coap_pdu_t* response);

}  // namespace internal

}  // namespace secprof::coap

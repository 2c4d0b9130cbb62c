// secprof::coap::Server: a libcoap server context with UDP and DTLS endpoints and C++ handlers.
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <map>
#include <string>
#include <utility>

#include "assembly.h"
#include "echo.h"
#include "guard.h"
#include "internal.h"

namespace secprof::coap {

namespace {

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

}  // namespace

struct Server::Impl {
  std::optional<PskServerConfig> psk;
  std::unique_ptr<internal::PkiHolder> pki;
  coap_dtls_spsk_t spsk{};
  // The key most recently handed to libcoap by the PSK lookup (libcoap copies it).
  crypto::SecureBuffer last_key;
  coap_bin_const_t last_key_bin{};
  std::map<std::string, std::unique_ptr<Entry>, std::less<>> resources;
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

namespace {

// coap_dtls_id_callback_t: the key for a client's PSK identity (RFC 4279 §2), or NULL to refuse.
const coap_bin_const_t* OnPskIdentity(coap_bin_const_t* identity, coap_session_t*, void* arg) {
  auto* impl = static_cast<Server::Impl*>(arg);
  try {
    if (!impl->psk || !impl->psk->key_for_identity || !identity) return nullptr;
    std::string_view id(reinterpret_cast<const char*>(identity->s), identity->length);
    auto key = impl->psk->key_for_identity(id);
    if (!key || key->empty() || key->size() > COAP_DTLS_MAX_PSK) return nullptr;
    impl->last_key = std::move(*key);
    impl->last_key_bin.s = impl->last_key.data();
    impl->last_key_bin.length = impl->last_key.size();
    return &impl->last_key_bin;
  } catch (...) {
    return nullptr;
  }
}

Server::Impl* ImplOf(coap_session_t* session) {
  return static_cast<Server::Impl*>(coap_get_app_data(coap_session_get_context(session)));
}

// What a server session has been counted as, kept in its app data: kCounted (in `sessions`),
// kEstablished (also in `dtls_established`). Each count drops exactly once.
char kCounted, kEstablished;

void Count(Server::Impl* impl, coap_session_t* s) {
  if (coap_session_get_app_data(s) == nullptr) {
    coap_session_set_app_data(s, &kCounted);
    impl->sessions.fetch_add(1, std::memory_order_relaxed);
    impl->sessions_created.fetch_add(1, std::memory_order_relaxed);
  }
}

void ForgetEstablished(Server::Impl* impl, coap_session_t* s) {
  if (coap_session_get_app_data(s) == &kEstablished) {
    coap_session_set_app_data(s, &kCounted);
    impl->dtls_established.fetch_sub(1, std::memory_order_relaxed);
  }
}

// coap_event_handler_t: session bookkeeping for ServerStats. libcoap 4.3.1 announces UDP server
// sessions with COAP_EVENT_SERVER_SESSION_NEW but DTLS ones only with COAP_EVENT_DTLS_CONNECTED
// (the cookie exchange creates no session, RFC 6347 §4.2.1), so both count; every server session
// ends with COAP_EVENT_SERVER_SESSION_DEL.
int OnServerEvent(coap_session_t* s, const coap_event_t event) {
  Server::Impl* impl = ImplOf(s);
  if (!impl) return 0;
  if (event == COAP_EVENT_SERVER_SESSION_DEL && impl->bodies)  // its partial Block1 bodies go too
    impl->bodies->ForgetPeer(internal::PeerKey(&coap_session_get_addr_remote(s)->addr.sa) + "|");
  if (impl->handshakes && coap_session_get_proto(s) == COAP_PROTO_DTLS) {
    if (event == COAP_EVENT_SERVER_SESSION_NEW) {
      impl->handshakes->OnNew(s, std::chrono::steady_clock::now());
      impl->handshakes_changed = true;
    } else if (event == COAP_EVENT_DTLS_CONNECTED || event == COAP_EVENT_DTLS_CLOSED ||
               event == COAP_EVENT_DTLS_ERROR || event == COAP_EVENT_SERVER_SESSION_DEL) {
      impl->handshakes->OnGone(s);
      impl->handshakes_changed = true;
    }
  }
  if (coap_session_get_type(s) != COAP_SESSION_TYPE_SERVER) return 0;
  switch (event) {
    case COAP_EVENT_SERVER_SESSION_NEW:
      Count(impl, s);
      break;
    case COAP_EVENT_DTLS_CONNECTED:
      Count(impl, s);
      if (coap_session_get_app_data(s) == &kCounted) {
        coap_session_set_app_data(s, &kEstablished);
        impl->dtls_established.fetch_add(1, std::memory_order_relaxed);
        impl->handshakes_completed.fetch_add(1, std::memory_order_relaxed);
      }
      break;
    case COAP_EVENT_DTLS_CLOSED:
    case COAP_EVENT_DTLS_ERROR:
      ForgetEstablished(impl, s);
      break;
    case COAP_EVENT_SERVER_SESSION_DEL:
      ForgetEstablished(impl, s);
      if (coap_session_get_app_data(s) == &kCounted) {
        coap_session_set_app_data(s, nullptr);
        impl->sessions.fetch_sub(1, std::memory_order_relaxed);
      }
      break;
    default:
      break;
  }
  return 0;
}

// coap_release_large_data_t: libcoap is done with a response body it was lent.
void ReleaseBody(coap_session_t*, void* body) { delete static_cast<Bytes*>(body); }

// Fills `resp` from `out`. A payload goes through coap_add_data_large_response, which adds it
// as it is when it fits one message and otherwise sends it block-wise (Block2 with Size2 and an
// ETag, RFC 7959 §2.4, §4), keeping the body until the last block has gone; the body is moved to
// the heap and handed over with ReleaseBody. libcoap adds Content-Format itself for any format
// but 0 (text/plain), which it takes for "none", so that one is added here.
void WriteResponse(Response out, coap_resource_t* resource, coap_session_t* session,
                   const coap_pdu_t* request, const coap_string_t* query, coap_pdu_t* resp) {
  coap_pdu_set_code(resp, static_cast<coap_pdu_code_t>(out.code));
  uint16_t media_type = 0;
  if (out.content_format && *out.content_format != 0) {
    media_type = *out.content_format;
  } else if (out.content_format) {
    uint8_t buf[4];
    coap_add_option(resp, COAP_OPTION_CONTENT_FORMAT, coap_encode_var_safe(buf, sizeof buf, 0),
                    buf);
  }
  if (out.payload.empty()) {
    if (media_type != 0) {
      uint8_t buf[4];
      coap_add_option(resp, COAP_OPTION_CONTENT_FORMAT,
                      coap_encode_var_safe(buf, sizeof buf, media_type), buf);
    }
    return;
  }
  if (out.payload.size() > internal::kMaxBlockwiseBody) {
    coap_pdu_set_code(resp, static_cast<coap_pdu_code_t>(kInternalServerError));
    return;
  }
  auto* body = new Bytes(std::move(out.payload));
  // On failure libcoap sets 5.00 (or 4.00 for a Block2 request beyond the end) and calls
  // ReleaseBody itself.
  (void)coap_add_data_large_response(resource, session, request, resp, query, media_type,
                                     /*maxage=*/-1, /*etag: libcoap's counter*/ 0, body->size(),
                                     body->data(), &ReleaseBody, body);
}

// 4.13 for a body beyond the limit, with Size1 = the limit (RFC 7959 §2.9.3, §4).
Response TooLarge(Server::Impl& impl) {
  impl.requests_too_large.fetch_add(1, std::memory_order_relaxed);
  return Response{.code = kRequestEntityTooLarge,
                  .payload = Text("request body larger than " +
                                  std::to_string(impl.max_request_body) + " bytes")};
}

// RFC 9175 §2.3-§2.4 for a RequireEcho resource: true when `request` carries a fresh Echo value
// of this server. Otherwise fills `out` with 4.01, adds a new Echo option to `response`, counts
// and reports the refusal and returns false.
bool CheckEcho(Server::Impl& impl, const Entry& entry, const coap_pdu_t* request, const Request& rq,
               coap_pdu_t* response, Response* out) {
  coap_opt_iterator_t it;
  std::optional<Bytes> value;
  if (coap_opt_t* o = coap_check_option(request, COAP_OPTION_ECHO, &it))
    value = Bytes(coap_opt_value(o), coap_opt_value(o) + coap_opt_length(o));
  const auto now = impl.clock->Monotonic();
  const auto verdict = impl.echo->Check(value, now);
  if (verdict == internal::EchoGuard::Verdict::kFresh) return true;
  const Reason why = internal::EchoGuard::ReasonOf(verdict);
  constexpr auto r = std::memory_order_relaxed;
  (verdict == internal::EchoGuard::Verdict::kMissing ? impl.echo_missing
   : verdict == internal::EchoGuard::Verdict::kStale ? impl.echo_stale
                                                     : impl.echo_unknown)
      .fetch_add(1, r);
  if (const auto& tell = entry.echo_refused[static_cast<size_t>(rq.method)]) tell(rq, why);
  auto fresh = impl.echo->Issue(now);
  if (!fresh) {
    *out = Response{.code = kInternalServerError, .payload = Text("cannot issue an Echo value")};
    return false;
  }
  coap_add_option(response, COAP_OPTION_ECHO, fresh->size(), fresh->data());
  *out =
      Response{.code = kUnauthorized,
               .content_format = content_format::kTextPlain,
               .payload = Text("a fresh Echo is required (RFC 9175): " + std::string(why.name()))};
  return false;
}

// coap_method_handler_t (libcoap 4.3.1 signature). Nothing may escape: libcoap is C.
void OnRequest(coap_resource_t* resource, coap_session_t* session, const coap_pdu_t* request,
               const coap_string_t* query, coap_pdu_t* response) {
  Response out;
  Server::Impl* impl = nullptr;
  try {
    impl = ImplOf(session);
    auto* entry = static_cast<Entry*>(coap_resource_get_userdata(resource));
    unsigned code = static_cast<unsigned>(coap_pdu_get_code(request));
    // libcoap runs without COAP_BLOCK_SINGLE_BODY: a Block1 request arrives here block by block
    // (offset = the block's, Block1 still on) and BodyAssembler builds the body under the limit.
    size_t len = 0, offset = 0, total = 0;
    const uint8_t* data = nullptr;
    bool has_data = coap_get_data_large(request, &len, &data, &offset, &total) && data;
    if (!has_data) len = 0;
    coap_opt_iterator_t it;
    coap_block_t block1{};
    bool blockwise = coap_get_block(request, COAP_OPTION_BLOCK1, &block1) != 0;
    uint64_t size1 = 0;
    if (coap_opt_t* o = coap_check_option(request, COAP_OPTION_SIZE1, &it))
      size1 = coap_decode_var_bytes8(coap_opt_value(o), coap_opt_length(o));
    Bytes body;
    auto outcome = internal::BodyAssembler::Outcome::kComplete;
    if (!entry || code == 0 || code >= kMethods || !entry->handlers[code]) {
      outcome = internal::BodyAssembler::Outcome::kIncomplete;
      out = Response{.code = kMethodNotAllowed};
    } else if (!impl) {
      outcome = internal::BodyAssembler::Outcome::kIncomplete;
      out = Response{.code = kInternalServerError};
    } else if (blockwise) {
      const sockaddr* remote = &coap_session_get_addr_remote(session)->addr.sa;
      std::string key = internal::PeerKey(remote) + "|" + std::to_string(code) + "|" + entry->path;
      outcome = impl->bodies->Add(key, internal::AddressOnly(remote), offset, ByteView(data, len),
                                  block1.m != 0, size1, std::chrono::steady_clock::now(), &body);
    } else if (len > impl->max_request_body) {
      outcome = internal::BodyAssembler::Outcome::kTooLarge;
    } else if (has_data) {
      body.assign(data, data + len);
    }
    using O = internal::BodyAssembler::Outcome;
    if (impl && outcome != O::kContinue) impl->requests.fetch_add(1, std::memory_order_relaxed);
    if (out.code == kMethodNotAllowed || out.code == kInternalServerError) {
      // answered above
    } else if (outcome == O::kTooLarge) {
      out = TooLarge(*impl);
    } else if (outcome == O::kBusy) {
      impl->partial_requests_refused.fetch_add(1, std::memory_order_relaxed);
      out = Response{.code = kServiceUnavailable,
                     .payload = Text("too many block-wise requests under way from this address")};
    } else if (outcome == O::kIncomplete) {
      out = Response{.code = kRequestEntityIncomplete,
                     .payload = Text("block-wise request body incomplete")};
    } else if (outcome == O::kContinue) {
      out = Response{.code = kContinue};  // libcoap has added the Block1 option (RFC 7959 §2.3)
    } else {
      Request rq;
      rq.method = static_cast<Method>(code);
      rq.path = entry->path;
      if (query) rq.query.assign(reinterpret_cast<const char*>(query->s), query->length);
      rq.payload = std::move(body);
      if (coap_opt_t* o = coap_check_option(request, COAP_OPTION_CONTENT_FORMAT, &it)) {
        rq.content_format =
            static_cast<uint16_t>(coap_decode_var_bytes(coap_opt_value(o), coap_opt_length(o)));
      }
      rq.peer = internal::IdentityOf(session);
      char addr[INET6_ADDRSTRLEN + 16] = {};
      size_t n = coap_print_addr(coap_session_get_addr_remote(session),
                                 reinterpret_cast<unsigned char*>(addr), sizeof addr - 1);
      rq.peer_address.assign(addr, n);
      if (entry->echo[code] && !CheckEcho(*impl, *entry, request, rq, response, &out)) {
        // answered 4.01 with a new Echo (RFC 9175 §2.4 item 2): the handler is not called
      } else {
        out = entry->handlers[code](rq);
      }
    }
  } catch (...) {
    out = Response{.code = kInternalServerError};
  }
  if (out.code == kRequestEntityTooLarge && impl) {
    uint8_t buf[8];
    coap_add_option(response, COAP_OPTION_SIZE1,
                    coap_encode_var_safe8(buf, sizeof buf, impl->max_request_body), buf);
  }
  try {
    WriteResponse(std::move(out), resource, session, request, query, response);
  } catch (...) {  // std::bad_alloc moving the body
    coap_pdu_set_code(response, static_cast<coap_pdu_code_t>(kInternalServerError));
  }
}

}  // namespace

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() = default;

uint16_t Server::udp_port() const { return impl_->udp_port; }
uint16_t Server::dtls_port() const { return impl_->dtls_port; }

size_t Server::session_count() const { return impl_->sessions.load(std::memory_order_relaxed); }

ServerStats Server::stats() const {
  const Impl& i = *impl_;
  constexpr auto r = std::memory_order_relaxed;
  return ServerStats{.sessions = i.sessions.load(r),
                     .dtls_established = i.dtls_established.load(r),
                     .sessions_created = i.sessions_created.load(r),
                     .handshakes_completed = i.handshakes_completed.load(r),
                     .requests = i.requests.load(r),
                     .requests_too_large = i.requests_too_large.load(r),
                     .half_open_handshakes = i.half_open_handshakes.load(r),
                     .handshakes_evicted = i.handshakes_evicted.load(r),
                     .handshakes_timed_out = i.handshakes_timed_out.load(r),
                     .blocks_refused = i.blocks_refused.load(r),
                     .partial_requests_refused = i.partial_requests_refused.load(r),
                     .hello_sessions_released = i.hello_sessions_released.load(r),
                     .hello_sessions_kept = i.hello_sessions_kept.load(r),
                     .echo_missing = i.echo_missing.load(r),
                     .echo_stale = i.echo_stale.load(r),
                     .echo_unknown = i.echo_unknown.load(r)};
}

Result<std::unique_ptr<Server>> Server::Create(ServerConfig config) {
  if (!config.udp_port && !config.dtls_port)
    return Fail(ErrorCode::kInvalidInput, "coap server: neither a UDP nor a DTLS port");
  if (config.dtls_port && !config.psk && !config.pki)
    return Fail(ErrorCode::kInvalidInput, "coap server: a DTLS port needs PSK or PKI settings");
  if (config.dtls_port && !coap_dtls_is_supported())
    return Fail(ErrorCode::kUnsupported, "libcoap was built without DTLS");
  if (config.psk && !config.psk->key_for_identity)
    return Fail(ErrorCode::kInvalidInput, "coap server: PSK needs key_for_identity");

  if (config.max_request_body > internal::kMaxBlockwiseBody)
    return Fail(ErrorCode::kInvalidInput,
                "coap server: max_request_body beyond the RFC 7959 maximum of " +
                    std::to_string(internal::kMaxBlockwiseBody) + " bytes");

  auto impl = std::make_unique<Impl>();
  impl->max_request_body = config.max_request_body;
  SECPROF_ASSIGN_OR_RETURN(impl->ctx, internal::NewContext());
  coap_context_t* ctx = impl->ctx.get();
  coap_set_app_data(ctx, impl.get());
  coap_register_event_handler(ctx, &OnServerEvent);
  // RFC 7959 through libcoap: it sends Block2 responses and assembles Block1 bodies, handing the
  // handler one whole body (set before any session exists, as libcoap requires).
  // Not COAP_BLOCK_SINGLE_BODY: with it libcoap 4.3.1 reserves the Size1 a first Block1 block
  // announces (up to 1 GiB) before we see anything; BodyAssembler does the assembly instead.
  coap_context_set_block_mode(ctx, COAP_BLOCK_USE_LIBCOAP);
  // libcoap refuses the *newest* ClientHello beyond its limit; HandshakeGuard closes the oldest
  // half-open handshake instead, after each coap_io_process, so libcoap's limit only needs room
  // for what one coap_io_process can add before that (and its hello sessions, which it counts).
  const Limits& lim = config.limits;
  coap_context_set_max_handshake_sessions(ctx, lim.max_handshake_sessions * 2 + 16);
  impl->handshakes = std::make_unique<internal::HandshakeGuard>(
      lim.max_handshake_sessions, lim.max_handshakes_per_address, lim.handshake_timeout);
  // A lapsed plain-CoAP transfer stops counting after RFC 7252 §4.8.2 EXCHANGE_LIFETIME (247 s),
  // about when libcoap forgets its partial body too.
  impl->block1 = std::make_unique<internal::Block1Guard>(
      config.max_request_body, lim.max_partial_requests_per_address, std::chrono::seconds(247));
  impl->bodies = std::make_unique<internal::BodyAssembler>(
      config.max_request_body, lim.max_partial_requests_per_address, std::chrono::seconds(247));
  impl->log = std::move(config.log);
  impl->clock = config.clock ? config.clock : &SystemClock();
  SECPROF_ASSIGN_OR_RETURN(
      impl->echo, internal::EchoGuard::Create(crypto::SystemRandomSource(), lim.echo_freshness));
  impl->last_log = std::chrono::steady_clock::now();
  coap_context_set_max_idle_sessions(ctx, config.limits.max_idle_sessions);
  coap_context_set_session_timeout(ctx,
                                   static_cast<unsigned>(config.limits.session_timeout.count()));

  impl->psk = std::move(config.psk);
  if (config.dtls_port) {
    if (config.pki) {
      impl->pki = std::make_unique<internal::PkiHolder>();
      impl->pki->config = std::move(*config.pki);
      impl->pki->also_psk = impl->psk.has_value();
      SECPROF_TRY(internal::FillPkiSetup(*impl->pki));
      if (!coap_context_set_pki(ctx, &impl->pki->setup))
        return Fail(ErrorCode::kCrypto, "coap server: libcoap refused the certificate setup");
    }
    if (impl->psk) {
      coap_dtls_spsk_t& s = impl->spsk;
      s.version = COAP_DTLS_SPSK_SETUP_VERSION;
      s.validate_id_call_back = &OnPskIdentity;
      s.id_call_back_arg = impl.get();
      s.psk_info.hint.s = reinterpret_cast<const uint8_t*>(impl->psk->hint.data());
      s.psk_info.hint.length = impl->psk->hint.size();
      if (!coap_context_set_psk2(ctx, &s))
        return Fail(ErrorCode::kCrypto, "coap server: libcoap refused the PSK setup");
    }
  }

  auto bind = [&](uint16_t port, coap_proto_t proto, uint16_t* bound) -> Status {
    SECPROF_ASSIGN_OR_RETURN(coap_address_t addr, internal::ParseAddress(config.address, port));
    // One server per port (issue 9 item 16): libcoap's SO_REUSEADDR would let a second bind.
    SECPROF_TRY(internal::CheckPortFree(addr, "coap server: " + config.address));
    coap_endpoint_t* ep = coap_new_endpoint(ctx, &addr, proto);  // owned by the context
    if (!ep) {
      return Fail(ErrorCode::kIo,
                  "coap server: cannot listen on " + config.address + ":" + std::to_string(port));
    }
    SECPROF_ASSIGN_OR_RETURN(*bound, internal::EndpointPort(ep));
    return Ok();
  };
  if (config.udp_port) {
    SECPROF_TRY(bind(*config.udp_port, COAP_PROTO_UDP, &impl->udp_port));
    SECPROF_ASSIGN_OR_RETURN(coap_address_t bound,
                             internal::ParseAddress(config.address, impl->udp_port));
    SECPROF_ASSIGN_OR_RETURN(impl->udp_fd, internal::FindBoundUdpSocket(bound));
    impl->peek_buffer.resize(65536);  // the largest UDP payload
  }
  if (config.dtls_port) SECPROF_TRY(bind(*config.dtls_port, COAP_PROTO_DTLS, &impl->dtls_port));
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

namespace {

// The entry for `path`, registered with libcoap when new (the context owns the resource).
Entry& EntryFor(Server::Impl& impl, std::string_view path) {
  auto it = impl.resources.find(path);
  if (it == impl.resources.end()) {
    auto entry = std::make_unique<Entry>();
    entry->path = std::string(path);
    coap_str_const_t* uri =
        coap_new_str_const(reinterpret_cast<const uint8_t*>(path.data()), path.size());
    coap_resource_t* r = coap_resource_init(uri, COAP_RESOURCE_FLAGS_RELEASE_URI);
    coap_resource_set_userdata(r, entry.get());
    entry->resource = r;
    coap_add_resource(impl.ctx.get(), r);  // the context owns and frees r
    it = impl.resources.emplace(entry->path, std::move(entry)).first;
  }
  return *it->second;
}

}  // namespace

void Server::RequireEcho(std::string_view path, Method method,
                         std::function<void(const Request&, Reason)> on_refused) {
  Entry& e = EntryFor(*impl_, path);
  e.echo[static_cast<size_t>(method)] = true;
  e.echo_refused[static_cast<size_t>(method)] = std::move(on_refused);
}

void Server::AddResource(std::string_view path, Method method, Handler handler) {
  Entry& e = EntryFor(*impl_, path);
  bool first = !e.handlers[static_cast<size_t>(method)];
  e.handlers[static_cast<size_t>(method)] = std::move(handler);
  if (first) {
    coap_register_handler(e.resource, static_cast<coap_request_t>(method), &OnRequest);
  }
}

namespace {

// The Block1 gate (issue 9 item 14): looks at the plain-CoAP datagram libcoap would read next
// (MSG_PEEK) and, when Block1Guard refuses it, takes it off the socket and answers it here, so
// libcoap never sees it and reserves nothing. libcoap reads one datagram per ready endpoint per
// coap_io_process, so each datagram is looked at before libcoap reads it.
void GateUdp(Server::Impl& i, internal::SteadyTime now) {
  sockaddr_storage from{};
  socklen_t fl = sizeof from;
  ssize_t n = ::recvfrom(i.udp_fd, i.peek_buffer.data(), i.peek_buffer.size(),
                         MSG_PEEK | MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fl);
  if (n <= 0) return;
  auto head = internal::ParseCoapHead(ByteView(i.peek_buffer.data(), static_cast<size_t>(n)));
  if (!head) return;
  const auto* sa = reinterpret_cast<const sockaddr*>(&from);
  uint16_t port =
      ntohs(from.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&from)->sin6_port
                                       : reinterpret_cast<const sockaddr_in*>(&from)->sin_port);
  auto verdict = i.block1->Inspect(*head, internal::AddressOnly(sa), port, now);
  if (verdict == internal::Block1Guard::Verdict::kPass) return;
  uint8_t discard;
  (void)::recv(i.udp_fd, &discard, sizeof discard, MSG_DONTWAIT);  // drops the whole datagram
  Bytes answer;
  if (verdict == internal::Block1Guard::Verdict::kTooLarge) {
    answer = internal::Encode413(*head, i.block1->limit(), i.next_message_id++);
    i.blocks_refused.fetch_add(1, std::memory_order_relaxed);
    i.requests_too_large.fetch_add(1, std::memory_order_relaxed);
  } else {
    answer = internal::Encode503(*head, 10, i.next_message_id++);
    i.partial_requests_refused.fetch_add(1, std::memory_order_relaxed);
  }
  if (head->type <= 1)  // CON or NON requests are answered; never answer an ACK or RST
    (void)::sendto(i.udp_fd, answer.data(), answer.size(), MSG_DONTWAIT, sa, fl);
}

// One summary line at most every 10 s while the guards act.
void MaybeLog(Server::Impl& i, internal::SteadyTime now) {
  constexpr auto r = std::memory_order_relaxed;
  std::array<uint64_t, 4> cur{i.handshakes_evicted.load(r), i.handshakes_timed_out.load(r),
                              i.blocks_refused.load(r), i.partial_requests_refused.load(r)};
  if (cur == i.logged || now - i.last_log < std::chrono::seconds(10)) return;
  std::string line =
      "coap server: in the last " +
      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - i.last_log).count()) +
      " s: " + std::to_string(cur[0] - i.logged[0]) +
      " half-open DTLS handshakes closed for the bounds, " + std::to_string(cur[1] - i.logged[1]) +
      " timed out; " + std::to_string(cur[2] - i.logged[2]) + " Block1 requests refused 4.13, " +
      std::to_string(cur[3] - i.logged[3]) + " refused 5.03 (transfers per address)";
  i.logged = cur;
  i.last_log = now;
  try {
    if (i.log) {
      i.log(line);
    } else {
      coap_log(LOG_WARNING, "%s\n", line.c_str());
    }
  } catch (...) {  // a throwing log sink loses the line, nothing else
  }
}

}  // namespace

Status Server::RunOnce(std::chrono::milliseconds timeout) {
  Impl& i = *impl_;
  coap_context_t* ctx = i.ctx.get();
  // Wait on the plain-CoAP socket and on libcoap's epoll descriptor (every socket and libcoap's
  // timer); without epoll, in slices short enough for libcoap's timers.
  pollfd fds[2];
  nfds_t n = 0;
  if (i.udp_fd >= 0) fds[n++] = pollfd{i.udp_fd, POLLIN, 0};
  int epfd = coap_context_get_coap_fd(ctx);
  long wait = std::max<long>(0, static_cast<long>(timeout.count()));
  if (epfd >= 0) {
    fds[n++] = pollfd{epfd, POLLIN, 0};
  } else {
    wait = std::min<long>(wait, 10);
  }
  int ready = ::poll(fds, n, static_cast<int>(wait));
  if (ready < 0 && errno != EINTR) return Fail(ErrorCode::kIo, "coap server: poll failed");
  auto now = std::chrono::steady_clock::now();
  if (i.udp_fd >= 0 && ready > 0 && (fds[0].revents & POLLIN)) GateUdp(i, now);
  if (coap_io_process(ctx, COAP_IO_NO_WAIT) < 0)
    return Fail(ErrorCode::kIo, "coap_io_process failed");
  now = std::chrono::steady_clock::now();
  // Enforce looks every tracked session up in libcoap (a scan of its sessions each): after a
  // session appeared or went, else every 50 ms for the handshake timeout.
  if (!i.handshakes_changed && now - i.last_enforce < std::chrono::milliseconds(50)) {
    MaybeLog(i, now);
    return Ok();
  }
  i.handshakes_changed = false;
  i.last_enforce = now;
  internal::HandshakeGuard::Closed closed = i.handshakes->Enforce(ctx, now);
  i.half_open_handshakes.store(i.handshakes->half_open(), std::memory_order_relaxed);
  i.hello_sessions_released.fetch_add(closed.hellos_released, std::memory_order_relaxed);
  i.hello_sessions_kept.fetch_add(closed.hellos_kept, std::memory_order_relaxed);
  if (closed.total()) {
    i.handshakes_evicted.fetch_add(closed.per_address + closed.global, std::memory_order_relaxed);
    i.handshakes_timed_out.fetch_add(closed.timed_out, std::memory_order_relaxed);
  }
  MaybeLog(i, now);
  return Ok();
}

Status Server::Serve(std::stop_token stop) {
  while (!stop.stop_requested()) SECPROF_TRY(RunOnce(std::chrono::milliseconds(50)));
  return Ok();
}

}  // namespace secprof::coap

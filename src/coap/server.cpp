// secprof::coap::Server: a libcoap server context with UDP and DTLS endpoints and C++ handlers.
#include <string>
#include <utility>

#include "server_impl.h"

namespace secprof::coap {

using internal::Entry;

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
                     .handshakes_failed = i.handshakes_failed.load(r),
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
  coap_register_event_handler(ctx, &internal::OnServerEvent);
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
      s.validate_id_call_back = &internal::OnPskIdentity;
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
    coap_register_handler(e.resource, static_cast<coap_request_t>(method), &internal::OnRequest);
  }
}

}  // namespace secprof::coap

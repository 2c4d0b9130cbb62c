// secprof::coap::Server: a libcoap server context with UDP and DTLS endpoints and C++ handlers.
#include <array>
#include <map>
#include <string>
#include <utility>

#include "internal.h"

namespace secprof::coap {

namespace {

constexpr size_t kMethods = 5;  // index = Method code 1..4

// One registered path; libcoap's coap_resource_t points back to it through its user data.
struct Entry {
  std::string path;
  std::array<Handler, kMethods> handlers{};
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

void WriteResponse(const Response& out, coap_pdu_t* resp) {
  coap_pdu_set_code(resp, static_cast<coap_pdu_code_t>(out.code));
  if (out.content_format) {
    uint8_t buf[4];
    coap_add_option(resp, COAP_OPTION_CONTENT_FORMAT,
                    coap_encode_var_safe(buf, sizeof buf, *out.content_format), buf);
  }
  if (!out.payload.empty() && !coap_add_data(resp, out.payload.size(), out.payload.data())) {
    coap_pdu_set_code(resp, static_cast<coap_pdu_code_t>(kInternalServerError));
  }
}

// coap_method_handler_t (libcoap 4.3.1 signature). Nothing may escape: libcoap is C.
void OnRequest(coap_resource_t* resource, coap_session_t* session, const coap_pdu_t* request,
               const coap_string_t* query, coap_pdu_t* response) {
  Response out;
  try {
    auto* entry = static_cast<Entry*>(coap_resource_get_userdata(resource));
    unsigned code = static_cast<unsigned>(coap_pdu_get_code(request));
    if (!entry || code == 0 || code >= kMethods || !entry->handlers[code]) {
      out = Response{.code = kMethodNotAllowed};
    } else {
      Request rq;
      rq.method = static_cast<Method>(code);
      rq.path = entry->path;
      if (query) rq.query.assign(reinterpret_cast<const char*>(query->s), query->length);
      size_t len = 0;
      const uint8_t* data = nullptr;
      if (coap_get_data(request, &len, &data) && data) rq.payload.assign(data, data + len);
      coap_opt_iterator_t it;
      if (coap_opt_t* o = coap_check_option(request, COAP_OPTION_CONTENT_FORMAT, &it)) {
        rq.content_format =
            static_cast<uint16_t>(coap_decode_var_bytes(coap_opt_value(o), coap_opt_length(o)));
      }
      rq.peer = internal::IdentityOf(session);
      char addr[INET6_ADDRSTRLEN + 16] = {};
      size_t n = coap_print_addr(coap_session_get_addr_remote(session),
                                 reinterpret_cast<unsigned char*>(addr), sizeof addr - 1);
      rq.peer_address.assign(addr, n);
      out = entry->handlers[code](rq);
    }
  } catch (...) {
    out = Response{.code = kInternalServerError};
  }
  WriteResponse(out, response);
}

}  // namespace

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() = default;

uint16_t Server::udp_port() const { return impl_->udp_port; }
uint16_t Server::dtls_port() const { return impl_->dtls_port; }

Result<std::unique_ptr<Server>> Server::Create(ServerConfig config) {
  if (!config.udp_port && !config.dtls_port)
    return Fail(ErrorCode::kInvalidInput, "coap server: neither a UDP nor a DTLS port");
  if (config.dtls_port && !config.psk && !config.pki)
    return Fail(ErrorCode::kInvalidInput, "coap server: a DTLS port needs PSK or PKI settings");
  if (config.dtls_port && !coap_dtls_is_supported())
    return Fail(ErrorCode::kUnsupported, "libcoap was built without DTLS");
  if (config.psk && !config.psk->key_for_identity)
    return Fail(ErrorCode::kInvalidInput, "coap server: PSK needs key_for_identity");

  auto impl = std::make_unique<Impl>();
  SECPROF_ASSIGN_OR_RETURN(impl->ctx, internal::NewContext());
  coap_context_t* ctx = impl->ctx.get();
  coap_context_set_max_handshake_sessions(ctx, config.limits.max_handshake_sessions);
  coap_context_set_max_idle_sessions(ctx, config.limits.max_idle_sessions);
  coap_context_set_session_timeout(ctx,
                                   static_cast<unsigned>(config.limits.session_timeout.count()));

  impl->psk = std::move(config.psk);
  if (config.dtls_port) {
    if (config.pki) {
      impl->pki = std::make_unique<internal::PkiHolder>();
      impl->pki->config = std::move(*config.pki);
      impl->pki->also_psk = impl->psk.has_value();
      internal::FillPkiSetup(*impl->pki);
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
    coap_endpoint_t* ep = coap_new_endpoint(ctx, &addr, proto);  // owned by the context
    if (!ep) {
      return Fail(ErrorCode::kIo,
                  "coap server: cannot listen on " + config.address + ":" + std::to_string(port));
    }
    SECPROF_ASSIGN_OR_RETURN(*bound, internal::EndpointPort(ep));
    return Ok();
  };
  if (config.udp_port) SECPROF_TRY(bind(*config.udp_port, COAP_PROTO_UDP, &impl->udp_port));
  if (config.dtls_port) SECPROF_TRY(bind(*config.dtls_port, COAP_PROTO_DTLS, &impl->dtls_port));
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

void Server::AddResource(std::string_view path, Method method, Handler handler) {
  auto it = impl_->resources.find(path);
  if (it == impl_->resources.end()) {
    auto entry = std::make_unique<Entry>();
    entry->path = std::string(path);
    coap_str_const_t* uri =
        coap_new_str_const(reinterpret_cast<const uint8_t*>(path.data()), path.size());
    coap_resource_t* r = coap_resource_init(uri, COAP_RESOURCE_FLAGS_RELEASE_URI);
    coap_resource_set_userdata(r, entry.get());
    entry->resource = r;
    coap_add_resource(impl_->ctx.get(), r);  // the context owns and frees r
    it = impl_->resources.emplace(entry->path, std::move(entry)).first;
  }
  Entry& e = *it->second;
  bool first = !e.handlers[static_cast<size_t>(method)];
  e.handlers[static_cast<size_t>(method)] = std::move(handler);
  if (first) {
    coap_register_handler(e.resource, static_cast<coap_request_t>(method), &OnRequest);
  }
}

Status Server::RunOnce(std::chrono::milliseconds timeout) {
  if (coap_io_process(impl_->ctx.get(), static_cast<uint32_t>(timeout.count())) < 0)
    return Fail(ErrorCode::kIo, "coap_io_process failed");
  return Ok();
}

Status Server::Serve(std::stop_token stop) {
  while (!stop.stop_requested()) SECPROF_TRY(RunOnce(std::chrono::milliseconds(50)));
  return Ok();
}

}  // namespace secprof::coap

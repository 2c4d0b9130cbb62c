// secprof::coap::Client: one libcoap client context and session, driven synchronously.
//
// libcoap carries the messages (CON retransmission, RFC 7252 §4.2; DTLS) but not the exchanges:
// the context runs *without* COAP_BLOCK_USE_LIBCOAP, so every response reaches OnResponse as it
// arrived and secprof does the rest in client_exchange.cpp: block-wise transfer (RFC 7959) and the
// Echo repeat (RFC 9175 §2.4 item 3). libcoap 4.3.1 in its block mode answers every 4.01 that
// carries an Echo by repeating the request itself, inside its block layer and before the
// application sees the response (block.c check_freshness, for any request it tracks, which in that
// mode is every request), and leaks the repeat when it is refused again; no setting turns that
// off but leaving the block mode (docs/COAP.md "Request freshness").
#include <utility>

#include "client_impl.h"

namespace secprof::coap {

namespace {

Client::Impl* ImplOf(coap_session_t* s) {
  return static_cast<Client::Impl*>(coap_get_app_data(coap_session_get_context(s)));
}

// coap_response_handler_t: a response (piggy-backed or separate, RFC 7252 §5.2). Only the answer
// to the message in flight (token-matched, RFC 7252 §5.3.2; RFC 9175 §4: every message of an
// exchange has its own token) is kept, as parsed options and payload; the exchange logic runs in
// Send, outside this C callback. Late answers to earlier messages are ignored.
coap_response_t OnResponse(coap_session_t* s, const coap_pdu_t*, const coap_pdu_t* pdu,
                           const coap_mid_t) {
  Client::Impl* impl = ImplOf(s);
  try {
    if (!impl || !impl->waiting || impl->received || !impl->failure.empty())
      return COAP_RESPONSE_OK;
    coap_bin_const_t tok = coap_pdu_get_token(pdu);
    if (tok.length != impl->token.size() ||
        !std::equal(tok.s, tok.s + tok.length, impl->token.begin()))
      return COAP_RESPONSE_OK;  // not ours (a late answer to an earlier message)
    internal::Received r;
    r.code = static_cast<Code>(coap_pdu_get_code(pdu));
    coap_opt_iterator_t it;
    if (coap_opt_t* o = coap_check_option(pdu, COAP_OPTION_CONTENT_FORMAT, &it)) {
      r.content_format =
          static_cast<uint16_t>(coap_decode_var_bytes(coap_opt_value(o), coap_opt_length(o)));
    }
    if (coap_opt_t* o = coap_check_option(pdu, COAP_OPTION_ETAG, &it)) {
      r.has_etag = true;
      r.etag.assign(coap_opt_value(o), coap_opt_value(o) + coap_opt_length(o));
    }
    if (coap_opt_t* o = coap_check_option(pdu, COAP_OPTION_SIZE2, &it))
      r.size2 = coap_decode_var_bytes8(coap_opt_value(o), coap_opt_length(o));
    if (coap_opt_t* o = coap_check_option(pdu, COAP_OPTION_ECHO, &it)) {
      r.has_echo = true;
      r.echo.assign(coap_opt_value(o), coap_opt_value(o) + coap_opt_length(o));
    }
    coap_block_t block{};
    if (coap_get_block(pdu, COAP_OPTION_BLOCK2, &block))
      r.block2 = internal::BlockOption{block.num, block.m != 0, block.szx};
    if (coap_get_block(pdu, COAP_OPTION_BLOCK1, &block))
      r.block1 = internal::BlockOption{block.num, block.m != 0, block.szx};
    size_t len = 0;
    const uint8_t* data = nullptr;
    if (coap_get_data(pdu, &len, &data) && data) r.payload.assign(data, data + len);
    impl->received = std::move(r);
  } catch (...) {  // std::bad_alloc copying the payload
    impl->failure_code = ErrorCode::kLimit;
    impl->failure = "out of memory reading a response";
  }
  return COAP_RESPONSE_OK;
}

void SetFailure(Client::Impl* impl, ErrorCode code, std::string why) {
  if (!impl->failure.empty()) return;
  impl->failure_code = code;
  impl->failure = std::move(why);
}

// coap_nack_handler_t: a confirmable message that will get no answer.
void OnNack(coap_session_t* s, const coap_pdu_t* sent, const coap_nack_reason_t reason,
            const coap_mid_t) {
  Client::Impl* impl = ImplOf(s);
  if (!impl || !impl->waiting) return;
  if (sent) {  // about an earlier message (one a failed request left behind): not this one's
    coap_bin_const_t tok = coap_pdu_get_token(sent);
    if (tok.length != impl->token.size() ||
        !std::equal(tok.s, tok.s + tok.length, impl->token.begin()))
      return;
  }
  switch (reason) {
    case COAP_NACK_TOO_MANY_RETRIES:
      SetFailure(impl, ErrorCode::kIo, "no answer after retransmissions");
      break;
    case COAP_NACK_RST:
      SetFailure(impl, ErrorCode::kIo, "the server answered with a reset");
      break;
    case COAP_NACK_TLS_FAILED:
      SetFailure(impl, ErrorCode::kIo, "DTLS failed");
      break;
    default:
      SetFailure(impl, ErrorCode::kIo, "message not deliverable");
      break;
  }
}

// coap_event_handler_t: DTLS and session events.
int OnEvent(coap_session_t* s, const coap_event_t event) {
  Client::Impl* impl = ImplOf(s);
  if (!impl) return 0;
  switch (event) {
    case COAP_EVENT_DTLS_CONNECTED:
      impl->handshake = Client::Impl::Handshake::kConnected;
      break;
    case COAP_EVENT_DTLS_CLOSED:
    case COAP_EVENT_DTLS_ERROR:
    case COAP_EVENT_SESSION_FAILED:
    case COAP_EVENT_SESSION_CLOSED:
      if (impl->handshake == Client::Impl::Handshake::kPending)
        impl->handshake = Client::Impl::Handshake::kFailed;
      if (impl->waiting) SetFailure(impl, ErrorCode::kIo, "the DTLS session closed");
      break;
    default:
      break;
  }
  return 0;
}

}  // namespace

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

const PeerIdentity& Client::server_identity() const { return impl_->server_identity; }

Result<std::unique_ptr<Client>> Client::Connect(const std::string& host, uint16_t port,
                                                ClientConfig config) {
  if (port == 0) return Fail(ErrorCode::kInvalidInput, "coap client: port 0");
  SECPROF_ASSIGN_OR_RETURN(coap_address_t dst, internal::ParseAddress(host, port));
  if (config.security != Security::kNone && !coap_dtls_is_supported())
    return Fail(ErrorCode::kUnsupported, "libcoap was built without DTLS");

  auto impl = std::make_unique<Impl>();
  impl->peer = host + ":" + std::to_string(port);
  SECPROF_ASSIGN_OR_RETURN(impl->ctx, internal::NewContext());
  coap_context_t* ctx = impl->ctx.get();
  coap_set_app_data(ctx, impl.get());
  coap_register_response_handler(ctx, &OnResponse);
  coap_register_nack_handler(ctx, &OnNack);
  coap_register_event_handler(ctx, &OnEvent);
  // No coap_context_set_block_mode: libcoap's block layer stays off (see the top of this file);
  // RFC 7959 and RFC 9175's repeat are done in client_exchange.cpp.
  if (config.max_response_body > internal::kMaxBlockwiseBody)
    config.max_response_body = internal::kMaxBlockwiseBody;  // nothing larger can arrive
  impl->config = std::move(config);
  const ClientConfig& c = impl->config;

  coap_session_t* s = nullptr;
  switch (c.security) {
    case Security::kNone:
      s = coap_new_client_session(ctx, nullptr, &dst, COAP_PROTO_UDP);
      break;
    case Security::kPsk: {
      if (c.psk_identity.empty() || c.psk_identity.size() > COAP_DTLS_MAX_PSK_IDENTITY ||
          c.psk_key.empty() || c.psk_key.size() > COAP_DTLS_MAX_PSK)
        return Fail(ErrorCode::kInvalidInput,
                    "coap client: PSK identity and key must be 1..64 bytes each");
      coap_dtls_cpsk_t cpsk{};
      cpsk.version = COAP_DTLS_CPSK_SETUP_VERSION;
      cpsk.psk_info.identity.s = reinterpret_cast<const uint8_t*>(c.psk_identity.data());
      cpsk.psk_info.identity.length = c.psk_identity.size();
      cpsk.psk_info.key.s = c.psk_key.data();
      cpsk.psk_info.key.length = c.psk_key.size();
      s = coap_new_client_session_psk2(ctx, nullptr, &dst, COAP_PROTO_DTLS, &cpsk);
      break;
    }
    case Security::kPki: {
      impl->pki = std::make_unique<internal::PkiHolder>();
      impl->pki->config = std::move(impl->config.pki);
      SECPROF_TRY(internal::FillPkiSetup(*impl->pki));
      s = coap_new_client_session_pki(ctx, nullptr, &dst, COAP_PROTO_DTLS, &impl->pki->setup);
      break;
    }
  }
  if (!s) return Fail(ErrorCode::kIo, "coap client: cannot open a session to " + impl->peer);
  impl->session.reset(s);

  impl->deadline = std::chrono::steady_clock::now() + c.timeout;
  if (c.security != Security::kNone) {
    Impl* p = impl.get();
    auto st = impl->Pump([p] {
      return p->handshake != Impl::Handshake::kPending ||
             coap_session_get_state(p->session.get()) == COAP_SESSION_STATE_ESTABLISHED;
    });
    if (!st) return Fail(st.error().WithContext("DTLS handshake"));
    if (impl->handshake == Impl::Handshake::kFailed)
      return Fail(ErrorCode::kVerifyFailed, "DTLS handshake with " + impl->peer + " refused");
    impl->server_identity = internal::IdentityOf(impl->session.get());
  }
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Result<Response> Client::Get(std::string_view path, std::string_view query) {
  return Send(Method::kGet, path, {}, std::nullopt, query);
}
Result<Response> Client::Get(std::string_view path, std::string_view query,
                             size_t max_response_body) {
  impl_->request_max_body = std::min(max_response_body, impl_->config.max_response_body);
  auto r = Send(Method::kGet, path, {}, std::nullopt, query);
  impl_->request_max_body.reset();
  return r;
}
Result<Response> Client::Post(std::string_view path, ByteView payload,
                              std::optional<uint16_t> content_format) {
  return Send(Method::kPost, path, payload, content_format);
}
Result<Response> Client::Put(std::string_view path, ByteView payload,
                             std::optional<uint16_t> content_format) {
  return Send(Method::kPut, path, payload, content_format);
}
Result<Response> Client::Delete(std::string_view path) { return Send(Method::kDelete, path); }

}  // namespace secprof::coap

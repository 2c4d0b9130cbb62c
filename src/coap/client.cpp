// secprof::coap::Client: one libcoap client context and session, driven synchronously.
#include <utility>

#include "internal.h"

namespace secprof::coap {

struct Client::Impl {
  ClientConfig config;
  std::unique_ptr<internal::PkiHolder> pki;
  PeerIdentity server_identity;
  std::string peer;  // "host:port" for messages

  enum class Handshake { kPending, kConnected, kFailed };
  Handshake handshake = Handshake::kPending;

  // The exchange in progress (one at a time).
  bool waiting = false;
  Bytes token;
  std::optional<Response> response;
  std::string failure;  // set when the exchange or the session failed
  ErrorCode failure_code = ErrorCode::kIo;
  // A block-wise response (RFC 7959 §2.4) being assembled: its first block's code and
  // Content-Format, the ETag it carries (§2.4: the blocks of one representation share it), and
  // the body so far.
  std::optional<Response> partial;
  Bytes partial_etag;
  // Deadline of the exchange; a new Block2 block moves it (ClientConfig::timeout).
  std::chrono::steady_clock::time_point deadline{};
  bool closed = false;  // the session was closed after an oversized response
  // The response body limit of the request in progress, when lower than the configured one
  // (Client::Get with a limit); unset: config.max_response_body.
  std::optional<size_t> request_max_body;

  // Members are destroyed in reverse order: the session is released before the context is freed.
  internal::ContextPtr ctx;
  internal::SessionPtr session;

  // Runs the I/O loop until `done()` or `deadline` (which the response handler may move on).
  template <class Done>
  Status Pump(Done done) {
    while (!done()) {
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return Fail(ErrorCode::kIo, "timed out talking to " + peer);
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
      auto slice = std::min<std::chrono::milliseconds>(left, std::chrono::milliseconds(50));
      if (coap_io_process(ctx.get(), static_cast<uint32_t>(std::max<int64_t>(slice.count(), 1))) <
          0)
        return Fail(ErrorCode::kIo, "coap_io_process failed");
    }
    return Ok();
  }
};

namespace {

Client::Impl* ImplOf(coap_session_t* s) {
  return static_cast<Client::Impl*>(coap_get_app_data(coap_session_get_context(s)));
}

void SetFailure(Client::Impl* impl, ErrorCode code, std::string why) {
  if (!impl->failure.empty()) return;
  impl->failure_code = code;
  impl->failure = std::move(why);
}

// coap_response_handler_t: a response (piggy-backed or separate, RFC 7252 §5.2).
//
// The client context runs COAP_BLOCK_USE_LIBCOAP without COAP_BLOCK_SINGLE_BODY: libcoap asks for
// each next Block2 block itself and hands every block here in order (duplicates of a block may
// come again; they are ignored). Assembling here instead of in libcoap lets the body limit act on
// Size2 and on each block as it arrives, before the body is in memory, and lets each block count
// as progress for the timeout.
coap_response_t OnResponse(coap_session_t* s, const coap_pdu_t*, const coap_pdu_t* received,
                           const coap_mid_t) {
  Client::Impl* impl = ImplOf(s);
  try {
    if (!impl || !impl->waiting || impl->response || !impl->failure.empty())
      return COAP_RESPONSE_OK;
    coap_bin_const_t tok = coap_pdu_get_token(received);
    if (tok.length != impl->token.size() ||
        !std::equal(tok.s, tok.s + tok.length, impl->token.begin()))
      return COAP_RESPONSE_OK;  // not ours (a late answer to an earlier request)
    const size_t max = impl->request_max_body.value_or(impl->config.max_response_body);
    size_t len = 0;
    const uint8_t* data = nullptr;
    if (!coap_get_data(received, &len, &data) || !data) len = 0;
    coap_opt_iterator_t it;
    coap_block_t block{};
    bool blockwise = coap_get_block(received, COAP_OPTION_BLOCK2, &block) != 0;
    if (!blockwise) {  // a whole response in one message
      if (len > max) {
        SetFailure(impl, ErrorCode::kLimit, "response body larger than max_response_body");
        return COAP_RESPONSE_OK;
      }
      Response r;
      r.code = static_cast<Code>(coap_pdu_get_code(received));
      if (coap_opt_t* o = coap_check_option(received, COAP_OPTION_CONTENT_FORMAT, &it)) {
        r.content_format =
            static_cast<uint16_t>(coap_decode_var_bytes(coap_opt_value(o), coap_opt_length(o)));
      }
      if (len) r.payload.assign(data, data + len);
      impl->response = std::move(r);
      return COAP_RESPONSE_OK;
    }
    // RFC 7959 §2.2: block NUM of size 2^(SZX+4) starts at NUM * size.
    size_t offset = static_cast<size_t>(block.num) << (block.szx + 4);
    if (coap_opt_t* o = coap_check_option(received, COAP_OPTION_SIZE2, &it)) {
      uint64_t size2 = coap_decode_var_bytes8(coap_opt_value(o), coap_opt_length(o));
      if (size2 > max) {
        SetFailure(impl, ErrorCode::kLimit,
                   "response body of " + std::to_string(size2) +
                       " bytes (Size2) larger than max_response_body (" + std::to_string(max) +
                       ")");
        return COAP_RESPONSE_OK;
      }
    }
    Bytes etag;
    if (coap_opt_t* o = coap_check_option(received, COAP_OPTION_ETAG, &it))
      etag.assign(coap_opt_value(o), coap_opt_value(o) + coap_opt_length(o));
    if (offset == 0 && (!impl->partial || etag != impl->partial_etag)) {
      // The first block, or the representation changed and libcoap started over (§2.4).
      Response r;
      r.code = static_cast<Code>(coap_pdu_get_code(received));
      if (coap_opt_t* o = coap_check_option(received, COAP_OPTION_CONTENT_FORMAT, &it)) {
        r.content_format =
            static_cast<uint16_t>(coap_decode_var_bytes(coap_opt_value(o), coap_opt_length(o)));
      }
      impl->partial = std::move(r);
      impl->partial_etag = std::move(etag);
    } else if (!impl->partial || etag != impl->partial_etag) {
      SetFailure(impl, ErrorCode::kIo,
                 "block-wise response: block " + std::to_string(block.num) +
                     " of another representation (ETag changed)");
      return COAP_RESPONSE_OK;
    }
    Bytes& body = impl->partial->payload;
    if (offset + len <= body.size()) return COAP_RESPONSE_OK;  // a block we already have
    if (offset != body.size()) {
      SetFailure(impl, ErrorCode::kIo,
                 "block-wise response: block " + std::to_string(block.num) + " out of order");
      return COAP_RESPONSE_OK;
    }
    if (len > max - std::min(max, body.size())) {
      SetFailure(impl, ErrorCode::kLimit,
                 "response body larger than max_response_body (" + std::to_string(max) + " bytes)");
      return COAP_RESPONSE_OK;
    }
    body.insert(body.end(), data, data + len);
    impl->deadline = std::chrono::steady_clock::now() + impl->config.timeout;  // progress
    if (!block.m) {
      impl->response = std::move(*impl->partial);
      impl->partial.reset();
    }
  } catch (...) {  // std::bad_alloc growing the body
    if (impl) SetFailure(impl, ErrorCode::kLimit, "out of memory assembling the response body");
  }
  return COAP_RESPONSE_OK;
}

// coap_release_large_data_t: libcoap is done with a request body it was lent.
void ReleaseBody(coap_session_t*, void* body) { delete static_cast<Bytes*>(body); }

// coap_nack_handler_t: a confirmable message that will get no answer.
void OnNack(coap_session_t* s, const coap_pdu_t*, const coap_nack_reason_t reason,
            const coap_mid_t) {
  Client::Impl* impl = ImplOf(s);
  if (!impl || !impl->waiting) return;
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
    case COAP_EVENT_XMIT_BLOCK_FAIL:  // libcoap gave up on a block-wise request body
    case COAP_EVENT_PARTIAL_BLOCK:    // or on the blocks of a response
      if (impl->waiting) SetFailure(impl, ErrorCode::kIo, "block-wise transfer failed");
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
  // RFC 7959 through libcoap: it sends Block1 bodies and fetches Block2 blocks; the blocks are
  // assembled in OnResponse (no COAP_BLOCK_SINGLE_BODY, see there). Set before the session.
  coap_context_set_block_mode(ctx, COAP_BLOCK_USE_LIBCOAP);
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

Result<Response> Client::Send(Method method, std::string_view path, ByteView payload,
                              std::optional<uint16_t> content_format, std::string_view query) {
  Impl& im = *impl_;
  if (im.closed)
    return Fail(ErrorCode::kIo, "the session to " + im.peer +
                                    " was closed after an oversized response; connect again");
  coap_session_t* s = im.session.get();
  if (im.handshake == Impl::Handshake::kFailed)
    return Fail(ErrorCode::kIo, "the DTLS session to " + im.peer + " is closed");
  if (payload.size() > internal::kMaxBlockwiseBody)
    return Fail(ErrorCode::kLimit, "coap client: request body of " +
                                       std::to_string(payload.size()) +
                                       " bytes beyond the RFC 7959 maximum");
  coap_pdu_t* pdu = coap_pdu_init(COAP_MESSAGE_CON, static_cast<coap_pdu_code_t>(method),
                                  coap_new_message_id(s), coap_session_max_pdu_size(s));
  if (!pdu) return Fail(ErrorCode::kInternal, "coap_pdu_init failed");
  uint8_t tok[8];
  size_t tok_len = 0;
  coap_session_new_token(s, &tok_len, tok);
  bool ok = coap_add_token(pdu, tok_len, tok) != 0;
  // Options in ascending number (RFC 7252 §3.1): Uri-Path 11, Content-Format 12, Uri-Query 15.
  auto add_segments = [&](std::string_view text, char sep, uint16_t option) {
    while (ok && !text.empty()) {
      auto pos = text.find(sep);
      std::string_view seg = text.substr(0, pos);
      ok = coap_add_option(pdu, option, seg.size(), reinterpret_cast<const uint8_t*>(seg.data()));
      if (pos == std::string_view::npos) break;
      text.remove_prefix(pos + 1);
    }
  };
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  add_segments(path, '/', COAP_OPTION_URI_PATH);
  if (ok && content_format) {
    uint8_t buf[4];
    ok = coap_add_option(pdu, COAP_OPTION_CONTENT_FORMAT,
                         coap_encode_var_safe(buf, sizeof buf, *content_format), buf) != 0;
  }
  add_segments(query, '&', COAP_OPTION_URI_QUERY);
  if (!ok) {
    coap_delete_pdu(pdu);
    return Fail(ErrorCode::kLimit, "coap client: request options do not fit one message");
  }
  // The payload goes last (libcoap: coap_add_data_large_request must be the final change). It
  // is lent to libcoap until the last Block1 block is acknowledged, which may be after Send has
  // given up (timeout), so libcoap gets its own heap copy and frees it with ReleaseBody.
  size_t blocks = 1;
  if (!payload.empty()) {
    std::unique_ptr<Bytes> body;
    try {
      body = std::make_unique<Bytes>(payload.begin(), payload.end());
    } catch (...) {
      coap_delete_pdu(pdu);
      return Fail(ErrorCode::kLimit, "coap client: no memory for a copy of the request body");
    }
    Bytes* lent = body.release();
    // On failure libcoap calls ReleaseBody itself.
    if (!coap_add_data_large_request(s, pdu, lent->size(), lent->data(), &ReleaseBody, lent)) {
      coap_delete_pdu(pdu);
      return Fail(ErrorCode::kInternal, "coap client: libcoap refused the request body");
    }
    blocks = (payload.size() + 1023) / 1024;
  }
  im.token.assign(tok, tok + tok_len);
  im.response.reset();
  im.partial.reset();
  im.partial_etag.clear();
  im.failure.clear();
  im.failure_code = ErrorCode::kIo;
  im.waiting = true;
  if (coap_send(s, pdu) == COAP_INVALID_MID) {  // coap_send owns pdu from here on
    im.waiting = false;
    return Fail(ErrorCode::kIo, "coap client: cannot send to " + im.peer);
  }
  // A Block1 upload shows no progress (libcoap 4.3.1 consumes the 2.31 answers), so it gets the
  // timeout once per block; a Block2 download moves the deadline with every block (OnResponse).
  im.deadline = std::chrono::steady_clock::now() +
                im.config.timeout * static_cast<std::chrono::milliseconds::rep>(blocks);
  auto st = im.Pump([&im] { return im.response.has_value() || !im.failure.empty(); });
  im.waiting = false;
  im.partial.reset();
  if (!st) return Fail(st.error());
  if (!im.response) {
    if (im.failure_code == ErrorCode::kLimit) {
      // libcoap 4.3.1 has no call to abandon a block-wise transfer: it would go on fetching the
      // remaining blocks whenever this client is pumped. Closing the session ends it.
      im.session.reset();
      im.closed = true;
    }
    return Fail(im.failure_code, im.peer + ": " + im.failure);
  }
  return std::move(*im.response);
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

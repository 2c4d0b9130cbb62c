// secprof::coap::Client::Send: one request as an exchange of messages (client_impl.h). libcoap
// sends each message (and retransmits it, RFC 7252 §4.2); this file decides what the messages
// are: a body too large for one message in Block1 blocks (RFC 7959 §2.5), a large response asked
// for block by block (Block2, RFC 7959 §2.4), and the repeat of a request answered 4.01 with an
// Echo option (RFC 9175 §2.4 item 3).
#include "client_impl.h"

namespace secprof::coap {

namespace {

// RFC 9175 §2.2.1: the Echo option value is opaque, 1 to 40 bytes.
constexpr size_t kMaxEchoSize = 40;

// What every message of one attempt of a request carries.
struct Outgoing {
  Method method = Method::kGet;
  std::string_view path, query;
  std::optional<uint16_t> content_format;
  const Bytes* echo = nullptr;  // RFC 9175 §2.4 item 3: the value of the 4.01 being answered
  Bytes request_tag;            // RFC 9175 §3.2: one per block-wise request body (Block1 only)
};

struct PduDeleter {
  void operator()(coap_pdu_t* p) const { coap_delete_pdu(p); }
};
using PduPtr = std::unique_ptr<coap_pdu_t, PduDeleter>;

// RFC 7959 §2.2: NUM << 4 | M << 3 | SZX.
uint64_t BlockValue(const internal::BlockOption& b) {
  return (uint64_t{b.num} << 4) | (b.more ? 8u : 0u) | b.szx;
}

// One request message with a new token (RFC 9175 §4.2: never one used before on this session):
// the options in ascending number (RFC 7252 §3.1), then `part` as payload. Block2 follow-ups
// (`block2` set) carry no Content-Format. nullptr when it does not fit the session's message
// size or libcoap cannot allocate it.
PduPtr Build(coap_session_t* s, const Outgoing& o, Bytes* token,
             std::optional<internal::BlockOption> block2,
             std::optional<internal::BlockOption> block1, size_t size1, ByteView part) {
  PduPtr pdu(coap_pdu_init(COAP_MESSAGE_CON, static_cast<coap_pdu_code_t>(o.method),
                           coap_new_message_id(s), coap_session_max_pdu_size(s)));
  if (!pdu) return nullptr;
  uint8_t tok[8];
  size_t tok_len = 0;
  coap_session_new_token(s, &tok_len, tok);
  bool ok = coap_add_token(pdu.get(), tok_len, tok) != 0;
  auto add = [&](uint16_t number, ByteView v) {
    if (ok) ok = coap_add_option(pdu.get(), number, v.size(), v.data()) != 0;
  };
  auto add_uint = [&](uint16_t number, uint64_t v) {
    uint8_t buf[8];
    add(number, ByteView(buf, coap_encode_var_safe8(buf, sizeof buf, v)));
  };
  auto add_segments = [&](std::string_view text, char sep, uint16_t option) {
    while (ok && !text.empty()) {
      auto pos = text.find(sep);
      std::string_view seg = text.substr(0, pos);
      add(option, ByteView(reinterpret_cast<const uint8_t*>(seg.data()), seg.size()));
      if (pos == std::string_view::npos) break;
      text.remove_prefix(pos + 1);
    }
  };
  std::string_view path = o.path;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  add_segments(path, '/', COAP_OPTION_URI_PATH);                                             // 11
  if (o.content_format && !block2) add_uint(COAP_OPTION_CONTENT_FORMAT, *o.content_format);  // 12
  add_segments(o.query, '&', COAP_OPTION_URI_QUERY);                                         // 15
  if (block2) add_uint(COAP_OPTION_BLOCK2, BlockValue(*block2));                             // 23
  if (block1) add_uint(COAP_OPTION_BLOCK1, BlockValue(*block1));                             // 27
  if (block1) add_uint(COAP_OPTION_SIZE1, size1);                                            // 60
  if (o.echo) add(COAP_OPTION_ECHO, *o.echo);                                                // 252
  if (block1) add(COAP_OPTION_RTAG, o.request_tag);                                          // 292
  if (ok && !part.empty()) ok = coap_add_data(pdu.get(), part.size(), part.data()) != 0;
  if (!ok) return nullptr;
  token->assign(tok, tok + tok_len);
  return pdu;
}

// Sends `pdu` (whose token is `token`) and waits up to ClientConfig::timeout for its answer.
Result<internal::Received> Transmit(Client::Impl& im, PduPtr pdu, const Bytes& token) {
  im.token = token;
  im.received.reset();
  im.failure.clear();
  im.failure_code = ErrorCode::kIo;
  im.waiting = true;
  if (coap_send(im.session.get(), pdu.release()) == COAP_INVALID_MID) {  // owns the PDU now
    im.waiting = false;
    return Fail(ErrorCode::kIo, "coap client: cannot send to " + im.peer);
  }
  im.deadline = std::chrono::steady_clock::now() + im.config.timeout;
  auto st = im.Pump([&im] { return im.received.has_value() || !im.failure.empty(); });
  im.waiting = false;
  if (!st) return Fail(st.error());
  if (!im.received) return Fail(im.failure_code, im.peer + ": " + im.failure);
  internal::Received r = std::move(*im.received);
  im.received.reset();
  return r;
}

Error TooLarge(const Client::Impl& im, std::string what, size_t max) {
  return Error(ErrorCode::kLimit, im.peer + ": " + what + " larger than max_response_body (" +
                                      std::to_string(max) + " bytes)");
}

// One attempt of a request: the body in one message or in Block1 blocks, then the response,
// whole or asked for block by block. A response body beyond `max` fails with kLimit at once
// (on Size2 or on the block that crosses it): no further block is asked for.
Result<internal::Received> Attempt(Client::Impl& im, const Outgoing& o, ByteView payload,
                                   size_t max) {
  coap_session_t* s = im.session.get();
  Bytes token;
  internal::Received r;
  if (PduPtr pdu = Build(s, o, &token, std::nullopt, std::nullopt, 0, payload)) {
    SECPROF_ASSIGN_OR_RETURN(r, Transmit(im, std::move(pdu), token));
  } else if (payload.empty()) {
    return Fail(ErrorCode::kLimit, "coap client: request options do not fit one message");
  } else {
    // RFC 7959 §2.5: Block1, in the largest block size that fits a message (SZX 6: 1024 bytes).
    unsigned szx = 6;
    size_t offset = 0;
    for (;;) {
      const size_t size = size_t{1} << (szx + 4);
      ByteView part = payload.subspan(offset, std::min(size, payload.size() - offset));
      const bool more = offset + part.size() < payload.size();
      const internal::BlockOption b1{static_cast<uint32_t>(offset >> (szx + 4)), more, szx};
      PduPtr pdu = Build(s, o, &token, std::nullopt, b1, payload.size(), part);
      if (!pdu) {
        if (offset != 0 || szx == 0)
          return Fail(ErrorCode::kLimit, "coap client: request options do not fit one message");
        --szx;  // a smaller block, before the first one goes out
        continue;
      }
      SECPROF_ASSIGN_OR_RETURN(r, Transmit(im, std::move(pdu), token));
      // The final answer, or a refusal on the way (4.13, 4.08, 5.03, 4.01 ...).
      if (!more || r.code != kContinue) break;
      // RFC 7959 §2.3: 2.31 acknowledges the block; a smaller SZX in it is the size the server
      // wants from now on (the block it acknowledged was taken whole).
      if (!r.block1)
        return Fail(ErrorCode::kIo, im.peer + ": 2.31 Continue without a Block1 option");
      offset += part.size();
      szx = std::min(szx, r.block1->szx);
    }
  }
  if (!r.block2) {
    if (r.payload.size() > max) return Fail(TooLarge(im, "response body", max));
    return r;
  }
  // RFC 7959 §2.4: the first block came; ask for each next one until one says no More.
  internal::Received whole;
  whole.code = r.code;
  whole.content_format = r.content_format;
  whole.has_etag = r.has_etag;
  whole.etag = r.etag;
  Outgoing follow_up = o;  // the same request without its body (RFC 7959 §2.4, §3.2)
  for (;;) {
    const internal::BlockOption& b2 = *r.block2;
    if (r.size2 && *r.size2 > max) {
      return Fail(
          TooLarge(im, "response body of " + std::to_string(*r.size2) + " bytes (Size2)", max));
    }
    // RFC 7959 §2.2: block NUM of size 2^(SZX+4) starts at NUM * size.
    const uint64_t at = uint64_t{b2.num} << (b2.szx + 4);
    if (at != whole.payload.size())
      return Fail(ErrorCode::kIo, im.peer + ": block-wise response: block " +
                                      std::to_string(b2.num) + " out of order");
    if (r.has_etag != whole.has_etag ||
        r.etag != whole.etag)  // §2.4: the blocks of one representation share the ETag
      return Fail(ErrorCode::kIo, im.peer + ": block-wise response: block " +
                                      std::to_string(b2.num) +
                                      " of another representation (ETag changed)");
    if (r.payload.size() > max - std::min(max, whole.payload.size()))
      return Fail(TooLarge(im, "response body", max));
    try {
      whole.payload.insert(whole.payload.end(), r.payload.begin(), r.payload.end());
    } catch (...) {  // std::bad_alloc growing the body
      return Fail(ErrorCode::kLimit, im.peer + ": out of memory assembling the response body");
    }
    if (!b2.more) return whole;
    PduPtr pdu = Build(s, follow_up, &token, internal::BlockOption{b2.num + 1, false, b2.szx},
                       std::nullopt, 0, {});
    if (!pdu) return Fail(ErrorCode::kInternal, "coap client: cannot build a Block2 request");
    SECPROF_ASSIGN_OR_RETURN(r, Transmit(im, std::move(pdu), token));
    if (!r.block2 || r.code != whole.code)
      return Fail(ErrorCode::kIo, im.peer + ": block-wise response: " + CodeString(r.code) +
                                      " answered block " + std::to_string(b2.num + 1));
  }
}

// A tag for the next block-wise request body: 1..8 bytes (RFC 9175 §3.2.1), from a counter.
Bytes NextRequestTag(uint64_t& counter) {
  uint8_t buf[8];
  const uint64_t v = ++counter;
  return Bytes(buf, buf + coap_encode_var_safe8(buf, sizeof buf, v));
}

}  // namespace

Result<Response> Client::Send(Method method, std::string_view path, ByteView payload,
                              std::optional<uint16_t> content_format, std::string_view query) {
  Impl& im = *impl_;
  if (im.handshake == Impl::Handshake::kFailed)
    return Fail(ErrorCode::kIo, "the DTLS session to " + im.peer + " is closed");
  if (payload.size() > internal::kMaxBlockwiseBody)
    return Fail(ErrorCode::kLimit, "coap client: request body of " +
                                       std::to_string(payload.size()) +
                                       " bytes beyond the RFC 7959 maximum");
  const size_t max = im.request_max_body.value_or(im.config.max_response_body);
  Outgoing o;
  o.method = method;
  o.path = path;
  o.query = query;
  o.content_format = content_format;
  o.request_tag = NextRequestTag(im.request_tags);
  SECPROF_ASSIGN_OR_RETURN(internal::Received r, Attempt(im, o, payload, max));
  // RFC 9175 §2.4 item 3: a 4.01 with an Echo option asks for the request again with that value.
  // Sent once, at once, with the value exactly as received (§2.2.1: 1..40 bytes; another length
  // is not an Echo the server could have made, and the 4.01 is the answer), with new tokens and
  // a new Request-Tag. Only that answer leads to a repeat, and the repeat's answer is final:
  // a second 4.01 is returned as it is.
  if (r.code == kUnauthorized && r.has_echo && !r.echo.empty() && r.echo.size() <= kMaxEchoSize) {
    const Bytes echo = std::move(r.echo);
    o.echo = &echo;
    o.request_tag = NextRequestTag(im.request_tags);
    SECPROF_ASSIGN_OR_RETURN(r, Attempt(im, o, payload, max));
  }
  return Response{
      .code = r.code, .content_format = r.content_format, .payload = std::move(r.payload)};
}

}  // namespace secprof::coap

// secprof::coap::Server: the method handler libcoap calls for every registered resource
// (server_impl.h): Block1 assembly under the body limit, the Echo check, the handler, the
// (block-wise) response.
#include "server_impl.h"

namespace secprof::coap::internal {

namespace {

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

}  // namespace

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

}  // namespace secprof::coap::internal

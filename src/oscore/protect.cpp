// Protecting and verifying requests and responses (RFC 8613 §8.1-§8.4). See context.h.
#include <string>

#include "context_state.h"
#include "secprof/oscore/errors.h"

namespace secprof::oscore {

namespace {

// The OSCORE option of `m`, decoded. kUnprotected when absent, kBadOption when repeated or
// malformed (§8.2 step 3: "fails to decode").
Result<OscoreOption> ReadOscoreOption(const Message& m) {
  const Option* found = nullptr;
  for (const auto& o : m.options) {
    if (o.number != opt::kOscore) continue;
    if (found) {
      return Fail(ErrorCode::kInvalidInput, kBadOption, "more than one OSCORE option");
    }
    found = &o;
  }
  if (!found) {
    return Fail(ErrorCode::kVerifyFailed, kUnprotected,
                "message without an OSCORE option (code " + std::to_string(m.code >> 5) + "." +
                    std::to_string(m.code & 0x1F) + "): not OSCORE-protected");
  }
  auto decoded = DecodeOscoreOption(found->value);
  if (!decoded) return Fail(decoded.error().WithReason(kBadOption));
  return decoded;
}

Result<Message> DecodeInner(ByteView plaintext) {
  auto inner = internal::DecodePlaintext(plaintext);
  if (!inner) {
    return Fail(inner.error().WithReason(kBadOption).WithContext("decrypted OSCORE plaintext"));
  }
  if (inner->Find(opt::kOscore) != nullptr) {
    return Fail(ErrorCode::kInvalidInput, kBadOption, "an Inner OSCORE option");
  }
  return inner;
}

tl::unexpected<Error> DecryptionFailed(const char* what) {
  return Fail(ErrorCode::kVerifyFailed, kDecryptionFailed,
              std::string("OSCORE ") + what + ": decryption failed (RFC 8613 §8.2 step 7)");
}

Result<Bytes> SealInto(crypto::AeadKey& key, ByteView nonce, ByteView aad, ByteView plaintext) {
  Bytes out(plaintext.size() + key.aead().tag_size());
  SECPROF_ASSIGN_OR_RETURN(size_t n, key.SealInto(nonce, aad, plaintext, out));
  out.resize(n);
  return out;
}

// Opens into the context's scratch buffer (no allocation per message); the view is valid until
// the buffer is next used.
Result<ByteView> OpenInto(crypto::AeadKey& key, ByteView nonce, ByteView aad, ByteView ct,
                          Bytes& scratch) {
  if (ct.size() < key.aead().tag_size()) {
    return Fail(ErrorCode::kVerifyFailed, "shorter than the AEAD tag");
  }
  scratch.resize(ct.size() - key.aead().tag_size());
  SECPROF_ASSIGN_OR_RETURN(size_t n, key.OpenInto(nonce, aad, ct, scratch));
  return ByteView(scratch.data(), n);
}

}  // namespace

Result<ProtectedRequest> SecurityContext::ProtectRequest(const Message& request,
                                                         std::span<const Option> outer_extra) {
  if (!IsRequestCode(request.code)) {
    return Fail(ErrorCode::kInvalidInput, "ProtectRequest: the code is not a request code");
  }
  ProtectedRequest out;
  Message inner{.code = request.code};
  SECPROF_TRY(internal::SplitOptions(request, outer_extra, inner, out.message));
  bool observe = inner.Find(opt::kObserve) != nullptr;

  SECPROF_ASSIGN_OR_RETURN(uint64_t seq, NextSequenceNumber());  // §8.1 step 3
  Bytes piv = PartialIvFromSequence(seq);
  OscoreOption o{.partial_iv = piv, .kid = s_->sender_id};
  if (s_->send_kid_context && s_->id_context) o.kid_context = s_->id_context;
  SECPROF_ASSIGN_OR_RETURN(Bytes option, EncodeOscoreOption(o));

  Bytes nonce = internal::BuildNonce(s_->common_iv, s_->sender_id, piv);  // §5.2
  internal::BuildAad(s_->alg, s_->sender_id, piv, s_->aad);               // §5.4
  internal::EncodePlaintext(inner, request.payload, s_->plaintext);       // §5.3
  SECPROF_ASSIGN_OR_RETURN(out.message.payload,
                           SealInto(s_->sender, nonce, s_->aad, s_->plaintext));
  out.message.code = observe ? code::kFetch : code::kPost;  // §4.2
  out.message.Add(opt::kOscore, option);
  out.pending = PendingRequest{.request_kid = s_->sender_id,
                               .request_piv = std::move(piv),
                               .request_nonce = std::move(nonce),
                               .observe = observe};
  return out;
}

Result<IncomingRequest> SecurityContext::UnprotectRequest(const Message& request) {
  SECPROF_ASSIGN_OR_RETURN(OscoreOption o, ReadOscoreOption(request));
  if (!o.partial_iv || !o.kid) {  // §5.1, §6.1: a request carries both
    return Fail(ErrorCode::kInvalidInput, kBadOption, "OSCORE request without kid or Partial IV");
  }
  if (*o.kid != s_->recipient_id || (o.kid_context && o.kid_context != s_->id_context)) {
    return Fail(ErrorCode::kNotFound, kContextNotFound,
                "OSCORE: security context not found for this kid / kid context");
  }
  uint64_t seq = GetBigN(*o.partial_iv, o.partial_iv->size());
  if (s_->window.initialised() && !s_->window.Accepts(seq)) {  // §8.2 step 4, §7.4
    return Fail(ErrorCode::kVerifyFailed, kReplayDetected,
                "OSCORE: replay detected (sequence number " + std::to_string(seq) + ")");
  }
  Bytes nonce = internal::BuildNonce(s_->common_iv, *o.kid, *o.partial_iv);
  internal::BuildAad(s_->alg, *o.kid, *o.partial_iv, s_->aad);
  auto pt = OpenInto(s_->recipient, nonce, s_->aad, request.payload, s_->plaintext);
  if (!pt) return DecryptionFailed("request");
  SECPROF_ASSIGN_OR_RETURN(Message inner, DecodeInner(*pt));
  if (!IsRequestCode(inner.code)) {
    return Fail(ErrorCode::kInvalidInput, kBadOption, "OSCORE request with an inner response code");
  }

  IncomingRequest r;
  r.binding_ = RequestBinding{.request_kid = std::move(*o.kid),
                              .request_piv = std::move(*o.partial_iv),
                              .request_nonce = std::move(nonce),
                              .must_use_own_piv = !s_->window.initialised()};
  r.seq_ = seq;
  r.context_ = this;
  if (!s_->window.initialised()) {  // Appendix B.1.2: freshness first
    r.state_ = RequestState::kEchoRequired;
    if (const Option* echo = inner.Find(opt::kEcho)) r.echo_ = echo->value;
    r.withheld_ = internal::MergeReceived(std::move(inner), request);
    return r;
  }
  s_->window.Mark(seq);  // §8.2 step 7: only after decryption succeeded
  r.message_ = internal::MergeReceived(std::move(inner), request);
  return r;
}

Result<Message> SecurityContext::ConfirmFreshness(IncomingRequest& r) {
  if (r.context_ != this || r.state_ != RequestState::kEchoRequired) {
    return Fail(ErrorCode::kInvalidInput,
                "ConfirmFreshness: not a request of this context waiting for Echo");
  }
  if (s_->window.initialised()) {
    if (!s_->window.Accepts(r.seq_)) {
      return Fail(ErrorCode::kVerifyFailed, kReplayDetected,
                  "OSCORE: replay detected (sequence number " + std::to_string(r.seq_) + ")");
    }
    s_->window.Mark(r.seq_);
  } else {
    s_->window.InitialiseAt(r.seq_);
  }
  r.state_ = RequestState::kAccepted;
  r.binding_.must_use_own_piv = false;
  r.message_ = std::move(r.withheld_);
  r.withheld_ = Message{};
  return r.message_;
}

Result<Message> SecurityContext::ProtectResponse(const RequestBinding& binding,
                                                 const Message& response, ResponseNonce nonce_mode,
                                                 std::span<const Option> outer_extra) {
  if (response.code == code::kEmpty || IsRequestCode(response.code)) {
    return Fail(ErrorCode::kInvalidInput, "ProtectResponse: the code is not a response code");
  }
  Message outer;
  Message inner{.code = response.code};
  SECPROF_TRY(internal::SplitOptions(response, outer_extra, inner, outer));

  OscoreOption o;
  Bytes nonce;
  bool notification = inner.Find(opt::kObserve) != nullptr;
  if (nonce_mode == ResponseNonce::kOwnPartialIv || binding.must_use_own_piv || notification) {
    SECPROF_ASSIGN_OR_RETURN(uint64_t seq, NextSequenceNumber());
    o.partial_iv = PartialIvFromSequence(seq);
    nonce = internal::BuildNonce(s_->common_iv, s_->sender_id, *o.partial_iv);  // §5.2
  } else {
    nonce = binding.request_nonce;  // §8.3 step 4: the request's nonce
  }
  SECPROF_ASSIGN_OR_RETURN(Bytes option, EncodeOscoreOption(o));
  internal::BuildAad(s_->alg, binding.request_kid, binding.request_piv, s_->aad);
  internal::EncodePlaintext(inner, response.payload, s_->plaintext);
  SECPROF_ASSIGN_OR_RETURN(outer.payload, SealInto(s_->sender, nonce, s_->aad, s_->plaintext));
  outer.code = notification ? code::kContent : code::kChanged;  // §4.2
  outer.Add(opt::kOscore, option);
  return outer;
}

Result<Message> SecurityContext::UnprotectResponse(PendingRequest& pending,
                                                   const Message& response) {
  if (pending.answered && !pending.observe) {  // §7.4: one response per request
    return Fail(ErrorCode::kVerifyFailed, kReplayDetected,
                "OSCORE: a second response to a request already answered");
  }
  auto o = ReadOscoreOption(response);
  if (!o) {
    if (!o.error().Is(kUnprotected)) return Fail(o.error());
    std::string diag(response.payload.begin(), response.payload.end());
    return Fail(ErrorCode::kVerifyFailed, kUnprotected,
                o.error().message() + (diag.empty() ? "" : " \"" + diag + "\""));
  }
  Bytes nonce = o->partial_iv
                    ? internal::BuildNonce(s_->common_iv, s_->recipient_id, *o->partial_iv)
                    : pending.request_nonce;
  internal::BuildAad(s_->alg, pending.request_kid, pending.request_piv, s_->aad);
  auto pt = OpenInto(s_->recipient, nonce, s_->aad, response.payload, s_->plaintext);
  if (!pt) return DecryptionFailed("response");
  SECPROF_ASSIGN_OR_RETURN(Message inner, DecodeInner(*pt));
  if (inner.code == code::kEmpty || IsRequestCode(inner.code)) {
    return Fail(ErrorCode::kInvalidInput, kBadOption, "OSCORE response with an inner request code");
  }
  if (pending.observe && inner.Find(opt::kObserve) != nullptr) {  // §7.4.1 notifications
    if (!o->partial_iv) {
      return Fail(ErrorCode::kInvalidInput, kBadOption, "OSCORE notification without Partial IV");
    }
    uint64_t number = GetBigN(*o->partial_iv, o->partial_iv->size());
    if (pending.notification_number && number <= *pending.notification_number) {
      return Fail(ErrorCode::kVerifyFailed, kReplayDetected,
                  "OSCORE: a notification older than the newest one accepted (RFC 8613 §7.4.1)");
    }
    pending.notification_number = number;
  }
  pending.answered = true;
  return internal::MergeReceived(std::move(inner), response);
}

}  // namespace secprof::oscore

// Security context derivation (RFC 8613 §3.2), creation, sequence numbers (§7.2.1, Appendix
// B.1.1) and the error answers of §8.2. Protection itself is in protect.cpp.
#include <string>

#include "context_state.h"
#include "secprof/cbor/cbor.h"
#include "secprof/crypto/hash.h"
#include "secprof/oscore/errors.h"

namespace secprof::oscore {

namespace {

// §3.2.1: info = [id: bstr, id_context: bstr / nil, alg_aead: int / tstr, type: tstr, L: uint].
Result<crypto::SecureBuffer> Expand(const ContextParams& p, ByteView id, const char* type,
                                    size_t length) {
  cbor::Value info = cbor::Value::MakeArray({
      cbor::Value::ByteString(id),
      p.id_context ? cbor::Value::ByteString(*p.id_context) : cbor::Value::Null(),
      cbor::Value::Int(p.aead_alg),
      cbor::Value::Text(type),
      cbor::Value::Unsigned(length),
  });
  return crypto::HkdfSha256(p.master_secret, p.master_salt, cbor::Encode(info), length);
}

}  // namespace

Result<DerivedMaterial> DeriveContext(const ContextParams& p) {
  SECPROF_ASSIGN_OR_RETURN(crypto::Aead aead, crypto::Aead::FromCoseAlgorithm(p.aead_alg));
  if (p.master_secret.empty()) {
    return Fail(ErrorCode::kInvalidInput, "OSCORE Master Secret is empty (RFC 8613 §3.2)");
  }
  size_t max_id = aead.nonce_size() - 6;  // §3.3
  if (p.sender_id.size() > max_id || p.recipient_id.size() > max_id) {
    return Fail(ErrorCode::kInvalidInput, "OSCORE Sender/Recipient ID longer than " +
                                              std::to_string(max_id) + " bytes (RFC 8613 §3.3)");
  }
  if (p.sender_id == p.recipient_id) {
    return Fail(ErrorCode::kInvalidInput, "OSCORE Sender ID equals Recipient ID (RFC 8613 §3.3)");
  }
  if (p.id_context && p.id_context->size() > 255) {
    return Fail(ErrorCode::kInvalidInput, "OSCORE ID Context longer than 255 bytes (§6.1)");
  }
  DerivedMaterial m;
  SECPROF_ASSIGN_OR_RETURN(m.sender_key, Expand(p, p.sender_id, "Key", aead.key_size()));
  SECPROF_ASSIGN_OR_RETURN(m.recipient_key, Expand(p, p.recipient_id, "Key", aead.key_size()));
  SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer iv, Expand(p, {}, "IV", aead.nonce_size()));
  m.common_iv.assign(iv.begin(), iv.end());
  return m;
}

Result<SecurityContext> SecurityContext::Create(const ContextParams& params,
                                                const ContextOptions& options) {
  if (options.sequence_store == nullptr || options.persist_interval == 0) {
    return Fail(ErrorCode::kInvalidInput,
                "an OSCORE context needs a sequence store and a persist interval >= 1");
  }
  SECPROF_ASSIGN_OR_RETURN(DerivedMaterial m, DeriveContext(params));
  SECPROF_ASSIGN_OR_RETURN(crypto::Aead aead, crypto::Aead::FromCoseAlgorithm(params.aead_alg));
  SECPROF_ASSIGN_OR_RETURN(crypto::AeadKey sender, crypto::AeadKey::Create(aead, m.sender_key));
  SECPROF_ASSIGN_OR_RETURN(crypto::AeadKey recipient,
                           crypto::AeadKey::Create(aead, m.recipient_key));
  SECPROF_ASSIGN_OR_RETURN(std::optional<uint64_t> bound, options.sequence_store->Load());

  auto s = std::make_unique<State>(State{
      .sender = std::move(sender),
      .recipient = std::move(recipient),
      .alg = params.aead_alg,
      .sender_id = params.sender_id,
      .recipient_id = params.recipient_id,
      .id_context = params.id_context,
      .common_iv = std::move(m.common_iv),
      .store = options.sequence_store,
      .persist_interval = options.persist_interval,
      .window = ReplayWindow(options.replay_window),
      .send_kid_context = options.send_kid_context,
  });
  if (options.start == Start::kNew) {
    if (bound) {
      return Fail(ErrorCode::kConflict,
                  "a sequence number bound is already stored for this OSCORE context: resume it "
                  "(Start::kResumed) or provision a new context");
    }
  } else {
    if (!bound) {
      return Fail(ErrorCode::kNotFound,
                  "no stored sequence number bound to resume this OSCORE context from "
                  "(RFC 8613 Appendix B.1.1): refusing to guess");
    }
    s->next_seq = *bound;
    s->bound = *bound;
    s->window = ReplayWindow::Uninitialised(options.replay_window);  // Appendix B.1.2
  }
  return SecurityContext(std::move(s));
}

SecurityContext::SecurityContext(std::unique_ptr<State> s) : s_(std::move(s)) {}
SecurityContext::SecurityContext(SecurityContext&&) noexcept = default;
SecurityContext& SecurityContext::operator=(SecurityContext&&) noexcept = default;
SecurityContext::~SecurityContext() = default;

const Bytes& SecurityContext::sender_id() const { return s_->sender_id; }
const Bytes& SecurityContext::recipient_id() const { return s_->recipient_id; }
const std::optional<Bytes>& SecurityContext::id_context() const { return s_->id_context; }
uint64_t SecurityContext::next_sequence_number() const { return s_->next_seq; }
bool SecurityContext::replay_window_initialised() const { return s_->window.initialised(); }

// §7.2.1 and Appendix B.1.1: the bound is saved before the first number at or above it is used.
Result<uint64_t> SecurityContext::NextSequenceNumber() {
  if (s_->next_seq > kMaxSequenceNumber) {
    return Fail(ErrorCode::kLimit, kSequenceExhausted,
                "OSCORE sender sequence numbers exhausted (2^40, RFC 8613 §7.2.1): a new "
                "security context is needed");
  }
  if (s_->next_seq >= s_->bound) {
    uint64_t room = kMaxSequenceNumber + 1 - s_->next_seq;
    uint64_t next_bound = s_->next_seq + std::min(s_->persist_interval, room);
    SECPROF_TRY(s_->store->Save(next_bound));
    s_->bound = next_bound;
  }
  return s_->next_seq++;
}

Message ErrorResponse(const Error& e) {
  Message m;
  std::string_view diagnostic;
  if (e.Is(kBadOption)) {
    m.code = code::kBadOption;
    diagnostic = "Failed to decode COSE";
  } else if (e.Is(kContextNotFound)) {
    m.code = code::kUnauthorized;
    diagnostic = "Security context not found";
  } else if (e.Is(kReplayDetected)) {
    m.code = code::kUnauthorized;
    diagnostic = "Replay detected";
  } else if (e.Is(kDecryptionFailed)) {
    m.code = code::kBadRequest;
    diagnostic = "Decryption failed";
  } else {
    m.code = code::kInternalServerError;
  }
  m.AddUint(opt::kMaxAge, 0);  // §8.2: "MAY set an Outer Max-Age option with value zero"
  m.payload.assign(diagnostic.begin(), diagnostic.end());
  return m;
}

Message EchoChallenge(ByteView echo_value) {
  Message m{.code = code::kUnauthorized};
  m.Add(opt::kEcho, echo_value);
  return m;
}

}  // namespace secprof::oscore

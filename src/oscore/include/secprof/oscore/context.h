// secprof/oscore/context.h — an OSCORE security context (RFC 8613 §3) and the protection of
// requests and responses with it (§5, §8).
//
// Derivation (§3.2.1): HKDF-SHA-256 with salt = Master Salt and IKM = Master Secret, info the CBOR
// array [id, id_context, alg_aead, type, L]: the Sender Key with id = Sender ID, the Recipient Key
// with id = Recipient ID, both type "Key" and L = the AEAD's key size; the Common IV with id = h''
// , type "IV" and L = its nonce size. The keys go straight into two crypto::AeadKey objects (the
// AES key schedule is computed once per context, not per message) and are not kept otherwise.
//
// Client:                                           Server:
//   auto p = ctx.ProtectRequest(req);                 auto in = table.UnprotectRequest(wire_msg);
//   send(p->message) ... receive(resp)                if (!in) answer(ErrorResponse(in.error()));
//   auto r = ctx.UnprotectResponse(p->pending, resp); if (in->state() == kEchoRequired) ...
//                                                     handle(in->message()) -> answer
//                                                     ctx->ProtectResponse(in->binding(), answer)
//
// Messages are this module's Message (message.h): the caller's CoAP stack carries the token and
// message ID, which OSCORE does not protect (§4.2; the token binds a response to its request at
// the CoAP layer, the AAD binds it cryptographically).
//
// Option processing (§4.1): Class E options go into the plaintext; Class U options (Uri-Host,
// Uri-Port, Proxy-Scheme) stay outside; Proxy-Uri is split (§4.1.3.3): its path and query go
// inside as Uri-Path/Uri-Query, an Outer Proxy-Uri of scheme and authority stays outside. Class
// E+U options (Observe, Max-Age, Block1/2, Size1/2, No-Response) in the message go inside; the
// Outer copies a proxy needs are the caller's (`outer` argument), except Observe, which is
// copied outside with the same value (§4.1.3.5). Class I: none is defined (§4.1.2), so the AAD's
// option field is empty. The Outer code is POST (FETCH with Observe) for requests, 2.04 Changed
// (2.05 Content with Observe) for responses (§4.2).
//
// On the receiving side (§8.2, §8.4) the Outer Class E options are discarded, Inner E+U options
// replace Outer ones with the same number, Outer Class U options are kept, the OSCORE option is
// removed.
//
// Not thread-safe: one thread at a time per context (it holds two AeadKeys and counters).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "secprof/core/result.h"
#include "secprof/crypto/aead.h"
#include "secprof/crypto/secure_buffer.h"
#include "secprof/oscore/message.h"
#include "secprof/oscore/option.h"
#include "secprof/oscore/replay_window.h"
#include "secprof/oscore/sequence_store.h"

namespace secprof::oscore {

// The input parameters of a security context (§3.2).
struct ContextParams {
  ByteView master_secret{};           // non-empty
  Bytes master_salt{};                // default: the empty byte string (§3.2)
  Bytes sender_id{};                  // 0 .. nonce size - 6 bytes (§3.3: 7 for AES-CCM-16-64-128)
  Bytes recipient_id{};               // same bounds, != sender_id (§3.3)
  std::optional<Bytes> id_context{};  // absent: nil in the info array; at most 255 bytes (§6.1)
  int64_t aead_alg = crypto::kCoseAesCcm16_64_128;  // the mandatory algorithm (§3.2.1)
};

// The derived material (§3.2.1), for tests against RFC 8613 Appendix C.
struct DerivedMaterial {
  crypto::SecureBuffer sender_key;
  crypto::SecureBuffer recipient_key;
  Bytes common_iv;
};
// kInvalidInput for the parameter violations listed in ContextParams; kUnsupported for an AEAD
// algorithm crypto::Aead does not know.
Result<DerivedMaterial> DeriveContext(const ContextParams& params);

// How the context starts (Appendix B.1).
enum class Start {
  // A context just provisioned: sequence numbers from 0, an empty, initialised replay window.
  // kConflict when the SequenceStore already holds a bound (the context was used before).
  kNew,
  // After a reboot: the sender resumes at the persisted bound (kNotFound when none is stored: it
  // will not guess), and the replay window is uninitialised until a request is shown fresh with
  // Echo (Appendix B.1.2).
  kResumed,
};

struct ContextOptions {
  SequenceStore* sequence_store = nullptr;  // required; must outlive the context
  uint64_t persist_interval = 32;           // K of Appendix B.1.1 (>= 1)
  size_t replay_window = ReplayWindow::kMinSize;
  Start start = Start::kNew;
  // Send the kid context in requests when the context has an ID Context (§5.1, Appendix C.6).
  bool send_kid_context = true;
};

// What a client keeps between a request and its response (§8.3, §8.4: the response's AAD uses
// the request's kid and Partial IV, and its nonce when it carries no Partial IV).
struct PendingRequest {
  Bytes request_kid{};
  Bytes request_piv{};
  Bytes request_nonce{};
  bool observe = false;   // notifications may follow (each with its own Partial IV)
  bool answered = false;  // set once a response was accepted (non-Observe: only one, §7.4)
  // §7.4.1: the Partial IV of the newest notification accepted; an older or equal one is refused.
  std::optional<uint64_t> notification_number{};
};

// What a server keeps to protect the response to a verified request.
struct RequestBinding {
  Bytes request_kid{};
  Bytes request_piv{};
  Bytes request_nonce{};
  // The request was not (yet) shown to be no replay (Appendix B.1.2): the response must carry
  // the server's own Partial IV, never reuse the request's nonce.
  bool must_use_own_piv = false;
};

enum class RequestState {
  kAccepted,      // decrypted, and new by the replay window: process message()
  kEchoRequired,  // decrypted, but the replay window is not initialised (after a reboot,
                  // Appendix B.1.2): do NOT process it; answer 4.01 Unauthorized with an Echo
                  // option (RFC 9175 §2.4; EchoChallenge), protected with ProtectResponse; when a
                  // request carries a valid Echo (echo()), call ConfirmFreshness.
};

class SecurityContext;

// A request that passed §8.2. message() is the decrypted request: inner code, inner options and
// the Outer Class U options; REQUIRES state() == kAccepted (empty otherwise).
class IncomingRequest {
 public:
  RequestState state() const { return state_; }
  const Message& message() const { return message_; }
  const RequestBinding& binding() const { return binding_; }
  uint64_t sequence_number() const { return seq_; }
  // kEchoRequired: the value of the request's Inner Echo option, if it carried one.
  const std::optional<Bytes>& echo() const { return echo_; }
  // The context that verified it (owned by the caller or a ContextTable).
  SecurityContext* context() const { return context_; }

 private:
  friend class SecurityContext;
  RequestState state_ = RequestState::kAccepted;
  Message message_{};
  Message withheld_{};  // kEchoRequired: released by ConfirmFreshness
  RequestBinding binding_{};
  uint64_t seq_ = 0;
  std::optional<Bytes> echo_{};
  SecurityContext* context_ = nullptr;
};

struct ProtectedRequest {
  Message message;  // to send: Outer code and options, OSCORE option, ciphertext as payload
  PendingRequest pending;
};

// Whether a response carries the server's own Partial IV (§8.3; Appendix C.8) or reuses the
// request's nonce (Appendix C.7).
enum class ResponseNonce { kRequest, kOwnPartialIv };

class SecurityContext {
 public:
  // Derives the context and loads the sequence bound. Errors: those of DeriveContext;
  // kInvalidInput without a sequence store or with persist_interval 0; the Start errors above.
  static Result<SecurityContext> Create(const ContextParams& params, const ContextOptions& options);

  SecurityContext(SecurityContext&&) noexcept;
  SecurityContext& operator=(SecurityContext&&) noexcept;
  ~SecurityContext();

  const Bytes& sender_id() const;
  const Bytes& recipient_id() const;
  const std::optional<Bytes>& id_context() const;
  // The next sender sequence number this context will use.
  uint64_t next_sequence_number() const;
  bool replay_window_initialised() const;

  // Client, §8.1. `outer`: extra Outer options (Class U or E+U only: an Outer Block, Max-Age);
  // kInvalidInput for a Class E or OSCORE option there, a message that is no request, a Proxy-Uri
  // that does not parse, or a message already carrying an OSCORE option. kLimit with reason
  // kSequenceExhausted after 2^40 requests (§7.2.1: a new context is needed). An error of the
  // sequence store is returned as is, and no message is produced.
  Result<ProtectedRequest> ProtectRequest(const Message& request,
                                          std::span<const Option> outer = {});

  // Server, §8.2, for a request whose kid (and kid context, if present) name this context
  // (ContextTable finds it). Errors, each with its reason (errors.h) and no state change:
  // kBadOption, kContextNotFound (the kid or kid context do not name this context),
  // kReplayDetected, kDecryptionFailed. On success the replay window records the number (unless
  // kEchoRequired).
  Result<IncomingRequest> UnprotectRequest(const Message& request);
  // Appendix B.1.2: the caller has verified r.echo() (a fresh Echo value it issued). Initialises
  // the replay window at r's sequence number, makes r kAccepted and returns its message.
  // kInvalidInput when r is not kEchoRequired or was verified by another context; kReplayDetected
  // when the window was initialised meanwhile and no longer accepts r's number.
  Result<Message> ConfirmFreshness(IncomingRequest& r);

  // Server, §8.3. Uses the server's own Partial IV when `nonce` says so, when the binding
  // requires it, or for an Observe notification (a response with Observe, §8.3). `outer` as for
  // ProtectRequest. kInvalidInput for a request code or an OSCORE option.
  Result<Message> ProtectResponse(const RequestBinding& binding, const Message& response,
                                  ResponseNonce nonce = ResponseNonce::kRequest,
                                  std::span<const Option> outer = {});

  // Client, §8.4. Errors, with no change to `pending` : kUnprotected (no OSCORE option: e.g. a
  // server's plain 4.01 error, whose code and diagnostic are in the message), kBadOption,
  // kDecryptionFailed, kReplayDetected (a second response to a non-Observe request, or a
  // notification whose Partial IV is not above the newest accepted one, §7.4.1); a notification
  // without a Partial IV is kBadOption.
  Result<Message> UnprotectResponse(PendingRequest& pending, const Message& response);

  struct State;

 private:
  explicit SecurityContext(std::unique_ptr<State> s);
  Result<uint64_t> NextSequenceNumber();
  std::unique_ptr<State> s_;
};

// The unprotected answer to a request refused by §8.2 (RFC 8613 §7.4, §8.2): 4.02 "Failed to
// decode COSE" for kBadOption, 4.01 "Security context not found", 4.01 "Replay detected",
// 4.00 "Decryption failed"; anything else 5.00 with no diagnostic. Each with an Outer Max-Age 0
// (§8.2: so that no proxy caches it) and the diagnostic as text payload (RFC 7252 §5.5.2).
Message ErrorResponse(const Error& e);

// The 4.01 Unauthorized with an Echo option (RFC 9175 §2.4 item 2) to protect with
// ProtectResponse(r.binding(), EchoChallenge(value)) when a request is kEchoRequired.
Message EchoChallenge(ByteView echo_value);

}  // namespace secprof::oscore

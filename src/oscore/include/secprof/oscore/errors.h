// secprof/oscore/errors.h — the refusals of the oscore module, as stable reasons (docs/ERRORS.md,
// docs/OSCORE.md). The first four are the errors of RFC 8613 §8.2 / §7.4; ErrorResponse
// (context.h) maps them to the RFC's response codes and diagnostics.
#pragma once

#include "secprof/core/result.h"

namespace secprof::oscore {

// 4.02 Bad Option "Failed to decode COSE" (§8.2 step 3): the OSCORE option or the decrypted
// plaintext does not decode, or a request lacks its kid or Partial IV. kInvalidInput.
inline constexpr Reason kBadOption{"oscore-bad-option"};
// 4.01 Unauthorized "Security context not found" (§8.2 step 3): no context for the kid, or the
// kid context does not match. kNotFound.
inline constexpr Reason kContextNotFound{"oscore-context-not-found"};
// 4.00 Bad Request "Decryption failed" (§8.2 step 7, §8.4 step 6): the AEAD tag does not verify.
// kVerifyFailed.
inline constexpr Reason kDecryptionFailed{"oscore-decryption-failed"};
// 4.01 Unauthorized "Replay detected" (§7.4): the Partial IV was seen or is older than the
// window; or a second response to one non-Observe request. kVerifyFailed.
inline constexpr Reason kReplayDetected{"oscore-replay"};
// The sender sequence number would pass 2^40 - 1 (§7.2.1): the context must be replaced. kLimit.
inline constexpr Reason kSequenceExhausted{"oscore-sequence-exhausted"};
// A message that should be OSCORE-protected carries no OSCORE option (a server's plain error
// answer, or a downgrade by an on-path attacker). kVerifyFailed.
inline constexpr Reason kUnprotected{"oscore-unprotected"};

}  // namespace secprof::oscore

// The state behind a SecurityContext (internal to the module).
#pragma once

#include <optional>

#include "internal.h"
#include "secprof/crypto/aead.h"
#include "secprof/oscore/context.h"

namespace secprof::oscore {

struct SecurityContext::State {
  crypto::AeadKey sender;     // Sender Key, keyed once (§3.2.1)
  crypto::AeadKey recipient;  // Recipient Key
  int64_t alg = crypto::kCoseAesCcm16_64_128;
  Bytes sender_id;
  Bytes recipient_id;
  std::optional<Bytes> id_context;
  Bytes common_iv;
  SequenceStore* store = nullptr;
  uint64_t persist_interval = 32;
  ReplayWindow window;
  bool send_kid_context = true;
  uint64_t next_seq = 0;  // §7.2.1 Sender Sequence Number
  uint64_t bound = 0;     // persisted: no number >= bound was used (Appendix B.1.1)
  // Scratch buffers reused across messages (a context is used by one thread at a time).
  Bytes aad{};
  Bytes plaintext{};
};

}  // namespace secprof::oscore

// secprof/oscore/oscore.h — the public API of the oscore module (RFC 8613), and the server's
// table of security contexts.
//
//   message.h         the CoAP message model (code, options, payload) and RFC 7252 §3 codecs
//   option.h          the OSCORE option value (§6.1), option classes E / U / E+U (§4.1)
//   context.h         context derivation (§3.2), protect / unprotect (§5, §8), ErrorResponse
//   replay_window.h   the replay window (§7.4), uninitialised after a reboot (Appendix B.1.2)
//   sequence_store.h  sequence-number bounds persisted every K messages (Appendix B.1.1)
//   errors.h          the refusals as stable reasons
//
// docs/OSCORE.md describes the module, what it implements and what it does not.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "secprof/oscore/context.h"
#include "secprof/oscore/errors.h"
#include "secprof/oscore/message.h"
#include "secprof/oscore/option.h"
#include "secprof/oscore/replay_window.h"
#include "secprof/oscore/sequence_store.h"

namespace secprof::oscore {

// A server's security contexts, found by the request's kid and kid context (§8.2 step 3).
class ContextTable {
 public:
  // kConflict when a context with the same Recipient ID and ID Context is already there.
  Status Add(SecurityContext context);
  // The context whose Recipient ID is `kid` and, when `kid_context` is given, whose ID Context is
  // equal to it; nullptr when none. The pointer stays valid while the table lives.
  SecurityContext* Find(ByteView kid, const std::optional<Bytes>& kid_context);
  // §8.2: finds the context from the OSCORE option and verifies the request with it. Errors as
  // SecurityContext::UnprotectRequest; kContextNotFound when no context matches.
  Result<IncomingRequest> UnprotectRequest(const Message& request);
  size_t size() const { return contexts_.size(); }

 private:
  std::vector<std::unique_ptr<SecurityContext>> contexts_;
};

}  // namespace secprof::oscore

// The server's table of security contexts (RFC 8613 §8.2 step 3). See oscore.h.
#include <algorithm>

#include "secprof/oscore/oscore.h"

namespace secprof::oscore {

Status ContextTable::Add(SecurityContext context) {
  for (const auto& c : contexts_) {
    if (c->recipient_id() == context.recipient_id() && c->id_context() == context.id_context()) {
      return Fail(
          ErrorCode::kConflict,
          "an OSCORE context with this Recipient ID and ID Context is already in the table");
    }
  }
  contexts_.push_back(std::make_unique<SecurityContext>(std::move(context)));
  return Ok();
}

SecurityContext* ContextTable::Find(ByteView kid, const std::optional<Bytes>& kid_context) {
  for (auto& c : contexts_) {
    if (!std::ranges::equal(c->recipient_id(), kid)) continue;
    if (kid_context && c->id_context() != kid_context) continue;
    return c.get();
  }
  return nullptr;
}

Result<IncomingRequest> ContextTable::UnprotectRequest(const Message& request) {
  const Option* option = request.Find(opt::kOscore);
  if (option == nullptr) {
    return Fail(ErrorCode::kVerifyFailed, kUnprotected, "request without an OSCORE option");
  }
  auto o = DecodeOscoreOption(option->value);
  if (!o) return Fail(o.error().WithReason(kBadOption));
  if (!o->kid || !o->partial_iv) {
    return Fail(ErrorCode::kInvalidInput, kBadOption, "OSCORE request without kid or Partial IV");
  }
  SecurityContext* c = Find(*o->kid, o->kid_context);
  if (c == nullptr) {
    return Fail(ErrorCode::kNotFound, kContextNotFound,
                "OSCORE: security context not found for this kid / kid context");
  }
  return c->UnprotectRequest(request);
}

}  // namespace secprof::oscore

// The error <-> CoAP code mapping (coap/errors.h).
#include "secprof/coap/errors.h"

#include <string>

namespace secprof::coap {

Code CodeFor(const Error& e) {
  switch (e.code()) {
    case ErrorCode::kInvalidInput:
      return kBadRequest;
    case ErrorCode::kVerifyFailed:
      return kUnauthorized;
    case ErrorCode::kNotFound:
    case ErrorCode::kConflict:
      return kForbidden;
    case ErrorCode::kLimit:
      return kServiceUnavailable;
    default:
      return kInternalServerError;
  }
}

namespace {

ErrorCode ErrorCodeFor(Code c) {
  if (c == kUnauthorized || c == kForbidden) return ErrorCode::kVerifyFailed;
  if (c == kBadRequest) return ErrorCode::kInvalidInput;
  return ErrorCode::kIo;
}

}  // namespace

Error ErrorFromResponse(const Response& r, std::string_view what, std::string_view peer) {
  std::string msg =
      std::string(what) + ": " + std::string(peer) + " answered " + CodeString(r.code);
  if (!r.payload.empty() && r.content_format == content_format::kTextPlain)
    msg += " (" + AsText(r.payload) + ")";
  return Error(ErrorCodeFor(r.code), std::move(msg));
}

Status ExpectCode(const Response& r, Code want, std::string_view what, std::string_view peer) {
  if (r.code == want) return Ok();
  return Fail(ErrorFromResponse(r, what, peer));
}

}  // namespace secprof::coap

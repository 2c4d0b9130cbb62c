#include "secprof/core/result.h"

namespace secprof {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidInput:
      return "invalid input";
    case ErrorCode::kNotFound:
      return "not found";
    case ErrorCode::kIo:
      return "I/O error";
    case ErrorCode::kCrypto:
      return "cryptographic failure";
    case ErrorCode::kVerifyFailed:
      return "verification failed";
    case ErrorCode::kUnsupported:
      return "unsupported";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kLimit:
      return "limit exceeded";
    case ErrorCode::kInternal:
      return "internal error";
  }
  return "unknown error";
}

Error Error::WithContext(const std::string& context) const {
  Error e = *this;
  e.message_ = context + ": " + message_;
  return e;
}

Error Error::WithReason(Reason r) const {
  Error e = *this;
  e.reason_ = std::string(r.name());
  return e;
}

Error Error::WithReasonName(std::string_view name) const {
  Error e = *this;
  e.reason_ = std::string(name);
  return e;
}

std::string Error::ToString() const {
  std::string out;
  if (where_) {
    if (!where_->file.empty()) {
      out += where_->file;
      if (where_->line > 0) {
        out += ":" + std::to_string(where_->line);
        if (where_->column > 0) out += ":" + std::to_string(where_->column);
      }
      out += ": ";
    }
    if (!where_->field.empty()) out += "field '" + where_->field + "': ";
  }
  return out + message_;
}

}  // namespace secprof

// secprof/core/result.h — the project's single error mechanism.
//
// Every function that parses untrusted input or does I/O returns Result<T> (or Status for no
// value). Result is tl::expected<T, Error> marked [[nodiscard]], so a caller cannot silently drop a
// failure.
//
//   Result<Model> LoadModel(const std::string& path);
//   auto m = LoadModel(path);
//   if (!m) return Fail(m.error());          // propagate
//   Use(*m);
//
// Errors carry a category (ErrorCode), a human message, where it happened in the input when that
// is known (file, line, column; or a field path such as "things[3].count"), and, for refusals a
// caller must tell apart, a stable machine-readable Reason ("rollback", "replay"). Callers and
// tests branch on code() and reason(), never on message text: messages are for people and may be
// reworded. docs/ERRORS.md lists every published reason.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace secprof {

enum class ErrorCode {
  kInvalidInput,  // malformed or semantically wrong input (exit status 2 at the CLI)
  kNotFound,      // a named file, record or key does not exist
  kIo,            // the operating system refused a read or write
  kCrypto,        // a cryptographic library call failed (not a verification failure)
  kVerifyFailed,  // a signature, MAC or tag did not verify; a certificate did not validate
  kUnsupported,   // valid input that this implementation does not handle
  kConflict,      // the operation would overwrite or contradict existing state
  kLimit,         // a configured limit (size, depth, rate) was exceeded
  kInternal,      // a broken invariant: a bug in secprof
};

const char* ErrorCodeName(ErrorCode code);

// Where in an input an error was found. line and column are 1-based; 0 means unknown.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
  std::string field;  // optional dotted path of the field, e.g. "things[2].vendor"
};

// A stable, machine-readable reason for a refusal: a lowercase, hyphenated word ("rollback",
// "forged-signature", "window-closed") that never changes once published. Each module declares
// the reasons it can return as `inline constexpr Reason kX{"x"};` in its public header, and
// docs/ERRORS.md lists them all. Construction is explicit so that a message string can never be
// taken for a reason by accident.
class Reason {
 public:
  constexpr explicit Reason(std::string_view name) : name_(name) {}
  constexpr std::string_view name() const { return name_; }
  friend constexpr bool operator==(Reason a, Reason b) { return a.name_ == b.name_; }

 private:
  std::string_view name_;
};

class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}
  Error(ErrorCode code, std::string message, SourceLocation where)
      : code_(code), message_(std::move(message)), where_(std::move(where)) {}
  Error(ErrorCode code, Reason reason, std::string message)
      : code_(code), message_(std::move(message)), reason_(reason.name()) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::optional<SourceLocation>& where() const { return where_; }
  // The stable reason, or "" when the error carries none (most I/O and parse errors do not).
  std::string_view reason() const { return reason_; }
  bool Is(Reason r) const { return reason_ == r.name(); }

  // Returns a copy with `context: ` prepended to the message ("loading catalog: ..."); the code,
  // location and reason are kept.
  Error WithContext(const std::string& context) const;
  // Returns a copy carrying `r` (replacing any reason it had).
  Error WithReason(Reason r) const;
  // Returns a copy carrying a reason received from outside (a peer's refusal); callers that
  // branch on it compare with Is(). An empty string clears the reason.
  Error WithReasonName(std::string_view name) const;

  // "file:line:col: message" when the location is known, else "message".
  std::string ToString() const;

 private:
  ErrorCode code_;
  std::string message_;
  std::optional<SourceLocation> where_;
  std::string reason_;
};

template <class T>
class [[nodiscard]] Result : public tl::expected<T, Error> {
 public:
  using tl::expected<T, Error>::expected;
  Result(const tl::expected<T, Error>& e) : tl::expected<T, Error>(e) {}        // NOLINT
  Result(tl::expected<T, Error>&& e) : tl::expected<T, Error>(std::move(e)) {}  // NOLINT
};

using Status = Result<void>;

inline tl::unexpected<Error> Fail(Error e) { return tl::unexpected<Error>(std::move(e)); }
inline tl::unexpected<Error> Fail(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error(code, std::move(message)));
}
inline tl::unexpected<Error> Fail(ErrorCode code, std::string message, SourceLocation where) {
  return tl::unexpected<Error>(Error(code, std::move(message), std::move(where)));
}
inline tl::unexpected<Error> Fail(ErrorCode code, Reason reason, std::string message) {
  return tl::unexpected<Error>(Error(code, reason, std::move(message)));
}
inline Status Ok() { return {}; }

}  // namespace secprof

// Evaluates `expr` (a Result); on failure returns its error from the enclosing function.
#define SECPROF_TRY(expr)                                                \
  do {                                                                   \
    auto&& secprof_try_r_ = (expr);                                      \
    if (!secprof_try_r_) return ::secprof::Fail(secprof_try_r_.error()); \
  } while (0)

#define SECPROF_CONCAT_INNER_(a, b) a##b
#define SECPROF_CONCAT_(a, b) SECPROF_CONCAT_INNER_(a, b)
// SECPROF_ASSIGN_OR_RETURN(auto x, Compute()); declares x from the value or returns the error.
#define SECPROF_ASSIGN_OR_RETURN(decl, expr) \
  SECPROF_ASSIGN_OR_RETURN_IMPL_(SECPROF_CONCAT_(secprof_r_, __LINE__), decl, expr)
#define SECPROF_ASSIGN_OR_RETURN_IMPL_(tmp, decl, expr) \
  auto tmp = (expr);                                    \
  if (!tmp) return ::secprof::Fail(tmp.error());        \
  decl = std::move(*tmp)

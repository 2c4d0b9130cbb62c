// Echo values of a coap::Server (secprof/coap/echo.h; RFC 9175 §2.3, Appendix A method 3):
// issuing and checking stateless, MAC'd, time-stamped values. Not a public header.
#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include "secprof/coap/coap.h"
#include "secprof/coap/echo.h"
#include "secprof/crypto/random.h"
#include "secprof/crypto/secure_buffer.h"

namespace secprof::coap::internal {

class EchoGuard {
 public:
  enum class Verdict { kFresh, kMissing, kStale, kUnknown };
  using TimePoint = std::chrono::steady_clock::time_point;

  // A guard with a fresh 32-byte MAC key from `rng`; kCrypto when the source fails.
  static Result<std::unique_ptr<EchoGuard>> Create(crypto::Random& rng,
                                                   std::chrono::milliseconds freshness);

  // A new value stamped `now` (kEchoValueSize bytes); kCrypto if the MAC cannot be computed.
  Result<Bytes> Issue(TimePoint now) const;
  // kFresh: issued by this guard at most `freshness` before `now` (and not after it);
  // kMissing: no value; kUnknown: wrong length or MAC; kStale: a genuine value too old.
  Verdict Check(const std::optional<Bytes>& value, TimePoint now) const;

  static Reason ReasonOf(Verdict v);

 private:
  EchoGuard(crypto::SecureBuffer key, std::chrono::milliseconds freshness)
      : key_(std::move(key)), freshness_(freshness) {}
  Bytes Input(uint64_t stamp_ms) const;
  crypto::SecureBuffer key_;
  std::chrono::milliseconds freshness_;
};

}  // namespace secprof::coap::internal

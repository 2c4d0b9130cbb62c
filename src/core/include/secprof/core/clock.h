// secprof/core/clock.h — time behind an interface so tests can use a fake clock.
#pragma once

#include <chrono>
#include <cstdint>

namespace secprof {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time (for certificate validity, voucher expiry, audit timestamps).
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // Monotonic time (for timeouts, pairing windows, rate limits).
  virtual std::chrono::steady_clock::time_point Monotonic() const = 0;
};

// The real clocks. The returned reference lives for the whole program.
Clock& SystemClock();

// The clock's wall time as whole seconds since the Unix epoch (1970-01-01T00:00:00Z), the unit of
// CWT/voucher times (RFC 8392 §2 NumericDate), audit rows and expiry fields. Sub-second parts are
// truncated toward zero (for any time at or after the epoch: dropped).
inline int64_t UnixSeconds(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.Now().time_since_epoch()).count();
}

// A clock that only moves when told to. Not thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::chrono::system_clock::time_point start = {}) : wall_(start) {}
  std::chrono::system_clock::time_point Now() const override { return wall_; }
  std::chrono::steady_clock::time_point Monotonic() const override { return mono_; }
  void Advance(std::chrono::nanoseconds d) {
    wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
    mono_ += std::chrono::duration_cast<std::chrono::steady_clock::duration>(d);
  }

 private:
  std::chrono::system_clock::time_point wall_;
  std::chrono::steady_clock::time_point mono_{};
};

}  // namespace secprof

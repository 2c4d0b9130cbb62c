// secprof/net/trickle.h — the Trickle algorithm (RFC 6206 §4.2) in virtual time.
//
// Driven by its owner: Start/Reset/IntervalEnd return the new interval, and the owner schedules
// two timer events at `interval_start + t` (FireAt: transmit if ShouldTransmit) and
// `interval_start + I` (EndAt: call IntervalEnd). A generation number changes on every new
// interval so that the owner can ignore timer events of an interval that a Reset cut short.
// RPL uses it for DIOs with Imin = 2^DIOIntervalMin ms, Imax = Imin * 2^DIOIntervalDoublings and
// k = DIORedundancyConstant (RFC 6550 §8.3.1). Times are in microseconds.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>

namespace secprof::net {

class Trickle {
 public:
  // `draw(n)` returns a uniform integer in [0, n); it is the owner's seeded generator.
  using Draw = std::function<uint64_t(uint64_t)>;

  void Configure(uint64_t imin_us, uint32_t doublings, uint32_t k) {
    imin_ = imin_us;
    imax_ = imin_us << doublings;
    k_ = k;
  }
  // Rule 1: I starts at Imin (a value in [Imin, Imax]); rule 2 begins the first interval.
  void Start(uint64_t now, const Draw& draw) {
    interval_ = imin_;
    running_ = true;
    Begin(now, draw);
  }
  // Rule 3: a consistent transmission was heard.
  void Consistent() { ++counter_; }
  // Rule 6: an inconsistency; if I > Imin, I = Imin and a new interval begins. Returns true when
  // a new interval began (so the owner schedules its timers).
  bool Reset(uint64_t now, const Draw& draw) {
    if (!running_) return false;
    if (interval_ == imin_) return false;
    interval_ = imin_;
    Begin(now, draw);
    return true;
  }
  // Rule 4: transmit at t only if c < k (k == 0 means never suppress, RFC 6206 §6).
  bool ShouldTransmit() const { return k_ == 0 || counter_ < k_; }
  // Rule 5: the interval ended; I doubles up to Imax and a new interval begins.
  void IntervalEnd(uint64_t now, const Draw& draw) {
    interval_ = std::min(interval_ * 2, imax_);
    Begin(now, draw);
  }

  bool running() const { return running_; }
  uint64_t interval() const { return interval_; }
  uint64_t FireAt() const { return start_ + t_; }
  uint64_t EndAt() const { return start_ + interval_; }
  uint64_t generation() const { return generation_; }
  uint32_t counter() const { return counter_; }

 private:
  // Rule 2: c = 0 and t uniform in [I/2, I).
  void Begin(uint64_t now, const Draw& draw) {
    start_ = now;
    counter_ = 0;
    const uint64_t half = interval_ / 2;
    t_ = half + (interval_ - half > 0 ? draw(interval_ - half) : 0);
    ++generation_;
  }
  uint64_t imin_ = 4096000;
  uint64_t imax_ = 4096000ull << 8;
  uint32_t k_ = 10;
  uint64_t interval_ = 0;
  uint64_t start_ = 0;
  uint64_t t_ = 0;
  uint32_t counter_ = 0;
  uint64_t generation_ = 0;
  bool running_ = false;
};

}  // namespace secprof::net

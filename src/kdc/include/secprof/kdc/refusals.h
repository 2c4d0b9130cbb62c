// secprof/kdc/refusals.h — what an unauthenticated sender can make the KDC do and store (issue 9,
// T9; docs/DOMAIN.md "Limits"): a per-source rate limit, and an audit of refusals whose size
// grows with time, not with the sender's packet rate.
//
// Refusals of an authenticated peer (a thing this domain knows, on its operational DTLS session)
// are audited one by one, each in its own transaction, as before. Refusals of everyone else (plain
// CoAP, an unknown credential, a join that fails before the thing is identified) are:
//   - audited one by one while the interval's budget lasts (`audit_budget` rows per interval), so
//     that a stray refusal reads as it always did;
//   - beyond it, counted in memory per (reason, source address) and flushed, once per
//     `audit_interval`, as one row per reason: action "refused:<reason>", detail
//     "x N from M sources (A x n, B x n, ...)", serial the one serial the refusals named, if they
//     all named the same one.
// So an interval adds at most audit_budget + (number of reasons) rows, whatever the flood.
//
// Rate limit: a token bucket per source address (the port is ignored), `burst` tokens, refilled
// at `rate_per_second`. What costs a token is unauthenticated work that did not end in a join: a
// refusal, or a join nonce issued (given back when that source completes a join). So a source
// that keeps being refused, or keeps asking nonces it never uses, is cut off, while many genuine
// things joining from one address (a gateway, a test on loopback) are not. Admit() says whether
// an unauthenticated request may be processed at all; a refused one is answered 5.03 without
// touching the registry and only counted ("rate-limited").
// At most `max_sources` addresses are tracked; when the table is full, buckets that have refilled
// are forgotten, and when none has, every new address shares one overflow bucket (a wide spoofed
// flood then throttles new addresses, never the ones already tracked).
//
// A failed audit write (disk full, registry busy) is not discarded: it is counted
// (audit_failures), logged through `log` (once per interval, with the count and the error), and
// the counts it would have recorded are kept for the next flush.
//
// Not thread-safe: driven by the KDC's I/O thread (counters() may be read from any thread).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "secprof/core/clock.h"
#include "secprof/core/result.h"

namespace secprof::kdc {

struct UnauthenticatedLimits {
  std::chrono::seconds audit_interval{60};
  unsigned audit_budget = 10;  // unauthenticated refusals audited one by one per interval
  size_t max_sources = 4096;   // source addresses tracked (buckets; counts per interval)
  double rate_per_second = 16;
  double burst = 64;
  // SecProf_2 join nonces recorded by proven joins (j/nonce itself stores nothing; DOMAIN.md
  // "Nonce"): at most this many unexpired ones in total (beyond: 5.03). 0: unbounded.
  int64_t max_nonces = 4096;
};

// The address part of libcoap's "addr:port" / "[v6]:port".
std::string SourceAddress(std::string_view peer_address);

class RefusalLedger {
 public:
  // Writes one audit row (actor "kdc"). Returns the registry's status.
  using Sink = std::function<Status(std::string_view action, std::string_view serial,
                                    std::string_view detail)>;
  using Log = std::function<void(std::string_view line)>;

  RefusalLedger(UnauthenticatedLimits limits, const Clock& clock, Sink sink, Log log);
  ~RefusalLedger();  // flushes what is pending
  RefusalLedger(const RefusalLedger&) = delete;
  RefusalLedger& operator=(const RefusalLedger&) = delete;

  // Whether an unauthenticated request from `source` (an address) may be processed: it has a
  // token. Does not take it (Charge does).
  bool Admit(std::string_view source);
  // Takes a token from `source` (an unauthenticated refusal, a nonce issued); gives one back (a
  // completed join), up to `burst`.
  void Charge(std::string_view source);
  void Refund(std::string_view source);
  // A refusal of an identified thing: audited now ("refused:<reason>").
  void Authenticated(std::string_view reason, std::string_view serial, std::string_view message);
  // A refusal of an unidentified peer: audited now within the interval's budget, else counted.
  void Unauthenticated(std::string_view reason, std::string_view source, std::string_view serial,
                       std::string_view message);
  // Any audit row the KDC writes outside refusals goes through here to be counted when it fails.
  Status Audit(std::string_view action, std::string_view serial, std::string_view detail);
  // Flushes the aggregated counts when the interval is over (or now, with force).
  void Tick(bool force = false);

  struct Counters {
    uint64_t rate_limited = 0;    // requests refused by the rate limit
    uint64_t aggregated = 0;      // refusals counted instead of audited one by one
    uint64_t aggregate_rows = 0;  // aggregated rows written
    uint64_t audit_failures = 0;  // audit writes that failed
    size_t sources_tracked = 0;   // rate-limit buckets held now
  };
  Counters counters() const;

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point refilled{};
  };
  struct Tally {
    uint64_t total = 0;
    std::map<std::string, uint64_t> by_source;  // at most max_sources entries, then "other"
    uint64_t other_sources = 0;
    std::string serial;  // the serial all refusals named, "" when none or several
    bool serial_mixed = false;
  };
  bool Refill(Bucket& b, std::chrono::steady_clock::time_point now) const;
  Bucket& BucketFor(std::string_view source, std::chrono::steady_clock::time_point now);
  void Count(std::string_view reason, std::string_view source, std::string_view serial);
  void Failed(const Error& e);

  UnauthenticatedLimits lim_;
  const Clock& clock_;
  Sink sink_;
  Log log_;
  std::map<std::string, Bucket, std::less<>> buckets_;
  Bucket overflow_{};
  std::chrono::steady_clock::time_point last_evict_{};
  std::map<std::string, Tally, std::less<>> pending_;  // reason -> counts this interval
  std::chrono::steady_clock::time_point interval_start_;
  unsigned budget_used_ = 0;
  uint64_t failures_in_interval_ = 0;
  std::string last_failure_;
  std::atomic<uint64_t> rate_limited_{0}, aggregated_{0}, aggregate_rows_{0}, audit_failures_{0};
  std::atomic<size_t> sources_{0};
};

}  // namespace secprof::kdc

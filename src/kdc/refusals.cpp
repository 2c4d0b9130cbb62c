#include "secprof/kdc/refusals.h"

#include <algorithm>
#include <vector>

namespace secprof::kdc {

std::string SourceAddress(std::string_view peer_address) {
  if (!peer_address.empty() && peer_address.front() == '[') {
    size_t end = peer_address.find(']');
    if (end != std::string_view::npos) return std::string(peer_address.substr(1, end - 1));
    return std::string(peer_address);
  }
  size_t colon = peer_address.rfind(':');
  // One colon: "a.b.c.d:port". Several without brackets: a bare IPv6 address.
  if (colon != std::string_view::npos && peer_address.find(':') == colon)
    return std::string(peer_address.substr(0, colon));
  return std::string(peer_address);
}

RefusalLedger::RefusalLedger(UnauthenticatedLimits limits, const Clock& clock, Sink sink, Log log)
    : lim_(limits),
      clock_(clock),
      sink_(std::move(sink)),
      log_(std::move(log)),
      interval_start_(clock.Monotonic()) {
  overflow_.tokens = lim_.burst;
  overflow_.refilled = interval_start_;
}

RefusalLedger::~RefusalLedger() { Tick(/*force=*/true); }

bool RefusalLedger::Refill(Bucket& b, std::chrono::steady_clock::time_point now) const {
  std::chrono::duration<double> dt = now - b.refilled;
  if (dt.count() > 0) {
    b.tokens = std::min(lim_.burst, b.tokens + dt.count() * lim_.rate_per_second);
    b.refilled = now;
  }
  return b.tokens >= lim_.burst;
}

RefusalLedger::Bucket& RefusalLedger::BucketFor(std::string_view source,
                                                std::chrono::steady_clock::time_point now) {
  auto it = buckets_.find(source);
  Bucket* b = nullptr;
  if (it != buckets_.end()) {
    b = &it->second;
  } else {
    if (buckets_.size() >= lim_.max_sources) {
      // Forget the addresses whose bucket is full again: they are indistinguishable from new ones.
      // The scan is O(max_sources): at most once per refill of one token.
      std::chrono::duration<double> since = now - last_evict_;
      if (since.count() * lim_.rate_per_second >= 1.0) {
        last_evict_ = now;
        for (auto b_it = buckets_.begin(); b_it != buckets_.end();)
          b_it = Refill(b_it->second, now) ? buckets_.erase(b_it) : std::next(b_it);
      }
    }
    if (buckets_.size() < lim_.max_sources) {
      b = &buckets_.emplace(std::string(source), Bucket{lim_.burst, now}).first->second;
    } else {
      b = &overflow_;
    }
    sources_ = buckets_.size();
  }
  Refill(*b, now);
  return *b;
}

bool RefusalLedger::Admit(std::string_view source) {
  if (BucketFor(source, clock_.Monotonic()).tokens >= 1.0) return true;
  ++rate_limited_;
  Count("rate-limited", source, "");
  return false;
}

void RefusalLedger::Charge(std::string_view source) {
  Bucket& b = BucketFor(source, clock_.Monotonic());
  b.tokens = std::max(0.0, b.tokens - 1.0);
}

void RefusalLedger::Refund(std::string_view source) {
  Bucket& b = BucketFor(source, clock_.Monotonic());
  b.tokens = std::min(lim_.burst, b.tokens + 1.0);
}

void RefusalLedger::Count(std::string_view reason, std::string_view source,
                          std::string_view serial) {
  auto it = pending_.find(reason);
  if (it == pending_.end()) it = pending_.emplace(std::string(reason), Tally{}).first;
  Tally& t = it->second;
  ++t.total;
  auto s = t.by_source.find(std::string(source));
  if (s != t.by_source.end())
    ++s->second;
  else if (t.by_source.size() < lim_.max_sources)
    t.by_source.emplace(std::string(source), 1);
  else
    ++t.other_sources;
  if (!serial.empty() && !t.serial_mixed) {
    if (t.serial.empty())
      t.serial = std::string(serial);
    else if (t.serial != serial)
      t.serial_mixed = true;
  }
}

void RefusalLedger::Failed(const Error& e) {
  ++audit_failures_;
  last_failure_ = e.message();
  if (failures_in_interval_++ == 0 && log_)
    log_("kdc: audit write failed (further failures are summed once per interval): " + e.message());
}

Status RefusalLedger::Audit(std::string_view action, std::string_view serial,
                            std::string_view detail) {
  Status st = sink_ ? sink_(action, serial, detail) : Ok();
  if (!st) Failed(st.error());
  return st;
}

void RefusalLedger::Authenticated(std::string_view reason, std::string_view serial,
                                  std::string_view message) {
  (void)Audit("refused:" + std::string(reason), serial, message);
}

void RefusalLedger::Unauthenticated(std::string_view reason, std::string_view source,
                                    std::string_view serial, std::string_view message) {
  if (budget_used_ < lim_.audit_budget) {
    ++budget_used_;
    std::string detail(message);
    if (!source.empty()) detail += " (from " + std::string(source) + ")";
    if (Audit("refused:" + std::string(reason), serial, detail)) return;
    // Not written: keep it in the aggregate so the next flush still records it.
  }
  ++aggregated_;
  Count(reason, source, serial);
}

void RefusalLedger::Tick(bool force) {
  const auto now = clock_.Monotonic();
  if (!force && now - interval_start_ < lim_.audit_interval) return;
  for (auto it = pending_.begin(); it != pending_.end();) {
    const Tally& t = it->second;
    std::vector<std::pair<uint64_t, std::string>> top;
    for (const auto& [src, n] : t.by_source) top.emplace_back(n, src);
    std::sort(top.begin(), top.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    std::string detail =
        "x " + std::to_string(t.total) + " from " + std::to_string(t.by_source.size()) + " sources";
    if (t.other_sources) detail += " and " + std::to_string(t.other_sources) + " more refusals";
    detail += " (";
    for (size_t i = 0; i < top.size() && i < 5; ++i)
      detail += (i ? ", " : "") + top[i].second + " x " + std::to_string(top[i].first);
    if (top.size() > 5) detail += ", ...";
    detail += ")";
    if (!Audit("refused:" + it->first, t.serial_mixed ? "" : t.serial, detail)) break;
    ++aggregate_rows_;
    it = pending_.erase(it);
  }
  if (failures_in_interval_ > 1 && log_)
    log_("kdc: " + std::to_string(failures_in_interval_) +
         " audit writes failed in the last interval; last: " + last_failure_);
  failures_in_interval_ = 0;
  budget_used_ = 0;
  interval_start_ = now;
}

RefusalLedger::Counters RefusalLedger::counters() const {
  return Counters{rate_limited_.load(), aggregated_.load(), aggregate_rows_.load(),
                  audit_failures_.load(), sources_.load()};
}

}  // namespace secprof::kdc

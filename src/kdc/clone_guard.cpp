// The clone guard (clone_guard.h; docs/DOMAIN.md "Clone detection").
#include "clone_guard.h"

namespace secprof::kdc {

std::optional<std::string> CloneDetector::OnRequest(const std::string& serial,
                                                    const std::string& endpoint) {
  const auto now = clock_.Monotonic();
  Track& t = tracks_[serial];
  if (t.cur.endpoint == endpoint) {
    t.cur.last = now;
    return std::nullopt;
  }
  std::optional<std::string> found;
  // Back to the endpoint it had left (A, B, A) while B was used within the window, and A had been
  // used within the window before B began: two sessions alive at once. A reconnect (A, B, C ...
  // or A then B for good) never returns to its old endpoint.
  if (!t.prev.endpoint.empty() && t.prev.endpoint == endpoint && now - t.cur.last <= window_ &&
      t.cur.first - t.prev.last <= window_)
    found = "requests from " + t.prev.endpoint + " and " + t.cur.endpoint + " interleave within " +
            std::to_string(window_.count()) + " s";
  t.prev = t.cur;
  t.cur = Seen{endpoint, now, now};
  return found;
}

bool CloneDetector::Signal(const std::string& serial) {
  const auto now = clock_.Monotonic();
  Track& t = tracks_[serial];
  bool fresh = !t.last_signal || now - *t.last_signal > quiet_;
  t.last_signal = now;
  return fresh;
}

bool CloneGuard::Suspect(const std::string& serial, const std::string& why) {
  if (detector_.Signal(serial)) {
    ++alerts_;
    // The alert is an audit entry of its own, once per incident (not per packet).
    (void)reg_.Append("kdc", "alert:clone-suspected", serial, why);
  }
  if (policy_ != OnClone::kQuarantine) return false;
  auto q = reg_.QuarantineThing(serial, "suspected clone: " + why, "kdc");
  return q.has_value();
}

namespace {
// The guard's answer when the registry cannot be read or written now. ErrorCode::kLimit is chosen
// so that coap::CodeFor answers 5.03 (retry later), as the guard always has; the registry's own
// error code (often kIo, 5.00) would change the answer.
Error RegistryUnavailable(std::string message) {
  return Error(ErrorCode::kLimit, kRegistry, std::move(message));
}
}  // namespace

Status CloneGuard::Admit(const std::string& serial, const std::string& endpoint) {
  std::lock_guard<std::mutex> l(mu_);
  auto q = reg_.QuarantineOf(serial);
  if (!q)
    return Fail(RegistryUnavailable("cannot read the quarantine list: " + q.error().message()));
  if (*q)
    return Fail(
        ErrorCode::kConflict, kQuarantined,
        "thing " + serial + " is quarantined (" + (*q)->reason + "); the owner must release it");
  if (auto why = detector_.OnRequest(serial, endpoint))
    if (Suspect(serial, *why))
      return Fail(ErrorCode::kConflict, kQuarantined,
                  "thing " + serial + " is quarantined: suspected clone (" + *why + ")");
  return Ok();
}

Status CloneGuard::Reading(const std::string& serial, int64_t counter,
                           const std::string& endpoint) {
  std::lock_guard<std::mutex> l(mu_);
  auto ok = reg_.AdvanceReadingCounter(serial, counter);
  if (!ok) {
    if (ok.error().code() == ErrorCode::kInvalidInput)
      return Fail(ok.error().WithReason(kMalformed));  // 4.00
    return Fail(RegistryUnavailable(ok.error().message()));
  }
  if (*ok) return Ok();
  auto high = reg_.HighestReadingCounter(serial);
  std::string why = "reading counter " + std::to_string(counter) + " from " + endpoint +
                    " is not above " +
                    (high && *high ? std::to_string(**high) : std::string("the highest")) +
                    " (replayed or cloned)";
  bool quarantined = Suspect(serial, why);
  return Fail(ErrorCode::kVerifyFailed, kStaleReading,  // 4.01
              why + (quarantined ? "; thing quarantined" : ""));
}

}  // namespace secprof::kdc

// Internal to secprof::kdc: the clone guard (issue 9 item 6; docs/DOMAIN.md "Clone detection").
//
// Two signals that one credential (a SecProf_2 PSK identity, a SecProf_3/4 LDevID) is used by two
// devices at once:
//  (a) reading counters: a thing numbers its readings (Reading label 3) strictly increasingly and
//      persists them (reserved in blocks, skipped ahead after a restart); the registry keeps the
//      highest counter accepted per thing (Registry::AdvanceReadingCounter). A counter that is not
//      above it is a replay or a copy of the thing's state reporting in parallel;
//  (b) endpoints: requests on one credential from two different endpoints ("addr:port") that
//      interleave within `window` (A, B, A): two live sessions at once. One switch from A to B with
//      nothing more from A (a thing that reconnects from a new port or address) is not a signal.
// On a signal: one audit entry `alert:clone-suspected` per incident (a new incident needs
// `incident_quiet` without signals), counted in the KDC's statistics, and with OnClone::kQuarantine
// the thing is quarantined in the registry (Registry::QuarantineThing): its credential's requests
// are refused (4.03 `quarantined`) until the owner releases it (`secprof kdc release SERIAL`) or
// retires the thing. The quarantine survives a KDC restart; the endpoint history is in memory.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "secprof/coap/coap.h"
#include "secprof/core/clock.h"
#include "secprof/kdc/kdc.h"
#include "secprof/kdc/reasons.h"
#include "secprof/registry/registry.h"

namespace secprof::kdc {

// Pure detection over a Clock (no I/O), for signal (b) and incident grouping.
class CloneDetector {
 public:
  CloneDetector(const Clock& clock, std::chrono::seconds window,
                std::chrono::seconds incident_quiet)
      : clock_(clock), window_(window), quiet_(incident_quiet) {}

  // An authenticated request of `serial` from `endpoint`. A description of the concurrent use
  // when it returns to an endpoint it had left while the other endpoint was used within the
  // window (A, B, A); nullopt otherwise.
  std::optional<std::string> OnRequest(const std::string& serial, const std::string& endpoint);
  // Records a signal for `serial`; true when it opens a new incident (no signal for it within
  // `incident_quiet` before): the caller alerts once per incident.
  bool Signal(const std::string& serial);

 private:
  struct Seen {
    std::string endpoint;
    std::chrono::steady_clock::time_point first{}, last{};
  };
  struct Track {
    Seen cur, prev;
    std::optional<std::chrono::steady_clock::time_point> last_signal;
  };
  const Clock& clock_;
  std::chrono::seconds window_, quiet_;
  std::map<std::string, Track> tracks_;
};

// The KDC's guard: detector + registry + the owner's policy. Used from the KDC's thread (a mutex
// makes it safe anyway).
class CloneGuard {
 public:
  CloneGuard(registry::Registry& reg, const Clock& clock, OnClone policy,
             std::chrono::seconds window, std::chrono::seconds incident_quiet)
      : reg_(reg), policy_(policy), detector_(clock, window, incident_quiet) {}

  // Before an operational request of the active thing `serial` from `endpoint`: refuses a
  // quarantined thing, else observes the endpoint (and on concurrent use alerts and, by policy,
  // quarantines and refuses this request). Refusals are Errors the KDC answers like its own
  // (secprof/kdc/reasons.h): kQuarantined (4.03); kRegistry (5.03) when the quarantine list
  // cannot be read.
  Status Admit(const std::string& serial, const std::string& endpoint);
  // A reading's counter: refused (kStaleReading, 4.01, nothing recorded) when not above the
  // highest accepted, with the alert and, by policy, the quarantine; kMalformed (4.00) for a
  // counter the registry rejects, kRegistry (5.03) when it cannot be recorded.
  Status Reading(const std::string& serial, int64_t counter, const std::string& endpoint);
  uint64_t alerts() const {
    std::lock_guard<std::mutex> l(mu_);
    return alerts_;
  }

 private:
  // Alerts (once per incident) and quarantines by policy; true when the thing is now quarantined.
  bool Suspect(const std::string& serial, const std::string& why);

  registry::Registry& reg_;
  OnClone policy_;
  mutable std::mutex mu_;
  CloneDetector detector_;
  uint64_t alerts_ = 0;
};

}  // namespace secprof::kdc

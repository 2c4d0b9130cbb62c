// Internal to secprof::scenario: what the runs share.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "secprof/scenario/scenario.h"

namespace secprof::scenario::internal {

using Clk = std::chrono::steady_clock;

inline double Seconds(Clk::time_point since) {
  return std::chrono::duration<double>(Clk::now() - since).count();
}

// A step that must succeed; a failure is recorded.
inline void Step(ProfileRun& run, const std::string& what, const Status& s) {
  if (!s) run.failures.push_back(what + ": " + s.error().message());
}

// Something that must be refused; a success is a failure of the run.
inline void MustRefuse(ProfileRun& run, const std::string& what, const Status& s) {
  if (s)
    run.failures.push_back(what + " was NOT refused");
  else
    run.notes.push_back("refused as it should be: " + what + " (" + s.error().message() + ")");
}

inline void Count(ProfileRun& run, const std::vector<std::unique_ptr<thing::Agent>>& fleet) {
  for (const auto& a : fleet) ++run.states[thing::StateName(a->state().state)];
}

inline void Say(const RunOptions& o, const std::string& profile, const std::string& msg) {
  if (o.progress) o.progress(profile, msg);
}

// SecProf_1: the resurrecting duckling, no KDC (home.cpp).
ProfileRun RunHome(const RunOptions& o);
// SecProf_2..4: a KDC for the domain (managed.cpp).
ProfileRun RunManaged(domain::Profile p, const RunOptions& o);
// Maintenance (firmware.cpp): an incident against the factory firmware (sequence 1); the vendor's
// fix (sequence 2) goes into the KDC's store, so the KDC starts a staged campaign; every one of
// the first `count` things fetches it block-wise, verifies and installs it, and reports.
Status RunFirmwareCampaign(ProfileRun& run, const RunOptions& o, kdc::OwnerTools& owner,
                           Fleet& fleet, int count);

}  // namespace secprof::scenario::internal

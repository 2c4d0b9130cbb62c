// secprof/lab/runner.h — runs the selected scenarios against every selected profile and measures
// the matrix (issue 11 items 5 and 7; docs/LAB.md "The runner").
//
//   lab::RunOptions o;
//   o.profiles = {domain::Profile::kSecProf2};
//   SECPROF_ASSIGN_OR_RETURN(lab::MeasuredMatrix m, lab::RunMatrix(o));
//
// Contracts:
//   - every (scenario, profile) run gets its own empty directory under the run's base directory,
//     removed when the run returns (the base directory too when the runner made it);
//   - a scenario whose Run returns an Error (or throws) is a lab error in `RunRecord::error`,
//     never an outcome: the lab could not measure, so nothing is claimed blocked;
//   - the negative control (RunContext::defence_off) runs for every scenario that has one, in
//     every selected profile, when `negative_controls` is on;
//   - `jobs` worker threads take runs in a fixed order; the result does not depend on which
//     worker ran what: cells are ordered by scenario (AllScenarios order), then profile;
//   - SoftHSM2 tokens are prepared once per matrix (TokenPool); without SoftHSM2 the SecProf_3/4
//     runs get no tokens (the scenarios say what that means) and `tokens_problem` says why.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "secprof/core/result.h"
#include "secprof/domain/profile.h"
#include "secprof/lab/scenario.h"

namespace secprof::lab {

// One run of a scenario in one profile (the attack, or its negative control).
struct RunRecord {
  Measurement measurement;  // meaningful when ok()
  std::string error;        // non-empty: a lab error (the lab itself could not set up or run)
  bool ok() const { return error.empty(); }
};

struct MeasuredCell {
  std::string scenario;  // ScenarioInfo::id
  std::string threat;    // ScenarioInfo::threat
  domain::Profile profile = domain::Profile::kSecProf2;
  RunRecord attack;
  std::optional<RunRecord> negative;  // the negative control, when it ran
};

struct MeasuredMatrix {
  uint64_t seed = 1;
  int jobs = 1;
  bool negative_controls = true;
  std::vector<domain::Profile> profiles;  // as run, ascending
  std::vector<std::string> scenarios;     // ids as run, in AllScenarios order
  std::vector<ScenarioInfo> infos;        // their metadata, in the same order
  std::vector<MeasuredCell> cells;        // scenario-major, then profile
  double seconds = 0;                     // wall time of the whole matrix
  std::string tokens_problem;             // empty when SoftHSM2 tokens were available
};

// A run finished (called under a lock, from a worker thread; keep it short).
struct RunProgress {
  size_t done = 0;
  size_t total = 0;
  std::string scenario;
  domain::Profile profile = domain::Profile::kSecProf2;
  bool negative = false;
  const RunRecord* record = nullptr;
};

struct RunOptions {
  std::vector<domain::Profile> profiles;  // empty: all four
  std::vector<std::string> threats;       // empty: all; "T7" also selects T7.1..T7.4
  std::vector<std::string> scenarios;     // empty: all (ids, lab.<name>)
  uint64_t seed = 1;
  std::filesystem::path base_dir;  // empty: a fresh directory under the system's temp directory
  bool negative_controls = true;
  int jobs = 2;  // worker threads, 1..16
  std::chrono::milliseconds timeout{2000};
  std::function<void(const RunProgress&)> progress;  // may be empty
};

// The scenarios the options select, in AllScenarios order. Errors (kInvalidInput) for an unknown
// scenario id, and for a selection that leaves nothing to run.
Result<std::vector<const Scenario*>> SelectScenarios(const RunOptions& o);

// Runs the matrix. Errors only for bad options (SelectScenarios, jobs out of range) or when the
// base directory cannot be made; every failure inside a run is that run's lab error.
Result<MeasuredMatrix> RunMatrix(const RunOptions& o);
// The same over the given scenarios (the threat and scenario filters of `o` are not applied):
// what RunMatrix does after SelectScenarios, and how tests run scenarios of their own.
Result<MeasuredMatrix> RunScenarios(const std::vector<const Scenario*>& scenarios,
                                    const RunOptions& o);

}  // namespace secprof::lab

// secprof/lab/claims.h — what the catalog claims for each profile and threat, and the verdict
// when a measured run is held against that claim (issue 11 items 4 and 5; docs/LAB.md "Claims").
//
// The claimed matrix (per profile and threat, from catalog/profiles.yaml and mitigations.yaml):
//   mitigated    some mitigation the profile requires `counters` the threat (or its parent);
//   accepted     some mitigation the profile requires `accepts` it (the draft's first key in the
//                clear in SecProf_1/2; it may be mitigated in other phases at the same time);
//   not covered  neither.
// The claim a scenario is held to, in a profile (ClaimFor), is narrower: the scenario's phase and
// the mitigations it tests (ScenarioInfo::mitigations plus those whose `verified_by` names it):
//   accepted     a required mitigation accepts the scenario's threat at the scenario's phase
//                (the draft knowingly leaves exactly this attack open: it wins over mitigated);
//   mitigated    a required mitigation the scenario tests counters its threat;
//   not covered  otherwise.
// Verdicts (Judge): claimed mitigated + succeeded = a FINDING; accepted + succeeded = "accepted,
// as the draft says" (no finding); a lab error, or a negative control that did not succeed where
// the attack was blocked (or that was itself blocked), is a lab DEFECT (never a pass).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "secprof/catalog/catalog.h"
#include "secprof/core/result.h"
#include "secprof/lab/runner.h"
#include "secprof/lab/scenario.h"

namespace secprof::lab {

enum class Claim { kMitigated, kAccepted, kNotCovered };
// "mitigated", "accepted", "not-covered" (stable: JSON).
std::string_view ClaimName(Claim c);

// One cell of the claimed matrix (profile x threat).
struct ClaimedCell {
  std::string profile;  // "SecProf_2"
  std::string threat;   // "T3", "T7.1"
  Claim claim = Claim::kNotCovered;
  std::vector<std::string> mitigations;  // required mitigations that counter it
  std::vector<std::string> accepted_by;  // required mitigations that accept it
  std::vector<std::string> phases;       // where those mitigations act (union, catalog order)
  std::vector<std::string> layers;
};

// Every profile x every catalog threat (sub-attacks included), profile-major, catalog order.
std::vector<ClaimedCell> ClaimedMatrix(const catalog::Catalog& cat);

struct ScenarioClaim {
  Claim claim = Claim::kNotCovered;
  std::vector<std::string> mitigations;  // required + tested + counter the threat
  std::vector<std::string> accepted_by;  // required + accept the threat at the scenario's phase
};
ScenarioClaim ClaimFor(const catalog::Catalog& cat, const std::string& profile,
                       const ScenarioInfo& info);

enum class Verdict {
  kHolds,             // claimed mitigated, and blocked
  kFinding,           // claimed mitigated, and the attack succeeded
  kAccepted,          // accepted, and the attack succeeded: "accepted, as the draft says"
  kOpen,              // not claimed, and the attack succeeded
  kBlockedUnclaimed,  // not claimed (or accepted), and blocked anyway
  kNotApplicable,
  kNotTestable,
  kLabError,  // the lab could not measure (RunRecord::error)
};
// "holds", "finding", "accepted", "open", "blocked-unclaimed", "not-applicable",
// "not-testable", "lab-error" (stable: JSON).
std::string_view VerdictName(Verdict v);
// One line for a reader who has not read the draft ("accepted, as the draft says").
std::string_view VerdictText(Verdict v);

enum class NegativeStatus {
  kNone,          // the scenario has no negative control, or it was not run
  kConfirmed,     // the adversary succeeded with the defence off
  kInapplicable,  // not-applicable / not-testable with the defence off (nothing was blocked)
  kDefect,        // the attack was blocked but the negative control did not succeed, or it errored
};
std::string_view NegativeStatusName(NegativeStatus s);  // "none", "confirmed", "inapplicable",
                                                        // "defect"

struct JudgedCell {
  MeasuredCell measured;
  ScenarioClaim claim;
  Verdict verdict = Verdict::kNotTestable;
  NegativeStatus negative = NegativeStatus::kNone;
  bool defect = false;  // a lab error or a negative-control defect
};

// A measured matrix held against the catalog's claims: what `secprof lab run` reports.
struct LabReport {
  std::string catalog_version;
  MeasuredMatrix matrix;
  std::vector<ScenarioInfo> scenarios;                       // the scenarios run, in matrix order
  std::vector<ClaimedCell> claimed;                          // the selected profiles x every threat
  std::vector<std::pair<std::string, std::string>> threats;  // (id, name), catalog order
  std::vector<JudgedCell> cells;                             // as matrix.cells
  int findings = 0;
  int defects = 0;
  bool ok() const { return findings == 0 && defects == 0; }
};

// The verdict of one run against its claim (pure).
Verdict Judge(Claim claim, const RunRecord& attack);
NegativeStatus JudgeNegative(const RunRecord& attack, const std::optional<RunRecord>& negative);

// Holds `m` against `cat` (pure: no run).
LabReport Compare(const catalog::Catalog& cat, MeasuredMatrix m);

// Runs the matrix (RunMatrix) and compares it: the one call `secprof lab run` makes.
Result<LabReport> RunLab(const catalog::Catalog& cat, const RunOptions& o);

}  // namespace secprof::lab

// secprof/assess/assess.h — the draft's Section 6 processes made executable.
//
// Assess() takes a loaded catalog and a system model and returns an Assessment: the security
// profile the system belongs to and why, the threats that apply (each finding says which rule
// fired, on which model element, at which lifecycle phase and layer; findings of one rule with
// the same outcome are grouped with their element lists), the risk of each
// (likelihood x impact on the catalog's risk matrix), the mitigations the profile requires against
// those declared (gaps), the residual risk, the business and privacy impact analyses, and the
// standards view. It is pure: the same inputs give the same, sorted output.
//
// Monotonicity contracts (tested as properties):
//  * declaring an additional mitigation never raises any finding's residual risk;
//  * the chosen profile never drops when a classifying feature grows (triggers are monotone);
//  * declaring every mitigation the profile requires leaves no finding above the lowest residual
//    risk unless it is in the explicit state kCannotClose (no mitigation of this profile counters
//    it; `closes_with` says what would) or tracked as accepted.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "secprof/catalog/catalog.h"
#include "secprof/core/result.h"
#include "secprof/model/model.h"

namespace secprof::assess {

struct Trigger {
  std::string profile;
  std::string reason;
  std::vector<std::string> conditions;  // rendered, e.g. "system.central_device >= local"
  bool holds = false;
  std::string source = "draft";  // "project": added by this project, not the draft's own words
};

struct ProfileDecision {
  std::string id;  // "SecProf_3"
  std::string name;
  std::vector<Trigger> decided_by;  // the chosen profile's triggers that hold (empty: default)
  std::vector<Trigger> move_up;     // triggers of higher profiles: any one would move it up
  std::vector<Trigger> held_lower;  // lower profiles' triggers that also hold
};

// Where a finding stands after the declared mitigations (docs/ASSESS.md, "Residual risk"):
inline constexpr const char* kOpen = "open";        // the profile counters it; nothing declared
inline constexpr const char* kReduced = "reduced";  // some counter declared, required ones missing
inline constexpr const char* kClosed = "closed";    // every required counter declared: the draft's
                                                    // "bringing the risk to a low level" (§6)
inline constexpr const char* kCannotClose = "cannot_close";  // nothing the profile requires
                                                             // counters it here

// A recorded risk-tracking decision as it applies to a finding.
struct Tracking {
  model::RiskDecision decision;
  bool expired = false;  // expires <= the assessment date: the decision no longer holds
  // accepted or false_positive, and not expired: the finding does not count for --fail-on.
  bool exempt = false;
};

// A consistency warning (docs/ASSESS.md, "Warnings"). `kind` is stable:
//   feature_below_model      a declared feature is below what the model's content implies;
//                            the higher value is used
//   mitigation_contradicted  a declared mitigation contradicts the facts of an element
//   acceptance_not_granted   a declared mitigation accepts a threat the chosen profile does not
//                            accept (it requires something stronger)
//   tracking_expired         a risk-tracking entry has expired
//   tracking_dangling        a risk-tracking entry names no finding of this assessment
struct Warning {
  std::string kind;
  std::string message;
  SourceLocation where;
};

// One element a finding applies to (docs/ASSESS.md, "Findings are grouped").
struct FindingElement {
  std::string id;  // model element id ("system" for system scope)
  int line = 0;    // of the element in the model file
  int column = 0;
  // The risk-tracking decision recorded for this rule on this element (null: none). Shared, so
  // that an element without one costs a pointer.
  std::shared_ptr<const Tracking> tracking;
};

// A finding group: one rule with one outcome (likelihood, impact, risk, mitigations, residual
// risk) on every element where the rule fires with that outcome. Each element of a group is one
// finding of the ungrouped view (schema secprof-assessment/2): a rule fired on an element. An
// element appears in at most one group per rule, and the groups of a rule differ in their outcome
// (tested: tests/assess/assess_group_test.cpp). Grouping is what lets 100,000 model entries be
// assessed in bounded memory: the outcome is stored once per group, not once per element.
struct Finding {
  std::string threat;  // "T3"
  std::string threat_name;
  bool addition = false;  // RFC 8576 addition (T10, T11)
  std::string rule;       // "R.T3.clear-bootstrap"
  std::string phase;
  std::string layer;
  std::string scope;  // system|thing|link|node|asset: the scope of every element of the group
  std::vector<FindingElement> elements;  // sorted by id; never empty
  // The rule's explanation; "{element}" stands for each element's id (WhyFor gives it filled in).
  std::string why;
  std::string likelihood;
  std::string impact;
  // True when no modelled asset reaches the elements, so the impact is the system's data value
  // (a fallback the report marks: describe the elements' flows to make it exact).
  bool impact_fallback = false;
  std::string risk;
  bool must_mitigate = false;
  // Mitigations against the threat at this finding's phase and layer:
  std::vector<std::string> mitigated_by;  // declared ones
  std::vector<std::string> required;      // the ones the profile requires
  std::vector<std::string> missing;       // required but not declared
  std::vector<std::string> accepted_by;   // declared mitigations that knowingly accept the threat
                                          // here (the draft's first key in the clear, say)
  std::string residual_likelihood;
  std::string residual_risk;
  bool residual_must_mitigate = false;
  std::string residual_state;  // kOpen | kReduced | kClosed | kCannotClose
  // For kCannotClose: mitigations outside this profile that counter the finding here, each with
  // the lowest-ranked profile that requires it ("" when no profile does: beyond every profile).
  std::vector<std::pair<std::string, std::string>> closes_with;
  // Declared mitigations the elements' facts contradict (they do not count here; a required one
  // is in `missing`): the model itself says the mitigation is not in place on these elements.
  std::vector<std::string> contradicted;
  std::string uncountered;  // the rule's reason why no profile mitigation counters it, if any

  // `why` for one element of the group.
  std::string WhyFor(const FindingElement& e) const;
  // The ids of the elements, joined by `sep`.
  std::string ElementIds(const std::string& sep = ", ") const;
  // `why` with "{element}" standing for all the elements (ElementIds()).
  std::string WhyForAll() const;
};

struct Gap {
  std::string mitigation;
  std::string name;
  std::string building_block;
  std::vector<std::string> threats;  // threats found in this model that it would counter
  std::string highest_risk;          // highest residual risk among those findings ("" if none)
  std::vector<std::string> etsi;     // EN 303 645 provisions it contributes to
};

struct BiaEntry {
  std::string asset;
  std::string description;
  std::string confidentiality, integrity, availability;
  bool personal = false;
  // property -> threats found that endanger it through this asset's elements
  std::map<std::string, std::vector<std::string>> threatened;
  std::string highest_residual_risk;
};

struct PiaExposure {
  std::string asset;
  std::string kind;     // translation_point|backend|thing|reownership
  std::string element;  // where (node/thing id, or "system")
  std::string description;
  std::vector<std::string> required;  // mitigations the profile requires there
  std::vector<std::string> missing;
};

struct ProvisionStatus {
  std::string provision;        // "5.4-1"
  std::vector<std::string> by;  // declared mitigations that address it (met) or would
  bool met = false;
};

struct StandardsView {
  std::vector<ProvisionStatus> etsi_en_303_645;
  std::vector<catalog::StandardsConflict> conflicts;  // of the chosen profile
  std::string owasp_isvs_level;
  std::string iec_62443_4_2_sl;
  std::vector<std::string> nist_ir_8259a;
};

struct Summary {
  size_t findings = 0;                 // rule-on-element findings: the elements of all groups
  size_t groups = 0;                   // finding groups (Assessment::findings.size())
  std::map<std::string, int> by_risk;  // risk level -> findings
  std::map<std::string, int> by_residual_risk;  // residual risk level -> findings
  int must_mitigate = 0;
  int residual_must_mitigate = 0;
  std::string highest_risk;
  std::string highest_residual_risk;
  std::map<std::string, int> by_state;     // residual_state -> findings
  std::map<std::string, int> by_tracking;  // tracking status -> findings (exempt or not)
};

struct Assessment {
  std::string model_name;
  std::string model_file;
  std::string model_description;
  SourceLocation mitigations_where;  // where gaps point in the model file
  std::string catalog_version;
  std::map<std::string, std::string> system_facts;
  ProfileDecision profile;
  // Finding groups, sorted: threat, phase, layer, scope, first element, rule. The number of
  // findings (rule fired on an element) is summary.findings.
  std::vector<Finding> findings;
  std::vector<Gap> gaps;                    // sorted by mitigation id
  std::vector<std::string> declared;        // mitigations declared in place
  std::vector<std::string> beyond_profile;  // declared but not required by the profile
  std::vector<BiaEntry> bia;
  std::vector<PiaExposure> pia;
  StandardsView standards;
  std::vector<Warning> warnings;  // sorted by line, column, kind
  std::string date;               // the assessment date (YYYY-MM-DD) tracking expiry is read at
  Summary summary;
  catalog::RiskMatrix risk_matrix;  // the matrix used (for reports)
};

struct Options {
  // The date risk-tracking expiry is judged at, YYYY-MM-DD (UTC). Empty: today, from the system
  // clock. Tests pass a fixed date.
  std::string today;
  // False: one group per element (every group has one element), the ungrouped view of schema
  // secprof-assessment/2. For tests of the grouping; reports use the default.
  bool group = true;
};

// Runs the assessment. Fails with kInvalidInput, located in the model, when the model declares a
// mitigation the catalog does not know; kInternal when the catalog's rules test a fact the model
// does not provide (a catalog bug).
Result<Assessment> Assess(const catalog::Catalog& cat, const model::Model& model,
                          const Options& options = {});

// The findings that trip `--fail-on level`: residual risk at or above `level`, not exempt by
// risk tracking (accepted or false positive, unexpired). -1 when `level` is not a risk level.
int CountFailing(const Assessment& a, const std::string& level);

// The UTC calendar date (YYYY-MM-DD) of a Unix time.
std::string UtcDate(int64_t unix_seconds);

// Rank of a risk level in the matrix's risk_levels (-1 when unknown). Used by --fail-on.
int RiskRank(const catalog::RiskMatrix& m, const std::string& level);

}  // namespace secprof::assess

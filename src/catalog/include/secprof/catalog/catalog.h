// secprof/catalog/catalog.h — the draft's knowledge as typed, validated data.
//
// The catalog is loaded from the YAML files under catalog/ (compiled into the binary; a directory
// can be given instead) and validated as a whole: every id referenced exists, every enum value is
// known, and any error names the file, line and column. Once loaded it is immutable and can be
// shared between threads.
//
// Stable identifiers (brief section 2): threats T1..T11 (T7.1..T7.4 sub-attacks), profiles
// SecProf_1..SecProf_4, building blocks architecture|model|bootstrapping|network|application,
// phases manufacturing|installation|operation|maintenance|decommissioning|reownership,
// layers thing|application|transport|network|physical, mitigations M.<block>.<name>.
//
//   SECPROF_ASSIGN_OR_RETURN(auto cat, catalog::LoadBuiltin());
//   const catalog::Threat* t = cat->FindThreat("T3");
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "secprof/core/result.h"

namespace secprof::catalog {

// ---- Lifecycle (draft Figure 1) -------------------------------------------------------------

struct Phase {
  std::string id;    // "manufacturing"
  std::string name;  // "Manufacturing"
  std::string description;
  bool figure2 =
      false;  // a column of the draft's Figure 2 (manufacturing, installation, operation)
};

// A lifecycle state of a thing (Figure 1's labels) and the phase it belongs to.
struct LifecycleState {
  std::string id;  // "manufactured", "installed", "commissioned", "operational", ...
  std::string name;
  std::string phase;  // Phase::id
  std::string description;
};

struct Transition {
  std::string from;  // LifecycleState::id
  std::string to;
  std::string event;  // "bootstrapping", "software update", "re-bootstrapping", ...
};

// ---- Layers (draft Figure 2 rows) ------------------------------------------------------------

struct Layer {
  std::string id;    // "thing", "application", "transport", "network", "physical"
  std::string name;  // "Thing's model", "Application layer", ...
  std::string description;
};

// ---- Threats (draft Section 4, plus RFC 8576 additions) -------------------------------------

struct Figure2Cell {
  std::string phase;
  std::string layer;
};

struct Threat {
  std::string id;                   // "T3", "T7.2"
  std::string name;                 // "Eavesdropping"
  std::string description;          // after the draft's text
  std::string parent;               // for sub-attacks ("T7"); empty otherwise
  bool addition = false;            // true for T10/T11 (from RFC 8576, not in the draft)
  std::vector<std::string> phases;  // full lifecycle phases where it occurs
  std::vector<std::string> layers;
  std::vector<Figure2Cell> figure2;      // where the draft's Figure 2 places it (may be empty)
  std::vector<std::string> affects;      // "confidentiality" | "integrity" | "availability"
  std::vector<std::string> references;   // "RFC7925", "RFC8576", ...
  std::vector<std::string> sub_attacks;  // ids of its sub-attacks (T7 only)
};

// Related references that the draft's Figure 2 prints in a cell (RFCs, drafts).
struct Figure2References {
  std::string phase;
  std::string layer;
  std::vector<std::string> references;
};

// ---- References to today's standards -------------------------------------------------------

struct StandardRefs {
  std::vector<std::string> rfc;    // "RFC8613"
  std::vector<std::string> etsi;   // ETSI EN 303 645 provisions, "5.4-1"
  std::vector<std::string> other;  // drafts, IEEE 802.1AR, NIST IR 8259A capability names ...
};

// The provisions of ETSI EN 303 645 and the capabilities of NIST IR 8259A that the catalog may
// name, checked against the standards' text (catalog/standards.yaml; docs/CATALOG.md "Standards
// mapping: what was checked"). The loader refuses any other, or an unverified one.
struct StandardItem {
  std::string id;     // "5.4-1" | "device_identification"
  std::string title;  // a short summary for reports
  bool verified = false;
  std::vector<std::string> sources;  // ids of StandardsList::sources where the text was read
};

struct StandardSource {
  std::string id;
  std::string title;
  std::string url;
};

struct StandardsList {
  std::string etsi_title, etsi_url;  // the standard and version checked against
  std::string nist_title, nist_url;
  std::vector<StandardSource> sources;
  std::vector<StandardItem> etsi_en_303_645;
  std::vector<StandardItem> nist_ir_8259a;

  const StandardItem* FindEtsi(const std::string& id) const;
  const StandardItem* FindNist(const std::string& id) const;
};

// ---- Mitigations (fills the draft's empty Section 5) ----------------------------------------

struct Condition;  // below, with the model facts

struct Mitigation {
  std::string id;  // "M.boot.voucher"
  std::string name;
  std::string building_block;  // architecture|model|bootstrapping|network|application
                               // (plus "process" for organizational mitigations)
  std::string description;
  std::vector<std::string> counters;  // threat ids
  std::vector<std::string> phases;
  std::vector<std::string> layers;
  StandardRefs references;
  std::vector<std::string> controls;  // domain controls that realize it (free text ids)
  // The lab scenarios (lab.<name>, secprof::lab) that verify it by attacking a live domain
  // (docs/LAB.md); empty when none exists yet. A mitigation that no attack can verify (a
  // process, or a component that does not exist yet) says why in `not_testable` instead.
  std::vector<std::string> verified_by;
  std::string not_testable;
  std::string source;  // where the idea comes from ("earlier revision §7.4")
  // Threats this mitigation knowingly leaves open, as the draft defines it (the first key in the
  // clear of SecProf_1/2 leaves T3 and T4 open at installation). The lab expects these attacks to
  // succeed against a profile that relies on it. A mitigation has `counters` or `accepts` or both.
  std::vector<std::string> accepts;
  // The mitigation that replaces this one in stronger profiles (may be empty). A profile may drop
  // an inherited mitigation only in favour of the one named here.
  std::string superseded_by;
  // Element facts that contradict the mitigation (docs/CATALOG.md): on an element where one of
  // these conditions holds the declared mitigation does not count, and assess warns. DTLS declared
  // for a system does not protect a link the model marks `protection: none`; update mitigations do
  // not patch a thing that cannot be updated. Each condition tests a thing/link/node/asset fact.
  std::vector<Condition> contradicted_by;
};

// ---- Processes (draft Section 6) -------------------------------------------------------------

struct Process {
  std::string id;  // "BIA", "RA", "PIA", "IRPD"
  std::string name;
  std::string description;
  std::vector<std::string> needs;     // inputs
  std::vector<std::string> produces;  // outputs
  std::vector<std::string> phases;
};

// ---- Model facts (catalog/facts.yaml) --------------------------------------------------------
//
// The vocabulary that conditions are written in. The model module computes these facts for a
// system and each of its elements; the catalog only knows their names, types and values.
struct Fact {
  std::string id;                   // "system.central_device"
  std::string scope;                // system|thing|link|node|asset
  std::string type;                 // enum|bool|number
  std::vector<std::string> values;  // enum values, ascending when `ordered`
  bool ordered = false;             // at_least / at_most allowed (always for number)
  std::string description;
};

// ---- Declarative conditions over model facts --------------------------------------------------
//
// A Condition tests one fact of the system model (see docs/MODEL.md, "Facts"). Facts are named
// with dotted ids ("system.central_device", "thing.tamper_resistant", "link.protection") and have
// a string, number or boolean value. Ordered facts (enums listed in FactOrder) compare by rank.
// Exactly one operator is set.
struct Condition {
  std::string fact;
  std::optional<std::string> equals;  // string/bool/number, compared as text
  std::optional<std::string> not_equals;
  std::vector<std::string> in;  // value is one of
  std::vector<std::string> not_in;
  std::optional<std::string> at_least;  // ordered enums and numbers
  std::optional<std::string> at_most;
};

// all() of `all` and any() of `any` (an empty `any` is true). Nested groups are not needed yet.
struct When {
  std::vector<Condition> all;
  std::vector<Condition> any;
};

// ---- Profiles (draft Section 7, earlier revision figures 7 to 11) ----------------------------

struct BuildingBlockRequirements {
  std::string block;                      // architecture|model|bootstrapping|network|application
  std::vector<std::string> requirements;  // the figure's text, one requirement per entry
};

struct StandardsConflict {
  std::string standard;     // "ETSI EN 303 645"
  std::string provision;    // "5.4-1"
  std::string description;  // why the profile, as the draft defines it, conflicts
};

struct StandardsMapping {
  std::vector<std::string> etsi_en_303_645;  // provisions the profile meets when implemented
  std::string owasp_isvs_level;              // "L1" | "L2" | "L3"
  std::string iec_62443_4_2_sl;              // "SL1" .. "SL4"
  std::vector<std::string> nist_ir_8259a;    // capabilities covered
  std::vector<StandardsConflict> conflicts;
};

struct Profile {
  std::string id;           // "SecProf_1"
  int rank = 0;             // 1..4, the order of strength
  std::string name;         // "Home usage"
  std::string application;  // Figure 3 "exemplary IoT application"
  std::string summary;      // Figure 3 "description", verbatim
  std::string description;  // Figure 3 description and Section 7.1 text
  std::map<std::string, std::string> operational_features;  // feature -> what the draft says
  std::vector<BuildingBlockRequirements> building_blocks;   // all five blocks
  std::vector<std::string> mitigations;  // mitigation ids the profile requires (resolved:
                                         // inherited ones first, then `added`)
  std::string extends;                   // the profile it builds on ("as SecProf_2 plus"),
                                         // empty for SecProf_1
  std::vector<std::string> added;        // mitigations it adds to `extends`
  std::vector<std::string> drops;        // inherited mitigations it replaces (each by its
                                         // Mitigation::superseded_by, which it requires)
  // Classification: the system belongs to the highest-ranked profile any of whose triggers holds
  // (SecProf_1 has none: it is the default). Each trigger is a When with a reason.
  struct Trigger {
    When when;
    std::string reason;  // "a central device manages the domain"
    // "draft": the draft's own operational features (Figure 3, Section 7.1); "project": a trigger
    // this project added in the draft's spirit. Reports mark the latter so they are not read as
    // the draft's words.
    std::string source = "draft";
  };
  std::vector<Trigger> triggers;
  StandardsMapping standards;
};

// ---- Threat applicability rules (used by assess) ---------------------------------------------
//
// A rule fires for each model element of its scope whose facts satisfy `when`; the finding names
// the threat, phase, layer and the element, with `why` (a sentence; "{element}" is replaced by
// the element's id).
struct LikelihoodAdjust {
  When when;
  std::string likelihood;  // raises the likelihood to at least this level
};

struct ThreatRule {
  std::string id;      // "R.T3.clear-bootstrap"
  std::string threat;  // "T3"
  std::string scope;   // system|thing|link|asset|node
  std::string phase;
  std::string layer;
  When when;
  std::string why;
  std::string likelihood;               // base likelihood level
  std::vector<LikelihoodAdjust> raise;  // conditional increases
  // The security properties whose asset values give the finding's impact; empty: the threat's
  // `affects`. A rule names more when its consequence reaches further than the threat's usual
  // one (an extracted shared network key hands over integrity and availability of every device).
  std::vector<std::string> affects;
  // Why no mitigation of the profiles that produce this rule can counter it (docs/CATALOG.md,
  // "Catalog self-check"); empty when one can. Reports print it on findings that cannot close.
  std::string uncountered;
};

// ---- Risk matrix (draft Section 6: likelihood x impact -> risk) ------------------------------

struct RiskMatrix {
  std::vector<std::string> likelihood_levels;  // ascending, e.g. low, moderate, high
  std::vector<std::string> impact_levels;      // ascending
  std::vector<std::string> risk_levels;        // ascending, e.g. low, moderate, high
  // risk[l][i] = risk level for likelihood index l and impact index i.
  std::vector<std::vector<std::string>> risk;
  std::vector<std::string> must_mitigate;  // risk levels that must be mitigated
};

// ---- The whole catalog -----------------------------------------------------------------------

struct Catalog {
  std::string version;           // catalog data version, "1.0.0"
  StandardsList standards_list;  // catalog/standards.yaml
  std::vector<Phase> phases;
  std::vector<LifecycleState> states;
  std::vector<Transition> transitions;
  std::vector<Layer> layers;
  std::vector<std::string> building_blocks;
  std::vector<Threat> threats;
  std::vector<Figure2References> figure2_references;
  std::vector<Mitigation> mitigations;
  std::vector<Process> processes;
  std::vector<Profile> profiles;  // sorted by rank
  std::vector<ThreatRule> rules;
  RiskMatrix risk;
  std::vector<Fact> facts;  // the model facts conditions may test

  const Fact* FindFact(const std::string& id) const;

  const Phase* FindPhase(const std::string& id) const;
  const Layer* FindLayer(const std::string& id) const;
  const Threat* FindThreat(const std::string& id) const;
  const Mitigation* FindMitigation(const std::string& id) const;
  const Profile* FindProfile(const std::string& id) const;
  // Mitigations whose `counters` include `threat_id` (or its parent, for sub-attacks).
  std::vector<const Mitigation*> MitigationsFor(const std::string& threat_id) const;
};

// ---- Figure 2, regenerated from the data ----------------------------------------------------
//
// One cell per (Figure 2 phase, layer): the top-level threats whose `figure2` names the cell, in
// catalog order, and the references Figure2References gives for it. Cells are listed phase by
// phase (catalog order), each phase's cells in layer order; empty cells are included, so the grid
// is always phases x layers.
struct Figure2GridCell {
  std::string phase;
  std::string layer;
  std::vector<std::string> threats;     // threat ids ("T3", "T4")
  std::vector<std::string> references;  // as printed in the draft ("RFC7925")
};

struct Figure2Grid {
  std::vector<std::string> phases;  // Phase::id with figure2 == true, in order
  std::vector<std::string> layers;  // Layer::id, in order
  std::vector<Figure2GridCell> cells;
  // The cell at (phase, layer), or nullptr when either is not an axis of the grid.
  const Figure2GridCell* At(const std::string& phase, const std::string& layer) const;
};

// Computes the draft's Figure 2 from a loaded catalog. Never fails.
Figure2Grid ComputeFigure2(const Catalog& cat);

// ---- Loading ---------------------------------------------------------------------------------
//
// The catalog is the files catalog.yaml, facts.yaml, lifecycle.yaml, layers.yaml, threats.yaml,
// mitigations.yaml, processes.yaml, risk.yaml, profiles.yaml and rules.yaml (docs/CATALOG.md gives
// their schemas). Every file must be present; other files are ignored. Loading is strict: unknown
// keys, wrong types, duplicate ids, references to ids that do not exist, conditions on unknown
// facts or with values outside a fact's domain, and a threat that no mitigation counters are all
// errors (ErrorCode::kInvalidInput) located at file:line:col; a missing file is kNotFound.

// Loads the catalog compiled into the binary; errors name files as "catalog/<file>.yaml".
Result<std::shared_ptr<const Catalog>> LoadBuiltin();
// Loads the catalog from a directory laid out like catalog/ in the source tree; errors name files
// as "<dir>/<file>.yaml".
Result<std::shared_ptr<const Catalog>> LoadDirectory(const std::string& dir);

}  // namespace secprof::catalog

// secprof/model/model.h — the system model: an IoT system described for assessment.
//
// A model is a YAML file (documented in docs/MODEL.md) describing a system's operational features,
// its things, infrastructure nodes, links, data flows, data assets, lifecycle facts and the
// mitigations declared in place. Load() validates it strictly: unknown keys, wrong types, duplicate
// ids and dangling references are errors naming file:line:column.
//
// The model knows nothing of the catalog. ComputeFacts() flattens a model into the named facts of
// catalog/facts.yaml ("system.central_device" = "local", "link.protection" = "none", ...), which is
// what profile triggers and threat rules are evaluated against.
//
//   SECPROF_ASSIGN_OR_RETURN(model::Model m, model::LoadFile("examples/home-lighting.yaml"));
//   model::FactSet facts = model::ComputeFacts(m);
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "secprof/core/result.h"

namespace secprof::model {

// Operational features (draft Section 7.1, Figure 3). Empty strings mean "derive from the model".
struct Features {
  std::string network_size;  // small|medium|large; derived from the thing count when empty
  std::string central_device = "none";  // none|local|backend|local_and_backend
  std::string internet = "none";        // none|gateway|direct
  std::string data_value;     // low|moderate|high|critical; derived from assets when empty
  bool multi_vendor = false;  // derived true when things name more than one vendor
  bool adhoc = false;
  bool roaming = false;
  bool ownership_transfer = false;
  std::string physical_exposure = "low";  // low|moderate|high
  bool multi_hop = false;
  SourceLocation where;
};

// One kind of thing (a product) and how many of it the system has.
struct Thing {
  std::string id;
  std::string name;
  std::string device_class = "C2";  // RFC 7228: C0|C1|C2|unconstrained
  int64_t count = 1;
  std::string vendor;
  std::string product;
  std::vector<std::string> capabilities;  // see kThingCapabilities
  std::vector<std::string> groups;
  SourceLocation where;

  bool Has(const std::string& capability) const;
};

// Capabilities a thing may declare.
inline const std::vector<std::string> kThingCapabilities = {
    "tamper_resistant_storage",  // keys are non-extractable (secure element, TPM, PKCS#11 token)
    "updatable",                 // field software update
    "secure_boot",
    "actuator",       // acts on the physical world
    "personal_data",  // senses or stores personal data
    "battery",        // battery or energy harvesting
};

// An infrastructure node: KDC (the draft's 6LBR role), border router, backend manager, proxy,
// gateway.
struct Node {
  std::string id;
  std::string name;
  std::string kind;                // kdc|border_router|backend|proxy|gateway
  std::string location = "local";  // local|cloud
  bool internet_facing = false;
  bool translates = false;  // protocol translation (HTTP-CoAP): sees plaintext
  SourceLocation where;
};

// A communication link between two endpoints (thing or node ids).
struct Link {
  std::string id;
  std::string from;
  std::string to;
  std::string medium = "radio";     // wired|radio|internet
  std::string protection = "none";  // none|link_key|dtls|tls|oscore
  bool multicast = false;
  bool bootstrapping = false;  // first keying material travels here at join
  SourceLocation where;
};

// A data flow from a source to a destination, possibly through intermediate nodes.
struct Flow {
  std::string id;
  std::string from;
  std::string to;
  std::vector<std::string> via;
  std::vector<std::string> assets;
  std::string protection = "none";  // none|hop_by_hop|end_to_end
  SourceLocation where;
};

// A data asset and the value of its security properties (the BIA's input).
struct Asset {
  std::string id;
  std::string description;
  std::string confidentiality = "low";  // low|moderate|high|critical
  std::string integrity = "low";
  std::string availability = "low";
  bool personal = false;
  SourceLocation where;
};

struct Lifecycle {
  std::string installer = "owner";   // owner|professional|vendor
  std::string maintenance = "none";  // none|local|remote
  int64_t lifetime_years = 5;
  bool ownership_changes = false;  // alias of features.ownership_transfer (either sets it)
  SourceLocation where;
};

struct DeclaredMitigation {
  std::string id;  // catalog mitigation id, checked by assess
  std::string note;
  SourceLocation where;
};

// Risk tracking (docs/MODEL.md, "risk_tracking"): a recorded decision about one finding, named by
// the catalog rule that produces it and the model element it is on ("system" for system-wide
// findings), in the manner of Threagile's risk tracking. `accepted` and `false_positive` keep the
// finding out of `--fail-on` until `expires`; `in_progress` and `mitigated` are only reported.
struct RiskDecision {
  std::string rule;     // catalog rule id, "R.T9.radio-jamming"
  std::string element;  // model element id, or "system"
  std::string status;   // one of kTrackingStatuses
  std::string justification;
  std::string by;       // who decided (a person or role)
  std::string date;     // when, YYYY-MM-DD
  std::string expires;  // YYYY-MM-DD, or empty: never
  SourceLocation where;
};

inline const std::vector<std::string> kTrackingStatuses = {"accepted", "in_progress", "mitigated",
                                                           "false_positive"};

// True when `date` is a valid calendar date written YYYY-MM-DD (years 1970..9999).
bool IsIsoDate(const std::string& date);

struct Model {
  std::string file;  // where it was loaded from (for reports and SARIF)
  std::string name;
  std::string description;
  Features features;
  std::vector<Thing> things;
  std::vector<Node> nodes;
  std::vector<Link> links;
  std::vector<Flow> flows;
  std::vector<Asset> assets;
  Lifecycle lifecycle;
  std::vector<DeclaredMitigation> mitigations;
  std::vector<RiskDecision> risk_tracking;  // unique by (rule, element)
  SourceLocation mitigations_where;  // the `mitigations:` key (or the file) for gap locations
};

// Parses and validates a model. `name` is used in error locations.
Result<Model> Parse(const std::string& name, std::string_view text);
Result<Model> LoadFile(const std::string& path);

// ---- Facts -----------------------------------------------------------------------------------

// Facts by name. Values are text: enum values, "true"/"false", or decimal numbers.
using FactMap = std::map<std::string, std::string>;

// One element of the model with the facts that describe it.
struct Element {
  std::string scope;  // system|thing|link|node|asset
  std::string id;     // element id ("system" for the system)
  SourceLocation where;
  // Never null. Elements of a scope whose facts are all equal share one map (ComputeFacts): a
  // fleet of 100,000 things has a few dozen distinct configurations, so the map's identity is a
  // fact class the engine evaluates rules once for.
  std::shared_ptr<const FactMap> facts;
};

struct FactSet {
  Element system;
  std::vector<Element> things, links, nodes, assets;

  // The elements of a scope ("system" yields the system element).
  std::vector<const Element*> Scope(const std::string& scope) const;
};

// Derives every fact of catalog/facts.yaml from the model. Pure and deterministic.
FactSet ComputeFacts(const Model& model);

// Ordering helpers shared with assess: index of a level in low|moderate|high|critical (-1 if
// unknown).
int LevelRank(const std::string& level);

}  // namespace secprof::model

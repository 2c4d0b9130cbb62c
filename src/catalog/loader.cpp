// src/catalog/loader.cpp — strict parsing and cross-validation of the catalog files.
//
// Files are parsed in the order of kCatalogFiles; each parser checks the ids it references against
// what earlier files defined, so every dangling reference is reported at the place it is written.
// Checks that need the whole catalog (every threat countered, threat parents) run at the end and
// are located at the element they are about.
#include "loader.h"

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <utility>

#include "secprof/yamlio/reader.h"

namespace secprof::catalog::internal {
namespace {

using yamlio::Node;

// A string list item together with its node, so that a bad item is reported where it is written.
using Located = std::pair<std::string, Node>;

const std::vector<std::string> kKnownBlocks = {"architecture", "model", "bootstrapping", "network",
                                               "application"};
// Mitigation id prefix for each building block (M.<prefix>.<name>).
const std::map<std::string, std::string> kBlockPrefix = {
    {"architecture", "arch"}, {"model", "model"},     {"bootstrapping", "boot"},
    {"network", "net"},       {"application", "app"}, {"process", "proc"}};
const std::vector<std::string> kScopes = {"system", "thing", "link", "node", "asset"};
const std::vector<std::string> kCia = {"confidentiality", "integrity", "availability"};
const std::vector<std::string> kIsvsLevels = {"L1", "L2", "L3"};
const std::vector<std::string> kIecLevels = {"SL1", "SL2", "SL3", "SL4"};
// NIST IR 8259A, "IoT Device Cybersecurity Capability Core Baseline", section 3.
const std::vector<std::string> kNistCapabilities = {
    "device_identification",        "device_configuration", "data_protection",
    "logical_access_to_interfaces", "software_update",      "cybersecurity_state_awareness"};

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string JoinList(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string Where(const SourceLocation& l) {
  return l.file + ":" + std::to_string(l.line) + ":" + std::to_string(l.column);
}

// Reads an optional list of scalars, keeping each item's node.
Result<std::vector<Located>> LocatedList(const Node& map, std::string_view key) {
  std::vector<Located> out;
  auto n = map.Get(key);
  if (!n || n->IsNull()) return out;
  SECPROF_ASSIGN_OR_RETURN(auto items, n->Items());
  for (const auto& item : items) {
    SECPROF_ASSIGN_OR_RETURN(std::string s, item.AsString());
    out.emplace_back(std::move(s), item);
  }
  return out;
}

std::vector<std::string> Strings(const std::vector<Located>& v) {
  std::vector<std::string> out;
  out.reserve(v.size());
  for (const auto& [s, n] : v) out.push_back(s);
  return out;
}

// A required, non-empty string.
Result<std::string> NonEmpty(const Node& map, std::string_view key) {
  SECPROF_ASSIGN_OR_RETURN(Node n, map.Required(key));
  SECPROF_ASSIGN_OR_RETURN(std::string s, n.AsString());
  if (s.empty()) return Fail(n.MakeError("must not be empty"));
  return s;
}

// Fails at `n` when `value` is not one of `allowed`; `what` names the kind of id.
Status MustBeOneOf(const Node& n, const std::string& value, const std::vector<std::string>& allowed,
                   const std::string& what) {
  if (Contains(allowed, value)) return Ok();
  return Fail(
      n.MakeError("unknown " + what + " '" + value + "' (known: " + JoinList(allowed) + ")"));
}

Status NoDuplicates(const std::vector<Located>& items, const std::string& what) {
  std::set<std::string> seen;
  for (const auto& [s, n] : items) {
    if (!seen.insert(s).second) return Fail(n.MakeError(what + " '" + s + "' is listed twice"));
  }
  return Ok();
}

Status MatchPattern(const Node& n, const std::string& value, const std::regex& re,
                    const std::string& expected) {
  if (std::regex_match(value, re)) return Ok();
  return Fail(n.MakeError("'" + value + "' is not " + expected));
}

class Loader {
 public:
  explicit Loader(const SourceReader& read) : read_(read) {}

  Result<std::shared_ptr<const Catalog>> Run() {
    SECPROF_TRY(Each("catalog.yaml", &Loader::Manifest));
    SECPROF_TRY(Each("facts.yaml", &Loader::Facts));
    SECPROF_TRY(Each("lifecycle.yaml", &Loader::Lifecycle));
    SECPROF_TRY(Each("layers.yaml", &Loader::Layers));
    SECPROF_TRY(Each("threats.yaml", &Loader::Threats));
    SECPROF_TRY(Each("mitigations.yaml", &Loader::Mitigations));
    SECPROF_TRY(Each("processes.yaml", &Loader::Processes));
    SECPROF_TRY(Each("risk.yaml", &Loader::Risk));
    SECPROF_TRY(Each("profiles.yaml", &Loader::Profiles));
    SECPROF_TRY(Each("rules.yaml", &Loader::Rules));
    SECPROF_TRY(EveryThreatCountered());
    return std::shared_ptr<const Catalog>(std::make_shared<Catalog>(std::move(cat_)));
  }

 private:
  using FileParser = Status (Loader::*)(const Node& root);

  Status Each(const std::string& name, FileParser parse) {
    SECPROF_ASSIGN_OR_RETURN(SourceText src, read_(name));
    SECPROF_ASSIGN_OR_RETURN(auto doc, yamlio::Parse(src.display_name, src.text));
    Node root = doc.root();
    if (!root.IsMap()) return Fail(root.MakeError("expected a map at the top of the file"));
    return (this->*parse)(root);
  }

  // Records `id` of kind `what`; fails at `n` if it was defined before.
  Status Define(std::map<std::string, SourceLocation>& seen, const std::string& id, const Node& n,
                const std::string& what) {
    auto [it, fresh] = seen.emplace(id, n.Location());
    if (!fresh) {
      return Fail(n.MakeError("duplicate " + what + " id '" + id + "' (first defined at " +
                              Where(it->second) + ")"));
    }
    return Ok();
  }

  // ---- catalog.yaml ----
  Status Manifest(const Node& root) {
    SECPROF_TRY(root.CheckKeys({"version", "building_blocks"}));
    SECPROF_ASSIGN_OR_RETURN(Node v, root.Required("version"));
    SECPROF_ASSIGN_OR_RETURN(cat_.version, v.AsString());
    static const std::regex kSemver(R"([0-9]+\.[0-9]+\.[0-9]+)");
    SECPROF_TRY(MatchPattern(v, cat_.version, kSemver, "a version like 1.0.0"));
    SECPROF_ASSIGN_OR_RETURN(auto blocks, LocatedList(root, "building_blocks"));
    if (blocks.empty()) return Fail(root.MakeError("missing required key 'building_blocks'"));
    SECPROF_TRY(NoDuplicates(blocks, "building block"));
    for (const auto& [b, n] : blocks)
      SECPROF_TRY(MustBeOneOf(n, b, kKnownBlocks, "building block"));
    cat_.building_blocks = Strings(blocks);
    return Ok();
  }

  // ---- facts.yaml ----
  Status Facts(const Node& root) {
    SECPROF_TRY(root.CheckKeys({"facts"}));
    SECPROF_ASSIGN_OR_RETURN(Node list, root.Required("facts"));
    SECPROF_ASSIGN_OR_RETURN(auto items, list.Items());
    std::map<std::string, SourceLocation> seen;
    for (const auto& item : items) {
      SECPROF_TRY(item.CheckKeys({"id", "scope", "type", "values", "ordered", "description"}));
      Fact f;
      SECPROF_ASSIGN_OR_RETURN(Node idn, item.Required("id"));
      SECPROF_ASSIGN_OR_RETURN(f.id, NonEmpty(item, "id"));
      SECPROF_TRY(Define(seen, f.id, idn, "fact"));
      SECPROF_ASSIGN_OR_RETURN(Node scope, item.Required("scope"));
      SECPROF_ASSIGN_OR_RETURN(f.scope, scope.AsString());
      SECPROF_TRY(MustBeOneOf(scope, f.scope, kScopes, "scope"));
      if (f.id.rfind(f.scope + ".", 0) != 0) {
        return Fail(
            idn.MakeError("fact id '" + f.id + "' must start with its scope '" + f.scope + ".'"));
      }
      SECPROF_ASSIGN_OR_RETURN(f.type, item.RequiredEnum("type", {"enum", "bool", "number"}));
      SECPROF_ASSIGN_OR_RETURN(auto values, LocatedList(item, "values"));
      SECPROF_TRY(NoDuplicates(values, "value"));
      f.values = Strings(values);
      SECPROF_ASSIGN_OR_RETURN(f.ordered, item.OptionalBool("ordered", false));
      SECPROF_ASSIGN_OR_RETURN(f.description, item.OptionalString("description", ""));
      if (f.type == "enum" && f.values.empty()) {
        return Fail(item.MakeError("enum fact '" + f.id + "' needs `values`"));
      }
      if (f.type != "enum" && (!f.values.empty() || item.Get("ordered"))) {
        return Fail(item.MakeError("only enum facts take `values` and `ordered`"));
      }
      if (f.type == "number") f.ordered = true;
      cat_.facts.push_back(std::move(f));
    }
    return Ok();
  }

  // ---- lifecycle.yaml ----
  Status Lifecycle(const Node& root) {
    SECPROF_TRY(root.CheckKeys({"phases", "states", "transitions"}));
    SECPROF_ASSIGN_OR_RETURN(Node phases, root.Required("phases"));
    SECPROF_ASSIGN_OR_RETURN(auto pitems, phases.Items());
    std::map<std::string, SourceLocation> seen;
    for (const auto& item : pitems) {
      SECPROF_TRY(item.CheckKeys({"id", "name", "description", "figure2"}));
      Phase p;
      SECPROF_ASSIGN_OR_RETURN(p.id, NonEmpty(item, "id"));
      SECPROF_TRY(Define(seen, p.id, *item.Get("id"), "phase"));
      SECPROF_ASSIGN_OR_RETURN(p.name, NonEmpty(item, "name"));
      SECPROF_ASSIGN_OR_RETURN(p.description, item.OptionalString("description", ""));
      SECPROF_ASSIGN_OR_RETURN(p.figure2, item.OptionalBool("figure2", false));
      phase_ids_.push_back(p.id);
      cat_.phases.push_back(std::move(p));
    }
    SECPROF_ASSIGN_OR_RETURN(Node states, root.Required("states"));
    SECPROF_ASSIGN_OR_RETURN(auto sitems, states.Items());
    std::map<std::string, SourceLocation> seen_states;
    std::vector<std::string> state_ids;
    for (const auto& item : sitems) {
      SECPROF_TRY(item.CheckKeys({"id", "name", "phase", "description"}));
      LifecycleState s;
      SECPROF_ASSIGN_OR_RETURN(s.id, NonEmpty(item, "id"));
      SECPROF_TRY(Define(seen_states, s.id, *item.Get("id"), "state"));
      SECPROF_ASSIGN_OR_RETURN(s.name, NonEmpty(item, "name"));
      SECPROF_ASSIGN_OR_RETURN(s.phase, NonEmpty(item, "phase"));
      SECPROF_TRY(MustBeOneOf(*item.Get("phase"), s.phase, phase_ids_, "phase"));
      SECPROF_ASSIGN_OR_RETURN(s.description, item.OptionalString("description", ""));
      state_ids.push_back(s.id);
      cat_.states.push_back(std::move(s));
    }
    SECPROF_ASSIGN_OR_RETURN(Node transitions, root.Required("transitions"));
    SECPROF_ASSIGN_OR_RETURN(auto titems, transitions.Items());
    std::set<std::pair<std::string, std::string>> edges;
    for (const auto& item : titems) {
      SECPROF_TRY(item.CheckKeys({"from", "to", "event"}));
      Transition t;
      SECPROF_ASSIGN_OR_RETURN(t.from, NonEmpty(item, "from"));
      SECPROF_TRY(MustBeOneOf(*item.Get("from"), t.from, state_ids, "state"));
      SECPROF_ASSIGN_OR_RETURN(t.to, NonEmpty(item, "to"));
      SECPROF_TRY(MustBeOneOf(*item.Get("to"), t.to, state_ids, "state"));
      SECPROF_ASSIGN_OR_RETURN(t.event, NonEmpty(item, "event"));
      if (!edges.emplace(t.from, t.to).second) {
        return Fail(item.MakeError("transition " + t.from + " -> " + t.to + " is listed twice"));
      }
      cat_.transitions.push_back(std::move(t));
    }
    return Ok();
  }

  // ---- layers.yaml ----
  Status Layers(const Node& root) {
    SECPROF_TRY(root.CheckKeys({"layers"}));
    SECPROF_ASSIGN_OR_RETURN(Node list, root.Required("layers"));
    SECPROF_ASSIGN_OR_RETURN(auto items, list.Items());
    std::map<std::string, SourceLocation> seen;
    for (const auto& item : items) {
      SECPROF_TRY(item.CheckKeys({"id", "name", "description"}));
      Layer l;
      SECPROF_ASSIGN_OR_RETURN(l.id, NonEmpty(item, "id"));
      SECPROF_TRY(Define(seen, l.id, *item.Get("id"), "layer"));
      SECPROF_ASSIGN_OR_RETURN(l.name, NonEmpty(item, "name"));
      SECPROF_ASSIGN_OR_RETURN(l.description, item.OptionalString("description", ""));
      layer_ids_.push_back(l.id);
      cat_.layers.push_back(std::move(l));
    }
    return Ok();
  }

  // Validates a list of phase or layer ids.
  Result<std::vector<std::string>> IdList(const Node& map, std::string_view key,
                                          const std::vector<std::string>& known,
                                          const std::string& what, bool required) {
    SECPROF_ASSIGN_OR_RETURN(auto items, LocatedList(map, key));
    if (required && items.empty()) {
      return Fail(map.MakeError("`" + std::string(key) + "` must list at least one " + what));
    }
    SECPROF_TRY(NoDuplicates(items, what));
    for (const auto& [s, n] : items) SECPROF_TRY(MustBeOneOf(n, s, known, what));
    return Strings(items);
  }

  std::vector<std::string> Figure2Phases() const {
    std::vector<std::string> out;
    for (const auto& p : cat_.phases) {
      if (p.figure2) out.push_back(p.id);
    }
    return out;
  }

  Result<Figure2Cell> Cell(const Node& item) {
    SECPROF_TRY(item.CheckKeys({"phase", "layer", "references"}));
    Figure2Cell c;
    SECPROF_ASSIGN_OR_RETURN(c.phase, NonEmpty(item, "phase"));
    const Node pn = *item.Get("phase");
    SECPROF_TRY(MustBeOneOf(pn, c.phase, phase_ids_, "phase"));
    if (!Contains(Figure2Phases(), c.phase)) {
      return Fail(pn.MakeError("phase '" + c.phase + "' is not a column of Figure 2 (" +
                               JoinList(Figure2Phases()) + ")"));
    }
    SECPROF_ASSIGN_OR_RETURN(c.layer, NonEmpty(item, "layer"));
    SECPROF_TRY(MustBeOneOf(*item.Get("layer"), c.layer, layer_ids_, "layer"));
    return c;
  }

  // ---- threats.yaml ----
  Status Threats(const Node& root) {
    SECPROF_TRY(root.CheckKeys({"threats", "figure2_references"}));
    SECPROF_ASSIGN_OR_RETURN(Node list, root.Required("threats"));
    SECPROF_ASSIGN_OR_RETURN(auto items, list.Items());
    static const std::regex kThreatId(R"(T[0-9]+(\.[0-9]+)?)");
    std::vector<std::pair<std::string, Node>> parents;  // (parent id, node of `parent`)
    for (const auto& item : items) {
      SECPROF_TRY(item.CheckKeys({"id", "name", "description", "parent", "addition", "phases",
                                  "layers", "figure2", "affects", "references"}));
      Threat t;
      SECPROF_ASSIGN_OR_RETURN(t.id, NonEmpty(item, "id"));
      const Node idn = *item.Get("id");
      SECPROF_TRY(MatchPattern(idn, t.id, kThreatId, "a threat id like T3 or T7.2"));
      SECPROF_TRY(Define(threat_seen_, t.id, idn, "threat"));
      SECPROF_ASSIGN_OR_RETURN(t.name, NonEmpty(item, "name"));
      SECPROF_ASSIGN_OR_RETURN(t.description, NonEmpty(item, "description"));
      SECPROF_ASSIGN_OR_RETURN(t.parent, item.OptionalString("parent", ""));
      if (!t.parent.empty()) {
        if (t.id.rfind(t.parent + ".", 0) != 0) {
          return Fail(item.Get("parent")->MakeError(
              "sub-attack '" + t.id + "' must be numbered under its parent '" + t.parent + "'"));
        }
        parents.emplace_back(t.parent, *item.Get("parent"));
      } else if (t.id.find('.') != std::string::npos) {
        return Fail(idn.MakeError("sub-attack '" + t.id + "' needs a `parent`"));
      }
      SECPROF_ASSIGN_OR_RETURN(t.addition, item.OptionalBool("addition", false));
      SECPROF_ASSIGN_OR_RETURN(t.phases, IdList(item, "phases", phase_ids_, "phase", true));
      SECPROF_ASSIGN_OR_RETURN(t.layers, IdList(item, "layers", layer_ids_, "layer", true));
      SECPROF_ASSIGN_OR_RETURN(t.affects, IdList(item, "affects", kCia, "security goal", true));
      SECPROF_ASSIGN_OR_RETURN(auto refs, LocatedList(item, "references"));
      SECPROF_TRY(NoDuplicates(refs, "reference"));
      t.references = Strings(refs);
      if (auto f2 = item.Get("figure2"); f2 && !f2->IsNull()) {
        SECPROF_ASSIGN_OR_RETURN(auto cells, f2->Items());
        std::set<std::pair<std::string, std::string>> seen_cells;
        for (const auto& cn : cells) {
          if (cn.Get("references"))
            return Fail(
                cn.Get("references")
                    ->MakeError("references of a Figure 2 cell belong in `figure2_references`"));
          SECPROF_ASSIGN_OR_RETURN(Figure2Cell c, Cell(cn));
          if (!Contains(t.phases, c.phase) || !Contains(t.layers, c.layer)) {
            return Fail(cn.MakeError("Figure 2 cell " + c.phase + " x " + c.layer +
                                     " is outside the threat's own phases and layers"));
          }
          if (!seen_cells.emplace(c.phase, c.layer).second) {
            return Fail(
                cn.MakeError("Figure 2 cell " + c.phase + " x " + c.layer + " is listed twice"));
          }
          t.figure2.push_back(std::move(c));
        }
      }
      if ((t.addition || !t.parent.empty()) && !t.figure2.empty()) {
        return Fail(item.Get("figure2")->MakeError(
            "additions and sub-attacks are not in the draft's Figure 2"));
      }
      cat_.threats.push_back(std::move(t));
    }
    for (const auto& [parent, n] : parents) {
      Threat* p = FindThreatMutable(parent);
      if (!p) return Fail(n.MakeError("unknown threat '" + parent + "'"));
      if (!p->parent.empty()) return Fail(n.MakeError("sub-attacks cannot be nested"));
    }
    for (const auto& t : cat_.threats) {
      if (!t.parent.empty()) FindThreatMutable(t.parent)->sub_attacks.push_back(t.id);
    }
    // Figure 2's references per cell.
    if (auto refs = root.Get("figure2_references"); refs && !refs->IsNull()) {
      SECPROF_ASSIGN_OR_RETURN(auto cells, refs->Items());
      std::set<std::pair<std::string, std::string>> seen_cells;
      for (const auto& cn : cells) {
        SECPROF_ASSIGN_OR_RETURN(Figure2Cell c, Cell(cn));
        if (!seen_cells.emplace(c.phase, c.layer).second) {
          return Fail(
              cn.MakeError("Figure 2 cell " + c.phase + " x " + c.layer + " is listed twice"));
        }
        SECPROF_ASSIGN_OR_RETURN(auto list, LocatedList(cn, "references"));
        if (list.empty()) return Fail(cn.MakeError("`references` must not be empty"));
        SECPROF_TRY(NoDuplicates(list, "reference"));
        cat_.figure2_references.push_back({c.phase, c.layer, Strings(list)});
      }
    }
    for (const auto& t : cat_.threats) threat_ids_.push_back(t.id);
    return Ok();
  }

  Threat* FindThreatMutable(const std::string& id) {
    for (auto& t : cat_.threats) {
      if (t.id == id) return &t;
    }
    return nullptr;
  }

  // ---- mitigations.yaml ----
  Status Mitigations(const Node& root) {
    SECPROF_TRY(root.CheckKeys({"mitigations"}));
    SECPROF_ASSIGN_OR_RETURN(Node list, root.Required("mitigations"));
    SECPROF_ASSIGN_OR_RETURN(auto items, list.Items());
    static const std::regex kMitigationId(R"(M\.([a-z]+)\.[a-z0-9_]+)");
    static const std::regex kRfc(R"(RFC[0-9]+)");
    static const std::regex kEtsi(R"([0-9]+(\.[0-9]+)?-[0-9]+)");
    static const std::regex kControl(R"([a-z0-9_]+(\.[a-z0-9_]+)+)");
    static const std::regex kLab(R"(lab\.[a-z0-9_]+)");
    std::vector<std::string> blocks = cat_.building_blocks;
    blocks.push_back("process");
    std::vector<std::pair<std::string, Node>> supersessions;
    for (const auto& item : items) {
      SECPROF_TRY(item.CheckKeys({"id", "name", "building_block", "description", "counters",
                                  "accepts", "superseded_by", "phases", "layers", "references",
                                  "controls", "lab_scenario", "source"}));
      Mitigation m;
      SECPROF_ASSIGN_OR_RETURN(m.id, NonEmpty(item, "id"));
      const Node idn = *item.Get("id");
      std::smatch match;
      if (!std::regex_match(m.id, match, kMitigationId)) {
        return Fail(idn.MakeError("'" + m.id + "' is not a mitigation id like M.boot.voucher"));
      }
      SECPROF_TRY(Define(mitigation_seen_, m.id, idn, "mitigation"));
      SECPROF_ASSIGN_OR_RETURN(m.name, NonEmpty(item, "name"));
      SECPROF_ASSIGN_OR_RETURN(m.building_block, NonEmpty(item, "building_block"));
      SECPROF_TRY(
          MustBeOneOf(*item.Get("building_block"), m.building_block, blocks, "building block"));
      const std::string prefix = kBlockPrefix.at(m.building_block);
      if (match[1].str() != prefix) {
        return Fail(idn.MakeError("mitigation of building block '" + m.building_block +
                                  "' must have an id starting with M." + prefix + "."));
      }
      SECPROF_ASSIGN_OR_RETURN(m.description, NonEmpty(item, "description"));
      SECPROF_ASSIGN_OR_RETURN(m.counters, IdList(item, "counters", threat_ids_, "threat", false));
      SECPROF_ASSIGN_OR_RETURN(m.accepts, IdList(item, "accepts", threat_ids_, "threat", false));
      if (m.counters.empty() && m.accepts.empty()) {
        return Fail(item.MakeError("mitigation '" + m.id +
                                   "' must name the threats it `counters` (or `accepts`)"));
      }
      for (const auto& a : m.accepts) {
        if (Contains(m.counters, a)) {
          return Fail(
              item.Get("accepts")->MakeError("threat '" + a + "' is both countered and accepted"));
        }
      }
      SECPROF_ASSIGN_OR_RETURN(m.superseded_by, item.OptionalString("superseded_by", ""));
      if (!m.superseded_by.empty())
        supersessions.emplace_back(m.superseded_by, *item.Get("superseded_by"));
      SECPROF_ASSIGN_OR_RETURN(m.phases, IdList(item, "phases", phase_ids_, "phase", true));
      SECPROF_ASSIGN_OR_RETURN(m.layers, IdList(item, "layers", layer_ids_, "layer", true));
      if (auto refs = item.Get("references"); refs && !refs->IsNull()) {
        SECPROF_TRY(refs->CheckKeys({"rfc", "etsi", "other"}));
        SECPROF_ASSIGN_OR_RETURN(auto rfc, LocatedList(*refs, "rfc"));
        SECPROF_TRY(NoDuplicates(rfc, "RFC"));
        for (const auto& [s, n] : rfc) SECPROF_TRY(MatchPattern(n, s, kRfc, "an RFC like RFC8613"));
        SECPROF_ASSIGN_OR_RETURN(auto etsi, LocatedList(*refs, "etsi"));
        SECPROF_TRY(NoDuplicates(etsi, "provision"));
        for (const auto& [s, n] : etsi) {
          SECPROF_TRY(MatchPattern(n, s, kEtsi, "an EN 303 645 provision like 5.4-1"));
        }
        SECPROF_ASSIGN_OR_RETURN(auto other, LocatedList(*refs, "other"));
        m.references = {Strings(rfc), Strings(etsi), Strings(other)};
      }
      SECPROF_ASSIGN_OR_RETURN(auto controls, LocatedList(item, "controls"));
      SECPROF_TRY(NoDuplicates(controls, "control"));
      for (const auto& [s, n] : controls) {
        SECPROF_TRY(MatchPattern(n, s, kControl, "a control id like kdc.voucher_check"));
      }
      m.controls = Strings(controls);
      SECPROF_ASSIGN_OR_RETURN(m.lab_scenario, item.OptionalString("lab_scenario", ""));
      if (!m.lab_scenario.empty()) {
        SECPROF_TRY(MatchPattern(*item.Get("lab_scenario"), m.lab_scenario, kLab,
                                 "a lab scenario id like lab.clone"));
      }
      SECPROF_ASSIGN_OR_RETURN(m.source, NonEmpty(item, "source"));
      cat_.mitigations.push_back(std::move(m));
    }
    for (const auto& m : cat_.mitigations) mitigation_ids_.push_back(m.id);
    for (const auto& [id, n] : supersessions) {
      SECPROF_TRY(MustBeOneOf(n, id, mitigation_ids_, "mitigation"));
    }
    return Ok();
  }

  // ---- processes.yaml ----
  Status Processes(const Node& root) {
    SECPROF_TRY(root.CheckKeys({"processes"}));
    SECPROF_ASSIGN_OR_RETURN(Node list, root.Required("processes"));
    SECPROF_ASSIGN_OR_RETURN(auto items, list.Items());
    std::map<std::string, SourceLocation> seen;
    for (const auto& item : items) {
      SECPROF_TRY(item.CheckKeys({"id", "name", "description", "needs", "produces", "phases"}));
      Process p;
      SECPROF_ASSIGN_OR_RETURN(p.id, NonEmpty(item, "id"));
      SECPROF_TRY(Define(seen, p.id, *item.Get("id"), "process"));
      SECPROF_ASSIGN_OR_RETURN(p.name, NonEmpty(item, "name"));
      SECPROF_ASSIGN_OR_RETURN(p.description, NonEmpty(item, "description"));
      SECPROF_ASSIGN_OR_RETURN(p.needs, item.OptionalStringList("needs"));
      SECPROF_ASSIGN_OR_RETURN(p.produces, item.OptionalStringList("produces"));
      if (p.needs.empty() || p.produces.empty()) {
        return Fail(item.MakeError("process '" + p.id + "' must list what it needs and produces"));
      }
      SECPROF_ASSIGN_OR_RETURN(p.phases, IdList(item, "phases", phase_ids_, "phase", true));
      cat_.processes.push_back(std::move(p));
    }
    return Ok();
  }

  // ---- risk.yaml ----
  Status Risk(const Node& root) {
    SECPROF_TRY(root.CheckKeys(
        {"likelihood_levels", "impact_levels", "risk_levels", "matrix", "must_mitigate"}));
    RiskMatrix& r = cat_.risk;
    for (auto [key, out] :
         {std::pair{"likelihood_levels", &r.likelihood_levels},
          std::pair{"impact_levels", &r.impact_levels}, std::pair{"risk_levels", &r.risk_levels}}) {
      SECPROF_ASSIGN_OR_RETURN(auto levels, LocatedList(root, key));
      if (levels.empty())
        return Fail(root.MakeError(std::string("`") + key + "` must list at least one level"));
      SECPROF_TRY(NoDuplicates(levels, "level"));
      *out = Strings(levels);
    }
    SECPROF_ASSIGN_OR_RETURN(Node matrix, root.Required("matrix"));
    SECPROF_ASSIGN_OR_RETURN(auto rows, matrix.Entries());
    std::vector<std::string> keys;
    for (const auto& [k, n] : rows) keys.push_back(k);
    for (size_t i = 0; i < rows.size(); ++i) {
      if (i >= r.likelihood_levels.size() || rows[i].first != r.likelihood_levels[i]) {
        return Fail(
            matrix.MakeError("matrix rows must be exactly the likelihood levels in order (" +
                             JoinList(r.likelihood_levels) + "), found " + JoinList(keys)));
      }
    }
    if (rows.size() != r.likelihood_levels.size()) {
      return Fail(matrix.MakeError("matrix rows must be exactly the likelihood levels in order (" +
                                   JoinList(r.likelihood_levels) + "), found " + JoinList(keys)));
    }
    auto rank = [&](const std::string& level) {
      return std::find(r.risk_levels.begin(), r.risk_levels.end(), level) - r.risk_levels.begin();
    };
    for (size_t l = 0; l < rows.size(); ++l) {
      SECPROF_ASSIGN_OR_RETURN(auto cells, rows[l].second.Items());
      if (cells.size() != r.impact_levels.size()) {
        return Fail(rows[l].second.MakeError(
            "row '" + rows[l].first + "' must have one risk level per impact level (" +
            std::to_string(r.impact_levels.size()) + "), found " + std::to_string(cells.size())));
      }
      std::vector<std::string> row;
      for (size_t i = 0; i < cells.size(); ++i) {
        SECPROF_ASSIGN_OR_RETURN(std::string v, cells[i].AsString());
        SECPROF_TRY(MustBeOneOf(cells[i], v, r.risk_levels, "risk level"));
        // Risk must not fall when likelihood or impact rises: residual-risk reasoning relies on it.
        if ((i > 0 && rank(v) < rank(row[i - 1])) || (l > 0 && rank(v) < rank(r.risk[l - 1][i]))) {
          return Fail(cells[i].MakeError("risk must not decrease as likelihood or impact grows"));
        }
        row.push_back(v);
      }
      r.risk.push_back(std::move(row));
    }
    SECPROF_ASSIGN_OR_RETURN(auto must, LocatedList(root, "must_mitigate"));
    SECPROF_TRY(NoDuplicates(must, "level"));
    for (const auto& [s, n] : must) SECPROF_TRY(MustBeOneOf(n, s, r.risk_levels, "risk level"));
    r.must_mitigate = Strings(must);
    return Ok();
  }

  // ---- conditions (profiles.yaml triggers, rules.yaml) ----

  // Checks that `value` is in the domain of fact `f`.
  Status ValueOk(const Fact& f, const std::string& value, const Node& n) {
    if (f.type == "enum") {
      if (!Contains(f.values, value)) {
        return Fail(n.MakeError("'" + value + "' is not a value of fact " + f.id +
                                " (values: " + JoinList(f.values) + ")"));
      }
    } else if (f.type == "bool") {
      if (value != "true" && value != "false") {
        return Fail(n.MakeError("fact " + f.id + " is a bool: expected true or false, found '" +
                                value + "'"));
      }
    } else {
      auto d = n.AsDouble();
      if (!d) return Fail(n.MakeError("fact " + f.id + " is a number: found '" + value + "'"));
    }
    return Ok();
  }

  // `scope`: the scope of the element the condition is evaluated on (facts of that scope and of
  // the system may be tested). `monotone`: only conditions that can only turn from false to true
  // as the fact grows are allowed (at_least; equals true on a bool).
  Result<Condition> ParseCondition(const Node& n, const std::string& scope, bool monotone) {
    SECPROF_TRY(
        n.CheckKeys({"fact", "equals", "not_equals", "in", "not_in", "at_least", "at_most"}));
    Condition c;
    SECPROF_ASSIGN_OR_RETURN(c.fact, NonEmpty(n, "fact"));
    const Node fn = *n.Get("fact");
    const Fact* f = cat_.FindFact(c.fact);
    if (!f) return Fail(fn.MakeError("unknown fact '" + c.fact + "' (see catalog/facts.yaml)"));
    if (f->scope != "system" && f->scope != scope) {
      return Fail(fn.MakeError("fact '" + c.fact + "' belongs to scope '" + f->scope +
                               "'; a condition on a " + scope +
                               " may test only its own and system facts"));
    }
    int ops = 0;
    std::string op;
    for (const char* key : {"equals", "not_equals", "in", "not_in", "at_least", "at_most"}) {
      if (n.Get(key)) {
        ++ops;
        op = key;
      }
    }
    if (ops != 1) {
      return Fail(
          n.MakeError("a condition needs exactly one of equals, not_equals, in, not_in, "
                      "at_least, at_most"));
    }
    const Node vn = *n.Get(op);
    if (op == "in" || op == "not_in") {
      SECPROF_ASSIGN_OR_RETURN(auto values, LocatedList(n, op));
      if (values.empty()) return Fail(vn.MakeError("`" + op + "` needs at least one value"));
      for (const auto& [v, node] : values) SECPROF_TRY(ValueOk(*f, v, node));
      (op == "in" ? c.in : c.not_in) = Strings(values);
    } else {
      SECPROF_ASSIGN_OR_RETURN(std::string v, vn.AsString());
      SECPROF_TRY(ValueOk(*f, v, vn));
      if ((op == "at_least" || op == "at_most") && !f->ordered) {
        return Fail(
            vn.MakeError("`" + op + "` needs an ordered fact; " + f->id + " is not ordered"));
      }
      if (op == "equals") c.equals = v;
      if (op == "not_equals") c.not_equals = v;
      if (op == "at_least") c.at_least = v;
      if (op == "at_most") c.at_most = v;
    }
    if (monotone) {
      const bool ok =
          op == "at_least" || (op == "equals" && f->type == "bool" && *c.equals == "true");
      if (!ok) {
        return Fail(
            vn.MakeError("profile triggers must be monotone: use at_least, or equals "
                         "\"true\" on a bool fact"));
      }
    }
    return c;
  }

  Result<When> ParseWhen(const Node& n, const std::string& scope, bool monotone) {
    SECPROF_TRY(n.CheckKeys({"all", "any"}));
    When w;
    for (auto [key, out] : {std::pair{"all", &w.all}, std::pair{"any", &w.any}}) {
      auto list = n.Get(key);
      if (!list || list->IsNull()) continue;
      SECPROF_ASSIGN_OR_RETURN(auto items, list->Items());
      for (const auto& item : items) {
        SECPROF_ASSIGN_OR_RETURN(Condition c, ParseCondition(item, scope, monotone));
        out->push_back(std::move(c));
      }
    }
    if (w.all.empty() && w.any.empty()) {
      return Fail(n.MakeError("`when` needs at least one condition under `all` or `any`"));
    }
    return w;
  }

  // ---- profiles.yaml ----
  Status Profiles(const Node& root) {
    SECPROF_TRY(root.CheckKeys({"profiles"}));
    SECPROF_ASSIGN_OR_RETURN(Node list, root.Required("profiles"));
    SECPROF_ASSIGN_OR_RETURN(auto items, list.Items());
    std::map<std::string, SourceLocation> seen;
    std::set<int64_t> ranks;
    static const std::regex kEtsi(R"([0-9]+(\.[0-9]+)?-[0-9]+)");
    for (const auto& item : items) {
      SECPROF_TRY(item.CheckKeys({"id", "rank", "name", "application", "summary", "description",
                                  "operational_features", "building_blocks", "extends",
                                  "mitigations", "drops", "standards", "triggers"}));
      Profile p;
      SECPROF_ASSIGN_OR_RETURN(p.id, NonEmpty(item, "id"));
      SECPROF_TRY(Define(seen, p.id, *item.Get("id"), "profile"));
      SECPROF_ASSIGN_OR_RETURN(int64_t rank, item.RequiredInt("rank"));
      if (rank < 1 || !ranks.insert(rank).second) {
        return Fail(
            item.Get("rank")->MakeError("rank must be a positive number unique among "
                                        "profiles"));
      }
      p.rank = static_cast<int>(rank);
      SECPROF_ASSIGN_OR_RETURN(p.name, NonEmpty(item, "name"));
      SECPROF_ASSIGN_OR_RETURN(p.application, NonEmpty(item, "application"));
      SECPROF_ASSIGN_OR_RETURN(p.summary, NonEmpty(item, "summary"));
      SECPROF_ASSIGN_OR_RETURN(p.description, NonEmpty(item, "description"));
      SECPROF_ASSIGN_OR_RETURN(Node feats, item.Required("operational_features"));
      SECPROF_ASSIGN_OR_RETURN(auto entries, feats.Entries());
      SECPROF_TRY(feats.CheckKeys(KeysOf(entries)));  // rejects a feature given twice
      for (const auto& [k, v] : entries) {
        SECPROF_ASSIGN_OR_RETURN(std::string s, v.AsString());
        p.operational_features[k] = s;
      }
      // Building blocks: a map block -> list of requirements; all blocks, none unknown.
      SECPROF_ASSIGN_OR_RETURN(Node bb, item.Required("building_blocks"));
      SECPROF_TRY(bb.CheckKeys(cat_.building_blocks));
      for (const auto& block : cat_.building_blocks) {
        auto reqs = bb.Get(block);
        if (!reqs) return Fail(bb.MakeError("missing building block '" + block + "'"));
        SECPROF_ASSIGN_OR_RETURN(auto list2, reqs->AsStringList());
        if (list2.empty()) return Fail(reqs->MakeError("list at least one requirement"));
        p.building_blocks.push_back({block, std::move(list2)});
      }
      // Mitigations: own list, plus the resolved list of `extends` minus `drops`.
      SECPROF_ASSIGN_OR_RETURN(p.extends, item.OptionalString("extends", ""));
      std::vector<std::string> inherited;
      if (!p.extends.empty()) {
        const Node en = *item.Get("extends");
        const Profile* base = FindProfile(p.extends);
        if (!base)
          return Fail(en.MakeError("unknown profile '" + p.extends +
                                   "' (a profile can extend only one listed before it)"));
        if (base->rank >= p.rank) {
          return Fail(en.MakeError("a profile can extend only a lower-ranked one"));
        }
        inherited = base->mitigations;
      }
      SECPROF_ASSIGN_OR_RETURN(auto own, LocatedList(item, "mitigations"));
      SECPROF_TRY(NoDuplicates(own, "mitigation"));
      for (const auto& [id, n] : own) {
        SECPROF_TRY(MustBeOneOf(n, id, mitigation_ids_, "mitigation"));
        if (Contains(inherited, id)) {
          return Fail(
              n.MakeError("mitigation '" + id + "' is already inherited from " + p.extends));
        }
      }
      p.added = Strings(own);
      SECPROF_ASSIGN_OR_RETURN(auto drops, LocatedList(item, "drops"));
      SECPROF_TRY(NoDuplicates(drops, "mitigation"));
      for (const auto& [id, n] : drops) {
        if (!Contains(inherited, id)) {
          return Fail(n.MakeError("'" + id + "' is not inherited, so it cannot be dropped"));
        }
      }
      p.drops = Strings(drops);
      for (const auto& id : inherited) {
        if (!Contains(p.drops, id)) p.mitigations.push_back(id);
      }
      for (const auto& id : p.added) p.mitigations.push_back(id);
      for (const auto& [id, n] : drops) {
        const Mitigation* m = cat_.FindMitigation(id);
        if (m->superseded_by.empty() || !Contains(p.mitigations, m->superseded_by)) {
          return Fail(n.MakeError("'" + id +
                                  "' may be dropped only in favour of its "
                                  "`superseded_by`, which the profile must require"));
        }
      }
      if (p.mitigations.empty()) return Fail(item.MakeError("a profile needs mitigations"));
      SECPROF_TRY(Standards(item, p, kEtsi));
      // Triggers: system-scope, monotone conditions.
      if (auto trig = item.Get("triggers"); trig && !trig->IsNull()) {
        SECPROF_ASSIGN_OR_RETURN(auto titems, trig->Items());
        for (const auto& t : titems) {
          SECPROF_TRY(t.CheckKeys({"when", "reason"}));
          Profile::Trigger tr;
          SECPROF_ASSIGN_OR_RETURN(Node wn, t.Required("when"));
          SECPROF_ASSIGN_OR_RETURN(tr.when, ParseWhen(wn, "system", true));
          SECPROF_ASSIGN_OR_RETURN(tr.reason, NonEmpty(t, "reason"));
          p.triggers.push_back(std::move(tr));
        }
      }
      cat_.profiles.push_back(std::move(p));
    }
    if (cat_.profiles.empty()) return Fail(list.MakeError("list at least one profile"));
    std::stable_sort(cat_.profiles.begin(), cat_.profiles.end(),
                     [](const Profile& a, const Profile& b) { return a.rank < b.rank; });
    if (!cat_.profiles.front().triggers.empty()) {
      return Fail(list.MakeError("the lowest-ranked profile is the default and takes no triggers"));
    }
    for (size_t i = 1; i < cat_.profiles.size(); ++i) {
      if (cat_.profiles[i].triggers.empty()) {
        return Fail(list.MakeError("profile " + cat_.profiles[i].id +
                                   " has no triggers, so no system could belong to it"));
      }
    }
    return Ok();
  }

  static std::vector<std::string> KeysOf(const std::vector<std::pair<std::string, Node>>& e) {
    std::vector<std::string> out;
    for (const auto& [k, n] : e) out.push_back(k);
    return out;
  }

  const Profile* FindProfile(const std::string& id) const {
    for (const auto& p : cat_.profiles) {
      if (p.id == id) return &p;
    }
    return nullptr;
  }

  // Reads the standards mapping of profile `p` (whose mitigations are resolved already). A
  // provision claimed as met must be referenced by one of the profile's mitigations.
  Status Standards(const Node& item, Profile& p, const std::regex& etsi_re) {
    StandardsMapping& s = p.standards;
    std::set<std::string> referenced;
    for (const auto& id : p.mitigations) {
      for (const auto& e : cat_.FindMitigation(id)->references.etsi) referenced.insert(e);
    }
    SECPROF_ASSIGN_OR_RETURN(Node sn, item.Required("standards"));
    SECPROF_TRY(sn.CheckKeys(
        {"etsi_en_303_645", "owasp_isvs_level", "iec_62443_4_2_sl", "nist_ir_8259a", "conflicts"}));
    SECPROF_ASSIGN_OR_RETURN(auto etsi, LocatedList(sn, "etsi_en_303_645"));
    SECPROF_TRY(NoDuplicates(etsi, "provision"));
    for (const auto& [v, n] : etsi) {
      SECPROF_TRY(MatchPattern(n, v, etsi_re, "an EN 303 645 provision like 5.4-1"));
      if (!referenced.count(v)) {
        return Fail(n.MakeError("provision " + v + " is claimed as met, but none of " + p.id +
                                "'s mitigations references it"));
      }
    }
    s.etsi_en_303_645 = Strings(etsi);
    SECPROF_ASSIGN_OR_RETURN(Node isvs, sn.Required("owasp_isvs_level"));
    SECPROF_ASSIGN_OR_RETURN(s.owasp_isvs_level, isvs.AsString());
    SECPROF_TRY(MustBeOneOf(isvs, s.owasp_isvs_level, kIsvsLevels, "OWASP ISVS level"));
    SECPROF_ASSIGN_OR_RETURN(Node iec, sn.Required("iec_62443_4_2_sl"));
    SECPROF_ASSIGN_OR_RETURN(s.iec_62443_4_2_sl, iec.AsString());
    SECPROF_TRY(MustBeOneOf(iec, s.iec_62443_4_2_sl, kIecLevels, "IEC 62443-4-2 security level"));
    SECPROF_ASSIGN_OR_RETURN(s.nist_ir_8259a, IdList(sn, "nist_ir_8259a", kNistCapabilities,
                                                     "NIST IR 8259A "
                                                     "capability",
                                                     false));
    if (auto c = sn.Get("conflicts"); c && !c->IsNull()) {
      SECPROF_ASSIGN_OR_RETURN(auto citems, c->Items());
      for (const auto& ci : citems) {
        SECPROF_TRY(ci.CheckKeys({"standard", "provision", "description"}));
        StandardsConflict sc;
        SECPROF_ASSIGN_OR_RETURN(sc.standard, NonEmpty(ci, "standard"));
        SECPROF_ASSIGN_OR_RETURN(sc.provision, NonEmpty(ci, "provision"));
        SECPROF_ASSIGN_OR_RETURN(sc.description, NonEmpty(ci, "description"));
        if (sc.standard == "ETSI EN 303 645") {
          SECPROF_TRY(MatchPattern(*ci.Get("provision"), sc.provision, etsi_re,
                                   "an EN 303 645 provision like 5.4-1"));
          if (Contains(s.etsi_en_303_645, sc.provision)) {
            return Fail(ci.Get("provision")
                            ->MakeError("provision " + sc.provision +
                                        " is listed as both met and in conflict"));
          }
        }
        s.conflicts.push_back(std::move(sc));
      }
    }
    return Ok();
  }

  // ---- rules.yaml ----
  Status Rules(const Node& root) {
    SECPROF_TRY(root.CheckKeys({"rules"}));
    SECPROF_ASSIGN_OR_RETURN(Node list, root.Required("rules"));
    SECPROF_ASSIGN_OR_RETURN(auto items, list.Items());
    std::map<std::string, SourceLocation> seen;
    const auto& levels = cat_.risk.likelihood_levels;
    for (const auto& item : items) {
      SECPROF_TRY(item.CheckKeys(
          {"id", "threat", "scope", "phase", "layer", "likelihood", "why", "when", "raise"}));
      ThreatRule r;
      SECPROF_ASSIGN_OR_RETURN(r.id, NonEmpty(item, "id"));
      SECPROF_TRY(Define(seen, r.id, *item.Get("id"), "rule"));
      SECPROF_ASSIGN_OR_RETURN(r.threat, NonEmpty(item, "threat"));
      SECPROF_TRY(MustBeOneOf(*item.Get("threat"), r.threat, threat_ids_, "threat"));
      SECPROF_ASSIGN_OR_RETURN(r.scope, NonEmpty(item, "scope"));
      SECPROF_TRY(MustBeOneOf(*item.Get("scope"), r.scope, kScopes, "scope"));
      SECPROF_ASSIGN_OR_RETURN(r.phase, NonEmpty(item, "phase"));
      SECPROF_TRY(MustBeOneOf(*item.Get("phase"), r.phase, phase_ids_, "phase"));
      SECPROF_ASSIGN_OR_RETURN(r.layer, NonEmpty(item, "layer"));
      SECPROF_TRY(MustBeOneOf(*item.Get("layer"), r.layer, layer_ids_, "layer"));
      SECPROF_ASSIGN_OR_RETURN(r.likelihood, NonEmpty(item, "likelihood"));
      SECPROF_TRY(MustBeOneOf(*item.Get("likelihood"), r.likelihood, levels, "likelihood level"));
      SECPROF_ASSIGN_OR_RETURN(r.why, NonEmpty(item, "why"));
      SECPROF_ASSIGN_OR_RETURN(Node wn, item.Required("when"));
      SECPROF_ASSIGN_OR_RETURN(r.when, ParseWhen(wn, r.scope, false));
      if (auto raise = item.Get("raise"); raise && !raise->IsNull()) {
        SECPROF_ASSIGN_OR_RETURN(auto ritems, raise->Items());
        for (const auto& ri : ritems) {
          SECPROF_TRY(ri.CheckKeys({"likelihood", "when"}));
          LikelihoodAdjust adj;
          SECPROF_ASSIGN_OR_RETURN(adj.likelihood, NonEmpty(ri, "likelihood"));
          SECPROF_TRY(
              MustBeOneOf(*ri.Get("likelihood"), adj.likelihood, levels, "likelihood level"));
          SECPROF_ASSIGN_OR_RETURN(Node rw, ri.Required("when"));
          SECPROF_ASSIGN_OR_RETURN(adj.when, ParseWhen(rw, r.scope, false));
          r.raise.push_back(std::move(adj));
        }
      }
      cat_.rules.push_back(std::move(r));
    }
    return Ok();
  }

  // Every threat (directly, or through its parent for sub-attacks) is countered by a mitigation.
  Status EveryThreatCountered() {
    for (const auto& t : cat_.threats) {
      if (!cat_.MitigationsFor(t.id).empty()) continue;
      const SourceLocation& l = threat_seen_.at(t.id);
      return Fail(ErrorCode::kInvalidInput,
                  "threat '" + t.id + "' is not countered by any mitigation in mitigations.yaml",
                  l);
    }
    return Ok();
  }

  const SourceReader& read_;
  Catalog cat_;
  std::vector<std::string> phase_ids_, layer_ids_, threat_ids_, mitigation_ids_;
  std::map<std::string, SourceLocation> threat_seen_, mitigation_seen_;
};

}  // namespace

Result<std::shared_ptr<const Catalog>> LoadFromSources(const SourceReader& read) {
  Loader loader(read);
  return loader.Run();
}

}  // namespace secprof::catalog::internal

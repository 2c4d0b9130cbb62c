// src/catalog/loader.cpp — strict parsing and cross-validation of the catalog files.
//
// Files are parsed in the order of kCatalogFiles; each parser checks the ids it references against
// what earlier files defined, so every dangling reference is reported at the place it is written.
// Checks that need the whole catalog (every threat countered, threat parents) run at the end and
// are located at the element they are about.
#include "loader_impl.h"

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <utility>

#include "secprof/yamlio/reader.h"

namespace secprof::catalog::internal {

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

Result<std::shared_ptr<const Catalog>> Loader::Run() {
  SECPROF_TRY(Each("catalog.yaml", &Loader::Manifest));
  SECPROF_TRY(Each("standards.yaml", &Loader::StandardsFile));
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

Status Loader::Each(const std::string& name, FileParser parse) {
  SECPROF_ASSIGN_OR_RETURN(SourceText src, read_(name));
  SECPROF_ASSIGN_OR_RETURN(auto doc, yamlio::Parse(src.display_name, src.text));
  Node root = doc.root();
  if (!root.IsMap()) return Fail(root.MakeError("expected a map at the top of the file"));
  return (this->*parse)(root);
}

// Records `id` of kind `what`; fails at `n` if it was defined before.
Status Loader::Define(std::map<std::string, SourceLocation>& seen, const std::string& id,
                      const Node& n, const std::string& what) {
  auto [it, fresh] = seen.emplace(id, n.Location());
  if (!fresh) {
    return Fail(n.MakeError("duplicate " + what + " id '" + id + "' (first defined at " +
                            Where(it->second) + ")"));
  }
  return Ok();
}

Status Loader::Manifest(const Node& root) {
  SECPROF_TRY(root.CheckKeys({"version", "building_blocks"}));
  SECPROF_ASSIGN_OR_RETURN(Node v, root.Required("version"));
  SECPROF_ASSIGN_OR_RETURN(cat_.version, v.AsString());
  static const std::regex kSemver(R"([0-9]+\.[0-9]+\.[0-9]+)");
  SECPROF_TRY(MatchPattern(v, cat_.version, kSemver, "a version like 1.0.0"));
  SECPROF_ASSIGN_OR_RETURN(auto blocks, LocatedList(root, "building_blocks"));
  if (blocks.empty()) return Fail(root.MakeError("missing required key 'building_blocks'"));
  SECPROF_TRY(NoDuplicates(blocks, "building block"));
  for (const auto& [b, n] : blocks) SECPROF_TRY(MustBeOneOf(n, b, kKnownBlocks, "building block"));
  cat_.building_blocks = Strings(blocks);
  return Ok();
}

Status Loader::Facts(const Node& root) {
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

Status Loader::Lifecycle(const Node& root) {
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

Status Loader::Layers(const Node& root) {
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
Result<std::vector<std::string>> Loader::IdList(const Node& map, std::string_view key,
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

std::vector<std::string> Loader::Figure2Phases() const {
  std::vector<std::string> out;
  for (const auto& p : cat_.phases) {
    if (p.figure2) out.push_back(p.id);
  }
  return out;
}

Result<Figure2Cell> Loader::Cell(const Node& item) {
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

Result<std::shared_ptr<const Catalog>> LoadFromSources(const SourceReader& read) {
  Loader loader(read);
  return loader.Run();
}

}  // namespace secprof::catalog::internal

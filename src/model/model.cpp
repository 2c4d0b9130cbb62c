#include "secprof/model/model.h"

#include <algorithm>
#include <set>
#include <string_view>
#include <unordered_map>

#include "secprof/core/fs.h"
#include "secprof/core/time_format.h"
#include "secprof/yamlio/reader.h"

namespace secprof::model {
namespace {

using YNode = yamlio::Node;

#define SECPROF_LEVELS \
  { "low", "moderate", "high", "critical" }

// Reads a list of maps under `key` (absent = empty), calling `parse` on each item.
template <class T, class F>
Status ReadList(const YNode& root, std::string_view key, std::vector<T>& out, F parse) {
  auto n = root.Get(key);
  if (!n || n->IsNull()) return Ok();
  SECPROF_ASSIGN_OR_RETURN(auto items, n->Items());
  out.reserve(out.size() + items.size());
  for (const auto& item : items) {
    T v;
    SECPROF_TRY(parse(item, v));
    v.where = item.Location();
    out.push_back(std::move(v));
  }
  return Ok();
}

Status ParseFeatures(const YNode& n, Features& f) {
  SECPROF_TRY(
      n.CheckKeys({"network_size", "central_device", "internet", "data_value", "multi_vendor",
                   "adhoc", "roaming", "ownership_transfer", "physical_exposure", "multi_hop"}));
  SECPROF_ASSIGN_OR_RETURN(f.network_size,
                           n.OptionalEnum("network_size", {"small", "medium", "large"}, ""));
  SECPROF_ASSIGN_OR_RETURN(
      f.central_device,
      n.OptionalEnum("central_device", {"none", "local", "backend", "local_and_backend"}, "none"));
  SECPROF_ASSIGN_OR_RETURN(f.internet,
                           n.OptionalEnum("internet", {"none", "gateway", "direct"}, "none"));
  SECPROF_ASSIGN_OR_RETURN(f.data_value, n.OptionalEnum("data_value", SECPROF_LEVELS, ""));
  SECPROF_ASSIGN_OR_RETURN(f.multi_vendor, n.OptionalBool("multi_vendor", false));
  SECPROF_ASSIGN_OR_RETURN(f.adhoc, n.OptionalBool("adhoc", false));
  SECPROF_ASSIGN_OR_RETURN(f.roaming, n.OptionalBool("roaming", false));
  SECPROF_ASSIGN_OR_RETURN(f.ownership_transfer, n.OptionalBool("ownership_transfer", false));
  SECPROF_ASSIGN_OR_RETURN(f.physical_exposure,
                           n.OptionalEnum("physical_exposure", {"low", "moderate", "high"}, "low"));
  SECPROF_ASSIGN_OR_RETURN(f.multi_hop, n.OptionalBool("multi_hop", false));
  f.where = n.Location();
  return Ok();
}

Status ParseThing(const YNode& n, Thing& t) {
  SECPROF_TRY(
      n.CheckKeys({"id", "name", "class", "count", "vendor", "product", "capabilities", "groups"}));
  SECPROF_ASSIGN_OR_RETURN(t.id, n.RequiredString("id"));
  SECPROF_ASSIGN_OR_RETURN(t.name, n.OptionalString("name", t.id));
  SECPROF_ASSIGN_OR_RETURN(t.device_class,
                           n.OptionalEnum("class", {"C0", "C1", "C2", "unconstrained"}, "C2"));
  SECPROF_ASSIGN_OR_RETURN(t.count, n.OptionalInt("count", 1));
  if (t.count < 1 || t.count > 100'000'000) {
    return Fail(n.Get("count")->MakeError("count must be between 1 and 100000000"));
  }
  SECPROF_ASSIGN_OR_RETURN(t.vendor, n.RequiredString("vendor"));
  SECPROF_ASSIGN_OR_RETURN(t.product, n.OptionalString("product", ""));
  SECPROF_ASSIGN_OR_RETURN(t.capabilities, n.OptionalStringList("capabilities"));
  if (auto caps = n.Get("capabilities")) {
    SECPROF_ASSIGN_OR_RETURN(auto items, caps->Items());
    for (const auto& item : items) {
      SECPROF_ASSIGN_OR_RETURN(auto c, item.AsString());
      if (std::find(kThingCapabilities.begin(), kThingCapabilities.end(), c) ==
          kThingCapabilities.end()) {
        std::string allowed;
        for (const auto& k : kThingCapabilities) allowed += (allowed.empty() ? "" : ", ") + k;
        return Fail(item.MakeError("unknown capability '" + c + "' (known: " + allowed + ")"));
      }
    }
  }
  SECPROF_ASSIGN_OR_RETURN(t.groups, n.OptionalStringList("groups"));
  return Ok();
}

Status ParseNode(const YNode& n, Node& x) {
  SECPROF_TRY(n.CheckKeys({"id", "name", "kind", "location", "internet_facing", "translates"}));
  SECPROF_ASSIGN_OR_RETURN(x.id, n.RequiredString("id"));
  SECPROF_ASSIGN_OR_RETURN(x.name, n.OptionalString("name", x.id));
  SECPROF_ASSIGN_OR_RETURN(
      x.kind, n.RequiredEnum("kind", {"kdc", "border_router", "backend", "proxy", "gateway"}));
  SECPROF_ASSIGN_OR_RETURN(x.location, n.OptionalEnum("location", {"local", "cloud"}, "local"));
  SECPROF_ASSIGN_OR_RETURN(x.internet_facing, n.OptionalBool("internet_facing", false));
  SECPROF_ASSIGN_OR_RETURN(x.translates, n.OptionalBool("translates", x.kind == "proxy"));
  return Ok();
}

Status ParseLink(const YNode& n, Link& l) {
  SECPROF_TRY(
      n.CheckKeys({"id", "from", "to", "medium", "protection", "multicast", "bootstrapping"}));
  SECPROF_ASSIGN_OR_RETURN(l.from, n.RequiredString("from"));
  SECPROF_ASSIGN_OR_RETURN(l.to, n.RequiredString("to"));
  SECPROF_ASSIGN_OR_RETURN(l.id, n.OptionalString("id", l.from + "-" + l.to));
  SECPROF_ASSIGN_OR_RETURN(l.medium,
                           n.OptionalEnum("medium", {"wired", "radio", "internet"}, "radio"));
  SECPROF_ASSIGN_OR_RETURN(
      l.protection,
      n.OptionalEnum("protection", {"none", "link_key", "dtls", "tls", "oscore"}, "none"));
  SECPROF_ASSIGN_OR_RETURN(l.multicast, n.OptionalBool("multicast", false));
  SECPROF_ASSIGN_OR_RETURN(l.bootstrapping, n.OptionalBool("bootstrapping", false));
  return Ok();
}

Status ParseFlow(const YNode& n, Flow& f) {
  SECPROF_TRY(n.CheckKeys({"id", "from", "to", "via", "assets", "protection"}));
  SECPROF_ASSIGN_OR_RETURN(f.from, n.RequiredString("from"));
  SECPROF_ASSIGN_OR_RETURN(f.to, n.RequiredString("to"));
  SECPROF_ASSIGN_OR_RETURN(f.id, n.OptionalString("id", f.from + "->" + f.to));
  SECPROF_ASSIGN_OR_RETURN(f.via, n.OptionalStringList("via"));
  SECPROF_ASSIGN_OR_RETURN(f.assets, n.OptionalStringList("assets"));
  SECPROF_ASSIGN_OR_RETURN(
      f.protection, n.OptionalEnum("protection", {"none", "hop_by_hop", "end_to_end"}, "none"));
  return Ok();
}

Status ParseAsset(const YNode& n, Asset& a) {
  SECPROF_TRY(n.CheckKeys(
      {"id", "description", "confidentiality", "integrity", "availability", "personal"}));
  SECPROF_ASSIGN_OR_RETURN(a.id, n.RequiredString("id"));
  SECPROF_ASSIGN_OR_RETURN(a.description, n.OptionalString("description", ""));
  SECPROF_ASSIGN_OR_RETURN(a.confidentiality,
                           n.OptionalEnum("confidentiality", SECPROF_LEVELS, "low"));
  SECPROF_ASSIGN_OR_RETURN(a.integrity, n.OptionalEnum("integrity", SECPROF_LEVELS, "low"));
  SECPROF_ASSIGN_OR_RETURN(a.availability, n.OptionalEnum("availability", SECPROF_LEVELS, "low"));
  SECPROF_ASSIGN_OR_RETURN(a.personal, n.OptionalBool("personal", false));
  return Ok();
}

Status ParseLifecycle(const YNode& n, Lifecycle& l) {
  SECPROF_TRY(n.CheckKeys({"installer", "maintenance", "lifetime_years", "ownership_changes"}));
  SECPROF_ASSIGN_OR_RETURN(
      l.installer, n.OptionalEnum("installer", {"owner", "professional", "vendor"}, "owner"));
  SECPROF_ASSIGN_OR_RETURN(l.maintenance,
                           n.OptionalEnum("maintenance", {"none", "local", "remote"}, "none"));
  SECPROF_ASSIGN_OR_RETURN(l.lifetime_years, n.OptionalInt("lifetime_years", 5));
  if (l.lifetime_years < 0 || l.lifetime_years > 100) {
    return Fail(n.Get("lifetime_years")->MakeError("lifetime_years must be between 0 and 100"));
  }
  SECPROF_ASSIGN_OR_RETURN(l.ownership_changes, n.OptionalBool("ownership_changes", false));
  l.where = n.Location();
  return Ok();
}

Status ParseMitigations(const YNode& root, Model& m) {
  auto n = root.Get("mitigations");
  m.mitigations_where = n ? n->Location() : root.Location();
  if (!n || n->IsNull()) return Ok();
  SECPROF_ASSIGN_OR_RETURN(auto items, n->Items());
  std::set<std::string> seen;
  for (const auto& item : items) {
    DeclaredMitigation d;
    if (item.IsScalar()) {
      SECPROF_ASSIGN_OR_RETURN(d.id, item.AsString());
    } else {
      SECPROF_TRY(item.CheckKeys({"id", "note"}));
      SECPROF_ASSIGN_OR_RETURN(d.id, item.RequiredString("id"));
      SECPROF_ASSIGN_OR_RETURN(d.note, item.OptionalString("note", ""));
    }
    d.where = item.Location();
    if (!seen.insert(d.id).second) {
      return Fail(item.MakeError("mitigation '" + d.id + "' is declared twice"));
    }
    m.mitigations.push_back(std::move(d));
  }
  return Ok();
}

Status ParseDecision(const YNode& n, RiskDecision& d) {
  SECPROF_TRY(n.CheckKeys({"rule", "element", "status", "justification", "by", "date", "expires"}));
  SECPROF_ASSIGN_OR_RETURN(d.rule, n.RequiredString("rule"));
  SECPROF_ASSIGN_OR_RETURN(d.element, n.RequiredString("element"));
  SECPROF_ASSIGN_OR_RETURN(d.status, n.RequiredEnum("status", {"accepted", "in_progress",
                                                               "mitigated", "false_positive"}));
  SECPROF_ASSIGN_OR_RETURN(d.justification, n.RequiredString("justification"));
  SECPROF_ASSIGN_OR_RETURN(d.by, n.RequiredString("by"));
  SECPROF_ASSIGN_OR_RETURN(d.date, n.RequiredString("date"));
  SECPROF_ASSIGN_OR_RETURN(d.expires, n.OptionalString("expires", ""));
  // A decision without a reason or a name is no decision (the point of tracking is accountability).
  for (const char* key : {"rule", "element", "justification", "by"}) {
    SECPROF_ASSIGN_OR_RETURN(std::string v, n.RequiredString(key));
    if (v.find_first_not_of(" \t") == std::string::npos) {
      return Fail(n.Get(key)->MakeError(std::string("'") + key + "' must not be empty"));
    }
  }
  if (!IsIsoDate(d.date)) return Fail(n.Get("date")->MakeError("date must be YYYY-MM-DD"));
  if (!d.expires.empty()) {
    if (!IsIsoDate(d.expires)) {
      return Fail(n.Get("expires")->MakeError("expires must be YYYY-MM-DD"));
    }
    if (d.expires <= d.date) {
      return Fail(n.Get("expires")->MakeError("expires must be after date (" + d.date + ")"));
    }
  }
  return Ok();
}

Status CheckTracking(const Model& m) {
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& d : m.risk_tracking) {
    if (!seen.emplace(d.rule, d.element).second) {
      return Fail(ErrorCode::kInvalidInput,
                  "rule '" + d.rule + "' on '" + d.element + "' is tracked twice", d.where);
    }
  }
  return Ok();
}

// The ids of the model, with what each names (for CheckReferences).
enum class Kind { kEndpoint, kLink, kFlow, kAsset };
using IdIndex = std::unordered_map<std::string_view, std::pair<const SourceLocation*, Kind>>;

// Ids are unique across things, nodes, links, flows and assets: findings name elements by id.
Status CheckIds(const Model& m, IdIndex& seen) {
  seen.reserve(m.things.size() + m.nodes.size() + m.links.size() + m.flows.size() +
               m.assets.size());
  auto add = [&](const std::string& id, const SourceLocation& where, Kind kind) -> Status {
    if (id.empty()) return Fail(ErrorCode::kInvalidInput, "empty id", where);
    auto [it, inserted] = seen.emplace(id, std::make_pair(&where, kind));
    if (!inserted) {
      return Fail(ErrorCode::kInvalidInput,
                  "duplicate id '" + id + "' (first defined at line " +
                      std::to_string(it->second.first->line) + ")",
                  where);
    }
    return Ok();
  };
  for (const auto& t : m.things) SECPROF_TRY(add(t.id, t.where, Kind::kEndpoint));
  for (const auto& n : m.nodes) SECPROF_TRY(add(n.id, n.where, Kind::kEndpoint));
  for (const auto& l : m.links) SECPROF_TRY(add(l.id, l.where, Kind::kLink));
  for (const auto& f : m.flows) SECPROF_TRY(add(f.id, f.where, Kind::kFlow));
  for (const auto& a : m.assets) SECPROF_TRY(add(a.id, a.where, Kind::kAsset));
  if (auto it = seen.find("system"); it != seen.end()) {
    return Fail(ErrorCode::kInvalidInput, "'system' is reserved and cannot be an id",
                *it->second.first);
  }
  return Ok();
}

Status CheckReferences(const Model& m, const IdIndex& ids) {
  auto is = [&](const std::string& id, Kind kind) {
    auto it = ids.find(id);
    return it != ids.end() && it->second.second == kind;
  };
  auto endpoint = [&](const std::string& id, const SourceLocation& where,
                      const std::string& field) -> Status {
    if (!is(id, Kind::kEndpoint)) {
      SourceLocation w = where;
      w.field += "." + field;
      return Fail(ErrorCode::kInvalidInput, "'" + id + "' is not a thing or node id", w);
    }
    return Ok();
  };
  for (const auto& l : m.links) {
    SECPROF_TRY(endpoint(l.from, l.where, "from"));
    SECPROF_TRY(endpoint(l.to, l.where, "to"));
  }
  for (const auto& f : m.flows) {
    SECPROF_TRY(endpoint(f.from, f.where, "from"));
    SECPROF_TRY(endpoint(f.to, f.where, "to"));
    for (const auto& v : f.via) SECPROF_TRY(endpoint(v, f.where, "via"));
    for (const auto& a : f.assets) {
      if (!is(a, Kind::kAsset)) {
        SourceLocation w = f.where;
        w.field += ".assets";
        return Fail(ErrorCode::kInvalidInput, "'" + a + "' is not an asset id", w);
      }
    }
  }
  return Ok();
}

}  // namespace

bool IsIsoDate(const std::string& date) {
  // The one ISO 8601 parser (core/time_format.h), date form only, from 1970 on.
  if (date.size() != 10) return false;
  const auto t = ParseIso8601(date);
  return t && *t >= 0;
}

bool Thing::Has(const std::string& capability) const {
  return std::find(capabilities.begin(), capabilities.end(), capability) != capabilities.end();
}

Result<Model> Parse(const std::string& name, std::string_view text) {
  SECPROF_ASSIGN_OR_RETURN(auto doc, yamlio::Parse(name, text));
  YNode root = doc.root();
  if (!root.IsMap()) return Fail(root.MakeError("a model must be a YAML map (see docs/MODEL.md)"));
  SECPROF_TRY(root.CheckKeys({"name", "description", "features", "things", "nodes", "links",
                              "flows", "assets", "lifecycle", "mitigations", "risk_tracking"}));
  Model m;
  m.file = name;
  SECPROF_ASSIGN_OR_RETURN(m.name, root.RequiredString("name"));
  SECPROF_ASSIGN_OR_RETURN(m.description, root.OptionalString("description", ""));
  if (auto f = root.Get("features"); f && !f->IsNull()) {
    SECPROF_TRY(ParseFeatures(*f, m.features));
  } else {
    m.features.where = root.Location();
  }
  SECPROF_TRY(ReadList(root, "things", m.things, ParseThing));
  if (m.things.empty()) return Fail(root.MakeError("a model needs at least one entry in 'things'"));
  SECPROF_TRY(ReadList(root, "nodes", m.nodes, ParseNode));
  SECPROF_TRY(ReadList(root, "links", m.links, ParseLink));
  SECPROF_TRY(ReadList(root, "flows", m.flows, ParseFlow));
  SECPROF_TRY(ReadList(root, "assets", m.assets, ParseAsset));
  if (auto l = root.Get("lifecycle"); l && !l->IsNull()) {
    SECPROF_TRY(ParseLifecycle(*l, m.lifecycle));
  } else {
    m.lifecycle.where = root.Location();
  }
  SECPROF_TRY(ParseMitigations(root, m));
  SECPROF_TRY(ReadList(root, "risk_tracking", m.risk_tracking, ParseDecision));
  SECPROF_TRY(CheckTracking(m));
  IdIndex ids;
  SECPROF_TRY(CheckIds(m, ids));
  SECPROF_TRY(CheckReferences(m, ids));
  return m;
}

Result<Model> LoadFile(const std::string& path) {
  SECPROF_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return Parse(path, text);
}

}  // namespace secprof::model

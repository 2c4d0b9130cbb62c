// Derivation of the catalog's facts (catalog/facts.yaml) from a model. See docs/MODEL.md, "Facts".
#include <algorithm>
#include <array>
#include <set>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "secprof/model/model.h"

namespace secprof::model {
namespace {

const char* Bool(bool b) { return b ? "true" : "false"; }

int Rank(const std::vector<std::string>& order, const std::string& v) {
  auto it = std::find(order.begin(), order.end(), v);
  return it == order.end() ? -1 : static_cast<int>(it - order.begin());
}

const std::vector<std::string> kCentral = {"none", "local", "backend", "local_and_backend"};
const std::vector<std::string> kInternet = {"none", "gateway", "direct"};
const std::vector<std::string> kLevelOrder = {"low", "moderate", "high", "critical"};

std::string MaxOf(const std::vector<std::string>& order, const std::string& a,
                  const std::string& b) {
  return Rank(order, a) >= Rank(order, b) ? a : b;
}

// Hands out one shared FactMap per distinct combination of values of one scope's facts, building
// a map only for a combination not seen before (one allocation-free look-up otherwise).
class SharedFacts {
 public:
  template <size_t N>
  std::shared_ptr<const FactMap> Get(
      const std::array<std::pair<const char*, std::string_view>, N>& facts) {
    key_.clear();
    for (const auto& [name, value] : facts) {
      key_ += value;
      key_ += '\x1f';  // not in any value: ids and enum values are printable text
    }
    if (auto it = seen_.find(key_); it != seen_.end()) return it->second;
    auto made = std::make_shared<FactMap>();
    for (const auto& [name, value] : facts) made->emplace(name, value);
    seen_.emplace(key_, made);
    return made;
  }

 private:
  std::string key_;
  std::unordered_map<std::string, std::shared_ptr<const FactMap>> seen_;
};

}  // namespace

int LevelRank(const std::string& level) { return Rank(kLevelOrder, level); }

std::vector<const Element*> FactSet::Scope(const std::string& scope) const {
  std::vector<const Element*> out;
  const std::vector<Element>* list = nullptr;
  if (scope == "system") {
    out.push_back(&system);
    return out;
  }
  if (scope == "thing") list = &things;
  if (scope == "link") list = &links;
  if (scope == "node") list = &nodes;
  if (scope == "asset") list = &assets;
  if (list) {
    out.reserve(list->size());
    for (const auto& e : *list) out.push_back(&e);
  }
  return out;
}

FactSet ComputeFacts(const Model& m) {
  FactSet fs;
  const Features& f = m.features;

  // ---- derived system features ----
  int64_t total = 0;
  std::set<std::string> vendors;
  bool updatable = false, personal = false;
  for (const auto& t : m.things) {
    total += t.count;
    vendors.insert(t.vendor);
    updatable = updatable || t.Has("updatable");
    personal = personal || t.Has("personal_data");
  }
  // Declared features take the higher of the declaration and what the model's content implies
  // (as central_device and internet do); assess warns when a declaration is below it.
  const std::vector<std::string> kSizes = {"small", "medium", "large"};
  std::string size = total <= 20 ? "small" : total <= 250 ? "medium" : "large";
  if (!f.network_size.empty()) size = MaxOf(kSizes, f.network_size, size);

  bool has_local = false, has_backend = false, internet_facing = false, translates = false;
  std::unordered_map<std::string, const Node*> nodes_by_id;
  for (const auto& n : m.nodes) {
    nodes_by_id.emplace(n.id, &n);
    if (n.kind == "kdc" || n.kind == "border_router") has_local = true;
    if (n.kind == "backend") has_backend = true;
    internet_facing = internet_facing || n.internet_facing;
    translates = translates || n.translates;
  }
  std::string central = has_local && has_backend ? "local_and_backend"
                        : has_backend            ? "backend"
                        : has_local              ? "local"
                                                 : "none";
  central = MaxOf(kCentral, f.central_device, central);

  std::unordered_set<std::string_view> thing_ids;  // views of m's ids
  thing_ids.reserve(m.things.size());
  for (const auto& t : m.things) thing_ids.insert(t.id);
  std::string internet = internet_facing ? "gateway" : "none";
  for (const auto& l : m.links) {
    if (l.medium == "internet" && (thing_ids.count(l.from) || thing_ids.count(l.to))) {
      internet = "direct";
    } else if (l.medium == "internet") {
      internet = MaxOf(kInternet, internet, "gateway");
    }
  }
  internet = MaxOf(kInternet, f.internet, internet);

  std::string value = "low";
  for (const auto& a : m.assets) {
    for (const auto* v : {&a.confidentiality, &a.integrity, &a.availability}) {
      value = MaxOf(kLevelOrder, value, *v);
    }
    personal = personal || a.personal;
  }
  if (!f.data_value.empty()) value = MaxOf(kLevelOrder, value, f.data_value);

  // Confidential data on the devices themselves (what extraction yields): assets on flows that
  // start, end or pass at a thing; every asset when no flow says where data lives.
  std::string device_conf = "low";
  {
    std::unordered_set<std::string> on_things;
    for (const auto& fl : m.flows) {
      bool touches = thing_ids.count(fl.from) || thing_ids.count(fl.to);
      for (const auto& v : fl.via) touches = touches || thing_ids.count(v);
      if (touches) on_things.insert(fl.assets.begin(), fl.assets.end());
    }
    for (const auto& a : m.assets) {
      if (m.flows.empty() || on_things.count(a.id)) {
        device_conf = MaxOf(kLevelOrder, device_conf, a.confidentiality);
      }
    }
  }

  auto& sys = fs.system;
  sys.scope = "system";
  sys.id = "system";
  sys.where = f.where;
  sys.facts = std::make_shared<FactMap>(FactMap{
      {"system.network_size", size},
      {"system.central_device", central},
      {"system.internet", internet},
      {"system.data_value", value},
      {"system.multi_vendor", Bool(f.multi_vendor || vendors.size() > 1)},
      {"system.adhoc", Bool(f.adhoc)},
      {"system.roaming", Bool(f.roaming)},
      {"system.ownership_transfer", Bool(f.ownership_transfer || m.lifecycle.ownership_changes)},
      {"system.physical_exposure", f.physical_exposure},
      {"system.multi_hop", Bool(f.multi_hop)},
      {"system.personal_data", Bool(personal)},
      {"system.proxy", Bool(translates)},
      {"system.remote_maintenance", Bool(m.lifecycle.maintenance == "remote")},
      {"system.updatable", Bool(updatable)},
      {"system.lifetime_years", std::to_string(m.lifecycle.lifetime_years)},
      {"system.thing_count", std::to_string(total)},
      {"system.installer", m.lifecycle.installer},
      {"system.device_confidentiality", device_conf},
      {"system.shared_network_key",
       Bool(std::any_of(m.links.begin(), m.links.end(),
                        [](const Link& l) { return l.protection == "link_key"; }))},
  });

  // Things reachable from the Internet: an endpoint of an `internet` link; every thing when the
  // model declares `internet: direct` without saying which (the declaration is about the things).
  std::unordered_set<std::string> reachable;
  bool any_internet_thing_link = false;
  for (const auto& l : m.links) {
    if (l.medium != "internet") continue;
    for (const auto* end : {&l.from, &l.to}) {
      if (thing_ids.count(*end)) {
        reachable.insert(*end);
        any_internet_thing_link = true;
      }
    }
  }
  const bool all_reachable = f.internet == "direct" && !any_internet_thing_link;
  // Things that receive flows from a backend (or cloud) node without end-to-end protection: the
  // draft's SecProf_3 remote management "requires protecting the communication from a device in
  // the backend to a device in the IP network ... end-to-end" (Section 7.1).
  std::unordered_set<std::string> backend_hop_by_hop;
  for (const auto& fl : m.flows) {
    auto it = nodes_by_id.find(fl.from);
    const bool from_backend = it != nodes_by_id.end() &&
                              (it->second->kind == "backend" || it->second->location == "cloud");
    if (from_backend && thing_ids.count(fl.to) && fl.protection != "end_to_end") {
      backend_hop_by_hop.insert(fl.to);
    }
  }

  // ---- things ----
  fs.things.reserve(m.things.size());
  SharedFacts thing_facts;
  for (const auto& t : m.things) {
    Element e{"thing", t.id, t.where, {}};
    const std::string count = std::to_string(t.count);
    e.facts = thing_facts.Get(std::array<std::pair<const char*, std::string_view>, 9>{{
        {"thing.class", t.device_class},
        {"thing.count", count},
        {"thing.tamper_resistant", Bool(t.Has("tamper_resistant_storage"))},
        {"thing.updatable", Bool(t.Has("updatable"))},
        {"thing.actuator", Bool(t.Has("actuator"))},
        {"thing.stores_personal_data", Bool(t.Has("personal_data"))},
        {"thing.battery", Bool(t.Has("battery"))},
        {"thing.internet_reachable", Bool(all_reachable || reachable.count(t.id) > 0)},
        {"thing.backend_commands_not_e2e", Bool(backend_hop_by_hop.count(t.id) > 0)},
    }});
    fs.things.push_back(std::move(e));
  }

  // ---- links ----
  fs.links.reserve(m.links.size());
  SharedFacts link_facts;
  for (const auto& l : m.links) {
    Element e{"link", l.id, l.where, {}};
    e.facts = link_facts.Get(std::array<std::pair<const char*, std::string_view>, 4>{{
        {"link.medium", l.medium},
        {"link.protection", l.protection},
        {"link.multicast", Bool(l.multicast)},
        {"link.bootstrapping", Bool(l.bootstrapping)},
    }});
    fs.links.push_back(std::move(e));
  }

  // ---- nodes ----
  fs.nodes.reserve(m.nodes.size());
  SharedFacts node_facts;
  for (const auto& n : m.nodes) {
    Element e{"node", n.id, n.where, {}};
    e.facts = node_facts.Get(std::array<std::pair<const char*, std::string_view>, 3>{{
        {"node.kind", n.kind},
        {"node.internet_facing", Bool(n.internet_facing)},
        {"node.translates", Bool(n.translates)},
    }});
    fs.nodes.push_back(std::move(e));
  }

  // ---- assets: where their flows take them ----
  std::unordered_set<std::string> at_translation, leaves;
  auto outside = [&](const std::string& id) {
    auto it = nodes_by_id.find(id);
    return it != nodes_by_id.end() &&
           (it->second->location == "cloud" || it->second->kind == "backend");
  };
  for (const auto& fl : m.flows) {
    bool exposed = false;
    if (fl.protection != "end_to_end") {
      for (const auto& v : fl.via) {
        auto it = nodes_by_id.find(v);
        if (it != nodes_by_id.end() && it->second->translates) exposed = true;
      }
    }
    bool out =
        outside(fl.from) || outside(fl.to) || std::any_of(fl.via.begin(), fl.via.end(), outside);
    for (const auto& a : fl.assets) {
      if (exposed) at_translation.insert(a);
      if (out) leaves.insert(a);
    }
  }
  fs.assets.reserve(m.assets.size());
  SharedFacts asset_facts;
  for (const auto& a : m.assets) {
    Element e{"asset", a.id, a.where, {}};
    e.facts = asset_facts.Get(std::array<std::pair<const char*, std::string_view>, 6>{{
        {"asset.confidentiality", a.confidentiality},
        {"asset.integrity", a.integrity},
        {"asset.availability", a.availability},
        {"asset.personal", Bool(a.personal)},
        {"asset.exposed_at_translation", Bool(at_translation.count(a.id) > 0)},
        {"asset.leaves_domain", Bool(leaves.count(a.id) > 0)},
    }});
    fs.assets.push_back(std::move(e));
  }
  return fs;
}

}  // namespace secprof::model

// src/catalog/loader_profiles.cpp — the catalog loader's condition parser (profiles.yaml triggers,
// rules.yaml) and the parsers for profiles.yaml and rules.yaml.
#include "loader_impl.h"

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <utility>

#include "secprof/yamlio/reader.h"

namespace secprof::catalog::internal {

// Checks that `value` is in the domain of fact `f`.
Status Loader::ValueOk(const Fact& f, const std::string& value, const Node& n) {
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
Result<Condition> Loader::ParseCondition(const Node& n, const std::string& scope, bool monotone) {
  SECPROF_TRY(n.CheckKeys({"fact", "equals", "not_equals", "in", "not_in", "at_least", "at_most"}));
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
      return Fail(vn.MakeError("`" + op + "` needs an ordered fact; " + f->id + " is not ordered"));
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

Result<When> Loader::ParseWhen(const Node& n, const std::string& scope, bool monotone) {
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

Status Loader::Profiles(const Node& root) {
  SECPROF_TRY(root.CheckKeys({"profiles"}));
  SECPROF_ASSIGN_OR_RETURN(Node list, root.Required("profiles"));
  SECPROF_ASSIGN_OR_RETURN(auto items, list.Items());
  std::map<std::string, SourceLocation> seen;
  std::set<int64_t> ranks;
  static const std::regex kEtsi(R"([0-9]+(\.[0-9]+)?-[0-9]+)");
  for (const auto& item : items) {
    SECPROF_TRY(item.CheckKeys({"id", "rank", "name", "application", "summary", "description",
                                "operational_features", "building_blocks", "extends", "mitigations",
                                "drops", "standards", "triggers"}));
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
        return Fail(n.MakeError("mitigation '" + id + "' is already inherited from " + p.extends));
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
        SECPROF_TRY(t.CheckKeys({"when", "reason", "source"}));
        Profile::Trigger tr;
        SECPROF_ASSIGN_OR_RETURN(tr.source,
                                 t.OptionalEnum("source", {"draft", "project"}, "draft"));
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

std::vector<std::string> Loader::KeysOf(const std::vector<std::pair<std::string, Node>>& e) {
  std::vector<std::string> out;
  for (const auto& [k, n] : e) out.push_back(k);
  return out;
}

const Profile* Loader::FindProfile(const std::string& id) const {
  for (const auto& p : cat_.profiles) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

// Reads the standards mapping of profile `p` (whose mitigations are resolved already). A
// provision claimed as met must be referenced by one of the profile's mitigations.
Status Loader::Standards(const Node& item, Profile& p, const std::regex& etsi_re) {
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
    SECPROF_TRY(VerifiedEtsi(n, v));
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
  SECPROF_ASSIGN_OR_RETURN(auto nist, LocatedList(sn, "nist_ir_8259a"));
  SECPROF_TRY(NoDuplicates(nist, "NIST IR 8259A capability"));
  for (const auto& [v, n] : nist) SECPROF_TRY(VerifiedNist(n, v));
  s.nist_ir_8259a = Strings(nist);
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
        SECPROF_TRY(VerifiedEtsi(*ci.Get("provision"), sc.provision));
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

Status Loader::Rules(const Node& root) {
  SECPROF_TRY(root.CheckKeys({"rules"}));
  SECPROF_ASSIGN_OR_RETURN(Node list, root.Required("rules"));
  SECPROF_ASSIGN_OR_RETURN(auto items, list.Items());
  std::map<std::string, SourceLocation> seen;
  const auto& levels = cat_.risk.likelihood_levels;
  for (const auto& item : items) {
    SECPROF_TRY(item.CheckKeys({"id", "threat", "scope", "phase", "layer", "likelihood", "why",
                                "when", "raise", "affects", "uncountered"}));
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
    SECPROF_ASSIGN_OR_RETURN(r.affects, IdList(item, "affects", kCia, "security goal", false));
    SECPROF_ASSIGN_OR_RETURN(r.uncountered, item.OptionalString("uncountered", ""));
    if (item.Get("uncountered") && r.uncountered.empty()) {
      return Fail(item.Get("uncountered")->MakeError("`uncountered` must say why"));
    }
    SECPROF_ASSIGN_OR_RETURN(Node wn, item.Required("when"));
    SECPROF_ASSIGN_OR_RETURN(r.when, ParseWhen(wn, r.scope, false));
    if (auto raise = item.Get("raise"); raise && !raise->IsNull()) {
      SECPROF_ASSIGN_OR_RETURN(auto ritems, raise->Items());
      for (const auto& ri : ritems) {
        SECPROF_TRY(ri.CheckKeys({"likelihood", "when"}));
        LikelihoodAdjust adj;
        SECPROF_ASSIGN_OR_RETURN(adj.likelihood, NonEmpty(ri, "likelihood"));
        SECPROF_TRY(MustBeOneOf(*ri.Get("likelihood"), adj.likelihood, levels, "likelihood level"));
        SECPROF_ASSIGN_OR_RETURN(Node rw, ri.Required("when"));
        SECPROF_ASSIGN_OR_RETURN(adj.when, ParseWhen(rw, r.scope, false));
        r.raise.push_back(std::move(adj));
      }
    }
    cat_.rules.push_back(std::move(r));
  }
  return Ok();
}

}  // namespace secprof::catalog::internal

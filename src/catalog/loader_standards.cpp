// src/catalog/loader_standards.cpp — catalog/standards.yaml: the EN 303 645 provisions and
// NIST IR 8259A capabilities the rest of the catalog may name, each checked against the
// standards' text (docs/CATALOG.md "Standards mapping: what was checked").
//
// Loaded right after catalog.yaml, so mitigations.yaml and profiles.yaml are checked against it:
// a provision that is not listed, or listed but not verified, is an error located where it is
// named. That is the test that fails when the catalog names a provision nobody checked.
#include <algorithm>
#include <cctype>
#include <regex>

#include "loader_impl.h"

namespace secprof::catalog {

namespace {
const StandardItem* FindItem(const std::vector<StandardItem>& items, const std::string& id) {
  auto it = std::find_if(items.begin(), items.end(), [&](const auto& x) { return x.id == id; });
  return it == items.end() ? nullptr : &*it;
}
}  // namespace

const StandardItem* StandardsList::FindEtsi(const std::string& id) const {
  return FindItem(etsi_en_303_645, id);
}
const StandardItem* StandardsList::FindNist(const std::string& id) const {
  return FindItem(nist_ir_8259a, id);
}

namespace internal {

Status Loader::StandardsFile(const Node& root) {
  SECPROF_TRY(root.CheckKeys({"standards", "sources", "etsi_en_303_645", "nist_ir_8259a"}));
  StandardsList& s = cat_.standards_list;
  SECPROF_ASSIGN_OR_RETURN(Node standards, root.Required("standards"));
  SECPROF_TRY(standards.CheckKeys({"etsi_en_303_645", "nist_ir_8259a"}));
  for (auto [key, title, url] : {std::tuple{"etsi_en_303_645", &s.etsi_title, &s.etsi_url},
                                 std::tuple{"nist_ir_8259a", &s.nist_title, &s.nist_url}}) {
    SECPROF_ASSIGN_OR_RETURN(Node n, standards.Required(key));
    SECPROF_TRY(n.CheckKeys({"title", "url"}));
    SECPROF_ASSIGN_OR_RETURN(*title, NonEmpty(n, "title"));
    SECPROF_ASSIGN_OR_RETURN(*url, NonEmpty(n, "url"));
  }
  SECPROF_ASSIGN_OR_RETURN(Node sources, root.Required("sources"));
  SECPROF_ASSIGN_OR_RETURN(auto entries, sources.Entries());
  std::vector<std::string> source_ids;
  for (const auto& [id, n] : entries) {
    SECPROF_TRY(n.CheckKeys({"title", "url"}));
    StandardSource src{id, "", ""};
    SECPROF_ASSIGN_OR_RETURN(src.title, NonEmpty(n, "title"));
    SECPROF_ASSIGN_OR_RETURN(src.url, NonEmpty(n, "url"));
    source_ids.push_back(id);
    s.sources.push_back(std::move(src));
  }
  static const std::regex kEtsi(R"([0-9]+(\.[0-9]+)?-[0-9]+)");
  static const std::regex kNist(R"([a-z_]+)");
  auto read = [&](const char* key, std::vector<StandardItem>& out, const std::regex& pattern,
                  const char* expected) -> Status {
    SECPROF_ASSIGN_OR_RETURN(Node list, root.Required(key));
    SECPROF_ASSIGN_OR_RETURN(auto items, list.Items());
    std::map<std::string, SourceLocation> seen;
    for (const auto& item : items) {
      SECPROF_TRY(item.CheckKeys({"id", "title", "verified", "sources"}));
      StandardItem x;
      SECPROF_ASSIGN_OR_RETURN(x.id, NonEmpty(item, "id"));
      SECPROF_TRY(MatchPattern(*item.Get("id"), x.id, pattern, expected));
      SECPROF_TRY(Define(seen, x.id, *item.Get("id"), key));
      SECPROF_ASSIGN_OR_RETURN(x.title, NonEmpty(item, "title"));
      SECPROF_ASSIGN_OR_RETURN(Node v, item.Required("verified"));
      SECPROF_ASSIGN_OR_RETURN(x.verified, v.AsBool());
      SECPROF_ASSIGN_OR_RETURN(x.sources, IdList(item, "sources", source_ids, "source", false));
      if (x.verified && x.sources.empty()) {
        return Fail(v.MakeError("'" + x.id + "' is verified but names no source it was read in"));
      }
      out.push_back(std::move(x));
    }
    return Ok();
  };
  SECPROF_TRY(read("etsi_en_303_645", s.etsi_en_303_645, kEtsi, "a provision like 5.4-1"));
  SECPROF_TRY(read("nist_ir_8259a", s.nist_ir_8259a, kNist, "a capability like data_protection"));
  return Ok();
}

Status Loader::VerifiedEtsi(const Node& n, const std::string& id) const {
  const StandardItem* p = cat_.standards_list.FindEtsi(id);
  if (!p) {
    return Fail(n.MakeError("EN 303 645 provision '" + id +
                            "' is not in catalog/standards.yaml (only provisions checked against "
                            "the standard's text may be named)"));
  }
  if (!p->verified) {
    return Fail(n.MakeError("EN 303 645 provision '" + id +
                            "' is listed as unverified in catalog/standards.yaml"));
  }
  return Ok();
}

Status Loader::VerifiedNist(const Node& n, const std::string& id) const {
  const StandardItem* c = cat_.standards_list.FindNist(id);
  if (!c || !c->verified) {
    std::vector<std::string> known;
    for (const auto& x : cat_.standards_list.nist_ir_8259a) {
      if (x.verified) known.push_back(x.id);
    }
    return Fail(n.MakeError("'" + id + "' is not a verified NIST IR 8259A capability (known: " +
                            JoinList(known) + ")"));
  }
  return Ok();
}

// "NIST IR 8259A data protection" in a mitigation's `other` references: the words after the
// prefix must be a verified capability's title (any case).
Status Loader::VerifiedOtherReference(const Node& n, const std::string& text) const {
  static const std::string kPrefix = "NIST IR 8259A ";
  if (text.rfind(kPrefix, 0) != 0) return Ok();
  std::string rest = text.substr(kPrefix.size());
  std::transform(rest.begin(), rest.end(), rest.begin(), [](unsigned char c) {
    return c == ' ' ? '_' : static_cast<char>(std::tolower(c));
  });
  return VerifiedNist(n, rest);
}

}  // namespace internal
}  // namespace secprof::catalog

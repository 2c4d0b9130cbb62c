// src/catalog/loader_impl.h — internal to the catalog loader: the Loader class and the helpers its
// parsers share. The parsers are split by file: loader.cpp (catalog, facts, lifecycle, layers and
// the driver), loader_threats.cpp (threats, mitigations, processes, risk, the whole-catalog check)
// and loader_profiles.cpp (conditions, profiles, rules).
#pragma once

#include <map>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "loader.h"
#include "secprof/yamlio/reader.h"

namespace secprof::catalog::internal {

using yamlio::Node;

// A string list item together with its node, so that a bad item is reported where it is written.
using Located = std::pair<std::string, Node>;

inline const std::vector<std::string> kKnownBlocks = {"architecture", "model", "bootstrapping",
                                                      "network", "application"};
// Mitigation id prefix for each building block (M.<prefix>.<name>).
inline const std::map<std::string, std::string> kBlockPrefix = {
    {"architecture", "arch"}, {"model", "model"},     {"bootstrapping", "boot"},
    {"network", "net"},       {"application", "app"}, {"process", "proc"}};
inline const std::vector<std::string> kScopes = {"system", "thing", "link", "node", "asset"};
inline const std::vector<std::string> kCia = {"confidentiality", "integrity", "availability"};
inline const std::vector<std::string> kIsvsLevels = {"L1", "L2", "L3"};
inline const std::vector<std::string> kIecLevels = {"SL1", "SL2", "SL3", "SL4"};
// NIST IR 8259A capabilities: catalog/standards.yaml (loader_standards.cpp).

bool Contains(const std::vector<std::string>& v, const std::string& s);

std::string JoinList(const std::vector<std::string>& v);

std::string Where(const SourceLocation& l);

// Reads an optional list of scalars, keeping each item's node.
Result<std::vector<Located>> LocatedList(const Node& map, std::string_view key);

std::vector<std::string> Strings(const std::vector<Located>& v);

// A required, non-empty string.
Result<std::string> NonEmpty(const Node& map, std::string_view key);

// Fails at `n` when `value` is not one of `allowed`; `what` names the kind of id.
Status MustBeOneOf(const Node& n, const std::string& value, const std::vector<std::string>& allowed,
                   const std::string& what);

Status NoDuplicates(const std::vector<Located>& items, const std::string& what);

Status MatchPattern(const Node& n, const std::string& value, const std::regex& re,
                    const std::string& expected);

// Parses the catalog files in the order of kCatalogFiles into one validated Catalog. Each file
// parser checks the ids it references against what earlier files defined.
class Loader {
 public:
  explicit Loader(const SourceReader& read) : read_(read) {}

  Result<std::shared_ptr<const Catalog>> Run();

 private:
  using FileParser = Status (Loader::*)(const Node& root);

  Status Each(const std::string& name, FileParser parse);

  // Records `id` of kind `what`; fails at `n` if it was defined before.
  Status Define(std::map<std::string, SourceLocation>& seen, const std::string& id, const Node& n,
                const std::string& what);

  // ---- catalog.yaml ----
  Status Manifest(const Node& root);

  // ---- standards.yaml (loader_standards.cpp) ----
  Status StandardsFile(const Node& root);
  // Fail at `n` unless `id` is a provision or capability of standards.yaml marked verified.
  Status VerifiedEtsi(const Node& n, const std::string& id) const;
  Status VerifiedNist(const Node& n, const std::string& id) const;
  Status VerifiedOtherReference(const Node& n, const std::string& text) const;

  // ---- facts.yaml ----
  Status Facts(const Node& root);

  // ---- lifecycle.yaml ----
  Status Lifecycle(const Node& root);

  // ---- layers.yaml ----
  Status Layers(const Node& root);

  // Validates a list of phase or layer ids.
  Result<std::vector<std::string>> IdList(const Node& map, std::string_view key,
                                          const std::vector<std::string>& known,
                                          const std::string& what, bool required);

  std::vector<std::string> Figure2Phases() const;

  Result<Figure2Cell> Cell(const Node& item);

  // ---- threats.yaml ----
  Status Threats(const Node& root);

  Threat* FindThreatMutable(const std::string& id);

  // ---- mitigations.yaml ----
  Status Mitigations(const Node& root);

  // ---- processes.yaml ----
  Status Processes(const Node& root);

  // ---- risk.yaml ----
  Status Risk(const Node& root);

  // ---- conditions (profiles.yaml triggers, rules.yaml) ----

  // Checks that `value` is in the domain of fact `f`.
  Status ValueOk(const Fact& f, const std::string& value, const Node& n);

  // `scope`: the scope of the element the condition is evaluated on (facts of that scope and of
  // the system may be tested). `monotone`: only conditions that can only turn from false to true
  // as the fact grows are allowed (at_least; equals true on a bool).
  Result<Condition> ParseCondition(const Node& n, const std::string& scope, bool monotone);

  Result<When> ParseWhen(const Node& n, const std::string& scope, bool monotone);

  // ---- profiles.yaml ----
  Status Profiles(const Node& root);

  static std::vector<std::string> KeysOf(const std::vector<std::pair<std::string, Node>>& e);

  const Profile* FindProfile(const std::string& id) const;

  // Reads the standards mapping of profile `p` (whose mitigations are resolved already). A
  // provision claimed as met must be referenced by one of the profile's mitigations.
  Status Standards(const Node& item, Profile& p, const std::regex& etsi_re);

  // ---- rules.yaml ----
  Status Rules(const Node& root);

  // Every threat (directly, or through its parent for sub-attacks) is countered by a mitigation.
  Status EveryThreatCountered();

  const SourceReader& read_;
  Catalog cat_;
  std::vector<std::string> phase_ids_, layer_ids_, threat_ids_, mitigation_ids_;
  std::map<std::string, SourceLocation> threat_seen_, mitigation_seen_;
};

}  // namespace secprof::catalog::internal

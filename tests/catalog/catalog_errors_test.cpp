// Loader errors: each kind of mistake in a catalog file is reported with file:line:col of the
// offending text. Each test breaks one file of a copy of catalog/ and loads the copy.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "secprof/catalog/catalog.h"
#include "support/catalog_copy.h"

namespace secprof::catalog {
namespace {

using testing::CatalogCopy;

// Loads `c` and expects an error at `where` whose message contains `message`.
void ExpectError(const CatalogCopy& c, const std::string& where, const std::string& message) {
  auto cat = LoadDirectory(c.dir().string());
  ASSERT_FALSE(cat) << "the broken catalog loaded";
  const std::string text = cat.error().ToString();
  EXPECT_EQ(text.rfind(where + ": ", 0), 0u) << text << "\nexpected at " << where;
  EXPECT_NE(text.find(message), std::string::npos) << text;
  EXPECT_EQ(cat.error().code(), ErrorCode::kInvalidInput) << text;
}

TEST(CatalogErrors, TheUnbrokenCopyLoads) {
  CatalogCopy c;
  auto cat = LoadDirectory(c.dir().string());
  EXPECT_TRUE(cat) << cat.error().ToString();
}

TEST(CatalogErrors, UnknownKey) {
  CatalogCopy c;
  c.Replace("threats.yaml", "    name: Eavesdropping\n",
            "    name: Eavesdropping\n    severity: high\n");
  ExpectError(c, c.Where("threats.yaml", "severity"), "unknown key 'severity'");
}

TEST(CatalogErrors, UnknownKeyInNestedReferences) {
  CatalogCopy c;
  c.Replace("mitigations.yaml", "      rfc: [RFC6347, RFC7252, RFC7925]\n",
            "      rfc: [RFC6347, RFC7252, RFC7925]\n      ietf: [x]\n");
  ExpectError(c, c.Where("mitigations.yaml", "ietf: [x]"), "unknown key 'ietf'");
}

TEST(CatalogErrors, WrongType) {
  CatalogCopy c;
  c.Replace("mitigations.yaml", "counters: [T2, T7.4, T9]", "counters: {T2: yes}");
  ExpectError(c, c.Where("mitigations.yaml", "{T2: yes}"), "expected a list, found a map");
}

TEST(CatalogErrors, WrongScalarType) {
  CatalogCopy c;
  c.Replace("profiles.yaml", "    rank: 3\n", "    rank: three\n");
  ExpectError(c, c.Where("profiles.yaml", "three"), "expected an integer");
}

TEST(CatalogErrors, DuplicateId) {
  CatalogCopy c;
  c.Replace("threats.yaml", "  - id: T2\n", "  - id: T1\n");
  ExpectError(c, c.Where("threats.yaml", "id: T1", 2, 4), "duplicate threat id 'T1'");
}

TEST(CatalogErrors, DuplicateMitigationId) {
  CatalogCopy c;
  c.Replace("mitigations.yaml", "  - id: M.arch.clone_detection\n", "  - id: M.arch.local_kdc\n");
  ExpectError(c, c.Where("mitigations.yaml", "id: M.arch.local_kdc", 2, 4),
              "duplicate mitigation id 'M.arch.local_kdc'");
}

TEST(CatalogErrors, DanglingThreatInMitigation) {
  CatalogCopy c;
  c.Replace("mitigations.yaml", "counters: [T2, T7.4, T9]", "counters: [T2, T7.9, T9]");
  ExpectError(c, c.Where("mitigations.yaml", "T7.9"), "unknown threat 'T7.9'");
}

TEST(CatalogErrors, DanglingMitigationInProfile) {
  CatalogCopy c;
  c.Replace("profiles.yaml", "      - M.app.dtls_suite_policy\n",
            "      - M.app.dtls_suit_policy\n");
  ExpectError(c, c.Where("profiles.yaml", "M.app.dtls_suit_policy"),
              "unknown mitigation 'M.app.dtls_suit_policy'");
}

TEST(CatalogErrors, DanglingPhaseAndLayer) {
  CatalogCopy c;
  c.Replace("threats.yaml", "    phases: [installation, decommissioning]",
            "    phases: [installation, commissioning]");
  ExpectError(c, c.Where("threats.yaml", "commissioning]"), "unknown phase 'commissioning'");
  CatalogCopy d;
  d.Replace("mitigations.yaml", "    layers: [network, application]\n",
            "    layers: [network, session]\n");
  ExpectError(d, d.Where("mitigations.yaml", "session]"), "unknown layer 'session'");
}

TEST(CatalogErrors, DanglingStateInTransition) {
  CatalogCopy c;
  c.Replace("lifecycle.yaml", "{from: installed, to: commissioned,",
            "{from: installed, to: bootstrapped,");
  ExpectError(c, c.Where("lifecycle.yaml", "to: bootstrapped", 1, 4),
              "unknown state 'bootstrapped'");
}

TEST(CatalogErrors, UnknownFact) {
  CatalogCopy c;
  c.Replace("profiles.yaml", "{fact: system.roaming,", "{fact: system.roamin,");
  ExpectError(c, c.Where("profiles.yaml", "system.roamin,"), "unknown fact 'system.roamin'");
}

TEST(CatalogErrors, EnumValueOutsideTheFactsDomain) {
  CatalogCopy c;
  c.Replace("profiles.yaml", "{fact: system.central_device, at_least: local}",
            "{fact: system.central_device, at_least: locl}");
  ExpectError(c, c.Where("profiles.yaml", "locl}"),
              "'locl' is not a value of fact system.central_device");
}

TEST(CatalogErrors, BoolFactNeedsTrueOrFalse) {
  CatalogCopy c;
  c.Replace("profiles.yaml", "{fact: system.roaming, equals: \"true\"}",
            "{fact: system.roaming, equals: \"yes\"}");
  ExpectError(c, c.Where("profiles.yaml", "\"yes\""), "is a bool");
}

TEST(CatalogErrors, AtLeastNeedsAnOrderedFact) {
  CatalogCopy c;
  c.Replace("profiles.yaml", "{fact: system.roaming, equals: \"true\"}",
            "{fact: system.installer, at_least: vendor}");
  ExpectError(c, c.Where("profiles.yaml", "vendor}"), "needs an ordered fact");
}

TEST(CatalogErrors, TriggersMustBeMonotone) {
  CatalogCopy c;
  c.Replace("profiles.yaml", "{fact: system.roaming, equals: \"true\"}",
            "{fact: system.roaming, equals: \"false\"}");
  ExpectError(c, c.Where("profiles.yaml", "\"false\""), "must be monotone");
}

TEST(CatalogErrors, RuleConditionOnAnotherScopesFact) {
  CatalogCopy c;
  std::string rules = c.Read("rules.yaml");
  if (rules.find("rules: []") != std::string::npos) rules = "rules:\n";
  rules +=
      "  - id: R.test.scope\n"
      "    threat: T3\n"
      "    scope: link\n"
      "    phase: operation\n"
      "    layer: transport\n"
      "    likelihood: low\n"
      "    why: test\n"
      "    when:\n"
      "      all:\n"
      "        - {fact: thing.count, at_least: 3}\n";
  c.Write("rules.yaml", rules);
  ExpectError(c, c.Where("rules.yaml", "thing.count, at_least: 3}"),
              "a condition on a link may test only its own and system facts");
}

TEST(CatalogErrors, ConditionNeedsExactlyOneOperator) {
  CatalogCopy c;
  c.Replace("profiles.yaml", "{fact: system.roaming, equals: \"true\"}",
            "{fact: system.roaming, equals: \"true\", not_equals: \"false\"}");
  ExpectError(c, c.Where("profiles.yaml", "{fact: system.roaming"), "exactly one of");
}

TEST(CatalogErrors, RiskMatrixShape) {
  CatalogCopy c;
  c.Replace("risk.yaml", "[low,      low,      moderate, moderate]", "[low, low, moderate]");
  ExpectError(c, c.Where("risk.yaml", "[low, low, moderate]"),
              "must have one risk level per impact level (4), found 3");
  CatalogCopy d;
  d.Replace("risk.yaml", "  high:             [moderate,", "  severe:           [moderate,");
  ExpectError(d, d.Where("risk.yaml", "low:"), "matrix rows must be exactly the likelihood levels");
}

TEST(CatalogErrors, ThreatNobodyCounters) {
  CatalogCopy c;
  c.Replace("threats.yaml", "\n# References that Figure 2 prints",
            "  - id: T12\n"
            "    name: Something new\n"
            "    description: Not countered by anything.\n"
            "    phases: [operation]\n"
            "    layers: [thing]\n"
            "    affects: [integrity]\n"
            "\n# References that Figure 2 prints");
  ExpectError(c, c.Where("threats.yaml", "T12"), "threat 'T12' is not countered");
}

TEST(CatalogErrors, DropWithoutSuccessor) {
  CatalogCopy c;
  c.Replace("profiles.yaml", "    drops: [M.boot.pairing_window]",
            "    drops: [M.boot.pairing_window, M.boot.imprinting]");
  ExpectError(c, c.Where("profiles.yaml", "M.boot.imprinting]"),
              "may be dropped only in favour of its `superseded_by`");
}

TEST(CatalogErrors, ProvisionMetWithoutAMitigation) {
  CatalogCopy c;
  c.Replace("profiles.yaml", "etsi_en_303_645: [\"5.1-1\",",
            "etsi_en_303_645: [\"5.7-1\", \"5.1-1\",");
  ExpectError(c, c.Where("profiles.yaml", "\"5.7-1\""), "none of SecProf_1's mitigations");
}

TEST(CatalogErrors, Figure2CellOutsideTheFigure) {
  CatalogCopy c;
  c.Replace("threats.yaml", "      - {phase: manufacturing, layer: thing}",
            "      - {phase: maintenance, layer: thing}");
  ExpectError(c, c.Where("threats.yaml", "maintenance, layer"), "is not a column of Figure 2");
}

TEST(CatalogErrors, YamlSyntaxErrorIsLocated) {
  CatalogCopy c;
  c.Replace("layers.yaml", "  - id: transport\n", "  - id: [transport\n");
  auto cat = LoadDirectory(c.dir().string());
  ASSERT_FALSE(cat);
  EXPECT_EQ(cat.error().where()->file, c.Path("layers.yaml"));
  EXPECT_GT(cat.error().where()->line, 0);
}

TEST(CatalogErrors, MissingFileIsNamed) {
  CatalogCopy c;
  std::filesystem::remove(c.Path("processes.yaml"));
  auto cat = LoadDirectory(c.dir().string());
  ASSERT_FALSE(cat);
  EXPECT_EQ(cat.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(cat.error().ToString().find(c.Path("processes.yaml")), std::string::npos);
  EXPECT_FALSE(LoadDirectory((c.dir() / "nope").string()));
}

}  // namespace
}  // namespace secprof::catalog

#include <gtest/gtest.h>

#include "secprof/model/model.h"
#include "testutil.h"

namespace secprof::model {
namespace {

const char* kMinimal = R"(name: t
things:
  - id: a
    vendor: V
)";

Model MustParse(const std::string& text) {
  auto m = Parse("m.yaml", text);
  EXPECT_TRUE(m) << m.error().ToString();
  return m ? *m : Model{};
}

std::string ErrorOf(const std::string& text) {
  auto m = Parse("m.yaml", text);
  EXPECT_FALSE(m);
  return m ? "" : m.error().ToString();
}

TEST(ModelLoaderTest, ExamplesLoad) {
  for (const char* f : {"home-lighting", "managed-home", "office-building", "industrial-plant"}) {
    auto path = (secprof::testing::SourceDir() / "examples" / (std::string(f) + ".yaml")).string();
    auto m = LoadFile(path);
    ASSERT_TRUE(m) << m.error().ToString();
    EXPECT_FALSE(m->things.empty());
    EXPECT_EQ(m->file, path);
  }
}

TEST(ModelLoaderTest, UnknownKeyIsLocated) {
  EXPECT_EQ(ErrorOf("name: t\nthings:\n  - id: a\n    vendor: V\n    colour: red\n"),
            "m.yaml:5:5: field 'things[0].colour': unknown key 'colour' (allowed: id, name, class, "
            "count, vendor, product, capabilities, groups)");
  EXPECT_EQ(ErrorOf(std::string(kMinimal) + "extra: 1\n").substr(0, 12), "m.yaml:5:1: ");
}

TEST(ModelLoaderTest, WrongTypeIsLocated) {
  EXPECT_EQ(ErrorOf("name: t\nthings:\n  - id: a\n    vendor: V\n    count: many\n"),
            "m.yaml:5:12: field 'things[0].count': expected an integer, found 'many'");
  EXPECT_EQ(ErrorOf("name: t\nfeatures:\n  roaming: maybe\nthings:\n  - {id: a, vendor: V}\n"),
            "m.yaml:3:12: field 'features.roaming': expected true or false, found 'maybe'");
  EXPECT_NE(
      ErrorOf("name: t\nthings: {id: a}\n").find("m.yaml:2:9: field 'things': expected a list"),
      std::string::npos);
}

TEST(ModelLoaderTest, BadEnumListsChoices) {
  auto e =
      ErrorOf("name: t\nfeatures:\n  central_device: cloud\nthings:\n  - {id: a, vendor: V}\n");
  EXPECT_NE(e.find("m.yaml:3:19"), std::string::npos) << e;
  EXPECT_NE(e.find("none, local, backend, local_and_backend"), std::string::npos) << e;
}

TEST(ModelLoaderTest, DuplicateIdIsRejected) {
  auto e = ErrorOf("name: t\nthings:\n  - {id: a, vendor: V}\nassets:\n  - {id: a}\n");
  EXPECT_NE(e.find("m.yaml:5:5: field 'assets[0]': duplicate id 'a' (first defined at line 3)"),
            std::string::npos)
      << e;
}

TEST(ModelLoaderTest, DanglingReferencesAreRejected) {
  auto e = ErrorOf(std::string(kMinimal) + "links:\n  - {from: a, to: ghost}\n");
  EXPECT_NE(e.find("m.yaml:6:5: field 'links[0].to': 'ghost' is not a thing or node id"),
            std::string::npos)
      << e;
  e = ErrorOf(std::string(kMinimal) +
              "nodes:\n  - {id: n, kind: kdc}\nflows:\n  - {from: a, to: n, assets: [x]}\n");
  EXPECT_NE(e.find("'x' is not an asset id"), std::string::npos) << e;
}

TEST(ModelLoaderTest, UnknownCapabilityAndEmptyModel) {
  auto e = ErrorOf("name: t\nthings:\n  - {id: a, vendor: V, capabilities: [laser]}\n");
  EXPECT_NE(e.find("m.yaml:3:39: field 'things[0].capabilities[0]': unknown capability 'laser'"),
            std::string::npos)
      << e;
  EXPECT_NE(ErrorOf("name: t\n").find("at least one entry in 'things'"), std::string::npos);
  EXPECT_NE(ErrorOf("- a\n- b\n").find("must be a YAML map"), std::string::npos);
  EXPECT_NE(ErrorOf("name: [unclosed\n").find("YAML syntax error"), std::string::npos);
  EXPECT_NE(ErrorOf("name: t\nthings:\n  - {id: a, vendor: V, count: 0}\n").find("count must be"),
            std::string::npos);
}

TEST(ModelLoaderTest, DuplicateMitigationRejected) {
  auto e = ErrorOf(std::string(kMinimal) + "mitigations: [M.a, {id: M.a, note: again}]\n");
  EXPECT_NE(e.find("declared twice"), std::string::npos) << e;
}

TEST(ModelFactsTest, DerivesSystemFeatures) {
  Model m = MustParse(R"(name: t
things:
  - {id: a, vendor: V, count: 30, capabilities: [personal_data, updatable]}
  - {id: b, vendor: W, class: C0}
nodes:
  - {id: k, kind: kdc}
  - {id: be, kind: backend, location: cloud}
  - {id: p, kind: proxy}
links:
  - {from: a, to: be, medium: internet}
flows:
  - {id: f1, from: a, to: be, via: [p], assets: [x]}
  - {id: f2, from: b, to: k, assets: [y], protection: end_to_end}
assets:
  - {id: x, confidentiality: high}
  - {id: y}
lifecycle: {maintenance: remote, lifetime_years: 12}
)");
  FactSet f = ComputeFacts(m);
  const auto& s = *f.system.facts;
  EXPECT_EQ(s.at("system.network_size"), "medium");  // 31 things
  EXPECT_EQ(s.at("system.thing_count"), "31");
  EXPECT_EQ(s.at("system.central_device"), "local_and_backend");
  EXPECT_EQ(s.at("system.internet"), "direct");  // an internet link touches thing a
  EXPECT_EQ(s.at("system.data_value"), "high");
  EXPECT_EQ(s.at("system.multi_vendor"), "true");
  EXPECT_EQ(s.at("system.personal_data"), "true");
  EXPECT_EQ(s.at("system.proxy"), "true");
  EXPECT_EQ(s.at("system.remote_maintenance"), "true");
  EXPECT_EQ(s.at("system.lifetime_years"), "12");
  ASSERT_EQ(f.assets.size(), 2u);
  EXPECT_EQ(f.assets[0].facts->at("asset.exposed_at_translation"), "true");
  EXPECT_EQ(f.assets[0].facts->at("asset.leaves_domain"), "true");
  EXPECT_EQ(f.assets[1].facts->at("asset.exposed_at_translation"), "false");
  EXPECT_EQ(f.assets[1].facts->at("asset.leaves_domain"), "false");
  EXPECT_EQ(f.things[1].facts->at("thing.class"), "C0");
  EXPECT_EQ(f.things[0].facts->at("thing.stores_personal_data"), "true");
  EXPECT_EQ(f.Scope("thing").size(), 2u);
  EXPECT_EQ(f.Scope("system").size(), 1u);
}

TEST(ModelFactsTest, DeclaredFeaturesWinWhenHigher) {
  Model m = MustParse(R"(name: t
features: {network_size: large, internet: gateway, data_value: critical, central_device: backend}
things:
  - {id: a, vendor: V}
)");
  const FactSet f = ComputeFacts(m);
  const auto& s = *f.system.facts;
  EXPECT_EQ(s.at("system.network_size"), "large");
  EXPECT_EQ(s.at("system.internet"), "gateway");
  EXPECT_EQ(s.at("system.data_value"), "critical");
  EXPECT_EQ(s.at("system.central_device"), "backend");
  EXPECT_EQ(s.at("system.multi_vendor"), "false");
}

// Elements of a scope with equal facts share one map (the engine's fact classes); any difference
// in a value gives a map of its own with the right values.
TEST(ModelFactsTest, EqualFactsShareOneMap) {
  Model m = MustParse(R"(name: t
things:
  - {id: a, vendor: V, class: C0, capabilities: [updatable]}
  - {id: b, vendor: W, class: C0, capabilities: [updatable]}
  - {id: c, vendor: V, class: C1, capabilities: [updatable]}
  - {id: d, vendor: V, class: C0}
nodes:
  - {id: k, kind: kdc}
links:
  - {id: l1, from: k, to: a, protection: dtls}
  - {id: l2, from: k, to: b, protection: dtls}
  - {id: l3, from: k, to: c, protection: none}
)");
  const FactSet f = ComputeFacts(m);
  ASSERT_EQ(f.things.size(), 4u);
  EXPECT_EQ(f.things[0].facts, f.things[1].facts);  // the vendor is not a thing fact
  EXPECT_NE(f.things[0].facts, f.things[2].facts);
  EXPECT_NE(f.things[0].facts, f.things[3].facts);
  EXPECT_EQ(f.things[2].facts->at("thing.class"), "C1");
  EXPECT_EQ(f.things[3].facts->at("thing.updatable"), "false");
  EXPECT_EQ(f.things[0].facts->at("thing.updatable"), "true");
  ASSERT_EQ(f.links.size(), 3u);
  EXPECT_EQ(f.links[0].facts, f.links[1].facts);
  EXPECT_NE(f.links[0].facts, f.links[2].facts);
  EXPECT_EQ(f.links[2].facts->at("link.protection"), "none");
}

}  // namespace
}  // namespace secprof::model

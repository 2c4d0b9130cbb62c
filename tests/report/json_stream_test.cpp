// RenderJson streams the findings array (json.cpp): the output must be the documented JSON,
// whatever the model's text, including text equal to the placeholder the streaming uses.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "secprof/assess/assess.h"
#include "secprof/catalog/catalog.h"
#include "secprof/model/model.h"
#include "secprof/report/report.h"

namespace secprof::report {
namespace {

TEST(JsonStream, FindingsArrayIsCompleteWhateverTheModelText) {
  auto cat = catalog::LoadBuiltin();
  ASSERT_TRUE(cat);
  // Model text that equals the placeholder, and a fact-like key, cannot confuse the splice.
  auto m = model::Parse("s.yaml",
                        "name: \"@secprof:threats-stream@\"\n"
                        "description: \"\\n  \\\"threats\\\": \\\"@secprof:threats-stream@\\\"\"\n"
                        "things: [{id: a, vendor: v}, {id: b, vendor: w}]\n"
                        "nodes: [{id: k, kind: kdc}]\n"
                        "links: [{from: k, to: a}, {from: k, to: b, protection: dtls}]\n");
  ASSERT_TRUE(m) << m.error().ToString();
  auto a = assess::Assess(**cat, *m);
  ASSERT_TRUE(a);
  ASSERT_FALSE(a->findings.empty());
  const std::string text = RenderJson(*a);
  auto j = nlohmann::ordered_json::parse(text, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << text.substr(0, 2000);
  EXPECT_EQ(j["model"]["name"], "@secprof:threats-stream@");
  ASSERT_TRUE(j["threats"].is_array());
  ASSERT_EQ(j["threats"].size(), a->findings.size());
  size_t elements = 0;
  for (size_t i = 0; i < a->findings.size(); ++i) {
    const auto& f = a->findings[i];
    EXPECT_EQ(j["threats"][i]["rule"], f.rule);
    ASSERT_EQ(j["threats"][i]["elements"].size(), f.elements.size());
    EXPECT_EQ(j["threats"][i]["count"], f.elements.size());
    for (size_t k = 0; k < f.elements.size(); ++k) {
      EXPECT_EQ(j["threats"][i]["elements"][k]["id"], f.elements[k].id);
      EXPECT_EQ(j["threats"][i]["elements"][k]["line"], f.elements[k].line);
    }
    elements += f.elements.size();
  }
  EXPECT_EQ(j["summary"]["findings"], elements);
  // dump(2)'s layout, except that each element is one line (schema secprof-assessment/3).
  size_t lines = 0;
  for (size_t p = text.find("\n        {\"id\": "); p != std::string::npos;
       p = text.find("\n        {\"id\": ", p + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, elements);
  // Key order is the documented one.
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  const std::vector<std::string> expected = {"schema",   "tool",  "catalog_version", "date",
                                             "model",    "facts", "profile",         "threats",
                                             "warnings", "gaps"};
  ASSERT_GE(keys.size(), expected.size());
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), keys.begin()));
}

}  // namespace
}  // namespace secprof::report

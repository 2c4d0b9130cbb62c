// Shared by the assess tests: the builtin catalog (loaded once) and the worked examples.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "secprof/catalog/catalog.h"
#include "secprof/model/model.h"
#include "testutil.h"

namespace secprof::assess::testing {

inline const catalog::Catalog& Cat() {
  static auto cat = [] {
    auto c = catalog::LoadBuiltin();
    if (!c) ADD_FAILURE() << c.error().ToString();
    return *c;
  }();
  return *cat;
}

inline std::string ExamplePath(const std::string& name) {
  return (secprof::testing::SourceDir() / "examples" / (name + ".yaml")).string();
}

inline model::Model LoadExample(const std::string& name) {
  auto m = model::LoadFile(ExamplePath(name));
  EXPECT_TRUE(m) << m.error().ToString();
  return m ? *m : model::Model{};
}

}  // namespace secprof::assess::testing

// Shared by kdc_test.cpp and kdc_secprof3_test.cpp: reason names as KdcStats counts them and a
// count of a thing's audit entries.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "secprof/registry/registry.h"
#include "secprof/voucher/voucher.h"
#include "support/kdc_client.h"
#include "testutil.h"

namespace secprof::kdc::kdc_fixture {

namespace fs = std::filesystem;
using namespace secprof::testing;
using registry::State;

// A reason's name, as KdcStats::refused counts it (secprof/kdc/reasons.h).
inline std::string Name(Reason r) { return std::string(r.name()); }

inline int CountAudit(registry::Registry& reg, const std::string& serial,
                      const std::string& action) {
  auto entries = reg.Audit(serial);
  EXPECT_TRUE(entries) << entries.error().ToString();
  if (!entries) return -1;
  return static_cast<int>(std::count_if(entries->begin(), entries->end(),
                                        [&](const auto& e) { return e.action == action; }));
}

}  // namespace secprof::kdc::kdc_fixture

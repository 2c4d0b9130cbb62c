// tests/lab: a scenario whose outcome the test decides, to test the runner, the claims and the
// reports without a live domain. It records what the runner gave it.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "secprof/lab/scenario.h"

namespace secprof::lab::testing {

class FakeScenario final : public Scenario {
 public:
  // `decide(ctx)` gives the measurement, or an Error (a lab error).
  FakeScenario(ScenarioInfo info, std::function<Result<Measurement>(const RunContext&)> decide)
      : info_(std::move(info)), decide_(std::move(decide)) {}
  const ScenarioInfo& info() const override { return info_; }
  Result<Measurement> Run(const RunContext& ctx) const override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      Seen s;
      s.dir = ctx.dir;
      s.dir_was_empty_directory =
          std::filesystem::is_directory(ctx.dir) && std::filesystem::is_empty(ctx.dir);
      s.profile = ctx.profile;
      s.defence_off = ctx.defence_off;
      s.seed = ctx.seed;
      seen_.push_back(s);
    }
    // Leave a file behind: the runner must remove the run's directory anyway.
    std::FILE* f = std::fopen((ctx.dir / "left-behind").c_str(), "w");
    if (f) std::fclose(f);
    return decide_(ctx);
  }

  struct Seen {
    std::filesystem::path dir;
    bool dir_was_empty_directory = false;
    domain::Profile profile = domain::Profile::kSecProf1;
    bool defence_off = false;
    uint64_t seed = 0;
  };
  std::vector<Seen> seen() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  ScenarioInfo info_;
  std::function<Result<Measurement>(const RunContext&)> decide_;
  mutable std::mutex mu_;
  mutable std::vector<Seen> seen_;
};

inline ScenarioInfo FakeInfo(std::string id, std::string threat, std::string phase,
                             std::vector<std::string> mitigations, bool negative) {
  ScenarioInfo i;
  i.id = std::move(id);
  i.threat = std::move(threat);
  i.phase = std::move(phase);
  i.layer = "application";
  i.attacker = "a test's attacker <with markup & quotes \">";
  i.success = "the test says so";
  i.mitigations = std::move(mitigations);
  i.has_negative_control = negative;
  return i;
}

inline Measurement Measured(Outcome o, std::string control = "", std::string reason = "") {
  Measurement m;
  m.outcome = o;
  m.control = std::move(control);
  m.reason = std::move(reason);
  return m;
}

}  // namespace secprof::lab::testing

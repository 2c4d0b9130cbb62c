// The lab's known open findings (secprof/lab/baseline.h).
#include "secprof/lab/baseline.h"

#include <algorithm>
#include <sstream>

#include "secprof/domain/profile.h"

namespace secprof::lab {

namespace {

std::string Key(const std::string& scenario, const std::string& profile) {
  return scenario + " " + profile;
}

}  // namespace

Result<std::vector<BaselineEntry>> ParseBaseline(std::string_view text, const std::string& file) {
  std::vector<BaselineEntry> out;
  std::set<std::string> seen;
  std::istringstream in{std::string(text)};
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    std::istringstream words(line);
    std::string scenario, profile, flag, extra;
    if (!(words >> scenario)) continue;  // blank or comment only
    auto where = file + ":" + std::to_string(n) + ": ";
    const bool shape =
        (words >> profile) && (!(words >> flag) || flag == "unstable") && !(words >> extra);
    if (!shape)
      return Fail(
          ErrorCode::kInvalidInput,
          where + "expected \"<scenario id> <profile> [unstable]\" and an optional # comment");
    if (!FindScenario(scenario))
      return Fail(ErrorCode::kInvalidInput, where + "\"" + scenario + "\" is no lab scenario");
    auto p = domain::ParseProfile(profile);
    if (!p) return Fail(ErrorCode::kInvalidInput, where + p.error().message());
    BaselineEntry e{scenario, domain::ProfileName(*p), flag == "unstable", n};
    if (!seen.insert(Key(e.scenario, e.profile)).second)
      return Fail(ErrorCode::kInvalidInput,
                  where + "\"" + Key(e.scenario, e.profile) + "\" is listed twice");
    out.push_back(std::move(e));
  }
  return out;
}

BaselineCheck CheckBaseline(const LabReport& report, const std::vector<BaselineEntry>& baseline) {
  BaselineCheck c;
  std::set<std::string> listed, measured;
  for (const auto& e : baseline) listed.insert(Key(e.scenario, e.profile));
  for (const auto& cell : report.cells) {
    const std::string key = Key(cell.measured.scenario, domain::ProfileName(cell.measured.profile));
    measured.insert(key);
    if (cell.verdict != Verdict::kFinding) continue;
    (listed.count(key) ? c.known : c.fresh).push_back(key);
  }
  for (const auto& e : baseline) {
    const std::string key = Key(e.scenario, e.profile);
    if (!e.unstable && measured.count(key) &&
        std::find(c.known.begin(), c.known.end(), key) == c.known.end())
      c.stale.push_back(key);
  }
  return c;
}

}  // namespace secprof::lab

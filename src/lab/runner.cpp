// The lab's runner (secprof/lab/runner.h).
#include "secprof/lab/runner.h"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

#include "secprof/lab/live_domain.h"

namespace secprof::lab {
namespace {

namespace fs = std::filesystem;

constexpr domain::Profile kAllProfiles[] = {domain::Profile::kSecProf1, domain::Profile::kSecProf2,
                                            domain::Profile::kSecProf3, domain::Profile::kSecProf4};

// A threat filter selects its own id and its sub-attacks ("T7" selects "T7.2").
bool ThreatSelected(const std::vector<std::string>& filter, const std::string& threat) {
  if (filter.empty()) return true;
  for (const auto& t : filter)
    if (threat == t || threat.rfind(t + ".", 0) == 0) return true;
  return false;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// One unit of work: a scenario in a profile, the attack or its negative control.
struct Job {
  size_t cell = 0;
  const Scenario* scenario = nullptr;
  domain::Profile profile = domain::Profile::kSecProf2;
  bool negative = false;
};

RunRecord RunOne(const Job& job, const fs::path& dir, const RunOptions& o,
                 const TokenPool* tokens) {
  RunRecord r;
  std::error_code ec;
  fs::remove_all(dir, ec);  // a leftover of an earlier run in the same --dir
  fs::create_directories(dir, ec);
  if (ec) {
    r.error = "cannot create " + dir.string() + ": " + ec.message();
    return r;
  }
  RunContext ctx;
  ctx.profile = job.profile;
  ctx.dir = dir;
  ctx.seed = o.seed;
  ctx.defence_off = job.negative;
  ctx.tokens = tokens;
  ctx.timeout = o.timeout;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    auto m = job.scenario->Run(ctx);
    if (m) {
      r.measurement = std::move(*m);
    } else {
      r.error = m.error().message();
    }
  } catch (const std::exception& e) {
    r.error = std::string("the scenario threw: ") + e.what();
  } catch (...) {
    r.error = "the scenario threw an unknown exception";
  }
  r.measurement.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fs::remove_all(dir, ec);
  return r;
}

}  // namespace

Result<std::vector<const Scenario*>> SelectScenarios(const RunOptions& o) {
  for (const auto& id : o.scenarios) {
    if (!FindScenario(id)) {
      return Fail(ErrorCode::kInvalidInput,
                  "no lab scenario \"" + id + "\" (secprof lab list shows them)");
    }
  }
  std::vector<const Scenario*> out;
  for (const auto& s : AllScenarios()) {
    const ScenarioInfo& i = s->info();
    if (!o.scenarios.empty() && !Contains(o.scenarios, i.id)) continue;
    if (!ThreatSelected(o.threats, i.threat)) continue;
    out.push_back(s.get());
  }
  if (out.empty()) {
    return Fail(ErrorCode::kInvalidInput,
                "the selection leaves no lab scenario to run (secprof lab list shows them)");
  }
  return out;
}

Result<MeasuredMatrix> RunMatrix(const RunOptions& o) {
  SECPROF_ASSIGN_OR_RETURN(auto selected, SelectScenarios(o));
  return RunScenarios(selected, o);
}

Result<MeasuredMatrix> RunScenarios(const std::vector<const Scenario*>& selected,
                                    const RunOptions& o) {
  if (o.jobs < 1 || o.jobs > 16) {
    return Fail(ErrorCode::kInvalidInput, "jobs must be 1..16, not " + std::to_string(o.jobs));
  }
  if (selected.empty()) return Fail(ErrorCode::kInvalidInput, "no lab scenario to run");
  MeasuredMatrix mm;
  mm.seed = o.seed;
  mm.jobs = o.jobs;
  mm.negative_controls = o.negative_controls;
  for (auto p : kAllProfiles) {
    if (o.profiles.empty() ||
        std::find(o.profiles.begin(), o.profiles.end(), p) != o.profiles.end())
      mm.profiles.push_back(p);
  }
  std::vector<Job> jobs;
  for (const Scenario* s : selected) {
    mm.scenarios.push_back(s->info().id);
    mm.infos.push_back(s->info());
    for (auto p : mm.profiles) {
      MeasuredCell c;
      c.scenario = s->info().id;
      c.threat = s->info().threat;
      c.profile = p;
      const size_t index = mm.cells.size();
      mm.cells.push_back(std::move(c));
      jobs.push_back({index, s, p, false});
      if (o.negative_controls && s->info().has_negative_control)
        jobs.push_back({index, s, p, true});
    }
  }

  // The base directory: the caller's, or a fresh one under the temp directory (removed after).
  fs::path base = o.base_dir;
  bool made_base = false;
  if (base.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "secprof-lab-XXXXXX").string();
    if (!::mkdtemp(tmpl.data()))
      return Fail(ErrorCode::kIo,
                  "cannot create a directory under " + fs::temp_directory_path().string());
    base = tmpl;
    made_base = true;
  } else {
    std::error_code ec;
    fs::create_directories(base, ec);
    if (ec) return Fail(ErrorCode::kIo, "cannot create " + base.string() + ": " + ec.message());
  }

  const auto t0 = std::chrono::steady_clock::now();
  // Tokens are needed only by SecProf_3/4 runs; SoftHSM2 is prepared once for the whole matrix.
  const bool need_tokens = std::any_of(mm.profiles.begin(), mm.profiles.end(), [](auto p) {
    return domain::PolicyFor(p).tamper_resistant;
  });
  std::optional<TokenPool> pool;
  if (need_tokens) {
    pool = TokenPool::Prepare(base);
    if (!pool->ok()) mm.tokens_problem = pool->problem();
  }
  if (pool && pool->ok()) {
    // Every token before the first domain opens the module (TokenPool::Reserve says why): one per
    // token-profile run, half as many again for scenarios that start a second domain.
    size_t token_runs = 0;
    for (const Job& j : jobs) token_runs += domain::PolicyFor(j.profile).tamper_resistant;
    if (auto st = pool->Reserve(static_cast<int>(token_runs + token_runs / 2 + 2), 1); !st)
      mm.tokens_problem = st.error().message();
  }
  const TokenPool* tokens = pool && pool->ok() ? &*pool : nullptr;

  std::atomic<size_t> next{0};
  std::mutex mu;  // guards the cells' records and the progress callback
  size_t done = 0;
  auto worker = [&] {
    for (size_t i = next++; i < jobs.size(); i = next++) {
      const Job& job = jobs[i];
      const fs::path dir = base / ("run-" + std::to_string(i));
      RunRecord r = RunOne(job, dir, o, tokens);
      std::lock_guard<std::mutex> lock(mu);
      MeasuredCell& cell = mm.cells[job.cell];
      const RunRecord* stored;
      if (job.negative) {
        cell.negative = std::move(r);
        stored = &*cell.negative;
      } else {
        cell.attack = std::move(r);
        stored = &cell.attack;
      }
      ++done;
      if (o.progress)
        o.progress({done, jobs.size(), job.scenario->info().id, job.profile, job.negative, stored});
    }
  };
  const int n = std::min<int>(o.jobs, static_cast<int>(jobs.size()));
  std::vector<std::thread> threads;
  for (int t = 1; t < n; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  mm.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (made_base) {
    std::error_code ec;
    fs::remove_all(base, ec);
  }
  return mm;
}

}  // namespace secprof::lab

// `secprof demo`: the main job that `make demo` runs.
//
// It assesses the four worked example models, one per profile, and writes an HTML report for each;
// then it runs the domain: per profile it manufactures a small fleet, starts a KDC (SecProf_2..4)
// on loopback, carries every thing through the lifecycle over CoAP/DTLS (join, operation, thing-to-
// thing keys, groups with re-keying, maintenance, decommissioning, replacement, re-ownership) and
// prints a summary per profile (the runs are secprof::scenario's); then the lab attacks every
// profile (secprof::lab) and prints the measured matrix next to the claimed one. Exit 0 when every
// step went as the profile says and the lab found nothing beyond its known open findings
// (tests/lab/known_findings.txt, docs/LAB.md), 1 otherwise.
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "command.h"
#include "secprof/assess/assess.h"
#include "secprof/catalog/catalog.h"
#include "secprof/core/fs.h"
#include "secprof/domain/profile.h"
#include "secprof/model/model.h"
#include "secprof/report/report.h"
#include "secprof/scenario/scenario.h"

namespace secprof::cli {
namespace {

namespace fs = std::filesystem;

struct DemoOptions {
  std::string examples = "examples";
  std::string out = "build/demo";
  int things = 5;
  bool domain = true;
  bool lab = true;
  // The lab's known open findings (docs/LAB.md "Known findings"); used when the file exists.
  std::string lab_baseline = "tests/lab/known_findings.txt";
};

// ---- the run-time domain (secprof::scenario) ---------------------------------------------------

void Progress(const std::string& profile, const std::string& msg) {
  std::cout << "  " << std::left << std::setw(10) << profile << msg << "\n" << std::flush;
}

int RunDomain(const std::string& out, int count, std::vector<scenario::ProfileRun>& runs) {
  fs::path base = fs::path(out) / "domain";
  std::error_code ec;
  fs::remove_all(base, ec);
  fs::create_directories(base, ec);
  if (ec) return ReportError(Error(ErrorCode::kIo, "cannot create " + base.string()));
  std::cout << "\nsecprof demo: the run-time domain, " << count
            << " things per profile, on loopback CoAP/DTLS\n";
  runs = scenario::RunAllProfiles(base, count, Progress);
  std::cout << "\n"
            << std::left << std::setw(11) << "profile" << std::setw(8) << "things" << std::setw(9)
            << "joined" << std::setw(10) << "joins/s"
            << "things per state (thing side)\n";
  int failures = 0;
  for (const auto& r : runs) {
    std::string states;
    for (const auto& [s, n] : r.states) states += s + "=" + std::to_string(n) + " ";
    double rate = r.join_seconds > 0 ? r.joined / r.join_seconds : 0;
    std::ostringstream rs;
    rs << std::fixed << std::setprecision(1) << rate;
    std::cout << std::left << std::setw(11) << r.profile << std::setw(8) << r.things << std::setw(9)
              << r.joined << std::setw(10) << rs.str() << states << "\n";
  }
  for (const auto& r : runs) {
    std::cout << "\n"
              << r.profile << ": " << domain::PolicyFor(*domain::ParseProfile(r.profile)).summary
              << "\n";
    for (const auto& [reason, n] : r.refused)
      std::cout << "  KDC refused " << n << " request(s): " << reason << "\n";
    for (const auto& n : r.notes) std::cout << "  " << n << "\n";
    for (const auto& e : r.failures) std::cout << "  FAILED: " << e << "\n";
    failures += static_cast<int>(r.failures.size());
  }
  return failures;
}

// ---- the lab: every scenario against every profile, held against the claims ------------------
//
// `secprof lab run` in a child process: the domain above has loaded SoftHSM2 (through the
// PKCS#11 engine) with its own token directory, and a process keeps the token list it first saw,
// so the lab's tokens would be invisible here (docs/LAB.md "The runner").
int RunLab(const std::string& out, const std::string& baseline) {
  std::cout << "\nsecprof demo: the lab, every attack against every profile on loopback\n"
            << std::flush;
  const fs::path dir = fs::path(out) / "lab";
  std::error_code ec;
  fs::remove_all(dir, ec);  // a previous demo's runs and tokens
  const std::string self = fs::read_symlink("/proc/self/exe", ec).string();
  if (ec) return ReportError(Error(ErrorCode::kIo, "cannot find this binary: " + ec.message()));
  const std::string html = (fs::path(out) / "lab.html").string();
  std::vector<std::string> args = {self,
                                   "lab",
                                   "run",
                                   "--dir",
                                   dir.string(),
                                   "--json-out",
                                   (fs::path(out) / "lab.json").string(),
                                   "--html-out",
                                   html};
  if (!baseline.empty() && fs::exists(baseline)) {
    args.push_back("--baseline");
    args.push_back(baseline);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (::posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv.data(), environ) != 0)
    return ReportError(Error(ErrorCode::kIo, "cannot start " + self + " lab run"));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : kExitBadInput;
  if (code == kExitOk || code == kExitFinding)
    std::cout << "The lab's matrix as a page: " << html << " (JSON beside it)\n";
  return code;
}

int RunDemo(const DemoOptions& o) {
  auto cat = catalog::LoadBuiltin();
  if (!cat) return ReportError(cat.error().WithContext("catalog"));
  std::vector<fs::path> models;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(o.examples, ec)) {
    if (e.path().extension() == ".yaml") models.push_back(e.path());
  }
  if (ec || models.empty()) {
    return ReportError(
        Error(ErrorCode::kNotFound, "no example models (*.yaml) in '" + o.examples +
                                        "'; run from the source checkout or pass --examples DIR"));
  }
  std::sort(models.begin(), models.end());
  fs::create_directories(o.out, ec);
  if (ec) {
    return ReportError(Error(ErrorCode::kIo, "cannot create " + o.out + ": " + ec.message()));
  }
  std::cout << "secprof demo: assessing " << models.size() << " example systems (catalog "
            << (*cat)->version << ")\n\n";
  std::cout << std::left << std::setw(44) << "system" << std::setw(11) << "profile" << std::setw(9)
            << "threats" << std::setw(10) << "must-fix" << std::setw(10) << "residual"
            << std::setw(6) << "gaps"
            << "report\n";
  int failures = 0;
  for (const auto& path : models) {
    auto m = model::LoadFile(path.string());
    if (!m) {
      ReportError(m.error());
      ++failures;
      continue;
    }
    auto a = assess::Assess(**cat, *m);
    if (!a) {
      ReportError(a.error());
      ++failures;
      continue;
    }
    const fs::path html = fs::path(o.out) / (path.stem().string() + ".html");
    const fs::path json = fs::path(o.out) / (path.stem().string() + ".json");
    auto st = WriteFileAtomic(html.string(), report::RenderHtml(*a, **cat, &*m));
    if (st) st = WriteFileAtomic(json.string(), report::RenderJson(*a));
    if (!st) {
      ReportError(st.error());
      ++failures;
      continue;
    }
    std::string name =
        a->model_name.size() > 42 ? a->model_name.substr(0, 41) + "~" : a->model_name;
    std::cout << std::left << std::setw(44) << name << std::setw(11) << a->profile.id
              << std::setw(9) << a->findings.size() << std::setw(10) << a->summary.must_mitigate
              << std::setw(10) << a->summary.residual_must_mitigate << std::setw(6)
              << a->gaps.size() << html.string() << "\n";
  }
  std::cout << "\nmust-fix: findings whose risk is moderate or high; residual: those still so after"
               " the mitigations each model declares. JSON beside each report.\n";
  if (failures) return kExitBadInput;
  if (!o.domain) return kExitOk;
  std::vector<scenario::ProfileRun> runs;
  int domain_failures = RunDomain(o.out, o.things, runs);
  const int lab = o.lab ? RunLab(o.out, o.lab_baseline) : kExitOk;
  if (lab == kExitBadInput) return lab;
  return domain_failures || lab != kExitOk ? kExitFinding : kExitOk;
}

void Install(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<DemoOptions>();
  CLI::App* sub = app.add_subcommand(
      "demo",
      "Assess the example systems (one per profile), then run a domain per profile on loopback: "
      "manufacture, join, operate, re-key, decommission, replace, re-own.");
  sub->add_option("--examples", opts->examples, "directory of example models")
      ->capture_default_str();
  sub->add_option("--out", opts->out, "directory for the reports and the domain's files")
      ->capture_default_str();
  sub->add_option("--things", opts->things, "things per profile (2..50)")
      ->check(CLI::Range(3, 50))
      ->capture_default_str();
  sub->add_flag("!--no-domain", opts->domain, "only the assessments");
  sub->add_flag("!--no-lab", opts->lab, "skip the lab (it runs after the domain)");
  sub->add_option(
         "--lab-baseline", opts->lab_baseline,
         "the lab's known open findings (secprof lab run --baseline); used when the file "
         "exists, so that only a new finding, a stale entry or a lab defect fails the demo")
      ->capture_default_str();
  sub->callback([opts, &ctx] { ctx.exit_code = RunDemo(*opts); });
}

Registrar reg("demo", 90, Install);

}  // namespace
}  // namespace secprof::cli

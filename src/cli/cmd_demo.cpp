// `secprof demo`: the main job that `make demo` runs.
//
// It assesses the four worked example models, one per profile, and writes an HTML report for each;
// then it runs the domain: per profile it manufactures a small fleet, starts a KDC (SecProf_2..4)
// on loopback, carries every thing through the lifecycle over CoAP/DTLS (join, operation, thing-to-
// thing keys, groups with re-keying, maintenance, decommissioning, replacement, re-ownership) and
// prints a summary per profile (the runs are secprof::scenario's); then the lab attacks every
// profile (secprof::lab) and prints the measured matrix next to the claimed one. Exit 0 when every
// step went as the profile says and the lab found nothing beyond its known open findings
// (tests/lab/known_findings.txt, docs/LAB.md), 1 otherwise. With --format json the progress and
// the tables go to stderr and stdout holds one summary document (docs/CLI.md "secprof.demo.v1").
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "command.h"
#include "output.h"
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
  std::string format = "text";
};

// Where the human-readable progress and tables go: stdout, or stderr when stdout holds the JSON
// summary (--format json).
std::ostream* g_text = &std::cout;
std::ostream& Text() { return *g_text; }

// ---- the run-time domain (secprof::scenario) ---------------------------------------------------

void Progress(const std::string& profile, const std::string& msg) {
  Text() << "  " << std::left << std::setw(10) << profile << msg << "\n" << std::flush;
}

int RunDomain(const std::string& out, int count, std::vector<scenario::ProfileRun>& runs) {
  fs::path base = fs::path(out) / "domain";
  std::error_code ec;
  fs::remove_all(base, ec);
  fs::create_directories(base, ec);
  if (ec) return ReportError(Error(ErrorCode::kIo, "cannot create " + base.string()));
  Text() << "\nsecprof demo: the run-time domain, " << count
         << " things per profile, on loopback CoAP/DTLS\n";
  runs = scenario::RunAllProfiles(base, count, Progress);
  Text() << "\n"
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
    Text() << std::left << std::setw(11) << r.profile << std::setw(8) << r.things << std::setw(9)
           << r.joined << std::setw(10) << rs.str() << states << "\n";
  }
  for (const auto& r : runs) {
    Text() << "\n"
           << r.profile << ": " << domain::PolicyFor(*domain::ParseProfile(r.profile)).summary
           << "\n";
    for (const auto& [reason, n] : r.refused)
      Text() << "  KDC refused " << n << " request(s): " << reason << "\n";
    for (const auto& n : r.notes) Text() << "  " << n << "\n";
    for (const auto& e : r.failures) Text() << "  FAILED: " << e << "\n";
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
  Text() << "\nsecprof demo: the lab, every attack against every profile on loopback\n"
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
  // In JSON mode the child's report goes where our text goes (stderr), not into the document.
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  if (g_text != &std::cout) ::posix_spawn_file_actions_adddup2(&actions, 2, 1);
  std::cout.flush();
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, self.c_str(), &actions, nullptr, argv.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return ReportError(Error(ErrorCode::kIo, "cannot start " + self + " lab run"));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : kExitBadInput;
  if (code == kExitOk || code == kExitFinding)
    Text() << "The lab's matrix as a page: " << html << " (JSON beside it)\n";
  return code;
}

int RunDemo(const DemoOptions& o, nlohmann::json& doc) {
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
  Text() << "secprof demo: assessing " << models.size() << " example systems (catalog "
         << (*cat)->version << ")\n\n";
  Text() << std::left << std::setw(44) << "system" << std::setw(11) << "profile" << std::setw(9)
         << "threats" << std::setw(10) << "must-fix" << std::setw(10) << "residual" << std::setw(6)
         << "gaps"
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
    doc["assessments"].push_back({{"model", path.string()},
                                  {"system", a->model_name},
                                  {"profile", a->profile.id},
                                  {"threats", a->summary.findings},
                                  {"must_fix", a->summary.must_mitigate},
                                  {"residual", a->summary.residual_must_mitigate},
                                  {"gaps", a->gaps.size()},
                                  {"report_html", html.string()},
                                  {"report_json", json.string()}});
    std::string name =
        a->model_name.size() > 42 ? a->model_name.substr(0, 41) + "~" : a->model_name;
    Text() << std::left << std::setw(44) << name << std::setw(11) << a->profile.id << std::setw(9)
           << a->summary.findings << std::setw(10) << a->summary.must_mitigate << std::setw(10)
           << a->summary.residual_must_mitigate << std::setw(6) << a->gaps.size() << html.string()
           << "\n";
  }
  Text() << "\nmust-fix: findings whose risk is moderate or high; residual: those still so after"
            " the mitigations each model declares. JSON beside each report.\n";
  if (failures) return kExitBadInput;
  if (!o.domain) return kExitOk;
  std::vector<scenario::ProfileRun> runs;
  int domain_failures = RunDomain(o.out, o.things, runs);
  for (const auto& r : runs)
    doc["domain"].push_back({{"profile", r.profile},
                             {"things", r.things},
                             {"joined", r.joined},
                             {"join_seconds", r.join_seconds},
                             {"states", r.states},
                             {"refused", r.refused},
                             {"notes", r.notes},
                             {"failures", r.failures}});
  const int lab = o.lab ? RunLab(o.out, o.lab_baseline) : kExitOk;
  if (o.lab)
    doc["lab"] = {{"exit", lab},
                  {"html", (fs::path(o.out) / "lab.html").string()},
                  {"json", (fs::path(o.out) / "lab.json").string()}};
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
  AddFormatOption(sub, opts->format);
  sub->callback([opts, &ctx] {
    const bool json = opts->format == "json";
    g_text = json ? &std::cerr : &std::cout;
    nlohmann::json doc = JsonDocument("demo");
    doc["out"] = opts->out;
    doc["assessments"] = nlohmann::json::array();
    doc["domain"] = nlohmann::json::array();
    doc["lab"] = nullptr;
    ctx.exit_code = RunDemo(*opts, doc);
    if (json) {
      doc["exit"] = ctx.exit_code;
      PrintJson(doc);
    }
  });
}

Registrar reg("demo", 90, Install);

}  // namespace
}  // namespace secprof::cli

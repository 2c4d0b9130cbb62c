// `secprof lab run|list`: attack every threat against a live domain per profile, and hold the
// measured matrix against the catalog's claims (issue 11; docs/LAB.md).
#include <iomanip>
#include <iostream>
#include <sstream>

#include "command.h"
#include "secprof/catalog/catalog.h"
#include "secprof/core/fs.h"
#include "secprof/lab/baseline.h"
#include "secprof/lab/claims.h"
#include "secprof/lab/report.h"

namespace secprof::cli {
namespace {

struct LabRunOptions {
  std::vector<std::string> profiles;
  std::vector<std::string> threats;
  std::vector<std::string> scenarios;
  uint64_t seed = 1;
  std::string format = "text";
  std::string out;
  std::string json_out;  // also write the JSON here
  std::string html_out;  // also write the HTML here
  std::string baseline;  // --baseline FILE: the known open findings (lab/baseline.h)
  bool negative = true;
  int jobs = 2;
  std::string catalog_dir;
  std::string base_dir;
  bool quiet = false;
};

int RunLabRun(const LabRunOptions& o) {
  auto cat = o.catalog_dir.empty() ? catalog::LoadBuiltin() : catalog::LoadDirectory(o.catalog_dir);
  if (!cat) return ReportError(cat.error().WithContext("catalog"));
  auto format = lab::ParseReportFormat(o.format);
  if (!format) return ReportError(format.error());
  std::vector<lab::BaselineEntry> baseline;
  if (!o.baseline.empty()) {
    auto text = ReadFile(o.baseline);
    if (!text) return ReportError(text.error().WithContext("--baseline"));
    auto parsed = lab::ParseBaseline(*text, o.baseline);
    if (!parsed) return ReportError(parsed.error());
    baseline = std::move(*parsed);
  }
  lab::RunOptions ro;
  for (const auto& p : o.profiles) {
    auto parsed = domain::ParseProfile(p);
    if (!parsed) return ReportError(parsed.error().WithContext("--profile"));
    ro.profiles.push_back(*parsed);
  }
  ro.threats = o.threats;
  ro.scenarios = o.scenarios;
  ro.seed = o.seed;
  ro.negative_controls = o.negative;
  ro.jobs = o.jobs;
  ro.base_dir = o.base_dir;
  if (!o.quiet) {
    ro.progress = [](const lab::RunProgress& p) {
      std::ostringstream line;
      line << "[" << std::setw(3) << p.done << "/" << p.total << "] "
           << domain::ProfileName(p.profile) << " " << p.scenario
           << (p.negative ? " (negative control)" : "") << ": ";
      if (!p.record->ok()) {
        line << "lab error: " << p.record->error;
      } else {
        line << lab::OutcomeName(p.record->measurement.outcome);
        if (!p.record->measurement.control.empty()) line << " by " << p.record->measurement.control;
        line << " (" << std::fixed << std::setprecision(1) << p.record->measurement.seconds
             << " s)";
      }
      std::cerr << line.str() << "\n" << std::flush;
    };
  }
  auto report = lab::RunLab(**cat, ro);
  if (!report) return ReportError(report.error());
  const std::string text = lab::RenderLab(*report, *format);
  if (o.out.empty()) {
    std::cout << text;
  } else {
    auto st = WriteFileAtomic(o.out, text);
    if (!st) return ReportError(st.error());
  }
  for (const auto& [path, f] : {std::pair{o.json_out, lab::ReportFormat::kJson},
                                std::pair{o.html_out, lab::ReportFormat::kHtml}}) {
    if (path.empty()) continue;
    auto st = WriteFileAtomic(path, lab::RenderLab(*report, f));
    if (!st) return ReportError(st.error());
  }
  if (!o.baseline.empty()) {
    const lab::BaselineCheck c = lab::CheckBaseline(*report, baseline);
    for (const auto& k : c.fresh) std::cerr << "secprof: lab: NEW finding: " << k << "\n";
    for (const auto& k : c.stale)
      std::cerr << "secprof: lab: " << k << " is listed in " << o.baseline
                << " but is no longer a finding: remove the entry\n";
    std::cerr << "secprof: lab: " << c.known.size() << " known finding(s) (" << o.baseline << "), "
              << c.fresh.size() << " new, " << c.stale.size() << " stale, " << report->defects
              << " lab defect(s)\n";
    return c.ok(report->defects) ? kExitOk : kExitFinding;
  }
  if (!report->ok()) {
    std::cerr << "secprof: lab: " << report->findings << " finding(s), " << report->defects
              << " lab defect(s)\n";
    return kExitFinding;
  }
  return kExitOk;
}

void Install(CLI::App& app, Context& ctx) {
  CLI::App* lab = app.add_subcommand(
      "lab",
      "Attack each threat against a live domain per profile on loopback and hold the measured "
      "matrix against the catalog's claims (docs/LAB.md).");
  lab->require_subcommand(1);

  auto ro = std::make_shared<LabRunOptions>();
  CLI::App* run = lab->add_subcommand(
      "run",
      "Run the lab's scenarios against every selected profile (each run in its own temporary "
      "directory on loopback) and print the measured matrix next to the claimed one, with a "
      "progress line per run on stderr. A cell the catalog claims mitigated where the attack "
      "succeeded is a finding; a lab error or a negative control that did not succeed is a lab "
      "defect. Exit 0 when every measured claim holds, 1 on a finding or a lab defect, 2 on bad "
      "input.");
  run->add_option("--profile", ro->profiles,
                  "a profile to attack (SecProf_1..4 or 1..4); "
                  "repeatable; default all four");
  run->add_option("--threat", ro->threats,
                  "only the scenarios of this threat (T1..T11; T7 includes T7.1..T7.4); "
                  "repeatable");
  run->add_option("--scenario", ro->scenarios, "only this scenario (secprof lab list); repeatable");
  run->add_option("--seed", ro->seed, "the seed of the attackers' choices (same seed, same matrix)")
      ->capture_default_str();
  run->add_option("--format", ro->format, "text | json | html | sarif")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json", "html", "sarif"}));
  run->add_option("--out", ro->out, "write the report to FILE (atomically) instead of stdout");
  run->add_option("--json-out", ro->json_out, "also write the JSON report to FILE");
  run->add_option("--html-out", ro->html_out, "also write the HTML report to FILE");
  run->add_flag("!--no-negative", ro->negative,
                "skip the negative controls (the runs with the defence switched off)");
  run->add_option("--jobs", ro->jobs, "runs in parallel (1..16)")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  run->add_option("--catalog", ro->catalog_dir,
                  "load the catalog from this directory instead of the built-in one");
  run->add_option("--dir", ro->base_dir,
                  "keep the runs' directory here (default: a temporary directory, removed)");
  run->add_flag("--quiet", ro->quiet, "no progress lines on stderr");
  run->add_option("--baseline", ro->baseline,
                  "a file of known open findings (\"<scenario> <profile> # why\" per line; "
                  "docs/LAB.md): they are still reported, but exit 1 only on a finding it does "
                  "not list, an entry that is no longer a finding, or a lab defect");
  run->callback([ro, &ctx] { ctx.exit_code = RunLabRun(*ro); });

  auto list_format = std::make_shared<std::string>("text");
  CLI::App* list = lab->add_subcommand(
      "list",
      "List the lab's scenarios: threat, phase, layer, attacker, success criterion, the "
      "mitigations and controls each tests, and whether it has a negative control.");
  list->add_option("--format", *list_format, "text | json | md")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json", "md"}));
  list->callback([list_format, &ctx] {
    std::cout << (*list_format == "md" ? lab::RenderScenarioTable()
                                       : lab::RenderScenarioList(*list_format == "json"));
    ctx.exit_code = kExitOk;
  });
}

Registrar reg("lab", 85, Install);

}  // namespace
}  // namespace secprof::cli

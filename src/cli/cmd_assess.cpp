// `secprof assess MODEL`: profile, threats, risks, gaps, BIA/PIA and standards for a system model.
#include <iostream>

#include "command.h"
#include "secprof/assess/assess.h"
#include "secprof/catalog/catalog.h"
#include "secprof/core/fs.h"
#include "secprof/lab/report.h"
#include "secprof/model/model.h"
#include "secprof/report/report.h"

namespace secprof::cli {
namespace {

struct AssessOptions {
  std::string model;
  std::string format = "text";
  std::string out;
  std::string fail_on;
  std::string catalog_dir;
  bool strict = false;
  std::string date;
  std::string lab;  // --lab FILE: a `secprof lab run --format json` document
};

int RunAssess(const AssessOptions& o) {
  auto cat = o.catalog_dir.empty() ? catalog::LoadBuiltin() : catalog::LoadDirectory(o.catalog_dir);
  if (!cat) return ReportError(cat.error().WithContext("catalog"));
  auto format = report::ParseFormat(o.format);
  if (!format) return ReportError(format.error());
  if (!o.fail_on.empty() && assess::RiskRank((*cat)->risk, o.fail_on) < 0) {
    std::string levels;
    for (const auto& l : (*cat)->risk.risk_levels) levels += (levels.empty() ? "" : ", ") + l;
    return ReportError(Error(ErrorCode::kInvalidInput,
                             "--fail-on '" + o.fail_on + "' is not a risk level (" + levels + ")"));
  }
  auto model = model::LoadFile(o.model);
  if (!model) return ReportError(model.error());
  auto a = assess::Assess(**cat, *model, {o.date});
  if (!a) return ReportError(a.error());
  if (o.strict && !a->warnings.empty()) {
    for (const auto& w : a->warnings) {
      std::cerr << "secprof: " << Error(ErrorCode::kInvalidInput, w.message, w.where).ToString()
                << " [" << w.kind << "]\n";
    }
    std::cerr << "secprof: " << a->warnings.size() << " warning(s), refused by --strict\n";
    return kExitBadInput;
  }
  std::string text = report::Render(*a, **cat, *format, &*model);
  if (!o.lab.empty()) {
    auto lab = lab::ReadLabJson(o.lab);
    if (!lab) return ReportError(lab.error().WithContext("--lab"));
    std::vector<std::string> threats;
    for (const auto& f : a->findings) threats.push_back(f.threat);
    text = lab::AnnotateAssessReport(text, o.format, a->profile.id, threats, *lab);
  }
  if (o.out.empty()) {
    std::cout << text;
  } else {
    auto st = WriteFileAtomic(o.out, text);
    if (!st) return ReportError(st.error());
  }
  if (!o.fail_on.empty()) {
    // Findings tracked as accepted or false positive (unexpired) do not count.
    const int hits = assess::CountFailing(*a, o.fail_on);
    if (hits > 0) {
      std::cerr << "secprof: " << hits << " finding(s) with residual risk " << o.fail_on
                << " or above (--fail-on " << o.fail_on << ")\n";
      return kExitFinding;
    }
  }
  return kExitOk;
}

void Install(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<AssessOptions>();
  CLI::App* sub = app.add_subcommand(
      "assess",
      "Assess a system model: its security profile and why, the threats that apply (phase, layer, "
      "why), their risk, the mitigations the profile requires that are missing, the residual "
      "risk, BIA, PIA and the ETSI EN 303 645 view. Exit 0, 1 when a finding's residual risk "
      "reaches --fail-on, 2 on bad input. The model format is described in docs/MODEL.md.");
  sub->add_option("model", opts->model, "system model (YAML)")->required();
  sub->add_option("--format", opts->format, "text | json | md | html | sarif")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json", "md", "markdown", "html", "sarif"}));
  sub->add_option("--out", opts->out, "write the report to FILE (atomically) instead of stdout");
  sub->add_option("--fail-on", opts->fail_on,
                  "exit 1 when any finding's residual risk is at least this level (low, moderate, "
                  "high); findings the model's risk_tracking accepts or marks false positive "
                  "(unexpired) do not count");
  sub->add_option("--date", opts->date,
                  "judge risk-tracking expiry as of this date (YYYY-MM-DD; default: today, UTC)");
  sub->add_flag("--strict", opts->strict,
                "treat consistency warnings (contradictions, stale risk tracking) as errors: "
                "exit 2 and write nothing");
  sub->add_option("--catalog", opts->catalog_dir,
                  "load the catalog from this directory instead of the built-in one");
  sub->add_option("--lab", opts->lab,
                  "add the lab's measured outcome (secprof lab run --format json) to each finding "
                  "of the model's profile, by threat");
  sub->callback([opts, &ctx] { ctx.exit_code = RunAssess(*opts); });
}

Registrar reg("assess", 20, Install);

}  // namespace
}  // namespace secprof::cli

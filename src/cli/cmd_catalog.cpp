// `secprof catalog <view>`: shows the catalog (threats, mitigations, profiles, lifecycle,
// processes) and regenerates the draft's Figures 2 and 3 from it, as text, JSON or Markdown.
//
//   secprof catalog figure2 --format json
//   secprof catalog profiles --catalog ./my-catalog
//
// The renderings are report::Render* (secprof/report/catalog.h); the JSON shapes are documented
// in docs/CATALOG.md ("Command line").
#include <iostream>
#include <memory>
#include <string>

#include "command.h"
#include "output.h"
#include "secprof/catalog/catalog.h"
#include "secprof/report/catalog.h"

namespace secprof::cli {
namespace {

struct CatalogOptions {
  std::string format = "text";
  std::string dir;  // empty: the built-in catalog
};

int RunView(const report::CatalogView& view, const CatalogOptions& opts) {
  auto format = report::ParseCatalogFormat(opts.format);
  if (!format) return ReportError(format.error());
  auto cat = opts.dir.empty() ? catalog::LoadBuiltin() : catalog::LoadDirectory(opts.dir);
  if (!cat) return ReportError(cat.error().WithContext("loading the catalog"));
  std::string out = view.render(**cat, *format);
  if (opts.format == "json") {
    // The view's document under the schema name every command's JSON carries (output.h), the
    // members in the view's order after it.
    nlohmann::ordered_json j;
    j["schema"] = JsonDocument("catalog." + std::string(view.name))["schema"];
    j["catalog_version"] = (*cat)->version;
    const nlohmann::ordered_json view_doc = nlohmann::ordered_json::parse(out);
    for (const auto& item : view_doc.items()) j[item.key()] = item.value();
    out = j.dump(2) + "\n";
  }
  std::cout << out;
  std::cout.flush();
  return std::cout ? kExitOk : kExitBadInput;
}

void InstallCatalog(CLI::App& app, Context& ctx) {
  CLI::App* cmd = app.add_subcommand(
      "catalog", "Show the catalog: threats, mitigations, profiles, lifecycle, Figures 2 and 3");
  cmd->require_subcommand(1);
  auto opts = std::make_shared<CatalogOptions>();
  for (const auto& view : report::CatalogViews()) {
    CLI::App* sub = cmd->add_subcommand(view.name, view.help);
    AddFormatOption(sub, opts->format, {"text", "json", "md"});
    sub->add_option("--catalog", opts->dir,
                    "Load the catalog from this directory instead of the built-in one");
    const report::CatalogView* v = &view;
    sub->callback([v, opts, &ctx] { ctx.exit_code = RunView(*v, *opts); });
  }
}

Registrar reg("catalog", 10, InstallCatalog);

}  // namespace
}  // namespace secprof::cli

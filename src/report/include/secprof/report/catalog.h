// secprof/report/catalog.h — renderings of the catalog itself (not of an assessment): the views
// `secprof catalog <view>` prints, and the draft's Figures 2 and 3 regenerated from the catalog.
//
// Every view renders as text (a terminal, wrapped at 96 columns), JSON (the shapes documented in
// docs/CATALOG.md "Command line"; figure2's is fixed by issue 2:
// {"phases":[…],"layers":[…],"cells":[{"phase","layer","threats","references"}…]}) or Markdown.
// Output is deterministic: it follows the catalog's order and nothing else.
#pragma once

#include <span>
#include <string>

#include "secprof/catalog/catalog.h"

namespace secprof::report {

enum class CatalogFormat { kText, kJson, kMarkdown };

// "text" | "json" | "md"; anything else is kInvalidInput.
Result<CatalogFormat> ParseCatalogFormat(const std::string& name);

// One view per function; each returns the complete output, ending in a newline.
std::string RenderThreats(const catalog::Catalog& cat, CatalogFormat format);
std::string RenderMitigations(const catalog::Catalog& cat, CatalogFormat format);
std::string RenderProfiles(const catalog::Catalog& cat, CatalogFormat format);
std::string RenderLifecycle(const catalog::Catalog& cat, CatalogFormat format);
std::string RenderProcesses(const catalog::Catalog& cat, CatalogFormat format);
std::string RenderFigure2(const catalog::Catalog& cat, CatalogFormat format);  // draft Figure 2
std::string RenderFigure3(const catalog::Catalog& cat, CatalogFormat format);  // draft Figure 3

// The views by name, in the order `secprof catalog --help` lists them.
struct CatalogView {
  const char* name;  // "threats", "mitigations", ..., "figure3"
  const char* help;  // one line for --help
  std::string (*render)(const catalog::Catalog&, CatalogFormat);
};
std::span<const CatalogView> CatalogViews();

}  // namespace secprof::report

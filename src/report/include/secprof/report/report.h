// secprof/report/report.h — renderings of an assessment for people and for tools.
//
// JSON is the stable machine format (schema "secprof-assessment/2", documented in docs/ASSESS.md);
// SARIF 2.1.0 is for code-scanning tools; text is for a terminal; Markdown for reviews; HTML is one
// self-contained file (inline CSS and SVG, no scripts, no external resources) with the
// phase x layer heat map and the risk matrix drawn as pictures.
#pragma once

#include <string>

#include "secprof/assess/assess.h"
#include "secprof/core/result.h"

namespace secprof::report {

enum class Format { kText, kJson, kMarkdown, kHtml, kSarif };

// "text" | "json" | "md" | "html" | "sarif".
Result<Format> ParseFormat(const std::string& name);

// Renders `a`. The catalog supplies names and descriptions; output is deterministic.
std::string Render(const assess::Assessment& a, const catalog::Catalog& cat, Format format);

std::string RenderJson(const assess::Assessment& a);
std::string RenderText(const assess::Assessment& a, const catalog::Catalog& cat);
std::string RenderMarkdown(const assess::Assessment& a, const catalog::Catalog& cat);
std::string RenderHtml(const assess::Assessment& a, const catalog::Catalog& cat);
std::string RenderSarif(const assess::Assessment& a, const catalog::Catalog& cat);

}  // namespace secprof::report

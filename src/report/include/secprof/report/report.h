// secprof/report/report.h — renderings of an assessment for people and for tools.
//
// JSON is the stable machine format (schema "secprof-assessment/3", documented in docs/ASSESS.md);
// SARIF 2.1.0 is for code-scanning tools; text is for a terminal; Markdown for reviews; HTML is one
// self-contained file (inline CSS and SVG, no scripts, no external resources) with the
// phase x layer heat map and the risk matrix drawn as pictures.
#pragma once

#include <iosfwd>
#include <string>

#include "secprof/assess/assess.h"
#include "secprof/core/result.h"
#include "secprof/model/model.h"

namespace secprof::report {

enum class Format { kText, kJson, kMarkdown, kHtml, kSarif };

// "text" | "json" | "md" | "html" | "sarif".
Result<Format> ParseFormat(const std::string& name);

// Renders `a`. The catalog supplies names and descriptions; output is deterministic. `model`, when
// given, is the model `a` was made from: the HTML report draws it (RenderHtml).
std::string Render(const assess::Assessment& a, const catalog::Catalog& cat, Format format,
                   const model::Model* model = nullptr);

std::string RenderJson(const assess::Assessment& a);
// Writes RenderJson's text to `out` as it is made: the findings are streamed, so neither the
// whole text nor a JSON tree of all findings is held (docs/PERFORMANCE.md).
void WriteJson(const assess::Assessment& a, std::ostream& out);
std::string RenderText(const assess::Assessment& a, const catalog::Catalog& cat);
std::string RenderMarkdown(const assess::Assessment& a, const catalog::Catalog& cat);
// HTML for people who have not read the draft: the profile and why, a "top actions" box, a diagram
// of the modelled system (when `model` is given: things, nodes, links by protection, trust
// boundaries), the heat map and risk matrix, the findings with mitigation names, the gaps, BIA,
// PIA and the standards with EN 303 645 provision titles. Every risk level is printed as a word
// on a tint whose contrast with the text meets WCAG 2.2 AA (4.5:1).
std::string RenderHtml(const assess::Assessment& a, const catalog::Catalog& cat,
                       const model::Model* model = nullptr);
std::string RenderSarif(const assess::Assessment& a, const catalog::Catalog& cat);

}  // namespace secprof::report

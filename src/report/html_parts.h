// Internal to report: pieces of the HTML report kept out of html.cpp.
#pragma once

#include <string>

#include "secprof/assess/assess.h"
#include "secprof/model/model.h"

namespace secprof::report {

// HTML-escaped and valid UTF-8 (utf8.h): safe inside text and attribute values.
std::string Esc(const std::string& raw);

// The modelled system as an inline SVG (html_system.cpp): infrastructure nodes in the cloud and in
// the local domain, things, the links between them drawn by protection (solid: DTLS/TLS/OSCORE,
// dashed: link-layer key, dotted: none, each also named in the legend), and the trust boundaries
// (the cloud, the local security domain) as labelled dashed frames. Each element is tinted by the
// highest residual risk of its findings and prints that level. Large models are drawn in part,
// and the caption says how many elements and links were left out.
std::string SystemDiagram(const model::Model& m, const assess::Assessment& a);

}  // namespace secprof::report

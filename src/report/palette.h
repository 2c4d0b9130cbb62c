// Internal to report: the colours of risk levels in the HTML report.
//
// Readable by design (WCAG 2.2 success criterion 1.4.3, contrast minimum, level AA: 4.5:1 for
// text): every coloured area carries its level as text in kInk on a light tint, and the tints are
// chosen so that the ratio of kInk on each is at least 4.5 (tests/report/html_report_test.cpp
// computes it from the rendered HTML). Colour is never the only carrier of a level (WCAG 1.4.1):
// badges and cells always print the level's name.
#pragma once

#include <string>
#include <vector>

namespace secprof::report {

inline constexpr const char* kInk = "#1a1a1a";      // text on every tint
inline constexpr const char* kNoLevel = "#eeeeee";  // no finding / unknown level

// The tint of `level` by its rank among `levels` (ascending): green, amber, orange-red, red.
inline std::string LevelTint(const std::vector<std::string>& levels, const std::string& level) {
  static const char* kScale[] = {"#c8e6c9", "#ffe082", "#ffab91", "#ef9a9a"};
  for (size_t i = 0; i < levels.size(); ++i) {
    if (levels[i] == level) {
      size_t k = levels.size() <= 1 ? 0 : i * 3 / (levels.size() - 1);
      if (levels.size() == 3) k = i == 2 ? 3 : i;  // low, moderate, high -> green, amber, red
      return kScale[k < 4 ? k : 3];
    }
  }
  return kNoLevel;
}

}  // namespace secprof::report

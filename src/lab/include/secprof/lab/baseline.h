// secprof/lab/baseline.h — the lab's known open findings (docs/LAB.md "Known findings"): cells
// the catalog claims mitigated where the attack succeeds today, each listed with the open issue
// that owns its fix. `secprof lab run --baseline FILE` still reports them as findings in every
// format, but exits 0 when the findings are exactly the listed ones; a NEW finding (a hole
// re-opened or a claim newly broken) or a STALE entry (a listed finding that no longer occurs:
// fixed, so the entry must go) exits 1. So CI holds the line in both directions.
//
// File format (UTF-8 text): one entry per line, "<scenario id> <profile> [unstable]", then optional
// whitespace and a "# comment" saying why it is open and which issue fixes it. `unstable` marks a
// finding whose occurrence depends on the machine's load (a race the attacker wins only
// sometimes): it is known when it occurs and never stale when it does not. Blank lines and
// lines starting with '#' are ignored. Unknown scenario ids and profiles are refused (kInvalidInput
// with the line number), as are duplicates.
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "secprof/core/result.h"
#include "secprof/lab/claims.h"

namespace secprof::lab {

struct BaselineEntry {
  std::string scenario;
  std::string profile;  // "SecProf_1".."SecProf_4"
  bool unstable = false;
  int line = 0;
};

Result<std::vector<BaselineEntry>> ParseBaseline(std::string_view text, const std::string& file);

struct BaselineCheck {
  std::vector<std::string> known;  // findings the baseline lists ("<scenario> <profile>")
  std::vector<std::string> fresh;  // findings it does not list
  std::vector<std::string> stale;  // entries that are not findings in this run
  // Only the cells this run measured are judged: entries for scenarios or profiles it did not
  // run are neither known nor stale.
  bool ok(int defects) const { return fresh.empty() && stale.empty() && defects == 0; }
};

BaselineCheck CheckBaseline(const LabReport& report, const std::vector<BaselineEntry>& baseline);

}  // namespace secprof::lab

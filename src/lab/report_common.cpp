// Shared pieces of the lab's report writers (report_common.h).
#include "report_common.h"

namespace secprof::lab::internal {

std::string Join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string ShortCell(const JudgedCell& c) {
  std::string s;
  switch (c.verdict) {
    case Verdict::kHolds:
      s = "OK blocked";
      break;
    case Verdict::kFinding:
      s = "!! FINDING";
      break;
    case Verdict::kAccepted:
      s = "~ accepted";
      break;
    case Verdict::kOpen:
      s = "open";
      break;
    case Verdict::kBlockedUnclaimed:
      s = "blocked*";
      break;
    case Verdict::kNotApplicable:
      s = "n/a";
      break;
    case Verdict::kNotTestable:
      s = "untestable";
      break;
    case Verdict::kLabError:
      s = "ERR";
      break;
  }
  if (c.negative == NegativeStatus::kConfirmed) s += " +neg";
  if (c.negative == NegativeStatus::kDefect) s += " !neg";
  return s;
}

std::string NegativeText(NegativeStatus s) {
  switch (s) {
    case NegativeStatus::kNone:
      return "not run";
    case NegativeStatus::kConfirmed:
      return "the adversary works when the defence is off, so the block is the defence's";
    case NegativeStatus::kInapplicable:
      return "nothing to switch off in this profile";
    case NegativeStatus::kDefect:
      return "LAB DEFECT: the adversary did not succeed with the defence off, so the block is "
             "not shown to be the defence's";
  }
  return "";
}

}  // namespace secprof::lab::internal

// The lab's text report: the measured matrix next to the claimed one (secprof/lab/report.h).
#include <algorithm>
#include <iomanip>
#include <sstream>

#include "report_common.h"
#include "secprof/lab/report.h"

namespace secprof::lab {
namespace {

std::string Pad(std::string s, size_t w) {
  if (s.size() < w) s.append(w - s.size(), ' ');
  return s + " ";
}

}  // namespace

std::string RenderLabText(const LabReport& r) {
  const MeasuredMatrix& m = r.matrix;
  std::ostringstream out;
  out << "secprof lab: " << m.scenarios.size() << " scenario(s) x " << m.profiles.size()
      << " profile(s), seed " << m.seed << ", " << m.jobs << " worker(s), " << std::fixed
      << std::setprecision(1) << m.seconds << " s, negative controls "
      << (m.negative_controls ? "on" : "off") << " (catalog " << r.catalog_version << ")\n";
  if (!m.tokens_problem.empty())
    out << "note: no SoftHSM2 tokens (" << m.tokens_problem
        << "); SecProf_3/4 ran with file key stores\n";

  // The measured matrix: one row per scenario, one column per profile.
  size_t w = 8;
  for (const auto& id : m.scenarios) w = std::max(w, id.size());
  constexpr size_t kCol = 22;
  out << "\nMeasured: each attack against each profile (the verdict holds it against the claim)\n"
      << Pad("scenario", w) << Pad("threat", 6);
  for (auto p : m.profiles) out << Pad(domain::ProfileName(p), kCol);
  out << "\n";
  for (const auto& id : m.scenarios) {
    bool first = true;
    for (const auto& c : r.cells) {
      if (c.measured.scenario != id) continue;
      if (first) out << Pad(id, w) << Pad(c.measured.threat, 6);
      first = false;
      out << Pad(internal::ShortCell(c), kCol);
    }
    out << "\n";
  }
  out << "  key: " << internal::kShortKey << "\n";

  // The claimed matrix: one row per threat, one column per profile.
  out << "\nClaimed by the catalog: M mitigated, A accepted by the draft (first key in the clear),"
         " - not covered\n"
      << Pad("threat", 6);
  for (auto p : m.profiles) out << Pad(domain::ProfileName(p), 10);
  out << "\n";
  std::vector<std::string> threats;
  for (const auto& c : r.claimed)
    if (std::find(threats.begin(), threats.end(), c.threat) == threats.end())
      threats.push_back(c.threat);
  for (const auto& t : threats) {
    out << Pad(t, 6);
    for (auto p : m.profiles) {
      for (const auto& c : r.claimed) {
        if (c.threat != t || c.profile != domain::ProfileName(p)) continue;
        std::string s = c.claim == Claim::kNotCovered ? "-" : "";
        if (!c.mitigations.empty()) s += "M";
        if (!c.accepted_by.empty()) s += "A";
        out << Pad(s, 10);
      }
    }
    out << "\n";
  }

  // Every cell's measurement, findings and defects first.
  out << "\nCells\n";
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& c : r.cells) {
      const bool alarm = c.verdict == Verdict::kFinding || c.defect;
      if ((pass == 0) != alarm) continue;
      const RunRecord& a = c.measured.attack;
      out << "  " << domain::ProfileName(c.measured.profile) << " " << c.measured.scenario << " ("
          << c.measured.threat << "): " << VerdictText(c.verdict) << "\n";
      if (!a.ok()) {
        out << "      lab error: " << a.error << "\n";
      } else {
        out << "      " << OutcomeName(a.measurement.outcome);
        if (!a.measurement.control.empty()) out << " by " << a.measurement.control;
        if (!a.measurement.reason.empty()) out << ": " << a.measurement.reason;
        out << "\n";
        for (const auto& e : a.measurement.evidence)
          out << "      [" << e.kind << "] " << e.summary << "\n";
      }
      if (!c.claim.mitigations.empty())
        out << "      claimed by: " << internal::Join(c.claim.mitigations) << "\n";
      if (!c.claim.accepted_by.empty())
        out << "      accepted by: " << internal::Join(c.claim.accepted_by) << "\n";
      if (c.measured.negative) {
        const RunRecord& n = *c.measured.negative;
        out << "      negative control (defence off): "
            << (n.ok() ? std::string(OutcomeName(n.measurement.outcome)) : "lab error: " + n.error)
            << " - " << internal::NegativeText(c.negative) << "\n";
      }
    }
  }
  out << "\n"
      << r.findings << " finding(s), " << r.defects << " lab defect(s)"
      << (r.ok() ? ": every claim the lab measured holds\n" : "\n");
  return out.str();
}

}  // namespace secprof::lab

// The claimed matrix and the verdicts (secprof/lab/claims.h).
#include "secprof/lab/claims.h"

#include <algorithm>

namespace secprof::lab {
namespace {

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

void AddUnique(std::vector<std::string>& v, const std::string& s) {
  if (!Contains(v, s)) v.push_back(s);
}

// Does a list of threat ids name `threat` (directly, or as its parent)?
bool NamesThreat(const catalog::Catalog& cat, const std::vector<std::string>& ids,
                 const std::string& threat) {
  if (Contains(ids, threat)) return true;
  const catalog::Threat* t = cat.FindThreat(threat);
  return t && !t->parent.empty() && Contains(ids, t->parent);
}

// `ids` ordered as `order` (catalog order), unknown ones last.
std::vector<std::string> InOrder(const std::vector<std::string>& ids,
                                 const std::vector<std::string>& order) {
  std::vector<std::string> out;
  for (const auto& o : order)
    if (Contains(ids, o)) out.push_back(o);
  for (const auto& i : ids) AddUnique(out, i);
  return out;
}

}  // namespace

std::string_view ClaimName(Claim c) {
  switch (c) {
    case Claim::kMitigated:
      return "mitigated";
    case Claim::kAccepted:
      return "accepted";
    case Claim::kNotCovered:
      return "not-covered";
  }
  return "not-covered";
}

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kHolds:
      return "holds";
    case Verdict::kFinding:
      return "finding";
    case Verdict::kAccepted:
      return "accepted";
    case Verdict::kOpen:
      return "open";
    case Verdict::kBlockedUnclaimed:
      return "blocked-unclaimed";
    case Verdict::kNotApplicable:
      return "not-applicable";
    case Verdict::kNotTestable:
      return "not-testable";
    case Verdict::kLabError:
      return "lab-error";
  }
  return "lab-error";
}

std::string_view VerdictText(Verdict v) {
  switch (v) {
    case Verdict::kHolds:
      return "blocked, as the profile claims";
    case Verdict::kFinding:
      return "FINDING: the profile claims this is mitigated, but the attack succeeded";
    case Verdict::kAccepted:
      return "succeeded: accepted, as the draft says";
    case Verdict::kOpen:
      return "succeeded: the profile does not claim to stop it";
    case Verdict::kBlockedUnclaimed:
      return "blocked, although the profile does not claim it";
    case Verdict::kNotApplicable:
      return "not applicable to this profile";
    case Verdict::kNotTestable:
      return "not testable yet";
    case Verdict::kLabError:
      return "LAB ERROR: the lab could not run the attack";
  }
  return "";
}

std::string_view NegativeStatusName(NegativeStatus s) {
  switch (s) {
    case NegativeStatus::kNone:
      return "none";
    case NegativeStatus::kConfirmed:
      return "confirmed";
    case NegativeStatus::kInapplicable:
      return "inapplicable";
    case NegativeStatus::kDefect:
      return "defect";
  }
  return "none";
}

std::vector<ClaimedCell> ClaimedMatrix(const catalog::Catalog& cat) {
  std::vector<std::string> phase_order, layer_order;
  for (const auto& p : cat.phases) phase_order.push_back(p.id);
  for (const auto& l : cat.layers) layer_order.push_back(l.id);
  std::vector<ClaimedCell> out;
  for (const auto& p : cat.profiles) {
    for (const auto& t : cat.threats) {
      ClaimedCell c;
      c.profile = p.id;
      c.threat = t.id;
      std::vector<std::string> phases, layers;
      for (const auto& mid : p.mitigations) {
        const catalog::Mitigation* m = cat.FindMitigation(mid);
        if (!m) continue;
        const bool counters = NamesThreat(cat, m->counters, t.id);
        const bool accepts = NamesThreat(cat, m->accepts, t.id);
        if (counters) c.mitigations.push_back(m->id);
        if (accepts) c.accepted_by.push_back(m->id);
        if (counters || accepts) {
          for (const auto& ph : m->phases) AddUnique(phases, ph);
          for (const auto& l : m->layers) AddUnique(layers, l);
        }
      }
      c.phases = InOrder(phases, phase_order);
      c.layers = InOrder(layers, layer_order);
      c.claim = !c.accepted_by.empty()   ? Claim::kAccepted
                : !c.mitigations.empty() ? Claim::kMitigated
                                         : Claim::kNotCovered;
      out.push_back(std::move(c));
    }
  }
  return out;
}

ScenarioClaim ClaimFor(const catalog::Catalog& cat, const std::string& profile,
                       const ScenarioInfo& info) {
  ScenarioClaim sc;
  const catalog::Profile* p = cat.FindProfile(profile);
  if (!p) return sc;
  for (const auto& mid : p->mitigations) {
    const catalog::Mitigation* m = cat.FindMitigation(mid);
    if (!m) continue;
    const bool tested = Contains(info.mitigations, m->id) || Contains(m->verified_by, info.id);
    if (tested && NamesThreat(cat, m->counters, info.threat)) sc.mitigations.push_back(m->id);
    if (NamesThreat(cat, m->accepts, info.threat) && Contains(m->phases, info.phase))
      sc.accepted_by.push_back(m->id);
  }
  sc.claim = !sc.accepted_by.empty()   ? Claim::kAccepted
             : !sc.mitigations.empty() ? Claim::kMitigated
                                       : Claim::kNotCovered;
  return sc;
}

Verdict Judge(Claim claim, const RunRecord& attack) {
  if (!attack.ok()) return Verdict::kLabError;
  switch (attack.measurement.outcome) {
    case Outcome::kNotApplicable:
      return Verdict::kNotApplicable;
    case Outcome::kNotTestable:
      return Verdict::kNotTestable;
    case Outcome::kBlocked:
      return claim == Claim::kMitigated ? Verdict::kHolds : Verdict::kBlockedUnclaimed;
    case Outcome::kSucceeded:
      return claim == Claim::kMitigated  ? Verdict::kFinding
             : claim == Claim::kAccepted ? Verdict::kAccepted
                                         : Verdict::kOpen;
  }
  return Verdict::kLabError;
}

NegativeStatus JudgeNegative(const RunRecord& attack, const std::optional<RunRecord>& negative) {
  if (!negative) return NegativeStatus::kNone;
  if (!negative->ok()) return NegativeStatus::kDefect;
  const Outcome n = negative->measurement.outcome;
  if (n == Outcome::kSucceeded) return NegativeStatus::kConfirmed;
  if (n == Outcome::kBlocked) return NegativeStatus::kDefect;  // the adversary never works
  // Not applicable / not testable with the defence off: a defect only when the attack was
  // blocked, because that block is then not shown to be caused by the defence.
  if (attack.ok() && attack.measurement.outcome == Outcome::kBlocked)
    return NegativeStatus::kDefect;
  return NegativeStatus::kInapplicable;
}

LabReport Compare(const catalog::Catalog& cat, MeasuredMatrix m) {
  LabReport r;
  r.catalog_version = cat.version;
  for (const auto& t : cat.threats) r.threats.emplace_back(t.id, t.name);
  r.scenarios = m.infos;
  for (const auto& c : ClaimedMatrix(cat)) {
    for (auto p : m.profiles)
      if (c.profile == domain::ProfileName(p)) r.claimed.push_back(c);
  }
  for (const auto& mc : m.cells) {
    JudgedCell j;
    j.measured = mc;
    for (const auto& info : m.infos)
      if (info.id == mc.scenario) j.claim = ClaimFor(cat, domain::ProfileName(mc.profile), info);
    j.verdict = Judge(j.claim.claim, mc.attack);
    j.negative = JudgeNegative(mc.attack, mc.negative);
    j.defect = j.verdict == Verdict::kLabError || j.negative == NegativeStatus::kDefect;
    if (j.verdict == Verdict::kFinding) ++r.findings;
    if (j.defect) ++r.defects;
    r.cells.push_back(std::move(j));
  }
  r.matrix = std::move(m);
  return r;
}

Result<LabReport> RunLab(const catalog::Catalog& cat, const RunOptions& o) {
  for (const auto& t : o.threats) {
    if (!cat.FindThreat(t)) {
      return Fail(ErrorCode::kInvalidInput,
                  "unknown threat \"" + t + "\" (the catalog's threats are T1..T11, T7.1..T7.4)");
    }
  }
  SECPROF_ASSIGN_OR_RETURN(MeasuredMatrix m, RunMatrix(o));
  return Compare(cat, std::move(m));
}

}  // namespace secprof::lab

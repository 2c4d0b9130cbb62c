// secprof/lab/scenario.h — the lab's unit: one attack on one threat, mounted by a real adversary
// against a live domain (KDC, thing agents, thing servers serving real sockets on 127.0.0.1), for
// one profile at a time (brief §5, docs/LAB.md).
//
// A scenario is a file under src/lab/<group>/ in the style of a Threagile rule: its metadata
// (`ScenarioInfo`) and a `Run` that sets up the domain it needs under `RunContext::dir`, attacks
// it, and reports what happened as a `Measurement`. Contracts every scenario keeps:
//   - only loopback addresses and files under `ctx.dir`; every thread, socket and process it
//     starts is stopped before `Run` returns; bounded in time (a few seconds per run);
//   - the outcome comes from what the attack achieved, judged by the scenario's success
//     criterion, never from the profile's name: `kBlocked` names the control that stopped it,
//     taken from the defender's own refusal reason, audit entry or log (`reason`);
//   - evidence is what an auditor would want to see (datagrams captured, keys or plaintext
//     recovered, registry rows, refusal reasons, timings), bounded in size;
//   - deterministic outcome for a given (profile, seed, defence_off): randomness that decides
//     what the attacker does (which thing, which datagram) comes from `ctx.seed`;
//   - with `ctx.defence_off` (the negative control, only when `has_negative_control`) the same
//     adversary runs against a domain whose tested defence is absent (a lower profile, a trust
//     the owner configured, or a lab-only seam that the production CLI cannot reach), and is
//     expected to succeed: that shows the adversary works and the block is caused by the defence.
//   - `Run` returns an Error only when the lab itself could not set up (a port, a directory);
//     an attack that could not be mounted because a component does not exist yet is
//     `kNotTestable` with the missing component in `reason`.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "secprof/core/result.h"
#include "secprof/domain/profile.h"

namespace secprof::lab {

class TokenPool;  // live_domain.h

enum class Outcome {
  kSucceeded,      // the attacker met the success criterion
  kBlocked,        // a defence stopped it (`control` and `reason` say which and how)
  kNotApplicable,  // the profile has nothing this attack targets (e.g. no KDC in SecProf_1)
  kNotTestable,    // a component the attack needs does not exist yet (`reason` names it)
};
// "succeeded", "blocked", "not-applicable", "not-testable" (stable: JSON and SARIF use them).
std::string_view OutcomeName(Outcome o);
Result<Outcome> ParseOutcome(std::string_view s);

// One piece of evidence. `data` is bounded by the scenario (<= 4 KiB; hex for binary).
struct Evidence {
  std::string kind;     // "datagrams", "refusal", "audit", "registry", "recovered", "timing", "log"
  std::string summary;  // one line a reader who has not read the draft understands
  std::string data;     // optional detail
};

struct Measurement {
  Outcome outcome = Outcome::kNotTestable;
  std::string control;  // kBlocked: the domain control id (catalog `controls`, e.g. kdc.admission)
  std::string reason;   // kBlocked: the defender's own reason (Error reason, audit event, log);
                        // otherwise why (not applicable / the missing component / how it worked)
  std::vector<Evidence> evidence;
  double seconds = 0;  // wall time of the run (filled in by the runner)
};

// Metadata: what the scenario attacks and how it is judged. Ids are stable (catalog
// `lab_scenario`/`verified_by`, JSON, SARIF rule ids).
struct ScenarioInfo {
  std::string id;                        // lab.<name>
  std::string threat;                    // T1..T11 or a sub-attack (T7.1..T7.4)
  std::string phase;                     // lifecycle phase id (catalog/lifecycle.yaml)
  std::string layer;                     // layer id (catalog/layers.yaml)
  std::string attacker;                  // the attacker's capability, one sentence
  std::string success;                   // the success criterion, one sentence
  std::vector<std::string> mitigations;  // catalog mitigation ids it tests (M.*)
  std::vector<std::string> controls;     // domain controls it exercises (<component>.<control>)
  bool has_negative_control = false;
};

struct RunContext {
  domain::Profile profile = domain::Profile::kSecProf2;
  std::filesystem::path dir;  // empty directory owned by this run (removed by the runner)
  uint64_t seed = 1;
  bool defence_off = false;                     // the negative control (see above)
  const TokenPool* tokens = nullptr;            // SoftHSM2 tokens for SecProf_3/4 (may be null)
  std::chrono::milliseconds timeout{2000};      // per protocol exchange
  std::function<void(const std::string&)> log;  // progress lines; may be empty
};

class Scenario {
 public:
  virtual ~Scenario() = default;
  virtual const ScenarioInfo& info() const = 0;
  virtual Result<Measurement> Run(const RunContext& ctx) const = 0;
};

// Every scenario, in a stable order (by group, then as registered), and lookup by id.
const std::vector<std::unique_ptr<Scenario>>& AllScenarios();
const Scenario* FindScenario(std::string_view id);

}  // namespace secprof::lab

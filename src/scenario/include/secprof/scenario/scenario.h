// secprof/scenario/scenario.h — the domain's scenarios as a library: a fleet of manufactured
// things, a KDC and thing servers on loopback threads, and one profile's whole run (join,
// operation, thing-to-thing keys, groups with re-keying, firmware campaign, decommissioning,
// replacement, re-ownership; docs/DOMAIN.md). `secprof demo` runs every profile and prints the
// results; tests, benchmarks and the lab reuse the same pieces.
//
// Everything runs in-process on 127.0.0.1 with ephemeral ports; a scenario writes only under the
// directory it is given.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "secprof/core/result.h"
#include "secprof/domain/profile.h"
#include "secprof/kdc/kdc.h"
#include "secprof/keystore/pkcs11_store.h"
#include "secprof/manufacture/manufacture.h"
#include "secprof/thing/agent.h"

namespace secprof::scenario {

// ---- PKCS#11 tokens ---------------------------------------------------------------------------

// SoftHSM2 tokens, one per profile that keeps keys in a token (brief §3: SecProf_3/4).
struct Tokens {
  std::map<domain::Profile, keystore::Pkcs11KeyStoreOptions> by_profile;
  std::string problem;  // why there are none (SoftHSM2 missing, ...); empty when made
  // The token of `p`, or nullptr (the profile's things then use file key stores).
  const keystore::Pkcs11KeyStoreOptions* For(domain::Profile p) const;
};

// Writes <base>/softhsm/softhsm2.conf (a token directory beside it) and points SOFTHSM2_CONF
// there, for the whole process. Returns why it could not ("" when done): SoftHSM2 missing, ...
std::string ConfigureSoftHsm(const std::filesystem::path& base);

// Makes a SoftHSM2 token "demo-<profile>" (user PIN 1234) for each of `profiles` under
// <base>/softhsm and points SOFTHSM2_CONF there, for the whole process. On any problem it
// returns no tokens and says why in `problem`.
Tokens MakeSoftHsmTokens(const std::filesystem::path& base,
                         std::span<const domain::Profile> profiles);

// ---- a fleet ----------------------------------------------------------------------------------

struct FleetOptions {
  std::filesystem::path dir;  // <dir>/factory (vendor CA, IDevIDs) and <dir>/things/<serial>
  domain::Profile profile = domain::Profile::kSecProf2;
  std::string vendor = "Acme";
  int count = 3;
  const Tokens* tokens = nullptr;  // keys in the profile's token, if it has one
  std::chrono::milliseconds timeout{3000};
};

struct Fleet {
  manufacture::Manifest manifest;
  std::string factory_dir;
  bool token_keys = false;  // false: file key stores (recorded as an override for SecProf_3/4)
  std::vector<std::unique_ptr<thing::Agent>> things;  // in manifest order, each `manufactured`
};

// Manufactures `count` things (model "Bulb" for SecProf_1, else "Sensor") and opens an agent on
// each, initialised for `profile`.
Result<Fleet> MakeFleet(const FleetOptions& o);

// ---- servers on their own threads ---------------------------------------------------------------

// A KDC serving on its own thread for the life of the object.
struct RunningKdc {
  std::unique_ptr<kdc::Kdc> kdc;
  std::jthread io;
  static Result<std::unique_ptr<RunningKdc>> Start(kdc::KdcOptions o);
  ~RunningKdc();
};

// A thing's server on its own thread for the life of the object (the agent belongs to it
// meanwhile).
struct RunningThingServer {
  std::unique_ptr<thing::ThingServer> server;
  std::jthread io;
  static Result<std::unique_ptr<RunningThingServer>> Start(thing::Agent& a,
                                                           thing::ThingServerOptions o);
  ~RunningThingServer();
};

// ---- one profile's run ------------------------------------------------------------------------

struct ProfileRun {
  std::string profile;
  std::map<std::string, int> states;  // thing-side lifecycle state -> count, at the end
  int things = 0;                     // manufactured (SecProf_2..4: one spare included)
  int joined = 0;                     // SecProf_1: commissioned after pairing (the mother too)
  double join_seconds = 0;
  std::vector<std::string> failures;        // unexpected failures (the demo exits 1 if any)
  std::map<std::string, uint64_t> refused;  // KDC refusals by reason (expected ones included)
  std::vector<std::string> notes;
};

// "  <profile padded to 10><message>": what a run reports as it goes.
using Progress = std::function<void(const std::string& profile, const std::string& message)>;

struct RunOptions {
  std::filesystem::path dir;       // the profile's directory (created below it as needed)
  int things = 5;                  // per profile, at least 3 for every step to run
  const Tokens* tokens = nullptr;  // SecProf_3/4 without a token fail (see ProfileRun::failures)
  Progress progress;               // may be empty
};

// SecProf_1 runs the resurrecting duckling (a mother pairs the others over plain CoAP, link
// frames); SecProf_2..4 run a KDC and the whole managed lifecycle. Never fails as a whole: what
// went wrong is in `failures`.
ProfileRun RunProfile(domain::Profile p, const RunOptions& o);

// Every profile in order, SecProf_3/4 with SoftHSM2 tokens made under `base` (MakeSoftHsmTokens);
// each in <base>/<profile>.
std::vector<ProfileRun> RunAllProfiles(const std::filesystem::path& base, int things,
                                       const Progress& progress);

}  // namespace secprof::scenario

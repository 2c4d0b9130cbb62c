// Internal to secprof::thing: Agent::Impl, the state every protocol flow of the agent shares.
// One file per flow implements its part (the KDC side uses the same names in src/kdc/):
//   agent.cpp            open/init, persistence (state.json + sealed secrets), key store, KDC
//                        sessions, Install / Join dispatch / Decommission / FactoryReset
//   join_setup_code.cpp  SecProf_2 join by setup code
//   join_voucher.cpp     SecProf_3/4 join by IDevID + voucher, LDevID enrolment
//   operational.cpp      the operational session: state reports, readings
//   keys.cpp             pair keys and group keys
//   duckling.cpp         SecProf_1 mother / imprint / link frames
//   firmware.cpp         check, fetch, install, report
//   lifecycle.cpp        the transition table every method checks (secprof/thing/lifecycle.h)
//   server.cpp           the thing's own resources (ThingServer)
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "internal.h"
#include "key_protection.h"
#include "secprof/coap/coap.h"
#include "secprof/core/clock.h"
#include "secprof/keystore/keystore.h"
#include "secprof/thing/agent.h"
#include "secprof/thing/lifecycle.h"
#include "secprof/update/install.h"

namespace secprof::thing {

inline constexpr size_t kHistory = 32;
inline constexpr const char* kSecretPairwise = "pairwise";  // PSK (SecProf_2) / pairwise key (3/4)
inline constexpr const char* kSecretDomain = "domain";      // SecProf_1 domain key

inline crypto::ByteView View(const crypto::SecureBuffer& b) {
  return crypto::ByteView(b.data(), b.size());
}

// An unwanted KDC response as an Error (coap/errors.h: "<what>: KDC answered <code> (...)").
Status Expect(const coap::Response& r, coap::Code want, const char* what);

struct Agent::Impl {
  AgentOptions opt;
  const Clock& clock;
  crypto::Random& rng;
  ThingState st;
  KeyProtection keys;  // the KEK: sealer of the secrets, key store KEK (key_protection.h)
  std::map<std::string, crypto::SecureBuffer> secrets;
  std::unique_ptr<keystore::KeyStore> store;
  std::unique_ptr<coap::Client> session;
  uint64_t session_messages = 0;
  uint64_t readings = 0;  // the last reading counter used; starts at st.reading_reserved
  // Missing readings (operational.cpp, docs/DOMAIN.md): the counter of the last reading sent in
  // this run (0: none yet) and how many went unanswered since the last op/sent report.
  uint64_t last_reading_sent = 0;
  int64_t readings_unacknowledged = 0;
  std::chrono::steady_clock::time_point session_started{};
  std::optional<update::SlotStore> firmware;

  explicit Impl(AgentOptions o);

  std::string StatePath() const { return opt.state_dir + "/state.json"; }
  // Where state.json, the key store and the firmware are written (core/fs.h); tests substitute a
  // fault-injecting one through thing/testing.h.
  FileSystem* fsys = nullptr;
  FileSystem& Fs() const { return fsys ? *fsys : DefaultFileSystem(); }
  const domain::Policy& policy() const { return domain::PolicyFor(st.profile); }

  // ---- persistence (agent.cpp)
  Result<std::string> SealSecrets();
  Status LoadSecrets();
  // Writes `next` (with the current secrets) atomically; only then is it adopted.
  Status Commit(ThingState next);
  // Commit with `next.state = to` and a history entry.
  Status Move(State to, const std::string& why, ThingState next);
  Status Move(State to, const std::string& why) { return Move(to, why, st); }

  // ---- the lifecycle table (lifecycle.h): every constrained method checks its row first and,
  // after the protocol step succeeded, moves to the row's resulting state.
  Status Check(Operation op, bool force = false) const {
    return CheckLifecycle(op, st.state, st.serial, force);
  }
  Status Apply(Operation op, const std::string& why, ThingState next) {
    return Move(LifecycleResult(op, st.state), why, std::move(next));
  }
  Status Apply(Operation op, const std::string& why) { return Apply(op, why, st); }

  // ---- keys (agent.cpp)
  Status OpenStore();
  // The DTLS key configuration for `label` whose certificate is `cert_pem`.
  Result<coap::PkiConfig> PkiFor(const std::string& cert_pem, const std::string& label);
  // Ends the KDC session and forgets every secret and the LDevID key.
  Status Wipe();

  // ---- KDC sessions (agent.cpp)
  Result<std::unique_ptr<coap::Client>> ConnectOperational();
  // The operational session, renewed per the session-key policy.
  Result<coap::Client*> Session();
  Result<coap::Response> Post(const char* path, crypto::Bytes body);

  // ---- joins
  Status JoinSetupCode();  // join_setup_code.cpp
  Status JoinVoucher();    // join_voucher.cpp

  // ---- firmware (firmware.cpp)
  std::string FirmwareDir() const { return opt.state_dir + "/firmware"; }
  // The A/B store of this thing's firmware; the vendor trust anchor's key verifies updates.
  Status OpenFirmware(const update::TestBootHook& hook = {});
};

// What the thing's own server, the revocation poll and the test peer may reach of an Agent.
class AgentAccess {
 public:
  static Agent::Impl& Of(Agent& a) { return *a.impl_; }
  static const Agent::Impl& Of(const Agent& a) { return *a.impl_; }
};

// The pairwise key with the KDC (kNotFound if none).
Result<crypto::SecureBuffer> PairwiseKeyOf(const Agent& agent);

// Agent::Init (which passes DefaultFileSystem()) with every write through `fsys`: the seam
// AgentTestPeer gives tests (thing/testing.h). MigrateThingKek is in key_protection.h.
Status InitThing(const InitOptions& options, FileSystem& fsys);

}  // namespace secprof::thing

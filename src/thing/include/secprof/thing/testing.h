// secprof/thing/testing.h — FOR TESTS ONLY: what tests may reach inside an Agent that the API
// does not offer. Not part of the thing's interface; nothing outside tests/ includes it.
#pragma once

#include "secprof/coap/coap.h"
#include "secprof/core/fs.h"
#include "secprof/core/result.h"
#include "secprof/crypto/secure_buffer.h"
#include "secprof/thing/agent.h"

namespace secprof::thing {

class AgentTestPeer {
 public:
  // The pairwise key with the KDC (PSK in SecProf_2, the joined key in 3/4); kNotFound if none.
  static Result<crypto::SecureBuffer> PairwiseKey(const Agent& agent);
  // The agent's operational DTLS session to the KDC (renewed per the session-key policy).
  static Result<coap::Client*> KdcSession(Agent& agent);
  // Agent::Init and Agent::MigrateKek with every write (state.json, the key store, the KEK files,
  // the firmware) through `fs` (core/fs.h), e.g. one that drops unsynced data on a simulated power
  // loss (tests/thing/init_power_loss_test.cpp). `fs` is not used after the call returns.
  static Status Init(const InitOptions& options, FileSystem& fs);
  static Result<std::string> MigrateKek(const AgentOptions& options, FileSystem& fs);
};

}  // namespace secprof::thing

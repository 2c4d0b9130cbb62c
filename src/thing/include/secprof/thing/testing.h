// secprof/thing/testing.h — FOR TESTS ONLY: what tests may reach inside an Agent that the API
// does not offer. Not part of the thing's interface; nothing outside tests/ includes it.
#pragma once

#include "secprof/coap/coap.h"
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
};

}  // namespace secprof::thing

// The test peer (secprof/thing/testing.h).
#include "secprof/thing/testing.h"

#include "agent_impl.h"

namespace secprof::thing {

Result<crypto::SecureBuffer> AgentTestPeer::PairwiseKey(const Agent& agent) {
  return PairwiseKeyOf(agent);
}

Result<coap::Client*> AgentTestPeer::KdcSession(Agent& agent) {
  return AgentAccess::Of(agent).Session();
}

Status AgentTestPeer::Init(const InitOptions& options, FileSystem& fs) {
  return InitThing(options, fs);
}

Result<std::string> AgentTestPeer::MigrateKek(const AgentOptions& options, FileSystem& fs) {
  return MigrateThingKek(options, fs);
}

}  // namespace secprof::thing

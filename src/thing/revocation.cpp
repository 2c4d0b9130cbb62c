// The thing's side of the KDC's revocation list (issue 9 item 7; secprof/domain/revocation.h;
// docs/DOMAIN.md "Thing resources": tickets of revoked things are dropped).
#include "secprof/domain/revocation.h"
#include "agent_impl.h"
#include "secprof/thing/agent.h"

namespace secprof::thing {

Result<domain::RevocationList> FetchRevocationList(Agent& agent) {
  SECPROF_ASSIGN_OR_RETURN(coap::Client * c, AgentAccess::Of(agent).Session());
  SECPROF_ASSIGN_OR_RETURN(coap::Response r, c->Get(domain::path::kRevoked));
  SECPROF_TRY(Expect(r, coap::kContent, "revocation list"));
  return domain::DecodeRevocationList(r.payload);
}

}  // namespace secprof::thing

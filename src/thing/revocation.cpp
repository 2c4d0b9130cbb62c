// The thing's side of the KDC's revocation list (issue 9 item 7; secprof/domain/revocation.h).
#include "secprof/domain/revocation.h"
#include "secprof/thing/agent.h"

namespace secprof::thing {

Result<domain::RevocationList> FetchRevocationList(Agent& agent) {
  SECPROF_ASSIGN_OR_RETURN(coap::Client * c, agent.KdcSession());
  SECPROF_ASSIGN_OR_RETURN(coap::Response r, c->Get(domain::path::kRevoked));
  if (r.code != coap::kContent)
    return Fail(ErrorCode::kVerifyFailed, "revocation list: KDC answered " +
                                              coap::CodeString(r.code) + " " +
                                              coap::AsText(r.payload));
  return domain::DecodeRevocationList(r.payload);
}

}  // namespace secprof::thing

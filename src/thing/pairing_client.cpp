// thing::SendImprint (secprof/thing/pairing_client.h).
#include "secprof/thing/pairing_client.h"

#include "secprof/coap/coap.h"
#include "secprof/domain/protocol.h"

namespace secprof::thing {

Status SendImprint(const Agent& mother, const PairTarget& to, std::chrono::milliseconds timeout) {
  SECPROF_ASSIGN_OR_RETURN(domain::PairImprint imprint, mother.MakeImprint());
  coap::ClientConfig cc;
  cc.timeout = timeout;
  SECPROF_ASSIGN_OR_RETURN(auto client, coap::Client::Connect(to.host, to.port, std::move(cc)));
  SECPROF_ASSIGN_OR_RETURN(
      coap::Response r,
      client->Post(domain::path::kPair, domain::Encode(imprint), coap::content_format::kCbor));
  if (r.code != coap::kChanged) {
    std::string why = "the thing at " + to.label + " refused the imprint: " + coap::CodeString(r.code);
    if (!r.payload.empty()) why += " (" + coap::AsText(r.payload) + ")";
    return Fail(ErrorCode::kVerifyFailed, why);
  }
  return Ok();
}

}  // namespace secprof::thing

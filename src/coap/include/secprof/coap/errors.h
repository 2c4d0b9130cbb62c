// secprof/coap/errors.h — the one mapping between secprof errors and CoAP response codes.
//
// A server answers a refused request with the code CodeFor(error) and the error's message as a
// diagnostic payload (RFC 7252 §5.5.2, text/plain); a client turns a response it did not want back
// into an Error with ErrorFromResponse. Both directions live here so that the KDC, the thing's
// resources and every client agree (issue 10, "one error dialect").
//
// The mapping (RFC 7252 §5.9 for the meaning of each code):
//   error code                 -> response code     response code          -> error code
//   kInvalidInput              -> 4.00 Bad Request  4.00                   -> kInvalidInput
//   kVerifyFailed              -> 4.01 Unauthorized 4.01, 4.03             -> kVerifyFailed
//   kNotFound, kConflict       -> 4.03 Forbidden    anything else          -> kIo (the exchange
//   kLimit                     -> 5.03 Unavailable                            failed; retrying
//   anything else              -> 5.00 Internal                               may succeed)
// It is not a bijection on purpose: to a peer, a missing record and a contradicting one are both
// "forbidden" (4.03), and the client cannot tell them apart; the client treats any 4.01/4.03 as a
// refusal of its credentials or rights (kVerifyFailed, exit status 1 at the CLI).
#pragma once

#include <string_view>

#include "secprof/coap/coap.h"
#include "secprof/core/result.h"

namespace secprof::coap {

// The response code a server answers a request with when handling it failed with `e`.
Code CodeFor(const Error& e);

// The error a client reports for an unwanted response `r` to the operation `what`: the message is
// "<what>: <peer> answered <code> (<diagnostic payload>)" (the payload only when it is text/plain).
Error ErrorFromResponse(const Response& r, std::string_view what, std::string_view peer = "peer");

// Ok when r.code == want, else ErrorFromResponse(r, what, peer).
Status ExpectCode(const Response& r, Code want, std::string_view what,
                  std::string_view peer = "peer");

}  // namespace secprof::coap

// secprof/thing/pairing_client.h — SecProf_1, the mother's side of imprinting (the resurrecting
// duckling; docs/DOMAIN.md "SecProf_1: the duckling"): the mother posts her imprint (the domain
// key) to a thing in pairing mode over plain CoAP, in the clear, as the profile does.
// The thing's side is ThingServer's pair resource (agent.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "secprof/core/result.h"
#include "secprof/thing/agent.h"

namespace secprof::thing {

struct PairTarget {
  std::string host;   // numeric address
  uint16_t port = 0;  // the thing's plain-CoAP port
  std::string label;  // how messages name it (e.g. what the user typed, "HOST:PORT")
};

// Requires: `mother` is a SecProf_1 mother (Agent::BecomeMother). Posts her imprint to
// `to`'s pair resource and expects 2.04 Changed.
// Errors: MakeImprint's (not a mother); the client's (kIo/kLimit: the thing did not answer);
// kVerifyFailed "the thing at <label> refused the imprint: <code> (<text>)".
Status SendImprint(const Agent& mother, const PairTarget& to, std::chrono::milliseconds timeout);

}  // namespace secprof::thing

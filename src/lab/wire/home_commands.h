// src/lab/wire/home_commands.h — what the on-path attacker does to SecProf_1 traffic that the
// lab's mitm and replay scenarios share: editing a link frame's content while keeping its MAC,
// and the actuator command path, which a SecProf_1 thing serves over plain CoAP without the link
// frames' MAC (docs/DOMAIN.md "Thing resources": "SecProf_1: anyone (no application security)").
#pragma once

#include <optional>

#include "coap_message.h"
#include "on_path.h"

namespace secprof::lab::wire {

// A link-frame POST (l2) whose reading value is replaced by `value`, the COSE_Mac0 tag kept as it
// was (RFC 9052 §6.2: the tag covers the payload, so a receiver holding the key must refuse it).
// nullopt when `datagram` is not a link frame carrying a reading.
std::optional<Bytes> AlterLinkReading(ByteView datagram, int64_t value);

// The mother PUTs actuator/led {on} to thing 1 through the relay.
Result<coap::Response> SendCommand(OnPath& p, bool on);

// `m` with a new message id and token (a fresh CoAP message around the same content, so that
// CoAP deduplication (RFC 7252 §4.5) does not hide a replay of the content).
Bytes Refreshed(const CoapMessage& m);

// The first datagram towards the server, from index `from`, whose CoAP request has `path`.
std::optional<size_t> FindRequest(const std::vector<Datagram>& cap, const std::string& path,
                                  size_t from = 0);

// Waits for the response (towards the client) to the CoAP message with id `mid`; returns it.
std::optional<CoapMessage> AwaitResponse(const Relay& r, uint16_t mid,
                                         std::chrono::milliseconds timeout);

}  // namespace secprof::lab::wire

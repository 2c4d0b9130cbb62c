// src/lab/wire/on_path.h — live domains with the lab's relay on the path of one thing's traffic,
// shared by the wire/ scenarios (T3, T4, T8). Two shapes:
//   - managed (SecProf_2..4): thing 0 is installed against the relay, which forwards to the KDC
//     (links: SecProf_2 0 = plain CoAP, 1 = DTLS; SecProf_3/4 0 = DTLS), and joins and goes
//     operational through it; other things join directly. The SecProf_2 KDC names its DTLS port in
//     the plain j/psk answer: the relay, being on the path, rewrites that port to its own so the
//     operational session crosses it too (on a real network every datagram would);
//   - home (SecProf_1): thing 0 is the mother, thing 1 serves its resources behind the relay
//     (link 0 = thing 1's plain-CoAP port); the mother pairs thing 1 and sends link frames and
//     commands to it through the relay with a plain coap::Client (`mother`).
// Everything is under ctx.dir; the relay, servers and domain stop with the object.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "relay.h"
#include "secprof/coap/coap.h"
#include "secprof/lab/live_domain.h"
#include "secprof/lab/scenario.h"

namespace secprof::lab::wire {

struct OnPath {
  std::unique_ptr<LiveDomain> domain;
  std::unique_ptr<Relay> relay;
  // home: the mother's client to thing 1, through the relay, and thing 1's server.
  std::unique_ptr<coap::Client> mother;
  scenario::RunningThingServer* served = nullptr;
  size_t dtls_link = 0;  // managed: the relay's link to the KDC's DTLS port
  // Destroy the client before the relay and the domain (declaration order is reversed).
  ~OnPath();
  OnPath() = default;
  OnPath(OnPath&&) = default;
  OnPath& operator=(OnPath&&) = default;
};

// Managed: `things` admitted; thing 0 joins and goes operational through the relay, the others
// directly. `configure_kdc` as DomainOptions. kInvalidInput for SecProf_1.
Result<OnPath> StartManaged(const RunContext& ctx, int things = 1,
                            std::chrono::milliseconds timeout = std::chrono::milliseconds(0),
                            std::function<void(kdc::KdcOptions&)> configure_kdc = {});

// SecProf_2: the policy that, on the path of a join, rewrites the DTLS port named in the KDC's
// plain j/psk answer to `relay_dtls`, so that the thing's operational session crosses the relay
// too (what StartManaged installs while thing 0 joins).
Policy RedirectJoinAnswer(uint16_t relay_dtls);

// Home (SecProf_1): two things, the mother (0) and thing 1 served behind the relay. With `pair`,
// the mother pairs thing 1 through the relay (the imprint crosses it in the clear).
Result<OnPath> StartHome(const RunContext& ctx, bool pair = true);

// Home: the mother sends one link frame carrying a reading to thing 1 through the relay; returns
// the CoAP response.
Result<coap::Response> SendLinkReading(OnPath& p, int64_t centi_celsius);

// Home: another client of the mother to thing 1 through the relay, with its own timeout (an
// attack that expects a request to go unanswered should not wait for the scenario's timeout).
Result<std::unique_ptr<coap::Client>> MotherClient(OnPath& p, std::chrono::milliseconds timeout);

// Home: a link frame of the mother carrying a reading (the frame's counter is persisted).
Result<Bytes> LinkReadingFrame(OnPath& p, int64_t centi_celsius);

// The SHA-256 of `key`, first 8 bytes in hex: how evidence names a recovered key.
std::string KeyFingerprint(ByteView key);

// Indices of captured DTLS application_data records (content type 23) in direction `dir`, from
// capture index `from` on.
std::vector<size_t> AppDataIndices(const std::vector<Datagram>& capture, Direction dir,
                                   size_t from = 0);

// A request timeout for attacks that expect a request to go unanswered: half the scenario's, at
// least 800 ms (a token handshake under load fits in it).
std::chrono::milliseconds ShortTimeout(const RunContext& ctx);

// Evidence: the relay's capture, one line per datagram (at most `max`).
Evidence CaptureEvidence(const Relay& r, const std::string& what = "", size_t max = 40);

// The cipher suites the observer saw, comma-separated.
std::string Suites(const std::set<std::string>& suites);

// Measurement helpers.
Measurement NotApplicable(std::string reason);
Measurement NotTestable(std::string reason);

}  // namespace secprof::lab::wire

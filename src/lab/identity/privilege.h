// Internal to secprof::lab, identity/ group: the attempts and verdicts the scenarios share (first
// written for T11, elevation of privilege), and the domains they start. In the T11 scenarios the
// attacker is a thing of the domain whose software is compromised: it holds its own
// credentials (its PSK or its LDevID and key, in its token where it has one) and opens its own
// authenticated sessions, then asks for what it is not entitled to. Each request is an Attempt;
// the verdict is succeeded when any attempt obtained something.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adversary.h"

namespace secprof::lab::internal {

struct Attempt {
  std::string what;    // "POST op/report naming <peer>"
  std::string answer;  // "4.03 spoofed-reading" or the error
  bool obtained = false;
};

// The thing's own KDC session from its own storage (the thing is the attacker): its state
// directory and, for file keys, its KEK; for token things its token (the device's).
Result<std::unique_ptr<coap::Client>> ThingOwnSession(LiveDomain& d, int i,
                                                      const std::filesystem::path& scratch,
                                                      std::chrono::milliseconds timeout);

// One request on `c`; obtained = the answer is 2.xx.
Attempt Try(coap::Client& c, std::string what, coap::Method method, std::string_view path,
            const crypto::Bytes& body = {}, std::string_view query = {});

// GET sensor/temp of the peer at (udp, dtls) with a ticket and key the KDC issued (k/pair): the
// ticket posted to the peer, then DTLS-PSK with it.
Attempt PeerRead(uint16_t udp, uint16_t dtls, const domain::PairKeyResponse& pk,
                 std::chrono::milliseconds timeout, std::string what);

// After a thing was retired: reads the peer with the ticket it took before, at once and then every
// 100 ms for at most 3 s (three revocation polls of 1 s) until the peer refuses. Returns the
// judged attempt (obtained = still accepted after 3 s) and, in `window`, what was measured.
Attempt PeerAfterRetirement(uint16_t udp, uint16_t dtls, const domain::PairKeyResponse& pk,
                            std::chrono::milliseconds timeout, const std::string& event,
                            std::string& window);

// The domain a scenario runs in: `things` joined things of ctx's profile under <ctx.dir>/domain,
// with ctx's tokens and timeout.
DomainOptions Things(const RunContext& ctx, int things);
// A voucher domain for one thing: manufactured, not admitted (the scenario admits it).
DomainOptions OneUnadmittedThing(const RunContext& ctx);

// Not applicable without vouchers (SecProf_1: no KDC; SecProf_2: setup codes), else nullopt.
std::optional<Measurement> NoVouchers(domain::Profile p);

// The verdict over the attempts: kSucceeded naming what was obtained, else kBlocked with
// `control` and the KDC's refusal reasons that moved (`refused`); the attempts are the evidence.
Measurement Verdict(const std::vector<Attempt>& attempts, const std::string& control,
                    const std::string& refused);

}  // namespace secprof::lab::internal

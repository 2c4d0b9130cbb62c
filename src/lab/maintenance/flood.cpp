// lab.flood: a flood of spoofed DTLS handshakes and join requests from many loopback addresses
// while genuine things join (T9, denial of service; draft §4 threat 9; RFC 4732; RFC 6347
// §4.2.1 cookies; docs/DOMAIN.md "Limits", docs/COAP.md "Availability").
//
// Attacker: sends from sixteen source addresses (127.0.0.2..17, which a real attacker would spoof
// or rent) at the KDC, as fast as the KDC answers:
//   - first ClientHellos never continued (spoofed: nothing but a cookie comes back);
//   - handshakes continued with the cookie and then abandoned (the server holds state for each);
//   - SecProf_2 (plain-CoAP join): j/nonce for the genuine things' serials (which cross the wire
//     in clear in that profile), j/psk that is no CBOR, j/psk with a made-up nonce and proof, and
//     j/psk with a nonce the KDC gave the attacker's own address and a made-up proof (the most
//     the KDC does for an address that receives its answers).
// Once the flood has overrun the KDC's handshake slots (more abandoned handshakes answered than
// coap::Limits::max_handshake_sessions), the genuine things install and join, one after the
// other, with their normal timeout, each retrying a failed join up to kJoinAttempts times.
// Measured (2026-12-07): SecProf_2's plain-CoAP join used to fail on a loaded machine: the KDC
// stored each nonce and kept at most max_nonces_per_serial per serial, so the spoofed j/nonce
// requests naming the thing's serial evicted its nonce. Fixed (issue 11): the nonce is a
// stateless token bound to the serial and the asker's address and port (docs/DOMAIN.md "Nonce",
// src/kdc/join_nonce.h), so the flood changes no state the genuine join depends on, whatever the
// load; tests/lab/maintenance_test.cpp runs this scenario also beside busy threads.
// Success: a genuine thing fails every join attempt. Blocked: every genuine join completes; the
// controls are the stateless cookies - DTLS's, and SecProf_2's address-bound join nonce
// (kdc.join_cookie) - and the KDC's bounds (coap::Limits on half-open handshakes, the per-source
// rate limit of refusals.h), named from what the defender reported: the KDC's refusal reasons
// (replay-or-stale and bad-proof for the flood's j/psk, "rate-limited"), the cookies it answered
// with.
// No negative control: the guard's bounds cannot be switched off from KdcOptions (libcoap's own
// slot limit is derived from them), and a lower profile has the same guard.
// Bounded: at most kMaxFlood of flood, stopped as soon as the genuine joins are done.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "groups.h"
#include "secprof/domain/protocol.h"
#include "secprof/lab/attack_traffic.h"
#include "secprof/lab/live_domain.h"

namespace secprof::lab::internal {
namespace {

using namespace std::chrono_literals;

constexpr int kSources = 16;              // 127.0.0.2 .. 127.0.0.17
constexpr auto kMaxFlood = 15s;           // a bound on the flood, whatever happens
constexpr uint64_t kSlotsToOverrun = 64;  // coap::Limits{}.max_handshake_sessions
constexpr int kGenuineThings = 2;
constexpr int kNoncesPerSerial = 3;  // j/nonce per genuine serial, per source and round
constexpr int kJoinAttempts = 3;     // a genuine thing's joins before it gives up

struct FloodCounters {
  std::atomic<uint64_t> hellos{0};         // first ClientHellos sent
  std::atomic<uint64_t> cookies{0};        // HelloVerifyRequests received (stateless answer)
  std::atomic<uint64_t> abandoned{0};      // cookie-bearing ClientHellos answered
  std::atomic<uint64_t> join_requests{0};  // plain-CoAP join requests sent
  std::atomic<uint64_t> answers_503{0};    // of their answers, 5.03 (rate-limited)
  std::atomic<uint64_t> own_nonces{0};     // j/nonce answered 2.01 (a nonce for the attacker)
  std::atomic<int> rounds{0};
  std::atomic<bool> done{false};  // the flood ended (its time bound)
};

// The payload of a CoAP message (RFC 7252 §3: header, token, options, 0xFF, payload); empty when
// there is none or the message is truncated.
attack::Packet CoapPayload(const attack::Packet& p) {
  if (p.size() < 4) return {};
  size_t i = 4 + (p[0] & 0x0f);
  auto extended = [&](unsigned nibble) -> std::optional<size_t> {
    if (nibble < 13) return nibble;
    if (nibble == 13 && i < p.size()) return 13 + p[i++];
    if (nibble == 14 && i + 1 < p.size()) {
      size_t v = 269 + (size_t{p[i]} << 8 | p[i + 1]);
      i += 2;
      return v;
    }
    return std::nullopt;
  };
  while (i < p.size() && p[i] != 0xff) {
    const uint8_t h = p[i++];
    if (!extended(h >> 4)) return {};
    auto len = extended(h & 0x0f);
    if (!len || i + *len > p.size()) return {};
    i += *len;
  }
  if (i + 1 >= p.size()) return {};
  return attack::Packet(p.begin() + static_cast<std::ptrdiff_t>(i) + 1, p.end());
}

// One round from one source: a spoofed hello, an abandoned handshake, and (plain-CoAP join
// profiles) join requests naming the genuine serials.
void FloodRound(const std::string& source, uint16_t dtls, uint16_t udp,
                const std::vector<std::string>& serials, uint32_t seed, FloodCounters& c) {
  {
    attack::UdpSocket s(source);
    if (s.ok() && s.SendTo(dtls, attack::ClientHello({}, seed, 0))) ++c.hellos;
  }
  {
    attack::UdpSocket s(source);
    if (s.ok() && s.SendTo(dtls, attack::ClientHello({}, seed ^ 0x5a5a, 0))) {
      ++c.hellos;
      auto hvr = s.Recv(300ms);
      auto cookie = hvr ? attack::HelloVerifyCookie(*hvr) : std::nullopt;
      if (cookie) {
        ++c.cookies;
        if (s.SendTo(dtls, attack::ClientHello(*cookie, seed ^ 0x5a5a, 1)) && s.Recv(300ms))
          ++c.abandoned;
      }
    }
  }
  if (udp == 0) return;
  attack::UdpSocket s(source);
  if (!s.ok()) return;
  uint16_t mid = static_cast<uint16_t>(seed);
  for (const auto& serial : serials) {
    crypto::Bytes body = domain::Encode(domain::JoinNonceRequest{serial});
    for (int k = 0; k < kNoncesPerSerial; ++k)
      if (s.SendTo(udp, attack::CoapRequest(attack::kCoapPost, mid++, domain::path::kJoinNonce,
                                            attack::Packet(body.begin(), body.end()), 60)))
        ++c.join_requests;
  }
  if (s.SendTo(udp, attack::CoapRequest(attack::kCoapPost, mid++, domain::path::kJoinPsk,
                                        attack::Packet(48, 0xa5), 60)))
    ++c.join_requests;
  const crypto::Bytes made_up(domain::kNonceSize, static_cast<uint8_t>(seed));
  if (s.SendTo(udp, attack::CoapRequest(attack::kCoapPost, mid++, domain::path::kJoinPsk,
                                        domain::Encode(domain::PskJoinRequest{
                                            serials.front(), made_up, crypto::Bytes(32, 0xa5)}),
                                        60)))
    ++c.join_requests;
  std::optional<crypto::Bytes> own;  // a nonce issued to this source for serials.front()
  while (auto p = s.Recv(2ms)) {
    auto code = attack::CoapCode(*p);
    if (code && *code == ((5 << 5) | 3)) ++c.answers_503;
    if (code && *code == ((2 << 5) | 1)) {
      ++c.own_nonces;
      auto n = domain::DecodeJoinNonce(CoapPayload(*p));
      if (n && !own) own = n->nonce;
    }
  }
  // The nonce the KDC gave this address, with a made-up proof: past the address binding, up to
  // the proof check (the KDC unwraps the setup-code key and verifies).
  if (own && s.SendTo(udp, attack::CoapRequest(attack::kCoapPost, mid++, domain::path::kJoinPsk,
                                               domain::Encode(domain::PskJoinRequest{
                                                   serials.front(), *own, crypto::Bytes(32, 0x5a)}),
                                               60))) {
    ++c.join_requests;
    (void)s.Recv(2ms);
  }
}

class Flood final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.flood",
        "T9",
        "installation",
        "transport",
        "floods the KDC from many loopback source addresses with spoofed and abandoned DTLS "
        "handshakes and (SecProf_2) join requests naming the genuine things, while they join",
        "a genuine thing fails to join in every one of its attempts (3) while the flood lasts",
        {"M.app.dos_cookies", "M.net.egress_filtering", "M.net.border_filtering"},
        {"coap.dtls_cookie", "coap.rate_limit", "kdc.join_cookie"},
        false};
    return i;
  }

  Result<Measurement> Run(const RunContext& ctx) const override {
    Measurement m;
    if (ctx.profile == domain::Profile::kSecProf1) {
      m.outcome = Outcome::kNotApplicable;
      m.reason =
          "SecProf_1 has no KDC and no DTLS: there is no handshake or join request to flood "
          "(things pair with the mother over plain CoAP in its pairing window; flooding the "
          "radio is issue 15's emulated network)";
      return m;
    }
    DomainOptions o;
    o.profile = ctx.profile;
    o.dir = ctx.dir;
    o.things = kGenuineThings;
    o.join = false;  // admitted only: they join under the flood
    o.tokens = ctx.tokens;
    o.timeout = ctx.timeout;
    SECPROF_ASSIGN_OR_RETURN(auto d, LiveDomain::Start(o));
    const uint16_t dtls = d->kdc_dtls_port(), udp = d->kdc_udp_port();
    std::vector<std::string> serials;
    for (int i = 0; i < kGenuineThings; ++i) serials.push_back(d->thing(i).state().serial);
    const auto before = d->refusals();

    FloodCounters c;
    std::mutex mu;
    std::condition_variable cv;
    std::jthread attacker([&](std::stop_token st) {
      const auto end = std::chrono::steady_clock::now() + kMaxFlood;
      for (int r = 0; std::chrono::steady_clock::now() < end && !st.stop_requested(); ++r) {
        for (int k = 0; k < kSources && !st.stop_requested(); ++k)
          FloodRound("127.0.0." + std::to_string(2 + k), dtls, udp, serials,
                     static_cast<uint32_t>(ctx.seed * 7919 + r * kSources + k), c);
        {
          std::lock_guard<std::mutex> l(mu);
          c.rounds = r + 1;
        }
        cv.notify_all();
      }
      std::lock_guard<std::mutex> l(mu);
      c.done = true;  // wake the waiter whatever the counts
      cv.notify_all();
    });
    {
      // The genuine joins start once the flood holds more handshakes than the KDC has slots.
      std::unique_lock<std::mutex> l(mu);
      cv.wait(l, [&] { return c.abandoned >= kSlotsToOverrun || c.done; });
    }
    const bool overran = c.abandoned >= kSlotsToOverrun;
    std::vector<std::string> failures;
    std::vector<double> join_ms;
    // A genuine thing retries a failed join, as a deployed device would (kJoinAttempts in all):
    // one lost exchange is not a denial of service; being kept out for every attempt is.
    for (int i = 0; i < kGenuineThings; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      Status st = d->thing(i).Install("127.0.0.1", udp, dtls);
      std::string last;
      for (int attempt = 0; st && attempt < kJoinAttempts; ++attempt) {
        Status j = d->thing(i).Join();
        if (j) {
          last.clear();
          break;
        }
        last = j.error().message();
      }
      if (!st) last = st.error().message();
      join_ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      if (!last.empty()) {
        failures.push_back(serials[i] + " (" + std::to_string(kJoinAttempts) +
                           " attempts): " + last);
        break;  // the attack has met its criterion
      }
    }
    const bool flooding = !c.done;  // still running when the joins ended
    attacker.request_stop();
    attacker.join();

    std::string counts = std::to_string(c.hellos.load()) + " ClientHellos from " +
                         std::to_string(kSources) + " addresses, " +
                         std::to_string(c.cookies.load()) + " answered with a cookie only, " +
                         std::to_string(c.abandoned.load()) +
                         " handshakes abandoned after the "
                         "cookie, " +
                         std::to_string(c.join_requests.load()) + " join requests (" +
                         std::to_string(c.own_nonces.load()) +
                         " answered with a nonce for the attacker's own address, " +
                         std::to_string(c.answers_503.load()) + " answered 5.03)";
    m.evidence.push_back({"log", "the flood: " + counts, ""});
    std::string joins;
    for (size_t i = 0; i < join_ms.size(); ++i)
      joins += serials[i] + " " + std::to_string(static_cast<int>(join_ms[i])) + " ms; ";
    m.evidence.push_back({"timing", "genuine joins under the flood: " + joins, ""});
    std::string moved;
    for (const auto& [reason, n] : d->refusals()) {
      auto it = before.find(reason);
      uint64_t delta = n - (it == before.end() ? 0 : it->second);
      if (delta) moved += reason + " x " + std::to_string(delta) + ", ";
    }
    m.evidence.push_back(
        {"refusal",
         "the KDC's refusals during the flood: " + (moved.empty() ? std::string("none") : moved),
         ""});
    if (failures.empty() && (!overran || !flooding))
      return Fail(ErrorCode::kInternal,
                  "lab.flood: the flood did not hold the KDC's handshake slots for the whole "
                  "join (" +
                      counts + ")");
    const auto after = d->refusals();
    auto delta = [&](const std::string& reason) -> uint64_t {
      auto a = after.find(reason);
      auto b = before.find(reason);
      return (a == after.end() ? 0 : a->second) - (b == before.end() ? 0 : b->second);
    };
    const uint64_t n_limited = delta("rate-limited");
    if (!failures.empty()) {
      m.outcome = Outcome::kSucceeded;
      m.reason = "genuine joins failed under the flood: " + failures.front();
      if (failures.front().find("join nonce") != std::string::npos)
        m.reason +=
            " - the genuine thing's join nonce was refused at its j/psk although the flood "
            "came from other addresses (the address binding of docs/DOMAIN.md \"Nonce\" did "
            "not hold)";
      m.reason += " (the KDC's per-source rate limit refused " + std::to_string(n_limited) +
                  " of the flood's requests)";
      return m;
    }
    m.outcome = Outcome::kBlocked;
    if (udp != 0) {
      // SecProf_2: the join requests named the genuine serials and the genuine things joined.
      m.control = "kdc.join_cookie";
      m.reason =
          "join nonces bound to the asker's address and port, stored nowhere "
          "(docs/DOMAIN.md \"Nonce\"): " +
          std::to_string(c.own_nonces.load()) +
          " nonces issued to the flood's own addresses displaced nothing; the KDC "
          "refused the flood's j/psk: replay-or-stale x " +
          std::to_string(delta("replay-or-stale")) + ", bad-proof x " +
          std::to_string(delta("bad-proof")) + ", rate-limited x " + std::to_string(n_limited);
    } else if (n_limited > 0) {
      m.control = "coap.rate_limit";
      m.reason = "rate-limited";  // the KDC's own refusal reason for the spoofed join requests
    } else {
      m.control = "coap.dtls_cookie";
      m.reason = "hello-verify-request: " + std::to_string(c.cookies.load()) +
                 " spoofed ClientHellos answered with a cookie only, abandoned handshakes bounded "
                 "(coap::Limits)";
    }
    return m;
  }
};

}  // namespace

std::unique_ptr<Scenario> MakeFlood() { return std::make_unique<Flood>(); }

}  // namespace secprof::lab::internal

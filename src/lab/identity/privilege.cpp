// What the T11 scenarios share (privilege.h).
#include "privilege.h"

#include <chrono>
#include <thread>

#include "secprof/domain/protocol.h"

namespace secprof::lab::internal {

Result<std::unique_ptr<coap::Client>> ThingOwnSession(LiveDomain& d, int i,
                                                      const std::filesystem::path& scratch,
                                                      std::chrono::milliseconds timeout) {
  SECPROF_ASSIGN_OR_RETURN(DeviceCopy own, CopyDevice(d, i, scratch, true));
  SECPROF_ASSIGN_OR_RETURN(FileLoot loot, ReadDeviceFiles(own));
  return OwnSession(d, loot, d.token(), timeout);
}

Attempt Try(coap::Client& c, std::string what, coap::Method method, std::string_view path,
            const crypto::Bytes& body, std::string_view query) {
  Attempt a{std::move(what), "", false};
  std::optional<uint16_t> cf;
  if (!body.empty()) cf = coap::content_format::kCbor;
  auto r = c.Send(method, path, body, cf, query);
  if (!r) {
    a.answer = r.error().message();
    return a;
  }
  a.answer = BodyText(*r);
  a.obtained = (r->code >> 5) == 2;
  return a;
}

Attempt PeerRead(uint16_t udp, uint16_t dtls, const domain::PairKeyResponse& pk,
                 std::chrono::milliseconds timeout, std::string what) {
  auto c = thing::ConnectToPeer("127.0.0.1", udp, dtls, pk, timeout);
  if (!c) return {std::move(what), c.error().message(), false};
  return Try(**c, std::move(what), coap::Method::kGet, domain::path::kSensor);
}

Attempt PeerAfterRetirement(uint16_t udp, uint16_t dtls, const domain::PairKeyResponse& pk,
                            std::chrono::milliseconds timeout, const std::string& event,
                            std::string& window) {
  using namespace std::chrono_literals;
  const auto t0 = std::chrono::steady_clock::now();
  bool still = PeerRead(udp, dtls, pk, timeout, "").obtained;
  window = still ? "accepted at once" : "refused at once";
  for (int i = 0; still && i < 30; ++i) {
    std::this_thread::sleep_for(100ms);
    still = PeerRead(udp, dtls, pk, timeout, "").obtained;
    if (!still)
      window += ", refused " +
                std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now() - t0)
                                   .count()) +
                " ms after the " + event;
  }
  return {"GET B's sensor with the ticket taken before, after B's revocation poll",
          still ? "2.05 (still accepted 3 s after the " + event + ")" : "refused", still};
}

DomainOptions Things(const RunContext& ctx, int things) {
  DomainOptions o;
  o.profile = ctx.profile;
  o.dir = ctx.dir / "domain";
  o.things = things;
  o.tokens = ctx.tokens;
  o.timeout = ctx.timeout;
  return o;
}

DomainOptions OneUnadmittedThing(const RunContext& ctx) {
  DomainOptions o = Things(ctx, 0);
  o.spares = 1;
  return o;
}

std::optional<Measurement> NoVouchers(domain::Profile p) {
  if (domain::PolicyFor(p).bootstrap == domain::Bootstrap::kVoucher) return std::nullopt;
  Measurement m;
  m.outcome = Outcome::kNotApplicable;
  m.reason = p == domain::Profile::kSecProf1
                 ? "SecProf_1 has no KDC and no vouchers"
                 : "SecProf_2 admits things by setup code: there are no vouchers (the draft)";
  return m;
}

Measurement Verdict(const std::vector<Attempt>& attempts, const std::string& control,
                    const std::string& refused) {
  Measurement m;
  std::string trail, got;
  for (const auto& a : attempts) {
    trail += a.what + ": " + a.answer + "\n";
    if (a.obtained) got += (got.empty() ? "" : "; ") + a.what;
  }
  if (!got.empty()) {
    m.outcome = Outcome::kSucceeded;
    m.reason = "obtained: " + got;
    m.evidence.push_back({"log", "attempts, some answered 2.xx", trail});
    return m;
  }
  m.outcome = Outcome::kBlocked;
  m.control = control;
  m.reason = refused.empty() ? "refused" : refused;
  m.evidence.push_back(
      {"refusal", std::to_string(attempts.size()) + " attempts, all refused", trail});
  return m;
}

}  // namespace secprof::lab::internal

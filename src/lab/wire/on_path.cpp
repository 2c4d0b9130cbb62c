// Live domains with the relay on the path (on_path.h).
#include "on_path.h"

#include "coap_message.h"
#include "observer.h"
#include "secprof/core/hex.h"
#include "secprof/crypto/hash.h"
#include "secprof/domain/protocol.h"

namespace secprof::lab::wire {

OnPath::~OnPath() {
  mother.reset();
  relay.reset();
  domain.reset();
}

// SecProf_2: the on-path relay rewrites the DTLS port named in the plain j/psk answer (RFC 7252
// §3 message, docs/DOMAIN.md "Message labels" PskJoinResponse label 3) to its own DTLS link.
Policy RedirectJoinAnswer(uint16_t relay_dtls) {
  return [relay_dtls](const Datagram& d, Bytes& out) {
    if (d.dir != Direction::kToClient || LooksLikeDtls(d.bytes)) return Decision{};
    auto m = ParseCoap(d.bytes);
    if (!m || m->code != coap::kChanged || m->payload.empty()) return Decision{};
    auto j = domain::DecodePskJoinResponse(m->payload);
    if (!j) return Decision{};
    j->dtls_port = relay_dtls;
    m->payload = domain::Encode(*j);
    out = SerializeCoap(*m);
    return Decision{};
  };
}

namespace {

DomainOptions Options(const RunContext& ctx, domain::Profile p, int things) {
  DomainOptions o;
  o.profile = p;
  o.dir = ctx.dir;
  o.things = things;
  o.join = false;
  o.tokens = ctx.tokens;
  o.timeout = ctx.timeout;
  return o;
}

}  // namespace

Result<OnPath> StartManaged(const RunContext& ctx, int things, std::chrono::milliseconds timeout,
                            std::function<void(kdc::KdcOptions&)> configure_kdc) {
  if (ctx.profile == domain::Profile::kSecProf1)
    return Fail(ErrorCode::kInvalidInput, "SecProf_1 has no KDC to put a relay in front of");
  OnPath p;
  DomainOptions o = Options(ctx, ctx.profile, std::max(things, 1));
  if (timeout.count() > 0) o.timeout = timeout;
  if (configure_kdc) o.configure_kdc = std::move(configure_kdc);
  SECPROF_ASSIGN_OR_RETURN(p.domain, LiveDomain::Start(o));
  LiveDomain& d = *p.domain;
  const bool plain = d.kdc_udp_port() != 0;
  std::vector<uint16_t> ups;
  if (plain) ups.push_back(d.kdc_udp_port());
  ups.push_back(d.kdc_dtls_port());
  SECPROF_ASSIGN_OR_RETURN(p.relay, Relay::Start(ups));
  p.dtls_link = plain ? 1 : 0;
  if (plain) p.relay->SetPolicy(RedirectJoinAnswer(p.relay->port(1)));
  SECPROF_TRY(d.InstallAndJoin(0, plain ? p.relay->port(0) : 0, p.relay->port(p.dtls_link)));
  SECPROF_TRY(d.thing(0).GoOperational());
  p.relay->SetPolicy({});
  for (int i = 1; i < things; ++i) {
    SECPROF_TRY(d.InstallAndJoin(i, d.kdc_udp_port(), d.kdc_dtls_port()));
    SECPROF_TRY(d.thing(i).GoOperational());
  }
  return p;
}

Result<OnPath> StartHome(const RunContext& ctx, bool pair) {
  OnPath p;
  SECPROF_ASSIGN_OR_RETURN(p.domain,
                           LiveDomain::Start(Options(ctx, domain::Profile::kSecProf1, 2)));
  LiveDomain& d = *p.domain;
  SECPROF_TRY(d.thing(0).BecomeMother());
  SECPROF_ASSIGN_OR_RETURN(p.served, d.ServeThing(1));
  SECPROF_ASSIGN_OR_RETURN(p.relay, Relay::Start({p.served->server->udp_port()}));
  coap::ClientConfig cc;
  cc.timeout = ctx.timeout;
  SECPROF_ASSIGN_OR_RETURN(p.mother,
                           coap::Client::Connect("127.0.0.1", p.relay->port(0), std::move(cc)));
  if (pair) {
    SECPROF_ASSIGN_OR_RETURN(auto imprint, d.thing(0).MakeImprint());
    SECPROF_ASSIGN_OR_RETURN(auto r, p.mother->Post(domain::path::kPair, domain::Encode(imprint),
                                                    coap::content_format::kCbor));
    if (r.code != coap::kChanged)
      return Fail(ErrorCode::kInternal,
                  "lab: pairing through the relay was answered " + coap::CodeString(r.code));
    SECPROF_TRY(d.thing(0).GoOperational());
  }
  return p;
}

Result<Bytes> LinkReadingFrame(OnPath& p, int64_t centi) {
  thing::Agent& mother = p.domain->thing(0);
  const auto n = static_cast<int64_t>(mother.state().link_counter + 1);
  return mother.SealLinkFrame(domain::Encode(domain::Reading{mother.state().serial, centi, n}));
}

Result<coap::Response> SendLinkReading(OnPath& p, int64_t centi) {
  SECPROF_ASSIGN_OR_RETURN(Bytes frame, LinkReadingFrame(p, centi));
  return p.mother->Post(domain::path::kLink, frame);
}

Result<std::unique_ptr<coap::Client>> MotherClient(OnPath& p, std::chrono::milliseconds timeout) {
  coap::ClientConfig cc;
  cc.timeout = timeout;
  return coap::Client::Connect("127.0.0.1", p.relay->port(0), std::move(cc));
}

std::string KeyFingerprint(ByteView key) {
  auto h = crypto::Sha256(key);
  if (!h) return "?";
  return "sha256:" + ToHex(ByteView(h->data(), 8));
}

std::vector<size_t> AppDataIndices(const std::vector<Datagram>& capture, Direction dir,
                                   size_t from) {
  std::vector<size_t> out;
  for (size_t i = from; i < capture.size(); ++i) {
    const auto& d = capture[i];
    if (d.dir == dir && LooksLikeDtls(d.bytes) && d.bytes[0] == 23) out.push_back(i);
  }
  return out;
}

std::chrono::milliseconds ShortTimeout(const RunContext& ctx) {
  return std::max(ctx.timeout / 2, std::chrono::milliseconds(800));
}

Evidence CaptureEvidence(const Relay& r, const std::string& what, size_t max) {
  auto c = r.Capture();
  return {
      "datagrams",
      std::to_string(c.size()) + " datagrams" + (what.empty() ? "" : " of " + what) + " captured",
      Summarize(c, max)};
}

std::string Suites(const std::set<std::string>& suites) {
  std::string out;
  for (const auto& s : suites) out += (out.empty() ? "" : ", ") + s;
  return out;
}

Measurement NotApplicable(std::string reason) {
  Measurement m;
  m.outcome = Outcome::kNotApplicable;
  m.reason = std::move(reason);
  return m;
}

Measurement NotTestable(std::string reason) {
  Measurement m;
  m.outcome = Outcome::kNotTestable;
  m.reason = std::move(reason);
  return m;
}

}  // namespace secprof::lab::wire

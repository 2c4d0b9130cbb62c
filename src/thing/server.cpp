// The thing's own CoAP resources (docs/DOMAIN.md "Thing resources (`ThingServer`)"; draft-garcia-
// security-mitigations-and-profiles §7.2-7.5: the application security of each profile — none in
// SecProf_1, whose link frames carry the only protection; DTLS-PSK keyed by KDC tickets in 2-4).
//
//   GET sensor/temp, PUT actuator/led   a ticket holder's DTLS-PSK session (SecProf_1: anyone)
//   POST t                              a KDC ticket (plain CoAP; the ticket protects itself)
//   POST pair, POST l2                  SecProf_1: the imprint (pairing window), link frames
// Refusals answer with a text/plain diagnostic and count in refused().
#include <algorithm>
#include <mutex>
#include <set>

#include "agent_impl.h"
#include "firmware_poll.h"
#include "secprof/cbor/cbor.h"
#include "secprof/coap/echo.h"
#include "secprof/coap/errors.h"
#include "secprof/domain/revocation.h"
#include "secprof/thing/agent.h"

namespace secprof::thing {

using crypto::ByteView;

struct ThingServer::Impl {
  Agent& agent;
  ThingServerOptions opt;
  std::unique_ptr<coap::Server> server;
  std::chrono::steady_clock::time_point started;
  const Clock& clock;
  mutable std::mutex mu;
  // Accepted tickets by hex kid (issue 9 item 7): each is checked against its expiry on every
  // request and handshake, expired ones are purged, at most opt.max_tickets are kept (the soonest
  // to expire is evicted), and tickets of revoked requesters are dropped and refused.
  struct Ticket {
    std::string requester;
    crypto::SecureBuffer key;
    int64_t expires = 0;
  };
  std::map<std::string, Ticket> tickets;
  std::set<std::string> revoked;  // the KDC's revocation list, as last polled
  std::vector<std::string> peers;
  uint64_t refused = 0;
  bool led = false;
  int64_t temperature = 2150;
  std::chrono::steady_clock::time_point next_poll{};
  internal::UpdatePoller updates;  // ThingServerOptions::update_poll

  Impl(Agent& a, ThingServerOptions o)
      : agent(a),
        opt(std::move(o)),
        clock(opt.clock ? *opt.clock : SystemClock()),
        updates(a, opt.update_poll) {}

  int64_t Now() const { return UnixSeconds(clock); }
  // The live ticket for `kid`, or nullptr after purging it when it expired or its requester is
  // revoked. REQUIRES mu held.
  const Ticket* Live(const std::string& kid) {
    auto it = tickets.find(kid);
    if (it == tickets.end()) return nullptr;
    if (Now() > it->second.expires || revoked.count(it->second.requester)) {
      tickets.erase(it);
      return nullptr;
    }
    return &it->second;
  }
  void PurgeExpired() {  // REQUIRES mu held
    const int64_t now = Now();
    std::erase_if(tickets, [&](const auto& kv) { return now > kv.second.expires; });
  }

  coap::Response Refuse(coap::Code code, const std::string& why) {
    std::lock_guard<std::mutex> l(mu);
    ++refused;
    return coap::Response{code, coap::content_format::kTextPlain, coap::Text(why)};
  }

  // Who may read the sensor or drive the actuator: a peer on a ticket-keyed DTLS session
  // (SecProf_2..4). SecProf_1 has no application security: the resources answer plain CoAP, as the
  // draft's home profile does (the link frames carry its only protection).
  std::optional<std::string> Peer(const coap::Request& r) {
    if (agent.policy().app == domain::AppSecurity::kNone) return std::string("link");
    if (r.peer.kind != coap::PeerIdentity::Kind::kPsk) return std::nullopt;
    std::lock_guard<std::mutex> l(mu);
    const Ticket* t = Live(r.peer.psk_identity);
    if (!t) return std::nullopt;
    return t->requester;
  }

  coap::Response OnSensor(const coap::Request& r) {
    auto who = Peer(r);
    if (!who) return Refuse(coap::kUnauthorized, "sensor needs a ticket-keyed DTLS session");
    domain::Reading reading{agent.state().serial, temperature, 0};
    return coap::Response{coap::kContent, coap::content_format::kCbor, domain::Encode(reading)};
  }

  coap::Response OnActuator(const coap::Request& r) {
    auto who = Peer(r);
    if (!who) return Refuse(coap::kUnauthorized, "actuator needs a ticket-keyed DTLS session");
    auto cmd = domain::DecodeActuatorCommand(r.payload);
    if (!cmd) return Refuse(coap::kBadRequest, cmd.error().message());
    std::lock_guard<std::mutex> l(mu);
    led = cmd->on;
    return coap::Response{coap::kChanged, coap::content_format::kTextPlain,
                          coap::Text(led ? "on" : "off")};
  }

  coap::Response OnTicket(const coap::Request& r) {
    auto key = PairwiseKeyOf(agent);
    if (!key) return Refuse(coap::kForbidden, "this thing holds no key from a KDC");
    auto t = domain::OpenTicket(ByteView(key->data(), key->size()), agent.state().serial, r.payload,
                                clock);
    if (!t) {
      // The mapping of coap/errors.h for what a bad ticket is (malformed 4.00, not verifying or
      // expired 4.01); any other failure of opening it is answered 4.01 as well.
      const ErrorCode c = t.error().code();
      const bool mapped = c == ErrorCode::kInvalidInput || c == ErrorCode::kVerifyFailed;
      return Refuse(mapped ? coap::CodeFor(t.error()) : coap::kUnauthorized, t.error().message());
    }
    {
      std::lock_guard<std::mutex> l(mu);
      if (!revoked.count(t->requester)) {
        PurgeExpired();
        if (tickets.size() >= std::max<size_t>(opt.max_tickets, 1)) {
          auto soonest = std::min_element(tickets.begin(), tickets.end(), [](auto& a, auto& b) {
            return a.second.expires < b.second.expires;
          });
          tickets.erase(soonest);
        }
        tickets[cbor::ToHex(t->kid)] = Ticket{t->requester, std::move(t->key), t->expires};
        peers.push_back(t->requester);
        if (peers.size() > 1024) peers.erase(peers.begin());
        return coap::Response{coap::kChanged, coap::content_format::kTextPlain, coap::Text("ok")};
      }
    }
    return Refuse(coap::kForbidden, "ticket of " + t->requester + ", which the KDC revoked");
  }

  // Polls the KDC's revocation list when due (the server's own thread: the agent is ours).
  void MaybePoll() {
    if (opt.revocation_poll.count() <= 0 || !agent.policy().kdc) return;
    const auto st = agent.state().state;
    if (st != State::kCommissioned && st != State::kOperational && st != State::kMaintenance)
      return;
    auto now = std::chrono::steady_clock::now();
    if (now < next_poll) return;
    next_poll = now + opt.revocation_poll;
    auto list = FetchRevocationList(agent);
    if (list) ApplyRevocations(*list);
  }
  size_t ApplyRevocations(const domain::RevocationList& list) {
    std::lock_guard<std::mutex> l(mu);
    revoked = std::set<std::string>(list.serials.begin(), list.serials.end());
    return std::erase_if(tickets,
                         [&](const auto& kv) { return revoked.count(kv.second.requester) > 0; });
  }

  coap::Response OnPair(const coap::Request& r) {
    auto window = opt.pairing_window.value_or(agent.policy().pairing_window);
    if (std::chrono::steady_clock::now() - started > window)
      return Refuse(coap::kForbidden, "pairing window closed");
    auto imprint = domain::DecodePairImprint(r.payload);
    if (!imprint) return Refuse(coap::kBadRequest, imprint.error().message());
    auto ok = agent.AcceptImprint(*imprint);
    if (!ok) return Refuse(coap::kForbidden, ok.error().message());
    return coap::Response{coap::kChanged, coap::content_format::kTextPlain,
                          coap::Text("imprinted")};
  }

  coap::Response OnLink(const coap::Request& r) {
    auto f = agent.OpenLinkFrame(r.payload);
    if (!f) return Refuse(coap::kUnauthorized, f.error().message());
    return coap::Response{coap::kChanged, coap::content_format::kTextPlain, coap::Text("ok")};
  }

  // The DTLS-PSK handshake's key lookup: only a live ticket (not expired, requester not revoked).
  std::optional<crypto::SecureBuffer> KeyFor(std::string_view identity) {
    std::lock_guard<std::mutex> l(mu);
    const Ticket* t = Live(std::string(identity));
    if (!t) return std::nullopt;
    return t->key.Clone();
  }
};

ThingServer::ThingServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ThingServer::~ThingServer() = default;

Result<std::unique_ptr<ThingServer>> ThingServer::Start(Agent& agent, ThingServerOptions options) {
  auto impl = std::make_unique<Impl>(agent, std::move(options));
  coap::ServerConfig cfg;
  cfg.address = impl->opt.address;
  cfg.udp_port = impl->opt.udp_port;
  bool secure = agent.policy().app != domain::AppSecurity::kNone;
  if (secure) {
    cfg.dtls_port = impl->opt.dtls_port;
    coap::PskServerConfig psk;
    Impl* p = impl.get();
    psk.key_for_identity = [p](std::string_view id) { return p->KeyFor(id); };
    cfg.psk = std::move(psk);
  }
  SECPROF_ASSIGN_OR_RETURN(impl->server, coap::Server::Create(std::move(cfg)));
  Impl* p = impl.get();
  impl->server->AddResource(domain::path::kSensor, coap::Method::kGet,
                            [p](const coap::Request& r) { return p->OnSensor(r); });
  impl->server->AddResource(domain::path::kActuator, coap::Method::kPut,
                            [p](const coap::Request& r) { return p->OnActuator(r); });
  if (secure) {
    // docs/DOMAIN.md "Request freshness"; draft-ietf-core-attacks-on-coap §2.3, RFC 9175 §2.3: an
    // actuator command is executed only with a fresh Echo, so one held on the path past the
    // window (coap::Limits::echo_freshness) is refused 4.01. Stale and unknown values count in
    // refused(). SecProf_1 has no application security to protect an Echo value with (RFC 9175
    // §2.3 needs it integrity-protected with the request): there an on-path attacker could swap
    // it, so none is asked for (docs/LAB.md "lab.request_delay").
    impl->server->RequireEcho(domain::path::kActuator, coap::Method::kPut,
                              [p](const coap::Request&, Reason why) {
                                if (why == coap::kEchoMissing) return;
                                std::lock_guard<std::mutex> l(p->mu);
                                ++p->refused;
                              });
    impl->server->AddResource(domain::path::kTicket, coap::Method::kPost,
                              [p](const coap::Request& r) { return p->OnTicket(r); });
  } else {
    impl->server->AddResource(domain::path::kPair, coap::Method::kPost,
                              [p](const coap::Request& r) { return p->OnPair(r); });
    impl->server->AddResource(domain::path::kLink, coap::Method::kPost,
                              [p](const coap::Request& r) { return p->OnLink(r); });
  }
  impl->started = std::chrono::steady_clock::now();
  return std::unique_ptr<ThingServer>(new ThingServer(std::move(impl)));
}

uint16_t ThingServer::udp_port() const { return impl_->server->udp_port(); }
uint16_t ThingServer::dtls_port() const { return impl_->server->dtls_port(); }
Status ThingServer::RunOnce(std::chrono::milliseconds t) { return impl_->server->RunOnce(t); }
Status ThingServer::Serve(std::stop_token stop) {
  if ((impl_->opt.revocation_poll.count() <= 0 || !impl_->agent.policy().kdc) &&
      !impl_->updates.enabled())
    return impl_->server->Serve(stop);
  // Serving and polling on one thread: the agent's KDC session is used from here only.
  while (!stop.stop_requested()) {
    SECPROF_TRY(impl_->server->RunOnce(std::chrono::milliseconds(100)));
    impl_->MaybePoll();
    impl_->updates.MaybeCheck();
  }
  return Ok();
}
UpdatePollStats ThingServer::update_polls() const { return impl_->updates.stats(); }
size_t ThingServer::ApplyRevocations(const domain::RevocationList& list) {
  return impl_->ApplyRevocations(list);
}
std::vector<std::string> ThingServer::ticket_holders() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->PurgeExpired();
  std::vector<std::string> out;
  for (const auto& [kid, t] : impl_->tickets) out.push_back(t.requester);
  std::sort(out.begin(), out.end());
  return out;
}
std::vector<std::string> ThingServer::ticket_peers() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->peers;
}
uint64_t ThingServer::refused() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->refused;
}
bool ThingServer::led() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->led;
}

Result<std::unique_ptr<coap::Client>> ConnectToPeer(const std::string& host, uint16_t udp_port,
                                                    uint16_t dtls_port,
                                                    const domain::PairKeyResponse& pk,
                                                    std::chrono::milliseconds timeout) {
  {
    coap::ClientConfig cc;
    cc.timeout = timeout;
    SECPROF_ASSIGN_OR_RETURN(auto c, coap::Client::Connect(host, udp_port, std::move(cc)));
    SECPROF_ASSIGN_OR_RETURN(
        coap::Response r, c->Post(domain::path::kTicket, pk.ticket, coap::content_format::kCbor));
    if (r.code != coap::kChanged)
      return Fail(
          ErrorCode::kVerifyFailed, kTicketRefused,
          "peer refused the ticket: " + coap::CodeString(r.code) + " " + coap::AsText(r.payload));
  }
  coap::ClientConfig cc;
  cc.timeout = timeout;
  cc.security = coap::Security::kPsk;
  cc.psk_identity = cbor::ToHex(pk.kid);
  cc.psk_key = pk.key.Clone();
  return coap::Client::Connect(host, dtls_port, std::move(cc));
}

}  // namespace secprof::thing

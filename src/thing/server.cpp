#include <mutex>

#include "internal.h"
#include "secprof/cbor/cbor.h"
#include "secprof/thing/agent.h"

namespace secprof::thing {

using crypto::ByteView;

struct ThingServer::Impl {
  Agent& agent;
  ThingServerOptions opt;
  std::unique_ptr<coap::Server> server;
  std::chrono::steady_clock::time_point started;
  mutable std::mutex mu;
  // Accepted tickets: hex kid -> (requester, K_AB).
  std::map<std::string, std::pair<std::string, crypto::SecureBuffer>> tickets;
  std::vector<std::string> peers;
  uint64_t refused = 0;
  bool led = false;
  int64_t temperature = 2150;

  Impl(Agent& a, ThingServerOptions o) : agent(a), opt(std::move(o)) {}

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
    auto it = tickets.find(r.peer.psk_identity);
    if (it == tickets.end()) return std::nullopt;
    return it->second.first;
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
    auto key = agent.PairwiseKey();
    if (!key) return Refuse(coap::kForbidden, "this thing holds no key from a KDC");
    auto t = domain::OpenTicket(ByteView(key->data(), key->size()), agent.state().serial, r.payload,
                                SystemClock());
    if (!t)
      return Refuse(
          t.error().code() == ErrorCode::kInvalidInput ? coap::kBadRequest : coap::kUnauthorized,
          t.error().message());
    std::lock_guard<std::mutex> l(mu);
    tickets[cbor::ToHex(t->kid)] = {t->requester, std::move(t->key)};
    peers.push_back(t->requester);
    return coap::Response{coap::kChanged, coap::content_format::kTextPlain, coap::Text("ok")};
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

  std::optional<crypto::SecureBuffer> KeyFor(std::string_view identity) {
    std::lock_guard<std::mutex> l(mu);
    auto it = tickets.find(std::string(identity));
    if (it == tickets.end()) return std::nullopt;
    return it->second.second.Clone();
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
Status ThingServer::Serve(std::stop_token stop) { return impl_->server->Serve(stop); }
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
      return Fail(ErrorCode::kVerifyFailed, "peer refused the ticket: " + coap::CodeString(r.code) +
                                                " " + coap::AsText(r.payload));
  }
  coap::ClientConfig cc;
  cc.timeout = timeout;
  cc.security = coap::Security::kPsk;
  cc.psk_identity = cbor::ToHex(pk.kid);
  cc.psk_key = pk.key.Clone();
  return coap::Client::Connect(host, dtls_port, std::move(cc));
}

}  // namespace secprof::thing

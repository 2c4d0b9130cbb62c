// The lab's wire machinery (src/lab/wire/): the on-path relay's policies on raw UDP sockets, the
// CoAP message codec, and the passive observer over real libcoap traffic (plain CoAP and
// DTLS-PSK through the relay). Loopback only; every socket and thread is closed by its owner.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "../../src/lab/wire/coap_message.h"
#include "../../src/lab/wire/observer.h"
#include "../../src/lab/wire/relay.h"
#include "secprof/coap/coap.h"
#include "secprof/domain/protocol.h"

namespace secprof::lab::wire {
namespace {

using namespace std::chrono_literals;

// A UDP socket on 127.0.0.1 (ephemeral port) with blocking receive bounded by poll.
struct Udp {
  posix::UniqueFd fd;
  uint16_t port = 0;
  Udp() : fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  void SendTo(uint16_t to, const std::string& s) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(to);
    ASSERT_EQ(::sendto(fd.get(), s.data(), s.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a),
              static_cast<ssize_t>(s.size()));
  }
  // The next datagram (and who sent it), or "" after `timeout` (a failure bound, not a measure).
  std::string Recv(uint16_t* from = nullptr, std::chrono::milliseconds timeout = 5000ms) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return "";
    char buf[2048];
    sockaddr_in a{};
    socklen_t len = sizeof a;
    ssize_t n = ::recvfrom(fd.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&a), &len);
    if (from) *from = ntohs(a.sin_port);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }
};

std::string Str(const Bytes& b) { return std::string(b.begin(), b.end()); }

TEST(LabRelay, ForwardsBothWaysPerClientAndRecordsEveryDatagram) {
  Udp server, a, b;
  auto relay = Relay::Start({server.port});
  ASSERT_TRUE(relay) << relay.error().message();
  a.SendTo((*relay)->port(0), "from-a");
  uint16_t a_up = 0, b_up = 0;
  EXPECT_EQ(server.Recv(&a_up), "from-a");
  b.SendTo((*relay)->port(0), "from-b");
  EXPECT_EQ(server.Recv(&b_up), "from-b");
  EXPECT_NE(a_up, b_up);  // one upstream socket per client
  server.SendTo(b_up, "to-b");
  EXPECT_EQ(b.Recv(), "to-b");
  server.SendTo(a_up, "to-a");
  EXPECT_EQ(a.Recv(), "to-a");
  ASSERT_TRUE((*relay)->WaitFor([](const auto& c) { return c.size() == 4; }, 5s));
  auto cap = (*relay)->Capture();
  EXPECT_EQ(Str(cap[0].bytes), "from-a");
  EXPECT_EQ(cap[0].dir, Direction::kToServer);
  EXPECT_EQ(cap[0].session, 0u);
  EXPECT_EQ(cap[1].session, 1u);
  EXPECT_EQ(cap[2].dir, Direction::kToClient);
  EXPECT_EQ(cap[2].session, 1u);
  EXPECT_EQ(cap[3].session, 0u);
  for (const auto& d : cap) EXPECT_EQ(d.fate, Fate::kForwarded);
  EXPECT_LE(cap[0].at, cap[3].at);
}

TEST(LabRelay, DropsDelaysHoldsAndRewritesAsThePolicySays) {
  Udp server, client;
  auto relay = Relay::Start({server.port});
  ASSERT_TRUE(relay);
  (*relay)->SetPolicy([](const Datagram& d, Bytes& out) {
    const std::string s(d.bytes.begin(), d.bytes.end());
    if (s == "drop") return Decision{Decision::Action::kDrop};
    if (s == "delay") return Decision{Decision::Action::kDelay, 30ms};
    if (s == "hold1" || s == "hold2") return Decision{Decision::Action::kHold};
    if (s == "flip") out[0] ^= 0x20;
    return Decision{};
  });
  const uint16_t to = (*relay)->port(0);
  client.SendTo(to, "drop");
  client.SendTo(to, "delay");
  client.SendTo(to, "hold1");
  client.SendTo(to, "hold2");
  client.SendTo(to, "flip");
  // Dropped never arrives; held ones wait; the delayed one comes after the forwarded one.
  EXPECT_EQ(server.Recv(), "Flip");
  EXPECT_EQ(server.Recv(), "delay");
  ASSERT_TRUE((*relay)->WaitFor([](const auto& c) { return c.size() == 5; }, 5s));
  auto held = (*relay)->held();
  ASSERT_EQ(held.size(), 2u);
  // Reorder: release the second held datagram before the first.
  ASSERT_TRUE((*relay)->Release(held[1]));
  ASSERT_TRUE((*relay)->Release(held[0]));
  EXPECT_EQ(server.Recv(), "hold2");
  EXPECT_EQ(server.Recv(), "hold1");
  EXPECT_FALSE((*relay)->Release(held[0]));  // no longer held
  auto cap = (*relay)->Capture();
  EXPECT_EQ(cap[0].fate, Fate::kDropped);
  EXPECT_EQ(cap[1].fate, Fate::kDelayed);
  EXPECT_EQ(cap[2].fate, Fate::kHeld);
  EXPECT_EQ(Str(cap[4].bytes), "flip");  // the capture keeps what was received
  EXPECT_TRUE(cap[4].rewritten);
  EXPECT_EQ(cap[5].fate, Fate::kReleased);
  // Nothing else arrived (the dropped datagram).
  EXPECT_EQ(server.Recv(nullptr, 50ms), "");
}

TEST(LabRelay, ReplaysARecordedDatagramAsIsOrEdited) {
  Udp server, client;
  auto relay = Relay::Start({server.port});
  ASSERT_TRUE(relay);
  client.SendTo((*relay)->port(0), "order-1");
  uint16_t up = 0;
  EXPECT_EQ(server.Recv(&up), "order-1");
  server.SendTo(up, "done-1");
  EXPECT_EQ(client.Recv(), "done-1");
  ASSERT_TRUE((*relay)->Inject(0));
  EXPECT_EQ(server.Recv(), "order-1");
  Bytes edited{'o', 'r', 'd', 'e', 'r', '-', '9'};
  ASSERT_TRUE((*relay)->Inject(0, &edited));
  EXPECT_EQ(server.Recv(), "order-9");
  ASSERT_TRUE((*relay)->Inject(1));  // the answer, replayed towards the client
  EXPECT_EQ(client.Recv(), "done-1");
  EXPECT_FALSE((*relay)->Inject(99));
  // A datagram the attacker made, sent to the client on its session.
  ASSERT_TRUE((*relay)->Send(0, Direction::kToClient, Bytes{'f', 'a', 'k', 'e'}));
  EXPECT_EQ(client.Recv(), "fake");
  EXPECT_FALSE((*relay)->Send(7, Direction::kToClient, Bytes{'x'}));
  auto cap = (*relay)->Capture();
  ASSERT_EQ(cap.size(), 6u);
  EXPECT_EQ(cap[5].fate, Fate::kInjected);
  EXPECT_EQ(cap[2].fate, Fate::kInjected);
  EXPECT_TRUE(cap[3].rewritten);
  EXPECT_EQ(cap[4].dir, Direction::kToClient);
}

TEST(LabRelay, RefusesBadUpstreamsAndStopsWithTheObject) {
  EXPECT_FALSE(Relay::Start({}));
  EXPECT_FALSE(Relay::Start({0}));
  Udp server;
  for (int i = 0; i < 3; ++i) {  // start and stop: the destructor joins the thread
    auto r = Relay::Start({server.port, server.port});
    ASSERT_TRUE(r);
    EXPECT_NE((*r)->port(0), (*r)->port(1));
  }
}

TEST(LabCoapMessage, ParsesAndSerializesRfc7252Messages) {
  CoapMessage m;
  m.type = 0;
  m.code = 2;  // POST
  m.mid = 0x1234;
  m.token = {1, 2, 3};
  m.options = {{option::kUriPath, {'o', 'p'}},
               {option::kUriPath, {'r', 'e', 'p', 'o', 'r', 't'}},
               {option::kContentFormat, {60}},
               {300, Bytes(20, 'x')}};
  m.payload = {0xa1, 0x01, 0x02};
  Bytes wire = SerializeCoap(m);
  auto back = ParseCoap(wire);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->path(), "op/report");
  EXPECT_EQ(back->uint_option(option::kContentFormat), 60u);
  EXPECT_EQ(back->mid, 0x1234);
  EXPECT_EQ(back->token, m.token);
  EXPECT_EQ(back->payload, m.payload);
  EXPECT_EQ(back->options.size(), 4u);
  EXPECT_EQ(back->code_string(), "0.02");
  EXPECT_EQ(SerializeCoap(*back), wire);
  // Malformed: version 2, token length 9, payload marker without payload, truncated option.
  Bytes v2 = wire;
  v2[0] = static_cast<uint8_t>((v2[0] & 0x3f) | 0x80);
  EXPECT_FALSE(ParseCoap(v2));
  Bytes tkl = wire;
  tkl[0] = static_cast<uint8_t>((tkl[0] & 0xf0) | 9);
  EXPECT_FALSE(ParseCoap(tkl));
  EXPECT_FALSE(ParseCoap(Bytes{0x40, 0x01, 0x00, 0x01, 0xff}));
  EXPECT_FALSE(ParseCoap(Bytes{0x40, 0x01, 0x00, 0x01, 0xb5, 'a'}));
  EXPECT_FALSE(ParseCoap(Bytes{0x40, 0x01}));
}

// A coap::Server with a sensor-like resource, served on its own thread.
struct Served {
  std::unique_ptr<coap::Server> server;
  std::jthread io;
  explicit Served(coap::ServerConfig cfg) {
    auto s = coap::Server::Create(std::move(cfg));
    EXPECT_TRUE(s) << s.error().message();
    server = std::move(*s);
    server->AddResource(domain::path::kReport, coap::Method::kPost, [](const coap::Request& r) {
      return coap::Response{coap::kChanged, coap::content_format::kTextPlain,
                            r.payload.empty() ? coap::Text("empty") : coap::Text("ok")};
    });
    io = std::jthread([this](std::stop_token st) { (void)server->Serve(st); });
  }
};

TEST(LabObserver, ReadsPlainCoapReadingsThroughTheRelay) {
  Served s(coap::ServerConfig{});
  auto relay = Relay::Start({s.server->udp_port()});
  ASSERT_TRUE(relay);
  auto c = coap::Client::Connect("127.0.0.1", (*relay)->port(0), {});
  ASSERT_TRUE(c);
  auto r = (*c)->Post(domain::path::kReport, domain::Encode(domain::Reading{"SN-7", 2150, 3}),
                      coap::content_format::kCbor);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->code, coap::kChanged);
  auto o = Observe((*relay)->Capture());
  EXPECT_EQ(o.coap_messages, 2u);
  EXPECT_EQ(o.dtls_records, 0u);
  ASSERT_EQ(o.plaintext.size(), 1u);
  EXPECT_NE(o.plaintext[0].find("SN-7 2150"), std::string::npos) << o.plaintext[0];
  EXPECT_TRUE(o.identifiers.count("coap-serial:SN-7"));
  ASSERT_EQ(o.coap.size(), 2u);
  EXPECT_EQ(o.coap[1].path, "op/report");  // the response matched to its request by token
  EXPECT_EQ(o.coap[1].code, "2.04");
  EXPECT_NE(Summarize((*relay)->Capture()).find("coap 0.02 op/report forwarded"),
            std::string::npos);
}

TEST(LabObserver, SeesOnlyThePskIdentityAndRecordHeadersOfDtls) {
  coap::ServerConfig cfg;
  cfg.udp_port = std::nullopt;
  cfg.dtls_port = 0;
  coap::PskServerConfig psk;
  psk.key_for_identity = [](std::string_view id) -> std::optional<crypto::SecureBuffer> {
    if (id != "SN-42") return std::nullopt;
    return crypto::SecureBuffer(Bytes(32, 0x5a));
  };
  cfg.psk = std::move(psk);
  Served s(std::move(cfg));
  auto relay = Relay::Start({s.server->dtls_port()});
  ASSERT_TRUE(relay);
  coap::ClientConfig cc;
  cc.security = coap::Security::kPsk;
  cc.psk_identity = "SN-42";
  cc.psk_key = crypto::SecureBuffer(Bytes(32, 0x5a));
  auto c = coap::Client::Connect("127.0.0.1", (*relay)->port(0), std::move(cc));
  ASSERT_TRUE(c) << c.error().message();
  auto r = (*c)->Post(domain::path::kReport, domain::Encode(domain::Reading{"SN-42", 1999, 1}),
                      coap::content_format::kCbor);
  ASSERT_TRUE(r) << r.error().message();
  auto o = Observe((*relay)->Capture());
  EXPECT_EQ(o.coap_messages, 0u);
  EXPECT_GE(o.dtls_handshakes, 1u);
  EXPECT_GE(o.dtls_encrypted, 2u);  // at least the request and its answer
  EXPECT_TRUE(o.identifiers.count("psk-identity:SN-42"));
  EXPECT_TRUE(o.plaintext.empty());
  EXPECT_TRUE(o.keys.empty());
  ASSERT_FALSE(o.cipher_suites.empty());
  EXPECT_NE(o.cipher_suites.begin()->find("PSK"), std::string::npos) << *o.cipher_suites.begin();
}

}  // namespace
}  // namespace secprof::lab::wire

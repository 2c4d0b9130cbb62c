// Tests for the server's session bookkeeping (suite CoapSessions): ServerStats and
// session_count() across UDP and DTLS peers, and 32 concurrent DTLS-PSK clients, each with its own
// identity, whose every request reaches its handler with that identity.
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "coap/coap_test_util.h"
#include "secprof/coap/coap.h"
#include "testutil.h"

namespace secprof::coap {
namespace {

using crypto::SecureBuffer;

std::string IdentityOf(int i) { return "thing-" + std::to_string(100 + i); }
std::string KeyOf(int i) { return "key-of-thing-" + std::to_string(100 + i); }

ServerConfig PerThingPskServer() {
  ServerConfig cfg;
  cfg.udp_port.reset();
  cfg.dtls_port = 0;
  cfg.psk = PskServerConfig{
      .hint = "kdc", .key_for_identity = [](std::string_view id) -> std::optional<SecureBuffer> {
        for (int i = 0; i < 64; ++i)
          if (id == IdentityOf(i)) return Key(KeyOf(i));
        return std::nullopt;
      }};
  return cfg;
}

ClientConfig PskClient(int i) {
  ClientConfig c;
  c.security = Security::kPsk;
  c.psk_identity = IdentityOf(i);
  c.psk_key = Key(KeyOf(i));
  c.timeout = std::chrono::seconds(30);
  return c;
}

// Polls `pred` (which reads server counters) for at most 20 s. Not a timing assertion: the bound
// only keeps a broken build from hanging.
template <class Pred>
bool Eventually(Pred pred) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

TEST(CoapSessions, ThirtyTwoConcurrentPskClientsEachSeenWithTheirOwnIdentity) {
  constexpr int kClients = 32;
  constexpr int kRequestsEach = 8;
  std::atomic<int> handler_calls{0}, mismatches{0};
  RunningServer srv(PerThingPskServer(), [&](Server& s) {
    // Each request says who its client is in the query; the handler compares that with the
    // identity the DTLS handshake proved and answers with the latter.
    s.AddResource("whoami", Method::kGet, [&](const Request& r) {
      ++handler_calls;
      if (r.peer.kind != PeerIdentity::Kind::kPsk || "claims=" + r.peer.psk_identity != r.query)
        ++mismatches;
      return Response{.code = kContent, .payload = Text(r.peer.psk_identity)};
    });
  });
  EXPECT_EQ(srv->session_count(), 0u);

  // The clients connect and stay connected until all have checked their answers, so that the
  // server holds all 32 sessions at once.
  std::atomic<int> connected{0}, failures{0};
  std::atomic<bool> release{false};
  std::mutex errors_mu;
  std::vector<std::string> errors;
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < kClients; ++i) {
      threads.emplace_back([&, i] {
        auto fail = [&](const std::string& why) {
          ++failures;
          std::lock_guard lock(errors_mu);
          errors.push_back(IdentityOf(i) + ": " + why);
        };
        auto c = Client::Connect("127.0.0.1", srv->dtls_port(), PskClient(i));
        ++connected;
        if (!c) return fail(c.error().ToString());
        for (int k = 0; k < kRequestsEach; ++k) {
          auto r = (*c)->Get("whoami", "claims=" + IdentityOf(i));
          if (!r) return fail(r.error().ToString());
          if (AsText(r->payload) != IdentityOf(i)) return fail("answered " + AsText(r->payload));
        }
        while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      });
    }
    ASSERT_TRUE(Eventually([&] { return connected.load() == kClients; }));
    ASSERT_TRUE(Eventually([&] {
      return handler_calls.load() + failures.load() * kRequestsEach >= kClients * kRequestsEach;
    }));
    ServerStats st = srv->stats();
    EXPECT_EQ(st.sessions, static_cast<size_t>(kClients));
    EXPECT_EQ(srv->session_count(), static_cast<size_t>(kClients));
    EXPECT_EQ(st.dtls_established, static_cast<size_t>(kClients));
    EXPECT_EQ(st.handshakes_completed, static_cast<uint64_t>(kClients));
    EXPECT_EQ(st.requests, static_cast<uint64_t>(kClients * kRequestsEach));
    release = true;
  }  // threads joined; each client closed its session (DTLS close_notify)
  for (const auto& e : errors) ADD_FAILURE() << e;
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(handler_calls.load(), kClients * kRequestsEach);
  // The server lets go of the closed sessions.
  EXPECT_TRUE(Eventually([&] { return srv->stats().dtls_established == 0; }))
      << srv->stats().dtls_established;
  EXPECT_TRUE(Eventually([&] { return srv->session_count() == 0; })) << srv->session_count();
  EXPECT_EQ(srv->stats().sessions_created, static_cast<uint64_t>(kClients));
}

TEST(CoapSessions, UdpPeersAreSessionsToo) {
  RunningServer srv(ServerConfig{}, [](Server& s) {
    s.AddResource("ping", Method::kGet, [](const Request&) { return Response{.code = kContent}; });
  });
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 3; ++i) {
    auto c = Client::Connect("127.0.0.1", srv->udp_port(), ClientConfig{});
    ASSERT_TRUE(c) << c.error().ToString();
    ASSERT_TRUE((*c)->Get("ping"));
    clients.push_back(std::move(*c));
  }
  ServerStats st = srv->stats();
  EXPECT_EQ(st.sessions, 3u);
  EXPECT_EQ(st.sessions_created, 3u);
  EXPECT_EQ(st.dtls_established, 0u);
  EXPECT_EQ(st.handshakes_completed, 0u);
  EXPECT_EQ(st.requests, 3u);
}

}  // namespace
}  // namespace secprof::coap

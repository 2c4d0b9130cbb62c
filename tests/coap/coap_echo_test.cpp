// Tests for request freshness with the Echo option (secprof/coap/echo.h; RFC 9175 §2): the server
// answers a request to a RequireEcho resource without a fresh Echo value 4.01 with a new one and
// does not run the handler; the coap::Client repeats the request once with it (its own repeat,
// client_exchange.cpp; coap_echo_client_test.cpp checks it byte for byte against a raw server).
// The raw tests play the
// attacker with hand-encoded CoAP (RFC 7252 §3): a request without Echo, with a stale one
// (a request held past the freshness window), with a forged one. Time is a fake clock: nothing
// here depends on how fast the machine is.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <optional>
#include <vector>

#include "coap/coap_test_util.h"
#include "secprof/coap/echo.h"
#include "testutil.h"

namespace secprof::coap {
namespace {

// A monotonic clock moved by the test and read by the server's I/O thread (FakeClock is not
// thread-safe).
class SharedFakeClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override { return {}; }
  std::chrono::steady_clock::time_point Monotonic() const override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(ms_.load()));
  }
  void Advance(std::chrono::milliseconds d) { ms_ += d.count(); }

 private:
  std::atomic<int64_t> ms_{1'000'000};
};

constexpr auto kWindow = std::chrono::milliseconds(500);

struct Actuator {
  SharedFakeClock clock;
  std::atomic<int> executed{0};
  std::unique_ptr<RunningServer> srv;

  explicit Actuator(std::function<void(const Request&, Reason)> on_refused = {},
                    bool dtls = false) {
    ServerConfig cfg;
    cfg.clock = &clock;
    cfg.limits.echo_freshness = kWindow;
    if (dtls) {
      cfg.dtls_port = 0;
      cfg.psk = PskServerConfig{.key_for_identity = [](std::string_view) {
        return std::optional<crypto::SecureBuffer>(Key("0123456789abcdef"));
      }};
    }
    srv = std::make_unique<RunningServer>(std::move(cfg), [this, on_refused](Server& s) {
      s.AddResource("act", Method::kPut, [this](const Request& r) {
        ++executed;
        return Response{.code = kChanged, .payload = r.payload};
      });
      s.RequireEcho("act", Method::kPut, on_refused);
      s.AddResource("act", Method::kGet, [](const Request&) {
        return Response{.code = kContent, .payload = Text("x")};
      });
    });
  }
  Server& server() { return **srv; }
};

// ---- a raw plain-CoAP client (RFC 7252 §3) ----------------------------------------------------

struct RawResponse {
  Code code = 0;
  std::optional<Bytes> echo;
};

// PUT /act with `echo` (when given) and payload "on"; the answer, or nullopt after 5 s.
std::optional<RawResponse> RawPut(uint16_t port, const std::optional<Bytes>& echo, uint16_t mid) {
  Bytes m = {0x41, 0x03, static_cast<uint8_t>(mid >> 8), static_cast<uint8_t>(mid), 0x7e};
  m.insert(m.end(), {0xb3, 'a', 'c', 't'});  // Uri-Path (11) "act"
  if (echo) {
    // Echo (252): delta 241 = 13 + 228, length 13 + (len - 13) for the 24-byte values.
    EXPECT_GE(echo->size(), 13u);
    m.insert(m.end(), {0xdd, 228, static_cast<uint8_t>(echo->size() - 13)});
    m.insert(m.end(), echo->begin(), echo->end());
  }
  m.insert(m.end(), {0xff, 'o', 'n'});
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  std::optional<RawResponse> out;
  if (::sendto(fd, m.data(), m.size(), 0, reinterpret_cast<sockaddr*>(&dst), sizeof dst) > 0) {
    pollfd p{fd, POLLIN, 0};
    uint8_t buf[1500];
    ssize_t n = ::poll(&p, 1, 5000) > 0 ? ::recv(fd, buf, sizeof buf, 0) : -1;
    if (n >= 4) {
      RawResponse r;
      r.code = buf[1];
      size_t i = 4 + (buf[0] & 0x0f);
      unsigned number = 0;
      while (i < static_cast<size_t>(n) && buf[i] != 0xff) {
        unsigned delta = buf[i] >> 4, len = buf[i] & 0x0f;
        ++i;
        if (delta == 13) delta = 13 + buf[i++];
        if (len == 13) len = 13 + buf[i++];
        number += delta;
        if (number == kEchoOption) r.echo = Bytes(buf + i, buf + i + len);
        i += len;
      }
      out = r;
    }
  }
  ::close(fd);
  return out;
}

// ---- the attacks -----------------------------------------------------------------------------

TEST(CoapEcho, RequestWithoutEchoIsChallengedAndNotExecuted) {
  Actuator a;
  auto r = RawPut(a.server().udp_port(), std::nullopt, 1);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, kUnauthorized);
  ASSERT_TRUE(r->echo);
  EXPECT_EQ(r->echo->size(), kEchoValueSize);
  EXPECT_EQ(a.executed.load(), 0);
  EXPECT_EQ(a.server().stats().echo_missing, 1u);
}

TEST(CoapEcho, FreshEchoIsAcceptedOnce) {
  Actuator a;
  auto challenge = RawPut(a.server().udp_port(), std::nullopt, 1);
  ASSERT_TRUE(challenge && challenge->echo);
  a.clock.Advance(kWindow);  // at the edge of the window: still fresh
  auto r = RawPut(a.server().udp_port(), challenge->echo, 2);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, kChanged);
  EXPECT_EQ(a.executed.load(), 1);
}

TEST(CoapEcho, RequestHeldPastTheWindowIsRefusedWithANewEcho) {
  std::vector<std::string> reasons;
  std::mutex mu;
  Actuator a([&](const Request& rq, Reason why) {
    std::lock_guard<std::mutex> l(mu);
    reasons.push_back(rq.path + ":" + std::string(why.name()));
  });
  auto challenge = RawPut(a.server().udp_port(), std::nullopt, 1);
  ASSERT_TRUE(challenge && challenge->echo);
  a.clock.Advance(kWindow + std::chrono::milliseconds(1));  // the attacker held it this long
  auto r = RawPut(a.server().udp_port(), challenge->echo, 2);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, kUnauthorized);
  ASSERT_TRUE(r->echo);
  EXPECT_NE(*r->echo, *challenge->echo);
  EXPECT_EQ(a.executed.load(), 0);
  EXPECT_EQ(a.server().stats().echo_stale, 1u);
  {
    std::lock_guard<std::mutex> l(mu);
    EXPECT_EQ(reasons, (std::vector<std::string>{"act:echo-missing", "act:echo-stale"}));
  }
  // The new value works (the legitimate sender's retry).
  auto retry = RawPut(a.server().udp_port(), r->echo, 3);
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->code, kChanged);
  EXPECT_EQ(a.executed.load(), 1);
}

TEST(CoapEcho, ForgedOrForeignEchoIsRefused) {
  Actuator a, other;
  auto challenge = RawPut(a.server().udp_port(), std::nullopt, 1);
  ASSERT_TRUE(challenge && challenge->echo);
  ASSERT_EQ(challenge->echo->size(), kEchoValueSize);
  Bytes forged = *challenge->echo;
  forged.at(kEchoValueSize - 1) ^= 1;  // the MAC does not verify
  Bytes later = *challenge->echo;
  later.at(7) ^= 1;  // a different time stamp under the old MAC
  auto foreign = RawPut(other.server().udp_port(), std::nullopt, 1);  // another server's key
  ASSERT_TRUE(foreign && foreign->echo);
  Bytes short_value(challenge->echo->begin(), challenge->echo->begin() + 16);
  uint16_t mid = 10;
  for (const Bytes& v : {forged, later, *foreign->echo, short_value}) {
    auto r = RawPut(a.server().udp_port(), v, mid++);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, kUnauthorized);
    EXPECT_TRUE(r->echo);
  }
  EXPECT_EQ(a.executed.load(), 0);
  EXPECT_EQ(a.server().stats().echo_unknown, 4u);
}

// ---- the legitimate path ---------------------------------------------------------------------

// RFC 9175 §2.4 item 3, done by the coap::Client: the 4.01 with an Echo is answered by repeating
// the request with it; the caller sees the final 2.04, once per request.
TEST(CoapEcho, ClientRepeatsTheRequestWithTheEcho) {
  Actuator a;
  ClientConfig cc;
  cc.timeout = std::chrono::seconds(5);
  auto c = Client::Connect("127.0.0.1", a.server().udp_port(), std::move(cc));
  ASSERT_TRUE(c) << c.error().ToString();
  auto r = (*c)->Put("act", Text("on"));
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->code, kChanged);
  EXPECT_EQ(AsText(r->payload), "on");
  EXPECT_EQ(a.executed.load(), 1);
  EXPECT_EQ(a.server().stats().echo_missing, 1u);
  // Each request is challenged (no value is kept between requests) and executed once.
  a.clock.Advance(kWindow * 3);
  auto again = (*c)->Put("act", Text("off"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->code, kChanged);
  EXPECT_EQ(AsText(again->payload), "off");
  EXPECT_EQ(a.executed.load(), 2);
  EXPECT_EQ(a.server().stats().echo_missing, 2u);
  EXPECT_EQ(a.server().stats().echo_stale, 0u);
  // Resources without RequireEcho answer as before.
  auto get = (*c)->Get("act");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->code, kContent);
  EXPECT_EQ(a.server().stats().echo_missing, 2u);
}

TEST(CoapEcho, ClientRepeatsOnlyOnce) {
  // While `hostile`, every refusal moves the clock past the window (a path that delays each
  // message that long): the repeat is stale too, and nothing more is sent; the repeat's 4.01 is
  // the answer. Under `make asan-test` LeakSanitizer checks that nothing of the refused repeat
  // is left behind (libcoap 4.3.1's own repeat leaked it).
  Actuator* self = nullptr;
  std::atomic<bool> hostile{true};
  Actuator a([&](const Request&, Reason) {
    if (hostile) self->clock.Advance(kWindow * 2);
  });
  self = &a;
  ClientConfig cc;
  cc.timeout = std::chrono::seconds(5);
  auto c = Client::Connect("127.0.0.1", a.server().udp_port(), std::move(cc));
  ASSERT_TRUE(c);
  auto r = (*c)->Put("act", Text("on"));
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->code, kUnauthorized);
  EXPECT_NE(AsText(r->payload).find("echo-stale"), std::string::npos) << AsText(r->payload);
  EXPECT_EQ(a.executed.load(), 0);
  EXPECT_EQ(a.server().stats().echo_missing, 1u);
  EXPECT_EQ(a.server().stats().echo_stale, 1u);
  // The same session goes on: once the path stops delaying, the next request is challenged
  // afresh and executed.
  hostile = false;
  auto ok = (*c)->Put("act", Text("off"));
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_EQ(ok->code, kChanged);
  EXPECT_EQ(a.executed.load(), 1);
  EXPECT_EQ(a.server().stats().echo_missing, 2u);
  EXPECT_EQ(a.server().stats().echo_stale, 1u);
}

TEST(CoapEcho, WorksOverDtls) {
  Actuator a({}, /*dtls=*/true);
  ClientConfig cc;
  cc.timeout = std::chrono::seconds(5);
  cc.security = Security::kPsk;
  cc.psk_identity = "thing";
  cc.psk_key = Key("0123456789abcdef");
  auto c = Client::Connect("127.0.0.1", a.server().dtls_port(), std::move(cc));
  ASSERT_TRUE(c) << c.error().ToString();
  auto r = (*c)->Put("act", Text("on"));
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->code, kChanged);
  EXPECT_EQ(a.executed.load(), 1);
  EXPECT_EQ(a.server().stats().echo_missing, 1u);
}

}  // namespace
}  // namespace secprof::coap

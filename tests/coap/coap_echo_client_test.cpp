// The coap::Client's own Echo repeat (RFC 9175 §2.4 item 3; src/coap/client_exchange.cpp)
// against a raw plain-CoAP server that answers each request with a scripted, hand-encoded
// piggy-backed response (RFC 7252 §3, §5.2.1) and records what it received. A server can put
// anything in a 4.01, so these are the client's defences as much as its features: it repeats at
// most once, only for a 4.01 with an Echo option of 1..40 bytes (RFC 9175 §2.2.1), and copies
// the value byte for byte into a request that is otherwise the same, under a new token (§4.2).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "coap/coap_test_util.h"
#include "secprof/coap/echo.h"
#include "testutil.h"

namespace secprof::coap {
namespace {

// A request as the raw server parsed it.
struct Seen {
  uint8_t type = 0;
  Code code = 0;
  Bytes token;
  std::vector<std::pair<unsigned, Bytes>> options;  // number, value, in order
  Bytes payload;

  std::optional<Bytes> Option(unsigned number) const {
    for (const auto& [n, v] : options)
      if (n == number) return v;
    return std::nullopt;
  }
  size_t Count(unsigned number) const {
    size_t k = 0;
    for (const auto& o : options) k += o.first == number;
    return k;
  }
};

// What the raw server answers: a code and, when set, an Echo option with these bytes.
struct Answer {
  Code code = kChanged;
  std::optional<Bytes> echo;
};

// Parses one CoAP message (RFC 7252 §3); nullopt when malformed.
std::optional<Seen> Parse(const uint8_t* m, size_t n) {
  if (n < 4 || (m[0] >> 6) != 1) return std::nullopt;
  Seen s;
  s.type = (m[0] >> 4) & 3;
  size_t tkl = m[0] & 0x0f, i = 4 + tkl;
  if (tkl > 8 || i > n) return std::nullopt;
  s.code = m[1];
  s.token.assign(m + 4, m + i);
  unsigned number = 0;
  auto ext = [&](unsigned v) -> std::optional<unsigned> {
    if (v < 13) return v;
    if (v == 13 && i < n) return 13 + m[i++];
    if (v == 14 && i + 1 < n) {
      unsigned x = 269 + ((m[i] << 8) | m[i + 1]);
      i += 2;
      return x;
    }
    return std::nullopt;
  };
  while (i < n && m[i] != 0xff) {
    unsigned d = m[i] >> 4, l = m[i] & 0x0f;
    ++i;
    auto delta = ext(d);
    auto len = ext(l);
    if (!delta || !len || i + *len > n) return std::nullopt;
    number += *delta;
    s.options.emplace_back(number, Bytes(m + i, m + i + *len));
    i += *len;
  }
  if (i < n) s.payload.assign(m + i + 1, m + n);
  return s;
}

// A UDP "server" on 127.0.0.1 answering the i-th request with script[min(i, last)] as an ACK
// carrying the request's token and Message ID. Its thread is stopped and joined by the destructor.
class RawServer {
 public:
  explicit RawServer(std::vector<Answer> script) : script_(std::move(script)) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("raw server: cannot bind");
    port_ = ntohs(a.sin_port);
    loop_ = std::jthread([this](std::stop_token st) { Loop(st); });
  }
  ~RawServer() {
    loop_.request_stop();
    loop_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  std::vector<Seen> seen() const {
    std::lock_guard<std::mutex> l(mu_);
    return seen_;
  }

 private:
  void Loop(const std::stop_token& st) {
    uint8_t buf[1500];
    while (!st.stop_requested()) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      sockaddr_storage from{};
      socklen_t fl = sizeof from;
      ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
      if (n <= 0) continue;
      auto s = Parse(buf, static_cast<size_t>(n));
      if (!s || s->type != 0) continue;  // CON requests only
      Answer a;
      {
        std::lock_guard<std::mutex> l(mu_);
        a = script_.at(std::min(seen_.size(), script_.size() - 1));
        seen_.push_back(*s);
      }
      Bytes out = {static_cast<uint8_t>(0x60 | s->token.size()), a.code, buf[2], buf[3]};
      out.insert(out.end(), s->token.begin(), s->token.end());
      auto block1 = s->Option(27);
      if (a.code == kContinue && block1) {  // RFC 7959 §2.3: 2.31 echoes the Block1 it took
        out.push_back(static_cast<uint8_t>(0xd0 | block1->size()));  // 27 = 13 + 14
        out.push_back(14);
        out.insert(out.end(), block1->begin(), block1->end());
      }
      if (a.echo) {  // option 252 (delta 13 + 239), length inline, 13+ or 269+
        const size_t l = a.echo->size();
        const uint8_t lf = l < 13 ? l : (l < 269 ? 13 : 14);
        out.push_back(static_cast<uint8_t>(0xd0 | lf));
        out.push_back(static_cast<uint8_t>(252 - 13 - (a.code == kContinue && block1 ? 27 : 0)));
        if (lf == 13) out.push_back(static_cast<uint8_t>(l - 13));
        if (lf == 14) {
          out.push_back(static_cast<uint8_t>((l - 269) >> 8));
          out.push_back(static_cast<uint8_t>(l - 269));
        }
        out.insert(out.end(), a.echo->begin(), a.echo->end());
      }
      (void)::sendto(fd_, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
    }
  }

  std::vector<Answer> script_;
  int fd_ = -1;
  uint16_t port_ = 0;
  mutable std::mutex mu_;
  std::vector<Seen> seen_;
  std::jthread loop_;  // last: stopped and joined first
};

Bytes Pattern(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(0xa0 ^ (i * 7));
  return b;
}

Result<Response> PutVia(RawServer& s, ByteView payload = Text("on")) {
  ClientConfig cc;
  cc.timeout = std::chrono::seconds(5);
  auto c = Client::Connect("127.0.0.1", s.port(), std::move(cc));
  if (!c) return Fail(c.error());
  return (*c)->Put("act/led", payload, content_format::kTextPlain);
}

// ---- the legitimate path: a 4.01 with an Echo is answered once, the value copied exactly ------

TEST(CoapEchoClient, RepeatsOnceWithTheValueByteForByte) {
  for (size_t size : {size_t{1}, kEchoValueSize, size_t{40}}) {
    SCOPED_TRACE(size);
    const Bytes value = Pattern(size);
    RawServer s({Answer{kUnauthorized, value}, Answer{kChanged, std::nullopt}});
    auto r = PutVia(s);
    ASSERT_TRUE(r) << r.error().ToString();
    EXPECT_EQ(r->code, kChanged);
    auto seen = s.seen();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_FALSE(seen[0].Option(kEchoOption));
    ASSERT_TRUE(seen[1].Option(kEchoOption));
    EXPECT_EQ(*seen[1].Option(kEchoOption), value);
    EXPECT_EQ(seen[1].Count(kEchoOption), 1u);
    // Otherwise the same request, under a new token (RFC 9175 §4.2).
    EXPECT_NE(seen[1].token, seen[0].token);
    EXPECT_EQ(seen[1].code, seen[0].code);
    EXPECT_EQ(seen[1].payload, seen[0].payload);
    EXPECT_EQ(AsText(seen[1].payload), "on");
    auto without_echo = [](const Seen& x) {
      std::vector<std::pair<unsigned, Bytes>> o;
      for (const auto& p : x.options)
        if (p.first != kEchoOption) o.push_back(p);
      return o;
    };
    EXPECT_EQ(without_echo(seen[1]), without_echo(seen[0]));
  }
}

TEST(CoapEchoClient, ABlockwiseBodyIsRepeatedWholeWithTheEchoInEveryBlock) {
  const Bytes body = Pattern(2500);  // three Block1 blocks of 1024 (RFC 7959 §2.5)
  const Bytes value = Pattern(kEchoValueSize);
  // Blocks 0 and 1 are taken (2.31), the last one is answered 4.01 with an Echo (the server
  // checks freshness on the whole body); then the repeat's three blocks.
  RawServer s({Answer{kContinue, std::nullopt}, Answer{kContinue, std::nullopt},
               Answer{kUnauthorized, value}, Answer{kContinue, std::nullopt},
               Answer{kContinue, std::nullopt}, Answer{kChanged, std::nullopt}});
  auto r = PutVia(s, body);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->code, kChanged);
  auto seen = s.seen();
  ASSERT_EQ(seen.size(), 6u);
  Bytes first, second;
  for (size_t i = 0; i < 6; ++i) {
    SCOPED_TRACE(i);
    ASSERT_TRUE(seen[i].Option(27));  // Block1
    EXPECT_EQ(seen[i].Option(kEchoOption).has_value(), i >= 3);
    if (i >= 3) {
      EXPECT_EQ(*seen[i].Option(kEchoOption), value);
    }
    Bytes& body_seen = i < 3 ? first : second;
    body_seen.insert(body_seen.end(), seen[i].payload.begin(), seen[i].payload.end());
  }
  EXPECT_EQ(first, body);
  EXPECT_EQ(second, body);
  // A new Request-Tag (292) for the repeated body (RFC 9175 §3.2), the same within each.
  ASSERT_TRUE(seen[0].Option(292) && seen[3].Option(292));
  EXPECT_EQ(*seen[0].Option(292), *seen[2].Option(292));
  EXPECT_EQ(*seen[3].Option(292), *seen[5].Option(292));
  EXPECT_NE(*seen[0].Option(292), *seen[3].Option(292));
}

// ---- the attacks: answers that must not make the client send the request again --------------

// (An Echo longer than 40 bytes never reaches the client: libcoap 4.3.1 drops a response with
// an option beyond its registered length, and the request is retransmitted as if unanswered.)
TEST(CoapEchoClient, NeverRepeatsWithoutA401CarryingAValidEcho) {
  struct Case {
    const char* what;
    Answer answer;
  };
  const std::vector<Case> cases = {
      {"4.01 without Echo", Answer{kUnauthorized, std::nullopt}},
      {"4.03 with Echo", Answer{kForbidden, Pattern(8)}},
      {"4.00 with Echo", Answer{kBadRequest, Pattern(8)}},
      {"2.04 with Echo", Answer{kChanged, Pattern(8)}},
      {"4.01 with an empty Echo", Answer{kUnauthorized, Bytes{}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    RawServer s({c.answer, Answer{kChanged, std::nullopt}});
    auto r = PutVia(s);
    ASSERT_TRUE(r) << r.error().ToString();
    EXPECT_EQ(r->code, c.answer.code);  // the answer is passed on as it is
    EXPECT_EQ(s.seen().size(), 1u);     // and nothing was sent again
  }
}

TEST(CoapEchoClient, RepeatsAtMostOnce) {
  // A server (or a path) that answers every request 4.01 with a new Echo gets two requests.
  RawServer s({Answer{kUnauthorized, Pattern(24)}});
  auto r = PutVia(s);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->code, kUnauthorized);
  EXPECT_EQ(s.seen().size(), 2u);
}

}  // namespace
}  // namespace secprof::coap

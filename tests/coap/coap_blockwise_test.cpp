// Tests for block-wise transfer (RFC 7959) in secprof::coap (suites CoapBlockwise*): large
// responses (Block2) and request bodies (Block1) over UDP and DTLS-PSK, content checked by
// SHA-256, the body limits at both ends, and interoperability with coap-client-openssl -b.
#include <atomic>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>

#include "coap/coap_test_util.h"
#include "secprof/coap/coap.h"
#include "secprof/core/hex.h"
#include "secprof/crypto/hash.h"
#include "testutil.h"

namespace secprof::coap {
namespace {

using crypto::SecureBuffer;

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * 1024;

// `n` reproducible pseudo-random bytes (not all alike, so that a misplaced block shows).
Bytes Pattern(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(gen() >> 24);
  return b;
}

std::string HexSha256(ByteView b) {
  auto d = crypto::Sha256(b);
  if (!d) return "sha256-failed";
  return ToHex(*d);
}

size_t QueryNumber(const std::string& query, const std::string& name) {
  auto pos = query.find(name + "=");
  if (pos == std::string::npos) return 0;
  return std::stoul(query.substr(pos + name.size() + 1));
}

// blob?n=N (GET): N pattern bytes. sink (POST): "<size>:<sha256 hex>" of the body. echo (PUT):
// the body back. `sink_calls` counts sink handler calls.
std::function<void(Server&)> BlobResources(std::atomic<int>* sink_calls) {
  return [sink_calls](Server& s) {
    s.AddResource("blob", Method::kGet, [](const Request& r) {
      return Response{.code = kContent,
                      .content_format = content_format::kOctetStream,
                      .payload = Pattern(QueryNumber(r.query, "n"), 7)};
    });
    s.AddResource("sink", Method::kPost, [sink_calls](const Request& r) {
      ++*sink_calls;
      return Response{
          .code = kChanged,
          .content_format = content_format::kTextPlain,
          .payload = Text(std::to_string(r.payload.size()) + ":" + HexSha256(r.payload))};
    });
    s.AddResource("echo", Method::kPut, [](const Request& r) {
      return Response{.code = kChanged, .content_format = r.content_format, .payload = r.payload};
    });
  };
}

std::optional<SecureBuffer> LookupPsk(std::string_view id) {
  if (id == "thing-1") return Key("secret-key-0001");
  return std::nullopt;
}

ServerConfig ServerFor(bool dtls) {
  ServerConfig cfg;
  if (dtls) {
    cfg.udp_port.reset();
    cfg.dtls_port = 0;
    cfg.psk = PskServerConfig{.hint = "", .key_for_identity = &LookupPsk};
  }
  return cfg;
}

ClientConfig ClientFor(bool dtls) {
  ClientConfig c;
  if (dtls) {
    c.security = Security::kPsk;
    c.psk_identity = "thing-1";
    c.psk_key = Key("secret-key-0001");
  }
  c.timeout = std::chrono::seconds(30);
  return c;
}

uint16_t PortOf(RunningServer& srv, bool dtls) { return dtls ? srv->dtls_port() : srv->udp_port(); }

class CoapBlockwise : public ::testing::TestWithParam<bool> {};  // param: DTLS-PSK (else UDP)

INSTANTIATE_TEST_SUITE_P(Transports, CoapBlockwise, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "DtlsPsk" : "Udp"; });

TEST_P(CoapBlockwise, LargeResponsesArriveWhole) {
  std::atomic<int> sink_calls{0};
  RunningServer srv(ServerFor(GetParam()), BlobResources(&sink_calls));
  auto c = Client::Connect("127.0.0.1", PortOf(srv, GetParam()), ClientFor(GetParam()));
  ASSERT_TRUE(c) << c.error().ToString();
  for (size_t n : {size_t{1000}, 100 * kKiB, 5 * kMiB}) {
    auto r = (*c)->Get("blob", "n=" + std::to_string(n));
    ASSERT_TRUE(r) << n << ": " << r.error().ToString();
    EXPECT_EQ(r->code, kContent);
    EXPECT_EQ(r->content_format, content_format::kOctetStream);
    ASSERT_EQ(r->payload.size(), n);
    EXPECT_EQ(HexSha256(r->payload), HexSha256(Pattern(n, 7))) << n;
  }
  // The same client goes on with small exchanges after a block-wise one.
  auto r = (*c)->Get("blob", "n=10");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->payload, Pattern(10, 7));
}

TEST_P(CoapBlockwise, LargeRequestBodiesArriveWhole) {
  std::atomic<int> sink_calls{0};
  ServerConfig cfg = ServerFor(GetParam());
  cfg.max_request_body = 8 * kMiB;  // above the 1 MiB default
  RunningServer srv(std::move(cfg), BlobResources(&sink_calls));
  auto c = Client::Connect("127.0.0.1", PortOf(srv, GetParam()), ClientFor(GetParam()));
  ASSERT_TRUE(c) << c.error().ToString();
  for (size_t n : {100 * kKiB, 5 * kMiB}) {
    Bytes body = Pattern(n, 9);
    auto r = (*c)->Post("sink", body, content_format::kOctetStream);
    ASSERT_TRUE(r) << n << ": " << r.error().ToString();
    EXPECT_EQ(r->code, kChanged);
    EXPECT_EQ(AsText(r->payload), std::to_string(n) + ":" + HexSha256(body));
  }
  EXPECT_EQ(sink_calls.load(), 2);  // once per body, not once per block
  // Both directions in one exchange: a 100 KiB body echoed back.
  Bytes body = Pattern(100 * kKiB, 11);
  auto r = (*c)->Put("echo", body, content_format::kCbor);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->content_format, content_format::kCbor);
  EXPECT_EQ(HexSha256(r->payload), HexSha256(body));
}

TEST_P(CoapBlockwise, ServerRefusesBodiesBeyondItsLimitWith413) {
  std::atomic<int> sink_calls{0};
  ServerConfig cfg = ServerFor(GetParam());
  cfg.max_request_body = 64 * kKiB;
  RunningServer srv(std::move(cfg), BlobResources(&sink_calls));
  auto c = Client::Connect("127.0.0.1", PortOf(srv, GetParam()), ClientFor(GetParam()));
  ASSERT_TRUE(c) << c.error().ToString();

  auto r = (*c)->Post("sink", Pattern(64 * kKiB + 1, 1));
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(CodeString(r->code), "4.13");
  EXPECT_EQ(sink_calls.load(), 0);  // the handler never saw it
  EXPECT_EQ(srv->stats().requests_too_large, 1u);

  Bytes at_limit = Pattern(64 * kKiB, 2);
  r = (*c)->Post("sink", at_limit);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->code, kChanged);
  EXPECT_EQ(AsText(r->payload), std::to_string(at_limit.size()) + ":" + HexSha256(at_limit));
  EXPECT_EQ(sink_calls.load(), 1);
  EXPECT_EQ(srv->stats().requests_too_large, 1u);
}

TEST_P(CoapBlockwise, ClientRefusesResponsesBeyondItsLimit) {
  std::atomic<int> sink_calls{0};
  RunningServer srv(ServerFor(GetParam()), BlobResources(&sink_calls));
  ClientConfig cc = ClientFor(GetParam());
  cc.max_response_body = 64 * kKiB;
  auto c = Client::Connect("127.0.0.1", PortOf(srv, GetParam()), std::move(cc));
  ASSERT_TRUE(c) << c.error().ToString();

  auto ok = (*c)->Get("blob", "n=" + std::to_string(64 * kKiB));  // exactly the limit
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_EQ(ok->payload.size(), 64 * kKiB);

  auto r = (*c)->Get("blob", "n=" + std::to_string(100 * kKiB));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kLimit) << r.error().ToString();
  EXPECT_NE(r.error().ToString().find("max_response_body"), std::string::npos);
  // The client stopped asking for blocks; its session goes on with the next request.
  auto after = (*c)->Get("blob", "n=10");
  ASSERT_TRUE(after) << after.error().ToString();
  EXPECT_EQ(after->payload.size(), 10u);
  // The server is unaffected.
  auto other = Client::Connect("127.0.0.1", PortOf(srv, GetParam()), ClientFor(GetParam()));
  ASSERT_TRUE(other) << other.error().ToString();
  EXPECT_TRUE((*other)->Get("blob", "n=10"));
}

TEST(CoapBlockwiseConfig, LimitsBeyondRfc7959AreRefusedOrClamped) {
  ServerConfig cfg;
  cfg.max_request_body = size_t{2} << 30;  // beyond 2^20 blocks of 1024
  auto s = Server::Create(std::move(cfg));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kInvalidInput);
}

// ------------------------------------------------------------------------- interoperability

bool HaveCoapClient() {
  return testing::Run("command -v coap-client-openssl >/dev/null 2>&1").exit_code == 0;
}

TEST(CoapBlockwiseInterop, LibcoapClientFetchesAndPostsLargeBodies) {
  if (!HaveCoapClient())
    GTEST_SKIP() << "coap-client-openssl not found (Debian package libcoap3-bin): interop "
                    "test skipped";
  std::atomic<int> sink_calls{0};
  RunningServer srv(ServerFor(true), BlobResources(&sink_calls));
  testing::TempDir dir;
  const size_t n = 300 * kKiB;
  std::string out = (dir.path() / "blob.bin").string();
  std::string uri = "coaps://127.0.0.1:" + std::to_string(srv->dtls_port());
  // -b 1024: ask for 1024-byte Block2 blocks; libcoap's client assembles the body.
  auto r = testing::Run(
      "timeout 60 coap-client-openssl -B 50 -b 1024 -m get -u thing-1 -k "
      "secret-key-0001 -o " +
      out + " '" + uri + "/blob?n=" + std::to_string(n) + "' 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  std::ifstream f(out, std::ios::binary);
  Bytes got((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got.size(), n);
  EXPECT_EQ(HexSha256(got), HexSha256(Pattern(n, 7)));

  // And a 200 KiB body sent block-wise (Block1) by coap-client to the sink.
  Bytes body = Pattern(200 * kKiB, 3);
  std::string in = (dir.path() / "body.bin").string();
  std::ofstream(in, std::ios::binary)
      .write(reinterpret_cast<const char*>(body.data()), static_cast<std::streamsize>(body.size()));
  r = testing::Run("timeout 60 coap-client-openssl -B 50 -b 1024 -m post -f " + in +
                   " -u thing-1 -k secret-key-0001 " + uri + "/sink 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find(std::to_string(body.size()) + ":" + HexSha256(body)), std::string::npos)
      << r.out;
  EXPECT_EQ(sink_calls.load(), 1);
}

TEST(CoapBlockwiseInterop, LibcoapClientSees413WithSize1) {
  if (!HaveCoapClient())
    GTEST_SKIP() << "coap-client-openssl not found (Debian package libcoap3-bin): interop "
                    "test skipped";
  std::atomic<int> sink_calls{0};
  ServerConfig cfg = ServerFor(true);
  cfg.max_request_body = 64 * kKiB;
  RunningServer srv(std::move(cfg), BlobResources(&sink_calls));
  testing::TempDir dir;
  Bytes body = Pattern(100 * kKiB, 5);
  std::string in = (dir.path() / "body.bin").string();
  std::ofstream(in, std::ios::binary)
      .write(reinterpret_cast<const char*>(body.data()), static_cast<std::streamsize>(body.size()));
  // -v 7 makes coap-client log every PDU with its options.
  auto r = testing::Run("timeout 60 coap-client-openssl -v 7 -B 50 -b 1024 -m post -f " + in +
                        " -u thing-1 -k secret-key-0001 coaps://127.0.0.1:" +
                        std::to_string(srv->dtls_port()) + "/sink 2>&1");
  EXPECT_NE(r.out.find("c:4.13"), std::string::npos) << r.out.substr(0, 4000);
  EXPECT_NE(r.out.find("Size1:65536"), std::string::npos) << r.out.substr(0, 4000);
  EXPECT_EQ(sink_calls.load(), 0);
}

}  // namespace
}  // namespace secprof::coap

// Tests for the per-request response body limit of secprof::coap::Client (Client::Get with a
// limit; suite CoapRequestLimit): a server that sends more than the caller's limit is cut off
// with kLimit, over UDP and DTLS-PSK, the limit holds for that request only, and it never raises
// ClientConfig::max_response_body. The firmware fetch bounds its image by the manifest's
// image-size this way (src/thing/firmware.cpp; lab scenario lab.fw_endless_data).
#include <string>

#include "coap/coap_test_util.h"
#include "secprof/coap/coap.h"
#include "testutil.h"

namespace secprof::coap {
namespace {

constexpr size_t kKiB = 1024;

// blob?n=N (GET): N bytes, each its offset modulo 251 (a misplaced block would show).
void Blob(Server& s) {
  s.AddResource("blob", Method::kGet, [](const Request& r) {
    size_t n = r.query.rfind("n=", 0) == 0 ? std::stoul(r.query.substr(2)) : 0;
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i % 251);
    return Response{.code = kContent, .content_format = content_format::kOctetStream, .payload = b};
  });
}

std::optional<crypto::SecureBuffer> LookupPsk(std::string_view id) {
  if (id == "thing-1") return Key("secret-key-0001");
  return std::nullopt;
}

class CoapRequestLimit : public ::testing::TestWithParam<bool> {  // param: DTLS-PSK (else UDP)
 protected:
  ServerConfig ServerCfg() const {
    ServerConfig cfg;
    if (GetParam()) {
      cfg.udp_port.reset();
      cfg.dtls_port = 0;
      cfg.psk = PskServerConfig{.hint = "", .key_for_identity = &LookupPsk};
    }
    return cfg;
  }
  ClientConfig ClientCfg() const {
    ClientConfig c;
    if (GetParam()) {
      c.security = Security::kPsk;
      c.psk_identity = "thing-1";
      c.psk_key = Key("secret-key-0001");
    }
    c.timeout = std::chrono::seconds(30);
    return c;
  }
  uint16_t Port(RunningServer& s) const { return GetParam() ? s->dtls_port() : s->udp_port(); }
};

INSTANTIATE_TEST_SUITE_P(Transports, CoapRequestLimit, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "DtlsPsk" : "Udp"; });

TEST_P(CoapRequestLimit, AServerSendingMoreThanTheRequestsLimitIsCutOff) {
  RunningServer srv(ServerCfg(), &Blob);
  auto c = Client::Connect("127.0.0.1", Port(srv), ClientCfg());
  ASSERT_TRUE(c) << c.error().ToString();
  // The attack: the caller expects 16 KiB, the server sends 512 KiB (block-wise).
  auto r = (*c)->Get("blob", "n=" + std::to_string(512 * kKiB), 16 * kKiB);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kLimit) << r.error().ToString();
  // One byte over is over; a small (single-message) body is held to the limit too.
  auto c2 = Client::Connect("127.0.0.1", Port(srv), ClientCfg());
  ASSERT_TRUE(c2) << c2.error().ToString();
  auto one_over = (*c2)->Get("blob", "n=" + std::to_string(16 * kKiB + 1), 16 * kKiB);
  ASSERT_FALSE(one_over);
  EXPECT_EQ(one_over.error().code(), ErrorCode::kLimit) << one_over.error().ToString();
  auto c3 = Client::Connect("127.0.0.1", Port(srv), ClientCfg());
  ASSERT_TRUE(c3) << c3.error().ToString();
  auto small = (*c3)->Get("blob", "n=100", 99);
  ASSERT_FALSE(small);
  EXPECT_EQ(small.error().code(), ErrorCode::kLimit) << small.error().ToString();
}

TEST_P(CoapRequestLimit, TheLegitimateBodyAtTheLimitArrivesAndTheLimitIsNotSticky) {
  RunningServer srv(ServerCfg(), &Blob);
  auto c = Client::Connect("127.0.0.1", Port(srv), ClientCfg());
  ASSERT_TRUE(c) << c.error().ToString();
  auto exact = (*c)->Get("blob", "n=" + std::to_string(16 * kKiB), 16 * kKiB);
  ASSERT_TRUE(exact) << exact.error().ToString();
  ASSERT_EQ(exact->payload.size(), 16 * kKiB);
  EXPECT_EQ(exact->payload[16 * kKiB - 1], static_cast<uint8_t>((16 * kKiB - 1) % 251));
  // The next request without a limit takes the configured one (128 MiB) again.
  auto larger = (*c)->Get("blob", "n=" + std::to_string(64 * kKiB));
  ASSERT_TRUE(larger) << larger.error().ToString();
  EXPECT_EQ(larger->payload.size(), 64 * kKiB);
}

TEST_P(CoapRequestLimit, ARequestLimitNeverRaisesTheConfiguredOne) {
  RunningServer srv(ServerCfg(), &Blob);
  ClientConfig cc = ClientCfg();
  cc.max_response_body = 8 * kKiB;
  auto c = Client::Connect("127.0.0.1", Port(srv), std::move(cc));
  ASSERT_TRUE(c) << c.error().ToString();
  auto r = (*c)->Get("blob", "n=" + std::to_string(32 * kKiB), 1u << 20);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kLimit) << r.error().ToString();
}

}  // namespace
}  // namespace secprof::coap

// Conformance: RFC 8613 Appendix C, byte for byte, from VectorsDir()/oscore/rfc8613_appendix_c.json
// (the RFC's own numbers, as transcribed by uoscore-uedhoc; see vectors/README.md). Never copied
// into the repository; without the folder every test here skips with one line.
//   T1  C.1.1 client keys, C.4 request, and the client's side of C.7 and C.8
//   T2  C.1.2 server keys, the server's side of C.4 and C.7
//   T3  C.2.1 client without Master Salt, C.5 request (T4: C.2.2 server keys, verifying C.5)
//   T5  C.3.1 client with ID Context, C.6 request (T6: C.3.2 server keys, verifying C.6)
//   T7  C.8 response with the server's own Partial IV
//   T8  an Empty ACK, which OSCORE does not protect
// The requests use sequence number 20 (Partial IV 0x14): the client context is resumed from a
// stored bound of 20 (Appendix B.1.1), which is exactly how a sender reaches that number.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "secprof/core/hex.h"
#include "secprof/oscore/oscore.h"
#include "testutil.h"

namespace secprof::oscore {
namespace {

using json = nlohmann::json;

class AppendixC : public ::testing::Test {
 protected:
  void SetUp() override {
    SECPROF_REQUIRE_VECTORS("oscore");
    std::ifstream in(testing::VectorsDir() / "oscore" / "rfc8613_appendix_c.json");
    doc_ = json::parse(in);
  }
  const json& T(const char* name) { return doc_.at("tests").at(name); }
  static Bytes H(const json& t, const char* field) {
    auto b = FromHex(t.at(field).get<std::string>());
    EXPECT_TRUE(b) << field;
    return b ? *b : Bytes{};
  }
  static ContextParams Params(const json& t, const Bytes& secret) {
    ContextParams p{.master_secret = secret,
                    .master_salt = H(t, "master_salt"),
                    .sender_id = H(t, "sender_id"),
                    .recipient_id = H(t, "recipient_id")};
    Bytes idc = H(t, "id_context");
    if (!idc.empty()) p.id_context = idc;
    return p;
  }
  static Datagram Parse(const json& t, const char* field) {
    auto d = DecodeDatagram(H(t, field));
    EXPECT_TRUE(d) << field << ": " << (d ? "" : d.error().message());
    return d ? *d : Datagram{};
  }
  // The same framing (type, message ID, token) around another message.
  static Bytes Reframe(const Datagram& frame, Message m) {
    Datagram d = frame;
    d.message = std::move(m);
    auto b = EncodeDatagram(d);
    EXPECT_TRUE(b);
    return b ? *b : Bytes{};
  }
  static SecurityContext Context(const json& t, const Bytes& secret, MemorySequenceStore& store,
                                 Start start) {
    auto c = SecurityContext::Create(Params(t, secret), {.sequence_store = &store, .start = start});
    EXPECT_TRUE(c) << (c ? "" : c.error().message());
    return std::move(*c);
  }
  void ExpectKeys(const json& t) {
    Bytes secret = H(t, "master_secret");
    auto m = DeriveContext(Params(t, secret));
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(ToHex(m->sender_key), t.at("sender_key").get<std::string>());
    EXPECT_EQ(ToHex(m->recipient_key), t.at("recipient_key").get<std::string>());
    EXPECT_EQ(ToHex(m->common_iv), t.at("common_iv").get<std::string>());
  }
  // A client resumed at sequence number 20 protects `coap_req`: the result must be `oscore_req`.
  PendingRequest ExpectRequest(const json& t) {
    Bytes secret = H(t, "master_secret");
    MemorySequenceStore store(20);
    SecurityContext client = Context(t, secret, store, Start::kResumed);
    Datagram plain = Parse(t, "coap_req");
    auto p = client.ProtectRequest(plain.message);
    EXPECT_TRUE(p) << (p ? "" : p.error().message());
    if (!p) return {};
    EXPECT_EQ(ToHex(Reframe(plain, p->message)), t.at("oscore_req").get<std::string>());
    EXPECT_EQ(client.next_sequence_number(), 21u);
    return p->pending;
  }
  // A new server context verifies `request` (from test `req`) back to its plain form.
  void ExpectServerVerifies(const json& server, const json& req) {
    Bytes secret = H(server, "master_secret");
    MemorySequenceStore store;
    SecurityContext ctx = Context(server, secret, store, Start::kNew);
    auto in = ctx.UnprotectRequest(Parse(req, "oscore_req").message);
    ASSERT_TRUE(in) << in.error().message();
    EXPECT_EQ(in->state(), RequestState::kAccepted);
    EXPECT_EQ(in->message(), Parse(req, "coap_req").message);
    EXPECT_EQ(in->sequence_number(), 20u);
  }

  json doc_;
};

TEST_F(AppendixC, C1_1ClientKeysAndC4Request) {
  ExpectKeys(T("T1"));
  ExpectRequest(T("T1"));
}

TEST_F(AppendixC, C1_2ServerVerifiesC4AndProtectsC7) {
  const json& t = T("T2");
  Bytes secret = H(t, "master_secret");
  MemorySequenceStore store;
  SecurityContext server = Context(t, secret, store, Start::kNew);
  Datagram req = Parse(t, "oscore_req");
  auto in = server.UnprotectRequest(req.message);
  ASSERT_TRUE(in) << in.error().message();
  ASSERT_EQ(in->state(), RequestState::kAccepted);
  EXPECT_EQ(in->message(), Parse(t, "coap_req").message);

  Datagram resp = Parse(t, "coap_response");
  auto out = server.ProtectResponse(in->binding(), resp.message);
  ASSERT_TRUE(out) << out.error().message();
  EXPECT_EQ(ToHex(Reframe(resp, *out)), t.at("oscore_resp").get<std::string>());
  EXPECT_EQ(server.next_sequence_number(), 0u);  // C.7: no Partial IV, no sequence number used
}

TEST_F(AppendixC, C7ClientVerifiesResponseWithoutPartialIv) {
  PendingRequest pending = ExpectRequest(T("T1"));
  const json& t = T("T1");
  Bytes secret = H(t, "master_secret");
  MemorySequenceStore store(21);
  SecurityContext client = Context(t, secret, store, Start::kResumed);
  auto r = client.UnprotectResponse(pending, Parse(t, "oscore_resp").message);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, Parse(t, "coap_response").message);
}

TEST_F(AppendixC, C2_1ClientWithoutSaltAndC5Request) {
  ExpectRequest(T("T3"));
  ExpectKeys(T("T4"));
  ExpectServerVerifies(T("T4"), T("T3"));
}

TEST_F(AppendixC, C3_1ClientWithIdContextAndC6Request) {
  ExpectRequest(T("T5"));
  ExpectKeys(T("T6"));
  ExpectServerVerifies(T("T6"), T("T5"));
}

TEST_F(AppendixC, C8ResponseWithPartialIv) {
  const json& t = T("T7");
  Bytes secret = H(t, "master_secret");
  MemorySequenceStore store;
  SecurityContext server = Context(t, secret, store, Start::kNew);
  auto in = server.UnprotectRequest(Parse(t, "oscore_req").message);
  ASSERT_TRUE(in) << in.error().message();
  Datagram resp = Parse(t, "coap_response");
  auto out = server.ProtectResponse(in->binding(), resp.message, ResponseNonce::kOwnPartialIv);
  ASSERT_TRUE(out) << out.error().message();
  EXPECT_EQ(ToHex(Reframe(resp, *out)), t.at("oscore_res").get<std::string>());
  EXPECT_EQ(server.next_sequence_number(), 1u);

  // And the client of C.4 accepts it.
  PendingRequest pending = ExpectRequest(T("T1"));
  const json& c = T("T1");
  MemorySequenceStore cstore(21);
  SecurityContext client = Context(c, secret, cstore, Start::kResumed);
  auto r = client.UnprotectResponse(pending, Parse(t, "oscore_res").message);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, resp.message);
}

TEST_F(AppendixC, C8EmptyAckIsNotProtected) {
  const json& t = T("T8");
  Bytes ack = H(t, "coap_ack");
  auto d = DecodeDatagram(ack);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->message.code, code::kEmpty);
  auto back = EncodeDatagram(*d);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, ack);  // passed through unchanged
  Bytes secret = H(t, "master_secret");
  MemorySequenceStore store;
  auto server = SecurityContext::Create(
      {.master_secret = secret, .master_salt = H(t, "master_salt"), .sender_id = H(t, "sender_id")},
      {.sequence_store = &store});
  ASSERT_TRUE(server) << server.error().message();
  auto refused = server->ProtectResponse(RequestBinding{}, d->message);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(server->next_sequence_number(), 0u);
}

}  // namespace
}  // namespace secprof::oscore

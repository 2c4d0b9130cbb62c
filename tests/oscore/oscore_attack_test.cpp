// Attacks on OSCORE-protected exchanges, each played as the attacker (an on-path party that can
// read, hold, replay, alter, reroute and inject messages) and shown to fail with the RFC's
// error, with no state change on the receiver; and the legitimate exchange beside them.
#include <gtest/gtest.h>

#include "oscore_pair.h"

namespace secprof::oscore {
namespace {

using testing::ClientParams;
using testing::Hex;
using testing::MakeContext;
using testing::SampleRequest;
using testing::SampleResponse;
using testing::ServerParams;

class OscoreAttack : public ::testing::Test {
 protected:
  MemorySequenceStore client_store_, server_store_;
  SecurityContext client_ = MakeContext(ClientParams(), client_store_);
  SecurityContext server_ = MakeContext(ServerParams(), server_store_);

  ProtectedRequest Protect(const Message& m = SampleRequest()) {
    auto p = client_.ProtectRequest(m);
    EXPECT_TRUE(p) << (p ? "" : p.error().message());
    return std::move(*p);
  }
  // The legitimate exchange still works: a new request is accepted and answered.
  void ExpectLegitimateExchangeWorks() {
    ProtectedRequest p = Protect();
    auto in = server_.UnprotectRequest(p.message);
    ASSERT_TRUE(in) << in.error().message();
    EXPECT_EQ(in->message(), SampleRequest());
    auto resp = server_.ProtectResponse(in->binding(), SampleResponse());
    ASSERT_TRUE(resp);
    auto got = client_.UnprotectResponse(p.pending, *resp);
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(*got, SampleResponse());
  }
};

TEST_F(OscoreAttack, LegitimateExchangeHidesPathQueryAndPayloadFromTheWire) {
  ProtectedRequest p = Protect();
  EXPECT_EQ(p.message.code, code::kPost);  // §4.2: the real method is inside
  EXPECT_NE(p.message.Find(opt::kUriHost), nullptr);
  EXPECT_EQ(p.message.Find(opt::kUriPath), nullptr);
  EXPECT_EQ(p.message.Find(opt::kUriQuery), nullptr);
  auto wire = EncodeDatagram({.message = p.message});
  ASSERT_TRUE(wire);
  std::string seen(wire->begin(), wire->end());
  EXPECT_EQ(seen.find("sensors"), std::string::npos);
  EXPECT_EQ(seen.find("unit=C"), std::string::npos);
  ExpectLegitimateExchangeWorks();
}

TEST_F(OscoreAttack, ReplayedRequestIsRefused) {
  ProtectedRequest p = Protect();
  ASSERT_TRUE(server_.UnprotectRequest(p.message));
  auto again = server_.UnprotectRequest(p.message);
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().Is(kReplayDetected));
  Message answer = ErrorResponse(again.error());
  EXPECT_EQ(answer.code, code::kUnauthorized);
  EXPECT_EQ(std::string(answer.payload.begin(), answer.payload.end()), "Replay detected");
  ExpectLegitimateExchangeWorks();
}

TEST_F(OscoreAttack, DelayedRequestOlderThanTheWindowIsRefused) {
  ProtectedRequest held = Protect();  // the attacker holds this one
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(server_.UnprotectRequest(Protect().message));
  auto late = server_.UnprotectRequest(held.message);
  ASSERT_FALSE(late);
  EXPECT_TRUE(late.error().Is(kReplayDetected));
}

TEST_F(OscoreAttack, TamperedCiphertextIsRefusedEverywhereAndChangesNothing) {
  ProtectedRequest p = Protect();
  for (size_t i = 0; i < p.message.payload.size(); ++i) {
    Message forged = p.message;
    forged.payload[i] ^= 0x01;
    auto r = server_.UnprotectRequest(forged);
    ASSERT_FALSE(r) << "byte " << i;
    EXPECT_TRUE(r.error().Is(kDecryptionFailed));
    EXPECT_EQ(ErrorResponse(r.error()).code, code::kBadRequest);
  }
  Message truncated = p.message;
  truncated.payload.resize(4);  // shorter than the tag
  EXPECT_TRUE(server_.UnprotectRequest(truncated).error().Is(kDecryptionFailed));
  // The window recorded none of the forgeries: the genuine message is still new.
  auto genuine = server_.UnprotectRequest(p.message);
  ASSERT_TRUE(genuine) << genuine.error().message();
  EXPECT_EQ(genuine->message(), SampleRequest());
}

TEST_F(OscoreAttack, TamperedOscoreOptionIsRefused) {
  ProtectedRequest p = Protect();
  Message forged = p.message;
  for (auto& o : forged.options) {
    if (o.number == opt::kOscore) o.value[1] ^= 0x01;  // the Partial IV (in nonce and AAD)
  }
  EXPECT_TRUE(server_.UnprotectRequest(forged).error().Is(kDecryptionFailed));
  Message reserved = p.message;
  for (auto& o : reserved.options) {
    if (o.number == opt::kOscore) o.value[0] |= 0x80;
  }
  auto bad = server_.UnprotectRequest(reserved);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().Is(kBadOption));
  EXPECT_EQ(ErrorResponse(bad.error()).code, code::kBadOption);
  Message doubled = p.message;
  doubled.Add(opt::kOscore, doubled.Find(opt::kOscore)->value);
  EXPECT_TRUE(server_.UnprotectRequest(doubled).error().Is(kBadOption));
  Message stripped = p.message;
  stripped.Remove(opt::kOscore);
  EXPECT_TRUE(server_.UnprotectRequest(stripped).error().Is(kUnprotected));
  ExpectLegitimateExchangeWorks();
}

// Class E options sent outside, and the outer code, are not what the server acts on (§8.2 step
// 2); Class U options are outside by design (§4.1.2: routing for proxies) and reach the server as
// sent, which is the RFC's model, not a weakness of this implementation.
TEST_F(OscoreAttack, OuterClassEOptionsAndOuterCodeAreIgnored) {
  ProtectedRequest p = Protect();
  Message forged = p.message;
  forged.code = code::kDelete;
  forged.Add(opt::kUriPath, "admin");
  forged.Add(opt::kUriQuery, "wipe=1");
  forged.Add(opt::kContentFormat, Bytes{});
  auto in = server_.UnprotectRequest(forged);
  ASSERT_TRUE(in) << in.error().message();
  EXPECT_EQ(in->message(), SampleRequest());  // GET sensors/temp?unit=C, nothing of the attacker's

  ProtectedRequest q = Protect();
  Message rehosted = q.message;
  rehosted.Remove(opt::kUriHost);
  rehosted.Add(opt::kUriHost, "elsewhere.example");
  auto moved = server_.UnprotectRequest(rehosted);
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->message().Find(opt::kUriHost)->value, Hex("656c736577686572652e6578616d706c65"));
  EXPECT_EQ(moved->message().Find(opt::kUriPath)->value, Hex("73656e736f7273"));  // "sensors"
}

TEST_F(OscoreAttack, UnknownKidIsSecurityContextNotFound) {
  ContextTable table;
  ASSERT_TRUE(table.Add(std::move(server_)));
  MemorySequenceStore store;
  ContextParams stranger = ClientParams();
  stranger.sender_id = Hex("77");
  SecurityContext other = MakeContext(stranger, store);
  auto r = table.UnprotectRequest(other.ProtectRequest(SampleRequest())->message);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().Is(kContextNotFound));
  Message answer = ErrorResponse(r.error());
  EXPECT_EQ(answer.code, code::kUnauthorized);
  EXPECT_EQ(std::string(answer.payload.begin(), answer.payload.end()),
            "Security context not found");
  // The table's own client still gets through.
  auto ok = table.UnprotectRequest(Protect().message);
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->message(), SampleRequest());
}

TEST_F(OscoreAttack, KidContextMismatchIsSecurityContextNotFound) {
  MemorySequenceStore s1, s2, s3;
  SecurityContext server_a = MakeContext(ServerParams(Hex("aaaa")), s1);
  SecurityContext client_b = MakeContext(ClientParams(Hex("bbbb")), s2);
  ContextTable table;
  ASSERT_TRUE(table.Add(std::move(server_a)));
  auto r = table.UnprotectRequest(client_b.ProtectRequest(SampleRequest())->message);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().Is(kContextNotFound));
  // Directly against the context too.
  SecurityContext server_a2 = MakeContext(ServerParams(Hex("aaaa")), s3);
  ProtectedRequest p = client_b.ProtectRequest(SampleRequest()).value();
  EXPECT_TRUE(server_a2.UnprotectRequest(p.message).error().Is(kContextNotFound));
  // Dropping the kid context from the option does not help: the keys differ (§3.2.1 info).
  Message stripped = p.message;
  OscoreOption o = *DecodeOscoreOption(stripped.Find(opt::kOscore)->value);
  o.kid_context.reset();
  stripped.Remove(opt::kOscore);
  stripped.Add(opt::kOscore, *EncodeOscoreOption(o));
  EXPECT_TRUE(server_a2.UnprotectRequest(stripped).error().Is(kDecryptionFailed));
  // The matching client is accepted.
  MemorySequenceStore s4;
  SecurityContext client_a = MakeContext(ClientParams(Hex("aaaa")), s4);
  auto ok = server_a2.UnprotectRequest(client_a.ProtectRequest(SampleRequest())->message);
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->message(), SampleRequest());
}

TEST_F(OscoreAttack, ResponsesCannotBeReplayedSwappedOrDowngraded) {
  ProtectedRequest p1 = Protect();
  ProtectedRequest p2 = Protect();
  auto in1 = server_.UnprotectRequest(p1.message);
  auto in2 = server_.UnprotectRequest(p2.message);
  ASSERT_TRUE(in1 && in2);
  Message r1 = *server_.ProtectResponse(in1->binding(), SampleResponse());
  Message other = SampleResponse();
  other.payload = {'9', '9'};
  Message r2 = *server_.ProtectResponse(in2->binding(), other);

  // r2 delivered as the answer to request 1: bound to request 2's kid/PIV (AAD, nonce).
  PendingRequest pending1 = p1.pending;
  EXPECT_TRUE(client_.UnprotectResponse(pending1, r2).error().Is(kDecryptionFailed));
  EXPECT_FALSE(pending1.answered);
  // A plain (unprotected) 2.05 instead of the protected one.
  PendingRequest pending2 = p2.pending;
  auto down = client_.UnprotectResponse(pending2, SampleResponse());
  ASSERT_FALSE(down);
  EXPECT_TRUE(down.error().Is(kUnprotected));
  // The genuine responses are accepted once; a replay of one is refused.
  auto ok1 = client_.UnprotectResponse(pending1, r1);
  ASSERT_TRUE(ok1) << ok1.error().message();
  EXPECT_EQ(*ok1, SampleResponse());
  EXPECT_TRUE(client_.UnprotectResponse(pending1, r1).error().Is(kReplayDetected));
  auto ok2 = client_.UnprotectResponse(pending2, r2);
  ASSERT_TRUE(ok2);
  EXPECT_EQ(*ok2, other);
}

TEST_F(OscoreAttack, SequenceNumberExhaustionStopsTheSender) {
  MemorySequenceStore store(kMaxSequenceNumber);  // resumed one before the last number
  SecurityContext client = MakeContext(ClientParams(), store, Start::kResumed);
  auto last = client.ProtectRequest(SampleRequest());
  ASSERT_TRUE(last) << last.error().message();
  EXPECT_EQ(last->pending.request_piv, Hex("ffffffffff"));
  EXPECT_EQ(store.bound(), std::optional<uint64_t>(kMaxSequenceNumber + 1));
  auto none = client.ProtectRequest(SampleRequest());
  ASSERT_FALSE(none);
  EXPECT_TRUE(none.error().Is(kSequenceExhausted));
  EXPECT_EQ(none.error().code(), ErrorCode::kLimit);
  EXPECT_EQ(store.bound(), std::optional<uint64_t>(kMaxSequenceNumber + 1));
  // The server accepts that last request (a 5-byte Partial IV) like any other.
  auto in = server_.UnprotectRequest(last->message);
  ASSERT_TRUE(in) << in.error().message();
  EXPECT_EQ(in->sequence_number(), kMaxSequenceNumber);
}

TEST_F(OscoreAttack, OuterOptionsOfClassEAreRefusedWhenProtecting) {
  Option bad{opt::kUriPath, Hex("61")};
  auto r = client_.ProtectRequest(SampleRequest(), std::span<const Option>(&bad, 1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(client_.next_sequence_number(), 0u);  // nothing used
  Option block{opt::kBlock2, Hex("06")};
  auto ok = client_.ProtectRequest(SampleRequest(), std::span<const Option>(&block, 1));
  ASSERT_TRUE(ok);
  EXPECT_NE(ok->message.Find(opt::kBlock2), nullptr);
}

TEST_F(OscoreAttack, ProxyUriKeepsOnlySchemeAndAuthorityOutside) {
  Message m{.code = code::kGet};
  m.Add(opt::kProxyUri, "coap://thing.example/sensors/temp?unit=C");
  ProtectedRequest p = Protect(m);
  ASSERT_NE(p.message.Find(opt::kProxyUri), nullptr);
  EXPECT_EQ(std::string(p.message.Find(opt::kProxyUri)->value.begin(),
                        p.message.Find(opt::kProxyUri)->value.end()),
            "coap://thing.example");
  auto in = server_.UnprotectRequest(p.message);
  ASSERT_TRUE(in) << in.error().message();
  Message want{.code = code::kGet};
  want.Add(opt::kProxyUri, "coap://thing.example");
  want.Add(opt::kUriPath, "sensors");
  want.Add(opt::kUriPath, "temp");
  want.Add(opt::kUriQuery, "unit=C");
  EXPECT_EQ(in->message(), want);
}

}  // namespace
}  // namespace secprof::oscore

namespace secprof::oscore {
namespace {

// §7.4.1: notifications carry the server's Partial IV; the client refuses a replayed or
// reordered (older) one and accepts newer ones.
TEST_F(OscoreAttack, ObserveNotificationsAreOrderedAndNotReplayable) {
  Message reg = SampleRequest();
  reg.AddUint(opt::kObserve, 0);
  ProtectedRequest p = Protect(reg);
  EXPECT_EQ(p.message.code, code::kFetch);  // §4.2
  EXPECT_NE(p.message.Find(opt::kObserve), nullptr);
  auto in = server_.UnprotectRequest(p.message);
  ASSERT_TRUE(in) << in.error().message();
  std::vector<Message> notes;
  for (uint64_t i = 1; i <= 3; ++i) {
    Message n = SampleResponse();
    n.AddUint(opt::kObserve, i);
    auto protected_note = server_.ProtectResponse(in->binding(), n);  // own Partial IV forced
    ASSERT_TRUE(protected_note);
    EXPECT_NE(protected_note->Find(opt::kOscore)->value, Bytes{});
    EXPECT_EQ(protected_note->code, code::kContent);
    notes.push_back(*protected_note);
  }
  ASSERT_TRUE(client_.UnprotectResponse(p.pending, notes[0]));
  auto second = client_.UnprotectResponse(p.pending, notes[1]);
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_TRUE(client_.UnprotectResponse(p.pending, notes[1]).error().Is(kReplayDetected));
  ASSERT_TRUE(client_.UnprotectResponse(p.pending, notes[2]));
  EXPECT_TRUE(client_.UnprotectResponse(p.pending, notes[0]).error().Is(kReplayDetected));
}

}  // namespace
}  // namespace secprof::oscore

// Tests for secprof/domain/protocol.h (suites DomainProtocol*): every message survives
// Encode -> Decode unchanged, and the decoders are as strict as the header promises — a body that
// is not exactly one CBOR map, carries a label not listed for its message (or twice), lacks a
// required label, or has a value of the wrong type or size is refused with kInvalidInput.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "secprof/cbor/cbor.h"
#include "secprof/domain/protocol.h"

namespace secprof::domain {
namespace {

using cbor::Value;

Bytes Filled(size_t n, uint8_t b) { return Bytes(n, b); }
crypto::SecureBuffer Secret(size_t n, uint8_t b) { return crypto::SecureBuffer(Bytes(n, b)); }
Bytes SecretBytes(const crypto::SecureBuffer& s) { return Bytes(s.data(), s.data() + s.size()); }

// A CBOR map body built by hand (for the refusals the encoders can never produce).
Bytes MapOf(cbor::MapEntries e) { return cbor::Encode(Value::Map(std::move(e))); }
Value U(uint64_t v) { return Value::Unsigned(v); }

template <class R>
void ExpectInvalid(const R& r, const std::string& why) {
  ASSERT_FALSE(r) << why << ": decoded";
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidInput) << why << ": " << r.error().ToString();
}

TEST(DomainProtocolRoundTrip, JoinMessages) {
  auto nr = DecodeJoinNonceRequest(Encode(JoinNonceRequest{"ACME-0001"}));
  ASSERT_TRUE(nr) << nr.error().ToString();
  EXPECT_EQ(nr->serial, "ACME-0001");

  auto n = DecodeJoinNonce(Encode(JoinNonce{Filled(kNonceSize, 7), 1700000000}));
  ASSERT_TRUE(n) << n.error().ToString();
  EXPECT_EQ(n->nonce, Filled(kNonceSize, 7));
  EXPECT_EQ(n->expires, 1700000000);

  auto pr = DecodePskJoinRequest(
      Encode(PskJoinRequest{"ACME-0001", Filled(kNonceSize, 1), Filled(32, 2)}));
  ASSERT_TRUE(pr) << pr.error().ToString();
  EXPECT_EQ(pr->serial, "ACME-0001");
  EXPECT_EQ(pr->nonce, Filled(kNonceSize, 1));
  EXPECT_EQ(pr->proof, Filled(32, 2));

  auto ps = DecodePskJoinResponse(
      Encode(PskJoinResponse{"id-1", Filled(12 + 32 + 16, 3), 5684, "Home of Ada"}));
  ASSERT_TRUE(ps) << ps.error().ToString();
  EXPECT_EQ(ps->identity, "id-1");
  EXPECT_EQ(ps->sealed_psk, Filled(12 + 32 + 16, 3));
  EXPECT_EQ(ps->dtls_port, 5684);
  EXPECT_EQ(ps->owner, "Home of Ada");

  auto vr = DecodeVoucherResponse(
      Encode(VoucherResponse{Filled(100, 4), Filled(300, 5), Filled(400, 6)}));
  ASSERT_TRUE(vr) << vr.error().ToString();
  EXPECT_EQ(vr->voucher, Filled(100, 4));
  EXPECT_EQ(vr->domain_ca, Filled(300, 5));
  EXPECT_EQ(vr->kdc_chain, Filled(400, 6));

  auto er = DecodeEnrollRequest(Encode(EnrollRequest{Filled(200, 8)}));
  ASSERT_TRUE(er) << er.error().ToString();
  EXPECT_EQ(er->csr, Filled(200, 8));

  EnrollResponse e{Filled(500, 9), Filled(300, 10), Secret(32, 11)};
  auto es = DecodeEnrollResponse(Encode(e));
  ASSERT_TRUE(es) << es.error().ToString();
  EXPECT_EQ(es->ldevid, e.ldevid);
  EXPECT_EQ(es->domain_ca, e.domain_ca);
  EXPECT_EQ(SecretBytes(es->key), Filled(32, 11));
}

TEST(DomainProtocolRoundTrip, OperationalMessages) {
  auto st = DecodeStateReport(Encode(StateReport{"maintenance"}));
  ASSERT_TRUE(st) << st.error().ToString();
  EXPECT_EQ(st->state, "maintenance");

  auto pq = DecodePairKeyRequest(Encode(PairKeyRequest{"ACME-0002"}));
  ASSERT_TRUE(pq) << pq.error().ToString();
  EXPECT_EQ(pq->peer, "ACME-0002");

  PairKeyResponse p{Filled(16, 1), Secret(32, 2), Filled(90, 3), 1800000000};
  auto ps = DecodePairKeyResponse(Encode(p));
  ASSERT_TRUE(ps) << ps.error().ToString();
  EXPECT_EQ(ps->kid, p.kid);
  EXPECT_EQ(SecretBytes(ps->key), Filled(32, 2));
  EXPECT_EQ(ps->ticket, p.ticket);
  EXPECT_EQ(ps->expires, p.expires);

  auto gq = DecodeGroupKeyRequest(Encode(GroupKeyRequest{"floor-1.lights_a"}));
  ASSERT_TRUE(gq) << gq.error().ToString();
  EXPECT_EQ(gq->group, "floor-1.lights_a");

  GroupKeyResponse g;
  g.group = "floor-1";
  g.epoch = 3;
  g.key = Secret(32, 4);
  g.members = {{"ACME-0001", Filled(300, 5)}, {"ACME-0002", {}}};
  auto gs = DecodeGroupKeyResponse(Encode(g));
  ASSERT_TRUE(gs) << gs.error().ToString();
  EXPECT_EQ(gs->group, "floor-1");
  EXPECT_EQ(gs->epoch, 3);
  EXPECT_EQ(SecretBytes(gs->key), Filled(32, 4));
  ASSERT_EQ(gs->members.size(), 2u);
  EXPECT_EQ(gs->members[0].serial, "ACME-0001");
  EXPECT_EQ(gs->members[0].certificate, Filled(300, 5));
  EXPECT_EQ(gs->members[1].serial, "ACME-0002");
  EXPECT_TRUE(gs->members[1].certificate.empty());

  auto r = DecodeReading(Encode(Reading{"ACME-0001", -27315, 42}));  // absolute zero is allowed
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->serial, "ACME-0001");
  EXPECT_EQ(r->centi_celsius, -27315);
  EXPECT_EQ(r->counter, 42);

  for (bool on : {true, false}) {
    auto a = DecodeActuatorCommand(Encode(ActuatorCommand{on}));
    ASSERT_TRUE(a) << a.error().ToString();
    EXPECT_EQ(a->on, on);
  }

  auto im = DecodePairImprint(Encode(PairImprint{"MOTHER-1", Secret(32, 6)}));
  ASSERT_TRUE(im) << im.error().ToString();
  EXPECT_EQ(im->mother, "MOTHER-1");
  EXPECT_EQ(SecretBytes(im->domain_key), Filled(32, 6));
}

TEST(DomainProtocolRoundTrip, FirmwareMessages) {
  auto q = DecodeFirmwareOfferRequest(Encode(FirmwareOfferRequest{7}));
  ASSERT_TRUE(q) << q.error().ToString();
  EXPECT_EQ(q->running_sequence, 7u);

  FirmwareOffer o{2, 5, 8, 1200, 262144};
  auto od = DecodeFirmwareOffer(Encode(o));
  ASSERT_TRUE(od) << od.error().ToString();
  EXPECT_EQ(od->campaign, 2);
  EXPECT_EQ(od->firmware, 5);
  EXPECT_EQ(od->sequence, 8u);
  EXPECT_EQ(od->envelope_size, 1200u);
  EXPECT_EQ(od->image_size, 262144u);

  // An empty detail is allowed (a successful install has nothing to say).
  for (const std::string& detail : {std::string(), std::string("rollback: 7 <= 8")}) {
    auto s = DecodeFirmwareStatus(Encode(FirmwareStatus{2, detail.empty(), detail, 8}));
    ASSERT_TRUE(s) << s.error().ToString();
    EXPECT_EQ(s->campaign, 2);
    EXPECT_EQ(s->ok, detail.empty());
    EXPECT_EQ(s->detail, detail);
    EXPECT_EQ(s->running_sequence, 8u);
  }
}

TEST(DomainProtocolStrict, RefusesWhatIsNotOneMap) {
  ExpectInvalid(DecodeJoinNonceRequest({}), "empty body");
  ExpectInvalid(DecodeJoinNonceRequest(Bytes{0xff}), "not well-formed");
  ExpectInvalid(DecodeJoinNonceRequest(cbor::Encode(Value::MakeArray({Value::Text("ACME-0001")}))),
                "an array");
  ExpectInvalid(DecodeJoinNonceRequest(cbor::Encode(Value::Text("ACME-0001"))), "a text string");
  Bytes two_maps = Encode(JoinNonceRequest{"ACME-0001"});
  const Bytes again = two_maps;
  two_maps.insert(two_maps.end(), again.begin(), again.end());
  ExpectInvalid(DecodeJoinNonceRequest(two_maps), "two maps back to back");
  // An indefinite-length map {_ 1: "ACME-0001"}.
  Bytes indefinite = {0xbf, 0x01, 0x69};
  for (char c : std::string("ACME-0001")) indefinite.push_back(static_cast<uint8_t>(c));
  indefinite.push_back(0xff);
  ExpectInvalid(DecodeJoinNonceRequest(indefinite), "indefinite-length map");
}

TEST(DomainProtocolStrict, RefusesUnknownDuplicateAndNonIntegerLabels) {
  ExpectInvalid(DecodeJoinNonceRequest(
                    MapOf({{U(1), Value::Text("ACME-0001")}, {U(2), Value::Text("extra")}})),
                "label 2 is not a join nonce request's");
  ExpectInvalid(DecodeJoinNonceRequest(
                    MapOf({{U(1), Value::Text("ACME-0001")}, {U(1), Value::Text("ACME-0002")}})),
                "label 1 twice");
  ExpectInvalid(DecodeJoinNonceRequest(MapOf({{Value::Text("serial"), Value::Text("ACME-0001")}})),
                "a text key");
  ExpectInvalid(DecodeJoinNonceRequest(MapOf({{Value::Int(-1), Value::Text("ACME-0001")}})),
                "a negative key");
  ExpectInvalid(DecodeJoinNonceRequest(MapOf({{U(256), Value::Text("ACME-0001")}})),
                "a key above 255");
}

TEST(DomainProtocolStrict, RefusesMissingLabelsAndWrongTypes) {
  ExpectInvalid(DecodeJoinNonceRequest(MapOf({})), "no serial");
  ExpectInvalid(DecodeJoinNonceRequest(MapOf({{U(1), Value::ByteString(Filled(9, 0x41))}})),
                "serial as bytes");
  ExpectInvalid(DecodePskJoinRequest(MapOf({{U(1), Value::Text("ACME-0001")},
                                            {U(2), Value::ByteString(Filled(kNonceSize, 1))}})),
                "no proof");
  ExpectInvalid(DecodeActuatorCommand(MapOf({{U(1), U(1)}})), "on as an integer");
  ExpectInvalid(DecodeReading(MapOf(
                    {{U(1), Value::Text("ACME-0001")}, {U(2), Value::Text("21.5")}, {U(3), U(1)}})),
                "temperature as text");
  ExpectInvalid(DecodeGroupKeyResponse(MapOf({{U(1), Value::Text("g")},
                                              {U(2), U(1)},
                                              {U(3), Value::ByteString(Filled(32, 1))},
                                              {U(4), Value::Text("everyone")}})),
                "members not an array");
  ExpectInvalid(DecodeGroupKeyResponse(
                    MapOf({{U(1), Value::Text("g")},
                           {U(2), U(1)},
                           {U(3), Value::ByteString(Filled(32, 1))},
                           {U(4), Value::MakeArray({Value::MakeArray({Value::Text("A")})})}})),
                "a member without its certificate");
}

TEST(DomainProtocolStrict, RefusesValuesOutOfRange) {
  ExpectInvalid(DecodeJoinNonce(Encode(JoinNonce{Filled(kNonceSize - 1, 1), 1})), "short nonce");
  ExpectInvalid(DecodeJoinNonce(Encode(JoinNonce{Filled(kNonceSize + 1, 1), 1})), "long nonce");
  ExpectInvalid(DecodeJoinNonce(Encode(JoinNonce{Filled(kNonceSize, 1), -1})), "negative expiry");
  ExpectInvalid(DecodePskJoinRequest(
                    Encode(PskJoinRequest{"ACME-0001", Filled(kNonceSize, 1), Filled(31, 2)})),
                "31-byte proof");
  ExpectInvalid(
      DecodePskJoinResponse(Encode(PskJoinResponse{"id", Filled(12 + 16 + 15, 1), 5684, "o"})),
      "sealed PSK below 12 + 16 + 16 bytes");
  ExpectInvalid(
      DecodePskJoinResponse(Encode(PskJoinResponse{"id", Filled(12 + 32 + 16, 1), 0, "o"})),
      "port 0");
  ExpectInvalid(
      DecodePskJoinResponse(Encode(PskJoinResponse{"id", Filled(12 + 32 + 16, 1), 5684, ""})),
      "empty owner");
  ExpectInvalid(DecodePskJoinResponse(Encode(PskJoinResponse{"id", Filled(12 + 32 + 16, 1), 5684,
                                                             std::string(kMaxOwner + 1, 'o')})),
                "owner longer than an X.509 O");
  ExpectInvalid(
      DecodeEnrollResponse(Encode(EnrollResponse{Filled(5, 1), Filled(5, 2), Secret(16, 3)})),
      "16-byte pairwise key");
  ExpectInvalid(DecodePairKeyResponse(
                    Encode(PairKeyResponse{Filled(15, 1), Secret(32, 2), Filled(10, 3), 1})),
                "15-byte kid");
  ExpectInvalid(DecodeGroupKeyResponse(Encode(GroupKeyResponse{"g", 0, Secret(32, 1), {}})),
                "epoch 0");
  ExpectInvalid(DecodeReading(Encode(Reading{"ACME-0001", -27316, 0})), "below absolute zero");
  ExpectInvalid(DecodeFirmwareOffer(Encode(FirmwareOffer{0, 1, 1, 100, 100})), "campaign 0");
  ExpectInvalid(DecodeFirmwareOffer(Encode(FirmwareOffer{1, 1, 1, 0, 100})), "empty envelope");
  ExpectInvalid(DecodeFirmwareStatus(Encode(FirmwareStatus{1, false, std::string(1025, 'x'), 1})),
                "detail over 1024 bytes");
  ExpectInvalid(DecodeStateReport(Encode(StateReport{""})), "empty state");
  ExpectInvalid(DecodeStateReport(Encode(StateReport{std::string(33, 'o')})), "33-byte state");
}

TEST(DomainProtocolStrict, SerialsAndGroupNames) {
  EXPECT_TRUE(ValidateSerial("ACME-0001"));
  EXPECT_TRUE(ValidateSerial(std::string(kMaxSerial, 'A')));
  for (const std::string& bad :
       {std::string(), std::string(kMaxSerial + 1, 'A'), std::string("ACME 0001"),
        std::string("ACME/0001"), std::string("ACME?0001"), std::string("ACME&0001"),
        std::string("ACME;0001"), std::string("ACME\x7f"), std::string("ACME\n")}) {
    auto s = ValidateSerial(bad);
    ASSERT_FALSE(s) << "'" << bad << "' accepted";
    EXPECT_EQ(s.error().code(), ErrorCode::kInvalidInput);
    // The decoders apply the same rule to the serials they carry.
    ExpectInvalid(DecodeJoinNonceRequest(Encode(JoinNonceRequest{bad})), "serial '" + bad + "'");
    ExpectInvalid(DecodePairKeyRequest(Encode(PairKeyRequest{bad})), "peer '" + bad + "'");
  }

  EXPECT_TRUE(ValidateGroupName("floor-1.lights_A"));
  EXPECT_TRUE(ValidateGroupName(std::string(64, 'g')));
  for (const std::string& bad : {std::string(), std::string(65, 'g'), std::string("floor 1"),
                                 std::string("floor/1"), std::string("floor:1")}) {
    auto s = ValidateGroupName(bad);
    ASSERT_FALSE(s) << "'" << bad << "' accepted";
    EXPECT_EQ(s.error().code(), ErrorCode::kInvalidInput);
    ExpectInvalid(DecodeGroupKeyRequest(Encode(GroupKeyRequest{bad})), "group '" + bad + "'");
  }
}

TEST(DomainProtocol, FirmwareIdsAreVersion8UuidsBoundToVendorAndModel) {
  const Bytes v = FirmwareVendorId("Acme");
  const Bytes c = FirmwareClassId("Acme", "Sensor-1");
  for (const Bytes& id : {v, c}) {
    ASSERT_EQ(id.size(), 16u);
    EXPECT_EQ(id[6] >> 4, 0x8) << "RFC 9562 §5.8: version 8";
    EXPECT_EQ(id[8] >> 6, 0x2) << "RFC 9562 §4.1: variant 10";
  }
  EXPECT_EQ(v, FirmwareVendorId("Acme"));
  EXPECT_NE(v, FirmwareVendorId("Bolt"));
  EXPECT_NE(c, FirmwareClassId("Acme", "Sensor-2"));
  EXPECT_NE(c, FirmwareClassId("Bolt", "Sensor-1"));
  // The 0x00 separator keeps ("Ac", "meSensor-1") apart from ("Acme", "Sensor-1").
  EXPECT_NE(FirmwareClassId("Ac", "meSensor-1"), FirmwareClassId("Acme", "Sensor-1"));
}

// The reading's temperature rule (moved out of `secprof thing report --celsius`).
TEST(DomainProtocolReading, CentiCelsiusRoundsAndRefusesTheImpossible) {
  EXPECT_EQ(CentiCelsius(21.5).value_or(-1), 2150);
  EXPECT_EQ(CentiCelsius(-273.15).value_or(-1), -27315);
  EXPECT_EQ(CentiCelsius(10000).value_or(-1), 1000000);
  EXPECT_EQ(CentiCelsius(0.004).value_or(-1), 0);
  EXPECT_EQ(CentiCelsius(0.005).value_or(-1), 1);  // to the nearest, halves away from zero
  for (double bad : {-273.16, 10000.01, std::nan(""), std::numeric_limits<double>::infinity(),
                     -std::numeric_limits<double>::infinity()}) {
    auto c = CentiCelsius(bad);
    ASSERT_FALSE(c) << bad;
    EXPECT_EQ(c.error().code(), ErrorCode::kInvalidInput);
  }
}

}  // namespace
}  // namespace secprof::domain

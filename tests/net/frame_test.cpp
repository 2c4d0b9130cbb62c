// IEEE 802.15.4 frames and CCM* link security: the layout, strict parsing, and the attacks a
// link layer must stop (forgery, replay, downgrade to an unsecured frame, a key not held).
#include <gtest/gtest.h>

#include <string>

#include "secprof/net/frame.h"

namespace secprof::net {
namespace {

std::shared_ptr<LinkKey> Key(uint8_t fill) {
  auto k = LinkKey::Create(Bytes(16, fill));
  EXPECT_TRUE(k.has_value());
  return *k;
}

// Recomputes the FCS after a deliberate change, so the frame reaches the MIC check.
void Refcs(Bytes& f) {
  const uint16_t c = Crc16Itu(ByteView(f.data(), f.size() - 2));
  f[f.size() - 2] = static_cast<uint8_t>(c);
  f[f.size() - 1] = static_cast<uint8_t>(c >> 8);
}

TEST(NetFrame, CrcIsTheItuCrc16) {
  // The CRC catalogue's check value of CRC-16/KERMIT (the 802.15.4 FCS): "123456789" -> 0x2189.
  const std::string s = "123456789";
  EXPECT_EQ(Crc16Itu(ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size())), 0x2189);
}

TEST(NetFrame, SealedFramesOpenAndFollowTheLayout) {
  auto key = Key(7);
  const Bytes payload = {1, 2, 3, 4, 5};
  for (SecurityLevel level :
       {SecurityLevel::kNone, SecurityLevel::kMic64, SecurityLevel::kEncMic64}) {
    LinkLayer a(1, level, key), b(2, level, key);
    auto f = a.Seal(2, 9, payload);
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->size(), payload.size() + a.overhead());
    auto v = ParseFrame(*f);
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(v->source, 1);
    EXPECT_EQ(v->destination, 2);
    EXPECT_EQ(v->sequence, 9);
    EXPECT_TRUE(v->ack_request);
    EXPECT_EQ(v->secured, level != SecurityLevel::kNone);
    EXPECT_EQ(v->level, static_cast<uint8_t>(level));
    // Encrypted levels hide the payload; MIC-only levels carry it in the clear.
    const bool clear = Bytes(v->payload.begin(), v->payload.end()) == payload;
    EXPECT_EQ(clear, level != SecurityLevel::kEncMic64);
    auto p = b.Open(*f);
    ASSERT_TRUE(p.has_value()) << p.error().ToString();
    EXPECT_EQ(*p, payload);
  }
}

TEST(NetFrame, RefusesFramesOver127Bytes) {
  LinkLayer a(1, SecurityLevel::kMic64, Key(1));
  EXPECT_TRUE(a.Seal(2, 0, Bytes(127 - a.overhead(), 0)).has_value());
  auto big = a.Seal(2, 0, Bytes(128 - a.overhead(), 0));
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().code(), ErrorCode::kLimit);
  EXPECT_FALSE(ParseFrame(Bytes(128, 0)).has_value());
}

TEST(NetFrame, ParserRefusesMalformedFrames) {
  LinkLayer a(1, SecurityLevel::kEncMic64, Key(1));
  auto f = a.Seal(kBroadcastAddress, 0, Bytes{1, 2, 3});
  ASSERT_TRUE(f.has_value());
  for (size_t n = 0; n < f->size(); ++n) {
    EXPECT_FALSE(ParseFrame(ByteView(f->data(), n)).has_value()) << n;
  }
  Bytes fcs = *f;
  fcs.back() ^= 1;
  EXPECT_FALSE(ParseFrame(fcs).has_value());
  Bytes ack_type = *f;
  ack_type[0] = (ack_type[0] & 0xF8) | 2;  // an acknowledgement frame
  Refcs(ack_type);
  EXPECT_FALSE(ParseFrame(ack_type).has_value());
  Bytes level = *f;
  level[9] = (level[9] & 0xF8) | 5;  // ENC-MIC-32: not accepted
  Refcs(level);
  EXPECT_FALSE(ParseFrame(level).has_value());
}

TEST(NetFrame, ForgedFrameIsDroppedAndChangesNoState) {
  auto key = Key(3);
  LinkLayer a(1, SecurityLevel::kMic64, key), b(2, SecurityLevel::kMic64, key);
  auto f = a.Seal(2, 0, Bytes{10, 20, 30});
  ASSERT_TRUE(f.has_value());
  Bytes forged = *f;
  forged[16] ^= 0x01;  // a payload byte (header 15 bytes)
  Refcs(forged);
  auto r = b.Open(forged);
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().Is(kLinkForged));
  // A forged frame with a huge counter must not advance the replay window either.
  Bytes high = *f;
  high[10] = high[11] = high[12] = 0xFF;
  high[13] = 0x7F;
  Refcs(high);
  EXPECT_TRUE(b.Open(high).error().Is(kLinkForged));
  EXPECT_TRUE(b.Open(*f).has_value());  // the genuine frame still gets through
}

TEST(NetFrame, ReplayedFrameIsDropped) {
  auto key = Key(4);
  LinkLayer a(1, SecurityLevel::kEncMic64, key), b(2, SecurityLevel::kEncMic64, key);
  auto f1 = a.Seal(2, 0, Bytes{1});
  auto f2 = a.Seal(2, 1, Bytes{2});
  ASSERT_TRUE(f1 && f2);
  ASSERT_TRUE(b.Open(*f2).has_value());
  EXPECT_TRUE(b.Open(*f2).error().Is(kLinkReplay));  // the same frame again
  EXPECT_TRUE(b.Open(*f1).error().Is(kLinkReplay));  // an older frame
  auto f3 = a.Seal(2, 2, Bytes{3});
  ASSERT_TRUE(f3.has_value());
  EXPECT_TRUE(b.Open(*f3).has_value());  // fresh frames still pass
}

TEST(NetFrame, OutsiderWithoutTheKeyAndUnsecuredFramesAreDropped) {
  LinkLayer honest(2, SecurityLevel::kMic64, Key(5));
  LinkLayer outsider(9, SecurityLevel::kMic64, Key(6));
  auto forged = outsider.Seal(2, 0, Bytes{1, 2});
  ASSERT_TRUE(forged.has_value());
  EXPECT_TRUE(honest.Open(*forged).error().Is(kLinkForged));
  LinkLayer plain(9, SecurityLevel::kNone, nullptr);
  auto unsecured = plain.Seal(2, 0, Bytes{1, 2});
  ASSERT_TRUE(unsecured.has_value());
  EXPECT_TRUE(honest.Open(*unsecured).error().Is(kLinkUnsecured));
  // A SecProf_3/4 node (ENC-MIC-64) refuses a MIC-only frame under the right key: a downgrade.
  auto key = Key(8);
  LinkLayer mic_only(9, SecurityLevel::kMic64, key), enc(2, SecurityLevel::kEncMic64, key);
  EXPECT_TRUE(enc.Open(*mic_only.Seal(2, 0, Bytes{1})).error().Is(kLinkUnsecured));
}

}  // namespace
}  // namespace secprof::net

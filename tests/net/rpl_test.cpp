// RPL codecs (RFC 6550 §6): round trips, the wire layout of the RFC's figures, strict refusal of
// malformed input; OF0 ranks (RFC 6552 §4.1).
#include <gtest/gtest.h>

#include "secprof/net/rpl.h"

namespace secprof::net {
namespace {

Ipv6Address Addr(uint8_t last) {
  Ipv6Address a{};
  a[0] = 0xFD;
  a[15] = last;
  return a;
}

TEST(NetRpl, RoundTripsEveryMessage) {
  Dio dio;
  dio.instance_id = 30;
  dio.version = 240;
  dio.rank = 1024;
  dio.dtsn = 7;
  dio.dodag_id = Addr(1);
  dio.config = DodagConfig{};
  Dao dao{30,
          true,
          0,
          5,
          Addr(1),
          {TargetFor(Addr(9)), TargetFor(Addr(10))},
          TransitInfo{false, 0, 3, 0xFF, std::nullopt}};
  Dao dao_np{30,
             false,
             0,
             6,
             std::nullopt,
             {RplTarget{64, Bytes(8, 0xFD)}},
             TransitInfo{true, 1, 2, 3, Addr(4)}};
  for (const RplMessage& m :
       {RplMessage{Dis{}}, RplMessage{dio}, RplMessage{Dio{}}, RplMessage{dao}, RplMessage{dao_np},
        RplMessage{DaoAck{30, 5, 0, std::nullopt}}, RplMessage{DaoAck{30, 5, 130, Addr(1)}}}) {
    const Bytes wire = EncodeRpl(m);
    auto back = DecodeRpl(wire);
    ASSERT_TRUE(back.has_value()) << back.error().ToString();
    EXPECT_EQ(*back, m);
  }
}

TEST(NetRpl, DioLayoutFollowsFigure14) {
  Dio dio;
  dio.instance_id = 0x1E;
  dio.version = 0xF0;
  dio.rank = 0x0300;
  dio.grounded = true;
  dio.mop = kMopStoring;
  dio.preference = 5;
  dio.dtsn = 0x11;
  dio.dodag_id = Addr(0xAA);
  const Bytes w = EncodeRpl(dio);
  ASSERT_EQ(w.size(), 4u + 24u);
  EXPECT_EQ(w[0], 155);   // ICMPv6 type
  EXPECT_EQ(w[1], 0x01);  // DIO code
  EXPECT_EQ(w[4], 0x1E);
  EXPECT_EQ(w[5], 0xF0);
  EXPECT_EQ(w[6], 0x03);
  EXPECT_EQ(w[7], 0x00);
  EXPECT_EQ(w[8], 0x80 | (2 << 3) | 5);  // G | 0 | MOP | Prf
  EXPECT_EQ(w[9], 0x11);
  EXPECT_EQ(w[12], 0xFD);
  EXPECT_EQ(w[27], 0xAA);
}

TEST(NetRpl, ConfigOptionFollowsFigure24) {
  Dio dio;
  dio.config = DodagConfig{};
  const Bytes w = EncodeRpl(dio);
  ASSERT_EQ(w.size(), 4u + 24u + 16u);
  const uint8_t* o = &w[28];
  EXPECT_EQ(o[0], 0x04);
  EXPECT_EQ(o[1], 14);
  EXPECT_EQ(o[3], 8);   // DIOIntDoubl.
  EXPECT_EQ(o[4], 12);  // DIOIntMin.
  EXPECT_EQ(o[5], 10);  // DIORedun.
  EXPECT_EQ(o[8], 1);   // MinHopRankIncrease 256 (big-endian)
  EXPECT_EQ(o[9], 0);
}

TEST(NetRpl, RefusesMalformedInputWithoutCrashing) {
  Dio dio;
  dio.config = DodagConfig{};
  const Bytes good = EncodeRpl(dio);
  // Every truncation of a valid DIO is refused.
  for (size_t n = 0; n < good.size(); ++n) {
    if (n == 28) continue;  // a DIO without its option is itself valid
    EXPECT_FALSE(DecodeRpl(ByteView(good.data(), n)).has_value()) << n;
  }
  Bytes wrong_type = good;
  wrong_type[0] = 154;
  EXPECT_EQ(DecodeRpl(wrong_type).error().code(), ErrorCode::kInvalidInput);
  Bytes unknown_code = good;
  unknown_code[1] = 0x09;
  EXPECT_EQ(DecodeRpl(unknown_code).error().code(), ErrorCode::kInvalidInput);
  Bytes secure = good;
  secure[1] = 0x81;
  EXPECT_EQ(DecodeRpl(secure).error().code(), ErrorCode::kUnsupported);
  Bytes bad_len = good;
  bad_len[29] = 13;  // DODAG Configuration must be 14 bytes
  EXPECT_FALSE(DecodeRpl(bad_len).has_value());
  Bytes overrun = good;
  overrun[29] = 200;
  EXPECT_FALSE(DecodeRpl(overrun).has_value());
  Bytes two_configs = good;
  two_configs.insert(two_configs.end(), good.begin() + 28, good.end());
  EXPECT_FALSE(DecodeRpl(two_configs).has_value());
  Bytes zero_bit = good;
  zero_bit[8] |= 0x40;
  EXPECT_FALSE(DecodeRpl(zero_bit).has_value());
}

TEST(NetRpl, RefusesInconsistentDaoOptions) {
  Dao dao{30,
          true,
          0,
          1,
          std::nullopt,
          {TargetFor(Addr(2))},
          TransitInfo{false, 0, 1, 0xFF, std::nullopt}};
  const Bytes good = EncodeRpl(dao);
  ASSERT_TRUE(DecodeRpl(good).has_value());
  Bytes prefix_mismatch = good;
  prefix_mismatch[8 + 3] = 120;  // prefix length 120 needs 15 bytes, 16 are there
  EXPECT_FALSE(DecodeRpl(prefix_mismatch).has_value());
  Dao transit_first{30, false, 0, 1, std::nullopt, {}, TransitInfo{}};
  EXPECT_FALSE(DecodeRpl(EncodeRpl(transit_first)).has_value());
  Bytes padn_long = EncodeRpl(Dis{});
  padn_long.insert(padn_long.end(), {kOptPadN, 6, 0, 0, 0, 0, 0, 0});
  EXPECT_FALSE(DecodeRpl(padn_long).has_value());
  Bytes pad_ok = EncodeRpl(Dis{});
  pad_ok.insert(pad_ok.end(), {kOptPad1, kOptPadN, 1, 0});
  EXPECT_TRUE(DecodeRpl(pad_ok).has_value());
  Bytes ack_reserved = EncodeRpl(DaoAck{});
  ack_reserved[5] = 0x01;
  EXPECT_FALSE(DecodeRpl(ack_reserved).has_value());
}

TEST(NetRpl, Of0RankFollowsRfc6552) {
  // RFC 6552 §4.1 with the defaults of §6.1: rank_increase = (1 * 3 + 0) * 256 = 768.
  EXPECT_EQ(Of0Rank(256, 256), 1024);
  EXPECT_EQ(Of0Rank(1024, 256), 1792);
  EXPECT_EQ(Of0Rank(256, 256, Of0Params{2, 1, 5}), 256 + 7 * 256);
  EXPECT_EQ(Of0Rank(65000, 256), kInfiniteRank);  // saturates (RFC 6550 §17)
  EXPECT_EQ(DagRank(1792, 256), 7);
}

}  // namespace
}  // namespace secprof::net

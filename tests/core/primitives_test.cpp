// Tests of the primitives with one home: core/hex.h, core/bytes.h, UnixSeconds (core/clock.h)
// and core/enum_names.h.
#include <gtest/gtest.h>

#include <chrono>

#include "secprof/core/bytes.h"
#include "secprof/core/clock.h"
#include "secprof/core/enum_names.h"
#include "secprof/core/hex.h"

namespace secprof {
namespace {

TEST(HexTest, ToHexIsLowerCaseTwoDigitsPerByte) {
  EXPECT_EQ(ToHex(Bytes{}), "");
  EXPECT_EQ(ToHex(Bytes{0x00, 0x0f, 0xa0, 0xff, 0x5c}), "000fa0ff5c");
}

TEST(HexTest, FromHexRoundTripsAndAcceptsEitherCase) {
  Bytes all(256);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint8_t>(i);
  auto back = FromHex(ToHex(all));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, all);
  auto upper = FromHex("DEADbeef");
  ASSERT_TRUE(upper);
  EXPECT_EQ(*upper, (Bytes{0xde, 0xad, 0xbe, 0xef}));
  auto empty = FromHex("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(HexTest, FromHexRefusesOddLengthAndNonHex) {
  auto odd = FromHex("abc");
  ASSERT_FALSE(odd);
  EXPECT_EQ(odd.error().code(), ErrorCode::kInvalidInput);
  for (const char* bad : {"0g", "zz", "ab cd", "ab\n", "0x00", "-1", "\xff\xff"}) {
    auto r = FromHex(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidInput) << bad;
  }
  auto where = FromHex("00g0");
  ASSERT_FALSE(where);
  EXPECT_NE(where.error().message().find("position 2"), std::string::npos)
      << where.error().message();
}

TEST(HexTest, FromHexIntoFillsExactlyTheBuffer) {
  uint8_t out[3] = {};
  ASSERT_TRUE(FromHexInto("0aFf10", out));
  EXPECT_EQ(out[0], 0x0a);
  EXPECT_EQ(out[1], 0xff);
  EXPECT_EQ(out[2], 0x10);
  EXPECT_FALSE(FromHexInto("0aff", out));      // too short
  EXPECT_FALSE(FromHexInto("0aff1000", out));  // too long
  auto bad = FromHexInto("0aXf10", out);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidInput);
  EXPECT_NE(bad.error().message().find("position 2"), std::string::npos);
}

TEST(HexTest, FromHexIgnoringSpaceSkipsOnlyWhitespace) {
  auto r = FromHexIgnoringSpace(" de ad\r\n\tBE ef ");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (Bytes{0xde, 0xad, 0xbe, 0xef}));
  EXPECT_FALSE(FromHexIgnoringSpace("de:ad"));
  EXPECT_FALSE(FromHexIgnoringSpace("d e a"));  // five digits: odd
}

TEST(BytesTest, PutBigAppendsMostSignificantFirst) {
  Bytes b;
  PutBig16(b, 0x0102);
  PutBig32(b, 0x03040506);
  PutBig64(b, 0x0708090a0b0c0d0eULL);
  EXPECT_EQ(b, (Bytes{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}));
  EXPECT_EQ(GetBig16(b), 0x0102);
  EXPECT_EQ(GetBig32(ByteView(b).subspan(2)), 0x03040506u);
  EXPECT_EQ(GetBig64(ByteView(b).subspan(6)), 0x0708090a0b0c0d0eULL);
  EXPECT_EQ(GetBigN(ByteView(b).subspan(6), 3), 0x070809u);
  EXPECT_EQ(GetBigN(b, 0), 0u);
}

TEST(BytesTest, StoreBigAndGetBigAreInverse) {
  uint8_t buf[8];
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{0xff00ff00ff00ff00ULL}, ~uint64_t{0}}) {
    StoreBig64(buf, v);
    EXPECT_EQ(GetBig64(buf), v);
    StoreBig32(buf, static_cast<uint32_t>(v));
    EXPECT_EQ(GetBig32(buf), static_cast<uint32_t>(v));
    StoreBig16(buf, static_cast<uint16_t>(v));
    EXPECT_EQ(GetBig16(buf), static_cast<uint16_t>(v));
  }
  StoreBig32(buf, 0xa1b2c3d4);
  EXPECT_EQ(buf[0], 0xa1);
  EXPECT_EQ(buf[3], 0xd4);
}

TEST(BytesTest, LengthPrefixed32) {
  Bytes b;
  PutLengthPrefixed32(b, Bytes{0xaa, 0xbb});
  PutLengthPrefixed32(b, Bytes{});
  EXPECT_EQ(b, (Bytes{0, 0, 0, 2, 0xaa, 0xbb, 0, 0, 0, 0}));
}

TEST(ClockTest, UnixSecondsIsWholeSecondsSinceTheEpoch) {
  using namespace std::chrono;
  FakeClock c(system_clock::time_point(seconds(1'700'000'000)));
  EXPECT_EQ(UnixSeconds(c), 1'700'000'000);
  c.Advance(milliseconds(999));
  EXPECT_EQ(UnixSeconds(c), 1'700'000'000);
  c.Advance(milliseconds(1));
  EXPECT_EQ(UnixSeconds(c), 1'700'000'001);
  FakeClock epoch;
  EXPECT_EQ(UnixSeconds(epoch), 0);
  const int64_t now = UnixSeconds(SystemClock());
  EXPECT_GT(now, 1'600'000'000);  // after September 2020: the real clock, in seconds
}

enum class Color { kRed = 1, kGreen = 2, kBlue = 7 };
constexpr EnumName<Color> kColorNames[] = {
    {Color::kRed, "red"}, {Color::kGreen, "green"}, {Color::kBlue, "blue"}};

TEST(EnumNamesTest, NamesBothWays) {
  static_assert(ValueOf(kColorNames, "green") == Color::kGreen);
  EXPECT_STREQ(NameOf(kColorNames, Color::kBlue, "?"), "blue");
  EXPECT_STREQ(NameOf(kColorNames, static_cast<Color>(3), "?"), "?");
  EXPECT_EQ(ValueOf(kColorNames, "red"), Color::kRed);
  EXPECT_EQ(ValueOf(kColorNames, "Red"), std::nullopt);
  EXPECT_EQ(ValueOf(kColorNames, ""), std::nullopt);
  EXPECT_EQ(NamesOf(kColorNames), "red, green, blue");
  EXPECT_EQ(NamesOf(kColorNames, " or "), "red or green or blue");
}

}  // namespace
}  // namespace secprof

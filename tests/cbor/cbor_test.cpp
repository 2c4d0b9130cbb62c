// Tests for secprof::cbor: RFC 8949 Appendix A (encode, decode, diagnostic notation), the
// not-well-formed examples of RFC 8949 Appendix F.1, limits and deterministic encoding. The
// `secprof cbor diag` command is tests/cli/cbor_cli_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "secprof/cbor/cbor.h"
#include "testutil.h"

namespace secprof::cbor {
namespace {

Bytes H(std::string_view hex) {
  auto b = FromHex(hex);
  EXPECT_TRUE(b) << hex;
  return b ? *b : Bytes{};
}

// ---- RFC 8949 Appendix A, Table 6 ("Examples of Encoded CBOR Data Items") -------------------
// Each row: diagnostic notation and encoding as printed in the RFC. `preferred` is true when
// the encoding is the preferred serialization, i.e. what Encode must produce for the decoded
// value; the rows with non-preferred floats and indefinite lengths only decode.
struct AppendixA {
  const char* diag;
  const char* hex;
  bool preferred;
};

const AppendixA kAppendixA[] = {
    {"0", "00", true},
    {"1", "01", true},
    {"10", "0a", true},
    {"23", "17", true},
    {"24", "1818", true},
    {"25", "1819", true},
    {"100", "1864", true},
    {"1000", "1903e8", true},
    {"1000000", "1a000f4240", true},
    {"1000000000000", "1b000000e8d4a51000", true},
    {"18446744073709551615", "1bffffffffffffffff", true},
    {"2(h'010000000000000000')", "c249010000000000000000", true},  // bignum 2^64
    {"-18446744073709551616", "3bffffffffffffffff", true},
    {"3(h'010000000000000000')", "c349010000000000000000", true},  // bignum -2^64-1
    {"-1", "20", true},
    {"-10", "29", true},
    {"-100", "3863", true},
    {"-1000", "3903e7", true},
    {"0.0", "f90000", true},
    {"-0.0", "f98000", true},
    {"1.0", "f93c00", true},
    {"1.1", "fb3ff199999999999a", true},
    {"1.5", "f93e00", true},
    {"65504.0", "f97bff", true},
    {"100000.0", "fa47c35000", true},
    {"3.4028234663852886e+38", "fa7f7fffff", true},
    {"1.0e+300", "fb7e37e43c8800759c", true},
    {"5.960464477539063e-8", "f90001", true},
    {"0.00006103515625", "f90400", true},
    {"-4.0", "f9c400", true},
    {"-4.1", "fbc010666666666666", true},
    {"Infinity", "f97c00", true},
    {"NaN", "f97e00", true},
    {"-Infinity", "f9fc00", true},
    {"Infinity", "fa7f800000", false},
    {"NaN", "fa7fc00000", false},
    {"-Infinity", "faff800000", false},
    {"Infinity", "fb7ff0000000000000", false},
    {"NaN", "fb7ff8000000000000", false},
    {"-Infinity", "fbfff0000000000000", false},
    {"false", "f4", true},
    {"true", "f5", true},
    {"null", "f6", true},
    {"undefined", "f7", true},
    {"simple(16)", "f0", true},
    {"simple(255)", "f8ff", true},
    {"0(\"2013-03-21T20:04:00Z\")", "c074323031332d30332d32315432303a30343a30305a", true},
    {"1(1363896240)", "c11a514b67b0", true},
    {"1(1363896240.5)", "c1fb41d452d9ec200000", true},
    {"23(h'01020304')", "d74401020304", true},
    {"24(h'6449455446')", "d818456449455446", true},
    {"32(\"http://www.example.com\")", "d82076687474703a2f2f7777772e6578616d706c652e636f6d", true},
    {"h''", "40", true},
    {"h'01020304'", "4401020304", true},
    {"\"\"", "60", true},
    {"\"a\"", "6161", true},
    {"\"IETF\"", "6449455446", true},
    {"\"\\\"\\\\\"", "62225c", true},
    {"\"\\u00fc\"", "62c3bc", true},
    {"\"\\u6c34\"", "63e6b0b4", true},
    {"\"\\ud800\\udd51\"", "64f0908591", true},
    {"[]", "80", true},
    {"[1, 2, 3]", "83010203", true},
    {"[1, [2, 3], [4, 5]]", "8301820203820405", true},
    {"[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25]",
     "98190102030405060708090a0b0c0d0e0f101112131415161718181819", true},
    {"{}", "a0", true},
    {"{1: 2, 3: 4}", "a201020304", true},
    {"{\"a\": 1, \"b\": [2, 3]}", "a26161016162820203", true},
    {"[\"a\", {\"b\": \"c\"}]", "826161a161626163", true},
    {"{\"a\": \"A\", \"b\": \"B\", \"c\": \"C\", \"d\": \"D\", \"e\": \"E\"}",
     "a56161614161626142616361436164614461656145", true},
    // Indefinite lengths: the data model value is shown in its definite form (see cbor.h).
    {"h'0102030405'", "5f42010243030405ff", false},
    {"\"streaming\"", "7f657374726561646d696e67ff", false},
    {"[]", "9fff", false},
    {"[1, [2, 3], [4, 5]]", "9f018202039f0405ffff", false},
    {"[1, [2, 3], [4, 5]]", "9f01820203820405ff", false},
    {"[1, [2, 3], [4, 5]]", "83018202039f0405ff", false},
    {"[1, [2, 3], [4, 5]]", "83019f0203ff820405", false},
    {"[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25]",
     "9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff", false},
    {"{\"a\": 1, \"b\": [2, 3]}", "bf61610161629f0203ffff", false},
    {"[\"a\", {\"b\": \"c\"}]", "826161bf61626163ff", false},
    {"{\"Fun\": true, \"Amt\": -2}", "bf6346756ef563416d7421ff", false},
};

TEST(CborAppendixA, DecodesAndPrintsDiagnosticNotation) {
  for (const auto& ex : kAppendixA) {
    auto v = Decode(H(ex.hex));
    ASSERT_TRUE(v) << ex.hex << ": " << v.error().ToString();
    EXPECT_EQ(Diagnostic(*v), ex.diag) << ex.hex;
  }
}

TEST(CborAppendixA, PreferredEncodingsRoundTripByteForByte) {
  int checked = 0;
  for (const auto& ex : kAppendixA) {
    auto v = Decode(H(ex.hex));
    ASSERT_TRUE(v) << ex.hex;
    const Bytes enc = Encode(*v, MapOrder::kPreserveOrder);
    if (ex.preferred) {
      EXPECT_EQ(ToHex(enc), ex.hex) << ex.diag;
      ++checked;
    }
    // Whatever the input form, the re-encoding decodes to the same value.
    auto again = Decode(enc);
    ASSERT_TRUE(again);
    EXPECT_TRUE(*again == *v) << ex.diag;
  }
  EXPECT_GT(checked, 60);
}

TEST(CborAppendixA, NonPreferredFloatsEncodeShortest) {
  EXPECT_EQ(ToHex(Encode(*Decode(H("fa7f800000")))), "f97c00");
  EXPECT_EQ(ToHex(Encode(*Decode(H("fb7ff8000000000000")))), "f97e00");
  EXPECT_EQ(ToHex(Encode(*Decode(H("5f42010243030405ff")))), "450102030405");
  EXPECT_EQ(ToHex(Encode(*Decode(H("bf6346756ef563416d7421ff")))),
            // deterministic order: "Amt" (63416d74) sorts before "Fun" (6346756e)
            "a263416d74216346756ef5");
}

TEST(CborEncode, BuildsValuesFromScratch) {
  EXPECT_EQ(ToHex(Encode(Value::Int(std::numeric_limits<int64_t>::min()))), "3b7fffffffffffffff");
  EXPECT_EQ(ToHex(Encode(Value::Negative(UINT64_MAX))), "3bffffffffffffffff");
  EXPECT_EQ(ToHex(Encode(Value::Float(1.0 / 3))), "fb3fd5555555555555");
  EXPECT_EQ(ToHex(Encode(Value::Float(0.5f + 1.0 / 4096 / 1024))), "fa3f000004");
  // Tags 6..20, which libcbor 0.8's stream decoder refuses, decode too (COSE uses 16..18).
  for (uint64_t t = 0; t < 30; ++t) {
    Value v = Value::Tag(t, Value::Int(1));
    auto back = Decode(Encode(v));
    ASSERT_TRUE(back) << t;
    EXPECT_TRUE(*back == v) << t;
  }
  EXPECT_EQ(ToHex(Encode(Value::Tag(18, Value::MakeArray({Value::ByteString(Bytes{}), Value::Map(),
                                                          Value::Null(), Value::Text("x")})))),
            "d28440a0f66178");
  // Signalling NaN and NaN payloads survive decode and re-encode bit for bit.
  EXPECT_EQ(ToHex(Encode(*Decode(H("f97c01")))), "f97c01");
  EXPECT_EQ(ToHex(Encode(*Decode(H("fa7f800001")))), "fa7f800001");
  EXPECT_EQ(ToHex(Encode(*Decode(H("fb7ff0000000000001")))), "fb7ff0000000000001");
}

// RFC 8949 §4.2.1: keys sorted bytewise by their encodings (not length first, as RFC 7049's
// canonical form did): 100 (0x1864) sorts before -1 (0x20).
TEST(CborEncode, DeterministicMapOrderIsBytewiseLexicographic) {
  Value m = Value::Map({
      {Value::Text("aa"), Value::Int(0)},
      {Value::Int(-1), Value::Int(1)},
      {Value::Int(100), Value::Int(2)},
      {Value::Text("b"), Value::Int(3)},
      {Value::Int(10), Value::Int(4)},
      {Value::ByteString(Bytes{1}), Value::Int(5)},
      {Value::MakeArray({}), Value::Int(6)},
  });
  EXPECT_EQ(Diagnostic(*Decode(Encode(m))),
            "{10: 4, 100: 2, -1: 1, h'01': 5, \"b\": 3, \"aa\": 0, []: 6}");
  EXPECT_EQ(Diagnostic(*Decode(Encode(m, MapOrder::kPreserveOrder))),
            "{\"aa\": 0, -1: 1, 100: 2, \"b\": 3, 10: 4, h'01': 5, []: 6}");
}

TEST(CborValue, AccessorsAndCheckedConversions) {
  auto m = Decode(H("a30161612001622e2ef5"));
  ASSERT_TRUE(m) << m.error().ToString();
  ASSERT_TRUE(m->is_map());
  ASSERT_NE(m->Find(1), nullptr);
  EXPECT_EQ(*m->Find(1)->AsText(), "a");
  EXPECT_EQ(*m->Find(-1)->AsInt64(), 1);
  EXPECT_TRUE(m->Find(Value::Text(".."))->bool_value());
  EXPECT_EQ(m->Find(2), nullptr);
  auto bad = m->Find(1)->AsInt64();
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "expected integer, found text string");
  EXPECT_FALSE(Value::Unsigned(UINT64_MAX).AsInt64());
  EXPECT_FALSE(Value::Negative(UINT64_MAX).AsInt64());
  EXPECT_EQ(*Value::Int(std::numeric_limits<int64_t>::min()).AsInt64(),
            std::numeric_limits<int64_t>::min());
  EXPECT_FALSE(Value::Float(1.0) == Value::Float(-1.0));
  EXPECT_TRUE(Value::Float(NAN) == Value::Float(NAN));
}

// ---- Not well-formed input: RFC 8949 Appendix F.1, plus our own limits ----------------------

struct Bad {
  const char* hex;
  const char* message;  // a substring of the expected error
};

void ExpectRejected(const Bad& b, const Limits& limits = {}) {
  auto v = Decode(H(b.hex), limits);
  ASSERT_FALSE(v) << b.hex << " decoded as " << Diagnostic(*v);
  EXPECT_NE(v.error().message().find(b.message), std::string::npos)
      << b.hex << ": got \"" << v.error().message() << "\", expected \"" << b.message << "\"";
}

TEST(CborMalformed, AppendixF1EndOfInputInAHead) {
  for (const char* hex : {"18", "19", "1a", "1b", "1901", "1a0102", "1b01020304050607", "38", "58",
                          "78", "98", "9a01ff00", "b8", "d8", "f8", "f900", "fa0000", "fb000000"})
    ExpectRejected({hex, "truncated input"});
}

TEST(CborMalformed, AppendixF1ShortStringsArraysMapsAndTags) {
  for (const char* hex : {"41",
                          "61",
                          "5affffffff00",
                          "5bffffffffffffffff010203",
                          "7affffffff00",
                          "7b7fffffffffffffff010203",
                          "81",
                          "818181818181818181",
                          "8200",
                          "a1",
                          "a20102",
                          "a100",
                          "a2000000",
                          "c0",
                          "5f4100",
                          "7f6100",
                          "9f",
                          "9f0102",
                          "bf",
                          "bf01020102",
                          "819f",
                          "9f8000",
                          "9f9f9f9f9fffffffff",
                          "9f819f819f9fffffff"})
    ExpectRejected({hex, "truncated input"});
}

TEST(CborMalformed, AppendixF1ReservedAdditionalInformation) {
  for (const char* hex : {"1c", "1d", "1e", "3c", "3d", "3e", "5c", "5d", "5e", "7c", "7d", "7e",
                          "9c", "9d", "9e", "bc", "bd", "be", "dc", "dd", "de", "fc", "fd", "fe"})
    ExpectRejected({hex, "reserved additional information"});
}

TEST(CborMalformed, AppendixF1TwoByteSimpleValuesBelow32) {
  for (const char* hex : {"f800", "f801", "f818", "f81f"}) ExpectRejected({hex, "simple value"});
}

TEST(CborMalformed, AppendixF1BadIndefiniteStringChunks) {
  for (const char* hex : {"5f00ff", "5f21ff", "5f6100ff", "5f80ff", "5fa0ff", "5fc000ff", "5fe0ff",
                          "7f4100ff", "5f5f4100ffff", "7f7f6100ffff"})
    ExpectRejected({hex, "chunk of an indefinite-length"});
}

TEST(CborMalformed, AppendixF1BreakOutsideIndefiniteItem) {
  for (const char* hex : {"ff", "81ff", "8200ff", "a1ff", "a1ff00", "a100ff", "a20000ff", "9f81ff",
                          "9f829f819f9fffffffff"})
    ExpectRejected({hex, "break (0xff) outside an indefinite-length item"});
}

TEST(CborMalformed, AppendixF1OddIndefiniteMapAndIndefiniteIntsOrTags) {
  ExpectRejected({"bf00ff", "ends after a key without a value"});
  ExpectRejected({"bf000000ff", "ends after a key without a value"});
  for (const char* hex : {"1f", "3f", "df"})
    ExpectRejected({hex, "indefinite length is not allowed"});
}

TEST(CborMalformed, TrailingBytesEmptyInputAndInvalidUtf8) {
  ExpectRejected({"0000", "trailing bytes after the data item at offset 1 (1 bytes left over)"});
  ExpectRejected({"a0ff", "trailing bytes"});
  ExpectRejected({"", "truncated input"});
  ExpectRejected({"61ff", "invalid UTF-8"});
  ExpectRejected({"62c0af", "invalid UTF-8"});        // overlong '/'
  ExpectRejected({"63eda080", "invalid UTF-8"});      // surrogate U+D800
  ExpectRejected({"64f4908080", "invalid UTF-8"});    // above U+10FFFF
  ExpectRejected({"7f61c361bcff", "invalid UTF-8"});  // a character split across two chunks
  EXPECT_TRUE(Decode(H("7f62c3bcff")));
}

TEST(CborMalformed, DuplicateMapKeys) {
  ExpectRejected({"a201000100", "duplicate map key 1"});
  ExpectRejected({"a2616100616100", "duplicate map key \"a\""});
  Limits lax;
  lax.reject_duplicate_keys = false;
  EXPECT_TRUE(Decode(H("a201000100"), lax));
}

TEST(CborLimits, DepthItemsSizeAndIndefinite) {
  Limits l;
  l.max_depth = 3;
  EXPECT_TRUE(Decode(H("818100"), l));  // [[0]]: depth 3
  ExpectRejected({"81818100", "nesting deeper than max_depth (3)"}, l);
  ExpectRejected({"c1c1c100", "nesting deeper than max_depth (3)"}, l);
  auto lim = Decode(H("81818100"), l);
  EXPECT_EQ(lim.error().code(), ErrorCode::kLimit);

  // A deeply nested input is refused without exhausting the stack, whatever max_depth says.
  l.max_depth = std::numeric_limits<size_t>::max();
  Bytes deep(200000, 0x81);
  deep.push_back(0);
  auto d = Decode(deep, l);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code(), ErrorCode::kLimit);

  Limits items;
  items.max_items = 3;
  EXPECT_TRUE(Decode(H("820102"), items));
  ExpectRejected({"83010203", "more than max_items (3)"}, items);
  ExpectRejected({"a10102a0", "trailing bytes"}, items);
  ExpectRejected({"a20102a0a0", "more than max_items (3)"}, items);

  Limits size;
  size.max_bytes = 4;
  EXPECT_TRUE(Decode(H("43010203"), size));
  ExpectRejected({"4401020304", "exceeds max_bytes (4)"}, size);

  Limits definite;
  definite.allow_indefinite = false;
  EXPECT_TRUE(Decode(H("83010203"), definite));
  ExpectRejected({"9fff", "indefinite-length array not allowed"}, definite);
  ExpectRejected({"5fff", "indefinite-length byte string not allowed"}, definite);
  ExpectRejected({"81bfff", "indefinite-length map not allowed"}, definite);
}

TEST(CborHex, ParsesAndRejects) {
  EXPECT_EQ(ToHex(*FromHex("0a FF\n10")), "0aff10");
  EXPECT_FALSE(FromHex("abc"));
  EXPECT_FALSE(FromHex("zz"));
}

}  // namespace
}  // namespace secprof::cbor

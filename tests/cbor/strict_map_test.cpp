// cbor/strict_map.h: the strict reader of secprof's own message maps.
#include "secprof/cbor/strict_map.h"

#include <gtest/gtest.h>

namespace secprof::cbor {
namespace {

Value U(int l) { return Value::Unsigned(static_cast<uint64_t>(l)); }
Bytes Map(MapEntries e) { return Encode(Value::Map(std::move(e)), MapOrder::kPreserveOrder); }

void ExpectRefused(const Result<StrictMap>& r, const std::string& message) {
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(r.error().message(), message);
}

TEST(StrictMap, ReadsTypedFields) {
  auto m = StrictMap::Parse(Map({{U(1), Value::Text("thing-1")},
                                 {U(2), Value::ByteString(Bytes(16, 7))},
                                 {U(3), Value::Int(-4)},
                                 {U(4), Value::Bool(true)}}),
                            "msg", {1, 2, 3, 4, 5});
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(*m->Text(1, 64), "thing-1");
  EXPECT_EQ(*m->Blob(2, 16, 16), Bytes(16, 7));
  EXPECT_EQ(*m->Int(3, -10, 10), -4);
  EXPECT_TRUE(*m->Bool(4));
  // Label 5 is allowed but absent: optional getters give their defaults.
  EXPECT_EQ(*m->Text(5, 64, /*required=*/false), "");
  EXPECT_TRUE(m->Blob(5, 0, 8, /*required=*/false)->empty());
  EXPECT_EQ(*m->Int(5, 3, 9, /*required=*/false), 3);
  EXPECT_EQ(m->Find(5), nullptr);
  EXPECT_NE(m->Find(1), nullptr);
}

TEST(StrictMap, RefusesWhatIsNotAStrictMap) {
  ExpectRefused(StrictMap::Parse(Encode(Value::MakeArray()), "msg", {1}),
                "msg: body is not a CBOR map");
  ExpectRefused(StrictMap::Parse(Map({{Value::Text("a"), U(1)}}), "msg", {1}),
                "msg: map key is not a small unsigned integer");
  ExpectRefused(StrictMap::Parse(Map({{U(256), U(1)}}), "msg", {1}),
                "msg: map key is not a small unsigned integer");
  ExpectRefused(StrictMap::Parse(Map({{U(7), U(1)}}), "msg", {1, 2}), "msg: unknown label 7");
  // A duplicate key is refused (by the decoder, RFC 8949 §5.6, before the label check).
  auto dup = StrictMap::Parse(Map({{U(1), U(1)}, {U(1), U(2)}}), "msg", {1});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), ErrorCode::kInvalidInput);
  auto bad = StrictMap::Parse(Bytes{0xa1, 0x01}, "msg", {1});  // truncated
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message().rfind("msg: not well-formed CBOR: ", 0), 0u);
}

TEST(StrictMap, FieldErrorsNameTheLabel) {
  auto m = StrictMap::Parse(Map({{U(1), U(5)}, {U(2), Value::Text("")}, {U(3), Value::Int(99)}}),
                            "msg", {1, 2, 3, 4});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->Text(1, 8).error().message(), "msg: label 1 must be a text string");
  EXPECT_EQ(m->Blob(1, 0, 8).error().message(), "msg: label 1 must be a byte string");
  EXPECT_EQ(m->Bool(1).error().message(), "msg: label 1 must be a boolean");
  EXPECT_EQ(m->Int(2, 0, 1).error().message(), "msg: label 2 must be an integer");
  EXPECT_EQ(m->Text(2, 8).error().message(), "msg: label 2 is out of range");  // empty text
  EXPECT_EQ(m->Int(3, 0, 10).error().message(), "msg: label 3 is out of range");
  EXPECT_EQ(m->Int(4, 0, 10).error().message(), "msg: required label 4 is missing");
  EXPECT_EQ(m->Bool(4).error().message(), "msg: required label 4 is missing");
  EXPECT_EQ(m->Bad("custom").message(), "msg: custom");
  EXPECT_EQ(m->Bad("custom").code(), ErrorCode::kInvalidInput);
}

TEST(StrictMap, LimitsApply) {
  Bytes big = Map({{U(1), Value::ByteString(Bytes(70 * 1024, 0))}});
  ASSERT_FALSE(StrictMap::Parse(big, "msg", {1}));  // over the default 64 KiB
  Limits wide = StrictMap::DefaultLimits();
  wide.max_bytes = 128 * 1024;
  EXPECT_TRUE(StrictMap::Parse(big, "msg", {1}, wide));
}

}  // namespace
}  // namespace secprof::cbor

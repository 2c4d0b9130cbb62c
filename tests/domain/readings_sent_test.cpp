// op/sent's ReadingsSent (secprof/domain/protocol.h "Missing readings"; docs/DOMAIN.md "Message
// labels"): round trip and the strict decoder (bad input is refused with kInvalidInput).
#include <gtest/gtest.h>

#include "secprof/cbor/cbor.h"
#include "secprof/domain/protocol.h"

namespace secprof::domain {
namespace {

using cbor::Value;

TEST(DomainReadingsSent, RoundTrip) {
  auto r = DecodeReadingsSent(Encode(ReadingsSent{130, 2}));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->last_counter, 130);
  EXPECT_EQ(r->unacknowledged, 2);
}

TEST(DomainReadingsSent, RefusesBadInput) {
  auto map = [](cbor::MapEntries e) { return cbor::Encode(Value::Map(std::move(e))); };
  const std::vector<Bytes> bad = {
      {},
      {0xff},
      map({{Value::Unsigned(1), Value::Int(0)}, {Value::Unsigned(2), Value::Int(0)}}),   // 0
      map({{Value::Unsigned(1), Value::Int(5)}, {Value::Unsigned(2), Value::Int(-1)}}),  // < 0
      map({{Value::Unsigned(1), Value::Int(5)}}),                                        // no 2
      map({{Value::Unsigned(1), Value::Text("5")}, {Value::Unsigned(2), Value::Int(0)}}),
      map({{Value::Unsigned(1), Value::Int(5)},
           {Value::Unsigned(2), Value::Int(0)},
           {Value::Unsigned(3), Value::Int(0)}}),  // unknown label
      cbor::Encode(Value::Int(5)),
  };
  for (const auto& b : bad) {
    auto r = DecodeReadingsSent(b);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidInput) << r.error().message();
  }
}

}  // namespace
}  // namespace secprof::domain

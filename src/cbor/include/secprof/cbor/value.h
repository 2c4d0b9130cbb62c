// secprof/cbor/value.h — the CBOR data model (RFC 8949 §2, §3) as a plain C++ value.
//
// Purpose: everything above this module (COSE, CWT, OSCORE, SUIT) manipulates CBOR through
// cbor::Value and never sees libcbor. A Value is one data item: an integer (the full range
// -2^64 .. 2^64-1, RFC 8949 §3.1 major types 0 and 1), a byte string, a text string, an array, a
// map (pairs kept in the order given or decoded), a tag, a simple value or a float.
//
//   cbor::Value m = cbor::Value::Map({{cbor::Value::Int(1), cbor::Value::Int(-7)}});
//   cbor::Bytes wire = cbor::Encode(m);           // deterministic (RFC 8949 §4.2.1)
//   auto back = cbor::Decode(wire);               // Result<Value>, limits checked
//   if (back && *back == m) ...
//
// Values are regular: copyable, movable, comparable with == (structural equality; floats compare
// by their bits so NaN == NaN and 0.0 != -0.0; map pairs compare in order). Accessors that return
// a payload REQUIRE the matching type (checked with assert in debug builds; callers test type()
// or use the As* helpers, which return Result, on untrusted data).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "secprof/core/bytes.h"
#include "secprof/core/result.h"

namespace secprof::cbor {

// The byte types of core/bytes.h (one type across modules).
using Bytes = secprof::Bytes;
using ByteView = secprof::ByteView;

enum class Type {
  kUnsigned,  // major type 0: 0 .. 2^64-1
  kNegative,  // major type 1: -1 - n for n in 0 .. 2^64-1
  kBytes,     // major type 2
  kText,      // major type 3 (UTF-8)
  kArray,     // major type 4
  kMap,       // major type 5
  kTag,       // major type 6
  kSimple,    // major type 7, simple values (RFC 8949 §3.3): false, true, null, undefined, ...
  kFloat,     // major type 7, half/single/double precision floats
};

const char* TypeName(Type t);

// Simple values with a meaning assigned by RFC 8949 §3.3, Table 4.
inline constexpr uint8_t kSimpleFalse = 20;
inline constexpr uint8_t kSimpleTrue = 21;
inline constexpr uint8_t kSimpleNull = 22;
inline constexpr uint8_t kSimpleUndefined = 23;

class Value;
using Array = std::vector<Value>;
using MapEntries = std::vector<std::pair<Value, Value>>;

class Value {
 public:
  // An unsigned integer 0 by default.
  Value() = default;

  static Value Unsigned(uint64_t v);
  // The negative integer -1 - n (so Negative(0) is -1 and Negative(UINT64_MAX) is -2^64).
  static Value Negative(uint64_t n);
  // Any int64_t, stored as major type 0 or 1.
  static Value Int(int64_t v);
  static Value ByteString(ByteView b);
  static Value ByteString(Bytes b);
  // REQUIRES: `s` is valid UTF-8 (Encode writes it as given; Decode checks incoming text).
  static Value Text(std::string s);
  static Value MakeArray(Array items = {});
  static Value Map(MapEntries entries = {});
  static Value Tag(uint64_t tag, Value content);
  static Value Bool(bool b);
  static Value Null();
  static Value Undefined();
  // REQUIRES: v < 24 or v >= 32 (RFC 8949 §3.3: 24..31 are reserved).
  static Value Simple(uint8_t v);
  static Value Float(double d);

  Type type() const { return type_; }
  bool is_unsigned() const { return type_ == Type::kUnsigned; }
  bool is_negative() const { return type_ == Type::kNegative; }
  bool is_int() const { return is_unsigned() || is_negative(); }
  bool is_bytes() const { return type_ == Type::kBytes; }
  bool is_text() const { return type_ == Type::kText; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_map() const { return type_ == Type::kMap; }
  bool is_tag() const { return type_ == Type::kTag; }
  bool is_simple() const { return type_ == Type::kSimple; }
  bool is_float() const { return type_ == Type::kFloat; }
  bool is_bool() const { return is_simple() && (u_ == kSimpleFalse || u_ == kSimpleTrue); }
  bool is_null() const { return is_simple() && u_ == kSimpleNull; }
  bool is_undefined() const { return is_simple() && u_ == kSimpleUndefined; }

  // The raw argument: the value for kUnsigned, n for kNegative (value -1-n), the tag number for
  // kTag, the simple value for kSimple. REQUIRES one of those types.
  uint64_t uint_value() const;
  uint64_t tag_number() const;
  uint8_t simple_value() const;
  bool bool_value() const;           // REQUIRES is_bool()
  double float_value() const;        // REQUIRES is_float()
  const Bytes& bytes() const;        // REQUIRES is_bytes()
  const std::string& text() const;   // REQUIRES is_text()
  const Array& array() const;        // REQUIRES is_array()
  Array& array();                    // REQUIRES is_array()
  const MapEntries& map() const;     // REQUIRES is_map()
  MapEntries& map();                 // REQUIRES is_map()
  const Value& tag_content() const;  // REQUIRES is_tag()

  // Checked conversions for untrusted data; the error names the expected and the actual type.
  // AsInt64 fails for integers outside int64_t.
  Result<int64_t> AsInt64() const;
  Result<uint64_t> AsUint64() const;
  Result<Bytes> AsBytes() const;
  Result<std::string> AsText() const;

  // Map lookup by key (structural equality); nullptr when absent or when this is not a map.
  const Value* Find(const Value& key) const;
  const Value* Find(int64_t key) const { return Find(Int(key)); }

  friend bool operator==(const Value& a, const Value& b);

 private:
  Type type_ = Type::kUnsigned;
  uint64_t u_ = 0;  // int argument, tag number, simple value, or the float's bits
  Bytes bytes_;
  std::string text_;
  Array items_;  // array items; the tag content is items_[0]
  MapEntries map_;
};

}  // namespace secprof::cbor

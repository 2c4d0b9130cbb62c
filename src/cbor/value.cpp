#include "secprof/cbor/value.h"

#include <cassert>
#include <cstring>
#include <limits>

namespace secprof::cbor {

const char* TypeName(Type t) {
  switch (t) {
    case Type::kUnsigned:
      return "unsigned integer";
    case Type::kNegative:
      return "negative integer";
    case Type::kBytes:
      return "byte string";
    case Type::kText:
      return "text string";
    case Type::kArray:
      return "array";
    case Type::kMap:
      return "map";
    case Type::kTag:
      return "tag";
    case Type::kSimple:
      return "simple value";
    case Type::kFloat:
      return "float";
  }
  return "?";
}

Value Value::Unsigned(uint64_t v) {
  Value r;
  r.type_ = Type::kUnsigned;
  r.u_ = v;
  return r;
}

Value Value::Negative(uint64_t n) {
  Value r;
  r.type_ = Type::kNegative;
  r.u_ = n;
  return r;
}

Value Value::Int(int64_t v) {
  if (v >= 0) return Unsigned(static_cast<uint64_t>(v));
  // -1 - n = v  =>  n = -1 - v, computed without overflow for INT64_MIN.
  return Negative(static_cast<uint64_t>(-(v + 1)));
}

Value Value::ByteString(ByteView b) { return ByteString(Bytes(b.begin(), b.end())); }

Value Value::ByteString(Bytes b) {
  Value r;
  r.type_ = Type::kBytes;
  r.bytes_ = std::move(b);
  return r;
}

Value Value::Text(std::string s) {
  Value r;
  r.type_ = Type::kText;
  r.text_ = std::move(s);
  return r;
}

Value Value::MakeArray(Array items) {
  Value r;
  r.type_ = Type::kArray;
  r.items_ = std::move(items);
  return r;
}

Value Value::Map(MapEntries entries) {
  Value r;
  r.type_ = Type::kMap;
  r.map_ = std::move(entries);
  return r;
}

Value Value::Tag(uint64_t tag, Value content) {
  Value r;
  r.type_ = Type::kTag;
  r.u_ = tag;
  r.items_.push_back(std::move(content));
  return r;
}

Value Value::Bool(bool b) { return Simple(b ? kSimpleTrue : kSimpleFalse); }
Value Value::Null() { return Simple(kSimpleNull); }
Value Value::Undefined() { return Simple(kSimpleUndefined); }

Value Value::Simple(uint8_t v) {
  assert(v < 24 || v >= 32);
  Value r;
  r.type_ = Type::kSimple;
  r.u_ = v;
  return r;
}

Value Value::Float(double d) {
  Value r;
  r.type_ = Type::kFloat;
  std::memcpy(&r.u_, &d, sizeof d);
  return r;
}

uint64_t Value::uint_value() const {
  assert(is_int());
  return u_;
}
uint64_t Value::tag_number() const {
  assert(is_tag());
  return u_;
}
uint8_t Value::simple_value() const {
  assert(is_simple());
  return static_cast<uint8_t>(u_);
}
bool Value::bool_value() const {
  assert(is_bool());
  return u_ == kSimpleTrue;
}
double Value::float_value() const {
  assert(is_float());
  double d;
  std::memcpy(&d, &u_, sizeof d);
  return d;
}
const Bytes& Value::bytes() const {
  assert(is_bytes());
  return bytes_;
}
const std::string& Value::text() const {
  assert(is_text());
  return text_;
}
const Array& Value::array() const {
  assert(is_array());
  return items_;
}
Array& Value::array() {
  assert(is_array());
  return items_;
}
const MapEntries& Value::map() const {
  assert(is_map());
  return map_;
}
MapEntries& Value::map() {
  assert(is_map());
  return map_;
}
const Value& Value::tag_content() const {
  assert(is_tag() && items_.size() == 1);
  return items_[0];
}

namespace {
Error TypeError(const char* want, Type got) {
  return Error(ErrorCode::kInvalidInput,
               std::string("expected ") + want + ", found " + TypeName(got));
}
}  // namespace

Result<int64_t> Value::AsInt64() const {
  if (type_ == Type::kUnsigned) {
    if (u_ > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return Fail(ErrorCode::kInvalidInput, "integer " + std::to_string(u_) + " exceeds int64");
    return static_cast<int64_t>(u_);
  }
  if (type_ == Type::kNegative) {
    if (u_ > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return Fail(ErrorCode::kInvalidInput, "negative integer below int64 range");
    return -1 - static_cast<int64_t>(u_);
  }
  return Fail(TypeError("integer", type_));
}

Result<uint64_t> Value::AsUint64() const {
  if (type_ != Type::kUnsigned) return Fail(TypeError("unsigned integer", type_));
  return u_;
}

Result<Bytes> Value::AsBytes() const {
  if (type_ != Type::kBytes) return Fail(TypeError("byte string", type_));
  return bytes_;
}

Result<std::string> Value::AsText() const {
  if (type_ != Type::kText) return Fail(TypeError("text string", type_));
  return text_;
}

const Value* Value::Find(const Value& key) const {
  if (type_ != Type::kMap) return nullptr;
  for (const auto& [k, v] : map_)
    if (k == key) return &v;
  return nullptr;
}

bool operator==(const Value& a, const Value& b) {
  if (a.type_ != b.type_) return false;
  switch (a.type_) {
    case Type::kUnsigned:
    case Type::kNegative:
    case Type::kSimple:
    case Type::kFloat:
      return a.u_ == b.u_;
    case Type::kBytes:
      return a.bytes_ == b.bytes_;
    case Type::kText:
      return a.text_ == b.text_;
    case Type::kArray:
      return a.items_ == b.items_;
    case Type::kMap:
      return a.map_ == b.map_;
    case Type::kTag:
      return a.u_ == b.u_ && a.items_ == b.items_;
  }
  return false;
}

}  // namespace secprof::cbor

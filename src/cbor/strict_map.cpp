#include "secprof/cbor/strict_map.h"

#include <set>

namespace secprof::cbor {
namespace {

Error BadInput(std::string_view what, const std::string& msg) {
  return Error(ErrorCode::kInvalidInput, std::string(what) + ": " + msg);
}

}  // namespace

Limits StrictMap::DefaultLimits() {
  Limits lim;
  lim.max_depth = 8;
  lim.max_bytes = 64 * 1024;
  lim.allow_indefinite = false;
  return lim;
}

Result<StrictMap> StrictMap::Parse(ByteView body, std::string_view what,
                                   std::initializer_list<int> allowed) {
  return Parse(body, what, allowed, DefaultLimits());
}

Result<StrictMap> StrictMap::Parse(ByteView body, std::string_view what,
                                   std::initializer_list<int> allowed, const Limits& limits) {
  auto v = Decode(body, limits);
  if (!v) return Fail(BadInput(what, "not well-formed CBOR: " + v.error().message()));
  if (!v->is_map()) return Fail(BadInput(what, "body is not a CBOR map"));
  std::set<int> seen;
  for (const auto& [k, val] : v->map()) {
    if (!k.is_unsigned() || k.uint_value() > 255)
      return Fail(BadInput(what, "map key is not a small unsigned integer"));
    const int label = static_cast<int>(k.uint_value());
    bool ok = false;
    for (int a : allowed) ok = ok || a == label;
    if (!ok) return Fail(BadInput(what, "unknown label " + std::to_string(label)));
    if (!seen.insert(label).second)
      return Fail(BadInput(what, "duplicate label " + std::to_string(label)));
  }
  return StrictMap(std::string(what), std::move(*v));
}

Result<std::string> StrictMap::Text(int label, size_t max, bool required) const {
  const Value* x = Find(label);
  if (!x) {
    if (required) return Fail(Missing(label));
    return std::string();
  }
  if (!x->is_text()) return Fail(Type(label, "a text string"));
  if (x->text().empty() || x->text().size() > max) return Fail(Size(label));
  return x->text();
}

Result<Bytes> StrictMap::Blob(int label, size_t min, size_t max, bool required) const {
  const Value* x = Find(label);
  if (!x) {
    if (required) return Fail(Missing(label));
    return Bytes();
  }
  if (!x->is_bytes()) return Fail(Type(label, "a byte string"));
  if (x->bytes().size() < min || x->bytes().size() > max) return Fail(Size(label));
  return x->bytes();
}

Result<int64_t> StrictMap::Int(int label, int64_t min, int64_t max, bool required) const {
  const Value* x = Find(label);
  if (!x) {
    if (required) return Fail(Missing(label));
    return min;
  }
  auto i = x->AsInt64();
  if (!x->is_int() || !i) return Fail(Type(label, "an integer"));
  if (*i < min || *i > max) return Fail(Size(label));
  return *i;
}

Result<bool> StrictMap::Bool(int label) const {
  const Value* x = Find(label);
  if (!x) return Fail(Missing(label));
  if (!x->is_bool()) return Fail(Type(label, "a boolean"));
  return x->bool_value();
}

Error StrictMap::Bad(const std::string& message) const { return BadInput(what_, message); }

Error StrictMap::Missing(int label) const {
  return Bad("required label " + std::to_string(label) + " is missing");
}

Error StrictMap::Type(int label, const char* type) const {
  return Bad("label " + std::to_string(label) + " must be " + type);
}

Error StrictMap::Size(int label) const {
  return Bad("label " + std::to_string(label) + " is out of range");
}

}  // namespace secprof::cbor

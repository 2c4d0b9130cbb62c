// The revocation list message (secprof/domain/revocation.h).
#include "secprof/domain/revocation.h"

#include <algorithm>

#include "secprof/cbor/cbor.h"
#include "secprof/domain/protocol.h"

namespace secprof::domain {

using cbor::Value;

crypto::Bytes Encode(const RevocationList& m) {
  cbor::Array serials;
  for (const auto& s : m.serials) serials.push_back(Value::Text(s));
  return cbor::Encode(Value::Map({{Value::Unsigned(1), Value::MakeArray(std::move(serials))},
                                  {Value::Unsigned(2), Value::Int(m.as_of)}}));
}

Result<RevocationList> DecodeRevocationList(crypto::ByteView body) {
  auto bad = [](const std::string& msg) {
    return Fail(ErrorCode::kInvalidInput, "revocation list: " + msg);
  };
  cbor::Limits lim;
  lim.max_depth = 4;
  lim.max_bytes = 8 * 1024 * 1024;
  lim.allow_indefinite = false;
  auto v = cbor::Decode(body, lim);
  if (!v) return bad("not well-formed CBOR: " + v.error().message());
  if (!v->is_map() || v->map().size() != 2) return bad("body must be a map with labels 1 and 2");
  const Value* list = v->Find(1);
  const Value* as_of = v->Find(2);
  if (!list || !list->is_array() || list->array().size() > kMaxRevoked)
    return bad("label 1 must be an array of at most " + std::to_string(kMaxRevoked) + " serials");
  if (!as_of || !as_of->is_unsigned() || as_of->uint_value() > INT64_MAX)
    return bad("label 2 must be a time (unsigned)");
  RevocationList r;
  r.as_of = static_cast<int64_t>(as_of->uint_value());
  for (const Value& s : list->array()) {
    if (!s.is_text()) return bad("a serial must be a text string");
    SECPROF_TRY(ValidateSerial(s.text()));
    r.serials.push_back(s.text());
  }
  std::sort(r.serials.begin(), r.serials.end());
  return r;
}

}  // namespace secprof::domain

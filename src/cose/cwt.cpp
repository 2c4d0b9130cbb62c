// CWT claims sets (RFC 8392 §3, §4, §6).
#include "secprof/cose/cwt.h"

#include "secprof/core/time_format.h"

namespace secprof::cose {
namespace {

using cbor::Value;

Error Bad(const std::string& what) {
  return Error(ErrorCode::kInvalidInput, "CWT claims: " + what);
}

Result<std::optional<std::string>> TextClaim(const Value& m, int64_t key, const char* name) {
  const Value* v = m.Find(key);
  if (!v) return std::optional<std::string>();
  if (!v->is_text()) return Fail(Bad(std::string(name) + " must be a text string"));
  return std::optional<std::string>(v->text());
}

// NumericDate (RFC 8392 §2): an integer or a float; we take integers only.
Result<std::optional<int64_t>> DateClaim(const Value& m, int64_t key, const char* name) {
  const Value* v = m.Find(key);
  if (!v) return std::optional<int64_t>();
  if (v->is_float())
    return Fail(ErrorCode::kUnsupported,
                std::string("CWT claims: ") + name + " as a floating-point NumericDate");
  auto i = v->AsInt64();
  if (!i) return Fail(Bad(std::string(name) + ": " + i.error().message()));
  return std::optional<int64_t>(*i);
}

}  // namespace

Value ClaimsToValue(const CwtClaims& c) {
  Value m = Value::Map();
  auto put = [&](int64_t k, Value v) { m.map().emplace_back(Value::Int(k), std::move(v)); };
  if (c.iss) put(claim::kIss, Value::Text(*c.iss));
  if (c.sub) put(claim::kSub, Value::Text(*c.sub));
  if (c.aud) put(claim::kAud, Value::Text(*c.aud));
  if (c.exp) put(claim::kExp, Value::Int(*c.exp));
  if (c.nbf) put(claim::kNbf, Value::Int(*c.nbf));
  if (c.iat) put(claim::kIat, Value::Int(*c.iat));
  if (c.cti) put(claim::kCti, Value::ByteString(*c.cti));
  for (const auto& kv : c.other) m.map().push_back(kv);
  return m;
}

Result<CwtClaims> ClaimsFromValue(const Value& v) {
  if (!v.is_map())
    return Fail(Bad(std::string("expected a map, found ") + cbor::TypeName(v.type())));
  CwtClaims c;
  SECPROF_ASSIGN_OR_RETURN(c.iss, TextClaim(v, claim::kIss, "iss"));
  SECPROF_ASSIGN_OR_RETURN(c.sub, TextClaim(v, claim::kSub, "sub"));
  SECPROF_ASSIGN_OR_RETURN(c.aud, TextClaim(v, claim::kAud, "aud"));
  SECPROF_ASSIGN_OR_RETURN(c.exp, DateClaim(v, claim::kExp, "exp"));
  SECPROF_ASSIGN_OR_RETURN(c.nbf, DateClaim(v, claim::kNbf, "nbf"));
  SECPROF_ASSIGN_OR_RETURN(c.iat, DateClaim(v, claim::kIat, "iat"));
  if (const Value* cti = v.Find(claim::kCti)) {
    if (!cti->is_bytes()) return Fail(Bad("cti must be a byte string"));
    c.cti = cti->bytes();
  }
  for (const auto& [k, val] : v.map()) {
    if (k.is_int()) {
      auto i = k.AsInt64();
      if (i && *i >= claim::kIss && *i <= claim::kCti) continue;
    }
    c.other.emplace_back(k, val);
  }
  return c;
}

Result<CwtClaims> DecodeCwtClaims(cbor::ByteView data) {
  cbor::Limits l;
  l.max_depth = 16;
  l.allow_indefinite = false;
  auto v = cbor::Decode(data, l);
  if (!v) return Fail(v.error().WithContext("CWT claims"));
  if (v->is_tag()) {
    if (v->tag_number() != kTagCwt)
      return Fail(Bad("unexpected CBOR tag " + std::to_string(v->tag_number())));
    return ClaimsFromValue(v->tag_content());
  }
  return ClaimsFromValue(*v);
}

Status CheckCwtTimes(const CwtClaims& c, int64_t now, int64_t leeway) {
  if (c.exp && now >= *c.exp + leeway)
    return Fail(ErrorCode::kVerifyFailed,
                "CWT expired at " + FormatIso8601(*c.exp) + " (now " + FormatIso8601(now) + ")");
  if (c.nbf && now < *c.nbf - leeway)
    return Fail(ErrorCode::kVerifyFailed, "CWT not valid before " + FormatIso8601(*c.nbf) +
                                              " (now " + FormatIso8601(now) + ")");
  return Ok();
}

}  // namespace secprof::cose

// COSE algorithms table, header maps, message structures and their encodings (RFC 9052 §2-§6,
// §9; RFC 9053 for the algorithm identifiers): COSE_Sign1, COSE_Mac0, COSE_Encrypt0, and the
// multi-party COSE_Sign (§4.1) and COSE_Encrypt (§5.1) with their signers and recipients.
#include <array>
#include <cstring>

#include "secprof/cose/cose.h"

namespace secprof::cose {
namespace {

using cbor::Value;

constexpr AlgorithmInfo kAlgorithms[] = {
    {kAlgEs256, "ES256", AlgorithmKind::kSignature, 0, 0, 0},
    {kAlgEdDsa, "EdDSA", AlgorithmKind::kSignature, 0, 0, 0},
    {kAlgEsp256, "ESP256", AlgorithmKind::kSignature, 0, 0, 0},
    {kAlgEd25519, "Ed25519", AlgorithmKind::kSignature, 0, 0, 0},
    {kAlgEd448, "Ed448", AlgorithmKind::kSignature, 0, 0, 0},
    {kAlgHmac256_64, "HMAC 256/64", AlgorithmKind::kMac, 32, 8, 0},
    {kAlgHmac256_256, "HMAC 256/256", AlgorithmKind::kMac, 32, 32, 0},
    {kAlgA128Gcm, "A128GCM", AlgorithmKind::kContentEncryption, 16, 16, 12},
    {kAlgA192Gcm, "A192GCM", AlgorithmKind::kContentEncryption, 24, 16, 12},
    {kAlgA256Gcm, "A256GCM", AlgorithmKind::kContentEncryption, 32, 16, 12},
    {kAlgAesCcm16_64_128, "AES-CCM-16-64-128", AlgorithmKind::kContentEncryption, 16, 8, 13},
    {kAlgAesCcm16_64_256, "AES-CCM-16-64-256", AlgorithmKind::kContentEncryption, 32, 8, 13},
    {kAlgAesCcm64_64_128, "AES-CCM-64-64-128", AlgorithmKind::kContentEncryption, 16, 8, 7},
    {kAlgAesCcm64_64_256, "AES-CCM-64-64-256", AlgorithmKind::kContentEncryption, 32, 8, 7},
    {kAlgAesCcm16_128_128, "AES-CCM-16-128-128", AlgorithmKind::kContentEncryption, 16, 16, 13},
    {kAlgAesCcm16_128_256, "AES-CCM-16-128-256", AlgorithmKind::kContentEncryption, 32, 16, 13},
    {kAlgAesCcm64_128_128, "AES-CCM-64-128-128", AlgorithmKind::kContentEncryption, 16, 16, 7},
    {kAlgAesCcm64_128_256, "AES-CCM-64-128-256", AlgorithmKind::kContentEncryption, 32, 16, 7},
};

// The cose-wg Examples' names (their JSON "alg" strings) for the same identifiers.
struct Alias {
  const char* name;
  int64_t id;
};
constexpr Alias kAliases[] = {
    {"HS256", kAlgHmac256_256}, {"HS256/64", kAlgHmac256_64}, {"AES-CCM-16-128/64", 10},
    {"AES-CCM-16-256/64", 11},  {"AES-CCM-64-128/64", 12},    {"AES-CCM-64-256/64", 13},
    {"AES-CCM-16-128/128", 30}, {"AES-CCM-16-256/128", 31},   {"AES-CCM-64-128/128", 32},
    {"AES-CCM-64-256/128", 33},
};

const char* KindName(AlgorithmKind k) {
  switch (k) {
    case AlgorithmKind::kSignature:
      return "signature";
    case AlgorithmKind::kMac:
      return "MAC";
    case AlgorithmKind::kContentEncryption:
      return "content encryption";
  }
  return "?";
}

Error Malformed(const std::string& what) { return Error(ErrorCode::kInvalidInput, what); }

// The CBOR profile for COSE input: definite lengths, unique keys, shallow nesting.
cbor::Limits CoseLimits() {
  cbor::Limits l;
  l.max_depth = 16;
  l.allow_indefinite = false;
  l.reject_duplicate_keys = true;
  return l;
}

bool IsLabel(const Value& v) { return v.is_int() || v.is_text(); }

}  // namespace

Result<AlgorithmInfo> LookupAlgorithm(int64_t id) {
  for (const auto& a : kAlgorithms)
    if (a.id == id) return a;
  return Fail(ErrorCode::kInvalidInput, "unknown algorithm " + std::to_string(id));
}

Result<AlgorithmInfo> LookupAlgorithmByName(std::string_view name) {
  for (const auto& a : kAlgorithms)
    if (name == a.name) return a;
  for (const auto& a : kAliases)
    if (name == a.name) return LookupAlgorithm(a.id);
  int64_t id = 0;
  size_t i = 0;
  bool neg = !name.empty() && name[0] == '-';
  if (neg) ++i;
  if (i == name.size())
    return Fail(ErrorCode::kInvalidInput, "unknown algorithm '" + std::string(name) + "'");
  for (; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9' || id > 1000000)
      return Fail(ErrorCode::kInvalidInput, "unknown algorithm '" + std::string(name) + "'");
    id = id * 10 + (name[i] - '0');
  }
  return LookupAlgorithm(neg ? -id : id);
}

// ---- HeaderMap ---------------------------------------------------------------------------------

Result<HeaderMap> HeaderMap::FromValue(const Value& map) {
  if (!map.is_map())
    return Fail(
        Malformed(std::string("header map is a ") + cbor::TypeName(map.type()) + ", not a map"));
  for (const auto& [k, v] : map.map()) {
    if (!IsLabel(k))
      return Fail(Malformed("header label " + cbor::Diagnostic(k) +
                            " is neither an integer nor a text string (RFC 9052 §3)"));
    if (!k.is_int()) continue;
    auto id = k.AsInt64();
    if (!id) continue;  // an integer label outside int64: not one of ours, keep it
    const std::string where = "header parameter " + std::to_string(*id) + ": ";
    switch (*id) {
      case label::kAlg:
        if (!v.is_int() && !v.is_text())
          return Fail(Malformed(where + "alg must be an integer or a text string"));
        break;
      case label::kCrit:
        if (!v.is_array() || v.array().empty())
          return Fail(Malformed(where + "crit must be a non-empty array of labels"));
        for (const auto& l : v.array())
          if (!IsLabel(l)) return Fail(Malformed(where + "crit must list labels"));
        break;
      case label::kContentType:
        if (!v.is_unsigned() && !v.is_text())
          return Fail(Malformed(where + "content type must be a uint or a text string"));
        break;
      case label::kKid:
      case label::kIv:
      case label::kPartialIv:
        if (!v.is_bytes()) return Fail(Malformed(where + "must be a byte string"));
        break;
      default:
        break;
    }
  }
  HeaderMap h;
  h.map_ = map;
  if (h.Find(label::kIv) && h.Find(label::kPartialIv))
    return Fail(Malformed("IV and Partial IV must not both be present (RFC 9052 §3.1)"));
  return h;
}

const Value* HeaderMap::Find(int64_t l) const { return map_.Find(l); }

HeaderMap& HeaderMap::Set(int64_t l, Value value) {
  for (auto& [k, v] : map_.map())
    if (k == Value::Int(l)) {
      v = std::move(value);
      return *this;
    }
  map_.map().emplace_back(Value::Int(l), std::move(value));
  return *this;
}

// ---- ProtectedHeader ---------------------------------------------------------------------------

ProtectedHeader ProtectedHeader::FromMap(HeaderMap map) {
  ProtectedHeader p;
  if (!map.empty()) p.encoded = cbor::Encode(map.value());
  p.map = std::move(map);
  return p;
}

Result<ProtectedHeader> ProtectedHeader::FromEncoded(ByteView encoded) {
  ProtectedHeader p;
  p.encoded.assign(encoded.begin(), encoded.end());
  if (encoded.empty()) return p;
  auto v = cbor::Decode(encoded, CoseLimits());
  if (!v) return Fail(v.error().WithContext("protected header"));
  auto h = HeaderMap::FromValue(*v);
  if (!h) return Fail(h.error().WithContext("protected header"));
  p.map = std::move(*h);
  return p;
}

ByteView ProtectedHeader::for_structure() const {
  if (map.empty()) return {};
  return encoded;
}

// ---- Messages ----------------------------------------------------------------------------------

namespace {

// Removes the expected tag (or refuses another) and checks the array shape.
Result<const Value*> Unwrap(const Value& v, uint64_t tag, size_t items, const char* name,
                            TagPolicy policy) {
  const Value* body = &v;
  if (v.is_tag()) {
    if (v.tag_number() != tag)
      return Fail(Malformed(std::string("CBOR tag ") + std::to_string(v.tag_number()) + " where " +
                            name + " expects tag " + std::to_string(tag) + " (RFC 9052 §2)"));
    if (policy == TagPolicy::kRequireUntagged)
      return Fail(Malformed(std::string(name) + " must be untagged here"));
    body = &v.tag_content();
  } else if (policy == TagPolicy::kRequireTagged) {
    return Fail(Malformed(std::string(name) + " must carry CBOR tag " + std::to_string(tag)));
  }
  if (!body->is_array())
    return Fail(
        Malformed(std::string(name) + " must be an array, found " + cbor::TypeName(body->type())));
  if (body->array().size() != items)
    return Fail(Malformed(std::string(name) + " must be an array of " + std::to_string(items) +
                          " items, found " + std::to_string(body->array().size())));
  return body;
}

struct Common {
  ProtectedHeader prot;
  HeaderMap unprot;
};

Result<Common> ParseHeaders(const cbor::Array& a, const std::string& name) {
  if (!a[0].is_bytes())
    return Fail(Malformed(name + ": protected header must be a byte string, found " +
                          cbor::TypeName(a[0].type())));
  if (!a[1].is_map())
    return Fail(Malformed(name + ": unprotected header must be a map, found " +
                          cbor::TypeName(a[1].type())));
  Common c;
  auto p = ProtectedHeader::FromEncoded(a[0].bytes());
  if (!p) return Fail(p.error().WithContext(name));
  auto u = HeaderMap::FromValue(a[1]);
  if (!u) return Fail(u.error().WithContext(name + ": unprotected header"));
  // RFC 9052 §3: a parameter label must not occur in both buckets.
  for (const auto& [k, v] : u->value().map())
    if (p->map.value().Find(k))
      return Fail(Malformed(name + ": header parameter " + cbor::Diagnostic(k) +
                            " is in both the protected and the unprotected bucket"));
  c.prot = std::move(*p);
  c.unprot = std::move(*u);
  return c;
}

Result<std::optional<Bytes>> BytesOrNil(const Value& v, const std::string& name,
                                        const char* field) {
  if (v.is_null()) return std::optional<Bytes>();
  if (!v.is_bytes())
    return Fail(Malformed(name + ": " + field + " must be a byte string or nil, found " +
                          cbor::TypeName(v.type())));
  return std::optional<Bytes>(v.bytes());
}

Value BytesOrNilValue(const std::optional<Bytes>& b) {
  return b ? Value::ByteString(*b) : Value::Null();
}

Bytes Wrap(uint64_t tag, cbor::Array items, bool tagged) {
  Value arr = Value::MakeArray(std::move(items));
  return cbor::Encode(tagged ? Value::Tag(tag, std::move(arr)) : arr);
}

// The "[+ item]" arrays of COSE_Sign and COSE_Encrypt / COSE_recipient: an array, non-empty
// (RFC 9052 §4.1, §5.1), and not longer than our limit.
Result<const cbor::Array*> NonEmptyArray(const Value& v, const std::string& name, const char* field,
                                         size_t limit) {
  if (!v.is_array())
    return Fail(
        Malformed(name + ": " + field + " must be an array, found " + cbor::TypeName(v.type())));
  if (v.array().empty())
    return Fail(Malformed(name + ": " + field + " must not be empty (RFC 9052: [+ ...])"));
  if (v.array().size() > limit)
    return Fail(Error(ErrorCode::kLimit, name + ": " + std::to_string(v.array().size()) + " " +
                                             field + ", more than the limit of " +
                                             std::to_string(limit)));
  return &v.array();
}

// RFC 9052 §4.1: COSE_Signature = [Headers, signature: bstr].
Result<Signature> SignatureFromValue(const Value& v, const std::string& name) {
  if (!v.is_array())
    return Fail(
        Malformed(name + " must be an array (COSE_Signature), found " + cbor::TypeName(v.type())));
  const auto& a = v.array();
  if (a.size() != 3)
    return Fail(Malformed(name + " must be an array of 3 items (COSE_Signature), found " +
                          std::to_string(a.size())));
  SECPROF_ASSIGN_OR_RETURN(Common c, ParseHeaders(a, name));
  if (!a[2].is_bytes())
    return Fail(Malformed(name + ": signature must be a byte string, found " +
                          cbor::TypeName(a[2].type())));
  return Signature{std::move(c.prot), std::move(c.unprot), a[2].bytes()};
}

// RFC 9052 §5.1: COSE_recipient = [Headers, ciphertext: bstr / nil, ? recipients]. Recursion is
// bounded by the CBOR depth limit of the whole message (each layer is two levels deeper).
Result<Recipient> RecipientFromValue(const Value& v, const std::string& name) {
  if (!v.is_array())
    return Fail(
        Malformed(name + " must be an array (COSE_recipient), found " + cbor::TypeName(v.type())));
  const auto& a = v.array();
  if (a.size() != 3 && a.size() != 4)
    return Fail(Malformed(name + " must be an array of 3 or 4 items (COSE_recipient), found " +
                          std::to_string(a.size())));
  SECPROF_ASSIGN_OR_RETURN(Common c, ParseHeaders(a, name));
  auto ct = BytesOrNil(a[2], name, "ciphertext");
  if (!ct) return Fail(ct.error());
  Recipient r;
  r.protected_header = std::move(c.prot);
  r.unprotected = std::move(c.unprot);
  if (ct->has_value()) r.ciphertext = std::move(**ct);
  if (a.size() == 4) {
    SECPROF_ASSIGN_OR_RETURN(const cbor::Array* list,
                             NonEmptyArray(a[3], name, "recipients", kMaxRecipients));
    for (size_t i = 0; i < list->size(); ++i) {
      SECPROF_ASSIGN_OR_RETURN(
          Recipient inner,
          RecipientFromValue((*list)[i], name + ": recipient " + std::to_string(i)));
      r.recipients.push_back(std::move(inner));
    }
  }
  return r;
}

Value RecipientValue(const Recipient& r) {
  cbor::Array items{Value::ByteString(r.protected_header.encoded), r.unprotected.value(),
                    BytesOrNilValue(r.ciphertext)};
  if (!r.recipients.empty()) {
    cbor::Array inner;
    for (const auto& x : r.recipients) inner.push_back(RecipientValue(x));
    items.push_back(Value::MakeArray(std::move(inner)));
  }
  return Value::MakeArray(std::move(items));
}

}  // namespace

Result<Sign1> Sign1FromValue(const Value& v, TagPolicy tags) {
  constexpr const char* kName = "COSE_Sign1";
  SECPROF_ASSIGN_OR_RETURN(const Value* body, Unwrap(v, kTagSign1, 4, kName, tags));
  const auto& a = body->array();
  SECPROF_ASSIGN_OR_RETURN(Common c, ParseHeaders(a, kName));
  SECPROF_ASSIGN_OR_RETURN(auto payload, BytesOrNil(a[2], kName, "payload"));
  if (!a[3].is_bytes())
    return Fail(Malformed(std::string(kName) + ": signature must be a byte string, found " +
                          cbor::TypeName(a[3].type())));
  return Sign1{std::move(c.prot), std::move(c.unprot), std::move(payload), a[3].bytes()};
}

Result<Mac0> Mac0FromValue(const Value& v, TagPolicy tags) {
  constexpr const char* kName = "COSE_Mac0";
  SECPROF_ASSIGN_OR_RETURN(const Value* body, Unwrap(v, kTagMac0, 4, kName, tags));
  const auto& a = body->array();
  SECPROF_ASSIGN_OR_RETURN(Common c, ParseHeaders(a, kName));
  SECPROF_ASSIGN_OR_RETURN(auto payload, BytesOrNil(a[2], kName, "payload"));
  if (!a[3].is_bytes())
    return Fail(Malformed(std::string(kName) + ": tag must be a byte string, found " +
                          cbor::TypeName(a[3].type())));
  return Mac0{std::move(c.prot), std::move(c.unprot), std::move(payload), a[3].bytes()};
}

Result<Encrypt0> Encrypt0FromValue(const Value& v, TagPolicy tags) {
  constexpr const char* kName = "COSE_Encrypt0";
  SECPROF_ASSIGN_OR_RETURN(const Value* body, Unwrap(v, kTagEncrypt0, 3, kName, tags));
  const auto& a = body->array();
  SECPROF_ASSIGN_OR_RETURN(Common c, ParseHeaders(a, kName));
  auto ct = BytesOrNil(a[2], kName, "ciphertext");
  if (!ct) return Fail(ct.error());
  // Filled field by field: GCC 12 at -O2 falsely reports the moved optional as uninitialized.
  Encrypt0 out;
  out.protected_header = std::move(c.prot);
  out.unprotected = std::move(c.unprot);
  if (ct->has_value()) out.ciphertext = std::move(**ct);
  return out;
}

Result<Sign> SignFromValue(const Value& v, TagPolicy tags) {
  const std::string name = "COSE_Sign";
  SECPROF_ASSIGN_OR_RETURN(const Value* body, Unwrap(v, kTagSign, 4, name.c_str(), tags));
  const auto& a = body->array();
  SECPROF_ASSIGN_OR_RETURN(Common c, ParseHeaders(a, name));
  SECPROF_ASSIGN_OR_RETURN(auto payload, BytesOrNil(a[2], name, "payload"));
  SECPROF_ASSIGN_OR_RETURN(const cbor::Array* list,
                           NonEmptyArray(a[3], name, "signatures", kMaxSigners));
  Sign out;
  out.protected_header = std::move(c.prot);
  out.unprotected = std::move(c.unprot);
  if (payload) out.payload = std::move(*payload);
  for (size_t i = 0; i < list->size(); ++i) {
    SECPROF_ASSIGN_OR_RETURN(
        Signature s, SignatureFromValue((*list)[i], name + ": signer " + std::to_string(i)));
    out.signatures.push_back(std::move(s));
  }
  return out;
}

Result<Encrypt> EncryptFromValue(const Value& v, TagPolicy tags) {
  const std::string name = "COSE_Encrypt";
  SECPROF_ASSIGN_OR_RETURN(const Value* body, Unwrap(v, kTagEncrypt, 4, name.c_str(), tags));
  const auto& a = body->array();
  SECPROF_ASSIGN_OR_RETURN(Common c, ParseHeaders(a, name));
  auto ct = BytesOrNil(a[2], name, "ciphertext");
  if (!ct) return Fail(ct.error());
  SECPROF_ASSIGN_OR_RETURN(const cbor::Array* list,
                           NonEmptyArray(a[3], name, "recipients", kMaxRecipients));
  Encrypt out;
  out.protected_header = std::move(c.prot);
  out.unprotected = std::move(c.unprot);
  if (ct->has_value()) out.ciphertext = std::move(**ct);
  for (size_t i = 0; i < list->size(); ++i) {
    SECPROF_ASSIGN_OR_RETURN(
        Recipient r, RecipientFromValue((*list)[i], name + ": recipient " + std::to_string(i)));
    out.recipients.push_back(std::move(r));
  }
  return out;
}

namespace {
Result<Value> DecodeCose(ByteView data) {
  auto v = cbor::Decode(data, CoseLimits());
  if (!v) return Fail(v.error().WithContext("COSE message"));
  return std::move(*v);
}
}  // namespace

Result<Sign1> DecodeSign1(ByteView data, TagPolicy tags) {
  SECPROF_ASSIGN_OR_RETURN(Value v, DecodeCose(data));
  return Sign1FromValue(v, tags);
}
Result<Mac0> DecodeMac0(ByteView data, TagPolicy tags) {
  SECPROF_ASSIGN_OR_RETURN(Value v, DecodeCose(data));
  return Mac0FromValue(v, tags);
}
Result<Encrypt0> DecodeEncrypt0(ByteView data, TagPolicy tags) {
  SECPROF_ASSIGN_OR_RETURN(Value v, DecodeCose(data));
  return Encrypt0FromValue(v, tags);
}

Result<Sign> DecodeSign(ByteView data, TagPolicy tags) {
  SECPROF_ASSIGN_OR_RETURN(Value v, DecodeCose(data));
  return SignFromValue(v, tags);
}
Result<Encrypt> DecodeEncrypt(ByteView data, TagPolicy tags) {
  SECPROF_ASSIGN_OR_RETURN(Value v, DecodeCose(data));
  return EncryptFromValue(v, tags);
}

Result<std::optional<uint64_t>> PeekTag(ByteView data) {
  SECPROF_ASSIGN_OR_RETURN(Value v, DecodeCose(data));
  if (v.is_tag()) return std::optional<uint64_t>(v.tag_number());
  return std::optional<uint64_t>();
}

Bytes Encode(const Sign1& m, bool tagged) {
  return Wrap(kTagSign1,
              {Value::ByteString(m.protected_header.encoded), m.unprotected.value(),
               BytesOrNilValue(m.payload), Value::ByteString(m.signature)},
              tagged);
}
Bytes Encode(const Mac0& m, bool tagged) {
  return Wrap(kTagMac0,
              {Value::ByteString(m.protected_header.encoded), m.unprotected.value(),
               BytesOrNilValue(m.payload), Value::ByteString(m.tag)},
              tagged);
}
Bytes Encode(const Encrypt0& m, bool tagged) {
  return Wrap(kTagEncrypt0,
              {Value::ByteString(m.protected_header.encoded), m.unprotected.value(),
               BytesOrNilValue(m.ciphertext)},
              tagged);
}

Bytes Encode(const Sign& m, bool tagged) {
  cbor::Array sigs;
  for (const auto& s : m.signatures)
    sigs.push_back(Value::MakeArray({Value::ByteString(s.protected_header.encoded),
                                     s.unprotected.value(), Value::ByteString(s.signature)}));
  return Wrap(kTagSign,
              {Value::ByteString(m.protected_header.encoded), m.unprotected.value(),
               BytesOrNilValue(m.payload), Value::MakeArray(std::move(sigs))},
              tagged);
}
Bytes Encode(const Encrypt& m, bool tagged) {
  cbor::Array recipients;
  for (const auto& r : m.recipients) recipients.push_back(RecipientValue(r));
  return Wrap(kTagEncrypt,
              {Value::ByteString(m.protected_header.encoded), m.unprotected.value(),
               BytesOrNilValue(m.ciphertext), Value::MakeArray(std::move(recipients))},
              tagged);
}

// ---- Structures (RFC 9052 §4.4, §5.3, §6.3) ----------------------------------------------------

Bytes SigStructure1(ByteView body_protected, ByteView external_aad, ByteView payload) {
  return cbor::Encode(
      Value::MakeArray({Value::Text("Signature1"), Value::ByteString(body_protected),
                        Value::ByteString(external_aad), Value::ByteString(payload)}));
}

Bytes MacStructure0(ByteView body_protected, ByteView external_aad, ByteView payload) {
  return cbor::Encode(
      Value::MakeArray({Value::Text("MAC0"), Value::ByteString(body_protected),
                        Value::ByteString(external_aad), Value::ByteString(payload)}));
}

Bytes EncStructure0(ByteView body_protected, ByteView external_aad) {
  return cbor::Encode(Value::MakeArray({Value::Text("Encrypt0"), Value::ByteString(body_protected),
                                        Value::ByteString(external_aad)}));
}

Bytes SigStructure(ByteView body_protected, ByteView sign_protected, ByteView external_aad,
                   ByteView payload) {
  return cbor::Encode(
      Value::MakeArray({Value::Text("Signature"), Value::ByteString(body_protected),
                        Value::ByteString(sign_protected), Value::ByteString(external_aad),
                        Value::ByteString(payload)}));
}

Bytes EncStructure(ByteView body_protected, ByteView external_aad) {
  return cbor::Encode(Value::MakeArray({Value::Text("Encrypt"), Value::ByteString(body_protected),
                                        Value::ByteString(external_aad)}));
}

Status CheckCrit(const ProtectedHeader& prot, const HeaderMap& unprot) {
  // RFC 9052 §3.1 crit: every listed label must be understood; we understand those of §3.1.
  if (const Value* crit = prot.map.Find(label::kCrit)) {
    for (const auto& l : crit->array()) {
      auto n = l.is_int() ? l.AsInt64() : Result<int64_t>(Fail(ErrorCode::kInvalidInput, ""));
      if (!n || *n < label::kAlg || *n > label::kPartialIv)
        return Fail(Malformed("critical header parameter " + cbor::Diagnostic(l) +
                              " is not understood (RFC 9052 §3.1)"));
      if (!prot.map.Find(*n))
        return Fail(Malformed("critical header parameter " + std::to_string(*n) +
                              " is not in the protected header"));
    }
  }
  if (unprot.Find(label::kCrit))
    return Fail(Malformed("crit must be a protected header parameter (RFC 9052 §3.1)"));
  return Ok();
}

Result<AlgorithmInfo> MessageAlgorithm(const ProtectedHeader& prot, const HeaderMap& unprot,
                                       AlgorithmKind kind) {
  const Value* alg = prot.map.Find(label::kAlg);
  if (!alg) alg = unprot.Find(label::kAlg);
  if (!alg) return Fail(Malformed("no algorithm (header parameter 1) in the message"));
  if (alg->is_text()) return Fail(Malformed("unknown algorithm \"" + alg->text() + "\""));
  auto id = alg->AsInt64();
  if (!id) return Fail(Malformed("unknown algorithm " + cbor::Diagnostic(*alg)));
  SECPROF_ASSIGN_OR_RETURN(AlgorithmInfo info, LookupAlgorithm(*id));
  if (info.kind != kind)
    return Fail(Malformed(std::string("algorithm ") + info.name + " is a " + KindName(info.kind) +
                          " algorithm; this message needs a " + KindName(kind) + " algorithm"));
  SECPROF_TRY(CheckCrit(prot, unprot));
  return info;
}

}  // namespace secprof::cose

// COSE_Key (RFC 9052 §7, RFC 9053 §7), JWK (RFC 7517, RFC 7518 §6, RFC 8037 §2) and PEM keys.
#include "secprof/cose/key.h"

#include <nlohmann/json.hpp>

#include "secprof/cbor/cbor.h"
#include "secprof/core/enum_names.h"
#include "secprof/core/fs.h"

namespace secprof::cose {
namespace {

using cbor::Value;

Error Bad(const std::string& what) { return Error(ErrorCode::kInvalidInput, "COSE_Key: " + what); }

crypto::KeyType CryptoType(Curve c) {
  switch (c) {
    case Curve::kP256:
      return crypto::KeyType::kP256;
    case Curve::kEd25519:
      return crypto::KeyType::kEd25519;
    case Curve::kX25519:
      return crypto::KeyType::kX25519;
    case Curve::kEd448:
      return crypto::KeyType::kEd448;
  }
  return crypto::KeyType::kP256;
}

std::pair<KeyType, Curve> CoseTypeOf(crypto::KeyType t) {
  switch (t) {
    case crypto::KeyType::kP256:
      return {KeyType::kEc2, Curve::kP256};
    case crypto::KeyType::kEd25519:
      return {KeyType::kOkp, Curve::kEd25519};
    case crypto::KeyType::kX25519:
      return {KeyType::kOkp, Curve::kX25519};
    case crypto::KeyType::kEd448:
      return {KeyType::kOkp, Curve::kEd448};
  }
  return {KeyType::kEc2, Curve::kP256};
}

// Builds the key from its parts, checking the curve fits the key type and that d matches x/y.
Result<Key> Assemble(KeyType kty, std::optional<int64_t> crv_id, const Bytes* x, const Bytes* y,
                     const crypto::SecureBuffer* d) {
  if (!crv_id) return Fail(Bad("crv (-1) is required for EC2 and OKP keys"));
  Curve crv;
  if (*crv_id == static_cast<int64_t>(Curve::kP256) && kty == KeyType::kEc2) {
    crv = Curve::kP256;
  } else if (*crv_id == static_cast<int64_t>(Curve::kEd25519) && kty == KeyType::kOkp) {
    crv = Curve::kEd25519;
  } else if (*crv_id == static_cast<int64_t>(Curve::kX25519) && kty == KeyType::kOkp) {
    crv = Curve::kX25519;
  } else if (*crv_id == static_cast<int64_t>(Curve::kEd448) && kty == KeyType::kOkp) {
    crv = Curve::kEd448;
  } else {
    return Fail(Error(ErrorCode::kUnsupported, "COSE_Key: curve " + std::to_string(*crv_id) +
                                                   " with key type " + KeyTypeName(kty) +
                                                   " is not supported (P-256 EC2, Ed25519, "
                                                   "X25519 and Ed448 OKP are)"));
  }
  Key k;
  k.kty = kty;
  k.crv = crv;
  const crypto::KeyType ct = CryptoType(crv);
  std::optional<crypto::PublicKey> pub;
  if (x) {
    if (kty == KeyType::kEc2) {
      if (!y) return Fail(Bad("EC2 key has x but no y"));
      auto p = crypto::PublicKey::FromP256Coordinates(*x, *y);
      if (!p) return Fail(p.error().WithContext("COSE_Key x/y"));
      pub = std::move(*p);
    } else {
      auto p = crypto::PublicKey::FromRaw(ct, *x);
      if (!p) return Fail(p.error().WithContext("COSE_Key x"));
      pub = std::move(*p);
    }
  }
  if (d) {
    auto sk = crypto::PrivateKey::FromRaw(ct, *d);
    if (!sk) return Fail(sk.error().WithContext("COSE_Key d"));
    if (pub && !(*pub == sk->public_key()))
      return Fail(Bad("the private key d does not match the public key"));
    pub = sk->public_key();
    k.private_key = std::make_shared<const crypto::PrivateKey>(std::move(*sk));
  }
  if (!pub) return Fail(Bad("neither a public (x) nor a private (d) key is present"));
  k.public_key = std::move(pub);
  return k;
}

// ---- base64url (RFC 4648 §5, no padding required) ----------------------------------------------

Result<Bytes> Base64UrlDecode(std::string_view s, const std::string& field) {
  Bytes out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '-')
      v = 62;
    else if (c == '_')
      v = 63;
    else if (c == '=')
      break;
    else
      return Fail(ErrorCode::kInvalidInput, "JWK member '" + field + "' is not base64url");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(acc >> bits));
    }
  }
  if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0)
    return Fail(ErrorCode::kInvalidInput,
                "JWK member '" + field + "' has a malformed base64url tail");
  return out;
}

}  // namespace

constexpr EnumName<KeyType> kKeyTypeNames[] = {
    {KeyType::kOkp, "OKP"}, {KeyType::kEc2, "EC2"}, {KeyType::kSymmetric, "Symmetric"}};
constexpr EnumName<Curve> kCurveNames[] = {{Curve::kP256, "P-256"},
                                           {Curve::kX25519, "X25519"},
                                           {Curve::kEd25519, "Ed25519"},
                                           {Curve::kEd448, "Ed448"}};

const char* KeyTypeName(KeyType kty) { return NameOf(kKeyTypeNames, kty, "?"); }

const char* CurveName(Curve crv) { return NameOf(kCurveNames, crv, "?"); }

std::string Key::Describe() const {
  std::string s = KeyTypeName(kty);
  if (crv) s += std::string(" ") + CurveName(*crv);
  if (secret) s += " " + std::to_string(secret->size() * 8) + "-bit";
  if (!kid.empty()) s += " kid h'" + cbor::ToHex(kid) + "'";
  if (has_private()) s += " (private)";
  return s;
}

Key SymmetricKey(ByteView k, ByteView kid) {
  Key key;
  key.kty = KeyType::kSymmetric;
  key.secret = std::make_shared<const crypto::SecureBuffer>(k);
  key.kid.assign(kid.begin(), kid.end());
  return key;
}

Result<Key> KeyFromPrivate(crypto::PrivateKey sk, ByteView kid) {
  Key k;
  std::tie(k.kty, k.crv) = CoseTypeOf(sk.type());
  k.public_key = sk.public_key();
  k.private_key = std::make_shared<const crypto::PrivateKey>(std::move(sk));
  k.kid.assign(kid.begin(), kid.end());
  return k;
}

Result<Key> KeyFromPublic(const crypto::PublicKey& pk, ByteView kid) {
  Key k;
  std::tie(k.kty, k.crv) = CoseTypeOf(pk.type());
  k.public_key = pk;
  k.kid.assign(kid.begin(), kid.end());
  return k;
}

// ---- COSE_Key
// ------------------------------------------------------------------------------------

Result<Key> KeyFromCose(const Value& m) {
  if (!m.is_map())
    return Fail(Bad(std::string("expected a map, found ") + cbor::TypeName(m.type())));
  const Value* kty_v = m.Find(key_label::kKty);
  if (!kty_v) return Fail(Bad("kty (1) is required (RFC 9052 §7.1)"));
  if (kty_v->is_text())
    return Fail(Error(ErrorCode::kUnsupported, "COSE_Key: key type \"" + kty_v->text() + "\""));
  auto kty_i = kty_v->AsInt64();
  if (!kty_i) return Fail(Bad("kty: " + kty_i.error().message()));
  KeyType kty;
  switch (*kty_i) {
    case 1:
      kty = KeyType::kOkp;
      break;
    case 2:
      kty = KeyType::kEc2;
      break;
    case 4:
      kty = KeyType::kSymmetric;
      break;
    default:
      return Fail(Error(ErrorCode::kUnsupported,
                        "COSE_Key: key type " + std::to_string(*kty_i) + " is not supported"));
  }
  auto bytes_at = [&](int64_t l, const char* name) -> Result<const Bytes*> {
    const Value* v = m.Find(l);
    if (!v) return static_cast<const Bytes*>(nullptr);
    if (!v->is_bytes())
      return Fail(Bad(std::string(name) + " (" + std::to_string(l) + ") must be a byte string"));
    return &v->bytes();
  };
  Key k;
  if (kty == KeyType::kSymmetric) {
    SECPROF_ASSIGN_OR_RETURN(const Bytes* kk, bytes_at(key_label::kK, "k"));
    if (!kk || kk->empty()) return Fail(Bad("symmetric key without k (-1)"));
    k = SymmetricKey(*kk);
  } else {
    std::optional<int64_t> crv;
    if (const Value* c = m.Find(key_label::kCrv)) {
      if (c->is_text())
        return Fail(Error(ErrorCode::kUnsupported, "COSE_Key: curve \"" + c->text() + "\""));
      auto ci = c->AsInt64();
      if (!ci) return Fail(Bad("crv: " + ci.error().message()));
      crv = *ci;
    }
    if (const Value* y = m.Find(key_label::kY); y && y->is_bool())
      return Fail(Error(ErrorCode::kUnsupported,
                        "COSE_Key: compressed EC2 points (y as a bool) are not supported"));
    SECPROF_ASSIGN_OR_RETURN(const Bytes* x, bytes_at(key_label::kX, "x"));
    const Bytes* y = nullptr;
    if (kty == KeyType::kEc2) {
      SECPROF_ASSIGN_OR_RETURN(y, bytes_at(key_label::kY, "y"));
    }
    SECPROF_ASSIGN_OR_RETURN(const Bytes* d, bytes_at(key_label::kD, "d"));
    std::optional<crypto::SecureBuffer> dbuf;
    if (d) dbuf.emplace(*d);
    SECPROF_ASSIGN_OR_RETURN(k, Assemble(kty, crv, x, y, dbuf ? &*dbuf : nullptr));
  }
  SECPROF_ASSIGN_OR_RETURN(const Bytes* kid, bytes_at(key_label::kKid, "kid"));
  if (kid) k.kid = *kid;
  SECPROF_ASSIGN_OR_RETURN(const Bytes* base_iv, bytes_at(key_label::kBaseIv, "Base IV"));
  if (base_iv) k.base_iv = *base_iv;
  if (const Value* alg = m.Find(key_label::kAlg)) {
    if (alg->is_text())
      return Fail(Error(ErrorCode::kUnsupported, "COSE_Key: algorithm \"" + alg->text() + "\""));
    auto a = alg->AsInt64();
    if (!a) return Fail(Bad("alg: " + a.error().message()));
    k.alg = *a;
  }
  return k;
}

Result<Key> DecodeCoseKey(ByteView data) {
  cbor::Limits l;
  l.max_depth = 8;
  l.allow_indefinite = false;
  auto v = cbor::Decode(data, l);
  if (!v) return Fail(v.error().WithContext("COSE_Key"));
  return KeyFromCose(*v);
}

Result<cbor::Value> KeyToCose(const Key& key, bool include_private) {
  Value m = Value::Map();
  auto put = [&](int64_t l, Value v) { m.map().emplace_back(Value::Int(l), std::move(v)); };
  put(key_label::kKty, Value::Int(static_cast<int64_t>(key.kty)));
  if (!key.kid.empty()) put(key_label::kKid, Value::ByteString(key.kid));
  if (key.alg) put(key_label::kAlg, Value::Int(*key.alg));
  if (!key.base_iv.empty()) put(key_label::kBaseIv, Value::ByteString(key.base_iv));
  if (key.kty == KeyType::kSymmetric) {
    if (!key.secret) return Fail(ErrorCode::kInvalidInput, "symmetric key without material");
    if (include_private) put(key_label::kK, Value::ByteString(key.secret->view()));
    return m;
  }
  if (!key.crv || !key.public_key)
    return Fail(ErrorCode::kInvalidInput, "key without a public part");
  put(key_label::kCrv, Value::Int(static_cast<int64_t>(*key.crv)));
  if (key.kty == KeyType::kEc2) {
    SECPROF_ASSIGN_OR_RETURN(crypto::P256Coordinates xy, key.public_key->ToP256Coordinates());
    put(key_label::kX, Value::ByteString(xy.x));
    put(key_label::kY, Value::ByteString(xy.y));
  } else {
    SECPROF_ASSIGN_OR_RETURN(Bytes x, key.public_key->ToRaw());
    put(key_label::kX, Value::ByteString(x));
  }
  if (include_private && key.private_key) {
    SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer d, key.private_key->ToRaw());
    put(key_label::kD, Value::ByteString(d.view()));
  }
  return m;
}

// ---- JWK
// -----------------------------------------------------------------------------------------

Result<Key> KeyFromJwk(std::string_view text) {
  const auto j =
      nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Fail(ErrorCode::kInvalidInput, "JWK: not valid JSON");
  if (!j.is_object()) return Fail(ErrorCode::kInvalidInput, "JWK: not a JSON object");
  // A member as bytes: base64url "name", or hex "name_hex" (the cose-wg Examples' form).
  auto member = [&](const std::string& name) -> Result<std::optional<Bytes>> {
    if (auto it = j.find(name); it != j.end()) {
      if (!it->is_string())
        return Fail(ErrorCode::kInvalidInput, "JWK member '" + name + "' must be a string");
      SECPROF_ASSIGN_OR_RETURN(Bytes b, Base64UrlDecode(it->get<std::string>(), name));
      return std::optional<Bytes>(std::move(b));
    }
    if (auto it = j.find(name + "_hex"); it != j.end()) {
      if (!it->is_string())
        return Fail(ErrorCode::kInvalidInput, "JWK member '" + name + "_hex' must be a string");
      auto b = cbor::FromHex(it->get<std::string>());
      if (!b) return Fail(b.error().WithContext("JWK member '" + name + "_hex'"));
      return std::optional<Bytes>(std::move(*b));
    }
    return std::optional<Bytes>();
  };
  auto text_member = [&](const char* name) -> std::optional<std::string> {
    auto it = j.find(name);
    if (it == j.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  const auto kty = text_member("kty");
  if (!kty) return Fail(ErrorCode::kInvalidInput, "JWK: kty is required (RFC 7517 §4.1)");
  Key k;
  if (*kty == "oct") {
    SECPROF_ASSIGN_OR_RETURN(auto kk, member("k"));
    if (!kk || kk->empty()) return Fail(ErrorCode::kInvalidInput, "JWK: oct key without k");
    k = SymmetricKey(*kk);
  } else if (*kty == "EC" || *kty == "OKP") {
    const auto crv = text_member("crv");
    if (!crv) return Fail(ErrorCode::kInvalidInput, "JWK: crv is required for " + *kty + " keys");
    std::optional<int64_t> crv_id;
    if (*crv == "P-256")
      crv_id = static_cast<int64_t>(Curve::kP256);
    else if (*crv == "Ed25519")
      crv_id = static_cast<int64_t>(Curve::kEd25519);
    else if (*crv == "X25519")
      crv_id = static_cast<int64_t>(Curve::kX25519);
    else if (*crv == "Ed448")
      crv_id = static_cast<int64_t>(Curve::kEd448);
    else
      return Fail(ErrorCode::kUnsupported, "JWK: curve " + *crv + " is not supported");
    SECPROF_ASSIGN_OR_RETURN(auto x, member("x"));
    SECPROF_ASSIGN_OR_RETURN(auto y, member("y"));
    SECPROF_ASSIGN_OR_RETURN(auto d, member("d"));
    std::optional<crypto::SecureBuffer> dbuf;
    if (d) dbuf.emplace(*d);
    auto key = Assemble(*kty == "EC" ? KeyType::kEc2 : KeyType::kOkp, crv_id, x ? &*x : nullptr,
                        y ? &*y : nullptr, dbuf ? &*dbuf : nullptr);
    if (!key) return Fail(Error(key.error().code(), "JWK: " + key.error().message()));
    k = std::move(*key);
  } else {
    return Fail(ErrorCode::kUnsupported, "JWK: key type " + *kty + " is not supported");
  }
  if (auto kid = text_member("kid")) k.kid.assign(kid->begin(), kid->end());
  if (auto alg = text_member("alg")) {
    // JOSE names that mean the same algorithm as a COSE one.
    if (*alg == "ES256")
      k.alg = -7;
    else if (*alg == "EdDSA")
      k.alg = -8;
    else if (*alg == "ESP256")  // RFC 9864 §2.1 (fully specified: P-256 and SHA-256)
      k.alg = -9;
    else if (*alg == "Ed25519")  // RFC 9864 §2.2
      k.alg = -19;
    else if (*alg == "Ed448")
      k.alg = -53;
  }
  return k;
}

// ---- PEM and files
// -------------------------------------------------------------------------------

Result<Key> KeyFromPem(std::string_view pem) {
  if (pem.find("PRIVATE KEY-----") != std::string_view::npos) {
    SECPROF_ASSIGN_OR_RETURN(crypto::PrivateKey sk, crypto::PrivateKey::FromPem(pem));
    return KeyFromPrivate(std::move(sk));
  }
  if (pem.find("PUBLIC KEY-----") != std::string_view::npos) {
    SECPROF_ASSIGN_OR_RETURN(crypto::PublicKey pk, crypto::PublicKey::FromPem(pem));
    return KeyFromPublic(pk);
  }
  return Fail(ErrorCode::kInvalidInput, "PEM: neither a PRIVATE KEY nor a PUBLIC KEY block");
}

Result<Key> LoadKeyFile(const std::string& path) {
  SECPROF_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  crypto::SecureBuffer buf(ByteView(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
  crypto::Cleanse(data);
  const std::string_view text = buf.AsStringView();
  Result<Key> k = Fail(ErrorCode::kInternal, "unset");
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (text.find("-----BEGIN") != std::string_view::npos) {
    k = KeyFromPem(text);
  } else if (first != std::string_view::npos && text[first] == '{') {
    k = KeyFromJwk(text);
  } else {
    k = DecodeCoseKey(buf.view());
  }
  if (!k) return Fail(k.error().WithContext(path));
  return k;
}

}  // namespace secprof::cose

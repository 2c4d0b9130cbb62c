// Ownership vouchers: encoding, strict decoding, issuing and verification (voucher.h). The
// envelope is a COSE_Sign1 (RFC 9052 §4.2) made and checked by secprof::cose; the payload map and
// its labels are secprof's own (docs/VOUCHER.md).
#include <chrono>
#include <cstdio>

#include "secprof/cbor/cbor.h"
#include "secprof/core/time_format.h"
#include "secprof/cose/cose.h"
#include "secprof/crypto/hash.h"
#include "secprof/voucher/voucher.h"

namespace secprof::voucher {
namespace {

using cbor::Value;

constexpr size_t kMaxPayloadItems = 32;  // a map of at most 9 pairs is 19 items

Error Bad(const std::string& what) { return Error(ErrorCode::kInvalidInput, "voucher: " + what); }
Error Refused(const std::string& what) { return Error(ErrorCode::kVerifyFailed, what); }

// UTF-8 without C0 controls or DEL (so nothing a terminal would interpret).
bool Printable(std::string_view s) {
  if (!cbor::IsValidUtf8(s)) return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

Status CheckText(std::string_view field, const std::string& s, size_t min, size_t max) {
  if (s.size() < min || s.size() > max)
    return Fail(Bad(std::string(field) + " must have " + std::to_string(min) + ".." +
                    std::to_string(max) + " bytes, not " + std::to_string(s.size())));
  if (!Printable(s))
    return Fail(Bad(std::string(field) + " must be UTF-8 text without control characters"));
  return Ok();
}

Status CheckTime(std::string_view field, int64_t t) {
  if (t < 0 || t > kMaxTime)
    return Fail(Bad(std::string(field) + " " + std::to_string(t) + " is outside 0.." +
                    std::to_string(kMaxTime)));
  return Ok();
}

// The payload map, deterministically encoded (RFC 8949 §4.2.1 sorts the integer keys 1..9 in
// numeric order). REQUIRES Validate(v).
Bytes EncodePayload(const Voucher& v) {
  cbor::MapEntries m;
  m.emplace_back(Value::Int(label::kVersion), Value::Int(v.version));
  m.emplace_back(Value::Int(label::kSerial), Value::Text(v.serial));
  m.emplace_back(Value::Int(label::kVendor), Value::Text(v.vendor));
  m.emplace_back(Value::Int(label::kModel), Value::Text(v.model));
  m.emplace_back(Value::Int(label::kDomain), Value::ByteString(v.domain_hash));
  m.emplace_back(Value::Int(label::kCreated), Value::Int(v.created));
  m.emplace_back(Value::Int(label::kExpires), Value::Int(v.expires));
  if (!v.nonce.empty()) m.emplace_back(Value::Int(label::kNonce), Value::ByteString(v.nonce));
  if (!v.owner.empty()) m.emplace_back(Value::Int(label::kOwner), Value::Text(v.owner));
  return cbor::Encode(Value::Map(std::move(m)));
}

// The protected header Issue writes (RFC 9052 §3.1 labels 1 alg, 3 content type, 4 kid), encoded
// deterministically.
Bytes EncodeProtected(int64_t alg, ByteView kid) {
  return cbor::Encode(
      Value::Map({{Value::Int(cose::label::kAlg), Value::Int(alg)},
                  {Value::Int(cose::label::kContentType), Value::Text(std::string(kContentType))},
                  {Value::Int(cose::label::kKid), Value::ByteString(kid)}}));
}

Result<Voucher> PayloadFromBytes(ByteView payload) {
  cbor::Limits limits;
  limits.max_depth = 2;  // the map and its scalar values
  limits.max_items = kMaxPayloadItems;
  limits.max_bytes = kMaxVoucherSize;
  limits.allow_indefinite = false;
  auto value = cbor::Decode(payload, limits);
  if (!value) return Fail(Bad("payload: " + value.error().message()));
  if (!value->is_map())
    return Fail(Bad(std::string("payload must be a map, not ") + cbor::TypeName(value->type())));

  Voucher v;
  bool seen[10] = {};
  for (const auto& entry : value->map()) {
    const Value& k = entry.first;
    const Value& val = entry.second;  // a plain reference: clang cannot capture bindings
    if (!k.is_unsigned() || k.uint_value() < label::kVersion || k.uint_value() > label::kOwner)
      return Fail(Bad("payload: unknown label " + cbor::Diagnostic(k)));
    const int64_t l = static_cast<int64_t>(k.uint_value());
    seen[l] = true;  // duplicates were refused by Decode
    auto need = [&](bool ok, const char* what) -> Status {
      if (ok) return Ok();
      return Fail(Bad("payload: label " + std::to_string(l) + " must be " + what + ", not " +
                      cbor::TypeName(val.type())));
    };
    switch (l) {
      case label::kVersion:
        SECPROF_TRY(need(val.is_unsigned(), "an unsigned integer"));
        if (val.uint_value() != static_cast<uint64_t>(kVersion))
          return Fail(Bad("unsupported version " + std::to_string(val.uint_value()) +
                          " (this implementation reads version " + std::to_string(kVersion) + ")"));
        v.version = kVersion;
        break;
      case label::kSerial:
        SECPROF_TRY(need(val.is_text(), "a text string"));
        v.serial = val.text();
        break;
      case label::kVendor:
        SECPROF_TRY(need(val.is_text(), "a text string"));
        v.vendor = val.text();
        break;
      case label::kModel:
        SECPROF_TRY(need(val.is_text(), "a text string"));
        v.model = val.text();
        break;
      case label::kDomain:
        SECPROF_TRY(need(val.is_bytes(), "a byte string"));
        v.domain_hash = val.bytes();
        break;
      case label::kCreated:
      case label::kExpires: {
        SECPROF_TRY(need(val.is_unsigned(), "an unsigned integer"));
        if (val.uint_value() > static_cast<uint64_t>(kMaxTime))
          return Fail(Bad("payload: label " + std::to_string(l) + ": time " +
                          std::to_string(val.uint_value()) + " is beyond " +
                          std::to_string(kMaxTime)));
        (l == label::kCreated ? v.created : v.expires) = static_cast<int64_t>(val.uint_value());
        break;
      }
      case label::kNonce:
        SECPROF_TRY(need(val.is_bytes(), "a byte string"));
        if (val.bytes().empty()) return Fail(Bad("nonce is present but empty"));
        v.nonce = val.bytes();
        break;
      case label::kOwner:
        SECPROF_TRY(need(val.is_text(), "a text string"));
        if (val.text().empty()) return Fail(Bad("owner is present but empty"));
        v.owner = val.text();
        break;
    }
  }
  static constexpr const char* kRequired[] = {nullptr, "version", "serial",  "vendor",
                                              "model", "domain",  "created", "expires"};
  for (int64_t l = label::kVersion; l <= label::kExpires; ++l)
    if (!seen[l])
      return Fail(Bad("payload: required label " + std::to_string(l) + " (" + kRequired[l] +
                      ") is missing"));
  SECPROF_TRY(Validate(v));
  // One voucher, one encoding: anything but what Issue writes (key order, integer or length
  // heads) is refused, so that the signed bytes are exactly the meaning we report.
  if (EncodePayload(v) != Bytes(payload.begin(), payload.end()))
    return Fail(Bad("payload is not deterministically encoded (RFC 8949 §4.2.1)"));
  return v;
}

}  // namespace

std::string FormatTime(int64_t t) { return FormatIso8601(t); }

Status Validate(const Voucher& v) {
  if (v.version != kVersion)
    return Fail(
        Bad("version must be " + std::to_string(kVersion) + ", not " + std::to_string(v.version)));
  SECPROF_TRY(CheckText("serial", v.serial, 1, kMaxSerialLength));
  SECPROF_TRY(CheckText("vendor", v.vendor, 1, kMaxNameLength));
  SECPROF_TRY(CheckText("model", v.model, 1, kMaxNameLength));
  SECPROF_TRY(CheckText("owner", v.owner, 0, kMaxOwnerLength));
  if (v.domain_hash.size() != kDomainHashSize)
    return Fail(Bad("domain hash must have " + std::to_string(kDomainHashSize) +
                    " bytes (SHA-256), not " + std::to_string(v.domain_hash.size())));
  SECPROF_TRY(CheckTime("created", v.created));
  SECPROF_TRY(CheckTime("expires", v.expires));
  if (v.expires <= v.created)
    return Fail(Bad("expires (" + FormatTime(v.expires) + ") must be after created (" +
                    FormatTime(v.created) + ")"));
  if (!v.nonce.empty() && (v.nonce.size() < kMinNonceSize || v.nonce.size() > kMaxNonceSize))
    return Fail(Bad("nonce must have " + std::to_string(kMinNonceSize) + ".." +
                    std::to_string(kMaxNonceSize) + " bytes, not " +
                    std::to_string(v.nonce.size())));
  return Ok();
}

Result<Bytes> SpkiHash(const crypto::PublicKey& key) {
  SECPROF_ASSIGN_OR_RETURN(Bytes der, key.ToDer());
  SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Digest d, crypto::Sha256(der));
  return Bytes(d.begin(), d.end());
}

Bytes DomainHash(const identity::Certificate& domain_ca) {
  auto d = crypto::Sha256(domain_ca.public_key_der());
  // SHA-256 fails only when OpenSSL cannot allocate; an empty hash then matches no voucher.
  return d ? Bytes(d->begin(), d->end()) : Bytes{};
}

Result<Bytes> Issue(crypto::Signer& vendor_ca_key, const Voucher& v) {
  SECPROF_TRY(Validate(v));
  const crypto::SignatureAlgorithm sa = vendor_ca_key.algorithm();
  const int64_t alg = sa == crypto::SignatureAlgorithm::kEcdsaP256Sha256 ||
                              sa == crypto::SignatureAlgorithm::kEcdsaP256Sha256Der
                          ? cose::kAlgEs256
                          : cose::kAlgEdDsa;
  SECPROF_ASSIGN_OR_RETURN(Bytes kid, SpkiHash(vendor_ca_key.public_key()));
  cose::Sign1Params p;
  p.alg = alg;
  p.protected_extra.Set(cose::label::kContentType, Value::Text(std::string(kContentType)));
  p.protected_extra.Set(cose::label::kKid, Value::ByteString(kid));
  auto msg = cose::CreateSign1WithSigner(vendor_ca_key, EncodePayload(v), p);
  if (!msg) return Fail(msg.error().WithContext("signing the voucher"));
  Bytes wire = cose::Encode(*msg, /*tagged=*/true);
  if (wire.size() > kMaxVoucherSize)
    return Fail(ErrorCode::kLimit, "voucher: " + std::to_string(wire.size()) +
                                       " bytes, more than the limit of " +
                                       std::to_string(kMaxVoucherSize));
  return wire;
}

namespace {

// Decodes the envelope and the payload; also returns the COSE message for Verify.
Result<std::pair<SignedVoucher, cose::Sign1>> DecodeAll(ByteView data) {
  if (data.empty()) return Fail(Bad("empty input"));
  if (data.size() > kMaxVoucherSize)
    return Fail(Bad(std::to_string(data.size()) + " bytes, more than the limit of " +
                    std::to_string(kMaxVoucherSize)));
  auto msg = cose::DecodeSign1(data, cose::TagPolicy::kRequireTagged);
  if (!msg) return Fail(Bad("not a tagged COSE_Sign1: " + msg.error().message()));

  SignedVoucher out;
  const cose::HeaderMap& prot = msg->protected_header.map;
  for (const auto& [k, val] : prot.value().map()) {
    if (!(k == Value::Int(cose::label::kAlg) || k == Value::Int(cose::label::kContentType) ||
          k == Value::Int(cose::label::kKid)))
      return Fail(Bad("protected header: unexpected parameter " + cbor::Diagnostic(k)));
  }
  const Value* alg = prot.Find(cose::label::kAlg);
  const Value* ctype = prot.Find(cose::label::kContentType);
  const Value* kid = prot.Find(cose::label::kKid);
  if (!alg || !ctype || !kid)
    return Fail(Bad("protected header must hold alg (1), content type (3) and kid (4)"));
  if (!(*alg == Value::Int(cose::kAlgEs256) || *alg == Value::Int(cose::kAlgEdDsa)))
    return Fail(Bad("protected header: alg " + cbor::Diagnostic(*alg) +
                    " is not ES256 (-7) or EdDSA (-8)"));
  if (!(ctype->is_text() && ctype->text() == kContentType))
    return Fail(Bad("protected header: content type " + cbor::Diagnostic(*ctype) + " is not \"" +
                    std::string(kContentType) + "\""));
  if (!kid->is_bytes() || kid->bytes().size() != crypto::kSha256Size)
    return Fail(Bad("protected header: kid must be a 32-byte SHA-256, not " +
                    cbor::Diagnostic(*kid).substr(0, 80)));
  out.alg = alg->AsInt64().value_or(0);
  out.kid = kid->bytes();
  if (EncodeProtected(out.alg, out.kid) != msg->protected_header.encoded)
    return Fail(Bad("protected header is not deterministically encoded (RFC 8949 §4.2.1)"));
  if (!msg->unprotected.empty()) return Fail(Bad("the unprotected header must be empty"));
  if (!msg->payload) return Fail(Bad("detached payload (nil): a voucher carries its payload"));
  SECPROF_ASSIGN_OR_RETURN(out.voucher, PayloadFromBytes(*msg->payload));
  out.signature = msg->signature;
  return std::pair<SignedVoucher, cose::Sign1>{std::move(out), std::move(*msg)};
}

}  // namespace

Result<SignedVoucher> DecodeSigned(ByteView data) {
  SECPROF_ASSIGN_OR_RETURN(auto both, DecodeAll(data));
  return std::move(both.first);
}

Result<Voucher> Decode(ByteView data) {
  SECPROF_ASSIGN_OR_RETURN(auto both, DecodeAll(data));
  return std::move(both.first.voucher);
}

Result<Voucher> Verify(ByteView data, const identity::Certificate& vendor_ca, const Clock& clock) {
  SECPROF_ASSIGN_OR_RETURN(auto both, DecodeAll(data));
  const SignedVoucher& sv = both.first;
  const Voucher& v = sv.voucher;

  // The anchor: kid names the vendor CA key that signed (RFC 9052 §3.1: kid is a hint, but here
  // it is protected and must name exactly this anchor).
  if (!vendor_ca.is_ca())
    return Fail(
        Refused("the trust anchor '" + vendor_ca.subject().text + "' is not a CA certificate"));
  const Bytes anchor = DomainHash(vendor_ca);  // the same SPKI hash, here of the vendor CA
  if (sv.kid != anchor)
    return Fail(Refused("voucher was issued under another vendor CA (kid " + cbor::ToHex(sv.kid) +
                        ", the trust anchor '" + vendor_ca.subject().text + "' has " +
                        cbor::ToHex(anchor) + ")"));
  auto pub = vendor_ca.public_key();
  if (!pub) return Fail(pub.error().WithContext("vendor CA certificate"));
  SECPROF_ASSIGN_OR_RETURN(cose::Key key, cose::KeyFromPublic(*pub));
  auto st = cose::VerifySign1(both.second, key, /*external_aad=*/{});
  if (!st) {
    if (st.error().code() == ErrorCode::kVerifyFailed)
      return Fail(Refused("voucher signature does not verify with the vendor CA '" +
                          vendor_ca.subject().text + "' (" + st.error().message() + ")"));
    return Fail(st.error().WithContext("voucher"));
  }

  if (v.vendor != vendor_ca.subject().organization)
    return Fail(Refused("voucher names vendor '" + v.vendor +
                        "' but the vendor CA's organization is '" +
                        vendor_ca.subject().organization + "'"));
  const int64_t now = UnixSeconds(clock);
  if (now >= v.expires)
    return Fail(
        Refused("voucher expired at " + FormatTime(v.expires) + " (now " + FormatTime(now) + ")"));
  if (v.created > now + kAllowedSkew.count())
    return Fail(Refused("voucher created in the future, at " + FormatTime(v.created) + " (now " +
                        FormatTime(now) + ", allowed skew " + std::to_string(kAllowedSkew.count()) +
                        " s)"));
  return v;
}

Status CheckBinding(const Voucher& v, std::string_view serial,
                    const identity::Certificate& domain_ca) {
  if (v.serial != serial)
    return Fail(
        Refused("voucher is for serial '" + v.serial + "', not '" + std::string(serial) + "'"));
  const Bytes h = DomainHash(domain_ca);
  if (h.size() != kDomainHashSize || v.domain_hash != h)
    return Fail(Refused("voucher pins another domain (domain CA SPKI hash " +
                        cbor::ToHex(v.domain_hash) + ") than the domain CA '" +
                        domain_ca.subject().text + "' (" + cbor::ToHex(h) + ")"));
  return Ok();
}

}  // namespace secprof::voucher

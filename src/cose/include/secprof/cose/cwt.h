// secprof/cose/cwt.h — CBOR Web Token claims (RFC 8392 §3, §4).
//
//   cose::CwtClaims c;
//   c.iss = "coap://as.example.com";
//   c.exp = 1444064944;
//   cbor::Bytes claims = cbor::Encode(cose::ClaimsToValue(c));  // the payload of a COSE_Sign1
//   SECPROF_ASSIGN_OR_RETURN(cose::CwtClaims back, cose::DecodeCwtClaims(claims));
#pragma once

#include <optional>
#include <string>

#include "secprof/cbor/cbor.h"
#include "secprof/core/result.h"

namespace secprof::cose {

// Claim keys (RFC 8392 §4 Table 1).
namespace claim {
inline constexpr int64_t kIss = 1;
inline constexpr int64_t kSub = 2;
inline constexpr int64_t kAud = 3;
inline constexpr int64_t kExp = 4;
inline constexpr int64_t kNbf = 5;
inline constexpr int64_t kIat = 6;
inline constexpr int64_t kCti = 7;
}  // namespace claim

// CWT CBOR tag (RFC 8392 §6).
inline constexpr uint64_t kTagCwt = 61;

struct CwtClaims {
  std::optional<std::string> iss;  // StringOrURI (§3.1.1)
  std::optional<std::string> sub;  // §3.1.2
  std::optional<std::string> aud;  // §3.1.3
  std::optional<int64_t> exp;      // NumericDate, seconds since the epoch (§3.1.4)
  std::optional<int64_t> nbf;      // §3.1.5
  std::optional<int64_t> iat;      // §3.1.6
  std::optional<cbor::Bytes> cti;  // §3.1.7
  cbor::MapEntries other;          // any other claims, kept as given
};

// The claims map: standard claims in key order, then `other`.
cbor::Value ClaimsToValue(const CwtClaims& c);
// From a map: the standard claims must have their types (tstr, integer NumericDate, bstr); a
// NumericDate given as a float is refused (kUnsupported), as is a value outside int64.
Result<CwtClaims> ClaimsFromValue(const cbor::Value& v);
// Decodes a claims set (the CWT tag 61 is accepted and removed).
Result<CwtClaims> DecodeCwtClaims(cbor::ByteView data);

// Time checks (RFC 8392 §3.1.4, §3.1.5): kVerifyFailed when now >= exp + leeway or
// now < nbf - leeway.
Status CheckCwtTimes(const CwtClaims& c, int64_t now, int64_t leeway_seconds = 0);

}  // namespace secprof::cose

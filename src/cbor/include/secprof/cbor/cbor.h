// secprof/cbor/cbor.h — decoding untrusted CBOR, deterministic encoding, diagnostic notation.
//
// Decode is the only entry point for bytes from the outside world. It runs in two passes:
//   1. a well-formedness scan of our own (RFC 8949 §3 and Appendix C) that walks every head,
//      checks every length against the bytes left, bounds the depth, the item count and the
//      input size, validates UTF-8 and the rules for indefinite lengths, and rejects trailing
//      bytes. Nothing is allocated from a length field before it has been checked;
//   2. only then libcbor's streaming decoder (cbor_stream_decode) builds the Value through its
//      callbacks. (libcbor 0.8 cannot decode unassigned simple values, rejects tag numbers 6..20
//      (COSE's 16, 17, 18 among them) and drops half-precision NaN payloads, so those heads are
//      read directly by us.)
//
//   auto v = cbor::Decode(bytes, {.max_depth = 16});
//   if (!v) return Fail(v.error());   // "truncated input: ..." / "trailing bytes ..." / ...
//
// Encode never fails: a Value is always encodable. Deterministic mode follows RFC 8949 §4.2.1
// (preferred serialization: shortest heads, shortest float that keeps the value; definite lengths;
// map keys sorted bytewise by their encoding). kPreserveOrder differs only in writing map pairs in
// the order held, which re-creates messages produced by encoders that did not sort (e.g. the
// cose-wg examples) byte for byte.
#pragma once

#include <cstddef>
#include <string>

#include "secprof/cbor/value.h"
#include "secprof/core/hex.h"
#include "secprof/core/result.h"

namespace secprof::cbor {

struct Limits {
  size_t max_depth = 64;         // nesting of arrays, maps and tags (a scalar at top level is 1)
  size_t max_items = 1u << 20;   // data items in total, counting every nested item and map key
  size_t max_bytes = 16u << 20;  // size of the input
  // Indefinite-length strings, arrays and maps (RFC 8949 §3.2.2, §3.2.3). On by default so that
  // `cbor diag` shows any well-formed input; COSE turns it off: every message we accept is one we
  // could produce ourselves (definite lengths, RFC 9052 §9), which keeps the signed bytes simple.
  bool allow_indefinite = true;
  // Duplicate map keys make a map invalid (RFC 8949 §5.6); COSE requires unique labels
  // (RFC 9052 §3). Keys are compared by their deterministic encoding.
  bool reject_duplicate_keys = true;
};

// Decodes exactly one data item that fills `data`. Errors (all kInvalidInput unless noted, each
// naming the byte offset): truncated input; trailing bytes; reserved additional information
// 28..30; a break (0xff) outside an indefinite-length item; an indefinite length on major types
// 0, 1, 6 or 7, or when Limits.allow_indefinite is false; a chunk of the wrong type inside an
// indefinite-length string; a two-byte simple value below 32; invalid UTF-8 in a text string;
// duplicate map keys; kLimit when depth, item count or size exceed `limits`.
Result<Value> Decode(ByteView data, const Limits& limits = {});

enum class MapOrder { kDeterministic, kPreserveOrder };

// Encodes `v` with definite lengths and preferred serialization (RFC 8949 §4.2.1).
Bytes Encode(const Value& v, MapOrder order = MapOrder::kDeterministic);

// RFC 8949 §8 diagnostic notation on one line: 1, -1, h'0102', "text" (JSON escapes, non-ASCII as
// \uXXXX as in Appendix A), [1, 2], {1: 2}, 32("..."), false, null, undefined, simple(16),
// 1.5, -0.0, 1.0e+300, Infinity, NaN. Indefinite-length input is shown as the equivalent
// definite-length value (the data model does not keep the chunking).
std::string Diagnostic(const Value& v);

// Hex lives in core/hex.h; these names stay for the callers that spell them cbor::. ToHex is
// lower case; cbor::FromHex accepts upper or lower case and ignores ASCII whitespace (it is
// secprof::FromHexIgnoringSpace; secprof::FromHex is the strict form).
using secprof::ToHex;
inline Result<Bytes> FromHex(std::string_view hex) { return FromHexIgnoringSpace(hex); }

// True when `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, <= U+10FFFF).
bool IsValidUtf8(std::string_view s);

}  // namespace secprof::cbor

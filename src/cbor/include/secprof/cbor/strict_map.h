// secprof/cbor/strict_map.h — one strict reader for the CBOR maps of secprof's own messages.
//
// A message body is a CBOR map with small unsigned-integer labels (docs/DOMAIN.md "Messages").
// StrictMap decodes it under Limits, refuses anything that is not such a map (a key that is not an
// unsigned integer <= 255, a label the message does not define, a label given twice) and then
// hands out typed fields, each refused with a message that names the label:
//
//   SECPROF_ASSIGN_OR_RETURN(StrictMap m, StrictMap::Parse(body, "join nonce", {1, 2}));
//   SECPROF_ASSIGN_OR_RETURN(r.nonce, m.Blob(1, 16, 16));        // required, exactly 16 bytes
//   SECPROF_ASSIGN_OR_RETURN(r.expires, m.Int(2, 0, INT64_MAX));
//
// Every error is kInvalidInput with the message "<what>: <reason>", e.g. "join nonce: unknown
// label 7", "join nonce: required label 1 is missing", "join nonce: label 2 must be an integer",
// "join nonce: label 1 is out of range".
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "secprof/cbor/cbor.h"
#include "secprof/core/result.h"

namespace secprof::cbor {

class StrictMap {
 public:
  // The limits Parse applies unless given others: depth 8, 64 KiB, no indefinite lengths.
  static Limits DefaultLimits();

  // Decodes `body` and checks its labels against `allowed`. `what` names the message in errors.
  static Result<StrictMap> Parse(ByteView body, std::string_view what,
                                 std::initializer_list<int> allowed);
  static Result<StrictMap> Parse(ByteView body, std::string_view what,
                                 std::initializer_list<int> allowed, const Limits& limits);

  // The value under `label`, or nullptr when absent.
  const Value* Find(int label) const { return v_.Find(label); }

  // A text string of 1..max bytes. Absent: an error when `required`, else "".
  Result<std::string> Text(int label, size_t max, bool required = true) const;
  // A byte string of min..max bytes. Absent: an error when `required`, else empty.
  Result<Bytes> Blob(int label, size_t min, size_t max, bool required = true) const;
  // An integer in [min, max]. Absent: an error when `required`, else `min`.
  Result<int64_t> Int(int label, int64_t min, int64_t max, bool required = true) const;
  // A boolean (always required).
  Result<bool> Bool(int label) const;

  // An error "<what>: <message>" for checks the caller makes itself.
  Error Bad(const std::string& message) const;

 private:
  StrictMap(std::string what, Value v) : what_(std::move(what)), v_(std::move(v)) {}
  Error Missing(int label) const;
  Error Type(int label, const char* type) const;
  Error Size(int label) const;

  std::string what_;
  Value v_;
};

}  // namespace secprof::cbor

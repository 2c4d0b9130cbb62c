// op/sent: the thing's account of the readings it sent (secprof/domain/protocol.h "Missing
// readings"; docs/DOMAIN.md "Missing readings").
#include <cstdint>

#include "secprof/cbor/cbor.h"
#include "secprof/cbor/strict_map.h"
#include "secprof/domain/protocol.h"

namespace secprof::domain {

Bytes Encode(const ReadingsSent& m) {
  using cbor::Value;
  return cbor::Encode(Value::Map({{Value::Unsigned(1), Value::Int(m.last_counter)},
                                  {Value::Unsigned(2), Value::Int(m.unacknowledged)}}));
}

Result<ReadingsSent> DecodeReadingsSent(ByteView b) {
  SECPROF_ASSIGN_OR_RETURN(cbor::StrictMap m, cbor::StrictMap::Parse(b, "readings sent", {1, 2}));
  ReadingsSent r;
  SECPROF_ASSIGN_OR_RETURN(r.last_counter, m.Int(1, 1, INT64_MAX));
  SECPROF_ASSIGN_OR_RETURN(r.unacknowledged, m.Int(2, 0, INT64_MAX));
  return r;
}

}  // namespace secprof::domain

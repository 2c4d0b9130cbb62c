// Helpers shared inside secprof::kdc (internal.h).
#include "internal.h"

#include "secprof/cbor/cbor.h"
#include "secprof/crypto/hash.h"

namespace secprof::kdc {

std::string HexSha256(crypto::ByteView data) {
  auto d = crypto::Sha256(data);
  if (!d) return {};
  return cbor::ToHex(crypto::ByteView(d->data(), d->size()));
}

}  // namespace secprof::kdc

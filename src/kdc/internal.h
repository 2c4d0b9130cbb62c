// Internal to secprof::kdc.
#pragma once

#include <string>

#include "secprof/core/result.h"
#include "secprof/crypto/random.h"
#include "secprof/identity/identity.h"
#include "secprof/registry/registry.h"

namespace secprof::kdc {

Status SaveVendorCa(const std::string& keys_dir, const identity::Certificate& ca);

// A GroupRekeyFn that draws a fresh 32-byte group key for the new epoch and wraps it under `kek`.
registry::GroupRekeyFn RekeyWith(crypto::ByteView kek, crypto::Random& rng);
// A fresh group key for `epoch`, wrapped.
Result<crypto::Bytes> NewGroupKey(crypto::ByteView kek, std::string_view group, int64_t epoch,
                                  crypto::Random& rng);

int64_t UnixNow(const Clock& clock);
std::string HexSha256(crypto::ByteView data);

}  // namespace secprof::kdc

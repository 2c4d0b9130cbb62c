// Bounds on the join nonces an unauthenticated sender can make the registry store (issue 9, T9;
// Registry::PutNonce). Internal to the registry module.
#pragma once

#include <cstdint>
#include <string_view>

#include "secprof/core/result.h"
#include "secprof/store/sqlite.h"

namespace secprof::registry::internal {

// Inside PutNonce's transaction, after expired nonces were purged and before the new one is
// inserted: deletes `serial`'s oldest nonces so that at most per_serial - 1 remain (per_serial >
// 0), then fails kLimit when `total` (> 0) nonces are still recorded.
Status BoundNonces(store::Database& db, std::string_view serial, int64_t per_serial, int64_t total);

}  // namespace secprof::registry::internal

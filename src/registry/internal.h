// Internal to secprof::registry: helpers of registry.cpp that the module's other source files use
// (defined at the end of registry.cpp), and setup_codes.cpp's part of Allow.
#pragma once

#include <cstdint>
#include <string_view>

#include "secprof/registry/registry.h"
#include "secprof/store/sqlite.h"

namespace secprof::registry::internal {

Status CheckSerialArg(std::string_view serial);
Status CheckTextArg(std::string_view what, std::string_view s, size_t max);
// kNotFound "no thing with serial S".
Result<Thing> LoadThingOrFail(store::Database& db, std::string_view serial);
// Appends one hash-chained audit entry inside the caller's transaction.
Status AppendAuditEntry(store::Database& db, int64_t now, std::string_view actor,
                        std::string_view action, std::string_view serial, std::string_view detail);
// Allow's whole transaction (DoAllow) with a wrapped setup-code key.
Status AllowWithVerifier(store::Database& db, int64_t now, std::string_view serial,
                         std::string_view vendor, std::string_view model, const Bytes& verifier,
                         std::string_view actor);
// Inside DoAllow's transaction: stores (or replaces) the thing's wrapped setup-code key and clears
// any retirement (setup_codes.cpp).
Status PutSetupVerifier(store::Database& db, int64_t now, std::string_view serial,
                        const Bytes& verifier);

}  // namespace secprof::registry::internal

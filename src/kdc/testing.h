// Internal to secprof::kdc, and what tests may reach beyond the public API (secprof/kdc/kdc.h):
// the context strings the registry's wrapped keys are bound to, so that a test can unwrap what the
// KDC stored, and a signer for the domain CA key, so that a test can issue certificates a
// domain's KDC would (or would not) accept. Tests include it by path ("src/kdc/testing.h").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "secprof/core/result.h"
#include "secprof/crypto/signer.h"
#include "secprof/kdc/kdc.h"

namespace secprof::kdc {

// Context strings of wrapped keys in the registry (domain::WrapKey; keys.cpp).
std::string PairwiseContext(std::string_view serial);
std::string GroupContext(std::string_view group, int64_t epoch);

// A signer for the domain CA key of `keys_dir` (issuing LDevIDs; key_dir.cpp): the file store
// under the KEK `kek` names, or the token recorded in <keys_dir>/domain-ca.key (opened with
// kek.ca_pin).
Result<std::unique_ptr<crypto::Signer>> DomainCaSigner(const std::string& keys_dir,
                                                       const KeyDirOptions& kek = {});

}  // namespace secprof::kdc

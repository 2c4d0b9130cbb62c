// Internal to secprof::kdc: the SecProf_2 setup-code join (docs/DOMAIN.md "SecProf_2: setup
// code"; issue 9, items 4, 9 and 12). The KDC keeps only the setup-code key K wrapped under its
// KEK; a j/psk is checked completely (nonce, code, proof, repeat grace) before anything is
// written, and the nonce is consumed in the transaction that commissions. The resources
// (j/nonce, j/psk) are registered by join_setup_code::Register (context.h); what the owner's
// tools share with them is here.
#pragma once

#include <string>
#include <string_view>

#include "secprof/core/result.h"
#include "secprof/crypto/random.h"
#include "secprof/registry/registry.h"

namespace secprof::kdc {

// Context of a wrapped setup-code key in the registry (domain::WrapKey).
std::string SetupCodeContext(std::string_view serial);
// K = domain::SetupCodeKey(code, serial), wrapped under `kek`. Does not judge the code's strength.
Result<crypto::Bytes> WrapSetupCodeKey(crypto::ByteView kek, std::string_view serial,
                                       std::string_view code, crypto::Random& rng);
// Replaces every setup code a registry older than schema v4 holds in clear by its wrapped key
// (Registry::ConvertLegacySetupCode). Called by Kdc::Create and OwnerTools::Open.
Status ConvertLegacySetupCodes(registry::Registry& reg, crypto::ByteView kek, crypto::Random& rng);

}  // namespace secprof::kdc

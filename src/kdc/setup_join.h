// Internal to secprof::kdc: the SecProf_2 setup-code join (docs/DOMAIN.md "SecProf_2: setup
// code"; issue 9, items 4, 9 and 12). The KDC keeps only the setup-code key K wrapped under its
// KEK; a j/psk is checked completely (nonce, code, proof, repeat grace) before anything is
// written, and the nonce is consumed in the transaction that commissions.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <tl/expected.hpp>

#include "secprof/coap/coap.h"
#include "secprof/core/clock.h"
#include "secprof/crypto/random.h"
#include "secprof/domain/protocol.h"
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

// A refused setup-code request: either an explicit CoAP code and message, or a registry error
// that the KDC maps as it maps every other (FromError in kdc.cpp).
struct JoinRefusal {
  coap::Code code = 0;
  std::string reason;
  std::string message;
  std::optional<Error> error;
};

struct SetupJoinEnv {
  registry::Registry& reg;
  crypto::ByteView kek;
  crypto::Random& rng;
  const Clock& clock;
  std::chrono::seconds grace;  // KdcOptions::join_repeat_grace
};

// j/nonce: may this serial have a nonce? Refused (nothing stored) for an unknown serial, one
// without a setup code, a retired code, a thing that is not allowed or active.
std::optional<JoinRefusal> CheckNonceRequest(const SetupJoinEnv& env, const std::string& serial);

struct SetupJoined {
  bool first_time = false;
  crypto::Bytes sealed_psk;  // domain::SealJoinPsk under the stored setup-code key and the nonce
};
// j/psk: validates the nonce without consuming it, checks the code is usable, verifies the proof
// under K, refuses a repeated join of an active thing after the grace period (4.03
// "join-repeat-refused", audited "alert:join-repeat"), then commissions and consumes the nonce in
// one registry transaction (Registry::CommissionBySetupCode). Any refusal leaves the registry as
// it was except for the alert entry.
tl::expected<SetupJoined, JoinRefusal> SetupCodeJoin(const SetupJoinEnv& env,
                                                     const domain::PskJoinRequest& req);

}  // namespace secprof::kdc

#include "setup_join.h"

#include "internal.h"
#include "secprof/domain/keys.h"
#include "secprof/domain/setup_code.h"
#include "secprof/kdc/kdc.h"

namespace secprof::kdc {

namespace {

using registry::State;

crypto::ByteView View(const crypto::SecureBuffer& b) {
  return crypto::ByteView(b.data(), b.size());
}

tl::unexpected<JoinRefusal> Refuse(coap::Code code, std::string reason, std::string message) {
  return tl::unexpected(JoinRefusal{code, std::move(reason), std::move(message), std::nullopt});
}
tl::unexpected<JoinRefusal> RefuseError(const Error& e, std::string reason) {
  return tl::unexpected(JoinRefusal{0, std::move(reason), e.message(), e});
}

constexpr const char* kRepeatAlert = "alert:join-repeat";

}  // namespace

std::string SetupCodeContext(std::string_view serial) {
  return "setup-code/" + std::string(serial);
}

Result<crypto::Bytes> WrapSetupCodeKey(crypto::ByteView kek, std::string_view serial,
                                       std::string_view code, crypto::Random& rng) {
  SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer k, domain::SetupCodeKey(code, serial));
  return domain::WrapKey(kek, SetupCodeContext(serial), View(k), rng);
}

Status ConvertLegacySetupCodes(registry::Registry& reg, crypto::ByteView kek, crypto::Random& rng) {
  SECPROF_ASSIGN_OR_RETURN(auto legacy, reg.LegacySetupCodes());
  for (const auto& [serial, code] : legacy) {
    SECPROF_ASSIGN_OR_RETURN(crypto::Bytes w, WrapSetupCodeKey(kek, serial, code, rng));
    SECPROF_TRY(reg.ConvertLegacySetupCode(serial, std::move(w)));
  }
  return Ok();
}

std::optional<JoinRefusal> CheckNonceRequest(const SetupJoinEnv& env, const std::string& serial) {
  auto t = env.reg.Get(serial);
  auto code = t ? env.reg.GetSetupCode(serial) : Result<std::optional<registry::SetupCode>>();
  if (!t || !code || !*code)
    return JoinRefusal{coap::kForbidden, "not-allowed", "serial is not allowed in this domain", {}};
  if (t->state != State::kAllowed && !registry::IsActive(t->state))
    return JoinRefusal{
        coap::kForbidden, "retired", "thing is " + std::string(registry::StateName(t->state)), {}};
  if (!(*code)->Usable(UnixNow(env.clock)))
    return JoinRefusal{coap::kForbidden,
                       "code-retired",
                       "the setup code of " + serial + " is retired (kdc allow a new one)",
                       {}};
  return std::nullopt;
}

tl::expected<SetupJoined, JoinRefusal> SetupCodeJoin(const SetupJoinEnv& env,
                                                     const domain::PskJoinRequest& req) {
  const std::string& serial = req.serial;
  // 1. The nonce: issued to this serial, unused, unexpired. Not consumed here (issue 9, item 9: a
  // forged proof must not burn the legitimate thing's nonce).
  if (auto v = env.reg.ValidateNonce(req.nonce, serial); !v)
    return RefuseError(v.error(), "replay-or-stale");
  auto t = env.reg.Get(serial);
  auto code = t ? env.reg.GetSetupCode(serial) : Result<std::optional<registry::SetupCode>>();
  if (!t || !code || !*code)
    return Refuse(coap::kForbidden, "not-allowed", "serial is not allowed");
  const int64_t now = UnixNow(env.clock);
  const bool active = registry::IsActive(t->state);
  const bool after_grace =
      active && t->commissioned_at && now > *t->commissioned_at + env.grace.count();
  // 2. A repeat of an active thing after the grace, or with a retired code: never the PSK again.
  // Alerted before the proof is checked when the key is gone and nothing can be checked.
  auto refuse_repeat = [&](const std::string& why) {
    (void)env.reg.Append("kdc", kRepeatAlert, serial, "refused: " + why);
    return Refuse(coap::kForbidden, "join-repeat-refused",
                  "thing " + serial + " already joined; " + why +
                      " (the owner can decommission it and allow it again with a new code)");
  };
  if (!(*code)->Usable(now)) {
    if (active) return refuse_repeat("its setup code is retired");
    return Refuse(coap::kForbidden, "code-retired",
                  "the setup code of " + serial + " is retired (kdc allow a new one)");
  }
  // 3. The proof under the stored setup-code key.
  auto k = domain::UnwrapKey(env.kek, SetupCodeContext(serial), (*code)->verifier);
  if (!k) return RefuseError(k.error(), "internal");
  if (auto p = domain::VerifyJoinProofWithKey(View(*k), serial, req.nonce, req.proof); !p)
    return RefuseError(p.error(), "bad-proof");
  if (after_grace)
    return refuse_repeat("the grace period of " + std::to_string(env.grace.count()) +
                         " s after its first join is over");

  // 4. The key: the stored one for a repeat within the grace (the answer was lost), else new.
  SetupJoined out;
  crypto::SecureBuffer psk;
  registry::CommissionInput in;
  in.credential_kind = std::string(registry::kCredentialPsk);
  in.credential_id = serial;
  if (active && t->credential_kind == registry::kCredentialPsk) {
    auto stored = domain::UnwrapKey(env.kek, PairwiseContext(serial), t->wrapped_key);
    if (!stored) return RefuseError(stored.error(), "internal");
    psk = std::move(*stored);
    in.wrapped_key = t->wrapped_key;
  } else {
    auto fresh = env.rng.DrawSecret(domain::kMasterKeySize);
    if (!fresh) return RefuseError(fresh.error(), "internal");
    psk = std::move(*fresh);
    auto w = domain::WrapKey(env.kek, PairwiseContext(serial), View(psk), env.rng);
    if (!w) return RefuseError(w.error(), "internal");
    in.wrapped_key = std::move(*w);
  }
  in.credential_fingerprint = HexSha256(View(psk));
  auto sealed = domain::SealJoinPsk(View(*k), serial, req.nonce, View(psk), env.rng);
  if (!sealed) return RefuseError(sealed.error(), "internal");
  out.sealed_psk = std::move(*sealed);
  // 5. Commission and consume the nonce together; the registry re-checks nonce, code and grace.
  auto done = env.reg.CommissionBySetupCode(serial, in, req.nonce, env.grace, "kdc");
  if (!done) return RefuseError(done.error(), "commission");
  out.first_time = done->first_time;
  return out;
}

}  // namespace secprof::kdc

// The SecProf_2 join at the KDC: j/nonce and j/psk over plain CoAP, by the setup code printed on
// the thing (docs/DOMAIN.md "SecProf_2: setup code" and "Resources"; draft §7.1: SecProf_2 "an
// evolution of SecProf_1", a "centrally managed security domain" whose KDC admits things; the
// draft lets initial secrets travel in the clear, secprof seals the PSK instead).
#include "join_setup_code.h"

#include "context.h"
#include "join_nonce.h"
#include "secprof/domain/keys.h"
#include "secprof/domain/protocol.h"
#include "secprof/domain/setup_code.h"

namespace secprof::kdc {

namespace {

using registry::State;

constexpr const char* kRepeatAlert = "alert:join-repeat";

}  // namespace

std::string SetupCodeContext(std::string_view serial) {
  return "setup-code/" + std::string(serial);
}

Result<crypto::Bytes> WrapSetupCodeKey(crypto::ByteView kek, std::string_view serial,
                                       std::string_view code, crypto::Random& rng) {
  SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer k, domain::SetupCodeKey(code, serial));
  return domain::WrapKey(kek, SetupCodeContext(serial), k.view(), rng);
}

Status ConvertLegacySetupCodes(registry::Registry& reg, crypto::ByteView kek, crypto::Random& rng) {
  SECPROF_ASSIGN_OR_RETURN(auto legacy, reg.LegacySetupCodes());
  for (const auto& [serial, code] : legacy) {
    SECPROF_ASSIGN_OR_RETURN(crypto::Bytes w, WrapSetupCodeKey(kek, serial, code, rng));
    SECPROF_TRY(reg.ConvertLegacySetupCode(serial, std::move(w)));
  }
  return Ok();
}

namespace join_setup_code {

namespace {

using coap::Request;
using coap::Response;

struct SetupJoinEnv {
  registry::Registry& reg;
  crypto::ByteView kek;
  crypto::Random& rng;
  const Clock& clock;
  std::chrono::seconds grace;  // KdcOptions::join_repeat_grace
  std::chrono::seconds nonce_lifetime;
  int64_t max_nonces;      // UnauthenticatedLimits::max_nonces: recorded (proven) join nonces
  std::string_view peer;   // the requester's "addr:port" (join_nonce.h binds nonces to it)
  std::string_view owner;  // KdcOptions::owner: named in the answer, bound into the seal
};

struct SetupJoined {
  bool first_time = false;
  crypto::Bytes sealed_psk;  // domain::SealJoinPsk under the stored setup-code key and the nonce
};

// docs/DOMAIN.md "SecProf_2: setup code". j/nonce: may this serial have a nonce? Refused (nothing
// stored) for an unknown serial, one without a setup code, a retired code, a thing that is not
// allowed or active.
Status CheckNonceRequest(const SetupJoinEnv& env, const std::string& serial) {
  auto t = env.reg.Get(serial);
  auto code = t ? env.reg.GetSetupCode(serial) : Result<std::optional<registry::SetupCode>>();
  if (!t || !code || !*code)
    return Fail(ErrorCode::kNotFound, kNotAllowed, "serial is not allowed in this domain");
  if (t->state != State::kAllowed && !registry::IsActive(t->state))
    return Fail(ErrorCode::kConflict, kRetired,
                "thing is " + std::string(registry::StateName(t->state)));
  if (!(*code)->Usable(UnixSeconds(env.clock)))
    return Fail(ErrorCode::kConflict, kCodeRetired,
                "the setup code of " + serial + " is retired (kdc allow a new one)");
  return Ok();
}

// docs/DOMAIN.md "SecProf_2: setup code" ("Proof", "Repeats"); draft §4 threat 3 (eavesdropping:
// a replayed j/psk is refused). j/psk: validates the nonce without consuming it, checks the code is
// usable, verifies the proof under K, refuses a repeated join of an active thing after the grace
// period (4.03 "join-repeat-refused", audited "alert:join-repeat"), then commissions and consumes
// the nonce in one registry transaction (Registry::CommissionBySetupCode). Any refusal leaves the
// registry as it was except for the alert entry.
Result<SetupJoined> SetupCodeJoin(const SetupJoinEnv& env, const domain::PskJoinRequest& req) {
  const std::string& serial = req.serial;
  // 1. The nonce: issued by this KDC for this serial to this address and port, unexpired
  // (join_nonce::Check, stateless: nothing read or written for a nonce that is not ours), and not
  // used before (the registry records a nonce only once its join is proven, step 5). Not consumed
  // here (issue 9, item 9: a forged proof must not burn the legitimate thing's nonce).
  if (auto v = join_nonce::Check(env.kek, req.nonce, serial, env.peer, UnixSeconds(env.clock),
                                 env.nonce_lifetime);
      !v)
    return Fail(v.error());
  // Recorded already: used (a replay), or recorded by a proven join whose commission failed
  // (then not yet used: it may be used now).
  bool recorded = false;
  if (auto v = env.reg.ValidateNonce(req.nonce, serial); v)
    recorded = true;
  else if (!v.error().Is(registry::kUnknownNonce))
    return Fail(v.error().WithReason(kReplayOrStale));
  auto t = env.reg.Get(serial);
  auto code = t ? env.reg.GetSetupCode(serial) : Result<std::optional<registry::SetupCode>>();
  if (!t || !code || !*code)
    return Fail(ErrorCode::kNotFound, kNotAllowed, "serial is not allowed");
  const int64_t now = UnixSeconds(env.clock);
  const bool active = registry::IsActive(t->state);
  const bool after_grace =
      active && t->commissioned_at && now > *t->commissioned_at + env.grace.count();
  // 2. A repeat of an active thing after the grace, or with a retired code: never the PSK again.
  // Alerted before the proof is checked when the key is gone and nothing can be checked.
  auto refuse_repeat = [&](const std::string& why) -> Result<SetupJoined> {
    (void)env.reg.Append("kdc", kRepeatAlert, serial, "refused: " + why);
    return Fail(ErrorCode::kConflict, kJoinRepeatRefused,
                "thing " + serial + " already joined; " + why +
                    " (the owner can decommission it and allow it again with a new code)");
  };
  if (!(*code)->Usable(now)) {
    if (active) return refuse_repeat("its setup code is retired");
    return Fail(ErrorCode::kConflict, kCodeRetired,
                "the setup code of " + serial + " is retired (kdc allow a new one)");
  }
  // 3. The proof under the stored setup-code key.
  auto k = domain::UnwrapKey(env.kek, SetupCodeContext(serial), (*code)->verifier);
  if (!k) return Fail(k.error().WithReason(kInternal));
  if (auto p = domain::VerifyJoinProofWithKey(k->view(), serial, req.nonce, req.proof); !p)
    return Fail(p.error().WithReason(kBadProof));
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
    if (!stored) return Fail(stored.error().WithReason(kInternal));
    psk = std::move(*stored);
    in.wrapped_key = t->wrapped_key;
  } else {
    auto fresh = env.rng.DrawSecret(domain::kMasterKeySize);
    if (!fresh) return Fail(fresh.error().WithReason(kInternal));
    psk = std::move(*fresh);
    auto w = domain::WrapKey(env.kek, PairwiseContext(serial), psk.view(), env.rng);
    if (!w) return Fail(w.error().WithReason(kInternal));
    in.wrapped_key = std::move(*w);
  }
  in.credential_fingerprint = HexSha256(psk.view());
  auto sealed = domain::SealJoinPsk(k->view(), serial, env.owner, req.nonce, psk.view(), env.rng);
  if (!sealed) return Fail(sealed.error().WithReason(kInternal));
  out.sealed_psk = std::move(*sealed);
  // 5. Record the proven nonce (a concurrent use of the same nonce loses here: kExists), then
  // commission and consume it together; the registry re-checks nonce, code and grace. Only a
  // holder of the setup code gets this far, so the total bound is never an attacker's to fill.
  if (!recorded) {
    auto put = env.reg.PutNonce(req.nonce, serial, join_nonce::Expires(req.nonce),
                                {/*per_serial=*/0, env.max_nonces});
    if (!put && put.error().Is(registry::kExists))
      return Fail(ErrorCode::kVerifyFailed, kReplayOrStale, "replayed join (nonce already used)");
    if (!put) return Fail(put.error().WithReason(kRegistry));
  }
  auto done = env.reg.CommissionBySetupCode(serial, in, req.nonce, env.grace, "kdc");
  if (!done) return Fail(done.error().WithReason(kCommission));
  out.first_time = done->first_time;
  return out;
}

SetupJoinEnv EnvOf(KdcContext& ctx, const Request& r) {
  return SetupJoinEnv{*ctx.reg,
                      ctx.kek(),
                      ctx.rng,
                      ctx.clock,
                      ctx.opt.join_repeat_grace,
                      ctx.opt.nonce_lifetime,
                      ctx.opt.unauthenticated.max_nonces,
                      r.peer_address,
                      ctx.opt.owner};
}

// docs/DOMAIN.md "Running it" (--join-window): SecProf_2 admits joins only this long after start
// (the draft's network-access window; 0: always open).
bool JoinWindowOpen(const KdcContext& ctx) {
  std::chrono::seconds w = ctx.opt.join_window.value_or(ctx.policy.pairing_window);
  if (w.count() == 0) return true;
  return ctx.clock.Monotonic() - ctx.started <= w;
}

Error WindowClosed() {
  return Error(ErrorCode::kConflict, kWindowClosed, "the join window is closed");  // 4.03
}

// j/nonce — docs/DOMAIN.md "Resources" and "SecProf_2: setup code" ("Nonce", "Proof"); draft
// §7.1 (SecProf_2) and §4 threat 9 (denial of service): a fresh nonce for an allowed serial whose
// code is usable, inside the join window, bound to the requester's address and port and stored
// nowhere (join_nonce.h): a flood of j/nonce naming a genuine serial, from any number of
// addresses, changes no state and cannot displace the genuine thing's nonce.
Response OnJoinNonce(KdcContext& ctx, const Request& r) {
  auto req = domain::DecodeJoinNonceRequest(r.payload);
  if (!req) return ctx.Refuse(req.error().WithReason(kMalformed), "");
  if (!JoinWindowOpen(ctx)) return ctx.Refuse(WindowClosed(), req->serial);
  if (auto ok = CheckNonceRequest(EnvOf(ctx, r), req->serial); !ok)
    return ctx.Refuse(ok.error(), req->serial);
  int64_t expires = UnixSeconds(ctx.clock) + ctx.opt.nonce_lifetime.count();
  auto nonce = join_nonce::Issue(ctx.kek(), req->serial, r.peer_address, expires, ctx.rng);
  if (!nonce)  // the KDC's clock or randomness, never the request: 5.00
    return ctx.Refuse(Error(ErrorCode::kInternal, kInternal, nonce.error().message()), req->serial);
  return Cbor(coap::kCreated, domain::Encode(domain::JoinNonce{*nonce, expires}));
}

// j/psk — docs/DOMAIN.md "Resources" and "SecProf_2: setup code" ("Proof", "Sealed answer",
// "Repeats"); draft §3.1 (bootstrapping) and §7.1 (SecProf_2): the PSK, sealed under the setup
// code and the nonce, for the holder of the code.
Response OnJoinPsk(KdcContext& ctx, const Request& r) {
  auto req = domain::DecodePskJoinRequest(r.payload);
  if (!req) return ctx.Refuse(req.error().WithReason(kMalformed), "");
  if (!JoinWindowOpen(ctx)) return ctx.Refuse(WindowClosed(), req->serial);
  auto joined = SetupCodeJoin(EnvOf(ctx, r), *req);
  if (!joined) return ctx.Refuse(joined.error(), req->serial);
  ctx.CountJoin(joined->first_time);
  domain::PskJoinResponse resp{req->serial, std::move(joined->sealed_psk), ctx.dtls_port,
                               ctx.opt.owner};
  return Cbor(coap::kChanged, domain::Encode(resp));
}

}  // namespace

void Register(coap::Server& server, KdcContext& ctx) {
  Bind(server, ctx, domain::path::kJoinNonce, coap::Method::kPost, &OnJoinNonce);
  Bind(server, ctx, domain::path::kJoinPsk, coap::Method::kPost, &OnJoinPsk);
}

}  // namespace join_setup_code

}  // namespace secprof::kdc

// SecProf_1 without a KDC: the mother, the imprint and the link frames (docs/DOMAIN.md
// "Lifecycle" last row, "Thing resources" pair and l2; draft-garcia-security-mitigations-and-
// profiles §7.2 "Security Profile 1: Home usage", and the resurrecting duckling of
// [PROC-Stajano-99] it cites). The KDC side has no part in it; the pairing client that hands an
// imprint over is `secprof thing pair`.
//
// The first thing of a home domain becomes its mother and makes the domain key; a thing in
// pairing mode accepts the first imprint (the domain key, in the clear, inside the pairing
// window) and obeys that mother until a factory reset. Link frames carry a MAC under the domain
// key and a counter persisted before a frame leaves (sender) or is accepted (receiver).
#include "agent_impl.h"
#include "secprof/domain/keys.h"
#include "secprof/thing/reasons.h"

namespace secprof::thing {

using crypto::Bytes;
using crypto::ByteView;

Status Agent::BecomeMother() {
  SECPROF_TRY(impl_->Check(Operation::kBecomeMother));
  if (impl_->policy().bootstrap != domain::Bootstrap::kDuckling)
    return Fail(ErrorCode::kInvalidInput, kWrongProfile,
                "only SecProf_1 domains pair without a KDC");
  SECPROF_ASSIGN_OR_RETURN(impl_->secrets[kSecretDomain], impl_->rng.DrawSecret(32));
  ThingState next = impl_->st;
  next.owner = impl_->st.serial;
  return impl_->Apply(Operation::kBecomeMother, "first member: made the domain key",
                      std::move(next));
}

Result<domain::PairImprint> Agent::MakeImprint() const {
  auto it = impl_->secrets.find(kSecretDomain);
  if (it == impl_->secrets.end())
    return Fail(ErrorCode::kConflict, kNoDomainKey, impl_->st.serial + " holds no domain key");
  return domain::PairImprint{impl_->st.serial, it->second.Clone()};
}

Status Agent::AcceptImprint(const domain::PairImprint& imprint) {
  const State s = impl_->st.state;
  if (s == State::kCommissioned || s == State::kOperational || s == State::kMaintenance)
    return Fail(ErrorCode::kConflict, kAlreadyImprinted,
                impl_->st.serial + " is already imprinted on " + impl_->st.owner +
                    " (factory reset first)");
  SECPROF_TRY(impl_->Check(Operation::kAcceptImprint));
  impl_->secrets[kSecretDomain] = imprint.domain_key.Clone();
  ThingState next = impl_->st;
  next.owner = imprint.mother;
  return impl_->Apply(Operation::kAcceptImprint,
                      "imprinted on " + imprint.mother + " (domain key received in the clear)",
                      std::move(next));
}

Result<Bytes> Agent::SealLinkFrame(ByteView data) {
  auto it = impl_->secrets.find(kSecretDomain);
  if (it == impl_->secrets.end())
    return Fail(ErrorCode::kConflict, kNoDomainKey, impl_->st.serial + " holds no domain key");
  ThingState next = impl_->st;
  ++next.link_counter;
  // The counter is persisted before the frame leaves, so a restart never reuses one.
  SECPROF_TRY(impl_->Commit(next));
  return domain::SealLinkFrame(
      View(it->second),
      domain::LinkFrame{impl_->st.serial, impl_->st.link_counter, Bytes(data.begin(), data.end())});
}

Result<domain::LinkFrame> Agent::OpenLinkFrame(ByteView frame) {
  auto it = impl_->secrets.find(kSecretDomain);
  if (it == impl_->secrets.end())
    return Fail(ErrorCode::kConflict, kNoDomainKey, impl_->st.serial + " holds no domain key");
  auto f = domain::OpenLinkFrame(View(it->second), frame, [&](std::string_view s) {
    auto x = impl_->st.link_seen.find(std::string(s));
    return x == impl_->st.link_seen.end() ? uint64_t{0} : x->second;
  });
  if (!f) return f;
  // The replay window is persisted before the frame is accepted, so a restart does not reopen it.
  ThingState next = impl_->st;
  if (!next.link_seen.count(f->sender) && next.link_seen.size() >= kMaxLinkSenders)
    return Fail(ErrorCode::kLimit, kTooManySenders, "too many link-frame senders");
  next.link_seen[f->sender] = f->counter;
  SECPROF_TRY(impl_->Commit(std::move(next)));
  return f;
}

}  // namespace secprof::thing

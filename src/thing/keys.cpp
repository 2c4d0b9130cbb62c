// Pair keys and group keys, the thing's side (docs/DOMAIN.md "Resources" k/pair and k/group,
// "Thing resources" for the ticket a pair key comes with; draft-garcia-security-mitigations-and-
// profiles §7 "Security Profiles": pairwise links and group communication per profile, the
// earlier revision's figures 7-11). The KDC's side: src/kdc/keys.cpp.
//
// A pair key with a peer comes with a ticket the peer opens under its own pairwise key with the
// KDC (server.cpp, ConnectToPeer). A group key is stored sealed with the other secrets and its
// epoch in state.json; group messages are sealed under it and, in profiles with origin
// authentication, signed with the LDevID key.
#include "secprof/domain/keys.h"
#include "agent_impl.h"
#include "secprof/domain/protocol.h"
#include "secprof/identity/identity.h"
#include "secprof/thing/reasons.h"

namespace secprof::thing {

using crypto::Bytes;
using crypto::ByteView;

Result<domain::PairKeyResponse> Agent::RequestPairKey(const std::string& peer) {
  SECPROF_TRY(impl_->Check(Operation::kRequestPairKey));
  SECPROF_ASSIGN_OR_RETURN(
      coap::Response r,
      impl_->Post(domain::path::kPairKey, domain::Encode(domain::PairKeyRequest{peer})));
  SECPROF_TRY(Expect(r, coap::kChanged, "pair key"));
  return domain::DecodePairKeyResponse(r.payload);
}

Result<domain::GroupKeyResponse> Agent::FetchGroupKey(const std::string& group) {
  SECPROF_TRY(impl_->Check(Operation::kFetchGroupKey));
  SECPROF_ASSIGN_OR_RETURN(
      coap::Response r,
      impl_->Post(domain::path::kGroupKey, domain::Encode(domain::GroupKeyRequest{group})));
  SECPROF_TRY(Expect(r, coap::kChanged, "group key"));
  SECPROF_ASSIGN_OR_RETURN(domain::GroupKeyResponse g, domain::DecodeGroupKeyResponse(r.payload));
  impl_->secrets["group:" + group] = g.key.Clone();
  ThingState next = impl_->st;
  next.groups[group] = g.epoch;
  SECPROF_TRY(impl_->Commit(std::move(next)));
  return g;
}

Result<Bytes> Agent::SealGroupMessage(const std::string& group, ByteView data) {
  auto it = impl_->secrets.find("group:" + group);
  auto ep = impl_->st.groups.find(group);
  if (it == impl_->secrets.end() || ep == impl_->st.groups.end())
    return Fail(ErrorCode::kNotFound, kNoGroupKey,
                impl_->st.serial + " holds no key for group " + group);
  std::unique_ptr<crypto::Signer> signer;
  if (impl_->policy().group_origin_auth) {
    SECPROF_ASSIGN_OR_RETURN(signer, impl_->store->GetSigner(impl_->st.ldevid_key_label));
  }
  return domain::SealGroupMessage(View(it->second), group, ep->second, impl_->st.serial, data,
                                  signer.get(), impl_->rng);
}

Result<domain::GroupMessage> Agent::OpenGroupMessage(
    const std::string& group, ByteView message, const std::vector<domain::GroupMember>& members) {
  auto it = impl_->secrets.find("group:" + group);
  auto ep = impl_->st.groups.find(group);
  if (it == impl_->secrets.end() || ep == impl_->st.groups.end())
    return Fail(ErrorCode::kNotFound, kNoGroupKey,
                impl_->st.serial + " holds no key for group " + group);
  auto lookup = [&](std::string_view serial) -> std::optional<crypto::PublicKey> {
    for (const auto& m : members) {
      if (m.serial != serial || m.certificate.empty()) continue;
      auto c = identity::Certificate::FromDer(m.certificate);
      if (!c) return std::nullopt;
      auto pk = c->public_key();
      if (!pk) return std::nullopt;
      return *pk;
    }
    return std::nullopt;
  };
  return domain::OpenGroupMessage(View(it->second), group, ep->second, message,
                                  impl_->policy().group_origin_auth, lookup);
}

}  // namespace secprof::thing

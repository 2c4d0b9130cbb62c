// Pair and group keys at the KDC: k/pair (a key and a ticket for two things) and k/group (the
// current epoch's group key), and how the registry's keys are wrapped and re-keyed
// (docs/DOMAIN.md "Resources"; draft §7.1: SecProf_2's KDC "key distribution center including
// policies for key update", SecProf_3's "pairwise links" and broadcast "with entity
// authentication").
#include <algorithm>

#include "context.h"
#include "secprof/domain/keys.h"
#include "secprof/domain/protocol.h"

namespace secprof::kdc {

std::string PairwiseContext(std::string_view serial) { return "pairwise:" + std::string(serial); }
std::string GroupContext(std::string_view group, int64_t epoch) {
  return "group:" + std::string(group) + ":" + std::to_string(epoch);
}

Result<crypto::Bytes> NewGroupKey(crypto::ByteView kek, std::string_view group, int64_t epoch,
                                  crypto::Random& rng) {
  SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer key, rng.DrawSecret(domain::kMasterKeySize));
  return domain::WrapKey(kek, GroupContext(group, epoch), key.view(), rng);
}

registry::GroupRekeyFn RekeyWith(crypto::ByteView kek, crypto::Random& rng) {
  return [kek, &rng](const std::string& group, int64_t new_epoch) -> Result<crypto::Bytes> {
    return NewGroupKey(kek, group, new_epoch, rng);
  };
}

namespace keys {

namespace {

using coap::Request;
using coap::Response;

// k/pair — docs/DOMAIN.md "Resources" (pairwise tickets, issue 9); draft §7.1 (SecProf_3:
// information "protected in the sense of pairwise links"): a fresh K_AB for the caller and a
// ticket sealing it for the peer under the peer's pairwise key, valid pair_key_lifetime.
Response OnPairKey(KdcContext& ctx, const Request& r) {
  auto t = ctx.Operational(r);
  if (!t) return ctx.Refuse(t.error(), "");
  auto req = domain::DecodePairKeyRequest(r.payload);
  if (!req) return ctx.Refuse(req.error().WithReason(kMalformed), t->serial);
  if (req->peer == t->serial)
    return ctx.Refuse(
        Error(ErrorCode::kInvalidInput, kMalformed, "a thing needs no key with itself"), t->serial);
  auto peer = ctx.reg->Get(req->peer);
  if (!peer || !registry::IsActive(peer->state) || peer->wrapped_key.empty())
    return ctx.Refuse(Error(ErrorCode::kConflict, kPeerNotActive,
                            "peer " + req->peer + " is not an active member of this domain"),
                      t->serial);
  auto peer_master = domain::UnwrapKey(ctx.kek(), PairwiseContext(peer->serial), peer->wrapped_key);
  if (!peer_master) return ctx.Refuse(peer_master.error().WithReason(kInternal), t->serial);
  auto kid = ctx.rng.Draw(16);
  auto kab = ctx.rng.DrawSecret(domain::kMasterKeySize);
  if (!kid || !kab)
    return ctx.Refuse(Error(ErrorCode::kInternal, kInternal, "rng"), t->serial);  // 5.00
  int64_t expires = UnixSeconds(ctx.clock) + ctx.opt.pair_key_lifetime.count();
  domain::TicketContents tc{t->serial, peer->serial, *kid, kab->Clone(), expires};
  auto ticket = domain::SealTicket(peer_master->view(), tc, ctx.rng);
  if (!ticket) return ctx.Refuse(ticket.error().WithReason(kInternal), t->serial);
  (void)ctx.ledger->Audit("pair-key", t->serial, "peer " + peer->serial);
  ctx.CountRequest();
  domain::PairKeyResponse resp{*kid, std::move(*kab), std::move(*ticket), expires};
  return Cbor(coap::kChanged, domain::Encode(resp));
}

// k/group — docs/DOMAIN.md "Resources"; draft §7.1 (SecProf_3: broadcast "secured with entity
// authentication"): the current epoch's key for a member, with the members' LDevIDs when the
// profile signs group messages (Policy::group_origin_auth).
Response OnGroupKey(KdcContext& ctx, const Request& r) {
  auto t = ctx.Operational(r);
  if (!t) return ctx.Refuse(t.error(), "");
  auto req = domain::DecodeGroupKeyRequest(r.payload);
  if (!req) return ctx.Refuse(req.error().WithReason(kMalformed), t->serial);
  auto g = ctx.reg->GetGroup(req->group);
  if (!g)  // answered 4.04 (RefusalCode)
    return ctx.Refuse(Error(ErrorCode::kNotFound, kNoGroup, "no group " + req->group), t->serial);
  if (std::find(g->members.begin(), g->members.end(), t->serial) == g->members.end())
    return ctx.Refuse(
        Error(ErrorCode::kConflict, kNotMember, t->serial + " is not a member of " + req->group),
        t->serial);
  auto key = domain::UnwrapKey(ctx.kek(), GroupContext(g->name, g->epoch), g->wrapped_key);
  if (!key) return ctx.Refuse(key.error().WithReason(kInternal), t->serial);
  domain::GroupKeyResponse resp{g->name, g->epoch, std::move(*key), {}};
  for (const auto& m : g->members) {
    domain::GroupMember gm{m, {}};
    if (ctx.policy.group_origin_auth) {
      auto mt = ctx.reg->Get(m);
      if (mt && !mt->ldevid_pem.empty())
        if (auto c = identity::Certificate::FromPem(mt->ldevid_pem)) gm.certificate = c->ToDer();
    }
    resp.members.push_back(std::move(gm));
  }
  ctx.CountRequest();
  return Cbor(coap::kChanged, domain::Encode(resp));
}

}  // namespace

void Register(coap::Server& server, KdcContext& ctx) {
  Bind(server, ctx, domain::path::kPairKey, coap::Method::kPost, &OnPairKey);
  Bind(server, ctx, domain::path::kGroupKey, coap::Method::kPost, &OnGroupKey);
}

}  // namespace keys

}  // namespace secprof::kdc

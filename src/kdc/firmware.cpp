// Firmware at the KDC: the fw/* resources through which a campaign offers, serves and collects
// the outcome of an update (docs/DOMAIN.md "Resources" and "Maintenance"; draft §3.1, the
// maintenance phase, and §4 threat 5, firmware replacement: a thing fetches only what a running
// campaign offers it, and verifies the SUIT envelope itself).
#include <algorithm>
#include <cstdlib>

#include "context.h"
#include "secprof/core/fs.h"
#include "secprof/domain/latest_release.h"
#include "secprof/domain/protocol.h"

namespace secprof::kdc::firmware {

namespace {

using coap::Request;
using coap::Response;

// The firmware `query` names (id=N), if a running campaign offers it to `t`.
Result<registry::Firmware> Offered(KdcContext& ctx, const registry::Thing& t,
                                   const std::string& query) {
  int64_t id = 0;
  if (query.rfind("id=", 0) == 0) id = std::atoll(query.c_str() + 3);
  auto offer = ctx.reg->OfferFor(t.serial);
  if (!offer) return Fail(offer.error().WithReason(kRegistry));
  if (!*offer || (*offer)->second.id != id)
    return Fail(ErrorCode::kConflict, kNotOffered,
                "firmware " + query + " is not offered to " + t.serial);
  return (*offer)->second;
}

// The signed, dated statement of the latest release the owner released to `t`
// (secprof/domain/latest_release.h; Uptane's timestamp role, against freeze), signed with the
// domain CA key: the highest sequence of `t`'s vendor and model among the campaigns in which `t`
// is a released target (offered or installed; a halted campaign included, a stage not yet
// released and a failed install not). Costs one registry read per campaign.
Result<crypto::Bytes> LatestStatement(KdcContext& ctx, const registry::Thing& t) {
  auto campaigns = ctx.reg->ListCampaigns();
  if (!campaigns) return Fail(campaigns.error().WithReason(kRegistry));
  domain::LatestRelease lr;
  lr.vendor = t.vendor;
  lr.model = t.model;
  for (const auto& c : *campaigns) {
    auto targets = ctx.reg->CampaignTargets(c.id);
    if (!targets) return Fail(targets.error().WithReason(kRegistry));
    bool released = false;
    for (const auto& x : *targets)
      released |= x.serial == t.serial && (x.status == registry::TargetStatus::kOffered ||
                                           x.status == registry::TargetStatus::kInstalled);
    if (!released) continue;
    auto fw = ctx.reg->GetFirmware(c.firmware_id);
    if (!fw) return Fail(fw.error().WithReason(kRegistry));
    if (fw->vendor == t.vendor && fw->model == t.model)
      lr.sequence = std::max(lr.sequence, fw->sequence);
  }
  lr.issued_at = UnixSeconds(ctx.clock);
  lr.expires = lr.issued_at + domain::kLatestReleaseLifetime;
  auto signed_statement = domain::SignLatestRelease(*ctx.ca_signer, lr);
  if (!signed_statement) return Fail(signed_statement.error().WithReason(kInternal));
  return std::move(*signed_statement);
}

// fw/offer — docs/DOMAIN.md "Resources" and "Maintenance"; draft §3.1 (maintenance phase): the
// offer of a running campaign, if any; records the running sequence once the request is accepted
// (issue 9 item 9). "Nothing offered" (2.04) carries the signed latest-release statement.
Response OnFirmwareOffer(KdcContext& ctx, const Request& r) {
  auto t = ctx.Operational(r);
  if (!t) return ctx.Refuse(t.error(), "");
  auto req = domain::DecodeFirmwareOfferRequest(r.payload);
  if (!req) return ctx.Refuse(req.error().WithReason(kMalformed), t->serial);
  auto offer = ctx.reg->OfferFor(t->serial);
  if (!offer) return ctx.Refuse(offer.error().WithReason(kRegistry), t->serial);
  // Recorded only once the request is accepted (issue 9, item 9).
  (void)ctx.reg->SetFirmwareVersion(t->serial, req->running_sequence);
  ctx.CountRequest();
  if (!*offer) {
    auto statement = LatestStatement(ctx, *t);
    if (!statement) return ctx.Refuse(statement.error(), t->serial);
    return Response{.code = coap::kChanged,
                    .content_format = coap::content_format::kCoseSign1,
                    .payload = std::move(*statement)};
  }
  const auto& [c, fw] = **offer;
  domain::FirmwareOffer o{c.id, fw.id, fw.sequence, fw.envelope.size(), fw.image_size};
  return Cbor(coap::kContent, domain::Encode(o));
}

// fw/manifest — docs/DOMAIN.md "Resources"; draft §4 threat 5 (firmware replacement): the SUIT
// envelope of the offered firmware (draft-ietf-suit-manifest), which the thing verifies against
// its vendor's key.
Response OnFirmwareManifest(KdcContext& ctx, const Request& r) {
  auto t = ctx.Operational(r);
  if (!t) return ctx.Refuse(t.error(), "");
  auto fw = Offered(ctx, *t, r.query);
  if (!fw) return ctx.Refuse(fw.error(), t->serial);
  ctx.CountRequest();
  return Response{.code = coap::kContent,
                  .content_format = coap::content_format::kOctetStream,
                  .payload = fw->envelope};
}

// fw/image — docs/DOMAIN.md "Resources"; draft §3.1 (maintenance phase): the offered image,
// block-wise (RFC 7959 Block2); audited "fw-fetched".
Response OnFirmwareImage(KdcContext& ctx, const Request& r) {
  auto t = ctx.Operational(r);
  if (!t) return ctx.Refuse(t.error(), "");
  auto fw = Offered(ctx, *t, r.query);
  if (!fw) return ctx.Refuse(fw.error(), t->serial);
  auto it = ctx.image_cache.find(fw->id);
  if (it == ctx.image_cache.end()) {
    auto data = ReadFile(fw->image_path);
    if (!data) return ctx.Refuse(data.error().WithReason(kFirmwareStore), t->serial);
    it = ctx.image_cache.emplace(fw->id, crypto::Bytes(data->begin(), data->end())).first;
  }
  ctx.CountRequest();
  (void)ctx.ledger->Audit("fw-fetched", t->serial, "firmware " + std::to_string(fw->id));
  return Response{.code = coap::kContent,
                  .content_format = coap::content_format::kOctetStream,
                  .payload = it->second};
}

// fw/status — docs/DOMAIN.md "Resources" and "Maintenance" (REGISTRY.md, staged rollout); draft
// §3.1 (maintenance phase): the thing's outcome; the campaign advances or halts.
Response OnFirmwareStatus(KdcContext& ctx, const Request& r) {
  auto t = ctx.Operational(r);
  if (!t) return ctx.Refuse(t.error(), "");
  auto req = domain::DecodeFirmwareStatus(r.payload);
  if (!req) return ctx.Refuse(req.error().WithReason(kMalformed), t->serial);
  // The running version is recorded in the transaction that accepts the report, never on a
  // refusal (issue 9, item 9: incident campaigns target things by it).
  auto c = ctx.reg->ReportInstall(req->campaign, t->serial, req->ok, req->detail, t->serial,
                                  req->running_sequence);
  if (!c) return ctx.Refuse(c.error().WithReason(kCampaign), t->serial);
  ctx.CountRequest();
  return Text(coap::kChanged, registry::CampaignStateName(c->state));
}

// fw/alert — docs/DOMAIN.md "Maintenance" (secprof/domain/latest_release.h): a thing reports
// that an update is withheld from it (the latest release known is above what it runs, nothing is
// offered) or that the latest-release statement did not hold; audited "alert:<kind>".
Response OnFirmwareAlert(KdcContext& ctx, const Request& r) {
  auto t = ctx.Operational(r);
  if (!t) return ctx.Refuse(t.error(), "");
  auto a = domain::DecodeFirmwareAlert(r.payload);
  if (!a) return ctx.Refuse(a.error().WithReason(kMalformed), t->serial);
  auto audited = ctx.ledger->Audit("alert:" + a->kind, t->serial, a->detail);
  if (!audited) return ctx.Refuse(audited.error().WithReason(kRegistry), t->serial);
  ctx.CountRequest();
  return Text(coap::kChanged, "alert recorded");
}

}  // namespace

void Register(coap::Server& server, KdcContext& ctx) {
  using coap::Method;
  Bind(server, ctx, domain::path::kFirmwareOffer, Method::kPost, &OnFirmwareOffer);
  Bind(server, ctx, domain::path::kFirmwareManifest, Method::kGet, &OnFirmwareManifest);
  Bind(server, ctx, domain::path::kFirmwareImage, Method::kGet, &OnFirmwareImage);
  Bind(server, ctx, domain::path::kFirmwareStatus, Method::kPost, &OnFirmwareStatus);
  Bind(server, ctx, domain::path::kFirmwareAlert, Method::kPost, &OnFirmwareAlert);
}

}  // namespace secprof::kdc::firmware

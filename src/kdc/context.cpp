// What the KDC's handlers share (context.h): refusals, statistics, and the dispatcher in front of
// every resource.
#include "context.h"

#include "secprof/coap/errors.h"
#include "secprof/domain/protocol.h"

namespace secprof::kdc {

coap::Response Cbor(coap::Code code, crypto::Bytes body) {
  return coap::Response{
      .code = code, .content_format = coap::content_format::kCbor, .payload = std::move(body)};
}

coap::Response Text(coap::Code code, const std::string& msg) {
  return coap::Response{
      .code = code, .content_format = coap::content_format::kTextPlain, .payload = coap::Text(msg)};
}

coap::Code RefusalCode(const Error& e) {
  // Kept explicitly: an unknown group is 4.04 (RFC 7252 §5.9.2.5), a code coap::CodeFor never
  // gives (its kNotFound is 4.03 Forbidden for every other missing record).
  if (e.Is(kNoGroup)) return coap::kNotFound;
  return coap::CodeFor(e);
}

bool KdcContext::IssuedByDomain(const identity::Certificate& c) const {
  return c.issuer() == dk->domain_ca.subject() &&
         c.authority_key_id() == dk->domain_ca.subject_key_id();
}

void KdcContext::CountRefused(Reason r) {
  std::lock_guard<std::mutex> l(stats_mu);
  ++stats.refused[std::string(r.name())];
}

coap::Response KdcContext::Refuse(const Error& e, std::string_view serial) {
  // Every refusal the handlers build carries a reason; an error that reached here without one is
  // counted and audited as "internal" rather than under an empty name.
  const Reason reason(e.reason().empty() ? kInternal.name() : e.reason());
  CountRefused(reason);
  // Refusals are audited too (brief §4: the audit log records every step, failed ones included);
  // those of unidentified peers within a budget, then aggregated (refusals.h, issue 9 T9).
  if (current_authenticated)
    ledger->Authenticated(reason.name(), serial, e.message());
  else
    ledger->Unauthenticated(reason.name(), current_source, serial, e.message());
  return Text(RefusalCode(e), e.message());
}

void KdcContext::CountJoin(bool first) {
  std::lock_guard<std::mutex> l(stats_mu);
  ++(first ? stats.joins : stats.join_repeats);
}

void KdcContext::CountRequest() {
  std::lock_guard<std::mutex> l(stats_mu);
  ++stats.requests;
}

namespace {

// docs/DOMAIN.md "Limits" (draft §4 threat 9, denial of service): who asks, before any handler.
// An identified peer (a DTLS-PSK identity the KDC issued, or an LDevID of this domain) goes
// straight to the handler; anyone else within the per-source rate limit (refusals.h).
coap::Response Dispatch(KdcContext& ctx, const coap::Request& r, Handler fn) {
  ctx.current_source = SourceAddress(r.peer_address);
  ctx.current_authenticated = r.peer.kind == coap::PeerIdentity::Kind::kPsk;
  if (r.peer.kind == coap::PeerIdentity::Kind::kCertificate) {
    auto c = identity::Certificate::FromDer(r.peer.certificate_der);
    // Names alone suffice here: VerifyPeer refused in the handshake every certificate that
    // names the domain CA as issuer but does not verify against it alone (issue 9 item 2), so
    // this only sorts refusals for the audit; authorization is Operational()'s (registry copy).
    ctx.current_authenticated = c && ctx.IssuedByDomain(*c);
  }
  if (ctx.current_authenticated) return fn(ctx, r);
  if (!ctx.ledger->Admit(ctx.current_source)) {
    // Counted only: answered without looking at the request, audited in the aggregated row.
    const Error e(ErrorCode::kLimit, kRateLimited,
                  "too many requests from this address; retry later");
    ctx.CountRefused(kRateLimited);
    return Text(coap::CodeFor(e), e.message());  // 5.03
  }
  coap::Response resp = fn(ctx, r);
  // A token for work that did not end in a join: a refusal or a nonce; a join gives one back.
  bool ok = resp.code >> 5 == 2;
  if (!ok || r.path == domain::path::kJoinNonce)
    ctx.ledger->Charge(ctx.current_source);
  else if (r.path == domain::path::kJoinPsk)
    ctx.ledger->Refund(ctx.current_source);
  return resp;
}

}  // namespace

void Bind(coap::Server& server, KdcContext& ctx, const char* path, coap::Method method,
          Handler handler) {
  server.AddResource(path, method,
                     [&ctx, handler](const coap::Request& r) { return Dispatch(ctx, r, handler); });
}

}  // namespace secprof::kdc

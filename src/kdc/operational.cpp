// The operational session at the KDC: who may use one, and the resources a commissioned thing
// calls on it besides keys and firmware — lc/state, lc/decommission, op/report, op/sent, k/revoked
// (docs/DOMAIN.md "Resources"; the draft's operational phase and end of life, §3.1).
#include "context.h"
#include "revocation.h"
#include "secprof/coap/echo.h"
#include "secprof/domain/protocol.h"

namespace secprof::kdc {

namespace {

using coap::Request;
using coap::Response;
using registry::State;

bool CipherAllowed(const KdcOptions& opt, const coap::PeerIdentity& p) {
  if (opt.allowed_ciphers.empty()) return true;
  return std::find(opt.allowed_ciphers.begin(), opt.allowed_ciphers.end(), p.cipher) !=
         opt.allowed_ciphers.end();
}

}  // namespace

// docs/DOMAIN.md "Resources" ("Operational DTLS"), "Roles and anchors" and "Clone detection";
// draft §7.1 (SecProf_3: "pairwise links" with an authenticated thing) and §4 threat 1 (cloning).
// A commissioned thing on an operational session: DTLS-PSK with its KDC-issued identity, or DTLS
// with its LDevID (the domain CA's signature and the registry's own copy decide: issue 9 item 2);
// active, and admitted by the clone guard.
Result<registry::Thing> KdcContext::Operational(const Request& r) {
  if (!CipherAllowed(opt, r.peer))
    return Fail(ErrorCode::kConflict, kCipherSuite,
                "cipher suite " + r.peer.cipher + " is not allowed here");
  std::optional<registry::Thing> t;
  if (r.peer.kind == coap::PeerIdentity::Kind::kPsk) {
    auto f = reg->FindByCredential(registry::kCredentialPsk, r.peer.psk_identity);
    if (!f) return Fail(f.error().WithReason(kRegistry));
    t = *f;
  } else if (r.peer.kind == coap::PeerIdentity::Kind::kCertificate) {
    auto c = identity::Certificate::FromDer(r.peer.certificate_der);
    if (!c || !IssuedByDomain(*c))
      return Fail(ErrorCode::kConflict, kNotLdevid,
                  "operational requests need the LDevID this domain issued");
    auto f = reg->FindByCredential(registry::kCredentialLdevid, c->serial_hex());
    if (!f) return Fail(f.error().WithReason(kRegistry));
    t = *f;
    if (t)  // issue 9 item 2: the domain CA's signature and the registry's own copy decide
      if (auto ok = ldevids.Check(*c, dk->domain_ca, *t, clock); !ok)
        return Fail(ErrorCode::kConflict, kNotLdevid, ok.error().message());  // 4.03
  } else {
    return Fail(ErrorCode::kVerifyFailed, kNoDtls, "this resource needs a DTLS session");
  }
  if (!t) return Fail(ErrorCode::kNotFound, kUnknownCredential, "credential not known to this KDC");
  if (!registry::IsActive(t->state))
    return Fail(ErrorCode::kConflict, kRetired,
                "thing " + t->serial + " is " + registry::StateName(t->state));
  SECPROF_TRY(guard->Admit(t->serial, r.peer_address));
  return *t;
}

namespace operational {

namespace {

// lc/state — docs/DOMAIN.md "Resources" and "Lifecycle"; draft §3.1 (operational and maintenance
// phases): the thing reports the phase it is in.
Response OnState(KdcContext& ctx, const Request& r) {
  auto t = ctx.Operational(r);
  if (!t) return ctx.Refuse(t.error(), "");
  auto req = domain::DecodeStateReport(r.payload);
  if (!req) return ctx.Refuse(req.error().WithReason(kMalformed), t->serial);
  State to;
  if (req->state == "operational")
    to = State::kOperational;
  else if (req->state == "maintenance")
    to = State::kMaintenance;
  else
    return ctx.Refuse(
        Error(ErrorCode::kInvalidInput, kMalformed, "state must be 'operational' or 'maintenance'"),
        t->serial);
  ctx.CountRequest();
  if (t->state == to) return Text(coap::kChanged, "unchanged");
  auto tr = ctx.reg->Transition(t->serial, to, t->serial, "reported by the thing");
  if (!tr) return ctx.Refuse(tr.error().WithReason(kTransition), t->serial);
  return Text(coap::kChanged, registry::StateName(to));
}

// lc/decommission — docs/DOMAIN.md "Resources"; draft §3.1 (end of life: the thing leaves the
// domain): its credential is revoked and its groups re-keyed in one registry transaction.
Response OnDecommission(KdcContext& ctx, const Request& r) {
  auto t = ctx.Operational(r);
  if (!t) return ctx.Refuse(t.error(), "");
  auto tr = ctx.reg->Transition(t->serial, State::kDecommissioned, t->serial,
                                "requested by the thing", RekeyWith(ctx.kek(), ctx.rng));
  if (!tr) return ctx.Refuse(tr.error().WithReason(kTransition), t->serial);
  ctx.CountRequest();
  return Text(coap::kChanged, "decommissioned");
}

// op/report — docs/DOMAIN.md "Resources" and "Clone detection"; draft §4 threat 1 (cloning): a
// reading must name the session's thing and carry a counter above every one accepted before.
Response OnReport(KdcContext& ctx, const Request& r) {
  auto t = ctx.Operational(r);
  if (!t) return ctx.Refuse(t.error(), "");
  auto reading = domain::DecodeReading(r.payload);
  if (!reading) return ctx.Refuse(reading.error().WithReason(kMalformed), t->serial);
  if (reading->serial != t->serial)
    return ctx.Refuse(
        Error(ErrorCode::kConflict, kSpoofedReading,
              "reading names " + reading->serial + ", session belongs to " + t->serial),
        t->serial);
  if (auto g = ctx.guard->Reading(t->serial, reading->counter, r.peer_address); !g)
    return ctx.Refuse(g.error(), t->serial);
  ctx.CountRequest();
  return Text(coap::kChanged, "ok");
}

// op/sent — docs/DOMAIN.md "Missing readings"; draft-ietf-core-attacks-on-coap §2.2 (selective
// blocking: readings recognised by size and dropped on the path while the rest flows; it cannot
// be prevented, so it is detected). The thing's last reading counter is compared with the highest
// one this KDC accepted (the clone guard's record in the registry, which survives restarts): a
// gap is audited `alert:readings-missing` with the counts, and answered 2.04 "missing N".
Response OnReadingsSent(KdcContext& ctx, const Request& r) {
  auto t = ctx.Operational(r);
  if (!t) return ctx.Refuse(t.error(), "");
  auto sent = domain::DecodeReadingsSent(r.payload);
  if (!sent) return ctx.Refuse(sent.error().WithReason(kMalformed), t->serial);
  auto highest = ctx.reg->HighestReadingCounter(t->serial);
  if (!highest) return ctx.Refuse(highest.error().WithReason(kRegistry), t->serial);
  const int64_t received = highest->value_or(0);
  ctx.CountRequest();
  if (sent->last_counter <= received) return Text(coap::kChanged, "ok");
  // Counters after a restart skip a reserved block, so the gap in counters is an upper bound;
  // the thing's own count of unanswered readings is exact for its current run.
  const std::string detail = "readings missing: the thing sent up to counter " +
                             std::to_string(sent->last_counter) + ", the KDC received up to " +
                             std::to_string(received) + " (gap " +
                             std::to_string(sent->last_counter - received) +
                             "); unanswered at the thing: " + std::to_string(sent->unacknowledged);
  if (auto a = ctx.reg->Append("kdc", "alert:readings-missing", t->serial, detail); !a)
    return ctx.Refuse(a.error().WithReason(kRegistry), t->serial);
  return Text(coap::kChanged, "missing " + std::to_string(sent->last_counter - received));
}

// k/revoked — docs/DOMAIN.md "Resources" (issue 9 item 7): the serials of retired and quarantined
// things, so that peers drop their tickets (draft §3.1, end of life).
Response OnRevoked(KdcContext& ctx, const Request& r) {
  auto t = ctx.Operational(r);
  if (!t) return ctx.Refuse(t.error(), "");
  auto list = RevocationListOf(*ctx.reg, ctx.clock);
  if (!list) return ctx.Refuse(list.error().WithReason(kRegistry), t->serial);
  ctx.CountRequest();
  return Cbor(coap::kContent, domain::Encode(*list));
}

}  // namespace

void Register(coap::Server& server, KdcContext& ctx) {
  using coap::Method;
  Bind(server, ctx, domain::path::kState, Method::kPost, &OnState);
  Bind(server, ctx, domain::path::kDecommission, Method::kPost, &OnDecommission);
  Bind(server, ctx, domain::path::kReport, Method::kPost, &OnReport);
  Bind(server, ctx, domain::path::kRevoked, Method::kGet, &OnRevoked);
  Bind(server, ctx, domain::path::kReadingsSent, Method::kPost, &OnReadingsSent);
  // docs/DOMAIN.md "Request freshness"; draft-ietf-core-attacks-on-coap §2.3 (request delay),
  // RFC 9175 §2.3: a reading is executed only with a fresh Echo (KdcOptions::limits.
  // echo_freshness), so one held on the path past the window is refused 4.01. A missing Echo is
  // the normal first step of an exchange; stale and unknown values are counted as refusals
  // (KdcStats::refused "echo-stale", "echo-unknown"), not audited: the coap layer refuses before
  // the peer is identified. State reports and op/sent are not gated: a late one changes nothing
  // an attacker could time, and each gate costs the thing a round trip.
  KdcContext* c = &ctx;
  server.RequireEcho(domain::path::kReport, Method::kPost, [c](const coap::Request&, Reason why) {
    if (!(why == coap::kEchoMissing)) c->CountRefused(why);
  });
}

}  // namespace operational

}  // namespace secprof::kdc

// SecProf_2's join by setup code, the thing's side (docs/DOMAIN.md "SecProf_2: setup code" and
// "Lifecycle" row installed -> commissioned; draft-garcia-security-mitigations-and-profiles §7.3
// "Security Profile 2: Managed Home usage"). The KDC's side: src/kdc/join_setup_code.cpp.
//
// Over plain CoAP: POST j/nonce (the KDC's fresh nonce for this serial), then POST j/psk with a
// proof over the setup code printed on the device (domain::JoinProof); the KDC answers with the
// PSK sealed under a key derived from the same code, the PSK identity and its DTLS port.
// The KDC binds the nonce to the address and port that asked for it and keeps no state for it
// (docs/DOMAIN.md "Nonce"): both requests MUST go out on the same client, i.e. from the same
// socket. A j/psk refused 4.01 "replay-or-stale" (the nonce expired on the way, or the thing's
// address changed between the two requests) is a failed join; the next Join starts again from
// j/nonce on a new client.
#include "agent_impl.h"
#include "secprof/domain/keys.h"
#include "secprof/domain/protocol.h"

namespace secprof::thing {

using crypto::Bytes;

Status Agent::Impl::JoinSetupCode() {
  coap::ClientConfig cc;
  cc.timeout = opt.timeout;
  SECPROF_ASSIGN_OR_RETURN(auto c, coap::Client::Connect(st.kdc_host, st.kdc_udp, std::move(cc)));
  SECPROF_ASSIGN_OR_RETURN(
      coap::Response rn,
      c->Post(domain::path::kJoinNonce, domain::Encode(domain::JoinNonceRequest{st.serial}),
              coap::content_format::kCbor));
  SECPROF_TRY(Expect(rn, coap::kCreated, "join nonce"));
  SECPROF_ASSIGN_OR_RETURN(domain::JoinNonce n, domain::DecodeJoinNonce(rn.payload));
  SECPROF_ASSIGN_OR_RETURN(Bytes proof, domain::JoinProof(st.setup_code, st.serial, n.nonce));
  SECPROF_ASSIGN_OR_RETURN(
      coap::Response rj, c->Post(domain::path::kJoinPsk,
                                 domain::Encode(domain::PskJoinRequest{st.serial, n.nonce, proof}),
                                 coap::content_format::kCbor));
  SECPROF_TRY(Expect(rj, coap::kChanged, "join"));
  SECPROF_ASSIGN_OR_RETURN(domain::PskJoinResponse j, domain::DecodePskJoinResponse(rj.payload));
  SECPROF_ASSIGN_OR_RETURN(
      secrets[kSecretPairwise],
      domain::OpenJoinPsk(st.setup_code, st.serial, j.owner, n.nonce, j.sealed_psk));
  ThingState next = st;
  next.psk_identity = j.identity;
  next.kdc_dtls = j.dtls_port;
  next.owner = j.owner;  // authenticated: OpenJoinPsk opened only under this owner
  return Apply(Operation::kJoin, "joined by setup code", std::move(next));
}

}  // namespace secprof::thing

// Internal to secprof::kdc: what the KDC's resource handlers share (KdcContext), and how each
// resource file binds its handlers (Bind). One file per protocol flow registers its resources:
//   join_setup_code.cpp  j/nonce, j/psk            (docs/DOMAIN.md "SecProf_2: setup code")
//   join_voucher.cpp     j/voucher, j/enroll       (docs/DOMAIN.md "Resources", SecProf_3/4)
//   operational.cpp      lc/*, op/report, k/revoked, and who may use an operational session
//   keys.cpp             k/pair, k/group           (pair and group keys)
//   firmware.cpp         fw/*                      (docs/DOMAIN.md "Maintenance")
// kdc.cpp only creates the context, the server and the DTLS callbacks, and calls each Register.
//
// Threading: the context is used from the KDC's one I/O thread (Kdc::Serve/RunOnce); the
// statistics are read from others under stats_mu.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "clone_guard.h"
#include "internal.h"
#include "secprof/coap/coap.h"
#include "secprof/kdc/kdc.h"
#include "secprof/kdc/reasons.h"
#include "secprof/kdc/refusals.h"
#include "secprof/registry/registry.h"

namespace secprof::kdc {

struct KdcContext {
  KdcContext(KdcOptions o, const Clock& c, crypto::Random& r)
      : opt(std::move(o)), clock(c), rng(r), policy(domain::PolicyFor(opt.profile)) {}
  KdcContext(const KdcContext&) = delete;
  KdcContext& operator=(const KdcContext&) = delete;

  KdcOptions opt;
  const Clock& clock;
  crypto::Random& rng;
  const domain::Policy& policy;
  std::unique_ptr<registry::Registry> reg;
  std::optional<DomainKeys> dk;  // set by Kdc::Create before any resource is registered
  std::unique_ptr<crypto::Signer> ca_signer;
  std::unique_ptr<CloneGuard> guard;  // issue 9 item 6 (clone_guard.h)
  // Refusal accounting and rate limit (refusals.h). Declared after `reg`: it flushes its pending
  // counts into the registry when destroyed.
  std::unique_ptr<RefusalLedger> ledger;
  LdevidValidator ldevids;                        // issue 9 item 2 (trust.cpp)
  std::chrono::steady_clock::time_point started;  // the join window counts from here
  uint16_t dtls_port = 0;                         // the bound coaps port (j/psk tells the thing)
  // Images served, by firmware id (read once from the firmware store; firmware.cpp).
  std::map<int64_t, crypto::Bytes> image_cache;

  // Who is asking now (set by Bind's dispatcher before the handler runs).
  std::string current_source;
  bool current_authenticated = false;

  mutable std::mutex stats_mu;
  KdcStats stats;

  crypto::ByteView kek() const { return dk->wrap_kek.view(); }
  // Names alone: issuer and authority key identifier are the domain CA's. Whether the signature
  // is the domain CA's is checked in the handshake (VerifyPeer) and per request (ldevids).
  bool IssuedByDomain(const identity::Certificate& c) const;

  // Answers a refusal (docs/DOMAIN.md "Refusals"): counts it under e.reason(), audits it
  // ("refused:<reason>"; refusals of unidentified peers through the ledger's budget), and answers
  // RefusalCode(e) with e.message() as the diagnostic payload.
  coap::Response Refuse(const Error& e, std::string_view serial);
  void CountJoin(bool first);
  void CountRequest();
  void CountRefused(Reason r);

  // A commissioned thing on an operational session (operational.cpp): DTLS-PSK with its
  // KDC-issued identity, or DTLS with its LDevID; active, not quarantined.
  Result<registry::Thing> Operational(const coap::Request& r);
};

// The CoAP code a refusal is answered with: coap::CodeFor(e), except 4.04 for kNoGroup (CodeFor
// has no rule giving 4.04; the KDC has always answered an unknown group so).
coap::Code RefusalCode(const Error& e);

using Handler = coap::Response (*)(KdcContext&, const coap::Request&);
// Adds `handler` for `path` and `method`, behind the dispatcher: who asks (an identified peer —
// a DTLS-PSK identity the KDC issued, or an LDevID of this domain — or not), and for the latter
// the per-source rate limit and its accounting (refusals.h; docs/DOMAIN.md "Limits").
void Bind(coap::Server& server, KdcContext& ctx, const char* path, coap::Method method,
          Handler handler);

coap::Response Cbor(coap::Code code, crypto::Bytes body);
coap::Response Text(coap::Code code, const std::string& msg);

// Each resource file's registration (called by Kdc::Create for the profile's resources).
namespace join_setup_code {
void Register(coap::Server& server, KdcContext& ctx);
}
namespace join_voucher {
void Register(coap::Server& server, KdcContext& ctx);
}
namespace operational {
void Register(coap::Server& server, KdcContext& ctx);
}
namespace keys {
void Register(coap::Server& server, KdcContext& ctx);
}
namespace firmware {
void Register(coap::Server& server, KdcContext& ctx);
}

}  // namespace secprof::kdc

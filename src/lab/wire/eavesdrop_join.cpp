// lab.eavesdrop_join: a passive listener on the path during installation recovers the first key
// a thing receives (T3 at installation; draft §4 threat 3, §7 SecProf_1/2 "first key distribution
// happens in the clear"; catalog M.boot.pairing_window accepts it, M.boot.authenticated_join
// counters it).
//
// Attacker: listens to every datagram of a thing's join or pairing (the relay records, forwards
//   unchanged) and runs the observer over the capture.
// Success: a key the thing received is recovered, and verified by using it: SecProf_1's domain
//   key MACs a forged link frame that a member accepts; a SecProf_2 PSK opens a DTLS session
//   with the KDC under the thing's identity.
// Per profile: SecProf_1 the imprint carries the domain key in the clear (accepted by the draft);
//   SecProf_2 secprof seals the PSK under the setup code (docs/DOMAIN.md "SecProf_2: setup
//   code"), departing from the draft; SecProf_3/4 join inside DTLS authenticated by the IDevID.
// Negative control: SecProf_2, the attacker also read the setup code on the box (the seal's
//   secret absent); SecProf_1/3/4, the SecProf_1 pairing (no protection of the first key).
#include "groups.h"
#include "observer.h"
#include "on_path.h"
#include "secprof/core/hex.h"
#include "secprof/domain/keys.h"
#include "secprof/domain/protocol.h"

namespace secprof::lab::internal {
namespace {

using namespace wire;

// SecProf_1: the observer reads the imprint and forges a link frame with the key it found.
Result<Measurement> Home(const RunContext& ctx) {
  Measurement m;
  SECPROF_ASSIGN_OR_RETURN(OnPath p, StartHome(ctx));
  Observation o = Observe(p.relay->Capture());
  m.evidence.push_back(CaptureEvidence(*p.relay, "the pairing"));
  if (o.keys.empty()) {
    m.outcome = Outcome::kBlocked;
    m.control = "thing.pairing_window";
    m.reason = "no key in the captured pairing";
    return m;
  }
  const RecoveredKey& k = o.keys.front();
  // Verify: a link frame MACed with the recovered key, from a sender the member never heard of.
  SECPROF_ASSIGN_OR_RETURN(
      Bytes forged, domain::SealLinkFrame(
                        ByteView(k.key.data(), k.key.size()),
                        {"lab-eavesdropper", 1, domain::Encode(domain::Reading{"lab", -4000, 1})}));
  SECPROF_ASSIGN_OR_RETURN(coap::Response r, p.mother->Post(domain::path::kLink, forged));
  m.evidence.push_back({"recovered",
                        "domain key of " + k.owner + " read from the imprint (datagram #" +
                            std::to_string(k.datagram) + ")",
                        KeyFingerprint(ByteView(k.key.data(), k.key.size()))});
  m.evidence.push_back({"log",
                        "a link frame forged with it was answered " + coap::CodeString(r.code),
                        coap::AsText(r.payload)});
  if (r.code != coap::kChanged) {
    m.outcome = Outcome::kBlocked;
    m.control = "thing.l2_security";
    m.reason = "the recovered key did not work: " + coap::AsText(r.payload);
    return m;
  }
  m.outcome = Outcome::kSucceeded;
  m.reason =
      "the SecProf_1 imprint hands the domain key over in the clear (the draft accepts this: "
      "M.boot.pairing_window); the key, recovered from the capture, MACs frames a member accepts";
  return m;
}

// SecProf_2: the join crosses the relay; with the code (negative control) the PSK is opened and
// used for a DTLS session with the KDC.
Result<Measurement> SetupCode(const RunContext& ctx, bool code_known) {
  Measurement m;
  SECPROF_ASSIGN_OR_RETURN(OnPath p, StartManaged(ctx));
  LiveDomain& d = *p.domain;
  ObserverOptions oo;
  const auto& made = d.manifest().things.at(0);
  if (code_known) oo.setup_codes[made.serial] = made.setup_code;
  Observation o = Observe(p.relay->Capture(), oo);
  m.evidence.push_back(CaptureEvidence(*p.relay, "the setup-code join and first session"));
  for (const auto& s : o.sealed) m.evidence.push_back({"log", s, ""});
  if (o.keys.empty()) {
    if (o.sealed.empty())
      return Fail(ErrorCode::kInternal, "lab: the join did not cross the relay (no j/psk seen)");
    m.outcome = Outcome::kBlocked;
    m.control = "kdc.key_transport";
    m.reason =
        "psk-sealed: the j/psk answer carries the PSK sealed under the setup code (AES-256-GCM); "
        "the observer saw the serial, nonce and proof but no key (secprof departs from the "
        "draft, which accepts the first key in the clear)";
    return m;
  }
  const RecoveredKey& k = o.keys.front();
  coap::ClientConfig cc;
  cc.security = coap::Security::kPsk;
  cc.psk_identity = k.owner;
  cc.psk_key = k.key.Clone();
  cc.timeout = ctx.timeout;
  auto c = coap::Client::Connect("127.0.0.1", d.kdc_dtls_port(), std::move(cc));
  m.evidence.push_back({"recovered", "PSK of " + k.owner + " opened from the captured j/psk answer",
                        KeyFingerprint(ByteView(k.key.data(), k.key.size()))});
  if (!c) {
    m.outcome = Outcome::kBlocked;
    m.control = "kdc.key_transport";
    m.reason = "the recovered PSK did not open a session: " + c.error().message();
    return m;
  }
  SECPROF_ASSIGN_OR_RETURN(coap::Response r, (*c)->Get(domain::path::kRevoked));
  m.evidence.push_back(
      {"log", "GET k/revoked as " + k.owner + " answered " + coap::CodeString(r.code), ""});
  m.outcome = r.code == coap::kContent ? Outcome::kSucceeded : Outcome::kBlocked;
  m.control = m.outcome == Outcome::kBlocked ? "kdc.key_transport" : "";
  m.reason = m.outcome == Outcome::kSucceeded
                 ? "with the setup code from the box, the captured join gives the PSK, and the KDC "
                   "serves the attacker as " +
                       k.owner
                 : "the KDC refused the recovered PSK: " + coap::AsText(r.payload);
  return m;
}

// SecProf_3/4: the join crosses the relay inside DTLS with the IDevID.
Result<Measurement> Authenticated(const RunContext& ctx) {
  Measurement m;
  SECPROF_ASSIGN_OR_RETURN(OnPath p, StartManaged(ctx));
  Observation o = Observe(p.relay->Capture());
  m.evidence.push_back(CaptureEvidence(*p.relay, "the IDevID join"));
  if (o.dtls_handshakes == 0 || o.dtls_encrypted == 0)
    return Fail(ErrorCode::kInternal, "lab: the join did not cross the relay");
  const std::string suites = Suites(o.cipher_suites);
  if (!o.keys.empty() || !o.plaintext.empty()) {
    m.outcome = Outcome::kSucceeded;
    m.reason = "key or plaintext in clear during the DTLS join";
    return m;
  }
  m.outcome = Outcome::kBlocked;
  m.control = "kdc.dtls_idevid";
  m.reason = "the join (voucher, CSR, LDevID, pairwise key) ran inside DTLS (" + suites +
             ") authenticated with the IDevID: " + std::to_string(o.dtls_encrypted) +
             " encrypted records, no key or plaintext in clear";
  return m;
}

class EavesdropJoin final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.eavesdrop_join",
        "T3",
        "installation",
        "transport",
        "listens on the path of a thing's join or pairing and reads every datagram",
        "recovers the first key the thing receives and proves it by using it",
        {"M.boot.pairing_window", "M.boot.authenticated_join"},
        {"thing.pairing_window", "kdc.key_transport", "kdc.dtls_idevid"},
        true};
    return i;
  }

  Result<Measurement> Run(const RunContext& ctx) const override {
    switch (ctx.profile) {
      case domain::Profile::kSecProf1:
        return Home(ctx);
      case domain::Profile::kSecProf2:
        return SetupCode(ctx, ctx.defence_off);
      default:
        if (ctx.defence_off) return Home(ctx);
        return Authenticated(ctx);
    }
  }
};

}  // namespace

std::unique_ptr<Scenario> MakeEavesdropJoin() { return std::make_unique<EavesdropJoin>(); }

}  // namespace secprof::lab::internal

// lab.clone: a thing's storage copied byte for byte and the copy run AT THE SAME TIME as the
// original, against the KDC and a peer (T1, cloning of things; docs/DOMAIN.md "Clone detection").
//
// Attacker: holds one of the owner's things for a while and copies everything it can read: the
// state directory and, where the device has no tamper resistance, the KEK file beside it (a token
// thing's keys stay in its token, the secure element the attacker does not hold). It then runs
// the copy beside the genuine thing, as that thing.
// Success: the copy is served as the thing (the KDC answers its readings and key requests, a peer
// accepts its traffic) while the genuine thing is served too, and nothing alerts.
// Per profile:
//   SecProf_1: no KDC; the copy sends link frames (domain key) to a member, retrying until its
//     counter passes the genuine thing's; nothing in the profile detects a second instance.
//   SecProf_2-4 with file keys: the copy reports and asks for a pair key and a ticket; the KDC's
//     clone guard (counters, interleaved endpoints) alerts and quarantines (kdc.registry_unique_
//     identity; the refusal reason and the `alert:clone-suspected` audit entry are the evidence).
//   SecProf_3/4 with token keys: the copy's state.json names the genuine token, which stays in the
//     genuine thing; without it the copy cannot open its KEK or its LDevID key and never runs
//     (keystore.pkcs11_nonextractable; lab.extract shows the token refusing to give them up).
#include "adversary.h"
#include "groups.h"
#include "privilege.h"
#include "secprof/core/fs.h"
#include "secprof/domain/protocol.h"
#include "secprof/registry/registry.h"

namespace secprof::lab::internal {
namespace {

class Clone final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.clone",
        "T1",
        "operation",
        "thing",
        "copies a thing's readable storage (state directory, and the KEK file where there is no "
        "tamper resistance) and runs the copy beside the genuine thing against the KDC and a peer",
        "the copy is served as the thing while the genuine thing is served too, and nothing "
        "alerts",
        {"M.arch.clone_detection", "M.model.device_identity", "M.model.tamper_resistant_keys"},
        {"kdc.registry_unique_identity", "keystore.pkcs11_nonextractable"},
        false};
    return i;
  }

  Result<Measurement> Run(const RunContext& ctx) const override {
    DomainOptions o = Things(ctx, 2);
    SECPROF_ASSIGN_OR_RETURN(auto d, LiveDomain::Start(o));
    if (ctx.profile == domain::Profile::kSecProf1) return Duckling(*d, ctx);
    if (d->token()) return TokenThing(*d, ctx);
    SECPROF_ASSIGN_OR_RETURN(DeviceCopy c, CopyDevice(*d, 0, ctx.dir / "copy", true));
    SECPROF_ASSIGN_OR_RETURN(auto clone, OpenCopy(c, ctx, nullptr));
    return Managed(*d, ctx, std::move(clone));
  }

 private:
  // SecProf_1: the mother (thing 0) is copied; thing 1 receives link frames from both.
  static Result<Measurement> Duckling(LiveDomain& d, const RunContext& ctx) {
    Measurement m;
    SECPROF_ASSIGN_OR_RETURN(DeviceCopy c, CopyDevice(d, 0, ctx.dir / "copy", true));
    SECPROF_ASSIGN_OR_RETURN(auto clone, OpenCopy(c, ctx, nullptr));
    SECPROF_ASSIGN_OR_RETURN(auto* peer, d.ServeThing(1));
    SECPROF_ASSIGN_OR_RETURN(auto cl,
                             coap::Client::Connect("127.0.0.1", peer->server->udp_port(), {}));
    auto send = [&](thing::Agent& a) -> Result<coap::Code> {
      SECPROF_ASSIGN_OR_RETURN(crypto::Bytes f, a.SealLinkFrame(coap::Text("on")));
      SECPROF_ASSIGN_OR_RETURN(auto r, cl->Post(domain::path::kLink, f));
      return r.code;
    };
    SECPROF_ASSIGN_OR_RETURN(coap::Code g, send(d.thing(0)));
    coap::Code k = coap::kUnauthorized;
    int tries = 0;
    while (k != coap::kChanged && tries < 4) {  // the copy's counter starts at the copied one
      SECPROF_ASSIGN_OR_RETURN(k, send(*clone));
      ++tries;
    }
    const bool both = g == coap::kChanged && k == coap::kChanged;
    m.outcome = both ? Outcome::kSucceeded : Outcome::kBlocked;
    if (both) {
      m.reason =
          "the copy's link frames are accepted as the mother's; SecProf_1 has no registry "
          "and no tamper resistance, so nothing can tell two instances apart";
    } else {
      m.control = "thing.l2_security";
      m.reason = "link frame refused (" + coap::CodeString(k) + ")";
    }
    m.evidence.push_back({"log",
                          "genuine frame " + coap::CodeString(g) + "; copy's frame " +
                              coap::CodeString(k) + " after " + std::to_string(tries) + " tries",
                          "the receiver keeps only the last counter per sender and raises no "
                          "alert; the genuine thing's next frame is now below the copy's"});
    return m;
  }

  // SecProf_3/4 with keys in a token: the copy runs on the attacker's device, which does not hold
  // the genuine token (the secure element stays in the genuine thing; lab.extract shows that the
  // token does not give its keys up either).
  static Result<Measurement> TokenThing(LiveDomain& d, const RunContext& ctx) {
    Measurement m;
    SECPROF_ASSIGN_OR_RETURN(DeviceCopy c, CopyDevice(d, 0, ctx.dir / "copy", true));
    const std::string state = (c.state_dir / "state.json").string();
    SECPROF_ASSIGN_OR_RETURN(std::string text, ReadFile(state));
    const std::string genuine = "\"" + d.token()->token_label + "\"";
    const std::string own = "\"attacker-device\"";
    for (size_t at = text.find(genuine); at != std::string::npos; at = text.find(genuine, at))
      text.replace(at, genuine.size(), own);
    SECPROF_TRY(WriteFileAtomic(state, text, 0600));
    auto clone = OpenCopy(c, ctx, d.token());
    if (clone) return Managed(d, ctx, std::move(*clone));  // it opened after all: the guard's turn
    m.outcome = Outcome::kBlocked;
    m.control = "keystore.pkcs11_nonextractable";
    m.reason = "keys-not-in-copy";
    m.evidence.push_back({"log",
                          "the copy (state.json with the LDevID certificate and the sealed "
                          "secrets) does not run without the genuine token",
                          clone.error().message()});
    return m;
  }

  // SecProf_2-4: the opened copy beside the genuine thing 0; thing 1 is the peer both reach with
  // a KDC ticket.
  static Result<Measurement> Managed(LiveDomain& d, const RunContext& ctx,
                                     std::unique_ptr<thing::Agent> clone) {
    Measurement m;
    thing::Agent& genuine = d.thing(0);
    const std::string serial = genuine.state().serial;
    const std::string peer_serial = d.thing(1).state().serial;
    SECPROF_ASSIGN_OR_RETURN(auto* peer, d.ServeThing(1));
    const uint16_t pu = peer->server->udp_port(), pd = peer->server->dtls_port();
    const auto before = d.refusals();

    // Both run: readings to the KDC, then a ticket to the peer and a reading of its sensor.
    std::vector<std::string> log;
    int served_genuine = 0, served_clone = 0, asked = 0;
    auto step = [&](const char* who, thing::Agent& a, int& served, int turn) {
      ++asked;
      auto r = a.SendReading(2000 + turn);
      log.push_back(std::string(who) + " reading: " + (r ? "2.04" : r.error().message()));
      if (r) ++served;
      auto pk = a.RequestPairKey(peer_serial);
      if (!pk) {
        log.push_back(std::string(who) + " pair key: " + pk.error().message());
        return;
      }
      auto s = thing::ConnectToPeer("127.0.0.1", pu, pd, *pk, ctx.timeout);
      auto g = s ? (*s)->Get(domain::path::kSensor) : Result<coap::Response>(Fail(s.error()));
      log.push_back(std::string(who) +
                    " peer sensor: " + (g ? coap::CodeString(g->code) : g.error().message()));
      if (g && g->code == coap::kContent) ++served;
    };
    for (int turn = 0; turn < 2; ++turn) {
      step("copy", *clone, served_clone, turn);
      step("genuine", genuine, served_genuine, turn);
    }
    const size_t alerts = CountAudit(d, serial, "alert:clone-suspected");
    const std::string refused = RefusalDelta(before, d.refusals());
    std::string trail;
    for (const auto& l : log) trail += l + "\n";
    const bool both = served_clone == asked && served_genuine == asked;
    if (both && alerts == 0) {
      m.outcome = Outcome::kSucceeded;
      m.reason = "the copy of " + serial + " and the genuine thing were both served, no alert";
      m.evidence.push_back({"log", "both served", trail});
      return m;
    }
    m.outcome = Outcome::kBlocked;
    m.control = "kdc.registry_unique_identity";
    m.reason = !refused.empty() ? refused : alerts ? "alert:clone-suspected" : "refused";
    m.evidence.push_back({"audit",
                          std::to_string(alerts) + " alert:clone-suspected for " + serial +
                              (d.token() ? "" : " (file keys: the KEK was copied too)"),
                          ""});
    m.evidence.push_back({"refusal", "KDC refusals: " + refused, trail});
    return m;
  }
};

}  // namespace

std::unique_ptr<Scenario> MakeClone() { return std::make_unique<Clone>(); }

}  // namespace secprof::lab::internal

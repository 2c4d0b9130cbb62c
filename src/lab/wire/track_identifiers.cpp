// lab.track_identifiers: a passive observer identifies devices, and links their sessions, from
// identifiers that cross the wire in clear (T8 in operation; draft §4 threat 8 "privacy threat":
// identification, localization, tracking; RFC 6973 §5.2.1 identification, §5.1.1 surveillance;
// catalog M.app.identifier_privacy counters it, no profile requires it).
//
// Attacker: records a thing's join and operational traffic (the relay forwards unchanged) and
//   lists the identifiers in clear: serials in CoAP bodies and link frames (SecProf_1/2 joins),
//   PSK identities (RFC 4279 §2: sent in clear in the ClientKeyExchange), certificates of DTLS 1.2
//   handshakes (RFC 5246 §7.4.2, §7.4.6: IDevID and LDevID with the subject serialNumber, in
//   clear before ChangeCipherSpec).
// Success: the thing's serial number is read off the wire; the evidence lists every identifier
//   and how many client sessions each links.
#include "groups.h"
#include "observer.h"
#include "on_path.h"

namespace secprof::lab::internal {
namespace {

using namespace wire;

class TrackIdentifiers final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.track_identifiers",
        "T8",
        "operation",
        "transport",
        "listens passively to a thing's join and operational traffic",
        "identifies the thing by its serial number from what crosses the wire in clear",
        {"M.app.identifier_privacy"},
        {"thing.rotating_identifiers"},
        false};
    return i;
  }

  Result<Measurement> Run(const RunContext& ctx) const override {
    OnPath p;
    if (ctx.profile == domain::Profile::kSecProf1) {
      SECPROF_ASSIGN_OR_RETURN(p, StartHome(ctx));
      SECPROF_ASSIGN_OR_RETURN(coap::Response r, SendLinkReading(p, 2150));
      (void)r;
    } else {
      SECPROF_ASSIGN_OR_RETURN(p, StartManaged(ctx));
      SECPROF_TRY(p.domain->thing(0).SendReading(2150));
    }
    // SecProf_1: the paired thing (1) is the one behind the relay; its mother (0) talks to it.
    const std::string serial = p.domain->thing(0).state().serial;
    auto cap = p.relay->Capture();
    Observation o = Observe(cap);
    std::map<std::string, size_t> sessions;  // identifier -> sessions it was seen on
    for (const auto& [s, ids] : o.by_session)
      for (const auto& id : ids) ++sessions[id];
    std::string list;
    std::vector<std::string> naming;
    for (const auto& id : o.identifiers) {
      list += id + " (" + std::to_string(sessions[id]) + " session(s))\n";
      if (id.find(serial) != std::string::npos) naming.push_back(id);
    }
    Measurement m;
    m.evidence.push_back(
        {"datagrams", std::to_string(cap.size()) + " datagrams captured", Summarize(cap)});
    m.evidence.push_back(
        {"recovered", std::to_string(o.identifiers.size()) + " identifiers in clear", list});
    if (naming.empty()) {
      m.outcome = Outcome::kBlocked;
      m.control = "thing.rotating_identifiers";
      m.reason = "no identifier naming " + serial + " crossed the wire in clear";
      return m;
    }
    size_t linked = 0;
    for (const auto& id : naming) linked = std::max(linked, sessions[id]);
    m.outcome = Outcome::kSucceeded;
    m.reason = serial + " identified from " + std::to_string(naming.size()) +
               " identifier(s) in clear (" + naming.front() + (naming.size() > 1 ? ", ..." : "") +
               "), linking " + std::to_string(linked) + " client session(s)";
    if (ctx.profile != domain::Profile::kSecProf1 && ctx.profile != domain::Profile::kSecProf2)
      m.reason += ": DTLS 1.2 sends the IDevID and LDevID certificates in clear";
    return m;
  }
};

}  // namespace

std::unique_ptr<Scenario> MakeTrackIdentifiers() { return std::make_unique<TrackIdentifiers>(); }

}  // namespace secprof::lab::internal

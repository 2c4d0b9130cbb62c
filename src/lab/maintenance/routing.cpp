// lab.routing_sinkhole, lab.routing_selective_forwarding, lab.routing_wormhole, lab.routing_sybil:
// the routing attacks (T7.1-T7.4; draft §4 threat 7; RFC 7416 §7). Not testable yet: the lab's
// domains run over loopback UDP only, with no multi-hop network and no RPL, so there is no route
// for an attacker to draw, drop, tunnel or multiply. Issue 15's emulated low-power network
// (src/net, docs/NETWORK.md: RPL over simulated IEEE 802.15.4, a sinkhole in `secprof net
// simulate`) exists but is not wired to the lab's profiles and has no secure routing yet; once it
// is, its measurements fill these cells.
//
// The four share one shape (metadata + the same not-testable outcome in every profile), kept in
// one file so that the reason is stated once; each keeps its own id, threat and success
// criterion.
#include "groups.h"

namespace secprof::lab::internal {
namespace {

class RoutingNotTestable final : public Scenario {
 public:
  explicit RoutingNotTestable(ScenarioInfo info) : info_(std::move(info)) {}
  const ScenarioInfo& info() const override { return info_; }

  Result<Measurement> Run(const RunContext&) const override {
    Measurement m;
    m.outcome = Outcome::kNotTestable;
    m.reason =
        "no multi-hop network and no routing to attack: the lab's domains run over loopback UDP; "
        "issue 15's emulated low-power network (src/net, `secprof net simulate`) is not wired to "
        "the lab's profiles yet and has no secure routing for SecProf_3/4";
    return m;
  }

 private:
  ScenarioInfo info_;
};

ScenarioInfo Routing(std::string id, std::string threat, std::string attacker,
                     std::string success) {
  return ScenarioInfo{std::move(id),
                      std::move(threat),
                      "operation",
                      "network",
                      std::move(attacker),
                      std::move(success),
                      {"M.net.secure_routing", "M.net.routing_monitoring"},
                      {"net.rpl_secure", "net.routing_ids"},
                      false};
}

}  // namespace

std::unique_ptr<Scenario> MakeRoutingSinkhole() {
  return std::make_unique<RoutingNotTestable>(Routing(
      "lab.routing_sinkhole", "T7.1",
      "a node in the network advertises a forged low rank (RPL DIO) so that its neighbours route "
      "through it, then drops what it attracts (sinkhole, blackhole)",
      "the attacker attracts traffic and the packet delivery to the root drops, undetected"));
}

std::unique_ptr<Scenario> MakeRoutingSelectiveForwarding() {
  return std::make_unique<RoutingNotTestable>(
      Routing("lab.routing_selective_forwarding", "T7.2",
              "a forwarding node drops a chosen share of the packets it should relay",
              "packets are lost on the attacker's routes without the root detecting the node"));
}

std::unique_ptr<Scenario> MakeRoutingWormhole() {
  return std::make_unique<RoutingNotTestable>(
      Routing("lab.routing_wormhole", "T7.3",
              "two distant attacker nodes tunnel frames between them outside the radio medium",
              "routes form through the tunnel (the attacker controls them) undetected"));
}

std::unique_ptr<Scenario> MakeRoutingSybil() {
  return std::make_unique<RoutingNotTestable>(
      Routing("lab.routing_sybil", "T7.4",
              "one node presents many identities (or a cloned one) to the routing protocol",
              "the identities are accepted as distinct nodes and gain routing influence"));
}

}  // namespace secprof::lab::internal

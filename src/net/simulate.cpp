// Simulate(): option checks, keys, and one run of the Network (network.h).
#include "secprof/net/simulate.h"

#include <cmath>

#include "network.h"

namespace secprof::net {
namespace {

Error BadOption(const std::string& what) {
  return Error(ErrorCode::kInvalidInput, "net simulate: " + what);
}

bool FiniteNonNegative(double v) { return std::isfinite(v) && v >= 0; }

}  // namespace

Result<SecurityLevel> LevelForProfile(std::string_view p) {
  if (p == "none") return SecurityLevel::kNone;
  if (p == "SecProf_1" || p == "SecProf_2") return SecurityLevel::kMic64;
  if (p == "SecProf_3" || p == "SecProf_4") return SecurityLevel::kEncMic64;
  return Fail(BadOption("unknown profile '" + std::string(p) +
                        "' (none, SecProf_1, SecProf_2, SecProf_3, SecProf_4)"));
}

Result<Topology> ParseTopology(std::string_view s) {
  if (s == "grid") return Topology::kGrid;
  if (s == "random") return Topology::kRandom;
  return Fail(BadOption("unknown topology '" + std::string(s) + "' (grid, random)"));
}

Result<Attack> ParseAttack(std::string_view s) {
  if (s == "none") return Attack::kNone;
  if (s == "sinkhole") return Attack::kSinkhole;
  if (s == "replay") return Attack::kReplay;
  return Fail(BadOption("unknown attack '" + std::string(s) + "' (none, sinkhole, replay)"));
}

Result<AttackerKind> ParseAttacker(std::string_view s) {
  if (s == "insider") return AttackerKind::kInsider;
  if (s == "outsider") return AttackerKind::kOutsider;
  return Fail(BadOption("unknown attacker '" + std::string(s) + "' (insider, outsider)"));
}

std::string_view TopologyName(Topology t) { return t == Topology::kGrid ? "grid" : "random"; }
std::string_view AttackName(Attack a) {
  switch (a) {
    case Attack::kSinkhole:
      return "sinkhole";
    case Attack::kReplay:
      return "replay";
    default:
      return "none";
  }
}
std::string_view AttackerName(AttackerKind a) {
  return a == AttackerKind::kInsider ? "insider" : "outsider";
}

Result<SimulationReport> Simulate(const SimulationOptions& o, crypto::Random& key_source) {
  if (o.nodes < 2 || o.nodes > 10000) return Fail(BadOption("--nodes must be 2..10000"));
  if (o.attack != Attack::kNone && o.nodes < 3) {
    return Fail(BadOption("an attack needs at least 3 nodes"));
  }
  if (!FiniteNonNegative(o.duration_s) || !FiniteNonNegative(o.data_start_s) ||
      !std::isfinite(o.data_interval_s) || o.data_interval_s <= 0 || o.duration_s > 1e7) {
    return Fail(BadOption("times must be finite, non-negative, the interval positive"));
  }
  if (!std::isfinite(o.grid_spacing_m) || o.grid_spacing_m <= 0 ||
      !std::isfinite(o.radio.tx_range_m) || o.radio.tx_range_m <= 0 ||
      !std::isfinite(o.radio.interference_range_m) ||
      o.radio.interference_range_m < o.radio.tx_range_m || !(o.radio.loss_ratio >= 0) ||
      o.radio.loss_ratio > 1 || o.radio.bitrate_bps == 0) {
    return Fail(BadOption("radio model or spacing out of range"));
  }
  SECPROF_ASSIGN_OR_RETURN(SecurityLevel level, LevelForProfile(o.profile));
  // Dispatch byte + data header + payload must fit a secured frame.
  if (o.data_payload + internal::kDataHeader + 25 > kMaxFrameSize) {
    return Fail(BadOption("--payload does not fit a 127-byte frame"));
  }
  std::shared_ptr<LinkKey> key, outsider_key;
  if (level != SecurityLevel::kNone) {
    SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer k, key_source.DrawSecret(kNetworkKeySize));
    SECPROF_ASSIGN_OR_RETURN(key, LinkKey::Create(ByteView(k.data(), k.size())));
    // The outsider does not hold the network key: it uses one of its own.
    SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer g, key_source.DrawSecret(kNetworkKeySize));
    SECPROF_ASSIGN_OR_RETURN(outsider_key, LinkKey::Create(ByteView(g.data(), g.size())));
  }
  internal::Network net(o, level, key, outsider_key);
  return net.Run();
}

}  // namespace secprof::net

// The emulated medium and MAC (docs/NETWORK.md "Radio model"): a unit-disk graph as in Cooja's
// UDGM, frames lasting their airtime, collisions within the interference range, half-duplex
// radios, unslotted CSMA (IEEE 802.15.4-2006 §7.5.1.4) with ideal acknowledgements and
// macMaxFrameRetries = 3 (§7.4.2), and the discrete-event loop.
#include <algorithm>
#include <cmath>

#include "network.h"

namespace secprof::net::internal {
namespace {

constexpr uint64_t kUnitBackoffUs = 320;  // aUnitBackoffPeriod = 20 symbols of 16 us (§7.4.1)
constexpr int kMaxFrameRetries = 3;       // macMaxFrameRetries default (§7.4.2)
constexpr int kMaxCsmaBackoffs = 4;       // macMaxCSMABackoffs default (§7.4.2)
constexpr uint64_t kAckWaitUs = 864;      // macAckWaitDuration at 2.4 GHz (54 symbols)
constexpr size_t kPhyHeader = 6;          // preamble 4, SFD 1, PHR 1 (§6.3)

uint64_t SplitMix(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Rng::Rng(uint64_t seed) {
  for (auto& s : s_) s = SplitMix(seed);
}

uint64_t Rng::Next() {
  const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

uint64_t Rng::Below(uint64_t n) {
  if (n == 0) return 0;
  // Rejection sampling keeps it exactly uniform.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t v;
  do v = Next();
  while (v >= limit);
  return v % n;
}

double Rng::Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

Network::Network(const SimulationOptions& o, SecurityLevel level, std::shared_ptr<LinkKey> key,
                 std::shared_ptr<LinkKey> outsider_key)
    : o_(o), rng_(o.seed) {
  nodes_.resize(o.nodes);
  for (size_t i = 0; i < o.nodes; ++i) {
    Node& n = nodes_[i];
    n.id = static_cast<uint16_t>(i);
    n.role = i == 0 ? Role::kRoot : Role::kHonest;
  }
  Place();
  if (o.attack != Attack::kNone) {
    // The attacker sits where it can attract most: the node nearest the middle of the area.
    double cx = 0, cy = 0;
    for (const Node& n : nodes_) cx = std::max(cx, n.x), cy = std::max(cy, n.y);
    cx /= 2, cy /= 2;
    size_t best = 1;
    double best_d = INFINITY;
    for (size_t i = 1; i < nodes_.size(); ++i) {
      const double d = std::hypot(nodes_[i].x - cx, nodes_[i].y - cy);
      if (d < best_d) best_d = d, best = i;
    }
    nodes_[best].role = Role::kAttacker;
    report_.attacker = nodes_[best].id;
  }
  for (Node& n : nodes_) {
    const bool outsider = n.role == Role::kAttacker && o.attacker == AttackerKind::kOutsider;
    n.link = std::make_unique<LinkLayer>(n.id, level, outsider ? outsider_key : key);
  }
  const double tx2 = o.radio.tx_range_m * o.radio.tx_range_m;
  const double if2 = o.radio.interference_range_m * o.radio.interference_range_m;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    for (size_t j = 0; j < nodes_.size(); ++j) {
      if (i == j) continue;
      const double dx = nodes_[i].x - nodes_[j].x, dy = nodes_[i].y - nodes_[j].y;
      const double d2 = dx * dx + dy * dy;
      if (d2 <= tx2) {
        nodes_[i].in_range.push_back(static_cast<uint32_t>(j));
      } else if (d2 <= if2) {
        nodes_[i].interferers.push_back(static_cast<uint32_t>(j));
      }
    }
  }
  sent_at_.resize(o.nodes);
  end_ = static_cast<uint64_t>(o.duration_s * 1e6);
}

void Network::Place() {
  const double s = o_.grid_spacing_m;
  const size_t side = static_cast<size_t>(std::ceil(std::sqrt(static_cast<double>(o_.nodes))));
  if (o_.topology == Topology::kGrid) {
    // Row-major grid, the root (node 0) in a corner.
    for (size_t i = 0; i < nodes_.size(); ++i) {
      nodes_[i].x = static_cast<double>(i % side) * s;
      nodes_[i].y = static_cast<double>(i / side) * s;
    }
    return;
  }
  // Random: uniform in a square of the grid's size, each node redrawn until it is within range
  // of a node already placed, so the network is connected (the root at the corner).
  const double area = static_cast<double>(side) * s;
  const double r = o_.radio.tx_range_m;
  for (size_t i = 1; i < nodes_.size(); ++i) {
    for (int tries = 0;; ++tries) {
      double x = rng_.Unit() * area, y = rng_.Unit() * area;
      if (tries >= 1000) {  // fall back: near a random placed node
        const Node& a = nodes_[rng_.Below(i)];
        x = a.x + (rng_.Unit() - 0.5) * r;
        y = a.y + (rng_.Unit() - 0.5) * r;
      }
      bool near = false;
      for (size_t j = 0; j < i && !near; ++j) {
        near = std::hypot(nodes_[j].x - x, nodes_[j].y - y) <= r;
      }
      if (near) {
        nodes_[i].x = x, nodes_[i].y = y;
        break;
      }
    }
  }
}

Ipv6Address Network::AddressOf(uint16_t id) const {
  // fd00::ff:fe00:<short>: a unique-local prefix and the short-address IID of RFC 4944 §6.
  Ipv6Address a{};
  a[0] = 0xFD;
  a[11] = 0xFF;
  a[12] = 0xFE;
  a[14] = static_cast<uint8_t>(id >> 8);
  a[15] = static_cast<uint8_t>(id);
  return a;
}

void Network::Schedule(uint64_t at, EventKind kind, uint32_t node, uint64_t arg) {
  events_.push(Event{at, seq_++, kind, node, arg, 0, nullptr});
}

void Network::MarkJoined(Node& n) {
  if (n.role != Role::kHonest) return;
  ++honest_joined_;
  if (honest_joined_ == report_.honest_nodes && !report_.formation_time_s) {
    report_.formation_time_s = static_cast<double>(now_) / 1e6;
  }
}

void Network::Enqueue(uint32_t from, TxItem item) {
  Node& n = nodes_[from];
  n.queue.push_back(std::move(item));
  if (!n.mac_busy) {
    n.mac_busy = true;
    Schedule(now_ + rng_.Below(8) * kUnitBackoffUs, EventKind::kMacTry, from);
  }
}

void Network::Send(uint32_t from, uint16_t to, bool control, Bytes payload) {
  Enqueue(from, TxItem{to, control, std::move(payload), nullptr});
}

void Network::SendRaw(uint32_t from, std::shared_ptr<const Bytes> wire) {
  Enqueue(from, TxItem{kBroadcastAddress, true, {}, std::move(wire)});
}

void Network::NextFromQueue(Node& n) {
  if (n.queue.empty()) {
    n.mac_busy = false;
    return;
  }
  Schedule(now_ + (1 + rng_.Below(8)) * kUnitBackoffUs, EventKind::kMacTry, n.id);
}

void Network::MacTry(Node& n) {
  TxItem& item = n.queue.front();
  // Clear channel assessment: energy from any frame within interference range (§6.9.9).
  if (n.rx_end > now_ || n.tx_end > now_) {
    if (++item.busy_tries > kMaxCsmaBackoffs) {
      ++report_.mac_drops;
      n.queue.pop_front();
      NextFromQueue(n);
      return;
    }
    const uint64_t be = std::min(3 + item.busy_tries, 5);  // macMinBE 3 .. aMaxBE 5
    Schedule(now_ + (1 + rng_.Below(1ull << be)) * kUnitBackoffUs, EventKind::kMacTry, n.id);
    return;
  }
  if (!item.wire) {
    auto wire = n.link->Seal(item.destination, n.mac_seq++, item.payload);
    if (!wire) {  // too big or counter exhausted: the frame never leaves
      ++report_.mac_drops;
      n.queue.pop_front();
      NextFromQueue(n);
      return;
    }
    item.wire = std::make_shared<const Bytes>(std::move(*wire));
  }
  const Bytes& wire = *item.wire;
  const uint64_t airtime = (wire.size() + kPhyHeader) * 8ull * 1000000ull / o_.radio.bitrate_bps;
  item.tx_id = ++tx_ids_;
  item.delivered = false;
  (item.control ? report_.control_frames : report_.data_frames) += 1;
  (item.control ? report_.control_bytes : report_.data_bytes) += wire.size();
  const uint64_t end = now_ + airtime;
  n.tx_end = end;
  for (uint32_t j : n.in_range) {
    Node& r = nodes_[j];
    if (r.tx_end > now_) continue;  // half duplex: a transmitting radio hears nothing
    if (r.rx_end > now_) {          // overlapping frames: both lost
      if (!r.rx_corrupt && r.rx_tx_id != 0) ++report_.collisions;
      r.rx_corrupt = true;
      r.rx_end = std::max(r.rx_end, end);
      continue;
    }
    r.rx_tx_id = item.tx_id;
    r.rx_corrupt = false;
    r.rx_end = end;
    if (item.destination == kBroadcastAddress || item.destination == r.id) {
      events_.push(Event{end + o_.radio.per_hop_delay_us, seq_++, EventKind::kRxEnd, j, item.tx_id,
                         n.id, item.wire});
    }
  }
  for (uint32_t j : n.interferers) {
    Node& r = nodes_[j];
    if (r.rx_end > now_) {
      if (!r.rx_corrupt && r.rx_tx_id != 0) ++report_.collisions;
    } else {
      r.rx_tx_id = 0;  // noise only
    }
    r.rx_corrupt = true;
    r.rx_end = std::max(r.rx_end, end);
  }
  const bool unicast = item.destination != kBroadcastAddress;
  Schedule(end + (unicast ? kAckWaitUs + o_.radio.per_hop_delay_us : 0), EventKind::kTxDone, n.id,
           item.tx_id);
}

void Network::TxDone(Node& n, uint64_t tx_id) {
  if (n.queue.empty() || n.queue.front().tx_id != tx_id) return;
  TxItem& item = n.queue.front();
  if (item.destination != kBroadcastAddress && !item.delivered) {
    if (++item.attempts <= kMaxFrameRetries) {
      item.busy_tries = 0;
      Schedule(now_ + (1 + rng_.Below(8)) * kUnitBackoffUs, EventKind::kMacTry, n.id);
      return;
    }
    ++report_.mac_drops;
  }
  n.queue.pop_front();
  NextFromQueue(n);
}

void Network::RxEnd(Node& r, uint32_t from, uint64_t tx_id, const Bytes& wire) {
  if (r.rx_tx_id != tx_id || r.rx_corrupt) return;  // collided: counted at the overlap
  if (o_.radio.loss_ratio > 0 && rng_.Unit() < o_.radio.loss_ratio) {
    ++report_.radio_losses;
    return;
  }
  if (r.role == Role::kAttacker && o_.attack == Attack::kReplay &&
      (r.captured == nullptr || rng_.Below(4) == 0)) {
    r.captured = std::make_shared<const Bytes>(wire);  // kept for a replay (node.cpp)
  }
  FrameView f;
  auto payload = r.link->Open(wire, &f);
  if (!payload) {
    if (r.role == Role::kAttacker) return;  // the attacker's own troubles are not counted
    const Error& e = payload.error();
    if (e.Is(kLinkForged)) {
      ++report_.dropped_forged;
    } else if (e.Is(kLinkReplay)) {
      ++report_.dropped_replay;
    } else if (e.Is(kLinkUnsecured)) {
      ++report_.dropped_unsecured;
    } else {
      ++report_.dropped_malformed;
    }
    return;
  }
  // The ideal acknowledgement: the sender learns that this unicast frame arrived.
  Node& s = nodes_[from];
  if (f.destination == r.id && !s.queue.empty() && s.queue.front().tx_id == tx_id) {
    s.queue.front().delivered = true;
  }
  NodeReceive(*this, r, f.source, f.destination, *payload);
}

void Network::Handle(const Event& e) {
  Node& n = nodes_[e.node];
  switch (e.kind) {
    case EventKind::kMacTry:
      MacTry(n);
      break;
    case EventKind::kTxDone:
      TxDone(n, e.arg);
      break;
    case EventKind::kRxEnd:
      RxEnd(n, e.from, e.arg, *e.frame);
      break;
    default:
      NodeTimer(*this, n, e.kind, e.arg);
  }
}

SimulationReport Network::Run() {
  report_.options = o_;
  for (const Node& n : nodes_) report_.honest_nodes += n.role == Role::kHonest ? 1 : 0;
  for (Node& n : nodes_) NodeBoot(*this, n);
  while (!events_.empty()) {
    Event e = events_.top();
    if (e.time > end_) break;
    events_.pop();
    now_ = e.time;
    ++report_.events;
    Handle(e);
  }
  for (const Node& n : nodes_) {
    if (n.role == Role::kHonest && n.rank != kInfiniteRank) ++report_.joined;
  }
  report_.downward_routes_at_root = nodes_[0].routes.size();
  if (report_.data_sent > 0) {
    report_.pdr = static_cast<double>(report_.data_delivered) / report_.data_sent;
    report_.attracted_share = static_cast<double>(report_.attracted) / report_.data_sent;
  }
  if (report_.data_delivered > 0) report_.mean_delay_ms /= report_.data_delivered;
  return report_;
}

}  // namespace secprof::net::internal

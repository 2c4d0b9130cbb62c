// src/net/network.h — the simulator's internals (not a public header): the event queue, the
// radio medium with its MAC, and the per-node RPL state. network.cpp holds the medium and the
// event loop, node.cpp the RPL and data behaviour of a node.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <queue>
#include <vector>

#include "secprof/net/frame.h"
#include "secprof/net/rpl.h"
#include "secprof/net/simulate.h"
#include "secprof/net/trickle.h"

namespace secprof::net::internal {

// xoshiro256** seeded through splitmix64: a fast, portable, seed-determined generator (not for
// keys; the network key comes from a crypto::Random).
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t Next();
  uint64_t Below(uint64_t n);  // uniform in [0, n); 0 when n == 0
  double Unit();               // uniform in [0, 1)

 private:
  uint64_t s_[4];
};

enum class EventKind : uint8_t {
  kTrickleFire,
  kTrickleEnd,
  kDis,
  kData,
  kDaoTimeout,
  kMacTry,
  kTxDone,
  kRxEnd
};

struct Event {
  uint64_t time;
  uint64_t seq;  // insertion order: ties are broken deterministically
  EventKind kind;
  uint32_t node;
  uint64_t arg;   // generation, tx id, ...
  uint32_t from;  // kRxEnd: the sender
  std::shared_ptr<const Bytes> frame;
  bool operator>(const Event& o) const { return time != o.time ? time > o.time : seq > o.seq; }
};

enum class Role { kRoot, kHonest, kAttacker };

struct TxItem {
  uint16_t destination;
  bool control;
  Bytes payload;                      // network-layer payload (plaintext)
  std::shared_ptr<const Bytes> wire;  // sealed once; retransmissions resend the same frame
  int attempts = 0;
  int busy_tries = 0;
  uint64_t tx_id = 0;
  bool delivered = false;
};

struct Node {
  uint16_t id = 0;
  double x = 0, y = 0;
  Role role = Role::kHonest;
  std::unique_ptr<LinkLayer> link;
  std::vector<uint32_t> in_range;     // within the transmission range
  std::vector<uint32_t> interferers;  // within interference but not transmission range
  // MAC and radio
  std::deque<TxItem> queue;
  bool mac_busy = false;
  uint8_t mac_seq = 0;
  uint64_t tx_end = 0;
  uint64_t rx_end = 0;
  uint64_t rx_tx_id = 0;
  bool rx_corrupt = false;
  // RPL (RFC 6550 §8: DODAG state)
  uint16_t rank = kInfiniteRank;
  int32_t parent = -1;
  std::map<uint16_t, uint16_t> neighbor_rank;  // last DIO rank heard per neighbour
  Trickle trickle;
  uint8_t dao_sequence = 0;
  uint8_t path_sequence = 0;
  bool dao_acked = false;
  int dao_tries = 0;
  uint64_t dao_generation = 0;
  std::map<uint16_t, uint16_t> routes;  // storing mode: target -> next hop (child)
  uint32_t data_sequence = 0;
  std::shared_ptr<const Bytes> captured;  // the outsider: the last frame it overheard
};

// The network-layer payload carried in a frame (secprof's stand-in for 6LoWPAN, NETWORK.md):
// dispatch 0x01 = an ICMPv6 RPL message follows; 0x02 = a data packet: origin (2), sequence (4),
// hop limit (1), application bytes.
inline constexpr uint8_t kDispatchRpl = 0x01;
inline constexpr uint8_t kDispatchData = 0x02;
inline constexpr size_t kDataHeader = 8;

class Network {
 public:
  Network(const SimulationOptions& o, SecurityLevel level, std::shared_ptr<LinkKey> key,
          std::shared_ptr<LinkKey> outsider_key);
  // Runs until the configured duration; fills the report.
  SimulationReport Run();

  // --- used by node.cpp ---
  uint64_t now() const { return now_; }
  Rng& rng() { return rng_; }
  void Schedule(uint64_t at, EventKind kind, uint32_t node, uint64_t arg = 0);
  // Queues a network-layer payload for transmission from `from` to `to` (or broadcast).
  void Send(uint32_t from, uint16_t to, bool control, Bytes payload);
  // Queues an already built frame as it is (the outsider's replay): sent once, no acknowledgement.
  void SendRaw(uint32_t from, std::shared_ptr<const Bytes> wire);
  const SimulationOptions& options() const { return o_; }
  std::vector<Node>& nodes() { return nodes_; }
  SimulationReport& report() { return report_; }
  Ipv6Address AddressOf(uint16_t id) const;
  void MarkJoined(Node& n);
  std::vector<std::vector<uint64_t>>& sent_at() { return sent_at_; }

 private:
  void Place();
  void Handle(const Event& e);
  void MacTry(Node& n);
  void TxDone(Node& n, uint64_t tx_id);
  void RxEnd(Node& n, uint32_t from, uint64_t tx_id, const Bytes& wire);
  void NextFromQueue(Node& n);
  void Enqueue(uint32_t from, TxItem item);

  SimulationOptions o_;
  Rng rng_;
  std::vector<Node> nodes_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  uint64_t now_ = 0;
  uint64_t seq_ = 0;
  uint64_t tx_ids_ = 0;
  uint64_t end_ = 0;
  size_t honest_joined_ = 0;
  SimulationReport report_;
  std::vector<std::vector<uint64_t>> sent_at_;  // per origin, per sequence: generation time
};

// node.cpp: what a node does when a timer fires or a payload arrives.
void NodeBoot(Network& net, Node& n);
void NodeTimer(Network& net, Node& n, EventKind kind, uint64_t arg);
void NodeReceive(Network& net, Node& n, uint16_t from, uint16_t link_destination, ByteView payload);
// The sinkhole's forged rank: ROOT_RANK, the best rank a node can claim (RFC 6550 §17).
uint16_t ForgedRank(const Network& net);

}  // namespace secprof::net::internal

// A node's RPL and data behaviour (RFC 6550 §8 DODAG formation, §9 storing-mode DAOs, §8.3 DIO
// trickle; RFC 6552 OF0), and the sinkhole attacker's (docs/NETWORK.md "Attacks").
#include <limits>

#include "network.h"

namespace secprof::net::internal {
namespace {

constexpr uint8_t kInstanceId = 0x1E;        // Contiki-NG's RPL_DEFAULT_INSTANCE
constexpr uint8_t kVersion = 240;            // RFC 6550 §7.2: lollipop counters start at 240
constexpr uint64_t kDisPeriodUs = 30000000;  // Contiki-NG's RPL_DIS_INTERVAL (30 s)
constexpr uint64_t kDaoAckWaitUs = 5000000;
constexpr int kDaoMaxTries = 3;
constexpr size_t kTargetsPerDao = 4;  // 4 x 20 bytes keeps a DAO inside one 127-byte frame
constexpr uint8_t kHopLimit = 64;

const DodagConfig kConfig{};  // rpl.h: Contiki-NG's trickle values, MinHopRankIncrease 256

Trickle::Draw DrawFrom(Network& net) {
  return [&net](uint64_t n) { return net.rng().Below(n); };
}

void ScheduleTrickle(Network& net, Node& n) {
  net.Schedule(n.trickle.FireAt(), EventKind::kTrickleFire, n.id, n.trickle.generation());
  net.Schedule(n.trickle.EndAt(), EventKind::kTrickleEnd, n.id, n.trickle.generation());
}

void StartTrickle(Network& net, Node& n) {
  n.trickle.Configure(uint64_t{1000} << kConfig.dio_interval_min, kConfig.dio_interval_doublings,
                      n.role == Role::kAttacker ? 0 : kConfig.dio_redundancy);
  n.trickle.Start(net.now(), DrawFrom(net));
  ScheduleTrickle(net, n);
}

void ResetTrickle(Network& net, Node& n) {
  if (n.trickle.Reset(net.now(), DrawFrom(net))) ScheduleTrickle(net, n);
}

void SendRpl(Network& net, Node& n, uint16_t to, const RplMessage& m) {
  Bytes payload{kDispatchRpl};
  const Bytes icmp = EncodeRpl(m);
  payload.insert(payload.end(), icmp.begin(), icmp.end());
  net.Send(n.id, to, true, std::move(payload));
}

// The short address behind fd00::ff:fe00:XXXX (Network::AddressOf), if `t` is one.
std::optional<uint16_t> TargetNode(const Network& net, const RplTarget& t) {
  if (t.prefix_length != 128 || t.prefix.size() != 16) return std::nullopt;
  const uint16_t id = static_cast<uint16_t>((t.prefix[14] << 8) | t.prefix[15]);
  const Ipv6Address a = net.AddressOf(id);
  if (!std::equal(a.begin(), a.end(), t.prefix.begin())) return std::nullopt;
  if (id >= net.options().nodes) return std::nullopt;
  return id;
}

// RFC 6550 §9.3-9.4 (storing mode): the node's own target with an acknowledgement requested,
// then its sub-DODAG's targets, so that the new parent learns every route below it.
void SendDaos(Network& net, Node& n) {
  if (n.parent < 0) return;
  const uint16_t parent = static_cast<uint16_t>(n.parent);
  Dao own{kInstanceId,
          true,
          0,
          ++n.dao_sequence,
          std::nullopt,
          {TargetFor(net.AddressOf(n.id))},
          TransitInfo{false, 0, ++n.path_sequence, 0xFF, std::nullopt}};
  n.dao_acked = false;
  ++n.dao_generation;
  SendRpl(net, n, parent, own);
  net.Schedule(net.now() + kDaoAckWaitUs, EventKind::kDaoTimeout, n.id, n.dao_generation);
  Dao sub{kInstanceId,
          false,
          0,
          n.dao_sequence,
          std::nullopt,
          {},
          TransitInfo{false, 0, n.path_sequence, 0xFF, std::nullopt}};
  for (const auto& [target, via] : n.routes) {
    sub.targets.push_back(TargetFor(net.AddressOf(target)));
    if (sub.targets.size() == kTargetsPerDao) {
      SendRpl(net, n, parent, sub);
      sub.targets.clear();
    }
  }
  if (!sub.targets.empty()) SendRpl(net, n, parent, sub);
}

// OF0 parent selection (RFC 6552 §4.2.1): the neighbour advertising the lowest rank, keeping the
// current parent on a tie, then the lowest address.
void SelectParent(Network& net, Node& n) {
  int32_t best = -1;
  uint16_t best_rank = kInfiniteRank;
  for (const auto& [id, rank] : n.neighbor_rank) {
    if (rank < best_rank || (rank == best_rank && id == n.parent)) {
      best = id;
      best_rank = rank;
    }
  }
  const uint16_t new_rank =
      best < 0 ? kInfiniteRank : Of0Rank(best_rank, kConfig.min_hop_rank_increase);
  if (best == n.parent && new_rank == n.rank) {
    n.trickle.Consistent();  // RFC 6550 §8.3: the DIO changed nothing
    return;
  }
  const bool was_joined = n.rank != kInfiniteRank;
  const bool parent_changed = best != n.parent;
  n.parent = best;
  n.rank = new_rank;
  if (!was_joined && new_rank != kInfiniteRank) {
    net.MarkJoined(n);
    StartTrickle(net, n);
  } else {
    ResetTrickle(net, n);  // §8.3: a parent or rank change is an inconsistency
  }
  if (parent_changed) SendDaos(net, n);
}

void HandleDio(Network& net, Node& n, uint16_t from, const Dio& dio) {
  if (dio.instance_id != kInstanceId || dio.version != kVersion || dio.mop != kMopStoring ||
      dio.dodag_id != net.AddressOf(0)) {
    return;  // another instance, version or DODAG: not ours to join
  }
  if (n.role != Role::kHonest) {
    n.trickle.Consistent();
    return;
  }
  if (dio.rank == kInfiniteRank) {
    n.neighbor_rank.erase(from);  // §8.2.2.5: a poisoning DIO removes the neighbour
  } else {
    n.neighbor_rank[from] = dio.rank;
  }
  SelectParent(net, n);
}

void HandleDao(Network& net, Node& n, uint16_t from, const Dao& dao) {
  if (dao.instance_id != kInstanceId || (n.role == Role::kHonest && n.rank == kInfiniteRank)) {
    return;
  }
  std::vector<RplTarget> accepted;
  for (const RplTarget& t : dao.targets) {
    auto id = TargetNode(net, t);
    if (!id || *id == n.id) continue;
    n.routes[*id] = from;
    accepted.push_back(t);
  }
  if (dao.ack_requested) {
    SendRpl(net, n, from, DaoAck{kInstanceId, dao.sequence, 0, std::nullopt});
  }
  // Storing mode (§9.4): a router passes the targets on to its own parent. The root stops, and
  // so does the sinkhole, which keeps the routes it attracted.
  if (n.role != Role::kHonest || n.parent < 0 || accepted.empty()) return;
  Dao up{kInstanceId, false, 0, n.dao_sequence, std::nullopt, std::move(accepted), dao.transit};
  SendRpl(net, n, static_cast<uint16_t>(n.parent), up);
}

void HandleData(Network& net, Node& n, ByteView p) {
  SimulationReport& rep = net.report();
  if (p.size() < kDataHeader - 1) {  // origin, sequence, hop limit
    ++rep.dropped_malformed;
    return;
  }
  const uint16_t origin = GetBig16(p);
  const uint32_t seq = GetBig32(p.subspan(2));
  const uint8_t hops = p[6];
  if (origin >= net.nodes().size() || seq >= net.sent_at()[origin].size()) {
    ++rep.dropped_malformed;
    return;
  }
  uint64_t& sent = net.sent_at()[origin][seq];
  if (n.role == Role::kRoot) {
    if (sent == std::numeric_limits<uint64_t>::max()) return;  // already counted
    const double delay_ms = static_cast<double>(net.now() - sent) / 1000.0;
    ++rep.data_delivered;
    rep.mean_delay_ms += delay_ms;  // summed here, divided in Network::Run
    rep.max_delay_ms = std::max(rep.max_delay_ms, delay_ms);
    sent = std::numeric_limits<uint64_t>::max();
    return;
  }
  if (n.role == Role::kAttacker) {
    ++rep.attracted;  // the sinkhole drops what it attracts
    return;
  }
  if (hops <= 1 || n.parent < 0) return;  // dropped: hop limit or no route
  Bytes fwd{kDispatchData};
  fwd.insert(fwd.end(), p.begin(), p.end());
  fwd[7] = static_cast<uint8_t>(hops - 1);
  net.Send(n.id, static_cast<uint16_t>(n.parent), false, std::move(fwd));
}

void GenerateData(Network& net, Node& n) {
  const SimulationOptions& o = net.options();
  net.Schedule(net.now() + static_cast<uint64_t>(o.data_interval_s * 1e6), EventKind::kData, n.id);
  const uint32_t seq = n.data_sequence++;
  net.sent_at()[n.id].push_back(net.now());
  ++net.report().data_sent;
  if (n.parent < 0) return;  // no route yet: counted as sent, never delivered
  Bytes p{kDispatchData};
  PutBig16(p, n.id);
  PutBig32(p, seq);
  p.push_back(kHopLimit);
  p.resize(p.size() + o.data_payload, 0);
  net.Send(n.id, static_cast<uint16_t>(n.parent), false, std::move(p));
}

}  // namespace

uint16_t ForgedRank(const Network&) { return kConfig.min_hop_rank_increase; }  // ROOT_RANK

Dio MakeDioFor(const Network& net, const Node& n) {
  Dio d;
  d.instance_id = kInstanceId;
  d.version = kVersion;
  d.rank = n.role == Role::kAttacker ? ForgedRank(net) : n.rank;
  d.mop = kMopStoring;
  d.dodag_id = net.AddressOf(0);
  d.config = kConfig;
  return d;
}

void NodeBoot(Network& net, Node& n) {
  const SimulationOptions& o = net.options();
  switch (n.role) {
    case Role::kRoot:
      n.rank = kConfig.min_hop_rank_increase;  // ROOT_RANK (RFC 6550 §17)
      StartTrickle(net, n);
      break;
    case Role::kAttacker:
      // The sinkhole knows the DODAG (worst case for the defender) and advertises at once.
      StartTrickle(net, n);
      break;
    case Role::kHonest:
      net.Schedule(net.rng().Below(2000000), EventKind::kDis, n.id);
      net.Schedule(static_cast<uint64_t>(o.data_start_s * 1e6) +
                       net.rng().Below(static_cast<uint64_t>(o.data_interval_s * 1e6) + 1),
                   EventKind::kData, n.id);
      break;
  }
}

void NodeTimer(Network& net, Node& n, EventKind kind, uint64_t arg) {
  switch (kind) {
    case EventKind::kTrickleFire:
      if (arg == n.trickle.generation() && n.trickle.ShouldTransmit()) {
        if (n.role != Role::kAttacker || net.options().attack == Attack::kSinkhole) {
          SendRpl(net, n, kBroadcastAddress, MakeDioFor(net, n));
        } else if (n.captured) {
          // The replayer re-broadcasts a frame it overheard, as it is: refused as a replay by
          // receivers that heard the original (IEEE 802.15.4-2006 §7.5.8.2.3), accepted by
          // those that did not (and by everyone without a network key).
          net.SendRaw(n.id, n.captured);
        }
      }
      break;
    case EventKind::kTrickleEnd:
      if (arg == n.trickle.generation()) {
        n.trickle.IntervalEnd(net.now(), DrawFrom(net));
        ScheduleTrickle(net, n);
      }
      break;
    case EventKind::kDis:  // RFC 6550 §8.3: solicit DIOs while not in a DODAG
      if (n.rank == kInfiniteRank) {
        SendRpl(net, n, kBroadcastAddress, Dis{});
        net.Schedule(net.now() + kDisPeriodUs, EventKind::kDis, n.id);
      }
      break;
    case EventKind::kData:
      GenerateData(net, n);
      break;
    case EventKind::kDaoTimeout:
      if (arg == n.dao_generation && !n.dao_acked && ++n.dao_tries < kDaoMaxTries) {
        SendDaos(net, n);
      }
      break;
    default:
      break;
  }
}

void NodeReceive(Network& net, Node& n, uint16_t from, uint16_t, ByteView payload) {
  SimulationReport& rep = net.report();
  if (payload.empty()) {
    if (n.role != Role::kAttacker) ++rep.dropped_malformed;
    return;
  }
  if (payload[0] == kDispatchData) {
    HandleData(net, n, payload.subspan(1));
    return;
  }
  if (payload[0] != kDispatchRpl) {
    if (n.role != Role::kAttacker) ++rep.dropped_malformed;
    return;
  }
  auto m = DecodeRpl(payload.subspan(1));
  if (!m) {
    if (n.role != Role::kAttacker) ++rep.dropped_malformed;
    return;
  }
  if (const auto* dio = std::get_if<Dio>(&*m)) {
    HandleDio(net, n, from, *dio);
  } else if (std::holds_alternative<Dis>(*m)) {
    if (n.rank != kInfiniteRank || n.role == Role::kAttacker) ResetTrickle(net, n);  // §8.3
  } else if (const auto* dao = std::get_if<Dao>(&*m)) {
    HandleDao(net, n, from, *dao);
  } else if (const auto* ack = std::get_if<DaoAck>(&*m)) {
    if (ack->sequence == n.dao_sequence && ack->status < 128) n.dao_acked = true;
  }
}

}  // namespace secprof::net::internal

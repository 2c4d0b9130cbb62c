// secprof/net/rpl.h — RPL control messages (RFC 6550 §6) in their binary form.
//
// A RPL control message is an ICMPv6 message of type 155 (RFC 6550 §6) whose code says which
// base follows: 0x00 DIS (§6.2), 0x01 DIO (§6.3), 0x02 DAO (§6.4), 0x03 DAO-ACK (§6.5). The
// secure variants (codes 0x80..0x83, §6.2..§6.5 with the Security section of §6.1) are NOT built
// yet: DecodeRpl refuses them with kUnsupported.
//
//   Bytes wire = EncodeRpl(RplMessage{dio});
//   SECPROF_ASSIGN_OR_RETURN(RplMessage m, DecodeRpl(wire));   // strict: bad input -> Error
//
// The ICMPv6 checksum (RFC 4443 §2.3) covers an IPv6 pseudo-header; the emulated network has no
// IPv6 header (docs/NETWORK.md), so the field is written as zero and not checked; the link-layer
// MIC protects integrity instead.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "secprof/core/bytes.h"
#include "secprof/core/result.h"

namespace secprof::net {

using Ipv6Address = std::array<uint8_t, 16>;

inline constexpr uint8_t kIcmpv6TypeRpl = 155;  // RFC 6550 §6, IANA ICMPv6 "Type Numbers"
inline constexpr uint8_t kRplCodeDis = 0x00;    // RFC 6550 §6 (Table of codes), §20.2
inline constexpr uint8_t kRplCodeDio = 0x01;
inline constexpr uint8_t kRplCodeDao = 0x02;
inline constexpr uint8_t kRplCodeDaoAck = 0x03;

// RPL control message option types (RFC 6550 §6.7.1, §20.4).
inline constexpr uint8_t kOptPad1 = 0x00;
inline constexpr uint8_t kOptPadN = 0x01;
inline constexpr uint8_t kOptDodagConfig = 0x04;
inline constexpr uint8_t kOptRplTarget = 0x05;
inline constexpr uint8_t kOptTransitInfo = 0x06;

// RFC 6550 §6.3.1: Mode of Operation 2 = storing mode without multicast.
inline constexpr uint8_t kMopStoring = 2;
// RFC 6550 §17: INFINITE_RANK; RFC 6552 §5 (OF0) OCP = 0.
inline constexpr uint16_t kInfiniteRank = 0xFFFF;
inline constexpr uint16_t kOcpOf0 = 0;

// DODAG Configuration option (RFC 6550 §6.7.6), 14 bytes of data.
struct DodagConfig {
  bool authentication = false;  // 'A': secure RPL in use (never set: §10 not built)
  uint8_t path_control_size = 0;
  uint8_t dio_interval_doublings = 8;
  uint8_t dio_interval_min = 12;  // Imin = 2^12 ms
  uint8_t dio_redundancy = 10;
  uint16_t max_rank_increase = 7 * 256;
  uint16_t min_hop_rank_increase = 256;  // RFC 6550 §17 DEFAULT_MIN_HOP_RANK_INCREASE
  uint16_t ocp = kOcpOf0;
  uint8_t default_lifetime = 0xFF;
  uint16_t lifetime_unit = 0xFFFF;
  bool operator==(const DodagConfig&) const = default;
};

// RPL Target option (RFC 6550 §6.7.7): a prefix or address reachable via the DAO's sender.
struct RplTarget {
  uint8_t prefix_length = 128;  // bits; the prefix carries ceil(prefix_length / 8) bytes
  Bytes prefix;
  bool operator==(const RplTarget&) const = default;
};

// Transit Information option (RFC 6550 §6.7.8), storing mode: no parent address.
struct TransitInfo {
  bool external = false;
  uint8_t path_control = 0;
  uint8_t path_sequence = 0;
  uint8_t path_lifetime = 0xFF;
  std::optional<Ipv6Address> parent;  // present in non-storing mode only
  bool operator==(const TransitInfo&) const = default;
};

// DIS (RFC 6550 §6.2.1). Options other than Pad1/PadN are not interpreted (and refused).
struct Dis {
  uint8_t flags = 0;
  bool operator==(const Dis&) const = default;
};

// DIO (RFC 6550 §6.3.1).
struct Dio {
  uint8_t instance_id = 0;
  uint8_t version = 0;
  uint16_t rank = kInfiniteRank;
  bool grounded = true;
  uint8_t mop = kMopStoring;
  uint8_t preference = 0;
  uint8_t dtsn = 0;
  uint8_t flags = 0;
  Ipv6Address dodag_id{};
  std::optional<DodagConfig> config;
  bool operator==(const Dio&) const = default;
};

// DAO (RFC 6550 §6.4.1). Each target is followed by the transit information that applies to it.
struct Dao {
  uint8_t instance_id = 0;
  bool ack_requested = false;  // 'K'
  uint8_t flags = 0;           // the six unassigned flags
  uint8_t sequence = 0;
  std::optional<Ipv6Address> dodag_id;  // 'D'
  std::vector<RplTarget> targets;
  std::optional<TransitInfo> transit;
  bool operator==(const Dao&) const = default;
};

// DAO-ACK (RFC 6550 §6.5.1). Status 0 = unqualified acceptance; >= 128 rejection.
struct DaoAck {
  uint8_t instance_id = 0;
  uint8_t sequence = 0;
  uint8_t status = 0;
  std::optional<Ipv6Address> dodag_id;
  bool operator==(const DaoAck&) const = default;
};

using RplMessage = std::variant<Dis, Dio, Dao, DaoAck>;

// The ICMPv6 message: type 155, code, checksum 0, base, options. Every field is written as given;
// a DAO target whose prefix has the wrong length for its prefix_length is written as given too
// (and DecodeRpl would refuse it): callers build targets with TargetFor.
Bytes EncodeRpl(const RplMessage& m);

// Parses one ICMPv6 RPL control message, strictly: a wrong type, an unknown or secure code, a
// truncated base or option, an option overrunning the message, an option not allowed in that
// message (RFC 6550 §6.2.1, §6.3.1, §6.4.1, §6.5.1 list which), a wrong fixed option length, a
// Transit Information option with no target before it, a DAO with more than one Transit
// Information option, or a second DODAG Configuration option -> kInvalidInput; secure codes ->
// kUnsupported. Never reads past `wire`.
Result<RplMessage> DecodeRpl(ByteView wire);

// The RPL Target for a full /128 address.
RplTarget TargetFor(const Ipv6Address& a);

// RFC 6552 §4.1 (OF0): rank_increase = (Rf * Sp + Sr) * MinHopRankIncrease, and a node's rank is
// its preferred parent's rank plus that increase, saturating at INFINITE_RANK (RFC 6550 §17).
// Defaults (RFC 6552 §6.1): Rf = 1, Sp = DEFAULT_STEP_OF_RANK = 3, Sr = 0.
struct Of0Params {
  uint16_t rank_factor = 1;
  uint16_t step_of_rank = 3;
  uint16_t stretch_of_rank = 0;
};
uint16_t Of0Rank(uint16_t parent_rank, uint16_t min_hop_rank_increase, const Of0Params& p = {});
// RFC 6550 §3.5.1: DAGRank(rank) = floor(rank / MinHopRankIncrease).
uint16_t DagRank(uint16_t rank, uint16_t min_hop_rank_increase);

}  // namespace secprof::net

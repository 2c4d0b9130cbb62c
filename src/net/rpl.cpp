// RPL control message codecs (RFC 6550 §6). See rpl.h for the contracts.
#include "secprof/net/rpl.h"

#include <algorithm>
#include <string>

// GCC 12 with -fsanitize=address at -O2 reports a false "may be used uninitialized" inside
// std::variant's move constructor for RplMessage (the inactive members); nothing here reads them.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace secprof::net {
namespace {

Error Bad(const std::string& what) { return Error(ErrorCode::kInvalidInput, "rpl: " + what); }

void PutAddr(Bytes& out, const Ipv6Address& a) { out.insert(out.end(), a.begin(), a.end()); }

Ipv6Address GetAddr(ByteView in) {
  Ipv6Address a{};
  std::copy_n(in.begin(), 16, a.begin());
  return a;
}

// RFC 6550 §6.7.6 Figure 24: Flags(4) | A(1) | PCS(3), then the fixed fields.
void PutConfig(Bytes& out, const DodagConfig& c) {
  out.push_back(kOptDodagConfig);
  out.push_back(14);
  out.push_back(static_cast<uint8_t>((c.authentication ? 0x08 : 0) | (c.path_control_size & 7)));
  out.push_back(c.dio_interval_doublings);
  out.push_back(c.dio_interval_min);
  out.push_back(c.dio_redundancy);
  PutBig16(out, c.max_rank_increase);
  PutBig16(out, c.min_hop_rank_increase);
  PutBig16(out, c.ocp);
  out.push_back(0);  // reserved
  out.push_back(c.default_lifetime);
  PutBig16(out, c.lifetime_unit);
}

DodagConfig GetConfig(ByteView d) {  // REQUIRES d.size() == 14
  DodagConfig c;
  c.authentication = (d[0] & 0x08) != 0;
  c.path_control_size = d[0] & 7;
  c.dio_interval_doublings = d[1];
  c.dio_interval_min = d[2];
  c.dio_redundancy = d[3];
  c.max_rank_increase = GetBig16(d.subspan(4));
  c.min_hop_rank_increase = GetBig16(d.subspan(6));
  c.ocp = GetBig16(d.subspan(8));
  c.default_lifetime = d[11];
  c.lifetime_unit = GetBig16(d.subspan(12));
  return c;
}

struct Encoder {
  Bytes out;
  void Header(uint8_t code) {
    out = {kIcmpv6TypeRpl, code, 0, 0};  // checksum zero: see rpl.h
  }
  void operator()(const Dis& m) {
    Header(kRplCodeDis);
    out.push_back(m.flags);
    out.push_back(0);
  }
  void operator()(const Dio& m) {
    Header(kRplCodeDio);
    out.push_back(m.instance_id);
    out.push_back(m.version);
    PutBig16(out, m.rank);
    out.push_back(
        static_cast<uint8_t>((m.grounded ? 0x80 : 0) | ((m.mop & 7) << 3) | (m.preference & 7)));
    out.push_back(m.dtsn);
    out.push_back(m.flags);
    out.push_back(0);
    PutAddr(out, m.dodag_id);
    if (m.config) PutConfig(out, *m.config);
  }
  void operator()(const Dao& m) {
    Header(kRplCodeDao);
    out.push_back(m.instance_id);
    out.push_back(static_cast<uint8_t>((m.ack_requested ? 0x80 : 0) | (m.dodag_id ? 0x40 : 0) |
                                       (m.flags & 0x3F)));
    out.push_back(0);
    out.push_back(m.sequence);
    if (m.dodag_id) PutAddr(out, *m.dodag_id);
    for (const RplTarget& t : m.targets) {  // RFC 6550 §6.7.7 Figure 25
      out.push_back(kOptRplTarget);
      out.push_back(static_cast<uint8_t>(2 + t.prefix.size()));
      out.push_back(0);
      out.push_back(t.prefix_length);
      out.insert(out.end(), t.prefix.begin(), t.prefix.end());
    }
    if (m.transit) {  // RFC 6550 §6.7.8 Figure 26
      const TransitInfo& ti = *m.transit;
      out.push_back(kOptTransitInfo);
      out.push_back(static_cast<uint8_t>(ti.parent ? 20 : 4));
      out.push_back(ti.external ? 0x80 : 0);
      out.push_back(ti.path_control);
      out.push_back(ti.path_sequence);
      out.push_back(ti.path_lifetime);
      if (ti.parent) PutAddr(out, *ti.parent);
    }
  }
  void operator()(const DaoAck& m) {
    Header(kRplCodeDaoAck);
    out.push_back(m.instance_id);
    out.push_back(m.dodag_id ? 0x80 : 0);
    out.push_back(m.sequence);
    out.push_back(m.status);
    if (m.dodag_id) PutAddr(out, *m.dodag_id);
  }
};

// One option as found on the wire (RFC 6550 §6.7.1): Pad1 has no length byte.
struct Option {
  uint8_t type;
  ByteView data;
};

// Splits `in` into options; kInvalidInput when one overruns. Pad1/PadN are skipped (§6.7.2-3);
// PadN carries at most 5 bytes of padding (§6.7.3).
Result<std::vector<Option>> SplitOptions(ByteView in) {
  std::vector<Option> opts;
  size_t i = 0;
  while (i < in.size()) {
    const uint8_t type = in[i];
    if (type == kOptPad1) {
      ++i;
      continue;
    }
    if (in.size() - i < 2) return Fail(Bad("truncated option header"));
    const size_t len = in[i + 1];
    if (in.size() - i - 2 < len) return Fail(Bad("option overruns the message"));
    if (type == kOptPadN) {
      if (len > 5) return Fail(Bad("PadN longer than 5 bytes (RFC 6550 §6.7.3)"));
    } else {
      opts.push_back({type, in.subspan(i + 2, len)});
    }
    i += 2 + len;
  }
  return opts;
}

Result<RplMessage> DecodeDis(ByteView b) {
  if (b.size() < 2) return Fail(Bad("DIS base truncated"));
  SECPROF_ASSIGN_OR_RETURN(auto opts, SplitOptions(b.subspan(2)));
  // §6.2.1: DIS may carry Solicited Information (0x07); secprof sends none and refuses others.
  if (!opts.empty()) return Fail(Bad("DIS carries an option secprof does not accept"));
  return RplMessage{Dis{b[0]}};
}

Result<RplMessage> DecodeDio(ByteView b) {
  if (b.size() < 24) return Fail(Bad("DIO base truncated"));
  Dio m;
  m.instance_id = b[0];
  m.version = b[1];
  m.rank = GetBig16(b.subspan(2));
  m.grounded = (b[4] & 0x80) != 0;
  if ((b[4] & 0x40) != 0) return Fail(Bad("DIO: the bit after G must be zero (§6.3.1)"));
  m.mop = (b[4] >> 3) & 7;
  m.preference = b[4] & 7;
  m.dtsn = b[5];
  m.flags = b[6];
  m.dodag_id = GetAddr(b.subspan(8));
  SECPROF_ASSIGN_OR_RETURN(auto opts, SplitOptions(b.subspan(24)));
  for (const Option& o : opts) {
    // §6.3.1: DIO options are DAG Metric Container, Routing Information, DODAG Configuration,
    // Prefix Information; secprof interprets only the configuration and refuses the rest.
    if (o.type != kOptDodagConfig) return Fail(Bad("DIO carries an option secprof refuses"));
    if (o.data.size() != 14) return Fail(Bad("DODAG Configuration length is not 14 (§6.7.6)"));
    if (m.config) return Fail(Bad("DIO carries two DODAG Configuration options"));
    m.config = GetConfig(o.data);
  }
  return RplMessage{m};
}

Result<RplMessage> DecodeDao(ByteView b) {
  if (b.size() < 4) return Fail(Bad("DAO base truncated"));
  Dao m;
  m.instance_id = b[0];
  m.ack_requested = (b[1] & 0x80) != 0;
  m.flags = b[1] & 0x3F;
  m.sequence = b[3];
  size_t off = 4;
  if ((b[1] & 0x40) != 0) {
    if (b.size() < 20) return Fail(Bad("DAO DODAGID truncated"));
    m.dodag_id = GetAddr(b.subspan(4));
    off = 20;
  }
  SECPROF_ASSIGN_OR_RETURN(auto opts, SplitOptions(b.subspan(off)));
  for (const Option& o : opts) {
    if (o.type == kOptRplTarget) {
      if (m.transit) return Fail(Bad("RPL Target after the Transit Information option"));
      if (o.data.size() < 2) return Fail(Bad("RPL Target truncated (§6.7.7)"));
      RplTarget t;
      t.prefix_length = o.data[1];
      if (t.prefix_length > 128) return Fail(Bad("RPL Target prefix longer than 128 bits"));
      const size_t need = (t.prefix_length + 7u) / 8u;
      if (o.data.size() - 2 != need) return Fail(Bad("RPL Target length disagrees with prefix"));
      t.prefix.assign(o.data.begin() + 2, o.data.end());
      m.targets.push_back(std::move(t));
    } else if (o.type == kOptTransitInfo) {
      if (m.targets.empty()) return Fail(Bad("Transit Information with no target (§9.4)"));
      if (m.transit) return Fail(Bad("DAO carries two Transit Information options"));
      if (o.data.size() != 4 && o.data.size() != 20) {
        return Fail(Bad("Transit Information length is neither 4 nor 20 (§6.7.8)"));
      }
      TransitInfo ti;
      ti.external = (o.data[0] & 0x80) != 0;
      ti.path_control = o.data[1];
      ti.path_sequence = o.data[2];
      ti.path_lifetime = o.data[3];
      if (o.data.size() == 20) ti.parent = GetAddr(o.data.subspan(4));
      m.transit = ti;
    } else {
      return Fail(Bad("DAO carries an option secprof refuses"));
    }
  }
  return RplMessage{std::move(m)};
}

Result<RplMessage> DecodeDaoAck(ByteView b) {
  if (b.size() < 4) return Fail(Bad("DAO-ACK base truncated"));
  DaoAck m;
  m.instance_id = b[0];
  if ((b[1] & 0x7F) != 0) return Fail(Bad("DAO-ACK reserved bits set (§6.5.1)"));
  m.sequence = b[2];
  m.status = b[3];
  size_t off = 4;
  if ((b[1] & 0x80) != 0) {
    if (b.size() < 20) return Fail(Bad("DAO-ACK DODAGID truncated"));
    m.dodag_id = GetAddr(b.subspan(4));
    off = 20;
  }
  SECPROF_ASSIGN_OR_RETURN(auto opts, SplitOptions(b.subspan(off)));
  if (!opts.empty()) return Fail(Bad("DAO-ACK carries an option secprof refuses"));
  return RplMessage{m};
}

}  // namespace

Bytes EncodeRpl(const RplMessage& m) {
  Encoder e;
  std::visit(e, m);
  return std::move(e.out);
}

Result<RplMessage> DecodeRpl(ByteView wire) {
  if (wire.size() < 4) return Fail(Bad("ICMPv6 header truncated"));
  if (wire[0] != kIcmpv6TypeRpl) return Fail(Bad("ICMPv6 type is not 155"));
  const uint8_t code = wire[1];
  const ByteView body = wire.subspan(4);
  switch (code) {
    case kRplCodeDis:
      return DecodeDis(body);
    case kRplCodeDio:
      return DecodeDio(body);
    case kRplCodeDao:
      return DecodeDao(body);
    case kRplCodeDaoAck:
      return DecodeDaoAck(body);
    case 0x80:
    case 0x81:
    case 0x82:
    case 0x83:
    case 0x8A:
      return Fail(ErrorCode::kUnsupported, "rpl: secure RPL messages (RFC 6550 §6.1) not built");
    default:
      return Fail(Bad("unknown RPL code " + std::to_string(code)));
  }
}

RplTarget TargetFor(const Ipv6Address& a) { return RplTarget{128, Bytes(a.begin(), a.end())}; }

uint16_t Of0Rank(uint16_t parent_rank, uint16_t min_hop_rank_increase, const Of0Params& p) {
  const uint32_t increase =
      (uint32_t{p.rank_factor} * p.step_of_rank + p.stretch_of_rank) * min_hop_rank_increase;
  const uint32_t rank = uint32_t{parent_rank} + increase;
  return rank >= kInfiniteRank ? kInfiniteRank : static_cast<uint16_t>(rank);
}

uint16_t DagRank(uint16_t rank, uint16_t min_hop_rank_increase) {
  return min_hop_rank_increase == 0 ? rank : static_cast<uint16_t>(rank / min_hop_rank_increase);
}

}  // namespace secprof::net

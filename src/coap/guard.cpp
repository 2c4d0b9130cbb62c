// Availability guards of secprof::coap::Server (guard.h; docs/COAP.md "Availability").
#include "guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "secprof/core/bytes.h"
#include "secprof/core/posix.h"

namespace secprof::coap::internal {

namespace {

// RFC 7252 §5.10 / RFC 7959 §2.1, §4: option numbers used here.
constexpr unsigned kOptMaxAge = 14;
constexpr unsigned kOptBlock1 = 27;
constexpr unsigned kOptSize1 = 60;

bool SameSockaddr(const sockaddr_storage& s, const coap_address_t& a) {
  if (s.ss_family == AF_INET && a.addr.sa.sa_family == AF_INET) {
    const auto& x = reinterpret_cast<const sockaddr_in&>(s);
    return x.sin_port == a.addr.sin.sin_port && x.sin_addr.s_addr == a.addr.sin.sin_addr.s_addr;
  }
  if (s.ss_family == AF_INET6 && a.addr.sa.sa_family == AF_INET6) {
    const auto& x = reinterpret_cast<const sockaddr_in6&>(s);
    return x.sin6_port == a.addr.sin6.sin6_port &&
           std::memcmp(&x.sin6_addr, &a.addr.sin6.sin6_addr, sizeof x.sin6_addr) == 0;
  }
  return false;
}

uint16_t PortOf(const coap_address_t& a) {
  return ntohs(a.addr.sa.sa_family == AF_INET6 ? a.addr.sin6.sin6_port : a.addr.sin.sin_port);
}

}  // namespace

Status CheckPortFree(const coap_address_t& addr, const std::string& label) {
  uint16_t port = PortOf(addr);
  if (port == 0) return Ok();  // the kernel picks a free one
  posix::UniqueFd fd(::socket(addr.addr.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return Fail(ErrorCode::kIo, label + ": socket: " + std::strerror(errno));
  // No SO_REUSEADDR: fails if the port is held.
  const int rc = ::bind(fd.get(), &addr.addr.sa, addr.size);
  const int err = errno;
  fd.Reset();
  if (rc == 0) return Ok();
  if (err == EADDRINUSE)
    return Fail(ErrorCode::kIo, label + ": port " + std::to_string(port) +
                                    " is in use (another process or server holds it)");
  return Fail(ErrorCode::kIo,
              label + ": cannot bind port " + std::to_string(port) + ": " + std::strerror(err));
}

Result<int> FindBoundUdpSocket(const coap_address_t& bound) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    const std::string name = entry.path().filename().string();
    char* end = nullptr;
    long fd = std::strtol(name.c_str(), &end, 10);
    if (!end || *end != '\0' || fd < 0) continue;
    std::error_code lec;
    auto target = std::filesystem::read_symlink(entry.path(), lec);
    if (lec || target.string().rfind("socket:", 0) != 0) continue;
    int type = 0;
    socklen_t tl = sizeof type;
    if (::getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_TYPE, &type, &tl) != 0 ||
        type != SOCK_DGRAM)
      continue;
    sockaddr_storage ss{};
    socklen_t sl = sizeof ss;
    if (::getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&ss), &sl) != 0) continue;
    if (SameSockaddr(ss, bound)) return static_cast<int>(fd);
  }
  return Fail(ErrorCode::kInternal, "coap server: the endpoint's UDP socket was not found");
}

std::string AddressOnly(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof buf);
  } else if (sa->sa_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf, sizeof buf);
  }
  return buf;
}

std::string AddressOnly(const coap_address_t& a) { return AddressOnly(&a.addr.sa); }

std::string PeerKey(const sockaddr* sa) {
  uint16_t port =
      ntohs(sa->sa_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port
                                      : reinterpret_cast<const sockaddr_in*>(sa)->sin_port);
  return AddressOnly(sa) + "|" + std::to_string(port);
}

// --- HandshakeGuard --------------------------------------------------------------------------

void HandshakeGuard::OnNew(coap_session_t* s, SteadyTime now) {
  if (coap_session_get_proto(s) != COAP_PROTO_DTLS) return;
  Entry e;
  coap_address_copy(&e.remote, coap_session_get_addr_remote(s));
  e.ifindex = coap_session_get_ifindex(s);
  e.address = AddressOnly(e.remote);
  e.since = now;
  entries_.insert_or_assign(s, std::move(e));
}

bool HandshakeGuard::OnGone(coap_session_t* s, bool connected) {
  if (entries_.erase(s) == 0 || connected) return false;
  return coap_session_get_type(s) == COAP_SESSION_TYPE_SERVER;
}

HandshakeGuard::Closed HandshakeGuard::Enforce(coap_context_t* ctx, SteadyTime now) {
  Closed closed;
  // Half-open handshakes per address, oldest first after sorting.
  std::map<std::string, std::vector<std::pair<SteadyTime, coap_session_t*>>> by_address;
  std::vector<coap_session_t*> victims;
  for (auto it = entries_.begin(); it != entries_.end();) {
    coap_session_t* s = it->first;
    Entry& e = it->second;
    // Only a session libcoap still holds for this peer is ours to look at.
    if (coap_session_get_by_peer(ctx, &e.remote, e.ifindex) != s) {
      ++closed.failed;  // freed by libcoap without an event (never dereferenced here)
      it = entries_.erase(it);
      continue;
    }
    if (coap_session_get_type(s) == COAP_SESSION_TYPE_HELLO) {
      // libcoap has answered its ClientHello (with a HelloVerifyRequest, or by turning it into a
      // handshake session, which is no longer "hello"): nothing in it is needed any more.
      it = entries_.erase(it);
      if (layout_ok_ && ReleaseHello(s)) {
        ++closed.hellos_released;
      } else {
        layout_ok_ = false;
        ++closed.hellos_kept;
      }
      continue;
    }
    if (coap_session_get_type(s) != COAP_SESSION_TYPE_SERVER ||
        coap_session_get_state(s) != COAP_SESSION_STATE_HANDSHAKE) {
      if (coap_session_get_state(s) != COAP_SESSION_STATE_ESTABLISHED) ++closed.failed;  // closing
      it = entries_.erase(it);  // completed, or closing
      continue;
    }
    if (now - e.since >= timeout_) {
      victims.push_back(s);
      ++closed.timed_out;
      it = entries_.erase(it);
      continue;
    }
    by_address[e.address].emplace_back(e.since, s);
    ++it;
  }
  size_t total = 0;
  for (auto& [address, list] : by_address) {
    std::sort(list.begin(), list.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    // newest first: the oldest are at the back, popped below
    while (per_address_ > 0 && list.size() > per_address_) {
      victims.push_back(list.back().second);
      entries_.erase(list.back().second);
      list.pop_back();
      ++closed.per_address;
    }
    total += list.size();
  }
  while (global_ > 0 && total > global_) {
    // The address holding the most; among equals, the one whose oldest is oldest.
    auto busiest = by_address.end();
    for (auto it = by_address.begin(); it != by_address.end(); ++it) {
      if (it->second.empty()) continue;
      if (busiest == by_address.end() || it->second.size() > busiest->second.size() ||
          (it->second.size() == busiest->second.size() &&
           it->second.back().first < busiest->second.back().first))
        busiest = it;
    }
    if (busiest == by_address.end()) break;
    victims.push_back(busiest->second.back().second);
    entries_.erase(busiest->second.back().second);
    busiest->second.pop_back();
    --total;
    ++closed.global;
  }
  half_open_ = total;
  // Closing may call back into the event handler (OnGone): the books are already updated.
  for (coap_session_t* s : victims) coap_session_disconnected(s, COAP_NACK_TLS_FAILED);
  return closed;
}

// --- ReleaseHello ---------------------------------------------------------------------------
//
// libcoap 4.3.1's struct coap_session_t (coap_session_internal.h) begins
//   coap_proto_t proto; coap_session_type_t type; coap_session_state_t state; unsigned ref; ...
// all four int-sized (the three are enums of the public headers). Each is compared with what the
// public getters report before anything is written, and read back after.
namespace {
struct SessionHead {
  int proto;
  int type;
  int state;
  unsigned ref;
};
}  // namespace

bool ReleaseHello(coap_session_t* s) {
  static_assert(sizeof(coap_proto_t) == sizeof(int) && sizeof(coap_session_type_t) == sizeof(int) &&
                sizeof(coap_session_state_t) == sizeof(int));
  SessionHead head;
  std::memcpy(&head, s, sizeof head);
  if (head.proto != static_cast<int>(coap_session_get_proto(s)) ||
      head.type != static_cast<int>(coap_session_get_type(s)) ||
      head.state != static_cast<int>(coap_session_get_state(s)) ||
      head.type != COAP_SESSION_TYPE_HELLO || head.proto != COAP_PROTO_DTLS || head.ref != 0)
    return false;
  SessionHead changed = head;
  changed.type = COAP_SESSION_TYPE_SERVER;
  changed.state = COAP_SESSION_STATE_NONE;
  std::memcpy(s, &changed, sizeof changed);
  if (coap_session_get_type(s) != COAP_SESSION_TYPE_SERVER ||
      coap_session_get_state(s) != COAP_SESSION_STATE_NONE) {
    std::memcpy(s, &head, sizeof head);  // not where we thought: undo
    return false;
  }
  return true;
}

// --- CoAP head parsing and the 4.13 / 5.03 answers (RFC 7252 §3) ------------------------------

std::optional<CoapHead> ParseCoapHead(ByteView d) {
  if (d.size() < 4 || (d[0] >> 6) != 1) return std::nullopt;
  CoapHead h;
  h.type = static_cast<uint8_t>((d[0] >> 4) & 3);
  size_t tkl = d[0] & 0x0f;
  if (tkl > 8 || d.size() < 4 + tkl) return std::nullopt;
  h.code = d[1];
  h.message_id = GetBig16(d.subspan(2));
  h.token.assign(d.begin() + 4, d.begin() + 4 + static_cast<std::ptrdiff_t>(tkl));
  size_t i = 4 + tkl;
  unsigned number = 0;
  auto ext = [&](unsigned nibble, unsigned* out) -> bool {
    if (nibble < 13) {
      *out = nibble;
    } else if (nibble == 13) {
      if (i + 1 > d.size()) return false;
      *out = 13u + d[i];
      i += 1;
    } else if (nibble == 14) {
      if (i + 2 > d.size()) return false;
      *out = 269u + GetBig16(d.subspan(i));
      i += 2;
    } else {
      return false;  // 15 is reserved (RFC 7252 §3.1)
    }
    return true;
  };
  while (i < d.size()) {
    if (d[i] == 0xff) {
      if (i + 1 == d.size()) return std::nullopt;  // marker with no payload: a format error
      h.payload_length = d.size() - i - 1;
      break;
    }
    unsigned delta = 0, len = 0;
    unsigned dn = d[i] >> 4, ln = d[i] & 0x0f;
    ++i;
    if (!ext(dn, &delta) || !ext(ln, &len)) return std::nullopt;
    if (i + len > d.size()) return std::nullopt;
    number += delta;
    uint64_t v = 0;
    if (len <= 8) {
      v = GetBigN(d.subspan(i), len);
    }
    if (number == kOptBlock1) {
      if (len > 3) return std::nullopt;  // RFC 7959 §2.2: 0-3 bytes
      h.has_block1 = true;
      h.block_num = static_cast<uint32_t>(v >> 4);
      h.block_more = (v & 0x8) != 0;
      h.block_szx = static_cast<unsigned>(v & 0x7);
    } else if (number == kOptSize1) {
      if (len > 4) return std::nullopt;  // RFC 7959 §4: uint, 0-4 bytes
      h.size1 = v;
    }
    i += len;
  }
  return h;
}

namespace {

// Appends one option (RFC 7252 §3.1) after option number `*last`.
void PutOption(Bytes& out, unsigned* last, unsigned number, ByteView value) {
  auto nibble = [](size_t x) -> unsigned { return x < 13 ? unsigned(x) : x < 269 ? 13u : 14u; };
  auto extra = [&out](size_t x) {
    if (x >= 269) {
      PutBig16(out, static_cast<uint16_t>(x - 269));
    } else if (x >= 13) {
      out.push_back(static_cast<uint8_t>(x - 13));
    }
  };
  size_t delta = number - *last;
  out.push_back(static_cast<uint8_t>((nibble(delta) << 4) | nibble(value.size())));
  extra(delta);
  extra(value.size());
  for (uint8_t b : value) out.push_back(b);
  *last = number;
}

// A uint option value in the fewest bytes (RFC 7252 §3.2): 0 is the empty string.
Bytes Uint(uint64_t v) {
  Bytes b;
  while (v) {
    b.insert(b.begin(), static_cast<uint8_t>(v & 0xff));
    v >>= 8;
  }
  return b;
}

Bytes Answer(const CoapHead& req, Code code, unsigned option, uint64_t value, uint16_t mid,
             const std::string& diagnostic) {
  Bytes out;
  bool ack = req.type == 0;  // CON request: piggybacked response (RFC 7252 §5.2.1)
  uint8_t type = ack ? 2 : 1;
  out.push_back(static_cast<uint8_t>(0x40 | (type << 4) | req.token.size()));
  out.push_back(code);
  uint16_t m = ack ? req.message_id : mid;
  PutBig16(out, m);
  for (uint8_t b : req.token) out.push_back(b);
  unsigned last = 0;
  Bytes v = Uint(value);
  PutOption(out, &last, option, v);
  out.push_back(0xff);
  for (char c : diagnostic) out.push_back(static_cast<uint8_t>(c));
  return out;
}

}  // namespace

Bytes Encode413(const CoapHead& req, uint64_t limit, uint16_t message_id) {
  return Answer(req, kRequestEntityTooLarge, kOptSize1, limit, message_id,
                "request body larger than " + std::to_string(limit) + " bytes");
}

Bytes Encode503(const CoapHead& req, uint32_t retry_after_s, uint16_t message_id) {
  return Answer(req, kServiceUnavailable, kOptMaxAge, retry_after_s, message_id,
                "too many block-wise requests under way from this address");
}

// --- Block1Guard -----------------------------------------------------------------------------

Block1Guard::Verdict Block1Guard::Inspect(const CoapHead& h, const std::string& address,
                                          uint16_t port, SteadyTime now) {
  // Requests only (class 0, not Empty), with a Block1 option; SZX 7 (BERT, RFC 8323) is not a
  // UDP block size and is left to libcoap.
  if (!h.has_block1 || h.code == 0 || (h.code >> 5) != 0 || h.block_szx == 7) return Verdict::kPass;
  uint64_t offset = uint64_t{h.block_num} << (h.block_szx + 4);
  auto found = transfers_.find(address);
  if ((h.size1 && *h.size1 > limit_) || offset + h.payload_length > limit_) {
    if (found != transfers_.end()) {
      found->second.erase(port);
      if (found->second.empty()) transfers_.erase(found);
    }
    return Verdict::kTooLarge;
  }
  if (transfers_.size() > 4096) {  // forget addresses whose transfers all lapsed
    for (auto it = transfers_.begin(); it != transfers_.end();) {
      std::erase_if(it->second, [&](const auto& p) { return now - p.second > lifetime_; });
      it = it->second.empty() ? transfers_.erase(it) : std::next(it);
    }
    found = transfers_.find(address);
  }
  if (!h.block_more) {  // the last block ends the transfer
    if (found != transfers_.end()) {
      found->second.erase(port);
      if (found->second.empty()) transfers_.erase(found);
    }
    return Verdict::kPass;
  }
  auto& ports = transfers_[address];
  std::erase_if(ports, [&](const auto& p) { return now - p.second > lifetime_; });
  if (!ports.contains(port) && per_address_ > 0 && ports.size() >= per_address_) {
    if (ports.empty()) transfers_.erase(address);
    return Verdict::kBusy;
  }
  ports[port] = now;
  return Verdict::kPass;
}

}  // namespace secprof::coap::internal

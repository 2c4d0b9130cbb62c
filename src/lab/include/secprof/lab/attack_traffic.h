// secprof/lab/attack_traffic.h — an attacker's packets for the lab's floods, the availability tests and the
// benchmark under attack (issue 9, T9): raw UDP sockets bound to any loopback source address
// (127.0.0.2 ...), CoAP requests built byte by byte (RFC 7252 §3), and DTLS 1.2 ClientHellos
// (RFC 6347 §4.2.1, §4.3.2) with and without the server's cookie, so that a test can play a
// sender that no library would let it be: malformed, spoofed, or abandoning its handshake.
// Loopback only. Header-only; used by lab/maintenance/flood.cpp,
// tests/cli/kdc_unauthenticated_cli_test.cpp and
// bench/bench_under_attack.cpp.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace secprof::attack {

using Packet = std::vector<uint8_t>;

// A UDP socket bound to `source` (an IPv4 loopback address, any port), sending to 127.0.0.1.
class UdpSocket {
 public:
  explicit UdpSocket(const std::string& source) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    if (::inet_pton(AF_INET, source.c_str(), &a.sin_addr) != 1 ||
        ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~UdpSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;
  bool ok() const { return fd_ >= 0; }

  bool SendTo(uint16_t port, const Packet& p) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return ::sendto(fd_, p.data(), p.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
           static_cast<ssize_t>(p.size());
  }
  // The next datagram within `timeout`, or nullopt.
  std::optional<Packet> Recv(std::chrono::milliseconds timeout) {
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    Packet buf(2048);
    ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<size_t>(n));
    return buf;
  }

 private:
  int fd_ = -1;
};

// A confirmable CoAP request (RFC 7252 §3): 4-byte header, a 2-byte token, Uri-Path options (one
// per '/'-separated segment), Content-Format, payload marker and payload.
inline Packet CoapRequest(uint8_t code, uint16_t message_id, std::string_view path,
                          const Packet& payload = {}, std::optional<uint16_t> content_format = {}) {
  Packet p = {0x42,
              code,
              static_cast<uint8_t>(message_id >> 8),
              static_cast<uint8_t>(message_id),
              static_cast<uint8_t>(message_id >> 3),
              0x5a};
  unsigned last = 0;
  auto option = [&](unsigned number, const Packet& value) {
    unsigned delta = number - last;
    last = number;
    auto nibble = [](unsigned v) { return v < 13 ? v : v < 269 ? 13u : 14u; };
    p.push_back(static_cast<uint8_t>(nibble(delta) << 4 | nibble(value.size())));
    for (unsigned v : {delta, static_cast<unsigned>(value.size())}) {
      if (v >= 269) {
        p.push_back(static_cast<uint8_t>((v - 269) >> 8));
        p.push_back(static_cast<uint8_t>(v - 269));
      } else if (v >= 13) {
        p.push_back(static_cast<uint8_t>(v - 13));
      }
    }
    p.insert(p.end(), value.begin(), value.end());
  };
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(start, end - start);
    option(11, Packet(seg.begin(), seg.end()));  // Uri-Path
    start = end + 1;
  }
  if (content_format) {
    Packet v;
    if (*content_format > 255) v.push_back(static_cast<uint8_t>(*content_format >> 8));
    if (*content_format) v.push_back(static_cast<uint8_t>(*content_format));
    option(12, v);  // Content-Format
  }
  if (!payload.empty()) {
    p.push_back(0xff);
    p.insert(p.end(), payload.begin(), payload.end());
  }
  return p;
}
inline constexpr uint8_t kCoapPost = 2;

// The response code of a CoAP message (class << 5 | detail), if it is one.
inline std::optional<uint8_t> CoapCode(const Packet& p) {
  if (p.size() < 4 || (p[0] >> 6) != 1) return std::nullopt;
  return p[1];
}

// A DTLS 1.2 ClientHello record (epoch 0, record sequence `seq`) offering
// TLS_PSK_WITH_AES_128_CCM_8 and TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, with `cookie` (empty for the
// first flight) and a client random derived from `random_seed`. ECDHE needs the curves/point-format
// extensions.
inline Packet ClientHello(const Packet& cookie, uint32_t random_seed, uint16_t seq) {
  Packet body = {0xfe, 0xfd};
  for (int i = 0; i < 32; ++i)
    body.push_back(static_cast<uint8_t>(random_seed >> (8 * (i % 4)) ^ i));
  body.push_back(0);  // session id
  body.push_back(static_cast<uint8_t>(cookie.size()));
  body.insert(body.end(), cookie.begin(), cookie.end());
  body.insert(body.end(), {0x00, 0x04, 0xc0, 0xa8, 0xc0, 0xae, 0x01, 0x00});
  // extensions: supported_groups (secp256r1), ec_point_formats (uncompressed),
  // signature_algorithms (ecdsa_secp256r1_sha256)
  Packet ext = {0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x17, 0x00, 0x0b, 0x00,
                0x02, 0x01, 0x00, 0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x03};
  body.push_back(static_cast<uint8_t>(ext.size() >> 8));
  body.push_back(static_cast<uint8_t>(ext.size()));
  body.insert(body.end(), ext.begin(), ext.end());
  auto u24 = [](Packet& v, size_t n) {
    v.insert(v.end(), {uint8_t(n >> 16), uint8_t(n >> 8), uint8_t(n)});
  };
  Packet hs = {0x01};  // client_hello
  u24(hs, body.size());
  hs.push_back(static_cast<uint8_t>(seq >> 8));  // message_seq
  hs.push_back(static_cast<uint8_t>(seq));
  u24(hs, 0);  // fragment_offset
  u24(hs, body.size());
  hs.insert(hs.end(), body.begin(), body.end());
  Packet rec = {0x16,
                0xfe,
                0xfd,
                0,
                0,
                0,
                0,
                0,
                0,
                static_cast<uint8_t>(seq >> 8),
                static_cast<uint8_t>(seq)};
  rec.push_back(static_cast<uint8_t>(hs.size() >> 8));
  rec.push_back(static_cast<uint8_t>(hs.size()));
  rec.insert(rec.end(), hs.begin(), hs.end());
  return rec;
}

// The cookie of a HelloVerifyRequest record (RFC 6347 §4.2.1), if `p` is one.
inline std::optional<Packet> HelloVerifyCookie(const Packet& p) {
  // record header 13, handshake header 12, server_version 2, cookie length 1
  if (p.size() < 28 || p[0] != 0x16 || p[13] != 0x03) return std::nullopt;
  size_t len = p[27];
  if (p.size() < 28 + len) return std::nullopt;
  return Packet(p.begin() + 28, p.begin() + 28 + static_cast<std::ptrdiff_t>(len));
}

}  // namespace secprof::attack

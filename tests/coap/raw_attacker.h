// tests/coap/raw_attacker.h — raw adversaries against a CoAP/DTLS server on loopback (issue 9,
// T9): abandoned DTLS handshakes driven by OpenSSL's own DTLS client, and hand-encoded plain-CoAP
// Block1 requests (RFC 7252 §3, RFC 7959 §2.2, §4). Header-only so benchmarks can use it too.
// Each function opens its own socket bound to `source_ip` (127.0.0.0/8: any address on loopback)
// and closes it before returning.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace secprof::coap::attack {

// A UDP socket bound to source_ip:0 and connected to 127.0.0.1:port; -1 on failure.
inline int ConnectedUdp(const std::string& source_ip, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in src{};
  src.sin_family = AF_INET;
  ::inet_pton(AF_INET, source_ip.c_str(), &src.sin_addr);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline bool Readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

enum class HandshakeStep {
  kClientHelloOnly,  // one ClientHello, no cookie returned: the server keeps no handshake state
  kCookieReturned,   // ClientHello, HelloVerifyRequest, ClientHello with the cookie, ServerHello...
};

// One DTLS 1.2 handshake (RFC 6347 §4.2.1) from source_ip that goes as far as `step` and is
// then abandoned without an alert. OpenSSL writes the ClientHellos into a memory BIO and this
// function carries them as datagrams, so OpenSSL never sees the server's answer to the cookie
// (and cannot end the handshake itself). Offers PSK and ECDHE-ECDSA suites. For kCookieReturned,
// returns true when the server answered the cookie-bearing ClientHello (its ServerHello flight
// arrived, so it holds a handshake session); for kClientHelloOnly, when the ClientHello went out.
inline bool AbandonHandshake(const std::string& source_ip, uint16_t port, HandshakeStep step,
                             int timeout_ms = 3000) {
  int fd = ConnectedUdp(source_ip, port);
  if (fd < 0) return false;
  SSL_CTX* ctx = SSL_CTX_new(DTLS_client_method());
  SSL* ssl = ctx ? SSL_new(ctx) : nullptr;
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  bool ok = false;
  // Sends what OpenSSL wrote as one datagram.
  auto flush = [&]() {
    uint8_t buf[4096];
    int n = BIO_read(out, buf, sizeof buf);
    return n > 0 && ::send(fd, buf, static_cast<size_t>(n), 0) == n;
  };
  if (ssl && in && out) {
    SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION);
    SSL_set_cipher_list(ssl, "PSK:ECDHE-ECDSA-AES128-CCM8:ECDHE-ECDSA-AES128-GCM-SHA256");
    // Without a PSK callback OpenSSL leaves the PSK suites out; it is never reached.
    SSL_set_psk_client_callback(
        ssl,
        [](SSL*, const char*, char*, unsigned, unsigned char*, unsigned) -> unsigned { return 0; });
    SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
    DTLS_set_link_mtu(ssl, 1400);
    SSL_set_bio(ssl, in, out);  // the SSL owns both BIOs from here
    in = out = nullptr;
    SSL_set_connect_state(ssl);
    BIO* rbio = SSL_get_rbio(ssl);
    out = SSL_get_wbio(ssl);
    (void)SSL_do_handshake(ssl);  // ClientHello
    if (flush()) {
      if (step == HandshakeStep::kClientHelloOnly) {
        ok = true;
      } else if (Readable(fd, timeout_ms)) {
        uint8_t buf[2048];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);  // HelloVerifyRequest
        if (n > 0) {
          BIO_write(rbio, buf, static_cast<int>(n));
          (void)SSL_do_handshake(ssl);               // ClientHello with the cookie
          ok = flush() && Readable(fd, timeout_ms);  // the server's ServerHello flight
        }
      }
    }
    out = nullptr;
  }
  if (in) BIO_free(in);
  if (out) BIO_free(out);
  if (ssl) SSL_free(ssl);
  if (ctx) SSL_CTX_free(ctx);
  ::close(fd);
  return ok;
}

// --- plain CoAP, encoded by hand (RFC 7252 §3) ---

inline void PutOption(std::vector<uint8_t>& out, unsigned* last, unsigned number,
                      const std::vector<uint8_t>& value) {
  auto nib = [](unsigned x) { return x < 13 ? x : x < 269 ? 13u : 14u; };
  auto ext = [&out](unsigned x) {
    if (x >= 269) {
      out.push_back(static_cast<uint8_t>((x - 269) >> 8));
      out.push_back(static_cast<uint8_t>(x - 269));
    } else if (x >= 13) {
      out.push_back(static_cast<uint8_t>(x - 13));
    }
  };
  unsigned delta = number - *last;
  unsigned len = static_cast<unsigned>(value.size());
  out.push_back(static_cast<uint8_t>((nib(delta) << 4) | nib(len)));
  ext(delta);
  ext(len);
  for (uint8_t b : value) out.push_back(b);
  *last = number;
}

inline std::vector<uint8_t> UintValue(uint64_t v) {
  std::vector<uint8_t> b;
  for (; v; v >>= 8) b.insert(b.begin(), static_cast<uint8_t>(v));
  return b;
}

// A CON POST to `path` (one segment) carrying Block1 (num, more, szx) and, when given, Size1.
inline std::vector<uint8_t> Block1Post(uint16_t message_id, const std::vector<uint8_t>& token,
                                       const std::string& path, uint32_t num, bool more,
                                       unsigned szx, std::optional<uint64_t> size1,
                                       size_t payload_length) {
  std::vector<uint8_t> out;
  out.push_back(static_cast<uint8_t>(0x40 | token.size()));  // ver 1, CON
  out.push_back(0x02);                                       // 0.02 POST
  out.push_back(static_cast<uint8_t>(message_id >> 8));
  out.push_back(static_cast<uint8_t>(message_id));
  for (uint8_t b : token) out.push_back(b);
  unsigned last = 0;
  PutOption(out, &last, 11, std::vector<uint8_t>(path.begin(), path.end()));  // Uri-Path
  uint32_t block = (num << 4) | (more ? 8u : 0u) | szx;
  PutOption(out, &last, 27, UintValue(block));              // Block1
  if (size1) PutOption(out, &last, 60, UintValue(*size1));  // Size1
  if (payload_length) {
    out.push_back(0xff);
    out.insert(out.end(), payload_length, static_cast<uint8_t>('x'));
  }
  return out;
}

// What the tests read back from a response.
struct RawResponse {
  uint8_t type = 0;
  uint8_t code = 0;
  uint16_t message_id = 0;
  std::vector<uint8_t> token;
  std::optional<uint64_t> size1;
  std::optional<uint32_t> block1;
};

inline std::optional<RawResponse> ParseResponse(const uint8_t* d, size_t n) {
  if (n < 4 || (d[0] >> 6) != 1) return std::nullopt;
  RawResponse r;
  r.type = (d[0] >> 4) & 3;
  size_t tkl = d[0] & 15;
  r.code = d[1];
  r.message_id = static_cast<uint16_t>(d[2] << 8 | d[3]);
  if (n < 4 + tkl) return std::nullopt;
  r.token.assign(d + 4, d + 4 + tkl);
  size_t i = 4 + tkl;
  unsigned number = 0;
  while (i < n && d[i] != 0xff) {
    unsigned delta = d[i] >> 4, len = d[i] & 15;
    ++i;
    auto ext = [&](unsigned* v) {
      if (*v == 13) {
        *v = 13u + d[i++];
      } else if (*v == 14) {
        *v = 269u + (unsigned{d[i]} << 8 | d[i + 1]);
        i += 2;
      }
    };
    ext(&delta);
    ext(&len);
    if (i + len > n) return std::nullopt;
    number += delta;
    uint64_t v = 0;
    for (unsigned k = 0; k < len; ++k) v = v << 8 | d[i + k];
    if (number == 60) r.size1 = v;
    if (number == 27) r.block1 = static_cast<uint32_t>(v);
    i += len;
  }
  return r;
}

// Sends `request` on `fd` and waits for one datagram back.
inline std::optional<RawResponse> Exchange(int fd, const std::vector<uint8_t>& request,
                                           int timeout_ms = 5000) {
  if (::send(fd, request.data(), request.size(), 0) < 0) return std::nullopt;
  if (!Readable(fd, timeout_ms)) return std::nullopt;
  uint8_t buf[2048];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  if (n <= 0) return std::nullopt;
  return ParseResponse(buf, static_cast<size_t>(n));
}

}  // namespace secprof::coap::attack

// Internal to the maintenance/ scenarios: an on-path UDP relay between things and one server
// port (the KDC's DTLS port), for the attacks on firmware delivery that need only to hold back
// datagrams, never to read them (freeze: drop everything; slow retrieval: delay every answer).
// It cannot read or alter DTLS records; it only decides when (and whether) they go on.
//
// Listens on 127.0.0.1 (ephemeral port); each client address gets its own upstream socket, so
// the server sees one peer per client, as without the relay. One thread; the destructor stops
// it. Loopback only; at most kMaxClients clients, further ones are ignored.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>

#include "secprof/core/result.h"

namespace secprof::lab::internal {

class UdpRelay {
 public:
  static constexpr size_t kMaxClients = 16;

  // Relays to 127.0.0.1:`upstream_port`.
  static Result<std::unique_ptr<UdpRelay>> Start(uint16_t upstream_port);
  ~UdpRelay();
  UdpRelay(const UdpRelay&) = delete;
  UdpRelay& operator=(const UdpRelay&) = delete;

  uint16_t port() const { return port_; }
  // Drop every datagram, both ways, from now on (false: relay again).
  void SetDrop(bool drop) { drop_ = drop; }
  // Hold every server-to-client datagram this long before it goes on (0: at once).
  void SetDelay(std::chrono::milliseconds d) { delay_ms_ = d.count(); }

  uint64_t forwarded() const { return forwarded_; }
  uint64_t dropped() const { return dropped_; }
  uint64_t delayed() const { return delayed_; }

 private:
  struct Impl;
  UdpRelay() = default;
  void Loop(std::stop_token st);

  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
  std::atomic<bool> drop_{false};
  std::atomic<int64_t> delay_ms_{0};
  std::atomic<uint64_t> forwarded_{0}, dropped_{0}, delayed_{0};
  std::jthread thread_;  // last: stopped and joined before the rest is destroyed
};

}  // namespace secprof::lab::internal

// src/lab/wire/relay.h — the lab's on-path adversary (brief §5; issue 11 "Adversaries"): a UDP
// relay on 127.0.0.1 that stands between a thing and a server (the KDC, another thing's server),
// records every datagram that crosses it and decides, per datagram, what the network does with it:
// forward, drop, delay, hold (reorder: released later, in any order), rewrite (the policy edits the
// bytes), and replay (a recorded datagram injected again, as is or edited).
//
//   SECPROF_ASSIGN_OR_RETURN(auto relay, Relay::Start({kdc_udp, kdc_dtls}));
//   thing.Install("127.0.0.1", relay->port(0), relay->port(1));   // the thing talks to the relay
//   relay->SetPolicy([](const Datagram& d, Bytes& out) { ... return Decision{}; });
//   auto seen = relay->Capture();
//
// Contracts:
//   - one listening socket per upstream ("link"), bound to 127.0.0.1 on an ephemeral port; each
//     client address seen on a link gets its own upstream socket (a "session"), so the server sees
//     one peer per client, and answers go back to the client that asked (at most kMaxSessions);
//   - one I/O thread (poll loop) started by Start and stopped and joined by the destructor; every
//     socket is closed by its owner (UniqueFd). Other threads use the public methods (a mutex);
//   - the policy runs on the I/O thread for every datagram received from a client or a server
//     (not for injected or released ones); it must not call back into the Relay;
//   - the capture keeps the original bytes as received, the direction, the time since Start and
//     what was done with it (fate); it is bounded (kMaxDatagrams, then further datagrams are
//     forwarded unrecorded and `dropped_records()` counts them);
//   - loopback only: upstreams are ports on 127.0.0.1.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "secprof/core/bytes.h"
#include "secprof/core/posix.h"
#include "secprof/core/result.h"

namespace secprof::lab::wire {

using posix::UniqueFd;
using secprof::Bytes;
using secprof::ByteView;

enum class Direction { kToServer, kToClient };
const char* DirectionName(Direction d);  // "->" / "<-"

// What the relay did with a datagram.
enum class Fate { kForwarded, kDropped, kDelayed, kHeld, kInjected, kReleased };
const char* FateName(Fate f);

struct Datagram {
  size_t index = 0;    // position in the capture
  size_t link = 0;     // which upstream (the order given to Start)
  size_t session = 0;  // which client (first seen first), over all links
  Direction dir = Direction::kToServer;
  std::chrono::microseconds at{0};  // since Start
  Bytes bytes;                      // as received (for kInjected: as sent)
  Fate fate = Fate::kForwarded;
  bool rewritten = false;  // the policy changed the bytes it forwarded
};

struct Decision {
  enum class Action { kForward, kDrop, kDelay, kHold };
  Action action = Action::kForward;
  std::chrono::milliseconds delay{0};  // kDelay
};

// Decides the fate of one datagram; may edit `out` (initially the received bytes), which is what
// is forwarded (also after a delay or a hold).
using Policy = std::function<Decision(const Datagram& d, Bytes& out)>;

class Relay {
 public:
  static constexpr size_t kMaxDatagrams = 4096;
  static constexpr size_t kMaxSessions = 64;

  // One listening port per upstream port (on 127.0.0.1). kIo when a socket cannot be made.
  static Result<std::unique_ptr<Relay>> Start(const std::vector<uint16_t>& upstream_ports);
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // The relay's listening port for upstream `link` (what the thing is pointed at).
  uint16_t port(size_t link) const;
  uint16_t upstream(size_t link) const;

  // Replaces the policy (default: forward everything unchanged). Applies to datagrams received
  // after the call.
  void SetPolicy(Policy p);

  // A copy of the capture so far.
  std::vector<Datagram> Capture() const;
  size_t size() const;
  uint64_t dropped_records() const;

  // Waits until `pred(capture)` holds or `timeout` passes; returns whether it held. Woken on every
  // recorded datagram.
  bool WaitFor(const std::function<bool(const std::vector<Datagram>&)>& pred,
               std::chrono::milliseconds timeout) const;

  // Sends recorded datagram `index` again in its direction on its session (a replay), with
  // `bytes` instead of the recorded ones when given. Recorded as kInjected. kNotFound for an
  // unknown index; kIo when the session is gone or the send fails.
  Status Inject(size_t index, const Bytes* bytes = nullptr);
  // Sends `bytes` on client session `session` in direction `dir` (a datagram the attacker made,
  // or one recorded on another session). Recorded as kInjected. kIo for an unknown session.
  Status Send(size_t session, Direction dir, const Bytes& bytes);
  // Sends a held datagram now (the order of calls is the order of delivery). kNotFound when
  // `index` is not held.
  Status Release(size_t index);
  // Indices of the datagrams held now, in capture order.
  std::vector<size_t> held() const;

 private:
  struct Session {
    size_t id = 0;
    size_t link = 0;
    Bytes client_addr;  // sockaddr_in as received
    UniqueFd up;        // connected to the upstream
  };
  struct Pending {  // a delayed datagram
    std::chrono::steady_clock::time_point due;
    size_t session;
    Direction dir;
    Bytes bytes;
  };
  struct Held {
    size_t session;
    Direction dir;
    Bytes bytes;
  };

  Relay() = default;
  void Loop(std::stop_token st);
  void OnDatagram(size_t session, Direction dir, Bytes bytes);       // I/O thread
  Status SendLocked(size_t session, Direction dir, ByteView bytes);  // REQUIRES mu_
  size_t Record(size_t link, size_t session, Direction dir, const Bytes& bytes, Fate fate,
                bool rewritten);  // REQUIRES mu_; returns the index (or SIZE_MAX if not recorded)

  std::vector<UniqueFd> listeners_;
  std::vector<uint16_t> ports_, upstreams_;
  UniqueFd wake_;  // eventfd: wakes the loop for a stop
  std::chrono::steady_clock::time_point started_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  Policy policy_;
  std::vector<Datagram> capture_;
  uint64_t dropped_records_ = 0;
  std::vector<std::unique_ptr<Session>> sessions_;
  std::vector<Pending> pending_;
  std::map<size_t, Held> held_;
  std::jthread io_;
};

}  // namespace secprof::lab::wire

// secprof::coap::Server: the I/O loop (RunOnce / Serve) with the availability guards around
// libcoap's coap_io_process (docs/COAP.md "Availability"; server_impl.h).
#include <poll.h>
#include <sys/socket.h>

#include "server_impl.h"

namespace secprof::coap {

namespace {

// The Block1 gate (issue 9 item 14): looks at the plain-CoAP datagram libcoap would read next
// (MSG_PEEK) and, when Block1Guard refuses it, takes it off the socket and answers it here, so
// libcoap never sees it and reserves nothing. libcoap reads one datagram per ready endpoint per
// coap_io_process, so each datagram is looked at before libcoap reads it.
void GateUdp(Server::Impl& i, internal::SteadyTime now) {
  sockaddr_storage from{};
  socklen_t fl = sizeof from;
  ssize_t n = ::recvfrom(i.udp_fd, i.peek_buffer.data(), i.peek_buffer.size(),
                         MSG_PEEK | MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fl);
  if (n <= 0) return;
  auto head = internal::ParseCoapHead(ByteView(i.peek_buffer.data(), static_cast<size_t>(n)));
  if (!head) return;
  const auto* sa = reinterpret_cast<const sockaddr*>(&from);
  uint16_t port =
      ntohs(from.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&from)->sin6_port
                                       : reinterpret_cast<const sockaddr_in*>(&from)->sin_port);
  auto verdict = i.block1->Inspect(*head, internal::AddressOnly(sa), port, now);
  if (verdict == internal::Block1Guard::Verdict::kPass) return;
  uint8_t discard;
  (void)::recv(i.udp_fd, &discard, sizeof discard, MSG_DONTWAIT);  // drops the whole datagram
  Bytes answer;
  if (verdict == internal::Block1Guard::Verdict::kTooLarge) {
    answer = internal::Encode413(*head, i.block1->limit(), i.next_message_id++);
    i.blocks_refused.fetch_add(1, std::memory_order_relaxed);
    i.requests_too_large.fetch_add(1, std::memory_order_relaxed);
  } else {
    answer = internal::Encode503(*head, 10, i.next_message_id++);
    i.partial_requests_refused.fetch_add(1, std::memory_order_relaxed);
  }
  if (head->type <= 1)  // CON or NON requests are answered; never answer an ACK or RST
    (void)::sendto(i.udp_fd, answer.data(), answer.size(), MSG_DONTWAIT, sa, fl);
}

// One summary line at most every 10 s while the guards act.
void MaybeLog(Server::Impl& i, internal::SteadyTime now) {
  constexpr auto r = std::memory_order_relaxed;
  std::array<uint64_t, 4> cur{i.handshakes_evicted.load(r), i.handshakes_timed_out.load(r),
                              i.blocks_refused.load(r), i.partial_requests_refused.load(r)};
  if (cur == i.logged || now - i.last_log < std::chrono::seconds(10)) return;
  std::string line =
      "coap server: in the last " +
      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - i.last_log).count()) +
      " s: " + std::to_string(cur[0] - i.logged[0]) +
      " half-open DTLS handshakes closed for the bounds, " + std::to_string(cur[1] - i.logged[1]) +
      " timed out; " + std::to_string(cur[2] - i.logged[2]) + " Block1 requests refused 4.13, " +
      std::to_string(cur[3] - i.logged[3]) + " refused 5.03 (transfers per address)";
  i.logged = cur;
  i.last_log = now;
  try {
    if (i.log) {
      i.log(line);
    } else {
      coap_log(LOG_WARNING, "%s\n", line.c_str());
    }
  } catch (...) {  // a throwing log sink loses the line, nothing else
  }
}

}  // namespace

Status Server::RunOnce(std::chrono::milliseconds timeout) {
  Impl& i = *impl_;
  coap_context_t* ctx = i.ctx.get();
  // Wait on the plain-CoAP socket and on libcoap's epoll descriptor (every socket and libcoap's
  // timer); without epoll, in slices short enough for libcoap's timers.
  pollfd fds[2];
  nfds_t n = 0;
  if (i.udp_fd >= 0) fds[n++] = pollfd{i.udp_fd, POLLIN, 0};
  int epfd = coap_context_get_coap_fd(ctx);
  long wait = std::max<long>(0, static_cast<long>(timeout.count()));
  if (epfd >= 0) {
    fds[n++] = pollfd{epfd, POLLIN, 0};
  } else {
    wait = std::min<long>(wait, 10);
  }
  int ready = ::poll(fds, n, static_cast<int>(wait));
  if (ready < 0 && errno != EINTR) return Fail(ErrorCode::kIo, "coap server: poll failed");
  auto now = std::chrono::steady_clock::now();
  if (i.udp_fd >= 0 && ready > 0 && (fds[0].revents & POLLIN)) GateUdp(i, now);
  if (coap_io_process(ctx, COAP_IO_NO_WAIT) < 0)
    return Fail(ErrorCode::kIo, "coap_io_process failed");
  now = std::chrono::steady_clock::now();
  // Enforce looks every tracked session up in libcoap (a scan of its sessions each): after a
  // session appeared or went, else every 50 ms for the handshake timeout.
  if (!i.handshakes_changed && now - i.last_enforce < std::chrono::milliseconds(50)) {
    MaybeLog(i, now);
    return Ok();
  }
  i.handshakes_changed = false;
  i.last_enforce = now;
  internal::HandshakeGuard::Closed closed = i.handshakes->Enforce(ctx, now);
  i.half_open_handshakes.store(i.handshakes->half_open(), std::memory_order_relaxed);
  i.hello_sessions_released.fetch_add(closed.hellos_released, std::memory_order_relaxed);
  i.hello_sessions_kept.fetch_add(closed.hellos_kept, std::memory_order_relaxed);
  i.handshakes_failed.fetch_add(closed.failed, std::memory_order_relaxed);
  if (closed.total()) {
    i.handshakes_evicted.fetch_add(closed.per_address + closed.global, std::memory_order_relaxed);
    i.handshakes_timed_out.fetch_add(closed.timed_out, std::memory_order_relaxed);
  }
  MaybeLog(i, now);
  return Ok();
}

Status Server::Serve(std::stop_token stop) {
  while (!stop.stop_requested()) SECPROF_TRY(RunOnce(std::chrono::milliseconds(50)));
  return Ok();
}

}  // namespace secprof::coap

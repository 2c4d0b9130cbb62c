// The on-path UDP relay (udp_relay.h).
#include "udp_relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>
#include <deque>
#include <vector>

#include "secprof/core/posix.h"

namespace secprof::lab::internal {

namespace {

using Steady = std::chrono::steady_clock;
using posix::UniqueFd;

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

Result<UniqueFd> BoundSocket() {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return Fail(ErrorCode::kIo, std::string("relay socket: ") + std::strerror(errno));
  sockaddr_in a = Loopback(0);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    return Fail(ErrorCode::kIo, std::string("relay bind: ") + std::strerror(errno));
  return fd;
}

}  // namespace

using posix::UniqueFd;

struct UdpRelay::Impl {
  struct Client {
    sockaddr_in addr{};
    UniqueFd upstream;  // connected to the server
  };
  struct Held {
    Steady::time_point due;
    size_t client;
    std::vector<uint8_t> data;
  };
  UniqueFd listen;
  sockaddr_in server{};
  std::vector<Client> clients;
  std::deque<Held> held;  // server-to-client datagrams waiting for their time
};

Result<std::unique_ptr<UdpRelay>> UdpRelay::Start(uint16_t upstream_port) {
  std::unique_ptr<UdpRelay> r(new UdpRelay());
  r->impl_ = std::make_unique<Impl>();
  SECPROF_ASSIGN_OR_RETURN(r->impl_->listen, BoundSocket());
  r->impl_->server = Loopback(upstream_port);
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (::getsockname(r->impl_->listen.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
    return Fail(ErrorCode::kIo, std::string("relay getsockname: ") + std::strerror(errno));
  r->port_ = ntohs(a.sin_port);
  r->thread_ = std::jthread([raw = r.get()](std::stop_token st) { raw->Loop(st); });
  return r;
}

UdpRelay::~UdpRelay() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

void UdpRelay::Loop(std::stop_token st) {
  Impl& s = *impl_;
  std::vector<uint8_t> buf(65536);
  while (!st.stop_requested()) {
    // Release the held datagrams that are due.
    const auto now = Steady::now();
    while (!s.held.empty() && s.held.front().due <= now) {
      const Impl::Held& h = s.held.front();
      const auto& to = s.clients[h.client].addr;
      if (drop_) {
        ++dropped_;
      } else if (::sendto(s.listen.get(), h.data.data(), h.data.size(), 0,
                          reinterpret_cast<const sockaddr*>(&to), sizeof to) >= 0) {
        ++forwarded_;
      }
      s.held.pop_front();
    }
    std::vector<pollfd> fds{{s.listen.get(), POLLIN, 0}};
    for (const auto& c : s.clients) fds.push_back({c.upstream.get(), POLLIN, 0});
    int wait_ms = 20;  // also how soon a stop request is seen
    if (!s.held.empty()) {
      auto until =
          std::chrono::duration_cast<std::chrono::milliseconds>(s.held.front().due - Steady::now());
      wait_ms = std::max<int>(0, std::min<int>(wait_ms, static_cast<int>(until.count())));
    }
    if (::poll(fds.data(), fds.size(), wait_ms) <= 0) continue;
    // Client to server.
    if (fds[0].revents & POLLIN) {
      sockaddr_in from{};
      socklen_t len = sizeof from;
      ssize_t n = ::recvfrom(s.listen.get(), buf.data(), buf.size(), 0,
                             reinterpret_cast<sockaddr*>(&from), &len);
      if (n >= 0) {
        size_t k = 0;
        while (k < s.clients.size() && !(s.clients[k].addr.sin_port == from.sin_port &&
                                         s.clients[k].addr.sin_addr.s_addr == from.sin_addr.s_addr))
          ++k;
        if (k == s.clients.size() && k < kMaxClients) {
          auto up = BoundSocket();
          if (up && ::connect(up->get(), reinterpret_cast<const sockaddr*>(&s.server),
                              sizeof s.server) == 0)
            s.clients.push_back({from, std::move(*up)});
        }
        if (k < s.clients.size()) {
          if (drop_) {
            ++dropped_;
          } else if (::send(s.clients[k].upstream.get(), buf.data(), static_cast<size_t>(n), 0) >=
                     0) {
            ++forwarded_;
          }
        }
      }
    }
    // Server to client: at once, or held for the delay.
    for (size_t k = 0; k + 1 < fds.size(); ++k) {
      if (!(fds[k + 1].revents & POLLIN)) continue;
      ssize_t n = ::recv(s.clients[k].upstream.get(), buf.data(), buf.size(), 0);
      if (n < 0) continue;
      const int64_t delay = delay_ms_;
      if (drop_) {
        ++dropped_;
        continue;
      }
      if (delay > 0) ++delayed_;
      s.held.push_back({Steady::now() + std::chrono::milliseconds(delay), k,
                        std::vector<uint8_t>(buf.begin(), buf.begin() + n)});
    }
  }
}

}  // namespace secprof::lab::internal

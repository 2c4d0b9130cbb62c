// The maintenance/ group's on-path relay (src/lab/maintenance/udp_relay.h): a client and a server
// on plain loopback UDP sockets, through the relay: datagrams go both ways, are dropped when told,
// and held for the delay when told (the hold is checked as an order of events, never as a time).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "maintenance/udp_relay.h"

namespace secprof::lab::internal {
namespace {

using namespace std::chrono_literals;

// A UDP socket on 127.0.0.1 (ephemeral port).
class Sock {
 public:
  Sock() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len), 0);
    port_ = ntohs(a.sin_port);
  }
  ~Sock() { ::close(fd_); }
  uint16_t port() const { return port_; }
  void SendTo(uint16_t port, const std::string& s) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::sendto(fd_, s.data(), s.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
              static_cast<ssize_t>(s.size()));
  }
  // The next datagram within `wait` and its sender's port.
  std::optional<std::pair<std::string, uint16_t>> Recv(std::chrono::milliseconds wait) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return std::nullopt;
    char buf[2048];
    sockaddr_in from{};
    socklen_t len = sizeof from;
    ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) return std::nullopt;
    return std::pair{std::string(buf, static_cast<size_t>(n)), ntohs(from.sin_port)};
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// Counters move on the relay's thread right after the datagram went on: wait for them (the bound
// only keeps a broken build from hanging).
template <class Pred>
bool Eventually(Pred pred) {
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST(LabUdpRelay, RelaysBothWaysDropsWhenToldAndHoldsAnswers) {
  Sock server, client;
  auto relay = UdpRelay::Start(server.port());
  ASSERT_TRUE(relay.has_value()) << relay.error().message();
  UdpRelay& r = **relay;
  // Client -> relay -> server, and the answer back through the relay.
  client.SendTo(r.port(), "hello");
  auto got = server.Recv(5s);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->first, "hello");
  EXPECT_NE(got->second, client.port());  // the server sees the relay, not the client
  server.SendTo(got->second, "answer");
  auto back = client.Recv(5s);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->first, "answer");
  EXPECT_EQ(back->second, r.port());
  EXPECT_TRUE(Eventually([&] { return r.forwarded() == 2; })) << r.forwarded();
  // Dropped both ways: the server's answer to a dropped request never reaches the client.
  r.SetDrop(true);
  client.SendTo(r.port(), "lost");
  server.SendTo(got->second, "lost too");
  EXPECT_FALSE(client.Recv(300ms).has_value());
  EXPECT_FALSE(server.Recv(0ms).has_value());
  EXPECT_TRUE(Eventually([&] { return r.dropped() == 2; })) << r.dropped();
  // Held: a datagram the server answers is still held when a later client datagram has crossed.
  r.SetDrop(false);
  r.SetDelay(60s);
  server.SendTo(got->second, "held");
  EXPECT_TRUE(Eventually([&] { return r.delayed() == 1; })) << r.delayed();
  client.SendTo(r.port(), "after");
  auto after = server.Recv(5s);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->first, "after");
  EXPECT_FALSE(client.Recv(0ms).has_value());  // read by the relay, not passed on
  // The destructor stops the relay with a datagram still held (nothing leaks, nothing hangs).
}

}  // namespace
}  // namespace secprof::lab::internal

// The lab's on-path UDP relay (relay.h).
#include "relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace secprof::lab::wire {

namespace {

constexpr size_t kMaxDatagram = 65535;

Result<UniqueFd> UdpSocket() {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return Fail(ErrorCode::kIo, std::string("relay: socket: ") + std::strerror(errno));
  return fd;
}

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

Result<uint16_t> BindLoopback(int fd) {
  sockaddr_in a = Loopback(0);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    return Fail(ErrorCode::kIo, std::string("relay: bind: ") + std::strerror(errno));
  socklen_t len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    return Fail(ErrorCode::kIo, std::string("relay: getsockname: ") + std::strerror(errno));
  return ntohs(a.sin_port);
}

}  // namespace

const char* DirectionName(Direction d) { return d == Direction::kToServer ? "->" : "<-"; }

const char* FateName(Fate f) {
  switch (f) {
    case Fate::kForwarded:
      return "forwarded";
    case Fate::kDropped:
      return "dropped";
    case Fate::kDelayed:
      return "delayed";
    case Fate::kHeld:
      return "held";
    case Fate::kInjected:
      return "injected";
    case Fate::kReleased:
      return "released";
  }
  return "forwarded";
}

Result<std::unique_ptr<Relay>> Relay::Start(const std::vector<uint16_t>& upstream_ports) {
  if (upstream_ports.empty()) return Fail(ErrorCode::kInvalidInput, "relay: no upstream port");
  std::unique_ptr<Relay> r(new Relay());
  for (uint16_t up : upstream_ports) {
    if (up == 0) return Fail(ErrorCode::kInvalidInput, "relay: upstream port 0");
    SECPROF_ASSIGN_OR_RETURN(UniqueFd fd, UdpSocket());
    SECPROF_ASSIGN_OR_RETURN(uint16_t port, BindLoopback(fd.get()));
    r->listeners_.push_back(std::move(fd));
    r->ports_.push_back(port);
    r->upstreams_.push_back(up);
  }
  r->wake_ = UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!r->wake_)
    return Fail(ErrorCode::kIo, std::string("relay: eventfd: ") + std::strerror(errno));
  r->started_ = std::chrono::steady_clock::now();
  Relay* self = r.get();
  r->io_ = std::jthread([self](std::stop_token st) { self->Loop(st); });
  return r;
}

Relay::~Relay() {
  if (io_.joinable()) {
    io_.request_stop();
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
    io_.join();
  }
}

uint16_t Relay::port(size_t link) const { return ports_.at(link); }
uint16_t Relay::upstream(size_t link) const { return upstreams_.at(link); }

void Relay::SetPolicy(Policy p) {
  std::lock_guard<std::mutex> l(mu_);
  policy_ = std::move(p);
}

std::vector<Datagram> Relay::Capture() const {
  std::lock_guard<std::mutex> l(mu_);
  return capture_;
}

size_t Relay::size() const {
  std::lock_guard<std::mutex> l(mu_);
  return capture_.size();
}

uint64_t Relay::dropped_records() const {
  std::lock_guard<std::mutex> l(mu_);
  return dropped_records_;
}

bool Relay::WaitFor(const std::function<bool(const std::vector<Datagram>&)>& pred,
                    std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> l(mu_);
  return cv_.wait_for(l, timeout, [&] { return pred(capture_); });
}

size_t Relay::Record(size_t link, size_t session, Direction dir, const Bytes& bytes, Fate fate,
                     bool rewritten) {
  if (capture_.size() >= kMaxDatagrams) {
    ++dropped_records_;
    return SIZE_MAX;
  }
  Datagram d;
  d.index = capture_.size();
  d.link = link;
  d.session = session;
  d.dir = dir;
  d.at = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                               started_);
  d.bytes = bytes;
  d.fate = fate;
  d.rewritten = rewritten;
  capture_.push_back(std::move(d));
  cv_.notify_all();
  return capture_.back().index;
}

Status Relay::SendLocked(size_t session, Direction dir, ByteView bytes) {
  if (session >= sessions_.size()) return Fail(ErrorCode::kIo, "relay: no such session");
  const Session& s = *sessions_[session];
  ssize_t n;
  if (dir == Direction::kToServer) {
    n = ::send(s.up.get(), bytes.data(), bytes.size(), 0);
  } else {
    n = ::sendto(listeners_[s.link].get(), bytes.data(), bytes.size(), 0,
                 reinterpret_cast<const sockaddr*>(s.client_addr.data()),
                 static_cast<socklen_t>(s.client_addr.size()));
  }
  if (n < 0) return Fail(ErrorCode::kIo, std::string("relay: send: ") + std::strerror(errno));
  return Ok();
}

Status Relay::Inject(size_t index, const Bytes* bytes) {
  std::lock_guard<std::mutex> l(mu_);
  if (index >= capture_.size())
    return Fail(ErrorCode::kNotFound, "relay: no datagram " + std::to_string(index));
  const Datagram d = capture_[index];
  const Bytes& out = bytes ? *bytes : d.bytes;
  SECPROF_TRY(SendLocked(d.session, d.dir, out));
  Record(d.link, d.session, d.dir, out, Fate::kInjected, bytes != nullptr);
  return Ok();
}

Status Relay::Send(size_t session, Direction dir, const Bytes& bytes) {
  std::lock_guard<std::mutex> l(mu_);
  SECPROF_TRY(SendLocked(session, dir, bytes));
  Record(sessions_[session]->link, session, dir, bytes, Fate::kInjected, true);
  return Ok();
}

Status Relay::Release(size_t index) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = held_.find(index);
  if (it == held_.end())
    return Fail(ErrorCode::kNotFound, "relay: datagram " + std::to_string(index) + " is not held");
  Held h = std::move(it->second);
  held_.erase(it);
  SECPROF_TRY(SendLocked(h.session, h.dir, h.bytes));
  Record(sessions_[h.session]->link, h.session, h.dir, h.bytes, Fate::kReleased, false);
  return Ok();
}

std::vector<size_t> Relay::held() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<size_t> out;
  for (const auto& [i, h] : held_) out.push_back(i);
  return out;
}

void Relay::OnDatagram(size_t session, Direction dir, Bytes bytes) {
  Policy policy;
  size_t link;
  {
    std::lock_guard<std::mutex> l(mu_);
    policy = policy_;
    link = sessions_[session]->link;
  }
  Datagram view;
  view.index = SIZE_MAX;
  view.link = link;
  view.session = session;
  view.dir = dir;
  view.bytes = bytes;
  Bytes out = bytes;
  Decision dec;
  if (policy) {
    try {
      dec = policy(view, out);
    } catch (...) {
      dec = Decision{};  // a throwing policy forwards unchanged
      out = bytes;
    }
  }
  std::lock_guard<std::mutex> l(mu_);
  const bool rewritten = out != bytes;
  switch (dec.action) {
    case Decision::Action::kForward:
      Record(link, session, dir, bytes, Fate::kForwarded, rewritten);
      (void)SendLocked(session, dir, out);
      break;
    case Decision::Action::kDrop:
      Record(link, session, dir, bytes, Fate::kDropped, false);
      break;
    case Decision::Action::kDelay:
      Record(link, session, dir, bytes, Fate::kDelayed, rewritten);
      pending_.push_back({std::chrono::steady_clock::now() + dec.delay, session, dir, out});
      break;
    case Decision::Action::kHold: {
      size_t i = Record(link, session, dir, bytes, Fate::kHeld, rewritten);
      if (i != SIZE_MAX) held_[i] = Held{session, dir, out};
      break;
    }
  }
}

void Relay::Loop(std::stop_token st) {
  std::vector<uint8_t> buf(kMaxDatagram);
  while (!st.stop_requested()) {
    std::vector<pollfd> fds;
    std::vector<std::pair<int, size_t>> what;  // (0 listener link | 1 session id | 2 wake, n)
    int timeout_ms = 50;
    {
      std::lock_guard<std::mutex> l(mu_);
      fds.push_back({wake_.get(), POLLIN, 0});
      what.push_back({2, 0});
      for (size_t i = 0; i < listeners_.size(); ++i) {
        fds.push_back({listeners_[i].get(), POLLIN, 0});
        what.push_back({0, i});
      }
      for (const auto& s : sessions_) {
        fds.push_back({s->up.get(), POLLIN, 0});
        what.push_back({1, s->id});
      }
      const auto now = std::chrono::steady_clock::now();
      for (const auto& p : pending_) {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(p.due - now).count();
        timeout_ms = std::clamp<int>(static_cast<int>(ms), 0, timeout_ms);
      }
    }
    int n = ::poll(fds.data(), fds.size(), timeout_ms);
    if (n < 0 && errno != EINTR) break;
    // Delayed datagrams that are due.
    {
      std::lock_guard<std::mutex> l(mu_);
      const auto now = std::chrono::steady_clock::now();
      std::vector<Pending> keep;
      for (auto& p : pending_) {
        if (p.due <= now)
          (void)SendLocked(p.session, p.dir, p.bytes);
        else
          keep.push_back(std::move(p));
      }
      pending_ = std::move(keep);
    }
    if (n <= 0) continue;
    for (size_t k = 0; k < fds.size(); ++k) {
      if (!(fds[k].revents & POLLIN)) continue;
      auto [kind, id] = what[k];
      if (kind == 2) {
        uint64_t v;
        (void)!::read(wake_.get(), &v, sizeof v);
        continue;
      }
      // Drain the socket.
      for (;;) {
        sockaddr_in from{};
        socklen_t flen = sizeof from;
        ssize_t got = ::recvfrom(fds[k].fd, buf.data(), buf.size(), 0,
                                 reinterpret_cast<sockaddr*>(&from), &flen);
        if (got < 0) break;
        Bytes bytes(buf.begin(), buf.begin() + got);
        if (kind == 1) {
          OnDatagram(id, Direction::kToClient, std::move(bytes));
          continue;
        }
        // From a client on listener `id`: find or make its session.
        Bytes addr(reinterpret_cast<uint8_t*>(&from), reinterpret_cast<uint8_t*>(&from) + flen);
        size_t session = SIZE_MAX;
        {
          std::lock_guard<std::mutex> l(mu_);
          for (const auto& s : sessions_)
            if (s->link == id && s->client_addr == addr) session = s->id;
          if (session == SIZE_MAX && sessions_.size() < kMaxSessions) {
            auto up = UdpSocket();
            if (up) {
              sockaddr_in to = Loopback(upstreams_[id]);
              if (BindLoopback(up->get()) &&
                  ::connect(up->get(), reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) {
                auto s = std::make_unique<Session>();
                s->id = sessions_.size();
                s->link = id;
                s->client_addr = addr;
                s->up = std::move(*up);
                session = s->id;
                sessions_.push_back(std::move(s));
              }
            }
          }
        }
        if (session != SIZE_MAX) OnDatagram(session, Direction::kToServer, std::move(bytes));
      }
    }
  }
}

}  // namespace secprof::lab::wire

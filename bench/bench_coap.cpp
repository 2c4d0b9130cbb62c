// bench_coap — DTLS-PSK protected CoAP GETs per second against our coap::Server and against
// libcoap's own coap-server-openssl serving a resource of the same size, driven by the same
// client load in the same run; and the memory one established DTLS session costs our server.
//
//   bench_coap [--sizes 16,256,1024,4096] [--seconds S] [--rounds R] [--clients C]
//              [--sessions N] [--coap-server PATH]
//
// Both servers run as child processes on 127.0.0.1, started and stopped (SIGTERM, waitpid) by
// this driver: ours is this executable re-run with --serve (a coap::Server with a DTLS-PSK
// endpoint and one resource "r" of --size bytes), libcoap's is `coap-server-openssl -k <key>`
// whose "example_data" resource is first set to the same bytes with a PUT (its GET then returns
// them). The load is C threads in this process, each with its own coap::Client (its own DTLS-PSK
// session), sending confirmable GETs back to back for S seconds; rounds alternate between the
// two servers and the median round is reported. Payloads that do not fit one message go
// block-wise (RFC 7959) at both servers.
//
// Memory: the --serve child's VmRSS (/proc/<pid>/status) before and after N clients have each
// completed a handshake and one GET and stay connected; (after - before) / N.
//
// A small driver rather than Google Benchmark: it manages child processes and sessions that
// outlive an iteration. Rates are wall-clock on a 2-core machine where the server child and the
// load share the CPUs. Results: docs/PERFORMANCE.md, section "CoAP / DTLS".
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "secprof/coap/coap.h"

namespace {

using namespace secprof;
using bench::Child;
using bench::Median;
using bench::RssKiB;
using bench::SelfPath;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kIdentity = "bench-client";
constexpr const char* kKey = "bench-secret-key";

struct Args {
  std::vector<size_t> sizes{16, 256, 1024, 4096};
  double seconds = 3.0;
  int rounds = 3;
  int clients = 4;
  int sessions = 1000;
  std::string coap_server = "coap-server-openssl";
  // --serve mode (the child)
  bool serve = false;
  size_t size = 0;
  int max_sessions = 0;
};

crypto::SecureBuffer KeyBytes() {
  return crypto::SecureBuffer(
      crypto::ByteView(reinterpret_cast<const uint8_t*>(kKey), std::strlen(kKey)));
}

crypto::Bytes Payload(size_t n) {
  crypto::Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>('a' + i % 26);
  return b;
}

// ---------------------------------------------------------------------------- --serve (child)

std::atomic<bool> g_stop{false};
void OnTerm(int) { g_stop = true; }

int Serve(const Args& a) {
  std::signal(SIGTERM, OnTerm);
  coap::ServerConfig cfg;
  cfg.udp_port.reset();
  cfg.dtls_port = 0;
  cfg.psk = coap::PskServerConfig{
      .hint = "", .key_for_identity = [](std::string_view) -> std::optional<crypto::SecureBuffer> {
        return KeyBytes();
      }};
  cfg.limits.max_idle_sessions = static_cast<unsigned>(std::max(a.max_sessions + 64, 256));
  cfg.limits.max_handshake_sessions = 256;
  auto server = coap::Server::Create(std::move(cfg));
  if (!server) {
    std::fprintf(stderr, "serve: %s\n", server.error().ToString().c_str());
    return 1;
  }
  crypto::Bytes body = Payload(a.size);
  (*server)->AddResource("r", coap::Method::kGet, [&body](const coap::Request&) {
    return coap::Response{.code = coap::kContent,
                          .content_format = coap::content_format::kOctetStream,
                          .payload = body};
  });
  std::printf("PORT %u\n", (*server)->dtls_port());
  std::fflush(stdout);
  while (!g_stop) {
    if (!(*server)->RunOnce(std::chrono::milliseconds(50))) return 1;
  }
  return 0;
}

// ---------------------------------------------------------------------------- child processes

// A UDP port P on 127.0.0.1 with P + 1 free as well (coap-server-openssl -p P listens for DTLS
// on P + 1). Racy by nature; a failed start is retried with another port.
uint16_t FreePortPair() {
  for (int attempt = 0; attempt < 100; ++attempt) {
    int a = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (::bind(a, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        ::getsockname(a, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
      ::close(a);
      continue;
    }
    uint16_t p = ntohs(sa.sin_port);
    ::close(a);
    if (p >= 65534) continue;
    bool ok = true;
    for (uint16_t q : {p, static_cast<uint16_t>(p + 1)}) {
      int s = ::socket(AF_INET, SOCK_DGRAM, 0);
      sockaddr_in sb{};
      sb.sin_family = AF_INET;
      sb.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      sb.sin_port = htons(q);
      ok = ok && ::bind(s, reinterpret_cast<sockaddr*>(&sb), sizeof sb) == 0;
      ::close(s);
    }
    if (ok) return p;
  }
  return 0;
}

coap::ClientConfig PskClient() {
  coap::ClientConfig c;
  c.security = coap::Security::kPsk;
  c.psk_identity = kIdentity;
  c.psk_key = KeyBytes();
  c.timeout = std::chrono::seconds(5);
  return c;
}

// Connects (retrying while the server starts) and checks that "path" returns `size` bytes.
std::unique_ptr<coap::Client> ConnectReady(uint16_t port) {
  auto until = SteadyClock::now() + std::chrono::seconds(10);
  while (SteadyClock::now() < until) {
    coap::ClientConfig c = PskClient();
    c.timeout = std::chrono::milliseconds(500);
    auto client = coap::Client::Connect("127.0.0.1", port, std::move(c));
    if (client) return std::move(*client);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return nullptr;
}

struct Target {
  std::string name;
  uint16_t port = 0;
  std::string path;
};

// CPU seconds (user + system) the process has used, from /proc/<pid>/stat fields 14 and 15.
double CpuSeconds(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');  // the command name may contain spaces
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

struct LoadResult {
  double rate = 0;           // requests per second (wall clock)
  double server_cpu_us = 0;  // server CPU time per request, microseconds
};

// C threads, each with its own session, GETting `path` for `seconds`.
LoadResult Load(const Target& t, pid_t server, size_t size, int clients, double seconds,
                std::string* error) {
  std::atomic<uint64_t> done{0};
  std::atomic<bool> go{false}, stop{false};
  std::atomic<int> ready{0}, failed{0};
  std::vector<std::jthread> threads;
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&] {
      auto c = coap::Client::Connect("127.0.0.1", t.port, PskClient());
      ++ready;
      if (!c) {
        ++failed;
        return;
      }
      while (!go) std::this_thread::yield();
      uint64_t n = 0;
      while (!stop) {
        auto r = (*c)->Get(t.path);
        if (!r || r->code != coap::kContent || r->payload.size() != size) {
          ++failed;
          break;
        }
        ++n;
      }
      done += n;
    });
  }
  while (ready < clients) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  double cpu0 = CpuSeconds(server);
  auto t0 = SteadyClock::now();
  go = true;
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  threads.clear();  // join
  double elapsed = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  double cpu = CpuSeconds(server) - cpu0;
  if (failed) *error = std::to_string(failed.load()) + " client(s) failed";
  LoadResult r;
  r.rate = static_cast<double>(done.load()) / elapsed;
  if (done.load() > 0) r.server_cpu_us = cpu * 1e6 / static_cast<double>(done.load());
  return r;
}

bool StartOurs(Child& child, size_t size, int max_sessions, uint16_t* port) {
  if (!child.Start({SelfPath(), "--serve", "--size", std::to_string(size), "--max-sessions",
                    std::to_string(max_sessions)},
                   Child::Output::kPipe))
    return false;
  std::string line = child.Line();
  if (line.rfind("PORT ", 0) != 0) return false;
  *port = static_cast<uint16_t>(std::stoul(line.substr(5)));
  return true;
}

bool StartLibcoap(Child& child, const std::string& binary, size_t size, uint16_t* port) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    uint16_t p = FreePortPair();
    if (!p) return false;
    if (!child.Start({binary, "-A", "127.0.0.1", "-p", std::to_string(p), "-k", kKey, "-v", "0"},
                     Child::Output::kDiscard))
      return false;
    auto c = ConnectReady(static_cast<uint16_t>(p + 1));
    if (!c) {
      child.Stop();
      continue;
    }
    // Make example_data the same size as ours; its GET then returns these bytes.
    auto r = c->Put("example_data", Payload(size), coap::content_format::kOctetStream);
    auto g = c->Get("example_data");
    if (!r || !g || g->payload.size() != size) {
      std::fprintf(stderr, "coap-server-openssl: example_data PUT/GET of %zu bytes failed\n", size);
      return false;
    }
    *port = static_cast<uint16_t>(p + 1);
    return true;
  }
  return false;
}

std::vector<size_t> ParseSizes(const std::string& s) {
  std::vector<size_t> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::stoul(item));
  return out;
}

int Run(const Args& a) {
  bench::PrintMachine();
  std::printf("bench_coap: %d client thread(s), %.1f s per round, %d rounds (median), DTLS-PSK\n",
              a.clients, a.seconds, a.rounds);
  std::printf(
      "| payload (bytes) | ours (req/s) | coap-server-openssl (req/s) | ours / libcoap | "
      "server CPU per request, ours (us) | libcoap (us) |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|\n");
  for (size_t size : a.sizes) {
    std::vector<double> ours, theirs, ours_cpu, theirs_cpu;
    for (int round = 0; round < a.rounds; ++round) {
      for (int which = 0; which < 2; ++which) {
        Child child;
        Target t;
        bool ok = which == 0 ? StartOurs(child, size, 0, &t.port)
                             : StartLibcoap(child, a.coap_server, size, &t.port);
        if (!ok) {
          std::fprintf(stderr, "cannot start the %s server\n", which == 0 ? "our" : "libcoap's");
          return 1;
        }
        t.path = which == 0 ? "r" : "example_data";
        if (which == 0 && !ConnectReady(t.port)) return 1;
        std::string error;
        LoadResult res = Load(t, child.pid(), size, a.clients, a.seconds, &error);
        if (!error.empty()) {
          std::fprintf(stderr, "%s, %zu bytes: %s\n", which == 0 ? "ours" : "libcoap", size,
                       error.c_str());
          return 1;
        }
        (which == 0 ? ours : theirs).push_back(res.rate);
        (which == 0 ? ours_cpu : theirs_cpu).push_back(res.server_cpu_us);
      }
    }
    double o = Median(ours), l = Median(theirs);
    std::printf("| %zu | %.0f | %.0f | %.2f | %.1f | %.1f |\n", size, o, l, l > 0 ? o / l : 0.0,
                Median(ours_cpu), Median(theirs_cpu));
    std::fflush(stdout);
  }

  // Memory per established session: ours (required), and coap-server-openssl as a reference
  // (same libcoap and OpenSSL underneath).
  for (int which = 0; which < 2; ++which) {
    Child child;
    uint16_t port = 0;
    bool ok = which == 0 ? StartOurs(child, 16, a.sessions, &port)
                         : StartLibcoap(child, a.coap_server, 16, &port);
    if (!ok) return 1;
    const char* path = which == 0 ? "r" : "example_data";
    auto warm = ConnectReady(port);  // the first session pays for one-time allocations
    if (!warm || !warm->Get(path)) return 1;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    long before = RssKiB(child.pid());
    std::vector<std::unique_ptr<coap::Client>> held;
    held.reserve(static_cast<size_t>(a.sessions));
    for (int i = 0; i < a.sessions; ++i) {
      auto c = coap::Client::Connect("127.0.0.1", port, PskClient());
      if (!c || !(*c)->Get(path)) {
        std::fprintf(stderr, "session %d failed\n", i);
        return 1;
      }
      held.push_back(std::move(*c));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    long after = RssKiB(child.pid());
    std::printf(
        "%s, %d established DTLS-PSK sessions: VmRSS %ld KiB -> %ld KiB, %.1f KiB per "
        "session\n",
        which == 0 ? "\nour server" : "coap-server-openssl", a.sessions, before, after,
        static_cast<double>(after - before) / static_cast<double>(a.sessions));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--serve")
      a.serve = true;
    else if (arg == "--size")
      a.size = std::stoul(next());
    else if (arg == "--max-sessions")
      a.max_sessions = std::stoi(next());
    else if (arg == "--sizes")
      a.sizes = ParseSizes(next());
    else if (arg == "--seconds")
      a.seconds = std::stod(next());
    else if (arg == "--rounds")
      a.rounds = std::stoi(next());
    else if (arg == "--clients")
      a.clients = std::stoi(next());
    else if (arg == "--sessions")
      a.sessions = std::stoi(next());
    else if (arg == "--coap-server")
      a.coap_server = next();
    else {
      std::fprintf(stderr,
                   "usage: bench_coap [--sizes 16,256,1024,4096] [--seconds S] [--rounds R] "
                   "[--clients C] [--sessions N] [--coap-server PATH]\n");
      return 2;
    }
  }
  return a.serve ? Serve(a) : Run(a);
}

// bench_under_attack — genuine SecProf_2 things join and report while attackers flood the KDC at
// ten times their rate (issue 9, item 17). Goal: >= 90 % of the genuine operations succeed
// within a thing's normal timeout (thing::AgentOptions: 5 s per request or handshake), the KDC's
// memory and its registry stay bounded.
//
//   bench_under_attack [--things N] [--rate R] [--seconds S] [--factor F] [--sources K]
//                      [--kinds hello,abandon,malformed] [--no-attack]
//
// `secprof kdc` (the binary next to this one's directory) runs as a child process on loopback
// with a fresh registry; N things are manufactured and allowed. Genuine operations, R per second
// in all, from 127.0.0.1, in order: each thing joins (j/nonce + j/psk over plain CoAP, then a
// DTLS-PSK handshake with the PSK and one reading), then things report in turn, each report over
// a new DTLS session (a thing that slept and reconnects: the handshake is what a flood of
// half-open handshakes hurts). Attack traffic, F x R packets per second in all, from K loopback
// addresses 127.0.1.x (src/lab/include/secprof/lab/attack_traffic.h), in equal shares:
//   - spoofed ClientHellos: a first ClientHello from each address, never continued;
//   - abandoned handshakes: ClientHello, the HelloVerifyRequest's cookie echoed in a second
//     ClientHello (the server now holds handshake state), then silence;
//   - malformed joins: not-CBOR j/nonce, j/psk with a made-up nonce and proof.
// Measured: the share of genuine joins and reports that succeeded, their median and worst
// latency, the KDC child's VmRSS (before, peak during, after), the registry's size on disk (db +
// WAL) and audit rows before and after, and the KDC's own statistics line. The same genuine load
// alone runs first (the reference in the same run); --no-attack runs only that. --kinds picks
// the attack traffic (default all three, in equal shares).
//
// A small driver, not Google Benchmark: the load is a schedule over wall time.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../src/lab/include/secprof/lab/attack_traffic.h"
#include "bench_util.h"
#include "secprof/coap/coap.h"
#include "secprof/domain/keys.h"
#include "secprof/domain/protocol.h"
#include "secprof/domain/setup_code.h"
#include "secprof/registry/registry.h"

namespace {

namespace fs = std::filesystem;
using namespace secprof;
using bench::RssKiB;
using bench::Slurp;
using Clock = std::chrono::steady_clock;

struct Args {
  int things = 20;
  double rate = 10;
  int seconds = 20;
  double factor = 10;
  int sources = 32;
  bool attack = true;
  std::vector<int> kinds = {0, 1, 2};  // --kinds hello,abandon,malformed
};

uintmax_t RegistryBytes(const std::string& db) {
  uintmax_t n = 0;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ec;
    auto s = fs::file_size(db + suffix, ec);
    if (!ec) n += s;
  }
  return n;
}

int Run(const std::string& cmd) { return std::system(cmd.c_str()); }

struct Kdc {
  pid_t pid = -1;
  uint16_t udp = 0, dtls = 0;
  ~Kdc() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  bool Start(const std::string& bin, const std::string& db, const fs::path& dir) {
    fs::path ready = dir / "kdc.ready", log = dir / "kdc.log";
    std::vector<std::string> a = {bin,
                                  "kdc",
                                  "--profile",
                                  "SecProf_2",
                                  "--db",
                                  db,
                                  "--listen",
                                  "127.0.0.1:0",
                                  "--join-window",
                                  "0",
                                  "--audit-interval",
                                  "10",
                                  "--ready-file",
                                  ready.string()};
    pid = bench::SpawnLogged(std::move(a), log);
    if (pid < 0) return false;
    for (int i = 0; i < 3000 && !fs::exists(ready); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    unsigned u = 0, d = 0;
    if (std::sscanf(Slurp(ready).c_str(), "udp=%u\ndtls=%u\n", &u, &d) != 2) return false;
    udp = static_cast<uint16_t>(u);
    dtls = static_cast<uint16_t>(d);
    return true;
  }
  std::string Stop(const fs::path& dir) {
    ::kill(pid, SIGTERM);
    ::waitpid(pid, nullptr, 0);
    pid = -1;
    return Slurp(dir / "kdc.log");
  }
};

struct Op {
  bool ok = false;
  double ms = 0;
};

struct Thing {
  std::string serial, code, identity;
  crypto::SecureBuffer psk;
  int64_t counter = 0;  // readings carry an increasing counter (the KDC's clone guard checks it)
};

constexpr auto kTimeout = std::chrono::milliseconds(5000);  // thing::AgentOptions::timeout

bool Report(Thing& t, uint16_t dtls) {
  coap::ClientConfig cc;
  cc.security = coap::Security::kPsk;
  cc.psk_identity = t.identity;
  cc.psk_key = t.psk.Clone();
  cc.timeout = kTimeout;
  auto c = coap::Client::Connect("127.0.0.1", dtls, std::move(cc));
  if (!c) return false;
  auto r = (*c)->Post(domain::path::kReport,
                      domain::Encode(domain::Reading{t.serial, 2100, ++t.counter}),
                      coap::content_format::kCbor);
  return r && r->code == coap::kChanged;
}

// The plain-CoAP join (j/nonce, j/psk); then Report on a first DTLS session.
bool JoinPsk(Thing& t, uint16_t udp) {
  coap::ClientConfig cc;
  cc.timeout = kTimeout;
  auto c = coap::Client::Connect("127.0.0.1", udp, std::move(cc));
  if (!c) return false;
  auto nr = (*c)->Post(domain::path::kJoinNonce, domain::Encode(domain::JoinNonceRequest{t.serial}),
                       coap::content_format::kCbor);
  if (!nr || nr->code != coap::kCreated) return false;
  auto nonce = domain::DecodeJoinNonce(nr->payload);
  if (!nonce) return false;
  auto proof = domain::JoinProof(t.code, t.serial, nonce->nonce);
  if (!proof) return false;
  auto jr = (*c)->Post(domain::path::kJoinPsk,
                       domain::Encode(domain::PskJoinRequest{t.serial, nonce->nonce, *proof}),
                       coap::content_format::kCbor);
  if (!jr || jr->code != coap::kChanged) return false;
  auto resp = domain::DecodePskJoinResponse(jr->payload);
  if (!resp) return false;
  t.identity = resp->identity;
  auto psk = domain::OpenJoinPsk(t.code, t.serial, resp->owner, nonce->nonce, resp->sealed_psk);
  if (!psk) return false;
  t.psk = std::move(*psk);
  return true;
}

// One attacker thread: `rate` packets per second until `stop`, cycling the three kinds.
void Attack(int index, const Args& a, double rate, uint16_t udp, uint16_t dtls,
            std::atomic<bool>& stop, std::atomic<uint64_t>& packets) {
  const int sources = a.sources;
  const auto gap = std::chrono::duration<double>(1.0 / rate);
  auto next = Clock::now();
  uint32_t n = static_cast<uint32_t>(index) * 7919u;
  while (!stop) {
    ++n;
    std::string src = "127.0.1." + std::to_string(1 + (n % static_cast<uint32_t>(sources)));
    attack::UdpSocket s(src);
    if (s.ok()) {
      switch (a.kinds[n % a.kinds.size()]) {
        case 0:  // spoofed ClientHello
          s.SendTo(dtls, attack::ClientHello({}, n, 0));
          ++packets;
          break;
        case 1: {  // abandoned handshake
          s.SendTo(dtls, attack::ClientHello({}, n, 0));
          ++packets;
          auto hv = s.Recv(std::chrono::milliseconds(200));
          if (auto cookie = hv ? attack::HelloVerifyCookie(*hv) : std::nullopt) {
            s.SendTo(dtls, attack::ClientHello(*cookie, n, 1));
            ++packets;
          }
          break;
        }
        default: {  // malformed join
          bool psk = (n / a.kinds.size()) % 2;
          attack::Packet body =
              psk ? domain::Encode(domain::PskJoinRequest{
                        "bulb-000001", crypto::Bytes(16, uint8_t(n)), crypto::Bytes(32, 1)})
                  : attack::Packet{0xff, 0x00, uint8_t(n)};
          s.SendTo(udp, attack::CoapRequest(attack::kCoapPost, static_cast<uint16_t>(n),
                                            psk ? domain::path::kJoinPsk : domain::path::kJoinNonce,
                                            body, coap::content_format::kCbor));
          ++packets;
        }
      }
    }
    next += std::chrono::duration_cast<Clock::duration>(gap);
    std::this_thread::sleep_until(next);
  }
}

struct Outcome {
  int joins_ok = 0, joins = 0, reports_ok = 0, reports = 0;
  int join_coap_failed = 0;  // of the failed joins: those that failed before DTLS
  std::vector<double> ms;
  long rss_before = 0, rss_peak = 0, rss_after = 0;
  uintmax_t reg_before = 0, reg_after = 0;
  int64_t audit_before = 0, audit_after = 0;
  uint64_t attack_packets = 0;
  double wall = 0, attack_seconds = 0;
  std::string stats;
};

int64_t AuditRows(const std::string& db) {
  auto reg = registry::Registry::Open(db);
  if (!reg) return -1;
  auto a = (*reg)->Audit();
  return a ? static_cast<int64_t>(a->size()) : -1;
}

bool RunOnce(const Args& a, bool attack, const std::string& bin, Outcome& res) {
  fs::path dir = fs::temp_directory_path() / ("bench_under_attack." + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string db = (dir / "kdc.db").string(), factory = (dir / "factory").string();
  if (Run(bin + " manufacture --vendor Acme --model Bulb --count " + std::to_string(a.things) +
          " --out " + factory + " > /dev/null") != 0)
    return false;
  Kdc kdc;
  if (!kdc.Start(bin, db, dir)) return false;
  if (Run(bin + " kdc allow --db " + db + " --factory " + factory + " --all > /dev/null") != 0)
    return false;
  std::vector<Thing> things;
  for (const auto& e : fs::directory_iterator(fs::path(factory) / "things")) {
    Thing t;
    t.serial = e.path().filename().string();
    t.code = Slurp(e.path() / "setup-code.txt");
    while (!t.code.empty() && (t.code.back() == '\n' || t.code.back() == '\r')) t.code.pop_back();
    things.push_back(std::move(t));
  }
  std::sort(things.begin(), things.end(), [](auto& x, auto& y) { return x.serial < y.serial; });
  res.rss_before = res.rss_peak = RssKiB(kdc.pid);
  res.reg_before = RegistryBytes(db);
  res.audit_before = AuditRows(db);

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> packets{0};
  std::vector<std::jthread> attackers;
  const int threads = 8;  // an abandoned handshake waits up to 200 ms for its cookie
  const auto attack_start = Clock::now();
  if (attack)
    for (int i = 0; i < threads; ++i)
      attackers.emplace_back(
          [&, i] { Attack(i, a, a.factor * a.rate / threads, kdc.udp, kdc.dtls, stop, packets); });
  std::jthread sampler([&](std::stop_token st) {
    while (!st.stop_requested()) {
      res.rss_peak = std::max(res.rss_peak, RssKiB(kdc.pid));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });

  // Genuine load: one operation every 1/R s, on a pool so a slow one does not delay the schedule.
  const auto t0 = Clock::now();
  const auto gap = std::chrono::duration<double>(1.0 / a.rate);
  std::mutex mu;
  std::vector<std::jthread> ops;
  std::vector<char> joined(things.size(), 0);  // not vector<bool>: threads write neighbours
  std::vector<std::unique_ptr<std::mutex>> thing_mu;
  for (size_t i = 0; i < things.size(); ++i) thing_mu.push_back(std::make_unique<std::mutex>());
  for (int k = 0; Clock::now() - t0 < std::chrono::seconds(a.seconds); ++k) {
    std::this_thread::sleep_until(t0 + std::chrono::duration_cast<Clock::duration>(gap * k));
    size_t i = static_cast<size_t>(k) % things.size();
    ops.emplace_back([&, i] {
      std::lock_guard<std::mutex> tl(*thing_mu[i]);  // a thing does one thing at a time
      bool join = !joined[i];
      auto s = Clock::now();
      bool coap_ok = !join || JoinPsk(things[i], kdc.udp);
      bool ok = coap_ok && Report(things[i], kdc.dtls);
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - s).count();
      std::lock_guard<std::mutex> l(mu);
      if (!coap_ok) ++res.join_coap_failed;
      if (join && ok) joined[i] = true;
      (join ? res.joins : res.reports)++;
      if (ok) (join ? res.joins_ok : res.reports_ok)++;
      res.ms.push_back(ms);
    });
  }
  ops.clear();  // joins every operation
  res.wall = std::chrono::duration<double>(Clock::now() - t0).count();
  stop = true;
  attackers.clear();
  res.attack_seconds = std::chrono::duration<double>(Clock::now() - attack_start).count();
  sampler.request_stop();
  sampler.join();
  res.attack_packets = packets;
  std::this_thread::sleep_for(std::chrono::seconds(1));
  res.rss_after = RssKiB(kdc.pid);
  std::string log = kdc.Stop(dir);
  size_t p = log.find("kdc: stopped");
  res.stats = p == std::string::npos ? log : log.substr(p);
  res.reg_after = RegistryBytes(db);
  res.audit_after = AuditRows(db);
  fs::remove_all(dir);
  return true;
}

void Print(const char* what, const Args& a, Outcome& r) {
  std::sort(r.ms.begin(), r.ms.end());
  double med = r.ms.empty() ? 0 : r.ms[r.ms.size() / 2], worst = r.ms.empty() ? 0 : r.ms.back();
  int ok = r.joins_ok + r.reports_ok, all = r.joins + r.reports;
  std::printf(
      "| %s | %d things, %.0f ops/s, %d s | attack %.0f pkt/s from %d addresses (%llu sent) | "
      "joins %d/%d (%d failed in j/nonce, j/psk) | reports %d/%d | success %.3f (goal >= 0.90) | "
      "median %.1f ms, worst %.0f ms "
      "(timeout %lld ms) | KDC RSS %ld -> peak %ld -> %ld KiB | registry %ju -> %ju bytes, audit "
      "%lld -> %lld rows |\n",
      what, a.things, a.rate, a.seconds, r.attack_packets / std::max(r.attack_seconds, 1e-9),
      a.sources, static_cast<unsigned long long>(r.attack_packets), r.joins_ok, r.joins,
      r.join_coap_failed, r.reports_ok, r.reports, all ? double(ok) / all : 0.0, med, worst,
      static_cast<long long>(kTimeout.count()), r.rss_before, r.rss_peak, r.rss_after, r.reg_before,
      r.reg_after, static_cast<long long>(r.audit_before), static_cast<long long>(r.audit_after));
  std::printf("  %s\n", r.stats.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : "0"; };
    if (f == "--things")
      a.things = std::atoi(next());
    else if (f == "--rate")
      a.rate = std::atof(next());
    else if (f == "--seconds")
      a.seconds = std::atoi(next());
    else if (f == "--factor")
      a.factor = std::atof(next());
    else if (f == "--sources")
      a.sources = std::atoi(next());
    else if (f == "--no-attack")
      a.attack = false;
    else if (f == "--kinds") {
      a.kinds.clear();
      std::string v = next();
      for (const char* k : {"hello", "abandon", "malformed"})
        if (v.find(k) != std::string::npos)
          a.kinds.push_back(k[0] == 'h' ? 0 : k[0] == 'a' ? 1 : 2);
      if (a.kinds.empty()) a.kinds = {0, 1, 2};
    } else {
      std::fprintf(stderr,
                   "usage: bench_under_attack [--things N] [--rate R] [--seconds S] [--factor F] "
                   "[--sources K] [--kinds hello,abandon,malformed] [--no-attack]\n");
      return 2;
    }
  }
  if (a.things < 1 || a.rate <= 0 || a.seconds < 1 || a.sources < 1 || a.sources > 254) {
    std::fprintf(stderr, "bench_under_attack: bad arguments\n");
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  bench::PrintMachine();
  const std::string bin =
      (fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "secprof").string();
  Outcome alone, attacked;
  if (!RunOnce(a, false, bin, alone)) {
    std::fprintf(stderr, "bench_under_attack: setup failed (%s)\n", bin.c_str());
    return 1;
  }
  Print("no attack", a, alone);
  if (a.attack) {
    if (!RunOnce(a, true, bin, attacked)) return 1;
    Print("under attack", a, attacked);
  }
  return 0;
}

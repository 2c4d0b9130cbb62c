// bench_join — joins per second at the KDC with many concurrent things, in SecProf_2 (setup code
// -> PSK over plain CoAP) and SecProf_3 (voucher + IDevID over DTLS with certificates, LDevID
// enrollment), set against the physical limits measured in the same run:
//   - certificates: the public-key operations one join needs at the KDC x the raw P-256 rates
//     (`openssl speed -mr ecdsap256 ecdhp256` run as a child, and raw EVP in this process);
//   - PSK: no public-key operation; the registry's fsync rate (write + fdatasync in the
//     registry's directory) instead.
//
//   bench_join [--things N] [--threads 8,32] [--rounds R] [--profiles 2,3] [--registry disk,tmpfs]
//              [--disk-dir DIR] [--tmpfs-dir DIR] [--speed-seconds S] [--no-speed]
//              [--no-sessions] [--kdc-wrapper "CMD ARGS"]
//
// The KDC runs in a child process (this executable re-run with --serve-kdc: Kdc::Create, then
// Serve on its own thread until SIGTERM), so that its CPU time (/proc/<pid>/task/*/schedstat:
// time on a CPU and time waiting for one, in ns) and its memory (VmRSS) are its own. The things are
// secprof::thing::Agent objects in this process, driven by T threads that take the next
// installed agent and call Join() until none is left. Before timing, once per run: the fleet is
// made with secprof::manufacture (file key stores) in the tmpfs directory; per round: a fresh KDC
// (new registry and domain CA), the owner's work (AllowSetupCode or voucher::Factory::Issue +
// OwnerTools::ImportVoucher), and one agent per thing (Agent::Init from the factory folder, Open,
// Install). Then, timed: every agent joins. Then every joined agent opens its operational DTLS
// session (GoOperational: a handshake with the PSK or the LDevID and one request) and keeps it
// open: the KDC's RSS growth over those sessions, divided by their number, is the memory per
// DTLS session.
//
// Agents' state directories are on tmpfs in every configuration (they stand for the things'
// own flash, not the KDC's disk); the registry is on the disk directory or on tmpfs (--registry).
//
// Columns: joins/s is wall-clock. KDC CPU is the child's time on a CPU (all its threads; only the
// serving thread works); "KDC busy" is that over the wall time, "KDC runq" the time the KDC was
// runnable but waited for a CPU (a shared 2-core machine), "KDC off-CPU" the rest of the wall
// time (blocked in fsync, or idle waiting for datagrams), "fsync ms" one 4 KiB write + fdatasync
// in the registry's directory (probed right before and after the joins, without the probe's own
// wait for a CPU), "things CPU" this process's CPU time (the agents' side of every join, on the
// same machine). "vs limit": SecProf_3, joins per KDC CPU second over the crypto bound;
// SecProf_2 with the registry on disk, joins per second over the fsync rate / 2 commits per
// join. RSS is the KDC child's VmRSS before the joins, after them, and with every thing's
// operational session open; KiB/session = (last - middle) / sessions.
//
// --kdc-wrapper prefixes the KDC child's command line (e.g. "valgrind --tool=callgrind" or
// "perf record -g -o FILE --"), to see what the KDC does per join; figures are then not rates.
//
// A small driver rather than Google Benchmark: a round changes the registry and the things, so
// iterations are not independent. Results: docs/PERFORMANCE.md, "Domain: joins and sessions".
#include <dirent.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "join_probes.h"
#include "secprof/core/clock.h"
#include "secprof/core/fs.h"
#include "secprof/crypto/keys.h"
#include "secprof/identity/identity.h"
#include "secprof/kdc/kdc.h"
#include "secprof/manufacture/manufacture.h"
#include "secprof/thing/agent.h"
#include "secprof/voucher/voucher.h"

namespace {

namespace fs = std::filesystem;
using namespace secprof;
using bench::Child;
using bench::FirstLine;
using bench::Percentile;
using bench::Steady;
using domain::Profile;
using namespace bench::join;

constexpr const char* kVendor = "Bench";
constexpr const char* kModel = "Sensor-1";
constexpr const char* kOwner = "Bench-Owner";

struct Args {
  int things = 512;
  std::vector<int> threads{8, 32};
  int rounds = 3;
  std::vector<int> profiles{2, 3};
  std::vector<std::string> registries{"disk", "tmpfs"};
  std::string disk_dir;  // default: the temporary directory
  std::string tmpfs_dir = "/dev/shm";
  double speed_seconds = 2.0;
  bool speed = true;
  bool sessions = true;
  std::vector<std::string> kdc_wrapper;
  // --serve-kdc (the child)
  bool serve = false;
  int profile = 3;
  std::string db, vendor_ca;
  int max_sessions = 256;
};

std::vector<int> Ints(const std::string& s) {
  std::vector<int> out;
  for (const auto& x : Split(s, ',')) out.push_back(std::atoi(x.c_str()));
  return out;
}

Profile ProfileOf(int n) { return n == 2 ? Profile::kSecProf2 : Profile::kSecProf3; }

// ---------------------------------------------------------------------------- --serve-kdc (child)

int ServeKdc(const Args& a) {
  // SIGTERM is taken with sigwait by this thread; the serving thread inherits the blocked mask.
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &term, nullptr);

  kdc::KdcOptions o;
  o.profile = ProfileOf(a.profile);
  o.db_path = a.db;
  o.owner = kOwner;
  if (!a.vendor_ca.empty()) o.vendor_ca_files = {a.vendor_ca};
  o.join_window = std::chrono::seconds(0);  // always open: rounds outlast no window
  o.require_token_keys = false;  // file-store things: the join cost, not the key protection
  o.kek.allow_file_ca_key = true;
  o.limits.max_handshake_sessions = 256;
  o.limits.max_idle_sessions = static_cast<unsigned>(a.max_sessions);
  auto k = kdc::Kdc::Create(std::move(o));
  if (!k) {
    std::fprintf(stderr, "serve-kdc: %s\n", k.error().ToString().c_str());
    return 1;
  }
  std::printf("PORTS %u %u\n", (*k)->udp_port(), (*k)->dtls_port());
  std::fflush(stdout);
  std::jthread io([&](std::stop_token st) {
    if (auto s = (*k)->Serve(st); !s)
      std::fprintf(stderr, "serve-kdc: %s\n", s.error().ToString().c_str());
  });
  int sig = 0;
  sigwait(&term, &sig);
  io.request_stop();
  io.join();
  const kdc::KdcStats st = (*k)->stats();
  uint64_t refused = 0;
  std::string reasons;
  for (const auto& [why, n] : st.refused) {
    refused += n;
    reasons += " " + why + "=" + std::to_string(n);
  }
  std::printf("STATS %llu %llu %llu %llu%s\n", static_cast<unsigned long long>(st.joins),
              static_cast<unsigned long long>(st.join_repeats),
              static_cast<unsigned long long>(st.requests),
              static_cast<unsigned long long>(refused), reasons.c_str());
  std::fflush(stdout);
  return 0;
}

// ---------------------------------------------------------------------------- the fleet

struct Fleet {
  std::string dir;
  manufacture::Manifest manifest;
};

std::optional<Fleet> MakeFleet(const fs::path& dir, int count) {
  manufacture::Options o;
  o.vendor = kVendor;
  o.model = kModel;
  o.count = count;
  o.out_dir = dir.string();
  auto made = manufacture::Manufacture(o);
  if (!made) {
    std::fprintf(stderr, "manufacture: %s\n", made.error().ToString().c_str());
    return std::nullopt;
  }
  return Fleet{o.out_dir, made->manifest};
}

// ---------------------------------------------------------------------------- one round

struct RoundResult {
  bool ok = false;
  int joins = 0, failed = 0;
  double wall = 0;          // s, all joins
  double kdc_cpu = 0;       // s of KDC CPU during the joins
  double kdc_wait = 0;      // s the KDC was runnable but waited for a CPU
  double fsync_rate = 0;    // fdatasync/s in the registry's directory, probed around the joins
  double things_cpu = 0;    // s of this process's CPU (the things) during the joins
  double p50 = 0, p99 = 0;  // ms per join
  int sessions = 0;         // operational sessions opened and held
  double sess_wall = 0, sess_kdc_cpu = 0;
  long rss_start = 0, rss_joined = 0, rss_sessions = 0;  // KiB
  std::string stats, error;
};

RoundResult Round(const Args& a, const std::string& self, int profile, const Fleet& fleet,
                  const fs::path& registry_dir, const fs::path& things_dir, int threads) {
  RoundResult r;
  const int n = a.things;
  std::error_code ec;
  fs::remove_all(registry_dir, ec);
  fs::remove_all(things_dir, ec);
  fs::create_directories(registry_dir);
  fs::create_directories(things_dir);
  const std::string db = (registry_dir / "kdc.db").string();

  std::vector<std::string> argv = a.kdc_wrapper;
  argv.insert(argv.end(), {self, "--serve-kdc", "--profile", std::to_string(profile), "--db", db,
                           "--max-sessions", std::to_string(n + 64)});
  if (profile != 2) argv.insert(argv.end(), {"--vendor-ca", fleet.dir + "/ca/ca.pem"});
  Child kdc;
  if (!kdc.Start(argv)) {
    r.error = "cannot start the KDC child";
    return r;
  }
  unsigned udp = 0, dtls = 0;
  if (std::sscanf(kdc.Line("PORTS").c_str(), "PORTS %u %u", &udp, &dtls) != 2) {
    r.error = "the KDC child did not start";
    return r;
  }

  // The owner's work and the things' installation: not timed.
  {
    auto owner = kdc::OwnerTools::Open(db);
    if (!owner) {
      r.error = "owner: " + owner.error().ToString();
      return r;
    }
    std::optional<voucher::Factory> factory;
    if (profile != 2) {
      auto f = voucher::Factory::Open(fleet.dir);
      if (!f) {
        r.error = "factory: " + f.error().ToString();
        return r;
      }
      factory.emplace(std::move(*f));
    }
    for (int i = 0; i < n; ++i) {
      const auto& t = fleet.manifest.things[i];
      Status s;
      if (profile == 2) {
        s = (*owner)->AllowSetupCode(t.serial, kVendor, kModel, t.setup_code);
      } else {
        auto v = factory->Issue(t.serial, (*owner)->domain_ca(), kOwner, std::chrono::hours(24),
                                SystemClock());
        s = v ? (*owner)->ImportVoucher(*v, factory->vendor_ca()) : Status(Fail(v.error()));
      }
      if (!s) {
        r.error = "owner: " + s.error().ToString();
        return r;
      }
    }
  }
  std::vector<std::unique_ptr<thing::Agent>> agents;
  for (int i = 0; i < n; ++i) {
    thing::InitOptions io;
    io.state_dir = (things_dir / fleet.manifest.things[i].serial).string();
    io.factory_dir = fleet.dir;
    io.serial = fleet.manifest.things[i].serial;
    io.profile = ProfileOf(profile);
    io.allow_file_keys = true;  // SecProf_3 with file-store things (recorded override)
    thing::AgentOptions ao;
    ao.state_dir = io.state_dir;
    ao.timeout = std::chrono::milliseconds(30000);
    Status s = thing::Agent::Init(io);
    if (s) {
      auto ag = thing::Agent::Open(ao);
      if (ag) {
        s = (*ag)->Install("127.0.0.1", static_cast<uint16_t>(udp), static_cast<uint16_t>(dtls));
        agents.push_back(std::move(*ag));
      } else {
        s = Fail(ag.error());
      }
    }
    if (!s) {
      r.error = "agent: " + s.error().ToString();
      return r;
    }
  }

  // The disk's fsync rate drifts on a shared machine: probed in the registry's directory right
  // before and right after the joins (appending and overwriting; the faster of each pair).
  auto probe = [&] {
    return std::max(FsyncRate(registry_dir.string(), 50, true),
                    FsyncRate(registry_dir.string(), 50, false));
  };
  const double fsync_before = probe();

  // Timed: every thing joins.
  r.rss_start = RssKb(kdc.pid());
  Sched s0 = SchedOf(kdc.pid());
  double c0 = SelfCpu();
  auto t0 = Steady::now();
  std::vector<double> lat = Drive(
      n, threads, [&](int i) { return agents[i]->Join(); }, r.failed, r.error);
  r.wall = std::chrono::duration<double>(Steady::now() - t0).count();
  Sched s1 = SchedOf(kdc.pid());
  r.things_cpu = SelfCpu() - c0;
  r.kdc_cpu = s1.on_cpu - s0.on_cpu;
  r.kdc_wait = s1.waiting - s0.waiting;
  r.joins = static_cast<int>(lat.size());
  r.p50 = Percentile(lat, 0.50);
  r.p99 = Percentile(lat, 0.99);
  r.rss_joined = RssKb(kdc.pid());
  r.fsync_rate = (fsync_before + probe()) / 2;

  // Operational sessions, held open: memory per DTLS session at the KDC.
  if (a.sessions && r.failed == 0) {
    int sfailed = 0;
    std::string serr;
    s0 = SchedOf(kdc.pid());
    t0 = Steady::now();
    auto slat = Drive(
        n, threads, [&](int i) { return agents[i]->GoOperational(); }, sfailed, serr);
    r.sess_wall = std::chrono::duration<double>(Steady::now() - t0).count();
    r.sess_kdc_cpu = SchedOf(kdc.pid()).on_cpu - s0.on_cpu;
    r.sessions = static_cast<int>(slat.size());
    r.rss_sessions = RssKb(kdc.pid());
    if (sfailed && r.error.empty()) r.error = "operational: " + serr;
  }
  kdc.Signal();
  r.stats = kdc.Line("STATS");
  kdc.Stop();
  agents.clear();
  fs::remove_all(things_dir, ec);
  fs::remove_all(registry_dir, ec);
  r.ok = r.failed == 0;
  return r;
}

// ---------------------------------------------------------------------------- main

// Public-key operations the KDC makes per SecProf_3 join. The protocol minimum (what the brief
// counts): the ServerKeyExchange signature, the client's CertificateVerify, the IDevID's signature
// by the vendor CA, one ECDH, the CSR's proof of possession and the LDevID signature.
constexpr int kMinSign = 2, kMinVerify = 3, kMinEcdh = 1;
// What the code does (counted with callgrind on the KDC child, docs/PERFORMANCE.md): besides the
// above, an ephemeral key generation, a full validation of the client's ECDHE share (libssl),
// OpenSSL verifying the KDC's own certificate while it builds the chain to send, the CSR's
// signature and key validated twice (OnEnroll, then IssueLdevid), and the LDevID signature
// verified once made (SignForX509).
constexpr int kCodedSign = 2, kCodedVerify = 6, kCodedEcdh = 1, kCodedKeygen = 1, kCodedCheck = 3;

// The physical limits a round is held against.
struct Limits {
  double crypto_bound = 0;  // SecProf_3 joins per KDC CPU second: kMin* x openssl speed
};

Limits MeasureLimits(const Args& a, const std::string& disk, const std::string& tmpfs) {
  Limits l;
  if (a.speed) {
    const SpeedRates sp = RunOpensslSpeed(a.speed_seconds);
    const RawRates raw = MeasureRaw(std::max(0.5, a.speed_seconds / 2));
    std::printf("== P-256 per CPU second (openssl speed | raw EVP in process)\n");
    std::printf("  ECDSA sign   %9.0f | %9.0f\n", sp.sign, raw.sign);
    std::printf("  ECDSA verify %9.0f | %9.0f\n", sp.verify, raw.verify);
    std::printf("  ECDH derive  %9.0f | %9.0f\n", sp.ecdh, raw.derive);
    std::printf("  keygen       %9s | %9.0f\n", "-", raw.keygen);
    std::printf("  public check %9s | %9.0f   (n*Q = O, the full validation of a peer key)\n", "-",
                raw.public_check);
    auto minimum = [](double s, double v, double e) {
      return 1.0 / (kMinSign / s + kMinVerify / v + kMinEcdh / e);
    };
    l.crypto_bound = minimum(sp.sign, sp.verify, sp.ecdh);
    std::printf(
        "  bound, %d sign + %d verify + %d ECDH per join: %.0f joins/CPU-s (speed), %.0f "
        "(raw)\n",
        kMinSign, kMinVerify, kMinEcdh, l.crypto_bound, minimum(raw.sign, raw.verify, raw.derive));
    std::printf(
        "  as coded, %d sign + %d verify + %d ECDH + %d keygen + %d public check (raw): "
        "%.0f joins/CPU-s\n",
        kCodedSign, kCodedVerify, kCodedEcdh, kCodedKeygen, kCodedCheck,
        1.0 / (kCodedSign / raw.sign + kCodedVerify / raw.verify + kCodedEcdh / raw.derive +
               kCodedKeygen / raw.keygen + kCodedCheck / raw.public_check));
  }
  for (const auto& [name, dir] :
       {std::pair<std::string, std::string>{"disk", disk}, {"tmpfs", tmpfs}}) {
    const int n = name == "disk" ? 200 : 2000;
    const double grow = FsyncRate(dir, n, true), over = FsyncRate(dir, n, false);
    std::printf(
        "== fsync (4 KiB write + fdatasync) in %s (%s): append %.0f/s (%.3f ms), "
        "overwrite %.0f/s (%.3f ms)\n",
        name.c_str(), dir.c_str(), grow, 1000.0 / grow, over, 1000.0 / over);
  }
  std::fflush(stdout);
  return l;
}

// Commits (each one fdatasync of the WAL) the KDC makes per join: SecProf_2 PutNonce,
// ConsumeNonce and Commission; SecProf_3 Commission.
int CommitsPerJoin(int profile) { return profile == 2 ? 2 : 1; }  // PutNonce + Commission

void PrintRow(int profile, const std::string& reg, int threads, int round, const RoundResult& r,
              const Limits& l) {
  // Against the limit: SecProf_3, joins per KDC CPU second / the crypto bound; SecProf_2 on disk,
  // joins per second / (fsync rate / commits per join); SecProf_2 on tmpfs: no physical limit
  // but the CPU.
  std::string vs = "-";
  char buf[64];
  if (profile == 3 && l.crypto_bound > 0) {
    std::snprintf(buf, sizeof(buf), "%.1f %% of crypto",
                  100 * r.joins / r.kdc_cpu / l.crypto_bound);
    vs = buf;
  } else if (profile == 2 && reg == "disk" && r.fsync_rate > 0) {
    std::snprintf(buf, sizeof(buf), "%.0f %% of fsync",
                  100 * (r.joins / r.wall) / (r.fsync_rate / CommitsPerJoin(profile)));
    vs = buf;
  }
  const double per_session_kib =
      r.sessions ? static_cast<double>(r.rss_sessions - r.rss_joined) / r.sessions : 0;
  std::printf(
      "| SecProf_%d | %s | %d | %d | %d | %.2f | %.0f | %.3f | %.0f | %s | %.0f %% | %.3f | "
      "%.3f | %.3f | %.3f | %.1f | %.1f | %d | %.3f | %.1f/%.1f/%.1f | %.1f |\n",
      profile, reg.c_str(), threads, round, r.joins, r.wall, r.joins / r.wall,
      1000 * r.kdc_cpu / r.joins, r.joins / r.kdc_cpu, vs.c_str(), 100 * r.kdc_cpu / r.wall,
      1000 * r.kdc_wait / r.joins, 1000 * std::max(0.0, r.wall - r.kdc_cpu - r.kdc_wait) / r.joins,
      1000 / r.fsync_rate, 1000 * r.things_cpu / r.joins, r.p50, r.p99, r.sessions,
      r.sessions ? 1000 * r.sess_kdc_cpu / r.sessions : 0, r.rss_start / 1024.0,
      r.rss_joined / 1024.0, r.rss_sessions / 1024.0, per_session_kib);
}

int Main(const Args& a, const std::string& self) {
  bench::PrintMachine();

  // Scratch directories, removed at the end.
  const std::string disk_base =
      a.disk_dir.empty() ? fs::temp_directory_path().string() : a.disk_dir;
  const bench::Scratch disk_scratch(disk_base), tmpfs_scratch(a.tmpfs_dir);
  const std::string disk = disk_scratch.path().string(), tmpfs = tmpfs_scratch.path().string();
  if (disk.empty() || tmpfs.empty()) {
    std::fprintf(stderr, "cannot create scratch directories in %s and %s\n", disk_base.c_str(),
                 a.tmpfs_dir.c_str());
    return 1;
  }

  const Limits limits = MeasureLimits(a, disk, tmpfs);

  const auto tf = Steady::now();
  auto fleet = MakeFleet(fs::path(tmpfs) / "factory", a.things);
  if (!fleet) return 1;
  std::printf("== fleet: %d things manufactured in %.1f s (tmpfs, not timed below)\n", a.things,
              std::chrono::duration<double>(Steady::now() - tf).count());
  if (a.speed) {
    auto pem = ReadFile(fleet->dir + "/" + fleet->manifest.things[0].idevid);
    const ParseRates pr = MeasureParsing(pem ? *pem : std::string(), a.speed_seconds / 4);
    std::printf("== decoding per CPU second (OpenSSL 3.0 decoders; not public-key arithmetic)\n");
    std::printf("  d2i_X509 of a P-256 certificate            %9.0f\n", pr.d2i_x509);
    std::printf("  identity::Certificate::FromDer             %9.0f\n", pr.certificate);
    std::printf("  crypto::PublicKey::FromDer (+ n*Q check)   %9.0f\n", pr.public_key);
    std::printf("  PEM_read_bio_PrivateKey (P-256 PKCS#8)     %9.0f\n", pr.pem_private_key);
  }

  std::printf(
      "| profile | registry | threads | round | joins | wall s | joins/s | KDC CPU ms/join | "
      "joins/KDC-CPU-s | vs limit | KDC busy | KDC runq ms/join | KDC off-CPU ms/join | "
      "fsync ms | things CPU ms/join | "
      "p50 ms | p99 ms | sessions | KDC CPU ms/session | RSS MiB start/joined/sessions | "
      "KiB/session |\n");
  std::fflush(stdout);
  int bad = 0;
  for (int profile : a.profiles) {
    for (const auto& reg : a.registries) {
      for (int threads : a.threads) {
        std::vector<RoundResult> done;
        for (int round = 1; round <= a.rounds; ++round) {
          const fs::path regdir = fs::path(reg == "disk" ? disk : tmpfs) / "registry";
          const fs::path things = fs::path(tmpfs) / "things";
          const std::string load = FirstLine("/proc/loadavg");
          RoundResult r = Round(a, self, profile, *fleet, regdir, things, threads);
          if (!r.error.empty()) {
            ++bad;
            std::printf("| SecProf_%d | %s | %d | %d | FAILED (%d of %d joined): %s\n", profile,
                        reg.c_str(), threads, round, r.joins, a.things, r.error.c_str());
          }
          if (r.ok) {
            PrintRow(profile, reg, threads, round, r, limits);
            std::printf("|   load before: %s; KDC %s\n", load.c_str(), r.stats.c_str());
            done.push_back(std::move(r));
          }
          std::fflush(stdout);
        }
        if (done.size() > 1) {
          // The round with the median KDC CPU per join stands for the configuration.
          std::sort(done.begin(), done.end(), [](const RoundResult& x, const RoundResult& y) {
            return x.kdc_cpu / x.joins < y.kdc_cpu / y.joins;
          });
          PrintRow(profile, reg, threads, 0, done[done.size() / 2], limits);
          std::printf("|   (round 0: the median of %zu rounds by KDC CPU per join)\n", done.size());
        }
      }
    }
  }
  return bad ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--things")
      a.things = std::atoi(val().c_str());
    else if (k == "--threads")
      a.threads = Ints(val());
    else if (k == "--rounds")
      a.rounds = std::atoi(val().c_str());
    else if (k == "--profiles")
      a.profiles = Ints(val());
    else if (k == "--registry")
      a.registries = Split(val(), ',');
    else if (k == "--disk-dir")
      a.disk_dir = val();
    else if (k == "--tmpfs-dir")
      a.tmpfs_dir = val();
    else if (k == "--speed-seconds")
      a.speed_seconds = std::atof(val().c_str());
    else if (k == "--no-speed")
      a.speed = false;
    else if (k == "--no-sessions")
      a.sessions = false;
    else if (k == "--kdc-wrapper")
      a.kdc_wrapper = Split(val(), ' ');
    else if (k == "--serve-kdc")
      a.serve = true;
    else if (k == "--profile")
      a.profile = std::atoi(val().c_str());
    else if (k == "--db")
      a.db = val();
    else if (k == "--vendor-ca")
      a.vendor_ca = val();
    else if (k == "--max-sessions")
      a.max_sessions = std::atoi(val().c_str());
    else {
      std::fprintf(stderr,
                   "usage: bench_join [--things N] [--threads 8,32] [--rounds R] [--profiles 2,3]\n"
                   "                  [--registry disk,tmpfs] [--disk-dir DIR] [--tmpfs-dir DIR]\n"
                   "                  [--speed-seconds S] [--no-speed] [--no-sessions]\n"
                   "                  [--kdc-wrapper CMD]\n");
      return 2;
    }
  }
  if (a.serve) return ServeKdc(a);
  for (int p : a.profiles)
    if (p != 2 && p != 3) {
      std::fprintf(stderr, "--profiles: 2 (setup code, PSK) and/or 3 (voucher, certificates)\n");
      return 2;
    }
  if (a.things < 1 || a.threads.empty() || a.rounds < 1) return 2;
  std::signal(SIGPIPE, SIG_IGN);
  const std::string self = bench::SelfPath();
  if (self.empty()) return 1;
  return Main(a, self);
}

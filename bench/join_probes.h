// join_probes.h — what bench_join.cpp measures besides the joins themselves: the KDC child's CPU
// and memory (/proc), this process's CPU, and the physical limits a round is held against (raw
// P-256 rates through EVP and `openssl speed`, the fsync rate of a directory, the cost of parsing
// certificates and keys), plus the thread pool that drives the things. Header-only: every
// bench_*.cpp is its own executable (bench/CMakeLists.txt).
#pragma once

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "secprof/core/result.h"
#include "secprof/crypto/keys.h"
#include "secprof/identity/identity.h"

namespace secprof::bench::join {

inline std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, sep);)
    if (!item.empty()) out.push_back(item);
  return out;
}

// ---------------------------------------------------------------------------- child processes

// CPU time of every thread of `pid`: on a CPU and runnable but waiting for one (ns), from
// /proc/<pid>/task/*/schedstat. With a wrapper (valgrind, strace) the pid is the wrapper's.
struct Sched {
  double on_cpu = 0, waiting = 0;  // seconds
};
inline Sched SchedOf(pid_t pid) {
  Sched s;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::ifstream f(it->path() / "schedstat");
    unsigned long long run = 0, wait = 0;
    if (f >> run >> wait) {
      s.on_cpu += run / 1e9;
      s.waiting += wait / 1e9;
    }
  }
  return s;
}

inline long RssKb(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

inline double SelfCpu() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec +
         u.ru_stime.tv_usec / 1e6;
}

// ---------------------------------------------------------------------------- physical limits

inline double ThreadCpu() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

// Operations per CPU second of `op` (run for about `seconds` of this thread's CPU time).
inline double CpuRate(double seconds, const std::function<bool()>& op) {
  const double start = ThreadCpu();
  long n = 0;
  for (;;) {
    for (int i = 0; i < 16; ++i)
      if (!op()) return -1;
    n += 16;
    const double el = ThreadCpu() - start;
    if (el >= seconds) return n / el;
  }
}

inline EVP_PKEY* NewP256() {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* k = nullptr;
  char group[] = "P-256";
  OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
                    OSSL_PARAM_construct_end()};
  if (EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_CTX_set_params(ctx, p) != 1 ||
      EVP_PKEY_generate(ctx, &k) != 1)
    k = nullptr;
  EVP_PKEY_CTX_free(ctx);
  return k;
}

// P-256 primitives driven through EVP directly, per CPU second: what `openssl speed` does (a
// context prepared once), plus the two operations speed does not time that a TLS server makes
// in every ECDHE handshake: the ephemeral key generation and the peer public-key validation
// (SP 800-56A 5.6.2.3.3: n*Q = O) that libssl requests with EVP_PKEY_derive_set_peer.
struct RawRates {
  double sign = 0, verify = 0, derive = 0, keygen = 0, public_check = 0;
};
inline RawRates MeasureRaw(double seconds) {
  RawRates r;
  EVP_PKEY* a = NewP256();
  EVP_PKEY* b = NewP256();
  if (!a || !b) std::abort();
  unsigned char digest[32];
  for (int i = 0; i < 32; ++i) digest[i] = static_cast<unsigned char>(i * 13 + 5);
  unsigned char sig[80];
  size_t sig_len = sizeof(sig);
  EVP_PKEY_CTX* sctx = EVP_PKEY_CTX_new_from_pkey(nullptr, a, nullptr);
  EVP_PKEY_sign_init(sctx);
  r.sign = CpuRate(seconds, [&] {
    sig_len = sizeof(sig);
    return EVP_PKEY_sign(sctx, sig, &sig_len, digest, sizeof(digest)) == 1;
  });
  EVP_PKEY_verify_init(sctx);
  r.verify = CpuRate(
      seconds, [&] { return EVP_PKEY_verify(sctx, sig, sig_len, digest, sizeof(digest)) == 1; });
  EVP_PKEY_CTX_free(sctx);
  EVP_PKEY_CTX* dctx = EVP_PKEY_CTX_new_from_pkey(nullptr, a, nullptr);
  EVP_PKEY_derive_init(dctx);
  EVP_PKEY_derive_set_peer_ex(dctx, b, 0);
  unsigned char secret[32];
  r.derive = CpuRate(seconds, [&] {
    size_t len = sizeof(secret);
    return EVP_PKEY_derive(dctx, secret, &len) == 1;
  });
  EVP_PKEY_CTX_free(dctx);
  EVP_PKEY_CTX* gctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  char group[] = "P-256";
  OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
                    OSSL_PARAM_construct_end()};
  EVP_PKEY_keygen_init(gctx);
  EVP_PKEY_CTX_set_params(gctx, p);
  r.keygen = CpuRate(seconds, [&] {
    EVP_PKEY* k = nullptr;
    const bool ok = EVP_PKEY_generate(gctx, &k) == 1;
    EVP_PKEY_free(k);
    return ok;
  });
  EVP_PKEY_CTX_free(gctx);
  EVP_PKEY_CTX* cctx = EVP_PKEY_CTX_new_from_pkey(nullptr, b, nullptr);
  r.public_check = CpuRate(seconds, [&] { return EVP_PKEY_public_check(cctx) == 1; });
  EVP_PKEY_CTX_free(cctx);
  EVP_PKEY_free(a);
  EVP_PKEY_free(b);
  return r;
}

// `openssl speed -mr`: "+F4:<n>:256:<sign/s>:<verify/s>" (ecdsap256), "+F5:<n>:256:<ops/s>:..."
// (ecdhp256). Rates per CPU second (speed divides by user CPU time).
struct SpeedRates {
  double sign = 0, verify = 0, ecdh = 0;
};
inline SpeedRates RunOpensslSpeed(double seconds) {
  SpeedRates r;
  char cmd[128];
  std::snprintf(cmd, sizeof(cmd), "openssl speed -seconds %d -mr ecdsap256 ecdhp256 2>/dev/null",
                std::max(1, static_cast<int>(seconds + 0.5)));
  FILE* p = ::popen(cmd, "r");
  if (!p) return r;
  char line[256];
  while (std::fgets(line, sizeof(line), p)) {
    std::vector<std::string> f = Split(line, ':');
    if (f.size() >= 5 && f[0] == "+F4") {
      r.sign = std::atof(f[3].c_str());
      r.verify = std::atof(f[4].c_str());
    } else if (f.size() >= 4 && f[0] == "+F5") {
      r.ecdh = std::atof(f[3].c_str());
    }
  }
  ::pclose(p);
  return r;
}

// Seconds this thread has spent runnable but waiting for a CPU (schedstat run_delay).
inline double RunDelayOfThisThread() {
  std::ifstream f("/proc/self/task/" + std::to_string(::gettid()) + "/schedstat");
  unsigned long long run = 0, wait = 0;
  return f >> run >> wait ? wait / 1e9 : 0;
}

// Durable 4 KiB writes per second in `dir`, each followed by fdatasync, as SQLite's WAL commit
// does (synchronous=FULL syncs the log at every transaction): appended to a growing file (the
// file size changes too: a journal commit of the file system), or overwriting a preallocated one
// (a WAL reused after a checkpoint).
inline double FsyncRate(const std::string& dir, int count, bool append) {
  const std::string path = dir + "/fsync-probe";
  int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_TRUNC, 0600);
  if (fd < 0) return -1;
  char block[4096];
  std::memset(block, 0x5a, sizeof(block));
  bool ok = true;
  if (!append) {
    for (int i = 0; i < count && ok; ++i)
      ok = ::write(fd, block, sizeof(block)) == static_cast<ssize_t>(sizeof(block));
    ok = ok && ::fsync(fd) == 0;
  }
  // On a loaded machine the wall time of a probe also holds the time this thread waited for a
  // CPU after each fdatasync returned: that runqueue delay is taken out.
  const double delay0 = RunDelayOfThisThread();
  const auto start = Steady::now();
  for (int i = 0; i < count && ok; ++i) {
    const off_t at = static_cast<off_t>(i) * static_cast<off_t>(sizeof(block));
    ok = ::pwrite(fd, block, sizeof(block), at) == static_cast<ssize_t>(sizeof(block)) &&
         ::fdatasync(fd) == 0;
  }
  const double el = std::chrono::duration<double>(Steady::now() - start).count() -
                    (RunDelayOfThisThread() - delay0);
  ::close(fd);
  ::unlink(path.c_str());
  return ok ? count / el : -1;
}

// What OpenSSL 3.0 costs to turn bytes into objects, per CPU second: not public-key arithmetic,
// but every X.509 certificate, CSR or key it decodes builds an OSSL_DECODER context for the key
// (openssl/openssl#17950, #19119), and a DTLS server with certificates decodes several per
// handshake. `cert_pem` is a P-256 certificate of the fleet (an IDevID).
struct ParseRates {
  double d2i_x509 = 0, certificate = 0, public_key = 0, pem_private_key = 0;
};
inline ParseRates MeasureParsing(const std::string& cert_pem, double seconds) {
  ParseRates r;
  auto cert = identity::Certificate::FromPem(cert_pem);
  if (!cert) return r;
  const crypto::Bytes der = cert->ToDer();
  const crypto::Bytes spki = cert->public_key_der();
  r.d2i_x509 = CpuRate(seconds, [&] {
    const unsigned char* p = der.data();
    X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
    X509_free(x);
    return x != nullptr;
  });
  r.certificate = CpuRate(seconds, [&] { return identity::Certificate::FromDer(der).has_value(); });
  r.public_key = CpuRate(seconds, [&] { return crypto::PublicKey::FromDer(spki).has_value(); });
  EVP_PKEY* k = NewP256();
  BIO* mem = BIO_new(BIO_s_mem());
  if (!k || !mem || PEM_write_bio_PrivateKey(mem, k, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    std::abort();
  char* data = nullptr;
  const long len = BIO_get_mem_data(mem, &data);
  const std::string key_pem(data, static_cast<size_t>(len));
  BIO_free(mem);
  EVP_PKEY_free(k);
  r.pem_private_key = CpuRate(seconds, [&] {
    BIO* b = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
    EVP_PKEY* pk = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
    BIO_free(b);
    EVP_PKEY_free(pk);
    return pk != nullptr;
  });
  return r;
}

// ---------------------------------------------------------------------------- driving things

// Runs `work(i)` for i in [0, n) on `threads` threads; returns the per-call wall times (ms) of
// successful calls and counts failures (the first failure's message in `error`).
inline std::vector<double> Drive(int n, int threads, const std::function<Status(int)>& work,
                                 int& failed, std::string& error) {
  std::atomic<int> next{0};
  std::mutex mu;
  std::vector<double> lat;
  lat.reserve(n);
  failed = 0;
  {
    std::vector<std::jthread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&] {
        std::vector<double> mine;
        int bad = 0;
        std::string first;
        for (int i; (i = next.fetch_add(1)) < n;) {
          const auto t0 = Steady::now();
          auto s = work(i);
          const double ms = std::chrono::duration<double, std::milli>(Steady::now() - t0).count();
          if (s) {
            mine.push_back(ms);
          } else {
            if (first.empty()) first = s.error().ToString();
            ++bad;
          }
        }
        std::lock_guard<std::mutex> l(mu);
        lat.insert(lat.end(), mine.begin(), mine.end());
        failed += bad;
        if (error.empty()) error = first;
      });
    }
  }
  return lat;
}

}  // namespace secprof::bench::join

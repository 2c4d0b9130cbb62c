// bench_update — firmware verification on the thing: how fast SlotStore::Verify/VerifyFile check
// a large image (SHA-256 of the image + the envelope's signature and checks), against the raw
// SHA-256 rate of the same OpenSSL in the same run:
//   - "raw EVP": EVP_DigestInit_ex/EVP_DigestUpdate(16 KiB)/EVP_DigestFinal_ex over the image in
//     memory, in this process;
//   - "openssl speed": `openssl speed -evp sha256 -bytes 16384 -seconds S -mr`, run as a child
//     and parsed (its rate is per user-CPU second).
// Then the whole install (verify, copy into the inactive slot with fsync, default test boot,
// confirm), which is bounded by the copy and the fsync, for context.
//
//   bench_update [--mib N] [--repeat R] [--speed-seconds S] [--no-speed]
//
// A small driver rather than Google Benchmark: the file variants share one image file and the
// installs change the store. Every figure is the best of R runs, as a rate per CPU second
// (CLOCK_PROCESS_CPUTIME_ID: user + system, so the read(2) copies count) and per wall second.
// The image file is read once before timing, so it is in the page cache: this measures our code
// path, not the disk. Results: docs/PERFORMANCE.md, section "Firmware verification".
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench_util.h"
#include "secprof/crypto/hash.h"
#include "secprof/crypto/keys.h"
#include "secprof/update/install.h"
#include "secprof/update/suit.h"

namespace {

namespace fs = std::filesystem;
using namespace secprof;
using bench::Scratch;

struct Args {
  size_t mib = 64;
  int repeat = 5;
  int speed_seconds = 3;
  bool speed = true;
};

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "bench_update: %s\n", what.c_str());
  std::exit(1);
}

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Timing {
  double cpu = 1e30, wall = 1e30;  // best of the runs
};

Timing Best(int repeat, const std::function<void()>& fn) {
  Timing t;
  for (int i = 0; i < repeat; ++i) {
    const double c0 = bench::ProcessCpuSeconds(), w0 = WallSeconds();
    fn();
    t.cpu = std::min(t.cpu, bench::ProcessCpuSeconds() - c0);
    t.wall = std::min(t.wall, WallSeconds() - w0);
  }
  return t;
}

void Row(const char* what, double bytes, const Timing& t, double reference_cpu_rate,
         const char* note = "") {
  const double cpu_rate = bytes / t.cpu / 1e6, wall_rate = bytes / t.wall / 1e6;
  std::printf("| %-52s | %8.0f | %8.0f | %7.3f | %8.1f | %s\n", what, cpu_rate, wall_rate,
              reference_cpu_rate > 0 ? cpu_rate / reference_cpu_rate : 0.0, t.wall * 1e3, note);
}

// `openssl speed -evp sha256 -bytes 16384 -seconds S -mr`: the "+F:<n>:sha256:<bytes/s>" line.
double OpensslSpeedSha256(int seconds) {
  const std::string cmd = "openssl speed -evp sha256 -bytes 16384 -seconds " +
                          std::to_string(seconds) + " -mr 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return 0;
  char line[512];
  double rate = 0;
  while (std::fgets(line, sizeof line, p)) {
    if (std::strncmp(line, "+F:", 3) != 0) continue;
    const char* last = std::strrchr(line, ':');
    if (last) rate = std::strtod(last + 1, nullptr);
  }
  ::pclose(p);
  return rate / 1e6;  // MB/s
}

// Raw EVP SHA-256 over `data` in 16 KiB updates (what `openssl speed -bytes 16384` feeds).
void RawEvpSha256(const std::vector<uint8_t>& data) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) Die("EVP init");
  constexpr size_t kChunk = 16384;
  for (size_t off = 0; off < data.size(); off += kChunk)
    if (EVP_DigestUpdate(ctx.get(), data.data() + off, std::min(kChunk, data.size() - off)) != 1)
      Die("EVP update");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), md, &len) != 1) Die("EVP final");
}

// Raw EVP SHA-256 over the whole file mapped at once (MAP_POPULATE), in 16 KiB updates: the
// floor for hashing that file's page cache, with no secprof code involved.
void RawEvpSha256File(const fs::path& path, size_t size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) Die("open " + path.string());
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) Die("mmap " + path.string());
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) Die("EVP init");
  const auto* b = static_cast<const uint8_t*>(p);
  constexpr size_t kChunk = 16384;
  for (size_t off = 0; off < size; off += kChunk)
    if (EVP_DigestUpdate(ctx.get(), b + off, std::min(kChunk, size - off)) != 1) Die("EVP update");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), md, &len) != 1) Die("EVP final");
  ::munmap(p, size);
}

cose::Key VendorKey() {
  std::vector<uint8_t> d(32, 0x11);
  d[0] = 0x01;
  auto sk = crypto::PrivateKey::FromRaw(crypto::KeyType::kP256, d);
  if (!sk) Die(sk.error().ToString());
  auto k = cose::KeyFromPrivate(std::move(*sk));
  if (!k) Die(k.error().ToString());
  return *k;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    if (s == "--mib" && i + 1 < argc)
      a.mib = static_cast<size_t>(std::atol(argv[++i]));
    else if (s == "--repeat" && i + 1 < argc)
      a.repeat = std::atoi(argv[++i]);
    else if (s == "--speed-seconds" && i + 1 < argc)
      a.speed_seconds = std::atoi(argv[++i]);
    else if (s == "--no-speed")
      a.speed = false;
    else {
      std::fprintf(stderr,
                   "usage: bench_update [--mib N] [--repeat R] [--speed-seconds S] [--no-speed]\n");
      return 2;
    }
  }
  if (a.mib == 0 || a.repeat <= 0) Die("--mib and --repeat must be positive");
  bench::PrintMachine();

  Scratch dir;
  const size_t size = a.mib << 20;
  std::vector<uint8_t> image(size);
  uint64_t x = 0x9e3779b97f4a7c15ull;  // xorshift: incompressible enough, and fast to make
  for (size_t i = 0; i < size; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(image.data() + i, &x, std::min<size_t>(8, size - i));
  }
  // The image as a file: written in one write(2), and in 1 KiB and 64 KiB write(2)s, as a
  // download lands when each CoAP block (RFC 7959) is written as it arrives, or when blocks are
  // buffered first. How a file was written decides the size of its page-cache folios, and so
  // the kernel's cost of mapping (or copying) it; see docs/PERFORMANCE.md.
  auto write_in_blocks = [&](const char* name, size_t block) {
    const fs::path p = dir.path() / name;
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) Die("cannot write " + p.string());
    for (size_t off = 0; off < size; off += block) {
      const size_t len = std::min(block, size - off);
      for (size_t done = 0; done < len;) {
        const ssize_t n = ::write(fd, image.data() + off + done, len - done);
        if (n <= 0) Die("cannot write " + p.string());
        done += static_cast<size_t>(n);
      }
    }
    ::close(fd);
    return p;
  };
  const fs::path img_path = write_in_blocks("fw.bin", size);  // one write(2)
  const fs::path blocks1k_path = write_in_blocks("fw-1k.bin", 1024);
  const fs::path blocks64k_path = write_in_blocks("fw-64k.bin", 64u << 10);

  const cose::Key key = VendorKey();
  update::CreateParams cp;
  cp.vendor_id = *update::ParseUuid("fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe");
  cp.class_id = *update::ParseUuid("1492af14-2569-5e48-bf42-9b2d51f2ab45");
  auto digest = update::DigestFile(img_path.string());  // also warms the page cache
  if (!digest) Die(digest.error().ToString());
  auto envelope_for = [&](uint64_t seq) {
    cp.sequence_number = seq;
    auto e = update::CreateEnvelopeForDigest(digest->first, digest->second, cp, key);
    if (!e) Die(e.error().ToString());
    return *e;
  };
  const std::vector<uint8_t> env = envelope_for(2);

  update::InstallIdentity id;
  id.vendor_id = cp.vendor_id;
  id.class_id = cp.class_id;
  id.vendor_key = *cose::KeyFromPublic(*key.public_key);
  auto open = [&](update::FileReads mode, size_t chunk, const std::string& sub) {
    update::InstallOptions opt;
    opt.file_reads = mode;
    (mode == update::FileReads::kMmap ? opt.map_window : opt.read_chunk) = chunk;
    auto s = update::SlotStore::Open((dir.path() / sub).string(), id, opt);
    if (!s) Die(s.error().ToString());
    if (!s->initialized()) {
      auto st = s->Initialize(std::vector<uint8_t>(4096, 0), 1);
      if (!st) Die(st.error().ToString());
    }
    return std::move(*s);
  };

  std::printf("image: %zu MiB (%zu bytes), page cache warm; best of %d runs\n", a.mib, size,
              a.repeat);
  double speed_rate = 0;
  if (a.speed) {
    std::printf("running openssl speed -evp sha256 -bytes 16384 -seconds %d -mr ...\n",
                a.speed_seconds);
    speed_rate = OpensslSpeedSha256(a.speed_seconds);
  }
  const Timing raw = Best(a.repeat, [&] { RawEvpSha256(image); });
  const double raw_rate = static_cast<double>(size) / raw.cpu / 1e6;

  std::printf("\n| %-52s | %8s | %8s | %7s | %8s |\n", "operation", "MB/s cpu", "MB/s wall",
              "vs raw", "ms wall");
  std::printf("|%s|%s|%s|%s|%s|\n", std::string(54, '-').c_str(), std::string(10, '-').c_str(),
              std::string(10, '-').c_str(), std::string(9, '-').c_str(),
              std::string(10, '-').c_str());
  if (speed_rate > 0) {
    std::printf("| %-52s | %8.0f | %8s | %7.3f | %8s | user CPU\n",
                "openssl speed -evp sha256 -bytes 16384", speed_rate, "-", speed_rate / raw_rate,
                "-");
  }
  Row("raw EVP SHA-256, in memory, 16 KiB updates", static_cast<double>(size), raw, raw_rate);
  Row("crypto::Sha256Hasher, in memory, 1 MiB updates", static_cast<double>(size),
      Best(
          a.repeat,
          [&] {
            auto h = crypto::Sha256Hasher::Create();
            for (size_t off = 0; off < size; off += 1u << 20)
              if (!h->Update(std::span(image).subspan(off, std::min<size_t>(1u << 20, size - off))))
                Die("update");
            if (!h->Finish()) Die("finish");
          }),
      raw_rate);
  {
    update::SlotStore s = open(update::FileReads::kMmap, 1u << 20, "mem");
    Row("SlotStore::Verify, image in memory", static_cast<double>(size),
        Best(a.repeat,
             [&] {
               auto v = s.Verify(env, image);
               if (!v) Die(v.error().ToString());
             }),
        raw_rate, "digest + signature + checks");
  }
  auto size_name = [](size_t n) {
    return n >= (1u << 20) ? std::to_string(n >> 20) + " MiB" : std::to_string(n >> 10) + " KiB";
  };
  const update::InstallOptions defaults;
  struct Variant {
    update::FileReads mode;
    size_t chunk;
  };
  auto verify_file = [&](Variant v, const fs::path& path, const char* file_note) {
    update::SlotStore s =
        open(v.mode, v.chunk,
             "file-" + std::to_string(static_cast<int>(v.mode)) + "-" + std::to_string(v.chunk));
    const bool is_default = v.mode == defaults.file_reads && v.chunk == defaults.map_window;
    const std::string what =
        "VerifyFile, " +
        std::string(v.mode == update::FileReads::kMmap ? "mmap windows of " : "read(2) of ") +
        size_name(v.chunk) + (is_default ? " (default)" : "");
    Row(what.c_str(), static_cast<double>(size),
        Best(a.repeat,
             [&] {
               auto r = s.VerifyFile(env, path.string());
               if (!r) Die(r.error().ToString());
             }),
        raw_rate, file_note);
  };
  for (Variant v : {Variant{update::FileReads::kRead, size_t{64} << 10},
                    Variant{update::FileReads::kRead, size_t{1} << 20},
                    Variant{update::FileReads::kRead, size_t{4} << 20},
                    Variant{update::FileReads::kMmap, size_t{1} << 20},
                    Variant{update::FileReads::kMmap, size_t{4} << 20},
                    Variant{update::FileReads::kMmap, size_t{16} << 20},
                    Variant{update::FileReads::kMmap, size_t{64} << 20}})
    verify_file(v, img_path, "file written in one write(2)");
  Row("raw EVP SHA-256 over the same file, mmap, 16 KiB updates", static_cast<double>(size),
      Best(a.repeat, [&] { RawEvpSha256File(img_path, size); }), raw_rate,
      "file written in one write(2)");
  for (const auto& [path, note] : {std::pair{blocks64k_path, "file written in 64 KiB writes"},
                                   std::pair{blocks1k_path, "file written in 1 KiB writes"}}) {
    if (!update::DigestFile(path.string())) Die("DigestFile");  // into the page cache
    for (Variant v : {Variant{update::FileReads::kRead, size_t{1} << 20},
                      Variant{update::FileReads::kMmap, size_t{16} << 20}})
      verify_file(v, path, note);
    Row("raw EVP SHA-256 over the same file, mmap, 16 KiB updates", static_cast<double>(size),
        Best(a.repeat, [&] { RawEvpSha256File(path, size); }), raw_rate, note);
  }
  Row("update::DigestFile (SUIT module: ifstream, 64 KiB)", static_cast<double>(size),
      Best(a.repeat,
           [&] {
             if (!update::DigestFile(img_path.string())) Die("DigestFile");
           }),
      raw_rate, "reference, not on the install path");
  {
    // The envelope part alone: parse and ES256 signature (what Verify adds to the image hash).
    const int n = 200;
    const Timing t = Best(a.repeat, [&] {
      for (int i = 0; i < n; ++i) {
        auto e = update::ParseEnvelope(env);
        if (!e || !update::VerifyEnvelope(*e, id.vendor_key)) Die("verify envelope");
      }
    });
    std::printf("| %-52s | %8s | %8s | %7s | %8.3f | per envelope, ES256\n",
                "envelope only: parse + signature (no image)", "-", "-", "-", t.wall * 1e3 / n);
  }
  {
    // A whole install, step by step (wall time; the copy ends in an fsync of 64 MiB, so this
    // depends on the disk).
    update::SlotStore s = open(defaults.file_reads, defaults.map_window, "install");
    uint64_t seq = 2;
    Timing tv, tw, tt, tc;
    for (int i = 0; i < a.repeat; ++i) {
      const std::vector<uint8_t> e = envelope_for(seq++);
      std::optional<update::VerifiedUpdate> v;
      const Timing t1 = Best(1, [&] {
        auto r = s.VerifyFile(e, img_path.string());
        if (!r) Die(r.error().ToString());
        v.emplace(std::move(*r));
      });
      const Timing t2 = Best(1, [&] {
        if (auto r = s.WriteFile(*v, img_path.string()); !r) Die(r.error().ToString());
      });
      const Timing t3 = Best(1, [&] {
        if (auto r = s.TestBoot(); !r) Die(r.error().ToString());
      });
      const Timing t4 = Best(1, [&] {
        if (auto r = s.Confirm(); !r) Die(r.error().ToString());
      });
      for (auto [best, t] : {std::pair{&tv, t1}, {&tw, t2}, {&tt, t3}, {&tc, t4}}) {
        best->cpu = std::min(best->cpu, t.cpu);
        best->wall = std::min(best->wall, t.wall);
      }
    }
    const double b = static_cast<double>(size);
    Row("install step 1: VerifyFile", b, tv, raw_rate);
    Row("install step 2: WriteFile (hash + copy + fsync + rename)", b, tw, raw_rate);
    Row("install step 3: TestBoot (default hook: hash the slot)", b, tt, raw_rate);
    std::printf("| %-52s | %8s | %8s | %7s | %8.3f | one state write (fsync x2)\n",
                "install step 4: Confirm", "-", "-", "-", tc.wall * 1e3);
  }
  return 0;
}

// bench_fleet_update — issue 5's fleet figure: updating N things (default 100) over loopback with
// a signed firmware image (default 256 KiB), through the KDC's campaign and each thing's block-wise
// fetch and A/B install. Reports the wall time of the campaign, the per-thing install time, and
// the bytes on the wire: every datagram between the things and the KDC passes through a counting
// UDP relay in this process (IP/UDP headers not counted; payload = CoAP + DTLS records).
//
//   bench_fleet_update [--things N] [--image-kib K] [--threads T] [--stage S]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "bench_util.h"
#include "secprof/core/fs.h"
#include "secprof/cose/key.h"
#include "secprof/domain/protocol.h"
#include "secprof/identity/identity.h"
#include "secprof/kdc/kdc.h"
#include "secprof/keystore/file_store.h"
#include "secprof/manufacture/manufacture.h"
#include "secprof/thing/agent.h"
#include "secprof/update/suit.h"

using namespace secprof;
namespace fs = std::filesystem;
using Clk = std::chrono::steady_clock;

namespace {

// A UDP relay: clients send to `port()`; each client gets its own upstream socket to the target,
// so replies find their way back. Counts the bytes in both directions.
class Relay {
 public:
  Relay(uint16_t target) : target_(target) {
    front_ = Bind(0);
    sockaddr_in a{};
    socklen_t l = sizeof a;
    ::getsockname(front_, reinterpret_cast<sockaddr*>(&a), &l);
    port_ = ntohs(a.sin_port);
    io_ = std::jthread([this](std::stop_token st) { Loop(st); });
  }
  ~Relay() {
    io_.request_stop();
    io_.join();
    for (auto& [k, fd] : up_) ::close(fd);
    ::close(front_);
  }
  uint16_t port() const { return port_; }
  uint64_t bytes() const { return bytes_.load(); }
  uint64_t datagrams() const { return datagrams_.load(); }

 private:
  static int Bind(uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    return fd;
  }
  void Loop(std::stop_token st) {
    std::vector<uint8_t> buf(65536);
    while (!st.stop_requested()) {
      std::vector<pollfd> fds{{front_, POLLIN, 0}};
      std::vector<uint64_t> keys{0};
      for (auto& [k, fd] : up_) {
        fds.push_back({fd, POLLIN, 0});
        keys.push_back(k);
      }
      if (::poll(fds.data(), fds.size(), 50) <= 0) continue;
      for (size_t i = 0; i < fds.size(); ++i) {
        if (!(fds[i].revents & POLLIN)) continue;
        sockaddr_in from{};
        socklen_t fl = sizeof from;
        ssize_t n = ::recvfrom(fds[i].fd, buf.data(), buf.size(), 0,
                               reinterpret_cast<sockaddr*>(&from), &fl);
        if (n <= 0) continue;
        bytes_ += static_cast<uint64_t>(n);
        ++datagrams_;
        if (i == 0) {  // client -> KDC
          uint64_t key = ntohs(from.sin_port);
          auto it = up_.find(key);
          if (it == up_.end()) {
            it = up_.emplace(key, Bind(0)).first;
            clients_[key] = from;
          }
          sockaddr_in to{};
          to.sin_family = AF_INET;
          to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
          to.sin_port = htons(target_);
          ::sendto(it->second, buf.data(), static_cast<size_t>(n), 0,
                   reinterpret_cast<sockaddr*>(&to), sizeof to);
        } else {  // KDC -> client
          const sockaddr_in& c = clients_[keys[i]];
          ::sendto(front_, buf.data(), static_cast<size_t>(n), 0,
                   reinterpret_cast<const sockaddr*>(&c), sizeof c);
        }
      }
    }
  }
  uint16_t target_, port_ = 0;
  int front_ = -1;
  std::map<uint64_t, int> up_;
  std::map<uint64_t, sockaddr_in> clients_;
  std::atomic<uint64_t> bytes_{0}, datagrams_{0};
  std::jthread io_;
};

int Arg(int argc, char** argv, const char* name, int def) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::atoi(argv[i + 1]);
  return def;
}

int Die(const std::string& what, const Error& e) {
  std::cerr << "bench_fleet_update: " << what << ": " << e.message() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const int n = Arg(argc, argv, "--things", 100);
  const int kib = Arg(argc, argv, "--image-kib", 256);
  const int threads = Arg(argc, argv, "--threads", 8);
  const int stage = Arg(argc, argv, "--stage", n);
  bench::PrintMachine();
  const bench::Scratch scratch;
  if (scratch.path().empty()) return 1;
  const fs::path dir = scratch.path();

  manufacture::Options mo;
  mo.vendor = "Acme";
  mo.model = "Meter";
  mo.count = n;
  mo.out_dir = (dir / "factory").string();
  auto made = manufacture::Manufacture(mo);
  if (!made) return Die("manufacture", made.error());
  kdc::KdcOptions ko;
  ko.profile = domain::Profile::kSecProf2;
  ko.db_path = (dir / "kdc.db").string();
  auto k = kdc::Kdc::Create(ko);
  if (!k) return Die("kdc", k.error());
  std::jthread io([&](std::stop_token st) { (void)(*k)->Serve(st); });
  auto owner = kdc::OwnerTools::Open(ko.db_path);
  if (!owner) return Die("owner", owner.error());
  Relay relay((*k)->dtls_port());

  std::vector<std::unique_ptr<thing::Agent>> things;
  for (const auto& t : made->manifest.things) {
    if (auto s = (*owner)->AllowSetupCode(t.serial, mo.vendor, mo.model, t.setup_code); !s)
      return Die("allow", s.error());
    thing::InitOptions in{(dir / t.serial).string(), mo.out_dir, t.serial,
                          domain::Profile::kSecProf2};
    if (auto s = thing::Agent::Init(in); !s) return Die("init", s.error());
    thing::AgentOptions ao;
    ao.state_dir = in.state_dir;
    auto a = thing::Agent::Open(ao);
    if (!a) return Die("open", a.error());
    // Joins go straight to the KDC; operational DTLS goes through the relay.
    if (auto s = (*a)->Install("127.0.0.1", (*k)->udp_port(), (*k)->dtls_port()); !s)
      return Die("install", s.error());
    if (auto s = (*a)->Join(); !s) return Die("join", s.error());
    things.push_back(std::move(*a));
  }
  // Re-point the operational sessions at the relay: a fresh install record with the relay port.
  for (auto& a : things) {
    std::string sd = (dir / a->state().serial).string();
    auto text = ReadFile(sd + "/state.json");
    std::string j = *text;
    std::string from = "\"dtls\": " + std::to_string((*k)->dtls_port());
    auto pos = j.find(from);
    if (pos == std::string::npos) return Die("relay", Error(ErrorCode::kInternal, "state.json"));
    j.replace(pos, from.size(), "\"dtls\": " + std::to_string(relay.port()));
    a.reset();
    if (auto s = WriteFileAtomic(sd + "/state.json", j, 0600); !s) return Die("relay", s.error());
    thing::AgentOptions ao;
    ao.state_dir = sd;
    auto r = thing::Agent::Open(ao);
    if (!r) return Die("reopen", r.error());
    a = std::move(*r);
    if (auto s = a->GoOperational(); !s) return Die("operational", s.error());
  }

  // The vendor's release.
  keystore::FileKeyStoreOptions so;
  so.dir = mo.out_dir + "/ca/keystore";
  auto vstore = keystore::FileKeyStore::Open(std::move(so));
  auto der = (*vstore)->ExportPrivate(manufacture::kCaKeyLabel);
  auto sk = crypto::PrivateKey::FromDer(crypto::ByteView(der->data(), der->size()));
  auto vendor_key = cose::KeyFromPrivate(std::move(*sk));
  std::string image(static_cast<size_t>(kib) * 1024, '\0');
  for (size_t i = 0; i < image.size(); ++i) image[i] = static_cast<char>(i * 13 + 5);
  std::string image_path = (dir / "fw.bin").string();
  (void)WriteFileAtomic(image_path, image);
  update::CreateParams cp;
  cp.vendor_id = domain::FirmwareVendorId(mo.vendor);
  cp.class_id = domain::FirmwareClassId(mo.vendor, mo.model);
  cp.sequence_number = 2;
  auto env = update::CreateEnvelope(
      crypto::ByteView(reinterpret_cast<const uint8_t*>(image.data()), image.size()), cp,
      *vendor_key);
  if (!env) return Die("envelope", env.error());
  auto ca = identity::Certificate::FromPem(*ReadFile(mo.out_dir + "/ca/ca.pem"));
  (void)(*owner)->TrustVendor(*ca);
  auto fw = (*owner)->AddFirmware(*env, image_path, mo.model);
  if (!fw) return Die("add firmware", fw.error());

  uint64_t bytes_before = relay.bytes(), dgrams_before = relay.datagrams();
  auto t0 = Clk::now();
  auto c = (*owner)->StartCampaign(*fw, {}, stage, 0.1);
  if (!c) return Die("campaign", c.error());
  std::atomic<int> next{0}, installed{0}, failed{0};
  std::mutex err_mu;
  std::string first_error;
  std::vector<std::jthread> pool;
  for (int w = 0; w < threads; ++w)
    pool.emplace_back([&] {
      for (int i = next++; i < n; i = next++) {
        // A thing of a later stage polls until its stage is released.
        for (int attempt = 0; attempt < 1000; ++attempt) {
          auto r = things[static_cast<size_t>(i)]->CheckForUpdate();
          if (!r) {
            std::lock_guard<std::mutex> l(err_mu);
            if (first_error.empty()) first_error = r.error().message();
            ++failed;
            break;
          }
          if (r->offered) {
            (r->installed ? installed : failed)++;
            break;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      }
    });
  pool.clear();
  double secs = std::chrono::duration<double>(Clk::now() - t0).count();
  uint64_t bytes = relay.bytes() - bytes_before, dgrams = relay.datagrams() - dgrams_before;
  auto camp = (*owner)->registry().GetCampaign(*c);
  std::printf(
      "fleet update: %d things, image %d KiB + envelope %zu B, %d threads, stage %d\n"
      "  installed %d, failed %d, campaign %s, %.2f s (%.1f things/s, %.1f ms/thing "
      "serial-equivalent)\n"
      "  on the wire (DTLS, both directions): %.1f MiB in %llu datagrams = %.2f x the image bytes "
      "delivered (%.1f KiB per thing)\n",
      n, kib, env->size(), threads, stage, installed.load(), failed.load(),
      camp ? registry::CampaignStateName(camp->state) : "?", secs, n / secs,
      1000.0 * secs * threads / n, bytes / 1048576.0, static_cast<unsigned long long>(dgrams),
      static_cast<double>(bytes) / (static_cast<double>(image.size()) * n), bytes / 1024.0 / n);
  if (!first_error.empty()) std::printf("  first error: %s\n", first_error.c_str());
  io.request_stop();
  return installed.load() == n ? 0 : 1;
}

#include "serve.h"

#include <pthread.h>

#include <atomic>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <thread>

#include "secprof/core/fs.h"

namespace secprof::cli {

SignalBlock::SignalBlock() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  ok_ = pthread_sigmask(SIG_BLOCK, &set_, &old_) == 0;
}

SignalBlock::~SignalBlock() {
  if (ok_) pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

int SignalBlock::Wait(std::chrono::milliseconds timeout) const {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  ts.tv_nsec = static_cast<long>((timeout.count() % 1000) * 1000000);
  int s = sigtimedwait(&set_, nullptr, &ts);
  return s > 0 ? s : 0;
}

Served ServeUntilSignal(const SignalBlock& signals, const std::string& who, int64_t duration_s,
                        const std::function<Status(std::stop_token)>& serve) {
  Served out;
  const auto start = std::chrono::steady_clock::now();
  std::atomic<bool> done{false};
  {
    std::jthread io([&](std::stop_token st) {
      out.status = serve(st);
      done = true;
    });
    while (!done) {
      if (int sig = signals.Wait(std::chrono::milliseconds(200))) {
        std::cout << who << ": " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ", stopping"
                  << std::endl;
        break;
      }
      if (duration_s > 0 &&
          std::chrono::steady_clock::now() - start >= std::chrono::seconds(duration_s)) {
        std::cout << who << ": --duration " << duration_s << " s reached, stopping" << std::endl;
        break;
      }
    }
    io.request_stop();
  }  // joins the I/O thread
  out.ran = std::chrono::steady_clock::now() - start;
  return out;
}

Result<ReadyFile> ReadyFile::Write(const std::string& path, uint16_t udp, uint16_t dtls) {
  if (path.empty()) return ReadyFile();
  std::string ready = "udp=" + std::to_string(udp) + "\ndtls=" + std::to_string(dtls) + "\n";
  SECPROF_TRY(WriteFileAtomic(path, ready, 0644));
  return ReadyFile(path);
}

ReadyFile::~ReadyFile() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove(path_, ec);
}

}  // namespace secprof::cli

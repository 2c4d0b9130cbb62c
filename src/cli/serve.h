// src/cli/serve.h — the long-running commands (`secprof kdc`, `secprof thing serve`): SIGINT and
// SIGTERM blocked in the calling thread and the threads it starts, then taken synchronously with
// sigtimedwait, so no handler runs inside libcoap or SQLite; one loop that serves until a signal
// or --duration; the --ready-file both write once listening.
#pragma once

#include <signal.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>

#include "secprof/core/result.h"

namespace secprof::cli {

// Blocks SIGINT and SIGTERM in this thread (and the threads it starts afterwards); restores the
// previous mask when it dies. Take it before starting any server thread.
class SignalBlock {
 public:
  SignalBlock();
  ~SignalBlock();
  SignalBlock(const SignalBlock&) = delete;
  SignalBlock& operator=(const SignalBlock&) = delete;
  bool ok() const { return ok_; }
  // The signal taken within `timeout`, or 0.
  int Wait(std::chrono::milliseconds timeout) const;

 private:
  sigset_t set_{};
  sigset_t old_{};
  bool ok_ = false;
};

struct Served {
  Status status = Ok();                       // what `serve` returned
  std::chrono::steady_clock::duration ran{};  // from the start to the join of its thread
};

// Runs `serve` on its own thread until it returns, a signal blocked by `signals` arrives, or
// `duration_s` seconds pass (0: no limit); then asks it to stop and joins it. Says why it stops on
// stdout as "<who>: SIGINT, stopping" or "<who>: --duration N s reached, stopping".
Served ServeUntilSignal(const SignalBlock& signals, const std::string& who, int64_t duration_s,
                        const std::function<Status(std::stop_token)>& serve);

// --ready-file: "udp=P\ndtls=Q\n" written atomically once listening (udp=0: no plain CoAP),
// removed when the object dies (a stale file would mislead whoever waits for the next start).
class ReadyFile {
 public:
  static Result<ReadyFile> Write(const std::string& path, uint16_t udp, uint16_t dtls);
  ReadyFile() = default;  // none
  ReadyFile(ReadyFile&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  ReadyFile& operator=(ReadyFile&&) = delete;
  ReadyFile(const ReadyFile&) = delete;
  ~ReadyFile();

 private:
  explicit ReadyFile(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace secprof::cli

// tests/support/child_process.h — `secprof` as a child process for the tests in tests/cli/: an
// RAII guard that SIGKILLs and reaps the child in its destructor (so a failed assertion never
// leaks a process), waiting for a --ready-file, and running the CLI to completion.
//
// Waits are bounded only so that a broken build cannot hang the suite; nothing is asserted about
// how long anything takes.
#pragma once

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "testutil.h"

extern char** environ;

namespace secprof::testing {

namespace fs = std::filesystem;

inline constexpr auto kSafetyBound = std::chrono::seconds(120);

inline std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

inline std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// True when `output` holds a sanitizer report (a child built with SECPROF_SANITIZE exits 1 after
// one, which a test expecting exit 1 for a refusal would otherwise take for the refusal).
inline bool HasSanitizerReport(const std::string& output) {
  return output.find("Sanitizer") != std::string::npos ||
         output.find("runtime error:") != std::string::npos;
}

// The serials in the manifest.json of a factory made by `secprof manufacture`, in its order;
// empty when the manifest cannot be read.
inline std::vector<std::string> SerialsOf(const fs::path& factory) {
  std::vector<std::string> out;
  auto j = nlohmann::json::parse(Slurp(factory / "manifest.json"), nullptr, false);
  if (j.is_discarded()) return out;
  for (const auto& t : j["things"]) out.push_back(t["serial"].get<std::string>());
  return out;
}

// Runs `secprof <args>` to completion; stdout and stderr merged.
inline RunResult Secprof(const std::string& args) {
  auto r = Run(Quote(Binary()) + " " + args + " 2>&1");
  EXPECT_FALSE(HasSanitizerReport(r.out)) << "secprof " << args << "\n" << r.out;
  return r;
}

// `secprof` with `args` as a child process, stdout and stderr appended to `log`.
class Child {
 public:
  Child(const std::vector<std::string>& args, const fs::path& log) {
    std::vector<std::string> argv_s = {Binary()};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) pid_ = -1;
  }
  ~Child() { Kill(); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool started() const { return pid_ > 0 || status_.has_value(); }
  bool running() { return !Poll().has_value(); }

  // The exit status if it has ended (reaps it), else nullopt. 128 + signal when killed.
  std::optional<int> Poll() {
    if (pid_ <= 0) return status_;
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    return status_;
  }

  // SIGKILL and reap (a crash: no cleanup runs in the child).
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
    status_ = 128 + SIGKILL;
  }

  // Sends `sig` and waits for the end (SIGKILL after the safety bound). The exit status, or
  // 128 + signal.
  int Stop(int sig = SIGTERM) {
    if (pid_ <= 0) return status_.value_or(-1);
    ::kill(pid_, sig);
    auto deadline = std::chrono::steady_clock::now() + kSafetyBound;
    while (!Poll()) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "child did not stop on signal " << sig;
        Kill();
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return status_.value_or(-1);
  }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

struct Ports {
  uint16_t udp = 0, dtls = 0;
};

// Waits for `ready` ("udp=P\ndtls=Q\n", written atomically by the child once it listens), or the
// child's end, and parses it.
inline std::optional<Ports> WaitReady(Child& child, const fs::path& ready, const fs::path& log) {
  auto deadline = std::chrono::steady_clock::now() + kSafetyBound;
  while (!fs::exists(ready)) {
    if (auto st = child.Poll()) {
      ADD_FAILURE() << "child exited with " << *st << " before it was ready:\n" << Slurp(log);
      return std::nullopt;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "child not ready:\n" << Slurp(log);
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::string text = Slurp(ready);
  unsigned u = 0, d = 0;
  if (std::sscanf(text.c_str(), "udp=%u\ndtls=%u\n", &u, &d) != 2) {
    ADD_FAILURE() << "ready file: " << text;
    return std::nullopt;
  }
  return Ports{static_cast<uint16_t>(u), static_cast<uint16_t>(d)};
}

}  // namespace secprof::testing

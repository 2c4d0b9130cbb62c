// bench/bench_util.h — what the benchmarks share: the machine line every benchmark prints first,
// child processes (fork + exec with the output on a pipe, or posix_spawn with the output in a log
// file), /proc readings (VmRSS, CPU time of another process), scratch directories, timing and
// percentiles. Header-only; every bench_*.cpp may include it (bench/CMakeLists.txt).
//
// Child processes are stopped and reaped by their owners' destructors, so a benchmark that exits
// early leaves no process behind. Waits have safety bounds only; nothing here decides a figure.
#pragma once

#include <coap3/coap.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace secprof::bench {

namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

// ------------------------------------------------------------------------------------ machine

// The first line of `path` starting with `prefix`: the whole line when `prefix` is empty, else
// what follows its "key: " (the /proc/cpuinfo layout); "?" when there is none.
inline std::string FirstLine(const char* path, const std::string& prefix = {}) {
  std::ifstream f(path);
  for (std::string l; std::getline(f, l);)
    if (l.rfind(prefix, 0) == 0) return prefix.empty() ? l : l.substr(l.find(':') + 2);
  return "?";
}

// The load averages over 1, 5 and 15 minutes, as /proc/loadavg shows them.
inline std::string LoadAverage() {
  std::istringstream in(FirstLine("/proc/loadavg"));
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

// The machine and the libraries a figure depends on: CPU model, cores, load, and the OpenSSL,
// libcoap and SQLite this process runs with (their run-time versions, not the headers').
inline std::string MachineDescription() {
  return FirstLine("/proc/cpuinfo", "model name") + ", " +
         std::to_string(std::thread::hardware_concurrency()) + " cores; load " + LoadAverage() +
         "; " + OpenSSL_version(OPENSSL_VERSION) + "; " +
         coap_package_version() /* "libcoap 4.3.1" */ + "; SQLite " + sqlite3_libversion();
}

// "machine: " and MachineDescription(), as one line.
inline std::string MachineLine() { return "machine: " + MachineDescription(); }

// Prints MachineLine() (what every benchmark does first, before any figure).
inline void PrintMachine(std::FILE* out = stdout) {
  std::fprintf(out, "%s\n", MachineLine().c_str());
  std::fflush(out);
}

// ----------------------------------------------------------------------------- child processes

// The path of this executable (for a benchmark that runs itself as a server child).
inline std::string SelfPath() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// A child process run with fork + execvp: its stdout on a pipe (kPipe; stderr stays the
// benchmark's) or stdout and stderr to /dev/null (kDiscard). Stopped with SIGTERM (SIGKILL after
// 30 s) and reaped when the object dies.
class Child {
 public:
  enum class Output { kPipe, kDiscard };

  Child() = default;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() { Stop(); }

  bool Start(const std::vector<std::string>& argv, Output output = Output::kPipe) {
    int fds[2] = {-1, -1};
    if (output == Output::kPipe && ::pipe(fds) != 0) return false;
    pid_ = ::fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      if (output == Output::kPipe) {
        ::dup2(fds[1], STDOUT_FILENO);
        ::close(fds[0]);
        ::close(fds[1]);
      } else {
        int devnull = ::open("/dev/null", O_WRONLY);
        ::dup2(devnull, STDOUT_FILENO);
        ::dup2(devnull, STDERR_FILENO);
      }
      std::vector<char*> args;
      for (const auto& s : argv) args.push_back(const_cast<char*>(s.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    if (output == Output::kPipe) {
      ::close(fds[1]);
      fd_ = fds[0];
    }
    return true;
  }

  // The next line of the child's output starting with `tag` (other lines, e.g. a wrapper's, are
  // skipped; an empty tag takes any line); empty at end of output or when nothing came for
  // `timeout` (a child under valgrind starts slowly).
  std::string Line(const std::string& tag = {},
                   std::chrono::milliseconds timeout = std::chrono::minutes(2)) {
    const auto deadline = Steady::now() + timeout;
    std::string line;
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return {};
      char ch;
      if (::read(fd_, &ch, 1) != 1) return {};
      if (ch != '\n') {
        line += ch;
        continue;
      }
      if (line.rfind(tag, 0) == 0) return line;
      line.clear();
    }
  }

  pid_t pid() const { return pid_; }
  void Signal(int sig = SIGTERM) {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  // SIGTERM, then SIGKILL if the child is still there after 30 s; reaps it.
  void Stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st = 0;
      for (int i = 0; i < 300 && ::waitpid(pid_, &st, WNOHANG) == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (::waitpid(pid_, &st, WNOHANG) == 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &st, 0);
      }
      pid_ = -1;
    }
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
};

// Starts argv[0] (a path, not searched) with posix_spawn, stdout and stderr appended to `log`.
// The pid, or -1. The caller stops and reaps it.
inline pid_t SpawnLogged(std::vector<std::string> argv_s, const fs::path& log) {
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

// ---------------------------------------------------------------------------------------- /proc

// The resident set of process `pid` in KiB (VmRSS), -1 when it cannot be read.
inline long RssKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

// CPU time (user + system) this process has used, in seconds.
inline double ProcessCpuSeconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// --------------------------------------------------------------------------------------- files

inline std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh directory secprof-bench-XXXXXX under `base` (the system's temporary directory when
// empty), removed with its contents when the object dies. path() is empty when it could not be
// made.
class Scratch {
 public:
  explicit Scratch(const std::string& base = {}) {
    fs::path root = base.empty() ? fs::temp_directory_path() : fs::path(base);
    std::string t = (root / "secprof-bench-XXXXXX").string();
    if (::mkdtemp(t.data())) path_ = t;
  }
  ~Scratch() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// ------------------------------------------------------------------------------ timing, figures

// Seconds and milliseconds of a steady-clock duration.
inline double Seconds(Steady::duration d) { return std::chrono::duration<double>(d).count(); }
inline double Ms(Steady::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// The q-quantile (0 <= q <= 1) of `v` by the nearest-rank rule (the element at q * n, clamped);
// 0 for an empty `v`.
inline double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

// The upper median (the element at n / 2 after sorting); 0 for an empty `v`.
inline double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace secprof::bench

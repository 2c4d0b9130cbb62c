// tests/testutil.h — helpers shared by every test binary.
#pragma once

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace secprof::testing {

// The source checkout: $SECPROF_SOURCE_DIR, else the one this test was built from.
inline std::filesystem::path SourceDir() {
  if (const char* s = std::getenv("SECPROF_SOURCE_DIR")) return s;
#ifdef SECPROF_SOURCE_DIR_DEFAULT
  return SECPROF_SOURCE_DIR_DEFAULT;
#else
  return std::filesystem::current_path();
#endif
}

// ../shared/vectors beside the checkout, or $SECPROF_VECTORS. Empty when absent.
inline std::filesystem::path VectorsDir() {
  if (const char* v = std::getenv("SECPROF_VECTORS")) return v;
  auto p = SourceDir() / ".." / "shared" / "vectors";
  return std::filesystem::exists(p) ? std::filesystem::canonical(p) : std::filesystem::path();
}

// Skips the current test with one clear line when a vectors subfolder is missing.
#define SECPROF_REQUIRE_VECTORS(sub)                                                      \
  do {                                                                                    \
    auto secprof_vdir_ = ::secprof::testing::VectorsDir();                                \
    if (secprof_vdir_.empty() || !std::filesystem::exists(secprof_vdir_ / (sub))) {       \
      GTEST_SKIP() << "external vectors not found (" << (sub)                             \
                   << "): set SECPROF_VECTORS or put shared/vectors beside the checkout"; \
    }                                                                                     \
  } while (0)

// The secprof CLI under test: $SECPROF_BINARY, else the one built beside this test.
inline std::string Binary() {
  if (const char* b = std::getenv("SECPROF_BINARY")) return b;
#ifdef SECPROF_BINARY_DEFAULT
  return SECPROF_BINARY_DEFAULT;
#else
  return "secprof";
#endif
}

struct RunResult {
  int exit_code = -1;
  std::string out;  // stdout (stderr too when merged)
};

// Runs a shell command line and captures its stdout. Pass "2>&1" in `cmd` to merge stderr.
inline RunResult Run(const std::string& cmd) {
  RunResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = ::pclose(p);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// A temporary directory removed when the object dies.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "secprof-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace secprof::testing

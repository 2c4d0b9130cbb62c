// tests/support/softhsm_fixture.h — a throw-away SoftHSM2 token per test.
//
// Each SoftHsmToken makes a temporary directory with its own softhsm2.conf (token directory inside
// it, file object store), points SOFTHSM2_CONF at it, and initialises one token with
// softhsm2-util. Nothing is written outside the temporary directory, and no process outlives the
// softhsm2-util call. SOFTHSM2_CONF is read by the module at C_Initialize, so every store opened
// on the token must be closed before the next test makes its own token (the module is finalised
// when its last store goes away).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "secprof/keystore/pkcs11_store.h"
#include "testutil.h"

namespace secprof::testing {

inline constexpr const char* kTestTokenLabel = "secprof-test";
inline constexpr const char* kTestPin = "1234";
inline constexpr const char* kTestSoPin = "5678";

// Why SoftHSM2 tests cannot run here, or empty when they can.
inline std::string SoftHsmUnavailable() {
  if (!std::filesystem::exists(keystore::kDefaultPkcs11Module))
    return std::string("SoftHSM2 module ") + keystore::kDefaultPkcs11Module +
           " not installed (apt-get install softhsm2)";
  if (Run("command -v softhsm2-util >/dev/null 2>&1").exit_code != 0)
    return "softhsm2-util not found (apt-get install softhsm2)";
  return "";
}

// Skips the current test with one clear line when SoftHSM2 is missing.
#define SECPROF_REQUIRE_SOFTHSM()                                 \
  do {                                                            \
    auto secprof_why_ = ::secprof::testing::SoftHsmUnavailable(); \
    if (!secprof_why_.empty()) GTEST_SKIP() << secprof_why_;      \
  } while (0)

class SoftHsmToken {
 public:
  SoftHsmToken() {
    tokens_ = dir_.path() / "tokens";
    std::filesystem::create_directories(tokens_);
    conf_ = dir_.path() / "softhsm2.conf";
    std::ofstream(conf_) << "directories.tokendir = " << tokens_.string() << "\n"
                         << "objectstore.backend = file\n"
                         << "log.level = ERROR\n";
    ::setenv("SOFTHSM2_CONF", conf_.c_str(), 1);
    auto r = Run("softhsm2-util --init-token --free --label " + std::string(kTestTokenLabel) +
                 " --pin " + kTestPin + " --so-pin " + kTestSoPin + " 2>&1");
    ok_ = r.exit_code == 0;
    init_output_ = r.out;
  }
  ~SoftHsmToken() { ::unsetenv("SOFTHSM2_CONF"); }

  bool ok() const { return ok_; }
  const std::string& init_output() const { return init_output_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  const std::filesystem::path& conf() const { return conf_; }
  const std::filesystem::path& tokens() const { return tokens_; }

  keystore::Pkcs11KeyStoreOptions Options() const {
    keystore::Pkcs11KeyStoreOptions o;
    o.token_label = kTestTokenLabel;
    o.pin = keystore::Pin(kTestPin);
    return o;
  }

 private:
  TempDir dir_;
  std::filesystem::path tokens_;
  std::filesystem::path conf_;
  bool ok_ = false;
  std::string init_output_;
};

}  // namespace secprof::testing

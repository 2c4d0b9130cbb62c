// Shared by identity_test.cpp and identity_csr_test.cpp: signers (a software one and a token
// stand-in), the fixed test time, and the Identity fixture (a vendor CA, IDevIDs issued by it). A
// named namespace, so that both files see one fixture type.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>

#include "secprof/core/fs.h"
#include "secprof/crypto/keys.h"
#include "secprof/crypto/signer.h"
#include "secprof/identity/identity.h"
#include "testutil.h"

namespace secprof::identity::identity_fixture {

using namespace std::chrono_literals;
using crypto::KeyType;
using crypto::PrivateKey;
using crypto::SignatureAlgorithm;
using crypto::SoftwareSigner;
// testing::Test has a private Run(); the shell helper goes by another name here.
inline secprof::testing::RunResult Shell(const std::string& cmd) {
  return secprof::testing::Run(cmd);
}
using secprof::testing::TempDir;

// 2025-03-01T12:00:00Z: every test that does not talk to the openssl binary runs at this time.
const std::chrono::system_clock::time_point kStart =
    std::chrono::sys_days{std::chrono::year{2025} / 3 / 1} + 12h;

inline SoftwareSigner MakeSigner(KeyType type = KeyType::kP256,
                                 SignatureAlgorithm alg = SignatureAlgorithm::kEcdsaP256Sha256Der) {
  auto key = PrivateKey::Generate(type);
  EXPECT_TRUE(key) << key.error().ToString();
  auto s = SoftwareSigner::Create(std::move(*key), alg);
  EXPECT_TRUE(s) << s.error().ToString();
  return std::move(*s);
}

inline std::string Contents(const Bytes& b) { return std::string(b.begin(), b.end()); }

inline void WriteText(const std::filesystem::path& p, const std::string& s) {
  ASSERT_TRUE(WriteFileAtomic(p.string(), s));
}

// A Signer standing in for a PKCS#10 token: it can only sign, counts its calls, and can be told
// to return a corrupted signature (a faulty token).
class TokenSigner final : public crypto::Signer {
 public:
  explicit TokenSigner(SoftwareSigner inner) : inner_(std::move(inner)) {}
  SignatureAlgorithm algorithm() const override { return inner_.algorithm(); }
  const crypto::PublicKey& public_key() const override { return inner_.public_key(); }
  Result<Bytes> Sign(ByteView message) override {
    ++calls;
    auto sig = inner_.Sign(message);
    if (sig && corrupt) sig->back() ^= 0x01;
    return sig;
  }
  int calls = 0;
  bool corrupt = false;

 private:
  SoftwareSigner inner_;
};

class Identity : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = CreateVendorCa(vendor_key_, {.organization = "Acme Devices", .path_len = 0}, clock_);
    ASSERT_TRUE(ca) << ca.error().ToString();
    vendor_ca_ = std::move(*ca);
  }

  Certificate Idevid(const std::string& serial, const crypto::PublicKey& key) {
    auto c = IssueIdevid(vendor_key_, *vendor_ca_, key,
                         {.serial_number = serial, .model = "LightBulb-9"}, clock_);
    EXPECT_TRUE(c) << c.error().ToString();
    return std::move(*c);
  }

  FakeClock clock_{kStart};
  SoftwareSigner vendor_key_ = MakeSigner();
  SoftwareSigner device_key_ = MakeSigner();
  std::optional<Certificate> vendor_ca_;
};

}  // namespace secprof::identity::identity_fixture

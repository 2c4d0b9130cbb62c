// libFuzzer target for ownership vouchers (secprof::voucher, docs/VOUCHER.md).
//
// Each input goes through voucher::Decode / DecodeSigned and voucher::Verify against two fixed
// vendor CAs (P-256 and Ed25519 keys; the seed corpus holds vouchers signed with them, so the
// signature and time checks are reached).
// Properties: nothing crashes; Decode and DecodeSigned agree; a decoded voucher passes Validate,
// and issuing it again with a fixed key gives bytes that decode to the same voucher; Verify never
// accepts what Decode refuses, and what Verify accepts names the CA's organization.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "secprof/crypto/keys.h"
#include "secprof/crypto/random.h"
#include "secprof/crypto/signer.h"
#include "secprof/identity/identity.h"
#include "secprof/voucher/voucher.h"

namespace {
using namespace secprof;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_voucher: property violated: %s\n", what);
    std::abort();
  }
}

// 2024-06-01T00:00:00Z; the seeds are valid at this time.
constexpr int64_t kNow = 1717200000;

struct Fixed {
  std::unique_ptr<crypto::SoftwareSigner> p256, ed25519;
  std::optional<identity::Certificate> p256_ca, ed25519_ca;
};

const Fixed& Keys() {
  static const Fixed f = [] {
    Fixed k;
    crypto::Bytes d(32);
    for (size_t i = 0; i < 32; ++i) d[i] = static_cast<uint8_t>(i + 1);  // d = 0x0102..20
    auto ec = crypto::PrivateKey::FromRaw(crypto::KeyType::kP256, d);
    auto ed = crypto::PrivateKey::FromRaw(crypto::KeyType::kEd25519, crypto::Bytes(32, 0x07));
    Check(ec.has_value() && ed.has_value(), "fixed keys");
    auto s1 = crypto::SoftwareSigner::Create(std::move(*ec),
                                             crypto::SignatureAlgorithm::kEcdsaP256Sha256);
    auto s2 = crypto::SoftwareSigner::Create(std::move(*ed), crypto::SignatureAlgorithm::kEd25519);
    Check(s1.has_value() && s2.has_value(), "fixed signers");
    k.p256 = std::make_unique<crypto::SoftwareSigner>(std::move(*s1));
    k.ed25519 = std::make_unique<crypto::SoftwareSigner>(std::move(*s2));
    FakeClock clock(std::chrono::system_clock::time_point{std::chrono::seconds{kNow - 86400}});
    auto rng = crypto::FakeRandom::FromSeed(1);
    identity::CaOptions o;
    o.organization = "Acme";
    auto c1 = identity::CreateVendorCa(*k.p256, o, clock, rng);
    auto c2 = identity::CreateVendorCa(*k.ed25519, o, clock, rng);
    Check(c1.has_value() && c2.has_value(), "fixed CAs");
    k.p256_ca = *c1;
    k.ed25519_ca = *c2;
    return k;
  }();
  return f;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const voucher::ByteView in(data, size);
  const Fixed& k = Keys();
  const FakeClock clock(std::chrono::system_clock::time_point{std::chrono::seconds{kNow}});

  auto v = voucher::Decode(in);
  auto sv = voucher::DecodeSigned(in);
  Check(v.has_value() == sv.has_value(), "Decode and DecodeSigned agree");
  for (const identity::Certificate* ca : {&*k.p256_ca, &*k.ed25519_ca}) {
    auto ok = voucher::Verify(in, *ca, clock);
    if (!v) {
      Check(!ok, "Verify accepted what Decode refused");
      Check(ok.error().code() == ErrorCode::kInvalidInput, "malformed input is kInvalidInput");
      continue;
    }
    if (ok) {
      Check(*ok == *v, "Verify returns the decoded voucher");
      Check(ok->vendor == "Acme", "a verified voucher names the CA's organization");
      Check(ok->expires > kNow, "a verified voucher has not expired");
    } else {
      Check(ok.error().code() == ErrorCode::kVerifyFailed,
            "well-formed but refused is kVerifyFailed");
    }
  }
  if (!v) return 0;
  Check(*v == sv->voucher, "same voucher");
  Check(voucher::Validate(*v).has_value(), "a decoded voucher is valid");
  // Re-issuing: the payload is canonical, so it comes back unchanged.
  auto again = voucher::Issue(*k.ed25519, *v);
  Check(again.has_value(), "a decoded voucher can be issued again");
  auto back = voucher::Decode(*again);
  Check(back.has_value() && *back == *v, "re-issued voucher decodes to the same voucher");
  Check(voucher::Verify(*again, *k.ed25519_ca, clock).has_value() || v->expires <= kNow ||
            v->created > kNow + 300 || v->vendor != "Acme",
        "re-issued voucher verifies unless its time or vendor is off");
  return 0;
}

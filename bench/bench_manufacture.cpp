// bench_manufacture — things per second made by secprof::manufacture with each key store, next to
// the rates of the pieces a thing costs: one P-256 key generation (in software or in the token),
// one ECDSA signature by the vendor CA (the IDevID), and file writes each followed by fsync
// (key file and KEK for the file store, idevid.pem, ca.pem, setup-code.txt, thing.json).
//
//   bench_manufacture [--count N] [--seconds S]
//
// A small driver rather than Google Benchmark: every thing changes the output directory (and the
// token), so iterations are not independent. Rates are wall-clock. The PKCS#11 rows use a
// throw-away SoftHSM2 token in a temporary directory and are left out when SoftHSM2 is absent.
// Results: docs/PERFORMANCE.md, section "Manufacture".
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>

#include "bench_util.h"
#include "secprof/crypto/keys.h"
#include "secprof/crypto/signer.h"
#include "secprof/identity/identity.h"
#include "secprof/keystore/file_store.h"
#include "secprof/keystore/pkcs11_store.h"
#include "secprof/manufacture/manufacture.h"

namespace {

namespace fs = std::filesystem;
using namespace secprof;
using Clock = std::chrono::steady_clock;
using bench::Scratch;

struct Args {
  int count = 200;
  double seconds = 2.0;
};

void Row(const char* what, double per_second, const char* note = "") {
  std::printf("| %-46s | %10.1f | %8.3f | %s\n", what, per_second, 1000.0 / per_second, note);
}

// Runs `op` repeatedly for at least `seconds` (and 5 times); returns operations per second, or a
// negative value when op fails.
double Rate(double seconds, const std::function<bool()>& op) {
  const auto start = Clock::now();
  long n = 0;
  for (;;) {
    if (!op()) return -1;
    ++n;
    const double el = std::chrono::duration<double>(Clock::now() - start).count();
    if (n >= 5 && el >= seconds) return n / el;
  }
}

double ManufactureRate(const manufacture::Options& base, const fs::path& out, int count) {
  manufacture::Options o = base;
  o.out_dir = out.string();
  o.count = 1;  // the first run makes the vendor CA: not part of the per-thing figure
  if (!manufacture::Manufacture(o)) return -1;
  o.count = count;
  const auto start = Clock::now();
  auto r = manufacture::Manufacture(o);
  const double el = std::chrono::duration<double>(Clock::now() - start).count();
  if (!r) {
    std::fprintf(stderr, "manufacture: %s\n", r.error().ToString().c_str());
    return -1;
  }
  return count / el;
}

std::string MakeToken(const fs::path& dir) {
  if (!fs::exists(keystore::kDefaultPkcs11Module)) return "";
  fs::create_directories(dir / "tokens");
  std::ofstream(dir / "softhsm2.conf") << "directories.tokendir = " << (dir / "tokens").string()
                                       << "\nobjectstore.backend = file\nlog.level = ERROR\n";
  ::setenv("SOFTHSM2_CONF", (dir / "softhsm2.conf").c_str(), 1);
  const std::string cmd =
      "softhsm2-util --init-token --free --label bench --pin 1234 --so-pin 5678 >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0 ? "bench" : "";
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "--count" && i + 1 < argc) {
      a.count = std::atoi(argv[++i]);
    } else if (s == "--seconds" && i + 1 < argc) {
      a.seconds = std::atof(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: bench_manufacture [--count N] [--seconds S]\n");
      return 2;
    }
  }
  bench::PrintMachine();
  Scratch scratch;
  const crypto::Bytes msg(64, 0x5a);
  auto ca_key = crypto::PrivateKey::Generate(crypto::KeyType::kP256);
  auto ca_signer = crypto::SoftwareSigner::Create(std::move(*ca_key),
                                                  crypto::SignatureAlgorithm::kEcdsaP256Sha256);
  identity::CaOptions cao;
  cao.organization = "Bench";
  auto ca_cert = identity::CreateVendorCa(*ca_signer, cao);
  if (!ca_cert) return 1;
  auto device = crypto::PrivateKey::Generate(crypto::KeyType::kP256);

  std::printf("| %-46s | %10s | %8s |\n", "operation", "per second", "ms each");
  std::printf("|%s|%s|%s|\n", std::string(48, '-').c_str(), std::string(12, '-').c_str(),
              std::string(10, '-').c_str());
  Row("P-256 keygen, software (crypto::PrivateKey)", Rate(a.seconds, [] {
        return static_cast<bool>(crypto::PrivateKey::Generate(crypto::KeyType::kP256));
      }));
  Row("ECDSA P-256 sign, software",
      Rate(a.seconds, [&] { return static_cast<bool>(ca_signer->Sign(msg)); }));
  Row("IDevID issue (build + CA signature, no I/O)", Rate(a.seconds, [&] {
        identity::IdevidRequest req;
        req.serial_number = "bench-000001";
        req.model = "Bench";
        return static_cast<bool>(
            identity::IssueIdevid(*ca_signer, *ca_cert, device->public_key(), req));
      }));
  {
    keystore::FileKeyStoreOptions so;
    so.dir = (scratch.path() / "fs").string();
    auto store = keystore::FileKeyStore::Open(std::move(so));
    int n = 0;
    Row("file store GenerateKey (keygen+GCM+2 fsync)", Rate(a.seconds, [&] {
          return static_cast<bool>(
              (*store)->GenerateKey("k" + std::to_string(n++), crypto::KeyType::kP256));
        }));
  }
  manufacture::Options mo;
  mo.vendor = "Bench";
  mo.model = "Bench";
  Row("manufacture, file store (things/s)",
      ManufactureRate(mo, scratch.path() / "mf-file", a.count));

  const std::string token = MakeToken(scratch.path() / "hsm");
  if (token.empty()) {
    std::printf("(PKCS#11 rows left out: SoftHSM2 not available)\n");
    return 0;
  }
  keystore::Pkcs11KeyStoreOptions po;
  po.token_label = token;
  po.pin = keystore::Pin("1234");
  {
    auto store = keystore::Pkcs11KeyStore::Open(po);
    if (!store) {
      std::fprintf(stderr, "%s\n", store.error().ToString().c_str());
      return 1;
    }
    int n = 0;
    Row("token GenerateKey (C_GenerateKeyPair, SoftHSM2)", Rate(a.seconds, [&] {
          return static_cast<bool>(
              (*store)->GenerateKey("k" + std::to_string(n++), crypto::KeyType::kP256));
        }));
    auto signer = (*store)->GetSigner("k0");
    Row("token ECDSA sign (C_Sign CKM_ECDSA)",
        Rate(a.seconds, [&] { return static_cast<bool>((*signer)->Sign(msg)); }));
    auto agree = (*store)->GetKeyAgreement("k0");
    Row("token ECDH (C_DeriveKey + read + destroy)",
        Rate(a.seconds, [&] { return static_cast<bool>((*agree)->Agree(device->public_key())); }));
  }
  {
    // A fresh token for the manufacture figure, so that the objects made above do not weigh on
    // its searches.
    Scratch fresh;
    const std::string t2 = MakeToken(fresh.path());
    mo.keystore = keystore::StoreKind::kPkcs11;
    mo.pkcs11 = po;
    mo.pkcs11.token_label = t2;
    Row("manufacture, PKCS#11 token (things/s)",
        ManufactureRate(mo, scratch.path() / "mf-pkcs11", a.count));
  }
  return 0;
}

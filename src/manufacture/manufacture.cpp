// Manufacture: see secprof/manufacture/manufacture.h for the contract and the directory layout.
#include "secprof/manufacture/manufacture.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "secprof/core/fs.h"
#include "secprof/core/hex.h"
#include "secprof/core/posix.h"
#include "secprof/core/time_format.h"
#include "secprof/identity/identity.h"
#include "secprof/keystore/file_store.h"

namespace secprof::manufacture {
namespace {

namespace fs = std::filesystem;
using crypto::ByteView;

constexpr const char* kManifestFile = "manifest.json";
constexpr const char* kCaDir = "ca";
constexpr const char* kCaCert = "ca/ca.pem";
constexpr const char* kCaKeystore = "ca/keystore";
constexpr const char* kThingsDir = "things";
constexpr size_t kMaxSlug = 24;

std::string Rfc3339(std::chrono::system_clock::time_point t) {
  return FormatIso8601(std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count());
}

Status ValidateName(const std::string& value, const char* what) {
  auto bad = [&](const std::string& why) {
    return Fail(ErrorCode::kInvalidInput, std::string("--") + what + ": " + why);
  };
  if (value.empty()) return bad("must not be empty");
  if (value.size() > kMaxNameLength)
    return bad("longer than " + std::to_string(kMaxNameLength) + " characters");
  if (value.front() == ' ' || value.back() == ' ') return bad("leading or trailing blank");
  for (unsigned char c : value)
    if (c < 0x20 || c > 0x7e) return bad("only printable ASCII characters are allowed");
  return Ok();
}

Status ValidateOptions(const Options& o) {
  SECPROF_TRY(ValidateName(o.vendor, "vendor"));
  SECPROF_TRY(ValidateName(o.model, "model"));
  if (o.count < 1 || o.count > kMaxCount)
    return Fail(ErrorCode::kInvalidInput,
                "--count must be between 1 and " + std::to_string(kMaxCount));
  if (o.out_dir.empty()) return Fail(ErrorCode::kInvalidInput, "--out: no directory given");
  if (o.keystore == keystore::StoreKind::kPkcs11 && (o.pkcs11.token_label.empty()))
    return Fail(ErrorCode::kInvalidInput, "--keystore pkcs11 needs --token");
  return Ok();
}

// The output directory's lock (core/posix.h FileLock on "<dir>/.lock"), held for the whole run.
Result<posix::FileLock> LockOutDir(const std::string& dir) {
  const std::string path = (fs::path(dir) / ".lock").string();
  auto lock = posix::FileLock::TryAcquire(path, 0600);
  if (!lock && lock.error().code() == ErrorCode::kConflict)
    return Fail(ErrorCode::kConflict,
                "another secprof manufacture is running on " + dir + " (" + path + " is locked)");
  if (!lock) return Fail(ErrorCode::kIo, lock.error().message());
  return lock;
}

// The vendor CA: its certificate and a signer for its key.
struct VendorCa {
  identity::Certificate cert;
  std::unique_ptr<crypto::Signer> signer;
  bool created = false;
};

Result<VendorCa> MakeOrReuseCa(const fs::path& out, const Options& o, bool have_things,
                               const Clock& clock, crypto::Random& rng) {
  keystore::FileKeyStoreOptions so;
  so.dir = (out / kCaKeystore).string();
  so.random = &rng;
  std::error_code ec;
  fs::create_directories(out / kCaDir, ec);
  if (ec)
    return Fail(ErrorCode::kIo, "cannot create " + (out / kCaDir).string() + ": " + ec.message());
  auto store = keystore::FileKeyStore::Open(std::move(so));
  if (!store) return Fail(store.error().WithContext("vendor CA key store"));
  const std::string ca_path = (out / kCaCert).string();
  auto pem = ReadFile(ca_path);
  if (pem) {
    auto cert = identity::Certificate::FromPem(*pem);
    if (!cert) return Fail(cert.error().WithContext(ca_path));
    auto signer = (*store)->GetSigner(kCaKeyLabel, crypto::SignatureAlgorithm::kEcdsaP256Sha256);
    if (!signer) return Fail(signer.error().WithContext("vendor CA key"));
    if (!cert->MatchesPublicKey((*signer)->public_key()))
      return Fail(ErrorCode::kConflict,
                  ca_path + " does not certify the vendor CA key in " + (*store)->Describe());
    if (cert->subject().organization != o.vendor)
      return Fail(ErrorCode::kConflict, ca_path + " belongs to vendor '" +
                                            cert->subject().organization + "', not '" + o.vendor +
                                            "'");
    return VendorCa{std::move(*cert), std::move(*signer), false};
  }
  if (pem.error().code() != ErrorCode::kNotFound) return Fail(pem.error());
  if (have_things)
    return Fail(ErrorCode::kInvalidInput, "the manifest lists things but " + ca_path +
                                              " is missing; refusing to make a new "
                                              "vendor CA that would not match their IDevIDs");
  // A CA key left by an interrupted first run is reused; otherwise a new one is made.
  auto pub = (*store)->PublicKey(kCaKeyLabel);
  if (!pub && pub.error().code() == ErrorCode::kNotFound)
    pub = (*store)->GenerateKey(kCaKeyLabel, crypto::KeyType::kP256);
  if (!pub) return Fail(pub.error().WithContext("vendor CA key"));
  SECPROF_ASSIGN_OR_RETURN(
      auto signer, (*store)->GetSigner(kCaKeyLabel, crypto::SignatureAlgorithm::kEcdsaP256Sha256));
  identity::CaOptions ca;
  ca.organization = o.vendor;
  ca.common_name = o.vendor + " IDevID CA";
  auto cert = identity::CreateVendorCa(*signer, ca, clock, rng);
  if (!cert) return Fail(cert.error().WithContext("creating the vendor CA certificate"));
  SECPROF_TRY(WriteFileAtomic(ca_path, cert->ToPem(), 0644));
  return VendorCa{std::move(*cert), std::move(signer), true};
}

// Where the things' keys go.
class ThingKeys {
 public:
  static Result<ThingKeys> Open(const Options& o) {
    ThingKeys k;
    if (o.keystore == keystore::StoreKind::kPkcs11) {
      auto token = keystore::Pkcs11KeyStore::Open(o.pkcs11);
      if (!token) return Fail(token.error().WithContext("opening the PKCS#11 key store"));
      k.token_ = std::move(*token);
    }
    return k;
  }
  // The store for the thing whose folder is `thing_dir` (relative `rel`), and how the manifest
  // names its location.
  Result<std::pair<std::unique_ptr<keystore::KeyStore>, std::string>> For(const fs::path& thing_dir,
                                                                          const std::string& rel,
                                                                          crypto::Random& rng) {
    if (token_) return std::make_pair(std::unique_ptr<keystore::KeyStore>(), token_->Describe());
    keystore::FileKeyStoreOptions so;
    so.dir = (thing_dir / "keystore").string();
    so.random = &rng;
    SECPROF_ASSIGN_OR_RETURN(auto store, keystore::FileKeyStore::Open(std::move(so)));
    return std::make_pair(std::unique_ptr<keystore::KeyStore>(std::move(store)), rel + "/keystore");
  }
  keystore::KeyStore* token() { return token_.get(); }

 private:
  std::unique_ptr<keystore::KeyStore> token_;
};

struct MadeThing {
  std::optional<ThingRecord> record;  // nullopt: the serial was taken (skipped)
};

Result<MadeThing> MakeThing(const fs::path& out, const Options& o, int index, VendorCa& ca,
                            ThingKeys& keys, const Clock& clock, crypto::Random& rng) {
  ThingRecord r;
  r.index = index;
  r.serial = SerialFor(o.model, index);
  r.dir = std::string(kThingsDir) + "/" + r.serial;
  const fs::path dir = out / r.dir;
  // The folder claims the serial: mkdir fails on an existing one, left by an earlier run.
  if (::mkdir(dir.c_str(), 0755) != 0) {
    if (errno == EEXIST) return MadeThing{};
    return Fail(ErrorCode::kIo, "cannot create " + dir.string() + ": " + std::strerror(errno));
  }
  r.key_label = "idevid-" + r.serial;
  SECPROF_ASSIGN_OR_RETURN(auto store_and_location, keys.For(dir, r.dir, rng));
  keystore::KeyStore* store =
      store_and_location.first ? store_and_location.first.get() : keys.token();
  r.key_store = keystore::StoreKindName(store->Kind());
  r.key_location = store_and_location.second;
  auto pub = store->GenerateKey(r.key_label, crypto::KeyType::kP256);
  if (!pub) {
    if (pub.error().code() == ErrorCode::kConflict) return MadeThing{};  // never replace a key
    return Fail(pub.error().WithContext("thing " + r.serial));
  }
  identity::IdevidRequest req;
  req.serial_number = r.serial;
  req.model = o.model;
  req.vendor = o.vendor;
  req.key_agreement = true;  // the key also does ECDH (CKA_DERIVE in the token)
  // The manufacturer knows where it made the key: a token key is claimed in the IDevID
  // (identity::kPolicyKeyInToken), which a KDC of SecProf_3/4 requires (docs/KEYSTORE.md).
  if (store->Kind() == keystore::StoreKind::kPkcs11)
    req.policy_oids.push_back(identity::kPolicyKeyInToken);
  auto cert = identity::IssueIdevid(*ca.signer, ca.cert, *pub, req, clock, rng);
  if (!cert) return Fail(cert.error().WithContext("issuing the IDevID of " + r.serial));
  SECPROF_ASSIGN_OR_RETURN(r.setup_code, NewSetupCode(rng));
  r.idevid = r.dir + "/idevid.pem";
  r.trust_anchor = r.dir + "/ca.pem";
  r.idevid_fingerprint = ToHex(cert->fingerprint());
  r.idevid_cert_serial = cert->serial_hex();
  r.created = Rfc3339(clock.Now());
  SECPROF_TRY(WriteFileAtomic((out / r.idevid).string(), cert->ToPem(), 0644));
  SECPROF_TRY(WriteFileAtomic((out / r.trust_anchor).string(), ca.cert.ToPem(), 0644));
  SECPROF_TRY(WriteFileAtomic((dir / "setup-code.txt").string(), r.setup_code + "\n", 0600));
  nlohmann::json thing = {
      {"serial", r.serial},
      {"vendor", o.vendor},
      {"model", o.model},
      {"idevid", "idevid.pem"},
      {"trust_anchor", "ca.pem"},
      {"setup_code_file", "setup-code.txt"},
      {"key", {{"store", r.key_store}, {"label", r.key_label}, {"location", r.key_location}}},
  };
  SECPROF_TRY(WriteFileAtomic((dir / "thing.json").string(), thing.dump(2) + "\n", 0644));
  return MadeThing{std::move(r)};
}

Status WriteManifest(const fs::path& out, const Manifest& m) {
  return WriteFileAtomic((out / kManifestFile).string(), ManifestToJson(m), 0600);
}

}  // namespace

std::string SerialFor(const std::string& model, int index) {
  std::string slug;
  for (char c : model) {
    const char l = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9')) {
      slug += l;
    } else if (!slug.empty() && slug.back() != '-') {
      slug += '-';
    }
    if (slug.size() >= kMaxSlug) break;
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  if (slug.empty()) slug = "thing";
  char num[16];
  std::snprintf(num, sizeof num, "%06d", index);
  return slug + "-" + num;
}

Result<std::string> NewSetupCode(crypto::Random& rng) {
  // RFC 4648 §6: 10 bytes are 80 bits, exactly 16 base32 characters, no padding; grouped by four
  // with '-' for typing (the KDC ignores the dashes and the case: domain::NormalizeSetupCode).
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  SECPROF_ASSIGN_OR_RETURN(crypto::Bytes b, rng.Draw(kSetupCodeBits / 8));
  std::string code;
  code.reserve(kSetupCodeLength);
  size_t bit = 0;
  for (size_t i = 0; i < kSetupCodeBits / 5; ++i, bit += 5) {
    unsigned v = 0;
    for (size_t k = 0; k < 5; ++k) {
      size_t at = bit + k;
      v = (v << 1) | ((b[at / 8] >> (7 - at % 8)) & 1u);
    }
    if (i > 0 && i % 4 == 0) code.push_back('-');
    code.push_back(kAlphabet[v]);
  }
  crypto::Cleanse(b);
  return code;
}

Result<Outcome> Manufacture(const Options& o, const Clock& clock, crypto::Random& rng) {
  SECPROF_TRY(ValidateOptions(o));
  const fs::path out(o.out_dir);
  std::error_code ec;
  fs::create_directories(out / kThingsDir, ec);
  if (ec)
    return Fail(ErrorCode::kIo,
                "cannot create " + (out / kThingsDir).string() + ": " + ec.message());
  SECPROF_ASSIGN_OR_RETURN(posix::FileLock lock, LockOutDir(o.out_dir));

  Outcome outcome;
  Manifest& m = outcome.manifest;
  const std::string manifest_path = (out / kManifestFile).string();
  auto text = ReadFile(manifest_path);
  if (text) {
    SECPROF_ASSIGN_OR_RETURN(m, ManifestFromJson(*text, manifest_path));
    if (m.vendor != o.vendor || m.model != o.model) {
      return Fail(ErrorCode::kConflict, o.out_dir + " holds things of vendor '" + m.vendor +
                                            "' model '" + m.model + "'; refusing to add vendor '" +
                                            o.vendor + "' model '" + o.model +
                                            "' (use another --out directory)");
    }
  } else if (text.error().code() == ErrorCode::kNotFound) {
    m.vendor = o.vendor;
    m.model = o.model;
  } else {
    return Fail(text.error());
  }

  SECPROF_ASSIGN_OR_RETURN(VendorCa ca, MakeOrReuseCa(out, o, !m.things.empty(), clock, rng));
  outcome.ca_created = ca.created;
  m.ca_certificate = kCaCert;
  m.ca_fingerprint = ToHex(ca.cert.fingerprint());
  m.ca_key_location = kCaKeystore;
  m.ca_key_label = kCaKeyLabel;
  SECPROF_ASSIGN_OR_RETURN(ThingKeys keys, ThingKeys::Open(o));

  outcome.first_new = m.things.size();
  int next = 1;
  for (const ThingRecord& t : m.things) next = std::max(next, t.index + 1);
  int made = 0;
  // Serials taken by interrupted runs are skipped; give up after a generous number of them.
  for (int skipped = 0; made < o.count;) {
    auto thing = MakeThing(out, o, next, ca, keys, clock, rng);
    ++next;
    if (!thing) {
      // Record what was completed before reporting the failure.
      auto st = WriteManifest(out, m);
      (void)st;
      return Fail(thing.error());
    }
    if (!thing->record) {
      if (++skipped > kMaxCount) return Fail(ErrorCode::kInternal, "no free serial found");
      continue;
    }
    m.things.push_back(std::move(*thing->record));
    ++made;
  }
  SECPROF_TRY(WriteManifest(out, m));
  return outcome;
}

}  // namespace secprof::manufacture

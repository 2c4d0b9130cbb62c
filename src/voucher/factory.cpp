// The manufacturer's voucher service over a factory directory (voucher.h, Factory): the layout is
// the one `secprof manufacture` writes (manufacture.h).
#include <filesystem>

#include "secprof/core/fs.h"
#include "secprof/core/hex.h"
#include "secprof/keystore/file_store.h"
#include "secprof/manufacture/manufacture.h"
#include "secprof/voucher/voucher.h"

namespace secprof::voucher {
namespace {

namespace fs = std::filesystem;

constexpr const char* kManifestFile = "manifest.json";
constexpr const char* kCaCert = "ca/ca.pem";
constexpr const char* kCaKeystore = "ca/keystore";
constexpr const char* kKekFile = "kek";
// Longest validity a voucher may be given: 100 years.
constexpr std::chrono::seconds kMaxValidity = std::chrono::days(36525);

// A path from the manifest: relative and without "..", so a manifest cannot point outside the
// factory directory.
Result<fs::path> Inside(const fs::path& dir, const std::string& rel, const std::string& field) {
  const fs::path p(rel);
  if (rel.empty() || p.is_absolute())
    return Fail(ErrorCode::kInvalidInput, field + ": '" + rel + "' is not a relative path");
  for (const auto& part : p)
    if (part == "..")
      return Fail(ErrorCode::kInvalidInput, field + ": '" + rel + "' leaves the factory directory");
  return dir / p;
}

Result<identity::Certificate> LoadCert(const fs::path& path) {
  SECPROF_ASSIGN_OR_RETURN(std::string pem, ReadFile(path.string()));
  auto cert = identity::Certificate::FromPem(pem);
  if (!cert) return Fail(cert.error().WithContext(path.string()));
  return cert;
}

}  // namespace

struct Factory::Impl {
  fs::path dir;
  manufacture::Manifest manifest;
  identity::Certificate vendor_ca;
  std::unique_ptr<crypto::Signer> signer;
};

Factory::Factory(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Factory::~Factory() = default;
Factory::Factory(Factory&&) noexcept = default;
Factory& Factory::operator=(Factory&&) noexcept = default;

const identity::Certificate& Factory::vendor_ca() const { return impl_->vendor_ca; }

std::vector<std::string> Factory::serials() const {
  std::vector<std::string> out;
  for (const auto& t : impl_->manifest.things) out.push_back(t.serial);
  return out;
}

std::string Factory::vendor() const { return impl_->vendor_ca.subject().organization; }
std::string Factory::model() const { return impl_->manifest.model; }
crypto::Signer& Factory::signer() { return *impl_->signer; }

Result<Factory> Factory::Open(const std::string& dir) {
  const fs::path root(dir);
  const std::string manifest_path = (root / kManifestFile).string();
  SECPROF_ASSIGN_OR_RETURN(std::string text, ReadFile(manifest_path));
  SECPROF_ASSIGN_OR_RETURN(manufacture::Manifest manifest,
                           manufacture::ManifestFromJson(text, manifest_path));

  const fs::path ca_path = root / kCaCert;
  SECPROF_ASSIGN_OR_RETURN(identity::Certificate ca, LoadCert(ca_path));
  if (!manifest.ca_fingerprint.empty() && manifest.ca_fingerprint != ToHex(ca.fingerprint()))
    return Fail(ErrorCode::kConflict, ca_path.string() + " is not the CA certificate that " +
                                          manifest_path + " names (fingerprint " +
                                          manifest.ca_fingerprint + ")");

  // FileKeyStore::Open would create a missing directory or KEK: check first, change nothing.
  const fs::path ks = root / kCaKeystore;
  std::error_code ec;
  if (!fs::is_directory(ks, ec) || !fs::is_regular_file(ks / kKekFile, ec))
    return Fail(ErrorCode::kNotFound,
                "no vendor CA key store (with its key-encryption key) at " + ks.string());
  keystore::FileKeyStoreOptions so;
  so.dir = ks.string();
  auto store = keystore::FileKeyStore::Open(std::move(so));
  if (!store) return Fail(store.error().WithContext("vendor CA key store " + ks.string()));
  auto signer = (*store)->GetSigner(manufacture::kCaKeyLabel);
  if (!signer) return Fail(signer.error().WithContext("vendor CA key in " + ks.string()));
  if (!ca.MatchesPublicKey((*signer)->public_key()))
    return Fail(ErrorCode::kConflict,
                ca_path.string() + " does not certify the vendor CA key in " + ks.string());
  if (ca.subject().organization.empty())
    return Fail(ErrorCode::kInvalidInput, ca_path.string() + " has no organization (O)");

  auto impl =
      std::make_unique<Impl>(Impl{root, std::move(manifest), std::move(ca), std::move(*signer)});
  return Factory(std::move(impl));
}

Result<Bytes> Factory::Issue(std::string_view serial, const identity::Certificate& domain_ca,
                             std::string_view owner, std::chrono::seconds validity,
                             const Clock& clock) {
  if (validity < std::chrono::seconds(1) || validity > kMaxValidity)
    return Fail(ErrorCode::kInvalidInput, "voucher validity must be 1 s .. 100 years, not " +
                                              std::to_string(validity.count()) + " s");
  const manufacture::ThingRecord* thing = nullptr;
  for (const auto& t : impl_->manifest.things)
    if (t.serial == serial) thing = &t;
  if (!thing)
    return Fail(ErrorCode::kNotFound, "serial " + std::string(serial) + " is not in " +
                                          (impl_->dir / kManifestFile).string());

  // The thing's IDevID must carry the serial the voucher names and come from this vendor CA.
  SECPROF_ASSIGN_OR_RETURN(fs::path idevid_path,
                           Inside(impl_->dir, thing->idevid, "manifest: " + thing->serial));
  SECPROF_ASSIGN_OR_RETURN(identity::Certificate idevid, LoadCert(idevid_path));
  if (idevid.subject().serial_number != serial)
    return Fail(ErrorCode::kConflict, idevid_path.string() + " names serial '" +
                                          idevid.subject().serial_number + "', not '" +
                                          std::string(serial) + "'");
  if (!(idevid.issuer() == impl_->vendor_ca.subject()))
    return Fail(ErrorCode::kConflict, idevid_path.string() + " was not issued by the vendor CA " +
                                          impl_->vendor_ca.subject().text);

  Voucher v;
  v.serial = std::string(serial);
  v.vendor = impl_->vendor_ca.subject().organization;
  v.model = impl_->manifest.model;
  v.owner = std::string(owner);
  v.domain_hash = DomainHash(domain_ca);
  v.created = UnixSeconds(clock);
  v.expires = v.created + validity.count();
  return voucher::Issue(*impl_->signer, v);
}

Result<Bytes> IssueFromFactory(const std::string& factory_dir, std::string_view serial,
                               const identity::Certificate& domain_ca, std::string_view owner,
                               std::chrono::seconds validity, const Clock& clock) {
  SECPROF_ASSIGN_OR_RETURN(Factory f, Factory::Open(factory_dir));
  return f.Issue(serial, domain_ca, owner, validity, clock);
}

}  // namespace secprof::voucher

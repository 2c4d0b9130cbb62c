// The KDC's key directory (kdc.h "Files").
#include <sys/stat.h>

#include <filesystem>

#include "secprof/cbor/cbor.h"
#include "secprof/core/fs.h"
#include "secprof/kdc/kdc.h"
#include "secprof/keystore/file_store.h"

namespace secprof::kdc {

namespace fs = std::filesystem;

namespace {

constexpr const char* kCaLabel = "domain-ca";
constexpr const char* kTlsLabel = "kdc-tls";
constexpr size_t kKekSize = 32;

Status EnsurePrivateDir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Fail(ErrorCode::kIo, "cannot create " + dir + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0)
    return Fail(ErrorCode::kIo, "cannot set mode 0700 on " + dir);
  return {};
}

Result<std::unique_ptr<keystore::FileKeyStore>> OpenStore(const std::string& keys_dir) {
  keystore::FileKeyStoreOptions o;
  o.dir = keys_dir + "/keystore";
  return keystore::FileKeyStore::Open(std::move(o));
}

// Reads the certificate at `path` whose key is `label`, or makes it with `make` (crash-safe: a key
// without its certificate, left by a kill between the two writes, gets a new certificate for the
// same key, so the domain's pinned SPKI hash does not change).
Result<identity::Certificate> KeyAndCertificate(
    keystore::KeyStore& store, const std::string& label, const std::string& path,
    const std::function<Result<identity::Certificate>(crypto::Signer&)>& make) {
  auto labels = store.List();
  if (!labels) return Fail(labels.error());
  bool have_key = std::find(labels->begin(), labels->end(), label) != labels->end();
  if (have_key && fs::exists(path)) {
    SECPROF_ASSIGN_OR_RETURN(std::string pem, ReadFile(path));
    SECPROF_ASSIGN_OR_RETURN(identity::Certificate cert, identity::Certificate::FromPem(pem));
    SECPROF_ASSIGN_OR_RETURN(crypto::PublicKey pub, store.PublicKey(label));
    auto match = cert.MatchesPublicKey(pub);
    if (!match)
      return Fail(ErrorCode::kConflict, path + " does not certify the key '" + label + "'");
    return cert;
  }
  if (!have_key) {
    auto gen = store.GenerateKey(label, crypto::KeyType::kP256);
    if (!gen) return Fail(gen.error());
  }
  SECPROF_ASSIGN_OR_RETURN(auto signer, store.GetSigner(label));
  SECPROF_ASSIGN_OR_RETURN(identity::Certificate cert, make(*signer));
  SECPROF_TRY(WriteFileAtomic(path, cert.ToPem(), 0644));
  return cert;
}

Result<crypto::SecureBuffer> ReadOrCreateKek(const std::string& path, crypto::Random& rng) {
  if (fs::exists(path)) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || (st.st_mode & 077) != 0)
      return Fail(ErrorCode::kInvalidInput, path + " must exist with mode 0600");
    SECPROF_ASSIGN_OR_RETURN(std::string s, ReadFile(path));
    if (s.size() != kKekSize)
      return Fail(ErrorCode::kInvalidInput, path + " must hold exactly 32 bytes");
    crypto::SecureBuffer k(crypto::ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
    std::fill(s.begin(), s.end(), '\0');
    return k;
  }
  SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer k, rng.DrawSecret(kKekSize));
  SECPROF_TRY(WriteFileAtomic(
      path, std::string_view(reinterpret_cast<const char*>(k.data()), k.size()), 0600));
  return k;
}

}  // namespace

Result<DomainKeys> OpenDomainKeys(const std::string& keys_dir, const std::string& owner,
                                  const Clock& clock, crypto::Random& rng) {
  SECPROF_TRY(EnsurePrivateDir(keys_dir));
  SECPROF_TRY(EnsurePrivateDir(keys_dir + "/vendors"));
  SECPROF_ASSIGN_OR_RETURN(auto store, OpenStore(keys_dir));
  // The domain CA (RFC 5280 §4.2.1.9 cA, path length 0): issues LDevIDs and the KDC certificate.
  auto ca =
      KeyAndCertificate(*store, kCaLabel, keys_dir + "/domain-ca.pem", [&](crypto::Signer& s) {
        identity::CaOptions o;
        o.organization = owner;
        o.common_name = owner + " Domain CA";
        return identity::CreateDomainCa(s, o, clock, rng);
      });
  if (!ca) return Fail(ca.error().WithContext("domain CA"));
  SECPROF_ASSIGN_OR_RETURN(auto ca_signer, store->GetSigner(kCaLabel));
  auto tls = KeyAndCertificate(*store, kTlsLabel, keys_dir + "/kdc.pem",
                               [&](crypto::Signer& s) -> Result<identity::Certificate> {
                                 identity::Name n;
                                 n.common_name = "kdc." + owner;
                                 n.organization = owner;
                                 SECPROF_ASSIGN_OR_RETURN(identity::CertificateRequest csr,
                                                          identity::CreateRequest(s, n));
                                 identity::LdevidPolicy p;
                                 p.validity = std::chrono::days(3650);
                                 p.organization = owner;
                                 return identity::IssueLdevid(*ca_signer, *ca, csr, p, clock, rng);
                               });
  if (!tls) return Fail(tls.error().WithContext("KDC certificate"));
  DomainKeys k{*ca, *tls, tls->ToPem(), {}, {}, {}};
  SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer der, store->ExportPrivate(kTlsLabel));
  SECPROF_ASSIGN_OR_RETURN(crypto::PrivateKey sk,
                           crypto::PrivateKey::FromDer(crypto::ByteView(der.data(), der.size())));
  SECPROF_ASSIGN_OR_RETURN(k.kdc_private_key_pem, sk.ToPem());
  SECPROF_ASSIGN_OR_RETURN(k.wrap_kek, ReadOrCreateKek(keys_dir + "/wrap.kek", rng));
  std::vector<fs::path> vendor_files;
  for (const auto& e : fs::directory_iterator(keys_dir + "/vendors"))
    if (e.path().extension() == ".pem") vendor_files.push_back(e.path());
  std::sort(vendor_files.begin(), vendor_files.end());
  for (const auto& p : vendor_files) {
    SECPROF_ASSIGN_OR_RETURN(std::string pem, ReadFile(p.string()));
    auto cert = identity::Certificate::FromPem(pem);
    if (!cert) return Fail(cert.error().WithContext(p.string()));
    k.vendor_cas.push_back(*cert);
  }
  return k;
}

Result<std::unique_ptr<crypto::Signer>> DomainCaSigner(const std::string& keys_dir) {
  SECPROF_ASSIGN_OR_RETURN(auto store, OpenStore(keys_dir));
  return store->GetSigner(kCaLabel);
}

std::string PairwiseContext(std::string_view serial) { return "pairwise:" + std::string(serial); }
std::string GroupContext(std::string_view group, int64_t epoch) {
  return "group:" + std::string(group) + ":" + std::to_string(epoch);
}

// Keeps a vendor CA as a trust anchor: <keys_dir>/vendors/<sha256 of the DER>.pem.
Status SaveVendorCa(const std::string& keys_dir, const identity::Certificate& ca) {
  SECPROF_TRY(EnsurePrivateDir(keys_dir + "/vendors"));
  const auto& fp = ca.fingerprint();
  std::string path =
      keys_dir + "/vendors/" + cbor::ToHex(crypto::ByteView(fp.data(), fp.size())) + ".pem";
  if (fs::exists(path)) return {};
  return WriteFileAtomic(path, ca.ToPem(), 0644);
}

}  // namespace secprof::kdc

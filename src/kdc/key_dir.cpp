// The KDC's key directory (kdc.h "Files"; docs/DOMAIN.md "Files").
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "internal.h"
#include "secprof/cbor/cbor.h"
#include "secprof/core/fs.h"
#include "secprof/kdc/kdc.h"
#include "secprof/keystore/file_store.h"

namespace secprof::kdc {

namespace fs = std::filesystem;

namespace {

constexpr const char* kCaLabel = "domain-ca";  // in the file store
constexpr const char* kTlsLabel = "kdc-tls";

Status EnsurePrivateDir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Fail(ErrorCode::kIo, "cannot create " + dir + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0)
    return Fail(ErrorCode::kIo, "cannot set mode 0700 on " + dir);
  return {};
}

// The file key store under the KEK kept outside the directory (key_protection.cpp); the old
// layout's own keystore/kek only when that was accepted (store_kek empty).
Result<std::unique_ptr<keystore::FileKeyStore>> OpenStore(const std::string& keys_dir,
                                                          const DomainKek& kek) {
  keystore::FileKeyStoreOptions o;
  o.dir = keys_dir + "/keystore";
  o.kek = kek.store_kek.Clone();
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

// A CN naming the owner: `prefix` + owner + `suffix`, the owner cut so that the whole fits RFC
// 5280's ub-common-name (64), which an owner of up to ub-organization-name (64, Kdc::Create's
// limit) alone would fill. The O carries the whole owner.
std::string CommonName(std::string_view prefix, const std::string& owner, std::string_view suffix) {
  constexpr size_t kUbCommonName = 64;
  return std::string(prefix) + owner.substr(0, kUbCommonName - prefix.size() - suffix.size()) +
         std::string(suffix);
}

}  // namespace

Result<DomainKeys> OpenDomainKeys(const std::string& keys_dir, const std::string& owner,
                                  const Clock& clock, crypto::Random& rng,
                                  const KeyDirOptions& kek_options) {
  SECPROF_ASSIGN_OR_RETURN(DomainKek kek, ResolveDomainKek(keys_dir, kek_options, rng));
  SECPROF_TRY(EnsurePrivateDir(keys_dir));
  SECPROF_TRY(EnsurePrivateDir(keys_dir + "/vendors"));
  SECPROF_ASSIGN_OR_RETURN(auto store, OpenStore(keys_dir, kek));
  // The domain CA key: the file store, or a token (issue 9 item 12; CaKeyLocation).
  SECPROF_ASSIGN_OR_RETURN(CaKeyPlace place, CaKeyLocation(keys_dir, kek_options, rng, true));
  std::unique_ptr<keystore::KeyStore> token;
  keystore::KeyStore* ca_store = store.get();
  const std::string ca_path = keys_dir + "/domain-ca.pem";
  const bool read_only_ca = place.token && !kek_options.open_ca_token && fs::exists(ca_path);
  if (place.token && !read_only_ca) {
    SECPROF_ASSIGN_OR_RETURN(token, OpenCaToken(place, kek_options));
    ca_store = token.get();
  }
  // The domain CA (RFC 5280 §4.2.1.9 cA, path length 0): issues LDevIDs and the KDC certificate.
  auto make_ca = [&](crypto::Signer& s) {
    identity::CaOptions o;
    o.organization = owner;
    o.common_name = CommonName("", owner, " Domain CA");
    return identity::CreateDomainCa(s, o, clock, rng);
  };
  Result<identity::Certificate> ca = Fail(ErrorCode::kInternal, "unset");
  if (read_only_ca) {
    auto pem = ReadFile(ca_path);
    ca = pem ? identity::Certificate::FromPem(*pem)
             : Result<identity::Certificate>(Fail(pem.error()));
  } else {
    ca = KeyAndCertificate(*ca_store, place.key_label, ca_path, make_ca);
  }
  if (!ca) return Fail(ca.error().WithContext("domain CA"));
  // With the CA key in a token, the KDC's DTLS key is made and used there too. The KDC's
  // certificate carries the KDC role (extendedKeyUsage id-kp-serverAuth; docs/DOMAIN.md "Roles and
  // anchors"), which no LDevID has.
  const std::string tls_label = place.token ? TlsKeyLabel(place) : std::string(kTlsLabel);
  keystore::KeyStore* tls_store = place.token ? ca_store : store.get();
  auto make_tls = [&](crypto::Signer& s) -> Result<identity::Certificate> {
    if (read_only_ca)
      return Fail(ErrorCode::kNotFound, "no KDC certificate yet: start the KDC first");
    SECPROF_ASSIGN_OR_RETURN(auto ca_signer, ca_store->GetSigner(place.key_label));
    identity::Name n;
    n.common_name = CommonName("kdc.", owner, "");
    n.organization = owner;
    SECPROF_ASSIGN_OR_RETURN(identity::CertificateRequest csr, identity::CreateRequest(s, n));
    identity::LdevidPolicy p;
    p.validity = std::chrono::days(3650);
    p.organization = owner;
    p.extended_key_usage = KdcRole();
    return identity::IssueLdevid(*ca_signer, *ca, csr, p, clock, rng);
  };
  Result<identity::Certificate> tls = Fail(ErrorCode::kInternal, "unset");
  if (read_only_ca) {  // owner tools: the certificate only (the key is in the token)
    auto pem = ReadFile(keys_dir + "/kdc.pem");
    tls = pem ? identity::Certificate::FromPem(*pem)
              : Result<identity::Certificate>(Fail(pem.error()));
  } else {
    tls = KeyAndCertificate(*tls_store, tls_label, keys_dir + "/kdc.pem", make_tls);
    if (tls && !HasKdcRole(*tls)) {
      // A key directory from before roles: re-issue kdc.pem for the SAME key (things pin the
      // KDC's SubjectPublicKeyInfo, so the pin survives), written atomically.
      SECPROF_ASSIGN_OR_RETURN(auto tls_signer, tls_store->GetSigner(tls_label));
      tls = make_tls(*tls_signer);
      if (tls) SECPROF_TRY(WriteFileAtomic(keys_dir + "/kdc.pem", tls->ToPem(), 0644));
    }
  }
  if (!tls) return Fail(tls.error().WithContext("KDC certificate"));
  DomainKeys k{*ca, *tls, tls->ToPem(), {}, {}, {}, {}, {}, {}};
  if (place.token) {
    if (!read_only_ca) k.kdc_private_key_pkcs11 = TokenKeyRef(place, tls_label, kek_options);
  } else {
    SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer der, store->ExportPrivate(kTlsLabel));
    SECPROF_ASSIGN_OR_RETURN(crypto::PrivateKey sk,
                             crypto::PrivateKey::FromDer(crypto::ByteView(der.data(), der.size())));
    SECPROF_ASSIGN_OR_RETURN(k.kdc_private_key_pem, sk.ToPem());
  }
  k.wrap_kek = std::move(kek.wrap);
  k.colocated_kek = kek.colocated;
  k.ca_key_location = place.Describe();
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

Result<std::unique_ptr<crypto::Signer>> DomainCaSigner(const std::string& keys_dir,
                                                       const KeyDirOptions& kek_options) {
  SECPROF_ASSIGN_OR_RETURN(DomainKek kek,
                           ResolveDomainKek(keys_dir, kek_options, crypto::SystemRandomSource()));
  SECPROF_ASSIGN_OR_RETURN(
      CaKeyPlace place, CaKeyLocation(keys_dir, kek_options, crypto::SystemRandomSource(), false));
  if (place.token) {
    SECPROF_ASSIGN_OR_RETURN(auto token, OpenCaToken(place, kek_options));
    return token->GetSigner(place.key_label);  // the signer keeps the token open
  }
  SECPROF_ASSIGN_OR_RETURN(auto store, OpenStore(keys_dir, kek));
  return store->GetSigner(kCaLabel);
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

// Key protection at the KDC (issue 9 items 5 and 12; docs/KEYSTORE.md): where the key directory's
// KEK lives, its migration out of the directory, and the token-key policy for joining things.
#include <filesystem>
#include <sstream>

#include "internal.h"
#include "secprof/core/fs.h"
#include "secprof/core/hex.h"
#include "secprof/keystore/file_store.h"
#include "secprof/keystore/kek.h"
#include "secprof/keystore/pkcs11_store.h"

namespace secprof::kdc {

namespace fs = std::filesystem;
using crypto::ByteView;
using crypto::SecureBuffer;

namespace {

constexpr const char* kStorePurpose = "kdc keystore";

ByteView View(const SecureBuffer& b) { return ByteView(b.data(), b.size()); }
bool Exists(const std::string& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}
std::string OldWrapKek(const std::string& keys_dir) { return keys_dir + "/wrap.kek"; }
std::string OldStoreKek(const std::string& keys_dir) { return keys_dir + "/keystore/kek"; }
// Present (durably) from before the first key is re-encrypted until the co-located KEK files are
// gone: while it exists the key store is part old KEK, part new, and only a re-run of the
// migration completes it (docs/KEYSTORE.md "Moving the KDC's KEK out").
std::string MigrationMarker(const std::string& keys_dir) { return keys_dir + "/kek-migration"; }

keystore::KekLocation Location(const std::string& keys_dir, const KeyDirOptions& o) {
  return keystore::KekLocation{o.kek_file, kKdcKekEnvVar, keystore::SiblingKekPath(keys_dir),
                               o.kek_env};
}

Error Colocated(const std::string& keys_dir, const std::string& what) {
  return Error(ErrorCode::kInvalidInput,
               what + ": a KEK inside the key directory " + keys_dir +
                   " travels with every copy of it, and with it every thing's PSK and the domain "
                   "CA key (issue 9 item 12). Run `secprof kdc migrate-kek` to move it out, or "
                   "pass --allow-colocated-kek to accept it (audited)");
}

}  // namespace

Result<DomainKek> ResolveDomainKek(const std::string& keys_dir, const KeyDirOptions& o,
                                   crypto::Random& rng) {
  DomainKek out;
  if (Exists(MigrationMarker(keys_dir)))
    return Fail(ErrorCode::kConflict, kKekMigrationInterrupted,
                "a KEK migration of " + keys_dir +
                    " was interrupted: its key store is partly re-encrypted. Run `secprof kdc "
                    "migrate-kek` again (with the same --kek-file, if one was given) to finish it");
  if (Exists(OldWrapKek(keys_dir)) || Exists(OldStoreKek(keys_dir))) {
    if (!o.allow_colocated_kek)
      return Fail(Colocated(keys_dir,
                            "the key directory holds its own KEK (wrap.kek, "
                            "keystore/kek; the layout before issue 9)"));
    SECPROF_ASSIGN_OR_RETURN(out.wrap, keystore::ReadKekFile(OldWrapKek(keys_dir)));
    out.colocated =
        "override --allow-colocated-kek: KEK " + OldWrapKek(keys_dir) + " inside the key directory";
    return out;  // store_kek empty: the key store's own keystore/kek
  }
  // A new domain gets a fresh KEK; an existing one must find its own (never a silent new one).
  const bool fresh = !Exists(keys_dir + "/domain-ca.pem");
  auto kek = keystore::LoadKek(Location(keys_dir, o), fresh, rng);
  if (!kek) return Fail(kek.error().WithContext("the KDC's KEK"));
  if (!kek->path.empty() && keystore::PathInside(kek->path, keys_dir)) {
    if (!o.allow_colocated_kek)
      return Fail(Colocated(keys_dir, "--kek-file " + kek->path + " is inside it"));
    out.colocated =
        "override --allow-colocated-kek: KEK " + kek->path + " inside the key directory";
  }
  SECPROF_ASSIGN_OR_RETURN(out.store_kek, keystore::DeriveKek(View(kek->key), kStorePurpose));
  out.wrap = std::move(kek->key);
  return out;
}

// The order is the crash-safety argument (tested step by step in
// tests/kdc/kek_migration_power_loss_test.cpp): (1) the KEK outside, same bytes as wrap.kek;
// (2) the marker, durable; (3) the key store re-encrypted, key by key (resumable); (4)
// keystore/kek, then wrap.kek removed; (5) the marker removed. A crash before (2) leaves the old
// layout whole; between (2) and (5) the marker makes every start refuse until a re-run, which
// finds wrap.kek (or, after (4), the KEK outside) and completes.
Result<std::string> MigrateDomainKek(const std::string& keys_dir, const KeyDirOptions& o,
                                     FileSystem& fsys) {
  auto& rng = crypto::SystemRandomSource();
  if (!Exists(OldWrapKek(keys_dir)) && !Exists(OldStoreKek(keys_dir))) {
    if (!Exists(MigrationMarker(keys_dir)))
      return std::string("nothing to migrate: no KEK inside ") + keys_dir;
    // Interrupted after (4): the key store is whole under the KEK outside; only (5) is left.
    SECPROF_TRY(keystore::RemoveKekFile(MigrationMarker(keys_dir), fsys));
    return "finished an interrupted migration of " + keys_dir;
  }
  const keystore::KekLocation loc = Location(keys_dir, o);
  if (Exists(OldWrapKek(keys_dir))) {
    SECPROF_ASSIGN_OR_RETURN(SecureBuffer master, keystore::ReadKekFile(OldWrapKek(keys_dir)));
    auto target = keystore::LoadKek(loc, /*create=*/false, rng);
    if (!target && target.error().code() == ErrorCode::kNotFound) {
      const std::string to = o.kek_file.empty() ? loc.default_file : o.kek_file;
      if (keystore::PathInside(to, keys_dir))
        return Fail(ErrorCode::kInvalidInput, to + " is inside the key directory: choose a place "
                                                   "outside it");
      SECPROF_TRY(keystore::WriteNewKekFile(to, View(master), rng));
      target = keystore::LoadKek(loc, /*create=*/false, rng);
    }
    if (!target) return Fail(target.error());
    if (!target->path.empty() && keystore::PathInside(target->path, keys_dir))
      return Fail(ErrorCode::kInvalidInput,
                  target->path + " is inside the key directory: choose a place outside it");
    if (!crypto::ConstantTimeEqual(View(target->key), View(master)))
      return Fail(ErrorCode::kConflict,
                  target->where +
                      " already holds another key; remove it or give --kek-file "
                      "elsewhere");
    SECPROF_TRY(WriteFileAtomic(
        MigrationMarker(keys_dir),
        "secprof: KEK migration in progress; run `secprof kdc migrate-kek`\n", 0600, fsys));
    if (Exists(OldStoreKek(keys_dir))) {
      SECPROF_ASSIGN_OR_RETURN(SecureBuffer old_store,
                               keystore::ReadKekFile(OldStoreKek(keys_dir)));
      SECPROF_ASSIGN_OR_RETURN(SecureBuffer new_store,
                               keystore::DeriveKek(View(master), kStorePurpose));
      SECPROF_TRY(keystore::RewrapFileStore(keys_dir + "/keystore", View(old_store),
                                            View(new_store), rng, fsys));
    }
    // The key store first, wrap.kek last: until wrap.kek is gone, a re-run finds all it needs.
    SECPROF_TRY(keystore::RemoveKekFile(OldStoreKek(keys_dir), fsys));
    SECPROF_TRY(keystore::RemoveKekFile(OldWrapKek(keys_dir), fsys));
    SECPROF_TRY(keystore::RemoveKekFile(MigrationMarker(keys_dir), fsys));
    return "KEK moved to " + target->where +
           "; key store re-encrypted; removed wrap.kek and "
           "keystore/kek from " +
           keys_dir;
  }
  // Only keystore/kek left: cannot happen through MigrateDomainKek (wrap.kek is removed last).
  return Fail(ErrorCode::kInvalidInput, OldStoreKek(keys_dir) +
                                            " exists without wrap.kek: not a layout this "
                                            "migration knows");
}

std::string CaKeyPlace::Describe() const {
  return token ? "pkcs11:token=" + token_label + ";object=" + key_label : std::string("file");
}

Result<CaKeyPlace> CaKeyLocation(const std::string& keys_dir, const KeyDirOptions& o,
                                 crypto::Random& rng, bool create) {
  const std::string path = keys_dir + "/domain-ca.key";
  CaKeyPlace place;
  if (Exists(path)) {
    SECPROF_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
    std::istringstream in(text);
    std::string kind;
    in >> kind >> place.token_label >> place.key_label;
    if (kind != "pkcs11" || place.token_label.empty() || place.key_label.empty())
      return Fail(ErrorCode::kInvalidInput, path + ": expected \"pkcs11 <token> <key label>\"");
    place.token = true;
    if (!o.ca_token.empty() && o.ca_token != place.token_label)
      return Fail(ErrorCode::kInvalidInput, "this domain's CA key is on token '" +
                                                place.token_label + "', not '" + o.ca_token + "'");
    return place;
  }
  if (Exists(keys_dir +
             "/domain-ca.pem")) {  // an existing domain with its CA key in the file store
    if (!o.ca_token.empty())
      return Fail(ErrorCode::kInvalidInput,
                  "this domain's CA key is in the file store of " + keys_dir +
                      "; it cannot be moved into a token (a new domain can be made in one)");
    return place;
  }
  if (o.ca_token.empty()) return place;
  SECPROF_ASSIGN_OR_RETURN(crypto::Bytes id, rng.Draw(8));
  place.token = true;
  place.token_label = o.ca_token;
  place.key_label = "domain-ca-" + ToHex(id);
  // Written before the key is made: a crash in between leaves a place whose key is made on the
  // next start, never a key nobody knows about.
  if (create)
    SECPROF_TRY(
        WriteFileAtomic(path, "pkcs11 " + place.token_label + " " + place.key_label + "\n", 0600));
  return place;
}

namespace {
keystore::Pkcs11KeyStoreOptions TokenOptions(const CaKeyPlace& place, const KeyDirOptions& o) {
  keystore::Pkcs11KeyStoreOptions po;
  if (!o.ca_pkcs11_module.empty()) po.module_path = o.ca_pkcs11_module;
  po.token_label = place.token_label;
  po.pin = o.ca_pin;  // a Clone in wiping memory
  return po;
}
}  // namespace

std::string TlsKeyLabel(const CaKeyPlace& place) {
  const std::string prefix = "domain-ca-";
  return "kdc-tls-" + (place.key_label.rfind(prefix, 0) == 0 ? place.key_label.substr(prefix.size())
                                                             : place.key_label);
}

coap::Pkcs11PrivateKey TokenKeyRef(const CaKeyPlace& place, const std::string& label,
                                   const KeyDirOptions& o) {
  coap::Pkcs11PrivateKey k;
  k.uri = "pkcs11:token=" + place.token_label + ";object=" + label + ";type=private";
  k.pin = o.ca_pin.value().Clone();
  k.module_path =
      o.ca_pkcs11_module.empty() ? std::string(keystore::kDefaultPkcs11Module) : o.ca_pkcs11_module;
  return k;
}

void SetKdcPrivateKey(coap::PkiConfig& pki, const DomainKeys& dk) {
  if (!dk.kdc_private_key_pkcs11) {
    pki.private_key_pem = dk.kdc_private_key_pem.Clone();
    return;
  }
  const auto& k = *dk.kdc_private_key_pkcs11;
  pki.private_key_pkcs11 = coap::Pkcs11PrivateKey{k.uri, k.pin.Clone(), k.module_path};
}

Result<std::unique_ptr<keystore::KeyStore>> OpenCaToken(const CaKeyPlace& place,
                                                        const KeyDirOptions& o) {
  keystore::Pkcs11KeyStoreOptions po = TokenOptions(place, o);
  auto s = keystore::Pkcs11KeyStore::Open(po);
  if (!s) return Fail(s.error().WithContext("the domain CA's token"));
  return std::unique_ptr<keystore::KeyStore>(std::move(*s));
}

Result<std::string> CheckCaKeyPlace(const KdcOptions& o, crypto::Random& rng) {
  SECPROF_ASSIGN_OR_RETURN(CaKeyPlace place, CaKeyLocation(o.keys_dir, o.kek, rng, false));
  if (place.token || !domain::PolicyFor(o.profile).tamper_resistant) return std::string();
  if (!o.kek.allow_file_ca_key)
    return Fail(ErrorCode::kInvalidInput,
                std::string(domain::ProfileName(o.profile)) +
                    " keeps the domain CA key in a token: give --pkcs11-token LABEL (with --pin or "
                    "$SECPROF_PKCS11_PIN) when the domain is created, or --allow-file-ca-key to "
                    "keep it in the file store (audited)");
  return std::string("override --allow-file-ca-key: the ") + domain::ProfileName(o.profile) +
         " domain CA key is in the file store of " + o.keys_dir;
}

Status AuditKeyOverrides(registry::Registry& reg, const DomainKeys& dk,
                         const std::string& file_ca_note) {
  if (!file_ca_note.empty())
    SECPROF_TRY(reg.Append("kdc", "override:file-ca-key", "", file_ca_note));
  if (!dk.colocated_kek.empty())
    SECPROF_TRY(reg.Append("kdc", "override:colocated-kek", "", dk.colocated_kek));
  return Ok();
}

bool RequiresTokenKeys(const KdcOptions& o) {
  return o.require_token_keys.value_or(domain::PolicyFor(o.profile).tamper_resistant);
}

Status CheckThingKeyProtection(const KdcOptions& o, const identity::Certificate& idevid) {
  if (!RequiresTokenKeys(o)) return Ok();
  const auto& p = idevid.certificate_policies();
  if (std::find(p.begin(), p.end(), identity::kPolicyKeyInToken) != p.end()) return Ok();
  return Fail(ErrorCode::kVerifyFailed,
              std::string(domain::ProfileName(o.profile)) +
                  " requires things whose keys are in a tamper-resistant token, and this IDevID "
                  "does not carry the manufacturer's key-in-token policy (" +
                  identity::kPolicyKeyInToken + ")");
}

}  // namespace secprof::kdc

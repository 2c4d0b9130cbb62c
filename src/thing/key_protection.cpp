// A thing's KEK and key store protection: see key_protection.h.
#include "key_protection.h"

#include <algorithm>
#include <filesystem>

#include "internal.h"
#include "secprof/cbor/cbor.h"
#include "secprof/core/fs.h"
#include "secprof/core/hex.h"
#include "secprof/domain/keys.h"
#include "secprof/keystore/file_store.h"
#include "secprof/keystore/kek.h"
#include "secprof/keystore/pkcs11_store.h"
#include "secprof/thing/reasons.h"
#include "state_io.h"

namespace secprof::thing {

namespace fs = std::filesystem;
using crypto::Bytes;
using crypto::ByteView;
using crypto::SecureBuffer;

namespace {

constexpr const char* kKeystorePurpose = "thing keystore";
constexpr size_t kHistoryMax = 32;

ByteView View(const SecureBuffer& b) { return ByteView(b.data(), b.size()); }
ByteView View(std::string_view s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
std::string SecretsContext(const std::string& serial) { return "thing-secrets:" + serial; }

// domain::WrapKey under a 32-byte KEK held in memory (file-key things).
class FileSealer final : public SecretSealer {
 public:
  explicit FileSealer(SecureBuffer kek) : kek_(std::move(kek)) {}
  Result<Bytes> Seal(std::string_view context, ByteView plain, crypto::Random& rng) override {
    return domain::WrapKey(View(kek_), context, plain, rng);
  }
  Result<SecureBuffer> Open(std::string_view context, ByteView sealed) override {
    return domain::UnwrapKey(View(kek_), context, sealed);
  }

 private:
  SecureBuffer kek_;
};

// AES-GCM inside the token under a non-extractable key (token things).
class TokenSealer final : public SecretSealer {
 public:
  TokenSealer(std::unique_ptr<keystore::Pkcs11KeyStore> store, std::string label)
      : store_(std::move(store)), label_(std::move(label)) {}
  Result<Bytes> Seal(std::string_view context, ByteView plain, crypto::Random& rng) override {
    return store_->Seal(label_, View(context), plain, rng);
  }
  Result<SecureBuffer> Open(std::string_view context, ByteView sealed) override {
    return store_->Unseal(label_, View(context), sealed);
  }

 private:
  std::unique_ptr<keystore::Pkcs11KeyStore> store_;
  std::string label_;
};

std::string OldKekPath(const std::string& dir) { return dir + "/kek"; }
std::string OldStoreKekPath(const std::string& dir) { return dir + "/keystore/kek"; }
bool Exists(const std::string& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}
bool HasOldKekFiles(const std::string& dir) {
  return Exists(OldKekPath(dir)) || Exists(OldStoreKekPath(dir));
}
bool Has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

Error ColocatedRefusal(const std::string& dir, const std::string& what) {
  return Error(ErrorCode::kInvalidInput, kColocatedKek,
               what + ": a KEK inside the state directory " + dir +
                   " travels with every copy of it (issue 9 item 12). Run `secprof thing --state " +
                   dir +
                   " migrate-kek` to move it out, or pass --allow-colocated-kek to accept "
                   "it (recorded in state.json)");
}

// The KEK given as hex digits (the CLI passes $SECPROF_THING_KEK), decoded into secure memory.
// The checks and messages are keystore::LoadKek's for a KEK in the environment.
Result<keystore::Kek> KekFromHex(const SecureBuffer& hex) {
  const std::string name = std::string("$") + kKekEnvVar;
  if (hex.size() != 2 * keystore::kKekSize)
    return Fail(ErrorCode::kInvalidInput,
                name + " must be " + std::to_string(2 * keystore::kKekSize) + " hex digits");
  keystore::Kek k;
  k.key = SecureBuffer(keystore::kKekSize);
  const std::string_view digits(reinterpret_cast<const char*>(hex.data()), hex.size());
  if (!FromHexInto(digits, k.key.span()))
    return Fail(ErrorCode::kInvalidInput, name + " is not hexadecimal");
  k.where = std::string("env:") + kKekEnvVar;
  return k;
}

// A file-key thing's KEK: `kek_file`, else `kek_hex`, else "<state_dir>.kek" (keystore/kek.h's
// order, with the environment variable's value read by the caller, not here).
Result<keystore::Kek> LoadThingKek(const std::string& kek_file, const SecureBuffer& kek_hex,
                                   const std::string& state_dir, bool create, crypto::Random& rng,
                                   FileSystem& fsys) {
  if (kek_file.empty() && !kek_hex.empty()) return KekFromHex(kek_hex);
  auto kek = keystore::LoadKek(keystore::KekLocation{kek_file, "", DefaultKekPath(state_dir)},
                               create, rng, fsys);
  if (!kek && kek.error().code() == ErrorCode::kNotFound && kek_file.empty())
    return Fail(ErrorCode::kNotFound,
                kek.error().message() + " (give --kek-file PATH or set $" + kKekEnvVar + ")");
  return kek;
}

// kVerifyFailed kWrongKek unless `kek` is the one state.json names (by KekId; a state without an
// id accepts any).
Status CheckKekId(const keystore::Kek& kek, const ThingState& t) {
  SECPROF_ASSIGN_OR_RETURN(std::string id, keystore::KekId(View(kek.key)));
  if (t.kek_id.empty() || id == t.kek_id) return Ok();
  return Fail(ErrorCode::kVerifyFailed, kWrongKek,
              "the KEK at " + kek.where + " is not " + t.serial + "'s (its id is " + id +
                  ", state.json expects " + t.kek_id + ")");
}

// Finishes moving the old layout's key store (docs/DOMAIN.md "Thing agent", "State directory"):
// every key still under the co-located store KEK (<state>/keystore/kek) is re-encrypted under
// the key derived from `master`. RewrapFileStore skips keys already moved, so this completes a run
// a crash interrupted. Nothing to do once that file is gone (it is removed only after this).
// REQUIRES: `master` is the thing's KEK (its id checked against state.json): a wrong one would
// re-encrypt the keys under a key nobody holds.
Status FinishStoreRewrap(const std::string& dir, ByteView master, crypto::Random& rng,
                         FileSystem& fsys) {
  if (!Exists(OldStoreKekPath(dir))) return Ok();
  SECPROF_ASSIGN_OR_RETURN(SecureBuffer old_store, keystore::ReadKekFile(OldStoreKekPath(dir)));
  SECPROF_ASSIGN_OR_RETURN(SecureBuffer new_store, keystore::DeriveKek(master, kKeystorePurpose));
  return keystore::RewrapFileStore(dir + "/keystore", View(old_store), View(new_store), rng, fsys);
}

}  // namespace

Result<std::unique_ptr<keystore::Pkcs11KeyStore>> OpenToken(const AgentOptions& ao,
                                                            const std::string& token_label) {
  keystore::Pkcs11KeyStoreOptions o = ao.pkcs11;  // the PIN is cloned, in wiping memory
  o.token_label = token_label;
  return keystore::Pkcs11KeyStore::Open(o);
}

std::string DefaultKekPath(const std::string& state_dir) {
  return keystore::SiblingKekPath(state_dir);
}

Status CheckKeyStoreAllowed(const InitOptions& o, const manufacture::ThingRecord& rec) {
  if (!domain::PolicyFor(o.profile).tamper_resistant || rec.key_store == "pkcs11" ||
      o.allow_file_keys)
    return Ok();
  return Fail(ErrorCode::kInvalidInput, kFileKeys,
              std::string(domain::ProfileName(o.profile)) +
                  " requires tamper-resistant key storage, but the factory made " + rec.serial +
                  "'s keys in a file key store (readable by anyone who can read the state "
                  "directory, and copied with it). Manufacture it with --keystore pkcs11, or pass "
                  "--allow-file-keys to accept it (recorded; a KDC that requires token keys "
                  "still refuses it)");
}

Result<std::string> SetUpKeyProtection(const InitOptions& o, const manufacture::ThingRecord& rec,
                                       ThingState& t, FileSystem& fsys) {
  std::string note;
  if (domain::PolicyFor(o.profile).tamper_resistant && rec.key_store != "pkcs11") {
    t.key_overrides.push_back(kOverrideFileKeys);
    note += "; override --allow-file-keys: file key store in a profile that requires a token";
  }
  if (rec.key_store == "pkcs11") {
    // The sealing key is made in the token at the first Open (which has the PIN).
    t.kek = "token";
    t.kek_label = "kek-" + rec.serial;
    return note;
  }
  const std::string kek_path =
      !o.kek_file.empty() ? o.kek_file
                          : (!o.kek_hex.empty() ? std::string() : DefaultKekPath(o.state_dir));
  if (!kek_path.empty() && keystore::PathInside(kek_path, o.state_dir)) {
    if (!o.allow_colocated_kek) return Fail(ColocatedRefusal(o.state_dir, "KEK " + kek_path));
    t.key_overrides.push_back(kOverrideColocatedKek);
    note += "; override --allow-colocated-kek: KEK " + kek_path + " inside the state directory";
  }
  auto& rng = crypto::SystemRandomSource();
  SECPROF_ASSIGN_OR_RETURN(keystore::Kek kek, LoadThingKek(o.kek_file, o.kek_hex.value, o.state_dir,
                                                           /*create=*/true, rng, fsys));
  SECPROF_ASSIGN_OR_RETURN(t.kek_id, keystore::KekId(View(kek.key)));
  t.kek = "file";
  SECPROF_ASSIGN_OR_RETURN(SecureBuffer store_kek,
                           keystore::DeriveKek(View(kek.key), kKeystorePurpose));
  // The factory's keys, re-encrypted for this thing (the factory folder keeps its own KEK).
  keystore::FileKeyStoreOptions fo;
  fo.dir = o.factory_dir + "/" + rec.key_location;
  SECPROF_ASSIGN_OR_RETURN(auto factory, keystore::FileKeyStore::Open(std::move(fo)));
  keystore::FileKeyStoreOptions so;
  so.dir = o.state_dir + "/keystore";
  so.kek = std::move(store_kek);
  so.file_system = &fsys;
  SECPROF_ASSIGN_OR_RETURN(auto store, keystore::FileKeyStore::Open(std::move(so)));
  SECPROF_ASSIGN_OR_RETURN(std::vector<std::string> labels, factory->List());
  for (const auto& label : labels) {
    SECPROF_ASSIGN_OR_RETURN(crypto::PrivateKey key, factory->Load(label));
    SECPROF_TRY(store->Rewrite(label, key));
  }
  return note;
}

Result<KeyProtection> OpenKeyProtection(const AgentOptions& o, const ThingState& t,
                                        FileSystem& fsys) {
  const std::string& dir = o.state_dir;
  KeyProtection kp;
  auto accept_colocated = [&](const std::string& what) -> Status {
    if (!o.allow_colocated_kek) return Fail(ColocatedRefusal(dir, what));
    if (!Has(t.key_overrides, kOverrideColocatedKek) &&
        !Has(kp.new_overrides, kOverrideColocatedKek))
      kp.new_overrides.push_back(kOverrideColocatedKek);
    return Ok();
  };
  // A thing of a token profile with file keys and no recorded override (made before issue 9).
  if (domain::PolicyFor(t.profile).tamper_resistant && t.key_store == "file" &&
      !Has(t.key_overrides, kOverrideFileKeys)) {
    if (!o.allow_file_keys)
      return Fail(ErrorCode::kInvalidInput, kFileKeys,
                  std::string(domain::ProfileName(t.profile)) +
                      " requires tamper-resistant key storage, but " + t.serial +
                      "'s keys are in a file key store; pass --allow-file-keys to accept it "
                      "(recorded in state.json)");
    kp.new_overrides.push_back(kOverrideFileKeys);
  }
  if (t.kek.empty()) {  // the layout before issue 9: <state>/kek, <state>/keystore/kek
    SECPROF_TRY(accept_colocated(OldKekPath(dir) + " is inside the directory it protects"));
    SECPROF_ASSIGN_OR_RETURN(SecureBuffer k, keystore::ReadKekFile(OldKekPath(dir)));
    kp.sealer = std::make_unique<FileSealer>(std::move(k));
    return kp;  // keystore_kek empty: the store's own co-located kek file
  }
  if (HasOldKekFiles(dir))
    SECPROF_TRY(
        accept_colocated("KEK files of the old layout are still in the directory "
                         "(an interrupted migrate-kek)"));
  if (t.kek == "token") {
    SECPROF_ASSIGN_OR_RETURN(auto store, OpenToken(o, t.token_label));
    SECPROF_ASSIGN_OR_RETURN(bool have, store->HasSealingKey(t.kek_label));
    if (!have) {
      if (!t.wrapped_secrets.empty())
        return Fail(ErrorCode::kNotFound, "the sealing key '" + t.kek_label + "' of " + t.serial +
                                              " is not on token '" + t.token_label +
                                              "': its sealed secrets cannot be opened");
      SECPROF_TRY(store->GenerateSealingKey(t.kek_label));
    }
    kp.sealer = std::make_unique<TokenSealer>(std::move(store), t.kek_label);
    return kp;
  }
  auto& rng = crypto::SystemRandomSource();
  auto kek = LoadThingKek(o.kek_file, o.kek_hex.value, dir, /*create=*/false, rng, fsys);
  if (!kek) return Fail(kek.error().WithContext(t.serial + ": the thing's KEK"));
  if (!kek->path.empty() && keystore::PathInside(kek->path, dir))
    SECPROF_TRY(accept_colocated(kek->path + " is inside the directory it protects"));
  SECPROF_TRY(CheckKekId(*kek, t));
  SECPROF_ASSIGN_OR_RETURN(kp.keystore_kek, keystore::DeriveKek(View(kek->key), kKeystorePurpose));
  // A migrate-kek interrupted after its commit (accepted above): keys may still be under the old
  // store KEK. Moving them first means the store opens every key (MigrateKek's contract).
  SECPROF_TRY(FinishStoreRewrap(dir, View(kek->key), rng, fsys));
  kp.sealer = std::make_unique<FileSealer>(std::move(kek->key));
  return kp;
}

// The order is what makes it crash-safe (docs/DOMAIN.md "Thing agent", "State directory"): the
// moved KEK is made durable first; then state.json is committed in the new layout (the one step
// that switches layouts: before it the thing is in the old layout, untouched but for a KEK file
// outside it); then the key store is re-encrypted and the co-located KEK files removed, which a
// later run or Open completes (OpenKeyProtection: FinishStoreRewrap) if a crash interrupts them.
Result<std::string> Agent::MigrateKek(const AgentOptions& o) {
  return MigrateThingKek(o, DefaultFileSystem());
}

Result<std::string> MigrateThingKek(const AgentOptions& o, FileSystem& fsys) {
  const std::string& dir = o.state_dir;
  const std::string path = dir + "/state.json";
  SECPROF_ASSIGN_OR_RETURN(ThingState t, LoadState(path, fsys));
  auto& rng = crypto::SystemRandomSource();
  std::string did;
  SecureBuffer master;  // file-key things: the thing's KEK, for the key store
  if (t.kek.empty()) {
    SECPROF_ASSIGN_OR_RETURN(master, keystore::ReadKekFile(OldKekPath(dir)));
    if (t.key_store == "file") {
      auto target = LoadThingKek(o.kek_file, o.kek_hex.value, dir, /*create=*/false, rng, fsys);
      if (!target && target.error().code() == ErrorCode::kNotFound) {
        const std::string to = o.kek_file.empty() ? DefaultKekPath(dir) : o.kek_file;
        if (keystore::PathInside(to, dir))
          return Fail(ErrorCode::kInvalidInput, "--kek-file " + to +
                                                    " is inside the state directory: choose a "
                                                    "place outside it");
        SECPROF_TRY(keystore::WriteNewKekFile(to, View(master), rng, fsys));
        target = LoadThingKek(o.kek_file, o.kek_hex.value, dir, /*create=*/false, rng, fsys);
      }
      if (!target) return Fail(target.error());
      if (!target->path.empty() && keystore::PathInside(target->path, dir))
        return Fail(ErrorCode::kInvalidInput,
                    target->path + " is inside the state directory: choose a place outside it");
      if (!crypto::ConstantTimeEqual(View(target->key), View(master)))
        return Fail(ErrorCode::kConflict, target->where +
                                              " already holds another key; remove it or give "
                                              "--kek-file elsewhere");
      SECPROF_ASSIGN_OR_RETURN(t.kek_id, keystore::KekId(View(master)));
      t.kek = "file";
      did = "KEK moved to " + target->where + "; key store re-encrypted";
    } else {
      SECPROF_ASSIGN_OR_RETURN(auto store, OpenToken(o, t.token_label));
      const std::string label = "kek-" + t.serial;
      SECPROF_ASSIGN_OR_RETURN(bool have, store->HasSealingKey(label));
      if (!have) SECPROF_TRY(store->GenerateSealingKey(label));
      if (!t.wrapped_secrets.empty()) {
        SECPROF_ASSIGN_OR_RETURN(Bytes w, cbor::FromHex(t.wrapped_secrets));
        SECPROF_ASSIGN_OR_RETURN(SecureBuffer plain,
                                 domain::UnwrapKey(View(master), SecretsContext(t.serial), w));
        SECPROF_ASSIGN_OR_RETURN(
            Bytes sealed, store->Seal(label, View(SecretsContext(t.serial)), View(plain), rng));
        t.wrapped_secrets = cbor::ToHex(sealed);
      }
      t.kek = "token";
      t.kek_label = label;
      did = "secrets re-sealed under token key '" + label + "'";
    }
    t.key_overrides.erase(
        std::remove(t.key_overrides.begin(), t.key_overrides.end(), kOverrideColocatedKek),
        t.key_overrides.end());
    t.history.push_back({UnixSeconds(o.clock ? *o.clock : SystemClock()), StateName(t.state),
                         StateName(t.state), "migrate-kek: " + did});
    if (t.history.size() > kHistoryMax) t.history.erase(t.history.begin());
    SECPROF_TRY(SaveState(path, t, fsys));  // the commit: the new layout from here on
  } else if (!HasOldKekFiles(dir)) {
    return std::string("nothing to migrate: the KEK is already outside the state directory (") +
           t.kek + ")";
  } else {
    did = "finished an interrupted migration";
    if (t.kek == "file") {  // the key store may be half re-encrypted: the KEK is needed for it
      auto kek = LoadThingKek(o.kek_file, o.kek_hex.value, dir, /*create=*/false, rng, fsys);
      if (!kek) return Fail(kek.error().WithContext(t.serial + ": the thing's KEK"));
      SECPROF_TRY(CheckKekId(*kek, t));
      master = std::move(kek->key);
    }
  }
  // The key store, from its own co-located KEK to the one derived from the moved KEK.
  if (t.kek == "file") SECPROF_TRY(FinishStoreRewrap(dir, View(master), rng, fsys));
  // Last: the co-located KEKs (the state no longer needs them).
  SECPROF_TRY(keystore::RemoveKekFile(OldStoreKekPath(dir), fsys));
  SECPROF_TRY(keystore::RemoveKekFile(OldKekPath(dir), fsys));
  return did + "; removed the KEK files from " + dir;
}

}  // namespace secprof::thing

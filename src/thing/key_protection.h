// Internal to secprof::thing: where a thing's KEK lives and how its secrets are sealed (issue 9
// items 5 and 12; docs/KEYSTORE.md "Where the KEKs live", "Key protection claim").
//
//   file-key things (kek "file"): a 32-byte KEK outside the state directory (InitOptions /
//     AgentOptions kek_file, else kek_hex — the CLI passes $SECPROF_THING_KEK; this library reads
//     no environment variable —, else "<state>.kek"). The secrets in
//     state.json are sealed under it (domain::WrapKey, context "thing-secrets:<serial>"); the file
//     key store under <state>/keystore is encrypted under DeriveKek(KEK, "thing keystore").
//   token things (kek "token"): an AES-256 key generated non-extractable in the token
//     ("kek-<serial>"); the secrets are sealed in the token (CKM_AES_GCM, aad the same context).
//   old layout (kek ""): <state>/kek and <state>/keystore/kek inside the directory: refused unless
//     allow_colocated_kek (recorded); Agent::MigrateKek moves them out.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "secprof/core/fs.h"
#include "secprof/core/result.h"
#include "secprof/crypto/random.h"
#include "secprof/crypto/secure_buffer.h"
#include "secprof/keystore/pkcs11_store.h"
#include "secprof/manufacture/manufacture.h"
#include "secprof/thing/agent.h"

namespace secprof::thing {

// The environment variable the CLI reads into kek_hex; named in messages only.
inline constexpr const char* kKekEnvVar = "SECPROF_THING_KEK";
inline constexpr const char* kOverrideFileKeys = "file-keys";
inline constexpr const char* kOverrideColocatedKek = "colocated-kek";

// Seals the state's secrets under the thing's KEK, wherever that is.
class SecretSealer {
 public:
  virtual ~SecretSealer() = default;
  virtual Result<crypto::Bytes> Seal(std::string_view context, crypto::ByteView plain,
                                     crypto::Random& rng) = 0;
  // kVerifyFailed when `sealed` was not sealed under this KEK for `context`.
  virtual Result<crypto::SecureBuffer> Open(std::string_view context, crypto::ByteView sealed) = 0;
};

struct KeyProtection {
  std::unique_ptr<SecretSealer> sealer;
  // The file key store's KEK; empty for the old layout (the store's own <dir>/kek).
  crypto::SecureBuffer keystore_kek;
  // Overrides newly applied by this Open, to record (state.json + history) once.
  std::vector<std::string> new_overrides;
};

// Before anything is written: refuses (kInvalidInput) a file key store in a profile that requires
// tamper-resistant keys unless o.allow_file_keys.
Status CheckKeyStoreAllowed(const InitOptions& o, const manufacture::ThingRecord& rec);

// At Init: creates the KEK (file things) and the file key store under <state>/keystore with the
// factory's keys re-encrypted under the derived KEK, or names the token's sealing key (token
// things; created at first Open, which has the PIN). Sets t.kek, t.kek_id, t.kek_label and records
// overrides in t.key_overrides. Returns a note for the first history entry ("" when none).
Result<std::string> SetUpKeyProtection(const InitOptions& o, const manufacture::ThingRecord& rec,
                                       ThingState& t, FileSystem& fsys);

// At Open: the sealer and the key store KEK for `t`. Refuses a co-located KEK without
// o.allow_colocated_kek, a missing or wrong KEK.
// Completes the key store's re-encryption of a migrate-kek a crash interrupted after its commit.
// The KEK files and the key store are written through `fsys`.
Result<KeyProtection> OpenKeyProtection(const AgentOptions& o, const ThingState& t,
                                        FileSystem& fsys);

// Agent::MigrateKek (which passes DefaultFileSystem()) with every write through `fsys`: the seam
// AgentTestPeer gives tests (thing/testing.h).
Result<std::string> MigrateThingKek(const AgentOptions& o, FileSystem& fsys);

// The file KEK location of a thing.
std::string DefaultKekPath(const std::string& state_dir);

// The token `token_label` through o.pkcs11's module with its PIN (o.pkcs11.pin, a keystore::Pin).
Result<std::unique_ptr<keystore::Pkcs11KeyStore>> OpenToken(const AgentOptions& o,
                                                            const std::string& token_label);

}  // namespace secprof::thing

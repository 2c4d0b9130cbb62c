// secprof/keystore/kek.h — where a key-encryption key (KEK) lives, kept OUT of the directory it
// protects (issue 9 item 12; docs/KEYSTORE.md "Where the KEKs live").
//
// A thing's state directory and a KDC's key directory hold secrets sealed under a KEK. A KEK
// stored inside the same directory protects nothing against a copy of that directory (a backup,
// a disk image, an exfiltrated folder, a byte-for-byte clone). So a KEK comes, in this order, from
//   1. an explicit file (--kek-file PATH),
//   2. an environment variable (64 hex digits; e.g. $SECPROF_THING_KEK, $SECPROF_KDC_KEK, read by
//      the CLI and passed in KekLocation::env_value), or
//   3. a default file beside, not inside, the directory ("<dir>.kek", mode 0600),
// and a KEK file that lies inside the directory it protects is refused unless the caller passes
// an explicit override (which it records). For token profiles the thing's KEK is an AES key in the
// token instead (Pkcs11KeyStore::GenerateSealingKey).
//
// One 32-byte "master" KEK per directory. Each use gets its own key by HKDF-SHA256 (RFC 5869)
// with info "secprof kek:<purpose>" (DeriveKek), so the file key store and the sealed secrets
// never share an AES key.
#pragma once

#include <string>
#include <string_view>

#include "secprof/core/fs.h"
#include "secprof/core/result.h"
#include "secprof/crypto/random.h"
#include "secprof/crypto/secure_buffer.h"

namespace secprof::keystore {

struct Kek {
  crypto::SecureBuffer key;  // kKekSize bytes
  std::string path;          // the file it came from; empty when it came from the environment
  std::string where;         // for messages: "file:<path>" or "env:<NAME>"
};

// The library reads no environment variable: the caller (the CLI) reads $env_var and passes its
// value in env_value; env_var only names it in results and messages.
struct KekLocation {
  std::string file;          // explicit file; empty: none given
  std::string env_var;       // the variable's name ("SECPROF_THING_KEK"); empty: none
  std::string default_file;  // used when neither gives a KEK
  std::string env_value{};   // the variable's value (consulted when `file` is empty); empty: unset
};

// Resolves `loc` (order above). With `create`, a missing file (explicit or default) is made with
// fresh random bytes, mode 0600, never replacing one that appears concurrently. Errors: kNotFound
// (no KEK and !create, naming every place looked at), kInvalidInput (not 32 bytes, mode not 0600,
// bad hex in the environment variable). A file it creates is written and fsynced through `fsys`
// (WriteNewKekFile).
Result<Kek> LoadKek(const KekLocation& loc, bool create, crypto::Random& rng,
                    FileSystem& fsys = DefaultFileSystem());

// Reads a KEK file: a regular file (no symlink), mode 0600, exactly 32 bytes.
Result<crypto::SecureBuffer> ReadKekFile(const std::string& path);

// Creates `path` (0600) holding `key`, never replacing an existing file (kConflict). On Ok the
// file and its name are durable (the directory is fsynced through `fsys`, the core/fs.h seam; a
// failed fsync is an error, and the file is removed again so that a retry can create it).
Status WriteNewKekFile(const std::string& path, crypto::ByteView key, crypto::Random& rng,
                       FileSystem& fsys = DefaultFileSystem());

// The KEK for `purpose` derived from `master` (HKDF-SHA256, empty salt, info "secprof kek:" +
// purpose, 32 bytes).
Result<crypto::SecureBuffer> DeriveKek(crypto::ByteView master, std::string_view purpose);

// A short public identifier of a KEK (hex of the first 8 bytes of HMAC-SHA256(kek, "secprof kek
// id")) so that a wrong KEK is named as such before anything is decrypted with it.
Result<std::string> KekId(crypto::ByteView kek);

// True when `path` names `dir` itself or something under it (after resolving symlinks and "..":
// std::filesystem::weakly_canonical).
bool PathInside(const std::string& path, const std::string& dir);

// "<dir>.kek" for `dir` given with or without trailing slashes.
std::string SiblingKekPath(const std::string& dir);

// Re-encrypts every key of the file store in `dir` from `old_kek` to `new_kek`, one file at a time
// (each replaced atomically). Resumable: a key that already opens under `new_kek` is left alone,
// so a run interrupted at any point can simply be repeated. The files are written through `fsys`.
Status RewrapFileStore(const std::string& dir, crypto::ByteView old_kek, crypto::ByteView new_kek,
                       crypto::Random& rng, FileSystem& fsys = DefaultFileSystem());

// Removes a co-located KEK file after migration and fsyncs its directory, both through `fsys`
// (strict: a failed fsync is an error). Ok when already absent (no fsync: the directory may be
// gone).
Status RemoveKekFile(const std::string& path, FileSystem& fsys = DefaultFileSystem());

}  // namespace secprof::keystore

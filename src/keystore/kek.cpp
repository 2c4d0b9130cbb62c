// KEK locations: see secprof/keystore/kek.h.
#include "secprof/keystore/kek.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "secprof/core/fs.h"
#include "secprof/core/hex.h"
#include "secprof/core/posix.h"
#include "secprof/crypto/hash.h"
#include "secprof/keystore/file_store.h"

namespace secprof::keystore {
namespace {

namespace fs = std::filesystem;
using crypto::ByteView;
using crypto::SecureBuffer;

}  // namespace

// 0600, exactly kKekSize bytes, a regular file (no symlink).
Result<SecureBuffer> ReadKekFile(const std::string& path) {
  posix::UniqueFd owned(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!owned) return Fail(posix::ErrnoError("cannot open key-encryption key", path));
  const int fd = owned.get();
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    return Fail(ErrorCode::kInvalidInput, "key-encryption key " + path + " is not a regular file");
  if ((st.st_mode & 077) != 0)
    return Fail(ErrorCode::kInvalidInput, "key-encryption key " + path +
                                              " is accessible by group or others; it must be 0600");
  if (static_cast<size_t>(st.st_size) != kKekSize)
    return Fail(ErrorCode::kInvalidInput, "key-encryption key " + path + " holds " +
                                              std::to_string(st.st_size) + " bytes, expected " +
                                              std::to_string(kKekSize));
  SecureBuffer k(kKekSize);
  size_t off = 0;
  while (off < k.size()) {
    ssize_t n = ::read(fd, k.data() + off, k.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Fail(ErrorCode::kIo, "cannot read key-encryption key " + path);
    off += static_cast<size_t>(n);
  }
  return k;
}

namespace {

// Publishes fresh random bytes at `path` (0600) without replacing an existing file: staged with
// WriteFileAtomic, then link(2), which fails with EEXIST rather than replace.
Status CreateKekFile(const std::string& path, crypto::Random& rng, FileSystem& fsys) {
  SECPROF_ASSIGN_OR_RETURN(SecureBuffer fresh, rng.DrawSecret(kKekSize));
  auto st = WriteNewKekFile(path, ByteView(fresh.data(), fresh.size()), rng, fsys);
  if (!st && st.error().code() != ErrorCode::kConflict) return st;
  return Ok();
}

}  // namespace

Status WriteNewKekFile(const std::string& path, ByteView key, crypto::Random& rng,
                       FileSystem& fsys) {
  if (key.size() != kKekSize)
    return Fail(ErrorCode::kInvalidInput, "a key-encryption key is 32 bytes");
  fs::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
  if (ec) return Fail(ErrorCode::kIo, "cannot create " + p.parent_path().string());
  SECPROF_ASSIGN_OR_RETURN(crypto::Bytes tag, rng.Draw(6));
  std::string staging = path + ".new-";
  for (uint8_t b : tag) staging += std::to_string(b);
  SECPROF_TRY(WriteFileAtomic(
      staging, std::string_view(reinterpret_cast<const char*>(key.data()), key.size()), 0600,
      fsys));
  const int rc = ::link(staging.c_str(), path.c_str());
  const int err = errno;
  (void)fsys.Remove(staging);  // through the seam, so that a fault-injecting one sees it gone
  if (rc != 0 && err == EEXIST)
    return Fail(ErrorCode::kConflict, "key-encryption key " + path + " already exists");
  if (rc != 0)
    return Fail(ErrorCode::kIo,
                "cannot create key-encryption key " + path + ": " + std::strerror(err));
  // Strict: the new name survives a power loss only once its directory is synced. When the sync
  // fails the name is removed again, so that a retry creates and syncs it afresh.
  if (auto st = fsys.SyncDir(p.has_parent_path() ? p.parent_path().string() : "."); !st) {
    ::unlink(path.c_str());
    return Fail(st.error().WithContext("key-encryption key " + path));
  }
  return Ok();
}

Result<Kek> LoadKek(const KekLocation& loc, bool create, crypto::Random& rng, FileSystem& fsys) {
  if (loc.file.empty() && !loc.env_var.empty() && !loc.env_value.empty()) {
    const std::string_view hex(loc.env_value);
    if (hex.size() != 2 * kKekSize)
      return Fail(ErrorCode::kInvalidInput,
                  "$" + loc.env_var + " must be " + std::to_string(2 * kKekSize) + " hex digits");
    Kek k;
    k.key = SecureBuffer(kKekSize);
    if (!FromHexInto(hex, k.key.span()))
      return Fail(ErrorCode::kInvalidInput, "$" + loc.env_var + " is not hexadecimal");
    k.where = "env:" + loc.env_var;
    return k;
  }
  const std::string path = loc.file.empty() ? loc.default_file : loc.file;
  if (path.empty()) return Fail(ErrorCode::kInvalidInput, "no key-encryption key location");
  auto key = ReadKekFile(path);
  if (!key && key.error().code() == ErrorCode::kNotFound && create) {
    SECPROF_TRY(CreateKekFile(path, rng, fsys));
    key = ReadKekFile(path);
  }
  if (!key) {
    if (key.error().code() == ErrorCode::kNotFound && !loc.env_var.empty() && loc.file.empty())
      return Fail(ErrorCode::kNotFound,
                  key.error().message() + " (give --kek-file PATH or set $" + loc.env_var + ")");
    return Fail(key.error());
  }
  return Kek{std::move(*key), path, "file:" + path};
}

Result<SecureBuffer> DeriveKek(ByteView master, std::string_view purpose) {
  const std::string info = "secprof kek:" + std::string(purpose);
  return crypto::HkdfSha256(
      master, {}, ByteView(reinterpret_cast<const uint8_t*>(info.data()), info.size()), kKekSize);
}

Result<std::string> KekId(ByteView kek) {
  static constexpr char kLabel[] = "secprof kek id";
  SECPROF_ASSIGN_OR_RETURN(
      crypto::Sha256Digest mac,
      crypto::HmacSha256(kek,
                         ByteView(reinterpret_cast<const uint8_t*>(kLabel), sizeof kLabel - 1)));
  return ToHex(ByteView(mac.data(), 8));
}

bool PathInside(const std::string& path, const std::string& dir) {
  std::error_code e1, e2;
  fs::path p = fs::weakly_canonical(fs::absolute(path), e1);
  fs::path d = fs::weakly_canonical(fs::absolute(dir), e2);
  if (e1 || e2) return false;
  auto pi = p.begin();
  for (auto di = d.begin(); di != d.end(); ++di, ++pi) {
    if (di->empty()) continue;  // trailing separator
    if (pi == p.end() || *pi != *di) return false;
  }
  return true;
}

std::string SiblingKekPath(const std::string& dir) {
  // Absolute and normalised first, so that "dir/", "dir/." or "." name a sibling, not a file
  // inside the directory ("./..kek").
  std::error_code ec;
  fs::path p = fs::absolute(dir, ec);
  std::string d = (ec ? fs::path(dir) : p).lexically_normal().string();
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  return d + ".kek";
}

Status RewrapFileStore(const std::string& dir, ByteView old_kek, ByteView new_kek,
                       crypto::Random& rng, FileSystem& fsys) {
  FileKeyStoreOptions on, oo;
  on.dir = oo.dir = dir;
  on.kek = SecureBuffer(new_kek);
  oo.kek = SecureBuffer(old_kek);
  on.random = oo.random = &rng;
  on.file_system = oo.file_system = &fsys;
  SECPROF_ASSIGN_OR_RETURN(auto fresh, FileKeyStore::Open(std::move(on)));
  SECPROF_ASSIGN_OR_RETURN(auto old, FileKeyStore::Open(std::move(oo)));
  SECPROF_ASSIGN_OR_RETURN(std::vector<std::string> labels, fresh->List());
  for (const auto& label : labels) {
    if (fresh->Load(label)) continue;  // done by an earlier, interrupted run
    auto key = old->Load(label);
    if (!key) return Fail(key.error().WithContext("re-encrypting " + label));
    SECPROF_TRY(fresh->Rewrite(label, *key));
  }
  return Ok();
}

Status RemoveKekFile(const std::string& path, FileSystem& fsys) {
  if (auto rm = fsys.Remove(path); !rm) {
    if (rm.error().code() == ErrorCode::kNotFound) return Ok();  // already absent (its directory
                                                                 // may be gone too)
    return rm;
  }
  // Strict: the removal is durable only once the directory is.
  const fs::path p(path);
  return fsys.SyncDir(p.has_parent_path() ? p.parent_path().string() : ".");
}

}  // namespace secprof::keystore

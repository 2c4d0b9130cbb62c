// FileKeyStore: see secprof/keystore/file_store.h for the contract and the file format.
#include "secprof/keystore/file_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "secprof/core/fs.h"
#include "secprof/core/hex.h"
#include "secprof/core/posix.h"
#include "secprof/crypto/aead.h"

namespace secprof::keystore {
namespace {

namespace fs = std::filesystem;
using crypto::Bytes;
using crypto::ByteView;
using crypto::KeyType;
using crypto::SecureBuffer;

// Version 1 file layout (file_store.h).
constexpr std::array<uint8_t, 4> kMagic = {'S', 'P', 'K', 'S'};
constexpr uint8_t kVersion = 1;
constexpr uint8_t kAlgAes256Gcm = 1;
constexpr size_t kHeaderSize = 8;
constexpr size_t kNonceSize = 12;  // SP 800-38D §5.2.1.1: 96-bit IVs
constexpr size_t kTagSize = 16;
constexpr const char* kKeySuffix = ".key";

uint8_t TypeCode(KeyType t) {
  switch (t) {
    case KeyType::kP256:
      return 1;
    case KeyType::kEd25519:
      return 2;
    case KeyType::kX25519:
      return 3;
    case KeyType::kEd448:
      return 4;
  }
  return 0;
}

Result<KeyType> TypeFromCode(uint8_t c) {
  switch (c) {
    case 1:
      return KeyType::kP256;
    case 2:
      return KeyType::kEd25519;
    case 3:
      return KeyType::kX25519;
    case 4:
      return KeyType::kEd448;
    default:
      return Fail(ErrorCode::kUnsupported, "unknown key type code " + std::to_string(c));
  }
}

std::string Octal(unsigned mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

// Creates `dir` with mode 0700 when absent (parents with the default mode); refuses an existing
// directory that group or others can access.
Status PrepareDir(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return Fail(posix::ErrnoError("cannot stat key directory", dir, errno));
    fs::path p(dir);
    std::error_code ec;
    if (p.has_parent_path() && !p.parent_path().empty())
      fs::create_directories(p.parent_path(), ec);
    if (ec)
      return Fail(ErrorCode::kIo,
                  "cannot create " + p.parent_path().string() + ": " + ec.message());
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      return Fail(posix::ErrnoError("cannot create key directory", dir, errno));
    if (::stat(dir.c_str(), &st) != 0)
      return Fail(posix::ErrnoError("cannot stat key directory", dir, errno));
  }
  if (!S_ISDIR(st.st_mode))
    return Fail(ErrorCode::kInvalidInput, "key directory " + dir + " is not a directory");
  if ((st.st_mode & 077) != 0) {
    return Fail(ErrorCode::kInvalidInput, "key directory " + dir + " has mode " +
                                              Octal(st.st_mode) +
                                              "; it must be accessible by its owner only (0700)");
  }
  return Ok();
}

// Reads a small secret file straight into a wiping buffer. Refuses files that group or others can
// access, and files larger than `max`.
Result<SecureBuffer> ReadSecretFile(const std::string& path, size_t max) {
  posix::UniqueFd owned(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!owned) return Fail(posix::ErrnoError("cannot open", path, errno));
  const int fd = owned.get();
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Fail(posix::ErrnoError("cannot stat", path, errno));
  if (!S_ISREG(st.st_mode)) return Fail(ErrorCode::kInvalidInput, path + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    return Fail(ErrorCode::kInvalidInput,
                path + " has mode " + Octal(st.st_mode) + "; a key file must be 0600");
  }
  if (static_cast<size_t>(st.st_size) > max)
    return Fail(ErrorCode::kInvalidInput, path + " is too large for a key file");
  SecureBuffer buf(static_cast<size_t>(st.st_size));
  size_t off = 0;
  while (off < buf.size()) {
    ssize_t n = ::read(fd, buf.data() + off, buf.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail(posix::ErrnoError("cannot read", path, errno));
    if (n == 0) break;
    off += static_cast<size_t>(n);
  }
  buf.resize(off);
  return buf;
}

// Publishes `data` at `path` (mode 0600) without ever replacing an existing file: the bytes go to
// a hidden staging file with WriteFileAtomic (written, fsynced, renamed), which is then hard-linked
// to `path` — link(2) fails with EEXIST instead of replacing — and unlinked; then the directory is
// fsynced, strictly (FileSystem::SyncDir): Ok only once the new name is durable (on a failed fsync
// the name is removed and the error returned). A crash leaves
// at most a hidden staging or temporary file, which readers ignore. kConflict when `path` exists.
Status PublishNew(const std::string& dir, const std::string& name, std::string_view data,
                  crypto::Random& rng, FileSystem& fsys) {
  const std::string path = (fs::path(dir) / name).string();
  if (::access(path.c_str(), F_OK) == 0)
    return Fail(ErrorCode::kConflict, path + " already exists; it is never overwritten");
  SECPROF_ASSIGN_OR_RETURN(Bytes tag, rng.Draw(8));
  const std::string staging = (fs::path(dir) / ("." + name + ".new-" + ToHex(tag))).string();
  SECPROF_TRY(WriteFileAtomic(staging, data, 0600, fsys));
  if (::link(staging.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(staging.c_str());
    if (err == EEXIST)
      return Fail(ErrorCode::kConflict, path + " already exists; it is never overwritten");
    return Fail(posix::ErrnoError("cannot link", path, err));
  }
  ::unlink(staging.c_str());
  // Strict: the new name is durable only once the directory is. When the sync fails the name is
  // removed again (the caller was told it failed), so that a retry publishes and syncs it afresh.
  if (auto st = fsys.SyncDir(dir); !st) {
    ::unlink(path.c_str());
    return Fail(st.error().WithContext(path));
  }
  return Ok();
}

}  // namespace

FileKeyStore::FileKeyStore(std::string dir, crypto::AeadKey kek, crypto::Random* random,
                           FileSystem* fsys)
    : dir_(std::move(dir)), kek_(std::move(kek)), random_(random), fsys_(fsys) {}

FileKeyStore::~FileKeyStore() = default;

Result<std::unique_ptr<FileKeyStore>> FileKeyStore::Open(FileKeyStoreOptions options) {
  if (options.dir.empty()) return Fail(ErrorCode::kInvalidInput, "file key store: no directory");
  crypto::Random* rng = options.random ? options.random : &crypto::SystemRandomSource();
  FileSystem* fsys = options.file_system ? options.file_system : &DefaultFileSystem();
  SECPROF_TRY(PrepareDir(options.dir));
  SecureBuffer kek = std::move(options.kek);
  if (kek.empty()) {
    const std::string kek_file =
        options.kek_file.empty() ? (fs::path(options.dir) / "kek").string() : options.kek_file;
    auto existing = ReadSecretFile(kek_file, 4096);
    if (!existing && existing.error().code() == ErrorCode::kNotFound) {
      // First use: a fresh KEK, published so that a concurrent first use cannot replace it.
      SECPROF_ASSIGN_OR_RETURN(SecureBuffer fresh, rng->DrawSecret(kKekSize));
      fs::path kp(kek_file);
      const std::string kdir = kp.has_parent_path() ? kp.parent_path().string() : ".";
      auto st = PublishNew(kdir, kp.filename().string(), fresh.AsStringView(), *rng, *fsys);
      if (!st && st.error().code() != ErrorCode::kConflict) return Fail(st.error());
      existing = ReadSecretFile(kek_file, 4096);
    }
    if (!existing) return Fail(existing.error().WithContext("key-encryption key"));
    kek = std::move(*existing);
    if (kek.size() != kKekSize) {
      return Fail(ErrorCode::kInvalidInput, "key-encryption key " + kek_file + " holds " +
                                                std::to_string(kek.size()) + " bytes, expected " +
                                                std::to_string(kKekSize));
    }
  } else if (kek.size() != kKekSize) {
    return Fail(ErrorCode::kInvalidInput, "key-encryption key must be " + std::to_string(kKekSize) +
                                              " bytes, got " + std::to_string(kek.size()));
  }
  SECPROF_ASSIGN_OR_RETURN(crypto::Aead aead, crypto::Aead::AesGcm(kKekSize, kNonceSize, kTagSize));
  SECPROF_ASSIGN_OR_RETURN(crypto::AeadKey key, crypto::AeadKey::Create(aead, kek));
  return std::unique_ptr<FileKeyStore>(new FileKeyStore(options.dir, std::move(key), rng, fsys));
}

std::string FileKeyStore::Describe() const { return "file:" + dir_; }

std::string FileKeyStore::PathFor(const std::string& label) const {
  return (fs::path(dir_) / (label + kKeySuffix)).string();
}

namespace {

Bytes Aad(const uint8_t* header, const std::string& label) {
  // Filled by index: GCC 12 at -O2 misreports vector::insert here (-Warray-bounds).
  Bytes aad(kHeaderSize + label.size());
  for (size_t i = 0; i < kHeaderSize; ++i) aad[i] = header[i];
  for (size_t i = 0; i < label.size(); ++i) aad[kHeaderSize + i] = static_cast<uint8_t>(label[i]);
  return aad;
}

}  // namespace

Result<Bytes> FileKeyStore::Encrypt(const std::string& label, const crypto::PrivateKey& key) {
  SECPROF_TRY(ValidateLabel(label));
  SECPROF_ASSIGN_OR_RETURN(SecureBuffer der, key.ToDer());
  Bytes file(kHeaderSize + kNonceSize + der.size() + kTagSize);
  std::copy(kMagic.begin(), kMagic.end(), file.begin());
  file[4] = kVersion;
  file[5] = kAlgAes256Gcm;
  file[6] = TypeCode(key.type());
  file[7] = 0;
  SECPROF_TRY(random_->Fill(std::span<uint8_t>(file.data() + kHeaderSize, kNonceSize)));
  const Bytes aad = Aad(file.data(), label);
  SECPROF_ASSIGN_OR_RETURN(size_t n,
                           kek_.SealInto(ByteView(file.data() + kHeaderSize, kNonceSize), aad, der,
                                         std::span<uint8_t>(file.data() + kHeaderSize + kNonceSize,
                                                            der.size() + kTagSize)));
  if (n != der.size() + kTagSize) return Fail(ErrorCode::kInternal, "AES-GCM output size");
  return file;
}

Status FileKeyStore::Import(const std::string& label, const crypto::PrivateKey& key) {
  SECPROF_ASSIGN_OR_RETURN(Bytes file, Encrypt(label, key));
  return PublishNew(dir_, label + kKeySuffix,
                    std::string_view(reinterpret_cast<const char*>(file.data()), file.size()),
                    *random_, *fsys_);
}

Status FileKeyStore::Rewrite(const std::string& label, const crypto::PrivateKey& key) {
  SECPROF_ASSIGN_OR_RETURN(Bytes file, Encrypt(label, key));
  // WriteFileAtomic renames over the old file: readers see the old or the new file, never a mix.
  return WriteFileAtomic(PathFor(label),
                         std::string_view(reinterpret_cast<const char*>(file.data()), file.size()),
                         0600, *fsys_);
}

Result<crypto::PrivateKey> FileKeyStore::Load(const std::string& label) {
  SECPROF_TRY(ValidateLabel(label));
  const std::string path = PathFor(label);
  auto data = ReadFile(path);
  if (!data) {
    if (data.error().code() == ErrorCode::kNotFound)
      return Fail(ErrorCode::kNotFound, "no key '" + label + "' in " + Describe());
    return Fail(data.error());
  }
  const auto* p = reinterpret_cast<const uint8_t*>(data->data());
  const size_t size = data->size();
  auto corrupt = [&](const std::string& why) {
    return Fail(ErrorCode::kInvalidInput, "key file " + path + ": " + why);
  };
  if (size < kHeaderSize + kNonceSize + kTagSize) return corrupt("truncated");
  if (!std::equal(kMagic.begin(), kMagic.end(), p)) return corrupt("not a secprof key file");
  if (p[4] != kVersion)
    return Fail(ErrorCode::kUnsupported,
                "key file " + path + ": format version " + std::to_string(p[4]) + " (we read 1)");
  if (p[5] != kAlgAes256Gcm)
    return Fail(ErrorCode::kUnsupported,
                "key file " + path + ": encryption algorithm " + std::to_string(p[5]));
  auto type = TypeFromCode(p[6]);
  if (!type) return Fail(type.error().WithContext("key file " + path));
  if (p[7] != 0) return corrupt("reserved byte is not zero");
  const size_t ct_size = size - kHeaderSize - kNonceSize;
  SecureBuffer der(ct_size - kTagSize);
  const Bytes aad = Aad(p, label);
  auto n = kek_.OpenInto(ByteView(p + kHeaderSize, kNonceSize), aad,
                         ByteView(p + kHeaderSize + kNonceSize, ct_size), der.span());
  if (!n) {
    if (n.error().code() == ErrorCode::kVerifyFailed) {
      return Fail(ErrorCode::kVerifyFailed,
                  "key file " + path +
                      " failed to authenticate: wrong key-encryption key, a modified file, or a "
                      "file that belongs to another label");
    }
    return Fail(n.error().WithContext("key file " + path));
  }
  auto key = crypto::PrivateKey::FromDer(der);
  if (!key) return Fail(key.error().WithContext("key file " + path));
  if (key->type() != *type) return corrupt("key type does not match the header");
  return std::move(*key);
}

Result<crypto::PublicKey> FileKeyStore::GenerateKey(const std::string& label, KeyType type) {
  SECPROF_TRY(ValidateLabel(label));
  if (::access(PathFor(label).c_str(), F_OK) == 0)
    return Fail(ErrorCode::kConflict, "key '" + label + "' already exists in " + Describe());
  SECPROF_ASSIGN_OR_RETURN(crypto::PrivateKey key, crypto::PrivateKey::Generate(type, *random_));
  auto st = Import(label, key);
  if (!st) {
    if (st.error().code() == ErrorCode::kConflict)
      return Fail(ErrorCode::kConflict, "key '" + label + "' already exists in " + Describe());
    return Fail(st.error());
  }
  return key.public_key();
}

Result<std::unique_ptr<crypto::Signer>> FileKeyStore::GetSigner(const std::string& label,
                                                                crypto::SignatureAlgorithm alg) {
  SECPROF_ASSIGN_OR_RETURN(crypto::PrivateKey key, Load(label));
  SECPROF_ASSIGN_OR_RETURN(crypto::SoftwareSigner s,
                           crypto::SoftwareSigner::Create(std::move(key), alg));
  return std::unique_ptr<crypto::Signer>(new crypto::SoftwareSigner(std::move(s)));
}

Result<std::unique_ptr<crypto::KeyAgreement>> FileKeyStore::GetKeyAgreement(
    const std::string& label) {
  SECPROF_ASSIGN_OR_RETURN(crypto::PrivateKey key, Load(label));
  SECPROF_ASSIGN_OR_RETURN(crypto::SoftwareKeyAgreement a,
                           crypto::SoftwareKeyAgreement::Create(std::move(key)));
  return std::unique_ptr<crypto::KeyAgreement>(new crypto::SoftwareKeyAgreement(std::move(a)));
}

Result<crypto::PublicKey> FileKeyStore::PublicKey(const std::string& label) {
  SECPROF_ASSIGN_OR_RETURN(crypto::PrivateKey key, Load(label));
  return key.public_key();
}

Result<SecureBuffer> FileKeyStore::ExportPrivate(const std::string& label) {
  SECPROF_ASSIGN_OR_RETURN(crypto::PrivateKey key, Load(label));
  return key.ToDer();
}

Status FileKeyStore::Delete(const std::string& label) {
  SECPROF_TRY(ValidateLabel(label));
  const std::string path = PathFor(label);
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT)
      return Fail(ErrorCode::kNotFound, "no key '" + label + "' in " + Describe());
    return Fail(posix::ErrnoError("cannot remove", path, errno));
  }
  return fsys_->SyncDir(dir_);  // strict: the removal is durable only once the directory is
}

Result<std::vector<std::string>> FileKeyStore::List() {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const std::string suffix = kKeySuffix;
    if (name.size() <= suffix.size() || name.front() == '.') continue;  // temporaries of writes
    if (name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    std::string label = name.substr(0, name.size() - suffix.size());
    if (!ValidateLabel(label)) continue;
    std::error_code ec2;
    if (!it->is_regular_file(ec2)) continue;
    out.push_back(std::move(label));
  }
  if (ec) return Fail(ErrorCode::kIo, "cannot list " + dir_ + ": " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace secprof::keystore

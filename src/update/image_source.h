// Internal to secprof::update: where the installer's images come from (install.h, InstallOptions
// file_reads): bytes in memory, or a file read in large chunks through mmap(2) or read(2).
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "secprof/core/posix.h"
#include "secprof/crypto/hash.h"
#include "secprof/update/install.h"

namespace secprof::update::detail {

// A read-only mapping of part of a file; unmapped on scope exit.
class Mapping {
 public:
  Mapping(void* p, size_t len) : p_(p), len_(len) {}
  ~Mapping() {
    if (p_ != MAP_FAILED) ::munmap(p_, len_);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  bool ok() const { return p_ != MAP_FAILED; }
  ByteView view() const { return ByteView(static_cast<const uint8_t*>(p_), len_); }

 private:
  void* p_;
  size_t len_;
};

// What ImageSource needs of InstallOptions.
struct FileIo {
  FileReads mode = FileReads::kMmap;
  size_t window = 16u << 20;  // kMmap
  size_t chunk = 1u << 20;    // kRead, and the slices of an image in memory
};

// One image, either in memory or as a file. A file is hashed and copied in one pass of chunks:
// mapped windows of the page cache (kMmap), or read(2) into one buffer (kRead); the image is
// never held in memory whole.
class ImageSource {
 public:
  static ImageSource FromBytes(ByteView b) {
    ImageSource s;
    s.bytes_ = b;
    return s;
  }
  static Result<ImageSource> FromFile(const std::string& path, FileIo io) {
    ImageSource s;
    s.path_ = path;
    s.io_ = io;
    s.fd_ = posix::UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!s.fd_) return Fail(posix::ErrnoError("cannot open image", path));
    struct stat st {};
    if (::fstat(s.fd_.get(), &st) != 0) return Fail(posix::ErrnoError("cannot stat image", path));
    if (!S_ISREG(st.st_mode))
      return Fail(ErrorCode::kInvalidInput, "image " + path + " is not a regular file");
    s.size_ = static_cast<uint64_t>(st.st_size);
    // Advisory only: tell the kernel we read front to back (bigger read-ahead).
    (void)::posix_fadvise(s.fd_.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    return s;
  }

  // The size before reading (fstat for a file). ForEach checks the bytes actually seen too.
  uint64_t size() const { return path_.empty() ? bytes_.size() : size_; }

  // Calls fn(chunk) for consecutive chunks of the image from its start; returns the total.
  template <class Fn>
  Result<uint64_t> ForEach(size_t chunk, Fn&& fn) {
    if (path_.empty()) {
      for (size_t off = 0; off < bytes_.size(); off += chunk)
        SECPROF_TRY(fn(bytes_.subspan(off, std::min(chunk, bytes_.size() - off))));
      return static_cast<uint64_t>(bytes_.size());
    }
    return io_.mode == FileReads::kMmap ? MapEach(fn) : ReadEach(fn);
  }

 private:
  template <class Fn>
  Result<uint64_t> MapEach(Fn& fn) {
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    const size_t window = (io_.window + page - 1) / page * page;  // offsets must be page-aligned
    for (uint64_t off = 0; off < size_; off += window) {
      const size_t len = static_cast<size_t>(std::min<uint64_t>(window, size_ - off));
      Mapping m(::mmap(nullptr, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd_.get(),
                       static_cast<off_t>(off)),
                len);
      if (!m.ok()) return Fail(posix::ErrnoError("cannot map image", path_));
      SECPROF_TRY(fn(m.view()));
    }
    // Only the fstat size was mapped: a file that grew (or shrank without SIGBUS) is refused.
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) return Fail(posix::ErrnoError("cannot stat image", path_));
    if (static_cast<uint64_t>(st.st_size) != size_)
      return Fail(ErrorCode::kIo, "image " + path_ + " changed size while it was read");
    return size_;
  }

  template <class Fn>
  Result<uint64_t> ReadEach(Fn& fn) {
    if (::lseek(fd_.get(), 0, SEEK_SET) != 0)
      return Fail(posix::ErrnoError("cannot seek image", path_));
    std::vector<uint8_t> buf(io_.chunk);
    uint64_t total = 0;
    for (;;) {
      // Fill the buffer as far as the file goes, so every call gets a full chunk.
      size_t have = 0;
      while (have < buf.size()) {
        const ssize_t n = ::read(fd_.get(), buf.data() + have, buf.size() - have);
        if (n < 0) {
          if (errno == EINTR) continue;
          return Fail(posix::ErrnoError("cannot read image", path_));
        }
        if (n == 0) break;
        have += static_cast<size_t>(n);
      }
      if (have == 0) break;
      SECPROF_TRY(fn(ByteView(buf.data(), have)));
      total += have;
      if (have < buf.size()) break;
    }
    return total;
  }

  ByteView bytes_;
  std::string path_;
  FileIo io_;
  posix::UniqueFd fd_;
  uint64_t size_ = 0;
};

struct Hashed {
  crypto::Sha256Digest digest{};
  uint64_t size = 0;
};

// Hashes the whole image (SHA-256) in chunks of `chunk` bytes.
Result<Hashed> HashSource(ImageSource& src, size_t chunk);
// Hashes the file at `path`, read as `io` says.
Result<Hashed> HashPath(const std::string& path, FileIo io);

}  // namespace secprof::update::detail

#include "secprof/core/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "secprof/core/posix.h"

namespace secprof {
namespace {

using posix::ErrnoError;
using posix::UniqueFd;

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}

  Status Append(std::string_view data) override {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::write(fd_.get(), data.data() + off, data.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Fail(ErrnoError("cannot write", path_));
      }
      off += static_cast<size_t>(n);
    }
    return Ok();
  }
  Status Sync() override {
    if (::fsync(fd_.get()) != 0) return Fail(ErrnoError("cannot fsync", path_));
    return Ok();
  }
  Status Close() override {
    if (!fd_.Close()) return Fail(ErrnoError("cannot close", path_));
    return Ok();
  }

 private:
  UniqueFd fd_;
  std::string path_;
};

class PosixFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<WritableFile>> NewFile(const std::string& path, unsigned mode) override {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
    if (!fd) return Fail(ErrnoError("cannot create", path));
    return std::unique_ptr<WritableFile>(new PosixWritableFile(std::move(fd), path));
  }

  Result<std::unique_ptr<WritableFile>> NewTempFile(std::string& tmpl, unsigned mode) override {
    UniqueFd fd(::mkstemp(tmpl.data()));
    if (!fd) {
      const int err = errno;
      const std::filesystem::path p(tmpl);
      return Fail(ErrnoError("cannot create temporary file in",
                             p.has_parent_path() ? p.parent_path().string() : ".", err));
    }
    if (::fchmod(fd.get(), mode) != 0) {
      const int err = errno;
      ::unlink(tmpl.c_str());
      return Fail(ErrnoError("cannot chmod", tmpl, err));
    }
    return std::unique_ptr<WritableFile>(new PosixWritableFile(std::move(fd), tmpl));
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0)
      return Fail(ErrnoError("cannot rename over " + to + ":", from));
    return Ok();
  }

  Status SyncDir(const std::string& dir) override { return posix::FsyncDir(dir); }

  Result<std::string> ReadFile(const std::string& path) override { return secprof::ReadFile(path); }

  Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return Fail(ErrnoError("cannot remove", path));
    return Ok();
  }

  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    namespace fs = std::filesystem;
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
      names.push_back(it->path().filename().string());
    if (ec) return Fail(ErrorCode::kIo, "cannot list " + dir + ": " + ec.message());
    return names;
  }
};

}  // namespace

FileSystem& DefaultFileSystem() {
  static PosixFileSystem fs;
  return fs;
}

Result<std::string> ReadFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Fail(ErrnoError("cannot open", path));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Fail(ErrnoError("cannot stat", path));
  if (S_ISDIR(st.st_mode)) return Fail(ErrorCode::kIo, "cannot read " + path + ": is a directory");
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(ErrnoError("cannot read", path));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status WriteFileAtomic(const std::string& path, std::string_view data, unsigned mode,
                       FileSystem& fs) {
  namespace stdfs = std::filesystem;
  stdfs::path target(path);
  stdfs::path dir = target.has_parent_path() ? target.parent_path() : stdfs::path(".");
  std::string tmpl = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  SECPROF_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, fs.NewTempFile(tmpl, mode));
  auto cleanup_fail = [&](const Error& e) {
    (void)fs.Remove(tmpl);
    return Fail(e);
  };
  if (auto st = file->Append(data); !st) return cleanup_fail(st.error());
  if (auto st = file->Sync(); !st) return cleanup_fail(st.error());
  if (auto st = file->Close(); !st) return cleanup_fail(st.error());
  if (auto st = fs.Rename(tmpl, path); !st) return cleanup_fail(st.error());
  // The rename is visible now but only durable once the directory is synced: a failure here is
  // reported (the header's promise), not ignored.
  return fs.SyncDir(dir.string());
}

}  // namespace secprof

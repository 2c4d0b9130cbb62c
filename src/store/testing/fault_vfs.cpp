// TEST SUPPORT ONLY: the power-loss VFS. Contract and model in secprof/store/fault_vfs.h.
#include "secprof/store/fault_vfs.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "secprof/core/posix.h"

namespace secprof::store::testing {

namespace {
constexpr char kVfsName[] = "secprof-fault";
}

// The bytes a write or truncate replaced, to put back at a power loss.
struct Undo {
  int64_t offset;
  std::string old;
};

// What the model remembers of one path, across opens and closes.
struct FileBook {
  int64_t synced_size = 0;
  std::vector<Undo> undo;  // since the last sync, in order
  bool created = false;    // created since MarkAllDurable and never synced
  bool deleted = false;    // deleted without a directory sync: comes back at a power loss
  std::string durable;     // with `deleted`: the content it comes back with
};

struct FaultVfs::Impl {
  sqlite3_vfs vfs{};
  sqlite3_vfs* real = nullptr;
  sqlite3_io_methods methods{};  // built from the first real file's methods
  bool methods_ready = false;

  mutable std::mutex mu;
  std::map<std::string, FileBook> books;
  int64_t events = 0;
  int64_t syncs = 0;
  int64_t crash_at = 0;
  bool crashed = false;

  // Counts one write, truncate or sync; false when it (or an earlier event) is the crash.
  bool Event(bool is_sync) {
    std::lock_guard lock(mu);
    if (crashed) return false;
    ++events;
    if (is_sync) ++syncs;
    if (crash_at != 0 && events >= crash_at) {
      crashed = true;
      return false;
    }
    return true;
  }
  bool Crashed() const {
    std::lock_guard lock(mu);
    return crashed;
  }
};

namespace {

// Our sqlite3_file: the real file follows it in the same allocation (szOsFile covers both).
struct FaultFile {
  sqlite3_file base;
  FaultVfs::Impl* impl;
  std::string* path;  // nullptr for files that are not modelled (temporary files)
  sqlite3_file* real;
};

FaultVfs::Impl* ImplOf(sqlite3_vfs* vfs) { return static_cast<FaultVfs::Impl*>(vfs->pAppData); }
FaultFile* Of(sqlite3_file* f) { return reinterpret_cast<FaultFile*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return Of(f)->real; }

int64_t SizeOf(sqlite3_file* real) {
  sqlite3_int64 size = 0;
  if (real->pMethods->xFileSize(real, &size) != SQLITE_OK) return -1;
  return size;
}

// The bytes in [offset, offset + n) that exist now ("" beyond the end).
std::string ReadExisting(sqlite3_file* real, int64_t offset, int64_t n) {
  const int64_t size = SizeOf(real);
  if (size < 0 || offset >= size) return {};
  const int64_t len = std::min(n, size - offset);
  std::string out(static_cast<size_t>(len), '\0');
  real->pMethods->xRead(real, out.data(), static_cast<int>(len), offset);
  return out;
}

// The book of an open file (one that is open always has one; this only guards the invariant).
FileBook& BookOf(FaultFile* ff, int64_t size_now) {
  auto [it, fresh] = ff->impl->books.try_emplace(*ff->path);
  if (fresh) it->second.synced_size = size_now;
  return it->second;
}

int XClose(sqlite3_file* f) {
  FaultFile* ff = Of(f);
  int rc = ff->real->pMethods ? ff->real->pMethods->xClose(ff->real) : SQLITE_OK;
  delete ff->path;
  ff->path = nullptr;
  return rc;
}

int XRead(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return Real(f)->pMethods->xRead(Real(f), buf, n, off);
}

int XWrite(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  FaultFile* ff = Of(f);
  if (!ff->impl->Event(false)) return SQLITE_IOERR_WRITE;
  if (ff->path != nullptr) {
    std::string old = ReadExisting(ff->real, off, n);
    const int64_t size = SizeOf(ff->real);
    std::lock_guard lock(ff->impl->mu);
    BookOf(ff, size).undo.push_back(Undo{off, std::move(old)});
  }
  return ff->real->pMethods->xWrite(ff->real, buf, n, off);
}

int XTruncate(sqlite3_file* f, sqlite3_int64 size) {
  FaultFile* ff = Of(f);
  if (!ff->impl->Event(false)) return SQLITE_IOERR_TRUNCATE;
  if (ff->path != nullptr) {
    const int64_t now = SizeOf(ff->real);
    std::string tail = ReadExisting(ff->real, size, now > size ? now - size : 0);
    std::lock_guard lock(ff->impl->mu);
    BookOf(ff, now).undo.push_back(Undo{size, std::move(tail)});
  }
  return ff->real->pMethods->xTruncate(ff->real, size);
}

int XSync(sqlite3_file* f, int flags) {
  FaultFile* ff = Of(f);
  if (!ff->impl->Event(true)) return SQLITE_IOERR_FSYNC;
  int rc = ff->real->pMethods->xSync(ff->real, flags);
  if (rc == SQLITE_OK && ff->path != nullptr) {
    const int64_t size = SizeOf(ff->real);
    std::lock_guard lock(ff->impl->mu);
    FileBook& b = BookOf(ff, size);
    b.undo.clear();
    b.synced_size = size;
    b.created = false;  // the directory entry is synced with it (see the header)
    b.deleted = false;
    b.durable.clear();
  }
  return rc;
}

int XFileSize(sqlite3_file* f, sqlite3_int64* size) {
  return Real(f)->pMethods->xFileSize(Real(f), size);
}
int XLock(sqlite3_file* f, int lock) { return Real(f)->pMethods->xLock(Real(f), lock); }
int XUnlock(sqlite3_file* f, int lock) { return Real(f)->pMethods->xUnlock(Real(f), lock); }
int XCheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
int XFileControl(sqlite3_file* f, int op, void* arg) {
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}
int XSectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int XDeviceCharacteristics(sqlite3_file* f) {
  return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
}
int XShmMap(sqlite3_file* f, int page, int size, int extend, void volatile** p) {
  return Real(f)->pMethods->xShmMap(Real(f), page, size, extend, p);
}
int XShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void XShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int XShmUnmap(sqlite3_file* f, int del) { return Real(f)->pMethods->xShmUnmap(Real(f), del); }
// Memory-mapped reads are left to SQLite's fallback (xRead): a mapping would bypass the books.
int XFetch(sqlite3_file*, sqlite3_int64, int, void** p) {
  *p = nullptr;
  return SQLITE_OK;
}
int XUnfetch(sqlite3_file*, sqlite3_int64, void*) { return SQLITE_OK; }

bool Exists(const char* path) {
  struct stat st {};
  return ::stat(path, &st) == 0;
}

int XOpen(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  FaultVfs::Impl* impl = ImplOf(vfs);
  FaultFile* ff = Of(f);
  ff->impl = impl;
  ff->path = nullptr;
  ff->real = reinterpret_cast<sqlite3_file*>(ff + 1);
  ff->base.pMethods = nullptr;
  const bool modelled =
      name != nullptr && (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_MAIN_JOURNAL |
                                   SQLITE_OPEN_WAL | SQLITE_OPEN_SUPER_JOURNAL)) != 0;
  const bool existed = name != nullptr && Exists(name);
  int rc = impl->real->xOpen(impl->real, name, ff->real, flags, out_flags);
  if (rc != SQLITE_OK) return rc;
  {
    std::lock_guard lock(impl->mu);
    if (!impl->methods_ready) {
      const sqlite3_io_methods* r = ff->real->pMethods;
      impl->methods = sqlite3_io_methods{std::min(r->iVersion, 3),
                                         XClose,
                                         XRead,
                                         XWrite,
                                         XTruncate,
                                         XSync,
                                         XFileSize,
                                         XLock,
                                         XUnlock,
                                         XCheckReservedLock,
                                         XFileControl,
                                         XSectorSize,
                                         XDeviceCharacteristics,
                                         XShmMap,
                                         XShmLock,
                                         XShmBarrier,
                                         XShmUnmap,
                                         XFetch,
                                         XUnfetch};
      impl->methods_ready = true;
    }
    if (modelled) {
      ff->path = new std::string(name);
      auto [it, fresh] = impl->books.try_emplace(*ff->path);
      FileBook& b = it->second;
      if (fresh) {
        b.created = !existed;
        b.synced_size = existed ? SizeOf(ff->real) : 0;
      } else if (b.deleted && !existed) {
        // Recreated after a delete that was not synced: until its first sync, a power loss brings
        // the deleted file back (PowerLoss looks at `deleted` first).
        b.created = true;
        b.synced_size = 0;
        b.undo.clear();
      }
    }
  }
  ff->base.pMethods = &impl->methods;
  return SQLITE_OK;
}

int XDelete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  FaultVfs::Impl* impl = ImplOf(vfs);
  if (!impl->Event(sync_dir != 0)) return SQLITE_IOERR_DELETE;
  if (sync_dir) {
    std::lock_guard lock(impl->mu);
    impl->books.erase(name);  // gone for good
    return impl->real->xDelete(impl->real, name, sync_dir);
  }
  // Not synced: the file comes back at a power loss, as of its last sync (the file now with the
  // unsynced changes undone), unless it never was durable itself.
  std::string now;
  if (posix::UniqueFd fd(::open(name, O_RDONLY | O_CLOEXEC)); fd) {
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) now.append(buf, static_cast<size_t>(n));
  }
  {
    std::lock_guard lock(impl->mu);
    auto [it, fresh] = impl->books.try_emplace(name);
    FileBook& b = it->second;
    if (fresh) b.synced_size = static_cast<int64_t>(now.size());
    if (b.deleted) {
      // Deleted, recreated and deleted again without a sync: the first durable content stays.
      b.undo.clear();
    } else if (b.created) {
      impl->books.erase(it);
    } else {
      for (auto u = b.undo.rbegin(); u != b.undo.rend(); ++u) {
        if (now.size() < static_cast<size_t>(u->offset) + u->old.size())
          now.resize(static_cast<size_t>(u->offset) + u->old.size());
        now.replace(static_cast<size_t>(u->offset), u->old.size(), u->old);
      }
      now.resize(static_cast<size_t>(b.synced_size));
      b.undo.clear();
      b.deleted = true;
      b.durable = std::move(now);
    }
  }
  return impl->real->xDelete(impl->real, name, sync_dir);
}

int XAccess(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return ImplOf(vfs)->real->xAccess(ImplOf(vfs)->real, name, flags, out);
}
int XFullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return ImplOf(vfs)->real->xFullPathname(ImplOf(vfs)->real, name, n, out);
}
void* XDlOpen(sqlite3_vfs* vfs, const char* name) {
  return ImplOf(vfs)->real->xDlOpen(ImplOf(vfs)->real, name);
}
void XDlError(sqlite3_vfs* vfs, int n, char* out) {
  ImplOf(vfs)->real->xDlError(ImplOf(vfs)->real, n, out);
}
void (*XDlSym(sqlite3_vfs* vfs, void* h, const char* sym))(void) {
  return ImplOf(vfs)->real->xDlSym(ImplOf(vfs)->real, h, sym);
}
void XDlClose(sqlite3_vfs* vfs, void* h) { ImplOf(vfs)->real->xDlClose(ImplOf(vfs)->real, h); }
int XRandomness(sqlite3_vfs* vfs, int n, char* out) {
  return ImplOf(vfs)->real->xRandomness(ImplOf(vfs)->real, n, out);
}
int XSleep(sqlite3_vfs* vfs, int us) { return ImplOf(vfs)->real->xSleep(ImplOf(vfs)->real, us); }
int XCurrentTime(sqlite3_vfs* vfs, double* out) {
  return ImplOf(vfs)->real->xCurrentTime(ImplOf(vfs)->real, out);
}
int XGetLastError(sqlite3_vfs* vfs, int n, char* out) {
  return ImplOf(vfs)->real->xGetLastError(ImplOf(vfs)->real, n, out);
}
int XCurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return ImplOf(vfs)->real->xCurrentTimeInt64(ImplOf(vfs)->real, out);
}

Status WriteAll(const std::string& path, int fd, int64_t offset, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::pwrite(fd, bytes.data() + done, bytes.size() - done,
                         static_cast<off_t>(offset) + static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(ErrorCode::kIo, path + ": restoring: " + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  return Ok();
}

}  // namespace

Result<std::unique_ptr<FaultVfs>> FaultVfs::Install() {
  if (sqlite3_vfs_find(kVfsName) != nullptr) {
    return Fail(ErrorCode::kInternal, "a FaultVfs is installed already");
  }
  auto impl = std::make_unique<Impl>();
  impl->real = sqlite3_vfs_find(nullptr);
  if (impl->real == nullptr) return Fail(ErrorCode::kInternal, "SQLite has no default VFS");
  sqlite3_vfs& v = impl->vfs;
  v.iVersion = 2;
  v.szOsFile = static_cast<int>(sizeof(FaultFile)) + impl->real->szOsFile;
  v.mxPathname = impl->real->mxPathname;
  v.zName = kVfsName;
  v.pAppData = impl.get();
  v.xOpen = XOpen;
  v.xDelete = XDelete;
  v.xAccess = XAccess;
  v.xFullPathname = XFullPathname;
  v.xDlOpen = XDlOpen;
  v.xDlError = XDlError;
  v.xDlSym = XDlSym;
  v.xDlClose = XDlClose;
  v.xRandomness = XRandomness;
  v.xSleep = XSleep;
  v.xCurrentTime = XCurrentTime;
  v.xGetLastError = XGetLastError;
  v.xCurrentTimeInt64 = XCurrentTimeInt64;
  if (sqlite3_vfs_register(&v, 1) != SQLITE_OK) {
    return Fail(ErrorCode::kInternal, "sqlite3_vfs_register failed");
  }
  return std::unique_ptr<FaultVfs>(new FaultVfs(std::move(impl)));
}

FaultVfs::FaultVfs(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

FaultVfs::~FaultVfs() {
  sqlite3_vfs_unregister(&impl_->vfs);
  sqlite3_vfs_register(impl_->real, 1);
}

void FaultVfs::MarkAllDurable() {
  std::lock_guard lock(impl_->mu);
  // Files still open keep a book: their size now is the durable size. The others are re-learnt at
  // their next open, from the files as they are.
  for (auto it = impl_->books.begin(); it != impl_->books.end();) {
    struct stat st {};
    if (::stat(it->first.c_str(), &st) != 0) {
      it = impl_->books.erase(it);
      continue;
    }
    it->second = FileBook{};
    it->second.synced_size = static_cast<int64_t>(st.st_size);
    ++it;
  }
  impl_->events = 0;
  impl_->syncs = 0;
  impl_->crash_at = 0;
  impl_->crashed = false;
}

void FaultVfs::CrashAt(int64_t event) {
  std::lock_guard lock(impl_->mu);
  impl_->crash_at = event == 0 ? 0 : impl_->events + event;
}

bool FaultVfs::crashed() const { return impl_->Crashed(); }

int64_t FaultVfs::events() const {
  std::lock_guard lock(impl_->mu);
  return impl_->events;
}

int64_t FaultVfs::syncs() const {
  std::lock_guard lock(impl_->mu);
  return impl_->syncs;
}

Status FaultVfs::PowerLoss() {
  std::map<std::string, FileBook> books;
  {
    std::lock_guard lock(impl_->mu);
    books.swap(impl_->books);
  }
  for (auto& [path, b] : books) {
    if (b.deleted) {
      posix::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
      if (!fd) return Fail(ErrorCode::kIo, path + ": recreating: " + std::strerror(errno));
      SECPROF_TRY(WriteAll(path, fd.get(), 0, b.durable));
      continue;
    }
    if (b.created) {
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return Fail(ErrorCode::kIo, path + ": removing: " + std::strerror(errno));
      }
      continue;
    }
    posix::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) {
      if (errno == ENOENT) continue;  // deleted with its directory synced: gone for good
      return Fail(ErrorCode::kIo, path + ": opening: " + std::strerror(errno));
    }
    Status st = Ok();
    for (auto u = b.undo.rbegin(); u != b.undo.rend() && st; ++u) {
      st = WriteAll(path, fd.get(), u->offset, u->old);
    }
    if (st && ::ftruncate(fd.get(), static_cast<off_t>(b.synced_size)) != 0) {
      st = Fail(ErrorCode::kIo, path + ": truncating: " + std::strerror(errno));
    }
    SECPROF_TRY(st);
  }
  MarkAllDurable();
  return Ok();
}

}  // namespace secprof::store::testing

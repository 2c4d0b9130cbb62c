// The thing-side installer: A/B slots, the sequence-number floor, crash-safe install steps and
// recovery (see install.h and docs/UPDATE.md, "Installing on the thing").
#include "secprof/update/install.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <utility>
#include <vector>

#include "secprof/core/fs.h"
#include "secprof/cose/cose.h"
#include "secprof/crypto/hash.h"

namespace secprof::update {
namespace {

using cbor::Value;
namespace fs = std::filesystem;

constexpr const char* kStateFile = "state.cbor";
constexpr const char* kLockFile = "lock";
constexpr uint64_t kStateFormat = 1;
constexpr size_t kMinChunk = 4096;

// Owns a file descriptor; closes it on scope exit.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now and reports close(2)'s result (a write error may only show here).
  bool Close() {
    const int fd = std::exchange(fd_, -1);
    return fd < 0 || ::close(fd) == 0;
  }

 private:
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd_ = -1;
};

Error SysError(const std::string& what, const std::string& path, int err) {
  return Error(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
               what + " " + path + ": " + std::strerror(err));
}

std::string Hex(ByteView b) { return cbor::ToHex(b); }

Status FsyncDir(const std::string& dir) {
  Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.get() < 0) return Fail(SysError("cannot open directory", dir, errno));
  if (::fsync(d.get()) != 0) return Fail(SysError("cannot fsync directory", dir, errno));
  return Ok();
}

// ---- Refusal messages (the prefixes are the contract of RefusalOf) -----------------------------

struct RefusalPrefix {
  Refusal reason;
  const char* prefix;
};
constexpr RefusalPrefix kPrefixes[] = {
    {Refusal::kMalformed, "malformed envelope"},
    {Refusal::kUnsupported, "unsupported"},
    {Refusal::kForgedSignature, "forged signature"},
    {Refusal::kWrongVendor, "wrong vendor"},
    {Refusal::kWrongClass, "wrong class"},
    {Refusal::kImageDigest, "image digest mismatch (tampered)"},
    {Refusal::kImageSize, "image size mismatch"},
    {Refusal::kRollback, "rollback"},
    {Refusal::kReplay, "replayed manifest"},
    {Refusal::kBusy, "install pending"},
};

tl::unexpected<Error> Refuse(Refusal r, ErrorCode code, const std::string& detail) {
  return Fail(code, std::string(RefusalName(r)) + ": " + detail);
}

// The floor check (draft-ietf-suit-manifest §8.4.2; RFC 9124 REQ.SEC.SEQUENCE): strictly above.
Status CheckSequence(uint64_t seq, uint64_t floor) {
  if (seq < floor)
    return Fail(ErrorCode::kVerifyFailed, "rollback: sequence " + std::to_string(seq) +
                                              " is below the installed " + std::to_string(floor));
  if (seq == floor)
    return Fail(ErrorCode::kVerifyFailed, "replayed manifest: sequence " + std::to_string(seq) +
                                              " is not above the installed " +
                                              std::to_string(floor));
  return Ok();
}

Status CheckSize(uint64_t expected, uint64_t actual) {
  if (actual < expected)
    return Fail(ErrorCode::kVerifyFailed,
                "image size mismatch (truncated transfer): the manifest says " +
                    std::to_string(expected) + " bytes, the image has " + std::to_string(actual));
  if (actual > expected)
    return Fail(ErrorCode::kVerifyFailed,
                "image size mismatch (image too long): the manifest says " +
                    std::to_string(expected) + " bytes, the image has " + std::to_string(actual));
  return Ok();
}

Status CheckDigest(ByteView expected, ByteView actual) {
  if (!crypto::ConstantTimeEqual(expected, actual))
    return Fail(ErrorCode::kVerifyFailed,
                "image digest mismatch (tampered): the manifest says "
                "sha-256 " +
                    Hex(expected) + ", the image hashes to " + Hex(actual));
  return Ok();
}

// ---- Image sources: bytes in memory, or a file read in large chunks
// ------------------------------

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
    s.fd_ = Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (s.fd_.get() < 0) return Fail(SysError("cannot open image", path, errno));
    struct stat st {};
    if (::fstat(s.fd_.get(), &st) != 0) return Fail(SysError("cannot stat image", path, errno));
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
      if (!m.ok()) return Fail(SysError("cannot map image", path_, errno));
      SECPROF_TRY(fn(m.view()));
    }
    // Only the fstat size was mapped: a file that grew (or shrank without SIGBUS) is refused.
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) return Fail(SysError("cannot stat image", path_, errno));
    if (static_cast<uint64_t>(st.st_size) != size_)
      return Fail(ErrorCode::kIo, "image " + path_ + " changed size while it was read");
    return size_;
  }

  template <class Fn>
  Result<uint64_t> ReadEach(Fn& fn) {
    if (::lseek(fd_.get(), 0, SEEK_SET) != 0)
      return Fail(SysError("cannot seek image", path_, errno));
    std::vector<uint8_t> buf(io_.chunk);
    uint64_t total = 0;
    for (;;) {
      // Fill the buffer as far as the file goes, so every call gets a full chunk.
      size_t have = 0;
      while (have < buf.size()) {
        const ssize_t n = ::read(fd_.get(), buf.data() + have, buf.size() - have);
        if (n < 0) {
          if (errno == EINTR) continue;
          return Fail(SysError("cannot read image", path_, errno));
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
  Fd fd_;
  uint64_t size_ = 0;
};

struct Hashed {
  crypto::Sha256Digest digest{};
  uint64_t size = 0;
};

Result<Hashed> HashSource(ImageSource& src, size_t chunk) {
  SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Hasher h, crypto::Sha256Hasher::Create());
  SECPROF_ASSIGN_OR_RETURN(uint64_t n, src.ForEach(chunk, [&](ByteView b) { return h.Update(b); }));
  SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Digest d, h.Finish());
  return Hashed{d, n};
}

Result<Hashed> HashPath(const std::string& path, FileIo io) {
  SECPROF_ASSIGN_OR_RETURN(ImageSource src, ImageSource::FromFile(path, io));
  return HashSource(src, io.chunk);
}

Status WriteAll(int fd, ByteView b, const std::string& path) {
  size_t off = 0;
  while (off < b.size()) {
    const ssize_t n = ::write(fd, b.data() + off, b.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(SysError("cannot write", path, errno));
    }
    off += static_cast<size_t>(n);
  }
  return Ok();
}

// ---- State file: deterministic CBOR with text keys (docs/UPDATE.md) -----------------------------

Value T(const char* s) { return Value::Text(s); }

Value ImageValue(const ImageRecord& r) {
  return Value::Map({{T("seq"), Value::Unsigned(r.sequence_number)},
                     {T("digest"), Value::ByteString(r.digest)},
                     {T("size"), Value::Unsigned(r.size)}});
}

Result<Slot> SlotFromText(const std::string& s, const std::string& field) {
  if (s == "a") return Slot::kA;
  if (s == "b") return Slot::kB;
  return Fail(ErrorCode::kInvalidInput, "state: " + field + ": slot must be \"a\" or \"b\"");
}

// A strict reader over one state map: every key must be known, each read once, types checked.
class MapReader {
 public:
  MapReader(const Value& v, std::string where) : v_(v), where_(std::move(where)) {}
  Status IsMap() const {
    if (!v_.is_map()) return Fail(ErrorCode::kInvalidInput, "state: " + where_ + " is not a map");
    for (const auto& [k, _] : v_.map())
      if (!k.is_text())
        return Fail(ErrorCode::kInvalidInput, "state: " + where_ + ": keys must be text");
    return Ok();
  }
  const Value* Get(const char* key) {
    seen_.push_back(key);
    return v_.Find(T(key));
  }
  Result<const Value*> Need(const char* key) {
    const Value* x = Get(key);
    if (!x) return Fail(ErrorCode::kInvalidInput, "state: " + where_ + ": missing \"" + key + "\"");
    return x;
  }
  Result<uint64_t> Uint(const char* key) {
    SECPROF_ASSIGN_OR_RETURN(const Value* x, Need(key));
    if (!x->is_unsigned())
      return Fail(ErrorCode::kInvalidInput, "state: " + where_ + "." + key + ": not an unsigned");
    return x->uint_value();
  }
  Result<Bytes> Bstr(const char* key, size_t size) {
    SECPROF_ASSIGN_OR_RETURN(const Value* x, Need(key));
    if (!x->is_bytes() || x->bytes().size() != size)
      return Fail(ErrorCode::kInvalidInput, "state: " + where_ + "." + key + ": not a " +
                                                std::to_string(size) + "-byte string");
    return x->bytes();
  }
  Result<std::string> Text(const char* key) {
    SECPROF_ASSIGN_OR_RETURN(const Value* x, Need(key));
    if (!x->is_text())
      return Fail(ErrorCode::kInvalidInput, "state: " + where_ + "." + key + ": not text");
    return x->text();
  }
  Status NoOthers() const {
    for (const auto& [k, _] : v_.map())
      if (std::find(seen_.begin(), seen_.end(), k.text()) == seen_.end())
        return Fail(ErrorCode::kInvalidInput,
                    "state: " + where_ + ": unknown key \"" + k.text() + "\"");
    return Ok();
  }

 private:
  const Value& v_;
  std::string where_;
  std::vector<std::string> seen_;
};

Result<ImageRecord> ImageFromValue(const Value& v, const std::string& where, MapReader* outer) {
  // `outer` is set for the pending map, whose image fields sit next to slot and phase.
  MapReader own(v, where);
  MapReader& r = outer ? *outer : own;
  if (!outer) SECPROF_TRY(r.IsMap());
  ImageRecord rec;
  SECPROF_ASSIGN_OR_RETURN(rec.sequence_number, r.Uint("seq"));
  SECPROF_ASSIGN_OR_RETURN(rec.digest, r.Bstr("digest", crypto::kSha256Size));
  SECPROF_ASSIGN_OR_RETURN(rec.size, r.Uint("size"));
  if (!outer) SECPROF_TRY(r.NoOthers());
  return rec;
}

// ---- Crash-point names (kInstallSteps) ----------------------------------------------------------
constexpr std::string_view kStepInitRenamed = kInstallSteps[0];
constexpr std::string_view kStepSlotTemp = kInstallSteps[1];
constexpr std::string_view kStepSlotRenamed = kInstallSteps[2];
constexpr std::string_view kStepStateWritten = kInstallSteps[3];
constexpr std::string_view kStepStateTesting = kInstallSteps[4];
constexpr std::string_view kStepHookPassed = kInstallSteps[5];
constexpr std::string_view kStepConfirmed = kInstallSteps[6];
constexpr std::string_view kStepRevertBefore = kInstallSteps[7];
constexpr std::string_view kStepReverted = kInstallSteps[8];

bool SameKey(const cose::Key& a, const cose::Key& b) {
  return a.public_key && b.public_key && *a.public_key == *b.public_key;
}

}  // namespace

// ---- Names --------------------------------------------------------------------------------------

const char* SlotName(Slot s) { return s == Slot::kA ? "a" : "b"; }
const char* PhaseName(Phase p) { return p == Phase::kWritten ? "written" : "testing"; }

const char* RefusalName(Refusal r) {
  for (const auto& p : kPrefixes)
    if (p.reason == r) return p.prefix;
  return "none";
}

Refusal RefusalOf(const Error& e) {
  const std::string& m = e.message();
  for (const auto& p : kPrefixes) {
    const std::string_view pre(p.prefix);
    if (m.size() > pre.size() && m.compare(0, pre.size(), pre) == 0 &&
        (m[pre.size()] == ':' || m[pre.size()] == ' '))
      return p.reason;
  }
  return Refusal::kNone;
}

// ---- State encoding -----------------------------------------------------------------------------

Bytes EncodeSlotState(const SlotState& s) {
  cbor::MapEntries m = {
      {T("format"), Value::Unsigned(kStateFormat)},
      {T("vendor-id"), Value::ByteString(s.vendor_id)},
      {T("class-id"), Value::ByteString(s.class_id)},
      {T("active"), Value::Text(SlotName(s.active))},
      {T("active-image"), ImageValue(s.active_image)},
      {T("floor"), Value::Unsigned(s.floor)},
  };
  if (s.pending) {
    m.emplace_back(T("pending"),
                   Value::Map({{T("slot"), Value::Text(SlotName(s.pending->slot))},
                               {T("seq"), Value::Unsigned(s.pending->image.sequence_number)},
                               {T("digest"), Value::ByteString(s.pending->image.digest)},
                               {T("size"), Value::Unsigned(s.pending->image.size)},
                               {T("phase"), Value::Text(PhaseName(s.pending->phase))}}));
  }
  if (s.last_result) {
    m.emplace_back(T("last-result"),
                   Value::Map({{T("ok"), Value::Bool(s.last_result->ok)},
                               {T("seq"), Value::Unsigned(s.last_result->sequence_number)},
                               {T("message"), Value::Text(s.last_result->message)},
                               {T("at"), Value::Int(s.last_result->at_unix)}}));
  }
  return cbor::Encode(Value::Map(std::move(m)));
}

Result<SlotState> DecodeSlotState(ByteView data) {
  cbor::Limits limits;
  limits.max_depth = 4;
  limits.max_bytes = 64u << 10;
  limits.allow_indefinite = false;
  auto v = cbor::Decode(data, limits);
  if (!v) return Fail(ErrorCode::kInvalidInput, "state: " + v.error().message());
  MapReader r(*v, "state");
  SECPROF_TRY(r.IsMap());
  SlotState s;
  SECPROF_ASSIGN_OR_RETURN(uint64_t format, r.Uint("format"));
  if (format != kStateFormat)
    return Fail(ErrorCode::kUnsupported, "state: format " + std::to_string(format) +
                                             " (this build reads format " +
                                             std::to_string(kStateFormat) + ")");
  SECPROF_ASSIGN_OR_RETURN(s.vendor_id, r.Bstr("vendor-id", kUuidSize));
  SECPROF_ASSIGN_OR_RETURN(s.class_id, r.Bstr("class-id", kUuidSize));
  SECPROF_ASSIGN_OR_RETURN(std::string active, r.Text("active"));
  SECPROF_ASSIGN_OR_RETURN(s.active, SlotFromText(active, "active"));
  SECPROF_ASSIGN_OR_RETURN(const Value* ai, r.Need("active-image"));
  SECPROF_ASSIGN_OR_RETURN(s.active_image, ImageFromValue(*ai, "active-image", nullptr));
  SECPROF_ASSIGN_OR_RETURN(s.floor, r.Uint("floor"));
  if (s.floor < s.active_image.sequence_number)
    return Fail(ErrorCode::kInvalidInput, "state: floor " + std::to_string(s.floor) +
                                              " is below the active sequence number " +
                                              std::to_string(s.active_image.sequence_number));
  if (const Value* p = r.Get("pending")) {
    MapReader pr(*p, "pending");
    SECPROF_TRY(pr.IsMap());
    PendingInstall pi;
    SECPROF_ASSIGN_OR_RETURN(std::string slot, pr.Text("slot"));
    SECPROF_ASSIGN_OR_RETURN(pi.slot, SlotFromText(slot, "pending.slot"));
    if (pi.slot == s.active)
      return Fail(ErrorCode::kInvalidInput, "state: pending.slot is the active slot");
    SECPROF_ASSIGN_OR_RETURN(pi.image, ImageFromValue(*p, "pending", &pr));
    SECPROF_ASSIGN_OR_RETURN(std::string phase, pr.Text("phase"));
    if (phase == "written")
      pi.phase = Phase::kWritten;
    else if (phase == "testing")
      pi.phase = Phase::kTesting;
    else
      return Fail(ErrorCode::kInvalidInput, "state: pending.phase: \"" + phase + "\"");
    SECPROF_TRY(pr.NoOthers());
    s.pending = std::move(pi);
  }
  if (const Value* l = r.Get("last-result")) {
    MapReader lr(*l, "last-result");
    SECPROF_TRY(lr.IsMap());
    LastResult res;
    SECPROF_ASSIGN_OR_RETURN(const Value* ok, lr.Need("ok"));
    if (!ok->is_bool()) return Fail(ErrorCode::kInvalidInput, "state: last-result.ok: not a bool");
    res.ok = ok->bool_value();
    SECPROF_ASSIGN_OR_RETURN(res.sequence_number, lr.Uint("seq"));
    SECPROF_ASSIGN_OR_RETURN(res.message, lr.Text("message"));
    SECPROF_ASSIGN_OR_RETURN(const Value* at, lr.Need("at"));
    auto at_i = at->AsInt64();
    if (!at_i) return Fail(ErrorCode::kInvalidInput, "state: last-result.at: not an integer");
    res.at_unix = *at_i;
    SECPROF_TRY(lr.NoOthers());
    s.last_result = std::move(res);
  }
  SECPROF_TRY(r.NoOthers());
  return s;
}

// ---- SlotStore ----------------------------------------------------------------------------------

struct SlotStore::Impl {
  std::string dir;
  InstallIdentity id;
  InstallOptions opt;
  Fd lock;
  std::optional<SlotState> state;
  // Set when TestBoot's hook passed for the pending install in this process (Confirm needs it).
  bool test_passed = false;

  std::string PathOf(const std::string& name) const { return (fs::path(dir) / name).string(); }
  std::string SlotFile(Slot s) const { return PathOf(std::string("slot-") + SlotName(s) + ".img"); }
  std::string SlotTemp(Slot s) const {
    return PathOf(std::string(".slot-") + SlotName(s) + ".img.tmp");
  }
  void Crash(std::string_view step) const {
    if (opt.crash_point) opt.crash_point(step);
  }
  FileIo Io() const { return FileIo{opt.file_reads, opt.map_window, opt.read_chunk}; }
  int64_t Now() const {
    const Clock& c = opt.clock ? *opt.clock : SystemClock();
    return std::chrono::duration_cast<std::chrono::seconds>(c.Now().time_since_epoch()).count();
  }

  // Writes `next` atomically; the in-memory state changes only when the file did.
  Status Persist(SlotState next) {
    SECPROF_TRY(WriteFileAtomic(PathOf(kStateFile), AsText(EncodeSlotState(next)), 0644));
    state = std::move(next);
    return Ok();
  }
  static std::string AsText(const Bytes& b) { return std::string(b.begin(), b.end()); }

  // Copies `src` into the temp file of `slot`, hashing it; refuses (and removes the temp file)
  // when it does not match `want`; else fsyncs and renames it over the slot file and fsyncs the
  // directory. With `crash_after_temp`, the crash point "write:slot-temp" comes between the
  // fsync and the rename.
  Status WriteSlot(Slot slot, ImageSource& src, const ImageRecord* want, Hashed* got,
                   bool crash_after_temp) {
    const std::string tmp = SlotTemp(slot);
    Fd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (out.get() < 0) return Fail(SysError("cannot create", tmp, errno));
    auto fail = [&](Error e) {
      ::unlink(tmp.c_str());
      return Fail(std::move(e));
    };
    auto h = crypto::Sha256Hasher::Create();
    if (!h) return fail(h.error());
    auto n = src.ForEach(opt.read_chunk, [&](ByteView b) -> Status {
      SECPROF_TRY(h->Update(b));
      return WriteAll(out.get(), b, tmp);
    });
    if (!n) return fail(n.error());
    auto d = h->Finish();
    if (!d) return fail(d.error());
    if (want) {
      if (auto st = CheckSize(want->size, *n); !st) return fail(st.error());
      if (auto st = CheckDigest(want->digest, *d); !st) return fail(st.error());
    }
    if (::fsync(out.get()) != 0) return fail(SysError("cannot fsync", tmp, errno));
    if (!out.Close()) return fail(SysError("cannot close", tmp, errno));
    if (crash_after_temp) Crash(kStepSlotTemp);
    const std::string dst = SlotFile(slot);
    if (::rename(tmp.c_str(), dst.c_str()) != 0)
      return fail(SysError("cannot rename over " + dst + ":", tmp, errno));
    SECPROF_TRY(FsyncDir(dir));
    if (got) *got = Hashed{*d, *n};
    return Ok();
  }

  Status NeedInitialized() const {
    if (!state)
      return Fail(ErrorCode::kConflict,
                  "firmware store " + dir + " is not initialized (no " + kStateFile + ")");
    return Ok();
  }

  // The signature checks (§8.3): the vendor's, then the owner's when configured. Any verifying
  // COSE_Sign1 block counts, so the order of the blocks does not matter.
  Status CheckSignatures(const Envelope& env) const {
    size_t sign1 = 0;
    for (const auto& b : env.auth.blocks) {
      auto tag = cose::PeekTag(b);
      if (tag && *tag && **tag == cose::kTagSign1) ++sign1;
    }
    if (sign1 == 0)
      return Refuse(Refusal::kForgedSignature, ErrorCode::kVerifyFailed,
                    "the envelope carries no COSE_Sign1 block (unsigned)");
    auto check = [&](const cose::Key& key, const char* who) -> Status {
      auto st = VerifyEnvelope(env, key);
      if (st) return Ok();
      const Error& e = st.error();
      if (e.code() == ErrorCode::kVerifyFailed)
        return Refuse(Refusal::kForgedSignature, ErrorCode::kVerifyFailed,
                      std::string(who) + ": " + e.message());
      if (e.code() == ErrorCode::kUnsupported)
        return Refuse(Refusal::kUnsupported, ErrorCode::kUnsupported, e.message());
      return Refuse(Refusal::kMalformed, ErrorCode::kInvalidInput, e.message());
    };
    SECPROF_TRY(check(id.vendor_key, "no valid vendor signature"));
    if (id.owner_key) SECPROF_TRY(check(*id.owner_key, "no valid owner signature"));
    return Ok();
  }

  Result<VerifiedUpdate> VerifyImpl(ByteView envelope, ImageSource& image) const;
  Status InitializeImpl(ImageSource& src, uint64_t seq);
  Status WriteImpl(const VerifiedUpdate& u, ImageSource& src);
};

Result<VerifiedUpdate> SlotStore::Impl::VerifyImpl(ByteView envelope, ImageSource& image) const {
  SECPROF_TRY(NeedInitialized());
  auto env = ParseEnvelope(envelope, opt.limits);
  if (!env) {
    const Error& e = env.error();
    if (e.code() == ErrorCode::kUnsupported)
      return Refuse(Refusal::kUnsupported, ErrorCode::kUnsupported, e.message());
    return Refuse(Refusal::kMalformed,
                  e.code() == ErrorCode::kLimit ? e.code() : ErrorCode::kInvalidInput, e.message());
  }
  SECPROF_TRY(CheckSignatures(*env));

  // From here on the manifest is authentic: its fields can be trusted as the signer's.
  const Manifest& m = env->manifest;
  if (m.common.components.size() != 1)
    return Refuse(Refusal::kUnsupported, ErrorCode::kUnsupported,
                  "the installer takes one image component, the manifest has " +
                      std::to_string(m.common.components.size()));
  auto p = ImageParametersFor(m, 0);
  if (!p) return Refuse(Refusal::kMalformed, ErrorCode::kInvalidInput, p.error().message());
  if (!p->vendor_id)
    return Refuse(Refusal::kWrongVendor, ErrorCode::kVerifyFailed,
                  "the manifest names no vendor-id");
  if (!crypto::ConstantTimeEqual(*p->vendor_id, id.vendor_id))
    return Refuse(Refusal::kWrongVendor, ErrorCode::kVerifyFailed,
                  "the manifest is for vendor " + FormatUuid(*p->vendor_id) + ", this thing is " +
                      FormatUuid(id.vendor_id));
  if (!p->class_id)
    return Refuse(Refusal::kWrongClass, ErrorCode::kVerifyFailed, "the manifest names no class-id");
  if (!crypto::ConstantTimeEqual(*p->class_id, id.class_id))
    return Refuse(Refusal::kWrongClass, ErrorCode::kVerifyFailed,
                  "the manifest is for class " + FormatUuid(*p->class_id) + ", this thing is " +
                      FormatUuid(id.class_id));
  // Before touching the image: a replay or rollback is refused without reading 64 MiB.
  SECPROF_TRY(CheckSequence(m.sequence_number, state->floor));
  if (!p->image_digest)
    return Refuse(Refusal::kMalformed, ErrorCode::kInvalidInput,
                  "the manifest sets no image-digest");
  if (p->image_digest->alg != kAlgSha256)
    return Refuse(
        Refusal::kUnsupported, ErrorCode::kUnsupported,
        "image-digest algorithm " + std::to_string(p->image_digest->alg) + " (only SHA-256, -16)");
  if (!p->image_size)
    return Refuse(Refusal::kMalformed, ErrorCode::kInvalidInput,
                  "the manifest sets no image-size (the installer requires one)");
  SECPROF_TRY(CheckSize(*p->image_size, image.size()));
  SECPROF_ASSIGN_OR_RETURN(Hashed h, HashSource(image, opt.read_chunk));
  SECPROF_TRY(CheckSize(*p->image_size, h.size));  // the file changed size while read
  SECPROF_TRY(CheckDigest(p->image_digest->bytes, h.digest));
  return VerifiedUpdate(ImageRecord{m.sequence_number, p->image_digest->bytes, h.size});
}

SlotStore::SlotStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SlotStore::~SlotStore() = default;
SlotStore::SlotStore(SlotStore&&) noexcept = default;
SlotStore& SlotStore::operator=(SlotStore&&) noexcept = default;

Result<SlotStore> SlotStore::Open(const std::string& dir, InstallIdentity identity,
                                  InstallOptions options) {
  if (identity.vendor_id.size() != kUuidSize || identity.class_id.size() != kUuidSize)
    return Fail(ErrorCode::kInvalidInput, "install identity: vendor-id and class-id must be " +
                                              std::to_string(kUuidSize) + "-byte UUIDs");
  if (!identity.vendor_key.public_key)
    return Fail(ErrorCode::kInvalidInput, "install identity: the vendor key has no public part");
  if (identity.owner_key) {
    if (!identity.owner_key->public_key)
      return Fail(ErrorCode::kInvalidInput, "install identity: the owner key has no public part");
    if (SameKey(identity.vendor_key, *identity.owner_key))
      return Fail(ErrorCode::kInvalidInput,
                  "install identity: the owner key is the vendor key (one signature would count "
                  "twice)");
  }
  options.read_chunk = std::max(options.read_chunk, kMinChunk);
  options.map_window = std::max(options.map_window, kMinChunk);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return Fail(ErrorCode::kIo, "cannot create firmware directory " + dir + ": " + ec.message());
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->id = std::move(identity);
  impl->opt = std::move(options);
  const std::string lock_path = impl->PathOf(kLockFile);
  impl->lock = Fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (impl->lock.get() < 0) return Fail(SysError("cannot open", lock_path, errno));
  if (::flock(impl->lock.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      return Fail(ErrorCode::kConflict, "firmware store " + dir + " is open in another installer");
    return Fail(SysError("cannot lock", lock_path, errno));
  }
  auto text = ReadFile(impl->PathOf(kStateFile));
  if (!text) {
    if (text.error().code() != ErrorCode::kNotFound) return Fail(text.error());
  } else {
    const ByteView b(reinterpret_cast<const uint8_t*>(text->data()), text->size());
    auto st = DecodeSlotState(b);
    if (!st) return Fail(st.error().WithContext(impl->PathOf(kStateFile)));
    if (st->vendor_id != impl->id.vendor_id || st->class_id != impl->id.class_id)
      return Fail(ErrorCode::kConflict, "firmware store " + dir + " belongs to vendor " +
                                            FormatUuid(st->vendor_id) + " class " +
                                            FormatUuid(st->class_id) + ", not to this identity");
    impl->state = std::move(*st);
  }
  return SlotStore(std::move(impl));
}

bool SlotStore::initialized() const { return impl_->state.has_value(); }

const SlotState& SlotStore::state() const {
  static const SlotState kEmpty;
  return impl_->state ? *impl_->state : kEmpty;
}

std::string SlotStore::SlotPath(Slot s) const { return impl_->SlotFile(s); }
std::string SlotStore::StatePath() const { return impl_->PathOf(kStateFile); }

Status SlotStore::Impl::InitializeImpl(ImageSource& src, uint64_t seq) {
  Impl& impl = *this;
  if (impl.state)
    return Fail(ErrorCode::kConflict, "firmware store " + impl.dir + " is already initialized");
  Hashed h;
  SECPROF_TRY(impl.WriteSlot(Slot::kA, src, nullptr, &h, false));
  impl.Crash(kStepInitRenamed);
  SlotState s;
  s.vendor_id = impl.id.vendor_id;
  s.class_id = impl.id.class_id;
  s.active = Slot::kA;
  s.active_image = ImageRecord{seq, Bytes(h.digest.begin(), h.digest.end()), h.size};
  s.floor = seq;
  s.last_result = LastResult{
      true, seq, "factory image sequence " + std::to_string(seq) + " in slot a", impl.Now()};
  return impl.Persist(std::move(s));
}

Status SlotStore::Initialize(ByteView factory_image, uint64_t sequence_number) {
  ImageSource src = ImageSource::FromBytes(factory_image);
  return impl_->InitializeImpl(src, sequence_number);
}

Status SlotStore::InitializeFromFile(const std::string& path, uint64_t sequence_number) {
  SECPROF_ASSIGN_OR_RETURN(ImageSource src, ImageSource::FromFile(path, impl_->Io()));
  return impl_->InitializeImpl(src, sequence_number);
}

Result<RecoveryReport> SlotStore::Recover() {
  Impl& I = *impl_;
  RecoveryReport rep;
  // Temp files of writes a crash interrupted: ours (.slot-?.img.tmp) and WriteFileAtomic's for
  // the state (.state.cbor.tmp-XXXXXX). Nothing else in the directory is touched.
  std::error_code ec;
  std::vector<fs::path> stray;
  for (fs::directory_iterator it(I.dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string n = it->path().filename().string();
    if ((n.rfind(".slot-", 0) == 0 && n.size() > 4 && n.compare(n.size() - 4, 4, ".tmp") == 0) ||
        n.rfind(std::string(".") + kStateFile + ".tmp-", 0) == 0)
      stray.push_back(it->path());
  }
  if (ec) return Fail(ErrorCode::kIo, "cannot list " + I.dir + ": " + ec.message());
  for (const auto& p : stray) {
    if (::unlink(p.c_str()) != 0 && errno != ENOENT)
      return Fail(SysError("cannot remove", p.string(), errno));
    ++rep.temp_files_removed;
  }
  if (rep.temp_files_removed) SECPROF_TRY(FsyncDir(I.dir));
  if (!I.state)
    return Fail(ErrorCode::kNotFound,
                "firmware store " + I.dir + " is not initialized (no " + kStateFile + ")");

  if (I.state->pending) {
    const PendingInstall p = *I.state->pending;
    SlotState next = *I.state;
    next.pending.reset();
    const std::string what =
        "sequence " + std::to_string(p.image.sequence_number) + " in slot " + SlotName(p.slot);
    if (p.phase == Phase::kWritten) {
      // Discard rather than resume: one rule for every phase (what was not confirmed is undone),
      // and the thing agent fetches the update again, re-verifying the envelope.
      rep.action = RecoveryAction::kDiscardedWritten;
      rep.message = "install of " + what +
                    " was interrupted after the write and before the test boot; discarded";
    } else {
      rep.action = RecoveryAction::kRevertedTesting;
      rep.message = "test boot of " + what + " never confirmed (watchdog); reverted to slot " +
                    SlotName(I.state->active);
    }
    next.last_result = LastResult{false, p.image.sequence_number, rep.message, I.Now()};
    SECPROF_TRY(I.Persist(std::move(next)));
    I.test_passed = false;
  }

  // The active slot must be what the state says; nothing here can fix it if it is not.
  const SlotState& s = *I.state;
  SECPROF_ASSIGN_OR_RETURN(Hashed h, HashPath(I.SlotFile(s.active), I.Io()));
  if (h.size != s.active_image.size || !crypto::ConstantTimeEqual(h.digest, s.active_image.digest))
    return Fail(ErrorCode::kVerifyFailed,
                std::string("active slot ") + SlotName(s.active) + " (sequence " +
                    std::to_string(s.active_image.sequence_number) +
                    ") does not match its recorded digest and size: the file changed outside "
                    "the installer");
  if (rep.message.empty()) rep.message = "no install was pending";
  return rep;
}

Result<VerifiedUpdate> SlotStore::Verify(ByteView envelope, ByteView image) const {
  ImageSource src = ImageSource::FromBytes(image);
  return impl_->VerifyImpl(envelope, src);
}

Result<VerifiedUpdate> SlotStore::VerifyFile(ByteView envelope,
                                             const std::string& image_path) const {
  SECPROF_ASSIGN_OR_RETURN(ImageSource src, ImageSource::FromFile(image_path, impl_->Io()));
  return impl_->VerifyImpl(envelope, src);
}

Status SlotStore::Impl::WriteImpl(const VerifiedUpdate& u, ImageSource& src) {
  Impl& I = *this;
  SECPROF_TRY(I.NeedInitialized());
  if (I.state->pending) {
    const auto& p = *I.state->pending;
    return Fail(ErrorCode::kConflict, "install pending: sequence " +
                                          std::to_string(p.image.sequence_number) + " in slot " +
                                          SlotName(p.slot) + ", phase " + PhaseName(p.phase) +
                                          "; finish it, Revert() it, or Recover()");
  }
  SECPROF_TRY(CheckSequence(u.sequence_number(), I.state->floor));  // the floor may have moved
  const Slot target = OtherSlot(I.state->active);
  SECPROF_TRY(I.WriteSlot(target, src, &u.image(), nullptr, true));
  I.Crash(kStepSlotRenamed);
  SlotState next = *I.state;
  next.pending = PendingInstall{target, u.image(), Phase::kWritten};
  SECPROF_TRY(I.Persist(std::move(next)));
  I.test_passed = false;
  I.Crash(kStepStateWritten);
  return Ok();
}

Status SlotStore::Write(const VerifiedUpdate& update, ByteView image) {
  ImageSource src = ImageSource::FromBytes(image);
  return impl_->WriteImpl(update, src);
}

Status SlotStore::WriteFile(const VerifiedUpdate& update, const std::string& image_path) {
  SECPROF_ASSIGN_OR_RETURN(ImageSource src, ImageSource::FromFile(image_path, impl_->Io()));
  return impl_->WriteImpl(update, src);
}

Status SlotStore::TestBoot() {
  Impl& I = *impl_;
  SECPROF_TRY(I.NeedInitialized());
  if (!I.state->pending || I.state->pending->phase != Phase::kWritten)
    return Fail(ErrorCode::kConflict, "TestBoot needs a pending install in phase \"written\"");
  SlotState next = *I.state;
  next.pending->phase = Phase::kTesting;
  SECPROF_TRY(I.Persist(std::move(next)));
  I.Crash(kStepStateTesting);

  const PendingInstall p = *I.state->pending;
  const std::string path = I.SlotFile(p.slot);
  Status st = Ok();
  if (I.opt.test_boot) {
    st = I.opt.test_boot(path);
  } else {  // the default: the slot must still hash to the verified digest
    auto h = HashPath(path, I.Io());
    if (!h)
      st = Fail(h.error());
    else if (auto s1 = CheckSize(p.image.size, h->size); !s1)
      st = Fail(s1.error());
    else
      st = CheckDigest(p.image.digest, h->digest);
  }
  if (!st) {
    const std::string reason = "test boot of sequence " + std::to_string(p.image.sequence_number) +
                               " in slot " + SlotName(p.slot) + " failed: " + st.error().message();
    SECPROF_TRY(Revert(reason));
    return Fail(st.error().code(), reason);
  }
  I.test_passed = true;
  I.Crash(kStepHookPassed);
  return Ok();
}

Status SlotStore::Confirm() {
  Impl& I = *impl_;
  SECPROF_TRY(I.NeedInitialized());
  if (!I.state->pending || I.state->pending->phase != Phase::kTesting || !I.test_passed)
    return Fail(ErrorCode::kConflict,
                "Confirm needs a pending install whose TestBoot passed in this process");
  const PendingInstall p = *I.state->pending;
  SlotState next = *I.state;
  const std::string was = "sequence " + std::to_string(next.active_image.sequence_number) +
                          " in slot " + SlotName(next.active);
  next.active = p.slot;
  next.active_image = p.image;
  next.floor = std::max(next.floor, p.image.sequence_number);
  next.pending.reset();
  next.last_result = LastResult{true, p.image.sequence_number,
                                "installed sequence " + std::to_string(p.image.sequence_number) +
                                    " in slot " + SlotName(p.slot) + " (was " + was + ")",
                                I.Now()};
  SECPROF_TRY(I.Persist(std::move(next)));
  I.test_passed = false;
  I.Crash(kStepConfirmed);
  return Ok();
}

Status SlotStore::Revert(std::string_view reason) {
  Impl& I = *impl_;
  SECPROF_TRY(I.NeedInitialized());
  if (!I.state->pending) return Fail(ErrorCode::kConflict, "Revert: no install is pending");
  I.Crash(kStepRevertBefore);
  SlotState next = *I.state;
  const uint64_t seq = next.pending->image.sequence_number;
  next.pending.reset();
  next.last_result = LastResult{false, seq, std::string(reason), I.Now()};
  SECPROF_TRY(I.Persist(std::move(next)));
  I.test_passed = false;
  I.Crash(kStepReverted);
  return Ok();
}

Status SlotStore::Install(ByteView envelope, ByteView image) {
  SECPROF_ASSIGN_OR_RETURN(VerifiedUpdate u, Verify(envelope, image));
  SECPROF_TRY(Write(u, image));
  SECPROF_TRY(TestBoot());
  return Confirm();
}

Status SlotStore::InstallFile(ByteView envelope, const std::string& image_path) {
  SECPROF_ASSIGN_OR_RETURN(VerifiedUpdate u, VerifyFile(envelope, image_path));
  SECPROF_TRY(WriteFile(u, image_path));
  SECPROF_TRY(TestBoot());
  return Confirm();
}

// ---- Countersigning -----------------------------------------------------------------------------

Result<Bytes> AddEnvelopeSignature(ByteView envelope, const cose::Key& key) {
  SECPROF_ASSIGN_OR_RETURN(Envelope env, ParseEnvelope(envelope));
  if (!key.has_private())
    return Fail(ErrorCode::kInvalidInput, "AddEnvelopeSignature: the key has no private part");
  // §8.3: every authentication block signs the same detached payload, the encoded SUIT_Digest.
  cose::Sign1Params sp;
  sp.alg = key.crv == cose::Curve::kEd25519 || key.crv == cose::Curve::kEd448 ? cose::kAlgEdDsa
                                                                              : cose::kAlgEs256;
  if (key.alg) sp.alg = *key.alg;
  sp.detached = true;
  SECPROF_ASSIGN_OR_RETURN(cose::Sign1 sig, cose::CreateSign1(key, env.auth.digest_encoded, sp));
  cbor::Array auth;
  auth.push_back(Value::ByteString(env.auth.digest_encoded));
  for (const auto& b : env.auth.blocks) auth.push_back(Value::ByteString(b));
  auth.push_back(Value::ByteString(cose::Encode(sig, true)));

  // Replace the wrapper in the envelope map; keep the other members, and their order, as held.
  const Value wrapper = Value::ByteString(cbor::Encode(Value::MakeArray(std::move(auth))));
  const bool tagged = env.value.is_tag();
  Value map = tagged ? env.value.tag_content() : env.value;
  for (auto& [k, v] : map.map())
    if (k == Value::Int(key::kAuthenticationWrapper)) v = wrapper;
  const Value out = tagged ? Value::Tag(env.value.tag_number(), std::move(map)) : std::move(map);
  Bytes wire = cbor::Encode(out, cbor::MapOrder::kPreserveOrder);
  // The digest covers the manifest bstr as encoded, head included: re-encoding must not change it.
  SECPROF_ASSIGN_OR_RETURN(Envelope check, ParseEnvelope(wire));
  if (check.manifest_bstr != env.manifest_bstr)
    return Fail(ErrorCode::kUnsupported,
                "AddEnvelopeSignature: the envelope's manifest is not in preferred serialization; "
                "re-encoding would change the signed bytes");
  return wire;
}

}  // namespace secprof::update

// The thing-side installer: A/B slots, the sequence-number floor, crash-safe install steps and
// recovery (see install.h and docs/UPDATE.md, "Installing on the thing"). Verification is in
// verify.cpp, the state file's encoding in slot_state.cpp, image reading in image_source.h.
#include "secprof/update/install.h"

#include <algorithm>
#include <filesystem>
#include <utility>
#include <vector>

#include "secprof/core/fs.h"
#include "secprof/crypto/hash.h"
#include "store_impl.h"

namespace secprof::update {
namespace {

using namespace detail;  // NOLINT(google-build-using-namespace): the store's own internals
namespace fs = std::filesystem;

bool SameKey(const cose::Key& a, const cose::Key& b) {
  if (a.secret && b.secret) return crypto::ConstantTimeEqual(a.secret->view(), b.secret->view());
  return a.public_key && b.public_key && *a.public_key == *b.public_key;
}

// A key that can verify: a public part (COSE_Sign1) or a symmetric secret (COSE_Mac0).
bool CanVerify(const cose::Key& k) {
  return k.kty == cose::KeyType::kSymmetric ? k.secret && !k.secret->empty()
                                            : static_cast<bool>(k.public_key);
}

std::string AsText(const Bytes& b) { return std::string(b.begin(), b.end()); }

std::string_view AsChars(ByteView b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

}  // namespace

// ---- Persisting: every write goes through the FileSystem seam (core/fs.h)
// ------------------------

Status SlotStore::Impl::Persist(SlotState next) {
  SECPROF_TRY(WriteFileAtomic(PathOf(kStateFile), AsText(EncodeSlotState(next)), 0644, Fs()));
  state = std::move(next);
  return Ok();
}

Status SlotStore::Impl::WriteSlot(Slot slot, ImageSource& src, const ImageRecord* want, Hashed* got,
                                  bool crash_after_temp) {
  FileSystem& f = Fs();
  const std::string tmp = SlotTemp(slot);
  SECPROF_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> out, f.NewFile(tmp, 0644));
  auto fail = [&](Error e) {
    (void)f.Remove(tmp);
    return Fail(std::move(e));
  };
  auto h = crypto::Sha256Hasher::Create();
  if (!h) return fail(h.error());
  auto n = src.ForEach(opt.read_chunk, [&](ByteView b) -> Status {
    SECPROF_TRY(h->Update(b));
    return out->Append(AsChars(b));
  });
  if (!n) return fail(n.error());
  auto d = h->Finish();
  if (!d) return fail(d.error());
  if (want) {
    if (auto st = CheckSize(want->size, *n); !st) return fail(st.error());
    if (auto st = CheckDigest(want->digest, *d); !st) return fail(st.error());
  }
  if (auto st = out->Sync(); !st) return fail(st.error());
  if (auto st = out->Close(); !st) return fail(st.error());
  if (crash_after_temp) Crash(kStepSlotTemp);
  const std::string dst = SlotFile(slot);
  if (auto st = f.Rename(tmp, dst); !st) return fail(st.error());
  SECPROF_TRY(f.SyncDir(dir));
  if (got) *got = Hashed{*d, *n};
  return Ok();
}

// ---- SlotStore ----------------------------------------------------------------------------------

SlotStore::SlotStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SlotStore::~SlotStore() = default;
SlotStore::SlotStore(SlotStore&&) noexcept = default;
SlotStore& SlotStore::operator=(SlotStore&&) noexcept = default;

Result<SlotStore> SlotStore::Open(const std::string& dir, InstallIdentity identity,
                                  InstallOptions options) {
  if (identity.vendor_id.size() != kUuidSize || identity.class_id.size() != kUuidSize)
    return Fail(ErrorCode::kInvalidInput, "install identity: vendor-id and class-id must be " +
                                              std::to_string(kUuidSize) + "-byte UUIDs");
  if (!CanVerify(identity.vendor_key))
    return Fail(ErrorCode::kInvalidInput,
                "install identity: the vendor key has no public part and is not a symmetric key");
  if (identity.owner_key) {
    if (!CanVerify(*identity.owner_key))
      return Fail(ErrorCode::kInvalidInput,
                  "install identity: the owner key has no public part and is not a symmetric key");
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
  auto lock = posix::FileLock::TryAcquire(impl->PathOf(kLockFile), 0600);
  if (!lock) {
    if (lock.error().code() == ErrorCode::kConflict)
      return Fail(ErrorCode::kConflict, "firmware store " + dir + " is open in another installer");
    return Fail(lock.error());
  }
  impl->lock = std::move(*lock);
  auto text = impl->Fs().ReadFile(impl->PathOf(kStateFile));
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
  FileSystem& f = I.Fs();
  SECPROF_ASSIGN_OR_RETURN(std::vector<std::string> names, f.ListDir(I.dir));
  std::vector<std::string> stray;
  for (const std::string& n : names) {
    if ((n.rfind(".slot-", 0) == 0 && n.size() > 4 && n.compare(n.size() - 4, 4, ".tmp") == 0) ||
        n.rfind(std::string(".") + kStateFile + ".tmp-", 0) == 0)
      stray.push_back(I.PathOf(n));
  }
  for (const auto& p : stray) {
    if (auto st = f.Remove(p); !st && st.error().code() != ErrorCode::kNotFound)
      return Fail(st.error());
    ++rep.temp_files_removed;
  }
  if (rep.temp_files_removed) SECPROF_TRY(f.SyncDir(I.dir));
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

Result<ImageRecord> SlotStore::VerifyManifest(ByteView envelope) const {
  return impl_->VerifyManifestImpl(envelope);
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
    return Fail(ErrorCode::kConflict, kInstallPending,
                "install pending: sequence " + std::to_string(p.image.sequence_number) +
                    " in slot " + SlotName(p.slot) + ", phase " + PhaseName(p.phase) +
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

}  // namespace secprof::update

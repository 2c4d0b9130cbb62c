// Internal to secprof::update: the slot store's state (SlotStore::Impl) and the checks that
// Verify and Write share. install.cpp holds the store's steps, verify.cpp the verification.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "image_source.h"
#include "secprof/core/clock.h"
#include "secprof/core/fs.h"
#include "secprof/core/posix.h"
#include "secprof/update/install.h"

namespace secprof::update {
namespace detail {

inline constexpr const char* kStateFile = "state.cbor";
inline constexpr const char* kLockFile = "lock";
inline constexpr size_t kMinChunk = 4096;

// ---- Crash-point names (kInstallSteps) ----------------------------------------------------------
inline constexpr std::string_view kStepInitRenamed = kInstallSteps[0];
inline constexpr std::string_view kStepSlotTemp = kInstallSteps[1];
inline constexpr std::string_view kStepSlotRenamed = kInstallSteps[2];
inline constexpr std::string_view kStepStateWritten = kInstallSteps[3];
inline constexpr std::string_view kStepStateTesting = kInstallSteps[4];
inline constexpr std::string_view kStepHookPassed = kInstallSteps[5];
inline constexpr std::string_view kStepConfirmed = kInstallSteps[6];
inline constexpr std::string_view kStepRevertBefore = kInstallSteps[7];
inline constexpr std::string_view kStepReverted = kInstallSteps[8];

// The floor check (draft-ietf-suit-manifest §8.4.2; RFC 9124 REQ.SEC.SEQUENCE): strictly above.
// kRollback below the floor, kReplay at it.
Status CheckSequence(uint64_t seq, uint64_t floor);
// The image has exactly the manifest's size (kImageSize otherwise).
Status CheckSize(uint64_t expected, uint64_t actual);
// The image hashes to the manifest's digest (kImageDigest otherwise).
Status CheckDigest(ByteView expected, ByteView actual);

}  // namespace detail

struct SlotStore::Impl {
  std::string dir;
  InstallIdentity id;
  InstallOptions opt;
  std::optional<posix::FileLock> lock;
  std::optional<SlotState> state;
  // Set when TestBoot's hook passed for the pending install in this process (Confirm needs it).
  bool test_passed = false;

  std::string PathOf(const std::string& name) const {
    return (std::filesystem::path(dir) / name).string();
  }
  std::string SlotFile(Slot s) const { return PathOf(std::string("slot-") + SlotName(s) + ".img"); }
  std::string SlotTemp(Slot s) const {
    return PathOf(std::string(".slot-") + SlotName(s) + ".img.tmp");
  }
  void Crash(std::string_view step) const {
    if (opt.crash_point) opt.crash_point(step);
  }
  // Where the store's files are written, synced, renamed, read, listed and removed.
  FileSystem& Fs() const { return opt.file_system ? *opt.file_system : DefaultFileSystem(); }
  detail::FileIo Io() const {
    return detail::FileIo{opt.file_reads, opt.map_window, opt.read_chunk};
  }
  int64_t Now() const {
    const Clock& c = opt.clock ? *opt.clock : SystemClock();
    return UnixSeconds(c);
  }

  // Writes `next` atomically; the in-memory state changes only when the file did.
  Status Persist(SlotState next);

  // Copies `src` into the temp file of `slot`, hashing it; refuses (and removes the temp file)
  // when it does not match `want`; else fsyncs and renames it over the slot file and fsyncs the
  // directory. With `crash_after_temp`, the crash point "write:slot-temp" comes between the
  // fsync and the rename.
  Status WriteSlot(Slot slot, detail::ImageSource& src, const ImageRecord* want,
                   detail::Hashed* got, bool crash_after_temp);

  Status NeedInitialized() const {
    if (!state)
      return Fail(ErrorCode::kConflict,
                  "firmware store " + dir + " is not initialized (no " + detail::kStateFile + ")");
    return Ok();
  }

  // The signature checks (§8.3): the vendor's, then the owner's when configured. Any verifying
  // COSE_Sign1 block counts, so the order of the blocks does not matter.
  Status CheckSignatures(const Envelope& env) const;

  Result<VerifiedUpdate> VerifyImpl(ByteView envelope, detail::ImageSource& image) const;
  // VerifyImpl's checks of the envelope alone; the image record it states (size, digest).
  Result<ImageRecord> VerifyManifestImpl(ByteView envelope) const;
  Status InitializeImpl(detail::ImageSource& src, uint64_t seq);
  Status WriteImpl(const VerifiedUpdate& u, detail::ImageSource& src);
};

}  // namespace secprof::update

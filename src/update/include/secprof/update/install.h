// secprof/update/install.h — the thing-side firmware installer: two image slots (A/B), a
// persisted sequence-number floor (rollback protection), and an install that survives a crash at
// any step.
//
// A SlotStore owns one directory, the thing's firmware directory:
//
//   slot-a.img, slot-b.img   the two image slots; exactly one is active
//   state.cbor               the state (deterministic CBOR, see docs/UPDATE.md), replaced
//                            atomically (WriteFileAtomic: temp file, fsync, rename, fsync dir)
//   lock                     flock()ed while a SlotStore is open: one installer per directory
//
// Every write goes through InstallOptions::file_system (core/fs.h), so that a test can simulate a
// power loss that drops whatever was not yet fsynced (tests/update/install_power_loss_test.cpp).
//
// An update goes through these steps, each persisted before the next, so that a process killed
// between any two leaves a state that Recover() turns back into a consistent one:
//
//   Verify    envelope signature(s) or MAC (vendor, and owner when configured), the manifest's
//             commands (every one the installer must execute, suit.h InstallerFeatures),
//             vendor-id, class-id, sequence number strictly above the floor, image size,
//             image digest.  No state.
//   Write     the image goes into the INACTIVE slot (temp file, fsync, rename, fsync dir), hashed
//             again while copied; then state: pending {slot, seq, digest, size, phase "written"}.
//   TestBoot  state: phase "testing"; then the caller's test-boot hook runs on the new slot.
//             On failure the store reverts (Revert) and the hook's error is returned.
//   Confirm   one state write: the new slot becomes active, the floor rises to its sequence
//             number, the pending install is cleared.
//
//   SECPROF_ASSIGN_OR_RETURN(update::SlotStore store,
//                            update::SlotStore::Open("/var/lib/thing/fw", identity));
//   SECPROF_ASSIGN_OR_RETURN(update::RecoveryReport r, store.Recover());   // at every start-up
//   SECPROF_TRY(store.InstallFile(envelope, "/var/lib/thing/download/fw.bin"));
//
// The sequence number is draft-ietf-suit-manifest §8.4.2 (suit-manifest-sequence-number), the
// monotonically increasing anti-rollback counter: a recipient rejects a manifest whose sequence
// number is not greater than that of the installed one (RFC 9124 REQ.SEC.SEQUENCE, against
// THREAT.IMG.EXPIRED "old firmware"). An authentication wrapper may hold several blocks signing
// the same manifest digest (§8.3); with an owner key configured both the vendor and the owner
// must have signed (RFC 9124: multiple authorities over what a device runs).
//
// Refusals are kVerifyFailed (kInvalidInput for a malformed envelope, kUnsupported for SUIT we do
// not handle, kConflict for an install already pending) and carry one of the stable reasons below
// (docs/ERRORS.md, "update"): callers branch on error.Is(kRollback), never on the message, which
// for people starts with a fixed phrase ("rollback: ..."). A refused update changes no file in
// the directory.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "secprof/cbor/cbor.h"
#include "secprof/core/clock.h"
#include "secprof/core/fs.h"
#include "secprof/core/result.h"
#include "secprof/cose/key.h"
#include "secprof/update/suit.h"

namespace secprof::update {

// ---- Identity and options ----------------------------------------------------------------------

// What the thing trusts and who it is. The vendor key is required; the owner key is optional and,
// when set, every update must carry a valid signature by the owner as well (AddEnvelopeSignature
// makes one). The two keys must differ. A key is a public (or private) signature key, whose
// COSE_Sign1 blocks it verifies, or a symmetric key shared with the signer, whose COSE_Mac0
// blocks (HMAC 256/256, RFC 9053 §3.1; draft-ietf-suit-manifest §8.3) it verifies.
struct InstallIdentity {
  Bytes vendor_id;  // 16-byte UUID (RFC 4122), compared with the manifest's vendor-id
  Bytes class_id;   // 16-byte UUID, compared with the manifest's class-id
  cose::Key vendor_key;
  std::optional<cose::Key> owner_key;
};

enum class Slot { kA, kB };
const char* SlotName(Slot s);  // "a" or "b"
inline Slot OtherSlot(Slot s) { return s == Slot::kA ? Slot::kB : Slot::kA; }

// The test-boot hook: boot (or otherwise exercise) the image at `slot_path` and return Ok only if
// it is good. The default hook re-reads the slot and checks its size and SHA-256 against the
// verified manifest.
using TestBootHook = std::function<Status(const std::string& slot_path)>;

// Fault-injection seam for tests: called with the name of each step (one of kInstallSteps) right
// after it has been persisted. A test makes it _exit() to simulate a power cut there. Production
// code leaves it empty.
using CrashPoint = std::function<void(std::string_view step)>;

// Every step name passed to CrashPoint, in the order an install reaches them. The write steps:
// the slot's temp file is complete and fsynced ("write:slot-temp"), renamed into place
// ("write:slot-renamed"), the "written" state persisted ("write:state-written"); then
// "test:state-testing" (before the hook runs), "test:hook-passed", "confirm:state-confirmed";
// on a failed test "revert:before-state" and "revert:state-reverted"; and "init:slot-renamed"
// while Initialize writes the factory image.
inline constexpr std::string_view kInstallSteps[] = {
    "init:slot-renamed",       "write:slot-temp",     "write:slot-renamed",
    "write:state-written",     "test:state-testing",  "test:hook-passed",
    "confirm:state-confirmed", "revert:before-state", "revert:state-reverted",
};

enum class FileReads { kMmap, kRead };

struct InstallOptions {
  TestBootHook test_boot;        // empty: the default hook (digest check)
  CrashPoint crash_point;        // tests only
  const Clock* clock = nullptr;  // for last_result timestamps; nullptr: SystemClock()
  ParseLimits limits;            // for the envelope
  // How image files are read when hashed and copied (docs/PERFORMANCE.md, "Firmware
  // verification"): kMmap maps them in windows of map_window bytes and hashes the page cache in
  // place; kRead read(2)s them into one read_chunk buffer, one memory copy more (about 10 % of
  // the SHA-256 rate). With kMmap, a file that another process truncates while it is mapped
  // raises SIGBUS and the process dies: the store is crash-safe, so that costs a restart and
  // Recover(), never an inconsistent state; use kRead where that is not acceptable.
  FileReads file_reads = FileReads::kMmap;
  size_t map_window = 16u << 20;  // rounded up to the page size
  size_t read_chunk = 1u << 20;   // at least 4096
  // Where the slots and state.cbor are written, synced, renamed, read, listed and removed;
  // nullptr: DefaultFileSystem(). Tests pass one that drops unsynced data on a simulated power
  // loss (tests/support/fault_fs.h). Images are still read (mmap/read) and the lock taken
  // through POSIX directly. Must outlive the SlotStore.
  FileSystem* file_system = nullptr;
};

// ---- Refusal reasons ---------------------------------------------------------------------------

// The stable reasons of the installer's refusals (docs/ERRORS.md, "update"). The comment gives
// the phrase each message starts with.
inline constexpr Reason kMalformedEnvelope{"malformed-envelope"};  // "malformed envelope: ..."
inline constexpr Reason kUnsupportedSuit{"unsupported"};           // "unsupported: ..."
inline constexpr Reason kForgedSignature{"forged-signature"};      // "forged signature: ..."
inline constexpr Reason kWrongVendor{"wrong-vendor"};              // "wrong vendor: ..."
inline constexpr Reason kWrongClass{"wrong-class"};                // "wrong class: ..."
inline constexpr Reason kImageDigest{"image-digest"};  // "image digest mismatch (tampered): ..."
inline constexpr Reason kImageSize{"image-size"};      // "image size mismatch (...): ..."
inline constexpr Reason kRollback{"rollback"};         // "rollback: sequence N is below ..."
inline constexpr Reason kReplay{"replay"};             // "replayed manifest: sequence N is not..."
inline constexpr Reason kInstallPending{"install-pending"};  // "install pending: ..."
// An authentic manifest that uses a command or member the installer cannot execute (suit.h
// InstallerFeatures: dependencies, try-each, directive-wait, ...), named with its section.
inline constexpr Reason kUnsupportedFeature{"unsupported-feature"};  // "unsupported feature: ..."
// Not the installer's own refusal but its fetcher's: the image source sent more bytes than the
// verified manifest's image-size (draft-ietf-suit-manifest §8.4.8) and the fetch was stopped there
// (Uptane's "endless data" attack). Nothing was written. "image too long: ..."
inline constexpr Reason kImageTooLong{"image-too-long"};

// The same refusals as an enum, for switch statements and tables.
enum class Refusal {
  kNone,                // not a refusal by the installer (e.g. an I/O error)
  kMalformed,           // "malformed envelope: ..."
  kUnsupported,         // "unsupported: ..."
  kForgedSignature,     // "forged signature: ..." (vendor or owner; also a manifest altered after
                        // signing, or an envelope with no COSE_Sign1)
  kWrongVendor,         // "wrong vendor: ..."
  kWrongClass,          // "wrong class: ..."
  kImageDigest,         // "image digest mismatch (tampered): ..."
  kImageSize,           // "image size mismatch (truncated transfer): ..." (or "(image too long)")
  kRollback,            // "rollback: sequence N is below the installed M"
  kReplay,              // "replayed manifest: sequence N is not above the installed N"
  kBusy,                // "install pending: ..." (Write while another install is pending)
  kUnsupportedFeature,  // "unsupported feature: <command> (<draft> §N) in <sequence>[i]: ..."
  kImageTooLong,        // "image too long: ..." (the fetch, bounded by VerifyManifest's size)
};
// The refusal `r` as an Error: "<phrase>: <detail>" with r's reason and `code`. For a fetcher
// that refuses on the installer's behalf (kImageTooLong).
Error MakeRefusal(Refusal r, ErrorCode code, const std::string& detail);
// The phrase a refusal's message starts with: "forged signature", "wrong vendor", ...
const char* RefusalName(Refusal r);
// The refusal an error from Verify/Write/Install* stands for, from its reason (kNone for an
// error without one of the reasons above, e.g. an I/O error).
Refusal RefusalOf(const Error& e);

// ---- State -------------------------------------------------------------------------------------

enum class Phase { kWritten, kTesting };
const char* PhaseName(Phase p);  // "written", "testing"

struct ImageRecord {
  uint64_t sequence_number = 0;
  Bytes digest;  // SHA-256 of the slot file, 32 bytes
  uint64_t size = 0;
};

struct PendingInstall {
  Slot slot = Slot::kB;
  ImageRecord image;
  Phase phase = Phase::kWritten;
};

struct LastResult {
  bool ok = false;
  uint64_t sequence_number = 0;  // of the update this result is about
  std::string message;           // e.g. "installed sequence 8 in slot b" or the refusal
  int64_t at_unix = 0;           // seconds since the epoch, from the injected Clock
};

// The content of state.cbor. Invariants: floor >= active.sequence_number; pending->slot is the
// inactive slot; the active slot's file hashes to active.digest and has active.size bytes.
struct SlotState {
  Bytes vendor_id, class_id;
  Slot active = Slot::kA;
  ImageRecord active_image;
  uint64_t floor = 0;  // highest sequence number ever accepted; never decreases
  std::optional<PendingInstall> pending;
  std::optional<LastResult> last_result;
};

// The encoded state (deterministic CBOR) and its strict decoder; exposed for tests and tools.
Bytes EncodeSlotState(const SlotState& s);
Result<SlotState> DecodeSlotState(ByteView data);

// ---- The store ---------------------------------------------------------------------------------

// An update that passed Verify. Only SlotStore makes one; Write takes it and checks the image
// against it again while copying.
class VerifiedUpdate {
 public:
  uint64_t sequence_number() const { return image_.sequence_number; }
  const Bytes& image_digest() const { return image_.digest; }
  uint64_t image_size() const { return image_.size; }
  const ImageRecord& image() const { return image_; }

 private:
  friend class SlotStore;
  explicit VerifiedUpdate(ImageRecord image) : image_(std::move(image)) {}
  ImageRecord image_;
};

enum class RecoveryAction {
  kNone,              // no install was pending
  kDiscardedWritten,  // an install had been written but not test-booted: discarded
  kRevertedTesting,   // a test boot never confirmed (watchdog): reverted to the old slot
};

struct RecoveryReport {
  RecoveryAction action = RecoveryAction::kNone;
  size_t temp_files_removed = 0;  // stray temp files of interrupted writes
  std::string message;
};

class SlotStore {
 public:
  // Opens (creating if needed) the directory and takes its lock. Refuses (kInvalidInput) UUIDs
  // that are not 16 bytes, a vendor key without a public part, an owner key equal to the vendor
  // key; kConflict when another SlotStore holds the lock, or when the state names another
  // vendor/class. A directory without state.cbor opens uninitialized: call Initialize.
  static Result<SlotStore> Open(const std::string& dir, InstallIdentity identity,
                                InstallOptions options = {});
  ~SlotStore();
  SlotStore(SlotStore&&) noexcept;
  SlotStore& operator=(SlotStore&&) noexcept;
  SlotStore(const SlotStore&) = delete;
  SlotStore& operator=(const SlotStore&) = delete;

  bool initialized() const;
  // REQUIRES initialized() (else a default SlotState).
  const SlotState& state() const;
  std::string SlotPath(Slot s) const;
  std::string StatePath() const;

  // A fresh device: the factory image (trusted as is; no envelope) into slot a, which becomes
  // active with `sequence_number`, which is also the floor. kConflict when already initialized.
  Status Initialize(ByteView factory_image, uint64_t sequence_number);
  Status InitializeFromFile(const std::string& factory_image_path, uint64_t sequence_number);

  // At start-up, before anything else: removes stray temp files, resolves a pending install
  // ("written": discarded, "testing": reverted, as a bootloader's watchdog would), then checks
  // that the active slot hashes to the recorded digest (kVerifyFailed if not: the disk changed
  // under us, nothing this store can repair). kNotFound when not initialized.
  Result<RecoveryReport> Recover();

  // Step 1. Checks in this order: envelope parse, vendor signature (or MAC), owner signature,
  // the manifest's commands (kUnsupportedFeature for one the installer cannot execute),
  // vendor-id, class-id, sequence number against the floor, image size, image digest. Changes
  // no state.
  Result<VerifiedUpdate> Verify(ByteView envelope, ByteView image) const;
  // Step 0, for a fetcher, before any image byte is fetched: the checks of Verify up to and
  // including the sequence number, and that the manifest states an image size and a SHA-256
  // digest. Returns what the image must be (sequence, digest, size): the fetch is bounded by
  // `size` (an image source that sends more is refused, kImageTooLong), and the image is then
  // verified in full by Verify/Install. Changes no state.
  Result<ImageRecord> VerifyManifest(ByteView envelope) const;
  Result<VerifiedUpdate> VerifyFile(ByteView envelope, const std::string& image_path) const;

  // Step 2. Writes the image into the inactive slot (hashing it again while copying; a
  // different image is refused as kImageDigest/kImageSize and leaves the slot untouched), then
  // persists phase "written". Refused (kBusy) while another install is pending, and (kRollback /
  // kReplay) when the floor has moved since Verify.
  Status Write(const VerifiedUpdate& update, ByteView image);
  Status WriteFile(const VerifiedUpdate& update, const std::string& image_path);

  // Step 3. REQUIRES a pending install in phase "written" (else kConflict). Persists "testing",
  // runs the test-boot hook; on failure reverts (last_result keeps the hook's message) and
  // returns the hook's error.
  Status TestBoot();
  // Step 4. REQUIRES a pending install in phase "testing" whose TestBoot passed in this
  // SlotStore (after a restart Recover reverts it instead). Switches the active slot, raises
  // the floor, clears the pending install, in one state write.
  Status Confirm();
  // Abandons the pending install (kConflict when none): the active slot stays, pending is
  // cleared, last_result = {false, seq, reason}.
  Status Revert(std::string_view reason);

  // All four steps. On a refusal or a failed test boot, returns the error (state unchanged,
  // resp. reverted).
  Status Install(ByteView envelope, ByteView image);
  Status InstallFile(ByteView envelope, const std::string& image_path);

 private:
  struct Impl;
  explicit SlotStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Adds one more COSE_Sign1 authentication block (§8.3), by `key` over the envelope's existing
// SUIT_Digest, and returns the re-encoded envelope: how an owner countersigns a vendor's update.
// The manifest and every other member are kept byte for byte. Does not verify the envelope.
Result<Bytes> AddEnvelopeSignature(ByteView envelope, const cose::Key& key);

}  // namespace secprof::update

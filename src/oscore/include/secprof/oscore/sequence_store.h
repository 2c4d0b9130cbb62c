// secprof/oscore/sequence_store.h — where a sender keeps its sequence-number bound across
// reboots (RFC 8613 Appendix B.1.1).
//
// The stored value is a BOUND: no sequence number at or above it has ever been used with the
// context. SecurityContext saves `next + K` (K = ContextOptions::persist_interval) BEFORE it uses
// the first number at or above the old bound, and resumes at the stored bound after a reboot.
// So a process killed at any point (before, during or after a save) never reuses a sequence
// number: every number it used was below a bound that was durable before the use. It may skip
// up to K numbers per reboot (Appendix B.1.1 accepts that).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "secprof/core/fs.h"
#include "secprof/core/result.h"

namespace secprof::oscore {

class SequenceStore {
 public:
  virtual ~SequenceStore() = default;
  // The bound last saved, or nullopt when none was ever saved. kInvalidInput when what is stored
  // is not a bound this store wrote (a corrupt file is refused, never guessed from).
  virtual Result<std::optional<uint64_t>> Load() = 0;
  // Makes `bound` durable: Ok only once it survives a crash or power loss.
  virtual Status Save(uint64_t bound) = 0;
};

// One small file, replaced atomically with WriteFileAtomic (temp file, fsync, rename, fsync of
// the directory; core/fs.h) through `fs`. Content: "secprof-oscore-ssn 1 <bound>\n", mode 0600.
class FileSequenceStore final : public SequenceStore {
 public:
  explicit FileSequenceStore(std::string path, FileSystem& fs = DefaultFileSystem())
      : path_(std::move(path)), fs_(fs) {}
  Result<std::optional<uint64_t>> Load() override;
  Status Save(uint64_t bound) override;

 private:
  std::string path_;
  FileSystem& fs_;
};

// In memory, for tests and for contexts that never outlive the process. `FailSavesAfter(n)` lets
// n more saves through and fails every later one with kIo, without effect: the process "died"
// at that save (kill points for tests).
class MemorySequenceStore final : public SequenceStore {
 public:
  MemorySequenceStore() = default;
  explicit MemorySequenceStore(uint64_t bound) : bound_(bound) {}
  Result<std::optional<uint64_t>> Load() override { return bound_; }
  Status Save(uint64_t bound) override;

  void FailSavesAfter(long n) { budget_ = n; }
  long saves() const { return saves_; }
  std::optional<uint64_t> bound() const { return bound_; }

 private:
  std::optional<uint64_t> bound_{};
  long budget_ = -1;  // < 0: unlimited
  long saves_ = 0;
};

}  // namespace secprof::oscore

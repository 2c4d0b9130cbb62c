// secprof/oscore/replay_window.h — the recipient's sliding replay window (RFC 8613 §7.4), the
// anti-replay window of RFC 4303 §3.4.3 over sequence numbers (Partial IVs).
//
// A window of `size` (32..64) positions below the highest sequence number accepted so far: a
// number above it is new; one inside it is new unless its bit is set; one below it is refused as
// too old (it may be a replay the window no longer remembers).
//
// A window may be UNINITIALISED: after a reboot the recipient does not know which numbers it
// accepted before (Appendix B.1.2). Then it accepts nothing until the caller has established
// freshness (RFC 9175 Echo) and called InitialiseAt with that request's sequence number.
#pragma once

#include <cstddef>
#include <cstdint>

namespace secprof::oscore {

class ReplayWindow {
 public:
  static constexpr size_t kMinSize = 32;  // §7.4: "at least 32"
  static constexpr size_t kMaxSize = 64;

  // An initialised, empty window (a new security context: every number is new). REQUIRES
  // kMinSize <= size <= kMaxSize (clamped otherwise).
  explicit ReplayWindow(size_t size = kMinSize);
  // A window that accepts nothing until InitialiseAt (after a reboot, Appendix B.1.2).
  static ReplayWindow Uninitialised(size_t size = kMinSize);

  bool initialised() const { return initialised_; }
  size_t size() const { return size_; }

  // True when `seq` would be accepted: initialised, and not seen and not older than the window.
  bool Accepts(uint64_t seq) const;
  // Records `seq` as received. REQUIRES Accepts(seq).
  void Mark(uint64_t seq);
  // Appendix B.1.2 with Echo: `seq` (a request shown fresh) becomes the highest number seen and
  // every lower number is refused from now on.
  void InitialiseAt(uint64_t seq);

 private:
  size_t size_;
  bool initialised_ = true;
  uint64_t top_ = 0;     // highest number seen + 1; 0 when nothing seen
  uint64_t bitmap_ = 0;  // bit i: number top_ - 1 - i was seen
  uint64_t Mask() const { return size_ == 64 ? ~uint64_t{0} : (uint64_t{1} << size_) - 1; }
};

}  // namespace secprof::oscore

// The recipient's replay window (RFC 8613 §7.4, RFC 4303 §3.4.3). See replay_window.h.
#include "secprof/oscore/replay_window.h"

#include <algorithm>

namespace secprof::oscore {

ReplayWindow::ReplayWindow(size_t size) : size_(std::clamp(size, kMinSize, kMaxSize)) {}

ReplayWindow ReplayWindow::Uninitialised(size_t size) {
  ReplayWindow w(size);
  w.initialised_ = false;
  return w;
}

bool ReplayWindow::Accepts(uint64_t seq) const {
  if (!initialised_) return false;
  if (seq >= top_) return true;
  uint64_t back = top_ - 1 - seq;   // 0 = the highest seen
  if (back >= size_) return false;  // older than the window
  return ((bitmap_ >> back) & 1) == 0;
}

void ReplayWindow::Mark(uint64_t seq) {
  if (seq >= top_) {
    uint64_t shift = seq + 1 - top_;
    bitmap_ = shift >= 64 ? 0 : (bitmap_ << shift);
    bitmap_ = (bitmap_ | 1) & Mask();
    top_ = seq + 1;
  } else if (top_ - 1 - seq < size_) {
    bitmap_ |= uint64_t{1} << (top_ - 1 - seq);
  }
}

void ReplayWindow::InitialiseAt(uint64_t seq) {
  initialised_ = true;
  top_ = seq + 1;
  bitmap_ = Mask();  // seq and everything the window covers below it count as seen
}

}  // namespace secprof::oscore

// Block1 body assembly under the request-size limit (assembly.h).
#include "assembly.h"

#include <algorithm>

namespace secprof::coap::internal {

BodyAssembler::Outcome BodyAssembler::Add(const std::string& key, const std::string& address,
                                          size_t offset, ByteView data, bool more, uint64_t size1,
                                          std::chrono::steady_clock::time_point now, Bytes* body) {
  std::erase_if(partial_, [&](const auto& p) { return now - p.second.last > lifetime_; });
  auto it = partial_.find(key);
  // RFC 7959 §2.9.3: refuse at the first block whose announced size or whose end is beyond the
  // limit; keep nothing of the transfer.
  if (size1 > limit_ || offset > limit_ || data.size() > limit_ - offset) {
    if (it != partial_.end()) partial_.erase(it);
    return Outcome::kTooLarge;
  }
  if (offset == 0) {
    if (!more) {  // a one-block body
      if (it != partial_.end()) partial_.erase(it);
      body->assign(data.begin(), data.end());
      return Outcome::kComplete;
    }
    if (it == partial_.end()) {
      size_t from_address =
          static_cast<size_t>(std::count_if(partial_.begin(), partial_.end(), [&](const auto& p) {
            return p.second.address == address;
          }));
      if (per_address_ > 0 && from_address >= per_address_) return Outcome::kBusy;
      it = partial_.emplace(key, Partial{.address = address, .body = {}, .last = now}).first;
    }
    it->second.body.assign(data.begin(), data.end());  // a new transfer restarts the body
    it->second.last = now;
    return Outcome::kContinue;
  }
  if (it == partial_.end()) return Outcome::kIncomplete;
  Bytes& b = it->second.body;
  if (offset == b.size()) {
    b.insert(b.end(), data.begin(), data.end());
  } else if (offset + data.size() != b.size()) {  // not a repeat of the last block either
    partial_.erase(it);
    return Outcome::kIncomplete;
  }
  it->second.last = now;
  if (more) return Outcome::kContinue;
  *body = std::move(b);
  partial_.erase(it);
  return Outcome::kComplete;
}

void BodyAssembler::ForgetPeer(const std::string& prefix) {
  std::erase_if(partial_, [&](const auto& p) { return p.first.rfind(prefix, 0) == 0; });
}

}  // namespace secprof::coap::internal

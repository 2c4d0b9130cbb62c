// Echo values of a coap::Server (echo.h; RFC 9175 §2.3, Appendix A method 3).
#include "echo.h"

#include "secprof/crypto/hash.h"

namespace secprof::coap::internal {

namespace {

constexpr size_t kStampSize = 8;
constexpr size_t kTagSize = kEchoValueSize - kStampSize;  // 16: within RFC 2104 §5's bounds
constexpr std::string_view kLabel = "secprof-echo-v1";

uint64_t StampOf(EchoGuard::TimePoint t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  return static_cast<uint64_t>(ms < 0 ? 0 : ms);
}

}  // namespace

Result<std::unique_ptr<EchoGuard>> EchoGuard::Create(crypto::Random& rng,
                                                     std::chrono::milliseconds freshness) {
  SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer key, rng.DrawSecret(32));
  return std::unique_ptr<EchoGuard>(new EchoGuard(std::move(key), freshness));
}

Bytes EchoGuard::Input(uint64_t stamp_ms) const {
  Bytes in(kLabel.begin(), kLabel.end());
  for (int i = 7; i >= 0; --i) in.push_back(static_cast<uint8_t>(stamp_ms >> (8 * i)));
  return in;
}

Result<Bytes> EchoGuard::Issue(TimePoint now) const {
  const uint64_t stamp = StampOf(now);
  SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Digest tag, crypto::HmacSha256(key_.view(), Input(stamp)));
  Bytes out;
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<uint8_t>(stamp >> (8 * i)));
  out.insert(out.end(), tag.begin(), tag.begin() + kTagSize);
  return out;
}

EchoGuard::Verdict EchoGuard::Check(const std::optional<Bytes>& value, TimePoint now) const {
  if (!value) return Verdict::kMissing;
  if (value->size() != kEchoValueSize) return Verdict::kUnknown;
  uint64_t stamp = 0;
  for (size_t i = 0; i < kStampSize; ++i) stamp = (stamp << 8) | (*value)[i];
  const ByteView tag(value->data() + kStampSize, kTagSize);
  if (!crypto::HmacSha256Verify(key_.view(), Input(stamp), tag, kTagSize)) return Verdict::kUnknown;
  const uint64_t at = StampOf(now);
  if (stamp > at) return Verdict::kStale;  // from the future: the clock went back; not fresh
  if (at - stamp > static_cast<uint64_t>(freshness_.count())) return Verdict::kStale;
  return Verdict::kFresh;
}

Reason EchoGuard::ReasonOf(Verdict v) {
  switch (v) {
    case Verdict::kMissing:
      return kEchoMissing;
    case Verdict::kStale:
      return kEchoStale;
    case Verdict::kUnknown:
    case Verdict::kFresh:
      break;
  }
  return kEchoUnknown;
}

}  // namespace secprof::coap::internal

// SecProf_2's stateless, address-bound join nonce (join_nonce.h; docs/DOMAIN.md "SecProf_2:
// setup code", "Nonce").
#include "join_nonce.h"

#include <algorithm>
#include <limits>
#include <string>

#include "secprof/core/bytes.h"
#include "secprof/crypto/hash.h"
#include "secprof/domain/protocol.h"
#include "secprof/kdc/reasons.h"

namespace secprof::kdc::join_nonce {

namespace {

constexpr size_t kHeadSize = 8;  // expires (4) || random (4)
static_assert(kHeadSize + kTagSize == domain::kNonceSize);
constexpr std::string_view kLabel = "secprof join nonce v2";
constexpr std::string_view kKeyInfo = "secprof/kdc/join-nonce/v2";

crypto::ByteView View(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// The MAC input: label || head || lp(serial) || lp(peer) (lp: u32be length || bytes).
crypto::Bytes TagInput(crypto::ByteView head, std::string_view serial, std::string_view peer) {
  crypto::Bytes in;
  in.reserve(kLabel.size() + head.size() + 8 + serial.size() + peer.size());
  for (uint8_t b : View(kLabel)) in.push_back(b);
  for (uint8_t b : head) in.push_back(b);
  PutLengthPrefixed32(in, View(serial));
  PutLengthPrefixed32(in, View(peer));
  return in;
}

Result<crypto::SecureBuffer> TagKey(crypto::ByteView kek) {
  return crypto::HkdfSha256(kek, {}, View(kKeyInfo), crypto::kSha256Size);
}

Error NotOurs(std::string_view serial, std::string_view peer) {
  return Error(ErrorCode::kVerifyFailed, kReplayOrStale,
               "join nonce was not issued by this KDC for " + std::string(serial) + " to " +
                   std::string(peer) +
                   " (a nonce is bound to the serial, address and port that asked for it, "
                   "docs/DOMAIN.md \"Nonce\"): ask j/nonce again from this socket");
}

}  // namespace

Result<crypto::Bytes> Issue(crypto::ByteView kek, std::string_view serial, std::string_view peer,
                            int64_t expires, crypto::Random& rng) {
  if (expires < 0 || expires > std::numeric_limits<uint32_t>::max())
    return Fail(ErrorCode::kInvalidInput, kInternal,
                "join nonce expiry " + std::to_string(expires) + " does not fit 32 bits");
  auto r = rng.Draw(kHeadSize - 4);
  if (!r || r->size() != kHeadSize - 4)
    return Fail(ErrorCode::kInternal, kInternal, "no randomness for a join nonce");
  crypto::Bytes nonce(domain::kNonceSize, 0);
  StoreBig32(nonce, static_cast<uint32_t>(expires));
  std::copy(r->begin(), r->end(), nonce.begin() + 4);
  auto key = TagKey(kek);
  if (!key) return Fail(key.error().WithReason(kInternal));
  auto tag =
      crypto::HmacSha256(key->view(), TagInput(ByteView(nonce).first(kHeadSize), serial, peer));
  if (!tag) return Fail(tag.error().WithReason(kInternal));
  std::copy(tag->begin(), tag->begin() + kTagSize, nonce.begin() + kHeadSize);
  return nonce;
}

int64_t Expires(crypto::ByteView nonce) {
  if (nonce.size() != domain::kNonceSize) return 0;
  return static_cast<int64_t>(GetBig32(nonce));
}

Status Check(crypto::ByteView kek, crypto::ByteView nonce, std::string_view serial,
             std::string_view peer, int64_t now, std::chrono::seconds lifetime) {
  if (nonce.size() != domain::kNonceSize) return Fail(NotOurs(serial, peer));
  auto key = TagKey(kek);
  if (!key) return Fail(key.error().WithReason(kInternal));
  crypto::ByteView head = nonce.subspan(0, kHeadSize);
  if (!crypto::HmacSha256Verify(key->view(), TagInput(head, serial, peer), nonce.subspan(kHeadSize),
                                kTagSize))
    return Fail(NotOurs(serial, peer));
  const int64_t expires = Expires(nonce);
  if (now > expires)
    return Fail(ErrorCode::kVerifyFailed, kReplayOrStale,
                "join nonce expired at " + std::to_string(expires) + " (now " +
                    std::to_string(now) + "): ask j/nonce again");
  if (expires - now > lifetime.count())
    return Fail(ErrorCode::kVerifyFailed, kReplayOrStale,
                "join nonce expires at " + std::to_string(expires) + ", more than " +
                    std::to_string(lifetime.count()) +
                    " s from now (issued under a longer lifetime): ask j/nonce again");
  return Ok();
}

}  // namespace secprof::kdc::join_nonce

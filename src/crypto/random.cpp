#include "secprof/crypto/random.h"

#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "internal.h"
#include "secprof/core/bytes.h"
#include "secprof/crypto/hash.h"

namespace secprof::crypto {

Result<Bytes> Random::Draw(size_t n) {
  Bytes out(n);
  SECPROF_TRY(Fill(out));
  return out;
}

Result<SecureBuffer> Random::DrawSecret(size_t n) {
  SecureBuffer out(n);
  SECPROF_TRY(Fill(out.span()));
  return out;
}

Status SystemRandom::Fill(std::span<uint8_t> out) {
  // RAND_bytes takes an int length; feed large requests in pieces.
  while (!out.empty()) {
    const size_t chunk = std::min<size_t>(out.size(), INT_MAX);
    if (RAND_bytes(out.data(), static_cast<int>(chunk)) != 1) {
      return Fail(internal::OpenSslError("RAND_bytes"));
    }
    out = out.subspan(chunk);
  }
  return Ok();
}

Random& SystemRandomSource() {
  static SystemRandom instance;
  return instance;
}

FakeRandom FakeRandom::FromSeed(uint64_t seed) { return FakeRandom(Mode::kSeed, seed, {}); }

FakeRandom FakeRandom::FromStream(ByteView stream) {
  return FakeRandom(Mode::kStream, 0, Bytes(stream.begin(), stream.end()));
}

FakeRandom FakeRandom::Failing() { return FakeRandom(Mode::kFailing, 0, {}); }

Status FakeRandom::Fill(std::span<uint8_t> out) {
  switch (mode_) {
    case Mode::kFailing:
      return Fail(ErrorCode::kCrypto, "FakeRandom: failure injected");
    case Mode::kStream:
      if (out.size() > stream_.size() - consumed_) {
        return Fail(ErrorCode::kLimit,
                    "FakeRandom: stream exhausted (" + std::to_string(stream_.size() - consumed_) +
                        " bytes left, " + std::to_string(out.size()) + " asked)");
      }
      if (!out.empty()) std::memcpy(out.data(), stream_.data() + consumed_, out.size());
      consumed_ += out.size();
      return Ok();
    case Mode::kSeed:
      for (size_t i = 0; i < out.size(); ++i) {
        const size_t pos = consumed_ + i;
        const uint64_t block = pos / kSha256Size;
        if (pos % kSha256Size == 0 || stream_.empty()) {
          uint8_t input[16];
          StoreBig64(std::span<uint8_t>(input, 8), seed_);
          StoreBig64(std::span<uint8_t>(input + 8, 8), block);
          SECPROF_ASSIGN_OR_RETURN(Sha256Digest d, Sha256(input));
          stream_.assign(d.begin(), d.end());
        }
        out[i] = stream_[pos % kSha256Size];
      }
      consumed_ += out.size();
      return Ok();
  }
  return Fail(ErrorCode::kInternal, "FakeRandom: bad mode");
}

}  // namespace secprof::crypto

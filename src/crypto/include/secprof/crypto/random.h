// secprof/crypto/random.h — randomness behind an interface, so tests can fix it.
//
// Production code takes a `Random&` and is handed SystemRandomSource(); tests hand it a
// FakeRandom, which returns a fixed, repeatable stream (or fails on purpose).
//
//   Status MakeNonce(Random& rng, std::span<uint8_t> nonce) { return rng.Fill(nonce); }
//
//   FakeRandom rng = FakeRandom::FromSeed(42);   // same bytes on every run
//   FakeRandom cose = FakeRandom::FromStream(rng_stream_from_example);  // exact bytes, then fails
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "secprof/core/result.h"
#include "secprof/crypto/secure_buffer.h"

namespace secprof::crypto {

class Random {
 public:
  virtual ~Random() = default;
  // Fills `out` entirely with random bytes, or fails (kCrypto for the system source, kLimit when a
  // finite fake stream is exhausted). On failure the content of `out` is unspecified.
  virtual Status Fill(std::span<uint8_t> out) = 0;

  // Convenience: `n` fresh bytes.
  Result<Bytes> Draw(size_t n);
  // Convenience: `n` fresh bytes in a wiping buffer (for keys).
  Result<SecureBuffer> DrawSecret(size_t n);
};

// OpenSSL's default DRBG (RAND_bytes), seeded from the operating system. Thread-safe.
class SystemRandom final : public Random {
 public:
  Status Fill(std::span<uint8_t> out) override;
};

// A process-wide SystemRandom.
Random& SystemRandomSource();

// A deterministic source for tests. Not thread-safe. Never use it outside tests.
class FakeRandom final : public Random {
 public:
  // An unbounded stream determined by `seed`: block i is SHA-256(seed as 8 bytes big-endian ||
  // i as 8 bytes big-endian), concatenated. The same seed always gives the same stream.
  static FakeRandom FromSeed(uint64_t seed);
  // Exactly the bytes of `stream`, in order; a Fill that would go past its end fails with kLimit
  // (and consumes nothing). Useful to replay an RNG stream printed by a test vector.
  static FakeRandom FromStream(ByteView stream);
  // Every Fill fails with kCrypto: for testing error paths (fault injection).
  static FakeRandom Failing();

  Status Fill(std::span<uint8_t> out) override;
  // Bytes handed out so far.
  size_t consumed() const { return consumed_; }

 private:
  enum class Mode { kSeed, kStream, kFailing };
  FakeRandom(Mode mode, uint64_t seed, Bytes stream)
      : mode_(mode), seed_(seed), stream_(std::move(stream)) {}
  Mode mode_;
  uint64_t seed_ = 0;
  Bytes stream_;  // kStream: the whole stream; kSeed: the current block
  size_t consumed_ = 0;
};

}  // namespace secprof::crypto

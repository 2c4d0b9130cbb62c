// secprof/core/bytes.h — the byte types every module shares, and big-endian packing.
//
// Bytes owns non-secret bytes (ciphertexts, signatures, public keys, digests, encodings); secrets
// live in crypto::SecureBuffer. ByteView is a read-only view of bytes owned elsewhere: the owner
// must outlive the view. crypto, cbor and store re-export these names, so crypto::Bytes,
// cbor::Bytes and secprof::Bytes are one type.
//
// Network byte order (big-endian, RFC 791 Appendix B and every RFC protocol since) is written and
// read here and nowhere else:
//
//   Bytes aad = ...;
//   PutBig64(aad, static_cast<uint64_t>(epoch));   // appends 8 bytes, most significant first
//   uint16_t id = GetBig16(datagram.subspan(2));   // REQUIRES datagram.size() >= 4
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace secprof {

// Non-secret bytes.
using Bytes = std::vector<uint8_t>;
// A read-only view of bytes owned elsewhere; the owner must outlive the view.
using ByteView = std::span<const uint8_t>;

// Appends `v` to `out`, most significant byte first.
inline void PutBig16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
inline void PutBig32(Bytes& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline void PutBig64(Bytes& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// Writes `v` into the first 2/4/8 bytes of `out`, most significant first. REQUIRES out.size() is
// at least that many bytes.
inline void StoreBig16(std::span<uint8_t> out, uint16_t v) {
  out[0] = static_cast<uint8_t>(v >> 8);
  out[1] = static_cast<uint8_t>(v);
}
inline void StoreBig32(std::span<uint8_t> out, uint32_t v) {
  for (size_t i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
inline void StoreBig64(std::span<uint8_t> out, uint64_t v) {
  for (size_t i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
}

// Reads a big-endian integer from the first 2/4/8 bytes of `in`. REQUIRES in.size() is at least
// that many bytes.
inline uint16_t GetBig16(ByteView in) {
  return static_cast<uint16_t>((unsigned{in[0]} << 8) | in[1]);
}
inline uint32_t GetBig32(ByteView in) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | in[i];
  return v;
}
inline uint64_t GetBig64(ByteView in) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}
// Reads an unsigned big-endian integer of `n` bytes (0 <= n <= 8; n == 0 reads 0). REQUIRES
// in.size() >= n.
inline uint64_t GetBigN(ByteView in, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | in[i];
  return v;
}

// Appends `data` preceded by its length as a 4-byte big-endian integer (the "length-prefixed
// slice" of leveldb's coding.h). REQUIRES data.size() < 2^32.
inline void PutLengthPrefixed32(Bytes& out, ByteView data) {
  PutBig32(out, static_cast<uint32_t>(data.size()));
  out.insert(out.end(), data.begin(), data.end());
}

}  // namespace secprof

// secprof/crypto/secure_buffer.h — byte types shared by the crypto module, a buffer for key
// material that wipes itself, and a constant-time comparison.
//
// SecureBuffer owns a heap block that is overwritten with zeros (OPENSSL_cleanse, which the
// compiler may not optimise away) before it is released: on destruction, on clear(), on resize(),
// and when a move assignment replaces its content. It cannot be copied by accident: the copy
// constructor is deleted; Clone() makes an explicit copy.
//
//   SecureBuffer key(32);                       // 32 zero bytes
//   SECPROF_TRY(rng.Fill(key.span()));
//   auto ct = aead.Seal(key, nonce, aad, msg);  // SecureBuffer converts to ByteView
//
// No OpenSSL type appears in this header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "secprof/core/bytes.h"

namespace secprof::crypto {

// Non-secret bytes and read-only views: the types of core/bytes.h, re-exported (crypto::Bytes and
// secprof::Bytes are one type).
using Bytes = secprof::Bytes;
using ByteView = secprof::ByteView;

class SecureBuffer {
 public:
  SecureBuffer() = default;
  // `size` zero bytes.
  explicit SecureBuffer(size_t size);
  // A copy of `bytes`.
  explicit SecureBuffer(ByteView bytes);
  ~SecureBuffer();

  SecureBuffer(const SecureBuffer&) = delete;
  SecureBuffer& operator=(const SecureBuffer&) = delete;
  // Moving transfers the block; the source is left empty (it holds no copy of the bytes).
  SecureBuffer(SecureBuffer&& other) noexcept;
  // Wipes this buffer's previous content, then takes `other`'s block.
  SecureBuffer& operator=(SecureBuffer&& other) noexcept;

  // An explicit deep copy.
  SecureBuffer Clone() const;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  uint8_t& operator[](size_t i) { return data_[i]; }
  uint8_t operator[](size_t i) const { return data_[i]; }
  uint8_t* begin() { return data_; }
  uint8_t* end() { return data_ + size_; }
  const uint8_t* begin() const { return data_; }
  const uint8_t* end() const { return data_ + size_; }

  std::span<uint8_t> span() { return {data_, size_}; }
  ByteView view() const { return {data_, size_}; }
  operator ByteView() const { return view(); }  // NOLINT(google-explicit-constructor)
  // The bytes as text (e.g. a PEM private key). Valid while the buffer lives and is unchanged.
  std::string_view AsStringView() const { return {reinterpret_cast<const char*>(data_), size_}; }

  // Resizes, keeping the first min(old, new) bytes; new bytes are zero. The old block is wiped.
  void resize(size_t size);
  // Wipes and releases the block; size() becomes 0.
  void clear();

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Test seam: when set, called with the block's address and size after it has been wiped and
// before it is freed, so a test can observe that it is all zeros without reading freed memory.
// Pass nullptr to remove. Not for production use; not synchronised with concurrent wipes.
using WipeObserver = void (*)(const uint8_t* data, size_t size);
void SetWipeObserverForTesting(WipeObserver observer);

// Overwrites `bytes` with zeros in a way the compiler may not optimise away (OPENSSL_cleanse; a
// plain std::fill or memset of memory that is not read again may be removed as a dead store).
// For secrets that passed through an ordinary container before reaching a SecureBuffer.
void Cleanse(std::span<uint8_t> bytes);
// The same for the characters of `s` (its size is unchanged).
void Cleanse(std::string& s);

// True when a and b have the same length and the same bytes. The time taken depends on the
// lengths only, not on the content (CRYPTO_memcmp), so it is safe for comparing MACs and tags.
bool ConstantTimeEqual(ByteView a, ByteView b);

}  // namespace secprof::crypto

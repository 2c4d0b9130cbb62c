#include "secprof/crypto/secure_buffer.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <atomic>
#include <cstring>

namespace secprof::crypto {
namespace {

std::atomic<WipeObserver> g_wipe_observer{nullptr};

// Wipes and frees a block owned by a SecureBuffer.
void WipeAndFree(uint8_t* data, size_t size) {
  if (data == nullptr) return;
  OPENSSL_cleanse(data, size);
  if (WipeObserver obs = g_wipe_observer.load(std::memory_order_acquire)) obs(data, size);
  delete[] data;
}

}  // namespace

void SetWipeObserverForTesting(WipeObserver observer) {
  g_wipe_observer.store(observer, std::memory_order_release);
}

SecureBuffer::SecureBuffer(size_t size) {
  if (size == 0) return;
  data_ = new uint8_t[size]();
  size_ = size;
}

SecureBuffer::SecureBuffer(ByteView bytes) : SecureBuffer(bytes.size()) {
  if (!bytes.empty()) std::memcpy(data_, bytes.data(), bytes.size());
}

SecureBuffer::~SecureBuffer() { WipeAndFree(data_, size_); }

SecureBuffer::SecureBuffer(SecureBuffer&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

SecureBuffer& SecureBuffer::operator=(SecureBuffer&& other) noexcept {
  if (this != &other) {
    WipeAndFree(data_, size_);
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

SecureBuffer SecureBuffer::Clone() const { return SecureBuffer(view()); }

void SecureBuffer::resize(size_t size) {
  if (size == size_) return;
  SecureBuffer grown(size);
  if (size_ != 0 && size != 0) std::memcpy(grown.data_, data_, std::min(size, size_));
  *this = std::move(grown);  // wipes the old block
}

void SecureBuffer::clear() {
  WipeAndFree(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

void Cleanse(std::span<uint8_t> bytes) {
  if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
}

void Cleanse(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
}

bool ConstantTimeEqual(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace secprof::crypto

// secprof/keystore/pin.h — a PKCS#11 user PIN held in a crypto::SecureBuffer (issue 10 item 6).
//
// The PIN's bytes live only in wiping memory: a Pin is built from the text the caller read (a
// flag, an environment variable, a file) and from then on is never a std::string. Copying a Pin
// makes an explicit Clone of the buffer, so that option structs holding one
// (Pkcs11KeyStoreOptions, kdc::KeyDirOptions, thing::AgentOptions) stay copyable aggregates;
// every copy wipes itself when released. Libraries read no environment variable: the CLI reads
// $SECPROF_PKCS11_PIN (or a flag) and builds the Pin.
//
// PKCS#11 v2.40 base §5.6 (C_Login): the PIN is a byte string of ulPinLen bytes, not
// NUL-terminated; a Pin holds exactly those bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "secprof/crypto/secure_buffer.h"

namespace secprof::keystore {

class Pin {
 public:
  Pin() = default;
  // A copy of `text` in wiping memory. The caller wipes its own copy (see Take).
  explicit Pin(std::string_view text)
      : value_(crypto::ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size())) {}
  explicit Pin(crypto::SecureBuffer value) : value_(std::move(value)) {}
  Pin(const Pin& other) : value_(other.value_.Clone()) {}
  Pin& operator=(const Pin& other) {
    if (this != &other) value_ = other.value_.Clone();
    return *this;
  }
  Pin(Pin&&) noexcept = default;
  Pin& operator=(Pin&&) noexcept = default;

  // Moves the content of `text` (a parsed flag) into a Pin and wipes `text` (crypto::Cleanse,
  // which the compiler cannot remove), leaving it empty.
  static Pin Take(std::string& text);

  bool empty() const { return value_.empty(); }
  size_t size() const { return value_.size(); }
  const crypto::SecureBuffer& value() const { return value_; }
  // The PIN's bytes, valid while this Pin lives and is unchanged.
  crypto::ByteView bytes() const { return value_.view(); }
  // The same as text, for the APIs that want characters; never to be copied into a std::string.
  std::string_view text() const { return value_.AsStringView(); }

 private:
  crypto::SecureBuffer value_;
};

}  // namespace secprof::keystore

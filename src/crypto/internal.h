// src/crypto/internal.h — OpenSSL plumbing shared by the crypto module's sources. Never included
// from a public header: this is the only place where OpenSSL types meet secprof types.
//
// Every OpenSSL handle is owned by one of the Ptr aliases of secprof/crypto/openssl_handles.h from
// the moment it is returned, and released by OpenSSL's own free function for that type.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/params.h>

#include <memory>
#include <mutex>
#include <string>

#include "secprof/crypto/openssl_errors.h"
#include "secprof/crypto/openssl_handles.h"

#include "secprof/core/result.h"
#include "secprof/crypto/keys.h"

namespace secprof::crypto::internal {

// The owning handle types (EvpPkeyPtr, BioPtr, ... and the Free<fn> deleter) are the shared ones
// of secprof/crypto/openssl_handles.h.
using namespace secprof::openssl;

// OpenSslError and ClearOpenSslErrors: secprof/crypto/openssl_errors.h.
using crypto::ClearOpenSslErrors;
using crypto::OpenSslError;

// A non-null pointer for possibly empty inputs: some OpenSSL entry points read (ptr == NULL) as
// "absent" rather than "empty" (e.g. EVP_MAC_init treats a NULL key as "keep the previous key").
inline const uint8_t* NonNull(ByteView v) {
  static const uint8_t kEmpty[1] = {0};
  return v.empty() ? kEmpty : v.data();
}

// Algorithms fetched once per process from the default library context (explicit fetching avoids
// a lookup on every call, OpenSSL 3 "Performance" guide). Never null once the call succeeded.
Result<const EVP_MD*> Sha256Md();

}  // namespace secprof::crypto::internal

namespace secprof::crypto {

namespace internal {

// A context prepared once per key and reused: setting up an EVP_PKEY_CTX or EVP_MD_CTX for a key
// costs a noticeable share of one signature. The thread that finds the cache free uses it; a
// concurrent caller builds a fresh context instead of waiting, so keys stay usable from many
// threads. After a failed operation the cached context is discarded, not reused.
template <class Ptr>
class CtxLease {
 public:
  CtxLease(std::mutex& mu, Ptr& cached) : lock_(mu, std::try_to_lock), cached_(cached) {}
  // `init` returns Result<Ptr>: a context ready for the operation.
  template <class Init>
  Result<typename Ptr::pointer> Get(Init init) {
    Ptr& slot = lock_.owns_lock() ? cached_ : fresh_;
    if (!slot) {
      auto made = init();
      if (!made) return Fail(made.error());
      slot = std::move(*made);
    }
    return slot.get();
  }
  void Discard() {
    if (lock_.owns_lock()) cached_.reset();
  }

 private:
  std::unique_lock<std::mutex> lock_;
  Ptr& cached_;
  Ptr fresh_;
};

}  // namespace internal

struct PublicKey::Impl {
  internal::EvpPkeyPtr pkey;  // public part only
  KeyType type;
  // Verification contexts (see CtxLease); mutable because a PublicKey is immutable to its users.
  mutable std::mutex mu;
  mutable internal::EvpPkeyCtxPtr ecdsa_verify;
  mutable internal::EvpMdCtxPtr eddsa_verify;
};

struct PrivateKey::Impl {
  internal::EvpPkeyPtr pkey;  // full key pair
  KeyType type;
  mutable std::mutex mu;
  mutable internal::EvpPkeyCtxPtr ecdsa_sign;
  mutable internal::EvpMdCtxPtr eddsa_sign;
};

// The module's privileged access to the opaque key classes.
struct KeyAccess {
  static EVP_PKEY* Get(const PublicKey& k) { return k.impl_->pkey.get(); }
  static EVP_PKEY* Get(const PrivateKey& k) { return k.impl_->pkey.get(); }
  static bool Valid(const PrivateKey& k) { return k.impl_ != nullptr; }
  // Takes ownership of a validated public key.
  static PublicKey MakePublic(internal::EvpPkeyPtr pkey, KeyType type);
  // Takes ownership of a validated key pair; derives the public-only copy.
  static Result<PrivateKey> MakePrivate(internal::EvpPkeyPtr pkey, KeyType type);
};

}  // namespace secprof::crypto

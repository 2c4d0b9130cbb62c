#include <openssl/crypto.h>
#include <openssl/err.h>

#include "internal.h"
#include "secprof/crypto/openssl_errors.h"

namespace secprof::crypto::internal {

Result<const EVP_MD*> Sha256Md() {
  static const EvpMdPtr md(EVP_MD_fetch(nullptr, "SHA2-256", nullptr));
  if (!md) return Fail(OpenSslError("fetching SHA-256"));
  return md.get();
}

}  // namespace secprof::crypto::internal

namespace secprof::crypto {

Error OpenSslError(const std::string& what, ErrorCode code) {
  std::string msg = what + " failed";
  if (unsigned long e = ERR_peek_error(); e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    msg += ": ";
    msg += buf;
  }
  ERR_clear_error();
  return Error(code, msg);
}

void ClearOpenSslErrors() { ERR_clear_error(); }

}  // namespace secprof::crypto

// secprof/crypto/openssl_errors.h — OpenSSL's error queue as secprof Errors.
//
// For the modules that call OpenSSL directly besides crypto (identity for X.509, coap for DTLS):
// one way to turn a failed OpenSSL call into an Error, without exposing any OpenSSL type.
#pragma once

#include <string>

#include "secprof/core/result.h"

namespace secprof::crypto {

// An Error of `code` saying "`what` failed", with the reason of the oldest entry in OpenSSL's
// error queue when there is one. Clears the queue (of this thread).
Error OpenSslError(const std::string& what, ErrorCode code = ErrorCode::kCrypto);

// Discards this thread's OpenSSL error queue (after an expected failure such as a bad signature).
void ClearOpenSslErrors();

}  // namespace secprof::crypto

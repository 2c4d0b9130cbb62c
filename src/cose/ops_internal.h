// Internal to secprof::cose: what the COSE operations share (ops.cpp: COSE_Sign1, COSE_Mac0,
// COSE_Encrypt0; ops_multi.cpp: COSE_Sign, COSE_Encrypt with direct recipients). Defined in
// ops_common.cpp.
#pragma once

#include <functional>
#include <optional>

#include "secprof/cose/cose.h"

namespace secprof::cose::internal {

// ES256 or ESP256: ECDSA with P-256 and SHA-256 (RFC 9053 §2.1, RFC 9864 §2.1).
bool IsEcdsaP256(int64_t alg);
// RFC 9052 §7.1: a key's alg, when present, restricts it to that algorithm; RFC 9053 §2, §3, §4
// (and RFC 9864 §2) give the key type each algorithm needs. kVerifyFailed naming the mismatch.
Status CheckKey(const AlgorithmInfo& alg, const Key& key, bool need_private);
// The crypto algorithm of a signature algorithm and key. REQUIRES CheckKey(alg, key, ...) passed.
crypto::SignatureAlgorithm SignatureAlgorithmFor(const AlgorithmInfo& alg, const Key& key);
// The carried payload, else the detached one, else kInvalidInput naming the structure `name`.
Result<ByteView> PayloadOf(const std::optional<Bytes>& carried, std::optional<ByteView> detached,
                           const char* name);
// A protected header: alg first, then the caller's other protected parameters in their order.
Result<ProtectedHeader> MakeProtected(int64_t alg, const HeaderMap& extra);
// kInvalidInput when a parameter is in both buckets (RFC 9052 §3).
Status CheckNoClash(const ProtectedHeader& p, const HeaderMap& u);
// RFC 9052 §3.1: the message's IV, or its Partial IV combined with the key's Base IV.
Result<Bytes> Nonce(const ProtectedHeader& prot, const HeaderMap& unprot, const Key& key,
                    const AlgorithmInfo& alg);

// The content layer shared by COSE_Encrypt0 and COSE_Encrypt (RFC 9052 §5): the algorithm in the
// protected header and the IV (drawn from `rng` unless given, then checked for size) in the
// unprotected one, unless the caller's protected extras carry it.
struct ContentHeaders {
  ProtectedHeader protected_header;
  HeaderMap unprotected;
};
Result<ContentHeaders> MakeContentHeaders(int64_t alg_id, const HeaderMap& protected_extra,
                                          const HeaderMap& unprotected, const Bytes& given_iv,
                                          crypto::Random& rng);
// Seals `plaintext` under the headers' algorithm and nonce with `aad` (the layer's Enc_structure
// is built by the caller from the protected header: its context differs per message type).
Result<Bytes> SealContent(const ProtectedHeader& prot, const HeaderMap& unprot, const Key& key,
                          ByteView plaintext,
                          const std::function<Bytes(ByteView protected_bytes)>& enc_structure);
// Opens `ciphertext` (RFC 9052 §5.3 decryption) under `alg` with the nonce of the headers and
// `aad` (the caller's Enc_structure); a tag that does not verify is kVerifyFailed naming `what`
// ("COSE_Encrypt0", "COSE_Encrypt") and the algorithm.
Result<Bytes> OpenContent(const AlgorithmInfo& alg, const ProtectedHeader& prot,
                          const HeaderMap& unprot, const Key& key, ByteView aad,
                          ByteView ciphertext, const char* what);

}  // namespace secprof::cose::internal

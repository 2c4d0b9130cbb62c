// secprof/domain/setup_code.h — SecProf_2 setup codes (docs/DOMAIN.md "SecProf_2: setup code"):
// their normal form, how strong a code is judged to be, and the key both sides derive from it.
//
// Neither the KDC nor its registry keeps the code itself: the KDC keeps only the setup-code key
//   K = HKDF-SHA256(ikm = Normalize(code), salt = serial, info = "secprof setup-code", 32)
// (RFC 5869), wrapped under its KEK, and the join proof is an HMAC under K (domain/keys.h
// JoinProof). K is what the proof needs and no more: it does not give the code back, and it is
// bound to one serial, so the same code on two things gives two unrelated keys.
//
// Offline guessing: a sniffed j/nonce / j/psk exchange (nonce, serial, proof, sealed PSK) lets an
// attacker test guesses of the code offline, one HKDF + HMAC per guess. The only defence in this
// exchange (no PAKE: OpenSSL 3 has none) is the size of the code space, hence kMinSetupCodeBits.
#pragma once

#include <string>
#include <string_view>

#include "secprof/core/result.h"
#include "secprof/crypto/random.h"
#include "secprof/crypto/secure_buffer.h"

namespace secprof::domain {

// A code the KDC accepts (`kdc allow`, OwnerTools::AllowSetupCode) must be judged to carry at
// least this many bits (SetupCodeBits). 2^64 HKDF+HMAC evaluations are out of reach of an offline
// guesser of one sniffed exchange; the former 40-bit codes (2^40) were not.
inline constexpr double kMinSetupCodeBits = 64.0;
inline constexpr size_t kSetupCodeKeySize = 32;

// The form both sides derive K from: separators ('-', ' ') removed, ASCII letters upper-cased, so
// "abcd-efgh" and "ABCDEFGH" are the same code (codes are typed by people). Codes are therefore
// case-insensitive.
std::string NormalizeSetupCode(std::string_view code);

// How many bits the normalized code can carry: its length times log2 of the size of the smallest
// of these alphabets that holds every character: decimal digits (10), RFC 4648 §6 base32 (32:
// A-Z, 2-7), hexadecimal (16, tried before base32 when only 0-9/A-F occur), digits and letters
// (36), printable ASCII without space after upper-casing (68). It is an upper bound: it cannot tell
// a random code from "AAAAAAAAAAAAAAAA", so the owner's tools should only be fed codes a factory
// drew at random (manufacture::NewSetupCode draws 80 bits).
double SetupCodeBits(std::string_view code);

// kInvalidInput naming the judged bits when SetupCodeBits(code) < kMinSetupCodeBits, when the code
// holds a character other than printable ASCII, or when it is longer than 64 characters.
Status CheckSetupCodeStrength(std::string_view code);

// K above. kInvalidInput for an empty code or serial.
Result<crypto::SecureBuffer> SetupCodeKey(std::string_view code, std::string_view serial);

// The PSK in a j/psk answer, sealed so that only a holder of the setup code can read it, and bound
// to the owner the answer names:
//   S = HKDF-SHA256(ikm = K, salt = nonce, info = "secprof j/psk seal" 0x00 serial, 32)
//   sealed = WrapKey(S, "j/psk " + serial + 0x00 + owner, psk)
//            (AES-256-GCM, 12-byte random IV || ct || tag; the second argument is the associated
//            data, so a changed owner makes the answer not open)
// A fresh nonce per join gives a fresh S. The KDC seals with the stored K; the thing opens with
// its code. OpenJoinPsk: kVerifyFailed when it does not open (another code, serial, owner or
// nonce, or a tampered answer).
Result<crypto::Bytes> SealJoinPsk(crypto::ByteView code_key, std::string_view serial,
                                  std::string_view owner, crypto::ByteView nonce,
                                  crypto::ByteView psk, crypto::Random& rng);
Result<crypto::SecureBuffer> OpenJoinPsk(std::string_view setup_code, std::string_view serial,
                                         std::string_view owner, crypto::ByteView nonce,
                                         crypto::ByteView sealed);

}  // namespace secprof::domain

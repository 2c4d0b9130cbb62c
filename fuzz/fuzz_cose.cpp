// libFuzzer target for COSE decoding and verification (RFC 9052/9053) with fixed keys.
//
// Each input is tried as COSE_Sign1 and COSE_Sign (verified with a fixed P-256, Ed25519 and Ed448
// key; COSE_Sign also one signer at a time and all at once), COSE_Mac0 (fixed HMAC key),
// COSE_Encrypt0 and COSE_Encrypt with a direct recipient (fixed AES-128 key), as a COSE_Key and
// as CWT claims.
// Properties: nothing crashes; a message that decodes re-encodes to bytes that decode to a message
// with the same protected bytes; nothing made up by the fuzzer verifies unless it was signed with
// the fixed keys (the seed corpus holds such messages, so verification paths are reached).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "secprof/cose/cose.h"
#include "secprof/cose/cwt.h"
#include "secprof/crypto/keys.h"

namespace {
using namespace secprof;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_cose: property violated: %s\n", what);
    std::abort();
  }
}

struct Keys {
  cose::Key p256, ed25519, ed448, hmac, aes128;
};

const Keys& FixedKeys() {
  static const Keys keys = [] {
    Keys k;
    cose::Bytes d(32), seed(32, 0x07);
    for (size_t i = 0; i < 32; ++i) d[i] = static_cast<uint8_t>(i + 1);  // d = 0x0102..20
    auto ec = crypto::PrivateKey::FromRaw(crypto::KeyType::kP256, d);
    auto ed = crypto::PrivateKey::FromRaw(crypto::KeyType::kEd25519, seed);
    auto ed448 = crypto::PrivateKey::FromRaw(crypto::KeyType::kEd448, cose::Bytes(57, 0x09));
    Check(ec.has_value() && ed.has_value() && ed448.has_value(), "fixed keys");
    k.p256 = *cose::KeyFromPrivate(std::move(*ec));
    k.ed25519 = *cose::KeyFromPrivate(std::move(*ed));
    k.ed448 = *cose::KeyFromPrivate(std::move(*ed448));
    k.hmac = cose::SymmetricKey(cose::Bytes(32, 0x0b));
    k.aes128 = cose::SymmetricKey(cose::Bytes(16, 0x0c));
    return k;
  }();
  return keys;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const cose::ByteView in(data, size);
  const Keys& k = FixedKeys();
  if (auto m = cose::DecodeSign1(in)) {
    (void)cose::VerifySign1(*m, k.p256, {});
    (void)cose::VerifySign1(*m, k.ed25519, {});
    (void)cose::VerifySign1(*m, k.ed448, {});
    (void)cose::VerifySign1(*m, k.hmac, {}, cose::ByteView());
    auto again = cose::DecodeSign1(cose::Encode(*m));
    Check(again.has_value(), "Sign1 re-encoding does not decode");
    Check(again->protected_header.encoded == m->protected_header.encoded &&
              again->signature == m->signature && again->payload == m->payload,
          "Sign1 re-encoding changed the message");
  }
  if (auto m = cose::DecodeMac0(in)) {
    (void)cose::VerifyMac0(*m, k.hmac, {});
    (void)cose::VerifyMac0(*m, k.p256, {});
    auto again = cose::DecodeMac0(cose::Encode(*m, false));
    Check(again.has_value() && again->tag == m->tag, "Mac0 re-encoding changed the message");
  }
  if (auto m = cose::DecodeEncrypt0(in)) {
    (void)cose::DecryptEncrypt0(*m, k.aes128, {});
    auto again = cose::DecodeEncrypt0(cose::Encode(*m));
    Check(again.has_value() && again->ciphertext == m->ciphertext,
          "Encrypt0 re-encoding changed the message");
  }
  if (auto m = cose::DecodeSign(in)) {
    Check(!m->signatures.empty() && m->signatures.size() <= cose::kMaxSigners,
          "Sign decoded with a signer count outside [1, kMaxSigners]");
    for (size_t i = 0; i < m->signatures.size(); ++i)
      (void)cose::VerifySignature(*m, i, k.ed25519, {});
    (void)cose::VerifySign(*m, k.p256, {});
    (void)cose::VerifySign(*m, k.hmac, {}, cose::ByteView());
    (void)cose::VerifySignAll(*m, {k.p256, k.ed25519, k.ed448}, {});
    auto again = cose::DecodeSign(cose::Encode(*m, false));
    Check(again.has_value(), "Sign re-encoding does not decode");
    Check(again->protected_header.encoded == m->protected_header.encoded &&
              again->payload == m->payload && again->signatures.size() == m->signatures.size(),
          "Sign re-encoding changed the message");
    for (size_t i = 0; i < m->signatures.size(); ++i)
      Check(again->signatures[i].signature == m->signatures[i].signature &&
                again->signatures[i].protected_header.encoded ==
                    m->signatures[i].protected_header.encoded,
            "Sign re-encoding changed a signer");
  }
  if (auto m = cose::DecodeEncrypt(in)) {
    Check(!m->recipients.empty() && m->recipients.size() <= cose::kMaxRecipients,
          "Encrypt decoded with a recipient count outside [1, kMaxRecipients]");
    (void)cose::DecryptEncrypt(*m, k.aes128, {});
    (void)cose::DecryptEncrypt(*m, k.p256, {}, cose::ByteView());
    auto again = cose::DecodeEncrypt(cose::Encode(*m));
    Check(again.has_value() && again->ciphertext == m->ciphertext &&
              again->recipients.size() == m->recipients.size(),
          "Encrypt re-encoding changed the message");
  }
  if (auto key = cose::DecodeCoseKey(in)) {
    auto v = cose::KeyToCose(*key, true);
    Check(v.has_value(), "a decoded COSE_Key does not encode");
  }
  (void)cose::DecodeCwtClaims(in);
  return 0;
}

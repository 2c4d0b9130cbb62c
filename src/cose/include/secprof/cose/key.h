// secprof/cose/key.h — COSE keys (RFC 9052 §7, RFC 9053 §7) and their JWK (RFC 7517, RFC 7518
// §6, RFC 8037) and PEM forms.
//
// A cose::Key is what COSE operations need: the key type, the curve, an optional kid and alg
// restriction, and the key material as crypto module objects (so no key bytes live outside
// wiping buffers or opaque OpenSSL handles).
//
//   SECPROF_ASSIGN_OR_RETURN(cose::Key k, cose::LoadKeyFile("device.cose_key"));
//   SECPROF_TRY(cose::VerifySign1(msg, k, aad));
//
// Keys are cheap to copy: the material is shared, immutable and wiped when the last copy dies.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "secprof/cbor/value.h"
#include "secprof/core/result.h"
#include "secprof/crypto/keys.h"
#include "secprof/crypto/secure_buffer.h"

namespace secprof::cose {

using cbor::Bytes;
using cbor::ByteView;

// COSE_Key "kty" values (RFC 9053 §7, IANA COSE Key Types).
enum class KeyType : int64_t { kOkp = 1, kEc2 = 2, kSymmetric = 4 };
// COSE elliptic curves (RFC 9053 §7.1 Table 18).
enum class Curve : int64_t { kP256 = 1, kX25519 = 4, kEd25519 = 6, kEd448 = 7 };

const char* KeyTypeName(KeyType kty);
const char* CurveName(Curve crv);

// COSE_Key map labels: common parameters (RFC 9052 §7.1 Table 4) and key-type parameters
// (RFC 9053 §7.1.1 Table 19 EC2, §7.2 Table 20 OKP, §7.3 Table 21 Symmetric).
namespace key_label {
inline constexpr int64_t kKty = 1;
inline constexpr int64_t kKid = 2;
inline constexpr int64_t kAlg = 3;
inline constexpr int64_t kKeyOps = 4;
inline constexpr int64_t kBaseIv = 5;
inline constexpr int64_t kCrv = -1;  // EC2, OKP
inline constexpr int64_t kX = -2;    // EC2, OKP
inline constexpr int64_t kY = -3;    // EC2
inline constexpr int64_t kD = -4;    // EC2, OKP
inline constexpr int64_t kK = -1;    // Symmetric
}  // namespace key_label

struct Key {
  KeyType kty = KeyType::kSymmetric;
  std::optional<Curve> crv;    // EC2 and OKP only
  Bytes kid;                   // empty when absent
  std::optional<int64_t> alg;  // when set, the key may only be used with this algorithm
  Bytes base_iv;               // "Base IV" (RFC 9052 §3.1, label 5) for Partial IV; may be empty
  std::optional<crypto::PublicKey> public_key;            // EC2, OKP
  std::shared_ptr<const crypto::PrivateKey> private_key;  // EC2, OKP when the secret is known
  std::shared_ptr<const crypto::SecureBuffer> secret;     // Symmetric "k"

  bool has_private() const { return private_key != nullptr || secret != nullptr; }
  // A one-line description without key material: "EC2 P-256 kid h'3131' (private)".
  std::string Describe() const;
};

// A symmetric key from raw bytes.
Key SymmetricKey(ByteView k, ByteView kid = {});
// An EC2/OKP key from a crypto key pair or public key.
Result<Key> KeyFromPrivate(crypto::PrivateKey sk, ByteView kid = {});
Result<Key> KeyFromPublic(const crypto::PublicKey& pk, ByteView kid = {});

// COSE_Key map (RFC 9052 §7). Checks kty and crv, the sizes and types of every parameter, that
// x/y lie on the curve (through the crypto module), and that d matches x when both are present.
// Unknown labels are ignored; key_ops is not enforced. Compressed EC2 points (y as a bool) are
// refused as kUnsupported.
Result<Key> KeyFromCose(const cbor::Value& cose_key);
Result<Key> DecodeCoseKey(ByteView cbor_bytes);
// The COSE_Key map, private parameters only when `include_private`.
Result<cbor::Value> KeyToCose(const Key& key, bool include_private);

// JWK JSON (RFC 7517 §4, RFC 7518 §6.2 "EC", §6.4 "oct", RFC 8037 §2 "OKP"): base64url x, y, d,
// k; "kid" as text (its UTF-8 bytes become the COSE kid). The cose-wg Examples' variants with
// hex members (x_hex, y_hex, d_hex, k_hex, kid_hex) are accepted as well.
Result<Key> KeyFromJwk(std::string_view json);

// PEM: "PRIVATE KEY" (PKCS#8), "EC PRIVATE KEY", or "PUBLIC KEY" (SPKI), P-256/Ed25519/X25519/
// Ed448.
Result<Key> KeyFromPem(std::string_view pem);

// Reads a key file and detects its form: PEM when it contains "-----BEGIN", JSON (JWK) when its
// first non-space byte is '{', otherwise a CBOR COSE_Key. The error names the file.
Result<Key> LoadKeyFile(const std::string& path);

}  // namespace secprof::cose

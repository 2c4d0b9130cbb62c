// secprof/cose/cose.h — COSE messages (RFC 9052) with the algorithms of RFC 9053 that secprof
// needs: COSE_Sign1 and COSE_Sign with one or more signers (ES256, EdDSA on Ed25519 or Ed448, and
// the fully-specified ESP256, Ed25519 and Ed448 of RFC 9864),
// COSE_Mac0 (HMAC 256/64, 256/256), COSE_Encrypt0 and COSE_Encrypt with direct recipients
// (AES-GCM 1..3, AES-CCM 10..13 and 30..33; recipient algorithm "direct", -6). All cryptography
// goes through secprof::crypto.
//
//   // Sign and send.
//   cose::Sign1Params p{.alg = cose::kAlgEs256};
//   SECPROF_ASSIGN_OR_RETURN(cose::Sign1 msg, cose::CreateSign1(key, payload, p));
//   cbor::Bytes wire = cose::Encode(msg);                 // tagged 18(...) by default
//
//   // Receive and verify (tagged or untagged).
//   SECPROF_ASSIGN_OR_RETURN(cose::Sign1 in, cose::DecodeSign1(wire));
//   SECPROF_TRY(cose::VerifySign1(in, peer_key, external_aad));  // kVerifyFailed if forged
//
// Error codes: kInvalidInput for malformed messages (wrong CBOR, wrong structure, wrong types,
// wrong tag, an unknown or misplaced algorithm, a crit parameter we do not understand);
// kVerifyFailed when a signature, MAC or AEAD tag does not verify, or when the key cannot be used
// with the message's algorithm (another key type, or the key's own alg differs); kUnsupported for
// valid COSE that this implementation does not handle.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "secprof/cbor/cbor.h"
#include "secprof/core/result.h"
#include "secprof/cose/key.h"
#include "secprof/crypto/random.h"
#include "secprof/crypto/signer.h"

namespace secprof::cose {

// ---- Algorithms (RFC 9053; IANA COSE Algorithms) -------------------------------------------
inline constexpr int64_t kAlgEs256 = -7;  // §2.1 ECDSA w/ SHA-256
inline constexpr int64_t kAlgEdDsa = -8;  // §2.2
// RFC 9864 §2.1 (fully-specified ECDSA, Table 1): ESP256 is ECDSA with P-256 and SHA-256, the
// same signature as ES256 restricted to that curve. §2.2 (fully-specified EdDSA, Table 2):
// Ed25519 and Ed448 name the curve that polymorphic EdDSA leaves to the key.
inline constexpr int64_t kAlgEsp256 = -9;
inline constexpr int64_t kAlgEd25519 = -19;
inline constexpr int64_t kAlgEd448 = -53;
inline constexpr int64_t kAlgHmac256_64 = 4;   // §3.1 HMAC w/ SHA-256 truncated to 64 bits
inline constexpr int64_t kAlgHmac256_256 = 5;  // §3.1
inline constexpr int64_t kAlgA128Gcm = 1;      // §4.1
inline constexpr int64_t kAlgA192Gcm = 2;
inline constexpr int64_t kAlgA256Gcm = 3;
inline constexpr int64_t kAlgAesCcm16_64_128 = 10;  // §4.2
inline constexpr int64_t kAlgAesCcm16_64_256 = 11;
inline constexpr int64_t kAlgAesCcm64_64_128 = 12;
inline constexpr int64_t kAlgAesCcm64_64_256 = 13;
inline constexpr int64_t kAlgAesCcm16_128_128 = 30;
inline constexpr int64_t kAlgAesCcm16_128_256 = 31;
inline constexpr int64_t kAlgAesCcm64_128_128 = 32;
inline constexpr int64_t kAlgAesCcm64_128_256 = 33;
// Recipient (key management) algorithm, RFC 9053 §6.1.1: the recipient's key is the CEK. Not in
// the LookupAlgorithm table (it protects no content); COSE_Encrypt recipients use it.
inline constexpr int64_t kAlgDirect = -6;

enum class AlgorithmKind { kSignature, kMac, kContentEncryption };

struct AlgorithmInfo {
  int64_t id;
  const char* name;  // the IANA name, e.g. "ES256", "HMAC 256/64", "AES-CCM-16-64-128"
  AlgorithmKind kind;
  size_t key_size;  // MAC/AEAD key bytes; 0 for signatures
  size_t tag_size;  // MAC/AEAD tag bytes; 0 for signatures
  size_t iv_size;   // AEAD nonce bytes; 0 otherwise
};

// kInvalidInput "unknown algorithm" for anything not listed above.
Result<AlgorithmInfo> LookupAlgorithm(int64_t id);
// By IANA name ("ES256", "EdDSA", "HMAC 256/64", "A128GCM", "AES-CCM-16-64-128", ...), or by the
// cose-wg Examples' short names ("HS256", "HS256/64", "AES-CCM-16-128/64", ...), or by number.
Result<AlgorithmInfo> LookupAlgorithmByName(std::string_view name);

// ---- Headers (RFC 9052 §3) -------------------------------------------------------------------
namespace label {
inline constexpr int64_t kAlg = 1;          // int / tstr
inline constexpr int64_t kCrit = 2;         // [+ label]
inline constexpr int64_t kContentType = 3;  // uint / tstr
inline constexpr int64_t kKid = 4;          // bstr
inline constexpr int64_t kIv = 5;           // bstr
inline constexpr int64_t kPartialIv = 6;    // bstr
}  // namespace label

// A header map: labels (int or tstr) to values, in the order set or received.
class HeaderMap {
 public:
  HeaderMap() = default;
  // Checks the map: labels are int or tstr (RFC 9052 §3), each at most once, and the common
  // parameters of §3.1 have the right types (alg int/tstr, crit non-empty array of labels,
  // content type uint/tstr, kid/IV/Partial IV bstr, not both IV and Partial IV).
  static Result<HeaderMap> FromValue(const cbor::Value& map);

  const cbor::Value* Find(int64_t label) const;
  HeaderMap& Set(int64_t label, cbor::Value value);  // replaces an existing label
  bool empty() const { return map_.map().empty(); }
  const cbor::Value& value() const { return map_; }

 private:
  cbor::Value map_ = cbor::Value::Map();
};

// The protected bucket keeps the exact bytes it was received in: they, not a re-encoding, are
// what the signature, MAC or AEAD covers (RFC 9052 §3).
struct ProtectedHeader {
  HeaderMap map;
  Bytes encoded;  // the bstr's content; empty when there are no protected parameters

  // From a map we create: encoded deterministically, or as zero bytes when empty (§3).
  static ProtectedHeader FromMap(HeaderMap map);
  // From received bytes: zero-length means an empty map, anything else must decode to a map.
  static Result<ProtectedHeader> FromEncoded(ByteView encoded);
  // What goes into Sig_structure/MAC_structure/Enc_structure as body_protected: the received
  // bytes, or a zero-length bstr when the map is empty (RFC 9052 §4.4, §5.3, §6.3: "if there
  // are no protected header parameters, a zero-length byte string is used"; a received h'A0'
  // therefore counts as h'').
  ByteView for_structure() const;
};

// ---- Messages (RFC 9052 §4.2, §5.2, §6.2) ----------------------------------------------------
// CBOR tags (RFC 9052 §2 Table 1).
inline constexpr uint64_t kTagEncrypt0 = 16;
inline constexpr uint64_t kTagMac0 = 17;
inline constexpr uint64_t kTagSign1 = 18;
inline constexpr uint64_t kTagEncrypt = 96;
inline constexpr uint64_t kTagSign = 98;

// Decoding limits for the multi-party messages: more signers or recipients (per layer) than
// this are refused as kLimit, so that verifying or decrypting a message costs a bounded number
// of operations per key. Recipient nesting is bounded by the CBOR depth limit (16).
inline constexpr size_t kMaxSigners = 64;
inline constexpr size_t kMaxRecipients = 64;

enum class TagPolicy { kTaggedOrUntagged, kRequireTagged, kRequireUntagged };

struct Sign1 {
  ProtectedHeader protected_header;
  HeaderMap unprotected;
  std::optional<Bytes> payload;  // nullopt: detached (nil on the wire)
  Bytes signature;
};

struct Mac0 {
  ProtectedHeader protected_header;
  HeaderMap unprotected;
  std::optional<Bytes> payload;  // nullopt: detached
  Bytes tag;
};

struct Encrypt0 {
  ProtectedHeader protected_header;
  HeaderMap unprotected;
  std::optional<Bytes> ciphertext;  // ciphertext || tag; nullopt: detached
};

// RFC 9052 §4.1: COSE_Signature = [protected, unprotected, signature: bstr]. The signer's
// headers carry its alg and usually its kid.
struct Signature {
  ProtectedHeader protected_header;
  HeaderMap unprotected;
  Bytes signature;
};

// RFC 9052 §4.1: COSE_Sign = [protected, unprotected, payload: bstr / nil,
// signatures: [+ COSE_Signature]].
struct Sign {
  ProtectedHeader protected_header;
  HeaderMap unprotected;
  std::optional<Bytes> payload;       // nullopt: detached
  std::vector<Signature> signatures;  // at least one on the wire
};

// RFC 9052 §5.1: COSE_recipient = [protected, unprotected, ciphertext: bstr / nil,
// ? recipients: [+ COSE_recipient]]. For "direct" (RFC 9052 §8.5.1, RFC 9053 §6.1.1) the
// protected bucket is empty, the ciphertext a zero-length bstr and there are no recipients.
struct Recipient {
  ProtectedHeader protected_header;
  HeaderMap unprotected;
  std::optional<Bytes> ciphertext;    // the encrypted key; nullopt: nil
  std::vector<Recipient> recipients;  // the next layer; empty when absent
};

// RFC 9052 §5.1: COSE_Encrypt = [protected, unprotected, ciphertext: bstr / nil,
// recipients: [+ COSE_recipient]].
struct Encrypt {
  ProtectedHeader protected_header;
  HeaderMap unprotected;
  std::optional<Bytes> ciphertext;    // ciphertext || tag; nullopt: detached
  std::vector<Recipient> recipients;  // at least one on the wire
};

// Decoding: strict CBOR (cbor::Decode with definite lengths only, unique map keys, depth 16),
// then the structure: an array of exactly 4 (Sign1, Mac0) or 3 (Encrypt0) items with the right
// types, optionally wrapped in the right tag; any other tag is refused. A parameter may not
// appear in both buckets (RFC 9052 §3).
Result<Sign1> DecodeSign1(ByteView data, TagPolicy tags = TagPolicy::kTaggedOrUntagged);
Result<Mac0> DecodeMac0(ByteView data, TagPolicy tags = TagPolicy::kTaggedOrUntagged);
Result<Encrypt0> DecodeEncrypt0(ByteView data, TagPolicy tags = TagPolicy::kTaggedOrUntagged);
Result<Sign1> Sign1FromValue(const cbor::Value& v, TagPolicy tags = TagPolicy::kTaggedOrUntagged);
Result<Mac0> Mac0FromValue(const cbor::Value& v, TagPolicy tags = TagPolicy::kTaggedOrUntagged);
Result<Encrypt0> Encrypt0FromValue(const cbor::Value& v,
                                   TagPolicy tags = TagPolicy::kTaggedOrUntagged);
// COSE_Sign (tag 98) and COSE_Encrypt (tag 96), checked the same way, plus: the signatures and
// recipients arrays are non-empty arrays (RFC 9052 §4.1, §5.1: "[+ ...]") of at most
// kMaxSigners / kMaxRecipients items; a COSE_Signature is an array of exactly 3 items
// [bstr, map, bstr]; a COSE_recipient is an array of 3 or 4 items [bstr, map, bstr / nil,
// ? [+ COSE_recipient]]; each layer's headers pass the same checks as a message's. Errors name
// the signer or recipient index ("COSE_Sign: signer 1: ...").
Result<Sign> DecodeSign(ByteView data, TagPolicy tags = TagPolicy::kTaggedOrUntagged);
Result<Encrypt> DecodeEncrypt(ByteView data, TagPolicy tags = TagPolicy::kTaggedOrUntagged);
Result<Sign> SignFromValue(const cbor::Value& v, TagPolicy tags = TagPolicy::kTaggedOrUntagged);
Result<Encrypt> EncryptFromValue(const cbor::Value& v,
                                 TagPolicy tags = TagPolicy::kTaggedOrUntagged);

// Encoding keeps the protected bytes exactly as held and writes the rest deterministically
// (RFC 8949 §4.2.1; the unprotected map sorted by key), as the cose-wg Examples are written.
Bytes Encode(const Sign1& m, bool tagged = true);
Bytes Encode(const Mac0& m, bool tagged = true);
Bytes Encode(const Encrypt0& m, bool tagged = true);
Bytes Encode(const Sign& m, bool tagged = true);
Bytes Encode(const Encrypt& m, bool tagged = true);

// The message's CBOR tag when present (16, 17, 18, 96, 98 or another number), nullopt when
// untagged. Fails only on malformed CBOR.
Result<std::optional<uint64_t>> PeekTag(ByteView data);

// ---- The structures that are signed, MACed or used as AAD ------------------------------------
// Deterministically encoded with definite lengths (RFC 9052 §9).
// RFC 9052 §4.4: ["Signature1", body_protected, external_aad, payload]
Bytes SigStructure1(ByteView body_protected, ByteView external_aad, ByteView payload);
// RFC 9052 §6.3: ["MAC0", protected, external_aad, payload]
Bytes MacStructure0(ByteView body_protected, ByteView external_aad, ByteView payload);
// RFC 9052 §5.3: ["Encrypt0", protected, external_aad]
Bytes EncStructure0(ByteView body_protected, ByteView external_aad);
// RFC 9052 §4.4: ["Signature", body_protected, sign_protected, external_aad, payload]
Bytes SigStructure(ByteView body_protected, ByteView sign_protected, ByteView external_aad,
                   ByteView payload);
// RFC 9052 §5.3: ["Encrypt", protected, external_aad] (the content layer of a COSE_Encrypt)
Bytes EncStructure(ByteView body_protected, ByteView external_aad);

// ---- Operations -------------------------------------------------------------------------------
struct Sign1Params {
  int64_t alg = kAlgEs256;
  HeaderMap protected_extra;  // more protected parameters (alg is set from `alg`)
  HeaderMap unprotected;      // e.g. kid
  Bytes external_aad;
  bool detached = false;  // payload is not carried (nil)
};
// Puts alg into the protected header and signs Sig_structure (RFC 9052 §4.4). REQUIRES a key
// with a private part of the type `alg` needs.
Result<Sign1> CreateSign1(const Key& key, ByteView payload, const Sign1Params& params);
// The same with a crypto::Signer, for keys that never leave their store (a PKCS#11 token's
// non-extractable key). params.alg must be what the signer produces: kAlgEs256 for
// kEcdsaP256Sha256 or kEcdsaP256Sha256Der (a DER signature is converted to the raw r || s that
// RFC 9053 §2.1 requires), kAlgEdDsa for kEd25519 or kEd448 (RFC 9053 §2.2); otherwise
// kInvalidInput naming both. The signer signs the Sig_structure (RFC 9052 §4.4); a signature of
// the wrong length is refused as kCrypto. The result verifies with VerifySign1 and a Key made
// from signer.public_key().
Result<Sign1> CreateSign1WithSigner(crypto::Signer& signer, ByteView payload,
                                    const Sign1Params& params);
// Verifies. `detached_payload` is used when the message carries nil. The algorithm comes from the
// protected header, or the unprotected one when the protected bucket does not hold it.
Status VerifySign1(const Sign1& msg, const Key& key, ByteView external_aad,
                   std::optional<ByteView> detached_payload = std::nullopt);

struct Mac0Params {
  int64_t alg = kAlgHmac256_256;
  HeaderMap protected_extra;
  HeaderMap unprotected;
  Bytes external_aad;
  bool detached = false;
};
Result<Mac0> CreateMac0(const Key& key, ByteView payload, const Mac0Params& params);
Status VerifyMac0(const Mac0& msg, const Key& key, ByteView external_aad,
                  std::optional<ByteView> detached_payload = std::nullopt);

struct Encrypt0Params {
  int64_t alg = kAlgA128Gcm;
  HeaderMap protected_extra;
  HeaderMap unprotected;
  Bytes external_aad;
  // The full IV; when empty, a fresh one is drawn from `rng` and put in the unprotected header.
  Bytes iv;
};
Result<Encrypt0> CreateEncrypt0(const Key& key, ByteView plaintext, const Encrypt0Params& params,
                                crypto::Random& rng);
// The nonce is the IV header parameter, or the Partial IV combined with the key's Base IV
// (RFC 9052 §3.1: left-pad the Partial IV with zeros to the IV length, then XOR the Base IV).
Result<Bytes> DecryptEncrypt0(const Encrypt0& msg, const Key& key, ByteView external_aad,
                              std::optional<ByteView> detached_ciphertext = std::nullopt);

// ---- COSE_Sign (RFC 9052 §4.1, §4.4) ---------------------------------------------------------
struct SignerParams {
  Key key;                    // with its private part; copies share the material
  int64_t alg = kAlgEs256;    // goes into this signer's protected header
  HeaderMap protected_extra;  // more protected parameters for this signer
  HeaderMap unprotected;      // e.g. kid; when empty and the key has a kid, kid is set from it
};
struct SignParams {
  HeaderMap body_protected;    // message-level protected parameters (e.g. content type)
  HeaderMap body_unprotected;  // message-level unprotected parameters
  Bytes external_aad;
  bool detached = false;
};
// One COSE_Signature per entry of `signers`, in that order, each over the Sig_structure with
// context "Signature", the body's and the signer's protected headers (RFC 9052 §4.4).
// kInvalidInput when `signers` is empty or holds more than kMaxSigners.
Result<Sign> CreateSign(ByteView payload, const std::vector<SignerParams>& signers,
                        const SignParams& params);
// Verifies msg.signatures[index] with `key`: the signer's alg (its protected bucket, then its
// unprotected one; a signer alg of the wrong kind or unknown is kInvalidInput) and the crit
// parameters of the body and of the signer are checked as for COSE_Sign1.
Status VerifySignature(const Sign& msg, size_t index, const Key& key, ByteView external_aad,
                       std::optional<ByteView> detached_payload = std::nullopt);
// One signer with one key: tries every signer (kid is only a hint, RFC 9052 §3.1) and returns
// the index of the first whose signature verifies with `key`. Otherwise kVerifyFailed naming
// each signer's reason, or kInvalidInput when every signer was malformed (e.g. unknown alg).
Result<size_t> VerifySign(const Sign& msg, const Key& key, ByteView external_aad,
                          std::optional<ByteView> detached_payload = std::nullopt);
// All signers: every signature must verify with one of `keys` (a key may serve several
// signers). The first signer that none of the keys verifies gives the error (kVerifyFailed,
// or kInvalidInput when that signer is malformed). kInvalidInput when `keys` is empty.
Status VerifySignAll(const Sign& msg, const std::vector<Key>& keys, ByteView external_aad,
                     std::optional<ByteView> detached_payload = std::nullopt);

// ---- COSE_Encrypt with a direct recipient (RFC 9052 §5.1, §5.3, §8.5.1; RFC 9053 §6.1.1) ----
struct EncryptParams {
  int64_t alg = kAlgA128Gcm;  // content encryption algorithm, in the body's protected header
  HeaderMap protected_extra;
  HeaderMap unprotected;
  Bytes external_aad;
  Bytes iv;  // the full IV; when empty, drawn from `rng` into the body's unprotected header
  // The recipient's unprotected header; alg is set to direct (-6), and kid from the key when
  // neither is given.
  HeaderMap recipient_unprotected;
};
// The key is the shared symmetric key used directly as the CEK; the message gets exactly one
// recipient [h'', {1: -6, ...}, h''] (RFC 9052 §8.5.1 gives the recipient's fields). Policy: a
// direct recipient is the only recipient; the CEK is the shared key itself, so it cannot be
// shared with another recipient without giving that recipient this key.
Result<Encrypt> CreateEncrypt(const Key& key, ByteView plaintext, const EncryptParams& params,
                              crypto::Random& rng);
// Finds the direct recipient and decrypts with `key` as the CEK (the nonce as for Encrypt0).
// kUnsupported when no recipient uses direct (every other recipient algorithm: AES key wrap,
// ECDH, direct+HKDF, ... is not implemented here), naming the algorithms found. kInvalidInput
// when a direct recipient breaks RFC 9052 §8.5.1 / RFC 9053 §6.1.1: a non-empty protected
// header, a ciphertext that is not a zero-length bstr, nested recipients, or other recipients
// beside it; or when a recipient has no alg.
Result<Bytes> DecryptEncrypt(const Encrypt& msg, const Key& key, ByteView external_aad,
                             std::optional<ByteView> detached_ciphertext = std::nullopt);

// Lower level: complete a message whose headers the caller has prepared (the algorithm is read
// from them exactly as the verifier will, protected bucket first). Sign1/Mac0: the payload is
// msg.payload or, when that is nullopt, `detached_payload`; the signature or tag is filled in.
// Encrypt0: the IV (or Partial IV) must already be in a header; msg.ciphertext is filled in.
Status SignPrepared(Sign1& msg, const Key& key, ByteView external_aad,
                    std::optional<ByteView> detached_payload = std::nullopt);
Status MacPrepared(Mac0& msg, const Key& key, ByteView external_aad,
                   std::optional<ByteView> detached_payload = std::nullopt);
Status EncryptPrepared(Encrypt0& msg, const Key& key, ByteView plaintext, ByteView external_aad);
// COSE_Sign: fills msg.signatures[index].signature from its prepared headers.
Status SignPrepared(Sign& msg, size_t index, const Key& key, ByteView external_aad,
                    std::optional<ByteView> detached_payload = std::nullopt);
// COSE_Encrypt: the recipients are the caller's (checked as DecryptEncrypt checks them); `cek`
// is the content key; msg.ciphertext is filled in.
Status EncryptPrepared(Encrypt& msg, const Key& cek, ByteView plaintext, ByteView external_aad);

// The algorithm a message uses: protected alg, else unprotected alg. kInvalidInput when absent,
// not an integer we know, or of the wrong kind.
Result<AlgorithmInfo> MessageAlgorithm(const ProtectedHeader& prot, const HeaderMap& unprot,
                                       AlgorithmKind kind);
// RFC 9052 §3.1 crit for one layer: every listed label must be one we understand (the common
// parameters 1..6), present in the protected bucket; crit itself must be protected.
// kInvalidInput otherwise. MessageAlgorithm applies it to the layer holding the alg.
Status CheckCrit(const ProtectedHeader& prot, const HeaderMap& unprot);

}  // namespace secprof::cose

// secprof/domain/keys.h — the keying of a domain in operation (brief §4 "Operational"), on COSE
// (RFC 9052/9053) and HKDF (RFC 5869) through secprof::cose and secprof::crypto:
//   - the SecProf_2 join proof over the setup code;
//   - tickets: a thing-to-thing key K_AB issued by the KDC to A, and sealed for B under B's own
//     pairwise key, so that B learns K_AB and that the KDC vouches for A (each peer can check the
//     other: only B can open the ticket, only the KDC could have made it);
//   - group messages: COSE_Encrypt0 under the group key of one epoch; in profiles with origin
//     authentication the plaintext is a COSE_Sign1 by the sender's LDevID key;
//   - link frames (SecProf_1): COSE_Mac0 under the shared domain key with a counter for freshness
//     and no confidentiality (the draft's "network key ... authentication and freshness").
// Key separation (SecProf_3/4 "key separation per layer and process"): every use derives its own
// key from the master secret with HKDF-SHA256 and a purpose label (DeriveKey).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "secprof/core/clock.h"
#include "secprof/core/result.h"
#include "secprof/crypto/keys.h"
#include "secprof/crypto/random.h"
#include "secprof/crypto/secure_buffer.h"
#include "secprof/crypto/signer.h"
#include "secprof/domain/setup_code.h"  // JoinProof derives the setup-code key

namespace secprof::domain {

using crypto::Bytes;
using crypto::ByteView;

inline constexpr size_t kMasterKeySize = 32;
// COSE algorithm for every AEAD here: AES-CCM-16-64-128 (RFC 9053 §4.2, COSE id 10): the CCM
// variant RFC 7925 §4 makes mandatory for constrained devices, with a 13-byte nonce.
inline constexpr int64_t kCoseAead = 10;

// HKDF-SHA256(ikm = master, salt = "", info = "secprof/" + purpose, length).
Result<crypto::SecureBuffer> DeriveKey(ByteView master, std::string_view purpose, size_t length);

// HMAC-SHA256(K, "secprof-join-v2" 0x00 serial 0x00 nonce) with K = SetupCodeKey(setup code,
// serial) (domain/setup_code.h): proves knowledge of the setup code without sending it. The KDC
// keeps only K (wrapped) and verifies with the *WithKey forms.
Result<Bytes> JoinProof(std::string_view setup_code, std::string_view serial, ByteView nonce);
Status VerifyJoinProof(std::string_view setup_code, std::string_view serial, ByteView nonce,
                       ByteView proof);
Result<Bytes> JoinProofWithKey(ByteView code_key, std::string_view serial, ByteView nonce);
// kVerifyFailed "join proof does not match the setup code" (constant-time comparison).
Status VerifyJoinProofWithKey(ByteView code_key, std::string_view serial, ByteView nonce,
                              ByteView proof);

struct TicketContents {
  std::string requester;  // A's serial
  std::string recipient;  // B's serial
  Bytes kid;              // the key id A will present (16 random bytes)
  crypto::SecureBuffer key;
  int64_t expires = 0;  // unix seconds
};
// Sealed under DeriveKey(recipient's pairwise key, "ticket"), external AAD binds the recipient.
Result<Bytes> SealTicket(ByteView recipient_master, const TicketContents& t, crypto::Random& rng);
// kVerifyFailed when it does not open under this key or names another recipient; kVerifyFailed
// "ticket expired" when clock is past expires.
Result<TicketContents> OpenTicket(ByteView recipient_master, std::string_view recipient,
                                  ByteView ticket, const Clock& clock);

// Group messages. `signer` is used when the profile asks for origin authentication (then the
// receiver must pass the sender's public key through `sender_key_for`).
struct GroupMessage {
  std::string group;
  int64_t epoch = 0;
  std::string sender;
  Bytes data;
  bool origin_authenticated = false;
};
Result<Bytes> SealGroupMessage(ByteView group_master, std::string_view group, int64_t epoch,
                               std::string_view sender, ByteView data, crypto::Signer* signer,
                               crypto::Random& rng);
// Opens a message of the current epoch only: a message of another epoch is refused with
// kVerifyFailed "stale epoch" (a member removed before the rekey holds only older keys). When
// `require_origin` is set, the plaintext must be a COSE_Sign1 whose kid names a sender for which
// sender_key returns a key, and the signature must verify (kVerifyFailed otherwise, e.g. "sender
// X is not a member").
using SenderKeyLookup = std::function<std::optional<crypto::PublicKey>(std::string_view serial)>;
Result<GroupMessage> OpenGroupMessage(ByteView group_master, std::string_view group,
                                      int64_t current_epoch, ByteView message, bool require_origin,
                                      const SenderKeyLookup& sender_key);

// Link frames (SecProf_1): COSE_Mac0 (HMAC 256/64, RFC 9053 §3.1) under DeriveKey(domain key,
// "link") over {sender, counter, data}. OpenLinkFrame refuses a bad MAC and a counter not above
// `last_counter` (replay) with kVerifyFailed.
struct LinkFrame {
  std::string sender;
  uint64_t counter = 0;
  Bytes data;
};
Result<Bytes> SealLinkFrame(ByteView domain_key, const LinkFrame& f);
Result<LinkFrame> OpenLinkFrame(ByteView domain_key, ByteView frame,
                                const std::function<uint64_t(std::string_view)>& last_counter);

// Symmetric keys at rest (KDC registry, thing secrets): AES-256-GCM under a KEK with a fresh
// 12-byte nonce; AAD = "secprof-wrap" 0x00 context. Output: nonce || ciphertext || tag.
Result<Bytes> WrapKey(ByteView kek, std::string_view context, ByteView key, crypto::Random& rng);
Result<crypto::SecureBuffer> UnwrapKey(ByteView kek, std::string_view context, ByteView wrapped);

}  // namespace secprof::domain

// Internal to secprof::kdc: SecProf_2's join nonce as a stateless, address-bound token
// (docs/DOMAIN.md "SecProf_2: setup code", "Nonce"; draft §4 threat 9, denial of service; in the
// spirit of the DTLS cookie, RFC 6347 §4.2.1, and RFC 4732 §3.1 "no state for unverified
// peers").
//
// j/nonce stores nothing: the 16-byte nonce (domain::kNonceSize, the wire format is unchanged) is
//   expires (u32 big-endian, unix seconds) || 4 random bytes || tag (8 bytes)
//   tag = HMAC-SHA256(Kn, "secprof join nonce v2" || expires || random || u32be len(serial) ||
//         serial || u32be len(peer) || peer)[0..8)           (RFC 2104 §5 truncation)
//   Kn  = HKDF-SHA256(ikm = the KDC's KEK, salt = "", info = "secprof/kdc/join-nonce/v2", 32)
//         (RFC 5869; key separation from the KEK, which never signs or MACs anything itself)
// where `peer` is the requester's "addr:port" as the CoAP server reports it. So a nonce is only
// good for the serial it was asked for and from the address and port that asked: a spoofed
// j/nonce from another address cannot evict it (there is nothing to evict) nor obtain one the
// thing could be refused with, and a j/psk from another address is refused before any registry
// read or key unwrap. One-time use is recorded when the join is proven (join_setup_code.cpp).
// A nonce from an older KDC (random, stored in the registry) does not verify and is refused with
// kReplayOrStale naming the reason; the thing asks again. The tag is 64 bits: a forger must guess
// it online, one datagram per guess, and gains only what j/nonce gives anyone (a nonce bound to
// its own address).
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "secprof/core/result.h"
#include "secprof/crypto/random.h"
#include "secprof/crypto/secure_buffer.h"

namespace secprof::kdc::join_nonce {

inline constexpr size_t kTagSize = 8;

// A nonce for `serial` asked from `peer`, valid until `expires` (unix seconds, 0..2^32-1, else
// kInvalidInput). kInternal when the randomness or the MAC fails.
Result<crypto::Bytes> Issue(crypto::ByteView kek, std::string_view serial, std::string_view peer,
                            int64_t expires, crypto::Random& rng);

// The expiry a nonce carries (its first 4 bytes); 0 for a nonce of the wrong size.
int64_t Expires(crypto::ByteView nonce);

// Ok when `nonce` was issued by Issue (with this `kek`) for `serial` to `peer`, now <= its
// expiry and its expiry is at most `lifetime` after now. Else kVerifyFailed with kReplayOrStale
// (secprof/kdc/reasons.h; answered 4.01) and a message saying which (not issued to this
// address/serial by this KDC, or expired). Pure: reads nothing but its arguments.
Status Check(crypto::ByteView kek, crypto::ByteView nonce, std::string_view serial,
             std::string_view peer, int64_t now, std::chrono::seconds lifetime);

}  // namespace secprof::kdc::join_nonce

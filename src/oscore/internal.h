// Internal building blocks of the oscore module (not installed): the AAD (§5.4), the nonce
// (§5.2), the split of a message into Inner and Outer parts (§4.1, §5.3) and the merge on receipt
// (§8.2 steps 2, 8, 9).
#pragma once

#include <cstdint>
#include <span>

#include "secprof/core/bytes.h"
#include "secprof/core/result.h"
#include "secprof/oscore/message.h"

namespace secprof::oscore::internal {

// The AEAD's additional data (§5.4): the CBOR encoding of the COSE Enc_structure
// ["Encrypt0", h'', external_aad] (RFC 9052 §5.3) where external_aad is the byte string holding
// the CBOR array aad_array = [oscore_version = 1, [alg_aead], request_kid, request_piv,
// options = h''] (no Class I option is defined, §4.1.2). Written directly (the structure is
// fixed) instead of through cbor::Value, to keep allocations off the per-message path; a test
// checks it byte for byte against cbor::Encode of the same value.
void BuildAad(int64_t alg, ByteView request_kid, ByteView request_piv, Bytes& out);

// §5.2: the Partial IV left-padded to 5 bytes, the ID_PIV left-padded to nonce_size - 6 bytes,
// S = size of ID_PIV, nonce = (S || padded ID_PIV || padded PIV) XOR Common IV. REQUIRES
// id_piv.size() <= nonce_size - 6, piv.size() <= 5, common_iv.size() == nonce_size.
Bytes BuildNonce(ByteView common_iv, ByteView id_piv, ByteView piv);

// Splits `m` per §4.1: `inner` receives the Class E and E+U options (and Uri-Path/Uri-Query from
// a Proxy-Uri), `outer` the Class U ones (a Proxy-Uri reduced to scheme and authority,
// §4.1.3.3), a copy of Observe (§4.1.3.5) and `extra` (Class U / E+U only). kInvalidInput for an
// OSCORE option in `m`, a Class E option in `extra`, or an unparsable Proxy-Uri.
Status SplitOptions(const Message& m, std::span<const Option> extra, Message& inner,
                    Message& outer);

// §5.3 plaintext: code, then the inner options and `payload` in CoAP encoding. REQUIRES
// inner.payload empty (the payload is passed apart so that it is not copied).
void EncodePlaintext(const Message& inner, ByteView payload, Bytes& out);
// The inverse; kInvalidInput for an empty plaintext or options that do not decode.
Result<Message> DecodePlaintext(ByteView plaintext);

// §8.2 steps 2, 8, 9 (and §8.4 alike): the inner message plus the Outer options of Class U, and
// Outer E+U options whose number is not among the inner ones. Outer Class E options and the
// OSCORE option are dropped.
Message MergeReceived(Message inner, const Message& outer);

// Splits an absolute CoAP URI (RFC 7252 §6.4) into `scheme://authority` and the Uri-Path and
// Uri-Query options (percent-decoded) added to `inner`. kInvalidInput when there is no
// "scheme://", for a fragment, or for a bad percent escape.
Result<std::string> SplitProxyUri(std::string_view uri, Message& inner);

}  // namespace secprof::oscore::internal

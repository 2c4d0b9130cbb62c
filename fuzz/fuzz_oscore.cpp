// Fuzzes the oscore module's receiving side (issue 14 item 1; docs/OSCORE.md): the CoAP datagram
// decoder, the OSCORE option decoder (which must re-encode what it accepts to the same bytes),
// the server's unprotect path through a ContextTable holding the three server contexts of
// RFC 8613 Appendix C.1.2, C.2.2 and C.3.2 (so the seeds, the RFC's own protected requests,
// reach decryption), the client's response path, and, in mode 1, the plaintext decoder behind a
// valid AEAD tag (the input is sealed with the C.1.1 client's key as a request's plaintext, so
// arbitrary decrypted bytes reach the inner-message parser). Internal header of src/oscore.
//
// Input: byte 0 selects the mode (even: a datagram to the server, odd: a plaintext); the rest is
// the datagram or plaintext.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "internal.h"
#include "secprof/core/hex.h"
#include "secprof/oscore/oscore.h"

using namespace secprof;
using namespace secprof::oscore;

namespace {

Bytes H(const char* hex) { return *FromHex(hex); }

struct Rfc {
  Bytes secret = H("0102030405060708090a0b0c0d0e0f10");
  Bytes salt = H("9e7ca92223786340");
  ContextParams Server(Bytes recipient, Bytes salt_, std::optional<Bytes> idc) const {
    return {.master_secret = secret,
            .master_salt = std::move(salt_),
            .sender_id = H("01"),
            .recipient_id = std::move(recipient),
            .id_context = std::move(idc)};
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const Rfc rfc;
  ByteView input(data + 1, size - 1);

  // The OSCORE option decoder on the raw bytes: what it accepts re-encodes identically.
  if (auto o = DecodeOscoreOption(input)) {
    auto back = EncodeOscoreOption(*o);
    if (!back || !std::equal(back->begin(), back->end(), input.begin(), input.end())) std::abort();
  }

  MemorySequenceStore s1, s2, s3;
  ContextTable table;
  for (auto [params, store] :
       {std::pair{rfc.Server(Bytes{}, rfc.salt, std::nullopt), &s1},
        std::pair{rfc.Server(H("00"), Bytes{}, std::nullopt), &s2},
        std::pair{rfc.Server(Bytes{}, rfc.salt, H("37cbf3210017a2d3")), &s3}}) {
    auto c = SecurityContext::Create(params, {.sequence_store = store});
    if (!c || !table.Add(std::move(*c))) std::abort();
  }

  if ((data[0] & 1) == 0) {
    auto d = DecodeDatagram(input);
    if (!d) return 0;
    auto back = EncodeDatagram(*d);
    if (!back) std::abort();  // a decoded datagram always encodes again
    auto in = table.UnprotectRequest(d->message);
    if (in && in->state() == RequestState::kAccepted) {
      Message answer{.code = code::kContent, .payload = {1, 2, 3}};
      if (!in->context()->ProtectResponse(in->binding(), answer)) std::abort();
      if (in->context()->UnprotectRequest(d->message)) std::abort();  // a replay now
    } else if (!in) {
      (void)ErrorResponse(in.error());
    }
    // The same bytes as a response to the C.4 request of the C.1.1 client.
    MemorySequenceStore cs(20);
    ContextParams client = rfc.Server(H("01"), rfc.salt, std::nullopt);
    client.sender_id = Bytes{};
    auto c = SecurityContext::Create(client, {.sequence_store = &cs, .start = Start::kResumed});
    if (!c) std::abort();
    auto p = c->ProtectRequest(Message{.code = code::kGet});
    if (!p) std::abort();
    (void)c->UnprotectResponse(p->pending, d->message);
    return 0;
  }

  // Mode 1: `input` as the plaintext of a request from the C.1.1 client (Sender ID h'', sequence
  // number 20), sealed with its Sender Key, to the C.1.2 server.
  static const DerivedMaterial keys =
      *DeriveContext(rfc.Server(Bytes{}, rfc.salt, std::nullopt));  // recipient key = client's
  static crypto::AeadKey client_key = *crypto::AeadKey::Create(
      *crypto::Aead::FromCoseAlgorithm(crypto::kCoseAesCcm16_64_128), keys.recipient_key);
  Bytes piv = H("14");
  Bytes nonce = internal::BuildNonce(keys.common_iv, Bytes{}, piv);
  Bytes aad;
  internal::BuildAad(crypto::kCoseAesCcm16_64_128, Bytes{}, piv, aad);
  auto ct = client_key.Seal(nonce, aad, input);
  if (!ct) return 0;
  Message m{.code = code::kPost, .payload = std::move(*ct)};
  m.Add(opt::kOscore, H("0914"));
  auto in = table.UnprotectRequest(m);
  if (!in && !in.error().Is(kBadOption)) std::abort();  // authentic: only the plaintext can fail
  return 0;
}

#include "secprof/domain/keys.h"

#include <chrono>
#include <cstring>

#include "secprof/cbor/cbor.h"
#include "secprof/core/bytes.h"
#include "secprof/core/clock.h"
#include "secprof/core/time_format.h"
#include "secprof/cose/cose.h"
#include "secprof/crypto/aead.h"
#include "secprof/crypto/hash.h"
#include "secprof/domain/setup_code.h"

namespace secprof::domain {

namespace {

using cbor::Value;

constexpr size_t kAeadKeySize = 16;  // AES-CCM-16-64-128
constexpr size_t kWrapNonce = 12;    // AES-256-GCM, NIST SP 800-38D §8.2

Bytes Concat(std::initializer_list<ByteView> parts) {
  Bytes out;
  for (ByteView p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
ByteView View(std::string_view s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
ByteView View(const crypto::SecureBuffer& b) { return ByteView(b.data(), b.size()); }

cbor::Limits StrictLimits() {
  cbor::Limits lim;
  lim.max_depth = 8;
  lim.max_bytes = 64 * 1024;
  lim.allow_indefinite = false;
  return lim;
}

Result<cose::Key> AeadCoseKey(ByteView master, std::string_view purpose) {
  SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer k, DeriveKey(master, purpose, kAeadKeySize));
  return cose::SymmetricKey(View(k));
}

// External AAD of a group message: "secprof-group" 0x00 group 0x00 epoch (8 bytes, big-endian).
Bytes GroupAad(std::string_view group, int64_t epoch) {
  Bytes aad = Concat({View("secprof-group"), Bytes{0}, View(group), Bytes{0}});
  PutBig64(aad, static_cast<uint64_t>(epoch));
  return aad;
}

}  // namespace

Result<crypto::SecureBuffer> DeriveKey(ByteView master, std::string_view purpose, size_t length) {
  if (master.size() < 16) return Fail(ErrorCode::kInvalidInput, "master key shorter than 16 bytes");
  std::string info = "secprof/" + std::string(purpose);
  return crypto::HkdfSha256(master, {}, View(info), length);
}

Result<Bytes> JoinProofWithKey(ByteView code_key, std::string_view serial, ByteView nonce) {
  Bytes msg = Concat({View("secprof-join-v2"), Bytes{0}, View(serial), Bytes{0}, nonce});
  SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Digest d, crypto::HmacSha256(code_key, msg));
  return Bytes(d.begin(), d.end());
}

Status VerifyJoinProofWithKey(ByteView code_key, std::string_view serial, ByteView nonce,
                              ByteView proof) {
  Bytes msg = Concat({View("secprof-join-v2"), Bytes{0}, View(serial), Bytes{0}, nonce});
  auto ok = crypto::HmacSha256Verify(code_key, msg, proof);
  if (!ok) return Fail(ErrorCode::kVerifyFailed, "join proof does not match the setup code");
  return {};
}

Result<Bytes> JoinProof(std::string_view setup_code, std::string_view serial, ByteView nonce) {
  SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer k, SetupCodeKey(setup_code, serial));
  return JoinProofWithKey(View(k), serial, nonce);
}

Status VerifyJoinProof(std::string_view setup_code, std::string_view serial, ByteView nonce,
                       ByteView proof) {
  SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer k, SetupCodeKey(setup_code, serial));
  return VerifyJoinProofWithKey(View(k), serial, nonce, proof);
}

// ---- tickets ----------------------------------------------------------------------------------

Result<Bytes> SealTicket(ByteView recipient_master, const TicketContents& t, crypto::Random& rng) {
  SECPROF_ASSIGN_OR_RETURN(cose::Key key, AeadCoseKey(recipient_master, "ticket"));
  Bytes plain = cbor::Encode(Value::Map({{Value::Unsigned(1), Value::Text(t.requester)},
                                         {Value::Unsigned(2), Value::ByteString(t.kid)},
                                         {Value::Unsigned(3), Value::ByteString(View(t.key))},
                                         {Value::Unsigned(4), Value::Int(t.expires)}}));
  cose::Encrypt0Params p;
  p.alg = kCoseAead;
  p.external_aad = Concat({View("secprof-ticket"), Bytes{0}, View(t.recipient)});
  auto msg = cose::CreateEncrypt0(key, plain, p, rng);
  crypto::Cleanse(plain);
  if (!msg) return Fail(msg.error());
  return cose::Encode(*msg);
}

Result<TicketContents> OpenTicket(ByteView recipient_master, std::string_view recipient,
                                  ByteView ticket, const Clock& clock) {
  SECPROF_ASSIGN_OR_RETURN(cose::Encrypt0 msg, cose::DecodeEncrypt0(ticket));
  SECPROF_ASSIGN_OR_RETURN(cose::Key key, AeadCoseKey(recipient_master, "ticket"));
  Bytes aad = Concat({View("secprof-ticket"), Bytes{0}, View(recipient)});
  auto plain = cose::DecryptEncrypt0(msg, key, aad);
  if (!plain)
    return Fail(ErrorCode::kVerifyFailed,
                "ticket does not open under this thing's key (not issued by our KDC, or for "
                "another thing)");
  crypto::SecureBuffer guard(*plain);
  crypto::Cleanse(*plain);
  SECPROF_ASSIGN_OR_RETURN(Value v, cbor::Decode(View(guard), StrictLimits()));
  const Value* req = v.is_map() ? v.Find(1) : nullptr;
  const Value* kid = v.is_map() ? v.Find(2) : nullptr;
  const Value* k = v.is_map() ? v.Find(3) : nullptr;
  const Value* exp = v.is_map() ? v.Find(4) : nullptr;
  if (!req || !req->is_text() || !kid || !kid->is_bytes() || kid->bytes().size() != 16 || !k ||
      !k->is_bytes() || k->bytes().size() != kMasterKeySize || !exp || !exp->is_int() ||
      v.map().size() != 4)
    return Fail(ErrorCode::kInvalidInput, "ticket contents are malformed");
  TicketContents t;
  t.requester = req->text();
  t.recipient = std::string(recipient);
  t.kid = kid->bytes();
  t.key = crypto::SecureBuffer(k->bytes());
  SECPROF_ASSIGN_OR_RETURN(t.expires, exp->AsInt64());
  if (UnixSeconds(clock) >= t.expires)
    return Fail(ErrorCode::kVerifyFailed, "ticket expired at " + FormatIso8601(t.expires));
  return t;
}

// ---- group messages -----------------------------------------------------------------------------

Result<Bytes> SealGroupMessage(ByteView group_master, std::string_view group, int64_t epoch,
                               std::string_view sender, ByteView data, crypto::Signer* signer,
                               crypto::Random& rng) {
  Bytes inner;
  if (signer) {
    // Origin authentication: a COSE_Sign1 by the sender, kid = its serial (RFC 9052 §4.2). The
    // external AAD binds the group and epoch.
    cose::Sign1Params sp;
    sp.alg = cose::kAlgEs256;
    sp.unprotected.Set(cose::label::kKid, Value::ByteString(View(sender)));
    sp.external_aad = GroupAad(group, epoch);
    SECPROF_ASSIGN_OR_RETURN(cose::Sign1 s, cose::CreateSign1WithSigner(*signer, data, sp));
    inner = cose::Encode(s);
  } else {
    inner = cbor::Encode(Value::Map({{Value::Unsigned(1), Value::Text(std::string(sender))},
                                     {Value::Unsigned(2), Value::ByteString(data)}}));
  }
  SECPROF_ASSIGN_OR_RETURN(cose::Key key, AeadCoseKey(group_master, "group"));
  cose::Encrypt0Params p;
  p.alg = kCoseAead;
  // kid names the group and epoch so that a receiver picks the key (RFC 9052 §3.1 kid).
  p.unprotected.Set(cose::label::kKid, Value::ByteString(cbor::Encode(Value::MakeArray(
                                           {Value::Text(std::string(group)), Value::Int(epoch)}))));
  p.external_aad = GroupAad(group, epoch);
  SECPROF_ASSIGN_OR_RETURN(cose::Encrypt0 msg, cose::CreateEncrypt0(key, inner, p, rng));
  return cose::Encode(msg);
}

Result<GroupMessage> OpenGroupMessage(ByteView group_master, std::string_view group,
                                      int64_t current_epoch, ByteView message, bool require_origin,
                                      const SenderKeyLookup& sender_key) {
  SECPROF_ASSIGN_OR_RETURN(cose::Encrypt0 msg, cose::DecodeEncrypt0(message));
  const Value* kid = msg.unprotected.Find(cose::label::kKid);
  if (!kid || !kid->is_bytes()) return Fail(ErrorCode::kInvalidInput, "group message has no kid");
  SECPROF_ASSIGN_OR_RETURN(Value gk, cbor::Decode(kid->bytes(), StrictLimits()));
  if (!gk.is_array() || gk.array().size() != 2 || !gk.array()[0].is_text() ||
      !gk.array()[1].is_int())
    return Fail(ErrorCode::kInvalidInput, "group message kid is not [group, epoch]");
  if (gk.array()[0].text() != group)
    return Fail(ErrorCode::kVerifyFailed, "group message is for group '" + gk.array()[0].text() +
                                              "', not '" + std::string(group) + "'");
  SECPROF_ASSIGN_OR_RETURN(int64_t epoch, gk.array()[1].AsInt64());
  if (epoch != current_epoch)
    return Fail(ErrorCode::kVerifyFailed, "stale epoch: message of epoch " + std::to_string(epoch) +
                                              ", group is at " + std::to_string(current_epoch) +
                                              " (sender removed before a rekey?)");
  SECPROF_ASSIGN_OR_RETURN(cose::Key key, AeadCoseKey(group_master, "group"));
  Bytes aad = GroupAad(group, epoch);
  auto inner = cose::DecryptEncrypt0(msg, key, aad);
  if (!inner)
    return Fail(ErrorCode::kVerifyFailed, "group message does not open under the epoch's key");
  GroupMessage out;
  out.group = std::string(group);
  out.epoch = epoch;
  if (require_origin) {
    auto s = cose::DecodeSign1(*inner);
    if (!s) return Fail(ErrorCode::kVerifyFailed, "group message is not signed by its sender");
    const Value* skid = s->unprotected.Find(cose::label::kKid);
    if (!skid || !skid->is_bytes() || !s->payload)
      return Fail(ErrorCode::kVerifyFailed, "signed group message lacks sender kid or payload");
    std::string sender(skid->bytes().begin(), skid->bytes().end());
    auto pk = sender_key ? sender_key(sender) : std::nullopt;
    if (!pk)
      return Fail(
          ErrorCode::kVerifyFailed,
          "sender '" + sender + "' is not a current member of group '" + std::string(group) + "'");
    SECPROF_ASSIGN_OR_RETURN(cose::Key verify_key, cose::KeyFromPublic(*pk));
    auto ok = cose::VerifySign1(*s, verify_key, aad);
    if (!ok)
      return Fail(ErrorCode::kVerifyFailed,
                  "origin authentication failed: signature of '" + sender + "' does not verify");
    out.sender = sender;
    out.data = *s->payload;
    out.origin_authenticated = true;
    return out;
  }
  auto v = cbor::Decode(*inner, StrictLimits());
  const Value* snd = v && v->is_map() ? v->Find(1) : nullptr;
  const Value* dat = v && v->is_map() ? v->Find(2) : nullptr;
  if (!snd || !snd->is_text() || !dat || !dat->is_bytes())
    return Fail(ErrorCode::kInvalidInput, "group message plaintext is malformed");
  out.sender = snd->text();
  out.data = dat->bytes();
  return out;
}

// ---- link frames (SecProf_1) --------------------------------------------------------------------

Result<Bytes> SealLinkFrame(ByteView domain_key, const LinkFrame& f) {
  SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer k, DeriveKey(domain_key, "link", 32));
  Bytes payload = cbor::Encode(Value::MakeArray(
      {Value::Text(f.sender), Value::Unsigned(f.counter), Value::ByteString(f.data)}));
  cose::Mac0Params p;
  p.alg = cose::kAlgHmac256_64;
  SECPROF_ASSIGN_OR_RETURN(cose::Mac0 m, cose::CreateMac0(cose::SymmetricKey(View(k)), payload, p));
  return cose::Encode(m);
}

Result<LinkFrame> OpenLinkFrame(ByteView domain_key, ByteView frame,
                                const std::function<uint64_t(std::string_view)>& last_counter) {
  SECPROF_ASSIGN_OR_RETURN(cose::Mac0 m, cose::DecodeMac0(frame));
  SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer k, DeriveKey(domain_key, "link", 32));
  if (!cose::VerifyMac0(m, cose::SymmetricKey(View(k)), {}) || !m.payload)
    return Fail(ErrorCode::kVerifyFailed, "link frame MAC does not verify under the domain key");
  SECPROF_ASSIGN_OR_RETURN(Value v, cbor::Decode(*m.payload, StrictLimits()));
  if (!v.is_array() || v.array().size() != 3 || !v.array()[0].is_text() ||
      !v.array()[1].is_unsigned() || !v.array()[2].is_bytes())
    return Fail(ErrorCode::kInvalidInput, "link frame payload is malformed");
  LinkFrame f{v.array()[0].text(), v.array()[1].uint_value(), v.array()[2].bytes()};
  uint64_t last = last_counter ? last_counter(f.sender) : 0;
  if (f.counter <= last)
    return Fail(ErrorCode::kVerifyFailed, "replayed link frame: counter " +
                                              std::to_string(f.counter) + " from '" + f.sender +
                                              "' is not above " + std::to_string(last));
  return f;
}

// ---- keys at rest -------------------------------------------------------------------------------

Result<Bytes> WrapKey(ByteView kek, std::string_view context, ByteView key, crypto::Random& rng) {
  SECPROF_ASSIGN_OR_RETURN(crypto::Aead gcm, crypto::Aead::AesGcm(32));
  SECPROF_ASSIGN_OR_RETURN(Bytes nonce, rng.Draw(kWrapNonce));
  Bytes aad = Concat({View("secprof-wrap"), Bytes{0}, View(context)});
  SECPROF_ASSIGN_OR_RETURN(Bytes ct, gcm.Seal(kek, nonce, aad, key));
  nonce.insert(nonce.end(), ct.begin(), ct.end());
  return nonce;
}

Result<crypto::SecureBuffer> UnwrapKey(ByteView kek, std::string_view context, ByteView wrapped) {
  if (wrapped.size() < kWrapNonce + 16)
    return Fail(ErrorCode::kInvalidInput, "wrapped key is too short");
  SECPROF_ASSIGN_OR_RETURN(crypto::Aead gcm, crypto::Aead::AesGcm(32));
  Bytes aad = Concat({View("secprof-wrap"), Bytes{0}, View(context)});
  auto pt = gcm.OpenSecret(kek, wrapped.first(kWrapNonce), aad, wrapped.subspan(kWrapNonce));
  if (!pt)
    return Fail(ErrorCode::kVerifyFailed,
                "wrapped key for '" + std::string(context) + "' does not open under the KEK");
  return std::move(*pt);
}

}  // namespace secprof::domain

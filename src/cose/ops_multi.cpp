// Creating and checking COSE_Sign (RFC 9052 §4, one or more signers) and COSE_Encrypt with a
// direct recipient (§5, §8.5.1) with the RFC 9053 algorithms. Every primitive is a secprof::crypto
// call; the helpers shared with ops.cpp are in ops_common.cpp.
#include <string>
#include <vector>

#include "ops_internal.h"
#include "secprof/cose/cose.h"

namespace secprof::cose {
namespace {
using cbor::Value;
using internal::CheckKey;
using internal::CheckNoClash;
using internal::ContentHeaders;
using internal::MakeContentHeaders;
using internal::MakeProtected;
using internal::PayloadOf;
using internal::SealContent;
using internal::SignatureAlgorithmFor;
}  // namespace

// ---- COSE_Sign ---------------------------------------------------------------------------------

namespace {
// The signer's algorithm (RFC 9052 §4.1: alg is a signer-layer parameter) after the crit checks
// of the body layer; the signer layer's crit is checked by MessageAlgorithm.
Result<AlgorithmInfo> SignerAlgorithm(const Sign& msg, const Signature& s) {
  SECPROF_TRY(CheckCrit(msg.protected_header, msg.unprotected));
  return MessageAlgorithm(s.protected_header, s.unprotected, AlgorithmKind::kSignature);
}

Result<const Signature*> SignerAt(const Sign& msg, size_t index) {
  if (index >= msg.signatures.size())
    return Fail(ErrorCode::kInvalidInput, "COSE_Sign has no signer " + std::to_string(index) +
                                              " (it has " + std::to_string(msg.signatures.size()) +
                                              ")");
  return &msg.signatures[index];
}
}  // namespace

Status SignPrepared(Sign& msg, size_t index, const Key& key, ByteView external_aad,
                    std::optional<ByteView> detached_payload) {
  SECPROF_ASSIGN_OR_RETURN(const Signature* cs, SignerAt(msg, index));
  Signature& s = msg.signatures[index];
  SECPROF_ASSIGN_OR_RETURN(AlgorithmInfo alg, SignerAlgorithm(msg, *cs));
  SECPROF_TRY(CheckKey(alg, key, /*need_private=*/true));
  SECPROF_ASSIGN_OR_RETURN(ByteView payload, PayloadOf(msg.payload, detached_payload, "COSE_Sign"));
  // RFC 9052 §4.4: ["Signature", body_protected, sign_protected, external_aad, payload].
  const Bytes tbs = SigStructure(msg.protected_header.for_structure(),
                                 s.protected_header.for_structure(), external_aad, payload);
  SECPROF_ASSIGN_OR_RETURN(s.signature,
                           key.private_key->Sign(SignatureAlgorithmFor(alg, key), tbs));
  return Ok();
}

Result<Sign> CreateSign(ByteView payload, const std::vector<SignerParams>& signers,
                        const SignParams& params) {
  if (signers.empty())
    return Fail(ErrorCode::kInvalidInput, "COSE_Sign needs at least one signer (RFC 9052 §4.1)");
  if (signers.size() > kMaxSigners)
    return Fail(ErrorCode::kInvalidInput,
                "COSE_Sign: more than " + std::to_string(kMaxSigners) + " signers");
  Sign m;
  SECPROF_ASSIGN_OR_RETURN(HeaderMap body_prot,
                           HeaderMap::FromValue(params.body_protected.value()));
  m.protected_header = ProtectedHeader::FromMap(std::move(body_prot));
  m.unprotected = params.body_unprotected;
  SECPROF_TRY(CheckNoClash(m.protected_header, m.unprotected));
  m.payload = Bytes(payload.begin(), payload.end());
  for (size_t i = 0; i < signers.size(); ++i) {
    const SignerParams& sp = signers[i];
    SECPROF_ASSIGN_OR_RETURN(AlgorithmInfo alg, LookupAlgorithm(sp.alg));
    if (alg.kind != AlgorithmKind::kSignature)
      return Fail(ErrorCode::kInvalidInput,
                  std::string(alg.name) + " is not a signature algorithm");
    Signature s;
    SECPROF_ASSIGN_OR_RETURN(s.protected_header, MakeProtected(alg.id, sp.protected_extra));
    s.unprotected = sp.unprotected;
    if (s.unprotected.empty() && !sp.key.kid.empty() && !s.protected_header.map.Find(label::kKid))
      s.unprotected.Set(label::kKid, Value::ByteString(sp.key.kid));
    SECPROF_TRY(CheckNoClash(s.protected_header, s.unprotected));
    m.signatures.push_back(std::move(s));
    auto st = SignPrepared(m, i, sp.key, params.external_aad);
    if (!st) return Fail(st.error().WithContext("COSE_Sign signer " + std::to_string(i)));
  }
  if (params.detached) m.payload.reset();
  return m;
}

Status VerifySignature(const Sign& msg, size_t index, const Key& key, ByteView external_aad,
                       std::optional<ByteView> detached_payload) {
  SECPROF_ASSIGN_OR_RETURN(const Signature* s, SignerAt(msg, index));
  SECPROF_ASSIGN_OR_RETURN(AlgorithmInfo alg, SignerAlgorithm(msg, *s));
  SECPROF_TRY(CheckKey(alg, key, /*need_private=*/false));
  SECPROF_ASSIGN_OR_RETURN(ByteView payload, PayloadOf(msg.payload, detached_payload, "COSE_Sign"));
  const Bytes tbs = SigStructure(msg.protected_header.for_structure(),
                                 s->protected_header.for_structure(), external_aad, payload);
  auto st = key.public_key->Verify(SignatureAlgorithmFor(alg, key), tbs, s->signature);
  if (!st) {
    if (st.error().code() == ErrorCode::kVerifyFailed)
      return Fail(ErrorCode::kVerifyFailed, std::string("COSE_Sign signer ") +
                                                std::to_string(index) + " " + alg.name +
                                                " signature does not verify");
    return Fail(st.error().WithContext("COSE_Sign signer " + std::to_string(index)));
  }
  return Ok();
}

Result<size_t> VerifySign(const Sign& msg, const Key& key, ByteView external_aad,
                          std::optional<ByteView> detached_payload) {
  if (msg.signatures.empty())
    return Fail(ErrorCode::kInvalidInput, "COSE_Sign has no signers (RFC 9052 §4.1)");
  // The caller's mistake, the same for every signer: say it once.
  SECPROF_TRY(PayloadOf(msg.payload, detached_payload, "COSE_Sign"));
  std::string reasons;
  bool all_malformed = true;
  for (size_t i = 0; i < msg.signatures.size(); ++i) {
    auto st = VerifySignature(msg, i, key, external_aad, detached_payload);
    if (st) return i;
    if (msg.signatures.size() == 1) return Fail(st.error());
    if (st.error().code() != ErrorCode::kInvalidInput) all_malformed = false;
    reasons += (reasons.empty() ? "" : "; ") + st.error().message();
  }
  return Fail(all_malformed ? ErrorCode::kInvalidInput : ErrorCode::kVerifyFailed,
              "none of the " + std::to_string(msg.signatures.size()) +
                  " COSE_Sign signers verifies with key " + key.Describe() + ": " + reasons);
}

Status VerifySignAll(const Sign& msg, const std::vector<Key>& keys, ByteView external_aad,
                     std::optional<ByteView> detached_payload) {
  if (keys.empty()) return Fail(ErrorCode::kInvalidInput, "VerifySignAll needs at least one key");
  if (msg.signatures.empty())
    return Fail(ErrorCode::kInvalidInput, "COSE_Sign has no signers (RFC 9052 §4.1)");
  SECPROF_TRY(PayloadOf(msg.payload, detached_payload, "COSE_Sign"));
  for (size_t i = 0; i < msg.signatures.size(); ++i) {
    std::optional<Error> first;
    bool ok = false;
    for (const Key& k : keys) {
      auto st = VerifySignature(msg, i, k, external_aad, detached_payload);
      if (st) {
        ok = true;
        break;
      }
      // A malformed signer is malformed whatever the key: report that, not a key mismatch.
      if (st.error().code() == ErrorCode::kInvalidInput) return Fail(st.error());
      if (!first) first = st.error();
    }
    if (!ok)
      return Fail(ErrorCode::kVerifyFailed,
                  "COSE_Sign signer " + std::to_string(i) + " verifies with none of the " +
                      std::to_string(keys.size()) + " keys: " + first->message());
  }
  return Ok();
}

// ---- COSE_Encrypt with direct recipients -------------------------------------------------------

namespace {

std::string AlgText(const Value* alg) {
  if (!alg) return "none";
  return cbor::Diagnostic(*alg);
}

// RFC 9052 §8.5.1 and RFC 9053 §6.1.1 for a recipient whose alg is direct (-6); plus our policy
// that a direct recipient is the only one.
Status CheckDirectRecipient(const Recipient& r, size_t index, size_t count) {
  const std::string where = "COSE_Encrypt recipient " + std::to_string(index) + " (direct): ";
  if (!r.protected_header.map.empty() || !r.protected_header.encoded.empty())
    return Fail(ErrorCode::kInvalidInput,
                where + "the protected header must be zero length (RFC 9053 §6.1.1)");
  if (!r.ciphertext || !r.ciphertext->empty())
    return Fail(ErrorCode::kInvalidInput,
                where + "the ciphertext must be a zero-length byte string (RFC 9052 §8.5.1)");
  if (!r.recipients.empty())
    return Fail(ErrorCode::kInvalidInput,
                where + "a direct recipient has no recipients of its own (RFC 9052 §8.5.1)");
  if (count != 1)
    return Fail(ErrorCode::kInvalidInput,
                where + "a direct recipient must be the only recipient; this message has " +
                    std::to_string(count));
  SECPROF_TRY(CheckCrit(r.protected_header, r.unprotected));
  return Ok();
}

// The direct recipient's index, or why there is none.
Result<size_t> FindDirectRecipient(const Encrypt& msg) {
  if (msg.recipients.empty())
    return Fail(ErrorCode::kInvalidInput, "COSE_Encrypt has no recipients (RFC 9052 §5.1)");
  std::string others;
  for (size_t i = 0; i < msg.recipients.size(); ++i) {
    const Recipient& r = msg.recipients[i];
    const Value* alg = r.protected_header.map.Find(label::kAlg);
    if (!alg) alg = r.unprotected.Find(label::kAlg);
    if (!alg)
      return Fail(ErrorCode::kInvalidInput,
                  "COSE_Encrypt recipient " + std::to_string(i) +
                      " has no alg (RFC 9052 §8.5.1: it must be present)");
    if (alg->is_int() && alg->AsInt64() && *alg->AsInt64() == kAlgDirect) {
      SECPROF_TRY(CheckDirectRecipient(r, i, msg.recipients.size()));
      return i;
    }
    others += (others.empty() ? "" : ", ") + AlgText(alg);
  }
  return Fail(ErrorCode::kUnsupported,
              "COSE_Encrypt: no recipient uses direct (-6), the only recipient algorithm "
              "implemented; found alg " +
                  others);
}

}  // namespace

Status EncryptPrepared(Encrypt& m, const Key& cek, ByteView plaintext, ByteView external_aad) {
  SECPROF_TRY(FindDirectRecipient(m));
  // RFC 9052 §5.3: the content layer's Enc_structure has the context "Encrypt".
  SECPROF_ASSIGN_OR_RETURN(m.ciphertext,
                           SealContent(m.protected_header, m.unprotected, cek, plaintext,
                                       [&](ByteView p) { return EncStructure(p, external_aad); }));
  return Ok();
}

Result<Encrypt> CreateEncrypt(const Key& key, ByteView plaintext, const EncryptParams& params,
                              crypto::Random& rng) {
  SECPROF_ASSIGN_OR_RETURN(
      ContentHeaders h,
      MakeContentHeaders(params.alg, params.protected_extra, params.unprotected, params.iv, rng));
  Encrypt m;
  m.protected_header = std::move(h.protected_header);
  m.unprotected = std::move(h.unprotected);
  Recipient r;
  // RFC 9053 §6.1.1: empty protected bucket; RFC 9052 §8.5.1: zero-length ciphertext.
  r.ciphertext = Bytes{};
  SECPROF_ASSIGN_OR_RETURN(r.unprotected,
                           HeaderMap::FromValue(params.recipient_unprotected.value()));
  r.unprotected.Set(label::kAlg, Value::Int(kAlgDirect));
  if (!r.unprotected.Find(label::kKid) && !key.kid.empty())
    r.unprotected.Set(label::kKid, Value::ByteString(key.kid));
  m.recipients.push_back(std::move(r));
  SECPROF_TRY(EncryptPrepared(m, key, plaintext, params.external_aad));
  return m;
}

Result<Bytes> DecryptEncrypt(const Encrypt& msg, const Key& key, ByteView external_aad,
                             std::optional<ByteView> detached_ciphertext) {
  SECPROF_TRY(FindDirectRecipient(msg));
  SECPROF_ASSIGN_OR_RETURN(
      AlgorithmInfo alg,
      MessageAlgorithm(msg.protected_header, msg.unprotected, AlgorithmKind::kContentEncryption));
  SECPROF_TRY(CheckKey(alg, key, true));
  SECPROF_ASSIGN_OR_RETURN(ByteView ct,
                           PayloadOf(msg.ciphertext, detached_ciphertext, "COSE_Encrypt"));
  const Bytes aad = EncStructure(msg.protected_header.for_structure(), external_aad);
  return internal::OpenContent(alg, msg.protected_header, msg.unprotected, key, aad, ct,
                               "COSE_Encrypt");
}

}  // namespace secprof::cose

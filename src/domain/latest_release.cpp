// The latest-release statement and the firmware alert (secprof/domain/latest_release.h).
#include "secprof/domain/latest_release.h"

#include "secprof/cbor/cbor.h"
#include "secprof/cose/cose.h"
#include "secprof/cose/key.h"

namespace secprof::domain {

using cbor::Value;

namespace {

Result<Value> DecodeMap(crypto::ByteView body, size_t labels, const char* what) {
  cbor::Limits lim;
  lim.max_depth = 2;
  lim.max_bytes = 4096;
  lim.allow_indefinite = false;
  auto v = cbor::Decode(body, lim);
  if (!v)
    return Fail(ErrorCode::kInvalidInput,
                std::string(what) + ": not well-formed CBOR: " + v.error().message());
  if (!v->is_map() || v->map().size() != labels)
    return Fail(
        ErrorCode::kInvalidInput,
        std::string(what) + ": body must be a map with labels 1.." + std::to_string(labels));
  return std::move(*v);
}

}  // namespace

crypto::Bytes Encode(const LatestRelease& r) {
  return cbor::Encode(Value::Map({{Value::Unsigned(1), Value::Text(r.vendor)},
                                  {Value::Unsigned(2), Value::Text(r.model)},
                                  {Value::Unsigned(3), Value::Unsigned(r.sequence)},
                                  {Value::Unsigned(4), Value::Int(r.issued_at)},
                                  {Value::Unsigned(5), Value::Int(r.expires)}}));
}

Result<LatestRelease> DecodeLatestRelease(crypto::ByteView body) {
  auto bad = [](const std::string& msg) {
    return Fail(ErrorCode::kInvalidInput, "latest-release statement: " + msg);
  };
  SECPROF_ASSIGN_OR_RETURN(Value v, DecodeMap(body, 5, "latest-release statement"));
  const Value* vendor = v.Find(1);
  const Value* model = v.Find(2);
  const Value* seq = v.Find(3);
  const Value* issued = v.Find(4);
  const Value* expires = v.Find(5);
  if (!vendor || !vendor->is_text() || vendor->text().empty() || vendor->text().size() > 256)
    return bad("label 1 must be the vendor (1..256 bytes of text)");
  if (!model || !model->is_text() || model->text().empty() || model->text().size() > 256)
    return bad("label 2 must be the model (1..256 bytes of text)");
  if (!seq || !seq->is_unsigned()) return bad("label 3 must be a sequence number (unsigned)");
  if (!issued || !issued->is_unsigned() || issued->uint_value() > INT64_MAX)
    return bad("label 4 must be a time (unsigned)");
  if (!expires || !expires->is_unsigned() || expires->uint_value() > INT64_MAX)
    return bad("label 5 must be a time (unsigned)");
  LatestRelease r;
  r.vendor = vendor->text();
  r.model = model->text();
  r.sequence = seq->uint_value();
  r.issued_at = static_cast<int64_t>(issued->uint_value());
  r.expires = static_cast<int64_t>(expires->uint_value());
  if (r.expires <= r.issued_at) return bad("it expires before it was issued");
  return r;
}

crypto::Bytes Encode(const FirmwareAlert& a) {
  return cbor::Encode(Value::Map(
      {{Value::Unsigned(1), Value::Text(a.kind)}, {Value::Unsigned(2), Value::Text(a.detail)}}));
}

Result<FirmwareAlert> DecodeFirmwareAlert(crypto::ByteView body) {
  auto bad = [](const std::string& msg) {
    return Fail(ErrorCode::kInvalidInput, "firmware alert: " + msg);
  };
  SECPROF_ASSIGN_OR_RETURN(Value v, DecodeMap(body, 2, "firmware alert"));
  const Value* kind = v.Find(1);
  const Value* detail = v.Find(2);
  if (!kind || !kind->is_text() || kind->text().empty() || kind->text().size() > 64)
    return bad("label 1 must be the kind (1..64 bytes)");
  for (char c : kind->text())
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return bad("the kind may hold only a-z, 0-9 and '-'");
  if (!detail || !detail->is_text() || detail->text().size() > 1000)
    return bad("label 2 must be the detail (at most 1000 bytes of text)");
  return FirmwareAlert{kind->text(), detail->text()};
}

Result<crypto::Bytes> SignLatestRelease(crypto::Signer& signer, const LatestRelease& r) {
  cose::Sign1Params p;
  switch (signer.algorithm()) {
    case crypto::SignatureAlgorithm::kEcdsaP256Sha256:
    case crypto::SignatureAlgorithm::kEcdsaP256Sha256Der:
      p.alg = cose::kAlgEs256;
      break;
    default:
      p.alg = cose::kAlgEdDsa;
      break;
  }
  SECPROF_ASSIGN_OR_RETURN(cose::Sign1 msg, cose::CreateSign1WithSigner(signer, Encode(r), p));
  return cose::Encode(msg);
}

Result<LatestRelease> OpenLatestRelease(crypto::ByteView statement, const crypto::PublicKey* key) {
  auto msg = cose::DecodeSign1(statement);
  if (!msg)
    return Fail(ErrorCode::kInvalidInput,
                "latest-release statement: not a COSE_Sign1: " + msg.error().message());
  if (!msg->payload)
    return Fail(ErrorCode::kInvalidInput, "latest-release statement: detached payload");
  if (key) {
    SECPROF_ASSIGN_OR_RETURN(cose::Key k, cose::KeyFromPublic(*key));
    auto ok = cose::VerifySign1(*msg, k, {});
    if (!ok)
      return Fail(ErrorCode::kVerifyFailed,
                  "latest-release statement: signature does not verify with the domain CA key: " +
                      ok.error().message());
  }
  return DecodeLatestRelease(*msg->payload);
}

}  // namespace secprof::domain

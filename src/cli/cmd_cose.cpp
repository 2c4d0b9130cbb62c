// `secprof cose verify|sign|mac|encrypt|decrypt` — COSE_Sign1, COSE_Sign, COSE_Mac0,
// COSE_Encrypt0 and COSE_Encrypt with a direct recipient (RFC 9052/9053) from the command line.
//
// Keys (--key): a PEM file (PKCS#8 / SEC 1 private key or SPKI public key), a JWK JSON file, or a
// CBOR COSE_Key file; the form is detected from the content.
// Exit status (brief section 6, issue 3 item 3): verify/decrypt 0 when the signature, tag or
// AEAD tag verifies, 1 when it does not (or the key cannot verify that algorithm), 2 when the
// input is malformed or a file cannot be read.
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include "command.h"
#include "output.h"
#include "secprof/cbor/cbor.h"
#include "secprof/core/fs.h"
#include "secprof/cose/cose.h"
#include "secprof/crypto/random.h"

namespace secprof::cli {
namespace {

struct CoseOptions {
  std::string input;   // FILE or --in
  std::string output;  // --out; empty or - for stdout
  std::string key;
  std::string aad_hex;
  std::string alg;
  std::string kid;
  std::string payload;  // detached payload file for verify
  std::string type = "auto";
  bool hex_in = false;
  bool hex_out = false;
  bool untagged = false;
  bool detached = false;
  std::string format = "text";
};

Result<cbor::Bytes> ReadBytes(const std::string& path, bool hex) {
  std::string raw;
  if (path == "-") {
    raw.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    SECPROF_ASSIGN_OR_RETURN(raw, ReadFile(path));
  }
  if (!hex) return cbor::Bytes(raw.begin(), raw.end());
  auto b = cbor::FromHex(raw);
  if (!b) return Fail(b.error().WithContext(path));
  return std::move(*b);
}

// Writes what a producer made to --out (or stdout). With --format json the document (schema
// `schema`) says where it went and its size; written to stdout, the bytes are in it as hex.
Status WriteBytes(const std::string& path, const cbor::Bytes& b, bool hex, const CoseOptions& o,
                  const char* schema) {
  const bool to_stdout = path.empty() || path == "-";
  if (o.format == "json") {
    if (!to_stdout)
      SECPROF_TRY(WriteFileAtomic(
          path, hex ? cbor::ToHex(b) + "\n" : std::string(b.begin(), b.end()), 0644));
    auto j = JsonDocument(schema);
    j["out"] = to_stdout ? nlohmann::json() : nlohmann::json(path);
    j["size"] = b.size();
    j["hex"] = to_stdout ? nlohmann::json(cbor::ToHex(b)) : nlohmann::json();
    PrintJson(j);
    return Ok();
  }
  std::string out = hex ? cbor::ToHex(b) + "\n" : std::string(b.begin(), b.end());
  if (path.empty() || path == "-") {
    std::cout << out;
    std::cout.flush();
    return Ok();
  }
  return WriteFileAtomic(path, out, 0644);
}

Result<cbor::Bytes> Aad(const CoseOptions& o) {
  auto b = cbor::FromHex(o.aad_hex);
  if (!b) return Fail(b.error().WithContext("--aad"));
  return std::move(*b);
}

// Errors from parsing the message are bad input whatever their code (e.g. a CBOR limit).
Error AsBadInput(const Error& e, const std::string& file) {
  return Error(e.code() == ErrorCode::kNotFound || e.code() == ErrorCode::kIo
                   ? e.code()
                   : ErrorCode::kInvalidInput,
               file + ": " + e.message());
}

Status Verify(const CoseOptions& o) {
  SECPROF_ASSIGN_OR_RETURN(cbor::Bytes data, ReadBytes(o.input, o.hex_in));
  SECPROF_ASSIGN_OR_RETURN(cose::Key key, cose::LoadKeyFile(o.key));
  SECPROF_ASSIGN_OR_RETURN(cbor::Bytes aad, Aad(o));
  std::optional<cbor::Bytes> detached;
  if (!o.payload.empty()) {
    SECPROF_ASSIGN_OR_RETURN(detached, ReadBytes(o.payload, false));
  }
  auto tag = cose::PeekTag(data);
  if (!tag) return Fail(AsBadInput(tag.error(), o.input));
  // Which structure: the tag says; untagged, --type says, else the key does (a symmetric key
  // verifies COSE_Mac0; an asymmetric one COSE_Sign1, or COSE_Sign when the message decodes as
  // one and not as a COSE_Sign1).
  std::string type = o.type;
  if (type == "auto") {
    if (*tag == cose::kTagSign1)
      type = "sign1";
    else if (*tag == cose::kTagSign)
      type = "sign";
    else if (*tag == cose::kTagMac0)
      type = "mac0";
    else if (!*tag && key.kty == cose::KeyType::kSymmetric)
      type = "mac0";
    else if (!*tag)
      type = !cose::DecodeSign1(data) && cose::DecodeSign(data) ? "sign" : "sign1";
    else
      return Fail(ErrorCode::kInvalidInput,
                  o.input + ": CBOR tag " + std::to_string(**tag) +
                      " is neither COSE_Sign1 (18), COSE_Sign (98) nor COSE_Mac0 (17)");
  }
  std::optional<cbor::ByteView> det;
  if (detached) det = cbor::ByteView(*detached);
  const bool json = o.format == "json";
  // The verdict: text "OK: ..." or the JSON document.
  auto verified = [&](const char* structure, std::optional<size_t> signer, size_t signers) {
    if (!json) {
      if (signer)
        std::cout << "OK: " << structure << " signer " << *signer << " of " << signers
                  << " verifies with " << key.Describe() << "\n";
      else
        std::cout << "OK: " << structure
                  << (std::string_view(structure) == "COSE_Mac0" ? " tag verifies with "
                                                                 : " signature verifies with ")
                  << key.Describe() << "\n";
      return;
    }
    auto j = JsonDocument("cose.verify");
    j["file"] = o.input;
    j["structure"] = structure;
    j["verified"] = true;
    j["key"] = key.Describe();
    j["signer"] = signer ? nlohmann::json(*signer) : nlohmann::json();
    PrintJson(j);
  };
  if (type == "sign1") {
    auto m = cose::DecodeSign1(data);
    if (!m) return Fail(AsBadInput(m.error(), o.input));
    SECPROF_TRY(cose::VerifySign1(*m, key, aad, det));
    verified("COSE_Sign1", std::nullopt, 1);
  } else if (type == "sign") {
    auto m = cose::DecodeSign(data);
    if (!m) return Fail(AsBadInput(m.error(), o.input));
    SECPROF_ASSIGN_OR_RETURN(size_t which, cose::VerifySign(*m, key, aad, det));
    verified("COSE_Sign", which, m->signatures.size());
  } else if (type == "mac0") {
    auto m = cose::DecodeMac0(data);
    if (!m) return Fail(AsBadInput(m.error(), o.input));
    SECPROF_TRY(cose::VerifyMac0(*m, key, aad, det));
    verified("COSE_Mac0", std::nullopt, 1);
  } else {
    return Fail(ErrorCode::kInvalidInput, "--type must be auto, sign1, sign or mac0");
  }
  return Ok();
}

Result<cose::HeaderMap> KidHeader(const CoseOptions& o) {
  cose::HeaderMap u;
  if (!o.kid.empty())
    u.Set(cose::label::kKid, cbor::Value::ByteString(cbor::Bytes(o.kid.begin(), o.kid.end())));
  return u;
}

Result<cose::AlgorithmInfo> AlgOrDefault(const CoseOptions& o, const cose::Key& key,
                                         cose::AlgorithmKind kind) {
  if (!o.alg.empty()) {
    auto a = cose::LookupAlgorithmByName(o.alg);
    if (!a) return Fail(a.error().WithContext("--alg"));
    return a;
  }
  if (key.alg) return cose::LookupAlgorithm(*key.alg);
  switch (kind) {
    case cose::AlgorithmKind::kSignature:
      return cose::LookupAlgorithm(
          key.crv == cose::Curve::kEd25519 || key.crv == cose::Curve::kEd448 ? cose::kAlgEdDsa
                                                                             : cose::kAlgEs256);
    case cose::AlgorithmKind::kMac:
      return cose::LookupAlgorithm(cose::kAlgHmac256_256);
    case cose::AlgorithmKind::kContentEncryption: {
      const size_t n = key.secret ? key.secret->size() : 0;
      return cose::LookupAlgorithm(n == 32   ? cose::kAlgA256Gcm
                                   : n == 24 ? cose::kAlgA192Gcm
                                             : cose::kAlgA128Gcm);
    }
  }
  return Fail(ErrorCode::kInternal, "kind");
}

Status Sign(const CoseOptions& o, cose::AlgorithmKind kind) {
  SECPROF_ASSIGN_OR_RETURN(cbor::Bytes payload, ReadBytes(o.input, false));
  SECPROF_ASSIGN_OR_RETURN(cose::Key key, cose::LoadKeyFile(o.key));
  SECPROF_ASSIGN_OR_RETURN(cbor::Bytes aad, Aad(o));
  SECPROF_ASSIGN_OR_RETURN(cose::AlgorithmInfo alg, AlgOrDefault(o, key, kind));
  SECPROF_ASSIGN_OR_RETURN(cose::HeaderMap unprot, KidHeader(o));
  cbor::Bytes out;
  if (kind == cose::AlgorithmKind::kSignature) {
    cose::Sign1Params p;
    p.alg = alg.id;
    p.unprotected = unprot;
    p.external_aad = aad;
    p.detached = o.detached;
    SECPROF_ASSIGN_OR_RETURN(cose::Sign1 m, cose::CreateSign1(key, payload, p));
    out = cose::Encode(m, !o.untagged);
  } else if (kind == cose::AlgorithmKind::kMac) {
    cose::Mac0Params p;
    p.alg = alg.id;
    p.unprotected = unprot;
    p.external_aad = aad;
    p.detached = o.detached;
    SECPROF_ASSIGN_OR_RETURN(cose::Mac0 m, cose::CreateMac0(key, payload, p));
    out = cose::Encode(m, !o.untagged);
  } else {
    cose::Encrypt0Params p;
    p.alg = alg.id;
    p.unprotected = unprot;
    p.external_aad = aad;
    SECPROF_ASSIGN_OR_RETURN(cose::Encrypt0 m,
                             cose::CreateEncrypt0(key, payload, p, crypto::SystemRandomSource()));
    out = cose::Encode(m, !o.untagged);
  }
  const char* schema = kind == cose::AlgorithmKind::kSignature ? "cose.sign"
                       : kind == cose::AlgorithmKind::kMac     ? "cose.mac"
                                                               : "cose.encrypt";
  return WriteBytes(o.output, out, o.hex_out, o, schema);
}

// COSE_Encrypt0 (tag 16) or COSE_Encrypt (tag 96, direct recipient); untagged, whichever the
// message decodes as (3 items: Encrypt0, 4: Encrypt).
Status Decrypt(const CoseOptions& o) {
  SECPROF_ASSIGN_OR_RETURN(cbor::Bytes data, ReadBytes(o.input, o.hex_in));
  SECPROF_ASSIGN_OR_RETURN(cose::Key key, cose::LoadKeyFile(o.key));
  SECPROF_ASSIGN_OR_RETURN(cbor::Bytes aad, Aad(o));
  auto tag = cose::PeekTag(data);
  if (!tag) return Fail(AsBadInput(tag.error(), o.input));
  bool multi = *tag == cose::kTagEncrypt;
  if (!*tag) multi = !cose::DecodeEncrypt0(data) && cose::DecodeEncrypt(data);
  cbor::Bytes pt;
  if (multi) {
    auto m = cose::DecodeEncrypt(data);
    if (!m) return Fail(AsBadInput(m.error(), o.input));
    SECPROF_ASSIGN_OR_RETURN(pt, cose::DecryptEncrypt(*m, key, aad));
  } else {
    auto m = cose::DecodeEncrypt0(data);
    if (!m) return Fail(AsBadInput(m.error(), o.input));
    SECPROF_ASSIGN_OR_RETURN(pt, cose::DecryptEncrypt0(*m, key, aad));
  }
  return WriteBytes(o.output, pt, o.hex_out, o, "cose.decrypt");
}

void Common(CLI::App* c, CoseOptions& o, bool needs_alg) {
  c->add_option("--key", o.key, "Key file: PEM, JWK JSON or CBOR COSE_Key")->required();
  c->add_option("--aad", o.aad_hex, "External additional authenticated data, hex");
  if (needs_alg)
    c->add_option("--alg", o.alg,
                  "Algorithm: IANA name (ES256, EdDSA, HMAC 256/64, HMAC 256/256, A128GCM, "
                  "AES-CCM-16-64-128, ...) or number; default from the key");
}

void Install(CLI::App& app, Context& ctx) {
  auto* cose = app.add_subcommand("cose",
                                  "COSE messages (RFC 9052/9053): verify, sign, mac, "
                                  "encrypt, decrypt");
  cose->require_subcommand(1);
  auto done = [&ctx](Status st) { ctx.exit_code = ExitFor(st, kPlainExit); };

  auto v = std::make_shared<CoseOptions>();
  auto* verify = cose->add_subcommand(
      "verify",
      "Verify a COSE_Sign1, COSE_Sign or COSE_Mac0 (tagged or untagged). A COSE_Sign verifies "
      "when any one of its signers verifies with --key. Exit 0 verified, 1 not verified, 2 "
      "malformed input");
  verify->add_option("FILE", v->input, "The COSE message (binary CBOR, or - for stdin)")
      ->required();
  Common(verify, *v, false);
  verify->add_flag("--hex", v->hex_in, "The message is hex text");
  verify->add_option("--type", v->type, "auto (from the tag or key), sign1, sign or mac0")
      ->capture_default_str();
  verify->add_option("--payload", v->payload, "File with the detached payload");
  AddFormatOption(verify, v->format);
  verify->callback([v, done] { done(Verify(*v)); });

  struct Producer {
    const char* name;
    const char* help;
    cose::AlgorithmKind kind;
  };
  for (const Producer& p :
       {Producer{"sign", "Create a COSE_Sign1 (ES256 or EdDSA)", cose::AlgorithmKind::kSignature},
        Producer{"mac", "Create a COSE_Mac0 (HMAC 256/64 or 256/256)", cose::AlgorithmKind::kMac},
        Producer{"encrypt", "Create a COSE_Encrypt0 (AES-GCM or AES-CCM; fresh random IV)",
                 cose::AlgorithmKind::kContentEncryption}}) {
    auto o = std::make_shared<CoseOptions>();
    auto* c = cose->add_subcommand(p.name, p.help);
    c->add_option("--in", o->input, "Payload / plaintext file (- for stdin)")->required();
    c->add_option("--out", o->output, "Output file (default stdout)");
    Common(c, *o, true);
    c->add_option("--kid", o->kid, "Key identifier (text) for the unprotected header");
    c->add_flag("--untagged", o->untagged, "Omit the COSE CBOR tag");
    c->add_flag("--hex", o->hex_out, "Write hex text instead of binary CBOR");
    if (p.kind != cose::AlgorithmKind::kContentEncryption)
      c->add_flag("--detached", o->detached, "Do not carry the payload (nil)");
    AddFormatOption(c, o->format);
    const cose::AlgorithmKind kind = p.kind;
    c->callback([o, kind, done] { done(Sign(*o, kind)); });
  }

  auto d = std::make_shared<CoseOptions>();
  auto* dec = cose->add_subcommand(
      "decrypt",
      "Decrypt a COSE_Encrypt0, or a COSE_Encrypt whose recipient uses direct (-6) with --key as "
      "the content key. Exit 0 decrypted, 1 authentication failed, 2 malformed or unsupported");
  dec->add_option("--in", d->input, "The COSE_Encrypt0 / COSE_Encrypt (binary CBOR, - for stdin)")
      ->required();
  dec->add_option("--out", d->output, "Plaintext output file (default stdout)");
  Common(dec, *d, false);
  dec->add_flag("--hex-in", d->hex_in, "The message is hex text");
  dec->add_flag("--hex", d->hex_out, "Write the plaintext as hex");
  AddFormatOption(dec, d->format);
  dec->callback([d, done] { done(Decrypt(*d)); });
}

Registrar reg("cose", 41, Install);

}  // namespace
}  // namespace secprof::cli

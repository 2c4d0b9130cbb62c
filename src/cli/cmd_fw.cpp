// `secprof fw sign|verify|inspect` — SUIT firmware envelopes (draft-ietf-suit-manifest) from the
// command line, on secprof::update.
//
// Exit status (issue 5 item 2): verify 0 when the envelope verifies (and the image, vendor and
// class match when given), 1 when a signature, digest, image, vendor or class does not match,
// 2 when the envelope is malformed, a file cannot be read or an argument is wrong.
#include <charconv>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "command.h"
#include "output.h"
#include "secprof/cbor/cbor.h"
#include "secprof/core/fs.h"
#include "secprof/cose/cose.h"
#include "secprof/cose/key.h"
#include "secprof/domain/protocol.h"
#include "secprof/identity/identity.h"
#include "secprof/update/suit.h"
#include "secprof/voucher/voucher.h"

namespace secprof::cli {
namespace {

struct FwOptions {
  std::string envelope;
  std::string image;
  std::string key;
  std::string out;
  std::string vendor;
  std::string klass;
  std::string component = "00";
  std::string uri;
  std::string seq;      // decimal digits only (CLI11 would wrap "-1" into a uint64_t)
  std::string alg;      // sign: the COSE algorithm of the authentication block
  std::string factory;  // sign, ids: a `secprof manufacture` directory
  std::string model;
  std::string vendor_name;  // ids
  std::string format = "text";
};

// Parse errors are bad input whatever their code (a CBOR limit, an unsupported member, ...).
Error AsBadInput(const Error& e, const std::string& file) {
  return Error(e.code() == ErrorCode::kNotFound || e.code() == ErrorCode::kIo
                   ? e.code()
                   : ErrorCode::kInvalidInput,
               file + ": " + e.message());
}

Result<update::Envelope> Load(const std::string& path) {
  SECPROF_ASSIGN_OR_RETURN(std::string raw, ReadFile(path));
  auto env = update::ParseEnvelope(cbor::Bytes(raw.begin(), raw.end()));
  if (!env) return Fail(AsBadInput(env.error(), path));
  return env;
}

Result<cbor::Bytes> Uuid(const std::string& text, const char* option) {
  auto u = update::ParseUuid(text);
  if (!u) return Fail(u.error().WithContext(option));
  return u;
}

// `--factory DIR --model M`: the factory's vendor and that model, or a refusal (kConflict) that
// lists the model the factory made (one per directory, manifest.json).
Status CheckFactoryModel(const voucher::Factory& f, const FwOptions& o) {
  if (o.model.empty()) return Fail(ErrorCode::kInvalidInput, "--factory needs --model");
  if (f.model() != o.model)
    return Fail(ErrorCode::kConflict, "--model '" + o.model + "': the factory " + o.factory +
                                          " made no such model; models it made: " + f.model());
  return Ok();
}

Status Sign(const FwOptions& o) {
  update::CreateParams p;
  std::optional<voucher::Factory> factory;
  if (!o.factory.empty()) {
    // The vendor CA key in the factory's key store signs (what `voucher issue --factory` uses);
    // the ids are derived from the factory's vendor and the model (domain/protocol.h).
    if (!o.key.empty() || !o.vendor.empty() || !o.klass.empty() || !o.alg.empty())
      return Fail(ErrorCode::kInvalidInput,
                  "--factory replaces --key, --vendor, --class and --alg: give one or the other");
    SECPROF_ASSIGN_OR_RETURN(voucher::Factory f, voucher::Factory::Open(o.factory));
    SECPROF_TRY(CheckFactoryModel(f, o));
    p.vendor_id = domain::FirmwareVendorId(f.vendor());
    p.class_id = domain::FirmwareClassId(f.vendor(), o.model);
    factory.emplace(std::move(f));
  } else {
    if (o.key.empty() || o.vendor.empty() || o.klass.empty())
      return Fail(ErrorCode::kInvalidInput,
                  "give --key, --vendor and --class, or --factory DIR --model M");
    if (!o.model.empty()) return Fail(ErrorCode::kInvalidInput, "--model goes with --factory");
    SECPROF_ASSIGN_OR_RETURN(p.vendor_id, Uuid(o.vendor, "--vendor"));
    SECPROF_ASSIGN_OR_RETURN(p.class_id, Uuid(o.klass, "--class"));
  }
  auto comp = cbor::FromHex(o.component);
  if (!comp) return Fail(comp.error().WithContext("--component"));
  p.component_id = {*comp};
  {
    const char* b = o.seq.data();
    const char* e = b + o.seq.size();
    auto [ptr, ec] = std::from_chars(b, e, p.sequence_number);
    if (o.seq.empty() || o.seq[0] == '-' || o.seq[0] == '+' || ec != std::errc() || ptr != e)
      return Fail(ErrorCode::kInvalidInput,
                  "--seq: not an unsigned 64-bit decimal number: '" + o.seq + "'");
  }
  p.uri = o.uri;
  std::optional<cose::Key> key;
  if (!factory) {
    SECPROF_ASSIGN_OR_RETURN(key, cose::LoadKeyFile(o.key));
    if (!o.alg.empty()) {
      auto alg = cose::LookupAlgorithmByName(o.alg);
      if (!alg) return Fail(alg.error().WithContext("--alg"));
      if (key->alg && *key->alg != alg->id)
        return Fail(ErrorCode::kInvalidInput, "--alg " + std::string(alg->name) +
                                                  ": the key is restricted to algorithm " +
                                                  std::to_string(*key->alg));
      key->alg = alg->id;  // AuthenticationBlock uses the key's alg
    }
  }
  SECPROF_ASSIGN_OR_RETURN(auto digest, update::DigestFile(o.image));
  auto made =
      factory ? update::CreateEnvelopeWithSigner(digest.first, digest.second, p, factory->signer())
              : update::CreateEnvelopeForDigest(digest.first, digest.second, p, *key);
  // A key that cannot make the chosen algorithm is a bad argument, not a failed verification.
  if (!made && made.error().code() == ErrorCode::kVerifyFailed)
    return Fail(ErrorCode::kInvalidInput, "--key/--alg: " + made.error().message());
  SECPROF_ASSIGN_OR_RETURN(cbor::Bytes env, std::move(made));
  SECPROF_TRY(WriteFileAtomic(o.out, std::string(env.begin(), env.end()), 0644));
  if (o.format == "json") {
    nlohmann::json j = {{"envelope", o.out},
                        {"sequence_number", p.sequence_number},
                        {"vendor_id", update::FormatUuid(p.vendor_id)},
                        {"class_id", update::FormatUuid(p.class_id)},
                        {"image_size", digest.second},
                        {"image_sha256", cbor::ToHex(digest.first.bytes)}};
    j["schema"] = JsonDocument("fw.sign")["schema"];
    if (factory) {
      j["vendor"] = factory->vendor();
      j["model"] = o.model;
    }
    PrintJson(j);
    return Ok();
  }
  std::cout << "wrote " << o.out << ": SUIT envelope, sequence number " << p.sequence_number
            << ", image " << digest.second << " bytes, sha-256 " << cbor::ToHex(digest.first.bytes)
            << "\n";
  std::cout << "vendor-id " << update::FormatUuid(p.vendor_id) << ", class-id "
            << update::FormatUuid(p.class_id);
  if (factory) std::cout << " (" << factory->vendor() << " " << o.model << ")";
  std::cout << "\n";
  return Ok();
}

// `fw ids`: the SUIT vendor-id and class-id secprof derives for a vendor and a model.
Status Ids(const FwOptions& o) {
  std::string vendor = o.vendor_name;
  if (!o.factory.empty()) {
    if (!vendor.empty()) return Fail(ErrorCode::kInvalidInput, "--factory replaces --vendor");
    SECPROF_ASSIGN_OR_RETURN(voucher::Factory f, voucher::Factory::Open(o.factory));
    SECPROF_TRY(CheckFactoryModel(f, o));
    vendor = f.vendor();
  }
  if (vendor.empty() || o.model.empty())
    return Fail(ErrorCode::kInvalidInput, "give --vendor and --model, or --factory DIR --model M");
  const std::string vid = update::FormatUuid(domain::FirmwareVendorId(vendor));
  const std::string cid = update::FormatUuid(domain::FirmwareClassId(vendor, o.model));
  if (o.format == "json") {
    auto j = JsonDocument("fw.ids");
    j.update({{"vendor", vendor}, {"model", o.model}, {"vendor_id", vid}, {"class_id", cid}});
    PrintJson(j);
    return Ok();
  }
  std::cout << "vendor   " << vendor << "\nmodel    " << o.model << "\nvendor-id " << vid
            << "\nclass-id  " << cid << "\n";
  return Ok();
}

// What a command checked and what it did not, printed as "OK: ...", "not checked: ...",
// "NOT EXECUTABLE: ..." lines, or as one JSON object with --format json.
struct Findings {
  std::vector<std::string> checked, not_checked, not_executable;
};

// What an installer would do with the manifest (suit.h InstallerFeatures).
void AddFeatures(const update::Envelope& env, Findings& f) {
  for (const auto& u : update::InstallerFeatures(env)) {
    if (u.handling == update::Handling::kExecuted) continue;
    const std::string line = u.feature + " in " + u.where + ": " + u.note;
    (u.handling == update::Handling::kNotExecuted ? f.not_executable : f.not_checked)
        .push_back(line);
  }
}

nlohmann::json FindingsJson(const Findings& f) {
  return {
      {"checked", f.checked}, {"not_checked", f.not_checked}, {"not_executable", f.not_executable}};
}

void PrintFindings(const Findings& f) {
  for (const auto& l : f.checked) std::cout << "OK: " << l << "\n";
  for (const auto& l : f.not_executable) std::cout << "NOT EXECUTABLE: " << l << "\n";
  for (const auto& l : f.not_checked) std::cout << "not checked: " << l << "\n";
}

// --key for verify: a key file (cose::LoadKeyFile) or a PEM certificate, whose public key is
// used (e.g. the vendor CA certificate factory/ca/ca.pem of `secprof manufacture`).
Result<cose::Key> LoadVerifyKey(const std::string& path) {
  SECPROF_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  if (text.find("-----BEGIN CERTIFICATE-----") == std::string::npos) return cose::LoadKeyFile(path);
  auto cert = identity::Certificate::FromPem(text);
  if (!cert) return Fail(cert.error().WithContext(path));
  SECPROF_ASSIGN_OR_RETURN(crypto::PublicKey pk, cert->public_key());
  return cose::KeyFromPublic(pk);
}

Status Verify(const FwOptions& o) {
  SECPROF_ASSIGN_OR_RETURN(cose::Key key, LoadVerifyKey(o.key));
  SECPROF_ASSIGN_OR_RETURN(update::Envelope env, Load(o.envelope));
  SECPROF_ASSIGN_OR_RETURN(update::Authentication auth, update::Authenticate(env, key));
  Findings f;
  f.checked.push_back(o.envelope + ": " + (env.value.is_tag() ? "tagged" : "untagged") +
                      " envelope, manifest digest (sha-256) matches, authentication-wrapper[" +
                      std::to_string(auth.block) + "] " + auth.structure + " " + auth.algorithm +
                      " verifies with " + key.Describe() + ", sequence number " +
                      std::to_string(env.manifest.sequence_number));
  if (!env.severed.empty())
    f.checked.push_back(std::to_string(env.severed.size()) +
                        " severed member(s) match their digests in the manifest");
  if (env.auth.blocks.size() > 1)
    f.not_checked.push_back(std::to_string(env.auth.blocks.size() - 1) +
                            " other authentication block(s) (only the one for --key is verified)");
  AddFeatures(env, f);
  if (o.image.empty() && o.vendor.empty() && o.klass.empty()) {
    f.not_checked.push_back("the image (no --image), vendor-id and class-id (no --vendor/--class)");
  } else {
    auto params = update::ImageParametersFor(env.manifest, 0);
    if (!params) return Fail(AsBadInput(params.error(), o.envelope));
    if (!o.vendor.empty() || !o.klass.empty()) {
      if (o.vendor.empty() || o.klass.empty())
        return Fail(ErrorCode::kInvalidInput, "--vendor and --class go together");
      SECPROF_ASSIGN_OR_RETURN(cbor::Bytes v, Uuid(o.vendor, "--vendor"));
      SECPROF_ASSIGN_OR_RETURN(cbor::Bytes c, Uuid(o.klass, "--class"));
      SECPROF_TRY(update::CheckVendorClass(*params, v, c));
      f.checked.push_back("vendor-id and class-id match");
    }
    if (!o.image.empty()) {
      auto st = update::CheckImageFile(*params, o.image);
      if (!st) {
        if (st.error().code() == ErrorCode::kVerifyFailed)
          return Fail(st.error().WithContext(o.image));
        return Fail(AsBadInput(st.error(), o.image));
      }
      f.checked.push_back(o.image + " matches the manifest's image-digest and image-size");
    }
  }
  if (o.format == "json") {
    nlohmann::json j = FindingsJson(f);
    j["envelope"] = o.envelope;
    j["valid"] = true;
    j["tagged"] = env.value.is_tag();
    j["sequence_number"] = env.manifest.sequence_number;
    j["authentication"] = {{"block", auth.block},
                           {"structure", auth.structure},
                           {"algorithm", auth.algorithm},
                           {"key", key.Describe()}};
    j["schema"] = JsonDocument("fw.verify")["schema"];
    PrintJson(j);
  } else {
    PrintFindings(f);
  }
  return Ok();
}

// The envelope as JSON for `fw inspect --format json`: what Summary prints, structured.
nlohmann::json EnvelopeJson(const update::Envelope& env) {
  const update::Manifest& m = env.manifest;
  nlohmann::json j = {{"tagged", env.value.is_tag()},
                      {"manifest_version", m.version},
                      {"sequence_number", m.sequence_number},
                      {"manifest_digest_sha256", cbor::ToHex(env.auth.digest.bytes)}};
  if (m.reference_uri) j["reference_uri"] = *m.reference_uri;
  j["authentication_blocks"] = nlohmann::json::array();
  for (const auto& b : update::DescribeBlocks(env))
    j["authentication_blocks"].push_back({{"structure", b.structure}, {"algorithm", b.algorithm}});
  j["components"] = nlohmann::json::array();
  for (size_t i = 0; i < m.common.components.size(); ++i) {
    nlohmann::json c = {{"id", nlohmann::json::array()}};
    for (const auto& part : m.common.components[i]) c["id"].push_back(cbor::ToHex(part));
    if (auto p = update::ImageParametersFor(m, i)) {
      if (p->vendor_id) c["vendor_id"] = update::FormatUuid(*p->vendor_id);
      if (p->class_id) c["class_id"] = update::FormatUuid(*p->class_id);
      if (p->image_digest) {
        c["image_digest"] = cbor::ToHex(p->image_digest->bytes);
        c["image_digest_alg"] = p->image_digest->alg;
      }
      if (p->image_size) c["image_size"] = *p->image_size;
      if (p->uri) c["uri"] = *p->uri;
    }
    j["components"].push_back(std::move(c));
  }
  j["features"] = nlohmann::json::array();
  for (const auto& u : update::InstallerFeatures(env))
    j["features"].push_back({{"where", u.where},
                             {"feature", u.feature},
                             {"handling", update::HandlingName(u.handling)},
                             {"note", u.note}});
  return j;
}

// Diagnostic notation with embedded CBOR shown as << ... >> (RFC 8610 Appendix G.3) wherever a
// byte string holds a CBOR array, map or tag, indented like the draft's examples.
std::string Expanded(const cbor::Value& v, int indent) {
  const std::string pad(static_cast<size_t>(indent) * 2, ' ');
  const std::string pad2(static_cast<size_t>(indent + 1) * 2, ' ');
  switch (v.type()) {
    case cbor::Type::kBytes: {
      cbor::Limits l;
      l.allow_indefinite = false;
      l.max_depth = 24;
      auto inner = cbor::Decode(v.bytes(), l);
      if (inner && (inner->is_array() || inner->is_map() || inner->is_tag()))
        return "<< " + Expanded(*inner, indent) + " >>";
      return cbor::Diagnostic(v);
    }
    case cbor::Type::kArray: {
      if (v.array().empty()) return "[]";
      std::string s = "[\n";
      for (size_t i = 0; i < v.array().size(); ++i)
        s += pad2 + Expanded(v.array()[i], indent + 1) + (i + 1 < v.array().size() ? ",\n" : "\n");
      return s + pad + "]";
    }
    case cbor::Type::kMap: {
      if (v.map().empty()) return "{}";
      std::string s = "{\n";
      for (size_t i = 0; i < v.map().size(); ++i)
        s += pad2 + cbor::Diagnostic(v.map()[i].first) + ": " +
             Expanded(v.map()[i].second, indent + 1) + (i + 1 < v.map().size() ? ",\n" : "\n");
      return s + pad + "}";
    }
    case cbor::Type::kTag:
      return std::to_string(v.tag_number()) + "(" + Expanded(v.tag_content(), indent) + ")";
    default:
      return cbor::Diagnostic(v);
  }
}

Status Inspect(const FwOptions& o) {
  SECPROF_ASSIGN_OR_RETURN(update::Envelope env, Load(o.envelope));
  Findings f;
  f.checked.push_back(
      "the envelope and manifest parse (draft-ietf-suit-manifest and the trust-domains, "
      "update-management extensions)");
  f.not_checked.push_back("the digest and authentication (inspect has no key; use fw verify)");
  AddFeatures(env, f);
  if (o.format == "json") {
    nlohmann::json j = EnvelopeJson(env);
    j.update(FindingsJson(f));
    j["envelope"] = o.envelope;
    j["schema"] = JsonDocument("fw.inspect")["schema"];
    PrintJson(j);
    return Ok();
  }
  std::cout << update::Summary(env);
  PrintFindings(f);
  std::cout << "\nDiagnostic notation (RFC 8949 §8, embedded CBOR as << >>):\n"
            << Expanded(env.value, 0) << "\n";
  return Ok();
}

void Install(CLI::App& app, Context& ctx) {
  auto* fw = app.add_subcommand(
      "fw", "SUIT firmware envelopes (draft-ietf-suit-manifest): sign, verify, inspect, ids");
  fw->require_subcommand(1);
  auto done = [&ctx](Status st) { ctx.exit_code = ExitFor(st, kPlainExit); };

  auto s = std::make_shared<FwOptions>();
  auto* sign = fw->add_subcommand(
      "sign",
      "Create an authenticated SUIT envelope for an image: one component, vendor-id, class-id, "
      "SHA-256 image digest and size, validate/install/invoke sequences, one COSE_Sign1 (ES256 "
      "for a P-256 key, EdDSA for Ed25519/Ed448, or --alg) or, for a symmetric key, one "
      "COSE_Mac0 (HMAC 256/256)");
  sign->add_option("--image", s->image, "The firmware image")->required();
  sign->add_option("--seq", s->seq, "Manifest sequence number (monotonic; rollback protection)")
      ->required();
  sign->add_option("--vendor", s->vendor,
                   "Vendor id: UUID (8-4-4-4-12) or 32 hex digits (not with --factory)");
  sign->add_option("--class", s->klass,
                   "Class id: UUID (8-4-4-4-12) or 32 hex digits (not with --factory)");
  sign->add_option("--factory", s->factory,
                   "A `secprof manufacture` directory: sign with its vendor CA key (its key "
                   "store) and derive vendor-id and class-id from its vendor and --model");
  sign->add_option("--model", s->model, "With --factory: the model the firmware is for");
  AddFormatOption(sign, s->format);
  sign->add_option("--key", s->key,
                   "Signing key: PEM private key, JWK or COSE_Key; a symmetric (oct / kty 4) key "
                   "of at least 32 bytes makes a COSE_Mac0 (not with --factory)");
  sign->add_option("--alg", s->alg,
                   "COSE algorithm: ES256 or ESP256 (RFC 9864) for P-256, EdDSA or Ed25519/Ed448 "
                   "(RFC 9864) for OKP keys, 'HMAC 256/256' for symmetric keys (default: ES256, "
                   "EdDSA or HMAC 256/256 by key type)");
  sign->add_option("--out", s->out, "Output envelope file (binary CBOR)")->required();
  sign->add_option("--component", s->component, "Component identifier, hex (one bstr)")
      ->capture_default_str();
  sign->add_option("--uri", s->uri, "Where the image is fetched from (adds a fetch to install)");
  // A model the factory did not make is a refusal (1), like the owner's refused changes.
  sign->callback([s, &ctx] { ctx.exit_code = ExitFor(Sign(*s), ExitPolicy{"secprof: ", true}); });

  auto d = std::make_shared<FwOptions>();
  auto* ids = fw->add_subcommand(
      "ids",
      "Print the SUIT vendor-id and class-id secprof derives for a vendor and a model (what "
      "`fw sign --factory` puts in the manifest and `kdc fw add` expects)");
  ids->add_option("--vendor", d->vendor_name, "Vendor name (the vendor CA's O)");
  ids->add_option("--factory", d->factory, "A `secprof manufacture` directory (gives the vendor)");
  ids->add_option("--model", d->model, "Model")->required();
  AddFormatOption(ids, d->format);
  ids->callback([d, &ctx] { ctx.exit_code = ExitFor(Ids(*d), ExitPolicy{"secprof: ", true}); });

  auto v = std::make_shared<FwOptions>();
  auto* verify = fw->add_subcommand(
      "verify",
      "Verify a SUIT envelope (tagged or untagged): manifest digest and the COSE_Sign1 (ES256, "
      "ESP256, EdDSA) or, for a symmetric --key, COSE_Mac0 (HMAC) block; with --image also the "
      "image's SHA-256 and size; with --vendor/--class the ids. Prints what it checked and what "
      "it did not (commands an installer would not execute, other blocks). Exit 0 valid, 1 "
      "invalid signature/MAC, digest or mismatch, 2 malformed input or bad arguments");
  verify->add_option("ENVELOPE", v->envelope, "The envelope (binary CBOR)")->required();
  verify
      ->add_option("--key", v->key,
                   "Public (or private) key: PEM (a certificate's public key too), JWK or "
                   "COSE_Key; or the shared symmetric key "
                   "(JWK oct / COSE_Key kty 4) for a COSE_Mac0 envelope")
      ->required();
  verify->add_option("--image", v->image, "Image file to check against component 0");
  verify->add_option("--vendor", v->vendor, "Expected vendor id (with --class)");
  verify->add_option("--class", v->klass, "Expected class id (with --vendor)");
  AddFormatOption(verify, v->format);
  verify->callback([v, done] { done(Verify(*v)); });

  auto i = std::make_shared<FwOptions>();
  auto* inspect = fw->add_subcommand(
      "inspect",
      "Show a SUIT envelope: a readable summary and its CBOR diagnostic notation (no "
      "verification). Exit 2 when malformed");
  inspect->add_option("ENVELOPE", i->envelope, "The envelope (binary CBOR)")->required();
  AddFormatOption(inspect, i->format)
      ->description(
          "Output format: text | json (json: the summary and the findings, no "
          "diagnostic notation; docs/CLI.md)");
  inspect->callback([i, done] { done(Inspect(*i)); });
}

Registrar reg("fw", 60, Install);

}  // namespace
}  // namespace secprof::cli

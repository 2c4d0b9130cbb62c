// `secprof manufacture` — the manufactured lifecycle phase (brief §4, issue 3 item 7): makes or
// reuses the vendor CA and adds N things, each with a key pair in the chosen key store, an IDevID,
// the vendor trust anchor and a setup code, and writes DIR/manifest.json. The logic lives in
// secprof::manufacture; docs/KEYSTORE.md describes the output.
//
// Exit status: 0 made; 2 bad arguments, a directory made for another vendor or model, or any
// failure (key store, I/O), with a message.
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "command.h"
#include "output.h"
#include "secprof/domain/protocol.h"
#include "secprof/manufacture/manufacture.h"
#include "secprof/update/suit.h"

namespace secprof::cli {
namespace {

struct ManufactureArgs {
  std::string vendor;
  std::string model;
  int count = 1;
  std::string out;
  std::string keystore = "file";
  std::string module = keystore::kDefaultPkcs11Module;
  std::string token;
  std::string pin;
  std::string format = "text";
};

Status Run(const ManufactureArgs& a) {
  manufacture::Options o;
  o.vendor = a.vendor;
  o.model = a.model;
  o.count = a.count;
  o.out_dir = a.out;
  SECPROF_ASSIGN_OR_RETURN(o.keystore, keystore::ParseStoreKind(a.keystore));
  if (o.keystore == keystore::StoreKind::kPkcs11) {
    o.pkcs11.module_path = a.module;
    o.pkcs11.token_label = a.token;
    o.pkcs11.pin = keystore::Pin(a.pin);
    if (o.pkcs11.pin.empty()) {
      const char* env = std::getenv("SECPROF_PKCS11_PIN");
      if (env) o.pkcs11.pin = keystore::Pin(env);
    }
    if (a.token.empty())
      return Fail(ErrorCode::kInvalidInput, "--keystore pkcs11 needs --token LABEL");
    if (o.pkcs11.pin.empty())
      return Fail(ErrorCode::kInvalidInput,
                  "--keystore pkcs11 needs --pin PIN (or SECPROF_PKCS11_PIN in the environment)");
  } else if (!a.token.empty() || !a.pin.empty()) {
    return Fail(ErrorCode::kInvalidInput, "--token and --pin apply to --keystore pkcs11 only");
  }
  SECPROF_ASSIGN_OR_RETURN(manufacture::Outcome made, manufacture::Manufacture(o));
  const auto& things = made.manifest.things;
  if (a.format == "json") {
    nlohmann::json j = JsonDocument("manufacture");
    j.update({{"manifest", a.out + "/manifest.json"},
              {"vendor_ca_created", made.ca_created},
              {"total", things.size()},
              {"added", nlohmann::json::array()}});
    for (size_t i = made.first_new; i < things.size(); ++i) j["added"].push_back(things[i].serial);
    // The SUIT ids firmware for these things carries (domain/protocol.h FirmwareVendorId/ClassId).
    j["firmware_vendor_id"] = update::FormatUuid(domain::FirmwareVendorId(made.manifest.vendor));
    j["firmware_class_id"] =
        update::FormatUuid(domain::FirmwareClassId(made.manifest.vendor, made.manifest.model));
    PrintJson(j);
    return Ok();
  }
  std::cout << (made.ca_created ? "created" : "reused") << " vendor CA " << a.out << "/"
            << made.manifest.ca_certificate << " (sha256 " << made.manifest.ca_fingerprint << ")\n";
  for (size_t i = made.first_new; i < things.size(); ++i) {
    std::cout << "made " << things[i].serial << ": " << a.out << "/" << things[i].idevid << ", key "
              << things[i].key_label << " in " << things[i].key_location << "\n";
  }
  std::cout << "added " << (things.size() - made.first_new) << " things, " << things.size()
            << " in " << a.out << "/manifest.json\n";
  std::cout << "firmware vendor-id "
            << update::FormatUuid(domain::FirmwareVendorId(made.manifest.vendor)) << ", class-id "
            << update::FormatUuid(
                   domain::FirmwareClassId(made.manifest.vendor, made.manifest.model))
            << " (secprof fw sign --factory " << a.out << " --model " << made.manifest.model
            << " uses them)\n";
  return Ok();
}

void Install(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ManufactureArgs>();
  auto* c = app.add_subcommand(
      "manufacture",
      "Make (or reuse) the vendor CA and add things: key pair, IDevID, trust anchor, setup code");
  c->add_option("--vendor", args->vendor, "Vendor name (the CA's and the IDevIDs' O)")->required();
  c->add_option("--model", args->model, "Device model (the IDevIDs' OU)")->required();
  c->add_option("--count", args->count, "Number of things to add")
      ->check(CLI::Range(1, manufacture::kMaxCount))
      ->capture_default_str();
  c->add_option("--out", args->out, "Output directory (created; re-runs add to it)")->required();
  c->add_option("--keystore", args->keystore, "Where the things' keys go")
      ->check(CLI::IsMember({"file", "pkcs11"}))
      ->capture_default_str();
  c->add_option("--pkcs11-module", args->module, "PKCS#11 module (--keystore pkcs11)")
      ->capture_default_str();
  c->add_option("--token", args->token, "PKCS#11 token label (--keystore pkcs11)");
  c->add_option(
      "--pin", args->pin,
      "PKCS#11 user PIN (--keystore pkcs11; default: $SECPROF_PKCS11_PIN; prefer it: a flag is "
      "visible to ps)");
  AddFormatOption(c, args->format);
  c->callback([args, &ctx] {
    auto st = Run(*args);
    ctx.exit_code = ExitFor(st, kPlainExit);
  });
}

Registrar reg("manufacture", 50, Install);

}  // namespace
}  // namespace secprof::cli

// `secprof voucher issue|verify|inspect` — ownership vouchers (secprof::voucher, docs/VOUCHER.md).
//
//   issue    plays the manufacturer's voucher service on a factory directory made by
//            `secprof manufacture`: one voucher per serial, signed with the vendor CA key;
//   verify   checks a voucher against the manufacturer trust anchor (and, when given, the serial
//            and the owner's domain CA it must bind);
//   inspect  shows what a voucher says, without verifying it.
//
// Exit status: 0 ok; 1 a voucher that does not verify or bind (verify); 2 bad input: malformed
// voucher, unreadable file, unknown serial, bad arguments.
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "command.h"
#include "output.h"
#include "secprof/cbor/cbor.h"
#include "secprof/core/fs.h"
#include "secprof/cose/cose.h"
#include "secprof/voucher/voucher.h"

namespace secprof::cli {
namespace {

namespace fs = std::filesystem;
using voucher::Bytes;

constexpr int kMaxDays = 36525;  // 100 years, as voucher::Factory allows

struct VoucherArgs {
  std::string factory;
  std::vector<std::string> serials;
  bool all = false;
  std::string domain_ca;
  std::string owner;
  int days = 365;
  std::string out;

  std::string file;
  std::string ca;
  std::string serial;
  std::string format = "text";
};

Result<identity::Certificate> LoadCert(const std::string& path, const char* option) {
  SECPROF_ASSIGN_OR_RETURN(std::string pem, ReadFile(path));
  auto cert = identity::Certificate::FromPem(pem);
  if (!cert)
    return Fail(Error(ErrorCode::kInvalidInput,
                      std::string(option) + " " + path + ": " + cert.error().message()));
  return cert;
}

// Reads a voucher file; anything that is not a voucher is bad input (exit 2), never "invalid".
Result<Bytes> LoadVoucher(const std::string& path) {
  SECPROF_ASSIGN_OR_RETURN(std::string raw, ReadFile(path));
  return Bytes(raw.begin(), raw.end());
}

Error InFile(const Error& e, const std::string& path) {
  return Error(e.code(), path + ": " + e.message());
}

Status Issue(const VoucherArgs& a) {
  if (a.all == !a.serials.empty())
    return Fail(ErrorCode::kInvalidInput, "give --serial S (one or more times) or --all");
  std::set<std::string> seen;
  for (const auto& s : a.serials)
    if (!seen.insert(s).second)
      return Fail(ErrorCode::kInvalidInput, "--serial " + s + " given twice");
  SECPROF_ASSIGN_OR_RETURN(identity::Certificate domain_ca, LoadCert(a.domain_ca, "--domain-ca"));
  SECPROF_ASSIGN_OR_RETURN(voucher::Factory factory, voucher::Factory::Open(a.factory));
  const std::vector<std::string> serials = a.all ? factory.serials() : a.serials;
  if (serials.empty())
    return Fail(ErrorCode::kInvalidInput, a.factory + "/manifest.json lists no things");
  const bool many = a.all || serials.size() > 1;
  std::error_code ec;
  if (many && fs::exists(a.out, ec) && !fs::is_directory(a.out, ec))
    return Fail(ErrorCode::kInvalidInput,
                "--out " + a.out + " must be a directory when issuing several vouchers");

  // Everything is issued in memory first: an unknown serial or a bad argument writes nothing.
  std::vector<std::pair<std::string, Bytes>> made;
  for (const auto& s : serials) {
    SECPROF_ASSIGN_OR_RETURN(
        Bytes v, factory.Issue(s, domain_ca, a.owner, std::chrono::days(a.days), SystemClock()));
    made.emplace_back(s, std::move(v));
  }
  if (many) {
    fs::create_directories(a.out, ec);
    if (ec) return Fail(ErrorCode::kIo, "cannot create " + a.out + ": " + ec.message());
  }
  const bool json = a.format == "json";
  auto written = nlohmann::json::array();
  for (const auto& [s, v] : made) {
    const std::string path = many ? (fs::path(a.out) / (s + ".voucher")).string() : a.out;
    SECPROF_TRY(WriteFileAtomic(path, std::string(v.begin(), v.end()), 0644));
    if (json)
      written.push_back({{"serial", s}, {"file", path}, {"size", v.size()}});
    else
      std::cout << "wrote " << path << ": voucher for " << s << " (" << v.size() << " bytes)\n";
  }
  if (json) {
    auto j = JsonDocument("voucher.issue");
    j["vouchers"] = std::move(written);
    j["vendor"] = factory.vendor_ca().subject().organization;
    j["domain_ca"] = domain_ca.subject().text;
    j["owner"] = a.owner;
    j["days"] = a.days;
    PrintJson(j);
    return Ok();
  }
  std::cout << "issued " << made.size() << " voucher" << (made.size() == 1 ? "" : "s") << " by '"
            << factory.vendor_ca().subject().organization << "' for the domain CA '"
            << domain_ca.subject().text << "', valid " << a.days << " days\n";
  return Ok();
}

Status Verify(const VoucherArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(identity::Certificate ca, LoadCert(a.ca, "--ca"));
  std::optional<identity::Certificate> domain;
  if (!a.domain_ca.empty()) {
    SECPROF_ASSIGN_OR_RETURN(domain, LoadCert(a.domain_ca, "--domain-ca"));
  }
  SECPROF_ASSIGN_OR_RETURN(Bytes wire, LoadVoucher(a.file));
  auto v = voucher::Verify(wire, ca, SystemClock());
  if (!v) return Fail(InFile(v.error(), a.file));
  if (!a.serial.empty() && v->serial != a.serial)
    return Fail(ErrorCode::kVerifyFailed,
                a.file + ": voucher is for serial '" + v->serial + "', not '" + a.serial + "'");
  if (domain) {
    auto st = voucher::CheckBinding(*v, v->serial, *domain);
    if (!st) return Fail(InFile(st.error(), a.file));
  }
  if (a.format == "json") {
    auto j = JsonDocument("voucher.verify");
    j["file"] = a.file;
    j["valid"] = true;
    j["serial"] = v->serial;
    j["vendor"] = v->vendor;
    j["model"] = v->model;
    j["owner"] = v->owner;
    j["signer"] = ca.subject().text;
    j["created"] = JsonTime(v->created);
    j["expires"] = JsonTime(v->expires);
    j["serial_checked"] = !a.serial.empty();
    j["domain_ca_checked"] = domain ? nlohmann::json(domain->subject().text) : nlohmann::json();
    PrintJson(j);
    return Ok();
  }
  std::cout << "OK: " << a.file << ": voucher for serial " << v->serial << " (" << v->vendor << " "
            << v->model << ") signed by the vendor CA '" << ca.subject().text << "', valid until "
            << voucher::FormatTime(v->expires) << "\n";
  if (!a.serial.empty()) std::cout << "OK: the serial is " << a.serial << "\n";
  if (domain) std::cout << "OK: it pins the domain CA '" << domain->subject().text << "'\n";
  return Ok();
}

const char* AlgName(int64_t alg) {
  return alg == cose::kAlgEs256 ? "ES256" : alg == cose::kAlgEdDsa ? "EdDSA" : "?";
}

Status Inspect(const VoucherArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(Bytes wire, LoadVoucher(a.file));
  auto sv = voucher::DecodeSigned(wire);
  if (!sv) return Fail(InFile(sv.error(), a.file));
  const voucher::Voucher& v = sv->voucher;
  if (a.format == "json") {
    nlohmann::json j = JsonDocument("voucher.inspect", 2);
    j.update({{"version", v.version},
              {"serial", v.serial},
              {"vendor", v.vendor},
              {"model", v.model},
              {"owner", v.owner},
              {"domain_hash", cbor::ToHex(v.domain_hash)},
              {"created", JsonTime(v.created)},
              {"expires", JsonTime(v.expires)},
              {"nonce", cbor::ToHex(v.nonce)},
              {"alg", AlgName(sv->alg)},
              {"kid", cbor::ToHex(sv->kid)},
              {"size", wire.size()},
              {"verified", false}});
    PrintJson(j);
    return Ok();
  }
  std::cout << a.file << ": ownership voucher, COSE_Sign1 " << AlgName(sv->alg) << ", "
            << wire.size() << " bytes (NOT verified; use 'secprof voucher verify')\n"
            << "  version   " << v.version << "\n"
            << "  serial    " << v.serial << "\n"
            << "  vendor    " << v.vendor << "\n"
            << "  model     " << v.model << "\n"
            << "  owner     " << (v.owner.empty() ? "(none)" : v.owner) << "\n"
            << "  domain    " << cbor::ToHex(v.domain_hash) << " (SHA-256 of the domain CA SPKI)\n"
            << "  created   " << voucher::FormatTime(v.created) << "\n"
            << "  expires   " << voucher::FormatTime(v.expires) << "\n"
            << "  nonce     " << (v.nonce.empty() ? "(none)" : cbor::ToHex(v.nonce)) << "\n"
            << "  signer    " << cbor::ToHex(sv->kid) << " (SHA-256 of the vendor CA SPKI)\n";
  return Ok();
}

void Install(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand(
      "voucher",
      "Ownership vouchers (RFC 8366/8995 in spirit; COSE_Sign1 by the vendor CA): issue, verify, "
      "inspect");
  cmd->require_subcommand(1);
  auto done = [&ctx](Status st) { ctx.exit_code = ExitFor(st, kPlainExit); };

  auto i = std::make_shared<VoucherArgs>();
  auto* issue = cmd->add_subcommand(
      "issue",
      "As the manufacturer: issue vouchers for things of a factory directory (secprof "
      "manufacture) to the owner's domain CA, signed with the vendor CA key in DIR/ca/keystore. "
      "Exit 2 for an unknown serial or bad arguments (nothing is written then)");
  issue->add_option("--factory", i->factory, "Factory directory (with manifest.json)")->required();
  issue->add_option("--serial", i->serials, "Thing serial (repeatable)");
  issue->add_flag("--all", i->all, "Every thing in the manifest");
  issue->add_option("--domain-ca", i->domain_ca, "The owner's domain CA certificate (PEM)")
      ->required();
  issue->add_option("--owner", i->owner, "Owner name (informational)");
  issue->add_option("--days", i->days, "Validity in days")
      ->check(CLI::Range(1, kMaxDays))
      ->capture_default_str();
  issue
      ->add_option("--out", i->out,
                   "Output file; a directory (<serial>.voucher each) with several serials")
      ->required();
  AddFormatOption(issue, i->format);
  issue->callback([i, done] { done(Issue(*i)); });

  auto v = std::make_shared<VoucherArgs>();
  auto* verify = cmd->add_subcommand(
      "verify",
      "Verify a voucher against the manufacturer trust anchor: signature, vendor, validity; with "
      "--serial and/or --domain-ca also what it binds. Exit 0 valid, 1 invalid, 2 malformed or "
      "bad arguments");
  verify->add_option("FILE", v->file, "The voucher (binary COSE_Sign1)")->required();
  verify->add_option("--ca", v->ca, "Vendor CA certificate (PEM): the manufacturer trust anchor")
      ->required();
  verify->add_option("--serial", v->serial, "The serial the voucher must name");
  verify->add_option("--domain-ca", v->domain_ca, "The domain CA (PEM) the voucher must pin");
  AddFormatOption(verify, v->format);
  verify->callback([v, done] { done(Verify(*v)); });

  auto s = std::make_shared<VoucherArgs>();
  auto* inspect = cmd->add_subcommand(
      "inspect", "Show what a voucher says, without verifying it. Exit 2 when malformed");
  inspect->add_option("FILE", s->file, "The voucher (binary COSE_Sign1)")->required();
  AddFormatOption(inspect, s->format);
  inspect->callback([s, done] { done(Inspect(*s)); });
}

Registrar reg("voucher", 55, Install);

}  // namespace
}  // namespace secprof::cli

// `secprof cbor diag FILE|-` — prints CBOR diagnostic notation (RFC 8949 §8).
//
// Exit status: 0 printed; 2 the file is missing, the hex is bad, or the CBOR is malformed (the
// message names the file and the byte offset).
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include "command.h"
#include "output.h"
#include "secprof/cbor/cbor.h"
#include "secprof/core/fs.h"

namespace secprof::cli {
namespace {

struct DiagOptions {
  std::string input;
  bool hex = false;
  size_t max_depth = 64;
  std::string format = "text";
};

Result<std::string> ReadInput(const std::string& path) {
  if (path == "-") {
    std::string data((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    if (std::cin.bad()) return Fail(ErrorCode::kIo, "reading standard input failed");
    return data;
  }
  return ReadFile(path);
}

Status RunDiag(const DiagOptions& o) {
  const std::string name = o.input == "-" ? "<stdin>" : o.input;
  SECPROF_ASSIGN_OR_RETURN(std::string raw, ReadInput(o.input));
  cbor::Bytes bytes(raw.begin(), raw.end());
  if (o.hex) {
    auto b = cbor::FromHex(raw);
    if (!b) return Fail(b.error().WithContext(name));
    bytes = std::move(*b);
  }
  cbor::Limits limits;
  limits.max_depth = o.max_depth;
  auto v = cbor::Decode(bytes, limits);
  if (!v) {
    // Malformed CBOR is bad input (exit 2), including a limit that was hit.
    return Fail(ErrorCode::kInvalidInput, name + ": " + v.error().message());
  }
  if (o.format == "json") {
    auto j = JsonDocument("cbor.diag");
    j["input"] = name;
    j["size"] = bytes.size();
    j["diagnostic"] = cbor::Diagnostic(*v);
    PrintJson(j);
    return Ok();
  }
  std::cout << cbor::Diagnostic(*v) << "\n";
  return Ok();
}

void Install(CLI::App& app, Context& ctx) {
  auto* cbor = app.add_subcommand("cbor", "CBOR tools (RFC 8949)");
  cbor->require_subcommand(1);
  auto opts = std::make_shared<DiagOptions>();
  auto* diag = cbor->add_subcommand(
      "diag", "Print a CBOR data item in diagnostic notation (RFC 8949 section 8)");
  diag->add_option("FILE", opts->input, "CBOR file, or - for standard input")->required();
  diag->add_flag("--hex", opts->hex, "The input is hex text (whitespace ignored), not binary");
  diag->add_option("--max-depth", opts->max_depth, "Maximum nesting depth")->capture_default_str();
  AddFormatOption(diag, opts->format);
  diag->callback([opts, &ctx] {
    auto st = RunDiag(*opts);
    ctx.exit_code = ExitFor(st, kPlainExit);
  });
}

Registrar reg("cbor", 40, Install);

}  // namespace
}  // namespace secprof::cli

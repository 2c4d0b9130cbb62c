// `secprof vendor serve`: the vendor's update service (secprof/vendor/update_service.h;
// docs/DOMAIN.md "SecProf_1: the vendor's update service"; docs/CLI.md).
//
//   secprof vendor serve --factory DIR --releases DIR [--listen ADDR:PORT] [--duration S]
//                        [--ready-file F]
#include <iostream>

#include "command.h"
#include "endpoint.h"
#include "secprof/vendor/update_service.h"
#include "secprof/voucher/voucher.h"
#include "serve.h"

namespace secprof::cli {
namespace {

struct VendorArgs {
  std::string factory, releases, listen = "127.0.0.1:0", ready_file;
  int64_t duration = 0;
};

Status Serve(const VendorArgs& a) {
  auto ep = ParseEndpoint("--listen", a.listen, {.min_ports = 0, .max_ports = 1});
  if (!ep) return Fail(ep.error());
  SECPROF_ASSIGN_OR_RETURN(voucher::Factory maker, voucher::Factory::Open(a.factory));
  vendor::ServiceOptions o;
  o.publish_dir = a.releases;
  o.vendor = maker.vendor();
  o.models = {maker.model()};
  o.signer = &maker.signer();
  o.address = ep->host;
  o.port = ep->ports.empty() ? 0 : ep->ports[0];
  SignalBlock signals;
  if (!signals.ok()) return Fail(ErrorCode::kIo, "cannot block SIGINT/SIGTERM");
  SECPROF_ASSIGN_OR_RETURN(auto service, vendor::UpdateService::Start(std::move(o)));
  const std::string who = "vendor " + maker.vendor();
  std::cout << who << ": serving updates of " << maker.model() << " on coap://"
            << FormatHostPort(ep->host, service->port()) << " from " << a.releases << " ("
            << service->releases().size() << " releases)" << std::endl;
  for (const auto& p : service->stats().problems) std::cout << who << ": " << p << std::endl;
  SECPROF_ASSIGN_OR_RETURN(ReadyFile ready, ReadyFile::Write(a.ready_file, service->port(), 0));
  Served served = ServeUntilSignal(signals, who, a.duration,
                                   [&](std::stop_token st) { return service->Serve(st); });
  const vendor::ServiceStats s = service->stats();
  std::cout << who << ": stopped; " << s.statements << " statements, " << s.manifests
            << " manifests, " << s.images << " images served, " << s.refused << " refused, "
            << s.alerts.size() << " alerts" << std::endl;
  for (const auto& alert : s.alerts) std::cout << who << ": alert " << alert << std::endl;
  if (!served.status) return Fail(served.status.error().WithContext("serve"));
  return Ok();
}

void Install(CLI::App& app, Context& ctx) {
  auto* v = app.add_subcommand(
      "vendor", "The vendor's side after manufacture: the update service SecProf_1 things poll");
  v->require_subcommand(1);
  auto a = std::make_shared<VendorArgs>();
  auto* serve = v->add_subcommand(
      "serve",
      "Serve the releases published in --releases (NAME.suit from `secprof fw sign --factory`, "
      "NAME.img its image) over plain CoAP, with a latest-release statement signed by the "
      "factory's vendor CA key; SecProf_1 things (thing init --update-server) verify both with "
      "their vendor trust anchor");
  serve->add_option("--factory", a->factory, "The `secprof manufacture` directory (its CA key)")
      ->required();
  serve->add_option("--releases", a->releases, "The directory of published releases")->required();
  serve->add_option("--listen", a->listen, "ADDR[:PORT] (numeric; port 0 = ephemeral)")
      ->capture_default_str();
  serve->add_option("--duration", a->duration, "Stop after S seconds (0 = until SIGINT/SIGTERM)")
      ->check(CLI::Range(int64_t{0}, int64_t{31536000}));
  serve->add_option("--ready-file", a->ready_file,
                    "Written once listening (\"udp=PORT\\ndtls=0\\n\"), removed on exit");
  serve->callback([a, &ctx] { ctx.exit_code = ExitFor(Serve(*a), kPlainExit); });
}

Registrar reg("vendor", 66, Install);

}  // namespace
}  // namespace secprof::cli

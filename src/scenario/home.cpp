// SecProf_1: the resurrecting duckling (docs/DOMAIN.md "SecProf_1: the duckling"): a mother pairs
// the others over plain CoAP, the domain key in the clear; link frames carry a MAC and a counter.
#include <filesystem>
#include <thread>

#include "internal.h"
#include "secprof/coap/coap.h"
#include "secprof/crypto/hash.h"
#include "secprof/domain/protocol.h"
#include "secprof/update/suit.h"
#include "secprof/vendor/update_service.h"
#include "secprof/voucher/voucher.h"

namespace secprof::scenario::internal {

namespace {

// The vendor's update service (docs/DOMAIN.md "SecProf_1: the vendor's update service"): the
// vendor publishes a fix (sequence 2, a 16 KiB image, signed with its CA key as `secprof fw sign
// --factory` does); thing `a`, told the service's address, checks once and installs it.
Status VendorUpdate(const RunOptions& o, const Fleet& fleet, thing::Agent& a, ProfileRun& run) {
  const auto t0 = Clk::now();
  SECPROF_ASSIGN_OR_RETURN(voucher::Factory maker, voucher::Factory::Open(fleet.factory_dir));
  const std::string releases = (o.dir / "vendor-releases").string();
  std::error_code ec;
  std::filesystem::create_directories(releases, ec);
  if (ec) return Fail(ErrorCode::kIo, "cannot create " + releases + ": " + ec.message());
  vendor::ServiceOptions vo;
  vo.publish_dir = releases;
  vo.vendor = maker.vendor();
  vo.models = {maker.model()};
  vo.signer = &maker.signer();
  SECPROF_ASSIGN_OR_RETURN(auto service, vendor::UpdateService::Start(std::move(vo)));
  std::jthread io([&service](std::stop_token st) { (void)service->Serve(st); });
  crypto::Bytes image(16 * 1024);
  for (size_t i = 0; i < image.size(); ++i) image[i] = static_cast<uint8_t>(i * 31 + 7);
  SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Digest digest, crypto::Sha256(image));
  update::CreateParams cp;
  cp.vendor_id = domain::FirmwareVendorId(maker.vendor());
  cp.class_id = domain::FirmwareClassId(maker.vendor(), maker.model());
  cp.sequence_number = a.RunningFirmware() + 1;
  SECPROF_ASSIGN_OR_RETURN(
      crypto::Bytes env,
      update::CreateEnvelopeWithSigner(
          update::Digest{update::kAlgSha256, crypto::Bytes(digest.begin(), digest.end())},
          image.size(), cp, maker.signer()));
  SECPROF_TRY(vendor::Publish(releases, "fix", env, image));
  SECPROF_TRY(a.SetUpdateServer("127.0.0.1", service->port()));
  SECPROF_ASSIGN_OR_RETURN(thing::Agent::UpdateOutcome u, a.CheckForUpdate());
  if (!u.installed)
    return Fail(ErrorCode::kVerifyFailed,
                "the vendor's fix was not installed: " + (u.detail.empty() ? u.alert : u.detail));
  const std::string said = a.state().serial + " " + u.detail + " from " + maker.vendor() +
                           "'s update service (vendor-signed SUIT envelope and latest-release "
                           "statement) in " +
                           std::to_string(static_cast<int>(Seconds(t0) * 1000)) +
                           " ms (from starting the service)";
  Say(o, run.profile, said);
  run.notes.push_back(said);
  return Ok();
}

}  // namespace

ProfileRun RunHome(const RunOptions& o) {
  ProfileRun run;
  run.profile = "SecProf_1";
  const int count = o.things;
  auto fleet = MakeFleet({o.dir, domain::Profile::kSecProf1, "HomeCo", count, o.tokens});
  if (!fleet) {
    run.failures.push_back("manufacture: " + fleet.error().message());
    return run;
  }
  run.things = count;
  Say(o, run.profile, "manufactured " + std::to_string(count) + " things");
  auto& f = fleet->things;
  Step(run, "mother", f[0]->BecomeMother());
  auto t0 = Clk::now();
  for (size_t i = 1; i < f.size(); ++i) {
    auto srv = RunningThingServer::Start(*f[i], {});
    if (!srv) {
      run.failures.push_back(srv.error().message());
      continue;
    }
    auto cl = coap::Client::Connect("127.0.0.1", (*srv)->server->udp_port(), {});
    auto imprint = f[0]->MakeImprint();
    if (!cl || !imprint) {
      run.failures.push_back("pairing: cannot reach " + f[i]->state().serial);
      continue;
    }
    auto r =
        (*cl)->Post(domain::path::kPair, domain::Encode(*imprint), coap::content_format::kCbor);
    if (!r || r->code != coap::kChanged) run.failures.push_back("pairing " + f[i]->state().serial);
    // Operational traffic: a link frame from the mother (MAC + counter, no encryption).
    auto frame =
        f[0]->SealLinkFrame(domain::Encode(domain::Reading{f[0]->state().serial, 2150, 1}));
    if (frame) {
      auto l = (*cl)->Post(domain::path::kLink, *frame);
      if (!l || l->code != coap::kChanged)
        run.failures.push_back("link frame " + f[i]->state().serial);
      auto replay = (*cl)->Post(domain::path::kLink, *frame);
      if (replay && replay->code == coap::kChanged) run.failures.push_back("link replay accepted");
    }
  }
  run.join_seconds = Seconds(t0);
  for (const auto& a : f) run.joined += a->state().state == thing::State::kCommissioned;
  Say(o, run.profile,
      "paired " + std::to_string(run.joined - 1) + " things with the mother " +
          "(domain key handed over IN THE CLEAR)");
  for (auto& a : f) Step(run, "operational " + a->state().serial, a->GoOperational());
  if (f.size() > 1) Step(run, "vendor update", VendorUpdate(o, *fleet, *f[1], run));
  // Decommissioning a duckling is its death: a factory reset.
  Step(run, "decommission", f.back()->Decommission(false));
  run.notes.push_back(
      "the draft's home profile: anyone on the link during pairing learns the "
      "domain key; link frames have integrity and freshness, no confidentiality");
  Count(run, f);
  return run;
}

}  // namespace secprof::scenario::internal

namespace secprof::scenario {

ProfileRun RunProfile(domain::Profile p, const RunOptions& o) {
  if (p == domain::Profile::kSecProf1) return internal::RunHome(o);
  return internal::RunManaged(p, o);
}

}  // namespace secprof::scenario

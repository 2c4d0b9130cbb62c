// SecProf_1: the resurrecting duckling (docs/DOMAIN.md "SecProf_1: the duckling"): a mother pairs
// the others over plain CoAP, the domain key in the clear; link frames carry a MAC and a counter.
#include "internal.h"
#include "secprof/coap/coap.h"
#include "secprof/domain/protocol.h"

namespace secprof::scenario::internal {

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

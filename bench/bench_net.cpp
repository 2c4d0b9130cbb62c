// bench_net — the emulated network's speed goal (issue 15): 1,000 nodes x one hour of network
// time in under 60 s of wall time on the 2-core machine. Runs secprof::net::Simulate on a grid
// of N nodes for D seconds of network time (SecProf_1: every frame sealed and opened with
// AES-CCM*) and prints the wall time, this process's CPU time, the ratio wall / 60 s (the goal
// is a ratio below 1), events per second and the run's PDR (a sanity check that the network did
// its work, not a speed figure).
//
//   bench_net [--nodes N] [--duration S] [--seed S] [--profile P] [--topology grid|random]
//
// A small driver rather than Google Benchmark: one run is the figure, and it takes seconds.
// The machine line comes first (load included: the figure is wall time on a shared machine).
// Results: docs/PERFORMANCE.md "Emulated network" and docs/NETWORK.md "Speed".
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench_util.h"
#include "secprof/crypto/random.h"
#include "secprof/net/simulate.h"

int main(int argc, char** argv) {
  using namespace secprof;
  net::SimulationOptions o;
  o.nodes = 1000;
  o.duration_s = 3600;
  o.data_start_s = 120;
  o.data_interval_s = 60;
  std::string topology = "grid";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const char* v = argv[i + 1];
    if (a == "--nodes") {
      o.nodes = std::strtoull(v, nullptr, 10);
    } else if (a == "--duration") {
      o.duration_s = std::strtod(v, nullptr);
    } else if (a == "--seed") {
      o.seed = std::strtoull(v, nullptr, 10);
    } else if (a == "--profile") {
      o.profile = v;
    } else if (a == "--topology") {
      topology = v;
    } else {
      std::fprintf(stderr, "bench_net: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  auto t = net::ParseTopology(topology);
  if (!t) {
    std::fprintf(stderr, "bench_net: %s\n", t.error().ToString().c_str());
    return 2;
  }
  o.topology = *t;
  bench::PrintMachine();
  const double cpu0 = bench::ProcessCpuSeconds();
  const auto start = bench::Steady::now();
  auto r = net::Simulate(o, crypto::SystemRandomSource());
  const double wall = bench::Seconds(bench::Steady::now() - start);
  const double cpu = bench::ProcessCpuSeconds() - cpu0;
  if (!r) {
    std::fprintf(stderr, "bench_net: %s\n", r.error().ToString().c_str());
    return 1;
  }
  std::printf("net: %zu nodes (%s), %.0f s of network time, profile %s\n", o.nodes,
              topology.c_str(), o.duration_s, o.profile.c_str());
  std::printf("wall %.2f s, cpu %.2f s, vs limit 60 s: %.3f (goal < 1)\n", wall, cpu, wall / 60.0);
  std::printf("events %llu (%.0f per wall second), frames %llu, PDR %.3f, formed at %s s\n",
              static_cast<unsigned long long>(r->events), r->events / wall,
              static_cast<unsigned long long>(r->control_frames + r->data_frames), r->pdr,
              r->formation_time_s ? std::to_string(*r->formation_time_s).c_str() : "never");
  return 0;
}

#!/usr/bin/env bash
# Runs the benchmarks against BUILD_DIR and prints their figures with the machine they ran on.
# `make bench` calls it. Figures and their reading go into docs/PERFORMANCE.md by hand.
set -euo pipefail
build=${1:?build dir}
root=$(cd "$(dirname "$0")/.." && pwd)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "openssl: $(openssl version)"
if [ -x "$build/bench/bench_assess" ]; then
  echo "== assess (generated models; one process per size)"
  for n in 1000 10000 100000; do
    "$build/bench/bench_assess" --things "$n" --per-kind 100 --repeat 3   # a fleet: kinds x count
    "$build/bench/bench_assess" --things "$n" --per-kind 1 --repeat 3     # stress: one entry per thing
  done
fi
if [ -x "$root/scripts/bench-crypto.sh" ] && [ -x "$build/bench/bench_crypto" ]; then
  echo "== crypto (ours against openssl speed and raw EVP)"
  BENCH_CRYPTO="$build/bench/bench_crypto" "$root/scripts/bench-crypto.sh"
fi
if [ -x "$build/bench/bench_manufacture" ]; then
  echo "== manufacture"
  "$build/bench/bench_manufacture"
fi
if [ -x "$build/bench/bench_join" ]; then
  echo "== domain: joins and sessions (KDC child process, thing agents on threads)"
  "$build/bench/bench_join"   # SecProf_2/3, registry on disk and tmpfs, 8 and 32 agents; 5-8 min
fi
if [ -x "$build/bench/bench_under_attack" ]; then
  echo "== availability: genuine joins and reports under a 10x flood (KDC child process)"
  "$build/bench/bench_under_attack" --things 20 --rate 10 --seconds 30 --factor 10 --sources 32
fi
if [ -x "$build/bench/bench_fleet_update" ]; then
  echo "== maintenance: updating a fleet over loopback (KDC campaign, block-wise fetch, A/B install)"
  "$build/bench/bench_fleet_update" --things 100 --image-kib 256 --threads 8
  "$build/bench/bench_fleet_update" --things 100 --image-kib 256 --threads 1
fi

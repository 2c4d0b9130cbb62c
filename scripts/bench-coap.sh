#!/usr/bin/env bash
# scripts/bench-coap.sh — runs bench_coap (DTLS-PSK CoAP GETs against our coap::Server and
# libcoap's coap-server-openssl in the same run; memory per DTLS session at our server) and prints
# the machine it ran on. Figures go into docs/PERFORMANCE.md, section "CoAP / DTLS", by hand.
#
#   scripts/bench-coap.sh                         # bench from build-coap/
#   BENCH_COAP=path/to/bench_coap scripts/bench-coap.sh --rounds 5 --seconds 3
#
# Extra arguments are passed to bench_coap (--sizes, --seconds, --rounds, --clients, --sessions).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bench="${BENCH_COAP:-$root/build-coap/bench/bench_coap}"
if [[ ! -x "$bench" ]]; then
  echo "bench-coap: $bench not found; build it first:" >&2
  echo "  cmake --build build-coap --target bench_coap -j2   (or set BENCH_COAP)" >&2
  exit 2
fi
command -v coap-server-openssl >/dev/null || {
  echo "bench-coap: coap-server-openssl not found (Debian package libcoap3-bin)" >&2
  exit 2
}
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "openssl: $(openssl version); libcoap: $(dpkg-query -W -f '${Version}' libcoap3 2>/dev/null || echo '?')"
"$bench" "$@"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

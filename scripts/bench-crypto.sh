#!/usr/bin/env bash
# scripts/bench-crypto.sh — secprof::crypto against raw OpenSSL, in one run.
#
# Runs bench_crypto (Google Benchmark: our wrappers, plus in-process raw EVP drivers) and then
# `openssl speed` for the same primitives, and prints for each: our rate, the raw EVP rate, the
# `openssl speed` rate, and the ratios. Rates use CPU time (Google Benchmark's items_per_second;
# `openssl speed` divides by CPU user time by default), which is less sensitive to other load on
# a shared machine than wall time.
#
#   scripts/bench-crypto.sh                       # bench from build-crypto/, 3 s per speed test
#   BENCH_CRYPTO=path/to/bench_crypto SPEED_SECONDS=5 MIN_TIME=3 scripts/bench-crypto.sh
#
# `openssl speed -evp aes-128-ccm` (OpenSSL 3.0) times only length + payload updates on a keyed
# context with a 12-byte nonce and 16-byte tag (no nonce reset, no AAD, no tag read), so it is a
# lower bound on per-message work; the RawAesCcm* drivers in bench_crypto do the full per-message
# EVP sequence for AES-CCM-16-64-128 and are the like-for-like reference.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
bench="${BENCH_CRYPTO:-$root/build-crypto/bench/bench_crypto}"
secs="${SPEED_SECONDS:-3}"
min_time="${MIN_TIME:-2}"
if [[ ! -x "$bench" ]]; then
  echo "bench-crypto: $bench not found; build it first:" >&2
  echo "  cmake --build build-crypto --target bench_crypto -j2   (or set BENCH_CRYPTO)" >&2
  exit 2
fi
command -v openssl >/dev/null || { echo "bench-crypto: openssl not found" >&2; exit 2; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "openssl: $(openssl version)"
echo "running bench_crypto (min_time ${min_time}s) ..."
"$bench" --benchmark_format=json --benchmark_min_time="$min_time" >"$tmp/bench.json" 2>/dev/null
echo "running openssl speed (${secs}s per test) ..."
openssl speed -mr -seconds "$secs" ecdsap256 ed25519 ecdhp256 ecdhx25519 >"$tmp/pk.txt" 2>/dev/null
openssl speed -mr -seconds "$secs" -bytes 64 -evp aes-128-ccm >"$tmp/ccm_enc.txt" 2>/dev/null
openssl speed -mr -seconds "$secs" -bytes 64 -decrypt -evp aes-128-ccm >"$tmp/ccm_dec.txt" 2>/dev/null
openssl speed -mr -seconds "$secs" -bytes 1048576 -evp sha256 >"$tmp/sha.txt" 2>/dev/null

python3 - "$tmp" <<'PY'
import json, sys, os
tmp = sys.argv[1]
bench = {b["name"]: b for b in json.load(open(os.path.join(tmp, "bench.json")))["benchmarks"]}

def ours(name, key="items_per_second"):
    b = bench.get(name)
    return b.get(key) if b else None

speed = {}
for line in open(os.path.join(tmp, "pk.txt")):
    f = line.strip().split(":")
    if f[0] == "+F4" and f[2] == "256":          # ECDSA: +F4:idx:bits:sign/s:verify/s
        speed["ecdsa_sign"], speed["ecdsa_verify"] = float(f[3]), float(f[4])
    elif f[0] == "+F5" and f[2] == "256":        # ECDH P-256: +F5:idx:bits:ops/s:time
        speed["ecdh_p256"] = float(f[3])
    elif f[0] == "+F5" and f[2] == "253":        # X25519
        speed["ecdh_x25519"] = float(f[3])
    elif f[0] == "+F6" and f[3] == "Ed25519":    # EdDSA: +F6:idx:bits:name:sign/s:verify/s
        speed["ed_sign"], speed["ed_verify"] = float(f[4]), float(f[5])
def cipher_rate(fname, block):
    for line in open(os.path.join(tmp, fname)):
        f = line.strip().split(":")
        if f[0] == "+F":                          # +F:idx:name:bytes/s
            return float(f[3]) / block
    return None
speed["ccm_seal"] = cipher_rate("ccm_enc.txt", 64)
speed["ccm_open"] = cipher_rate("ccm_dec.txt", 64)
sha = cipher_rate("sha.txt", 1)
speed["sha"] = sha

rows = [
  ("ECDSA P-256 sign (64 B msg)", ours("BM_EcdsaP256Sign"), ours("RawEcdsaP256Sign"), speed.get("ecdsa_sign"), "op/s"),
  ("ECDSA P-256 verify", ours("BM_EcdsaP256Verify"), ours("RawEcdsaP256Verify"), speed.get("ecdsa_verify"), "op/s"),
  ("Ed25519 sign (64 B msg)", ours("BM_Ed25519Sign"), ours("RawEd25519Sign"), speed.get("ed_sign"), "op/s"),
  ("Ed25519 verify", ours("BM_Ed25519Verify"), ours("RawEd25519Verify"), speed.get("ed_verify"), "op/s"),
  ("ECDH P-256", ours("BM_EcdhP256"), ours("RawEcdh/P256"), speed.get("ecdh_p256"), "op/s"),
  ("ECDH X25519", ours("BM_EcdhX25519"), ours("RawEcdh/X25519"), speed.get("ecdh_x25519"), "op/s"),
  ("AES-CCM-16-64-128 seal 64 B, AeadKey::SealInto", ours("BM_AesCcm16_64_128_SealInto_Keyed"), ours("RawAesCcmSeal"), speed.get("ccm_seal"), "op/s"),
  ("AES-CCM-16-64-128 seal 64 B, AeadKey::Seal", ours("BM_AesCcm16_64_128_Seal_Keyed"), ours("RawAesCcmSeal"), speed.get("ccm_seal"), "op/s"),
  ("AES-CCM-16-64-128 seal 64 B, Aead::Seal (keys each call)", ours("BM_AesCcm16_64_128_Seal_Stateless"), ours("RawAesCcmSeal"), speed.get("ccm_seal"), "op/s"),
  ("AES-CCM-16-64-128 open 64 B, AeadKey::OpenInto", ours("BM_AesCcm16_64_128_OpenInto_Keyed"), ours("RawAesCcmOpen"), speed.get("ccm_open"), "op/s"),
  ("AES-CCM-16-64-128 open 64 B, AeadKey::Open", ours("BM_AesCcm16_64_128_Open_Keyed"), ours("RawAesCcmOpen"), speed.get("ccm_open"), "op/s"),
  ("AES-CCM-16-64-128 open 64 B, Aead::Open (keys each call)", ours("BM_AesCcm16_64_128_Open_Stateless"), ours("RawAesCcmOpen"), speed.get("ccm_open"), "op/s"),
  ("SHA-256, 16 MiB buffer (MB/s)", (ours("BM_Sha256/16777216", "bytes_per_second") or 0) / 1e6, (ours("RawSha256/16777216", "bytes_per_second") or 0) / 1e6, (sha or 0) / 1e6, "MB/s"),
  ("SHA-256, 64 MiB incremental (MB/s)", (ours("BM_Sha256Incremental64MiB", "bytes_per_second") or 0) / 1e6, (ours("RawSha256/16777216", "bytes_per_second") or 0) / 1e6, (sha or 0) / 1e6, "MB/s"),
]
def fmt(x): return "-" if not x else (f"{x:,.0f}")
def ratio(a, b): return "-" if not a or not b else f"{a / b:.3f}"
print()
print(f"{'primitive':58} {'ours':>12} {'raw EVP':>12} {'openssl speed':>14} {'ours/raw':>9} {'ours/speed':>11}")
for name, o, r, s, unit in rows:
    print(f"{name:58} {fmt(o):>12} {fmt(r):>12} {fmt(s):>14} {ratio(o, r):>9} {ratio(o, s):>11}")
print()
print("ratio 1.000 = no overhead; goal: >= 0.900 (within 10 %) for signatures and AEAD on 64-byte messages")
PY

#!/usr/bin/env bash
# Runs every fuzz_* binary in BUILD_DIR for SECONDS each, seeded from fuzz/corpus/<name>/ when present.
# Exits non-zero on the first crash, leak or timeout.
set -euo pipefail
build=${1:?build dir}; secs=${2:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
for bin in "$build"/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  work=$(mktemp -d)
  seeds=()
  [ -d "$root/fuzz/corpus/$name" ] && seeds+=("$root/fuzz/corpus/$name")
  opts=()
  [ -f "$root/fuzz/$name.dict" ] && opts+=("-dict=$root/fuzz/$name.dict")
  echo "fuzz: $name for ${secs}s"
  if ! "$bin" "${opts[@]}" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$work/" \
       "$work" "${seeds[@]}" > "$work/log" 2>&1; then
    tail -40 "$work/log"; echo "fuzz: $name FAILED (artifacts in $work)"; status=1
  else
    grep -E '^#[0-9]+.*(DONE|pulse)' "$work/log" | tail -1 || true
    rm -rf "$work"
  fi
done
exit $status

#!/usr/bin/env bash
# Installs the Debian 12 packages secprof builds, tests and runs with, when any is missing.
# Uses sudo when not root. Safe to run repeatedly: it does nothing when everything is present.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libssl-dev openssl              # all cryptography and X.509 (OpenSSL 3)
  libcoap3-dev libcoap3-bin       # CoAP / DTLS (OpenSSL backend) and reference peers
  libcbor-dev                     # CBOR
  libsqlite3-dev sqlite3          # registries
  libpq-dev                       # the registry's PostgreSQL backend (libpq 15)
  postgresql-15                   # server binaries only: tests run their own (initdb + pg_ctl)
  libyaml-dev libyaml-cpp-dev     # catalog and model files (libyaml); yaml-cpp for bench_assess's floor
  nlohmann-json3-dev              # JSON output and test vectors
  libcli11-dev                    # command line
  libspdlog-dev libfmt-dev        # logs
  libexpected-dev                 # Result<T>
  libgtest-dev libgmock-dev libbenchmark-dev
  softhsm2 libsofthsm2 opensc     # PKCS#11 token for non-extractable keys (tests use a throw-away token)
  libp11-kit-dev                  # the PKCS#11 header (p11-kit/pkcs11.h) the keystore compiles against
  libengine-pkcs11-openssl        # OpenSSL pkcs11 engine: libcoap DTLS with a token-held key (COAP_PKI_KEY_PKCS11)
  clang libclang-rt-14-dev        # libFuzzer targets
  clang-format
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# postgresql-15 would create and start a system cluster (15/main); the tests start their own
# server in a temporary directory, so tell postgresql-common not to create one.
if [[ " ${missing[*]} " == *" postgresql-15 "* ]] && [ ! -e /etc/postgresql-common/createcluster.conf ]; then
  $SUDO mkdir -p /etc/postgresql-common
  echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.conf >/dev/null
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

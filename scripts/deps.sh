#!/usr/bin/env bash
# Installs the Debian packages paymesh needs to build, test and run, when any
# is missing. Idempotent: prints nothing and exits 0 when all are present.
#
#   scripts/deps.sh [PACKAGE...]   the build packages, and PACKAGE... too
#   scripts/deps.sh --browser      what the browser tests need (tests/browser/):
#                                  Debian's chromium (/usr/bin/chromium), Node.js
#                                  and npm when there is none, and node_modules
#                                  from package-lock.json (npm ci) when it is
#                                  missing or older than the lock. playwright-core
#                                  downloads no browser; nothing else is fetched.
#   scripts/deps.sh --compose      what the compose check of `make test` needs
#                                  (scripts/compose_check.sh): Debian's
#                                  docker-compose (1.29; no Docker engine).
#                                  Neither `make` nor `make run` needs it.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

if [ "${1:-}" = --browser ]; then
  missing=()
  installed chromium || [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "paymesh: installing missing packages: ${missing[*]}" >&2
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  # npm ci leaves node_modules/.package-lock.json; a newer lock means the
  # pinned versions changed since.
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "paymesh: npm ci (tests/browser dependencies from package-lock.json)" >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
  fi
  exit 0
fi

if [ "${1:-}" = --compose ]; then
  if ! installed docker-compose && ! command -v docker-compose >/dev/null 2>&1; then
    echo "paymesh: installing missing packages: docker-compose" >&2
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends docker-compose
  fi
  exit 0
fi

pkgs=(build-essential pkg-config libzmq3-dev libczmq-dev libmsgpack-dev liblmdb-dev
      libmicrohttpd-dev libjson-c-dev libcurl4-openssl-dev libcmocka-dev
      libsodium-dev uuid-dev curl jq "$@")
missing=()
for p in "${pkgs[@]}"; do
  installed "$p" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "paymesh: installing missing packages: ${missing[*]}" >&2
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

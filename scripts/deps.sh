#!/usr/bin/env bash
# Installs the Debian packages paymesh needs to build, test and run, when any
# is missing. Idempotent: prints nothing and exits 0 when all are present.
set -euo pipefail
pkgs=(build-essential pkg-config libzmq3-dev libczmq-dev libmsgpack-dev liblmdb-dev
      libmicrohttpd-dev libjson-c-dev libcurl4-openssl-dev libcmocka-dev
      libsodium-dev uuid-dev curl jq "$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "paymesh: installing missing packages: ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/bin/sh
# Install the Debian packages the build, the tests and the benchmarks need, and only those
# that are missing, so `make test` on a machine that has them all costs one dpkg query.
set -eu

PKGS="gcc make pkg-config libleveldb-dev libsnappy-dev libsecp256k1-dev libsodium-dev
libnng-dev libssl-dev libjansson-dev libcmocka-dev libcsv-dev openssl curl jq wrk valgrind"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null

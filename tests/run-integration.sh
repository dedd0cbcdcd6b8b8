#!/bin/sh
# Runs every integration test (tests/integration/*.sh) against the binaries in $BIN and the
# test tools (loadgen, evilpeer) in $TOOLS. Each test prints TAP; a test fails if it exits
# non-zero. Set ONLY=name to run one test.
#
#   BIN=$PWD/bin sh tests/run-integration.sh                       (after make all)
#   IT_PORT_BASE=20000 BIN=$PWD/bin ONLY=flow sh tests/run-integration.sh
#
# TOOLS defaults to the tools of the tree BIN belongs to: $BIN/../build/tools for bin/,
# $BIN/../tools for a BUILD tree's bin (build-asan/bin); `make integration` builds them.
set -u
: "${BIN:?BIN must name the directory holding idledgerd and idledger}"
if [ -z "${TOOLS:-}" ]; then
    if [ -d "$BIN/../tools" ]; then TOOLS=$BIN/../tools; else TOOLS=$BIN/../build/tools; fi
fi
for tool in loadgen evilpeer; do
    if [ ! -x "$TOOLS/$tool" ]; then
        echo "run-integration: no $tool in TOOLS=$TOOLS: build the tools (make integration," \
            "or make build/tools/loadgen build/tools/evilpeer) or set TOOLS" >&2
        exit 2
    fi
done
export BIN TOOLS
dir=$(dirname "$0")/integration
failed=0
for t in "$dir"/*.sh; do
    [ -e "$t" ] || continue
    name=$(basename "$t" .sh)
    case "$name" in lib) continue ;; esac
    if [ -n "${ONLY:-}" ] && [ "$ONLY" != "$name" ]; then continue; fi
    echo "# integration: $name"
    if ! sh "$t"; then
        echo "FAIL: integration $name" >&2
        failed=1
    fi
done
exit $failed

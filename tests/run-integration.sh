#!/bin/sh
# Runs every integration test (tests/integration/*.sh) against the binaries in $BIN. Each
# test prints TAP; a test fails if it exits non-zero. Set ONLY=name to run one test.
set -u
: "${BIN:?BIN must name the directory holding idledgerd and idledger}"
export BIN
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

#!/bin/sh
# DEMONSTRATION, NOT A TEST OF THE BUILD (`make sim-broken`; not part of `make test`).
#
# Shows that the simulator's checker catches a consensus that is unsafe: it copies
# consensus/ to a temporary directory, weakens the quorum of consensus/core.c from "more
# than two thirds" (3 * p > 2 * total) to "more than half" (2 * p > total), builds the
# simulator against that copy (the repository is not touched), and runs seeds with seven
# validators, two of them Byzantine equivocators (proposals and votes, prevotes included).
# The stored certificates are not checked (--no-cert-check), or ledger_commit_verify's own
# two-thirds rule would report every weak certificate before the fork happens: the point is
# to see two honest nodes commit different blocks at one height.
#
# Exit status: 0 if the checker fired with a safety rule (the demonstration worked),
# 1 if the broken build passed every seed (the checker missed it), 2 on a setup error.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SEEDS=${SEEDS:-200}
CC=${CC:-cc}
LIBS="-lleveldb -lsecp256k1 -lsodium -lnng -lcrypto -ljansson -lpthread -lcsv"

make --no-print-directory "$BUILD/libidledger.a" >/dev/null
tmp=$(mktemp -d /tmp/idl-broken-quorum.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp/consensus" "$tmp/obj"
cp consensus/*.c consensus/*.h "$tmp/consensus/"

if ! grep -q '3 \* p > 2 \* c->total' "$tmp/consensus/core.c"; then
    echo "broken_quorum: the two-thirds test was not found in consensus/core.c" >&2
    exit 2
fi
sed -i 's/3 \* p > 2 \* c->total/2 * p > c->total/' "$tmp/consensus/core.c"
echo "broken_quorum: consensus/core.c with the quorum weakened (temporary copy):"
grep -n '2 \* p > c->total' "$tmp/consensus/core.c" | sed 's/^/    /'

FLAGS="-std=c11 -O2 -g -D_DEFAULT_SOURCE -D_XOPEN_SOURCE=700 -I$tmp -I. -Iledger"
for f in "$tmp"/consensus/*.c tests/sim/*.c; do
    "$CC" $FLAGS -c "$f" -o "$tmp/obj/$(basename "$f" .c).o"
done
# The patched consensus objects come first, so the library's own are never pulled in.
"$CC" -o "$tmp/sim" "$tmp"/obj/*.o "$BUILD/libidledger.a" $LIBS

OPTS="--n 7 --byz 2 --equivocate --no-cert-check"
echo "broken_quorum: running seeds 1..$SEEDS with $OPTS until the checker fires"
# The weakened build also stalls (laggards refuse its weak certificates when they sync), so
# liveness failures are expected along the way; the demonstration wants a safety one.
seed=1
while [ "$seed" -le "$SEEDS" ]; do
    if ! "$tmp/sim" --seed "$seed" $OPTS >"$tmp/out" 2>&1; then
        if grep -q 'rule=\(agreement\|state\|double-sign\)' "$tmp/out"; then
            sed -n '/^sim: seed=/p; /^FAIL/,$p' "$tmp/out" |
                grep -v '^    [ 0-9]* \(deliver\|timer\|tick\|submit\|resubmit\|replay\)'
            echo "broken_quorum: OK: the checker caught the weakened quorum at seed $seed"
            exit 0
        fi
        echo "broken_quorum: seed $seed: $(grep -o 'rule=[a-z-]*' "$tmp/out" | head -1) (not a safety rule; going on)"
    fi
    seed=$((seed + 1))
done
echo "broken_quorum: FAILED: no safety violation in $SEEDS seeds with the weakened quorum" >&2
exit 1

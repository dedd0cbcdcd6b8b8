#!/bin/sh
# sync_serve.sh: a node does not pile up block-sync replies for a peer that does not read
# them.
#
# One validator whose chain carries a thousand transactions, so that each reply to "send me
# the chain from block 1" is over half a MiB. A peer (tests/tools/evilpeer, mode hog)
# runs the real p2p handshake on a plain socket, then asks for the whole chain ten times a
# second (half what node/bft.c lets one peer ask, SERVE_REQS_PER_S) and reads nothing; only
# at the end does it read what the node queued for it. node/bft.c answers a peer only while
# at most SERVE_QUEUED_MAX (4 MiB) waits unsent to it: about 4 MiB of replies (plus what the
# kernel's socket buffers hold) reach the peer, where without that gate every request is
# answered and the replies pile up in the node's memory. Meanwhile the node commits.
#
# The other half of the gate (all peers' queues together past 256 MiB) is not tested here:
# reaching it takes dozens of such peers and hundreds of MiB.
. "$(dirname "$0")/lib.sh"

PORT=$((${IT_PORT_BASE:-18000} + 1000))
: "${TOOLS:?TOOLS must name the directory holding evilpeer and loadgen}"
EVIL="$TOOLS/evilpeer"
[ -x "$EVIL" ] || bail "no evilpeer in $TOOLS"
port_free $((PORT + 2)) || bail "port $((PORT + 2)) is in use; set IT_PORT_BASE elsewhere"

net_up "$T/net" "$PORT"

# metric NAME: its value in the node's /metrics.
metric() {
    curl -s -m 10 "$API/metrics" | awk -v s="$1" '$1 == s { print $2 }'
}

# ---------------------------------------------------------------- a chain worth asking for

"$TOOLS/loadgen" gen --node "$API" --token-file "$NODE_HOME/api-token" --admins "$NET/admins" \
    --passphrase-file "$NET/passphrase" --count 1000 --out "$T/txs.bin" >"$T/gen.out" 2>&1 ||
    diag_file "$T/gen.out" "loadgen gen"
"$TOOLS/loadgen" submit --node "$API" --in "$T/txs.bin" >"$T/submit.out" 2>&1 ||
    diag_file "$T/submit.out" "loadgen submit"
COMMITTED='idledger_block_txs_total{result="committed"}'
i=0
while [ $i -lt 600 ] && ! [ "$(metric "$COMMITTED")" -ge 1000 ] 2>/dev/null; do
    sleep 0.1
    i=$((i + 1))
done
check "1000 transactions are committed" [ "$(metric "$COMMITTED")" -ge 1000 ]
H=$(height)

# ---------------------------------------------------------------- a peer that does not read

SECONDS_ASKING=8
"$EVIL" --genesis "$NET/genesis.json" --honest "127.0.0.1:$((PORT + 1))" \
    --victim "127.0.0.1:$((PORT + 1))" --listen "127.0.0.1:$((PORT + 2))" --mode hog \
    --seconds "$SECONDS_ASKING" >"$T/hog.out" 2>&1 &
HOG=$!
track_pid "$HOG"
i=0
while [ $i -lt 200 ] && ! grep -q 'reading nothing' "$T/hog.out" && alive "$HOG"; do
    sleep 0.1
    i=$((i + 1))
done
like "$(cat "$T/hog.out")" 'linked to .*, reading nothing' "evilpeer linked to the node (handshake done)"
expect_exit 0 "a transaction commits while the peer does not read" \
    sign "$ROOT_SYS" --json --timeout 20 account add --id biz-1 --org 440000 \
    --class business --name 王芳 --id-number "$(idnum 44010620010101001)"
rc=0
wait "$HOG" || rc=$?
untrack_pid "$HOG"
is "$rc" 0 "evilpeer ran to its end"
REPLY=$(sed -n 's/.*answered \([0-9]*\) of \([0-9]*\) sync requests, \([0-9]*\) bytes.*/\1 \2 \3/p' \
    "$T/hog.out")
# shellcheck disable=SC2086 # one word each
set -- $REPLY
ANSWERED=${1:-0} ASKED=${2:-0} BYTES=${3:-0}
diag "answered $ANSWERED of $ASKED requests, $BYTES bytes of replies, chain height $H"
is "$ASKED" $((SECONDS_ASKING * 10)) "the peer asked $((SECONDS_ASKING * 10)) times"
if [ "$ANSWERED" -ge 1 ]; then
    # Replies are alike. What may reach the peer: the gate's 4 MiB and the one reply that
    # passed it last, the node's socket send buffer (at most tcp_wmem's maximum), and 1 MiB
    # for our receive buffer and rounding.
    PER=$((BYTES / ANSWERED))
    WMEM=$(awk '{ print $3 }' /proc/sys/net/ipv4/tcp_wmem 2>/dev/null)
    BOUND=$(((4 + 1) * 1048576 + ${WMEM:-4194304} + PER))
    check "the requests asked for $((ASKED * PER / 1048576)) MiB of replies, thrice the bound of $((BOUND / 1048576)) MiB or more" \
        [ $((ASKED * PER)) -ge $((3 * BOUND)) ]
    check "only $((BYTES / 1048576)) MiB of replies were queued for it" [ "$BYTES" -le "$BOUND" ]
    check "only $ANSWERED of its $ASKED requests were answered" [ "$ANSWERED" -lt "$ASKED" ]
else
    fail "the peer got replies"
    diag_file "$T/hog.out" "evilpeer"
fi
check "the node still serves" [ "$(height)" -ge $((H + 1)) ]
expect_exit 0 "node stops cleanly" node_stop

done_testing

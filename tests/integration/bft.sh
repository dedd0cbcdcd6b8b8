#!/bin/sh
# bft.sh: four validators and three replicas as real processes on loopback.
#
#   - transactions sent to each validator and to a replica commit, and every node
#     reports the same block hash at every height;
#   - one validator killed (kill -9): commits go on; a second killed: nothing commits
#     (the CLI gives up with exit 3); one restarted: the waiting transaction commits;
#     the other restarted: it catches up to the same chain;
#   - a transaction behind a nonce gap makes no block until the gap is filled, and a nonce
#     far beyond the pooled ones is refused;
#   - with every validator down, a transaction submitted to a replica commits once they
#     are back (the replica gossips its pool again on each link that comes up);
#   - a peer holding validator 3's key prevotes in its name against validator 3's own
#     prevote (tests/tools/evilpeer, mode equivocate): validator 0 counts it in /metrics
#     (idledger_consensus_equivocations_total) and logs it, and the network commits on;
#   - a peer that claims a far tip and never answers does not keep a replica "catching
#     up"; a burst of sync requests from one peer gets only a few answers;
#   - a replica started late syncs from genesis and answers verify, while a lying peer
#     (tests/tools/evilpeer) claims a far tip and serves it blocks with a forged
#     certificate; a second late replica gets blocks whose hash no longer matches the
#     certificate. Both refuse them, mark the peer, and sync from the honest nodes; the liar
#     reconnects under the same key and is never asked again.
#
# Nodes 0-3 are validators, 4 is a replica from the start, 5 and 6 start late.
. "$(dirname "$0")/lib.sh"

PORT=$((${IT_PORT_BASE:-18000} + 700))
NET="$T/net"
: "${TOOLS:?TOOLS must name the directory holding evilpeer}"
EVIL="$TOOLS/evilpeer"
[ -x "$EVIL" ] || bail "no evilpeer in $TOOLS"

for p in $(seq "$PORT" $((PORT + 18))); do
    port_free "$p" || bail "port $p is in use; set IT_PORT_BASE elsewhere"
done
"$IDL" testnet --dir "$NET" --validators 4 --replicas 3 --base-port "$PORT" \
    >"$T/testnet.out" 2>&1 || {
    diag_file "$T/testnet.out"
    bail "idledger testnet failed"
}
IDLEDGER_PASSPHRASE=$(cat "$NET/passphrase")
export IDLEDGER_PASSPHRASE
unset IDLEDGER_KEY 2>/dev/null || true

# ---------------------------------------------------------------- nodes

api_of() { echo "http://127.0.0.1:$((PORT + 2 * $1))"; }
p2p_of() { echo "127.0.0.1:$((PORT + 2 * $1 + 1))"; }

# on K: the CLI's environment points at node K (its address and API token).
on() {
    IDLEDGER_NODE=$(api_of "$1")
    IDLEDGER_API_TOKEN=$(cat "$NET/node$1/api-token")
    API=$IDLEDGER_NODE
    export IDLEDGER_NODE IDLEDGER_API_TOKEN
}

# start K: starts node K and waits until it answers /v1/status.
start() {
    "$IDLD" --home "$NET/node$1" >>"$NET/node$1.log" 2>&1 </dev/null &
    eval "PID_$1=$!"
    track_pid "$!"
    _i=0
    while [ $_i -lt 100 ]; do
        alive "$(eval echo "\$PID_$1")" || {
            diag_file "$NET/node$1.log" "node $1 log"
            return 1
        }
        # (jq 1.6 -e exits 0 on empty input: test the printed value instead)
        _h=$(curl -s -m 1 "$(api_of "$1")/v1/status" 2>/dev/null | jq -r '.height | numbers' 2>/dev/null)
        [ -z "$_h" ] || return 0
        sleep 0.1
        _i=$((_i + 1))
    done
    diag "node $1 did not answer within 10 s"
    return 1
}

kill9() {
    _pid=$(eval echo "\$PID_$1")
    kill -9 "$_pid" 2>/dev/null
    wait "$_pid" 2>/dev/null
    untrack_pid "$_pid"
}

status_of() { curl -s -m 10 "$(api_of "$1")/v1/status"; }
height_of() { status_of "$1" | jq -r '.height // 0'; }

# hashes K H: the block hashes of node K at heights 1..H, one a line.
hashes() {
    _tok=$(cat "$NET/node$1/api-token")
    for _h in $(seq 1 "$2"); do
        curl -s -m 10 -H "Authorization: Bearer $_tok" "$(api_of "$1")/v1/blocks/$_h" |
            jq -r '.hash // "missing"'
    done
}

# wait_height K H [SECONDS]: until node K's height is at least H (20 s by default).
wait_height() {
    _i=0
    while [ $_i -lt $((${3:-20} * 10)) ]; do
        [ "$(height_of "$1")" -ge "$2" ] 2>/dev/null && return 0
        sleep 0.1
        _i=$((_i + 1))
    done
    return 1
}

# same_chain NAME H NODES...: every node has the same block hash as node 0 at 1..H.
same_chain() {
    _name=$1 _top=$2
    shift 2
    hashes 0 "$_top" >"$T/hashes.0"
    if grep -q missing "$T/hashes.0"; then
        fail "$_name: node 0 has blocks 1..$_top"
        return
    fi
    _bad=""
    for _k in "$@"; do
        hashes "$_k" "$_top" >"$T/hashes.$_k"
        cmp -s "$T/hashes.0" "$T/hashes.$_k" || _bad="$_bad $_k"
    done
    if [ -z "$_bad" ]; then
        pass "$_name: nodes 0 $* have the same block hash at every height 1..$_top"
    else
        fail "$_name: nodes 0 $* have the same block hash at every height 1..$_top"
        diag "differing:$_bad"
    fi
}

# ---------------------------------------------------------------- transactions

_n=0
# biz K: root-sysadmin adds a new business account at 440000 through node K; the
# command's exit status is the test's (it must commit).
biz() {
    _n=$((_n + 1))
    on "$1"
    expect_exit 0 "business account biz-$_n sent to node $1 commits" \
        "$IDL" --json --timeout 20 --key "$NET/admins/sysadmin.key" --basis "$(form "biz$_n")" \
        account add --id "biz-$_n" --org 440000 --class business --name 王芳 \
        --id-number "$(idnum "44010620010101$(printf %03d $_n)")"
}

for k in 0 1 2 3 4; do
    check "node $k starts" start "$k"
done
on 4
is "$(status_of 4 | jq -r .role)" replica "node 4 reports role replica"
is "$(status_of 0 | jq -r .role)" validator "node 0 reports role validator"
is "$(status_of 0 | jq -r .halted)" false "node 0 reports its consensus is not halted"

for k in 0 1 2 3 4; do
    biz "$k"
done
on 1
expect_exit 0 "root-sysadmin registers system teacher through node 1" \
    "$IDL" --timeout 20 --key "$NET/admins/sysadmin.key" --basis "$(form system)" \
    system add --code teacher --name 全国教师管理信息系统 --roles query,manager
on 4
expect_exit 0 "root-secadmin grants teacher/query to biz-1 through replica 4" \
    "$IDL" --timeout 20 --key "$NET/admins/secadmin.key" --basis "$(form grant)" \
    grant add --account biz-1 --system teacher --role query

H=$(height_of 0)
for k in 1 2 3 4; do
    check "node $k reaches height $H" wait_height "$k" "$H"
done
same_chain "all up" "$H" 1 2 3 4
is "$(status_of 4 | jq -r .catching_up)" false "replica 4 is not catching up"

# ---------------------------------------------------------------- faults

kill9 3
pass "validator 3 killed (kill -9)"
biz 0
biz 4

kill9 2
pass "validator 2 killed (kill -9): 2 of 4 left, no quorum"
H2=$(height_of 0)
on 0
expect_exit 3 "with two validators down, a transaction does not commit (exit 3)" \
    "$IDL" --json --timeout 4 --key "$NET/admins/sysadmin.key" --basis "$(form stuck)" \
    account add --id biz-stuck --org 440000 --class business --name 王芳 \
    --id-number "$(idnum 44010620010101999)"
STUCK=$(grep -o '[0-9a-f]\{64\}' "$ERR" | head -n 1)
like "$STUCK" '^[0-9a-f]{64}$' "the CLI names the waiting transaction"
sleep 2
is "$(height_of 0) $(height_of 1)" "$H2 $H2" "no block is committed without a quorum"

check "validator 2 restarts" start 2
i=0
while [ $i -lt 200 ] && [ "$(api "/v1/tx/$STUCK" | jq -r .state)" != committed ]; do
    sleep 0.1
    i=$((i + 1))
done
is "$(api "/v1/tx/$STUCK" | jq -r .state)" committed \
    "with validator 2 back, the waiting transaction commits"
biz 2

check "validator 3 restarts" start 3
H3=$(height_of 0)
check "validator 3 catches up to height $H3" wait_height 3 "$H3"
biz 3
H3=$(height_of 0)
for k in 1 2 3 4; do
    wait_height "$k" "$H3" 10
done
same_chain "after the restarts" "$H3" 1 2 3 4

# ---------------------------------------------------------------- a nonce gap

# post_tx K HEX: POST /v1/tx to node K; the HTTP status on stdout, the body in $T/.body.
post_tx() {
    curl -s -m 10 -o "$T/.body" -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary "{\"tx\":\"$2\"}" "$(api_of "$1")/v1/tx"
}

# 300 account.add of root-sysadmin signed ahead with its next nonces (loadgen). Only the
# second is posted at first: its nonce has a gap before it. It waits in the pools, and no
# block is made for it (before, every validator made some 20 empty blocks a second until
# it expired). The 300th is refused at the door: too far beyond anything pooled.
on 0
"$TOOLS/loadgen" gen --node "$API" --token-file "$NET/node0/api-token" --admins "$NET/admins" \
    --passphrase-file "$NET/passphrase" --count 300 --first 700000 --out "$T/gap.bin" \
    >"$T/gap.out" 2>&1 || diag_file "$T/gap.out" "loadgen gen"
"$TOOLS/loadgen" hex --in "$T/gap.bin" >"$T/gap.hex"
is "$(wc -l <"$T/gap.hex" | tr -d ' ')" 300 "loadgen signed 300 transactions ahead"
HG=$(height_of 0)
is "$(post_tx 0 "$(sed -n 2p "$T/gap.hex")")" 202 "a transaction behind a nonce gap is pooled"
GAPPED=$(jq -r .txid "$T/.body")
sleep 3
is "$(height_of 0) $(height_of 1) $(height_of 4)" "$HG $HG $HG" \
    "a transaction behind a nonce gap makes no block (3 s)"
is "$(api "/v1/tx/$GAPPED" | jq -r .state)" pending "the gapped transaction waits in the pool"
is "$(post_tx 0 "$(sed -n 300p "$T/gap.hex")")" 409 "a nonce far beyond the pooled ones is refused"
like "$(jq -r .error.message "$T/.body")" "too far ahead" "... saying it is too far ahead"
is "$(post_tx 0 "$(sed -n 1p "$T/gap.hex")")" 202 "the missing predecessor is pooled"
i=0
while [ $i -lt 100 ] && [ "$(api "/v1/tx/$GAPPED" | jq -r .state)" != committed ]; do
    sleep 0.1
    i=$((i + 1))
done
is "$(api "/v1/tx/$GAPPED" | jq -r .state)" committed "with the gap filled, both commit"
H3=$(height_of 0)

# evil MODE K PORT [ARGS...]: a lying peer that fetched the chain from node 0 and now dials
# node K.
evil() {
    _mode=$1 _victim=$2 _port=$3
    shift 3
    : >"$T/evil.$_mode"
    "$EVIL" --genesis "$NET/genesis.json" --honest "$(p2p_of 0)" --victim "$(p2p_of "$_victim")" \
        --listen "127.0.0.1:$_port" --mode "$_mode" --seconds 8 "$@" >"$T/evil.$_mode" 2>&1 &
    EVIL_PID=$!
    track_pid "$EVIL_PID"
    _i=0
    while [ $_i -lt 100 ] && ! grep -q fetched "$T/evil.$_mode"; do
        sleep 0.1
        _i=$((_i + 1))
    done
    like "$(cat "$T/evil.$_mode")" "fetched [1-9][0-9]* blocks" "evilpeer ($_mode) fetched the chain"
}

# ---------------------------------------------------------------- gossip again

# All four validators down: replica 4 has no live link to any. A transaction submitted to it
# is pooled there and reaches nobody; when the validators come back, the replica sends its
# pool on each link that comes up, and the transaction commits.
for k in 0 1 2 3; do kill9 "$k"; done
pass "all four validators killed (kill -9)"
on 4
expect_exit 0 "a transaction submitted to replica 4 with no validator reachable is accepted" \
    "$IDL" --json --no-wait --key "$NET/admins/sysadmin.key" --basis "$(form lonely)" \
    account add --id biz-lonely --org 440000 --class business --name 王芳 \
    --id-number "$(idnum 44010620010101888)"
LONELY=$(jq -r .txid "$OUT")
like "$LONELY" '^[0-9a-f]{64}$' "replica 4 names the transaction"
for k in 0 1 2 3; do
    check "validator $k restarts" start "$k"
done
i=0
while [ $i -lt 300 ] && [ "$(api "/v1/tx/$LONELY" | jq -r .state)" != committed ]; do
    sleep 0.1
    i=$((i + 1))
done
is "$(api "/v1/tx/$LONELY" | jq -r .state)" committed \
    "once the validators are back, the replica's pooled transaction reaches them and commits"
H3=$(height_of 0)
for k in 1 2 3 4; do
    wait_height "$k" "$H3" 10
done

# ---------------------------------------------------------------- an equivocating validator

# metric_of K NAME: the value of NAME in node K's /metrics (open, no token).
metric_of() {
    curl -s -m 10 "$(api_of "$1")/metrics" | awk -v s="$2" '$1 == s { print $2 }'
}

# Someone holding validator 3's key prevotes in its name, at each next height of node 0,
# for a block nobody proposed, while validator 3 itself prevotes the real one. Node 0 counts
# the conflicting pair in /metrics and logs it, and one faulty validator of four does not
# stop the network.
EQ=idledger_consensus_equivocations_total
is "$(metric_of 0 $EQ)" 0 "node 0 counts no equivocation while no one equivocates"
evil equivocate 0 $((PORT + 18)) --seconds 60 --key "$NET/node3/node.key" \
    --passphrase-file "$NET/passphrase"
i=0
while [ $i -lt 100 ] && ! grep -q 'equivocating as validator 3' "$T/evil.equivocate"; do
    sleep 0.1
    i=$((i + 1))
done
like "$(cat "$T/evil.equivocate")" 'equivocating as validator 3' \
    "evilpeer opened validator 3's key and reached node 0"
biz 1
i=0
while [ $i -lt 300 ] && ! [ "$(metric_of 0 $EQ)" -ge 1 ] 2>/dev/null; do
    sleep 0.1
    i=$((i + 1))
done
EQN=$(metric_of 0 $EQ)
if [ "$EQN" -ge 1 ] 2>/dev/null; then
    pass "node 0 counts validator 3's conflicting prevotes: $EQ $EQN"
else
    fail "node 0 counts validator 3's conflicting prevotes: $EQ >= 1"
    diag "got '$EQN'"
    diag_file "$T/evil.equivocate" "evilpeer"
fi
like "$(grep '"msg":"conflicting messages from a validator"' "$NET/node0.log" | head -n 1)" \
    '"total":[1-9]' "node 0 logs the conflicting messages"
biz 0
biz 2
kill "$EVIL_PID" 2>/dev/null
wait "$EVIL_PID" 2>/dev/null
untrack_pid "$EVIL_PID"
H3=$(height_of 0)
for k in 1 2 3 4; do
    wait_height "$k" "$H3" 10
done
same_chain "after the equivocation" "$H3" 1 2 3 4

# ---------------------------------------------------------------- a liar that never answers

# A peer claims a tip 1000 blocks ahead of replica 4 and never answers its sync requests.
# Once it has left a request unanswered, its claims stop counting: the replica does not
# stay "catching up", and is ready again, though the liar goes on claiming.
evil mute 4 $((PORT + 16)) --seconds 25
calm=0
i=0
while [ $i -lt 40 ] && [ $calm -lt 6 ]; do
    if [ "$(status_of 4 | jq -r .catching_up)" = false ] &&
        [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$(api_of 4)/health/ready")" = 200 ]; then
        calm=$((calm + 1))
    else
        calm=0
    fi
    sleep 0.5
    i=$((i + 1))
done
is "$calm" 6 "replica 4 is not catching up and is ready for 3 s, while a peer claims a far tip"
like "$(grep '"msg":"block sync"' "$NET/node4.log" | tail -n 5)" "it has [0-9]{4,}" \
    "replica 4 did ask the liar once"
kill "$EVIL_PID" 2>/dev/null
wait "$EVIL_PID" 2>/dev/null
untrack_pid "$EVIL_PID"

# ---------------------------------------------------------------- sync requests in bulk

# 300 requests for the whole chain at once: a validator answers a few, not all of them
# (each answer reads the chain from the store).
evil spam 0 $((PORT + 17))
wait "$EVIL_PID" 2>/dev/null
untrack_pid "$EVIL_PID"
ANSWERED=$(sed -n 's/.*answered \([0-9]*\) of 300.*/\1/p' "$T/evil.spam")
if [ -n "$ANSWERED" ] && [ "$ANSWERED" -ge 1 ] && [ "$ANSWERED" -le 100 ]; then
    pass "a burst of 300 sync requests from one peer gets $ANSWERED answers (1..100)"
else
    fail "a burst of 300 sync requests from one peer gets 1..100 answers"
    diag_file "$T/evil.spam"
fi
H3=$(height_of 0)

# ---------------------------------------------------------------- late replicas, lying peer


# late_replica MODE K WANT: replica K starts late with a lying peer (MODE) at it; its log
# must show the refusal (WANT).
late_replica() {
    _mode=$1 _k=$2 _want=$3
    evil "$_mode" "$_k" $((PORT + 14 + _k - 5)) --reconnect
    check "late replica $_k starts" start "$_k"
    check "late replica $_k syncs from genesis to height $H3" wait_height "$_k" "$H3" 30
    same_chain "late replica $_k" "$H3" "$_k"
    like "$(grep '"msg":"refused"' "$NET/node$_k.log" | head -n 3)" \
        "$_want" "replica $_k refused the lying peer's blocks ($_mode)"
    wait "$EVIL_PID" 2>/dev/null
    untrack_pid "$EVIL_PID"
    like "$(cat "$T/evil.$_mode")" "served [1-9][0-9]* tampered blocks" \
        "evilpeer ($_mode) did serve tampered blocks"
    like "$(cat "$T/evil.$_mode")" "asked 0 times after reconnecting" \
        "a reconnect under the same key is not a fresh chance: replica $_k never asks it again"
    on "$_k"
    expect_exit 0 "late replica $_k answers verify" \
        "$IDL" --json verify --account biz-1 --system teacher --role query
    is "$(jq -r .allowed "$OUT")" true "late replica $_k: biz-1 may act as teacher/query"
}
late_replica cert 5 "certificate does not verify"
late_replica block 6 "certificate does not verify"

biz 5
H4=$(height_of 0)
for k in 1 2 3 4 5 6; do
    wait_height "$k" "$H4" 10
done
same_chain "at the end" "$H4" 1 2 3 4 5 6
for k in 0 1 2 3 4 5 6; do
    _pid=$(eval echo "\$PID_$k")
    kill -TERM "$_pid"
    rc=0
    wait "$_pid" || rc=$?
    untrack_pid "$_pid"
    is "$rc" 0 "node $k stops cleanly on SIGTERM"
done

done_testing

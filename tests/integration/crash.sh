#!/bin/sh
# crash.sh: kill -9 a node in the middle of a stream of transactions and restart it from
# the same home. Every transaction the CLI reported committed (exit 0) must still be
# committed, the blocks seen before the kill must be unchanged, the height after the
# restart at least the height seen before the kill, and the chain must go on. Last, a byte
# of the consensus log damaged before intact records: the node refuses to start and cuts
# nothing (a torn last write is the only thing it may cut).
. "$(dirname "$0")/lib.sh"

PORT=$((${IT_PORT_BASE:-18000} + 200))
N=35       # transactions in each of the two streams
KILL_AT=20 # committed transactions (both streams) before the kill
net_up "$T/net" "$PORT"

# The city 440100 and its authorised sysadmin, who adds the stream's counties.
expect_exit 0 "root-sysadmin adds city 440100" "$IDL" --key "$ROOT_SYS" --basis "$(form city)" \
    org add --code 440100 --name 广州市教育局 --kind city --parent 440000
expect_exit 0 "key new for gz-sys" "$IDL" key new --out "$T/gz-sys.key"
pub=$(cat "$OUT")
expect_exit 0 "root-sysadmin creates gz-sys" "$IDL" --key "$ROOT_SYS" --basis "$(form gz-sys)" \
    account add --id gz-sys --org 440100 --class management --post sysadmin --pubkey "$pub" \
    --name 李明 --id-number 11010519491231002X --mobile 13800000001
expect_exit 0 "root-secadmin authorises gz-sys" "$IDL" --key "$ROOT_SEC" --basis "$(form auth)" \
    account authorize --id gz-sys

# Two streams run side by side, each one transaction at a time and waiting for its
# commit: gz-sys adds counties 4401NN (stream a), root-sysadmin adds business accounts
# biz-NN at 440000 (stream b). One line per transaction in $T/stream.a / $T/stream.b:
# "i target exit txid height reason". After an exit 3 (node unreachable) a stream waits
# for the node to answer again before going on.
FORM=$(form counties)
stream() {
    _s=$1
    i=1
    while [ $i -le $N ]; do
        nn=$(printf %02d $i)
        rc=0
        if [ "$_s" = a ]; then
            target=4401$nn
            set -- --key "$T/gz-sys.key" org add --code "$target" --name "第${i}区教育局" \
                --kind county --parent 440100
        else
            target=biz-$nn
            set -- --key "$ROOT_SYS" account add --id "$target" --org 440000 --class business \
                --name 王芳 --id-number "$(idnum "44010620010101${nn}1")"
        fi
        "$IDL" --json --timeout 10 --basis "$FORM" "$@" \
            >"$T/s$_s.out" 2>"$T/s$_s.err" </dev/null || rc=$?
        txid=$(jq -r '.txid // empty' "$T/s$_s.out" 2>/dev/null)
        h=$(jq -r '.height // empty' "$T/s$_s.out" 2>/dev/null)
        echo "$i $target $rc ${txid:--} ${h:--} $(head -n 1 "$T/s$_s.err")" >>"$T/stream.$_s"
        if [ $rc = 3 ]; then
            j=0
            while [ $j -lt 200 ] && ! curl -s -m 1 -o /dev/null "$API/v1/status"; do
                sleep 0.1
                j=$((j + 1))
            done
            [ $j -lt 200 ] || return 0 # the node stayed away 20 s: give up
        fi
        i=$((i + 1))
    done
}
: >"$T/stream.a"
: >"$T/stream.b"
stream a &
SPID_A=$!
track_pid "$SPID_A"
stream b &
SPID_B=$!
track_pid "$SPID_B"

committed() {
    cat "$T/stream.a" "$T/stream.b" | awk '$3 == 0' | wc -l
}

# Wait for KILL_AT commits (30 s at most), then kill -9.
i=0
while [ "$(committed)" -lt $KILL_AT ] && [ $i -lt 300 ] && alive "$SPID_A"; do
    sleep 0.1
    i=$((i + 1))
done
both_alive() { alive "$SPID_A" && alive "$SPID_B"; }
check "both streams are still running at the kill" both_alive
h_before=$(height)
hash_before=$(api "/v1/blocks/$h_before" | jq -r .hash)
node_kill9
n_at_kill=$(committed)
like "$n_at_kill" '^[0-9]+$' "streams were under way at the kill ($n_at_kill committed, height $h_before)"
check "at least $KILL_AT transactions committed before the kill" [ "$n_at_kill" -ge $KILL_AT ]

# Every line written so far with exit 0 was committed before the kill (the node is dead
# until node_start), so the restarted height must cover its height.
max_h=$(cat "$T/stream.a" "$T/stream.b" | awk '$3 == 0 && $5 > m {m = $5} END {print m + 0}')
check "node restarts from the same home after kill -9" node_start ||
    bail "the node does not restart after kill -9"
h_restart=$(height)
check "height after restart ($h_restart) >= height seen before the kill ($h_before)" \
    [ "${h_restart:-0}" -ge "${h_before:-1}" ]
check "height after restart ($h_restart) covers every commit reported before the kill (max $max_h)" \
    [ "${h_restart:-0}" -ge "$max_h" ]
like "$hash_before" '^[0-9a-f]{64}$' "block $h_before had a hash before the kill"
is "$(api "/v1/blocks/$h_before" | jq -r .hash)" "$hash_before" \
    "block $h_before has the same hash after the restart"

# Let the streams finish (they go on against the restarted node).
for p in $SPID_A $SPID_B; do
    i=0
    while alive "$p" && [ $i -lt 450 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    check "stream $p finished" dead "$p"
    wait "$p" 2>/dev/null
    untrack_pid "$p"
done
is "$(cat "$T/stream.a" "$T/stream.b" | wc -l)" $((2 * N)) "the streams recorded all $((2 * N)) transactions"

n_ok=$(committed)
check "more transactions committed after the restart ($n_at_kill before the kill, $n_ok in all)" \
    [ "$n_ok" -gt "$n_at_kill" ]
others=$(cat "$T/stream.a" "$T/stream.b" | awk '$3 != 0 && $3 != 3')
is "$others" "" "no transaction of the streams was refused or a usage error (exit 1 or 2)"

# exists TARGET: the county or account the transaction created, as the API shows it
# ("440100" for a county: its parent; "440000" for an account: its org), or the status.
exists() {
    case $1 in
    biz-*) _got=$(api "/v1/accounts/$1" | jq -r '.org // empty') ;;
    *) _got=$(api "/v1/orgs/$1" | jq -r '.parent // empty') ;;
    esac
    [ -n "$_got" ] && echo "$_got" || echo "absent/$(status_code)"
}

# Every transaction reported committed is committed, at the height the CLI reported, and
# what it created exists. Those the CLI could not confirm (exit 3) are wholly there
# (committed, created) or wholly absent: never half there.
lost=""
half=""
for f in a b; do
    case $f in a) want=440100 ;; b) want=440000 ;; esac
    while read -r i target rc txid h rest; do
        e=$(exists "$target")
        if [ "$rc" = 0 ]; then
            got=$(api "/v1/tx/$txid" | jq -r '.state + " " + (.height | tostring)')
            [ "$got $e" = "committed $h $want" ] || lost="$lost $target:$txid:'$got $e'"
        elif [ "$rc" = 3 ] && [ "$e" != "$want" ] && [ "$e" != absent/404 ]; then
            half="$half $target:'$e'"
        fi
    done <"$T/stream.$f"
done
is "$lost" "" "all $n_ok transactions reported committed are committed at their height and what they created exists"
is "$half" "" "each unconfirmed transaction is wholly there or wholly absent"
n_a=$(awk '$3 == 0' "$T/stream.a" | wc -l)
children=$(api /v1/orgs/440100 | jq '.children | length')
check "city 440100 lists at least the $n_a committed counties ($children)" [ "$children" -ge "$n_a" ]

# The chain goes on.
h1=$(height)
expect_exit 0 "a new transaction commits after the crash" "$IDL" --key "$ROOT_SYS" \
    --basis "$(form city2)" org add --code 440300 --name 深圳市教育局 --kind city --parent 440000
h2=$(height)
check "height grows ($h1 -> $h2)" [ "$h2" -gt "$h1" ]

# A second crash right after a commit: that commit survives too.
expect_exit 0 "gz-sys adds county 440199" "$IDL" --json --key "$T/gz-sys.key" \
    --basis "$FORM" org add --code 440199 --name 第九十九区教育局 --kind county --parent 440100
txid=$(jq -r .txid "$OUT")
node_kill9
check "node restarts after a second kill -9" node_start ||
    bail "the node does not restart after the second kill -9"
is "$(api "/v1/tx/$txid" | jq -r .state)" committed "the commit just before the second kill survives"
is "$(api /v1/orgs/440199 | jq -r .parent)" 440100 "county 440199 exists after the second restart"
expect_exit 0 "and the chain still commits" "$IDL" --key "$ROOT_SYS" \
    --basis "$(form city3)" org add --code 440400 --name 珠海市教育局 --kind city --parent 440000
expect_exit 0 "node stops cleanly on SIGTERM" node_stop

# A damaged byte in the consensus log with intact records after it is no torn write: the
# validator refuses to start rather than cut votes it may have sent (and vote again).
WAL="$NODE_HOME/data/consensus.wal"
wal_size=$(wc -c <"$WAL")
if [ "$wal_size" -gt 200 ]; then
    pass "the consensus log holds several records ($wal_size bytes)"
else
    fail "the consensus log holds several records ($wal_size bytes)"
fi
cp "$WAL" "$T/wal.good"
printf '\377' | dd of="$WAL" bs=1 seek=20 conv=notrunc 2>/dev/null # in the first record
expect_exit 1 "a node whose consensus log is damaged mid-file does not start" \
    "$T/bin/idledgerd" --home "$NODE_HOME"
like "$(cat "$ERR")" "consensus log .* is damaged at byte 0, with intact records after it" "... and says where"
is "$(wc -c <"$WAL")" "$wal_size" "nothing of the log was cut"
cp "$T/wal.good" "$WAL"
check "with the log restored it starts again" node_start
expect_exit 0 "node stops cleanly on SIGTERM" node_stop
done_testing

#!/bin/sh
# tests/bench/run.sh: `make bench` (docs/BENCHMARKS.md). Starts real networks from
# `idledger testnet`, measures each figure of issue 7 beside the limit the same run measured
# on this machine, prints a table and writes it as JSON.
#
#   BIN=bin TOOLS=build/tools tests/bench/run.sh        (make bench does this)
#
# Environment:
#   QUICK=1          a run of under two minutes: smaller chains (said so in the output)
#   BENCH_OUT        the JSON file (default out/bench.json)
#   BENCH_DIR        where the networks live (default a fresh /tmp/idledger-bench.XXXXXX,
#                    removed at the end unless BENCH_KEEP=1)
#   BENCH_PORT       first port (default 19000): the 1-validator network uses P..P+3, the
#                    4-validator one P+100..P+107
#   WRK_THREADS, WRK_CONNS, WRK_SECONDS   wrk settings, the same for bound_http and verify
#   BENCH_PROFILE=DIR  also record `perf record -g` of the validator(s) during the two
#                    throughput runs of each network into DIR (needs perf)
#
# The script stops only the processes it started, by their ids, and refuses ports in use.
set -eu
cd "$(dirname "$0")/../.."
: "${BIN:?BIN must name the directory holding idledger and idledgerd}"
: "${TOOLS:?TOOLS must name the directory holding loadgen}"
QUICK=${QUICK:-}
[ "$QUICK" = 0 ] && QUICK=""
OUT=${BENCH_OUT:-$PWD/out/bench.json}
P=${BENCH_PORT:-19000}
WRK_T=${WRK_THREADS:-2}
WRK_C=${WRK_CONNS:-16}
PROFILE=${BENCH_PROFILE:-}
L="$TOOLS/loadgen"
IDL="$BIN/idledger"
IDLD="$BIN/idledgerd"
CORES=$(nproc)
HERE=$PWD

if [ -n "$QUICK" ]; then
    SIG_S=1 WRK_S=${WRK_SECONDS:-3} TP1_N=25000 CHAIN_N=50000 TP4_N=10000 LAT_S=5 FLOOR_S=2
    IMPORT_N=10000 GRANTS=200 SAMPLE=50000 CATCHUP_MAX=60 IMPORT_TIMEOUT=60
else
    SIG_S=5 WRK_S=${WRK_SECONDS:-10} TP1_N=200000 CHAIN_N=1000000 TP4_N=100000 LAT_S=30
    FLOOR_S=5 IMPORT_N=1000000 GRANTS=1000 SAMPLE=200000 CATCHUP_MAX=1800 IMPORT_TIMEOUT=3600
fi

for t in "$IDL" "$IDLD" "$L"; do
    [ -x "$t" ] || { echo "bench: $t is missing (make bench builds it)" >&2; exit 1; }
done
for t in wrk jq curl; do
    command -v "$t" >/dev/null || { echo "bench: $t is missing (make deps installs it)" >&2; exit 1; }
done

OWN_DIR=""
if [ -z "${BENCH_DIR:-}" ]; then
    D=$(mktemp -d /tmp/idledger-bench.XXXXXX)
    OWN_DIR=1
else
    D=$BENCH_DIR
    mkdir -p "$D"
fi
R="$D/results"
rm -rf "$R" "$D/net1" "$D/net4"
mkdir -p "$R" "$(dirname "$OUT")"
: >"$D/pids"

# ---------------------------------------------------------------- helpers

log() { printf '%s bench: %s\n' "$(date +%T)" "$*" >&2; }
load1() { cut -d' ' -f1 /proc/loadavg; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

cleanup() {
    for p in $(cat "$D/pids" 2>/dev/null); do kill -TERM "$p" 2>/dev/null || true; done
    for p in $(cat "$D/pids" 2>/dev/null); do
        i=0
        while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
        kill -KILL "$p" 2>/dev/null || true
    done
    if [ -n "$OWN_DIR" ] && [ -z "${BENCH_KEEP:-}" ]; then rm -rf "$D"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { ! curl -s -m 1 -o /dev/null "http://127.0.0.1:$1/" 2>/dev/null; }

# start_node HOME: runs idledgerd in the background; NODE_PID is its id.
start_node() {
    "$IDLD" --home "$1" 2>>"$1/node.log" &
    NODE_PID=$!
    echo "$NODE_PID" >>"$D/pids"
}

stop_pid() {
    kill -TERM "$1" 2>/dev/null || return 0
    _i=0
    while kill -0 "$1" 2>/dev/null && [ $_i -lt 200 ]; do sleep 0.1; _i=$((_i + 1)); done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true # reaped, so `times` counts its CPU
}

wait_up() {
    _i=0
    until curl -s -m 1 -o /dev/null "$1/health/live"; do
        _i=$((_i + 1))
        [ $_i -lt 300 ] || { log "no answer from $1"; return 1; }
        sleep 0.1
    done
}

status() { curl -s -m 5 "$1/v1/status" | jq -r ".$2"; }
metric() { curl -s -m 5 "$1/metrics" | awk -v m="$2" '$1 == m { print $2 }'; }
rss_mb() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
# rss_now PID: {"rss_mb", "anon_mb", "file_mb"} now (file: mapped LevelDB tables, binaries).
rss_now() {
    awk '/^VmRSS/ { r = $2 } /^RssAnon/ { a = $2 } /^RssFile/ { f = $2 }
         END { printf "{\"rss_mb\": %.1f, \"anon_mb\": %.1f, \"file_mb\": %.1f}", r / 1024, a / 1024, f / 1024 }' \
        "/proc/$1/status"
}

# wait_idle PID...: until the processes use under 5% of a core for 2 s in a row (LevelDB
# compacting after a load would otherwise share the machine with the next measurement), at
# most 120 s. Prints the seconds waited.
wait_idle() {
    _hz=$(getconf CLK_TCK)
    _t0=$(now)
    _quiet=0
    _prev=""
    while [ $_quiet -lt 2 ]; do
        _cpu=0
        for _p in "$@"; do
            _c=$(awk '{ print $14 + $15 }' "/proc/$_p/stat" 2>/dev/null || echo 0)
            _cpu=$((_cpu + _c))
        done
        if [ -n "$_prev" ] && [ $((_cpu - _prev)) -le $((_hz / 20)) ]; then
            _quiet=$((_quiet + 1))
        else
            _quiet=0
        fi
        _prev=$_cpu
        [ "$(elapsed "$_t0" "$(now)" | cut -d. -f1)" -lt 120 ] || break
        sleep 1
    done
    elapsed "$_t0" "$(now)"
}
du_bytes() { du -sb "$1" | cut -f1; }
# pid_cpu_s PID: CPU seconds the process has used (all its threads); null if it is gone.
pid_cpu_s() {
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat" \
        2>/dev/null || echo null
}
# compaction_s URL: seconds (elapsed, whole per level) LevelDB's compactions have taken in
# that node, all levels; 0 if it does not answer.
compaction_s() {
    curl -s -m 5 "$1/metrics" |
        awk '/^idledger_store_compaction_seconds_total\{/ { s += $2 } END { print s + 0 }'
}

# busy_pct: share of CPU time the whole machine was busy over 2 s (our nodes idle).
busy_pct() {
    _a=$(head -1 /proc/stat)
    sleep 2
    _b=$(head -1 /proc/stat)
    printf '%s\n%s\n' "$_a" "$_b" | awk '{ idle = $5 + $6; tot = 0; for (i = 2; i <= NF; i++) tot += $i;
        if (NR == 1) { i0 = idle; t0 = tot } else printf "%.0f", 100 * (1 - (idle - i0) / (tot - t0)) }'
}

# cpu_busy_s: CPU seconds the machine has been busy since boot (all cores).
cpu_busy_s() {
    head -1 /proc/stat | awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / hz }'
}

# own_cpu_s FILE: CPU seconds of this script's reaped children (nodes, loadgen, wrk,
# idledger) from the output of `times` saved in FILE (times must run in this shell, not in
# a command substitution's subshell).
own_cpu_s() {
    awk '{ for (i = 1; i <= 2; i++) { split($i, t, "m"); s += t[1] * 60 + t[2] } }
         END { printf "%.2f", s }' "$1"
}

# lg NAME ARGS...: runs loadgen, keeps its JSON (with the load average after it) in
# $R/NAME.json. Fails if loadgen failed.
lg() {
    _n=$1
    shift
    if "$L" "$@" >"$R/$_n.raw" 2>"$R/$_n.err"; then _rc=0; else _rc=$?; fi
    [ -s "$R/$_n.raw" ] || echo '{}' >"$R/$_n.raw"
    jq -c --argjson l "$(load1)" --argjson rc "$_rc" '. + {load1: $l, exit: $rc}' \
        "$R/$_n.raw" >"$R/$_n.json"
    [ $_rc -eq 0 ] || { log "loadgen $1 failed: $(tail -3 "$R/$_n.err")"; return 1; }
}

j() { jq -r "$2" "$R/$1.json" 2>/dev/null || echo null; }

# wrk_run NAME URL: wrk with the shared settings; WRK_* environment picks the requests.
wrk_run() {
    wrk -t"$WRK_T" -c"$WRK_C" -d"${WRK_S}s" --timeout 5s -s "$HERE/tests/bench/wrk.lua" "$2" \
        >"$R/$1.err" 2>&1 || true
    _line=$(sed -n 's/^WRKJSON //p' "$R/$1.err")
    [ -n "$_line" ] || _line='{}'
    echo "$_line" | jq -c --argjson l "$(load1)" \
        --arg s "-t$WRK_T -c$WRK_C -d${WRK_S}s" '. + {load1: $l, wrk: $s}' >"$R/$1.json"
}

# profile_start NAME PID...: perf record of those processes, if BENCH_PROFILE is set.
PERF_PIDS=""
profile_start() {
    [ -n "$PROFILE" ] || return 0
    _pn=$1
    shift
    mkdir -p "$PROFILE"
    _pl=$(echo "$@" | tr ' ' ',')
    perf record -F 299 --call-graph dwarf,16384 -p "$_pl" -o "$PROFILE/$_pn.data" >/dev/null 2>&1 &
    PERF_PIDS="$PERF_PIDS $!"
    echo "$!" >>"$D/pids"
    sleep 0.3
}
profile_stop() {
    for p in $PERF_PIDS; do kill -INT "$p" 2>/dev/null || true; done
    for p in $PERF_PIDS; do wait "$p" 2>/dev/null || true; done
    PERF_PIDS=""
}

# ---------------------------------------------------------------- the machine

LOAD_BEFORE=$(cat /proc/loadavg)
BUSY_BEFORE=$(busy_pct)
START=$(now)
CPU0=$(cpu_busy_s)
times >"$D/times0"
log "data in $D; ${QUICK:+QUICK mode; }load before: $LOAD_BEFORE; machine busy ${BUSY_BEFORE}% while idle here"

# ---------------------------------------------------------------- 1. the signature bound

log "bound_sig: BIP-340 verifications on 1 and $CORES threads (${SIG_S}s each)"
lg sig1 sig --seconds "$SIG_S" --threads 1
lg sigN sig --seconds "$SIG_S" --threads "$CORES"
lg sig1k sig --seconds "$SIG_S" --threads 1 --one-key

# ---------------------------------------------------------------- 2. one validator

for p in $P $((P + 1)) $((P + 2)) $((P + 3)); do
    port_free "$p" || { log "port $p is in use: set BENCH_PORT"; exit 1; }
done
"$IDL" testnet --dir "$D/net1" --validators 1 --replicas 1 --base-port "$P" >/dev/null
N1=http://127.0.0.1:$P
REPL=http://127.0.0.1:$((P + 2))
NET1="$D/net1"
start_node "$NET1/node0"
V1=$NODE_PID
wait_up "$N1"
ADM="--token-file $NET1/node0/api-token --admins $NET1/admins --passphrase-file $NET1/passphrase"

log "bound_http: wrk GET /health/live"
WRK_PATH=/health/live wrk_run http "$N1"

# tp_run NAME URL ACTORS CONNS FIRST COUNT [PROFILE-NAME PIDS...]: gen, then submit.
tp_run() {
    _t=$1 _u=$2 _a=$3 _c=$4 _f=$5 _k=$6
    shift 6
    # shellcheck disable=SC2086
    lg "gen_$_t" gen --node "$_u" $ADM --count "$_k" --first "$_f" --actors "$_a" \
        --out "$D/$_t.bin" || return 1
    [ $# -eq 0 ] || profile_start "$@"
    lg "$_t" submit --node "$_u" --in "$D/$_t.bin" --actors "$_a" --conns "$_c" ||
        { profile_stop; rm -f "$D/$_t.bin"; return 1; }
    profile_stop
    rm -f "$D/$_t.bin"
    log "$_t: $(j "$_t" .tps) tx/s ($_k txs, $_a actor(s), $_c connection(s))"
}

log "throughput, 1 validator: $TP1_N account.add by root-sysadmin"
tp_run tp1a "$N1" 1 1 0 "$TP1_N" tp1a "$V1" || true
log "throughput, 1 validator: $TP1_N account.add by 4 actors on 2 connections"
tp_run tp1b "$N1" 4 2 2000000 "$TP1_N" tp1b "$V1" || true

FILL=$((CHAIN_N - 2 * TP1_N))
if [ "$FILL" -gt 0 ]; then
    BEST=$(jq -s 'if (.[0].tps // 0) >= (.[1].tps // 0) then 1 else 4 end' "$R/tp1a.json" "$R/tp1b.json")
    log "filling the chain to $CHAIN_N transactions ($FILL more, $BEST actor(s))"
    tp_run fill1 "$N1" "$BEST" $((BEST > 1 ? 2 : 1)) 4000000 "$FILL" || true
fi
CHAIN_TXS=$(($(metric "$N1" 'idledger_block_txs_total{result="committed"}') + $(metric "$N1" 'idledger_block_txs_total{result="rejected"}')))
IDENT1=$(jq -s '[.[].committed // 0] | add + 6' "$R/tp1a.json" "$R/tp1b.json" \
    $([ -f "$R/fill1.json" ] && echo "$R/fill1.json"))
RSS1_LOAD=$(rss_mb "$V1")
RSS1_NOW=$(rss_now "$V1")
SETTLE1=$(wait_idle "$V1")
DISK1=$(du_bytes "$NET1/node0/data")
log "1-validator chain: $CHAIN_TXS transactions, $IDENT1 identities, RSS peak ${RSS1_LOAD} MB, data $DISK1 bytes (settled after ${SETTLE1}s)"

# ---------------------------------------------------------------- 4. verify API

log "verify API: wrk over $SAMPLE of the chain's $IDENT1 accounts ($GRANTS of them granted)"
export IDLEDGER_PASSPHRASE IDLEDGER_API_TOKEN
IDLEDGER_PASSPHRASE=$(cat "$NET1/passphrase")
IDLEDGER_API_TOKEN=$(cat "$NET1/node0/api-token")
"$IDL" --node "$N1" --key "$NET1/admins/sysadmin.key" system add --code teacher \
    --name 全国教师管理信息系统 --roles query,manager,training,sysadmin,auditor >/dev/null
# Accounts of the root (actor 0: all of tp1a) can be granted by root-secadmin.
seq -f 'bench-%.0f' 0 $((GRANTS - 1)) >"$D/granted.txt"
{
    seq -f 'bench-%.0f' 0 $((TP1_N - 1))
    seq -f 'bench-%.0f' 2000000 $((2000000 + TP1_N - 1))
    [ "$FILL" -le 0 ] || seq -f 'bench-%.0f' 4000000 $((4000000 + FILL - 1))
} | shuf -n "$SAMPLE" --random-source=/dev/zero >"$D/accounts.txt"
cat "$D/granted.txt" >>"$D/accounts.txt"
# shellcheck disable=SC2086
lg grant grant --node "$N1" $ADM --in "$D/granted.txt" --count "$GRANTS" --system teacher \
    --role query || true
ALLOWED=$(curl -s -H "Authorization: Bearer $IDLEDGER_API_TOKEN" \
    "$N1/v1/verify?account=bench-0&system=teacher&role=query" | jq .allowed)
WRK_ACCOUNTS="$D/accounts.txt" WRK_TOKEN=$IDLEDGER_API_TOKEN wrk_run verify "$N1"
RSS1=$(rss_mb "$V1")
jq -n --argjson txs "$CHAIN_TXS" --argjson ident "$IDENT1" --argjson rss "$RSS1" \
    --argjson rss_load "$RSS1_LOAD" --argjson disk "$DISK1" --argjson allowed "${ALLOWED:-null}" \
    --argjson sample "$SAMPLE" --argjson grants "$GRANTS" --argjson settle "$SETTLE1" \
    --argjson now_load "$RSS1_NOW" --argjson now_end "$(rss_now "$V1")" \
    '{chain_txs: $txs, identities: $ident, rss_mb: $rss, rss_after_load_mb: $rss_load,
      rss_after_load: $now_load, rss_at_end: $now_end, settle_seconds: $settle,
      disk_bytes: $disk, verify_allowed: $allowed, verify_sample: $sample, grants: $grants}' \
    >"$R/chain1.json"
log "verify: $(j verify .rps) req/s, p99 $(j verify .p99_ms) ms (bench-0 allowed: $ALLOWED)"

# ---------------------------------------------------------------- 5. catch-up

wait_idle "$V1" >/dev/null
H1=$(status "$N1" height)
log "catch-up: a replica joins the chain of $CHAIN_TXS transactions ($H1 blocks)"
T0=$(now)
start_node "$NET1/node1"
RP=$NODE_PID
CU_OK=false
TUP=""
while :; do
    h=$(status "$REPL" height 2>/dev/null || echo 0)
    cu=$(status "$REPL" catching_up 2>/dev/null || echo true)
    [ -n "$TUP" ] || [ -z "$h" ] || TUP=$(now)
    if [ "${h:-0}" -ge "$H1" ] 2>/dev/null && [ "$cu" = false ]; then CU_OK=true; break; fi
    [ "$(elapsed "$T0" "$(now)" | cut -d. -f1)" -lt "$CATCHUP_MAX" ] || break
    sleep 0.2
done
T1=$(now)
CU_CPU=$(pid_cpu_s "$RP")
CU_TXS=$(($(metric "$REPL" 'idledger_block_txs_total{result="committed"}') + $(metric "$REPL" 'idledger_block_txs_total{result="rejected"}')))
jq -n --argjson ok "$CU_OK" --argjson s "$(elapsed "$T0" "$T1")" --argjson txs "$CU_TXS" \
    --argjson up "$(elapsed "$T0" "${TUP:-$T1}")" --argjson h "$(status "$REPL" height)" \
    --argjson rss "$(rss_mb "$RP")" --argjson l "$(load1)" --argjson cpu "$CU_CPU" \
    --argjson compaction "$(compaction_s "$REPL")" \
    '{complete: $ok, seconds: $s, api_up_seconds: $up, txs: $txs, height: $h, tps: ($txs / $s),
      tps_after_api_up: ($txs / ($s - $up)), rss_mb: $rss, load1: $l, cpu_seconds: $cpu,
      compaction_seconds: $compaction}' >"$R/catchup.json"
log "catch-up: $(j catchup .tps) tx/s ($CU_TXS transactions in $(j catchup .seconds) s)"
stop_pid "$RP"
stop_pid "$V1"

# ---------------------------------------------------------------- 3, 6, 7: four validators

for k in 0 1 2 3 4 5 6 7; do
    port_free $((P + 100 + k)) || { log "port $((P + 100 + k)) is in use: set BENCH_PORT"; exit 1; }
done
"$IDL" testnet --dir "$D/net4" --validators 4 --base-port $((P + 100)) >/dev/null
NET4="$D/net4"
N4=http://127.0.0.1:$((P + 100))
V4=""
for k in 0 1 2 3; do
    start_node "$NET4/node$k"
    V4="$V4 $NODE_PID"
done
V40=$(echo $V4 | cut -d' ' -f1)
for k in 0 1 2 3; do wait_up "http://127.0.0.1:$((P + 100 + 2 * k))"; done
ADM="--token-file $NET4/node0/api-token --admins $NET4/admins --passphrase-file $NET4/passphrase"

log "latency floor: single transactions at 10/s on an idle 4-validator network"
# shellcheck disable=SC2086
lg gen_floor gen --node "$N4" $ADM --count $((10 * FLOOR_S)) --first 7900000 \
    --out "$D/floor.bin" && lg floor latency --node "$N4" --token-file "$NET4/node0/api-token" \
    --in "$D/floor.bin" --rate 10 --seconds "$FLOOR_S" || true

log "throughput, 4 validators: $TP4_N account.add by root-sysadmin"
# shellcheck disable=SC2086
tp_run tp4a "$N4" 1 1 8000000 "$TP4_N" tp4a $V4 || true
log "throughput, 4 validators: $TP4_N account.add by 4 actors on 2 connections"
# shellcheck disable=SC2086
tp_run tp4b "$N4" 4 2 8500000 "$TP4_N" tp4b $V4 || true

PEAK=$(jq -s '[.[].tps // 0] | max' "$R/tp4a.json" "$R/tp4b.json")
LACT=$(jq -s 'if (.[0].tps // 0) >= (.[1].tps // 0) then 1 else 4 end' "$R/tp4a.json" "$R/tp4b.json")
RATE=$(awk -v p="$PEAK" 'BEGIN { printf "%d", p / 2 }')
[ "${RATE:-0}" -gt 0 ] || RATE=100
log "latency at half the peak: $RATE tx/s for ${LAT_S}s ($LACT actor(s))"
# shellcheck disable=SC2086
lg gen_lat gen --node "$N4" $ADM --count $((RATE * LAT_S)) --first 9000000 --actors "$LACT" \
    --out "$D/lat.bin" && lg lat latency --node "$N4" --token-file "$NET4/node0/api-token" \
    --in "$D/lat.bin" --rate "$RATE" --seconds "$LAT_S" || true
log "latency: p50 $(j lat .p50_ms) ms, p99 $(j lat .p99_ms) ms"

log "bulk import: $IMPORT_N identities through idledger import on 4 validators"
IDLEDGER_PASSPHRASE=$(cat "$NET4/passphrase")
IDLEDGER_API_TOKEN=$(cat "$NET4/node0/api-token")
if "$IDL" import --help >/dev/null 2>&1; then
    lg csv csv --count "$IMPORT_N" --first 10000000 --unit 440000 --out "$D/import.csv"
    T0=$(now)
    if "$IDL" --node "$N4" --key "$NET4/admins/sysadmin.key" --timeout "$IMPORT_TIMEOUT" --json \
        import --org 440000 --csv "$D/import.csv" >"$D/import.out" 2>"$R/import.err"; then rc=0; else rc=$?; fi
    T1=$(now)
    # The refusals, counted by reason (the full list stays in $D/import.out).
    jq -c --argjson s "$(elapsed "$T0" "$T1")" --argjson rc "$rc" --argjson l "$(load1)" \
        '{rows, imported, refused, already, transactions, timing_ms, seconds: $s,
          rate: (.imported / $s), exit: $rc, load1: $l,
          refusals_by_reason: ([.refusals[]?.reason] | group_by(.) | map({reason: .[0], rows: length}))}' \
        "$D/import.out" >"$R/import.json" 2>/dev/null ||
        jq -n --argjson rc "$rc" '{exit: $rc, note: "import printed no JSON"}' >"$R/import.json"
    rm -f "$D/import.csv"
    log "import: $(j import .rate) identities/s ($(j import .imported) in $(j import .seconds) s)"
else
    jq -n '{skipped: true, note: "idledger import is not available in this build"}' >"$R/import.json"
    log "import: skipped (idledger import is not available in this build)"
fi
SETTLE4=$(wait_idle $V4)
IDENT4=$(jq -s '[.[] | (.committed_seen // .committed // .imported // 0)] | add + 6' \
    "$R/floor.json" "$R/tp4a.json" "$R/tp4b.json" "$R/lat.json" "$R/import.json")
RSS4=$(rss_mb "$V40")
DISK4=$(du_bytes "$NET4/node0/data")
jq -n --argjson ident "$IDENT4" --argjson rss "$RSS4" --argjson disk "$DISK4" \
    --argjson rate "$RATE" --argjson now "$(rss_now "$V40")" --argjson settle "$SETTLE4" \
    '{identities: $ident, rss_mb: $rss, rss_at_end: $now, disk_bytes: $disk, latency_rate: $rate,
      settle_seconds: $settle}' >"$R/chain4.json"
log "4-validator chain: $IDENT4 identities, node0 RSS peak $RSS4 MB, data $DISK4 bytes"
for p in $V4; do stop_pid "$p"; done

# ---------------------------------------------------------------- the table

WALL=$(elapsed "$START" "$(now)")
times >"$D/times1"
OTHERS=$(awk -v b0="$CPU0" -v b1="$(cpu_busy_s)" -v o0="$(own_cpu_s "$D/times0")" \
    -v o1="$(own_cpu_s "$D/times1")" \
    -v w="$WALL" -v c="$CORES" 'BEGIN { v = 100 * ((b1 - b0) - (o1 - o0)) / (w * c); printf "%.0f", v < 0 ? 0 : v }')
BUSY_AFTER=$(busy_pct)
jq -n --arg date "$(date -u +%FT%TZ)" --arg host "$(uname -srm)" \
    --arg cpu "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)" \
    --argjson cores "$CORES" --arg version "$(git describe --always --dirty 2>/dev/null || echo unknown)" \
    --arg load_before "$LOAD_BEFORE" --arg load_after "$(cat /proc/loadavg)" \
    --argjson busy_before "$BUSY_BEFORE" --argjson busy_after "$BUSY_AFTER" \
    --argjson quick "$([ -n "$QUICK" ] && echo true || echo false)" \
    --argjson wall "$WALL" --argjson others "$OTHERS" \
    '{date: $date, host: $host, cpu: $cpu, cores: $cores, version: $version,
      load_before: $load_before, load_after: $load_after, busy_before_pct: $busy_before,
      busy_after_pct: $busy_after, others_cpu_pct: $others, quick: $quick, wall_seconds: $wall}' \
    >"$R/machine.json"
"$HERE/tests/bench/table.sh" "$R" "$OUT"
log "wrote $OUT ($(elapsed "$START" "$(now)" | cut -d. -f1) s)"

#!/bin/sh
# ops.sh: what operators and shell users rely on, with real processes: --help and
# --version of both binaries; testnet's root naming; /health/live and /health/ready;
# /metrics parsed as Prometheus text and counting what happened; the CLI's passphrase
# from a file, from the environment, refused without either off a terminal, and asked on
# a terminal (a pty) without echo; --no-wait --json; the exit status of a node that cannot
# take a request now (5xx, a stand-in node); business-system tokens listed, added and
# revoked on a running node (refused from the very next request), and an unreadable
# tokens.json accepting none; a warning at start for a genesis.json others can read, and
# none at 0600; a config.json with an unknown log level refused at start; a
# clean stop on SIGINT (even for a node started in the background, where the shell ignores
# SIGINT) and on SIGTERM with a request body half sent; and `make run`'s script
# (scripts/devnet.sh) refusing to report a network whose node did not start.
. "$(dirname "$0")/lib.sh"

PORT=$((${IT_PORT_BASE:-18000} + 500))
REPO=$(cd "$(dirname "$0")/../.." && pwd)

# ---------------------------------------------------------------- --help and --version

expect_exit 0 "idledger --version" "$IDL" --version
like "$(cat "$OUT")" '^idledger [0-9]+\.[0-9]+\.[0-9]+' "idledger --version prints its version"
expect_exit 0 "idledgerd --version" "$IDLD" --version
like "$(cat "$OUT")" '^idledgerd [0-9]+\.[0-9]+\.[0-9]+' "idledgerd --version prints its version"
expect_exit 0 "idledger --help" "$IDL" --help
like "$(head -n 1 "$OUT")" '^usage: idledger ' "idledger --help starts with its usage"
for cmd in "account add" "read-audit" "sign-request" "testnet" "import"; do
    like "$(cat "$OUT")" "^  $cmd " "idledger --help lists $cmd"
done
like "$(cat "$OUT")" 'no commit in time' "idledger --help explains exit status 3"
expect_exit 0 "idledger account add --help" "$IDL" account add --help
like "$(head -n 1 "$OUT")" '^usage: idledger account add --id ID' "account add --help shows its synopsis"
expect_exit 0 "idledger key --help" "$IDL" key --help
is "$(grep -c '^  key ' "$OUT") $(grep -c 'org add' "$OUT")" "2 0" "key --help lists the key commands only"
expect_exit 0 "idledgerd --help" "$IDLD" --help
like "$(cat "$OUT")" 'token revoke NAME' "idledgerd --help lists the token commands"
expect_exit 2 "idledgerd without --home is a usage error" "$IDLD"
expect_exit 2 "idledger with an unknown command is a usage error" "$IDL" frobnicate

# ---------------------------------------------------------------- testnet naming

expect_exit 2 "testnet --org-code 450000 without --org-name is a usage error" \
    "$IDL" testnet --dir "$T/gx" --org-code 450000
like "$(cat "$ERR")" 'needs --org-name' "the reason asks for --org-name"
check "and nothing was written" [ ! -e "$T/gx" ]
expect_exit 0 "testnet --org-code 450000 --org-name 广西壮族自治区教育厅" \
    "$IDL" testnet --dir "$T/gx" --org-code 450000 --org-name 广西壮族自治区教育厅 --base-port "$PORT"
check "the genesis names 广西壮族自治区教育厅 and not the default 广东省教育厅" \
    sh -c "grep -q 广西壮族自治区教育厅 '$T/gx/genesis.json' && ! grep -q 广东省教育厅 '$T/gx/genesis.json'"
rm -rf "$T/gx"

# A genesis_time far ahead of the clock: every block would carry it (a block's time is at
# least its parent's), so the node does not start.
"$IDL" testnet --dir "$T/fut" --base-port "$PORT" >/dev/null || bail "testnet failed"
jq '.genesis_time = "2126-01-01T00:00:00Z"' "$T/fut/genesis.json" >"$T/fut/g" &&
    cat "$T/fut/g" >"$T/fut/genesis.json"
expect_exit 1 "a node with a genesis_time a century ahead does not start" \
    "$IDLD" --home "$T/fut/node0"
like "$(cat "$ERR")" 'genesis_time is more than an hour ahead' "... and says why"
rm -rf "$T/fut"

# ---------------------------------------------------------------- health and metrics

net_up "$T/net" "$PORT"

# http PATH: GET without a token; body in $T/.body, status in $CODE, headers in $T/.headers.
http() {
    CODE=$(curl -s -m 10 -o "$T/.body" -D "$T/.headers" -w '%{http_code}' "$API$1") || CODE=000
}
header() {
    tr -d '\r' <"$T/.headers" | sed -n "s/^$1: *//Ip" | tail -n 1
}

http /health/live
is "$CODE $(jq -r .status "$T/.body")" "200 live" "GET /health/live: 200 live, no token needed"
http /health/ready
is "$CODE $(jq -r .status "$T/.body")" "200 ready" "GET /health/ready: 200 ready on a node that is caught up"

# metrics_check FILE: every line of FILE is a comment (# HELP / # TYPE) or a sample
# `name{label="value",...} number`; every sample's family was declared by a # TYPE line
# before it, with a known type. Prints what is wrong, nothing if all is well.
metrics_check() {
    awk '
    /^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* / { next }
    /^# TYPE / {
        if ($4 !~ /^(counter|gauge|summary|histogram|untyped)$/) print "bad type: " $0
        type[$3] = $4; next
    }
    /^#/ { print "bad comment: " $0; next }
    {
        if ($0 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*\})? [-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$/) {
            print "bad sample: " $0; next
        }
        name = $1; sub(/\{.*/, "", name)
        fam = name
        if (!(fam in type)) { sub(/_(sum|count|bucket)$/, "", fam) }
        if (!(fam in type)) print "sample without # TYPE: " $0
        n++
    }
    END { if (n == 0) print "no samples" }' "$1"
}
# metric FILE SAMPLE: the value of the sample named exactly SAMPLE (name and labels).
metric() {
    awk -v s="$2" '$1 == s { print $2 }' "$1"
}

http /metrics
cp "$T/.body" "$T/m0"
is "$CODE" 200 "GET /metrics: 200, no token needed"
like "$(header Content-Type)" '^text/plain; version=0\.0\.4' "GET /metrics: Prometheus text format 0.0.4"
is "$(metrics_check "$T/m0")" "" "every /metrics line parses as Prometheus text, every sample typed"
for s in idledger_height idledger_mempool_txs 'idledger_block_txs_total{result="committed"}' \
    'idledger_block_txs_total{result="rejected"}' 'idledger_pool_txs_total{result="admitted"}' \
    'idledger_pool_txs_total{result="refused"}' idledger_block_commit_seconds_count \
    'idledger_http_requests_total{code="2xx"}' 'idledger_store_tables{level="0"}' \
    'idledger_store_level_bytes{level="6"}' 'idledger_store_compaction_seconds_total{level="1"}' \
    'idledger_store_compaction_bytes_total{level="2",op="write"}'; do
    like "$(metric "$T/m0" "$s")" '^[0-9.]+$' "/metrics has $s"
done
like "$(metric "$T/m0" idledger_store_memory_bytes)" '^[1-9][0-9]*$' \
    "/metrics: LevelDB's memtables and cache hold some memory (idledger_store_memory_bytes)"
is "$(grep -c 'result="refused_at_admission"' "$T/m0")" 0 "pool and block outcomes are two metrics, not one"
is "$(metric "$T/m0" idledger_consensus_halted)" 0 "/metrics: idledger_consensus_halted 0 on a healthy validator"
is "$(metric "$T/m0" idledger_consensus_equivocations_total)" 0 \
    "/metrics: idledger_consensus_equivocations_total 0 with no faulty validator"

expect_exit 0 "a transaction commits" "$IDL" --key "$ROOT_SYS" --basis "$(form city)" \
    org add --code 440100 --name 广州市教育局 --kind city --parent 440000
expect_exit 1 "a transaction the ledger refuses (the auditor adds a city)" "$IDL" --key "$ROOT_AUD" \
    --basis "$(form city2)" org add --code 440300 --name 深圳市教育局 --kind city --parent 440000
curl -s -m 10 -H "Content-Type: application/json" -d '{"tx":"00ff00ff00ff00ff"}' \
    "$API/v1/tx" >/dev/null
http /metrics
cp "$T/.body" "$T/m1"
is "$(metrics_check "$T/m1")" "" "/metrics still parses after traffic"
delta() {
    echo $(($(metric "$T/m1" "$1") - $(metric "$T/m0" "$1")))
}
is "$(delta 'idledger_block_txs_total{result="committed"}')" 1 "one more committed transaction in blocks"
is "$(delta 'idledger_block_txs_total{result="rejected"}')" 1 "one more transaction refused by the rules in blocks"
is "$(delta 'idledger_pool_txs_total{result="admitted"}')" 2 "two more admitted to the pool"
is "$(delta 'idledger_pool_txs_total{result="refused"}')" 1 "one more refused at admission (it does not decode)"
is "$(metric "$T/m1" idledger_height)" "$(height)" "idledger_height is the height of /v1/status"

# ---------------------------------------------------------------- passphrases

PASS=$(cat "$NET/passphrase")
printf '%s\n' "$PASS" >"$T/pass.file"
printf 'not the passphrase\n' >"$T/wrong.file"
unset IDLEDGER_PASSPHRASE
expect_exit 0 "--passphrase-file opens the key" \
    "$IDL" --key "$ROOT_AUD" --passphrase-file "$T/pass.file" read-audit --org 440000
expect_exit 2 "a wrong --passphrase-file is a usage error" \
    "$IDL" --key "$ROOT_AUD" --passphrase-file "$T/wrong.file" read-audit --org 440000
expect_exit 2 "a missing --passphrase-file is a usage error" \
    "$IDL" --key "$ROOT_AUD" --passphrase-file "$T/none.file" read-audit --org 440000
expect_exit 2 "no passphrase off a terminal is a usage error, not a hang" \
    "$IDL" --key "$ROOT_AUD" read-audit --org 440000
like "$(cat "$ERR")" 'passphrase-file|IDLEDGER_PASSPHRASE' "the reason says where a passphrase comes from"
expect_exit 0 "\$IDLEDGER_PASSPHRASE opens the key" \
    env IDLEDGER_PASSPHRASE="$PASS" "$IDL" --key "$ROOT_AUD" read-audit --org 440000

# ptyrun PASS CMD...: runs CMD on a pseudo-terminal, answering each passphrase prompt
# ("passphrase", "again") with PASS; the terminal's whole output goes to $OUT, CMD's exit
# status to $RC.
cat >"$T/ptyrun.py" <<'EOF_PY'
import os, pty, select, sys
password = sys.argv[1].encode() + b"\n"
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
out, answered = b"", 0
while True:
    ready, _, _ = select.select([fd], [], [], 30)
    if not ready:
        os.kill(pid, 9)
        break
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    out += data
    prompts = out.count(b"passphrase") + out.count(b"again:")
    while answered < prompts and out.rstrip().endswith(b":"):
        os.write(fd, password)
        answered += 1
sys.stdout.buffer.write(out)
_, status = os.waitpid(pid, 0)
sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128)
EOF_PY
ptyrun() {
    RC=0
    python3 "$T/ptyrun.py" "$@" >"$OUT" 2>"$ERR" </dev/null || RC=$?
}
if command -v python3 >/dev/null; then
    ptyrun "$PASS" "$IDL" --key "$ROOT_SYS" --basis "$(form zhuhai)" \
        org add --code 440400 --name 珠海市教育局 --kind city --parent 440000
    is "$RC" 0 "on a terminal, the CLI asks for the passphrase and the transaction commits"
    like "$(cat "$OUT")" "passphrase for .*sysadmin\.key: " "the prompt names the key file"
    like "$(cat "$OUT")" 'committed: org\.add 440400' "and it reports the commit"
    unlike "$(cat "$OUT")" "$PASS" "the passphrase is not echoed"
    ptyrun "new-pass-123" "$IDL" key new --out "$T/pty.key"
    is "$RC" 0 "key new on a terminal asks twice and writes the key"
    like "$(cat "$OUT")" '^new passphrase: ' "key new asks for the new passphrase"
    like "$(cat "$OUT")" '^again: ' "then for it again"
    unlike "$(cat "$OUT")" 'new-pass-123' "the new passphrase is not echoed"
    printf 'new-pass-123\n' >"$T/pty.pass"
    expect_exit 0 "the key written on the terminal opens with that passphrase" \
        "$IDL" --key "$T/pty.key" --passphrase-file "$T/pty.pass" sign-request GET /v1/status
else
    for i in 1 2 3 4 5 6 7 8 9; do pass "# SKIP no python3 for a pseudo-terminal"; done
fi
IDLEDGER_PASSPHRASE=$PASS
export IDLEDGER_PASSPHRASE

# ---------------------------------------------------------------- --no-wait --json

expect_exit 0 "--no-wait --json returns once accepted" "$IDL" --json --no-wait --key "$ROOT_SYS" \
    --basis "$(form nowait)" org add --code 440300 --name 深圳市教育局 --kind city --parent 440000
is "$(jq -c 'keys' "$OUT")" '["txid"]' "--no-wait --json prints the node's answer, {\"txid\"}"
like "$(jq -r .txid "$OUT")" '^[0-9a-f]{64}$' "with the transaction's id"

# ---------------------------------------------------------------- a node that cannot take it now

# A stand-in node that answers what a node answers up to the submission, and 503 to it.
cat >"$T/node503.py" <<'EOF_PY'
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        if self.path == "/v1/status":
            self.reply(200, {"chain_id": "dev", "height": 1})
        elif self.path.startswith("/v1/keys/"):
            self.reply(200, {"account": "root-sysadmin"})
        elif self.path.endswith("/nonce"):
            self.reply(200, {"account": "root-sysadmin", "next_nonce": 1})
        else:
            self.reply(503, {"error": {"code": "unavailable", "message": "catching up"}})
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.reply(503, {"error": {"code": "unavailable", "message": "the pool is full"}})
    def log_message(self, *a):
        pass
HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF_PY
P503=$((PORT + 40))
python3 "$T/node503.py" "$P503" &
track_pid $!
i=0
until curl -s -m 1 -o /dev/null "http://127.0.0.1:$P503/v1/status" || [ $i -ge 50 ]; do
    sleep 0.1
    i=$((i + 1))
done
expect_exit 3 "a submission answered 503 exits 3 (not judged), not 1 (rejected)" \
    "$IDL" --node "http://127.0.0.1:$P503" --key "$ROOT_SYS" --basis "$(form f503)" \
    org add --code 440500 --name x --kind city --parent 440000
like "$(cat "$ERR")" 'cannot take it now: the pool is full' "the reason is the node's"
expect_exit 3 "a query answered 503 exits 3" "$IDL" --node "http://127.0.0.1:$P503" account show x

# ---------------------------------------------------------------- tokens on a running node

expect_exit 0 "token list" "$IDLD" --home "$NODE_HOME" token list
like "$(cat "$OUT")" '^devnet	20[0-9-]+T' "token list names the testnet's system and when its token was made"
unlike "$(cat "$OUT")" 'idl_' "token list shows no token"
expect_exit 0 "token add teacher-system" "$IDLD" --home "$NODE_HOME" token add teacher-system
TEACHER=$(cat "$OUT")
like "$TEACHER" '^idl_[0-9a-f]{64}$' "token add prints the new token once"
expect_exit 1 "token add of a name that has one is refused" \
    "$IDLD" --home "$NODE_HOME" token add teacher-system
tok_get() {
    curl -s -m 10 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "$API/v1/accounts/root-sysadmin"
}
is "$(tok_get "$TEACHER")" 200 "the new token works at once on the running node"
expect_exit 0 "token revoke teacher-system" "$IDLD" --home "$NODE_HOME" token revoke teacher-system
is "$(tok_get "$TEACHER")" 401 "the revoked token is refused by the very next request"
is "$(tok_get "$IDLEDGER_API_TOKEN")" 200 "the other token still works"
expect_exit 1 "token revoke of an unknown name is refused" \
    "$IDLD" --home "$NODE_HOME" token revoke teacher-system
like "$(cat "$ERR")" 'not found|no such' "and says so"
mv "$NODE_HOME/tokens.json" "$T/tokens.json.saved"
mkdir "$NODE_HOME/tokens.json"
is "$(tok_get "$IDLEDGER_API_TOKEN")" 401 "tokens.json unreadable: no token is accepted (fail closed)"
curl -s -m 10 -H "Authorization: Bearer $IDLEDGER_API_TOKEN" "$API/v1/accounts/root-sysadmin" >"$T/.b"
like "$(jq -r .error.message "$T/.b")" 'cannot read its token file' "the answer says the token file cannot be read"
rmdir "$NODE_HOME/tokens.json"
is "$(tok_get "$IDLEDGER_API_TOKEN")" 401 "tokens.json deleted: no token is valid"
mv "$T/tokens.json.saved" "$NODE_HOME/tokens.json"
is "$(tok_get "$IDLEDGER_API_TOKEN")" 200 "tokens.json back: the token works again"
check "the node logged once that it could not read tokens.json" \
    [ "$(grep -c 'cannot read tokens.json' "$NODE_LOG")" = 1 ]

# ---------------------------------------------------------------- stopping

# A request whose body is half sent does not hold up a stop.
python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /v1/tx HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"tx\":")
time.sleep(30)' "$PORT" &
track_pid $!
sleep 0.5
h=$(height)
expect_exit 0 "node stops cleanly on SIGTERM with a request body half sent" node_stop

# node_stop_int: like node_stop, with SIGINT.
node_stop_int() {
    kill -INT "$NODE_PID"
    _i=0
    while alive "$NODE_PID" && [ $_i -lt 100 ]; do
        sleep 0.1
        _i=$((_i + 1))
    done
    _rc=0
    if alive "$NODE_PID"; then
        kill -9 "$NODE_PID"
        _rc=99
    fi
    wait "$NODE_PID" || _rc=$?
    untrack_pid "$NODE_PID"
    NODE_PID=""
    return $_rc
}
check "node restarts" node_start || bail "the node does not restart"
is "$(height)" "$h" "it restarts at the height it stopped at"
expect_exit 0 "a node started in the background stops cleanly on SIGINT (exit 0)" node_stop_int
is "$(tail -n 3 "$NODE_LOG" | jq -r 'select(.msg == "stopping") | .signal')" SIGINT \
    "its log says it stopped on SIGINT"
is "$(tail -n 1 "$NODE_LOG" | jq -r .msg)" stopped "and that it stopped"
check "node restarts after SIGINT" node_start || bail "the node does not restart"
is "$(height)" "$h" "at the same height"
expect_exit 0 "node stops cleanly on SIGTERM" node_stop

# ---------------------------------------------------------------- a genesis others can read

# genesis.json holds the chain secret: a node started with it readable by others warns at
# start (before it serves, so the line is there once it answers); at 0600, as testnet
# writes it, it does not. Only the lines of that one start are looked at.
# genesis_warnings FROM: the hints of the warnings in the node log from line FROM on.
genesis_warnings() {
    tail -n +"$1" "$NODE_LOG" |
        jq -r 'select(.msg == "genesis file readable by other users") | .hint'
}
is "$(stat -c %a "$NET/genesis.json")" 600 "testnet writes genesis.json readable by its owner only"
chmod 644 "$NET/genesis.json"
from=$(($(wc -l <"$NODE_LOG") + 1))
check "node starts with genesis.json at mode 0644" node_start || bail "the node does not start"
is "$(genesis_warnings "$from")" "it holds the chain secret: chmod 600" \
    "with genesis.json at 0644 the node warns, once, that others can read it"
expect_exit 0 "node stops cleanly" node_stop
chmod 600 "$NET/genesis.json"
from=$(($(wc -l <"$NODE_LOG") + 1))
check "node starts with genesis.json at mode 0600" node_start || bail "the node does not start"
is "$(genesis_warnings "$from")" "" "with genesis.json at 0600 it does not"
expect_exit 0 "node stops cleanly" node_stop

# ---------------------------------------------------------------- config.json strictness

cp "$NODE_HOME/config.json" "$T/config.saved"
jq '.log_level = "loud"' "$T/config.saved" >"$NODE_HOME/config.json"
expect_exit 1 "a config.json with log_level \"loud\" stops the node at start" \
    "$IDLD" --home "$NODE_HOME"
like "$(cat "$ERR")" 'log_level must be debug, info, warn or error' "with a one-line reason naming log_level"
jq '.log_levle = "info"' "$T/config.saved" >"$NODE_HOME/config.json"
expect_exit 1 "a config.json with a misspelt option stops the node" "$IDLD" --home "$NODE_HOME"
like "$(cat "$ERR")" 'unknown option log_levle' "naming the option"

# empty_blocks_ms: an idle node makes an empty block that often, not only at its 1 s tick
# (4 s at 300 ms is about 13 blocks; without it, about 7 here).
jq '.empty_blocks_ms = 300' "$T/config.saved" >"$NODE_HOME/config.json"
check "node starts with empty_blocks_ms 300" node_start || bail "the node does not start"
h0=$(height)
sleep 4
h1=$(height)
ok [ $((h1 - h0)) -ge 10 ]
diag "empty blocks in 4 s at 300 ms: $((h1 - h0))"
expect_exit 0 "node stops cleanly" node_stop
cp "$T/config.saved" "$NODE_HOME/config.json"

# ---------------------------------------------------------------- make run's script

# devnet DIR PORT: scripts/devnet.sh on a 1-validator network in DIR, in the background;
# its output in $T/devnet.out.
DEVNET="$REPO/scripts/devnet.sh"
DPORT=$((PORT + 20))
: >"$T/devnet.out"
DEVNET_DIR="$T/dev" BASE_PORT=$DPORT VALIDATORS=1 BIN="$T/bin" sh "$DEVNET" >"$T/devnet.out" 2>&1 &
DPID=$!
track_pid "$DPID"
i=0
until grep -q 'nodes running' "$T/devnet.out" || ! alive "$DPID" || [ $i -ge 200 ]; do
    sleep 0.1
    i=$((i + 1))
done
like "$(cat "$T/devnet.out")" '1 nodes running' "devnet.sh reports the network once its node answers"
is "$(curl -s -m 5 "http://127.0.0.1:$DPORT/health/live" | jq -r .status)" live "and the node answers"
kill -TERM "$DPID"
rc=0
wait "$DPID" || rc=$?
untrack_pid "$DPID"
is "$rc" 0 "devnet.sh stops the network and exits 0 on SIGTERM"
like "$(tail -n 1 "$T/devnet.out")" '^stopped; the chain is kept' "and says the chain is kept"

# The node's API port taken by another program: the script must not say it runs.
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); time.sleep(60)' "$DPORT" &
LPID=$!
track_pid "$LPID"
sleep 0.3
expect_exit 1 "devnet.sh with the node's port taken exits 1" \
    env DEVNET_DIR="$T/dev" BIN="$T/bin" sh "$DEVNET"
unlike "$(cat "$OUT" "$ERR")" 'nodes running' "and does not say the network runs"
like "$(cat "$ERR")" 'node0 did not start' "it names the node that did not start"
like "$(cat "$ERR")" 'cannot serve the API on 127\.0\.0\.1:'"$DPORT"'.*in use' \
    "and shows why, from the end of its log"
kill -9 "$LPID" 2>/dev/null
done_testing

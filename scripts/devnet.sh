#!/bin/sh
# make run: a local network in ./devnet, in the foreground until Ctrl-C.
#
# The first run writes a 4-validator network (idledger testnet); later runs reuse it, so
# the chain survives restarts. Logs go to devnet/nodeK/node.log; a status line shows the
# nodes' heights every few seconds. Ctrl-C stops every node cleanly (SIGTERM).
set -eu
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/bin}
DIR=${DEVNET_DIR:-devnet}
VALIDATORS=${VALIDATORS:-4}
PORT=${BASE_PORT:-7700}

if [ ! -f "$DIR/genesis.json" ]; then
    "$BIN/idledger" testnet --dir "$DIR" --validators "$VALIDATORS" --base-port "$PORT"
fi

pids=""
stop() {
    trap - INT TERM
    echo
    echo "stopping the network..."
    for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
    echo "stopped; the chain is kept in $DIR (rm -rf $DIR for a fresh one)"
    exit 0
}
trap stop INT TERM

nodes=0
for home in "$DIR"/node*; do
    [ -f "$home/config.json" ] || continue
    "$BIN/idledgerd" --home "$home" 2>>"$home/node.log" &
    pids="$pids $!"
    nodes=$((nodes + 1))
done

cat <<MSG

idledger devnet: $nodes nodes running (logs: $DIR/nodeK/node.log). In another terminal:

  export IDLEDGER_NODE=http://127.0.0.1:$PORT
  export IDLEDGER_API_TOKEN=\$(cat $DIR/node0/api-token)
  export IDLEDGER_PASSPHRASE=\$(cat $DIR/passphrase)
  bin/idledger status
  bin/idledger --key $DIR/admins/sysadmin.key org add --code 440100 --name 广州市教育局 \\
      --kind city --parent 440000

(the README's quick start continues from there). Ctrl-C stops the network.

MSG

while :; do
    sleep 5 &
    wait $! || true
    line=""
    k=0
    for home in "$DIR"/node*; do
        port=$((PORT + 2 * k))
        h=$(curl -s -m 1 "http://127.0.0.1:$port/v1/status" | sed -n 's/.*"height":\([0-9]*\).*/\1/p')
        line="$line node$k=${h:-down}"
        k=$((k + 1))
    done
    echo "$(date +%H:%M:%S) heights:$line"
done

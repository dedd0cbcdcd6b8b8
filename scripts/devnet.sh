#!/bin/sh
# make run: a local network in ./devnet, in the foreground until Ctrl-C.
#
# The first run writes a network of VALIDATORS validators (default 4) whose node K serves
# its API on BASE_PORT+2K (default 7700) and peers on the port above (idledger testnet);
# later runs reuse it, so the chain survives restarts (its ports are in each node's
# config.json). DEVNET_DIR (default devnet) moves it. Logs go to DIR/nodeK/node.log; a
# status line shows the nodes' heights every few seconds. Every node must answer
# /health/live within 15 s, or the script says which did not and why (the end of its
# log), stops the others and exits 1. Ctrl-C stops every node cleanly (SIGTERM).
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
homes=""
stop_nodes() {
    for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
}
stop() {
    trap - INT TERM
    echo
    echo "stopping the network..."
    stop_nodes
    echo "stopped; the chain is kept in $DIR (rm -rf $DIR for a fresh one)"
    exit 0
}
trap stop INT TERM

# api_of HOME: the node's API address (host:port), from its configuration.
api_of() {
    jq -r '.api_listen // "127.0.0.1:7700"' "$1/config.json"
}

# alive PID: the process runs (a zombie, not yet reaped, counts as dead).
alive() {
    _st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$_st" ] && [ "$_st" != Z ]
}

# started PID HOME: within 15 s, the process answers /health/live and /v1/status names its
# node_id (not some other process that holds the port), and is still running.
started() {
    _id=$(jq -r .node_id "$2/config.json")
    _url="http://$(api_of "$2")"
    _i=0
    while [ $_i -lt 150 ]; do
        alive "$1" || return 1
        if curl -s -f -m 1 -o /dev/null "$_url/health/live" &&
            [ "$(curl -s -m 1 "$_url/v1/status" | jq -r .node_id 2>/dev/null)" = "$_id" ]; then
            alive "$1"
            return
        fi
        sleep 0.1
        _i=$((_i + 1))
    done
    return 1
}

for home in "$DIR"/node*; do
    [ -f "$home/config.json" ] || continue
    "$BIN/idledgerd" --home "$home" 2>>"$home/node.log" &
    pids="$pids $!"
    homes="$homes $home"
done
[ -n "$pids" ] || {
    echo "idledger devnet: no node homes in $DIR" >&2
    exit 1
}

set -- $pids
for home in $homes; do
    pid=$1
    shift
    if ! started "$pid" "$home"; then
        {
            echo "idledger devnet: $(basename "$home") did not start (API $(api_of "$home"));" \
                "the end of $home/node.log:"
            tail -n 15 "$home/node.log" | sed 's/^/  /'
        } >&2
        trap - INT TERM
        stop_nodes
        exit 1
    fi
done
# A node that bound its ports dies at once if another process holds one: look again.
sleep 0.5
set -- $pids
for home in $homes; do
    if ! alive "$1"; then
        {
            echo "idledger devnet: $(basename "$home") stopped right after it started;" \
                "the end of $home/node.log:"
            tail -n 15 "$home/node.log" | sed 's/^/  /'
        } >&2
        trap - INT TERM
        stop_nodes
        exit 1
    fi
    shift
done

API0=$(api_of "$DIR/node0")
cat <<MSG

idledger devnet: $(echo $pids | wc -w) nodes running (logs: $DIR/nodeK/node.log). In another terminal:

  cd $PWD
  export PATH=\$PWD/bin:\$PATH
  export IDLEDGER_NODE=http://$API0
  export IDLEDGER_API_TOKEN=\$(cat $DIR/node0/api-token)
  export IDLEDGER_PASSPHRASE=\$(cat $DIR/passphrase)
  idledger status

and the README's quick start from there. Ctrl-C stops the network.

MSG

while :; do
    sleep 5 &
    wait $! || true
    line=""
    for home in $homes; do
        h=$(curl -s -m 1 "http://$(api_of "$home")/v1/status" | jq -r '.height // empty' 2>/dev/null || true)
        line="$line $(basename "$home")=${h:-down}"
    done
    echo "$(date +%H:%M:%S) heights:$line"
done

#!/bin/sh
# valgrind.sh: the daemon under valgrind's memcheck, through a short life: start, the
# transactions and queries of a day (an organisation, a system, a real-name account, a
# grant, verify, a real-name check, bad requests), then SIGTERM. The node must stop with
# status 0 and valgrind must report no error and no block definitely lost. Skipped for a
# sanitizer build (AddressSanitizer and valgrind do not run together).
. "$(dirname "$0")/lib.sh"

PORT=$((${IT_PORT_BASE:-18000} + 900))

if ! command -v valgrind >/dev/null 2>&1 || ldd "$IDLD" | grep -q 'libasan'; then
    echo "ok 1 # SKIP valgrind is missing or the binaries are built with AddressSanitizer"
    echo "1..1"
    trap - EXIT
    rm -rf "$T"
    exit 0
fi

# The node runs under valgrind from here on (node_start runs "$IDLD").
REAL_IDLD=$IDLD
IDLD="$T/idledgerd-vg"
cat >"$IDLD" <<EOF
#!/bin/sh
exec valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
    --log-file="$T/valgrind.log" "$REAL_IDLD" "\$@"
EOF
chmod +x "$IDLD"

# net_up with a longer wait: memcheck starts slowly.
for p in "$PORT" $((PORT + 1)); do
    port_free "$p" || bail "port $p is in use; set IT_PORT_BASE elsewhere"
done
"$IDL" testnet --dir "$T/net" --base-port "$PORT" >"$T/testnet.out" 2>&1 || bail "testnet failed"
NODE_HOME="$T/net/node0"
NODE_LOG="$T/net/node0.log"
API="http://127.0.0.1:$PORT"
IDLEDGER_NODE=$API
IDLEDGER_API_TOKEN=$(cat "$NODE_HOME/api-token")
IDLEDGER_PASSPHRASE=$(cat "$T/net/passphrase")
export IDLEDGER_NODE IDLEDGER_API_TOKEN IDLEDGER_PASSPHRASE
ROOT_SYS="$T/net/admins/sysadmin.key"
ROOT_SEC="$T/net/admins/secadmin.key"
"$IDLD" --home "$NODE_HOME" >>"$NODE_LOG.stdout" 2>>"$NODE_LOG" </dev/null &
NODE_PID=$!
track_pid "$NODE_PID"
i=0
until [ -n "$(curl -s -m 1 "$API/v1/status" 2>/dev/null | jq -r '.height | numbers' 2>/dev/null)" ]; do
    alive "$NODE_PID" || bail "the node died under valgrind: $(tail -c 600 "$T/valgrind.log")"
    [ $i -lt 600 ] || bail "the node did not answer within 60 s under valgrind"
    sleep 0.1
    i=$((i + 1))
done
pass "idledgerd starts under valgrind"

T60="--timeout 120"
# shellcheck disable=SC2086
expect_exit 0 "a city is added" "$IDL" $T60 --key "$ROOT_SYS" --basis "$(form city)" \
    org add --code 440100 --name 广州市教育局 --kind city --parent 440000
# shellcheck disable=SC2086
expect_exit 0 "the teacher system is added" "$IDL" $T60 --key "$ROOT_SYS" \
    system add --code teacher --name 全国教师管理信息系统 --roles query,manager
# shellcheck disable=SC2086
expect_exit 0 "a real-name business account is added" "$IDL" $T60 --key "$ROOT_SYS" \
    account add --id t1 --org 440000 --class business --name 王芳 \
    --id-number "$(idnum 44010619900307123)" --email wangfang@example.edu.cn
# shellcheck disable=SC2086
expect_exit 0 "the account is granted a role" "$IDL" $T60 --key "$ROOT_SEC" \
    grant add --account t1 --system teacher --role query
# shellcheck disable=SC2086
expect_exit 0 "verify answers" "$IDL" $T60 verify --account t1 --system teacher --role query
like "$(cat "$OUT")" '^allowed' "verify: allowed"
# shellcheck disable=SC2086
expect_exit 1 "the auditor's attempt is refused" "$IDL" $T60 --key "$T/net/admins/auditor.key" \
    account disable --id t1 --reason 测试 --basis "$(form disable)"
is "$(api /v1/accounts/t1 | jq -r .status)" active "an account query answers"
is "$(api /v1/realname/check -X POST --data-binary "{\"id_number\":\"$(idnum 11010519491231002)\",\"name\":\"张三\"}" |
    jq -r .registered)" false "a real-name check answers"
is "$(api /v1/tx -X POST --data-binary '{"tx":' >/dev/null; status_code)" 400 "malformed JSON: 400"
is "$(curl -s -o /dev/null -w '%{http_code}' "$API/v1/accounts/t1")" 401 "no token: 401"
is "$(curl -s -o /dev/null -w '%{http_code}' "$API/metrics")" 200 "metrics answer"

kill -TERM "$NODE_PID"
i=0
while alive "$NODE_PID" && [ $i -lt 600 ]; do
    sleep 0.1
    i=$((i + 1))
done
rc=0
wait "$NODE_PID" || rc=$?
untrack_pid "$NODE_PID"
NODE_PID=""
is "$rc" 0 "the node stops with status 0 on SIGTERM (99 would be valgrind's errors)"
is "$(grep -c -v '^==[0-9]*== *$' "$T/valgrind.log")" 0 \
    "valgrind reports no error and no leak (--quiet prints only those)"
if [ -s "$T/valgrind.log" ]; then diag_file "$T/valgrind.log" "valgrind"; fi
done_testing

#!/bin/sh
# bad_input.sh: hostile and broken HTTP requests against a running node. Each gets the
# documented 4xx status (docs/API.md) and a JSON error {"error": {"code", "message"}}
# (Content-Type application/json)
# whose message never echoes the submitted ID number, mobile, e-mail or name; afterwards
# the node still serves, still commits, and its height moved only for what we committed.
. "$(dirname "$0")/lib.sh"

PORT=$((${IT_PORT_BASE:-18000} + 100))
[ -x "$TOOLS/loadgen" ] || bail "no loadgen in TOOLS=$TOOLS (make build/tools/loadgen)"
net_up "$T/net" "$PORT"
TOKEN=$IDLEDGER_API_TOKEN

h0=$(height)
is "$h0" 0 "a fresh chain starts at height 0"

# http METHOD PATH [CURL ARGS...]: body in $T/.body, status in $CODE.
http() {
    _m=$1 _p=$2
    shift 2
    CODE=$(curl -s -m 20 -o "$T/.body" -w '%{http_code}' -D "$T/.headers" -X "$_m" "$@" "$API$_p") || true
    [ -n "$CODE" ] || CODE=000
}

# bad NAME STATUS [SECRET...]: the last answer had HTTP STATUS and a JSON error (with
# Content-Type application/json) whose code and message are non-empty strings, and the
# answer contains none of SECRET.
bad() {
    _bname=$1 _want=$2
    shift 2
    is "$CODE" "$_want" "$_bname: HTTP $_want"
    if [ "$(jq -r '(.error.code | type == "string" and length > 0) and
              (.error.message | type == "string" and length > 0)' "$T/.body" 2>/dev/null)" = true ]; then
        pass "$_bname: JSON error with .error.code and .error.message ($(jq -r '(.error.code + ": " + .error.message)[0:80]' "$T/.body"))"
    else
        fail "$_bname: JSON error with .error.code and .error.message"
        diag "body: $(head -c 300 "$T/.body")"
    fi
    _ct=$(tr -d '\r' <"$T/.headers" | sed -n 's/^[Cc]ontent-[Tt]ype: *//p' | tail -n 1)
    like "$_ct" '^application/json' "$_bname: Content-Type is application/json"
    if [ $# -gt 0 ]; then
        _msg=$(jq -r '.error.message // empty' "$T/.body" 2>/dev/null)
        _leak=""
        for _s in "$@"; do
            case "$_msg" in *"$_s"*) _leak="$_leak $_s" ;; esac
            grep -qF -- "$_s" "$T/.body" && _leak="$_leak (body)$_s"
        done
        is "$_leak" "" "$_bname: the answer does not contain the submitted personal data"
    fi
}

AUTH="Authorization: Bearer $TOKEN"
JSON="Content-Type: application/json"

# ---------------------------------------------------------------- POST /v1/tx

http POST /v1/tx -H "$JSON" --data-binary '{"tx":'
bad "POST /v1/tx with truncated JSON" 400
http POST /v1/tx -H "$JSON" --data-binary '{"tx": "00", }'
bad "POST /v1/tx with a trailing comma" 400
http POST /v1/tx -H "$JSON" --data-binary '["00"]'
bad "POST /v1/tx with a JSON array body" 400
http POST /v1/tx -H "$JSON" --data-binary ''
bad "POST /v1/tx with an empty body" 400
http POST /v1/tx -H "$JSON" --data-binary '{"tx": 12}'
bad "POST /v1/tx with tx not a string" 400
http POST /v1/tx -H "$JSON" --data-binary "$(printf '{"tx":"00\001"}')"
bad "POST /v1/tx with a control character in a string" 400

awk 'BEGIN { s = "0123456789abcdef"; while (length(s) < 1100000) s = s s;
             printf "{\"tx\":\"%s\"}", s }' >"$T/big.json"
like "$(wc -c <"$T/big.json")" '^ *[0-9]{7,}$' "the oversized body is over 1 MiB ($(wc -c <"$T/big.json") bytes)"
http POST /v1/tx -H "$JSON" --data-binary "@$T/big.json"
bad "POST /v1/tx with a body over 1 MiB" 413
# Over the largest limit of all (the batch endpoint's 16 MiB): still the node's own 413
# JSON, answered from the Content-Length before the body is read.
head -c 17000000 /dev/zero | tr '\0' 0 >"$T/huge.txt"
http POST /v1/txs -H "$JSON" --data-binary "@$T/huge.txt"
bad "POST /v1/txs with a body over 16 MiB" 413
http POST /v1/tx -H "$JSON" -H "Content-Length: 99999999999999999999999" --data-binary '{}'
bad "POST /v1/tx with a Content-Length beyond 64 bits" 400
# A chunked body is refused as such (411), not read as an empty one.
http POST /v1/tx -H "$JSON" -H "Transfer-Encoding: chunked" --data-binary '{"tx":"00"}'
bad "POST /v1/tx with a chunked body" 411
http POST /v1/txs -H "$JSON" -H "Transfer-Encoding: chunked" --data-binary "@$T/big.json"
bad "POST /v1/txs with a chunked body of 1 MiB" 411
rm -f "$T/huge.txt"

http POST /v1/tx -H "$JSON" --data-binary '{"tx":"zz00"}'
bad "POST /v1/tx with bad hex" 400
http POST /v1/tx -H "$JSON" --data-binary '{"tx":"abc"}'
bad "POST /v1/tx with odd-length hex" 400
http POST /v1/tx -H "$JSON" --data-binary '{"tx":"00ff00ff00ff00ff"}'
bad "POST /v1/tx with valid hex that does not decode" 400
http POST /v1/tx -H "$JSON" --data-binary "{\"tx\":\"$(head -c 600 /dev/urandom | od -An -tx1 | tr -d ' \n')\"}"
bad "POST /v1/tx with 600 random bytes" 400
http POST /v1/tx -H "$JSON" --data-binary '{"tx":""}'
bad "POST /v1/tx with an empty tx" 400
http POST /v1/tx -H "$JSON" --data-binary '{"tx":"00ff00","extra":1}'
bad "POST /v1/tx with an unknown field" 400
http POST /v1/txs -H "$JSON" --data-binary '{"txs":["00"],"mode":"fast"}'
bad "POST /v1/txs with an unknown field" 400

# ---------------------------------------------------------------- paths and methods

http GET /v1/nope -H "$AUTH"
bad "GET of an unknown path" 404
http GET /v2/status
bad "GET /v2/status" 404
http GET /v1/accounts/no-such-account -H "$AUTH"
bad "GET of an unknown account" 404
http GET /v1/blocks/999999 -H "$AUTH"
bad "GET of a block beyond the head" 404
http GET /v1/blocks/99999999999999999999999 -H "$AUTH"
bad "GET of a block height beyond 64 bits" 400
http DELETE /v1/status
bad "DELETE /v1/status (wrong method)" 405
http GET /v1/tx
bad "GET /v1/tx (wrong method)" 405
http PUT /v1/persons/seal -H "$AUTH" -H "$JSON" --data-binary '{}'
bad "PUT /v1/persons/seal (wrong method)" 405

# The body of a request refused before it was read (no such path, too large) must not be
# taken for the next request on a kept-alive connection: the second answer is its own.
got=$(curl -s -m 10 -o /dev/null -w '%{http_code} ' -X POST -H "$JSON" --data-binary \
    '{"tx":"00"}' "$API/v1/nope" --next -s -m 10 -o /dev/null -w '%{http_code} ' \
    -X POST -H "$JSON" -H "Content-Length: 2000000" --data-binary '{}' "$API/v1/tx" \
    --next -s -m 10 -o "$T/.second" -w '%{http_code}' "$API/v1/status")
is "$got" "404 413 200" "a request after refused bodies on the same connection gets its own answer"
is "$(jq -r .chain_id "$T/.second")" dev "and it is the answer to that request"

http GET "/v1/verify?account=root-sysadmin&system=teacher&role=query&bogus=1" -H "$AUTH"
bad "GET /v1/verify with an unknown query parameter" 400
http GET "/v1/verify?account=root-sysadmin" -H "$AUTH"
bad "GET /v1/verify without system and role" 400

# What is not UTF-8 text cannot be answered in JSON nor kept in the read audit: refused
# before any handler runs, so nothing is filed.
audit_reads() {
    env -u IDLEDGER_API_TOKEN "$IDL" --json --key "$ROOT_AUD" read-audit --org 440000 \
        --limit 1000 | jq '[.reads[] | select(.endpoint == "GET /v1/verify")] | length'
}
ra_before=$(audit_reads)
for q in "account=%ff%fe&system=teacher&role=query" "account=root-sysadmin&system=%c3%28&role=query" \
    "account=root%0asysadmin&system=teacher&role=query" "account=root%00&system=teacher&role=query"; do
    http GET "/v1/verify?$q" -H "$AUTH"
    bad "GET /v1/verify?$q (not UTF-8 text)" 400
done
http GET "/v1/accounts/%ed%a0%80" -H "$AUTH"
bad "GET /v1/accounts/ with a UTF-16 surrogate in the path" 400
http GET "/v1/verify?account=%e6%AC%A7%e9%98%B3&system=teacher&role=query" -H "$AUTH"
is "$CODE $(jq -r .reason "$T/.body")" "200 account 欧阳 does not exist" \
    "GET /v1/verify with a UTF-8 account id: answered (it does not exist)"
is "$(audit_reads)" "$((ra_before + 1))" "only the answered verify was filed in the read audit"
# Chinese text up to the 64-byte limit is answered in full and kept whole: 21 characters of
# 3 bytes; one more is over the limit.
LONG=$(printf '%%e6%%ac%%a7%.0s' $(seq 21))
http GET "/v1/verify?$LONG=1" -H "$AUTH"
bad "GET /v1/verify with a 63-byte unknown parameter in Chinese" 400
http GET "/v1/orgs/$LONG" -H "$AUTH"
bad "GET /v1/orgs/ of a 63-byte name in Chinese" 404
http GET "/v1/verify?account=$LONG&system=teacher&role=query" -H "$AUTH"
is "$CODE" 200 "GET /v1/verify of a 63-byte account id in Chinese: answered"
is "$(audit_reads)" "$((ra_before + 2))" "and filed in the read audit, readable there"
http GET "/v1/verify?account=$LONG%e6%ac%a7&system=teacher&role=query" -H "$AUTH"
bad "GET /v1/verify of a 66-byte account id in Chinese" 400
# Longer than any id, code or hash: refused at the door (a 300-byte account id used to reach
# the store's key builder, which stopped the node).
A300=$(printf 'a%.0s' $(seq 300))
http GET "/v1/verify?account=$A300&system=teacher&role=query" -H "$AUTH"
bad "GET /v1/verify with a 300-byte account id" 400
http GET "/v1/accounts/$A300" -H "$AUTH"
bad "GET /v1/accounts/ with a 300-byte id" 400
http GET "/v1/verify?account=root-sysadmin&system=teacher&role=query" -H "$AUTH"
is "$CODE" 200 "the node still answers after them"
# A parameter without a name (its check used to read past the route's list of names).
http GET "/v1/audit?=1" -H "$AUTH"
bad "GET /v1/audit?=1 (a parameter without a name)" 400
http GET "/v1/status?=1"
bad "GET /v1/status?=1" 400
# Numbers and cursors are read whole or refused.
for q in "after=1.4294967296" "after=1.2x" "after=1.2.3.4" "after=x" "since_height=1x"; do
    http GET "/v1/audit?org=440000&$q" -H "$AUTH"
    bad "GET /v1/audit?org=440000&$q" 400
done

# ---------------------------------------------------------------- POST /v1/persons/seal

GOOD_ID=440106199003071231
NAME=欧阳明轩
BAD_CHECK=440106199003071232                 # check digit off by one
BAD_DATE=$(idnum 44010619901332123)          # 1990-13-32, check digit right
SHORT=44010619900307123                      # 17 characters
BAD_OLD=440106901332123                      # 15-digit form, 1990-13-32
MOBILE_BAD=2380013800
EMAIL_BAD=ouyang.mingxuan@@example
is "$(idnum 44010619900307123)" "$GOOD_ID" "idnum computes the GB 11643 check digit"

# signed KEY METHOD PATH [BODY]: the Authorization header of KEY's signed request (the body,
# if any, is written to $T/signed.json, the exact bytes to send).
signed() {
    _k=$1 _m=$2 _p=$3
    if [ $# -ge 4 ]; then
        printf '%s' "$4" >"$T/signed.json"
        "$IDL" --key "$_k" sign-request "$_m" "$_p" --body-file "$T/signed.json"
    else
        "$IDL" --key "$_k" sign-request "$_m" "$_p"
    fi
}

# seal BODY: POST /v1/persons/seal signed by the root's system administrator.
seal() {
    _sig=$(signed "$ROOT_SYS" POST /v1/persons/seal "$1")
    http POST /v1/persons/seal -H "Authorization: $_sig" -H "$JSON" --data-binary "@$T/signed.json"
}
seal "{\"id_number\":\"$BAD_CHECK\",\"name\":\"$NAME\",\"mobile\":\"13800138000\"}"
bad "seal: ID number with a wrong check digit" 400 "$BAD_CHECK" "$NAME" 13800138000
seal "{\"id_number\":\"$BAD_DATE\",\"name\":\"$NAME\"}"
bad "seal: ID number with an impossible birth date" 400 "$BAD_DATE" "$NAME"
seal "{\"id_number\":\"$SHORT\",\"name\":\"$NAME\"}"
bad "seal: ID number of 17 characters" 400 "$SHORT" "$NAME"
seal "{\"id_number\":\"$BAD_OLD\",\"name\":\"$NAME\"}"
bad "seal: 15-digit ID number with an impossible date" 400 "$BAD_OLD" "$NAME"
seal "{\"id_number\":\"44010619900307123A\",\"name\":\"$NAME\"}"
bad "seal: ID number with a letter" 400 44010619900307123A "$NAME"
seal "{\"id_number\":\"$GOOD_ID\",\"name\":\"$NAME\",\"mobile\":\"$MOBILE_BAD\"}"
bad "seal: invalid mobile" 400 "$MOBILE_BAD" "$GOOD_ID" "$NAME"
seal "{\"id_number\":\"$GOOD_ID\",\"name\":\"$NAME\",\"email\":\"$EMAIL_BAD\"}"
bad "seal: invalid e-mail" 400 "$EMAIL_BAD" "$GOOD_ID" "$NAME"
seal "{\"id_number\":\"$GOOD_ID\",\"name\":\"$NAME\",\"nickname\":\"x\"}"
bad "seal: unknown field" 400 "$GOOD_ID" "$NAME"
seal "{\"name\":\"$NAME\"}"
bad "seal: no ID number" 400 "$NAME"

# ---------------------------------------------------------------- tokens

http GET /v1/accounts/root-sysadmin
bad "GET /v1/accounts without a token" 401
http GET /v1/accounts/root-sysadmin -H "Authorization: Bearer idl_$(printf '%064d' 0)"
bad "GET /v1/accounts with a wrong token" 401
http GET /v1/accounts/root-sysadmin -H "Authorization: Basic $(printf 'a:b' | base64)"
bad "GET /v1/accounts with a Basic authorization" 401

# ---------------------------------------------------------------- sealing is for sysadmins

# Sealing answers whether an ID number is registered under another name: only a system
# administrator's signed request may ask, never a business system's token, and every call
# is in the read audit under the signer's organisation.
P1="{\"id_number\":\"$GOOD_ID\",\"name\":\"$NAME\"}"

# A body that is not JSON is refused by where it breaks, never by quoting the text there.
http POST /v1/realname/check -H "$AUTH" -H "$JSON" \
    --data-binary "{\"id_number\" \"$GOOD_ID\", \"name\": \"$NAME\"}"
bad "POST /v1/realname/check with broken JSON" 400 "$GOOD_ID" "$NAME"
http POST /v1/realname/check -H "$AUTH" -H "$JSON" \
    --data-binary "{\"id_number\":\"$GOOD_ID\",\"name\":\"\\uD800$NAME\"}"
bad "POST /v1/realname/check with a lone surrogate in the name" 400 "$GOOD_ID" "$NAME"
http POST /v1/realname/check -H "$AUTH" -H "$JSON" \
    --data-binary "{\"id_number\":\"$GOOD_ID\",\"$GOOD_ID\":\"$NAME\"}"
bad "POST /v1/realname/check with an ID number for a field name" 400 "$GOOD_ID" "$NAME"
# A number or an object where text is meant is refused, not taken for an absent field.
http POST /v1/realname/check -H "$AUTH" -H "$JSON" \
    --data-binary "{\"id_number\":\"$GOOD_ID\",\"name\":\"$NAME\",\"doc_type\":5}"
bad "POST /v1/realname/check with doc_type 5" 400 "$GOOD_ID" "$NAME"
seal "{\"account\":123,\"id_number\":\"$GOOD_ID\",\"name\":\"$NAME\"}"
bad "seal: account 123 (a number) is not taken for a new person" 400 "$GOOD_ID" "$NAME"
seal "{\"id_number\":\"$GOOD_ID\",\"name\":\"$NAME\",\"mobile\":{}}"
bad "seal: mobile {} is refused, not dropped" 400 "$GOOD_ID" "$NAME"
_sig=$(signed "$ROOT_SYS" POST /v1/persons/seal-batch "{\"persons\":[{\"id_number\":\"$GOOD_ID\",\"name\":\"$NAME\",\"doc_type\":[]}]}")
http POST /v1/persons/seal-batch -H "Authorization: $_sig" -H "$JSON" --data-binary "@$T/signed.json"
is "$CODE $(jq -r '.results[0].error.code' "$T/.body")" "200 invalid" \
    "seal-batch: a person whose doc_type is a list is refused"
# The read audit's numbers are read whole or refused.
for q in "limit=5abc" "since=-5" "since=99999999999999999999" "limit=0"; do
    _sig=$(signed "$ROOT_AUD" GET "/v1/read-audit?org=440000&$q")
    http GET "/v1/read-audit?org=440000&$q" -H "Authorization: $_sig"
    bad "GET /v1/read-audit?org=440000&$q (signed by the auditor)" 400
done
http POST /v1/persons/seal -H "$JSON" \
    --data-binary "{\"id_number\":\"$GOOD_ID\",\"name\":\"$NAME\",\"email\":\"$EMAIL_BAD\"}"
bad "POST /v1/persons/seal without a signature" 401 "$GOOD_ID" "$NAME" "$EMAIL_BAD"
http POST /v1/persons/seal -H "$AUTH" -H "$JSON" --data-binary "$P1"
bad "POST /v1/persons/seal with a business-system token alone" 401 "$GOOD_ID" "$NAME"
http POST /v1/persons/seal-batch -H "$AUTH" -H "$JSON" --data-binary "{\"persons\":[$P1]}"
bad "POST /v1/persons/seal-batch with a business-system token alone" 401 "$GOOD_ID" "$NAME"
_sig=$(signed "$ROOT_AUD" POST /v1/persons/seal "$P1")
http POST /v1/persons/seal -H "Authorization: $_sig" -H "$JSON" --data-binary "@$T/signed.json"
bad "POST /v1/persons/seal signed by the auditor" 403 "$GOOD_ID" "$NAME"
_sig=$(signed "$ROOT_SEC" POST /v1/persons/seal-batch "{\"persons\":[$P1]}")
http POST /v1/persons/seal-batch -H "Authorization: $_sig" -H "$JSON" --data-binary "@$T/signed.json"
bad "POST /v1/persons/seal-batch signed by the security administrator" 403 "$GOOD_ID" "$NAME"
# The signature binds the body: the header of one request does not carry another's.
_sig=$(signed "$ROOT_SYS" POST /v1/persons/seal "$P1")
http POST /v1/persons/seal -H "Authorization: $_sig" -H "$JSON" \
    --data-binary "{\"id_number\":\"$BAD_CHECK\",\"name\":\"$NAME\"}"
bad "POST /v1/persons/seal with a sysadmin's signature of another body" 401 "$GOOD_ID" "$NAME"
_sig=$(signed "$ROOT_SYS" POST /v1/persons/seal-batch "$P1")
http POST /v1/persons/seal -H "Authorization: $_sig" -H "$JSON" --data-binary "@$T/signed.json"
bad "POST /v1/persons/seal with a signature made for another path" 401 "$GOOD_ID" "$NAME"
http POST /v1/persons/seal -H "Authorization: IDL-Sig key=$(printf '%064d' 1),time=1,sig=00" \
    -H "$JSON" --data-binary "$P1"
bad "POST /v1/persons/seal with a malformed signature" 401 "$GOOD_ID" "$NAME"
_sig=$(signed "$ROOT_SYS" POST /v1/persons/seal "$P1")
http POST /v1/persons/seal -H "Authorization: ${_sig}ffff,extra=1" -H "$JSON" \
    --data-binary "@$T/signed.json"
bad "POST /v1/persons/seal with bytes after a good signature" 401 "$GOOD_ID" "$NAME"

seal "$P1"
is "$CODE" 200 "POST /v1/persons/seal signed by the root sysadmin: HTTP 200"
is "$(jq -r '.registered' "$T/.body")" false "the person is not registered yet"
_sig=$(signed "$ROOT_SYS" POST /v1/persons/seal-batch "{\"persons\":[$P1,{\"name\":\"x\"}]}")
http POST /v1/persons/seal-batch -H "Authorization: $_sig" -H "$JSON" --data-binary "@$T/signed.json"
is "$CODE" 200 "POST /v1/persons/seal-batch signed by the root sysadmin: HTTP 200"
is "$(jq -r '[.results[0].person.key != null, .results[1].error.code] | join(" ")' "$T/.body")" \
    "true invalid" "seal-batch answers each person: sealed, refused"
expect_exit 0 "the root auditor lists the read audit of 440000 (signed, no token)" \
    env -u IDLEDGER_API_TOKEN "$IDL" --json --key "$ROOT_AUD" read-audit --org 440000 --limit 1000
is "$(jq -r '[.reads[] | select(.client == "account:root-sysadmin") | .endpoint] | unique | join(",")' "$OUT")" \
    "POST /v1/persons/seal,POST /v1/persons/seal-batch" \
    "each sysadmin's seal and seal-batch call is in the read audit of its organisation"
is "$(jq -r '[.reads[] | select(.endpoint | startswith("POST /v1/persons/")) | .client] | unique | join(",")' "$OUT")" \
    "account:root-sysadmin" "no seal call refused at the door (token, auditor, secadmin) reached the handler"

# ---------------------------------------------------------------- the CLI's own input

# What the wallet is given wrongly is refused before anything is sent (exit 2), never
# taken in part.
expect_exit 2 "an option given twice is a usage error (which one was meant?)" \
    "$IDL" --key "$ROOT_SYS" --basis "$(form twice)" org add --code 440200 --code 440300 \
    --name 深圳市教育局 --kind city --parent 440000
like "$(cat "$ERR")" "--code is given twice" "... and says which option"
expect_exit 2 "a value that is not UTF-8 is a usage error, not dropped from the body" \
    "$IDL" realname check --doc-type "$(printf '\377\376')" --name 王芳 --id-number 440106199003071231
expect_exit 2 "cert verify-signature --at abc is a usage error, not 1970" \
    "$IDL" cert verify-signature --fingerprint 00 --message /dev/null --signature /dev/null --at abc
expect_exit 2 "an API token holding a line break is refused, not sent as a second header" \
    env IDLEDGER_API_TOKEN="$(printf 'x\r\nX-Injected: yes')" "$IDL" account show root-sysadmin
mkfifo "$T/fifo"
expect_exit 2 "a named pipe as the --basis form is refused at once" \
    "$IDL" --key "$ROOT_SYS" --basis "$T/fifo" org add --code 440200 --name 深圳市教育局 \
    --kind city --parent 440000
like "$(cat "$ERR")" "not a regular file" "... saying it is not a regular file"
expect_exit 2 "account add with a mobile number as its id is refused before anything is sealed" \
    "$IDL" --key "$ROOT_SYS" --basis "$(form mobile-id)" account add --id 13800000001 \
    --org 440000 --class business --name 王芳 --id-number "$GOOD_ID"
like "$(cat "$ERR")" "no run of 11 digits" "... saying why"
: >"$T/empty.pdf"
expect_exit 2 "an empty file as the --basis form is refused (it is no scan of a form)" \
    "$IDL" --key "$ROOT_SYS" --basis "$T/empty.pdf" org add --code 440200 --name 深圳市教育局 \
    --kind city --parent 440000
expect_exit 2 "a reason of spaces is refused as empty" \
    "$IDL" --key "$ROOT_SYS" --basis "$(form blank)" account disable --id root-auditor --reason "   "
expect_exit 1 "a Chinese account id in a query reaches the node (not found), not 'unreachable'" \
    "$IDL" account show 王芳
is "$(height)" "$h0" "none of it committed anything"
expect_exit 0 "key new --json writes valid JSON for a file name with a quote" \
    env IDLEDGER_PASSPHRASE=12345678 "$IDL" --json key new --out "$T/q\"x.key"
is "$(jq -r .file "$OUT")" "$T/q\"x.key" "... naming the file as given"

# ---------------------------------------------------------------- still serving

# A list of 100 signed transactions with broken entries among them (bad hex, a repeat, a
# forged signature): each entry gets its own answer, in list order, and the good ones all
# commit. Lists this long are checked on all cores at once and pooled in order, so one
# actor's nonces must come out in sequence.
"$TOOLS/loadgen" gen --node "$API" --token-file "$NODE_HOME/api-token" --admins "$NET/admins" \
    --passphrase-file "$NET/passphrase" --count 100 --first 0 --out "$T/list.bin" >/dev/null
"$TOOLS/loadgen" hex --in "$T/list.bin" >"$T/list.hex"
is "$(wc -l <"$T/list.hex" | tr -d ' ')" 100 "loadgen wrote 100 signed account.add transactions"
# The forged copy of the 71st: its last byte (in the signature) changed.
case $(sed -n 71p "$T/list.hex") in
*0) FORGED=$(sed -n 71p "$T/list.hex" | sed 's/.$/1/') ;;
*) FORGED=$(sed -n 71p "$T/list.hex" | sed 's/.$/0/') ;;
esac
{
    sed -n 1,10p "$T/list.hex"
    echo zz
    sed -n 11,50p "$T/list.hex"
    sed -n 1p "$T/list.hex"
    sed -n 51,70p "$T/list.hex"
    echo "$FORGED"
    sed -n 71,100p "$T/list.hex"
} | jq -R . | jq -s '{txs: .}' >"$T/list.json"
http POST /v1/txs -H "$JSON" --data-binary @"$T/list.json"
is "$CODE" 200 "POST /v1/txs with 103 entries, 3 broken: HTTP 200"
is "$(jq .accepted "$T/.body")" 100 "the 100 good transactions are accepted"
is "$(jq '.results | length' "$T/.body")" 103 "one answer per entry"
is "$(jq -r '[.results[10].error.code, .results[51].error.code, .results[72].error.code] | join(" ")' "$T/.body")" \
    "malformed exists bad_signature" "the broken entries are refused where they stand: bad hex, repeat, forged"
is "$(jq '[.results[] | select(.txid)] | length' "$T/.body")" 100 "every other entry has its txid"
jq -r '.results[].txid // empty' "$T/.body" >"$T/list.ids"
LAST=$(tail -n 1 "$T/list.ids")
i=0
until [ "$(api "/v1/tx/$LAST" | jq -r .state 2>/dev/null)" = committed ] || [ $i -ge 100 ]; do
    sleep 0.1
    i=$((i + 1))
done
is "$(api "/v1/tx/$LAST" | jq -r .state)" committed "the last of the list commits"
n=0
for id in $(cat "$T/list.ids"); do
    [ "$(api "/v1/tx/$id" | jq -r .state)" = committed ] && n=$((n + 1))
done
is "$n" 100 "all 100 accepted transactions committed (their nonces stayed in order)"

# The same list as binary frames (Content-Type: application/octet-stream; a gen file is
# a 16-byte header and then exactly these frames): accepted and committed; broken framing
# is refused whole, before anything is admitted.
"$TOOLS/loadgen" gen --node "$API" --token-file "$NODE_HOME/api-token" --admins "$NET/admins" \
    --passphrase-file "$NET/passphrase" --count 20 --first 100 --out "$T/frames.bin" >/dev/null
tail -c +17 "$T/frames.bin" >"$T/frames"
BIN_TYPE="Content-Type: application/octet-stream"
head -c 100 "$T/frames" >"$T/frames.cut"
h0=$(height)
http POST /v1/txs -H "$BIN_TYPE" --data-binary @"$T/frames.cut"
bad "POST /v1/txs with a frame cut short" 400
printf '\000\000\000\000' >"$T/frames.zero"
http POST /v1/txs -H "$BIN_TYPE" --data-binary @"$T/frames.zero"
bad "POST /v1/txs with a zero-length frame" 400
{ cat "$T/frames"; printf 'x'; } >"$T/frames.trail"
http POST /v1/txs -H "$BIN_TYPE" --data-binary @"$T/frames.trail"
bad "POST /v1/txs with a byte after the last frame" 400
sleep 0.5
is "$(height)" "$h0" "no refused frame list was admitted"
http POST /v1/txs -H "$BIN_TYPE" --data-binary @"$T/frames"
is "$CODE" 200 "POST /v1/txs with 20 binary frames: HTTP 200"
is "$(jq .accepted "$T/.body")" 20 "the 20 framed transactions are accepted"
LAST=$(jq -r '.results[19].txid' "$T/.body")
i=0
until [ "$(api "/v1/tx/$LAST" | jq -r .state 2>/dev/null)" = committed ] || [ $i -ge 100 ]; do
    sleep 0.1
    i=$((i + 1))
done
is "$(api "/v1/tx/$LAST" | jq -r .state)" committed "the last framed transaction commits"
h0=$(height)

http GET /v1/status
is "$CODE" 200 "after all of it, GET /v1/status answers 200"
is "$(height)" "$h0" "no bad request moved the height"
http GET /health/live
is "$CODE" 200 "GET /health/live answers 200"
expect_exit 0 "a transaction still commits" "$IDL" --key "$ROOT_SYS" \
    --basis "$(form city)" org add --code 440100 --name 广州市教育局 --kind city --parent 440000
is "$(height)" $((h0 + 1)) "the height moved by exactly the one committed block"
http GET /v1/orgs/440100 -H "$AUTH"
is "$(jq -r '.code + " " + .parent' "$T/.body")" "440100 440000" "the committed organisation is there"
if grep -aqF -e "$BAD_CHECK" -e "$BAD_DATE" -e "$SHORT" -e "$MOBILE_BAD" -e "$EMAIL_BAD" \
    -e "$GOOD_ID" -e "$NAME" "$NODE_LOG"; then
    fail "the node log holds none of the submitted personal data"
    grep -aF -e "$BAD_CHECK" -e "$BAD_DATE" -e "$SHORT" -e "$MOBILE_BAD" -e "$EMAIL_BAD" \
        -e "$GOOD_ID" -e "$NAME" "$NODE_LOG" | head -n 5 | sed 's/^/#   /'
else
    pass "the node log holds none of the submitted personal data"
fi
expect_exit 0 "node stops cleanly on SIGTERM" node_stop
done_testing

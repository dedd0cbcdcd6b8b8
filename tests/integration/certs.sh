#!/bin/sh
# certs.sh: education CA certificates (DOMAIN.md §4, issue 5) end to end, through real
# processes: `openssl` makes the PKI at test time, `idledger` signs the lifecycle, curl
# plays the business system on the HTTP API with its own token.
#
# PKI: an education CA (EC P-256) and an SM2 education CA (both listed in genesis, with
# cert_issuer_required), a rogue CA that is not; leaves: RSA 2048 (s1-t1), EC P-256 (s1-t2,
# u-t1; u-t2's expires seconds after it is anchored), SM2 signed with the standard
# distinguishing ID 1234567812345678 (s1-t3), an expired one. Tree: province 440000 (root-*) -> city 440100 (gz-*) -> city-run school
# 4401000001 (s1-*); university 10558 (u-*) under the province. Business system teacher
# with the cert-required role manager (the information manager).
#
# Covered: application -> approval level by level -> UKey medium handed down level by level
# (province -> city -> school -> holder, each a line of the distribution record) -> anchor,
# each step refused out of order; the application and its record listed
# (GET /v1/certs/applications/{account}, idledger cert application); expired, CA,
# foreign-issued, already-anchored certificates, the twin of an anchored certificate (its
# CA's ECDSA signature s -> n - s, made by tests/tools/certtwin), before and after the
# first is revoked, an anchor without a medium and one naming another holder's medium, all
# refused at anchoring; a medium handed back unused and one handed back after its
# certificate's revocation, then re-issued to another applicant; reasons kept in the
# certificate's history, one holding a mobile number refused; digest_b64 of a wrong length
# and a message over the body's limit refused; grant of the cert-required role refused without a
# certificate; verify allowed -> freeze -> not -> unfreeze -> allowed -> revoke -> not, and
# revoke is final; expiry; one information manager per school, two at a university;
# verify-signature for RSA, ECDSA and SM2/SM3 (and the refusals: other key, other message,
# SM2 without the standard ID, frozen and revoked certificates, the `at` history);
# disabling the account freezes its certificates; the real-name check; 401 without a
# token with no data in the answer; the read-audit log; token issue and revoke on a running
# node; the loopback-only open mode and its log line; no personal data in the node's log,
# the CLI's output or the API's answers.
. "$(dirname "$0")/lib.sh"

PORT=$((${IT_PORT_BASE:-18000} + 400))
command -v openssl >/dev/null || bail "openssl is needed to make the test certificates"
command -v jq >/dev/null || bail "jq is needed"
: "${TOOLS:?TOOLS must name the directory holding certtwin}"
[ -x "$TOOLS/certtwin" ] || bail "no certtwin in $TOOLS"

K="$T/keys"
P="$T/pki"
mkdir -p "$K" "$P"
D=distid:1234567812345678

# ---------------------------------------------------------------- people
# One "id name id-number mobile email" a line; the privacy checks grep for every value.
: >"$T/people"
_pn=0
person() {
    _pn=$((_pn + 1))
    # region 440103, born 1985-MM-15 (MM from the person's number), sequence
    _num=$(idnum "4401031985$(printf %02d $(((_pn - 1) % 12 + 1)))15$(printf %03d "$_pn")")
    echo "$1 $2 $_num 1390020$(printf %04d "$_pn") $1.mail$_pn@school.example.cn" >>"$T/people"
}
person gz-sysadmin 欧阳明轩
person gz-secadmin 司马相如
person s1-sysadmin 诸葛孔明
person s1-secadmin 上官婉儿
person s1-auditor 东方朔望
person u-sysadmin 慕容复兴
person u-secadmin 皇甫嵩岳
person s1-t1 王芳华
person s1-t2 李雷鸣
person s1-t3 张伟业
person s1-t4 孙悟净
person u-t1 赵敏慧
person u-t2 周杰伦理
pf() { awk -v id="$1" -v f="$2" '$1 == id { print $f }' "$T/people"; }
p_name() { pf "$1" 2; }
p_num() { pf "$1" 3; }
p_mobile() { pf "$1" 4; }
p_email() { pf "$1" 5; }

# ---------------------------------------------------------------- PKI (openssl)

cat >"$P/gen.sh" <<'EOF'
set -e
cd "$1"
D=distid:1234567812345678
pids=
bg() { "$@" & pids="$pids $!"; }
waitall() { for p in $pids; do wait "$p"; done; pids=; }
cat >ca.cnf <<'CNF'
[ ca ]
default_ca = CA_default
[ CA_default ]
database = index.txt
new_certs_dir = .
serial = serial.txt
default_md = sha256
policy = pol
unique_subject = no
[ pol ]
commonName = supplied
CNF
: >index.txt
echo 1000 >serial.txt
sm2ca() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out sm2ca.key
    openssl req -x509 -new -key sm2ca.key -sm3 -sigopt $D \
        -subj '/C=CN/O=Guangdong Education CA/CN=Edu CA SM2' -days 3650 -out sm2ca.pem
}
bg openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
    -sha256 -days 3650 -subj '/C=CN/O=Guangdong Education CA/CN=Edu CA' -out ca.pem
bg openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout rogueca.key \
    -subj '/C=CN/O=Rogue CA/CN=Rogue' -days 3650 -out rogueca.pem
bg sm2ca
waitall
# leaf NAME KEYSPEC SUBJECT CA SERIAL
leaf() {
    openssl req -new -newkey $2 -nodes -keyout $1.key -utf8 -subj "$3" -out $1.csr
    openssl x509 -req -in $1.csr -CA $4.pem -CAkey $4.key -set_serial $5 -days 365 \
        -sha256 -out $1.pem
}
sm2leaf() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out t3.key
    openssl req -new -key t3.key -sm3 -sigopt $D -utf8 -subj "$1" -out t3.csr
    openssl x509 -req -in t3.csr -CA sm2ca.pem -CAkey sm2ca.key -set_serial 0x5a5a \
        -days 365 -sm3 -sigopt $D -vfyopt $D -out t3.pem
}
EC='ec -pkeyopt ec_paramgen_curve:P-256'
bg leaf t1 rsa:2048 "$(cat subj.t1)" ca 0x1a2b3c4d5e
bg leaf t2 "$EC" "$(cat subj.t2)" ca 0x7102
bg leaf u1 "$EC" "$(cat subj.u1)" ca 0x7201
bg leaf other "$EC" "$(cat subj.t1)" rogueca 0x7301
bg leaf x1 "$EC" "$(cat subj.t1)" ca 0x7302
# Self-issued, not a CA: its issuer is the holder's name and e-mail.
bg openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout self.key \
    -utf8 -subj "$(cat subj.t1)" -addext basicConstraints=critical,CA:FALSE -days 365 -out self.pem
bg sm2leaf "$(cat subj.t3)"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout expired.key \
    -subj /CN=expired -out expired.csr
openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr \
    -out expired.pem -startdate 20200101000000Z -enddate 20210101000000Z -notext
waitall
printf '%s' 'login challenge 2026-11 s1' >msg.txt
printf '%s' 'export teacher data 4401000001' >msg2.txt
bg openssl dgst -sha256 -sign t1.key -out t1.sig msg.txt
bg openssl dgst -sha256 -sign t2.key -out t2.sig msg.txt
bg openssl dgst -sm3 -sign t3.key -sigopt $D -out t3.sig msg.txt
bg openssl dgst -sm3 -sign t3.key -out t3noid.sig msg.txt
bg openssl dgst -sha256 -sign u1.key -out u1.sig msg.txt
waitall
for c in ca sm2ca t1 t2 t3 u1 other x1 expired; do
    openssl x509 -in $c.pem -outform DER -out $c.der
    sha256sum $c.der | cut -d' ' -f1 >$c.fp
    openssl x509 -in $c.pem -noout -serial | sed 's/^serial=//' | tr 'A-F' 'a-f' >$c.serial
done
# t1 travels as DER (the CLI takes PEM or DER), the others as PEM
EOF
# Subjects name their holders: personal data that must never leave the node in the clear.
printf '/C=CN/O=Guangzhou School 1/CN=%s/emailAddress=%s' "$(p_name s1-t1)" "$(p_email s1-t1)" >"$P/subj.t1"
printf '/C=CN/O=Guangzhou School 1/CN=%s' "$(p_name s1-t2)" >"$P/subj.t2"
printf '/C=CN/O=Guangzhou School 1/CN=%s' "$(p_name s1-t3)" >"$P/subj.t3"
printf '/C=CN/O=Sun Yat-sen University/CN=%s' "$(p_name u-t1)" >"$P/subj.u1"
if sh "$P/gen.sh" "$P" >"$P/gen.log" 2>&1; then
    pass "openssl made the CAs (P-256, SM2), RSA, EC P-256, SM2 and expired leaves, signatures"
else
    # (without openssl's progress dots and the subjects, which name people)
    grep -Ev '^[-.+*]*$|subject=|^[.+*]+' "$P/gen.log" >"$P/gen.err"
    diag_file "$P/gen.err" "openssl"
    bail "openssl could not make the test certificates"
fi
like "$(openssl x509 -in "$P/t3.pem" -noout -text)" "SM2-with-SM3" \
    "the SM2 leaf is signed SM2-with-SM3 (with distid 1234567812345678)"
like "$(openssl verify -CAfile "$P/sm2ca.pem" -vfyopt "$D" "$P/t3.pem" 2>&1)" ": OK" \
    "openssl verifies the SM2 leaf under the SM2 CA with the standard ID"
fp() { cat "$P/$1.fp"; }

# ---------------------------------------------------------------- the network
# net_up starts the node at once; the chain must list the two education CAs, so stop it,
# put them into genesis (cert_issuer_required) and start again on an empty data directory.
net_up "$T/net" "$PORT"
node_stop || diag "node did not stop cleanly"
jq --arg ca "$(od -An -v -tx1 "$P/ca.der" | tr -d ' \n')" \
    --arg sm2 "$(od -An -v -tx1 "$P/sm2ca.der" | tr -d ' \n')" \
    '.policy.cert_issuer_required = true | .policy.cert_issuers = [$ca, $sm2]' \
    "$NET/genesis.json" >"$T/genesis.json" && cp "$T/genesis.json" "$NET/genesis.json" ||
    bail "cannot edit genesis"
rm -rf "$NODE_HOME/data"
node_start || bail "node 0 did not start with the edited genesis"
like "$(grep '"api listening"' "$NODE_LOG" | tail -n 1)" '"auth":"token"' \
    "the node logs that its API needs tokens"

cp "$ROOT_SYS" "$K/root-sysadmin.key"
cp "$ROOT_SEC" "$K/root-secadmin.key"
cp "$ROOT_AUD" "$K/root-auditor.key"
pids=
for a in gz-sysadmin gz-secadmin s1-sysadmin s1-secadmin s1-auditor u-sysadmin u-secadmin; do
    "$IDL" key new --out "$K/$a.key" >"$K/$a.pub" 2>"$K/$a.err" &
    pids="$pids $!"
done
for p in $pids; do wait "$p" || bail "idledger key new failed"; done

# ---------------------------------------------------------------- helpers

# newform: a new, unique scanned form in $FORM (not in a subshell: the counter must move)
_fn=0
newform() {
    _fn=$((_fn + 1))
    FORM=$(form "op$_fn")
}

# tx NAME ACTOR CMD...: ACTOR signs `idledger CMD...`; it must commit. $OUT holds the JSON.
tx() {
    _n=$1 _a=$2
    shift 2
    newform
    expect_exit 0 "$_n" "$IDL" --json --key "$K/$_a.key" --basis "$FORM" "$@"
}

# refused NAME ACTOR ERE CMD...: the ledger must refuse it (exit 1) for a reason matching
# ERE (a refusal for another reason is a failure).
refused() {
    _n=$1 _a=$2 _re=$3
    shift 3
    newform
    run "$IDL" --json --key "$K/$_a.key" --basis "$FORM" "$@"
    if [ "$RC" = 1 ] && grep -Eq -- "$_re" "$ERR"; then
        pass "$_n: refused ($(head -n 1 "$ERR"))"
    else
        fail "$_n: refused"
        diag "exit status $RC, expected 1 with a reason matching /$_re/"
        diag_file "$ERR" stderr
        diag_file "$OUT" stdout
    fi
}

# submit ACTOR CMD...: queues `idledger CMD...` signed by ACTOR without waiting for the
# commit; its txid goes to $T/batch (settle checks them all).
: >"$T/batch"
submit() {
    _a=$1
    shift
    newform
    run "$IDL" --json --no-wait --key "$K/$_a.key" --basis "$FORM" "$@"
    _id=$(sed -n 's/.*"txid": *"\([0-9a-f]*\)".*/\1/p' "$OUT")
    if [ "$RC" = 0 ] && [ -n "$_id" ]; then
        echo "$_id" >>"$T/batch"
    else
        echo "not-accepted" >>"$T/batch"
        diag "not accepted (exit $RC): $_a $1 $2"
        diag_file "$ERR" stderr
    fi
}

# stream NAME CMDS: runs the shell function CMDS (a sequence of submits by one actor) in
# the background with its own output files; streams of different actors run side by side
# (one actor's transactions stay in order: each takes the next nonce).
STREAMS=""
stream() {
    (
        OUT="$T/.out.$1" ERR="$T/.err.$1" _fn=$(($1 * 1000))
        "$2"
    ) &
    STREAMS="$STREAMS $!"
}

# settle NAME: waits for the streams, then every queued transaction must commit (30 s).
settle() {
    for _p in $STREAMS; do wait "$_p"; done
    STREAMS=""
    _bad=0
    _deadline=$(($(date +%s) + 30))
    for _id in $(cat "$T/batch"); do
        [ "$_id" != not-accepted ] || { _bad=1 && continue; }
        while :; do
            _st=$(curl -s -m 5 -H "Authorization: Bearer $IDLEDGER_API_TOKEN" "$API/v1/tx/$_id")
            case $_st in *'"state":"pending"'* | '') ;; *) break ;; esac
            [ "$(date +%s)" -lt "$_deadline" ] || break
            sleep 0.1
        done
        case $_st in
        *'"state":"committed"'*) ;;
        *) _bad=1 && diag "tx $_id: $_st" ;;
        esac
    done
    if [ "$_bad" = 0 ] && [ -s "$T/batch" ]; then pass "$1"; else fail "$1"; fi
    : >"$T/batch"
}

# account_add SIGNER ID ORG CLASS [--post POST]: a new account for the person of ID.
account_add() {
    _s=$1 _id=$2 _org=$3 _class=$4
    shift 4
    _extra=""
    [ "$_class" = business ] || _extra="--pubkey $(cat "$K/$_id.pub")"
    # shellcheck disable=SC2086
    submit "$_s" account add --id "$_id" --org "$_org" --class "$_class" "$@" $_extra \
        --name "$(p_name "$_id")" --id-number "$(p_num "$_id")" \
        --mobile "$(p_mobile "$_id")" --email "$(p_email "$_id")"
}

# [JSON_BODY=JSON] call TOKEN METHOD PATH: the business system's request (TOKEN empty: none);
# body on stdout, status in $T/.status; every answer goes into the transcript (privacy scan).
call() {
    _tok=$1 _m=$2 _path=$3
    set -- -s -m 10 -o "$T/.body" -w '%{http_code}' -X "$_m"
    [ -z "$_tok" ] || set -- "$@" -H "Authorization: Bearer $_tok"
    if [ -n "${JSON_BODY:-}" ]; then
        set -- "$@" -H 'Content-Type: application/json' --data-binary "$JSON_BODY"
    fi
    curl "$@" "$API$_path" >"$T/.status" || echo 000 >"$T/.status"
    { echo "--- curl $_m"; cat "$T/.body"; echo; } >>"$TRANSCRIPT"
    cat "$T/.body"
}
get() { JSON_BODY="" call "$BIZ" GET "$1"; }
post() { JSON_BODY=$2 call "$BIZ" POST "$1"; }

verify() {
    get "/v1/verify?account=$1&system=teacher&role=manager"
}

b64() { base64 -w0 "$1"; }

# sigbody FP MESSAGE_FILE SIGNATURE_FILE [AT]
sigbody() {
    if [ $# -ge 4 ]; then
        jq -nc --arg f "$1" --arg m "$(b64 "$2")" --arg s "$(b64 "$3")" --argjson at "$4" \
            '{fingerprint: $f, message_b64: $m, signature_b64: $s, at: $at}'
    else
        jq -nc --arg f "$1" --arg m "$(b64 "$2")" --arg s "$(b64 "$3")" \
            '{fingerprint: $f, message_b64: $m, signature_b64: $s}'
    fi
}

# versig FP MSG SIG [AT]: the node's answer as "valid account signature_ok reason"
versig() {
    post /v1/certs/verify-signature "$(sigbody "$@")" |
        jq -r '"\(.valid) \(.account) \(.signature_ok) \(.reason)"'
}

cert_status() {
    get "/v1/certs/$1" | jq -r .status
}

now_ms() { date +%s%3N; }

# ---------------------------------------------------------------- a business system's token

run "$IDLD" --home "$NODE_HOME" token add teacher-sys
BIZ=$(cat "$OUT")
like "$BIZ" '^idl_[0-9a-f]{64}$' "idledgerd token add teacher-sys prints a token"
unlike "$(cat "$NODE_HOME/tokens.json")" "${BIZ#idl_}" "tokens.json does not hold the token itself"
like "$("$IDLD" --home "$NODE_HOME" token list 2>&1)" "teacher-sys" "token list names teacher-sys"
_i=0
while [ $_i -lt 40 ]; do
    get /v1/orgs/440000 >/dev/null
    [ "$(status_code)" = 200 ] && break
    sleep 0.1
    _i=$((_i + 1))
done
is "$(status_code)" 200 "the running node accepts the new token (GET /v1/orgs/440000)"

# ---------------------------------------------------------------- set-up, in batches
# (independent operations of one batch commit in one block)

submit root-sysadmin org add --code 440100 --name 广州市教育局 --kind city --parent 440000
submit root-sysadmin org add --code 10558 --name 中山大学 --kind university --parent 440000
submit root-sysadmin system add --code teacher --name 全国教师管理信息系统 \
    --roles query,manager,training,sysadmin,auditor --cert-required manager
account_add root-sysadmin gz-sysadmin 440100 management --post sysadmin
account_add root-sysadmin gz-secadmin 440100 management --post secadmin
account_add root-sysadmin u-sysadmin 10558 management --post sysadmin
account_add root-sysadmin u-secadmin 10558 management --post secadmin
settle "set-up 1: city 440100, university 10558, system teacher (manager cert-required), their admins"

for a in gz-sysadmin gz-secadmin u-sysadmin u-secadmin; do
    submit root-secadmin account authorize --id "$a"
done
settle "set-up 2: root-secadmin authorises the city's and the university's admins"

s3_gz() {
    submit gz-sysadmin org add --code 4401000001 --name 广州市第一中学 --kind school \
        --parent 440100 --school-type middle
    account_add gz-sysadmin s1-sysadmin 4401000001 management --post sysadmin
    account_add gz-sysadmin s1-secadmin 4401000001 management --post secadmin
    account_add gz-sysadmin s1-auditor 4401000001 management --post auditor
}
s3_u() {
    account_add u-sysadmin u-t1 10558 business
    account_add u-sysadmin u-t2 10558 business
    submit u-sysadmin cert apply --account u-t1 --note 信息管理员
    submit u-sysadmin cert apply --account u-t2 --note 信息管理员
}
stream 1 s3_gz
stream 2 s3_u
settle "set-up 3: city-run school 4401000001 and its admins; university teachers apply"

s4_gz() {
    for a in s1-sysadmin s1-secadmin s1-auditor; do
        submit gz-secadmin account authorize --id "$a"
    done
}
s4_root() {
    submit root-secadmin cert approve --account u-t1
    submit root-secadmin cert approve --account u-t2
}
stream 3 s4_gz
stream 4 s4_root
settle "set-up 4: the school's admins authorised; the province approves the university's"

s5_s1() {
    account_add s1-sysadmin s1-t1 4401000001 business
    account_add s1-sysadmin s1-t2 4401000001 business
    account_add s1-sysadmin s1-t3 4401000001 business
    account_add s1-sysadmin s1-t4 4401000001 business
    submit s1-sysadmin cert apply --account s1-t2
    submit s1-sysadmin cert apply --account s1-t3
    submit s1-sysadmin cert apply --account s1-t4
}
s5_u() {
    submit u-sysadmin cert medium --account u-t1 --medium UK2026100001
    submit u-sysadmin cert anchor --account u-t1 --cert "$P/u1.pem"
}
stream 5 s5_s1
stream 6 s5_u
settle "set-up 5: business accounts s1-t1 to s1-t4 (t2, t3, t4 apply); the university hands u-t1 a medium and anchors its certificate"

# ---------------------------------------------------------------- the lifecycle of s1-t1

refused "anchor without an application" s1-sysadmin "no approved certificate application" \
    cert anchor --account s1-t1 --cert "$P/t1.der"
tx "s1-sysadmin applies for s1-t1's certificate (申请数字证书)" s1-sysadmin \
    cert apply --account s1-t1 --note 教师系统信息管理员
refused "a second application while one is in progress" s1-sysadmin "in progress" \
    cert apply --account s1-t1
refused "anchor before approval" s1-sysadmin "no approved certificate application" \
    cert anchor --account s1-t1 --cert "$P/t1.der"
refused "medium before approval" s1-sysadmin "no approved application" \
    cert medium --account s1-t1 --medium UK2026000101
refused "the province approves before the city (逐级审核)" root-secadmin \
    "secadmin of 440100|at this level" cert approve --account s1-t1
refused "the school's own secadmin cannot approve" s1-secadmin \
    "secadmin of 440100|at this level" cert approve --account s1-t1

# application ACCOUNT: the business system's view of an application (GET, with its token)
application() {
    get "/v1/certs/applications/$1"
}
a=$(application s1-t1)
is "$(status_code) $(printf '%s' "$a" | jq -r '"\(.status) \(.awaiting) \(.approvals | length) \(.records | length)"')" \
    "200 applied 440100 0 0" \
    "GET /v1/certs/applications/s1-t1: applied, awaiting the city, no approval, no record yet"
application nobody >/dev/null
is "$(status_code)" 404 "GET /v1/certs/applications of an unknown account: 404"

submit gz-secadmin cert approve --account s1-t1
submit gz-secadmin cert approve --account s1-t2
submit gz-secadmin cert approve --account s1-t3
submit gz-secadmin cert approve --account s1-t4
settle "the city (gz-secadmin) approves the four applications"
is "$(application s1-t1 | jq -c '[.status, .awaiting, .approvals]')" '["applied","440000",["440100"]]' \
    "after the city's approval: awaiting the province"
refused "still no anchor after the city's approval only" s1-sysadmin \
    "no approved certificate application" cert anchor --account s1-t1 --cert "$P/t1.der"
refused "a self-issued personal certificate is not sealed" s1-sysadmin "self-issued" \
    cert anchor --account s1-t1 --cert "$P/self.pem"
is "$(cat "$ERR" "$OUT" | grep -cF -e "$(p_name s1-t1)" -e "$(p_email s1-t1)")" 0 \
    "the refusal names neither the holder nor the e-mail its issuer holds"
submit root-secadmin cert approve --account s1-t1
submit root-secadmin cert approve --account s1-t2
submit root-secadmin cert approve --account s1-t3
submit root-secadmin cert approve --account s1-t4
settle "the province (root-secadmin) completes the approvals"
refused "no approval beyond the province" root-secadmin "fully approved|no application waiting" \
    cert approve --account s1-t1
refused "anchor before any medium was handed over" s1-sysadmin "no medium has been handed to s1-t1" \
    cert anchor --account s1-t1 --cert "$P/t1.der"

# The medium goes down level by level (逐级派发), each handover a line of the record.
refused "media go down one level at a time: not from the province to the school" root-sysadmin \
    "one level at a time" cert medium --account s1-t1 --medium UK2026000101 --to s1-secadmin
tx "the province hands medium UK2026000101 to the city (gz-secadmin)" root-sysadmin \
    cert medium --account s1-t1 --medium UK2026000101 --to gz-secadmin
refused "the school cannot hand on a medium the city holds" s1-sysadmin "only the sysadmin of 440100" \
    cert medium --account s1-t1 --medium UK2026000101
refused "nor can the province any more" root-sysadmin "only the sysadmin of 440100" \
    cert medium --account s1-t1 --medium UK2026000101 --to gz-sysadmin
refused "the medium in transit is not anchorable (the city holds it)" s1-sysadmin \
    "only the sysadmin of 440100" cert anchor --account s1-t1 --cert "$P/t1.der" --medium UK2026000101
tx "the city hands it to the school (s1-secadmin)" gz-sysadmin \
    cert medium --account s1-t1 --medium UK2026000101 --to s1-secadmin
tx "the school's sysadmin hands UKey medium UK2026000101 to s1-t1 (派发记录)" s1-sysadmin \
    cert medium --account s1-t1 --medium UK2026000101
refused "the same medium to another holder" s1-sysadmin "another account" \
    cert medium --account s1-t2 --medium UK2026000101
a=$(application s1-t1)
is "$(status_code) $(printf '%s' "$a" | jq -r '[.status, .medium, (.approvals | join("+"))] | join(" ")')" \
    "200 approved UK2026000101 440100+440000" "the application: approved by the city and the province, medium UK2026000101"
is "$(printf '%s' "$a" | jq -r '[.records[] | "\(.number):\(.kind):\(.medium):\(.handed_by)@\(.handed_by_org)>\(.account)@\(.org)"] | join(" ")')" \
    "1:handover:UK2026000101:root-sysadmin@440000>gz-secadmin@440100 2:handover:UK2026000101:gz-sysadmin@440100>s1-secadmin@4401000001 3:handover:UK2026000101:s1-sysadmin@4401000001>s1-t1@4401000001" \
    "the distribution record: three handovers, province -> city -> school -> s1-t1"
is "$(printf '%s' "$a" | jq -r '.records[2] | "\(.name) \(.mobile)"')" \
    "$(p_name s1-t1 | cut -c1-3)** $(p_mobile s1-t1 | cut -c1-3)****$(p_mobile s1-t1 | cut -c8-11)" \
    "each record names the receiver's unit, name and mobile, masked"
like "$(printf '%s' "$a" | jq -r '.records[0].time')" '^[0-9]{13}$' "each record has its time (ms)"
unlike "$a" "$(p_name s1-t1)|$(p_mobile s1-t1)|$(p_name gz-secadmin)|$(p_mobile gz-secadmin)" \
    "the listing carries no name or mobile in the clear"
expect_exit 0 "idledger cert application s1-t1" "$IDL" cert application s1-t1
like "$(cat "$OUT")" "^certificate application of s1-t1 \(4401000001\): approved" \
    "idledger cert application: status"
is "$(grep -c ' medium UK2026000101 from ' "$OUT")" 3 "idledger cert application: the three record lines"

# s1-t4 gets a medium that turns out faulty: handed back unused, before any certificate.
tx "UKey medium UK2026000104 handed to s1-t4" s1-sysadmin \
    cert medium --account s1-t4 --medium UK2026000104
tx "s1-t4 hands back UK2026000104 unused (faulty)" s1-sysadmin \
    cert medium-return --account s1-t4 --medium UK2026000104 --reason 介质损坏
is "$(application s1-t4 | jq -r '"[\(.medium)] \([.records[] | .kind] | join(","))"')" "[] handover,return" \
    "s1-t4 holds no medium now; its record shows the handover and the return"
refused "a medium handed to s1-t1 on s1-t2's certificate (s1-t2 has none)" s1-sysadmin \
    "UK2026000101 was handed to another account \(s1-t1\)" \
    cert anchor --account s1-t2 --cert "$P/t2.pem" --medium UK2026000101
refused "no anchoring without a medium" s1-sysadmin "no medium has been handed to s1-t2" \
    cert anchor --account s1-t2 --cert "$P/t2.pem"
refused "anchor with a medium other than the one handed out" s1-sysadmin "was handed medium" \
    cert anchor --account s1-t1 --cert "$P/t1.der" --medium UK2026999999
is "$(sed -n 's/.*was handed medium \([^,]*\),.*/\1/p' "$ERR")" UK2026000101 \
    "the refusal names the medium handed out"
refused "an expired certificate is refused at anchoring" s1-sysadmin "expired" \
    cert anchor --account s1-t1 --cert "$P/expired.pem"
refused "a CA certificate is refused at anchoring" s1-sysadmin "CA certificate" \
    cert anchor --account s1-t1 --cert "$P/ca.pem"
refused "a certificate from a CA not listed in genesis is refused" s1-sysadmin \
    "not issued by a CA of this chain" cert anchor --account s1-t1 --cert "$P/other.pem"
refused "the cert-required role without a certificate" s1-secadmin \
    "requires an education CA certificate" grant add --account s1-t1 --system teacher --role manager

tx "s1-t1's RSA certificate (DER file) anchored with its medium" s1-sysadmin \
    cert anchor --account s1-t1 --cert "$P/t1.der" --medium UK2026000101
ANCHOR_TX=$(jq -r .txid "$OUT")
ANCHOR_BASIS=$(sha256 "$FORM")
c=$(get "/v1/certs/$(fp t1)")
is "$(status_code)" 200 "GET /v1/certs/{fp}: 200"
is "$(printf '%s' "$c" | jq -r '[.fingerprint, .account, .status, .serial, .key, .medium] | join(" ")')" \
    "$(fp t1) s1-t1 active $(cat "$P/t1.serial") rsa UK2026000101" \
    "the anchored record: fingerprint (SHA-256 of DER), account, active, serial, key, medium"
is "$(printf '%s' "$c" | jq -r '.not_after - .not_before')" $((365 * 86400)) \
    "validity: 365 days, as openssl issued it"
like "$(printf '%s' "$c" | jq -r .issuer)" "CN=Edu CA,O=Guangdong Education CA" \
    "issuer is the education CA"
s=$(printf '%s' "$c" | jq -r .subject)
like "$s" "CN=王\*" "the subject is shown masked ($s)"
unlike "$s" "$(p_name s1-t1)|$(p_email s1-t1)|s1-t1\.mail" "the subject shows neither name nor e-mail"
is "$(JSON_BODY="" call "$IDLEDGER_API_TOKEN" GET /v1/accounts/s1-t1 | jq -r '.certs | map(.fingerprint + " " + .status) | join(",")')" \
    "$(fp t1) active" "GET /v1/accounts/s1-t1 lists the certificate"
expect_exit 0 "idledger cert show" "$IDL" cert show "$(fp t1)"
like "$(cat "$OUT")" "of s1-t1: active \(rsa key\)" "idledger cert show: s1-t1, active, RSA"

submit s1-sysadmin cert medium --account s1-t2 --medium UK2026000102
submit s1-sysadmin cert medium --account s1-t3 --medium UK2026000103
settle "media UK2026000102 and UK2026000103 handed to s1-t2 and s1-t3"
refused "the same certificate cannot be anchored twice" s1-sysadmin "already anchored" \
    cert anchor --account s1-t2 --cert "$P/t1.der"
refused "s1-t2's certificate on s1-t1's medium" s1-sysadmin "s1-t2 was handed medium UK2026000102, not UK2026000101" \
    cert anchor --account s1-t2 --cert "$P/t2.pem" --medium UK2026000101
# The twin of s1-t1's certificate: the education CA's ECDSA signature (r, s) made (r, n - s).
if "$TOOLS/certtwin" "$P/t1.der" "$P/ca.der" "$P/twin.der" 2>"$P/twin.err"; then
    pass "certtwin made the twin of s1-t1's certificate"
else
    diag_file "$P/twin.err"
    fail "certtwin made the twin of s1-t1's certificate"
fi
TWIN_FP=$(sha256sum "$P/twin.der" | cut -d' ' -f1)
isnt "$TWIN_FP" "$(fp t1)" "the twin has another fingerprint"
openssl x509 -inform DER -in "$P/twin.der" -out "$P/twin.pem" 2>/dev/null
like "$(openssl verify -CAfile "$P/ca.pem" "$P/twin.pem" 2>&1)" ": OK" \
    "openssl verifies the twin under the education CA"
is "$(openssl x509 -inform DER -in "$P/twin.der" -noout -serial -issuer -pubkey | sha256sum)" \
    "$(openssl x509 -inform DER -in "$P/t1.der" -noout -serial -issuer -pubkey | sha256sum)" \
    "the twin has the original's serial, issuer and public key"
refused "the twin of s1-t1's anchored certificate is refused for s1-t2 (issuer and serial)" \
    s1-sysadmin "serial 1a2b3c4d5e is already anchored" \
    cert anchor --account s1-t2 --cert "$P/twin.der"

submit s1-sysadmin cert anchor --account s1-t2 --cert "$P/t2.pem"
submit s1-sysadmin cert anchor --account s1-t3 --cert "$P/t3.pem"
settle "s1-t2's EC P-256 and s1-t3's SM2 certificates anchored (SM2 CA checked with the standard ID)"
is "$(get "/v1/certs/$(fp t2)" | jq -r .medium)" UK2026000102 "s1-t2's certificate is on s1-t2's medium"

is "$(get "/v1/certs/$(fp t3)" | jq -r '[.key, .status, .serial] | join(" ")')" \
    "sm2 active $(cat "$P/t3.serial")" "the SM2 certificate: key sm2, active, serial"

# ---------------------------------------------------------------- verify and the role

v=$(verify s1-t1)
is "$(printf '%s' "$v" | jq -r .allowed)" false "before the grant: not allowed"
tx "s1-secadmin grants teacher/manager (cert-required) to s1-t1" s1-secadmin \
    grant add --account s1-t1 --system teacher --role manager
v=$(verify s1-t1)
is "$(printf '%s' "$v" | jq -r '"\(.allowed) \(.account) \(.system) \(.role)"')" \
    "true s1-t1 teacher manager" "GET /v1/verify: allowed with an active certificate"
expect_exit 0 "idledger verify answers" "$IDL" --json verify --account s1-t1 --system teacher \
    --role manager
is "$(jq -r .allowed "$OUT")" true "idledger verify: allowed"
refused "a second information manager at one school" s1-secadmin "one per organisation" \
    grant add --account s1-t2 --system teacher --role manager

# u-t2's certificate expires a few seconds from now (checked again further down).
EXP_AT=$(($(date +%s) + 15))
if (cd "$P" && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout u2.key -utf8 -subj "/C=CN/O=Sun Yat-sen University/CN=$(p_name u-t2)" \
    -out u2.csr && openssl ca -batch -utf8 -config ca.cnf -cert ca.pem -keyfile ca.key \
    -in u2.csr -out u2.pem -startdate 20250101000000Z \
    -enddate "$(date -u -d "@$EXP_AT" +%Y%m%d%H%M%SZ)" -notext &&
    openssl dgst -sha256 -sign u2.key -out u2.sig msg.txt &&
    openssl x509 -in u2.pem -outform DER | sha256sum | cut -d' ' -f1 >u2.fp) \
    >"$P/u2.log" 2>&1; then
    pass "openssl made u-t2's certificate, valid until $EXP_AT (a few seconds)"
else
    fail "openssl made u-t2's certificate"
fi
tx "u-t2's short-lived certificate anchored in one step with a new medium (cert anchor --medium)" \
    u-sysadmin cert anchor --account u-t2 --cert "$P/u2.pem" --medium UK2026100002
is "$(application u-t2 | jq -r '"\(.status) \(.medium) \([.records[] | .handed_by + ">" + .account] | join(","))"')" \
    "anchored UK2026100002 u-sysadmin>u-t2" "the one-step anchoring recorded the handover to u-t2"
submit u-secadmin grant add --account u-t1 --system teacher --role manager
submit u-secadmin grant add --account u-t2 --system teacher --role manager
settle "a university may have two information managers (u-t1, u-t2)"
AT_U2=$(date +%s) # u-t2's certificate is anchored and valid (the next check says so)
is "$(verify u-t1 | jq -r .allowed) $(verify u-t2 | jq -r .allowed)" "true true" \
    "both university managers verify allowed"

M="$P/msg.txt"
M2="$P/msg2.txt"
is "$(versig "$(fp t1)" "$M" "$P/t1.sig")" "true s1-t1 true ok" \
    "verify-signature: RSA signature by s1-t1's key is valid"

tx "freeze s1-t1's certificate (冻结)" s1-sysadmin \
    cert freeze --fingerprint "$(fp t1)" --reason 介质上交
is "$(cert_status "$(fp t1)")" frozen "the certificate is frozen"
v=$(verify s1-t1)
is "$(printf '%s' "$v" | jq -r .allowed)" false "frozen: not allowed"
like "$(printf '%s' "$v" | jq -r .reason)" "frozen" "the reason says frozen"
like "$(versig "$(fp t1)" "$M" "$P/t1.sig")" "^false s1-t1 true .*frozen" \
    "verify-signature with a frozen certificate: not valid (signature itself fine)"
refused "freeze twice" s1-sysadmin "not active" \
    cert freeze --fingerprint "$(fp t1)" --reason x

tx "unfreeze s1-t1's certificate" s1-sysadmin \
    cert unfreeze --fingerprint "$(fp t1)" --reason 返岗
is "$(verify s1-t1 | jq -r .allowed)" true "unfrozen: allowed again"
AT_OK=$(($(api "/v1/blocks/$(jq -r .height "$OUT")" | jq -r .time) / 1000))
# the revocation must fall in a later second than AT_OK
while [ "$(date +%s)" -le "$AT_OK" ]; do sleep 0.1; done

tx "revoke s1-t1's certificate (吊销)" s1-sysadmin \
    cert revoke --fingerprint "$(fp t1)" --reason 调离本单位
is "$(cert_status "$(fp t1)")" revoked "the certificate is revoked"
v=$(verify s1-t1)
is "$(printf '%s' "$v" | jq -r .allowed)" false "revoked: not allowed"
like "$(printf '%s' "$v" | jq -r .reason)" "revoked" "the reason says revoked"
refused "revocation is final: no unfreeze" s1-sysadmin "final" \
    cert unfreeze --fingerprint "$(fp t1)" --reason x
refused "revocation is final: no freeze" s1-sysadmin "final" \
    cert freeze --fingerprint "$(fp t1)" --reason x
is "$(cert_status "$(fp t1)")" revoked "still revoked"
c=$(get "/v1/certs/$(fp t1)")
is "$(printf '%s' "$c" | jq -r '[.history[].status] | join(",")')" \
    "active,frozen,active,revoked" "the certificate's history"
is "$(printf '%s' "$c" | jq -r '[.history[] | "\(.actor):\(.reason)"] | join(",")')" \
    "s1-sysadmin:,s1-sysadmin:介质上交,s1-sysadmin:返岗,s1-sysadmin:调离本单位" \
    "the history keeps who made each change and why (the reasons given)"
expect_exit 0 "idledger cert show prints the history" "$IDL" cert show "$(fp t1)"
like "$(cat "$OUT")" "revoked +by s1-sysadmin: 调离本单位" "idledger cert show: the revocation and its reason"
expect_exit 2 "a reason holding a mobile number is refused before it is signed" \
    "$IDL" --key "$K/s1-sysadmin.key" --basis "$(form mobile)" cert freeze \
    --fingerprint "$(fp t2)" --reason "手机 $(p_mobile s1-t2)"
like "$(cat "$ERR")" "11 or more digits" "the refusal says why (and keeps it off the chain)"
unlike "$(cat "$ERR")" "$(p_mobile s1-t2)" "the refusal does not echo the number"

# Revoked, its key handed in (介质上交): the medium comes back and goes to s1-t4.
refused "s1-t2's medium carries an active certificate: it stays with its holder" s1-sysadmin \
    "revoke it first" cert medium-return --account s1-t2 --medium UK2026000102 --reason x
tx "s1-t1 hands back UK2026000101 (its certificate revoked)" s1-sysadmin \
    cert medium-return --account s1-t1 --medium UK2026000101 --reason 调离本单位
tx "the school re-issues the blank key UK2026000101 to s1-t4" s1-sysadmin \
    cert medium --account s1-t4 --medium UK2026000101
is "$(application s1-t1 | jq -r '[.records[] | .kind] | join(",")')" "handover,handover,handover,return" \
    "s1-t1's record: three handovers and the return"
is "$(application s1-t4 | jq -r '"\(.medium) \([.records[] | .kind + ":" + .medium] | join(","))"')" \
    "UK2026000101 handover:UK2026000104,return:UK2026000104,handover:UK2026000101" \
    "s1-t4's record: the faulty key there and back, then UK2026000101"
refused "the twin is refused after the original's revocation too" s1-sysadmin \
    "serial 1a2b3c4d5e is already anchored" cert anchor --account s1-t4 --cert "$P/twin.der"
post /v1/certs/verify-signature "$(sigbody "$TWIN_FP" "$P/msg.txt" "$P/t1.sig")" >/dev/null
is "$(status_code)" 404 "verify-signature with the twin's fingerprint: 404, it was never anchored"

# The school replaces its information manager: the role goes first, then the new holder.
refused "the revoked holder still counts: s1-t2 still refused" s1-secadmin \
    "one per organisation" grant add --account s1-t2 --system teacher --role manager
tx "s1-secadmin withdraws teacher/manager from s1-t1" s1-secadmin \
    grant remove --account s1-t1 --system teacher --role manager
tx "s1-secadmin grants teacher/manager to s1-t2" s1-secadmin \
    grant add --account s1-t2 --system teacher --role manager
is "$(verify s1-t2 | jq -r .allowed)" true "s1-t2 is the school's information manager now"

# ---------------------------------------------------------------- verify-signature

is "$(versig "$(fp t2)" "$M" "$P/t2.sig")" "true s1-t2 true ok" \
    "verify-signature: ECDSA P-256 signature is valid"
is "$(versig "$(fp t3)" "$M" "$P/t3.sig")" "true s1-t3 true ok" \
    "verify-signature: SM2 with SM3 and the standard ID is valid"
is "$(versig "$(fp t3)" "$M" "$P/t3noid.sig" | cut -d' ' -f1,3)" "false false" \
    "verify-signature: SM2 signed with OpenSSL's empty ID is not valid"
is "$(versig "$(fp t2)" "$M" "$P/u1.sig" | cut -d' ' -f1,3)" "false false" \
    "verify-signature: a signature by a different key is refused"
is "$(versig "$(fp t2)" "$M2" "$P/t2.sig" | cut -d' ' -f1,3)" "false false" \
    "verify-signature: a signature over a different message is refused"
like "$(versig "$(fp t1)" "$M" "$P/t1.sig")" "^false s1-t1 true .*revoked" \
    "verify-signature: a revoked certificate is refused"
is "$(versig "$(fp t1)" "$M" "$P/t1.sig" "$AT_OK")" "true s1-t1 true ok" \
    "verify-signature at a time before the revocation: valid"
like "$(versig "$(fp t1)" "$M" "$P/t1.sig" 1600000000)" "^false .*not anchored" \
    "verify-signature at a time before the anchoring: not valid"
body=$(jq -nc --arg f "$(fp t1)" --arg d "$(openssl dgst -sha256 -binary "$M" | base64 -w0)" \
    --arg s "$(b64 "$P/t1.sig")" --argjson at "$AT_OK" \
    '{fingerprint: $f, digest_b64: $d, signature_b64: $s, at: $at}')
is "$(post /v1/certs/verify-signature "$body" | jq -r .valid)" true \
    "verify-signature with digest_b64 (the SHA-256 of the message)"
# digestbody BYTES_CMD: the same request with the digest that BYTES_CMD prints
digestbody() {
    jq -nc --arg f "$(fp t1)" --arg d "$(sh -c "$1" | base64 -w0)" \
        --arg s "$(b64 "$P/t1.sig")" --argjson at "$AT_OK" \
        '{fingerprint: $f, digest_b64: $d, signature_b64: $s, at: $at}'
}
bad_digest=""
for cmd in "openssl dgst -sha256 -binary $M | head -c 31" \
    "{ openssl dgst -sha256 -binary $M; printf x; }" "openssl dgst -sha512 -binary $M" \
    "printf ''"; do
    r=$(post /v1/certs/verify-signature "$(digestbody "$cmd")")
    [ "$(status_code)" = 400 ] && printf '%s' "$r" | grep -q "32 bytes" || {
        bad_digest="$bad_digest [$cmd: $(status_code) $r]"
    }
done
is "$bad_digest" "" "verify-signature: a digest_b64 of 31, 33, 64 or 0 bytes is 400 (32 bytes or nothing)"

# The message's limit: its base64 and the rest must fit the 1 MiB body.
# bigbody N: a request for an N-byte message signed with s1-t2's key, in $P/big.json
bigbody() {
    head -c "$1" /dev/urandom >"$P/big.bin"
    openssl dgst -sha256 -sign "$P/t2.key" -out "$P/big.sig" "$P/big.bin"
    base64 -w0 "$P/big.bin" >"$P/big.b64"
    jq -nc --arg f "$(fp t2)" --rawfile m "$P/big.b64" --arg s "$(b64 "$P/big.sig")" \
        '{fingerprint: $f, message_b64: $m, signature_b64: $s}' >"$P/big.json"
    curl -s -m 30 -o "$T/.body" -w '%{http_code}' -H "Authorization: Bearer $BIZ" \
        -H 'Content-Type: application/json' --data-binary "@$P/big.json" \
        "$API/v1/certs/verify-signature" >"$T/.status" || echo 000 >"$T/.status"
    echo "$(status_code) $(jq -r '.valid // .error.message' "$T/.body")"
}
is "$(bigbody 782336)" "200 true" "verify-signature: a message of 782336 bytes (the limit) is checked: valid"
like "$(bigbody 782337)" "^400 .*at most 782336 bytes" "one byte more: 400, saying the limit"
like "$(bigbody 800000)" "^413 " "a body over 1 MiB: 413"
post /v1/certs/verify-signature "$(sigbody "$(fp x1)" "$M" "$P/t1.sig")" >/dev/null
is "$(status_code)" 404 "verify-signature with a fingerprint never anchored: 404"
post /v1/certs/verify-signature '{"fingerprint":"zz","message_b64":"","signature_b64":""}' >/dev/null
is "$(status_code)" 400 "verify-signature with a malformed fingerprint: 400"
expect_exit 0 "idledger cert verify-signature (SM2)" "$IDL" cert verify-signature \
    --fingerprint "$(fp t3)" --message "$M" --signature "$P/t3.sig"
like "$(cat "$OUT")" "^valid: signed by s1-t3" "idledger cert verify-signature: valid, s1-t3"

# ---------------------------------------------------------------- disabling freezes

tx "s1-sysadmin disables s1-t3" s1-sysadmin account disable --id s1-t3 --reason 离职
is "$(cert_status "$(fp t3)")" frozen "disabling the account froze its certificate"
like "$(versig "$(fp t3)" "$M" "$P/t3.sig")" "^false s1-t3 true" \
    "verify-signature: not valid while the account is disabled"
refused "no unfreeze while the account is disabled" s1-sysadmin "disabled" \
    cert unfreeze --fingerprint "$(fp t3)" --reason x
tx "s1-sysadmin restores s1-t3" s1-sysadmin account restore --id s1-t3 --reason 返聘
is "$(cert_status "$(fp t3)")" frozen "restoring does not unfreeze by itself"
tx "unfreeze s1-t3's certificate" s1-sysadmin cert unfreeze --fingerprint "$(fp t3)" --reason 返聘
is "$(versig "$(fp t3)" "$M" "$P/t3.sig")" "true s1-t3 true ok" "valid again"

# ---------------------------------------------------------------- real-name check

rn() {
    post /v1/realname/check "$(jq -nc --arg n "$1" --arg m "$2" '{id_number: $n, name: $m}')"
}
r=$(rn "$(p_num s1-t1)" "$(p_name s1-t1)")
is "$(status_code) $(printf '%s' "$r" | jq -c -S .)" '200 {"accounts":["s1-t1"],"registered":true}' \
    "realname/check: registered, accounts [s1-t1], nothing else in the answer"
r=$(rn "$(p_num s1-t1)" 王芳)
is "$(printf '%s' "$r" | jq -c -S .)" '{"accounts":[],"registered":false}' \
    "realname/check under another name: not registered, no accounts"
r=$(rn "$(idnum 11010519700101123)" "$(p_name s1-t1)")
is "$(printf '%s' "$r" | jq -c -S .)" '{"accounts":[],"registered":false}' \
    "realname/check of an unknown person: not registered"
bad=$(p_num s1-t1 | sed 's/.$/0/')
[ "$bad" != "$(p_num s1-t1)" ] || bad=$(p_num s1-t1 | sed 's/.$/1/')
r=$(rn "$bad" "$(p_name s1-t1)")
is "$(status_code) $(printf '%s' "$r" | jq -r .error.code)" "400 invalid" \
    "realname/check with a wrong check digit: 400 invalid"
unlike "$r" "$bad" "the refusal does not echo the number"
expect_exit 0 "idledger realname check" "$IDL" realname check --id-number "$(p_num u-t1)" \
    --name "$(p_name u-t1)"
is "$(cat "$OUT")" "registered; accounts: u-t1" "idledger realname check: u-t1"
# The checks that found nobody concern no organisation below the root: its auditor has them.
expect_exit 0 "the root's auditor lists the reads filed under the root" \
    "$IDL" --json --key "$K/root-auditor.key" read-audit --org 440000 --limit 1000
is "$(jq -r '[.reads[] | select(.endpoint == "POST /v1/realname/check" and .account == "")] | length' "$OUT")" 2 \
    "the two real-name checks that found nobody are in the root's read audit"

# ---------------------------------------------------------------- reports and audit

r=$(get "/v1/reports/business-accounts?org=4401000001")
is "$(status_code) $(printf '%s' "$r" | jq -r '"\(.org) \(.total)"')" "200 4401000001 4" \
    "GET /v1/reports/business-accounts: the school's 4 business accounts"
a=$(get "/v1/audit?org=4401000001")
is "$(status_code)" 200 "GET /v1/audit?org=4401000001: 200"
is "$(printf '%s' "$a" | jq -r --arg fp "$(fp t1)" '[.entries[] | select((.target == "s1-t1" or .target == $fp) and .status == "committed" and (.type | startswith("cert.")))] | map(.type + ":" + .actor) | join(",")')" \
    "cert.apply:s1-sysadmin,cert.medium:s1-sysadmin,cert.anchor:s1-sysadmin,cert.freeze:s1-sysadmin,cert.unfreeze:s1-sysadmin,cert.revoke:s1-sysadmin,cert.medium-return:s1-sysadmin" \
    "the audit log holds s1-t1's certificate lifecycle in order (freeze/unfreeze/revoke by fingerprint)"
is "$(printf '%s' "$a" | jq -r --arg t "$ANCHOR_TX" '.entries[] | select(.txid == $t) | .basis')" \
    "$ANCHOR_BASIS" "the anchoring's audit entry carries the SHA-256 of its form"
like "$(printf '%s' "$a" | jq -r '[.entries[] | select(.status == "rejected") | .reason] | join("|")')" \
    "expired" "the audit log lists refused operations with their reason"

# ---------------------------------------------------------------- credentials

T_UNAUTH=$(now_ms)
noauth_ok=1
for req in "GET /v1/accounts/s1-t1" "GET /v1/verify?account=s1-t1&system=teacher&role=manager" \
    "GET /v1/certs/$(fp t1)" "GET /v1/audit?org=4401000001" "GET /v1/orgs/4401000001" \
    "GET /v1/certs/applications/s1-t1" \
    "GET /v1/reports/business-accounts?org=4401000001" \
    "POST /v1/certs/verify-signature $(sigbody "$(fp t2)" "$M" "$P/t2.sig")" \
    "POST /v1/realname/check $(jq -nc --arg n "$(p_num s1-t1)" --arg m "$(p_name s1-t1)" \
        '{id_number: $n, name: $m}')"; do
    m=${req%% *}
    rest=${req#* }
    path=${rest%% *}
    jb=""
    [ "$m" = GET ] || jb=${rest#* }
    for tok in "" "idl_$(printf '%064d' 0)"; do
        b=$(JSON_BODY=$jb call "$tok" "$m" "$path")
        # an error object and nothing else, naming no account, person or certificate
        if [ "$(status_code)" != 401 ] ||
            ! printf '%s' "$b" | grep -Eqx '\{"error":\{"code":"unauthorized","message":"[^"]*"\}\}' ||
            printf '%s' "$b" | grep -Eq "s1-t|$(fp t1)|$(fp t2)|$(cat "$P/t1.serial")|王|$(p_num s1-t1)"; then
            noauth_ok=0
            diag "$m $path with token '${tok:+(bad)}': $(status_code) $b"
        fi
    done
done
check "without a valid token: 401, an error object only, no account/person/cert data" \
    [ "$noauth_ok" = 1 ]
curl -s -m 5 -D "$T/.hdr" -o /dev/null "$API/v1/accounts/s1-t1"
like "$(cat "$T/.hdr")" "WWW-Authenticate: Bearer" "401 answers carry WWW-Authenticate: Bearer"
is "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$API/v1/status")" 200 \
    "GET /v1/status needs no token"
is "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$API/health/live")" 200 \
    "GET /health/live needs no token"

# The read audit: what the business system asked in one window, for the school's auditor.
sleep 0.01
T_READS=$(now_ms)
get /v1/accounts/s1-t2 >/dev/null
verify s1-t2 >/dev/null
get "/v1/certs/$(fp t2)" >/dev/null
versig "$(fp t2)" "$M" "$P/t2.sig" >/dev/null
rn "$(p_num s1-t2)" "$(p_name s1-t2)" >/dev/null
expect_exit 0 "the school's auditor lists the reads (idledger read-audit)" \
    "$IDL" --json --key "$K/s1-auditor.key" read-audit --org 4401000001 --since "$T_READS"
reads=$(cat "$OUT")
is "$(printf '%s' "$reads" | jq -r '[.reads[] | "\(.client) \(.endpoint) \(.account) \(.org)"] | sort | join("|")')" \
    "teacher-sys GET /v1/accounts s1-t2 4401000001|teacher-sys GET /v1/certs s1-t2 4401000001|teacher-sys GET /v1/verify s1-t2 4401000001|teacher-sys POST /v1/certs/verify-signature s1-t2 4401000001|teacher-sys POST /v1/realname/check s1-t2 4401000001" \
    "read-audit: which system, which endpoint, about whom, for each of the 5 calls"
is "$(printf '%s' "$reads" | jq -r --argjson t "$T_READS" '[.reads[] | select(.time >= $t and .time <= $t + 60000)] | length')" 5 \
    "read-audit: each read has its time"
T_AUD=$(now_ms)
get "/v1/audit?org=4401000001" >/dev/null
run "$IDL" --json --key "$K/s1-auditor.key" read-audit --org 4401000001 --since "$T_AUD"
is "$(jq -r '[.reads[] | select(.endpoint == "GET /v1/audit")] | length' "$OUT")" 1 \
    "read-audit lists the business system's GET /v1/audit?org=4401000001"
T_APP=$(now_ms)
application s1-t1 >/dev/null
run "$IDL" --json --key "$K/s1-auditor.key" read-audit --org 4401000001 --since "$T_APP"
is "$(jq -r '[.reads[] | select(.endpoint == "GET /v1/certs/applications") | .account] | sort | join(",")' "$OUT")" \
    "s1-secadmin,s1-t1" \
    "read-audit lists the application read: the applicant, and the school's receiver named in its record"
expect_exit 0 "read-audit of the window with the refused calls" \
    "$IDL" --json --key "$K/s1-auditor.key" read-audit --org 4401000001 --since "$T_UNAUTH"
is "$(jq -r --argjson t "$T_READS" '[.reads[] | select(.time < $t)] | length' "$OUT")" 0 \
    "read-audit: the calls refused with 401 left no reads"
expect_exit 1 "a sysadmin may not list the reads" \
    "$IDL" --key "$K/s1-sysadmin.key" read-audit --org 4401000001
like "$(cat "$ERR")" "only the auditor of 4401000001" "refused: only the auditor"
expect_exit 1 "another organisation's auditor may not list them" \
    "$IDL" --key "$K/root-auditor.key" read-audit --org 4401000001
get "/v1/read-audit?org=4401000001" >/dev/null
is "$(status_code)" 401 "GET /v1/read-audit with a business token: 401 (a signed request is needed)"

# ---------------------------------------------------------------- expiry

while [ "$(date +%s)" -le "$EXP_AT" ]; do sleep 0.2; done
v=$(verify u-t2)
is "$(printf '%s' "$v" | jq -r .allowed)" false "u-t2's certificate expired: not allowed"
like "$(printf '%s' "$v" | jq -r .reason)" "expired" "the reason says expired"
like "$(versig "$(fp u2)" "$M" "$P/u2.sig")" "^false u-t2 true .*outside its validity" \
    "verify-signature with an expired certificate: not valid"
is "$(versig "$(fp u2)" "$M" "$P/u2.sig" "$AT_U2")" "true u-t2 true ok" \
    "verify-signature at a time the certificate was valid: valid"

run "$IDLD" --home "$NODE_HOME" token revoke teacher-sys
is "$RC" 0 "idledgerd token revoke teacher-sys"
_i=0
while [ $_i -lt 40 ]; do
    get /v1/orgs/440000 >/dev/null
    [ "$(status_code)" = 401 ] && break
    sleep 0.1
    _i=$((_i + 1))
done
is "$(status_code)" 401 "the running node refuses the revoked token"

# ---------------------------------------------------------------- open mode (loopback only)

node_stop || diag "node did not stop cleanly"
cp "$NODE_HOME/config.json" "$T/config.token.json"
jq '.api_auth = "open"' "$T/config.token.json" >"$NODE_HOME/config.json"
node_start || bail "the node did not start with api_auth open"
like "$(grep '"api listening"' "$NODE_LOG" | tail -n 1)" '"auth":"open' \
    "api_auth open on loopback: the node logs that its API is open"
T_OPEN=$(now_ms)
JSON_BODY="" call "" GET /v1/accounts/s1-t1 >/dev/null
is "$(status_code)" 200 "open mode: no token needed"
expect_exit 0 "read-audit in open mode" \
    "$IDL" --json --key "$K/s1-auditor.key" read-audit --org 4401000001 --since "$T_OPEN"
is "$(jq -r '[.reads[] | select(.endpoint == "GET /v1/accounts") | "\(.client) \(.account)"] | join(",")' "$OUT")" \
    "open s1-t1" "open mode: the read is recorded as by 'open'"
node_stop || diag "node did not stop cleanly"
jq --arg a "0.0.0.0:$PORT" '.api_auth = "open" | .api_listen = $a' "$T/config.token.json" \
    >"$NODE_HOME/config.json"
run timeout 10 "$IDLD" --home "$NODE_HOME"
if [ "$RC" != 0 ] && [ "$RC" != 124 ] && grep -q "loopback" "$ERR"; then
    pass "api_auth open on 0.0.0.0 is refused at start ($(head -n 1 "$ERR" | cut -c1-100))"
else
    fail "api_auth open on 0.0.0.0 is refused at start"
    diag "exit status $RC"
    diag_file "$ERR" stderr
fi
cp "$T/config.token.json" "$NODE_HOME/config.json"

# ---------------------------------------------------------------- no personal data

# (the scan must see the files: they hold what the node and the CLI said about s1-t1)
check "the node's log and the transcript are there to scan" \
    grep -q '"block committed"' "$NODE_LOG"
check "the transcript holds the CLI's and the API's answers" grep -q '"account":"s1-t1"' "$TRANSCRIPT"
leak=""
while read -r id name num mobile email; do
    for v in "$name" "$num" "$mobile" "$email"; do
        grep -Fq -- "$v" "$NET/node0.log" "$NODE_LOG.stdout" 2>/dev/null &&
            leak="$leak log:$id"
        grep -Fq -- "$v" "$TRANSCRIPT" && leak="$leak out:$id"
    done
done <"$T/people"
is "$leak" "" "no name, ID number, mobile or e-mail in the node's log, CLI output or API answers"
tok_leak=""
grep -Fq -- "$BIZ" "$NODE_LOG" && tok_leak="$tok_leak biz"
grep -Fq -- "$IDLEDGER_API_TOKEN" "$NODE_LOG" && tok_leak="$tok_leak devnet"
is "$tok_leak" "" "no API token in the node's log"

done_testing

#!/bin/sh
# flow.sh: the seeds' top-down flow through bin/idledger against a real node, then
# every kind of wrong actor refused with nothing changed.
#
# province 440000 (root-*) -> city 440100 (gz-*) -> county 440106 (th-*) -> school
# 4401060001 (s1-*, primary); business system teacher; the school's information query
# officer (信息查询员, the teacher system's role `query`; its information manager would be
# `manager`) s1-t1 bound to legacy post account 4401060001_xxgl and granted teacher/query;
# disable/restore; the audit logs of all four organisations, and of three admins by actor
# (the same entries). Then: a second branch (city 440300, sz-*), the school auditor, a
# pending admin, a disabled admin, a secadmin doing the sysadmin's job and a sysadmin
# doing the secadmin's job. Last, the
# auditors' read audits (with their keys alone, no token), and after the node stopped,
# none of the flow's ID numbers, names, mobiles, e-mails or phones in the clear in the
# data directory, the node log or anything the CLI printed.
. "$(dirname "$0")/lib.sh"

PORT=$((${IT_PORT_BASE:-18000} + 0))
net_up "$T/net" "$PORT"

mkdir -p "$T/keys"
cp "$ROOT_SYS" "$T/keys/root-sysadmin.key"
cp "$ROOT_SEC" "$T/keys/root-secadmin.key"
cp "$ROOT_AUD" "$T/keys/root-auditor.key"
# actor -> organisation (for the audit log), one "actor org" a line
printf 'root-sysadmin 440000\nroot-secadmin 440000\nroot-auditor 440000\n' >"$T/actors"
: >"$T/accounts" # every account id, for the state snapshots
: >"$T/orgs"     # every organisation code, likewise
: >"$T/ops"      # committed: txid actor target basis-sha256 height
: >"$T/refused"  # refused:   txid actor target
echo 440000 >>"$T/orgs"
for a in root-sysadmin root-secadmin root-auditor; do echo "$a" >>"$T/accounts"; done

# ---------------------------------------------------------------- people

_person_n=0
# next_person: sets P_NAME P_ID P_MOBILE P_EMAIL P_PHONE for a new, distinct person.
next_person() {
    _person_n=$((_person_n + 1))
    set -- 李明 王芳 张伟 刘洋 陈静 杨帆 黄磊 赵敏 周杰 吴琳 徐强 孙丽 马超 朱婷 胡斌 郭敏 何平 林峰
    shift $(((_person_n - 1) % 18))
    P_NAME=$1
    P_ID=$(idnum "4401061980$(printf %02d $((_person_n % 12 + 1)))15$(printf %03d $_person_n)")
    P_MOBILE=1380013$(printf %04d $_person_n)
    P_EMAIL="user$_person_n@example.edu.cn"
    P_PHONE="020-8$(printf %07d $_person_n)"
    printf '%s\n' "$P_NAME" "$P_ID" "$P_MOBILE" "$P_EMAIL" "$P_PHONE" >>"$T/people"
}

# ---------------------------------------------------------------- transactions

_form_n=0
# tx NAME ACTOR TARGET CMD...: ACTOR signs `idledger CMD...` with a fresh basis form;
# the command must commit. Records the operation for the audit checks.
tx() {
    _name=$1 _actor=$2 _target=$3
    shift 3
    _form_n=$((_form_n + 1))
    _f=$(form "op$_form_n")
    if expect_exit 0 "$_name" "$IDL" --json --key "$T/keys/$_actor.key" --basis "$_f" "$@"; then
        _txid=$(jq -r '.txid' "$OUT")
        _h=$(jq -r '.height' "$OUT")
        echo "$_txid $_actor $_target $(sha256 "$_f") $_h" >>"$T/ops"
    fi
}

# SNAP_FILE=FILE snapshot [ID...]: writes to FILE every known account (and IDs, which
# may not exist), every organisation and the teacher's verify answer as the CLI shows
# them, exit status included, for before/after comparisons.
snapshot() {
    {
        for a in $(cat "$T/accounts") "$@"; do
            echo "== account $a"
            "$IDL" --json account show "$a" 2>&1
            echo "rc=$?"
        done
        for o in $(cat "$T/orgs"); do
            echo "== org $o"
            "$IDL" --json org show "$o" 2>&1
            echo "rc=$?"
        done
        if grep -qx s1-t1 "$T/accounts"; then
            echo "== verify s1-t1"
            "$IDL" --json verify --account s1-t1 --system teacher --role query | jq -S 'del(.height)'
        fi
    } >"$SNAP_FILE"
}

# refused NAME ACTOR TARGET CMD...: ACTOR's `idledger CMD...` must be refused: exit 1, a
# one-line reason on stderr, no state changed, and the height moved at most by the one
# block that records the refusal. A refusal by the ledger is a rejected transaction; an
# account add by an actor who may not have the node seal personal data (not an active
# system administrator) is refused by the node before any transaction exists.
refused() {
    _rname=$1 _actor=$2 _target=$3
    shift 3
    _form_n=$((_form_n + 1))
    _f=$(form "op$_form_n")
    SNAP_FILE="$T/snap.before" snapshot "$_target"
    _h0=$(height)
    expect_exit 1 "$_rname: refused (exit 1)" \
        "$IDL" --json --key "$T/keys/$_actor.key" --basis "$_f" "$@"
    _lines=$(grep -c . "$ERR")
    if [ "$_lines" = 1 ] && [ "$(wc -l <"$ERR")" = 1 ]; then
        pass "$_rname: one-line reason on stderr ($(cut -c1-90 "$ERR"))"
    else
        fail "$_rname: one-line reason on stderr"
        diag_file "$ERR" stderr
    fi
    _txid=$(jq -r '.txid // empty' "$OUT" 2>/dev/null)
    [ -z "$_txid" ] || echo "$_txid $_actor $_target" >>"$T/refused"
    if [ -n "$_txid" ]; then
        is "$(api "/v1/tx/$_txid" | jq -r '.state')" rejected "$_rname: GET /v1/tx says rejected"
    else
        is "$(jq -r '.error.code' "$OUT" 2>/dev/null) $1 $2" "denied account add" \
            "$_rname: the node refused to seal the personal data (403 denied), no transaction"
    fi
    _h1=$(height)
    if [ "$_h1" = "$_h0" ]; then
        pass "$_rname: height unchanged ($_h0)"
    elif [ "$_h1" = $((_h0 + 1)) ] &&
        [ "$(api "/v1/blocks/$_h1" | jq -c '.txs')" = "[\"$_txid\"]" ]; then
        pass "$_rname: height moved only by the block recording the refusal ($_h1)"
    else
        fail "$_rname: height moved only by the refused transaction's block"
        diag "height $_h0 before, $_h1 after; refused tx '$_txid'"
        diag "$(api "/v1/blocks/$_h1")"
    fi
    SNAP_FILE="$T/snap.after" snapshot "$_target"
    if cmp -s "$T/snap.before" "$T/snap.after"; then
        pass "$_rname: no account or organisation changed"
    else
        fail "$_rname: no account or organisation changed"
        diff "$T/snap.before" "$T/snap.after" | head -n 30 | sed 's/^/#   /'
    fi
}

# admin ORG POST ID SIGNER: SIGNER creates management account ID (post POST at ORG)
# with a new key and a new person.
admin() {
    run "$IDL" key new --out "$T/keys/$3.key"
    [ "$RC" = 0 ] || bail "key new failed: $(cat "$ERR")"
    next_person
    tx "$4 creates $2 $3 of $1" "$4" "$3" account add --id "$3" --org "$1" \
        --class management --post "$2" --pubkey "$(cat "$OUT")" --name "$P_NAME" \
        --id-number "$P_ID" --mobile "$P_MOBILE" --email "$P_EMAIL" --office-phone "$P_PHONE"
    echo "$3 $1" >>"$T/actors"
    echo "$3" >>"$T/accounts"
}

# org_with_admins CODE NAME KIND PARENT PREFIX PARENT_PREFIX [--school-type T]: the
# parent's sysadmin adds the organisation and its three management accounts, the
# parent's secadmin authorises them.
org_with_admins() {
    _code=$1 _oname=$2 _kind=$3 _parent=$4 _pre=$5 _ppre=$6
    shift 6
    tx "$_ppre-sysadmin adds $_kind $_code" "$_ppre-sysadmin" "$_code" \
        org add --code "$_code" --name "$_oname" --kind "$_kind" --parent "$_parent" "$@"
    echo "$_code" >>"$T/orgs"
    for post in sysadmin secadmin auditor; do
        admin "$_code" "$post" "$_pre-$post" "$_ppre-sysadmin"
    done
    is "$("$IDL" --json account show "$_pre-sysadmin" | jq -r .status)" pending \
        "$_pre-sysadmin is pending before authorisation"
    for post in sysadmin secadmin auditor; do
        tx "$_ppre-secadmin authorises $_pre-$post" "$_ppre-secadmin" "$_pre-$post" \
            account authorize --id "$_pre-$post"
    done
    is "$("$IDL" --json account show "$_pre-sysadmin" | jq -r .status)" active \
        "$_pre-sysadmin is active after authorisation"
}

acct_field() {
    "$IDL" --json account show "$1" | jq -r "$2"
}

verify_json() {
    "$IDL" --json verify --account s1-t1 --system teacher --role query
}

# ---------------------------------------------------------------- the flow

org_with_admins 440100 广州市教育局 city 440000 gz root
org_with_admins 440106 天河区教育局 county 440100 th gz
org_with_admins 4401060001 天河区第一小学 school 440106 s1 th --school-type primary

o=$("$IDL" --json org show 4401060001)
is "$(printf '%s' "$o" | jq -r '[.kind, .school_type, .parent] | join(" ")')" \
    "school primary 440106" "school 4401060001: kind school, type primary, parent 440106"
is "$(printf '%s' "$o" | jq -r '[.admins.sysadmin, .admins.secadmin, .admins.auditor] | join(" ")')" \
    "s1-sysadmin s1-secadmin s1-auditor" "school 4401060001 names its three admins"
is "$("$IDL" --json org show 440106 | jq -r '[.children[].code] | join(" ")')" 4401060001 \
    "county 440106 lists the school as its child"

tx "root-sysadmin registers system teacher" root-sysadmin teacher \
    system add --code teacher --name 全国教师管理信息系统 \
    --roles query,manager,training,sysadmin,auditor

next_person
tx "s1-sysadmin creates business account s1-t1 (information query officer)" s1-sysadmin s1-t1 \
    account add --id s1-t1 --org 4401060001 --class business --name "$P_NAME" \
    --id-number "$P_ID" --mobile "$P_MOBILE" --email "$P_EMAIL"
echo s1-t1 >>"$T/accounts"
tx "s1-sysadmin binds legacy post account 4401060001_xxgl to s1-t1" s1-sysadmin s1-t1 \
    account bind-legacy --id s1-t1 --system teacher --legacy-account 4401060001_xxgl
is "$(acct_field s1-t1 '.legacy | map(.system + "/" + .account) | join(",")')" \
    teacher/4401060001_xxgl "s1-t1 shows the bound legacy account"

is "$(verify_json | jq -r .allowed)" false "before the grant: verify says not allowed"
tx "s1-secadmin grants teacher/query to s1-t1" s1-secadmin s1-t1 \
    grant add --account s1-t1 --system teacher --role query
v=$(verify_json)
is "$(printf '%s' "$v" | jq -r .allowed)" true "after the grant: verify .allowed == true"
is "$(acct_field s1-t1 '.grants | map(.system + "/" + .role) | join(",")')" teacher/query \
    "s1-t1 holds teacher/query"

tx "s1-sysadmin disables s1-t1" s1-sysadmin s1-t1 \
    account disable --id s1-t1 --reason 调离本单位
v=$(verify_json)
is "$(printf '%s' "$v" | jq -r .allowed)" false "disabled: verify .allowed == false"
like "$(printf '%s' "$v" | jq -r .reason)" disabled "disabled: verify reason mentions disabled"
is "$(acct_field s1-t1 .status)" disabled "disabled: account status disabled"

tx "s1-sysadmin restores s1-t1" s1-sysadmin s1-t1 \
    account restore --id s1-t1 --reason 返回本单位
is "$(verify_json | jq -r .allowed)" true "restored: verify .allowed == true"
is "$(acct_field s1-t1 .status)" active "restored: account status active"

# ---------------------------------------------------------------- wrong actors

# A second branch of the tree, 440300, whose sysadmin first acts while still pending.
tx "root-sysadmin adds city 440300" root-sysadmin 440300 \
    org add --code 440300 --name 深圳市教育局 --kind city --parent 440000
echo 440300 >>"$T/orgs"
for post in sysadmin secadmin auditor; do
    admin 440300 "$post" "sz-$post" root-sysadmin
done
next_person
refused "pending admin sz-sysadmin creates an account" sz-sysadmin sz-t0 \
    account add --id sz-t0 --org 440300 --class business --name "$P_NAME" \
    --id-number "$P_ID" --mobile "$P_MOBILE"
like "$(cat "$ERR")" pending "pending admin: the reason says pending"
refused "pending admin sz-sysadmin adds a county" sz-sysadmin 440301 \
    org add --code 440301 --name 罗湖区教育局 --kind county --parent 440300
refused "sysadmin doing the secadmin's job: root-sysadmin authorises sz-sysadmin" \
    root-sysadmin sz-sysadmin account authorize --id sz-sysadmin
for post in sysadmin secadmin auditor; do
    tx "root-secadmin authorises sz-$post" root-secadmin "sz-$post" \
        account authorize --id "sz-$post"
done

next_person
refused "other branch: sz-sysadmin creates a business account at school 4401060001" \
    sz-sysadmin s1-x1 account add --id s1-x1 --org 4401060001 --class business \
    --name "$P_NAME" --id-number "$P_ID" --mobile "$P_MOBILE"
refused "other branch: sz-sysadmin disables s1-t1" sz-sysadmin s1-t1 \
    account disable --id s1-t1 --reason 越权
refused "other branch: sz-secadmin grants teacher/manager to s1-t1" sz-secadmin s1-t1 \
    grant add --account s1-t1 --system teacher --role manager

refused "auditor: s1-auditor creates a business account" s1-auditor s1-x2 \
    account add --id s1-x2 --org 4401060001 --class business \
    --name "$P_NAME" --id-number "$P_ID" --mobile "$P_MOBILE"
refused "auditor: s1-auditor grants teacher/training to s1-t1" s1-auditor s1-t1 \
    grant add --account s1-t1 --system teacher --role training
refused "auditor: s1-auditor disables s1-t1" s1-auditor s1-t1 \
    account disable --id s1-t1 --reason 审计
refused "auditor: root-auditor creates city 440400" root-auditor 440400 \
    org add --code 440400 --name 珠海市教育局 --kind city --parent 440000

refused "secadmin doing the sysadmin's job: s1-secadmin creates a business account" \
    s1-secadmin s1-x3 account add --id s1-x3 --org 4401060001 --class business \
    --name "$P_NAME" --id-number "$P_ID" --mobile "$P_MOBILE"
refused "secadmin doing the sysadmin's job: s1-secadmin disables s1-t1" s1-secadmin s1-t1 \
    account disable --id s1-t1 --reason 越权
refused "sysadmin doing the secadmin's job: s1-sysadmin grants teacher/manager" \
    s1-sysadmin s1-t1 grant add --account s1-t1 --system teacher --role manager

# A disabled admin: the county's sysadmin disables the school's sysadmin.
tx "th-sysadmin disables s1-sysadmin" th-sysadmin s1-sysadmin \
    account disable --id s1-sysadmin --reason 调岗
is "$(acct_field s1-sysadmin .status)" disabled "s1-sysadmin is disabled"
refused "disabled admin: s1-sysadmin creates a business account" s1-sysadmin s1-x4 \
    account add --id s1-x4 --org 4401060001 --class business \
    --name "$P_NAME" --id-number "$P_ID" --mobile "$P_MOBILE"
like "$(cat "$ERR")" disabled "disabled admin: the reason says disabled"
refused "disabled admin: s1-sysadmin disables s1-t1" s1-sysadmin s1-t1 \
    account disable --id s1-t1 --reason 已停用的管理员
like "$(cat "$ERR")" disabled "disabled admin: the ledger's reason says disabled"
tx "th-sysadmin restores s1-sysadmin" th-sysadmin s1-sysadmin \
    account restore --id s1-sysadmin --reason 复岗
is "$(acct_field s1-sysadmin .status)" active "s1-sysadmin is active again"
tx "restored s1-sysadmin creates a business account" s1-sysadmin s1-t2 \
    account add --id s1-t2 --org 4401060001 --class business \
    --name "$P_NAME" --id-number "$P_ID" --mobile "$P_MOBILE"
echo s1-t2 >>"$T/accounts"
is "$(verify_json | jq -r .allowed)" true "after all refusals: s1-t1 still allowed teacher/query"

# ---------------------------------------------------------------- the audit logs

# Each organisation's audit log (asked with its auditor's key) lists every operation of
# its administrators: actor, target, basis = sha256 of the form file, height.
org_auditor() {
    case $1 in
    440000) echo root-auditor ;;
    440100) echo gz-auditor ;;
    440106) echo th-auditor ;;
    4401060001) echo s1-auditor ;;
    440300) echo sz-auditor ;;
    esac
}
for org in 440000 440100 440106 4401060001 440300; do
    expect_exit 0 "audit log of $org answers" "$IDL" --json \
        --key "$T/keys/$(org_auditor "$org").key" audit log --org "$org" --limit 1000
    cp "$OUT" "$T/audit.$org"
    is "$(jq -r '.next' "$T/audit.$org")" null "audit log of $org fits one page"
done
missing=0
n_ops=0
while read -r txid actor target basis h; do
    n_ops=$((n_ops + 1))
    org=$(awk -v a="$actor" '$1 == a {print $2}' "$T/actors")
    got=$(jq -r --arg t "$txid" '.entries[] | select(.txid == $t) |
        [.actor, .target, .basis, (.height | tostring), .status] | join(" ")' "$T/audit.$org")
    if [ "$got" != "$actor $target $basis $h committed" ]; then
        missing=$((missing + 1))
        diag "audit $org: tx $txid" "     got: '$got'" "expected: '$actor $target $basis $h committed'"
    fi
done <"$T/ops"
is "$missing" 0 "all $n_ops committed operations are in their organisation's audit log with actor, target, basis and height"
for org in 440000 440100 440106 4401060001 440300; do
    want=$(while read -r txid actor rest; do
        awk -v a="$actor" -v o="$org" '$1 == a && $2 == o {print}' "$T/actors"
    done <"$T/ops" | wc -l)
    is "$(jq '[.entries[] | select(.status == "committed")] | length' "$T/audit.$org")" \
        "$want" "audit log of $org holds exactly the $want committed operations of its admins"
done
# By actor: each administrator's own log is its entries of its organisation's log, in the
# same order (an entry is kept once, under the organisation, and found through the actor).
for actor in root-sysadmin s1-sysadmin root-secadmin; do
    org=$(awk -v a="$actor" '$1 == a {print $2}' "$T/actors")
    expect_exit 0 "audit log of actor $actor answers" "$IDL" --json \
        --key "$T/keys/$(org_auditor "$org").key" audit log --actor "$actor" --limit 1000
    by_actor=$(jq -c '[.entries[] | [.txid, .height, .index, .record, .target, .status]]' "$OUT")
    by_org=$(jq -c --arg a "$actor" '[.entries[] | select(.actor == $a) |
        [.txid, .height, .index, .record, .target, .status]]' "$T/audit.$org")
    is "$by_actor" "$by_org" "audit log of $actor: its $(echo "$by_org" | jq length) entries of $org's log"
    check "audit log of $actor is not empty" [ "$(echo "$by_actor" | jq length)" -gt 0 ]
done
bad=0
while read -r txid actor target; do
    org=$(awk -v a="$actor" '$1 == a {print $2}' "$T/actors")
    got=$(jq -r --arg t "$txid" '.entries[] | select(.txid == $t) |
        [.actor, .target, .status, (.reason | length > 0 | tostring)] | join(" ")' "$T/audit.$org")
    if [ "$got" != "$actor $target rejected true" ]; then
        bad=$((bad + 1))
        diag "audit $org: refused tx $txid" "     got: '$got'" "expected: '$actor $target rejected true'"
    fi
done <"$T/refused"
is "$bad" 0 "all $(wc -l <"$T/refused") refused operations are in the audit log as rejected, with a reason"

# ---------------------------------------------------------------- the read audits

# An auditor lists the reads of its organisation's accounts with its key alone: the
# signed request needs no business-system token. Among them, the reads this test made
# with the token: transactions (GET /v1/tx names actor and target), the CLI's key and
# nonce lookups, and the blocks shown for refusals (their reasons name the actor).
TOKEN_NAME=$("$IDLD" --home "$NODE_HOME" token list | cut -f1)
expect_exit 0 "s1-auditor lists the read audit of 4401060001 with no token" \
    env -u IDLEDGER_API_TOKEN "$IDL" --json --key "$T/keys/s1-auditor.key" \
    read-audit --org 4401060001 --limit 1000
cp "$OUT" "$T/reads.s1"
expect_exit 0 "the same list as text" env -u IDLEDGER_API_TOKEN "$IDL" \
    --key "$T/keys/s1-auditor.key" read-audit --org 4401060001 --limit 1000
like "$(head -n 1 "$OUT")" '^20[0-9]{2}-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9] ' \
    "read-audit's text starts each read with its date and time"
is "$(wc -l <"$OUT" | tr -d ' ')" "$(jq '.reads | length' "$T/reads.s1")" "one line per read"
for ep in "GET /v1/tx" "GET /v1/keys" "GET /v1/accounts/nonce" "GET /v1/blocks" \
    "GET /v1/accounts" "GET /v1/verify"; do
    is "$(jq --arg e "$ep" --arg c "$TOKEN_NAME" \
        '[.reads[] | select(.endpoint == $e and .client == $c and .org == "4401060001")] | length > 0' \
        "$T/reads.s1")" true "the read audit of 4401060001 records $ep by $TOKEN_NAME"
done
is "$(jq -r '[.reads[] | select(.endpoint == "GET /v1/blocks") | .account] | unique | join(",")' \
    "$T/reads.s1")" "s1-auditor,s1-secadmin,s1-sysadmin" \
    "GET /v1/blocks is recorded for the actors of the refusals it showed"
is "$(jq -r '[.reads[] | select(.org != "4401060001")] | length' "$T/reads.s1")" 0 \
    "the read audit of 4401060001 holds only its own accounts' reads"
is "$(jq -r '[.reads[] | select(.endpoint == "POST /v1/persons/seal")] | map(.client) | unique | join(",")' \
    "$T/reads.s1")" "account:s1-sysadmin" "the school sysadmin's sealing calls are in its read audit"
expect_exit 1 "s1-auditor may not list the read audit of 440106" \
    env -u IDLEDGER_API_TOKEN "$IDL" --key "$T/keys/s1-auditor.key" read-audit --org 440106
expect_exit 2 "without a key, read-audit is a usage error" \
    env -u IDLEDGER_API_TOKEN "$IDL" read-audit --org 4401060001
expect_exit 0 "account show s1-t1 (its masked data goes into the transcript)" \
    "$IDL" account show s1-t1

expect_exit 0 "node stops cleanly on SIGTERM" node_stop

# ---------------------------------------------------------------- nothing in the clear

# The whole flow's personal data: nowhere in the data directory (its files and every
# record read through LevelDB), the node log, the testnet directory or the CLI's output.
ldb_dump "$NODE_HOME/data" "$T/db.dump"
check "control: account id s1-t1 is found in the data directory" \
    grep -a -r -q -F s1-t1 "$NODE_HOME/data"
check "control: the masked mobile of s1-t1 is found in the CLI transcript" \
    grep -q -F "mobile: 138****" "$TRANSCRIPT"
n_people=$(($(wc -l <"$T/people") / 5))
check "the flow entered $n_people people" [ "$n_people" -ge 15 ]
leaks=0
while read -r value; do
    hits=$(grep -a -r -l -F -e "$value" -e "$(printf '%s' "$value" | od -An -tx1 | tr -d ' \n')" \
        "$NET" "$TRANSCRIPT" "$T/db.dump" 2>/dev/null)
    if [ -n "$hits" ]; then
        leaks=$((leaks + 1))
        diag "$value in: $(echo $hits | sed "s|$T/||g")"
    fi
done <"$T/people"
is "$leaks" 0 "none of the flow's $((n_people * 5)) personal values (name, ID number, mobile, e-mail, office phone) is anywhere in the clear"
done_testing

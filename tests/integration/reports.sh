#!/bin/sh
# reports.sh: the reports end to end, through bin/idledger and curl against a real node.
#
# A tree with every kind of place a row can come from: the province 440000 with its own
# staff, a province-run school 4400000001 and a university 4410001 (whose codes sort before
# and after the cities), city 440100 with its own staff, a city-run school and two counties
# (440106 with two delegated schools, 440111 empty), and an empty city 440300. Business accounts come in by import, one is disabled and one locked.
#
#   - report business-accounts: the CSV (byte-order mark, the seeds' columns, the count of
#     accounts in use) and the JSON checked row by row for the province (附件6's shape with
#     the province's own level first), a city (附件6) and a county (附件5, no province
#     level); the text table aligned by display width.
#   - report review: never reviewed; review record (with its form, required); then a grant,
#     a lock, a mobile number and a new account make exactly those accounts due, each with
#     what changed; recording again clears them. (Stale by time needs block time to move:
#     tests/unit/report_test.c does that.)
#   - audit export: csv and json with --from/--to against the log, bad heights refused
#     before the node is asked, an org that cannot smuggle parameters; GET
#     /v1/reports/audit with a token, its CSV and its refusals; the read audit records it.
# Ports: IT_PORT_BASE + 800.
. "$(dirname "$0")/lib.sh"

PORT=$((${IT_PORT_BASE:-18000} + 800))
net_up "$T/net" "$PORT"
mkdir -p "$T/keys"
cp "$ROOT_SYS" "$T/keys/root-sysadmin.key"
cp "$ROOT_SEC" "$T/keys/root-secadmin.key"

# org CODE NAME KIND PARENT SIGNER [SCHOOL-TYPE]
org() {
    expect_exit 0 "$5 adds $4/$1 ($2)" sign "$5" org add --code "$1" --name "$2" --kind "$3" \
        --parent "$4" ${6:+--school-type "$6"}
}

# ---------------------------------------------------------------- the tree

org 440100 广州市教育局 city 440000 root-sysadmin
admins 440100 gz root
org 440300 深圳市教育局 city 440000 root-sysadmin
org 4400000001 省实验学校 school 440000 root-sysadmin middle
org 4410001 中山大学 university 440000 root-sysadmin
org 4401000001 广州市第一中学 school 440100 gz-sysadmin middle
org 440106 天河区教育局 county 440100 gz-sysadmin
org 440111 白云区教育局 county 440100 gz-sysadmin
admins 440106 th gz
org 4401060001 天河区第一小学 school 440106 th-sysadmin primary
org 4401060002 天河区第二中学 school 440106 th-sysadmin middle
for x in "root-sysadmin 4400000001" "gz-sysadmin 4401000001" "th-sysadmin 4401060001" \
    "th-sysadmin 4401060002"; do
    set -- $x
    expect_exit 0 "$2 delegates its business users to its parent" sign "$1" org delegate --code "$2"
done
expect_exit 0 "root adds the teacher system" sign root-sysadmin system add --code teacher \
    --name 全国教师管理信息系统 --roles query,manager,training,sysadmin,auditor

# import SIGNER ORG "UNIT NAME" ...: one import of a row per unit and name.
_n=0
import() {
    _k=$1 _o=$2
    shift 2
    {
        echo 单位名称,姓名,身份证号码,办公电话,电子邮箱,手机号码,办学类型,用户类型,单位通讯地址
        for _r in "$@"; do
            set -- $_r
            _n=$((_n + 1))
            _t=
            case "$1" in ????????*) _t=小学 ;; esac
            echo "$1,$2,$(idnum "4401041981$(printf %02d $((_n % 12 + 1)))10$(printf %03d $_n)"),020-1234567,r$_n@example.cn,1376660$(printf %04d $_n),$_t,信息查询员,天河路$_n号"
        done
    } >"$T/import.csv"
    expect_exit 0 "$_k imports $# rows" "$IDL" --json --key "$T/keys/$_k.key" import --org "$_o" \
        --csv "$T/import.csv"
    jq -r '.imported_accounts[].account' "$OUT" >>"$T/accounts"
}
: >"$T/accounts"
import root-sysadmin 440000 "440000 李明" "440000 王芳" "4400000001 张伟"
import gz-sysadmin 440100 "440100 刘洋" "4401000001 陈静" "4401000001 杨帆"
import th-sysadmin 440106 "440106 黄磊" "4401060001 赵敏" "4401060001 周杰" "4401060001 吴琳" \
    "4401060002 徐强" "4401060002 孙丽"
acct() { sed -n "$1p" "$T/accounts"; } # the Nth account imported, in row order
expect_exit 0 "th-sysadmin disables one of 4401060001's accounts" \
    "$IDL" --key "$T/keys/th-sysadmin.key" account disable --id "$(acct 9)" --reason 调离
expect_exit 0 "th-sysadmin locks one of 4401060002's accounts" \
    "$IDL" --key "$T/keys/th-sysadmin.key" account lock --id "$(acct 11)" --reason 密码多次错误

# ---------------------------------------------------------------- business accounts

bom=$(printf '\357\273\277')
csv_rows() { tail -n +2 "$1" | tr -d '\r'; }

expect_exit 0 "report business-accounts --org 440000 --format csv" \
    "$IDL" report business-accounts --org 440000 --format csv
cp "$OUT" "$T/prov.csv"
is "$(head -c 3 "$T/prov.csv")" "$bom" "the CSV starts with a UTF-8 byte-order mark (Excel)"
is "$(head -n 1 "$T/prov.csv" | tail -c +4)" "市（州）名称,县（市、区）名称,学校名称,业务类用户数量（在用，不含停用）" \
    "the seeds' columns, the count saying what it counts"
is "$(csv_rows "$T/prov.csv")" ",,(本级),2
,,省实验学校,1
,,中山大学,0
广州市教育局,,(本级),1
广州市教育局,,广州市第一中学,2
广州市教育局,天河区教育局,(本级),1
广州市教育局,天河区教育局,天河区第一小学,2
广州市教育局,天河区教育局,天河区第二中学,2
合计,,,11" "the province: its own level together first (province-run school, university), then each city; the disabled account not counted, the locked one counted"

prov=$(api /v1/reports/business-accounts?org=440000)
is "$(printf '%s' "$prov" | jq -c '[.total, .active, .locked, .disabled]')" "[11,10,1,1]" \
    "JSON: 11 in use (10 active, 1 locked), 1 disabled"
is "$(printf '%s' "$prov" | jq -c '[.rows[] | [.code, .count, .disabled]]')" \
    '[["440000",2,0],["4400000001",1,0],["4410001",0,0],["440100",1,0],["4401000001",2,0],["440106",1,0],["4401060001",2,1],["4401060002",2,0]]' \
    "JSON: the same rows, by code, with the disabled one beside its row"
is "$(printf '%s' "$prov" | jq -c '.cities')" \
    '[{"city":"","count":3},{"city":"广州市教育局","count":8},{"city":"深圳市教育局","count":0}]' \
    "JSON: the province's own level, then each city (an empty one as 0)"
is "$(printf '%s' "$prov" | jq -c '.counties')" \
    '[{"city":"广州市教育局","county":"天河区教育局","count":5},{"city":"广州市教育局","county":"白云区教育局","count":0}]' \
    "JSON: each county's subtotal"

expect_exit 0 "report business-accounts --org 440100 --format csv (附件6)" \
    "$IDL" report business-accounts --org 440100 --format csv
is "$(csv_rows "$OUT")" "广州市教育局,,(本级),1
广州市教育局,,广州市第一中学,2
广州市教育局,天河区教育局,(本级),1
广州市教育局,天河区教育局,天河区第一小学,2
广州市教育局,天河区教育局,天河区第二中学,2
合计,,,8" "the city (附件6): its own staff and city-run school, then its counties"
is "$(api /v1/reports/business-accounts?org=440100 | jq -c '.cities')" \
    '[{"city":"广州市教育局","count":8}]' "JSON of a city: no province level"

expect_exit 0 "report business-accounts --org 440106 --format csv (附件5)" \
    "$IDL" report business-accounts --org 440106 --format csv
is "$(head -n 1 "$OUT" | tail -c +4)" "县（市、区）名称,学校名称,业务类用户数量（在用，不含停用）" \
    "the county (附件5): no city column"
is "$(csv_rows "$OUT")" "天河区教育局,(本级),1
天河区教育局,天河区第一小学,2
天河区教育局,天河区第二中学,2
合计,,5" "the county's rows"
is "$(api /v1/reports/business-accounts?org=440106 | jq -c '[.cities, .counties]')" \
    '[[],[{"city":"","county":"天河区教育局","count":5}]]' \
    "JSON of a county: no made-up province-level city"
expect_exit 0 "report business-accounts --org 440106 (text)" \
    "$IDL" report business-accounts --org 440106
unlike "$(cat "$OUT")" 'province level' "text of a county: no province level"

# The text table: every line of it (header and rows) ends at the same display column. All
# non-ASCII characters here are CJK (two columns, three bytes in UTF-8).
expect_exit 0 "report business-accounts --org 440000 (text)" \
    "$IDL" report business-accounts --org 440000
head -n 10 "$OUT" | tail -n 9 >"$T/table.txt"
is "$(head -n 1 "$T/table.txt" | tr -s ' ')" " 市（州） 县（市、区） 学校 数量" "the table's header"
widths=$(while IFS= read -r line; do
    b=$(printf '%s' "$line" | wc -c)
    wide=$(printf '%s' "$line" | LC_ALL=C tr -d '\000-\177' | wc -c)
    echo $((b - wide / 3))
done <"$T/table.txt" | sort -u | tr '\n' ' ')
is "$(echo "$widths" | wc -w)" 1 "all 9 lines of the table are equally wide on screen ($widths)"
like "$(sed -n 8p "$T/table.txt")" '^  广州市教育局  天河区教育局  天河区第一小学 +2$' "a row, padded"
like "$(cat "$OUT")" '
  city \(province level\): 3
' "the province's own level as a subtotal"

# ---------------------------------------------------------------- access review

expect_exit 0 "report review --org 440106: never reviewed" "$IDL" report review --org 440106
like "$(head -n 1 "$OUT")" '^access review of 440106: never reviewed; 0 accounts due \(interval [0-9]+ days\)$' \
    "text: never reviewed (not 'last at height 0')"
is "$(api /v1/reports/review?org=440106 | jq -c '[.last, .due]')" '[null,[]]' "JSON: last null, nothing due"
expect_exit 2 "review record without --basis: usage error" \
    "$IDL" --key "$T/keys/th-sysadmin.key" review record --org 440106 --note 2026年上半年核查
like "$(cat "$ERR")" '--basis FILE is required' "the usage error asks for the form"
f=$(form review1)
expect_exit 0 "th-sysadmin records the review with its form" \
    "$IDL" --json --key "$T/keys/th-sysadmin.key" --basis "$f" review record --org 440106 \
    --note 2026年上半年核查
rh=$(jq -r .height "$OUT")
is "$(api /v1/reports/review?org=440106 | jq -c '[.last.height, .last.actor, .last.note, .last.basis, (.last.time > 0), .due]')" \
    "[$rh,\"th-sysadmin\",\"2026年上半年核查\",\"$(sha256 "$f")\",true,[]]" \
    "JSON: last {height, time, actor, note, basis (the form's SHA-256)}, nothing due"

# Changes after the review: a grant, a lock, a mobile number, a new account (by import).
expect_exit 0 "th-secadmin grants a role" "$IDL" --key "$T/keys/th-secadmin.key" \
    grant add --account "$(acct 7)" --system teacher --role manager
expect_exit 0 "th-sysadmin locks an account" "$IDL" --key "$T/keys/th-sysadmin.key" \
    account lock --id "$(acct 8)" --reason 密码多次错误
expect_exit 0 "th-sysadmin changes a mobile number" "$IDL" --key "$T/keys/th-sysadmin.key" \
    account update --id "$(acct 12)" --mobile 13912345678
import th-sysadmin 440106 "4401060002 郑洁"
expect_exit 0 "report review --org 440106 --json" "$IDL" --json report review --org 440106
is "$(jq -r '.due[] | "\(.account) \(.due) \(.changes | join(","))"' "$OUT" | sort)" \
    "$(printf '%s changed grant\n%s changed status\n%s changed contact\n%s changed created\n' \
        "$(acct 7)" "$(acct 8)" "$(acct 12)" "$(acct 13)" | sort)" \
    "exactly the changed accounts are due, each with what changed"
expect_exit 0 "report review --org 440106 --format csv" "$IDL" report review --org 440106 --format csv
is "$(head -n 1 "$OUT")" "${bom}account,org,class,post,status,due,changes,reason" "CSV: its header"
like "$(grep "^$(acct 8)," "$OUT")" ",business,,locked,changed,status,changed after the last review: status \(last at height [0-9]+\)$" \
    "CSV: the locked account's row says what changed"
expect_exit 0 "report review --org 440106 (text)" "$IDL" report review --org 440106
like "$(head -n 1 "$OUT")" "^access review of 440106: last reviewed at height $rh \(.* UTC\) by th-sysadmin, note \"2026年上半年核查\"; 4 accounts due" \
    "text: the last review, who, and the count due"
expect_exit 0 "th-secadmin records the next review" \
    "$IDL" --key "$T/keys/th-secadmin.key" --basis "$(form review2)" review record --org 440106 \
    --note 整改后复查
is "$(api /v1/reports/review?org=440106 | jq -c '[.last.actor, .due]')" '["th-secadmin",[]]' \
    "recording the review clears the list"

# ---------------------------------------------------------------- audit export

expect_exit 1 "th-auditor's refused operation (not exported)" \
    "$IDL" --key "$T/keys/th-auditor.key" --basis "$(form aud)" review record --org 440106 --note x
expect_exit 1 "th-sysadmin's refused operation (unlock an active account)" \
    "$IDL" --key "$T/keys/th-sysadmin.key" account unlock --id "$(acct 7)" --reason x
top=$(height)
# The log itself: every entry of 440106's organisation, by its sysadmin or secadmin.
expect_exit 0 "the audit log of 440106" "$IDL" --json audit log --org 440106
log_ok=$(jq -r '[.entries[] | select(.actor == "th-sysadmin" or .actor == "th-secadmin")] | length' "$OUT")
from=$(jq -r '[.entries[].height] | min' "$OUT")
mid=$(((from + top) / 2))
expect_exit 0 "audit export --org 440106 --json" "$IDL" --json audit export --org 440106
is "$(jq '.entries | length' "$OUT")" "$log_ok" "json: every operation of th-sysadmin and th-secadmin"
is "$(jq -r '[.entries[].actor] | unique | join(" ")' "$OUT")" "th-secadmin th-sysadmin" \
    "json: none of the auditor's"
is "$(jq -r '.entries[] | select(.status == "rejected") | "\(.actor) \(.type) \(.post) \(.reason != "")"' "$OUT")" \
    "th-sysadmin account.unlock sysadmin true" "json: the refusal, with its reason"
expect_exit 0 "audit export --from $mid --to $top --format csv" \
    "$IDL" audit export --org 440106 --from "$mid" --to "$top" --format csv
cp "$OUT" "$T/audit.csv"
is "$(head -n 1 "$T/audit.csv")" "${bom}height,time,type,actor,post,target,basis,status,reason" "csv: BOM and header"
is "$(tail -n +2 "$T/audit.csv" | cut -d, -f1 | awk -v lo="$mid" -v hi="$top" '$1 < lo || $1 > hi' | wc -l)" 0 \
    "csv: every row within --from and --to"
expect_exit 0 "audit export --json --from $mid --to $top" \
    "$IDL" --json audit export --org 440106 --from "$mid" --to "$top"
is "$(jq '.entries | length' "$OUT")" "$(($(grep -c '' "$T/audit.csv") - 1))" "csv and json: the same rows"
is "$(jq -r '[.entries[].height] | (min >= '"$mid"') and (max <= '"$top"')' "$OUT")" true \
    "json: within the range too"
expect_exit 0 "audit export --from $top --to $top: one height" \
    "$IDL" --json audit export --org 440106 --from "$top" --to "$top"
is "$(jq -r '[.entries[].height] | unique | join(" ")' "$OUT")" "$top" "one height, one height's entries"

for bad in "--from x" "--to 1e3" "--from -1" "--from 30 --to 20"; do
    expect_exit 2 "audit export $bad: usage error, nothing asked" \
        env IDLEDGER_NODE=http://127.0.0.1:1 "$IDL" audit export --org 440106 $bad
done
like "$(cat "$ERR")" '--from 30 is above --to 20' "the reversed range is named"
env IDLEDGER_NODE=http://127.0.0.1:1 "$IDL" audit export --org 440106 --from x 2>"$T/err" >/dev/null
like "$(head -n 1 "$T/err")" '--from must be a height' "--from x: must be a height"
expect_exit 1 "an org that tries to add a parameter is just an unknown org" \
    "$IDL" audit export --org '440106&posts=auditor'
like "$(cat "$ERR")" 'no organisation 440106&posts=auditor' "the node saw one org value"

# GET /v1/reports/audit: a token, the range, CSV whole, refusals.
is "$(curl -s -o /dev/null -w '%{http_code}' "$API/v1/reports/audit?org=440106")" 401 \
    "GET /v1/reports/audit without a token: 401"
api "/v1/reports/audit?org=440106&from_height=$mid&to_height=$top&format=csv" >"$T/http.csv"
is "$(status_code)" 200 "GET /v1/reports/audit?format=csv: 200"
cmp -s "$T/http.csv" "$T/audit.csv" && pass "the HTTP CSV is the CLI's CSV, byte for byte" ||
    fail "the HTTP CSV is the CLI's CSV, byte for byte"
is "$(api "/v1/reports/audit?org=440106&limit=2" | jq -c '[(.entries | length), (.next | type)]')" \
    '[2,"string"]' "JSON pages: limit 2 gives 2 and a next cursor"
api "/v1/reports/audit?org=440106&from_height=20&to_height=10" >/dev/null
is "$(status_code)" 400 "to_height below from_height: 400"
api "/v1/reports/audit?org=440106&from_height=x" >/dev/null
is "$(status_code)" 400 "from_height not a height: 400"
api "/v1/reports/audit?org=440106&format=csv&limit=5" >/dev/null
is "$(status_code)" 400 "CSV answers the whole range: limit refused"
api "/v1/reports/audit?org=nosuch" >/dev/null
is "$(status_code)" 404 "an unknown organisation: 404"
expect_exit 0 "th-auditor reads the read audit of 440106" \
    "$IDL" --json --key "$T/keys/th-auditor.key" read-audit --org 440106 --limit 1000
like "$(jq -r '[.reads[].endpoint] | unique | join(" ")' "$OUT")" 'GET /v1/reports/audit' \
    "the audit report is in the read audit of 440106"

# A name a spreadsheet would run as a formula is exported as text.
org 4401060003 =1+1 school 440106 th-sysadmin primary
expect_exit 0 "report business-accounts --org 440106 --format csv, with the school named =1+1" \
    "$IDL" report business-accounts --org 440106 --format csv
is "$(grep -c ",'=1+1," "$OUT")" 1 "the school's name is written as text ('=1+1)"

done_testing

#!/bin/sh
# import.sh: bulk onboarding (`idledger import`) against a real node.
#
# A county 440106 (th-*) under city 440100 (gz-*) imports a 100,000-row applicant
# spreadsheet (用户CA信息电子表格模板, seed 004) into itself and into its delegated school
# 4401060001. 100 planted bad rows (wrong check digits, repeats, unknown units, a school
# out of the county's reach, a city-run school, an ambiguous name, bad e-mails and mobiles,
# a missing school type, an unknown user type) must each be reported once, by row number,
# and nothing else refused; exactly the good rows must be on the chain (the accounts the
# audit log shows created are exactly the imported ones, each at its row's unit). A second
# run reports them as already there and sends nothing (the height does not move). A
# GB18030 file with CRLF line ends, a title row and rare characters imports its good rows
# with their names intact, and again adds nothing; so does a GB18030 file that happens to
# be valid UTF-8 (谢伟 ...), under an English or a Chinese header; a UTF-8 file that
# happens to be valid GB18030 is read as UTF-8; one that reads plausibly both ways waits
# for --encoding. So do an English header with a BOM and quoted fields, and Excel's UTF-16
# "Unicode text". A person with an account made by hand at the unit is found on the
# chain; one whose account is disabled is named, not counted as done. Every user type of
# the form is taken. Two imports by the same sysadmin at once lose no row. No personal
# value from the files reaches the node's data directory, its log or the CLI's output.
# Last, on a network of two validators with one stopped, records that the ledger refuses
# inside a batch are reported on their rows. Ports: IT_PORT_BASE + 600 to + 613.
. "$(dirname "$0")/lib.sh"

PORT=$((${IT_PORT_BASE:-18000} + 600))
net_up "$T/net" "$PORT"
mkdir -p "$T/keys"
N=100000

# ---------------------------------------------------------------- set-up

cp "$ROOT_SYS" "$T/keys/root-sysadmin.key"
cp "$ROOT_SEC" "$T/keys/root-secadmin.key"
expect_exit 0 "root adds city 440100" sign "$ROOT_SYS" \
    org add --code 440100 --name 广州市教育局 --kind city --parent 440000
admins 440100 gz root
expect_exit 0 "gz adds county 440106" sign "$T/keys/gz-sysadmin.key" \
    org add --code 440106 --name 天河区教育局 --kind county --parent 440100
admins 440106 th gz
TH="$T/keys/th-sysadmin.key"
expect_exit 0 "gz adds city-run school 4401000001" sign "$T/keys/gz-sysadmin.key" \
    org add --code 4401000001 --name 广州市第一中学 --kind school --parent 440100 \
    --school-type middle
for s in "4401060001 天河区第一小学 primary" "4401060002 天河区第二中学 middle" \
    "4401060003 天河区实验学校 nine-year" "4401060004 天河区实验学校 twelve-year"; do
    set -- $s
    expect_exit 0 "th adds school $1 ($2)" sign "$TH" \
        org add --code "$1" --name "$2" --kind school --parent 440106 --school-type "$3"
done
expect_exit 0 "4401060001 delegates its business users to the county" sign "$TH" \
    org delegate --code 4401060001
is "$(api /v1/reports/business-accounts?org=440106 | jq -r .total)" 0 \
    "no business account under 440106 before the import"

# ---------------------------------------------------------------- the 100,000 rows

# gen.awk: the applicant spreadsheet. Data row i (1..N) is file row i+1. Every 1000th row
# is bad, of kind (i/1000) % 10; bad.txt gets "ROW<TAB>REASON-PATTERN" for each.
cat >"$T/gen.awk" <<'EOF_AWK'
function check(s,   t, k) {
    t = 0
    for (k = 1; k <= 17; k++) t += substr(s, k, 1) * w[k]
    return substr("10X98765432", t % 11 + 1, 1)
}
function id17(i) { return REGION dates[i % 10000] sprintf("%03d", int(i / 10000)) }
function idnum(i,   s) { s = id17(i); return s check(s) }
# The line of good data row i (units alternate county / delegated school, by name or code).
function line(i,   unit, school, addr, note) {
    unit = (i % 4 == 0) ? "440106" : (i % 4 == 1) ? "4401060001" : (i % 2 == 0) ? "天河区教育局" : "天河区第一小学"
    school = (i % 2 == 1) ? "小学" : ""
    addr = (i % 7 == 0) ? "\"广州市天河区天河路" (i % 500) "号,\"\"东\"\"楼\"" : "广州市天河区天河路" (i % 500) "号"
    note = (i % 5000 == 17) ? "\"第一行\n第二行\"" : ""
    return i "," unit "," sur[i % ns + 1] giv[int(i / ns) % ng + 1] giv[i % ng + 1] "," idnum(i) \
        ",020-8" sprintf("%07d", i) ",u" i "@school.example.cn," MOBILE sprintf("%08d", i) "," \
        school "," ut[i % 4 + 1] "," addr "," note
}
BEGIN {
    split("7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2", w, " ")
    ns = split("王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 高 林 罗 欧阳 司马", sur, " ")
    ng = split("伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀 霞 平 婷 鹏", giv, " ")
    split("信息查询员 信息管理员 培训管理员 教师系统信息管理员", ut, " ")
    nd = 0
    for (y = 1970; nd < 10000; y++)
        for (m = 1; m <= 12; m++) {
            dim = (m == 2) ? ((y % 4 == 0) ? 29 : 28) : (m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31
            for (d = 1; d <= dim; d++) dates[nd++] = sprintf("%04d%02d%02d", y, m, d)
        }
    print "序号,单位名称,姓名,身份证号码,办公电话,电子邮箱,手机号码,办学类型,用户类型,单位通讯地址,其他补充说明"
    for (i = 1; i <= N; i++) {
        s = line(i)
        if (i % 1000 == 0) {
            k = int(i / 1000) % 10
            split(s, f, ",")
            if (k == 0) {
                c = check(id17(i)); c = substr("10X98765432", index("10X98765432", c) % 11 + 1, 1)
                sub(idnum(i), id17(i) c, s); pat = "check digit is wrong"
            } else if (k == 1) {
                s = line(i - 500); pat = "^duplicate of row " (i - 500 + 1) "$"
            } else if (k == 2) {
                sub("," f[2] ",", ",天河区不存在的学校,", s); pat = "not an organisation under 440106"
            } else if (k == 3) {
                sub("," f[2] ",", ",天河区第二中学,", s); pat = "unit 4401060002 is not managed by 440106"
            } else if (k == 4) {
                sub("u" i "@", "u" i "#", s); pat = "e-mail address is not valid"
            } else if (k == 5) {
                sub(MOBILE sprintf("%08d", i), "1" sprintf("%09d", i), s); pat = "mobile number must be"
            } else if (k == 6) {
                sub("," f[2] ",", ",广州市第一中学,", s); pat = "not an organisation under 440106"
            } else if (k == 7) {
                sub("," f[2] ",", ",天河区实验学校,", s); pat = "shared by 2 organisations"
            } else if (k == 8) {
                sub("," f[2] ",", ",4401060001,", s); sub(",小学,", ",,", s); pat = "school type .* is missing"
            } else {
                sub("," ut[i % 4 + 1] ",", ",校长,", s); pat = "user type must be"
            }
            printf "%d\t%s\n", i + 1, pat > BAD
        }
        print s
    }
}
EOF_AWK
t0=$(date +%s%N)
awk -v N=$N -v REGION=440106 -v MOBILE=139 -v BAD="$T/bad.txt" -f "$T/gen.awk" >"$T/big.csv"
diag "generated $N rows in $((($(date +%s%N) - t0) / 1000000)) ms ($(wc -c <"$T/big.csv") bytes)"
is "$(grep -c '' "$T/bad.txt")" 100 "100 bad rows planted"
cut -f1 "$T/bad.txt" >"$T/bad.rows"
GOOD=$((N - 100))

# ---------------------------------------------------------------- first import

h0=$(height)
t0=$(date +%s%N)
expect_exit 1 "import of $N rows: exit 1 (the bad rows)" \
    "$IDL" --json --key "$TH" --timeout 120 import --org 440106 --csv "$T/big.csv"
ms=$((($(date +%s%N) - t0) / 1000000))
cp "$OUT" "$T/first.json"
diag "import of $N rows: $ms ms; CLI timing breakdown (ms): $(jq -c .timing_ms "$T/first.json")" \
    "$(jq -r '"\(.transactions) transactions"' "$T/first.json")"
is "$(jq -r '[.rows, .imported, .refused, .already] | join(" ")' "$T/first.json")" \
    "$N $GOOD 100 0" "rows, imported, refused, already: $N $GOOD 100 0"
jq -r '.refusals[].row' "$T/first.json" >"$T/got.rows"
is "$(sort -n "$T/got.rows" | uniq -d | head -3 | tr '\n' ' ')" "" "no row is reported twice"
if cmp -s "$T/got.rows" "$T/bad.rows"; then
    pass "the reported rows are exactly the planted ones, in row order"
else
    fail "the reported rows are exactly the planted ones, in row order"
    diff "$T/bad.rows" "$T/got.rows" | head -n 10 | sed 's/^/#   /'
fi
# each planted row with the reason of its kind
jq -r '.refusals[] | "\(.row)\t\(.reason)"' "$T/first.json" >"$T/got.txt"
wrong=$(paste "$T/bad.txt" "$T/got.txt" | while IFS="$(printf '\t')" read -r r pat r2 why; do
    printf '%s\n' "$why" | grep -Eq -- "$pat" || echo "row $r: '$why' !~ /$pat/"
done | head -n 5)
is "$wrong" "" "each planted row is refused for its planted reason"
is "$(api /v1/reports/business-accounts?org=440106 | jq -r .total)" "$GOOD" \
    "GET /v1/reports/business-accounts?org=440106: total $GOOD"
is "$(api /v1/reports/business-accounts?org=440106 |
    jq -r '[.rows[] | select(.code == "4401060001" or .code == "440106") | .count] | add')" \
    "$GOOD" "the accounts are at the county and its delegated school only"

# spot checks: derived ids (from --json's imported_accounts), unit, class, masked data
is "$(jq '.imported_accounts | length' "$T/first.json")" "$GOOD" "--json lists $GOOD imported accounts"
bad_spots=""
for i in 1 2 3 4 777 12345 54321 99999; do
    r=$((i + 1))
    line=$(awk -F, -v i="$i" '$1 == i { print; exit }' "$T/big.csv")
    acct=$(jq -r --argjson r "$r" '.imported_accounts[] | select(.row == $r) | .account' "$T/first.json")
    unit=$(printf '%s' "$line" | cut -d, -f2)
    case "$unit" in 天河区教育局) unit=440106 ;; 天河区第一小学) unit=4401060001 ;; esac
    name=$(printf '%s' "$line" | cut -d, -f3)
    mobile=$(printf '%s' "$line" | cut -d, -f7)
    a=$(api "/v1/accounts/$acct")
    want="$unit business active $(printf '%s' "$name" | jq -Rr '.[0:1] + ("*" * (length - 1))') $(printf '%s' "$mobile" | cut -c1-3)****$(printf '%s' "$mobile" | cut -c8-11)"
    got=$(printf '%s' "$a" | jq -r '[.org, .class, .status, .person.name, .person.mobile] | join(" ")')
    case "$acct" in "$unit"-????????-????????) ;; *) got="bad id '$acct': $got" ;; esac
    [ "$got" = "$want" ] || bad_spots="$bad_spots
row $r: got '$got', want '$want'"
done
is "$bad_spots" "" "rows 2, 3, 4, 5, 778, 12346, 54322, 100000: <unit>-<8 hex>-<8 hex> ids, right unit, masked name and mobile"
# exactly the good rows: every data row (file rows 2 .. N+1) is imported or planted bad
seq 2 $((N + 1)) | grep -vxF -f "$T/bad.rows" >"$T/good.rows"
jq -r '.imported_accounts[].row' "$T/first.json" >"$T/imported.rows"
check "the imported rows are exactly the $GOOD good ones" cmp -s "$T/imported.rows" "$T/good.rows"
is "$(jq -r '.imported_accounts[].account' "$T/first.json" | sort -u | grep -c '')" "$GOOD" \
    "$GOOD distinct account ids"
# What the chain says was created: every operation of 440106's administrators during the
# import (idledger audit export: the audit log through the API, one request per 10,000
# entries), and the accounts per unit. The applied account.batch-add records name exactly
# the imported accounts, and each unit holds exactly the imported accounts of its rows
# (its row's unit, from the file: the derived id starts with it).
t0=$(date +%s%N)
expect_exit 0 "audit export of 440106 during the import" \
    "$IDL" --json audit export --org 440106 --from "$h0" --to "$(height)"
jq -r '.entries[] | select(.type == "account.batch-add" and .status == "committed") | .target' \
    "$OUT" | sort >"$T/got.accts"
diag "read the audit log in $((($(date +%s%N) - t0) / 1000000)) ms"
awk -F, '$1 ~ /^[0-9]+$/ { u = $2; if (u == "天河区教育局") u = "440106"; if (u == "天河区第一小学") u = "4401060001"; print $1 + 1 "\t" u }' \
    "$T/big.csv" >"$T/row.units"
jq -r '.imported_accounts[] | "\(.row)\t\(.account)"' "$T/first.json" |
    awk -F'\t' 'NR == FNR { unit[$1] = $2; next } index($2, unit[$1] "-") == 1 { print $2 }' \
        "$T/row.units" - | sort >"$T/want.accts"
is "$(grep -c '' "$T/want.accts")" "$GOOD" "each imported account's id names its row's unit"
check "the accounts the chain created during the import are exactly the imported ones" \
    cmp -s "$T/got.accts" "$T/want.accts"
is "$(api /v1/reports/business-accounts?org=440106 |
    jq -r '[.rows[] | select(.count > 0) | "\(.code)=\(.count)"] | join(" ")')" \
    "440106=$(grep -c '^440106-' "$T/want.accts") 4401060001=$(grep -c '^4401060001-' "$T/want.accts")" \
    "each unit holds exactly the accounts of its rows"
# ---------------------------------------------------------------- second import

h1=$(height)
t0=$(date +%s%N)
expect_exit 1 "second import of the same file: exit 1 (the same bad rows)" \
    "$IDL" --key "$TH" --timeout 120 import --org 440106 --csv "$T/big.csv"
diag "second import: $((($(date +%s%N) - t0) / 1000000)) ms"
is "$(height)" "$h1" "second import: no transaction sent (height $h1 unchanged)"
cp "$OUT" "$T/second.txt"
is "$(tail -n 1 "$T/second.txt")" \
    "imported 0 accounts; 100 rows refused; $GOOD already on the chain" "second import: summary line"
is "$(grep -c '^row [0-9]*: already on the chain (account 440106[0-9]*-[0-9a-f]\{8\}-[0-9a-f]\{8\})$' "$T/second.txt")" \
    "$GOOD" "second import: the good rows are reported already on the chain, with their ids"
grep -v 'already on the chain' "$T/second.txt" | sed -n 's/^row \([0-9]*\): .*/\1/p' >"$T/got2.rows"
check "second import: the same bad rows are refused" cmp -s "$T/got2.rows" "$T/bad.rows"
is "$(api /v1/reports/business-accounts?org=440106 | jq -r .total)" "$GOOD" \
    "second import: the total is unchanged ($GOOD)"

# ---------------------------------------------------------------- GB18030

# 300 rows, a title row above the header, CRLF line ends, names with characters outside
# the BMP or only in GB18030's four-byte range; rows 100, 200, 300 (file rows 102, 202,
# 302) are bad.
cat >"$T/gb.awk" <<'EOF_AWK'
function check(s,   t, k) {
    t = 0
    for (k = 1; k <= 17; k++) t += substr(s, k, 1) * w[k]
    return substr("10X98765432", t % 11 + 1, 1)
}
BEGIN {
    split("7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2", w, " ")
    ns = split("欧阳 诸葛 上官 司马 王 李", sur, " ")
    ng = split("㛃 𠀀 婉儿 孔明 明轩 相如 芳", giv, " ")
    printf "用户CA信息电子表格模板,,,,,,,,\r\n"
    printf "申请人单位名称,姓名,身份证号码,办公电话,电子邮箱,手机号码,办学类型,用户类型,单位通讯地址\r\n"
    for (i = 1; i <= 300; i++) {
        s = "440105" sprintf("1985%02d%02d", i % 12 + 1, i % 28 + 1) sprintf("%03d", i)
        id = s check(s)
        unit = (i % 2) ? "天河区第一小学" : "天河区教育局"
        mobile = "158" sprintf("%08d", i)
        if (i == 100) id = s ((check(s) == "1") ? "2" : "1")
        if (i == 200) mobile = "2" sprintf("%010d", i)
        if (i == 300) unit = "越秀区第一小学"
        printf "%s,%s%s,%s,020-3%07d,gb%d@example.cn,%s,%s,信息管理员,广州市天河区体育西路%d号\r\n", \
            unit, sur[i % ns + 1], giv[i % ng + 1], id, i, i, mobile, (i % 2) ? "小学" : "", i
    }
}
EOF_AWK
awk -f "$T/gb.awk" >"$T/gb.utf8.csv"
check "the GB18030 variant converts (iconv)" \
    iconv -f UTF-8 -t GB18030 -o "$T/gb.csv" "$T/gb.utf8.csv"
check "the GB18030 variant is not valid UTF-8" sh -c "! iconv -f UTF-8 -t UTF-8 '$T/gb.csv' >/dev/null 2>&1"
expect_exit 1 "import of the GB18030 file: exit 1 (3 bad rows)" \
    "$IDL" --json --key "$TH" import --org 440106 --csv "$T/gb.csv"
cp "$OUT" "$T/gb.json"
is "$(jq -r '[.rows, .imported, .refused, .already] | join(" ")' "$T/gb.json")" "300 297 3 0" \
    "GB18030: rows, imported, refused, already: 300 297 3 0"
is "$(jq -r '[.refusals[].row] | join(" ")' "$T/gb.json")" "102 202 302" \
    "GB18030: rows 102, 202, 302 refused (the title is row 1, the header row 2)"
bad_names=""
for r in 3 4 5 6 7 8 9 10 11 12 13 14 50 301; do
    acct=$(jq -r --argjson r "$r" '.imported_accounts[] | select(.row == $r) | .account' "$T/gb.json")
    name=$(awk -v r="$r" 'NR == r' "$T/gb.utf8.csv" | cut -d, -f2)
    want=$(printf '%s' "$name" | jq -Rr '.[0:1] + ("*" * (length - 1))')
    got=$("$IDL" --json account show "$acct" | jq -r .person.name)
    [ "$got" = "$want" ] || bad_names="$bad_names row $r ($acct): '$got' != '$want';"
done
is "$bad_names" "" "GB18030: names come back masked as the UTF-8 original (欧阳*, 王*, 李**...)"
is "$(api /v1/reports/business-accounts?org=440106 | jq -r .total)" "$((GOOD + 297))" \
    "GB18030: the total grew by 297"
h1=$(height)
expect_exit 1 "the GB18030 file again: exit 1 (the same 3 bad rows)" \
    "$IDL" --key "$TH" import --org 440106 --csv "$T/gb.csv"
is "$(tail -n 1 "$OUT")" "imported 0 accounts; 3 rows refused; 297 already on the chain" \
    "the GB18030 file again: its good rows are already on the chain"
is "$(height)" "$h1" "the GB18030 file again: nothing sent (height $h1 unchanged)"

# GB18030 that is valid UTF-8 too: 谢 伟 郑 小 石 叶 学 魏 姚 are two bytes each in GB18030,
# and each of those pairs is a valid UTF-8 character (谢伟 reads "лΰ"). With an English
# header, codes for units and ASCII elsewhere, the whole file is valid UTF-8; it must be
# read as GB18030 all the same, and its names come back intact. The same rows under a
# Chinese header (not valid UTF-8) are the same people: already on the chain, not refused
# as "registered under another name", which a garbled name would be.
gbu_rows() {
    _i=0
    for _n in 谢伟 郑小石 叶学 魏石 姚小; do
        _i=$((_i + 1))
        printf '%s,%s,%s,020-5555%03d,gbu%d@example.cn,1365555%04d,%s,query,Tianhe Rd %d\r\n' \
            "$([ $((_i % 2)) = 1 ] && echo 440106 || echo 4401060001)" "$_n" \
            "$(idnum 4401031970020${_i}555)" "$_i" "$_i" "$_i" \
            "$([ $((_i % 2)) = 1 ] || echo primary)" "$_i"
    done
}
{
    printf 'Unit,Name,ID Number,Office Phone,E-mail,Mobile,School Type,User Type,Address\r\n'
    gbu_rows
} | iconv -f UTF-8 -t GB18030 >"$T/gbu.csv"
check "the GB18030 file of 谢伟, 郑小石, ... is valid UTF-8 as well" \
    iconv -f UTF-8 -t UTF-8 -o /dev/null "$T/gbu.csv"
expect_exit 0 "GB18030 that is also valid UTF-8: exit 0" \
    "$IDL" --json --key "$TH" import --org 440106 --csv "$T/gbu.csv"
cp "$OUT" "$T/gbu.json"
is "$(jq -r '[.encoding, .imported] | join(" ")' "$T/gbu.json")" "GB18030 5" \
    "GB18030 that is also valid UTF-8: read as GB18030, 5 imported"
names=$(jq -r '.imported_accounts[].account' "$T/gbu.json" | while read -r a; do
    "$IDL" --json account show "$a" | jq -r .person.name
done | tr '\n' ' ')
is "$names" "谢* 郑** 叶* 魏* 姚* " "the names come back as written (谢*, not л*)"
{
    printf '单位名称,姓名,身份证号码,办公电话,电子邮箱,手机号码,办学类型,用户类型,单位通讯地址\r\n'
    gbu_rows
} | iconv -f UTF-8 -t GB18030 >"$T/gbu-zh.csv"
expect_exit 0 "the same rows under a Chinese header in GB18030: exit 0" \
    "$IDL" --json --key "$TH" import --org 440106 --csv "$T/gbu-zh.csv"
is "$(jq -r '[.encoding, .imported, .already, .refused] | join(" ")' "$OUT")" "GB18030 0 5 0" \
    "Chinese header: the same five people, already on the chain"

# UTF-8 that is valid GB18030 too (王芳 reads "鐜嬭姵", GBK extension characters): UTF-8.
{
    printf 'Unit,Name,ID Number,Office Phone,E-mail,Mobile,School Type,User Type,Address\n'
    printf '440106,王芳,%s,020-55556001,u8gb1@example.cn,13655566001,,query,Tianhe Rd 1\n' \
        "$(idnum 44010319700301555)"
} >"$T/u8gb.csv"
check "the UTF-8 file of 王芳 is valid GB18030 as well" \
    iconv -f GB18030 -t UTF-8 -o /dev/null "$T/u8gb.csv"
expect_exit 0 "UTF-8 that is also valid GB18030: exit 0" \
    "$IDL" --json --key "$TH" import --org 440106 --csv "$T/u8gb.csv"
is "$(jq -r .encoding "$OUT")" "UTF-8" "UTF-8 that is also valid GB18030: read as UTF-8"
is "$("$IDL" --json account show "$(jq -r '.imported_accounts[0].account' "$OUT")" |
    jq -r .person.name)" "王*" "its name comes back as written"

# Both readings plausible (丰尧 in UTF-8 is 涓板哀 in GB18030, common characters both ways):
# refused until --encoding says which, before anything is sent.
{
    printf 'Unit,Name,ID Number,Office Phone,E-mail,Mobile,School Type,User Type,Address\n'
    printf '440106,丰尧,%s,020-55556002,amb@example.cn,13655566002,,query,Tianhe Rd 2\n' \
        "$(idnum 44010319700302555)"
} >"$T/amb.csv"
expect_exit 2 "UTF-8 and GB18030 both plausible: usage error" \
    env IDLEDGER_NODE=http://127.0.0.1:1 "$IDL" --key "$TH" import --org 440106 --csv "$T/amb.csv"
like "$(head -n 1 "$ERR")" 'neither reading is clearly wrong: say which it is with --encoding utf-8 or --encoding gb18030' \
    "the error asks for --encoding"
expect_exit 0 "the same file with --encoding utf-8: exit 0" \
    "$IDL" --json --key "$TH" import --org 440106 --csv "$T/amb.csv" --encoding utf-8
is "$("$IDL" --json account show "$(jq -r '.imported_accounts[0].account' "$OUT")" |
    jq -r .person.name)" "丰*" "--encoding utf-8: the name as written"
expect_exit 2 "--encoding utf-8 on a GB18030 file: usage error" \
    "$IDL" --key "$TH" import --org 440106 --csv "$T/gb.csv" --encoding utf-8
like "$(head -n 1 "$ERR")" 'not UTF-8: [0-9]+ invalid bytes, the first on line 1 ' \
    "--encoding utf-8 on GB18030: where the first invalid byte is"
expect_exit 2 "--encoding latin1: usage error" \
    "$IDL" --key "$TH" import --org 440106 --csv "$T/amb.csv" --encoding latin1

# ---------------------------------------------------------------- smaller cases

# English header, BOM, quoted commas, quotes and line breaks, extra column, blank lines.
printf '\357\273\277Unit Name,Name,ID_Number,Office Phone,E-mail,Mobile,School Type,User Type,Address,Notes\r\n' >"$T/en.csv"
printf '440106,"Li, Ming",%s,020-12345678,li.ming@example.cn,13512340001,,manager,"Tianhe Rd ""1""",\r\n' \
    "$(idnum 44010619800101777)" >>"$T/en.csv"
printf '\r\n4401060001,Wang Fang,%s,020-12345678,wang@example.cn,13512340002,primary,query,"Line one\nline two",x\r\n' \
    "$(idnum 44010619800101778)" >>"$T/en.csv"
expect_exit 0 "English header, BOM, quoted fields: exit 0" \
    "$IDL" --key "$TH" import --org 440106 --csv "$T/en.csv"
is "$(cat "$OUT")" "imported 2 accounts; 0 rows refused; 0 already on the chain" \
    "English header: both rows imported"
expect_exit 0 "English file again: exit 0 (all on the chain)" \
    "$IDL" --key "$TH" import --org 440106 --csv "$T/en.csv"
like "$(cat "$OUT")" '^row 2: already on the chain .*
row 4: already on the chain .*
imported 0 accounts; 0 rows refused; 2 already on the chain$' \
    "English file again: rows 2 and 4 (after a blank row 3) already on the chain"

# A number Excel turned into 4.40106E+17; one person under two names; one person in the
# 15- and 18-digit forms of the number at the same unit.
x=$(idnum 44010619820202555)
{
    echo 单位名称,姓名,身份证号码,办公电话,电子邮箱,手机号码,办学类型,用户类型,单位通讯地址
    echo 440106,张三,4.40106E+17,020-1234567,o1@example.cn,13512345601,,信息查询员,天河路1号
    echo 440106,赵六,$x,020-1234567,o2@example.cn,13512345602,,信息查询员,天河路1号
    echo 4401060001,钱七,$x,020-1234567,o3@example.cn,13512345603,小学,信息查询员,天河路1号
    echo 440106,孙八,440106850505123,020-1234567,o4@example.cn,13512345604,,信息查询员,天河路1号
    echo 440106,孙八,$(idnum 44010619850505123),020-1234567,o5@example.cn,13512345605,,信息查询员,天河路1号
} >"$T/odd.csv"
expect_exit 1 "odd rows: exit 1" "$IDL" --key "$TH" import --org 440106 --csv "$T/odd.csv"
is "$(cat "$OUT")" "row 2: ID number was saved as a number (as 4.40106E+17): format the column as text in the spreadsheet and save it again
row 4: same ID number as row 3 under another name
row 6: duplicate of row 5
imported 2 accounts; 3 rows refused; 0 already on the chain" \
    "odd rows: scientific notation, one number under two names, 15/18-digit repeat"

{ head -n 3 "$T/big.csv"; printf '440106,李\351四\n'; } >"$T/broken.csv"
expect_exit 2 "a UTF-8 file with a stray Latin-1 byte: usage error, not read as GB18030" \
    "$IDL" --key "$TH" import --org 440106 --csv "$T/broken.csv"
like "$(head -n 1 "$ERR")" 'UTF-8 but for 1 invalid byte \(the first on line 4\)' \
    "the usage error says where the invalid byte is"

# Against the chain: a person with a business account made by hand at the county (reported
# as on the chain, and imported at the school, another unit), and an ID number registered
# under another name (赵六's, from odd.csv).
y=$(idnum 44010619900909123)
expect_exit 0 "th-sysadmin creates business account th-hand by hand" sign "$TH" \
    account add --id th-hand --org 440106 --class business --name 周九 --id-number "$y" \
    --mobile 13512345606 --email o6@example.cn
{
    echo 单位名称,姓名,身份证号码,办公电话,电子邮箱,手机号码,办学类型,用户类型,单位通讯地址
    echo 440106,周九,$y,020-1234567,o6@example.cn,13512345606,,信息查询员,天河路1号
    echo 4401060001,周九,$y,020-1234567,o6@example.cn,13512345606,小学,信息查询员,天河路1号
    echo 440106,李四,$x,020-1234567,o7@example.cn,13512345607,,信息查询员,天河路1号
} >"$T/chain.csv"
expect_exit 1 "rows against the chain: exit 1" "$IDL" --key "$TH" import --org 440106 --csv "$T/chain.csv"
is "$(cat "$OUT")" "row 2: already on the chain (account th-hand)
row 4: this ID number is registered under another name
imported 1 account; 1 row refused; 1 already on the chain" \
    "rows against the chain: a hand-made account is found, another name is refused"

# Excel's "Unicode text": UTF-16 with a byte-order mark, tab-separated, a title line first.
{
    printf '用户CA信息电子表格模板\n'
    printf '单位名称\t姓名\t身份证号码\t办公电话\t电子邮箱\t手机号码\t办学类型\t用户类型\t单位通讯地址\n'
    printf '440106\t冯十一\t%s\t020-1234567\to8@example.cn\t13512345608\t\t培训管理员\t天河路2号\n' \
        "$(idnum 44010619910101456)"
} | iconv -f UTF-8 -t UTF-16 >"$T/u16.txt"
expect_exit 0 "UTF-16, tab-separated, with a title line: exit 0" \
    "$IDL" --key "$TH" import --org 440106 --csv "$T/u16.txt"
is "$(cat "$OUT")" "imported 1 account; 0 rows refused; 0 already on the chain" \
    "UTF-16: the row is imported"

# A UTF-8 file with one stray byte is refused (read as GB18030 it would garble every name),
# and before the node is asked anything.
{
    echo 单位名称,姓名,身份证号码,办公电话,电子邮箱,手机号码,办学类型,用户类型,单位通讯地址
    printf '440106,王\377芳,%s,020-1234567,o9@example.cn,13512345609,,信息查询员,天河路3号\n' \
        "$(idnum 44010619920202789)"
} >"$T/stray.csv"
expect_exit 2 "UTF-8 with a stray byte: usage error" \
    env IDLEDGER_NODE=http://127.0.0.1:1 "$IDL" --key "$TH" import --org 440106 --csv "$T/stray.csv"
like "$(cat "$ERR")" 'UTF-8 but for 1 invalid byte \(the first on line 2\)' \
    "the error says where the stray byte is"

# Only a file: a device never ends, a pipe cannot be read twice (once for the encoding).
expect_exit 2 "a device (/dev/zero) as the CSV: usage error, at once" \
    env IDLEDGER_NODE=http://127.0.0.1:1 timeout 60 "$IDL" --key "$TH" import --org 440106 \
    --csv /dev/zero
like "$(cat "$ERR")" '/dev/zero is not a regular file' "the error says it must be a file"
# A row over 64 KiB is named by its own number (4 here), not by what libcsv read after it.
{
    head -n 3 "$T/big.csv"
    printf '440106,王芳,%s,020-1234567,o9@example.cn,13512345609,,信息查询员,%s\n' \
        "$(idnum 44010619920202789)" "$(head -c 100000 /dev/zero | tr '\0' a)"
    sed -n 4p "$T/big.csv"
} >"$T/longrow.csv"
run "$IDL" --key "$TH" import --org 440106 --csv "$T/longrow.csv"
like "$RC $(cat "$ERR")" '^[12] .*row 4 is longer than 64 KiB' \
    "a row over 64 KiB stops the import with an error that names row 4"

# A quote left open in a column nobody reads makes the rows after it part of that cell:
# they are not imported, and the import says where to look.
{
    printf '%s,备注\n' "$(head -n 1 "$T/big.csv")"
    printf '%s,"note\n' "$(sed -n 2p "$T/big.csv")"
    printf '%s,x\n' "$(sed -n 3p "$T/big.csv")"
    printf '%s,y"\n' "$(sed -n 4p "$T/big.csv")"
    printf '%s,z\n' "$(sed -n 5p "$T/big.csv")"
} >"$T/openquote.csv"
run "$IDL" --key "$TH" import --org 440106 --csv "$T/openquote.csv"
like "$(cat "$ERR")" 'warning: 1 cell held a line break, the first in row 2: if a quote' \
    "a quote left open: the import warns, naming the row"
like "$(tail -n 1 "$OUT")" '^imported 0 accounts; 0 rows refused; 2 already on the chain$' \
    "and it read two rows of the four: the rows in the open quote are not rows"

cut -d, -f1-6,8- "$T/big.csv" | head -n 5 >"$T/nomobile.csv"
expect_exit 2 "a file without the mobile column: usage error" \
    "$IDL" --key "$TH" import --org 440106 --csv "$T/nomobile.csv"
like "$(cat "$ERR")" 'no column for: mobile \(手机号码\)' "the usage error names the missing column"
expect_exit 1 "a county's auditor cannot import" \
    "$IDL" --key "$T/keys/th-auditor.key" import --org 440106 --csv "$T/en.csv"
like "$(cat "$ERR")" 'th-auditor is not the sysadmin of 440106' "the refusal says who may"

# Every user type of the teacher system's application form (seed 003): 安全审计员 and
# 其他 (with what the applicant wrote after it) too.
{
    echo 单位名称,姓名,身份证号码,办公电话,电子邮箱,手机号码,办学类型,用户类型,单位通讯地址
    _i=0
    for _t in 安全审计员 教师系统安全审计员 其他 其他：教务员 auditor other; do
        _i=$((_i + 1))
        echo "440106,蒋$(echo 一二三四五六 | cut -c$((3 * _i - 2))-$((3 * _i))),$(idnum 4401031970040${_i}555),020-1234567,ut$_i@example.cn,1365557000$_i,,$_t,天河路1号"
    done
} >"$T/types.csv"
expect_exit 0 "user types 安全审计员, 其他, 其他：教务员, auditor, other: exit 0" \
    "$IDL" --key "$TH" import --org 440106 --csv "$T/types.csv"
is "$(tail -n 1 "$OUT")" "imported 6 accounts; 0 rows refused; 0 already on the chain" \
    "every user type of the form is accepted"

# A disabled account is on the chain but not in use: the row says so, is not counted as
# done (exit 1), and nothing new is created for the person; restored, it is done.
{
    echo 单位名称,姓名,身份证号码,办公电话,电子邮箱,手机号码,办学类型,用户类型,单位通讯地址
    echo 440106,韩梅,$(idnum 44010319700501555),020-1234567,dis@example.cn,13655580001,,信息查询员,天河路1号
} >"$T/dis.csv"
expect_exit 0 "a row imported" "$IDL" --json --key "$TH" import --org 440106 --csv "$T/dis.csv"
dis=$(jq -r '.imported_accounts[0].account' "$OUT")
expect_exit 0 "th-sysadmin disables it" "$IDL" --key "$TH" account disable --id "$dis" --reason 调离
h1=$(height)
expect_exit 1 "the row again, its account disabled: exit 1" \
    "$IDL" --key "$TH" import --org 440106 --csv "$T/dis.csv"
is "$(cat "$OUT")" "row 2: on the chain but not in use (account $dis) (disabled: restore it)
imported 0 accounts; 0 rows refused; 0 already on the chain; 1 disabled there (restore it)" \
    "the disabled account is named, not counted as done"
is "$(height)" "$h1" "nothing is sent for it (no second account)"
expect_exit 1 "--json: in the disabled list" \
    "$IDL" --json --key "$TH" import --org 440106 --csv "$T/dis.csv"
is "$(jq -c '[.disabled, .already, (.disabled_on_chain | map(.account))]' "$OUT")" \
    "[1,0,[\"$dis\"]]" "--json: disabled 1, already 0, the account in disabled_on_chain"
expect_exit 0 "th-sysadmin restores it" "$IDL" --key "$TH" account restore --id "$dis" --reason 返岗
expect_exit 0 "the row again, restored: exit 0" "$IDL" --key "$TH" import --org 440106 --csv "$T/dis.csv"
is "$(cat "$OUT")" "row 2: already on the chain (account $dis)
imported 0 accounts; 0 rows refused; 1 already on the chain" "restored: already on the chain"

# Two imports by the same sysadmin at once, of overlapping files: their transactions take
# the same nonces, and the pool keeps one of each pair. The dropped ones are signed again
# with fresh nonces; rows both files hold are created once and reported already on the
# chain by the other. No row is refused, every row ends on the chain.
cat >"$T/race.awk" <<'EOF_AWK'
function check(s,   t, k) {
    t = 0
    for (k = 1; k <= 17; k++) t += substr(s, k, 1) * w[k]
    return substr("10X98765432", t % 11 + 1, 1)
}
BEGIN {
    split("7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2", w, " ")
    ns = split("赵 钱 孙 李 周 吴 郑 王", sur, " ")
    ng = split("一 二 三 四 五 六 七 八 九 十", giv, " ")
    print "单位名称,姓名,身份证号码,办公电话,电子邮箱,手机号码,办学类型,用户类型,单位通讯地址"
    for (i = FROM; i <= TO; i++) {
        s = "440104" sprintf("19%02d%02d%02d", 60 + int(i / 336), int(i / 28) % 12 + 1, i % 28 + 1) "777"
        unit = (i % 2) ? "4401060001" : "440106"
        printf "%s,%s%s%s,%s,020-6%07d,race%d@example.cn,137%08d,%s,信息查询员,天河路%d号\n", \
            unit, sur[i % ns + 1], giv[int(i / ns) % ng + 1], giv[i % ng + 1], s check(s), i, i, i, \
            (i % 2) ? "小学" : "", i
    }
}
EOF_AWK
awk -v FROM=1 -v TO=1200 -f "$T/race.awk" >"$T/race-a.csv"
awk -v FROM=601 -v TO=1800 -f "$T/race.awk" >"$T/race-b.csv"
"$IDL" --json --key "$TH" --timeout 120 import --org 440106 --csv "$T/race-a.csv" --batch 40 \
    >"$T/race-a.json" 2>"$T/race-a.err" </dev/null &
pa=$!
track_pid $pa
"$IDL" --json --key "$TH" --timeout 120 import --org 440106 --csv "$T/race-b.csv" --batch 40 \
    >"$T/race-b.json" 2>"$T/race-b.err" </dev/null &
pb=$!
track_pid $pb
ra=0 rb=0
wait $pa || ra=$?
wait $pb || rb=$?
untrack_pid $pa
untrack_pid $pb
cat "$T/race-a.err" "$T/race-b.err" | head -n 5 | sed 's/^/#   /'
is "$ra $rb" "0 0" "two imports by th-sysadmin at once: both exit 0"
diag "transactions signed again: $(jq -r .resent "$T/race-a.json") and $(jq -r .resent "$T/race-b.json")"
is "$(jq -s -r 'map([.rows, .refused, .disabled, .not_sent] | join(" ")) | join(", ")' \
    "$T/race-a.json" "$T/race-b.json")" "1200 0 0 0, 1200 0 0 0" \
    "neither refuses a row nor leaves one unsent"
is "$(jq -s -r 'map(.imported) | add' "$T/race-a.json" "$T/race-b.json")" 1800 \
    "1800 distinct rows, each created once"
# row -> account in each; the 600 rows both hold must name the same account
for x in a b; do
    jq -r '(.imported_accounts + .already_on_chain)[] | "\(.row) \(.account)"' "$T/race-$x.json" |
        sort -n >"$T/race-$x.accts"
done
is "$(wc -l <"$T/race-a.accts") $(wc -l <"$T/race-b.accts")" "1200 1200" \
    "every row of each file is imported or already on the chain"
# file b's row r is file a's row r + 600
awk 'NR > 600 { print $2 }' "$T/race-a.accts" >"$T/race-a.tail"
awk 'NR <= 600 { print $2 }' "$T/race-b.accts" >"$T/race-b.head"
check "the rows both files hold have the same accounts in both reports" \
    cmp -s "$T/race-a.tail" "$T/race-b.head"
cat "$T/race-a.accts" "$T/race-b.accts" | cut -d' ' -f2 | sort -u >"$T/race.ids"
is "$(grep -c '' "$T/race.ids")" 1800 "1800 distinct accounts"
sed 's|^|url = '"$API"'/v1/accounts/|' "$T/race.ids" >"$T/race.curl"
curl -s -m 120 -H "Authorization: Bearer $IDLEDGER_API_TOKEN" -K "$T/race.curl" |
    jq -r '[.id, .org, .status] | @tsv' | sort >"$T/race.got"
is "$(awk -F'\t' '$3 == "active" && index($1, $2 "-") == 1' "$T/race.got" | grep -c '')" 1800 \
    "all 1800 are on the chain, active, at the unit their id names"

# ---------------------------------------------------------------- no personal data

# A sample of the files' values: every 997th row of the big file (good and bad), all of the
# GB18030 file's numbers, mobiles and e-mails, its names of three or more characters.
awk -F, '$1 ~ /^[0-9]+$/ && $1 % 997 == 0 { print $4; print $6; print $7 }' "$T/big.csv" >"$T/values"
awk -F, 'NR > 2 { print $3; print $5; print $6; if (length($2) >= 9) print $2 }' "$T/gb.utf8.csv" >>"$T/values"
grep -v '^$' "$T/values" >"$T/values.1" && mv "$T/values.1" "$T/values"
diag "searching for $(grep -c '' "$T/values") personal values"
check "control: an imported account id is found in the node's data directory" \
    grep -a -r -q -F -e "$(jq -r '.imported_accounts[0].account' "$T/first.json")" "$NODE_HOME/data" "$NODE_LOG"
leaks=$(grep -a -r -o -h -F -f "$T/values" "$NET" | sort -u | head -n 5 | tr '\n' ' ')
is "$leaks" "" "none of them is in the node's data directory, genesis or log"
leaks=$(grep -a -o -h -F -f "$T/values" "$TRANSCRIPT" | sort -u | head -n 5 | tr '\n' ' ')
is "$leaks" "" "none of them is in anything the CLI printed"

# ---------------------------------------------------------------- refused by the ledger

# Records the ledger refuses inside a batch, after the CLI and the node's sealing let them
# through: the rows must be the refused ones, by record number. A network of two
# validators with one stopped commits nothing: the province's sysadmin takes back the
# delegation of a province-run school (pooled first), then imports rows for the province
# and the school, the school's interleaved. The CLI still sees the school delegated; when
# the second validator comes back, the block applies the undo first (nonce order) and the
# school's records are refused.
node_stop
P2=$((PORT + 10))
N2="$T/net2"
for p in $(seq "$P2" $((P2 + 3))); do
    port_free "$p" || bail "port $p is in use; set IT_PORT_BASE elsewhere"
done
"$IDL" testnet --dir "$N2" --validators 2 --base-port "$P2" >"$T/testnet2.out" 2>&1 || {
    diag_file "$T/testnet2.out"
    bail "idledger testnet (2 validators) failed"
}
# start2 K: node K of the second network, until it answers /v1/status.
start2() {
    "$IDLD" --home "$N2/node$1" >>"$N2/node$1.log" 2>&1 </dev/null &
    eval "PID2_$1=$!"
    track_pid "$!"
    _i=0
    while [ $_i -lt 100 ]; do
        _h=$(curl -s -m 1 "http://127.0.0.1:$((P2 + 2 * $1))/v1/status" 2>/dev/null |
            jq -r '.height | numbers' 2>/dev/null)
        [ -z "$_h" ] || return 0
        sleep 0.1
        _i=$((_i + 1))
    done
    return 1
}
start2 0 && start2 1 || bail "the two validators did not start"
API="http://127.0.0.1:$P2"
IDLEDGER_NODE=$API
IDLEDGER_API_TOKEN=$(cat "$N2/node0/api-token")
IDLEDGER_PASSPHRASE=$(cat "$N2/passphrase")
export IDLEDGER_NODE IDLEDGER_API_TOKEN IDLEDGER_PASSPHRASE
R2="$N2/admins/sysadmin.key"
expect_exit 0 "net2: root adds province-run school 4400000001" sign "$R2" \
    org add --code 4400000001 --name 省实验学校 --kind school --parent 440000 --school-type middle
expect_exit 0 "net2: the school delegates its business users to the province" sign "$R2" \
    org delegate --code 4400000001
kill -9 "$PID2_1" 2>/dev/null
wait "$PID2_1" 2>/dev/null
untrack_pid "$PID2_1"
expect_exit 0 "net2, validator 1 stopped: root takes the delegation back (pooled, not committed)" \
    sign "$R2" --no-wait org delegate --code 4400000001 --undo
is "$(api /v1/orgs/4400000001 | jq -r .delegated)" true "net2: the school is still delegated on the chain"
{
    echo 单位名称,姓名,身份证号码,办公电话,电子邮箱,手机号码,办学类型,用户类型,单位通讯地址
    for i in 1 2 3 4; do
        u=440000 && t= && [ $((i % 2)) = 0 ] && u=4400000001 && t=初中
        echo "$u,冯$(echo 一二三四 | cut -c$((3 * i - 2))-$((3 * i))),$(idnum 4401031970060${i}555),020-1234567,lr$i@example.cn,1365559000$i,$t,信息查询员,天河路1号"
    done
} >"$T/ledger.csv"
"$IDL" --json --key "$R2" --timeout 90 import --org 440000 --csv "$T/ledger.csv" \
    >"$T/ledger.json" 2>"$T/ledger.err" </dev/null &
pi=$!
track_pid $pi
i=0
while [ "$(curl -s -m 2 "$API/v1/status" | jq -r '.mempool.txs // 0')" -lt 2 ] && [ $i -lt 200 ]; do
    sleep 0.1
    i=$((i + 1))
done
is "$(curl -s -m 2 "$API/v1/status" | jq -r '.mempool.txs')" 2 \
    "net2: the undo and the import's transaction wait in the pool"
start2 1 || bail "validator 1 did not restart"
ri=0
wait $pi || ri=$?
untrack_pid $pi
diag_file "$T/ledger.err" "import stderr"
is "$ri" 1 "net2: the import exits 1 (rows refused by the ledger)"
is "$(api /v1/orgs/4400000001 | jq -r .delegated)" false "net2: the undo applied"
is "$(jq -r '[.refusals[].row] | join(" ")' "$T/ledger.json")" "3 5" \
    "net2: rows 3 and 5 (records 1 and 3 of the batch) refused"
is "$(jq -r '.refusals[].reason' "$T/ledger.json" |
    grep -c '^only the sysadmin of 4400000001 may create business accounts')" 2 \
    "net2: each with the ledger's reason"
is "$(jq -r '[.imported_accounts[].row] | join(" ")' "$T/ledger.json")" "2 4" \
    "net2: rows 2 and 4 imported"
got=""
for a in $(jq -r '.imported_accounts[].account' "$T/ledger.json"); do
    got="$got $(api "/v1/accounts/$a" | jq -r .org)"
done
is "$got" " 440000 440000" "net2: their accounts are on the chain at the province"

done_testing

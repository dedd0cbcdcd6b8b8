#!/bin/sh
# import.sh: bulk onboarding (`idledger import`) against a real node.
#
# A county 440106 (th-*) under city 440100 (gz-*) imports a 100,000-row applicant
# spreadsheet (用户CA信息电子表格模板, seed 004) into itself and into its delegated school
# 4401060001. 100 planted bad rows (wrong check digits, repeats, unknown units, a school
# out of the county's reach, a city-run school, an ambiguous name, bad e-mails and mobiles,
# a missing school type, an unknown user type) must each be reported once, by row number,
# and nothing else refused; exactly the good rows must be on the chain. A second run
# reports them as already there and sends nothing (the height does not move). A GB18030
# file with CRLF line ends, a title row and rare characters imports its good rows with
# their names intact; so do an English header with a BOM and quoted fields, and Excel's
# UTF-16 "Unicode text". A person with an account made by hand at the unit is found on the
# chain. No personal value from the files reaches the node's data directory, its log or the
# CLI's output. Ports: IT_PORT_BASE + 600.
. "$(dirname "$0")/lib.sh"

PORT=$((${IT_PORT_BASE:-18000} + 600))
net_up "$T/net" "$PORT"
mkdir -p "$T/keys"
N=100000

# ---------------------------------------------------------------- set-up

_p=0
# sign KEY CMD...: `idledger CMD...` signed by KEY with a fresh basis form.
sign() {
    _k=$1
    shift
    _p=$((_p + 1))
    "$IDL" --key "$_k" --basis "$(form "f$_p")" "$@"
}

# admins CODE PREFIX PARENT_PREFIX: the parent's sysadmin creates the three management
# accounts of CODE, the parent's secadmin authorises them.
admins() {
    for _post in sysadmin secadmin auditor; do
        _p=$((_p + 1))
        run "$IDL" key new --out "$T/keys/$2-$_post.key"
        [ "$RC" = 0 ] || bail "key new: $(cat "$ERR")"
        expect_exit 0 "$3-sysadmin creates $2-$_post" sign "$T/keys/$3-sysadmin.key" \
            account add --id "$2-$_post" --org "$1" --class management --post "$_post" \
            --pubkey "$(cat "$OUT")" --name 管理员 \
            --id-number "$(idnum "11010519700$((_p % 9 + 1))1$((_p % 9))$(printf %03d $_p)")" \
            --mobile "1370000$(printf %04d $_p)" --email "admin$_p@example.cn"
    done
    for _post in sysadmin secadmin auditor; do
        expect_exit 0 "$3-secadmin authorises $2-$_post" sign "$T/keys/$3-secadmin.key" \
            account authorize --id "$2-$_post"
    done
}

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
imported 1 accounts; 1 rows refused; 1 already on the chain" \
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
is "$(cat "$OUT")" "imported 1 accounts; 0 rows refused; 0 already on the chain" \
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

cut -d, -f1-6,8- "$T/big.csv" | head -n 5 >"$T/nomobile.csv"
expect_exit 2 "a file without the mobile column: usage error" \
    "$IDL" --key "$TH" import --org 440106 --csv "$T/nomobile.csv"
like "$(cat "$ERR")" 'no column for: mobile \(手机号码\)' "the usage error names the missing column"
expect_exit 1 "a county's auditor cannot import" \
    "$IDL" --key "$T/keys/th-auditor.key" import --org 440106 --csv "$T/en.csv"
like "$(cat "$ERR")" 'th-auditor is not the sysadmin of 440106' "the refusal says who may"

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

done_testing

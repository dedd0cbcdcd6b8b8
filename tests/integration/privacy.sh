#!/bin/sh
# privacy.sh: personal data entered through `account add` and `account update` (names,
# ID numbers in 18- and 15-digit form, mobiles, e-mails, office phones, addresses) must
# never appear in the clear: not in the node's data directory, not in its log, not in
# anything the CLI printed (refusals and usage errors included), not in the API, which
# shows them masked only.
. "$(dirname "$0")/lib.sh"

PORT=$((${IT_PORT_BASE:-18000} + 300))
net_up "$T/net" "$PORT"

# Person A: the city's sysadmin (ID with check character X).
A_NAME=欧阳明轩
A_ID=11010519491231002X
A_MOBILE=13912345678
A_EMAIL=ouyang.mingxuan@gz-edu.example.cn
A_PHONE=020-83456789
A_ADDR=广州市越秀区教育路88号
A_MOBILE2=18611112222
A_EMAIL2=mx.ouyang@mail.example.cn
A_PHONE2=020-87770001
A_ADDR2=广州市天河区天河路385号
# Person B: a business account entered with the old 15-digit number.
B_NAME=司马相如
B_ID15=440106900307123
B_ID=440106199003071231
B_MOBILE=15887654321
B_EMAIL=sima.xiangru@school.example.cn
B_PHONE=020-86543210
B_MOBILE2=17700001234
B_EMAIL2=xiangru.sima@newschool.example.cn
B_PHONE2=0755-26881234
# Person C: entered by the city sysadmin, then refused once (its data must not leak
# through the refusal either).
C_NAME=诸葛孔明
C_ID=440106198808088888
C_MOBILE=13600136000
C_EMAIL=zhuge.kongming@county.example.cn
C_PHONE=020-81234567
# Person D: only ever given to a refused operation and to a local usage error.
D_NAME=上官婉儿
D_ID=440106197809153018
D_MOBILE=13522223333
D_MOBILE_BAD=1352222333
D_EMAIL=shangguan.waner@example.cn

is "$(idnum 44010619900307123)" "$B_ID" "the 15-digit number's 18-digit form is $B_ID"

expect_exit 0 "root-sysadmin adds city 440100" sign "$ROOT_SYS" \
    org add --code 440100 --name 广州市教育局 --kind city --parent 440000
expect_exit 0 "key new" "$IDL" key new --out "$T/gz-sys.key"
gz_pub=$(cat "$OUT")
expect_exit 0 "account add: person A as sysadmin of 440100" sign "$ROOT_SYS" \
    account add --id gz-sys --org 440100 --class management --post sysadmin \
    --pubkey "$gz_pub" --name "$A_NAME" --id-number "$A_ID" --mobile "$A_MOBILE" \
    --email "$A_EMAIL" --office-phone "$A_PHONE" --address "$A_ADDR"
expect_exit 0 "account add: person B (15-digit ID) as a business account" sign "$ROOT_SYS" \
    account add --id prov-b1 --org 440000 --class business --name "$B_NAME" \
    --id-number "$B_ID15" --mobile "$B_MOBILE" --email "$B_EMAIL" --office-phone "$B_PHONE"
# A restart turns LevelDB's log into a (snappy-compressed) table: the data then lives
# in both forms, and the dump below reads through the compression.
expect_exit 0 "node stops cleanly on SIGTERM (mid-flow)" node_stop
check "node restarts" node_start || bail "the node does not restart"
expect_exit 0 "account update: A's mobile, e-mail, office phone, address" sign "$ROOT_SYS" \
    account update --id gz-sys --mobile "$A_MOBILE2" --email "$A_EMAIL2" \
    --office-phone "$A_PHONE2" --address "$A_ADDR2"
expect_exit 0 "account update: B's mobile, e-mail, office phone" sign "$ROOT_SYS" \
    account update --id prov-b1 --mobile "$B_MOBILE2" --email "$B_EMAIL2" \
    --office-phone "$B_PHONE2"
expect_exit 0 "root-secadmin authorises gz-sys" sign "$ROOT_SEC" account authorize --id gz-sys
expect_exit 0 "account add: person C by the city sysadmin" sign "$T/gz-sys.key" \
    account add --id gz-c1 --org 440100 --class business --name "$C_NAME" \
    --id-number "$C_ID" --mobile "$C_MOBILE" --email "$C_EMAIL" --office-phone "$C_PHONE"
expect_exit 1 "refused: the auditor adds person C again" sign "$ROOT_AUD" \
    account add --id gz-c2 --org 440100 --class business --name "$C_NAME" \
    --id-number "$C_ID" --mobile "$C_MOBILE" --email "$C_EMAIL"
expect_exit 1 "refused: person D entered by a sysadmin of the wrong organisation" \
    sign "$ROOT_SYS" account add --id gz-d1 --org 440100 --class business \
    --name "$D_NAME" --id-number "$D_ID" --mobile "$D_MOBILE" --email "$D_EMAIL"
expect_exit 2 "usage error: person D with an invalid mobile" sign "$T/gz-sys.key" \
    account add --id gz-d2 --org 440100 --class business \
    --name "$D_NAME" --id-number "$D_ID" --mobile "$D_MOBILE_BAD" --email "$D_EMAIL"
expect_exit 1 "refused: person B's ID number under another name" sign "$T/gz-sys.key" \
    account add --id gz-b2 --org 440100 --class business --name "$D_NAME" \
    --id-number "$B_ID" --mobile "$D_MOBILE"

# The CLI's views of the accounts (these outputs are searched below as well).
for a in gz-sys prov-b1 gz-c1; do
    expect_exit 0 "account show $a" "$IDL" account show "$a"
    expect_exit 0 "account show --json $a" "$IDL" --json account show "$a"
done
expect_exit 0 "audit log of 440000" "$IDL" --json audit log --org 440000
expect_exit 0 "audit log of 440100" "$IDL" --json audit log --org 440100

# ---------------------------------------------------------------- the API masks

ALL_VALUES="$A_NAME $A_ID $A_MOBILE $A_EMAIL $A_PHONE $A_ADDR $A_MOBILE2 $A_EMAIL2 $A_PHONE2
$A_ADDR2 $B_NAME $B_ID15 $B_ID $B_MOBILE $B_EMAIL $B_PHONE $B_MOBILE2 $B_EMAIL2 $B_PHONE2
$C_NAME $C_ID $C_MOBILE $C_EMAIL $C_PHONE $D_NAME $D_ID $D_MOBILE $D_MOBILE_BAD $D_EMAIL"

# masked ID FIELD...: GET /v1/accounts/ID answers, shows each FIELD of .person with a
# '*' in it, and contains none of the personal values in the clear.
masked() {
    _id=$1
    shift
    _j=$(api "/v1/accounts/$_id")
    is "$(status_code)" 200 "GET /v1/accounts/$_id answers"
    for _f in "$@"; do
        like "$(printf '%s' "$_j" | jq -r ".person.$_f // \"(absent)\"")" '\*' \
            "GET /v1/accounts/$_id: person.$_f is masked"
    done
    _leak=""
    for _v in $ALL_VALUES; do
        case "$_j" in *"$_v"*) _leak="$_leak $_v" ;; esac
    done
    is "$_leak" "" "GET /v1/accounts/$_id contains no personal value in the clear"
}
masked gz-sys name id_number mobile email office_phone address
masked prov-b1 name id_number mobile email office_phone
masked gz-c1 name id_number mobile email office_phone
is "$(api /v1/accounts/gz-sys | jq -r .person.mobile)" "186****2222" \
    "the masked mobile is the updated one (186****2222)"
is "$(api /v1/accounts/prov-b1 | jq -r .person.id_number)" "440*************31" \
    "the 15-digit number was stored as its 18-digit form (masked 440*************31)"

expect_exit 0 "node stops cleanly on SIGTERM" node_stop

# ---------------------------------------------------------------- nothing in the clear

# Every LevelDB under the data directory, dumped key and value through the library
# (which undoes snappy), to $T/db.dump: raw grep alone cannot see into compressed blocks.
DUMP="$T/db.dump"
ldb_dump "$NODE_HOME/data" "$DUMP"

# The searches can see: public values that were entered the same way are found.
found_in_data() {
    grep -a -r -q -F -e "$1" "$NODE_HOME/data" || return 1
    [ ! -s "$DUMP" ] || grep -a -q -F -e "$1" "$DUMP"
}
check "control: account id gz-c1 is found in the data directory and the dump" found_in_data gz-c1
check "control: the organisation name 广州市教育局 is found in the data directory and the dump" \
    found_in_data 广州市教育局
check "control: the masked mobile 186****2222 is found in the CLI transcript" \
    grep -q -F '186****2222' "$TRANSCRIPT"

# nowhere LABEL VALUE: VALUE (and its hex) appears in none of: the whole testnet
# directory (node data directory, node log, genesis, keys), the CLI transcript, and the
# dump of the LevelDB records.
nowhere() {
    nowhere_in "$1" "$2" "$NET" "$TRANSCRIPT" "$DUMP"
}

check "the node's data directory exists and is not empty" [ -n "$(ls -A "$NODE_HOME/data" 2>/dev/null)" ]
check "the node log exists and is not empty" [ -s "$NODE_LOG" ]
check "the CLI transcript exists and is not empty" [ -s "$TRANSCRIPT" ]

nowhere "A name" "$A_NAME"
nowhere "A ID number" "$A_ID"
nowhere "A ID number, lower-case x" "$(printf '%s' "$A_ID" | tr X x)"
nowhere "A ID number, first 17 characters" "$(printf '%s' "$A_ID" | cut -c1-17)"
nowhere "A mobile" "$A_MOBILE"
nowhere "A e-mail" "$A_EMAIL"
nowhere "A office phone" "$A_PHONE"
nowhere "A address" "$A_ADDR"
nowhere "A updated mobile" "$A_MOBILE2"
nowhere "A updated e-mail" "$A_EMAIL2"
nowhere "A updated office phone" "$A_PHONE2"
nowhere "A updated address" "$A_ADDR2"
nowhere "B name" "$B_NAME"
nowhere "B ID number, 15-digit form" "$B_ID15"
nowhere "B ID number, 18-digit form" "$B_ID"
nowhere "B ID number, first 17 characters" "$(printf '%s' "$B_ID" | cut -c1-17)"
nowhere "B mobile" "$B_MOBILE"
nowhere "B e-mail" "$B_EMAIL"
nowhere "B office phone" "$B_PHONE"
nowhere "B updated mobile" "$B_MOBILE2"
nowhere "B updated e-mail" "$B_EMAIL2"
nowhere "B updated office phone" "$B_PHONE2"
nowhere "C name" "$C_NAME"
nowhere "C ID number" "$C_ID"
nowhere "C mobile" "$C_MOBILE"
nowhere "C e-mail" "$C_EMAIL"
nowhere "C office phone" "$C_PHONE"
nowhere "D name (refused)" "$D_NAME"
nowhere "D ID number (refused)" "$D_ID"
nowhere "D mobile (refused)" "$D_MOBILE"
nowhere "D invalid mobile (usage error)" "$D_MOBILE_BAD"
nowhere "D e-mail (refused)" "$D_EMAIL"
done_testing

# lib.sh: a small TAP helper for the integration tests, sourced by each
# tests/integration/*.sh (POSIX sh; /bin/sh is dash on Debian).
#
# What it gives a test:
#   plan N | done_testing          TAP plan (at the start, or at the end)
#   ok CMD...                      passes if CMD exits 0 (name: the command line)
#   check NAME CMD...              the same with a name
#   is GOT WANT NAME               string equality
#   isnt GOT UNWANTED NAME
#   like GOT ERE NAME / unlike     extended regular expression match (grep -E)
#   expect_exit CODE NAME CMD...   runs CMD, compares its exit status; its stdout and
#                                  stderr stay in $OUT and $ERR (files) until the next
#                                  run, and on failure stderr is printed as diagnostics
#   run CMD...                     runs CMD the same way without a test; sets $RC
#                                  (every such stdout and stderr is appended to
#                                  $TRANSCRIPT, without the command's arguments)
#   pass NAME / fail NAME / diag TEXT / bail TEXT
#   net_up DIR PORT                writes a 1-validator testnet in DIR (base port PORT)
#                                  and starts node 0; exports IDLEDGER_NODE,
#                                  IDLEDGER_API_TOKEN, IDLEDGER_PASSPHRASE
#   node_start / node_stop / node_kill9   (node 0 of the last net_up)
#   api PATH [CURL ARGS...]        GET (or other) on the node's API with the token
#   height                         the node's height from /v1/status
#   idnum PREFIX17                 a GB 11643 ID number: PREFIX17 + its check digit
#   form NAME                      writes a unique "scanned form" file, prints its path
#   ldb_dump DATA_DIR OUT          every record of every LevelDB under DATA_DIR (a stopped
#                                  node's), through the library, into OUT (2 tests)
#   nowhere_in LABEL VALUE PATH... VALUE (and its hex) is in no file under PATH... (a test)
#   sign KEY CMD...                `idledger CMD...` signed by KEY with a fresh basis form
#   admins CODE PREFIX PARENT      the parent creates and authorises CODE's three admins
#
# Every process a test starts through these helpers is killed on exit (trap), and the
# temporary directory $T (mktemp -d) is removed; KEEP_TMP=1 keeps it for a post-mortem.
# The script's exit status is non-zero if any test failed or the plan was not met.
#
# Ports: test file k uses base port ${IT_PORT_BASE:-18000} + 100*k (flow 0, bad_input 1,
# crash 2, privacy 3, certs 4, ops 5, import 6, bft 7, reports 8, valgrind 9,
# sync_serve 10), far from the
# devnet's 7700; net_up refuses a port already in use instead of talking to someone else's
# node. Set IT_PORT_BASE to move the whole set.

set -u

: "${BIN:?BIN must name the directory holding idledgerd and idledger}"
[ -x "$BIN/idledger" ] && [ -x "$BIN/idledgerd" ] || {
    echo "Bail out! no idledger/idledgerd in $BIN"
    exit 1
}

# The test tools (loadgen, evilpeer), for a test run on its own: as run-integration.sh
# defaults them.
if [ -z "${TOOLS:-}" ]; then
    if [ -d "$BIN/../tools" ]; then TOOLS=$BIN/../tools; else TOOLS=$BIN/../build/tools; fi
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/idledger-it.XXXXXX") || {
    echo "Bail out! mktemp failed"
    exit 1
}
# A private copy of the binaries: the whole test runs one build even if the tree is
# rebuilt meanwhile (the node is restarted from this copy too).
mkdir "$T/bin" && cp "$BIN/idledger" "$BIN/idledgerd" "$T/bin/" || {
    rm -rf "$T"
    echo "Bail out! cannot copy the binaries from $BIN"
    exit 1
}
IDL="$T/bin/idledger"
IDLD="$T/bin/idledgerd"
OUT="$T/.out"
ERR="$T/.err"
RC=0
# Every stdout and stderr of a command run through run/expect_exit is appended here
# (privacy.sh greps it for personal data).
TRANSCRIPT="$T/transcript"
: >"$TRANSCRIPT"

_t_n=0
_t_failed=0
_t_plan=""
_t_pids=""

# ---------------------------------------------------------------- TAP

plan() {
    _t_plan=$1
    echo "1..$1"
}

done_testing() {
    [ -n "$_t_plan" ] || {
        _t_plan=$_t_n
        echo "1..$_t_n"
    }
}

diag() {
    for _l in "$@"; do printf '%s\n' "$_l"; done | sed 's/^/# /'
}

# diag_file FILE [LABEL]: a file's content as diagnostics (first 40 lines).
diag_file() {
    [ -s "$1" ] || return 0
    [ $# -lt 2 ] || echo "# $2:"
    head -n 40 "$1" | sed 's/^/#   /'
}

pass() {
    _t_n=$((_t_n + 1))
    echo "ok $_t_n - $1"
}

fail() {
    _t_n=$((_t_n + 1))
    _t_failed=$((_t_failed + 1))
    echo "not ok $_t_n - $1"
}

bail() {
    echo "Bail out! $*"
    _t_failed=$((_t_failed + 1))
    exit 1
}

check() {
    _name=$1
    shift
    if "$@"; then pass "$_name"; else fail "$_name"; return 1; fi
}

ok() {
    check "$*" "$@"
}

is() {
    if [ "$1" = "$2" ]; then
        pass "$3"
    else
        fail "$3"
        diag "     got: '$1'" "expected: '$2'"
        return 1
    fi
}

isnt() {
    if [ "$1" != "$2" ]; then
        pass "$3"
    else
        fail "$3"
        diag "     got: '$1'" "expected anything else"
        return 1
    fi
}

like() {
    if printf '%s\n' "$1" | grep -Eq -- "$2"; then
        pass "$3"
    else
        fail "$3"
        diag "     got: '$1'" "expected to match: /$2/"
        return 1
    fi
}

unlike() {
    if printf '%s\n' "$1" | grep -Eq -- "$2"; then
        fail "$3"
        diag "     got: '$1'" "expected not to match: /$2/"
        return 1
    else
        pass "$3"
    fi
}

# run CMD...: runs CMD with stdout in $OUT, stderr in $ERR, exit status in $RC.
run() {
    RC=0
    "$@" >"$OUT" 2>"$ERR" </dev/null || RC=$?
    # outputs only: the arguments may hold the very personal data privacy.sh looks for
    {
        printf -- '--- %s ... (exit %s)\n' "${1##*/}" "$RC"
        cat "$OUT" "$ERR"
    } >>"$TRANSCRIPT"
    return 0
}

expect_exit() {
    _want=$1
    _name=$2
    shift 2
    run "$@"
    if [ "$RC" = "$_want" ]; then
        pass "$_name"
    else
        fail "$_name"
        diag "exit status $RC, expected $_want: $*"
        diag_file "$ERR" stderr
        diag_file "$OUT" stdout
        return 1
    fi
}

# ---------------------------------------------------------------- helpers

# idnum PREFIX17: prints PREFIX17 followed by its GB 11643 check digit.
idnum() {
    printf '%s\n' "$1" | awk '{
        n = split("7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2", w, " ")
        s = 0
        for (i = 1; i <= 17; i++) s += substr($0, i, 1) * w[i]
        printf "%s%s\n", $0, substr("10X98765432", s % 11 + 1, 1)
    }'
}

# form NAME: writes a unique stand-in for the scanned signed form and prints its path.
form() {
    mkdir -p "$T/forms"
    printf '%%PDF-1.4 申请单 %s %s\n' "$1" "$$" >"$T/forms/$1.pdf"
    printf '%s\n' "$T/forms/$1.pdf"
}

sha256() {
    sha256sum "$1" | cut -d' ' -f1
}

# alive PID: true while PID runs (a zombie counts as dead: the shell may not have
# reaped it yet).
alive() {
    _st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$_st" ] && [ "$_st" != Z ]
}

dead() {
    ! alive "$1"
}

track_pid() {
    _t_pids="$_t_pids $1"
}

untrack_pid() {
    _new=""
    for _p in $_t_pids; do [ "$_p" = "$1" ] || _new="$_new $_p"; done
    _t_pids=$_new
}

# ldb_dump DATA_DIR OUT: dumps the key and value of every record of every LevelDB under
# DATA_DIR, through the library (which undoes snappy: raw grep cannot see into compressed
# blocks), into OUT, from a copy (opening may rewrite it). Two tests (or two skips, with
# OUT empty, where no C compiler or LevelDB headers are at hand).
ldb_dump() {
    : >"$2"
    if [ ! -x "$T/ldbdump" ]; then
        cat >"$T/ldbdump.c" <<'EOF_C'
#include <leveldb/c.h>
#include <stdio.h>
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        char *err = NULL;
        leveldb_options_t *o = leveldb_options_create();
        leveldb_t *db = leveldb_open(o, argv[i], &err);
        if (err != NULL) { fprintf(stderr, "%s: %s\n", argv[i], err); return 1; }
        leveldb_readoptions_t *r = leveldb_readoptions_create();
        leveldb_iterator_t *it = leveldb_create_iterator(db, r);
        long n = 0;
        for (leveldb_iter_seek_to_first(it); leveldb_iter_valid(it); leveldb_iter_next(it)) {
            size_t kl, vl;
            const char *k = leveldb_iter_key(it, &kl), *v = leveldb_iter_value(it, &vl);
            fwrite(k, 1, kl, stdout); fputc('\n', stdout);
            fwrite(v, 1, vl, stdout); fputc('\n', stdout);
            n++;
        }
        fprintf(stderr, "%s: %ld records\n", argv[i], n);
        leveldb_iter_destroy(it);
        leveldb_readoptions_destroy(r);
        leveldb_close(db);
        leveldb_options_destroy(o);
    }
    return 0;
}
EOF_C
        if ! cc -std=c11 -o "$T/ldbdump" "$T/ldbdump.c" -lleveldb 2>"$T/cc.err"; then
            pass "# SKIP no C compiler or LevelDB headers to dump the tables: $(head -n 1 "$T/cc.err")"
            pass "# SKIP (dump)"
            return 0
        fi
    fi
    rm -rf "$T/data.copy"
    cp -r "$1" "$T/data.copy"
    _dbs=$(find "$T/data.copy" -name CURRENT -exec dirname {} \;)
    # shellcheck disable=SC2086 # one argument per database
    expect_exit 0 "dump every LevelDB of $(basename "$1") through the library" \
        "$T/ldbdump" $_dbs
    cp "$OUT" "$2"
    diag "$(cat "$ERR")"
    check "the dump holds records" [ -s "$2" ]
}

# nowhere_in LABEL VALUE PATH...: VALUE, and the lower-case hex of its bytes, appear in no
# file under any PATH.
nowhere_in() {
    _label=$1 _value=$2
    shift 2
    _where=""
    for _v in "$_value" "$(printf '%s' "$_value" | od -An -tx1 | tr -d ' \n')"; do
        _hits=$(grep -a -r -l -F -e "$_v" "$@" 2>/dev/null)
        [ -z "$_hits" ] || _where="$_where [$_v in: $(echo $_hits | sed "s|$T/||g")]"
    done
    is "$_where" "" "$_label ($_value) appears nowhere in the clear"
}

# ---------------------------------------------------------------- the node

NODE_PID=""
API=""

# api PATH [CURL ARGS...]: the node's answer body on stdout; the HTTP status goes to
# $T/.status (read it with `status_code`).
api() {
    _path=$1
    shift
    curl -s -m 10 -o "$T/.body" -w '%{http_code}' \
        -H "Authorization: Bearer $IDLEDGER_API_TOKEN" "$@" "$API$_path" >"$T/.status" ||
        echo 000 >"$T/.status"
    cat "$T/.body"
}

status_code() {
    cat "$T/.status"
}

height() {
    curl -s -m 5 "$API/v1/status" | jq -r '.height // empty'
}

# port_free PORT: nothing accepts connections on 127.0.0.1:PORT (curl exit 7).
port_free() {
    _rc=0
    curl -s -m 2 -o /dev/null "http://127.0.0.1:$1/" 2>/dev/null || _rc=$?
    [ "$_rc" = 7 ]
}

# wait_ready: polls GET /v1/status for up to 10 s; fails at once if the node died.
wait_ready() {
    _i=0
    while [ $_i -lt 100 ]; do
        alive "$NODE_PID" || {
            diag "node $NODE_PID died while starting"
            diag_file "$NODE_LOG" "node log"
            return 1
        }
        # (jq 1.6 -e exits 0 on empty input: test the printed value instead)
        _h=$(curl -s -m 1 "$API/v1/status" 2>/dev/null | jq -r '.height | numbers' 2>/dev/null)
        [ -z "$_h" ] || return 0
        sleep 0.1
        _i=$((_i + 1))
    done
    diag "node did not answer /v1/status within 10 s"
    diag_file "$NODE_LOG" "node log"
    return 1
}

node_start() {
    "$IDLD" --home "$NODE_HOME" >>"$NODE_LOG.stdout" 2>>"$NODE_LOG" </dev/null &
    NODE_PID=$!
    track_pid "$NODE_PID"
    wait_ready
}

# node_stop: SIGTERM, then waits (10 s at most, then SIGKILL); returns the node's exit
# status (0 for a clean stop).
node_stop() {
    [ -n "$NODE_PID" ] || return 0
    kill -TERM "$NODE_PID" 2>/dev/null
    _i=0
    while alive "$NODE_PID" && [ $_i -lt 100 ]; do
        sleep 0.1
        _i=$((_i + 1))
    done
    if alive "$NODE_PID"; then
        diag "node $NODE_PID ignored SIGTERM for 10 s; killing it"
        kill -9 "$NODE_PID" 2>/dev/null
    fi
    _rc=0
    wait "$NODE_PID" || _rc=$?
    untrack_pid "$NODE_PID"
    NODE_PID=""
    return $_rc
}

node_kill9() {
    [ -n "$NODE_PID" ] || return 0
    kill -9 "$NODE_PID" 2>/dev/null
    wait "$NODE_PID" 2>/dev/null
    untrack_pid "$NODE_PID"
    NODE_PID=""
    return 0
}

# net_up DIR PORT: a fresh 1-validator network in DIR with base port PORT (API PORT,
# peers PORT+1), node 0 running. Sets NET, NODE_HOME, NODE_LOG, API, ROOT_SYS,
# ROOT_SEC, ROOT_AUD and exports the CLI's environment.
net_up() {
    NET=$1
    for _p in "$2" $(($2 + 1)); do
        port_free "$_p" || bail "port $_p is in use; set the test's ports elsewhere"
    done
    "$IDL" testnet --dir "$NET" --base-port "$2" >"$T/testnet.out" 2>&1 || {
        diag_file "$T/testnet.out"
        bail "idledger testnet failed"
    }
    NODE_HOME="$NET/node0"
    NODE_LOG="$NET/node0.log"
    API="http://127.0.0.1:$2"
    ROOT_SYS="$NET/admins/sysadmin.key"
    ROOT_SEC="$NET/admins/secadmin.key"
    ROOT_AUD="$NET/admins/auditor.key"
    IDLEDGER_NODE=$API
    IDLEDGER_API_TOKEN=$(cat "$NODE_HOME/api-token")
    IDLEDGER_PASSPHRASE=$(cat "$NET/passphrase")
    export IDLEDGER_NODE IDLEDGER_API_TOKEN IDLEDGER_PASSPHRASE
    unset IDLEDGER_KEY 2>/dev/null || true
    node_start || bail "node 0 did not start"
}

# ---------------------------------------------------------------- signing

# sign KEY CMD...: `idledger CMD...` signed by KEY (a key file, or NAME for
# $T/keys/NAME.key) with a fresh basis form.
_sign_n=0
sign() {
    _sk=$1
    shift
    case $_sk in */*) ;; *) _sk="$T/keys/$_sk.key" ;; esac
    _sign_n=$((_sign_n + 1))
    "$IDL" --key "$_sk" --basis "$(form "f$_sign_n")" "$@"
}

# admins CODE PREFIX PARENT_PREFIX: the parent's sysadmin ($T/keys/PARENT_PREFIX-sysadmin.key)
# creates the three management accounts of organisation CODE, PREFIX-sysadmin,
# PREFIX-secadmin and PREFIX-auditor (keys written to $T/keys), and the parent's secadmin
# authorises them. Their people are numbered on from 1, one person each.
_admin_n=0
admins() {
    mkdir -p "$T/keys"
    for _post in sysadmin secadmin auditor; do
        _admin_n=$((_admin_n + 1))
        run "$IDL" key new --out "$T/keys/$2-$_post.key"
        [ "$RC" = 0 ] || bail "key new: $(cat "$ERR")"
        expect_exit 0 "$3-sysadmin creates $2-$_post" sign "$3-sysadmin" \
            account add --id "$2-$_post" --org "$1" --class management --post "$_post" \
            --pubkey "$(cat "$OUT")" --name 管理员 \
            --id-number "$(idnum "11010519700$((_admin_n % 9 + 1))1$((_admin_n % 9))$(printf %03d $_admin_n)")" \
            --mobile "1370000$(printf %04d $_admin_n)" --email "admin$_admin_n@example.cn"
    done
    for _post in sysadmin secadmin auditor; do
        expect_exit 0 "$3-secadmin authorises $2-$_post" sign "$3-secadmin" \
            account authorize --id "$2-$_post"
    done
}

# ---------------------------------------------------------------- cleanup

_lib_exit() {
    _rc=$?
    trap - EXIT INT TERM HUP PIPE
    for _p in $_t_pids; do
        # a tracked background loop may be running a CLI call: end that child too
        pkill -9 -P "$_p" 2>/dev/null
        kill -9 "$_p" 2>/dev/null
    done
    for _p in $_t_pids; do
        wait "$_p" 2>/dev/null
    done
    if [ -n "$_t_plan" ] && [ "$_t_n" != "$_t_plan" ]; then
        echo "# planned $_t_plan tests but ran $_t_n"
        _t_failed=$((_t_failed + 1))
    elif [ -z "$_t_plan" ]; then
        echo "1..$_t_n"
        echo "# the test ended before done_testing"
        _t_failed=$((_t_failed + 1))
    fi
    if [ "$_t_failed" != 0 ] && [ -n "${NODE_LOG:-}" ] && [ -s "$NODE_LOG" ]; then
        echo "# last lines of the node log:"
        tail -n 15 "$NODE_LOG" | sed 's/^/#   /'
    fi
    if [ "${KEEP_TMP:-0}" = 1 ]; then
        echo "# kept $T"
    else
        rm -rf "$T"
    fi
    [ "$_t_failed" = 0 ] && [ "$_rc" = 0 ] && exit 0
    [ "$_t_failed" = 0 ] || echo "# failed $_t_failed of $_t_n tests"
    exit 1
}

trap _lib_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

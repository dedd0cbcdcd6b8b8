/*
 * Commands that ask the node. With --json each prints the API's JSON object unchanged;
 * otherwise a short readable form. Exit 0 when answered (a verify that says "not allowed"
 * is an answer), 1 when the node refuses, 3 when it cannot be reached.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "ledger/file.h"

static const char *
str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static long long
num(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

/* Runs the query at path; prints JSON with --json, else calls show. */
static int
query_show(struct cli *c, const char *path, void (*show)(json_t *))
{
    json_t *reply;
    int rc = cli_query(c, path, &reply);
    if (rc)
        return rc;
    if (c->json)
        cli_print_json(reply);
    else
        show(reply);
    json_decref(reply);
    return EXIT_OK_;
}

/* Percent-encodes s for a path segment or query value. */
static void
enc(char *out, size_t n, const char *s)
{
    size_t o = 0;
    for (; *s && o + 4 < n; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            strchr("-._~", ch))
            out[o++] = (char)ch;
        else
            o += (size_t)snprintf(out + o, n - o, "%%%02X", ch);
    }
    out[o] = '\0';
}

static void
show_status(json_t *r)
{
    printf("chain %s at height %lld (node %s, %s%s)\n", str(r, "chain_id"), num(r, "height"),
           str(r, "node_id"), str(r, "role"),
           json_is_true(json_object_get(r, "catching_up")) ? ", catching up" : "");
    printf("block %s\nvalidators: %zu; pool: %lld transactions\n", str(r, "block_hash"),
           json_array_size(json_object_get(r, "validators")),
           num(json_object_get(r, "mempool"), "txs"));
}

static int
cmd_status(struct cli *c)
{
    return query_show(c, "/v1/status", show_status);
}

static void
show_account(json_t *r)
{
    printf("%s: %s account of %s", str(r, "id"), str(r, "class"), str(r, "org"));
    if (*str(r, "post"))
        printf(", %s", str(r, "post"));
    printf(", %s\n", str(r, "status"));
    json_t *p = json_object_get(r, "person");
    const char *k;
    json_t *v;
    json_object_foreach(p, k, v) printf("  %s: %s\n", k, json_string_value(v));
    size_t i;
    json_array_foreach(json_object_get(r, "grants"), i, v)
        printf("  grant: %s/%s (height %lld)\n", str(v, "system"), str(v, "role"),
               num(v, "height"));
    json_array_foreach(json_object_get(r, "legacy"), i, v)
        printf("  legacy account: %s in %s\n", str(v, "account"), str(v, "system"));
    json_array_foreach(json_object_get(r, "certs"), i, v)
        printf("  certificate: %s (%s)\n", str(v, "fingerprint"), str(v, "status"));
}

static int
cmd_account_show(struct cli *c)
{
    char path[256], id[160];
    enc(id, sizeof(id), c->args[0]);
    snprintf(path, sizeof(path), "/v1/accounts/%s", id);
    return query_show(c, path, show_account);
}

static void
show_verify(json_t *r)
{
    if (json_is_true(json_object_get(r, "allowed")))
        printf("allowed: %s may act as %s/%s (height %lld)\n", str(r, "account"),
               str(r, "system"), str(r, "role"), num(r, "height"));
    else
        printf("not allowed: %s (height %lld)\n", str(r, "reason"), num(r, "height"));
}

static int
cmd_verify(struct cli *c)
{
    const char *names[] = {"account", "system", "role", "org"};
    char path[768] = "/v1/verify?", v[160];
    for (int i = 0; i < 4; i++) {
        const char *val = cli_get(c, names[i]);
        if (!val && i < 3)
            return cli_usage(c, "--%s is required", names[i]);
        if (!val)
            continue;
        enc(v, sizeof(v), val);
        size_t n = strlen(path);
        snprintf(path + n, sizeof(path) - n, "%s%s=%s", i ? "&" : "", names[i], v);
    }
    return query_show(c, path, show_verify);
}

static void
show_org(json_t *r)
{
    printf("%s %s (%s%s%s)%s\n", str(r, "code"), str(r, "name"), str(r, "kind"),
           *str(r, "school_type") ? ", " : "", str(r, "school_type"),
           json_is_true(json_object_get(r, "delegated")) ? ", delegated to its parent" : "");
    if (json_is_string(json_object_get(r, "parent")))
        printf("  parent: %s\n", str(r, "parent"));
    json_t *a = json_object_get(r, "admins"), *v;
    const char *k;
    json_object_foreach(a, k, v) printf("  %s: %s\n", k, json_is_string(v) ? json_string_value(v) : "-");
    size_t i;
    json_array_foreach(json_object_get(r, "children"), i, v)
        printf("  child: %s %s (%s)\n", str(v, "code"), str(v, "name"), str(v, "kind"));
}

static int
cmd_org_show(struct cli *c)
{
    char path[256], code[160];
    enc(code, sizeof(code), c->args[0]);
    snprintf(path, sizeof(path), "/v1/orgs/%s", code);
    return query_show(c, path, show_org);
}

static void
show_audit(json_t *r)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r, "entries"), i, e)
    {
        char when[32];
        cli_time_text(num(e, "time"), when, sizeof(when));
        printf("%lld.%lld %s %-22s %-14s -> %-14s %s form %.16s%s%s\n", num(e, "height"),
               num(e, "index"), when, str(e, "type"), str(e, "actor"), str(e, "target"),
               str(e, "status"), json_is_string(json_object_get(e, "basis")) ? str(e, "basis") : "none",
               *str(e, "reason") ? ": " : "", str(e, "reason"));
    }
    if (json_is_string(json_object_get(r, "next")))
        printf("(more: --after %s)\n", str(r, "next"));
}

static int
cmd_audit_log(struct cli *c)
{
    const char *names[] = {"org", "actor", "since-height", "limit", "after"};
    const char *params[] = {"org", "actor", "since_height", "limit", "after"};
    if (!cli_get(c, "org") && !cli_get(c, "actor"))
        return cli_usage(c, "give --org or --actor");
    char path[768] = "/v1/audit?", v[160];
    int first = 1;
    for (int i = 0; i < 5; i++) {
        const char *val = cli_get(c, names[i]);
        if (!val)
            continue;
        enc(v, sizeof(v), val);
        size_t n = strlen(path);
        snprintf(path + n, sizeof(path) - n, "%s%s=%s", first ? "" : "&", params[i], v);
        first = 0;
    }
    return query_show(c, path, show_audit);
}

static void
show_block(json_t *r)
{
    printf("block %lld %s\n  prev %s\n  state %s\n  proposer %s\n", num(r, "height"),
           str(r, "hash"), str(r, "prev_hash"), str(r, "app_hash"), str(r, "proposer"));
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(r, "results"), i, t)
        printf("  tx %s %s%s%s\n", str(t, "txid"), str(t, "state"), *str(t, "reason") ? ": " : "",
               str(t, "reason"));
    printf("  signed by %zu validators\n",
           json_array_size(json_object_get(json_object_get(r, "commit"), "signatures")));
}

static int
cmd_block_show(struct cli *c)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/blocks/%.40s", c->args[0]);
    return query_show(c, path, show_block);
}

static void
show_tx(json_t *r)
{
    printf("tx %s: %s", str(r, "txid"), str(r, "state"));
    if (json_is_integer(json_object_get(r, "height")))
        printf(" at height %lld", num(r, "height"));
    if (*str(r, "type"))
        printf(" (%s by %s on %s)", str(r, "type"), str(r, "actor"), str(r, "target"));
    if (*str(r, "reason"))
        printf(": %s", str(r, "reason"));
    printf("\n");
}

static int
cmd_tx_show(struct cli *c)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/tx/%.64s", c->args[0]);
    return query_show(c, path, show_tx);
}

/*
 * Prints the Authorization header of a request signed by --key, for curl and scripts that
 * call the endpoints reserved to management accounts (docs/API.md, signed requests). The
 * signature binds the method, the path with its query and the body's exact bytes, and
 * holds for five minutes.
 */
static int
cmd_sign_request(struct cli *c)
{
    const char *method = c->args[0], *path = c->args[1], *file = cli_get(c, "body-file");
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        return cli_usage(c, "METHOD is GET or POST");
    if (path[0] != '/')
        return cli_usage(c, "PATH starts with / (e.g. /v1/read-audit?org=440000)");
    struct idl_bytes body = {0};
    idl_err err = file ? file_read_all(file, (size_t)16 << 20, &body) : IDL_OK;
    if (err)
        return cli_usage(c, "cannot read %s: %s", file, idl_strerror(err));
    const struct wallet_key *key;
    const char *chain;
    char auth[CLI_AUTH_MAX];
    int rc = cli_key(c, &key);
    if (!rc)
        rc = cli_chain_id(c, &chain);
    if (!rc && cli_sign_request(key, chain, method, path, body.data, body.len, auth) != IDL_OK)
        rc = cli_fail(c, EXIT_USAGE, "cannot sign the request");
    if (!rc)
        printf("%s\n", auth);
    free(body.data);
    return rc;
}

const struct cli_command cli_query_commands[] = {
    {"status", "", 0, cmd_status, "", "Shows the node's chain, height and role.\n\nexample:\n  idledger status\n"},
    {"account show", "", 1, cmd_account_show, "ID",
     "Shows an account: organisation, post, status, grants, certificates, and personal data\n"
     "masked.\n\nexample:\n  idledger account show gz-t1\n"},
    {"verify", "account=,system=,role=,org=", 0, cmd_verify,
     "--account ID --system S --role R [--org C]",
     "Asks whether an account may act in a role of a business system (and, with --org,\n"
     "whether it belongs to C or below), and why not. Exit 0 either way.\n\n"
     "example:\n  idledger verify --account gz-t1 --system teacher --role manager\n"},
    {"org show", "", 1, cmd_org_show, "CODE",
     "Shows an organisation, its management accounts and its children.\n\nexample:\n"
     "  idledger org show 440100\n"},
    {"audit log", "org=,actor=,since-height=,limit=,after=", 0, cmd_audit_log,
     "--org C [--actor ID] [--since-height H] [--limit N] [--after CURSOR]",
     "Lists the operations of C's administrators (or of one actor): who did what to whom,\n"
     "under which form, at which height, refused ones with their reason.\n\nexample:\n"
     "  idledger audit log --org 440100 --since-height 10\n"},
    {"block show", "", 1, cmd_block_show, "HEIGHT",
     "Shows a block: hashes, transactions with their outcome, commit signatures.\n\n"
     "example:\n  idledger block show 12\n"},
    {"sign-request", "body-file=", 2, cmd_sign_request, "METHOD PATH [--body-file FILE]",
     "Prints the Authorization header of a request signed by --key (no token needed), for\n"
     "calling with curl what only management accounts may: POST /v1/persons/seal and\n"
     "/v1/persons/seal-batch (a system administrator), GET /v1/read-audit (the auditor).\n"
     "It binds METHOD, PATH with its query and the exact bytes of FILE (the body), and\n"
     "holds for five minutes. The node is asked only for its chain id.\n\n"
     "example:\n"
     "  curl -H \"Authorization: $(idledger --key auditor.key sign-request GET \\\n"
     "      '/v1/read-audit?org=440000')\" http://127.0.0.1:7700/v1/read-audit?org=440000\n"},
    {"tx show", "", 1, cmd_tx_show, "TXID",
     "Shows a transaction's state: pending, committed or rejected (with the reason).\n\n"
     "example:\n  idledger tx show 3f2a...\n"},
};
const size_t cli_query_ncommands = IDL_ARRAY_LEN(cli_query_commands);

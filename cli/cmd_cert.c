/*
 * Certificate commands (DOMAIN.md §4) and the queries business systems make: the
 * lifecycle transactions, showing a certificate, checking a signature, the real-name
 * check, and the read-audit log an organisation's auditor lists.
 */
#include <ctype.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ledger/cert.h"
#include "ledger/codec.h"
#include "ledger/file.h"

static int
cert_app(struct cli *c, unsigned type)
{
    struct ledger_tx tx;
    ledger_tx_init(&tx, "", type, "");
    int rc = cli_copy(c, tx.body.cert_app.account, sizeof(tx.body.cert_app.account), "account",
                      true);
    if (!rc)
        rc = cli_copy(c, tx.body.cert_app.note, sizeof(tx.body.cert_app.note), "note", false);
    return rc ? rc : cli_submit(c, &tx);
}

static int
cmd_cert_apply(struct cli *c)
{
    return cert_app(c, TX_CERT_APPLY);
}

static int
cmd_cert_approve(struct cli *c)
{
    return cert_app(c, TX_CERT_APPROVE);
}

static int
cmd_cert_medium(struct cli *c)
{
    struct ledger_tx tx;
    ledger_tx_init(&tx, "", TX_CERT_MEDIUM, "");
    struct tx_cert_medium *b = &tx.body.cert_medium;
    int rc = cli_copy(c, b->account, sizeof(b->account), "account", true);
    if (!rc)
        rc = cli_copy(c, b->medium, sizeof(b->medium), "medium", true);
    if (!rc)
        rc = cli_copy(c, b->to, sizeof(b->to), "to", false);
    return rc ? rc : cli_submit(c, &tx);
}

static int
cmd_cert_medium_return(struct cli *c)
{
    struct ledger_tx tx;
    ledger_tx_init(&tx, "", TX_CERT_MEDIUM_RETURN, "");
    struct tx_cert_medium_return *b = &tx.body.cert_medium_return;
    int rc = cli_copy(c, b->account, sizeof(b->account), "account", true);
    if (!rc)
        rc = cli_copy(c, b->medium, sizeof(b->medium), "medium", true);
    if (!rc)
        rc = cli_copy(c, b->reason, sizeof(b->reason), "reason", true);
    return rc ? rc : cli_submit(c, &tx);
}

/* Reads a certificate file (PEM or DER) into DER. */
static int
read_cert(struct cli *c, const char *path, struct idl_bytes *der)
{
    struct idl_bytes file;
    idl_err rc = file_read_all(path, 1 << 20, &file);
    if (rc)
        return cli_usage(c, "cannot read %s: %s", path, idl_strerror(rc));
    rc = cert_to_der(file.data, file.len, der);
    free(file.data);
    if (rc)
        return cli_usage(c, "%s is not an X.509 certificate (PEM or DER)", path);
    return EXIT_OK_;
}

static int
cmd_cert_anchor(struct cli *c)
{
    struct ledger_tx tx;
    ledger_tx_init(&tx, "", TX_CERT_ANCHOR, "");
    struct tx_cert_anchor *b = &tx.body.cert_anchor;
    struct idl_bytes der = {0};
    int rc = cli_copy(c, b->account, sizeof(b->account), "account", true);
    if (!rc)
        rc = cli_copy(c, b->medium, sizeof(b->medium), "medium", false);
    if (!rc && !cli_get(c, "cert"))
        rc = cli_usage(c, "--cert FILE is required");
    if (!rc)
        rc = read_cert(c, cli_get(c, "cert"), &der);
    char why[200];
    struct cert_info ci;
    if (!rc && cert_parse(&ci, der.data, der.len, why, sizeof(why)) != IDL_OK)
        rc = cli_usage(c, "certificate: %s", why);
    else if (!rc)
        cert_info_free(&ci);
    json_t *reply = NULL;
    if (!rc) {
        /* The certificate names its holder: the node seals it before it is signed. */
        char *hex = malloc(2 * der.len + 1);
        json_t *req = NULL;
        if (hex) {
            codec_hex_encode(hex, der.data, der.len);
            req = json_pack("{s:s, s:s}", "account", b->account, "certificate", hex);
            free(hex);
        }
        rc = req ? cli_post(c, "/v1/certs/seal", req, &reply)
                 : cli_fail(c, EXIT_USAGE, "out of memory");
        json_decref(req);
    }
    free(der.data);
    const char *sealed = rc ? NULL : json_string_value(json_object_get(reply, "sealed"));
    size_t len = sealed ? strlen(sealed) / 2 : 0;
    if (!rc && (!len || codec_hex_decode(b->fingerprint, HASH_BYTES,
                                         json_string_value(json_object_get(reply,
                                                                           "fingerprint"))))) {
        rc = cli_fail(c, EXIT_REJECTED, "the node sealed the certificate badly");
    }
    if (!rc) {
        b->der.data = malloc(len);
        b->der.len = b->der.data ? len : 0;
        if (!b->der.data)
            rc = cli_fail(c, EXIT_USAGE, "out of memory");
        else if (codec_hex_decode(b->der.data, len, sealed) != IDL_OK)
            rc = cli_fail(c, EXIT_REJECTED, "the node sealed the certificate badly");
    }
    json_decref(reply);
    if (rc) {
        ledger_tx_free(&tx);
        return rc;
    }
    return cli_submit(c, &tx);
}

static int
cert_op(struct cli *c, unsigned type)
{
    struct ledger_tx tx;
    ledger_tx_init(&tx, "", type, "");
    struct tx_cert_op *b = &tx.body.cert_op;
    const char *fp = cli_get(c, "fingerprint");
    int rc = !fp ? cli_usage(c, "--fingerprint FP is required")
             : codec_hex_decode(b->fingerprint, HASH_BYTES, fp) != IDL_OK
                 ? cli_usage(c, "--fingerprint must be 64 hex digits")
                 : EXIT_OK_;
    if (!rc)
        rc = cli_copy(c, b->reason, sizeof(b->reason), "reason", true);
    return rc ? rc : cli_submit(c, &tx);
}

static int
cmd_cert_freeze(struct cli *c)
{
    return cert_op(c, TX_CERT_FREEZE);
}

static int
cmd_cert_unfreeze(struct cli *c)
{
    return cert_op(c, TX_CERT_UNFREEZE);
}

static int
cmd_cert_revoke(struct cli *c)
{
    return cert_op(c, TX_CERT_REVOKE);
}

static const char *
str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static int
cmd_cert_show(struct cli *c)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/certs/%.64s", c->args[0]);
    json_t *r;
    int rc = cli_query(c, path, &r);
    if (rc)
        return rc;
    if (c->json) {
        cli_print_json(r);
    } else {
        printf("certificate %s of %s: %s (%s key)\n  serial %s\n  issuer %s\n  subject %s\n"
               "  valid from %lld to %lld (Unix seconds)%s%s\n",
               str(r, "fingerprint"), str(r, "account"), str(r, "status"), str(r, "key"),
               str(r, "serial"), str(r, "issuer"), str(r, "subject"),
               (long long)json_integer_value(json_object_get(r, "not_before")),
               (long long)json_integer_value(json_object_get(r, "not_after")),
               *str(r, "medium") ? "\n  medium " : "", str(r, "medium"));
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(r, "history"), i, e)
            printf("  %lld %-8s by %s%s%s\n",
                   (long long)json_integer_value(json_object_get(e, "time")), str(e, "status"),
                   str(e, "actor"), *str(e, "reason") ? ": " : "", str(e, "reason"));
    }
    json_decref(r);
    return EXIT_OK_;
}

/* The distribution record, one line a handover or return. */
static void
print_records(json_t *records)
{
    size_t i;
    json_t *e;
    if (json_array_size(records))
        printf("  distribution record (派发记录):\n");
    json_array_foreach(records, i, e) {
        bool back = !strcmp(str(e, "kind"), "return");
        printf("    %lld. %lld medium %s %s %s (%s) %s %s (%s, %s, %s)%s%s\n",
               (long long)json_integer_value(json_object_get(e, "number")),
               (long long)json_integer_value(json_object_get(e, "time")), str(e, "medium"),
               back ? "returned to" : "from", str(e, "handed_by"), str(e, "handed_by_org"),
               back ? "by" : "to", str(e, "account"), str(e, "org"), str(e, "name"),
               str(e, "mobile"), *str(e, "note") ? ": " : "", str(e, "note"));
    }
}

static int
cmd_cert_application(struct cli *c)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/certs/applications/%.64s", c->args[0]);
    json_t *r;
    int rc = cli_query(c, path, &r);
    if (rc)
        return rc;
    if (c->json) {
        cli_print_json(r);
        json_decref(r);
        return EXIT_OK_;
    }
    printf("certificate application of %s (%s): %s", str(r, "account"), str(r, "org"),
           str(r, "status"));
    if (json_integer_value(json_object_get(r, "applied_height")))
        printf(", applied at height %lld",
               (long long)json_integer_value(json_object_get(r, "applied_height")));
    printf("\n");
    if (*str(r, "note"))
        printf("  note: %s\n", str(r, "note"));
    size_t i;
    json_t *v;
    json_t *approvals = json_object_get(r, "approvals");
    if (json_array_size(approvals)) {
        printf("  approved by:");
        json_array_foreach(approvals, i, v)
            printf(" %s", json_string_value(v));
        printf("\n");
    }
    if (*str(r, "awaiting"))
        printf("  awaiting the approval of %s\n", str(r, "awaiting"));
    if (*str(r, "medium"))
        printf("  medium %s, received at %lld\n", str(r, "medium"),
               (long long)json_integer_value(json_object_get(r, "medium_time")));
    print_records(json_object_get(r, "records"));
    json_decref(r);
    return EXIT_OK_;
}

static char *
b64_file(struct cli *c, const char *opt, int *rc)
{
    const char *path = cli_get(c, opt);
    struct idl_bytes f;
    if (!path) {
        *rc = cli_usage(c, "--%s FILE is required", opt);
        return NULL;
    }
    if (file_read_all(path, 1 << 20, &f) != IDL_OK) {
        *rc = cli_usage(c, "cannot read %s", path);
        return NULL;
    }
    size_t n = sodium_base64_ENCODED_LEN(f.len, sodium_base64_VARIANT_ORIGINAL);
    char *out = malloc(n);
    if (out)
        sodium_bin2base64(out, n, f.data, f.len, sodium_base64_VARIANT_ORIGINAL);
    else
        *rc = cli_fail(c, EXIT_USAGE, "out of memory");
    free(f.data);
    return out;
}

static int
cmd_cert_verify_signature(struct cli *c)
{
    int rc = EXIT_OK_;
    const char *fp = cli_get(c, "fingerprint"), *at = cli_get(c, "at");
    if (!fp)
        return cli_usage(c, "--fingerprint FP is required");
    char *end = NULL;
    long long at_s = at ? strtoll(at, &end, 10) : 0;
    if (at && (!isdigit((unsigned char)at[0]) || *end || at_s == LLONG_MAX))
        return cli_usage(c, "--at takes seconds since 1970 (digits only)");
    char *msg = b64_file(c, "message", &rc);
    char *sig = msg ? b64_file(c, "signature", &rc) : NULL;
    json_t *req = NULL, *reply = NULL;
    if (!rc) {
        req = json_pack("{s:s, s:s, s:s}", "fingerprint", fp, "message_b64", msg,
                        "signature_b64", sig);
        if (at)
            json_object_set_new(req, "at", json_integer(at_s));
        rc = cli_post(c, "/v1/certs/verify-signature", req, &reply);
    }
    free(msg);
    free(sig);
    json_decref(req);
    if (rc)
        return rc;
    if (c->json)
        cli_print_json(reply);
    else if (json_is_true(json_object_get(reply, "valid")))
        printf("valid: signed by %s\n", str(reply, "account"));
    else
        printf("not valid: %s\n", str(reply, "reason"));
    json_decref(reply);
    return EXIT_OK_;
}

static int
cmd_realname(struct cli *c)
{
    const char *number = cli_get(c, "id-number"), *name = cli_get(c, "name");
    if (!number || !name)
        return cli_usage(c, "--id-number and --name are required");
    json_t *req = json_pack("{s:s, s:s}", "id_number", number, "name", name), *reply;
    if (cli_get(c, "doc-type"))
        json_object_set_new(req, "doc_type", json_string(cli_get(c, "doc-type")));
    int rc = cli_post(c, "/v1/realname/check", req, &reply);
    json_decref(req);
    if (rc)
        return rc;
    if (c->json) {
        cli_print_json(reply);
    } else if (json_is_true(json_object_get(reply, "registered"))) {
        printf("registered; accounts:");
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(reply, "accounts"), i, v)
            printf(" %s", json_string_value(v));
        printf("\n");
    } else {
        printf("not registered under this name\n");
    }
    json_decref(reply);
    return EXIT_OK_;
}

static int
cmd_read_audit(struct cli *c)
{
    const char *org = cli_get(c, "org"), *since = cli_get(c, "since"),
               *limit = cli_get(c, "limit");
    if (!org)
        return cli_usage(c, "--org C is required");
    if ((since && (!*since || strspn(since, "0123456789") != strlen(since) || strlen(since) > 19)) ||
        (limit && (!*limit || strspn(limit, "0123456789") != strlen(limit) || strlen(limit) > 4)))
        return cli_usage(c, "--since is Unix milliseconds and --limit a number (1 to 1000)");
    char path[256];
    snprintf(path, sizeof(path), "/v1/read-audit?org=%.32s%s%s%s%s", org, since ? "&since=" : "",
             since ? since : "", limit ? "&limit=" : "", limit ? limit : "");
    json_t *reply;
    int rc = cli_signed_query(c, path, &reply);
    if (rc)
        return rc;
    if (c->json) {
        cli_print_json(reply);
    } else {
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(reply, "reads"), i, e)
        {
            char when[32];
            cli_time_text((long long)json_integer_value(json_object_get(e, "time")), when,
                          sizeof(when));
            printf("%s %-16s %-34s %s\n", when, str(e, "client"), str(e, "endpoint"),
                   str(e, "account"));
        }
    }
    json_decref(reply);
    return EXIT_OK_;
}

const struct cli_command cli_cert_commands[] = {
    {"cert apply", "account=,note=", 0, cmd_cert_apply, "--account ID [--note TEXT]",
     "Applies for an education CA certificate for an account (the real-name form's 申请数字\n"
     "证书). Signed by the sysadmin who manages the account.\n\nexample:\n"
     "  idledger cert apply --account gz-t1 --basis form.pdf\n"},
    {"cert approve", "account=", 0, cmd_cert_approve, "--account ID",
     "Approves the application at the next level (逐级审核): the secadmin of the account's\n"
     "organisation's parent first, then each level above; the province's approval completes\n"
     "it.\n\nexample:\n  idledger cert approve --account gz-t1\n"},
    {"cert medium", "account=,medium=,to=", 0, cmd_cert_medium,
     "--account ID --medium SERIAL [--to RECEIVER]",
     "Records one handover of USB key medium SERIAL on its way to the applicant ID, a line\n"
     "of the distribution record (电子证书派发记录单). Media go down level by level: the\n"
     "sysadmin of the unit holding the medium (or, for a medium new to the ledger, of any\n"
     "unit on the way from the province to the applicant) hands it to RECEIVER, a management\n"
     "account of the next unit down; without --to (or with --to ID) it goes to the applicant\n"
     "itself, by the sysadmin who manages the applicant. The application must be approved.\n\n"
     "examples:\n"
     "  idledger --key root-sys.key cert medium --account gz-t1 --medium UK2026000123 \\\n"
     "      --to gz-sec\n"
     "  idledger --key gz-sys.key cert medium --account gz-t1 --medium UK2026000123\n"},
    {"cert medium-return", "account=,medium=,reason=", 0, cmd_cert_medium_return,
     "--account ID --medium SERIAL --reason TEXT",
     "Records that the holder ID handed medium SERIAL back (介质上交) to the sysadmin who\n"
     "manages it: an unused (e.g. faulty) key, or one whose certificate is revoked. The\n"
     "medium may then be handed to another applicant.\n\nexample:\n"
     "  idledger cert medium-return --account gz-t1 --medium UK2026000123 --reason 调离\n"},
    {"cert application", "", 1, cmd_cert_application, "ACCOUNT",
     "Shows the account's certificate application: its status, the levels that approved\n"
     "it and the one it awaits, the medium its holder received, and the distribution record\n"
     "of the media handed down for it (names and mobiles masked).\n\nexample:\n"
     "  idledger cert application gz-t1\n"},
    {"cert anchor", "account=,cert=,medium=", 0, cmd_cert_anchor,
     "--account ID --cert FILE [--medium SERIAL]",
     "Anchors a certificate (PEM or DER; RSA, ECDSA or SM2) to an account with an approved\n"
     "application, on the medium handed to it (cert medium); --medium SERIAL names it, or,\n"
     "for a medium new to the ledger, records its handover to the holder in the same step.\n"
     "The node seals the certificate (it names its holder); the ledger keeps its fingerprint,\n"
     "serial, issuer, validity and public key.\n"
     "A certificate whose issuer and serial, or public key, were ever anchored is refused.\n"
     "Signed by the sysadmin who manages the account.\n\n"
     "example:\n  idledger cert anchor --account gz-t1 --cert wangfang.pem --medium UK2026000123\n"},
    {"cert freeze", "fingerprint=,reason=", 0, cmd_cert_freeze, "--fingerprint FP --reason TEXT",
     "Freezes a certificate (冻结). The reason is kept in the certificate's history, in the\n"
     "clear: it may not hold a run of 11 or more digits (an ID or mobile number).\n\n"
     "example:\n"
     "  idledger cert freeze --fingerprint 3f2a... --reason 介质上交\n"},
    {"cert unfreeze", "fingerprint=,reason=", 0, cmd_cert_unfreeze,
     "--fingerprint FP --reason TEXT",
     "Unfreezes a frozen certificate; the reason is kept in its history.\n\nexample:\n"
     "  idledger cert unfreeze --fingerprint 3f2a... --reason 返岗\n"},
    {"cert revoke", "fingerprint=,reason=", 0, cmd_cert_revoke, "--fingerprint FP --reason TEXT",
     "Revokes a certificate (吊销). Final. The reason is kept in its history.\n\nexample:\n"
     "  idledger cert revoke --fingerprint 3f2a... --reason 调离\n"},
    {"cert show", "", 1, cmd_cert_show, "FINGERPRINT",
     "Shows an anchored certificate (subject masked) and its history: each status change,\n"
     "who made it and why.\n\nexample:\n  idledger cert show 3f2a...\n"},
    {"cert verify-signature", "fingerprint=,message=,signature=,at=", 0,
     cmd_cert_verify_signature,
     "--fingerprint FP --message FILE --signature FILE [--at UNIX_SECONDS]",
     "Asks the node whether SIGNATURE (DER, as openssl dgst -sign writes) over MESSAGE was\n"
     "made with the anchored certificate's key, and whether the certificate and its account\n"
     "were valid at that time.\n\nexample:\n"
     "  idledger cert verify-signature --fingerprint 3f2a... --message export.csv \\\n"
     "      --signature export.sig\n"},
    {"realname check", "id-number=,name=,doc-type=", 0, cmd_realname,
     "--id-number X --name N [--doc-type T]",
     "Is this person registered under this name, and with which accounts (no personal data\n"
     "comes back).\n\nexample:\n  idledger realname check --id-number 440106199003071231 --name 王芳\n"},
    {"read-audit", "org=,since=,limit=", 0, cmd_read_audit,
     "--org C [--since UNIX_MS] [--limit N]",
     "Lists which business systems asked this node about C's accounts, and when, oldest\n"
     "first from --since, at most --limit (default 100, at most 1000). For C's auditor:\n"
     "the request is signed with --key.\n\nexample:\n"
     "  idledger --key gz-aud.key read-audit --org 440100 --limit 1000\n"},
};
const size_t cli_cert_ncommands = IDL_ARRAY_LEN(cli_cert_commands);

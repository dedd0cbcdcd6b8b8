/*
 * Certificate commands (DOMAIN.md §4) and the queries business systems make: the
 * lifecycle transactions, showing a certificate, checking a signature, the real-name
 * check, and the read-audit log an organisation's auditor lists.
 */
#include <sodium.h>
#include <stdio.h>
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
        codec_hex_encode(hex, der.data, der.len);
        json_t *req = json_pack("{s:s, s:s}", "account", b->account, "certificate", hex);
        free(hex);
        rc = cli_post(c, "/v1/certs/seal", req, &reply);
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
        b->der.len = len;
        if (codec_hex_decode(b->der.data, len, sealed) != IDL_OK)
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
    }
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
    free(f.data);
    return out;
}

static int
cmd_cert_verify_signature(struct cli *c)
{
    int rc = EXIT_OK_;
    const char *fp = cli_get(c, "fingerprint");
    if (!fp)
        return cli_usage(c, "--fingerprint FP is required");
    char *msg = b64_file(c, "message", &rc);
    char *sig = msg ? b64_file(c, "signature", &rc) : NULL;
    json_t *req = NULL, *reply = NULL;
    if (!rc) {
        req = json_pack("{s:s, s:s, s:s}", "fingerprint", fp, "message_b64", msg,
                        "signature_b64", sig);
        const char *at = cli_get(c, "at");
        if (at)
            json_object_set_new(req, "at", json_integer(strtoll(at, NULL, 10)));
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
            printf("%lld %-16s %-34s %s\n",
                   (long long)json_integer_value(json_object_get(e, "time")), str(e, "client"),
                   str(e, "endpoint"), str(e, "account"));
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
    {"cert medium", "account=,medium=", 0, cmd_cert_medium, "--account ID --medium SERIAL",
     "Records that USB key medium SERIAL was handed to the account's holder (派发记录).\n\n"
     "example:\n  idledger cert medium --account gz-t1 --medium UK2026000123\n"},
    {"cert anchor", "account=,cert=,medium=", 0, cmd_cert_anchor,
     "--account ID --cert FILE [--medium SERIAL]",
     "Anchors a certificate (PEM or DER; RSA, ECDSA or SM2) to an account with an approved\n"
     "application. The node seals it (it names its holder); the ledger keeps its fingerprint,\n"
     "serial, issuer, validity and public key. Signed by the sysadmin who manages the account.\n\n"
     "example:\n  idledger cert anchor --account gz-t1 --cert wangfang.pem --medium UK2026000123\n"},
    {"cert freeze", "fingerprint=,reason=", 0, cmd_cert_freeze, "--fingerprint FP --reason TEXT",
     "Freezes a certificate (冻结).\n\nexample:\n"
     "  idledger cert freeze --fingerprint 3f2a... --reason 介质上交\n"},
    {"cert unfreeze", "fingerprint=,reason=", 0, cmd_cert_unfreeze,
     "--fingerprint FP --reason TEXT", "Unfreezes a frozen certificate.\n\nexample:\n"
     "  idledger cert unfreeze --fingerprint 3f2a... --reason 返岗\n"},
    {"cert revoke", "fingerprint=,reason=", 0, cmd_cert_revoke, "--fingerprint FP --reason TEXT",
     "Revokes a certificate (吊销). Final.\n\nexample:\n"
     "  idledger cert revoke --fingerprint 3f2a... --reason 调离\n"},
    {"cert show", "", 1, cmd_cert_show, "FINGERPRINT",
     "Shows an anchored certificate (subject masked).\n\nexample:\n  idledger cert show 3f2a...\n"},
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

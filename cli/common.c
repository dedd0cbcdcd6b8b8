/*
 * Helpers shared by the commands: option access, messages, passphrases and keys, and the
 * life of a transaction from signing to its outcome.
 */
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "ledger/codec.h"
#include "ledger/file.h"
#include "ledger/ledger.h"

const char *
cli_get(const struct cli *c, const char *name)
{
    for (int i = 0; i < c->nopts; i++)
        if (strcmp(c->opts[i].name, name) == 0)
            return c->opts[i].value;
    return NULL;
}

int
cli_usage(const struct cli *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "idledger: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (c->cmd)
        fprintf(stderr, "\nusage: idledger %s %s\n(see idledger %s --help)\n", c->cmd->words,
                c->cmd->usage, c->cmd->words);
    else
        fprintf(stderr, "\n(see idledger --help)\n");
    return EXIT_USAGE;
}

int
cli_fail(const struct cli *c, int code, const char *fmt, ...)
{
    (void)c;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "idledger: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return code;
}

int
cli_copy(const struct cli *c, char *dst, size_t cap, const char *opt, bool required)
{
    const char *v = cli_get(c, opt);
    if (!v) {
        dst[0] = '\0';
        return required ? cli_usage(c, "--%s is required", opt) : EXIT_OK_;
    }
    if (required && !v[strspn(v, " ")])
        return cli_usage(c, "--%s must not be empty", opt);
    if (strlen(v) >= cap)
        return cli_usage(c, "--%s is too long (at most %zu bytes)", opt, cap - 1);
    snprintf(dst, cap, "%s", v);
    return EXIT_OK_;
}

void
cli_print_json(json_t *v)
{
    char *text = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text)
        printf("%s\n", text);
    free(text);
}

void
cli_print_json_new(json_t *v)
{
    if (v)
        cli_print_json(v);
    json_decref(v);
}

void
cli_time_text(long long ms, char *out, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm) || !strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm))
        snprintf(out, n, "%lld", ms);
}

/* The node's error message from an error reply, or a generic one. */
static const char *
error_message(json_t *reply)
{
    const char *m = json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
    return m ? m : "the node refused the request";
}

/* The exit code of an answer that is not a success: a node that cannot serve now (5xx)
 * is as good as unreachable; a refused credential is the caller's usage error. */
static int
status_exit(int status)
{
    return status == 0 || status >= 500 ? EXIT_UNREACHABLE
           : status == 401              ? EXIT_USAGE
                                        : EXIT_REJECTED;
}

/* Handles a reply: 200 with a body is EXIT_OK_ with *reply kept; anything else is printed
 * (the node's JSON too with --json) and its exit code returned. hint follows a 401. */
static int
outcome(struct cli *c, int status, const char *why, json_t **reply, const char *hint)
{
    if (status == 0)
        return cli_fail(c, EXIT_UNREACHABLE, "%s", why);
    if (status == 200 && *reply)
        return EXIT_OK_;
    int code = status_exit(status);
    if (c->json && *reply)
        cli_print_json(*reply);
    cli_fail(c, code, "%s%s", error_message(*reply), status == 401 ? hint : "");
    json_decref(*reply);
    *reply = NULL;
    return code;
}

#define TOKEN_HINT " (give --api-token-file or set IDLEDGER_API_TOKEN)"

int
cli_query(struct cli *c, const char *path, json_t **reply)
{
    char why[512];
    int status = cli_http(c, "GET", path, NULL, reply, why, sizeof(why));
    return outcome(c, status, why, reply, TOKEN_HINT);
}

int
cli_post(struct cli *c, const char *path, json_t *body, json_t **reply)
{
    char why[512];
    int status = cli_http(c, "POST", path, body, reply, why, sizeof(why));
    return outcome(c, status, why, reply, TOKEN_HINT);
}

idl_err
cli_sign_request(const struct wallet_key *key, const char *chain_id, const char *method,
                 const char *path, const void *body, size_t body_len, char auth[CLI_AUTH_MAX])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    uint8_t msg[HASH_BYTES], sig[SIG_BYTES];
    char pkhex[2 * SIG_PUBKEY_BYTES + 1], sighex[2 * SIG_BYTES + 1];
    auth[0] = '\0';
    api_request_sighash_body(msg, chain_id, method, path, ms, body, body_len);
    idl_err rc = sig_sign(sig, msg, key->sk);
    if (rc)
        return rc;
    codec_hex_encode(pkhex, key->pk, SIG_PUBKEY_BYTES);
    codec_hex_encode(sighex, sig, SIG_BYTES);
    int n = snprintf(auth, CLI_AUTH_MAX, "IDL-Sig key=%s,time=%llu,sig=%s", pkhex,
                     (unsigned long long)ms, sighex);
    IDL_ASSERT(n > 0 && n < CLI_AUTH_MAX);
    return IDL_OK;
}

int
cli_key(struct cli *c, const struct wallet_key **key)
{
    int rc = c->key ? EXIT_OK_ : cli_load_key(c, &c->key);
    *key = c->key;
    return rc;
}

int
cli_chain_id(struct cli *c, const char **chain_id)
{
    *chain_id = c->chain_id;
    if (c->chain_id[0])
        return EXIT_OK_;
    json_t *status;
    int rc = cli_query(c, "/v1/status", &status);
    if (rc)
        return rc;
    const char *id = json_string_value(json_object_get(status, "chain_id"));
    if (!id || strlen(id) > LEDGER_CHAIN_ID_MAX)
        rc = cli_fail(c, EXIT_UNREACHABLE, "the node's /v1/status names no chain");
    else
        snprintf(c->chain_id, sizeof(c->chain_id), "%s", id);
    json_decref(status);
    return rc;
}

/* A request signed by --key; body NULL for none. Needs no token: the signature is the
 * credential, and the node looks the signer up by its public key. */
static int
signed_call(struct cli *c, const char *method, const char *path, json_t *body, json_t **reply)
{
    *reply = NULL;
    const struct wallet_key *key;
    const char *chain;
    int rc = cli_key(c, &key);
    if (!rc)
        rc = cli_chain_id(c, &chain);
    if (rc)
        return rc;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (body && !text)
        return cli_fail(c, EXIT_USAGE, "out of memory");
    char auth[CLI_AUTH_MAX], why[512];
    if (cli_sign_request(key, chain, method, path, text, text ? strlen(text) : 0, auth) !=
        IDL_OK) {
        free(text);
        return cli_fail(c, EXIT_USAGE, "cannot sign the request");
    }
    int status = cli_http_auth(c, method, path, text, auth, reply, why, sizeof(why));
    free(text);
    return outcome(c, status, why, reply, " (the request was not signed by an active "
                                           "management account: check --key)");
}

int
cli_signed_query(struct cli *c, const char *path, json_t **reply)
{
    return signed_call(c, "GET", path, NULL, reply);
}

int
cli_signed_post(struct cli *c, const char *path, json_t *body, json_t **reply)
{
    return signed_call(c, "POST", path, body, reply);
}

int
cli_passphrase(struct cli *c, char *buf, size_t n, const char *prompt)
{
    char why[PATH_MAX + 128];
    idl_err rc = wallet_passphrase_read(c->passphrase_file, "IDLEDGER_PASSPHRASE", prompt, buf, n,
                                        why, sizeof(why));
    if (rc == IDL_ERR_NOT_FOUND && !why[0])
        return cli_usage(c, "no passphrase: give --passphrase-file or set IDLEDGER_PASSPHRASE");
    return rc ? cli_usage(c, "%s", why) : EXIT_OK_;
}

int
cli_load_key(struct cli *c, struct wallet_key **key)
{
    *key = NULL;
    if (!c->key_path)
        return cli_usage(c, "this command signs: give --key FILE or set IDLEDGER_KEY");
    char *pass = sodium_malloc(WALLET_PASSPHRASE_MAX);
    if (!pass)
        return cli_fail(c, EXIT_USAGE, "out of memory");
    char prompt[4200];
    snprintf(prompt, sizeof(prompt), "passphrase for %s: ", c->key_path);
    int rc = cli_passphrase(c, pass, WALLET_PASSPHRASE_MAX, prompt);
    char why[512];
    if (rc == EXIT_OK_ &&
        wallet_key_load(key, c->key_path, pass, strlen(pass), why, sizeof(why)) != IDL_OK)
        rc = cli_fail(c, EXIT_USAGE, "%s", why);
    sodium_free(pass);
    return rc;
}

/* The account that signs with pk, unless --as names it. */
static int
find_actor(struct cli *c, const uint8_t pk[SIG_PUBKEY_BYTES], char actor[LEDGER_ID_MAX + 1])
{
    if (c->as) {
        snprintf(actor, LEDGER_ID_MAX + 1, "%s", c->as);
        return EXIT_OK_;
    }
    char path[128], hex[2 * SIG_PUBKEY_BYTES + 1];
    codec_hex_encode(hex, pk, SIG_PUBKEY_BYTES);
    snprintf(path, sizeof(path), "/v1/keys/%s", hex);
    json_t *reply;
    int rc = cli_query(c, path, &reply);
    if (rc)
        return rc;
    const char *id = json_string_value(json_object_get(reply, "account"));
    snprintf(actor, LEDGER_ID_MAX + 1, "%s", id ? id : "");
    json_decref(reply);
    return EXIT_OK_;
}

int
cli_tx_prepare(struct cli *c, struct ledger_tx *tx, const uint8_t pk[SIG_PUBKEY_BYTES])
{
    json_t *status, *nonce;
    int rc = cli_query(c, "/v1/status", &status);
    if (rc)
        return rc;
    snprintf(tx->chain_id, sizeof(tx->chain_id), "%s",
             json_string_value(json_object_get(status, "chain_id")));
    json_decref(status);
    rc = find_actor(c, pk, tx->actor);
    if (rc)
        return rc;
    char path[160];
    snprintf(path, sizeof(path), "/v1/accounts/%s/nonce", tx->actor);
    if ((rc = cli_query(c, path, &nonce)) != EXIT_OK_)
        return rc;
    tx->nonce = (uint64_t)json_integer_value(json_object_get(nonce, "next_nonce"));
    json_decref(nonce);
    tx->time = (uint64_t)time(NULL);
    if (c->basis_path) {
        struct idl_bytes form;
        idl_err frc = file_read_all(c->basis_path, (size_t)1 << 30, &form);
        if (frc)
            return cli_usage(c, "cannot read the form %s: %s", c->basis_path, idl_strerror(frc));
        if (!form.len) {
            free(form.data);
            return cli_usage(c, "the form %s is empty: give the scan of the signed form",
                             c->basis_path);
        }
        hash_sha256(tx->basis, form.data, form.len);
        free(form.data);
    }
    return EXIT_OK_;
}

static void
sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Polls the transaction until it is committed or rejected, or the timeout passes. */
static int
wait_outcome(struct cli *c, const char *txid, json_t **outcome)
{
    char path[128], why[512];
    snprintf(path, sizeof(path), "/v1/tx/%s", txid);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned delay = 10;
    for (;;) {
        json_t *reply = NULL;
        int status = cli_http(c, "GET", path, NULL, &reply, why, sizeof(why));
        if (status == 0)
            return cli_fail(c, EXIT_UNREACHABLE, "%s", why);
        const char *state = json_string_value(json_object_get(reply, "state"));
        if (status == 200 && state && strcmp(state, "pending") != 0) {
            *outcome = reply;
            return EXIT_OK_;
        }
        json_decref(reply);
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((unsigned)(t.tv_sec - t0.tv_sec) >= c->timeout_s)
            return cli_fail(c, EXIT_UNREACHABLE,
                            "no commit within %u s; transaction %s may still commit", c->timeout_s,
                            txid);
        sleep_ms(delay);
        delay = delay < 200 ? delay * 2 : 200;
    }
}

static int
report(struct cli *c, json_t *outcome)
{
    const char *state = json_string_value(json_object_get(outcome, "state"));
    int rejected = state && strcmp(state, "rejected") == 0;
    if (c->json) {
        cli_print_json(outcome);
    } else if (!rejected) {
        printf("committed: %s %s at height %lld (tx %s)\n",
               json_string_value(json_object_get(outcome, "type")),
               json_string_value(json_object_get(outcome, "target")),
               (long long)json_integer_value(json_object_get(outcome, "height")),
               json_string_value(json_object_get(outcome, "txid")));
    }
    if (rejected)
        fprintf(stderr, "idledger: rejected: %s\n",
                json_string_value(json_object_get(outcome, "reason")));
    return rejected ? EXIT_REJECTED : EXIT_OK_;
}

int
cli_submit(struct cli *c, struct ledger_tx *tx)
{
    const struct wallet_key *key;
    int rc = cli_key(c, &key);
    if (!rc)
        rc = cli_tx_prepare(c, tx, key->pk);
    char why[LEDGER_WHY_MAX];
    if (!rc && ledger_tx_check(tx, why, sizeof(why)) != IDL_OK)
        rc = cli_usage(c, "%s", why);
    if (!rc && ledger_tx_sign(tx, key->sk) != IDL_OK)
        rc = cli_fail(c, EXIT_USAGE, "cannot sign the transaction");
    struct idl_bytes raw = {0};
    if (!rc && ledger_tx_encode(tx, &raw) != IDL_OK)
        rc = cli_fail(c, EXIT_USAGE, "the transaction is too large");
    ledger_tx_free(tx);
    if (rc)
        return rc;

    char *hex = malloc(2 * raw.len + 1);
    codec_hex_encode(hex, raw.data, raw.len);
    free(raw.data);
    json_t *body = json_pack("{s:s}", "tx", hex), *reply = NULL;
    free(hex);
    int status = cli_http(c, "POST", "/v1/tx", body, &reply, why, sizeof(why));
    json_decref(body);
    if (status == 0)
        return cli_fail(c, EXIT_UNREACHABLE, "%s", why);
    if (status != 202) {
        /* A node that cannot take it now (pool full, not ready: 5xx) has not judged it. */
        if (c->json && reply)
            cli_print_json(reply);
        rc = status >= 500 ? cli_fail(c, EXIT_UNREACHABLE, "the node cannot take it now: %s",
                                      error_message(reply))
                           : cli_fail(c, EXIT_REJECTED, "refused: %s", error_message(reply));
        json_decref(reply);
        return rc;
    }
    char txid[HASH_HEX_BYTES];
    snprintf(txid, sizeof(txid), "%s", json_string_value(json_object_get(reply, "txid")));
    if (c->no_wait) {
        if (c->json)
            cli_print_json(reply); /* the node's answer, as every --json prints */
        else
            printf("accepted: tx %s\n", txid);
        json_decref(reply);
        return EXIT_OK_;
    }
    json_decref(reply);
    json_t *outcome = NULL;
    if ((rc = wait_outcome(c, txid, &outcome)) != EXIT_OK_)
        return rc;
    rc = report(c, outcome);
    json_decref(outcome);
    return rc;
}

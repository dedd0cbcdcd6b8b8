/*
 * The idledger command: shared state of one invocation and the helpers every command uses.
 *
 * Exit codes (CONTRACT.md): 0 committed or answered, 1 rejected by the ledger (reason on
 * stderr, one line), 2 usage error, 3 node unreachable or no commit within --timeout.
 * Commands return one of these; nothing calls exit() below main.
 */
#ifndef IDL_CLI_H
#define IDL_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/tx.h"
#include "wallet/key.h"

enum cli_exit { EXIT_OK_ = 0, EXIT_REJECTED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

#define CLI_OPTS_MAX 24

/* An option as parsed: --name value (value "1" for a flag). */
struct cli_opt {
    const char *name;
    const char *value;
};

struct cli {
    /* Global options. */
    const char *node;            /* base URL, e.g. http://127.0.0.1:7700 */
    const char *key_path;
    const char *passphrase_file;
    const char *api_token_file;
    const char *as;              /* actor id; default: the account of the key's pubkey */
    const char *basis_path;
    bool json;
    bool no_wait;
    unsigned timeout_s;
    /* Command options and positional arguments. */
    struct cli_opt opts[CLI_OPTS_MAX];
    int nopts;
    const char *args[8];
    int nargs;
    const struct cli_command *cmd;
    char token[128];
    /* Loaded once per invocation (cli_key, cli_chain_id). */
    struct wallet_key *key;
    char chain_id[LEDGER_CHAIN_ID_MAX + 1];
};

struct cli_command {
    const char *words;   /* "org add" */
    const char *options; /* accepted options: "code=,name=,kind=,parent=,school-type=" ('=' takes a value) */
    int nargs;           /* positional arguments */
    int (*fn)(struct cli *c);
    const char *usage;   /* one line of synopsis after the words */
    const char *help;    /* description and examples */
};

/* The command tables of cmd_tx.c, cmd_query.c and cmd_misc.c. */
extern const struct cli_command cli_tx_commands[], cli_query_commands[], cli_misc_commands[],
    cli_cert_commands[], cli_report_commands[], cli_import_commands[];
extern const size_t cli_tx_ncommands, cli_query_ncommands, cli_misc_ncommands,
    cli_cert_ncommands, cli_report_ncommands, cli_import_ncommands;

/* The value of a command option, or NULL. */
const char *cli_get(const struct cli *c, const char *name);
/* Prints "idledger: <message>" and the command's synopsis to stderr; returns EXIT_USAGE. */
__attribute__((format(printf, 2, 3))) int cli_usage(const struct cli *c, const char *fmt, ...);
/* Prints "idledger: <message>" to stderr and returns code. */
__attribute__((format(printf, 3, 4))) int cli_fail(const struct cli *c, int code,
                                                   const char *fmt, ...);

/*
 * Calls the node: method on path (e.g. "/v1/status"), with body (may be NULL; not
 * consumed). *reply receives the parsed JSON (or NULL); returns the HTTP status, or 0 if the
 * node could not be reached (reason in why).
 */
int cli_http(struct cli *c, const char *method, const char *path, json_t *body, json_t **reply,
             char *why, size_t why_len);

/* The same with an explicit Authorization header and the exact bytes of the body (text: a
 * NUL-terminated JSON text, or NULL for none). */
int cli_http_auth(struct cli *c, const char *method, const char *path, const char *text,
                  const char *auth, json_t **reply, char *why, size_t why_len);

/* Prints a JSON value (pretty) to stdout. */
void cli_print_json(json_t *v);
/* The same, then drops v (a new reference; NULL prints nothing). */
void cli_print_json_new(json_t *v);

/* Unix milliseconds as local "YYYY-MM-DD HH:MM:SS" in out (at least 20 bytes). */
void cli_time_text(long long ms, char *out, size_t n);

/*
 * Runs an API query and handles the common outcomes: on 200 *reply is set and EXIT_OK_
 * returned; otherwise the error is printed and the exit code returned (3 unreachable or
 * unavailable (5xx), 2 for 401, 1 for another 4xx, with the node's message).
 */
int cli_query(struct cli *c, const char *path, json_t **reply);

/*
 * Signs and submits tx (its type and body filled in; chain, actor, nonce, time and basis
 * are filled here), waits for the outcome unless --no-wait, prints it, and returns the exit
 * code. Frees tx.
 */
int cli_submit(struct cli *c, struct ledger_tx *tx);

/*
 * Fills the envelope of an unsigned tx for the --key's account (public key pk): chain id
 * (GET /v1/status), actor (--as, or GET /v1/keys), next nonce (GET
 * /v1/accounts/{actor}/nonce, which counts the actor's pooled transactions), time, and the
 * --basis form's hash. Returns EXIT_OK_ or an exit code (message printed).
 */
int cli_tx_prepare(struct cli *c, struct ledger_tx *tx, const uint8_t pk[SIG_PUBKEY_BYTES]);

/*
 * A request signed by the --key's account, handled like cli_query: management accounts
 * authenticate what business-system tokens may not do, such as reading the read-audit log
 * or sealing personal data. No token is needed. cli_signed_query GETs path;
 * cli_signed_post POSTs body (not consumed).
 */
int cli_signed_query(struct cli *c, const char *path, json_t **reply);
int cli_signed_post(struct cli *c, const char *path, json_t *body, json_t **reply);

/* The longest Authorization header cli_sign_request writes, with its NUL. */
#define CLI_AUTH_MAX 256

/*
 * Writes into auth the Authorization header of a request signed by key (docs/API.md,
 * "Signed requests": IDL-Sig key=PUBKEY,time=UNIX_MS,sig=HEX) for method, path (with its
 * query) and the exact bytes of the body (body_len 0 for none). Returns IDL_OK, or the
 * signing error with auth empty.
 */
IDL_MUST_USE idl_err cli_sign_request(const struct wallet_key *key, const char *chain_id,
                                      const char *method, const char *path, const void *body,
                                      size_t body_len, char auth[CLI_AUTH_MAX]);

/* The --key, loaded (its passphrase asked) once per invocation; c owns it, main frees it.
 * Returns EXIT_OK_ or an exit code (message printed). */
int cli_key(struct cli *c, const struct wallet_key **key);

/* The node's chain id (GET /v1/status, asked once). Returns EXIT_OK_ or an exit code. */
int cli_chain_id(struct cli *c, const char **chain_id);

/* POSTs body to path and handles the outcome like cli_query. */
int cli_post(struct cli *c, const char *path, json_t *body, json_t **reply);

/* Loads --key with its passphrase into a key the caller frees (wallet_key_free). Returns
 * EXIT_OK_ or an exit code (message printed). */
int cli_load_key(struct cli *c, struct wallet_key **key);

/* Reads a passphrase from --passphrase-file, $IDLEDGER_PASSPHRASE or a prompt. */
int cli_passphrase(struct cli *c, char *buf, size_t n, const char *prompt);

/* Copies a string option into a fixed field, refusing one that does not fit. */
int cli_copy(const struct cli *c, char *dst, size_t cap, const char *opt, bool required);

#endif

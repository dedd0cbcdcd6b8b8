/*
 * idledgerd: the node daemon.
 *
 * Signals are blocked in every thread and taken synchronously by the main thread with
 * sigwait, so shutdown runs in ordinary code: stop the engine (which finishes the block it
 * is committing), stop the API, close the ledger and the store.
 */
#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <nng/nng.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ledger/file.h"
#include "node/log.h"
#include "node/node.h"
#include "node/tokens.h"

#ifndef IDL_VERSION
#define IDL_VERSION "dev"
#endif

static const char usage[] =
    "usage: idledgerd --home DIR                run a node from its home directory\n"
    "       idledgerd --home DIR token add NAME  issue an API token for business system NAME\n"
    "       idledgerd --home DIR token list      list business systems holding a token\n"
    "       idledgerd --home DIR token revoke NAME\n"
    "       idledgerd --help | --version\n"
    "\n"
    "The home holds config.json (see docs/OPERATIONS.md), the node's encrypted key, its\n"
    "data directory and tokens.json. The key's passphrase comes from the file named by\n"
    "key_passphrase_file in config.json, else $IDLEDGERD_PASSPHRASE, else a prompt.\n"
    "Logs are JSON lines on stderr. SIGTERM or SIGINT stops the node cleanly.\n"
    "\n"
    "examples:\n"
    "  idledgerd --home devnet/node0\n"
    "  idledgerd --home /var/lib/idledger token add teacher-system\n";

/* Reads the node key's passphrase into buf (wiped by the caller). */
static int
read_passphrase(const struct node_config *c, char *buf, size_t n)
{
    char why[PATH_MAX + 128], prompt[PATH_MAX + 32];
    snprintf(prompt, sizeof(prompt), "passphrase for %s: ", c->key);
    idl_err rc = wallet_passphrase_read(c->key_passphrase_file, "IDLEDGERD_PASSPHRASE", prompt, buf,
                                        n, why, sizeof(why));
    if (rc == IDL_ERR_NOT_FOUND && !why[0])
        snprintf(why, sizeof(why), "no passphrase (set key_passphrase_file or "
                                   "$IDLEDGERD_PASSPHRASE)");
    if (rc)
        fprintf(stderr, "idledgerd: %s\n", why);
    return rc ? -1 : 0;
}

static int
token_command(const char *home, int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[0], "add") && argc == 2) {
        char token[TOKEN_TEXT_LEN + 1];
        idl_err rc = tokens_add(home, argv[1], token);
        if (rc) {
            fprintf(stderr, "idledgerd: cannot add token %s: %s\n", argv[1],
                    rc == IDL_ERR_EXISTS    ? "that name already has a token"
                    : rc == IDL_ERR_INVALID ? "names are letters, digits, '.', '_' or '-', "
                                              "with no run of 11 digits (a phone or ID number)"
                                            : idl_strerror(rc));
            return 1;
        }
        printf("%s\n", token);
        sodium_memzero(token, sizeof(token));
        return 0;
    }
    if (argc == 1 && !strcmp(argv[0], "list"))
    {
        idl_err rc = tokens_list(home, stdout);
        if (rc)
            fprintf(stderr, "idledgerd: cannot read %s/tokens.json: %s\n", home,
                    idl_strerror(rc));
        return rc ? 1 : 0;
    }
    if (argc == 2 && !strcmp(argv[0], "revoke")) {
        idl_err rc = tokens_revoke(home, argv[1]);
        if (rc)
            fprintf(stderr, "idledgerd: cannot revoke %s: %s\n", argv[1], idl_strerror(rc));
        return rc ? 1 : 0;
    }
    fputs(usage, stderr);
    return 2;
}

static int
run(const char *home)
{
    struct node_config cfg;
    char why[512] = "";
    if (node_config_load(&cfg, home, why, sizeof(why)) != IDL_OK) {
        fprintf(stderr, "idledgerd: %s\n", why);
        return 1;
    }
    int level = log_level_parse(cfg.log_level);
    IDL_ASSERT(level >= 0); /* node_config_load refuses any other name */
    log_set_level((enum log_level)level);

    /* Block the stop signals before any thread exists, so every thread inherits the mask
     * and only sigwait below receives them. SIGPIPE is ignored: a client that goes away is
     * NNG's error to report, not a reason to die. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    /* A shell starts a background command with SIGINT ignored, and an ignored signal is
     * discarded before sigwait could take it: `kill -INT` must stop the node however it was
     * started. (Blocked first, so the default action never runs.) */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);

    char *pass = sodium_malloc(WALLET_PASSPHRASE_MAX);
    if (!pass || read_passphrase(&cfg, pass, WALLET_PASSPHRASE_MAX) != 0) {
        if (pass)
            sodium_free(pass);
        return 1;
    }
    struct node *n;
    idl_err rc = node_open(&n, home, pass, why, sizeof(why));
    sodium_free(pass);
    if (rc) {
        log_error("cannot open the node", "{s:s, s:s}", "home", home, "error", why);
        return 1;
    }
    if (node_start(n, why, sizeof(why)) != IDL_OK) {
        log_error("cannot start the node", "{s:s}", "error", why);
        node_stop(n);
        node_close(n);
        return 1;
    }
    struct ledger_tip tip;
    ledger_tip(n->ledger, &tip);
    log_info("node started", "{s:s, s:s, s:s, s:I, s:s}", "node_id", cfg.node_id, "chain_id",
             n->genesis.chain_id, "role", n->validator_index >= 0 ? "validator" : "replica",
             "height", (json_int_t)tip.height, "version", IDL_VERSION);
    int sig = 0;
    while (sigwait(&stop, &sig) != 0)
        ;
    log_info("stopping", "{s:s}", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    node_stop(n);
    ledger_tip(n->ledger, &tip);
    node_close(n);
    log_info("stopped", "{s:I}", "height", (json_int_t)tip.height);
    nng_fini();
    return 0;
}

int
main(int argc, char **argv)
{
    /* glibc gives each thread that allocates (HTTP workers, admission) an arena of its own,
     * which keeps freed memory resident: two arenas hold the daemon's heap to what it uses
     * (docs/BENCHMARKS.md, peak RSS). */
    mallopt(M_ARENA_MAX, 2);
    const char *home = NULL;
    int i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--version")) {
            printf("idledgerd %s\n", IDL_VERSION);
            return 0;
        }
        if (!strcmp(argv[i], "--home") && i + 1 < argc) {
            home = argv[++i];
            continue;
        }
        if (!strncmp(argv[i], "--home=", 7)) {
            home = argv[i] + 7;
            continue;
        }
        break;
    }
    if (!home) {
        fputs(usage, stderr);
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "idledgerd: libsodium failed to initialise\n");
        return 1;
    }
    if (i < argc) {
        if (strcmp(argv[i], "token") != 0) {
            fprintf(stderr, "idledgerd: unknown command %s\n\n%s", argv[i], usage);
            return 2;
        }
        return token_command(home, argc - i - 1, argv + i + 1);
    }
    return run(home);
}

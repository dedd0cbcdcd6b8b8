/*
 * idledger: the command-line wallet.
 *
 * Parsing: options may come before or after the command words. An option takes a value if
 * the global options or the command declare it with '=' ("--code C" or "--code=C"); the
 * first non-option words that name a command select it, and the remaining words are its
 * positional arguments. Anything unknown is a usage error (exit 2).
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "ledger/file.h"
#include "ledger/schema.h"

#ifndef IDL_VERSION
#define IDL_VERSION "dev"
#endif

static const char *const global_opts =
    "node=,key=,passphrase-file=,api-token-file=,as=,basis=,json,no-wait,timeout=,help";

static const struct {
    const struct cli_command *list;
    const size_t *n;
} tables[] = {
    {cli_tx_commands, &cli_tx_ncommands},
    {cli_query_commands, &cli_query_ncommands},
    {cli_cert_commands, &cli_cert_ncommands},
    {cli_report_commands, &cli_report_ncommands},
    {cli_import_commands, &cli_import_ncommands},
    {cli_misc_commands, &cli_misc_ncommands},
};

static const char general_help[] =
    "usage: idledger [--node URL] [--key FILE] [--passphrase-file FILE] [--json] COMMAND ...\n"
    "\n"
    "The wallet of the idledger identity ledger: signs management operations with --key and\n"
    "asks a node for the state. Global options (anywhere on the line):\n"
    "  --node URL             node API (default $IDLEDGER_NODE, else http://127.0.0.1:7700)\n"
    "  --key FILE             signing key (default $IDLEDGER_KEY)\n"
    "  --passphrase-file FILE key passphrase (else $IDLEDGER_PASSPHRASE, else a prompt)\n"
    "  --api-token-file FILE  API token (else $IDLEDGER_API_TOKEN)\n"
    "  --basis FILE           the scanned signed form behind the operation: its SHA-256\n"
    "                         goes on the ledger\n"
    "  --as ID                the signing account (default: looked up by the key)\n"
    "  --json                 print the API's JSON\n"
    "  --no-wait              return once the node accepted the transaction\n"
    "  --timeout S            seconds to wait for the commit (default 30)\n"
    "\n"
    "Exit status: 0 committed or answered, 1 rejected (reason on stderr), 2 usage error,\n"
    "3 node unreachable or unable to take it now (5xx), or no commit in time.\n"
    "\n"
    "Commands (idledger COMMAND --help for details and examples):\n";

/* Whether command words start with the word `group` ("key" for "key new"). */
static bool
in_group(const char *words, const char *group)
{
    size_t n = strlen(group);
    return strncmp(words, group, n) == 0 && (words[n] == ' ' || words[n] == '\0');
}

/* The general help, or with group (a first word, "key") the usage of its commands only. */
static void
print_general_help(const char *group)
{
    bool any = false;
    for (size_t t = 0; group && t < IDL_ARRAY_LEN(tables); t++)
        for (size_t i = 0; i < *tables[t].n; i++)
            any = any || in_group(tables[t].list[i].words, group);
    if (!any)
        fputs(general_help, stdout);
    for (size_t t = 0; t < IDL_ARRAY_LEN(tables); t++)
        for (size_t i = 0; i < *tables[t].n; i++)
            if (!any || in_group(tables[t].list[i].words, group))
                printf("  %-22s %s\n", tables[t].list[i].words, tables[t].list[i].usage);
    if (any)
        printf("\n`idledger %s COMMAND --help` explains one.\n", group);
}

static void
print_command_help(const struct cli_command *cmd)
{
    printf("usage: idledger %s %s\n\n%s", cmd->words, cmd->usage, cmd->help);
}

/* Does the comma-separated option list declare name, and does it take a value? */
static int
declares(const char *list, const char *name, int *takes_value)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        int valued = len && p[len - 1] == '=';
        if (len - (size_t)valued == n && strncmp(p, name, n) == 0) {
            *takes_value = valued;
            return 1;
        }
        p = end ? end + 1 : NULL;
    }
    return 0;
}

/* Whether any command or the globals give `name` a value. */
static int
any_takes_value(const char *name)
{
    int v;
    if (declares(global_opts, name, &v) && v)
        return 1;
    for (size_t t = 0; t < IDL_ARRAY_LEN(tables); t++)
        for (size_t i = 0; i < *tables[t].n; i++)
            if (declares(tables[t].list[i].options, name, &v) && v)
                return 1;
    return 0;
}

/* The command named by the leading words (the longest match), and how many words it used. */
static const struct cli_command *
find_command(char **words, int nwords, int *used)
{
    const struct cli_command *best = NULL;
    *used = 0;
    for (size_t t = 0; t < IDL_ARRAY_LEN(tables); t++)
        for (size_t i = 0; i < *tables[t].n; i++) {
            char buf[64];
            snprintf(buf, sizeof(buf), "%s", tables[t].list[i].words);
            int k = 0, ok = 1;
            char *save = NULL;
            for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save), k++)
                if (k >= nwords || strcmp(w, words[k]) != 0)
                    ok = 0;
            if (ok && k > *used) {
                best = &tables[t].list[i];
                *used = k;
            }
        }
    return best;
}

struct raw_opt {
    char name[64];
    const char *value;
};

static int
apply_global(struct cli *c, const char *name, const char *value)
{
    if (!strcmp(name, "node"))
        c->node = value;
    else if (!strcmp(name, "key"))
        c->key_path = value;
    else if (!strcmp(name, "passphrase-file"))
        c->passphrase_file = value;
    else if (!strcmp(name, "api-token-file"))
        c->api_token_file = value;
    else if (!strcmp(name, "as"))
        c->as = value;
    else if (!strcmp(name, "basis"))
        c->basis_path = value;
    else if (!strcmp(name, "json"))
        c->json = true;
    else if (!strcmp(name, "no-wait"))
        c->no_wait = true;
    else if (!strcmp(name, "timeout")) {
        char *end;
        unsigned long s = strtoul(value, &end, 10);
        if (!*value || *end || s == 0 || s > 86400)
            return cli_usage(c, "--timeout must be 1 to 86400 seconds");
        c->timeout_s = (unsigned)s;
    }
    return EXIT_OK_;
}

static int
load_token(struct cli *c)
{
    const char *env = getenv("IDLEDGER_API_TOKEN");
    if (c->api_token_file) {
        struct idl_bytes t;
        if (file_read_all(c->api_token_file, sizeof(c->token) - 1, &t) != IDL_OK)
            return cli_usage(c, "cannot read the API token file %s", c->api_token_file);
        size_t n = strcspn((const char *)t.data, "\r\n");
        snprintf(c->token, sizeof(c->token), "%.*s", (int)n, (const char *)t.data);
        sodium_memzero(t.data, t.len);
        free(t.data);
    } else if (env) {
        snprintf(c->token, sizeof(c->token), "%s", env);
    }
    /* It goes into a header line: a line break in it would start another header. */
    for (const char *p = c->token; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return cli_usage(c, "the API token holds a space or control character");
    return EXIT_OK_;
}

static int
parse(struct cli *c, int argc, char **argv, int *help, const char **group)
{
    static struct raw_opt raw[CLI_OPTS_MAX + 16];
    char *words[16];
    int nraw = 0, nwords = 0;
    *help = 0;
    /* A request body must be UTF-8 text: a value that is not would be dropped from it. */
    for (int i = 1; i < argc; i++)
        if (!schema_text_valid(argv[i], strlen(argv[i])))
            return cli_usage(c, "argument %d is not UTF-8 text (or holds a control character)",
                             i);
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0 || argv[i][2] == '\0') {
            if (nwords == 16)
                return cli_usage(c, "too many arguments");
            words[nwords++] = argv[i];
            continue;
        }
        if (nraw == (int)IDL_ARRAY_LEN(raw))
            return cli_usage(c, "too many options");
        const char *arg = argv[i] + 2, *eq = strchr(arg, '=');
        struct raw_opt *o = &raw[nraw++];
        snprintf(o->name, sizeof(o->name), "%.*s", eq ? (int)(eq - arg) : (int)strlen(arg), arg);
        for (int k = 0; k < nraw - 1; k++)
            if (!strcmp(raw[k].name, o->name)) /* which one was meant? */
                return cli_usage(c, "--%s is given twice", o->name);
        if (eq)
            o->value = eq + 1;
        else if (any_takes_value(o->name)) {
            if (i + 1 >= argc)
                return cli_usage(c, "--%s needs a value", o->name);
            o->value = argv[++i];
        } else {
            o->value = "1";
        }
    }
    int used;
    c->cmd = find_command(words, nwords, &used);
    *group = nwords ? words[0] : NULL;
    for (int i = 0; i < nraw; i++)
        if (!strcmp(raw[i].name, "help"))
            *help = 1;
    if (*help)
        return EXIT_OK_;
    if (!c->cmd)
        return nwords ? cli_usage(c, "unknown command \"%s\"", words[0])
                      : cli_usage(c, "no command given");
    if (nwords - used != c->cmd->nargs)
        return cli_usage(c, "%s takes %d argument%s", c->cmd->words, c->cmd->nargs,
                         c->cmd->nargs == 1 ? "" : "s");
    for (int i = used; i < nwords; i++)
        c->args[c->nargs++] = words[i];
    for (int i = 0; i < nraw; i++) {
        int valued;
        if (declares(global_opts, raw[i].name, &valued)) {
            int rc = apply_global(c, raw[i].name, raw[i].value);
            if (rc)
                return rc;
        } else if (declares(c->cmd->options, raw[i].name, &valued) && c->nopts < CLI_OPTS_MAX) {
            c->opts[c->nopts++] = (struct cli_opt){raw[i].name, raw[i].value};
        } else {
            return cli_usage(c, "%s does not take --%s", c->cmd->words, raw[i].name);
        }
    }
    return EXIT_OK_;
}

int
main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--version")) {
        printf("idledger %s\n", IDL_VERSION);
        return 0;
    }
    if (sodium_init() < 0 || sig_init() != IDL_OK) {
        fprintf(stderr, "idledger: cannot initialise the cryptographic libraries\n");
        return EXIT_USAGE;
    }
    struct cli c = {0};
    c.node = getenv("IDLEDGER_NODE") ? getenv("IDLEDGER_NODE") : "http://127.0.0.1:7700";
    c.key_path = getenv("IDLEDGER_KEY");
    c.timeout_s = 30;
    int help;
    const char *group = NULL;
    int rc = parse(&c, argc, argv, &help, &group);
    if (help) {
        if (c.cmd)
            print_command_help(c.cmd);
        else
            print_general_help(group);
        return 0;
    }
    if (!rc)
        rc = load_token(&c);
    if (!rc)
        rc = c.cmd->fn(&c);
    sodium_memzero(c.token, sizeof(c.token));
    wallet_key_free(c.key);
    /* No nng_fini(): NNG's reaper may still be closing the last connection, and the
     * process exit releases everything anyway. */
    return rc;
}

/*
 * A local test network: genesis, management keys and one home per node (testnet.h).
 *
 * Method: every option is checked first, then the directory is made (or an empty one taken
 * over), then the files are written so that each refers only to what already exists: the
 * passphrase, the admin keys, the node keys, the genesis (which lists their public keys),
 * each node's config.json, tokens.json and api-token, and the README last. The genesis is
 * read back with genesis_load right after it is written and must produce the same JSON, so
 * a network whose genesis no node would accept is never handed out.
 *
 * Secrets of the run (passphrase, chain secret, token texts) live in one sodium_malloc
 * block that is wiped and freed on every path; secret keys stay in wallet_key memory.
 */
#include "testnet.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "genesis/genesis.h"
#include "ledger/codec.h"
#include "ledger/file.h"
#include "ledger/schema.h"
#include "node/config.h"
#include "node/tokens.h"
#include "wallet/key.h"

_Static_assert(TESTNET_NODES_MAX == CONFIG_PEERS_MAX + 1, "every other node fits in peers");
_Static_assert(LEDGER_VALIDATORS_MAX <= TESTNET_NODES_MAX, "a full validator set fits");

#define PASS_RAW_BYTES 32
#define PASS_HEX_LEN   (2 * PASS_RAW_BYTES)
/* Room left in PATH_MAX for the longest name under DIR ("/node64/config.json.tmp.PID"). */
#define PATH_SLACK 64
#define PORT_MAX   65535u

static const char *const admin_posts[LEDGER_ROOT_ADMINS] = {"sysadmin", "secadmin", "auditor"};
static const char *const admin_ids[LEDGER_ROOT_ADMINS] = {"root-sysadmin", "root-secadmin",
                                                          "root-auditor"};

/* Everything secret that the run holds; in sodium_malloc memory. */
struct secrets {
    char pass[PASS_HEX_LEN + 2];    /* hex, then "\n" for the file */
    char token[TOKEN_TEXT_LEN + 2]; /* the same */
    struct genesis g;               /* chain secret */
    struct genesis check;           /* g as read back from genesis.json */
};

/* The options with their defaults filled in. */
struct plan {
    const char *dir, *chain_id, *org_code, *org_name;
    unsigned validators, nodes, base_port;
};

__attribute__((format(printf, 4, 5))) static idl_err
fail(idl_err rc, char *why, size_t why_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
    return rc;
}

/* dir/name; the options check left PATH_SLACK bytes for every name used here. */
static void
path_join(char out[PATH_MAX], const char *dir, const char *name)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    IDL_ASSERT(n > 0 && (size_t)n + 16 < PATH_MAX);
}

static idl_err
check_names(const struct plan *p, char *why, size_t why_len)
{
    size_t n = strlen(p->chain_id);
    if (n == 0 || n > LEDGER_CHAIN_ID_MAX || !schema_id_valid(p->chain_id, n, 0))
        return fail(IDL_ERR_INVALID, why, why_len,
                    "testnet: the chain id must be 1 to %d letters, digits, '.', '_' or '-'",
                    LEDGER_CHAIN_ID_MAX);
    if (strlen(p->org_code) > LEDGER_CODE_MAX || strlen(p->org_name) > LEDGER_NAME_MAX)
        return fail(IDL_ERR_INVALID, why, why_len,
                    "testnet: the organisation code takes at most %d bytes and its name %d",
                    LEDGER_CODE_MAX, LEDGER_NAME_MAX);
    /* The genesis parser checks the root organisation against this schema: refuse now
     * what it would refuse after all the keys were made. */
    struct rec_org org = {.kind = ORG_KIND_PROVINCE};
    snprintf(org.code, sizeof(org.code), "%s", p->org_code);
    snprintf(org.name, sizeof(org.name), "%s", p->org_name);
    char reason[LEDGER_WHY_MAX];
    if (schema_check(&rec_org_schema, &org, reason, sizeof(reason)))
        return fail(IDL_ERR_INVALID, why, why_len, "testnet: root organisation: %s", reason);
    return IDL_OK;
}

static idl_err
plan_make(struct plan *p, const struct testnet_opts *o, char *why, size_t why_len)
{
    memset(p, 0, sizeof(*p));
    p->dir = o->dir;
    p->chain_id = o->chain_id ? o->chain_id : TESTNET_CHAIN_ID_DEFAULT;
    p->org_code = o->org_code ? o->org_code : TESTNET_ORG_CODE_DEFAULT;
    p->org_name = o->org_name ? o->org_name : TESTNET_ORG_NAME_DEFAULT;
    p->validators = o->validators;
    p->base_port = o->base_port;
    if (!p->dir || !p->dir[0])
        return fail(IDL_ERR_INVALID, why, why_len, "testnet: no directory given");
    if (strlen(p->dir) > PATH_MAX - PATH_SLACK)
        return fail(IDL_ERR_INVALID, why, why_len, "testnet: the directory name is too long");
    if (o->validators < 1 || o->validators > LEDGER_VALIDATORS_MAX)
        return fail(IDL_ERR_INVALID, why, why_len, "testnet: validators must be 1 to %d",
                    LEDGER_VALIDATORS_MAX);
    if (o->replicas > TESTNET_NODES_MAX - o->validators)
        return fail(IDL_ERR_INVALID, why, why_len,
                    "testnet: at most %d nodes in all (each lists every other as a peer)",
                    TESTNET_NODES_MAX);
    p->nodes = o->validators + o->replicas;
    /* Port 0 would mean "any free port", which no peer could be told in advance. */
    if (o->base_port < 1)
        return fail(IDL_ERR_INVALID, why, why_len, "testnet: the base port must be at least 1");
    if ((unsigned long)o->base_port + 2ul * p->nodes - 1 > PORT_MAX)
        return fail(IDL_ERR_INVALID, why, why_len,
                    "testnet: ports above 65535 (%u nodes need ports %u to %lu)", p->nodes,
                    o->base_port, (unsigned long)o->base_port + 2ul * p->nodes - 1);
    return check_names(p, why, why_len);
}

/* Makes dir (0700), or takes it over if it is an empty directory. */
static idl_err
dir_prepare(const char *dir, char *why, size_t why_len)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT)
            return fail(IDL_ERR_IO, why, why_len, "testnet: cannot use %s: %s", dir,
                        strerror(errno));
        if (file_mkdirs(dir, 0700))
            return fail(IDL_ERR_IO, why, why_len, "testnet: cannot create %s", dir);
    } else {
        if (!S_ISDIR(st.st_mode))
            return fail(IDL_ERR_EXISTS, why, why_len, "testnet: %s exists and is not a directory",
                        dir);
        DIR *d = opendir(dir);
        if (!d)
            return fail(IDL_ERR_IO, why, why_len, "testnet: cannot read %s: %s", dir,
                        strerror(errno));
        int empty = 1;
        for (struct dirent *e; empty && (e = readdir(d));)
            empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
        closedir(d);
        if (!empty)
            return fail(IDL_ERR_EXISTS, why, why_len, "testnet: %s exists and is not empty", dir);
    }
    /* mkdir's mode passed through the umask, and a taken-over directory has its own. */
    if (chmod(dir, 0700) != 0)
        return fail(IDL_ERR_IO, why, why_len, "testnet: cannot chmod %s: %s", dir, strerror(errno));
    return IDL_OK;
}

static idl_err
subdir_make(const char *dir, const char *name, char *why, size_t why_len)
{
    char path[PATH_MAX];
    path_join(path, dir, name);
    if (mkdir(path, 0700) != 0 || chmod(path, 0700) != 0)
        return fail(IDL_ERR_IO, why, why_len, "testnet: cannot create %s: %s", path,
                    strerror(errno));
    return IDL_OK;
}

/* Writes a new file dir/name; never replaces one. */
static idl_err
file_put(const char *dir, const char *name, const char *text, size_t len, mode_t mode, char *why,
         size_t why_len)
{
    char path[PATH_MAX];
    path_join(path, dir, name);
    idl_err rc = file_write_new(path, text, len, mode);
    if (rc)
        return fail(rc, why, why_len, "testnet: cannot write %s: %s", path, idl_strerror(rc));
    return IDL_OK;
}

/* A fresh key sealed under the passphrase at dir/name; its public key goes to pk. */
static idl_err
key_make(const char *dir, const char *name, const char *pass, uint8_t pk[SIG_PUBKEY_BYTES],
         char *why, size_t why_len)
{
    char path[PATH_MAX];
    path_join(path, dir, name);
    struct wallet_key *k;
    idl_err rc = wallet_key_generate(&k);
    if (rc)
        return fail(rc, why, why_len, "testnet: cannot generate a key: %s", idl_strerror(rc));
    rc = wallet_key_save(k, path, pass, strlen(pass));
    memcpy(pk, k->pk, SIG_PUBKEY_BYTES);
    wallet_key_free(k);
    if (rc)
        return fail(rc, why, why_len, "testnet: cannot write %s: %s", path, idl_strerror(rc));
    return IDL_OK;
}

/* The passphrase file, and the admin keys with the genesis fields that describe them. */
static idl_err
write_admins(const struct plan *p, struct secrets *s, char *why, size_t why_len)
{
    uint8_t raw[PASS_RAW_BYTES];
    randombytes_buf(raw, sizeof(raw));
    codec_hex_encode(s->pass, raw, sizeof(raw));
    sodium_memzero(raw, sizeof(raw));
    s->pass[PASS_HEX_LEN] = '\n';
    idl_err rc = file_put(p->dir, "passphrase", s->pass, PASS_HEX_LEN + 1, 0600, why, why_len);
    s->pass[PASS_HEX_LEN] = '\0';
    if (!rc)
        rc = subdir_make(p->dir, "admins", why, why_len);
    for (int i = 0; !rc && i < LEDGER_ROOT_ADMINS; i++) {
        struct rec_account *a = &s->g.ledger.admins[i];
        char name[32];
        snprintf(name, sizeof(name), "admins/%s.key", admin_posts[i]);
        rc = key_make(p->dir, name, s->pass, a->pubkey, why, why_len);
        snprintf(a->id, sizeof(a->id), "%s", admin_ids[i]);
        /* A testnet knows no real people: each administrator is a distinct random one. */
        randombytes_buf(a->person, sizeof(a->person));
        for (int j = 0; j < i; j++)
            IDL_ASSERT(memcmp(a->person, s->g.ledger.admins[j].person, HASH_BYTES) != 0);
    }
    return rc;
}

/* Every node's home and key; validators' public keys go to the genesis. */
static idl_err
write_node_keys(const struct plan *p, struct secrets *s, char *why, size_t why_len)
{
    idl_err rc = IDL_OK;
    for (unsigned k = 0; !rc && k < p->nodes; k++) {
        char home[16], name[32];
        uint8_t pk[SIG_PUBKEY_BYTES];
        snprintf(home, sizeof(home), "node%u", k);
        snprintf(name, sizeof(name), "%s/node.key", home);
        rc = subdir_make(p->dir, home, why, why_len);
        if (!rc)
            rc = key_make(p->dir, name, s->pass, pk, why, why_len);
        if (!rc && k < p->validators) {
            struct ledger_validator *v = &s->g.ledger.validators[k];
            snprintf(v->name, sizeof(v->name), "%s", home);
            memcpy(v->pubkey, pk, SIG_PUBKEY_BYTES);
            v->power = 1;
        }
    }
    s->g.ledger.n_validators = p->validators;
    return rc;
}

/* True if a and b print as the same genesis JSON (chain secret included). */
static int
genesis_same(const struct genesis *a, const struct genesis *b)
{
    char *ta = genesis_to_json(a), *tb = genesis_to_json(b);
    int same = ta && tb && strcmp(ta, tb) == 0;
    if (ta)
        sodium_memzero(ta, strlen(ta));
    if (tb)
        sodium_memzero(tb, strlen(tb));
    free(ta);
    free(tb);
    return same;
}

static idl_err
write_genesis(const struct plan *p, struct secrets *s, char *why, size_t why_len)
{
    struct ledger_genesis *l = &s->g.ledger;
    snprintf(l->chain_id, sizeof(l->chain_id), "%s", p->chain_id);
    l->time_ms = (uint64_t)time(NULL) * 1000; /* whole seconds: the file has no fraction */
    snprintf(l->root.code, sizeof(l->root.code), "%s", p->org_code);
    snprintf(l->root.name, sizeof(l->root.name), "%s", p->org_name);
    l->root.kind = ORG_KIND_PROVINCE;
    genesis_policy_default(&l->policy);
    randombytes_buf(s->g.chain_secret, sizeof(s->g.chain_secret));
    char path[PATH_MAX];
    path_join(path, p->dir, "genesis.json");
    idl_err rc = genesis_save(&s->g, path);
    if (rc)
        return fail(rc, why, why_len, "testnet: cannot write %s: %s", path, idl_strerror(rc));
    /* Read it back as a node will: the options check should make this impossible to fail. */
    char reason[LEDGER_WHY_MAX];
    rc = genesis_load(&s->check, path, reason, sizeof(reason));
    if (rc)
        return fail(rc, why, why_len, "testnet: the genesis written does not load: %s", reason);
    if (!genesis_same(&s->g, &s->check))
        return fail(IDL_ERR_INVALID, why, why_len,
                    "testnet: the genesis read back differs from the one written");
    return IDL_OK;
}

static void
addr_print(char out[CONFIG_ADDR_MAX], unsigned port)
{
    snprintf(out, CONFIG_ADDR_MAX, "127.0.0.1:%u", port);
}

/* Node k's config.json text (caller frees), or NULL when out of memory. */
static char *
config_text(const struct plan *p, unsigned k)
{
    char id[16], api[CONFIG_ADDR_MAX], p2p[CONFIG_ADDR_MAX], peer[CONFIG_ADDR_MAX];
    snprintf(id, sizeof(id), "node%u", k);
    addr_print(api, p->base_port + 2 * k);
    addr_print(p2p, p->base_port + 2 * k + 1);
    /* In the order node/config.h documents them; paths are relative to the node's home. */
    const char *const before[][2] = {
        {"node_id", id},     {"role", k < p->validators ? "validator" : "replica"},
        {"api_listen", api}, {"api_auth", "token"},
        {"p2p_listen", p2p},
    };
    const char *const after[][2] = {
        {"genesis", "../genesis.json"},
        {"key", "node.key"},
        {"key_passphrase_file", "../passphrase"},
        {"data_dir", "data"},
        {"log_level", "info"},
    };
    json_t *c = json_object(), *peers = json_array();
    int bad = !c || !peers;
    for (size_t i = 0; !bad && i < IDL_ARRAY_LEN(before); i++)
        bad = json_object_set_new(c, before[i][0], json_string(before[i][1])) != 0;
    for (unsigned j = 0; !bad && j < p->nodes; j++) {
        addr_print(peer, p->base_port + 2 * j + 1);
        if (j != k)
            bad = json_array_append_new(peers, json_string(peer)) != 0;
    }
    bad = bad || json_object_set(c, "peers", peers) != 0;
    for (size_t i = 0; !bad && i < IDL_ARRAY_LEN(after); i++)
        bad = json_object_set_new(c, after[i][0], json_string(after[i][1])) != 0;
    char *text = bad ? NULL : json_dumps(c, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(peers);
    json_decref(c);
    return text;
}

/* Node k's config.json, its token (hash in tokens.json) and api-token. */
static idl_err
write_node_home(const struct plan *p, unsigned k, struct secrets *s, char *why, size_t why_len)
{
    char home[PATH_MAX], name[16], path[PATH_MAX];
    snprintf(name, sizeof(name), "node%u", k);
    path_join(home, p->dir, name);
    path_join(path, home, "config.json");
    char *text = config_text(p, k);
    if (!text)
        return fail(IDL_ERR_NOMEM, why, why_len, "testnet: out of memory");
    idl_err rc = file_write_atomic(path, text, strlen(text), 0600);
    free(text);
    if (rc)
        return fail(rc, why, why_len, "testnet: cannot write %s: %s", path, idl_strerror(rc));
    rc = tokens_add(home, TESTNET_TOKEN_SYSTEM, s->token);
    if (rc)
        return fail(rc, why, why_len, "testnet: cannot add a token in %s: %s", home,
                    idl_strerror(rc));
    IDL_ASSERT(strlen(s->token) == TOKEN_TEXT_LEN);
    s->token[TOKEN_TEXT_LEN] = '\n';
    rc = file_put(home, "api-token", s->token, TOKEN_TEXT_LEN + 1, 0600, why, why_len);
    sodium_memzero(s->token, sizeof(s->token));
    return rc;
}

static void
readme_files(FILE *f, const struct plan *p)
{
    fprintf(f,
            "This directory holds a local idledger network of %u validator%s and %u "
            "replica%s\n(chain \"%s\"), written by `idledger testnet`.\n\n",
            p->validators, p->validators == 1 ? "" : "s", p->nodes - p->validators,
            p->nodes - p->validators == 1 ? "" : "s", p->chain_id);
    fprintf(f,
            "Files\n"
            "  genesis.json          the chain's genesis: root organisation %s (%s), its\n"
            "                        three management accounts, the validators, the policies\n"
            "                        and the chain secret; give it to this chain's nodes only\n"
            "  passphrase            the passphrase of every key here (a testnet convenience\n"
            "                        only: a real network gives each key its own passphrase\n"
            "                        and keeps none beside the keys)\n"
            "  admins/sysadmin.key   key of root-sysadmin, the root's system administrator\n"
            "  admins/secadmin.key   key of root-secadmin, the root's security administrator\n"
            "  admins/auditor.key    key of root-auditor, the root's auditor\n"
            "  nodeK/config.json     node K's configuration (addresses, peers, paths)\n"
            "  nodeK/node.key        node K's signing key\n"
            "  nodeK/tokens.json     hashes of the API tokens node K accepts\n"
            "  nodeK/api-token       the API token of business system \"%s\" on node K\n"
            "  nodeK/data/           node K's blocks and state, made when it first starts\n\n",
            p->org_code, p->org_name, TESTNET_TOKEN_SYSTEM);
    fprintf(f, "Nodes\n");
    for (unsigned k = 0; k < p->nodes; k++)
        fprintf(f, "  node%-3u %-9s  API http://127.0.0.1:%u  peers 127.0.0.1:%u\n", k,
                k < p->validators ? "validator" : "replica", p->base_port + 2 * k,
                p->base_port + 2 * k + 1);
}

static void
readme_usage(FILE *f, const struct plan *p, const char *dir)
{
    fprintf(f, "\nStart every node, each in its own terminal (Ctrl-C stops it):\n");
    for (unsigned k = 0; k < p->nodes; k++)
        fprintf(f, "  idledgerd --home %s/node%u\n", dir, k);
    fprintf(f,
            "\nThe chain commits blocks once more than two thirds of the validators run.\n\n"
            "API calls other than /v1/status, /health/* and /metrics need a token; each\n"
            "node accepts its own (nodeK/api-token). For node0:\n"
            "  export IDLEDGER_API_TOKEN=$(cat %s/node0/api-token)\n"
            "(or pass `--api-token-file %s/node0/api-token` to idledger).\n\n",
            dir, dir);
    fprintf(f,
            "Sign transactions as a root administrator (sysadmin, secadmin or auditor):\n"
            "  idledger --node http://127.0.0.1:%u \\\n"
            "      --key %s/admins/sysadmin.key \\\n"
            "      --passphrase-file %s/passphrase \\\n"
            "      org add --code CODE --name NAME --kind city --parent %s --basis FILE\n\n"
            "Query:\n"
            "  idledger --node http://127.0.0.1:%u status\n"
            "  idledger --node http://127.0.0.1:%u account show root-sysadmin\n"
            "  curl -H \"Authorization: Bearer $IDLEDGER_API_TOKEN\" "
            "http://127.0.0.1:%u/v1/orgs/%s\n",
            p->base_port, dir, dir, p->org_code, p->base_port, p->base_port, p->base_port,
            p->org_code);
}

static idl_err
write_readme(const struct plan *p, char *why, size_t why_len)
{
    /* Absolute paths, so the commands work from any directory. */
    char abs[PATH_MAX];
    const char *dir = realpath(p->dir, abs) ? abs : p->dir;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return fail(IDL_ERR_NOMEM, why, why_len, "testnet: out of memory");
    readme_files(f, p);
    readme_usage(f, p, dir);
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    idl_err rc = bad ? fail(IDL_ERR_NOMEM, why, why_len, "testnet: out of memory")
                     : file_put(p->dir, "README", text, len, 0644, why, why_len);
    free(text);
    return rc;
}

void
testnet_defaults(struct testnet_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->validators = 1;
    o->replicas = 0;
    o->base_port = TESTNET_PORT_DEFAULT;
    o->chain_id = TESTNET_CHAIN_ID_DEFAULT;
    o->org_code = TESTNET_ORG_CODE_DEFAULT;
    o->org_name = TESTNET_ORG_NAME_DEFAULT;
}

idl_err
testnet_write(const struct testnet_opts *o, char *why, size_t why_len)
{
    struct plan p;
    idl_err rc = plan_make(&p, o, why, why_len);
    if (rc)
        return rc;
    if (sodium_init() < 0)
        return fail(IDL_ERR_CRYPTO, why, why_len, "testnet: libsodium does not start");
    rc = dir_prepare(p.dir, why, why_len);
    if (rc)
        return rc;
    struct secrets *s = sodium_malloc(sizeof(*s));
    if (!s)
        return fail(IDL_ERR_NOMEM, why, why_len, "testnet: out of memory");
    sodium_memzero(s, sizeof(*s));
    rc = write_admins(&p, s, why, why_len);
    if (!rc)
        rc = write_node_keys(&p, s, why, why_len);
    if (!rc)
        rc = write_genesis(&p, s, why, why_len);
    for (unsigned k = 0; !rc && k < p.nodes; k++)
        rc = write_node_home(&p, k, s, why, why_len);
    if (!rc)
        rc = write_readme(&p, why, why_len);
    sodium_free(s); /* wipes the passphrase, the chain secret and any token left */
    if (rc) {
        /* Leave the partial directory for inspection; a rerun refuses it as not empty. */
        size_t n = strnlen(why, why_len);
        if (n + 1 < why_len)
            snprintf(why + n, why_len - n, "; %s is incomplete: remove it and try again", p.dir);
    }
    return rc;
}

/*
 * Unit tests of genesis/testnet.h. One network of 4 validators and 1 replica is written
 * once (group setup, into a directory that testnet_write creates under a mkdtemp directory,
 * removed afterwards), because each key costs an Argon2id derivation. Checked on it: modes
 * (directories 0700, secrets 0600) and the passphrase file's shape; genesis_load accepts
 * genesis.json, whose validators are node0..node3 with power 1 and exactly the public keys
 * of node0..3/node.key (never node4's), whose admins are root-sysadmin/secadmin/auditor
 * with the keys in admins/ and distinct person keys, and whose time is the time of writing;
 * each config.json (parsed with jansson, since node/config.c is not in the library) has
 * exactly the documented members, its role, its ports and the four other nodes as peers;
 * the admin keys and a node key open with the passphrase from the file; each api-token is
 * 0600, accepted by its own node's tokens.json and refused by the others, which store only
 * hashes; the README names the start commands. Refusals: a second write to the same
 * directory (IDL_ERR_EXISTS, nothing changed), a file in the way, base port 65530 with 4
 * nodes, 0 or 65 validators, too many nodes, port 0, a bad chain id or organisation code,
 * no directory: each with a reason and without creating anything. A second, one-validator
 * network with its own chain id, organisation and port goes into an existing empty
 * directory (taken over) and has no peers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "file.h"
#include "genesis/genesis.h"
#include "genesis/testnet.h"
#include "node/tokens.h"
#include "wallet/key.h"

#define N_VAL     4
#define N_REP     1
#define N_NODES   (N_VAL + N_REP)
#define BASE_PORT 27700u

struct ts {
    char tmp[64];  /* the mkdtemp directory */
    char dir[128]; /* the network, tmp/net */
    char pass[WALLET_PASSPHRASE_MAX];
    time_t before, after; /* around testnet_write */
    struct genesis g;
};

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void
path_of(char out[PATH_MAX], const char *dir, const char *name)
{
    assert_true(snprintf(out, PATH_MAX, "%s/%s", dir, name) < PATH_MAX);
}

static void
read_text(const char *dir, const char *name, struct idl_bytes *out)
{
    char path[PATH_MAX];
    path_of(path, dir, name);
    assert_int_equal(file_read_all(path, 1 << 20, out), IDL_OK);
}

static mode_t
mode_of(const char *dir, const char *name)
{
    char path[PATH_MAX];
    struct stat st;
    path_of(path, dir, name);
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static int
exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int
group_setup(void **state)
{
    struct ts *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    snprintf(t->tmp, sizeof(t->tmp), "/tmp/idl-testnet-test-XXXXXX");
    assert_non_null(mkdtemp(t->tmp));
    snprintf(t->dir, sizeof(t->dir), "%s/net", t->tmp);
    struct testnet_opts o;
    testnet_defaults(&o);
    o.dir = t->dir;
    o.validators = N_VAL;
    o.replicas = N_REP;
    o.base_port = BASE_PORT;
    char why[256] = "";
    t->before = time(NULL);
    idl_err rc = testnet_write(&o, why, sizeof(why));
    t->after = time(NULL);
    if (rc)
        fprintf(stderr, "testnet_write: %s\n", why);
    assert_int_equal(rc, IDL_OK);
    struct idl_bytes pass;
    read_text(t->dir, "passphrase", &pass);
    assert_true(pass.len > 1 && pass.len < sizeof(t->pass));
    assert_int_equal(pass.data[pass.len - 1], '\n');
    memcpy(t->pass, pass.data, pass.len - 1);
    free(pass.data);
    char gpath[PATH_MAX];
    path_of(gpath, t->dir, "genesis.json");
    assert_int_equal(genesis_load(&t->g, gpath, why, sizeof(why)), IDL_OK);
    *state = t;
    return 0;
}

static int
group_teardown(void **state)
{
    struct ts *t = *state;
    nftw(t->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    genesis_wipe(&t->g);
    memset(t->pass, 0, sizeof(t->pass));
    free(t);
    return 0;
}

static void
test_modes_and_passphrase(void **state)
{
    struct ts *t = *state;
    static const char *const dirs[] = {".", "admins", "node0", "node3", "node4"};
    static const char *const secret[] = {
        "passphrase",         "genesis.json",   "admins/sysadmin.key", "admins/secadmin.key",
        "admins/auditor.key", "node0/node.key", "node0/config.json",   "node0/tokens.json",
        "node0/api-token",    "node4/node.key", "node4/api-token",
    };
    for (size_t i = 0; i < IDL_ARRAY_LEN(dirs); i++)
        assert_int_equal(mode_of(t->dir, dirs[i]), 0700);
    for (size_t i = 0; i < IDL_ARRAY_LEN(secret); i++)
        assert_int_equal(mode_of(t->dir, secret[i]), 0600);
    /* 32 random bytes as hex. */
    assert_int_equal(strlen(t->pass), 64);
    assert_int_equal(strspn(t->pass, "0123456789abcdef"), 64);
    /* Nothing beyond the documented nodes. */
    char path[PATH_MAX];
    path_of(path, t->dir, "node5");
    assert_false(exists(path));
}

static void
test_genesis(void **state)
{
    struct ts *t = *state;
    const struct ledger_genesis *l = &t->g.ledger;
    char why[256];
    assert_string_equal(l->chain_id, "dev");
    assert_string_equal(l->root.code, "440000");
    assert_string_equal(l->root.name, "广东省教育厅");
    assert_true(l->time_ms % 1000 == 0);
    assert_in_range(l->time_ms / 1000, (uint64_t)t->before, (uint64_t)t->after);
    struct ledger_policy def;
    genesis_policy_default(&def);
    assert_int_equal(l->policy.same_person_sys_sec, def.same_person_sys_sec);
    assert_int_equal(l->policy.mgmt_business_roles, def.mgmt_business_roles);
    assert_int_equal(l->policy.review_interval_days, def.review_interval_days);
    static const uint8_t zero[HASH_BYTES];
    assert_memory_not_equal(t->g.chain_secret, zero, PERSON_SECRET_BYTES);

    assert_int_equal(l->n_validators, N_VAL);
    for (unsigned k = 0; k < N_NODES; k++) {
        char name[32], path[PATH_MAX];
        uint8_t pk[SIG_PUBKEY_BYTES];
        snprintf(name, sizeof(name), "node%u/node.key", k);
        path_of(path, t->dir, name);
        assert_int_equal(wallet_key_pubkey(path, pk, why, sizeof(why)), IDL_OK);
        int listed = 0;
        for (size_t v = 0; v < l->n_validators; v++)
            listed += !memcmp(l->validators[v].pubkey, pk, SIG_PUBKEY_BYTES);
        assert_int_equal(listed, k < N_VAL ? 1 : 0); /* replica node4 is not a validator */
        if (k < N_VAL) {
            snprintf(name, sizeof(name), "node%u", k);
            assert_string_equal(l->validators[k].name, name);
            assert_memory_equal(l->validators[k].pubkey, pk, SIG_PUBKEY_BYTES);
            assert_int_equal(l->validators[k].power, 1);
        }
    }
}

static void
test_admin_keys(void **state)
{
    struct ts *t = *state;
    static const char *const files[] = {"admins/sysadmin.key", "admins/secadmin.key",
                                        "admins/auditor.key"};
    static const char *const ids[] = {"root-sysadmin", "root-secadmin", "root-auditor"};
    const struct ledger_genesis *l = &t->g.ledger;
    char why[256], path[PATH_MAX];
    static const uint8_t zero[HASH_BYTES];
    for (int i = 0; i < LEDGER_ROOT_ADMINS; i++) {
        struct wallet_key *k;
        path_of(path, t->dir, files[i]);
        assert_int_equal(wallet_key_load(&k, path, t->pass, strlen(t->pass), why, sizeof(why)),
                         IDL_OK);
        assert_string_equal(l->admins[i].id, ids[i]);
        assert_memory_equal(l->admins[i].pubkey, k->pk, SIG_PUBKEY_BYTES);
        wallet_key_free(k);
        assert_memory_not_equal(l->admins[i].person, zero, HASH_BYTES);
        for (int j = 0; j < i; j++) {
            assert_memory_not_equal(l->admins[i].person, l->admins[j].person, HASH_BYTES);
            assert_memory_not_equal(l->admins[i].pubkey, l->admins[j].pubkey, SIG_PUBKEY_BYTES);
        }
    }
    /* The nodes' keys are sealed with the same passphrase (the replica's, for one). */
    struct wallet_key *k;
    path_of(path, t->dir, "node4/node.key");
    assert_int_equal(wallet_key_load(&k, path, t->pass, strlen(t->pass), why, sizeof(why)), IDL_OK);
    wallet_key_free(k);
}

static const char *
jstr(json_t *obj, const char *name)
{
    const char *s = json_string_value(json_object_get(obj, name));
    assert_non_null(s);
    return s;
}

static void
check_config(const struct ts *t, unsigned k)
{
    static const char *const members[] = {
        "node_id", "role", "api_listen",          "api_auth", "p2p_listen", "peers",
        "genesis", "key",  "key_passphrase_file", "data_dir", "log_level",
    };
    char name[32], want[64];
    snprintf(name, sizeof(name), "node%u/config.json", k);
    struct idl_bytes text;
    read_text(t->dir, name, &text);
    json_error_t jerr;
    json_t *c = json_loadb((const char *)text.data, text.len, JSON_REJECT_DUPLICATES, &jerr);
    free(text.data);
    assert_true(json_is_object(c));
    assert_int_equal(json_object_size(c), IDL_ARRAY_LEN(members));
    for (size_t i = 0; i < IDL_ARRAY_LEN(members); i++)
        assert_non_null(json_object_get(c, members[i]));
    snprintf(want, sizeof(want), "node%u", k);
    assert_string_equal(jstr(c, "node_id"), want);
    assert_string_equal(jstr(c, "role"), k < N_VAL ? "validator" : "replica");
    snprintf(want, sizeof(want), "127.0.0.1:%u", BASE_PORT + 2 * k);
    assert_string_equal(jstr(c, "api_listen"), want);
    snprintf(want, sizeof(want), "127.0.0.1:%u", BASE_PORT + 2 * k + 1);
    assert_string_equal(jstr(c, "p2p_listen"), want);
    assert_string_equal(jstr(c, "api_auth"), "token");
    assert_string_equal(jstr(c, "genesis"), "../genesis.json");
    assert_string_equal(jstr(c, "key"), "node.key");
    assert_string_equal(jstr(c, "key_passphrase_file"), "../passphrase");
    assert_string_equal(jstr(c, "data_dir"), "data");
    assert_string_equal(jstr(c, "log_level"), "info");
    /* Every other node's peer address, once, and not its own. */
    json_t *peers = json_object_get(c, "peers");
    assert_true(json_is_array(peers));
    assert_int_equal(json_array_size(peers), N_NODES - 1);
    for (unsigned j = 0; j < N_NODES; j++) {
        snprintf(want, sizeof(want), "127.0.0.1:%u", BASE_PORT + 2 * j + 1);
        int seen = 0;
        for (size_t i = 0; i < json_array_size(peers); i++)
            seen += !strcmp(json_string_value(json_array_get(peers, i)), want);
        assert_int_equal(seen, j == k ? 0 : 1);
    }
    json_decref(c);
}

static void
test_configs(void **state)
{
    for (unsigned k = 0; k < N_NODES; k++)
        check_config(*state, k);
}

static void
read_token(const struct ts *t, unsigned k, char out[TOKEN_TEXT_LEN + 1])
{
    char name[32];
    snprintf(name, sizeof(name), "node%u/api-token", k);
    assert_int_equal(mode_of(t->dir, name), 0600);
    struct idl_bytes text;
    read_text(t->dir, name, &text);
    assert_int_equal(text.len, TOKEN_TEXT_LEN + 1);
    assert_int_equal(text.data[TOKEN_TEXT_LEN], '\n');
    memcpy(out, text.data, TOKEN_TEXT_LEN);
    out[TOKEN_TEXT_LEN] = '\0';
    free(text.data);
}

static void
test_tokens(void **state)
{
    struct ts *t = *state;
    char tokens[N_NODES][TOKEN_TEXT_LEN + 1], got[TOKEN_NAME_MAX + 1];
    for (unsigned k = 0; k < N_NODES; k++)
        read_token(t, k, tokens[k]);
    for (unsigned k = 0; k < N_NODES; k++) {
        char home[PATH_MAX], name[32];
        snprintf(name, sizeof(name), "node%u", k);
        path_of(home, t->dir, name);
        struct tokens *tk;
        assert_int_equal(tokens_open(&tk, home), IDL_OK);
        for (unsigned j = 0; j < N_NODES; j++) {
            assert_int_equal(tokens_check(tk, tokens[j], got), j == k);
            if (j == k)
                assert_string_equal(got, TESTNET_TOKEN_SYSTEM);
        }
        char wrong[TOKEN_TEXT_LEN + 1];
        memcpy(wrong, tokens[k], sizeof(wrong));
        wrong[TOKEN_TEXT_LEN - 1] = wrong[TOKEN_TEXT_LEN - 1] == '0' ? '1' : '0';
        assert_false(tokens_check(tk, wrong, got));
        assert_false(tokens_check(tk, "", got));
        tokens_close(tk);
        /* Only the hash is stored. */
        struct idl_bytes text;
        snprintf(name, sizeof(name), "node%u/tokens.json", k);
        read_text(t->dir, name, &text);
        assert_null(strstr((const char *)text.data, tokens[k] + 4));
        free(text.data);
    }
}

static void
test_readme(void **state)
{
    struct ts *t = *state;
    struct idl_bytes text;
    read_text(t->dir, "README", &text);
    const char *s = (const char *)text.data;
    assert_non_null(strstr(s, "idledgerd --home "));
    assert_non_null(strstr(s, "/node4\n"));
    assert_non_null(strstr(s, "--passphrase-file "));
    assert_non_null(strstr(s, "admins/sysadmin.key"));
    assert_non_null(strstr(s, "IDLEDGER_API_TOKEN=$(cat "));
    assert_non_null(strstr(s, "testnet convenience"));
    assert_null(strstr(s, t->pass)); /* a README is not a place for secrets */
    free(text.data);
}

static void
test_refuses_existing(void **state)
{
    struct ts *t = *state;
    struct idl_bytes before, after;
    read_text(t->dir, "genesis.json", &before);
    struct testnet_opts o;
    testnet_defaults(&o);
    o.dir = t->dir;
    o.validators = N_VAL;
    char why[256] = "";
    assert_int_equal(testnet_write(&o, why, sizeof(why)), IDL_ERR_EXISTS);
    assert_non_null(strstr(why, "not empty"));
    read_text(t->dir, "genesis.json", &after);
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.data, after.data, before.len);
    free(before.data);
    free(after.data);
    /* A file where the directory should be. */
    char path[PATH_MAX];
    path_of(path, t->dir, "passphrase");
    o.dir = path;
    why[0] = '\0';
    assert_int_equal(testnet_write(&o, why, sizeof(why)), IDL_ERR_EXISTS);
    assert_non_null(strstr(why, "not a directory"));
}

/* Refusal of o (dir set by the caller to a path that must stay absent), with why containing
 * `reason`. */
static void
refused(struct testnet_opts *o, const char *reason)
{
    char why[256] = "";
    assert_int_equal(testnet_write(o, why, sizeof(why)), IDL_ERR_INVALID);
    if (!strstr(why, reason))
        fail_msg("why \"%s\" does not say \"%s\"", why, reason);
    if (o->dir)
        assert_false(exists(o->dir));
}

static void
test_refuses_options(void **state)
{
    struct ts *t = *state;
    char dir[PATH_MAX];
    path_of(dir, t->tmp, "refused");
    struct testnet_opts o;

    testnet_defaults(&o);
    o.dir = dir;
    o.validators = 4;
    o.base_port = 65530; /* node3's peer port would be 65537 */
    refused(&o, "ports above 65535");
    o.validators = 3; /* 65530..65535 fit exactly: refused only for the next reason */
    o.chain_id = "bad chain";
    refused(&o, "chain id");

    testnet_defaults(&o);
    o.dir = dir;
    o.validators = 0;
    refused(&o, "validators must be 1 to");
    o.validators = LEDGER_VALIDATORS_MAX + 1;
    refused(&o, "validators must be 1 to");
    o.validators = 60;
    o.replicas = TESTNET_NODES_MAX - 60 + 1;
    refused(&o, "nodes in all");
    o.validators = 1;
    o.replicas = ~0u; /* no wrap-around in validators + replicas */
    refused(&o, "nodes in all");

    testnet_defaults(&o);
    o.dir = dir;
    o.base_port = 0;
    refused(&o, "base port");
    o.base_port = TESTNET_PORT_DEFAULT;
    o.chain_id = "";
    refused(&o, "chain id");
    o.chain_id = NULL; /* the default */
    o.org_code = "440000-too-long-for-an-organisation-code";
    refused(&o, "organisation code");
    o.org_code = "44 00";
    refused(&o, "root organisation");
    o.org_code = NULL;
    o.org_name = "";
    refused(&o, "root organisation");

    testnet_defaults(&o);
    refused(&o, "no directory");
}

/* One validator, own names, into an existing empty directory: it is taken over. */
static void
test_small_network(void **state)
{
    struct ts *t = *state;
    char dir[PATH_MAX], why[256] = "";
    path_of(dir, t->tmp, "small");
    assert_int_equal(mkdir(dir, 0755), 0);
    struct testnet_opts o;
    testnet_defaults(&o);
    o.dir = dir;
    o.base_port = 40000;
    o.chain_id = "test-1";
    o.org_code = "110000";
    o.org_name = "北京市教育委员会";
    idl_err rc = testnet_write(&o, why, sizeof(why));
    if (rc)
        fail_msg("testnet_write: %s", why);
    assert_int_equal(mode_of(dir, "."), 0700);
    struct genesis g;
    char path[PATH_MAX];
    path_of(path, dir, "genesis.json");
    assert_int_equal(genesis_load(&g, path, why, sizeof(why)), IDL_OK);
    assert_string_equal(g.ledger.chain_id, "test-1");
    assert_string_equal(g.ledger.root.code, "110000");
    assert_string_equal(g.ledger.root.name, "北京市教育委员会");
    assert_int_equal(g.ledger.n_validators, 1);
    /* Another network, another chain: its secret and keys are its own. */
    assert_memory_not_equal(g.chain_secret, t->g.chain_secret, PERSON_SECRET_BYTES);
    assert_memory_not_equal(g.ledger.admins[0].pubkey, t->g.ledger.admins[0].pubkey,
                            SIG_PUBKEY_BYTES);
    genesis_wipe(&g);
    struct idl_bytes text;
    read_text(dir, "node0/config.json", &text);
    json_t *c = json_loadb((const char *)text.data, text.len, 0, NULL);
    free(text.data);
    assert_int_equal(json_array_size(json_object_get(c, "peers")), 0);
    assert_true(json_is_array(json_object_get(c, "peers")));
    assert_string_equal(jstr(c, "api_listen"), "127.0.0.1:40000");
    assert_string_equal(jstr(c, "p2p_listen"), "127.0.0.1:40001");
    json_decref(c);
    path_of(path, dir, "node1");
    assert_false(exists(path));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modes_and_passphrase),
        cmocka_unit_test(test_genesis),
        cmocka_unit_test(test_admin_keys),
        cmocka_unit_test(test_configs),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_readme),
        cmocka_unit_test(test_refuses_existing),
        cmocka_unit_test(test_refuses_options),
        cmocka_unit_test(test_small_network),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * Unit tests of genesis/genesis.h. The test writes a valid genesis JSON text itself (chain
 * "dev", 2026-11-23T00:00:00Z, root 440000 广东省教育厅, three root admins with real x-only
 * keys from wallet_key_generate and distinct persons, one or four validators, a policy and
 * a chain secret) and checks: genesis_parse fills every field (posts, org, status, policy,
 * validator powers); genesis_to_json then genesis_parse keeps the hash; reformatting
 * (whitespace, member order) keeps the hash; changing any one of chain_id, time, root name,
 * an admin pubkey, a validator power, a policy value or the chain secret changes it;
 * refusals with a reason naming the problem (not JSON, unknown or missing members at every
 * level, bad hex, invalid keys, validator count, duplicates, power, policy values, time
 * format, chain_id characters), after which the genesis is wiped; genesis_save writes mode
 * 0600 and genesis_load reads it back with the same hash; and ledger_open on a fresh
 * LevelDB with that genesis works, reopens with it, and refuses (IDL_ERR_CHAIN) a genesis
 * with another chain secret.
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

#include "codec.h"
#include "file.h"
#include "genesis/genesis.h"
#include "store.h"
#include "wallet/key.h"

#define GENESIS_TIME_MS 1795392000000ull /* 2026-11-23T00:00:00Z */
#define N_VALIDATORS 4

/* BIP-340 test vector 5: an x coordinate that is not on the curve. */
#define NOT_A_KEY "\"eefdea4cdb677750a420fee807eacf21eb9898ae79b9768766e4faa04a2d4a34\""

struct gs {
    char dir[64];
    char admin_pk[LEDGER_ROOT_ADMINS][2 * SIG_PUBKEY_BYTES + 1];
    char val_pk[N_VALIDATORS][2 * SIG_PUBKEY_BYTES + 1];
    char other_pk[2 * SIG_PUBKEY_BYTES + 1];
    uint8_t admin_raw[LEDGER_ROOT_ADMINS][SIG_PUBKEY_BYTES];
    uint8_t val_raw[N_VALIDATORS][SIG_PUBKEY_BYTES];
};

static const char *const admin_ids[] = {"root-sysadmin", "root-secadmin", "root-auditor"};
static const uint64_t powers[N_VALIDATORS] = {1, 2, 3, 10};

static void
new_key_hex(char hex[2 * SIG_PUBKEY_BYTES + 1], uint8_t raw[SIG_PUBKEY_BYTES])
{
    struct wallet_key *k;
    assert_int_equal(wallet_key_generate(&k), IDL_OK);
    codec_hex_encode(hex, k->pk, SIG_PUBKEY_BYTES);
    if (raw)
        memcpy(raw, k->pk, SIG_PUBKEY_BYTES);
    wallet_key_free(k);
}

static int
group_setup(void **state)
{
    struct gs *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    for (int i = 0; i < LEDGER_ROOT_ADMINS; i++)
        new_key_hex(g->admin_pk[i], g->admin_raw[i]);
    for (int i = 0; i < N_VALIDATORS; i++)
        new_key_hex(g->val_pk[i], g->val_raw[i]);
    new_key_hex(g->other_pk, NULL);
    *state = g;
    return 0;
}

static int
group_teardown(void **state)
{
    free(*state);
    return 0;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int
setup_dir(void **state)
{
    struct gs *g = *state;
    snprintf(g->dir, sizeof(g->dir), "/tmp/idl-genesis-test-XXXXXX");
    assert_non_null(mkdtemp(g->dir));
    return 0;
}

static int
teardown_dir(void **state)
{
    struct gs *g = *state;
    nftw(g->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    g->dir[0] = '\0';
    return 0;
}

/* Person keys: 32 distinct bytes each, 0x11..., 0x22..., 0x33... */
#define PERSON(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define SECRET "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

/* A valid genesis text with n_val validators (1 to N_VALIDATORS); caller frees. */
static char *
genesis_text(const struct gs *g, int n_val)
{
    char vals[2048] = "";
    size_t off = 0;
    for (int i = 0; i < n_val; i++)
        off += (size_t)snprintf(vals + off, sizeof(vals) - off,
                                "%s\n    {\"name\": \"node%d\", \"pubkey\": \"%s\", \"power\": %llu}",
                                i ? "," : "", i, g->val_pk[i], (unsigned long long)powers[i]);
    assert_true(off < sizeof(vals));
    char *text = malloc(8192);
    assert_non_null(text);
    int n = snprintf(
        text, 8192,
        "{\n"
        "  \"chain_id\": \"dev\",\n"
        "  \"genesis_time\": \"2026-11-23T00:00:00Z\",\n"
        "  \"root\": {\"code\": \"440000\", \"name\": \"广东省教育厅\"},\n"
        "  \"admins\": {\n"
        "    \"sysadmin\": {\"id\": \"root-sysadmin\", \"pubkey\": \"%s\",\n"
        "                 \"person\": \"" PERSON("11") "\"},\n"
        "    \"secadmin\": {\"id\": \"root-secadmin\", \"pubkey\": \"%s\",\n"
        "                 \"person\": \"" PERSON("22") "\"},\n"
        "    \"auditor\": {\"id\": \"root-auditor\", \"pubkey\": \"%s\",\n"
        "                \"person\": \"" PERSON("33") "\"}\n"
        "  },\n"
        "  \"validators\": [%s\n  ],\n"
        "  \"policy\": {\"same_person_sys_sec\": \"schools\", \"mgmt_business_roles\": true,\n"
        "             \"review_interval_days\": 90},\n"
        "  \"chain_secret\": \"" SECRET "\"\n"
        "}\n",
        g->admin_pk[0], g->admin_pk[1], g->admin_pk[2], vals);
    assert_true(n > 0 && n < 8192);
    return text;
}

static json_t *
genesis_json(const struct gs *g, int n_val)
{
    char *text = genesis_text(g, n_val);
    json_error_t err;
    json_t *root = json_loads(text, 0, &err);
    free(text);
    if (!root)
        fail_msg("the test's own genesis text is not JSON: %s", err.text);
    return root;
}

/* The value at a dotted path ("admins.sysadmin", "validators.1"), or NULL. */
static json_t *
json_at(json_t *root, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *cur = root;
    for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok && cur;
         tok = strtok_r(NULL, ".", &save))
        cur = json_is_array(cur) ? json_array_get(cur, strtoul(tok, NULL, 10))
                                 : json_object_get(cur, tok);
    return cur;
}

/* Sets (value JSON text) or, with value NULL, deletes the member at path. */
static void
json_edit(json_t *root, const char *path, const char *value)
{
    char parent[128];
    snprintf(parent, sizeof(parent), "%s", path);
    char *dot = strrchr(parent, '.');
    const char *name = dot ? dot + 1 : parent;
    json_t *obj = root;
    if (dot) {
        *dot = '\0';
        obj = json_at(root, parent);
    }
    assert_non_null(obj);
    if (!value) {
        assert_int_equal(json_object_del(obj, name), 0);
        return;
    }
    json_error_t err;
    json_t *v = json_loads(value, JSON_DECODE_ANY, &err);
    if (!v)
        fail_msg("bad test value %s: %s", value, err.text);
    if (json_is_array(obj))
        assert_int_equal(json_array_set_new(obj, strtoul(name, NULL, 10), v), 0);
    else
        assert_int_equal(json_object_set_new(obj, name, v), 0);
}

static idl_err
parse_json(json_t *root, size_t flags, struct genesis *out, char *why, size_t why_len)
{
    char *text = json_dumps(root, flags);
    assert_non_null(text);
    idl_err rc = genesis_parse(out, text, strlen(text), why, why_len);
    free(text);
    return rc;
}

static void
parse_ok(const char *text, struct genesis *out)
{
    char why[LEDGER_WHY_MAX] = "";
    if (genesis_parse(out, text, strlen(text), why, sizeof(why)) != IDL_OK)
        fail_msg("genesis_parse: %s", why);
}

static void
parse_json_ok(json_t *root, size_t flags, struct genesis *out)
{
    char why[LEDGER_WHY_MAX] = "";
    if (parse_json(root, flags, out, why, sizeof(why)) != IDL_OK)
        fail_msg("genesis_parse: %s", why);
}

/* The base genesis (four validators) parsed. */
static void
base_genesis(const struct gs *g, struct genesis *out)
{
    char *text = genesis_text(g, N_VALIDATORS);
    parse_ok(text, out);
    free(text);
}

static void
expect_wiped(const struct genesis *g)
{
    static const struct genesis zero;
    assert_memory_equal(g, &zero, sizeof(zero));
}

/* ---- parsing a valid genesis ---- */

static void
test_parse_valid_genesis_fills_every_field(void **state)
{
    struct gs *s = *state;
    struct genesis g;
    base_genesis(s, &g);
    const struct ledger_genesis *l = &g.ledger;
    assert_string_equal(l->chain_id, "dev");
    assert_int_equal(l->time_ms, GENESIS_TIME_MS);
    assert_string_equal(l->root.code, "440000");
    assert_string_equal(l->root.name, "广东省教育厅");
    assert_int_equal(l->root.kind, ORG_KIND_PROVINCE);
    assert_string_equal(l->root.parent, "");
    for (int i = 0; i < LEDGER_ROOT_ADMINS; i++) {
        const struct rec_account *a = &l->admins[i];
        assert_string_equal(a->id, admin_ids[i]);
        assert_string_equal(a->org, "440000");
        assert_int_equal(a->class, CLASS_MANAGEMENT);
        assert_int_equal(a->post, POST_SYSADMIN + i);
        assert_int_equal(a->status, STATUS_ACTIVE);
        assert_int_equal(a->authorized, 1);
        assert_memory_equal(a->pubkey, s->admin_raw[i], SIG_PUBKEY_BYTES);
        for (int j = 0; j < HASH_BYTES; j++)
            assert_int_equal(a->person[j], 0x11 * (i + 1));
    }
    assert_int_equal(l->n_validators, N_VALIDATORS);
    for (int i = 0; i < N_VALIDATORS; i++) {
        char name[16];
        snprintf(name, sizeof(name), "node%d", i);
        assert_string_equal(l->validators[i].name, name);
        assert_memory_equal(l->validators[i].pubkey, s->val_raw[i], SIG_PUBKEY_BYTES);
        assert_int_equal(l->validators[i].power, powers[i]);
    }
    assert_int_equal(l->policy.same_person_sys_sec, SAME_SCHOOLS);
    assert_int_equal(l->policy.mgmt_business_roles, 1);
    assert_int_equal(l->policy.review_interval_days, 90);
    for (int i = 0; i < PERSON_SECRET_BYTES; i++)
        assert_int_equal(g.chain_secret[i], i);
    /* The hash is set, and is what genesis_compute_hash says. */
    uint8_t h[HASH_BYTES];
    memcpy(h, l->hash, HASH_BYTES);
    assert_false(hash_is_zero(h));
    memset(g.ledger.hash, 0, HASH_BYTES);
    genesis_compute_hash(&g);
    assert_memory_equal(g.ledger.hash, h, HASH_BYTES);
    genesis_wipe(&g);
    expect_wiped(&g);
}

static void
test_parse_single_validator_and_other_policy_values(void **state)
{
    struct gs *s = *state;
    json_t *root = genesis_json(s, 1);
    json_edit(root, "policy.same_person_sys_sec", "\"never\"");
    json_edit(root, "policy.mgmt_business_roles", "false");
    json_edit(root, "policy.review_interval_days", "3660");
    struct genesis g;
    parse_json_ok(root, 0, &g);
    assert_int_equal(g.ledger.n_validators, 1);
    assert_string_equal(g.ledger.validators[0].name, "node0");
    assert_int_equal(g.ledger.validators[0].power, 1);
    assert_int_equal(g.ledger.policy.same_person_sys_sec, SAME_NEVER);
    assert_int_equal(g.ledger.policy.mgmt_business_roles, 0);
    assert_int_equal(g.ledger.policy.review_interval_days, 3660);
    json_edit(root, "policy.same_person_sys_sec", "\"always\"");
    json_edit(root, "validators.0.power", "1000000");
    parse_json_ok(root, 0, &g);
    assert_int_equal(g.ledger.policy.same_person_sys_sec, SAME_ALWAYS);
    assert_int_equal(g.ledger.validators[0].power, 1000000);
    json_decref(root);
}

/* ---- the hash ---- */

static void
test_to_json_round_trip_keeps_hash_and_fields(void **state)
{
    struct gs *s = *state;
    for (int n_val = 1; n_val <= N_VALIDATORS; n_val += N_VALIDATORS - 1) {
        char *text = genesis_text(s, n_val);
        struct genesis a, b;
        parse_ok(text, &a);
        free(text);
        char *json = genesis_to_json(&a);
        assert_non_null(json);
        parse_ok(json, &b);
        assert_memory_equal(a.ledger.hash, b.ledger.hash, HASH_BYTES);
        assert_string_equal(b.ledger.chain_id, "dev");
        assert_int_equal(b.ledger.time_ms, GENESIS_TIME_MS);
        assert_string_equal(b.ledger.root.name, "广东省教育厅");
        assert_int_equal(b.ledger.n_validators, (size_t)n_val);
        assert_int_equal(b.ledger.validators[n_val - 1].power, powers[n_val - 1]);
        assert_memory_equal(b.chain_secret, a.chain_secret, PERSON_SECRET_BYTES);
        /* The text is stable: serialising the reparsed genesis gives the same text. */
        char *again = genesis_to_json(&b);
        assert_non_null(again);
        assert_string_equal(again, json);
        free(json);
        free(again);
    }
}

/* A copy of v with every object's members inserted in reverse sorted order. */
static json_t *
reverse_members(json_t *v)
{
    if (json_is_array(v)) {
        json_t *out = json_array();
        for (size_t i = 0; i < json_array_size(v); i++)
            json_array_append_new(out, reverse_members(json_array_get(v, i)));
        return out;
    }
    if (!json_is_object(v))
        return json_deep_copy(v);
    const char *keys[16];
    size_t n = 0;
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val)
    {
        assert_true(n < IDL_ARRAY_LEN(keys));
        keys[n++] = key;
    }
    /* Sort descending. */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) < 0; j--) {
            const char *t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    json_t *out = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(out, keys[i], reverse_members(json_object_get(v, keys[i])));
    return out;
}

static void
test_reformatting_does_not_change_hash(void **state)
{
    struct gs *s = *state;
    struct genesis base, g;
    base_genesis(s, &base);
    json_t *root = genesis_json(s, N_VALIDATORS);
    static const size_t flags[] = {JSON_COMPACT, JSON_COMPACT | JSON_SORT_KEYS,
                                   JSON_INDENT(8) | JSON_SORT_KEYS, JSON_INDENT(1),
                                   JSON_ENSURE_ASCII | JSON_INDENT(3)};
    for (size_t i = 0; i < IDL_ARRAY_LEN(flags); i++) {
        parse_json_ok(root, flags[i], &g);
        if (memcmp(g.ledger.hash, base.ledger.hash, HASH_BYTES) != 0)
            fail_msg("dump flags #%zu changed the hash", i);
    }
    /* Members in reverse order at every level, compact and indented. */
    json_t *rev = reverse_members(root);
    char *text = json_dumps(rev, JSON_COMPACT);
    assert_non_null(text);
    assert_true(strncmp(text, "{\"validators\":", 14) == 0); /* really reordered */
    parse_ok(text, &g);
    assert_memory_equal(g.ledger.hash, base.ledger.hash, HASH_BYTES);
    free(text);
    parse_json_ok(rev, JSON_INDENT(2), &g);
    assert_memory_equal(g.ledger.hash, base.ledger.hash, HASH_BYTES);
    /* Tabs, CRLF and spaces around every token. */
    text = genesis_text(s, N_VALIDATORS);
    size_t n = strlen(text);
    char *spaced = malloc(3 * n + 1);
    assert_non_null(spaced);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '\n') {
            spaced[o++] = '\r';
            spaced[o++] = '\n';
            spaced[o++] = '\t';
        } else {
            spaced[o++] = text[i];
        }
    }
    spaced[o] = '\0';
    parse_ok(spaced, &g);
    assert_memory_equal(g.ledger.hash, base.ledger.hash, HASH_BYTES);
    free(spaced);
    free(text);
    json_decref(rev);
    json_decref(root);
}

static void
test_changing_any_field_changes_hash(void **state)
{
    struct gs *s = *state;
    char other[2 * SIG_PUBKEY_BYTES + 3];
    snprintf(other, sizeof(other), "\"%s\"", s->other_pk);
    const struct {
        const char *path, *value;
    } changes[] = {
        {"chain_id", "\"dev2\""},
        {"genesis_time", "\"2026-11-23T00:00:01Z\""},
        {"root.name", "\"广东省教育厅。\""},
        {"root.code", "\"450000\""},
        {"admins.sysadmin.pubkey", other},
        {"admins.auditor.pubkey", other},
        {"admins.secadmin.id", "\"root-secadmin2\""},
        {"admins.secadmin.person", "\"" PERSON("44") "\""},
        {"validators.1.power", "7"},
        {"validators.3.name", "\"node9\""},
        {"validators.2.pubkey", other},
        {"policy.same_person_sys_sec", "\"never\""},
        {"policy.mgmt_business_roles", "false"},
        {"policy.review_interval_days", "91"},
        {"chain_secret", "\"010102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\""},
        {"chain_secret", "\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1e\""},
    };
    uint8_t hashes[IDL_ARRAY_LEN(changes) + 1][HASH_BYTES];
    struct genesis g;
    base_genesis(s, &g);
    memcpy(hashes[0], g.ledger.hash, HASH_BYTES);
    for (size_t i = 0; i < IDL_ARRAY_LEN(changes); i++) {
        json_t *root = genesis_json(s, N_VALIDATORS);
        json_edit(root, changes[i].path, changes[i].value);
        char why[LEDGER_WHY_MAX] = "";
        if (parse_json(root, 0, &g, why, sizeof(why)) != IDL_OK)
            fail_msg("change %s=%s refused: %s", changes[i].path, changes[i].value, why);
        json_decref(root);
        memcpy(hashes[i + 1], g.ledger.hash, HASH_BYTES);
        /* Different from the base and from every other change. */
        for (size_t j = 0; j <= i; j++)
            if (!memcmp(hashes[i + 1], hashes[j], HASH_BYTES))
                fail_msg("change %s=%s gives the hash of %s", changes[i].path, changes[i].value,
                         j ? changes[j - 1].path : "the base genesis");
    }
    /* Dropping validators changes it too. */
    json_t *one = genesis_json(s, 1);
    parse_json_ok(one, 0, &g);
    json_decref(one);
    assert_memory_not_equal(g.ledger.hash, hashes[0], HASH_BYTES);
}

/* ---- refusals ---- */

static void
expect_refused_text(const char *text, const char *want_in_why)
{
    struct genesis g;
    memset(&g, 0xa5, sizeof(g));
    char why[LEDGER_WHY_MAX] = "";
    idl_err rc = genesis_parse(&g, text, strlen(text), why, sizeof(why));
    if (rc == IDL_OK)
        fail_msg("accepted, expected a refusal mentioning \"%s\"", want_in_why);
    assert_int_equal(rc, IDL_ERR_INVALID);
    if (!strstr(why, want_in_why))
        fail_msg("reason \"%s\" does not mention \"%s\"", why, want_in_why);
    expect_wiped(&g);
}

static void
test_parse_refuses_text_that_is_not_json(void **state)
{
    struct gs *s = *state;
    expect_refused_text("", "not JSON");
    expect_refused_text("{not json", "not JSON");
    expect_refused_text("chain_id: dev", "not JSON");
    /* A valid document followed by garbage, and one with a duplicated member. */
    char *text = genesis_text(s, 1);
    size_t n = strlen(text);
    char *buf = malloc(n + 64);
    assert_non_null(buf);
    snprintf(buf, n + 64, "%s}", text);
    expect_refused_text(buf, "not JSON");
    snprintf(buf, n + 64, "{\"chain_id\": \"other\",%s", text + 1);
    expect_refused_text(buf, "not JSON");
    free(buf);
    free(text);
    /* JSON, but not an object. */
    expect_refused_text("[]", "must be an object");
    expect_refused_text("[1, 2]", "must be an object");
}

struct refusal {
    const char *path;
    const char *value; /* JSON text; NULL deletes the member */
    const char *why;   /* must appear in the reason */
};

static void
expect_refusals(const struct gs *s, const struct refusal *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_t *root = genesis_json(s, N_VALIDATORS);
        json_edit(root, r[i].path, r[i].value);
        char *text = json_dumps(root, JSON_INDENT(2));
        assert_non_null(text);
        json_decref(root);
        struct genesis g;
        memset(&g, 0xa5, sizeof(g));
        char why[LEDGER_WHY_MAX] = "";
        idl_err rc = genesis_parse(&g, text, strlen(text), why, sizeof(why));
        free(text);
        if (rc == IDL_OK)
            fail_msg("%s %s=%s was accepted", r[i].value ? "setting" : "deleting", r[i].path,
                     r[i].value ? r[i].value : "");
        if (rc != IDL_ERR_INVALID)
            fail_msg("%s=%s: got %s, want invalid", r[i].path, r[i].value ? r[i].value : "",
                     idl_errname(rc));
        if (!strstr(why, r[i].why))
            fail_msg("%s=%s: reason \"%s\" does not mention \"%s\"", r[i].path,
                     r[i].value ? r[i].value : "(deleted)", why, r[i].why);
        expect_wiped(&g);
    }
}

static void
test_parse_refuses_unknown_members(void **state)
{
    static const struct refusal r[] = {
        {"extra", "1", "unknown member genesis.extra"},
        {"chainid", "\"dev\"", "unknown member genesis.chainid"},
        {"policy.typo", "1", "unknown member policy.typo"},
        {"root.parent", "\"\"", "unknown member root.parent"},
        {"admins.operator", "{}", "unknown member admins.operator"},
        {"admins.auditor.note", "\"x\"", "unknown member auditor.note"},
        {"validators.2.weight", "1", "unknown member validators[].weight"},
    };
    expect_refusals(*state, r, IDL_ARRAY_LEN(r));
}

static void
test_parse_refuses_missing_members(void **state)
{
    static const struct refusal r[] = {
        {"chain_id", NULL, "missing member genesis.chain_id"},
        {"genesis_time", NULL, "missing member genesis.genesis_time"},
        {"policy", NULL, "missing member genesis.policy"},
        {"chain_secret", NULL, "missing member genesis.chain_secret"},
        {"root.name", NULL, "missing member root.name"},
        {"admins.auditor", NULL, "missing member admins.auditor"},
        {"admins.secadmin.person", NULL, "missing member secadmin.person"},
        {"validators.0.power", NULL, "missing member validators[].power"},
        {"policy.review_interval_days", NULL, "missing member policy.review_interval_days"},
    };
    expect_refusals(*state, r, IDL_ARRAY_LEN(r));
}

static void
test_parse_refuses_members_of_the_wrong_shape(void **state)
{
    static const struct refusal r[] = {
        {"root", "\"440000\"", "root must be an object"},
        {"admins", "[]", "admins must be an object"},
        {"admins.sysadmin", "\"root-sysadmin\"", "sysadmin must be an object"},
        {"policy", "null", "policy must be an object"},
        {"validators.1", "\"node1\"", "validators[] must be an object"},
        {"chain_id", "7", "chain_id"},
        {"admins.sysadmin.id", "null", "id"},
        {"root.name", "[\"广东省教育厅\"]", "name"},
    };
    expect_refusals(*state, r, IDL_ARRAY_LEN(r));
}

static void
test_parse_refuses_bad_hex(void **state)
{
    static const struct refusal r[] = {
        {"chain_secret", "\"" PERSON("zz") "\"", "chain_secret"},
        {"chain_secret", "\"" PERSON("00") "0\"", "chain_secret"},
        {"chain_secret", "\"00\"", "chain_secret"},
        {"chain_secret", "1", "chain_secret"},
        {"chain_secret", "\"" PERSON("00") "\"", "chain_secret is all zeros"},
        {"admins.sysadmin.person", "\"" PERSON("1g") "\"", "person"},
        {"admins.auditor.person", "\"0x" PERSON("33") "\"", "admins.auditor.person must be"},
        {"admins.secadmin.pubkey", "\"" PERSON("2") "\"", "pubkey"},
        {"validators.0.pubkey", "\"\"", "pubkey"},
        {"validators.3.pubkey", "\" " PERSON("ab") "\"", "validators[3].pubkey must be"},
    };
    expect_refusals(*state, r, IDL_ARRAY_LEN(r));
}

static void
test_parse_refuses_admin_pubkey_that_is_not_a_key(void **state)
{
    static const struct refusal r[] = {
        {"admins.sysadmin.pubkey", NOT_A_KEY, "admins.sysadmin.pubkey is not a valid key"},
        {"admins.secadmin.pubkey", NOT_A_KEY, "admins.secadmin.pubkey is not a valid key"},
        {"admins.auditor.pubkey", "\"" PERSON("00") "\"", "admins.auditor.pubkey"},
        {"admins.auditor.pubkey", "\"" PERSON("ff") "\"", "admins.auditor.pubkey"},
    };
    expect_refusals(*state, r, IDL_ARRAY_LEN(r));
}

static void
test_parse_refuses_validator_pubkey_that_is_not_a_key(void **state)
{
    /* ledger_open refuses such a genesis later, but genesis_parse promises to refuse
     * out-of-range values itself, as it does for the admins' keys. */
    static const struct refusal r[] = {
        {"validators.0.pubkey", NOT_A_KEY, "pubkey"},
        {"validators.2.pubkey", "\"" PERSON("00") "\"", "pubkey"},
    };
    expect_refusals(*state, r, IDL_ARRAY_LEN(r));
}

static void
test_parse_refuses_bad_validator_sets(void **state)
{
    struct gs *s = *state;
    char dup_key[2 * SIG_PUBKEY_BYTES + 3];
    snprintf(dup_key, sizeof(dup_key), "\"%s\"", s->val_pk[0]);
    const struct refusal r[] = {
        {"validators", "[]", "validators must list 1 to"},
        {"validators", "{}", "validators must list 1 to"},
        {"validators", "\"node0\"", "validators must list 1 to"},
        {"validators.3.pubkey", dup_key, "validator node3 is listed twice"},
        {"validators.1.name", "\"node0\"", "validator node0 is listed twice"},
        {"validators.0.power", "0", "validator node0 needs a power"},
        {"validators.1.power", "-1", "validator node1 needs a power"},
        {"validators.2.power", "1000001", "validator node2 needs a power"},
        {"validators.2.power", "\"3\"", "validator node2 needs a power"},
        {"validators.2.power", "1.5", "validator node2 needs a power"},
        {"validators.3.power", "true", "validator node3 needs a power"},
    };
    expect_refusals(s, r, IDL_ARRAY_LEN(r));

    /* More than LEDGER_VALIDATORS_MAX validators. */
    json_t *root = genesis_json(s, 1);
    json_t *vals = json_object_get(root, "validators");
    for (int i = 1; i <= LEDGER_VALIDATORS_MAX; i++) {
        char hex[2 * SIG_PUBKEY_BYTES + 1], name[32];
        new_key_hex(hex, NULL);
        snprintf(name, sizeof(name), "extra%d", i);
        json_array_append_new(vals, json_pack("{s:s, s:s, s:i}", "name", name, "pubkey", hex,
                                              "power", 1));
    }
    struct genesis g;
    char why[LEDGER_WHY_MAX] = "";
    assert_int_equal(parse_json(root, JSON_COMPACT, &g, why, sizeof(why)), IDL_ERR_INVALID);
    assert_non_null(strstr(why, "validators must list 1 to 64"));
    /* Exactly the maximum is fine. */
    json_array_remove(vals, json_array_size(vals) - 1);
    assert_int_equal(json_array_size(vals), LEDGER_VALIDATORS_MAX);
    parse_json_ok(root, JSON_COMPACT, &g);
    assert_int_equal(g.ledger.n_validators, LEDGER_VALIDATORS_MAX);
    json_decref(root);
}

static void
test_parse_refuses_bad_policy_values(void **state)
{
    static const struct refusal r[] = {
        {"policy.same_person_sys_sec", "\"sometimes\"", "same_person_sys_sec"},
        {"policy.same_person_sys_sec", "\"\"", "same_person_sys_sec"},
        {"policy.same_person_sys_sec", "\"Never\"", "same_person_sys_sec"},
        {"policy.same_person_sys_sec", "2", "same_person_sys_sec"},
        {"policy.mgmt_business_roles", "\"yes\"", "mgmt_business_roles"},
        {"policy.mgmt_business_roles", "1", "mgmt_business_roles"},
        {"policy.review_interval_days", "0", "review_interval_days"},
        {"policy.review_interval_days", "3661", "review_interval_days"},
        {"policy.review_interval_days", "\"182\"", "review_interval_days"},
    };
    expect_refusals(*state, r, IDL_ARRAY_LEN(r));
}

static void
test_parse_refuses_bad_time_format(void **state)
{
    static const struct refusal r[] = {
        {"genesis_time", "\"2026-11-23 00:00:00\"", "genesis_time"},
        {"genesis_time", "\"2026-11-23T00:00:00\"", "genesis_time"},
        {"genesis_time", "\"2026-11-23T00:00:00+08:00\"", "genesis_time"},
        {"genesis_time", "\"2026-11-23T00:00:00Zjunk\"", "genesis_time"},
        {"genesis_time", "\"2026-11-23\"", "genesis_time"},
        {"genesis_time", "\"23/11/2026\"", "genesis_time"},
        {"genesis_time", "\"2026-13-01T00:00:00Z\"", "genesis_time"},
        {"genesis_time", "\"2026-11-23T25:00:00Z\"", "genesis_time"},
        {"genesis_time", "\"2026-02-30T00:00:00Z\"", "genesis_time"}, /* no such day */
        {"genesis_time", "\"\"", "genesis_time"},
        {"genesis_time", "1795392000", "genesis_time"},
    };
    expect_refusals(*state, r, IDL_ARRAY_LEN(r));
}

static void
test_parse_refuses_chain_id_with_bad_character(void **state)
{
    static const struct refusal r[] = {
        {"chain_id", "\"dev chain\"", "chain_id"},
        {"chain_id", "\"dev/1\"", "chain_id"},
        {"chain_id", "\"dev\\n\"", "chain_id"},
        {"chain_id", "\"链\"", "chain_id"},
        {"chain_id", "\"abcdefghijabcdefghijabcdefghijabc\"", "chain_id"}, /* 33 bytes */
    };
    expect_refusals(*state, r, IDL_ARRAY_LEN(r));
    /* Letters, digits, '.', '_' and '-' up to 32 bytes are fine. */
    struct gs *s = *state;
    json_t *root = genesis_json(s, 1);
    json_edit(root, "chain_id", "\"Dev_2.test-chain-0123456789abcde\"");
    struct genesis g;
    parse_json_ok(root, 0, &g);
    assert_string_equal(g.ledger.chain_id, "Dev_2.test-chain-0123456789abcde");
    json_decref(root);
}

static void
test_parse_refuses_empty_chain_id(void **state)
{
    /* Transactions with an empty chain id are refused (ledger_tx_check), so a chain with
     * one could never accept a transaction. */
    static const struct refusal r[] = {{"chain_id", "\"\"", "chain_id"}};
    expect_refusals(*state, r, IDL_ARRAY_LEN(r));
}

static void
test_parse_refuses_bad_root_org(void **state)
{
    static const struct refusal r[] = {
        {"root.code", "\"\"", "code"},
        {"root.code", "\"44 0000\"", "code"},
        {"root.name", "\"\"", "name"},
        {"root.name", "\"bad\\u0001name\"", "name"},
    };
    expect_refusals(*state, r, IDL_ARRAY_LEN(r));
}

/* ---- files ---- */

static void
test_save_writes_mode_0600_and_load_gives_same_hash(void **state)
{
    struct gs *s = *state;
    struct genesis g, back;
    base_genesis(s, &g);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/genesis.json", s->dir);
    mode_t old = umask(0); /* the widest umask: the file must still be 0600 */
    idl_err rc = genesis_save(&g, path);
    umask(old);
    assert_int_equal(rc, IDL_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    char why[LEDGER_WHY_MAX] = "";
    if (genesis_load(&back, path, why, sizeof(why)) != IDL_OK)
        fail_msg("genesis_load: %s", why);
    assert_memory_equal(back.ledger.hash, g.ledger.hash, HASH_BYTES);
    assert_memory_equal(back.chain_secret, g.chain_secret, PERSON_SECRET_BYTES);
    assert_int_equal(back.ledger.n_validators, N_VALIDATORS);
    assert_string_equal(back.ledger.root.name, "广东省教育厅");

    /* Saving again replaces the file, still 0600, under the usual umask. */
    old = umask(022);
    json_t *root = genesis_json(s, 1);
    struct genesis one;
    parse_json_ok(root, 0, &one);
    json_decref(root);
    rc = genesis_save(&one, path);
    umask(old);
    assert_int_equal(rc, IDL_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(genesis_load(&back, path, why, sizeof(why)), IDL_OK);
    assert_memory_equal(back.ledger.hash, one.ledger.hash, HASH_BYTES);
    assert_int_equal(back.ledger.n_validators, 1);
}

static void
test_load_missing_or_invalid_file_fails_with_reason(void **state)
{
    struct gs *s = *state;
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/missing.json", s->dir);
    struct genesis g;
    char why[LEDGER_WHY_MAX] = "";
    assert_int_equal(genesis_load(&g, path, why, sizeof(why)), IDL_ERR_NOT_FOUND);
    assert_non_null(strstr(why, "missing.json"));
    expect_wiped(&g);

    snprintf(path, sizeof(path), "%s/broken.json", s->dir);
    assert_int_equal(file_write_atomic(path, "{\"chain_id\": ", 13, 0600), IDL_OK);
    why[0] = '\0';
    assert_int_equal(genesis_load(&g, path, why, sizeof(why)), IDL_ERR_INVALID);
    assert_non_null(strstr(why, "not JSON"));
    expect_wiped(&g);
}

/* ---- the root's three posts: distinct accounts, keys and people ---- */

static void
test_parse_refuses_admins_sharing_an_id_or_key(void **state)
{
    struct gs *s = *state;
    char sys_key[2 * SIG_PUBKEY_BYTES + 3], sec_key[2 * SIG_PUBKEY_BYTES + 3];
    snprintf(sys_key, sizeof(sys_key), "\"%s\"", s->admin_pk[0]);
    snprintf(sec_key, sizeof(sec_key), "\"%s\"", s->admin_pk[1]);
    const struct refusal r[] = {
        {"admins.secadmin.id", "\"root-sysadmin\"", "same account id root-sysadmin"},
        {"admins.auditor.id", "\"root-sysadmin\"", "same account id"},
        {"admins.auditor.id", "\"root-secadmin\"", "secadmin and auditor have the same account"},
        {"admins.secadmin.pubkey", sys_key, "same public key"},
        {"admins.auditor.pubkey", sec_key, "secadmin and auditor have the same public key"},
        {"admins.auditor.person", "\"" PERSON("11") "\"", "different person"},
        {"admins.auditor.person", "\"" PERSON("22") "\"", "different person"},
    };
    expect_refusals(s, r, IDL_ARRAY_LEN(r));
}

/* The root is a province: one person as its sysadmin and secadmin only under "always". */
static void
test_parse_same_person_at_root_follows_policy(void **state)
{
    struct gs *s = *state;
    static const struct {
        const char *policy;
        bool ok;
    } cases[] = {{"\"never\"", false}, {"\"schools\"", false}, {"\"always\"", true}};
    for (size_t i = 0; i < IDL_ARRAY_LEN(cases); i++) {
        json_t *root = genesis_json(s, N_VALIDATORS);
        json_edit(root, "admins.secadmin.person", "\"" PERSON("11") "\"");
        json_edit(root, "policy.same_person_sys_sec", cases[i].policy);
        struct genesis g;
        char why[LEDGER_WHY_MAX] = "";
        idl_err rc = parse_json(root, 0, &g, why, sizeof(why));
        json_decref(root);
        if (cases[i].ok) {
            if (rc != IDL_OK)
                fail_msg("policy %s: %s", cases[i].policy, why);
            genesis_wipe(&g);
            continue;
        }
        assert_int_equal(rc, IDL_ERR_INVALID);
        if (!strstr(why, "must be different people"))
            fail_msg("policy %s: reason \"%s\"", cases[i].policy, why);
        expect_wiped(&g);
    }
}

/* ledger_open runs the same checks on a genesis that did not come from a file. */
static void
test_ledger_open_refuses_duplicate_admins(void **state)
{
    struct gs *s = *state;
    struct genesis g;
    base_genesis(s, &g);
    struct store *st;
    assert_int_equal(store_memory_open(&st), IDL_OK);
    char why[LEDGER_WHY_MAX] = "";
    struct ledger *l = NULL;
    struct rec_account saved = g.ledger.admins[1];
    snprintf(g.ledger.admins[1].id, sizeof(g.ledger.admins[1].id), "root-sysadmin");
    assert_int_equal(ledger_open(&l, st, &g.ledger, why, sizeof(why)), IDL_ERR_INVALID);
    assert_non_null(strstr(why, "same account id"));
    g.ledger.admins[1] = saved;
    memcpy(g.ledger.admins[2].pubkey, g.ledger.admins[0].pubkey, SIG_PUBKEY_BYTES);
    assert_int_equal(ledger_open(&l, st, &g.ledger, why, sizeof(why)), IDL_ERR_INVALID);
    assert_non_null(strstr(why, "same public key"));
    genesis_wipe(&g);
    base_genesis(s, &g);
    memcpy(g.ledger.admins[1].person, g.ledger.admins[0].person, HASH_BYTES);
    g.ledger.policy.same_person_sys_sec = SAME_NEVER;
    assert_int_equal(ledger_open(&l, st, &g.ledger, why, sizeof(why)), IDL_ERR_POLICY);
    assert_null(l);
    /* Nothing of the refused geneses reached the store. */
    struct store_iter *it = store_iter_new(st);
    store_iter_seek(st, it, (const uint8_t *)"", 0);
    assert_false(store_iter_valid(st, it));
    store_iter_free(st, it);
    store_close(st);
    genesis_wipe(&g);
}

/* ---- the ledger on top ---- */

static void
test_ledger_opens_with_genesis_and_refuses_other_chain_secret(void **state)
{
    struct gs *s = *state;
    struct genesis g;
    base_genesis(s, &g);
    char why[LEDGER_WHY_MAX] = "";
    struct store *st;
    if (store_leveldb_open(&st, s->dir, why, sizeof(why)) != IDL_OK)
        fail_msg("store_leveldb_open: %s", why);
    struct ledger *l;
    if (ledger_open(&l, st, &g.ledger, why, sizeof(why)) != IDL_OK)
        fail_msg("ledger_open: %s", why);
    struct ledger_tip tip;
    ledger_tip(l, &tip);
    assert_int_equal(tip.height, 0);
    assert_int_equal(tip.time_ms, GENESIS_TIME_MS);
    assert_false(hash_is_zero(tip.state_hash));
    assert_string_equal(ledger_chain_id(l), "dev");
    assert_string_equal(ledger_root(l), "440000");
    size_t n = 0;
    const struct ledger_validator *v = ledger_validators(l, &n);
    assert_int_equal(n, N_VALIDATORS);
    assert_int_equal(v[3].power, powers[3]);
    ledger_close(l);
    store_close(st);

    /* The same genesis reopens the same chain, at the same state. */
    assert_int_equal(store_leveldb_open(&st, s->dir, why, sizeof(why)), IDL_OK);
    if (ledger_open(&l, st, &g.ledger, why, sizeof(why)) != IDL_OK)
        fail_msg("reopen: %s", why);
    struct ledger_tip tip2;
    ledger_tip(l, &tip2);
    assert_int_equal(tip2.height, 0);
    assert_memory_equal(tip2.state_hash, tip.state_hash, HASH_BYTES);
    ledger_close(l);

    /* A genesis that differs only in its chain secret is another chain. */
    json_t *root = genesis_json(s, N_VALIDATORS);
    json_edit(root, "chain_secret",
              "\"ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"");
    struct genesis other;
    parse_json_ok(root, 0, &other);
    json_decref(root);
    assert_memory_not_equal(other.ledger.hash, g.ledger.hash, HASH_BYTES);
    why[0] = '\0';
    l = (struct ledger *)(uintptr_t)1;
    assert_int_equal(ledger_open(&l, st, &other.ledger, why, sizeof(why)), IDL_ERR_CHAIN);
    assert_null(l);
    assert_true(strlen(why) > 0);
    store_close(st);
    genesis_wipe(&other);
    genesis_wipe(&g);
}

#define T(f) cmocka_unit_test(f)
#define TD(f) cmocka_unit_test_setup_teardown(f, setup_dir, teardown_dir)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_parse_valid_genesis_fills_every_field),
        T(test_parse_single_validator_and_other_policy_values),
        T(test_to_json_round_trip_keeps_hash_and_fields),
        T(test_reformatting_does_not_change_hash),
        T(test_changing_any_field_changes_hash),
        T(test_parse_refuses_text_that_is_not_json),
        T(test_parse_refuses_unknown_members),
        T(test_parse_refuses_missing_members),
        T(test_parse_refuses_members_of_the_wrong_shape),
        T(test_parse_refuses_bad_hex),
        T(test_parse_refuses_admin_pubkey_that_is_not_a_key),
        T(test_parse_refuses_validator_pubkey_that_is_not_a_key),
        T(test_parse_refuses_bad_validator_sets),
        T(test_parse_refuses_bad_policy_values),
        T(test_parse_refuses_bad_time_format),
        T(test_parse_refuses_chain_id_with_bad_character),
        T(test_parse_refuses_empty_chain_id),
        T(test_parse_refuses_bad_root_org),
        T(test_parse_refuses_admins_sharing_an_id_or_key),
        T(test_parse_same_person_at_root_follows_policy),
        T(test_ledger_open_refuses_duplicate_admins),
        TD(test_save_writes_mode_0600_and_load_gives_same_hash),
        TD(test_load_missing_or_invalid_file_fails_with_reason),
        TD(test_ledger_opens_with_genesis_and_refuses_other_chain_secret),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

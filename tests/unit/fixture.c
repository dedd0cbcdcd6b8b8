/*
 * The fixture drives the real ledger: real keys, real signatures, real LevelDB in a
 * temporary directory. Each fx_submit builds and commits a one-transaction block the way
 * a node would (ledger_block_build, then ledger_exec_commit with a certificate signed by
 * the fixture's single validator).
 */
#include "fixture.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct fx_actor *
actor_add(struct fx *f, const char *id, struct wallet_key *key)
{
    assert_true(f->n_actors < FX_ACTORS_MAX);
    struct fx_actor *a = &f->actors[f->n_actors++];
    snprintf(a->id, sizeof(a->id), "%s", id);
    a->key = key;
    a->nonce = 0;
    return a;
}

struct fx_actor *
fx_actor(struct fx *f, const char *id)
{
    for (size_t i = 0; i < f->n_actors; i++)
        if (strcmp(f->actors[i].id, id) == 0)
            return &f->actors[i];
    return NULL;
}

void
fx_id_number(unsigned seed, char out[19])
{
    snprintf(out, 19, "440106%04u%02u%02u%03u", 1950 + (seed / 100000) % 50,
             1 + (seed / 1000) % 12, 1 + (seed / 12000) % 28, seed % 1000);
    out[17] = idnum_check_char(out);
    out[18] = '\0';
}

void
fx_name(unsigned seed, char *out, size_t out_len)
{
    /* Names hold no digits (person_field_check): the seed's digits spelt in characters. */
    static const char *const digit[] = {"零", "一", "二", "三", "四", "五", "六", "七", "八", "九"};
    char digits[16];
    snprintf(digits, sizeof(digits), "%u", seed);
    size_t o = (size_t)snprintf(out, out_len, "测试");
    for (const char *d = digits; *d && o < out_len; d++)
        o += (size_t)snprintf(out + o, out_len - o, "%s", digit[*d - '0']);
}

static void
seal_field(struct fx *f, const uint8_t key[HASH_BYTES], unsigned field, const char *text,
           struct ledger_sealed *out)
{
    out->field = (uint8_t)field;
    assert_int_equal(person_seal(f->pkeys, key, field, text, &out->data), IDL_OK);
}

void
fx_person(struct fx *f, unsigned seed, struct ledger_person *p)
{
    char number[19], norm[IDNUM_NORM_MAX + 1], text[64];
    memset(p, 0, sizeof(*p));
    fx_id_number(seed, number);
    assert_int_equal(idnum_normalize(norm, IDNUM_DOC_RESIDENT, number, NULL), IDL_OK);
    p->doc_type = IDNUM_DOC_RESIDENT;
    person_index(f->pkeys, IDNUM_DOC_RESIDENT, norm, p->key);
    struct ledger_sealed *s = calloc(3, sizeof(*s));
    assert_non_null(s);
    fx_name(seed, text, sizeof(text));
    seal_field(f, p->key, PF_NAME, text, &s[0]);
    seal_field(f, p->key, PF_ID_NUMBER, norm, &s[1]);
    snprintf(text, sizeof(text), "139%08u", seed % 100000000);
    seal_field(f, p->key, PF_MOBILE, text, &s[2]);
    p->fields.items = s;
    p->fields.count = 3;
}

static void
fx_genesis(struct fx *f, const struct fx_options *opt)
{
    static const char *const ids[] = {"root-sysadmin", "root-secadmin", "root-auditor"};
    struct ledger_genesis *g = &f->g.ledger;
    memset(&f->g, 0, sizeof(f->g));
    snprintf(g->chain_id, sizeof(g->chain_id), "test");
    g->time_ms = 1700000000000ull;
    snprintf(g->root.code, sizeof(g->root.code), FX_ROOT);
    snprintf(g->root.name, sizeof(g->root.name), "广东省教育厅");
    g->root.kind = ORG_KIND_PROVINCE;
    for (int i = 0; i < 32; i++)
        f->g.chain_secret[i] = (uint8_t)(i * 7 + 1);
    assert_int_equal(person_keys_new(&f->pkeys, f->g.chain_secret), IDL_OK);
    for (int i = 0; i < LEDGER_ROOT_ADMINS; i++) {
        struct wallet_key *k;
        assert_int_equal(wallet_key_generate(&k), IDL_OK);
        struct rec_account *a = &g->admins[i];
        snprintf(a->id, sizeof(a->id), "%s", ids[i]);
        snprintf(a->org, sizeof(a->org), FX_ROOT);
        a->class = CLASS_MANAGEMENT;
        a->post = (uint8_t)(POST_SYSADMIN + i);
        a->status = STATUS_ACTIVE;
        a->authorized = 1;
        memcpy(a->pubkey, k->pk, SIG_PUBKEY_BYTES);
        char number[19], norm[IDNUM_NORM_MAX + 1];
        fx_id_number(900000 + (unsigned)i, number);
        assert_int_equal(idnum_normalize(norm, IDNUM_DOC_RESIDENT, number, NULL), IDL_OK);
        person_index(f->pkeys, IDNUM_DOC_RESIDENT, norm, a->person);
        actor_add(f, ids[i], k);
    }
    assert_int_equal(wallet_key_generate(&f->validator), IDL_OK);
    snprintf(g->validators[0].name, sizeof(g->validators[0].name), "node0");
    memcpy(g->validators[0].pubkey, f->validator->pk, SIG_PUBKEY_BYTES);
    g->validators[0].power = 1;
    g->n_validators = 1;
    genesis_policy_default(&g->policy);
    if (opt && opt->same_person)
        g->policy.same_person_sys_sec = (uint8_t)opt->same_person;
    if (opt && opt->mgmt_business_roles)
        g->policy.mgmt_business_roles = 1;
    if (opt && opt->review_interval_days)
        g->policy.review_interval_days = opt->review_interval_days;
    genesis_compute_hash(&f->g);
    g->pkeys = f->pkeys;
    f->time_ms = g->time_ms;
}

static void
fx_store_open(struct fx *f, bool memory)
{
    char why[256] = "";
    if (memory)
        assert_int_equal(store_memory_open(&f->store), IDL_OK);
    else if (store_leveldb_open(&f->store, f->dir, why, sizeof(why)) != IDL_OK)
        fail_msg("leveldb: %s", why);
    if (ledger_open(&f->ledger, f->store, &f->g.ledger, why, sizeof(why)) != IDL_OK)
        fail_msg("ledger_open: %s", why);
}

void
fx_open(struct fx *f, const struct fx_options *opt)
{
    memset(f, 0, sizeof(*f));
    assert_int_equal(sig_init(), IDL_OK);
    snprintf(f->dir, sizeof(f->dir), "/tmp/idl-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    fx_genesis(f, opt);
    fx_store_open(f, opt && opt->memory_store);
}

void
fx_shut(struct fx *f)
{
    ledger_close(f->ledger);
    store_close(f->store);
    f->ledger = NULL;
    f->store = NULL;
}

void
fx_reopen(struct fx *f)
{
    fx_shut(f);
    fx_store_open(f, false);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

void
fx_close(struct fx *f)
{
    fx_shut(f);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    for (size_t i = 0; i < f->n_actors; i++)
        wallet_key_free(f->actors[i].key);
    wallet_key_free(f->validator);
    person_keys_free(f->pkeys);
    genesis_wipe(&f->g);
}

void
fx_tx(struct fx *f, struct ledger_tx *tx, const char *actor, unsigned type)
{
    ledger_tx_init(tx, f->g.ledger.chain_id, type, actor);
    tx->time = f->time_ms / 1000;
    /* A form stands behind every fixture operation, unless the test says otherwise. */
    memset(tx->basis, f->no_basis ? 0 : 0xb5, HASH_BYTES);
}

struct drop {
    idl_err code;
    char *why;
    size_t why_len;
};

static void
on_drop(void *arg, uint32_t index, idl_err code, const char *why)
{
    struct drop *d = arg;
    (void)index;
    d->code = code;
    snprintf(d->why, d->why_len, "%s", why);
}

static void
commit_cert(struct fx *f, const struct ledger_block *b, struct idl_bytes *out)
{
    struct ledger_commit c = {.height = b->header.height};
    struct ledger_commit_sig s = {.validator = 0};
    memcpy(c.block_hash, b->hash, HASH_BYTES);
    uint8_t msg[HASH_BYTES];
    ledger_vote_sighash(msg, f->g.ledger.chain_id, VOTE_PRECOMMIT, c.height, 0, b->hash);
    assert_int_equal(sig_sign(s.sig, msg, f->validator->sk), IDL_OK);
    c.sigs.items = &s;
    c.sigs.count = 1;
    assert_int_equal(schema_encode_bytes(&ledger_commit_schema, &c, out), IDL_OK);
}

idl_err
fx_submit(struct fx *f, struct ledger_tx *tx)
{
    struct fx_actor *a = fx_actor(f, tx->actor);
    assert_non_null(a);
    tx->nonce = a->nonce + 1;
    assert_int_equal(ledger_tx_sign(tx, a->key->sk), IDL_OK);
    struct idl_bytes raw;
    assert_int_equal(ledger_tx_encode(tx, &raw), IDL_OK);
    ledger_tx_free(tx);

    f->time_ms += 1000;
    f->why[0] = '\0';
    struct drop d = {IDL_OK, f->why, sizeof(f->why)};
    struct ledger_exec *ex;
    assert_int_equal(ledger_block_build(f->ledger, &raw, 1, f->time_ms, f->validator->pk,
                                        NULL, on_drop, &d, &ex),
                     IDL_OK);
    free(raw.data);
    uint32_t n;
    const struct ledger_tx_result *res = ledger_exec_results(ex, &n);
    idl_err outcome = d.code;
    if (n == 1) {
        a->nonce++;
        memcpy(f->last_txid, res[0].txid, HASH_BYTES);
        outcome = res[0].code;
        snprintf(f->why, sizeof(f->why), "%s", res[0].reason);
    }
    struct idl_bytes cert;
    commit_cert(f, ledger_exec_block(ex), &cert);
    assert_int_equal(ledger_exec_commit(f->ledger, ex, &cert), IDL_OK);
    free(cert.data);
    return outcome;
}

idl_err
fx_submit_many(struct fx *f, struct ledger_tx *txs, size_t n)
{
    assert_true(n > 0);
    struct idl_bytes *raw = calloc(n ? n : 1, sizeof(*raw));
    assert_non_null(raw);
    for (size_t i = 0; i < n; i++) {
        struct fx_actor *a = fx_actor(f, txs[i].actor);
        assert_non_null(a);
        txs[i].nonce = ++a->nonce;
        assert_int_equal(ledger_tx_sign(&txs[i], a->key->sk), IDL_OK);
        assert_int_equal(ledger_tx_encode(&txs[i], &raw[i]), IDL_OK);
        ledger_tx_free(&txs[i]);
    }
    f->time_ms += 1000;
    f->why[0] = '\0';
    struct drop d = {IDL_OK, f->why, sizeof(f->why)};
    struct ledger_exec *ex;
    assert_int_equal(ledger_block_build(f->ledger, raw, (uint32_t)n, f->time_ms,
                                        f->validator->pk, NULL, on_drop, &d, &ex),
                     IDL_OK);
    for (size_t i = 0; i < n; i++)
        free(raw[i].data);
    free(raw);
    uint32_t got;
    const struct ledger_tx_result *res = ledger_exec_results(ex, &got);
    assert_int_equal(got, n); /* every one authenticated */
    idl_err outcome = IDL_OK;
    for (uint32_t i = 0; i < got && !outcome; i++) {
        outcome = res[i].code;
        snprintf(f->why, sizeof(f->why), "%s", res[i].reason);
    }
    memcpy(f->last_txid, res[got - 1].txid, HASH_BYTES);
    struct idl_bytes cert;
    commit_cert(f, ledger_exec_block(ex), &cert);
    assert_int_equal(ledger_exec_commit(f->ledger, ex, &cert), IDL_OK);
    free(cert.data);
    return outcome;
}

idl_err
fx_org_add(struct fx *f, const char *actor, const char *code, unsigned kind, const char *parent,
           unsigned school_type)
{
    struct ledger_tx tx;
    fx_tx(f, &tx, actor, TX_ORG_ADD);
    struct tx_org_add *b = &tx.body.org_add;
    snprintf(b->code, sizeof(b->code), "%s", code);
    snprintf(b->name, sizeof(b->name), "单位%s", code);
    b->kind = (uint8_t)kind;
    snprintf(b->parent, sizeof(b->parent), "%s", parent);
    b->school_type = (uint8_t)school_type;
    return fx_submit(f, &tx);
}

static idl_err
account_add(struct fx *f, const char *actor, const char *id, const char *org, unsigned class,
            unsigned post, unsigned seed, struct wallet_key *key)
{
    struct ledger_tx tx;
    fx_tx(f, &tx, actor, TX_ACCOUNT_ADD);
    struct tx_account_add *b = &tx.body.account_add;
    snprintf(b->id, sizeof(b->id), "%s", id);
    snprintf(b->org, sizeof(b->org), "%s", org);
    b->class = (uint8_t)class;
    b->post = (uint8_t)post;
    if (key)
        memcpy(b->pubkey, key->pk, SIG_PUBKEY_BYTES);
    fx_person(f, seed, &b->person);
    return fx_submit(f, &tx);
}

idl_err
fx_mgmt_add(struct fx *f, const char *actor, const char *id, const char *org, unsigned post,
            unsigned person_seed)
{
    struct fx_actor *existing = fx_actor(f, id);
    struct wallet_key *k = existing ? existing->key : NULL;
    if (!k)
        assert_int_equal(wallet_key_generate(&k), IDL_OK);
    idl_err rc = account_add(f, actor, id, org, CLASS_MANAGEMENT, post, person_seed, k);
    if (!existing)
        actor_add(f, id, k);
    return rc;
}

idl_err
fx_business_add(struct fx *f, const char *actor, const char *id, const char *org,
                unsigned person_seed)
{
    return account_add(f, actor, id, org, CLASS_BUSINESS, POST_NONE, person_seed, NULL);
}

idl_err
fx_authorize(struct fx *f, const char *actor, const char *id)
{
    struct ledger_tx tx;
    fx_tx(f, &tx, actor, TX_ACCOUNT_AUTHORIZE);
    snprintf(tx.body.account_ref.id, sizeof(tx.body.account_ref.id), "%s", id);
    return fx_submit(f, &tx);
}

idl_err
fx_account_op(struct fx *f, const char *actor, unsigned type, const char *id)
{
    struct ledger_tx tx;
    fx_tx(f, &tx, actor, type);
    snprintf(tx.body.account_op.id, sizeof(tx.body.account_op.id), "%s", id);
    snprintf(tx.body.account_op.reason, sizeof(tx.body.account_op.reason), "变更申请单");
    return fx_submit(f, &tx);
}

idl_err
fx_system_add(struct fx *f, const char *actor, const char *code, const char *const *roles,
              size_t n_roles)
{
    struct ledger_tx tx;
    fx_tx(f, &tx, actor, TX_SYSTEM_ADD);
    struct tx_system_add *b = &tx.body.system_add;
    snprintf(b->code, sizeof(b->code), "%s", code);
    snprintf(b->name, sizeof(b->name), "全国教师管理信息系统");
    struct ledger_code *r = calloc(n_roles, sizeof(*r));
    assert_non_null(r);
    for (size_t i = 0; i < n_roles; i++)
        snprintf(r[i].code, sizeof(r[i].code), "%s", roles[i]);
    b->roles.items = r;
    b->roles.count = (uint32_t)n_roles;
    return fx_submit(f, &tx);
}

idl_err
fx_grant(struct fx *f, const char *actor, unsigned type, const char *account, const char *system,
         const char *role)
{
    struct ledger_tx tx;
    fx_tx(f, &tx, actor, type);
    struct tx_grant *b = &tx.body.grant;
    snprintf(b->account, sizeof(b->account), "%s", account);
    snprintf(b->system, sizeof(b->system), "%s", system);
    snprintf(b->role, sizeof(b->role), "%s", role);
    return fx_submit(f, &tx);
}

idl_err
fx_delegate(struct fx *f, const char *actor, const char *code, int delegated)
{
    struct ledger_tx tx;
    fx_tx(f, &tx, actor, TX_ORG_DELEGATE);
    snprintf(tx.body.org_delegate.code, sizeof(tx.body.org_delegate.code), "%s", code);
    tx.body.org_delegate.delegated = (uint8_t)(delegated != 0);
    return fx_submit(f, &tx);
}

static void
org_admins(struct fx *f, const char *parent_sys, const char *parent_sec, const char *org,
           const char *prefix, unsigned seed)
{
    static const char *const posts[] = {"sys", "sec", "aud"};
    for (unsigned p = 0; p < 3; p++) {
        char id[LEDGER_ID_MAX + 1];
        snprintf(id, sizeof(id), "%s-%s", prefix, posts[p]);
        if (fx_mgmt_add(f, parent_sys, id, org, POST_SYSADMIN + p, seed + p) != IDL_OK)
            fail_msg("creating %s: %s", id, f->why);
        if (fx_authorize(f, parent_sec, id) != IDL_OK)
            fail_msg("authorising %s: %s", id, f->why);
    }
}

void
fx_admins(struct fx *f, const char *parent_sys, const char *parent_sec, const char *org,
          const char *prefix, unsigned seed)
{
    org_admins(f, parent_sys, parent_sec, org, prefix, seed);
}

idl_err
fx_review(struct fx *f, const char *actor, const char *org, const char *note)
{
    struct ledger_tx tx;
    fx_tx(f, &tx, actor, TX_REVIEW_RECORD);
    snprintf(tx.body.review.org, sizeof(tx.body.review.org), "%s", org);
    snprintf(tx.body.review.note, sizeof(tx.body.review.note), "%s", note);
    return fx_submit(f, &tx);
}

void
fx_empty_block(struct fx *f, uint64_t time_ms)
{
    struct ledger_exec *ex;
    assert_int_equal(ledger_block_build(f->ledger, NULL, 0, time_ms, f->validator->pk, NULL,
                                        NULL, NULL, &ex),
                     IDL_OK);
    struct idl_bytes cert;
    commit_cert(f, ledger_exec_block(ex), &cert);
    f->time_ms = ledger_exec_block(ex)->header.time_ms;
    assert_int_equal(ledger_exec_commit(f->ledger, ex, &cert), IDL_OK);
    free(cert.data);
}

void
fx_tree(struct fx *f)
{
    static const char *const roles[] = {"query", "manager", "training", "sysadmin", "auditor"};
    assert_int_equal(fx_org_add(f, "root-sysadmin", "440100", ORG_KIND_CITY, FX_ROOT, 0), IDL_OK);
    org_admins(f, "root-sysadmin", "root-secadmin", "440100", "c", 100);
    assert_int_equal(fx_org_add(f, "c-sys", "440106", ORG_KIND_COUNTY, "440100", 0), IDL_OK);
    org_admins(f, "c-sys", "c-sec", "440106", "k", 200);
    assert_int_equal(fx_org_add(f, "k-sys", "4401060001", ORG_KIND_SCHOOL, "440106",
                                SCHOOL_PRIMARY),
                     IDL_OK);
    org_admins(f, "k-sys", "k-sec", "4401060001", "s", 300);
    assert_int_equal(fx_org_add(f, "root-sysadmin", "440300", ORG_KIND_CITY, FX_ROOT, 0), IDL_OK);
    org_admins(f, "root-sysadmin", "root-secadmin", "440300", "o", 400);
    assert_int_equal(fx_system_add(f, "root-sysadmin", "teacher", roles, 5), IDL_OK);
}

idl_err
fx_get(struct fx *f, const struct state_key *k, const struct schema *s, void *rec)
{
    struct state *st;
    assert_int_equal(state_new(&st, ledger_store(f->ledger)), IDL_OK);
    idl_err rc = state_get_rec(st, k, s, rec);
    state_free(st);
    return rc;
}

static void
account_key(struct state_key *k, const char *id)
{
    state_key_init(k, SP_ACCOUNT);
    state_key_str(k, id);
}

unsigned
fx_status(struct fx *f, const char *id)
{
    struct state_key k;
    struct rec_account a;
    account_key(&k, id);
    assert_int_equal(fx_get(f, &k, &rec_account_schema, &a), IDL_OK);
    return a.status;
}

bool
fx_exists(struct fx *f, const char *id)
{
    struct state_key k;
    struct rec_account a;
    account_key(&k, id);
    return fx_get(f, &k, &rec_account_schema, &a) == IDL_OK;
}

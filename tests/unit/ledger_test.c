/*
 * The ledger as a whole: determinism of the state hash across stores, the validity rules
 * of a proposed block (each refusal), the recording of refused transactions with their
 * reasons, nonce replay protection, and the atomicity of a block's commit when the store
 * fails under it.
 */
#include <string.h>

#include "fixture.h"

/* ---- determinism ---- */

/* Opens a second ledger on the fixture's genesis: in memory, or on LevelDB in dir. */
static void
open_ledger(struct fx *f, char *dir, struct store **st, struct ledger **l)
{
    char why[256] = "";
    if (!dir) {
        assert_int_equal(store_memory_open(st), IDL_OK);
    } else {
        assert_non_null(mkdtemp(dir));
        assert_int_equal(store_leveldb_open(st, dir, why, sizeof(why)), IDL_OK);
    }
    if (ledger_open(l, *st, &f->g.ledger, why, sizeof(why)) != IDL_OK)
        fail_msg("%s", why);
}

static void
replay_into(struct fx *f, struct ledger *dst, uint64_t height)
{
    struct ledger_block b;
    struct idl_bytes cert;
    char why[LEDGER_WHY_MAX];
    assert_int_equal(ledger_block_get(f->ledger, height, &b, &cert), IDL_OK);
    struct ledger_exec *ex;
    if (ledger_block_execute(dst, &b, NULL, &ex, why, sizeof(why)) != IDL_OK)
        fail_msg("height %llu: %s", (unsigned long long)height, why);
    assert_int_equal(ledger_exec_commit(dst, ex, &cert), IDL_OK);
    ledger_block_free(&b);
    free(cert.data);
}

static void
same_state_hash_everywhere(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL);
    fx_tree(&f);
    FX_OK(&f, fx_business_add(&f, "s-sys", "t1", "4401060001", 1));
    FX_EXPECT(&f, fx_business_add(&f, "o-sys", "t2", "4401060001", 2), IDL_ERR_DENIED);
    FX_OK(&f, fx_account_op(&f, "s-sys", TX_ACCOUNT_DISABLE, "t1"));
    struct ledger_tip tip;
    ledger_tip(f.ledger, &tip);

    struct store *s1, *s2;
    struct ledger *l1, *l2;
    char dir[] = "/tmp/idl-det-XXXXXX";
    open_ledger(&f, dir, &s1, &l1);
    open_ledger(&f, NULL, &s2, &l2);
    for (uint64_t h = 1; h <= tip.height; h++) {
        replay_into(&f, l1, h);
        replay_into(&f, l2, h);
        /* The next block of the original names the state after h: all three agree. */
        struct ledger_tip t1, t2;
        ledger_tip(l1, &t1);
        ledger_tip(l2, &t2);
        assert_memory_equal(t1.state_hash, t2.state_hash, HASH_BYTES);
        assert_memory_equal(t1.block_hash, t2.block_hash, HASH_BYTES);
        if (h < tip.height) {
            struct ledger_block next;
            assert_int_equal(ledger_block_get(f.ledger, h + 1, &next, NULL), IDL_OK);
            assert_memory_equal(next.header.app_hash, t1.state_hash, HASH_BYTES);
            ledger_block_free(&next);
        }
    }
    struct ledger_tip t1;
    ledger_tip(l1, &t1);
    assert_memory_equal(t1.state_hash, tip.state_hash, HASH_BYTES);
    ledger_close(l1);
    ledger_close(l2);
    store_close(s1);
    store_close(s2);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    fx_close(&f);
}

static void
refusal_moves_state_hash(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL);
    struct ledger_tip before, after;
    ledger_tip(f.ledger, &before);
    /* A refused operation changes no record, but its result, its audit entry and the used
     * nonce are state: the hash moves, so nodes agree on refusals too. */
    FX_EXPECT(&f, fx_org_add(&f, "root-auditor", "440200", ORG_KIND_CITY, FX_ROOT, 0),
              IDL_ERR_DENIED);
    ledger_tip(f.ledger, &after);
    assert_memory_not_equal(before.state_hash, after.state_hash, HASH_BYTES);
    fx_close(&f);
}

/* ---- validity of a proposed block ---- */

static struct idl_bytes
signed_tx(struct fx *f, const char *actor, uint64_t nonce, const uint8_t *sk, const char *chain,
          const char *code)
{
    struct ledger_tx tx;
    ledger_tx_init(&tx, chain, TX_ORG_ADD, actor);
    tx.nonce = nonce;
    struct tx_org_add *b = &tx.body.org_add;
    snprintf(b->code, sizeof(b->code), "%s", code);
    snprintf(b->name, sizeof(b->name), "城市");
    b->kind = ORG_KIND_CITY;
    snprintf(b->parent, sizeof(b->parent), FX_ROOT);
    assert_int_equal(ledger_tx_sign(&tx, sk), IDL_OK);
    struct idl_bytes raw;
    assert_int_equal(ledger_tx_encode(&tx, &raw), IDL_OK);
    ledger_tx_free(&tx);
    (void)f;
    return raw;
}

static void
next_header(struct fx *f, struct ledger_block_header *h)
{
    struct ledger_tip tip;
    ledger_tip(f->ledger, &tip);
    memset(h, 0, sizeof(*h));
    h->version = LEDGER_BLOCK_VERSION;
    snprintf(h->chain_id, sizeof(h->chain_id), "%s", f->g.ledger.chain_id);
    h->height = tip.height + 1;
    h->time_ms = tip.time_ms + 1000;
    memcpy(h->prev_hash, tip.block_hash, HASH_BYTES);
    memcpy(h->app_hash, tip.state_hash, HASH_BYTES);
    memcpy(h->proposer, f->validator->pk, SIG_PUBKEY_BYTES);
}

/* Executes a block of one tx under header h; returns the code, the reason in f->why. */
static idl_err
execute(struct fx *f, const struct ledger_block_header *h, struct idl_bytes *raw)
{
    struct ledger_block b;
    assert_int_equal(ledger_block_assemble(&b, h, raw, raw ? 1 : 0), IDL_OK);
    struct ledger_exec *ex = NULL;
    idl_err rc =
        ledger_block_execute(f->ledger, &b, NULL, &ex, f->why, sizeof(f->why));
    ledger_exec_free(ex);
    ledger_block_free(&b);
    return rc;
}

static void
block_refusals(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL);
    FX_OK(&f, fx_org_add(&f, "root-sysadmin", "440100", ORG_KIND_CITY, FX_ROOT, 0));
    struct fx_actor *sys = fx_actor(&f, "root-sysadmin");
    struct ledger_block_header h;
    struct idl_bytes good = signed_tx(&f, sys->id, sys->nonce + 1, sys->key->sk, "test", "440200");

    next_header(&f, &h);
    FX_OK(&f, execute(&f, &h, &good));

    next_header(&f, &h);
    h.height++;
    FX_EXPECT(&f, execute(&f, &h, &good), IDL_ERR_INVALID);
    next_header(&f, &h);
    h.prev_hash[0] ^= 1;
    FX_EXPECT(&f, execute(&f, &h, &good), IDL_ERR_INVALID);
    next_header(&f, &h);
    h.app_hash[5] ^= 1;
    FX_EXPECT(&f, execute(&f, &h, &good), IDL_ERR_INVALID);
    next_header(&f, &h);
    h.time_ms = f.g.ledger.time_ms - 1;
    FX_EXPECT(&f, execute(&f, &h, &good), IDL_ERR_INVALID);
    next_header(&f, &h);
    memcpy(h.proposer, sys->key->pk, SIG_PUBKEY_BYTES);
    FX_EXPECT(&f, execute(&f, &h, &good), IDL_ERR_INVALID);
    next_header(&f, &h);
    snprintf(h.chain_id, sizeof(h.chain_id), "other");
    FX_EXPECT(&f, execute(&f, &h, &good), IDL_ERR_CHAIN);

    next_header(&f, &h);
    struct fx_actor *sec = fx_actor(&f, "root-secadmin");
    struct idl_bytes forged = signed_tx(&f, sys->id, sys->nonce + 1, sec->key->sk, "test", "440200");
    FX_EXPECT(&f, execute(&f, &h, &forged), IDL_ERR_SIGNATURE);
    struct idl_bytes replay = signed_tx(&f, sys->id, sys->nonce, sys->key->sk, "test", "440200");
    FX_EXPECT(&f, execute(&f, &h, &replay), IDL_ERR_NONCE);
    /* A used nonce is refused before the signature is checked (a replay costs one read). */
    struct idl_bytes forged_replay =
        signed_tx(&f, sys->id, sys->nonce, sec->key->sk, "test", "440200");
    FX_EXPECT(&f, execute(&f, &h, &forged_replay), IDL_ERR_NONCE);
    struct idl_bytes skip = signed_tx(&f, sys->id, sys->nonce + 2, sys->key->sk, "test", "440200");
    FX_EXPECT(&f, execute(&f, &h, &skip), IDL_ERR_NONCE);
    struct idl_bytes ghost = signed_tx(&f, "nobody", 1, sys->key->sk, "test", "440200");
    FX_EXPECT(&f, execute(&f, &h, &ghost), IDL_ERR_NOT_FOUND);
    struct idl_bytes chain = signed_tx(&f, sys->id, sys->nonce + 1, sys->key->sk, "other", "4402");
    FX_EXPECT(&f, execute(&f, &h, &chain), IDL_ERR_CHAIN);
    struct idl_bytes junk = {(uint8_t *)"\x01\x00", 2};
    FX_EXPECT(&f, execute(&f, &h, &junk), IDL_ERR_MALFORMED);

    /* None of that moved the tip. */
    struct ledger_tip tip;
    ledger_tip(f.ledger, &tip);
    assert_int_equal(tip.height, 1);
    free(good.data);
    free(forged.data);
    free(replay.data);
    free(forged_replay.data);
    free(skip.data);
    free(ghost.data);
    free(chain.data);
    fx_close(&f);
}

static void
block_hash_must_match_contents(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL);
    struct fx_actor *sys = fx_actor(&f, "root-sysadmin");
    struct idl_bytes a = signed_tx(&f, sys->id, 1, sys->key->sk, "test", "440100");
    struct idl_bytes b = signed_tx(&f, sys->id, 1, sys->key->sk, "test", "440200");
    struct ledger_block_header h;
    next_header(&f, &h);
    struct ledger_block blk;
    assert_int_equal(ledger_block_assemble(&blk, &h, &a, 1), IDL_OK);
    /* Swap in another transaction under the old hash: a proposer lying about its block. */
    free(blk.txs[0].data);
    blk.txs[0] = b;
    struct ledger_exec *ex;
    FX_EXPECT(&f, ledger_block_execute(f.ledger, &blk, NULL, &ex, f.why,
                                       sizeof(f.why)),
              IDL_ERR_INVALID);
    ledger_block_free(&blk);
    free(a.data);
    fx_close(&f);
}

static void
stale_exec_not_committed(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL);
    struct fx_actor *sys = fx_actor(&f, "root-sysadmin");
    struct idl_bytes a = signed_tx(&f, sys->id, 1, sys->key->sk, "test", "440100");
    struct ledger_exec *ex1, *ex2;
    assert_int_equal(ledger_block_build(f.ledger, &a, 1, 1, f.validator->pk,
                                        NULL, NULL, NULL, &ex1),
                     IDL_OK);
    assert_int_equal(ledger_block_build(f.ledger, &a, 1, 1, f.validator->pk,
                                        NULL, NULL, NULL, &ex2),
                     IDL_OK);
    assert_int_equal(ledger_exec_commit(f.ledger, ex1, NULL), IDL_OK);
    assert_int_equal(ledger_exec_commit(f.ledger, ex2, NULL), IDL_ERR_STATE);
    struct ledger_tip tip;
    ledger_tip(f.ledger, &tip);
    assert_int_equal(tip.height, 1);
    free(a.data);
    fx_close(&f);
}

/* ---- refused transactions are recorded ---- */

static void
refusal_recorded_with_reason(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL);
    FX_EXPECT(&f, fx_org_add(&f, "root-auditor", "440100", ORG_KIND_CITY, FX_ROOT, 0),
              IDL_ERR_DENIED);
    struct state_key k;
    struct rec_tx t;
    state_key_init(&k, SP_TX);
    state_key_raw(&k, f.last_txid, HASH_BYTES);
    FX_OK(&f, fx_get(&f, &k, &rec_tx_schema, &t));
    assert_int_equal(t.status, TXS_REJECTED);
    assert_int_equal(t.code, IDL_ERR_DENIED);
    struct idl_bytes reason;
    state_key_init(&k, SP_REASON);
    state_key_raw(&k, f.last_txid, HASH_BYTES);
    assert_int_equal(store_get(ledger_store(f.ledger), k.b, k.len, &reason), IDL_OK);
    assert_int_equal(reason.len, strlen(f.why));
    assert_memory_equal(reason.data, f.why, reason.len);
    free(reason.data);
    /* The refusal is in the audit log of the actor's organisation. */
    struct rec_audit e;
    state_key_init(&k, SP_AUDIT_ORG);
    state_key_str(&k, FX_ROOT);
    state_key_u64(&k, t.height);
    state_key_u32(&k, 0);
    state_key_u32(&k, 0); /* record: not a batch */
    FX_OK(&f, fx_get(&f, &k, &rec_audit_schema, &e));
    assert_int_equal(e.status, TXS_REJECTED);
    assert_string_equal(e.actor, "root-auditor");
    /* The organisation was not created. */
    struct rec_org org;
    state_key_init(&k, SP_ORG);
    state_key_str(&k, "440100");
    assert_int_equal(fx_get(&f, &k, &rec_org_schema, &org), IDL_ERR_NOT_FOUND);
    fx_close(&f);
}

static void
refused_tx_cannot_be_replayed(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL);
    FX_OK(&f, fx_org_add(&f, "root-sysadmin", "440100", ORG_KIND_CITY, FX_ROOT, 0));
    /* A second org.add of the same code is refused (it exists)... */
    struct fx_actor *sys = fx_actor(&f, "root-sysadmin");
    struct idl_bytes dup = signed_tx(&f, sys->id, sys->nonce + 1, sys->key->sk, "test", "440100");
    struct ledger_exec *ex;
    assert_int_equal(ledger_block_build(f.ledger, &dup, 1, 1, f.validator->pk,
                                        NULL, NULL, NULL, &ex),
                     IDL_OK);
    uint32_t n;
    const struct ledger_tx_result *res = ledger_exec_results(ex, &n);
    assert_int_equal(n, 1);
    assert_int_equal(res[0].code, IDL_ERR_EXISTS);
    assert_int_equal(ledger_exec_commit(f.ledger, ex, NULL), IDL_OK);
    /* ...and the very same bytes are refused again at the pool: the nonce is used, so a
     * refusal can never turn into a success later. */
    uint64_t next;
    struct ledger_tx tx;
    FX_EXPECT(&f, ledger_tx_admit(f.ledger, dup.data, dup.len, &tx, &next, f.why,
                                  sizeof(f.why)),
              IDL_ERR_NONCE);
    assert_int_equal(next, sys->nonce + 2);
    free(dup.data);
    fx_close(&f);
}

/* ---- atomic commit ---- */

struct faulty {
    struct store base;
    struct store *inner;
    int fail_writes;
};

static idl_err
faulty_get(struct store *s, const uint8_t *k, size_t n, struct idl_bytes *v)
{
    return store_get(((struct faulty *)s)->inner, k, n, v);
}

static idl_err
faulty_write(struct store *s, const struct store_batch *b, bool sync)
{
    struct faulty *f = (struct faulty *)s;
    if (f->fail_writes)
        return IDL_ERR_IO;
    return store_write(f->inner, b, sync);
}

static struct store_iter *
faulty_iter_new(struct store *s)
{
    return store_iter_new(((struct faulty *)s)->inner);
}

static void
faulty_close(struct store *s)
{
    (void)s;
}

static void
commit_failure_changes_nothing(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL);
    FX_OK(&f, fx_org_add(&f, "root-sysadmin", "440100", ORG_KIND_CITY, FX_ROOT, 0));
    struct store_ops ops = *f.store->ops;
    ops.get = faulty_get;
    ops.write = faulty_write;
    ops.iter_new = faulty_iter_new;
    ops.close = faulty_close;
    ops.stats = NULL; /* the inner store's would take our handle for its own */
    struct faulty fs = {{&ops}, f.store, 0};
    struct ledger *l;
    char why[256];
    assert_int_equal(ledger_open(&l, &fs.base, &f.g.ledger, why, sizeof(why)), IDL_OK);
    struct ledger_tip before, after;
    ledger_tip(l, &before);

    struct fx_actor *sys = fx_actor(&f, "root-sysadmin");
    struct idl_bytes a = signed_tx(&f, sys->id, sys->nonce + 1, sys->key->sk, "test", "440200");
    struct ledger_exec *ex;
    assert_int_equal(ledger_block_build(l, &a, 1, before.time_ms + 1, f.validator->pk,
                                        NULL, NULL, NULL, &ex),
                     IDL_OK);
    fs.fail_writes = 1;
    assert_int_equal(ledger_exec_commit(l, ex, NULL), IDL_ERR_IO);
    ledger_tip(l, &after);
    assert_memory_equal(&before, &after, sizeof(before));
    ledger_close(l);

    /* Reopened from disk, the ledger is at the old tip and the org does not exist. */
    fx_reopen(&f);
    ledger_tip(f.ledger, &after);
    assert_int_equal(after.height, before.height);
    struct state_key k;
    struct rec_org org;
    state_key_init(&k, SP_ORG);
    state_key_str(&k, "440200");
    assert_int_equal(fx_get(&f, &k, &rec_org_schema, &org), IDL_ERR_NOT_FOUND);
    /* And the very transaction still commits afterwards. */
    assert_int_equal(ledger_block_build(f.ledger, &a, 1, before.time_ms + 1, f.validator->pk,
                                        NULL, NULL, NULL, &ex),
                     IDL_OK);
    uint32_t n;
    ledger_exec_results(ex, &n);
    assert_int_equal(n, 1);
    assert_int_equal(ledger_exec_commit(f.ledger, ex, NULL), IDL_OK);
    free(a.data);
    fx_close(&f);
}

static void
reopen_keeps_everything(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL);
    fx_tree(&f);
    struct ledger_tip before, after;
    ledger_tip(f.ledger, &before);
    fx_reopen(&f);
    ledger_tip(f.ledger, &after);
    assert_memory_equal(&before, &after, sizeof(before));
    assert_int_equal(fx_status(&f, "s-sys"), STATUS_ACTIVE);
    /* The chain continues where it stopped. */
    FX_OK(&f, fx_business_add(&f, "s-sys", "t1", "4401060001", 1));
    fx_close(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_state_hash_everywhere),
        cmocka_unit_test(refusal_moves_state_hash),
        cmocka_unit_test(block_refusals),
        cmocka_unit_test(block_hash_must_match_contents),
        cmocka_unit_test(stale_exec_not_committed),
        cmocka_unit_test(refusal_recorded_with_reason),
        cmocka_unit_test(refused_tx_cannot_be_replayed),
        cmocka_unit_test(commit_failure_changes_nothing),
        cmocka_unit_test(reopen_keeps_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

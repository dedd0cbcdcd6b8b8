/*
 * Unit tests of what the consensus engine (consensus/engine.h) holds for later heights,
 * on a real ledger (the fixture's, one validator) with a host that records what it is
 * asked: proposals of the next height are held only when signed by their round's
 * proposer, one per round, within the round window; committed blocks of later heights only
 * with a certificate that verifies (a peer that sends a forged one is marked bad), one per
 * height, at most a sync request's reach ahead;
 * and both lists stay within their byte budgets per peer and in total, whatever a peer
 * sends. Blocks are assembled from opaque transaction bytes: nothing here executes them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/engine.h"
#include "consensus/msg.h"
#include "fixture.h"

struct et {
    struct fx fx;
    struct engine *e;
    uint64_t refused;
};

static uint64_t
h_now(void *arg)
{
    (void)arg;
    return 1700000000000ull + 10 * 60 * 1000;
}

static void
h_broadcast(void *arg, const uint8_t *msg, size_t len)
{
    (void)arg, (void)msg, (void)len;
}

static void
h_send(void *arg, uint32_t peer, const uint8_t *msg, size_t len)
{
    (void)arg, (void)peer, (void)msg, (void)len;
}

static void
h_schedule(void *arg, uint64_t height, uint32_t round, unsigned step, uint32_t ms)
{
    (void)arg, (void)height, (void)round, (void)step, (void)ms;
}

static idl_err
h_wal_append(void *arg, const struct idl_bytes *recs, size_t n)
{
    (void)arg, (void)recs, (void)n;
    return IDL_OK;
}

static idl_err
h_sign(void *arg, const uint8_t msg[HASH_BYTES], uint8_t sig[SIG_BYTES])
{
    struct et *t = arg;
    return sig_sign(sig, msg, t->fx.validator->sk);
}

static size_t
h_pool_take(void *arg, size_t max, struct idl_bytes **out)
{
    (void)arg, (void)max;
    *out = NULL;
    return 0;
}

static void
h_event(void *arg, enum engine_event ev, uint64_t height, uint32_t round, const char *detail)
{
    struct et *t = arg;
    (void)height, (void)round, (void)detail;
    if (ev == ENGINE_EV_REFUSED)
        t->refused++;
}

static int
setup(void **state)
{
    struct et *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    struct fx_options o = {.memory_store = true};
    fx_open(&t->fx, &o);
    struct cons_host host = {
        .arg = t,
        .now_ms = h_now,
        .broadcast = h_broadcast,
        .send = h_send,
        .schedule = h_schedule,
        .wal_append = h_wal_append,
        .sign = h_sign,
        .pool_take = h_pool_take,
        .event = h_event,
    };
    struct cons_engine_config cfg = {
        .self = 0, .timeouts = {1000, 500, 500, 100}, .block_max_txs = 100,
        .max_clock_drift_ms = 10000};
    assert_int_equal(engine_new(&t->e, t->fx.ledger, &cfg, &host), IDL_OK);
    engine_start(t->e);
    for (uint32_t p = 1; p <= 3; p++) {
        uint8_t key[SIG_PUBKEY_BYTES];
        memset(key, (int)p, sizeof(key));
        engine_on_peer(t->e, p, key, true, false);
    }
    *state = t;
    return 0;
}

static int
teardown(void **state)
{
    struct et *t = *state;
    engine_free(t->e);
    fx_close(&t->fx);
    free(t);
    return 0;
}

static struct engine_status
status(const struct et *t)
{
    struct engine_status st;
    engine_status(t->e, &st);
    assert_true(st.held_bytes <= ENGINE_HELD_BYTES_MAX);
    return st;
}

/* A block of `height` whose body is `mib` transactions of 1 MiB of opaque bytes each (at
 * least one small one), distinct per `salt`. */
static void
block_make(struct et *t, uint64_t height, unsigned mib, uint32_t salt, struct idl_bytes *raw,
           uint8_t hash[HASH_BYTES])
{
    struct ledger_block_header h = {0};
    snprintf(h.chain_id, sizeof(h.chain_id), "%s", t->fx.g.ledger.chain_id);
    h.height = height;
    h.time_ms = 1700000000000ull + salt;
    memcpy(h.proposer, t->fx.validator->pk, SIG_PUBKEY_BYTES);
    unsigned n = mib ? mib : 1;
    struct idl_bytes *txs = calloc(n, sizeof(*txs));
    assert_non_null(txs);
    for (unsigned i = 0; i < n; i++) {
        txs[i].len = mib ? LEDGER_TX_BYTES_MAX : 16;
        txs[i].data = calloc(1, txs[i].len);
        assert_non_null(txs[i].data);
        codec_be32_put(txs[i].data, salt);
        txs[i].data[4] = (uint8_t)i;
    }
    struct ledger_block b;
    assert_int_equal(ledger_block_assemble(&b, &h, txs, n), IDL_OK);
    assert_int_equal(ledger_block_encode(&b, raw), IDL_OK);
    memcpy(hash, b.hash, HASH_BYTES);
    ledger_block_free(&b);
    for (unsigned i = 0; i < n; i++)
        free(txs[i].data);
    free(txs);
}

static void
deliver(struct et *t, uint32_t peer, const struct cons_msg *m)
{
    struct idl_bytes enc;
    assert_int_equal(cons_msg_encode(m, &enc), IDL_OK);
    engine_on_message(t->e, peer, enc.data, enc.len);
    free(enc.data);
}

/* The validator's proposal of (height, round) for a block; `forge` flips a signature bit. */
static void
propose(struct et *t, uint32_t peer, uint64_t height, uint32_t round, unsigned mib,
        uint32_t salt, bool forge)
{
    struct cons_msg m = {.kind = MSG_PROPOSAL};
    struct msg_proposal *p = &m.body.proposal;
    uint8_t hash[HASH_BYTES], sighash[HASH_BYTES];
    block_make(t, height, mib, salt, &p->block, hash);
    p->height = height;
    p->round = round;
    p->valid_round = MSG_NO_ROUND;
    p->proposer = 0;
    cons_proposal_sighash(sighash, t->fx.g.ledger.chain_id, height, round, p->valid_round, hash);
    assert_int_equal(sig_sign(p->sig, sighash, t->fx.validator->sk), IDL_OK);
    if (forge)
        p->sig[5] ^= 1;
    deliver(t, peer, &m);
    free(p->block.data);
}

/* A committed block of `height` with a certificate that verifies, or a forged one. */
static void
decided(struct et *t, uint32_t peer, uint64_t height, unsigned mib, uint32_t salt, bool forge)
{
    struct cons_msg m = {.kind = MSG_DECIDED};
    uint8_t hash[HASH_BYTES], msg[HASH_BYTES];
    block_make(t, height, mib, salt, &m.body.decided.block, hash);
    struct ledger_commit c = {.height = height};
    struct ledger_commit_sig s = {.validator = 0};
    memcpy(c.block_hash, hash, HASH_BYTES);
    ledger_vote_sighash(msg, t->fx.g.ledger.chain_id, VOTE_PRECOMMIT, height, 0, hash);
    assert_int_equal(sig_sign(s.sig, msg, t->fx.validator->sk), IDL_OK);
    if (forge)
        s.sig[9] ^= 1;
    c.sigs.items = &s;
    c.sigs.count = 1;
    assert_int_equal(schema_encode_bytes(&ledger_commit_schema, &c, &m.body.decided.commit),
                     IDL_OK);
    deliver(t, peer, &m);
    free(m.body.decided.block.data);
    free(m.body.decided.commit.data);
}

static uint64_t
next_height(const struct et *t)
{
    return status(t).height + 1;
}

static void
test_next_height_proposals_held_only_signed_once_per_round(void **state)
{
    struct et *t = *state;
    uint64_t h = next_height(t);
    for (uint32_t r = 0; r < 300; r++)
        propose(t, 1, h, r % 8, 0, r, true);
    assert_int_equal(status(t).held, 0);
    assert_true(t->refused >= 300);
    propose(t, 1, h, 0, 0, 1000, false);
    assert_int_equal(status(t).held, 1);
    propose(t, 1, h, 0, 0, 1001, false); /* another block for the same round */
    propose(t, 2, h, 0, 0, 1000, false); /* the same one again, from another peer */
    assert_int_equal(status(t).held, 1);
    propose(t, 1, h, CONS_ROUND_WINDOW + 1, 0, 1002, false); /* beyond the round window */
    assert_int_equal(status(t).held, 1);
    propose(t, 1, h, 1, 0, 1003, false);
    assert_int_equal(status(t).held, 2);
    propose(t, 1, h + 1, 0, 0, 1004, false); /* two heights ahead: never held */
    assert_int_equal(status(t).held, 2);
}

static void
test_next_height_proposals_stay_within_the_byte_budgets(void **state)
{
    struct et *t = *state;
    uint64_t h = next_height(t);
    /* 4 MiB blocks: one peer's share is about one block's bound and a bit more. */
    for (uint32_t r = 0; r < 12; r++)
        propose(t, 1, h, r, 4, r, false);
    struct engine_status st = status(t);
    assert_true(st.held >= 1);
    assert_true(st.held_bytes <= LEDGER_BLOCK_BYTES_MAX + (2u << 20));
    for (uint32_t r = 12; r < 40; r++)
        propose(t, 2 + r % 2, h, r, 4, r, false);
    st = status(t);
    assert_true(st.held_bytes <= 2u * LEDGER_BLOCK_BYTES_MAX + (4u << 20));
}

static void
test_decided_blocks_held_only_certified_once_per_height_within_reach(void **state)
{
    struct et *t = *state;
    uint64_t h = next_height(t);
    for (uint32_t k = 0; k < 600; k++)
        decided(t, 1, h + k, 0, k, true); /* peer 1 is marked bad at the first */
    assert_int_equal(status(t).held, 0);
    decided(t, 1, h + 2, 0, 7, false);
    assert_int_equal(status(t).held, 0);
    decided(t, 2, h + 2, 0, 7, false);
    assert_int_equal(status(t).held, 1);
    decided(t, 3, h + 2, 0, 7, false); /* the same height again, from another peer */
    assert_int_equal(status(t).held, 1);
    uint64_t deciding = h - 1; /* a request reaches CONS_SYNC_BLOCKS_MAX from there */
    decided(t, 2, deciding + CONS_SYNC_BLOCKS_MAX + 1, 0, 8, false);
    assert_int_equal(status(t).held, 1);
    decided(t, 2, deciding + CONS_SYNC_BLOCKS_MAX, 0, 9, false);
    assert_int_equal(status(t).held, 2);
}

static void
test_decided_blocks_stay_within_the_byte_budgets(void **state)
{
    struct et *t = *state;
    uint64_t h = next_height(t);
    for (uint32_t k = 1; k <= 20; k++)
        decided(t, 1, h + k, 4, k, false);
    struct engine_status st = status(t);
    assert_true(st.held >= 1 && st.held < 20);
    assert_true(st.held_bytes <= CONS_SYNC_REPLY_BYTES + LEDGER_BLOCK_BYTES_MAX);
    for (uint32_t k = 21; k <= 60; k++)
        decided(t, 2 + k % 2, h + k, 4, k, false);
    st = status(t);
    assert_true(st.held_bytes <= 4u * LEDGER_BLOCK_BYTES_MAX);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_next_height_proposals_held_only_signed_once_per_round,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_height_proposals_stay_within_the_byte_budgets,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_decided_blocks_held_only_certified_once_per_height_within_reach, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_decided_blocks_stay_within_the_byte_budgets, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

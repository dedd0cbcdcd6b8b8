/*
 * Unit tests of node/mempool.h's ready count and nonce bounds: a transaction with its
 * actor's next nonce is ready, one behind a gap is not until its predecessor commits (or
 * arrives and commits); a commit moves the next nonce on and counts the new heads, and
 * drops a second transaction of a used nonce; removing or expiring a head takes it out of
 * the count; a nonce already used, or more than MEMPOOL_NONCE_AHEAD_MAX beyond both the
 * ledger's next nonce and the actor's highest pooled one, is refused with a reason, while a
 * long run of consecutive nonces (a client streaming its transactions) is not; an
 * admission that learnt of a commit before the pool did drops the used transactions; a
 * proposal takes nothing of an actor without a ready transaction, however old; a full
 * pool refuses, a repeated txid is EXISTS; gossip again sends the whole pool to a new link
 * and, periodically, what has waited and was not sent on lately. Transactions are stand-ins: the pool never
 * decodes them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/mempool.h"

struct mt {
    struct mempool *mp;
    char why[MEMPOOL_REASON_MAX];
};

static int
setup(void **state)
{
    struct mt *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    assert_int_equal(mempool_new(&t->mp, 1000), IDL_OK);
    *state = t;
    return 0;
}

static int
teardown(void **state)
{
    struct mt *t = *state;
    mempool_free(t->mp);
    free(t);
    return 0;
}

/* A stand-in txid for (actor, nonce, variant). */
static void
txid_of(uint8_t id[HASH_BYTES], const char *actor, uint64_t nonce, int variant)
{
    memset(id, 0, HASH_BYTES);
    snprintf((char *)id, 16, "%s", actor);
    codec_be64_put(id + 16, nonce);
    id[24] = (uint8_t)variant;
    id[31] = 0x5a;
}

/* Adds (actor, nonce) with the ledger's next nonce `next`; returns the pool's answer. */
static idl_err
add_v(struct mt *t, const char *actor, uint64_t nonce, uint64_t next, int variant)
{
    uint8_t id[HASH_BYTES];
    txid_of(id, actor, nonce, variant);
    uint8_t raw[8];
    codec_be64_put(raw, nonce);
    return mempool_add(t->mp, id, actor, nonce, next, 1, raw, sizeof(raw), 1000, t->why,
                       sizeof(t->why));
}

static idl_err
add(struct mt *t, const char *actor, uint64_t nonce, uint64_t next)
{
    return add_v(t, actor, nonce, next, 0);
}

static bool
is_next(struct mt *t, const char *actor, uint64_t nonce)
{
    uint8_t id[HASH_BYTES];
    txid_of(id, actor, nonce, 0);
    return mempool_is_next(t->mp, id);
}

/* A block committed (actor, nonce) with the txid of variant 0. */
static void
commit(struct mt *t, const char *actor, uint64_t nonce)
{
    struct mempool_used u = {.nonce = nonce};
    txid_of(u.txid, actor, nonce, 0);
    snprintf(u.actor, sizeof(u.actor), "%s", actor);
    mempool_committed(t->mp, &u, 1);
}

static void
test_next_nonce_is_ready_a_gapped_one_is_not(void **state)
{
    struct mt *t = *state;
    assert_int_equal(add(t, "a", 6, 5), IDL_OK); /* 5 is missing */
    assert_int_equal(mempool_count(t->mp), 1);
    assert_int_equal(mempool_ready(t->mp), 0);
    assert_false(is_next(t, "a", 6));
    assert_int_equal(add(t, "a", 5, 5), IDL_OK);
    assert_int_equal(mempool_ready(t->mp), 1);
    assert_true(is_next(t, "a", 5));
    assert_int_equal(add(t, "b", 1, 1), IDL_OK); /* another actor's head */
    assert_int_equal(mempool_ready(t->mp), 2);
    /* 5 commits: 6 is the head now. */
    commit(t, "a", 5);
    assert_int_equal(mempool_count(t->mp), 2);
    assert_int_equal(mempool_ready(t->mp), 2);
    assert_true(is_next(t, "a", 6));
    commit(t, "a", 6);
    commit(t, "b", 1);
    assert_int_equal(mempool_count(t->mp), 0);
    assert_int_equal(mempool_ready(t->mp), 0);
}

static void
test_a_commit_from_elsewhere_fills_the_gap(void **state)
{
    struct mt *t = *state;
    assert_int_equal(add(t, "a", 3, 1), IDL_OK);
    assert_int_equal(add(t, "a", 4, 1), IDL_OK);
    assert_int_equal(mempool_ready(t->mp), 0);
    /* 1 and 2 reached a block through another node. */
    commit(t, "a", 1);
    assert_int_equal(mempool_ready(t->mp), 0);
    commit(t, "a", 2);
    assert_int_equal(mempool_ready(t->mp), 1);
    assert_true(is_next(t, "a", 3));
    assert_false(is_next(t, "a", 4));
}

static void
test_same_nonce_twice_both_heads_the_loser_goes_with_the_commit(void **state)
{
    struct mt *t = *state;
    assert_int_equal(add_v(t, "a", 1, 1, 0), IDL_OK);
    assert_int_equal(add_v(t, "a", 1, 1, 1), IDL_OK);
    assert_int_equal(add(t, "a", 2, 1), IDL_OK);
    assert_int_equal(mempool_ready(t->mp), 2);
    commit(t, "a", 1);
    assert_int_equal(mempool_count(t->mp), 1);
    assert_int_equal(mempool_ready(t->mp), 1);
    uint8_t id[HASH_BYTES];
    char why[MEMPOOL_REASON_MAX];
    txid_of(id, "a", 1, 1);
    assert_true(mempool_dropped(t->mp, id, why));
    assert_non_null(strstr(why, "used this nonce"));
}

static void
test_removing_or_expiring_a_head_leaves_nothing_ready(void **state)
{
    struct mt *t = *state;
    assert_int_equal(add(t, "a", 1, 1), IDL_OK);
    assert_int_equal(add(t, "a", 2, 1), IDL_OK);
    uint8_t id[HASH_BYTES];
    txid_of(id, "a", 1, 0);
    mempool_remove(t->mp, id, "refused by the block");
    assert_int_equal(mempool_count(t->mp), 1);
    assert_int_equal(mempool_ready(t->mp), 0); /* 2 waits for a new 1 */
    assert_int_equal(add(t, "b", 7, 7), IDL_OK);
    assert_int_equal(mempool_ready(t->mp), 1);
    mempool_expire(t->mp, 1000 + 60001, 60000);
    assert_int_equal(mempool_count(t->mp), 0);
    assert_int_equal(mempool_ready(t->mp), 0);
}

static void
test_used_and_far_ahead_nonces_are_refused_a_stream_is_not(void **state)
{
    struct mt *t = *state;
    assert_int_equal(add(t, "a", 4, 5), IDL_ERR_NONCE);
    assert_non_null(strstr(t->why, "already used"));
    assert_int_equal(add(t, "a", 5 + MEMPOOL_NONCE_AHEAD_MAX + 1, 5), IDL_ERR_NONCE);
    assert_non_null(strstr(t->why, "too far ahead"));
    assert_int_equal(mempool_count(t->mp), 0);
    assert_int_equal(add(t, "a", 5 + MEMPOOL_NONCE_AHEAD_MAX, 5), IDL_OK);
    /* A client streaming consecutive nonces is never "too far ahead". */
    uint64_t top = 5 + 3 * MEMPOOL_NONCE_AHEAD_MAX;
    for (uint64_t k = 5; k <= top; k++)
        if (add(t, "b", k, 5) != IDL_OK)
            fail_msg("b %llu: %s", (unsigned long long)k, t->why);
    assert_int_equal(mempool_ready(t->mp), 1); /* b's 5; a's is behind a gap */
    /* Up to the bound beyond b's highest pooled nonce, and no further. */
    assert_int_equal(add(t, "b", top + 1 + MEMPOOL_NONCE_AHEAD_MAX + 1, 5), IDL_ERR_NONCE);
    assert_int_equal(add(t, "b", top + 1 + MEMPOOL_NONCE_AHEAD_MAX, 5), IDL_OK);
}

/* An admission read a newer ledger than the pool was told of: the used ones go. */
static void
test_admission_ahead_of_the_pool_drops_used_transactions(void **state)
{
    struct mt *t = *state;
    assert_int_equal(add(t, "a", 5, 5), IDL_OK);
    assert_int_equal(add(t, "a", 6, 5), IDL_OK);
    assert_int_equal(mempool_ready(t->mp), 1);
    assert_int_equal(add(t, "a", 8, 7), IDL_OK); /* 5 and 6 committed meanwhile */
    assert_int_equal(mempool_count(t->mp), 1);
    assert_int_equal(mempool_ready(t->mp), 0); /* 8 waits for 7 */
    assert_int_equal(add(t, "a", 7, 7), IDL_OK);
    assert_int_equal(mempool_ready(t->mp), 1);
    assert_true(is_next(t, "a", 7));
}

/* Old transactions behind a gap never crowd a ready one out of a block. */
static void
test_select_skips_actors_without_a_ready_transaction(void **state)
{
    struct mt *t = *state;
    for (uint64_t k = 2; k < 50; k++)
        assert_int_equal(add(t, "gap", k, 1), IDL_OK); /* 1 never came */
    assert_int_equal(add(t, "ok", 3, 3), IDL_OK);
    assert_int_equal(add(t, "ok", 4, 3), IDL_OK);
    struct idl_bytes *txs;
    size_t n = mempool_select(t->mp, 10, 1 << 20, &txs);
    assert_int_equal(n, 2);
    assert_int_equal(codec_be64_get(txs[0].data), 3);
    assert_int_equal(codec_be64_get(txs[1].data), 4);
    for (size_t i = 0; i < n; i++)
        free(txs[i].data);
    free(txs);
    /* Once 1 commits elsewhere, the gapped actor's are taken, oldest first. */
    commit(t, "gap", 1);
    n = mempool_select(t->mp, 10, 1 << 20, &txs);
    assert_int_equal(n, 10);
    assert_int_equal(codec_be64_get(txs[0].data), 2);
    for (size_t i = 0; i < n; i++)
        free(txs[i].data);
    free(txs);
}

static void
free_txs(struct idl_bytes *txs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(txs[i].data);
    free(txs);
}

/* Gossip again: all of the pool for a new link; what waited, now and then, for everyone. */
static void
test_gossip_sends_all_to_a_new_link_and_the_waiting_ones_periodically(void **state)
{
    struct mt *t = *state;
    for (uint64_t k = 1; k <= 5; k++)
        assert_int_equal(add(t, "a", k, 1), IDL_OK); /* pooled at 1000 ms */
    struct idl_bytes *txs;
    size_t n = mempool_gossip(t->mp, 1000, 0, 100, 1 << 20, &txs);
    assert_int_equal(n, 5);
    assert_int_equal(codec_be64_get(txs[0].data), 1);
    free_txs(txs, n);
    assert_int_equal(mempool_gossip(t->mp, 1000, 0, 3, 1 << 20, &txs), 3); /* at most max_n */
    free_txs(txs, 3);
    /* Periodic, every 10 s: nothing has waited that long at 5 s; all at 11 s, once. */
    assert_int_equal(mempool_gossip(t->mp, 5000, 10000, 100, 1 << 20, &txs), 0);
    assert_null(txs);
    n = mempool_gossip(t->mp, 11000, 10000, 2, 1 << 20, &txs);
    assert_int_equal(n, 2);
    free_txs(txs, n);
    n = mempool_gossip(t->mp, 11000, 10000, 100, 1 << 20, &txs);
    assert_int_equal(n, 3); /* the other three, not the two just sent */
    assert_int_equal(codec_be64_get(txs[0].data), 3);
    free_txs(txs, n);
    assert_int_equal(mempool_gossip(t->mp, 20000, 10000, 100, 1 << 20, &txs), 0);
    n = mempool_gossip(t->mp, 21000, 10000, 100, 1 << 20, &txs);
    assert_int_equal(n, 5);
    free_txs(txs, n);
    /* Bytes: the first whatever its size, then only what fits. */
    n = mempool_gossip(t->mp, 21000, 0, 100, 1, &txs);
    assert_int_equal(n, 1);
    free_txs(txs, n);
}

static void
test_repeat_is_exists_and_a_full_pool_refuses(void **state)
{
    (void)state;
    struct mt t = {0};
    assert_int_equal(mempool_new(&t.mp, 2), IDL_OK);
    assert_int_equal(add(&t, "a", 1, 1), IDL_OK);
    assert_int_equal(add(&t, "a", 1, 1), IDL_ERR_EXISTS);
    assert_int_equal(add(&t, "a", 2, 1), IDL_OK);
    assert_int_equal(add(&t, "a", 3, 1), IDL_ERR_UNAVAILABLE);
    assert_int_equal(mempool_ready(t.mp), 1);
    mempool_free(t.mp);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_next_nonce_is_ready_a_gapped_one_is_not, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_commit_from_elsewhere_fills_the_gap, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_same_nonce_twice_both_heads_the_loser_goes_with_the_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removing_or_expiring_a_head_leaves_nothing_ready,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_used_and_far_ahead_nonces_are_refused_a_stream_is_not,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_admission_ahead_of_the_pool_drops_used_transactions,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_select_skips_actors_without_a_ready_transaction,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_gossip_sends_all_to_a_new_link_and_the_waiting_ones_periodically, setup,
            teardown),
        cmocka_unit_test(test_repeat_is_exists_and_a_full_pool_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

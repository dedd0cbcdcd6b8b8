/*
 * Unit tests of consensus/core.h, the Tendermint step function (Buchman, Kwon, Milosevic,
 * "The latest gossip on BFT consensus", 2018, Algorithm 1), driven as the engine would
 * drive it: four validators of power 1 (n = 3f + 1 with f = 1, so 3 of 4 is "more than two
 * thirds" and 2 of 4 is "more than one third"), timeouts propose 1000, prevote 500,
 * precommit 500 and delta 100 ms per round. The proposer of (h, r) is validator
 * (h + r) % 4, so each test picks the height and `self` that put the core where it needs
 * to be. A small harness feeds proposals, votes and timeouts, records every action the
 * core emits for that event, and, like the engine, feeds each of our own CONS_ACT_VOTE back
 * through cons_on_vote so that it counts. The harness also checks on every event that the
 * core never emits two different votes of one type in one round (own votes restored from
 * the write-ahead log included), and that a replica never votes or proposes.
 *
 * Covered: the happy path as a non-proposer down to the commit certificate; proposing;
 * invalid, misplaced and malformed proposals; each quorum threshold at 2f and 2f + 1; the
 * prevote (L34) and precommit (L47) timeouts and the growth of timeouts per round; locking
 * (L36), the lock refusing a fresh proposal (L22), re-proposals with a polka (L28) and the
 * lock released by a later polka but not by an older one; the valid value (L42-43) and its
 * re-proposal; the round skip (L55); equivocation; restoring own votes and the guard that
 * re-sends the first vote; deciding the value of an earlier round (L49) and only a known,
 * valid proposal; a replica; the round window, other heights, bad validator indices and
 * vote types; cons_start_height forgetting everything; what the engine must keep cached
 * (cons_holds, cons_proposal_of). The thresholds again with seven validators (f = 2): 4
 * prevotes, nil prevotes, mixed prevotes or precommits do nothing and 5 do, 2 in a later
 * round make no skip and 3 do, a lock moves only on a polka of 5.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consensus/core.h"
#include "ledger/block.h"
#include "ledger/hash.h"
#include "ledger/schema.h"

#define NV           4
#define NV_MAX       7
#define LOG_MAX      256
#define TRACK_ROUNDS 128

#define T_PROPOSE   1000
#define T_PREVOTE   500
#define T_PRECOMMIT 500
#define T_DELTA     100

#define PREVOTE   VOTE_PREVOTE
#define PRECOMMIT VOTE_PRECOMMIT

/* Block hashes used by the tests; NULL stands for nil where a helper takes a hash. */
static uint8_t X[HASH_BYTES], Y[HASH_BYTES];
static const uint8_t NIL[HASH_BYTES];

struct tc {
    struct cons *c;
    struct ledger_validator vals[NV_MAX];
    unsigned nv;
    int self;
    uint64_t h;
    bool echo;                       /* feed our own votes back, as the engine does */
    struct cons_action log[LOG_MAX]; /* the actions of the last event */
    size_t nlog;
    /* Every own vote the core ever emitted or we restored, per (round, type). */
    bool sent[TRACK_ROUNDS][3];
    uint8_t sent_hash[TRACK_ROUNDS][3][HASH_BYTES];
};

/* ---- printing, for failure messages ---- */

static const char *
hname(const uint8_t *h)
{
    if (!memcmp(h, NIL, HASH_BYTES))
        return "nil";
    if (!memcmp(h, X, HASH_BYTES))
        return "X";
    if (!memcmp(h, Y, HASH_BYTES))
        return "Y";
    return "?";
}

static const char *
kname(unsigned k)
{
    switch (k) {
    case CONS_ACT_PROPOSE:
        return "PROPOSE";
    case CONS_ACT_VOTE:
        return "VOTE";
    case CONS_ACT_LOCK:
        return "LOCK";
    case CONS_ACT_TIMEOUT:
        return "TIMEOUT";
    case CONS_ACT_DECIDE:
        return "DECIDE";
    }
    return "?";
}

static void
dump(const struct tc *t)
{
    print_message("actions of the last event (%zu):\n", t->nlog);
    for (size_t i = 0; i < t->nlog; i++) {
        const struct cons_action *a = &t->log[i];
        print_message("  %s h=%llu r=%u type=%u step=%u ms=%u vr=%d hash=%s lock=(%d,%s) "
                      "valid=(%d,%s)\n",
                      kname(a->kind), (unsigned long long)a->height, a->round, a->vote_type,
                      a->step, a->ms, a->valid_round, hname(a->hash), a->locked_round,
                      hname(a->locked_hash), a->valid_round_lock, hname(a->valid_hash));
    }
}

#define CHECK(t, cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            dump(t);                                                                               \
            fail_msg(__VA_ARGS__);                                                                 \
        }                                                                                          \
    } while (0)

/* ---- the harness ---- */

static int
group_setup(void **state)
{
    (void)state;
    memset(X, 0xaa, sizeof(X));
    memset(Y, 0xbb, sizeof(Y));
    return 0;
}

static void
fill_sig(uint8_t sig[SIG_BYTES], unsigned validator, unsigned type, uint32_t round)
{
    memset(sig, 0x5a, SIG_BYTES);
    sig[0] = (uint8_t)(validator + 1);
    sig[1] = (uint8_t)type;
    sig[2] = (uint8_t)round;
}

static void
remember_own(struct tc *t, unsigned type, uint32_t round, const uint8_t hash[HASH_BYTES])
{
    if (round >= TRACK_ROUNDS)
        return;
    if (t->sent[round][type]) {
        CHECK(t, !memcmp(t->sent_hash[round][type], hash, HASH_BYTES),
              "a second, different own vote: type %u round %u was %s, now %s", type, round,
              hname(t->sent_hash[round][type]), hname(hash));
        return;
    }
    t->sent[round][type] = true;
    memcpy(t->sent_hash[round][type], hash, HASH_BYTES);
}

/* Takes the core's actions into the log, feeding our own votes back, until none is left. */
static void
pump(struct tc *t)
{
    for (;;) {
        size_t n;
        const struct cons_action *a = cons_actions(t->c, &n);
        if (n == 0)
            return;
        struct cons_action batch[64];
        assert_true(n <= IDL_ARRAY_LEN(batch));
        memcpy(batch, a, n * sizeof(*a));
        cons_actions_clear(t->c);
        for (size_t i = 0; i < n; i++) {
            assert_true(t->nlog < LOG_MAX);
            t->log[t->nlog++] = batch[i];
            CHECK(t, batch[i].height == t->h, "action for height %llu, not %llu",
                  (unsigned long long)batch[i].height, (unsigned long long)t->h);
            if (batch[i].kind == CONS_ACT_VOTE || batch[i].kind == CONS_ACT_PROPOSE)
                CHECK(t, t->self >= 0, "a replica emitted %s", kname(batch[i].kind));
            if (batch[i].kind == CONS_ACT_VOTE) {
                CHECK(t, batch[i].vote_type == PREVOTE || batch[i].vote_type == PRECOMMIT,
                      "bad vote type %u", batch[i].vote_type);
                remember_own(t, batch[i].vote_type, batch[i].round, batch[i].hash);
            }
        }
        if (!t->echo)
            continue;
        for (size_t i = 0; i < n; i++) {
            if (batch[i].kind != CONS_ACT_VOTE)
                continue;
            struct cons_vote v = {0};
            v.type = batch[i].vote_type;
            v.height = batch[i].height;
            v.round = batch[i].round;
            memcpy(v.hash, batch[i].hash, HASH_BYTES);
            v.validator = (uint16_t)t->self;
            fill_sig(v.sig, v.validator, v.type, v.round);
            cons_on_vote(t->c, &v);
        }
    }
}

/*
 * A core of nv validators for validator `self` (-1: a replica) at `height`; powers NULL
 * means all 1.
 */
static struct tc *
t_open_n(unsigned nv, int self, uint64_t height, const uint64_t *powers)
{
    struct tc *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    assert_true(nv <= NV_MAX);
    t->nv = nv;
    for (unsigned i = 0; i < nv; i++) {
        snprintf(t->vals[i].name, sizeof(t->vals[i].name), "v%u", i);
        memset(t->vals[i].pubkey, (int)(0x10 + i), sizeof(t->vals[i].pubkey));
        t->vals[i].power = powers ? powers[i] : 1;
    }
    struct cons_config cfg = {
        .vals = t->vals,
        .n_vals = nv,
        .self = self,
        .timeouts = {T_PROPOSE, T_PREVOTE, T_PRECOMMIT, T_DELTA},
    };
    assert_int_equal(cons_new(&t->c, &cfg), IDL_OK);
    t->self = self;
    t->echo = true;
    t->h = height;
    cons_start_height(t->c, height);
    pump(t);
    CHECK(t, t->nlog == 0, "cons_start_height emitted actions");
    assert_int_equal(cons_step_of(t->c), CONS_STEP_WAIT);
    assert_int_equal(cons_round(t->c), 0);
    assert_int_equal(cons_height(t->c), height);
    return t;
}

static struct tc *
t_open_powers(int self, uint64_t height, const uint64_t *powers)
{
    return t_open_n(NV, self, height, powers);
}

static struct tc *
t_open(int self, uint64_t height)
{
    return t_open_powers(self, height, NULL);
}

static void
t_close(struct tc *t)
{
    cons_free(t->c);
    free(t);
}

static void
start_height(struct tc *t, uint64_t height)
{
    t->nlog = 0;
    t->h = height;
    memset(t->sent, 0, sizeof(t->sent));
    cons_start_height(t->c, height);
    pump(t);
}

static void
kick(struct tc *t)
{
    t->nlog = 0;
    cons_kick(t->c);
    pump(t);
}

static void
vote_raw(struct tc *t, unsigned type, uint64_t height, unsigned validator, uint32_t round,
         const uint8_t *hash)
{
    struct cons_vote v = {0};
    v.type = (uint8_t)type;
    v.height = height;
    v.round = round;
    memcpy(v.hash, hash ? hash : NIL, HASH_BYTES);
    v.validator = (uint16_t)validator;
    fill_sig(v.sig, validator, type, round);
    t->nlog = 0;
    cons_on_vote(t->c, &v);
    pump(t);
}

/* A prevote / precommit from validator i in round r for hash (NULL = nil), this height. */
static void
pv(struct tc *t, unsigned i, uint32_t r, const uint8_t *hash)
{
    vote_raw(t, PREVOTE, t->h, i, r, hash);
}

static void
pc(struct tc *t, unsigned i, uint32_t r, const uint8_t *hash)
{
    vote_raw(t, PRECOMMIT, t->h, i, r, hash);
}

static void
prop_raw(struct tc *t, uint64_t height, uint32_t r, const uint8_t *hash, int32_t vr, bool valid)
{
    struct cons_proposal p = {0};
    p.height = height;
    p.round = r;
    p.valid_round = vr;
    memcpy(p.hash, hash ? hash : NIL, HASH_BYTES);
    p.valid = valid;
    t->nlog = 0;
    cons_on_proposal(t->c, &p);
    pump(t);
}

/* The proposal of round r at this height, as the engine vouches for it. */
static void
prop(struct tc *t, uint32_t r, const uint8_t *hash, int32_t vr, bool valid)
{
    prop_raw(t, t->h, r, hash, vr, valid);
}

static void
fire(struct tc *t, uint32_t r, unsigned step)
{
    t->nlog = 0;
    cons_on_timeout(t->c, t->h, r, step);
    pump(t);
}

static void
restore_vote(struct tc *t, unsigned type, uint32_t r, const uint8_t *hash)
{
    struct cons_vote v = {0};
    v.type = (uint8_t)type;
    v.height = t->h;
    v.round = r;
    memcpy(v.hash, hash ? hash : NIL, HASH_BYTES);
    v.validator = (uint16_t)t->self;
    fill_sig(v.sig, v.validator, type, r);
    remember_own(t, type, r, v.hash);
    cons_restore_vote(t->c, &v);
    pump(t);
}

/* ---- assertions on the actions of the last event ---- */

static size_t
count_kind(const struct tc *t, unsigned kind)
{
    size_t n = 0;
    for (size_t i = 0; i < t->nlog; i++)
        n += t->log[i].kind == kind;
    return n;
}

static const struct cons_action *
find_kind(const struct tc *t, unsigned kind)
{
    for (size_t i = 0; i < t->nlog; i++)
        if (t->log[i].kind == kind)
            return &t->log[i];
    return NULL;
}

static void
expect_none(const struct tc *t)
{
    CHECK(t, t->nlog == 0, "expected no action, got %zu", t->nlog);
}

static void
expect_no(const struct tc *t, unsigned kind)
{
    CHECK(t, count_kind(t, kind) == 0, "expected no %s", kname(kind));
}

/* The actions, in order, are exactly these kinds. */
static void
expect_kinds(const struct tc *t, size_t n, const unsigned *kinds)
{
    CHECK(t, t->nlog == n, "expected %zu actions, got %zu", n, t->nlog);
    for (size_t i = 0; i < n; i++)
        CHECK(t, t->log[i].kind == kinds[i], "action %zu is %s, want %s", i, kname(t->log[i].kind),
              kname(kinds[i]));
}
#define EXPECT_KINDS(t, ...)                                                                       \
    do {                                                                                           \
        const unsigned kinds_[] = {__VA_ARGS__};                                                   \
        expect_kinds(t, IDL_ARRAY_LEN(kinds_), kinds_);                                            \
    } while (0)

/* Exactly one VOTE among the actions: of `type` in the current round for hash. */
static void
expect_vote(const struct tc *t, unsigned type, const uint8_t *hash)
{
    const uint8_t *want = hash ? hash : NIL;
    CHECK(t, count_kind(t, CONS_ACT_VOTE) == 1, "expected one VOTE, got %zu",
          count_kind(t, CONS_ACT_VOTE));
    const struct cons_action *a = find_kind(t, CONS_ACT_VOTE);
    CHECK(t, a->vote_type == type, "vote type %u, want %u", a->vote_type, type);
    CHECK(t, !memcmp(a->hash, want, HASH_BYTES), "vote for %s, want %s", hname(a->hash),
          hname(want));
    CHECK(t, a->round == cons_round(t->c), "vote in round %u, core in round %u", a->round,
          cons_round(t->c));
}

/* The only action is a VOTE of `type` for hash. */
static void
expect_only_vote(const struct tc *t, unsigned type, const uint8_t *hash)
{
    CHECK(t, t->nlog == 1, "expected exactly one action, got %zu", t->nlog);
    expect_vote(t, type, hash);
}

/* A TIMEOUT of step in round of ms milliseconds is among the actions. */
static void
expect_timeout(const struct tc *t, uint32_t round, unsigned step, uint32_t ms)
{
    for (size_t i = 0; i < t->nlog; i++) {
        const struct cons_action *a = &t->log[i];
        if (a->kind == CONS_ACT_TIMEOUT && a->step == step && a->round == round && a->ms == ms)
            return;
    }
    CHECK(t, false, "no TIMEOUT step %u round %u ms %u", step, round, ms);
}

static void
expect_only_timeout(const struct tc *t, uint32_t round, unsigned step, uint32_t ms)
{
    CHECK(t, t->nlog == 1, "expected exactly one action, got %zu", t->nlog);
    expect_timeout(t, round, step, ms);
}

static void
expect_decide(const struct tc *t, const uint8_t *hash, uint32_t round)
{
    CHECK(t, count_kind(t, CONS_ACT_DECIDE) == 1, "expected one DECIDE");
    const struct cons_action *a = find_kind(t, CONS_ACT_DECIDE);
    CHECK(t, !memcmp(a->hash, hash, HASH_BYTES), "decided %s, want %s", hname(a->hash),
          hname(hash));
    CHECK(t, a->round == round, "decided in round %u, want %u", a->round, round);
    assert_int_equal(cons_step_of(t->c), CONS_STEP_DECIDED);
}

static void
expect_lock(const struct tc *t, int32_t locked_round, const uint8_t *locked, int32_t valid_round,
            const uint8_t *valid)
{
    CHECK(t, count_kind(t, CONS_ACT_LOCK) == 1, "expected one LOCK");
    const struct cons_action *a = find_kind(t, CONS_ACT_LOCK);
    CHECK(t, a->locked_round == locked_round, "locked_round %d, want %d", a->locked_round,
          locked_round);
    CHECK(t, !memcmp(a->locked_hash, locked ? locked : NIL, HASH_BYTES), "locked on %s",
          hname(a->locked_hash));
    CHECK(t, a->valid_round_lock == valid_round, "valid_round %d, want %d", a->valid_round_lock,
          valid_round);
    CHECK(t, !memcmp(a->valid_hash, valid ? valid : NIL, HASH_BYTES), "valid value %s",
          hname(a->valid_hash));
}

/*
 * The round's proposer proposes, and schedules the propose timeout like everyone else (it
 * may be unable to prevote its own proposal after a restart), and does nothing more.
 */
static void
expect_propose(const struct tc *t, uint32_t round, int32_t vr, const uint8_t *hash)
{
    EXPECT_KINDS(t, CONS_ACT_PROPOSE, CONS_ACT_TIMEOUT);
    expect_timeout(t, round, CONS_STEP_PROPOSE, T_PROPOSE + round * T_DELTA);
    const struct cons_action *a = &t->log[0];
    CHECK(t, a->round == round, "PROPOSE in round %u, want %u", a->round, round);
    CHECK(t, a->valid_round == vr, "PROPOSE valid_round %d, want %d", a->valid_round, vr);
    CHECK(t, !memcmp(a->hash, hash ? hash : NIL, HASH_BYTES), "PROPOSE hash %s", hname(a->hash));
}

/* ---- scenarios shared by several tests ---- */

/*
 * self = 3 at height 0 (proposers: round 0 -> 0, 1 -> 1, 2 -> 2): prevotes and locks X in
 * round 0, precommits X, sees the others precommit nil and moves to round 1 on the
 * precommit timeout, with no proposal of round 1 yet.
 */
static struct tc *
locked_on_x_in_round0_now_round1(void)
{
    struct tc *t = t_open(3, 0);
    kick(t);
    expect_only_timeout(t, 0, CONS_STEP_PROPOSE, T_PROPOSE);
    prop(t, 0, X, -1, true);
    expect_only_vote(t, PREVOTE, X);
    pv(t, 0, 0, X);
    pv(t, 1, 0, X);
    expect_lock(t, 0, X, 0, X);
    expect_vote(t, PRECOMMIT, X);
    pc(t, 0, 0, NULL);
    expect_none(t);
    pc(t, 1, 0, NULL);
    expect_only_timeout(t, 0, CONS_STEP_PRECOMMIT, T_PRECOMMIT);
    fire(t, 0, CONS_STEP_PRECOMMIT);
    expect_only_timeout(t, 1, CONS_STEP_PROPOSE, T_PROPOSE + T_DELTA);
    assert_int_equal(cons_round(t->c), 1);
    return t;
}

/* Fresh core (self 2, height 0, proposer 0) in round 0 that has prevoted X. */
static struct tc *
prevoted_x_in_round0(void)
{
    struct tc *t = t_open(2, 0);
    kick(t);
    prop(t, 0, X, -1, true);
    expect_only_vote(t, PREVOTE, X);
    return t;
}

/* ---- 0. construction and helpers of the contract ---- */

static void
test_new_rejects_empty_set_bad_self_and_bad_power(void **state)
{
    (void)state;
    struct ledger_validator vals[NV];
    memset(vals, 0, sizeof(vals));
    for (size_t i = 0; i < NV; i++)
        vals[i].power = 1;
    struct cons_config cfg = {.vals = vals,
                              .n_vals = NV,
                              .self = 0,
                              .timeouts = {T_PROPOSE, T_PREVOTE, T_PRECOMMIT, T_DELTA}};
    struct cons *c = (struct cons *)&cfg; /* must be reset to NULL on failure */

    cfg.n_vals = 0;
    assert_int_equal(cons_new(&c, &cfg), IDL_ERR_INVALID);
    assert_null(c);
    cfg.n_vals = LEDGER_VALIDATORS_MAX + 1;
    assert_int_equal(cons_new(&c, &cfg), IDL_ERR_INVALID);
    cfg.n_vals = NV;
    cfg.self = NV;
    assert_int_equal(cons_new(&c, &cfg), IDL_ERR_INVALID);
    cfg.self = 0;
    vals[2].power = 0;
    assert_int_equal(cons_new(&c, &cfg), IDL_ERR_INVALID);
    vals[2].power = LEDGER_VALIDATOR_POWER_MAX + 1;
    assert_int_equal(cons_new(&c, &cfg), IDL_ERR_INVALID);
    vals[2].power = 1;
    cfg.self = -1;
    assert_int_equal(cons_new(&c, &cfg), IDL_OK);
    cons_free(c);
    cons_free(NULL);
}

static void
test_proposer_is_round_robin_on_height_plus_round(void **state)
{
    (void)state;
    assert_int_equal(cons_proposer(4, 0, 0), 0);
    assert_int_equal(cons_proposer(4, 0, 3), 3);
    assert_int_equal(cons_proposer(4, 1, 0), 1);
    assert_int_equal(cons_proposer(4, 1, 3), 0);
    assert_int_equal(cons_proposer(4, 7, 6), 1);
    assert_int_equal(cons_proposer(1, 123, 45), 0);
}

/* ---- 1. happy path ---- */

static void
test_nonproposer_happy_path_prevote_lock_precommit_decide_certificate(void **state)
{
    (void)state;
    struct tc *t = t_open(2, 0); /* proposer of (0, 0) is 0 */

    kick(t);
    expect_only_timeout(t, 0, CONS_STEP_PROPOSE, T_PROPOSE);
    assert_int_equal(cons_step_of(t->c), CONS_STEP_PROPOSE);
    kick(t); /* a second kick does nothing */
    expect_none(t);

    prop(t, 0, X, -1, true); /* L22 */
    expect_only_vote(t, PREVOTE, X);
    assert_int_equal(cons_step_of(t->c), CONS_STEP_PREVOTE);
    struct cons_vote own;
    assert_true(cons_own_vote(t->c, 0, PREVOTE, &own));
    assert_memory_equal(own.hash, X, HASH_BYTES);
    assert_int_equal(own.validator, 2);

    pv(t, 0, 0, X); /* 2 prevotes for X with ours */
    expect_none(t);
    pv(t, 1, 0, X); /* 3: L34 fires too (2f+1 prevotes of any kind), then L36 */
    EXPECT_KINDS(t, CONS_ACT_TIMEOUT, CONS_ACT_LOCK, CONS_ACT_VOTE);
    expect_timeout(t, 0, CONS_STEP_PREVOTE, T_PREVOTE);
    expect_lock(t, 0, X, 0, X);
    expect_vote(t, PRECOMMIT, X);
    assert_int_equal(cons_step_of(t->c), CONS_STEP_PRECOMMIT);

    pc(t, 3, 0, NULL); /* ours + a nil: 2 precommits */
    expect_none(t);
    pc(t, 0, 0, X); /* 3 precommits of any kind, 2 for X: L47 */
    expect_only_timeout(t, 0, CONS_STEP_PRECOMMIT, T_PRECOMMIT);
    pc(t, 1, 0, X); /* 3 for X: L49 */
    EXPECT_KINDS(t, CONS_ACT_DECIDE);
    expect_decide(t, X, 0);

    /* After the decision nothing more happens at this height. */
    pv(t, 3, 0, X);
    expect_none(t);
    fire(t, 0, CONS_STEP_PRECOMMIT);
    expect_none(t);
    prop(t, 0, Y, -1, true);
    expect_none(t);
    assert_int_equal(cons_equivocations(t->c), 0);
    assert_int_equal(cons_step_of(t->c), CONS_STEP_DECIDED);

    /* The certificate: exactly the precommits for X, ascending validator index. */
    struct ledger_commit cert;
    assert_int_equal(cons_certificate(t->c, 0, X, &cert), IDL_OK);
    assert_int_equal(cert.height, 0);
    assert_int_equal(cert.round, 0);
    assert_memory_equal(cert.block_hash, X, HASH_BYTES);
    assert_int_equal(cert.sigs.count, 3);
    const struct ledger_commit_sig *s = cert.sigs.items;
    uint64_t power = 0;
    for (unsigned i = 0; i < cert.sigs.count; i++) {
        assert_int_equal(s[i].validator, i); /* 0, 1, 2: validator 3 precommitted nil */
        if (i > 0)
            assert_true(s[i].validator > s[i - 1].validator);
        uint8_t want[SIG_BYTES];
        fill_sig(want, i, PRECOMMIT, 0);
        assert_memory_equal(s[i].sig, want, SIG_BYTES);
        power += t->vals[s[i].validator].power;
    }
    assert_true(3 * power > 2 * ledger_validators_power(t->vals, NV));
    schema_free(&ledger_commit_schema, &cert);

    /* No certificate for a round the core knows nothing of. */
    assert_int_equal(cons_certificate(t->c, 9, X, &cert), IDL_ERR_NOT_FOUND);
    t_close(t);
}

static void
test_first_vote_or_proposal_of_the_height_starts_round0(void **state)
{
    (void)state;
    struct tc *t = t_open(2, 0);
    pv(t, 0, 0, NULL); /* no kick: a vote for the height is work to do */
    expect_only_timeout(t, 0, CONS_STEP_PROPOSE, T_PROPOSE);
    assert_int_equal(cons_step_of(t->c), CONS_STEP_PROPOSE);
    t_close(t);

    t = t_open(2, 0);
    prop(t, 0, X, -1, true);
    EXPECT_KINDS(t, CONS_ACT_TIMEOUT, CONS_ACT_VOTE);
    expect_timeout(t, 0, CONS_STEP_PROPOSE, T_PROPOSE);
    expect_vote(t, PREVOTE, X);
    t_close(t);
}

/* ---- 2. proposing ---- */

static void
test_proposer_start_round_proposes_new_block_without_valid_round(void **state)
{
    (void)state;
    struct tc *t = t_open(1, 1); /* proposer of (1, 0) is 1 */
    kick(t);
    expect_propose(t, 0, -1, NULL); /* zero hash: build a new block; no timeout */
    assert_int_equal(cons_step_of(t->c), CONS_STEP_PROPOSE);
    /* The engine builds X, signs it and feeds it back: we prevote our own block. */
    prop(t, 0, X, -1, true);
    expect_only_vote(t, PREVOTE, X);
    t_close(t);
}

/* ---- 3. invalid and misplaced proposals ---- */

static void
test_invalid_proposal_gets_nil_prevote(void **state)
{
    (void)state;
    struct tc *t = t_open(2, 0);
    kick(t);
    prop(t, 0, X, -1, false);
    expect_only_vote(t, PREVOTE, NULL);
    /* and 3 prevotes for the invalid X lock nothing (L36 needs valid(v)). */
    pv(t, 0, 0, X);
    pv(t, 1, 0, X);
    pv(t, 3, 0, X);
    expect_no(t, CONS_ACT_LOCK);
    expect_no(t, CONS_ACT_VOTE);
    assert_int_equal(cons_step_of(t->c), CONS_STEP_PREVOTE);
    t_close(t);
}

static void
test_proposal_for_other_height_or_round_is_not_prevoted(void **state)
{
    (void)state;
    struct tc *t = t_open(2, 0);
    kick(t);
    prop_raw(t, 1, 0, X, -1, true); /* next height */
    expect_none(t);
    prop(t, 1, X, -1, true); /* a later round: kept, but not voted on now */
    expect_none(t);
    assert_int_equal(cons_round(t->c), 0);
    assert_int_equal(cons_step_of(t->c), CONS_STEP_PROPOSE);
    prop(t, 0, Y, 0, true); /* valid_round not below its round: malformed, dropped */
    expect_none(t);
    prop(t, 0, Y, 3, true);
    expect_none(t);
    assert_int_equal(cons_equivocations(t->c), 0);
    /* The round-0 proposal that then arrives is taken (the malformed ones were not kept). */
    prop(t, 0, X, -1, true);
    expect_only_vote(t, PREVOTE, X);

    /* In round 1, a proposal of round 0 (a past round) does not make us prevote. */
    t_close(t);
    t = t_open(2, 0);
    kick(t);
    fire(t, 0, CONS_STEP_PROPOSE);
    expect_only_vote(t, PREVOTE, NULL);
    pc(t, 0, 0, NULL);
    pc(t, 1, 0, NULL);
    pc(t, 3, 0, NULL);
    expect_only_timeout(t, 0, CONS_STEP_PRECOMMIT, T_PRECOMMIT);
    fire(t, 0, CONS_STEP_PRECOMMIT);
    expect_only_timeout(t, 1, CONS_STEP_PROPOSE, T_PROPOSE + T_DELTA);
    prop(t, 0, X, -1, true);
    expect_none(t);
    assert_int_equal(cons_step_of(t->c), CONS_STEP_PROPOSE);
    t_close(t);
}

/* ---- 4. quorum thresholds ---- */

static void
test_two_prevotes_for_value_do_not_lock_third_does(void **state)
{
    (void)state;
    struct tc *t = prevoted_x_in_round0(); /* ours is the first */
    pv(t, 3, 0, X);                        /* 2 = 2f */
    expect_none(t);
    assert_int_equal(cons_step_of(t->c), CONS_STEP_PREVOTE);
    pv(t, 0, 0, X); /* 3 = 2f + 1 */
    expect_lock(t, 0, X, 0, X);
    expect_vote(t, PRECOMMIT, X);
    t_close(t);
}

static void
test_two_nil_prevotes_do_not_precommit_nil_third_does(void **state)
{
    (void)state;
    struct tc *t = t_open(2, 0);
    kick(t);
    fire(t, 0, CONS_STEP_PROPOSE); /* L57: nil prevote, ours is the first nil */
    expect_only_vote(t, PREVOTE, NULL);
    assert_int_equal(cons_step_of(t->c), CONS_STEP_PREVOTE);
    pv(t, 0, 0, NULL); /* 2 nil */
    expect_none(t);
    pv(t, 1, 0, NULL); /* 3 nil: L34 and L44 */
    EXPECT_KINDS(t, CONS_ACT_TIMEOUT, CONS_ACT_VOTE);
    expect_timeout(t, 0, CONS_STEP_PREVOTE, T_PREVOTE);
    expect_vote(t, PRECOMMIT, NULL);
    assert_int_equal(cons_step_of(t->c), CONS_STEP_PRECOMMIT);
    t_close(t);
}

static void
test_two_precommits_do_not_decide_third_does(void **state)
{
    (void)state;
    struct tc *t = prevoted_x_in_round0();
    pc(t, 0, 0, X);
    pc(t, 1, 0, X); /* 2 = 2f */
    expect_none(t);
    assert_int_equal(cons_step_of(t->c), CONS_STEP_PREVOTE);
    pc(t, 3, 0, X); /* 3 = 2f + 1 */
    EXPECT_KINDS(t, CONS_ACT_DECIDE);
    expect_decide(t, X, 0);
    t_close(t);
}

static void
test_mixed_prevote_quorum_schedules_prevote_timeout_which_precommits_nil(void **state)
{
    (void)state;
    struct tc *t = prevoted_x_in_round0();
    pv(t, 0, 0, X);
    pv(t, 1, 0, NULL);                                       /* 3 prevotes: 2 X + 1 nil */
    expect_only_timeout(t, 0, CONS_STEP_PREVOTE, T_PREVOTE); /* L34, no precommit */
    assert_int_equal(cons_step_of(t->c), CONS_STEP_PREVOTE);
    pv(t, 3, 0, NULL); /* a 4th prevote: L34 fires only once per round */
    expect_none(t);
    fire(t, 0, CONS_STEP_PROPOSE); /* stale step: ignored */
    expect_none(t);
    fire(t, 0, CONS_STEP_PREVOTE); /* L61 */
    expect_only_vote(t, PRECOMMIT, NULL);
    assert_int_equal(cons_step_of(t->c), CONS_STEP_PRECOMMIT);
    fire(t, 0, CONS_STEP_PREVOTE); /* again: nothing */
    expect_none(t);
    t_close(t);
}

/* L34 fires "while step = prevote": a prevote quorum seen in step propose waits for it. */
static void
test_prevote_quorum_before_own_prevote_schedules_timeout_once_prevoted(void **state)
{
    (void)state;
    struct tc *t = t_open(2, 0);
    kick(t);
    pv(t, 0, 0, X);
    pv(t, 1, 0, X);
    pv(t, 3, 0, NULL); /* 3 prevotes while we are still in step propose */
    expect_none(t);
    fire(t, 0, CONS_STEP_PROPOSE);
    EXPECT_KINDS(t, CONS_ACT_VOTE, CONS_ACT_TIMEOUT);
    expect_vote(t, PREVOTE, NULL);
    expect_timeout(t, 0, CONS_STEP_PREVOTE, T_PREVOTE);
    t_close(t);
}

static void
test_mixed_precommit_quorum_schedules_precommit_timeout_then_round1_longer_timeout(void **state)
{
    (void)state;
    struct tc *t = prevoted_x_in_round0();
    pv(t, 0, 0, X);
    pv(t, 1, 0, NULL);
    fire(t, 0, CONS_STEP_PREVOTE);
    expect_only_vote(t, PRECOMMIT, NULL); /* ours: nil */
    pc(t, 0, 0, X);
    expect_none(t);
    pc(t, 1, 0, X);                                              /* 3 precommits: 2 X + 1 nil */
    expect_only_timeout(t, 0, CONS_STEP_PRECOMMIT, T_PRECOMMIT); /* L47, no decision */
    pc(t, 3, 0, NULL);
    expect_none(t);                  /* L47 only once */
    fire(t, 1, CONS_STEP_PRECOMMIT); /* wrong round: ignored */
    expect_none(t);
    fire(t, 0, CONS_STEP_PRECOMMIT); /* L65 */
    expect_only_timeout(t, 1, CONS_STEP_PROPOSE, T_PROPOSE + T_DELTA);
    assert_int_equal(cons_round(t->c), 1);
    assert_int_equal(cons_step_of(t->c), CONS_STEP_PROPOSE);
    fire(t, 0, CONS_STEP_PRECOMMIT); /* a stale precommit timeout does not skip again */
    expect_none(t);
    assert_int_equal(cons_round(t->c), 1);

    /* Round 1 timeouts are longer by delta: prevote 500 + 100. */
    fire(t, 1, CONS_STEP_PROPOSE);
    expect_only_vote(t, PREVOTE, NULL);
    pv(t, 0, 1, X);
    pv(t, 1, 1, NULL);
    expect_only_timeout(t, 1, CONS_STEP_PREVOTE, T_PREVOTE + T_DELTA);
    t_close(t);
}

static void
test_timeouts_grow_by_delta_per_round_and_are_capped(void **state)
{
    (void)state;
    struct tc *t = t_open(-1, 0);
    kick(t);
    expect_only_timeout(t, 0, CONS_STEP_PROPOSE, T_PROPOSE);
    for (uint32_t r = 0; r < 6; r++) {
        fire(t, r, CONS_STEP_PRECOMMIT);
        expect_only_timeout(t, r + 1, CONS_STEP_PROPOSE, T_PROPOSE + (r + 1) * T_DELTA);
    }
    t_close(t);

    t = t_open(-1, 0);
    cons_restore_round(t->c, 10000);
    kick(t);
    expect_only_timeout(t, 10000, CONS_STEP_PROPOSE, 600000);
    t_close(t);
}

/*
 * Thresholds are of voting power, strictly more than 2/3 and 1/3: with powers 1, 1, 1, 3
 * (total 6) exactly 4 (two thirds) is no quorum and exactly 2 (one third) skips nothing,
 * while validator 3 alone (3 > 2) is enough to skip. (With four validators of power 1
 * "more than" and "at least" cannot be told apart, hence this set.)
 */
static void
test_weighted_thresholds_need_strictly_more_than_two_thirds_and_one_third(void **state)
{
    (void)state;
    const uint64_t powers[NV] = {1, 1, 1, 3};
    struct tc *t = t_open_powers(0, 1, powers); /* proposer of (1, 0) is 1 */
    kick(t);
    prop(t, 0, X, -1, true);
    expect_only_vote(t, PREVOTE, X); /* power 1 */
    pv(t, 3, 0, X);                  /* 1 + 3 = 4 = exactly 2/3 of 6 */
    expect_none(t);
    pv(t, 1, 0, X); /* 5 */
    expect_lock(t, 0, X, 0, X);
    expect_vote(t, PRECOMMIT, X);
    pc(t, 3, 0, X); /* ours + 3 = 4: no decision */
    expect_none(t);
    pc(t, 2, 0, X);
    expect_decide(t, X, 0);
    t_close(t);

    t = t_open_powers(0, 1, powers);
    kick(t);
    pv(t, 1, 4, NULL);
    pv(t, 2, 4, NULL); /* 2 = exactly 1/3: no skip */
    expect_none(t);
    assert_int_equal(cons_round(t->c), 0);
    pc(t, 3, 6, NULL); /* validator 3 alone holds 3 > 2 */
    expect_only_timeout(t, 6, CONS_STEP_PROPOSE, T_PROPOSE + 6 * T_DELTA);
    t_close(t);
}

/* ---- 5. locking ---- */

static void
test_locked_core_prevotes_nil_on_fresh_proposal_of_other_value(void **state)
{
    (void)state;
    struct tc *t = locked_on_x_in_round0_now_round1();
    prop(t, 1, Y, -1, true); /* L23: lockedRound 0, Y != X */
    expect_only_vote(t, PREVOTE, NULL);
    t_close(t);
}

static void
test_locked_core_prevotes_fresh_proposal_of_locked_value(void **state)
{
    (void)state;
    struct tc *t = locked_on_x_in_round0_now_round1();
    prop(t, 1, X, -1, true); /* L23: lockedValue = v */
    expect_only_vote(t, PREVOTE, X);
    t_close(t);
}

static void
test_reproposal_with_valid_round_polka_is_prevoted(void **state)
{
    (void)state;
    struct tc *t = locked_on_x_in_round0_now_round1();
    prop(t, 1, X, 0, true); /* L28: round 0 had 3 prevotes for X */
    expect_only_vote(t, PREVOTE, X);
    t_close(t);
}

static void
test_reproposal_without_polka_in_valid_round_waits_then_times_out_nil(void **state)
{
    (void)state;
    struct tc *t = locked_on_x_in_round0_now_round1();
    prop(t, 1, Y, 0, true); /* no 2f+1 prevotes for Y in round 0: neither L22 nor L28 */
    expect_none(t);
    assert_int_equal(cons_step_of(t->c), CONS_STEP_PROPOSE);
    pv(t, 2, 0, Y); /* only one prevote for Y in round 0 */
    expect_none(t);
    fire(t, 1, CONS_STEP_PROPOSE);
    expect_only_vote(t, PREVOTE, NULL);
    t_close(t);
}

static void
test_reproposal_prevoted_once_valid_round_polka_completes(void **state)
{
    (void)state;
    struct tc *t = t_open(3, 0);
    kick(t);
    prop(t, 1, X, 0, true); /* round 1's proposal: 1 validator in round 1, no skip */
    expect_none(t);
    assert_int_equal(cons_round(t->c), 0);
    pc(t, 0, 1, NULL); /* 2 validators in round 1: L55 */
    expect_only_timeout(t, 1, CONS_STEP_PROPOSE, T_PROPOSE + T_DELTA);
    assert_int_equal(cons_round(t->c), 1);
    pv(t, 0, 0, X);
    pv(t, 1, 0, X);
    expect_none(t); /* 2 prevotes for X in round 0: L28 still waits */
    pv(t, 2, 0, X);
    expect_only_vote(t, PREVOTE, X); /* the polka completed: L28 fires */
    t_close(t);
}

static void
test_lock_released_by_later_polka_for_other_value(void **state)
{
    (void)state;
    struct tc *t = locked_on_x_in_round0_now_round1();
    /* Round 1: we miss the proposal (Y); the others prevote Y. */
    fire(t, 1, CONS_STEP_PROPOSE);
    expect_only_vote(t, PREVOTE, NULL);
    pv(t, 0, 1, Y);
    pv(t, 1, 1, Y);
    expect_only_timeout(t, 1, CONS_STEP_PREVOTE, T_PREVOTE + T_DELTA);
    pv(t, 2, 1, Y); /* a polka for Y in round 1; without the proposal, no L36 */
    expect_none(t);
    fire(t, 1, CONS_STEP_PREVOTE);
    expect_only_vote(t, PRECOMMIT, NULL);
    pc(t, 0, 1, NULL);
    pc(t, 1, 1, NULL);
    expect_only_timeout(t, 1, CONS_STEP_PRECOMMIT, T_PRECOMMIT + T_DELTA);
    fire(t, 1, CONS_STEP_PRECOMMIT);
    expect_only_timeout(t, 2, CONS_STEP_PROPOSE, T_PROPOSE + 2 * T_DELTA);

    /* Round 2: Y re-proposed with valid_round 1. lockedRound 0 <= 1: L29 prevotes Y. */
    prop(t, 2, Y, 1, true);
    expect_only_vote(t, PREVOTE, Y);
    /* And the lock moves to Y in round 2 on its polka. */
    pv(t, 0, 2, Y);
    pv(t, 1, 2, Y);
    expect_lock(t, 2, Y, 2, Y);
    expect_vote(t, PRECOMMIT, Y);
    t_close(t);
}

static void
test_lock_holds_against_polka_older_than_the_lock(void **state)
{
    (void)state;
    struct tc *t = t_open(3, 0);
    kick(t);
    /* Round 0: we miss the proposal (Y), the others prevote Y; we precommit nil. */
    fire(t, 0, CONS_STEP_PROPOSE);
    expect_only_vote(t, PREVOTE, NULL);
    pv(t, 0, 0, Y);
    pv(t, 1, 0, Y);
    pv(t, 2, 0, Y);
    fire(t, 0, CONS_STEP_PREVOTE);
    expect_only_vote(t, PRECOMMIT, NULL);
    pc(t, 0, 0, NULL);
    pc(t, 1, 0, NULL);
    fire(t, 0, CONS_STEP_PRECOMMIT);
    expect_only_timeout(t, 1, CONS_STEP_PROPOSE, T_PROPOSE + T_DELTA);
    /* Round 1: lock on X. */
    prop(t, 1, X, -1, true);
    expect_only_vote(t, PREVOTE, X);
    pv(t, 0, 1, X);
    pv(t, 1, 1, X);
    expect_lock(t, 1, X, 1, X);
    expect_vote(t, PRECOMMIT, X);
    pc(t, 0, 1, NULL);
    pc(t, 1, 1, NULL);
    fire(t, 1, CONS_STEP_PRECOMMIT);
    expect_only_timeout(t, 2, CONS_STEP_PROPOSE, T_PROPOSE + 2 * T_DELTA);
    /* Round 2: Y with valid_round 0 has its polka, but lockedRound 1 > 0 and Y != X. */
    prop(t, 2, Y, 0, true);
    expect_only_vote(t, PREVOTE, NULL);
    t_close(t);
}

/* ---- 6. the valid value ---- */

static void
test_polka_after_nil_precommit_sets_valid_value_only_and_is_reproposed(void **state)
{
    (void)state;
    struct tc *t = t_open(2, 1); /* proposers: round 0 -> 1, round 1 -> 2 (us) */
    kick(t);
    fire(t, 0, CONS_STEP_PROPOSE); /* the proposal is late */
    expect_only_vote(t, PREVOTE, NULL);
    prop(t, 0, X, -1, true);
    expect_none(t); /* step prevote: no second prevote */
    pv(t, 0, 0, X);
    pv(t, 1, 0, X);
    expect_only_timeout(t, 0, CONS_STEP_PREVOTE, T_PREVOTE);
    fire(t, 0, CONS_STEP_PREVOTE);
    expect_only_vote(t, PRECOMMIT, NULL);
    pv(t, 3, 0, X); /* 3 prevotes for X while in step precommit: L36 without L37-41 */
    EXPECT_KINDS(t, CONS_ACT_LOCK);
    expect_lock(t, -1, NULL, 0, X);
    assert_int_equal(cons_step_of(t->c), CONS_STEP_PRECOMMIT);
    pc(t, 0, 0, NULL);
    pc(t, 1, 0, NULL);
    expect_only_timeout(t, 0, CONS_STEP_PRECOMMIT, T_PRECOMMIT);
    fire(t, 0, CONS_STEP_PRECOMMIT);
    /* Round 1, our turn: re-propose the valid value X with valid_round 0 (L15-19). */
    expect_propose(t, 1, 0, X);
    prop(t, 1, X, 0, true); /* fed back by the engine */
    expect_only_vote(t, PREVOTE, X);
    t_close(t);
}

/* ---- 7. round skip ---- */

static void
test_two_validators_in_later_round_make_core_skip_to_it(void **state)
{
    (void)state;
    struct tc *t = t_open(2, 0);
    kick(t);
    pv(t, 0, 5, NULL);
    expect_none(t);
    pc(t, 0, 5, NULL); /* the same validator again: still 1 of 4 */
    expect_none(t);
    assert_int_equal(cons_round(t->c), 0);
    pc(t, 1, 5, NULL); /* f + 1 = 2: L55 */
    expect_only_timeout(t, 5, CONS_STEP_PROPOSE, T_PROPOSE + 5 * T_DELTA);
    assert_int_equal(cons_round(t->c), 5);
    assert_int_equal(cons_step_of(t->c), CONS_STEP_PROPOSE);
    pv(t, 3, 2, NULL); /* earlier rounds never pull back */
    pv(t, 1, 2, NULL);
    expect_none(t);
    assert_int_equal(cons_round(t->c), 5);
    t_close(t);
}

static void
test_one_validator_in_later_round_does_not_make_core_skip(void **state)
{
    (void)state;
    struct tc *t = t_open(2, 0);
    kick(t);
    pv(t, 3, 5, X);
    pc(t, 3, 5, X);
    pv(t, 3, 6, X);
    expect_none(t);
    assert_int_equal(cons_round(t->c), 0);
    t_close(t);
}

static void
test_proposal_counts_as_proposer_message_for_round_skip(void **state)
{
    (void)state;
    struct tc *t = t_open(2, 0);
    kick(t);
    prop(t, 5, X, -1, true); /* from proposer(0, 5) = 1 */
    expect_none(t);
    pv(t, 3, 5, NULL); /* 2 validators in round 5 */
    EXPECT_KINDS(t, CONS_ACT_TIMEOUT, CONS_ACT_VOTE);
    expect_timeout(t, 5, CONS_STEP_PROPOSE, T_PROPOSE + 5 * T_DELTA);
    expect_vote(t, PREVOTE, X); /* the round's proposal is already known */
    t_close(t);
}

/* ---- 8. equivocation ---- */

/*
 * A Byzantine validator's conflicting votes each count for the value they name, as they
 * do at the peers that received them; otherwise a quorum that other honest nodes saw (and
 * locked on) could never be rebuilt here, and the height would stall.
 */
static void
test_conflicting_votes_count_for_each_value_and_as_equivocations(void **state)
{
    (void)state;
    struct tc *t = prevoted_x_in_round0(); /* self = 2 prevoted X */
    pv(t, 0, 0, NULL); /* validator 0: nil first */
    expect_none(t);
    pv(t, 0, 0, X); /* then X: 2 for X (0 and us), not yet a quorum */
    expect_none(t);
    assert_int_equal(cons_equivocations(t->c), 1);
    pv(t, 0, 0, NULL); /* the same vote again is no equivocation */
    assert_int_equal(cons_equivocations(t->c), 1);
    pv(t, 0, 0, Y);
    assert_int_equal(cons_equivocations(t->c), 2);
    pv(t, 1, 0, X); /* 0, 1 and us: a polka for X; 3 prevotes of any kind */
    expect_lock(t, 0, X, 0, X);
    expect_vote(t, PRECOMMIT, X);
    expect_timeout(t, 0, CONS_STEP_PREVOTE, T_PREVOTE);
    /* Precommits likewise: 1 precommits nil, then X. */
    pc(t, 1, 0, NULL);
    pc(t, 1, 0, X);
    assert_int_equal(cons_equivocations(t->c), 3);
    expect_no(t, CONS_ACT_DECIDE); /* 1 and us */
    pc(t, 3, 0, X);
    expect_decide(t, X, 0);
    struct ledger_commit cert;
    assert_int_equal(cons_certificate(t->c, 0, X, &cert), IDL_OK);
    assert_int_equal(cert.sigs.count, 3); /* 1, 2, 3: validator 1's X precommit is in it */
    const struct ledger_commit_sig *sg = cert.sigs.items;
    assert_int_equal(sg[0].validator, 1);
    assert_int_equal(sg[1].validator, 2);
    assert_int_equal(sg[2].validator, 3);
    schema_free(&ledger_commit_schema, &cert);
    t_close(t);
}

/* A validator's flood of different votes is bounded: beyond a few, they are dropped. */
static void
test_a_flood_of_conflicting_votes_is_bounded(void **state)
{
    (void)state;
    struct tc *t = prevoted_x_in_round0();
    uint8_t junk[16][HASH_BYTES];
    for (unsigned i = 0; i < 16; i++) {
        memset(junk[i], 0xa0 + i, HASH_BYTES);
        pv(t, 0, 0, junk[i]);
    }
    assert_int_equal(cons_equivocations(t->c), 15);
    /* Validator 0's X arrives after the flood: it no longer counts, 1 and 3 must do it. */
    pv(t, 0, 0, X);
    pv(t, 1, 0, X);
    expect_no(t, CONS_ACT_LOCK);
    pv(t, 3, 0, X);
    expect_lock(t, 0, X, 0, X);
    t_close(t);
}

static void
test_second_different_proposal_in_round_is_ignored(void **state)
{
    (void)state;
    struct tc *t = prevoted_x_in_round0();
    prop(t, 0, X, -1, true); /* the same proposal again */
    expect_none(t);
    assert_int_equal(cons_equivocations(t->c), 0);
    prop(t, 0, Y, -1, true);
    expect_none(t);
    assert_int_equal(cons_equivocations(t->c), 1);
    prop(t, 1, Y, -1, true); /* a later round's proposal is no conflict */
    prop(t, 0, X, -1, true); /* nor a re-delivery */
    assert_int_equal(cons_equivocations(t->c), 1);
    /* The round's proposal is still X: a polka for Y locks nothing. */
    pv(t, 0, 0, Y);
    pv(t, 1, 0, Y);
    pv(t, 3, 0, Y);
    expect_no(t, CONS_ACT_LOCK);
    expect_no(t, CONS_ACT_VOTE);
    assert_int_equal(cons_step_of(t->c), CONS_STEP_PREVOTE);
    t_close(t);
}

/*
 * What the engine must keep in its block cache (cons_holds): the locked and valid values,
 * the proposals of this round and later, and every value we voted for; not a past round's
 * proposal we did not vote for (block sync fetches it if it is decided after all).
 */
static void
test_holds_lock_own_votes_and_current_proposal_not_past_unvoted_ones(void **state)
{
    (void)state;
    struct tc *t = locked_on_x_in_round0_now_round1();
    struct cons_proposal p;
    assert_true(cons_holds(t->c, X)); /* locked, valid, prevoted and precommitted */
    assert_false(cons_holds(t->c, Y));
    assert_false(cons_holds(t->c, NIL));
    assert_true(cons_proposal_of(t->c, 0, &p));
    assert_memory_equal(p.hash, X, HASH_BYTES);
    assert_false(cons_proposal_of(t->c, 1, &p));
    prop(t, 1, Y, -1, true); /* locked on X: prevotes nil, but Y is this round's proposal */
    expect_vote(t, PREVOTE, NULL);
    assert_true(cons_holds(t->c, Y));
    assert_true(cons_proposal_of(t->c, 1, &p));
    assert_memory_equal(p.hash, Y, HASH_BYTES);
    assert_int_equal(p.valid_round, -1);
    /* Round 1 ends with nil precommits: Y is now a past proposal we never voted for. */
    pc(t, 0, 1, NULL);
    pc(t, 1, 1, NULL);
    fire(t, 1, CONS_STEP_PRECOMMIT);
    assert_int_equal(cons_round(t->c), 2);
    assert_false(cons_holds(t->c, Y));
    assert_true(cons_holds(t->c, X));
    t_close(t);
}

/*
 * ---- 8b. seven validators: f = 2, so 2f + 1 = 5 of 7 is "more than two thirds" and 4 is
 * not; f + 1 = 3 is "more than one third" and 2 is not. The proposer of (0, r) is r % 7.
 */

/* Validator 6 at height 0, in round 0, having prevoted X (proposed by validator 0). */
static struct tc *
n7_prevoted_x(void)
{
    struct tc *t = t_open_n(7, 6, 0, NULL);
    kick(t);
    expect_only_timeout(t, 0, CONS_STEP_PROPOSE, T_PROPOSE);
    prop(t, 0, X, -1, true);
    expect_only_vote(t, PREVOTE, X);
    return t;
}

static void
test_n7_four_prevotes_for_value_do_not_lock_five_do(void **state)
{
    (void)state;
    struct tc *t = n7_prevoted_x(); /* ours is the first */
    pv(t, 0, 0, X);
    pv(t, 1, 0, X);
    pv(t, 2, 0, X); /* 4 = 2f */
    expect_none(t);
    assert_int_equal(cons_step_of(t->c), CONS_STEP_PREVOTE);
    pv(t, 3, 0, X); /* 5 = 2f + 1 */
    expect_lock(t, 0, X, 0, X);
    expect_vote(t, PRECOMMIT, X);
    t_close(t);
}

static void
test_n7_four_nil_prevotes_do_not_precommit_nil_five_do(void **state)
{
    (void)state;
    struct tc *t = t_open_n(7, 6, 0, NULL);
    kick(t);
    fire(t, 0, CONS_STEP_PROPOSE);
    expect_only_vote(t, PREVOTE, NULL);
    pv(t, 0, 0, NULL);
    pv(t, 1, 0, NULL);
    pv(t, 2, 0, NULL); /* 4 nil */
    expect_none(t);
    pv(t, 3, 0, NULL); /* 5 nil: L34 and L44 */
    EXPECT_KINDS(t, CONS_ACT_TIMEOUT, CONS_ACT_VOTE);
    expect_timeout(t, 0, CONS_STEP_PREVOTE, T_PREVOTE);
    expect_vote(t, PRECOMMIT, NULL);
    t_close(t);
}

static void
test_n7_four_mixed_prevotes_schedule_nothing_five_schedule_the_timeout(void **state)
{
    (void)state;
    struct tc *t = n7_prevoted_x();
    pv(t, 0, 0, X);
    pv(t, 1, 0, NULL);
    pv(t, 2, 0, Y); /* 4 of any kind */
    expect_none(t);
    pv(t, 3, 0, NULL); /* 5 of any kind, none a quorum: L34 */
    expect_only_timeout(t, 0, CONS_STEP_PREVOTE, T_PREVOTE);
    t_close(t);
}

static void
test_n7_four_precommits_do_not_decide_five_do_with_a_five_signature_certificate(void **state)
{
    (void)state;
    struct tc *t = n7_prevoted_x();
    pc(t, 0, 0, X);
    pc(t, 1, 0, X);
    pc(t, 2, 0, X);
    pc(t, 3, 0, X); /* 4 = 2f */
    expect_none(t);
    pc(t, 4, 0, X); /* 5 = 2f + 1 */
    expect_decide(t, X, 0);
    struct ledger_commit cert;
    assert_int_equal(cons_certificate(t->c, 0, X, &cert), IDL_OK);
    assert_int_equal(cert.sigs.count, 5);
    schema_free(&ledger_commit_schema, &cert);
    t_close(t);
}

static void
test_n7_two_validators_in_a_later_round_do_not_make_it_skip_three_do(void **state)
{
    (void)state;
    struct tc *t = t_open_n(7, 6, 0, NULL);
    kick(t);
    pv(t, 1, 4, NULL);
    pc(t, 2, 4, NULL); /* 2 of 7 */
    expect_none(t);
    assert_int_equal(cons_round(t->c), 0);
    pv(t, 3, 4, NULL); /* 3 = f + 1: L55 */
    expect_only_timeout(t, 4, CONS_STEP_PROPOSE, T_PROPOSE + 4 * T_DELTA);
    assert_int_equal(cons_round(t->c), 4);
    t_close(t);
}

/* The lock holds against 4 prevotes of another value in a later round, not against 5. */
static void
test_n7_lock_released_only_by_a_five_vote_polka(void **state)
{
    (void)state;
    struct tc *t = n7_prevoted_x();
    for (unsigned i = 0; i < 4; i++)
        pv(t, i, 0, X);
    expect_lock(t, 0, X, 0, X);
    /* Round 0 ends on nil precommits; round 1's proposer (1) proposes Y. */
    for (unsigned i = 0; i < 5; i++)
        pc(t, i, 0, NULL);
    fire(t, 0, CONS_STEP_PRECOMMIT);
    assert_int_equal(cons_round(t->c), 1);
    prop(t, 1, Y, -1, true);
    expect_only_vote(t, PREVOTE, NULL); /* locked on X */
    for (unsigned i = 0; i < 4; i++)
        pv(t, i, 1, Y); /* 4 of 7 for Y: no polka */
    expect_no(t, CONS_ACT_LOCK);
    pv(t, 4, 1, Y); /* 5: a polka for Y in a later round: the lock moves to it (L36) */
    expect_lock(t, 1, Y, 1, Y);
    expect_vote(t, PRECOMMIT, Y);
    t_close(t);
}

/* ---- 9. never a second vote ---- */

static void
test_restored_prevote_is_never_replaced_by_timeout_nil(void **state)
{
    (void)state;
    struct tc *t = t_open(2, 1); /* proposer of (1, 0) is 1 */
    restore_vote(t, PREVOTE, 0, X);
    expect_none(t);
    kick(t);
    expect_only_timeout(t, 0, CONS_STEP_PROPOSE, T_PROPOSE);
    /* The core knows it has prevoted: step prevote, so L57 cannot prevote nil. */
    assert_int_equal(cons_step_of(t->c), CONS_STEP_PREVOTE);
    fire(t, 0, CONS_STEP_PROPOSE);
    expect_none(t);
    prop(t, 0, X, -1, true);
    expect_none(t);
    struct cons_vote own;
    assert_true(cons_own_vote(t->c, 0, PREVOTE, &own));
    assert_memory_equal(own.hash, X, HASH_BYTES);
    /* The restored prevote counts toward the polka. */
    pv(t, 0, 0, X);
    pv(t, 3, 0, X);
    expect_lock(t, 0, X, 0, X);
    expect_vote(t, PRECOMMIT, X);
    t_close(t);
}

static void
test_restored_precommit_is_never_replaced_by_nil_precommit(void **state)
{
    (void)state;
    struct tc *t = t_open(2, 1);
    restore_vote(t, PREVOTE, 0, X);
    restore_vote(t, PRECOMMIT, 0, X);
    kick(t);
    expect_only_timeout(t, 0, CONS_STEP_PROPOSE, T_PROPOSE);
    assert_int_equal(cons_step_of(t->c), CONS_STEP_PRECOMMIT);
    pv(t, 0, 0, NULL);
    pv(t, 1, 0, NULL);
    pv(t, 3, 0, NULL); /* 3 nil prevotes: L44 would precommit nil */
    expect_no(t, CONS_ACT_VOTE);
    fire(t, 0, CONS_STEP_PREVOTE);
    expect_none(t);
    t_close(t);
}

static void
test_restore_resumes_in_round_of_last_own_vote(void **state)
{
    (void)state;
    struct tc *t = t_open(2, 1); /* proposer of (1, 2) is 3 */
    restore_vote(t, PREVOTE, 0, NULL);
    restore_vote(t, PREVOTE, 2, X);
    kick(t);
    expect_only_timeout(t, 2, CONS_STEP_PROPOSE, T_PROPOSE + 2 * T_DELTA);
    assert_int_equal(cons_round(t->c), 2);
    assert_int_equal(cons_step_of(t->c), CONS_STEP_PREVOTE);
    t_close(t);

    /* A restored proposal is not proposed again. */
    t = t_open(1, 1); /* proposer of (1, 0) is 1 */
    cons_restore_proposal(t->c, 0);
    kick(t);
    expect_only_timeout(t, 0, CONS_STEP_PROPOSE, T_PROPOSE); /* and it may give up on it */
    t_close(t);
}

/*
 * An own vote restored from far beyond the round window (a long height before the
 * restart) is kept: the core resumes in that round and never votes anything else in it.
 */
static void
test_restore_beyond_round_window_keeps_the_vote(void **state)
{
    (void)state;
    struct tc *t = t_open(2, 1);
    restore_vote(t, PREVOTE, 70, X);
    kick(t);
    assert_int_equal(cons_round(t->c), 70);
    assert_int_equal(cons_step_of(t->c), CONS_STEP_PREVOTE);
    struct cons_vote own;
    assert_true(cons_own_vote(t->c, 70, VOTE_PREVOTE, &own));
    assert_memory_equal(own.hash, X, HASH_BYTES);
    /* The propose timeout of round 70 would prevote nil: it must not. */
    fire(t, 70, CONS_STEP_PROPOSE);
    expect_no(t, CONS_ACT_VOTE);
    t_close(t);
}

/*
 * The guard inside the core: were a rule to vote in a (round, type) it already voted in,
 * the first vote is re-sent. Through the contract (restore before the height starts) the
 * restored step already keeps the rules away, so this drives the guard by restoring in
 * the middle of the round, as a late write-ahead-log replay would.
 */
static void
test_vote_guard_resends_first_prevote_instead_of_nil(void **state)
{
    (void)state;
    struct tc *t = t_open(2, 1);
    kick(t);
    expect_only_timeout(t, 0, CONS_STEP_PROPOSE, T_PROPOSE);
    assert_int_equal(cons_step_of(t->c), CONS_STEP_PROPOSE);
    restore_vote(t, PREVOTE, 0, X);
    fire(t, 0, CONS_STEP_PROPOSE); /* L59 would prevote nil */
    expect_only_vote(t, PREVOTE, X);
    assert_int_equal(cons_equivocations(t->c), 0); /* the echo matched the restored vote */
    t_close(t);
}

static void
test_vote_guard_resends_first_precommit_instead_of_nil(void **state)
{
    (void)state;
    struct tc *t = t_open(2, 1);
    kick(t);
    prop(t, 0, X, -1, true);
    expect_only_vote(t, PREVOTE, X);
    restore_vote(t, PRECOMMIT, 0, X);
    pv(t, 0, 0, NULL);
    pv(t, 1, 0, NULL);
    expect_only_timeout(t, 0, CONS_STEP_PREVOTE, T_PREVOTE);
    pv(t, 3, 0, NULL); /* 3 nil: L44 would precommit nil */
    expect_only_vote(t, PRECOMMIT, X);
    assert_int_equal(cons_equivocations(t->c), 0);
    t_close(t);
}

/* ---- 10. deciding ---- */

static void
test_decides_earlier_round_value_on_its_precommit_quorum(void **state)
{
    (void)state;
    struct tc *t = t_open(3, 0);
    kick(t);
    prop(t, 0, X, -1, true);
    expect_only_vote(t, PREVOTE, X);
    pv(t, 0, 2, NULL);
    pv(t, 1, 2, NULL); /* skip to round 2 */
    expect_only_timeout(t, 2, CONS_STEP_PROPOSE, T_PROPOSE + 2 * T_DELTA);
    pc(t, 0, 0, X);
    pc(t, 1, 0, X);
    expect_none(t);
    pc(t, 2, 0, X); /* L49 with r = 0 < round 2 */
    EXPECT_KINDS(t, CONS_ACT_DECIDE);
    expect_decide(t, X, 0);
    struct ledger_commit cert;
    assert_int_equal(cons_certificate(t->c, 0, X, &cert), IDL_OK);
    assert_int_equal(cert.round, 0);
    assert_int_equal(cert.sigs.count, 3);
    schema_free(&ledger_commit_schema, &cert);
    t_close(t);
}

static void
test_precommit_quorum_decides_only_once_proposal_known_and_valid(void **state)
{
    (void)state;
    struct tc *t = t_open(3, 0);
    kick(t);
    pc(t, 0, 0, X);
    pc(t, 1, 0, X);
    pc(t, 2, 0, X); /* no proposal known: no decision, only L47 */
    expect_only_timeout(t, 0, CONS_STEP_PRECOMMIT, T_PRECOMMIT);
    prop(t, 0, X, -1, true);
    EXPECT_KINDS(t, CONS_ACT_DECIDE);
    expect_decide(t, X, 0);
    t_close(t);

    t = t_open(3, 0);
    kick(t);
    prop(t, 0, X, -1, false); /* invalid */
    expect_only_vote(t, PREVOTE, NULL);
    pc(t, 0, 0, X);
    pc(t, 1, 0, X);
    pc(t, 2, 0, X);
    expect_no(t, CONS_ACT_DECIDE);
    t_close(t);

    t = t_open(3, 0);
    kick(t);
    prop(t, 0, Y, -1, true);
    pc(t, 0, 0, X);
    pc(t, 1, 0, X);
    pc(t, 2, 0, X); /* precommits for a value that is not the round's proposal */
    expect_no(t, CONS_ACT_DECIDE);
    t_close(t);
}

/* ---- 11. replica ---- */

static void
test_replica_never_votes_or_proposes_but_decides(void **state)
{
    (void)state;
    struct tc *t = t_open(-1, 1);
    kick(t);
    expect_only_timeout(t, 0, CONS_STEP_PROPOSE, T_PROPOSE);
    prop(t, 0, X, -1, true);
    expect_none(t);
    fire(t, 0, CONS_STEP_PROPOSE);
    expect_none(t);
    pv(t, 0, 0, X);
    pv(t, 1, 0, X);
    pv(t, 2, 0, X);
    expect_no(t, CONS_ACT_VOTE);
    pc(t, 0, 0, X);
    pc(t, 1, 0, X);
    expect_none(t);
    pc(t, 2, 0, X);
    EXPECT_KINDS(t, CONS_ACT_DECIDE);
    expect_decide(t, X, 0);
    t_close(t);

    /* Through every proposer's round: only propose timeouts, never PROPOSE or VOTE. */
    t = t_open(-1, 0);
    kick(t);
    for (uint32_t r = 0; r < NV + 1; r++) {
        fire(t, r, CONS_STEP_PROPOSE);
        expect_none(t);
        assert_int_equal(cons_step_of(t->c), CONS_STEP_PREVOTE);
        fire(t, r, CONS_STEP_PREVOTE);
        expect_none(t);
        assert_int_equal(cons_step_of(t->c), CONS_STEP_PRECOMMIT);
        fire(t, r, CONS_STEP_PRECOMMIT);
        expect_only_timeout(t, r + 1, CONS_STEP_PROPOSE, T_PROPOSE + (r + 1) * T_DELTA);
    }
    struct cons_vote own;
    assert_false(cons_own_vote(t->c, 0, PREVOTE, &own));
    t_close(t);
}

/* ---- 12. input bounds ---- */

static void
test_votes_beyond_round_window_are_dropped(void **state)
{
    (void)state;
    struct tc *t = t_open(2, 0);
    kick(t);
    pv(t, 0, CONS_ROUND_WINDOW + 1, NULL);
    pv(t, 1, CONS_ROUND_WINDOW + 1, NULL);
    prop(t, CONS_ROUND_WINDOW + 1, X, -1, true);
    expect_none(t);
    assert_int_equal(cons_round(t->c), 0);
    pv(t, 0, CONS_ROUND_WINDOW, NULL); /* the edge of the window is in */
    pv(t, 1, CONS_ROUND_WINDOW, NULL);
    expect_only_timeout(t, CONS_ROUND_WINDOW, CONS_STEP_PROPOSE,
                        T_PROPOSE + CONS_ROUND_WINDOW * T_DELTA);
    /* The dropped votes were not kept: one more is 1 validator in that round. */
    pv(t, 3, CONS_ROUND_WINDOW + 1, NULL);
    expect_none(t);
    assert_int_equal(cons_round(t->c), CONS_ROUND_WINDOW);
    t_close(t);
}

static void
test_votes_for_other_heights_are_ignored(void **state)
{
    (void)state;
    struct tc *t = t_open(2, 5); /* proposer of (5, 0) is 1 */
    vote_raw(t, PREVOTE, 4, 0, 0, NULL);
    vote_raw(t, PREVOTE, 6, 0, 0, NULL);
    expect_none(t);
    assert_int_equal(cons_step_of(t->c), CONS_STEP_WAIT); /* not even a kick */
    kick(t);
    prop(t, 0, X, -1, true);
    expect_only_vote(t, PREVOTE, X);
    vote_raw(t, PREVOTE, 6, 0, 0, X);
    vote_raw(t, PREVOTE, 4, 1, 0, X);
    vote_raw(t, PRECOMMIT, 6, 0, 0, X);
    vote_raw(t, PRECOMMIT, 6, 1, 0, X);
    vote_raw(t, PRECOMMIT, 6, 3, 0, X);
    expect_none(t);
    t->nlog = 0;
    cons_on_timeout(t->c, 4, 0, CONS_STEP_PROPOSE); /* a timeout of another height */
    pump(t);
    expect_none(t);
    assert_int_equal(cons_step_of(t->c), CONS_STEP_PREVOTE);
    t_close(t);
}

static void
test_out_of_range_validator_and_bad_vote_type_are_ignored(void **state)
{
    (void)state;
    struct tc *t = prevoted_x_in_round0();
    const unsigned bad[] = {NV, NV + 1, LEDGER_VALIDATORS_MAX - 1, LEDGER_VALIDATORS_MAX,
                            UINT16_MAX};
    for (size_t i = 0; i < IDL_ARRAY_LEN(bad); i++) {
        pv(t, bad[i], 0, X);
        pc(t, bad[i], 0, X);
        pv(t, bad[i], 7, X);
    }
    vote_raw(t, VOTE_NONE, 0, 0, 0, X);
    vote_raw(t, 3, 0, 1, 0, X);
    vote_raw(t, 255, 0, 1, 0, X);
    expect_none(t);
    assert_int_equal(cons_round(t->c), 0);
    assert_int_equal(cons_equivocations(t->c), 0);
    pv(t, 0, 0, X); /* the slots of 0 and 1 are still free */
    expect_none(t);
    pv(t, 1, 0, X);
    expect_lock(t, 0, X, 0, X);
    expect_vote(t, PRECOMMIT, X);
    t_close(t);
}

/* ---- 13. a new height ---- */

static void
test_start_height_forgets_round_lock_valid_value_and_votes(void **state)
{
    (void)state;
    struct tc *t = t_open(1, 0); /* proposer of (0, 0) is 0, of (1, 0) is 1 (us) */
    kick(t);
    prop(t, 0, X, -1, true);
    expect_only_vote(t, PREVOTE, X);
    pv(t, 0, 0, X);
    pv(t, 2, 0, X);
    expect_lock(t, 0, X, 0, X);
    pv(t, 3, 0, Y);
    pv(t, 3, 0, X); /* an equivocation at height 0 */
    assert_int_equal(cons_equivocations(t->c), 1);
    pc(t, 0, 0, X);
    pc(t, 2, 0, X);
    expect_decide(t, X, 0);

    start_height(t, 1);
    expect_none(t);
    assert_int_equal(cons_height(t->c), 1);
    assert_int_equal(cons_round(t->c), 0);
    assert_int_equal(cons_step_of(t->c), CONS_STEP_WAIT);
    assert_int_equal(cons_equivocations(t->c), 0);
    struct cons_vote own;
    assert_false(cons_own_vote(t->c, 0, PREVOTE, &own));
    struct ledger_commit cert;
    assert_int_equal(cons_certificate(t->c, 0, X, &cert), IDL_ERR_NOT_FOUND);

    kick(t);
    expect_propose(t, 0, -1, NULL); /* the valid value X was not carried over */
    prop(t, 0, Y, -1, true);
    expect_only_vote(t, PREVOTE, Y); /* nor the lock on X */
    t_close(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_rejects_empty_set_bad_self_and_bad_power),
        cmocka_unit_test(test_proposer_is_round_robin_on_height_plus_round),
        cmocka_unit_test(test_nonproposer_happy_path_prevote_lock_precommit_decide_certificate),
        cmocka_unit_test(test_first_vote_or_proposal_of_the_height_starts_round0),
        cmocka_unit_test(test_proposer_start_round_proposes_new_block_without_valid_round),
        cmocka_unit_test(test_invalid_proposal_gets_nil_prevote),
        cmocka_unit_test(test_proposal_for_other_height_or_round_is_not_prevoted),
        cmocka_unit_test(test_two_prevotes_for_value_do_not_lock_third_does),
        cmocka_unit_test(test_two_nil_prevotes_do_not_precommit_nil_third_does),
        cmocka_unit_test(test_two_precommits_do_not_decide_third_does),
        cmocka_unit_test(test_mixed_prevote_quorum_schedules_prevote_timeout_which_precommits_nil),
        cmocka_unit_test(test_prevote_quorum_before_own_prevote_schedules_timeout_once_prevoted),
        cmocka_unit_test(
            test_mixed_precommit_quorum_schedules_precommit_timeout_then_round1_longer_timeout),
        cmocka_unit_test(test_timeouts_grow_by_delta_per_round_and_are_capped),
        cmocka_unit_test(test_weighted_thresholds_need_strictly_more_than_two_thirds_and_one_third),
        cmocka_unit_test(test_locked_core_prevotes_nil_on_fresh_proposal_of_other_value),
        cmocka_unit_test(test_locked_core_prevotes_fresh_proposal_of_locked_value),
        cmocka_unit_test(test_reproposal_with_valid_round_polka_is_prevoted),
        cmocka_unit_test(test_reproposal_without_polka_in_valid_round_waits_then_times_out_nil),
        cmocka_unit_test(test_reproposal_prevoted_once_valid_round_polka_completes),
        cmocka_unit_test(test_lock_released_by_later_polka_for_other_value),
        cmocka_unit_test(test_lock_holds_against_polka_older_than_the_lock),
        cmocka_unit_test(test_polka_after_nil_precommit_sets_valid_value_only_and_is_reproposed),
        cmocka_unit_test(test_two_validators_in_later_round_make_core_skip_to_it),
        cmocka_unit_test(test_one_validator_in_later_round_does_not_make_core_skip),
        cmocka_unit_test(test_proposal_counts_as_proposer_message_for_round_skip),
        cmocka_unit_test(test_conflicting_votes_count_for_each_value_and_as_equivocations),
        cmocka_unit_test(test_a_flood_of_conflicting_votes_is_bounded),
        cmocka_unit_test(test_second_different_proposal_in_round_is_ignored),
        cmocka_unit_test(test_holds_lock_own_votes_and_current_proposal_not_past_unvoted_ones),
        cmocka_unit_test(test_n7_four_prevotes_for_value_do_not_lock_five_do),
        cmocka_unit_test(test_n7_four_nil_prevotes_do_not_precommit_nil_five_do),
        cmocka_unit_test(test_n7_four_mixed_prevotes_schedule_nothing_five_schedule_the_timeout),
        cmocka_unit_test(
            test_n7_four_precommits_do_not_decide_five_do_with_a_five_signature_certificate),
        cmocka_unit_test(test_n7_two_validators_in_a_later_round_do_not_make_it_skip_three_do),
        cmocka_unit_test(test_n7_lock_released_only_by_a_five_vote_polka),
        cmocka_unit_test(test_restored_prevote_is_never_replaced_by_timeout_nil),
        cmocka_unit_test(test_restored_precommit_is_never_replaced_by_nil_precommit),
        cmocka_unit_test(test_restore_resumes_in_round_of_last_own_vote),
        cmocka_unit_test(test_restore_beyond_round_window_keeps_the_vote),
        cmocka_unit_test(test_vote_guard_resends_first_prevote_instead_of_nil),
        cmocka_unit_test(test_vote_guard_resends_first_precommit_instead_of_nil),
        cmocka_unit_test(test_decides_earlier_round_value_on_its_precommit_quorum),
        cmocka_unit_test(test_precommit_quorum_decides_only_once_proposal_known_and_valid),
        cmocka_unit_test(test_replica_never_votes_or_proposes_but_decides),
        cmocka_unit_test(test_votes_beyond_round_window_are_dropped),
        cmocka_unit_test(test_votes_for_other_heights_are_ignored),
        cmocka_unit_test(test_out_of_range_validator_and_bad_vote_type_are_ignored),
        cmocka_unit_test(test_start_height_forgets_round_lock_valid_value_and_votes),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}

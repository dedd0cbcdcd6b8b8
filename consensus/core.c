/*
 * Tendermint, Algorithm 1 (Buchman, Kwon, Milosevic 2018), one height at a time.
 *
 * State per round: the proposal (if any), every validator's prevote and precommit, and the
 * "for the first time" flags of the rules that fire once per round. After every event the
 * rules are evaluated until none fires (apply_rules), which is how the paper's "upon"
 * clauses read: a rule fires as soon as its condition holds, whichever event made it hold.
 *
 * Own votes are remembered apart from received ones (my_vote): the core casts at most one
 * vote per (round, type), and if a rule would cast a different one after a restart it
 * re-sends the first instead. That, plus the write-ahead log the engine keeps of every
 * CONS_ACT_VOTE before it leaves, is what makes double signing impossible.
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>

/*
 * A validator's votes of one type in one round. An honest validator sends one; a Byzantine
 * one may send several, to different peers. Each distinct vote counts for the value it
 * names, as it does at the peers that received it: counting only the first would leave
 * this node unable to see a quorum that other honest nodes saw (and locked on), and the
 * height could stall. A quorum still needs 2f+1 signers, so two quorums for different
 * values still share an honest validator that voted once. Beyond SLOT_VOTES different
 * votes the validator is plainly faulty and the rest are dropped.
 */
#define SLOT_VOTES 4

struct signed_hash {
    uint8_t hash[HASH_BYTES];
    uint8_t sig[SIG_BYTES];
};

struct slot {
    uint8_t n;
    struct signed_hash v[SLOT_VOTES];
};

struct round_state {
    uint32_t round;
    bool has_proposal;
    struct cons_proposal prop;
    bool proposed; /* we proposed in this round */
    bool my_voted[3];
    uint8_t my_hash[3][HASH_BYTES];
    bool fired_prevote_timeout;   /* L34 */
    bool fired_valid_update;      /* L36 */
    bool fired_precommit_timeout; /* L47 */
    struct slot prevote[LEDGER_VALIDATORS_MAX];
    struct slot precommit[LEDGER_VALIDATORS_MAX];
};

struct cons {
    struct cons_config cfg;
    struct ledger_validator vals[LEDGER_VALIDATORS_MAX];
    uint64_t total;
    uint64_t height;
    uint32_t round;
    unsigned step;
    uint32_t restored_round;
    int32_t locked_round, valid_round;
    uint8_t locked[HASH_BYTES], valid[HASH_BYTES];
    struct round_state **rounds;
    size_t nrounds, cap_rounds;
    struct cons_action *acts;
    size_t nacts, cap_acts;
    uint32_t equivocations;
};

static const uint8_t nil_hash[HASH_BYTES];

unsigned
cons_proposer(size_t n_vals, uint64_t height, uint32_t round)
{
    return (unsigned)((height + round) % n_vals);
}

idl_err
cons_new(struct cons **out, const struct cons_config *cfg)
{
    *out = NULL;
    if (cfg->n_vals == 0 || cfg->n_vals > LEDGER_VALIDATORS_MAX || cfg->self >= (int)cfg->n_vals)
        return IDL_ERR_INVALID;
    struct cons *c = calloc(1, sizeof(*c));
    if (!c)
        return IDL_ERR_NOMEM;
    c->cfg = *cfg;
    memcpy(c->vals, cfg->vals, cfg->n_vals * sizeof(*cfg->vals));
    c->cfg.vals = c->vals;
    for (size_t i = 0; i < cfg->n_vals; i++) {
        if (cfg->vals[i].power == 0 || cfg->vals[i].power > LEDGER_VALIDATOR_POWER_MAX) {
            free(c);
            return IDL_ERR_INVALID;
        }
        c->total += cfg->vals[i].power;
    }
    c->locked_round = c->valid_round = -1;
    *out = c;
    return IDL_OK;
}

static void
rounds_clear(struct cons *c)
{
    for (size_t i = 0; i < c->nrounds; i++)
        free(c->rounds[i]);
    c->nrounds = 0;
}

void
cons_free(struct cons *c)
{
    if (!c)
        return;
    rounds_clear(c);
    free(c->rounds);
    free(c->acts);
    free(c);
}

/* ---- actions ---- */

static struct cons_action *
emit(struct cons *c, unsigned kind)
{
    if (c->nacts == c->cap_acts) {
        size_t cap = c->cap_acts ? c->cap_acts * 2 : 16;
        struct cons_action *a = realloc(c->acts, cap * sizeof(*a));
        /* The action list is tiny (a handful per event); running out of memory for it
         * leaves no safe way on. */
        IDL_ASSERT(a);
        c->acts = a;
        c->cap_acts = cap;
    }
    struct cons_action *a = &c->acts[c->nacts++];
    memset(a, 0, sizeof(*a));
    a->kind = (uint8_t)kind;
    a->height = c->height;
    a->round = c->round;
    a->valid_round = -1;
    return a;
}

const struct cons_action *
cons_actions(struct cons *c, size_t *n)
{
    *n = c->nacts;
    return c->acts;
}

void
cons_actions_clear(struct cons *c)
{
    c->nacts = 0;
}

/* ---- rounds and tallies ---- */

static struct round_state *
round_find(const struct cons *c, uint32_t r)
{
    for (size_t i = 0; i < c->nrounds; i++)
        if (c->rounds[i]->round == r)
            return c->rounds[i];
    return NULL;
}

/*
 * The state of round r, created if needed. Messages from peers may only open rounds within
 * the window ahead of ours (windowed); what we restore of our own past is always kept,
 * whatever the round, since forgetting an own vote could let us cast a different one.
 */
static struct round_state *
round_open(struct cons *c, uint32_t r, bool windowed)
{
    struct round_state *rs = round_find(c, r);
    if (rs)
        return rs;
    if (windowed && (uint64_t)r > (uint64_t)c->round + CONS_ROUND_WINDOW)
        return NULL;
    if (c->nrounds == c->cap_rounds) {
        size_t cap = c->cap_rounds ? c->cap_rounds * 2 : 4;
        struct round_state **p = realloc(c->rounds, cap * sizeof(*p));
        IDL_ASSERT(p);
        c->rounds = p;
        c->cap_rounds = cap;
    }
    rs = calloc(1, sizeof(*rs));
    IDL_ASSERT(rs);
    rs->round = r;
    c->rounds[c->nrounds++] = rs;
    return rs;
}

static struct round_state *
round_get(struct cons *c, uint32_t r)
{
    return round_open(c, r, true);
}

static bool
hash_is_nil(const uint8_t hash[HASH_BYTES])
{
    return memcmp(hash, nil_hash, HASH_BYTES) == 0;
}

/* The validator's vote for `hash` in slot s, or NULL. */
static const struct signed_hash *
slot_find(const struct slot *s, const uint8_t hash[HASH_BYTES])
{
    for (unsigned i = 0; i < s->n; i++)
        if (!memcmp(s->v[i].hash, hash, HASH_BYTES))
            return &s->v[i];
    return NULL;
}

/*
 * Adds a vote to the validator's slot: true if it is new. A vote that differs from one
 * already there is an equivocation, counted, and kept while there is room.
 */
static bool
slot_add(struct cons *c, struct slot *s, const uint8_t hash[HASH_BYTES],
         const uint8_t sig[SIG_BYTES])
{
    if (slot_find(s, hash))
        return false;
    if (s->n)
        c->equivocations++;
    if (s->n == SLOT_VOTES)
        return false;
    memcpy(s->v[s->n].hash, hash, HASH_BYTES);
    memcpy(s->v[s->n].sig, sig, SIG_BYTES);
    s->n++;
    return true;
}

enum tally { TALLY_ANY, TALLY_NIL, TALLY_HASH };

static uint64_t
tally(const struct cons *c, const struct round_state *rs, unsigned type, enum tally mode,
      const uint8_t *hash)
{
    if (!rs)
        return 0;
    const struct slot *s = type == VOTE_PREVOTE ? rs->prevote : rs->precommit;
    uint64_t p = 0;
    for (size_t i = 0; i < c->cfg.n_vals; i++) {
        bool counts = mode == TALLY_ANY ? s[i].n > 0
                      : mode == TALLY_NIL
                          ? slot_find(&s[i], nil_hash) != NULL
                          : !hash_is_nil(hash) && slot_find(&s[i], hash) != NULL;
        if (counts)
            p += c->vals[i].power;
    }
    return p;
}

/* Power of the validators that sent anything in round rs (for the round skip, L55). */
static uint64_t
any_message_power(const struct cons *c, const struct round_state *rs)
{
    uint64_t p = 0;
    for (size_t i = 0; i < c->cfg.n_vals; i++)
        if (rs->prevote[i].n || rs->precommit[i].n ||
            (rs->has_proposal && cons_proposer(c->cfg.n_vals, c->height, rs->round) == i))
            p += c->vals[i].power;
    return p;
}

static bool
more_than_two_thirds(const struct cons *c, uint64_t p)
{
    return 3 * p > 2 * c->total;
}

static bool
more_than_one_third(const struct cons *c, uint64_t p)
{
    return 3 * p > c->total;
}

static uint32_t
timeout_ms(const struct cons *c, unsigned step, uint32_t r)
{
    const struct cons_timeouts *t = &c->cfg.timeouts;
    uint32_t base = step == CONS_STEP_PROPOSE   ? t->propose_ms
                    : step == CONS_STEP_PREVOTE ? t->prevote_ms
                                                : t->precommit_ms;
    uint64_t ms = (uint64_t)base + (uint64_t)r * t->delta_ms;
    return ms > 600000 ? 600000 : (uint32_t)ms;
}

static void
schedule(struct cons *c, unsigned step)
{
    struct cons_action *a = emit(c, CONS_ACT_TIMEOUT);
    a->step = (uint8_t)step;
    a->ms = timeout_ms(c, step, c->round);
}

/*
 * Casts our vote of `type` in the current round. If we already voted that type in this
 * round (before a restart), the earlier vote is sent again instead: never a second,
 * different one.
 */
static void
vote(struct cons *c, unsigned type, const uint8_t hash[HASH_BYTES])
{
    if (c->cfg.self < 0)
        return;
    struct round_state *rs = round_get(c, c->round);
    IDL_ASSERT(rs);
    if (!rs->my_voted[type]) {
        rs->my_voted[type] = true;
        memcpy(rs->my_hash[type], hash, HASH_BYTES);
    }
    struct cons_action *a = emit(c, CONS_ACT_VOTE);
    a->vote_type = (uint8_t)type;
    memcpy(a->hash, rs->my_hash[type], HASH_BYTES);
}

static void
lock_persist(struct cons *c)
{
    struct cons_action *a = emit(c, CONS_ACT_LOCK);
    a->locked_round = c->locked_round;
    a->valid_round_lock = c->valid_round;
    memcpy(a->locked_hash, c->locked, HASH_BYTES);
    memcpy(a->valid_hash, c->valid, HASH_BYTES);
}

/* StartRound(round), the paper's lines 11-21. */
static void
start_round(struct cons *c, uint32_t r)
{
    c->round = r;
    c->step = CONS_STEP_PROPOSE;
    struct round_state *rs = round_get(c, r);
    IDL_ASSERT(rs);
    if (c->cfg.self >= 0 && cons_proposer(c->cfg.n_vals, c->height, r) == (unsigned)c->cfg.self &&
        !rs->proposed) {
        rs->proposed = true;
        struct cons_action *a = emit(c, CONS_ACT_PROPOSE);
        a->valid_round = c->valid_round;
        if (c->valid_round >= 0)
            memcpy(a->hash, c->valid, HASH_BYTES);
    }
    /*
     * The paper schedules this only for the other validators, since the proposer prevotes
     * its own proposal at once. But a proposer may be unable to: after a restart it may no
     * longer hold the prevotes that justify re-proposing its valid value (L28), or it may
     * have proposed this round before the restart. It must then give up on the round like
     * everyone else rather than wait in the propose step for ever.
     */
    schedule(c, CONS_STEP_PROPOSE);
    /* After a restart, our own votes in this round tell how far we had gone. */
    if (rs->my_voted[VOTE_PRECOMMIT])
        c->step = CONS_STEP_PRECOMMIT;
    else if (rs->my_voted[VOTE_PREVOTE])
        c->step = CONS_STEP_PREVOTE;
}

/* Lines 22-33: prevote on the round's proposal. */
static bool
rule_prevote_proposal(struct cons *c, struct round_state *rs)
{
    if (c->step != CONS_STEP_PROPOSE || !rs->has_proposal)
        return false;
    const struct cons_proposal *p = &rs->prop;
    bool ok;
    if (p->valid_round < 0) {
        /* L22: a fresh proposal. */
        ok = p->valid && (c->locked_round == -1 || !memcmp(c->locked, p->hash, HASH_BYTES));
    } else {
        /* L28: a re-proposal of a value that had 2f+1 prevotes in valid_round. */
        if ((uint32_t)p->valid_round >= rs->round)
            return false;
        const struct round_state *vr = round_find(c, (uint32_t)p->valid_round);
        if (!more_than_two_thirds(c, tally(c, vr, VOTE_PREVOTE, TALLY_HASH, p->hash)))
            return false;
        ok = p->valid &&
             (c->locked_round <= p->valid_round || !memcmp(c->locked, p->hash, HASH_BYTES));
    }
    vote(c, VOTE_PREVOTE, ok ? p->hash : nil_hash);
    c->step = CONS_STEP_PREVOTE;
    return true;
}

/* Lines 36-43: 2f+1 prevotes for the valid proposal: lock and precommit it. */
static bool
rule_lock(struct cons *c, struct round_state *rs)
{
    if (rs->fired_valid_update || c->step < CONS_STEP_PREVOTE || c->step >= CONS_STEP_DECIDED ||
        !rs->has_proposal || !rs->prop.valid ||
        !more_than_two_thirds(c, tally(c, rs, VOTE_PREVOTE, TALLY_HASH, rs->prop.hash)))
        return false;
    rs->fired_valid_update = true;
    bool precommit = c->step == CONS_STEP_PREVOTE;
    if (precommit) {
        c->locked_round = (int32_t)rs->round;
        memcpy(c->locked, rs->prop.hash, HASH_BYTES);
    }
    c->valid_round = (int32_t)rs->round;
    memcpy(c->valid, rs->prop.hash, HASH_BYTES);
    lock_persist(c); /* persisted before the precommit that relies on it */
    if (precommit) {
        vote(c, VOTE_PRECOMMIT, rs->prop.hash);
        c->step = CONS_STEP_PRECOMMIT;
    }
    return true;
}

/* Line 49: 2f+1 precommits for a round's valid proposal decide it. */
static bool
rule_decide(struct cons *c)
{
    for (size_t i = 0; i < c->nrounds; i++) {
        struct round_state *rs = c->rounds[i];
        if (!rs->has_proposal || !rs->prop.valid ||
            !more_than_two_thirds(c, tally(c, rs, VOTE_PRECOMMIT, TALLY_HASH, rs->prop.hash)))
            continue;
        c->step = CONS_STEP_DECIDED;
        struct cons_action *a = emit(c, CONS_ACT_DECIDE);
        a->round = rs->round;
        memcpy(a->hash, rs->prop.hash, HASH_BYTES);
        return true;
    }
    return false;
}

/* Line 55: f+1 of the power is already in a later round: join it. */
static bool
rule_skip_round(struct cons *c)
{
    for (size_t i = 0; i < c->nrounds; i++) {
        struct round_state *rs = c->rounds[i];
        if (rs->round > c->round && more_than_one_third(c, any_message_power(c, rs))) {
            start_round(c, rs->round);
            return true;
        }
    }
    return false;
}

/* Evaluates the rules until none fires. */
static void
apply_rules(struct cons *c)
{
    if (c->step == CONS_STEP_WAIT)
        return;
    for (int guard = 0; guard < 1000; guard++) {
        if (c->step == CONS_STEP_DECIDED || rule_decide(c))
            return;
        if (rule_skip_round(c))
            continue;
        struct round_state *rs = round_get(c, c->round);
        IDL_ASSERT(rs);
        bool fired = rule_prevote_proposal(c, rs);
        if (c->step == CONS_STEP_PREVOTE && !rs->fired_prevote_timeout &&
            more_than_two_thirds(c, tally(c, rs, VOTE_PREVOTE, TALLY_ANY, NULL))) {
            rs->fired_prevote_timeout = true; /* L34 */
            schedule(c, CONS_STEP_PREVOTE);
            fired = true;
        }
        fired |= rule_lock(c, rs);
        if (c->step == CONS_STEP_PREVOTE &&
            more_than_two_thirds(c, tally(c, rs, VOTE_PREVOTE, TALLY_NIL, NULL))) {
            vote(c, VOTE_PRECOMMIT, nil_hash); /* L44 */
            c->step = CONS_STEP_PRECOMMIT;
            fired = true;
        }
        if (!rs->fired_precommit_timeout &&
            more_than_two_thirds(c, tally(c, rs, VOTE_PRECOMMIT, TALLY_ANY, NULL))) {
            rs->fired_precommit_timeout = true; /* L47 */
            schedule(c, CONS_STEP_PRECOMMIT);
            fired = true;
        }
        if (!fired)
            return;
    }
    IDL_ASSERT(!"consensus rules did not settle");
}

/* ---- events ---- */

void
cons_start_height(struct cons *c, uint64_t height)
{
    rounds_clear(c);
    c->height = height;
    c->round = 0;
    c->restored_round = 0;
    c->step = CONS_STEP_WAIT;
    c->locked_round = c->valid_round = -1;
    memset(c->locked, 0, HASH_BYTES);
    memset(c->valid, 0, HASH_BYTES);
    c->equivocations = 0;
}

void
cons_kick(struct cons *c)
{
    if (c->step != CONS_STEP_WAIT)
        return;
    start_round(c, c->restored_round);
    apply_rules(c);
}

void
cons_on_proposal(struct cons *c, const struct cons_proposal *p)
{
    if (p->height != c->height || c->step == CONS_STEP_DECIDED || p->valid_round < -1 ||
        (p->valid_round >= 0 && (uint32_t)p->valid_round >= p->round))
        return;
    struct round_state *rs = round_get(c, p->round);
    if (!rs)
        return;
    if (rs->has_proposal) {
        if (memcmp(rs->prop.hash, p->hash, HASH_BYTES) != 0 ||
            rs->prop.valid_round != p->valid_round)
            c->equivocations++; /* the first proposal stands */
        return;
    }
    rs->has_proposal = true;
    rs->prop = *p;
    if (c->step == CONS_STEP_WAIT)
        cons_kick(c);
    else
        apply_rules(c);
}

void
cons_on_vote(struct cons *c, const struct cons_vote *v)
{
    if (v->height != c->height || v->validator >= c->cfg.n_vals ||
        (v->type != VOTE_PREVOTE && v->type != VOTE_PRECOMMIT) || c->step == CONS_STEP_DECIDED)
        return;
    struct round_state *rs = round_get(c, v->round);
    if (!rs)
        return;
    struct slot *s = v->type == VOTE_PREVOTE ? &rs->prevote[v->validator]
                                             : &rs->precommit[v->validator];
    if (!slot_add(c, s, v->hash, v->sig))
        return;
    if (c->step == CONS_STEP_WAIT)
        cons_kick(c);
    else
        apply_rules(c);
}

void
cons_on_timeout(struct cons *c, uint64_t height, uint32_t round, unsigned step)
{
    if (height != c->height || round != c->round || c->step == CONS_STEP_DECIDED)
        return;
    if (step == CONS_STEP_PROPOSE && c->step == CONS_STEP_PROPOSE) {
        vote(c, VOTE_PREVOTE, nil_hash); /* OnTimeoutPropose */
        c->step = CONS_STEP_PREVOTE;
    } else if (step == CONS_STEP_PREVOTE && c->step == CONS_STEP_PREVOTE) {
        vote(c, VOTE_PRECOMMIT, nil_hash); /* OnTimeoutPrevote */
        c->step = CONS_STEP_PRECOMMIT;
    } else if (step == CONS_STEP_PRECOMMIT) {
        start_round(c, round + 1); /* OnTimeoutPrecommit */
    } else {
        return;
    }
    apply_rules(c);
}

/* ---- restoring from the write-ahead log ---- */

void
cons_restore_vote(struct cons *c, const struct cons_vote *own)
{
    if (own->height != c->height || c->cfg.self < 0 ||
        (own->type != VOTE_PREVOTE && own->type != VOTE_PRECOMMIT))
        return;
    struct round_state *rs = round_open(c, own->round, false);
    if (!rs)
        return;
    rs->my_voted[own->type] = true;
    memcpy(rs->my_hash[own->type], own->hash, HASH_BYTES);
    struct slot *s = own->type == VOTE_PREVOTE ? &rs->prevote[c->cfg.self]
                                               : &rs->precommit[c->cfg.self];
    (void)slot_add(c, s, own->hash, own->sig);
    if (own->round > c->restored_round)
        c->restored_round = own->round;
}

void
cons_restore_proposal(struct cons *c, uint32_t round)
{
    struct round_state *rs = round_open(c, round, false);
    if (rs)
        rs->proposed = true;
    if (round > c->restored_round)
        c->restored_round = round;
}

void
cons_restore_lock(struct cons *c, int32_t locked_round, const uint8_t locked[HASH_BYTES],
                  int32_t valid_round, const uint8_t valid[HASH_BYTES])
{
    c->locked_round = locked_round;
    memcpy(c->locked, locked, HASH_BYTES);
    c->valid_round = valid_round;
    memcpy(c->valid, valid, HASH_BYTES);
}

void
cons_restore_round(struct cons *c, uint32_t round)
{
    if (round > c->restored_round)
        c->restored_round = round;
}

/* ---- output ---- */

idl_err
cons_certificate(const struct cons *c, uint32_t round, const uint8_t hash[HASH_BYTES],
                 struct ledger_commit *out)
{
    memset(out, 0, sizeof(*out));
    const struct round_state *rs = round_find(c, round);
    if (!rs)
        return IDL_ERR_NOT_FOUND;
    struct ledger_commit_sig *sigs = calloc(c->cfg.n_vals, sizeof(*sigs));
    if (!sigs)
        return IDL_ERR_NOMEM;
    uint32_t n = 0;
    for (size_t i = 0; i < c->cfg.n_vals; i++) {
        const struct signed_hash *v = slot_find(&rs->precommit[i], hash);
        if (v) {
            sigs[n].validator = (uint16_t)i;
            memcpy(sigs[n].sig, v->sig, SIG_BYTES);
            n++;
        }
    }
    out->height = c->height;
    out->round = round;
    memcpy(out->block_hash, hash, HASH_BYTES);
    out->sigs.items = sigs;
    out->sigs.count = n;
    return IDL_OK;
}

size_t
cons_prevotes(const struct cons *c, uint32_t round, const uint8_t hash[HASH_BYTES],
              struct cons_vote *out, size_t max)
{
    const struct round_state *rs = round_find(c, round);
    size_t n = 0;
    for (size_t i = 0; rs && i < c->cfg.n_vals && n < max; i++) {
        const struct signed_hash *v = slot_find(&rs->prevote[i], hash);
        if (!v)
            continue;
        struct cons_vote *o = &out[n++];
        memset(o, 0, sizeof(*o));
        o->type = VOTE_PREVOTE;
        o->height = c->height;
        o->round = round;
        memcpy(o->hash, hash, HASH_BYTES);
        o->validator = (uint16_t)i;
        memcpy(o->sig, v->sig, SIG_BYTES);
    }
    return n;
}

uint64_t
cons_height(const struct cons *c)
{
    return c->height;
}

uint32_t
cons_round(const struct cons *c)
{
    return c->round;
}

unsigned
cons_step_of(const struct cons *c)
{
    return c->step;
}

bool
cons_own_vote(const struct cons *c, uint32_t round, unsigned type, struct cons_vote *out)
{
    const struct round_state *rs = round_find(c, round);
    if (!rs || c->cfg.self < 0 || type > VOTE_PRECOMMIT || !rs->my_voted[type])
        return false;
    const struct slot *s = type == VOTE_PREVOTE ? &rs->prevote[c->cfg.self]
                                                : &rs->precommit[c->cfg.self];
    const struct signed_hash *v = slot_find(s, rs->my_hash[type]);
    memset(out, 0, sizeof(*out));
    out->type = (uint8_t)type;
    out->height = c->height;
    out->round = round;
    memcpy(out->hash, rs->my_hash[type], HASH_BYTES);
    out->validator = (uint16_t)c->cfg.self;
    if (v)
        memcpy(out->sig, v->sig, SIG_BYTES);
    return v != NULL;
}

uint32_t
cons_equivocations(const struct cons *c)
{
    return c->equivocations;
}

bool
cons_proposal_of(const struct cons *c, uint32_t round, struct cons_proposal *out)
{
    const struct round_state *rs = round_find(c, round);
    if (!rs || !rs->has_proposal)
        return false;
    *out = rs->prop;
    return true;
}

bool
cons_holds(const struct cons *c, const uint8_t hash[HASH_BYTES])
{
    if (hash_is_nil(hash))
        return false;
    if ((c->locked_round >= 0 && !memcmp(c->locked, hash, HASH_BYTES)) ||
        (c->valid_round >= 0 && !memcmp(c->valid, hash, HASH_BYTES)))
        return true;
    for (size_t i = 0; i < c->nrounds; i++) {
        const struct round_state *rs = c->rounds[i];
        if (rs->has_proposal && rs->round >= c->round && !memcmp(rs->prop.hash, hash, HASH_BYTES))
            return true;
        for (unsigned t = VOTE_PREVOTE; t <= VOTE_PRECOMMIT; t++)
            if (rs->my_voted[t] && !memcmp(rs->my_hash[t], hash, HASH_BYTES))
                return true;
    }
    return false;
}

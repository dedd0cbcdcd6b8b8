/*
 * The Tendermint consensus algorithm as a pure step function.
 *
 * This is Algorithm 1 of Buchman, Kwon and Milosevic, "The latest gossip on BFT consensus"
 * (2018), for one height at a time: rounds of propose, prevote and precommit; locked and
 * valid values; timeouts that grow with the round; a decision when precommits of more than
 * two thirds of the voting power name one proposed value. Line numbers in core.c refer to
 * the paper's listing.
 *
 * Purity: the core reads no clock, opens no socket, touches no file and draws no random
 * number. Events go in (a proposal, a vote, a timeout, a kick); actions come out, in the
 * order they must be carried out:
 *   CONS_ACT_PROPOSE  propose in (height, round): re-propose the block `hash` if it is not
 *                     zero (our valid value), else build a new one; then sign, persist,
 *                     broadcast, and feed the proposal back with cons_on_proposal;
 *   CONS_ACT_VOTE     persist our vote (type, height, round, hash; zero hash = nil) to the
 *                     write-ahead log, sign it, broadcast it, feed it back with cons_on_vote;
 *   CONS_ACT_LOCK     persist the new locked/valid value (before the vote that follows it);
 *   CONS_ACT_TIMEOUT  call cons_on_timeout(height, round, step) after `ms` milliseconds;
 *   CONS_ACT_DECIDE   the value `hash` is decided in `round`: commit it with the
 *                     certificate from cons_certificate, then start the next height.
 *
 * Inputs are trusted to be authentic: the engine (engine.h) checks every signature and
 * that a proposal comes from the round's proposer before calling in. The core still checks
 * everything else (ranges, duplicates, equivocation) and never votes twice in one
 * (height, round, type): a second vote would have to differ from the first, and the core
 * asserts it does not.
 *
 * "More than two thirds" and "more than one third" are of the total voting power, in
 * integers: 3 * p > 2 * total and 3 * p > total.
 */
#ifndef IDL_CONS_CORE_H
#define IDL_CONS_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/block.h"
#include "ledger/err.h"
#include "ledger/hash.h"

#define CONS_ROUND_WINDOW 64 /* votes more than this many rounds ahead are ignored */

enum cons_step {
    CONS_STEP_WAIT = 0, /* height started, round 0 not yet (waiting for work) */
    CONS_STEP_PROPOSE = 1,
    CONS_STEP_PREVOTE = 2,
    CONS_STEP_PRECOMMIT = 3,
    CONS_STEP_DECIDED = 4,
};

enum cons_action_kind {
    CONS_ACT_PROPOSE = 1,
    CONS_ACT_VOTE,
    CONS_ACT_LOCK,
    CONS_ACT_TIMEOUT,
    CONS_ACT_DECIDE,
};

struct cons_action {
    uint8_t kind;      /* enum cons_action_kind */
    uint8_t vote_type; /* VOTE_PREVOTE / VOTE_PRECOMMIT for CONS_ACT_VOTE */
    uint8_t step;      /* enum cons_step, for CONS_ACT_TIMEOUT */
    uint64_t height;
    uint32_t round;
    int32_t valid_round;      /* CONS_ACT_PROPOSE: the valid round to announce, or -1 */
    uint8_t hash[HASH_BYTES]; /* block hash; zero means nil (or "build a new block") */
    uint32_t ms;              /* CONS_ACT_TIMEOUT */
    /* CONS_ACT_LOCK */
    int32_t locked_round, valid_round_lock;
    uint8_t locked_hash[HASH_BYTES], valid_hash[HASH_BYTES];
};

struct cons_timeouts {
    uint32_t propose_ms;   /* round 0 */
    uint32_t prevote_ms;   /* round 0, also precommit */
    uint32_t precommit_ms;
    uint32_t delta_ms;     /* added per round */
};

/* A proposal, as the engine vouches for it: signed by proposer(height, round). */
struct cons_proposal {
    uint64_t height;
    uint32_t round;
    int32_t valid_round; /* -1 or < round */
    uint8_t hash[HASH_BYTES];
    bool valid; /* the engine executed the block and it is valid */
};

/* A vote, as the engine vouches for it: signed by validator `validator`. */
struct cons_vote {
    uint8_t type; /* VOTE_PREVOTE or VOTE_PRECOMMIT */
    uint64_t height;
    uint32_t round;
    uint8_t hash[HASH_BYTES]; /* zero = nil */
    uint16_t validator;
    uint8_t sig[SIG_BYTES];
};

struct cons_config {
    const struct ledger_validator *vals;
    size_t n_vals;
    int self; /* our validator index, or -1 (we never propose or vote) */
    struct cons_timeouts timeouts;
};

struct cons;

IDL_MUST_USE idl_err cons_new(struct cons **out, const struct cons_config *cfg);
void cons_free(struct cons *c);

/* The proposer of (height, round): round-robin over the validator set. */
unsigned cons_proposer(size_t n_vals, uint64_t height, uint32_t round);

/*
 * Moves to `height` with every round, lock and vote forgotten; step WAIT. Round 0 starts
 * at cons_kick (or when a proposal or vote for the height arrives).
 */
void cons_start_height(struct cons *c, uint64_t height);

/* Starts round 0 if the height is waiting (there is work to do). */
void cons_kick(struct cons *c);

void cons_on_proposal(struct cons *c, const struct cons_proposal *p);
void cons_on_vote(struct cons *c, const struct cons_vote *v);
void cons_on_timeout(struct cons *c, uint64_t height, uint32_t round, unsigned step);

/*
 * Restoring after a restart, from the write-ahead log, before anything else happens at the
 * height: our own votes (so we never sign another in their place), our proposals, the
 * locked and valid values, and the round we were in. These emit no actions.
 */
void cons_restore_vote(struct cons *c, const struct cons_vote *own);
void cons_restore_proposal(struct cons *c, uint32_t round);
void cons_restore_lock(struct cons *c, int32_t locked_round, const uint8_t locked[HASH_BYTES],
                       int32_t valid_round, const uint8_t valid[HASH_BYTES]);
void cons_restore_round(struct cons *c, uint32_t round);

/*
 * The actions produced since the last call (the array stays valid until the next event).
 * Callers take them all, in order, and carry them out.
 */
const struct cons_action *cons_actions(struct cons *c, size_t *n);
void cons_actions_clear(struct cons *c);

/*
 * The precommits for `hash` in `round`, sorted by validator index, as a commit certificate
 * (sigs.items is malloc'd: schema_free(&ledger_commit_schema, out) releases it).
 */
IDL_MUST_USE idl_err cons_certificate(const struct cons *c, uint32_t round,
                                      const uint8_t hash[HASH_BYTES], struct ledger_commit *out);

/*
 * The prevotes for `hash` in `round` (at most max, by validator index) into out; returns
 * how many. For a valid value, these are its proof: the engine sends them with a
 * re-proposal and again on its ticks, so that a node that missed them can accept it.
 */
size_t cons_prevotes(const struct cons *c, uint32_t round, const uint8_t hash[HASH_BYTES],
                     struct cons_vote *out, size_t max);

/* Introspection for the engine, logs and tests. */
uint64_t cons_height(const struct cons *c);
uint32_t cons_round(const struct cons *c);
unsigned cons_step_of(const struct cons *c);
/* Our own vote of `type` in `round`, if any (true), into out. */
bool cons_own_vote(const struct cons *c, uint32_t round, unsigned type, struct cons_vote *out);
/* Number of conflicting second messages (equivocations) seen at this height. */
uint32_t cons_equivocations(const struct cons *c);
/*
 * The proposal the core holds for `round` at this height, if any (true), into out. The
 * first proposal of a round stands: the engine asks before it executes another.
 */
bool cons_proposal_of(const struct cons *c, uint32_t round, struct cons_proposal *out);
/*
 * Whether the block `hash` may still be needed at this height: it is the locked or the
 * valid value, the proposal of the current round or of a later one, or a value we voted
 * for in any round (it may be decided in that round). The engine never evicts such a block
 * from its cache.
 */
bool cons_holds(const struct cons *c, const uint8_t hash[HASH_BYTES]);

#endif

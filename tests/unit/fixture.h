/*
 * Test fixture: a real ledger on a temporary LevelDB, a genesis with three root
 * administrators, and helpers that sign and commit transactions one block at a time.
 *
 * Every helper returns the transaction's outcome: IDL_OK if committed, the rule's refusal
 * code if the ledger recorded it as rejected, or the authentication failure if it never
 * made it into a block. fx.why holds the reason of the last refusal.
 */
#ifndef IDL_TEST_FIXTURE_H
#define IDL_TEST_FIXTURE_H

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "genesis/genesis.h"
#include "ledger/ledger.h"
#include "ledger/person.h"
#include "wallet/key.h"

#define FX_ACTORS_MAX 128
#define FX_ROOT "440000"

struct fx_actor {
    char id[LEDGER_ID_MAX + 1];
    struct wallet_key *key;
    uint64_t nonce; /* last nonce used */
};

struct fx {
    char dir[PATH_MAX];
    struct store *store;
    struct ledger *ledger;
    struct genesis g;
    struct person_keys *pkeys;
    struct wallet_key *validator;
    struct fx_actor actors[FX_ACTORS_MAX];
    size_t n_actors;
    uint64_t time_ms;
    char why[LEDGER_WHY_MAX];
    uint8_t last_txid[HASH_BYTES]; /* of the last transaction that made it into a block */
    bool no_basis; /* set by a test: fx_tx leaves the basis zero (no signed form) */
};

/* Options for fx_open; zero means the default. */
struct fx_options {
    unsigned same_person; /* enum ledger_same_person, default SAME_SCHOOLS */
    int mgmt_business_roles;
    bool memory_store;
    uint32_t review_interval_days; /* default genesis_policy_default's (182) */
};

/* Opens a fresh ledger; the root admins are root-sysadmin, root-secadmin, root-auditor. */
void fx_open(struct fx *f, const struct fx_options *opt);
/* Closes the ledger and the store, keeping the directory (for reopen tests). */
void fx_shut(struct fx *f);
/* Reopens the ledger on the same directory and genesis. */
void fx_reopen(struct fx *f);
/* Closes everything and removes the directory. */
void fx_close(struct fx *f);

struct fx_actor *fx_actor(struct fx *f, const char *id);

/* A person with a synthetic, valid 18-digit ID number derived from seed. */
void fx_id_number(unsigned seed, char out[19]);
void fx_person(struct fx *f, unsigned seed, struct ledger_person *p);
/* The name fx_person gives seed: "测试" and the seed's digits in characters. */
void fx_name(unsigned seed, char *out, size_t out_len);

/* Starts a transaction of `type` by `actor` (body zeroed; fill it, then fx_submit). */
void fx_tx(struct fx *f, struct ledger_tx *tx, const char *actor, unsigned type);
/* Signs with the actor's key and next nonce, commits it in a block of its own. */
idl_err fx_submit(struct fx *f, struct ledger_tx *tx);

/*
 * Signs each of n transactions (each actor's nonces in order) and commits them together in
 * one block. Returns the first outcome that is not IDL_OK (as fx_submit), else IDL_OK.
 */
idl_err fx_submit_many(struct fx *f, struct ledger_tx *txs, size_t n);

/* Shorthands: one transaction each. */
idl_err fx_org_add(struct fx *f, const char *actor, const char *code, unsigned kind,
                   const char *parent, unsigned school_type);
idl_err fx_mgmt_add(struct fx *f, const char *actor, const char *id, const char *org,
                    unsigned post, unsigned person_seed);
idl_err fx_business_add(struct fx *f, const char *actor, const char *id, const char *org,
                        unsigned person_seed);
idl_err fx_authorize(struct fx *f, const char *actor, const char *id);
idl_err fx_account_op(struct fx *f, const char *actor, unsigned type, const char *id);
idl_err fx_system_add(struct fx *f, const char *actor, const char *code, const char *const *roles,
                      size_t n_roles);
idl_err fx_grant(struct fx *f, const char *actor, unsigned type, const char *account,
                 const char *system, const char *role);
idl_err fx_delegate(struct fx *f, const char *actor, const char *code, int delegated);

/*
 * Builds the standard tree used by the rule tests, every management account created and
 * authorised: city 440100 (admins c-sys, c-sec, c-aud), county 440106 under it (k-sys,
 * k-sec, k-aud), school 4401060001 under the county (s-sys, s-sec, s-aud), a second city
 * 440300 (o-sys, o-sec, o-aud); business system "teacher" with roles query, manager,
 * training, sysadmin, auditor.
 */
void fx_tree(struct fx *f);

/*
 * Creates PREFIX-sys, PREFIX-sec and PREFIX-aud, the management accounts of org (person
 * seeds seed, seed + 1, seed + 2), signed by the sysadmin of org's parent, and has the
 * parent's secadmin authorise each. Fails the test on any refusal.
 */
void fx_admins(struct fx *f, const char *parent_sys, const char *parent_sec, const char *org,
               const char *prefix, unsigned seed);
/* Records org's periodic access review (review.record) with a note. */
idl_err fx_review(struct fx *f, const char *actor, const char *org, const char *note);
/*
 * Commits a block without transactions whose block time is time_ms (the ledger raises it to
 * the tip's if lower): how a test moves the chain's clock. Later transactions follow it.
 */
void fx_empty_block(struct fx *f, uint64_t time_ms);

/* The status of an account (asserts that it exists). */
unsigned fx_status(struct fx *f, const char *id);
/* Whether an account exists. */
bool fx_exists(struct fx *f, const char *id);
/* Reads a record of the committed state. */
idl_err fx_get(struct fx *f, const struct state_key *k, const struct schema *s, void *rec);

/* Asserts that `call` returns `code`, printing the ledger's reason if not. */
#define FX_EXPECT(f, call, code)                                                               \
    do {                                                                                       \
        idl_err fx_rc_ = (call);                                                               \
        if (fx_rc_ != (code))                                                                  \
            fail_msg("%s: got %s (%s), want %s", #call, idl_errname(fx_rc_), (f)->why,          \
                     idl_errname(code));                                                       \
    } while (0)
#define FX_OK(f, call) FX_EXPECT(f, call, IDL_OK)

#endif

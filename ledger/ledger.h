/*
 * The ledger: a store, the state it holds, and the chain of blocks that produced it.
 *
 * Life of a block:
 *   ledger_block_build     (proposer) executes candidate transactions against the tip,
 *                          drops those that do not authenticate, assembles the block;
 *   ledger_block_execute   (everyone else) executes a proposed block; a block is valid only
 *                          if its header extends the tip and every transaction decodes,
 *                          names a known actor, carries that actor's valid signature and
 *                          its next nonce. Rule refusals do not invalidate a block: they
 *                          are recorded as the transaction's result, and consume the nonce;
 *   ledger_exec_commit     writes the block, its commit certificate, every state change
 *                          and the new tip as one synced write batch: the commit point.
 * Executing twice (once to vote, once to commit) is avoided by keeping the ledger_exec.
 *
 * Thread safety: one thread executes and commits. ledger_tip may be called from any thread
 * (it copies under a lock); queries read the store through its snapshots (query.h).
 */
#ifndef IDL_LEDGER_H
#define IDL_LEDGER_H

#include <stdbool.h>
#include <stdint.h>

#include "block.h"
#include "err.h"
#include "rules.h"
#include "state.h"
#include "store.h"
#include "tx.h"

struct person_keys;

#define LEDGER_ROOT_ADMINS 3
#define LEDGER_WHY_MAX     320

/* What genesis puts in the state (the genesis module builds it from genesis.json). */
struct ledger_genesis {
    char chain_id[LEDGER_CHAIN_ID_MAX + 1];
    uint64_t time_ms;
    uint8_t hash[HASH_BYTES]; /* hash of the genesis document: the chain's identity */
    struct rec_org root;
    struct rec_account admins[LEDGER_ROOT_ADMINS]; /* sysadmin, secadmin, auditor of root */
    struct ledger_validator validators[LEDGER_VALIDATORS_MAX];
    size_t n_validators;
    struct ledger_policy policy;
    /*
     * The keys derived from the chain secret (person.h), borrowed for the ledger's life: the
     * rules open sealed personal data and certificates with them to check what a transaction
     * claims. Every node of a chain has them; a ledger without them refuses account.add,
     * account.update and certificate anchoring. Not part of the genesis hash.
     */
    const struct person_keys *pkeys;
};

struct ledger_tip {
    uint64_t height;
    uint64_t time_ms;
    uint8_t block_hash[HASH_BYTES]; /* zero at height 0 */
    uint8_t state_hash[HASH_BYTES]; /* the state after `height`: next block's app_hash */
};

struct ledger_tx_result {
    uint8_t txid[HASH_BYTES];
    char actor[LEDGER_ID_MAX + 1];
    uint64_t nonce;
    uint16_t type;
    uint8_t status; /* TXS_COMMITTED or TXS_REJECTED */
    idl_err code;
    char reason[RULES_WHY_MAX];
};

struct ledger;
struct ledger_exec;

/*
 * How to execute: with verify_sigs, every transaction's signature is checked, except those
 * for which preverified (if set) returns true: transactions whose signature the caller
 * already checked when they entered its pool (keys never change on this ledger, so a
 * signature once valid stays valid). Without verify_sigs, signatures are trusted: only for
 * blocks that carry a verified commit certificate, or that the caller built from its own
 * verified pool. NULL options mean: verify everything.
 */
struct ledger_exec_opts {
    bool verify_sigs;
    bool (*preverified)(void *arg, const uint8_t txid[HASH_BYTES]);
    void *arg;
};

/*
 * Checks a genesis before anything is built from it: valid records; the root's sysadmin,
 * secadmin and auditor with three distinct account ids and three distinct keys (genesis
 * writes one account record per id, so a repeated id would leave the state corrupt from
 * height 0); the auditor a different person from the other two; the sysadmin and secadmin
 * one person only where the policy allows it at a province (same_person_sys_sec "always");
 * 1 to LEDGER_VALIDATORS_MAX valid validators. ledger_open and genesis_parse both call it.
 * Returns IDL_OK, IDL_ERR_INVALID or IDL_ERR_POLICY (a rule on people) with a reason in why.
 */
IDL_MUST_USE idl_err ledger_genesis_check(const struct ledger_genesis *g, char *why,
                                          size_t why_len);

/*
 * Opens the ledger in `store` (borrowed: close it after ledger_close). An empty store is
 * initialised from g in one synced batch; a non-empty one must hold the same genesis
 * (IDL_ERR_CHAIN otherwise). Reasons go to why.
 */
IDL_MUST_USE idl_err ledger_open(struct ledger **out, struct store *store,
                                 const struct ledger_genesis *g, char *why, size_t why_len);
void ledger_close(struct ledger *l);

void ledger_tip(struct ledger *l, struct ledger_tip *tip);
const char *ledger_chain_id(const struct ledger *l);
const struct ledger_validator *ledger_validators(const struct ledger *l, size_t *n);
const char *ledger_root(const struct ledger *l);
struct store *ledger_store(struct ledger *l);

/*
 * Checks a transaction for admission to a pool, against the committed state: it decodes for
 * this chain, its actor exists and signed it, and its nonce is not already used. Sets
 * *next_nonce to the actor's next unused nonce. tx receives the decoded transaction (free
 * with ledger_tx_free). IDL_ERR_NOT_FOUND (unknown actor), IDL_ERR_SIGNATURE,
 * IDL_ERR_NONCE, or a decoding error, with a reason in why.
 */
IDL_MUST_USE idl_err ledger_tx_admit(struct ledger *l, const uint8_t *raw, size_t len,
                                     struct ledger_tx *tx, uint64_t *next_nonce, char *why,
                                     size_t why_len);
/*
 * ledger_tx_admit reading through st (a state over this ledger's store, no layer open), for
 * a caller that checks many transactions: with state_keep_reads, each actor's account and
 * nonce are read from the store once. Such a state answers as of its first read of a key,
 * so keep it for one batch of checks, not across commits.
 */
IDL_MUST_USE idl_err ledger_tx_admit_in(struct ledger *l, struct state *st, const uint8_t *raw,
                                        size_t len, struct ledger_tx *tx, uint64_t *next_nonce,
                                        char *why, size_t why_len);

/*
 * Executes a proposed block against the tip. IDL_OK with *out set, or IDL_ERR_INVALID /
 * IDL_ERR_SIGNATURE / IDL_ERR_NONCE / a decoding error with the reason in why, and
 * *out NULL: the block must not be voted for.
 */
IDL_MUST_USE idl_err ledger_block_execute(struct ledger *l, const struct ledger_block *b,
                                          const struct ledger_exec_opts *opts,
                                          struct ledger_exec **out, char *why, size_t why_len);

/*
 * Builds the next block from candidate transactions (encoded), in order, keeping those
 * that authenticate and fit the bounds; a dropped candidate's index and reason go to
 * on_drop (may be NULL). The block is in (*out)->block; commit it with ledger_exec_commit.
 */
typedef void (*ledger_drop_fn)(void *arg, uint32_t index, idl_err code, const char *why);
IDL_MUST_USE idl_err ledger_block_build(struct ledger *l, const struct idl_bytes *txs, uint32_t n,
                                        uint64_t time_ms, const uint8_t proposer[SIG_PUBKEY_BYTES],
                                        const struct ledger_exec_opts *opts, ledger_drop_fn on_drop,
                                        void *arg, struct ledger_exec **out);

/* The block an exec holds and the result of each of its transactions, in block order. */
const struct ledger_block *ledger_exec_block(const struct ledger_exec *ex);
const struct ledger_tx_result *ledger_exec_results(const struct ledger_exec *ex, uint32_t *n);
/* The state hash the block leads to. */
void ledger_exec_state_hash(const struct ledger_exec *ex, uint8_t out[HASH_BYTES]);

/*
 * Writes the executed block with its commit certificate (encoded; may be empty) and every
 * state change in one synced batch, and moves the tip. Fails with IDL_ERR_STATE if the tip
 * moved since execution. ex is consumed either way.
 */
IDL_MUST_USE idl_err ledger_exec_commit(struct ledger *l, struct ledger_exec *ex,
                                        const struct idl_bytes *commit);
/*
 * The same, but with durable false the batch is only handed to the operating system: a
 * killed process loses nothing, a power cut may lose it until the next durable commit
 * (which syncs everything before it). For blocks fetched from peers while catching up,
 * which can be fetched again.
 */
IDL_MUST_USE idl_err ledger_exec_commit_lazy(struct ledger *l, struct ledger_exec *ex,
                                             const struct idl_bytes *commit, bool durable);
void ledger_exec_free(struct ledger_exec *ex);

/* Reads a stored block (and, if commit is not NULL, its certificate bytes). */
IDL_MUST_USE idl_err ledger_block_get(struct ledger *l, uint64_t height, struct ledger_block *b,
                                      struct idl_bytes *commit);

#endif

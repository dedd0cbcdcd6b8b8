/*
 * The node: one ledger, its pool, its HTTP API and the engine that makes blocks.
 *
 * Threads: NNG's workers run HTTP handlers and peer links, which read the store and admit
 * transactions into the pool; the consensus thread (node/bft.c) decides and commits
 * blocks. The ledger is written only by that thread; readers go through LevelDB's own
 * thread safety and snapshots.
 *
 * This header is the node module's internal interface (api.c, main.c and the engine share
 * struct node); nothing outside node/ includes it.
 */
#ifndef IDL_NODE_NODE_H
#define IDL_NODE_NODE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "genesis/genesis.h"
#include "ledger/ledger.h"
#include "ledger/person.h"
#include "node/config.h"
#include "node/mempool.h"
#include "node/tokens.h"
#include "wallet/key.h"

struct api;
struct bft;

struct node_metrics {
    atomic_uint_fast64_t blocks;
    atomic_uint_fast64_t txs_committed;
    atomic_uint_fast64_t txs_rejected;
    atomic_uint_fast64_t txs_admitted;
    atomic_uint_fast64_t txs_refused; /* at admission */
    atomic_uint_fast64_t commit_us_sum;
    atomic_uint_fast64_t http[6]; /* by status class: 1xx..5xx, [0] other */
};

struct node {
    struct node_config cfg;
    struct ledger_genesis genesis; /* without the chain secret, which is wiped after use */
    struct person_keys *pkeys;
    struct store *store;
    struct ledger *ledger;
    struct mempool *pool;
    struct tokens *tokens;
    struct wallet_key *key;
    int validator_index; /* in genesis.validators, -1 for a replica */
    bool open_api;
    struct api *api;
    struct readaudit *readaudit; /* who read what here (node/readaudit.h) */
    struct node_metrics metrics;

    struct bft *bft; /* consensus: proposes, votes, commits, syncs */
    atomic_bool catching_up;
    atomic_bool consensus_halted; /* see node_consensus_halted */
};

/*
 * Opens everything the node needs from its home: configuration, genesis, key (with the
 * passphrase), LevelDB, tokens. Nothing is started. Reasons go to why.
 */
IDL_MUST_USE idl_err node_open(struct node **out, const char *home, const char *passphrase,
                               char *why, size_t why_len);
/* Starts the HTTP API and the engine. */
IDL_MUST_USE idl_err node_start(struct node *n, char *why, size_t why_len);
/* Stops the engine (after the block it is committing, if any) and the API. */
void node_stop(struct node *n);
void node_close(struct node *n);

/*
 * Admits a transaction into the pool: decodes it, checks its actor's signature against the
 * committed state and that its nonce is unused, and wakes the engine. txid is set whenever
 * the bytes decode. IDL_ERR_EXISTS if already pooled or committed, else as
 * ledger_tx_admit, with the reason in why.
 */
IDL_MUST_USE idl_err node_submit(struct node *n, const uint8_t *raw, size_t len,
                                 uint8_t txid[HASH_BYTES], char *why, size_t why_len);

/* One transaction's admission: its id (set whenever the bytes decode), result and reason. */
struct node_admission {
    idl_err rc;
    uint8_t txid[HASH_BYTES];
    char why[LEDGER_WHY_MAX];
};

/*
 * Admits count transactions, each on its own as node_submit would. The checks (decoding,
 * signature, nonce) of a large list run on all cores at once; the pool then takes the
 * admitted ones in list order, so one actor's nonces stay in order. With gossip false
 * (transactions that came by gossip) they are not sent on.
 */
void node_submit_many(struct node *n, const struct idl_bytes *raws, size_t count, bool gossip,
                      struct node_admission *out);

/*
 * After an engine committed a block: cleans the pool of what the block used, counts, logs.
 * res are the block's results (count of them); us the time the block took.
 */
void node_committed(struct node *n, const struct ledger_tx_result *res, uint32_t count,
                    uint64_t height, uint64_t us);

/*
 * Whether consensus halted: a write to its log failed (disk full, I/O error), so the node
 * votes and proposes no more until it is restarted, and follows committed blocks by block
 * sync only. The engine logs the reason (an error, repeated every minute).
 */
bool node_consensus_halted(struct node *n);

/* Milliseconds since the epoch: for block times and anything shown to people. */
uint64_t node_now_ms(void);
/* Milliseconds of a clock that never jumps (CLOCK_MONOTONIC): for timers and ages. */
uint64_t node_mono_ms(void);

#endif

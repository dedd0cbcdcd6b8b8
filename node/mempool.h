/*
 * The transaction pool: admitted transactions waiting for a block.
 *
 * Transactions enter after ledger_tx_admit (decoded, signed by their actor, nonce unused)
 * and leave when a block commits them, when their nonce is used by another transaction of
 * the same actor, or when they wait too long for a missing predecessor. A block proposal
 * takes them in arrival order, each actor's in nonce order.
 *
 * Ready: a pooled transaction whose nonce is its actor's next one on the ledger can go
 * into the next block (and its pooled successors after it); one behind a nonce gap cannot.
 * The pool counts the former (mempool_ready), and the node starts a height only for them,
 * so a gapped transaction makes no empty blocks while it waits. A nonce more than
 * MEMPOOL_NONCE_AHEAD_MAX beyond both the ledger's next nonce and the actor's highest
 * pooled one is refused at entry.
 *
 * The pool also remembers, in a bounded ring, why it dropped the transactions it dropped,
 * so GET /v1/tx/{txid} can say "rejected: ..." for a transaction that never made a block.
 *
 * Thread-safe: every function takes the pool's lock.
 */
#ifndef IDL_NODE_MEMPOOL_H
#define IDL_NODE_MEMPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/codec.h"
#include "ledger/err.h"
#include "ledger/hash.h"
#include "ledger/tx.h"

#define MEMPOOL_REASON_MAX 200
#define MEMPOOL_NONCE_AHEAD_MAX 256

struct mempool;

IDL_MUST_USE idl_err mempool_new(struct mempool **out, size_t max_txs);
void mempool_free(struct mempool *mp);

/*
 * Adds an admitted transaction (raw is copied). next is the actor's next nonce on the
 * ledger when it was admitted (ledger_tx_admit). Its weight is what it costs a block: 1,
 * or the record count of a batch. IDL_ERR_EXISTS if it is already pooled,
 * IDL_ERR_UNAVAILABLE if the pool is full, IDL_ERR_NONCE (the reason in why) if its nonce
 * is used or too far ahead (see above). Two pooled transactions of one actor may carry the
 * same nonce: the first to reach a block wins and the other is pruned with it. now_ms is
 * any clock that mempool_expire is given too.
 */
IDL_MUST_USE idl_err mempool_add(struct mempool *mp, const uint8_t txid[HASH_BYTES],
                                 const char *actor, uint64_t nonce, uint64_t next,
                                 uint32_t weight, const uint8_t *raw, size_t len,
                                 uint64_t now_ms, char *why, size_t why_len);

bool mempool_has(struct mempool *mp, const uint8_t txid[HASH_BYTES]);
size_t mempool_count(struct mempool *mp);
/* How many pooled transactions carry their actor's next nonce: there is work if not 0. */
size_t mempool_ready(struct mempool *mp);
/* Is txid pooled with its actor's next nonce? (A block that refuses it for its nonce
 * shows the pool's idea of the next nonce was behind: the nonce is used.) */
bool mempool_is_next(struct mempool *mp, const uint8_t txid[HASH_BYTES]);

/* The highest nonce of the actor's pooled transactions, 0 if none. */
uint64_t mempool_actor_nonce(struct mempool *mp, const char *actor);

/*
 * Copies pooled transactions for a block proposal into *out (caller frees each data and
 * the array): of the actors with a ready transaction, the oldest, in arrival order, while
 * their weights stay within max_weight and their bytes within max_bytes (the first is
 * taken whatever its weight), then ordered by actor (oldest first) and nonce. Returns the
 * count.
 */
size_t mempool_select(struct mempool *mp, size_t max_weight, size_t max_bytes,
                      struct idl_bytes **out);

/*
 * Copies pooled transactions to gossip again into *out (caller frees each data and the
 * array), oldest first, at most max_n of them and max_bytes in all (the first whatever its
 * size). With every_ms 0, all of them (for a peer whose link just came up); else only those
 * pooled and not sent on for every_ms or longer, which are marked sent at now_ms (the
 * periodic resend, so that a transaction that entered where no validator was reachable
 * still gets there). Returns the count.
 */
size_t mempool_gossip(struct mempool *mp, uint64_t now_ms, uint64_t every_ms, size_t max_n,
                      size_t max_bytes, struct idl_bytes **out);

/* Removes one transaction; if reason is not NULL, remembers it as dropped for that reason. */
void mempool_remove(struct mempool *mp, const uint8_t txid[HASH_BYTES], const char *reason);

/* What a committed block used: one per transaction. */
struct mempool_used {
    uint8_t txid[HASH_BYTES];
    char actor[LEDGER_ID_MAX + 1];
    uint64_t nonce;
};

/*
 * Removes the committed transactions, then, in one pass, every pooled transaction whose
 * nonce the block used up (remembered as replaced by another transaction of the actor).
 */
void mempool_committed(struct mempool *mp, const struct mempool_used *used, size_t n);

/* Drops transactions older than max_age_ms, remembering them as expired. */
void mempool_expire(struct mempool *mp, uint64_t now_ms, uint64_t max_age_ms);

/* Why the pool dropped txid, if it remembers (true). */
bool mempool_dropped(struct mempool *mp, const uint8_t txid[HASH_BYTES],
                     char reason[MEMPOOL_REASON_MAX]);

#endif

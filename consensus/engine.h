/*
 * The consensus engine: the Tendermint core (core.h) wired to the ledger, the write-ahead
 * log and the network, through a host that supplies time, timers, transport, signing and
 * the transaction pool.
 *
 * The engine checks every message before the core sees it (signature, proposer of the
 * round, the block's validity by executing it on the ledger), carries out the core's
 * actions in order, commits decided blocks with their certificates, and keeps nodes that
 * fell behind, replicas and new nodes in step by block sync: they ask peers for committed
 * blocks (SYNC_REQ), check each certificate against the validator set and apply the block
 * without re-checking transaction signatures.
 *
 * The host is the node (real sockets, timers and files, node/bft.c) or the simulator
 * (tests/sim). The engine is single-threaded: the host calls it from one thread at a time.
 * Replicas (self = -1) ignore proposals and votes and follow committed blocks only.
 *
 * Durability: while the core's actions for one event are carried out, our proposals, votes
 * and lock changes are queued as log records and outgoing messages. Then all the records
 * are appended with one sync, and only after that are the messages sent. So nothing leaves
 * the node that the log does not hold, at the cost of one sync per event.
 */
#ifndef IDL_CONS_ENGINE_H
#define IDL_CONS_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "consensus/core.h"
#include "consensus/msg.h"
#include "ledger/ledger.h"

enum engine_event {
    ENGINE_EV_COMMITTED,   /* a block was committed (detail: how) */
    ENGINE_EV_REFUSED,     /* a message or block from a peer was refused (detail: why) */
    ENGINE_EV_ROUND,       /* a new round started */
    ENGINE_EV_SYNC,        /* a sync request was sent */
    ENGINE_EV_HALT,        /* the engine cannot go on safely (detail: why) */
};

struct cons_host {
    void *arg;
    /* Wall-clock time: block times, and proposals timed too far ahead. */
    uint64_t (*now_ms)(void *arg);
    /* A clock that never jumps, for timeouts (NULL: now_ms serves). */
    uint64_t (*mono_ms)(void *arg);
    void (*broadcast)(void *arg, const uint8_t *msg, size_t len);
    void (*send)(void *arg, uint32_t peer, const uint8_t *msg, size_t len);
    /* Calls engine_on_timeout(height, round, step) after ms. */
    void (*schedule)(void *arg, uint64_t height, uint32_t round, unsigned step, uint32_t ms);
    /* Appends records to the write-ahead log, durably (one sync for the lot). */
    idl_err (*wal_append)(void *arg, const struct idl_bytes *recs, size_t n);
    /* The height's records are obsolete (its block is committed durably): the log may be
     * emptied. */
    idl_err (*wal_reset)(void *arg);
    /* Signs a 32-byte hash with the node's validator key. */
    idl_err (*sign)(void *arg, const uint8_t msg[HASH_BYTES], uint8_t sig[SIG_BYTES]);
    /* Copies transactions for a proposal, up to max of weight (a batch weighs its record
     * count; caller frees). */
    size_t (*pool_take)(void *arg, size_t max, struct idl_bytes **out);
    /* Was this transaction's signature checked when it entered the pool? */
    bool (*preverified)(void *arg, const uint8_t txid[HASH_BYTES]);
    /* A pooled transaction that cannot go into a block (not for a nonce gap). */
    void (*pool_drop)(void *arg, const uint8_t txid[HASH_BYTES], idl_err code, const char *why);
    /* A block was committed: its results, for the pool and the logs. */
    void (*committed)(void *arg, const struct ledger_tx_result *res, uint32_t n, uint64_t height,
                      uint64_t ms);
    /* Transactions gossiped by a peer, for the pool. */
    void (*txs_in)(void *arg, uint32_t peer, const uint8_t *raw, size_t len);
    /* Something worth logging. */
    void (*event)(void *arg, enum engine_event ev, uint64_t height, uint32_t round,
                  const char *detail);
};

struct cons_engine_config {
    int self; /* validator index, or -1 for a replica */
    struct cons_timeouts timeouts;
    uint32_t block_max_txs;
    uint64_t max_clock_drift_ms; /* proposals timed further ahead than this are invalid */
};

struct engine;

/* The most bytes of peers' messages the engine holds for later heights. */
#define ENGINE_HELD_BYTES_MAX (6u * LEDGER_BLOCK_BYTES_MAX + (4u << 20))
/* Links the engine keeps an entry for at once (node/p2p.h's P2P_LINKS_MAX must fit). */
#define ENGINE_PEERS_MAX 256

struct engine_status {
    uint64_t height; /* being decided: tip + 1 */
    uint32_t round;
    unsigned step;
    uint64_t best_peer_height; /* highest tip reported by a peer whose claims count */
    bool catching_up;          /* such a peer is 2 or more blocks ahead, or syncing from one */
    bool halted;      /* a log write failed: no more votes, only block sync (engine.c halt) */
    uint64_t refused; /* messages and blocks refused so far */
    size_t held, held_bytes; /* messages held for later heights (see ENGINE_HELD_BYTES_MAX) */
    uint64_t equivocations;
};

IDL_MUST_USE idl_err engine_new(struct engine **out, struct ledger *l,
                                const struct cons_engine_config *cfg,
                                const struct cons_host *host);
void engine_free(struct engine *e);

/* Feeds one write-ahead log record (before engine_start). Stale records are ignored. */
void engine_restore(struct engine *e, const uint8_t *rec, size_t len);
/* Starts deciding the height after the ledger's tip, resuming what the log restored. */
void engine_start(struct engine *e);

void engine_on_message(struct engine *e, uint32_t peer, const uint8_t *msg, size_t len);
void engine_on_timeout(struct engine *e, uint64_t height, uint32_t round, unsigned step);
/* The pool has transactions: start the height if it was waiting for work. */
void engine_on_work(struct engine *e);
/*
 * A peer's link came up (is_validator: its key is in the validator set) or went down. The
 * engine keeps an entry per link while it is up; what a peer earned at block sync (strikes
 * for unanswered requests, a bad mark for a block that did not verify) stays with its key
 * across reconnects.
 */
void engine_on_peer(struct engine *e, uint32_t peer, const uint8_t key[SIG_PUBKEY_BYTES], bool up,
                    bool is_validator);
/* About once a second: resend our latest messages, our status, retry a stalled sync. */
void engine_tick(struct engine *e);

void engine_status(const struct engine *e, struct engine_status *st);

/*
 * Answers a sync request from the committed ledger: DECIDED messages for the asked heights,
 * sent to peer. Returns the block and certificate bytes sent. Reads only the store, so
 * hosts may call it from any thread (and should bound how often a peer may ask).
 */
size_t engine_serve_sync(struct ledger *l, const struct cons_host *host, uint32_t peer,
                         const struct msg_sync_req *req);

/* Encodes a TXS gossip message of n transactions. */
IDL_MUST_USE idl_err engine_txs_message(const struct idl_bytes *txs, size_t n,
                                        struct idl_bytes *out);

#endif

/*
 * The node's BFT engine: consensus/engine.h driven by one thread, with peer links
 * (node/p2p.h), timers, the write-ahead log file and the transaction pool.
 *
 * Network callbacks only queue events for the engine thread, except sync requests, which
 * they answer directly from the store so that a node serving a long catch-up never delays
 * its own votes.
 */
#ifndef IDL_NODE_BFT_H
#define IDL_NODE_BFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/err.h"

struct node;
struct bft;

IDL_MUST_USE idl_err bft_start(struct bft **out, struct node *n, char *why, size_t why_len);
void bft_stop(struct bft *b);

/* The pool has new transactions (admitted locally or gossiped): wake the engine. */
void bft_work(struct bft *b);
/* Sends transactions that entered at this node to the peers (once; the engine thread sends
 * the pool again to new links and, periodically, what waits in it). */
void bft_gossip(struct bft *b, const uint8_t *raw, size_t len);

/* What /v1/status and /metrics report. */
struct bft_info {
    uint64_t round;
    unsigned step;
    size_t peers;
    uint64_t refused;
    uint64_t equivocations;
    bool halted;
};
void bft_info(struct bft *b, struct bft_info *out);

#endif

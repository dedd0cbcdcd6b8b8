/*
 * Byte budgets for what peers make a node hold in memory: a total bound and a bound per
 * peer, so that one peer (or a few) sending large frames faster than they are handled can
 * neither exhaust memory nor crowd the other peers out.
 *
 * A budget counts the bytes taken and not yet given back, per peer id. budget_take says
 * whether more may be taken; the caller gives the same bytes back (budget_give) once it
 * has let go of them. Not thread-safe: callers hold their own lock.
 */
#ifndef IDL_CONS_BUDGET_H
#define IDL_CONS_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct budget_peer {
    uint32_t peer;
    size_t bytes;
};

struct budget {
    size_t total_max, peer_max;
    size_t total;
    struct budget_peer *peers; /* those holding bytes now */
    size_t n, cap;
};

/* A budget of total_max bytes in all, peer_max per peer. Nothing to free until used. */
void budget_init(struct budget *b, size_t total_max, size_t peer_max);
void budget_free(struct budget *b);

/*
 * Takes `bytes` for peer if both bounds allow it (true), else takes nothing (false, also
 * when out of memory for the peer's entry).
 */
bool budget_take(struct budget *b, uint32_t peer, size_t bytes);

/* Gives back bytes that budget_take took for peer. */
void budget_give(struct budget *b, uint32_t peer, size_t bytes);

/* The bytes peer holds now. */
size_t budget_of(const struct budget *b, uint32_t peer);

#endif

/*
 * Byte budgets (see budget.h): an unsorted array of the peers holding bytes, searched
 * linearly (a node has at most a few hundred links), an entry dropped when its bytes reach
 * zero.
 */
#include "budget.h"

#include <stdlib.h>

#include "ledger/err.h"

void
budget_init(struct budget *b, size_t total_max, size_t peer_max)
{
    *b = (struct budget){.total_max = total_max, .peer_max = peer_max};
}

void
budget_free(struct budget *b)
{
    free(b->peers);
    b->peers = NULL;
    b->n = b->cap = 0;
    b->total = 0;
}

static struct budget_peer *
find(const struct budget *b, uint32_t peer)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->peers[i].peer == peer)
            return &b->peers[i];
    return NULL;
}

size_t
budget_of(const struct budget *b, uint32_t peer)
{
    const struct budget_peer *p = find(b, peer);
    return p ? p->bytes : 0;
}

bool
budget_take(struct budget *b, uint32_t peer, size_t bytes)
{
    struct budget_peer *p = find(b, peer);
    size_t mine = p ? p->bytes : 0;
    if (bytes > b->total_max - b->total || bytes > b->peer_max - mine)
        return false;
    if (!p) {
        if (b->n == b->cap) {
            size_t cap = b->cap ? b->cap * 2 : 16;
            struct budget_peer *v = realloc(b->peers, cap * sizeof(*v));
            if (!v)
                return false;
            b->peers = v;
            b->cap = cap;
        }
        p = &b->peers[b->n++];
        *p = (struct budget_peer){peer, 0};
    }
    p->bytes += bytes;
    b->total += bytes;
    return true;
}

void
budget_give(struct budget *b, uint32_t peer, size_t bytes)
{
    struct budget_peer *p = find(b, peer);
    IDL_ASSERT(p && p->bytes >= bytes && b->total >= bytes);
    p->bytes -= bytes;
    b->total -= bytes;
    if (p->bytes == 0)
        *p = b->peers[--b->n];
}

/*
 * Pool layout: a vector of entries in arrival order (removed ones are marked dead and the
 * vector is compacted when more than half are dead), an open-addressing index from txid to
 * vector position, and a per-actor table of pending counts, highest nonces, the ledger's
 * next nonce and how many pooled transactions carry it (heads). The pool's ready count is
 * the sum of the heads: a transaction with its actor's next nonce can go into the next
 * block, and its pooled successors after it; one behind a gap cannot. The dropped-reasons
 * memory is a ring of the last MEMPOOL_DROPPED_MAX drops.
 */
#include "mempool.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define MEMPOOL_DROPPED_MAX 4096

struct entry {
    uint8_t txid[HASH_BYTES];
    char actor[LEDGER_ID_MAX + 1];
    uint64_t nonce;
    uint32_t weight;
    uint64_t seq;
    uint64_t added_ms;
    uint64_t gossip_ms; /* when mempool_gossip last sent it on (0: never) */
    struct idl_bytes raw;
    bool dead;
};

struct actor {
    char id[LEDGER_ID_MAX + 1]; /* "" = empty slot */
    uint64_t max_nonce;
    uint64_t first_seq; /* arrival of its oldest pending tx, for ordering */
    uint32_t pending;
    uint64_t next;  /* the ledger's next nonce for the actor, as last learnt */
    uint32_t heads; /* pending transactions whose nonce is next */
};

struct dropped {
    uint8_t txid[HASH_BYTES];
    char reason[MEMPOOL_REASON_MAX];
};

struct mempool {
    pthread_mutex_t lock;
    size_t max_txs;
    struct entry *e;
    size_t n, cap, live;
    size_t ready; /* the heads of all actors */
    size_t *index; /* txid -> position + 1 (0 = empty); capacity index_cap */
    size_t index_cap;
    struct actor *actors;
    size_t actors_cap, actors_used;
    uint64_t seq;
    struct dropped *drops;
    size_t drop_next;
};

static uint64_t
txid_hash(const uint8_t *id)
{
    uint64_t h;
    memcpy(&h, id, sizeof(h)); /* txids are hashes: their bytes are uniform */
    return h;
}

static uint64_t
str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

idl_err
mempool_new(struct mempool **out, size_t max_txs)
{
    struct mempool *mp = calloc(1, sizeof(*mp));
    *out = NULL;
    if (!mp)
        return IDL_ERR_NOMEM;
    mp->max_txs = max_txs;
    mp->index_cap = 1;
    while (mp->index_cap < max_txs * 2 + 16)
        mp->index_cap *= 2;
    mp->actors_cap = mp->index_cap;
    mp->index = calloc(mp->index_cap, sizeof(*mp->index));
    mp->actors = calloc(mp->actors_cap, sizeof(*mp->actors));
    mp->drops = calloc(MEMPOOL_DROPPED_MAX, sizeof(*mp->drops));
    if (!mp->index || !mp->actors || !mp->drops) {
        mempool_free(mp);
        return IDL_ERR_NOMEM;
    }
    pthread_mutex_init(&mp->lock, NULL);
    *out = mp;
    return IDL_OK;
}

void
mempool_free(struct mempool *mp)
{
    if (!mp)
        return;
    for (size_t i = 0; i < mp->n; i++)
        free(mp->e[i].raw.data);
    free(mp->e);
    free(mp->index);
    free(mp->actors);
    free(mp->drops);
    pthread_mutex_destroy(&mp->lock);
    free(mp);
}

/* Slot of txid in the index: its position if present, else the empty slot to use. */
static size_t *
index_slot(struct mempool *mp, const uint8_t *txid)
{
    size_t mask = mp->index_cap - 1;
    for (size_t i = txid_hash(txid) & mask;; i = (i + 1) & mask) {
        size_t *s = &mp->index[i];
        if (!*s || memcmp(mp->e[*s - 1].txid, txid, HASH_BYTES) == 0)
            return s;
    }
}

static void
index_rebuild(struct mempool *mp)
{
    memset(mp->index, 0, mp->index_cap * sizeof(*mp->index));
    for (size_t i = 0; i < mp->n; i++)
        *index_slot(mp, mp->e[i].txid) = i + 1;
}

/* Compacts the entry vector when more than half of it is dead. */
static void
maybe_compact(struct mempool *mp)
{
    if (mp->n < 64 || mp->live * 2 > mp->n)
        return;
    size_t k = 0;
    for (size_t i = 0; i < mp->n; i++)
        if (!mp->e[i].dead)
            mp->e[k++] = mp->e[i];
    mp->n = k;
    index_rebuild(mp);
}

/* The actor's slot: found, or the empty one to claim (NULL if the table is full). */
static struct actor *
actor_slot(struct mempool *mp, const char *id)
{
    size_t mask = mp->actors_cap - 1;
    for (size_t i = str_hash(id) & mask, n = 0; n < mp->actors_cap; i = (i + 1) & mask, n++) {
        struct actor *a = &mp->actors[i];
        if (!a->id[0] || strcmp(a->id, id) == 0)
            return a;
    }
    return NULL;
}

static void
remember_drop(struct mempool *mp, const uint8_t *txid, const char *reason)
{
    struct dropped *d = &mp->drops[mp->drop_next++ % MEMPOOL_DROPPED_MAX];
    memcpy(d->txid, txid, HASH_BYTES);
    snprintf(d->reason, sizeof(d->reason), "%s", reason);
}

static void
entry_kill(struct mempool *mp, struct entry *e, const char *reason)
{
    struct actor *a = actor_slot(mp, e->actor);
    if (a && a->id[0] && e->nonce == a->next && a->heads > 0) {
        a->heads--;
        mp->ready--;
    }
    if (a && a->id[0] && a->pending > 0 && --a->pending == 0)
        a->max_nonce = 0; /* the slot stays claimed: entries are never moved in the table */
    if (reason)
        remember_drop(mp, e->txid, reason);
    free(e->raw.data);
    e->raw.data = NULL;
    e->dead = true;
    mp->live--;
}

/*
 * The ledger's next nonce for actor a moved up to next: its pending transactions below it
 * are used up (dropped), and its heads are counted again. Walks the whole pool, but only
 * when an admission learnt of a commit the pool was not told of (a race with the engine).
 */
static void
actor_next_raise(struct mempool *mp, struct actor *a, uint64_t next)
{
    mp->ready -= a->heads;
    a->heads = 0;
    a->next = next;
    for (size_t i = 0; a->pending && i < mp->n; i++) {
        struct entry *e = &mp->e[i];
        if (e->dead || strcmp(e->actor, a->id) != 0)
            continue;
        if (e->nonce < next)
            entry_kill(mp, e, "another transaction of the actor used this nonce");
        else if (e->nonce == next) {
            a->heads++;
            mp->ready++;
        }
    }
}

/* Why a nonce cannot enter the pool (into why), or IDL_OK. Lock held. */
static idl_err
nonce_check(const struct actor *a, uint64_t nonce, char *why, size_t why_len)
{
    /* Far ahead of both the ledger and the actor's pooled transactions: a gap that would
     * hold a place in the pool until it expires, and most likely never make a block. */
    uint64_t base = a->max_nonce >= a->next ? a->max_nonce + 1 : a->next;
    if (nonce < a->next) {
        snprintf(why, why_len, "nonce %llu is already used (next is %llu)",
                 (unsigned long long)nonce, (unsigned long long)a->next);
        return IDL_ERR_NONCE;
    }
    if (nonce > base + MEMPOOL_NONCE_AHEAD_MAX) {
        snprintf(why, why_len,
                 "nonce %llu is too far ahead: the actor's next is %llu, and at most %u more "
                 "may wait in the pool beyond it",
                 (unsigned long long)nonce, (unsigned long long)base, MEMPOOL_NONCE_AHEAD_MAX);
        return IDL_ERR_NONCE;
    }
    return IDL_OK;
}

idl_err
mempool_add(struct mempool *mp, const uint8_t txid[HASH_BYTES], const char *actor, uint64_t nonce,
            uint64_t next, uint32_t weight, const uint8_t *raw, size_t len, uint64_t now_ms,
            char *why, size_t why_len)
{
    idl_err rc = IDL_OK;
    if (why_len)
        why[0] = '\0';
    pthread_mutex_lock(&mp->lock);
    size_t *slot = index_slot(mp, txid);
    struct actor *a = actor_slot(mp, actor);
    if (*slot && !mp->e[*slot - 1].dead) {
        rc = IDL_ERR_EXISTS;
    } else if (mp->live >= mp->max_txs || !a) {
        rc = IDL_ERR_UNAVAILABLE;
    }
    if (!rc) {
        if (!a->id[0]) {
            snprintf(a->id, sizeof(a->id), "%s", actor);
            mp->actors_used++;
        }
        if (next > a->next)
            actor_next_raise(mp, a, next); /* kills only mark entries: slot stays valid */
        rc = nonce_check(a, nonce, why, why_len);
    }
    if (!rc && mp->n == mp->cap) {
        size_t cap = mp->cap ? mp->cap * 2 : 1024;
        struct entry *e = realloc(mp->e, cap * sizeof(*e));
        if (e) {
            mp->e = e;
            mp->cap = cap;
        } else {
            rc = IDL_ERR_NOMEM;
        }
    }
    uint8_t *copy = rc ? NULL : malloc(len);
    if (!rc && !copy)
        rc = IDL_ERR_NOMEM;
    if (!rc) {
        memcpy(copy, raw, len);
        struct entry *e = &mp->e[mp->n];
        memset(e, 0, sizeof(*e));
        memcpy(e->txid, txid, HASH_BYTES);
        snprintf(e->actor, sizeof(e->actor), "%s", actor);
        e->nonce = nonce;
        e->weight = weight ? weight : 1;
        e->seq = ++mp->seq;
        e->added_ms = now_ms;
        e->raw = (struct idl_bytes){copy, len};
        mp->n++;
        mp->live++;
        /* A dead entry with the same id may still own the slot: reuse it. */
        *slot = mp->n;
        if (a->pending++ == 0)
            a->first_seq = e->seq;
        if (nonce > a->max_nonce)
            a->max_nonce = nonce;
        if (nonce == a->next) {
            a->heads++;
            mp->ready++;
        }
    }
    pthread_mutex_unlock(&mp->lock);
    return rc;
}

bool
mempool_has(struct mempool *mp, const uint8_t txid[HASH_BYTES])
{
    pthread_mutex_lock(&mp->lock);
    size_t *slot = index_slot(mp, txid);
    bool has = *slot && !mp->e[*slot - 1].dead;
    pthread_mutex_unlock(&mp->lock);
    return has;
}

size_t
mempool_count(struct mempool *mp)
{
    pthread_mutex_lock(&mp->lock);
    size_t n = mp->live;
    pthread_mutex_unlock(&mp->lock);
    return n;
}

size_t
mempool_ready(struct mempool *mp)
{
    pthread_mutex_lock(&mp->lock);
    size_t n = mp->ready;
    pthread_mutex_unlock(&mp->lock);
    return n;
}

bool
mempool_is_next(struct mempool *mp, const uint8_t txid[HASH_BYTES])
{
    pthread_mutex_lock(&mp->lock);
    size_t *slot = index_slot(mp, txid);
    bool next = false;
    if (*slot && !mp->e[*slot - 1].dead) {
        const struct entry *e = &mp->e[*slot - 1];
        const struct actor *a = actor_slot(mp, e->actor);
        next = a && a->id[0] && e->nonce == a->next;
    }
    pthread_mutex_unlock(&mp->lock);
    return next;
}

uint64_t
mempool_actor_nonce(struct mempool *mp, const char *actor)
{
    pthread_mutex_lock(&mp->lock);
    struct actor *a = actor_slot(mp, actor);
    uint64_t n = a && a->id[0] ? a->max_nonce : 0;
    pthread_mutex_unlock(&mp->lock);
    return n;
}

struct pick {
    uint64_t actor_seq;
    uint64_t nonce;
    size_t pos;
};

static int
pick_cmp(const void *x, const void *y)
{
    const struct pick *a = x, *b = y;
    if (a->actor_seq != b->actor_seq)
        return a->actor_seq < b->actor_seq ? -1 : 1;
    return a->nonce < b->nonce ? -1 : a->nonce > b->nonce;
}

size_t
mempool_select(struct mempool *mp, size_t max_weight, size_t max_bytes, struct idl_bytes **out)
{
    *out = NULL;
    pthread_mutex_lock(&mp->lock);
    struct pick *p = malloc((mp->live ? mp->live : 1) * sizeof(*p));
    size_t n = 0, bytes = 0, weight = 0;
    for (size_t i = 0; p && i < mp->n; i++) {
        struct entry *e = &mp->e[i];
        if (e->dead)
            continue;
        /* An actor without a ready transaction has nothing a block can take: skipped, so
         * that old transactions behind a gap never crowd the ready ones out of blocks. */
        struct actor *a = actor_slot(mp, e->actor);
        if (!a || !a->id[0] || a->heads == 0)
            continue;
        /* A prefix of arrival order: skipping one could leave a gap in an actor's nonces. */
        if (n && (weight + e->weight > max_weight || bytes + e->raw.len > max_bytes))
            break;
        p[n++] = (struct pick){a->first_seq, e->nonce, i};
        bytes += e->raw.len;
        weight += e->weight;
    }
    /* Group each actor's transactions in nonce order, actors by their oldest arrival. */
    if (p)
        qsort(p, n, sizeof(*p), pick_cmp);
    struct idl_bytes *txs = n ? calloc(n, sizeof(*txs)) : NULL;
    size_t k = 0;
    for (size_t i = 0; txs && i < n; i++) {
        struct entry *e = &mp->e[p[i].pos];
        txs[k].data = malloc(e->raw.len);
        if (!txs[k].data)
            break;
        memcpy(txs[k].data, e->raw.data, e->raw.len);
        txs[k++].len = e->raw.len;
    }
    pthread_mutex_unlock(&mp->lock);
    free(p);
    *out = txs;
    return k;
}

size_t
mempool_gossip(struct mempool *mp, uint64_t now_ms, uint64_t every_ms, size_t max_n,
               size_t max_bytes, struct idl_bytes **out)
{
    *out = NULL;
    pthread_mutex_lock(&mp->lock);
    size_t cap = mp->live < max_n ? mp->live : max_n;
    struct idl_bytes *txs = cap ? calloc(cap, sizeof(*txs)) : NULL;
    size_t n = 0, bytes = 0;
    for (size_t i = 0; txs && i < mp->n && n < cap; i++) {
        struct entry *e = &mp->e[i];
        if (e->dead)
            continue;
        /* Periodic: what has waited a while (it should have made a block by now) and was
         * not sent on lately. */
        if (every_ms && (now_ms - e->added_ms < every_ms ||
                         (e->gossip_ms && now_ms - e->gossip_ms < every_ms)))
            continue;
        if (n && bytes + e->raw.len > max_bytes)
            break;
        txs[n].data = malloc(e->raw.len);
        if (!txs[n].data)
            break;
        memcpy(txs[n].data, e->raw.data, e->raw.len);
        txs[n++].len = e->raw.len;
        bytes += e->raw.len;
        if (every_ms)
            e->gossip_ms = now_ms;
    }
    pthread_mutex_unlock(&mp->lock);
    if (!n) {
        free(txs);
        txs = NULL;
    }
    *out = txs;
    return n;
}

void
mempool_remove(struct mempool *mp, const uint8_t txid[HASH_BYTES], const char *reason)
{
    pthread_mutex_lock(&mp->lock);
    size_t *slot = index_slot(mp, txid);
    if (*slot && !mp->e[*slot - 1].dead)
        entry_kill(mp, &mp->e[*slot - 1], reason);
    maybe_compact(mp);
    pthread_mutex_unlock(&mp->lock);
}

static int
used_cmp(const void *x, const void *y)
{
    return strcmp(((const struct mempool_used *)x)->actor, ((const struct mempool_used *)y)->actor);
}

void
mempool_committed(struct mempool *mp, const struct mempool_used *used, size_t n)
{
    /* The highest nonce each actor used in the block, sorted by actor for lookups. */
    struct mempool_used *last = n ? malloc(n * sizeof(*last)) : NULL;
    size_t m = 0;
    if (last) {
        memcpy(last, used, n * sizeof(*last));
        qsort(last, n, sizeof(*last), used_cmp);
        for (size_t i = 0; i < n; i++) {
            if (m && !strcmp(last[m - 1].actor, last[i].actor)) {
                if (last[i].nonce > last[m - 1].nonce)
                    last[m - 1].nonce = last[i].nonce;
            } else {
                last[m++] = last[i];
            }
        }
    }
    pthread_mutex_lock(&mp->lock);
    for (size_t i = 0; i < n; i++) {
        size_t *slot = index_slot(mp, used[i].txid);
        if (*slot && !mp->e[*slot - 1].dead)
            entry_kill(mp, &mp->e[*slot - 1], NULL);
    }
    /* The ledger's next nonce of each actor in the block: its heads are counted anew. */
    bool *raised = m ? calloc(m, sizeof(*raised)) : NULL;
    for (size_t i = 0; raised && i < m; i++) {
        struct actor *a = actor_slot(mp, last[i].actor);
        if (!a || !a->id[0] || last[i].nonce + 1 <= a->next)
            continue;
        mp->ready -= a->heads;
        a->heads = 0;
        a->next = last[i].nonce + 1;
        raised[i] = true;
    }
    for (size_t i = 0; last && i < mp->n; i++) {
        struct entry *e = &mp->e[i];
        if (e->dead)
            continue;
        struct mempool_used key;
        snprintf(key.actor, sizeof(key.actor), "%s", e->actor);
        const struct mempool_used *u = bsearch(&key, last, m, sizeof(*last), used_cmp);
        if (u && e->nonce <= u->nonce) {
            entry_kill(mp, e, "another transaction of the actor used this nonce");
        } else if (u && raised && raised[u - last]) {
            struct actor *a = actor_slot(mp, e->actor);
            if (a && e->nonce == a->next) {
                a->heads++;
                mp->ready++;
            }
        }
    }
    maybe_compact(mp);
    pthread_mutex_unlock(&mp->lock);
    free(raised);
    free(last);
}

void
mempool_expire(struct mempool *mp, uint64_t now_ms, uint64_t max_age_ms)
{
    pthread_mutex_lock(&mp->lock);
    for (size_t i = 0; i < mp->n; i++) {
        struct entry *e = &mp->e[i];
        if (!e->dead && now_ms - e->added_ms > max_age_ms)
            entry_kill(mp, e,
                       "expired in the pool: an earlier nonce of the actor never arrived");
    }
    maybe_compact(mp);
    pthread_mutex_unlock(&mp->lock);
}

bool
mempool_dropped(struct mempool *mp, const uint8_t txid[HASH_BYTES],
                char reason[MEMPOOL_REASON_MAX])
{
    bool found = false;
    pthread_mutex_lock(&mp->lock);
    for (size_t i = 0; i < MEMPOOL_DROPPED_MAX && !found; i++)
        if (mp->drops[i].reason[0] && !memcmp(mp->drops[i].txid, txid, HASH_BYTES)) {
            snprintf(reason, MEMPOOL_REASON_MAX, "%s", mp->drops[i].reason);
            found = true;
        }
    pthread_mutex_unlock(&mp->lock);
    return found;
}

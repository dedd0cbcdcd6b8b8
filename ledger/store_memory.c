/*
 * An in-memory store for tests and the simulator: a sorted array of entries under a mutex.
 * Writes are O(n) insertions, which is fine at test sizes. An iterator copies the entries
 * it will walk, which gives it a snapshot for free.
 */
#include "store.h"

#include <pthread.h>
#include <string.h>

struct mem_entry {
    uint8_t *key;
    size_t key_len;
    uint8_t *val;
    size_t val_len;
};

struct mem_store {
    struct store base;
    pthread_mutex_t lock;
    struct mem_entry *e;
    size_t count, cap;
};

struct store_iter {
    struct mem_entry *e; /* a deep copy */
    size_t count, pos;
};

static struct mem_store *
as_mem(struct store *s)
{
    return (struct mem_store *)s;
}

/* Index of the first entry >= key. */
static size_t
lower_bound(const struct mem_entry *e, size_t count, const uint8_t *key, size_t key_len)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (store_key_cmp(e[mid].key, e[mid].key_len, key, key_len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static uint8_t *
dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    if (d && n)
        memcpy(d, p, n);
    return d;
}

static idl_err
mem_get(struct store *s, const uint8_t *key, size_t key_len, struct idl_bytes *val)
{
    struct mem_store *m = as_mem(s);
    idl_err rc = IDL_ERR_NOT_FOUND;
    pthread_mutex_lock(&m->lock);
    size_t i = lower_bound(m->e, m->count, key, key_len);
    if (i < m->count && store_key_cmp(m->e[i].key, m->e[i].key_len, key, key_len) == 0) {
        val->data = dup_bytes(m->e[i].val, m->e[i].val_len);
        val->len = m->e[i].val_len;
        rc = val->data ? IDL_OK : IDL_ERR_NOMEM;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static idl_err
mem_apply(struct mem_store *m, const struct store_op *op)
{
    size_t i = lower_bound(m->e, m->count, op->key, op->key_len);
    int found = i < m->count && store_key_cmp(m->e[i].key, m->e[i].key_len, op->key,
                                              op->key_len) == 0;
    if (!op->val) {
        if (found) {
            free(m->e[i].key);
            free(m->e[i].val);
            memmove(&m->e[i], &m->e[i + 1], (m->count - i - 1) * sizeof(*m->e));
            m->count--;
        }
        return IDL_OK;
    }
    uint8_t *v = dup_bytes(op->val, op->val_len);
    if (!v)
        return IDL_ERR_NOMEM;
    if (found) {
        free(m->e[i].val);
        m->e[i].val = v;
        m->e[i].val_len = op->val_len;
        return IDL_OK;
    }
    if (m->count == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 256;
        struct mem_entry *e = realloc(m->e, cap * sizeof(*e));
        if (!e) {
            free(v);
            return IDL_ERR_NOMEM;
        }
        m->e = e;
        m->cap = cap;
    }
    uint8_t *k = dup_bytes(op->key, op->key_len);
    if (!k) {
        free(v);
        return IDL_ERR_NOMEM;
    }
    memmove(&m->e[i + 1], &m->e[i], (m->count - i) * sizeof(*m->e));
    m->e[i] = (struct mem_entry){k, op->key_len, v, op->val_len};
    m->count++;
    return IDL_OK;
}

static idl_err
mem_write(struct store *s, const struct store_batch *b, bool sync)
{
    (void)sync;
    struct mem_store *m = as_mem(s);
    idl_err rc = IDL_OK;
    pthread_mutex_lock(&m->lock);
    /* A failure half way would break atomicity; memory stores are for tests, so treat an
     * allocation failure here as fatal rather than pretend to roll back. */
    for (size_t i = 0; i < b->count && rc == IDL_OK; i++)
        rc = mem_apply(m, &b->ops[i]);
    pthread_mutex_unlock(&m->lock);
    IDL_ASSERT(rc == IDL_OK);
    return rc;
}

static void
iter_entries_free(struct mem_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(e[i].key);
        free(e[i].val);
    }
    free(e);
}

static struct store_iter *
mem_iter_new(struct store *s)
{
    struct mem_store *m = as_mem(s);
    struct store_iter *it = calloc(1, sizeof(*it));
    if (!it)
        return NULL;
    pthread_mutex_lock(&m->lock);
    it->e = calloc(m->count ? m->count : 1, sizeof(*it->e));
    int ok = it->e != NULL;
    for (size_t i = 0; ok && i < m->count; i++) {
        it->e[i].key = dup_bytes(m->e[i].key, m->e[i].key_len);
        it->e[i].key_len = m->e[i].key_len;
        it->e[i].val = dup_bytes(m->e[i].val, m->e[i].val_len);
        it->e[i].val_len = m->e[i].val_len;
        it->count = i + 1;
        ok = it->e[i].key && it->e[i].val;
    }
    pthread_mutex_unlock(&m->lock);
    if (!ok) {
        if (it->e)
            iter_entries_free(it->e, it->count);
        free(it);
        return NULL;
    }
    it->pos = it->count;
    return it;
}

static void
mem_iter_seek(struct store_iter *it, const uint8_t *key, size_t len)
{
    it->pos = lower_bound(it->e, it->count, key, len);
}

static bool
mem_iter_valid(struct store_iter *it)
{
    return it->pos < it->count;
}

static void
mem_iter_next(struct store_iter *it)
{
    if (it->pos < it->count)
        it->pos++;
}

static const uint8_t *
mem_iter_key(struct store_iter *it, size_t *len)
{
    *len = it->e[it->pos].key_len;
    return it->e[it->pos].key;
}

static const uint8_t *
mem_iter_value(struct store_iter *it, size_t *len)
{
    *len = it->e[it->pos].val_len;
    return it->e[it->pos].val;
}

static void
mem_iter_free(struct store_iter *it)
{
    iter_entries_free(it->e, it->count);
    free(it);
}

static void
mem_close(struct store *s)
{
    struct mem_store *m = as_mem(s);
    iter_entries_free(m->e, m->count);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static const struct store_ops mem_ops = {
    .get = mem_get,
    .write = mem_write,
    .iter_new = mem_iter_new,
    .iter_seek = mem_iter_seek,
    .iter_valid = mem_iter_valid,
    .iter_next = mem_iter_next,
    .iter_key = mem_iter_key,
    .iter_value = mem_iter_value,
    .iter_free = mem_iter_free,
    .close = mem_close,
};

idl_err
store_memory_open(struct store **out)
{
    struct mem_store *m = calloc(1, sizeof(*m));
    *out = NULL;
    if (!m)
        return IDL_ERR_NOMEM;
    m->base.ops = &mem_ops;
    pthread_mutex_init(&m->lock, NULL);
    *out = &m->base;
    return IDL_OK;
}

/*
 * Dispatch to the store implementations, and the batch, which is ours rather than
 * LevelDB's so that any store (and any fault-injecting wrapper) can read it.
 */
#include "store.h"

#include <string.h>

void
store_close(struct store *s)
{
    if (s)
        s->ops->close(s);
}

idl_err
store_get(struct store *s, const uint8_t *key, size_t key_len, struct idl_bytes *val)
{
    memset(val, 0, sizeof(*val));
    return s->ops->get(s, key, key_len, val);
}

idl_err
store_write(struct store *s, const struct store_batch *b, bool sync)
{
    return s->ops->write(s, b, sync);
}

struct store_iter *
store_iter_new(struct store *s)
{
    return s->ops->iter_new(s);
}

void
store_iter_seek(struct store *s, struct store_iter *it, const uint8_t *key, size_t len)
{
    s->ops->iter_seek(it, key, len);
}

bool
store_iter_valid(struct store *s, struct store_iter *it)
{
    return s->ops->iter_valid(it);
}

void
store_iter_next(struct store *s, struct store_iter *it)
{
    s->ops->iter_next(it);
}

const uint8_t *
store_iter_key(struct store *s, struct store_iter *it, size_t *len)
{
    return s->ops->iter_key(it, len);
}

const uint8_t *
store_iter_value(struct store *s, struct store_iter *it, size_t *len)
{
    return s->ops->iter_value(it, len);
}

idl_err
store_stats(struct store *s, struct store_stats *out)
{
    memset(out, 0, sizeof(*out));
    return s->ops->stats ? s->ops->stats(s, out) : IDL_ERR_INVALID;
}

idl_err
store_iter_status(struct store *s, struct store_iter *it)
{
    return s->ops->iter_status ? s->ops->iter_status(it) : IDL_OK;
}

void
store_iter_free(struct store *s, struct store_iter *it)
{
    if (it)
        s->ops->iter_free(it);
}

void
store_batch_init(struct store_batch *b)
{
    memset(b, 0, sizeof(*b));
}

/* Room for one more op. */
static idl_err
batch_reserve(struct store_batch *b)
{
    if (b->count < b->cap)
        return IDL_OK;
    size_t cap = b->cap ? b->cap * 2 : 64;
    struct store_op *ops = realloc(b->ops, cap * sizeof(*ops));
    if (!ops)
        return IDL_ERR_NOMEM;
    b->ops = ops;
    b->cap = cap;
    return IDL_OK;
}

idl_err
store_batch_take(struct store_batch *b, uint8_t *key, size_t key_len, uint8_t *val, size_t val_len)
{
    if (batch_reserve(b) != IDL_OK)
        return IDL_ERR_NOMEM;
    b->ops[b->count++] = (struct store_op){key, key_len, val, val ? val_len : 0};
    b->bytes += key_len + (val ? val_len : 0);
    return IDL_OK;
}

static idl_err
batch_add(struct store_batch *b, const uint8_t *key, size_t key_len, const uint8_t *val,
          size_t val_len, bool is_put)
{
    uint8_t *k = malloc(key_len ? key_len : 1);
    uint8_t *v = is_put ? malloc(val_len ? val_len : 1) : NULL;
    if (!k || (is_put && !v)) {
        free(k);
        free(v);
        return IDL_ERR_NOMEM;
    }
    memcpy(k, key, key_len);
    if (is_put)
        memcpy(v, val, val_len);
    idl_err rc = store_batch_take(b, k, key_len, v, val_len);
    if (rc) {
        free(k);
        free(v);
    }
    return rc;
}

idl_err
store_batch_put(struct store_batch *b, const uint8_t *key, size_t key_len, const uint8_t *val,
                size_t val_len)
{
    return batch_add(b, key, key_len, val, val_len, true);
}

idl_err
store_batch_del(struct store_batch *b, const uint8_t *key, size_t key_len)
{
    return batch_add(b, key, key_len, NULL, 0, false);
}

void
store_batch_free(struct store_batch *b)
{
    for (size_t i = 0; i < b->count; i++) {
        free(b->ops[i].key);
        free(b->ops[i].val);
    }
    free(b->ops);
    memset(b, 0, sizeof(*b));
}

int
store_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

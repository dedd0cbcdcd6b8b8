/*
 * Read-audit records: key 'R' | org | NUL | u64 time | u32 sequence, value the entry's
 * schema encoding. The sequence makes reads in the same millisecond distinct.
 */
#include "node/readaudit.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/query.h"
#include "ledger/schema.h"
#include "ledger/state.h"

SCHEMA_DEFINE_STATIC(entry_schema, struct readaudit_entry, "read",
                     SF_U64(struct readaudit_entry, time_ms, "time_ms"),
                     SF_TEXT(struct readaudit_entry, client, "client", 0),
                     SF_TEXT(struct readaudit_entry, endpoint, "endpoint", 0),
                     SF_TEXT(struct readaudit_entry, account, "account", SCHEMA_OPTIONAL),
                     SF_TEXT(struct readaudit_entry, org, "org", SCHEMA_OPTIONAL));

struct readaudit {
    struct store *store;
    pthread_mutex_t lock; /* pending, count, seq, stop */
    pthread_cond_t cond;
    pthread_mutex_t write_lock; /* one batch written at a time, in order */
    struct store_batch pending;
    size_t count;
    uint32_t seq;
    bool stop;
    pthread_t thread;
};

/* Writes what is waiting. */
static idl_err
flush(struct readaudit *ra)
{
    pthread_mutex_lock(&ra->write_lock);
    pthread_mutex_lock(&ra->lock);
    struct store_batch b = ra->pending;
    store_batch_init(&ra->pending);
    size_t n = ra->count;
    ra->count = 0;
    pthread_mutex_unlock(&ra->lock);
    idl_err rc = n ? store_write(ra->store, &b, false) : IDL_OK;
    store_batch_free(&b);
    pthread_mutex_unlock(&ra->write_lock);
    return rc;
}

static void *
flusher(void *arg)
{
    struct readaudit *ra = arg;
    pthread_mutex_lock(&ra->lock);
    while (!ra->stop) {
        if (!ra->count) {
            pthread_cond_wait(&ra->cond, &ra->lock);
            continue;
        }
        /* Something waits: give it READAUDIT_DELAY_MS to gather company, then write. */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += READAUDIT_DELAY_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        while (!ra->stop && ra->count && pthread_cond_timedwait(&ra->cond, &ra->lock, &until) == 0)
            ;
        pthread_mutex_unlock(&ra->lock);
        (void)flush(ra); /* a failed write loses those records, as a crash would */
        pthread_mutex_lock(&ra->lock);
    }
    pthread_mutex_unlock(&ra->lock);
    return NULL;
}

idl_err
readaudit_open(struct readaudit **out, struct store *s)
{
    struct readaudit *ra = calloc(1, sizeof(*ra));
    *out = NULL;
    if (!ra)
        return IDL_ERR_NOMEM;
    ra->store = s;
    store_batch_init(&ra->pending);
    pthread_mutex_init(&ra->lock, NULL);
    pthread_mutex_init(&ra->write_lock, NULL);
    pthread_cond_init(&ra->cond, NULL);
    if (pthread_create(&ra->thread, NULL, flusher, ra) != 0) {
        pthread_cond_destroy(&ra->cond);
        pthread_mutex_destroy(&ra->write_lock);
        pthread_mutex_destroy(&ra->lock);
        free(ra);
        return IDL_ERR_NOMEM;
    }
    *out = ra;
    return IDL_OK;
}

void
readaudit_close(struct readaudit *ra)
{
    if (!ra)
        return;
    pthread_mutex_lock(&ra->lock);
    ra->stop = true;
    pthread_cond_signal(&ra->cond);
    pthread_mutex_unlock(&ra->lock);
    pthread_join(ra->thread, NULL);
    (void)flush(ra);
    store_batch_free(&ra->pending);
    pthread_cond_destroy(&ra->cond);
    pthread_mutex_destroy(&ra->write_lock);
    pthread_mutex_destroy(&ra->lock);
    free(ra);
}

idl_err
readaudit_put(struct readaudit *ra, const struct readaudit_entry *e)
{
    struct idl_bytes v;
    idl_err rc = schema_encode_bytes(&entry_schema, e, &v);
    if (rc)
        return rc;
    struct state_key k;
    state_key_init(&k, READAUDIT_SPACE);
    state_key_str(&k, e->org);
    state_key_u64(&k, e->time_ms);
    pthread_mutex_lock(&ra->lock);
    state_key_u32(&k, ra->seq++); /* reads in the same millisecond stay distinct */
    rc = store_batch_put(&ra->pending, k.b, k.len, v.data, v.len);
    bool full = !rc && ++ra->count >= READAUDIT_BATCH;
    if (!rc && ra->count == 1)
        pthread_cond_signal(&ra->cond);
    pthread_mutex_unlock(&ra->lock);
    free(v.data);
    return full ? flush(ra) : rc;
}

struct list_ctx {
    readaudit_fn fn;
    void *arg;
};

static int
one(void *arg, const uint8_t *key, size_t kl, const uint8_t *val, size_t vl)
{
    (void)key, (void)kl;
    struct list_ctx *c = arg;
    struct readaudit_entry e;
    if (schema_decode_bytes(&entry_schema, &e, val, vl) == IDL_OK)
        c->fn(c->arg, &e);
    return 0;
}

idl_err
readaudit_list(struct readaudit *ra, const char *org, uint64_t since_ms, size_t limit,
               readaudit_fn fn, void *arg)
{
    idl_err rc = flush(ra);
    if (rc)
        return rc;
    struct state_key prefix, from;
    state_key_init(&prefix, READAUDIT_SPACE);
    state_key_str(&prefix, org);
    from = prefix;
    state_key_u64(&from, since_ms);
    struct list_ctx c = {fn, arg};
    return query_scan(ra->store, &prefix, &from, limit, one, &c);
}

/*
 * Read-audit records: key 'R' | org | NUL | u64 time | u32 sequence, value the entry's
 * schema encoding. The sequence makes reads in the same millisecond distinct.
 */
#include "node/readaudit.h"

#include <stdatomic.h>
#include <string.h>

#include "ledger/query.h"
#include "ledger/schema.h"
#include "ledger/state.h"

SCHEMA_DEFINE_STATIC(entry_schema, struct readaudit_entry, "read",
                     SF_U64(struct readaudit_entry, time_ms, "time_ms"),
                     SF_TEXT(struct readaudit_entry, client, "client", 0),
                     SF_TEXT(struct readaudit_entry, endpoint, "endpoint", 0),
                     SF_TEXT(struct readaudit_entry, account, "account", SCHEMA_OPTIONAL),
                     SF_TEXT(struct readaudit_entry, org, "org", SCHEMA_OPTIONAL));

static atomic_uint seq;

idl_err
readaudit_put(struct store *s, const struct readaudit_entry *e)
{
    struct state_key k;
    state_key_init(&k, READAUDIT_SPACE);
    state_key_str(&k, e->org);
    state_key_u64(&k, e->time_ms);
    state_key_u32(&k, atomic_fetch_add(&seq, 1));
    struct idl_bytes v;
    idl_err rc = schema_encode_bytes(&entry_schema, e, &v);
    if (rc)
        return rc;
    struct store_batch b;
    store_batch_init(&b);
    rc = store_batch_put(&b, k.b, k.len, v.data, v.len);
    if (!rc)
        rc = store_write(s, &b, false);
    store_batch_free(&b);
    free(v.data);
    return rc;
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
readaudit_list(struct store *s, const char *org, uint64_t since_ms, size_t limit,
               readaudit_fn fn, void *arg)
{
    struct state_key prefix, from;
    state_key_init(&prefix, READAUDIT_SPACE);
    state_key_str(&prefix, org);
    from = prefix;
    state_key_u64(&from, since_ms);
    struct list_ctx c = {fn, arg};
    return query_scan(s, &prefix, &from, limit, one, &c);
}

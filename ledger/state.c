/*
 * State layers. Each layer is an open-addressing hash table (linear probing, power-of-two
 * capacity, at most half full) from key to value-or-tombstone. Lookups walk the layers from
 * the top and fall through to the store; commits move entries down a layer without
 * copying. The writes digest sorts the bottom layer once per block.
 */
#include "state.h"

#include <string.h>

static const char *const status_names[] = {"", "pending", "active", "disabled", "locked"};
static const char *const same_person_names[] = {"", "never", "schools", "always"};
static const char *const tx_status_names[] = {"", "committed", "rejected"};
static const char *const cert_status_names[] = {"", "active", "frozen", "revoked"};
static const char *const app_status_names[] = {"", "applied", "approved", "anchored"};
static const char *const post_names[] = {"", "sysadmin", "secadmin", "auditor"};
_Static_assert(IDL_ARRAY_LEN(post_names) == POST__COUNT, "posts named");
static const char *const medium_status_names[] = {"", "in-transit", "handed", "in-use",
                                                  "returned"};
static const char *const handover_kind_names[] = {"", "handover", "return"};
_Static_assert(IDL_ARRAY_LEN(status_names) == STATUS__COUNT, "statuses named");
_Static_assert(IDL_ARRAY_LEN(cert_status_names) == CERT__COUNT, "cert statuses named");
_Static_assert(IDL_ARRAY_LEN(app_status_names) == APP__COUNT, "application statuses named");
_Static_assert(IDL_ARRAY_LEN(medium_status_names) == MEDIUM__COUNT, "medium statuses named");
_Static_assert(IDL_ARRAY_LEN(handover_kind_names) == HANDOVER__COUNT, "handover kinds named");
_Static_assert(IDL_ARRAY_LEN(same_person_names) == SAME__COUNT, "policies named");
_Static_assert(IDL_ARRAY_LEN(tx_status_names) == TXS__COUNT, "tx statuses named");

const char *
ledger_status_name(unsigned v)
{
    return schema_enum_name(status_names, IDL_ARRAY_LEN(status_names), v);
}

const char *
ledger_same_person_name(unsigned v)
{
    return schema_enum_name(same_person_names, IDL_ARRAY_LEN(same_person_names), v);
}

unsigned
ledger_same_person_parse(const char *s)
{
    int v = schema_enum_parse(same_person_names, IDL_ARRAY_LEN(same_person_names), s);
    return v < 0 ? 0 : (unsigned)v;
}

const char *
ledger_tx_status_name(unsigned v)
{
    return schema_enum_name(tx_status_names, IDL_ARRAY_LEN(tx_status_names), v);
}

const char *
ledger_cert_status_name(unsigned v)
{
    return schema_enum_name(cert_status_names, IDL_ARRAY_LEN(cert_status_names), v);
}

const char *
ledger_app_status_name(unsigned v)
{
    return schema_enum_name(app_status_names, IDL_ARRAY_LEN(app_status_names), v);
}

const char *
ledger_medium_status_name(unsigned v)
{
    return schema_enum_name(medium_status_names, IDL_ARRAY_LEN(medium_status_names), v);
}

const char *
ledger_handover_kind_name(unsigned v)
{
    return schema_enum_name(handover_kind_names, IDL_ARRAY_LEN(handover_kind_names), v);
}

SCHEMA_DEFINE(ledger_ca_schema, struct ledger_ca, "ca",
              SF_BYTES(struct ledger_ca, der, "der", 0, 8192));

SCHEMA_DEFINE(rec_cert_app_schema, struct rec_cert_app, "cert_app",
              SF_ENUM(struct rec_cert_app, status, "status", 0, app_status_names),
              SF_LIST(struct rec_cert_app, approvals, "approvals", SCHEMA_OPTIONAL, 16,
                      &ledger_code_schema),
              SF_ID(struct rec_cert_app, medium, "medium", SCHEMA_OPTIONAL),
              SF_U64(struct rec_cert_app, applied_height, "applied_height"),
              SF_U64(struct rec_cert_app, medium_time_ms, "medium_time_ms"),
              SF_TEXT(struct rec_cert_app, note, "note", SCHEMA_OPTIONAL | SCHEMA_NO_PII),
              SF_U32(struct rec_cert_app, records, "records"));

SCHEMA_DEFINE(rec_medium_schema, struct rec_medium, "medium",
              SF_ENUM(struct rec_medium, status, "status", 0, medium_status_names),
              SF_ID(struct rec_medium, account, "account", SCHEMA_OPTIONAL),
              SF_U64(struct rec_medium, applied_height, "applied_height"),
              SF_ID(struct rec_medium, holder, "holder", 0),
              SF_ID(struct rec_medium, holder_org, "holder_org", 0),
              SF_HASH(struct rec_medium, fingerprint, "fingerprint", SCHEMA_OPTIONAL),
              SF_U64(struct rec_medium, time_ms, "time_ms"));

SCHEMA_DEFINE(rec_handover_schema, struct rec_handover, "handover",
              SF_U32(struct rec_handover, number, "number"),
              SF_U64(struct rec_handover, applied_height, "applied_height"),
              SF_ENUM(struct rec_handover, kind, "kind", 0, handover_kind_names),
              SF_ID(struct rec_handover, medium, "medium", 0),
              SF_ID(struct rec_handover, to, "to", 0),
              SF_ID(struct rec_handover, to_org, "to_org", 0),
              SF_ID(struct rec_handover, by, "by", 0),
              SF_ID(struct rec_handover, by_org, "by_org", 0),
              SF_U64(struct rec_handover, height, "height"),
              SF_U64(struct rec_handover, time_ms, "time_ms"),
              SF_TEXT(struct rec_handover, note, "note", SCHEMA_OPTIONAL | SCHEMA_NO_PII));

SCHEMA_DEFINE(rec_cert_event_schema, struct rec_cert_event, "cert_event",
              SF_U64(struct rec_cert_event, time_ms, "time_ms"),
              SF_U64(struct rec_cert_event, height, "height"),
              SF_ENUM(struct rec_cert_event, status, "status", 0, cert_status_names),
              SF_ID(struct rec_cert_event, actor, "actor", 0),
              SF_TEXT(struct rec_cert_event, reason, "reason", SCHEMA_OPTIONAL | SCHEMA_NO_PII));

SCHEMA_DEFINE(rec_cert_schema, struct rec_cert, "cert",
              SF_HASH(struct rec_cert, fingerprint, "fingerprint", 0),
              SF_ID(struct rec_cert, account, "account", 0),
              SF_ENUM(struct rec_cert, status, "status", 0, cert_status_names),
              SF_TEXT(struct rec_cert, serial, "serial", 0),
              SF_TEXT(struct rec_cert, issuer, "issuer", 0),
              SF_U64(struct rec_cert, not_before, "not_before"),
              SF_U64(struct rec_cert, not_after, "not_after"), SF_U8(struct rec_cert, key, "key"),
              SF_BYTES(struct rec_cert, spki, "spki", 0, 1200),
              SF_BYTES(struct rec_cert, der, "der", 0, LEDGER_CERT_SEALED_MAX),
              SF_ID(struct rec_cert, medium, "medium", SCHEMA_OPTIONAL),
              SF_U64(struct rec_cert, anchored_height, "anchored_height"),
              SF_U32(struct rec_cert, events, "events"));

SCHEMA_DEFINE_STATIC(fingerprint_schema, struct rec_fingerprint, "fingerprint",
                     SF_HASH(struct rec_fingerprint, fp, "fp", 0));

SCHEMA_DEFINE(rec_fingerprints_schema, struct rec_fingerprints, "fingerprints",
              SF_LIST(struct rec_fingerprints, fps, "fps", SCHEMA_OPTIONAL,
                      LEDGER_CERTS_PER_ACCOUNT, &fingerprint_schema));

SCHEMA_DEFINE(rec_counts_schema, struct rec_counts, "counts",
              SF_U64(struct rec_counts, business[1], "business_pending"),
              SF_U64(struct rec_counts, business[2], "business_active"),
              SF_U64(struct rec_counts, business[3], "business_disabled"),
              SF_U64(struct rec_counts, business[4], "business_locked"),
              SF_U64(struct rec_counts, management[1], "management_pending"),
              SF_U64(struct rec_counts, management[2], "management_active"),
              SF_U64(struct rec_counts, management[3], "management_disabled"),
              SF_U64(struct rec_counts, management[4], "management_locked"));

SCHEMA_DEFINE(rec_status_schema, struct rec_status, "status",
              SF_ENUM(struct rec_status, status, "status", 0, status_names),
              SF_U64(struct rec_status, time_ms, "time_ms"));

SCHEMA_DEFINE(ledger_policy_schema, struct ledger_policy, "policy",
              SF_ENUM(struct ledger_policy, same_person_sys_sec, "same_person_sys_sec", 0,
                      same_person_names),
              SF_BOOL(struct ledger_policy, mgmt_business_roles, "mgmt_business_roles"),
              SF_U32(struct ledger_policy, review_interval_days, "review_interval_days"),
              SF_BOOL(struct ledger_policy, cert_issuer_required, "cert_issuer_required"),
              SF_LIST(struct ledger_policy, cert_issuers, "cert_issuers", SCHEMA_OPTIONAL,
                      LEDGER_CERT_ISSUERS_MAX, &ledger_ca_schema));

SCHEMA_DEFINE(rec_org_schema, struct rec_org, "org", SF_ID(struct rec_org, code, "code", 0),
              SF_TEXT(struct rec_org, name, "name", SCHEMA_NO_PII), SF_U8(struct rec_org, kind, "kind"),
              SF_ID(struct rec_org, parent, "parent", SCHEMA_OPTIONAL),
              SF_U8(struct rec_org, school_type, "school_type"),
              SF_BOOL(struct rec_org, delegated, "delegated"),
              SF_U64(struct rec_org, created_height, "created_height"));

SCHEMA_DEFINE(rec_account_schema, struct rec_account, "account",
              SF_ID(struct rec_account, id, "id", 0), SF_ID(struct rec_account, org, "org", 0),
              SF_U8(struct rec_account, class, "class"), SF_U8(struct rec_account, post, "post"),
              SF_ENUM(struct rec_account, status, "status", 0, status_names),
              SF_BOOL(struct rec_account, authorized, "authorized"),
              SF_HASH(struct rec_account, pubkey, "pubkey", SCHEMA_OPTIONAL),
              SF_HASH(struct rec_account, person, "person", SCHEMA_OPTIONAL),
              SF_U64(struct rec_account, created_height, "created_height"),
              SF_U64(struct rec_account, created_time_ms, "created_time_ms"),
              SF_U64(struct rec_account, changed_height, "changed_height"),
              SF_U64(struct rec_account, changed_time_ms, "changed_time_ms"));

SCHEMA_DEFINE(rec_grant_schema, struct rec_grant, "grant",
              SF_ID(struct rec_grant, actor, "actor", 0),
              SF_U64(struct rec_grant, height, "height"),
              SF_U64(struct rec_grant, time_ms, "time_ms"),
              SF_HASH(struct rec_grant, basis, "basis", SCHEMA_OPTIONAL));

SCHEMA_DEFINE(rec_tx_schema, struct rec_tx, "tx", SF_U64(struct rec_tx, height, "height"),
              SF_U32(struct rec_tx, index, "index"),
              SF_ENUM(struct rec_tx, status, "status", 0, tx_status_names),
              SF_U8(struct rec_tx, code, "code"));

SCHEMA_DEFINE(rec_audit_schema, struct rec_audit, "audit",
              SF_HASH(struct rec_audit, txid, "txid", 0), SF_U16(struct rec_audit, type, "type"),
              SF_ID(struct rec_audit, actor, "actor", 0),
              SF_ID(struct rec_audit, actor_org, "actor_org", 0),
              SF_ENUM(struct rec_audit, actor_post, "actor_post", SCHEMA_OPTIONAL, post_names),
              SF_ID(struct rec_audit, target, "target", SCHEMA_OPTIONAL),
              SF_HASH(struct rec_audit, basis, "basis", SCHEMA_OPTIONAL),
              SF_U64(struct rec_audit, height, "height"), SF_U32(struct rec_audit, index, "index"),
              SF_U32(struct rec_audit, record, "record"),
              SF_U64(struct rec_audit, time_ms, "time_ms"),
              SF_ENUM(struct rec_audit, status, "status", 0, tx_status_names),
              SF_U8(struct rec_audit, code, "code"));

SCHEMA_DEFINE(rec_review_schema, struct rec_review, "review",
              SF_ID(struct rec_review, actor, "actor", 0),
              SF_U64(struct rec_review, height, "height"),
              SF_U64(struct rec_review, time_ms, "time_ms"),
              SF_HASH(struct rec_review, basis, "basis", SCHEMA_OPTIONAL),
              SF_TEXT(struct rec_review, note, "note", SCHEMA_NO_PII));

/* ---- keys ---- */

void
state_key_init(struct state_key *k, enum state_space space)
{
    k->b[0] = (uint8_t)space;
    k->len = 1;
}

void
state_key_raw(struct state_key *k, const void *p, size_t n)
{
    IDL_ASSERT(n <= STATE_KEY_MAX - k->len);
    memcpy(k->b + k->len, p, n);
    k->len += n;
}

void
state_key_str(struct state_key *k, const char *s)
{
    state_key_raw(k, s, strlen(s) + 1);
}

void
state_key_u64(struct state_key *k, uint64_t v)
{
    uint8_t b[8];
    codec_be64_put(b, v);
    state_key_raw(k, b, 8);
}

void
state_key_u32(struct state_key *k, uint32_t v)
{
    uint8_t b[4];
    codec_be32_put(b, v);
    state_key_raw(k, b, 4);
}

/* ---- layers ---- */

struct entry {
    uint8_t *key; /* NULL: empty slot */
    size_t key_len;
    uint8_t *val; /* NULL: tombstone */
    size_t val_len;
    uint64_t hash;
};

struct layer {
    struct entry *slots;
    size_t cap; /* power of two, or 0 */
    size_t count;
};

struct state {
    struct store *store;
    struct layer layers[STATE_DEPTH_MAX];
    int depth;
    /* With keep_reads (state_keep_reads), what the store answered so far (value, or
     * tombstone for absent). Below every layer, never written. */
    bool keep_reads;
    struct layer reads;
};

static uint64_t
key_hash(const uint8_t *k, size_t n)
{
    /* FNV-1a: keys are ours, not an attacker's choice of collisions worth defending. */
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ k[i]) * 1099511628211ull;
    return h;
}

static struct entry *
layer_find(struct layer *l, const uint8_t *key, size_t n, uint64_t h)
{
    if (!l->cap)
        return NULL;
    for (size_t i = h & (l->cap - 1);; i = (i + 1) & (l->cap - 1)) {
        struct entry *e = &l->slots[i];
        if (!e->key)
            return e;
        if (e->hash == h && e->key_len == n && memcmp(e->key, key, n) == 0)
            return e;
    }
}

static idl_err
layer_grow(struct layer *l)
{
    size_t cap = l->cap ? l->cap * 2 : 64;
    struct entry *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return IDL_ERR_NOMEM;
    for (size_t i = 0; i < l->cap; i++) {
        struct entry *e = &l->slots[i];
        if (!e->key)
            continue;
        size_t j = e->hash & (cap - 1);
        while (slots[j].key)
            j = (j + 1) & (cap - 1);
        slots[j] = *e;
    }
    free(l->slots);
    l->slots = slots;
    l->cap = cap;
    return IDL_OK;
}

/*
 * Stores (key, val) in l, taking ownership of both buffers (val NULL = tombstone). On
 * failure the buffers are freed.
 */
static idl_err
layer_set(struct layer *l, uint8_t *key, size_t key_len, uint8_t *val, size_t val_len, uint64_t h)
{
    if ((l->count + 1) * 2 > l->cap && layer_grow(l) != IDL_OK) {
        free(key);
        free(val);
        return IDL_ERR_NOMEM;
    }
    struct entry *e = layer_find(l, key, key_len, h);
    if (e->key) {
        free(key);
        free(e->val);
    } else {
        e->key = key;
        e->key_len = key_len;
        e->hash = h;
        l->count++;
    }
    e->val = val;
    e->val_len = val_len;
    return IDL_OK;
}

static void
layer_clear(struct layer *l, bool free_entries)
{
    if (free_entries)
        for (size_t i = 0; i < l->cap; i++) {
            free(l->slots[i].key);
            free(l->slots[i].val);
        }
    free(l->slots);
    memset(l, 0, sizeof(*l));
}

idl_err
state_new(struct state **out, struct store *store)
{
    struct state *st = calloc(1, sizeof(*st));
    *out = st;
    if (!st)
        return IDL_ERR_NOMEM;
    st->store = store;
    return IDL_OK;
}

void
state_keep_reads(struct state *st)
{
    st->keep_reads = true;
}

void
state_free(struct state *st)
{
    if (!st)
        return;
    while (st->depth > 0)
        state_rollback(st);
    layer_clear(&st->reads, true);
    free(st);
}

int
state_depth(const struct state *st)
{
    return st->depth;
}

idl_err
state_begin(struct state *st)
{
    IDL_ASSERT(st->depth < STATE_DEPTH_MAX);
    memset(&st->layers[st->depth], 0, sizeof(struct layer));
    st->depth++;
    return IDL_OK;
}

idl_err
state_commit(struct state *st)
{
    IDL_ASSERT(st->depth >= 2);
    struct layer *top = &st->layers[st->depth - 1], *below = &st->layers[st->depth - 2];
    idl_err rc = IDL_OK;
    for (size_t i = 0; i < top->cap; i++) {
        struct entry *e = &top->slots[i];
        if (!e->key)
            continue;
        /* Ownership moves to `below`; after a failure the rest are freed instead. */
        if (rc == IDL_OK)
            rc = layer_set(below, e->key, e->key_len, e->val, e->val_len, e->hash);
        else {
            free(e->key);
            free(e->val);
        }
    }
    layer_clear(top, false);
    st->depth--;
    return rc;
}

void
state_rollback(struct state *st)
{
    IDL_ASSERT(st->depth >= 1);
    layer_clear(&st->layers[st->depth - 1], true);
    st->depth--;
}

static idl_err
entry_copy(const struct entry *e, struct idl_bytes *v)
{
    v->data = malloc(e->val_len ? e->val_len : 1);
    if (!v->data)
        return IDL_ERR_NOMEM;
    memcpy(v->data, e->val, e->val_len);
    v->len = e->val_len;
    return IDL_OK;
}

/* Keeps the store's answer for k (v NULL: absent). Out of memory only means not kept. */
static void
remember(struct state *st, const struct state_key *k, uint64_t h, const struct idl_bytes *v)
{
    uint8_t *key = malloc(k->len);
    uint8_t *val = v ? malloc(v->len ? v->len : 1) : NULL;
    if (!key || (v && !val)) {
        free(key);
        free(val);
        return;
    }
    memcpy(key, k->b, k->len);
    if (v)
        memcpy(val, v->data, v->len);
    (void)layer_set(&st->reads, key, k->len, val, v ? v->len : 0, h);
}

idl_err
state_get(struct state *st, const struct state_key *k, struct idl_bytes *v)
{
    memset(v, 0, sizeof(*v));
    uint64_t h = key_hash(k->b, k->len);
    for (int d = st->depth - 1; d >= 0; d--) {
        struct entry *e = layer_find(&st->layers[d], k->b, k->len, h);
        if (!e || !e->key)
            continue;
        if (!e->val)
            return IDL_ERR_NOT_FOUND;
        return entry_copy(e, v);
    }
    struct entry *e = layer_find(&st->reads, k->b, k->len, h);
    if (e && e->key)
        return e->val ? entry_copy(e, v) : IDL_ERR_NOT_FOUND;
    idl_err rc = store_get(st->store, k->b, k->len, v);
    if (st->keep_reads && (rc == IDL_OK || rc == IDL_ERR_NOT_FOUND))
        remember(st, k, h, rc == IDL_OK ? v : NULL);
    return rc;
}

idl_err
state_has(struct state *st, const struct state_key *k, bool *found)
{
    struct idl_bytes v;
    idl_err rc = state_get(st, k, &v);
    free(v.data);
    *found = rc == IDL_OK;
    return rc == IDL_ERR_NOT_FOUND ? IDL_OK : rc;
}

static idl_err
state_set(struct state *st, const struct state_key *k, const void *v, size_t n, bool del)
{
    IDL_ASSERT(st->depth >= 1);
    uint8_t *key = malloc(k->len);
    uint8_t *val = del ? NULL : malloc(n ? n : 1);
    if (!key || (!del && !val)) {
        free(key);
        free(val);
        return IDL_ERR_NOMEM;
    }
    memcpy(key, k->b, k->len);
    if (!del && n)
        memcpy(val, v, n);
    return layer_set(&st->layers[st->depth - 1], key, k->len, val, n, key_hash(k->b, k->len));
}

idl_err
state_put(struct state *st, const struct state_key *k, const void *v, size_t n)
{
    return state_set(st, k, v, n, false);
}

idl_err
state_del(struct state *st, const struct state_key *k)
{
    return state_set(st, k, NULL, 0, true);
}

idl_err
state_get_rec(struct state *st, const struct state_key *k, const struct schema *s, void *rec)
{
    memset(rec, 0, s->size);
    struct idl_bytes v;
    idl_err rc = state_get(st, k, &v);
    if (rc)
        return rc;
    rc = schema_decode_bytes(s, rec, v.data, v.len);
    free(v.data);
    /* Our own record failing to decode is corruption, not bad input. */
    return rc == IDL_ERR_MALFORMED ? IDL_ERR_CORRUPT : rc;
}

idl_err
state_put_rec(struct state *st, const struct state_key *k, const struct schema *s, const void *rec)
{
    IDL_ASSERT(schema_check(s, rec, NULL, 0) == IDL_OK);
    struct idl_bytes v;
    idl_err rc = schema_encode_bytes(s, rec, &v);
    if (rc)
        return rc;
    rc = state_put(st, k, v.data, v.len);
    free(v.data);
    return rc;
}

static int
entry_cmp(const void *a, const void *b)
{
    const struct entry *x = *(const struct entry *const *)a, *y = *(const struct entry *const *)b;
    return store_key_cmp(x->key, x->key_len, y->key, y->key_len);
}

idl_err
state_writes_digest(struct state *st, uint8_t out[HASH_BYTES])
{
    IDL_ASSERT(st->depth == 1);
    struct layer *l = &st->layers[0];
    struct entry **sorted = malloc((l->count ? l->count : 1) * sizeof(*sorted));
    if (!sorted)
        return IDL_ERR_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < l->cap; i++)
        if (l->slots[i].key && l->slots[i].key[0] != SP_REASON)
            sorted[n++] = &l->slots[i];
    qsort(sorted, n, sizeof(*sorted), entry_cmp);
    struct hash_ctx ctx;
    hash_tagged_init(&ctx, "idledger/state-writes");
    for (size_t i = 0; i < n; i++) {
        uint8_t hdr[9];
        codec_be32_put(hdr, (uint32_t)sorted[i]->key_len);
        hdr[4] = sorted[i]->val ? 1 : 0;
        codec_be32_put(hdr + 5, (uint32_t)sorted[i]->val_len);
        hash_update(&ctx, hdr, sizeof(hdr));
        hash_update(&ctx, sorted[i]->key, sorted[i]->key_len);
        if (sorted[i]->val)
            hash_update(&ctx, sorted[i]->val, sorted[i]->val_len);
    }
    hash_final(&ctx, out);
    free(sorted);
    return IDL_OK;
}

void
state_hash_next(uint8_t out[HASH_BYTES], const uint8_t prev[HASH_BYTES], uint64_t height,
                const uint8_t digest[HASH_BYTES])
{
    uint8_t buf[HASH_BYTES + 8 + HASH_BYTES];
    memcpy(buf, prev, HASH_BYTES);
    codec_be64_put(buf + HASH_BYTES, height);
    memcpy(buf + HASH_BYTES + 8, digest, HASH_BYTES);
    hash_tagged(out, "idledger/state", buf, sizeof(buf));
}

idl_err
state_take_batch(struct state *st, struct store_batch *b)
{
    IDL_ASSERT(st->depth == 1);
    struct layer *l = &st->layers[0];
    idl_err rc = IDL_OK;
    /* The entries' buffers move into the batch (no copy); the emptied slots are freed with
     * the layer just after, and nothing looks a key up in between. */
    for (size_t i = 0; i < l->cap && rc == IDL_OK; i++) {
        struct entry *e = &l->slots[i];
        if (!e->key)
            continue;
        rc = store_batch_take(b, e->key, e->key_len, e->val, e->val_len);
        if (rc == IDL_OK)
            e->key = e->val = NULL;
    }
    state_rollback(st);
    return rc;
}

/* ---- audit entries and counters ---- */

static void
audit_key(struct state_key *k, enum state_space sp, const char *who, const struct rec_audit *e)
{
    state_key_init(k, sp);
    state_key_str(k, who);
    state_key_u64(k, e->height);
    state_key_u32(k, e->index);
    state_key_u32(k, e->record);
}

/* The entry is kept once, by organisation; the key by actor holds only that organisation,
 * the rest of the entry's key being its own (query_audit_by_actor follows it). */
idl_err
state_audit_put(struct state *st, const char *actor_org, const struct rec_audit *e)
{
    struct state_key k;
    audit_key(&k, SP_AUDIT_ORG, actor_org, e);
    idl_err rc = state_put_rec(st, &k, &rec_audit_schema, e);
    audit_key(&k, SP_AUDIT_ACTOR, e->actor, e);
    if (!rc)
        rc = state_put(st, &k, actor_org, strlen(actor_org));
    return rc;
}

_Static_assert(STATUS__COUNT == 5, "rec_counts_schema lists every status");

idl_err
state_count_move(struct state *st, const char *org, unsigned class, unsigned from, unsigned to)
{
    if (from == to || (class != CLASS_BUSINESS && class != CLASS_MANAGEMENT))
        return IDL_OK;
    struct state_key k;
    state_key_init(&k, SP_COUNTS);
    state_key_str(&k, org);
    struct rec_counts c;
    idl_err rc = state_get_rec(st, &k, &rec_counts_schema, &c);
    if (rc == IDL_ERR_NOT_FOUND)
        rc = IDL_OK;
    if (rc)
        return rc;
    uint64_t *v = class == CLASS_BUSINESS ? c.business : c.management;
    if (from != STATUS_NONE) {
        IDL_ASSERT(v[from] > 0);
        v[from]--;
    }
    if (to != STATUS_NONE)
        v[to]++;
    return state_put_rec(st, &k, &rec_counts_schema, &c);
}

/* ---- common records ---- */

/* Lookups by an id or code from outside (a request's body) may be of any length. */
idl_err
state_org_get(struct state *st, const char *code, struct rec_org *org)
{
    if (strlen(code) > LEDGER_CODE_MAX)
        return IDL_ERR_NOT_FOUND;
    struct state_key k;
    state_key_init(&k, SP_ORG);
    state_key_str(&k, code);
    return state_get_rec(st, &k, &rec_org_schema, org);
}

idl_err
state_account_get(struct state *st, const char *id, struct rec_account *acct)
{
    if (strlen(id) > LEDGER_ID_MAX)
        return IDL_ERR_NOT_FOUND;
    struct state_key k;
    state_key_init(&k, SP_ACCOUNT);
    state_key_str(&k, id);
    return state_get_rec(st, &k, &rec_account_schema, acct);
}

idl_err
state_policy_get(struct state *st, struct ledger_policy *p)
{
    struct state_key k;
    state_key_init(&k, SP_POLICY);
    return state_get_rec(st, &k, &ledger_policy_schema, p);
}

idl_err
state_nonce_get(struct state *st, const char *id, uint64_t *nonce)
{
    struct state_key k;
    state_key_init(&k, SP_NONCE);
    state_key_str(&k, id);
    struct idl_bytes v;
    *nonce = 0;
    idl_err rc = state_get(st, &k, &v);
    if (rc == IDL_ERR_NOT_FOUND)
        return IDL_OK;
    if (rc)
        return rc;
    if (v.len != 8)
        rc = IDL_ERR_CORRUPT;
    else
        *nonce = codec_be64_get(v.data);
    free(v.data);
    return rc;
}

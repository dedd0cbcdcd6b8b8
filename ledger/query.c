/*
 * Query helpers. query_verify checks the conditions in the order a business system's
 * operator would want them explained: who the account is, whether it may act at all, where
 * it belongs, what it asks for, and whether it holds it.
 */
#include "query.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

idl_err
query_org_within(struct state *st, const char *org, const char *scope, bool *within)
{
    char code[LEDGER_CODE_MAX + 1];
    snprintf(code, sizeof(code), "%s", org);
    *within = false;
    /* org.add keeps the tree within LEDGER_ORG_DEPTH_MAX levels. */
    for (int depth = 0; depth < LEDGER_ORG_DEPTH_MAX && code[0]; depth++) {
        if (strcmp(code, scope) == 0) {
            *within = true;
            return IDL_OK;
        }
        struct rec_org o;
        idl_err rc = state_org_get(st, code, &o);
        if (rc)
            return rc == IDL_ERR_NOT_FOUND ? IDL_OK : rc;
        snprintf(code, sizeof(code), "%s", o.parent);
    }
    return IDL_OK;
}

__attribute__((format(printf, 2, 3))) static void
verdict(struct query_verdict *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
    va_end(ap);
}

idl_err
query_cert_valid(struct state *st, const char *account, uint64_t now_s, bool *valid, char *why,
                 size_t why_len)
{
    *valid = false;
    snprintf(why, why_len, "%s holds no education CA certificate", account);
    struct state_key k;
    state_key_init(&k, SP_CERTS_OF);
    state_key_str(&k, account);
    struct rec_fingerprints list;
    idl_err rc = state_get_rec(st, &k, &rec_fingerprints_schema, &list);
    if (rc == IDL_ERR_NOT_FOUND)
        return IDL_OK;
    const struct rec_fingerprint *fps = list.fps.items;
    for (uint32_t i = 0; !rc && !*valid && i < list.fps.count; i++) {
        struct rec_cert c;
        state_key_init(&k, SP_CERT);
        state_key_raw(&k, fps[i].fp, HASH_BYTES);
        if ((rc = state_get_rec(st, &k, &rec_cert_schema, &c)) != IDL_OK)
            break;
        char fp[17];
        codec_hex_encode(fp, c.fingerprint, 8);
        if (c.status != CERT_ACTIVE)
            snprintf(why, why_len, "the certificate %s... of %s is %s", fp, account,
                     ledger_cert_status_name(c.status));
        else if (now_s >= c.not_after)
            snprintf(why, why_len, "the certificate %s... of %s has expired", fp, account);
        else if (now_s < c.not_before)
            snprintf(why, why_len, "the certificate %s... of %s is not valid yet", fp, account);
        else
            *valid = true;
        schema_free(&rec_cert_schema, &c);
    }
    schema_free(&rec_fingerprints_schema, &list);
    return rc;
}

idl_err
query_verify(struct state *st, const char *account, const char *system, const char *role,
             const char *org_scope, uint64_t now_s, struct query_verdict *out)
{
    memset(out, 0, sizeof(*out));
    struct rec_account a;
    idl_err rc = state_account_get(st, account, &a);
    if (rc == IDL_ERR_NOT_FOUND) {
        verdict(out, "account %s does not exist", account);
        return IDL_OK;
    }
    if (rc)
        return rc;
    snprintf(out->org, sizeof(out->org), "%s", a.org);
    if (a.status != STATUS_ACTIVE) {
        verdict(out, "account %s is %s", account, ledger_status_name(a.status));
        return IDL_OK;
    }
    if (org_scope && org_scope[0]) {
        bool within;
        if ((rc = query_org_within(st, a.org, org_scope, &within)) != IDL_OK)
            return rc;
        if (!within) {
            verdict(out, "account %s belongs to %s, outside %s", account, a.org, org_scope);
            return IDL_OK;
        }
    }
    struct tx_system_add sys;
    struct state_key k;
    state_key_init(&k, SP_SYSTEM);
    state_key_str(&k, system);
    rc = state_get_rec(st, &k, ledger_tx_body_schema(TX_SYSTEM_ADD), &sys);
    if (rc == IDL_ERR_NOT_FOUND) {
        verdict(out, "business system %s does not exist", system);
        return IDL_OK;
    }
    if (rc)
        return rc;
    bool known = false, cert_required = false;
    const struct ledger_code *roles = sys.roles.items, *cr = sys.cert_required.items;
    for (uint32_t i = 0; i < sys.roles.count; i++)
        known |= strcmp(roles[i].code, role) == 0;
    for (uint32_t i = 0; i < sys.cert_required.count; i++)
        cert_required |= strcmp(cr[i].code, role) == 0;
    schema_free(ledger_tx_body_schema(TX_SYSTEM_ADD), &sys);
    if (!known) {
        verdict(out, "business system %s has no role %s", system, role);
        return IDL_OK;
    }
    state_key_init(&k, SP_GRANT);
    state_key_str(&k, account);
    state_key_str(&k, system);
    state_key_str(&k, role);
    bool held;
    if ((rc = state_has(st, &k, &held)) != IDL_OK)
        return rc;
    if (!held) {
        verdict(out, "account %s does not hold %s/%s", account, system, role);
        return IDL_OK;
    }
    if (cert_required) {
        bool valid;
        rc = query_cert_valid(st, account, now_s, &valid, out->reason, sizeof(out->reason));
        if (rc || !valid)
            return rc;
    }
    out->allowed = true;
    verdict(out, "ok");
    return IDL_OK;
}

idl_err
query_scan(struct store *s, const struct state_key *prefix, const struct state_key *from,
           size_t limit, query_fn fn, void *arg)
{
    struct store_iter *it = store_iter_new(s);
    if (!it)
        return IDL_ERR_NOMEM;
    const struct state_key *start = from ? from : prefix;
    size_t seen = 0, kl, vl;
    for (store_iter_seek(s, it, start->b, start->len); store_iter_valid(s, it);
         store_iter_next(s, it)) {
        const uint8_t *k = store_iter_key(s, it, &kl);
        if (kl < prefix->len || memcmp(k, prefix->b, prefix->len) != 0)
            break;
        const uint8_t *v = store_iter_value(s, it, &vl);
        if (fn(arg, k, kl, v, vl) != 0)
            break;
        if (limit && ++seen >= limit)
            break;
    }
    idl_err rc = store_iter_status(s, it);
    store_iter_free(s, it);
    return rc;
}

struct by_actor {
    struct store *s;
    query_fn fn;
    void *arg;
    idl_err rc;
};

/* Height, index and record: the last 16 bytes of both audit keys. */
enum { AUDIT_TAIL = 8 + 4 + 4 };

static int
follow_actor(void *arg, const uint8_t *key, size_t kl, const uint8_t *val, size_t vl)
{
    struct by_actor *b = arg;
    struct state_key k;
    state_key_init(&k, SP_AUDIT_ORG);
    if (kl < 1 + AUDIT_TAIL || vl == 0 || vl > LEDGER_CODE_MAX || memchr(val, 0, vl)) {
        b->rc = IDL_ERR_CORRUPT;
        return 1;
    }
    state_key_raw(&k, val, vl);
    state_key_raw(&k, "", 1);
    state_key_raw(&k, key + kl - AUDIT_TAIL, AUDIT_TAIL);
    struct idl_bytes rec;
    idl_err rc = store_get(b->s, k.b, k.len, &rec);
    if (rc) {
        b->rc = rc == IDL_ERR_NOT_FOUND ? IDL_ERR_CORRUPT : rc;
        return 1;
    }
    int stop = b->fn(b->arg, k.b, k.len, rec.data, rec.len);
    free(rec.data);
    return stop;
}

idl_err
query_audit_by_actor(struct store *s, const char *actor, uint64_t height, uint32_t index,
                     uint32_t record, query_fn fn, void *arg)
{
    struct state_key prefix, from;
    state_key_init(&prefix, SP_AUDIT_ACTOR);
    state_key_str(&prefix, actor);
    from = prefix;
    state_key_u64(&from, height);
    state_key_u32(&from, index);
    state_key_u32(&from, record);
    struct by_actor b = {s, fn, arg, IDL_OK};
    idl_err rc = query_scan(s, &prefix, &from, 0, follow_actor, &b);
    return rc ? rc : b.rc;
}

size_t
query_key_part(const uint8_t *key, size_t key_len, size_t offset, char *out, size_t out_len)
{
    size_t n = 0;
    while (offset + n < key_len && key[offset + n] != 0)
        n++;
    size_t copy = n < out_len ? n : out_len - 1;
    memcpy(out, key + offset, copy);
    out[copy] = '\0';
    return offset + n + 1; /* the offset after the separator */
}

idl_err
query_status_at(struct store *s, const char *account, uint64_t time_ms, unsigned *status)
{
    *status = STATUS_NONE;
    struct state_key prefix;
    state_key_init(&prefix, SP_STATUS_LOG);
    state_key_str(&prefix, account);
    struct store_iter *it = store_iter_new(s);
    if (!it)
        return IDL_ERR_NOMEM;
    size_t kl, vl;
    idl_err rc = IDL_OK;
    /* The history is in height order, which is time order: the last change at or before
     * time_ms gives the status then. A record that does not decode is damage, not a gap to
     * skip: the answer would silently be the status before it. */
    for (store_iter_seek(s, it, prefix.b, prefix.len); store_iter_valid(s, it);
         store_iter_next(s, it)) {
        const uint8_t *k = store_iter_key(s, it, &kl);
        if (kl < prefix.len || memcmp(k, prefix.b, prefix.len) != 0)
            break;
        const uint8_t *v = store_iter_value(s, it, &vl);
        struct rec_status st;
        if (schema_decode_bytes(&rec_status_schema, &st, v, vl) != IDL_OK) {
            rc = IDL_ERR_CORRUPT;
            break;
        }
        if (st.time_ms > time_ms)
            break;
        *status = st.status;
    }
    if (!rc)
        rc = store_iter_status(s, it);
    store_iter_free(s, it);
    if (rc)
        *status = STATUS_NONE;
    return rc;
}

idl_err
query_cert_status_at(struct store *s, const uint8_t fp[HASH_BYTES], uint64_t time_ms,
                     unsigned *status)
{
    *status = CERT_NONE;
    struct state_key prefix;
    state_key_init(&prefix, SP_CERT_EVENT);
    state_key_raw(&prefix, fp, HASH_BYTES);
    struct store_iter *it = store_iter_new(s);
    if (!it)
        return IDL_ERR_NOMEM;
    size_t kl, vl;
    /* Events are numbered in the order they happened: the last one at or before time_ms
     * gives the status then. */
    for (store_iter_seek(s, it, prefix.b, prefix.len); store_iter_valid(s, it);
         store_iter_next(s, it)) {
        const uint8_t *k = store_iter_key(s, it, &kl);
        if (kl < prefix.len || memcmp(k, prefix.b, prefix.len) != 0)
            break;
        const uint8_t *v = store_iter_value(s, it, &vl);
        struct rec_cert_event e;
        if (schema_decode_bytes(&rec_cert_event_schema, &e, v, vl) != IDL_OK)
            continue;
        if (e.time_ms > time_ms)
            break;
        *status = e.status;
    }
    store_iter_free(s, it);
    return IDL_OK;
}

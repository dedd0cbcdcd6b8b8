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
    /* The tree is at most a handful of levels deep; the bound guards against a cycle. */
    for (int depth = 0; depth < 16 && code[0]; depth++) {
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
query_verify(struct state *st, const char *account, const char *system, const char *role,
             const char *org_scope, struct query_verdict *out)
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
    bool known = false;
    const struct ledger_code *roles = sys.roles.items;
    for (uint32_t i = 0; i < sys.roles.count; i++)
        known |= strcmp(roles[i].code, role) == 0;
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
    store_iter_free(s, it);
    return IDL_OK;
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

/*
 * Education CA certificates as ledger state (DOMAIN.md §4).
 *
 * The lifecycle: the unit's sysadmin applies for a certificate for an account
 * (cert.apply); each level above approves in turn, from the unit's parent up to the
 * province, whose approval completes it (cert.approve, by each level's secadmin); a USB key
 * medium is recorded as handed to the holder (cert.medium); the certificate is anchored
 * (cert.anchor); it may then be frozen, unfrozen, and revoked, which is final. Disabling the
 * account freezes its certificates.
 *
 * Anchoring opens the sealed DER with the chain's keys (every node holds them), parses it,
 * checks that it is the certificate the signer named (fingerprint), that it is within its
 * validity at the block's time, that it is new, and, if the chain requires it, that a CA
 * listed in genesis issued it. Only the public facts go into the record in the clear.
 */
#include <stdio.h>
#include <string.h>

#include "cert.h"
#include "person.h"
#include "rules_internal.h"

static void
fp_key(struct state_key *k, const uint8_t fp[HASH_BYTES])
{
    state_key_init(k, SP_CERT);
    state_key_raw(k, fp, HASH_BYTES);
}

static uint64_t
now_s(const struct rules *r)
{
    return r->ctx->time_ms / 1000;
}

static idl_err
app_get(struct rules *r, const char *account, struct rec_cert_app *app, bool *found)
{
    struct state_key k;
    rules_key1(&k, SP_CERT_APP, account);
    idl_err rc = state_get_rec(r->st, &k, &rec_cert_app_schema, app);
    *found = rc == IDL_OK;
    return rc == IDL_ERR_NOT_FOUND ? IDL_OK : rc;
}

static idl_err
app_put(struct rules *r, const char *account, const struct rec_cert_app *app)
{
    struct state_key k;
    rules_key1(&k, SP_CERT_APP, account);
    return state_put_rec(r->st, &k, &rec_cert_app_schema, app);
}

/* The account to act on: managed by the actor (a sysadmin), and not disabled. */
static idl_err
need_live_account(struct rules *r, const char *id, const char *what, struct rec_account *a)
{
    idl_err rc = rules_need_managed_account(r, id, what, a);
    if (!rc && a->status == STATUS_DISABLED)
        return rules_refuse(r, IDL_ERR_STATE, "%s is disabled", id);
    return rc;
}

idl_err
rules_cert_apply(struct rules *r)
{
    const struct tx_cert_app *b = &r->tx->body.cert_app;
    struct rec_account a;
    struct rec_cert_app app;
    bool found;
    idl_err rc = need_live_account(r, b->account, "apply for certificates of its accounts", &a);
    if (!rc)
        rc = app_get(r, b->account, &app, &found);
    if (rc)
        return rc;
    if (found) {
        bool open = app.status == APP_APPLIED || app.status == APP_APPROVED;
        schema_free(&rec_cert_app_schema, &app);
        if (open)
            return rules_refuse(r, IDL_ERR_EXISTS, "%s already has an application in progress",
                                b->account);
    }
    struct rec_cert_app fresh = {.status = APP_APPLIED, .applied_height = r->ctx->height};
    snprintf(fresh.note, sizeof(fresh.note), "%s", b->note);
    return app_put(r, b->account, &fresh);
}

/* The organisations that approve, in order: the account's org's parent up to the root. */
static idl_err
approvers(struct rules *r, const char *org, char out[][LEDGER_CODE_MAX + 1], size_t *n)
{
    struct rec_org o;
    idl_err rc = rules_need_org(r, org, &o);
    *n = 0;
    if (rc)
        return rc;
    if (!o.parent[0]) { /* the root's own accounts: the root approves */
        snprintf(out[(*n)++], LEDGER_CODE_MAX + 1, "%s", o.code);
        return IDL_OK;
    }
    while (o.parent[0] && *n < 16) {
        snprintf(out[(*n)++], LEDGER_CODE_MAX + 1, "%s", o.parent);
        if ((rc = rules_need_org(r, o.parent, &o)) != IDL_OK)
            return rc;
    }
    return IDL_OK;
}

idl_err
rules_cert_approve(struct rules *r)
{
    const struct tx_cert_app *b = &r->tx->body.cert_app;
    struct rec_account a;
    struct rec_cert_app app;
    bool found;
    idl_err rc = rules_need_account(r, b->account, &a);
    if (!rc)
        rc = app_get(r, b->account, &app, &found);
    if (rc)
        return rc;
    if (!found || app.status != APP_APPLIED) {
        if (found)
            schema_free(&rec_cert_app_schema, &app);
        return rules_refuse(r, IDL_ERR_STATE, "%s has no application waiting for approval",
                            b->account);
    }
    char chain[16][LEDGER_CODE_MAX + 1];
    size_t n;
    rc = approvers(r, a.org, chain, &n);
    const char *next = !rc && app.approvals.count < n ? chain[app.approvals.count] : NULL;
    if (!rc && !next)
        rc = rules_refuse(r, IDL_ERR_STATE, "the application of %s is fully approved", a.id);
    if (!rc)
        rc = rules_need_admin(r, POST_SECADMIN, next,
                              "approve certificate applications at this level");
    if (rc) {
        schema_free(&rec_cert_app_schema, &app);
        return rc;
    }
    /* Level by level (逐级审核): record this level; the root's approval completes it. */
    struct ledger_code *codes = realloc(app.approvals.items,
                                        (app.approvals.count + 1) * sizeof(*codes));
    if (!codes) {
        schema_free(&rec_cert_app_schema, &app);
        return IDL_ERR_NOMEM;
    }
    snprintf(codes[app.approvals.count].code, LEDGER_CODE_MAX + 1, "%s", next);
    app.approvals.items = codes;
    app.approvals.count++;
    if (!strcmp(next, r->ctx->root))
        app.status = APP_APPROVED;
    rc = app_put(r, b->account, &app);
    schema_free(&rec_cert_app_schema, &app);
    return rc;
}

idl_err
rules_cert_medium(struct rules *r)
{
    const struct tx_cert_medium *b = &r->tx->body.cert_medium;
    struct rec_account a;
    struct rec_cert_app app;
    bool found;
    idl_err rc = need_live_account(r, b->account, "record media for its accounts", &a);
    if (!rc)
        rc = app_get(r, b->account, &app, &found);
    if (rc)
        return rc;
    if (!found || app.status != APP_APPROVED) {
        if (found)
            schema_free(&rec_cert_app_schema, &app);
        return rules_refuse(r, IDL_ERR_STATE,
                            "%s has no approved application: a medium goes to approved holders",
                            b->account);
    }
    struct state_key k;
    rules_key1(&k, SP_MEDIUM, b->medium);
    struct idl_bytes holder;
    rc = state_get(r->st, &k, &holder);
    if (rc == IDL_OK) {
        bool mine = holder.len == strlen(a.id) && !memcmp(holder.data, a.id, holder.len);
        free(holder.data);
        if (!mine) {
            schema_free(&rec_cert_app_schema, &app);
            return rules_refuse(r, IDL_ERR_EXISTS, "medium %s was handed to another account",
                                b->medium);
        }
    } else if (rc != IDL_ERR_NOT_FOUND) {
        schema_free(&rec_cert_app_schema, &app);
        return rc;
    }
    snprintf(app.medium, sizeof(app.medium), "%s", b->medium);
    app.medium_time_ms = r->ctx->time_ms;
    rc = app_put(r, b->account, &app);
    schema_free(&rec_cert_app_schema, &app);
    if (!rc)
        rc = state_put(r->st, &k, a.id, strlen(a.id));
    return rc;
}

/* Opens and parses the sealed certificate of an anchoring. */
static idl_err
open_cert(struct rules *r, const struct rec_account *a, const struct tx_cert_anchor *b,
          struct cert_info *ci)
{
    memset(ci, 0, sizeof(*ci)); /* freed on every refusal below, parsed or not */
    if (!r->ctx->pkeys)
        return rules_refuse(r, IDL_ERR_UNAVAILABLE, "this node holds no chain secret");
    uint8_t *der = malloc(b->der.len);
    if (!der)
        return IDL_ERR_NOMEM;
    char why[200];
    idl_err rc = person_open(r->ctx->pkeys, a->person, PF_CERTIFICATE, b->der.data, b->der.len,
                             (char *)der, b->der.len);
    size_t len = rc ? 0 : b->der.len - LEDGER_SEAL_OVERHEAD;
    if (rc)
        rc = rules_refuse(r, IDL_ERR_INVALID, "the certificate was not sealed for %s", a->id);
    else if (cert_parse(ci, der, len, why, sizeof(why)) != IDL_OK)
        rc = rules_refuse(r, IDL_ERR_INVALID, "certificate: %s", why);
    else if (memcmp(ci->fingerprint, b->fingerprint, HASH_BYTES) != 0)
        rc = rules_refuse(r, IDL_ERR_INVALID, "the certificate is not the one fingerprinted");
    else if (ci->is_ca)
        rc = rules_refuse(r, IDL_ERR_INVALID,
                          "a CA certificate is not a personal certificate: it cannot be anchored");
    if (!rc && r->ctx->policy->cert_issuer_required) {
        const struct ledger_ca *ca = r->ctx->policy->cert_issuers.items;
        bool issued = false;
        for (uint32_t i = 0; !issued && i < r->ctx->policy->cert_issuers.count; i++)
            issued = cert_signed_by(der, len, ca[i].der.data, ca[i].der.len);
        if (!issued)
            rc = rules_refuse(r, IDL_ERR_POLICY,
                              "policy: the certificate is not issued by a CA of this chain");
    }
    free(der);
    if (rc)
        cert_info_free(ci);
    return rc;
}

static idl_err
certs_of(struct rules *r, const char *account, struct rec_fingerprints *out)
{
    struct state_key k;
    rules_key1(&k, SP_CERTS_OF, account);
    idl_err rc = state_get_rec(r->st, &k, &rec_fingerprints_schema, out);
    return rc == IDL_ERR_NOT_FOUND ? IDL_OK : rc;
}

static idl_err
certs_add(struct rules *r, const char *account, const uint8_t fp[HASH_BYTES])
{
    struct rec_fingerprints list;
    idl_err rc = certs_of(r, account, &list);
    if (rc)
        return rc;
    if (list.fps.count == LEDGER_CERTS_PER_ACCOUNT) {
        schema_free(&rec_fingerprints_schema, &list);
        return rules_refuse(r, IDL_ERR_POLICY, "%s has %d certificates already", account,
                            LEDGER_CERTS_PER_ACCOUNT);
    }
    struct rec_fingerprint *fps = realloc(list.fps.items, (list.fps.count + 1) * sizeof(*fps));
    if (!fps) {
        schema_free(&rec_fingerprints_schema, &list);
        return IDL_ERR_NOMEM;
    }
    memcpy(fps[list.fps.count].fp, fp, HASH_BYTES);
    list.fps.items = fps;
    list.fps.count++;
    struct state_key k;
    rules_key1(&k, SP_CERTS_OF, account);
    rc = state_put_rec(r->st, &k, &rec_fingerprints_schema, &list);
    schema_free(&rec_fingerprints_schema, &list);
    return rc;
}

/* Appends a status change to a certificate's history (the oldest drops out when full). */
static idl_err
cert_set_status(struct rules *r, struct rec_cert *c, unsigned status)
{
    uint32_t n = c->history.count;
    struct rec_cert_event *h = c->history.items;
    if (n == LEDGER_CERT_HISTORY_MAX) {
        memmove(h, h + 1, (n - 1) * sizeof(*h));
        n--;
    } else {
        h = realloc(h, (n + 1) * sizeof(*h));
        if (!h)
            return IDL_ERR_NOMEM;
    }
    h[n] = (struct rec_cert_event){r->ctx->time_ms, (uint8_t)status};
    c->history.items = h;
    c->history.count = n + 1;
    c->status = (uint8_t)status;
    struct state_key k;
    fp_key(&k, c->fingerprint);
    return state_put_rec(r->st, &k, &rec_cert_schema, c);
}

idl_err
rules_cert_anchor(struct rules *r)
{
    const struct tx_cert_anchor *b = &r->tx->body.cert_anchor;
    struct rec_account a;
    struct rec_cert_app app;
    bool found;
    idl_err rc = need_live_account(r, b->account, "anchor certificates of its accounts", &a);
    if (!rc)
        rc = app_get(r, b->account, &app, &found);
    if (rc)
        return rc;
    if (!found || app.status != APP_APPROVED) {
        if (found)
            schema_free(&rec_cert_app_schema, &app);
        return rules_refuse(r, IDL_ERR_STATE,
                            "%s has no approved certificate application", b->account);
    }
    if (app.medium[0] && b->medium[0] && strcmp(app.medium, b->medium) != 0) {
        /* The reason is formatted before the record is freed (which clears it). */
        rc = rules_refuse(r, IDL_ERR_INVALID, "%s was handed medium %s, not %s", b->account,
                          app.medium, b->medium);
        schema_free(&rec_cert_app_schema, &app);
        return rc;
    }
    struct cert_info ci = {0};
    struct state_key k;
    bool exists = false;
    fp_key(&k, b->fingerprint);
    rc = state_has(r->st, &k, &exists);
    if (!rc && exists)
        rc = rules_refuse(r, IDL_ERR_EXISTS, "this certificate is already anchored");
    if (!rc)
        rc = open_cert(r, &a, b, &ci);
    if (rc) {
        schema_free(&rec_cert_app_schema, &app);
        return rc;
    }
    if (ci.not_after <= now_s(r))
        rc = rules_refuse(r, IDL_ERR_POLICY, "the certificate has expired");
    else if (ci.not_before > now_s(r) + 86400)
        rc = rules_refuse(r, IDL_ERR_POLICY, "the certificate is not valid yet");
    struct rec_cert c = {0};
    struct rec_cert_event first = {r->ctx->time_ms, CERT_ACTIVE};
    if (!rc) {
        memcpy(c.fingerprint, ci.fingerprint, HASH_BYTES);
        snprintf(c.account, sizeof(c.account), "%s", a.id);
        c.status = CERT_ACTIVE;
        snprintf(c.serial, sizeof(c.serial), "%s", ci.serial);
        snprintf(c.issuer, sizeof(c.issuer), "%s", ci.issuer);
        c.not_before = ci.not_before;
        c.not_after = ci.not_after;
        c.key = ci.key;
        c.spki = ci.spki;
        c.der = b->der;
        snprintf(c.medium, sizeof(c.medium), "%s", b->medium[0] ? b->medium : app.medium);
        c.anchored_height = r->ctx->height;
        c.history.items = &first;
        c.history.count = 1;
        rc = state_put_rec(r->st, &k, &rec_cert_schema, &c);
    }
    if (!rc)
        rc = certs_add(r, a.id, ci.fingerprint);
    if (!rc) {
        app.status = APP_ANCHORED;
        rc = app_put(r, a.id, &app);
    }
    cert_info_free(&ci);
    schema_free(&rec_cert_app_schema, &app);
    return rc;
}

idl_err
rules_cert_status(struct rules *r)
{
    const struct tx_cert_op *b = &r->tx->body.cert_op;
    struct rec_cert c;
    struct state_key k;
    fp_key(&k, b->fingerprint);
    idl_err rc = state_get_rec(r->st, &k, &rec_cert_schema, &c);
    if (rc == IDL_ERR_NOT_FOUND)
        return rules_refuse(r, rc, "no certificate with this fingerprint is anchored");
    if (rc)
        return rc;
    struct rec_account a;
    rc = rules_need_managed_account(r, c.account, "freeze, unfreeze or revoke its certificates",
                                    &a);
    unsigned type = r->tx->type, want = 0;
    if (!rc && c.status == CERT_REVOKED)
        rc = rules_refuse(r, IDL_ERR_STATE, "the certificate is revoked: revocation is final");
    else if (!rc && type == TX_CERT_FREEZE && c.status != CERT_ACTIVE)
        rc = rules_refuse(r, IDL_ERR_STATE, "the certificate is %s, not active",
                          ledger_cert_status_name(c.status));
    else if (!rc && type == TX_CERT_UNFREEZE && c.status != CERT_FROZEN)
        rc = rules_refuse(r, IDL_ERR_STATE, "the certificate is %s, not frozen",
                          ledger_cert_status_name(c.status));
    else if (!rc && type == TX_CERT_UNFREEZE && a.status == STATUS_DISABLED)
        rc = rules_refuse(r, IDL_ERR_STATE, "%s is disabled: restore it first", a.id);
    if (!rc) {
        want = type == TX_CERT_FREEZE ? CERT_FROZEN : type == TX_CERT_UNFREEZE ? CERT_ACTIVE
                                                                                : CERT_REVOKED;
        rc = cert_set_status(r, &c, want);
    }
    schema_free(&rec_cert_schema, &c);
    return rc;
}

idl_err
rules_certs_freeze_all(struct rules *r, const char *account)
{
    struct rec_fingerprints list;
    idl_err rc = certs_of(r, account, &list);
    const struct rec_fingerprint *fps = list.fps.items;
    for (uint32_t i = 0; !rc && i < list.fps.count; i++) {
        struct rec_cert c;
        struct state_key k;
        fp_key(&k, fps[i].fp);
        rc = state_get_rec(r->st, &k, &rec_cert_schema, &c);
        if (!rc && c.status == CERT_ACTIVE)
            rc = cert_set_status(r, &c, CERT_FROZEN);
        if (!rc)
            schema_free(&rec_cert_schema, &c);
    }
    schema_free(&rec_fingerprints_schema, &list);
    return rc;
}

idl_err
rules_has_valid_cert(struct rules *r, const char *account, bool *valid)
{
    struct rec_fingerprints list;
    *valid = false;
    idl_err rc = certs_of(r, account, &list);
    const struct rec_fingerprint *fps = list.fps.items;
    for (uint32_t i = 0; !rc && !*valid && i < list.fps.count; i++) {
        struct rec_cert c;
        struct state_key k;
        fp_key(&k, fps[i].fp);
        rc = state_get_rec(r->st, &k, &rec_cert_schema, &c);
        if (!rc) {
            *valid = c.status == CERT_ACTIVE && c.not_before <= now_s(r) &&
                     now_s(r) < c.not_after;
            schema_free(&rec_cert_schema, &c);
        }
    }
    schema_free(&rec_fingerprints_schema, &list);
    return rc;
}

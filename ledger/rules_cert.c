/*
 * Education CA certificates as ledger state (DOMAIN.md §4).
 *
 * The lifecycle: the unit's sysadmin applies for a certificate for an account
 * (cert.apply); each level above approves in turn, from the unit's parent up to the
 * province, whose approval completes it (cert.approve, by each level's secadmin); a USB key
 * medium goes down the levels to the holder, each handover recorded (cert.medium: the
 * distribution record, 电子证书派发记录单); the certificate is anchored (cert.anchor) on the
 * medium the holder received, and only then (an anchoring that names a medium new to the
 * ledger records its handover to the holder first); it may be frozen, unfrozen, and revoked,
 * which is final. Disabling the account freezes its certificates. A medium comes back
 * (cert.medium-return) unused or with its certificate revoked, and may then go to another
 * applicant.
 *
 * Anchoring opens the sealed DER with the chain's keys (every node holds them), parses it,
 * checks that it is the certificate the signer named (fingerprint), that it is within its
 * validity at the block's time, that it is new, and, if the chain requires it, that a CA
 * listed in genesis issued it. Only the public facts go into the record in the clear.
 *
 * "New" is more than a new fingerprint. An ECDSA signature (r, s) verifies as (r, n - s)
 * too, and a few other bytes outside the signed part can change, so one certificate has
 * several DER encodings, each with its own SHA-256, each verifying under its CA. The
 * ledger therefore also indexes every anchored certificate by (issuer, serial) and by its
 * public key (cert_key_id), written at anchoring and never deleted, and refuses an anchor
 * that meets either, whatever became of the first: otherwise a second encoding could be
 * bound to another account, or live on after the first was revoked.
 *
 * A certificate's status changes are events under their own keys (SP_CERT_EVENT): who, when
 * and why, none ever dropped, so that "was it active at time t" always has its answer.
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

static idl_err
medium_get(struct rules *r, const char *serial, struct rec_medium *m, bool *found)
{
    struct state_key k;
    rules_key1(&k, SP_MEDIUM, serial);
    idl_err rc = state_get_rec(r->st, &k, &rec_medium_schema, m);
    *found = rc == IDL_OK;
    if (rc == IDL_ERR_NOT_FOUND)
        memset(m, 0, sizeof(*m));
    return rc == IDL_ERR_NOT_FOUND ? IDL_OK : rc;
}

static idl_err
medium_put(struct rules *r, const char *serial, const struct rec_medium *m)
{
    struct state_key k;
    rules_key1(&k, SP_MEDIUM, serial);
    return state_put_rec(r->st, &k, &rec_medium_schema, m);
}

/*
 * Appends a line to the distribution record of `account` (numbered on from app->records,
 * which the caller writes back with the application).
 */
static idl_err
handover_put(struct rules *r, const char *account, struct rec_cert_app *app,
             struct rec_handover *h)
{
    h->number = ++app->records;
    h->height = r->ctx->height;
    h->time_ms = r->ctx->time_ms;
    snprintf(h->by, sizeof(h->by), "%s", r->actor->id);
    snprintf(h->by_org, sizeof(h->by_org), "%s", r->actor->org);
    struct state_key k;
    rules_key1(&k, SP_DISTRIBUTION, account);
    state_key_u32(&k, h->number);
    return state_put_rec(r->st, &k, &rec_handover_schema, h);
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

/* Whether organisation `code` is `target` or one of its ancestors. */
static idl_err
org_on_path(struct rules *r, const char *code, const char *target, bool *on)
{
    char cur[LEDGER_CODE_MAX + 1];
    *on = false;
    snprintf(cur, sizeof(cur), "%s", target);
    for (int depth = 0; depth < LEDGER_ORG_DEPTH_MAX && cur[0]; depth++) {
        if (strcmp(cur, code) == 0) {
            *on = true;
            return IDL_OK;
        }
        struct rec_org o;
        idl_err rc = rules_need_org(r, cur, &o);
        if (rc)
            return rc;
        snprintf(cur, sizeof(cur), "%s", o.parent);
    }
    return IDL_OK;
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
    uint32_t records = 0;
    if (found) {
        bool open = app.status == APP_APPLIED || app.status == APP_APPROVED;
        records = app.records;
        schema_free(&rec_cert_app_schema, &app);
        if (open)
            return rules_refuse(r, IDL_ERR_EXISTS, "%s already has an application in progress",
                                b->account);
    }
    /* The distribution records of earlier applications stay; their numbering goes on. */
    struct rec_cert_app fresh = {
        .status = APP_APPLIED, .applied_height = r->ctx->height, .records = records};
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

/*
 * Who may hand medium m on, for the applicant a: the sysadmin of the unit holding it; a
 * medium the ledger has not seen yet enters at any level on the applicant's way up to the
 * province (the level that bought or received it from the CA), by that level's sysadmin.
 */
static idl_err
need_medium_giver(struct rules *r, const struct rec_account *a, const struct rec_medium *m,
                  bool known)
{
    if (known)
        return rules_need_admin(r, POST_SYSADMIN, m->holder_org,
                                "hand on a medium its unit holds");
    idl_err rc = rules_need_admin(r, POST_SYSADMIN, r->actor->org, "hand media on");
    bool on = false;
    if (!rc)
        rc = org_on_path(r, r->actor->org, a->org, &on);
    if (!rc && !on)
        rc = rules_refuse(r, IDL_ERR_DENIED, "%s is not on the way down to %s: media for %s "
                                             "are handed from the province down to %s",
                          r->actor->org, a->org, a->id, a->org);
    return rc;
}

/*
 * The receiver `to` of a handover that stops short of the applicant: an active
 * management account of the unit directly below the giver's, on the way to the applicant's
 * organisation (level by level: 逐级派发).
 */
static idl_err
need_medium_receiver(struct rules *r, const struct rec_account *a, const char *to,
                     struct rec_account *recv)
{
    struct rec_org o;
    bool on = false;
    idl_err rc = rules_need_account(r, to, recv);
    if (!rc && (recv->class != CLASS_MANAGEMENT || recv->status != STATUS_ACTIVE))
        rc = rules_refuse(r, IDL_ERR_STATE,
                          "%s is not an active management account: a medium goes to %s or "
                          "to a management account of the next unit down",
                          to, a->id);
    if (!rc)
        rc = rules_need_org(r, recv->org, &o);
    if (!rc && strcmp(o.parent, r->actor->org) != 0)
        rc = rules_refuse(r, IDL_ERR_DENIED,
                          "media go down one level at a time: %s is not directly below %s",
                          recv->org, r->actor->org);
    if (!rc)
        rc = org_on_path(r, recv->org, a->org, &on);
    if (!rc && !on)
        rc = rules_refuse(r, IDL_ERR_DENIED, "%s is not on the way down to %s", recv->org,
                          a->org);
    return rc;
}

/* Refuses a handover of a medium that is with, or on its way to, someone already. */
static idl_err
medium_free_for(struct rules *r, const char *serial, const struct rec_medium *m, bool known,
                const struct rec_account *a, const struct rec_cert_app *app)
{
    if (known && m->status != MEDIUM_RETURNED && strcmp(m->account, a->id) != 0)
        return rules_refuse(r, IDL_ERR_EXISTS, "medium %s was handed to another account (%s)",
                            serial, m->account);
    if (known && (m->status == MEDIUM_HANDED || m->status == MEDIUM_IN_USE))
        return rules_refuse(r, IDL_ERR_EXISTS, "medium %s is with %s already", serial,
                            m->holder);
    if (app->medium[0])
        return rules_refuse(r, IDL_ERR_EXISTS,
                            "%s holds medium %s already: one medium per application (a faulty "
                            "one is handed back first: cert medium-return)",
                            a->id, app->medium);
    return IDL_OK;
}

/*
 * One handover of medium `serial` for the approved application `app` of `a`: to `to`, a
 * management account of the next unit down, or, when `to` is a's own id, to the holder.
 * Checks who gives and who receives, writes the record line and the medium, and sets the
 * application's medium and record count (the caller writes app back).
 */
static idl_err
medium_hand(struct rules *r, const struct rec_account *a, struct rec_cert_app *app,
            const char *serial, const char *to)
{
    struct rec_account recv;
    struct rec_medium m;
    bool known = false;
    idl_err rc = medium_get(r, serial, &m, &known);
    if (!rc)
        rc = medium_free_for(r, serial, &m, known, a, app);
    if (!rc)
        rc = need_medium_giver(r, a, &m, known);
    bool to_holder = strcmp(to, a->id) == 0;
    if (!rc && to_holder) /* the last step: by the sysadmin who manages the holder */
        rc = rules_need_managed_account(r, a->id, "hand media to its accounts", &recv);
    else if (!rc)
        rc = need_medium_receiver(r, a, to, &recv);
    if (rc)
        return rc;
    m = (struct rec_medium){.status = to_holder ? MEDIUM_HANDED : MEDIUM_IN_TRANSIT,
                            .applied_height = app->applied_height,
                            .time_ms = r->ctx->time_ms};
    snprintf(m.account, sizeof(m.account), "%s", a->id);
    snprintf(m.holder, sizeof(m.holder), "%s", recv.id);
    snprintf(m.holder_org, sizeof(m.holder_org), "%s", recv.org);
    if (to_holder) {
        snprintf(app->medium, sizeof(app->medium), "%s", serial);
        app->medium_time_ms = r->ctx->time_ms;
    }
    struct rec_handover h = {.applied_height = app->applied_height, .kind = HANDOVER_GIVEN};
    snprintf(h.medium, sizeof(h.medium), "%s", serial);
    snprintf(h.to, sizeof(h.to), "%s", recv.id);
    snprintf(h.to_org, sizeof(h.to_org), "%s", recv.org);
    rc = handover_put(r, a->id, app, &h);
    if (!rc)
        rc = medium_put(r, serial, &m);
    return rc;
}

idl_err
rules_cert_medium(struct rules *r)
{
    const struct tx_cert_medium *b = &r->tx->body.cert_medium;
    struct rec_account a;
    struct rec_cert_app app;
    bool found = false;
    idl_err rc = rules_need_account(r, b->account, &a);
    if (!rc && a.status == STATUS_DISABLED)
        rc = rules_refuse(r, IDL_ERR_STATE, "%s is disabled", a.id);
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
    rc = medium_hand(r, &a, &app, b->medium, b->to[0] ? b->to : a.id);
    if (!rc)
        rc = app_put(r, a.id, &app);
    schema_free(&rec_cert_app_schema, &app);
    return rc;
}

/*
 * A medium comes back from its holder (DOMAIN.md §4: keys are handed in) to the sysadmin
 * who manages the holder, unused (a faulty key) or with its certificate revoked: a frozen
 * certificate may still be unfrozen for the same holder on the same key. From then on the
 * medium is free for another applicant.
 */
idl_err
rules_cert_medium_return(struct rules *r)
{
    const struct tx_cert_medium_return *b = &r->tx->body.cert_medium_return;
    struct rec_account a;
    struct rec_medium m;
    struct rec_cert_app app;
    bool known = false, found = false;
    idl_err rc = medium_get(r, b->medium, &m, &known);
    if (!rc && !known)
        rc = rules_refuse(r, IDL_ERR_NOT_FOUND, "no medium %s was ever handed out", b->medium);
    if (!rc && ((m.status != MEDIUM_HANDED && m.status != MEDIUM_IN_USE) ||
                strcmp(m.holder, b->account) != 0))
        rc = rules_refuse(r, IDL_ERR_STATE, "medium %s is not with %s", b->medium, b->account);
    /* A disabled account's key is handed in too: no check of its status. */
    if (!rc)
        rc = rules_need_managed_account(r, b->account, "take media back from its accounts", &a);
    if (!rc && m.status == MEDIUM_IN_USE) {
        struct rec_cert c;
        struct state_key k;
        fp_key(&k, m.fingerprint);
        rc = state_get_rec(r->st, &k, &rec_cert_schema, &c);
        if (!rc) {
            unsigned st = c.status;
            schema_free(&rec_cert_schema, &c);
            if (st != CERT_REVOKED)
                rc = rules_refuse(r, IDL_ERR_STATE,
                                  "medium %s carries a certificate that is %s: revoke it first",
                                  b->medium, ledger_cert_status_name(st));
        }
    }
    if (!rc)
        rc = app_get(r, a.id, &app, &found);
    if (!rc && !found) /* a medium reaches its holder only through an application */
        rc = rules_refuse(r, IDL_ERR_STATE, "%s has no certificate application", a.id);
    if (rc)
        return rc;
    if (strcmp(app.medium, b->medium) == 0 && app.status == APP_APPROVED) {
        app.medium[0] = '\0'; /* the applicant may be handed another */
        app.medium_time_ms = 0;
    }
    struct rec_handover h = {.applied_height = m.applied_height, .kind = HANDOVER_RETURNED};
    snprintf(h.medium, sizeof(h.medium), "%s", b->medium);
    snprintf(h.to, sizeof(h.to), "%s", a.id);
    snprintf(h.to_org, sizeof(h.to_org), "%s", a.org);
    snprintf(h.note, sizeof(h.note), "%s", b->reason);
    m = (struct rec_medium){.status = MEDIUM_RETURNED, .time_ms = r->ctx->time_ms};
    snprintf(m.holder, sizeof(m.holder), "%s", r->actor->id);
    snprintf(m.holder_org, sizeof(m.holder_org), "%s", r->actor->org);
    rc = handover_put(r, a.id, &app, &h);
    if (!rc)
        rc = app_put(r, a.id, &app);
    if (!rc)
        rc = medium_put(r, b->medium, &m);
    schema_free(&rec_cert_app_schema, &app);
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
    else if (cert_self_issued(ci))
        rc = rules_refuse(r, IDL_ERR_INVALID,
                          "a self-issued certificate is not issued by a CA: it cannot be anchored");
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

/*
 * Records a status change: an event under SP_CERT_EVENT (number c->events, who, when, why),
 * then the certificate with its new status. The certificate's record stays small however
 * often it changes; the events are never dropped.
 */
static idl_err
cert_set_status(struct rules *r, struct rec_cert *c, unsigned status, const char *reason)
{
    struct rec_cert_event e = {
        .time_ms = r->ctx->time_ms, .height = r->ctx->height, .status = (uint8_t)status};
    snprintf(e.actor, sizeof(e.actor), "%s", r->actor->id);
    snprintf(e.reason, sizeof(e.reason), "%s", reason);
    struct state_key k;
    state_key_init(&k, SP_CERT_EVENT);
    state_key_raw(&k, c->fingerprint, HASH_BYTES);
    state_key_u32(&k, c->events);
    idl_err rc = state_put_rec(r->st, &k, &rec_cert_event_schema, &e);
    if (rc)
        return rc;
    c->events++;
    c->status = (uint8_t)status;
    fp_key(&k, c->fingerprint);
    return state_put_rec(r->st, &k, &rec_cert_schema, c);
}

/* The two keys that make one certificate one, whatever its encoding (see the top). */
static void
issued_key(struct state_key *k, const char *issuer, const char *serial)
{
    uint8_t h[HASH_BYTES];
    hash_sha256(h, issuer, strlen(issuer));
    state_key_init(k, SP_CERT_ISSUED);
    state_key_raw(k, h, HASH_BYTES);
    state_key_str(k, serial);
}

static void
key_id_key(struct state_key *k, const uint8_t id[HASH_BYTES])
{
    state_key_init(k, SP_CERT_KEY);
    state_key_raw(k, id, HASH_BYTES);
}

/* Refuses a certificate whose (issuer, serial) or public key was ever anchored. */
static idl_err
cert_not_seen(struct rules *r, const struct cert_info *ci, const uint8_t key_id[HASH_BYTES])
{
    struct state_key k;
    struct idl_bytes fp;
    char hex[2 * HASH_BYTES + 1];
    issued_key(&k, ci->issuer, ci->serial);
    idl_err rc = state_get(r->st, &k, &fp);
    if (rc == IDL_OK) {
        codec_hex_encode(hex, fp.data, fp.len == HASH_BYTES ? HASH_BYTES : 0);
        free(fp.data);
        return rules_refuse(r, IDL_ERR_EXISTS,
                            "a certificate of this issuer with serial %s is already anchored "
                            "(%.16s...): another encoding of one certificate is that certificate",
                            ci->serial, hex);
    }
    if (rc != IDL_ERR_NOT_FOUND)
        return rc;
    key_id_key(&k, key_id);
    rc = state_get(r->st, &k, &fp);
    if (rc == IDL_OK) {
        codec_hex_encode(hex, fp.data, fp.len == HASH_BYTES ? HASH_BYTES : 0);
        free(fp.data);
        return rules_refuse(r, IDL_ERR_EXISTS,
                            "this public key is already anchored (%.16s...): a key belongs to "
                            "one certificate and one account",
                            hex);
    }
    return rc == IDL_ERR_NOT_FOUND ? IDL_OK : rc;
}

static idl_err
cert_index_put(struct rules *r, const struct cert_info *ci, const uint8_t key_id[HASH_BYTES])
{
    struct state_key k;
    issued_key(&k, ci->issuer, ci->serial);
    idl_err rc = state_put(r->st, &k, ci->fingerprint, HASH_BYTES);
    if (!rc) {
        key_id_key(&k, key_id);
        rc = state_put(r->st, &k, ci->fingerprint, HASH_BYTES);
    }
    return rc;
}

/*
 * The application and medium an anchoring needs: an approved application whose medium
 * was handed to the holder, and is the one named if the transaction names one. A medium
 * named that the holder was not handed yet is handed to it here, by the same rules as
 * cert.medium's last step (the CLI's one-step `cert anchor --medium SERIAL`): new to the
 * ledger, or held by the actor's unit, and the actor managing the holder.
 */
static idl_err
anchor_app(struct rules *r, const struct rec_account *a, const struct tx_cert_anchor *b,
           struct rec_cert_app *app, struct rec_medium *m)
{
    bool found = false, known = false;
    idl_err rc = app_get(r, b->account, app, &found);
    if (rc)
        return rc;
    if (!found || app->status != APP_APPROVED)
        rc = rules_refuse(r, IDL_ERR_STATE, "%s has no approved certificate application",
                          b->account);
    else if (!app->medium[0] && b->medium[0])
        rc = medium_hand(r, a, app, b->medium, a->id);
    else if (!app->medium[0])
        rc = rules_refuse(r, IDL_ERR_STATE,
                          "no medium has been handed to %s: a certificate is anchored on the "
                          "USB key its holder received (cert medium first, or --medium)",
                          b->account);
    else if (b->medium[0] && strcmp(app->medium, b->medium) != 0)
        rc = rules_refuse(r, IDL_ERR_INVALID, "%s was handed medium %s, not %s", b->account,
                          app->medium, b->medium);
    if (!rc)
        rc = medium_get(r, app->medium, m, &known);
    if (!rc && (!known || m->status != MEDIUM_HANDED || strcmp(m->holder, b->account) != 0))
        rc = rules_refuse(r, IDL_ERR_STATE, "medium %s is not with %s", app->medium, b->account);
    if (rc && found)
        schema_free(&rec_cert_app_schema, app);
    return rc;
}

/* Opens the certificate of an anchoring and checks that it is new, valid now and unseen. */
static idl_err
anchor_cert(struct rules *r, const struct rec_account *a, const struct tx_cert_anchor *b,
            struct cert_info *ci, uint8_t key_id[HASH_BYTES])
{
    struct state_key k;
    bool exists = false;
    memset(ci, 0, sizeof(*ci));
    fp_key(&k, b->fingerprint);
    idl_err rc = state_has(r->st, &k, &exists);
    if (!rc && exists)
        rc = rules_refuse(r, IDL_ERR_EXISTS, "this certificate is already anchored");
    if (!rc)
        rc = open_cert(r, a, b, ci);
    if (rc)
        return rc;
    if (ci->not_after <= now_s(r))
        rc = rules_refuse(r, IDL_ERR_POLICY, "the certificate has expired");
    else if (ci->not_before > now_s(r) + 86400)
        rc = rules_refuse(r, IDL_ERR_POLICY, "the certificate is not valid yet");
    else if (cert_key_id(ci->spki.data, ci->spki.len, key_id) != IDL_OK)
        rc = rules_refuse(r, IDL_ERR_INVALID, "certificate: the public key does not parse");
    if (!rc)
        rc = cert_not_seen(r, ci, key_id);
    if (rc)
        cert_info_free(ci);
    return rc;
}

idl_err
rules_cert_anchor(struct rules *r)
{
    const struct tx_cert_anchor *b = &r->tx->body.cert_anchor;
    struct rec_account a;
    struct rec_cert_app app;
    struct rec_medium m;
    struct cert_info ci;
    uint8_t key_id[HASH_BYTES];
    idl_err rc = need_live_account(r, b->account, "anchor certificates of its accounts", &a);
    if (!rc)
        rc = anchor_app(r, &a, b, &app, &m);
    if (rc)
        return rc;
    rc = anchor_cert(r, &a, b, &ci, key_id);
    if (rc) {
        schema_free(&rec_cert_app_schema, &app);
        return rc;
    }
    struct rec_cert c = {0};
    memcpy(c.fingerprint, ci.fingerprint, HASH_BYTES);
    snprintf(c.account, sizeof(c.account), "%s", a.id);
    snprintf(c.serial, sizeof(c.serial), "%s", ci.serial);
    snprintf(c.issuer, sizeof(c.issuer), "%s", ci.issuer);
    c.not_before = ci.not_before;
    c.not_after = ci.not_after;
    c.key = ci.key;
    c.spki = ci.spki; /* borrowed: freed with ci */
    c.der = b->der;   /* borrowed from the transaction */
    snprintf(c.medium, sizeof(c.medium), "%s", app.medium);
    c.anchored_height = r->ctx->height;
    rc = cert_set_status(r, &c, CERT_ACTIVE, "");
    if (!rc)
        rc = cert_index_put(r, &ci, key_id);
    if (!rc)
        rc = certs_add(r, a.id, ci.fingerprint);
    if (!rc) {
        app.status = APP_ANCHORED;
        rc = app_put(r, a.id, &app);
    }
    if (!rc) {
        m.status = MEDIUM_IN_USE;
        memcpy(m.fingerprint, ci.fingerprint, HASH_BYTES);
        m.time_ms = r->ctx->time_ms;
        rc = medium_put(r, app.medium, &m);
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
        rc = cert_set_status(r, &c, want, b->reason);
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
        if (rc)
            break;
        /* No free text of the disabling goes into the history: it was not screened here. */
        if (c.status == CERT_ACTIVE)
            rc = cert_set_status(r, &c, CERT_FROZEN, "the account was disabled");
        schema_free(&rec_cert_schema, &c); /* on failure too: nothing may leak */
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

/*
 * Endpoints for business systems and auditors: certificates, signature verification,
 * the real-name check, and the read-audit log (docs/API.md).
 *
 * Every answer about an account, a person or a certificate is recorded in the read-audit
 * log (node/readaudit.h) with the business system that asked.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "ledger/cert.h"
#include "ledger/codec.h"
#include "ledger/idnum.h"
#include "ledger/query.h"
#include "node/api_internal.h"
#include "node/log.h"
#include "node/readaudit.h"

void
api_read_audit(struct api_req *r, const char *endpoint, const char *account)
{
    api_read_audit_org(r, endpoint, account, NULL);
}

void
api_read_audit_org(struct api_req *r, const char *endpoint, const char *account, const char *org)
{
    struct readaudit_entry e = {.time_ms = node_now_ms()};
    snprintf(e.client, sizeof(e.client), "%s", r->client[0] ? r->client : "open");
    snprintf(e.endpoint, sizeof(e.endpoint), "%s", endpoint);
    snprintf(e.account, sizeof(e.account), "%s", account ? account : "");
    snprintf(e.org, sizeof(e.org), "%s", org ? org : "");
    api_text_scrub(e.account); /* a long account asked about was cut at 64 bytes */
    api_text_scrub(e.org);
    struct state *st;
    if (!e.org[0] && account && account[0] &&
        state_new(&st, ledger_store(r->n->ledger)) == IDL_OK) {
        struct rec_account a;
        if (state_account_get(st, account, &a) == IDL_OK)
            snprintf(e.org, sizeof(e.org), "%s", a.org);
        state_free(st);
    }
    /* A read about no account we know (an unregistered number in a real-name check, an
     * account that does not exist) concerns the whole chain: the root's auditor lists it. */
    if (!e.org[0])
        snprintf(e.org, sizeof(e.org), "%s", ledger_root(r->n->ledger));
    if (readaudit_put(r->n->readaudit, &e) != IDL_OK)
        log_warn("cannot record a read", "{s:s}", "endpoint", endpoint);
}

static int
fingerprint_arg(struct api_req *r, const char *hex, uint8_t fp[HASH_BYTES])
{
    if (!hex || codec_hex_decode(fp, HASH_BYTES, hex) != IDL_OK) {
        api_error(r, 400, "malformed", "the fingerprint must be 64 hex digits (SHA-256 of DER)");
        return 0;
    }
    return 1;
}

/* Loads a certificate record, or sets a 404/500 reply. */
static int
cert_load(struct api_req *r, const uint8_t fp[HASH_BYTES], struct rec_cert *c)
{
    struct state *st;
    if (state_new(&st, ledger_store(r->n->ledger)) != IDL_OK) {
        api_error(r, 500, "nomem", "out of memory");
        return 0;
    }
    struct state_key k;
    state_key_init(&k, SP_CERT);
    state_key_raw(&k, fp, HASH_BYTES);
    idl_err rc = state_get_rec(st, &k, &rec_cert_schema, c);
    state_free(st);
    if (rc == IDL_ERR_NOT_FOUND)
        api_error(r, 404, "not_found", "no certificate with this fingerprint is anchored");
    else if (rc)
        api_fail(r, rc, NULL);
    return rc == IDL_OK;
}

/* The masked subject of an anchored certificate (opened with the chain's keys). */
static json_t *
masked_subject(struct api_req *r, const struct rec_cert *c)
{
    struct state *st;
    struct rec_account a;
    json_t *out = json_null();
    if (state_new(&st, ledger_store(r->n->ledger)) != IDL_OK)
        return out;
    if (state_account_get(st, c->account, &a) == IDL_OK) {
        uint8_t *der = malloc(c->der.len);
        struct cert_info ci;
        if (der &&
            person_open(r->n->pkeys, a.person, PF_CERTIFICATE, c->der.data, c->der.len, (char *)der,
                        c->der.len) == IDL_OK &&
            cert_parse(&ci, der, c->der.len - LEDGER_SEAL_OVERHEAD, NULL, 0) == IDL_OK) {
            char masked[CERT_DN_MAX + 1];
            cert_mask_subject(ci.subject, masked, sizeof(masked));
            sodium_memzero(ci.subject, sizeof(ci.subject));
            cert_info_free(&ci);
            json_decref(out);
            out = json_string(masked);
        }
        if (der)
            sodium_memzero(der, c->der.len);
        free(der);
    }
    state_free(st);
    return out;
}

/* The events of a certificate, oldest first: its history, who changed it and why. */
struct cert_events {
    json_t *list;
};

static int
collect_event(void *arg, const uint8_t *key, size_t kl, const uint8_t *val, size_t vl)
{
    (void)key, (void)kl;
    struct cert_events *ev = arg;
    struct rec_cert_event e;
    if (schema_decode_bytes(&rec_cert_event_schema, &e, val, vl) != IDL_OK)
        return 0;
    json_array_append_new(ev->list, json_pack("{s:I, s:I, s:s, s:s, s:s}", "time",
                                              (json_int_t)e.time_ms, "height",
                                              (json_int_t)e.height, "status",
                                              ledger_cert_status_name(e.status), "actor",
                                              e.actor, "reason", e.reason));
    return 0;
}

static json_t *
cert_history(struct api_req *r, const uint8_t fp[HASH_BYTES])
{
    struct state_key k;
    state_key_init(&k, SP_CERT_EVENT);
    state_key_raw(&k, fp, HASH_BYTES);
    struct cert_events ev = {json_array()};
    if (query_scan(ledger_store(r->n->ledger), &k, NULL, 0, collect_event, &ev) != IDL_OK) {
        json_decref(ev.list);
        return json_array();
    }
    return ev.list;
}

json_t *
api_cert_json(struct api_req *r, const struct rec_cert *c, bool full)
{
    json_t *out = json_pack("{s:o, s:s, s:s, s:s, s:I, s:I}", "fingerprint",
                            api_hex(c->fingerprint, HASH_BYTES), "account", c->account, "status",
                            ledger_cert_status_name(c->status), "serial", c->serial, "not_before",
                            (json_int_t)c->not_before, "not_after", (json_int_t)c->not_after);
    if (!full)
        return out;
    json_object_set_new(out, "issuer", json_string(c->issuer));
    json_object_set_new(out, "subject", masked_subject(r, c));
    json_object_set_new(out, "key", json_string(cert_key_name(c->key)));
    json_object_set_new(out, "medium", json_string(c->medium));
    json_object_set_new(out, "anchored_height", json_integer((json_int_t)c->anchored_height));
    json_object_set_new(out, "history", cert_history(r, c->fingerprint));
    return out;
}

void
api_h_cert_get(struct api_req *r)
{
    uint8_t fp[HASH_BYTES];
    struct rec_cert c;
    if (!fingerprint_arg(r, r->segs[2], fp) || !cert_load(r, fp, &c))
        return;
    api_read_audit(r, "GET /v1/certs", c.account);
    api_reply(r, 200, api_cert_json(r, &c, true));
    schema_free(&rec_cert_schema, &c);
}

/*
 * POST /v1/certs/seal {"account", "certificate"}: the certificate (hex of PEM or DER) is
 * checked and sealed under the account's person key, for the wallet to anchor.
 */
void
api_h_cert_seal(struct api_req *r)
{
    static const char *const allowed[] = {"account", "certificate", NULL};
    json_t *body = api_body_object(r, allowed);
    if (!body)
        return;
    const char *account = json_string_value(json_object_get(body, "account"));
    const char *hex = json_string_value(json_object_get(body, "certificate"));
    size_t len = hex ? strlen(hex) / 2 : 0;
    uint8_t *raw = len ? malloc(len) : NULL;
    struct idl_bytes der = {0}, sealed = {0};
    struct cert_info ci = {0};
    char why[200] = "";
    if (!account || !raw || codec_hex_decode(raw, len, hex) != IDL_OK) {
        api_error(r, 400, "malformed", "give account and certificate (hex of PEM or DER)");
    } else if (cert_to_der(raw, len, &der) != IDL_OK ||
               cert_parse(&ci, der.data, der.len, why, sizeof(why)) != IDL_OK) {
        api_error(r, 400, "invalid", "certificate: %s", why[0] ? why : "not X.509 PEM or DER");
    } else if (ci.is_ca) {
        api_error(r, 400, "invalid",
                  "a CA certificate is not a personal certificate: it cannot be anchored");
    } else if (cert_self_issued(&ci)) {
        api_error(r, 400, "invalid",
                  "a self-issued certificate is not issued by a CA: it cannot be anchored");
    } else {
        struct state *st;
        struct rec_account a;
        idl_err rc = state_new(&st, ledger_store(r->n->ledger));
        if (!rc) {
            rc = state_account_get(st, account, &a);
            state_free(st);
        }
        if (!rc)
            rc = person_seal_bytes(r->n->pkeys, a.person, PF_CERTIFICATE, der.data, der.len,
                                   &sealed);
        char *shex = rc ? NULL : malloc(2 * sealed.len + 1);
        if (rc) {
            api_fail(r, rc, rc == IDL_ERR_NOT_FOUND ? "no such account" : NULL);
        } else if (!shex) {
            api_error(r, 500, "nomem", "out of memory");
        } else {
            codec_hex_encode(shex, sealed.data, sealed.len);
            api_reply(r, 200,
                      json_pack("{s:o, s:s, s:s, s:s, s:I, s:I, s:s}", "fingerprint",
                                api_hex(ci.fingerprint, HASH_BYTES), "sealed", shex, "serial",
                                ci.serial, "issuer", ci.issuer, "not_before",
                                (json_int_t)ci.not_before, "not_after", (json_int_t)ci.not_after,
                                "key", cert_key_name(ci.key)));
            api_read_audit(r, "POST /v1/certs/seal", account);
        }
        free(shex);
    }
    sodium_memzero(ci.subject, sizeof(ci.subject));
    cert_info_free(&ci);
    free(der.data);
    free(sealed.data);
    free(raw);
    json_decref(body);
}

/*
 * The largest message verify-signature can be sent: its base64 (4 characters per 3 bytes)
 * must fit the route's 1 MiB body with the other members; anything larger is sent as a
 * digest.
 */
#define VERIFY_MESSAGE_MAX (API_BODY_ROUTE_MAX / 4 * 3 - 4096)

/*
 * Base64 (standard alphabet) of a JSON member, decoded, at most max bytes; NULL and a 400
 * reply if bad. The text is bounded first (twice the base64 of max bytes, whitespace
 * allowed), then the decoded length is checked exactly.
 */
static uint8_t *
b64_member(struct api_req *r, json_t *body, const char *name, size_t max, size_t *len)
{
    const char *s = json_string_value(json_object_get(body, name));
    *len = 0;
    if (!s) {
        api_error(r, 400, "malformed", "%s must be a base64 string", name);
        return NULL;
    }
    size_t n = strlen(s), cap = n / 4 * 3 + 3;
    uint8_t *out = n <= 2 * (4 * ((max + 2) / 3)) + 8 ? malloc(cap) : NULL;
    if (!out || sodium_base642bin(out, cap, s, n, " \n", len, NULL,
                                  sodium_base64_VARIANT_ORIGINAL) != 0 ||
        *len > max) {
        free(out);
        api_error(r, 400, "malformed", "%s must be base64 (at most %zu bytes)", name, max);
        return NULL;
    }
    return out;
}

/*
 * POST /v1/certs/verify-signature: is `signature` a valid signature of the message (or
 * digest) under the anchored certificate `fingerprint`, and at time `at` (Unix seconds,
 * default now) was the certificate active and within its validity, and its account active?
 */
void
api_h_verify_signature(struct api_req *r)
{
    static const char *const allowed[] = {"fingerprint",   "message_b64", "digest_b64",
                                          "signature_b64", "at",          NULL};
    json_t *body = api_body_object(r, allowed);
    if (!body)
        return;
    uint8_t fp[HASH_BYTES];
    size_t msg_len = 0, sig_len = 0;
    uint8_t *msg = NULL, *sig = NULL;
    bool digest = json_object_get(body, "digest_b64") != NULL;
    json_t *at_j = json_object_get(body, "at");
    uint64_t at = at_j ? (uint64_t)json_integer_value(at_j) : node_now_ms() / 1000;
    struct rec_cert c = {0};
    int ok = fingerprint_arg(r, json_string_value(json_object_get(body, "fingerprint")), fp);
    /* Up to the end of year 9999: far past any certificate, and safe to turn into ms. */
    if (ok && (at_j && (!json_is_integer(at_j) || json_integer_value(at_j) < 0 ||
                        json_integer_value(at_j) > 253402300799))) {
        api_error(r, 400, "malformed", "at must be Unix seconds (year 9999 at most)");
        ok = 0;
    }
    if (ok && digest == (json_object_get(body, "message_b64") != NULL)) {
        api_error(r, 400, "malformed", "give exactly one of message_b64 and digest_b64");
        ok = 0;
    }
    if (ok)
        msg = b64_member(r, body, digest ? "digest_b64" : "message_b64",
                         digest ? 4 * CERT_DIGEST_BYTES : VERIFY_MESSAGE_MAX, &msg_len);
    if (ok && msg)
        sig = b64_member(r, body, "signature_b64", 1024, &sig_len);
    /* A digest is SHA-256 (RSA, ECDSA) or SM2's e = SM3(Z | message): 32 bytes, never
     * another length, which ECDSA would take and OpenSSL would truncate. */
    if (ok && msg && sig && digest && msg_len != CERT_DIGEST_BYTES) {
        api_error(r, 400, "malformed",
                  "digest_b64 must be 32 bytes: the SHA-256 of the message (RSA, ECDSA) or, "
                  "for SM2, e = SM3(Z | message)");
        ok = 0;
    }
    ok = ok && msg && sig && cert_load(r, fp, &c);
    if (ok) {
        const char *reason = "ok";
        bool valid =
            cert_verify(c.spki.data, c.spki.len, msg, msg_len, digest, sig, sig_len) == IDL_OK;
        unsigned cert_status = CERT_NONE;
        if (query_cert_status_at(ledger_store(r->n->ledger), c.fingerprint, at * 1000 + 999,
                                 &cert_status) != IDL_OK)
            cert_status = CERT_NONE;
        unsigned acct_status = STATUS_NONE;
        if (query_status_at(ledger_store(r->n->ledger), c.account, at * 1000 + 999, &acct_status) !=
            IDL_OK)
            acct_status = STATUS_NONE;
        if (!valid)
            reason = "the signature does not verify under this certificate's key";
        else if (cert_status != CERT_ACTIVE)
            reason = cert_status == CERT_NONE     ? "the certificate was not anchored at that time"
                     : cert_status == CERT_FROZEN ? "the certificate was frozen at that time"
                                                  : "the certificate was revoked at that time";
        else if (at < c.not_before || at >= c.not_after)
            reason = "the certificate was outside its validity at that time";
        else if (acct_status != STATUS_ACTIVE)
            reason = "the account was not active at that time";
        bool all = !strcmp(reason, "ok");
        api_reply(r, 200,
                  json_pack("{s:b, s:s, s:s, s:b, s:s, s:s, s:I}", "valid", all, "account",
                            c.account, "reason", reason, "signature_ok", valid,
                            "certificate_status", ledger_cert_status_name(cert_status),
                            "account_status", ledger_status_name(acct_status), "at",
                            (json_int_t)at));
        api_read_audit(r, "POST /v1/certs/verify-signature", c.account);
    }
    schema_free(&rec_cert_schema, &c);
    free(msg);
    free(sig);
    json_decref(body);
}

/* ---- GET /v1/certs/applications/{account} ---- */

/* A masked personal field of a person ("" if it has none). */
static json_t *
masked_field(struct api_req *r, struct state *st, const uint8_t person[HASH_BYTES],
             unsigned field)
{
    struct state_key k;
    struct ledger_person p;
    char text[LEDGER_PERSON_TEXT_MAX + 1], mask[LEDGER_PERSON_TEXT_MAX + 1] = "";
    state_key_init(&k, SP_PERSON);
    state_key_raw(&k, person, HASH_BYTES);
    if (state_get_rec(st, &k, &ledger_person_schema, &p) != IDL_OK)
        return json_string("");
    const struct ledger_sealed *f = p.fields.items;
    for (uint32_t i = 0; i < p.fields.count; i++)
        if (f[i].field == field &&
            person_open(r->n->pkeys, person, field, f[i].data.data, f[i].data.len, text,
                        sizeof(text)) == IDL_OK) {
            person_mask(field, text, mask, sizeof(mask));
            sodium_memzero(text, sizeof(text));
        }
    schema_free(&ledger_person_schema, &p);
    return json_string(mask);
}

struct records {
    struct api_req *r;
    struct state *st;
    json_t *list;
    const char *applicant;
};

/*
 * One line of the distribution record. The receiver's name and mobile come from its person
 * record, masked like every personal field the API shows; each receiver other than the
 * applicant is a read of its data, and recorded as such.
 */
static int
collect_record(void *arg, const uint8_t *key, size_t kl, const uint8_t *val, size_t vl)
{
    (void)key, (void)kl;
    struct records *rs = arg;
    struct rec_handover h;
    if (schema_decode_bytes(&rec_handover_schema, &h, val, vl) != IDL_OK)
        return 0;
    struct rec_account a;
    json_t *name = NULL, *mobile = NULL;
    if (state_account_get(rs->st, h.to, &a) == IDL_OK) {
        name = masked_field(rs->r, rs->st, a.person, PF_NAME);
        mobile = masked_field(rs->r, rs->st, a.person, PF_MOBILE);
    }
    json_array_append_new(
        rs->list,
        json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:I, s:I, s:I, s:s}", "number",
                  (json_int_t)h.number, "kind", ledger_handover_kind_name(h.kind), "medium",
                  h.medium, "account", h.to, "org", h.to_org, "name",
                  name ? name : json_string(""), "mobile", mobile ? mobile : json_string(""),
                  "handed_by", h.by, "handed_by_org", h.by_org, "time", (json_int_t)h.time_ms,
                  "height", (json_int_t)h.height, "application", (json_int_t)h.applied_height,
                  "note", h.note));
    if (strcmp(h.to, rs->applicant) != 0)
        api_read_audit(rs->r, "GET /v1/certs/applications", h.to);
    return 0;
}

/* The organisations still to approve an application, after those that did. */
static json_t *
awaiting_org(struct state *st, const struct rec_account *a, const struct rec_cert_app *app)
{
    if (app->status != APP_APPLIED)
        return json_null();
    char chain[LEDGER_ORG_DEPTH_MAX][LEDGER_CODE_MAX + 1];
    size_t n = 0;
    struct rec_org o;
    if (state_org_get(st, a->org, &o) != IDL_OK)
        return json_null();
    if (!o.parent[0]) /* the root's own accounts: the root approves */
        snprintf(chain[n++], sizeof(chain[0]), "%s", o.code);
    while (o.parent[0] && n < LEDGER_ORG_DEPTH_MAX) {
        snprintf(chain[n++], sizeof(chain[0]), "%s", o.parent);
        if (state_org_get(st, o.parent, &o) != IDL_OK)
            break;
    }
    return app->approvals.count < n ? json_string(chain[app->approvals.count]) : json_null();
}

static json_t *
application_json(struct api_req *r, struct state *st, const struct rec_account *a)
{
    struct state_key k;
    struct rec_cert_app app = {0};
    state_key_init(&k, SP_CERT_APP);
    state_key_str(&k, a->id);
    idl_err rc = state_get_rec(st, &k, &rec_cert_app_schema, &app);
    if (rc && rc != IDL_ERR_NOT_FOUND)
        return NULL;
    json_t *approvals = json_array();
    const struct ledger_code *c = app.approvals.items;
    for (uint32_t i = 0; i < app.approvals.count; i++)
        json_array_append_new(approvals, json_string(c[i].code));
    json_t *out = json_pack(
        "{s:s, s:s, s:s, s:I, s:s, s:o, s:o, s:s, s:I}", "account", a->id, "org", a->org,
        "status", app.status ? ledger_app_status_name(app.status) : "none", "applied_height",
        (json_int_t)app.applied_height, "note", app.note, "approvals", approvals, "awaiting",
        awaiting_org(st, a, &app), "medium", app.medium, "medium_time",
        (json_int_t)app.medium_time_ms);
    schema_free(&rec_cert_app_schema, &app);
    /* The distribution record of every application of the account, in order. */
    state_key_init(&k, SP_DISTRIBUTION);
    state_key_str(&k, a->id);
    struct records rs = {r, st, json_array(), a->id};
    if (query_scan(ledger_store(r->n->ledger), &k, NULL, 0, collect_record, &rs) != IDL_OK) {
        json_decref(rs.list);
        json_decref(out);
        return NULL;
    }
    json_object_set_new(out, "records", rs.list);
    return out;
}

/*
 * GET /v1/certs/applications/{account}: where the account's certificate application
 * stands (applied, approved level by level, anchored), the medium its holder received, and
 * the distribution record of the media handed down for it.
 */
void
api_h_cert_application(struct api_req *r)
{
    const char *id = r->segs[3];
    struct state *st;
    struct rec_account a;
    if (state_new(&st, ledger_store(r->n->ledger)) != IDL_OK) {
        api_error(r, 500, "nomem", "out of memory");
        return;
    }
    idl_err rc = state_account_get(st, id, &a);
    json_t *out = rc ? NULL : application_json(r, st, &a);
    state_free(st);
    if (rc == IDL_ERR_NOT_FOUND) {
        api_error(r, 404, "not_found", "no account %.64s", id);
        return;
    }
    if (rc || !out) {
        api_fail(r, rc ? rc : IDL_ERR_IO, NULL);
        return;
    }
    api_read_audit(r, "GET /v1/certs/applications", a.id);
    api_reply(r, 200, out);
}

struct person_accounts {
    json_t *list;
    size_t prefix_len;
};

static int
collect_account(void *arg, const uint8_t *key, size_t kl, const uint8_t *val, size_t vl)
{
    (void)val, (void)vl;
    struct person_accounts *p = arg;
    char id[LEDGER_ID_MAX + 1];
    query_key_part(key, kl, p->prefix_len, id, sizeof(id));
    json_array_append_new(p->list, json_string(id));
    return 0;
}

/*
 * POST /v1/realname/check {"id_number", "name", "doc_type"?}: is this person registered
 * under this name, and with which accounts. A number registered under another name
 * answers "not registered", so the endpoint confirms nothing it was not told.
 */
void
api_h_realname(struct api_req *r)
{
    static const char *const allowed[] = {"id_number", "name", "doc_type", NULL};
    json_t *body = api_body_strings(r, allowed);
    if (!body)
        return;
    const char *number = json_string_value(json_object_get(body, "id_number"));
    const char *name = json_string_value(json_object_get(body, "name"));
    const char *doc_name = json_string_value(json_object_get(body, "doc_type"));
    enum idnum_doc doc = doc_name ? idnum_doc_parse(doc_name) : IDNUM_DOC_RESIDENT;
    char norm[IDNUM_NORM_MAX + 1];
    const char *why = NULL;
    if (!number || !name || doc == IDNUM_DOC_NONE) {
        api_error(r, 400, "malformed", "give id_number and name (and a known doc_type)");
    } else if (idnum_normalize(norm, doc, number, &why) != IDL_OK) {
        api_error(r, 400, "invalid", "%s", why);
    } else {
        uint8_t key[HASH_BYTES];
        person_index(r->n->pkeys, doc, norm, key);
        sodium_memzero(norm, sizeof(norm));
        struct state *st;
        struct ledger_person p;
        bool registered = false;
        if (state_new(&st, ledger_store(r->n->ledger)) == IDL_OK) {
            struct state_key k;
            state_key_init(&k, SP_PERSON);
            state_key_raw(&k, key, HASH_BYTES);
            if (state_get_rec(st, &k, &ledger_person_schema, &p) == IDL_OK) {
                const struct ledger_sealed *f = p.fields.items;
                for (uint32_t i = 0; i < p.fields.count; i++) {
                    char text[LEDGER_PERSON_TEXT_MAX + 1];
                    if (f[i].field == PF_NAME &&
                        person_open(r->n->pkeys, key, PF_NAME, f[i].data.data, f[i].data.len, text,
                                    sizeof(text)) == IDL_OK)
                        registered = !strcmp(text, name);
                    sodium_memzero(text, sizeof(text));
                }
                schema_free(&ledger_person_schema, &p);
            }
            state_free(st);
        }
        json_t *accounts = json_array();
        if (registered) {
            struct state_key k;
            state_key_init(&k, SP_PERSON_ACCOUNT);
            state_key_raw(&k, key, HASH_BYTES);
            struct person_accounts pa = {accounts, k.len};
            if (query_scan(ledger_store(r->n->ledger), &k, NULL, 0, collect_account, &pa) != IDL_OK)
                json_array_clear(accounts);
        }
        size_t i;
        json_t *v;
        json_array_foreach(accounts, i, v)
            api_read_audit(r, "POST /v1/realname/check", json_string_value(v));
        if (!json_array_size(accounts))
            api_read_audit(r, "POST /v1/realname/check", NULL);
        api_reply(r, 200, json_pack("{s:b, s:o}", "registered", registered, "accounts", accounts));
    }
    json_decref(body);
}

struct reads {
    json_t *list;
};

static void
collect_read(void *arg, const struct readaudit_entry *e)
{
    struct reads *rd = arg;
    json_array_append_new(rd->list,
                          json_pack("{s:I, s:s, s:s, s:s, s:s}", "time", (json_int_t)e->time_ms,
                                    "client", e->client, "endpoint", e->endpoint, "account",
                                    e->account, "org", e->org));
}

/* GET /v1/read-audit?org=C: the reads of C's accounts, for C's auditor (signed request). */
void
api_h_read_audit(struct api_req *r)
{
    const char *org = api_param(r, "org"), *since = api_param(r, "since"),
               *lim = api_param(r, "limit");
    uint64_t since_ms = 0, limit = 100;
    if (!org || (since && !api_parse_u64(since, &since_ms)) || (lim && !api_parse_u64(lim, &limit)) ||
        limit == 0 || limit > 1000) {
        api_error(r, 400, "malformed", "read-audit needs org; since in ms; limit 1 to 1000");
        return;
    }
    struct state *st;
    struct rec_account a;
    idl_err rc = state_new(&st, ledger_store(r->n->ledger));
    if (!rc) {
        rc = state_account_get(st, r->signer, &a);
        state_free(st);
    }
    if (rc || a.post != POST_AUDITOR || strcmp(a.org, org) != 0) {
        api_error(r, 403, "denied", "only the auditor of %.32s may list reads of its accounts",
                  org);
        return;
    }
    struct reads rd = {json_array()};
    rc = readaudit_list(r->n->readaudit, org, since_ms, limit, collect_read, &rd);
    if (rc) {
        json_decref(rd.list);
        api_fail(r, rc, NULL);
        return;
    }
    api_reply(r, 200, json_pack("{s:s, s:o}", "org", org, "reads", rd.list));
}

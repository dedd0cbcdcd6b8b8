/*
 * Transaction encoding. The fixed header is written by hand because its first fields
 * (version, chain id, type) decide how, and whether, to read the rest; the body is the
 * schema of its type (schema.h). Decoding refuses in the order a reader needs: size bound,
 * version, chain, type, body, signature length, trailing bytes.
 */
#include "tx.h"

#include <string.h>

#include "idnum.h"

#include <sodium.h>

static const char *const org_kind_names[] = {"",       "province", "city",  "county",
                                             "university", "school", "other"};
static const char *const school_type_names[] = {
    "", "kindergarten", "primary", "middle", "vocational", "nine-year", "twelve-year",
    "special", "other"};
static const char *const class_names[] = {"", "management", "business"};
static const char *const post_names[] = {"", "sysadmin", "secadmin", "auditor"};
static const char *const person_field_names[] = {
    "", "name", "id_number", "mobile", "email", "office_phone", "address", "certificate"};
static const char *const doc_names[] = {"", "resident", "passport", "hkmo", "taiwan",
                                        "foreign-pr"};

_Static_assert(IDL_ARRAY_LEN(org_kind_names) == ORG_KIND__COUNT, "org kinds named");
_Static_assert(IDL_ARRAY_LEN(school_type_names) == SCHOOL__COUNT, "school types named");
_Static_assert(IDL_ARRAY_LEN(class_names) == CLASS__COUNT, "classes named");
_Static_assert(IDL_ARRAY_LEN(post_names) == POST__COUNT, "posts named");
_Static_assert(IDL_ARRAY_LEN(person_field_names) == PF__COUNT, "person fields named");
_Static_assert(IDL_ARRAY_LEN(doc_names) == IDNUM_DOC__COUNT, "document types named");

#define ENUM_ACCESSORS(fn, names)                                                              \
    const char *ledger_##fn##_name(unsigned v)                                                 \
    {                                                                                          \
        return schema_enum_name(names, IDL_ARRAY_LEN(names), v);                               \
    }
ENUM_ACCESSORS(org_kind, org_kind_names)
ENUM_ACCESSORS(school_type, school_type_names)
ENUM_ACCESSORS(class, class_names)
ENUM_ACCESSORS(post, post_names)
ENUM_ACCESSORS(person_field, person_field_names)

#define ENUM_PARSER(fn, names)                                                                 \
    unsigned ledger_##fn##_parse(const char *s)                                                \
    {                                                                                          \
        int v = schema_enum_parse(names, IDL_ARRAY_LEN(names), s);                             \
        return v < 0 ? 0 : (unsigned)v;                                                        \
    }
ENUM_PARSER(org_kind, org_kind_names)
ENUM_PARSER(school_type, school_type_names)
ENUM_PARSER(class, class_names)
ENUM_PARSER(post, post_names)

SCHEMA_DEFINE(ledger_sealed_schema, struct ledger_sealed, "sealed",
              SF_ENUM(struct ledger_sealed, field, "field", 0, person_field_names),
              SF_BYTES(struct ledger_sealed, data, "data", 0, LEDGER_SEALED_MAX));

SCHEMA_DEFINE(ledger_person_schema, struct ledger_person, "person",
              SF_ENUM(struct ledger_person, doc_type, "doc_type", 0, doc_names),
              SF_HASH(struct ledger_person, key, "key", 0),
              SF_LIST(struct ledger_person, fields, "fields", SCHEMA_OPTIONAL,
                      LEDGER_PERSON_FIELDS_MAX, &ledger_sealed_schema));

SCHEMA_DEFINE(ledger_code_schema, struct ledger_code, "code",
              SF_ID(struct ledger_code, code, "code", 0));

SCHEMA_DEFINE_STATIC(org_add_schema, struct tx_org_add, "org.add",
              SF_ID(struct tx_org_add, code, "code", 0),
              SF_TEXT(struct tx_org_add, name, "name", SCHEMA_NO_PII),
              SF_ENUM(struct tx_org_add, kind, "kind", 0, org_kind_names),
              SF_ID(struct tx_org_add, parent, "parent", 0),
              SF_ENUM(struct tx_org_add, school_type, "school_type", SCHEMA_OPTIONAL,
                      school_type_names));

SCHEMA_DEFINE_STATIC(org_delegate_schema, struct tx_org_delegate, "org.delegate",
              SF_ID(struct tx_org_delegate, code, "code", 0),
              SF_BOOL(struct tx_org_delegate, delegated, "delegated"));

SCHEMA_DEFINE_STATIC(account_add_schema, struct tx_account_add, "account.add",
              SF_ID(struct tx_account_add, id, "id", SCHEMA_NO_PII),
              SF_ID(struct tx_account_add, org, "org", 0),
              SF_ENUM(struct tx_account_add, class, "class", 0, class_names),
              SF_ENUM(struct tx_account_add, post, "post", SCHEMA_OPTIONAL, post_names),
              SF_HASH(struct tx_account_add, pubkey, "pubkey", SCHEMA_OPTIONAL | SCHEMA_PUBKEY),
              SF_STRUCT(struct tx_account_add, person, "person", &ledger_person_schema));

SCHEMA_DEFINE_STATIC(account_ref_schema, struct tx_account_ref, "account",
              SF_ID(struct tx_account_ref, id, "id", SCHEMA_NO_PII));

SCHEMA_DEFINE_STATIC(account_update_schema, struct tx_account_update, "account.update",
              SF_ID(struct tx_account_update, id, "id", SCHEMA_NO_PII),
              SF_ENUM(struct tx_account_update, post, "post", SCHEMA_OPTIONAL, post_names),
              SF_LIST(struct tx_account_update, fields, "fields", SCHEMA_OPTIONAL,
                      LEDGER_PERSON_FIELDS_MAX, &ledger_sealed_schema));

SCHEMA_DEFINE_STATIC(account_op_schema, struct tx_account_op, "account.op",
              SF_ID(struct tx_account_op, id, "id", SCHEMA_NO_PII),
              SF_TEXT(struct tx_account_op, reason, "reason", SCHEMA_NO_PII));

SCHEMA_DEFINE_STATIC(bind_legacy_schema, struct tx_bind_legacy, "account.bind-legacy",
              SF_ID(struct tx_bind_legacy, id, "id", SCHEMA_NO_PII),
              SF_ID(struct tx_bind_legacy, system, "system", 0),
              SF_ID(struct tx_bind_legacy, legacy, "legacy_account", SCHEMA_NO_PII));

SCHEMA_DEFINE_STATIC(system_add_schema, struct tx_system_add, "system.add",
              SF_ID(struct tx_system_add, code, "code", 0),
              SF_TEXT(struct tx_system_add, name, "name", SCHEMA_NO_PII),
              SF_LIST(struct tx_system_add, roles, "roles", 0, LEDGER_ROLES_MAX,
                      &ledger_code_schema),
              SF_LIST(struct tx_system_add, cert_required, "cert_required", SCHEMA_OPTIONAL,
                      LEDGER_ROLES_MAX, &ledger_code_schema));

SCHEMA_DEFINE_STATIC(grant_schema, struct tx_grant, "grant",
              SF_ID(struct tx_grant, account, "account", SCHEMA_NO_PII),
              SF_ID(struct tx_grant, system, "system", 0),
              SF_ID(struct tx_grant, role, "role", 0));

SCHEMA_DEFINE_STATIC(review_schema, struct tx_review, "review.record",
              SF_ID(struct tx_review, org, "org", 0),
              SF_TEXT(struct tx_review, note, "note", SCHEMA_NO_PII));

SCHEMA_DEFINE_STATIC(cert_app_schema, struct tx_cert_app, "cert.app",
                     SF_ID(struct tx_cert_app, account, "account", SCHEMA_NO_PII),
                     SF_TEXT(struct tx_cert_app, note, "note", SCHEMA_OPTIONAL | SCHEMA_NO_PII));

SCHEMA_DEFINE_STATIC(cert_medium_schema, struct tx_cert_medium, "cert.medium",
                     SF_ID(struct tx_cert_medium, account, "account", SCHEMA_NO_PII),
                     SF_ID(struct tx_cert_medium, medium, "medium", 0),
                     SF_ID(struct tx_cert_medium, to, "to", SCHEMA_OPTIONAL | SCHEMA_NO_PII));

SCHEMA_DEFINE_STATIC(cert_medium_return_schema, struct tx_cert_medium_return,
                     "cert.medium-return",
                     SF_ID(struct tx_cert_medium_return, account, "account", SCHEMA_NO_PII),
                     SF_ID(struct tx_cert_medium_return, medium, "medium", 0),
                     SF_TEXT(struct tx_cert_medium_return, reason, "reason", 0));

SCHEMA_DEFINE_STATIC(cert_anchor_schema, struct tx_cert_anchor, "cert.anchor",
                     SF_ID(struct tx_cert_anchor, account, "account", SCHEMA_NO_PII),
                     SF_HASH(struct tx_cert_anchor, fingerprint, "fingerprint", 0),
                     SF_ID(struct tx_cert_anchor, medium, "medium", SCHEMA_OPTIONAL),
                     SF_BYTES(struct tx_cert_anchor, der, "der", 0, LEDGER_CERT_SEALED_MAX));

SCHEMA_DEFINE_STATIC(cert_op_schema, struct tx_cert_op, "cert.op",
                     SF_HASH(struct tx_cert_op, fingerprint, "fingerprint", 0),
                     SF_TEXT(struct tx_cert_op, reason, "reason", SCHEMA_NO_PII));

SCHEMA_DEFINE_STATIC(batch_schema, struct tx_batch, "account.batch-add",
                     SF_LIST(struct tx_batch, records, "records", 0, LEDGER_BATCH_MAX,
                             &account_add_schema));

static const struct {
    const char *name;
    const struct schema *body;
} tx_types[] = {
    [TX_NONE] = {"", NULL},
    [TX_ORG_ADD] = {"org.add", &org_add_schema},
    [TX_ORG_DELEGATE] = {"org.delegate", &org_delegate_schema},
    [TX_ACCOUNT_ADD] = {"account.add", &account_add_schema},
    [TX_ACCOUNT_AUTHORIZE] = {"account.authorize", &account_ref_schema},
    [TX_ACCOUNT_UPDATE] = {"account.update", &account_update_schema},
    [TX_ACCOUNT_DISABLE] = {"account.disable", &account_op_schema},
    [TX_ACCOUNT_RESTORE] = {"account.restore", &account_op_schema},
    [TX_ACCOUNT_LOCK] = {"account.lock", &account_op_schema},
    [TX_ACCOUNT_UNLOCK] = {"account.unlock", &account_op_schema},
    [TX_ACCOUNT_RESET_PASSWORD] = {"account.reset-password", &account_op_schema},
    [TX_ACCOUNT_BIND_LEGACY] = {"account.bind-legacy", &bind_legacy_schema},
    [TX_SYSTEM_ADD] = {"system.add", &system_add_schema},
    [TX_GRANT_ADD] = {"grant.add", &grant_schema},
    [TX_GRANT_REMOVE] = {"grant.remove", &grant_schema},
    [TX_REVIEW_RECORD] = {"review.record", &review_schema},
    [TX_CERT_APPLY] = {"cert.apply", &cert_app_schema},
    [TX_CERT_APPROVE] = {"cert.approve", &cert_app_schema},
    [TX_CERT_MEDIUM] = {"cert.medium", &cert_medium_schema},
    [TX_CERT_ANCHOR] = {"cert.anchor", &cert_anchor_schema},
    [TX_CERT_FREEZE] = {"cert.freeze", &cert_op_schema},
    [TX_CERT_UNFREEZE] = {"cert.unfreeze", &cert_op_schema},
    [TX_CERT_REVOKE] = {"cert.revoke", &cert_op_schema},
    [TX_CERT_MEDIUM_RETURN] = {"cert.medium-return", &cert_medium_return_schema},
    [TX_ACCOUNT_BATCH_ADD] = {"account.batch-add", &batch_schema},
};
_Static_assert(IDL_ARRAY_LEN(tx_types) == TX_TYPE__COUNT, "every transaction type is listed");

const char *
ledger_tx_type_name(unsigned type)
{
    return type < TX_TYPE__COUNT ? tx_types[type].name : "";
}

unsigned
ledger_tx_type_parse(const char *name)
{
    for (unsigned t = 1; t < TX_TYPE__COUNT; t++)
        if (strcmp(tx_types[t].name, name) == 0)
            return t;
    return TX_NONE;
}

const struct schema *
ledger_tx_body_schema(unsigned type)
{
    return type < TX_TYPE__COUNT ? tx_types[type].body : NULL;
}

void
ledger_tx_init(struct ledger_tx *tx, const char *chain_id, unsigned type, const char *actor)
{
    memset(tx, 0, sizeof(*tx));
    tx->version = LEDGER_TX_VERSION;
    snprintf(tx->chain_id, sizeof(tx->chain_id), "%s", chain_id);
    tx->type = (uint16_t)type;
    snprintf(tx->actor, sizeof(tx->actor), "%s", actor);
}

/* Sealed fields must be in strictly ascending field order: one encoding per value. */
static idl_err
sealed_order_check(const struct schema_list *l, char *why, size_t why_len)
{
    const struct ledger_sealed *f = l->items;
    for (uint32_t i = 0; i < l->count; i++)
        if (f[i].field > LEDGER_PERSON_FIELDS_MAX) {
            if (why && why_len)
                snprintf(why, why_len, "a person has no field %s",
                         ledger_person_field_name(f[i].field));
            return IDL_ERR_INVALID;
        }
    for (uint32_t i = 1; i < l->count; i++)
        if (f[i].field <= f[i - 1].field) {
            if (why && why_len)
                snprintf(why, why_len, "personal fields must be distinct and in order");
            return IDL_ERR_INVALID;
        }
    for (uint32_t i = 0; i < l->count; i++)
        if (f[i].data.len < LEDGER_SEAL_OVERHEAD) {
            if (why && why_len)
                snprintf(why, why_len, "sealed %s is too short",
                         ledger_person_field_name(f[i].field));
            return IDL_ERR_INVALID;
        }
    return IDL_OK;
}

bool
ledger_text_has_number(const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t run = 0;
    while (*p) {
        /* U+FF10..U+FF19, the full-width digits: EF BC 90..99 in UTF-8. */
        bool wide = p[0] == 0xef && p[1] == 0xbc && p[2] >= 0x90 && p[2] <= 0x99;
        if ((*p >= '0' && *p <= '9') || wide) {
            if (++run >= 11)
                return true;
            p += wide ? 3 : 1;
        } else if ((*p == ' ' || *p == '-') && run && p[1] >= '0' && p[1] <= '9') {
            p++; /* "138 0013 8000", "138-0013-8000": one number */
        } else {
            run = 0;
            p++;
        }
    }
    return false;
}

/*
 * The free text of certificate transactions is kept in the clear (application notes, the
 * reasons in a certificate's history, a medium's return): refused here, before it can
 * reach a block, if it looks like an ID or mobile number.
 */
static idl_err
cert_text_check(const struct ledger_tx *tx, char *why, size_t why_len)
{
    const char *text = NULL, *name = "reason";
    switch (tx->type) {
    case TX_CERT_APPLY:
    case TX_CERT_APPROVE:
        text = tx->body.cert_app.note;
        name = "note";
        break;
    case TX_CERT_FREEZE:
    case TX_CERT_UNFREEZE:
    case TX_CERT_REVOKE:
        text = tx->body.cert_op.reason;
        break;
    case TX_CERT_MEDIUM_RETURN:
        text = tx->body.cert_medium_return.reason;
        break;
    default:
        return IDL_OK;
    }
    if (!ledger_text_has_number(text))
        return IDL_OK;
    if (why && why_len)
        snprintf(why, why_len,
                 "the %s holds a run of 11 or more digits: it is kept in the clear, so it must "
                 "not carry an ID or mobile number",
                 name);
    return IDL_ERR_INVALID;
}

idl_err
ledger_tx_check(const struct ledger_tx *tx, char *why, size_t why_len)
{
    const struct schema *body = ledger_tx_body_schema(tx->type);
    if (tx->version != LEDGER_TX_VERSION || !body) {
        if (why && why_len)
            snprintf(why, why_len, "unknown transaction version or type");
        return IDL_ERR_INVALID;
    }
    size_t cl = strnlen(tx->chain_id, sizeof(tx->chain_id));
    size_t al = strnlen(tx->actor, sizeof(tx->actor));
    if (cl == 0 || cl > LEDGER_CHAIN_ID_MAX || !schema_id_valid(tx->chain_id, cl, 0) ||
        al == 0 || al > LEDGER_ID_MAX || !schema_id_valid(tx->actor, al, SCHEMA_NO_PII)) {
        if (why && why_len)
            snprintf(why, why_len, "chain id or actor is not a valid id");
        return IDL_ERR_INVALID;
    }
    idl_err rc = schema_check(body, &tx->body, why, why_len);
    if (rc)
        return rc;
    if (tx->type == TX_ACCOUNT_ADD)
        return sealed_order_check(&tx->body.account_add.person.fields, why, why_len);
    if (tx->type == TX_ACCOUNT_BATCH_ADD) {
        const struct tx_account_add *recs = tx->body.batch.records.items;
        for (uint32_t i = 0; i < tx->body.batch.records.count; i++)
            if (sealed_order_check(&recs[i].person.fields, why, why_len) != IDL_OK)
                return IDL_ERR_INVALID;
    }
    if (tx->type == TX_ACCOUNT_UPDATE)
        return sealed_order_check(&tx->body.account_update.fields, why, why_len);
    return cert_text_check(tx, why, why_len);
}

static void
put_string(struct codec_writer *w, const char *s)
{
    size_t n = strlen(s);
    codec_put_u16(w, (uint16_t)n);
    codec_put_raw(w, s, n);
}

/* Everything before the signature: the bytes that sighash covers. */
static idl_err
encode_unsigned(const struct ledger_tx *tx, struct codec_writer *w)
{
    if (ledger_tx_check(tx, NULL, 0) != IDL_OK)
        return IDL_ERR_INVALID;
    codec_put_u8(w, tx->version);
    put_string(w, tx->chain_id);
    codec_put_u16(w, tx->type);
    put_string(w, tx->actor);
    codec_put_u64(w, tx->nonce);
    codec_put_u64(w, tx->time);
    codec_put_raw(w, tx->basis, HASH_BYTES);
    schema_encode(ledger_tx_body_schema(tx->type), &tx->body, w);
    return w->failed ? IDL_ERR_NOMEM : IDL_OK;
}

idl_err
ledger_tx_sign(struct ledger_tx *tx, const uint8_t sk[SIG_SECKEY_BYTES])
{
    uint8_t aux[32];
    randombytes_buf(aux, sizeof(aux));
    return ledger_tx_sign_aux(tx, sk, aux);
}

idl_err
ledger_tx_sign_aux(struct ledger_tx *tx, const uint8_t sk[SIG_SECKEY_BYTES], const uint8_t *aux32)
{
    struct codec_writer w;
    codec_writer_init(&w);
    idl_err rc = encode_unsigned(tx, &w);
    if (rc == IDL_OK) {
        hash_tagged(tx->sighash, "idledger/tx-sig", w.data, w.len);
        rc = sig_sign_aux(tx->sig, tx->sighash, sk, aux32);
    }
    if (rc == IDL_OK) {
        codec_put_raw(&w, tx->sig, SIG_BYTES);
        if (w.failed)
            rc = IDL_ERR_NOMEM;
        else
            hash_tagged(tx->id, "idledger/txid", w.data, w.len);
    }
    codec_writer_discard(&w);
    return rc;
}

idl_err
ledger_tx_encode(const struct ledger_tx *tx, struct idl_bytes *out)
{
    memset(out, 0, sizeof(*out));
    struct codec_writer w;
    codec_writer_init(&w);
    idl_err rc = encode_unsigned(tx, &w);
    if (rc) {
        codec_writer_discard(&w);
        return rc;
    }
    codec_put_raw(&w, tx->sig, SIG_BYTES);
    rc = codec_writer_finish(&w, out);
    if (rc == IDL_OK && out->len > LEDGER_TX_BYTES_MAX) {
        free(out->data);
        memset(out, 0, sizeof(*out));
        return IDL_ERR_TOO_LARGE;
    }
    return rc;
}

static void
get_string(struct codec_reader *r, char *out, size_t max)
{
    uint16_t n = codec_get_u16(r);
    if (n > max) {
        codec_reader_fail(r);
        return;
    }
    const uint8_t *v = codec_get_view(r, n);
    if (!v || memchr(v, 0, n)) {
        codec_reader_fail(r);
        return;
    }
    memcpy(out, v, n);
    out[n] = '\0';
}

idl_err
ledger_tx_decode(struct ledger_tx *tx, const uint8_t *data, size_t len, const char *chain_id)
{
    memset(tx, 0, sizeof(*tx));
    if (len > LEDGER_TX_BYTES_MAX)
        return IDL_ERR_TOO_LARGE;
    struct codec_reader r;
    codec_reader_init(&r, data, len);
    tx->version = codec_get_u8(&r);
    idl_err early = IDL_OK;
    if (r.failed)
        early = IDL_ERR_MALFORMED;
    else if (tx->version != LEDGER_TX_VERSION)
        early = IDL_ERR_VERSION;
    if (!early)
        get_string(&r, tx->chain_id, LEDGER_CHAIN_ID_MAX);
    if (!early && r.failed)
        early = IDL_ERR_MALFORMED;
    else if (!early && strcmp(tx->chain_id, chain_id) != 0)
        early = IDL_ERR_CHAIN;
    if (!early)
        tx->type = codec_get_u16(&r);
    const struct schema *body = early ? NULL : ledger_tx_body_schema(tx->type);
    if (!early && !body)
        early = IDL_ERR_MALFORMED;
    if (early) {
        memset(tx, 0, sizeof(*tx));
        return early;
    }
    get_string(&r, tx->actor, LEDGER_ID_MAX);
    tx->nonce = codec_get_u64(&r);
    tx->time = codec_get_u64(&r);
    codec_get_raw(&r, tx->basis, HASH_BYTES);
    schema_decode(body, &tx->body, &r);
    size_t signed_len = r.off;
    codec_get_raw(&r, tx->sig, SIG_BYTES);
    idl_err rc = codec_reader_finish(&r);
    if (rc == IDL_OK && ledger_tx_check(tx, NULL, 0) != IDL_OK)
        rc = IDL_ERR_MALFORMED;
    if (rc) {
        ledger_tx_free(tx);
        return rc;
    }
    hash_tagged(tx->sighash, "idledger/tx-sig", data, signed_len);
    hash_tagged(tx->id, "idledger/txid", data, len);
    return IDL_OK;
}

bool
ledger_tx_verify(const struct ledger_tx *tx, const uint8_t pk[SIG_PUBKEY_BYTES])
{
    return sig_verify(tx->sig, tx->sighash, pk);
}

void
ledger_tx_free(struct ledger_tx *tx)
{
    const struct schema *body = ledger_tx_body_schema(tx->type);
    if (body)
        schema_free(body, &tx->body);
    memset(tx, 0, sizeof(*tx));
}

const char *
ledger_tx_target(const struct ledger_tx *tx)
{
    const union ledger_tx_body *b = &tx->body;
    switch (tx->type) {
    case TX_ORG_ADD:
        return b->org_add.code;
    case TX_ORG_DELEGATE:
        return b->org_delegate.code;
    case TX_ACCOUNT_ADD:
        return b->account_add.id;
    case TX_ACCOUNT_AUTHORIZE:
        return b->account_ref.id;
    case TX_ACCOUNT_UPDATE:
        return b->account_update.id;
    case TX_ACCOUNT_DISABLE:
    case TX_ACCOUNT_RESTORE:
    case TX_ACCOUNT_LOCK:
    case TX_ACCOUNT_UNLOCK:
    case TX_ACCOUNT_RESET_PASSWORD:
        return b->account_op.id;
    case TX_ACCOUNT_BIND_LEGACY:
        return b->bind_legacy.id;
    case TX_SYSTEM_ADD:
        return b->system_add.code;
    case TX_GRANT_ADD:
    case TX_GRANT_REMOVE:
        return b->grant.account;
    case TX_REVIEW_RECORD:
        return b->review.org;
    case TX_CERT_APPLY:
    case TX_CERT_APPROVE:
        return b->cert_app.account;
    case TX_CERT_MEDIUM:
        return b->cert_medium.account;
    case TX_CERT_MEDIUM_RETURN:
        return b->cert_medium_return.account;
    case TX_CERT_ANCHOR:
        return b->cert_anchor.account;
    case TX_ACCOUNT_BATCH_ADD:
        return b->batch.records.count ? ((const struct tx_account_add *)b->batch.records.items)[0].org
                                      : "";
    default:
        return "";
    }
}

void
api_request_sighash(uint8_t out[HASH_BYTES], const char *chain_id, const char *method,
                    const char *uri, uint64_t time_ms)
{
    api_request_sighash_body(out, chain_id, method, uri, time_ms, NULL, 0);
}

void
api_request_sighash_body(uint8_t out[HASH_BYTES], const char *chain_id, const char *method,
                         const char *uri, uint64_t time_ms, const void *body, size_t body_len)
{
    struct hash_ctx ctx;
    uint8_t sep = 0, t[8];
    hash_tagged_init(&ctx, "idledger/api-request");
    hash_update(&ctx, chain_id, strlen(chain_id));
    hash_update(&ctx, &sep, 1);
    hash_update(&ctx, method, strlen(method));
    hash_update(&ctx, &sep, 1);
    hash_update(&ctx, uri, strlen(uri));
    hash_update(&ctx, &sep, 1);
    codec_be64_put(t, time_ms);
    hash_update(&ctx, t, 8);
    if (body_len) {
        uint8_t body_hash[HASH_BYTES];
        hash_sha256(body_hash, body, body_len);
        hash_update(&ctx, body_hash, HASH_BYTES);
    }
    hash_final(&ctx, out);
}

/*
 * The domain rules, one handler per transaction type.
 *
 * Every handler follows the same order: load what the operation names (refusing what does
 * not exist), check that the actor holds the right post at the right organisation, check
 * the target's state and the chain's policies, and only then write. Because the caller
 * drops the layer on refusal, a handler may write before a later check fails, but none
 * does: reading as a sequence of checks followed by writes keeps each rule visible.
 *
 * Who acts for whom (DOMAIN.md §1-§3):
 *   - management accounts of O are created, changed, disabled and restored by the sysadmin
 *     of O's parent, and authorised by the secadmin of O's parent. The root organisation
 *     has no parent; its own sysadmin and secadmin act for it, never on their own account;
 *   - business accounts of O are created and changed by the sysadmin of O, and granted
 *     roles by the secadmin of O; if O delegated its business users to its parent, by the
 *     parent's instead;
 *   - auditors create and grant nothing: they read the audit log.
 */
#include "rules.h"
#include "rules_internal.h"

#include "person.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

idl_err
rules_refuse(struct rules *r, idl_err code, const char *fmt, ...)
{
    if (r->why && r->why_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->why, r->why_len, fmt, ap);
        va_end(ap);
    }
    return code;
}

void
rules_key1(struct state_key *k, enum state_space sp, const char *a)
{
    state_key_init(k, sp);
    state_key_str(k, a);
}

void
rules_key2(struct state_key *k, enum state_space sp, const char *a, const char *b)
{
    rules_key1(k, sp, a);
    state_key_str(k, b);
}

void
rules_key3(struct state_key *k, enum state_space sp, const char *a, const char *b, const char *c)
{
    rules_key2(k, sp, a, b);
    state_key_str(k, c);
}

static void
slot_key(struct state_key *k, const char *org, unsigned post)
{
    rules_key1(k, SP_SLOT, org);
    uint8_t p = (uint8_t)post;
    state_key_raw(k, &p, 1);
}

static const char *
post_name(unsigned post)
{
    return ledger_post_name(post);
}

idl_err
rules_need_org(struct rules *r, const char *code, struct rec_org *org)
{
    idl_err rc = state_org_get(r->st, code, org);
    if (rc == IDL_ERR_NOT_FOUND)
        return rules_refuse(r, rc, "organisation %s does not exist", code);
    return rc;
}

idl_err
rules_need_account(struct rules *r, const char *id, struct rec_account *acct)
{
    idl_err rc = state_account_get(r->st, id, acct);
    if (rc == IDL_ERR_NOT_FOUND)
        return rules_refuse(r, rc, "account %s does not exist", id);
    return rc;
}

/* The actor must hold `post` at organisation `org`; `what` completes "may ...". */
idl_err
rules_need_admin(struct rules *r, unsigned post, const char *org, const char *what)
{
    const struct rec_account *a = r->actor;
    if (a->post == POST_AUDITOR && post != POST_AUDITOR)
        return rules_refuse(r, IDL_ERR_DENIED, "%s is a security auditor: auditors audit and may not %s",
                      a->id, what);
    if (a->post == post && strcmp(a->org, org) == 0)
        return IDL_OK;
    return rules_refuse(r, IDL_ERR_DENIED, "only the %s of %s may %s; %s is the %s of %s",
                  post_name(post), org, what, a->id, post_name(a->post), a->org);
}

/* The organisation whose admins act for management accounts of `org`. */
const char *
rules_mgmt_parent(const struct rec_org *org)
{
    return org->parent[0] ? org->parent : org->code;
}

/* The organisation whose admins act for business accounts of `org`. */
const char *
rules_business_manager(const struct rec_org *org)
{
    return org->delegated && org->parent[0] ? org->parent : org->code;
}

/* The org whose sysadmin manages `acct` (creates, changes, disables it). */
idl_err
rules_manager_of(struct rules *r, const struct rec_account *acct, char out[LEDGER_CODE_MAX + 1])
{
    struct rec_org org;
    idl_err rc = rules_need_org(r, acct->org, &org);
    if (rc)
        return rc;
    snprintf(out, LEDGER_CODE_MAX + 1, "%s",
             acct->class == CLASS_MANAGEMENT ? rules_mgmt_parent(&org) : rules_business_manager(&org));
    return IDL_OK;
}

idl_err
rules_need_basis(struct rules *r, const char *what)
{
    if (hash_is_zero(r->tx->basis))
        return rules_refuse(r, IDL_ERR_INVALID,
                      "%s needs its signed form: give the hash of the scanned form as basis",
                      what);
    return IDL_OK;
}

idl_err
rules_not_self(struct rules *r, const char *target, const char *what)
{
    if (strcmp(r->actor->id, target) == 0)
        return rules_refuse(r, IDL_ERR_DENIED, "an administrator may not %s their own account", what);
    return IDL_OK;
}

/* The account holding `post` at `org`, if any (holder->id empty if none). */
static idl_err
slot_holder(struct rules *r, const char *org, unsigned post, struct rec_account *holder)
{
    memset(holder, 0, sizeof(*holder));
    struct state_key k;
    slot_key(&k, org, post);
    struct idl_bytes v;
    idl_err rc = state_get(r->st, &k, &v);
    if (rc == IDL_ERR_NOT_FOUND)
        return IDL_OK;
    if (rc)
        return rc;
    char id[LEDGER_ID_MAX + 1];
    if (v.len == 0 || v.len > LEDGER_ID_MAX) {
        free(v.data);
        return IDL_ERR_CORRUPT;
    }
    memcpy(id, v.data, v.len);
    id[v.len] = '\0';
    free(v.data);
    return state_account_get(r->st, id, holder);
}

static idl_err
slot_take(struct rules *r, const struct rec_org *org, unsigned post, const char *id)
{
    struct rec_account holder;
    idl_err rc = slot_holder(r, org->code, post, &holder);
    if (rc)
        return rc;
    if (holder.id[0] && strcmp(holder.id, id) != 0)
        return rules_refuse(r, IDL_ERR_EXISTS, "%s already has %s %s (%s); disable it first",
                      org->code, post == POST_AUDITOR ? "an" : "a", post_name(post), holder.id);
    struct state_key k;
    slot_key(&k, org->code, post);
    return state_put(r->st, &k, id, strlen(id));
}

static idl_err
slot_free(struct rules *r, const char *org, unsigned post, const char *id)
{
    struct rec_account holder;
    idl_err rc = slot_holder(r, org, post, &holder);
    if (rc || strcmp(holder.id, id) != 0)
        return rc;
    struct state_key k;
    slot_key(&k, org, post);
    return state_del(r->st, &k);
}

/*
 * Where policy "schools" lets one person be both sysadmin and secadmin: seed 000 names
 * 幼儿园、中小学和中职学校. Nine- and twelve-year schools are primary and middle schools in
 * one (中小学); special-education and other schools are not named, nor is any bureau.
 */
static bool
school_may_share(const struct rec_org *org)
{
    if (org->kind != ORG_KIND_SCHOOL)
        return false;
    switch (org->school_type) {
    case SCHOOL_KINDERGARTEN:
    case SCHOOL_PRIMARY:
    case SCHOOL_MIDDLE:
    case SCHOOL_VOCATIONAL:
    case SCHOOL_NINE_YEAR:
    case SCHOOL_TWELVE_YEAR:
        return true;
    default:
        return false;
    }
}

/*
 * The people rules of the three posts: the auditor is never the same person as the
 * sysadmin or secadmin (always); sysadmin and secadmin may be one person per policy.
 */
static idl_err
posts_people_check(struct rules *r, const struct rec_org *org, unsigned post,
                   const uint8_t person[HASH_BYTES], const char *self)
{
    for (unsigned other = POST_SYSADMIN; other < POST__COUNT; other++) {
        if (other == post)
            continue;
        struct rec_account h;
        idl_err rc = slot_holder(r, org->code, other, &h);
        if (rc)
            return rc;
        if (!h.id[0] || strcmp(h.id, self) == 0 || memcmp(h.person, person, HASH_BYTES) != 0)
            continue;
        if (post == POST_AUDITOR || other == POST_AUDITOR)
            return rules_refuse(r, IDL_ERR_POLICY,
                          "the auditor of %s must be a different person from its sysadmin and "
                          "secadmin (%s is the same person)",
                          org->code, h.id);
        unsigned same = r->ctx->policy->same_person_sys_sec;
        if (same == SAME_NEVER)
            return rules_refuse(r, IDL_ERR_POLICY,
                          "policy: one person may not be both sysadmin and secadmin (%s is the "
                          "same person)",
                          h.id);
        if (same == SAME_SCHOOLS && !school_may_share(org))
            return rules_refuse(r, IDL_ERR_POLICY,
                          "policy: only at a kindergarten, primary, middle or secondary "
                          "vocational school may one person be both sysadmin and secadmin "
                          "(%s is the same person)",
                          h.id);
    }
    return IDL_OK;
}

idl_err
rules_put_account(struct rules *r, struct rec_account *a, unsigned prev_status)
{
    struct state_key k;
    rules_key1(&k, SP_ACCOUNT, a->id);
    idl_err rc = state_put_rec(r->st, &k, &rec_account_schema, a);
    if (rc || a->status == prev_status)
        return rc;
    rc = state_count_move(r->st, a->org, a->class, prev_status, a->status);
    if (rc)
        return rc;
    struct rec_status log = {a->status, r->ctx->time_ms};
    rules_key1(&k, SP_STATUS_LOG, a->id);
    state_key_u64(&k, r->ctx->height);
    state_key_u32(&k, r->ctx->index);
    return state_put_rec(r->st, &k, &rec_status_schema, &log);
}

void
rules_mark_changed(struct rules *r, struct rec_account *a)
{
    a->changed_height = r->ctx->height;
    a->changed_time_ms = r->ctx->time_ms;
}

/* ---- organisations ---- */

static bool
kind_fits_parent(unsigned kind, unsigned parent_kind)
{
    switch (kind) {
    case ORG_KIND_CITY:
    case ORG_KIND_UNIVERSITY:
        return parent_kind == ORG_KIND_PROVINCE;
    case ORG_KIND_COUNTY:
        return parent_kind == ORG_KIND_CITY;
    case ORG_KIND_SCHOOL: /* county schools, city-run and province-run schools */
        return parent_kind == ORG_KIND_COUNTY || parent_kind == ORG_KIND_CITY ||
               parent_kind == ORG_KIND_PROVINCE;
    case ORG_KIND_OTHER:
        return true;
    default:
        return false;
    }
}

/* The level of organisation o in the tree (the root is 1), counted up to max + 1. */
static idl_err
org_level(struct rules *r, const struct rec_org *o, unsigned max, unsigned *level)
{
    struct rec_org up = *o;
    *level = 1;
    while (up.parent[0] && *level <= max) {
        idl_err rc = state_org_get(r->st, up.parent, &up);
        if (rc)
            return rc;
        (*level)++;
    }
    return IDL_OK;
}

static idl_err
apply_org_add(struct rules *r)
{
    const struct tx_org_add *b = &r->tx->body.org_add;
    struct rec_org parent, existing;
    idl_err rc = rules_need_org(r, b->parent, &parent);
    if (!rc)
        rc = rules_need_admin(r, POST_SYSADMIN, parent.code, "add organisations under it");
    if (rc)
        return rc;
    rc = state_org_get(r->st, b->code, &existing);
    if (rc == IDL_OK)
        return rules_refuse(r, IDL_ERR_EXISTS, "organisation %s already exists", b->code);
    if (rc != IDL_ERR_NOT_FOUND)
        return rc;
    if (!kind_fits_parent(b->kind, parent.kind))
        return rules_refuse(r, IDL_ERR_INVALID, "a %s cannot be under a %s",
                      ledger_org_kind_name(b->kind), ledger_org_kind_name(parent.kind));
    if ((b->kind == ORG_KIND_SCHOOL) != (b->school_type != SCHOOL_NONE))
        return rules_refuse(r, IDL_ERR_INVALID, "a school type is given for schools, and only for them");
    unsigned level;
    if ((rc = org_level(r, &parent, LEDGER_ORG_DEPTH_MAX, &level)) != IDL_OK)
        return rc;
    if (level >= LEDGER_ORG_DEPTH_MAX)
        return rules_refuse(r, IDL_ERR_POLICY, "the organisation tree is at most %d levels deep",
                            LEDGER_ORG_DEPTH_MAX);

    struct rec_org org = {0};
    snprintf(org.code, sizeof(org.code), "%s", b->code);
    snprintf(org.name, sizeof(org.name), "%s", b->name);
    org.kind = b->kind;
    snprintf(org.parent, sizeof(org.parent), "%s", b->parent);
    org.school_type = b->school_type;
    org.created_height = r->ctx->height;
    struct state_key k;
    rules_key1(&k, SP_ORG, org.code);
    rc = state_put_rec(r->st, &k, &rec_org_schema, &org);
    if (rc)
        return rc;
    rules_key2(&k, SP_ORG_CHILD, org.parent, org.code);
    return state_put(r->st, &k, "", 0);
}

static idl_err
apply_org_delegate(struct rules *r)
{
    const struct tx_org_delegate *b = &r->tx->body.org_delegate;
    struct rec_org org;
    idl_err rc = rules_need_org(r, b->code, &org);
    if (rc)
        return rc;
    if (!org.parent[0])
        return rules_refuse(r, IDL_ERR_INVALID, "the root organisation has no parent to delegate to");
    rc = rules_need_admin(r, POST_SYSADMIN, org.parent, "decide delegation of its children");
    if (rc)
        return rc;
    if (org.kind != ORG_KIND_SCHOOL && org.kind != ORG_KIND_OTHER)
        return rules_refuse(r, IDL_ERR_INVALID, "only schools (and other units) delegate; %s is a %s",
                      org.code, ledger_org_kind_name(org.kind));
    if (org.delegated == b->delegated)
        return rules_refuse(r, IDL_ERR_STATE, "%s is already %s", org.code,
                      b->delegated ? "delegated" : "not delegated");
    org.delegated = b->delegated;
    struct state_key k;
    rules_key1(&k, SP_ORG, org.code);
    return state_put_rec(r->st, &k, &rec_org_schema, &org);
}

/* ---- accounts ---- */

/*
 * What a transaction says about a person is checked against the chain's keys before the
 * ledger believes it: every sealed field opens for this person and holds a valid value, and
 * the sealed ID number (always required) is a valid GB 11643 number whose keyed hash is the
 * person key. The API does the same at entry, but a sysadmin can sign a transaction without
 * the API: without this a made-up key would give one person a second identity, and sealed
 * garbage would go on the ledger. A new and an existing person are checked alike, so that
 * nobody attaches an account to a person whose ID number they do not know.
 */
static idl_err
person_verify(struct rules *r, const struct ledger_person *p, const char *id)
{
    if (!r->ctx->pkeys)
        return rules_refuse(r, IDL_ERR_UNAVAILABLE, "this node holds no chain secret");
    bool number;
    unsigned field;
    const char *why;
    if (person_fields_verify(r->ctx->pkeys, p->key, p->doc_type, &p->fields, &number, &field,
                             &why) != IDL_OK)
        return rules_refuse(r, IDL_ERR_INVALID, "personal data of %s refused: %s: %s", id,
                            ledger_person_field_name(field), why);
    if (!number)
        return rules_refuse(r, IDL_ERR_INVALID,
                            "personal data of %s refused: no sealed ID number vouches for its "
                            "person key",
                            id);
    return IDL_OK;
}

/*
 * An account for a person already on the chain (stored at key k) may carry a name: it must
 * be the registered one. The node's sealing refuses "registered under another name" at
 * entry, but two imports sealing the same number under two names can both get that far;
 * without this the second account would silently join the first person.
 */
static idl_err
person_name_agrees(struct rules *r, const struct state_key *k, const struct ledger_person *p)
{
    const struct ledger_sealed *f = p->fields.items;
    uint32_t i = 0;
    while (i < p->fields.count && f[i].field != PF_NAME)
        i++;
    if (i == p->fields.count)
        return IDL_OK;
    if (!r->ctx->pkeys)
        return rules_refuse(r, IDL_ERR_INVALID, "this node cannot open personal data");
    struct ledger_person stored;
    idl_err rc = state_get_rec(r->st, k, &ledger_person_schema, &stored);
    if (rc)
        return rc;
    char name[LEDGER_PERSON_TEXT_MAX + 1];
    bool same = true;
    rc = person_open(r->ctx->pkeys, p->key, PF_NAME, f[i].data.data, f[i].data.len, name,
                     sizeof(name));
    if (!rc)
        rc = person_name_is(r->ctx->pkeys, &stored, name, &same);
    sodium_memzero(name, sizeof(name));
    schema_free(&ledger_person_schema, &stored);
    if (rc)
        return rules_refuse(r, IDL_ERR_INVALID, "the person's sealed name does not open");
    if (!same)
        return rules_refuse(r, IDL_ERR_EXISTS, "this ID number is registered under another name");
    return IDL_OK;
}

static idl_err
person_attach(struct rules *r, const struct ledger_person *p, const char *id)
{
    struct state_key k;
    state_key_init(&k, SP_PERSON);
    state_key_raw(&k, p->key, HASH_BYTES);
    bool exists;
    idl_err rc = state_has(r->st, &k, &exists);
    if (rc)
        return rc;
    if (!exists) {
        /* A new person needs a name and a document number (both sealed). */
        bool name = false, number = false;
        const struct ledger_sealed *f = p->fields.items;
        for (uint32_t i = 0; i < p->fields.count; i++) {
            name |= f[i].field == PF_NAME;
            number |= f[i].field == PF_ID_NUMBER;
        }
        if (!name || !number)
            return rules_refuse(r, IDL_ERR_INVALID, "a new person needs a name and an ID number");
        rc = state_put_rec(r->st, &k, &ledger_person_schema, p);
        if (rc)
            return rc;
    } else if ((rc = person_name_agrees(r, &k, p)) != IDL_OK) {
        return rc;
    }
    /* An existing person keeps their data: changing it is account.update's job. */
    state_key_init(&k, SP_PERSON_ACCOUNT);
    state_key_raw(&k, p->key, HASH_BYTES);
    state_key_str(&k, id);
    return state_put(r->st, &k, "", 0);
}

static idl_err
pubkey_claim(struct rules *r, const uint8_t pk[SIG_PUBKEY_BYTES], const char *id)
{
    struct state_key k;
    state_key_init(&k, SP_PUBKEY);
    state_key_raw(&k, pk, SIG_PUBKEY_BYTES);
    bool used;
    idl_err rc = state_has(r->st, &k, &used);
    if (rc)
        return rc;
    if (used)
        return rules_refuse(r, IDL_ERR_EXISTS, "that public key already belongs to another account");
    return state_put(r->st, &k, id, strlen(id));
}

static idl_err
check_account_add(struct rules *r, const struct tx_account_add *b, const struct rec_org *org)
{
    if (b->class == CLASS_MANAGEMENT) {
        idl_err rc = rules_need_admin(r, POST_SYSADMIN, rules_mgmt_parent(org),
                                "create management accounts of its child organisations");
        if (rc)
            return rc;
        if (b->post == POST_NONE || hash_is_zero(b->pubkey))
            return rules_refuse(r, IDL_ERR_INVALID, "a management account needs a post and a public key");
        rc = rules_need_basis(r, "creating a management account");
        if (rc)
            return rc;
        return posts_people_check(r, org, b->post, b->person.key, b->id);
    }
    idl_err rc = rules_need_admin(r, POST_SYSADMIN, rules_business_manager(org),
                            "create business accounts of this organisation");
    if (rc)
        return rc;
    if (b->post != POST_NONE)
        return rules_refuse(r, IDL_ERR_INVALID, "a business account has no management post");
    return IDL_OK;
}

static idl_err
account_add(struct rules *r, const struct tx_account_add *b)
{
    struct rec_org org;
    struct rec_account a;
    idl_err rc = rules_need_org(r, b->org, &org);
    if (!rc)
        rc = check_account_add(r, b, &org);
    if (!rc)
        rc = person_verify(r, &b->person, b->id);
    if (rc)
        return rc;
    rc = state_account_get(r->st, b->id, &a);
    if (rc == IDL_OK)
        return rules_refuse(r, IDL_ERR_EXISTS, "account %s already exists", b->id);
    if (rc != IDL_ERR_NOT_FOUND)
        return rc;
    rc = IDL_OK;

    memset(&a, 0, sizeof(a));
    snprintf(a.id, sizeof(a.id), "%s", b->id);
    snprintf(a.org, sizeof(a.org), "%s", b->org);
    a.class = b->class;
    a.post = b->post;
    a.status = b->class == CLASS_MANAGEMENT ? STATUS_PENDING : STATUS_ACTIVE;
    memcpy(a.pubkey, b->pubkey, SIG_PUBKEY_BYTES);
    memcpy(a.person, b->person.key, HASH_BYTES);
    a.created_height = r->ctx->height;
    a.created_time_ms = r->ctx->time_ms;
    rules_mark_changed(r, &a);

    if (b->class == CLASS_MANAGEMENT)
        rc = slot_take(r, &org, b->post, a.id);
    if (!rc && !hash_is_zero(b->pubkey))
        rc = pubkey_claim(r, b->pubkey, a.id);
    if (!rc)
        rc = person_attach(r, &b->person, a.id);
    if (!rc)
        rc = rules_put_account(r, &a, STATUS_NONE);
    if (rc)
        return rc;
    struct state_key k;
    rules_key2(&k, SP_ACCOUNT_BY_ORG, a.org, a.id);
    return state_put(r->st, &k, "", 0);
}

static idl_err
apply_account_add(struct rules *r)
{
    return account_add(r, &r->tx->body.account_add);
}

/* Records the outcome of one batch record: an audit entry, and if refused, why. */
static idl_err
batch_record_done(struct rules *r, uint32_t i, const char *target, idl_err code, const char *why)
{
    struct rec_audit e = {0};
    memcpy(e.txid, r->tx->id, HASH_BYTES);
    e.type = r->tx->type;
    snprintf(e.actor, sizeof(e.actor), "%s", r->actor->id);
    snprintf(e.actor_org, sizeof(e.actor_org), "%s", r->actor->org);
    e.actor_post = r->actor->post;
    snprintf(e.target, sizeof(e.target), "%s", target);
    memcpy(e.basis, r->tx->basis, HASH_BYTES);
    e.height = r->ctx->height;
    e.index = r->ctx->index;
    e.record = i + 1;
    e.time_ms = r->ctx->time_ms;
    e.status = code ? TXS_REJECTED : TXS_COMMITTED;
    e.code = (uint8_t)code;
    idl_err rc = state_audit_put(r->st, r->actor->org, &e);
    if (rc || !code)
        return rc;
    struct rec_tx res = {r->ctx->height, r->ctx->index, TXS_REJECTED, (uint8_t)code};
    struct state_key k;
    state_key_init(&k, SP_RECORD);
    state_key_raw(&k, r->tx->id, HASH_BYTES);
    state_key_u32(&k, i);
    rc = state_put_rec(r->st, &k, &rec_tx_schema, &res);
    state_key_init(&k, SP_REASON);
    state_key_raw(&k, r->tx->id, HASH_BYTES);
    state_key_u32(&k, i);
    if (!rc)
        rc = state_put(r->st, &k, why, strlen(why));
    return rc;
}

/*
 * A batch: each record is an account.add of a business account, applied in a layer of its
 * own and kept or dropped alone. The transaction itself succeeds; refusals are per record
 * (SP_RECORD, SP_REASON keyed by txid and record).
 */
static idl_err
apply_batch(struct rules *r)
{
    const struct tx_account_add *recs = r->tx->body.batch.records.items;
    char *saved = r->why;
    size_t saved_len = r->why_len;
    char why[RULES_WHY_MAX];
    idl_err rc = IDL_OK;
    uint32_t refused = 0;
    r->why = why;
    r->why_len = sizeof(why);
    for (uint32_t i = 0; i < r->tx->body.batch.records.count && !rc; i++) {
        why[0] = '\0';
        idl_err code;
        if (recs[i].class != CLASS_BUSINESS) {
            code = rules_refuse(r, IDL_ERR_INVALID, "a batch creates business accounts only");
        } else if ((rc = state_begin(r->st)) != IDL_OK) {
            break;
        } else {
            code = account_add(r, &recs[i]);
            if (code == IDL_OK) {
                rc = state_commit(r->st);
            } else {
                state_rollback(r->st);
                if (code == IDL_ERR_NOMEM || code == IDL_ERR_IO || code == IDL_ERR_CORRUPT)
                    rc = code; /* ours, not the record's */
            }
        }
        refused += code != IDL_OK;
        if (!rc)
            rc = batch_record_done(r, i, recs[i].id, code, why);
    }
    r->why = saved;
    r->why_len = saved_len;
    if (!rc && r->why && r->why_len)
        snprintf(r->why, r->why_len, "%u of %u records refused", refused,
                 r->tx->body.batch.records.count);
    return rc;
}

static idl_err
apply_account_authorize(struct rules *r)
{
    const char *id = r->tx->body.account_ref.id;
    struct rec_account a;
    struct rec_org org;
    idl_err rc = rules_need_account(r, id, &a);
    if (!rc && a.class != CLASS_MANAGEMENT)
        return rules_refuse(r, IDL_ERR_INVALID,
                      "%s is a business account: the secadmin grants it roles instead", id);
    if (!rc)
        rc = rules_need_org(r, a.org, &org);
    if (!rc)
        rc = rules_need_admin(r, POST_SECADMIN, rules_mgmt_parent(&org),
                        "authorise management accounts of its child organisations");
    if (!rc)
        rc = rules_not_self(r, id, "authorise");
    if (!rc)
        rc = rules_need_basis(r, "authorising a management account");
    if (rc)
        return rc;
    if (a.status != STATUS_PENDING)
        return rules_refuse(r, IDL_ERR_STATE, "%s is %s, not pending", id, ledger_status_name(a.status));
    a.status = STATUS_ACTIVE;
    a.authorized = 1;
    rules_mark_changed(r, &a);
    return rules_put_account(r, &a, STATUS_PENDING);
}

/*
 * Loads the target of an account operation and checks that the actor is the sysadmin who
 * manages it, and that a management target comes with its form.
 */
idl_err
rules_need_managed_account(struct rules *r, const char *id, const char *what, struct rec_account *a)
{
    char manager[LEDGER_CODE_MAX + 1];
    idl_err rc = rules_need_account(r, id, a);
    if (!rc)
        rc = rules_manager_of(r, a, manager);
    if (!rc)
        rc = rules_need_admin(r, POST_SYSADMIN, manager, what);
    if (!rc && a->class == CLASS_MANAGEMENT) {
        rc = rules_not_self(r, id, "change");
        if (!rc)
            rc = rules_need_basis(r, "an operation on a management account");
    }
    return rc;
}

static idl_err
person_update(struct rules *r, const struct rec_account *a, const struct schema_list *fields)
{
    struct state_key k;
    state_key_init(&k, SP_PERSON);
    state_key_raw(&k, a->person, HASH_BYTES);
    struct ledger_person p;
    idl_err rc = state_get_rec(r->st, &k, &ledger_person_schema, &p);
    if (rc == IDL_ERR_NOT_FOUND)
        return rules_refuse(r, rc, "%s has no personal record to update", a->id);
    if (rc)
        return rc;
    unsigned field;
    const char *why;
    if (!r->ctx->pkeys)
        rc = rules_refuse(r, IDL_ERR_UNAVAILABLE, "this node holds no chain secret");
    else if (person_fields_verify(r->ctx->pkeys, a->person, p.doc_type, fields, NULL, &field,
                                  &why) != IDL_OK)
        rc = rules_refuse(r, IDL_ERR_INVALID, "personal data of %s refused: %s: %s", a->id,
                          ledger_person_field_name(field), why);
    if (rc) {
        schema_free(&ledger_person_schema, &p);
        return rc;
    }
    /* Merge: both lists are in ascending field order; the update wins on a tie. */
    struct ledger_sealed merged[PF__COUNT];
    const struct ledger_sealed *old = p.fields.items, *upd = fields->items;
    uint32_t i = 0, j = 0, n = 0;
    while (i < p.fields.count || j < fields->count) {
        if (j == fields->count || (i < p.fields.count && old[i].field < upd[j].field))
            merged[n++] = old[i++];
        else {
            if (i < p.fields.count && old[i].field == upd[j].field)
                i++;
            merged[n++] = upd[j++];
        }
    }
    struct ledger_person out = p;
    out.fields.items = merged;
    out.fields.count = n;
    rc = state_put_rec(r->st, &k, &ledger_person_schema, &out);
    schema_free(&ledger_person_schema, &p);
    return rc;
}

static idl_err
change_post(struct rules *r, struct rec_account *a, unsigned post)
{
    if (a->class != CLASS_MANAGEMENT)
        return rules_refuse(r, IDL_ERR_INVALID, "only management accounts have a post");
    if (a->status == STATUS_DISABLED)
        return rules_refuse(r, IDL_ERR_STATE, "%s is disabled; restore it before changing its post",
                      a->id);
    if (a->post == post)
        return rules_refuse(r, IDL_ERR_STATE, "%s is already the %s", a->id, post_name(post));
    struct rec_org org;
    idl_err rc = rules_need_org(r, a->org, &org);
    if (!rc)
        rc = posts_people_check(r, &org, post, a->person, a->id);
    if (!rc)
        rc = slot_free(r, a->org, a->post, a->id);
    if (!rc)
        rc = slot_take(r, &org, post, a->id);
    if (rc)
        return rc;
    /* A new post is a new authorisation: the parent's secadmin must approve it again. */
    a->post = (uint8_t)post;
    a->status = STATUS_PENDING;
    a->authorized = 0;
    return IDL_OK;
}

static idl_err
apply_account_update(struct rules *r)
{
    const struct tx_account_update *b = &r->tx->body.account_update;
    struct rec_account a;
    idl_err rc = rules_need_managed_account(r, b->id, "change accounts it manages", &a);
    if (rc)
        return rc;
    if (b->post == POST_NONE && b->fields.count == 0)
        return rules_refuse(r, IDL_ERR_INVALID, "nothing to change");
    const struct ledger_sealed *f = b->fields.items;
    for (uint32_t i = 0; i < b->fields.count; i++)
        if (f[i].field == PF_ID_NUMBER)
            return rules_refuse(r, IDL_ERR_INVALID,
                          "the ID number identifies the person and cannot be changed");
    unsigned prev = a.status;
    if (b->post != POST_NONE)
        rc = change_post(r, &a, b->post);
    if (!rc && b->fields.count)
        rc = person_update(r, &a, &b->fields);
    if (rc)
        return rc;
    rules_mark_changed(r, &a);
    return rules_put_account(r, &a, prev);
}

static idl_err
apply_account_disable(struct rules *r, struct rec_account *a)
{
    if (a->status == STATUS_DISABLED)
        return rules_refuse(r, IDL_ERR_STATE, "%s is already disabled", a->id);
    if (a->class == CLASS_MANAGEMENT) {
        idl_err rc = slot_free(r, a->org, a->post, a->id);
        if (rc)
            return rc;
    }
    a->status = STATUS_DISABLED;
    /* The USB key is handed in with the account: its certificates are frozen. */
    return rules_certs_freeze_all(r, a->id);
}

static idl_err
apply_account_restore(struct rules *r, struct rec_account *a)
{
    if (a->status != STATUS_DISABLED)
        return rules_refuse(r, IDL_ERR_STATE, "%s is %s, not disabled", a->id,
                      ledger_status_name(a->status));
    if (a->class == CLASS_MANAGEMENT) {
        struct rec_org org;
        idl_err rc = rules_need_org(r, a->org, &org);
        if (!rc)
            rc = posts_people_check(r, &org, a->post, a->person, a->id);
        if (!rc)
            rc = slot_take(r, &org, a->post, a->id);
        if (rc)
            return rc;
    }
    a->status = a->class == CLASS_MANAGEMENT && !a->authorized ? STATUS_PENDING : STATUS_ACTIVE;
    return IDL_OK;
}

static idl_err
apply_account_status(struct rules *r)
{
    const struct tx_account_op *b = &r->tx->body.account_op;
    struct rec_account a;
    idl_err rc = rules_need_managed_account(r, b->id, "change the status of accounts it manages", &a);
    if (rc)
        return rc;
    unsigned prev = a.status;
    switch (r->tx->type) {
    case TX_ACCOUNT_DISABLE:
        rc = apply_account_disable(r, &a);
        break;
    case TX_ACCOUNT_RESTORE:
        rc = apply_account_restore(r, &a);
        break;
    case TX_ACCOUNT_LOCK:
        if (a.status != STATUS_ACTIVE)
            return rules_refuse(r, IDL_ERR_STATE, "%s is %s; only an active account can be locked", a.id,
                          ledger_status_name(a.status));
        a.status = STATUS_LOCKED;
        break;
    case TX_ACCOUNT_UNLOCK:
        if (a.status != STATUS_LOCKED)
            return rules_refuse(r, IDL_ERR_STATE, "%s is %s, not locked", a.id,
                          ledger_status_name(a.status));
        a.status = STATUS_ACTIVE;
        break;
    case TX_ACCOUNT_RESET_PASSWORD:
        /* Passwords live in the business systems; the ledger records that it was reset. */
        if (a.status == STATUS_DISABLED)
            return rules_refuse(r, IDL_ERR_STATE, "%s is disabled; restore it first", a.id);
        break;
    default:
        IDL_ASSERT(!"not an account status type");
    }
    if (rc)
        return rc;
    rules_mark_changed(r, &a);
    return rules_put_account(r, &a, prev);
}

static idl_err
apply_bind_legacy(struct rules *r)
{
    const struct tx_bind_legacy *b = &r->tx->body.bind_legacy;
    struct rec_account a;
    idl_err rc = rules_need_managed_account(r, b->id, "bind legacy accounts to its accounts", &a);
    if (rc)
        return rc;
    if (a.class != CLASS_BUSINESS)
        return rules_refuse(r, IDL_ERR_INVALID, "legacy accounts are bound to business accounts only");
    if (a.status == STATUS_DISABLED)
        return rules_refuse(r, IDL_ERR_STATE, "%s is disabled", a.id);
    struct state_key k;
    bool found;
    rules_key1(&k, SP_SYSTEM, b->system);
    rc = state_has(r->st, &k, &found);
    if (!rc && !found)
        return rules_refuse(r, IDL_ERR_NOT_FOUND, "business system %s does not exist", b->system);
    rules_key2(&k, SP_LEGACY, b->system, b->legacy);
    if (!rc)
        rc = state_has(r->st, &k, &found);
    if (!rc && found)
        return rules_refuse(r, IDL_ERR_EXISTS, "legacy account %s of %s is already bound", b->legacy,
                      b->system);
    struct state_key k2;
    rules_key2(&k2, SP_LEGACY_OF, a.id, b->system);
    if (!rc)
        rc = state_has(r->st, &k2, &found);
    if (!rc && found)
        return rules_refuse(r, IDL_ERR_EXISTS, "%s already has a legacy account bound in %s", a.id,
                      b->system);
    if (!rc)
        rc = state_put(r->st, &k, a.id, strlen(a.id));
    if (!rc)
        rc = state_put(r->st, &k2, b->legacy, strlen(b->legacy));
    return rc;
}

/* ---- business systems and grants ---- */

static bool
code_in(const struct schema_list *l, const char *code)
{
    const struct ledger_code *c = l->items;
    for (uint32_t i = 0; i < l->count; i++)
        if (strcmp(c[i].code, code) == 0)
            return true;
    return false;
}

static idl_err
apply_system_add(struct rules *r)
{
    const struct tx_system_add *b = &r->tx->body.system_add;
    idl_err rc = rules_need_admin(r, POST_SYSADMIN, r->ctx->root, "register business systems");
    if (rc)
        return rc;
    struct state_key k;
    bool found;
    rules_key1(&k, SP_SYSTEM, b->code);
    rc = state_has(r->st, &k, &found);
    if (rc)
        return rc;
    if (found)
        return rules_refuse(r, IDL_ERR_EXISTS, "business system %s already exists", b->code);
    const struct ledger_code *roles = b->roles.items;
    for (uint32_t i = 0; i < b->roles.count; i++)
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(roles[i].code, roles[j].code) == 0)
                return rules_refuse(r, IDL_ERR_INVALID, "role %s is listed twice", roles[i].code);
    const struct ledger_code *cr = b->cert_required.items;
    for (uint32_t i = 0; i < b->cert_required.count; i++)
        if (!code_in(&b->roles, cr[i].code))
            return rules_refuse(r, IDL_ERR_INVALID, "cert-required role %s is not a role of %s",
                          cr[i].code, b->code);
    return state_put_rec(r->st, &k, ledger_tx_body_schema(TX_SYSTEM_ADD), b);
}

static idl_err
role_count_add(struct rules *r, const char *org, const struct tx_grant *b, int delta)
{
    struct state_key k;
    rules_key3(&k, SP_ROLE_COUNT, org, b->system, b->role);
    struct idl_bytes v;
    uint32_t n = 0;
    idl_err rc = state_get(r->st, &k, &v);
    if (rc == IDL_OK) {
        n = v.len == 4 ? codec_be32_get(v.data) : 0;
        free(v.data);
    } else if (rc != IDL_ERR_NOT_FOUND) {
        return rc;
    }
    IDL_ASSERT(delta > 0 || n > 0);
    n = (uint32_t)((int64_t)n + delta);
    if (n == 0)
        return state_del(r->st, &k);
    uint8_t buf[4];
    codec_be32_put(buf, n);
    return state_put(r->st, &k, buf, 4);
}

/*
 * A cert-required role (the teacher system's information manager) goes only to an account
 * holding a valid certificate, and to one account per organisation, universities apart
 * (DOMAIN.md §3).
 */
static idl_err
cert_role_check(struct rules *r, const struct rec_account *a, const struct rec_org *org,
                const struct tx_grant *b)
{
    bool valid;
    idl_err rc = rules_has_valid_cert(r, a->id, &valid);
    if (rc)
        return rc;
    if (!valid)
        return rules_refuse(r, IDL_ERR_POLICY,
                            "%s/%s requires an education CA certificate, and %s holds no valid one",
                            b->system, b->role, a->id);
    if (org->kind == ORG_KIND_UNIVERSITY)
        return IDL_OK;
    struct state_key k;
    rules_key3(&k, SP_ROLE_COUNT, a->org, b->system, b->role);
    bool taken;
    rc = state_has(r->st, &k, &taken);
    if (!rc && taken)
        return rules_refuse(r, IDL_ERR_POLICY,
                            "%s already has its %s/%s: one per organisation, universities apart "
                            "(a disabled holder keeps it until the grant is removed)",
                            a->org, b->system, b->role);
    return rc;
}

static idl_err
apply_grant(struct rules *r)
{
    const struct tx_grant *b = &r->tx->body.grant;
    bool add = r->tx->type == TX_GRANT_ADD;
    struct rec_account a;
    struct rec_org org;
    idl_err rc = rules_need_account(r, b->account, &a);
    if (!rc)
        rc = rules_need_org(r, a.org, &org);
    if (!rc)
        rc = rules_need_admin(r, POST_SECADMIN, rules_business_manager(&org),
                        "grant or withdraw business roles of this organisation");
    if (rc)
        return rc;
    /* Nobody widens (or narrows) their own powers: another secadmin must act. */
    rc = rules_not_self(r, a.id, "grant or withdraw roles of");
    if (!rc && a.class == CLASS_MANAGEMENT)
        rc = rules_need_basis(r, "a role change of a management account");
    if (rc)
        return rc;
    if (add && a.class == CLASS_MANAGEMENT && !r->ctx->policy->mgmt_business_roles)
        return rules_refuse(r, IDL_ERR_POLICY,
                      "policy: a management account holds no business role (%s is a %s)", a.id,
                      post_name(a.post));
    /* A role is withdrawn whatever the holder's state (a disabled account keeps its grants
     * until then), but only an account that may act now receives one. */
    if (add && a.status != STATUS_ACTIVE)
        return rules_refuse(r, IDL_ERR_STATE, "%s is %s: roles go to active accounts only", a.id,
                            ledger_status_name(a.status));

    struct tx_system_add sys;
    struct state_key k;
    rules_key1(&k, SP_SYSTEM, b->system);
    rc = state_get_rec(r->st, &k, ledger_tx_body_schema(TX_SYSTEM_ADD), &sys);
    if (rc == IDL_ERR_NOT_FOUND)
        return rules_refuse(r, rc, "business system %s does not exist", b->system);
    if (rc)
        return rc;
    bool known = code_in(&sys.roles, b->role);
    bool cert_required = code_in(&sys.cert_required, b->role);
    schema_free(ledger_tx_body_schema(TX_SYSTEM_ADD), &sys);
    if (!known)
        return rules_refuse(r, IDL_ERR_INVALID, "%s has no role %s", b->system, b->role);
    if (add && cert_required) {
        rc = cert_role_check(r, &a, &org, b);
        if (rc)
            return rc;
    }

    bool held;
    rules_key3(&k, SP_GRANT, a.id, b->system, b->role);
    rc = state_has(r->st, &k, &held);
    if (rc)
        return rc;
    if (add && held)
        return rules_refuse(r, IDL_ERR_EXISTS, "%s already holds %s/%s", a.id, b->system, b->role);
    if (!add && !held)
        return rules_refuse(r, IDL_ERR_NOT_FOUND, "%s does not hold %s/%s", a.id, b->system, b->role);
    rc = role_count_add(r, a.org, b, add ? 1 : -1);
    /* What the account may do changed: the organisation's next review looks at it. */
    rules_mark_changed(r, &a);
    if (!rc)
        rc = rules_put_account(r, &a, a.status);
    if (rc)
        return rc;
    if (!add)
        return state_del(r->st, &k);
    struct rec_grant g = {0};
    snprintf(g.actor, sizeof(g.actor), "%s", r->actor->id);
    g.height = r->ctx->height;
    g.time_ms = r->ctx->time_ms;
    memcpy(g.basis, r->tx->basis, HASH_BYTES);
    return state_put_rec(r->st, &k, &rec_grant_schema, &g);
}

/* ---- reviews ---- */

static idl_err
apply_review(struct rules *r)
{
    const struct tx_review *b = &r->tx->body.review;
    struct rec_org org;
    idl_err rc = rules_need_org(r, b->org, &org);
    if (rc)
        return rc;
    if (rules_need_admin(r, POST_SYSADMIN, org.code, "record its access review") != IDL_OK) {
        rc = rules_need_admin(r, POST_SECADMIN, org.code, "record its access review");
        if (rc)
            return rules_refuse(r, rc, "only the sysadmin or secadmin of %s may record its access "
                                 "review; %s is the %s of %s",
                          org.code, r->actor->id, post_name(r->actor->post), r->actor->org);
    }
    /* The review is a management operation like the others: its signed record is its basis. */
    rc = rules_need_basis(r, "recording an access review");
    if (rc)
        return rc;
    struct rec_review rv = {0};
    snprintf(rv.actor, sizeof(rv.actor), "%s", r->actor->id);
    rv.height = r->ctx->height;
    rv.time_ms = r->ctx->time_ms;
    memcpy(rv.basis, r->tx->basis, HASH_BYTES);
    snprintf(rv.note, sizeof(rv.note), "%s", b->note);
    struct state_key k;
    rules_key1(&k, SP_REVIEW, org.code);
    return state_put_rec(r->st, &k, &rec_review_schema, &rv);
}

/* ---- dispatch ---- */

static idl_err
actor_may_sign(struct rules *r)
{
    const struct rec_account *a = r->actor;
    if (a->class != CLASS_MANAGEMENT)
        return rules_refuse(r, IDL_ERR_DENIED,
                      "%s is a business account: only management accounts sign ledger operations",
                      a->id);
    switch (a->status) {
    case STATUS_ACTIVE:
        return IDL_OK;
    case STATUS_PENDING:
        return rules_refuse(r, IDL_ERR_DENIED,
                      "%s is pending: its parent organisation's secadmin has not authorised it",
                      a->id);
    default:
        return rules_refuse(r, IDL_ERR_DENIED, "%s is %s", a->id, ledger_status_name(a->status));
    }
}

idl_err
rules_apply(struct state *st, const struct rules_ctx *ctx, const struct ledger_tx *tx,
            const struct rec_account *actor, char *why, size_t why_len)
{
    struct rules r = {st, ctx, tx, actor, why, why_len};
    if (why && why_len)
        why[0] = '\0';
    idl_err rc = actor_may_sign(&r);
    if (rc)
        return rc;
    switch (tx->type) {
    case TX_ORG_ADD:
        return apply_org_add(&r);
    case TX_ORG_DELEGATE:
        return apply_org_delegate(&r);
    case TX_ACCOUNT_ADD:
        return apply_account_add(&r);
    case TX_ACCOUNT_BATCH_ADD:
        return apply_batch(&r);
    case TX_ACCOUNT_AUTHORIZE:
        return apply_account_authorize(&r);
    case TX_ACCOUNT_UPDATE:
        return apply_account_update(&r);
    case TX_ACCOUNT_DISABLE:
    case TX_ACCOUNT_RESTORE:
    case TX_ACCOUNT_LOCK:
    case TX_ACCOUNT_UNLOCK:
    case TX_ACCOUNT_RESET_PASSWORD:
        return apply_account_status(&r);
    case TX_ACCOUNT_BIND_LEGACY:
        return apply_bind_legacy(&r);
    case TX_SYSTEM_ADD:
        return apply_system_add(&r);
    case TX_GRANT_ADD:
    case TX_GRANT_REMOVE:
        return apply_grant(&r);
    case TX_REVIEW_RECORD:
        return apply_review(&r);
    case TX_CERT_APPLY:
        return rules_cert_apply(&r);
    case TX_CERT_APPROVE:
        return rules_cert_approve(&r);
    case TX_CERT_MEDIUM:
        return rules_cert_medium(&r);
    case TX_CERT_MEDIUM_RETURN:
        return rules_cert_medium_return(&r);
    case TX_CERT_ANCHOR:
        return rules_cert_anchor(&r);
    case TX_CERT_FREEZE:
    case TX_CERT_UNFREEZE:
    case TX_CERT_REVOKE:
        return rules_cert_status(&r);
    default:
        return rules_refuse(&r, IDL_ERR_INVALID, "unknown transaction type");
    }
}

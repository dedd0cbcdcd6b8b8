/*
 * Reports over one snapshot of the store.
 *
 * Every read of a report goes through one store iterator (struct snap): a point read is a
 * seek that must land on the exact key, a scan is a seek to a prefix and a walk forward.
 * An iterator sees the store as it was when it was made, so a report never mixes two
 * heights. Since one iterator cannot be in two places, a scan first collects what it
 * finds (child codes, account ids) and the reads follow.
 *
 * The roll-up walks the organisation tree with an explicit stack (the tree has no depth
 * bound: "other" units nest), appending units in depth-first order, then sums the tallies
 * bottom-up: in that order every child comes after its parent, so one backward pass does it.
 */
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "query.h"
#include "tx.h"

#define DAY_MS 86400000ull

/* ---- a snapshot of the store ---- */

struct snap {
    struct store *s;
    struct store_iter *it;
};

static idl_err
snap_open(struct snap *sn, struct store *s)
{
    sn->s = s;
    sn->it = store_iter_new(s);
    return sn->it ? IDL_OK : IDL_ERR_NOMEM;
}

static void
snap_close(struct snap *sn)
{
    if (sn->it)
        store_iter_free(sn->s, sn->it);
    sn->it = NULL;
}

/* Why the iterator is not valid: the end (IDL_ERR_NOT_FOUND), or the store's error. */
static idl_err
snap_end(struct snap *sn)
{
    idl_err rc = store_iter_status(sn->s, sn->it);
    return rc ? rc : IDL_ERR_NOT_FOUND;
}

/* Reads the record at exactly k into rec (zeroed first). IDL_ERR_NOT_FOUND if absent. */
static idl_err
snap_get_rec(struct snap *sn, const struct state_key *k, const struct schema *sc, void *rec)
{
    memset(rec, 0, sc->size);
    store_iter_seek(sn->s, sn->it, k->b, k->len);
    if (!store_iter_valid(sn->s, sn->it))
        return snap_end(sn);
    size_t kl, vl;
    const uint8_t *key = store_iter_key(sn->s, sn->it, &kl);
    if (kl != k->len || memcmp(key, k->b, kl) != 0)
        return IDL_ERR_NOT_FOUND;
    const uint8_t *v = store_iter_value(sn->s, sn->it, &vl);
    /* Our own record failing to decode is corruption, not bad input. */
    return schema_decode_bytes(sc, rec, v, vl) == IDL_OK ? IDL_OK : IDL_ERR_CORRUPT;
}

/* Copies the value at exactly k into *out (malloc'd). IDL_ERR_NOT_FOUND if absent. */
static idl_err
snap_get_raw(struct snap *sn, const struct state_key *k, struct idl_bytes *out)
{
    *out = (struct idl_bytes){0};
    store_iter_seek(sn->s, sn->it, k->b, k->len);
    if (!store_iter_valid(sn->s, sn->it))
        return snap_end(sn);
    size_t kl, vl;
    const uint8_t *key = store_iter_key(sn->s, sn->it, &kl);
    if (kl != k->len || memcmp(key, k->b, kl) != 0)
        return IDL_ERR_NOT_FOUND;
    const uint8_t *v = store_iter_value(sn->s, sn->it, &vl);
    if (!(out->data = malloc(vl ? vl : 1)))
        return IDL_ERR_NOMEM;
    memcpy(out->data, v, vl);
    out->len = vl;
    return IDL_OK;
}

/*
 * Calls fn for every record under prefix, in key order, until fn returns an error. fn sees
 * views valid during the call and must not use the snapshot itself.
 */
typedef idl_err (*snap_fn)(void *arg, const uint8_t *key, size_t kl, const uint8_t *val, size_t vl);

/* The same, starting at the first key at or after from (which starts with prefix). */
static idl_err
snap_scan_from(struct snap *sn, const struct state_key *prefix, const struct state_key *from,
               snap_fn fn, void *arg)
{
    idl_err rc = IDL_OK;
    size_t kl, vl;
    IDL_ASSERT(from->len >= prefix->len && !memcmp(from->b, prefix->b, prefix->len));
    for (store_iter_seek(sn->s, sn->it, from->b, from->len); !rc && store_iter_valid(sn->s, sn->it);
         store_iter_next(sn->s, sn->it)) {
        const uint8_t *k = store_iter_key(sn->s, sn->it, &kl);
        if (kl < prefix->len || memcmp(k, prefix->b, prefix->len) != 0)
            break;
        const uint8_t *v = store_iter_value(sn->s, sn->it, &vl);
        rc = fn(arg, k, kl, v, vl);
    }
    /* A scan that ran out of keys may have run into a read error instead. */
    return rc ? rc : store_iter_status(sn->s, sn->it);
}

static idl_err
snap_scan(struct snap *sn, const struct state_key *prefix, snap_fn fn, void *arg)
{
    return snap_scan_from(sn, prefix, prefix, fn, arg);
}

static void
key1(struct state_key *k, enum state_space sp, const char *a)
{
    state_key_init(k, sp);
    state_key_str(k, a);
}

/* Grows an array of `size`-byte elements so that one more fits; *cap doubles. */
static idl_err
grow(void **items, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return IDL_OK;
    size_t want = *cap ? *cap * 2 : 16;
    void *p = realloc(*items, want * size);
    if (!p)
        return IDL_ERR_NOMEM;
    *items = p;
    *cap = want;
    return IDL_OK;
}

/* The codes of org's children (SP_ORG_CHILD), in code order. */
struct codes {
    char (*code)[LEDGER_CODE_MAX + 1];
    size_t n, cap;
    size_t prefix_len;
};

static idl_err
collect_code(void *arg, const uint8_t *key, size_t kl, const uint8_t *val, size_t vl)
{
    (void)val, (void)vl;
    struct codes *c = arg;
    idl_err rc = grow((void **)&c->code, &c->cap, c->n, sizeof(*c->code));
    if (rc)
        return rc;
    query_key_part(key, kl, c->prefix_len, c->code[c->n++], LEDGER_CODE_MAX + 1);
    return IDL_OK;
}

static idl_err
children_of(struct snap *sn, const char *org, struct codes *out)
{
    struct state_key k;
    key1(&k, SP_ORG_CHILD, org);
    out->n = 0;
    out->prefix_len = k.len;
    return snap_scan(sn, &k, collect_code, out);
}

/* ---- business-account roll-up ---- */

static void
tally_add(struct report_tally *to, const struct report_tally *t)
{
    to->total += t->total;
    for (unsigned s = 0; s < STATUS__COUNT; s++)
        to->by_status[s] += t->by_status[s];
}

static bool
is_unit(unsigned kind)
{
    return kind == ORG_KIND_SCHOOL || kind == ORG_KIND_UNIVERSITY || kind == ORG_KIND_OTHER;
}

struct walk {
    struct snap sn;
    struct report_business *r;
    size_t cap_units, cap_roles;
    struct codes todo;     /* the stack of organisations still to visit */
    uint32_t *todo_parent; /* parallel to todo.code: the index of each one's parent */
    size_t cap_parent;
    size_t role_prefix_len;
};

/* Adds n holders of system/role, keeping r->roles sorted. */
static idl_err
role_add(struct walk *w, const char *system, const char *role, uint64_t n)
{
    struct report_business *r = w->r;
    size_t lo = 0, hi = r->n_roles;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(r->roles[mid].system, system);
        if (c == 0)
            c = strcmp(r->roles[mid].role, role);
        if (c == 0) {
            r->roles[mid].count += n;
            return IDL_OK;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    idl_err rc = grow((void **)&r->roles, &w->cap_roles, r->n_roles, sizeof(*r->roles));
    if (rc)
        return rc;
    memmove(&r->roles[lo + 1], &r->roles[lo], (r->n_roles - lo) * sizeof(*r->roles));
    struct report_role *x = &r->roles[lo];
    memset(x, 0, sizeof(*x));
    snprintf(x->system, sizeof(x->system), "%s", system);
    snprintf(x->role, sizeof(x->role), "%s", role);
    x->count = n;
    r->n_roles++;
    return IDL_OK;
}

/* One SP_ROLE_COUNT record: org, system, role -> u32 holders. */
static idl_err
collect_role(void *arg, const uint8_t *key, size_t kl, const uint8_t *val, size_t vl)
{
    struct walk *w = arg;
    char system[LEDGER_CODE_MAX + 1], role[LEDGER_CODE_MAX + 1];
    size_t off = query_key_part(key, kl, w->role_prefix_len, system, sizeof(system));
    query_key_part(key, kl, off, role, sizeof(role));
    if (vl != 4 || !system[0] || !role[0])
        return IDL_ERR_CORRUPT;
    return role_add(w, system, role, codec_be32_get(val));
}

/* The unit's own business accounts, from its counters (none recorded: none yet). */
static idl_err
own_tally(struct walk *w, struct report_unit *u)
{
    struct state_key k;
    struct rec_counts c;
    key1(&k, SP_COUNTS, u->code);
    idl_err rc = snap_get_rec(&w->sn, &k, &rec_counts_schema, &c);
    if (rc == IDL_ERR_NOT_FOUND)
        return IDL_OK;
    if (rc)
        return rc;
    for (unsigned s = STATUS_NONE + 1; s < STATUS__COUNT; s++) {
        u->own.by_status[s] = c.business[s];
        u->own.total += c.business[s];
    }
    return IDL_OK;
}

/* Pushes one organisation to visit. */
static idl_err
push_one(struct walk *w, const char *code, uint32_t parent)
{
    idl_err rc = grow((void **)&w->todo.code, &w->todo.cap, w->todo.n, sizeof(*w->todo.code));
    if (!rc)
        rc = grow((void **)&w->todo_parent, &w->cap_parent, w->todo.n, sizeof(*w->todo_parent));
    if (!rc) {
        memcpy(w->todo.code[w->todo.n], code, sizeof(*w->todo.code));
        w->todo_parent[w->todo.n++] = parent;
    }
    return rc;
}

/*
 * Pushes org's children on the stack so that they are visited in table order: first the
 * units it runs itself (schools, universities, other units: rows of its own level), then
 * the bureaus below it (cities, counties), each group in code order. Codes alone would
 * interleave them (a province-run school 4400000001 before city 440100, university 440900
 * after it). The stack pops the last pushed first, so bureaus go on first, highest code
 * first.
 */
static idl_err
push_children(struct walk *w, const char *org, uint32_t parent)
{
    size_t base = w->todo.n;
    struct codes found = {0};
    bool *unit = NULL;
    idl_err rc = children_of(&w->sn, org, &found);
    if (!rc && found.n && !(unit = calloc(found.n, sizeof(*unit))))
        rc = IDL_ERR_NOMEM;
    for (size_t i = 0; !rc && i < found.n; i++) {
        struct rec_org o;
        struct state_key k;
        key1(&k, SP_ORG, found.code[i]);
        rc = snap_get_rec(&w->sn, &k, &rec_org_schema, &o);
        if (rc == IDL_ERR_NOT_FOUND)
            rc = IDL_ERR_CORRUPT; /* a child index naming no organisation */
        unit[i] = !rc && is_unit(o.kind);
    }
    for (int units = 0; units < 2; units++)
        for (size_t i = found.n; !rc && i-- > 0;)
            if (unit[i] == (bool)units)
                rc = push_one(w, found.code[i], parent);
    free(unit);
    free(found.code);
    IDL_ASSERT(rc || w->todo.n == base + found.n);
    return rc;
}

/* Visits one organisation: appends its unit, reads its counters and roles. */
static idl_err
visit(struct walk *w, const char *code, uint32_t parent)
{
    struct report_business *r = w->r;
    if (r->n_units >= REPORT_ORGS_MAX)
        return IDL_ERR_TOO_LARGE;
    idl_err rc = grow((void **)&r->units, &w->cap_units, r->n_units, sizeof(*r->units));
    if (rc)
        return rc;
    struct rec_org o;
    struct state_key k;
    key1(&k, SP_ORG, code);
    rc = snap_get_rec(&w->sn, &k, &rec_org_schema, &o);
    if (rc)
        /* A child index naming no organisation is a broken store, not a missing org. */
        return rc == IDL_ERR_NOT_FOUND && parent != REPORT_NONE ? IDL_ERR_CORRUPT : rc;
    uint32_t self = (uint32_t)r->n_units++;
    struct report_unit *u = &r->units[self];
    memset(u, 0, sizeof(*u));
    memcpy(u->code, o.code, sizeof(u->code));
    memcpy(u->name, o.name, sizeof(u->name));
    u->kind = o.kind;
    u->parent = parent;
    u->city = parent == REPORT_NONE ? REPORT_NONE : r->units[parent].city;
    u->county = parent == REPORT_NONE ? REPORT_NONE : r->units[parent].county;
    if (o.kind == ORG_KIND_CITY)
        u->city = self;
    if (o.kind == ORG_KIND_COUNTY)
        u->county = self;
    if ((rc = own_tally(w, u)) != IDL_OK)
        return rc;
    key1(&k, SP_ROLE_COUNT, code);
    w->role_prefix_len = k.len;
    if ((rc = snap_scan(&w->sn, &k, collect_role, w)) != IDL_OK)
        return rc;
    return push_children(w, code, self);
}

/* Sums each unit into its parent, children first, and marks the rows. */
static void
roll_up(struct report_business *r)
{
    for (size_t i = r->n_units; i-- > 0;) {
        struct report_unit *u = &r->units[i];
        tally_add(&u->tree, &u->own);
        u->row = is_unit(u->kind) || u->own.total > 0;
        if (u->parent != REPORT_NONE) {
            IDL_ASSERT(u->parent < i);
            tally_add(&r->units[u->parent].tree, &u->tree);
        }
        if (u->city == REPORT_NONE) {
            tally_add(&r->outside_cities, &u->own);
            r->any_outside_cities |= u->row;
        }
    }
}

idl_err
report_business(struct store *s, const char *org, struct report_business *out)
{
    memset(out, 0, sizeof(*out));
    struct walk w = {.r = out};
    idl_err rc = snap_open(&w.sn, s);
    if (!rc)
        rc = visit(&w, org, REPORT_NONE);
    while (!rc && w.todo.n > 0) {
        w.todo.n--;
        char code[LEDGER_CODE_MAX + 1];
        memcpy(code, w.todo.code[w.todo.n], sizeof(code));
        rc = visit(&w, code, w.todo_parent[w.todo.n]);
    }
    snap_close(&w.sn);
    free(w.todo.code);
    free(w.todo_parent);
    if (!rc)
        roll_up(out);
    return rc;
}

void
report_business_free(struct report_business *r)
{
    free(r->units);
    free(r->roles);
    memset(r, 0, sizeof(*r));
}

/* ---- periodic review ---- */

struct review_scan {
    struct report_review *r;
    size_t cap;
    size_t prefix_len;
    const char *org;
};

/* One SP_ACCOUNT_BY_ORG record: a candidate, examined once the scan is over. */
static idl_err
collect_account(void *arg, const uint8_t *key, size_t kl, const uint8_t *val, size_t vl)
{
    (void)val, (void)vl;
    struct review_scan *rs = arg;
    struct report_review *r = rs->r;
    if (r->n_due >= REPORT_ACCOUNTS_MAX)
        return IDL_ERR_TOO_LARGE;
    idl_err rc = grow((void **)&r->due, &rs->cap, r->n_due, sizeof(*r->due));
    if (rc)
        return rc;
    struct report_due *d = &r->due[r->n_due++];
    memset(d, 0, sizeof(*d));
    query_key_part(key, kl, rs->prefix_len, d->account, sizeof(d->account));
    snprintf(d->org, sizeof(d->org), "%s", rs->org);
    return IDL_OK;
}

static idl_err
collect_accounts_of(struct snap *sn, struct review_scan *rs, const char *org)
{
    struct state_key k;
    key1(&k, SP_ACCOUNT_BY_ORG, org);
    rs->prefix_len = k.len;
    rs->org = org;
    return snap_scan(sn, &k, collect_account, rs);
}

/* Appends a code to a list. */
static idl_err
codes_add(struct codes *c, const char *code)
{
    idl_err rc = grow((void **)&c->code, &c->cap, c->n, sizeof(*c->code));
    if (!rc)
        snprintf(c->code[c->n++], sizeof(*c->code), "%s", code);
    return rc;
}

/*
 * The accounts org reviews: its own, then those of each child that delegated to it. Adds
 * those children to *managers (their administrators may still act on them).
 */
static idl_err
collect_candidates(struct snap *sn, struct report_review *r, struct codes *managers)
{
    struct review_scan rs = {r, 0, 0, NULL};
    struct codes ch = {0};
    idl_err rc = collect_accounts_of(sn, &rs, r->org);
    if (!rc)
        rc = children_of(sn, r->org, &ch);
    for (size_t i = 0; !rc && i < ch.n; i++) {
        struct rec_org c;
        struct state_key k;
        key1(&k, SP_ORG, ch.code[i]);
        rc = snap_get_rec(sn, &k, &rec_org_schema, &c);
        if (!rc && c.delegated)
            rc = collect_accounts_of(sn, &rs, ch.code[i]);
        if (!rc && c.delegated)
            rc = codes_add(managers, ch.code[i]);
        else if (rc == IDL_ERR_NOT_FOUND)
            rc = IDL_ERR_CORRUPT; /* a child index naming no organisation */
    }
    free(ch.code);
    return rc;
}

/* Decides whether the candidate d is due; fills it from its account record. */
static idl_err
examine(struct snap *sn, const struct report_review *r, struct report_due *d, bool *due)
{
    struct rec_account a;
    struct state_key k;
    key1(&k, SP_ACCOUNT, d->account);
    idl_err rc = snap_get_rec(sn, &k, &rec_account_schema, &a);
    *due = false;
    if (rc)
        return rc == IDL_ERR_NOT_FOUND ? IDL_ERR_CORRUPT : rc;
    if (strcmp(a.org, d->org) != 0)
        return IDL_ERR_CORRUPT; /* the index and the account disagree */
    d->class = a.class;
    d->post = a.post;
    d->status = a.status;
    d->changed_height = a.changed_height;
    d->since_ms = a.created_time_ms > r->last.time_ms ? a.created_time_ms : r->last.time_ms;
    if (a.status == STATUS_DISABLED)
        return IDL_OK;
    uint64_t interval_ms = (uint64_t)r->interval_days * DAY_MS;
    /*
     * An account knows the height of its last change, not the position in the block. A
     * change in the review's own block may have come after the review: it is listed (>=),
     * at the cost of also listing one that came before it, until the next review.
     */
    if (r->last.height > 0 && a.changed_height >= r->last.height)
        d->why = REPORT_DUE_CHANGED;
    else if (r->now_ms >= d->since_ms && r->now_ms - d->since_ms >= interval_ms)
        d->why = REPORT_DUE_INTERVAL;
    *due = d->why != 0;
    return IDL_OK;
}

/*
 * Reads the organisation, the chain's interval and the last review into r; puts the
 * organisation and its parent into *managers.
 */
static idl_err
review_head(struct snap *sn, struct report_review *r, struct codes *managers)
{
    struct rec_org o;
    struct ledger_policy p;
    struct state_key k;
    key1(&k, SP_ORG, r->org);
    idl_err rc = snap_get_rec(sn, &k, &rec_org_schema, &o);
    if (!rc)
        rc = codes_add(managers, o.code);
    if (!rc && o.parent[0])
        rc = codes_add(managers, o.parent);
    if (rc)
        return rc;
    state_key_init(&k, SP_POLICY);
    rc = snap_get_rec(sn, &k, &ledger_policy_schema, &p);
    if (rc)
        return rc == IDL_ERR_NOT_FOUND ? IDL_ERR_CORRUPT : rc; /* genesis writes it */
    r->interval_days = p.review_interval_days;
    schema_free(&ledger_policy_schema, &p);
    key1(&k, SP_REVIEW, r->org);
    rc = snap_get_rec(sn, &k, &rec_review_schema, &r->last);
    return rc == IDL_ERR_NOT_FOUND ? IDL_OK : rc; /* never reviewed: r->last stays zero */
}

/* ---- what changed since the last review ---- */

/* A due account, by id (for the audit scan's lookups). */
struct due_ref {
    const char *account;
    uint32_t due; /* index in r->due */
};

/* An account.update of a due account: its transaction tells post from contact. */
struct update_ref {
    uint64_t height;
    uint32_t index;
    uint32_t due;
};

struct change_scan {
    struct report_review *r;
    struct due_ref *refs; /* the CHANGED ones, sorted by account */
    size_t n_refs;
    struct update_ref *upd;
    size_t n_upd, cap_upd;
};

static int
due_ref_cmp(const void *a, const void *b)
{
    return strcmp(((const struct due_ref *)a)->account, ((const struct due_ref *)b)->account);
}

static int
update_ref_cmp(const void *a, const void *b)
{
    const struct update_ref *x = a, *y = b;
    if (x->height != y->height)
        return x->height < y->height ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* The change an applied operation of this type makes to its target account. */
static unsigned
change_of_type(unsigned type)
{
    switch (type) {
    case TX_ACCOUNT_ADD:
    case TX_ACCOUNT_BATCH_ADD:
        return REPORT_CHANGE_CREATED;
    case TX_ACCOUNT_AUTHORIZE:
    case TX_ACCOUNT_DISABLE:
    case TX_ACCOUNT_RESTORE:
    case TX_ACCOUNT_LOCK:
    case TX_ACCOUNT_UNLOCK:
        return REPORT_CHANGE_STATUS;
    case TX_ACCOUNT_RESET_PASSWORD:
        return REPORT_CHANGE_PASSWORD;
    case TX_ACCOUNT_BIND_LEGACY:
        return REPORT_CHANGE_LEGACY;
    case TX_GRANT_ADD:
    case TX_GRANT_REMOVE:
        return REPORT_CHANGE_GRANT;
    default:
        return 0;
    }
}

/* One audit entry of a manager since the review: notes what it changed in a due account. */
static idl_err
collect_change(void *arg, const uint8_t *key, size_t kl, const uint8_t *val, size_t vl)
{
    (void)key, (void)kl;
    struct change_scan *cs = arg;
    struct rec_audit e;
    if (schema_decode_bytes(&rec_audit_schema, &e, val, vl) != IDL_OK)
        return IDL_ERR_CORRUPT;
    if (e.status != TXS_COMMITTED)
        return IDL_OK;
    struct due_ref probe = {e.target, 0};
    const struct due_ref *ref =
        bsearch(&probe, cs->refs, cs->n_refs, sizeof(*cs->refs), due_ref_cmp);
    if (!ref)
        return IDL_OK;
    if (e.type != TX_ACCOUNT_UPDATE) {
        cs->r->due[ref->due].changes |= (uint8_t)change_of_type(e.type);
        return IDL_OK;
    }
    idl_err rc = grow((void **)&cs->upd, &cs->cap_upd, cs->n_upd, sizeof(*cs->upd));
    if (!rc)
        cs->upd[cs->n_upd++] = (struct update_ref){e.height, e.index, ref->due};
    return rc;
}

/* The stored block at height, decoded (for the chain id its header names). */
static idl_err
block_at(struct snap *sn, uint64_t height, struct ledger_block *b)
{
    struct state_key k;
    struct idl_bytes raw;
    state_key_init(&k, SP_BLOCK);
    state_key_u64(&k, height);
    memset(b, 0, sizeof(*b));
    idl_err rc = snap_get_raw(sn, &k, &raw);
    if (rc)
        return rc == IDL_ERR_NOT_FOUND ? IDL_ERR_CORRUPT : rc; /* an audited block is kept */
    struct codec_reader rd;
    char chain[LEDGER_CHAIN_ID_MAX + 1] = "";
    codec_reader_init(&rd, raw.data, raw.len);
    (void)codec_get_u8(&rd); /* the version, which the decoder checks */
    uint16_t n = codec_get_u16(&rd);
    const uint8_t *id = n <= LEDGER_CHAIN_ID_MAX ? codec_get_view(&rd, n) : NULL;
    if (id)
        memcpy(chain, id, n);
    rc = id ? ledger_block_decode(b, raw.data, raw.len, chain) : IDL_ERR_MALFORMED;
    free(raw.data);
    return rc == IDL_OK || rc == IDL_ERR_NOMEM ? rc : IDL_ERR_CORRUPT;
}

/* Post or contact: what each collected account.update changed, from its transaction. */
static idl_err
updates_read(struct snap *sn, struct change_scan *cs)
{
    if (cs->n_upd == 0)
        return IDL_OK; /* (qsort's array may not be NULL, even when empty) */
    qsort(cs->upd, cs->n_upd, sizeof(*cs->upd), update_ref_cmp);
    struct ledger_block b = {0};
    idl_err rc = IDL_OK;
    for (size_t i = 0; !rc && i < cs->n_upd; i++) {
        const struct update_ref *u = &cs->upd[i];
        if (i == 0 || u->height != cs->upd[i - 1].height) {
            ledger_block_free(&b);
            rc = block_at(sn, u->height, &b);
        }
        struct ledger_tx tx;
        if (!rc && u->index >= b.header.tx_count)
            rc = IDL_ERR_CORRUPT;
        if (!rc)
            rc = ledger_tx_decode(&tx, b.txs[u->index].data, b.txs[u->index].len,
                                  b.header.chain_id) == IDL_OK
                     ? IDL_OK
                     : IDL_ERR_CORRUPT;
        if (rc)
            break;
        if (tx.type == TX_ACCOUNT_UPDATE) {
            uint8_t *bits = &cs->r->due[u->due].changes;
            *bits |= tx.body.account_update.post ? REPORT_CHANGE_POST : 0;
            *bits |= tx.body.account_update.fields.count ? REPORT_CHANGE_CONTACT : 0;
        }
        ledger_tx_free(&tx);
    }
    ledger_block_free(&b);
    return rc;
}

/*
 * Fills in what changed for every REPORT_DUE_CHANGED account: the applied audit entries of
 * each manager organisation from the review's height on that name the account.
 */
static idl_err
review_changes(struct snap *sn, struct report_review *r, const struct codes *managers)
{
    struct change_scan cs = {.r = r};
    idl_err rc = IDL_OK;
    if (r->n_due && !(cs.refs = calloc(r->n_due, sizeof(*cs.refs))))
        return IDL_ERR_NOMEM;
    for (size_t i = 0; i < r->n_due; i++)
        if (r->due[i].why == REPORT_DUE_CHANGED)
            cs.refs[cs.n_refs++] = (struct due_ref){r->due[i].account, (uint32_t)i};
    if (cs.n_refs)
        qsort(cs.refs, cs.n_refs, sizeof(*cs.refs), due_ref_cmp);
    for (size_t m = 0; !rc && cs.n_refs && m < managers->n; m++) {
        struct state_key prefix, from;
        key1(&prefix, SP_AUDIT_ORG, managers->code[m]);
        from = prefix;
        state_key_u64(&from, r->last.height);
        rc = snap_scan_from(sn, &prefix, &from, collect_change, &cs);
    }
    if (!rc)
        rc = updates_read(sn, &cs);
    free(cs.refs);
    free(cs.upd);
    return rc;
}

idl_err
report_review(struct store *s, const char *org, uint64_t now_ms, struct report_review *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->org, sizeof(out->org), "%s", org);
    out->now_ms = now_ms;
    struct snap sn;
    struct codes managers = {0}; /* organisations whose administrators change the accounts */
    idl_err rc = snap_open(&sn, s);
    if (!rc)
        rc = review_head(&sn, out, &managers);
    if (!rc)
        rc = collect_candidates(&sn, out, &managers);
    /* Keep the due candidates in place, in scan order. */
    size_t kept = 0;
    for (size_t i = 0; !rc && i < out->n_due; i++) {
        bool due;
        rc = examine(&sn, out, &out->due[i], &due);
        if (!rc && due)
            out->due[kept++] = out->due[i];
    }
    if (!rc)
        out->n_due = kept;
    if (!rc && out->last.height > 0)
        rc = review_changes(&sn, out, &managers);
    snap_close(&sn);
    free(managers.code);
    return rc;
}

void
report_review_free(struct report_review *r)
{
    free(r->due);
    memset(r, 0, sizeof(*r));
}

const char *
report_change_name(unsigned bit)
{
    switch (bit) {
    case REPORT_CHANGE_CREATED:
        return "created";
    case REPORT_CHANGE_POST:
        return "post";
    case REPORT_CHANGE_STATUS:
        return "status";
    case REPORT_CHANGE_GRANT:
        return "grant";
    case REPORT_CHANGE_CONTACT:
        return "contact";
    case REPORT_CHANGE_PASSWORD:
        return "password";
    case REPORT_CHANGE_LEGACY:
        return "legacy";
    default:
        return "";
    }
}

void
report_due_reason(const struct report_due *d, uint64_t now_ms, char *out, size_t out_len)
{
    if (d->why == REPORT_DUE_CHANGED) {
        char what[96] = "";
        size_t n = 0;
        for (unsigned bit = 1; bit & REPORT_CHANGE__ALL; bit <<= 1)
            if ((d->changes & bit) && n < sizeof(what))
                n += (size_t)snprintf(what + n, sizeof(what) - n, "%s%s", n ? ", " : "",
                                      report_change_name(bit));
        if (n)
            snprintf(out, out_len, "changed after the last review: %s (last at height %llu)", what,
                     (unsigned long long)d->changed_height);
        else
            snprintf(out, out_len, "changed after the last review (at height %llu)",
                     (unsigned long long)d->changed_height);
    } else
        snprintf(out, out_len, "not reviewed for %llu days",
                 (unsigned long long)(now_ms > d->since_ms ? (now_ms - d->since_ms) / DAY_MS : 0));
}

/* ---- audit export ---- */

struct audit_scan {
    struct report_audit *r;
    size_t cap, limit;
    uint64_t to_height;
};

/* Collects entries up to the range's end; the filtering by post and the reasons follow. */
static idl_err
collect_audit(void *arg, const uint8_t *key, size_t kl, const uint8_t *val, size_t vl)
{
    (void)key, (void)kl;
    struct audit_scan *as = arg;
    struct report_audit *r = as->r;
    struct rec_audit e;
    if (schema_decode_bytes(&rec_audit_schema, &e, val, vl) != IDL_OK)
        return IDL_ERR_CORRUPT;
    if (as->to_height && e.height > as->to_height)
        return IDL_ERR_STATE; /* the end of the range: stops the scan */
    if (r->n == as->limit) {
        r->more = true;
        r->next = (struct report_audit_cursor){e.height, e.index, e.record};
        return IDL_ERR_STATE;
    }
    idl_err rc = grow((void **)&r->entries, &as->cap, r->n, sizeof(*r->entries));
    if (rc)
        return rc;
    struct report_audit_entry *x = &r->entries[r->n++];
    memset(x, 0, sizeof(*x));
    x->e = e;
    return IDL_OK;
}

/* The recorded reason of a refused entry (of its transaction, or of its batch record). */
static idl_err
audit_reason(struct snap *sn, struct report_audit_entry *x)
{
    struct state_key k;
    struct idl_bytes v;
    state_key_init(&k, SP_REASON);
    state_key_raw(&k, x->e.txid, HASH_BYTES);
    if (x->e.record)
        state_key_u32(&k, x->e.record - 1);
    idl_err rc = snap_get_raw(sn, &k, &v);
    if (rc == IDL_ERR_NOT_FOUND) /* refused without a recorded reason */
        v = (struct idl_bytes){(uint8_t *)strdup(""), 0};
    else if (rc)
        return rc;
    if (!v.data)
        return IDL_ERR_NOMEM;
    x->reason = realloc(v.data, v.len + 1);
    if (!x->reason) {
        free(v.data);
        return IDL_ERR_NOMEM;
    }
    x->reason[v.len] = '\0';
    return IDL_OK;
}

/*
 * Of entries [start, n), keeps, in place and with their reasons, those of actors who were
 * the sysadmin or secadmin when they acted (the post recorded with the entry: a post
 * changed since does not hide what its holder did).
 */
static idl_err
audit_filter(struct snap *sn, struct audit_scan *as, size_t start)
{
    struct report_audit *r = as->r;
    size_t kept = start;
    idl_err rc = IDL_OK;
    for (size_t i = start; !rc && i < r->n; i++) {
        struct report_audit_entry x = r->entries[i];
        x.post = x.e.actor_post;
        if (x.post != POST_SYSADMIN && x.post != POST_SECADMIN)
            continue;
        if (x.e.status != TXS_COMMITTED)
            rc = audit_reason(sn, &x);
        r->entries[kept++] = x;
    }
    r->n = kept; /* the entries past it hold no reason: nothing is lost to a leak */
    return rc;
}

idl_err
report_audit(struct store *s, const char *org, uint64_t from_height, uint64_t to_height,
             const struct report_audit_cursor *after, size_t limit, struct report_audit *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->org, sizeof(out->org), "%s", org);
    if (limit == 0 || limit > REPORT_AUDIT_MAX)
        return IDL_ERR_INVALID;
    struct audit_scan as = {.r = out, .limit = limit, .to_height = to_height};
    struct snap sn;
    struct rec_org o;
    struct state_key k, from;
    idl_err rc = snap_open(&sn, s);
    key1(&k, SP_ORG, org);
    if (!rc)
        rc = snap_get_rec(&sn, &k, &rec_org_schema, &o);
    struct report_audit_cursor at = {from_height, 0, 0};
    if (after && after->height >= from_height)
        at = *after;
    /* Scan a page, keep the operations of the two posts, and go on from where the page
     * stopped until the page is full of them or the range ends. */
    while (!rc) {
        size_t start = out->n;
        key1(&k, SP_AUDIT_ORG, org);
        from = k;
        state_key_u64(&from, at.height);
        state_key_u32(&from, at.index);
        state_key_u32(&from, at.record);
        out->more = false;
        rc = snap_scan_from(&sn, &k, &from, collect_audit, &as);
        rc = rc == IDL_ERR_STATE ? IDL_OK : rc; /* stopped at the end of the range or page */
        if (!rc)
            rc = audit_filter(&sn, &as, start);
        if (rc || !out->more || out->n == limit)
            break;
        at = out->next;
    }
    snap_close(&sn);
    return rc;
}

void
report_audit_free(struct report_audit *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->entries[i].reason);
    free(r->entries);
    memset(r, 0, sizeof(*r));
}

void
report_csv_field(FILE *f, const char *s, bool last)
{
    bool formula = s[0] && strchr("=+-@\t\r", s[0]);
    bool quoted = strpbrk(s, ",\"\r\n") != NULL;
    if (quoted)
        fputc('"', f);
    if (formula)
        fputc('\'', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    if (quoted)
        fputc('"', f);
    fputc(last ? '\n' : ',', f);
}

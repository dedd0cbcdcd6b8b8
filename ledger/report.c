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
#include <string.h>

#include "query.h"

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

/* Reads the record at exactly k into rec (zeroed first). IDL_ERR_NOT_FOUND if absent. */
static idl_err
snap_get_rec(struct snap *sn, const struct state_key *k, const struct schema *sc, void *rec)
{
    memset(rec, 0, sc->size);
    store_iter_seek(sn->s, sn->it, k->b, k->len);
    if (!store_iter_valid(sn->s, sn->it))
        return IDL_ERR_NOT_FOUND;
    size_t kl, vl;
    const uint8_t *key = store_iter_key(sn->s, sn->it, &kl);
    if (kl != k->len || memcmp(key, k->b, kl) != 0)
        return IDL_ERR_NOT_FOUND;
    const uint8_t *v = store_iter_value(sn->s, sn->it, &vl);
    /* Our own record failing to decode is corruption, not bad input. */
    return schema_decode_bytes(sc, rec, v, vl) == IDL_OK ? IDL_OK : IDL_ERR_CORRUPT;
}

/*
 * Calls fn for every record under prefix, in key order, until fn returns an error. fn sees
 * views valid during the call and must not use the snapshot itself.
 */
typedef idl_err (*snap_fn)(void *arg, const uint8_t *key, size_t kl, const uint8_t *val, size_t vl);

static idl_err
snap_scan(struct snap *sn, const struct state_key *prefix, snap_fn fn, void *arg)
{
    idl_err rc = IDL_OK;
    size_t kl, vl;
    for (store_iter_seek(sn->s, sn->it, prefix->b, prefix->len);
         !rc && store_iter_valid(sn->s, sn->it); store_iter_next(sn->s, sn->it)) {
        const uint8_t *k = store_iter_key(sn->s, sn->it, &kl);
        if (kl < prefix->len || memcmp(k, prefix->b, prefix->len) != 0)
            break;
        const uint8_t *v = store_iter_value(sn->s, sn->it, &vl);
        rc = fn(arg, k, kl, v, vl);
    }
    return rc;
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

/* Pushes org's children on the stack so that the lowest code is visited first. */
static idl_err
push_children(struct walk *w, const char *org, uint32_t parent)
{
    size_t base = w->todo.n;
    struct codes found = {0};
    idl_err rc = children_of(&w->sn, org, &found);
    for (size_t i = found.n; !rc && i-- > 0;) {
        rc = grow((void **)&w->todo.code, &w->todo.cap, w->todo.n, sizeof(*w->todo.code));
        if (!rc)
            rc = grow((void **)&w->todo_parent, &w->cap_parent, w->todo.n, sizeof(*w->todo_parent));
        if (!rc) {
            memcpy(w->todo.code[w->todo.n], found.code[i], sizeof(*found.code));
            w->todo_parent[w->todo.n++] = parent;
        }
    }
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

/* The accounts org reviews: its own, then those of each child that delegated to it. */
static idl_err
collect_candidates(struct snap *sn, struct report_review *r)
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

/* Reads the organisation, the chain's interval and the last review into r. */
static idl_err
review_head(struct snap *sn, struct report_review *r)
{
    struct rec_org o;
    struct ledger_policy p;
    struct state_key k;
    key1(&k, SP_ORG, r->org);
    idl_err rc = snap_get_rec(sn, &k, &rec_org_schema, &o);
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

idl_err
report_review(struct store *s, const char *org, uint64_t now_ms, struct report_review *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->org, sizeof(out->org), "%s", org);
    out->now_ms = now_ms;
    struct snap sn;
    idl_err rc = snap_open(&sn, s);
    if (!rc)
        rc = review_head(&sn, out);
    if (!rc)
        rc = collect_candidates(&sn, out);
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
    snap_close(&sn);
    return rc;
}

void
report_review_free(struct report_review *r)
{
    free(r->due);
    memset(r, 0, sizeof(*r));
}

void
report_due_reason(const struct report_due *d, uint64_t now_ms, char *out, size_t out_len)
{
    if (d->why == REPORT_DUE_CHANGED)
        snprintf(out, out_len, "changed at height %llu, after the last review",
                 (unsigned long long)d->changed_height);
    else
        snprintf(out, out_len, "not reviewed for %llu days",
                 (unsigned long long)(now_ms > d->since_ms ? (now_ms - d->since_ms) / DAY_MS : 0));
}

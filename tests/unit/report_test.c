/*
 * The reports of ledger/report.h against the truth.
 *
 * Roll-up. The report reads counters that the rules keep up to date (accounts by org and
 * status, holders by org and role) and walks the child index. These tests recount
 * everything by brute force instead: a scan of every account record (SP_ACCOUNT) and every
 * grant (SP_GRANT) in the store, placed in the tree the test itself built (its own table,
 * not the store's organisation records), and compare each number of the report of every
 * organisation: per unit and per subtree, by status, city and county of each unit, the
 * province-level remainder, and holders per role. The tree has two cities with counties
 * and schools, a city-run school, a county and a city with nothing in them, a university,
 * a province-run school and an "other" unit, schools that delegate to their parent, and
 * accounts that are active, disabled, locked, restored, unlocked, created in a batch with
 * refused records, holding grants and holding grants after being disabled. Then the test
 * tampers with a counter, a role count and the child index in the store and checks that
 * the comparison notices each: it can fail.
 *
 * Review. The test moves the chain's clock with blocks of advanced block time
 * (fx_empty_block), changes accounts after a recorded review, and checks that the review
 * report lists exactly the accounts it made stale, at the exact boundary of the policy's
 * interval, and that review.record clears them, and only those of the organisation
 * reviewed. "Now" is the tip's block time, as the node passes it.
 */
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "ledger/query.h"
#include "ledger/report.h"

#define DAY_MS 86400000ull

/* ---- the tree ---- */

struct org_def {
    const char *code, *parent;
    unsigned kind;
    const char *sys, *sec; /* who manages its business accounts */
    bool delegated;        /* to its parent, whose admins are sys and sec */
    const char *admins;    /* prefix of its own management accounts, if the test makes them */
    unsigned n_business;   /* business accounts the test creates there */
};

/* In creation order: a parent before its children. fx_tree makes the first five. */
static const struct org_def TREE[] = {
    {"440000", "", ORG_KIND_PROVINCE, "root-sysadmin", "root-secadmin", false, NULL, 2},
    {"440100", "440000", ORG_KIND_CITY, "c-sys", "c-sec", false, NULL, 2},
    {"440106", "440100", ORG_KIND_COUNTY, "k-sys", "k-sec", false, NULL, 1},
    {"4401060001", "440106", ORG_KIND_SCHOOL, "s-sys", "s-sec", false, NULL, 6},
    {"440300", "440000", ORG_KIND_CITY, "o-sys", "o-sec", false, NULL, 1},
    {"4401060002", "440106", ORG_KIND_SCHOOL, "k-sys", "k-sec", true, NULL, 5},
    {"440111", "440100", ORG_KIND_COUNTY, "k2-sys", "k2-sec", false, "k2", 2},
    {"4401110001", "440111", ORG_KIND_SCHOOL, "k2-sys", "k2-sec", true, NULL, 4},
    {"4401110002", "440111", ORG_KIND_SCHOOL, NULL, NULL, false, NULL, 0},
    {"4401000001", "440100", ORG_KIND_SCHOOL, "c-sys", "c-sec", true, NULL, 3}, /* city-run */
    {"440303", "440300", ORG_KIND_COUNTY, "m-sys", "m-sec", false, "m", 0},
    {"4403030001", "440303", ORG_KIND_SCHOOL, "m-sys", "m-sec", true, NULL, 4},
    {"4403000001", "440300", ORG_KIND_SCHOOL, "o-sys", "o-sec", true, NULL, 3}, /* city-run */
    {"440399", "440300", ORG_KIND_COUNTY, NULL, NULL, false, NULL, 0},          /* empty */
    {"440500", "440000", ORG_KIND_CITY, NULL, NULL, false, NULL, 0},            /* empty */
    {"4410001", "440000", ORG_KIND_UNIVERSITY, "u-sys", "u-sec", false, "u", 5},
    {"4400000001", "440000", ORG_KIND_SCHOOL, "root-sysadmin", "root-secadmin", true, NULL,
     3}, /* province-run */
    {"4400009001", "440000", ORG_KIND_OTHER, "root-sysadmin", "root-secadmin", true, NULL, 2},
};
#define TREE_N       IDL_ARRAY_LEN(TREE)
#define FX_TREE_MADE 5
#define BATCH_ADDED  2 /* business accounts the batch adds (two of its records are refused) */

static int
org_index(const char *code)
{
    for (size_t i = 0; i < TREE_N; i++)
        if (strcmp(TREE[i].code, code) == 0)
            return (int)i;
    return -1;
}

/* True if code is top or below it, by the test's own table. */
static bool
within(const char *code, const char *top)
{
    for (int i = org_index(code); i >= 0; i = org_index(TREE[i].parent))
        if (strcmp(TREE[i].code, top) == 0)
            return true;
    return false;
}

/* The ancestor-or-self of code of `kind` within top's subtree, -1 if none. */
static int
enclosing(const char *code, const char *top, unsigned kind)
{
    for (int i = org_index(code); i >= 0 && within(TREE[i].code, top);
         i = org_index(TREE[i].parent))
        if (TREE[i].kind == kind)
            return i;
    return -1;
}

static bool
is_unit(unsigned kind)
{
    return kind == ORG_KIND_SCHOOL || kind == ORG_KIND_UNIVERSITY || kind == ORG_KIND_OTHER;
}

static void
business_id(char *out, size_t len, const char *org, unsigned j)
{
    snprintf(out, len, "b%s-%u", org, j);
}

/* What the test does to business account j of an organisation, by pattern. */
static void
account_life(struct fx *f, const struct org_def *o, const char *id, unsigned j)
{
    if (j % 3 == 0)
        FX_OK(f, fx_grant(f, o->sec, TX_GRANT_ADD, id, "teacher", "query"));
    if (j % 4 == 1)
        FX_OK(f, fx_grant(f, o->sec, TX_GRANT_ADD, id, "teacher", "training"));
    if (j % 8 == 5) { /* granted, then withdrawn: no longer counted */
        FX_OK(f, fx_grant(f, o->sec, TX_GRANT_ADD, id, "teacher", "manager"));
        FX_OK(f, fx_grant(f, o->sec, TX_GRANT_REMOVE, id, "teacher", "manager"));
    }
    if (j % 5 == 1 || j % 5 == 4) /* disabled, 1 holding a grant */
        FX_OK(f, fx_account_op(f, o->sys, TX_ACCOUNT_DISABLE, id));
    if (j % 5 == 2)
        FX_OK(f, fx_account_op(f, o->sys, TX_ACCOUNT_LOCK, id));
    if (j % 7 == 3) { /* disabled and restored: active */
        FX_OK(f, fx_account_op(f, o->sys, TX_ACCOUNT_DISABLE, id));
        FX_OK(f, fx_account_op(f, o->sys, TX_ACCOUNT_RESTORE, id));
    }
    if (j % 6 == 5) { /* locked and unlocked: active */
        FX_OK(f, fx_account_op(f, o->sys, TX_ACCOUNT_LOCK, id));
        FX_OK(f, fx_account_op(f, o->sys, TX_ACCOUNT_UNLOCK, id));
    }
}

static void
batch_record(struct fx *f, struct tx_account_add *rec, const char *id, const char *org,
             unsigned seed)
{
    snprintf(rec->id, sizeof(rec->id), "%s", id);
    snprintf(rec->org, sizeof(rec->org), "%s", org);
    rec->class = CLASS_BUSINESS;
    fx_person(f, seed, &rec->person);
}

/*
 * A batch by k-sys at the delegated school 4401060002: two new accounts, one that already
 * exists and one at a school k-sys does not manage. Refused records must count nowhere.
 */
static void
batch_add(struct fx *f)
{
    struct ledger_tx tx;
    fx_tx(f, &tx, "k-sys", TX_ACCOUNT_BATCH_ADD);
    struct tx_account_add *recs = calloc(4, sizeof(*recs));
    assert_non_null(recs);
    batch_record(f, &recs[0], "b4401060002-100", "4401060002", 20100);
    batch_record(f, &recs[1], "b4401060002-0", "4401060002", 20101);   /* exists */
    batch_record(f, &recs[2], "b4401060001-100", "4401060001", 20102); /* not k-sys's */
    batch_record(f, &recs[3], "b4401060002-101", "4401060002", 20103);
    tx.body.batch.records.items = recs;
    tx.body.batch.records.count = 4;
    FX_OK(f, fx_submit(f, &tx));
    assert_true(fx_exists(f, "b4401060002-100"));
    assert_true(fx_exists(f, "b4401060002-101"));
    assert_false(fx_exists(f, "b4401060001-100"));
}

/* 440111's sysadmin and secadmin, authorised; its auditor left pending. */
static void
county_admins_pending_auditor(struct fx *f)
{
    FX_OK(f, fx_mgmt_add(f, "c-sys", "k2-sys", "440111", POST_SYSADMIN, 600));
    FX_OK(f, fx_mgmt_add(f, "c-sys", "k2-sec", "440111", POST_SECADMIN, 601));
    FX_OK(f, fx_mgmt_add(f, "c-sys", "k2-aud", "440111", POST_AUDITOR, 602));
    FX_OK(f, fx_authorize(f, "c-sec", "k2-sys"));
    FX_OK(f, fx_authorize(f, "c-sec", "k2-sec"));
}

static void
build_orgs(struct fx *f)
{
    fx_tree(f);
    for (size_t i = FX_TREE_MADE; i < TREE_N; i++) {
        const struct org_def *o = &TREE[i], *p = &TREE[org_index(o->parent)];
        unsigned type = o->kind == ORG_KIND_SCHOOL ? SCHOOL_PRIMARY : SCHOOL_NONE;
        FX_OK(f, fx_org_add(f, p->sys, o->code, o->kind, o->parent, type));
        if (o->delegated)
            FX_OK(f, fx_delegate(f, p->sys, o->code, 1));
        if (o->admins && strcmp(o->admins, "k2") == 0)
            county_admins_pending_auditor(f);
        else if (o->admins)
            fx_admins(f, p->sys, p->sec, o->code, o->admins, 700 + 10 * (unsigned)i);
    }
}

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    fx_open(f, NULL);
    build_orgs(f);
    unsigned seed = 10000;
    for (size_t i = 0; i < TREE_N; i++) {
        for (unsigned j = 0; j < TREE[i].n_business; j++) {
            char id[LEDGER_ID_MAX + 1];
            business_id(id, sizeof(id), TREE[i].code, j);
            FX_OK(f, fx_business_add(f, TREE[i].sys, id, TREE[i].code, seed++));
        }
    }
    for (size_t i = 0; i < TREE_N; i++) {
        for (unsigned j = 0; j < TREE[i].n_business; j++) {
            char id[LEDGER_ID_MAX + 1];
            business_id(id, sizeof(id), TREE[i].code, j);
            account_life(f, &TREE[i], id, j);
        }
    }
    batch_add(f);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx_close(*state);
    free(*state);
    return 0;
}

/* ---- the truth: every account and grant in the store ---- */

struct t_acct {
    char id[LEDGER_ID_MAX + 1];
    char org[LEDGER_CODE_MAX + 1];
    uint8_t class, status;
    uint64_t created_time_ms;
};

struct t_grant {
    char account[LEDGER_ID_MAX + 1];
    char system[LEDGER_CODE_MAX + 1];
    char role[LEDGER_CODE_MAX + 1];
};

struct truth {
    struct t_acct *a;
    size_t n_a;
    struct t_grant *g;
    size_t n_g;
};

static int
scan_account(void *arg, const uint8_t *key, size_t kl, const uint8_t *val, size_t vl)
{
    (void)key, (void)kl;
    struct truth *t = arg;
    struct rec_account a;
    assert_int_equal(schema_decode_bytes(&rec_account_schema, &a, val, vl), IDL_OK);
    t->a = realloc(t->a, (t->n_a + 1) * sizeof(*t->a));
    assert_non_null(t->a);
    struct t_acct *x = &t->a[t->n_a++];
    memcpy(x->id, a.id, sizeof(x->id));
    memcpy(x->org, a.org, sizeof(x->org));
    x->class = a.class;
    x->status = a.status;
    x->created_time_ms = a.created_time_ms;
    return 0;
}

static int
scan_grant(void *arg, const uint8_t *key, size_t kl, const uint8_t *val, size_t vl)
{
    (void)val, (void)vl;
    struct truth *t = arg;
    t->g = realloc(t->g, (t->n_g + 1) * sizeof(*t->g));
    assert_non_null(t->g);
    struct t_grant *x = &t->g[t->n_g++];
    size_t off = query_key_part(key, kl, 1, x->account, sizeof(x->account));
    off = query_key_part(key, kl, off, x->system, sizeof(x->system));
    query_key_part(key, kl, off, x->role, sizeof(x->role));
    return 0;
}

static void
truth_load(struct fx *f, struct truth *t)
{
    memset(t, 0, sizeof(*t));
    struct state_key k;
    state_key_init(&k, SP_ACCOUNT);
    assert_int_equal(query_scan(ledger_store(f->ledger), &k, NULL, 0, scan_account, t), IDL_OK);
    state_key_init(&k, SP_GRANT);
    assert_int_equal(query_scan(ledger_store(f->ledger), &k, NULL, 0, scan_grant, t), IDL_OK);
}

static void
truth_free(struct truth *t)
{
    free(t->a);
    free(t->g);
}

static const struct t_acct *
truth_account(const struct truth *t, const char *id)
{
    for (size_t i = 0; i < t->n_a; i++)
        if (strcmp(t->a[i].id, id) == 0)
            return &t->a[i];
    return NULL;
}

/*
 * Business accounts by status: those of exactly `org` (subtree false) or of org and below
 * (subtree true). With outside_of set, only those lying in no city of outside_of's subtree.
 */
static void
brute_tally(const struct truth *t, const char *org, bool subtree, const char *outside_of,
            struct report_tally *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < t->n_a; i++) {
        const struct t_acct *a = &t->a[i];
        if (a->class != CLASS_BUSINESS)
            continue;
        if (subtree ? !within(a->org, org) : strcmp(a->org, org) != 0)
            continue;
        if (outside_of && enclosing(a->org, outside_of, ORG_KIND_CITY) >= 0)
            continue;
        assert_true(a->status > STATUS_NONE && a->status < STATUS__COUNT);
        out->total++;
        out->by_status[a->status]++;
    }
}

/* Grants of accounts in top's subtree for system/role. */
static uint64_t
brute_holders(const struct truth *t, const char *top, const char *system, const char *role)
{
    uint64_t n = 0;
    for (size_t i = 0; i < t->n_g; i++) {
        const struct t_acct *a = truth_account(t, t->g[i].account);
        assert_non_null(a); /* a grant of no account: the store is broken */
        n += within(a->org, top) && strcmp(t->g[i].system, system) == 0 &&
             strcmp(t->g[i].role, role) == 0;
    }
    return n;
}

/* The distinct system/role pairs held in top's subtree. */
static size_t
brute_role_pairs(const struct truth *t, const char *top)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n_g; i++) {
        const struct t_acct *a = truth_account(t, t->g[i].account);
        if (!within(a->org, top))
            continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) {
            const struct t_acct *b = truth_account(t, t->g[j].account);
            seen = within(b->org, top) && strcmp(t->g[i].system, t->g[j].system) == 0 &&
                   strcmp(t->g[i].role, t->g[j].role) == 0;
        }
        n += !seen;
    }
    return n;
}

/* A row of the table: every school-like unit, and a bureau with accounts of its own. */
static bool
brute_is_row(const struct truth *t, const char *code)
{
    struct report_tally own;
    brute_tally(t, code, false, NULL, &own);
    return is_unit(TREE[org_index(code)].kind) || own.total > 0;
}

/* ---- comparing a report with the truth ---- */

struct mismatches {
    unsigned n;
    bool quiet;
    const char *top;
};

#define CHECK(m, cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            (m)->n++;                                                                              \
            if (!(m)->quiet) {                                                                     \
                print_message("report of %s: ", (m)->top);                                         \
                print_message(__VA_ARGS__);                                                        \
                print_message("\n");                                                               \
            }                                                                                      \
        }                                                                                          \
    } while (0)

static void
check_tally(struct mismatches *m, const char *what, const char *code,
            const struct report_tally *got, const struct report_tally *want)
{
    CHECK(m, got->total == want->total, "%s of %s: total %llu, brute force %llu", what, code,
          (unsigned long long)got->total, (unsigned long long)want->total);
    for (unsigned s = 0; s < STATUS__COUNT; s++)
        CHECK(m, got->by_status[s] == want->by_status[s], "%s of %s: %s %llu, brute force %llu",
              what, code, ledger_status_name(s), (unsigned long long)got->by_status[s],
              (unsigned long long)want->by_status[s]);
}

/*
 * Appends top's subtree in depth-first order (the test's table): the units directly under
 * an organisation (schools, universities, other units), then its bureaus (cities,
 * counties), each group in code order.
 */
static void
dfs_order(const char *top, int *order, size_t *n)
{
    order[(*n)++] = org_index(top);
    for (int units = 1; units >= 0; units--) {
        const char *last = "";
        for (;;) { /* the children of top in this group, lowest code first */
            int next = -1;
            for (size_t i = 0; i < TREE_N; i++)
                if (strcmp(TREE[i].parent, top) == 0 && is_unit(TREE[i].kind) == (bool)units &&
                    strcmp(TREE[i].code, last) > 0 &&
                    (next < 0 || strcmp(TREE[i].code, TREE[next].code) < 0))
                    next = (int)i;
            if (next < 0)
                break;
            dfs_order(TREE[next].code, order, n);
            last = TREE[next].code;
        }
    }
}

static const char *
unit_code(const struct report_business *r, uint32_t i)
{
    return i == REPORT_NONE ? "(none)" : r->units[i].code;
}

static const char *
def_code(int i)
{
    return i < 0 ? "(none)" : TREE[i].code;
}

/* One unit against the table and the brute-force counts. */
static void
check_unit(struct mismatches *m, const struct truth *t, const struct report_business *r,
           const struct report_unit *u, int def)
{
    const struct org_def *d = &TREE[def];
    struct report_tally own, tree;
    CHECK(m, u->kind == d->kind, "%s: kind %u, want %u", d->code, u->kind, d->kind);
    CHECK(m, u == r->units || strcmp(unit_code(r, u->parent), d->parent) == 0,
          "%s: parent %s, want %s", d->code, unit_code(r, u->parent), d->parent);
    const char *city = def_code(enclosing(d->code, m->top, ORG_KIND_CITY));
    const char *county = def_code(enclosing(d->code, m->top, ORG_KIND_COUNTY));
    CHECK(m, strcmp(unit_code(r, u->city), city) == 0, "%s: city %s, want %s", d->code,
          unit_code(r, u->city), city);
    CHECK(m, strcmp(unit_code(r, u->county), county) == 0, "%s: county %s, want %s", d->code,
          unit_code(r, u->county), county);
    brute_tally(t, d->code, false, NULL, &own);
    brute_tally(t, d->code, true, NULL, &tree);
    check_tally(m, "own accounts", d->code, &u->own, &own);
    check_tally(m, "accounts in the subtree", d->code, &u->tree, &tree);
    bool row = brute_is_row(t, d->code);
    CHECK(m, u->row == row, "%s: row %d, want %d", d->code, u->row, row);
}

/* Every number of the report of top against the brute force; returns the mismatches. */
static unsigned
compare_business(struct fx *f, const struct truth *t, const char *top, bool quiet)
{
    struct mismatches m = {0, quiet, top};
    struct report_business r;
    idl_err rc = report_business(ledger_store(f->ledger), top, &r);
    CHECK(&m, rc == IDL_OK, "failed: %s", idl_strerror(rc));
    int order[TREE_N];
    size_t n = 0;
    dfs_order(top, order, &n);
    CHECK(&m, r.n_units == n, "%zu units, want %zu", r.n_units, n);
    for (size_t i = 0; i < r.n_units && i < n; i++) {
        CHECK(&m, strcmp(r.units[i].code, TREE[order[i]].code) == 0, "unit %zu is %s, want %s", i,
              r.units[i].code, TREE[order[i]].code);
        int def = org_index(r.units[i].code);
        CHECK(&m, def >= 0, "unknown unit %s", r.units[i].code);
        if (def >= 0)
            check_unit(&m, t, &r, &r.units[i], def);
    }
    struct report_tally outside;
    brute_tally(t, top, true, top, &outside);
    check_tally(&m, "rows outside any city", top, &r.outside_cities, &outside);
    bool any_outside = false;
    for (size_t i = 0; i < n; i++)
        any_outside |= enclosing(TREE[order[i]].code, top, ORG_KIND_CITY) < 0 &&
                       brute_is_row(t, TREE[order[i]].code);
    CHECK(&m, r.any_outside_cities == any_outside, "any_outside_cities %d, want %d",
          r.any_outside_cities, any_outside);
    CHECK(&m, r.n_roles == brute_role_pairs(t, top), "%zu roles held, brute force %zu", r.n_roles,
          brute_role_pairs(t, top));
    for (size_t i = 0; i < r.n_roles; i++) {
        uint64_t want = brute_holders(t, top, r.roles[i].system, r.roles[i].role);
        CHECK(&m, r.roles[i].count == want, "%s/%s: %llu holders, brute force %llu",
              r.roles[i].system, r.roles[i].role, (unsigned long long)r.roles[i].count,
              (unsigned long long)want);
        CHECK(&m,
              i == 0 || strcmp(r.roles[i - 1].system, r.roles[i].system) < 0 ||
                  (strcmp(r.roles[i - 1].system, r.roles[i].system) == 0 &&
                   strcmp(r.roles[i - 1].role, r.roles[i].role) < 0),
              "roles out of order at %zu", i);
    }
    report_business_free(&r);
    return m.n;
}

/* ---- roll-up tests ---- */

static void
rollup_matches_brute_force(void **state)
{
    struct fx *f = *state;
    struct truth t;
    truth_load(f, &t);
    /* The brute force sees what the test made: every account, in every status. */
    size_t made = BATCH_ADDED, by_status[STATUS__COUNT] = {0}, business = 0;
    for (size_t i = 0; i < TREE_N; i++)
        made += TREE[i].n_business;
    for (size_t i = 0; i < t.n_a; i++)
        if (t.a[i].class == CLASS_BUSINESS) {
            business++;
            by_status[t.a[i].status]++;
        }
    assert_int_equal(business, made);
    assert_true(by_status[STATUS_ACTIVE] > 0 && by_status[STATUS_DISABLED] > 0 &&
                by_status[STATUS_LOCKED] > 0);
    assert_true(t.n_g > 0);
    for (size_t i = 0; i < TREE_N; i++)
        if (compare_business(f, &t, TREE[i].code, false) != 0)
            fail_msg("the report of %s differs from the brute-force count", TREE[i].code);
    struct report_business r;
    assert_int_equal(report_business(ledger_store(f->ledger), "nosuch", &r), IDL_ERR_NOT_FOUND);
    report_business_free(&r);
    truth_free(&t);
}

static const struct report_unit *
unit_of(const struct report_business *r, const char *code)
{
    for (size_t i = 0; i < r->n_units; i++)
        if (strcmp(r->units[i].code, code) == 0)
            return &r->units[i];
    fail_msg("no unit %s in the report", code);
    return NULL;
}

static const char *
city_of(const struct report_business *r, const char *code)
{
    return unit_code(r, unit_of(r, code)->city);
}

static const char *
county_of(const struct report_business *r, const char *code)
{
    return unit_code(r, unit_of(r, code)->county);
}

/* 附件5 (a county) and 附件6 (a city) and the province's table, spelled out. */
static void
rollup_shapes(void **state)
{
    struct fx *f = *state;
    struct report_business r;
    /* 附件5: the county's own row and its schools, all in the county. */
    assert_int_equal(report_business(ledger_store(f->ledger), "440106", &r), IDL_OK);
    assert_int_equal(r.n_units, 3);
    for (size_t i = 0; i < r.n_units; i++) {
        assert_true(r.units[i].row); /* 440106 has one account of its own: its 本级 row */
        assert_string_equal(county_of(&r, r.units[i].code), "440106");
        assert_string_equal(city_of(&r, r.units[i].code), "(none)");
    }
    report_business_free(&r);
    /* 附件6: county schools under their county; the city-run school under the city alone. */
    assert_int_equal(report_business(ledger_store(f->ledger), "440100", &r), IDL_OK);
    assert_string_equal(city_of(&r, "4401000001"), "440100");
    assert_string_equal(county_of(&r, "4401000001"), "(none)");
    assert_string_equal(county_of(&r, "4401110001"), "440111");
    assert_string_equal(city_of(&r, "4401110001"), "440100");
    assert_true(unit_of(&r, "4401110002")->row); /* a school with no account is a row of 0 */
    assert_int_equal(unit_of(&r, "4401110002")->own.total, 0);
    assert_false(r.any_outside_cities);
    report_business_free(&r);
    /* The province: universities, province-run schools and other units in no city. */
    assert_int_equal(report_business(ledger_store(f->ledger), FX_ROOT, &r), IDL_OK);
    static const char *const provincial[] = {"440000", "4410001", "4400000001", "4400009001"};
    uint64_t sum = 0;
    for (size_t i = 0; i < IDL_ARRAY_LEN(provincial); i++) {
        assert_string_equal(city_of(&r, provincial[i]), "(none)");
        assert_string_equal(county_of(&r, provincial[i]), "(none)");
        assert_true(unit_of(&r, provincial[i])->row);
        sum += unit_of(&r, provincial[i])->own.total;
    }
    assert_true(r.any_outside_cities);
    assert_int_equal(r.outside_cities.total, sum);
    /* The province's own level together, before the cities: by code alone the province-run
     * school 4400000001 would come first and the university 4410001 after every city. */
    static const char *const order[] = {"440000",     "4400000001", "4400009001", "4410001",
                                        "440100",     "4401000001", "440106",     "4401060001",
                                        "4401060002", "440111"};
    for (size_t i = 0; i < IDL_ARRAY_LEN(order); i++)
        assert_string_equal(r.units[i].code, order[i]);
    assert_int_equal(unit_of(&r, "440500")->tree.total, 0); /* an empty city is listed */
    assert_false(unit_of(&r, "440500")->row);
    assert_int_equal(unit_of(&r, "440399")->tree.total, 0); /* and an empty county */
    uint64_t cities = 0;
    for (size_t i = 0; i < r.n_units; i++)
        if (r.units[i].kind == ORG_KIND_CITY)
            cities += r.units[i].tree.total;
    assert_int_equal(r.units[0].tree.total, cities + r.outside_cities.total);
    report_business_free(&r);
}

/* Writes (or with val NULL, deletes) one key of the store behind the ledger's back. */
static void
tamper(struct fx *f, const struct state_key *k, const void *val, size_t len)
{
    struct store_batch b;
    store_batch_init(&b);
    if (val)
        assert_int_equal(store_batch_put(&b, k->b, k->len, val, len), IDL_OK);
    else
        assert_int_equal(store_batch_del(&b, k->b, k->len), IDL_OK);
    assert_int_equal(store_write(ledger_store(f->ledger), &b, true), IDL_OK);
    store_batch_free(&b);
}

static void
tamper_rec(struct fx *f, const struct state_key *k, const struct schema *s, const void *rec)
{
    struct idl_bytes v;
    assert_int_equal(schema_encode_bytes(s, rec, &v), IDL_OK);
    tamper(f, k, v.data, v.len);
    free(v.data);
}

/* Mismatches of the reports of each listed organisation, quietly. */
static void
expect_mismatch(struct fx *f, const struct truth *t, const char *const *orgs, size_t n, bool want)
{
    for (size_t i = 0; i < n; i++) {
        unsigned got = compare_business(f, t, orgs[i], true);
        if ((got > 0) != want)
            fail_msg("report of %s: %u mismatches, want %s", orgs[i], got, want ? "some" : "none");
    }
}

/* The comparison can fail: one counter off by one is caught in every report above it. */
static void
rollup_catches_tampering(void **state)
{
    struct fx *f = *state;
    struct truth t;
    truth_load(f, &t);
    static const char *const above[] = {"440000", "440100", "440106", "4401060002"};
    static const char *const apart[] = {"440300", "4401060001", "440111", "4410001"};

    struct state_key k;
    struct rec_counts saved, c;
    state_key_init(&k, SP_COUNTS);
    state_key_str(&k, "4401060002");
    FX_OK(f, fx_get(f, &k, &rec_counts_schema, &saved));
    c = saved;
    c.business[STATUS_LOCKED]++; /* one account too many */
    tamper_rec(f, &k, &rec_counts_schema, &c);
    expect_mismatch(f, &t, above, IDL_ARRAY_LEN(above), true);
    expect_mismatch(f, &t, apart, IDL_ARRAY_LEN(apart), false);
    c = saved;
    c.business[STATUS_ACTIVE]--;
    c.business[STATUS_DISABLED]++; /* the right total, one in the wrong status */
    tamper_rec(f, &k, &rec_counts_schema, &c);
    expect_mismatch(f, &t, above, IDL_ARRAY_LEN(above), true);
    tamper_rec(f, &k, &rec_counts_schema, &saved);
    expect_mismatch(f, &t, above, IDL_ARRAY_LEN(above), false);

    /* A role holder too many at the city-run school of 440300. */
    static const char *const role_above[] = {"440000", "440300", "4403000001"};
    static const char *const role_apart[] = {"440100", "440303"};
    state_key_init(&k, SP_ROLE_COUNT);
    state_key_str(&k, "4403000001");
    state_key_str(&k, "teacher");
    state_key_str(&k, "auditor");
    uint8_t one[4];
    codec_be32_put(one, 1);
    tamper(f, &k, one, sizeof(one));
    expect_mismatch(f, &t, role_above, IDL_ARRAY_LEN(role_above), true);
    expect_mismatch(f, &t, role_apart, IDL_ARRAY_LEN(role_apart), false);
    tamper(f, &k, NULL, 0);
    expect_mismatch(f, &t, role_above, IDL_ARRAY_LEN(role_above), false);

    /* A school lost from the child index: its accounts vanish from every roll-up above. */
    state_key_init(&k, SP_ORG_CHILD);
    state_key_str(&k, "440106");
    state_key_str(&k, "4401060002");
    tamper(f, &k, NULL, 0);
    expect_mismatch(f, &t, above, 3, true);
    tamper(f, &k, "", 0);
    expect_mismatch(f, &t, above, IDL_ARRAY_LEN(above), false);
    truth_free(&t);
}

/* ---- periodic review ---- */

/* The review report of org as of the tip's block time, as the node asks for it. */
static void
review_now(struct fx *f, const char *org, struct report_review *r)
{
    struct ledger_tip tip;
    ledger_tip(f->ledger, &tip);
    assert_int_equal(report_review(ledger_store(f->ledger), org, tip.time_ms, r), IDL_OK);
    assert_int_equal(r->now_ms, tip.time_ms);
    assert_int_equal(r->interval_days, f->g.ledger.policy.review_interval_days);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Asserts that the review of org lists exactly `want` (any order), each for `why`. */
static void
expect_due(struct fx *f, const char *org, const char **want, size_t n, unsigned why)
{
    struct report_review r;
    review_now(f, org, &r);
    const char **got = calloc(r.n_due + 1, sizeof(*got));
    assert_non_null(got);
    for (size_t i = 0; i < r.n_due; i++) {
        got[i] = r.due[i].account;
        if (r.due[i].why != why || r.due[i].status == STATUS_DISABLED)
            fail_msg("review of %s: %s is due for reason %u (status %s), want %u", org, got[i],
                     r.due[i].why, ledger_status_name(r.due[i].status), why);
    }
    if (r.n_due)
        qsort(got, r.n_due, sizeof(*got), cmp_str);
    if (n)
        qsort(want, n, sizeof(*want), cmp_str);
    bool same = r.n_due == n;
    for (size_t i = 0; same && i < n; i++)
        same = strcmp(got[i], want[i]) == 0;
    if (!same) {
        for (size_t i = 0; i < r.n_due; i++)
            print_message("  due:  %s\n", got[i]);
        for (size_t i = 0; i < n; i++)
            print_message("  want: %s\n", want[i]);
        fail_msg("review of %s lists %zu accounts, want %zu others", org, r.n_due, n);
    }
    free(got);
    report_review_free(&r);
}

/* The accounts of the orgs (NULL-terminated) that are not disabled and, if created_before is
 * not 0, were created before it. The strings live in t. */
static size_t
live_accounts(const struct truth *t, const char *const *orgs, uint64_t created_before,
              const char **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n_a; i++) {
        bool in = false;
        for (size_t j = 0; orgs[j]; j++)
            in |= strcmp(t->a[i].org, orgs[j]) == 0;
        if (!in || t->a[i].status == STATUS_DISABLED ||
            (created_before && t->a[i].created_time_ms >= created_before))
            continue;
        assert_true(n < max);
        out[n++] = t->a[i].id;
    }
    return n;
}

#define DUE_MAX 64

/*
 * 440111 has never been reviewed: an account is due once the interval has passed since its
 * creation. Accounts created 100 days apart become due at their own boundaries, as block
 * time passes; review.record by 440111's secadmin clears them, and only them: 440106, as
 * stale, keeps its list.
 */
static void
review_stale_by_block_time(void **state)
{
    struct fx *f = *state;
    static const char *const area[] = {"440111", "4401110001", NULL};
    static const char *const other[] = {"440106", "4401060002", NULL};
    const uint64_t interval = f->g.ledger.policy.review_interval_days * DAY_MS;
    expect_due(f, "440111", NULL, 0, REPORT_DUE_INTERVAL); /* nothing is old yet */

    struct truth old;
    truth_load(f, &old);
    const char *stale[DUE_MAX];
    size_t n_stale = live_accounts(&old, area, 0, stale, DUE_MAX);
    assert_true(n_stale >= 5); /* k2-sys, k2-sec, pending k2-aud, business accounts */
    uint64_t last = 0;         /* the newest of them */
    for (size_t i = 0; i < old.n_a; i++)
        for (size_t j = 0; j < n_stale; j++)
            if (strcmp(old.a[i].id, stale[j]) == 0 && old.a[i].created_time_ms > last)
                last = old.a[i].created_time_ms;

    fx_empty_block(f, f->time_ms + 100 * DAY_MS);
    FX_OK(f, fx_business_add(f, "k2-sys", "n440111-0", "440111", 30000));
    FX_OK(f, fx_business_add(f, "k2-sys", "n4401110001-0", "4401110001", 30001));

    /* One millisecond before the newest old account's boundary: all old ones but it. */
    fx_empty_block(f, last + interval - 1);
    const char *almost[DUE_MAX];
    size_t n_almost = 0;
    for (size_t j = 0; j < n_stale; j++)
        if (truth_account(&old, stale[j])->created_time_ms < last)
            almost[n_almost++] = stale[j];
    assert_int_equal(n_almost, n_stale - 1);
    expect_due(f, "440111", almost, n_almost, REPORT_DUE_INTERVAL);
    fx_empty_block(f, last + interval);
    expect_due(f, "440111", stale, n_stale, REPORT_DUE_INTERVAL);

    /* Those of 440106 as old are due too (its batch accounts came later). */
    const char *other_due[DUE_MAX];
    size_t n_other = live_accounts(&old, other, last + 1, other_due, DUE_MAX);
    expect_due(f, "440106", other_due, n_other, REPORT_DUE_INTERVAL);

    FX_OK(f, fx_review(f, "k2-sec", "440111", "2026年上半年核查"));
    expect_due(f, "440111", NULL, 0, REPORT_DUE_INTERVAL);
    expect_due(f, "440106", other_due, n_other, REPORT_DUE_INTERVAL);
    truth_free(&old);
}

/* account.update of a business account's mobile number, by its manager. */
static idl_err
update_mobile(struct fx *f, const char *actor, const char *id)
{
    struct state_key k;
    struct rec_account a;
    state_key_init(&k, SP_ACCOUNT);
    state_key_str(&k, id);
    assert_int_equal(fx_get(f, &k, &rec_account_schema, &a), IDL_OK);
    struct ledger_tx tx;
    fx_tx(f, &tx, actor, TX_ACCOUNT_UPDATE);
    struct ledger_sealed *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    s->field = PF_MOBILE;
    assert_int_equal(person_seal(f->pkeys, a.person, PF_MOBILE, "13912345678", &s->data), IDL_OK);
    snprintf(tx.body.account_update.id, sizeof(tx.body.account_update.id), "%s", id);
    tx.body.account_update.fields.items = s;
    tx.body.account_update.fields.count = 1;
    return fx_submit(f, &tx);
}

static idl_err
change_post(struct fx *f, const char *actor, const char *id, unsigned post)
{
    struct ledger_tx tx;
    fx_tx(f, &tx, actor, TX_ACCOUNT_UPDATE);
    snprintf(tx.body.account_update.id, sizeof(tx.body.account_update.id), "%s", id);
    tx.body.account_update.post = (uint8_t)post;
    return fx_submit(f, &tx);
}

/* Asserts that the review of org lists account as changed in exactly these ways. */
static void
expect_changes(struct fx *f, const char *org, const char *account, unsigned bits)
{
    struct report_review r;
    review_now(f, org, &r);
    const struct report_due *d = NULL;
    for (size_t i = 0; i < r.n_due; i++)
        if (strcmp(r.due[i].account, account) == 0)
            d = &r.due[i];
    if (!d)
        fail_msg("review of %s does not list %s", org, account);
    if (d->changes != bits)
        fail_msg("review of %s: %s changed in ways %#x, want %#x", org, account, d->changes, bits);
    report_review_free(&r);
}

/* Asserts that a refused review changed neither 440106's record nor its list. */
static void
review_refused(struct fx *f, const char *actor, const char **due, size_t n_due,
               uint64_t reviewed_height)
{
    FX_EXPECT(f, fx_review(f, actor, "440106", "越权核查"), IDL_ERR_DENIED);
    struct report_review r;
    review_now(f, "440106", &r);
    assert_int_equal(r.last.height, reviewed_height);
    report_review_free(&r);
    expect_due(f, "440106", due, n_due, REPORT_DUE_CHANGED);
}

/*
 * 440106 reviews, then accounts change: a post moves, an account is locked, one's mobile
 * number changes, one is created at the delegating school, one is disabled (its access is
 * gone: not listed), and one changes at a school that does not delegate (not 440106's).
 * Exactly the changed ones are due; wrong actors cannot close the review; the county's
 * sysadmin can, and then the interval runs from the review.
 */
static void
review_changed_since_last(void **state)
{
    struct fx *f = *state;
    const uint64_t interval = f->g.ledger.policy.review_interval_days * DAY_MS;
    fx_empty_block(f, f->time_ms + interval); /* everything is old */
    FX_OK(f, fx_review(f, "k-sys", "440106", "2026年上半年核查"));
    expect_due(f, "440106", NULL, 0, REPORT_DUE_CHANGED);
    struct report_review r;
    review_now(f, "440106", &r);
    uint64_t reviewed = r.last.height;
    assert_string_equal(r.last.actor, "k-sys");
    report_review_free(&r);

    FX_OK(f, fx_account_op(f, "k-sys", TX_ACCOUNT_LOCK, "b440106-0"));
    FX_OK(f, update_mobile(f, "k-sys", "b4401060002-0"));
    FX_OK(f, fx_business_add(f, "k-sys", "b4401060002-200", "4401060002", 30100));
    FX_OK(f, fx_account_op(f, "k-sys", TX_ACCOUNT_DISABLE, "b4401060002-100"));
    FX_OK(f, fx_account_op(f, "s-sys", TX_ACCOUNT_LOCK, "b4401060001-0"));
    /* What an account may do is part of the review: a withdrawn grant is a change. */
    FX_OK(f, fx_grant(f, "k-sec", TX_GRANT_REMOVE, "b4401060002-3", "teacher", "query"));
    const char *due[] = {"b440106-0", "b4401060002-0", "b4401060002-200", "b4401060002-3",
                         "k-aud"};
    review_refused(f, "k-aud", due, 4, reviewed); /* the auditor: before its post moves */
    FX_OK(f, fx_account_op(f, "c-sys", TX_ACCOUNT_DISABLE, "k-sec"));
    FX_OK(f, change_post(f, "c-sys", "k-aud", POST_SECADMIN));
    assert_int_equal(fx_status(f, "k-aud"), STATUS_PENDING);
    expect_due(f, "440106", due, IDL_ARRAY_LEN(due), REPORT_DUE_CHANGED);
    /* What changed, from the audit entries of 440106 and of its parent 440100 (whose
     * sysadmin moved k-aud's post) and, for the updates, from the transactions. */
    expect_changes(f, "440106", "b440106-0", REPORT_CHANGE_STATUS);
    expect_changes(f, "440106", "b4401060002-0", REPORT_CHANGE_CONTACT);
    expect_changes(f, "440106", "b4401060002-200", REPORT_CHANGE_CREATED);
    expect_changes(f, "440106", "b4401060002-3", REPORT_CHANGE_GRANT);
    expect_changes(f, "440106", "k-aud", REPORT_CHANGE_POST);
    FX_OK(f, update_mobile(f, "c-sys", "k-aud"));
    FX_OK(f, fx_account_op(f, "k-sys", TX_ACCOUNT_RESET_PASSWORD, "b440106-0"));
    expect_changes(f, "440106", "k-aud", REPORT_CHANGE_POST | REPORT_CHANGE_CONTACT);
    expect_changes(f, "440106", "b440106-0", REPORT_CHANGE_STATUS | REPORT_CHANGE_PASSWORD);
    review_refused(f, "c-sys", due, IDL_ARRAY_LEN(due), reviewed); /* the parent's */
    review_refused(f, "s-sys", due, IDL_ARRAY_LEN(due), reviewed); /* a child's */
    review_refused(f, "o-sys", due, IDL_ARRAY_LEN(due), reviewed); /* another city's */

    struct truth t;
    truth_load(f, &t);
    static const char *const area[] = {"440111", "4401110001", NULL};
    const char *other[DUE_MAX];
    size_t n_other = live_accounts(&t, area, 0, other, DUE_MAX);
    expect_due(f, "440111", other, n_other, REPORT_DUE_INTERVAL);
    FX_OK(f, fx_review(f, "k-sys", "440106", "整改后复查"));
    expect_due(f, "440106", NULL, 0, REPORT_DUE_CHANGED);
    expect_due(f, "440111", other, n_other, REPORT_DUE_INTERVAL); /* only 440106's cleared */

    /* The interval now runs from this review, for every live account of 440106's. */
    review_now(f, "440106", &r);
    uint64_t since = r.last.time_ms;
    report_review_free(&r);
    fx_empty_block(f, since + interval - 1);
    expect_due(f, "440106", NULL, 0, REPORT_DUE_INTERVAL);
    fx_empty_block(f, since + interval);
    truth_free(&t);
    truth_load(f, &t);
    static const char *const mine[] = {"440106", "4401060002", NULL};
    const char *all[DUE_MAX];
    size_t n_all = live_accounts(&t, mine, 0, all, DUE_MAX);
    assert_true(n_all >= 6);
    expect_due(f, "440106", all, n_all, REPORT_DUE_INTERVAL);
    truth_free(&t);
}

static void
account_op_tx(struct fx *f, struct ledger_tx *tx, const char *actor, unsigned type, const char *id)
{
    fx_tx(f, tx, actor, type);
    snprintf(tx->body.account_op.id, sizeof(tx->body.account_op.id), "%s", id);
    snprintf(tx->body.account_op.reason, sizeof(tx->body.account_op.reason), "变更申请单");
}

/*
 * A change in the review's own block, after the review, must not escape it. The ledger
 * keeps the height of an account's last change, not its place in the block, so the change
 * made just before the review in that block is listed too (report.h); the next review,
 * in a block of its own, clears both.
 */
static void
review_same_block(void **state)
{
    struct fx *f = *state;
    fx_empty_block(f, f->time_ms + f->g.ledger.policy.review_interval_days * DAY_MS);
    struct ledger_tx txs[3];
    account_op_tx(f, &txs[0], "k-sys", TX_ACCOUNT_LOCK, "b440106-0");
    fx_tx(f, &txs[1], "k-sys", TX_REVIEW_RECORD);
    snprintf(txs[1].body.review.org, sizeof(txs[1].body.review.org), "440106");
    snprintf(txs[1].body.review.note, sizeof(txs[1].body.review.note), "2026年上半年核查");
    account_op_tx(f, &txs[2], "k-sys", TX_ACCOUNT_LOCK, "b4401060002-0");
    FX_OK(f, fx_submit_many(f, txs, 3));
    const char *due[] = {"b440106-0", "b4401060002-0"};
    expect_due(f, "440106", due, IDL_ARRAY_LEN(due), REPORT_DUE_CHANGED);
    FX_OK(f, fx_review(f, "k-sec", "440106", "复查"));
    expect_due(f, "440106", NULL, 0, REPORT_DUE_CHANGED);
}

/* ---- audit export ---- */

/* The audit entries under org (SP_AUDIT_ORG), every one, read straight from the store. */
struct all_audit {
    struct rec_audit *e;
    size_t n, cap;
};

static int
scan_audit(void *arg, const uint8_t *key, size_t kl, const uint8_t *val, size_t vl)
{
    (void)key, (void)kl;
    struct all_audit *a = arg;
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 64;
        a->e = realloc(a->e, a->cap * sizeof(*a->e));
        assert_non_null(a->e);
    }
    assert_int_equal(schema_decode_bytes(&rec_audit_schema, &a->e[a->n++], val, vl), IDL_OK);
    return 0;
}

/* The whole export of org in [from, to], page by page (limit entries a page). */
static size_t
export_all(struct fx *f, const char *org, uint64_t from, uint64_t to, size_t limit,
           struct report_audit_entry *out, size_t max, size_t *pages)
{
    struct report_audit_cursor at;
    size_t n = 0;
    bool more = true;
    *pages = 0;
    while (more) {
        struct report_audit a;
        assert_int_equal(report_audit(ledger_store(f->ledger), org, from, to,
                                      *pages ? &at : NULL, limit, &a),
                         IDL_OK);
        assert_true(a.n <= limit);
        for (size_t i = 0; i < a.n; i++) {
            assert_true(n < max);
            out[n] = a.entries[i];
            out[n++].reason = a.entries[i].reason ? strdup(a.entries[i].reason) : NULL;
        }
        more = a.more;
        at = a.next;
        (*pages)++;
        report_audit_free(&a);
    }
    return n;
}

/*
 * The audit export of a county: every operation of its sysadmin and secadmin within the
 * heights asked, applied and refused (with the ledger's reason), none of its auditor's,
 * none outside the range, in chain order, the same whatever the page size.
 */
static void
audit_export_matches_log(void **state)
{
    struct fx *f = *state;
    /* A refused operation of each post: the sysadmin's and secadmin's are exported. */
    FX_EXPECT(f, fx_account_op(f, "k-sys", TX_ACCOUNT_UNLOCK, "b440106-0"), IDL_ERR_STATE);
    char sys_why[LEDGER_WHY_MAX];
    snprintf(sys_why, sizeof(sys_why), "%s", f->why);
    FX_EXPECT(f, fx_review(f, "k-aud", "440106", "越权核查"), IDL_ERR_DENIED);
    FX_EXPECT(f, fx_grant(f, "k-sec", TX_GRANT_ADD, "b440106-0", "teacher", "nosuch"),
              IDL_ERR_INVALID);

    struct all_audit all = {0};
    struct state_key k;
    state_key_init(&k, SP_AUDIT_ORG);
    state_key_str(&k, "440106");
    assert_int_equal(query_scan(ledger_store(f->ledger), &k, NULL, 0, scan_audit, &all), IDL_OK);
    assert_true(all.n > 20);
    uint64_t lo = all.e[all.n / 4].height, hi = all.e[3 * all.n / 4].height;

    struct report_audit_entry *got = calloc(all.n, sizeof(*got));
    assert_non_null(got);
    size_t first_pages = 0;
    static const size_t limits[] = {1, 3, REPORT_AUDIT_MAX};
    for (size_t l = 0; l < IDL_ARRAY_LEN(limits); l++) {
        for (int whole = 0; whole < 2; whole++) {
            uint64_t from = whole ? 0 : lo, to = whole ? 0 : hi;
            size_t pages, n = export_all(f, "440106", from, to, limits[l], got, all.n, &pages);
            size_t want = 0, aud = 0, refused = 0, mine = 0;
            for (size_t i = 0; i < all.n; i++) {
                const struct rec_audit *e = &all.e[i];
                if (e->height < from || (to && e->height > to))
                    continue;
                bool admin = !strcmp(e->actor, "k-sys") || !strcmp(e->actor, "k-sec");
                aud += !admin;
                if (!admin)
                    continue;
                assert_true(want < n);
                const struct report_audit_entry *x = &got[want++];
                assert_memory_equal(x->e.txid, e->txid, HASH_BYTES);
                assert_int_equal(x->e.record, e->record);
                assert_int_equal(x->post, !strcmp(e->actor, "k-sys") ? POST_SYSADMIN
                                                                     : POST_SECADMIN);
                assert_int_equal(x->reason != NULL, e->status != TXS_COMMITTED);
                refused += e->status != TXS_COMMITTED;
                if (e->status != TXS_COMMITTED && e->type == TX_ACCOUNT_UNLOCK)
                    assert_string_equal(x->reason, sys_why);
                mine += e->status != TXS_COMMITTED &&
                        (e->type == TX_ACCOUNT_UNLOCK || e->type == TX_GRANT_ADD);
            }
            assert_int_equal(n, want);
            if (whole) { /* the whole log holds this test's refusals and the auditor's */
                assert_int_equal(mine, 2);
                assert_true(refused >= 2 && aud >= 1);
            }
            if (limits[l] == 1 && whole)
                first_pages = pages;
            for (size_t i = 0; i < n; i++)
                free(got[i].reason);
        }
    }
    assert_true(first_pages >= all.n / 2); /* one entry a page: paged through */

    struct report_audit a;
    assert_int_equal(report_audit(ledger_store(f->ledger), "nosuch", 0, 0, NULL, 10, &a),
                     IDL_ERR_NOT_FOUND);
    report_audit_free(&a);
    assert_int_equal(report_audit(ledger_store(f->ledger), "440106", 0, 0, NULL, 0, &a),
                     IDL_ERR_INVALID);
    report_audit_free(&a);
    free(got);
    free(all.e);
}

/*
 * The export lists an operation under the post its actor held when acting: a sysadmin
 * moved to the auditor's post still answers for what it did as sysadmin, and what it
 * tries as auditor is not the sysadmin's.
 */
static void
audit_export_keeps_post_at_the_time(void **state)
{
    struct fx *f = *state;
    FX_OK(f, fx_business_add(f, "k-sys", "b440106-post", "440106", 30900));
    FX_OK(f, fx_account_op(f, "c-sys", TX_ACCOUNT_DISABLE, "k-aud"));
    struct ledger_tx tx;
    fx_tx(f, &tx, "c-sys", TX_ACCOUNT_UPDATE);
    snprintf(tx.body.account_update.id, sizeof(tx.body.account_update.id), "k-sys");
    tx.body.account_update.post = POST_AUDITOR;
    FX_OK(f, fx_submit(f, &tx));
    FX_OK(f, fx_authorize(f, "c-sec", "k-sys"));
    FX_EXPECT(f, fx_business_add(f, "k-sys", "b440106-late", "440106", 30901), IDL_ERR_DENIED);
    struct report_audit a;
    assert_int_equal(report_audit(ledger_store(f->ledger), "440106", 0, 0, NULL,
                                  REPORT_AUDIT_MAX, &a),
                     IDL_OK);
    size_t before = 0, after = 0;
    for (size_t i = 0; i < a.n; i++) {
        if (!strcmp(a.entries[i].e.target, "b440106-post")) {
            assert_string_equal(a.entries[i].e.actor, "k-sys");
            assert_int_equal(a.entries[i].post, POST_SYSADMIN);
            before++;
        }
        after += !strcmp(a.entries[i].e.target, "b440106-late");
    }
    assert_int_equal(before, 1);
    assert_int_equal(after, 0);
    report_audit_free(&a);
}

/* The reason texts the API and the CLI show. */
static void
review_reason_text(void **state)
{
    (void)state;
    struct report_due d = {.why = REPORT_DUE_CHANGED,
                           .changes = REPORT_CHANGE_GRANT | REPORT_CHANGE_CONTACT,
                           .changed_height = 42,
                           .since_ms = 0};
    char why[160];
    report_due_reason(&d, 0, why, sizeof(why));
    assert_string_equal(why, "changed after the last review: grant, contact (last at height 42)");
    d.changes = REPORT_CHANGE__ALL;
    report_due_reason(&d, 0, why, sizeof(why));
    assert_string_equal(why, "changed after the last review: created, post, status, grant, "
                             "contact, password, legacy (last at height 42)");
    d.changes = 0;
    report_due_reason(&d, 0, why, sizeof(why));
    assert_string_equal(why, "changed after the last review (at height 42)");
    d.why = REPORT_DUE_INTERVAL;
    d.since_ms = 1000;
    report_due_reason(&d, 1000 + 183 * DAY_MS + 5, why, sizeof(why));
    assert_string_equal(why, "not reviewed for 183 days");
}

/* CSV fields: quoted when they must be, and never a formula to a spreadsheet. */
static void
csv_fields(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"天河区", "天河区,"},
        {"a,b", "\"a,b\","},
        {"say \"hi\"", "\"say \"\"hi\"\"\","},
        {"", ","},
        {"=1+1", "'=1+1,"},
        {"+86", "'+86,"},
        {"-2", "'-2,"},
        {"@SUM(A1)", "'@SUM(A1),"},
        {"=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\","},
        {"a=b", "a=b,"},
    };
    for (size_t i = 0; i < IDL_ARRAY_LEN(cases); i++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        assert_non_null(f);
        report_csv_field(f, cases[i].in, false);
        fclose(f);
        assert_string_equal(buf, cases[i].out);
        free(buf);
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    report_csv_field(f, "last", true);
    fclose(f);
    assert_string_equal(buf, "last\n");
    free(buf);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(rollup_matches_brute_force),        T(rollup_shapes),
        T(rollup_catches_tampering),          T(review_stale_by_block_time),
        T(review_changed_since_last),         T(review_same_block),
        T(audit_export_matches_log),          T(audit_export_keeps_post_at_the_time),
        cmocka_unit_test(review_reason_text), cmocka_unit_test(csv_fields),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

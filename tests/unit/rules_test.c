/*
 * Every rule of DOMAIN.md §3 on the ledger side, each shown allowed for the right actor and
 * refused for each wrong one: another organisation's admin, a child's admin, the auditor,
 * a secadmin doing a sysadmin's job (and the reverse), a disabled admin and a pending
 * admin. Each refusal is also checked to change nothing. Beyond the actors: the personal
 * data a transaction carries is checked against the chain's keys (forged person keys, wrong
 * check digits, garbage seals, in single adds, batches and updates), grants go neither to
 * oneself nor to inactive accounts, every management operation needs its form, the audit
 * log keeps the post an actor held when it acted, and the policies (same person at which
 * school types, the review interval) hold at values other than the defaults.
 *
 * The tree (fixture.h): province 440000 (root-*), city 440100 (c-*), county 440106 (k-*),
 * school 4401060001 (s-*), city 440300 (o-*). Each test adds a city 440400 whose sysadmin
 * p-sys and secadmin p-sec are created but never authorised: the pending admins.
 */
#include <string.h>

#include "fixture.h"
#include "ledger/query.h"
#include "ledger/report.h"

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    fx_open(f, NULL);
    fx_tree(f);
    FX_OK(f, fx_org_add(f, "root-sysadmin", "440400", ORG_KIND_CITY, FX_ROOT, 0));
    FX_OK(f, fx_mgmt_add(f, "root-sysadmin", "p-sys", "440400", POST_SYSADMIN, 500));
    FX_OK(f, fx_mgmt_add(f, "root-sysadmin", "p-sec", "440400", POST_SECADMIN, 501));
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

/* Runs `op` with the given admin disabled by its parent's sysadmin, then restores it. */
#define WITH_DISABLED(f, parent_sys, admin, op)                                                \
    do {                                                                                       \
        FX_OK(f, fx_account_op(f, parent_sys, TX_ACCOUNT_DISABLE, admin));                     \
        op;                                                                                    \
        FX_OK(f, fx_account_op(f, parent_sys, TX_ACCOUNT_RESTORE, admin));                     \
    } while (0)

static void
assert_why(struct fx *f, const char *needle)
{
    if (!strstr(f->why, needle))
        fail_msg("reason \"%s\" does not mention \"%s\"", f->why, needle);
}

/* ---- rule: only the sysadmin of O creates business accounts at O ---- */

static void
business_create_right_actor(void **state)
{
    struct fx *f = *state;
    FX_OK(f, fx_business_add(f, "k-sys", "teacher-k1", "440106", 1));
    FX_OK(f, fx_business_add(f, "s-sys", "teacher-s1", "4401060001", 2));
    assert_int_equal(fx_status(f, "teacher-s1"), STATUS_ACTIVE);
}

static void
business_create_wrong_actors(void **state)
{
    struct fx *f = *state;
    const char *id = "teacher-x";
    FX_EXPECT(f, fx_business_add(f, "o-sys", id, "440106", 3), IDL_ERR_DENIED); /* other org */
    FX_EXPECT(f, fx_business_add(f, "s-sys", id, "440106", 3), IDL_ERR_DENIED); /* child's */
    FX_EXPECT(f, fx_business_add(f, "c-sys", id, "440106", 3), IDL_ERR_DENIED); /* parent's */
    FX_EXPECT(f, fx_business_add(f, "k-aud", id, "440106", 3), IDL_ERR_DENIED);
    assert_why(f, "auditor");
    FX_EXPECT(f, fx_business_add(f, "k-sec", id, "440106", 3), IDL_ERR_DENIED);
    assert_why(f, "only the sysadmin of 440106");
    WITH_DISABLED(f, "c-sys", "k-sys",
                  FX_EXPECT(f, fx_business_add(f, "k-sys", id, "440106", 3), IDL_ERR_DENIED));
    FX_EXPECT(f, fx_business_add(f, "p-sys", id, "440400", 3), IDL_ERR_DENIED);
    assert_why(f, "pending");
    assert_false(fx_exists(f, id));
}

/* ---- rule: only the sysadmin of O creates management accounts at O's direct children ---- */

static void
mgmt_create_right_actor(void **state)
{
    struct fx *f = *state;
    FX_OK(f, fx_org_add(f, "c-sys", "440107", ORG_KIND_COUNTY, "440100", 0));
    FX_OK(f, fx_mgmt_add(f, "c-sys", "n-sys", "440107", POST_SYSADMIN, 600));
    assert_int_equal(fx_status(f, "n-sys"), STATUS_PENDING);
}

static void
mgmt_create_wrong_actors(void **state)
{
    struct fx *f = *state;
    FX_OK(f, fx_org_add(f, "c-sys", "440107", ORG_KIND_COUNTY, "440100", 0));
    const char *id = "n-sys";
    FX_EXPECT(f, fx_mgmt_add(f, "o-sys", id, "440107", POST_SYSADMIN, 600), IDL_ERR_DENIED);
    FX_EXPECT(f, fx_mgmt_add(f, "k-sys", id, "440107", POST_SYSADMIN, 600), IDL_ERR_DENIED);
    FX_EXPECT(f, fx_mgmt_add(f, "root-sysadmin", id, "440107", POST_SYSADMIN, 600),
              IDL_ERR_DENIED); /* grandparent: not a direct child */
    FX_EXPECT(f, fx_mgmt_add(f, "c-aud", id, "440107", POST_SYSADMIN, 600), IDL_ERR_DENIED);
    FX_EXPECT(f, fx_mgmt_add(f, "c-sec", id, "440107", POST_SYSADMIN, 600), IDL_ERR_DENIED);
    WITH_DISABLED(f, "root-sysadmin", "c-sys",
                  FX_EXPECT(f, fx_mgmt_add(f, "c-sys", id, "440107", POST_SYSADMIN, 600),
                            IDL_ERR_DENIED));
    /* A pending sysadmin is refused before anything else is looked at. */
    FX_EXPECT(f, fx_mgmt_add(f, "p-sys", id, "440499", POST_SYSADMIN, 600), IDL_ERR_DENIED);
    assert_why(f, "pending");
    assert_false(fx_exists(f, id));
}

static void
mgmt_post_taken(void **state)
{
    struct fx *f = *state;
    FX_EXPECT(f, fx_mgmt_add(f, "c-sys", "k-sys2", "440106", POST_SYSADMIN, 601), IDL_ERR_EXISTS);
    assert_why(f, "already has a sysadmin");
    /* Disabling the holder frees the post for a successor; restoring it is then refused. */
    FX_OK(f, fx_account_op(f, "c-sys", TX_ACCOUNT_DISABLE, "k-sys"));
    FX_OK(f, fx_mgmt_add(f, "c-sys", "k-sys2", "440106", POST_SYSADMIN, 601));
    FX_EXPECT(f, fx_account_op(f, "c-sys", TX_ACCOUNT_RESTORE, "k-sys"), IDL_ERR_EXISTS);
    assert_int_equal(fx_status(f, "k-sys"), STATUS_DISABLED);
}

/* ---- rule: the secadmin of O's parent authorises management accounts of O ---- */

static void
authorize_right_and_wrong(void **state)
{
    struct fx *f = *state;
    FX_OK(f, fx_org_add(f, "c-sys", "440107", ORG_KIND_COUNTY, "440100", 0));
    FX_OK(f, fx_mgmt_add(f, "c-sys", "n-sys", "440107", POST_SYSADMIN, 600));
    FX_EXPECT(f, fx_authorize(f, "c-sys", "n-sys"), IDL_ERR_DENIED); /* sysadmin's job? no */
    FX_EXPECT(f, fx_authorize(f, "c-aud", "n-sys"), IDL_ERR_DENIED);
    FX_EXPECT(f, fx_authorize(f, "o-sec", "n-sys"), IDL_ERR_DENIED);
    FX_EXPECT(f, fx_authorize(f, "k-sec", "n-sys"), IDL_ERR_DENIED);
    FX_EXPECT(f, fx_authorize(f, "root-secadmin", "n-sys"), IDL_ERR_DENIED);
    WITH_DISABLED(f, "root-sysadmin", "c-sec",
                  FX_EXPECT(f, fx_authorize(f, "c-sec", "n-sys"), IDL_ERR_DENIED));
    assert_int_equal(fx_status(f, "n-sys"), STATUS_PENDING);
    /* A pending account cannot act until authorised. */
    FX_EXPECT(f, fx_business_add(f, "n-sys", "t-n", "440107", 7), IDL_ERR_DENIED);
    FX_OK(f, fx_authorize(f, "c-sec", "n-sys"));
    assert_int_equal(fx_status(f, "n-sys"), STATUS_ACTIVE);
    FX_EXPECT(f, fx_authorize(f, "c-sec", "n-sys"), IDL_ERR_STATE);
    FX_OK(f, fx_business_add(f, "n-sys", "t-n", "440107", 7));
}

static void
authorize_by_pending_secadmin(void **state)
{
    struct fx *f = *state;
    /* p-sec is pending: refused whatever it authorises, before the target is looked at. */
    FX_EXPECT(f, fx_authorize(f, "p-sec", "p-sys"), IDL_ERR_DENIED);
    assert_why(f, "pending");
    assert_int_equal(fx_status(f, "p-sys"), STATUS_PENDING);
}

/* ---- rule: only the secadmin of O grants business roles at O ---- */

static void
grant_right_and_wrong(void **state)
{
    struct fx *f = *state;
    FX_OK(f, fx_business_add(f, "s-sys", "t1", "4401060001", 10));
    const char *sys = "teacher", *role = "manager";
    FX_EXPECT(f, fx_grant(f, "s-sys", TX_GRANT_ADD, "t1", sys, role), IDL_ERR_DENIED);
    FX_EXPECT(f, fx_grant(f, "s-aud", TX_GRANT_ADD, "t1", sys, role), IDL_ERR_DENIED);
    FX_EXPECT(f, fx_grant(f, "k-sec", TX_GRANT_ADD, "t1", sys, role), IDL_ERR_DENIED);
    FX_EXPECT(f, fx_grant(f, "o-sec", TX_GRANT_ADD, "t1", sys, role), IDL_ERR_DENIED);
    WITH_DISABLED(f, "k-sys", "s-sec",
                  FX_EXPECT(f, fx_grant(f, "s-sec", TX_GRANT_ADD, "t1", sys, role),
                            IDL_ERR_DENIED));
    FX_OK(f, fx_business_add(f, "root-sysadmin", "t-p", FX_ROOT, 11));
    FX_OK(f, fx_business_add(f, "c-sys", "t-c", "440100", 12));
    FX_EXPECT(f, fx_grant(f, "c-sec", TX_GRANT_ADD, "t1", sys, role), IDL_ERR_DENIED);

    FX_OK(f, fx_grant(f, "s-sec", TX_GRANT_ADD, "t1", sys, role));
    FX_EXPECT(f, fx_grant(f, "s-sec", TX_GRANT_ADD, "t1", sys, role), IDL_ERR_EXISTS);
    FX_EXPECT(f, fx_grant(f, "s-sec", TX_GRANT_ADD, "t1", sys, "nosuchrole"), IDL_ERR_INVALID);
    FX_EXPECT(f, fx_grant(f, "s-sec", TX_GRANT_ADD, "t1", "nosuchsystem", role),
              IDL_ERR_NOT_FOUND);
    FX_EXPECT(f, fx_grant(f, "o-sec", TX_GRANT_REMOVE, "t1", sys, role), IDL_ERR_DENIED);
    FX_OK(f, fx_grant(f, "s-sec", TX_GRANT_REMOVE, "t1", sys, role));
    FX_EXPECT(f, fx_grant(f, "s-sec", TX_GRANT_REMOVE, "t1", sys, role), IDL_ERR_NOT_FOUND);
}

/* ---- rule: the auditor audits; it performs no create or grant ---- */

static void
auditor_does_nothing(void **state)
{
    struct fx *f = *state;
    static const char *const roles[] = {"r"};
    FX_OK(f, fx_business_add(f, "root-sysadmin", "t-p", FX_ROOT, 20));
    FX_OK(f, fx_org_add(f, "root-sysadmin", "440500", ORG_KIND_CITY, FX_ROOT, 0));
    FX_OK(f, fx_mgmt_add(f, "root-sysadmin", "q-sys", "440500", POST_SYSADMIN, 21));
    const char *aud = "root-auditor";
    FX_EXPECT(f, fx_org_add(f, aud, "440600", ORG_KIND_CITY, FX_ROOT, 0), IDL_ERR_DENIED);
    assert_why(f, "auditor");
    FX_EXPECT(f, fx_business_add(f, aud, "t-a", FX_ROOT, 22), IDL_ERR_DENIED);
    FX_EXPECT(f, fx_mgmt_add(f, aud, "q-sec", "440500", POST_SECADMIN, 23), IDL_ERR_DENIED);
    FX_EXPECT(f, fx_authorize(f, aud, "q-sys"), IDL_ERR_DENIED);
    FX_EXPECT(f, fx_grant(f, aud, TX_GRANT_ADD, "t-p", "teacher", "query"), IDL_ERR_DENIED);
    FX_EXPECT(f, fx_system_add(f, aud, "sys2", roles, 1), IDL_ERR_DENIED);
    FX_EXPECT(f, fx_account_op(f, aud, TX_ACCOUNT_DISABLE, "t-p"), IDL_ERR_DENIED);
    FX_EXPECT(f, fx_delegate(f, "s-aud", "4401060001", 1), IDL_ERR_DENIED);
    assert_int_equal(fx_status(f, "t-p"), STATUS_ACTIVE);
    assert_int_equal(fx_status(f, "q-sys"), STATUS_PENDING);
}

/* ---- rule: the auditor is a different person from the sysadmin and secadmin ---- */

static void
auditor_distinct_person(void **state)
{
    struct fx *f = *state;
    FX_OK(f, fx_org_add(f, "c-sys", "440107", ORG_KIND_COUNTY, "440100", 0));
    FX_OK(f, fx_mgmt_add(f, "c-sys", "n-sys", "440107", POST_SYSADMIN, 700));
    FX_EXPECT(f, fx_mgmt_add(f, "c-sys", "n-aud", "440107", POST_AUDITOR, 700), IDL_ERR_POLICY);
    assert_why(f, "different person");
    FX_OK(f, fx_mgmt_add(f, "c-sys", "n-aud", "440107", POST_AUDITOR, 701));
    /* And the other way round: the auditor's person cannot become secadmin. */
    FX_EXPECT(f, fx_mgmt_add(f, "c-sys", "n-sec", "440107", POST_SECADMIN, 701), IDL_ERR_POLICY);
    assert_false(fx_exists(f, "n-sec"));
}

static void
auditor_distinct_even_when_policy_allows(void **state)
{
    (void)state;
    struct fx f;
    struct fx_options opt = {.same_person = SAME_ALWAYS};
    fx_open(&f, &opt);
    FX_OK(&f, fx_org_add(&f, "root-sysadmin", "440100", ORG_KIND_CITY, FX_ROOT, 0));
    FX_OK(&f, fx_mgmt_add(&f, "root-sysadmin", "c-sys", "440100", POST_SYSADMIN, 800));
    FX_OK(&f, fx_mgmt_add(&f, "root-sysadmin", "c-sec", "440100", POST_SECADMIN, 800));
    FX_EXPECT(&f, fx_mgmt_add(&f, "root-sysadmin", "c-aud", "440100", POST_AUDITOR, 800),
              IDL_ERR_POLICY);
    fx_close(&f);
}

/* ---- policy: one person as both sysadmin and secadmin ---- */

static void
same_person_school(unsigned policy, unsigned org_kind, unsigned school, idl_err want)
{
    struct fx f;
    struct fx_options opt = {.same_person = policy};
    fx_open(&f, &opt);
    FX_OK(&f, fx_org_add(&f, "root-sysadmin", "440001", org_kind, FX_ROOT, school));
    FX_OK(&f, fx_mgmt_add(&f, "root-sysadmin", "x-sys", "440001", POST_SYSADMIN, 900));
    FX_EXPECT(&f, fx_mgmt_add(&f, "root-sysadmin", "x-sec", "440001", POST_SECADMIN, 900), want);
    assert_int_equal(fx_exists(&f, "x-sec"), want == IDL_OK);
    fx_close(&f);
}

static void
same_person_case(unsigned policy, unsigned org_kind, idl_err want)
{
    same_person_school(policy, org_kind, org_kind == ORG_KIND_SCHOOL ? SCHOOL_MIDDLE : 0, want);
}

/* Seed 000: 幼儿园、中小学和中职学校, and no other kind of school. */
static void
same_person_school_types(void **state)
{
    (void)state;
    for (unsigned t = SCHOOL_NONE + 1; t < SCHOOL__COUNT; t++) {
        bool named = t == SCHOOL_KINDERGARTEN || t == SCHOOL_PRIMARY || t == SCHOOL_MIDDLE ||
                     t == SCHOOL_VOCATIONAL || t == SCHOOL_NINE_YEAR || t == SCHOOL_TWELVE_YEAR;
        same_person_school(SAME_SCHOOLS, ORG_KIND_SCHOOL, t, named ? IDL_OK : IDL_ERR_POLICY);
        same_person_school(SAME_ALWAYS, ORG_KIND_SCHOOL, t, IDL_OK);
        same_person_school(SAME_NEVER, ORG_KIND_SCHOOL, t, IDL_ERR_POLICY);
    }
    same_person_case(SAME_SCHOOLS, ORG_KIND_OTHER, IDL_ERR_POLICY);
}

static void
same_person_policy(void **state)
{
    (void)state;
    same_person_case(SAME_NEVER, ORG_KIND_CITY, IDL_ERR_POLICY);
    same_person_case(SAME_NEVER, ORG_KIND_SCHOOL, IDL_ERR_POLICY);
    same_person_case(SAME_SCHOOLS, ORG_KIND_CITY, IDL_ERR_POLICY);
    same_person_case(SAME_SCHOOLS, ORG_KIND_UNIVERSITY, IDL_ERR_POLICY);
    same_person_case(SAME_SCHOOLS, ORG_KIND_SCHOOL, IDL_OK);
    same_person_case(SAME_ALWAYS, ORG_KIND_CITY, IDL_OK);
    same_person_case(SAME_ALWAYS, ORG_KIND_SCHOOL, IDL_OK);
}

/* ---- policy: a management account holds no business role ---- */

static void
mgmt_business_roles_case(int allow)
{
    struct fx f;
    static const char *const roles[] = {"query"};
    struct fx_options opt = {.mgmt_business_roles = allow};
    fx_open(&f, &opt);
    FX_OK(&f, fx_system_add(&f, "root-sysadmin", "teacher", roles, 1));
    FX_EXPECT(&f, fx_grant(&f, "root-secadmin", TX_GRANT_ADD, "root-sysadmin", "teacher", "query"),
              allow ? IDL_OK : IDL_ERR_POLICY);
    fx_close(&f);
}

static void
mgmt_business_roles_policy(void **state)
{
    (void)state;
    mgmt_business_roles_case(0);
    mgmt_business_roles_case(1);
}

/* ---- rule: accounts are never deleted, only disabled and restored ---- */

static size_t
count_space(struct fx *f, enum state_space sp)
{
    struct store *s = ledger_store(f->ledger);
    struct store_iter *it = store_iter_new(s);
    uint8_t prefix = (uint8_t)sp;
    size_t n = 0, len;
    for (store_iter_seek(s, it, &prefix, 1); store_iter_valid(s, it); store_iter_next(s, it)) {
        const uint8_t *k = store_iter_key(s, it, &len);
        if (k[0] != prefix)
            break;
        n++;
    }
    store_iter_free(s, it);
    return n;
}

static void
never_delete(void **state)
{
    struct fx *f = *state;
    size_t accounts = count_space(f, SP_ACCOUNT), people = count_space(f, SP_PERSON);
    /* Every transaction type that touches an account, in a plausible life. */
    FX_OK(f, fx_business_add(f, "s-sys", "t1", "4401060001", 30));
    FX_OK(f, fx_grant(f, "s-sec", TX_GRANT_ADD, "t1", "teacher", "query"));
    FX_OK(f, fx_account_op(f, "s-sys", TX_ACCOUNT_LOCK, "t1"));
    FX_OK(f, fx_account_op(f, "s-sys", TX_ACCOUNT_UNLOCK, "t1"));
    FX_OK(f, fx_account_op(f, "s-sys", TX_ACCOUNT_RESET_PASSWORD, "t1"));
    FX_OK(f, fx_account_op(f, "s-sys", TX_ACCOUNT_DISABLE, "t1"));
    FX_OK(f, fx_grant(f, "s-sec", TX_GRANT_REMOVE, "t1", "teacher", "query"));
    FX_OK(f, fx_account_op(f, "k-sys", TX_ACCOUNT_DISABLE, "s-aud"));
    FX_OK(f, fx_account_op(f, "k-sys", TX_ACCOUNT_RESTORE, "s-aud"));
    FX_OK(f, fx_account_op(f, "s-sys", TX_ACCOUNT_RESTORE, "t1"));
    FX_OK(f, fx_account_op(f, "s-sys", TX_ACCOUNT_DISABLE, "t1"));
    assert_int_equal(count_space(f, SP_ACCOUNT), accounts + 1);
    assert_int_equal(count_space(f, SP_PERSON), people + 1);
    /* The disabled account keeps its organisation, its person and its history. */
    struct state_key k;
    struct rec_account a;
    state_key_init(&k, SP_ACCOUNT);
    state_key_str(&k, "t1");
    FX_OK(f, fx_get(f, &k, &rec_account_schema, &a));
    assert_int_equal(a.status, STATUS_DISABLED);
    assert_string_equal(a.org, "4401060001");
    assert_false(hash_is_zero(a.person));
    /* No transaction type is a deletion: there is none that names one. */
    for (unsigned t = 1; t < TX_TYPE__COUNT; t++)
        assert_null(strstr(ledger_tx_type_name(t), "delete"));
}

/* ---- rule: every change to a management account has its form (basis) ---- */

static idl_err
op_without_basis(struct fx *f, const char *actor, unsigned type, const char *id)
{
    struct ledger_tx tx;
    fx_tx(f, &tx, actor, type);
    memset(tx.basis, 0, HASH_BYTES);
    snprintf(tx.body.account_op.id, sizeof(tx.body.account_op.id), "%s", id);
    snprintf(tx.body.account_op.reason, sizeof(tx.body.account_op.reason), "no form");
    return fx_submit(f, &tx);
}

struct audit_seen {
    size_t n;
    struct rec_audit e[16];
};

static int
audit_collect(void *arg, const uint8_t *key, size_t kl, const uint8_t *val, size_t vl)
{
    struct audit_seen *s = arg;
    (void)key, (void)kl;
    assert_true(s->n < IDL_ARRAY_LEN(s->e));
    assert_int_equal(schema_decode_bytes(&rec_audit_schema, &s->e[s->n++], val, vl), IDL_OK);
    return 0;
}

static void
basis_required_for_management(void **state)
{
    struct fx *f = *state;
    FX_EXPECT(f, op_without_basis(f, "k-sys", TX_ACCOUNT_DISABLE, "s-aud"), IDL_ERR_INVALID);
    assert_why(f, "form");
    assert_int_equal(fx_status(f, "s-aud"), STATUS_ACTIVE);
    FX_EXPECT(f, op_without_basis(f, "k-sys", TX_ACCOUNT_RESET_PASSWORD, "s-aud"),
              IDL_ERR_INVALID);
    /* Business accounts may be changed without one. */
    FX_OK(f, fx_business_add(f, "s-sys", "t1", "4401060001", 31));
    FX_OK(f, op_without_basis(f, "s-sys", TX_ACCOUNT_DISABLE, "t1"));
    /* The basis of an operation is recorded with it in the audit log. */
    FX_OK(f, fx_account_op(f, "k-sys", TX_ACCOUNT_LOCK, "s-aud"));
    struct ledger_tip tip;
    ledger_tip(f->ledger, &tip);
    struct audit_seen seen = {0};
    assert_int_equal(query_audit_by_actor(ledger_store(f->ledger), "k-sys", tip.height, 0, 0,
                                          audit_collect, &seen),
                     IDL_OK);
    assert_int_equal(seen.n, 1);
    const struct rec_audit *e = &seen.e[0];
    assert_int_equal(e->height, tip.height);
    uint8_t want[HASH_BYTES];
    memset(want, 0xb5, HASH_BYTES);
    assert_memory_equal(e->basis, want, HASH_BYTES);
    assert_string_equal(e->target, "s-aud");
    assert_int_equal(e->type, TX_ACCOUNT_LOCK);
    /* Kept once: the entry by actor holds the actor's organisation, not a second copy. */
    struct state_key k;
    state_key_init(&k, SP_AUDIT_ACTOR);
    state_key_str(&k, "k-sys");
    state_key_u64(&k, tip.height);
    state_key_u32(&k, 0);
    state_key_u32(&k, 0); /* record: not a batch */
    struct idl_bytes org;
    assert_int_equal(store_get(ledger_store(f->ledger), k.b, k.len, &org), IDL_OK);
    assert_int_equal(org.len, strlen(e->actor_org));
    assert_memory_equal(org.data, e->actor_org, org.len);
    free(org.data);
}

/* ---- account lifecycle ---- */

static void
lifecycle(void **state)
{
    struct fx *f = *state;
    FX_OK(f, fx_business_add(f, "s-sys", "t1", "4401060001", 40));
    FX_EXPECT(f, fx_account_op(f, "o-sys", TX_ACCOUNT_DISABLE, "t1"), IDL_ERR_DENIED);
    FX_EXPECT(f, fx_account_op(f, "s-sec", TX_ACCOUNT_DISABLE, "t1"), IDL_ERR_DENIED);
    FX_EXPECT(f, fx_account_op(f, "k-sys", TX_ACCOUNT_DISABLE, "t1"), IDL_ERR_DENIED);
    assert_int_equal(fx_status(f, "t1"), STATUS_ACTIVE);
    FX_EXPECT(f, fx_account_op(f, "s-sys", TX_ACCOUNT_UNLOCK, "t1"), IDL_ERR_STATE);
    FX_OK(f, fx_account_op(f, "s-sys", TX_ACCOUNT_LOCK, "t1"));
    assert_int_equal(fx_status(f, "t1"), STATUS_LOCKED);
    FX_OK(f, fx_account_op(f, "s-sys", TX_ACCOUNT_UNLOCK, "t1"));
    FX_OK(f, fx_account_op(f, "s-sys", TX_ACCOUNT_DISABLE, "t1"));
    FX_EXPECT(f, fx_account_op(f, "s-sys", TX_ACCOUNT_DISABLE, "t1"), IDL_ERR_STATE);
    FX_EXPECT(f, fx_account_op(f, "s-sys", TX_ACCOUNT_RESET_PASSWORD, "t1"), IDL_ERR_STATE);
    FX_EXPECT(f, fx_grant(f, "s-sec", TX_GRANT_ADD, "t1", "teacher", "query"), IDL_ERR_STATE);
    FX_OK(f, fx_account_op(f, "s-sys", TX_ACCOUNT_RESTORE, "t1"));
    assert_int_equal(fx_status(f, "t1"), STATUS_ACTIVE);
    FX_EXPECT(f, fx_account_op(f, "s-sys", TX_ACCOUNT_RESTORE, "t1"), IDL_ERR_STATE);
    /* A disabled management account cannot sign; restored, it can again. */
    FX_OK(f, fx_account_op(f, "k-sys", TX_ACCOUNT_DISABLE, "s-sys"));
    FX_EXPECT(f, fx_business_add(f, "s-sys", "t2", "4401060001", 41), IDL_ERR_DENIED);
    assert_why(f, "disabled");
    FX_OK(f, fx_account_op(f, "k-sys", TX_ACCOUNT_RESTORE, "s-sys"));
    FX_OK(f, fx_business_add(f, "s-sys", "t2", "4401060001", 41));
    /* Nobody disables their own account, even at the root. */
    FX_EXPECT(f, fx_account_op(f, "root-sysadmin", TX_ACCOUNT_DISABLE, "root-sysadmin"),
              IDL_ERR_DENIED);
}

static idl_err
update_fields(struct fx *f, const char *actor, const char *id, unsigned field, const char *text,
              unsigned post)
{
    struct state_key k;
    struct rec_account a;
    state_key_init(&k, SP_ACCOUNT);
    state_key_str(&k, id);
    assert_int_equal(fx_get(f, &k, &rec_account_schema, &a), IDL_OK);
    struct ledger_tx tx;
    fx_tx(f, &tx, actor, TX_ACCOUNT_UPDATE);
    struct tx_account_update *b = &tx.body.account_update;
    snprintf(b->id, sizeof(b->id), "%s", id);
    b->post = (uint8_t)post;
    if (field) {
        struct ledger_sealed *s = calloc(1, sizeof(*s));
        s->field = (uint8_t)field;
        assert_int_equal(person_seal(f->pkeys, a.person, field, text, &s->data), IDL_OK);
        b->fields.items = s;
        b->fields.count = 1;
    }
    return fx_submit(f, &tx);
}

static void
update_rules(void **state)
{
    struct fx *f = *state;
    FX_OK(f, fx_business_add(f, "s-sys", "t1", "4401060001", 50));
    FX_OK(f, update_fields(f, "s-sys", "t1", PF_MOBILE, "13900000000", 0));
    FX_EXPECT(f, update_fields(f, "o-sys", "t1", PF_MOBILE, "13900000001", 0), IDL_ERR_DENIED);
    FX_EXPECT(f, update_fields(f, "s-aud", "t1", PF_MOBILE, "13900000001", 0), IDL_ERR_DENIED);
    FX_EXPECT(f, update_fields(f, "s-sys", "t1", PF_ID_NUMBER, "110105194912310029", 0),
              IDL_ERR_INVALID);
    FX_EXPECT(f, update_fields(f, "s-sys", "t1", 0, "", POST_SECADMIN), IDL_ERR_INVALID);
    /* A management account's post change goes back to its parent's secadmin. */
    FX_OK(f, fx_account_op(f, "k-sys", TX_ACCOUNT_DISABLE, "s-sec"));
    FX_OK(f, update_fields(f, "k-sys", "s-aud", 0, "", POST_SECADMIN));
    assert_int_equal(fx_status(f, "s-aud"), STATUS_PENDING);
    FX_OK(f, fx_authorize(f, "k-sec", "s-aud"));
    FX_OK(f, fx_grant(f, "s-aud", TX_GRANT_ADD, "t1", "teacher", "query"));
}

/* ---- delegation ---- */

static void
delegation(void **state)
{
    struct fx *f = *state;
    FX_EXPECT(f, fx_delegate(f, "s-sys", "4401060001", 1), IDL_ERR_DENIED);
    FX_EXPECT(f, fx_delegate(f, "o-sys", "4401060001", 1), IDL_ERR_DENIED);
    FX_EXPECT(f, fx_delegate(f, "c-sys", "440106", 1), IDL_ERR_INVALID); /* counties don't */
    FX_OK(f, fx_delegate(f, "k-sys", "4401060001", 1));
    FX_EXPECT(f, fx_delegate(f, "k-sys", "4401060001", 1), IDL_ERR_STATE);
    /* The county's department now manages the school's business users... */
    FX_EXPECT(f, fx_business_add(f, "s-sys", "t1", "4401060001", 60), IDL_ERR_DENIED);
    FX_OK(f, fx_business_add(f, "k-sys", "t1", "4401060001", 60));
    FX_EXPECT(f, fx_grant(f, "s-sec", TX_GRANT_ADD, "t1", "teacher", "query"), IDL_ERR_DENIED);
    FX_OK(f, fx_grant(f, "k-sec", TX_GRANT_ADD, "t1", "teacher", "query"));
    /* ...but the school's management accounts are still its parent's, as before. */
    FX_OK(f, fx_delegate(f, "k-sys", "4401060001", 0));
    FX_OK(f, fx_business_add(f, "s-sys", "t2", "4401060001", 61));
}

/* ---- organisations ---- */

static void
org_rules(void **state)
{
    struct fx *f = *state;
    FX_EXPECT(f, fx_org_add(f, "root-sysadmin", "449900", ORG_KIND_COUNTY, FX_ROOT, 0),
              IDL_ERR_INVALID);
    FX_EXPECT(f, fx_org_add(f, "k-sys", "4401069999", ORG_KIND_SCHOOL, "440106", 0),
              IDL_ERR_INVALID); /* a school needs its type */
    FX_EXPECT(f, fx_org_add(f, "c-sys", "440106", ORG_KIND_COUNTY, "440100", 0), IDL_ERR_EXISTS);
    FX_EXPECT(f, fx_org_add(f, "c-sys", "440108", ORG_KIND_COUNTY, "449999", 0),
              IDL_ERR_NOT_FOUND);
    FX_EXPECT(f, fx_org_add(f, "o-sys", "440108", ORG_KIND_COUNTY, "440100", 0), IDL_ERR_DENIED);
    FX_EXPECT(f, fx_org_add(f, "k-sys", "440108", ORG_KIND_COUNTY, "440100", 0), IDL_ERR_DENIED);
    FX_EXPECT(f, fx_org_add(f, "c-sec", "440108", ORG_KIND_COUNTY, "440100", 0), IDL_ERR_DENIED);
    FX_OK(f, fx_org_add(f, "c-sys", "4401000001", ORG_KIND_SCHOOL, "440100", SCHOOL_MIDDLE));
    FX_OK(f, fx_org_add(f, "root-sysadmin", "10561", ORG_KIND_UNIVERSITY, FX_ROOT, 0));
    FX_OK(f, fx_org_add(f, "root-sysadmin", "4400000001", ORG_KIND_SCHOOL, FX_ROOT,
                        SCHOOL_VOCATIONAL));
}

/*
 * "Other" units may nest under one another, but the tree stays within
 * LEDGER_ORG_DEPTH_MAX levels, so that every walk up it (scope checks) reaches the root.
 */
static void
org_depth_bounded(void **state)
{
    struct fx *f = *state;
    char parent[16] = FX_ROOT, sys[24] = "root-sysadmin", sec[24] = "root-secadmin";
    for (unsigned level = 2; level <= LEDGER_ORG_DEPTH_MAX; level++) {
        char code[16], prefix[16];
        snprintf(code, sizeof(code), "9900%02u", level);
        snprintf(prefix, sizeof(prefix), "d%u", level);
        FX_OK(f, fx_org_add(f, sys, code, ORG_KIND_OTHER, parent, 0));
        fx_admins(f, sys, sec, code, prefix, 1000 + 3 * level);
        snprintf(parent, sizeof(parent), "%s", code);
        snprintf(sys, sizeof(sys), "%s-sys", prefix);
        snprintf(sec, sizeof(sec), "%s-sec", prefix);
    }
    FX_EXPECT(f, fx_org_add(f, sys, "990099", ORG_KIND_OTHER, parent, 0), IDL_ERR_POLICY);
    assert_why(f, "at most 16 levels");
    /* The deepest organisation is still found within the root's scope. */
    struct state *st;
    bool within = false;
    assert_int_equal(state_new(&st, ledger_store(f->ledger)), IDL_OK);
    assert_int_equal(query_org_within(st, parent, FX_ROOT, &within), IDL_OK);
    state_free(st);
    assert_true(within);
}

/* ---- business systems ---- */

static void
system_rules(void **state)
{
    struct fx *f = *state;
    static const char *const roles[] = {"a", "b"};
    static const char *const dup[] = {"a", "a"};
    FX_EXPECT(f, fx_system_add(f, "c-sys", "sys2", roles, 2), IDL_ERR_DENIED);
    FX_EXPECT(f, fx_system_add(f, "root-secadmin", "sys2", roles, 2), IDL_ERR_DENIED);
    FX_EXPECT(f, fx_system_add(f, "root-sysadmin", "teacher", roles, 2), IDL_ERR_EXISTS);
    FX_EXPECT(f, fx_system_add(f, "root-sysadmin", "sys2", dup, 2), IDL_ERR_INVALID);
    FX_OK(f, fx_system_add(f, "root-sysadmin", "sys2", roles, 2));
}

/* ---- real-name conversion ---- */

static idl_err
bind(struct fx *f, const char *actor, const char *id, const char *system, const char *legacy)
{
    struct ledger_tx tx;
    fx_tx(f, &tx, actor, TX_ACCOUNT_BIND_LEGACY);
    struct tx_bind_legacy *b = &tx.body.bind_legacy;
    snprintf(b->id, sizeof(b->id), "%s", id);
    snprintf(b->system, sizeof(b->system), "%s", system);
    snprintf(b->legacy, sizeof(b->legacy), "%s", legacy);
    return fx_submit(f, &tx);
}

static void
legacy_binding(void **state)
{
    struct fx *f = *state;
    FX_OK(f, fx_business_add(f, "s-sys", "t1", "4401060001", 70));
    FX_OK(f, fx_business_add(f, "s-sys", "t2", "4401060001", 71));
    FX_EXPECT(f, bind(f, "o-sys", "t1", "teacher", "gz0001_xxgl"), IDL_ERR_DENIED);
    FX_EXPECT(f, bind(f, "s-sec", "t1", "teacher", "gz0001_xxgl"), IDL_ERR_DENIED);
    FX_EXPECT(f, bind(f, "s-aud", "t1", "teacher", "gz0001_xxgl"), IDL_ERR_DENIED);
    FX_EXPECT(f, bind(f, "s-sys", "t1", "nosuch", "gz0001_xxgl"), IDL_ERR_NOT_FOUND);
    FX_EXPECT(f, bind(f, "k-sys", "s-aud", "teacher", "gz0001_xxgl"), IDL_ERR_INVALID);
    FX_OK(f, bind(f, "s-sys", "t1", "teacher", "gz0001_xxgl"));
    FX_EXPECT(f, bind(f, "s-sys", "t2", "teacher", "gz0001_xxgl"), IDL_ERR_EXISTS);
    FX_EXPECT(f, bind(f, "s-sys", "t1", "teacher", "gz0002_xxgl"), IDL_ERR_EXISTS);
}

/* ---- periodic review ---- */

static idl_err
review(struct fx *f, const char *actor, const char *org)
{
    struct ledger_tx tx;
    fx_tx(f, &tx, actor, TX_REVIEW_RECORD);
    snprintf(tx.body.review.org, sizeof(tx.body.review.org), "%s", org);
    snprintf(tx.body.review.note, sizeof(tx.body.review.note), "2026年上半年核查");
    return fx_submit(f, &tx);
}

static void
review_rules(void **state)
{
    struct fx *f = *state;
    FX_OK(f, review(f, "s-sys", "4401060001"));
    FX_OK(f, review(f, "s-sec", "4401060001"));
    FX_EXPECT(f, review(f, "s-aud", "4401060001"), IDL_ERR_DENIED);
    FX_EXPECT(f, review(f, "o-sys", "4401060001"), IDL_ERR_DENIED);
    FX_EXPECT(f, review(f, "k-sys", "4401060001"), IDL_ERR_DENIED);
    struct state_key k;
    struct rec_review rv;
    state_key_init(&k, SP_REVIEW);
    state_key_str(&k, "4401060001");
    FX_OK(f, fx_get(f, &k, &rec_review_schema, &rv));
    assert_string_equal(rv.actor, "s-sec");
}

/* ---- personal data: the ledger checks what a transaction says about a person ---- */

enum forge {
    FORGE_NONE,        /* what the node's API would have sealed */
    FORGE_KEY,         /* a made-up person key, the fields sealed under it */
    FORGE_OTHER_KEY,   /* another person's key, this person's fields */
    FORGE_CHECK_DIGIT, /* an ID number with a wrong check digit, indexed as it is */
    FORGE_GARBAGE,     /* a sealed field that opens under no key */
    FORGE_BAD_MOBILE,  /* a mobile that is not one */
    FORGE_NO_NUMBER,   /* no sealed ID number to vouch for the key */
    FORGE_RAW_NUMBER,  /* the number sealed as typed, not normalised */
    FORGE_OTHER_NAME,  /* this person's number under another person's name */
};

static void
seal_into(struct fx *f, const uint8_t key[HASH_BYTES], unsigned field, const char *text,
          struct ledger_sealed *out)
{
    out->field = (uint8_t)field;
    assert_int_equal(person_seal(f->pkeys, key, field, text, &out->data), IDL_OK);
}

/* The person of `seed` as a transaction would carry it, forged as `how` says. */
static void
forged_person(struct fx *f, unsigned seed, enum forge how, struct ledger_person *p)
{
    char number[19], norm[IDNUM_NORM_MAX + 1], name[64], sealed_number[24];
    memset(p, 0, sizeof(*p));
    fx_id_number(seed, number);
    assert_int_equal(idnum_normalize(norm, IDNUM_DOC_RESIDENT, number, NULL), IDL_OK);
    snprintf(sealed_number, sizeof(sealed_number), "%s", norm);
    p->doc_type = IDNUM_DOC_RESIDENT;
    person_index(f->pkeys, IDNUM_DOC_RESIDENT, norm, p->key);
    if (how == FORGE_KEY)
        memset(p->key, 0x42, HASH_BYTES);
    if (how == FORGE_OTHER_KEY) {
        char other[19];
        fx_id_number(seed + 1, other);
        person_index(f->pkeys, IDNUM_DOC_RESIDENT, other, p->key);
    }
    if (how == FORGE_CHECK_DIGIT) {
        sealed_number[17] = sealed_number[17] == '0' ? '1' : '0';
        person_index(f->pkeys, IDNUM_DOC_RESIDENT, sealed_number, p->key);
    }
    if (how == FORGE_RAW_NUMBER) /* a typed form that normalises to the same number */
        snprintf(sealed_number, sizeof(sealed_number), "%.6s %.8s %.4s", norm, norm + 6,
                 norm + 14);
    struct ledger_sealed *sf = calloc(3, sizeof(*sf));
    assert_non_null(sf);
    uint32_t n = 0;
    fx_name(how == FORGE_OTHER_NAME ? seed + 1 : seed, name, sizeof(name));
    seal_into(f, p->key, PF_NAME, name, &sf[n++]);
    if (how == FORGE_GARBAGE)
        sf[0].data.data[sf[0].data.len - 1] ^= 1; /* the tag no longer matches */
    if (how != FORGE_NO_NUMBER)
        seal_into(f, p->key, PF_ID_NUMBER, sealed_number, &sf[n++]);
    seal_into(f, p->key, PF_MOBILE, how == FORGE_BAD_MOBILE ? "12345" : "13912345678", &sf[n++]);
    p->fields.items = sf;
    p->fields.count = n;
}

static idl_err
add_forged(struct fx *f, const char *id, unsigned seed, enum forge how)
{
    struct ledger_tx tx;
    fx_tx(f, &tx, "s-sys", TX_ACCOUNT_ADD);
    struct tx_account_add *b = &tx.body.account_add;
    snprintf(b->id, sizeof(b->id), "%s", id);
    snprintf(b->org, sizeof(b->org), "4401060001");
    b->class = CLASS_BUSINESS;
    forged_person(f, seed, how, &b->person);
    return fx_submit(f, &tx);
}

/* The refusal carries no personal data: neither the number nor the name nor the mobile. */
static void
assert_why_clean(struct fx *f, unsigned seed)
{
    char number[19], name[64];
    fx_id_number(seed, number);
    fx_name(seed, name, sizeof(name));
    if (strstr(f->why, number) || strstr(f->why, number + 6) || strstr(f->why, name) ||
        strstr(f->why, "13912345678"))
        fail_msg("reason \"%s\" quotes personal data", f->why);
}

static void
person_forgeries_refused(void **state)
{
    struct fx *f = *state;
    static const struct {
        enum forge how;
        const char *why;
    } cases[] = {
        {FORGE_KEY, "keyed hash of the sealed ID number"},
        {FORGE_CHECK_DIGIT, "check digit is wrong"},
        {FORGE_GARBAGE, "name: it was not sealed for this person"},
        {FORGE_BAD_MOBILE, "mobile number must be 11 digits"},
        {FORGE_NO_NUMBER, "no sealed ID number"},
        {FORGE_RAW_NUMBER, "normalised form"},
    };
    size_t people = count_space(f, SP_PERSON);
    for (size_t i = 0; i < IDL_ARRAY_LEN(cases); i++) {
        FX_EXPECT(f, add_forged(f, "t-forged", 80 + (unsigned)i, cases[i].how), IDL_ERR_INVALID);
        assert_why(f, cases[i].why);
        assert_why_clean(f, 80 + (unsigned)i);
        assert_false(fx_exists(f, "t-forged"));
    }
    assert_int_equal(count_space(f, SP_PERSON), people);
    FX_OK(f, add_forged(f, "t-forged", 80, FORGE_NONE));
    assert_int_equal(count_space(f, SP_PERSON), people + 1);
}

/*
 * One identity per person: a second account of a known person must name that person's key,
 * and naming it needs the person's ID number; a made-up key would otherwise have made a
 * second identity, and a copied key would attach an account to somebody else.
 */
static void
person_one_identity(void **state)
{
    struct fx *f = *state;
    FX_OK(f, add_forged(f, "t-a", 90, FORGE_NONE));
    size_t people = count_space(f, SP_PERSON);
    FX_EXPECT(f, add_forged(f, "t-b", 90, FORGE_KEY), IDL_ERR_INVALID);
    FX_OK(f, add_forged(f, "t-c", 91, FORGE_NONE));
    /* t-c's person key with t-a's sealed data: the number does not index to that key. */
    FX_EXPECT(f, add_forged(f, "t-b", 90, FORGE_OTHER_KEY), IDL_ERR_INVALID);
    assert_why(f, "keyed hash");
    /* An existing person named without an ID number is refused as well. */
    FX_EXPECT(f, add_forged(f, "t-b", 90, FORGE_NO_NUMBER), IDL_ERR_INVALID);
    /* The right number under another name (two imports racing past the node's sealing
     * check): the account must not silently join the registered person. */
    FX_EXPECT(f, add_forged(f, "t-b", 90, FORGE_OTHER_NAME), IDL_ERR_EXISTS);
    assert_why(f, "registered under another name");
    assert_why_clean(f, 90);
    assert_false(fx_exists(f, "t-b"));
    FX_OK(f, add_forged(f, "t-b", 90, FORGE_NONE)); /* the same person, a second account */
    assert_int_equal(count_space(f, SP_PERSON), people + 1);
}

/* An update's sealed fields are checked the same way: garbage and bad values stay off. */
static void
person_update_checked(void **state)
{
    struct fx *f = *state;
    FX_OK(f, fx_business_add(f, "s-sys", "t1", "4401060001", 95));
    FX_EXPECT(f, update_fields(f, "s-sys", "t1", PF_MOBILE, "1390000", 0), IDL_ERR_INVALID);
    assert_why(f, "mobile");
    FX_EXPECT(f, update_fields(f, "s-sys", "t1", PF_EMAIL, "not-an-address", 0), IDL_ERR_INVALID);
    /* Sealed for another person: it does not open under t1's person key. */
    struct ledger_tx tx;
    fx_tx(f, &tx, "s-sys", TX_ACCOUNT_UPDATE);
    struct tx_account_update *b = &tx.body.account_update;
    snprintf(b->id, sizeof(b->id), "t1");
    struct ledger_sealed *sf = calloc(1, sizeof(*sf));
    uint8_t other[HASH_BYTES];
    memset(other, 0x17, HASH_BYTES);
    seal_into(f, other, PF_MOBILE, "13900000000", sf);
    b->fields.items = sf;
    b->fields.count = 1;
    FX_EXPECT(f, fx_submit(f, &tx), IDL_ERR_INVALID);
    assert_why(f, "not sealed for this person");
    FX_OK(f, update_fields(f, "s-sys", "t1", PF_MOBILE, "13900000000", 0));
}

/* The outcome of batch record i of the last transaction: its code, and the reason. */
static idl_err
record_outcome(struct fx *f, uint32_t i, char *why, size_t why_len)
{
    struct state_key k;
    struct rec_tx res;
    state_key_init(&k, SP_RECORD);
    state_key_raw(&k, f->last_txid, HASH_BYTES);
    state_key_u32(&k, i);
    if (fx_get(f, &k, &rec_tx_schema, &res) == IDL_ERR_NOT_FOUND)
        return IDL_OK;
    struct idl_bytes v;
    state_key_init(&k, SP_REASON);
    state_key_raw(&k, f->last_txid, HASH_BYTES);
    state_key_u32(&k, i);
    assert_int_equal(store_get(ledger_store(f->ledger), k.b, k.len, &v), IDL_OK);
    snprintf(why, why_len, "%.*s", (int)v.len, (const char *)v.data);
    free(v.data);
    return (idl_err)res.code;
}

static void
person_forgeries_in_batch(void **state)
{
    struct fx *f = *state;
    static const enum forge how[] = {FORGE_KEY, FORGE_CHECK_DIGIT, FORGE_GARBAGE,
                                     FORGE_BAD_MOBILE, FORGE_NO_NUMBER, FORGE_NONE};
    static const char *const want[] = {"keyed hash", "check digit", "not sealed",
                                       "mobile", "no sealed ID number", ""};
    const size_t n = IDL_ARRAY_LEN(how);
    struct ledger_tx tx;
    fx_tx(f, &tx, "s-sys", TX_ACCOUNT_BATCH_ADD);
    struct tx_account_add *recs = calloc(n, sizeof(*recs));
    assert_non_null(recs);
    for (size_t i = 0; i < n; i++) {
        snprintf(recs[i].id, sizeof(recs[i].id), "t-batch%zu", i);
        snprintf(recs[i].org, sizeof(recs[i].org), "4401060001");
        recs[i].class = CLASS_BUSINESS;
        forged_person(f, 120 + (unsigned)i, how[i], &recs[i].person);
    }
    tx.body.batch.records.items = recs;
    tx.body.batch.records.count = (uint32_t)n;
    FX_OK(f, fx_submit(f, &tx));
    for (size_t i = 0; i < n; i++) {
        char why[LEDGER_WHY_MAX] = "", id[16];
        idl_err code = record_outcome(f, (uint32_t)i, why, sizeof(why));
        snprintf(id, sizeof(id), "t-batch%zu", i);
        assert_int_equal(code, how[i] == FORGE_NONE ? IDL_OK : IDL_ERR_INVALID);
        if (!strstr(why, want[i]))
            fail_msg("record %zu: reason \"%s\" does not mention \"%s\"", i, why, want[i]);
        assert_int_equal(fx_exists(f, id), how[i] == FORGE_NONE);
    }
}

/* ---- grants: not to oneself, with a form for management accounts, to active accounts ---- */

static idl_err
grant_without_basis(struct fx *f, const char *actor, unsigned type, const char *account)
{
    struct ledger_tx tx;
    fx_tx(f, &tx, actor, type);
    memset(tx.basis, 0, HASH_BYTES);
    snprintf(tx.body.grant.account, sizeof(tx.body.grant.account), "%s", account);
    snprintf(tx.body.grant.system, sizeof(tx.body.grant.system), "teacher");
    snprintf(tx.body.grant.role, sizeof(tx.body.grant.role), "query");
    return fx_submit(f, &tx);
}

static void
grant_self_and_basis(void **state)
{
    (void)state;
    struct fx f;
    struct fx_options opt = {.mgmt_business_roles = 1};
    fx_open(&f, &opt);
    fx_tree(&f);
    /* Under a policy that lets management accounts hold business roles... */
    FX_EXPECT(&f, fx_grant(&f, "s-sec", TX_GRANT_ADD, "s-sec", "teacher", "query"),
              IDL_ERR_DENIED);
    assert_why(&f, "own account");
    FX_EXPECT(&f, fx_grant(&f, "root-secadmin", TX_GRANT_ADD, "root-secadmin", "teacher", "query"),
              IDL_ERR_DENIED);
    /* ...a management account's roles change only with its form. */
    FX_EXPECT(&f, grant_without_basis(&f, "s-sec", TX_GRANT_ADD, "s-sys"), IDL_ERR_INVALID);
    assert_why(&f, "form");
    FX_OK(&f, fx_grant(&f, "s-sec", TX_GRANT_ADD, "s-sys", "teacher", "query"));
    FX_EXPECT(&f, grant_without_basis(&f, "s-sec", TX_GRANT_REMOVE, "s-sys"), IDL_ERR_INVALID);
    FX_OK(&f, fx_grant(&f, "s-sec", TX_GRANT_REMOVE, "s-sys", "teacher", "query"));
    /* A business account's do not (DOMAIN.md: the form is for management operations). */
    FX_OK(&f, fx_business_add(&f, "s-sys", "t1", "4401060001", 130));
    FX_OK(&f, grant_without_basis(&f, "s-sec", TX_GRANT_ADD, "t1"));
    FX_EXPECT(&f, fx_grant(&f, "s-sec", TX_GRANT_REMOVE, "s-sec", "teacher", "query"),
              IDL_ERR_DENIED);
    /* A pending management account receives no role until it is authorised. */
    FX_OK(&f, fx_account_op(&f, "k-sys", TX_ACCOUNT_DISABLE, "s-aud"));
    FX_OK(&f, fx_mgmt_add(&f, "k-sys", "s-aud2", "4401060001", POST_AUDITOR, 134));
    FX_EXPECT(&f, fx_grant(&f, "s-sec", TX_GRANT_ADD, "s-aud2", "teacher", "query"),
              IDL_ERR_STATE);
    assert_why(&f, "s-aud2 is pending");
    FX_OK(&f, fx_authorize(&f, "k-sec", "s-aud2"));
    FX_OK(&f, fx_grant(&f, "s-sec", TX_GRANT_ADD, "s-aud2", "teacher", "query"));
    fx_close(&f);
}

static void
grant_to_inactive_refused(void **state)
{
    struct fx *f = *state;
    FX_OK(f, fx_business_add(f, "s-sys", "t1", "4401060001", 131));
    FX_OK(f, fx_grant(f, "s-sec", TX_GRANT_ADD, "t1", "teacher", "training"));
    FX_OK(f, fx_account_op(f, "s-sys", TX_ACCOUNT_LOCK, "t1"));
    FX_EXPECT(f, fx_grant(f, "s-sec", TX_GRANT_ADD, "t1", "teacher", "query"), IDL_ERR_STATE);
    assert_why(f, "t1 is locked");
    FX_OK(f, fx_account_op(f, "s-sys", TX_ACCOUNT_DISABLE, "t1"));
    FX_EXPECT(f, fx_grant(f, "s-sec", TX_GRANT_ADD, "t1", "teacher", "query"), IDL_ERR_STATE);
    assert_why(f, "t1 is disabled");
    /* Withdrawing stays possible: a disabled holder's roles are cleaned up. */
    FX_OK(f, fx_grant(f, "s-sec", TX_GRANT_REMOVE, "t1", "teacher", "training"));
}

static idl_err
review_without_basis(struct fx *f, const char *actor, const char *org)
{
    struct ledger_tx tx;
    fx_tx(f, &tx, actor, TX_REVIEW_RECORD);
    memset(tx.basis, 0, HASH_BYTES);
    snprintf(tx.body.review.org, sizeof(tx.body.review.org), "%s", org);
    snprintf(tx.body.review.note, sizeof(tx.body.review.note), "核查");
    return fx_submit(f, &tx);
}

static void
review_needs_basis(void **state)
{
    struct fx *f = *state;
    FX_EXPECT(f, review_without_basis(f, "s-sys", "4401060001"), IDL_ERR_INVALID);
    assert_why(f, "form");
    struct state_key k;
    struct rec_review rv;
    state_key_init(&k, SP_REVIEW);
    state_key_str(&k, "4401060001");
    assert_int_equal(fx_get(f, &k, &rec_review_schema, &rv), IDL_ERR_NOT_FOUND);
    FX_OK(f, review(f, "s-sys", "4401060001"));
}

/* ---- policy: the interval of the periodic review ---- */

#define DAY_MS (24ull * 3600 * 1000)

/* Whether `account` is due for review at `org` at now_ms, and why. */
static bool
review_due(struct fx *f, const char *org, const char *account, uint64_t now_ms, uint8_t *why)
{
    struct report_review rv;
    assert_int_equal(report_review(ledger_store(f->ledger), org, now_ms, &rv), IDL_OK);
    bool due = false;
    for (size_t i = 0; i < rv.n_due; i++)
        if (strcmp(rv.due[i].account, account) == 0) {
            due = true;
            *why = rv.due[i].why;
        }
    report_review_free(&rv);
    return due;
}

static void
review_interval_case(uint32_t days)
{
    struct fx f;
    struct fx_options opt = {.review_interval_days = days};
    fx_open(&f, &opt);
    FX_OK(&f, fx_business_add(&f, "root-sysadmin", "t1", FX_ROOT, 140));
    uint64_t created = f.time_ms, interval = days * DAY_MS;
    uint8_t why = 0;
    assert_false(review_due(&f, FX_ROOT, "t1", created + interval - 1, &why));
    assert_true(review_due(&f, FX_ROOT, "t1", created + interval, &why));
    assert_int_equal(why, REPORT_DUE_INTERVAL);
    /* A review clears it for one more interval, counted from the review. */
    fx_empty_block(&f, created + interval);
    FX_OK(&f, fx_review(&f, "root-sysadmin", FX_ROOT, "定期核查"));
    uint64_t reviewed = f.time_ms;
    assert_false(review_due(&f, FX_ROOT, "t1", reviewed + interval - 1, &why));
    assert_true(review_due(&f, FX_ROOT, "t1", reviewed + interval, &why));
    fx_close(&f);
}

static void
review_interval_policy(void **state)
{
    (void)state;
    review_interval_case(30);
    review_interval_case(182);
    /* At 30 days an account is due long before the default's six months would say so. */
    struct fx f;
    fx_open(&f, NULL);
    FX_OK(&f, fx_business_add(&f, "root-sysadmin", "t1", FX_ROOT, 141));
    uint8_t why;
    assert_false(review_due(&f, FX_ROOT, "t1", f.time_ms + 30 * DAY_MS, &why));
    fx_close(&f);
}

/* ---- the audit log keeps the post the actor held when it acted ---- */

static void
audit_keeps_post_at_the_time(void **state)
{
    struct fx *f = *state;
    FX_OK(f, fx_business_add(f, "k-sys", "t-k", "440106", 150));
    /* k-sys becomes the county's auditor: its earlier work stays the sysadmin's. */
    FX_OK(f, fx_account_op(f, "c-sys", TX_ACCOUNT_DISABLE, "k-aud"));
    FX_OK(f, update_fields(f, "c-sys", "k-sys", 0, "", POST_AUDITOR));
    FX_OK(f, fx_authorize(f, "c-sec", "k-sys"));
    FX_EXPECT(f, fx_business_add(f, "k-sys", "t-k2", "440106", 151), IDL_ERR_DENIED);
    struct audit_seen seen = {0};
    assert_int_equal(
        query_audit_by_actor(ledger_store(f->ledger), "k-sys", 0, 0, 0, audit_collect, &seen),
        IDL_OK);
    size_t as_sys = 0, as_aud = 0;
    for (size_t i = 0; i < seen.n; i++) {
        assert_string_equal(seen.e[i].actor_org, "440106");
        if (strcmp(seen.e[i].target, "t-k") == 0) {
            assert_int_equal(seen.e[i].actor_post, POST_SYSADMIN);
            as_sys++;
        }
        if (strcmp(seen.e[i].target, "t-k2") == 0) {
            assert_int_equal(seen.e[i].actor_post, POST_AUDITOR);
            as_aud++;
        }
    }
    assert_int_equal(as_sys, 1);
    assert_int_equal(as_aud, 1);
    /* A batch's per-record entries carry it too. */
    struct ledger_tx tx;
    fx_tx(f, &tx, "s-sys", TX_ACCOUNT_BATCH_ADD);
    struct tx_account_add *rec = calloc(1, sizeof(*rec));
    snprintf(rec->id, sizeof(rec->id), "t-s");
    snprintf(rec->org, sizeof(rec->org), "4401060001");
    rec->class = CLASS_BUSINESS;
    fx_person(f, 152, &rec->person);
    tx.body.batch.records.items = rec;
    tx.body.batch.records.count = 1;
    FX_OK(f, fx_submit(f, &tx));
    memset(&seen, 0, sizeof(seen));
    struct state_key prefix;
    state_key_init(&prefix, SP_AUDIT_ORG);
    state_key_str(&prefix, "4401060001");
    assert_int_equal(query_scan(ledger_store(f->ledger), &prefix, NULL, 0, audit_collect, &seen),
                     IDL_OK);
    assert_true(seen.n > 0);
    assert_string_equal(seen.e[seen.n - 1].target, "t-s");
    assert_int_equal(seen.e[seen.n - 1].record, 1);
    assert_int_equal(seen.e[seen.n - 1].actor_post, POST_SYSADMIN);
}

/* ---- the matrix of wrong actors, completed ---- */

/* One operation on management account `id`, by `actor`. */
static idl_err
mgmt_op(struct fx *f, const char *actor, unsigned type, const char *id)
{
    if (type == TX_ACCOUNT_UPDATE)
        return update_fields(f, actor, id, PF_MOBILE, "13700000000", 0);
    return fx_account_op(f, actor, type, id);
}

/*
 * Every lifecycle operation on a management account (the school's auditor s-aud, managed
 * by the county's sysadmin k-sys) is refused to: the school's own sysadmin, the county's
 * secadmin and auditor, the city's sysadmin (a grandparent) and another city's sysadmin.
 * Each refusal leaves the status as it was; then k-sys does it.
 */
static void
mgmt_lifecycle_wrong_actors(void **state)
{
    struct fx *f = *state;
    static const char *const wrong[] = {"s-sys", "k-sec", "k-aud", "c-sys", "o-sys"};
    static const struct {
        unsigned type, before, after;
    } ops[] = {
        {TX_ACCOUNT_DISABLE, STATUS_ACTIVE, STATUS_DISABLED},
        {TX_ACCOUNT_RESTORE, STATUS_DISABLED, STATUS_ACTIVE},
        {TX_ACCOUNT_LOCK, STATUS_ACTIVE, STATUS_LOCKED},
        {TX_ACCOUNT_UNLOCK, STATUS_LOCKED, STATUS_ACTIVE},
        {TX_ACCOUNT_RESET_PASSWORD, STATUS_ACTIVE, STATUS_ACTIVE},
        {TX_ACCOUNT_UPDATE, STATUS_ACTIVE, STATUS_ACTIVE},
    };
    for (size_t i = 0; i < IDL_ARRAY_LEN(ops); i++) {
        assert_int_equal(fx_status(f, "s-aud"), ops[i].before);
        for (size_t w = 0; w < IDL_ARRAY_LEN(wrong); w++) {
            idl_err rc = mgmt_op(f, wrong[w], ops[i].type, "s-aud");
            if (rc != IDL_ERR_DENIED)
                fail_msg("%s by %s: got %s (%s), want denied", ledger_tx_type_name(ops[i].type),
                         wrong[w], idl_errname(rc), f->why);
            assert_int_equal(fx_status(f, "s-aud"), ops[i].before);
        }
        FX_OK(f, mgmt_op(f, "k-sys", ops[i].type, "s-aud"));
        assert_int_equal(fx_status(f, "s-aud"), ops[i].after);
    }
    /* The sysadmin of an organisation does not even disable its own auditor. */
    FX_EXPECT(f, fx_account_op(f, "s-sys", TX_ACCOUNT_DISABLE, "s-aud"), IDL_ERR_DENIED);
    assert_why(f, "only the sysadmin of 440106");
}

/* Replaces the school's secadmin: s-sec disabled, s-sec2 created and left pending. */
static void
school_pending_secadmin(struct fx *f)
{
    FX_OK(f, fx_account_op(f, "k-sys", TX_ACCOUNT_DISABLE, "s-sec"));
    FX_OK(f, fx_mgmt_add(f, "k-sys", "s-sec2", "4401060001", POST_SECADMIN, 160));
    assert_int_equal(fx_status(f, "s-sec2"), STATUS_PENDING);
}

static void
grant_remove_wrong_actors(void **state)
{
    struct fx *f = *state;
    const char *sys = "teacher", *role = "query";
    FX_OK(f, fx_business_add(f, "s-sys", "t1", "4401060001", 161));
    FX_OK(f, fx_grant(f, "s-sec", TX_GRANT_ADD, "t1", sys, role));
    FX_EXPECT(f, fx_grant(f, "s-sys", TX_GRANT_REMOVE, "t1", sys, role), IDL_ERR_DENIED);
    assert_why(f, "only the secadmin of 4401060001");
    FX_EXPECT(f, fx_grant(f, "s-aud", TX_GRANT_REMOVE, "t1", sys, role), IDL_ERR_DENIED);
    assert_why(f, "auditor");
    FX_EXPECT(f, fx_grant(f, "k-sec", TX_GRANT_REMOVE, "t1", sys, role), IDL_ERR_DENIED);
    WITH_DISABLED(f, "k-sys", "s-sec",
                  FX_EXPECT(f, fx_grant(f, "s-sec", TX_GRANT_REMOVE, "t1", sys, role),
                            IDL_ERR_DENIED));
    school_pending_secadmin(f);
    FX_EXPECT(f, fx_grant(f, "s-sec2", TX_GRANT_REMOVE, "t1", sys, role), IDL_ERR_DENIED);
    assert_why(f, "pending");
    FX_EXPECT(f, fx_grant(f, "s-sec2", TX_GRANT_ADD, "t1", sys, "training"), IDL_ERR_DENIED);
    assert_why(f, "pending");
    /* Still held after every refusal; the authorised successor withdraws it. */
    struct query_verdict v;
    struct state *st;
    assert_int_equal(state_new(&st, ledger_store(f->ledger)), IDL_OK);
    assert_int_equal(query_verify(st, "t1", sys, role, NULL, f->time_ms / 1000, &v), IDL_OK);
    state_free(st);
    assert_true(v.allowed);
    FX_OK(f, fx_authorize(f, "k-sec", "s-sec2"));
    FX_OK(f, fx_grant(f, "s-sec2", TX_GRANT_REMOVE, "t1", sys, role));
}

static void
grant_add_by_child_secadmin(void **state)
{
    struct fx *f = *state;
    FX_OK(f, fx_business_add(f, "k-sys", "t-k", "440106", 162));
    FX_EXPECT(f, fx_grant(f, "s-sec", TX_GRANT_ADD, "t-k", "teacher", "query"), IDL_ERR_DENIED);
    assert_why(f, "only the secadmin of 440106");
    FX_EXPECT(f, fx_grant(f, "c-sec", TX_GRANT_ADD, "t-k", "teacher", "query"), IDL_ERR_DENIED);
    FX_OK(f, fx_grant(f, "k-sec", TX_GRANT_ADD, "t-k", "teacher", "query"));
}

/* Every operation on a management account needs its form: create, authorise, change. */
static void
basis_required_everywhere(void **state)
{
    struct fx *f = *state;
    FX_OK(f, fx_org_add(f, "c-sys", "440107", ORG_KIND_COUNTY, "440100", 0));
    f->no_basis = true;
    FX_EXPECT(f, fx_mgmt_add(f, "c-sys", "n-sys", "440107", POST_SYSADMIN, 170), IDL_ERR_INVALID);
    assert_why(f, "form");
    assert_false(fx_exists(f, "n-sys"));
    f->no_basis = false;
    FX_OK(f, fx_mgmt_add(f, "c-sys", "n-sys", "440107", POST_SYSADMIN, 170));
    static const struct {
        const char *actor;
        unsigned type;
        unsigned after; /* the status once done with a form */
    } ops[] = {
        {"c-sec", TX_ACCOUNT_AUTHORIZE, STATUS_ACTIVE},
        {"c-sys", TX_ACCOUNT_UPDATE, STATUS_ACTIVE},
        {"c-sys", TX_ACCOUNT_LOCK, STATUS_LOCKED},
        {"c-sys", TX_ACCOUNT_UNLOCK, STATUS_ACTIVE},
        {"c-sys", TX_ACCOUNT_DISABLE, STATUS_DISABLED},
        {"c-sys", TX_ACCOUNT_RESTORE, STATUS_ACTIVE},
    };
    for (size_t i = 0; i < IDL_ARRAY_LEN(ops); i++) {
        unsigned before = fx_status(f, "n-sys");
        f->no_basis = true;
        idl_err rc = ops[i].type == TX_ACCOUNT_AUTHORIZE ? fx_authorize(f, ops[i].actor, "n-sys")
                                                         : mgmt_op(f, ops[i].actor, ops[i].type,
                                                                   "n-sys");
        f->no_basis = false;
        if (rc != IDL_ERR_INVALID || !strstr(f->why, "form"))
            fail_msg("%s without a form: got %s (%s)", ledger_tx_type_name(ops[i].type),
                     idl_errname(rc), f->why);
        assert_int_equal(fx_status(f, "n-sys"), before);
        FX_OK(f, ops[i].type == TX_ACCOUNT_AUTHORIZE ? fx_authorize(f, ops[i].actor, "n-sys")
                                                     : mgmt_op(f, ops[i].actor, ops[i].type,
                                                               "n-sys"));
        assert_int_equal(fx_status(f, "n-sys"), ops[i].after);
    }
}

/*
 * The auditor is a different person from the sysadmin and secadmin on every path into a
 * post: a post change, and a restore after the post's people changed.
 */
static void
auditor_distinct_on_post_change_and_restore(void **state)
{
    struct fx *f = *state;
    /* A primary school, where policy "schools" lets one person be sysadmin and secadmin. */
    FX_OK(f, fx_org_add(f, "k-sys", "4401060002", ORG_KIND_SCHOOL, "440106", SCHOOL_PRIMARY));
    FX_OK(f, fx_mgmt_add(f, "k-sys", "x-sys", "4401060002", POST_SYSADMIN, 180));
    FX_OK(f, fx_mgmt_add(f, "k-sys", "x-sec", "4401060002", POST_SECADMIN, 180));
    FX_OK(f, fx_mgmt_add(f, "k-sys", "x-aud", "4401060002", POST_AUDITOR, 181));
    /* x-sec would become auditor while its person is the sysadmin. */
    FX_OK(f, fx_account_op(f, "k-sys", TX_ACCOUNT_DISABLE, "x-aud"));
    FX_EXPECT(f, update_fields(f, "k-sys", "x-sec", 0, "", POST_AUDITOR), IDL_ERR_POLICY);
    assert_why(f, "different person");
    /* x-aud's person becomes the sysadmin while x-aud is disabled; restoring it is refused. */
    FX_OK(f, fx_account_op(f, "k-sys", TX_ACCOUNT_DISABLE, "x-sys"));
    FX_OK(f, fx_mgmt_add(f, "k-sys", "x-sys2", "4401060002", POST_SYSADMIN, 181));
    FX_EXPECT(f, fx_account_op(f, "k-sys", TX_ACCOUNT_RESTORE, "x-aud"), IDL_ERR_POLICY);
    assert_why(f, "different person");
    assert_int_equal(fx_status(f, "x-aud"), STATUS_DISABLED);
}

/* account.update refused to a child's sysadmin, the secadmin, a disabled and a pending one. */
static void
update_wrong_actors(void **state)
{
    struct fx *f = *state;
    FX_OK(f, fx_business_add(f, "k-sys", "t-k", "440106", 190));
    FX_EXPECT(f, update_fields(f, "s-sys", "t-k", PF_MOBILE, "13700000001", 0), IDL_ERR_DENIED);
    FX_EXPECT(f, update_fields(f, "k-sec", "t-k", PF_MOBILE, "13700000001", 0), IDL_ERR_DENIED);
    assert_why(f, "only the sysadmin of 440106");
    WITH_DISABLED(f, "c-sys", "k-sys",
                  FX_EXPECT(f, update_fields(f, "k-sys", "t-k", PF_MOBILE, "13700000001", 0),
                            IDL_ERR_DENIED));
    FX_OK(f, fx_account_op(f, "c-sys", TX_ACCOUNT_DISABLE, "k-sys"));
    FX_OK(f, fx_mgmt_add(f, "c-sys", "k-sys2", "440106", POST_SYSADMIN, 191));
    FX_EXPECT(f, update_fields(f, "k-sys2", "t-k", PF_MOBILE, "13700000001", 0), IDL_ERR_DENIED);
    assert_why(f, "pending");
    FX_OK(f, fx_authorize(f, "c-sec", "k-sys2"));
    FX_OK(f, update_fields(f, "k-sys2", "t-k", PF_MOBILE, "13700000001", 0));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(business_create_right_actor),
        T(business_create_wrong_actors),
        T(mgmt_create_right_actor),
        T(mgmt_create_wrong_actors),
        T(mgmt_post_taken),
        T(authorize_right_and_wrong),
        T(authorize_by_pending_secadmin),
        T(grant_right_and_wrong),
        T(auditor_does_nothing),
        T(auditor_distinct_person),
        cmocka_unit_test(auditor_distinct_even_when_policy_allows),
        cmocka_unit_test(same_person_policy),
        cmocka_unit_test(same_person_school_types),
        cmocka_unit_test(mgmt_business_roles_policy),
        T(never_delete),
        T(basis_required_for_management),
        T(lifecycle),
        T(update_rules),
        T(delegation),
        T(org_rules),
        T(org_depth_bounded),
        T(system_rules),
        T(legacy_binding),
        T(review_rules),
        T(person_forgeries_refused),
        T(person_one_identity),
        T(person_update_checked),
        T(person_forgeries_in_batch),
        cmocka_unit_test(grant_self_and_basis),
        T(grant_to_inactive_refused),
        T(review_needs_basis),
        cmocka_unit_test(review_interval_policy),
        T(audit_keeps_post_at_the_time),
        T(mgmt_lifecycle_wrong_actors),
        T(grant_remove_wrong_actors),
        T(grant_add_by_child_secadmin),
        T(basis_required_everywhere),
        T(auditor_distinct_on_post_change_and_restore),
        T(update_wrong_actors),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Reports (DOMAIN.md §5, §3 periodic review) for auditors and the tables the seeds ask
 * for. They read the per-organisation counters and records the ledger keeps, walking the
 * organisation tree below the asked one; nothing here scans every account of the chain.
 */
#include <stdio.h>
#include <string.h>

#include "ledger/query.h"
#include "node/api_internal.h"

#define TREE_MAX 100000

struct walk {
    struct api_req *r;
    struct state *st;
    json_t *rows, *roles;
    uint64_t total, active, disabled, locked;
    size_t visited;
    bool failed; /* a store read failed: the report would be wrong */
};

struct children_list {
    char (*codes)[LEDGER_CODE_MAX + 1];
    size_t n, cap;
    size_t prefix_len;
};

static int
collect_code(void *arg, const uint8_t *key, size_t kl, const uint8_t *val, size_t vl)
{
    (void)val, (void)vl;
    struct children_list *c = arg;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        void *p = realloc(c->codes, cap * sizeof(*c->codes));
        if (!p)
            return 1;
        c->codes = p;
        c->cap = cap;
    }
    query_key_part(key, kl, c->prefix_len, c->codes[c->n++], LEDGER_CODE_MAX + 1);
    return 0;
}

static idl_err
children(struct api_req *r, const char *code, struct children_list *out)
{
    memset(out, 0, sizeof(*out));
    struct state_key k;
    state_key_init(&k, SP_ORG_CHILD);
    state_key_str(&k, code);
    out->prefix_len = k.len;
    return query_scan(ledger_store(r->n->ledger), &k, NULL, 0, collect_code, out);
}

struct role_scan {
    json_t *roles; /* object: "system/role" -> count */
    size_t prefix_len;
};

static int
collect_role(void *arg, const uint8_t *key, size_t kl, const uint8_t *val, size_t vl)
{
    struct role_scan *s = arg;
    char system[LEDGER_CODE_MAX + 1], role[LEDGER_CODE_MAX + 1], name[2 * LEDGER_CODE_MAX + 2];
    size_t off = query_key_part(key, kl, s->prefix_len, system, sizeof(system));
    query_key_part(key, kl, off, role, sizeof(role));
    snprintf(name, sizeof(name), "%s/%s", system, role);
    uint32_t n = vl == 4 ? codec_be32_get(val) : 0;
    json_int_t had = json_integer_value(json_object_get(s->roles, name));
    json_object_set_new(s->roles, name, json_integer(had + n));
    return 0;
}

static bool
is_unit(unsigned kind)
{
    return kind == ORG_KIND_SCHOOL || kind == ORG_KIND_UNIVERSITY || kind == ORG_KIND_OTHER;
}

/*
 * One organisation and, recursively, those below it. city and county are the names of the
 * city and county the organisation lies in ("" if none: province-run units, universities,
 * and city-run schools have no county).
 */
static void
walk_business(struct walk *w, const char *code, const char *city, const char *county)
{
    struct rec_org o;
    if (++w->visited > TREE_MAX || state_org_get(w->st, code, &o) != IDL_OK) {
        w->failed = true;
        return;
    }
    if (o.kind == ORG_KIND_CITY)
        city = o.name;
    if (o.kind == ORG_KIND_COUNTY)
        county = o.name;
    struct state_key k;
    state_key_init(&k, SP_COUNTS);
    state_key_str(&k, code);
    struct rec_counts c = {0};
    idl_err rc = state_get_rec(w->st, &k, &rec_counts_schema, &c);
    if (rc == IDL_ERR_NOT_FOUND)
        memset(&c, 0, sizeof(c)); /* no account there yet */
    else if (rc)
        w->failed = true;
    (void)rc;
    uint64_t active = c.business[STATUS_ACTIVE], disabled = c.business[STATUS_DISABLED],
             locked = c.business[STATUS_LOCKED];
    uint64_t count = active + disabled + locked + c.business[STATUS_PENDING];
    if (is_unit(o.kind) || count) {
        /* A bureau's own staff are counted on a row of its own (本级). */
        json_array_append_new(
            w->rows, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "city", city,
                               "county", county, "school", is_unit(o.kind) ? o.name : "(本级)",
                               "code", o.code, "kind", ledger_org_kind_name(o.kind), "count",
                               (json_int_t)count, "active", (json_int_t)active, "disabled",
                               (json_int_t)disabled, "locked", (json_int_t)locked));
    }
    w->total += count;
    w->active += active;
    w->disabled += disabled;
    w->locked += locked;
    state_key_init(&k, SP_ROLE_COUNT);
    state_key_str(&k, code);
    struct role_scan rs = {w->roles, k.len};
    struct children_list ch;
    if (query_scan(ledger_store(w->r->n->ledger), &k, NULL, 0, collect_role, &rs) != IDL_OK ||
        children(w->r, code, &ch) != IDL_OK) {
        w->failed = true;
        return;
    }
    char c_city[LEDGER_NAME_MAX + 1], c_county[LEDGER_NAME_MAX + 1];
    snprintf(c_city, sizeof(c_city), "%s", city);
    snprintf(c_county, sizeof(c_county), "%s", county);
    for (size_t i = 0; i < ch.n; i++)
        walk_business(w, ch.codes[i], c_city, c_county);
    free(ch.codes);
}

/* Sums rows by a key ("county" within "city", or "city"). */
static json_t *
subtotals(json_t *rows, bool by_county)
{
    json_t *out = json_array(), *index = json_object();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *city = json_string_value(json_object_get(row, "city"));
        const char *county = json_string_value(json_object_get(row, "county"));
        if (by_county && !county[0])
            continue;
        char key[2 * LEDGER_NAME_MAX + 2];
        snprintf(key, sizeof(key), "%s/%s", city, by_county ? county : "");
        json_t *agg = json_object_get(index, key);
        if (!agg) {
            agg = by_county ? json_pack("{s:s, s:s, s:I}", "city", city, "county", county,
                                        "count", (json_int_t)0)
                            : json_pack("{s:s, s:I}", "city", city, "count", (json_int_t)0);
            json_object_set_new(index, key, agg);
            json_array_append(out, agg);
        }
        json_object_set_new(agg, "count",
                            json_integer(json_integer_value(json_object_get(agg, "count")) +
                                         json_integer_value(json_object_get(row, "count"))));
    }
    json_decref(index);
    return out;
}

void
api_h_report_business(struct api_req *r)
{
    const char *org = api_param(r, "org");
    if (!org) {
        api_error(r, 400, "malformed", "the report needs org");
        return;
    }
    struct state *st;
    struct rec_org o;
    if (state_new(&st, ledger_store(r->n->ledger)) != IDL_OK) {
        api_error(r, 500, "nomem", "out of memory");
        return;
    }
    if (state_org_get(st, org, &o) != IDL_OK) {
        state_free(st);
        api_error(r, 404, "not_found", "no organisation %.32s", org);
        return;
    }
    struct walk w = {r, st, json_array(), json_object(), 0, 0, 0, 0, 0, false};
    walk_business(&w, org, "", "");
    state_free(st);
    if (w.failed) {
        json_decref(w.rows);
        json_decref(w.roles);
        api_error(r, 500, "io", "the report could not be read completely");
        return;
    }
    json_t *roles = json_array();
    const char *key;
    json_t *v;
    json_object_foreach(w.roles, key, v)
    {
        char sys[LEDGER_CODE_MAX + 1] = "", role[LEDGER_CODE_MAX + 1] = "";
        sscanf(key, "%32[^/]/%32s", sys, role);
        json_array_append_new(roles, json_pack("{s:s, s:s, s:O}", "system", sys, "role", role,
                                               "count", v));
    }
    json_decref(w.roles);
    api_read_audit(r, "GET /v1/reports/business-accounts", NULL);
    api_reply(r, 200,
              json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o}", "org", o.code,
                        "name", o.name, "kind", ledger_org_kind_name(o.kind), "total",
                        (json_int_t)w.total, "active", (json_int_t)w.active, "disabled",
                        (json_int_t)w.disabled, "locked", (json_int_t)w.locked, "rows", w.rows,
                        "counties", subtotals(w.rows, true), "cities", subtotals(w.rows, false),
                        "roles", roles));
}

/* ---- periodic review ---- */

struct due_scan {
    struct state *st;
    json_t *due;
    size_t prefix_len;
    uint64_t now_ms, interval_ms, review_time, review_height;
    size_t count;
};

static int
check_due(void *arg, const uint8_t *key, size_t kl, const uint8_t *val, size_t vl)
{
    (void)val, (void)vl;
    struct due_scan *d = arg;
    char id[LEDGER_ID_MAX + 1];
    query_key_part(key, kl, d->prefix_len, id, sizeof(id));
    struct rec_account a;
    if (state_account_get(d->st, id, &a) != IDL_OK || a.status == STATUS_DISABLED)
        return 0;
    char reason[160] = "";
    uint64_t since = a.created_time_ms > d->review_time ? a.created_time_ms : d->review_time;
    if (d->review_height && a.changed_height > d->review_height)
        snprintf(reason, sizeof(reason), "changed at height %llu, after the last review",
                 (unsigned long long)a.changed_height);
    else if (since + d->interval_ms <= d->now_ms)
        snprintf(reason, sizeof(reason), "not reviewed for %llu days",
                 (unsigned long long)((d->now_ms - since) / 86400000));
    if (reason[0]) {
        json_array_append_new(d->due, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "account", a.id,
                                                "org", a.org, "class", ledger_class_name(a.class),
                                                "post", ledger_post_name(a.post), "status",
                                                ledger_status_name(a.status), "reason", reason));
        d->count++;
    }
    return d->count >= TREE_MAX;
}

/*
 * GET /v1/reports/review?org=C: the accounts C must review: those not reviewed within the
 * chain's interval and those changed since C's last review. C reviews its own accounts
 * and those of the organisations that delegated their business users to it.
 */
void
api_h_report_review(struct api_req *r)
{
    const char *org = api_param(r, "org");
    struct state *st;
    struct rec_org o;
    if (!org) {
        api_error(r, 400, "malformed", "the report needs org");
        return;
    }
    if (state_new(&st, ledger_store(r->n->ledger)) != IDL_OK) {
        api_error(r, 500, "nomem", "out of memory");
        return;
    }
    if (state_org_get(st, org, &o) != IDL_OK) {
        state_free(st);
        api_error(r, 404, "not_found", "no organisation %.32s", org);
        return;
    }
    struct ledger_tip tip;
    ledger_tip(r->n->ledger, &tip);
    struct rec_review rv = {0};
    struct state_key k;
    state_key_init(&k, SP_REVIEW);
    state_key_str(&k, org);
    idl_err rc = state_get_rec(st, &k, &rec_review_schema, &rv);
    if (rc == IDL_ERR_NOT_FOUND) {
        memset(&rv, 0, sizeof(rv)); /* never reviewed */
        rc = IDL_OK;
    }
    struct due_scan d = {st, json_array(), 0, tip.time_ms,
                         (uint64_t)r->n->genesis.policy.review_interval_days * 86400000ull,
                         rv.time_ms, rv.height, 0};
    struct children_list ch = {0};
    if (!rc)
        rc = children(r, org, &ch);
    for (size_t i = 0; !rc && i <= ch.n; i++) {
        const char *code = i == 0 ? org : ch.codes[i - 1];
        struct rec_org c;
        if (i > 0 && (state_org_get(st, code, &c) != IDL_OK || !c.delegated))
            continue;
        state_key_init(&k, SP_ACCOUNT_BY_ORG);
        state_key_str(&k, code);
        d.prefix_len = k.len;
        rc = query_scan(ledger_store(r->n->ledger), &k, NULL, 0, check_due, &d);
    }
    free(ch.codes);
    state_free(st);
    if (rc) {
        json_decref(d.due);
        api_error(r, 500, "io", "the report could not be read completely");
        return;
    }
    api_read_audit(r, "GET /v1/reports/review", NULL);
    api_reply(r, 200,
              json_pack("{s:s, s:I, s:I, s:I, s:I, s:o}", "org", org, "reviewed_height",
                        (json_int_t)rv.height, "reviewed_time", (json_int_t)rv.time_ms,
                        "interval_days", (json_int_t)r->n->genesis.policy.review_interval_days,
                        "as_of", (json_int_t)tip.time_ms, "due", d.due));
}

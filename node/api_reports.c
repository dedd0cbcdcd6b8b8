/*
 * GET /v1/reports/...: the reports of ledger/report.h (DOMAIN.md §5, §3 periodic review),
 * rendered as JSON. The computations live in the ledger library, where they are pure
 * queries over a snapshot of the store and unit-tested (tests/unit/report_test.c); this
 * file only chooses "now" (the tip's block time), renders, and maps errors.
 */
#include <stdio.h>
#include <string.h>

#include "ledger/report.h"
#include "node/api_internal.h"

/* The reply for a report that failed with rc. */
static void
report_fail(struct api_req *r, const char *org, idl_err rc)
{
    if (rc == IDL_ERR_NOT_FOUND)
        api_error(r, 404, "not_found", "no organisation %.32s", org);
    else if (rc == IDL_ERR_NOMEM)
        api_error(r, 500, "nomem", "out of memory");
    else if (rc == IDL_ERR_TOO_LARGE)
        api_error(r, 500, "too_large",
                  "the report is over its bounds (%d organisations, %d "
                  "accounts)",
                  REPORT_ORGS_MAX, REPORT_ACCOUNTS_MAX);
    else
        api_error(r, 500, "io", "the report could not be read completely (%s)", idl_strerror(rc));
}

static const char *
unit_name(const struct report_business *b, uint32_t i)
{
    return i == REPORT_NONE ? "" : b->units[i].name;
}

static json_t *
count_json(uint64_t n)
{
    return json_integer((json_int_t)n);
}

/* A row of the table: a school (or university, other unit), or a bureau's own staff. */
static json_t *
row_json(const struct report_business *b, const struct report_unit *u)
{
    bool unit =
        u->kind == ORG_KIND_SCHOOL || u->kind == ORG_KIND_UNIVERSITY || u->kind == ORG_KIND_OTHER;
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "city", unit_name(b, u->city),
                     "county", unit_name(b, u->county), "school", unit ? u->name : "(本级)", "code",
                     u->code, "kind", ledger_org_kind_name(u->kind), "count",
                     count_json(u->own.total), "active",
                     count_json(u->own.by_status[STATUS_ACTIVE]), "disabled",
                     count_json(u->own.by_status[STATUS_DISABLED]), "locked",
                     count_json(u->own.by_status[STATUS_LOCKED]));
}

/* rows, counties (附件5 subtotals), cities (附件6 subtotals, "" = province level), roles. */
static void
business_tables(const struct report_business *b, json_t *out)
{
    json_t *rows = json_array(), *counties = json_array(), *cities = json_array(),
           *roles = json_array();
    if (b->any_outside_cities)
        json_array_append_new(cities, json_pack("{s:s, s:o}", "city", "", "count",
                                                count_json(b->outside_cities.total)));
    for (size_t i = 0; i < b->n_units; i++) {
        const struct report_unit *u = &b->units[i];
        if (u->row)
            json_array_append_new(rows, row_json(b, u));
        if (u->kind == ORG_KIND_COUNTY)
            json_array_append_new(counties,
                                  json_pack("{s:s, s:s, s:o}", "city", unit_name(b, u->city),
                                            "county", u->name, "count", count_json(u->tree.total)));
        if (u->kind == ORG_KIND_CITY)
            json_array_append_new(cities, json_pack("{s:s, s:o}", "city", u->name, "count",
                                                    count_json(u->tree.total)));
    }
    for (size_t i = 0; i < b->n_roles; i++)
        json_array_append_new(roles,
                              json_pack("{s:s, s:s, s:o}", "system", b->roles[i].system, "role",
                                        b->roles[i].role, "count", count_json(b->roles[i].count)));
    json_object_set_new(out, "rows", rows);
    json_object_set_new(out, "counties", counties);
    json_object_set_new(out, "cities", cities);
    json_object_set_new(out, "roles", roles);
}

/* GET /v1/reports/business-accounts?org=C: the roll-up below C (report_business). */
void
api_h_report_business(struct api_req *r)
{
    const char *org = api_param(r, "org");
    if (!org) {
        api_error(r, 400, "malformed", "the report needs org");
        return;
    }
    struct report_business b;
    idl_err rc = report_business(ledger_store(r->n->ledger), org, &b);
    if (rc) {
        report_fail(r, org, rc);
        report_business_free(&b);
        return;
    }
    const struct report_unit *top = &b.units[0];
    json_t *out =
        json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "org", top->code, "name", top->name,
                  "kind", ledger_org_kind_name(top->kind), "total", count_json(top->tree.total),
                  "active", count_json(top->tree.by_status[STATUS_ACTIVE]), "disabled",
                  count_json(top->tree.by_status[STATUS_DISABLED]), "locked",
                  count_json(top->tree.by_status[STATUS_LOCKED]));
    business_tables(&b, out);
    report_business_free(&b);
    api_read_audit_org(r, "GET /v1/reports/business-accounts", NULL, org);
    api_reply(r, 200, out);
}

static json_t *
due_json(const struct report_due *d, uint64_t now_ms)
{
    char reason[160];
    report_due_reason(d, now_ms, reason, sizeof(reason));
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "account", d->account, "org", d->org,
                     "class", ledger_class_name(d->class), "post", ledger_post_name(d->post),
                     "status", ledger_status_name(d->status), "reason", reason);
}

/*
 * GET /v1/reports/review?org=C: the accounts C must review as of the tip's block time
 * (report_review): not reviewed within the chain's interval, or changed since C's last
 * review; C's own and those of the organisations that delegated their business users to it.
 */
void
api_h_report_review(struct api_req *r)
{
    const char *org = api_param(r, "org");
    if (!org) {
        api_error(r, 400, "malformed", "the report needs org");
        return;
    }
    struct ledger_tip tip;
    ledger_tip(r->n->ledger, &tip);
    struct report_review rv;
    idl_err rc = report_review(ledger_store(r->n->ledger), org, tip.time_ms, &rv);
    if (rc) {
        report_fail(r, org, rc);
        report_review_free(&rv);
        return;
    }
    json_t *due = json_array();
    for (size_t i = 0; i < rv.n_due; i++)
        json_array_append_new(due, due_json(&rv.due[i], rv.now_ms));
    json_t *out = json_pack(
        "{s:s, s:o, s:o, s:o, s:o, s:o}", "org", rv.org, "reviewed_height",
        count_json(rv.last.height), "reviewed_time", count_json(rv.last.time_ms), "interval_days",
        count_json(rv.interval_days), "as_of", count_json(rv.now_ms), "due", due);
    report_review_free(&rv);
    api_read_audit_org(r, "GET /v1/reports/review", NULL, org);
    api_reply(r, 200, out);
}

/*
 * GET /v1/reports/...: the reports of ledger/report.h (DOMAIN.md §5, §3 periodic review),
 * rendered as JSON. The computations live in the ledger library, where they are pure
 * queries over a snapshot of the store and unit-tested (tests/unit/report_test.c); this
 * file only chooses "now" (the tip's block time), renders, and maps errors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/codec.h"
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

/*
 * The accounts in use: the 数量 of the seeds' tables. A disabled account is kept for audit
 * (it is never deleted) but nobody uses it; a locked one is still someone's account.
 */
static json_t *
in_use_json(const struct report_tally *t)
{
    IDL_ASSERT(t->total >= t->by_status[STATUS_DISABLED]);
    return count_json(t->total - t->by_status[STATUS_DISABLED]);
}

/* A row of the table: a school (or university, other unit), or a bureau's own staff. */
static json_t *
row_json(const struct report_business *b, const struct report_unit *u)
{
    bool unit =
        u->kind == ORG_KIND_SCHOOL || u->kind == ORG_KIND_UNIVERSITY || u->kind == ORG_KIND_OTHER;
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "city", unit_name(b, u->city),
                     "county", unit_name(b, u->county), "school", unit ? u->name : "(本级)", "code",
                     u->code, "kind", ledger_org_kind_name(u->kind), "count", in_use_json(&u->own),
                     "active", count_json(u->own.by_status[STATUS_ACTIVE]), "disabled",
                     count_json(u->own.by_status[STATUS_DISABLED]), "locked",
                     count_json(u->own.by_status[STATUS_LOCKED]));
}

/*
 * rows, counties (附件5 subtotals), cities (附件6 subtotals; for a province's report, "" first:
 * the province's own level, its units outside every city), roles.
 */
static void
business_tables(const struct report_business *b, json_t *out)
{
    json_t *rows = json_array(), *counties = json_array(), *cities = json_array(),
           *roles = json_array();
    if (b->units[0].kind == ORG_KIND_PROVINCE && b->any_outside_cities)
        json_array_append_new(
            cities, json_pack("{s:s, s:o}", "city", "", "count", in_use_json(&b->outside_cities)));
    for (size_t i = 0; i < b->n_units; i++) {
        const struct report_unit *u = &b->units[i];
        if (u->row)
            json_array_append_new(rows, row_json(b, u));
        if (u->kind == ORG_KIND_COUNTY)
            json_array_append_new(counties,
                                  json_pack("{s:s, s:s, s:o}", "city", unit_name(b, u->city),
                                            "county", u->name, "count", in_use_json(&u->tree)));
        if (u->kind == ORG_KIND_CITY)
            json_array_append_new(
                cities, json_pack("{s:s, s:o}", "city", u->name, "count", in_use_json(&u->tree)));
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
                  "kind", ledger_org_kind_name(top->kind), "total", in_use_json(&top->tree),
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
    char reason[200];
    report_due_reason(d, now_ms, reason, sizeof(reason));
    json_t *changes = json_array();
    for (unsigned bit = 1; bit & REPORT_CHANGE__ALL; bit <<= 1)
        if (d->changes & bit)
            json_array_append_new(changes, json_string(report_change_name(bit)));
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "account", d->account, "org",
                     d->org, "class", ledger_class_name(d->class), "post",
                     ledger_post_name(d->post), "status", ledger_status_name(d->status), "due",
                     d->why == REPORT_DUE_CHANGED ? "changed" : "interval", "changes", changes,
                     "reason", json_string(reason));
}

/* The last review recorded: {height, time, actor, note, basis}, or null if none. */
static json_t *
last_review_json(const struct rec_review *v)
{
    if (v->height == 0)
        return json_null();
    return json_pack("{s:o, s:o, s:s, s:s, s:o}", "height", count_json(v->height), "time",
                     count_json(v->time_ms), "actor", v->actor, "note", v->note, "basis",
                     hash_is_zero(v->basis) ? json_null() : api_hex(v->basis, HASH_BYTES));
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
        "{s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "org", rv.org, "last", last_review_json(&rv.last),
        "reviewed_height", count_json(rv.last.height), "reviewed_time", count_json(rv.last.time_ms),
        "interval_days", count_json(rv.interval_days), "as_of", count_json(rv.now_ms), "due", due);
    report_review_free(&rv);
    api_read_audit_org(r, "GET /v1/reports/review", NULL, org);
    api_reply(r, 200, out);
}

/* ---- audit export ---- */

#define AUDIT_PAGE_DEFAULT 1000
#define AUDIT_PAGE_MAX     10000

static bool
parse_height(const char *s, uint64_t *out)
{
    char *end;
    if (!s || s[0] < '0' || s[0] > '9')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno == ERANGE)
        return false;
    *out = v;
    return true;
}

/* The audit export as CSV, with a UTF-8 byte-order mark (so Excel reads it as UTF-8). */
static char *
audit_csv(const struct report_audit *a)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    fputs("\xEF\xBB\xBF"
          "height,time,type,actor,post,target,basis,status,reason\n",
          f);
    for (size_t i = 0; i < a->n; i++) {
        const struct report_audit_entry *x = &a->entries[i];
        char height[24], when[32], basis[2 * HASH_BYTES + 1] = "";
        snprintf(height, sizeof(height), "%llu", (unsigned long long)x->e.height);
        time_t t = (time_t)(x->e.time_ms / 1000);
        struct tm tm;
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        if (!hash_is_zero(x->e.basis))
            codec_hex_encode(basis, x->e.basis, HASH_BYTES);
        report_csv_field(f, height, false);
        report_csv_field(f, when, false);
        report_csv_field(f, ledger_tx_type_name(x->e.type), false);
        report_csv_field(f, x->e.actor, false);
        report_csv_field(f, ledger_post_name(x->post), false);
        report_csv_field(f, x->e.target, false);
        report_csv_field(f, basis, false);
        report_csv_field(f, ledger_tx_status_name(x->e.status), false);
        report_csv_field(f, x->reason ? x->reason : "", true);
    }
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

static json_t *
audit_entry_json(const struct report_audit_entry *x)
{
    return json_pack("{s:o, s:i, s:i, s:o, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s}", "height",
                     count_json(x->e.height), "index", (int)x->e.index, "record", (int)x->e.record,
                     "txid", api_hex(x->e.txid, HASH_BYTES), "type", ledger_tx_type_name(x->e.type),
                     "actor", x->e.actor, "post", ledger_post_name(x->post), "target", x->e.target,
                     "basis",
                     hash_is_zero(x->e.basis) ? json_null() : api_hex(x->e.basis, HASH_BYTES),
                     "time", count_json(x->e.time_ms), "status", ledger_tx_status_name(x->e.status),
                     "reason", x->reason ? x->reason : "");
}

/* The arguments of GET /v1/reports/audit; false with the reply set if one is wrong. */
static bool
audit_args(struct api_req *r, uint64_t *from, uint64_t *to, bool *csv, size_t *limit,
           struct report_audit_cursor *after, bool *resume)
{
    const char *f = api_param(r, "from_height"), *t = api_param(r, "to_height");
    const char *fmt = api_param(r, "format"), *lim = api_param(r, "limit");
    const char *aft = api_param(r, "after");
    uint64_t n = AUDIT_PAGE_DEFAULT;
    *from = 0;
    *to = 0;
    *csv = fmt && !strcmp(fmt, "csv");
    *resume = aft != NULL;
    if ((f && !parse_height(f, from)) || (t && !parse_height(t, to))) {
        api_error(r, 400, "malformed", "from_height and to_height must be heights");
        return false;
    }
    if (t && *to < *from) {
        api_error(r, 400, "malformed", "to_height %llu is below from_height %llu",
                  (unsigned long long)*to, (unsigned long long)*from);
        return false;
    }
    if (fmt && !*csv && strcmp(fmt, "json") != 0) {
        api_error(r, 400, "malformed", "format is json or csv");
        return false;
    }
    if (*csv && (lim || aft)) {
        api_error(r, 400, "malformed", "format=csv answers the whole range: no limit or after");
        return false;
    }
    if (lim && (!parse_height(lim, &n) || n == 0 || n > AUDIT_PAGE_MAX)) {
        api_error(r, 400, "malformed", "limit must be 1 to %d", AUDIT_PAGE_MAX);
        return false;
    }
    *limit = *csv ? REPORT_AUDIT_MAX : (size_t)n;
    char h[24] = "", i[24] = "", x[24] = "";
    uint64_t vh, vi, vx;
    if (aft &&
        (sscanf(aft, "%23[0-9].%23[0-9].%23[0-9]", h, i, x) != 3 || !parse_height(h, &vh) ||
         !parse_height(i, &vi) || !parse_height(x, &vx) || vi > UINT32_MAX || vx > UINT32_MAX)) {
        api_error(r, 400, "malformed", "after must be the next of a previous answer");
        return false;
    }
    if (aft)
        *after = (struct report_audit_cursor){vh, (uint32_t)vi, (uint32_t)vx};
    return true;
}

/*
 * GET /v1/reports/audit?org=C[&from_height=H][&to_height=H][&format=json|csv][&limit=N]
 * [&after=CURSOR]: the operations of C's sysadmin and secadmin (report_audit), for C's
 * auditor. JSON comes in pages ("next"); CSV is the whole range or, past REPORT_AUDIT_MAX
 * entries, a refusal: a file that looks whole must be whole.
 */
void
api_h_report_audit(struct api_req *r)
{
    const char *org = api_param(r, "org");
    uint64_t from, to;
    bool csv, resume;
    size_t limit;
    struct report_audit_cursor after;
    if (!org) {
        api_error(r, 400, "malformed", "the report needs org");
        return;
    }
    if (!audit_args(r, &from, &to, &csv, &limit, &after, &resume))
        return;
    struct report_audit a;
    idl_err rc =
        report_audit(ledger_store(r->n->ledger), org, from, to, resume ? &after : NULL, limit, &a);
    if (rc) {
        report_fail(r, org, rc);
    } else if (csv && a.more) {
        api_error(r, 413, "too_large",
                  "more than %d operations from height %llu to %llu: narrow from_height and "
                  "to_height, or page through format=json",
                  REPORT_AUDIT_MAX, (unsigned long long)from, (unsigned long long)to);
    } else if (csv) {
        char *text = audit_csv(&a);
        if (!text) {
            api_error(r, 500, "nomem", "out of memory");
        } else {
            r->status = 200;
            r->text = text;
            r->content_type = "text/csv; charset=utf-8";
        }
    } else {
        json_t *entries = json_array();
        for (size_t i = 0; i < a.n; i++)
            json_array_append_new(entries, audit_entry_json(&a.entries[i]));
        char next[64];
        snprintf(next, sizeof(next), "%llu.%u.%u", (unsigned long long)a.next.height, a.next.index,
                 a.next.record);
        api_reply(r, 200,
                  json_pack("{s:s, s:o, s:o, s:o, s:o}", "org", a.org, "from_height",
                            count_json(from), "to_height", to ? count_json(to) : json_null(),
                            "entries", entries, "next", a.more ? json_string(next) : json_null()));
    }
    report_audit_free(&a);
    if (r->status == 200)
        api_read_audit_org(r, "GET /v1/reports/audit", NULL, org);
}

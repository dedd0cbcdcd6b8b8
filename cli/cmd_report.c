/*
 * Reports: business accounts rolled up the tree in the shape of the seeds' tables (附件5
 * for a county, 附件6 for a city, the same columns for the province), the periodic access
 * review, and the audit export for auditors. Text, CSV or the API's JSON.
 *
 * CSV is what a spreadsheet opens: it starts with a UTF-8 byte-order mark, without which
 * Excel on a Chinese Windows reads UTF-8 as GBK and shows mojibake. Text tables pad by
 * display width (a CJK character takes two columns), not by bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "ledger/report.h"

#define CSV_BOM         "\xEF\xBB\xBF"
#define TABLE_COLS_MAX  4
#define AUDIT_PAGE_ROWS 10000 /* entries per request of the audit export */

static const char *
str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static long long
num(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

/* A CSV field on standard output (report_csv_field). */
static void
csv_field(const char *s, bool last)
{
    report_csv_field(stdout, s, last);
}

/*
 * Percent-encodes s for a query string into out (cap bytes, NUL-terminated; a value that
 * does not fit is cut at a whole escape). Everything but RFC 3986's unreserved characters
 * is escaped, so an option's value can never add or change a parameter.
 */
static void
url_escape(char *out, size_t cap, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 4 <= cap; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
}

/* ---- display width ---- */

/* The next code point of valid UTF-8 at *s (advanced past it). */
static uint32_t
utf8_next(const char **s)
{
    const unsigned char *p = (const unsigned char *)*s;
    uint32_t c = *p;
    size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (len > 1)
        c &= 0x7F >> len;
    for (size_t k = 1; k < len; k++) {
        if ((p[k] & 0xC0) != 0x80) { /* cut short (or the NUL): never run past it */
            len = k;
            break;
        }
        c = c << 6 | (p[k] & 0x3F);
    }
    *s += len;
    return c;
}

/*
 * The columns a terminal gives s: 2 for East Asian wide and full-width characters (CJK,
 * kana, Hangul, full-width forms, CJK punctuation), 0 for combining marks and zero-width
 * characters, 1 for the rest.
 */
static size_t
display_width(const char *s)
{
    static const uint32_t wide[][2] = {
        {0x1100, 0x115F},   {0x2E80, 0x303E}, {0x3041, 0x33FF}, {0x3400, 0x4DBF},
        {0x4E00, 0x9FFF},   {0xA000, 0xA4CF}, {0xAC00, 0xD7A3}, {0xF900, 0xFAFF},
        {0xFE30, 0xFE4F},   {0xFF00, 0xFF60}, {0xFFE0, 0xFFE6}, {0x20000, 0x2FFFD},
        {0x30000, 0x3FFFD},
    };
    size_t w = 0;
    while (*s) {
        uint32_t c = utf8_next(&s);
        if ((c >= 0x0300 && c <= 0x036F) || (c >= 0x200B && c <= 0x200F) ||
            (c >= 0xFE00 && c <= 0xFE0F) || c == 0xFEFF)
            continue;
        size_t add = 1;
        for (size_t i = 0; i < IDL_ARRAY_LEN(wide); i++)
            if (c >= wide[i][0] && c <= wide[i][1])
                add = 2;
        w += add;
    }
    return w;
}

/* Prints s padded with spaces to width columns (left-aligned, or right-aligned). */
static void
print_padded(const char *s, size_t width, bool right)
{
    size_t w = display_width(s);
    if (right)
        printf("%*s", (int)(width > w ? width - w : 0), "");
    fputs(s, stdout);
    if (!right)
        printf("%*s", (int)(width > w ? width - w : 0), "");
}

/*
 * A text table: rows of ncols cells (the last right-aligned: a count), columns as wide as
 * their widest cell, two spaces of indent and two between columns.
 */
struct table {
    size_t ncols, nrows, cap;
    const char *(*cell)[TABLE_COLS_MAX];
    char (*count)[24]; /* the last column's text, per row */
};

static void
table_add(struct table *t, const char *const *cells, long long count)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 32;
        void *c = realloc(t->cell, cap * sizeof(*t->cell));
        if (c)
            t->cell = c;
        void *n = c ? realloc(t->count, cap * sizeof(*t->count)) : NULL;
        if (n)
            t->count = n;
        if (!c || !n)
            return; /* out of memory: the row is left out of a text table */
        t->cap = cap;
    }
    for (size_t i = 0; i + 1 < t->ncols; i++)
        t->cell[t->nrows][i] = cells[i];
    snprintf(t->count[t->nrows], sizeof(*t->count), "%lld", count);
    t->cell[t->nrows][t->ncols - 1] = t->count[t->nrows];
    t->nrows++;
}

static void
table_print(struct table *t, const char *const *head)
{
    size_t width[TABLE_COLS_MAX] = {0};
    for (size_t c = 0; c < t->ncols; c++) {
        width[c] = display_width(head[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t w = display_width(t->cell[r][c]);
            width[c] = w > width[c] ? w : width[c];
        }
    }
    for (size_t r = 0; r <= t->nrows; r++) {
        const char *const *row = r == 0 ? head : t->cell[r - 1];
        fputs("  ", stdout);
        for (size_t c = 0; c < t->ncols; c++) {
            print_padded(row[c], width[c], c + 1 == t->ncols);
            fputs(c + 1 == t->ncols ? "\n" : "  ", stdout);
        }
    }
    free(t->cell);
    free(t->count);
}

/* ---- options ---- */

static int
format_of(struct cli *c, int *csv)
{
    const char *f = cli_get(c, "format");
    *csv = f && !strcmp(f, "csv");
    if (f && !*csv && strcmp(f, "json") && strcmp(f, "text"))
        return cli_usage(c, "--format is csv, json or text");
    if (f && !strcmp(f, "json"))
        c->json = true;
    return EXIT_OK_;
}

/* --org, required, escaped for the query string into org_q. */
static int
org_of(struct cli *c, const char **org, char *org_q, size_t cap)
{
    *org = cli_get(c, "org");
    if (!*org || !**org)
        return cli_usage(c, "--org C is required");
    if (strlen(*org) * 3 + 1 > cap)
        return cli_usage(c, "--org must be an organisation code");
    url_escape(org_q, cap, *org);
    return EXIT_OK_;
}

/* ---- business accounts ---- */

/* The count column's header: what is counted, said where the reader looks. */
#define COUNT_HEAD_ZH "业务类用户数量（在用，不含停用）"

static void
business_csv(json_t *r)
{
    bool county = !strcmp(str(r, "kind"), "county");
    /* 附件5 (county): 县, 学校, 数量; 附件6 (city) and the province: 市, 县, 学校, 数量. */
    fputs(CSV_BOM, stdout);
    if (county)
        printf("县（市、区）名称,学校名称," COUNT_HEAD_ZH "\n");
    else
        printf("市（州）名称,县（市、区）名称,学校名称," COUNT_HEAD_ZH "\n");
    size_t i;
    json_t *row;
    char count[32];
    json_array_foreach(json_object_get(r, "rows"), i, row)
    {
        snprintf(count, sizeof(count), "%lld", num(row, "count"));
        if (!county)
            csv_field(str(row, "city"), false);
        csv_field(str(row, "county"), false);
        csv_field(str(row, "school"), false);
        csv_field(count, true);
    }
    snprintf(count, sizeof(count), "%lld", num(r, "total"));
    if (!county)
        csv_field("合计", false);
    csv_field(county ? "合计" : "", false);
    csv_field("", false);
    csv_field(count, true);
}

static void
business_text(json_t *r)
{
    bool county = !strcmp(str(r, "kind"), "county");
    printf("business accounts in use at %s %s and below: %lld (active %lld, locked %lld; "
           "not counted: %lld disabled)\n",
           str(r, "org"), str(r, "name"), num(r, "total"), num(r, "active"), num(r, "locked"),
           num(r, "disabled"));
    struct table t = {.ncols = county ? 3 : 4};
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(r, "rows"), i, row)
    {
        const char *cells[] = {str(row, "city"), str(row, "county"), str(row, "school")};
        table_add(&t, county ? cells + 1 : cells, num(row, "count"));
    }
    static const char *const head[] = {"市（州）", "县（市、区）", "学校", "数量"};
    table_print(&t, county ? head + 1 : head);
    json_array_foreach(json_object_get(r, "counties"), i, row)
        printf("  county %s%s%s: %lld\n", str(row, "city"), *str(row, "city") ? "/" : "",
               str(row, "county"), num(row, "count"));
    json_array_foreach(json_object_get(r, "cities"), i, row)
        printf("  city %s: %lld\n", *str(row, "city") ? str(row, "city") : "(province level)",
               num(row, "count"));
    json_array_foreach(json_object_get(r, "roles"), i, row)
        printf("  role %s/%s: %lld\n", str(row, "system"), str(row, "role"), num(row, "count"));
}

static int
cmd_report_business(struct cli *c)
{
    int csv;
    const char *org;
    char org_q[3 * 64 + 1], path[256];
    int rc = format_of(c, &csv);
    if (!rc)
        rc = org_of(c, &org, org_q, sizeof(org_q));
    if (rc)
        return rc;
    snprintf(path, sizeof(path), "/v1/reports/business-accounts?org=%s", org_q);
    json_t *r;
    if ((rc = cli_query(c, path, &r)) != EXIT_OK_)
        return rc;
    if (c->json)
        cli_print_json(r);
    else if (csv)
        business_csv(r);
    else
        business_text(r);
    json_decref(r);
    return EXIT_OK_;
}

/* ---- access review ---- */

/* "2026-03-01 08:00 UTC" from Unix milliseconds. */
static void
when_text(char *out, size_t n, long long ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    strftime(out, n, "%Y-%m-%d %H:%M UTC", gmtime_r(&t, &tm));
}

static void
review_csv(json_t *r)
{
    fputs(CSV_BOM, stdout);
    printf("account,org,class,post,status,due,changes,reason\n");
    size_t i, k;
    json_t *d, *ch;
    json_array_foreach(json_object_get(r, "due"), i, d)
    {
        char changes[128] = "";
        size_t n = 0;
        json_array_foreach(json_object_get(d, "changes"), k, ch)
        {
            if (n < sizeof(changes))
                n += (size_t)snprintf(changes + n, sizeof(changes) - n, "%s%s", n ? ";" : "",
                                      json_string_value(ch) ? json_string_value(ch) : "");
        }
        csv_field(str(d, "account"), false);
        csv_field(str(d, "org"), false);
        csv_field(str(d, "class"), false);
        csv_field(str(d, "post"), false);
        csv_field(str(d, "status"), false);
        csv_field(str(d, "due"), false);
        csv_field(changes, false);
        csv_field(str(d, "reason"), true);
    }
}

static void
review_text(json_t *r)
{
    json_t *last = json_object_get(r, "last");
    size_t n = json_array_size(json_object_get(r, "due"));
    printf("access review of %s: ", str(r, "org"));
    if (json_is_object(last)) {
        char when[40];
        when_text(when, sizeof(when), num(last, "time"));
        printf("last reviewed at height %lld (%s) by %s, note \"%s\"", num(last, "height"), when,
               str(last, "actor"), str(last, "note"));
    } else {
        printf("never reviewed");
    }
    printf("; %zu account%s due (interval %lld days)\n", n, n == 1 ? "" : "s",
           num(r, "interval_days"));
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(r, "due"), i, d)
        printf("  %-24s %-12s %-10s %s\n", str(d, "account"), str(d, "org"), str(d, "class"),
               str(d, "reason"));
}

static int
cmd_report_review(struct cli *c)
{
    int csv;
    const char *org;
    char org_q[3 * 64 + 1], path[256];
    int rc = format_of(c, &csv);
    if (!rc)
        rc = org_of(c, &org, org_q, sizeof(org_q));
    if (rc)
        return rc;
    snprintf(path, sizeof(path), "/v1/reports/review?org=%s", org_q);
    json_t *r;
    if ((rc = cli_query(c, path, &r)) != EXIT_OK_)
        return rc;
    if (c->json)
        cli_print_json(r);
    else if (csv)
        review_csv(r);
    else
        review_text(r);
    json_decref(r);
    return EXIT_OK_;
}

/* ---- audit export ---- */

static void
export_row(json_t *e, bool csv)
{
    char height[32], when[40];
    time_t t = (time_t)(num(e, "time") / 1000);
    struct tm tm;
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    snprintf(height, sizeof(height), "%lld", num(e, "height"));
    const char *basis = json_is_string(json_object_get(e, "basis")) ? str(e, "basis") : "";
    if (!csv) {
        printf("%s %s %-22s %-16s %-8s -> %-24s %s %s%s%s\n", height, when, str(e, "type"),
               str(e, "actor"), str(e, "post"), str(e, "target"), str(e, "status"), basis,
               *str(e, "reason") ? " " : "", str(e, "reason"));
        return;
    }
    csv_field(height, false);
    csv_field(when, false);
    csv_field(str(e, "type"), false);
    csv_field(str(e, "actor"), false);
    csv_field(str(e, "post"), false);
    csv_field(str(e, "target"), false);
    csv_field(basis, false);
    csv_field(str(e, "status"), false);
    csv_field(str(e, "reason"), true);
}

/* A height option: digits only, no more than a u64 holds. */
static int
height_opt(struct cli *c, const char *name, unsigned long long *v, bool *given)
{
    const char *s = cli_get(c, name);
    char *end = NULL;
    *given = s != NULL;
    *v = 0;
    if (!s)
        return EXIT_OK_;
    errno = 0;
    if (s[0] >= '0' && s[0] <= '9')
        *v = strtoull(s, &end, 10);
    if (!end || *end || errno == ERANGE)
        return cli_usage(c, "--%s must be a height (a block number: 0, 1, 2, ...)", name);
    return EXIT_OK_;
}

/* Every page of GET /v1/reports/audit for org_q in [from, to] into *all. */
static int
audit_fetch(struct cli *c, const char *org_q, unsigned long long from, bool has_to,
            unsigned long long to, json_t *all)
{
    char after[64] = "", after_q[3 * 64 + 1] = "";
    for (;;) {
        char path[512], to_q[40] = "";
        if (has_to)
            snprintf(to_q, sizeof(to_q), "&to_height=%llu", to);
        url_escape(after_q, sizeof(after_q), after);
        snprintf(path, sizeof(path), "/v1/reports/audit?org=%s&from_height=%llu%s&limit=%d%s%s",
                 org_q, from, to_q, AUDIT_PAGE_ROWS, after[0] ? "&after=" : "", after_q);
        json_t *r;
        int rc = cli_query(c, path, &r);
        if (rc)
            return rc;
        json_array_extend(all, json_object_get(r, "entries"));
        const char *next = json_string_value(json_object_get(r, "next"));
        snprintf(after, sizeof(after), "%s", next ? next : "");
        json_decref(r);
        if (!after[0])
            return EXIT_OK_;
    }
}

static int
cmd_audit_export(struct cli *c)
{
    int csv;
    const char *org;
    char org_q[3 * 64 + 1];
    unsigned long long from, to;
    bool has_from, has_to;
    int rc = format_of(c, &csv);
    if (!rc)
        rc = org_of(c, &org, org_q, sizeof(org_q));
    if (!rc)
        rc = height_opt(c, "from", &from, &has_from);
    if (!rc)
        rc = height_opt(c, "to", &to, &has_to);
    if (!rc && has_to && to < from)
        rc = cli_usage(c, "--from %llu is above --to %llu: no height lies between", from, to);
    if (rc)
        return rc;
    json_t *all = json_array();
    if (!all)
        return cli_fail(c, EXIT_USAGE, "out of memory");
    if ((rc = audit_fetch(c, org_q, from, has_to, to, all)) != EXIT_OK_) {
        json_decref(all);
        return rc;
    }
    if (c->json) {
        json_t *out = json_pack("{s:s, s:I, s:o, s:O}", "org", org, "from_height", (json_int_t)from,
                                "to_height", has_to ? json_integer((json_int_t)to) : json_null(),
                                "entries", all);
        cli_print_json(out);
        json_decref(out);
    } else {
        if (csv)
            printf(CSV_BOM "height,time,type,actor,post,target,basis,status,reason\n");
        size_t i;
        json_t *e;
        json_array_foreach(all, i, e) export_row(e, csv);
    }
    json_decref(all);
    return EXIT_OK_;
}

const struct cli_command cli_report_commands[] = {
    {"report business-accounts", "org=,format=", 0, cmd_report_business,
     "--org C [--format csv|json|text]",
     "Business accounts in use (disabled ones are not counted) per school, rolled up county\n"
     "-> city -> province: the shape of the seeds' tables (附件5 for a county, 附件6 for a\n"
     "city). City-run schools count under their city, universities and province-run schools\n"
     "under the province, each level's own units before the levels below; a bureau's own\n"
     "staff are a row of their own. Also active/locked/disabled counts and accounts per\n"
     "role. CSV starts with a UTF-8 byte-order mark, for Excel.\n\n"
     "example:\n  idledger report business-accounts --org 440100 --format csv > 附件6.csv\n"},
    {"report review", "org=,format=", 0, cmd_report_review, "--org C [--format csv|json|text]",
     "The periodic access review (定期核查): accounts of C (and of schools that delegated to\n"
     "C) not reviewed within the chain's interval, or changed since C's last review, with\n"
     "what changed (created, post, status, grant, contact, password, legacy). Close a\n"
     "review with `idledger review record --org C --note TEXT --basis FORM`.\n\n"
     "example:\n  idledger report review --org 440106\n"},
    {"audit export", "org=,from=,to=,format=", 0, cmd_audit_export,
     "--org C [--from HEIGHT] [--to HEIGHT] [--format csv|json|text]",
     "Every operation of C's sysadmin and secadmin from height --from to --to (both\n"
     "included): height, time, type, actor, post, target, form hash, outcome and the reason\n"
     "of a refusal. For C's auditor. The same as GET /v1/reports/audit.\n\nexample:\n"
     "  idledger audit export --org 440100 --from 1 --to 5000 --format csv > audit.csv\n"},
};
const size_t cli_report_ncommands = IDL_ARRAY_LEN(cli_report_commands);

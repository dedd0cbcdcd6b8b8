/*
 * Reports: business accounts rolled up the tree in the shape of the seeds' tables (附件5
 * for a county, 附件6 for a city, the same columns for the province), the periodic access
 * review, and the audit export for auditors. Text, CSV or the API's JSON.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

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

/* A CSV field, quoted when it must be (RFC 4180). */
static void
csv_field(const char *s, bool last)
{
    if (strpbrk(s, ",\"\r\n")) {
        putchar('"');
        for (; *s; s++) {
            if (*s == '"')
                putchar('"');
            putchar(*s);
        }
        putchar('"');
    } else {
        fputs(s, stdout);
    }
    putchar(last ? '\n' : ',');
}

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

static void
business_csv(json_t *r)
{
    bool county = !strcmp(str(r, "kind"), "county");
    /* 附件5 (county): 县, 学校, 数量; 附件6 (city) and the province: 市, 县, 学校, 数量. */
    if (county)
        printf("县（市、区）名称,学校名称,业务类用户数量\n");
    else
        printf("市（州）名称,县（市、区）名称,学校名称,业务类用户数量\n");
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
    printf("business accounts of %s %s: %lld (active %lld, disabled %lld, locked %lld)\n",
           str(r, "org"), str(r, "name"), num(r, "total"), num(r, "active"), num(r, "disabled"),
           num(r, "locked"));
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(r, "rows"), i, row)
        printf("  %-12s %-14s %-24s %6lld\n", str(row, "city"), str(row, "county"),
               str(row, "school"), num(row, "count"));
    json_array_foreach(json_object_get(r, "counties"), i, row)
        printf("  county %s/%s: %lld\n", str(row, "city"), str(row, "county"), num(row, "count"));
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
    int rc = format_of(c, &csv);
    const char *org = cli_get(c, "org");
    if (!rc && !org)
        rc = cli_usage(c, "--org C is required");
    if (rc)
        return rc;
    char path[128];
    snprintf(path, sizeof(path), "/v1/reports/business-accounts?org=%.32s", org);
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

static int
cmd_report_review(struct cli *c)
{
    int csv;
    int rc = format_of(c, &csv);
    const char *org = cli_get(c, "org");
    if (!rc && !org)
        rc = cli_usage(c, "--org C is required");
    if (rc)
        return rc;
    char path[128];
    snprintf(path, sizeof(path), "/v1/reports/review?org=%.32s", org);
    json_t *r;
    if ((rc = cli_query(c, path, &r)) != EXIT_OK_)
        return rc;
    size_t i;
    json_t *d;
    if (c->json) {
        cli_print_json(r);
    } else if (csv) {
        printf("account,org,class,post,status,reason\n");
        json_array_foreach(json_object_get(r, "due"), i, d)
        {
            csv_field(str(d, "account"), false);
            csv_field(str(d, "org"), false);
            csv_field(str(d, "class"), false);
            csv_field(str(d, "post"), false);
            csv_field(str(d, "status"), false);
            csv_field(str(d, "reason"), true);
        }
    } else {
        printf("access review of %s: last at height %lld; %zu accounts due (interval %lld "
               "days)\n",
               str(r, "org"), num(r, "reviewed_height"), json_array_size(json_object_get(r, "due")),
               num(r, "interval_days"));
        json_array_foreach(json_object_get(r, "due"), i, d)
            printf("  %-24s %-12s %-10s %s\n", str(d, "account"), str(d, "org"), str(d, "class"),
                   str(d, "reason"));
    }
    json_decref(r);
    return EXIT_OK_;
}

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
        printf("%s %s %-22s %-16s -> %-24s %s %s%s%s\n", height, when, str(e, "type"),
               str(e, "actor"), str(e, "target"), str(e, "status"), basis,
               *str(e, "reason") ? " " : "", str(e, "reason"));
        return;
    }
    csv_field(height, false);
    csv_field(when, false);
    csv_field(str(e, "type"), false);
    csv_field(str(e, "actor"), false);
    csv_field(str(e, "target"), false);
    csv_field(basis, false);
    csv_field(str(e, "status"), false);
    csv_field(str(e, "reason"), true);
}

static int
cmd_audit_export(struct cli *c)
{
    int csv;
    int rc = format_of(c, &csv);
    const char *org = cli_get(c, "org"), *from = cli_get(c, "from"), *to = cli_get(c, "to");
    if (!rc && !org)
        rc = cli_usage(c, "--org C is required");
    if (rc)
        return rc;
    json_t *all = json_array();
    char after[64] = "";
    /* Page through the log: every operation of C's sysadmin and secadmin in [from, to]. */
    for (;;) {
        char path[384];
        snprintf(path, sizeof(path),
                 "/v1/audit?org=%.32s&posts=sysadmin,secadmin&limit=1000%s%.20s%s%.20s%s%s",
                 org, from ? "&since_height=" : "", from ? from : "", to ? "&to_height=" : "",
                 to ? to : "", after[0] ? "&after=" : "", after);
        json_t *r;
        if ((rc = cli_query(c, path, &r)) != EXIT_OK_) {
            json_decref(all);
            return rc;
        }
        json_array_extend(all, json_object_get(r, "entries"));
        const char *next = json_string_value(json_object_get(r, "next"));
        snprintf(after, sizeof(after), "%s", next ? next : "");
        json_decref(r);
        if (!after[0])
            break;
    }
    if (c->json) {
        json_t *out = json_pack("{s:s, s:O}", "org", org, "entries", all);
        cli_print_json(out);
        json_decref(out);
    } else {
        if (csv)
            printf("height,time,type,actor,target,basis,status,reason\n");
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
     "Business accounts per school, rolled up county -> city -> province: the shape of the\n"
     "seeds' tables (附件5 for a county, 附件6 for a city). City-run schools count under their\n"
     "city, universities and province-run schools under the province; a bureau's own staff\n"
     "are a row of their own. Also active/disabled counts and accounts per role.\n\n"
     "example:\n  idledger report business-accounts --org 440100 --format csv > 附件6.csv\n"},
    {"report review", "org=,format=", 0, cmd_report_review, "--org C [--format csv|json|text]",
     "The periodic access review (定期核查): accounts of C (and of schools that delegated to\n"
     "C) not reviewed within the chain's interval, or changed since C's last review. Close a\n"
     "review with `idledger review record`.\n\nexample:\n  idledger report review --org 440106\n"},
    {"audit export", "org=,from=,to=,format=", 0, cmd_audit_export,
     "--org C [--from HEIGHT] [--to HEIGHT] [--format csv|json|text]",
     "Every operation of C's sysadmin and secadmin: height, time, type, actor, target, form\n"
     "hash, outcome. For auditors.\n\nexample:\n"
     "  idledger audit export --org 440100 --from 1 --to 5000 --format csv > audit.csv\n"},
};
const size_t cli_report_ncommands = IDL_ARRAY_LEN(cli_report_commands);

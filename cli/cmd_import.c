/*
 * idledger import: bulk onboarding of business accounts from the applicant spreadsheet
 * (用户CA信息电子表格模板, DOMAIN.md §5) saved as CSV.
 *
 * Method: one pass over the file (import_read.c), a chunk of --batch rows at a time.
 *   1. The header row names the columns, in Chinese or English.
 *   2. Each row is checked here with the ledger's own validators: its unit is resolved in
 *      the organisation tree below --org (fetched once) and must be one whose business
 *      accounts the signer creates; ID number, contacts, user type and school type must be
 *      valid; a repeat of an earlier row (same person at the same unit) is refused.
 *   3. A full chunk goes to a sealer thread, which has the node seal it (POST
 *      /v1/persons/seal-batch) and, for each person the node says is already registered,
 *      asks which business account they hold at the row's unit (POST /v1/realname/check,
 *      and GET /v1/accounts/{id} for accounts that are not ours by name). Two sealers work
 *      ahead of the main thread, so the node seals one chunk while it admits the previous
 *      one's transaction: both of its cores stay busy.
 *   4. The main thread takes the sealed chunks back in file order, turns them into
 *      account.batch-add transactions (split if one would pass the size bound), signs each
 *      with the next nonce and submits it at once (POST /v1/txs).
 *   5. Each transaction's outcome is taken in order, as it commits (and at the end, waited
 *      for), and its refused records are mapped back to their rows. A transaction the node
 *      dropped without applying it (another transaction of the signer took its nonce) is
 *      signed again with a fresh nonce and sent again; so each is kept, encoded, until it
 *      settles, at most UNSETTLED_MAX of them.
 * Refusals are kept as (row, reason) and printed in row order at the end. No personal data
 * outlives its chunk; the duplicate check keeps keyed 64-bit hashes of the normalised ID
 * numbers (SipHash under a key drawn for this run), never the numbers.
 *
 * Idempotence: account ids are derived, "<unit code>-<8 hex>-<8 hex>" from 64 bits of the
 * person key (the keyed hash of the ID number), so a person has one id per unit. A row whose
 * person already holds a business account at its unit (the derived one, or one created by
 * hand) is reported as already on the chain and never sent: running a file twice submits
 * nothing the second time; one whose account there is disabled is reported as such, not as
 * done. Two imports racing each other are settled by the ledger, which refuses an id that
 * exists; those rows are reported as already on the chain too.
 */
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/http.h"
#include "cli/import_read.h"
#include "ledger/codec.h"
#include "ledger/idnum.h"
#include "ledger/ledger.h"
#include "ledger/person.h"
#include "ledger/schema.h"

#define KEY_PREFIX_BYTES 8      /* of the person key in a derived account id */
#define ORGS_MAX         100000 /* organisations below --org that the import will look at */
#define REASON_MAX       700
#define TITLE_ROWS_MAX   10            /* rows above the header (titles, notes) passed over */
#define SEALERS          2             /* sealer threads: the node seals on as many cores */
#define IN_FLIGHT        (SEALERS + 1) /* chunks between the reader and the submitter */
#define NONCE_TRIES      8  /* nonces one submission tries (another import by the signer) */
#define RESENDS_MAX      8  /* re-signings of a transaction that was never applied */
#define UNSETTLED_MAX    32 /* transactions sent and kept (encoded) until they settle */
/* What a transaction may spend on records: the bound less room for the envelope. */
#define TX_RECORDS_BYTES_MAX (LEDGER_TX_BYTES_MAX - 1024)

/* "<code>-xxxxxxxx-xxxxxxxx": the groups keep runs of digits under the ledger's 11. */
_Static_assert(LEDGER_CODE_MAX + 2 + 2 * KEY_PREFIX_BYTES + 1 <= LEDGER_ID_MAX,
               "a derived account id fits");

/* ---- the template's columns ---- */

enum col {
    COL_UNIT,
    COL_NAME,
    COL_ID,
    COL_OFFICE,
    COL_EMAIL,
    COL_MOBILE,
    COL_SCHOOL,
    COL_USER,
    COL_ADDRESS,
    COL__COUNT
};

static const struct column {
    const char *label;   /* in messages */
    const char *aliases; /* header names as header_key() leaves them, '|'-separated */
    bool required;       /* seed 004: all but 办学类型 (and notes) are required */
} columns[COL__COUNT] = {
    [COL_UNIT] = {"unit name (单位名称)",
                  "单位名称|申请人单位名称|单位|unit|unitname|organisation|organization", true},
    [COL_NAME] = {"name (姓名)", "姓名|name", true},
    [COL_ID] = {"ID number (身份证号码)", "身份证号|身份证号码|身份证|idnumber|id", true},
    [COL_OFFICE] = {"office phone (办公电话)", "办公电话|officephone", true},
    [COL_EMAIL] = {"e-mail (电子邮箱)", "电子邮箱|邮箱|电子邮件|email", true},
    [COL_MOBILE] = {"mobile (手机号码)", "手机号码|手机号|手机|mobile|mobilephone", true},
    [COL_SCHOOL] = {"school type (办学类型)", "办学类型|schooltype", false},
    [COL_USER] = {"user type (用户类型)", "用户类型|usertype", true},
    [COL_ADDRESS] = {"unit address (单位通讯地址)",
                     "单位通讯地址|单位地址|通讯地址|地址|address|unitaddress", true},
};

/* The person fields of the seal request, with their columns. */
static const struct {
    enum col col;
    unsigned field;
} person_cols[] = {{COL_NAME, PF_NAME},
                   {COL_MOBILE, PF_MOBILE},
                   {COL_EMAIL, PF_EMAIL},
                   {COL_OFFICE, PF_OFFICE_PHONE},
                   {COL_ADDRESS, PF_ADDRESS}};

/* ---- state of one run ---- */

struct org {
    char code[LEDGER_CODE_MAX + 1];
    char name[LEDGER_NAME_MAX + 1];
    char key[LEDGER_NAME_MAX + 1]; /* the name as matched (name_key) */
    uint8_t kind;
    bool disabled; /* it has disabled business accounts: look at each account's status */
    int reach;     /* its number among the units whose business accounts --org creates, or -1 */
};

struct tree {
    struct org *v;
    size_t n, cap, nreach;
    const struct org **by_code, **by_name; /* sorted, once loaded */
};

/* Normalised ID numbers seen, keyed by a 64-bit SipHash under a key of this run. */
struct seen_entry {
    uint64_t h;    /* 0: empty */
    uint32_t row;  /* the first row with this person at this unit */
    uint32_t name; /* 32 bits of the name's hash: a differing name is caught */
    uint16_t unit; /* org reach number */
};

struct seen {
    struct seen_entry *v;
    size_t n, cap; /* cap a power of two, at most half full */
    uint8_t key[crypto_shorthash_KEYBYTES];
};

/* Distinct refusal reasons (rows point at them; few distinct ones, many rows). */
struct reasons {
    char **text;
    size_t n, cap;
    uint32_t *slot; /* index + 1; 0 empty */
    size_t nslot;
};

enum out_kind {
    OUT_REFUSED,
    OUT_DUPLICATE,
    OUT_OTHER_NAME,
    OUT_ALREADY,     /* the derived account is on the chain, in use */
    OUT_HAS_ACCOUNT, /* another business account of the person at the unit, in use */
    OUT_DISABLED,    /* the person's account at the unit is disabled: restore it */
    OUT_NOT_SENT,    /* its transaction was never applied: run the import again */
};

/* What became of a row that was not imported now. */
struct outcome {
    uint32_t row;
    /* REFUSED, NOT_SENT, HAS_ACCOUNT, DISABLED: interned text (reason, account id);
     * DUPLICATE, OTHER_NAME: the earlier row; ALREADY: the org's index. */
    uint32_t arg;
    uint8_t kind;
    uint8_t key[KEY_PREFIX_BYTES]; /* ALREADY: the derived id's person-key part */
};

/* A row that went into a transaction, by record. */
struct sent {
    uint32_t row;
    uint32_t org;
    uint8_t key[KEY_PREFIX_BYTES];
};

/*
 * A transaction sent. Until it settles, raw keeps it as signed, so that one the node never
 * applied (dropped from the pool because another transaction of the signer took its
 * nonce: another import running at once) can be signed again with a fresh nonce.
 */
struct pending {
    char txid[2 * HASH_BYTES + 1];
    size_t first, count; /* its records: sent[first .. first + count) */
    struct idl_bytes raw;
    unsigned resent;
};

struct chunk_row {
    uint32_t row;
    uint32_t org;
};

/*
 * Rows on their way to the node. The main thread fills persons and rows; a sealer fills
 * results (one answer per row, with "existing": ID added for a person who already holds a
 * business account at the row's unit), or rc and why; done is set under the pipeline's
 * lock, after which the main thread owns the chunk again.
 */
struct chunk {
    json_t *persons; /* seal requests: personal data */
    struct chunk_row rows[LEDGER_BATCH_MAX];
    size_t n;
    json_t *results;
    int rc;
    char why[512];
    bool done;
};

/*
 * Chunks in flight, in file order: ring[head .. head + count). The first `taken` were
 * claimed by sealers; the main thread pushes at the tail and pops the head once done.
 */
struct pipeline {
    pthread_mutex_t mu;
    pthread_cond_t work;   /* to sealers: a chunk was pushed, or stop */
    pthread_cond_t sealed; /* to the main thread: a chunk is done */
    struct chunk *ring[IN_FLIGHT];
    size_t head, count, taken;
    bool stop, cancel;
    pthread_t thread[SEALERS];
    size_t nthreads;
};

struct importer {
    struct cli *c;
    const char *org_code;
    const char *encoding; /* --encoding: "UTF-8", "GB18030", or NULL to decide */
    unsigned batch;
    struct wallet_key *key;
    struct ledger_tx tmpl; /* chain, actor, basis and the next nonce */
    struct tree tree;
    int col[COL__COUNT]; /* field index of each column, -1 if absent */
    bool have_header;
    struct seen seen;
    struct reasons reasons;
    struct outcome *out;
    size_t nout, capout;
    struct sent *sent;
    size_t nsent, capsent;
    struct pending *txs;
    size_t ntx, captx, nsettled; /* txs[0 .. nsettled) have settled */
    struct chunk *cur;           /* the chunk being filled */
    struct pipeline pipe;
    bool pipe_ready;
    /* The transaction being filled. */
    struct ledger_tx tx;
    size_t tx_bytes, tx_first;
    uint32_t rows, last_row;
    uint64_t imported, refused, already, disabled, unsent;
    uint64_t resent; /* transactions signed again after the pool dropped them */
    int rc;          /* the first fatal exit code; nothing more is done once set */
    double t_seal, t_submit, t_commit;
    bool progress;
};

static double
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* v, or a larger copy with room for element n; NULL if out of memory (v is kept). */
static void *
grow(void *v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return v;
    size_t cap2 = *cap ? *cap * 2 : 256;
    void *p = realloc(v, cap2 * size);
    if (p)
        *cap = cap2;
    return p;
}

/* Records a fatal error (the first one wins) and returns the exit code now in force. */
static int
fatal(struct importer *im, int code, const char *why)
{
    if (!im->rc) {
        if (im->progress)
            fprintf(stderr, "\r\033[K");
        im->rc = cli_fail(im->c, code, "%s", why);
    }
    return im->rc;
}

/* ---- outcomes ---- */

static uint32_t
fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* The number of text s, interned; UINT32_MAX if out of memory. */
static uint32_t
reason_id(struct reasons *r, const char *s)
{
    if (2 * (r->n + 1) > r->nslot) {
        size_t nslot = r->nslot ? 2 * r->nslot : 64;
        uint32_t *slot = calloc(nslot, sizeof(*slot));
        if (!slot)
            return UINT32_MAX;
        for (size_t i = 0; i < r->n; i++) {
            size_t j = fnv1a(r->text[i]) & (nslot - 1);
            while (slot[j])
                j = (j + 1) & (nslot - 1);
            slot[j] = (uint32_t)i + 1;
        }
        free(r->slot);
        r->slot = slot;
        r->nslot = nslot;
    }
    size_t j = fnv1a(s) & (r->nslot - 1);
    for (; r->slot[j]; j = (j + 1) & (r->nslot - 1))
        if (!strcmp(r->text[r->slot[j] - 1], s))
            return r->slot[j] - 1;
    char **text = grow(r->text, &r->cap, r->n, sizeof(*text));
    char *copy = text ? strdup(s) : NULL;
    if (text)
        r->text = text;
    if (!copy)
        return UINT32_MAX;
    r->text[r->n] = copy;
    r->slot[j] = (uint32_t)++r->n;
    return (uint32_t)r->n - 1;
}

static void
outcome_add(struct importer *im, uint32_t row, enum out_kind kind, uint32_t arg, const uint8_t *key)
{
    struct outcome *p = grow(im->out, &im->capout, im->nout, sizeof(*p));
    if (!p || arg == UINT32_MAX) {
        fatal(im, EXIT_USAGE, "out of memory");
        return;
    }
    im->out = p;
    struct outcome *o = &p[im->nout++];
    memset(o, 0, sizeof(*o));
    o->row = row;
    o->kind = (uint8_t)kind;
    o->arg = arg;
    if (key)
        memcpy(o->key, key, KEY_PREFIX_BYTES);
    if (kind == OUT_ALREADY || kind == OUT_HAS_ACCOUNT)
        im->already++;
    else if (kind == OUT_DISABLED)
        im->disabled++;
    else if (kind == OUT_NOT_SENT)
        im->unsent++;
    else
        im->refused++;
}

static void
refuse(struct importer *im, uint32_t row, const char *why)
{
    outcome_add(im, row, OUT_REFUSED, reason_id(&im->reasons, why), NULL);
}

/* Appends "; " and a formatted sentence to a reason being built. */
__attribute__((format(printf, 2, 3))) static void
because(char why[REASON_MAX], const char *fmt, ...)
{
    size_t n = strlen(why);
    if (n && n + 2 < REASON_MAX)
        n += (size_t)snprintf(why + n, REASON_MAX - n, "; ");
    va_list ap;
    va_start(ap, fmt);
    if (n < REASON_MAX)
        vsnprintf(why + n, REASON_MAX - n, fmt, ap);
    va_end(ap);
}

/* ---- the organisation tree below --org ---- */

/*
 * The name as matched: without blanks (ASCII and ideographic spaces), with full-width
 * parentheses as ASCII ones, so "第一小学（南校区）" and "第一小学 (南校区)" are one name.
 */
static void
name_key(char *out, size_t cap, const char *in)
{
    size_t o = 0;
    while (*in && o + 1 < cap) {
        if (*in == ' ' || *in == '\t') {
            in++;
        } else if (!strncmp(in, "\xE3\x80\x80", 3)) {
            in += 3;
        } else if (!strncmp(in, "（", strlen("（")) || !strncmp(in, "）", strlen("）"))) {
            out[o++] = !strncmp(in, "（", strlen("（")) ? '(' : ')';
            in += strlen("（");
        } else {
            out[o++] = *in++;
        }
    }
    out[o] = '\0';
}

static int
org_cmp_code(const void *a, const void *b)
{
    return strcmp((*(const struct org *const *)a)->code, (*(const struct org *const *)b)->code);
}

static int
org_cmp_name(const void *a, const void *b)
{
    return strcmp((*(const struct org *const *)a)->key, (*(const struct org *const *)b)->key);
}

/* Appends an organisation (from a children list or the root's answer). */
static int
tree_push(struct importer *im, json_t *o)
{
    struct tree *t = &im->tree;
    if (t->n == ORGS_MAX)
        return fatal(im, EXIT_USAGE, "more than 100000 organisations below --org");
    struct org *v = grow(t->v, &t->cap, t->n, sizeof(*v));
    if (!v)
        return fatal(im, EXIT_USAGE, "out of memory");
    t->v = v;
    struct org *g = &v[t->n++];
    memset(g, 0, sizeof(*g));
    const char *code = json_string_value(json_object_get(o, "code"));
    const char *name = json_string_value(json_object_get(o, "name"));
    snprintf(g->code, sizeof(g->code), "%s", code ? code : "");
    snprintf(g->name, sizeof(g->name), "%s", name ? name : "");
    name_key(g->key, sizeof(g->key), g->name);
    g->kind = (uint8_t)ledger_org_kind_parse(json_string_value(json_object_get(o, "kind")));
    g->reach = -1;
    return EXIT_OK_;
}

/*
 * Takes in org i from its GET /v1/orgs/{code} answer: whether the signer's organisation
 * creates its business accounts (it is --org and has not delegated them, or a child of
 * --org that delegated them to it: the ledger's rules_business_manager), and its children.
 */
static int
tree_take(struct importer *im, size_t i, json_t *o)
{
    const char *parent = json_string_value(json_object_get(o, "parent"));
    bool delegated = json_is_true(json_object_get(o, "delegated")) && parent;
    const char *manager = delegated ? parent : im->tree.v[i].code;
    if (!strcmp(manager, im->org_code)) {
        if (im->tree.nreach > UINT16_MAX)
            return fatal(im, EXIT_USAGE, "more than 65535 units to import into");
        im->tree.v[i].reach = (int)im->tree.nreach++;
    }
    size_t k;
    json_t *child;
    int rc = EXIT_OK_;
    json_array_foreach(json_object_get(o, "children"), k, child)
    {
        if (!rc)
            rc = tree_push(im, child);
    }
    return rc;
}

/* GET /v1/orgs/{code} of --org (i == 0) or of org i. */
static int
tree_get(struct importer *im, size_t i, json_t **o)
{
    char path[LEDGER_CODE_MAX + 16];
    snprintf(path, sizeof(path), "/v1/orgs/%s", i ? im->tree.v[i].code : im->org_code);
    int rc = cli_query(im->c, path, o);
    return rc ? (im->rc = rc) : EXIT_OK_;
}

/*
 * Fetches --org and, recursively, every organisation below it (one GET each), so that a
 * unit out of reach is told apart from an unknown one and a name shared by two units is
 * noticed; checks that the signer is the sysadmin of --org.
 */
static int
tree_load(struct importer *im)
{
    json_t *o;
    int rc = tree_get(im, 0, &o);
    if (rc)
        return rc;
    const char *sys = json_string_value(json_object_get(json_object_get(o, "admins"), "sysadmin"));
    if (!sys || strcmp(sys, im->tmpl.actor) != 0) {
        char why[300];
        snprintf(why, sizeof(why), "%s is not the sysadmin of %s (%s is)", im->tmpl.actor,
                 im->org_code, sys ? sys : "nobody");
        rc = fatal(im, EXIT_REJECTED, why);
    }
    if (!rc)
        rc = tree_push(im, o);
    for (size_t i = 0; !rc && i < im->tree.n; i++) {
        if (i && (rc = tree_get(im, i, &o)) != EXIT_OK_)
            break;
        rc = tree_take(im, i, o);
        json_decref(o);
        o = NULL;
    }
    json_decref(o);
    struct tree *t = &im->tree;
    if (!rc && (!(t->by_code = calloc(t->n, sizeof(*t->by_code))) ||
                !(t->by_name = calloc(t->n, sizeof(*t->by_name)))))
        rc = fatal(im, EXIT_USAGE, "out of memory");
    if (rc)
        return rc;
    for (size_t i = 0; i < t->n; i++)
        t->by_code[i] = t->by_name[i] = &t->v[i];
    qsort(t->by_code, t->n, sizeof(*t->by_code), org_cmp_code);
    qsort(t->by_name, t->n, sizeof(*t->by_name), org_cmp_name);
    return EXIT_OK_;
}

static const struct org *unit_by_code(const struct tree *t, const char *code);

/*
 * Marks the units that have disabled business accounts (GET
 * /v1/reports/business-accounts, one request): a row whose person already has an account
 * at such a unit has that account's status looked at, since a disabled account is not
 * "on the chain" for the row's purpose. Elsewhere the cheap existence lookup suffices. If
 * the node gives no report, every unit is marked (slower, as right).
 */
static int
tree_mark_disabled(struct importer *im)
{
    char path[LEDGER_CODE_MAX + 64], why[512];
    json_t *r = NULL;
    snprintf(path, sizeof(path), "/v1/reports/business-accounts?org=%s", im->org_code);
    int status = cli_http(im->c, "GET", path, NULL, &r, why, sizeof(why));
    if (status == 0)
        return fatal(im, EXIT_UNREACHABLE, why);
    json_t *rows = json_object_get(r, "rows"), *row;
    size_t i;
    if (status != 200 || !json_is_array(rows))
        for (i = 0; i < im->tree.n; i++)
            im->tree.v[i].disabled = true;
    json_array_foreach(rows, i, row)
    {
        const struct org *o =
            unit_by_code(&im->tree, json_string_value(json_object_get(row, "code")));
        if (o && json_integer_value(json_object_get(row, "disabled")) > 0)
            ((struct org *)o)->disabled = true;
    }
    json_decref(r);
    return EXIT_OK_;
}

/* The first index of list (sorted by cmp) whose element is not below probe. */
static size_t
lower_bound(const struct org **list, size_t n, const struct org *probe,
            int (*cmp)(const void *, const void *))
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp(&list[mid], &probe) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The organisation below --org with this code, or NULL. */
static const struct org *
unit_by_code(const struct tree *t, const char *code)
{
    struct org probe; /* only its code is read */
    if (!code || strlen(code) > LEDGER_CODE_MAX)
        return NULL;
    snprintf(probe.code, sizeof(probe.code), "%s", code);
    const struct org *p = &probe;
    size_t i = lower_bound(t->by_code, t->n, p, org_cmp_code);
    return i < t->n && !strcmp(t->by_code[i]->code, code) ? t->by_code[i] : NULL;
}

/*
 * The unit a cell names (a code, else a name) if the signer creates its business accounts;
 * otherwise NULL, with the reason added to why. The cell itself is never quoted: a column
 * out of place could hold personal data.
 */
static const struct org *
unit_of(struct importer *im, const char *cell, char why[REASON_MAX])
{
    const struct tree *t = &im->tree;
    struct org probe; /* only its key is read */
    const struct org *p = &probe, *found = unit_by_code(t, cell);
    if (!found && strlen(cell) <= LEDGER_NAME_MAX) {
        name_key(probe.key, sizeof(probe.key), cell);
        size_t i = lower_bound(t->by_name, t->n, p, org_cmp_name), j = i;
        while (j < t->n && !strcmp(t->by_name[j]->key, probe.key))
            j++;
        if (j - i > 1) {
            because(why,
                    "unit name is shared by %zu organisations under %s (%s, %s%s): give "
                    "the code",
                    j - i, im->org_code, t->by_name[i]->code, t->by_name[i + 1]->code,
                    j - i > 2 ? ", ..." : "");
            return NULL;
        }
        found = j > i ? t->by_name[i] : NULL;
    }
    if (!found)
        because(why, "unit is not an organisation under %s (neither its code nor its name)",
                im->org_code);
    else if (found == &t->v[0] && found->reach < 0)
        because(why, "unit %s has delegated its business accounts to its parent", found->code);
    else if (found->reach < 0)
        because(why, "unit %s is not managed by %s", found->code, im->org_code);
    return found && found->reach >= 0 ? found : NULL;
}

/* ---- rows ---- */

/* A header cell as compared with the aliases: lower case, without blanks, _ - * and a
 * trailing note in parentheses ("手机号码（必填）"). */
static void
header_key(char *out, size_t cap, const char *in)
{
    char tmp[256];
    name_key(tmp, sizeof(tmp), in);
    size_t o = 0;
    for (const char *p = tmp; *p && *p != '(' && o + 1 < cap; p++)
        if (*p != '_' && *p != '-' && *p != '*')
            out[o++] = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p;
    out[o] = '\0';
}

static bool
alias_of(const char *aliases, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = aliases; n && p;) {
        const char *end = strchr(p, '|');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && !strncmp(p, key, n))
            return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

/*
 * Maps the header's columns. A row naming no known column is a title above the header
 * (the seed's template has one) and is passed over, up to TITLE_ROWS_MAX of them; a
 * header missing a required column is a usage error.
 */
static int
header_read(struct importer *im, uint32_t row, char *const *f, size_t n)
{
    int found = 0;
    for (int k = 0; k < COL__COUNT; k++)
        im->col[k] = -1;
    for (size_t i = 0; i < n; i++) {
        char key[256];
        header_key(key, sizeof(key), f[i]);
        for (int k = 0; k < COL__COUNT; k++) {
            if (!alias_of(columns[k].aliases, key))
                continue;
            if (im->col[k] >= 0)
                return im->rc = cli_usage(im->c,
                                          "columns %d and %zu of the header (row %u) "
                                          "are both the %s",
                                          im->col[k] + 1, i + 1, row, columns[k].label);
            im->col[k] = (int)i;
            found++;
        }
    }
    if (!found && row < TITLE_ROWS_MAX)
        return EXIT_OK_;
    char missing[REASON_MAX] = "";
    for (int k = 0; k < COL__COUNT; k++)
        if (columns[k].required && im->col[k] < 0)
            because(missing, "%s", columns[k].label);
    if (missing[0])
        return im->rc = cli_usage(im->c, "the header (row %u) has no column for: %s", row, missing);
    im->have_header = true;
    return EXIT_OK_;
}

/*
 * The user types of the teacher system's CA application form (seed 003: 安全审计员,
 * 信息查询员, 系统管理员, 培训管理员, 信息管理员, 其他：____; DOMAIN.md §2), and their role
 * names in the chain's system catalogue. The type is checked, not stored: it says which
 * role the security administrator will grant afterwards, and "other" (其他, with or without
 * what the applicant wrote after it) names no role at all.
 */
static bool
user_type_valid(const char *s)
{
    static const char *const zh[] = {"信息查询员", "信息管理员", "培训管理员", "系统管理员",
                                     "安全审计员"};
    static const char *const en[] = {"query", "manager", "training", "sysadmin", "auditor"};
    static const char *const other[] = {"其他", "其它"};
    /* The seed's own example reads "教师系统信息管理员". */
    const char *t = strncmp(s, "教师系统", strlen("教师系统")) ? s : s + strlen("教师系统");
    for (size_t i = 0; i < IDL_ARRAY_LEN(zh); i++)
        if (!strcmp(t, zh[i]) || !strcasecmp(s, en[i]))
            return true;
    for (size_t i = 0; i < IDL_ARRAY_LEN(other); i++)
        if (!strncmp(t, other[i], strlen(other[i])))
            return true; /* 其他, 其他：教务员, 其他(教务员) */
    return !strcasecmp(s, "other") || !strncasecmp(s, "other:", strlen("other:"));
}

static bool
school_type_valid(const char *s)
{
    static const char *const zh[] = {"幼儿园", "小学",       "初中",         "高中",     "中学",
                                     "中职",   "九年一贯制", "十二年一贯制", "特殊教育", "其他"};
    for (size_t i = 0; i < IDL_ARRAY_LEN(zh); i++)
        if (!strcmp(s, zh[i]))
            return true;
    char lower[32];
    size_t n = strlen(s);
    if (n >= sizeof(lower))
        return false;
    for (size_t i = 0; i <= n; i++)
        lower[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
    return ledger_school_type_parse(lower) != 0;
}

/* Does s look like a number a spreadsheet wrote in scientific notation ("4.40106E+17")? */
static bool
excel_number(const char *s)
{
    const char *e = strpbrk(s, "Ee");
    if (!e || e == s || (e[1] != '+' && e[1] != '-') || !e[2])
        return false;
    for (const char *p = s; *p; p++)
        if (p != e && p != e + 1 && !(*p >= '0' && *p <= '9') && *p != '.')
            return false;
    return true;
}

/* Checks every cell of a row; adds each problem to why. Fills norm (the ID number). */
static const struct org *
row_check(struct importer *im, const char *const cell[COL__COUNT], char norm[IDNUM_NORM_MAX + 1],
          char why[REASON_MAX])
{
    const char *w;
    const struct org *o = NULL;
    for (int k = 0; k < COL__COUNT; k++)
        if (columns[k].required && !cell[k][0])
            because(why, "%s is missing", columns[k].label);
    if (cell[COL_UNIT][0])
        o = unit_of(im, cell[COL_UNIT], why);
    if (cell[COL_ID][0] && idnum_normalize(norm, IDNUM_DOC_RESIDENT, cell[COL_ID], &w) != IDL_OK)
        because(why, "%s",
                excel_number(cell[COL_ID])
                    ? "ID number was saved as a number (as 4.40106E+17): format the "
                      "column as text in the spreadsheet and save it again"
                    : w);
    for (size_t i = 0; i < IDL_ARRAY_LEN(person_cols); i++) {
        const char *v = cell[person_cols[i].col];
        if (v[0] && person_field_check(person_cols[i].field, v, &w) != IDL_OK)
            because(why, "%s", w);
    }
    if (cell[COL_USER][0] && !user_type_valid(cell[COL_USER]))
        because(why, "user type must be 信息查询员, 信息管理员, 培训管理员, 系统管理员, 安全审计员 "
                     "or 其他 (query, manager, training, sysadmin, auditor, other)");
    if (cell[COL_SCHOOL][0] && !school_type_valid(cell[COL_SCHOOL]))
        because(why, "school type must be 幼儿园, 小学, 初中, 高中, 中学, 中职, 九年一贯制, "
                     "十二年一贯制, 特殊教育 or 其他");
    else if (!cell[COL_SCHOOL][0] && o && o->kind == ORG_KIND_SCHOOL)
        because(why, "school type (办学类型) is missing: the unit is a school");
    return o;
}

static uint64_t
seen_hash(const struct seen *s, const char *text)
{
    uint8_t h[crypto_shorthash_BYTES];
    uint64_t v;
    crypto_shorthash(h, (const unsigned char *)text, strlen(text), s->key);
    memcpy(&v, h, sizeof(v));
    return v ? v : 1;
}

static bool
seen_grow(struct seen *s)
{
    size_t cap = s->cap ? 2 * s->cap : 4096;
    struct seen_entry *v = calloc(cap, sizeof(*v));
    if (!v)
        return false;
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->v[i].h)
            continue;
        size_t j = s->v[i].h & (cap - 1);
        while (v[j].h)
            j = (j + 1) & (cap - 1);
        v[j] = s->v[i];
    }
    free(s->v);
    s->v = v;
    s->cap = cap;
    return true;
}

/*
 * Remembers that row has this person (normalised ID number, name) at this unit. Returns
 * false if an earlier row has the number under another name (*kind OUT_OTHER_NAME) or the
 * same person at the same unit (OUT_DUPLICATE), with *earlier that row; false also when
 * out of memory (im->rc set). The same person at another unit is one account per unit.
 */
static bool
seen_add(struct importer *im, const char *norm, const char *name, uint16_t unit, uint32_t row,
         enum out_kind *kind, uint32_t *earlier)
{
    struct seen *s = &im->seen;
    uint64_t h = seen_hash(s, norm);
    uint32_t nh = (uint32_t)seen_hash(s, name);
    if (2 * (s->n + 1) > s->cap && !seen_grow(s)) {
        fatal(im, EXIT_USAGE, "out of memory");
        return false;
    }
    size_t j = h & (s->cap - 1);
    for (; s->v[j].h; j = (j + 1) & (s->cap - 1)) {
        if (s->v[j].h != h || (s->v[j].name == nh && s->v[j].unit != unit))
            continue;
        *earlier = s->v[j].row;
        *kind = s->v[j].name != nh ? OUT_OTHER_NAME : OUT_DUPLICATE;
        return false;
    }
    s->v[j] = (struct seen_entry){h, row, nh, unit};
    s->n++;
    return true;
}

static void chunk_send(struct importer *im);

/* A data row: checked, then refused or queued for the seal. */
static void
row_take(struct importer *im, uint32_t row, const char *const cell[COL__COUNT])
{
    char why[REASON_MAX] = "", norm[IDNUM_NORM_MAX + 1] = "";
    const struct org *o = row_check(im, cell, norm, why);
    enum out_kind kind = OUT_REFUSED;
    uint32_t earlier = 0;
    struct chunk *ch = im->cur;
    if (why[0]) {
        refuse(im, row, why);
    } else if (!seen_add(im, norm, cell[COL_NAME], (uint16_t)o->reach, row, &kind, &earlier)) {
        if (!im->rc)
            outcome_add(im, row, kind, earlier, NULL);
    } else {
        json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id_number", norm, "name",
                              cell[COL_NAME], "mobile", cell[COL_MOBILE], "email", cell[COL_EMAIL],
                              "office_phone", cell[COL_OFFICE], "address", cell[COL_ADDRESS]);
        if (!p || json_array_append_new(ch->persons, p) != 0)
            fatal(im, EXIT_USAGE, "out of memory");
        ch->rows[ch->n++] = (struct chunk_row){row, (uint32_t)(o - im->tree.v)};
    }
    sodium_memzero(norm, sizeof(norm));
    if (!im->rc && ch->n == im->batch)
        chunk_send(im);
}

static bool
on_row(void *arg, uint32_t row, char *const *f, size_t n)
{
    struct importer *im = arg;
    if (!im->have_header)
        return header_read(im, row, f, n) == EXIT_OK_;
    const char *cell[COL__COUNT];
    for (int k = 0; k < COL__COUNT; k++)
        cell[k] = im->col[k] >= 0 && (size_t)im->col[k] < n ? f[im->col[k]] : "";
    im->rows++;
    im->last_row = row;
    row_take(im, row, cell);
    return im->rc == EXIT_OK_;
}

/* ---- account ids ---- */

/* The derived id of the person (key prefix) at unit code: "<code>-xxxxxxxx-xxxxxxxx". */
static void
derived_id(char id[LEDGER_ID_MAX + 1], const char *code, const uint8_t key[KEY_PREFIX_BYTES])
{
    char hex[2 * KEY_PREFIX_BYTES + 1];
    codec_hex_encode(hex, key, KEY_PREFIX_BYTES);
    snprintf(id, LEDGER_ID_MAX + 1, "%s-%.8s-%.8s", code, hex, hex + 8);
}

/* The key prefix of a sealed person (the node's answer); false if it has none. */
static bool
person_key_prefix(json_t *person, uint8_t key[KEY_PREFIX_BYTES])
{
    uint8_t full[HASH_BYTES];
    if (codec_hex_decode(full, HASH_BYTES, json_string_value(json_object_get(person, "key"))) !=
        IDL_OK)
        return false;
    memcpy(key, full, KEY_PREFIX_BYTES);
    return true;
}

/* ---- a kept-alive connection (one per sealer) ---- */

/*
 * cli_http opens a connection per call, which costs a re-run more than the lookups it
 * makes per row (about 0.5 ms against 0.15 ms on loopback): each sealer keeps one open.
 */
struct conn {
    const struct cli *c;
    nng_http_client *client;
    nng_http_conn *conn; /* NULL until connected, and after an error */
    nng_aio *aio;
    char auth[CLI_AUTH_MAX];
};

static int
conn_open(struct conn *k, const struct cli *c)
{
    memset(k, 0, sizeof(*k));
    k->c = c;
    if (c->token[0])
        snprintf(k->auth, sizeof(k->auth), "Bearer %s", c->token);
    nng_url *u = NULL;
    int rv = nng_url_parse(&u, c->node);
    if (!rv)
        rv = nng_http_client_alloc(&k->client, u);
    if (!rv)
        rv = nng_aio_alloc(&k->aio, NULL, NULL);
    nng_url_free(u);
    if (k->aio)
        nng_aio_set_timeout(k->aio, 15000);
    return rv;
}

static void
conn_close(struct conn *k)
{
    if (k->conn)
        nng_http_conn_close(k->conn);
    if (k->aio)
        nng_aio_free(k->aio);
    if (k->client)
        nng_http_client_free(k->client);
    memset(k, 0, sizeof(*k));
}

/* One request on the connection (connecting first if needed). 0 or an NNG error. */
static int
conn_transact(struct conn *k, nng_http_req *req, nng_http_res *res)
{
    int rv = 0;
    if (!k->conn) {
        nng_http_client_connect(k->client, k->aio);
        nng_aio_wait(k->aio);
        if ((rv = nng_aio_result(k->aio)) != 0)
            return rv;
        k->conn = nng_aio_get_output(k->aio, 0);
    }
    nng_http_conn_transact(k->conn, req, res, k->aio);
    nng_aio_wait(k->aio);
    if ((rv = nng_aio_result(k->aio)) != 0) {
        nng_http_conn_close(k->conn);
        k->conn = NULL;
    }
    return rv;
}

/* Builds the request for method, path (after the node's URL) and body (may be NULL). */
static int
conn_request(const struct conn *k, nng_http_req **req, const char *method, const char *path,
             const char *body)
{
    nng_url *u;
    int rv = cli_http_request(k->c, method, path, &u, req);
    nng_url_free(u);
    if (!rv && k->auth[0])
        rv = nng_http_req_set_header(*req, "Authorization", k->auth);
    if (!rv && body)
        rv = nng_http_req_set_header(*req, "Content-Type", "application/json");
    if (!rv && body)
        rv = nng_http_req_set_data(*req, body, strlen(body));
    return rv;
}

/*
 * Like cli_http: the HTTP status with *reply parsed, or 0 with why. A kept connection the
 * node has closed meanwhile is opened again once.
 */
static int
conn_call(struct conn *k, const char *method, const char *path, json_t *body, json_t **reply,
          char *why, size_t why_len)
{
    *reply = NULL;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    nng_http_req *req = NULL;
    nng_http_res *res = NULL;
    int status = 0, rv = body && !text ? NNG_ENOMEM : conn_request(k, &req, method, path, text);
    if (!rv)
        rv = nng_http_res_alloc(&res);
    bool reused = k->conn != NULL;
    if (!rv && (rv = conn_transact(k, req, res)) != 0 && reused) {
        nng_http_res_reset(res);
        rv = conn_transact(k, req, res);
    }
    if (rv) {
        snprintf(why, why_len, "cannot reach the node at %s: %s", k->c->node, nng_strerror(rv));
    } else {
        void *data;
        size_t len;
        status = nng_http_res_get_status(res);
        nng_http_res_get_data(res, &data, &len);
        *reply = len ? json_loadb(data, len, 0, NULL) : NULL;
    }
    if (res)
        nng_http_res_free(res);
    if (req)
        nng_http_req_free(req);
    free(text);
    return status;
}

/* ---- sealers (their own threads: they touch only their chunk and print nothing) ---- */

/* The node's error message in an answer, or dflt. */
static const char *
answer_error(json_t *reply, const char *dflt)
{
    const char *m = json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
    return m ? m : dflt;
}

/* An HTTP status as the exit code of a lookup: found or not (EXIT_OK_), or why not. */
static int
lookup_rc(struct chunk *ch, int status, json_t *reply, const char *what)
{
    if (status == 0)
        return EXIT_UNREACHABLE;
    if (status == 200 || status == 404)
        return EXIT_OK_;
    snprintf(ch->why, sizeof(ch->why), "%s: %s", what, answer_error(reply, "unexpected answer"));
    return status == 401 ? EXIT_USAGE : EXIT_REJECTED;
}

/* What a person has at a row's unit. */
enum holding { HOLD_NONE, HOLD_IN_USE, HOLD_DISABLED };

/*
 * Is account id a business account at unit, and in use? The derived id at a unit without
 * disabled business accounts needs no more than existence (whole: false; GET
 * /v1/accounts/{id}/nonce, the cheapest lookup the API has, and not one that reads
 * personal data); otherwise the account is read whole for its unit, class and status.
 * Sets *hold; returns EXIT_OK_ or a fatal code with the chunk's why.
 */
static int
account_at_unit(struct conn *k, struct chunk *ch, const char *id, const char *unit, bool whole,
                enum holding *hold)
{
    char path[LEDGER_ID_MAX + 24];
    json_t *reply = NULL;
    snprintf(path, sizeof(path), "/v1/accounts/%s%s", id, whole ? "" : "/nonce");
    int status = conn_call(k, "GET", path, NULL, &reply, ch->why, sizeof(ch->why));
    const char *org = json_string_value(json_object_get(reply, "org"));
    const char *class = json_string_value(json_object_get(reply, "class"));
    const char *st = json_string_value(json_object_get(reply, "status"));
    bool here = status == 200 &&
                (!whole || (org && class && !strcmp(org, unit) && !strcmp(class, "business")));
    *hold = !here                                    ? HOLD_NONE
            : whole && st && !strcmp(st, "disabled") ? HOLD_DISABLED
                                                     : HOLD_IN_USE;
    int rc = lookup_rc(ch, status, reply, "cannot look up an account");
    json_decref(reply);
    return rc;
}

/* The accounts of the person of row i (POST /v1/realname/check), into *accounts. */
static int
person_accounts(struct conn *k, struct chunk *ch, size_t i, json_t **accounts)
{
    json_t *req = json_array_get(ch->persons, i), *reply = NULL;
    json_t *body = json_pack("{s:O, s:O}", "id_number", json_object_get(req, "id_number"), "name",
                             json_object_get(req, "name"));
    int status = conn_call(k, "POST", "/v1/realname/check", body, &reply, ch->why, sizeof(ch->why));
    json_decref(body);
    int rc = status == 404 ? EXIT_REJECTED : lookup_rc(ch, status, reply, "the real-name check");
    if (status == 404)
        snprintf(ch->why, sizeof(ch->why), "the node has no real-name check");
    *accounts = rc ? NULL : json_incref(json_object_get(reply, "accounts"));
    json_decref(reply);
    return rc;
}

/*
 * For the person of row i, whom the node says is registered: the business account they
 * already hold at the row's unit, added to their answer as "existing" (and "disabled":
 * true if it is disabled and they hold none in use there). The derived id is tried first
 * (a re-run finds every row there); only a person registered without it in use has their
 * accounts listed, and each asked for its unit, class and status.
 */
static int
person_existing(const struct importer *im, struct conn *k, struct chunk *ch, size_t i)
{
    json_t *res = json_array_get(ch->results, i), *accounts = NULL, *a;
    const struct org *o = &im->tree.v[ch->rows[i].org];
    const char *found = NULL, *off = NULL; /* in use; disabled */
    uint8_t key[KEY_PREFIX_BYTES];
    char mine[LEDGER_ID_MAX + 1];
    enum holding hold;
    if (!person_key_prefix(json_object_get(res, "person"), key))
        return EXIT_OK_; /* the main thread refuses the row */
    derived_id(mine, o->code, key);
    int rc = account_at_unit(k, ch, mine, o->code, o->disabled, &hold);
    if (!rc && hold != HOLD_NONE)
        *(hold == HOLD_IN_USE ? &found : &off) = mine;
    if (!rc && !found)
        rc = person_accounts(k, ch, i, &accounts);
    size_t n;
    json_array_foreach(accounts, n, a)
    {
        const char *id = json_string_value(a);
        if (rc || found || !id || !strcmp(id, mine))
            continue;
        rc = account_at_unit(k, ch, id, o->code, true, &hold);
        if (!rc && hold == HOLD_IN_USE)
            found = id;
        else if (!rc && hold == HOLD_DISABLED && !off)
            off = id;
    }
    if (found || off)
        json_object_set_new(res, "existing", json_string(found ? found : off));
    if (!found && off)
        json_object_set_new(res, "disabled", json_true());
    json_decref(accounts);
    return rc;
}

/*
 * Seals a chunk (POST /v1/persons/seal-batch) and finds, for each person already on the
 * chain, the account they may already hold at their row's unit.
 */
static void
chunk_seal(const struct importer *im, struct conn *k, struct chunk *ch)
{
    json_t *body = json_pack("{s:O}", "persons", ch->persons), *reply = NULL;
    /* Only a system administrator may have the node seal: this one request is signed with
     * the import's key instead of the token. conn_call serialises body again, to the same
     * bytes (compact, and nothing changes it in between). */
    char token_auth[sizeof(k->auth)], *text = json_dumps(body, JSON_COMPACT);
    memcpy(token_auth, k->auth, sizeof(token_auth));
    int status = 0;
    if (!text || cli_sign_request(im->key, im->tmpl.chain_id, "POST", "/v1/persons/seal-batch",
                                  text, strlen(text), k->auth) != IDL_OK)
        snprintf(ch->why, sizeof(ch->why), "cannot sign the sealing request");
    else
        status = conn_call(k, "POST", "/v1/persons/seal-batch", body, &reply, ch->why,
                           sizeof(ch->why));
    memcpy(k->auth, token_auth, sizeof(token_auth));
    free(text);
    json_decref(body);
    json_t *results = json_object_get(reply, "results");
    if (status == 0) {
        ch->rc = EXIT_UNREACHABLE;
    } else if (status != 200 || json_array_size(results) != ch->n) {
        snprintf(ch->why, sizeof(ch->why), "sealing refused: %s",
                 answer_error(reply, "unexpected answer"));
        ch->rc = status == 401 ? EXIT_USAGE : EXIT_REJECTED;
    } else {
        ch->results = json_incref(results);
    }
    json_decref(reply);
    for (size_t i = 0; !ch->rc && i < ch->n; i++)
        if (json_is_true(json_object_get(json_array_get(ch->results, i), "registered")))
            ch->rc = person_existing(im, k, ch, i);
}

static void *
sealer_main(void *arg)
{
    struct importer *im = arg;
    struct pipeline *p = &im->pipe;
    struct conn k;
    int rv = conn_open(&k, im->c);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->taken == p->count)
            pthread_cond_wait(&p->work, &p->mu);
        if (p->taken == p->count)
            break;
        struct chunk *ch = p->ring[(p->head + p->taken++) % IN_FLIGHT];
        bool cancel = p->cancel;
        pthread_mutex_unlock(&p->mu);
        if (rv) {
            ch->rc = EXIT_UNREACHABLE;
            snprintf(ch->why, sizeof(ch->why), "cannot connect to %s: %s", im->c->node,
                     nng_strerror(rv));
        } else if (!cancel) {
            chunk_seal(im, &k, ch);
        }
        pthread_mutex_lock(&p->mu);
        ch->done = true;
        pthread_cond_broadcast(&p->sealed);
    }
    pthread_mutex_unlock(&p->mu);
    conn_close(&k);
    return NULL;
}

/* ---- the pipeline (main thread) ---- */

static struct chunk *
chunk_new(void)
{
    struct chunk *ch = calloc(1, sizeof(*ch));
    if (ch && !(ch->persons = json_array())) {
        free(ch);
        ch = NULL;
    }
    return ch;
}

static void
chunk_free(struct chunk *ch)
{
    if (!ch)
        return;
    json_decref(ch->persons);
    json_decref(ch->results);
    free(ch);
}

static int
pipe_start(struct importer *im)
{
    struct pipeline *p = &im->pipe;
    if (pthread_mutex_init(&p->mu, NULL) || pthread_cond_init(&p->work, NULL) ||
        pthread_cond_init(&p->sealed, NULL))
        return fatal(im, EXIT_USAGE, "cannot set up the sealer threads");
    im->pipe_ready = true;
    for (; p->nthreads < SEALERS; p->nthreads++)
        if (pthread_create(&p->thread[p->nthreads], NULL, sealer_main, im) != 0)
            return fatal(im, EXIT_USAGE, "cannot start a sealer thread");
    return EXIT_OK_;
}

/* Stops and joins the sealers; the ring must be empty. */
static void
pipe_stop(struct importer *im)
{
    struct pipeline *p = &im->pipe;
    if (!im->pipe_ready)
        return;
    IDL_ASSERT(p->count == 0);
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < p->nthreads; i++)
        pthread_join(p->thread[i], NULL);
    pthread_cond_destroy(&p->sealed);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mu);
    im->pipe_ready = false;
}

/* Waits for the oldest chunk in flight and takes it out of the ring (the caller owns it). */
static struct chunk *
pipe_pop(struct importer *im)
{
    struct pipeline *p = &im->pipe;
    double t0 = now_ms();
    pthread_mutex_lock(&p->mu);
    IDL_ASSERT(p->count > 0);
    struct chunk *ch = p->ring[p->head];
    while (!ch->done)
        pthread_cond_wait(&p->sealed, &p->mu);
    IDL_ASSERT(p->taken > 0);
    p->head = (p->head + 1) % IN_FLIGHT;
    p->count--;
    p->taken--;
    pthread_mutex_unlock(&p->mu);
    im->t_seal += now_ms() - t0;
    return ch;
}

static void chunk_take(struct importer *im, struct chunk *ch);

/* Takes the oldest chunk back: its rows go into transactions unless the run has failed. */
static void
chunk_settle(struct importer *im)
{
    struct chunk *ch = pipe_pop(im);
    if (!im->rc)
        chunk_take(im, ch);
    if (im->rc) { /* sealers skip what is still queued */
        pthread_mutex_lock(&im->pipe.mu);
        im->pipe.cancel = true;
        pthread_mutex_unlock(&im->pipe.mu);
    }
    chunk_free(ch);
    if (im->progress && !im->rc)
        fprintf(stderr, "\rimport: %u rows read, %zu transactions sent", im->rows, im->ntx);
}

/* Hands the chunk being filled to the sealers (after settling one if all are busy). */
static void
chunk_send(struct importer *im)
{
    struct pipeline *p = &im->pipe;
    if (im->rc || !im->cur || !im->cur->n)
        return;
    if (p->count == IN_FLIGHT) /* only this thread changes count */
        chunk_settle(im);
    if (im->rc)
        return;
    struct chunk *next = chunk_new();
    if (!next) {
        fatal(im, EXIT_USAGE, "out of memory");
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->ring[(p->head + p->count++) % IN_FLIGHT] = im->cur;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
    im->cur = next;
}

/* Sends the last chunk and settles every chunk in flight. */
static void
pipe_drain(struct importer *im)
{
    if (!im->pipe_ready)
        return;
    chunk_send(im);
    while (im->pipe.count)
        chunk_settle(im);
}

/* ---- records and transactions (main thread) ---- */

static void
record_free(struct tx_account_add *rec)
{
    struct ledger_sealed *f = rec->person.fields.items;
    for (uint32_t i = 0; i < rec->person.fields.count; i++)
        free(f[i].data.data);
    free(f);
    memset(rec, 0, sizeof(*rec));
}

/* Fills rec's person from the node's sealed answer. False if the answer is malformed. */
static bool
record_person(struct tx_account_add *rec, json_t *person)
{
    const char *doc = json_string_value(json_object_get(person, "doc_type"));
    json_t *fields = json_object_get(person, "fields");
    size_t n = json_array_size(fields);
    rec->person.doc_type = (uint8_t)idnum_doc_parse(doc ? doc : "");
    if (codec_hex_decode(rec->person.key, HASH_BYTES,
                         json_string_value(json_object_get(person, "key"))) != IDL_OK ||
        n == 0 || n > LEDGER_PERSON_FIELDS_MAX)
        return false;
    struct ledger_sealed *s = calloc(n, sizeof(*s));
    rec->person.fields.items = s;
    for (size_t i = 0; s && i < n; i++) {
        json_t *f = json_array_get(fields, i);
        const char *hex = json_string_value(json_object_get(f, "data"));
        size_t len = hex ? strlen(hex) / 2 : 0;
        s[i].field = (uint8_t)person_field_parse(json_string_value(json_object_get(f, "field")));
        s[i].data.data = len ? malloc(len) : NULL;
        s[i].data.len = len;
        rec->person.fields.count = (uint32_t)i + 1;
        if (!s[i].field || !s[i].data.data || codec_hex_decode(s[i].data.data, len, hex) != IDL_OK)
            return false;
    }
    return s != NULL;
}

/* The encoded size of a record (schema.h: ids u16-prefixed, bytes u32-prefixed). */
static size_t
record_bytes(const struct tx_account_add *rec)
{
    size_t n =
        2 + strlen(rec->id) + 2 + strlen(rec->org) + 2 + SIG_PUBKEY_BYTES + 1 + HASH_BYTES + 2;
    const struct ledger_sealed *f = rec->person.fields.items;
    for (uint32_t i = 0; i < rec->person.fields.count; i++)
        n += 1 + 4 + f[i].data.len;
    return n;
}

static int flush_tx(struct importer *im);

/* Adds a sealed person at its unit to the transaction being filled. */
static void
record_add(struct importer *im, const struct chunk_row *cr, json_t *person)
{
    const struct org *o = &im->tree.v[cr->org];
    struct tx_account_add rec = {0};
    if (!record_person(&rec, person)) {
        record_free(&rec);
        refuse(im, cr->row, "the node sealed this person's data badly");
        return;
    }
    derived_id(rec.id, o->code, rec.person.key);
    snprintf(rec.org, sizeof(rec.org), "%s", o->code);
    rec.class = CLASS_BUSINESS;
    if (!schema_id_valid(rec.id, strlen(rec.id), SCHEMA_NO_PII)) {
        record_free(&rec);
        refuse(im, cr->row,
               "the unit's code is too long a run of digits to prefix an account "
               "id");
        return;
    }
    size_t bytes = record_bytes(&rec);
    struct schema_list *l = &im->tx.body.batch.records;
    if (l->count && (l->count == im->batch || im->tx_bytes + bytes > TX_RECORDS_BYTES_MAX))
        flush_tx(im);
    struct sent *sv = grow(im->sent, &im->capsent, im->nsent, sizeof(*sv));
    if (!sv)
        fatal(im, EXIT_USAGE, "out of memory");
    if (im->rc) {
        record_free(&rec);
        return;
    }
    im->sent = sv;
    struct sent *s = &sv[im->nsent++];
    *s = (struct sent){cr->row, cr->org, {0}};
    memcpy(s->key, rec.person.key, KEY_PREFIX_BYTES);
    ((struct tx_account_add *)l->items)[l->count++] = rec; /* the list owns it now */
    im->tx_bytes += bytes;
}

/* A sealed row: refused by the node, already on the chain, or a record to send. */
static void
row_sealed(struct importer *im, const struct chunk_row *cr, json_t *res)
{
    const char *err = json_string_value(json_object_get(json_object_get(res, "error"), "message"));
    const char *existing = json_string_value(json_object_get(res, "existing"));
    json_t *person = json_object_get(res, "person");
    uint8_t key[KEY_PREFIX_BYTES] = {0};
    char mine[LEDGER_ID_MAX + 1] = "";
    if (!err && !existing) {
        record_add(im, cr, person);
        return;
    }
    if (err) {
        refuse(im, cr->row, err);
        return;
    }
    if (person_key_prefix(person, key))
        derived_id(mine, im->tree.v[cr->org].code, key);
    if (json_is_true(json_object_get(res, "disabled")))
        outcome_add(im, cr->row, OUT_DISABLED, reason_id(&im->reasons, existing), NULL);
    else if (!strcmp(existing, mine))
        outcome_add(im, cr->row, OUT_ALREADY, cr->org, key);
    else
        outcome_add(im, cr->row, OUT_HAS_ACCOUNT, reason_id(&im->reasons, existing), NULL);
}

/* A sealed chunk's rows into transactions (submitted as they fill). */
static void
chunk_take(struct importer *im, struct chunk *ch)
{
    if (ch->rc) {
        fatal(im, ch->rc, ch->why);
        return;
    }
    for (size_t i = 0; !im->rc && i < ch->n; i++)
        row_sealed(im, &ch->rows[i], json_array_get(ch->results, i));
    flush_tx(im);
}

/* Signs tx with the next nonce and encodes it into *raw (malloc'd). */
static int
tx_seal(struct importer *im, struct ledger_tx *tx, struct idl_bytes *raw)
{
    char why[LEDGER_WHY_MAX];
    tx->nonce = im->tmpl.nonce;
    tx->time = (uint64_t)time(NULL);
    if (ledger_tx_check(tx, why, sizeof(why)) != IDL_OK)
        return fatal(im, EXIT_USAGE, why);
    if (ledger_tx_sign(tx, im->key->sk) != IDL_OK || ledger_tx_encode(tx, raw) != IDL_OK)
        return fatal(im, EXIT_USAGE, "cannot sign or encode the transaction");
    IDL_ASSERT(raw->len <= LEDGER_TX_BYTES_MAX);
    return EXIT_OK_;
}

enum post_result { POSTED, POOL_FULL, NONCE_TAKEN, REFUSED, UNREACHABLE };

/* POST /v1/txs with one encoded transaction: its txid, or why not. */
static enum post_result
tx_post(struct importer *im, const struct idl_bytes *raw, char txid[2 * HASH_BYTES + 1], char *why,
        size_t why_len)
{
    char *hex = malloc(2 * raw->len + 1);
    if (!hex) {
        snprintf(why, why_len, "out of memory");
        return REFUSED;
    }
    codec_hex_encode(hex, raw->data, raw->len);
    json_t *body = json_pack("{s:[s]}", "txs", hex), *reply = NULL;
    free(hex);
    int status = cli_http(im->c, "POST", "/v1/txs", body, &reply, why, why_len);
    json_decref(body);
    json_t *res = json_array_get(json_object_get(reply, "results"), 0);
    json_t *err = json_object_get(status == 200 ? res : reply, "error");
    const char *id = json_string_value(json_object_get(res, "txid"));
    const char *code = json_string_value(json_object_get(err, "code"));
    const char *msg = json_string_value(json_object_get(err, "message"));
    enum post_result r = status == 0                            ? UNREACHABLE
                         : id                                   ? POSTED
                         : code && !strcmp(code, "unavailable") ? POOL_FULL
                         : code && !strcmp(code, "bad_nonce")   ? NONCE_TAKEN
                                                                : REFUSED;
    if (id)
        snprintf(txid, 2 * HASH_BYTES + 1, "%s", id);
    else if (status)
        snprintf(why, why_len, "%s", msg ? msg : "the node refused the transaction");
    json_decref(reply);
    return r;
}

/* The signer's next nonce as the node counts it (its pool included), into im->tmpl. */
static int
nonce_refresh(struct importer *im)
{
    char path[LEDGER_ID_MAX + 32];
    json_t *reply;
    snprintf(path, sizeof(path), "/v1/accounts/%s/nonce", im->tmpl.actor);
    int rc = cli_query(im->c, path, &reply);
    if (rc)
        return im->rc = rc;
    im->tmpl.nonce = (uint64_t)json_integer_value(json_object_get(reply, "next_nonce"));
    json_decref(reply);
    return EXIT_OK_;
}

/*
 * Signs tx with the next nonce and submits it. Returns EXIT_OK_ with the txid and the
 * signed transaction in *raw (the caller frees it), EXIT_REJECTED with the node's reason
 * in why, or a fatal code. A full pool is waited out (up to --timeout). A nonce used
 * meanwhile by another transaction of the signer (another import, or any command it
 * signed) is read again from the node and the transaction signed anew, NONCE_TRIES times.
 */
static int
tx_submit(struct importer *im, struct ledger_tx *tx, char txid[2 * HASH_BYTES + 1],
          struct idl_bytes *raw, char *why, size_t why_len)
{
    double t0 = now_ms();
    unsigned delay = 50, tries = 0;
    for (;;) {
        *raw = (struct idl_bytes){0};
        if (tx_seal(im, tx, raw))
            return im->rc;
        enum post_result r = tx_post(im, raw, txid, why, why_len);
        if (r == POSTED) {
            im->tmpl.nonce++;
            return EXIT_OK_;
        }
        free(raw->data);
        *raw = (struct idl_bytes){0};
        if (r == UNREACHABLE || (r == POOL_FULL && now_ms() - t0 >= 1000.0 * im->c->timeout_s))
            return fatal(im, EXIT_UNREACHABLE, why);
        if (r == POOL_FULL) {
            sleep_ms(delay);
            delay = delay < 1000 ? 2 * delay : 1000;
        } else if (r == NONCE_TAKEN && ++tries < NONCE_TRIES) {
            if (nonce_refresh(im))
                return im->rc;
        } else {
            return EXIT_REJECTED;
        }
    }
}

static int settle_next(struct importer *im);
static void settle_ready(struct importer *im);

/* Signs and submits the transaction being filled, and starts a new one. */
static int
flush_tx(struct importer *im)
{
    struct schema_list *l = &im->tx.body.batch.records;
    if (im->rc || l->count == 0)
        return im->rc;
    double t0 = now_ms();
    struct pending *p = grow(im->txs, &im->captx, im->ntx, sizeof(*p));
    if (!p)
        return fatal(im, EXIT_USAGE, "out of memory");
    im->txs = p;
    struct ledger_tx *tx = &im->tx;
    snprintf(tx->chain_id, sizeof(tx->chain_id), "%s", im->tmpl.chain_id);
    snprintf(tx->actor, sizeof(tx->actor), "%s", im->tmpl.actor);
    memcpy(tx->basis, im->tmpl.basis, HASH_BYTES);
    char txid[2 * HASH_BYTES + 1] = "", why[LEDGER_WHY_MAX] = "";
    struct idl_bytes raw;
    int rc = tx_submit(im, tx, txid, &raw, why, sizeof(why));
    size_t count = l->count;
    if (rc == EXIT_OK_) {
        p = &im->txs[im->ntx++];
        *p = (struct pending){.first = im->tx_first, .count = count, .raw = raw};
        snprintf(p->txid, sizeof(p->txid), "%s", txid);
        if (im->c->no_wait) { /* nothing will be sent again */
            free(p->raw.data);
            p->raw = (struct idl_bytes){0};
        }
    } else if (rc == EXIT_REJECTED) {
        char reason[REASON_MAX];
        snprintf(reason, sizeof(reason), "the transaction was refused: %s", why);
        for (size_t i = im->tx_first; i < im->tx_first + count; i++)
            refuse(im, im->sent[i].row, reason);
    }
    /* The records are freed with the transaction; a fresh one takes the next rows. */
    ledger_tx_free(tx);
    ledger_tx_init(tx, "", TX_ACCOUNT_BATCH_ADD, "");
    if (!(l->items = calloc(im->batch, sizeof(struct tx_account_add))))
        fatal(im, EXIT_USAGE, "out of memory");
    im->tx_first = im->nsent;
    im->tx_bytes = 0;
    im->t_submit += now_ms() - t0;
    /* Settle what has committed meanwhile, and keep what is kept for resending bounded:
     * past the window, wait for the oldest. */
    if (!im->rc && !im->c->no_wait)
        settle_ready(im);
    while (!im->rc && !im->c->no_wait && im->ntx - im->nsettled > UNSETTLED_MAX)
        settle_next(im);
    return im->rc;
}

/* ---- outcomes on the chain ---- */

/*
 * Asks once about a transaction: EXIT_OK_ with *outcome set once it has left the pool
 * (NULL while it is pending), or a fatal code. A transaction the node does not know (404:
 * dropped, and forgotten since) comes back as rejected without a height, as one it
 * remembers dropping does.
 */
static int
tx_poll(struct importer *im, const char *txid, json_t **outcome)
{
    char path[128], why[512];
    snprintf(path, sizeof(path), "/v1/tx/%s", txid);
    json_t *reply = NULL;
    *outcome = NULL;
    int status = cli_http(im->c, "GET", path, NULL, &reply, why, sizeof(why));
    if (status == 0)
        return fatal(im, EXIT_UNREACHABLE, why);
    const char *state = json_string_value(json_object_get(reply, "state"));
    if (status == 200 && state && strcmp(state, "pending") != 0) {
        *outcome = reply;
        return EXIT_OK_;
    }
    json_decref(reply);
    if (status == 404) {
        *outcome = json_pack("{s:s, s:n, s:s}", "state", "rejected", "height", "reason",
                             "the node no longer knows the transaction");
        if (!*outcome)
            return fatal(im, EXIT_USAGE, "out of memory");
    }
    return EXIT_OK_;
}

/* Polls a transaction until it leaves the pool; no news for --timeout seconds is fatal. */
static int
tx_wait(struct importer *im, const char *txid, json_t **outcome)
{
    double t0 = now_ms();
    unsigned delay = 10;
    for (;;) {
        if (tx_poll(im, txid, outcome) != EXIT_OK_ || *outcome)
            return im->rc;
        if (now_ms() - t0 >= 1000.0 * im->c->timeout_s) {
            char why[512];
            snprintf(why, sizeof(why),
                     "no commit within %u s; transaction %s (and those after it) may still "
                     "commit: running the import again is safe",
                     im->c->timeout_s, txid);
            return fatal(im, EXIT_UNREACHABLE, why);
        }
        sleep_ms(delay);
        delay = delay < 80 ? 2 * delay : 80;
    }
}

/*
 * Whether a refused record's account id was already taken. Another import of the same
 * rows got there first (the id is derived from the person): the row is on the chain.
 */
static bool
record_exists(json_t *r)
{
    const char *code = json_string_value(json_object_get(r, "code"));
    const char *why = json_string_value(json_object_get(r, "reason"));
    return code ? !strcmp(code, "exists") && why && strstr(why, "account")
                : why && strstr(why, "already exists");
}

/* Maps the outcome of transaction p back to its rows. */
static void
tx_settle(struct importer *im, const struct pending *p, json_t *outcome)
{
    const char *state = json_string_value(json_object_get(outcome, "state"));
    const char *reason = json_string_value(json_object_get(outcome, "reason"));
    json_t *records = json_object_get(outcome, "records");
    char why[REASON_MAX];
    if (strcmp(state, "committed") != 0)
        snprintf(why, sizeof(why), "the transaction was rejected: %s", reason ? reason : "");
    else if (!json_is_array(records))
        snprintf(why, sizeof(why),
                 "the node did not say which records of transaction %s "
                 "applied: run the import again",
                 p->txid);
    if (strcmp(state, "committed") != 0 || !json_is_array(records)) {
        for (size_t i = p->first; i < p->first + p->count; i++)
            refuse(im, im->sent[i].row, why);
        return;
    }
    size_t k, refused = 0;
    json_t *r;
    json_array_foreach(records, k, r)
    {
        json_int_t i = json_integer_value(json_object_get(r, "record"));
        const char *rw = json_string_value(json_object_get(r, "reason"));
        if (i < 0 || (size_t)i >= p->count)
            continue;
        const struct sent *s = &im->sent[p->first + (size_t)i];
        refused++;
        if (record_exists(r))
            outcome_add(im, s->row, OUT_ALREADY, s->org, s->key);
        else
            refuse(im, s->row, rw && rw[0] ? rw : "refused by the ledger");
    }
    im->imported += p->count - refused;
}

/* The rows of a transaction that was never applied, however often it was sent. */
static void
tx_unsent(struct importer *im, const struct pending *p, const char *reason)
{
    char why[REASON_MAX];
    snprintf(why, sizeof(why), "not sent (%s, %u time%s): run the import again",
             reason && reason[0] ? reason : "the node dropped its transaction", p->resent + 1,
             p->resent ? "s" : "");
    uint32_t id = reason_id(&im->reasons, why);
    for (size_t i = p->first; i < p->first + p->count; i++)
        outcome_add(im, im->sent[i].row, OUT_NOT_SENT, id, NULL);
}

/*
 * Signs p's transaction again with a fresh nonce and sends it. It was never applied: the
 * pool dropped it, almost always because another transaction of the signer (another import
 * at once) took its nonce. Sending its records again is always safe: an account that
 * exists by then is refused by the ledger and its row reported as already on the chain.
 * EXIT_OK_ (p names the new transaction), EXIT_REJECTED (the node refused it: the rows are
 * refused) or a fatal code.
 */
static int
tx_resend(struct importer *im, struct pending *p)
{
    struct ledger_tx tx;
    char why[LEDGER_WHY_MAX] = "";
    if (ledger_tx_decode(&tx, p->raw.data, p->raw.len, im->tmpl.chain_id) != IDL_OK)
        return fatal(im, EXIT_USAGE, "cannot decode a transaction this import signed");
    struct idl_bytes raw;
    int rc = nonce_refresh(im);
    if (!rc)
        rc = tx_submit(im, &tx, p->txid, &raw, why, sizeof(why));
    ledger_tx_free(&tx);
    if (rc == EXIT_OK_) {
        free(p->raw.data);
        p->raw = raw;
        p->resent++;
        im->resent++;
    } else if (rc == EXIT_REJECTED) {
        char reason[REASON_MAX];
        snprintf(reason, sizeof(reason), "the transaction was refused: %s", why);
        for (size_t i = p->first; i < p->first + p->count; i++)
            refuse(im, im->sent[i].row, reason);
    }
    return rc;
}

/*
 * Takes the outcome of the oldest transaction that has not settled: maps it to its rows;
 * one that was never applied is sent again (RESENDS_MAX times, and then stays unsettled),
 * then its rows are reported as not sent. Consumes outcome.
 */
static void
settle_outcome(struct importer *im, json_t *outcome)
{
    struct pending *p = &im->txs[im->nsettled];
    const char *state = json_string_value(json_object_get(outcome, "state"));
    bool never = !strcmp(state, "rejected") && json_is_null(json_object_get(outcome, "height"));
    bool again = false;
    if (!never)
        tx_settle(im, p, outcome);
    else if (p->resent == RESENDS_MAX)
        tx_unsent(im, p, json_string_value(json_object_get(outcome, "reason")));
    else
        again = tx_resend(im, p) == EXIT_OK_;
    json_decref(outcome);
    if (again || im->rc)
        return;
    free(p->raw.data);
    p->raw = (struct idl_bytes){0};
    im->nsettled++;
}

/* Waits for the oldest transaction that has not settled, and settles it. */
static int
settle_next(struct importer *im)
{
    size_t n = im->nsettled;
    while (!im->rc && im->nsettled == n) {
        json_t *outcome = NULL;
        if (tx_wait(im, im->txs[n].txid, &outcome) == EXIT_OK_)
            settle_outcome(im, outcome);
    }
    return im->rc;
}

/* Settles the oldest transactions that have left the pool already, without waiting. */
static void
settle_ready(struct importer *im)
{
    while (!im->rc && im->nsettled < im->ntx) {
        json_t *outcome = NULL;
        if (tx_poll(im, im->txs[im->nsettled].txid, &outcome) != EXIT_OK_ || !outcome)
            return;
        settle_outcome(im, outcome);
    }
}

static int
wait_all(struct importer *im)
{
    double t0 = now_ms();
    while (!im->rc && im->nsettled < im->ntx) {
        if (im->progress)
            fprintf(stderr, "\r\033[Kimport: waiting for transaction %zu of %zu", im->nsettled + 1,
                    im->ntx);
        settle_next(im);
    }
    im->t_commit = now_ms() - t0;
    return im->rc;
}

/* ---- report ---- */

static int
outcome_cmp(const void *a, const void *b)
{
    const struct outcome *x = a, *y = b;
    return x->row < y->row ? -1 : x->row > y->row;
}

/* The account a row already on the chain has (ALREADY, HAS_ACCOUNT, DISABLED). */
static void
outcome_account(const struct importer *im, const struct outcome *o, char id[LEDGER_ID_MAX + 1])
{
    if (o->kind == OUT_ALREADY)
        derived_id(id, im->tree.v[o->arg].code, o->key);
    else
        snprintf(id, LEDGER_ID_MAX + 1, "%s", im->reasons.text[o->arg]);
}

/* The printed reason of an outcome. */
static void
outcome_text(const struct importer *im, const struct outcome *o, char *out, size_t n)
{
    char id[LEDGER_ID_MAX + 1];
    switch (o->kind) {
    case OUT_DUPLICATE:
        snprintf(out, n, "duplicate of row %u", o->arg);
        break;
    case OUT_OTHER_NAME:
        snprintf(out, n, "same ID number as row %u under another name", o->arg);
        break;
    case OUT_ALREADY:
    case OUT_HAS_ACCOUNT:
        outcome_account(im, o, id);
        snprintf(out, n, "already on the chain (account %s)", id);
        break;
    case OUT_DISABLED:
        outcome_account(im, o, id);
        snprintf(out, n, "on the chain but not in use (account %s) (disabled: restore it)", id);
        break;
    default:
        snprintf(out, n, "%s", im->reasons.text[o->arg]);
        break;
    }
}

/* Prints one compact JSON value (consumed) as an item of a list being printed. */
static void
list_item(json_t *v, bool *first)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n    %s", *first ? "" : ",", text ? text : "null");
    *first = false;
    free(text);
    json_decref(v);
}

static void
list_end(bool first, bool last)
{
    printf("%s]%s\n", first ? "" : "\n  ", last ? "" : ",");
}

/* Which list of --json's an outcome goes into. */
enum out_list { LIST_REFUSALS, LIST_ALREADY, LIST_DISABLED, LIST_NOT_SENT, LIST__COUNT };

static enum out_list
outcome_list(const struct outcome *o)
{
    switch (o->kind) {
    case OUT_ALREADY:
    case OUT_HAS_ACCOUNT:
        return LIST_ALREADY;
    case OUT_DISABLED:
        return LIST_DISABLED;
    case OUT_NOT_SENT:
        return LIST_NOT_SENT;
    default:
        return LIST_REFUSALS;
    }
}

/*
 * The rows not imported now, from the sorted outcomes, as four lists: refused (with the
 * reason), already on the chain (with the account), on the chain but disabled (with the
 * account), and not sent (with the reason).
 */
static void
print_outcome_lists(const struct importer *im, bool last)
{
    static const char *const names[LIST__COUNT] = {"refusals", "already_on_chain",
                                                   "disabled_on_chain", "unsent"};
    for (int list = 0; list < LIST__COUNT; list++) {
        bool first = true, account = list == LIST_ALREADY || list == LIST_DISABLED;
        printf("  \"%s\": [", names[list]);
        for (size_t i = 0; i < im->nout; i++) {
            const struct outcome *o = &im->out[i];
            char text[REASON_MAX + 64];
            if ((int)outcome_list(o) != list)
                continue;
            if (account)
                outcome_account(im, o, text);
            else
                outcome_text(im, o, text, sizeof(text));
            list_item(json_pack("{s:I, s:s}", "row", (json_int_t)o->row,
                                account ? "account" : "reason", text),
                      &first);
        }
        list_end(first, last && list == LIST__COUNT - 1);
    }
}

/*
 * The accounts this run created, by row: the rows sent (in row order) that have no outcome
 * (outcomes sorted by row). Only meaningful once every transaction has settled.
 */
static void
print_imported_list(const struct importer *im)
{
    bool first = true;
    size_t j = 0;
    printf("  \"imported_accounts\": [");
    for (size_t i = 0; i < im->nsent; i++) {
        const struct sent *s = &im->sent[i];
        while (j < im->nout && im->out[j].row < s->row)
            j++;
        if (j < im->nout && im->out[j].row == s->row)
            continue;
        char id[LEDGER_ID_MAX + 1];
        derived_id(id, im->tree.v[s->org].code, s->key);
        list_item(json_pack("{s:I, s:s}", "row", (json_int_t)s->row, "account", id), &first);
    }
    list_end(first, true);
}

/*
 * --json: one object, printed as it goes (the lists may have a million items): the counts,
 * timings, refusals, rows already on the chain and, after a complete run, the accounts
 * created.
 */
static void
print_json(const struct importer *im, double total_ms)
{
    json_t *head =
        json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I}}",
                  "org", im->org_code, "encoding", im->encoding ? im->encoding : "", "rows",
                  (json_int_t)im->rows, "imported", (json_int_t)im->imported, "refused",
                  (json_int_t)im->refused, "already", (json_int_t)im->already, "disabled",
                  (json_int_t)im->disabled, "not_sent", (json_int_t)im->unsent, "transactions",
                  (json_int_t)im->ntx, "resent", (json_int_t)im->resent, "timing_ms", "total",
                  (json_int_t)total_ms, "seal", (json_int_t)im->t_seal, "submit",
                  (json_int_t)im->t_submit, "commit", (json_int_t)im->t_commit);
    if (im->rc)
        json_object_set_new(head, "stopped_after_row", json_integer(im->last_row));
    else if (im->c->no_wait)
        json_object_set_new(head, "waited", json_false());
    char *text = json_dumps(head, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(head);
    size_t n = text ? strlen(text) : 0;
    if (n < 2) {
        free(text);
        return;
    }
    printf("%.*s,\n", (int)(n - 2), text); /* without the closing "\n}" */
    free(text);
    bool complete = !im->rc && !im->c->no_wait;
    print_outcome_lists(im, !complete);
    if (complete)
        print_imported_list(im);
    printf("}\n");
}

/* n and a noun, singular or plural: "1 account", "2 accounts", "1 row", "0 rows". */
static const char *
count_of(char *buf, size_t n, uint64_t v, const char *one, const char *many)
{
    snprintf(buf, n, "%llu %s", (unsigned long long)v, v == 1 ? one : many);
    return buf;
}

/* "imported 2 accounts; 1 row refused; 0 already on the chain[; ...]" */
static void
print_summary(const struct importer *im)
{
    char a[64], b[64], c[64];
    if (im->c->no_wait)
        printf("sent %s without waiting for them; %s refused; %llu already on the chain",
               count_of(a, sizeof(a), im->ntx, "transaction", "transactions"),
               count_of(b, sizeof(b), im->refused, "row", "rows"), (unsigned long long)im->already);
    else
        printf("imported %s; %s refused; %llu already on the chain",
               count_of(a, sizeof(a), im->imported, "account", "accounts"),
               count_of(b, sizeof(b), im->refused, "row", "rows"), (unsigned long long)im->already);
    if (im->disabled)
        printf("; %llu disabled there (restore %s)", (unsigned long long)im->disabled,
               im->disabled == 1 ? "it" : "them");
    if (im->unsent)
        printf("; %s not sent (run the import again)",
               count_of(c, sizeof(c), im->unsent, "row", "rows"));
    printf("\n");
}

static void
print_report(struct importer *im, double total_ms)
{
    if (im->progress)
        fprintf(stderr, "\r\033[K");
    if (im->nout) /* qsort's array may not be NULL, even when empty */
        qsort(im->out, im->nout, sizeof(*im->out), outcome_cmp);
    if (im->c->json) {
        print_json(im, total_ms);
    } else {
        for (size_t i = 0; i < im->nout; i++) {
            char text[REASON_MAX + 64];
            outcome_text(im, &im->out[i], text, sizeof(text));
            printf("row %u: %s\n", im->out[i].row, text);
        }
        if (!im->rc)
            print_summary(im);
    }
    if (im->rc)
        fprintf(stderr,
                "idledger: the import stopped after row %u; running it again is safe "
                "(rows already on the chain are recognised)\n",
                im->last_row);
}

/* ---- the command ---- */

static int
import_options(struct importer *im)
{
    struct cli *c = im->c;
    const char *batch = cli_get(c, "batch");
    im->org_code = cli_get(c, "org");
    im->batch = LEDGER_BATCH_MAX;
    if (batch) {
        char *end;
        unsigned long b = strtoul(batch, &end, 10);
        if (!*batch || *end || b == 0 || b > LEDGER_BATCH_MAX)
            return cli_usage(c, "--batch must be 1 to %d rows", LEDGER_BATCH_MAX);
        im->batch = (unsigned)b;
    }
    if (!im->org_code)
        return cli_usage(c, "--org is required (the organisation whose sysadmin signs)");
    if (!im->org_code[0] || strlen(im->org_code) > LEDGER_CODE_MAX ||
        !schema_id_valid(im->org_code, strlen(im->org_code), 0))
        return cli_usage(c, "--org must be an organisation code");
    if (!cli_get(c, "csv"))
        return cli_usage(c, "--csv is required (the applicant spreadsheet saved as CSV)");
    const char *enc = cli_get(c, "encoding");
    if (enc && (!strcasecmp(enc, "utf-8") || !strcasecmp(enc, "utf8")))
        im->encoding = "UTF-8";
    else if (enc &&
             (!strcasecmp(enc, "gb18030") || !strcasecmp(enc, "gbk") || !strcasecmp(enc, "gb2312")))
        im->encoding = "GB18030"; /* GB18030 contains GBK, which contains GB2312 */
    else if (enc)
        return cli_usage(c, "--encoding must be utf-8 or gb18030");
    return EXIT_OK_;
}

/* Options and memory. */
static int
import_setup(struct importer *im)
{
    struct cli *c = im->c;
    int rc = import_options(im);
    if (rc)
        return rc;
    randombytes_buf(im->seen.key, sizeof(im->seen.key));
    im->cur = chunk_new();
    ledger_tx_init(&im->tx, "", TX_ACCOUNT_BATCH_ADD, "");
    im->tx.body.batch.records.items = calloc(im->batch, sizeof(struct tx_account_add));
    ledger_tx_init(&im->tmpl, "", TX_ACCOUNT_BATCH_ADD, "");
    im->progress = !c->json && isatty(STDERR_FILENO);
    if (!im->cur || !im->tx.body.batch.records.items || !seen_grow(&im->seen))
        return cli_fail(c, EXIT_USAGE, "out of memory");
    return EXIT_OK_;
}

/*
 * The signer (key, passphrase), its next nonce, the organisation tree and the sealers:
 * only once the file has opened, so that a file that is not CSV text is reported without a
 * passphrase prompt or a node.
 */
static int
import_connect(struct importer *im)
{
    int rc = cli_load_key(im->c, &im->key);
    if (!rc)
        rc = cli_tx_prepare(im->c, &im->tmpl, im->key->pk);
    if (!rc)
        rc = tree_load(im);
    if (!rc)
        rc = tree_mark_disabled(im);
    return rc ? rc : pipe_start(im);
}

static void
import_free(struct importer *im)
{
    pipe_stop(im);
    chunk_free(im->cur);
    wallet_key_free(im->key);
    ledger_tx_free(&im->tx);
    ledger_tx_free(&im->tmpl);
    free(im->tree.v);
    free(im->tree.by_code);
    free(im->tree.by_name);
    free(im->seen.v);
    for (size_t i = 0; i < im->reasons.n; i++)
        free(im->reasons.text[i]);
    free(im->reasons.text);
    free(im->reasons.slot);
    free(im->out);
    free(im->sent);
    for (size_t i = 0; i < im->ntx; i++)
        free(im->txs[i].raw.data);
    free(im->txs);
}

static int
cmd_import(struct cli *c)
{
    double t0 = now_ms();
    struct importer im = {.c = c};
    struct import_reader *rd = NULL;
    char why[512];
    int rc = import_setup(&im);
    if (!rc && import_reader_open(&rd, cli_get(c, "csv"), im.encoding, why, sizeof(why)) != IDL_OK)
        rc = cli_usage(c, "%s", why);
    if (!rc)
        im.encoding = import_reader_encoding(rd); /* as decided, for --json */
    if (!rc)
        rc = import_connect(&im);
    idl_err rrc = rc ? IDL_OK : import_reader_run(rd, on_row, &im, why, sizeof(why));
    uint32_t nl_row = 0, nl_cells = rd ? import_reader_line_breaks(rd, &nl_row) : 0;
    import_reader_close(rd);
    if (!rc && rrc != IDL_OK)
        fatal(&im, EXIT_USAGE, why);
    if (!rc && !im.rc && !im.have_header)
        im.rc = cli_usage(c, "the file has no header row");
    pipe_drain(&im); /* every chunk comes back, even after a failure */
    /* Nothing done yet (bad options, file or header): no report. */
    if (rc || (im.rc && !im.rows)) {
        import_free(&im);
        return rc ? rc : im.rc;
    }
    flush_tx(&im);
    if (!c->no_wait)
        wait_all(&im);
    print_report(&im, now_ms() - t0);
    if (nl_cells)
        fprintf(stderr,
                "idledger: warning: %u cell%s held a line break, the first in row %u: if a "
                "quote (\") was left open there, the rows after it were read into that cell\n",
                nl_cells, nl_cells == 1 ? "" : "s", nl_row);
    if (!im.rc && !c->no_wait)
        IDL_ASSERT(im.imported + im.refused + im.already + im.disabled + im.unsent == im.rows);
    /* Rows not sent: running again finishes the job (3); a refused or disabled row is not
     * on the chain in use (1). */
    rc = im.rc                       ? im.rc
         : im.unsent                 ? EXIT_UNREACHABLE
         : im.refused || im.disabled ? EXIT_REJECTED
                                     : EXIT_OK_;
    import_free(&im);
    return rc;
}

const struct cli_command cli_import_commands[] = {
    {"import", "org=,csv=,batch=,encoding=", 0, cmd_import,
     "--org C --csv FILE [--batch N] [--encoding utf-8|gb18030]",
     "Bulk onboarding: creates a business account for each row of the applicant spreadsheet\n"
     "(用户CA信息电子表格模板) saved as CSV, at the row's unit. Signed with --key by the\n"
     "sysadmin of C; a unit is C itself or a school of C that delegated its business users\n"
     "to C (org delegate), named by code or name.\n\n"
     "The header row names the columns, in Chinese or English: 单位名称 (unit), 姓名 (name),\n"
     "身份证号码 (id number), 办公电话 (office phone), 电子邮箱 (e-mail), 手机号码 (mobile),\n"
     "办学类型 (school type; required for a school's rows), 用户类型 (user type: 信息查询员,\n"
     "信息管理员, 培训管理员, 系统管理员), 单位通讯地址 (address). Other columns are ignored.\n"
     "The file may be UTF-8 (with or without a byte-order mark) or GB18030 (as Excel and WPS\n"
     "save it on Chinese Windows), told apart by what each reading holds; a file that reads\n"
     "plausibly both ways is refused until --encoding says which. Comma-, tab- or\n"
     "semicolon-separated; quoted fields may hold commas, quotes and line breaks.\n\n"
     "Each row is checked, sealed by the node and sent in transactions of up to N rows\n"
     "(default 1000). The account id is <unit code>-<8 hex>-<8 hex> from the person's key,\n"
     "so running a file twice is harmless: a person who already has a business account at\n"
     "the row's unit is reported as already on the chain and nothing is sent for them.\n"
     "Prints one line per row not imported (\"row 17: reason\", the header being row 1; no\n"
     "personal data), then \"imported N accounts; M rows refused; K already on the chain\"\n"
     "(and the rows whose account there is disabled, or that were not sent, if any).\n"
     "--json prints the counts, the refusals, the rows already on the chain and the accounts\n"
     "created, by row.\n"
     "Exit status: 0 if every row is on the chain in use, 1 if any row was refused or its\n"
     "account is disabled, 2 for a bad file or header, 3 if the node is unreachable or too\n"
     "slow, or rows were not sent (running again is safe).\n\n"
     "example:\n  idledger import --org 440106 --csv 天河区CA申请.csv --key th-sys.key\n"},
};
const size_t cli_import_ncommands = IDL_ARRAY_LEN(cli_import_commands);

/*
 * Genesis JSON. Each level is checked against its list of allowed members before any value
 * is read, so a misspelt member is an error rather than a silent default. The canonical
 * binary for the hash reuses the record schemas of the state.
 */
#include "genesis.h"

#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ledger/cert.h"
#include "ledger/file.h"

__attribute__((format(printf, 3, 4))) static idl_err
bad(char *why, size_t why_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
    return IDL_ERR_INVALID;
}

/*
 * Refuses members of obj that are neither in `allowed` (required, NULL-terminated) nor in
 * `optional` (may be NULL), and missing required ones.
 */
static idl_err
members_check_opt(json_t *obj, const char *where, const char *const *allowed,
                  const char *const *optional, char *why, size_t why_len)
{
    if (!json_is_object(obj))
        return bad(why, why_len, "genesis: %s must be an object", where);
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        int known = 0;
        for (const char *const *a = allowed; *a; a++)
            known |= strcmp(*a, key) == 0;
        for (const char *const *a = optional; a && *a; a++)
            known |= strcmp(*a, key) == 0;
        if (!known)
            return bad(why, why_len, "genesis: unknown member %s.%s", where, key);
    }
    for (const char *const *a = allowed; *a; a++)
        if (!json_object_get(obj, *a))
            return bad(why, why_len, "genesis: missing member %s.%s", where, *a);
    return IDL_OK;
}

static idl_err
members_check(json_t *obj, const char *where, const char *const *allowed, char *why,
              size_t why_len)
{
    return members_check_opt(obj, where, allowed, NULL, why, why_len);
}

/* Member `name` of obj, which stands at `where` in the file ("" at the top, "admins.auditor"). */
static idl_err
get_str(json_t *obj, const char *where, const char *name, char *out, size_t cap, char *why,
        size_t why_len)
{
    const char *s = json_string_value(json_object_get(obj, name));
    if (!s || strlen(s) >= cap)
        return bad(why, why_len, "genesis: %s%s%s must be a string of at most %zu bytes", where,
                   where[0] ? "." : "", name, cap - 1);
    snprintf(out, cap, "%s", s);
    return IDL_OK;
}

static idl_err
get_hex(json_t *obj, const char *where, const char *name, uint8_t *out, size_t n, char *why,
        size_t why_len)
{
    if (codec_hex_decode(out, n, json_string_value(json_object_get(obj, name))))
        return bad(why, why_len, "genesis: %s%s%s must be %zu bytes of hex", where,
                   where[0] ? "." : "", name, n);
    return IDL_OK;
}

static idl_err
parse_time(const char *s, uint64_t *ms)
{
    struct tm tm = {0};
    const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
    if (!end || *end)
        return IDL_ERR_INVALID;
    time_t t = timegm(&tm);
    if (t < 0)
        return IDL_ERR_INVALID;
    /* strptime takes 2026-02-30 and timegm moves it to March: insist on a real date by
     * printing the time back and comparing. */
    char back[32];
    struct tm check;
    strftime(back, sizeof(back), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &check));
    if (strcmp(back, s) != 0)
        return IDL_ERR_INVALID;
    *ms = (uint64_t)t * 1000;
    return IDL_OK;
}

static const char *const admin_posts[LEDGER_ROOT_ADMINS] = {"sysadmin", "secadmin", "auditor"};

static idl_err
parse_admins(struct genesis *g, json_t *admins, char *why, size_t why_len)
{
    static const char *const posts[] = {"sysadmin", "secadmin", "auditor", NULL};
    static const char *const fields[] = {"id", "pubkey", "person", NULL};
    idl_err rc = members_check(admins, "admins", posts, why, why_len);
    for (int i = 0; !rc && i < LEDGER_ROOT_ADMINS; i++) {
        json_t *a = json_object_get(admins, admin_posts[i]);
        struct rec_account *acct = &g->ledger.admins[i];
        char where[32];
        snprintf(where, sizeof(where), "admins.%s", admin_posts[i]);
        rc = members_check(a, admin_posts[i], fields, why, why_len);
        if (!rc)
            rc = get_str(a, where, "id", acct->id, sizeof(acct->id), why, why_len);
        if (!rc)
            rc = get_hex(a, where, "pubkey", acct->pubkey, SIG_PUBKEY_BYTES, why, why_len);
        if (!rc)
            rc = get_hex(a, where, "person", acct->person, HASH_BYTES, why, why_len);
        if (rc)
            break;
        snprintf(acct->org, sizeof(acct->org), "%s", g->ledger.root.code);
        acct->class = CLASS_MANAGEMENT;
        acct->post = (uint8_t)(POST_SYSADMIN + i);
        acct->status = STATUS_ACTIVE;
        acct->authorized = 1;
        if (!sig_pubkey_valid(acct->pubkey))
            rc = bad(why, why_len, "genesis: admins.%s.pubkey is not a valid key", admin_posts[i]);
    }
    return rc;
}

static idl_err
parse_validators(struct genesis *g, json_t *vals, char *why, size_t why_len)
{
    static const char *const fields[] = {"name", "pubkey", "power", NULL};
    size_t n = json_array_size(vals);
    if (!json_is_array(vals) || n == 0 || n > LEDGER_VALIDATORS_MAX)
        return bad(why, why_len, "genesis: validators must list 1 to %d validators",
                   LEDGER_VALIDATORS_MAX);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(vals, i);
        struct ledger_validator *val = &g->ledger.validators[i];
        char where[32];
        snprintf(where, sizeof(where), "validators[%zu]", i);
        idl_err rc = members_check(v, "validators[]", fields, why, why_len);
        if (!rc)
            rc = get_str(v, where, "name", val->name, sizeof(val->name), why, why_len);
        if (!rc)
            rc = get_hex(v, where, "pubkey", val->pubkey, SIG_PUBKEY_BYTES, why, why_len);
        if (!rc && !sig_pubkey_valid(val->pubkey))
            rc = bad(why, why_len, "genesis: validators[%zu].pubkey is not a valid key", i);
        if (rc)
            return rc;
        json_int_t power = json_integer_value(json_object_get(v, "power"));
        if (power < 1 || power > LEDGER_VALIDATOR_POWER_MAX)
            return bad(why, why_len, "genesis: validator %s needs a power from 1 to %d",
                       val->name, LEDGER_VALIDATOR_POWER_MAX);
        val->power = (uint64_t)power;
        for (size_t j = 0; j < i; j++)
            if (!memcmp(g->ledger.validators[j].pubkey, val->pubkey, SIG_PUBKEY_BYTES) ||
                !strcmp(g->ledger.validators[j].name, val->name))
                return bad(why, why_len, "genesis: validator %s is listed twice", val->name);
    }
    g->ledger.n_validators = n;
    return IDL_OK;
}

static idl_err
oom(char *why, size_t why_len)
{
    snprintf(why, why_len, "genesis: out of memory");
    return IDL_ERR_NOMEM;
}

/* policy.cert_issuers: hex DER of the CA certificates that may issue (optional). */
static idl_err
parse_issuers(struct genesis *g, json_t *p, char *why, size_t why_len)
{
    json_t *req = json_object_get(p, "cert_issuer_required"), *list;
    if (req && !json_is_boolean(req))
        return bad(why, why_len, "genesis: policy.cert_issuer_required must be true or false");
    g->ledger.policy.cert_issuer_required = json_is_true(req);
    list = json_object_get(p, "cert_issuers");
    size_t n = json_array_size(list);
    if (list && (!json_is_array(list) || n > LEDGER_CERT_ISSUERS_MAX))
        return bad(why, why_len, "genesis: policy.cert_issuers must list at most %d CA "
                                 "certificates",
                   LEDGER_CERT_ISSUERS_MAX);
    if (g->ledger.policy.cert_issuer_required && n == 0)
        return bad(why, why_len, "genesis: cert_issuer_required needs policy.cert_issuers");
    struct ledger_ca *ca = n ? calloc(n, sizeof(*ca)) : NULL;
    if (n && !ca)
        return oom(why, why_len);
    g->ledger.policy.cert_issuers.items = ca;
    for (size_t i = 0; i < n; i++) {
        const char *hex = json_string_value(json_array_get(list, i));
        size_t len = hex ? strlen(hex) / 2 : 0;
        ca[i].der.data = malloc(len ? len : 1);
        if (!ca[i].der.data)
            return oom(why, why_len); /* genesis_wipe frees the ones before */
        ca[i].der.len = len;
        g->ledger.policy.cert_issuers.count = (uint32_t)i + 1;
        struct cert_info ci;
        if (!len || len > 8192 || codec_hex_decode(ca[i].der.data, len, hex) != IDL_OK ||
            cert_parse(&ci, ca[i].der.data, len, NULL, 0) != IDL_OK)
            return bad(why, why_len, "genesis: policy.cert_issuers[%zu] is not the hex of a "
                                     "DER certificate",
                       i);
        cert_info_free(&ci);
    }
    return IDL_OK;
}

static idl_err
parse_policy(struct genesis *g, json_t *p, char *why, size_t why_len)
{
    static const char *const fields[] = {"same_person_sys_sec", "mgmt_business_roles",
                                         "review_interval_days", NULL};
    static const char *const optional[] = {"cert_issuer_required", "cert_issuers", NULL};
    idl_err rc = members_check_opt(p, "policy", fields, optional, why, why_len);
    if (rc)
        return rc;
    rc = parse_issuers(g, p, why, why_len);
    if (rc)
        return rc;
    const char *same = json_string_value(json_object_get(p, "same_person_sys_sec"));
    g->ledger.policy.same_person_sys_sec = (uint8_t)ledger_same_person_parse(same ? same : "");
    if (!g->ledger.policy.same_person_sys_sec)
        return bad(why, why_len,
                   "genesis: policy.same_person_sys_sec must be never, schools or always");
    json_t *mbr = json_object_get(p, "mgmt_business_roles");
    if (!json_is_boolean(mbr))
        return bad(why, why_len, "genesis: policy.mgmt_business_roles must be true or false");
    g->ledger.policy.mgmt_business_roles = json_is_true(mbr);
    json_int_t days = json_integer_value(json_object_get(p, "review_interval_days"));
    if (days < 1 || days > 3660)
        return bad(why, why_len, "genesis: policy.review_interval_days must be 1 to 3660");
    g->ledger.policy.review_interval_days = (uint32_t)days;
    return IDL_OK;
}

static idl_err
parse_root(struct genesis *g, json_t *root, char *why, size_t why_len)
{
    static const char *const fields[] = {"chain_id", "genesis_time", "root",         "admins",
                                         "validators", "policy",     "chain_secret", NULL};
    static const char *const org_fields[] = {"code", "name", NULL};
    idl_err rc = members_check(root, "genesis", fields, why, why_len);
    json_t *org = json_object_get(root, "root");
    if (!rc)
        rc = members_check(org, "root", org_fields, why, why_len);
    struct rec_org *r = &g->ledger.root;
    if (!rc)
        rc = get_str(root, "", "chain_id", g->ledger.chain_id, sizeof(g->ledger.chain_id), why,
                     why_len);
    if (!rc && (!g->ledger.chain_id[0] ||
                !schema_id_valid(g->ledger.chain_id, strlen(g->ledger.chain_id), 0)))
        rc = bad(why, why_len,
                 "genesis: chain_id must be 1 to 32 letters, digits, '.', '_' or '-'");
    if (!rc && parse_time(json_string_value(json_object_get(root, "genesis_time")),
                          &g->ledger.time_ms))
        rc = bad(why, why_len, "genesis: genesis_time must look like 2026-11-23T00:00:00Z");
    if (!rc)
        rc = get_str(org, "root", "code", r->code, sizeof(r->code), why, why_len);
    if (!rc)
        rc = get_str(org, "root", "name", r->name, sizeof(r->name), why, why_len);
    r->kind = ORG_KIND_PROVINCE;
    char schema_why[256];
    if (!rc && schema_check(&rec_org_schema, r, schema_why, sizeof(schema_why)))
        rc = bad(why, why_len, "genesis: root: %s", schema_why);
    if (!rc)
        rc = parse_admins(g, json_object_get(root, "admins"), why, why_len);
    if (!rc)
        rc = parse_validators(g, json_object_get(root, "validators"), why, why_len);
    if (!rc)
        rc = parse_policy(g, json_object_get(root, "policy"), why, why_len);
    if (!rc)
        rc = get_hex(root, "", "chain_secret", g->chain_secret, PERSON_SECRET_BYTES, why,
                     why_len);
    if (!rc && sodium_is_zero(g->chain_secret, PERSON_SECRET_BYTES))
        rc = bad(why, why_len, "genesis: chain_secret is all zeros: it must be 32 random bytes");
    return rc;
}

idl_err
genesis_parse(struct genesis *g, const char *text, size_t len, char *why, size_t why_len)
{
    memset(g, 0, sizeof(*g));
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) /* the position only: jansson's text may quote the chain secret */
        return bad(why, why_len, "genesis: not JSON (line %d, column %d)", jerr.line,
                   jerr.column);
    idl_err rc = parse_root(g, root, why, why_len);
    json_decref(root);
    /* What ledger_open would refuse is refused here, where the operator writes the file. */
    if (!rc && ledger_genesis_check(&g->ledger, why, why_len) != IDL_OK)
        rc = IDL_ERR_INVALID;
    if (rc) {
        genesis_wipe(g);
        return rc;
    }
    genesis_compute_hash(g);
    return IDL_OK;
}

idl_err
genesis_load(struct genesis *g, const char *path, char *why, size_t why_len)
{
    struct idl_bytes text;
    idl_err rc = file_read_all(path, GENESIS_FILE_MAX, &text);
    if (rc) {
        memset(g, 0, sizeof(*g));
        snprintf(why, why_len, "cannot read genesis %s: %s", path, idl_strerror(rc));
        return rc;
    }
    rc = genesis_parse(g, (const char *)text.data, text.len, why, why_len);
    sodium_memzero(text.data, text.len);
    free(text.data);
    return rc;
}

void
genesis_compute_hash(struct genesis *g)
{
    struct ledger_genesis *l = &g->ledger;
    struct codec_writer w;
    codec_writer_init(&w);
    codec_put_u16(&w, (uint16_t)strlen(l->chain_id));
    codec_put_raw(&w, l->chain_id, strlen(l->chain_id));
    codec_put_u64(&w, l->time_ms);
    schema_encode(&rec_org_schema, &l->root, &w);
    for (int i = 0; i < LEDGER_ROOT_ADMINS; i++)
        schema_encode(&rec_account_schema, &l->admins[i], &w);
    codec_put_u16(&w, (uint16_t)l->n_validators);
    for (size_t i = 0; i < l->n_validators; i++)
        schema_encode(&ledger_validator_schema, &l->validators[i], &w);
    schema_encode(&ledger_policy_schema, &l->policy, &w);
    codec_put_raw(&w, g->chain_secret, PERSON_SECRET_BYTES);
    /* The writer only fails on allocation, and a genesis is a few kilobytes. */
    IDL_ASSERT(!w.failed);
    hash_tagged(l->hash, "idledger/genesis", w.data, w.len);
    sodium_memzero(w.data, w.len);
    codec_writer_discard(&w);
}

static void
set_hex(json_t *obj, const char *name, const uint8_t *p, size_t n)
{
    char hex[2 * HASH_BYTES + 1];
    IDL_ASSERT(n <= HASH_BYTES);
    codec_hex_encode(hex, p, n);
    json_object_set_new(obj, name, json_string(hex));
}

char *
genesis_to_json(const struct genesis *g)
{
    const struct ledger_genesis *l = &g->ledger;
    json_t *root = json_object(), *org = json_object(), *admins = json_object();
    json_t *vals = json_array(), *pol = json_object();
    char when[32];
    time_t t = (time_t)(l->time_ms / 1000);
    struct tm tm;
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    json_object_set_new(root, "chain_id", json_string(l->chain_id));
    json_object_set_new(root, "genesis_time", json_string(when));
    json_object_set_new(org, "code", json_string(l->root.code));
    json_object_set_new(org, "name", json_string(l->root.name));
    json_object_set_new(root, "root", org);
    for (int i = 0; i < LEDGER_ROOT_ADMINS; i++) {
        json_t *a = json_object();
        json_object_set_new(a, "id", json_string(l->admins[i].id));
        set_hex(a, "pubkey", l->admins[i].pubkey, SIG_PUBKEY_BYTES);
        set_hex(a, "person", l->admins[i].person, HASH_BYTES);
        json_object_set_new(admins, admin_posts[i], a);
    }
    json_object_set_new(root, "admins", admins);
    for (size_t i = 0; i < l->n_validators; i++) {
        json_t *v = json_object();
        json_object_set_new(v, "name", json_string(l->validators[i].name));
        set_hex(v, "pubkey", l->validators[i].pubkey, SIG_PUBKEY_BYTES);
        json_object_set_new(v, "power", json_integer((json_int_t)l->validators[i].power));
        json_array_append_new(vals, v);
    }
    json_object_set_new(root, "validators", vals);
    json_object_set_new(pol, "same_person_sys_sec",
                        json_string(ledger_same_person_name(l->policy.same_person_sys_sec)));
    json_object_set_new(pol, "mgmt_business_roles", json_boolean(l->policy.mgmt_business_roles));
    json_object_set_new(pol, "review_interval_days",
                        json_integer(l->policy.review_interval_days));
    if (l->policy.cert_issuers.count || l->policy.cert_issuer_required) {
        json_t *cas = json_array();
        const struct ledger_ca *ca = l->policy.cert_issuers.items;
        for (uint32_t i = 0; i < l->policy.cert_issuers.count; i++) {
            char *hex = malloc(2 * ca[i].der.len + 1);
            if (hex) {
                codec_hex_encode(hex, ca[i].der.data, ca[i].der.len);
                json_array_append_new(cas, json_string(hex));
            }
            free(hex);
        }
        json_object_set_new(pol, "cert_issuer_required",
                            json_boolean(l->policy.cert_issuer_required));
        json_object_set_new(pol, "cert_issuers", cas);
    }
    json_object_set_new(root, "policy", pol);
    set_hex(root, "chain_secret", g->chain_secret, PERSON_SECRET_BYTES);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    return text;
}

idl_err
genesis_save(const struct genesis *g, const char *path)
{
    char *text = genesis_to_json(g);
    if (!text)
        return IDL_ERR_NOMEM;
    size_t n = strlen(text);
    idl_err rc = file_write_atomic(path, text, n, 0600);
    sodium_memzero(text, n);
    free(text);
    return rc;
}

void
genesis_policy_default(struct ledger_policy *p)
{
    p->same_person_sys_sec = SAME_SCHOOLS;
    p->mgmt_business_roles = 0;
    p->review_interval_days = 182;
}

void
genesis_wipe(struct genesis *g)
{
    schema_free(&ledger_policy_schema, &g->ledger.policy);
    sodium_memzero(g, sizeof(*g));
}

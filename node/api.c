/*
 * The API framework: one NNG handler for the whole tree, a route table, authentication,
 * parameter and body checks, JSON replies.
 *
 * Every route declares the query parameters it takes; any other parameter is refused with
 * 400 before the handler runs, so a misspelt parameter is never silently ignored.
 *
 * Bodies are read here, not by NNG: NNG would answer a body over its limit with its own
 * 400 page, and treat a chunked body as none. The handler sees the headers first, finds
 * the route, refuses a Content-Length over the route's limit with 413 and a chunked body
 * with 411 (both JSON, and the connection closed, since the body stays unread), and only
 * then reads the body, asynchronously, into memory of its exact size.
 */
#include "node/api.h"

#include <ctype.h>
#include <errno.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ledger/codec.h"
#include "ledger/schema.h"
#include "ledger/sig.h"
#include "node/api_internal.h"
#include "node/log.h"

struct api {
    struct node *n;
    nng_http_server *srv;
    nng_http_handler *h;
};

/*
 * Who may call a route. A business system proves itself with its token; a management
 * account by signing the request (authenticate_signed). Reads of account data take a
 * token; what only administrators may do (seal personal data, read the read audit) takes
 * a signature, which also names the person in the read audit.
 */
enum auth {
    AUTH_OPEN,     /* anyone */
    AUTH_TOKEN,    /* a business system's token */
    AUTH_SIGNED,   /* a request signed by an active management account */
    AUTH_SYSADMIN, /* a request signed by an active system administrator */
};

struct route {
    const char *method;
    const char *pattern; /* '*' matches one segment */
    int auth;            /* enum auth */
    const char *params;  /* allowed query parameters, comma-separated */
    void (*fn)(struct api_req *r);
    size_t body_max;     /* 0: API_BODY_ROUTE_MAX */
    const char *purpose; /* what a signed route does, for refusals ("seal personal data") */
};

static const struct route routes[] = {
    {"GET", "/v1/status", AUTH_OPEN, "", api_h_status},
    {"POST", "/v1/tx", AUTH_OPEN, "", api_h_tx_post},
    {"POST", "/v1/txs", AUTH_OPEN, "", api_h_txs_post, API_BODY_MAX},
    {"GET", "/v1/tx/*", AUTH_TOKEN, "", api_h_tx_get},
    {"GET", "/v1/accounts/*", AUTH_TOKEN, "", api_h_account},
    {"GET", "/v1/accounts/*/nonce", AUTH_TOKEN, "", api_h_nonce},
    {"GET", "/v1/keys/*", AUTH_TOKEN, "", api_h_key},
    {"GET", "/v1/verify", AUTH_TOKEN, "account,system,role,org", api_h_verify},
    {"GET", "/v1/orgs/*", AUTH_TOKEN, "", api_h_org},
    {"GET", "/v1/audit", AUTH_TOKEN, "org,actor,since_height,to_height,posts,limit,after", api_h_audit},
    {"GET", "/v1/blocks/*", AUTH_TOKEN, "", api_h_block},
    {"POST", "/v1/persons/seal", AUTH_SYSADMIN, "", api_h_seal, 0, "seal personal data"},
    {"GET", "/v1/certs/*", AUTH_TOKEN, "", api_h_cert_get},
    {"GET", "/v1/certs/applications/*", AUTH_TOKEN, "", api_h_cert_application},
    {"POST", "/v1/certs/seal", AUTH_TOKEN, "", api_h_cert_seal},
    {"POST", "/v1/certs/verify-signature", AUTH_TOKEN, "", api_h_verify_signature},
    {"POST", "/v1/realname/check", AUTH_TOKEN, "", api_h_realname},
    {"GET", "/v1/read-audit", AUTH_SIGNED, "org,since,limit", api_h_read_audit},
    {"GET", "/v1/reports/business-accounts", AUTH_TOKEN, "org", api_h_report_business},
    {"GET", "/v1/reports/review", AUTH_TOKEN, "org", api_h_report_review},
    {"GET", "/v1/reports/audit", AUTH_TOKEN, "org,from_height,to_height,format,limit,after",
     api_h_report_audit},
    {"POST", "/v1/persons/seal-batch", AUTH_SYSADMIN, "", api_h_seal_batch, API_BODY_MAX,
     "seal personal data"},
    {"GET", "/health/live", AUTH_OPEN, "", api_h_live},
    {"GET", "/health/ready", AUTH_OPEN, "", api_h_ready},
    {"GET", "/metrics", AUTH_OPEN, "", api_h_metrics},
};

/* ---- replies ---- */

void
api_reply(struct api_req *r, int status, json_t *body)
{
    json_decref(r->json);
    free(r->text);
    r->text = NULL;
    r->content_type = NULL;
    r->status = status;
    r->json = body;
}

void
api_reply_text(struct api_req *r, int status, char *text)
{
    if (!text) {
        api_error(r, 503, "unavailable", "out of memory for the reply");
        return;
    }
    json_decref(r->json);
    r->json = NULL;
    free(r->text);
    r->content_type = NULL;
    r->status = status;
    r->text = text;
}

void
api_text_scrub(char *s)
{
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;
        if (n <= len - i && schema_text_valid(s + i, n)) {
            i += n;
        } else {
            s[i++] = '?';
        }
    }
}

void
api_error(struct api_req *r, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    api_text_scrub(msg);
    api_reply(r, status, json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg));
}

int
api_status_of(idl_err err)
{
    switch (err) {
    case IDL_OK:
        return 200;
    case IDL_ERR_MALFORMED:
    case IDL_ERR_TOO_LARGE:
    case IDL_ERR_VERSION:
    case IDL_ERR_CHAIN:
    case IDL_ERR_INVALID:
        return 400;
    case IDL_ERR_SIGNATURE:
    case IDL_ERR_DENIED:
    case IDL_ERR_POLICY:
        return 403;
    case IDL_ERR_NOT_FOUND:
        return 404;
    case IDL_ERR_NONCE:
    case IDL_ERR_EXISTS:
    case IDL_ERR_STATE:
        return 409;
    case IDL_ERR_UNAVAILABLE:
    case IDL_ERR_TIMEOUT:
        return 503;
    default:
        return 500;
    }
}

void
api_fail(struct api_req *r, idl_err err, const char *why)
{
    api_error(r, api_status_of(err), idl_errname(err), "%s", why && why[0] ? why : idl_strerror(err));
}

json_t *
api_hex(const uint8_t *p, size_t n)
{
    char buf[2 * 64 + 1];
    IDL_ASSERT(n <= 64);
    codec_hex_encode(buf, p, n);
    return json_string(buf);
}

int
api_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s || s[0] < '0' || s[0] > '9')
        return 0;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno == ERANGE)
        return 0;
    *out = v;
    return 1;
}

const char *
api_param(struct api_req *r, const char *name)
{
    for (int i = 0; i < r->nparams; i++)
        if (strcmp(r->params[i].name, name) == 0) {
            r->params[i].used = 1;
            return r->params[i].value;
        }
    return NULL;
}

json_t *
api_body_object(struct api_req *r, const char *const *allowed)
{
    json_error_t jerr;
    json_t *body = r->body_len
                       ? json_loadb((const char *)r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr)
                       : NULL;
    /* jansson's message quotes the text where parsing stopped, which may be personal data:
     * where, not what. */
    if (!body && r->body_len) {
        api_error(r, 400, "malformed",
                  "the body must be a JSON object: invalid JSON at line %d, column %d", jerr.line,
                  jerr.column);
        return NULL;
    }
    if (!json_is_object(body)) {
        api_error(r, 400, "malformed", "the body must be a JSON object");
        json_decref(body);
        return NULL;
    }
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        int known = 0;
        for (const char *const *a = allowed; *a; a++)
            known |= strcmp(*a, key) == 0;
        if (!known) {
            /* Named only if it looks like a field's name, not like data put in its place. */
            int named = strlen(key) <= 32 && strspn(key, "abcdefghijklmnopqrstuvwxyz_") ==
                                                 strlen(key);
            api_error(r, 400, "malformed", "unknown field%s%s", named ? " " : "",
                      named ? key : " (its name is not repeated)");
            json_decref(body);
            return NULL;
        }
    }
    return body;
}

json_t *
api_body_strings(struct api_req *r, const char *const *allowed)
{
    json_t *body = api_body_object(r, allowed);
    const char *key;
    json_t *v;
    if (body) {
        json_object_foreach(body, key, v)
        {
            if (!json_is_string(v)) {
                api_error(r, 400, "malformed", "%s must be a string", key); /* a known name */
                json_decref(body);
                return NULL;
            }
        }
    }
    return body;
}

/* ---- parsing ---- */

static int
hexval(int c)
{
    return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/*
 * Percent-decodes s in place ('+' too, in queries). Returns -1 on a bad escape, a NUL, what
 * is not UTF-8 text without control characters (a handler would echo it in its JSON answer,
 * which must be UTF-8, or write it to the read audit), or more than API_TEXT_MAX bytes.
 */
static int
url_decode(char *s, int plus)
{
    char *start = s, *o = s;
    for (; *s; s++) {
        if (*s == '%') {
            if (!isxdigit((unsigned char)s[1]) || !isxdigit((unsigned char)s[2]))
                return -1;
            char c = (char)(hexval((unsigned char)s[1]) * 16 + hexval((unsigned char)s[2]));
            if (c == 0)
                return -1;
            *o++ = c;
            s += 2;
        } else {
            *o++ = plus && *s == '+' ? ' ' : *s;
        }
    }
    *o = '\0';
    size_t len = (size_t)(o - start);
    return len <= API_TEXT_MAX && schema_text_valid(start, len) ? 0 : -1;
}

/* Splits "/a/b?x=1&y=2" (copied into buf) into r's segments and parameters. */
static int
parse_uri(struct api_req *r, char *buf)
{
    char *q = strchr(buf, '?');
    if (q)
        *q++ = '\0';
    if (buf[0] != '/')
        return -1;
    char *save = NULL;
    for (char *seg = strtok_r(buf, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
        if (r->nseg == API_SEGS_MAX || url_decode(seg, 0) != 0)
            return -1;
        r->segs[r->nseg++] = seg;
    }
    for (char *kv = q ? strtok_r(q, "&", &save) : NULL; kv; kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq || r->nparams == API_PARAMS_MAX)
            return -1;
        *eq = '\0';
        if (url_decode(kv, 1) != 0 || url_decode(eq + 1, 1) != 0 || !kv[0])
            return -1; /* a parameter without a name, too */
        r->params[r->nparams++] = (struct api_param){kv, eq + 1, 0};
    }
    return 0;
}

/* Does the route's pattern match r's path? A "*" segment matches any one segment. */
static int
route_match(const struct route *rt, const struct api_req *r)
{
    int i = 0;
    for (const char *p = rt->pattern; *p == '/'; i++) {
        const char *seg = p + 1;
        size_t n = strcspn(seg, "/");
        p = seg + n;
        if (i >= r->nseg)
            return 0;
        if (!(n == 1 && seg[0] == '*') && (strncmp(seg, r->segs[i], n) || r->segs[i][n]))
            return 0;
    }
    return i == r->nseg;
}

static int
params_allowed(struct api_req *r, const char *allowed)
{
    for (int i = 0; i < r->nparams; i++) {
        const char *p = strstr(allowed, r->params[i].name);
        size_t n = strlen(r->params[i].name);
        IDL_ASSERT(n > 0); /* parse_uri refuses a nameless one: strstr would find "" anywhere */
        int ok = 0;
        while (p && !ok) {
            ok = (p == allowed || p[-1] == ',') && (p[n] == ',' || p[n] == '\0');
            p = strstr(p + 1, r->params[i].name);
        }
        if (!ok) {
            api_error(r, 400, "malformed", "unknown parameter %.64s", r->params[i].name);
            return 0;
        }
        for (int j = 0; j < i; j++)
            if (!strcmp(r->params[j].name, r->params[i].name)) {
                api_error(r, 400, "malformed", "parameter %.64s is given twice",
                          r->params[i].name);
                return 0;
            }
    }
    return 1;
}

/* The signer of a signed request, named by id or by public key, as its account record. */
static idl_err
signer_load(struct api_req *r, const char *actor, const char *keyhex, struct rec_account *a)
{
    char id[LEDGER_ID_MAX + 1];
    snprintf(id, sizeof(id), "%s", actor);
    if (keyhex[0]) {
        uint8_t pk[SIG_PUBKEY_BYTES];
        struct state_key k;
        struct idl_bytes v;
        if (codec_hex_decode(pk, SIG_PUBKEY_BYTES, keyhex) != IDL_OK)
            return IDL_ERR_MALFORMED;
        state_key_init(&k, SP_PUBKEY);
        state_key_raw(&k, pk, SIG_PUBKEY_BYTES);
        idl_err rc = store_get(ledger_store(r->n->ledger), k.b, k.len, &v);
        if (rc)
            return rc;
        snprintf(id, sizeof(id), "%.*s", (int)v.len, (const char *)v.data);
        free(v.data);
    }
    struct state *st;
    idl_err rc = state_new(&st, ledger_store(r->n->ledger));
    if (!rc) {
        rc = state_account_get(st, id, a);
        state_free(st);
    }
    return rc;
}

/*
 * A request signed by a management account:
 *   Authorization: IDL-Sig actor=ID,time=UNIX_MS,sig=HEX     (the signer by account id)
 *   Authorization: IDL-Sig key=PUBKEY,time=UNIX_MS,sig=HEX   (or by its public key)
 * where sig signs api_request_sighash_body(chain id, method, uri, time, body): the body
 * is bound too, so a signature seen once cannot carry another request's data. The time
 * must be within five minutes of ours, the signer an active management account, and for
 * AUTH_SYSADMIN routes a system administrator.
 */
static int
authenticate_signed(struct api_req *r, nng_http_req *req, int auth, const char *purpose)
{
    const char *h = nng_http_req_get_header(req, "Authorization");
    char actor[LEDGER_ID_MAX + 1] = "", keyhex[2 * SIG_PUBKEY_BYTES + 1] = "";
    char sighex[2 * SIG_BYTES + 1] = "";
    unsigned long long t = 0;
    uint8_t sig[SIG_BYTES], msg[HASH_BYTES];
    int end = 0, end2 = 0; /* the header must end with the signature: nothing after it */
    int named =
        h && ((sscanf(h, "IDL-Sig actor=%64[A-Za-z0-9._-],time=%llu,sig=%128[0-9a-fA-F]%n",
                      actor, &t, sighex, &end) == 3 &&
               !h[end]) ||
              (sscanf(h, "IDL-Sig key=%64[0-9a-fA-F],time=%llu,sig=%128[0-9a-fA-F]%n", keyhex,
                      &t, sighex, &end2) == 3 &&
               !h[end2]));
    if (!named || codec_hex_decode(sig, SIG_BYTES, sighex) != IDL_OK) {
        api_error(r, 401, "unauthorized",
                  "this endpoint needs a request signed by a %s (Authorization: IDL-Sig ...)",
                  auth == AUTH_SYSADMIN ? "system administrator" : "management account");
        return 0;
    }
    uint64_t now = node_now_ms();
    if (t + 300000 < now || t > now + 300000) {
        api_error(r, 401, "unauthorized", "the signed request's time is off by over 5 minutes");
        return 0;
    }
    api_request_sighash_body(msg, r->n->genesis.chain_id, r->method, nng_http_req_get_uri(req),
                             t, r->body, r->body_len);
    struct rec_account a;
    idl_err rc = signer_load(r, actor, keyhex, &a);
    if (rc || a.class != CLASS_MANAGEMENT || !sig_verify(sig, msg, a.pubkey)) {
        api_error(r, 401, "unauthorized", "the request is not signed by a management account");
        return 0;
    }
    /* Known and signed by its holder, but not allowed: that is the ledger's kind of "no". */
    if (a.status != STATUS_ACTIVE) {
        api_error(r, 403, "denied", "%s is %s: only an active management account may do this",
                  a.id, ledger_status_name(a.status));
        return 0;
    }
    if (auth == AUTH_SYSADMIN && a.post != POST_SYSADMIN) {
        api_error(r, 403, "denied", "only a system administrator may %s; %s is the %s of %s",
                  purpose, a.id, ledger_post_name(a.post), a.org);
        return 0;
    }
    snprintf(r->signer, sizeof(r->signer), "%s", a.id);
    snprintf(r->signer_org, sizeof(r->signer_org), "%s", a.org);
    snprintf(r->client, sizeof(r->client), "account:%s", a.id);
    return 1;
}

static int
authenticate(struct api_req *r, nng_http_req *req)
{
    if (r->n->open_api)
        return 1;
    const char *h = nng_http_req_get_header(req, "Authorization");
    char name[TOKEN_NAME_MAX + 1];
    if (h && strncmp(h, "Bearer ", 7) == 0 && tokens_check(r->n->tokens, h + 7, name)) {
        snprintf(r->client, sizeof(r->client), "%s", name);
        return 1;
    }
    bool fresh;
    idl_err err = tokens_error(r->n->tokens, &fresh);
    if (err && fresh)
        log_error("cannot read tokens.json: no token is accepted until it can be read",
                  "{s:s}", "error", idl_strerror(err));
    api_error(r, 401, "unauthorized", "%s",
              err ? "this node cannot read its token file: no token is accepted now"
                  : "this endpoint needs a business-system token: Authorization: Bearer TOKEN");
    return 0;
}

/*
 * One request from its headers to its reply. It lives on the heap because the body is
 * read asynchronously between the two; `uri` holds the parsed path that r's segments and
 * parameters point into.
 */
struct api_call {
    struct api *a;
    nng_aio *aio;     /* NNG's: finished with the reply */
    nng_http_req *req;
    nng_aio *rd;      /* our read of the body, or NULL */
    uint8_t *body;
    size_t body_len;
    bool close;       /* the body was not read: the connection cannot carry another request */
    const struct route *route;
    struct api_req r;
    char uri[2048];
};

/* Finds r's route from the path and the method; sets the 404/405/400 reply if none. */
static const struct route *
route_find(struct api_call *c)
{
    struct api_req *r = &c->r;
    const char *uri = nng_http_req_get_uri(c->req);
    if (strlen(uri) >= sizeof(c->uri) ||
        (snprintf(c->uri, sizeof(c->uri), "%s", uri), parse_uri(r, c->uri))) {
        api_error(r, 400, "malformed",
                  "cannot parse the request path: each part of the path and each parameter "
                  "must be percent-encoded UTF-8 text of at most %d bytes, without NUL or "
                  "control characters",
                  API_TEXT_MAX);
        return NULL;
    }
    const struct route *found = NULL;
    int path_known = 0;
    for (size_t i = 0; i < IDL_ARRAY_LEN(routes) && !found; i++) {
        if (!route_match(&routes[i], r))
            continue;
        path_known = 1;
        if (strcmp(routes[i].method, r->method) == 0)
            found = &routes[i];
    }
    if (!found) {
        if (path_known)
            api_error(r, 405, "method", "%s is not allowed here", r->method);
        else
            api_error(r, 404, "not_found", "no such endpoint");
    }
    return found;
}

/*
 * The body's length from the headers, checked against the route's limit before a byte
 * of it is read. Returns 0 with the reply set (and the connection to close) if refused.
 */
static int
body_length(struct api_call *c, size_t *len)
{
    struct api_req *r = &c->r;
    const char *te = nng_http_req_get_header(c->req, "Transfer-Encoding");
    const char *cl = nng_http_req_get_header(c->req, "Content-Length");
    size_t max = c->route && c->route->body_max ? c->route->body_max : API_BODY_ROUTE_MAX;
    unsigned long long n = 0;
    char *end = NULL;
    *len = 0;
    if (te && strcasecmp(te, "identity") != 0) {
        c->close = true;
        api_error(r, 411, "length_required",
                  "send the body with a Content-Length (chunked bodies are not accepted)");
        return 0;
    }
    if (cl && (errno = 0, n = strtoull(cl, &end, 10), !isdigit((unsigned char)cl[0]) || *end ||
               errno == ERANGE)) {
        c->close = true;
        api_error(r, 400, "malformed", "Content-Length is not a number");
        return 0;
    }
    if (n > max) {
        c->close = true;
        api_error(r, 413, "too_large", "the body is over %zu bytes", max);
        return 0;
    }
    *len = (size_t)n;
    return 1;
}

/* Runs the route's checks and handler on the complete request. */
static void
call_run(struct api_call *c)
{
    struct api_req *r = &c->r;
    const struct route *rt = c->route;
    r->body = c->body;
    r->body_len = c->body_len;
    const char *type = nng_http_req_get_header(c->req, "Content-Type");
    r->body_binary = type && !strncasecmp(type, "application/octet-stream", 24);
    if (!params_allowed(r, rt->params) ||
        (rt->auth == AUTH_TOKEN && !authenticate(r, c->req)) ||
        ((rt->auth == AUTH_SIGNED || rt->auth == AUTH_SYSADMIN) &&
         !authenticate_signed(r, c->req, rt->auth, rt->purpose ? rt->purpose : "do this")))
        return;
    rt->fn(r);
}

static void
call_free(struct api_call *c)
{
    if (c->rd)
        nng_aio_reap(c->rd); /* may be its own callback that frees it */
    free(c->body);
    json_decref(c->r.json);
    free(c->r.text);
    free(c);
}

/* Sends c's reply (NNG writes it; the caller's aio finishes) and frees c. */
static void
call_reply(struct api_call *c)
{
    struct api_req *r = &c->r;
    nng_aio *aio = c->aio;
    if (!r->json && !r->text)
        api_error(r, 500, "internal", "no reply");
    nng_http_res *res;
    if (nng_http_res_alloc(&res) != 0) {
        call_free(c);
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    char *out = r->text ? r->text : json_dumps(r->json, JSON_COMPACT | JSON_PRESERVE_ORDER);
    r->text = NULL;
    nng_http_res_set_status(res, (uint16_t)r->status);
    if (r->status == 413) /* NNG 1.5 knows no reason phrase for it */
        nng_http_res_set_reason(res, "Content Too Large");
    nng_http_res_set_header(res, "Content-Type",
                            r->content_type ? r->content_type : "application/json; charset=utf-8");
    if (r->status == 401)
        nng_http_res_set_header(res, "WWW-Authenticate", "Bearer");
    if (c->close)
        nng_http_res_set_header(res, "Connection", "close");
    if (out)
        nng_http_res_copy_data(res, out, strlen(out));
    free(out);
    atomic_fetch_add(&c->a->n->metrics.http[r->status / 100 < 6 ? r->status / 100 : 0], 1);
    call_free(c);
    nng_aio_set_output(aio, 0, res);
    nng_aio_finish(aio, 0);
}

/* The body has arrived (or the connection failed, or it took too long). */
static void
body_read(void *arg)
{
    struct api_call *c = arg;
    int rv = nng_aio_result(c->rd);
    if (rv) {
        /* Nothing can be answered on a connection that broke mid-body: NNG closes it. */
        nng_aio *aio = c->aio;
        call_free(c);
        nng_aio_finish(aio, rv);
        return;
    }
    call_run(c);
    call_reply(c);
}

static void
handle(nng_aio *aio)
{
    struct api *a = nng_http_handler_get_data(nng_aio_get_input(aio, 1));
    struct api_call *c = calloc(1, sizeof(*c));
    if (!c) {
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    c->a = a;
    c->aio = aio;
    c->req = nng_aio_get_input(aio, 0);
    c->r = (struct api_req){.n = a->n, .method = nng_http_req_get_method(c->req), .status = 500};
    size_t len = 0;
    c->route = route_find(c);
    if (!c->route) {
        /* An unread body would be taken for the next request: end the connection. */
        const char *cl = nng_http_req_get_header(c->req, "Content-Length");
        c->close = nng_http_req_get_header(c->req, "Transfer-Encoding") ||
                   (cl && strspn(cl, "0") != strlen(cl));
        call_reply(c);
        return;
    }
    if (!body_length(c, &len)) {
        call_reply(c);
        return;
    }
    if (len == 0) {
        call_run(c);
        call_reply(c);
        return;
    }
    nng_http_conn *conn = nng_aio_get_input(aio, 2);
    c->body = malloc(len);
    c->body_len = len;
    if (!c->body || nng_aio_alloc(&c->rd, body_read, c) != 0) {
        c->close = true;
        api_error(&c->r, 503, "unavailable", "out of memory for a body of %zu bytes", len);
        call_reply(c);
        return;
    }
    nng_iov iov = {.iov_buf = c->body, .iov_len = len};
    nng_aio_set_iov(c->rd, 1, &iov);
    nng_aio_set_timeout(c->rd, API_BODY_TIMEOUT_MS);
    nng_http_conn_read_all(conn, c->rd);
}

/* NNG answers broken HTTP itself (a bad request line or headers), before our handler, and
 * serves the page as text/html; the body at least is our JSON. */
static const char error_page_400[] =
    "{\"error\":{\"code\":\"malformed\",\"message\":\"bad request: malformed HTTP\"}}";

idl_err
api_start(struct api **out, struct node *n, char *why, size_t why_len)
{
    *out = NULL;
    struct api *a = calloc(1, sizeof(*a));
    if (!a)
        return IDL_ERR_NOMEM;
    a->n = n;
    char url[CONFIG_ADDR_MAX + 16];
    snprintf(url, sizeof(url), "http://%s", n->cfg.api_listen);
    nng_url *u = NULL;
    int rv = nng_url_parse(&u, url);
    if (!rv)
        rv = nng_http_server_hold(&a->srv, u);
    nng_url_free(u);
    if (!rv)
        rv = nng_http_handler_alloc(&a->h, "/", handle);
    if (!rv)
        rv = nng_http_handler_set_method(a->h, NULL); /* every method: we route ourselves */
    if (!rv)
        rv = nng_http_handler_set_tree(a->h);
    if (!rv)
        rv = nng_http_handler_collect_body(a->h, false, 0); /* handle() reads bodies */
    if (!rv)
        rv = nng_http_handler_set_data(a->h, a, NULL);
    if (!rv)
        rv = nng_http_server_add_handler(a->srv, a->h);
    if (!rv)
        rv = nng_http_server_set_error_page(a->srv, 400, error_page_400);
    if (!rv)
        rv = nng_http_server_start(a->srv);
    if (rv) {
        snprintf(why, why_len, "cannot serve the API on %s: %s", n->cfg.api_listen,
                 nng_strerror(rv));
        if (a->srv)
            nng_http_server_release(a->srv);
        free(a);
        return IDL_ERR_IO;
    }
    log_info("api listening", "{s:s, s:s}", "address", n->cfg.api_listen, "auth",
             n->open_api ? "open (loopback development mode: no token needed)" : "token");
    *out = a;
    return IDL_OK;
}

void
api_stop(struct api *a)
{
    if (!a)
        return;
    nng_http_server_stop(a->srv);
    nng_http_server_release(a->srv);
    free(a);
}

/*
 * The API framework: one NNG handler for the whole tree, a route table, token checks,
 * parameter and body checks, JSON replies.
 *
 * Every route declares the query parameters it takes; any other parameter is refused with
 * 400 before the handler runs, so a misspelt parameter is never silently ignored. Bodies
 * are limited by NNG to API_BODY_MAX through the Content-Length check it makes before
 * reading; larger requests get NNG's 400 with our JSON error page.
 */
#include "node/api.h"

#include <ctype.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ledger/codec.h"
#include "ledger/sig.h"
#include "node/api_internal.h"
#include "node/log.h"

struct api {
    struct node *n;
    nng_http_server *srv;
    nng_http_handler *h;
};

enum auth { AUTH_OPEN, AUTH_TOKEN, AUTH_SIGNED };

struct route {
    const char *method;
    const char *pattern; /* '*' matches one segment */
    int auth;            /* enum auth */
    const char *params;  /* allowed query parameters, comma-separated */
    void (*fn)(struct api_req *r);
    size_t body_max;     /* 0: API_BODY_ROUTE_MAX */
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
    {"POST", "/v1/persons/seal", AUTH_TOKEN, "", api_h_seal},
    {"GET", "/v1/certs/*", AUTH_TOKEN, "", api_h_cert_get},
    {"POST", "/v1/certs/seal", AUTH_TOKEN, "", api_h_cert_seal},
    {"POST", "/v1/certs/verify-signature", AUTH_TOKEN, "", api_h_verify_signature},
    {"POST", "/v1/realname/check", AUTH_TOKEN, "", api_h_realname},
    {"GET", "/v1/read-audit", AUTH_SIGNED, "org,since,limit", api_h_read_audit},
    {"GET", "/v1/reports/business-accounts", AUTH_TOKEN, "org", api_h_report_business},
    {"GET", "/v1/reports/review", AUTH_TOKEN, "org", api_h_report_review},
    {"GET", "/v1/reports/audit", AUTH_TOKEN, "org,from_height,to_height,format,limit,after",
     api_h_report_audit},
    {"POST", "/v1/persons/seal-batch", AUTH_TOKEN, "", api_h_seal_batch, API_BODY_MAX},
    {"GET", "/health/live", AUTH_OPEN, "", api_h_live},
    {"GET", "/health/ready", AUTH_OPEN, "", api_h_ready},
    {"GET", "/metrics", AUTH_OPEN, "", api_h_metrics},
};

/* ---- replies ---- */

void
api_reply(struct api_req *r, int status, json_t *body)
{
    json_decref(r->json);
    r->status = status;
    r->json = body;
}

void
api_error(struct api_req *r, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
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
    if (!json_is_object(body)) {
        api_error(r, 400, "malformed", "the body must be a JSON object%s%s",
                  body || !r->body_len ? "" : ": ", body || !r->body_len ? "" : jerr.text);
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
            api_error(r, 400, "malformed", "unknown field %.64s", key);
            json_decref(body);
            return NULL;
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

/* Percent-decodes s in place ('+' too, in queries). Returns -1 on a bad escape or a NUL. */
static int
url_decode(char *s, int plus)
{
    char *o = s;
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
    return 0;
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
        if (url_decode(kv, 1) != 0 || url_decode(eq + 1, 1) != 0)
            return -1;
        r->params[r->nparams++] = (struct api_param){kv, eq + 1, 0};
    }
    return 0;
}

/* Does the route's pattern match r's path? */
static int
route_match(const struct route *rt, const struct api_req *r)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "%s", rt->pattern);
    char *save = NULL;
    int i = 0;
    for (char *p = strtok_r(pat, "/", &save); p; p = strtok_r(NULL, "/", &save), i++)
        if (i >= r->nseg || (strcmp(p, "*") != 0 && strcmp(p, r->segs[i]) != 0))
            return 0;
    return i == r->nseg;
}

static int
params_allowed(struct api_req *r, const char *allowed)
{
    for (int i = 0; i < r->nparams; i++) {
        const char *p = strstr(allowed, r->params[i].name);
        size_t n = strlen(r->params[i].name);
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

/*
 * A request signed by a management account:
 *   Authorization: IDL-Sig actor=ID,time=UNIX_MS,sig=HEX
 * where sig signs tagged("idledger/api-request", chain id | method | uri | u64 time), the
 * time within five minutes of ours, by an active management account's key.
 */
static int
authenticate_signed(struct api_req *r, nng_http_req *req)
{
    const char *h = nng_http_req_get_header(req, "Authorization");
    char actor[LEDGER_ID_MAX + 1] = "", sighex[2 * SIG_BYTES + 1] = "";
    unsigned long long t = 0;
    uint8_t sig[SIG_BYTES], msg[HASH_BYTES];
    if (!h || sscanf(h, "IDL-Sig actor=%64[^,],time=%llu,sig=%128s", actor, &t, sighex) != 3 ||
        codec_hex_decode(sig, SIG_BYTES, sighex) != IDL_OK) {
        api_error(r, 401, "unauthorized",
                  "this endpoint needs a request signed by a management account");
        return 0;
    }
    uint64_t now = node_now_ms();
    if (t + 300000 < now || t > now + 300000) {
        api_error(r, 401, "unauthorized", "the signed request's time is off by over 5 minutes");
        return 0;
    }
    api_request_sighash(msg, r->n->genesis.chain_id, r->method, nng_http_req_get_uri(req), t);
    struct state *st;
    struct rec_account a;
    idl_err rc = state_new(&st, ledger_store(r->n->ledger));
    if (!rc) {
        rc = state_account_get(st, actor, &a);
        state_free(st);
    }
    if (rc || a.class != CLASS_MANAGEMENT || a.status != STATUS_ACTIVE ||
        !sig_verify(sig, msg, a.pubkey)) {
        api_error(r, 401, "unauthorized", "the request is not signed by an active management "
                                          "account");
        return 0;
    }
    snprintf(r->signer, sizeof(r->signer), "%s", actor);
    return 1;
}

static int
authenticate(struct api_req *r, nng_http_req *req)
{
    if (r->n->open_api)
        return 1;
    const char *h = nng_http_req_get_header(req, "Authorization");
    if (h && strncmp(h, "Bearer ", 7) == 0 && tokens_check(r->n->tokens, h + 7, r->client))
        return 1;
    api_error(r, 401, "unauthorized",
              "this endpoint needs a business-system token: Authorization: Bearer TOKEN");
    return 0;
}

static void
dispatch(struct api_req *r, nng_http_req *req)
{
    const char *uri = nng_http_req_get_uri(req);
    char buf[2048];
    if (strlen(uri) >= sizeof(buf) || (snprintf(buf, sizeof(buf), "%s", uri), parse_uri(r, buf))) {
        api_error(r, 400, "malformed", "cannot parse the request path");
        return;
    }
    /* parse_uri points into buf: handlers run before this frame returns. */
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
        return;
    }
    size_t max = found->body_max ? found->body_max : API_BODY_ROUTE_MAX;
    if (r->body_len > max) {
        api_error(r, 413, "too_large", "the body is over %zu bytes", max);
        return;
    }
    if (!params_allowed(r, found->params) ||
        (found->auth == AUTH_TOKEN && !authenticate(r, req)) ||
        (found->auth == AUTH_SIGNED && !authenticate_signed(r, req)))
        return;
    found->fn(r);
}

static void
handle(nng_aio *aio)
{
    nng_http_req *req = nng_aio_get_input(aio, 0);
    struct api *a = nng_http_handler_get_data(nng_aio_get_input(aio, 1));
    struct api_req r = {.n = a->n, .method = nng_http_req_get_method(req), .status = 500};
    void *body;
    size_t body_len;
    nng_http_req_get_data(req, &body, &body_len);
    r.body = body;
    r.body_len = body_len;
    dispatch(&r, req);
    if (!r.json && !r.text)
        api_error(&r, 500, "internal", "no reply");

    nng_http_res *res;
    if (nng_http_res_alloc(&res) != 0) {
        json_decref(r.json);
        free(r.text);
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    char *out = r.text ? r.text : json_dumps(r.json, JSON_COMPACT | JSON_PRESERVE_ORDER);
    nng_http_res_set_status(res, (uint16_t)r.status);
    nng_http_res_set_header(res, "Content-Type",
                            r.content_type ? r.content_type : "application/json; charset=utf-8");
    if (r.status == 401)
        nng_http_res_set_header(res, "WWW-Authenticate", "Bearer");
    if (out)
        nng_http_res_copy_data(res, out, strlen(out));
    free(out);
    json_decref(r.json);
    atomic_fetch_add(&a->n->metrics.http[r.status / 100 < 6 ? r.status / 100 : 0], 1);
    nng_aio_set_output(aio, 0, res);
    nng_aio_finish(aio, 0);
}

/* NNG answers these itself, before our handler: a body over API_BODY_MAX, broken HTTP.
 * It serves the page as text/html; the body at least is our JSON. */
static const char error_page_400[] =
    "{\"error\":{\"code\":\"too_large\",\"message\":\"bad request: malformed HTTP, or a body "
    "over 16777216 bytes\"}}";

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
        rv = nng_http_handler_collect_body(a->h, true, API_BODY_MAX);
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

/*
 * The CLI's HTTP client, on NNG's HTTP client: one connection per call, JSON in and out,
 * the API token sent as a bearer token. Calls are synchronous (nng_aio_wait) with a
 * per-call timeout so an unreachable node fails fast with exit code 3.
 */
#include <stdio.h>
#include <string.h>

#include "cli/http.h"

#define CALL_TIMEOUT_MS 15000

static int
http_call(struct cli *c, const char *method, const char *path, const char *text,
          const char *auth, json_t **reply, char *why, size_t why_len);

int
cli_http(struct cli *c, const char *method, const char *path, json_t *body, json_t **reply,
         char *why, size_t why_len)
{
    char auth[160] = "";
    if (c->token[0])
        snprintf(auth, sizeof(auth), "Bearer %s", c->token);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (body && !text) {
        *reply = NULL;
        snprintf(why, why_len, "out of memory");
        return 0;
    }
    int status = http_call(c, method, path, text, auth[0] ? auth : NULL, reply, why, why_len);
    free(text);
    return status;
}

int
cli_http_auth(struct cli *c, const char *method, const char *path, const char *text,
              const char *auth, json_t **reply, char *why, size_t why_len)
{
    return http_call(c, method, path, text, auth, reply, why, why_len);
}

int
cli_http_request(const struct cli *c, const char *method, const char *path, nng_url **u,
                 nng_http_req **req)
{
    size_t base = strlen(c->node);
    while (base && c->node[base - 1] == '/')
        base--;
    char url[1024], uri[1024];
    const char *scheme = strstr(c->node, "://");
    const char *prefix = scheme ? strchr(scheme + 3, '/') : NULL;
    size_t prefix_len = prefix && prefix < c->node + base ? (size_t)(c->node + base - prefix) : 0;
    *u = NULL;
    *req = NULL;
    if ((size_t)snprintf(url, sizeof(url), "%.*s%s", (int)base, c->node, path) >= sizeof(url) ||
        (size_t)snprintf(uri, sizeof(uri), "%.*s%s", (int)prefix_len, prefix_len ? prefix : "",
                         path) >= sizeof(uri))
        return NNG_EINVAL; /* never a request for a cut path */
    int rv = nng_url_parse(u, url);
    if (!rv)
        rv = nng_http_req_alloc(req, *u);
    if (!rv)
        rv = nng_http_req_set_uri(*req, uri);
    if (!rv)
        rv = nng_http_req_set_method(*req, method);
    if (rv) {
        if (*req)
            nng_http_req_free(*req);
        nng_url_free(*u);
        *u = NULL;
        *req = NULL;
    }
    return rv;
}

static int
http_call(struct cli *c, const char *method, const char *path, const char *text,
          const char *auth, json_t **reply, char *why, size_t why_len)
{
    *reply = NULL;
    nng_url *u = NULL;
    nng_http_client *client = NULL;
    nng_http_req *req = NULL;
    nng_http_res *res = NULL;
    nng_aio *aio = NULL;
    int status = 0, rv = cli_http_request(c, method, path, &u, &req);
    if (!rv)
        rv = nng_http_client_alloc(&client, u);
    if (!rv)
        rv = nng_http_res_alloc(&res);
    if (!rv)
        rv = nng_aio_alloc(&aio, NULL, NULL);
    if (!rv && auth)
        rv = nng_http_req_set_header(req, "Authorization", auth);
    if (!rv && text) {
        rv = nng_http_req_set_header(req, "Content-Type", "application/json");
        if (!rv)
            rv = nng_http_req_copy_data(req, text, strlen(text));
    }
    if (!rv) {
        nng_aio_set_timeout(aio, CALL_TIMEOUT_MS);
        nng_http_client_transact(client, req, res, aio);
        nng_aio_wait(aio);
        rv = nng_aio_result(aio);
    }
    if (rv) {
        snprintf(why, why_len, "cannot reach the node at %s: %s", c->node, nng_strerror(rv));
    } else {
        status = nng_http_res_get_status(res);
        void *data;
        size_t len;
        nng_http_res_get_data(res, &data, &len);
        *reply = len ? json_loadb(data, len, 0, NULL) : NULL;
        if (!*reply && len)
            snprintf(why, why_len, "the node answered %d with a body that is not JSON", status);
    }
    nng_aio_free(aio);
    if (res)
        nng_http_res_free(res);
    if (req)
        nng_http_req_free(req);
    if (client)
        nng_http_client_free(client);
    nng_url_free(u);
    return status;
}

/*
 * The CLI's HTTP requests at NNG's level, for the callers that keep a connection (import)
 * as well as cli_http (cli.h).
 */
#ifndef IDL_CLI_HTTP_H
#define IDL_CLI_HTTP_H

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "cli/cli.h"

/*
 * Parses the node's URL followed by path into *u (the caller frees it) and makes a request
 * (*req) for method whose URI is the node's own path prefix and then path as given: NNG's
 * URL parser decodes %-escapes, which would put raw UTF-8 or a space on the request line.
 * Returns 0 or an NNG error, with nothing to free then.
 */
int cli_http_request(const struct cli *c, const char *method, const char *path, nng_url **u,
                     nng_http_req **req);

#endif

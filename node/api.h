/*
 * The HTTP API of a node (docs/API.md), on NNG's HTTP server.
 *
 * One NNG handler takes every request; routing, authentication and JSON errors are ours, so
 * unknown paths and wrong methods get JSON answers like everything else. NNG itself
 * answers only what never reaches us (a body over the size limit, malformed HTTP), with the
 * JSON error page installed at start.
 */
#ifndef IDL_NODE_API_H
#define IDL_NODE_API_H

#include "ledger/err.h"

struct api;
struct node;

/* Starts serving on n->cfg.api_listen. Reasons go to why. */
IDL_MUST_USE idl_err api_start(struct api **out, struct node *n, char *why, size_t why_len);
/* Stops serving and waits for handlers in progress. NULL is a no-op. */
void api_stop(struct api *a);

#endif

/*
 * The read-audit log: who asked this node about whom, and when.
 *
 * Every answer that carries account, person or certificate data is recorded: the business
 * system (by its token's name), the endpoint, the account asked about and its
 * organisation, the time. Records are node-local (each node logs the reads it served, not
 * part of the chain's state), in the node's LevelDB under their own prefix, ordered by
 * organisation then time, so an organisation's auditor can list the reads of its accounts.
 * They are written without sync, in the background of the answer: a crash may lose the
 * last instants of the log, never a committed block.
 */
#ifndef IDL_NODE_READAUDIT_H
#define IDL_NODE_READAUDIT_H

#include <stdint.h>

#include "ledger/err.h"
#include "ledger/store.h"

#define READAUDIT_SPACE 'R'

struct readaudit_entry {
    uint64_t time_ms;
    char client[65];   /* business system (token name), or "open" */
    char endpoint[65]; /* e.g. "GET /v1/accounts" */
    char account[65];  /* the account asked about ("" if none) */
    char org[33];      /* its organisation */
};

/* Records one read (errors are counted by the caller, never fatal to the answer). */
IDL_MUST_USE idl_err readaudit_put(struct store *s, const struct readaudit_entry *e);

/* Lists up to limit entries of org from since_ms on; fn is called per entry. */
typedef void (*readaudit_fn)(void *arg, const struct readaudit_entry *e);
IDL_MUST_USE idl_err readaudit_list(struct store *s, const char *org, uint64_t since_ms,
                                    size_t limit, readaudit_fn fn, void *arg);

#endif

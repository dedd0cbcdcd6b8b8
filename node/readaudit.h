/*
 * The read-audit log: who asked this node about whom, and when.
 *
 * Every answer that carries account, person or certificate data is recorded: the business
 * system (by its token's name) or the management account that signed the request, the
 * endpoint, the account asked about and its organisation, the time. Records are
 * node-local (each node logs the reads it served, not part of the chain's state), in the
 * node's LevelDB under their own prefix, ordered by organisation then time, so an
 * organisation's auditor can list the reads of its accounts.
 * They are gathered in memory and written together, without sync, by a background thread
 * at most READAUDIT_DELAY_MS after the read (or at once when READAUDIT_BATCH are waiting,
 * and before any listing): one LevelDB write per batch rather than per answer. A crash may
 * lose the last instants of the log, never a committed block.
 */
#ifndef IDL_NODE_READAUDIT_H
#define IDL_NODE_READAUDIT_H

#include <stdint.h>

#include "ledger/err.h"
#include "ledger/store.h"

#define READAUDIT_SPACE 'R'

/* A reader's name: a token's name, "account:" and a management account's id, or "open". */
#define READAUDIT_CLIENT_MAX (8 + 64)

struct readaudit_entry {
    uint64_t time_ms;
    char client[READAUDIT_CLIENT_MAX + 1]; /* who asked (above) */
    char endpoint[65]; /* e.g. "GET /v1/accounts" */
    char account[65];  /* the account asked about ("" if none) */
    char org[33];      /* its organisation */
};

#define READAUDIT_DELAY_MS 20
#define READAUDIT_BATCH    512

struct readaudit;

/* Starts the log over s (its flushing thread). */
IDL_MUST_USE idl_err readaudit_open(struct readaudit **out, struct store *s);
/* Writes what is waiting and stops. */
void readaudit_close(struct readaudit *ra);

/* Records one read (errors are counted by the caller, never fatal to the answer). */
IDL_MUST_USE idl_err readaudit_put(struct readaudit *ra, const struct readaudit_entry *e);

/* Lists up to limit entries of org from since_ms on, every read recorded so far included;
 * fn is called per entry. */
typedef void (*readaudit_fn)(void *arg, const struct readaudit_entry *e);
IDL_MUST_USE idl_err readaudit_list(struct readaudit *ra, const char *org, uint64_t since_ms,
                                    size_t limit, readaudit_fn fn, void *arg);

#endif

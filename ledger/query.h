/*
 * Reading the state for queries: the verification a business system asks for, and prefix
 * scans over the key spaces of state.h.
 *
 * Queries read the committed store (through a struct state with no layers open, or an
 * iterator, which reads a snapshot), never an executing block. query_verify is the one
 * definition of "may this account act in this role", shared by the HTTP API and the tests.
 */
#ifndef IDL_QUERY_H
#define IDL_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "state.h"
#include "store.h"

#define QUERY_REASON_MAX 256

struct query_verdict {
    bool allowed;
    char reason[QUERY_REASON_MAX]; /* why not, or "ok" */
    char org[LEDGER_CODE_MAX + 1]; /* the account's organisation ("" if no such account) */
};

/*
 * Decides whether `account` may act as `role` in business system `system` at Unix time
 * now_s: the account exists and is active, belongs to `org_scope` or an organisation below
 * it (if org_scope is not NULL), the system exists and has the role, the account holds that
 * grant, and, if the role requires a certificate, one of its certificates is active and
 * within its validity. Returns IDL_OK with the verdict (a "no" is not an error), or a store
 * error.
 */
IDL_MUST_USE idl_err query_verify(struct state *st, const char *account, const char *system,
                                  const char *role, const char *org_scope, uint64_t now_s,
                                  struct query_verdict *out);

/*
 * The certificate situation of an account at now_s, for verify: true if one certificate is
 * active and valid; otherwise why in `why` ("its certificate ... is frozen", ...).
 */
IDL_MUST_USE idl_err query_cert_valid(struct state *st, const char *account, uint64_t now_s,
                                      bool *valid, char *why, size_t why_len);

/*
 * The status an account had at time_ms (from its status history), STATUS_NONE if unborn.
 * IDL_ERR_CORRUPT if a record of the history does not decode or the store reports damage,
 * IDL_ERR_IO if it cannot read: never an answer made from part of the history.
 */
IDL_MUST_USE idl_err query_status_at(struct store *s, const char *account, uint64_t time_ms,
                                     unsigned *status);

/*
 * The status the certificate with fingerprint fp had at time_ms, from its events
 * (SP_CERT_EVENT, every one kept): CERT_NONE before its anchoring or if it never was.
 */
IDL_MUST_USE idl_err query_cert_status_at(struct store *s, const uint8_t fp[HASH_BYTES],
                                          uint64_t time_ms, unsigned *status);

/* True if org is `scope` or below it in the tree. */
IDL_MUST_USE idl_err query_org_within(struct state *st, const char *org, const char *scope,
                                      bool *within);

/*
 * Calls fn for each record whose key starts with prefix, in key order, starting at the
 * first key >= from (or at the prefix if from is NULL), until fn returns non-zero or `limit`
 * records were seen (0 = no limit). Keys and values are views valid during the call.
 * Returns IDL_OK, IDL_ERR_NOMEM, or the store's error if the scan stopped on one
 * (IDL_ERR_CORRUPT, IDL_ERR_IO: fn may then have seen only part of the records).
 */
typedef int (*query_fn)(void *arg, const uint8_t *key, size_t key_len, const uint8_t *val,
                        size_t val_len);
IDL_MUST_USE idl_err query_scan(struct store *s, const struct state_key *prefix,
                                const struct state_key *from, size_t limit, query_fn fn, void *arg);

/*
 * query_scan over an actor's audit entries from (height, index, record) on: fn sees each
 * entry's key and record as filed by organisation (SP_AUDIT_ORG), in the actor's order. An
 * entry by actor whose record is missing is IDL_ERR_CORRUPT.
 */
IDL_MUST_USE idl_err query_audit_by_actor(struct store *s, const char *actor, uint64_t height,
                                          uint32_t index, uint32_t record, query_fn fn,
                                          void *arg);

/* The text following the prefix of a key, up to its NUL separator (for "A" org NUL id NUL). */
size_t query_key_part(const uint8_t *key, size_t key_len, size_t offset, char *out, size_t out_len);

#endif

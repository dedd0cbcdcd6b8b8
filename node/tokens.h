/*
 * API tokens of business systems: HOME/tokens.json.
 *
 *   {"tokens": [{"name": "teacher-system", "sha256": HEX, "created": "2026-11-23T10:00:00Z"}]}
 *
 * A token is "idl_" followed by 64 hex digits (32 random bytes). Only its SHA-256 is
 * stored: a copy of the home directory does not give access. `idledgerd --home DIR token
 * add NAME` prints a new token once; `token list` shows names; `token revoke NAME` removes
 * it.
 *
 * A running node sees every change at the next request: each check stats the file (a
 * system call, no read) and re-reads it when its inode, size, modification or change time
 * differ from what was read. It fails closed: a file that is gone holds no token, and one
 * that cannot be read or parsed accepts no token until it can (tokens_error says why).
 */
#ifndef IDL_NODE_TOKENS_H
#define IDL_NODE_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ledger/err.h"

#define TOKEN_NAME_MAX 64
#define TOKEN_TEXT_LEN (4 + 64)

struct tokens;

IDL_MUST_USE idl_err tokens_open(struct tokens **out, const char *home);
void tokens_close(struct tokens *t);

/*
 * True if `presented` is a current token (the file as it is now, see above); its system's
 * name goes to name. Constant-time in the token's bytes. Thread-safe.
 */
bool tokens_check(struct tokens *t, const char *presented, char name[TOKEN_NAME_MAX + 1]);

/*
 * Why the file could not be read at the last check (IDL_OK if it could), and whether that
 * is news: *fresh is true once per new error, so the caller logs it once.
 */
idl_err tokens_error(struct tokens *t, bool *fresh);

/* Adds a token for NAME and writes its text (TOKEN_TEXT_LEN + 1 bytes). IDL_ERR_EXISTS. */
IDL_MUST_USE idl_err tokens_add(const char *home, const char *name, char *token_out);
/* Removes NAME's token. IDL_ERR_NOT_FOUND. */
IDL_MUST_USE idl_err tokens_revoke(const char *home, const char *name);
/* Writes "NAME<TAB>CREATED" lines to out. */
IDL_MUST_USE idl_err tokens_list(const char *home, FILE *out);

#endif

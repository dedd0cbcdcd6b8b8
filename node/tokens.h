/*
 * API tokens of business systems: HOME/tokens.json.
 *
 *   {"tokens": [{"name": "teacher-system", "sha256": HEX, "created": "2026-11-23T10:00:00Z"}]}
 *
 * A token is "idl_" followed by 64 hex digits (32 random bytes). Only its SHA-256 is
 * stored: a copy of the home directory does not give access. `idledgerd --home DIR token
 * add NAME` prints a new token once; `token list` shows names; `token revoke NAME` removes
 * it. A running node sees changes within a second (it re-reads the file when it changes).
 */
#ifndef IDL_NODE_TOKENS_H
#define IDL_NODE_TOKENS_H

#include <stdbool.h>
#include <stddef.h>

#include "ledger/err.h"

#define TOKEN_NAME_MAX 64
#define TOKEN_TEXT_LEN (4 + 64)

struct tokens;

IDL_MUST_USE idl_err tokens_open(struct tokens **out, const char *home);
void tokens_close(struct tokens *t);

/*
 * True if `presented` is a current token; its system's name goes to name. Constant-time in
 * the token's bytes.
 */
bool tokens_check(struct tokens *t, const char *presented, char name[TOKEN_NAME_MAX + 1]);

/* Adds a token for NAME and writes its text (TOKEN_TEXT_LEN + 1 bytes). IDL_ERR_EXISTS. */
IDL_MUST_USE idl_err tokens_add(const char *home, const char *name, char *token_out);
/* Removes NAME's token. IDL_ERR_NOT_FOUND. */
IDL_MUST_USE idl_err tokens_revoke(const char *home, const char *name);
/* Prints "NAME CREATED" lines to stdout. */
IDL_MUST_USE idl_err tokens_list(const char *home);

#endif

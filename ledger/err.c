/*
 * Names for the error codes. The two tables are indexed by the enum and checked against
 * its length at compile time, so adding a code without a name does not build.
 */
#include "err.h"

static const char *const messages[] = {
    [IDL_OK] = "ok",
    [IDL_ERR_NOMEM] = "out of memory",
    [IDL_ERR_IO] = "input/output error",
    [IDL_ERR_CORRUPT] = "stored data is corrupt",
    [IDL_ERR_MALFORMED] = "malformed input",
    [IDL_ERR_TOO_LARGE] = "input too large",
    [IDL_ERR_VERSION] = "unknown version",
    [IDL_ERR_CHAIN] = "wrong chain",
    [IDL_ERR_SIGNATURE] = "bad signature",
    [IDL_ERR_NONCE] = "bad nonce",
    [IDL_ERR_NOT_FOUND] = "not found",
    [IDL_ERR_EXISTS] = "already exists",
    [IDL_ERR_DENIED] = "permission denied",
    [IDL_ERR_STATE] = "wrong state",
    [IDL_ERR_POLICY] = "refused by policy",
    [IDL_ERR_INVALID] = "invalid value",
    [IDL_ERR_CRYPTO] = "cryptographic failure",
    [IDL_ERR_UNAVAILABLE] = "unavailable",
    [IDL_ERR_TIMEOUT] = "timed out",
    [IDL_ERR_NOT_FILE] = "not a regular file",
};

static const char *const names[] = {
    [IDL_OK] = "ok",
    [IDL_ERR_NOMEM] = "nomem",
    [IDL_ERR_IO] = "io",
    [IDL_ERR_CORRUPT] = "corrupt",
    [IDL_ERR_MALFORMED] = "malformed",
    [IDL_ERR_TOO_LARGE] = "too_large",
    [IDL_ERR_VERSION] = "version",
    [IDL_ERR_CHAIN] = "wrong_chain",
    [IDL_ERR_SIGNATURE] = "bad_signature",
    [IDL_ERR_NONCE] = "bad_nonce",
    [IDL_ERR_NOT_FOUND] = "not_found",
    [IDL_ERR_EXISTS] = "exists",
    [IDL_ERR_DENIED] = "denied",
    [IDL_ERR_STATE] = "wrong_state",
    [IDL_ERR_POLICY] = "policy",
    [IDL_ERR_INVALID] = "invalid",
    [IDL_ERR_CRYPTO] = "crypto",
    [IDL_ERR_UNAVAILABLE] = "unavailable",
    [IDL_ERR_TIMEOUT] = "timeout",
    [IDL_ERR_NOT_FILE] = "not_a_file",
};

_Static_assert(IDL_ARRAY_LEN(messages) == IDL_ERR__COUNT, "every error has a message");
_Static_assert(IDL_ARRAY_LEN(names) == IDL_ERR__COUNT, "every error has a name");

const char *
idl_strerror(idl_err err)
{
    if ((unsigned)err >= IDL_ERR__COUNT)
        return "unknown error";
    return messages[err];
}

const char *
idl_errname(idl_err err)
{
    if ((unsigned)err >= IDL_ERR__COUNT)
        return "unknown";
    return names[err];
}

/*
 * idledger error codes.
 *
 * Every fallible function of the project returns an `idl_err`. IDL_OK is zero, so
 * `if (rc != IDL_OK)` and `if (rc)` read the same. Errors from LevelDB, NNG, OpenSSL and
 * libc are converted to one of these at the module edge; nothing outside a module sees a
 * foreign error code. A broken invariant of our own is not an error: it is an assertion,
 * and assertions stay on in release builds (see IDL_ASSERT).
 */
#ifndef IDL_ERR_H
#define IDL_ERR_H

#include <stdio.h>
#include <stdlib.h>

#define IDL_MUST_USE __attribute__((warn_unused_result))

typedef enum {
    IDL_OK = 0,
    IDL_ERR_NOMEM,      /* out of memory */
    IDL_ERR_IO,         /* a read, write or sync failed */
    IDL_ERR_CORRUPT,    /* stored data does not decode or fails its checksum */
    IDL_ERR_MALFORMED,  /* input does not decode: truncated, bad field, trailing bytes */
    IDL_ERR_TOO_LARGE,  /* input exceeds a published bound */
    IDL_ERR_VERSION,    /* unknown encoding version */
    IDL_ERR_CHAIN,      /* meant for another chain */
    IDL_ERR_SIGNATURE,  /* signature does not verify */
    IDL_ERR_NONCE,      /* replayed or skipped nonce */
    IDL_ERR_NOT_FOUND,  /* no such record */
    IDL_ERR_EXISTS,     /* record already exists */
    IDL_ERR_DENIED,     /* the actor may not do this */
    IDL_ERR_STATE,      /* the target is in the wrong state for this operation */
    IDL_ERR_POLICY,     /* refused by a chain policy */
    IDL_ERR_INVALID,    /* a value is outside its domain (bad ID number, bad argument) */
    IDL_ERR_CRYPTO,     /* a cryptographic primitive failed (bad key, wrong passphrase) */
    IDL_ERR_UNAVAILABLE,/* a peer or service cannot be reached */
    IDL_ERR_TIMEOUT,    /* gave up waiting */
    IDL_ERR_NOT_FILE,   /* a path names a directory, pipe or device, not a regular file */
    IDL_ERR__COUNT
} idl_err;

/* A static, human-readable name for `err`; never NULL. */
const char *idl_strerror(idl_err err);

/* A short machine name for `err` ("denied", "not_found"...), used in JSON error codes. */
const char *idl_errname(idl_err err);

/*
 * Invariant check that stays on in release builds: a failure is a bug in this program,
 * never a consequence of input, so it aborts with the place it happened.
 */
#define IDL_ASSERT(cond)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "assertion failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);  \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

#define IDL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif

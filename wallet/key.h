/*
 * Encrypted key files: the signing keys of management accounts and nodes.
 *
 * A key file is JSON (mode 0600):
 *   {"type": "idledger-key", "version": 1, "pubkey": HEX,
 *    "kdf": {"alg": "argon2id13", "opslimit": N, "memlimit": N, "salt": HEX},
 *    "cipher": {"alg": "xchacha20poly1305-ietf", "nonce": HEX, "ciphertext": HEX}}
 * The secret key is sealed with XChaCha20-Poly1305 under a key that Argon2id derives from
 * the passphrase; the public key is the additional data, so it cannot be swapped, and it is
 * checked again against the secret key after opening. The public key can be read without
 * the passphrase.
 *
 * A struct wallet_key lives in sodium_malloc memory (guard pages, locked, never swapped)
 * and is wiped by wallet_key_free. Passphrases are read into caller memory that the caller
 * wipes.
 */
#ifndef IDL_WALLET_KEY_H
#define IDL_WALLET_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/err.h"
#include "ledger/sig.h"

#define WALLET_KEY_FILE_MAX 4096
#define WALLET_PASSPHRASE_MAX 1024

struct wallet_key {
    uint8_t sk[SIG_SECKEY_BYTES];
    uint8_t pk[SIG_PUBKEY_BYTES];
};

/* A fresh key. IDL_ERR_NOMEM, IDL_ERR_CRYPTO. */
IDL_MUST_USE idl_err wallet_key_generate(struct wallet_key **out);

/*
 * Writes k to path, sealed under the passphrase, atomically and with mode 0600. Refuses to
 * replace an existing file (IDL_ERR_EXISTS): overwriting a key loses an identity.
 */
IDL_MUST_USE idl_err wallet_key_save(const struct wallet_key *k, const char *path,
                                     const char *passphrase, size_t passphrase_len);

/*
 * Opens the key file at path. IDL_ERR_NOT_FOUND, IDL_ERR_CRYPTO (wrong passphrase or
 * tampered file), IDL_ERR_MALFORMED (not a key file), with a reason in why.
 */
IDL_MUST_USE idl_err wallet_key_load(struct wallet_key **out, const char *path,
                                     const char *passphrase, size_t passphrase_len, char *why,
                                     size_t why_len);

/* The public key recorded in a key file, without opening it. */
IDL_MUST_USE idl_err wallet_key_pubkey(const char *path, uint8_t pk[SIG_PUBKEY_BYTES], char *why,
                                       size_t why_len);

void wallet_key_free(struct wallet_key *k);

/*
 * Reads a passphrase into buf (n bytes, at most WALLET_PASSPHRASE_MAX; the caller wipes it):
 * from the file `file` when it is set (a final line break dropped; a named pipe, such as a
 * shell's <(command), is read to its end, given a minute), else from the environment
 * variable `env` when it is set, else from the terminal after `prompt`, echo off. One that does not fit buf, or a file holding a NUL byte, is refused rather than cut
 * (a key sealed under a cut passphrase opens with the cut one). IDL_ERR_NOT_FOUND when there
 * is none (no file, no variable, no terminal); any error with a reason in why.
 */
IDL_MUST_USE idl_err wallet_passphrase_read(const char *file, const char *env, const char *prompt,
                                            char *buf, size_t n, char *why, size_t why_len);

#endif

/*
 * Key files: Argon2id (libsodium crypto_pwhash, its "interactive" cost: 2 passes over
 * 64 MiB) derives a 32-byte key from the passphrase; XChaCha20-Poly1305 seals the secret
 * key with the public key as additional data. The cost parameters are stored in the file,
 * so they can be raised later without breaking old files.
 */
#include "key.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "ledger/codec.h"
#include "ledger/file.h"

#define KDF_SALT_BYTES crypto_pwhash_SALTBYTES
#define SEAL_NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SEAL_BYTES (SIG_SECKEY_BYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES)

static idl_err
key_alloc(struct wallet_key **out)
{
    *out = NULL;
    if (sodium_init() < 0 || sig_init() != IDL_OK)
        return IDL_ERR_CRYPTO;
    struct wallet_key *k = sodium_malloc(sizeof(*k));
    if (!k)
        return IDL_ERR_NOMEM;
    sodium_memzero(k, sizeof(*k));
    *out = k;
    return IDL_OK;
}

void
wallet_key_free(struct wallet_key *k)
{
    if (k)
        sodium_free(k); /* wipes before releasing */
}

idl_err
wallet_key_generate(struct wallet_key **out)
{
    idl_err rc = key_alloc(out);
    if (rc)
        return rc;
    rc = sig_keypair_generate((*out)->sk, (*out)->pk);
    if (rc) {
        wallet_key_free(*out);
        *out = NULL;
    }
    return rc;
}

static idl_err
derive(uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES], const char *pass, size_t len,
       const uint8_t salt[KDF_SALT_BYTES], unsigned long long ops, size_t mem)
{
    if (crypto_pwhash(key, crypto_aead_xchacha20poly1305_ietf_KEYBYTES, pass, len, salt, ops, mem,
                      crypto_pwhash_ALG_ARGON2ID13) != 0)
        return IDL_ERR_NOMEM; /* libsodium fails only when it cannot get the memory */
    return IDL_OK;
}

static void
json_hex(json_t *obj, const char *name, const uint8_t *p, size_t n)
{
    char hex[2 * 128 + 1];
    IDL_ASSERT(n <= 128);
    codec_hex_encode(hex, p, n);
    json_object_set_new(obj, name, json_string(hex));
}

idl_err
wallet_key_save(const struct wallet_key *k, const char *path, const char *passphrase,
                size_t passphrase_len)
{
    struct stat st;
    if (stat(path, &st) == 0)
        return IDL_ERR_EXISTS; /* early, to skip the KDF; file_write_new checks for real */
    uint8_t salt[KDF_SALT_BYTES], nonce[SEAL_NONCE_BYTES], sealed[SEAL_BYTES];
    unsigned long long ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
    size_t mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
    randombytes_buf(salt, sizeof(salt));
    randombytes_buf(nonce, sizeof(nonce));
    uint8_t *dk = sodium_malloc(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
    if (!dk)
        return IDL_ERR_NOMEM;
    idl_err rc = derive(dk, passphrase, passphrase_len, salt, ops, mem);
    if (rc) {
        sodium_free(dk);
        return rc;
    }
    crypto_aead_xchacha20poly1305_ietf_encrypt(sealed, NULL, k->sk, SIG_SECKEY_BYTES, k->pk,
                                               SIG_PUBKEY_BYTES, NULL, nonce, dk);
    sodium_free(dk);

    json_t *root = json_object(), *kdf = json_object(), *cipher = json_object();
    json_object_set_new(root, "type", json_string("idledger-key"));
    json_object_set_new(root, "version", json_integer(1));
    json_hex(root, "pubkey", k->pk, SIG_PUBKEY_BYTES);
    json_object_set_new(kdf, "alg", json_string("argon2id13"));
    json_object_set_new(kdf, "opslimit", json_integer((json_int_t)ops));
    json_object_set_new(kdf, "memlimit", json_integer((json_int_t)mem));
    json_hex(kdf, "salt", salt, sizeof(salt));
    json_object_set_new(root, "kdf", kdf);
    json_object_set_new(cipher, "alg", json_string("xchacha20poly1305-ietf"));
    json_hex(cipher, "nonce", nonce, sizeof(nonce));
    json_hex(cipher, "ciphertext", sealed, sizeof(sealed));
    json_object_set_new(root, "cipher", cipher);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text)
        return IDL_ERR_NOMEM;
    rc = file_write_new(path, text, strlen(text), 0600);
    free(text);
    return rc;
}

struct key_file {
    uint8_t pk[SIG_PUBKEY_BYTES];
    uint8_t salt[KDF_SALT_BYTES];
    uint8_t nonce[SEAL_NONCE_BYTES];
    uint8_t sealed[SEAL_BYTES];
    unsigned long long ops;
    size_t mem;
};

/* The string member `name` of obj, or "" if it is missing or not a string. */
static const char *
str_field(json_t *obj, const char *name)
{
    const char *s = json_string_value(json_object_get(obj, name));
    return s ? s : "";
}

static idl_err
hex_field(json_t *obj, const char *name, uint8_t *out, size_t n)
{
    return codec_hex_decode(out, n, json_string_value(json_object_get(obj, name)));
}

static idl_err
key_file_read(const char *path, struct key_file *kf, char *why, size_t why_len)
{
    struct idl_bytes text;
    idl_err rc = file_read_all(path, WALLET_KEY_FILE_MAX, &text);
    if (rc) {
        snprintf(why, why_len, "cannot read key file %s: %s", path, idl_strerror(rc));
        return rc;
    }
    json_error_t jerr;
    json_t *root = json_loadb((const char *)text.data, text.len, JSON_REJECT_DUPLICATES, &jerr);
    free(text.data);
    json_t *kdf = json_object_get(root, "kdf"), *cipher = json_object_get(root, "cipher");
    json_int_t ops = json_integer_value(json_object_get(kdf, "opslimit"));
    json_int_t mem = json_integer_value(json_object_get(kdf, "memlimit"));
    rc = IDL_ERR_MALFORMED;
    if (root && json_is_object(root) &&
        !strcmp(str_field(root, "type"), "idledger-key") &&
        json_integer_value(json_object_get(root, "version")) == 1 &&
        !strcmp(str_field(kdf, "alg"), "argon2id13") &&
        !strcmp(str_field(cipher, "alg"), "xchacha20poly1305-ietf") &&
        ops >= (json_int_t)crypto_pwhash_OPSLIMIT_MIN &&
        ops <= (json_int_t)crypto_pwhash_OPSLIMIT_SENSITIVE &&
        mem >= (json_int_t)crypto_pwhash_MEMLIMIT_MIN &&
        mem <= (json_int_t)crypto_pwhash_MEMLIMIT_SENSITIVE &&
        !hex_field(root, "pubkey", kf->pk, sizeof(kf->pk)) &&
        !hex_field(kdf, "salt", kf->salt, sizeof(kf->salt)) &&
        !hex_field(cipher, "nonce", kf->nonce, sizeof(kf->nonce)) &&
        !hex_field(cipher, "ciphertext", kf->sealed, sizeof(kf->sealed))) {
        kf->ops = (unsigned long long)ops;
        kf->mem = (size_t)mem;
        rc = IDL_OK;
    }
    json_decref(root);
    if (rc)
        snprintf(why, why_len, "%s is not an idledger key file", path);
    return rc;
}

idl_err
wallet_key_pubkey(const char *path, uint8_t pk[SIG_PUBKEY_BYTES], char *why, size_t why_len)
{
    struct key_file kf;
    memset(pk, 0, SIG_PUBKEY_BYTES);
    idl_err rc = key_file_read(path, &kf, why, why_len);
    if (!rc)
        memcpy(pk, kf.pk, SIG_PUBKEY_BYTES);
    return rc;
}

idl_err
wallet_key_load(struct wallet_key **out, const char *path, const char *passphrase,
                size_t passphrase_len, char *why, size_t why_len)
{
    *out = NULL;
    struct key_file kf;
    idl_err rc = key_file_read(path, &kf, why, why_len);
    if (rc)
        return rc;
    struct wallet_key *k;
    if ((rc = key_alloc(&k)) != IDL_OK)
        return rc;
    uint8_t *dk = sodium_malloc(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
    if (!dk) {
        wallet_key_free(k);
        return IDL_ERR_NOMEM;
    }
    rc = derive(dk, passphrase, passphrase_len, kf.salt, kf.ops, kf.mem);
    if (!rc && crypto_aead_xchacha20poly1305_ietf_decrypt(k->sk, NULL, NULL, kf.sealed,
                                                          sizeof(kf.sealed), kf.pk,
                                                          SIG_PUBKEY_BYTES, kf.nonce, dk) != 0)
        rc = IDL_ERR_CRYPTO;
    sodium_free(dk);
    /* The sealed key must be the secret of the recorded public key. */
    if (!rc && (sig_pubkey_from_secret(k->pk, k->sk) != IDL_OK ||
                sodium_memcmp(k->pk, kf.pk, SIG_PUBKEY_BYTES) != 0))
        rc = IDL_ERR_CRYPTO;
    if (rc) {
        snprintf(why, why_len, "cannot open key file %s: wrong passphrase or damaged file",
                 path);
        wallet_key_free(k);
        return rc;
    }
    *out = k;
    return IDL_OK;
}

/* The passphrase in text (len bytes) into buf, if it fits and holds no NUL. */
static idl_err
passphrase_take(const char *text, size_t len, const char *from, char *buf, size_t n, char *why,
                size_t why_len)
{
    if (memchr(text, '\0', len)) {
        snprintf(why, why_len, "the passphrase in %s holds a NUL byte", from);
        return IDL_ERR_INVALID;
    }
    if (len >= n) {
        snprintf(why, why_len, "the passphrase in %s is longer than %zu bytes", from, n - 1);
        return IDL_ERR_TOO_LARGE;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    return IDL_OK;
}

idl_err
wallet_passphrase_read(const char *file, const char *env, const char *prompt, char *buf, size_t n,
                       char *why, size_t why_len)
{
    IDL_ASSERT(n > 1 && n <= WALLET_PASSPHRASE_MAX);
    buf[0] = '\0';
    snprintf(why, why_len, "%s", "");
    if (file && file[0]) {
        struct idl_bytes text;
        /* A pipe too (--passphrase-file <(pass show x)), given a minute to answer. */
        idl_err rc = file_read_piped(file, WALLET_PASSPHRASE_MAX, 60000, &text);
        if (rc) {
            snprintf(why, why_len, "cannot read the passphrase file %s: %s", file,
                     rc == IDL_ERR_TOO_LARGE ? "larger than a passphrase can be"
                     : rc == IDL_ERR_TIMEOUT ? "nothing came through the pipe for a minute"
                                             : idl_strerror(rc));
            return rc == IDL_ERR_NOT_FOUND ? IDL_ERR_IO : rc;
        }
        size_t len = text.len;
        while (len && (text.data[len - 1] == '\n' || text.data[len - 1] == '\r'))
            len--;
        rc = passphrase_take((const char *)text.data, len, file, buf, n, why, why_len);
        sodium_memzero(text.data, text.len);
        free(text.data);
        return rc;
    }
    const char *value = env ? getenv(env) : NULL;
    if (value)
        return passphrase_take(value, strlen(value), env, buf, n, why, why_len);
    if (!isatty(STDIN_FILENO))
        return IDL_ERR_NOT_FOUND;
    /* Echo goes off before the prompt shows: an answer typed (or pasted) as soon as the
     * prompt appears is neither echoed nor flushed away. */
    struct termios old, quiet;
    tcgetattr(STDIN_FILENO, &old);
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    fprintf(stderr, "%s", prompt);
    char *got = fgets(buf, (int)n, stdin);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fprintf(stderr, "\n");
    if (!got) {
        snprintf(why, why_len, "no passphrase given");
        return IDL_ERR_NOT_FOUND;
    }
    size_t len = strcspn(buf, "\r\n");
    if (len == n - 1 && buf[len] == '\0') {
        sodium_memzero(buf, n);
        snprintf(why, why_len, "the passphrase typed is longer than %zu bytes", n - 2);
        return IDL_ERR_TOO_LARGE;
    }
    buf[len] = '\0';
    return IDL_OK;
}

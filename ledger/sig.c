/*
 * One libsecp256k1 context for the process, created and randomised once (pthread_once).
 * libsecp256k1 documents a context as safe for concurrent use once it is no longer
 * modified, which is the case after randomisation.
 */
#include "sig.h"

#include <pthread.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <sodium.h>
#include <string.h>

static secp256k1_context *shared_ctx;
static idl_err init_result = IDL_ERR_CRYPTO;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void
sig_init_once(void)
{
    if (sodium_init() < 0)
        return;
    shared_ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (!shared_ctx) {
        init_result = IDL_ERR_NOMEM;
        return;
    }
    uint8_t seed[32];
    randombytes_buf(seed, sizeof(seed));
    if (!secp256k1_context_randomize(shared_ctx, seed)) {
        secp256k1_context_destroy(shared_ctx);
        shared_ctx = NULL;
        return;
    }
    sodium_memzero(seed, sizeof(seed));
    init_result = IDL_OK;
}

idl_err
sig_init(void)
{
    pthread_once(&init_once, sig_init_once);
    return init_result;
}

/* The shared context, created on first use; NULL only if creating it failed. */
static const secp256k1_context *
context(void)
{
    pthread_once(&init_once, sig_init_once);
    return shared_ctx;
}

idl_err
sig_pubkey_from_secret(uint8_t pk[SIG_PUBKEY_BYTES], const uint8_t sk[SIG_SECKEY_BYTES])
{
    memset(pk, 0, SIG_PUBKEY_BYTES);
    const secp256k1_context *ctx = context();
    if (!ctx)
        return IDL_ERR_CRYPTO;
    secp256k1_keypair kp;
    secp256k1_xonly_pubkey xpk;
    idl_err rc = IDL_ERR_CRYPTO;
    if (secp256k1_keypair_create(ctx, &kp, sk) && secp256k1_keypair_xonly_pub(ctx, &xpk, NULL, &kp) &&
        secp256k1_xonly_pubkey_serialize(ctx, pk, &xpk))
        rc = IDL_OK;
    sodium_memzero(&kp, sizeof(kp));
    return rc;
}

idl_err
sig_keypair_generate(uint8_t sk[SIG_SECKEY_BYTES], uint8_t pk[SIG_PUBKEY_BYTES])
{
    /* A uniformly random 32-byte string is a valid key except with probability ~2^-128. */
    for (int tries = 0; tries < 8; tries++) {
        randombytes_buf(sk, SIG_SECKEY_BYTES);
        if (sig_pubkey_from_secret(pk, sk) == IDL_OK)
            return IDL_OK;
    }
    sodium_memzero(sk, SIG_SECKEY_BYTES);
    return IDL_ERR_CRYPTO;
}

idl_err
sig_sign_aux(uint8_t sig[SIG_BYTES], const uint8_t msg[32], const uint8_t sk[SIG_SECKEY_BYTES],
             const uint8_t *aux32)
{
    memset(sig, 0, SIG_BYTES);
    const secp256k1_context *ctx = context();
    if (!ctx)
        return IDL_ERR_CRYPTO;
    secp256k1_keypair kp;
    idl_err rc = IDL_ERR_CRYPTO;
    if (secp256k1_keypair_create(ctx, &kp, sk) &&
        secp256k1_schnorrsig_sign32(ctx, sig, msg, &kp, aux32))
        rc = IDL_OK;
    sodium_memzero(&kp, sizeof(kp));
    if (rc != IDL_OK)
        memset(sig, 0, SIG_BYTES);
    return rc;
}

idl_err
sig_sign(uint8_t sig[SIG_BYTES], const uint8_t msg[32], const uint8_t sk[SIG_SECKEY_BYTES])
{
    uint8_t aux[32];
    randombytes_buf(aux, sizeof(aux));
    return sig_sign_aux(sig, msg, sk, aux);
}

/*
 * The last public key this thread parsed. Parsing an x-only key takes a square root, about
 * a tenth of a verification, and the transactions of a block or a request mostly come from
 * a few actors. Parsing is a pure function of the 32 bytes, so the cache cannot change an
 * answer.
 */
static _Thread_local struct {
    bool valid;
    uint8_t pk[SIG_PUBKEY_BYTES];
    secp256k1_xonly_pubkey xpk;
} last_parsed;

bool
sig_verify(const uint8_t sig[SIG_BYTES], const uint8_t msg[32], const uint8_t pk[SIG_PUBKEY_BYTES])
{
    const secp256k1_context *ctx = context();
    if (!ctx)
        return false;
    if (!last_parsed.valid || memcmp(last_parsed.pk, pk, SIG_PUBKEY_BYTES) != 0) {
        last_parsed.valid = false;
        if (!secp256k1_xonly_pubkey_parse(ctx, &last_parsed.xpk, pk))
            return false;
        memcpy(last_parsed.pk, pk, SIG_PUBKEY_BYTES);
        last_parsed.valid = true;
    }
    return secp256k1_schnorrsig_verify(ctx, sig, msg, 32, &last_parsed.xpk) == 1;
}

bool
sig_pubkey_valid(const uint8_t pk[SIG_PUBKEY_BYTES])
{
    const secp256k1_context *ctx = context();
    secp256k1_xonly_pubkey xpk;
    return ctx && secp256k1_xonly_pubkey_parse(ctx, &xpk, pk) == 1;
}

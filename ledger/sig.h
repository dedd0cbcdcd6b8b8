/*
 * BIP-340 Schnorr signatures over secp256k1 (libsecp256k1's schnorrsig module).
 *
 * Public keys are 32-byte x-only keys; signatures are 64 bytes; what is signed is always a
 * 32-byte tagged hash (hash.h) whose preimage includes the chain id, never raw data.
 *
 * The shared context is created on first use (or by sig_init, which reports whether that
 * worked); every function here is thread-safe. Secret keys are read from caller memory, which
 * should be sodium_malloc'd (wallet/key.h); this module copies them only into a keypair on
 * the stack that it wipes before returning.
 */
#ifndef IDL_SIG_H
#define IDL_SIG_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define SIG_PUBKEY_BYTES 32
#define SIG_SECKEY_BYTES 32
#define SIG_BYTES 64

/* Creates and randomises the shared context if needed. IDL_ERR_NOMEM or IDL_ERR_CRYPTO. */
IDL_MUST_USE idl_err sig_init(void);

/* Draws a fresh secret key and its public key. sk and pk are zeroed on failure. */
IDL_MUST_USE idl_err sig_keypair_generate(uint8_t sk[SIG_SECKEY_BYTES],
                                          uint8_t pk[SIG_PUBKEY_BYTES]);

/* The x-only public key of sk. IDL_ERR_CRYPTO (pk zeroed) if sk is not a valid key. */
IDL_MUST_USE idl_err sig_pubkey_from_secret(uint8_t pk[SIG_PUBKEY_BYTES],
                                            const uint8_t sk[SIG_SECKEY_BYTES]);

/* Signs a 32-byte message hash with fresh auxiliary randomness. sig zeroed on failure. */
IDL_MUST_USE idl_err sig_sign(uint8_t sig[SIG_BYTES], const uint8_t msg[32],
                              const uint8_t sk[SIG_SECKEY_BYTES]);

/*
 * Signs with the given auxiliary randomness instead of fresh randomness; aux NULL makes the
 * signature a function of key and message only (BIP-340 allows both). For reproducible
 * runs: the simulator and golden tests. Nodes and wallets use sig_sign.
 */
IDL_MUST_USE idl_err sig_sign_aux(uint8_t sig[SIG_BYTES], const uint8_t msg[32],
                                  const uint8_t sk[SIG_SECKEY_BYTES], const uint8_t *aux32);

/* True if sig is a valid signature of msg under pk (false also if pk is not a valid key). */
bool sig_verify(const uint8_t sig[SIG_BYTES], const uint8_t msg[32],
                const uint8_t pk[SIG_PUBKEY_BYTES]);

/* True if pk is the x coordinate of a point on the curve. */
bool sig_pubkey_valid(const uint8_t pk[SIG_PUBKEY_BYTES]);

#endif

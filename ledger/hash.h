/*
 * Hashes of the ledger: SHA-256, BIP-340-style tagged SHA-256 for domain separation,
 * HMAC-SHA-256, and the Merkle root of a block's transactions.
 *
 * Every hash that the ledger commits to is tagged: hash_tagged("idledger/tx", m) is
 * SHA-256(SHA-256(tag) || SHA-256(tag) || m), so a transaction id can never be confused
 * with a block hash or a vote, whatever the bytes. The tags in use are listed in
 * docs/ARCHITECTURE.md.
 *
 * All functions are pure, thread-safe and cannot fail.
 */
#ifndef IDL_HASH_H
#define IDL_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_BYTES 32
#define HASH_HEX_BYTES (2 * HASH_BYTES + 1)

/* Incremental tagged hash; no heap memory, may be copied. */
struct hash_ctx {
    uint32_t h[8];
    uint32_t nl, nh;
    uint32_t data[16];
    unsigned int num, md_len;
};

void hash_sha256(uint8_t out[HASH_BYTES], const void *data, size_t len);

void hash_tagged_init(struct hash_ctx *ctx, const char *tag);
void hash_update(struct hash_ctx *ctx, const void *data, size_t len);
void hash_final(struct hash_ctx *ctx, uint8_t out[HASH_BYTES]);
void hash_tagged(uint8_t out[HASH_BYTES], const char *tag, const void *data, size_t len);

void hash_hmac_sha256(uint8_t out[HASH_BYTES], const uint8_t *key, size_t key_len,
                      const void *data, size_t len);

/*
 * Merkle root of n leaf hashes, RFC 6962 style: leaves are hashed under tag
 * "idledger/merkle-leaf", inner nodes under "idledger/merkle-node", and a list is split at
 * the largest power of two below its length, so no two lists share a root (the duplicated-
 * last-leaf ambiguity of Bitcoin's tree cannot arise). The root of no leaves is the tagged
 * hash of nothing.
 */
void hash_merkle_root(uint8_t out[HASH_BYTES], const uint8_t (*leaves)[HASH_BYTES], size_t n);

/* True if the 32 bytes are all zero (used for "no basis", "no key"). */
int hash_is_zero(const uint8_t h[HASH_BYTES]);

#endif

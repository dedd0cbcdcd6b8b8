/*
 * SHA-256 comes from OpenSSL's low-level interface: it uses the CPU's SHA extensions where
 * present and needs no allocation per hash, which matters for transaction ids and Merkle
 * trees on the hot path. That interface is deprecated in OpenSSL 3 (in favour of EVP, which
 * allocates a context per call), so its deprecation warnings are silenced here only.
 * struct hash_ctx mirrors SHA256_CTX so the public header need not include OpenSSL.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "hash.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <string.h>

_Static_assert(sizeof(struct hash_ctx) == sizeof(SHA256_CTX), "hash_ctx mirrors SHA256_CTX");

static SHA256_CTX *
as_sha(struct hash_ctx *ctx)
{
    return (SHA256_CTX *)(void *)ctx;
}

void
hash_sha256(uint8_t out[HASH_BYTES], const void *data, size_t len)
{
    /* Not the one-shot SHA256(): in OpenSSL 3 it looks the algorithm up on every call. */
    SHA256_CTX c;
    SHA256_Init(&c);
    SHA256_Update(&c, data, len);
    SHA256_Final(out, &c);
}

/*
 * The state after SHA256(tag) || SHA256(tag), one 64-byte block, is the same for every hash
 * under a tag: each thread keeps the last few tags' states and starts from a copy.
 */
#define TAG_CACHE      8
#define TAG_CACHED_MAX 48

struct tag_state {
    char tag[TAG_CACHED_MAX];
    SHA256_CTX ctx;
};

static _Thread_local struct tag_state tag_cache[TAG_CACHE];
static _Thread_local unsigned tag_next;

void
hash_tagged_init(struct hash_ctx *ctx, const char *tag)
{
    size_t len = strlen(tag);
    bool cacheable = len > 0 && len < TAG_CACHED_MAX;
    for (unsigned i = 0; cacheable && i < TAG_CACHE; i++)
        if (strcmp(tag_cache[i].tag, tag) == 0) {
            *as_sha(ctx) = tag_cache[i].ctx;
            return;
        }
    uint8_t th[HASH_BYTES];
    hash_sha256(th, tag, len);
    SHA256_Init(as_sha(ctx));
    SHA256_Update(as_sha(ctx), th, sizeof(th));
    SHA256_Update(as_sha(ctx), th, sizeof(th));
    if (cacheable) {
        struct tag_state *t = &tag_cache[tag_next++ % TAG_CACHE];
        memcpy(t->tag, tag, len + 1);
        t->ctx = *as_sha(ctx);
    }
}

void
hash_update(struct hash_ctx *ctx, const void *data, size_t len)
{
    SHA256_Update(as_sha(ctx), data, len);
}

void
hash_final(struct hash_ctx *ctx, uint8_t out[HASH_BYTES])
{
    SHA256_Final(out, as_sha(ctx));
}

void
hash_tagged(uint8_t out[HASH_BYTES], const char *tag, const void *data, size_t len)
{
    struct hash_ctx ctx;
    hash_tagged_init(&ctx, tag);
    hash_update(&ctx, data, len);
    hash_final(&ctx, out);
}

void
hash_hmac_sha256(uint8_t out[HASH_BYTES], const uint8_t *key, size_t key_len, const void *data,
                 size_t len)
{
    /* RFC 2104 with a 64-byte block; keys longer than a block are hashed first. */
    uint8_t k[64] = {0}, pad[64], inner[HASH_BYTES];
    if (key_len > sizeof(k))
        hash_sha256(k, key, key_len);
    else
        memcpy(k, key, key_len);

    SHA256_CTX c;
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = k[i] ^ 0x36;
    SHA256_Init(&c);
    SHA256_Update(&c, pad, sizeof(pad));
    SHA256_Update(&c, data, len);
    SHA256_Final(inner, &c);

    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = k[i] ^ 0x5c;
    SHA256_Init(&c);
    SHA256_Update(&c, pad, sizeof(pad));
    SHA256_Update(&c, inner, sizeof(inner));
    SHA256_Final(out, &c);

    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(&c, sizeof(c));
}

static void
merkle_node(uint8_t out[HASH_BYTES], const uint8_t l[HASH_BYTES], const uint8_t r[HASH_BYTES])
{
    struct hash_ctx ctx;
    hash_tagged_init(&ctx, "idledger/merkle-node");
    hash_update(&ctx, l, HASH_BYTES);
    hash_update(&ctx, r, HASH_BYTES);
    hash_final(&ctx, out);
}

static void
merkle_subtree(uint8_t out[HASH_BYTES], const uint8_t (*leaves)[HASH_BYTES], size_t n)
{
    if (n == 1) {
        hash_tagged(out, "idledger/merkle-leaf", leaves[0], HASH_BYTES);
        return;
    }
    size_t k = 1;
    while (k * 2 < n)
        k *= 2;
    uint8_t l[HASH_BYTES], r[HASH_BYTES];
    merkle_subtree(l, leaves, k);
    merkle_subtree(r, leaves + k, n - k);
    merkle_node(out, l, r);
}

void
hash_merkle_root(uint8_t out[HASH_BYTES], const uint8_t (*leaves)[HASH_BYTES], size_t n)
{
    if (n == 0) {
        hash_tagged(out, "idledger/merkle-empty", NULL, 0);
        return;
    }
    merkle_subtree(out, leaves, n);
}

int
hash_is_zero(const uint8_t h[HASH_BYTES])
{
    uint8_t acc = 0;
    for (int i = 0; i < HASH_BYTES; i++)
        acc |= h[i];
    return acc == 0;
}

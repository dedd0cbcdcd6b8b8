/*
 * Block encoding and commit certificates. The header is encoded by hand (its version and
 * chain decide how to read the rest); certificates and validators use schemas.
 */
#include "block.h"

#include <string.h>

SCHEMA_DEFINE_STATIC(commit_sig_schema, struct ledger_commit_sig, "commit_sig",
              SF_U16(struct ledger_commit_sig, validator, "validator"),
              SF_FIXED(struct ledger_commit_sig, sig, "sig"));

SCHEMA_DEFINE(ledger_commit_schema, struct ledger_commit, "commit",
              SF_U64(struct ledger_commit, height, "height"),
              SF_U32(struct ledger_commit, round, "round"),
              SF_HASH(struct ledger_commit, block_hash, "block_hash", 0),
              SF_LIST(struct ledger_commit, sigs, "sigs", 0, LEDGER_VALIDATORS_MAX,
                      &commit_sig_schema));

SCHEMA_DEFINE(ledger_validator_schema, struct ledger_validator, "validator",
              SF_ID(struct ledger_validator, name, "name", 0),
              SF_HASH(struct ledger_validator, pubkey, "pubkey", SCHEMA_PUBKEY),
              SF_U64(struct ledger_validator, power, "power"));

static void
put_string(struct codec_writer *w, const char *s)
{
    size_t n = strlen(s);
    codec_put_u16(w, (uint16_t)n);
    codec_put_raw(w, s, n);
}

static void
header_encode(const struct ledger_block_header *h, struct codec_writer *w)
{
    codec_put_u8(w, h->version);
    put_string(w, h->chain_id);
    codec_put_u64(w, h->height);
    codec_put_u64(w, h->time_ms);
    codec_put_raw(w, h->prev_hash, HASH_BYTES);
    codec_put_raw(w, h->app_hash, HASH_BYTES);
    codec_put_raw(w, h->tx_root, HASH_BYTES);
    codec_put_raw(w, h->proposer, SIG_PUBKEY_BYTES);
    codec_put_u32(w, h->tx_count);
}

void
ledger_block_header_hash(uint8_t out[HASH_BYTES], const struct ledger_block_header *h)
{
    /* A header is at most ~190 bytes: encode it on the stack. */
    uint8_t buf[256];
    struct codec_writer w = {.data = buf, .cap = sizeof(buf)};
    IDL_ASSERT(strlen(h->chain_id) <= LEDGER_CHAIN_ID_MAX);
    header_encode(h, &w);
    IDL_ASSERT(!w.failed && w.data == buf);
    hash_tagged(out, "idledger/block", buf, w.len);
}

static idl_err
block_derive(struct ledger_block *b)
{
    uint32_t n = b->header.tx_count;
    b->txids = n ? calloc(n, HASH_BYTES) : NULL;
    if (n && !b->txids)
        return IDL_ERR_NOMEM;
    for (uint32_t i = 0; i < n; i++)
        hash_tagged(b->txids[i], "idledger/txid", b->txs[i].data, b->txs[i].len);
    return IDL_OK;
}

idl_err
ledger_block_assemble(struct ledger_block *b, const struct ledger_block_header *header,
                      const struct idl_bytes *txs, uint32_t n)
{
    memset(b, 0, sizeof(*b));
    if (n > LEDGER_BLOCK_TXS_MAX)
        return IDL_ERR_TOO_LARGE;
    b->header = *header;
    b->header.version = LEDGER_BLOCK_VERSION;
    b->header.tx_count = n;
    b->txs = n ? calloc(n, sizeof(*b->txs)) : NULL;
    if (n && !b->txs)
        return IDL_ERR_NOMEM;
    for (uint32_t i = 0; i < n; i++)
        if (txs[i].len == 0 || txs[i].len > LEDGER_TX_BYTES_MAX)
            return IDL_ERR_INVALID; /* the decoder refuses them: never build such a block */
    for (uint32_t i = 0; i < n; i++) {
        b->txs[i].data = malloc(txs[i].len);
        if (!b->txs[i].data) {
            ledger_block_free(b);
            return IDL_ERR_NOMEM;
        }
        memcpy(b->txs[i].data, txs[i].data, txs[i].len);
        b->txs[i].len = txs[i].len;
    }
    if (block_derive(b) != IDL_OK) {
        ledger_block_free(b);
        return IDL_ERR_NOMEM;
    }
    hash_merkle_root(b->header.tx_root, (const uint8_t(*)[HASH_BYTES])b->txids, n);
    ledger_block_header_hash(b->hash, &b->header);
    return IDL_OK;
}

idl_err
ledger_block_encode(const struct ledger_block *b, struct idl_bytes *out)
{
    struct codec_writer w;
    codec_writer_init(&w);
    header_encode(&b->header, &w);
    for (uint32_t i = 0; i < b->header.tx_count; i++) {
        codec_put_u32(&w, (uint32_t)b->txs[i].len);
        codec_put_raw(&w, b->txs[i].data, b->txs[i].len);
    }
    return codec_writer_finish(&w, out);
}

static void
get_string(struct codec_reader *r, char *out, size_t max)
{
    uint16_t n = codec_get_u16(r);
    const uint8_t *v = n <= max ? codec_get_view(r, n) : NULL;
    if (!v || memchr(v, 0, n)) {
        codec_reader_fail(r);
        return;
    }
    memcpy(out, v, n);
    out[n] = '\0';
}

idl_err
ledger_block_decode(struct ledger_block *b, const uint8_t *data, size_t len,
                    const char *chain_id)
{
    memset(b, 0, sizeof(*b));
    if (len > LEDGER_BLOCK_BYTES_MAX)
        return IDL_ERR_TOO_LARGE;
    struct codec_reader r;
    codec_reader_init(&r, data, len);
    struct ledger_block_header *h = &b->header;
    h->version = codec_get_u8(&r);
    if (r.failed)
        return IDL_ERR_MALFORMED;
    if (h->version != LEDGER_BLOCK_VERSION)
        return IDL_ERR_VERSION;
    get_string(&r, h->chain_id, LEDGER_CHAIN_ID_MAX);
    if (r.failed)
        return IDL_ERR_MALFORMED;
    if (strcmp(h->chain_id, chain_id) != 0)
        return IDL_ERR_CHAIN;
    h->height = codec_get_u64(&r);
    h->time_ms = codec_get_u64(&r);
    codec_get_raw(&r, h->prev_hash, HASH_BYTES);
    codec_get_raw(&r, h->app_hash, HASH_BYTES);
    codec_get_raw(&r, h->tx_root, HASH_BYTES);
    codec_get_raw(&r, h->proposer, SIG_PUBKEY_BYTES);
    h->tx_count = codec_get_u32(&r);
    /* Each transaction takes at least its 4-byte length: bound the count before allocating. */
    if (r.failed || h->tx_count > LEDGER_BLOCK_TXS_MAX || h->tx_count > codec_reader_left(&r) / 4)
        return IDL_ERR_MALFORMED;
    b->txs = h->tx_count ? calloc(h->tx_count, sizeof(*b->txs)) : NULL;
    if (h->tx_count && !b->txs)
        return IDL_ERR_NOMEM;
    idl_err rc = IDL_OK;
    for (uint32_t i = 0; i < h->tx_count && rc == IDL_OK; i++) {
        uint32_t n = codec_get_u32(&r);
        const uint8_t *v = n <= LEDGER_TX_BYTES_MAX ? codec_get_view(&r, n) : NULL;
        if (!v || n == 0) {
            rc = IDL_ERR_MALFORMED;
            break;
        }
        b->txs[i].data = malloc(n);
        if (!b->txs[i].data) {
            rc = IDL_ERR_NOMEM;
            break;
        }
        memcpy(b->txs[i].data, v, n);
        b->txs[i].len = n;
    }
    if (rc == IDL_OK)
        rc = codec_reader_finish(&r);
    if (rc == IDL_OK)
        rc = block_derive(b);
    if (rc == IDL_OK) {
        uint8_t root[HASH_BYTES];
        hash_merkle_root(root, (const uint8_t(*)[HASH_BYTES])b->txids, h->tx_count);
        if (memcmp(root, h->tx_root, HASH_BYTES) != 0)
            rc = IDL_ERR_MALFORMED;
    }
    if (rc) {
        ledger_block_free(b);
        return rc;
    }
    ledger_block_header_hash(b->hash, h);
    return IDL_OK;
}

void
ledger_block_free(struct ledger_block *b)
{
    if (b->txs)
        for (uint32_t i = 0; i < b->header.tx_count; i++)
            free(b->txs[i].data);
    free(b->txs);
    free(b->txids);
    memset(b, 0, sizeof(*b));
}

void
ledger_vote_sighash(uint8_t out[HASH_BYTES], const char *chain_id, unsigned type,
                    uint64_t height, uint32_t round, const uint8_t block_hash[HASH_BYTES])
{
    uint8_t buf[2 + LEDGER_CHAIN_ID_MAX + 1 + 8 + 4 + HASH_BYTES];
    struct codec_writer w = {.data = buf, .cap = sizeof(buf)};
    IDL_ASSERT(strlen(chain_id) <= LEDGER_CHAIN_ID_MAX);
    put_string(&w, chain_id);
    codec_put_u8(&w, (uint8_t)type);
    codec_put_u64(&w, height);
    codec_put_u32(&w, round);
    codec_put_raw(&w, block_hash, HASH_BYTES);
    IDL_ASSERT(!w.failed && w.data == buf);
    hash_tagged(out, "idledger/vote", buf, w.len);
}

uint64_t
ledger_validators_power(const struct ledger_validator *vals, size_t n)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += vals[i].power;
    return total;
}

idl_err
ledger_commit_verify(const struct ledger_commit *c, const char *chain_id, uint64_t height,
                     const uint8_t block_hash[HASH_BYTES], const struct ledger_validator *vals,
                     size_t n)
{
    if (c->height != height || memcmp(c->block_hash, block_hash, HASH_BYTES) != 0)
        return IDL_ERR_INVALID;
    if (n > LEDGER_VALIDATORS_MAX)
        return IDL_ERR_INVALID;
    for (size_t i = 0; i < n; i++)
        if (vals[i].power == 0 || vals[i].power > LEDGER_VALIDATOR_POWER_MAX)
            return IDL_ERR_INVALID;
    uint8_t msg[HASH_BYTES];
    ledger_vote_sighash(msg, chain_id, VOTE_PRECOMMIT, height, c->round, block_hash);
    const struct ledger_commit_sig *s = c->sigs.items;
    uint64_t power = 0;
    for (uint32_t i = 0; i < c->sigs.count; i++) {
        if (s[i].validator >= n || (i > 0 && s[i].validator <= s[i - 1].validator))
            return IDL_ERR_INVALID;
        if (!sig_verify(s[i].sig, msg, vals[s[i].validator].pubkey))
            return IDL_ERR_SIGNATURE;
        power += vals[s[i].validator].power;
    }
    /* More than two thirds: 3 * power > 2 * total, in integers. */
    if (3 * power <= 2 * ledger_validators_power(vals, n))
        return IDL_ERR_INVALID;
    return IDL_OK;
}

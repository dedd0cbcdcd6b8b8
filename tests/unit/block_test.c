/*
 * Unit tests of ledger/block.h: blocks assembled from 0, 1 and 3 opaque transactions
 * (arbitrary non-empty byte strings: the block layer does not decode them), encoded and
 * decoded with every header field, transaction, txid, tx_root and block hash compared
 * against values computed here; decode refusals (every truncation, trailing bytes, wrong
 * version, wrong chain, a tx_root mismatch after flipping a transaction byte, tx_count
 * larger or smaller than the body, an empty transaction, more than the size bound); the
 * header hash changing with every header field; and ledger_commit_verify with 4
 * validators of power 1: 3 valid precommits pass, and 2 signatures, a repeated or
 * unsorted validator index, an unknown index, a signature over another block hash, a
 * prevote, another round or chain, a wrong height or hash all fail; a validator set with
 * powers large enough to overflow the quorum sums is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "block.h"

#define CHAIN "test-chain"
#define NVALS 4

static uint8_t val_sk[NVALS][SIG_SECKEY_BYTES];
static struct ledger_validator vals[NVALS];

static int
setup(void **state)
{
    (void)state;
    if (sig_init() != IDL_OK)
        return -1;
    for (int i = 0; i < NVALS; i++) {
        if (sig_keypair_generate(val_sk[i], vals[i].pubkey) != IDL_OK)
            return -1;
        snprintf(vals[i].name, sizeof(vals[i].name), "val-%d", i);
        vals[i].power = 1;
    }
    return 0;
}

/* ---- blocks ---- */

static const char *const TX_TEXT[] = {"first transaction", "2", "the third, longer one..."};

static void
fill_header(struct ledger_block_header *h)
{
    memset(h, 0, sizeof(*h));
    strcpy(h->chain_id, CHAIN);
    h->height = 7;
    h->time_ms = 1700000000123ull;
    memset(h->prev_hash, 0x01, HASH_BYTES);
    memset(h->app_hash, 0x02, HASH_BYTES);
    memcpy(h->proposer, vals[0].pubkey, SIG_PUBKEY_BYTES);
}

static void
assemble(struct ledger_block *b, uint32_t n)
{
    struct ledger_block_header h;
    struct idl_bytes txs[3] = {{0}};
    fill_header(&h);
    for (uint32_t i = 0; i < n; i++) {
        txs[i].data = (uint8_t *)(uintptr_t)TX_TEXT[i];
        txs[i].len = strlen(TX_TEXT[i]);
    }
    assert_int_equal(ledger_block_assemble(b, &h, txs, n), IDL_OK);
}

static struct idl_bytes
encoded_block(uint32_t n)
{
    struct ledger_block b;
    assemble(&b, n);
    struct idl_bytes out;
    assert_int_equal(ledger_block_encode(&b, &out), IDL_OK);
    ledger_block_free(&b);
    return out;
}

/* Offset of the u32 tx_count in an encoding: version, chain, height, time, 4 hashes. */
#define TX_COUNT_OFF (1 + 2 + sizeof(CHAIN) - 1 + 8 + 8 + 4 * HASH_BYTES)
#define HEADER_LEN   (TX_COUNT_OFF + 4)

static void
roundtrip(uint32_t n)
{
    struct ledger_block a, d;
    assemble(&a, n);
    assert_int_equal(a.header.version, LEDGER_BLOCK_VERSION);
    assert_int_equal(a.header.tx_count, n);

    /* txids and tx_root computed here. */
    uint8_t ids[3][HASH_BYTES], root[HASH_BYTES];
    for (uint32_t i = 0; i < n; i++)
        hash_tagged(ids[i], "idledger/txid", TX_TEXT[i], strlen(TX_TEXT[i]));
    hash_merkle_root(root, (const uint8_t(*)[HASH_BYTES])ids, n);
    assert_memory_equal(a.header.tx_root, root, HASH_BYTES);

    struct idl_bytes enc;
    assert_int_equal(ledger_block_encode(&a, &enc), IDL_OK);
    uint8_t hash[HASH_BYTES];
    hash_tagged(hash, "idledger/block", enc.data, HEADER_LEN);
    assert_memory_equal(a.hash, hash, HASH_BYTES);

    assert_int_equal(ledger_block_decode(&d, enc.data, enc.len, CHAIN), IDL_OK);
    assert_memory_equal(&d.header, &a.header, sizeof(d.header));
    assert_memory_equal(d.hash, a.hash, HASH_BYTES);
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(d.txs[i].len, strlen(TX_TEXT[i]));
        assert_memory_equal(d.txs[i].data, TX_TEXT[i], d.txs[i].len);
        assert_memory_equal(d.txids[i], ids[i], HASH_BYTES);
    }
    ledger_block_free(&d);
    ledger_block_free(&a);
    free(enc.data);
}

static void
test_roundtrip_zero_txs(void **state)
{
    (void)state;
    roundtrip(0);
}

static void
test_roundtrip_one_tx(void **state)
{
    (void)state;
    roundtrip(1);
}

static void
test_roundtrip_three_txs(void **state)
{
    (void)state;
    roundtrip(3);
}

static void
test_encoding_layout(void **state)
{
    (void)state;
    struct idl_bytes enc = encoded_block(3);
    size_t body = 0;
    for (int i = 0; i < 3; i++)
        body += 4 + strlen(TX_TEXT[i]);
    assert_int_equal(enc.len, HEADER_LEN + body);
    assert_int_equal(enc.data[0], LEDGER_BLOCK_VERSION);
    assert_int_equal(codec_be32_get(enc.data + TX_COUNT_OFF), 3);
    assert_int_equal(codec_be32_get(enc.data + HEADER_LEN), strlen(TX_TEXT[0]));
    assert_memory_equal(enc.data + HEADER_LEN + 4, TX_TEXT[0], strlen(TX_TEXT[0]));
    free(enc.data);
}

static void
test_decode_refuses_every_truncation(void **state)
{
    (void)state;
    struct idl_bytes enc = encoded_block(3);
    struct ledger_block d;
    for (size_t len = 0; len < enc.len; len++)
        if (ledger_block_decode(&d, enc.data, len, CHAIN) != IDL_ERR_MALFORMED)
            fail_msg("decoded from %zu of %zu bytes", len, enc.len);
    free(enc.data);
}

static void
test_decode_refuses_trailing_bytes(void **state)
{
    (void)state;
    for (uint32_t n = 0; n <= 3; n += 3) {
        struct idl_bytes enc = encoded_block(n);
        uint8_t *longer = calloc(1, enc.len + 4);
        assert_non_null(longer);
        memcpy(longer, enc.data, enc.len);
        struct ledger_block d;
        assert_int_equal(ledger_block_decode(&d, longer, enc.len + 1, CHAIN), IDL_ERR_MALFORMED);
        assert_int_equal(ledger_block_decode(&d, longer, enc.len + 4, CHAIN), IDL_ERR_MALFORMED);
        free(longer);
        free(enc.data);
    }
}

static void
test_decode_refuses_wrong_version(void **state)
{
    (void)state;
    struct idl_bytes enc = encoded_block(1);
    struct ledger_block d;
    enc.data[0] = 2;
    assert_int_equal(ledger_block_decode(&d, enc.data, enc.len, CHAIN), IDL_ERR_VERSION);
    enc.data[0] = 0;
    assert_int_equal(ledger_block_decode(&d, enc.data, enc.len, CHAIN), IDL_ERR_VERSION);
    free(enc.data);
}

static void
test_decode_refuses_wrong_chain(void **state)
{
    (void)state;
    struct idl_bytes enc = encoded_block(1);
    struct ledger_block d;
    assert_int_equal(ledger_block_decode(&d, enc.data, enc.len, "other-chain"), IDL_ERR_CHAIN);
    assert_int_equal(ledger_block_decode(&d, enc.data, enc.len, "test-chai"), IDL_ERR_CHAIN);
    free(enc.data);
}

static void
test_decode_refuses_tx_root_mismatch(void **state)
{
    (void)state;
    struct idl_bytes enc = encoded_block(3);
    struct ledger_block d;
    /* A byte of the last transaction. */
    enc.data[enc.len - 1] ^= 0x01;
    assert_int_equal(ledger_block_decode(&d, enc.data, enc.len, CHAIN), IDL_ERR_MALFORMED);
    enc.data[enc.len - 1] ^= 0x01;
    /* A byte of tx_root itself. */
    enc.data[TX_COUNT_OFF - 2 * HASH_BYTES] ^= 0x80;
    assert_int_equal(ledger_block_decode(&d, enc.data, enc.len, CHAIN), IDL_ERR_MALFORMED);
    free(enc.data);
}

static void
test_decode_refuses_reordered_txs(void **state)
{
    (void)state;
    /* Swap two transactions of equal length, "ab" and "cd": tx_root fixes their order. */
    struct ledger_block_header h;
    struct idl_bytes txs[2] = {{(uint8_t *)"ab", 2}, {(uint8_t *)"cd", 2}};
    struct ledger_block b, d;
    fill_header(&h);
    assert_int_equal(ledger_block_assemble(&b, &h, txs, 2), IDL_OK);
    struct idl_bytes enc;
    assert_int_equal(ledger_block_encode(&b, &enc), IDL_OK);
    memcpy(enc.data + HEADER_LEN + 4, "cd", 2);
    memcpy(enc.data + HEADER_LEN + 4 + 2 + 4, "ab", 2);
    assert_int_equal(ledger_block_decode(&d, enc.data, enc.len, CHAIN), IDL_ERR_MALFORMED);
    ledger_block_free(&b);
    free(enc.data);
}

static idl_err
decode_with_count(uint32_t count)
{
    struct idl_bytes enc = encoded_block(3);
    codec_be32_put(enc.data + TX_COUNT_OFF, count);
    struct ledger_block d;
    idl_err rc = ledger_block_decode(&d, enc.data, enc.len, CHAIN);
    if (rc == IDL_OK)
        ledger_block_free(&d);
    free(enc.data);
    return rc;
}

static void
test_decode_refuses_wrong_tx_count(void **state)
{
    (void)state;
    assert_int_equal(decode_with_count(3), IDL_OK);
    assert_int_equal(decode_with_count(4), IDL_ERR_MALFORMED);
    assert_int_equal(decode_with_count(2), IDL_ERR_MALFORMED);
    assert_int_equal(decode_with_count(0), IDL_ERR_MALFORMED);
    assert_int_equal(decode_with_count(LEDGER_BLOCK_TXS_MAX + 1), IDL_ERR_MALFORMED);
    assert_int_equal(decode_with_count(UINT32_MAX), IDL_ERR_MALFORMED);
}

static void
test_decode_refuses_tx_length_beyond_data(void **state)
{
    (void)state;
    struct idl_bytes enc = encoded_block(1);
    struct ledger_block d;
    codec_be32_put(enc.data + HEADER_LEN, (uint32_t)strlen(TX_TEXT[0]) + 1);
    assert_int_equal(ledger_block_decode(&d, enc.data, enc.len, CHAIN), IDL_ERR_MALFORMED);
    codec_be32_put(enc.data + HEADER_LEN, UINT32_MAX);
    assert_int_equal(ledger_block_decode(&d, enc.data, enc.len, CHAIN), IDL_ERR_MALFORMED);
    free(enc.data);
}

static void
test_decode_refuses_empty_tx(void **state)
{
    (void)state;
    /* Header of a 1-transaction block whose transaction has length 0. */
    struct idl_bytes enc = encoded_block(0);
    uint8_t *m = calloc(1, enc.len + 4);
    assert_non_null(m);
    memcpy(m, enc.data, enc.len);
    codec_be32_put(m + TX_COUNT_OFF, 1);
    struct ledger_block d;
    assert_int_equal(ledger_block_decode(&d, m, enc.len + 4, CHAIN), IDL_ERR_MALFORMED);
    free(m);
    free(enc.data);
}

static void
test_decode_refuses_over_size_bound(void **state)
{
    (void)state;
    struct idl_bytes enc = encoded_block(1);
    uint8_t *big = calloc(1, LEDGER_BLOCK_BYTES_MAX + 1);
    assert_non_null(big);
    memcpy(big, enc.data, enc.len);
    struct ledger_block d;
    assert_int_equal(ledger_block_decode(&d, big, LEDGER_BLOCK_BYTES_MAX + 1, CHAIN),
                     IDL_ERR_TOO_LARGE);
    free(big);
    free(enc.data);
}

static void
test_header_hash_changes_with_every_field(void **state)
{
    (void)state;
    struct ledger_block_header h, m;
    fill_header(&h);
    h.version = LEDGER_BLOCK_VERSION;
    uint8_t base[HASH_BYTES], other[HASH_BYTES];
    ledger_block_header_hash(base, &h);
    ledger_block_header_hash(other, &h);
    assert_memory_equal(base, other, HASH_BYTES); /* deterministic */
    for (int field = 0; field < 9; field++) {
        m = h;
        switch (field) {
        case 0:
            m.version++;
            break;
        case 1:
            m.chain_id[0] = 'T';
            break;
        case 2:
            m.height++;
            break;
        case 3:
            m.time_ms++;
            break;
        case 4:
            m.prev_hash[31] ^= 1;
            break;
        case 5:
            m.app_hash[0] ^= 1;
            break;
        case 6:
            m.tx_root[16] ^= 1;
            break;
        case 7:
            m.proposer[5] ^= 1;
            break;
        case 8:
            m.tx_count++;
            break;
        }
        ledger_block_header_hash(other, &m);
        if (memcmp(base, other, HASH_BYTES) == 0)
            fail_msg("header field %d is not covered by the hash", field);
    }
}

/* ---- commit certificates ---- */

/* Signs a commit at (height, round) for `hash` by validators idx[0..n), voting `type` for
 * `signed_hash` (normally the same hash). */
static void
make_commit(struct ledger_commit *c, const uint16_t *idx, uint32_t n, unsigned type,
            uint64_t height, uint32_t round, const uint8_t hash[HASH_BYTES],
            const uint8_t signed_hash[HASH_BYTES], const char *chain)
{
    memset(c, 0, sizeof(*c));
    c->height = height;
    c->round = round;
    memcpy(c->block_hash, hash, HASH_BYTES);
    uint8_t msg[HASH_BYTES];
    ledger_vote_sighash(msg, chain, type, height, round, signed_hash);
    struct ledger_commit_sig *s = calloc(n ? n : 1, sizeof(*s));
    assert_non_null(s);
    for (uint32_t i = 0; i < n; i++) {
        s[i].validator = idx[i];
        assert_int_equal(sig_sign(s[i].sig, msg, val_sk[idx[i] % NVALS]), IDL_OK);
    }
    c->sigs.items = s;
    c->sigs.count = n;
}

static void
block_hash_of(uint8_t hash[HASH_BYTES])
{
    struct ledger_block b;
    assemble(&b, 1);
    memcpy(hash, b.hash, HASH_BYTES);
    ledger_block_free(&b);
}

/* Builds a commit for the test block at height 7, round 2, and verifies it. */
static idl_err
verify_commit(const uint16_t *idx, uint32_t n, unsigned type, bool other_hash)
{
    uint8_t hash[HASH_BYTES], other[HASH_BYTES];
    block_hash_of(hash);
    memcpy(other, hash, HASH_BYTES);
    other[0] ^= 0xff;
    struct ledger_commit c;
    make_commit(&c, idx, n, type, 7, 2, hash, other_hash ? other : hash, CHAIN);
    idl_err rc = ledger_commit_verify(&c, CHAIN, 7, hash, vals, NVALS);
    free(c.sigs.items);
    return rc;
}

static void
test_commit_three_of_four_passes(void **state)
{
    (void)state;
    static const uint16_t idx[] = {0, 1, 2};
    assert_int_equal(verify_commit(idx, 3, VOTE_PRECOMMIT, false), IDL_OK);
    static const uint16_t idx2[] = {0, 2, 3};
    assert_int_equal(verify_commit(idx2, 3, VOTE_PRECOMMIT, false), IDL_OK);
    static const uint16_t all[] = {0, 1, 2, 3};
    assert_int_equal(verify_commit(all, 4, VOTE_PRECOMMIT, false), IDL_OK);
}

static void
test_commit_two_of_four_fails(void **state)
{
    (void)state;
    static const uint16_t idx[] = {1, 3};
    assert_int_equal(verify_commit(idx, 2, VOTE_PRECOMMIT, false), IDL_ERR_INVALID);
    assert_int_equal(verify_commit(idx, 0, VOTE_PRECOMMIT, false), IDL_ERR_INVALID);
}

static void
test_commit_duplicate_validator_fails(void **state)
{
    (void)state;
    static const uint16_t idx[] = {0, 1, 1};
    assert_int_equal(verify_commit(idx, 3, VOTE_PRECOMMIT, false), IDL_ERR_INVALID);
}

static void
test_commit_unsorted_validators_fail(void **state)
{
    (void)state;
    static const uint16_t idx[] = {1, 0, 2};
    assert_int_equal(verify_commit(idx, 3, VOTE_PRECOMMIT, false), IDL_ERR_INVALID);
}

static void
test_commit_unknown_validator_fails(void **state)
{
    (void)state;
    static const uint16_t idx[] = {0, 1, NVALS}; /* signed by val 0's key, index 4 */
    assert_int_equal(verify_commit(idx, 3, VOTE_PRECOMMIT, false), IDL_ERR_INVALID);
}

static void
test_commit_signature_over_other_hash_fails(void **state)
{
    (void)state;
    static const uint16_t idx[] = {0, 1, 2};
    assert_int_equal(verify_commit(idx, 3, VOTE_PRECOMMIT, true), IDL_ERR_SIGNATURE);
}

static void
test_commit_prevote_instead_of_precommit_fails(void **state)
{
    (void)state;
    static const uint16_t idx[] = {0, 1, 2};
    assert_int_equal(verify_commit(idx, 3, VOTE_PREVOTE, false), IDL_ERR_SIGNATURE);
}

static void
test_commit_wrong_height_or_hash_fails(void **state)
{
    (void)state;
    static const uint16_t idx[] = {0, 1, 2};
    uint8_t hash[HASH_BYTES], other[HASH_BYTES];
    block_hash_of(hash);
    memcpy(other, hash, HASH_BYTES);
    other[31] ^= 1;
    struct ledger_commit c;
    make_commit(&c, idx, 3, VOTE_PRECOMMIT, 7, 2, hash, hash, CHAIN);
    assert_int_equal(ledger_commit_verify(&c, CHAIN, 7, hash, vals, NVALS), IDL_OK);
    assert_int_equal(ledger_commit_verify(&c, CHAIN, 8, hash, vals, NVALS), IDL_ERR_INVALID);
    assert_int_equal(ledger_commit_verify(&c, CHAIN, 6, hash, vals, NVALS), IDL_ERR_INVALID);
    assert_int_equal(ledger_commit_verify(&c, CHAIN, 7, other, vals, NVALS), IDL_ERR_INVALID);
    /* A commit whose own height was altered no longer matches its signatures. */
    c.height = 8;
    assert_int_equal(ledger_commit_verify(&c, CHAIN, 8, hash, vals, NVALS), IDL_ERR_SIGNATURE);
    free(c.sigs.items);
}

static void
test_commit_other_round_or_chain_fails(void **state)
{
    (void)state;
    static const uint16_t idx[] = {0, 1, 2};
    uint8_t hash[HASH_BYTES];
    block_hash_of(hash);
    struct ledger_commit c;
    make_commit(&c, idx, 3, VOTE_PRECOMMIT, 7, 2, hash, hash, CHAIN);
    c.round = 3;
    assert_int_equal(ledger_commit_verify(&c, CHAIN, 7, hash, vals, NVALS), IDL_ERR_SIGNATURE);
    c.round = 2;
    assert_int_equal(ledger_commit_verify(&c, "other-chain", 7, hash, vals, NVALS),
                     IDL_ERR_SIGNATURE);
    free(c.sigs.items);
}

static void
test_commit_flipped_signature_fails(void **state)
{
    (void)state;
    static const uint16_t idx[] = {0, 1, 2};
    uint8_t hash[HASH_BYTES];
    block_hash_of(hash);
    struct ledger_commit c;
    make_commit(&c, idx, 3, VOTE_PRECOMMIT, 7, 2, hash, hash, CHAIN);
    ((struct ledger_commit_sig *)c.sigs.items)[1].sig[40] ^= 0x10;
    assert_int_equal(ledger_commit_verify(&c, CHAIN, 7, hash, vals, NVALS), IDL_ERR_SIGNATURE);
    free(c.sigs.items);
}

static void
test_commit_schema_roundtrip(void **state)
{
    (void)state;
    static const uint16_t idx[] = {0, 2, 3};
    uint8_t hash[HASH_BYTES];
    block_hash_of(hash);
    struct ledger_commit c, d;
    make_commit(&c, idx, 3, VOTE_PRECOMMIT, 7, 2, hash, hash, CHAIN);
    struct idl_bytes enc;
    assert_int_equal(schema_encode_bytes(&ledger_commit_schema, &c, &enc), IDL_OK);
    /* u64 height, u32 round, hash, u16 count, 3 x (u16 validator, sig) */
    assert_int_equal(enc.len, 8 + 4 + 32 + 2 + 3 * (2 + 64));
    assert_int_equal(schema_decode_bytes(&ledger_commit_schema, &d, enc.data, enc.len), IDL_OK);
    assert_int_equal(ledger_commit_verify(&d, CHAIN, 7, hash, vals, NVALS), IDL_OK);
    schema_free(&ledger_commit_schema, &d);
    free(enc.data);
    free(c.sigs.items);
}

static void
test_validators_power(void **state)
{
    (void)state;
    assert_true(ledger_validators_power(vals, NVALS) == NVALS);
    assert_true(ledger_validators_power(vals, 0) == 0);
}

/*
 * With four validators of power 2^62 the uint64 total would wrap to 0 and one signature
 * would "certify" a block; powers above LEDGER_VALIDATOR_POWER_MAX are refused instead.
 */
static void
test_commit_refuses_overflowing_powers(void **state)
{
    (void)state;
    struct ledger_validator big[NVALS];
    memcpy(big, vals, sizeof(big));
    for (int i = 0; i < NVALS; i++)
        big[i].power = UINT64_C(1) << 62;
    static const uint16_t idx[] = {0};
    uint8_t hash[HASH_BYTES];
    block_hash_of(hash);
    struct ledger_commit c;
    make_commit(&c, idx, 1, VOTE_PRECOMMIT, 7, 2, hash, hash, CHAIN);
    idl_err rc = ledger_commit_verify(&c, CHAIN, 7, hash, big, NVALS);
    free(c.sigs.items);
    assert_int_equal(rc, IDL_ERR_INVALID); /* one of four equal validators is not > 2/3 */
}

/*
 * Pinned values, computed once by tests/unit/golden.py with Python's hashlib (not with the
 * hashes under test): the RFC 6962 Merkle root of three txids (32 x 0xaa, 0xbb, 0xcc: a
 * node over the first two, then a node with the third), and the hash of a header holding it.
 */
#define GOLDEN_TX_ROOT "c9a84243a48b42d6dead55e47bc4f416ed02f0c7facbb7eebe60b4441ad5bfbe"
#define GOLDEN_BLOCK "5744c5910ab9dbf7296af811c6b2d040a83bc2590214ae6774774bc14853754f"
#define GOLDEN_PROPOSER "84bf7562262bbd6940085748f3be6afa52ae317155181ece31b66351ccffa4b0"

static void
test_golden_tx_root_and_block_hash(void **state)
{
    (void)state;
    uint8_t leaves[3][HASH_BYTES], root[HASH_BYTES], want[HASH_BYTES];
    memset(leaves[0], 0xaa, HASH_BYTES);
    memset(leaves[1], 0xbb, HASH_BYTES);
    memset(leaves[2], 0xcc, HASH_BYTES);
    hash_merkle_root(root, (const uint8_t(*)[HASH_BYTES])leaves, 3);
    assert_int_equal(codec_hex_decode(want, HASH_BYTES, GOLDEN_TX_ROOT), IDL_OK);
    assert_memory_equal(root, want, HASH_BYTES);

    struct ledger_block_header h;
    memset(&h, 0, sizeof(h));
    h.version = 1;
    strcpy(h.chain_id, "golden");
    h.height = 7;
    h.time_ms = 1700000000123ull;
    memset(h.prev_hash, 0x01, HASH_BYTES);
    memset(h.app_hash, 0x02, HASH_BYTES);
    memcpy(h.tx_root, root, HASH_BYTES);
    assert_int_equal(codec_hex_decode(h.proposer, SIG_PUBKEY_BYTES, GOLDEN_PROPOSER), IDL_OK);
    h.tx_count = 3;
    uint8_t hash[HASH_BYTES];
    ledger_block_header_hash(hash, &h);
    assert_int_equal(codec_hex_decode(want, HASH_BYTES, GOLDEN_BLOCK), IDL_OK);
    assert_memory_equal(hash, want, HASH_BYTES);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_zero_txs),
        cmocka_unit_test(test_roundtrip_one_tx),
        cmocka_unit_test(test_roundtrip_three_txs),
        cmocka_unit_test(test_encoding_layout),
        cmocka_unit_test(test_decode_refuses_every_truncation),
        cmocka_unit_test(test_decode_refuses_trailing_bytes),
        cmocka_unit_test(test_decode_refuses_wrong_version),
        cmocka_unit_test(test_decode_refuses_wrong_chain),
        cmocka_unit_test(test_decode_refuses_tx_root_mismatch),
        cmocka_unit_test(test_decode_refuses_reordered_txs),
        cmocka_unit_test(test_decode_refuses_wrong_tx_count),
        cmocka_unit_test(test_decode_refuses_tx_length_beyond_data),
        cmocka_unit_test(test_decode_refuses_empty_tx),
        cmocka_unit_test(test_decode_refuses_over_size_bound),
        cmocka_unit_test(test_header_hash_changes_with_every_field),
        cmocka_unit_test(test_commit_three_of_four_passes),
        cmocka_unit_test(test_commit_two_of_four_fails),
        cmocka_unit_test(test_commit_duplicate_validator_fails),
        cmocka_unit_test(test_commit_unsorted_validators_fail),
        cmocka_unit_test(test_commit_unknown_validator_fails),
        cmocka_unit_test(test_commit_signature_over_other_hash_fails),
        cmocka_unit_test(test_commit_prevote_instead_of_precommit_fails),
        cmocka_unit_test(test_commit_wrong_height_or_hash_fails),
        cmocka_unit_test(test_commit_other_round_or_chain_fails),
        cmocka_unit_test(test_commit_flipped_signature_fails),
        cmocka_unit_test(test_commit_schema_roundtrip),
        cmocka_unit_test(test_validators_power),
        cmocka_unit_test(test_commit_refuses_overflowing_powers),
        cmocka_unit_test(test_golden_tx_root_and_block_hash),
    };
    return cmocka_run_group_tests_name("block", tests, setup, NULL);
}

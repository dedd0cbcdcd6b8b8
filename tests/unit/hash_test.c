/*
 * Unit tests of ledger/hash.h: SHA-256 against the FIPS 180 examples ("abc" and the empty
 * string); HMAC-SHA-256 against RFC 4231 test cases 1, 2, 6 (key longer than a block) and
 * 7; the tagged hash against an independent computation SHA256(SHA256(tag) || SHA256(tag)
 * || msg) built from hash_sha256 alone, and the incremental interface against the one-shot
 * one; the Merkle root of 0, 1, 2, 3 and 5 leaves against expected values computed here by
 * hand from the RFC 6962 split described in hash.h (never by calling hash_merkle_root), and
 * that [a,b,c] and [a,b,c,c] have different roots; hash_is_zero.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "codec.h"
#include "hash.h"

static void
unhex(uint8_t *out, size_t n, const char *hex)
{
    assert_int_equal(codec_hex_decode(out, n, hex), IDL_OK);
}

static void
assert_hash_hex(const uint8_t h[HASH_BYTES], const char *hex)
{
    uint8_t want[HASH_BYTES];
    unhex(want, sizeof(want), hex);
    assert_memory_equal(h, want, HASH_BYTES);
}

static void
test_sha256_abc_fips180(void **state)
{
    (void)state;
    uint8_t h[HASH_BYTES];
    hash_sha256(h, "abc", 3);
    assert_hash_hex(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void
test_sha256_empty_fips180(void **state)
{
    (void)state;
    uint8_t h[HASH_BYTES];
    hash_sha256(h, "", 0);
    assert_hash_hex(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void
test_hmac_rfc4231_case1(void **state)
{
    (void)state;
    uint8_t key[20], h[HASH_BYTES];
    memset(key, 0x0b, sizeof(key));
    hash_hmac_sha256(h, key, sizeof(key), "Hi There", 8);
    assert_hash_hex(h, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

static void
test_hmac_rfc4231_case2(void **state)
{
    (void)state;
    static const char data[] = "what do ya want for nothing?";
    uint8_t h[HASH_BYTES];
    hash_hmac_sha256(h, (const uint8_t *)"Jefe", 4, data, strlen(data));
    assert_hash_hex(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void
test_hmac_rfc4231_case6_long_key(void **state)
{
    (void)state;
    static const char data[] = "Test Using Larger Than Block-Size Key - Hash Key First";
    uint8_t key[131], h[HASH_BYTES];
    memset(key, 0xaa, sizeof(key));
    hash_hmac_sha256(h, key, sizeof(key), data, strlen(data));
    assert_hash_hex(h, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void
test_hmac_rfc4231_case7_long_key_and_data(void **state)
{
    (void)state;
    static const char data[] = "This is a test using a larger than block-size key and a larger "
                               "than block-size data. The key needs to be hashed before being "
                               "used by the HMAC algorithm.";
    uint8_t key[131], h[HASH_BYTES];
    memset(key, 0xaa, sizeof(key));
    hash_hmac_sha256(h, key, sizeof(key), data, strlen(data));
    assert_hash_hex(h, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

/* SHA256(SHA256(tag) || SHA256(tag) || msg), from hash_sha256 only. */
static void
tagged_by_hand(uint8_t out[HASH_BYTES], const char *tag, const void *msg, size_t len)
{
    uint8_t buf[2 * HASH_BYTES + 256];
    assert_true(len <= 256);
    hash_sha256(buf, tag, strlen(tag));
    memcpy(buf + HASH_BYTES, buf, HASH_BYTES);
    if (len)
        memcpy(buf + 2 * HASH_BYTES, msg, len);
    hash_sha256(out, buf, 2 * HASH_BYTES + len);
}

static void
test_tagged_matches_independent_computation(void **state)
{
    (void)state;
    static const char msg[] = "the quick brown fox";
    uint8_t got[HASH_BYTES], want[HASH_BYTES];
    hash_tagged(got, "idledger/txid", msg, strlen(msg));
    tagged_by_hand(want, "idledger/txid", msg, strlen(msg));
    assert_memory_equal(got, want, HASH_BYTES);

    hash_tagged(got, "idledger/block", "", 0);
    tagged_by_hand(want, "idledger/block", "", 0);
    assert_memory_equal(got, want, HASH_BYTES);
}

static void
test_tagged_separates_domains(void **state)
{
    (void)state;
    uint8_t a[HASH_BYTES], b[HASH_BYTES], plain[HASH_BYTES];
    hash_tagged(a, "idledger/txid", "m", 1);
    hash_tagged(b, "idledger/block", "m", 1);
    hash_sha256(plain, "m", 1);
    assert_memory_not_equal(a, b, HASH_BYTES);
    assert_memory_not_equal(a, plain, HASH_BYTES);
}

static void
test_incremental_equals_one_shot_and_ctx_copies(void **state)
{
    (void)state;
    static const char msg[] = "0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQ";
    uint8_t one[HASH_BYTES], inc[HASH_BYTES], copied[HASH_BYTES];
    hash_tagged(one, "idledger/vote", msg, strlen(msg));

    struct hash_ctx ctx, copy;
    hash_tagged_init(&ctx, "idledger/vote");
    hash_update(&ctx, msg, 10);
    copy = ctx;
    hash_update(&ctx, msg + 10, strlen(msg) - 10);
    hash_final(&ctx, inc);
    assert_memory_equal(one, inc, HASH_BYTES);

    /* The copy continues independently to the same result. */
    hash_update(&copy, msg + 10, 20);
    hash_update(&copy, msg + 30, strlen(msg) - 30);
    hash_final(&copy, copied);
    assert_memory_equal(one, copied, HASH_BYTES);
}

/* Hand computation of the tree of hash.h: leaf and node hashes under their tags. */
static void
leaf(uint8_t out[HASH_BYTES], const uint8_t l[HASH_BYTES])
{
    tagged_by_hand(out, "idledger/merkle-leaf", l, HASH_BYTES);
}

static void
node(uint8_t out[HASH_BYTES], const uint8_t l[HASH_BYTES], const uint8_t r[HASH_BYTES])
{
    uint8_t lr[2 * HASH_BYTES];
    memcpy(lr, l, HASH_BYTES);
    memcpy(lr + HASH_BYTES, r, HASH_BYTES);
    tagged_by_hand(out, "idledger/merkle-node", lr, sizeof(lr));
}

/* Five distinct leaf values: SHA-256 of "a" .. "e". */
static void
five_leaves(uint8_t leaves[5][HASH_BYTES])
{
    for (int i = 0; i < 5; i++) {
        char c = (char)('a' + i);
        hash_sha256(leaves[i], &c, 1);
    }
}

static void
test_merkle_zero_leaves(void **state)
{
    (void)state;
    uint8_t got[HASH_BYTES], want[HASH_BYTES], one[HASH_BYTES], x[1][HASH_BYTES] = {{0}};
    hash_merkle_root(got, NULL, 0);
    /* "The root of no leaves is the tagged hash of nothing" (tag from hash.c). */
    tagged_by_hand(want, "idledger/merkle-empty", "", 0);
    assert_memory_equal(got, want, HASH_BYTES);
    assert_false(hash_is_zero(got));
    /* Not the root of one all-zero leaf. */
    hash_merkle_root(one, (const uint8_t(*)[HASH_BYTES])x, 1);
    assert_memory_not_equal(got, one, HASH_BYTES);
}

static void
test_merkle_one_leaf(void **state)
{
    (void)state;
    uint8_t l[5][HASH_BYTES], got[HASH_BYTES], want[HASH_BYTES];
    five_leaves(l);
    hash_merkle_root(got, (const uint8_t(*)[HASH_BYTES])l, 1);
    leaf(want, l[0]);
    assert_memory_equal(got, want, HASH_BYTES);
    /* The root is not the leaf itself. */
    assert_memory_not_equal(got, l[0], HASH_BYTES);
}

static void
test_merkle_two_leaves(void **state)
{
    (void)state;
    uint8_t l[5][HASH_BYTES], got[HASH_BYTES], want[HASH_BYTES], la[HASH_BYTES], lb[HASH_BYTES];
    five_leaves(l);
    hash_merkle_root(got, (const uint8_t(*)[HASH_BYTES])l, 2);
    leaf(la, l[0]);
    leaf(lb, l[1]);
    node(want, la, lb);
    assert_memory_equal(got, want, HASH_BYTES);
}

static void
test_merkle_three_leaves(void **state)
{
    (void)state;
    uint8_t l[5][HASH_BYTES], got[HASH_BYTES], want[HASH_BYTES];
    uint8_t la[HASH_BYTES], lb[HASH_BYTES], lc[HASH_BYTES], ab[HASH_BYTES];
    five_leaves(l);
    hash_merkle_root(got, (const uint8_t(*)[HASH_BYTES])l, 3);
    /* Split at 2: node(node(a, b), c). */
    leaf(la, l[0]);
    leaf(lb, l[1]);
    leaf(lc, l[2]);
    node(ab, la, lb);
    node(want, ab, lc);
    assert_memory_equal(got, want, HASH_BYTES);
}

static void
test_merkle_five_leaves(void **state)
{
    (void)state;
    uint8_t l[5][HASH_BYTES], lh[5][HASH_BYTES], got[HASH_BYTES], want[HASH_BYTES];
    uint8_t ab[HASH_BYTES], cd[HASH_BYTES], abcd[HASH_BYTES];
    five_leaves(l);
    hash_merkle_root(got, (const uint8_t(*)[HASH_BYTES])l, 5);
    /* Split at 4: node(node(node(a, b), node(c, d)), e). */
    for (int i = 0; i < 5; i++)
        leaf(lh[i], l[i]);
    node(ab, lh[0], lh[1]);
    node(cd, lh[2], lh[3]);
    node(abcd, ab, cd);
    node(want, abcd, lh[4]);
    assert_memory_equal(got, want, HASH_BYTES);
}

static void
test_merkle_duplicated_last_leaf_differs(void **state)
{
    (void)state;
    uint8_t five[5][HASH_BYTES], abcc[4][HASH_BYTES], r3[HASH_BYTES], r4[HASH_BYTES];
    five_leaves(five);
    memcpy(abcc[0], five[0], HASH_BYTES);
    memcpy(abcc[1], five[1], HASH_BYTES);
    memcpy(abcc[2], five[2], HASH_BYTES);
    memcpy(abcc[3], five[2], HASH_BYTES);
    hash_merkle_root(r3, (const uint8_t(*)[HASH_BYTES])five, 3);
    hash_merkle_root(r4, (const uint8_t(*)[HASH_BYTES])abcc, 4);
    assert_memory_not_equal(r3, r4, HASH_BYTES);
}

static void
test_merkle_inner_node_is_not_a_leaf(void **state)
{
    (void)state;
    /* The root of [a, b] must differ from the root of the one leaf node(leaf a, leaf b). */
    uint8_t l[5][HASH_BYTES], two[HASH_BYTES], la[HASH_BYTES], lb[HASH_BYTES];
    uint8_t inner[1][HASH_BYTES], one[HASH_BYTES];
    five_leaves(l);
    hash_merkle_root(two, (const uint8_t(*)[HASH_BYTES])l, 2);
    leaf(la, l[0]);
    leaf(lb, l[1]);
    node(inner[0], la, lb);
    hash_merkle_root(one, (const uint8_t(*)[HASH_BYTES])inner, 1);
    assert_memory_not_equal(two, one, HASH_BYTES);
}

static void
test_hash_is_zero(void **state)
{
    (void)state;
    uint8_t h[HASH_BYTES] = {0};
    assert_true(hash_is_zero(h));
    for (int i = 0; i < HASH_BYTES; i++) {
        h[i] = 1;
        assert_false(hash_is_zero(h));
        h[i] = 0;
    }
    h[HASH_BYTES - 1] = 0x80;
    assert_false(hash_is_zero(h));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_abc_fips180),
        cmocka_unit_test(test_sha256_empty_fips180),
        cmocka_unit_test(test_hmac_rfc4231_case1),
        cmocka_unit_test(test_hmac_rfc4231_case2),
        cmocka_unit_test(test_hmac_rfc4231_case6_long_key),
        cmocka_unit_test(test_hmac_rfc4231_case7_long_key_and_data),
        cmocka_unit_test(test_tagged_matches_independent_computation),
        cmocka_unit_test(test_tagged_separates_domains),
        cmocka_unit_test(test_incremental_equals_one_shot_and_ctx_copies),
        cmocka_unit_test(test_merkle_zero_leaves),
        cmocka_unit_test(test_merkle_one_leaf),
        cmocka_unit_test(test_merkle_two_leaves),
        cmocka_unit_test(test_merkle_three_leaves),
        cmocka_unit_test(test_merkle_five_leaves),
        cmocka_unit_test(test_merkle_duplicated_last_leaf_differs),
        cmocka_unit_test(test_merkle_inner_node_is_not_a_leaf),
        cmocka_unit_test(test_hash_is_zero),
    };
    return cmocka_run_group_tests_name("hash", tests, NULL, NULL);
}

/*
 * Unit tests of ledger/sig.h (BIP-340 Schnorr signatures): the official BIP-340 test
 * vectors 0-14 from bitcoin/bips bip-0340/test-vectors.csv (those with a 32-byte message):
 * vectors 0-4 must verify, and for 0-3 the public key must derive from the secret key;
 * vectors 5-14 (key not on the curve or beyond the field, and ten kinds of bad signature)
 * must fail. Then a sign/verify round trip with a generated key and with a vector key,
 * verification failing on a flipped message bit, a flipped signature bit and another key,
 * sig_pubkey_valid on valid and invalid x coordinates, and refusal of an invalid secret.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "codec.h"
#include "sig.h"

struct vector {
    int index;
    const char *seckey; /* NULL when the vector has none */
    const char *pubkey;
    const char *msg;
    const char *sig;
    bool valid;
};

/* bitcoin/bips, bip-0340/test-vectors.csv, rows 0-14 (aux_rand and comments omitted). */
static const struct vector vectors[] = {
    {0, "0000000000000000000000000000000000000000000000000000000000000003",
     "F9308A019258C31049344F85F89D5229B531C845836F99B08601F113BCE036F9",
     "0000000000000000000000000000000000000000000000000000000000000000",
     "E907831F80848D1069A5371B402410364BDF1C5F8307B0084C55F1CE2DCA8215"
     "25F66A4A85EA8B71E482A74F382D2CE5EBEEE8FDB2172F477DF4900D310536C0",
     true},
    {1, "B7E151628AED2A6ABF7158809CF4F3C762E7160F38B4DA56A784D9045190CFEF",
     "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "6896BD60EEAE296DB48A229FF71DFE071BDE413E6D43F917DC8DCF8C78DE3341"
     "8906D11AC976ABCCB20B091292BFF4EA897EFCB639EA871CFA95F6DE339E4B0A",
     true},
    {2, "C90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B14E5C9",
     "DD308AFEC5777E13121FA72B9CC1B7CC0139715309B086C960E18FD969774EB8",
     "7E2D58D8B3BCDF1ABADEC7829054F90DDA9805AAB56C77333024B9D0A508B75C",
     "5831AAEED7B44BB74E5EAB94BA9D4294C49BCF2A60728D8B4C200F50DD313C1B"
     "AB745879A5AD954A72C45A91C3A51D3C7ADEA98D82F8481E0E1E03674A6F3FB7",
     true},
    {3, "0B432B2677937381AEF05BB02A66ECD012773062CF3FA2549E44F58ED2401710",
     "25D1DFF95105F5253C4022F628A996AD3A0D95FBF21D468A1B33F8C160D8F517",
     "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
     "7EB0509757E246F19449885651611CB965ECC1A187DD51B64FDA1EDC9637D5EC"
     "97582B9CB13DB3933705B32BA982AF5AF25FD78881EBB32771FC5922EFC66EA3",
     true},
    {4, NULL, "D69C3509BB99E412E68B0FE8544E72837DFA30746D8BE2AA65975F29D22DC7B9",
     "4DF3C3F68FCC83B27E9D42C90431A72499F17875C81A599B566C9889B9696703",
     "00000000000000000000003B78CE563F89A0ED9414F5AA28AD0D96D6795F9C63"
     "76AFB1548AF603B3EB45C9F8207DEE1060CB71C04E80F593060B07D28308D7F4",
     true},
    /* 5: public key not on the curve */
    {5, NULL, "EEFDEA4CDB677750A420FEE807EACF21EB9898AE79B9768766E4FAA04A2D4A34",
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E177769"
     "69E89B4C5564D00349106B8497785DD7D1D713A8AE82B32FA79D5F7FC407D39B",
     false},
    /* 6: has_even_y(R) is false */
    {6, NULL, "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "FFF97BD5755EEEA420453A14355235D382F6472F8568A18B2F057A1460297556"
     "3CC27944640AC607CD107AE10923D9EF7A73C643E166BE5EBEAFA34B1AC553E2",
     false},
    /* 7: negated message */
    {7, NULL, "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "1FA62E331EDBC21C394792D2AB1100A7B432B013DF3F6FF4F99FCB33E0E1515F"
     "28890B3EDB6E7189B630448B515CE4F8622A954CFE545735AAEA5134FCCDB2BD",
     false},
    /* 8: negated s value */
    {8, NULL, "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E177769"
     "961764B3AA9B2FFCB6EF947B6887A226E8D7C93E00C5ED0C1834FF0D0C2E6DA6",
     false},
    /* 9: sG - eP is infinite (x(inf) as 0) */
    {9, NULL, "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "0000000000000000000000000000000000000000000000000000000000000000"
     "123DDA8328AF9C23A94C1FEECFD123BA4FB73476F0D594DCB65C6425BD186051",
     false},
    /* 10: sG - eP is infinite (x(inf) as 1) */
    {10, NULL, "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "0000000000000000000000000000000000000000000000000000000000000001"
     "7615FBAF5AE28864013C099742DEADB4DBA87F11AC6754F93780D5A1837CF197",
     false},
    /* 11: sig[0:32] is not an X coordinate on the curve */
    {11, NULL, "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "4A298DACAE57395A15D0795DDBFD1DCB564DA82B0F269BC70A74F8220429BA1D"
     "69E89B4C5564D00349106B8497785DD7D1D713A8AE82B32FA79D5F7FC407D39B",
     false},
    /* 12: sig[0:32] is equal to field size */
    {12, NULL, "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F"
     "69E89B4C5564D00349106B8497785DD7D1D713A8AE82B32FA79D5F7FC407D39B",
     false},
    /* 13: sig[32:64] is equal to curve order */
    {13, NULL, "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E177769"
     "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141",
     false},
    /* 14: public key is not a valid X coordinate because it exceeds the field size */
    {14, NULL, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC30",
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E177769"
     "69E89B4C5564D00349106B8497785DD7D1D713A8AE82B32FA79D5F7FC407D39B",
     false},
};

struct decoded {
    uint8_t sk[SIG_SECKEY_BYTES], pk[SIG_PUBKEY_BYTES], msg[32], sig[SIG_BYTES];
};

static void
decode_vector(const struct vector *v, struct decoded *d)
{
    memset(d, 0, sizeof(*d));
    if (v->seckey)
        assert_int_equal(codec_hex_decode(d->sk, sizeof(d->sk), v->seckey), IDL_OK);
    assert_int_equal(codec_hex_decode(d->pk, sizeof(d->pk), v->pubkey), IDL_OK);
    assert_int_equal(codec_hex_decode(d->msg, sizeof(d->msg), v->msg), IDL_OK);
    assert_int_equal(codec_hex_decode(d->sig, sizeof(d->sig), v->sig), IDL_OK);
}

static int
setup(void **state)
{
    (void)state;
    return sig_init() == IDL_OK ? 0 : -1;
}

static void
test_bip340_valid_vectors_verify(void **state)
{
    (void)state;
    int checked = 0;
    for (size_t i = 0; i < IDL_ARRAY_LEN(vectors); i++) {
        if (!vectors[i].valid)
            continue;
        struct decoded d;
        decode_vector(&vectors[i], &d);
        if (!sig_verify(d.sig, d.msg, d.pk))
            fail_msg("BIP-340 vector %d does not verify", vectors[i].index);
        assert_true(sig_pubkey_valid(d.pk));
        checked++;
    }
    assert_int_equal(checked, 5);
}

static void
test_bip340_pubkeys_derive_from_secret(void **state)
{
    (void)state;
    for (size_t i = 0; i < IDL_ARRAY_LEN(vectors); i++) {
        if (!vectors[i].seckey)
            continue;
        struct decoded d;
        uint8_t pk[SIG_PUBKEY_BYTES];
        decode_vector(&vectors[i], &d);
        assert_int_equal(sig_pubkey_from_secret(pk, d.sk), IDL_OK);
        assert_memory_equal(pk, d.pk, SIG_PUBKEY_BYTES);
    }
}

static void
test_bip340_invalid_vectors_fail(void **state)
{
    (void)state;
    int checked = 0;
    for (size_t i = 0; i < IDL_ARRAY_LEN(vectors); i++) {
        if (vectors[i].valid)
            continue;
        struct decoded d;
        decode_vector(&vectors[i], &d);
        if (sig_verify(d.sig, d.msg, d.pk))
            fail_msg("BIP-340 vector %d verifies but must not", vectors[i].index);
        checked++;
    }
    assert_int_equal(checked, 10);
}

static void
test_bip340_invalid_pubkeys_refused(void **state)
{
    (void)state;
    struct decoded d5, d14;
    decode_vector(&vectors[5], &d5);   /* not on the curve */
    decode_vector(&vectors[14], &d14); /* beyond the field size */
    assert_false(sig_pubkey_valid(d5.pk));
    assert_false(sig_pubkey_valid(d14.pk));
}

static void
test_sign_verify_roundtrip(void **state)
{
    (void)state;
    uint8_t sk[SIG_SECKEY_BYTES], pk[SIG_PUBKEY_BYTES], pk2[SIG_PUBKEY_BYTES];
    uint8_t msg[32], sig[SIG_BYTES];
    assert_int_equal(sig_keypair_generate(sk, pk), IDL_OK);
    assert_true(sig_pubkey_valid(pk));
    assert_int_equal(sig_pubkey_from_secret(pk2, sk), IDL_OK);
    assert_memory_equal(pk, pk2, SIG_PUBKEY_BYTES);
    for (int i = 0; i < 32; i++)
        msg[i] = (uint8_t)(i * 7 + 1);
    assert_int_equal(sig_sign(sig, msg, sk), IDL_OK);
    assert_true(sig_verify(sig, msg, pk));
}

static void
test_sign_with_vector_key_verifies(void **state)
{
    (void)state;
    /* Fresh aux randomness: not the vector's signature, but valid under its key. */
    struct decoded d;
    uint8_t sig[SIG_BYTES];
    decode_vector(&vectors[1], &d);
    assert_int_equal(sig_sign(sig, d.msg, d.sk), IDL_OK);
    assert_true(sig_verify(sig, d.msg, d.pk));
}

static void
test_verify_fails_on_flipped_message_bit(void **state)
{
    (void)state;
    uint8_t sk[SIG_SECKEY_BYTES], pk[SIG_PUBKEY_BYTES], msg[32] = {1, 2, 3}, sig[SIG_BYTES];
    assert_int_equal(sig_keypair_generate(sk, pk), IDL_OK);
    assert_int_equal(sig_sign(sig, msg, sk), IDL_OK);
    for (int bit = 0; bit < 256; bit += 37) {
        msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_false(sig_verify(sig, msg, pk));
        msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    assert_true(sig_verify(sig, msg, pk));
}

static void
test_verify_fails_on_flipped_sig_bit(void **state)
{
    (void)state;
    uint8_t sk[SIG_SECKEY_BYTES], pk[SIG_PUBKEY_BYTES], msg[32] = {9}, sig[SIG_BYTES];
    assert_int_equal(sig_keypair_generate(sk, pk), IDL_OK);
    assert_int_equal(sig_sign(sig, msg, sk), IDL_OK);
    for (int bit = 0; bit < 512; bit += 29) {
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_false(sig_verify(sig, msg, pk));
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    assert_true(sig_verify(sig, msg, pk));
}

static void
test_verify_fails_with_other_key(void **state)
{
    (void)state;
    uint8_t sk[SIG_SECKEY_BYTES], pk[SIG_PUBKEY_BYTES], sk2[SIG_SECKEY_BYTES],
        pk2[SIG_PUBKEY_BYTES], msg[32] = {0x42}, sig[SIG_BYTES];
    assert_int_equal(sig_keypair_generate(sk, pk), IDL_OK);
    assert_int_equal(sig_keypair_generate(sk2, pk2), IDL_OK);
    assert_memory_not_equal(pk, pk2, SIG_PUBKEY_BYTES);
    assert_int_equal(sig_sign(sig, msg, sk), IDL_OK);
    assert_false(sig_verify(sig, msg, pk2));
}

static void
test_two_signatures_differ_but_both_verify(void **state)
{
    (void)state;
    uint8_t sk[SIG_SECKEY_BYTES], pk[SIG_PUBKEY_BYTES], msg[32] = {7};
    uint8_t s1[SIG_BYTES], s2[SIG_BYTES];
    assert_int_equal(sig_keypair_generate(sk, pk), IDL_OK);
    assert_int_equal(sig_sign(s1, msg, sk), IDL_OK);
    assert_int_equal(sig_sign(s2, msg, sk), IDL_OK);
    assert_memory_not_equal(s1, s2, SIG_BYTES); /* fresh auxiliary randomness */
    assert_true(sig_verify(s1, msg, pk));
    assert_true(sig_verify(s2, msg, pk));
}

static void
test_pubkey_valid_and_invalid_x(void **state)
{
    (void)state;
    uint8_t pk[SIG_PUBKEY_BYTES];
    /* x = 1: 1 + 7 = 8 is a square mod p, so (1, y) is on the curve. */
    memset(pk, 0, sizeof(pk));
    pk[31] = 1;
    assert_true(sig_pubkey_valid(pk));
    /* x = 0 and x = 5: 7 and 132 are not squares mod p, so no point has these x. */
    memset(pk, 0, sizeof(pk));
    assert_false(sig_pubkey_valid(pk));
    pk[31] = 5;
    assert_false(sig_pubkey_valid(pk));
    /* All ones is above p: not a field element. */
    memset(pk, 0xff, sizeof(pk));
    assert_false(sig_pubkey_valid(pk));
}

static void
test_invalid_secret_refused(void **state)
{
    (void)state;
    uint8_t sk[SIG_SECKEY_BYTES] = {0}, pk[SIG_PUBKEY_BYTES], sig[SIG_BYTES], msg[32] = {0};
    memset(pk, 0x77, sizeof(pk));
    assert_int_equal(sig_pubkey_from_secret(pk, sk), IDL_ERR_CRYPTO);
    uint8_t zero[SIG_BYTES] = {0};
    assert_memory_equal(pk, zero, SIG_PUBKEY_BYTES);
    assert_int_equal(sig_sign(sig, msg, sk), IDL_ERR_CRYPTO);
    assert_memory_equal(sig, zero, SIG_BYTES);
    /* The curve order n is not a valid secret either. */
    assert_int_equal(
        codec_hex_decode(sk, sizeof(sk),
                         "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141"),
        IDL_OK);
    assert_int_equal(sig_pubkey_from_secret(pk, sk), IDL_ERR_CRYPTO);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bip340_valid_vectors_verify),
        cmocka_unit_test(test_bip340_pubkeys_derive_from_secret),
        cmocka_unit_test(test_bip340_invalid_vectors_fail),
        cmocka_unit_test(test_bip340_invalid_pubkeys_refused),
        cmocka_unit_test(test_sign_verify_roundtrip),
        cmocka_unit_test(test_sign_with_vector_key_verifies),
        cmocka_unit_test(test_verify_fails_on_flipped_message_bit),
        cmocka_unit_test(test_verify_fails_on_flipped_sig_bit),
        cmocka_unit_test(test_verify_fails_with_other_key),
        cmocka_unit_test(test_two_signatures_differ_but_both_verify),
        cmocka_unit_test(test_pubkey_valid_and_invalid_x),
        cmocka_unit_test(test_invalid_secret_refused),
    };
    return cmocka_run_group_tests_name("sig", tests, setup, NULL);
}

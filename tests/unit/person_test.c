/*
 * Unit tests of ledger/person.h: keys derived from a fixed chain secret; person_index is
 * deterministic, equals HMAC(HMAC(secret, "idledger/person-index"), u8 doc | number) as
 * documented, and differs by document type, number and secret; sealing round trips
 * (ASCII, Chinese UTF-8, empty, the maximum length), sealed length is text + 40, opening
 * fails with another person key, another field, another chain secret, any flipped byte and
 * any truncation, and reports a too small output buffer; sealing refuses text over
 * LEDGER_PERSON_TEXT_MAX; two seals of one text differ (random nonce); person_mask of a
 * name, mobile, e-mail, ID number, office phone and address, none containing the full
 * input, even for one-character names and short phone numbers; person_field_check refuses
 * names that are empty, all spaces, hold a digit or an invisible format character (zero-width,
 * bidirectional override, byte-order mark, word joiner), and addresses holding one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "person.h"

static const char NAME_ZH[] = "\xe5\xbc\xa0\xe4\xb8\x89"; /* 张三 */
static const char ADDRESS_ZH[] = "广东省广州市天河区体育西路1号";

static void
fixed_secret(uint8_t secret[PERSON_SECRET_BYTES], uint8_t seed)
{
    for (int i = 0; i < PERSON_SECRET_BYTES; i++)
        secret[i] = (uint8_t)(seed + i);
}

static struct person_keys *
keys_from(uint8_t seed)
{
    uint8_t secret[PERSON_SECRET_BYTES];
    fixed_secret(secret, seed);
    struct person_keys *k = NULL;
    assert_int_equal(person_keys_new(&k, secret), IDL_OK);
    assert_non_null(k);
    return k;
}

static void
index_of(uint8_t seed, enum idnum_doc doc, const char *number, uint8_t out[HASH_BYTES])
{
    struct person_keys *k = keys_from(seed);
    person_index(k, doc, number, out);
    person_keys_free(k);
}

static void
test_keys_new_and_free(void **state)
{
    (void)state;
    struct person_keys *k = keys_from(1);
    person_keys_free(k);
    person_keys_free(NULL); /* safe */
}

static void
test_index_deterministic(void **state)
{
    (void)state;
    uint8_t a[HASH_BYTES], b[HASH_BYTES];
    index_of(1, IDNUM_DOC_RESIDENT, "11010519491231002X", a);
    index_of(1, IDNUM_DOC_RESIDENT, "11010519491231002X", b);
    assert_memory_equal(a, b, HASH_BYTES);
    assert_false(hash_is_zero(a));
}

static void
test_index_matches_documented_construction(void **state)
{
    (void)state;
    uint8_t secret[PERSON_SECRET_BYTES], ikey[HASH_BYTES], want[HASH_BYTES], got[HASH_BYTES];
    fixed_secret(secret, 1);
    static const char label[] = "idledger/person-index";
    hash_hmac_sha256(ikey, secret, sizeof(secret), label, strlen(label));
    uint8_t msg[1 + 18];
    msg[0] = IDNUM_DOC_RESIDENT;
    memcpy(msg + 1, "11010519491231002X", 18);
    hash_hmac_sha256(want, ikey, sizeof(ikey), msg, sizeof(msg));
    index_of(1, IDNUM_DOC_RESIDENT, "11010519491231002X", got);
    assert_memory_equal(got, want, HASH_BYTES);
}

static void
test_index_differs_by_doc_number_secret(void **state)
{
    (void)state;
    uint8_t base[HASH_BYTES], other[HASH_BYTES];
    index_of(1, IDNUM_DOC_PASSPORT, "E12345678", base);
    index_of(1, IDNUM_DOC_HKMO, "E12345678", other);
    assert_memory_not_equal(base, other, HASH_BYTES);
    index_of(1, IDNUM_DOC_PASSPORT, "E12345679", other);
    assert_memory_not_equal(base, other, HASH_BYTES);
    index_of(2, IDNUM_DOC_PASSPORT, "E12345678", other);
    assert_memory_not_equal(base, other, HASH_BYTES);
}

static bool
contains(const uint8_t *hay, size_t n, const char *needle, size_t m)
{
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return true;
    return false;
}

/* Seals text as field `field` of `key` and opens it again with the same parameters. */
static void
roundtrip(const struct person_keys *k, const uint8_t key[HASH_BYTES], unsigned field,
          const char *text)
{
    struct idl_bytes sealed;
    assert_int_equal(person_seal(k, key, field, text, &sealed), IDL_OK);
    assert_int_equal(sealed.len, strlen(text) + LEDGER_SEAL_OVERHEAD);
    if (strlen(text) >= 4)
        assert_false(contains(sealed.data, sealed.len, text, strlen(text)));
    char out[LEDGER_PERSON_TEXT_MAX + 1];
    memset(out, 'Z', sizeof(out));
    assert_int_equal(person_open(k, key, field, sealed.data, sealed.len, out, sizeof(out)), IDL_OK);
    assert_string_equal(out, text);
    free(sealed.data);
}

static void
test_seal_open_roundtrip(void **state)
{
    (void)state;
    struct person_keys *k = keys_from(1);
    uint8_t key[HASH_BYTES];
    person_index(k, IDNUM_DOC_RESIDENT, "11010519491231002X", key);
    char longest[LEDGER_PERSON_TEXT_MAX + 1];
    memset(longest, 'a', LEDGER_PERSON_TEXT_MAX);
    longest[LEDGER_PERSON_TEXT_MAX] = '\0';
    roundtrip(k, key, PF_NAME, NAME_ZH);
    roundtrip(k, key, PF_ADDRESS, ADDRESS_ZH);
    roundtrip(k, key, PF_MOBILE, "13812345678");
    roundtrip(k, key, PF_EMAIL, "zhangsan@example.cn");
    roundtrip(k, key, PF_OFFICE_PHONE, "");
    roundtrip(k, key, PF_ADDRESS, longest);
    person_keys_free(k);
}

/* A sealed name of person `key` under chain secret seed 1. */
struct sealed_fixture {
    struct person_keys *k;
    uint8_t key[HASH_BYTES];
    struct idl_bytes sealed;
};

static void
seal_fixture(struct sealed_fixture *f)
{
    f->k = keys_from(1);
    person_index(f->k, IDNUM_DOC_RESIDENT, "11010519491231002X", f->key);
    assert_int_equal(person_seal(f->k, f->key, PF_NAME, NAME_ZH, &f->sealed), IDL_OK);
}

static void
release_fixture(struct sealed_fixture *f)
{
    free(f->sealed.data);
    person_keys_free(f->k);
}

static void
test_open_fails_with_other_person(void **state)
{
    (void)state;
    struct sealed_fixture f;
    seal_fixture(&f);
    uint8_t other[HASH_BYTES];
    person_index(f.k, IDNUM_DOC_RESIDENT, "110105194912310037", other);
    char out[64];
    assert_int_equal(
        person_open(f.k, other, PF_NAME, f.sealed.data, f.sealed.len, out, sizeof(out)),
        IDL_ERR_CRYPTO);
    assert_int_equal(out[0], '\0');
    release_fixture(&f);
}

static void
test_open_fails_with_other_field(void **state)
{
    (void)state;
    struct sealed_fixture f;
    seal_fixture(&f);
    char out[64];
    assert_int_equal(
        person_open(f.k, f.key, PF_ADDRESS, f.sealed.data, f.sealed.len, out, sizeof(out)),
        IDL_ERR_CRYPTO);
    assert_int_equal(out[0], '\0');
    release_fixture(&f);
}

static void
test_open_fails_with_other_secret(void **state)
{
    (void)state;
    struct sealed_fixture f;
    seal_fixture(&f);
    struct person_keys *k2 = keys_from(2);
    char out[64];
    assert_int_equal(person_open(k2, f.key, PF_NAME, f.sealed.data, f.sealed.len, out, sizeof(out)),
                     IDL_ERR_CRYPTO);
    person_keys_free(k2);
    release_fixture(&f);
}

static void
test_open_fails_on_any_flipped_byte(void **state)
{
    (void)state;
    struct sealed_fixture f;
    seal_fixture(&f);
    char out[64];
    for (size_t i = 0; i < f.sealed.len; i++) {
        f.sealed.data[i] ^= 0x01;
        if (person_open(f.k, f.key, PF_NAME, f.sealed.data, f.sealed.len, out, sizeof(out)) !=
            IDL_ERR_CRYPTO)
            fail_msg("opened with byte %zu flipped", i);
        f.sealed.data[i] ^= 0x01;
    }
    assert_int_equal(
        person_open(f.k, f.key, PF_NAME, f.sealed.data, f.sealed.len, out, sizeof(out)), IDL_OK);
    release_fixture(&f);
}

static void
test_open_fails_on_truncation(void **state)
{
    (void)state;
    struct sealed_fixture f;
    seal_fixture(&f);
    char out[64];
    for (size_t len = 0; len < f.sealed.len; len++)
        if (person_open(f.k, f.key, PF_NAME, f.sealed.data, len, out, sizeof(out)) !=
            IDL_ERR_CRYPTO)
            fail_msg("opened a blob truncated to %zu bytes", len);
    release_fixture(&f);
}

static void
test_open_reports_small_buffer(void **state)
{
    (void)state;
    struct sealed_fixture f;
    seal_fixture(&f);
    char out[6]; /* 张三 needs 6 bytes + NUL */
    assert_int_equal(
        person_open(f.k, f.key, PF_NAME, f.sealed.data, f.sealed.len, out, sizeof(out)),
        IDL_ERR_TOO_LARGE);
    char ok[7];
    assert_int_equal(person_open(f.k, f.key, PF_NAME, f.sealed.data, f.sealed.len, ok, sizeof(ok)),
                     IDL_OK);
    assert_string_equal(ok, NAME_ZH);
    release_fixture(&f);
}

static void
test_seal_refuses_text_over_max(void **state)
{
    (void)state;
    struct person_keys *k = keys_from(1);
    uint8_t key[HASH_BYTES] = {1};
    char text[LEDGER_PERSON_TEXT_MAX + 2];
    memset(text, 'a', LEDGER_PERSON_TEXT_MAX + 1);
    text[LEDGER_PERSON_TEXT_MAX + 1] = '\0';
    struct idl_bytes sealed = {(uint8_t *)1, 1};
    assert_int_equal(person_seal(k, key, PF_ADDRESS, text, &sealed), IDL_ERR_TOO_LARGE);
    assert_null(sealed.data);
    assert_int_equal(sealed.len, 0);
    person_keys_free(k);
}

static void
test_two_seals_differ(void **state)
{
    (void)state;
    struct person_keys *k = keys_from(1);
    uint8_t key[HASH_BYTES] = {7};
    struct idl_bytes a, b;
    assert_int_equal(person_seal(k, key, PF_MOBILE, "13812345678", &a), IDL_OK);
    assert_int_equal(person_seal(k, key, PF_MOBILE, "13812345678", &b), IDL_OK);
    assert_int_equal(a.len, b.len);
    assert_memory_not_equal(a.data, b.data, 24); /* nonce */
    assert_memory_not_equal(a.data + 24, b.data + 24, a.len - 24);
    free(a.data);
    free(b.data);
    person_keys_free(k);
}

static int
cmp_nonce(const void *a, const void *b)
{
    return memcmp(a, b, 24);
}

/* Nonces come from a pool refilled in blocks: no two of many seals share one. */
static void
test_many_seals_have_distinct_nonces(void **state)
{
    (void)state;
    enum { N = 2000 };
    struct person_keys *k = keys_from(1);
    uint8_t key[HASH_BYTES] = {7};
    uint8_t(*nonces)[24] = malloc(N * 24);
    assert_non_null(nonces);
    for (size_t i = 0; i < N; i++) {
        struct idl_bytes a;
        assert_int_equal(person_seal(k, key, PF_MOBILE, "13812345678", &a), IDL_OK);
        memcpy(nonces[i], a.data, 24);
        free(a.data);
    }
    qsort(nonces, N, 24, cmp_nonce);
    for (size_t i = 1; i < N; i++)
        assert_memory_not_equal(nonces[i - 1], nonces[i], 24);
    free(nonces);
    person_keys_free(k);
}

/* Masks `text` as `field`, checks the result, and that the full input is not in it. */
static void
assert_mask(unsigned field, const char *text, const char *want)
{
    char out[128];
    memset(out, 'Z', sizeof(out));
    person_mask(field, text, out, sizeof(out));
    assert_string_equal(out, want);
    assert_null(strstr(out, text));
}

static void
test_mask_name(void **state)
{
    (void)state;
    assert_mask(PF_NAME, NAME_ZH, "\xe5\xbc\xa0*"); /* 张* */
    assert_mask(PF_NAME, "欧阳娜娜", "欧***");
}

static void
test_mask_mobile(void **state)
{
    (void)state;
    assert_mask(PF_MOBILE, "13812345678", "138****5678");
}

static void
test_mask_email(void **state)
{
    (void)state;
    assert_mask(PF_EMAIL, "zhangsan@example.cn", "z***@example.cn");
    assert_mask(PF_EMAIL, "no-at-sign", "***");
}

static void
test_mask_id_number_hides_middle(void **state)
{
    (void)state;
    char out[64];
    person_mask(PF_ID_NUMBER, "11010519491231002X", out, sizeof(out));
    assert_string_equal(out, "110*************2X");
    assert_null(strstr(out, "19491231")); /* the birth date */
    assert_null(strstr(out, "105"));      /* the district */
    assert_null(strstr(out, "11010519491231002X"));
}

static void
test_mask_office_phone(void **state)
{
    (void)state;
    assert_mask(PF_OFFICE_PHONE, "020-83961234", "****1234");
}

static void
test_mask_address(void **state)
{
    (void)state;
    assert_mask(PF_ADDRESS, ADDRESS_ZH, "广东省广州市****");
}

static void
test_mask_truncates_to_buffer(void **state)
{
    (void)state;
    char out[5];
    person_mask(PF_MOBILE, "13812345678", out, sizeof(out));
    assert_string_equal(out, "138*");
}

/* A one-character name is still masked (the asterisk follows the kept character). */
static void
test_mask_one_char_name_not_disclosed(void **state)
{
    (void)state;
    char out[32];
    person_mask(PF_NAME, "\xe5\xbc\xa0", out, sizeof(out)); /* 张 */
    assert_string_not_equal(out, "\xe5\xbc\xa0");
    assert_string_equal(out, "\xe5\xbc\xa0*");
}

/* The asterisks precede the visible tail of a short phone number. */
static void
test_mask_stars_before_tail(void **state)
{
    (void)state;
    char out[32];
    person_mask(PF_OFFICE_PHONE, "1234", out, sizeof(out));
    assert_string_equal(out, "****1234");
}

/* Names and addresses: what they may not be, and that ordinary ones pass. */
static void
test_field_check_names_and_addresses(void **state)
{
    (void)state;
    const char *why = NULL;
    assert_int_equal(person_field_check(PF_NAME, NAME_ZH, &why), IDL_OK);
    assert_int_equal(person_field_check(PF_NAME, "欧阳 明轩", &why), IDL_OK);
    assert_int_equal(person_field_check(PF_ADDRESS, ADDRESS_ZH, &why), IDL_OK);
    static const char *const bad_names[] = {
        "",                          /* empty */
        "   ",                       /* spaces only */
        "张3",                       /* a digit */
        "\xe2\x80\x8b",               /* U+200B zero-width space alone */
        "张\xe2\x80\x8b三",           /* one hidden inside */
        "\xe2\x80\xae三张",           /* U+202E right-to-left override */
        "\xef\xbb\xbf张三",           /* U+FEFF byte-order mark */
        "张\xe2\x81\xa0三",           /* U+2060 word joiner */
    };
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        why = NULL;
        if (person_field_check(PF_NAME, bad_names[i], &why) != IDL_ERR_INVALID)
            fail_msg("name %zu was accepted", i);
        assert_non_null(why);
    }
    assert_int_equal(person_field_check(PF_ADDRESS, "体育西路\xe2\x80\xae" "1号", &why),
                     IDL_ERR_INVALID);
    assert_non_null(strstr(why, "invisible"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_new_and_free),
        cmocka_unit_test(test_field_check_names_and_addresses),
        cmocka_unit_test(test_index_deterministic),
        cmocka_unit_test(test_index_matches_documented_construction),
        cmocka_unit_test(test_index_differs_by_doc_number_secret),
        cmocka_unit_test(test_seal_open_roundtrip),
        cmocka_unit_test(test_open_fails_with_other_person),
        cmocka_unit_test(test_open_fails_with_other_field),
        cmocka_unit_test(test_open_fails_with_other_secret),
        cmocka_unit_test(test_open_fails_on_any_flipped_byte),
        cmocka_unit_test(test_open_fails_on_truncation),
        cmocka_unit_test(test_open_reports_small_buffer),
        cmocka_unit_test(test_seal_refuses_text_over_max),
        cmocka_unit_test(test_two_seals_differ),
        cmocka_unit_test(test_many_seals_have_distinct_nonces),
        cmocka_unit_test(test_mask_name),
        cmocka_unit_test(test_mask_mobile),
        cmocka_unit_test(test_mask_email),
        cmocka_unit_test(test_mask_id_number_hides_middle),
        cmocka_unit_test(test_mask_office_phone),
        cmocka_unit_test(test_mask_address),
        cmocka_unit_test(test_mask_truncates_to_buffer),
        cmocka_unit_test(test_mask_one_char_name_not_disclosed),
        cmocka_unit_test(test_mask_stars_before_tail),
    };
    return cmocka_run_group_tests_name("person", tests, NULL, NULL);
}

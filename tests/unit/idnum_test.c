/*
 * Unit tests of ledger/idnum.h: the GB 11643 check character against an independent
 * implementation of ISO 7064 MOD 11-2 written here and against the standard's published
 * examples (11010519491231002X, 440524188001010014); idnum_normalize of resident ID numbers
 * (valid 18-digit numbers, lower-case x made X, wrong check digit, bad region, bad dates:
 * Feb 30, month 13, day 0, Feb 29 of non-leap years, years out of range; wrong lengths,
 * non-digits, 15-digit legacy numbers converted to the 18-digit form, spaces and tabs
 * stripped), of other documents (passports upper-cased, too short, too long, bad chars),
 * unknown document types, and that `why` is set on every refusal and never quotes the
 * number.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "idnum.h"

/* ISO 7064 MOD 11-2, computed from its definition: weight of position i is 2^(17-i) mod 11. */
static char
check_by_hand(const char *first17)
{
    int sum = 0;
    for (int i = 0; i < 17; i++) {
        int w = 1;
        for (int k = 0; k < 17 - i; k++)
            w = (w * 2) % 11;
        sum += (first17[i] - '0') * w;
    }
    int v = (12 - sum % 11) % 11; /* the check value a with sum + a == 1 (mod 11) */
    return v == 10 ? 'X' : (char)('0' + v);
}

/* out = first17 followed by its correct check character. */
static void
with_check(char out[19], const char *first17)
{
    assert_int_equal(strlen(first17), 17);
    memcpy(out, first17, 17);
    out[17] = check_by_hand(first17);
    out[18] = '\0';
}

/* Normalising `in` must fail, with a reason that does not quote the number. */
static void
assert_refused(enum idnum_doc doc, const char *in)
{
    char out[IDNUM_NORM_MAX + 1];
    memset(out, 'Z', sizeof(out));
    const char *why = NULL;
    if (idnum_normalize(out, doc, in, &why) != IDL_ERR_INVALID)
        fail_msg("accepted \"%s\" as document type %d", in, (int)doc);
    assert_int_equal(out[0], '\0');
    assert_non_null(why);
    assert_true(strlen(why) > 0);
    if (in && *in)
        assert_null(strstr(why, in));
    /* No run of 4 digits: no piece of the number is quoted either. */
    int run = 0;
    for (const char *p = why; *p; p++) {
        run = (*p >= '0' && *p <= '9') ? run + 1 : 0;
        assert_true(run < 4);
    }
}

static void
assert_normalises(enum idnum_doc doc, const char *in, const char *want)
{
    char out[IDNUM_NORM_MAX + 1];
    const char *why = "unset";
    if (idnum_normalize(out, doc, in, &why) != IDL_OK)
        fail_msg("refused \"%s\": %s", in, why ? why : "(null)");
    assert_null(why);
    assert_string_equal(out, want);
}

static void
test_check_char_standard_examples(void **state)
{
    (void)state;
    assert_int_equal(idnum_check_char("11010519491231002"), 'X');
    assert_int_equal(idnum_check_char("44052418800101001"), '4');
}

static void
test_check_char_matches_independent_computation(void **state)
{
    (void)state;
    static const char *const prefixes[] = {
        "11010519491231002", "44010619900307123", "31011519851111005", "51010720000229888",
        "65010219700101000", "00000000000000000", "99999999999999999", "12345678901234567",
    };
    int seen_x = 0;
    for (size_t i = 0; i < IDL_ARRAY_LEN(prefixes); i++) {
        char c = idnum_check_char(prefixes[i]);
        assert_int_equal(c, check_by_hand(prefixes[i]));
        seen_x |= c == 'X';
    }
    assert_true(seen_x);
}

static void
test_valid_18_digit(void **state)
{
    (void)state;
    char id[19];
    assert_normalises(IDNUM_DOC_RESIDENT, "11010519491231002X", "11010519491231002X");
    with_check(id, "44010619900307123");
    assert_normalises(IDNUM_DOC_RESIDENT, id, id);
    with_check(id, "81000019991231001"); /* Hong Kong residence permit prefix */
    assert_normalises(IDNUM_DOC_RESIDENT, id, id);
}

static void
test_lowercase_x_becomes_upper(void **state)
{
    (void)state;
    assert_normalises(IDNUM_DOC_RESIDENT, "11010519491231002x", "11010519491231002X");
}

static void
test_wrong_check_digit_refused(void **state)
{
    (void)state;
    assert_refused(IDNUM_DOC_RESIDENT, "110105194912310021");
    assert_refused(IDNUM_DOC_RESIDENT, "110105194912310020");
    char id[19];
    with_check(id, "44010619900307123");
    id[17] = id[17] == '9' ? '0' : (id[17] == 'X' ? '1' : (char)(id[17] + 1));
    assert_refused(IDNUM_DOC_RESIDENT, id);
}

static void
test_bad_region_refused(void **state)
{
    (void)state;
    char id[19];
    with_check(id, "00010519491231002");
    assert_refused(IDNUM_DOC_RESIDENT, id);
    with_check(id, "99010519491231002");
    assert_refused(IDNUM_DOC_RESIDENT, id);
    with_check(id, "10010519491231002");
    assert_refused(IDNUM_DOC_RESIDENT, id);
}

static void
test_bad_dates_refused(void **state)
{
    (void)state;
    static const char *const prefixes[] = {
        "11010519900230123", /* Feb 30 */
        "11010519901301123", /* month 13 */
        "11010519900001123", /* month 0 */
        "11010519900100123", /* day 0 */
        "11010519900431123", /* Apr 31 */
        "11010520230229123", /* Feb 29, 2023 not leap */
        "11010519000229123", /* Feb 29, 1900 not leap (century) */
        "11010518991231123", /* before 1900 */
        "11010521000101123", /* after 2099 */
    };
    for (size_t i = 0; i < IDL_ARRAY_LEN(prefixes); i++) {
        char id[19];
        with_check(id, prefixes[i]);
        assert_refused(IDNUM_DOC_RESIDENT, id);
    }
}

static void
test_leap_days_accepted(void **state)
{
    (void)state;
    char id[19];
    with_check(id, "11010520000229123"); /* 2000 is a leap year (400) */
    assert_normalises(IDNUM_DOC_RESIDENT, id, id);
    with_check(id, "11010520240229123");
    assert_normalises(IDNUM_DOC_RESIDENT, id, id);
}

static void
test_wrong_lengths_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "1101051949123100",         /* 16 */
        "11010519491231002",        /* 17 */
        "11010519491231002X1",      /* 19 */
        "11010549123100",           /* 14 */
        "1101054912310021",         /* 16 */
        "110105194912310021234567", /* over IDNUM_NORM_MAX */
    };
    for (size_t i = 0; i < IDL_ARRAY_LEN(bad); i++)
        assert_refused(IDNUM_DOC_RESIDENT, bad[i]);
}

static void
test_non_digits_refused(void **state)
{
    (void)state;
    assert_refused(IDNUM_DOC_RESIDENT, "1101051949123100AX");
    assert_refused(IDNUM_DOC_RESIDENT, "X10105194912310024");
    assert_refused(IDNUM_DOC_RESIDENT, "11010519491231002Y");
    assert_refused(IDNUM_DOC_RESIDENT, "11010519491231002-");
    assert_refused(IDNUM_DOC_RESIDENT, "11010549123100X"); /* 15 with a letter */
    assert_refused(IDNUM_DOC_RESIDENT, "1101054912310x2");
    assert_refused(IDNUM_DOC_RESIDENT, "11010519491231002\xef\xbc\xb8"); /* full-width X */
}

static void
test_15_digit_converted_to_18(void **state)
{
    (void)state;
    assert_normalises(IDNUM_DOC_RESIDENT, "110105491231002", "11010519491231002X");
    char id[19];
    with_check(id, "44010619850307123");
    assert_normalises(IDNUM_DOC_RESIDENT, "440106850307123", id);
}

static void
test_15_digit_bad_date_or_region_refused(void **state)
{
    (void)state;
    assert_refused(IDNUM_DOC_RESIDENT, "110105490230002"); /* 1949-02-30 */
    assert_refused(IDNUM_DOC_RESIDENT, "110105491301002"); /* month 13 */
    assert_refused(IDNUM_DOC_RESIDENT, "000105491231002"); /* region 00 */
}

static void
test_spaces_stripped(void **state)
{
    (void)state;
    assert_normalises(IDNUM_DOC_RESIDENT, " 110105 19491231 002x ", "11010519491231002X");
    assert_normalises(IDNUM_DOC_RESIDENT, "110105\t19491231\t002X", "11010519491231002X");
    assert_normalises(IDNUM_DOC_RESIDENT, "110 105 491 231 002", "11010519491231002X");
}

static void
test_passport_uppercased(void **state)
{
    (void)state;
    assert_normalises(IDNUM_DOC_PASSPORT, "e12345678", "E12345678");
    assert_normalises(IDNUM_DOC_PASSPORT, " E 1234 5678 ", "E12345678");
    assert_normalises(IDNUM_DOC_HKMO, "h1234567890", "H1234567890");
    assert_normalises(IDNUM_DOC_TAIWAN, "12345678", "12345678");
    assert_normalises(IDNUM_DOC_FOREIGN_PR, "usa110085061201", "USA110085061201");
}

static void
test_other_documents_refused(void **state)
{
    (void)state;
    assert_refused(IDNUM_DOC_PASSPORT, "E123");                  /* too short */
    assert_refused(IDNUM_DOC_PASSPORT, "   ");                   /* nothing */
    assert_refused(IDNUM_DOC_PASSPORT, "E1234567890123456789A"); /* 21 */
    assert_refused(IDNUM_DOC_PASSPORT, "E1234-5678");
    assert_refused(IDNUM_DOC_HKMO, "H12345678/");
    assert_refused(IDNUM_DOC_TAIWAN, "\xe5\x8f\xb0\xe5\x8c\x97\x31\x32\x33"); /* 台北123 */
}

static void
test_unknown_doc_type_refused(void **state)
{
    (void)state;
    assert_refused(IDNUM_DOC_NONE, "E12345678");
    assert_refused(IDNUM_DOC__COUNT, "E12345678");
    assert_refused((enum idnum_doc)99, "11010519491231002X");
}

static void
test_missing_number_and_null_why(void **state)
{
    (void)state;
    assert_refused(IDNUM_DOC_RESIDENT, NULL);
    char out[IDNUM_NORM_MAX + 1];
    assert_int_equal(idnum_normalize(out, IDNUM_DOC_RESIDENT, "110105194912310021", NULL),
                     IDL_ERR_INVALID);
    assert_int_equal(idnum_normalize(out, IDNUM_DOC_RESIDENT, "11010519491231002X", NULL), IDL_OK);
}

static void
test_published_1880_example_outside_date_range(void **state)
{
    (void)state;
    /* GB 11643's second example has the right check digit but a birth year before 1900,
     * which idnum.c documents as out of range. */
    assert_refused(IDNUM_DOC_RESIDENT, "440524188001010014");
}

static void
test_doc_names_roundtrip(void **state)
{
    (void)state;
    for (int d = IDNUM_DOC_RESIDENT; d < IDNUM_DOC__COUNT; d++)
        assert_int_equal(idnum_doc_parse(idnum_doc_name((enum idnum_doc)d)), d);
    assert_int_equal(idnum_doc_parse("passport"), IDNUM_DOC_PASSPORT);
    assert_int_equal(idnum_doc_parse("Passport"), IDNUM_DOC_NONE);
    assert_int_equal(idnum_doc_parse(""), IDNUM_DOC_NONE);
    assert_string_equal(idnum_doc_name((enum idnum_doc)42), "");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_char_standard_examples),
        cmocka_unit_test(test_check_char_matches_independent_computation),
        cmocka_unit_test(test_valid_18_digit),
        cmocka_unit_test(test_lowercase_x_becomes_upper),
        cmocka_unit_test(test_wrong_check_digit_refused),
        cmocka_unit_test(test_bad_region_refused),
        cmocka_unit_test(test_bad_dates_refused),
        cmocka_unit_test(test_leap_days_accepted),
        cmocka_unit_test(test_wrong_lengths_refused),
        cmocka_unit_test(test_non_digits_refused),
        cmocka_unit_test(test_15_digit_converted_to_18),
        cmocka_unit_test(test_15_digit_bad_date_or_region_refused),
        cmocka_unit_test(test_spaces_stripped),
        cmocka_unit_test(test_passport_uppercased),
        cmocka_unit_test(test_other_documents_refused),
        cmocka_unit_test(test_unknown_doc_type_refused),
        cmocka_unit_test(test_missing_number_and_null_why),
        cmocka_unit_test(test_published_1880_example_outside_date_range),
        cmocka_unit_test(test_doc_names_roundtrip),
    };
    return cmocka_run_group_tests_name("idnum", tests, NULL, NULL);
}

/*
 * GB 11643-1999 check digit: S = sum(a_i * w_i) over the first 17 digits with weights
 * w_i = 2^(17-i) mod 11 (7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2); the check character is
 * "10X98765432"[S mod 11]. The region check accepts the province-level prefixes of
 * GB/T 2260 (and 81/82/83 of the residence permits for Hong Kong, Macao and Taiwan
 * residents); the birth date must be a real calendar date from 1900 to 2099.
 */
#include "idnum.h"

#include <sodium.h>
#include <string.h>

static const char *const doc_names[] = {
    [IDNUM_DOC_NONE] = "",
    [IDNUM_DOC_RESIDENT] = "resident",
    [IDNUM_DOC_PASSPORT] = "passport",
    [IDNUM_DOC_HKMO] = "hkmo",
    [IDNUM_DOC_TAIWAN] = "taiwan",
    [IDNUM_DOC_FOREIGN_PR] = "foreign-pr",
};
_Static_assert(IDL_ARRAY_LEN(doc_names) == IDNUM_DOC__COUNT, "every document type is named");

char
idnum_check_char(const char first17[17])
{
    static const int weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (first17[i] - '0') * weights[i];
    return "10X98765432"[sum % 11];
}

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int
province_valid(const char *p)
{
    static const char *const codes[] = {"11", "12", "13", "14", "15", "21", "22", "23", "31",
                                        "32", "33", "34", "35", "36", "37", "41", "42", "43",
                                        "44", "45", "46", "50", "51", "52", "53", "54", "61",
                                        "62", "63", "64", "65", "71", "81", "82", "83"};
    for (size_t i = 0; i < IDL_ARRAY_LEN(codes); i++)
        if (p[0] == codes[i][0] && p[1] == codes[i][1])
            return 1;
    return 0;
}

static int
date_valid(const char *d)
{
    int y = (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0');
    int m = (d[4] - '0') * 10 + (d[5] - '0');
    int day = (d[6] - '0') * 10 + (d[7] - '0');
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || y > 2099 || m < 1 || m > 12 || day < 1)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return day <= mdays[m - 1] + (m == 2 && leap);
}

/* Copies in without spaces, at most cap characters; returns the length or -1 if longer. */
static int
strip_spaces(char *out, size_t cap, const char *in)
{
    size_t n = 0;
    for (; *in; in++) {
        if (*in == ' ' || *in == '\t')
            continue;
        if (n == cap)
            return -1;
        out[n++] = *in;
    }
    out[n] = '\0';
    return (int)n;
}

/* The resident number s (n characters, spaces stripped) into out. */
static idl_err
resident_from(char *out, const char *s, int n, const char **why)
{
    if (n == 15) {
        for (int i = 0; i < 15; i++)
            if (!is_digit(s[i])) {
                *why = "ID number has a character that is not a digit";
                return IDL_ERR_INVALID;
            }
        /* 15-digit form: region(6) YYMMDD(6) seq(3); the 18-digit form inserts "19". */
        memcpy(out, s, 6);
        out[6] = '1';
        out[7] = '9';
        memcpy(out + 8, s + 6, 9);
        out[17] = idnum_check_char(out);
        out[18] = '\0';
    } else if (n == 18) {
        for (int i = 0; i < 17; i++)
            if (!is_digit(s[i])) {
                *why = "ID number has a character that is not a digit";
                return IDL_ERR_INVALID;
            }
        char c = s[17] == 'x' ? 'X' : s[17];
        if (!is_digit(c) && c != 'X') {
            *why = "ID number check character must be a digit or X";
            return IDL_ERR_INVALID;
        }
        memcpy(out, s, 17);
        out[17] = c;
        out[18] = '\0';
        if (idnum_check_char(out) != c) {
            *why = "ID number check digit is wrong";
            return IDL_ERR_INVALID;
        }
    } else {
        *why = "ID number must have 18 characters (or 15 digits for an old number)";
        return IDL_ERR_INVALID;
    }
    if (!province_valid(out)) {
        *why = "ID number region code is not a valid province";
        return IDL_ERR_INVALID;
    }
    if (!date_valid(out + 6)) {
        *why = "ID number birth date is not a valid date";
        return IDL_ERR_INVALID;
    }
    return IDL_OK;
}

static idl_err
other_from(char *out, const char *s, int n, const char **why)
{
    if (n < 5) {
        *why = "document number must have 5 to 20 letters and digits";
        return IDL_ERR_INVALID;
    }
    for (int i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (!is_digit(c) && !(c >= 'A' && c <= 'Z')) {
            *why = "document number must have 5 to 20 letters and digits";
            return IDL_ERR_INVALID;
        }
        out[i] = c;
    }
    out[n] = '\0';
    return IDL_OK;
}

/*
 * Normalises through a stack copy without spaces, wiped on every path: the number is
 * personal data and must not linger in memory that a later crash dump could show.
 */
static idl_err
normalize_copy(char *out, enum idnum_doc doc, const char *in, const char **why)
{
    char s[IDNUM_NORM_MAX + 1];
    int n = strip_spaces(s, IDNUM_NORM_MAX, in);
    idl_err rc = doc == IDNUM_DOC_RESIDENT ? resident_from(out, s, n, why)
                                           : other_from(out, s, n, why);
    sodium_memzero(s, sizeof(s));
    return rc;
}

idl_err
idnum_normalize(char out[IDNUM_NORM_MAX + 1], enum idnum_doc doc, const char *in,
                const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    out[0] = '\0';
    idl_err rc;
    if (!in) {
        *why = "document number is missing";
        rc = IDL_ERR_INVALID;
    } else if (doc > IDNUM_DOC_NONE && doc < IDNUM_DOC__COUNT) {
        rc = normalize_copy(out, doc, in, why);
    } else {
        *why = "unknown document type";
        rc = IDL_ERR_INVALID;
    }
    if (rc != IDL_OK)
        sodium_memzero(out, IDNUM_NORM_MAX + 1);
    return rc;
}

enum idnum_doc
idnum_doc_parse(const char *name)
{
    for (int d = 1; d < IDNUM_DOC__COUNT; d++)
        if (strcmp(name, doc_names[d]) == 0)
            return (enum idnum_doc)d;
    return IDNUM_DOC_NONE;
}

const char *
idnum_doc_name(enum idnum_doc doc)
{
    return (unsigned)doc < IDNUM_DOC__COUNT ? doc_names[doc] : "";
}

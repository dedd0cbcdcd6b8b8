/*
 * Identity document numbers: validation and normalisation.
 *
 * A resident ID number (居民身份证号码, GB 11643-1999) has 18 characters: a 6-digit region
 * code, an 8-digit birth date, a 3-digit sequence number and a check digit (0-9 or X)
 * computed with the ISO 7064 MOD 11-2 weights. The 15-digit numbers issued before 1999 have
 * a 2-digit year and no check digit; they normalise to the 18-digit form of the same person
 * (year 19YY, check digit computed), so one person can never be registered twice under the
 * two forms. Other documents (passports, permits) normalise to upper-case letters and
 * digits.
 *
 * Reasons returned through `why` are static strings that never quote the number: they may
 * go to logs and error replies.
 */
#ifndef IDL_IDNUM_H
#define IDL_IDNUM_H

#include "err.h"

enum idnum_doc {
    IDNUM_DOC_NONE = 0,
    IDNUM_DOC_RESIDENT = 1,   /* 居民身份证 */
    IDNUM_DOC_PASSPORT = 2,   /* 护照 */
    IDNUM_DOC_HKMO = 3,       /* 港澳居民来往内地通行证 */
    IDNUM_DOC_TAIWAN = 4,     /* 台湾居民来往大陆通行证 */
    IDNUM_DOC_FOREIGN_PR = 5, /* 外国人永久居留身份证 */
    IDNUM_DOC__COUNT
};

#define IDNUM_NORM_MAX 20

/*
 * Normalises `in`, a number of document type `doc`, into `out` (NUL-terminated). Leading,
 * trailing and inner ASCII spaces are dropped; for resident IDs a lower-case x becomes X
 * and a 15-digit number becomes its 18-digit form.
 * Returns IDL_OK, or IDL_ERR_INVALID with out emptied and *why (if why is not NULL) set to
 * the reason.
 */
IDL_MUST_USE idl_err idnum_normalize(char out[IDNUM_NORM_MAX + 1], enum idnum_doc doc,
                                     const char *in, const char **why);

/* The GB 11643 check character ('0'-'9' or 'X') of the first 17 digits. */
char idnum_check_char(const char first17[17]);

/* Parses "resident", "passport", "hkmo", "taiwan", "foreign-pr"; IDNUM_DOC_NONE if unknown. */
enum idnum_doc idnum_doc_parse(const char *name);
const char *idnum_doc_name(enum idnum_doc doc);

#endif

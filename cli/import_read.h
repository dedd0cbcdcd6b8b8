/*
 * Reading an applicant spreadsheet (用户CA信息电子表格模板) saved as CSV, one row at a time,
 * for `idledger import`.
 *
 * Encoding: a UTF-16 byte-order mark selects UTF-16 (Excel's "Unicode text"); otherwise
 * UTF-8 or GB18030 (what Excel and WPS save on a Chinese Windows), decided on evidence: a
 * file valid in only one of them is that one; a file valid in both is the reading whose
 * characters are plausible in a Chinese spreadsheet (CJK, ASCII, common punctuation) where
 * the other's are not, and is refused as ambiguous when neither stands out. The caller
 * may say which instead (--encoding). A leading byte-order mark is dropped. The delimiter
 * is a comma, or a tab (or semicolon) when the first line that has any of the three has no
 * comma.
 *
 * Rows are numbered as a spreadsheet shows them: the first line is row 1, a quoted line
 * break does not start a new row, and a blank line is a row of its own, counted but not
 * passed on. In a field, line breaks and tabs become spaces (a cell typed with Alt+Enter);
 * fields are trimmed of spaces, no-break and ideographic spaces and stray byte-order marks.
 *
 * Memory: one block of the file and one row (at most IMPORT_ROW_BYTES_MAX) at a time;
 * nothing is written anywhere (the rows hold personal data).
 */
#ifndef IDL_CLI_IMPORT_READ_H
#define IDL_CLI_IMPORT_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/err.h"

#define IMPORT_COLUMNS_MAX   128         /* columns past this one are ignored */
#define IMPORT_ROW_BYTES_MAX (64 * 1024) /* a longer row is usually an unclosed quote */

struct import_reader;

/*
 * Called for each row that is not blank, with its n fields (trimmed, NUL-terminated,
 * valid UTF-8). The fields are wiped when it returns. Returns true to go on, false to stop
 * the read.
 */
typedef bool (*import_row_fn)(void *arg, uint32_t row, char *const *fields, size_t n);

/*
 * Opens path and decides its encoding by reading it once (encoding: NULL to decide, or
 * "UTF-8" or "GB18030" to take the caller's word). Returns IDL_OK, IDL_ERR_IO (cannot open
 * or read) or IDL_ERR_MALFORMED (not text in a known encoding, not text in the encoding
 * given, or ambiguous), with a sentence in why that never quotes the file's content. *out
 * is freed with import_reader_close.
 */
IDL_MUST_USE idl_err import_reader_open(struct import_reader **out, const char *path,
                                        const char *encoding, char *why, size_t why_len);

/* "UTF-8", "GB18030" or "UTF-16". */
const char *import_reader_encoding(const struct import_reader *r);

/*
 * Reads the rows, calling fn for each, until the end of the file or until fn returns
 * false. Returns IDL_OK in both cases, or IDL_ERR_IO / IDL_ERR_MALFORMED (a row too long,
 * bytes that do not decode) with why. Call once.
 */
IDL_MUST_USE idl_err import_reader_run(struct import_reader *r, import_row_fn fn, void *arg,
                                       char *why, size_t why_len);

/*
 * How many cells held a line break (quoted), and in *first_row the row of the first. A
 * spreadsheet cell may hold one, but so does a quote left open: it makes the rows after it
 * part of one cell, and they are never read as rows.
 */
uint32_t import_reader_line_breaks(const struct import_reader *r, uint32_t *first_row);

void import_reader_close(struct import_reader *r);

#endif

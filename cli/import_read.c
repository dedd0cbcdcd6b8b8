/*
 * The applicant spreadsheet as rows (import_read.h).
 *
 * Two passes over the file. The first decides the encoding and keeps nothing: a UTF-16
 * byte-order mark, else valid UTF-8 throughout, else GB18030, which is then converted once
 * into nothing so that a file that is neither fails before a single row is acted on. The
 * second pass decodes block by block with iconv (carrying an incomplete character to the
 * next block) and feeds libcsv, whose callbacks assemble one row in a fixed buffer and hand
 * it on. Nothing is converted to a temporary file: the content is personal data.
 *
 * libcsv runs with CSV_REPALL_NL so that blank lines reach us and can be counted as rows;
 * with that option a CR LF ends a row twice, and the second (empty) end is ignored.
 */
#include "cli/import_read.h"

#include <csv.h>
#include <errno.h>
#include <iconv.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define BLOCK_BYTES (64 * 1024)
#define CARRY_MAX   8 /* longest incomplete character kept for the next block */

struct import_reader {
    FILE *f;
    const char *encoding;
    iconv_t cd; /* (iconv_t)-1 when the file is UTF-8 */
    struct csv_parser csv;
    bool csv_ready;
    /* Decoding. */
    char in[BLOCK_BYTES + CARRY_MAX];
    size_t in_len;
    char out[4 * BLOCK_BYTES + 64];
    bool started; /* the first decoded bytes were seen (BOM, delimiter) */
    /* The row being assembled. */
    char row_buf[IMPORT_ROW_BYTES_MAX];
    size_t row_used;
    size_t offs[IMPORT_COLUMNS_MAX];
    size_t nfields;
    uint32_t row;  /* rows so far, blank ones included */
    int last_end;  /* the character that ended the previous row */
    bool too_long; /* the current row passed IMPORT_ROW_BYTES_MAX */
    bool stopped;  /* fn returned false */
    import_row_fn fn;
    void *arg;
};

/*
 * The length of the longest prefix of s made of whole, valid UTF-8 characters; adds the
 * number of its multi-byte characters to *multibyte. *bad is set if what follows is
 * invalid (rather than a character cut off by the end of s).
 */
static size_t
utf8_prefix(const unsigned char *s, size_t n, bool *bad, uint64_t *multibyte)
{
    size_t i = 0;
    *bad = false;
    while (i < n) {
        unsigned char c = s[i], lo = 0x80, hi = 0xBF;
        size_t len;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            lo = c == 0xE0 ? 0xA0 : 0x80; /* no overlong forms */
            hi = c == 0xED ? 0x9F : 0xBF; /* no surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            lo = c == 0xF0 ? 0x90 : 0x80;
            hi = c == 0xF4 ? 0x8F : 0xBF; /* nothing above U+10FFFF */
        } else {
            *bad = true;
            return i;
        }
        for (size_t k = 1; k < len; k++) {
            if (i + k == n)
                return i;
            unsigned char b = s[i + k];
            if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) {
                *bad = true;
                return i;
            }
        }
        i += len;
        (*multibyte)++;
    }
    return i;
}

static uint64_t
count_lines(const char *s, size_t n)
{
    uint64_t lines = 0;
    for (const char *p = s; (p = memchr(p, '\n', n - (size_t)(p - s))) != NULL; p++)
        lines++;
    return lines;
}

/*
 * First pass, part one: is the whole file UTF-8 (and free of NUL bytes)? A file that is
 * mostly valid UTF-8 but not all of it is refused (IDL_ERR_MALFORMED) rather than read as
 * GB18030, which would turn its names into mojibake: in GB18030 text the byte sequences
 * that happen to be valid UTF-8 are several times fewer than the invalid bytes.
 */
static idl_err
scan_utf8(struct import_reader *r, bool *utf8, bool *nul, char *why, size_t why_len)
{
    size_t carry = 0, got;
    uint64_t multibyte = 0, invalid = 0, lines = 0, bad_line = 0;
    *nul = false;
    while ((got = fread(r->in + carry, 1, BLOCK_BYTES, r->f)) > 0) {
        size_t n = carry + got, off = 0;
        bool bad = true;
        *nul |= memchr(r->in + carry, 0, got) != NULL;
        while (bad && off < n) {
            size_t ok = utf8_prefix((const unsigned char *)r->in + off, n - off, &bad, &multibyte);
            lines += count_lines(r->in + off, ok);
            off += ok;
            if (bad && !invalid++)
                bad_line = lines + 1;
            off += bad; /* past the invalid byte */
        }
        carry = n - off; /* a character cut by the end of the block */
        memmove(r->in, r->in + off, carry);
    }
    if (ferror(r->f)) {
        snprintf(why, why_len, "cannot read the file: %s", strerror(errno));
        return IDL_ERR_IO;
    }
    invalid += carry > 0;
    *utf8 = invalid == 0;
    if (invalid && multibyte > invalid) {
        snprintf(why, why_len,
                 "the file is UTF-8 but for %llu invalid byte%s (the first on line %llu): save "
                 "it again as UTF-8 or GB18030",
                 (unsigned long long)invalid, invalid == 1 ? "" : "s",
                 (unsigned long long)(bad_line ? bad_line : lines + 1));
        return IDL_ERR_MALFORMED;
    }
    return IDL_OK;
}

/*
 * Converts r->in (in_len bytes) with iconv, handing the output to sink (NULL: discard);
 * an incomplete character at the end is kept for the next block unless eof.
 */
static idl_err
convert(struct import_reader *r, bool eof,
        void (*sink)(struct import_reader *, const char *, size_t))
{
    char *in = r->in;
    size_t left = r->in_len;
    while (left) {
        char *out = r->out;
        size_t room = sizeof(r->out);
        size_t rv = iconv(r->cd, &in, &left, &out, &room);
        int err = errno;
        if (sink && out > r->out)
            sink(r, r->out, (size_t)(out - r->out));
        if (rv != (size_t)-1 || err == E2BIG)
            continue;
        if (err == EINVAL && !eof && left <= CARRY_MAX)
            break;
        return IDL_ERR_MALFORMED;
    }
    memmove(r->in, in, left);
    r->in_len = left;
    return IDL_OK;
}

/* Reads the next block after the carried bytes; *eof at the end of the file. */
static idl_err
read_block(struct import_reader *r, bool *eof, char *why, size_t why_len)
{
    size_t got = fread(r->in + r->in_len, 1, BLOCK_BYTES, r->f);
    r->in_len += got;
    *eof = got == 0;
    if (ferror(r->f)) {
        snprintf(why, why_len, "cannot read the file: %s", strerror(errno));
        return IDL_ERR_IO;
    }
    return IDL_OK;
}

/* First pass, part two: does the whole file convert from r->encoding? */
static idl_err
scan_convert(struct import_reader *r, char *why, size_t why_len)
{
    bool eof = false;
    r->in_len = 0;
    rewind(r->f);
    while (!eof) {
        idl_err rc = read_block(r, &eof, why, why_len);
        if (!rc && convert(r, eof, NULL) != IDL_OK) {
            snprintf(why, why_len, "the file is neither UTF-8 nor %s text (save it as CSV)",
                     r->encoding);
            rc = IDL_ERR_MALFORMED;
        }
        if (rc)
            return rc;
    }
    return IDL_OK;
}

idl_err
import_reader_open(struct import_reader **out, const char *path, char *why, size_t why_len)
{
    *out = NULL;
    struct import_reader *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(why, why_len, "out of memory");
        return IDL_ERR_NOMEM;
    }
    r->cd = (iconv_t)-1;
    r->f = fopen(path, "rb");
    if (!r->f) {
        snprintf(why, why_len, "cannot open %s: %s", path, strerror(errno));
        free(r);
        return IDL_ERR_IO;
    }
    unsigned char bom[2] = {0};
    size_t nb = fread(bom, 1, 2, r->f);
    bool utf16 =
        nb == 2 && ((bom[0] == 0xFF && bom[1] == 0xFE) || (bom[0] == 0xFE && bom[1] == 0xFF));
    bool utf8 = false, nul = false;
    rewind(r->f);
    idl_err rc = utf16 ? IDL_OK : scan_utf8(r, &utf8, &nul, why, why_len);
    if (!rc && nul) {
        snprintf(why, why_len, "the file holds NUL bytes: it is not CSV text (save it as CSV)");
        rc = IDL_ERR_MALFORMED;
    }
    r->encoding = utf16 ? "UTF-16" : utf8 ? "UTF-8" : "GB18030";
    if (!rc && !utf8 && (r->cd = iconv_open("UTF-8", r->encoding)) == (iconv_t)-1) {
        snprintf(why, why_len, "cannot convert from %s: %s", r->encoding, strerror(errno));
        rc = IDL_ERR_IO;
    }
    if (!rc && !utf8)
        rc = scan_convert(r, why, why_len);
    if (!rc && r->cd != (iconv_t)-1)
        iconv(r->cd, NULL, NULL, NULL, NULL); /* back to the initial state */
    rewind(r->f);
    r->in_len = 0;
    if (rc) {
        import_reader_close(r);
        return rc;
    }
    *out = r;
    return IDL_OK;
}

const char *
import_reader_encoding(const struct import_reader *r)
{
    return r->encoding;
}

/* Length of a blank (space, tab, no-break space, ideographic space, BOM) at s, or 0. */
static size_t
blank_at(const char *s)
{
    if (*s == ' ')
        return 1;
    if (!strncmp(s, "\xC2\xA0", 2))
        return 2;
    if (!strncmp(s, "\xE3\x80\x80", 3) || !strncmp(s, "\xEF\xBB\xBF", 3))
        return 3;
    return 0;
}

/*
 * Trims s in place and turns the line breaks and tabs inside it into spaces (a cell typed
 * with Alt+Enter is one line of text); returns its first kept character.
 */
static char *
trim(char *s)
{
    for (char *p = s; *p; p++)
        if (*p == '\r' || *p == '\n' || *p == '\t' || *p == '\v' || *p == '\f')
            *p = ' ';
    size_t k;
    while ((k = blank_at(s)) > 0)
        s += k;
    size_t n = strlen(s), end = 0;
    for (size_t i = 0; i < n;) {
        k = blank_at(s + i);
        i += k ? k : 1;
        if (!k)
            end = i;
    }
    s[end] = '\0';
    return s;
}

static void
on_field(void *s, size_t len, void *data)
{
    struct import_reader *r = data;
    if (r->nfields == IMPORT_COLUMNS_MAX)
        return; /* a column nobody asked for */
    if (r->row_used + len + 1 > sizeof(r->row_buf)) {
        r->too_long = true;
        return;
    }
    r->offs[r->nfields++] = r->row_used;
    if (len)
        memcpy(r->row_buf + r->row_used, s, len);
    r->row_buf[r->row_used + len] = '\0';
    r->row_used += len + 1;
}

static void
on_row(int end, void *data)
{
    struct import_reader *r = data;
    bool crlf_tail = r->nfields == 0 && end == '\n' && r->last_end == '\r';
    r->last_end = end;
    if (crlf_tail)
        return;
    r->row++;
    if (r->nfields == 0 || r->stopped || r->too_long)
        return;
    char *fields[IMPORT_COLUMNS_MAX];
    bool any = false;
    for (size_t i = 0; i < r->nfields; i++) {
        fields[i] = trim(r->row_buf + r->offs[i]);
        any |= fields[i][0] != '\0';
    }
    if (any)
        r->stopped = !r->fn(r->arg, r->row, fields, r->nfields);
    sodium_memzero(r->row_buf, r->row_used);
    r->row_used = 0;
    r->nfields = 0;
}

/*
 * The delimiter, from the first line that has one outside quotes: a comma, unless that line
 * has none but has tabs ("Unicode text" exports) or semicolons (European locales). A title
 * line above the header (the seed's template has one) may have no delimiter at all.
 */
static unsigned char
sniff_delimiter(const char *s, size_t n)
{
    size_t comma = 0, tab = 0, semi = 0;
    bool quoted = false;
    for (size_t i = 0; i < n; i++) {
        bool eol = !quoted && (s[i] == '\n' || s[i] == '\r');
        if (eol && (comma || tab || semi))
            break;
        quoted ^= s[i] == '"';
        comma += !quoted && s[i] == ',';
        tab += !quoted && s[i] == '\t';
        semi += !quoted && s[i] == ';';
    }
    return comma ? ',' : tab ? '\t' : semi ? ';' : ',';
}

/* Decoded UTF-8 bytes into libcsv (the first ones: BOM and delimiter first). */
static void
feed(struct import_reader *r, const char *s, size_t n)
{
    if (!r->started) {
        r->started = true;
        if (n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) {
            s += 3;
            n -= 3;
        }
        csv_set_delim(&r->csv, sniff_delimiter(s, n));
    }
    if (!r->stopped && !r->too_long)
        csv_parse(&r->csv, s, n, on_field, on_row, r);
}

idl_err
import_reader_run(struct import_reader *r, import_row_fn fn, void *arg, char *why, size_t why_len)
{
    if (csv_init(&r->csv, CSV_REPALL_NL) != 0) {
        snprintf(why, why_len, "out of memory");
        return IDL_ERR_NOMEM;
    }
    r->csv_ready = true;
    r->fn = fn;
    r->arg = arg;
    bool eof = false;
    idl_err rc = IDL_OK;
    while (!rc && !eof && !r->stopped && !r->too_long) {
        rc = read_block(r, &eof, why, why_len);
        if (rc)
            break;
        if (r->cd == (iconv_t)-1) {
            feed(r, r->in, r->in_len); /* checked as UTF-8 by the first pass */
            r->in_len = 0;
        } else if (convert(r, eof, feed) != IDL_OK) {
            snprintf(why, why_len, "the file stopped converting from %s near row %u", r->encoding,
                     r->row + 1);
            rc = IDL_ERR_MALFORMED;
        }
        if (csv_get_buffer_size(&r->csv) > IMPORT_ROW_BYTES_MAX)
            r->too_long = true;
    }
    if (!rc && !r->stopped && !r->too_long)
        csv_fini(&r->csv, on_field, on_row, r);
    if (!rc && r->too_long) {
        snprintf(why, why_len, "row %u is longer than %d KiB: is a quote (\") left open before it?",
                 r->row + 1, IMPORT_ROW_BYTES_MAX / 1024);
        rc = IDL_ERR_MALFORMED;
    }
    return rc;
}

void
import_reader_close(struct import_reader *r)
{
    if (!r)
        return;
    if (r->csv_ready)
        csv_free(&r->csv);
    if (r->cd != (iconv_t)-1)
        iconv_close(r->cd);
    if (r->f)
        fclose(r->f);
    sodium_memzero(r->row_buf, sizeof(r->row_buf));
    sodium_memzero(r->in, sizeof(r->in));
    sodium_memzero(r->out, sizeof(r->out));
    free(r);
}

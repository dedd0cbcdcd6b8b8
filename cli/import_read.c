/*
 * The applicant spreadsheet as rows (import_read.h).
 *
 * Two passes over the file. The first decides the encoding and keeps nothing. A UTF-16
 * byte-order mark means UTF-16. Otherwise the file is read once both as UTF-8 and, byte by
 * byte, as GB18030, counting the characters of each reading that a Chinese spreadsheet
 * hardly ever holds: GB18030 names are often valid UTF-8 too (谢伟 reads as "лΰ"), and
 * UTF-8 names often valid GB18030 (王芳 as "鐜嬭姵"), so validity alone decides nothing.
 * A file that is one and not the other is that one; one that is both is the reading with
 * clearly fewer rare characters, and if neither stands out it is refused, to be given with
 * --encoding. A GB18030 reading is confirmed by converting the whole file once into
 * nothing, so a file that is neither fails before a single row is acted on. The
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
#include <sys/stat.h>

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
    uint32_t nl_cells, nl_row; /* cells that held a line break, and the row of the first */
    import_row_fn fn;
    void *arg;
};

/*
 * What the first pass learns about the file: how it reads as UTF-8 and as GB18030, and how
 * plausible each reading is. Characters are counted beyond ASCII only; a "rare" one is one
 * that a Chinese applicant spreadsheet hardly ever holds (see utf8_plausible, gb_common).
 */
struct evidence {
    bool nul;
    bool utf8_bom;
    /* As UTF-8. */
    uint64_t u_chars, u_rare, u_invalid;
    uint64_t lines, bad_line; /* the line of the first invalid byte */
    /* As GB18030, byte by byte (gb_feed): structure only; iconv has the last word. */
    bool g_bad;
    unsigned g_pos; /* bytes of the current character seen */
    uint8_t g_lead;
    uint64_t g_chars, g_rare;
};

/*
 * Whether code point c is what a Chinese spreadsheet of names, numbers and addresses holds:
 * CJK ideographs (all extensions), CJK and full-width punctuation, general punctuation, the
 * middle dot of transliterated names (阿依古丽·买买提), Roman and circled numerals. GB18030
 * bytes read as UTF-8 come out mostly as Latin, Greek, Cyrillic, Hebrew or Arabic letters
 * (谢伟 reads as "лΰ"), which are not.
 */
static bool
utf8_plausible(uint32_t c)
{
    static const uint32_t ok[][2] = {
        {0x00A0, 0x00A0}, {0x00B7, 0x00B7}, {0x00D7, 0x00D7}, {0x2010, 0x2027},
        {0x2030, 0x205E}, {0x2116, 0x2116}, {0x2160, 0x217F}, {0x2460, 0x24FF},
        {0x3000, 0x303F}, {0x3400, 0x4DBF}, {0x4E00, 0x9FFF}, {0xF900, 0xFAFF},
        {0xFE30, 0xFE4F}, {0xFEFF, 0xFEFF}, {0xFF00, 0xFFEF}, {0x20000, 0x3134F},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (c >= ok[i][0] && c <= ok[i][1])
            return true;
    return false;
}

/*
 * Whether a two-byte GB18030 character is in GB2312's common part: its 6763 hanzi (rows
 * B0-F7) and its punctuation, numerals and full-width forms (rows A1-A3). UTF-8 bytes read
 * as GB18030 land mostly outside it (王芳 reads as three GBK extension hanzi), where names
 * rarely go.
 */
static bool
gb_common(uint8_t lead, uint8_t trail)
{
    return trail >= 0xA1 && trail <= 0xFE &&
           ((lead >= 0xA1 && lead <= 0xA3) || (lead >= 0xB0 && lead <= 0xF7));
}

/* One more byte of the file as GB18030 (1, 2 or 4 bytes a character). */
static void
gb_feed(struct evidence *e, uint8_t b)
{
    if (e->g_bad)
        return;
    switch (e->g_pos) {
    case 0:
        if (b >= 0x80) {
            e->g_bad = b == 0x80 || b == 0xFF;
            e->g_lead = b;
            e->g_pos = 1;
        }
        return;
    case 1:
        if (b >= 0x30 && b <= 0x39) { /* a four-byte character */
            e->g_pos = 2;
            return;
        }
        e->g_bad = b < 0x40 || b == 0x7F || b == 0xFF;
        e->g_chars++;
        e->g_rare += !gb_common(e->g_lead, b);
        e->g_pos = 0;
        return;
    case 2:
        e->g_bad = b < 0x81 || b == 0xFF;
        e->g_pos = 3;
        return;
    default:
        e->g_bad = b < 0x30 || b > 0x39;
        e->g_chars++;
        e->g_rare++;
        e->g_pos = 0;
        return;
    }
}

/*
 * The length of the longest prefix of s made of whole, valid UTF-8 characters; counts its
 * characters beyond ASCII and the rare ones among them in e. *bad is set if what follows
 * is invalid (rather than a character cut off by the end of s).
 */
static size_t
utf8_prefix(const unsigned char *s, size_t n, bool *bad, struct evidence *e)
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
        uint32_t cp = c & (0x7F >> len);
        for (size_t k = 1; k < len; k++) {
            if (i + k == n)
                return i;
            unsigned char b = s[i + k];
            if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) {
                *bad = true;
                return i;
            }
            cp = cp << 6 | (b & 0x3F);
        }
        i += len;
        e->u_chars++;
        e->u_rare += !utf8_plausible(cp);
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
 * The first pass: reads the whole file once as UTF-8 (validity, where the first invalid
 * byte is, how plausible its characters are) and as GB18030 (structure and plausibility).
 */
static idl_err
scan(struct import_reader *r, struct evidence *e, char *why, size_t why_len)
{
    size_t carry = 0, got;
    bool first = true;
    memset(e, 0, sizeof(*e));
    while ((got = fread(r->in + carry, 1, BLOCK_BYTES, r->f)) > 0) {
        const unsigned char *u = (const unsigned char *)r->in + carry;
        if (first)
            e->utf8_bom = got >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF;
        first = false;
        e->nul |= memchr(u, 0, got) != NULL;
        for (size_t i = 0; i < got && !e->g_bad; i++)
            gb_feed(e, u[i]);
        size_t n = carry + got, off = 0;
        bool bad = true;
        while (bad && off < n) {
            size_t ok = utf8_prefix((const unsigned char *)r->in + off, n - off, &bad, e);
            e->lines += count_lines(r->in + off, ok);
            off += ok;
            if (bad && !e->u_invalid++)
                e->bad_line = e->lines + 1;
            off += bad; /* past the invalid byte */
        }
        carry = n - off; /* a character cut by the end of the block */
        memmove(r->in, r->in + off, carry);
    }
    if (ferror(r->f)) {
        snprintf(why, why_len, "cannot read the file: %s", strerror(errno));
        return IDL_ERR_IO;
    }
    if (carry > 0 && !e->u_invalid++)
        e->bad_line = e->lines + 1;
    e->g_bad |= e->g_pos != 0; /* a character cut by the end of the file */
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

/*
 * First pass, part two: does the whole file convert from r->encoding (r->cd open)? Sets
 * *ok; returns IDL_OK or IDL_ERR_IO. Leaves the converter in its initial state.
 */
static idl_err
scan_convert(struct import_reader *r, bool *ok, char *why, size_t why_len)
{
    bool eof = false;
    idl_err rc = IDL_OK;
    *ok = true;
    r->in_len = 0;
    rewind(r->f);
    while (!rc && *ok && !eof) {
        rc = read_block(r, &eof, why, why_len);
        *ok = rc || convert(r, eof, NULL) == IDL_OK;
    }
    iconv(r->cd, NULL, NULL, NULL, NULL);
    return rc;
}

/*
 * Both readings are whole: the one whose characters are plausible, by at least four times
 * fewer rare characters (as a share of its characters beyond ASCII) than the other. NULL
 * if neither stands out: a short file of common hanzi can be both (王芳 is "鐜嬭姵" in
 * GB18030, 谢伟 "лΰ" in UTF-8), and then only the user knows.
 */
static const char *
encoding_pick(const struct evidence *e)
{
    /* rate_u < rate_g / 4 with rate = rare / chars, in integers */
    if (4 * e->u_rare * e->g_chars < e->g_rare * e->u_chars)
        return "UTF-8";
    if (4 * e->g_rare * e->u_chars < e->u_rare * e->g_chars)
        return "GB18030";
    return NULL;
}

/*
 * The encoding on the evidence of the first pass (forced: the user's word). Returns
 * IDL_OK with r->encoding set, IDL_ERR_MALFORMED with why, or IDL_ERR_IO.
 */
static idl_err
encoding_decide(struct import_reader *r, const struct evidence *e, const char *forced, char *why,
                size_t why_len)
{
    if (forced && !strcmp(forced, "UTF-8") && e->u_invalid) {
        snprintf(why, why_len,
                 "the file is not UTF-8: %llu invalid byte%s, the first on line %llu (is it "
                 "GB18030?)",
                 (unsigned long long)e->u_invalid, e->u_invalid == 1 ? "" : "s",
                 (unsigned long long)e->bad_line);
        return IDL_ERR_MALFORMED;
    }
    if (!forced && e->u_invalid && e->u_chars > e->u_invalid) {
        /* Mostly UTF-8: read as GB18030 it would turn its names into mojibake (in GB18030
         * text the sequences that happen to be valid UTF-8 are several times fewer than the
         * invalid bytes). */
        snprintf(why, why_len,
                 "the file is UTF-8 but for %llu invalid byte%s (the first on line %llu): save "
                 "it again as UTF-8 or GB18030",
                 (unsigned long long)e->u_invalid, e->u_invalid == 1 ? "" : "s",
                 (unsigned long long)e->bad_line);
        return IDL_ERR_MALFORMED;
    }
    bool gb_possible = forced ? !strcmp(forced, "GB18030") : e->u_invalid || !e->g_bad;
    if (!gb_possible || (!forced && (e->utf8_bom || e->u_chars == 0))) {
        r->encoding = "UTF-8"; /* a UTF-8 byte-order mark, plain ASCII, or never GB18030 */
        return IDL_OK;
    }
    if ((r->cd = iconv_open("UTF-8", "GB18030")) == (iconv_t)-1) {
        snprintf(why, why_len, "cannot convert from GB18030: %s", strerror(errno));
        return IDL_ERR_IO;
    }
    bool converts;
    idl_err rc = scan_convert(r, &converts, why, why_len);
    if (rc)
        return rc;
    r->encoding = "GB18030";
    if (!converts && !forced && !e->u_invalid) {
        r->encoding = "UTF-8"; /* whole as UTF-8 only */
        return IDL_OK;
    }
    if (!converts) {
        snprintf(why, why_len, "the file is %s GB18030 text (save it as CSV)",
                 forced ? "not" : "neither UTF-8 nor");
        return IDL_ERR_MALFORMED;
    }
    if (forced || e->u_invalid)
        return IDL_OK;
    r->encoding = encoding_pick(e);
    if (!r->encoding) {
        snprintf(why, why_len,
                 "the file reads as UTF-8 and as GB18030 and neither reading is clearly "
                 "wrong: say which it is with --encoding utf-8 or --encoding gb18030");
        return IDL_ERR_MALFORMED;
    }
    return IDL_OK;
}

idl_err
import_reader_open(struct import_reader **out, const char *path, const char *encoding, char *why,
                   size_t why_len)
{
    *out = NULL;
    IDL_ASSERT(!encoding || !strcmp(encoding, "UTF-8") || !strcmp(encoding, "GB18030"));
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
    /* The file is read twice (once to tell its encoding), so it must be a file: a pipe
     * cannot be read again, and a device such as /dev/zero never ends. */
    struct stat sb;
    if (fstat(fileno(r->f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(why, why_len, "%s is not a regular file: give the CSV file itself", path);
        fclose(r->f);
        free(r);
        return IDL_ERR_INVALID;
    }
    unsigned char bom[2] = {0};
    size_t nb = fread(bom, 1, 2, r->f);
    bool utf16 = !encoding && nb == 2 &&
                 ((bom[0] == 0xFF && bom[1] == 0xFE) || (bom[0] == 0xFE && bom[1] == 0xFF));
    struct evidence e;
    rewind(r->f);
    idl_err rc = IDL_OK;
    if (utf16) {
        r->encoding = "UTF-16";
        if ((r->cd = iconv_open("UTF-8", r->encoding)) == (iconv_t)-1) {
            snprintf(why, why_len, "cannot convert from UTF-16: %s", strerror(errno));
            rc = IDL_ERR_IO;
        }
        bool converts = true;
        if (!rc)
            rc = scan_convert(r, &converts, why, why_len);
        if (!rc && !converts) {
            snprintf(why, why_len, "the file is not UTF-16 text after its byte-order mark");
            rc = IDL_ERR_MALFORMED;
        }
    } else {
        rc = scan(r, &e, why, why_len);
        if (!rc && e.nul) {
            snprintf(why, why_len, "the file holds NUL bytes: it is not CSV text (save it as CSV)");
            rc = IDL_ERR_MALFORMED;
        }
        if (!rc)
            rc = encoding_decide(r, &e, encoding, why, why_len);
        if (!rc && !strcmp(r->encoding, "UTF-8") && r->cd != (iconv_t)-1) {
            iconv_close(r->cd); /* opened to try GB18030 */
            r->cd = (iconv_t)-1;
        }
    }
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
    if (r->stopped || r->too_long)
        return; /* the row count stays at the row that stopped the import */
    r->row++;
    if (r->nfields == 0)
        return;
    char *fields[IMPORT_COLUMNS_MAX];
    bool any = false;
    for (size_t i = 0; i < r->nfields; i++) {
        if (strpbrk(r->row_buf + r->offs[i], "\r\n") && !r->nl_cells++)
            r->nl_row = r->row; /* before trim, which makes line breaks spaces */
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

uint32_t
import_reader_line_breaks(const struct import_reader *r, uint32_t *first_row)
{
    *first_row = r->nl_row;
    return r->nl_cells;
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

/*
 * The walker behind every canonical encoding in the ledger. Encode, decode, check, free and
 * copy each walk the field table of a schema; LIST and STRUCT recurse into `elem`. Decoding
 * bounds every length before allocating, so an attacker's length field can never make us
 * allocate more than the schema's bound.
 */
#include "schema.h"

#include <stdio.h>
#include <string.h>

#include "hash.h"
#include "sig.h"

static void *
field_ptr(const void *obj, const struct schema_field *f)
{
    return (char *)(uintptr_t)obj + f->offset;
}

int
schema_text_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return 0;
            i++;
            continue;
        }
        size_t n;
        unsigned cp, min;
        if ((c & 0xe0) == 0xc0) {
            n = 2, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 3, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (n > len - i)
            return 0;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        /* Overlong forms, UTF-16 surrogates, beyond Unicode, C1 controls. */
        if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff ||
            (cp >= 0x80 && cp < 0xa0))
            return 0;
        i += n;
    }
    return 1;
}

int
schema_id_valid(const char *s, size_t len, unsigned flags)
{
    size_t digits = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int digit = c >= '0' && c <= '9';
        int ok = digit || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
                 c == '_' || c == '-';
        if (!ok)
            return 0;
        digits = digit ? digits + 1 : 0;
        if ((flags & SCHEMA_NO_PII) && digits >= 11)
            return 0;
    }
    return 1;
}

/* A digit, ASCII or full-width (U+FF10-FF19, as a Chinese input method types them): its
 * length in bytes at s (len bytes left), or 0. */
static size_t
digit_len(const char *s, size_t len)
{
    if (s[0] >= '0' && s[0] <= '9')
        return 1;
    if (len >= 3 && (unsigned char)s[0] == 0xef && (unsigned char)s[1] == 0xbc &&
        (unsigned char)s[2] >= 0x90 && (unsigned char)s[2] <= 0x99)
        return 3;
    return 0;
}

int
schema_text_pii_free(const char *s, size_t len)
{
    size_t digits = 0;
    for (size_t i = 0; i < len;) {
        size_t n = digit_len(s + i, len - i);
        digits = n ? digits + 1 : 0;
        if (digits >= 11)
            return 0;
        i += n ? n : 1;
    }
    return 1;
}

int
schema_text_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        if (s[i] == ' ')
            i += 1;
        else if (len - i >= 2 && memcmp(s + i, "\xc2\xa0", 2) == 0) /* U+00A0 */
            i += 2;
        else if (len - i >= 3 && memcmp(s + i, "\xe3\x80\x80", 3) == 0) /* U+3000 */
            i += 3;
        else
            return 0;
    }
    return 1;
}

const char *
schema_enum_name(const char *const *names, size_t count, unsigned v)
{
    return v < count ? names[v] : "";
}

int
schema_enum_parse(const char *const *names, size_t count, const char *name)
{
    for (size_t i = 1; i < count; i++)
        if (strcmp(names[i], name) == 0)
            return (int)i;
    return -1;
}

void
schema_encode(const struct schema *s, const void *obj, struct codec_writer *w)
{
    for (size_t i = 0; i < s->nfields; i++) {
        const struct schema_field *f = &s->fields[i];
        const void *p = field_ptr(obj, f);
        switch (f->kind) {
        case SCHEMA_U8:
        case SCHEMA_BOOL:
        case SCHEMA_ENUM:
            codec_put_u8(w, *(const uint8_t *)p);
            break;
        case SCHEMA_U16:
            codec_put_u16(w, *(const uint16_t *)p);
            break;
        case SCHEMA_U32:
            codec_put_u32(w, *(const uint32_t *)p);
            break;
        case SCHEMA_U64:
            codec_put_u64(w, *(const uint64_t *)p);
            break;
        case SCHEMA_HASH:
            codec_put_raw(w, p, 32);
            break;
        case SCHEMA_FIXED:
            codec_put_raw(w, p, f->max);
            break;
        case SCHEMA_ID:
        case SCHEMA_TEXT: {
            size_t n = strnlen(p, f->max + 1);
            IDL_ASSERT(n <= f->max);
            codec_put_u16(w, (uint16_t)n);
            codec_put_raw(w, p, n);
            break;
        }
        case SCHEMA_BYTES: {
            const struct idl_bytes *b = p;
            IDL_ASSERT(b->len <= f->max);
            codec_put_u32(w, (uint32_t)b->len);
            codec_put_raw(w, b->data, b->len);
            break;
        }
        case SCHEMA_LIST: {
            const struct schema_list *l = p;
            IDL_ASSERT(l->count <= f->max && f->max <= UINT16_MAX);
            codec_put_u16(w, (uint16_t)l->count);
            for (uint32_t k = 0; k < l->count; k++)
                schema_encode(f->elem, (const char *)l->items + k * f->elem->size, w);
            break;
        }
        case SCHEMA_STRUCT:
            schema_encode(f->elem, p, w);
            break;
        default:
            IDL_ASSERT(!"unknown schema kind");
        }
    }
}

static void
decode_string(const struct schema_field *f, char *p, struct codec_reader *r)
{
    uint16_t n = codec_get_u16(r);
    if (n > f->max) {
        codec_reader_fail(r);
        return;
    }
    const uint8_t *v = codec_get_view(r, n);
    if (!v || memchr(v, 0, n)) {
        codec_reader_fail(r);
        return;
    }
    memcpy(p, v, n);
    p[n] = '\0';
}

static void
decode_fields(const struct schema *s, void *obj, struct codec_reader *r)
{
    for (size_t i = 0; i < s->nfields && !r->failed; i++) {
        const struct schema_field *f = &s->fields[i];
        void *p = field_ptr(obj, f);
        switch (f->kind) {
        case SCHEMA_U8:
        case SCHEMA_BOOL:
        case SCHEMA_ENUM:
            *(uint8_t *)p = codec_get_u8(r);
            break;
        case SCHEMA_U16:
            *(uint16_t *)p = codec_get_u16(r);
            break;
        case SCHEMA_U32:
            *(uint32_t *)p = codec_get_u32(r);
            break;
        case SCHEMA_U64:
            *(uint64_t *)p = codec_get_u64(r);
            break;
        case SCHEMA_HASH:
            codec_get_raw(r, p, 32);
            break;
        case SCHEMA_FIXED:
            codec_get_raw(r, p, f->max);
            break;
        case SCHEMA_ID:
        case SCHEMA_TEXT:
            decode_string(f, p, r);
            break;
        case SCHEMA_BYTES: {
            struct idl_bytes *b = p;
            uint32_t n = codec_get_u32(r);
            if (n > f->max || n > codec_reader_left(r)) {
                codec_reader_fail(r);
                break;
            }
            b->data = malloc(n ? n : 1);
            if (!b->data) {
                codec_reader_fail(r);
                break;
            }
            b->len = n;
            codec_get_raw(r, b->data, n);
            break;
        }
        case SCHEMA_LIST: {
            struct schema_list *l = p;
            uint16_t n = codec_get_u16(r);
            if (n > f->max) {
                codec_reader_fail(r);
                break;
            }
            if (n == 0)
                break;
            l->items = calloc(n, f->elem->size);
            if (!l->items) {
                codec_reader_fail(r);
                break;
            }
            l->count = n;
            for (uint32_t k = 0; k < n && !r->failed; k++)
                decode_fields(f->elem, (char *)l->items + k * f->elem->size, r);
            break;
        }
        case SCHEMA_STRUCT:
            decode_fields(f->elem, p, r);
            break;
        default:
            IDL_ASSERT(!"unknown schema kind");
        }
    }
}

void
schema_decode(const struct schema *s, void *obj, struct codec_reader *r)
{
    memset(obj, 0, s->size);
    decode_fields(s, obj, r);
    if (!r->failed && schema_check(s, obj, NULL, 0) != IDL_OK)
        codec_reader_fail(r);
}

idl_err
schema_decode_bytes(const struct schema *s, void *obj, const uint8_t *data, size_t len)
{
    struct codec_reader r;
    codec_reader_init(&r, data, len);
    schema_decode(s, obj, &r);
    idl_err rc = codec_reader_finish(&r);
    if (rc != IDL_OK)
        schema_free(s, obj);
    return rc;
}

idl_err
schema_encode_bytes(const struct schema *s, const void *obj, struct idl_bytes *out)
{
    struct codec_writer w;
    codec_writer_init(&w);
    schema_encode(s, obj, &w);
    return codec_writer_finish(&w, out);
}

static idl_err
field_fail(char *why, size_t why_len, const char *schema, const char *field, const char *what)
{
    if (why && why_len)
        snprintf(why, why_len, "%s.%s %s", schema, field, what);
    return IDL_ERR_INVALID;
}

static idl_err
check_field(const struct schema *s, const struct schema_field *f, const void *p, char *why,
            size_t why_len)
{
    int optional = f->flags & SCHEMA_OPTIONAL;
    switch (f->kind) {
    case SCHEMA_BOOL:
        if (*(const uint8_t *)p > 1)
            return field_fail(why, why_len, s->name, f->name, "must be 0 or 1");
        break;
    case SCHEMA_ENUM: {
        uint8_t v = *(const uint8_t *)p;
        if (v >= f->max || (v == 0 && !optional))
            return field_fail(why, why_len, s->name, f->name, "is not one of the known values");
        break;
    }
    case SCHEMA_HASH:
        if (!optional && hash_is_zero(p))
            return field_fail(why, why_len, s->name, f->name, "is missing");
        if ((f->flags & SCHEMA_PUBKEY) && !hash_is_zero(p) && !sig_pubkey_valid(p))
            return field_fail(why, why_len, s->name, f->name, "is not a valid public key");
        break;
    case SCHEMA_ID:
    case SCHEMA_TEXT: {
        size_t n = strnlen(p, f->max + 1);
        if (n > f->max)
            return field_fail(why, why_len, s->name, f->name, "is too long");
        if (n == 0 && !optional)
            return field_fail(why, why_len, s->name, f->name, "is missing");
        if (f->kind == SCHEMA_ID && !schema_id_valid(p, n, f->flags))
            return field_fail(why, why_len, s->name, f->name,
                              (f->flags & SCHEMA_NO_PII)
                                  ? "must be letters, digits, '.', '_' or '-', with no run of "
                                    "11 or more digits"
                                  : "must be letters, digits, '.', '_' or '-'");
        if (f->kind == SCHEMA_TEXT && !schema_text_valid(p, n))
            return field_fail(why, why_len, s->name, f->name,
                              "is not valid UTF-8 text without control characters");
        /* A reason of spaces says nothing; the CLI refuses it, and so must the ledger. */
        if (f->kind == SCHEMA_TEXT && n > 0 && schema_text_blank(p, n))
            return field_fail(why, why_len, s->name, f->name,
                              "is blank: write it, or leave out what may be left out");
        if (f->kind == SCHEMA_TEXT && (f->flags & SCHEMA_NO_PII) && !schema_text_pii_free(p, n))
            return field_fail(why, why_len, s->name, f->name,
                              "holds a run of 11 or more digits: an ID or mobile number is "
                              "personal data and is never written in the clear");
        break;
    }
    case SCHEMA_BYTES: {
        const struct idl_bytes *b = p;
        if (b->len > f->max)
            return field_fail(why, why_len, s->name, f->name, "is too long");
        if (b->len == 0 && !optional)
            return field_fail(why, why_len, s->name, f->name, "is missing");
        break;
    }
    case SCHEMA_LIST: {
        const struct schema_list *l = p;
        if (l->count > f->max)
            return field_fail(why, why_len, s->name, f->name, "has too many items");
        if (l->count == 0 && !optional)
            return field_fail(why, why_len, s->name, f->name, "is empty");
        for (uint32_t k = 0; k < l->count; k++) {
            idl_err rc = schema_check(f->elem, (const char *)l->items + k * f->elem->size, why,
                                      why_len);
            if (rc)
                return rc;
        }
        break;
    }
    case SCHEMA_STRUCT:
        return schema_check(f->elem, p, why, why_len);
    default:
        break;
    }
    return IDL_OK;
}

idl_err
schema_check(const struct schema *s, const void *obj, char *why, size_t why_len)
{
    for (size_t i = 0; i < s->nfields; i++) {
        idl_err rc = check_field(s, &s->fields[i], field_ptr(obj, &s->fields[i]), why, why_len);
        if (rc)
            return rc;
    }
    return IDL_OK;
}

static void
free_fields(const struct schema *s, void *obj)
{
    for (size_t i = 0; i < s->nfields; i++) {
        const struct schema_field *f = &s->fields[i];
        void *p = field_ptr(obj, f);
        if (f->kind == SCHEMA_BYTES) {
            struct idl_bytes *b = p;
            free(b->data);
        } else if (f->kind == SCHEMA_LIST) {
            struct schema_list *l = p;
            for (uint32_t k = 0; k < l->count; k++)
                free_fields(f->elem, (char *)l->items + k * f->elem->size);
            free(l->items);
        } else if (f->kind == SCHEMA_STRUCT) {
            free_fields(f->elem, p);
        }
    }
}

void
schema_free(const struct schema *s, void *obj)
{
    free_fields(s, obj);
    memset(obj, 0, s->size);
}

idl_err
schema_copy(const struct schema *s, void *dst, const void *src)
{
    struct idl_bytes enc;
    idl_err rc = schema_encode_bytes(s, src, &enc);
    if (rc)
        return rc;
    rc = schema_decode_bytes(s, dst, enc.data, enc.len);
    free(enc.data);
    return rc;
}

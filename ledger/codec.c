/*
 * The writer doubles its buffer as it grows; the reader checks every get against what is
 * left. Both fail stickily, which keeps every decoder in the project a straight sequence of
 * gets followed by one check.
 */
#include "codec.h"

#include <string.h>

void
codec_writer_init(struct codec_writer *w)
{
    memset(w, 0, sizeof(*w));
}

static bool
writer_reserve(struct codec_writer *w, size_t n)
{
    if (w->failed)
        return false;
    if (n > SIZE_MAX / 2 - w->len) {
        w->failed = true;
        return false;
    }
    if (w->len + n <= w->cap)
        return true;
    size_t cap = w->cap ? w->cap : 64;
    while (cap < w->len + n)
        cap *= 2;
    uint8_t *p = realloc(w->data, cap);
    if (!p) {
        w->failed = true;
        return false;
    }
    w->data = p;
    w->cap = cap;
    return true;
}

void
codec_put_raw(struct codec_writer *w, const void *p, size_t n)
{
    if (n == 0 || !writer_reserve(w, n))
        return;
    memcpy(w->data + w->len, p, n);
    w->len += n;
}

void
codec_put_u8(struct codec_writer *w, uint8_t v)
{
    codec_put_raw(w, &v, 1);
}

void
codec_put_u16(struct codec_writer *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    codec_put_raw(w, b, 2);
}

void
codec_put_u32(struct codec_writer *w, uint32_t v)
{
    uint8_t b[4];
    codec_be32_put(b, v);
    codec_put_raw(w, b, 4);
}

void
codec_put_u64(struct codec_writer *w, uint64_t v)
{
    uint8_t b[8];
    codec_be64_put(b, v);
    codec_put_raw(w, b, 8);
}

idl_err
codec_writer_finish(struct codec_writer *w, struct idl_bytes *out)
{
    memset(out, 0, sizeof(*out));
    if (w->failed) {
        codec_writer_discard(w);
        return IDL_ERR_NOMEM;
    }
    if (!w->data) {
        /* An empty encoding still yields a freeable, non-NULL buffer. */
        w->data = malloc(1);
        if (!w->data)
            return IDL_ERR_NOMEM;
    }
    out->data = w->data;
    out->len = w->len;
    memset(w, 0, sizeof(*w));
    return IDL_OK;
}

void
codec_writer_discard(struct codec_writer *w)
{
    free(w->data);
    memset(w, 0, sizeof(*w));
}

void
codec_reader_init(struct codec_reader *r, const uint8_t *data, size_t len)
{
    r->data = data;
    r->len = data ? len : 0;
    r->off = 0;
    r->failed = false;
}

const uint8_t *
codec_get_view(struct codec_reader *r, size_t n)
{
    if (r->failed || n > r->len - r->off) {
        r->failed = true;
        return NULL;
    }
    const uint8_t *p = r->data + r->off;
    r->off += n;
    return p;
}

void
codec_get_raw(struct codec_reader *r, void *p, size_t n)
{
    const uint8_t *v = codec_get_view(r, n);
    if (v)
        memcpy(p, v, n);
    else if (n)
        memset(p, 0, n);
}

uint8_t
codec_get_u8(struct codec_reader *r)
{
    const uint8_t *v = codec_get_view(r, 1);
    return v ? v[0] : 0;
}

uint16_t
codec_get_u16(struct codec_reader *r)
{
    const uint8_t *v = codec_get_view(r, 2);
    return v ? (uint16_t)((v[0] << 8) | v[1]) : 0;
}

uint32_t
codec_get_u32(struct codec_reader *r)
{
    const uint8_t *v = codec_get_view(r, 4);
    return v ? codec_be32_get(v) : 0;
}

uint64_t
codec_get_u64(struct codec_reader *r)
{
    const uint8_t *v = codec_get_view(r, 8);
    return v ? codec_be64_get(v) : 0;
}

void
codec_reader_fail(struct codec_reader *r)
{
    r->failed = true;
}

size_t
codec_reader_left(const struct codec_reader *r)
{
    return r->failed ? 0 : r->len - r->off;
}

idl_err
codec_reader_finish(const struct codec_reader *r)
{
    if (r->failed || r->off != r->len)
        return IDL_ERR_MALFORMED;
    return IDL_OK;
}

void
codec_be64_put(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

uint64_t
codec_be64_get(const uint8_t in[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | in[i];
    return v;
}

void
codec_be32_put(uint8_t out[4], uint32_t v)
{
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

uint32_t
codec_be32_get(const uint8_t in[4])
{
    return ((uint32_t)in[0] << 24) | ((uint32_t)in[1] << 16) | ((uint32_t)in[2] << 8) | in[3];
}

void
codec_hex_encode(char *out, const uint8_t *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int
hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

idl_err
codec_hex_decode(uint8_t *out, size_t n, const char *hex)
{
    memset(out, 0, n);
    if (!hex || strlen(hex) != 2 * n)
        return IDL_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            memset(out, 0, n);
            return IDL_ERR_INVALID;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return IDL_OK;
}

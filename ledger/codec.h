/*
 * Byte-level codec: a growable writer and a bounded reader for the ledger's canonical
 * encoding.
 *
 * Conventions: integers are big-endian and fixed width; nothing is written with memcpy of a
 * C struct. Both sides carry a sticky failure flag, so a codec sequence is written straight
 * through and checked once at the end (codec_writer_finish, codec_reader_finish). After a
 * failure every further get returns zeros and every further put does nothing.
 *
 * Ownership: a writer owns its buffer until codec_writer_finish hands it to the caller,
 * who frees it with free(). A reader borrows its input; it must outlive the reader.
 */
#ifndef IDL_CODEC_H
#define IDL_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct codec_writer {
    uint8_t *data;
    size_t len;
    size_t cap;
    bool failed; /* an allocation failed: the content is lost */
};

struct codec_reader {
    const uint8_t *data;
    size_t len;
    size_t off;
    bool failed; /* a get ran past the end or a check failed */
};

/* An owned byte string; free(data) releases it. */
struct idl_bytes {
    uint8_t *data;
    size_t len;
};

void codec_writer_init(struct codec_writer *w);
void codec_put_u8(struct codec_writer *w, uint8_t v);
void codec_put_u16(struct codec_writer *w, uint16_t v);
void codec_put_u32(struct codec_writer *w, uint32_t v);
void codec_put_u64(struct codec_writer *w, uint64_t v);
void codec_put_raw(struct codec_writer *w, const void *p, size_t n);
/*
 * Hands the written bytes to `out` (caller frees out->data). Returns IDL_ERR_NOMEM, with
 * out zeroed and the buffer released, if any put failed.
 */
IDL_MUST_USE idl_err codec_writer_finish(struct codec_writer *w, struct idl_bytes *out);
/* Releases the buffer without handing it over (error paths). */
void codec_writer_discard(struct codec_writer *w);

void codec_reader_init(struct codec_reader *r, const uint8_t *data, size_t len);
uint8_t codec_get_u8(struct codec_reader *r);
uint16_t codec_get_u16(struct codec_reader *r);
uint32_t codec_get_u32(struct codec_reader *r);
uint64_t codec_get_u64(struct codec_reader *r);
/* Copies n bytes to p (zeros on failure). */
void codec_get_raw(struct codec_reader *r, void *p, size_t n);
/* Returns a pointer to the next n bytes inside the input and skips them; NULL on failure. */
const uint8_t *codec_get_view(struct codec_reader *r, size_t n);
/* Marks the reader failed: for a decoder that found a value it refuses. */
void codec_reader_fail(struct codec_reader *r);
size_t codec_reader_left(const struct codec_reader *r);
/*
 * IDL_OK if every get succeeded and the input was consumed exactly; IDL_ERR_MALFORMED if a
 * get failed or bytes are left over (trailing bytes are never silently ignored).
 */
IDL_MUST_USE idl_err codec_reader_finish(const struct codec_reader *r);

/* Big-endian helpers for fixed-size keys. */
void codec_be64_put(uint8_t out[8], uint64_t v);
uint64_t codec_be64_get(const uint8_t in[8]);
void codec_be32_put(uint8_t out[4], uint32_t v);
uint32_t codec_be32_get(const uint8_t in[4]);

/* Lower-case hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void codec_hex_encode(char *out, const uint8_t *in, size_t n);
/*
 * Parses exactly 2n hex digits (either case) into out[n]. IDL_ERR_INVALID if the length is
 * wrong or a character is not hex; out is zeroed first.
 */
IDL_MUST_USE idl_err codec_hex_decode(uint8_t *out, size_t n, const char *hex);

#endif

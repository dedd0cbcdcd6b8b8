/*
 * Table-driven canonical encoding of C structs.
 *
 * Each transaction body and each state record is a plain C struct described by a
 * `struct schema`: an ordered list of fields with their kind, offset and bound. From that
 * one table come the canonical encoding, the strict decoder and the validator, so every
 * record in the ledger is encoded, bounded and checked the same way.
 *
 * Encoding of a field, by kind (all integers big-endian):
 *   U8 / BOOL / ENUM  1 byte        U16 2 bytes     U32 4 bytes     U64 8 bytes
 *   HASH              32 raw bytes
 *   FIXED             `max` raw bytes (signatures)
 *   ID / TEXT         u16 length, then the bytes (no NUL)
 *   BYTES             u32 length, then the bytes
 *   LIST              u16 count, then each element encoded with `elem`
 *   STRUCT            the fields of `elem`, in order
 * A struct is its fields in table order, with no tags and no padding, so there is exactly
 * one encoding of each value: decode(encode(x)) == x, and encode(decode(b)) == b for every b
 * that decodes.
 *
 * In memory: ID and TEXT are NUL-terminated char arrays whose size fixes the bound (the
 * SF_ID/SF_TEXT macros read it off the member); BYTES is a struct idl_bytes and LIST a
 * struct schema_list, both heap-allocated and released by schema_free.
 *
 * Validation (schema_check, and every decode): IDs are 1..max characters of
 * [A-Za-z0-9._-]; TEXT is valid UTF-8 without control characters, and not spaces only
 * (ASCII, no-break, ideographic), even where it may be left out; ENUM values are below
 * the number of names; BOOL is 0 or 1; without SCHEMA_OPTIONAL an ID, TEXT, BYTES or LIST
 * must not be empty, an ENUM not 0 and a HASH not all zero. SCHEMA_NO_PII refuses an ID
 * or TEXT holding a run of 11 or more digits (a mobile or ID number used as an account name,
 * or typed into a reason or a note, would otherwise be stored in the clear; in TEXT,
 * full-width digits count too). SCHEMA_PUBKEY requires a valid x-only public key.
 */
#ifndef IDL_SCHEMA_H
#define IDL_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "err.h"

enum schema_kind {
    SCHEMA_U8,
    SCHEMA_U16,
    SCHEMA_U32,
    SCHEMA_U64,
    SCHEMA_BOOL,
    SCHEMA_ENUM,
    SCHEMA_ID,
    SCHEMA_TEXT,
    SCHEMA_HASH,
    SCHEMA_FIXED,
    SCHEMA_BYTES,
    SCHEMA_LIST,
    SCHEMA_STRUCT,
};

#define SCHEMA_OPTIONAL 0x01u
#define SCHEMA_NO_PII 0x02u
#define SCHEMA_PUBKEY 0x04u

struct schema;

struct schema_field {
    const char *name; /* as in JSON and error messages */
    uint8_t kind;     /* enum schema_kind */
    uint8_t flags;
    uint32_t offset;
    uint32_t max;                /* ID/TEXT/BYTES: bytes; LIST: items; ENUM: count of names */
    const struct schema *elem;   /* LIST and STRUCT */
    const char *const *names;    /* ENUM: value names, names[0] is "none" */
};

struct schema {
    const char *name;
    size_t size; /* sizeof the C struct */
    size_t nfields;
    const struct schema_field *fields;
};

struct schema_list {
    void *items; /* count elements of elem->size bytes, heap */
    uint32_t count;
};

#define SCHEMA_MEMBER_SIZE(type, m) sizeof(((type *)0)->m)
#define SF_INT(type, m, nm, kind) {nm, kind, 0, offsetof(type, m), 0, NULL, NULL}
#define SF_U8(type, m, nm) SF_INT(type, m, nm, SCHEMA_U8)
#define SF_U16(type, m, nm) SF_INT(type, m, nm, SCHEMA_U16)
#define SF_U32(type, m, nm) SF_INT(type, m, nm, SCHEMA_U32)
#define SF_U64(type, m, nm) SF_INT(type, m, nm, SCHEMA_U64)
#define SF_BOOL(type, m, nm) SF_INT(type, m, nm, SCHEMA_BOOL)
#define SF_ENUM(type, m, nm, fl, nms)                                                          \
    {nm, SCHEMA_ENUM, fl, offsetof(type, m), IDL_ARRAY_LEN(nms), NULL, nms}
#define SF_ID(type, m, nm, fl)                                                                 \
    {nm, SCHEMA_ID, fl, offsetof(type, m), SCHEMA_MEMBER_SIZE(type, m) - 1, NULL, NULL}
#define SF_TEXT(type, m, nm, fl)                                                               \
    {nm, SCHEMA_TEXT, fl, offsetof(type, m), SCHEMA_MEMBER_SIZE(type, m) - 1, NULL, NULL}
#define SF_HASH(type, m, nm, fl) {nm, SCHEMA_HASH, fl, offsetof(type, m), 32, NULL, NULL}
#define SF_FIXED(type, m, nm)                                                                  \
    {nm, SCHEMA_FIXED, 0, offsetof(type, m), SCHEMA_MEMBER_SIZE(type, m), NULL, NULL}
#define SF_BYTES(type, m, nm, fl, mx) {nm, SCHEMA_BYTES, fl, offsetof(type, m), mx, NULL, NULL}
#define SF_LIST(type, m, nm, fl, mx, el) {nm, SCHEMA_LIST, fl, offsetof(type, m), mx, el, NULL}
#define SF_STRUCT(type, m, nm, el) {nm, SCHEMA_STRUCT, 0, offsetof(type, m), 0, el, NULL}
/* Defines `const struct schema var` (exported: declare it in a header). */
#define SCHEMA_DEFINE(var, type, label, ...)                                                   \
    static const struct schema_field var##_fields[] = {__VA_ARGS__};                           \
    const struct schema var = {label, sizeof(type), IDL_ARRAY_LEN(var##_fields), var##_fields}
/* The same, file-local. */
#define SCHEMA_DEFINE_STATIC(var, type, label, ...)                                            \
    static const struct schema_field var##_fields[] = {__VA_ARGS__};                           \
    static const struct schema var = {label, sizeof(type), IDL_ARRAY_LEN(var##_fields),        \
                                      var##_fields}

/* Appends the encoding of obj. obj must pass schema_check (asserted for bounds). */
void schema_encode(const struct schema *s, const void *obj, struct codec_writer *w);

/*
 * Decodes one value from r into obj (zeroed first) and validates it. On failure r is
 * marked failed and obj may hold partial heap members: release them with schema_free.
 */
void schema_decode(const struct schema *s, void *obj, struct codec_reader *r);

/*
 * Decodes exactly `len` bytes into obj. Returns IDL_OK, or IDL_ERR_MALFORMED with obj
 * freed and zeroed.
 */
IDL_MUST_USE idl_err schema_decode_bytes(const struct schema *s, void *obj, const uint8_t *data,
                                         size_t len);

/* Encodes obj into a new buffer (caller frees out->data). */
IDL_MUST_USE idl_err schema_encode_bytes(const struct schema *s, const void *obj,
                                         struct idl_bytes *out);

/*
 * Validates obj. Returns IDL_OK, or IDL_ERR_INVALID with a sentence naming the field in why
 * (may be NULL).
 */
IDL_MUST_USE idl_err schema_check(const struct schema *s, const void *obj, char *why,
                                  size_t why_len);

/* Releases heap members (BYTES, LIST, recursively) and zeroes obj. Safe on a zeroed obj. */
void schema_free(const struct schema *s, void *obj);

/* Deep copy of src into dst (dst is overwritten, not freed). */
IDL_MUST_USE idl_err schema_copy(const struct schema *s, void *dst, const void *src);

/* The name of an ENUM field's value, or "" if out of range. */
const char *schema_enum_name(const char *const *names, size_t count, unsigned v);
/* The value whose name is `name`, or -1. */
int schema_enum_parse(const char *const *names, size_t count, const char *name);

/* True if s is valid UTF-8 without control characters (the TEXT rule). */
int schema_text_valid(const char *s, size_t len);
/* True if s (len bytes) is only spaces: ASCII, no-break (U+00A0), ideographic (U+3000). */
int schema_text_blank(const char *s, size_t len);
/* True if s (len bytes) holds no run of 11 or more digits, ASCII or full-width. */
int schema_text_pii_free(const char *s, size_t len);
/* True if s (len bytes) is a valid ID under flags (the ID rule). */
int schema_id_valid(const char *s, size_t len, unsigned flags);

#endif

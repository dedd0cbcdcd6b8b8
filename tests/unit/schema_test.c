/*
 * Unit tests of the table-driven codec (ledger/schema.h), through the transaction body
 * schemas (ledger_tx_body_schema) and the exported ledger_person_schema and
 * ledger_code_schema: round trips of bodies using every kind of field (ID, TEXT, ENUM,
 * BOOL, HASH with PUBKEY, STRUCT, LIST, BYTES) with re-encoding giving the same bytes; and
 * every refusal of the decoder: truncation at every byte offset, a trailing byte, strings
 * longer than their bound, an empty required ID, forbidden ID characters, an 11-digit run
 * in a SCHEMA_NO_PII id, invalid UTF-8 in TEXT (overlong, surrogate, lone continuation,
 * truncated, beyond U+10FFFF), control characters, enums out of range or zero, a BOOL of
 * 2, list counts over the maximum, empty required lists and bytes, a zero required hash,
 * an invalid public key, an embedded NUL. Also schema_check's reasons, schema_copy making
 * a deep copy, and schema_free on a zeroed object.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "idnum.h"
#include "schema.h"
#include "sig.h"
#include "tx.h"

static const char NAME_ZH[] = "广州市教育局";

static int
setup(void **state)
{
    (void)state;
    return sig_init() == IDL_OK ? 0 : -1; /* PUBKEY fields call sig_pubkey_valid */
}

/* ---- hand-written encodings ---- */

static void
put_str(struct codec_writer *w, const char *s, size_t n)
{
    codec_put_u16(w, (uint16_t)n);
    codec_put_raw(w, s, n);
}

static void
put_cstr(struct codec_writer *w, const char *s)
{
    put_str(w, s, strlen(s));
}

/* Decodes what w holds with s into obj (released on failure by schema_decode_bytes). */
static idl_err
decode_written(const struct schema *s, void *obj, struct codec_writer *w)
{
    struct idl_bytes b;
    assert_int_equal(codec_writer_finish(w, &b), IDL_OK);
    idl_err rc = schema_decode_bytes(s, obj, b.data, b.len);
    free(b.data);
    return rc;
}

/* org.add: code, name, kind, parent, school_type. */
static idl_err
decode_org_add(const char *code, const char *name, size_t name_len, uint8_t kind,
               uint8_t school_type)
{
    struct codec_writer w;
    codec_writer_init(&w);
    put_cstr(&w, code);
    put_str(&w, name, name_len);
    codec_put_u8(&w, kind);
    put_cstr(&w, "440000");
    codec_put_u8(&w, school_type);
    struct tx_org_add o;
    idl_err rc = decode_written(ledger_tx_body_schema(TX_ORG_ADD), &o, &w);
    schema_free(ledger_tx_body_schema(TX_ORG_ADD), &o);
    return rc;
}

static idl_err
decode_note(const char *note, size_t len)
{
    struct codec_writer w;
    codec_writer_init(&w);
    put_cstr(&w, "440100");
    put_str(&w, note, len);
    struct tx_review r;
    idl_err rc = decode_written(ledger_tx_body_schema(TX_REVIEW_RECORD), &r, &w);
    schema_free(ledger_tx_body_schema(TX_REVIEW_RECORD), &r);
    return rc;
}

static idl_err
decode_code(const char *code, size_t len)
{
    struct codec_writer w;
    codec_writer_init(&w);
    put_str(&w, code, len);
    struct ledger_code c;
    return decode_written(&ledger_code_schema, &c, &w);
}

static idl_err
decode_account_ref(const char *id)
{
    struct codec_writer w;
    codec_writer_init(&w);
    put_cstr(&w, id);
    struct tx_account_ref a;
    return decode_written(ledger_tx_body_schema(TX_ACCOUNT_AUTHORIZE), &a, &w);
}

/* ---- fixtures ---- */

static void
fill_org_add(struct tx_org_add *o)
{
    memset(o, 0, sizeof(*o));
    strcpy(o->code, "440100");
    strcpy(o->name, NAME_ZH);
    o->kind = ORG_KIND_CITY;
    strcpy(o->parent, "440000");
}

static void
fill_sealed(struct ledger_sealed *s, uint8_t field, size_t len, uint8_t byte)
{
    s->field = field;
    s->data.data = malloc(len);
    assert_non_null(s->data.data);
    memset(s->data.data, byte, len);
    s->data.len = len;
}

/* account.add with a valid x-only key (x = 1) and two sealed fields. */
static void
fill_account_add(struct tx_account_add *a)
{
    memset(a, 0, sizeof(*a));
    strcpy(a->id, "zhang.san_01");
    strcpy(a->org, "440100");
    a->class = CLASS_MANAGEMENT;
    a->post = POST_AUDITOR;
    a->pubkey[31] = 1;
    a->person.doc_type = IDNUM_DOC_RESIDENT;
    memset(a->person.key, 0xab, HASH_BYTES);
    a->person.fields.items = calloc(2, sizeof(struct ledger_sealed));
    assert_non_null(a->person.fields.items);
    a->person.fields.count = 2;
    struct ledger_sealed *f = a->person.fields.items;
    fill_sealed(&f[0], PF_NAME, LEDGER_SEAL_OVERHEAD + 6, 0x5a);
    fill_sealed(&f[1], PF_MOBILE, LEDGER_SEAL_OVERHEAD + 11, 0xc3);
}

/* The encoded length of that person: doc, key, count, 2 x (field, u32 length, data). */
#define PERSON_ENC_LEN                                                                             \
    (1 + HASH_BYTES + 2 + 2 * (1 + 4) + (LEDGER_SEAL_OVERHEAD + 6) + (LEDGER_SEAL_OVERHEAD + 11))

static void
fill_system_add(struct tx_system_add *s, uint32_t nroles)
{
    memset(s, 0, sizeof(*s));
    strcpy(s->code, "edu-portal");
    strcpy(s->name, "教育门户");
    s->roles.items = calloc(nroles, sizeof(struct ledger_code));
    assert_non_null(s->roles.items);
    s->roles.count = nroles;
    struct ledger_code *r = s->roles.items;
    for (uint32_t i = 0; i < nroles; i++)
        snprintf(r[i].code, sizeof(r[i].code), "role-%u", i);
}

static struct idl_bytes
encode(const struct schema *s, const void *obj)
{
    struct idl_bytes b;
    assert_int_equal(schema_check(s, obj, NULL, 0), IDL_OK);
    assert_int_equal(schema_encode_bytes(s, obj, &b), IDL_OK);
    return b;
}

/* Decodes b, re-encodes the result, and requires the same bytes. */
static void
assert_reencodes(const struct schema *s, void *obj, const struct idl_bytes *b)
{
    assert_int_equal(schema_decode_bytes(s, obj, b->data, b->len), IDL_OK);
    struct idl_bytes again;
    assert_int_equal(schema_encode_bytes(s, obj, &again), IDL_OK);
    assert_int_equal(again.len, b->len);
    assert_memory_equal(again.data, b->data, b->len);
    free(again.data);
}

/* Every proper prefix of b fails to decode and leaves obj zeroed. */
static void
assert_every_prefix_fails(const struct schema *s, const struct idl_bytes *b)
{
    void *obj = malloc(s->size);
    void *zero = calloc(1, s->size);
    assert_non_null(obj);
    assert_non_null(zero);
    for (size_t len = 0; len < b->len; len++) {
        memset(obj, 0x5a, s->size);
        if (schema_decode_bytes(s, obj, b->data, len) != IDL_ERR_MALFORMED)
            fail_msg("%s decoded from %zu of %zu bytes", s->name, len, b->len);
        assert_memory_equal(obj, zero, s->size);
    }
    free(obj);
    free(zero);
}

static void
assert_trailing_byte_fails(const struct schema *s, const struct idl_bytes *b)
{
    uint8_t *longer = malloc(b->len + 1);
    assert_non_null(longer);
    memcpy(longer, b->data, b->len);
    longer[b->len] = 0;
    void *obj = malloc(s->size);
    assert_non_null(obj);
    assert_int_equal(schema_decode_bytes(s, obj, longer, b->len + 1), IDL_ERR_MALFORMED);
    free(obj);
    free(longer);
}

/* ---- round trips ---- */

static void
test_org_add_roundtrip(void **state)
{
    (void)state;
    const struct schema *s = ledger_tx_body_schema(TX_ORG_ADD);
    struct tx_org_add o, d;
    fill_org_add(&o);
    struct idl_bytes b = encode(s, &o);
    /* 2+6 code, 2+18 name, 1 kind, 2+6 parent, 1 school_type */
    assert_int_equal(b.len, 38);
    assert_reencodes(s, &d, &b);
    assert_string_equal(d.code, "440100");
    assert_string_equal(d.name, NAME_ZH);
    assert_int_equal(d.kind, ORG_KIND_CITY);
    assert_string_equal(d.parent, "440000");
    assert_int_equal(d.school_type, SCHOOL_NONE);
    schema_free(s, &d);
    free(b.data);
}

static void
test_account_add_roundtrip_with_person(void **state)
{
    (void)state;
    const struct schema *s = ledger_tx_body_schema(TX_ACCOUNT_ADD);
    struct tx_account_add a, d;
    fill_account_add(&a);
    struct idl_bytes b = encode(s, &a);
    assert_reencodes(s, &d, &b);
    assert_string_equal(d.id, a.id);
    assert_string_equal(d.org, a.org);
    assert_int_equal(d.class, CLASS_MANAGEMENT);
    assert_int_equal(d.post, POST_AUDITOR);
    assert_memory_equal(d.pubkey, a.pubkey, SIG_PUBKEY_BYTES);
    assert_int_equal(d.person.doc_type, IDNUM_DOC_RESIDENT);
    assert_memory_equal(d.person.key, a.person.key, HASH_BYTES);
    assert_int_equal(d.person.fields.count, 2);
    const struct ledger_sealed *want = a.person.fields.items, *got = d.person.fields.items;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(got[i].field, want[i].field);
        assert_int_equal(got[i].data.len, want[i].data.len);
        assert_memory_equal(got[i].data.data, want[i].data.data, want[i].data.len);
    }
    schema_free(s, &d);
    schema_free(s, &a);
    free(b.data);
}

static void
test_system_add_roundtrip_with_lists(void **state)
{
    (void)state;
    const struct schema *s = ledger_tx_body_schema(TX_SYSTEM_ADD);
    struct tx_system_add a, d;
    fill_system_add(&a, LEDGER_ROLES_MAX);
    struct idl_bytes b = encode(s, &a);
    assert_reencodes(s, &d, &b);
    assert_int_equal(d.roles.count, LEDGER_ROLES_MAX);
    assert_int_equal(d.cert_required.count, 0);
    assert_null(d.cert_required.items);
    assert_string_equal(((struct ledger_code *)d.roles.items)[31].code, "role-31");
    schema_free(s, &d);
    schema_free(s, &a);
    free(b.data);
}

static void
test_every_body_schema_exists(void **state)
{
    (void)state;
    for (unsigned t = 1; t < TX_TYPE__COUNT; t++) {
        const struct schema *s = ledger_tx_body_schema(t);
        assert_non_null(s);
        assert_true(s->size <= sizeof(union ledger_tx_body));
    }
    assert_null(ledger_tx_body_schema(TX_NONE));
    assert_null(ledger_tx_body_schema(TX_TYPE__COUNT));
    assert_null(ledger_tx_body_schema(0xffff));
}

/* ---- refusals ---- */

static void
test_truncation_at_every_offset_fails(void **state)
{
    (void)state;
    struct tx_org_add o;
    fill_org_add(&o);
    struct idl_bytes b = encode(ledger_tx_body_schema(TX_ORG_ADD), &o);
    assert_every_prefix_fails(ledger_tx_body_schema(TX_ORG_ADD), &b);
    free(b.data);

    struct tx_account_add a;
    fill_account_add(&a);
    b = encode(ledger_tx_body_schema(TX_ACCOUNT_ADD), &a);
    assert_every_prefix_fails(ledger_tx_body_schema(TX_ACCOUNT_ADD), &b);
    struct idl_bytes person = {b.data + b.len - PERSON_ENC_LEN, PERSON_ENC_LEN};
    assert_every_prefix_fails(&ledger_person_schema, &person);
    schema_free(ledger_tx_body_schema(TX_ACCOUNT_ADD), &a);
    free(b.data);

    struct tx_system_add sys;
    fill_system_add(&sys, 3);
    b = encode(ledger_tx_body_schema(TX_SYSTEM_ADD), &sys);
    assert_every_prefix_fails(ledger_tx_body_schema(TX_SYSTEM_ADD), &b);
    schema_free(ledger_tx_body_schema(TX_SYSTEM_ADD), &sys);
    free(b.data);
}

static void
test_person_schema_roundtrip_is_tail_of_account(void **state)
{
    (void)state;
    /* The person struct is encoded last in account.add: its bytes decode on their own. */
    struct tx_account_add a;
    struct ledger_person p;
    fill_account_add(&a);
    struct idl_bytes b = encode(ledger_tx_body_schema(TX_ACCOUNT_ADD), &a);
    struct idl_bytes tail = {b.data + b.len - PERSON_ENC_LEN, PERSON_ENC_LEN};
    assert_reencodes(&ledger_person_schema, &p, &tail);
    assert_int_equal(p.fields.count, 2);
    schema_free(&ledger_person_schema, &p);
    schema_free(ledger_tx_body_schema(TX_ACCOUNT_ADD), &a);
    free(b.data);
}

static void
test_trailing_byte_fails(void **state)
{
    (void)state;
    struct tx_org_add o;
    fill_org_add(&o);
    struct idl_bytes b = encode(ledger_tx_body_schema(TX_ORG_ADD), &o);
    assert_trailing_byte_fails(ledger_tx_body_schema(TX_ORG_ADD), &b);
    free(b.data);

    struct ledger_code c = {"role"};
    b = encode(&ledger_code_schema, &c);
    assert_trailing_byte_fails(&ledger_code_schema, &b);
    free(b.data);
}

static void
test_string_longer_than_bound_fails(void **state)
{
    (void)state;
    char s[LEDGER_NAME_MAX + 2];
    memset(s, 'a', sizeof(s));
    assert_int_equal(decode_code(s, LEDGER_CODE_MAX), IDL_OK);
    assert_int_equal(decode_code(s, LEDGER_CODE_MAX + 1), IDL_ERR_MALFORMED);
    assert_int_equal(decode_org_add("440100", s, LEDGER_NAME_MAX, ORG_KIND_CITY, 0), IDL_OK);
    assert_int_equal(decode_org_add("440100", s, LEDGER_NAME_MAX + 1, ORG_KIND_CITY, 0),
                     IDL_ERR_MALFORMED);
}

static void
test_empty_required_id_fails(void **state)
{
    (void)state;
    assert_int_equal(decode_code("", 0), IDL_ERR_MALFORMED);
    assert_int_equal(decode_org_add("", NAME_ZH, strlen(NAME_ZH), ORG_KIND_CITY, 0),
                     IDL_ERR_MALFORMED);
    assert_int_equal(decode_org_add("440100", "", 0, ORG_KIND_CITY, 0), IDL_ERR_MALFORMED);
}

static void
test_id_with_forbidden_char_fails(void **state)
{
    (void)state;
    static const char *const bad[] = {"a b",      "a/b", "a:b", "a@b", "a+b", "\xc3\xa9t\xc3\xa9",
                                      "tab\there"};
    for (size_t i = 0; i < IDL_ARRAY_LEN(bad); i++)
        if (decode_code(bad[i], strlen(bad[i])) != IDL_ERR_MALFORMED)
            fail_msg("accepted id \"%s\"", bad[i]);
    assert_int_equal(decode_code("A-z_0.9", 7), IDL_OK);
}

static void
test_eleven_digit_run_refused_under_no_pii(void **state)
{
    (void)state;
    assert_int_equal(decode_account_ref("u13812345678"), IDL_ERR_MALFORMED);
    assert_int_equal(decode_account_ref("110105194912310021"), IDL_ERR_MALFORMED);
    assert_int_equal(decode_account_ref("u1381234567"), IDL_OK);   /* 10 digits */
    assert_int_equal(decode_account_ref("u13812-345678"), IDL_OK); /* runs of 5 and 6 */
    /* The same string where the field has no SCHEMA_NO_PII flag. */
    assert_int_equal(decode_code("u13812345678", 12), IDL_OK);
    assert_false(schema_id_valid("u13812345678", 12, SCHEMA_NO_PII));
    assert_true(schema_id_valid("u13812345678", 12, 0));
}

static void
test_text_invalid_utf8_fails(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong, 3 bytes */
        "\xed\xa0\x80",     /* surrogate U+D800 */
        "\xed\xbf\xbf",     /* surrogate U+DFFF */
        "a\x80z",           /* lone continuation */
        "\xe5\xbc",         /* truncated sequence */
        "\xe5\x41\x41",     /* lead then ASCII */
        "\xf4\x90\x80\x80", /* beyond U+10FFFF */
        "\xff",             /* never valid */
    };
    for (size_t i = 0; i < IDL_ARRAY_LEN(bad); i++) {
        if (decode_note(bad[i], strlen(bad[i])) != IDL_ERR_MALFORMED)
            fail_msg("accepted invalid UTF-8 #%zu", i);
        assert_false(schema_text_valid(bad[i], strlen(bad[i])));
    }
    /* 2-, 3- and 4-byte characters at the edges are fine. */
    static const char good[] =
        "\xc2\xa0 \xe4\xb8\xad \xef\xbf\xbd \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf";
    assert_int_equal(decode_note(good, strlen(good)), IDL_OK);
}

static void
test_text_control_char_fails(void **state)
{
    (void)state;
    static const char *const bad[] = {"line\nbreak", "tab\tbed", "bell\a", "del\x7f",
                                      "c1 \xc2\x85 nel"};
    for (size_t i = 0; i < IDL_ARRAY_LEN(bad); i++)
        if (decode_note(bad[i], strlen(bad[i])) != IDL_ERR_MALFORMED)
            fail_msg("accepted control character in \"%s\"", bad[i]);
}

static void
test_text_of_spaces_only_fails(void **state)
{
    (void)state;
    /* ASCII, no-break and ideographic spaces, alone or mixed: a note that says nothing. */
    static const char *const blank[] = {" ", "   ", "\xc2\xa0", "\xe3\x80\x80\xe3\x80\x80",
                                        " \xc2\xa0 \xe3\x80\x80 "};
    for (size_t i = 0; i < IDL_ARRAY_LEN(blank); i++) {
        if (decode_note(blank[i], strlen(blank[i])) != IDL_ERR_MALFORMED)
            fail_msg("accepted a note of spaces only, #%zu", i);
        assert_true(schema_text_blank(blank[i], strlen(blank[i])));
    }
    /* Words with spaces around them are text; the optional note of a certificate
     * application may be left empty but not blank. */
    assert_int_equal(decode_note(" ok ", 4), IDL_OK);
    assert_int_equal(decode_note("\xe3\x80\x80\xe5\xa5\xbd", 6), IDL_OK);
    assert_false(schema_text_blank("\xe3\x80", 2)); /* half a U+3000 */
    struct tx_cert_app app = {0};
    snprintf(app.account, sizeof(app.account), "t1");
    char why[160];
    assert_int_equal(schema_check(ledger_tx_body_schema(TX_CERT_APPLY), &app, why, sizeof(why)),
                     IDL_OK);
    snprintf(app.note, sizeof(app.note), "  ");
    assert_int_equal(schema_check(ledger_tx_body_schema(TX_CERT_APPLY), &app, why, sizeof(why)),
                     IDL_ERR_INVALID);
    assert_non_null(strstr(why, "note is blank"));
}

static void
test_embedded_nul_fails(void **state)
{
    (void)state;
    assert_int_equal(decode_code("ab\0cd", 5), IDL_ERR_MALFORMED);
    assert_int_equal(decode_note("ab\0cd", 5), IDL_ERR_MALFORMED);
    assert_int_equal(decode_org_add("440100", "x\0", 2, ORG_KIND_CITY, 0), IDL_ERR_MALFORMED);
}

static void
test_enum_out_of_range_fails(void **state)
{
    (void)state;
    const char *n = NAME_ZH;
    size_t nl = strlen(NAME_ZH);
    assert_int_equal(decode_org_add("440100", n, nl, ORG_KIND__COUNT - 1, 0), IDL_OK);
    assert_int_equal(decode_org_add("440100", n, nl, ORG_KIND__COUNT, 0), IDL_ERR_MALFORMED);
    assert_int_equal(decode_org_add("440100", n, nl, 0xff, 0), IDL_ERR_MALFORMED);
    assert_int_equal(decode_org_add("440100", n, nl, ORG_KIND_NONE, 0), IDL_ERR_MALFORMED);
    assert_int_equal(decode_org_add("440100", n, nl, ORG_KIND_SCHOOL, SCHOOL__COUNT - 1), IDL_OK);
    assert_int_equal(decode_org_add("440100", n, nl, ORG_KIND_SCHOOL, SCHOOL__COUNT),
                     IDL_ERR_MALFORMED);
}

static void
test_bool_two_fails(void **state)
{
    (void)state;
    const struct schema *s = ledger_tx_body_schema(TX_ORG_DELEGATE);
    for (unsigned v = 0; v <= 2; v++) {
        struct codec_writer w;
        codec_writer_init(&w);
        put_cstr(&w, "440100");
        codec_put_u8(&w, (uint8_t)v);
        struct tx_org_delegate d;
        assert_int_equal(decode_written(s, &d, &w), v < 2 ? IDL_OK : IDL_ERR_MALFORMED);
    }
}

static idl_err
decode_system_with_roles(uint16_t count)
{
    struct codec_writer w;
    codec_writer_init(&w);
    put_cstr(&w, "edu-portal");
    put_cstr(&w, "portal");
    codec_put_u16(&w, count);
    for (uint16_t i = 0; i < count; i++)
        put_cstr(&w, "r");
    codec_put_u16(&w, 0); /* cert_required */
    struct tx_system_add s;
    const struct schema *sch = ledger_tx_body_schema(TX_SYSTEM_ADD);
    idl_err rc = decode_written(sch, &s, &w);
    schema_free(sch, &s);
    return rc;
}

static void
test_list_count_over_max_fails(void **state)
{
    (void)state;
    assert_int_equal(decode_system_with_roles(LEDGER_ROLES_MAX), IDL_OK);
    assert_int_equal(decode_system_with_roles(LEDGER_ROLES_MAX + 1), IDL_ERR_MALFORMED);
    assert_int_equal(decode_system_with_roles(0), IDL_ERR_MALFORMED); /* roles required */
}

static void
test_list_count_larger_than_data_fails(void **state)
{
    (void)state;
    struct codec_writer w;
    codec_writer_init(&w);
    put_cstr(&w, "edu-portal");
    put_cstr(&w, "portal");
    codec_put_u16(&w, 5);
    put_cstr(&w, "r");
    struct tx_system_add s;
    assert_int_equal(decode_written(ledger_tx_body_schema(TX_SYSTEM_ADD), &s, &w),
                     IDL_ERR_MALFORMED);
}

/* person: doc_type, key, u16 count, count x (u8 field, u32 len, bytes). */
static idl_err
decode_person(uint8_t doc, uint8_t key_byte, uint16_t count, uint32_t len)
{
    struct codec_writer w;
    codec_writer_init(&w);
    codec_put_u8(&w, doc);
    uint8_t key[HASH_BYTES];
    memset(key, key_byte, sizeof(key));
    codec_put_raw(&w, key, sizeof(key));
    codec_put_u16(&w, count);
    uint8_t *data = calloc(1, len + 1);
    assert_non_null(data);
    for (uint16_t i = 0; i < count; i++) {
        codec_put_u8(&w, (uint8_t)(1 + i % LEDGER_PERSON_FIELDS_MAX));
        codec_put_u32(&w, len);
        codec_put_raw(&w, data, len);
    }
    free(data);
    struct ledger_person p;
    idl_err rc = decode_written(&ledger_person_schema, &p, &w);
    schema_free(&ledger_person_schema, &p);
    return rc;
}

static void
test_person_refusals(void **state)
{
    (void)state;
    assert_int_equal(decode_person(IDNUM_DOC_RESIDENT, 1, LEDGER_PERSON_FIELDS_MAX, 50), IDL_OK);
    assert_int_equal(decode_person(IDNUM_DOC_RESIDENT, 1, 0, 0), IDL_OK); /* optional */
    assert_int_equal(decode_person(IDNUM_DOC_RESIDENT, 1, LEDGER_PERSON_FIELDS_MAX + 1, 50),
                     IDL_ERR_MALFORMED);
    assert_int_equal(decode_person(IDNUM_DOC_RESIDENT, 0, 0, 0), IDL_ERR_MALFORMED); /* key */
    assert_int_equal(decode_person(IDNUM_DOC__COUNT, 1, 0, 0), IDL_ERR_MALFORMED);
    assert_int_equal(decode_person(IDNUM_DOC_NONE, 1, 0, 0), IDL_ERR_MALFORMED);
    assert_int_equal(decode_person(IDNUM_DOC_RESIDENT, 1, 1, 0), IDL_ERR_MALFORMED); /* empty */
    assert_int_equal(decode_person(IDNUM_DOC_RESIDENT, 1, 1, LEDGER_SEALED_MAX), IDL_OK);
    assert_int_equal(decode_person(IDNUM_DOC_RESIDENT, 1, 1, LEDGER_SEALED_MAX + 1),
                     IDL_ERR_MALFORMED);
}

static void
test_bytes_length_beyond_input_fails(void **state)
{
    (void)state;
    struct codec_writer w;
    codec_writer_init(&w);
    codec_put_u8(&w, PF_NAME);
    codec_put_u32(&w, 100); /* but only 3 bytes follow */
    codec_put_raw(&w, "abc", 3);
    struct ledger_sealed s;
    assert_int_equal(decode_written(&ledger_sealed_schema, &s, &w), IDL_ERR_MALFORMED);
}

static void
test_invalid_pubkey_fails(void **state)
{
    (void)state;
    const struct schema *s = ledger_tx_body_schema(TX_ACCOUNT_ADD);
    struct tx_account_add a;
    fill_account_add(&a);
    char why[160];
    assert_int_equal(schema_check(s, &a, why, sizeof(why)), IDL_OK);
    a.pubkey[31] = 5; /* x = 5 is not on secp256k1 */
    assert_int_equal(schema_check(s, &a, why, sizeof(why)), IDL_ERR_INVALID);
    assert_non_null(strstr(why, "pubkey"));
    memset(a.pubkey, 0, sizeof(a.pubkey)); /* optional: zero means no key */
    assert_int_equal(schema_check(s, &a, NULL, 0), IDL_OK);
    schema_free(s, &a);
}

static void
test_check_names_the_field(void **state)
{
    (void)state;
    const struct schema *s = ledger_tx_body_schema(TX_ORG_ADD);
    struct tx_org_add o;
    fill_org_add(&o);
    char why[160];
    o.kind = 0;
    assert_int_equal(schema_check(s, &o, why, sizeof(why)), IDL_ERR_INVALID);
    assert_non_null(strstr(why, "org.add.kind"));
    fill_org_add(&o);
    strcpy(o.parent, "44 00");
    assert_int_equal(schema_check(s, &o, why, sizeof(why)), IDL_ERR_INVALID);
    assert_non_null(strstr(why, "parent"));
}

/* ---- copy and free ---- */

static void
test_copy_is_deep(void **state)
{
    (void)state;
    const struct schema *s = ledger_tx_body_schema(TX_ACCOUNT_ADD);
    struct tx_account_add a, c;
    fill_account_add(&a);
    assert_int_equal(schema_copy(s, &c, &a), IDL_OK);
    struct ledger_sealed *fa = a.person.fields.items, *fc = c.person.fields.items;
    assert_ptr_not_equal(fa, fc);
    assert_ptr_not_equal(fa[0].data.data, fc[0].data.data);
    assert_memory_equal(fa[1].data.data, fc[1].data.data, fa[1].data.len);
    /* Changing and then freeing the source leaves the copy intact. */
    fa[0].data.data[0] ^= 0xff;
    assert_int_equal(fc[0].data.data[0], 0x5a);
    schema_free(s, &a);
    assert_string_equal(c.id, "zhang.san_01");
    assert_int_equal(fc[1].data.data[10], 0xc3);
    schema_free(s, &c);
}

static void
test_copy_of_invalid_fails(void **state)
{
    (void)state;
    const struct schema *s = ledger_tx_body_schema(TX_ORG_ADD);
    struct tx_org_add o, c;
    fill_org_add(&o);
    o.kind = 0;
    assert_int_equal(schema_copy(s, &c, &o), IDL_ERR_MALFORMED);
}

static void
test_free_zeroed_is_safe_and_free_zeroes(void **state)
{
    (void)state;
    for (unsigned t = 1; t < TX_TYPE__COUNT; t++) {
        union ledger_tx_body b;
        memset(&b, 0, sizeof(b));
        schema_free(ledger_tx_body_schema(t), &b);
    }
    struct ledger_person p;
    memset(&p, 0, sizeof(p));
    schema_free(&ledger_person_schema, &p);

    const struct schema *s = ledger_tx_body_schema(TX_ACCOUNT_ADD);
    struct tx_account_add a, zero;
    fill_account_add(&a);
    memset(&zero, 0, sizeof(zero));
    schema_free(s, &a);
    assert_memory_equal(&a, &zero, sizeof(a));
    schema_free(s, &a); /* twice is fine once zeroed */
}

static void
test_enum_names(void **state)
{
    (void)state;
    static const char *const names[] = {"", "one", "two"};
    assert_string_equal(schema_enum_name(names, 3, 2), "two");
    assert_string_equal(schema_enum_name(names, 3, 3), "");
    assert_int_equal(schema_enum_parse(names, 3, "one"), 1);
    assert_int_equal(schema_enum_parse(names, 3, ""), -1); /* "none" is not parsed */
    assert_int_equal(schema_enum_parse(names, 3, "three"), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_org_add_roundtrip),
        cmocka_unit_test(test_account_add_roundtrip_with_person),
        cmocka_unit_test(test_system_add_roundtrip_with_lists),
        cmocka_unit_test(test_every_body_schema_exists),
        cmocka_unit_test(test_truncation_at_every_offset_fails),
        cmocka_unit_test(test_person_schema_roundtrip_is_tail_of_account),
        cmocka_unit_test(test_trailing_byte_fails),
        cmocka_unit_test(test_string_longer_than_bound_fails),
        cmocka_unit_test(test_empty_required_id_fails),
        cmocka_unit_test(test_id_with_forbidden_char_fails),
        cmocka_unit_test(test_eleven_digit_run_refused_under_no_pii),
        cmocka_unit_test(test_text_invalid_utf8_fails),
        cmocka_unit_test(test_text_control_char_fails),
        cmocka_unit_test(test_text_of_spaces_only_fails),
        cmocka_unit_test(test_embedded_nul_fails),
        cmocka_unit_test(test_enum_out_of_range_fails),
        cmocka_unit_test(test_bool_two_fails),
        cmocka_unit_test(test_list_count_over_max_fails),
        cmocka_unit_test(test_list_count_larger_than_data_fails),
        cmocka_unit_test(test_person_refusals),
        cmocka_unit_test(test_bytes_length_beyond_input_fails),
        cmocka_unit_test(test_invalid_pubkey_fails),
        cmocka_unit_test(test_check_names_the_field),
        cmocka_unit_test(test_copy_is_deep),
        cmocka_unit_test(test_copy_of_invalid_fails),
        cmocka_unit_test(test_free_zeroed_is_safe_and_free_zeroes),
        cmocka_unit_test(test_enum_names),
    };
    return cmocka_run_group_tests_name("schema", tests, setup, NULL);
}

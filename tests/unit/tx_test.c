/*
 * Unit tests of ledger/tx.h: transactions of several types (org.add, account.add with
 * sealed personal fields, system.add with lists, account.disable, grant.add) built with
 * ledger_tx_init, signed with a generated key, encoded and decoded again with every field,
 * the txid and the sighash compared; ledger_tx_verify with the right and a wrong key; every
 * refusal of ledger_tx_decode (each truncation, a trailing byte, more than
 * LEDGER_TX_BYTES_MAX, version 2, another chain, unknown types, out-of-bounds header and
 * body fields); a flipped signature byte that still decodes but changes the txid and fails
 * verification; sealed person fields out of order or too short refused by ledger_tx_check,
 * encode and decode. Finally a golden vector: one fixed org.add transaction whose encoding
 * must equal bytes written out here field by field from the wire format of tx.h and
 * schema.h, and whose txid and sighash must be the documented tagged hashes of those bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "idnum.h"
#include "tx.h"

#define CHAIN "test-chain"
#define ACTOR "root-sysadmin"

static const char NAME_ZH[] = "广州市教育局";

static uint8_t SK[SIG_SECKEY_BYTES], PK[SIG_PUBKEY_BYTES];
static uint8_t SK2[SIG_SECKEY_BYTES], PK2[SIG_PUBKEY_BYTES];

static int
setup(void **state)
{
    (void)state;
    if (sig_init() != IDL_OK || sig_keypair_generate(SK, PK) != IDL_OK ||
        sig_keypair_generate(SK2, PK2) != IDL_OK)
        return -1;
    return 0;
}

/* ---- builders ---- */

static void
init_common(struct ledger_tx *tx, const char *chain, unsigned type)
{
    ledger_tx_init(tx, chain, type, ACTOR);
    tx->nonce = 42;
    tx->time = 1700000123;
    memset(tx->basis, 0x3c, HASH_BYTES);
}

static void
build_org_add(struct ledger_tx *tx, const char *chain)
{
    init_common(tx, chain, TX_ORG_ADD);
    struct tx_org_add *b = &tx->body.org_add;
    strcpy(b->code, "440100");
    strcpy(b->name, NAME_ZH);
    b->kind = ORG_KIND_CITY;
    strcpy(b->parent, "440000");
}

static void
set_sealed(struct ledger_sealed *s, uint8_t field, size_t len, uint8_t fill)
{
    s->field = field;
    s->data.data = malloc(len);
    assert_non_null(s->data.data);
    memset(s->data.data, fill, len);
    s->data.len = len;
}

/* account.add with sealed fields `fields` (each LEDGER_SEAL_OVERHEAD + 8 bytes). */
static void
build_account_add(struct ledger_tx *tx, const uint8_t *fields, uint32_t n)
{
    init_common(tx, CHAIN, TX_ACCOUNT_ADD);
    struct tx_account_add *a = &tx->body.account_add;
    strcpy(a->id, "li.si");
    strcpy(a->org, "440100");
    a->class = CLASS_MANAGEMENT;
    a->post = POST_SECADMIN;
    memcpy(a->pubkey, PK2, SIG_PUBKEY_BYTES);
    a->person.doc_type = IDNUM_DOC_RESIDENT;
    memset(a->person.key, 0x9e, HASH_BYTES);
    a->person.fields.items = calloc(n, sizeof(struct ledger_sealed));
    assert_non_null(a->person.fields.items);
    a->person.fields.count = n;
    struct ledger_sealed *f = a->person.fields.items;
    for (uint32_t i = 0; i < n; i++)
        set_sealed(&f[i], fields[i], LEDGER_SEAL_OVERHEAD + 8, (uint8_t)(0xa0 + i));
}

static void
build_system_add(struct ledger_tx *tx)
{
    init_common(tx, CHAIN, TX_SYSTEM_ADD);
    struct tx_system_add *s = &tx->body.system_add;
    strcpy(s->code, "edu-portal");
    strcpy(s->name, "教育门户");
    static const char *const roles[] = {"teacher", "admin", "viewer"};
    s->roles.items = calloc(3, sizeof(struct ledger_code));
    s->cert_required.items = calloc(1, sizeof(struct ledger_code));
    assert_non_null(s->roles.items);
    assert_non_null(s->cert_required.items);
    s->roles.count = 3;
    s->cert_required.count = 1;
    for (int i = 0; i < 3; i++)
        strcpy(((struct ledger_code *)s->roles.items)[i].code, roles[i]);
    strcpy(((struct ledger_code *)s->cert_required.items)[0].code, "admin");
}

static void
build_disable(struct ledger_tx *tx)
{
    init_common(tx, CHAIN, TX_ACCOUNT_DISABLE);
    strcpy(tx->body.account_op.id, "li.si");
    strcpy(tx->body.account_op.reason, "调离岗位");
}

static void
build_grant(struct ledger_tx *tx)
{
    init_common(tx, CHAIN, TX_GRANT_ADD);
    strcpy(tx->body.grant.account, "li.si");
    strcpy(tx->body.grant.system, "edu-portal");
    strcpy(tx->body.grant.role, "teacher");
}

static struct idl_bytes
sign_and_encode(struct ledger_tx *tx)
{
    assert_int_equal(ledger_tx_sign(tx, SK), IDL_OK);
    struct idl_bytes b;
    assert_int_equal(ledger_tx_encode(tx, &b), IDL_OK);
    return b;
}

/* Decodes b and checks the header, the signature and both derived hashes against tx. */
static void
assert_decodes_to(const struct ledger_tx *tx, const struct idl_bytes *b, struct ledger_tx *out)
{
    assert_int_equal(ledger_tx_decode(out, b->data, b->len, tx->chain_id), IDL_OK);
    assert_int_equal(out->version, LEDGER_TX_VERSION);
    assert_string_equal(out->chain_id, tx->chain_id);
    assert_int_equal(out->type, tx->type);
    assert_string_equal(out->actor, tx->actor);
    assert_true(out->nonce == tx->nonce);
    assert_true(out->time == tx->time);
    assert_memory_equal(out->basis, tx->basis, HASH_BYTES);
    assert_memory_equal(out->sig, tx->sig, SIG_BYTES);
    assert_memory_equal(out->id, tx->id, HASH_BYTES);
    assert_memory_equal(out->sighash, tx->sighash, HASH_BYTES);
    /* The body is the same value: it encodes to the same bytes. */
    struct idl_bytes again;
    assert_int_equal(ledger_tx_encode(out, &again), IDL_OK);
    assert_int_equal(again.len, b->len);
    assert_memory_equal(again.data, b->data, b->len);
    free(again.data);
}

/* The size of the header before the body: version, chain, type, actor, nonce, time, basis. */
static size_t
header_len(const struct ledger_tx *tx)
{
    return 1 + 2 + strlen(tx->chain_id) + 2 + 2 + strlen(tx->actor) + 8 + 8 + HASH_BYTES;
}

/* ---- round trips ---- */

static void
test_org_add_roundtrip(void **state)
{
    (void)state;
    struct ledger_tx tx, d;
    build_org_add(&tx, CHAIN);
    struct idl_bytes b = sign_and_encode(&tx);
    assert_decodes_to(&tx, &b, &d);
    assert_string_equal(d.body.org_add.code, "440100");
    assert_string_equal(d.body.org_add.name, NAME_ZH);
    assert_int_equal(d.body.org_add.kind, ORG_KIND_CITY);
    assert_string_equal(d.body.org_add.parent, "440000");
    assert_string_equal(ledger_tx_target(&d), "440100");
    ledger_tx_free(&d);
    ledger_tx_free(&tx);
    free(b.data);
}

static void
test_account_add_roundtrip(void **state)
{
    (void)state;
    static const uint8_t fields[] = {PF_NAME, PF_ID_NUMBER, PF_MOBILE};
    struct ledger_tx tx, d;
    build_account_add(&tx, fields, 3);
    struct idl_bytes b = sign_and_encode(&tx);
    assert_decodes_to(&tx, &b, &d);
    const struct tx_account_add *a = &d.body.account_add;
    assert_string_equal(a->id, "li.si");
    assert_int_equal(a->post, POST_SECADMIN);
    assert_memory_equal(a->pubkey, PK2, SIG_PUBKEY_BYTES);
    assert_int_equal(a->person.fields.count, 3);
    const struct ledger_sealed *f = a->person.fields.items;
    assert_int_equal(f[2].field, PF_MOBILE);
    assert_int_equal(f[2].data.len, LEDGER_SEAL_OVERHEAD + 8);
    assert_int_equal(f[2].data.data[0], 0xa2);
    assert_string_equal(ledger_tx_target(&d), "li.si");
    ledger_tx_free(&d);
    ledger_tx_free(&tx);
    free(b.data);
}

static void
test_system_add_roundtrip(void **state)
{
    (void)state;
    struct ledger_tx tx, d;
    build_system_add(&tx);
    struct idl_bytes b = sign_and_encode(&tx);
    assert_decodes_to(&tx, &b, &d);
    assert_int_equal(d.body.system_add.roles.count, 3);
    assert_string_equal(((struct ledger_code *)d.body.system_add.roles.items)[0].code, "teacher");
    assert_string_equal(((struct ledger_code *)d.body.system_add.cert_required.items)[0].code,
                        "admin");
    ledger_tx_free(&d);
    ledger_tx_free(&tx);
    free(b.data);
}

static void
test_disable_and_grant_roundtrip(void **state)
{
    (void)state;
    struct ledger_tx tx, d;
    build_disable(&tx);
    struct idl_bytes b = sign_and_encode(&tx);
    assert_decodes_to(&tx, &b, &d);
    assert_string_equal(d.body.account_op.reason, "调离岗位");
    ledger_tx_free(&d);
    free(b.data);

    build_grant(&tx);
    b = sign_and_encode(&tx);
    assert_decodes_to(&tx, &b, &d);
    assert_string_equal(d.body.grant.role, "teacher");
    assert_string_equal(ledger_tx_target(&d), "li.si");
    ledger_tx_free(&d);
    free(b.data);
}

static void
test_ids_are_tagged_hashes_of_encoding(void **state)
{
    (void)state;
    struct ledger_tx tx;
    build_grant(&tx);
    struct idl_bytes b = sign_and_encode(&tx);
    uint8_t id[HASH_BYTES], sighash[HASH_BYTES];
    hash_tagged(id, "idledger/txid", b.data, b.len);
    hash_tagged(sighash, "idledger/tx-sig", b.data, b.len - SIG_BYTES);
    assert_memory_equal(tx.id, id, HASH_BYTES);
    assert_memory_equal(tx.sighash, sighash, HASH_BYTES);
    assert_memory_equal(b.data + b.len - SIG_BYTES, tx.sig, SIG_BYTES);
    free(b.data);
}

static void
test_verify_with_right_and_wrong_key(void **state)
{
    (void)state;
    struct ledger_tx tx, d;
    build_org_add(&tx, CHAIN);
    struct idl_bytes b = sign_and_encode(&tx);
    assert_true(ledger_tx_verify(&tx, PK));
    assert_false(ledger_tx_verify(&tx, PK2));
    assert_int_equal(ledger_tx_decode(&d, b.data, b.len, CHAIN), IDL_OK);
    assert_true(ledger_tx_verify(&d, PK));
    assert_false(ledger_tx_verify(&d, PK2));
    ledger_tx_free(&d);
    free(b.data);
}

static void
test_signature_covers_header_fields(void **state)
{
    (void)state;
    struct ledger_tx tx;
    build_org_add(&tx, CHAIN);
    struct idl_bytes b = sign_and_encode(&tx);
    uint8_t first[HASH_BYTES];
    memcpy(first, tx.sighash, HASH_BYTES);
    free(b.data);
    /* Another nonce: another sighash, and the old signature no longer verifies. */
    tx.nonce++;
    uint8_t sig[SIG_BYTES];
    memcpy(sig, tx.sig, SIG_BYTES);
    b = sign_and_encode(&tx);
    assert_memory_not_equal(first, tx.sighash, HASH_BYTES);
    memcpy(tx.sig, sig, SIG_BYTES);
    assert_false(ledger_tx_verify(&tx, PK));
    free(b.data);
}

/* ---- decode refusals ---- */

static void
test_every_truncation_refused(void **state)
{
    (void)state;
    static const uint8_t fields[] = {PF_NAME, PF_EMAIL};
    struct ledger_tx tx, d;
    build_account_add(&tx, fields, 2);
    struct idl_bytes b = sign_and_encode(&tx);
    for (size_t len = 0; len < b.len; len++)
        if (ledger_tx_decode(&d, b.data, len, CHAIN) != IDL_ERR_MALFORMED)
            fail_msg("decoded from %zu of %zu bytes", len, b.len);
    ledger_tx_free(&tx);
    free(b.data);
}

static void
test_trailing_byte_refused(void **state)
{
    (void)state;
    struct ledger_tx tx, d;
    build_org_add(&tx, CHAIN);
    struct idl_bytes b = sign_and_encode(&tx);
    uint8_t *longer = malloc(b.len + 1);
    assert_non_null(longer);
    memcpy(longer, b.data, b.len);
    longer[b.len] = 0;
    assert_int_equal(ledger_tx_decode(&d, longer, b.len + 1, CHAIN), IDL_ERR_MALFORMED);
    free(longer);
    free(b.data);
}

static void
test_over_size_bound_refused(void **state)
{
    (void)state;
    struct ledger_tx tx, d;
    build_org_add(&tx, CHAIN);
    struct idl_bytes b = sign_and_encode(&tx);
    uint8_t *big = calloc(1, LEDGER_TX_BYTES_MAX + 1);
    assert_non_null(big);
    memcpy(big, b.data, b.len);
    assert_int_equal(ledger_tx_decode(&d, big, LEDGER_TX_BYTES_MAX + 1, CHAIN), IDL_ERR_TOO_LARGE);
    /* At exactly the bound it is read (and refused for its trailing zeros). */
    assert_int_equal(ledger_tx_decode(&d, big, LEDGER_TX_BYTES_MAX, CHAIN), IDL_ERR_MALFORMED);
    free(big);
    free(b.data);
}

static void
test_version_2_refused(void **state)
{
    (void)state;
    struct ledger_tx tx, d;
    build_org_add(&tx, CHAIN);
    struct idl_bytes b = sign_and_encode(&tx);
    b.data[0] = 2;
    assert_int_equal(ledger_tx_decode(&d, b.data, b.len, CHAIN), IDL_ERR_VERSION);
    b.data[0] = 0;
    assert_int_equal(ledger_tx_decode(&d, b.data, b.len, CHAIN), IDL_ERR_VERSION);
    free(b.data);
}

static void
test_other_chain_refused(void **state)
{
    (void)state;
    struct ledger_tx tx, d;
    build_org_add(&tx, CHAIN);
    struct idl_bytes b = sign_and_encode(&tx);
    assert_int_equal(ledger_tx_decode(&d, b.data, b.len, "other-chain"), IDL_ERR_CHAIN);
    assert_int_equal(ledger_tx_decode(&d, b.data, b.len, "test-chai"), IDL_ERR_CHAIN);
    assert_int_equal(ledger_tx_decode(&d, b.data, b.len, ""), IDL_ERR_CHAIN);
    free(b.data);
    /* And the other way round. */
    build_org_add(&tx, "other-chain");
    b = sign_and_encode(&tx);
    assert_int_equal(ledger_tx_decode(&d, b.data, b.len, CHAIN), IDL_ERR_CHAIN);
    assert_int_equal(ledger_tx_decode(&d, b.data, b.len, "other-chain"), IDL_OK);
    ledger_tx_free(&d);
    free(b.data);
}

static void
test_unknown_type_refused(void **state)
{
    (void)state;
    struct ledger_tx tx, d;
    build_org_add(&tx, CHAIN);
    struct idl_bytes b = sign_and_encode(&tx);
    size_t off = 1 + 2 + strlen(CHAIN); /* the u16 type */
    assert_int_equal(b.data[off + 1], TX_ORG_ADD);
    static const uint16_t bad[] = {TX_NONE, TX_TYPE__COUNT, 0x0101, 0xffff};
    for (size_t i = 0; i < IDL_ARRAY_LEN(bad); i++) {
        b.data[off] = (uint8_t)(bad[i] >> 8);
        b.data[off + 1] = (uint8_t)bad[i];
        assert_int_equal(ledger_tx_decode(&d, b.data, b.len, CHAIN), IDL_ERR_MALFORMED);
    }
    free(b.data);
}

static void
test_body_enum_out_of_bounds_refused(void **state)
{
    (void)state;
    struct ledger_tx tx, d;
    build_org_add(&tx, CHAIN);
    struct idl_bytes b = sign_and_encode(&tx);
    size_t kind = header_len(&tx) + 2 + 6 + 2 + strlen(NAME_ZH);
    assert_int_equal(b.data[kind], ORG_KIND_CITY);
    b.data[kind] = ORG_KIND__COUNT;
    assert_int_equal(ledger_tx_decode(&d, b.data, b.len, CHAIN), IDL_ERR_MALFORMED);
    b.data[kind] = ORG_KIND_NONE;
    assert_int_equal(ledger_tx_decode(&d, b.data, b.len, CHAIN), IDL_ERR_MALFORMED);
    free(b.data);
}

static void
test_body_id_bad_char_refused(void **state)
{
    (void)state;
    struct ledger_tx tx, d;
    build_grant(&tx);
    struct idl_bytes b = sign_and_encode(&tx);
    size_t first = header_len(&tx) + 2; /* first byte of the account id */
    assert_int_equal(b.data[first], 'l');
    b.data[first] = '/';
    assert_int_equal(ledger_tx_decode(&d, b.data, b.len, CHAIN), IDL_ERR_MALFORMED);
    b.data[first] = '\0';
    assert_int_equal(ledger_tx_decode(&d, b.data, b.len, CHAIN), IDL_ERR_MALFORMED);
    free(b.data);
}

/* Header: version 1, chain, type, actor, then the rest of a valid org.add after its actor. */
static idl_err
decode_with_header(const char *chain, size_t chain_len, const char *actor)
{
    struct ledger_tx tx, d;
    build_org_add(&tx, CHAIN);
    struct idl_bytes b = sign_and_encode(&tx);
    size_t rest = 1 + 2 + strlen(CHAIN) + 2 + 2 + strlen(ACTOR);
    struct codec_writer w;
    codec_writer_init(&w);
    codec_put_u8(&w, 1);
    codec_put_u16(&w, (uint16_t)chain_len);
    codec_put_raw(&w, chain, chain_len);
    codec_put_u16(&w, TX_ORG_ADD);
    codec_put_u16(&w, (uint16_t)strlen(actor));
    codec_put_raw(&w, actor, strlen(actor));
    codec_put_raw(&w, b.data + rest, b.len - rest);
    struct idl_bytes m;
    assert_int_equal(codec_writer_finish(&w, &m), IDL_OK);
    idl_err rc = ledger_tx_decode(&d, m.data, m.len, chain_len ? chain : "");
    ledger_tx_free(&d);
    free(m.data);
    free(b.data);
    return rc;
}

static void
test_header_strings_out_of_bounds_refused(void **state)
{
    (void)state;
    char chain[LEDGER_CHAIN_ID_MAX + 2], actor[LEDGER_ID_MAX + 2];
    memset(chain, 'c', sizeof(chain));
    chain[LEDGER_CHAIN_ID_MAX + 1] = '\0';
    memset(actor, 'a', sizeof(actor));
    actor[LEDGER_ID_MAX + 1] = '\0';
    assert_int_equal(decode_with_header(CHAIN, strlen(CHAIN), ACTOR), IDL_OK);
    assert_int_equal(decode_with_header(chain, LEDGER_CHAIN_ID_MAX + 1, ACTOR), IDL_ERR_MALFORMED);
    assert_int_equal(decode_with_header("", 0, ACTOR), IDL_ERR_MALFORMED);
    assert_int_equal(decode_with_header("a b", 3, ACTOR), IDL_ERR_MALFORMED);
    assert_int_equal(decode_with_header(CHAIN, strlen(CHAIN), actor), IDL_ERR_MALFORMED);
    assert_int_equal(decode_with_header(CHAIN, strlen(CHAIN), ""), IDL_ERR_MALFORMED);
    assert_int_equal(decode_with_header(CHAIN, strlen(CHAIN), "u13812345678"), IDL_ERR_MALFORMED);
}

static void
test_flipped_sig_byte_decodes_but_fails_verify(void **state)
{
    (void)state;
    struct ledger_tx tx, d;
    build_org_add(&tx, CHAIN);
    struct idl_bytes b = sign_and_encode(&tx);
    b.data[b.len - 10] ^= 0x40;
    assert_int_equal(ledger_tx_decode(&d, b.data, b.len, CHAIN), IDL_OK);
    assert_memory_not_equal(d.id, tx.id, HASH_BYTES);
    assert_memory_equal(d.sighash, tx.sighash, HASH_BYTES);
    assert_false(ledger_tx_verify(&d, PK));
    ledger_tx_free(&d);
    free(b.data);
}

static void
test_sealed_fields_out_of_order_refused_by_check(void **state)
{
    (void)state;
    static const uint8_t swapped[] = {PF_MOBILE, PF_NAME};
    static const uint8_t repeated[] = {PF_NAME, PF_NAME};
    struct ledger_tx tx;
    char why[128] = "";
    build_account_add(&tx, swapped, 2);
    assert_int_equal(ledger_tx_check(&tx, why, sizeof(why)), IDL_ERR_INVALID);
    assert_non_null(strstr(why, "order"));
    struct idl_bytes b;
    assert_int_equal(ledger_tx_encode(&tx, &b), IDL_ERR_INVALID);
    assert_int_equal(ledger_tx_sign(&tx, SK), IDL_ERR_INVALID);
    ledger_tx_free(&tx);
    build_account_add(&tx, repeated, 2);
    assert_int_equal(ledger_tx_check(&tx, NULL, 0), IDL_ERR_INVALID);
    ledger_tx_free(&tx);
}

static void
test_sealed_fields_out_of_order_refused_by_decode(void **state)
{
    (void)state;
    static const uint8_t ordered[] = {PF_NAME, PF_MOBILE};
    struct ledger_tx tx, d;
    build_account_add(&tx, ordered, 2);
    struct idl_bytes b = sign_and_encode(&tx);
    /* The two sealed entries are the last bytes before the signature, equal in length. */
    size_t entry = 1 + 4 + LEDGER_SEAL_OVERHEAD + 8;
    size_t second = b.len - SIG_BYTES - entry, first = second - entry;
    assert_int_equal(b.data[first], PF_NAME);
    assert_int_equal(b.data[second], PF_MOBILE);
    b.data[first] = PF_MOBILE;
    b.data[second] = PF_NAME;
    assert_int_equal(ledger_tx_decode(&d, b.data, b.len, CHAIN), IDL_ERR_MALFORMED);
    ledger_tx_free(&tx);
    free(b.data);
}

static void
test_sealed_field_too_short_refused(void **state)
{
    (void)state;
    static const uint8_t one[] = {PF_NAME};
    struct ledger_tx tx;
    build_account_add(&tx, one, 1);
    struct ledger_sealed *f = tx.body.account_add.person.fields.items;
    f[0].data.len = LEDGER_SEAL_OVERHEAD - 1;
    char why[128] = "";
    assert_int_equal(ledger_tx_check(&tx, why, sizeof(why)), IDL_ERR_INVALID);
    assert_non_null(strstr(why, "short"));
    ledger_tx_free(&tx);
}

static void
test_check_refuses_bad_header(void **state)
{
    (void)state;
    struct ledger_tx tx;
    build_org_add(&tx, CHAIN);
    assert_int_equal(ledger_tx_check(&tx, NULL, 0), IDL_OK);
    tx.version = 2;
    assert_int_equal(ledger_tx_check(&tx, NULL, 0), IDL_ERR_INVALID);
    build_org_add(&tx, "bad chain");
    assert_int_equal(ledger_tx_check(&tx, NULL, 0), IDL_ERR_INVALID);
    build_org_add(&tx, CHAIN);
    strcpy(tx.actor, "u13812345678"); /* a mobile number as account name */
    assert_int_equal(ledger_tx_check(&tx, NULL, 0), IDL_ERR_INVALID);
    build_org_add(&tx, CHAIN);
    tx.type = TX_TYPE__COUNT;
    assert_int_equal(ledger_tx_check(&tx, NULL, 0), IDL_ERR_INVALID);
}

static void
test_type_names_roundtrip(void **state)
{
    (void)state;
    for (unsigned t = 1; t < TX_TYPE__COUNT; t++)
        assert_int_equal(ledger_tx_type_parse(ledger_tx_type_name(t)), t);
    assert_string_equal(ledger_tx_type_name(TX_ORG_ADD), "org.add");
    assert_string_equal(ledger_tx_type_name(TX_TYPE__COUNT), "");
    assert_int_equal(ledger_tx_type_parse("org.remove"), TX_NONE);
    assert_int_equal(ledger_org_kind_parse("city"), ORG_KIND_CITY);
    assert_string_equal(ledger_post_name(POST_AUDITOR), "auditor");
}

/* ---- golden vector ---- */

/*
 * chain "golden", org.add by "root-sysadmin", nonce 1, time 1700000000, basis 32 x 0x11,
 * body {code "440100", name "广州市教育局", kind city, parent "440000", school_type none},
 * sig 64 x 0x22 (set directly, not a real signature).
 */
/* clang-format off */
static const uint8_t GOLDEN[] = {
    /* u8 version */
    0x01,
    /* chain_id: u16 length 6, "golden" */
    0x00, 0x06, 'g', 'o', 'l', 'd', 'e', 'n',
    /* u16 type: 1 = org.add */
    0x00, 0x01,
    /* actor: u16 length 13, "root-sysadmin" */
    0x00, 0x0d, 'r', 'o', 'o', 't', '-', 's', 'y', 's', 'a', 'd', 'm', 'i', 'n',
    /* u64 nonce = 1 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    /* u64 time = 1700000000 = 0x6553f100 */
    0x00, 0x00, 0x00, 0x00, 0x65, 0x53, 0xf1, 0x00,
    /* basis[32] */
    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
    0x11, 0x11,
    /* body code (ID): u16 length 6, "440100" */
    0x00, 0x06, '4', '4', '0', '1', '0', '0',
    /* body name (TEXT): u16 length 18, UTF-8 of 广 州 市 教 育 局 */
    0x00, 0x12, 0xe5, 0xb9, 0xbf, 0xe5, 0xb7, 0x9e, 0xe5, 0xb8, 0x82, 0xe6, 0x95, 0x99, 0xe8,
    0x82, 0xb2, 0xe5, 0xb1, 0x80,
    /* body kind (ENUM): 2 = city */
    0x02,
    /* body parent (ID): u16 length 6, "440000" */
    0x00, 0x06, '4', '4', '0', '0', '0', '0',
    /* body school_type (ENUM, optional): 0 = none */
    0x00,
    /* sig[64] */
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
    0x22, 0x22, 0x22, 0x22,
};
/* clang-format on */

static void
build_golden(struct ledger_tx *tx)
{
    ledger_tx_init(tx, "golden", TX_ORG_ADD, "root-sysadmin");
    tx->nonce = 1;
    tx->time = 1700000000;
    memset(tx->basis, 0x11, HASH_BYTES);
    strcpy(tx->body.org_add.code, "440100");
    strcpy(tx->body.org_add.name, "广州市教育局");
    tx->body.org_add.kind = ORG_KIND_CITY;
    strcpy(tx->body.org_add.parent, "440000");
    memset(tx->sig, 0x22, SIG_BYTES);
}

static void
test_golden_encoding(void **state)
{
    (void)state;
    assert_int_equal(sizeof(GOLDEN), 176);
    struct ledger_tx tx;
    build_golden(&tx);
    struct idl_bytes b;
    assert_int_equal(ledger_tx_encode(&tx, &b), IDL_OK);
    assert_int_equal(b.len, sizeof(GOLDEN));
    assert_memory_equal(b.data, GOLDEN, sizeof(GOLDEN));
    free(b.data);
}

static void
test_golden_decode_and_hashes(void **state)
{
    (void)state;
    struct ledger_tx d, want;
    build_golden(&want);
    assert_int_equal(ledger_tx_decode(&d, GOLDEN, sizeof(GOLDEN), "golden"), IDL_OK);
    assert_int_equal(d.type, TX_ORG_ADD);
    assert_string_equal(d.actor, "root-sysadmin");
    assert_true(d.nonce == 1);
    assert_true(d.time == 1700000000);
    assert_memory_equal(d.basis, want.basis, HASH_BYTES);
    assert_memory_equal(&d.body.org_add, &want.body.org_add, sizeof(want.body.org_add));
    assert_memory_equal(d.sig, want.sig, SIG_BYTES);
    uint8_t id[HASH_BYTES], sighash[HASH_BYTES];
    hash_tagged(id, "idledger/txid", GOLDEN, sizeof(GOLDEN));
    hash_tagged(sighash, "idledger/tx-sig", GOLDEN, sizeof(GOLDEN) - SIG_BYTES);
    assert_memory_equal(d.id, id, HASH_BYTES);
    assert_memory_equal(d.sighash, sighash, HASH_BYTES);
    assert_false(ledger_tx_verify(&d, PK)); /* 0x22... is no signature */
    ledger_tx_free(&d);
}

/*
 * Pinned values of the golden transaction, computed once by tests/unit/golden.py from the
 * bytes above with Python's hashlib and a pure-Python BIP-340 (itself checked against
 * BIP-340's test vector 0), not with the hash functions under test.
 */
#define GOLDEN_TXID "2cef54b8fa86d06587da6f72fbed34d2b3b96fa3319b7c7a9ab9c409e7cf015d"
#define GOLDEN_SIGHASH "e4e26449461a6d721a264002f40967322be7757f939a7a00a4736f6799e837b2"
/* Secret key 01 02 .. 20, aux 32 x 0x5a: the signature is reproducible. */
#define GOLDEN_PK "84bf7562262bbd6940085748f3be6afa52ae317155181ece31b66351ccffa4b0"
#define GOLDEN_SIG                                                                             \
    "b73f2251cacb2796d118d540e493d41434314cc6353ef287ef0138be7c8ab876"                         \
    "4642d0e7d7794da2cfb3c6713d5402d3023ba98a8ff18c339ee49e07aa1a1b02"
#define GOLDEN_SIGNED_TXID "c85fbdd7bd752bde5971cbcde64e671d5a44be05170c14cc0080ff5582e60248"

static void
assert_hex(const uint8_t *got, size_t n, const char *want)
{
    char hex[2 * SIG_BYTES + 1];
    assert_true(n <= SIG_BYTES);
    codec_hex_encode(hex, got, n);
    assert_string_equal(hex, want);
}

static void
test_golden_pinned_txid_and_sighash(void **state)
{
    (void)state;
    struct ledger_tx d;
    assert_int_equal(ledger_tx_decode(&d, GOLDEN, sizeof(GOLDEN), "golden"), IDL_OK);
    assert_hex(d.id, HASH_BYTES, GOLDEN_TXID);
    assert_hex(d.sighash, HASH_BYTES, GOLDEN_SIGHASH);
    ledger_tx_free(&d);
}

static void
test_golden_pinned_signature(void **state)
{
    (void)state;
    uint8_t sk[SIG_SECKEY_BYTES], pk[SIG_PUBKEY_BYTES], aux[32];
    for (int i = 0; i < SIG_SECKEY_BYTES; i++)
        sk[i] = (uint8_t)(i + 1);
    memset(aux, 0x5a, sizeof(aux));
    assert_int_equal(sig_pubkey_from_secret(pk, sk), IDL_OK);
    assert_hex(pk, SIG_PUBKEY_BYTES, GOLDEN_PK);
    struct ledger_tx tx;
    build_golden(&tx);
    assert_int_equal(ledger_tx_sign_aux(&tx, sk, aux), IDL_OK);
    assert_hex(tx.sighash, HASH_BYTES, GOLDEN_SIGHASH);
    assert_hex(tx.sig, SIG_BYTES, GOLDEN_SIG);
    assert_hex(tx.id, HASH_BYTES, GOLDEN_SIGNED_TXID);
    assert_true(ledger_tx_verify(&tx, pk));
    ledger_tx_free(&tx);
}

/* ---- free text holds no ID or mobile number ---- */

static void
test_free_text_with_long_digit_runs_refused(void **state)
{
    (void)state;
    static const char *const refused[] = {
        "本人手机13812345678",            /* a mobile */
        "身份证11010519491231002X已核验", /* an ID number */
        "电话０２０８３４５６７８９",     /* 11 full-width digits */
    };
    static const char *const kept[] = {"调离岗位", "2026年上半年核查", "工号1234567890",
                                       "2026-01-01至2026-06-30"}; /* runs of at most 10 */
    char why[200];
    struct ledger_tx tx;
    for (size_t i = 0; i < IDL_ARRAY_LEN(refused); i++) {
        build_disable(&tx);
        snprintf(tx.body.account_op.reason, sizeof(tx.body.account_op.reason), "%s", refused[i]);
        assert_int_equal(ledger_tx_check(&tx, why, sizeof(why)), IDL_ERR_INVALID);
        assert_non_null(strstr(why, "11 or more digits"));
        assert_null(strstr(why, refused[i])); /* and the reason does not quote it */
        build_org_add(&tx, CHAIN);
        snprintf(tx.body.org_add.name, sizeof(tx.body.org_add.name), "%s", refused[i]);
        assert_int_equal(ledger_tx_check(&tx, NULL, 0), IDL_ERR_INVALID);
        init_common(&tx, CHAIN, TX_REVIEW_RECORD);
        strcpy(tx.body.review.org, "440100");
        snprintf(tx.body.review.note, sizeof(tx.body.review.note), "%s", refused[i]);
        assert_int_equal(ledger_tx_check(&tx, NULL, 0), IDL_ERR_INVALID);
        init_common(&tx, CHAIN, TX_CERT_REVOKE);
        memset(tx.body.cert_op.fingerprint, 0x11, HASH_BYTES);
        snprintf(tx.body.cert_op.reason, sizeof(tx.body.cert_op.reason), "%s", refused[i]);
        assert_int_equal(ledger_tx_check(&tx, NULL, 0), IDL_ERR_INVALID);
    }
    for (size_t i = 0; i < IDL_ARRAY_LEN(kept); i++) {
        build_disable(&tx);
        snprintf(tx.body.account_op.reason, sizeof(tx.body.account_op.reason), "%s", kept[i]);
        assert_int_equal(ledger_tx_check(&tx, why, sizeof(why)), IDL_OK);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_org_add_roundtrip),
        cmocka_unit_test(test_account_add_roundtrip),
        cmocka_unit_test(test_system_add_roundtrip),
        cmocka_unit_test(test_disable_and_grant_roundtrip),
        cmocka_unit_test(test_ids_are_tagged_hashes_of_encoding),
        cmocka_unit_test(test_verify_with_right_and_wrong_key),
        cmocka_unit_test(test_signature_covers_header_fields),
        cmocka_unit_test(test_every_truncation_refused),
        cmocka_unit_test(test_trailing_byte_refused),
        cmocka_unit_test(test_over_size_bound_refused),
        cmocka_unit_test(test_version_2_refused),
        cmocka_unit_test(test_other_chain_refused),
        cmocka_unit_test(test_unknown_type_refused),
        cmocka_unit_test(test_body_enum_out_of_bounds_refused),
        cmocka_unit_test(test_body_id_bad_char_refused),
        cmocka_unit_test(test_header_strings_out_of_bounds_refused),
        cmocka_unit_test(test_flipped_sig_byte_decodes_but_fails_verify),
        cmocka_unit_test(test_sealed_fields_out_of_order_refused_by_check),
        cmocka_unit_test(test_sealed_fields_out_of_order_refused_by_decode),
        cmocka_unit_test(test_sealed_field_too_short_refused),
        cmocka_unit_test(test_check_refuses_bad_header),
        cmocka_unit_test(test_type_names_roundtrip),
        cmocka_unit_test(test_golden_encoding),
        cmocka_unit_test(test_golden_decode_and_hashes),
        cmocka_unit_test(test_golden_pinned_txid_and_sighash),
        cmocka_unit_test(test_golden_pinned_signature),
        cmocka_unit_test(test_free_text_with_long_digit_runs_refused),
    };
    return cmocka_run_group_tests_name("tx", tests, setup, NULL);
}

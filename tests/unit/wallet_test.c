/*
 * Unit tests of wallet/key.h (encrypted key files). One key is generated and saved once
 * (group setup, in a mkdtemp directory under /tmp removed afterwards); the other tests load
 * it or variants of its file written by the test. Covered: save/load round trip (same pk
 * and sk, a signature by the loaded key verifies under the generated pk), mode 0600 and no
 * secret in the clear, refusal to overwrite an existing file (IDL_ERR_EXISTS, file left as
 * it was), wrong passphrase (IDL_ERR_CRYPTO, reason without the passphrase), tampering
 * (ciphertext, nonce, a swapped-in valid public key: IDL_ERR_CRYPTO), wallet_key_pubkey
 * without the passphrase, files that are not key files / truncated / not JSON
 * (IDL_ERR_MALFORMED), a missing file (IDL_ERR_NOT_FOUND), and absurd KDF limits refused
 * before Argon2 runs. Argon2id runs six times in all (one save, five loads). Passphrases
 * (wallet_passphrase_read): a final line break dropped; too long for the buffer (file or
 * environment), a NUL byte, or a directory refused, never cut.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codec.h"
#include "file.h"
#include "sig.h"
#include "wallet/key.h"

#define PASS "correct horse battery staple"
#define WRONG_PASS "Tr0ub4dor&3-not-the-passphrase"

struct ws {
    char dir[64];
    char path[128];  /* the saved key file */
    char *text;      /* its content */
    size_t text_len;
    uint8_t pk[SIG_PUBKEY_BYTES];
    uint8_t sk[SIG_SECKEY_BYTES];
};

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int
group_setup(void **state)
{
    struct ws *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    snprintf(w->dir, sizeof(w->dir), "/tmp/idl-wallet-test-XXXXXX");
    assert_non_null(mkdtemp(w->dir));
    snprintf(w->path, sizeof(w->path), "%s/key.json", w->dir);
    struct wallet_key *k;
    assert_int_equal(wallet_key_generate(&k), IDL_OK);
    memcpy(w->pk, k->pk, SIG_PUBKEY_BYTES);
    memcpy(w->sk, k->sk, SIG_SECKEY_BYTES);
    mode_t old = umask(022);
    idl_err rc = wallet_key_save(k, w->path, PASS, strlen(PASS));
    umask(old);
    wallet_key_free(k);
    assert_int_equal(rc, IDL_OK);
    struct idl_bytes text;
    assert_int_equal(file_read_all(w->path, WALLET_KEY_FILE_MAX, &text), IDL_OK);
    w->text = (char *)text.data;
    w->text_len = text.len;
    *state = w;
    return 0;
}

static int
group_teardown(void **state)
{
    struct ws *w = *state;
    nftw(w->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(w->text);
    free(w);
    return 0;
}

/* ---- helpers ---- */

static void
variant_path(const struct ws *w, const char *name, char out[128])
{
    assert_true(snprintf(out, 128, "%s/%s", w->dir, name) < 128);
}

static void
write_file(const char *path, const void *data, size_t len)
{
    assert_int_equal(file_write_atomic(path, data, len, 0600), IDL_OK);
}

static json_t *
key_json(const struct ws *w)
{
    json_error_t err;
    json_t *root = json_loadb(w->text, w->text_len, 0, &err);
    if (!root)
        fail_msg("the saved key file is not JSON: %s", err.text);
    return root;
}

static void
write_json(const char *path, json_t *root)
{
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    assert_non_null(text);
    write_file(path, text, strlen(text));
    free(text);
}

/* Flips one hex digit of the string member `name` of obj (at position pos). */
static void
flip_hex_digit(json_t *obj, const char *name, size_t pos)
{
    const char *s = json_string_value(json_object_get(obj, name));
    assert_non_null(s);
    assert_true(pos < strlen(s));
    char *copy = strdup(s);
    assert_non_null(copy);
    copy[pos] = copy[pos] == '0' ? '1' : '0';
    json_object_set_new(obj, name, json_string(copy));
    free(copy);
}

/* Loads path with passphrase; asserts the result code, a NULL key on failure, and a
 * reason that never contains either passphrase. */
static void
expect_load(const char *path, const char *pass, idl_err want)
{
    struct wallet_key *k = (struct wallet_key *)(uintptr_t)1;
    char why[512] = "";
    idl_err rc = wallet_key_load(&k, path, pass, strlen(pass), why, sizeof(why));
    if (rc != want)
        fail_msg("wallet_key_load(%s): got %s (%s), want %s", path, idl_errname(rc), why,
                 idl_errname(want));
    if (rc == IDL_OK) {
        wallet_key_free(k);
        return;
    }
    assert_null(k);
    assert_true(strlen(why) > 0);
    assert_null(strstr(why, PASS));
    assert_null(strstr(why, WRONG_PASS));
}

/* ---- tests ---- */

static void
test_save_then_load_gives_same_key_that_signs(void **state)
{
    struct ws *w = *state;
    struct wallet_key *k = NULL;
    char why[512] = "";
    if (wallet_key_load(&k, w->path, PASS, strlen(PASS), why, sizeof(why)) != IDL_OK)
        fail_msg("wallet_key_load: %s", why);
    assert_non_null(k);
    assert_memory_equal(k->pk, w->pk, SIG_PUBKEY_BYTES);
    assert_memory_equal(k->sk, w->sk, SIG_SECKEY_BYTES);
    uint8_t msg[32], sig[SIG_BYTES];
    for (int i = 0; i < 32; i++)
        msg[i] = (uint8_t)(i * 13 + 5);
    assert_int_equal(sig_sign(sig, msg, k->sk), IDL_OK);
    wallet_key_free(k);
    assert_true(sig_verify(sig, msg, w->pk));
    msg[0] ^= 1;
    assert_false(sig_verify(sig, msg, w->pk));
}

static void
test_key_file_is_mode_0600_with_no_secret_in_clear(void **state)
{
    struct ws *w = *state;
    struct stat st;
    assert_int_equal(stat(w->path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    /* The file records the public key, and holds neither the secret nor the passphrase. */
    char pk_hex[2 * SIG_PUBKEY_BYTES + 1], sk_hex[2 * SIG_SECKEY_BYTES + 1];
    codec_hex_encode(pk_hex, w->pk, SIG_PUBKEY_BYTES);
    codec_hex_encode(sk_hex, w->sk, SIG_SECKEY_BYTES);
    assert_non_null(strstr(w->text, pk_hex));
    assert_null(strstr(w->text, sk_hex));
    assert_null(strstr(w->text, PASS));
    assert_non_null(strstr(w->text, "\"idledger-key\""));
}

static void
test_save_refuses_to_overwrite_existing_file(void **state)
{
    struct ws *w = *state;
    struct wallet_key *other;
    assert_int_equal(wallet_key_generate(&other), IDL_OK);
    assert_int_equal(wallet_key_save(other, w->path, PASS, strlen(PASS)), IDL_ERR_EXISTS);
    struct idl_bytes now;
    assert_int_equal(file_read_all(w->path, WALLET_KEY_FILE_MAX, &now), IDL_OK);
    assert_int_equal(now.len, w->text_len);
    assert_memory_equal(now.data, w->text, w->text_len);
    free(now.data);
    /* Any existing file counts, not only key files. */
    char p[128];
    variant_path(w, "notes.txt", p);
    write_file(p, "my notes", 8);
    assert_int_equal(wallet_key_save(other, p, PASS, strlen(PASS)), IDL_ERR_EXISTS);
    assert_int_equal(file_read_all(p, 100, &now), IDL_OK);
    assert_int_equal(now.len, 8);
    assert_memory_equal(now.data, "my notes", 8);
    free(now.data);
    wallet_key_free(other);
}

static void
test_wrong_passphrase_is_crypto_error_without_passphrase_in_reason(void **state)
{
    struct ws *w = *state;
    expect_load(w->path, WRONG_PASS, IDL_ERR_CRYPTO);
}

static void
test_flipped_ciphertext_digit_is_crypto_error(void **state)
{
    struct ws *w = *state;
    json_t *root = key_json(w);
    flip_hex_digit(json_object_get(root, "cipher"), "ciphertext", 17);
    char p[128];
    variant_path(w, "flipped-ciphertext.json", p);
    write_json(p, root);
    json_decref(root);
    expect_load(p, PASS, IDL_ERR_CRYPTO);
}

static void
test_flipped_nonce_digit_is_crypto_error(void **state)
{
    struct ws *w = *state;
    json_t *root = key_json(w);
    flip_hex_digit(json_object_get(root, "cipher"), "nonce", 0);
    char p[128];
    variant_path(w, "flipped-nonce.json", p);
    write_json(p, root);
    json_decref(root);
    expect_load(p, PASS, IDL_ERR_CRYPTO);
}

static void
test_swapped_in_valid_pubkey_is_crypto_error(void **state)
{
    struct ws *w = *state;
    struct wallet_key *other;
    assert_int_equal(wallet_key_generate(&other), IDL_OK);
    char hex[2 * SIG_PUBKEY_BYTES + 1];
    codec_hex_encode(hex, other->pk, SIG_PUBKEY_BYTES);
    json_t *root = key_json(w);
    json_object_set_new(root, "pubkey", json_string(hex));
    char p[128];
    variant_path(w, "swapped-pubkey.json", p);
    write_json(p, root);
    json_decref(root);
    /* The file now claims the other key... */
    uint8_t pk[SIG_PUBKEY_BYTES];
    char why[512] = "";
    assert_int_equal(wallet_key_pubkey(p, pk, why, sizeof(why)), IDL_OK);
    assert_memory_equal(pk, other->pk, SIG_PUBKEY_BYTES);
    wallet_key_free(other);
    /* ...but opening it does not pass the sealed secret off as that key's. */
    expect_load(p, PASS, IDL_ERR_CRYPTO);
}

static void
test_pubkey_reads_without_passphrase(void **state)
{
    struct ws *w = *state;
    uint8_t pk[SIG_PUBKEY_BYTES];
    char why[512] = "";
    if (wallet_key_pubkey(w->path, pk, why, sizeof(why)) != IDL_OK)
        fail_msg("wallet_key_pubkey: %s", why);
    assert_memory_equal(pk, w->pk, SIG_PUBKEY_BYTES);
}

static void
test_files_that_are_not_key_files_are_malformed(void **state)
{
    struct ws *w = *state;
    struct {
        const char *name;
        const char *path; /* member to edit; NULL: the text is `value` as is */
        const char *value; /* JSON text, NULL deletes the member */
    } cases[] = {
        {"not-json.txt", NULL, "this is not a key file"},
        {"empty.json", NULL, ""},
        {"array.json", NULL, "[1, 2, 3]"},
        {"other.json", NULL, "{\"type\": \"idledger-genesis\", \"chain_id\": \"dev\"}"},
        {"type.json", "type", "\"other-key\""},
        {"no-type.json", "type", NULL},
        {"version.json", "version", "2"},
        {"version-string.json", "version", "\"1\""},
        {"no-kdf.json", "kdf", NULL},
        {"no-cipher.json", "cipher", NULL},
        {"kdf-alg.json", "kdf.alg", "\"scrypt\""},
        {"cipher-alg.json", "cipher.alg", "\"aes-256-gcm\""},
        {"short-salt.json", "kdf.salt", "\"00112233\""},
        {"bad-pubkey-hex.json", "pubkey", "\"zz\""},
        {"short-ciphertext.json", "cipher.ciphertext", "\"abcd\""},
    };
    for (size_t i = 0; i < IDL_ARRAY_LEN(cases); i++) {
        char p[128];
        variant_path(w, cases[i].name, p);
        if (!cases[i].path) {
            write_file(p, cases[i].value, strlen(cases[i].value));
        } else {
            json_t *root = key_json(w);
            json_t *obj = root;
            const char *member = cases[i].path;
            const char *dot = strchr(member, '.');
            if (dot) {
                char parent[32];
                snprintf(parent, sizeof(parent), "%.*s", (int)(dot - member), member);
                obj = json_object_get(root, parent);
                member = dot + 1;
            }
            assert_non_null(obj);
            if (cases[i].value)
                json_object_set_new(obj, member, json_loads(cases[i].value, JSON_DECODE_ANY,
                                                             NULL));
            else
                assert_int_equal(json_object_del(obj, member), 0);
            write_json(p, root);
            json_decref(root);
        }
        expect_load(p, PASS, IDL_ERR_MALFORMED);
        uint8_t pk[SIG_PUBKEY_BYTES];
        memset(pk, 0xee, sizeof(pk));
        char why[512] = "";
        if (wallet_key_pubkey(p, pk, why, sizeof(why)) != IDL_ERR_MALFORMED)
            fail_msg("wallet_key_pubkey accepted %s", cases[i].name);
        assert_true(strlen(why) > 0);
        static const uint8_t zero[SIG_PUBKEY_BYTES];
        assert_memory_equal(pk, zero, SIG_PUBKEY_BYTES);
    }
}

static void
test_truncated_key_file_is_malformed(void **state)
{
    struct ws *w = *state;
    char p[128];
    variant_path(w, "truncated.json", p);
    static const size_t cuts[] = {1, 2, 3, 5};
    for (size_t i = 0; i < IDL_ARRAY_LEN(cuts); i++) {
        size_t keep = w->text_len * cuts[i] / 6; /* 1/6, 2/6, 3/6, 5/6 of it */
        write_file(p, w->text, keep);
        expect_load(p, PASS, IDL_ERR_MALFORMED);
    }
    /* Everything but the final '}'. */
    size_t end = w->text_len;
    while (end && w->text[end - 1] != '}')
        end--;
    assert_true(end > 1);
    write_file(p, w->text, end - 1);
    expect_load(p, PASS, IDL_ERR_MALFORMED);
}

static void
test_missing_key_file_is_not_found(void **state)
{
    struct ws *w = *state;
    char p[128];
    variant_path(w, "no-such-key.json", p);
    expect_load(p, PASS, IDL_ERR_NOT_FOUND);
    uint8_t pk[SIG_PUBKEY_BYTES];
    char why[512] = "";
    assert_int_equal(wallet_key_pubkey(p, pk, why, sizeof(why)), IDL_ERR_NOT_FOUND);
    assert_non_null(strstr(why, "no-such-key.json"));
}

static void
test_absurd_kdf_limits_are_refused_not_run(void **state)
{
    struct ws *w = *state;
    static const struct {
        const char *member, *value;
    } cases[] = {
        {"opslimit", "1000000000"},        /* days of Argon2id */
        {"opslimit", "9223372036854775807"},
        {"opslimit", "0"},                 /* below libsodium's minimum */
        {"opslimit", "-3"},
        {"opslimit", "\"2\""},
        {"memlimit", "1099511627776"},     /* 1 TiB */
        {"memlimit", "1"},
        {"memlimit", "-67108864"},
    };
    char p[128];
    variant_path(w, "absurd-kdf.json", p);
    for (size_t i = 0; i < IDL_ARRAY_LEN(cases); i++) {
        json_t *root = key_json(w);
        json_t *kdf = json_object_get(root, "kdf");
        assert_non_null(kdf);
        json_object_set_new(kdf, cases[i].member, json_loads(cases[i].value, JSON_DECODE_ANY,
                                                             NULL));
        write_json(p, root);
        json_decref(root);
        /* Refused as malformed up front: had Argon2id been run, the huge limits would
         * hang or fail for memory (IDL_ERR_NOMEM) and the tiny ones fail in libsodium. */
        expect_load(p, PASS, IDL_ERR_MALFORMED);
    }
}

/* A passphrase that does not fit, or holds a NUL, is refused, never cut. */
static void
test_passphrase_is_read_whole_or_refused(void **state)
{
    struct ws *w = *state;
    char p[128], buf[WALLET_PASSPHRASE_MAX], why[512];
    variant_path(w, "pass.txt", p);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("correct horse\r\n", f);
    fclose(f);
    assert_int_equal(wallet_passphrase_read(p, NULL, "", buf, sizeof(buf), why, sizeof(why)),
                     IDL_OK);
    assert_string_equal(buf, "correct horse");
    /* Eight bytes fit a buffer of nine; nine do not. */
    assert_int_equal(wallet_passphrase_read(p, NULL, "", buf, 9, why, sizeof(why)),
                     IDL_ERR_TOO_LARGE);
    assert_non_null(strstr(why, "longer than 8 bytes"));
    assert_null(strstr(why, "correct"));

    f = fopen(p, "w");
    assert_non_null(f);
    fwrite("abcdefgh\0zzzz", 1, 13, f);
    fclose(f);
    assert_int_equal(wallet_passphrase_read(p, NULL, "", buf, sizeof(buf), why, sizeof(why)),
                     IDL_ERR_INVALID);
    assert_non_null(strstr(why, "NUL"));

    assert_int_equal(wallet_passphrase_read(w->dir, NULL, "", buf, sizeof(buf), why, sizeof(why)),
                     IDL_ERR_NOT_FILE);

    char *long_one = malloc(WALLET_PASSPHRASE_MAX + 1);
    assert_non_null(long_one);
    memset(long_one, 'x', WALLET_PASSPHRASE_MAX);
    long_one[WALLET_PASSPHRASE_MAX] = '\0';
    setenv("IDL_TEST_PASSPHRASE", long_one, 1);
    assert_int_equal(
        wallet_passphrase_read(NULL, "IDL_TEST_PASSPHRASE", "", buf, sizeof(buf), why, sizeof(why)),
        IDL_ERR_TOO_LARGE);
    long_one[WALLET_PASSPHRASE_MAX - 1] = '\0';
    setenv("IDL_TEST_PASSPHRASE", long_one, 1);
    assert_int_equal(
        wallet_passphrase_read(NULL, "IDL_TEST_PASSPHRASE", "", buf, sizeof(buf), why, sizeof(why)),
        IDL_OK);
    assert_int_equal(strlen(buf), WALLET_PASSPHRASE_MAX - 1);
    unsetenv("IDL_TEST_PASSPHRASE");
    free(long_one);
}

static void
test_free_of_null_key_is_harmless(void **state)
{
    (void)state;
    wallet_key_free(NULL);
    struct wallet_key *a, *b;
    assert_int_equal(wallet_key_generate(&a), IDL_OK);
    assert_int_equal(wallet_key_generate(&b), IDL_OK);
    /* Two fresh keys differ, and each public key matches its secret. */
    assert_memory_not_equal(a->sk, b->sk, SIG_SECKEY_BYTES);
    uint8_t pk[SIG_PUBKEY_BYTES];
    assert_int_equal(sig_pubkey_from_secret(pk, a->sk), IDL_OK);
    assert_memory_equal(pk, a->pk, SIG_PUBKEY_BYTES);
    wallet_key_free(a);
    wallet_key_free(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_save_then_load_gives_same_key_that_signs),
        cmocka_unit_test(test_key_file_is_mode_0600_with_no_secret_in_clear),
        cmocka_unit_test(test_save_refuses_to_overwrite_existing_file),
        cmocka_unit_test(test_wrong_passphrase_is_crypto_error_without_passphrase_in_reason),
        cmocka_unit_test(test_flipped_ciphertext_digit_is_crypto_error),
        cmocka_unit_test(test_flipped_nonce_digit_is_crypto_error),
        cmocka_unit_test(test_swapped_in_valid_pubkey_is_crypto_error),
        cmocka_unit_test(test_pubkey_reads_without_passphrase),
        cmocka_unit_test(test_files_that_are_not_key_files_are_malformed),
        cmocka_unit_test(test_truncated_key_file_is_malformed),
        cmocka_unit_test(test_missing_key_file_is_not_found),
        cmocka_unit_test(test_absurd_kdf_limits_are_refused_not_run),
        cmocka_unit_test(test_passphrase_is_read_whole_or_refused),
        cmocka_unit_test(test_free_of_null_key_is_harmless),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

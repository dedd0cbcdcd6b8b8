/*
 * Personal data never reaches the store in the clear. A chain is written with known
 * personal data (created, then changed), the store is closed, and then every file of the
 * LevelDB directory is scanned for the ID number, the mobile, the e-mail, the office phone
 * and the name, both as raw bytes of the files and as the decompressed content read back
 * through the store (snappy could in principle hide a repeated string from the raw scan).
 * None may be found. The same data must still be recoverable with the chain secret.
 */
#include <dirent.h>
#include <string.h>

#include "fixture.h"
#include "ledger/file.h"

static const char *const secrets[] = {
    "11010519491231002X",      /* ID number */
    "110105491231002",         /* its 15-digit form */
    "13812345678",             /* mobile */
    "13987654321",             /* the mobile after a change */
    "zhangsan@example.edu.cn", /* e-mail */
    "020-83456789",            /* office phone */
    "张三丰",                  /* name */
};

static void
seal(struct fx *f, const uint8_t key[HASH_BYTES], unsigned field, const char *text,
     struct ledger_sealed *out)
{
    out->field = (uint8_t)field;
    assert_int_equal(person_seal(f->pkeys, key, field, text, &out->data), IDL_OK);
}

static void
add_known_person(struct fx *f)
{
    struct ledger_tx tx;
    fx_tx(f, &tx, "root-sysadmin", TX_ACCOUNT_ADD);
    struct tx_account_add *b = &tx.body.account_add;
    snprintf(b->id, sizeof(b->id), "gd-teacher-1");
    snprintf(b->org, sizeof(b->org), FX_ROOT);
    b->class = CLASS_BUSINESS;
    char norm[IDNUM_NORM_MAX + 1];
    assert_int_equal(idnum_normalize(norm, IDNUM_DOC_RESIDENT, secrets[0], NULL), IDL_OK);
    b->person.doc_type = IDNUM_DOC_RESIDENT;
    person_index(f->pkeys, IDNUM_DOC_RESIDENT, norm, b->person.key);
    struct ledger_sealed *s = calloc(5, sizeof(*s));
    seal(f, b->person.key, PF_NAME, secrets[6], &s[0]);
    seal(f, b->person.key, PF_ID_NUMBER, norm, &s[1]);
    seal(f, b->person.key, PF_MOBILE, secrets[2], &s[2]);
    seal(f, b->person.key, PF_EMAIL, secrets[4], &s[3]);
    seal(f, b->person.key, PF_OFFICE_PHONE, secrets[5], &s[4]);
    b->person.fields.items = s;
    b->person.fields.count = 5;
    FX_OK(f, fx_submit(f, &tx));

    fx_tx(f, &tx, "root-sysadmin", TX_ACCOUNT_UPDATE);
    struct tx_account_update *u = &tx.body.account_update;
    snprintf(u->id, sizeof(u->id), "gd-teacher-1");
    uint8_t key[HASH_BYTES];
    person_index(f->pkeys, IDNUM_DOC_RESIDENT, norm, key);
    s = calloc(1, sizeof(*s));
    seal(f, key, PF_MOBILE, secrets[3], &s[0]);
    u->fields.items = s;
    u->fields.count = 1;
    FX_OK(f, fx_submit(f, &tx));
}

static bool
contains(const uint8_t *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; m <= n && i <= n - m; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return true;
    return false;
}

static size_t
scan_files(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    size_t scanned = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[PATH_MAX + NAME_MAX + 2];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        struct idl_bytes content;
        assert_int_equal(file_read_all(path, 1 << 30, &content), IDL_OK);
        for (size_t i = 0; i < IDL_ARRAY_LEN(secrets); i++)
            if (contains(content.data, content.len, secrets[i]))
                fail_msg("%s holds \"%s\" in the clear", e->d_name, secrets[i]);
        scanned += content.len;
        free(content.data);
    }
    closedir(d);
    return scanned;
}

static size_t
scan_store(struct store *s)
{
    struct store_iter *it = store_iter_new(s);
    size_t n = 0, kl, vl;
    for (store_iter_seek(s, it, (const uint8_t *)"", 0); store_iter_valid(s, it);
         store_iter_next(s, it)) {
        const uint8_t *k = store_iter_key(s, it, &kl), *v = store_iter_value(s, it, &vl);
        for (size_t i = 0; i < IDL_ARRAY_LEN(secrets); i++)
            if (contains(k, kl, secrets[i]) || contains(v, vl, secrets[i]))
                fail_msg("a record (key space '%c') holds \"%s\" in the clear", k[0],
                         secrets[i]);
        n++;
    }
    store_iter_free(s, it);
    return n;
}

static void
no_personal_data_in_the_clear(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, NULL);
    fx_tree(&f);
    add_known_person(&f);
    /* The scan must see the data somewhere: check it is recoverable with the secret. */
    char norm[IDNUM_NORM_MAX + 1];
    assert_int_equal(idnum_normalize(norm, IDNUM_DOC_RESIDENT, secrets[0], NULL), IDL_OK);
    struct state_key k;
    state_key_init(&k, SP_PERSON);
    uint8_t key[HASH_BYTES];
    person_index(f.pkeys, IDNUM_DOC_RESIDENT, norm, key);
    state_key_raw(&k, key, HASH_BYTES);
    struct ledger_person p;
    FX_OK(&f, fx_get(&f, &k, &ledger_person_schema, &p));
    const struct ledger_sealed *fields = p.fields.items;
    char text[LEDGER_PERSON_TEXT_MAX + 1];
    for (uint32_t i = 0; i < p.fields.count; i++)
        if (fields[i].field == PF_MOBILE) {
            assert_int_equal(person_open(f.pkeys, key, PF_MOBILE, fields[i].data.data,
                                         fields[i].data.len, text, sizeof(text)),
                             IDL_OK);
            assert_string_equal(text, secrets[3]);
        }
    schema_free(&ledger_person_schema, &p);

    assert_true(scan_store(f.store) > 100);
    fx_shut(&f);
    assert_true(scan_files(f.dir) > 10000);
    fx_reopen(&f);
    fx_close(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_personal_data_in_the_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

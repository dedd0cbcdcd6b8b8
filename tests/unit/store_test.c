/*
 * Unit tests of ledger/store.h: one conformance suite run against both implementations,
 * LevelDB (store_leveldb_open, in a fresh mkdtemp directory under /tmp that is removed
 * afterwards) and memory (store_memory_open). It covers point reads of missing keys, put,
 * overwrite and delete, a batch of puts and deletes applied together, binary keys holding
 * NUL bytes, bytewise iteration order with the shorter key first on a shared prefix
 * (against store_key_cmp and a hand-listed order), seek to the first key >= the target,
 * iterator snapshots, and empty values. For LevelDB only: data survives close and reopen,
 * and a second handle on a directory that is held open is refused with IDL_ERR_IO and a
 * reason; large values go to the blob file and come back through get, iterators and
 * snapshots, a blob tail no batch points at is left aside, damaged or missing blob bytes are
 * IDL_ERR_CORRUPT, the store's own keys cannot be written, and a store of the older
 * untagged format is refused. Iterator errors (a damaged LevelDB table, a store whose
 * iterators fail part way, a record that does not decode, an audit entry by actor without
 * its record) reach the scans of query.h as IDL_ERR_CORRUPT. LevelDB's statistics show its
 * levels once a memtable is written out; the memory store has none.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <leveldb/c.h>
#include <sys/stat.h>
#include <unistd.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "report.h"
#include "state.h"
#include "store.h"

enum kind { KIND_LEVELDB, KIND_MEMORY };

struct st {
    enum kind kind;
    char dir[PATH_MAX];
    struct store *s;
};

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void
rm_rf(const char *dir)
{
    if (dir[0])
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int
setup_leveldb(void **state)
{
    struct st *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->kind = KIND_LEVELDB;
    snprintf(t->dir, sizeof(t->dir), "/tmp/idl-store-test-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    char why[256] = "";
    if (store_leveldb_open(&t->s, t->dir, why, sizeof(why)) != IDL_OK)
        fail_msg("store_leveldb_open: %s", why);
    *state = t;
    return 0;
}

static int
setup_memory(void **state)
{
    struct st *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->kind = KIND_MEMORY;
    assert_int_equal(store_memory_open(&t->s), IDL_OK);
    assert_non_null(t->s);
    *state = t;
    return 0;
}

static int
teardown(void **state)
{
    struct st *t = *state;
    store_close(t->s);
    rm_rf(t->dir);
    free(t);
    return 0;
}

/* ---- helpers ---- */

static void
put(struct store *s, const void *k, size_t kl, const void *v, size_t vl)
{
    struct store_batch b;
    store_batch_init(&b);
    assert_int_equal(store_batch_put(&b, k, kl, v, vl), IDL_OK);
    assert_int_equal(store_write(s, &b, true), IDL_OK);
    store_batch_free(&b);
}

static void
del(struct store *s, const void *k, size_t kl)
{
    struct store_batch b;
    store_batch_init(&b);
    assert_int_equal(store_batch_del(&b, k, kl), IDL_OK);
    assert_int_equal(store_write(s, &b, true), IDL_OK);
    store_batch_free(&b);
}

static void
puts_str(struct store *s, const char *k, const char *v)
{
    put(s, k, strlen(k), v, strlen(v));
}

/* Asserts that key holds exactly v (vl bytes). */
static void
expect_val(struct store *s, const void *k, size_t kl, const void *v, size_t vl)
{
    struct idl_bytes got;
    assert_int_equal(store_get(s, k, kl, &got), IDL_OK);
    assert_non_null(got.data);
    assert_int_equal(got.len, vl);
    if (vl)
        assert_memory_equal(got.data, v, vl);
    free(got.data);
}

static void
expect_str(struct store *s, const char *k, const char *v)
{
    expect_val(s, k, strlen(k), v, strlen(v));
}

static void
expect_missing(struct store *s, const void *k, size_t kl)
{
    struct idl_bytes got = {(uint8_t *)"junk", 4};
    assert_int_equal(store_get(s, k, kl, &got), IDL_ERR_NOT_FOUND);
    assert_null(got.data);
    assert_int_equal(got.len, 0);
}

struct key {
    const char *b;
    size_t n;
};
#define K(lit) {lit, sizeof(lit) - 1}

/* Walks the whole store from the first key; asserts the keys are exactly want[0..n). */
static void
expect_keys(struct store *s, const struct key *want, size_t n)
{
    struct store_iter *it = store_iter_new(s);
    assert_non_null(it);
    store_iter_seek(s, it, (const uint8_t *)"", 0);
    size_t i = 0;
    for (; store_iter_valid(s, it); store_iter_next(s, it), i++) {
        size_t kl;
        const uint8_t *k = store_iter_key(s, it, &kl);
        if (i >= n)
            fail_msg("unexpected extra key #%zu (%zu bytes)", i, kl);
        if (kl != want[i].n || (kl && memcmp(k, want[i].b, kl) != 0))
            fail_msg("key #%zu differs from the expected order", i);
    }
    assert_int_equal(i, n);
    store_iter_free(s, it);
}

/* ---- conformance tests (both stores) ---- */

static void
test_get_missing_key_is_not_found(void **state)
{
    struct st *t = *state;
    expect_missing(t->s, "nothing", 7);
    expect_missing(t->s, "", 0);
    puts_str(t->s, "present", "1");
    expect_missing(t->s, "presen", 6);
    expect_missing(t->s, "present!", 8);
}

static void
test_put_then_get_returns_value(void **state)
{
    struct st *t = *state;
    puts_str(t->s, "alpha", "one");
    puts_str(t->s, "beta", "two");
    expect_str(t->s, "alpha", "one");
    expect_str(t->s, "beta", "two");
}

static void
test_put_overwrites_previous_value(void **state)
{
    struct st *t = *state;
    puts_str(t->s, "k", "a much longer first value");
    puts_str(t->s, "k", "short");
    expect_str(t->s, "k", "short");
    puts_str(t->s, "k", "third");
    expect_str(t->s, "k", "third");
    /* Still one key, not three versions of it. */
    static const struct key want[] = {K("k")};
    expect_keys(t->s, want, 1);
}

static void
test_delete_removes_key_and_missing_delete_is_harmless(void **state)
{
    struct st *t = *state;
    puts_str(t->s, "a", "1");
    puts_str(t->s, "b", "2");
    del(t->s, "a", 1);
    expect_missing(t->s, "a", 1);
    expect_str(t->s, "b", "2");
    del(t->s, "never-there", 11);
    expect_str(t->s, "b", "2");
    static const struct key want[] = {K("b")};
    expect_keys(t->s, want, 1);
    /* A deleted key can be written again. */
    puts_str(t->s, "a", "again");
    expect_str(t->s, "a", "again");
}

static void
test_batch_applies_puts_and_deletes_together(void **state)
{
    struct st *t = *state;
    puts_str(t->s, "keep", "k");
    puts_str(t->s, "drop", "d");
    puts_str(t->s, "change", "old");

    struct store_batch b;
    store_batch_init(&b);
    assert_int_equal(store_batch_put(&b, (const uint8_t *)"new1", 4, (const uint8_t *)"n1", 2),
                     IDL_OK);
    assert_int_equal(store_batch_del(&b, (const uint8_t *)"drop", 4), IDL_OK);
    assert_int_equal(store_batch_put(&b, (const uint8_t *)"change", 6, (const uint8_t *)"new", 3),
                     IDL_OK);
    /* Later operations on the same key win: put then delete leaves nothing, delete then
     * put leaves the put. */
    assert_int_equal(store_batch_put(&b, (const uint8_t *)"gone", 4, (const uint8_t *)"g", 1),
                     IDL_OK);
    assert_int_equal(store_batch_del(&b, (const uint8_t *)"gone", 4), IDL_OK);
    assert_int_equal(store_batch_del(&b, (const uint8_t *)"new2", 4), IDL_OK);
    assert_int_equal(store_batch_put(&b, (const uint8_t *)"new2", 4, (const uint8_t *)"n2", 2),
                     IDL_OK);
    assert_int_equal(b.count, 7);
    assert_int_equal(b.bytes, (4 + 2) + 4 + (6 + 3) + (4 + 1) + 4 + 4 + (4 + 2));

    /* Nothing is visible before the write. */
    expect_missing(t->s, "new1", 4);
    expect_str(t->s, "drop", "d");
    assert_int_equal(store_write(t->s, &b, false), IDL_OK);
    /* The batch is not consumed by the write. */
    assert_int_equal(b.count, 7);
    store_batch_free(&b);
    assert_null(b.ops);
    assert_int_equal(b.count, 0);

    expect_str(t->s, "keep", "k");
    expect_missing(t->s, "drop", 4);
    expect_str(t->s, "change", "new");
    expect_str(t->s, "new1", "n1");
    expect_missing(t->s, "gone", 4);
    expect_str(t->s, "new2", "n2");
    static const struct key want[] = {K("change"), K("keep"), K("new1"), K("new2")};
    expect_keys(t->s, want, IDL_ARRAY_LEN(want));
}

static void
test_binary_keys_with_nul_bytes_are_distinct(void **state)
{
    struct st *t = *state;
    static const uint8_t k1[] = {'a', 0, 'b'}, k2[] = {'a', 0, 'c'}, k3[] = {'a'}, k4[] = {'a', 0},
                         k5[] = {0}, k6[] = {0, 0};
    static const uint8_t v1[] = {0, 1, 0, 2}, v5[] = {0};
    put(t->s, k1, sizeof(k1), v1, sizeof(v1));
    put(t->s, k2, sizeof(k2), "two", 3);
    put(t->s, k3, sizeof(k3), "three", 5);
    put(t->s, k4, sizeof(k4), "four", 4);
    put(t->s, k5, sizeof(k5), v5, sizeof(v5));
    put(t->s, k6, sizeof(k6), "six", 3);
    expect_val(t->s, k1, sizeof(k1), v1, sizeof(v1));
    expect_val(t->s, k2, sizeof(k2), "two", 3);
    expect_val(t->s, k3, sizeof(k3), "three", 5);
    expect_val(t->s, k4, sizeof(k4), "four", 4);
    expect_val(t->s, k5, sizeof(k5), v5, sizeof(v5));
    expect_val(t->s, k6, sizeof(k6), "six", 3);
    /* A key is not cut at its first NUL. */
    static const uint8_t k7[] = {'a', 0, 'd'};
    expect_missing(t->s, k7, sizeof(k7));
    del(t->s, k1, sizeof(k1));
    expect_missing(t->s, k1, sizeof(k1));
    expect_val(t->s, k2, sizeof(k2), "two", 3);
    expect_val(t->s, k4, sizeof(k4), "four", 4);
}

/* The hand-listed order: bytewise, unsigned, shorter first on a shared prefix. */
static const struct key sorted_keys[] = {
    K(""),     K("\x00"),     K("\x00\x00"),  K("\x00\x01"), K("\x01"),     K("A"),
    K("a"),    K("a\x00"),    K("a\x00\x00"), K("a\x01"),    K("ab"),       K("abc"),
    K("abd"),  K("b"),        K("\x7f"),      K("\x80"),     K("\x80\x00"), K("\xfe\xff"),
    K("\xff"), K("\xff\x00"), K("\xff\xff"),
};

static void
test_key_cmp_matches_hand_listed_order(void **state)
{
    (void)state;
    size_t n = IDL_ARRAY_LEN(sorted_keys);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            int c = store_key_cmp((const uint8_t *)sorted_keys[i].b, sorted_keys[i].n,
                                  (const uint8_t *)sorted_keys[j].b, sorted_keys[j].n);
            int want = i < j ? -1 : i > j;
            if ((c > 0) - (c < 0) != want)
                fail_msg("store_key_cmp(#%zu, #%zu) = %d, want sign %d", i, j, c, want);
        }
}

static void
test_iteration_is_bytewise_shorter_key_first(void **state)
{
    struct st *t = *state;
    size_t n = IDL_ARRAY_LEN(sorted_keys);
    assert_true(n % 5 != 0); /* so that i -> (5i + 3) mod n is a permutation */
    /* Insert in a scrambled order, some in one batch, the rest one by one. */
    struct store_batch b;
    store_batch_init(&b);
    for (size_t i = 0; i < n; i += 2) {
        size_t j = (i * 5 + 3) % n;
        assert_int_equal(store_batch_put(&b, (const uint8_t *)sorted_keys[j].b, sorted_keys[j].n,
                                         (const uint8_t *)&j, sizeof(j)),
                         IDL_OK);
    }
    assert_int_equal(store_write(t->s, &b, true), IDL_OK);
    store_batch_free(&b);
    for (size_t i = 1; i < n; i += 2) {
        size_t j = (i * 5 + 3) % n;
        put(t->s, sorted_keys[j].b, sorted_keys[j].n, &j, sizeof(j));
    }
    expect_keys(t->s, sorted_keys, n);

    /* Each key is followed by a larger one under store_key_cmp, and carries its value. */
    struct store_iter *it = store_iter_new(t->s);
    assert_non_null(it);
    store_iter_seek(t->s, it, (const uint8_t *)"", 0);
    uint8_t prev[16];
    size_t prev_len = 0, count = 0;
    for (; store_iter_valid(t->s, it); store_iter_next(t->s, it), count++) {
        size_t kl, vl;
        const uint8_t *k = store_iter_key(t->s, it, &kl);
        const uint8_t *v = store_iter_value(t->s, it, &vl);
        assert_true(kl <= sizeof(prev));
        if (count)
            assert_true(store_key_cmp(prev, prev_len, k, kl) < 0);
        memcpy(prev, k, kl);
        prev_len = kl;
        size_t idx;
        assert_int_equal(vl, sizeof(idx));
        memcpy(&idx, v, sizeof(idx));
        assert_int_equal(idx, count);
    }
    assert_int_equal(count, n);
    store_iter_free(t->s, it);
}

static void
test_seek_positions_at_first_key_not_less_than_target(void **state)
{
    struct st *t = *state;
    puts_str(t->s, "b", "1");
    put(t->s, "b\x00", 2, "2", 1);
    puts_str(t->s, "bb", "3");
    puts_str(t->s, "d", "4");
    struct store_iter *it = store_iter_new(t->s);
    assert_non_null(it);
    static const struct {
        struct key target;
        const char *want; /* value of the key seek lands on, NULL for past the end */
    } cases[] = {
        {K(""), "1"},          {K("a"), "1"},  {K("b"), "1"},      {K("b\x00"), "2"},
        {K("b\x00\x00"), "3"}, {K("ba"), "3"}, {K("bb"), "3"},     {K("bb\x00"), "4"},
        {K("c"), "4"},         {K("d"), "4"},  {K("d\x00"), NULL}, {K("\xff"), NULL},
    };
    for (size_t i = 0; i < IDL_ARRAY_LEN(cases); i++) {
        store_iter_seek(t->s, it, (const uint8_t *)cases[i].target.b, cases[i].target.n);
        if (!cases[i].want) {
            if (store_iter_valid(t->s, it))
                fail_msg("case %zu: seek should run past the end", i);
            continue;
        }
        if (!store_iter_valid(t->s, it))
            fail_msg("case %zu: seek ran past the end", i);
        size_t vl;
        const uint8_t *v = store_iter_value(t->s, it, &vl);
        if (vl != 1 || v[0] != (uint8_t)cases[i].want[0])
            fail_msg("case %zu: seek landed on the wrong key", i);
    }
    /* Seeking backwards after running off the end works. */
    store_iter_seek(t->s, it, (const uint8_t *)"bc", 2);
    assert_true(store_iter_valid(t->s, it));
    size_t kl;
    const uint8_t *k = store_iter_key(t->s, it, &kl);
    assert_int_equal(kl, 1);
    assert_int_equal(k[0], 'd');
    store_iter_next(t->s, it);
    assert_false(store_iter_valid(t->s, it));
    store_iter_free(t->s, it);
}

static void
test_iterator_does_not_see_later_writes(void **state)
{
    struct st *t = *state;
    puts_str(t->s, "a", "old-a");
    puts_str(t->s, "b", "old-b");
    puts_str(t->s, "c", "old-c");
    struct store_iter *it = store_iter_new(t->s);
    assert_non_null(it);

    struct store_batch b;
    store_batch_init(&b);
    assert_int_equal(store_batch_put(&b, (const uint8_t *)"a", 1, (const uint8_t *)"new-a", 5),
                     IDL_OK);
    assert_int_equal(store_batch_del(&b, (const uint8_t *)"b", 1), IDL_OK);
    assert_int_equal(store_batch_put(&b, (const uint8_t *)"bb", 2, (const uint8_t *)"new-bb", 6),
                     IDL_OK);
    assert_int_equal(store_write(t->s, &b, true), IDL_OK);
    store_batch_free(&b);
    /* Point reads see the write at once. */
    expect_str(t->s, "a", "new-a");
    expect_missing(t->s, "b", 1);

    /* The old iterator, seeked only now, still sees the state it was opened on. */
    static const char *const old[][2] = {{"a", "old-a"}, {"b", "old-b"}, {"c", "old-c"}};
    store_iter_seek(t->s, it, (const uint8_t *)"", 0);
    size_t i = 0;
    for (; store_iter_valid(t->s, it); store_iter_next(t->s, it), i++) {
        assert_true(i < IDL_ARRAY_LEN(old));
        size_t kl, vl;
        const uint8_t *k = store_iter_key(t->s, it, &kl);
        const uint8_t *v = store_iter_value(t->s, it, &vl);
        assert_int_equal(kl, strlen(old[i][0]));
        assert_memory_equal(k, old[i][0], kl);
        assert_int_equal(vl, strlen(old[i][1]));
        assert_memory_equal(v, old[i][1], vl);
    }
    assert_int_equal(i, IDL_ARRAY_LEN(old));
    store_iter_free(t->s, it);

    /* A new iterator sees the new state. */
    static const struct key now[] = {K("a"), K("bb"), K("c")};
    expect_keys(t->s, now, IDL_ARRAY_LEN(now));
}

static void
test_empty_value_is_stored_and_distinct_from_missing(void **state)
{
    struct st *t = *state;
    put(t->s, "empty", 5, "", 0);
    put(t->s, "", 0, "", 0);
    expect_val(t->s, "empty", 5, "", 0);
    expect_val(t->s, "", 0, "", 0);
    struct store_iter *it = store_iter_new(t->s);
    assert_non_null(it);
    store_iter_seek(t->s, it, (const uint8_t *)"e", 1);
    assert_true(store_iter_valid(t->s, it));
    size_t kl, vl = 99;
    const uint8_t *k = store_iter_key(t->s, it, &kl);
    assert_int_equal(kl, 5);
    assert_memory_equal(k, "empty", 5);
    (void)store_iter_value(t->s, it, &vl);
    assert_int_equal(vl, 0);
    store_iter_free(t->s, it);
    /* Overwriting a value with an empty one, and back. */
    puts_str(t->s, "x", "full");
    put(t->s, "x", 1, "", 0);
    expect_val(t->s, "x", 1, "", 0);
    puts_str(t->s, "x", "full");
    expect_str(t->s, "x", "full");
    del(t->s, "empty", 5);
    expect_missing(t->s, "empty", 5);
}

static void
test_empty_store_iterates_nothing(void **state)
{
    struct st *t = *state;
    struct store_iter *it = store_iter_new(t->s);
    assert_non_null(it);
    store_iter_seek(t->s, it, (const uint8_t *)"", 0);
    assert_false(store_iter_valid(t->s, it));
    store_iter_free(t->s, it);
    store_iter_free(t->s, NULL); /* documented as harmless */
}

/* ---- LevelDB only ---- */

static void
reopen(struct st *t)
{
    store_close(t->s);
    t->s = NULL;
    char why[256] = "";
    if (store_leveldb_open(&t->s, t->dir, why, sizeof(why)) != IDL_OK)
        fail_msg("reopen: %s", why);
}

static void
test_leveldb_data_survives_close_and_reopen(void **state)
{
    struct st *t = *state;
    puts_str(t->s, "synced", "yes");
    put(t->s, "bin\x00key", 7, "\x00\x01", 2);
    put(t->s, "empty", 5, "", 0);
    puts_str(t->s, "deleted", "soon");
    del(t->s, "deleted", 7);
    /* An unsynced write survives a clean close too. */
    struct store_batch b;
    store_batch_init(&b);
    assert_int_equal(store_batch_put(&b, (const uint8_t *)"async", 5, (const uint8_t *)"also", 4),
                     IDL_OK);
    assert_int_equal(store_write(t->s, &b, false), IDL_OK);
    store_batch_free(&b);

    reopen(t);
    expect_str(t->s, "synced", "yes");
    expect_val(t->s, "bin\x00key", 7, "\x00\x01", 2);
    expect_val(t->s, "empty", 5, "", 0);
    expect_missing(t->s, "deleted", 7);
    expect_str(t->s, "async", "also");
    static const struct key want[] = {K("async"), K("bin\x00key"), K("empty"), K("synced")};
    expect_keys(t->s, want, IDL_ARRAY_LEN(want));

    /* And writes after the reopen persist across another. */
    puts_str(t->s, "second", "life");
    reopen(t);
    expect_str(t->s, "second", "life");
    expect_str(t->s, "synced", "yes");
}

static void
test_leveldb_second_open_of_held_directory_fails_with_reason(void **state)
{
    struct st *t = *state;
    puts_str(t->s, "k", "v");
    struct store *other = (struct store *)(uintptr_t)1;
    char why[256] = "";
    assert_int_equal(store_leveldb_open(&other, t->dir, why, sizeof(why)), IDL_ERR_IO);
    assert_null(other);
    assert_non_null(strstr(why, "is in use by another process"));
    /* why may also be NULL. */
    assert_int_equal(store_leveldb_open(&other, t->dir, NULL, 0), IDL_ERR_IO);
    assert_null(other);
    /* The first handle is unaffected. */
    expect_str(t->s, "k", "v");
    /* Once it is closed, the directory opens again. */
    reopen(t);
    expect_str(t->s, "k", "v");
}

/* state_get as a string ("" if absent) */
static const char *
state_str(struct state *st, const char *key, char *buf, size_t n)
{
    struct state_key k;
    state_key_init(&k, 'z');
    state_key_str(&k, key);
    struct idl_bytes v;
    idl_err rc = state_get(st, &k, &v);
    assert_true(rc == IDL_OK || rc == IDL_ERR_NOT_FOUND);
    snprintf(buf, n, "%.*s", rc ? 0 : (int)v.len, rc ? "" : (const char *)v.data);
    free(v.data);
    return buf;
}

static void
state_set_str(struct state *st, const char *key, const char *val)
{
    struct state_key k;
    state_key_init(&k, 'z');
    state_key_str(&k, key);
    assert_int_equal(val ? state_put(st, &k, val, strlen(val)) : state_del(st, &k), IDL_OK);
}

static void
store_set_str(struct store *s, const char *key, const char *val)
{
    struct state_key k;
    state_key_init(&k, 'z');
    state_key_str(&k, key);
    put(s, k.b, k.len, val, strlen(val));
}

/* Kept reads (a block's execution) sit below every layer: writes shadow them, rollbacks
 * uncover them, and an absence is remembered as one. Without them, a state sees the store
 * as it is now. */
static void
test_state_kept_reads_stay_below_the_layers(void **state)
{
    struct store *s = ((struct st *)*state)->s;
    char b[32];
    store_set_str(s, "k", "v0");
    struct state *st;
    assert_int_equal(state_new(&st, s), IDL_OK);
    state_keep_reads(st);
    assert_int_equal(state_begin(st), IDL_OK);
    assert_string_equal(state_str(st, "k", b, sizeof(b)), "v0");
    assert_string_equal(state_str(st, "gone", b, sizeof(b)), "");
    state_set_str(st, "gone", "x");
    state_set_str(st, "k", "v1");
    assert_string_equal(state_str(st, "gone", b, sizeof(b)), "x");
    assert_string_equal(state_str(st, "k", b, sizeof(b)), "v1");
    assert_int_equal(state_begin(st), IDL_OK);
    state_set_str(st, "k", NULL);
    assert_string_equal(state_str(st, "k", b, sizeof(b)), "");
    state_rollback(st);
    assert_string_equal(state_str(st, "k", b, sizeof(b)), "v1");
    state_rollback(st);
    assert_string_equal(state_str(st, "gone", b, sizeof(b)), "");
    assert_string_equal(state_str(st, "k", b, sizeof(b)), "v0");
    /* Kept: a later change of the store is not seen by this state... */
    store_set_str(s, "k", "v2");
    store_set_str(s, "gone", "y");
    assert_string_equal(state_str(st, "k", b, sizeof(b)), "v0");
    assert_string_equal(state_str(st, "gone", b, sizeof(b)), "");
    state_free(st);
    /* ...while a state that keeps nothing reads the store each time. */
    assert_int_equal(state_new(&st, s), IDL_OK);
    assert_string_equal(state_str(st, "k", b, sizeof(b)), "v2");
    store_set_str(s, "k", "v3");
    assert_string_equal(state_str(st, "k", b, sizeof(b)), "v3");
    state_free(st);
}

/* ---- iterator errors reach the scans ---- */

/*
 * A store over a memory store whose iterators fail after `fail_after` steps, the way a
 * LevelDB iterator does on a damaged block: invalid, as if at the end, with an error.
 */
struct failing {
    struct store base;
    struct store *inner;
    size_t fail_after;
};

struct store_iter {
    struct store *inner;
    struct store_iter *it;
    size_t left;
    bool failed;
};

static idl_err
fl_get(struct store *s, const uint8_t *k, size_t n, struct idl_bytes *v)
{
    return store_get(((struct failing *)s)->inner, k, n, v);
}

static idl_err
fl_write(struct store *s, const struct store_batch *b, bool sync)
{
    return store_write(((struct failing *)s)->inner, b, sync);
}

static struct store_iter *
fl_iter_new(struct store *s)
{
    struct failing *f = (struct failing *)s;
    struct store_iter *it = calloc(1, sizeof(*it));
    assert_non_null(it);
    it->inner = f->inner;
    it->it = store_iter_new(f->inner);
    it->left = f->fail_after;
    return it;
}

static void
fl_iter_seek(struct store_iter *it, const uint8_t *k, size_t n)
{
    store_iter_seek(it->inner, it->it, k, n);
}

static bool
fl_iter_valid(struct store_iter *it)
{
    return !it->failed && store_iter_valid(it->inner, it->it);
}

static void
fl_iter_next(struct store_iter *it)
{
    store_iter_next(it->inner, it->it);
    if (it->left-- == 0)
        it->failed = true;
}

static const uint8_t *
fl_iter_key(struct store_iter *it, size_t *len)
{
    return store_iter_key(it->inner, it->it, len);
}

static const uint8_t *
fl_iter_value(struct store_iter *it, size_t *len)
{
    return store_iter_value(it->inner, it->it, len);
}

static void
fl_iter_free(struct store_iter *it)
{
    store_iter_free(it->inner, it->it);
    free(it);
}

static idl_err
fl_iter_status(struct store_iter *it)
{
    return it->failed ? IDL_ERR_CORRUPT : IDL_OK;
}

static void
fl_close(struct store *s)
{
    store_close(((struct failing *)s)->inner);
}

static const struct store_ops fl_ops = {
    .get = fl_get,
    .write = fl_write,
    .iter_new = fl_iter_new,
    .iter_seek = fl_iter_seek,
    .iter_valid = fl_iter_valid,
    .iter_next = fl_iter_next,
    .iter_key = fl_iter_key,
    .iter_value = fl_iter_value,
    .iter_free = fl_iter_free,
    .close = fl_close,
    .iter_status = fl_iter_status,
};

static int
count_fn(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    (void)k, (void)kl, (void)v, (void)vl;
    (*(size_t *)arg)++;
    return 0;
}

/* Four status changes of account "t": pending, active, locked, active again. */
static void
status_history_put(struct store *s)
{
    static const uint8_t statuses[] = {STATUS_PENDING, STATUS_ACTIVE, STATUS_LOCKED, STATUS_ACTIVE};
    for (uint32_t i = 0; i < 4; i++) {
        struct state_key k;
        state_key_init(&k, SP_STATUS_LOG);
        state_key_str(&k, "t");
        state_key_u64(&k, i + 1);
        state_key_u32(&k, 0);
        struct rec_status r = {statuses[i], 1000 * (i + 1)};
        struct idl_bytes v;
        assert_int_equal(schema_encode_bytes(&rec_status_schema, &r, &v), IDL_OK);
        struct store_batch b;
        store_batch_init(&b);
        assert_int_equal(store_batch_put(&b, k.b, k.len, v.data, v.len), IDL_OK);
        assert_int_equal(store_write(s, &b, false), IDL_OK);
        store_batch_free(&b);
        free(v.data);
    }
}

static void
test_scans_report_iterator_errors(void **state)
{
    (void)state;
    struct failing f = {{&fl_ops}, NULL, 2};
    assert_int_equal(store_memory_open(&f.inner), IDL_OK);
    status_history_put(f.inner);
    struct state_key prefix;
    state_key_init(&prefix, SP_STATUS_LOG);
    state_key_str(&prefix, "t");
    size_t n = 0;
    /* The inner store answers in full... */
    assert_int_equal(query_scan(f.inner, &prefix, NULL, 0, count_fn, &n), IDL_OK);
    assert_int_equal(n, 4);
    unsigned status;
    assert_int_equal(query_status_at(f.inner, "t", 5000, &status), IDL_OK);
    assert_int_equal(status, STATUS_ACTIVE);
    /* ...the failing one stops after three records, and the scans say so. */
    n = 0;
    assert_int_equal(query_scan(&f.base, &prefix, NULL, 0, count_fn, &n), IDL_ERR_CORRUPT);
    assert_int_equal(n, 3);
    assert_int_equal(query_status_at(&f.base, "t", 5000, &status), IDL_ERR_CORRUPT);
    assert_int_equal(status, STATUS_NONE); /* not "locked", the status before the damage */
    /* A scan that ends before the failure has nothing to report. */
    n = 0;
    assert_int_equal(query_scan(&f.base, &prefix, NULL, 2, count_fn, &n), IDL_OK);
    assert_int_equal(n, 2);
    store_close(&f.base);
}

/* Puts record rec of schema sc at k. */
static void
rec_put(struct store *s, const struct state_key *k, const struct schema *sc, const void *rec)
{
    struct idl_bytes v;
    assert_int_equal(schema_encode_bytes(sc, rec, &v), IDL_OK);
    struct store_batch b;
    store_batch_init(&b);
    assert_int_equal(store_batch_put(&b, k->b, k->len, v.data, v.len), IDL_OK);
    assert_int_equal(store_write(s, &b, false), IDL_OK);
    store_batch_free(&b);
    free(v.data);
}

/* The reports read through the same iterators: a read error is an error, not a shorter
 * report. */
static void
test_reports_report_iterator_errors(void **state)
{
    (void)state;
    struct failing f = {{&fl_ops}, NULL, 3};
    assert_int_equal(store_memory_open(&f.inner), IDL_OK);
    struct rec_org org = {.code = "440000", .name = "省教育厅", .kind = ORG_KIND_PROVINCE};
    struct state_key k;
    state_key_init(&k, SP_ORG);
    state_key_str(&k, "440000");
    rec_put(f.inner, &k, &rec_org_schema, &org);
    for (uint32_t i = 0; i < 6; i++) {
        struct rec_audit e = {.txid = {1, (uint8_t)i},
                              .type = TX_ORG_ADD,
                              .actor = "root-sysadmin",
                              .actor_org = "440000",
                              .actor_post = POST_SYSADMIN,
                              .target = "440100",
                              .height = i + 1,
                              .status = TXS_COMMITTED};
        state_key_init(&k, SP_AUDIT_ORG);
        state_key_str(&k, "440000");
        state_key_u64(&k, i + 1);
        state_key_u32(&k, 0);
        state_key_u32(&k, 0);
        rec_put(f.inner, &k, &rec_audit_schema, &e);
    }
    struct report_audit r;
    assert_int_equal(report_audit(f.inner, "440000", 0, 0, NULL, 100, &r), IDL_OK);
    assert_int_equal(r.n, 6);
    report_audit_free(&r);
    assert_int_equal(report_audit(&f.base, "440000", 0, 0, NULL, 100, &r), IDL_ERR_CORRUPT);
    report_audit_free(&r);
    store_close(&f.base);
}

static void
test_status_history_that_does_not_decode_is_corrupt(void **state)
{
    struct store *s = ((struct st *)*state)->s;
    status_history_put(s);
    struct state_key k;
    state_key_init(&k, SP_STATUS_LOG);
    state_key_str(&k, "t");
    state_key_u64(&k, 3);
    state_key_u32(&k, 0);
    struct store_batch b;
    store_batch_init(&b);
    assert_int_equal(store_batch_put(&b, k.b, k.len, (const uint8_t *)"\x09", 1), IDL_OK);
    assert_int_equal(store_write(s, &b, false), IDL_OK);
    store_batch_free(&b);
    unsigned status = STATUS_ACTIVE;
    assert_int_equal(query_status_at(s, "t", 5000, &status), IDL_ERR_CORRUPT);
    assert_int_equal(status, STATUS_NONE);
    /* A question the history answers before the damaged record is still answered. */
    assert_int_equal(query_status_at(s, "t", 1500, &status), IDL_OK);
    assert_int_equal(status, STATUS_PENDING);
}

/* An audit entry by actor names the organisation its record is filed under; one whose
 * record is missing, or whose organisation does not parse, is damage, not a gap. */
static int
count_entries(void *arg, const uint8_t *key, size_t kl, const uint8_t *val, size_t vl)
{
    (void)key, (void)kl, (void)val, (void)vl;
    ++*(size_t *)arg;
    return 0;
}

static void
put_audit_by_actor(struct store *s, uint64_t height, const char *org, size_t org_len)
{
    struct state_key k;
    state_key_init(&k, SP_AUDIT_ACTOR);
    state_key_str(&k, "k-sys");
    state_key_u64(&k, height);
    state_key_u32(&k, 0);
    state_key_u32(&k, 0);
    put(s, k.b, k.len, org, org_len);
}

static void
test_audit_by_actor_without_its_record_is_corrupt(void **state)
{
    struct store *s = ((struct st *)*state)->s;
    struct rec_audit e = {.type = TX_ACCOUNT_ADD, .height = 4, .status = TXS_COMMITTED};
    snprintf(e.actor, sizeof(e.actor), "k-sys");
    snprintf(e.actor_org, sizeof(e.actor_org), "440106");
    snprintf(e.target, sizeof(e.target), "t1");
    memset(e.txid, 1, sizeof(e.txid));
    struct state *st;
    assert_int_equal(state_new(&st, s), IDL_OK);
    assert_int_equal(state_begin(st), IDL_OK);
    assert_int_equal(state_audit_put(st, "440106", &e), IDL_OK);
    struct store_batch b;
    store_batch_init(&b);
    assert_int_equal(state_take_batch(st, &b), IDL_OK);
    assert_int_equal(store_write(s, &b, true), IDL_OK);
    store_batch_free(&b);
    state_free(st);
    size_t n = 0;
    assert_int_equal(query_audit_by_actor(s, "k-sys", 0, 0, 0, count_entries, &n), IDL_OK);
    assert_int_equal(n, 1);

    put_audit_by_actor(s, 5, "440106", 6); /* no record under 440106 at height 5 */
    n = 0;
    assert_int_equal(query_audit_by_actor(s, "k-sys", 0, 0, 0, count_entries, &n),
                     IDL_ERR_CORRUPT);
    assert_int_equal(n, 1);
    put_audit_by_actor(s, 5, "", 0); /* no organisation at all */
    assert_int_equal(query_audit_by_actor(s, "k-sys", 5, 0, 0, count_entries, &n),
                     IDL_ERR_CORRUPT);
    put_audit_by_actor(s, 5, "44\0" "106", 6); /* a NUL inside */
    assert_int_equal(query_audit_by_actor(s, "k-sys", 5, 0, 0, count_entries, &n),
                     IDL_ERR_CORRUPT);
}

/* Flips bytes in the middle of every table file of dir. */
static size_t
tables_damage(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t damaged = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 4, ".ldb") != 0)
            continue;
        char path[PATH_MAX + 256];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *fp = fopen(path, "r+b");
        assert_non_null(fp);
        fseek(fp, 0, SEEK_END);
        long size = ftell(fp);
        for (long at = 64; at < size / 2; at += 512) {
            fseek(fp, at, SEEK_SET);
            int c = fgetc(fp);
            fseek(fp, at, SEEK_SET);
            fputc(c ^ 0x5a, fp);
        }
        fclose(fp);
        damaged++;
    }
    closedir(d);
    return damaged;
}

/* A real LevelDB table damaged on disk: the scan fails with IDL_ERR_CORRUPT. */
static void
test_leveldb_damaged_table_fails_the_scan(void **state)
{
    struct st *t = *state;
    struct store_batch b;
    store_batch_init(&b);
    for (uint32_t i = 0; i < 2000; i++) {
        struct state_key k;
        state_key_init(&k, SP_AUDIT_ACTOR);
        state_key_str(&k, "actor");
        state_key_u64(&k, i);
        uint8_t v[100];
        memset(v, (int)(i & 0xff), sizeof(v));
        assert_int_equal(store_batch_put(&b, k.b, k.len, v, sizeof(v)), IDL_OK);
    }
    assert_int_equal(store_write(t->s, &b, true), IDL_OK);
    store_batch_free(&b);
    /* Reopening moves the log into a table file. */
    char why[256] = "";
    store_close(t->s);
    assert_int_equal(store_leveldb_open(&t->s, t->dir, why, sizeof(why)), IDL_OK);
    store_close(t->s);
    t->s = NULL;
    assert_true(tables_damage(t->dir) > 0);
    assert_int_equal(store_leveldb_open(&t->s, t->dir, why, sizeof(why)), IDL_OK);
    struct state_key prefix;
    state_key_init(&prefix, SP_AUDIT_ACTOR);
    state_key_str(&prefix, "actor");
    size_t n = 0;
    assert_int_equal(query_scan(t->s, &prefix, NULL, 0, count_fn, &n), IDL_ERR_CORRUPT);
    assert_true(n < 2000);
}

/* ---- LevelDB: large values in the blob file ---- */

enum { BIG = 100000 }; /* well above the size that goes to values.blob */

static uint8_t *
big_value(uint8_t seed)
{
    uint8_t *v = malloc(BIG);
    assert_non_null(v);
    for (size_t i = 0; i < BIG; i++)
        v[i] = (uint8_t)(seed + i * 7);
    return v;
}

static long
file_size(const char *dir, const char *name)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* DIR/values.blob, opened for update. */
static FILE *
blob_file(const struct st *t)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/values.blob", t->dir);
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    return fp;
}

/* Large and small values side by side: through get, an iterator, a snapshot, a reopen, and
 * unsynced writes; only the large ones are in the blob file. */
static void
test_leveldb_large_values_live_in_the_blob_file(void **state)
{
    struct st *t = *state;
    uint8_t *one = big_value(1), *two = big_value(2);
    put(t->s, "b1", 2, one, BIG);
    puts_str(t->s, "small", "inline");
    assert_int_equal(file_size(t->dir, "values.blob"), BIG);
    struct store_iter *snap = store_iter_new(t->s);
    assert_non_null(snap);
    struct store_batch b;
    store_batch_init(&b);
    assert_int_equal(store_batch_put(&b, (const uint8_t *)"b2", 2, two, BIG), IDL_OK);
    assert_int_equal(store_batch_put(&b, (const uint8_t *)"b3", 2, one, 4095), IDL_OK);
    assert_int_equal(store_write(t->s, &b, false), IDL_OK);
    store_batch_free(&b);
    assert_int_equal(file_size(t->dir, "values.blob"), 2 * BIG); /* 4095 bytes stay inline */

    /* The snapshot taken before b2 does not see it, and reads b1 through the pointer. */
    store_iter_seek(t->s, snap, (const uint8_t *)"", 0);
    size_t kl, vl, n = 0;
    for (; store_iter_valid(t->s, snap); store_iter_next(t->s, snap), n++) {
        const uint8_t *k = store_iter_key(t->s, snap, &kl);
        const uint8_t *v = store_iter_value(t->s, snap, &vl);
        if (kl == 2 && !memcmp(k, "b1", 2)) {
            size_t again_len;
            const uint8_t *again = store_iter_value(t->s, snap, &again_len);
            assert_int_equal(vl, BIG);
            assert_memory_equal(v, one, BIG); /* still valid: the iterator has not moved */
            assert_int_equal(again_len, BIG);
            assert_memory_equal(again, one, BIG);
        } else {
            assert_true(kl == 5 && !memcmp(k, "small", 5));
            assert_true(vl == 6 && !memcmp(v, "inline", 6));
        }
    }
    assert_int_equal(n, 2);
    assert_int_equal(store_iter_status(t->s, snap), IDL_OK);
    store_iter_free(t->s, snap);

    reopen(t);
    expect_val(t->s, "b1", 2, one, BIG);
    expect_val(t->s, "b2", 2, two, BIG);
    expect_val(t->s, "b3", 2, one, 4095);
    expect_str(t->s, "small", "inline");
    /* The store's own keys (format, the blob file's end) are not the caller's. */
    static const struct key want[] = {K("b1"), K("b2"), K("b3"), K("small")};
    expect_keys(t->s, want, IDL_ARRAY_LEN(want));
    free(one);
    free(two);
}

/* A crash between the append and the batch leaves bytes nothing points at: they stay, and
 * the next value goes after them. */
static void
test_leveldb_blob_tail_without_a_batch_is_kept_aside(void **state)
{
    struct st *t = *state;
    uint8_t *one = big_value(3);
    put(t->s, "b1", 2, one, BIG);
    store_close(t->s);
    t->s = NULL;
    FILE *fp = blob_file(t);
    fseek(fp, 0, SEEK_END);
    for (int i = 0; i < 5000; i++)
        fputc(0xa5, fp);
    fclose(fp);
    assert_int_equal(file_size(t->dir, "values.blob"), BIG + 5000);
    reopen(t);
    assert_int_equal(file_size(t->dir, "values.blob"), BIG + 5000);
    expect_val(t->s, "b1", 2, one, BIG);
    put(t->s, "b2", 2, one, BIG);
    assert_int_equal(file_size(t->dir, "values.blob"), 2 * BIG + 5000);
    reopen(t);
    expect_val(t->s, "b1", 2, one, BIG);
    expect_val(t->s, "b2", 2, one, BIG);
    free(one);
}

/* Damage is found: a changed byte fails the value's hash, for get and for a scan; a blob
 * file shorter than the database says refuses to open. */
static void
test_leveldb_damaged_blob_is_corrupt(void **state)
{
    struct st *t = *state;
    uint8_t *one = big_value(4);
    put(t->s, "b1", 2, one, BIG);
    put(t->s, "b2", 2, one, BIG);
    FILE *fp = blob_file(t);
    fseek(fp, BIG + 1234, SEEK_SET);
    fputc(one[1234] ^ 1, fp);
    fclose(fp);
    expect_val(t->s, "b1", 2, one, BIG);
    struct idl_bytes got;
    assert_int_equal(store_get(t->s, (const uint8_t *)"b2", 2, &got), IDL_ERR_CORRUPT);
    struct store_iter *it = store_iter_new(t->s);
    assert_non_null(it);
    store_iter_seek(t->s, it, (const uint8_t *)"b2", 2);
    assert_true(store_iter_valid(t->s, it));
    size_t vl;
    (void)store_iter_value(t->s, it, &vl);
    assert_int_equal(vl, 0);
    assert_false(store_iter_valid(t->s, it));
    assert_int_equal(store_iter_status(t->s, it), IDL_ERR_CORRUPT);
    store_iter_free(t->s, it);

    store_close(t->s);
    t->s = NULL;
    char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/values.blob", t->dir);
    assert_int_equal(truncate(path, BIG + 10), 0);
    char why[256] = "";
    assert_int_equal(store_leveldb_open(&t->s, t->dir, why, sizeof(why)), IDL_ERR_CORRUPT);
    assert_null(t->s);
    assert_non_null(strstr(why, "values.blob is shorter"));
    free(one);
}

/* The store's own keys cannot be written or read through the interface: a reopen would
 * otherwise trust a caller's value as the blob file's end. */
static void
test_leveldb_own_keys_are_refused(void **state)
{
    struct st *t = *state;
    uint8_t *one = big_value(5);
    put(t->s, "b1", 2, one, BIG);
    static const char end[] = "\xff\xff\xffstore/blob-end", fmt[] = "\xff\xff\xffstore/format";
    struct store_batch b;
    store_batch_init(&b);
    assert_int_equal(store_batch_put(&b, (const uint8_t *)end, sizeof(end) - 1,
                                     (const uint8_t *)"\0\0\0\0\0\0\0\0\0", 9),
                     IDL_OK);
    assert_int_equal(store_write(t->s, &b, true), IDL_ERR_INVALID);
    store_batch_free(&b);
    store_batch_init(&b);
    assert_int_equal(store_batch_del(&b, (const uint8_t *)fmt, sizeof(fmt) - 1), IDL_OK);
    assert_int_equal(store_write(t->s, &b, true), IDL_ERR_INVALID);
    store_batch_free(&b);
    expect_missing(t->s, end, sizeof(end) - 1);
    expect_missing(t->s, fmt, sizeof(fmt) - 1);
    /* A key that only starts like them is the caller's. */
    put(t->s, "\xff\xff\xffstore/other", 14, "x", 1);
    expect_val(t->s, "\xff\xff\xffstore/other", 14, "x", 1);
    reopen(t);
    expect_val(t->s, "b1", 2, one, BIG);
    free(one);
}

/* A database from before tagged values is refused with a reason, not misread. */
static void
test_leveldb_store_of_an_older_format_is_refused(void **state)
{
    struct st *t = *state;
    store_close(t->s);
    t->s = NULL;
    rm_rf(t->dir);
    leveldb_options_t *o = leveldb_options_create();
    leveldb_options_set_create_if_missing(o, 1);
    char *err = NULL;
    leveldb_t *db = leveldb_open(o, t->dir, &err);
    assert_null(err);
    leveldb_writeoptions_t *w = leveldb_writeoptions_create();
    leveldb_put(db, w, "a\0acct", 6, "untagged", 8, &err);
    assert_null(err);
    leveldb_writeoptions_destroy(w);
    leveldb_close(db);
    leveldb_options_destroy(o);
    char why[256] = "";
    assert_int_equal(store_leveldb_open(&t->s, t->dir, why, sizeof(why)), IDL_ERR_VERSION);
    assert_null(t->s);
    assert_non_null(strstr(why, "older idledger"));
}

/* An id or code longer than any can be is no record, not a key past STATE_KEY_MAX. */
static void
test_state_getters_take_ids_of_any_length(void **state)
{
    struct store *s = ((struct st *)*state)->s;
    struct state *st;
    assert_int_equal(state_new(&st, s), IDL_OK);
    char longer[1000];
    memset(longer, 'a', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    struct rec_account a;
    struct rec_org o;
    assert_int_equal(state_account_get(st, longer, &a), IDL_ERR_NOT_FOUND);
    assert_int_equal(state_org_get(st, longer, &o), IDL_ERR_NOT_FOUND);
    longer[LEDGER_ID_MAX] = '\0'; /* as long as an id may be: looked up */
    assert_int_equal(state_account_get(st, longer, &a), IDL_ERR_NOT_FOUND);
    state_free(st);
}

/*
 * LevelDB's statistics: tables and bytes by level once a memtable is written out, what
 * that wrote, and the memory of its memtables and cache. The memory store keeps none.
 */
static void
test_stats_report_levels_and_memory(void **state)
{
    struct st *t = *state;
    struct store_stats st;
    if (t->kind == KIND_MEMORY) {
        assert_int_equal(store_stats(t->s, &st), IDL_ERR_INVALID);
        return;
    }
    assert_int_equal(store_stats(t->s, &st), IDL_OK);
    assert_true(st.memory_bytes > 0);
    uint64_t tables = 0;
    for (int lv = 0; lv < STORE_LEVELS; lv++)
        tables += st.level[lv].files;
    assert_int_equal(tables, 0);
    /* 24 MiB of values under the 4 KiB of the blob file: more than one 16 MiB memtable. */
    enum { VAL = 4000, COUNT = 6300 };
    uint8_t *val = malloc(VAL);
    assert_non_null(val);
    for (int i = 0; i < COUNT; i++) {
        char key[16];
        int kl = snprintf(key, sizeof(key), "k%06d", i);
        memset(val, i & 0xff, VAL);
        struct store_batch b;
        store_batch_init(&b);
        assert_int_equal(store_batch_put(&b, (const uint8_t *)key, (size_t)kl, val, VAL), IDL_OK);
        assert_int_equal(store_write(t->s, &b, false), IDL_OK);
        store_batch_free(&b);
    }
    free(val);
    /* The memtable is written out in the background; LevelDB counts the bytes written a
     * moment before it lists the new table. */
    uint64_t bytes = 0, written = 0;
    for (int tries = 0; tries < 200 && !(written && tables); tries++) {
        assert_int_equal(store_stats(t->s, &st), IDL_OK);
        tables = bytes = written = 0;
        for (int lv = 0; lv < STORE_LEVELS; lv++) {
            tables += st.level[lv].files;
            bytes += st.level[lv].bytes;
            written += st.level[lv].write_bytes;
        }
        if (!(written && tables))
            usleep(50 * 1000);
    }
    assert_true(tables >= 1);
    assert_true(bytes >= 8u << 20);
    assert_true(written >= 8u << 20);
}

#define BOTH(f)                                                                                \
    {"leveldb/" #f, f, setup_leveldb, teardown, NULL},                                         \
        {"memory/" #f, f, setup_memory, teardown, NULL}
#define LDB(f) {"leveldb/" #f, f, setup_leveldb, teardown, NULL}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_cmp_matches_hand_listed_order),
        BOTH(test_get_missing_key_is_not_found),
        BOTH(test_put_then_get_returns_value),
        BOTH(test_put_overwrites_previous_value),
        BOTH(test_delete_removes_key_and_missing_delete_is_harmless),
        BOTH(test_batch_applies_puts_and_deletes_together),
        BOTH(test_binary_keys_with_nul_bytes_are_distinct),
        BOTH(test_iteration_is_bytewise_shorter_key_first),
        BOTH(test_seek_positions_at_first_key_not_less_than_target),
        BOTH(test_iterator_does_not_see_later_writes),
        BOTH(test_empty_value_is_stored_and_distinct_from_missing),
        BOTH(test_empty_store_iterates_nothing),
        BOTH(test_state_kept_reads_stay_below_the_layers),
        LDB(test_leveldb_data_survives_close_and_reopen),
        LDB(test_leveldb_second_open_of_held_directory_fails_with_reason),
        cmocka_unit_test(test_scans_report_iterator_errors),
        cmocka_unit_test(test_reports_report_iterator_errors),
        BOTH(test_status_history_that_does_not_decode_is_corrupt),
        BOTH(test_audit_by_actor_without_its_record_is_corrupt),
        LDB(test_leveldb_damaged_table_fails_the_scan),
        LDB(test_leveldb_large_values_live_in_the_blob_file),
        LDB(test_leveldb_blob_tail_without_a_batch_is_kept_aside),
        LDB(test_leveldb_own_keys_are_refused),
        LDB(test_leveldb_damaged_blob_is_corrupt),
        LDB(test_leveldb_store_of_an_older_format_is_refused),
        BOTH(test_stats_report_levels_and_memory),
        BOTH(test_state_getters_take_ids_of_any_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

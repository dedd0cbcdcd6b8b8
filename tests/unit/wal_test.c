/*
 * Unit tests of consensus/wal.h, the consensus write-ahead log, on real files: records come
 * back from replay in order and byte for byte (an empty one too), across a close and a
 * reopen; the header is the length and the first 8 bytes of the payload's SHA-256 (golden
 * vector); each append closes its batch with a batch-end record (not replayed); in a batch
 * a crash left unfinished, a record torn in its header or payload, with a bad checksum or a
 * length out of bounds, ends the replay and is cut off the file, even with intact records
 * of that batch after it; damage of any kind before a closed batch (a payload byte, a
 * length, two records, a batch end) is refused (IDL_ERR_CORRUPT) and nothing is cut; an
 * append after a cut lands on the record boundary and replays; wal_reset empties the log
 * durably and appends go on after it; a record over WAL_RECORD_MAX is refused and leaves
 * the log unchanged; a log cannot be opened in a missing directory. Every test works in its
 * own mkdtemp directory under /tmp.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consensus/wal.h"
#include "ledger/codec.h"

#define RECS_MAX 16

struct wt {
    char dir[PATH_MAX];
    char path[PATH_MAX + 16];
    struct wal *w;
    /* What the last replay delivered. */
    struct idl_bytes got[RECS_MAX];
    size_t n_got;
};

static int
setup(void **state)
{
    struct wt *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    snprintf(t->dir, sizeof(t->dir), "/tmp/idl-wal-test-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof(t->path), "%s/consensus.wal", t->dir);
    assert_int_equal(wal_open(&t->w, t->path), IDL_OK);
    *state = t;
    return 0;
}

static void
got_clear(struct wt *t)
{
    for (size_t i = 0; i < t->n_got; i++)
        free(t->got[i].data);
    t->n_got = 0;
}

static int
teardown(void **state)
{
    struct wt *t = *state;
    got_clear(t);
    wal_close(t->w);
    unlink(t->path);
    rmdir(t->dir);
    free(t);
    return 0;
}

static void
collect(void *arg, const uint8_t *rec, size_t len)
{
    struct wt *t = arg;
    assert_true(t->n_got < RECS_MAX);
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, rec, len);
    t->got[t->n_got++] = (struct idl_bytes){copy, len};
}

/* Replays the log; returns the count it reported, which must match what fn saw. */
static size_t
replay(struct wt *t)
{
    got_clear(t);
    struct wal_replayed r;
    assert_int_equal(wal_replay(t->w, collect, t, &r), IDL_OK);
    assert_int_equal(r.records, t->n_got);
    return r.records;
}

/* The batch-end record each append writes after its records. */
#define END (12 + 12)

/* Appends raw bytes to the file behind the log's back (a batch a crash left unfinished). */
static void
file_append(const struct wt *t, const void *b, size_t n)
{
    FILE *f = fopen(t->path, "ab");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

/* A framed record with no batch end after it, as a crash before the sync leaves one. */
static void
file_append_record(const struct wt *t, const char *s)
{
    uint8_t h[12];
    wal_frame_header(h, (const uint8_t *)s, strlen(s));
    file_append(t, h, sizeof(h));
    file_append(t, s, strlen(s));
}

static void
append_str(struct wt *t, const char *s)
{
    assert_int_equal(wal_append(t->w, (const uint8_t *)s, strlen(s)), IDL_OK);
}

static void
expect_rec(const struct wt *t, size_t i, const char *s)
{
    assert_true(i < t->n_got);
    assert_int_equal(t->got[i].len, strlen(s));
    assert_memory_equal(t->got[i].data, s, strlen(s));
}

static off_t
file_size(const struct wt *t)
{
    struct stat st;
    assert_int_equal(stat(t->path, &st), 0);
    return st.st_size;
}

static void
file_truncate(const struct wt *t, off_t len)
{
    assert_int_equal(truncate(t->path, len), 0);
}

/* Flips one byte of the file at off (behind the log's back, as a bad disk would). */
static void
file_flip(const struct wt *t, off_t off)
{
    int fd = open(t->path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, off), 1);
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

static void
test_records_replay_in_order_byte_for_byte_and_after_reopen(void **state)
{
    struct wt *t = *state;
    assert_int_equal(replay(t), 0);
    assert_int_equal(wal_size(t->w), 0);
    append_str(t, "first");
    assert_int_equal(wal_append(t->w, NULL, 0), IDL_OK); /* an empty record is a record */
    struct idl_bytes two[2] = {{(uint8_t *)"third", 5}, {(uint8_t *)"fourth!", 7}};
    assert_int_equal(wal_append_many(t->w, two, 2), IDL_OK);
    assert_int_equal(wal_size(t->w), 4 * 12 + 5 + 0 + 5 + 7 + 3 * END);
    assert_int_equal(replay(t), 4);
    expect_rec(t, 0, "first");
    expect_rec(t, 1, "");
    expect_rec(t, 2, "third");
    expect_rec(t, 3, "fourth!");
    /* An intact log is left as it is, and survives a close and reopen. */
    assert_int_equal(file_size(t), 4 * 12 + 17 + 3 * END);
    wal_close(t->w);
    assert_int_equal(wal_open(&t->w, t->path), IDL_OK);
    assert_int_equal(replay(t), 4);
    expect_rec(t, 3, "fourth!");
}

static void
test_header_is_length_and_sha256_prefix(void **state)
{
    (void)state;
    uint8_t h[12];
    wal_frame_header(h, (const uint8_t *)"abc", 3);
    /* SHA-256("abc") = ba7816bf 8f01cfea 414140de ... */
    static const uint8_t want[12] = {0, 0, 0, 3, 0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea};
    assert_memory_equal(h, want, sizeof(want));
}

/* A record torn in its payload: replay ends before it and cuts it off; appends go on. */
static void
test_torn_payload_is_cut_and_append_continues_on_the_boundary(void **state)
{
    struct wt *t = *state;
    append_str(t, "one");
    append_str(t, "two");
    off_t two_end = 2 * 12 + 3 + 3 + 2 * END;
    file_append_record(t, "three-three");
    file_truncate(t, two_end + 12 + 4); /* the header and 4 of 11 payload bytes */
    assert_int_equal(replay(t), 2);
    expect_rec(t, 1, "two");
    assert_int_equal(file_size(t), two_end);
    append_str(t, "four");
    assert_int_equal(replay(t), 3);
    expect_rec(t, 0, "one");
    expect_rec(t, 1, "two");
    expect_rec(t, 2, "four");
}

/* A record torn in its header (fewer than 12 bytes of it). */
static void
test_torn_header_is_cut(void **state)
{
    struct wt *t = *state;
    append_str(t, "one");
    file_append_record(t, "two");
    file_truncate(t, 12 + 3 + END + 7);
    assert_int_equal(replay(t), 1);
    expect_rec(t, 0, "one");
    assert_int_equal(file_size(t), 12 + 3 + END);
    append_str(t, "again");
    assert_int_equal(replay(t), 2);
    expect_rec(t, 1, "again");
}

/*
 * A batch the crash left unfinished (no batch end after it): a bad record in it is a torn
 * write, even with intact records of the same batch after it (pages can reach the disk out
 * of order before the sync): cut, and said so.
 */
static void
test_a_bad_record_of_the_unfinished_batch_is_cut(void **state)
{
    struct wt *t = *state;
    append_str(t, "one");
    off_t one_end = 12 + 3 + END;
    file_append_record(t, "two");
    file_append_record(t, "three");
    file_flip(t, one_end + 12 + 1); /* a payload byte of "two" */
    got_clear(t);
    struct wal_replayed r;
    assert_int_equal(wal_replay(t->w, collect, t, &r), IDL_OK);
    assert_int_equal(r.records, 1);
    assert_int_equal(r.cut_at, one_end);
    assert_int_equal(r.cut_bytes, 2 * 12 + 3 + 5);
    expect_rec(t, 0, "one");
    assert_int_equal(file_size(t), one_end);

    /* A checksum byte, and a length out of bounds or past the end, likewise. */
    file_append_record(t, "two'");
    file_flip(t, one_end + 6);
    assert_int_equal(replay(t), 1);
    assert_int_equal(file_size(t), one_end);
    file_append_record(t, "two");
    file_flip(t, one_end); /* the high byte of the length: 0x40000003 > WAL_RECORD_MAX */
    assert_int_equal(replay(t), 1);
    assert_int_equal(file_size(t), one_end);
    file_append_record(t, "two");
    file_flip(t, one_end + 2); /* 0x00004003: longer than what is left of the file */
    assert_int_equal(replay(t), 1);
    assert_int_equal(file_size(t), one_end);
    /* And a batch end of its own that did not make it: its records are kept, it is cut. */
    append_str(t, "two");
    file_flip(t, file_size(t) - 1);
    got_clear(t);
    assert_int_equal(wal_replay(t->w, collect, t, &r), IDL_OK);
    assert_int_equal(r.records, 2);
    assert_int_equal(r.cut_bytes, END);
}

/*
 * Damage before a batch that was closed is not a tear: the later batches were synced
 * (their votes may have gone out), so the log is refused and left as it is. Cutting it let
 * a validator vote again differently in a round it had voted in. Whatever was damaged: a
 * payload byte, a length, two records in a row.
 */
static void
test_damage_before_a_closed_batch_is_refused_not_cut(void **state)
{
    struct wt *t = *state;
    append_str(t, "one");
    append_str(t, "two");
    append_str(t, "three");
    off_t size = file_size(t), one_end = 12 + 3 + END;
    const off_t flips[][2] = {
        {12 + 1, -1},               /* a payload byte of "one" */
        {0, -1},                    /* the high byte of "one"'s length */
        {3, -1},                    /* its low byte: 3 becomes 0x43 */
        {12 + 1, one_end + 12 + 1}, /* "one" and "two" both */
        {12 + 3 + 12 + 2, -1},      /* a byte of the first batch end */
    };
    for (size_t i = 0; i < IDL_ARRAY_LEN(flips); i++) {
        for (int k = 0; k < 2; k++)
            if (flips[i][k] >= 0)
                file_flip(t, flips[i][k]);
        got_clear(t);
        struct wal_replayed r;
        assert_int_equal(wal_replay(t->w, collect, t, &r), IDL_ERR_CORRUPT);
        assert_int_equal(r.cut_bytes, 0);
        assert_int_equal(file_size(t), size);
        for (int k = 0; k < 2; k++) /* mended for the next case */
            if (flips[i][k] >= 0)
                file_flip(t, flips[i][k]);
    }
    assert_int_equal(replay(t), 3);
}

static void
test_reset_empties_the_log_and_appends_go_on(void **state)
{
    struct wt *t = *state;
    append_str(t, "one");
    append_str(t, "two");
    assert_int_equal(wal_reset(t->w), IDL_OK);
    assert_int_equal(wal_size(t->w), 0);
    assert_int_equal(file_size(t), 0);
    assert_int_equal(replay(t), 0);
    append_str(t, "after");
    assert_int_equal(replay(t), 1);
    expect_rec(t, 0, "after");
    assert_int_equal(file_size(t), 12 + 5 + END);
    wal_close(t->w);
    assert_int_equal(wal_open(&t->w, t->path), IDL_OK);
    assert_int_equal(replay(t), 1);
    expect_rec(t, 0, "after");
}

static void
test_too_large_record_is_refused_and_changes_nothing(void **state)
{
    struct wt *t = *state;
    append_str(t, "one");
    size_t big = (size_t)WAL_RECORD_MAX + 1;
    uint8_t *b = calloc(1, big);
    assert_non_null(b);
    assert_int_equal(wal_append(t->w, b, big), IDL_ERR_TOO_LARGE);
    free(b);
    assert_int_equal(file_size(t), 12 + 3 + END);
    assert_int_equal(replay(t), 1);
}

static void
test_open_in_missing_directory_fails(void **state)
{
    struct wt *t = *state;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/no/such/dir/consensus.wal", t->dir);
    struct wal *w = (struct wal *)t; /* must be reset to NULL */
    assert_int_equal(wal_open(&w, path), IDL_ERR_IO);
    assert_null(w);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_records_replay_in_order_byte_for_byte_and_after_reopen,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_is_length_and_sha256_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_torn_payload_is_cut_and_append_continues_on_the_boundary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_header_is_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_bad_record_of_the_unfinished_batch_is_cut, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_damage_before_a_closed_batch_is_refused_not_cut, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reset_empties_the_log_and_appends_go_on, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_too_large_record_is_refused_and_changes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_open_in_missing_directory_fails, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

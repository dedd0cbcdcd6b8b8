/*
 * Unit tests of ledger/file.h: file_write_atomic creates the file with exactly the
 * requested mode whatever the umask, replaces content (longer by shorter and back), leaves
 * no temporary file behind, and fails cleanly in a missing directory; file_read_all reads
 * exact bytes back (NUL-terminated), accepts a file of exactly max bytes and refuses one
 * byte more (IDL_ERR_TOO_LARGE), reports IDL_ERR_NOT_FOUND for a missing file and an error
 * for a directory; file_mkdirs creates nested directories, accepts existing ones, and
 * refuses a path whose component or target is a regular file. Every test works in its own
 * mkdtemp directory under /tmp, removed afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"

struct ft {
    char dir[PATH_MAX];
    mode_t old_umask;
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
setup(void **state)
{
    struct ft *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    snprintf(t->dir, sizeof(t->dir), "/tmp/idl-file-test-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    t->old_umask = umask(022);
    *state = t;
    return 0;
}

static int
teardown(void **state)
{
    struct ft *t = *state;
    umask(t->old_umask);
    nftw(t->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(t);
    return 0;
}

static void
path_in(const struct ft *t, const char *name, char out[PATH_MAX])
{
    assert_true(snprintf(out, PATH_MAX, "%s/%s", t->dir, name) < PATH_MAX);
}

static mode_t
mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

/* Asserts that path holds exactly data (len bytes), reading it with stdio. */
static void
expect_content(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_int_equal(n, len);
    if (len)
        assert_memory_equal(buf, data, len);
}

/* The names in dir other than . and .., as a count; the first one goes to first. */
static size_t
dir_entries(const char *dir, char *first, size_t first_len)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (n++ == 0 && first)
            snprintf(first, first_len, "%s", e->d_name);
    }
    closedir(d);
    return n;
}

static void
write_raw(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* ---- file_write_atomic ---- */

static void
test_write_atomic_creates_file_with_mode_0600_under_umask_022(void **state)
{
    struct ft *t = *state;
    char p[PATH_MAX];
    path_in(t, "secret.key", p);
    assert_int_equal(file_write_atomic(p, "top secret", 10, 0600), IDL_OK);
    assert_int_equal(mode_of(p), 0600);
    expect_content(p, "top secret", 10);
}

static void
test_write_atomic_mode_is_not_narrowed_by_umask(void **state)
{
    struct ft *t = *state;
    char p[PATH_MAX];
    path_in(t, "shared.json", p);
    umask(077); /* would turn 0644 into 0600 if the mode were only passed to open */
    assert_int_equal(file_write_atomic(p, "{}", 2, 0644), IDL_OK);
    assert_int_equal(mode_of(p), 0644);
    umask(022);
}

static void
test_write_atomic_replacement_takes_new_mode(void **state)
{
    struct ft *t = *state;
    char p[PATH_MAX];
    path_in(t, "was-public", p);
    write_raw(p, "old", 3);
    assert_int_equal(chmod(p, 0644), 0);
    assert_int_equal(file_write_atomic(p, "new", 3, 0600), IDL_OK);
    assert_int_equal(mode_of(p), 0600);
    expect_content(p, "new", 3);
}

static void
test_write_atomic_replaces_content_entirely(void **state)
{
    struct ft *t = *state;
    char p[PATH_MAX];
    path_in(t, "data", p);
    static const char longer[] = "a considerably longer first version of the file";
    assert_int_equal(file_write_atomic(p, longer, sizeof(longer) - 1, 0600), IDL_OK);
    expect_content(p, longer, sizeof(longer) - 1);
    /* Shorter content leaves no tail of the old. */
    assert_int_equal(file_write_atomic(p, "short", 5, 0600), IDL_OK);
    expect_content(p, "short", 5);
    /* Binary content with NUL bytes, then empty content. */
    static const uint8_t bin[] = {0, 1, 2, 0, 0xff};
    assert_int_equal(file_write_atomic(p, bin, sizeof(bin), 0600), IDL_OK);
    expect_content(p, bin, sizeof(bin));
    assert_int_equal(file_write_atomic(p, "", 0, 0600), IDL_OK);
    expect_content(p, "", 0);
}

static void
test_write_atomic_leaves_no_temporary_file(void **state)
{
    struct ft *t = *state;
    char p[PATH_MAX], first[256] = "";
    path_in(t, "only", p);
    for (int i = 0; i < 3; i++) {
        char text[32];
        int n = snprintf(text, sizeof(text), "version %d", i);
        assert_int_equal(file_write_atomic(p, text, (size_t)n, 0600), IDL_OK);
        assert_int_equal(dir_entries(t->dir, first, sizeof(first)), 1);
        assert_string_equal(first, "only");
    }
}

static void
test_write_atomic_in_missing_directory_fails_and_leaves_nothing(void **state)
{
    struct ft *t = *state;
    char p[PATH_MAX];
    path_in(t, "no/such/dir/file", p);
    assert_int_equal(file_write_atomic(p, "x", 1, 0600), IDL_ERR_IO);
    assert_int_equal(dir_entries(t->dir, NULL, 0), 0);
}

/* ---- file_read_all ---- */

static void
test_read_all_reads_back_exact_bytes_nul_terminated(void **state)
{
    struct ft *t = *state;
    char p[PATH_MAX];
    path_in(t, "blob", p);
    uint8_t data[3000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 31 + 7);
    data[10] = 0;
    assert_int_equal(file_write_atomic(p, data, sizeof(data), 0600), IDL_OK);
    struct idl_bytes got;
    assert_int_equal(file_read_all(p, sizeof(data), &got), IDL_OK);
    assert_int_equal(got.len, sizeof(data));
    assert_memory_equal(got.data, data, sizeof(data));
    assert_int_equal(got.data[got.len], 0);
    free(got.data);
}

static void
test_read_all_empty_file_gives_empty_string(void **state)
{
    struct ft *t = *state;
    char p[PATH_MAX];
    path_in(t, "empty", p);
    write_raw(p, "", 0);
    struct idl_bytes got;
    assert_int_equal(file_read_all(p, 0, &got), IDL_OK);
    assert_int_equal(got.len, 0);
    assert_non_null(got.data);
    assert_int_equal(got.data[0], 0);
    free(got.data);
}

static void
test_read_all_refuses_file_bigger_than_max(void **state)
{
    struct ft *t = *state;
    char p[PATH_MAX];
    path_in(t, "hundred", p);
    char data[100];
    memset(data, 'x', sizeof(data));
    write_raw(p, data, sizeof(data));
    struct idl_bytes got;
    assert_int_equal(file_read_all(p, 100, &got), IDL_OK);
    assert_int_equal(got.len, 100);
    free(got.data);
    got.data = (uint8_t *)"junk";
    assert_int_equal(file_read_all(p, 99, &got), IDL_ERR_TOO_LARGE);
    assert_null(got.data);
    assert_int_equal(file_read_all(p, 0, &got), IDL_ERR_TOO_LARGE);
    assert_null(got.data);
}

static void
test_read_all_missing_file_is_not_found(void **state)
{
    struct ft *t = *state;
    char p[PATH_MAX];
    path_in(t, "missing", p);
    struct idl_bytes got;
    assert_int_equal(file_read_all(p, 1024, &got), IDL_ERR_NOT_FOUND);
    assert_null(got.data);
    assert_int_equal(got.len, 0);
}

static void
test_read_all_of_directory_is_an_error(void **state)
{
    struct ft *t = *state;
    struct idl_bytes got;
    assert_int_equal(file_read_all(t->dir, 1 << 20, &got), IDL_ERR_NOT_FILE);
    assert_null(got.data);
}

struct pipe_writer {
    const char *path, *text;
};

static void *
pipe_write(void *arg)
{
    const struct pipe_writer *w = arg;
    FILE *f = fopen(w->path, "w"); /* waits for the reader */
    if (f) {
        fputs(w->text, f);
        fclose(f);
    }
    return NULL;
}

/* file_read_piped reads a pipe to its end, and gives up on one nobody writes to. */
static void
test_read_piped_reads_a_pipe_and_times_out_on_a_silent_one(void **state)
{
    struct ft *t = *state;
    char p[PATH_MAX];
    path_in(t, "pipe", p);
    assert_int_equal(mkfifo(p, 0600), 0);
    struct idl_bytes got;
    assert_int_equal(file_read_piped(p, 1024, 100, &got), IDL_ERR_TIMEOUT);
    assert_null(got.data);

    struct pipe_writer w = {p, "from a pipe\n"};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, pipe_write, &w), 0);
    assert_int_equal(file_read_piped(p, 1024, 10000, &got), IDL_OK);
    pthread_join(th, NULL);
    assert_int_equal(got.len, strlen(w.text));
    assert_string_equal((char *)got.data, w.text);
    free(got.data);

    signal(SIGPIPE, SIG_IGN); /* the reader may close before the writer is done */
    assert_int_equal(pthread_create(&th, NULL, pipe_write, &w), 0);
    assert_int_equal(file_read_piped(p, 4, 10000, &got), IDL_ERR_TOO_LARGE);
    pthread_join(th, NULL);
}

/* A named pipe with no writer: refused at once (opening it plainly would wait for ever). */
static void
test_read_all_of_named_pipe_is_refused_without_waiting(void **state)
{
    struct ft *t = *state;
    char p[PATH_MAX];
    path_in(t, "fifo", p);
    assert_int_equal(mkfifo(p, 0600), 0);
    struct idl_bytes got;
    assert_int_equal(file_read_all(p, 1 << 20, &got), IDL_ERR_NOT_FILE);
    assert_null(got.data);
}

/* ---- file_mkdirs ---- */

static void
test_mkdirs_creates_nested_directories(void **state)
{
    struct ft *t = *state;
    char p[PATH_MAX], mid[PATH_MAX];
    path_in(t, "a/b/c/d", p);
    path_in(t, "a/b", mid);
    assert_int_equal(file_mkdirs(p, 0700), IDL_OK);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(mid, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    /* A file can be written in the new directory. */
    char f[PATH_MAX];
    path_in(t, "a/b/c/d/file", f);
    assert_int_equal(file_write_atomic(f, "ok", 2, 0600), IDL_OK);
}

static void
test_mkdirs_is_fine_when_directories_exist(void **state)
{
    struct ft *t = *state;
    char p[PATH_MAX], slash[PATH_MAX];
    path_in(t, "x/y", p);
    path_in(t, "x/y/", slash);
    assert_int_equal(file_mkdirs(p, 0755), IDL_OK);
    assert_int_equal(file_mkdirs(p, 0755), IDL_OK);
    assert_int_equal(file_mkdirs(slash, 0755), IDL_OK);
    assert_int_equal(file_mkdirs(t->dir, 0755), IDL_OK);
    /* Existing content is untouched. */
    char f[PATH_MAX];
    path_in(t, "x/y/keep", f);
    write_raw(f, "kept", 4);
    assert_int_equal(file_mkdirs(p, 0755), IDL_OK);
    expect_content(f, "kept", 4);
}

static void
test_mkdirs_refuses_path_through_a_regular_file(void **state)
{
    struct ft *t = *state;
    char file[PATH_MAX], below[PATH_MAX];
    path_in(t, "plain", file);
    path_in(t, "plain/sub", below);
    write_raw(file, "not a directory", 15);
    assert_int_equal(file_mkdirs(below, 0700), IDL_ERR_IO);
}

static void
test_mkdirs_refuses_existing_regular_file_as_target(void **state)
{
    struct ft *t = *state;
    char file[PATH_MAX];
    path_in(t, "plain", file);
    write_raw(file, "not a directory", 15);
    /* mkdir -p fails here ("File exists"): the caller would go on to use a file as its
     * data directory. */
    assert_int_equal(file_mkdirs(file, 0700), IDL_ERR_IO);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_write_atomic_creates_file_with_mode_0600_under_umask_022),
        T(test_write_atomic_mode_is_not_narrowed_by_umask),
        T(test_write_atomic_replacement_takes_new_mode),
        T(test_write_atomic_replaces_content_entirely),
        T(test_write_atomic_leaves_no_temporary_file),
        T(test_write_atomic_in_missing_directory_fails_and_leaves_nothing),
        T(test_read_all_reads_back_exact_bytes_nul_terminated),
        T(test_read_all_empty_file_gives_empty_string),
        T(test_read_all_refuses_file_bigger_than_max),
        T(test_read_all_missing_file_is_not_found),
        T(test_read_all_of_directory_is_an_error),
        T(test_read_all_of_named_pipe_is_refused_without_waiting),
        T(test_read_piped_reads_a_pipe_and_times_out_on_a_silent_one),
        T(test_mkdirs_creates_nested_directories),
        T(test_mkdirs_is_fine_when_directories_exist),
        T(test_mkdirs_refuses_path_through_a_regular_file),
        T(test_mkdirs_refuses_existing_regular_file_as_target),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests of node/tokens.h: tokens_add issues "idl_" and 64 hex digits, stores only its
 * hash and refuses a second token for a name and a bad name (a phone or ID number too);
 * tokens_list writes names and times; tokens_revoke removes one token and refuses an
 * unknown name. An open token set sees every change of the file at the very next check,
 * with no wait: a token added, a token revoked (even two rewrites within one second), the
 * file deleted (no token left), and it fails closed when the file cannot be read (a
 * directory in its place) or parsed, accepting tokens again once the file is repaired; a
 * file with a name twice, a token twice, a key twice, an unknown member or a phone number
 * as a name is refused. Each test works in its own mkdtemp home under /tmp, removed afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger/file.h"
#include "node/tokens.h"

struct tt {
    char home[PATH_MAX];
    char path[PATH_MAX + 16];
    struct tokens *open;
};

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int
setup(void **state)
{
    struct tt *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    snprintf(t->home, sizeof(t->home), "/tmp/idl-tokens-test-XXXXXX");
    assert_non_null(mkdtemp(t->home));
    snprintf(t->path, sizeof(t->path), "%s/tokens.json", t->home);
    *state = t;
    return 0;
}

static int
teardown(void **state)
{
    struct tt *t = *state;
    tokens_close(t->open);
    nftw(t->home, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(t);
    return 0;
}

static void
add(struct tt *t, const char *name, char token[TOKEN_TEXT_LEN + 1])
{
    assert_int_equal(tokens_add(t->home, name, token), IDL_OK);
}

/* Does the open set accept token, and as which system? */
static bool
accepts(struct tt *t, const char *token, const char *as)
{
    char name[TOKEN_NAME_MAX + 1];
    bool ok = tokens_check(t->open, token, name);
    if (ok && as)
        assert_string_equal(name, as);
    if (!ok)
        assert_string_equal(name, "");
    return ok;
}

/* The file's whole text. */
static char *
file_text(const char *path)
{
    struct idl_bytes b;
    assert_int_equal(file_read_all(path, 1 << 20, &b), IDL_OK);
    return (char *)b.data;
}

static void
test_add_issues_a_token_and_stores_only_its_hash(void **state)
{
    struct tt *t = *state;
    char tok[TOKEN_TEXT_LEN + 1];
    add(t, "teacher-system", tok);
    assert_int_equal(strlen(tok), TOKEN_TEXT_LEN);
    assert_memory_equal(tok, "idl_", 4);
    for (size_t i = 4; i < TOKEN_TEXT_LEN; i++)
        assert_non_null(strchr("0123456789abcdef", tok[i]));
    char *text = file_text(t->path);
    assert_null(strstr(text, tok + 4)); /* never the token itself */
    assert_non_null(strstr(text, "teacher-system"));
    free(text);
    struct stat st;
    assert_int_equal(stat(t->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char tok2[TOKEN_TEXT_LEN + 1];
    add(t, "eval-system", tok2);
    assert_string_not_equal(tok, tok2);
    assert_int_equal(tokens_open(&t->open, t->home), IDL_OK);
    assert_true(accepts(t, tok, "teacher-system"));
    assert_true(accepts(t, tok2, "eval-system"));
}

static void
test_add_refuses_a_second_token_and_bad_names(void **state)
{
    struct tt *t = *state;
    char tok[TOKEN_TEXT_LEN + 1];
    add(t, "teacher", tok);
    assert_int_equal(tokens_add(t->home, "teacher", tok), IDL_ERR_EXISTS);
    assert_int_equal(tokens_add(t->home, "", tok), IDL_ERR_INVALID);
    assert_int_equal(tokens_add(t->home, "has space", tok), IDL_ERR_INVALID);
    assert_int_equal(tokens_add(t->home, "a/b", tok), IDL_ERR_INVALID);
    char longname[TOKEN_NAME_MAX + 2];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(tokens_add(t->home, longname, tok), IDL_ERR_INVALID);
    /* A mobile or ID number as a name would reach the file and every read-audit entry. */
    assert_int_equal(tokens_add(t->home, "13800000001", tok), IDL_ERR_INVALID);
    assert_int_equal(tokens_add(t->home, "sys-440106199003071231", tok), IDL_ERR_INVALID);
}

/* A hand-edited file is read strictly: what would leave a token valid unseen is refused. */
#define SHA_A "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""

static void
test_open_refuses_repeats_and_unknown_members(void **state)
{
    struct tt *t = *state;
    static const char *const bad[] = {
        /* two entries of one name: revoking "sys" removed one, the other stayed valid */
        "{\"tokens\": [{\"name\": \"sys\", \"sha256\": " SHA_A "}, "
        "{\"name\": \"sys\", \"sha256\": " SHA_A "}]}",
        /* a second "tokens" replaced the first */
        "{\"tokens\": [], \"tokens\": [{\"name\": \"a\", \"sha256\": " SHA_A "}]}",
        "{\"tokens\": [{\"name\": \"a\", \"sha256\": " SHA_A ", \"expires\": \"never\"}]}",
        "{\"tokens\": [{\"name\": \"a\", \"sha256\": " SHA_A "}], \"revoked\": []}",
        "{\"tokens\": [{\"name\": \"a\", \"sha256\": " SHA_A ", \"created\": 5}]}",
        "{\"tokens\": [{\"name\": \"13800000001\", \"sha256\": " SHA_A "}]}",
        /* one token under two names */
        "{\"tokens\": [{\"name\": \"a\", \"sha256\": " SHA_A "}, "
        "{\"name\": \"b\", \"sha256\": " SHA_A "}]}",
    };
    for (size_t i = 0; i < IDL_ARRAY_LEN(bad); i++) {
        assert_int_equal(file_write_atomic(t->path, bad[i], strlen(bad[i]), 0600), IDL_OK);
        assert_int_equal(tokens_open(&t->open, t->home), IDL_ERR_CORRUPT);
        assert_null(t->open);
    }
}

static void
test_list_names_every_system(void **state)
{
    struct tt *t = *state;
    char tok[TOKEN_TEXT_LEN + 1], buf[512] = "";
    add(t, "teacher", tok);
    add(t, "eval", tok);
    FILE *out = tmpfile();
    assert_non_null(out);
    assert_int_equal(tokens_list(t->home, out), IDL_OK);
    rewind(out);
    size_t n = fread(buf, 1, sizeof(buf) - 1, out);
    fclose(out);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "teacher\t20"));
    assert_non_null(strstr(buf, "\neval\t20"));
    assert_null(strstr(buf, "idl_"));
}

static void
test_list_of_a_home_without_tokens_is_empty(void **state)
{
    struct tt *t = *state;
    FILE *out = tmpfile();
    assert_non_null(out);
    assert_int_equal(tokens_list(t->home, out), IDL_OK);
    assert_int_equal(ftell(out), 0);
    fclose(out);
}

static void
test_revoke_removes_one_token_at_the_next_check(void **state)
{
    struct tt *t = *state;
    char a[TOKEN_TEXT_LEN + 1], b[TOKEN_TEXT_LEN + 1];
    add(t, "a", a);
    add(t, "b", b);
    assert_int_equal(tokens_open(&t->open, t->home), IDL_OK);
    assert_true(accepts(t, a, "a"));
    assert_int_equal(tokens_revoke(t->home, "a"), IDL_OK);
    assert_false(accepts(t, a, NULL)); /* at once: no second of grace */
    assert_true(accepts(t, b, "b"));
    assert_int_equal(tokens_revoke(t->home, "a"), IDL_ERR_NOT_FOUND);
    assert_int_equal(tokens_revoke(t->home, "b"), IDL_OK);
    assert_false(accepts(t, b, NULL));
}

static void
test_a_token_added_later_is_accepted_at_once(void **state)
{
    struct tt *t = *state;
    assert_int_equal(tokens_open(&t->open, t->home), IDL_OK); /* no file yet */
    char a[TOKEN_TEXT_LEN + 1];
    assert_false(accepts(t, "idl_0000000000000000000000000000000000000000000000000000000000000000",
                         NULL));
    add(t, "a", a);
    assert_true(accepts(t, a, "a"));
    /* Revoke and re-add within the same second: each rewrite is seen. */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(tokens_revoke(t->home, "a"), IDL_OK);
        assert_false(accepts(t, a, NULL));
        add(t, "a", a);
        assert_true(accepts(t, a, "a"));
    }
}

static void
test_deleted_file_leaves_no_token(void **state)
{
    struct tt *t = *state;
    char a[TOKEN_TEXT_LEN + 1];
    add(t, "a", a);
    assert_int_equal(tokens_open(&t->open, t->home), IDL_OK);
    assert_true(accepts(t, a, "a"));
    assert_int_equal(unlink(t->path), 0);
    assert_false(accepts(t, a, NULL));
    bool fresh;
    assert_int_equal(tokens_error(t->open, &fresh), IDL_OK); /* no file is no token, no error */
}

static void
test_unreadable_file_fails_closed_until_repaired(void **state)
{
    struct tt *t = *state;
    char a[TOKEN_TEXT_LEN + 1];
    add(t, "a", a);
    char *good = file_text(t->path);
    assert_int_equal(tokens_open(&t->open, t->home), IDL_OK);
    assert_true(accepts(t, a, "a"));

    /* A directory where the file was: it cannot be read. */
    assert_int_equal(unlink(t->path), 0);
    assert_int_equal(mkdir(t->path, 0700), 0);
    assert_false(accepts(t, a, NULL));
    bool fresh;
    assert_int_not_equal(tokens_error(t->open, &fresh), IDL_OK);
    assert_true(fresh);
    assert_false(accepts(t, a, NULL));
    assert_int_not_equal(tokens_error(t->open, &fresh), IDL_OK);
    assert_false(fresh); /* reported once */
    assert_int_equal(rmdir(t->path), 0);

    /* Not JSON. */
    assert_int_equal(file_write_atomic(t->path, "{\"tokens\": [", 12, 0600), IDL_OK);
    assert_false(accepts(t, a, NULL));
    assert_int_equal(tokens_error(t->open, &fresh), IDL_ERR_CORRUPT);

    /* Repaired: the token is good again. */
    assert_int_equal(file_write_atomic(t->path, good, strlen(good), 0600), IDL_OK);
    assert_true(accepts(t, a, "a"));
    assert_int_equal(tokens_error(t->open, &fresh), IDL_OK);
    free(good);
}

static void
test_open_refuses_a_corrupt_file(void **state)
{
    struct tt *t = *state;
    assert_int_equal(file_write_atomic(t->path, "[]", 2, 0600), IDL_OK);
    assert_int_equal(tokens_open(&t->open, t->home), IDL_ERR_CORRUPT);
    assert_null(t->open);
}

static void
test_wrong_tokens_are_refused(void **state)
{
    struct tt *t = *state;
    char a[TOKEN_TEXT_LEN + 1];
    add(t, "a", a);
    assert_int_equal(tokens_open(&t->open, t->home), IDL_OK);
    char wrong[TOKEN_TEXT_LEN + 1];
    memcpy(wrong, a, sizeof(wrong));
    wrong[TOKEN_TEXT_LEN - 1] = wrong[TOKEN_TEXT_LEN - 1] == '0' ? '1' : '0';
    assert_false(accepts(t, wrong, NULL));
    assert_false(accepts(t, "", NULL));
    wrong[TOKEN_TEXT_LEN - 1] = '\0'; /* a prefix */
    assert_false(accepts(t, wrong, NULL));
    assert_true(accepts(t, a, "a"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_add_issues_a_token_and_stores_only_its_hash),
        T(test_add_refuses_a_second_token_and_bad_names),
        T(test_list_names_every_system),
        T(test_list_of_a_home_without_tokens_is_empty),
        T(test_revoke_removes_one_token_at_the_next_check),
        T(test_a_token_added_later_is_accepted_at_once),
        T(test_deleted_file_leaves_no_token),
        T(test_unreadable_file_fails_closed_until_repaired),
        T(test_open_refuses_a_corrupt_file),
        T(test_open_refuses_repeats_and_unknown_members),
        T(test_wrong_tokens_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

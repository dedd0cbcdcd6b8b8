/*
 * Unit tests of node/jsonw.h: what it writes is what jansson's compact dump writes for the
 * same members, for text that needs escaping (quotes, backslashes, every control
 * character, UTF-8), and it parses back to the same values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "node/jsonw.h"

static void
same_as_jansson(const char *text)
{
    struct jsonw w;
    jsonw_init(&w);
    jsonw_bool(&w, "allowed", false);
    jsonw_str(&w, "reason", text);
    jsonw_u64(&w, "height", UINT64_MAX);
    jsonw_str(&w, "account", "");
    char *ours = jsonw_finish(&w);
    assert_non_null(ours);

    json_t *o = json_pack("{s:b, s:s, s:I, s:s}", "allowed", 0, "reason", text, "height",
                          (json_int_t)0, "account", "");
    assert_non_null(o);
    char *theirs = json_dumps(o, JSON_COMPACT);
    /* jansson has no unsigned 64-bit integer: compare the height apart. */
    char *h = strstr(theirs, "\"height\":0");
    assert_non_null(h);
    size_t cap = strlen(theirs) + 32;
    char *expect = malloc(cap);
    assert_non_null(expect);
    snprintf(expect, cap, "%.*s\"height\":18446744073709551615%s", (int)(h - theirs), theirs,
             h + strlen("\"height\":0"));
    assert_string_equal(ours, expect);
    free(expect);

    json_error_t err;
    json_t *back = json_loads(ours, JSON_DECODE_INT_AS_REAL, &err); /* 2^64-1 */
    assert_non_null(back);
    assert_string_equal(json_string_value(json_object_get(back, "reason")), text);
    assert_true(json_is_false(json_object_get(back, "allowed")));
    json_decref(back);
    json_decref(o);
    free(theirs);
    free(ours);
}

static void
test_text_needing_escapes(void **state)
{
    (void)state;
    same_as_jansson("");
    same_as_jansson("account bench-1 may act as query in teacher");
    same_as_jansson("quote \" backslash \\ slash / end");
    same_as_jansson("账户 张三 不存在");
    same_as_jansson("\xF0\x9F\x98\x80 four-byte UTF-8");
    char ctl[40];
    for (int c = 1; c < 0x20; c++)
        ctl[c - 1] = (char)c;
    ctl[0x1f] = 0x7f;
    ctl[0x20] = '\0';
    same_as_jansson(ctl);
}

static void
test_empty_object_and_growth(void **state)
{
    (void)state;
    struct jsonw w;
    jsonw_init(&w);
    char *empty = jsonw_finish(&w);
    assert_string_equal(empty, "{}");
    free(empty);

    /* Past the first buffer, several times over, every character needing six bytes. */
    char big[3000];
    memset(big, 0x01, sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    same_as_jansson(big);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_needing_escapes),
        cmocka_unit_test(test_empty_object_and_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests of the byte codec (ledger/codec.h): writer/reader round trips for every
 * integer width and for raw bytes, the exact big-endian bytes written, the sticky failure
 * of the reader (a get past the end returns zeros, every later get too, and finish fails)
 * and of the writer, codec_reader_finish refusing trailing bytes, the be32/be64 helpers,
 * and hex encoding/decoding (good input in both cases, odd and wrong lengths, bad chars).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec.h"

static void
test_roundtrip_every_width(void **state)
{
    (void)state;
    struct codec_writer w;
    codec_writer_init(&w);
    codec_put_u8(&w, 0xa5);
    codec_put_u16(&w, 0xbeef);
    codec_put_u32(&w, 0xdeadbeefu);
    codec_put_u64(&w, 0x0123456789abcdefull);
    codec_put_raw(&w, "xyz", 3);
    codec_put_u64(&w, UINT64_MAX);
    struct idl_bytes out;
    assert_int_equal(codec_writer_finish(&w, &out), IDL_OK);
    assert_int_equal(out.len, 1 + 2 + 4 + 8 + 3 + 8);

    struct codec_reader r;
    codec_reader_init(&r, out.data, out.len);
    assert_int_equal(codec_get_u8(&r), 0xa5);
    assert_int_equal(codec_get_u16(&r), 0xbeef);
    assert_int_equal(codec_get_u32(&r), 0xdeadbeefu);
    assert_true(codec_get_u64(&r) == 0x0123456789abcdefull);
    char raw[3];
    codec_get_raw(&r, raw, 3);
    assert_memory_equal(raw, "xyz", 3);
    assert_true(codec_get_u64(&r) == UINT64_MAX);
    assert_int_equal(codec_reader_left(&r), 0);
    assert_int_equal(codec_reader_finish(&r), IDL_OK);
    free(out.data);
}

static void
test_writer_is_big_endian(void **state)
{
    (void)state;
    struct codec_writer w;
    codec_writer_init(&w);
    codec_put_u16(&w, 0x0102);
    codec_put_u32(&w, 0x03040506u);
    codec_put_u64(&w, 0x0708090a0b0c0d0eull);
    struct idl_bytes out;
    assert_int_equal(codec_writer_finish(&w, &out), IDL_OK);
    static const uint8_t want[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
    assert_int_equal(out.len, sizeof(want));
    assert_memory_equal(out.data, want, sizeof(want));
    free(out.data);
}

static void
test_empty_writer_gives_freeable_buffer(void **state)
{
    (void)state;
    struct codec_writer w;
    codec_writer_init(&w);
    codec_put_raw(&w, "ignored", 0);
    struct idl_bytes out;
    assert_int_equal(codec_writer_finish(&w, &out), IDL_OK);
    assert_non_null(out.data);
    assert_int_equal(out.len, 0);
    free(out.data);
}

static void
test_writer_grows_past_initial_capacity(void **state)
{
    (void)state;
    struct codec_writer w;
    codec_writer_init(&w);
    for (uint32_t i = 0; i < 1000; i++)
        codec_put_u32(&w, i);
    struct idl_bytes out;
    assert_int_equal(codec_writer_finish(&w, &out), IDL_OK);
    assert_int_equal(out.len, 4000);
    struct codec_reader r;
    codec_reader_init(&r, out.data, out.len);
    for (uint32_t i = 0; i < 1000; i++)
        assert_int_equal(codec_get_u32(&r), i);
    assert_int_equal(codec_reader_finish(&r), IDL_OK);
    free(out.data);
}

static void
test_writer_failure_is_sticky(void **state)
{
    (void)state;
    struct codec_writer w;
    codec_writer_init(&w);
    codec_put_u32(&w, 7);
    w.failed = true; /* as after a failed allocation */
    size_t len = w.len;
    codec_put_u64(&w, 1);
    codec_put_raw(&w, "abc", 3);
    assert_int_equal(w.len, len);
    struct idl_bytes out;
    assert_int_equal(codec_writer_finish(&w, &out), IDL_ERR_NOMEM);
    assert_null(out.data);
    assert_int_equal(out.len, 0);
}

static void
test_read_past_end_returns_zeros_and_sticks(void **state)
{
    (void)state;
    static const uint8_t in[] = {0xff, 0xff, 0xff};
    struct codec_reader r;
    codec_reader_init(&r, in, sizeof(in));
    assert_int_equal(codec_get_u32(&r), 0); /* 3 bytes left, 4 wanted */
    assert_true(r.failed);
    /* Every later get fails too, even one that would fit. */
    assert_int_equal(codec_get_u8(&r), 0);
    assert_int_equal(codec_get_u16(&r), 0);
    assert_true(codec_get_u64(&r) == 0);
    uint8_t raw[2] = {9, 9};
    codec_get_raw(&r, raw, 2);
    assert_int_equal(raw[0], 0);
    assert_int_equal(raw[1], 0);
    assert_null(codec_get_view(&r, 1));
    assert_int_equal(codec_reader_left(&r), 0);
    assert_int_equal(codec_reader_finish(&r), IDL_ERR_MALFORMED);
}

static void
test_each_width_fails_on_short_input(void **state)
{
    (void)state;
    static const uint8_t in[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    struct codec_reader r;
    codec_reader_init(&r, in, 0);
    assert_int_equal(codec_get_u8(&r), 0);
    assert_int_equal(codec_reader_finish(&r), IDL_ERR_MALFORMED);
    codec_reader_init(&r, in, 1);
    assert_int_equal(codec_get_u16(&r), 0);
    assert_int_equal(codec_reader_finish(&r), IDL_ERR_MALFORMED);
    codec_reader_init(&r, in, 3);
    assert_int_equal(codec_get_u32(&r), 0);
    assert_int_equal(codec_reader_finish(&r), IDL_ERR_MALFORMED);
    codec_reader_init(&r, in, 7);
    assert_true(codec_get_u64(&r) == 0);
    assert_int_equal(codec_reader_finish(&r), IDL_ERR_MALFORMED);
}

static void
test_reader_fail_marks_failed(void **state)
{
    (void)state;
    static const uint8_t in[] = {1};
    struct codec_reader r;
    codec_reader_init(&r, in, sizeof(in));
    assert_int_equal(codec_get_u8(&r), 1);
    codec_reader_fail(&r);
    assert_int_equal(codec_reader_finish(&r), IDL_ERR_MALFORMED);
}

static void
test_finish_refuses_trailing_bytes(void **state)
{
    (void)state;
    static const uint8_t in[] = {0x00, 0x05, 0xaa};
    struct codec_reader r;
    codec_reader_init(&r, in, sizeof(in));
    assert_int_equal(codec_get_u16(&r), 5);
    assert_int_equal(codec_reader_left(&r), 1);
    assert_int_equal(codec_reader_finish(&r), IDL_ERR_MALFORMED);
    assert_int_equal(codec_get_u8(&r), 0xaa);
    assert_int_equal(codec_reader_finish(&r), IDL_OK);
}

static void
test_get_view_points_into_input(void **state)
{
    (void)state;
    static const uint8_t in[] = {1, 2, 3, 4};
    struct codec_reader r;
    codec_reader_init(&r, in, sizeof(in));
    const uint8_t *v = codec_get_view(&r, 3);
    assert_ptr_equal(v, in);
    assert_int_equal(codec_reader_left(&r), 1);
    assert_null(codec_get_view(&r, 2));
    assert_int_equal(codec_reader_finish(&r), IDL_ERR_MALFORMED);
}

static void
test_be32_be64_helpers(void **state)
{
    (void)state;
    uint8_t b4[4], b8[8];
    codec_be32_put(b4, 0x11223344u);
    static const uint8_t want4[] = {0x11, 0x22, 0x33, 0x44};
    assert_memory_equal(b4, want4, 4);
    assert_int_equal(codec_be32_get(b4), 0x11223344u);
    codec_be64_put(b8, 0x8877665544332211ull);
    static const uint8_t want8[] = {0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11};
    assert_memory_equal(b8, want8, 8);
    assert_true(codec_be64_get(b8) == 0x8877665544332211ull);
    codec_be32_put(b4, UINT32_MAX);
    assert_int_equal(codec_be32_get(b4), UINT32_MAX);
    codec_be64_put(b8, 0);
    assert_true(codec_be64_get(b8) == 0);
}

static void
test_hex_encode_lowercase(void **state)
{
    (void)state;
    static const uint8_t in[] = {0x00, 0x0f, 0xa0, 0xff, 0x5c};
    char out[2 * sizeof(in) + 1];
    memset(out, '#', sizeof(out));
    codec_hex_encode(out, in, sizeof(in));
    assert_string_equal(out, "000fa0ff5c");
    codec_hex_encode(out, in, 0);
    assert_string_equal(out, "");
}

static void
test_hex_decode_good_both_cases(void **state)
{
    (void)state;
    uint8_t out[4];
    static const uint8_t want[] = {0xde, 0xad, 0xbe, 0xef};
    assert_int_equal(codec_hex_decode(out, 4, "deadbeef"), IDL_OK);
    assert_memory_equal(out, want, 4);
    assert_int_equal(codec_hex_decode(out, 4, "DEADBEEF"), IDL_OK);
    assert_memory_equal(out, want, 4);
    assert_int_equal(codec_hex_decode(out, 4, "DeAdBeEf"), IDL_OK);
    assert_memory_equal(out, want, 4);
}

static void
test_hex_roundtrip(void **state)
{
    (void)state;
    uint8_t in[256], back[256];
    for (int i = 0; i < 256; i++)
        in[i] = (uint8_t)i;
    char hex[513];
    codec_hex_encode(hex, in, sizeof(in));
    assert_int_equal(codec_hex_decode(back, sizeof(back), hex), IDL_OK);
    assert_memory_equal(in, back, sizeof(in));
}

static void
test_hex_decode_refuses_odd_length(void **state)
{
    (void)state;
    uint8_t out[2] = {7, 7};
    assert_int_equal(codec_hex_decode(out, 2, "abc"), IDL_ERR_INVALID);
    assert_int_equal(codec_hex_decode(out, 2, "abcde"), IDL_ERR_INVALID);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 0);
}

static void
test_hex_decode_refuses_wrong_length(void **state)
{
    (void)state;
    uint8_t out[2];
    assert_int_equal(codec_hex_decode(out, 2, "ab"), IDL_ERR_INVALID);
    assert_int_equal(codec_hex_decode(out, 2, "abcdef"), IDL_ERR_INVALID);
    assert_int_equal(codec_hex_decode(out, 2, ""), IDL_ERR_INVALID);
    assert_int_equal(codec_hex_decode(out, 2, NULL), IDL_ERR_INVALID);
}

static void
test_hex_decode_refuses_bad_chars_and_zeroes(void **state)
{
    (void)state;
    static const char *const bad[] = {"abcg", "zz00", "00 0", "0x00", "ab-1", "1\n23"};
    for (size_t i = 0; i < IDL_ARRAY_LEN(bad); i++) {
        uint8_t out[2] = {0x55, 0x55};
        assert_int_equal(codec_hex_decode(out, 2, bad[i]), IDL_ERR_INVALID);
        /* Zeroed, even where the first byte parsed. */
        assert_int_equal(out[0], 0);
        assert_int_equal(out[1], 0);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_every_width),
        cmocka_unit_test(test_writer_is_big_endian),
        cmocka_unit_test(test_empty_writer_gives_freeable_buffer),
        cmocka_unit_test(test_writer_grows_past_initial_capacity),
        cmocka_unit_test(test_writer_failure_is_sticky),
        cmocka_unit_test(test_read_past_end_returns_zeros_and_sticks),
        cmocka_unit_test(test_each_width_fails_on_short_input),
        cmocka_unit_test(test_reader_fail_marks_failed),
        cmocka_unit_test(test_finish_refuses_trailing_bytes),
        cmocka_unit_test(test_get_view_points_into_input),
        cmocka_unit_test(test_be32_be64_helpers),
        cmocka_unit_test(test_hex_encode_lowercase),
        cmocka_unit_test(test_hex_decode_good_both_cases),
        cmocka_unit_test(test_hex_roundtrip),
        cmocka_unit_test(test_hex_decode_refuses_odd_length),
        cmocka_unit_test(test_hex_decode_refuses_wrong_length),
        cmocka_unit_test(test_hex_decode_refuses_bad_chars_and_zeroes),
    };
    return cmocka_run_group_tests_name("codec", tests, NULL, NULL);
}

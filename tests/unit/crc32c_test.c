/*
 * Unit tests of CRC-32C (ledger/crc32c.h): the check values of RFC 3720 (B.4) and the
 * catalogue's "123456789", extension piece by piece equal to the whole, the CPU's path and
 * the byte table agreeing on every length and alignment, and LevelDB's own entry point
 * (leveldb::crc32c::Extend, which the build takes from ledger/crc32c.c) giving the same.
 * That LevelDB then reads what it wrote with it is store_test's business.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crc32c.h"

/* leveldb::crc32c::Extend, whichever definition the link took. */
uint32_t leveldb_extend(uint32_t crc, const char *data,
                        size_t n) __asm__("_ZN7leveldb6crc32c6ExtendEjPKcm");

static void
test_check_values(void **state)
{
    (void)state;
    uint8_t buf[32];
    assert_int_equal(crc32c_extend(0, "123456789", 9), 0xe3069283u);
    memset(buf, 0, sizeof(buf));
    assert_int_equal(crc32c_extend(0, buf, sizeof(buf)), 0x8a9136aau);
    memset(buf, 0xff, sizeof(buf));
    assert_int_equal(crc32c_extend(0, buf, sizeof(buf)), 0x62a8ab43u);
    for (unsigned i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)i;
    assert_int_equal(crc32c_extend(0, buf, sizeof(buf)), 0x46dd794eu);
    for (unsigned i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(31 - i);
    assert_int_equal(crc32c_extend(0, buf, sizeof(buf)), 0x113fdb5cu);
    assert_int_equal(crc32c_extend(0, "", 0), 0);
    assert_int_equal(crc32c_extend_bytewise(0, "123456789", 9), 0xe3069283u);
}

static void
test_pieces_extend_the_whole(void **state)
{
    (void)state;
    const char *text = "the quick brown fox jumps over the lazy dog, twice over";
    size_t n = strlen(text);
    uint32_t whole = crc32c_extend(0, text, n);
    for (size_t cut = 0; cut <= n; cut++) {
        uint32_t c = crc32c_extend(0, text, cut);
        assert_int_equal(crc32c_extend(c, text + cut, n - cut), whole);
    }
    /* A changed byte changes the value. */
    char copy[64];
    memcpy(copy, text, n);
    copy[n / 2] ^= 1;
    assert_int_not_equal(crc32c_extend(0, copy, n), whole);
}

static void
test_cpu_and_table_agree(void **state)
{
    (void)state;
    enum { LEN = 300 };
    uint8_t buf[LEN + 8];
    srand(20261203);
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)rand();
    for (size_t off = 0; off < 8; off++) {
        for (size_t len = 0; len <= LEN; len++) {
            uint32_t seed = (uint32_t)(len * 2654435761u);
            assert_int_equal(crc32c_extend(seed, buf + off, len),
                             crc32c_extend_bytewise(seed, buf + off, len));
        }
    }
}

static void
test_leveldb_entry_point_agrees(void **state)
{
    (void)state;
    assert_int_equal(leveldb_extend(0, "123456789", 9), 0xe3069283u);
    char block[4096];
    for (size_t i = 0; i < sizeof(block); i++)
        block[i] = (char)(i * 7);
    assert_int_equal(leveldb_extend(0x1234u, block, sizeof(block)),
                     crc32c_extend(0x1234u, block, sizeof(block)));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_values),
        cmocka_unit_test(test_pieces_extend_the_whole),
        cmocka_unit_test(test_cpu_and_table_agree),
        cmocka_unit_test(test_leveldb_entry_point_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

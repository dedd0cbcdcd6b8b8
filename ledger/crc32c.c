/*
 * CRC-32C (Castagnoli), for LevelDB.
 *
 * LevelDB checksums every block it writes and every block it reads (the store verifies
 * checksums), and every record of its log. Debian builds it without an accelerated CRC,
 * so its own code runs byte tables: 6 % of a replica's CPU while catching up, most of it in
 * compaction. The build links LevelDB statically, so this file can define the one function
 * LevelDB calls, leveldb::crc32c::Extend, and the linker then takes it instead of LevelDB's
 * (the archive member that holds LevelDB's defines nothing else, so nothing else is lost;
 * were it ever needed for another symbol, the link would fail on a duplicate, not
 * silently). The value is the same CRC: a store written with one reads with the other.
 *
 * On x86-64 with SSE4.2 the CRC32 instruction does 8 bytes at a time; elsewhere, or on a
 * processor without it, a byte table does. The Makefile names LevelDB's symbol as undefined
 * (-u) so that the linker takes this object from the library before it reads LevelDB's.
 */
#include "crc32c.h"

#include <pthread.h>

#define CRC32C_POLY 0x82f63b78u /* Castagnoli, bits reversed */

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void
table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1)));
        table[i] = c;
    }
}

uint32_t
crc32c_extend_bytewise(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&table_once, table_init);
    crc = ~crc;
    for (const unsigned char *p = data; n; n--, p++)
        crc = table[(crc ^ *p) & 0xff] ^ (crc >> 8);
    return ~crc;
}

#if defined(__x86_64__)
#include <nmmintrin.h>
#include <string.h>

__attribute__((target("sse4.2"))) static uint32_t
extend_sse42(uint32_t crc, const unsigned char *p, size_t n)
{
    uint64_t c = crc;
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = _mm_crc32_u64(c, word);
    }
    crc = (uint32_t)c;
    for (; n; n--, p++)
        crc = _mm_crc32_u8(crc, *p);
    return crc;
}
#endif

uint32_t
crc32c_extend(uint32_t crc, const void *data, size_t n)
{
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2"))
        return ~extend_sse42(~crc, data, n);
#endif
    return crc32c_extend_bytewise(crc, data, n);
}

/* leveldb::crc32c::Extend(uint32_t crc, const char *data, size_t n) */
uint32_t leveldb_crc32c_extend(uint32_t crc, const char *data, size_t n) __asm__(
    "_ZN7leveldb6crc32c6ExtendEjPKcm");

uint32_t
leveldb_crc32c_extend(uint32_t crc, const char *data, size_t n)
{
    return crc32c_extend(crc, data, n);
}

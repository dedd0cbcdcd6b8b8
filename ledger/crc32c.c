/*
 * CRC-32C (Castagnoli), for LevelDB.
 *
 * LevelDB checksums every block it writes and every block it reads (the store verifies
 * checksums), and every record of its log. Debian builds it without an accelerated CRC, so
 * its own code runs on tables, four bytes a step (about 3.4 GB/s on the benchmark machine):
 * 6 % of a replica's CPU while catching up, most of it in compaction. The CRC32 instruction
 * of SSE4.2 does about 9 GB/s. The build links LevelDB statically, so on x86-64 this file
 * defines the one function LevelDB calls, leveldb::crc32c::Extend, and the Makefile names
 * that symbol as undefined (-u) so that the linker takes this object from the library before
 * it reads LevelDB's (whose object for it defines nothing else, so nothing else is lost;
 * the Makefile also checks each linked binary for LevelDB's tables). The value is the same
 * CRC: a store written with one reads with the other. Elsewhere LevelDB keeps its own.
 *
 * crc32c_extend_bytewise, a table a byte at a time, is the fallback of crc32c_extend on a
 * processor without SSE4.2, and what the unit tests hold the CPU's path against.
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

#if defined(__x86_64__)
/* leveldb::crc32c::Extend(uint32_t crc, const char *data, size_t n) */
uint32_t leveldb_crc32c_extend(uint32_t crc, const char *data,
                               size_t n) __asm__("_ZN7leveldb6crc32c6ExtendEjPKcm");

uint32_t
leveldb_crc32c_extend(uint32_t crc, const char *data, size_t n)
{
    return crc32c_extend(crc, data, n);
}
#endif

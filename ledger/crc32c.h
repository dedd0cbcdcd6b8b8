/*
 * CRC-32C (Castagnoli), the checksum of LevelDB's blocks and log records. On x86-64,
 * crc32c.c also gives LevelDB this implementation in place of its own (see there).
 */
#ifndef IDLEDGER_CRC32C_H
#define IDLEDGER_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The CRC-32C of data[0..n) continuing from crc, the CRC of what came before (0 to begin). */
uint32_t crc32c_extend(uint32_t crc, const void *data, size_t n);

/*
 * The same, a byte at a time from a table: crc32c_extend's fallback without SSE4.2, and
 * the reference its tests compare the CPU's path with.
 */
uint32_t crc32c_extend_bytewise(uint32_t crc, const void *data, size_t n);

#endif

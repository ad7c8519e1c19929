/* common/crc32c.h — CRC32C, the Castagnoli polynomial (prefix crc32c_): the checksum of
 * every checkpoint (docs/design/checkpoint.md) and of TensorBoard's TFRecord framing.
 * Reflected polynomial 0x82F63B78 with initial and final inversion, as iSCSI, ext4 and
 * TFRecord use it. Computed with the SSE4.2 crc32 instruction when the CPU has it, else
 * with slicing-by-8 tables; RD_CKPT_CRC=sw in the environment forces the tables (the tests
 * run both). Thread-safe; the tables are built once, on first use. */
#ifndef RD_COMMON_CRC32C_H
#define RD_COMMON_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The CRC of `len` bytes at data continued from `crc` (0 to start): chainable,
 * crc32c_update(crc32c_update(0, a, n), b, m) is the CRC of a followed by b, and
 * crc32c_update(0, "123456789", 9) == 0xE3069283. */
uint32_t crc32c_update(uint32_t crc, const void *data, size_t len);

/* The CRC of A followed by B from crc1 = CRC(A), crc2 = CRC(B) and len2 = |B| (zlib's
 * crc32_combine for this polynomial): a writer that knows its parts' CRCs gets the whole's
 * without a second pass over the data. O(log len2). */
uint32_t crc32c_combine(uint32_t crc1, uint32_t crc2, uint64_t len2);

#endif

/* gt_hash.h - checksums and hashes. */
#ifndef GT_HASH_H
#define GT_HASH_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C (Castagnoli), as used by the WAL. crc = 0 to start; chainable. */
uint32_t gt_crc32c(uint32_t crc, const void *p, size_t n);
/* FNV-1a 64-bit: partitioning (partition = gt_hash64(key) % n) and hash tables. */
uint64_t gt_hash64(const void *p, size_t n);

#endif

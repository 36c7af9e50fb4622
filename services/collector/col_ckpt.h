/* col_ckpt.h - what has been stored: per (broker epoch, partition) the intervals of offsets
 * written to the files, plus each GPU file's size when that was true. Saved atomically
 * (temp file + fsync + rename) as JSON.
 *
 * Recovery (col_server): load the checkpoint, then re-read every file past its recorded
 * size and col_ckpt_mark_many the "delivery" ids found there, so a record written after the
 * last save is still known. A redelivered message whose offset is marked is acked, not stored.
 *
 * A mark is exact: an offset is "seen" only if that very offset was marked. Gaps are never
 * merged away, whatever their number (an earlier version capped the list and merged the two
 * oldest intervals, which acked never-stored records when redeliveries arrived scrambled).
 * Gaps are few in practice: records in flight at a crash (filled by their redelivery) and one
 * per rebalance of a partition away from this collector; the count is in /stats.
 * Owned by the writer thread; not thread-safe. */
#ifndef COL_CKPT_H
#define COL_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "gt/gt_buf.h"
#include "gt/gt_err.h"

typedef struct col_ckpt col_ckpt;

typedef struct col_ckpt_file {
	char    *stem; /* owned by whoever filled the array */
	uint64_t size; /* of <stem>.jsonl */
	uint64_t rot;  /* highest rotated segment number then (0: none) */
} col_ckpt_file;

gt_err col_ckpt_new(col_ckpt **out);
void   col_ckpt_free(col_ckpt *c);

/* col_ckpt_seen: 1 when (epoch, partition, offset) is marked stored. */
int    col_ckpt_seen(const col_ckpt *c, uint64_t epoch, uint32_t partition, uint64_t offset);
gt_err col_ckpt_mark(col_ckpt *c, uint64_t epoch, uint32_t partition, uint64_t offset);

typedef struct col_ckpt_id {
	uint64_t epoch, offset;
	uint32_t partition;
} col_ckpt_id;

/* col_ckpt_mark_many marks n ids given in any order (recovery reads them file by file, so
 * one partition's offsets arrive interleaved): it sorts ids in place, then marks in order,
 * which keeps every insertion at the end of its list. */
gt_err col_ckpt_mark_many(col_ckpt *c, col_ckpt_id *ids, size_t n);
/* col_ckpt_epoch: the broker is at epoch. The marks of the epoch before it are kept too (a
 * batch fetched just before a broker restart may be written after the first batch of the
 * new epoch); older epochs are forgotten. Returns 1 if the current epoch changed. */
int col_ckpt_epoch(col_ckpt *c, uint64_t epoch);
/* Number of intervals kept in total (for /stats). */
size_t col_ckpt_intervals(const col_ckpt *c);

/* col_ckpt_encode appends the checkpoint document to b; col_ckpt_write writes a document
 * atomically (temp file, fsync, rename). Any thread (write touches no col_ckpt). */
gt_err col_ckpt_encode(const col_ckpt *c, const col_ckpt_file *files, size_t nfiles, gt_buf *b);
gt_err col_ckpt_write(const char *path, const void *data, size_t len);
/* col_ckpt_save = encode + write; files[] are the GPU file sizes that go with the marks. */
gt_err col_ckpt_save(const col_ckpt *c, const char *path, const col_ckpt_file *files,
                     size_t nfiles);
/* col_ckpt_load replaces c's marks with the file's; *files is a malloc'd array (free each stem
 * and the array with col_ckpt_files_free). GT_ENOENT when there is no checkpoint yet,
 * GT_ECORRUPT when it cannot be parsed. */
gt_err col_ckpt_load(col_ckpt *c, const char *path, col_ckpt_file **files, size_t *nfiles);
void   col_ckpt_files_free(col_ckpt_file *files, size_t n);

#endif

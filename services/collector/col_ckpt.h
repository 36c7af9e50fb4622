/* col_ckpt.h - what has been stored: per (broker epoch, partition) the intervals of offsets
 * written to the files, plus each GPU file's size when that was true. Saved atomically
 * (temp file + fsync + rename) as JSON.
 *
 * Recovery (col_consumer): load the checkpoint, then re-read every file past its recorded
 * size and col_ckpt_mark the "delivery" ids found there, so a record written after the last
 * save is still known. A redelivered message whose offset is marked is acked, not stored.
 * Interval lists are capped (COL_CKPT_MAX_IV per partition): past that the two oldest merge,
 * which treats the gap between them as stored (documented trade-off; a gap comes from a
 * rebalance). Owned by the writer thread; not thread-safe. */
#ifndef COL_CKPT_H
#define COL_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "gt/gt_buf.h"
#include "gt/gt_err.h"

#define COL_CKPT_MAX_IV 4096

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
/* col_ckpt_epoch: the broker is at epoch; forget every other epoch. Returns 1 if it changed. */
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

/* col_file.h - the file layer: one JSONL file per GPU under the data dir, appended in
 * batches, rotated by size, pruned by age/size, with a sparse time index per segment.
 *
 * Files: <dir>/<stem>.jsonl is the GPU's current segment, <dir>/<stem>.jsonl.<seq> are
 * rotated ones (seq grows); stem = col_key_stem(gpu key). Each index block covers up to
 * index_every consecutive lines with their byte range and min/max timestamp, so a time-bounded
 * or newest-N query reads only the blocks that can match.
 *
 * Threads: the writer thread calls append/commit/sync/retention; query threads call
 * col_store_read/list/stats concurrently (one mutex guards the metadata; file bytes are read
 * with pread outside it, only up to the sizes committed). */
#ifndef COL_FILE_H
#define COL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "col_ckpt.h"
#include "col_jsonl.h"
#include "col_rec.h"
#include "gt/gt_err.h"

typedef enum col_fsync { COL_FSYNC_ALWAYS = 0, COL_FSYNC_INTERVAL, COL_FSYNC_NEVER } col_fsync;

typedef struct col_store_cfg {
	const char *dir;
	col_fsync   fsync;
	uint64_t    rotate_bytes; /* rotate the current segment past this size */
	int64_t     retention_ns; /* delete rotated segments older than this; 0 = keep */
	uint64_t retention_bytes; /* per GPU: delete oldest rotated segments past this; 0 = keep */
	uint32_t index_every;     /* lines per index block (default 128) */
} col_store_cfg;

typedef struct col_store col_store;

/* Recovery callbacks for col_store_open (any may be NULL):
 *  id(): a "delivery" id found in a line written after the checkpointed size of its file;
 *  rec(): a record from the tail of a GPU's files (oldest first), with the floor to give the
 *         cache (newest timestamp among that GPU's lines not passed to rec()). */
typedef struct col_store_recover {
	const col_ckpt_file *files; /* checkpointed sizes; NULL/0 = scan every line for ids */
	size_t               nfiles;
	int                  scan_ids;
	size_t               tail_lines; /* records per GPU passed to rec() */
	void (*id)(const col_delivery *id, void *arg);
	void (*rec)(col_rec *r, int64_t floor, void *arg); /* borrowed r */
	void *arg;
} col_store_recover;

/* col_store_open scans dir (creating it), indexes every segment, repairs a truncated last
 * line (truncates it: it was never acknowledged), and runs the recovery callbacks. */
gt_err col_store_open(col_store **out, const col_store_cfg *cfg, const col_store_recover *rec);
void   col_store_close(col_store *s);

/* ---- writer thread ---- */
/* col_store_append queues line (one encoded JSONL line of r) for r's GPU file; the bytes are
 * copied. Nothing reaches the file before col_store_commit. */
gt_err col_store_append(col_store *s, const col_rec *r, const char *line, size_t len);
/* col_store_append_ref is col_store_append without the copy: line must stay unchanged until
 * the next col_store_commit returns (the ingest path: lines stay in their batch). */
gt_err col_store_append_ref(col_store *s, const col_rec *r, const char *line, size_t len);
/* col_store_commit writes every queued line (one writev() per GPU file, more past IOV_MAX
 * lines), fsyncs when the policy is "always", updates index and GPU info, rotates full
 * segments. *rotated is set when a segment was rotated (the checkpoint should be saved
 * now). */
gt_err col_store_commit(col_store *s, int *rotated);
/* After a col_store_commit that failed: 1 if r's GPU file was written in it (its lines are in
 * the file), 0 if not (its lines are not: a torn part is cut off before the next write to that
 * file). A failed commit still writes every GPU it can. Writer thread. */
int col_store_committed(col_store *s, const col_rec *r);
/* col_store_batch_floor: newest timestamp of key's records before the last commit
 * (INT64_MIN when none) - the floor of a cache ring created for it. */
int64_t col_store_batch_floor(col_store *s, const char *key);
/* col_store_sync fsyncs the files written since the last sync. */
gt_err col_store_sync(col_store *s);
/* col_store_sync_take hands over duplicates of the descriptors written since the last sync
 * (malloc'd array; the caller fdatasyncs and closes them, e.g. on another thread), so the
 * writer does not wait for the disk. */
gt_err col_store_sync_take(col_store *s, int **fds, size_t *n);
/* col_store_retention deletes rotated segments past the age/size limits; returns how many. */
size_t col_store_retention(col_store *s, int64_t now_ns);
/* col_store_files lists (stem, current committed size) for the checkpoint (free with
 * col_ckpt_files_free). */
gt_err col_store_files(col_store *s, col_ckpt_file **files, size_t *n);

/* ---- any thread ---- */
typedef struct col_gpu_info {
	char    *gpu_key, *hostname, *uuid, *model, *device;
	int32_t  gpu_index;
	int64_t  last_seen_ns;
	uint64_t records;
	col_rec *latest; /* held; NULL when unknown */
} col_gpu_info;

/* col_store_list returns a malloc'd array of every GPU (free with col_store_list_free). */
gt_err col_store_list(col_store *s, col_gpu_info **out, size_t *n);
void   col_store_list_free(col_gpu_info *v, size_t n);
/* col_store_has: 1 when key has files. */
int col_store_has(col_store *s, const char *key);

/* col_store_read collects key's records with since <= ts <= until from the files. limit > 0
 * keeps only the limit newest (oldest when oldest_first); *truncated tells whether more
 * matched. Records come back held, sorted by time (oldest first). GT_ENOENT: unknown GPU. */
gt_err col_store_read(col_store *s, const char *key, int64_t since, int64_t until, size_t limit,
                      int oldest_first, col_rec ***out, size_t *n, int *truncated);

typedef struct col_store_stats {
	uint64_t gpus;
	uint64_t lines;
	uint64_t bytes;
	uint64_t segments;
	uint64_t rotations;
	uint64_t deleted_segments;
	uint64_t repaired_files;
	uint64_t bad_lines;
	uint64_t blocks_read; /* index blocks read by queries */
} col_store_stats;

void col_store_stats_get(col_store *s, col_store_stats *st);

#endif

/* col_file_int.h - the file layer's internals, shared by col_file.c (writes, rotation,
 * retention), col_seg.c (segments and their time index), col_recover.c (start-up scan) and
 * col_read.c (queries). Not for other modules: they use col_file.h. */
#ifndef COL_FILE_INT_H
#define COL_FILE_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/uio.h>

#include "col_file.h"
#include "col_key.h"
#include "col_map.h"
#include "gt/gt_buf.h"

typedef struct store_blk {
	uint64_t off, end; /* byte range [off, end) */
	uint32_t lines;
	int64_t  min_ts, max_ts;
} store_blk;

typedef struct store_seg {
	uint64_t   seq; /* 0 = current */
	uint64_t   size, lines;
	int64_t    min_ts, max_ts;
	store_blk *blk;
	size_t     nblk, cap;
} store_seg;

typedef struct pend_line {
	const char *p; /* the caller's bytes (col_store_append_ref); NULL: copied into pend */
	uint32_t    len;
	int64_t     ts;
} pend_line;

typedef struct store_gpu {
	char      *key;
	char       stem[COL_KEY_STEM_MAX + 1];
	int        fd;
	int        dirty;
	int        repair;        /* a write failed: cut the file back to segs[nseg-1].size first */
	int        commit_failed; /* the last col_store_commit could not write this GPU */
	int        failing;       /* writes to it fail since (logged once) */
	store_seg *segs; /* oldest first; segs[nseg - 1] is current */
	size_t     nseg;
	uint64_t   records;
	uint64_t   next_seq; /* number of the next rotated segment (never reused) */
	col_rec   *latest;
	int64_t    batch_floor;
	/* writer-only batch state */
	gt_buf            pend; /* copied lines, in order */
	pend_line        *pl;
	size_t            npl, capl;
	col_rec          *pend_latest;
	struct store_gpu *next_batch;
	int               in_batch;
	struct store_gpu *next_dirty;
} store_gpu;

struct col_store {
	col_store_cfg   cfg;
	char           *dir;
	pthread_mutex_t mtx;
	col_map        *gpus; /* key -> store_gpu */
	store_gpu      *batch;
	store_gpu      *dirty;
	struct iovec   *iov; /* writer: col_store_commit's scratch */
	size_t          iov_cap;
	col_store_stats st;
};

#define SEG_PATH_MAX (PATH_MAX + 64)

/* col_seg.c */
void col_seg_path(const col_store *s, const store_gpu *g, const store_seg *seg, char *buf,
                  size_t len);
void col_seg_init(store_seg *seg, uint64_t seq);
/* Add one line (ts may be INT64_MIN when unknown) at [off, off + len) to seg's index. */
gt_err col_seg_index_add(store_seg *seg, uint32_t every, uint64_t off, uint64_t len, int64_t ts);
/* Read the bytes of nb blocks of an open segment and decode every line: cb per record;
 * undecodable lines are counted in *bad (may be NULL). */
gt_err     col_seg_read_blocks(int fd, const store_blk *blk, size_t nb, gt_buf *tmp,
                               void (*cb)(col_rec *r, void *arg), void *arg, uint64_t *bad);
store_gpu *col_gpu_new(const char *stem);
void       col_gpu_free(store_gpu *g);
/* A segment numbered seq (0 = current), kept in order (rotated by seq, current last). */
store_seg *col_gpu_add_seg(store_gpu *g, uint64_t seq);
int64_t    col_gpu_max_ts(const store_gpu *g);

/* col_recover.c: find, index and repair the data dir's files, fill s->gpus, run the
 * recovery callbacks (col_store_open after creating the directory). */
gt_err col_store_load(col_store *s, const col_store_recover *rc);

#endif

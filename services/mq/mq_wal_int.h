/* mq_wal_int.h - the WAL's state, shared by mq_wal.c (appends, writer thread, segments,
 * lifecycle) and mq_wal_recover.c (replay at start). Not for other modules. */
#ifndef MQ_WAL_INT_H
#define MQ_WAL_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "gt/gt_buf.h"
#include "mq_wal.h"
#include "mq_wal_head.h"
#include "mq_wal_rec.h"

/* The highest offset of (topic, partition) a segment holds: it may be deleted once every
 * group is past all of its marks. */
typedef struct mq_wal_mark {
	uint32_t topic, part;
	uint64_t max_off;
} mq_wal_mark;

typedef struct mq_wal_marks {
	mq_wal_mark *v;
	size_t       n, cap;
} mq_wal_marks;

typedef struct mq_wal_segment {
	struct mq_wal_segment *next;
	uint64_t               seq;
	mq_wal_marks           m;
} mq_wal_segment;

struct mq_wal {
	mq_wal_cfg      cfg;
	char           *dir;
	pthread_mutex_t mu;
	pthread_cond_t  cv_work, cv_done;
	gt_buf          cur, spare;
	mq_wal_marks    cur_marks, spare_marks;
	uint64_t        appended; /* lsn of the end of cur */
	uint64_t        durable;  /* lsn durable under the policy */
	int             failed;
	int             stop;
	int             started;
	pthread_t       writer;
	mq_wal_head     decl; /* re-written at the head of every segment (under mu) */
	/* writer-owned */
	int             fd;
	uint64_t        seg_seq;
	uint64_t        seg_size, seg_head; /* bytes in the current segment, of which head */
	gt_buf          head;               /* the next segment's head, built under mu */
	mq_wal_segment *segs, *segs_tail;
	int64_t         last_sync, last_gc;
	mq_wal_done_fn  done_fn;
	void           *done_arg;
	/* stats */
	atomic_ullong written, fsyncs, truncated, total_bytes,
	    nsegs; /* writer-updated; read by stats */
};

/* mq_wal.c */
/* Record that a segment holds offset off of (topic, part). */
void mq_wal_mark_add(mq_wal_marks *m, uint32_t topic, uint32_t part, uint64_t off);
void mq_wal_seg_path(const mq_wal *w, uint64_t seq, char *buf, size_t len);
/* Append a segment (seq) to the list; NULL when out of memory. */
mq_wal_segment *mq_wal_seg_push(mq_wal *w, uint64_t seq);

#endif

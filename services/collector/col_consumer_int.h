/* col_consumer_int.h - the consumer's internals, shared by col_consumer.c (batches, fetch
 * thread, workers, lifecycle) and col_writer.c (writer and syncer threads: storing, acks,
 * nacks, checkpoints). Not for other modules: they use col_consumer.h. */
#ifndef COL_CONSUMER_INT_H
#define COL_CONSUMER_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "col_consumer.h"
#include "col_fetch.h"
#include "gt/gt_buf.h"
#include "gt/gt_queue.h"
#include "gt/gt_rpc.h"
#include "gtpb/v1/mq.pb-c.h"

#define CHUNK 256
#define ACK_MAX 8192      /* ranges per Ack request */
#define ACK_MAX_IDS 65536 /* ids per Ack request (and per range) */

typedef struct cons_item {
	col_rec    *rec;
	size_t      line_off, line_len;
	const char *reason; /* static; non-NULL = invalid */
} cons_item;

typedef struct cons_batch cons_batch;

typedef struct cons_chunk {
	cons_batch *b;
	size_t      from, to;
	gt_buf      lines;
} cons_chunk;

struct cons_batch {
	gt_rpc_reply    reply; /* the response bytes: fetch's views point into them */
	col_fetch       fetch;
	cons_item      *items;
	size_t          nitems, items_cap;
	cons_chunk     *chunks;
	size_t          nchunks, chunks_cap;
	int64_t         fetched_ns;
	pthread_mutex_t mtx;
	pthread_cond_t  cv;
	size_t          left; /* chunks not yet decoded */
};

/* Delivery ids as runs of consecutive offsets (AckRange): a batch's ids are mostly one run
 * per partition, so acks cost little to build, send and apply. */
typedef struct id_vec {
	Gtpb__V1__AckRange *v;
	size_t              n, cap;
	size_t              ids; /* ids in all runs */
} id_vec;

struct col_consumer {
	col_consumer_cfg cfg;
	char            *topic, *group, *name, *ckpt_path;
	col_store       *store;
	col_cache       *cache;
	col_ckpt        *ckpt;
	col_stored_fn    stored;
	void            *stored_arg;
	gt_rpc_client   *cli;
	gt_queue        *work;   /* cons_chunk* */
	gt_queue        *writeq; /* cons_batch* */
	gt_queue        *syncq;  /* sync_job*: fsync, checkpoint, then ack - off the writer */
	gt_queue        *spare;  /* cons_batch*: written batches, kept for reuse */
	pthread_t        fetch_thr[COL_MAX_FETCHERS], write_thr, sync_thr, *workers;
	int              nworkers_started;
	int              fetch_started, write_started, sync_started;
	atomic_int       stopping;
	/* writer-only */
	id_vec          pending; /* stored (or duplicate) ids waiting for durability + ack */
	col_rec       **wrecs;   /* per-batch scratch of the writer, kept between batches */
	const uint8_t **wpays;
	size_t         *wlens, *wtodo, wcap;
	uint64_t        pending_epoch;
	int64_t         next_sync, next_ckpt, next_retention;
	int             ckpt_dirty;
	/* metrics */
	gt_counter   *m_fetched, *m_stored, *m_dup, *m_invalid, *m_acked, *m_ackfail, *m_fetcherr;
	gt_hist      *m_write, *m_fetch, *m_sync;
	atomic_ullong batches, epoch, checkpoints, pending_n;
	atomic_int    connected;
	atomic_int    stalled;   /* writes are failing: fetching waits */
	atomic_int    write_err; /* gt_err of the last failed write */
	atomic_int    sync_err;  /* gt_err of the last fdatasync (GT_OK when it worked) */
};

typedef struct sync_job sync_job;

/* col_consumer.c */
void col_batch_free(cons_batch *b);
/* Back to the spare queue (or freed when it is full). */
void   col_batch_recycle(col_consumer *c, cons_batch *b);
gt_err col_ids_push(id_vec *v, const col_dlv *d);

/* col_writer.c: thread mains (arg: the consumer) and the syncer's job */
void *col_writer_main(void *arg);
void *col_syncer_main(void *arg);
void  col_sync_job_free(sync_job *j);

#endif

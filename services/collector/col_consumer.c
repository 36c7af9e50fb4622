/* col_consumer.c - fetch loop, worker pool, writer thread, acks and checkpoints. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "col_consumer.h"
#include "col_fetch.h"
#include "col_jsonl.h"
#include "gt/gt_log.h"
#include "gt/gt_queue.h"
#include "gt/gt_rpc.h"
#include "gt/gt_time.h"
#include "gtpb/v1/mq.pb-c.h"

#define CHUNK 256
#define ACK_MAX 8192 /* ids per Ack request */

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
	gt_rpc_reply             reply; /* the response bytes: fetch's views point into them */
	col_fetch                fetch;
	cons_item               *items;
	size_t                   nitems, items_cap;
	cons_chunk              *chunks;
	size_t                   nchunks, chunks_cap;
	int64_t                  fetched_ns;
	pthread_mutex_t          mtx;
	pthread_cond_t           cv;
	size_t                   left; /* chunks not yet decoded */
};

typedef struct id_vec {
	Gtpb__V1__DeliveryId *v;
	size_t                n, cap;
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
	id_vec           pending; /* stored (or duplicate) ids waiting for durability + ack */
	col_rec        **wrecs;   /* per-batch scratch of the writer, kept between batches */
	const uint8_t  **wpays;
	size_t          *wlens, wcap;
	uint64_t         pending_epoch;
	int64_t          next_sync, next_ckpt, next_retention;
	int              ckpt_dirty;
	/* metrics */
	gt_counter      *m_fetched, *m_stored, *m_dup, *m_invalid, *m_acked, *m_ackfail, *m_fetcherr;
	gt_hist         *m_write, *m_fetch, *m_sync;
	atomic_ullong    batches, epoch, checkpoints, pending_n;
	atomic_int       connected;
};

/* ---- helpers ---- */

/* Batches are recycled through the spare queue: their arrays and line buffers keep their
 * capacity, so in the steady state nothing is allocated per batch but the received message
 * (and the records). */
static cons_batch *
batch_new(void)
{
	cons_batch *b = calloc(1, sizeof(*b));

	if (b != NULL) {
		pthread_mutex_init(&b->mtx, NULL);
		pthread_cond_init(&b->cv, NULL);
	}
	return b;
}

/* Drops the records and the response; keeps the memory. */
static void
batch_clear(cons_batch *b)
{
	size_t i;

	for (i = 0; i < b->nitems; i++)
		col_rec_rele(b->items[i].rec);
	b->nitems = 0;
	b->nchunks = 0;
	b->fetch.n = 0;
	gt_rpc_reply_free(&b->reply);
}

static void
batch_free(cons_batch *b)
{
	size_t i;

	if (b == NULL)
		return;
	batch_clear(b);
	for (i = 0; i < b->chunks_cap; i++)
		gt_buf_fini(&b->chunks[i].lines);
	free(b->chunks);
	free(b->items);
	col_fetch_fini(&b->fetch);
	pthread_mutex_destroy(&b->mtx);
	pthread_cond_destroy(&b->cv);
	free(b);
}

/* Back to the spare queue (or freed when it is full). */
static void
batch_recycle(col_consumer *c, cons_batch *b)
{
	batch_clear(b);
	if (gt_queue_push(c->spare, b, 0) != GT_OK)
		batch_free(b);
}

/* Items and chunks for the b->fetch.n deliveries just fetched. */
static gt_err
batch_prepare(cons_batch *b)
{
	size_t n = b->fetch.n, nch = (n + CHUNK - 1) / CHUNK, i;

	if (b->items_cap < n) {
		free(b->items);
		b->items_cap = 0;
		if ((b->items = malloc(n * sizeof(*b->items))) == NULL)
			return GT_ENOMEM;
		b->items_cap = n;
	}
	memset(b->items, 0, n * sizeof(*b->items));
	b->nitems = n;
	if (b->chunks_cap < nch) {
		cons_chunk *nc = realloc(b->chunks, nch * sizeof(*nc));

		if (nc == NULL)
			return GT_ENOMEM;
		for (i = b->chunks_cap; i < nch; i++)
			gt_buf_init(&nc[i].lines);
		b->chunks = nc;
		b->chunks_cap = nch;
	}
	for (i = 0; i < nch; i++) {
		b->chunks[i].b = b;
		b->chunks[i].from = i * CHUNK;
		b->chunks[i].to = i * CHUNK + CHUNK < n ? i * CHUNK + CHUNK : n;
		gt_buf_reset(&b->chunks[i].lines);
	}
	b->nchunks = nch;
	b->left = nch;
	return GT_OK;
}

static gt_err
ids_push(id_vec *v, const col_dlv *d)
{
	if (v->n == v->cap) {
		size_t                ncap = v->cap ? v->cap * 2 : 1024;
		Gtpb__V1__DeliveryId *nv = realloc(v->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return GT_ENOMEM;
		v->v = nv;
		v->cap = ncap;
	}
	gtpb__v1__delivery_id__init(&v->v[v->n]);
	v->v[v->n].epoch = d->epoch;
	v->v[v->n].partition = d->partition;
	v->v[v->n].offset = d->offset;
	v->n++;
	return GT_OK;
}

/* Sleep up to ns unless stopping. */
static void
cons_nap(col_consumer *c, int64_t ns)
{
	int64_t end = gt_mono_ns() + ns;

	while (!atomic_load(&c->stopping) && gt_mono_ns() < end)
		gt_sleep_ns(20 * GT_NS_PER_MS);
}

/* ---- workers ---- */

static const char *
validate(const col_rec *r)
{
	uint32_t i;

	if (r->gpu_key[0] == '\0')
		return "missing gpu_key";
	if (strlen(r->gpu_key) > 1024)
		return "gpu_key longer than 1024 bytes";
	if (r->ts_ns <= 0)
		return "missing or negative timestamp_ns";
	if (r->nmetrics > 4096 || r->nlabels > 4096)
		return "too many metrics or labels";
	for (i = 0; i < r->nmetrics; i++)
		if (r->metrics[i].name[0] == '\0')
			return "empty metric name";
	return NULL;
}

static void
chunk_decode(cons_chunk *ch)
{
	cons_batch *b = ch->b;
	size_t      i;

	for (i = ch->from; i < ch->to; i++) {
		const col_dlv *d = &b->fetch.v[i];
		cons_item     *it = &b->items[i];
		gt_err         rv;

		if (!d->has_msg || !d->has_id) {
			it->reason = "delivery without message";
			continue;
		}
		rv = col_rec_new_wire(&it->rec, d->payload, d->payload_len, (const char *)d->key,
		    d->key_len);
		if (rv != GT_OK) {
			it->rec = NULL;
			it->reason = rv == GT_ENOMEM ? "out of memory" : "payload is not a TelemetryRecord";
			continue;
		}
		if ((it->reason = validate(it->rec)) == NULL) {
			it->line_off = ch->lines.len;
			if (col_jsonl_encode(&ch->lines, it->rec,
			        &(col_delivery){d->epoch, d->partition, d->offset, 1}) == GT_OK) {
				it->line_len = ch->lines.len - it->line_off;
				continue;
			}
			it->reason = "out of memory";
		}
		col_rec_rele(it->rec);
		it->rec = NULL;
	}
	pthread_mutex_lock(&b->mtx);
	if (--b->left == 0)
		pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mtx);
}

static void *
worker_main(void *arg)
{
	col_consumer *c = arg;
	void         *item;

	pthread_setname_np(pthread_self(), "col-worker");
	while (gt_queue_pop(c->work, &item, -1) == GT_OK)
		chunk_decode(item);
	return NULL;
}

/* ---- fetch ---- */

/* One Fetch call, its response read in place into a new batch. On failure the stub's status
 * says why. */
static gt_err
fetch_once(col_consumer *c, gt_rpc_stub *stub, const Gtpb__V1__FetchRequest *req,
    cons_batch **out)
{
	gt_rpc_reply reply;
	cons_batch  *b;
	void        *item;
	gt_err       rv;

	*out = NULL;
	if ((rv = gt_rpc_call_raw(stub, "Fetch", &req->base, &reply)) != GT_OK)
		return rv;
	b = gt_queue_pop(c->spare, &item, 0) == GT_OK ? item : batch_new();
	if (b == NULL) {
		gt_rpc_reply_free(&reply);
		rv = GT_ENOMEM;
		goto fail;
	}
	b->reply = reply;
	if ((rv = col_fetch_parse(&b->fetch, reply.payload, reply.len)) != GT_OK) {
		batch_recycle(c, b);
		goto fail;
	}
	*out = b;
	return GT_OK;
fail:
	stub->status.code = rv == GT_ENOMEM ? GT_RPC_RESOURCE_EXHAUSTED : GT_RPC_INTERNAL;
	snprintf(stub->status.message, sizeof(stub->status.message), "%s",
	    rv == GT_ENOMEM ? "out of memory" : "response is not a FetchResponse");
	return rv;
}

static void *
fetch_main(void *arg)
{
	col_consumer           *c = arg;
	gt_rpc_stub             stub;
	Gtpb__V1__FetchRequest  req = GTPB__V1__FETCH_REQUEST__INIT;
	int64_t                 backoff = 100 * GT_NS_PER_MS;
	uint64_t                errors = 0;

	pthread_setname_np(pthread_self(), "col-fetch");
	gt_rpc_stub_init(&stub, c->cli, &gtpb__v1__message_queue__descriptor,
	    (int64_t)c->cfg.fetch_wait_ms * GT_NS_PER_MS + 5 * GT_NS_PER_S);
	req.topic = c->topic;
	req.group = c->group;
	req.consumer = c->name;
	req.max_messages = c->cfg.fetch_max;
	req.wait_ms = c->cfg.fetch_wait_ms;
	while (!atomic_load(&c->stopping)) {
		cons_batch       *b = NULL;
		cons_chunk       *chunks;
		size_t            n, i, nch;
		int64_t           t0 = gt_mono_ns();
		gt_err            rv;

		/* Disconnected: short deadlines, so a stop is not held up by a dead broker. */
		stub.timeout_ns = atomic_load(&c->connected) ?
		    (int64_t)c->cfg.fetch_wait_ms * GT_NS_PER_MS + 5 * GT_NS_PER_S :
		    (int64_t)c->cfg.fetch_wait_ms * GT_NS_PER_MS + GT_NS_PER_S;
		rv = fetch_once(c, &stub, &req, &b);
		if (rv != GT_OK) {
			gt_counter_inc(c->m_fetcherr);
			if (errors++ % 50 == 0)
				GT_LOGW("consumer.fetch_failed", GT_KV_STR("code", gt_rpc_code_name(stub.status.code)),
				    GT_KV_STR("detail", stub.status.message), GT_KV_UINT("errors", errors));
			atomic_store(&c->connected, 0);
			cons_nap(c, backoff);
			if (backoff < 2 * GT_NS_PER_S)
				backoff *= 2;
			continue;
		}
		if (!atomic_load(&c->connected))
			GT_LOGI("consumer.connected", GT_KV_STR("mq_url", c->cfg.mq_url));
		atomic_store(&c->connected, 1);
		backoff = 100 * GT_NS_PER_MS;
		gt_hist_observe_ns(c->m_fetch, gt_mono_ns() - t0);
		n = b->fetch.n;
		atomic_store(&c->epoch, b->fetch.epoch);
		if (n == 0) {
			batch_recycle(c, b);
			continue;
		}
		gt_counter_add(c->m_fetched, n);
		b->fetched_ns = t0;
		if (batch_prepare(b) != GT_OK) {
			batch_recycle(c, b); /* not acked: redelivered later */
			cons_nap(c, backoff);
			continue;
		}
		/* Writer first (in order, bounded: backpressure), then the work. Once the last
		 * chunk is queued the writer may free b: read nothing from b after that. */
		nch = b->nchunks;
		chunks = b->chunks;
		if (gt_queue_push(c->writeq, b, -1) != GT_OK) {
			batch_free(b);
			break;
		}
		for (i = 0; i < nch; i++) {
			if (gt_queue_push(c->work, &chunks[i], -1) != GT_OK) {
				/* closing: decode inline so the writer is not left waiting */
				chunk_decode(&chunks[i]);
			}
		}
	}
	return NULL;
}

/* ---- writer ---- */

/* A unit of durability: fsync these descriptors, then write this checkpoint document, then
 * ack these ids. Built by the writer, run by the syncer thread in order. */
typedef struct sync_job {
	int    *fds;
	size_t  nfds;
	id_vec  acks;
	gt_buf  ckpt;
	int     has_ckpt;
} sync_job;

static void
ack_ids(col_consumer *c, gt_rpc_stub *stub, const id_vec *v)
{
	size_t i = 0;

	while (i < v->n) {
		Gtpb__V1__AckRequest   req = GTPB__V1__ACK_REQUEST__INIT;
		Gtpb__V1__DeliveryId **ids;
		ProtobufCMessage      *out = NULL;
		size_t                 k, n = v->n - i < ACK_MAX ? v->n - i : ACK_MAX;
		int                    tries;
		gt_err                 rv = GT_EUNAVAIL;

		if ((ids = malloc(n * sizeof(*ids))) == NULL)
			return;
		for (k = 0; k < n; k++)
			ids[k] = &v->v[i + k];
		req.topic = c->topic;
		req.group = c->group;
		req.consumer = c->name;
		req.n_ids = n;
		req.ids = ids;
		for (tries = 0; tries < 3; tries++) {
			if ((rv = gt_rpc_call_by_name(stub, "Ack", &req.base, &out)) == GT_OK ||
			    stub->status.code == GT_RPC_NOT_FOUND || stub->status.code == GT_RPC_INVALID_ARGUMENT)
				break;
			gt_sleep_ns(50 * GT_NS_PER_MS);
		}
		free(ids);
		if (rv == GT_OK) {
			gt_counter_add(c->m_acked, n);
			protobuf_c_message_free_unpacked(out, NULL);
		} else {
			/* NOT_FOUND: another epoch or a rebalanced partition. Either way the broker
			 * redelivers and the checkpoint marks turn that into a plain ack. */
			gt_counter_add(c->m_ackfail, n);
			GT_LOGW("consumer.ack_failed", GT_KV_STR("code", gt_rpc_code_name(stub->status.code)),
			    GT_KV_STR("detail", stub->status.message), GT_KV_UINT("ids", n));
		}
		i += n;
	}
}

static void
sync_job_free(sync_job *j)
{
	size_t i;

	if (j == NULL)
		return;
	for (i = 0; i < j->nfds; i++)
		close(j->fds[i]);
	free(j->fds);
	free(j->acks.v);
	gt_buf_fini(&j->ckpt);
	free(j);
}

static void *
syncer_main(void *arg)
{
	col_consumer *c = arg;
	gt_rpc_stub   stub;
	void         *item;

	pthread_setname_np(pthread_self(), "col-sync");
	gt_rpc_stub_init(&stub, c->cli, &gtpb__v1__message_queue__descriptor, 5 * GT_NS_PER_S);
	while (gt_queue_pop(c->syncq, &item, -1) == GT_OK) {
		sync_job *j = item;
		size_t    i;
		int64_t   t0 = gt_mono_ns();
		int       ok = 1;

		for (i = 0; i < j->nfds; i++) {
			if (fdatasync(j->fds[i]) != 0) {
				ok = 0;
				GT_LOGE("file.fsync_failed", GT_KV_STR("error", strerror(errno)));
			}
		}
		if (j->nfds > 0)
			gt_hist_observe_ns(c->m_sync, gt_mono_ns() - t0);
		if (j->has_ckpt) {
			gt_err rv = col_ckpt_write(c->ckpt_path, j->ckpt.data, j->ckpt.len);

			if (rv != GT_OK)
				GT_LOGE("checkpoint.save_failed", GT_KV_STR("path", c->ckpt_path), GT_KV_ERR(rv));
			else
				atomic_fetch_add(&c->checkpoints, 1);
		}
		/* not durable: no ack (the broker redelivers; the marks deduplicate) */
		if (ok)
			ack_ids(c, &stub, &j->acks);
		sync_job_free(j);
	}
	return NULL;
}

/* Dead-letter the invalid deliveries of a batch: one Nack per distinct reason (reasons are
 * static strings, so pointers compare). */
static void
nack_invalid(col_consumer *c, gt_rpc_stub *stub, cons_batch *b)
{
	size_t                 n = b->fetch.n, i, k;
	Gtpb__V1__DeliveryId  *idv, **ids;
	const char            *done[16];
	size_t                 ndone = 0;

	idv = malloc(n * sizeof(*idv));
	ids = malloc(n * sizeof(*ids));
	if (idv == NULL || ids == NULL)
		goto out; /* not acked either: redelivered, then dead-lettered after the retries */
	for (;;) {
		const char            *reason = NULL;
		Gtpb__V1__NackRequest  req = GTPB__V1__NACK_REQUEST__INIT;
		ProtobufCMessage      *out = NULL;

		for (i = 0, k = 0; i < n; i++) {
			const char    *r = b->items[i].reason;
			const col_dlv *d = &b->fetch.v[i];
			size_t         j;
			int            seen = 0;

			if (r == NULL || !d->has_id)
				continue;
			for (j = 0; j < ndone; j++)
				seen |= done[j] == r;
			if (seen || (reason != NULL && r != reason))
				continue;
			reason = r;
			gtpb__v1__delivery_id__init(&idv[k]);
			idv[k].epoch = d->epoch;
			idv[k].partition = d->partition;
			idv[k].offset = d->offset;
			ids[k] = &idv[k];
			k++;
		}
		if (k == 0 || ndone == 16)
			break;
		done[ndone++] = reason;
		req.topic = c->topic;
		req.group = c->group;
		req.consumer = c->name;
		req.n_ids = k;
		req.ids = ids;
		req.reason = (char *)reason;
		req.dead_letter = 1;
		GT_LOGW("consumer.invalid_record", GT_KV_STR("reason", reason), GT_KV_UINT("count", k),
		    GT_KV_UINT("partition", ids[0]->partition), GT_KV_UINT("offset", ids[0]->offset));
		if (gt_rpc_call_by_name(stub, "Nack", &req.base, &out) == GT_OK)
			protobuf_c_message_free_unpacked(out, NULL);
		else
			GT_LOGW("consumer.nack_failed", GT_KV_STR("code", gt_rpc_code_name(stub->status.code)));
	}
out:
	free(ids);
	free(idv);
}

/* Hand what was written since the last call to the syncer: descriptors to fsync (interval
 * policy), the checkpoint when due, the ids to ack afterwards. force: everything now. */
static void
writer_durable(col_consumer *c, int force)
{
	int64_t   now = gt_mono_ns();
	sync_job *j;
	int       want_ckpt;

	if (c->cfg.fsync == COL_FSYNC_INTERVAL && !force && now < c->next_sync)
		return;
	want_ckpt = c->ckpt_path != NULL && c->ckpt_dirty && (force || now >= c->next_ckpt);
	if (c->pending.n == 0 && !want_ckpt && c->cfg.fsync != COL_FSYNC_INTERVAL)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return;
	gt_buf_init(&j->ckpt);
	if (c->cfg.fsync == COL_FSYNC_INTERVAL) {
		col_store_sync_take(c->store, &j->fds, &j->nfds);
		c->next_sync = now + c->cfg.fsync_interval_ns;
	}
	if (want_ckpt) {
		col_ckpt_file *files = NULL;
		size_t         n = 0;

		if (col_store_files(c->store, &files, &n) == GT_OK &&
		    col_ckpt_encode(c->ckpt, files, n, &j->ckpt) == GT_OK)
			j->has_ckpt = 1;
		col_ckpt_files_free(files, n);
		c->ckpt_dirty = 0;
		c->next_ckpt = now + c->cfg.ckpt_interval_ns;
	}
	j->acks = c->pending; /* moved; the next interval likely needs as many */
	memset(&c->pending, 0, sizeof(c->pending));
	if (j->acks.n > 0 && (c->pending.v = malloc(j->acks.n * sizeof(*c->pending.v))) != NULL)
		c->pending.cap = j->acks.n;
	atomic_store(&c->pending_n, 0);
	if (j->nfds == 0 && j->acks.n == 0 && !j->has_ckpt) {
		sync_job_free(j);
		return;
	}
	if (gt_queue_push(c->syncq, j, -1) != GT_OK)
		sync_job_free(j);
}

static int64_t
store_floor(void *store, const char *key)
{
	return col_store_batch_floor(store, key);
}

static void
writer_batch(col_consumer *c, gt_rpc_stub *stub, cons_batch *b)
{
	uint64_t                 epoch = b->fetch.epoch;
	size_t                   n = b->fetch.n, i, k = 0;
	col_rec                **recs = NULL;
	const uint8_t          **pays = NULL;
	size_t                  *lens = NULL;
	int64_t                  t0;
	int                      rotated = 0;
	gt_err                   rv = GT_OK, arv = GT_OK;
	uint64_t                 dups = 0, invalid = 0;

	pthread_mutex_lock(&b->mtx);
	while (b->left > 0)
		pthread_cond_wait(&b->cv, &b->mtx);
	pthread_mutex_unlock(&b->mtx);
	atomic_fetch_add(&c->batches, 1);
	if (col_ckpt_epoch(c->ckpt, epoch)) {
		GT_LOGI("consumer.epoch", GT_KV_UINT("epoch", epoch));
		c->ckpt_dirty = 1;
	}
	if (c->pending.n > 0 && c->pending_epoch != epoch) {
		c->pending.n = 0; /* the old broker epoch is gone */
		atomic_store(&c->pending_n, 0);
	}
	c->pending_epoch = epoch;
	if (c->wcap < n) {
		free(c->wrecs);
		free(c->wpays);
		free(c->wlens);
		c->wrecs = malloc(n * sizeof(*recs));
		c->wpays = malloc(n * sizeof(*pays));
		c->wlens = malloc(n * sizeof(*lens));
		c->wcap = n;
		if (c->wrecs == NULL || c->wpays == NULL || c->wlens == NULL) {
			c->wcap = 0;
			goto out; /* nothing acked: redelivered */
		}
	}
	recs = c->wrecs;
	pays = c->wpays;
	lens = c->wlens;
	t0 = gt_mono_ns();
	for (i = 0; i < n; i++) {
		cons_item          *it = &b->items[i];
		const col_dlv      *d = &b->fetch.v[i];
		cons_chunk         *ch = &b->chunks[i / CHUNK];

		if (!d->has_id)
			continue;
		if (it->reason != NULL) {
			invalid++;
			continue;
		}
		if (d->epoch == epoch && col_ckpt_seen(c->ckpt, d->epoch, d->partition, d->offset)) {
			dups++;
			ids_push(&c->pending, d);
			continue;
		}
		/* on failure the rest stays unacked (redelivered); what was appended is
		 * still committed and acked below */
		if ((arv = col_store_append(c->store, it->rec, ch->lines.data + it->line_off,
		         it->line_len)) != GT_OK)
			break;
		recs[k] = it->rec;
		pays[k] = d->payload;
		lens[k] = i; /* index for now */
		k++;
	}
	if (invalid > 0)
		nack_invalid(c, stub, b);
	if (arv != GT_OK)
		GT_LOGE("consumer.append_failed", GT_KV_ERR(arv), GT_KV_UINT("appended", k));
	rv = col_store_commit(c->store, &rotated);
	gt_hist_observe_ns(c->m_write, gt_mono_ns() - t0);
	if (rv != GT_OK) {
		GT_LOGE("consumer.write_failed", GT_KV_ERR(rv), GT_KV_UINT("records", k));
		goto out; /* not acked: redelivered, and the marks are unchanged */
	}
	for (i = 0; i < k; i++) {
		const col_dlv *d = &b->fetch.v[lens[i]];

		col_ckpt_mark(c->ckpt, d->epoch, d->partition, d->offset);
		ids_push(&c->pending, d);
		lens[i] = d->payload_len;
	}
	col_cache_put_batch(c->cache, recs, k, store_floor, c->store);
	if (k > 0)
		c->ckpt_dirty = 1;
	if (rotated)
		c->next_ckpt = 0; /* save now: recovery scans from the saved sizes */
	gt_counter_add(c->m_stored, k);
	gt_counter_add(c->m_dup, dups);
	gt_counter_add(c->m_invalid, invalid);
	atomic_store(&c->pending_n, c->pending.n);
	if (k > 0 && c->stored)
		c->stored(c->stored_arg, recs, pays, lens, k);
out:
	writer_durable(c, c->pending.n >= 200000);
}

static void *
writer_main(void *arg)
{
	col_consumer *c = arg;
	gt_rpc_stub   stub;
	void         *item;
	gt_err        rv;

	pthread_setname_np(pthread_self(), "col-writer");
	gt_rpc_stub_init(&stub, c->cli, &gtpb__v1__message_queue__descriptor, 5 * GT_NS_PER_S);
	c->next_sync = gt_mono_ns() + c->cfg.fsync_interval_ns;
	c->next_ckpt = gt_mono_ns() + c->cfg.ckpt_interval_ns;
	c->next_retention = gt_mono_ns();
	for (;;) {
		rv = gt_queue_pop(c->writeq, &item, 50 * GT_NS_PER_MS);
		if (rv == GT_OK) {
			writer_batch(c, &stub, item);
			batch_recycle(c, item);
		} else if (rv == GT_ETIMEDOUT) {
			writer_durable(c, 0);
		} else {
			break; /* closed and drained */
		}
		if (c->cfg.retention_every_ns > 0 && gt_mono_ns() >= c->next_retention) {
			col_store_retention(c->store, gt_now_ns());
			c->next_retention = gt_mono_ns() + c->cfg.retention_every_ns;
		}
	}
	c->ckpt_dirty = c->ckpt_path != NULL;
	writer_durable(c, 1);
	gt_queue_close(c->syncq);
	return NULL;
}

/* ---- lifecycle ---- */

static char *
dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

gt_err
col_consumer_new(col_consumer **out, const col_consumer_cfg *cfg, col_store *store,
    col_cache *cache, col_ckpt *ckpt, gt_metrics *m, col_stored_fn stored, void *arg)
{
	col_consumer     *c;
	gt_rpc_client_cfg ccfg = {0};
	gt_err            rv;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return GT_ENOMEM;
	c->cfg = *cfg;
	if (c->cfg.workers < 1)
		c->cfg.workers = 1;
	if (c->cfg.fetchers < 1)
		c->cfg.fetchers = 1;
	if (c->cfg.fetchers > COL_MAX_FETCHERS)
		c->cfg.fetchers = COL_MAX_FETCHERS;
	if (c->cfg.queue_batches < 1)
		c->cfg.queue_batches = 4;
	if (c->cfg.fetch_max == 0)
		c->cfg.fetch_max = 2000;
	if (c->cfg.fsync_interval_ns <= 0)
		c->cfg.fsync_interval_ns = 200 * GT_NS_PER_MS;
	if (c->cfg.ckpt_interval_ns <= 0)
		c->cfg.ckpt_interval_ns = GT_NS_PER_S;
	c->store = store;
	c->cache = cache;
	c->ckpt = ckpt;
	c->stored = stored;
	c->stored_arg = arg;
	c->topic = strdup(cfg->topic);
	c->group = strdup(cfg->group);
	c->name = strdup(cfg->consumer);
	c->ckpt_path = dup_or_null(cfg->ckpt_path);
	if (!c->topic || !c->group || !c->name || (cfg->ckpt_path && !c->ckpt_path)) {
		rv = GT_ENOMEM;
		goto fail;
	}
	ccfg.token = cfg->token;
	ccfg.timeout_ns = 5 * GT_NS_PER_S;
	if ((rv = gt_rpc_client_open(&c->cli, cfg->mq_url, &ccfg)) != GT_OK)
		goto fail;
	if ((rv = gt_queue_new(&c->work, (size_t)c->cfg.queue_batches * 64)) != GT_OK ||
	    (rv = gt_queue_new(&c->writeq, (size_t)c->cfg.queue_batches)) != GT_OK ||
	    (rv = gt_queue_new(&c->syncq, 4)) != GT_OK ||
	    (rv = gt_queue_new(&c->spare, 2)) != GT_OK)
		goto fail;
	c->m_fetched = gt_metrics_counter(m, "fetched_total", NULL, "deliveries fetched from gt-mq");
	c->m_stored = gt_metrics_counter(m, "stored_total", NULL, "records written to the files");
	c->m_dup = gt_metrics_counter(m, "duplicates_total", NULL, "redeliveries already stored (acked, not written)");
	c->m_invalid = gt_metrics_counter(m, "invalid_total", NULL, "records that failed validation (dead-lettered)");
	c->m_acked = gt_metrics_counter(m, "acked_total", NULL, "deliveries acked");
	c->m_ackfail = gt_metrics_counter(m, "ack_failures_total", NULL, "delivery acks that failed");
	c->m_fetcherr = gt_metrics_counter(m, "fetch_errors_total", NULL, "failed Fetch calls");
	c->m_write = gt_metrics_hist(m, "write_seconds", NULL, "time to write one fetched batch to the files");
	c->m_sync = gt_metrics_hist(m, "fsync_seconds", NULL, "fdatasync of the files written in one interval");
	c->m_fetch = gt_metrics_hist(m, "fetch_seconds", NULL, "Fetch call latency (includes long-poll wait)");
	*out = c;
	return GT_OK;
fail:
	col_consumer_free(c);
	return rv;
}

gt_err
col_consumer_start(col_consumer *c)
{
	int i;

	if ((c->workers = calloc((size_t)c->cfg.workers, sizeof(*c->workers))) == NULL)
		return GT_ENOMEM;
	for (i = 0; i < c->cfg.workers; i++) {
		if (pthread_create(&c->workers[i], NULL, worker_main, c) != 0)
			return GT_ENOMEM;
		c->nworkers_started++;
	}
	if (pthread_create(&c->sync_thr, NULL, syncer_main, c) != 0)
		return GT_ENOMEM;
	c->sync_started = 1;
	if (pthread_create(&c->write_thr, NULL, writer_main, c) != 0)
		return GT_ENOMEM;
	c->write_started = 1;
	for (i = 0; i < c->cfg.fetchers; i++) {
		if (pthread_create(&c->fetch_thr[i], NULL, fetch_main, c) != 0)
			return GT_ENOMEM;
		c->fetch_started++;
	}
	return GT_OK;
}

void
col_consumer_stop(col_consumer *c)
{
	int i;

	if (c == NULL)
		return;
	atomic_store(&c->stopping, 1);
	for (i = 0; i < c->fetch_started; i++)
		pthread_join(c->fetch_thr[i], NULL);
	c->fetch_started = 0;
	if (c->work)
		gt_queue_close(c->work);
	for (i = 0; i < c->nworkers_started; i++)
		pthread_join(c->workers[i], NULL);
	c->nworkers_started = 0;
	if (c->writeq)
		gt_queue_close(c->writeq);
	if (c->write_started) {
		col_consumer_stats st;

		pthread_join(c->write_thr, NULL);
		c->write_started = 0;
		if (c->sync_started) {
			pthread_join(c->sync_thr, NULL); /* the writer closed syncq */
			c->sync_started = 0;
		}
		col_consumer_stats_get(c, &st);
		GT_LOGI("consumer.stopped", GT_KV_UINT("fetched", st.fetched), GT_KV_UINT("stored", st.stored),
		    GT_KV_UINT("duplicates", st.duplicates), GT_KV_UINT("invalid", st.invalid),
		    GT_KV_UINT("acked", st.acked), GT_KV_UINT("ack_failures", st.ack_failures));
	}
}

void
col_consumer_free(col_consumer *c)
{
	void *item;

	if (c == NULL)
		return;
	col_consumer_stop(c);
	if (c->writeq) {
		while (gt_queue_pop(c->writeq, &item, 0) == GT_OK)
			batch_free(item);
		gt_queue_free(c->writeq);
	}
	if (c->syncq) {
		gt_queue_close(c->syncq);
		if (c->sync_started)
			pthread_join(c->sync_thr, NULL);
		while (gt_queue_pop(c->syncq, &item, 0) == GT_OK)
			sync_job_free(item);
		gt_queue_free(c->syncq);
	}
	if (c->spare) {
		while (gt_queue_pop(c->spare, &item, 0) == GT_OK)
			batch_free(item);
		gt_queue_free(c->spare);
	}
	gt_queue_free(c->work);
	gt_rpc_client_close(c->cli);
	free(c->workers);
	free(c->pending.v);
	free(c->wrecs);
	free(c->wpays);
	free(c->wlens);
	free(c->topic);
	free(c->group);
	free(c->name);
	free(c->ckpt_path);
	free(c);
}

void
col_consumer_stats_get(col_consumer *c, col_consumer_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->fetched = gt_counter_get(c->m_fetched);
	st->stored = gt_counter_get(c->m_stored);
	st->duplicates = gt_counter_get(c->m_dup);
	st->invalid = gt_counter_get(c->m_invalid);
	st->acked = gt_counter_get(c->m_acked);
	st->ack_failures = gt_counter_get(c->m_ackfail);
	st->fetch_errors = gt_counter_get(c->m_fetcherr);
	st->batches = atomic_load(&c->batches);
	st->epoch = atomic_load(&c->epoch);
	st->checkpoints = atomic_load(&c->checkpoints);
	st->pending_acks = atomic_load(&c->pending_n);
	st->connected = atomic_load(&c->connected);
	st->write_p50_ms = gt_hist_quantile(c->m_write, 0.5) * 1e3;
	st->write_p99_ms = gt_hist_quantile(c->m_write, 0.99) * 1e3;
	st->fsync_p50_ms = gt_hist_quantile(c->m_sync, 0.5) * 1e3;
	st->fsync_p99_ms = gt_hist_quantile(c->m_sync, 0.99) * 1e3;
}

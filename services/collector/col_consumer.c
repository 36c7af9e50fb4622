/* col_consumer.c - batches, the fetch loop, the worker pool and the lifecycle of the ingest
 * pipeline (the writer and syncer threads are col_writer.c). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_consumer_int.h"
#include "col_jsonl.h"
#include "gt/gt_log.h"
#include "gt/gt_time.h"
#include "gt/gt_utf8.h"

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

void
col_batch_free(cons_batch *b)
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

void
col_batch_recycle(col_consumer *c, cons_batch *b)
{
	batch_clear(b);
	if (gt_queue_push(c->spare, b, 0) != GT_OK)
		col_batch_free(b);
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

gt_err
col_ids_push(id_vec *v, const col_dlv *d)
{
	static const Gtpb__V1__AckRange init = GTPB__V1__ACK_RANGE__INIT;
	Gtpb__V1__AckRange             *last = v->n > 0 ? &v->v[v->n - 1] : NULL;

	if (last != NULL && last->epoch == d->epoch && last->partition == d->partition &&
	    last->offset + last->count == d->offset && last->count < ACK_MAX_IDS) {
		last->count++;
		v->ids++;
		return GT_OK;
	}
	if (v->n == v->cap) {
		size_t              ncap = v->cap ? v->cap * 2 : 64;
		Gtpb__V1__AckRange *nv = realloc(v->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return GT_ENOMEM;
		v->v = nv;
		v->cap = ncap;
	}
	v->v[v->n] = init;
	v->v[v->n].epoch = d->epoch;
	v->v[v->n].partition = d->partition;
	v->v[v->n].offset = d->offset;
	v->v[v->n].count = 1;
	v->n++;
	v->ids++;
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

static int
utf8_ok(const char *s)
{
	return s == NULL || gt_utf8_valid(s, strlen(s));
}

/* A record whose strings are not UTF-8 would poison every reader of its file and of the
 * query answers (JSON, protobuf in other languages): it is dead-lettered with the reason. */
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
	for (i = 0; i < r->nmetrics; i++) {
		if (r->metrics[i].name[0] == '\0')
			return "empty metric name";
		if (!utf8_ok(r->metrics[i].name))
			return "metric name is not UTF-8";
	}
	if (!utf8_ok(r->gpu_key) || !utf8_ok(r->hostname) || !utf8_ok(r->device) ||
	    !utf8_ok(r->uuid) || !utf8_ok(r->model) || !utf8_ok(r->gpu_id))
		return "a string field is not UTF-8";
	for (i = 0; i < r->nlabels; i++)
		if (!utf8_ok(r->labels[i].key) || !utf8_ok(r->labels[i].value))
			return "a label is not UTF-8";
	return NULL;
}

/* Room for the chunk's lines up front: a line is about 1.5 times its packed record, plus its
 * delivery id. Growing by doubling instead would copy the buffer (and fault in new pages)
 * several times over while the recycled batches warm up; their buffers keep the room. */
static void
chunk_reserve(cons_chunk *ch)
{
	const cons_batch *b = ch->b;
	size_t            i, want = 4096;

	for (i = ch->from; i < ch->to; i++)
		want += 2 * b->fetch.v[i].payload_len + 128;
	if (ch->lines.cap >= want)
		return;
	gt_buf_fini(&ch->lines); /* empty: nothing to copy over */
	gt_buf_init(&ch->lines);
	(void)gt_buf_reserve(&ch->lines, want); /* on failure the encoder's own reserve reports */
}

static void
chunk_decode(cons_chunk *ch)
{
	cons_batch *b = ch->b;
	size_t      i;

	chunk_reserve(ch);
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
			it->reason =
			    rv == GT_ENOMEM ? "out of memory" : "payload is not a TelemetryRecord";
			continue;
		}
		if ((it->reason = validate(it->rec)) == NULL) {
			it->line_off = ch->lines.len;
			if (col_jsonl_encode(
			        &ch->lines, it->rec,
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
fetch_once(col_consumer *c, gt_rpc_stub *stub, const Gtpb__V1__FetchRequest *req, cons_batch **out)
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
		col_batch_recycle(c, b);
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
	col_consumer          *c = arg;
	gt_rpc_stub            stub;
	Gtpb__V1__FetchRequest req = GTPB__V1__FETCH_REQUEST__INIT;
	int64_t                backoff = 100 * GT_NS_PER_MS;
	uint64_t               errors = 0;

	pthread_setname_np(pthread_self(), "col-fetch");
	gt_rpc_stub_init(&stub, c->cli, &gtpb__v1__message_queue__descriptor,
	                 (int64_t)c->cfg.fetch_wait_ms * GT_NS_PER_MS + 5 * GT_NS_PER_S);
	req.topic = c->topic;
	req.group = c->group;
	req.consumer = c->name;
	req.max_messages = c->cfg.fetch_max;
	req.wait_ms = c->cfg.fetch_wait_ms;
	while (!atomic_load(&c->stopping)) {
		cons_batch *b = NULL;
		cons_chunk *chunks;
		size_t      n, i, nch;
		int64_t     t0 = gt_mono_ns();
		gt_err      rv;

		/* The writer cannot write (disk full): fetch nothing more until it can. */
		if (atomic_load(&c->stalled)) {
			cons_nap(c, 100 * GT_NS_PER_MS);
			continue;
		}
		/* Disconnected: short deadlines, so a stop is not held up by a dead broker. */
		stub.timeout_ns =
		    atomic_load(&c->connected)
		        ? (int64_t)c->cfg.fetch_wait_ms * GT_NS_PER_MS + 5 * GT_NS_PER_S
		        : (int64_t)c->cfg.fetch_wait_ms * GT_NS_PER_MS + GT_NS_PER_S;
		rv = fetch_once(c, &stub, &req, &b);
		if (rv != GT_OK) {
			gt_counter_inc(c->m_fetcherr);
			if (errors++ % 50 == 0)
				GT_LOGW("consumer.fetch_failed",
				        GT_KV_STR("code", gt_rpc_code_name(stub.status.code)),
				        GT_KV_STR("detail", stub.status.message),
				        GT_KV_UINT("errors", errors));
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
			col_batch_recycle(c, b);
			continue;
		}
		gt_counter_add(c->m_fetched, n);
		b->fetched_ns = t0;
		if (batch_prepare(b) != GT_OK) {
			col_batch_recycle(c, b); /* not acked: redelivered later */
			cons_nap(c, backoff);
			continue;
		}
		/* Writer first (in order, bounded: backpressure), then the work. Once the last
		 * chunk is queued the writer may free b: read nothing from b after that. */
		nch = b->nchunks;
		chunks = b->chunks;
		if (gt_queue_push(c->writeq, b, -1) != GT_OK) {
			col_batch_free(b);
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
	    /* room for every batch that can be in flight (fetched, in writeq, in syncq), so
	     * the steady state recycles them all instead of freeing and re-growing some */
	    (rv = gt_queue_new(&c->spare, (size_t)c->cfg.queue_batches + 6)) != GT_OK)
		goto fail;
	c->m_fetched =
	    gt_metrics_counter(m, "fetched_total", NULL, "deliveries fetched from gt-mq");
	c->m_stored = gt_metrics_counter(m, "stored_total", NULL, "records written to the files");
	c->m_dup = gt_metrics_counter(m, "duplicates_total", NULL,
	                              "redeliveries already stored (acked, not written)");
	c->m_invalid = gt_metrics_counter(m, "invalid_total", NULL,
	                                  "records that failed validation (dead-lettered)");
	c->m_acked = gt_metrics_counter(m, "acked_total", NULL, "deliveries acked");
	c->m_ackfail =
	    gt_metrics_counter(m, "ack_failures_total", NULL, "delivery acks that failed");
	c->m_fetcherr = gt_metrics_counter(m, "fetch_errors_total", NULL, "failed Fetch calls");
	c->m_write = gt_metrics_hist(m, "write_seconds", NULL,
	                             "time to write one fetched batch to the files");
	c->m_sync = gt_metrics_hist(m, "fsync_seconds", NULL,
	                            "fdatasync of the files written in one interval");
	c->m_fetch = gt_metrics_hist(m, "fetch_seconds", NULL,
	                             "Fetch call latency (includes long-poll wait)");
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
	if (pthread_create(&c->sync_thr, NULL, col_syncer_main, c) != 0)
		return GT_ENOMEM;
	c->sync_started = 1;
	if (pthread_create(&c->write_thr, NULL, col_writer_main, c) != 0)
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
		GT_LOGI("consumer.stopped", GT_KV_UINT("fetched", st.fetched),
		        GT_KV_UINT("stored", st.stored), GT_KV_UINT("duplicates", st.duplicates),
		        GT_KV_UINT("invalid", st.invalid), GT_KV_UINT("acked", st.acked),
		        GT_KV_UINT("ack_failures", st.ack_failures));
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
			col_batch_free(item);
		gt_queue_free(c->writeq);
	}
	if (c->syncq) {
		gt_queue_close(c->syncq);
		if (c->sync_started)
			pthread_join(c->sync_thr, NULL);
		while (gt_queue_pop(c->syncq, &item, 0) == GT_OK)
			col_sync_job_free(item);
		gt_queue_free(c->syncq);
	}
	if (c->spare) {
		while (gt_queue_pop(c->spare, &item, 0) == GT_OK)
			col_batch_free(item);
		gt_queue_free(c->spare);
	}
	gt_queue_free(c->work);
	gt_rpc_client_close(c->cli);
	free(c->workers);
	free(c->pending.v);
	free(c->wrecs);
	free(c->wpays);
	free(c->wlens);
	free(c->wtodo);
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
	st->write_stalled = atomic_load(&c->stalled);
	st->write_error = st->write_stalled ? (gt_err)atomic_load(&c->write_err) : GT_OK;
	st->sync_error = (gt_err)atomic_load(&c->sync_err);
	st->write_p50_ms = gt_hist_quantile(c->m_write, 0.5) * 1e3;
	st->write_p99_ms = gt_hist_quantile(c->m_write, 0.99) * 1e3;
	st->fsync_p50_ms = gt_hist_quantile(c->m_sync, 0.5) * 1e3;
	st->fsync_p99_ms = gt_hist_quantile(c->m_sync, 0.99) * 1e3;
}

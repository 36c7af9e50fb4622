/* stm_pipe.c - batching, rate limiting and retried publishing (see stm_pipe.h).
 *
 * Threads: the reader (stm_pipe_put / stm_pipe_finish) and `workers` publisher threads.
 * Chunks move pool -> reader (filling) -> worker queue -> worker (publishing) -> pool; each
 * chunk has exactly one owner at a time, so chunk contents need no lock.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gt/gt_buf.h"
#include "gt/gt_hash.h"
#include "gt/gt_log.h"
#include "gt/gt_queue.h"
#include "gt/gt_record.h"
#include "gt/gt_rpc.h"
#include "gtpb/v1/mq.pb-c.h"
#include "stm_pipe.h"
#include "stm_rate.h"

typedef struct ent {
	uint32_t key_off;
	uint32_t pay_off;
	uint32_t pay_len;
	uint32_t patch_ts;
} ent;

typedef struct chunk {
	gt_buf data; /* keys (NUL-terminated) and payloads */
	ent   *ents;
	size_t n, cap;
} chunk;

typedef struct worker {
	stm_pipe  *pipe;
	int        id;
	pthread_t  thr;
	int        started;
	gt_queue  *q;
	chunk     *cur; /* being filled by the reader */
	int64_t    cur_since; /* mono time of cur's first record */
	stm_rate   rate;
	gt_rpc_stub stub;
	char       producer_id[160];
	uint64_t   seq;
	Gtpb__V1__Message  *msgs;
	Gtpb__V1__Message **pmsgs;
} worker;

struct stm_pipe {
	stm_pipe_cfg    cfg;
	char           *mq_url, *token, *topic;
	gt_rpc_client  *cli;
	worker         *w;
	gt_queue       *pool;
	chunk          *chunks;
	size_t          nchunks;
	unsigned        rr;
	unsigned        publish_idx;
	int64_t         ts_cache; /* placeholder for stamped records (rewritten at publish) */
	unsigned        ts_uses;

	atomic_int      draining; /* no rate limit */
	atomic_int      abandon;  /* drain deadline passed: give up */
	pthread_mutex_t mtx;
	pthread_cond_t  cv;
	int             running; /* workers still running */
	int             finished;

	gt_counter *c_queued, *c_published, *c_dup, *c_failed, *c_abandoned, *c_requests, *c_retries,
	    *c_bytes;
	gt_hist *h_latency;
};

/* ---------------------------------------------------------------- helpers */

int
stm_pipe_patch_ts(uint8_t *p, size_t len, int64_t ts_ns)
{
	uint64_t v = (uint64_t)ts_ns;

	/* tag 1 varint, then exactly 9 bytes: 2^56 <= v < 2^63 (1972 .. 2262). */
	if (len < 10 || p[0] != 0x08 || (p[8] & 0x80) == 0 || (p[9] & 0x80) != 0)
		return 0;
	if (v < (UINT64_C(1) << 56) || v >= (UINT64_C(1) << 63))
		return 0;
	for (int i = 0; i < 8; i++) {
		p[1 + i] = (uint8_t)((v & 0x7f) | 0x80);
		v >>= 7;
	}
	p[9] = (uint8_t)v;
	return 1;
}

static void
pipe_sleep(stm_pipe *p, int64_t ns)
{
	struct timespec ts;
	int64_t         until = gt_mono_ns() + ns;

	ts.tv_sec = (time_t)(until / GT_NS_PER_S);
	ts.tv_nsec = (long)(until % GT_NS_PER_S);
	pthread_mutex_lock(&p->mtx);
	while (!atomic_load(&p->abandon) && gt_mono_ns() < until)
		if (pthread_cond_timedwait(&p->cv, &p->mtx, &ts) != 0)
			break;
	pthread_mutex_unlock(&p->mtx);
}

static int
retryable(gt_rpc_code c)
{
	return c == GT_RPC_UNAVAILABLE || c == GT_RPC_RESOURCE_EXHAUSTED ||
	       c == GT_RPC_DEADLINE_EXCEEDED;
}

/* Publish one request until confirmed, refused or abandoned. Returns GT_OK, GT_ECANCELED
 * (abandoned) or the refusal. */
static gt_err
publish(worker *w, Gtpb__V1__PublishRequest *req)
{
	stm_pipe *p = w->pipe;
	int64_t   backoff = p->cfg.backoff_min_ns;
	int       warned = 0;

	for (;;) {
		ProtobufCMessage *out = NULL;
		int64_t           t0 = gt_mono_ns();
		gt_err            rv;
		gt_rpc_code       code;

		if (atomic_load(&p->abandon))
			return GT_ECANCELED;
		gt_counter_inc(p->c_requests);
		rv = gt_rpc_call(&w->stub, p->publish_idx, &req->base, &out);
		gt_hist_observe_ns(p->h_latency, gt_mono_ns() - t0);
		if (rv == GT_OK) {
			Gtpb__V1__PublishResponse *resp = (Gtpb__V1__PublishResponse *)out;
			if (resp->duplicate)
				gt_counter_add(p->c_dup, req->n_messages);
			protobuf_c_message_free_unpacked(out, NULL);
			if (warned)
				GT_LOGI("publish.recovered", GT_KV_STR("producer", w->producer_id),
				    GT_KV_UINT("sequence", req->sequence));
			return GT_OK;
		}
		code = w->stub.status.code;
		if (!retryable(code)) {
			GT_LOGE("publish.failed", GT_KV_STR("producer", w->producer_id),
			    GT_KV_UINT("sequence", req->sequence), GT_KV_STR("code", gt_rpc_code_name(code)),
			    GT_KV_STR("reason", w->stub.status.message),
			    GT_KV_UINT("records", req->n_messages));
			return rv;
		}
		gt_counter_inc(p->c_retries);
		if (!warned) {
			GT_LOGW("publish.retry", GT_KV_STR("producer", w->producer_id),
			    GT_KV_UINT("sequence", req->sequence), GT_KV_STR("code", gt_rpc_code_name(code)),
			    GT_KV_STR("reason", w->stub.status.message));
			warned = 1;
		}
		/* Backoff with +-25% jitter, interrupted by abandon. */
		{
			int64_t j = backoff / 4;
			int64_t d = backoff - j + (j > 0 ? (int64_t)((uint64_t)t0 % (uint64_t)(2 * j)) : 0);
			pipe_sleep(p, d);
		}
		backoff *= 2;
		if (backoff > p->cfg.backoff_max_ns)
			backoff = p->cfg.backoff_max_ns;
	}
}

static void
chunk_publish(worker *w, chunk *c)
{
	stm_pipe *p = w->pipe;
	size_t    i = 0;

	while (i < c->n) {
		Gtpb__V1__PublishRequest req = GTPB__V1__PUBLISH_REQUEST__INIT;
		uint32_t                 want = (uint32_t)(c->n - i), got;
		int64_t                  wait = 0, now_ts;
		uint64_t                 bytes = 0;
		gt_err                   rv;

		if (want > p->cfg.batch)
			want = p->cfg.batch;
		if (atomic_load(&p->abandon)) {
			gt_counter_add(p->c_abandoned, c->n - i);
			return;
		}
		if (atomic_load(&p->draining))
			got = want;
		else if ((got = stm_rate_take(&w->rate, want, &wait)) == 0) {
			pipe_sleep(p, wait < 50 * GT_NS_PER_MS ? wait : 50 * GT_NS_PER_MS);
			continue;
		}
		now_ts = gt_now_ns();
		for (uint32_t k = 0; k < got; k++) {
			ent *e = &c->ents[i + k];
			Gtpb__V1__Message *m = &w->msgs[k];
			m->key = c->data.data + e->key_off;
			m->payload.data = (uint8_t *)c->data.data + e->pay_off;
			m->payload.len = e->pay_len;
			if (e->patch_ts)
				stm_pipe_patch_ts(m->payload.data, m->payload.len, now_ts);
			bytes += e->pay_len;
		}
		req.topic = p->topic;
		req.producer_id = w->producer_id;
		req.sequence = ++w->seq;
		req.n_messages = got;
		req.messages = w->pmsgs;
		/* Only `duplicate` is read: no Position per record built, sent and unpacked. */
		req.omit_positions = 1;
		rv = publish(w, &req);
		if (rv == GT_OK) {
			gt_counter_add(p->c_published, got);
			gt_counter_add(p->c_bytes, bytes);
		} else if (rv == GT_ECANCELED) {
			gt_counter_add(p->c_abandoned, c->n - i);
			return;
		} else
			gt_counter_add(p->c_failed, got);
		i += got;
	}
}

static void *
worker_main(void *arg)
{
	worker   *w = arg;
	stm_pipe *p = w->pipe;
	void     *item;

	while (gt_queue_pop(w->q, &item, -1) == GT_OK) {
		chunk *c = item;
		chunk_publish(w, c);
		c->n = 0;
		gt_buf_reset(&c->data);
		gt_queue_push(p->pool, c, -1);
	}
	pthread_mutex_lock(&p->mtx);
	p->running--;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mtx);
	return NULL;
}

/* ---------------------------------------------------------------- public */

static void
make_producer_prefix(char *buf, size_t len)
{
	char host[64] = "host";

	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	snprintf(buf, len, "stm-%s-%d-%llx", host, (int)getpid(),
	    (unsigned long long)(gt_hash64(&(int64_t){gt_now_ns()}, sizeof(int64_t)) & 0xffffffffu));
}

gt_err
stm_pipe_new(stm_pipe **out, const stm_pipe_cfg *cfg)
{
	stm_pipe         *p;
	gt_rpc_client_cfg ccfg = {0};
	char              prefix[128];
	gt_err            rv = GT_ENOMEM;
	size_t            per_q;
	uint32_t          chunk_cap;
	const ProtobufCMethodDescriptor *md;

	if (cfg->workers < 1 || cfg->batch < 1 || cfg->metrics == NULL || cfg->mq_url == NULL)
		return GT_EINVAL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return GT_ENOMEM;
	p->cfg = *cfg;
	pthread_mutex_init(&p->mtx, NULL);
	{
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&p->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (p->cfg.queue_depth < 1)
		p->cfg.queue_depth = 2;
	if (p->cfg.rpc_timeout_ns <= 0)
		p->cfg.rpc_timeout_ns = 5 * GT_NS_PER_S;
	if (p->cfg.backoff_min_ns <= 0)
		p->cfg.backoff_min_ns = 20 * GT_NS_PER_MS;
	if (p->cfg.backoff_max_ns < p->cfg.backoff_min_ns)
		p->cfg.backoff_max_ns = 2 * GT_NS_PER_S;
	if (p->cfg.drain_timeout_ns <= 0)
		p->cfg.drain_timeout_ns = 10 * GT_NS_PER_S;
	if (p->cfg.clock == NULL)
		p->cfg.clock = gt_clock_system();
	if ((p->mq_url = strdup(cfg->mq_url)) == NULL ||
	    (p->topic = strdup(cfg->topic ? cfg->topic : "gpu-telemetry")) == NULL ||
	    (cfg->token && (p->token = strdup(cfg->token)) == NULL))
		goto fail;
	p->cfg.mq_url = p->mq_url;
	p->cfg.topic = p->topic;
	p->cfg.token = p->token;
	md = protobuf_c_service_descriptor_get_method_by_name(
	    &gtpb__v1__message_queue__descriptor, "Publish");
	p->publish_idx = (unsigned)(md - gtpb__v1__message_queue__descriptor.methods);

	{
		gt_metrics *m = cfg->metrics;
		p->c_queued = gt_metrics_counter(m, "records_queued_total", NULL,
		    "Records parsed, packed and queued for publishing");
		p->c_published = gt_metrics_counter(m, "records_published_total", NULL,
		    "Records confirmed by the broker");
		p->c_dup = gt_metrics_counter(m, "records_duplicate_total", NULL,
		    "Records in resent requests the broker had already stored");
		p->c_failed = gt_metrics_counter(m, "records_failed_total", NULL,
		    "Records refused by the broker with a non-retryable error");
		p->c_abandoned = gt_metrics_counter(m, "records_abandoned_total", NULL,
		    "Records not confirmed before the drain timeout at shutdown");
		p->c_requests = gt_metrics_counter(m, "publish_requests_total", NULL,
		    "Publish calls, retries included");
		p->c_retries = gt_metrics_counter(m, "publish_retries_total", NULL,
		    "Publish calls retried after UNAVAILABLE/RESOURCE_EXHAUSTED/DEADLINE_EXCEEDED");
		p->c_bytes = gt_metrics_counter(m, "payload_bytes_total", NULL,
		    "Payload bytes confirmed by the broker");
		p->h_latency = gt_metrics_hist(m, "publish_latency_seconds", NULL,
		    "Latency of one Publish call");
		if (!p->c_queued || !p->c_published || !p->c_dup || !p->c_failed || !p->c_abandoned ||
		    !p->c_requests || !p->c_retries || !p->c_bytes || !p->h_latency)
			goto fail;
	}

	ccfg.token = p->token;
	ccfg.timeout_ns = p->cfg.rpc_timeout_ns;
	if ((rv = gt_rpc_client_open(&p->cli, p->mq_url, &ccfg)) != GT_OK)
		goto fail;
	rv = GT_ENOMEM;

	/* Rate-limited workers publish at most a burst (rate/10) at a time: chunks of that size
	 * keep the reader no more than ~0.3 s of traffic ahead, so a stop does not flush a
	 * large backlog at once. */
	chunk_cap = p->cfg.batch;
	if (p->cfg.rate > 0 && p->cfg.rate / 10.0 < (double)chunk_cap)
		chunk_cap = p->cfg.rate < 10.0 ? 1 : (uint32_t)(p->cfg.rate / 10.0);
	p->nchunks = (size_t)p->cfg.workers * (size_t)(p->cfg.queue_depth + 1);
	per_q = p->nchunks;
	if ((p->chunks = calloc(p->nchunks, sizeof(*p->chunks))) == NULL ||
	    gt_queue_new(&p->pool, p->nchunks) != GT_OK)
		goto fail;
	for (size_t i = 0; i < p->nchunks; i++) {
		chunk *c = &p->chunks[i];
		gt_buf_init(&c->data);
		if ((c->ents = calloc(p->cfg.batch, sizeof(*c->ents))) == NULL)
			goto fail;
		c->cap = chunk_cap;
		gt_queue_push(p->pool, c, 0);
	}
	if ((p->w = calloc((size_t)p->cfg.workers, sizeof(*p->w))) == NULL)
		goto fail;
	if (cfg->producer_id && *cfg->producer_id)
		snprintf(prefix, sizeof(prefix), "%s", cfg->producer_id);
	else
		make_producer_prefix(prefix, sizeof(prefix));
	for (int i = 0; i < p->cfg.workers; i++) {
		worker *w = &p->w[i];
		w->pipe = p;
		w->id = i;
		/* Sequences start at the current time in µs: strictly above anything an earlier
		 * process with the same --producer-id sent, so a restart is never deduplicated. */
		w->seq = (uint64_t)(gt_now_ns() / GT_NS_PER_US);
		snprintf(w->producer_id, sizeof(w->producer_id), "%s-w%d", prefix, i);
		stm_rate_init(&w->rate, p->cfg.rate, 0, p->cfg.clock);
		gt_rpc_stub_init(&w->stub, p->cli, &gtpb__v1__message_queue__descriptor,
		    p->cfg.rpc_timeout_ns);
		if (gt_queue_new(&w->q, per_q) != GT_OK ||
		    (w->msgs = calloc(p->cfg.batch, sizeof(*w->msgs))) == NULL ||
		    (w->pmsgs = calloc(p->cfg.batch, sizeof(*w->pmsgs))) == NULL)
			goto fail;
		for (uint32_t k = 0; k < p->cfg.batch; k++) {
			gtpb__v1__message__init(&w->msgs[k]);
			w->pmsgs[k] = &w->msgs[k];
		}
	}
	for (int i = 0; i < p->cfg.workers; i++) {
		if (pthread_create(&p->w[i].thr, NULL, worker_main, &p->w[i]) != 0) {
			rv = GT_EINTERNAL;
			goto fail;
		}
		p->w[i].started = 1;
		p->running++;
	}
	*out = p;
	return GT_OK;
fail:
	stm_pipe_free(p);
	return rv;
}

static chunk *
chunk_get(stm_pipe *p)
{
	void *item;

	for (;;) {
		gt_err rv = gt_queue_pop(p->pool, &item, 50 * GT_NS_PER_MS);
		if (rv == GT_OK)
			return item;
		if (rv != GT_ETIMEDOUT)
			return NULL;
		if (p->cfg.stopping && p->cfg.stopping(p->cfg.stopping_arg))
			return NULL;
	}
}

gt_err
stm_pipe_put(stm_pipe *p, Gtpb__V1__TelemetryRecord *rec, int stamp_now)
{
	worker *w;
	chunk  *c;
	size_t  klen, plen, need;
	ent    *e;
	int     patch = 0;

	if (stamp_now || rec->timestamp_ns == 0) {
		/* Any current time does: the worker rewrites it just before the Publish. */
		if ((p->ts_uses++ & 1023) == 0)
			p->ts_cache = gt_now_ns();
		rec->timestamp_ns = p->ts_cache;
		patch = 1;
	}
	if (p->cfg.dispatch_by_key)
		w = &p->w[gt_hash64(rec->gpu_key, strlen(rec->gpu_key)) % (uint64_t)p->cfg.workers];
	else {
		w = &p->w[p->rr];
		if (++p->rr == (unsigned)p->cfg.workers)
			p->rr = 0;
	}
	if ((c = w->cur) == NULL) {
		if ((c = chunk_get(p)) == NULL)
			return GT_ECANCELED;
		w->cur = c;
	}
	klen = strlen(rec->gpu_key);
	plen = gt_record_size(rec);
	need = klen + 1 + plen;
	if (c->data.len + need > UINT32_MAX)
		return GT_ENOMEM;
	if (gt_buf_reserve(&c->data, need) != GT_OK)
		return GT_ENOMEM;
	if (c->n == 0)
		w->cur_since = gt_mono_ns();
	e = &c->ents[c->n];
	e->key_off = (uint32_t)c->data.len;
	memcpy(c->data.data + c->data.len, rec->gpu_key, klen + 1);
	c->data.len += klen + 1;
	e->pay_off = (uint32_t)c->data.len;
	e->pay_len = (uint32_t)gt_record_pack(rec, (uint8_t *)c->data.data + c->data.len);
	c->data.len += e->pay_len;
	e->patch_ts = (uint32_t)(patch && stm_pipe_patch_ts((uint8_t *)c->data.data + e->pay_off,
	                                       e->pay_len, rec->timestamp_ns));
	c->n++;
	gt_counter_inc(p->c_queued);
	if (c->n == c->cap) {
		w->cur = NULL;
		if (gt_queue_push(w->q, c, -1) != GT_OK)
			return GT_ECLOSED;
	}
	return GT_OK;
}

int64_t
stm_pipe_linger(stm_pipe *p, int64_t linger_ns)
{
	int64_t now = gt_mono_ns(), next = -1;

	for (int i = 0; i < p->cfg.workers; i++) {
		worker *w = &p->w[i];
		int64_t due;

		if (w->cur == NULL || w->cur->n == 0)
			continue;
		due = w->cur_since + linger_ns;
		if (due <= now) {
			chunk *c = w->cur;
			w->cur = NULL;
			gt_queue_push(w->q, c, -1); /* never blocks: a queue holds every chunk */
		} else if (next < 0 || due - now < next)
			next = due - now;
	}
	return next;
}

void
stm_pipe_stop(stm_pipe *p)
{
	atomic_store(&p->draining, 1);
}

gt_err
stm_pipe_finish(stm_pipe *p)
{
	int64_t        deadline = -1;
	stm_pipe_stats st;

	if (p->finished)
		return GT_EINVAL;
	p->finished = 1;
	for (int i = 0; i < p->cfg.workers; i++) {
		worker *w = &p->w[i];
		if (w->cur != NULL) {
			chunk *c = w->cur;
			w->cur = NULL;
			if (c->n > 0)
				gt_queue_push(w->q, c, -1);
			else
				gt_queue_push(p->pool, c, -1);
		}
		gt_queue_close(w->q);
	}
	pthread_mutex_lock(&p->mtx);
	while (p->running > 0) {
		struct timespec ts;
		int64_t         until;

		if (deadline < 0 && (atomic_load(&p->draining) ||
		                        (p->cfg.stopping && p->cfg.stopping(p->cfg.stopping_arg)))) {
			atomic_store(&p->draining, 1);
			deadline = gt_mono_ns() + p->cfg.drain_timeout_ns;
		}
		if (deadline >= 0 && gt_mono_ns() >= deadline && !atomic_load(&p->abandon)) {
			atomic_store(&p->abandon, 1);
			pthread_cond_broadcast(&p->cv);
			GT_LOGW("drain.timeout", GT_KV_INT("drain_timeout_ms",
			    p->cfg.drain_timeout_ns / GT_NS_PER_MS));
		}
		until = gt_mono_ns() + 50 * GT_NS_PER_MS;
		ts.tv_sec = (time_t)(until / GT_NS_PER_S);
		ts.tv_nsec = (long)(until % GT_NS_PER_S);
		pthread_cond_timedwait(&p->cv, &p->mtx, &ts);
	}
	pthread_mutex_unlock(&p->mtx);
	for (int i = 0; i < p->cfg.workers; i++) {
		if (p->w[i].started) {
			pthread_join(p->w[i].thr, NULL);
			p->w[i].started = 0;
		}
	}
	stm_pipe_get_stats(p, &st);
	return st.failed == 0 && st.abandoned == 0 && st.published == st.queued ? GT_OK : GT_EIO;
}

void
stm_pipe_get_stats(stm_pipe *p, stm_pipe_stats *st)
{
	st->queued = gt_counter_get(p->c_queued);
	st->published = gt_counter_get(p->c_published);
	st->duplicates = gt_counter_get(p->c_dup);
	st->failed = gt_counter_get(p->c_failed);
	st->abandoned = gt_counter_get(p->c_abandoned);
	st->requests = gt_counter_get(p->c_requests);
	st->retries = gt_counter_get(p->c_retries);
	st->bytes = gt_counter_get(p->c_bytes);
}

const char *
stm_pipe_producer_id(stm_pipe *p, int i)
{
	return i >= 0 && i < p->cfg.workers ? p->w[i].producer_id : NULL;
}

void
stm_pipe_free(stm_pipe *p)
{
	if (p == NULL)
		return;
	if (p->w != NULL) {
		atomic_store(&p->abandon, 1);
		pthread_mutex_lock(&p->mtx);
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mtx);
		for (int i = 0; i < p->cfg.workers; i++)
			if (p->w[i].q)
				gt_queue_close(p->w[i].q);
		for (int i = 0; i < p->cfg.workers; i++)
			if (p->w[i].started)
				pthread_join(p->w[i].thr, NULL);
		for (int i = 0; i < p->cfg.workers; i++) {
			gt_queue_free(p->w[i].q);
			free(p->w[i].msgs);
			free(p->w[i].pmsgs);
		}
		free(p->w);
	}
	gt_rpc_client_close(p->cli);
	gt_queue_free(p->pool);
	if (p->chunks != NULL) {
		for (size_t i = 0; i < p->nchunks; i++) {
			gt_buf_fini(&p->chunks[i].data);
			free(p->chunks[i].ents);
		}
		free(p->chunks);
	}
	pthread_mutex_destroy(&p->mtx);
	pthread_cond_destroy(&p->cv);
	free(p->mq_url);
	free(p->token);
	free(p->topic);
	free(p);
}

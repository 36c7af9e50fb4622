/* mq_server.c - RPC handlers, long-poll waiters, timers, HTTP admin and the PUB feed.
 *
 * Threads: gt_rpc worker threads run the handlers; one timer thread expires long-polls,
 * wakes waiters when redeliveries fall due and expires consumer leases; the gt_http thread
 * serves admin requests; the main thread waits for a signal. Each topic has one mutex that
 * guards its mq_topic and its list of parked fetches. A parked fetch holds no thread: the
 * RPC closure is kept and called by whichever thread makes data available (a Publish
 * handler or the timer). */
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gt/gt_cfg.h"
#include "gt/gt_http.h"
#include "gt/gt_json.h"
#include "gt/gt_log.h"
#include "gt/gt_metrics.h"
#include "gt/gt_rpc.h"
#include "gt/gt_signal.h"
#include "gt/gt_time.h"
#include "gtpb/v1/mq.pb-c.h"
#include "mq_codec.h"
#include "mq_server_int.h"

#define MQ_DEFAULT_MAX_BYTES (4u << 20)
#define MQ_LIMIT_MAX_BYTES (64u << 20)
#define MQ_TICK_NS (2 * GT_NS_PER_MS)
#define MQ_CONTEXTS_RESERVED 16 /* RPC contexts never used by parked long-polls */

/* ---- helpers ---- */

static int
valid_name(const char *s, int allow_dlq)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > MQ_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	if (!allow_dlq && n >= 4 && strcmp(s + n - 4, ".dlq") == 0)
		return 0;
	return 1;
}

static int
valid_member(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n > 0 && n <= 256;
}

srv_topic *
mq_srv_find(mq_server *s, const char *name)
{
	srv_topic *st = NULL;
	int        n;

	pthread_rwlock_rdlock(&s->topics_lock);
	n = atomic_load(&s->ntopics);
	for (int i = 0; i < n; i++)
		if (strcmp(mq_topic_name(s->topics[i]->t), name) == 0) {
			st = s->topics[i];
			break;
		}
	pthread_rwlock_unlock(&s->topics_lock);
	return st;
}

static void srv_on_done(void *arg, mq_topic *t, const char *group, uint32_t part, uint64_t off);
static void srv_on_group_deleted(void *arg, mq_topic *t, const char *group);

static gt_err
srv_create(mq_server *s, const char *name, srv_topic **out)
{
	srv_topic *st;
	gt_err     rv = GT_OK;
	int        n;

	if ((*out = mq_srv_find(s, name)) != NULL)
		return GT_OK;
	pthread_rwlock_wrlock(&s->topics_lock);
	n = atomic_load(&s->ntopics);
	for (int i = 0; i < n; i++)
		if (strcmp(mq_topic_name(s->topics[i]->t), name) == 0) {
			*out = s->topics[i];
			goto done;
		}
	if (n >= MQ_MAX_TOPICS) {
		rv = GT_EFULL;
		goto done;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		rv = GT_ENOMEM;
		goto done;
	}
	if ((rv = mq_topic_new(&st->t, name, &s->tcfg)) != GT_OK) {
		free(st);
		goto done;
	}
	pthread_mutex_init(&st->mu, NULL);
	st->wal_id = (uint32_t)n;
	if (s->wal != NULL && mq_wal_started(s->wal) &&
	    (rv = mq_wal_topic(s->wal, st->wal_id, name)) != GT_OK) {
		mq_topic_free(st->t);
		pthread_mutex_destroy(&st->mu);
		free(st);
		goto done;
	}
	s->topics[n] = st;
	atomic_store(&s->ntopics, n + 1);
	*out = st;
	GT_LOGI("topic.created", GT_KV_STR("topic", name),
	        GT_KV_UINT("partitions", s->cfg.partitions));
done:
	pthread_rwlock_unlock(&s->topics_lock);
	return rv;
}

static mq_fetch_out *
pool_get(mq_server *s)
{
	out_pool *p;

	pthread_mutex_lock(&s->pool_mu);
	if ((p = s->pool) != NULL)
		s->pool = p->next;
	pthread_mutex_unlock(&s->pool_mu);
	if (p == NULL) {
		if ((p = calloc(1, sizeof(*p))) == NULL)
			return NULL;
		mq_fetch_out_init(&p->out);
	}
	mq_fetch_out_reset(&p->out);
	return &p->out;
}

static void
pool_put(mq_server *s, mq_fetch_out *o)
{
	out_pool *p = (out_pool *)((char *)o - offsetof(out_pool, out));

	if (o->buf.cap > (16u << 20)) { /* do not hoard huge buffers */
		mq_fetch_out_fini(o);
		mq_fetch_out_init(o);
	}
	pthread_mutex_lock(&s->pool_mu);
	p->next = s->pool;
	s->pool = p;
	pthread_mutex_unlock(&s->pool_mu);
}

/* Answer a fetch with the deliveries in o (may be empty). Any thread, no lock held. */
static void
fetch_reply(mq_server *s, const mq_fetch_out *o, ProtobufCClosure closure, void *cdata)
{
	mq_raw_fetch         resp;
	ProtobufCBinaryData  small[64];
	ProtobufCBinaryData *bd = o->n <= 64 ? small : malloc(o->n * sizeof(*bd));

	mq_raw_fetch_init(&resp);
	resp.epoch = s->epoch;
	if (bd == NULL) {
		gt_rpc_fail(cdata, GT_RPC_RESOURCE_EXHAUSTED, "out of memory");
		closure(NULL, cdata);
		return;
	}
	for (size_t i = 0; i < o->n; i++) {
		bd[i].data = (uint8_t *)o->buf.data + o->spans[2 * i];
		bd[i].len = o->spans[2 * i + 1];
	}
	resp.n_deliveries = o->n;
	resp.deliveries = bd;
	gt_counter_add(s->m_delivered, o->n);
	gt_counter_add(s->m_redelivered, o->redelivered);
	closure(&resp.base, cdata);
	if (bd != small)
		free(bd);
}

/* Serve parked fetches of st that now have data (or expired when now >= deadline).
 * Called with no lock held; answers one waiter at a time. */
void
mq_srv_wake(mq_server *s, srv_topic *st, int check_deadlines)
{
	for (;;) {
		mq_fetch_out *o;
		waiter       *w = NULL, **pp;
		int64_t       now = gt_mono_ns();

		/* Peek; a waiter parked right after is caught by the timer. When stopping, always
		 * look under the lock so that no parked call is missed. */
		if (atomic_load(&st->nwaiters) == 0 && !atomic_load(&s->stopping))
			return;
		if ((o = pool_get(s)) == NULL)
			return;
		pthread_mutex_lock(&st->mu);
		for (pp = &st->waiters; *pp != NULL; pp = &(*pp)->next) {
			waiter *c = *pp;
			int     stop = atomic_load(&s->stopping);
			if (!stop && mq_topic_fetch(st->t, c->group, c->consumer, c->max_msgs,
			                            c->max_bytes, o) != GT_OK)
				mq_fetch_out_reset(o);
			if (o->n > 0 || stop || (check_deadlines && now >= c->deadline)) {
				w = c;
				*pp = c->next;
				st->nwaiters--;
				atomic_fetch_sub(&s->parked, 1);
				mq_topic_park(st->t, c->group, c->consumer, -1);
				break;
			}
		}
		pthread_mutex_unlock(&st->mu);
		if (w == NULL) {
			pool_put(s, o);
			return;
		}
		fetch_reply(s, o, w->closure, w->cdata);
		pool_put(s, o);
		free(w);
	}
}

static void
srv_wake_all(mq_server *s, int check_deadlines)
{
	int n = atomic_load(&s->ntopics);

	for (int i = 0; i < n; i++)
		mq_srv_wake(s, s->topics[i], check_deadlines);
}

/* ---- live feed ---- */

static void
pub_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	mq_server *s = arg;

	(void)p;
	if (ev == NNG_PIPE_EV_ADD_POST)
		atomic_fetch_add(&s->subscribers, 1);
	else if (ev == NNG_PIPE_EV_REM_POST)
		atomic_fetch_sub(&s->subscribers, 1);
}

static void
pub_send(mq_server *s, const char *topic, const ProtobufCBinaryData *msgs, size_t n)
{
	size_t tl = strlen(topic);

	if (!s->pub_open || atomic_load(&s->subscribers) <= 0)
		return;
	for (size_t i = 0; i < n; i++) {
		nng_msg *m;
		if (nng_msg_alloc(&m, tl + 1 + msgs[i].len) != 0)
			return;
		uint8_t *b = nng_msg_body(m);
		memcpy(b, topic, tl);
		b[tl] = 0;
		memcpy(b + tl + 1, msgs[i].data, msgs[i].len);
		if (nng_sendmsg(s->pub, m, NNG_FLAG_NONBLOCK) != 0)
			nng_msg_free(m);
	}
}

/* ---- RPC handlers ---- */

static gt_err ids_copy(Gtpb__V1__DeliveryId *const *in, size_t n, Gtpb__V1__AckRange *const *rg,
                       size_t nr, mq_id **out, size_t *total, size_t *bad);

gt_rpc_code
mq_srv_code(gt_err e)
{
	switch (e) {
	case GT_EFULL:
		return GT_RPC_RESOURCE_EXHAUSTED;
	case GT_ENOENT:
		return GT_RPC_NOT_FOUND;
	case GT_EPROTO:
	case GT_EINVAL:
		return GT_RPC_INVALID_ARGUMENT;
	case GT_ENOMEM:
		return GT_RPC_RESOURCE_EXHAUSTED;
	default:
		return GT_RPC_INTERNAL;
	}
}

static void
h_publish(mq_server *s, const ProtobufCMessage *in, ProtobufCClosure closure, void *cdata)
{
	const mq_raw_publish     *req = (const mq_raw_publish *)in;
	Gtpb__V1__PublishResponse resp = GTPB__V1__PUBLISH_RESPONSE__INIT;
	srv_topic                *st;
	mq_pos                   *pos = NULL;
	Gtpb__V1__Position       *pb = NULL;
	Gtpb__V1__Position      **pp = NULL;
	int                       dup = 0;
	size_t                    bad = 0, n = req->n_messages;
	int64_t                   t0 = gt_mono_ns(), now_ns = gt_now_ns();
	uint64_t                  wal_lsn = 0;
	gt_err                    rv;

	if (!valid_name(req->topic, 0)) {
		gt_rpc_fail(cdata, GT_RPC_INVALID_ARGUMENT, "bad topic name \"%.64s\"", req->topic);
		goto fail;
	}
	if ((rv = srv_create(s, req->topic, &st)) != GT_OK) {
		gt_rpc_fail(cdata, mq_srv_code(rv), "cannot create topic: %s", gt_strerror(rv));
		goto fail;
	}
	if (n > 0) {
		pos = malloc(n * sizeof(*pos));
		pb = malloc(n * sizeof(*pb));
		pp = malloc(n * sizeof(*pp));
		if (pos == NULL || pb == NULL || pp == NULL) {
			gt_rpc_fail(cdata, GT_RPC_RESOURCE_EXHAUSTED, "out of memory");
			goto fail;
		}
	}
	pthread_mutex_lock(&st->mu);
	rv = mq_topic_publish(st->t, req->messages, n, req->producer_id, req->sequence, now_ns, pos,
	                      &dup, &bad);
	if (rv == GT_OK && !dup && n > 0 && s->wal != NULL)
		rv = mq_wal_publish(s->wal, st->wal_id, mq_topic_name(st->t), req->producer_id,
		                    req->sequence, req->messages, n, pos, &wal_lsn, now_ns);
	pthread_mutex_unlock(&st->mu);
	if (rv != GT_OK) {
		if (rv == GT_EFULL) {
			gt_counter_inc(s->m_rejected);
			gt_rpc_fail(cdata, GT_RPC_RESOURCE_EXHAUSTED,
			            "topic %s is full (max %lld bytes)", req->topic,
			            (long long)s->cfg.max_topic_bytes);
		} else if (rv == GT_EPROTO) {
			gt_rpc_fail(cdata, GT_RPC_INVALID_ARGUMENT,
			            "message %zu is not a valid gtpb.v1.Message", bad);
		} else {
			gt_rpc_fail(cdata, mq_srv_code(rv), "publish failed: %s", gt_strerror(rv));
		}
		goto fail;
	}
	if (wal_lsn && (rv = mq_wal_wait(s->wal, wal_lsn)) != GT_OK) {
		gt_rpc_fail(cdata, GT_RPC_INTERNAL, "wal: %s", gt_strerror(rv));
		goto fail;
	}
	if (dup) {
		gt_counter_inc(s->m_duplicates);
	} else {
		gt_counter_add(s->m_published, n);
		gt_counter_inc(s->m_batches);
	}
	for (size_t i = 0; i < n && !req->omit_positions; i++) {
		gtpb__v1__position__init(&pb[i]);
		pb[i].partition = pos[i].partition;
		pb[i].offset = pos[i].offset;
		pp[i] = &pb[i];
	}
	resp.n_positions = req->omit_positions ? 0 : n;
	resp.positions = pp;
	resp.duplicate = dup;
	if (!dup && n > 0) {
		mq_srv_wake(s, st, 0);
		pub_send(s, req->topic, req->messages, n);
	}
	gt_hist_observe_ns(s->m_publish_lat, gt_mono_ns() - t0);
	closure(&resp.base, cdata);
	free(pos);
	free(pb);
	free(pp);
	return;
fail:
	free(pos);
	free(pb);
	free(pp);
	closure(NULL, cdata);
}

static void
h_fetch(mq_server *s, const ProtobufCMessage *in, ProtobufCClosure closure, void *cdata)
{
	const Gtpb__V1__FetchRequest *req = (const Gtpb__V1__FetchRequest *)in;
	srv_topic                    *st;
	mq_fetch_out                 *o;
	size_t max_bytes = req->max_bytes ? req->max_bytes : MQ_DEFAULT_MAX_BYTES;
	size_t ngroups, nack_ids = 0;
	mq_id *ack_ids = NULL;
	gt_err rv;

	if (!valid_member(req->group) || !valid_member(req->consumer)) {
		gt_rpc_fail(cdata, GT_RPC_INVALID_ARGUMENT,
		            "group and consumer are required (1..256 bytes)");
		closure(NULL, cdata);
		return;
	}
	if ((st = mq_srv_find(s, req->topic)) == NULL) {
		gt_rpc_fail(cdata, GT_RPC_NOT_FOUND, "no topic \"%.64s\"", req->topic);
		closure(NULL, cdata);
		return;
	}
	if (max_bytes > MQ_LIMIT_MAX_BYTES)
		max_bytes = MQ_LIMIT_MAX_BYTES;
	if (req->n_ack > 0) {
		size_t bad = 0;
		if ((rv = ids_copy(NULL, 0, req->ack, req->n_ack, &ack_ids, &nack_ids, &bad)) !=
		    GT_OK) {
			gt_rpc_fail(cdata, mq_srv_code(rv), "bad ack range %zu", bad);
			closure(NULL, cdata);
			return;
		}
	}
	if ((o = pool_get(s)) == NULL) {
		free(ack_ids);
		gt_rpc_fail(cdata, GT_RPC_RESOURCE_EXHAUSTED, "out of memory");
		closure(NULL, cdata);
		return;
	}
	pthread_mutex_lock(&st->mu);
	if (nack_ids > 0) {
		size_t done = 0, bad = 0;
		if (!mq_topic_has_group(st->t, req->group)) {
			pthread_mutex_unlock(&st->mu);
			gt_rpc_fail(cdata, GT_RPC_NOT_FOUND, "no group \"%.64s\" to ack in",
			            req->group);
			goto fail_ack;
		}
		if ((rv = mq_topic_ack(st->t, req->group, ack_ids, nack_ids, &done, &bad)) !=
		    GT_OK) {
			pthread_mutex_unlock(&st->mu);
			gt_rpc_fail(cdata, GT_RPC_NOT_FOUND,
			            "unknown delivery id in ack (partition %u offset %llu): "
			            "nothing acked or fetched",
			            ack_ids[bad].partition,
			            (unsigned long long)ack_ids[bad].offset);
			goto fail_ack;
		}
		if (s->wal != NULL && done > 0)
			mq_wal_ack(s->wal, st->wal_id, req->group, ack_ids, nack_ids);
		gt_counter_add(s->m_acked, done);
		free(ack_ids);
		ack_ids = NULL;
	}
	ngroups = mq_topic_groups(st->t);
	rv = mq_topic_fetch(st->t, req->group, req->consumer, req->max_messages, max_bytes, o);
	if (s->wal != NULL && mq_topic_groups(st->t) > ngroups)
		mq_wal_group(s->wal, st->wal_id, req->group);
	/* Every parked long-poll holds one RPC context: keep some free for Publish and Ack, or
	 * enough idle consumers would starve the producers (answer empty; they poll again). */
	if (rv == GT_OK && o->n == 0 && req->wait_ms > 0 && !atomic_load(&s->stopping) &&
	    atomic_load(&s->parked) < (int)s->cfg.rpc_contexts - MQ_CONTEXTS_RESERVED) {
		int64_t wait = (int64_t)req->wait_ms * GT_NS_PER_MS;
		int64_t left = gt_rpc_deadline_left_ns(cdata);
		waiter *w = calloc(1, sizeof(*w));
		if (left != INT64_MAX && left - 20 * GT_NS_PER_MS < wait)
			wait = left - 20 * GT_NS_PER_MS;
		if (w != NULL && wait > 0) {
			w->group = req->group;
			w->consumer = req->consumer;
			w->max_msgs = req->max_messages;
			w->max_bytes = max_bytes;
			w->deadline = gt_mono_ns() + wait;
			w->closure = closure;
			w->cdata = cdata;
			w->next = st->waiters;
			st->waiters = w;
			st->nwaiters++;
			atomic_fetch_add(&s->parked, 1);
			mq_topic_park(st->t, req->group, req->consumer, +1);
			gt_counter_inc(s->m_waits);
			pthread_mutex_unlock(&st->mu);
			pool_put(s, o);
			return; /* deferred: answered by srv_wake */
		}
		free(w);
	}
	pthread_mutex_unlock(&st->mu);
	if (rv != GT_OK) {
		gt_rpc_fail(cdata, mq_srv_code(rv), "fetch failed: %s", gt_strerror(rv));
		closure(NULL, cdata);
	} else {
		fetch_reply(s, o, closure, cdata);
	}
	pool_put(s, o);
	return;
fail_ack:
	free(ack_ids);
	pool_put(s, o);
	closure(NULL, cdata);
}

#define MQ_MAX_IDS (4u << 20) /* ids per Ack/Nack/Fetch request, ranges expanded */

/* Copy ids and ranges out of the request into one array; GT_EINVAL when an id is missing or
 * the total is too large. */
static gt_err
ids_copy(Gtpb__V1__DeliveryId *const *in, size_t n, Gtpb__V1__AckRange *const *rg, size_t nr,
         mq_id **out, size_t *total, size_t *bad)
{
	size_t t = n;
	mq_id *ids;

	for (size_t i = 0; i < nr; i++) {
		if (rg[i] == NULL || rg[i]->count > MQ_MAX_IDS) {
			*bad = n + i;
			return GT_EINVAL;
		}
		t += rg[i]->count;
	}
	if (t > MQ_MAX_IDS) {
		*bad = 0;
		return GT_EINVAL;
	}
	if ((ids = malloc((t ? t : 1) * sizeof(*ids))) == NULL)
		return GT_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (in[i] == NULL) {
			free(ids);
			*bad = i;
			return GT_EINVAL;
		}
		ids[i].epoch = in[i]->epoch;
		ids[i].partition = in[i]->partition;
		ids[i].offset = in[i]->offset;
	}
	t = n;
	for (size_t i = 0; i < nr; i++)
		for (uint32_t k = 0; k < rg[i]->count; k++) {
			ids[t].epoch = rg[i]->epoch;
			ids[t].partition = rg[i]->partition;
			ids[t].offset = rg[i]->offset + k;
			t++;
		}
	*out = ids;
	*total = t;
	return GT_OK;
}

static void
h_ack_nack(mq_server *s, int nack, const char *topic, const char *group,
           Gtpb__V1__DeliveryId *const *in, size_t nin, Gtpb__V1__AckRange *const *rg, size_t nrg,
           int dead_letter, const char *reason, ProtobufCClosure closure, void *cdata)
{
	srv_topic *st;
	mq_id     *ids = NULL;
	size_t     done = 0, bad = 0, n = 0;
	gt_err     rv;

	if ((st = mq_srv_find(s, topic)) == NULL) {
		gt_rpc_fail(cdata, GT_RPC_NOT_FOUND, "no topic \"%.64s\"", topic);
		goto fail;
	}
	if (!valid_member(group)) {
		gt_rpc_fail(cdata, GT_RPC_INVALID_ARGUMENT, "group is required");
		goto fail;
	}
	if ((rv = ids_copy(in, nin, rg, nrg, &ids, &n, &bad)) != GT_OK) {
		gt_rpc_fail(cdata, mq_srv_code(rv), "bad id %zu (missing, or too many ids)", bad);
		goto fail;
	}
	pthread_mutex_lock(&st->mu);
	if (!mq_topic_has_group(st->t, group))
		rv = GT_ENOENT, bad = SIZE_MAX;
	else if (nack)
		rv = mq_topic_nack(st->t, group, ids, n, dead_letter, reason, &done, &bad);
	else
		rv = mq_topic_ack(st->t, group, ids, n, &done, &bad);
	if (rv == GT_OK && !nack && s->wal != NULL && done > 0)
		rv = mq_wal_ack(s->wal, st->wal_id, group, ids, n);
	pthread_mutex_unlock(&st->mu);
	if (rv == GT_ENOENT && bad == SIZE_MAX) {
		gt_rpc_fail(cdata, GT_RPC_NOT_FOUND, "no group \"%.64s\" on topic %s", group,
		            topic);
		goto fail;
	}
	if (rv == GT_ENOENT) {
		gt_rpc_fail(
		    cdata, GT_RPC_NOT_FOUND,
		    "unknown delivery id %zu (epoch %llu partition %u offset %llu): nothing %s",
		    bad, (unsigned long long)ids[bad].epoch, ids[bad].partition,
		    (unsigned long long)ids[bad].offset, nack ? "nacked" : "acked");
		goto fail;
	}
	if (rv != GT_OK) {
		gt_rpc_fail(cdata, mq_srv_code(rv), "%s failed: %s", nack ? "nack" : "ack",
		            gt_strerror(rv));
		goto fail;
	}
	free(ids);
	if (nack) {
		Gtpb__V1__NackResponse r = GTPB__V1__NACK_RESPONSE__INIT;
		gt_counter_add(s->m_nacked, done);
		r.nacked = (uint32_t)done;
		closure(&r.base, cdata);
	} else {
		Gtpb__V1__AckResponse r = GTPB__V1__ACK_RESPONSE__INIT;
		gt_counter_add(s->m_acked, done);
		r.acked = (uint32_t)done;
		closure(&r.base, cdata);
	}
	return;
fail:
	free(ids);
	closure(NULL, cdata);
}

static void
h_ack(mq_server *s, const ProtobufCMessage *in, ProtobufCClosure closure, void *cdata)
{
	const Gtpb__V1__AckRequest *r = (const Gtpb__V1__AckRequest *)in;
	h_ack_nack(s, 0, r->topic, r->group, r->ids, r->n_ids, r->ranges, r->n_ranges, 0, NULL,
	           closure, cdata);
}

static void
h_nack(mq_server *s, const ProtobufCMessage *in, ProtobufCClosure closure, void *cdata)
{
	const Gtpb__V1__NackRequest *r = (const Gtpb__V1__NackRequest *)in;
	h_ack_nack(s, 1, r->topic, r->group, r->ids, r->n_ids, NULL, 0, r->dead_letter, r->reason,
	           closure, cdata);
}

/* Method table: one row per rpc of MessageQueue in mq.proto. */
static const struct {
	const char *name;
	mq_handler  fn;
} mq_methods[] = {
    {"Publish", h_publish},
    {"Fetch", h_fetch},
    {"Ack", h_ack},
    {"Nack", h_nack},
    {"Topics", mq_admin_topics},
    {"Stats", mq_admin_stats},
    {"Health", mq_admin_health},
    {"DlqList", mq_admin_dlq_list},
    {"DlqReplay", mq_admin_dlq_replay},
    {"DlqPurge", mq_admin_dlq_purge},
};

static void
svc_invoke(ProtobufCService *svc, unsigned idx, const ProtobufCMessage *in,
           ProtobufCClosure closure, void *cdata)
{
	const char *name = svc->descriptor->methods[idx].name;
	mq_server  *s = (mq_server *)((char *)svc - offsetof(mq_server, svc.base));

	for (size_t i = 0; i < GT_NELEM(mq_methods); i++)
		if (strcmp(mq_methods[i].name, name) == 0) {
			mq_methods[i].fn(s, in, closure, cdata);
			return;
		}
	gt_rpc_fail(cdata, GT_RPC_UNIMPLEMENTED, "method %s not implemented", name);
	closure(NULL, cdata);
}

/* ---- timer ---- */

static void *
timer_main(void *arg)
{
	mq_server *s = arg;
	int64_t    last_expire = gt_mono_ns(), last_rate = last_expire;

	while (!atomic_load(&s->stopping)) {
		int64_t now;
		int     n, parked = 0;

		n = atomic_load(&s->ntopics);
		for (int i = 0; i < n; i++)
			parked |= atomic_load(&s->topics[i]->nwaiters) > 0;
		/* Fine ticks only while long-polls wait (their deadlines and due redeliveries). */
		gt_sleep_ns(parked ? MQ_TICK_NS : 10 * MQ_TICK_NS);
		now = gt_mono_ns();
		n = atomic_load(&s->ntopics);
		for (int i = 0; i < n; i++) {
			srv_topic *st = s->topics[i];
			if (now - last_expire >= 50 * GT_NS_PER_MS) {
				pthread_mutex_lock(&st->mu);
				mq_topic_expire(st->t);
				pthread_mutex_unlock(&st->mu);
			}
			mq_srv_wake(s, st, 1);
		}
		if (now - last_expire >= 50 * GT_NS_PER_MS)
			last_expire = now;
		if (now - last_rate >= GT_NS_PER_S) {
			double dt = (double)(now - last_rate) / 1e9;
			for (int i = 0; i < n; i++) {
				srv_topic     *st = s->topics[i];
				mq_topic_stats ts;
				pthread_mutex_lock(&st->mu);
				mq_topic_stats_get(st->t, &ts);
				st->rate = (double)(ts.messages - st->last_messages) / dt;
				st->last_messages = ts.messages;
				pthread_mutex_unlock(&st->mu);
			}
			last_rate = now;
		}
	}
	return NULL;
}

/* ---- WAL hooks ---- */

static void
srv_on_done(void *arg, mq_topic *t, const char *group, uint32_t part, uint64_t off)
{
	mq_server *s = arg;
	srv_topic *st = NULL;
	mq_id      id = {s->epoch, part, off};
	int        n = atomic_load(&s->ntopics);

	if (s->wal == NULL)
		return;
	for (int i = 0; i < n; i++)
		if (s->topics[i]->t == t)
			st = s->topics[i];
	if (st != NULL)
		mq_wal_ack(s->wal, st->wal_id, group, &id, 1);
}

static void
srv_on_group_deleted(void *arg, mq_topic *t, const char *group)
{
	mq_server *s = arg;
	int        n = atomic_load(&s->ntopics);

	if (s->wal == NULL)
		return;
	for (int i = 0; i < n; i++)
		if (s->topics[i]->t == t)
			mq_wal_group_deleted(s->wal, s->topics[i]->wal_id, group);
}

/* Recovery callbacks (main thread, before serving). */
static gt_err
rec_topic(void *arg, uint32_t topic_id, const char *name)
{
	mq_server *s = arg;
	srv_topic *st;
	gt_err     rv;

	if ((rv = srv_create(s, name, &st)) != GT_OK)
		return rv;
	if (st->wal_id != topic_id) {
		GT_LOGW("wal.topic_id_mismatch", GT_KV_STR("topic", name),
		        GT_KV_UINT("wal", topic_id), GT_KV_UINT("mem", st->wal_id));
		return GT_ECORRUPT;
	}
	return GT_OK;
}

static srv_topic *
rec_find(mq_server *s, uint32_t topic_id)
{
	int n = atomic_load(&s->ntopics);
	return topic_id < (uint32_t)n ? s->topics[topic_id] : NULL;
}

static gt_err
rec_msg(void *arg, uint32_t topic_id, uint32_t part, uint64_t off, const uint8_t *msg, size_t len,
        int64_t ts_ns)
{
	srv_topic *st = rec_find(arg, topic_id);
	return st ? mq_topic_restore(st->t, part, off, msg, len, ts_ns) : GT_ECORRUPT;
}

static gt_err
rec_group_deleted(void *arg, uint32_t topic_id, const char *group)
{
	srv_topic *st = rec_find(arg, topic_id);
	if (st == NULL)
		return GT_ECORRUPT;
	mq_topic_remove_group(st->t, group); /* unknown: already gone */
	return GT_OK;
}

static gt_err
rec_group(void *arg, uint32_t topic_id, const char *group)
{
	srv_topic *st = rec_find(arg, topic_id);
	return st ? mq_topic_restore_group(st->t, group) : GT_ECORRUPT;
}

/* Writer thread: is (topic, part, off) done for every group? */
static int
srv_is_done(void *arg, uint32_t topic_id, uint32_t part, uint64_t off)
{
	mq_server *s = arg;
	srv_topic *st = rec_find(s, topic_id);
	int        done;

	if (st == NULL)
		return 1;
	pthread_mutex_lock(&st->mu);
	done = mq_topic_groups(st->t) > 0 && mq_topic_base(st->t, part) > off;
	pthread_mutex_unlock(&st->mu);
	return done;
}

static gt_err
rec_producer(void *arg, uint32_t topic_id, const char *producer, uint64_t seq)
{
	srv_topic *st = rec_find(arg, topic_id);
	if (st == NULL)
		return GT_ECORRUPT;
	mq_topic_restore_producer(st->t, producer, seq);
	return GT_OK;
}

static gt_err
rec_ack(void *arg, uint32_t topic_id, const char *group, uint32_t part, uint64_t off)
{
	srv_topic *st = rec_find(arg, topic_id);
	return st ? mq_topic_restore_done(st->t, group, part, off) : GT_ECORRUPT;
}

/* ---- lifecycle ---- */

static void
url_with_port(char *out, size_t len, const char *url, int port)
{
	const char *colon = strrchr(url, ':');
	const char *host = strstr(url, "://");

	if (port <= 0 || colon == NULL || host == NULL) {
		snprintf(out, len, "%s", url);
		return;
	}
	host += 3;
	if ((size_t)(colon - host) == 7 && strncmp(host, "0.0.0.0", 7) == 0)
		snprintf(out, len, "tcp://127.0.0.1:%d", port);
	else
		snprintf(out, len, "%.*s:%d", (int)(colon - url), url, port);
}

static gt_err
srv_service_init(mq_server *s)
{
	const ProtobufCServiceDescriptor *d = &gtpb__v1__message_queue__descriptor;

	if (d->n_methods > GT_NELEM(s->methods))
		return GT_EINTERNAL;
	s->desc = *d;
	memcpy(s->methods, d->methods, d->n_methods * sizeof(*s->methods));
	for (unsigned i = 0; i < d->n_methods; i++)
		if (strcmp(s->methods[i].name, "Publish") == 0)
			s->methods[i].input = &mq_raw_publish_descriptor;
	s->desc.methods = s->methods;
	memset(&s->svc, 0, sizeof(s->svc));
	s->svc.base.descriptor = &s->desc;
	s->svc.base.invoke = svc_invoke;
	s->svc.base.destroy = NULL;
	return GT_OK;
}

static uint64_t
random_epoch(void)
{
	uint64_t e = 0;
	FILE    *f = fopen("/dev/urandom", "rb");

	if (f != NULL) {
		if (fread(&e, sizeof(e), 1, f) != 1)
			e = 0;
		fclose(f);
	}
	if (e == 0)
		e = (uint64_t)gt_now_ns() ^ ((uint64_t)getpid() << 32);
	return (e >> 1) | 1; /* positive as int64, nonzero */
}

gt_err
mq_server_new(mq_server **out, const mq_config *cfg)
{
	mq_server        *s;
	gt_rpc_server_cfg rc = {0};
	gt_http_cfg       hc = {0};
	gt_err            rv;
	int               r;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return GT_ENOMEM;
	s->cfg = *cfg;
	s->start_mono = gt_mono_ns();
	pthread_rwlock_init(&s->topics_lock, NULL);
	pthread_mutex_init(&s->pool_mu, NULL);
	*out = s;

	if ((rv = gt_metrics_new(&s->metrics, "gt_mq_")) != GT_OK)
		return rv;
	s->m_published =
	    gt_metrics_counter(s->metrics, "published_total", NULL, "messages accepted");
	s->m_batches = gt_metrics_counter(s->metrics, "publish_requests_total", NULL,
	                                  "publish requests accepted");
	s->m_delivered = gt_metrics_counter(s->metrics, "delivered_total", NULL,
	                                    "deliveries (incl. redeliveries)");
	s->m_redelivered =
	    gt_metrics_counter(s->metrics, "redelivered_total", NULL, "redeliveries");
	s->m_acked = gt_metrics_counter(s->metrics, "acked_total", NULL, "messages acked");
	s->m_nacked = gt_metrics_counter(s->metrics, "nacked_total", NULL, "messages nacked");
	s->m_rejected = gt_metrics_counter(s->metrics, "publish_rejected_full_total", NULL,
	                                   "publish requests refused with RESOURCE_EXHAUSTED");
	s->m_duplicates = gt_metrics_counter(s->metrics, "publish_duplicates_total", NULL,
	                                     "publish requests recognised as resends");
	s->m_waits =
	    gt_metrics_counter(s->metrics, "fetch_parked_total", NULL, "long-polls parked");
	s->m_publish_lat =
	    gt_metrics_hist(s->metrics, "publish_seconds", NULL, "publish handler time");

	s->tcfg.partitions = (uint32_t)cfg->partitions;
	s->tcfg.max_bytes = (uint64_t)cfg->max_topic_bytes;
	s->tcfg.ack_timeout = cfg->ack_timeout;
	s->tcfg.backoff_cap = cfg->backoff_cap;
	s->tcfg.nack_delay = cfg->nack_delay > 0 ? cfg->nack_delay : GT_NS_PER_MS;
	s->tcfg.max_retries = (unsigned)cfg->max_retries;
	s->tcfg.lease = cfg->consumer_lease > 0 ? cfg->consumer_lease : 3 * cfg->ack_timeout;
	s->tcfg.clock = gt_clock_system();
	s->tcfg.on_done = srv_on_done;
	s->tcfg.on_done_arg = s;
	s->tcfg.group_ttl = cfg->group_ttl;
	s->tcfg.on_group_deleted = srv_on_group_deleted;

	if (cfg->persistence) {
		mq_wal_cfg     wc = {0};
		mq_wal_rec_ops ops = {rec_topic, rec_msg,   rec_producer,
		                      rec_ack,   rec_group, rec_group_deleted};
		wc.dir = cfg->persistence_path;
		wc.fsync = cfg->fsync;
		wc.fsync_interval = cfg->fsync_interval;
		wc.segment_bytes = (uint64_t)cfg->segment_bytes;
		if ((rv = mq_wal_open(&s->wal, &wc, &s->epoch)) != GT_OK) {
			GT_LOGE("wal.open_failed", GT_KV_STR("path", cfg->persistence_path),
			        GT_KV_ERR(rv));
			return rv;
		}
		s->tcfg.epoch = s->epoch;
		if ((rv = mq_wal_recover(s->wal, &ops, s)) != GT_OK) {
			GT_LOGE("wal.recover_failed", GT_KV_ERR(rv));
			return rv;
		}
		for (int i = 0; i < atomic_load(&s->ntopics); i++)
			mq_topic_expire(s->topics[i]->t); /* trims what every group acked */
		if ((rv = mq_wal_start(s->wal, srv_is_done, s)) != GT_OK)
			return rv;
	} else {
		s->epoch = random_epoch();
		s->tcfg.epoch = s->epoch;
	}
	/* Pre-created topics. */
	if (cfg->topics != NULL && *cfg->topics) {
		char *list = strdup(cfg->topics), *save = NULL;
		for (char *tok = strtok_r(list, ", ", &save); tok;
		     tok = strtok_r(NULL, ", ", &save)) {
			srv_topic *st;
			if (!valid_name(tok, 0)) {
				GT_LOGE("config.bad_topic", GT_KV_STR("topic", tok));
				free(list);
				return GT_EINVAL;
			}
			if ((rv = srv_create(s, tok, &st)) != GT_OK) {
				free(list);
				return rv;
			}
		}
		free(list);
	}

	if ((rv = srv_service_init(s)) != GT_OK)
		return rv;
	rc.url = cfg->rpc_url;
	rc.workers = (int)cfg->rpc_workers;
	rc.contexts = (int)cfg->rpc_contexts;
	rc.token = cfg->token;
	if ((rv = gt_rpc_server_new(&s->rpc, &rc)) != GT_OK ||
	    (rv = gt_rpc_server_add(s->rpc, &s->svc.base)) != GT_OK)
		return rv;

	if (cfg->pub_url != NULL && *cfg->pub_url) {
		nng_listener l;
		int          port = 0;
		if ((r = nng_pub0_open(&s->pub)) != 0)
			return gt_err_from_nng(r);
		s->pub_open = 1;
		nng_pipe_notify(s->pub, NNG_PIPE_EV_ADD_POST, pub_pipe_cb, s);
		nng_pipe_notify(s->pub, NNG_PIPE_EV_REM_POST, pub_pipe_cb, s);
		if ((r = nng_listen(s->pub, cfg->pub_url, &l, 0)) != 0) {
			GT_LOGE("pub.listen_failed", GT_KV_STR("url", cfg->pub_url),
			        GT_KV_STR("error", nng_strerror(r)));
			return gt_err_from_nng(r);
		}
		if (strncmp(cfg->pub_url, "tcp", 3) == 0)
			nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port);
		url_with_port(s->pub_url, sizeof(s->pub_url), cfg->pub_url, port);
	}

	hc.service = "mq";
	hc.bind = cfg->bind;
	hc.port = (int)cfg->port;
	if ((rv = gt_http_new(&s->http, &hc)) != GT_OK)
		return rv;
	if ((rv = mq_admin_routes(s)) != GT_OK)
		return rv;
	if ((rv = gt_http_start(s->http)) != GT_OK) {
		GT_LOGE("http.start_failed", GT_KV_INT("port", cfg->port), GT_KV_ERR(rv));
		return rv;
	}
	if ((rv = gt_rpc_server_start(s->rpc)) != GT_OK)
		return rv;
	url_with_port(s->rpc_url, sizeof(s->rpc_url), cfg->rpc_url, gt_rpc_server_port(s->rpc));
	if (pthread_create(&s->timer, NULL, timer_main, s) != 0)
		return GT_ENOMEM;
	s->timer_started = 1;
	return GT_OK;
}

gt_err
mq_server_run(mq_server *s)
{
	GT_LOGI("service.ready", GT_KV_INT("http_port", gt_http_port(s->http)),
	        GT_KV_STR("rpc_url", s->rpc_url), GT_KV_STR("pub_url", s->pub_url),
	        GT_KV_UINT("epoch", s->epoch), GT_KV_BOOL("persistence", s->wal != NULL),
	        GT_KV_INT("partitions", s->cfg.partitions));
	while (!gt_signal_wait(-1))
		;
	GT_LOGI("service.stopping", GT_KV_STR("reason", "signal"));
	return GT_OK;
}

void
mq_server_free(mq_server *s)
{
	int n;

	if (s == NULL)
		return;
	atomic_store(&s->stopping, 1);
	if (s->rpc != NULL)
		gt_rpc_server_stop(s->rpc);
	if (s->timer_started)
		pthread_join(s->timer, NULL);
	srv_wake_all(s, 1); /* answers every parked fetch (empty) */
	gt_rpc_server_free(s->rpc);
	srv_wake_all(s, 1);
	gt_http_free(s->http);
	if (s->pub_open)
		nng_close(s->pub);
	if (s->wal != NULL)
		mq_wal_close(s->wal);
	n = atomic_load(&s->ntopics);
	for (int i = 0; i < n; i++) {
		srv_topic *st = s->topics[i];
		while (st->waiters != NULL) {
			waiter *w = st->waiters;
			st->waiters = w->next;
			free(w);
		}
		mq_topic_free(st->t);
		pthread_mutex_destroy(&st->mu);
		free(st);
	}
	while (s->pool != NULL) {
		out_pool *p = s->pool;
		s->pool = p->next;
		mq_fetch_out_fini(&p->out);
		free(p);
	}
	gt_metrics_free(s->metrics);
	pthread_rwlock_destroy(&s->topics_lock);
	pthread_mutex_destroy(&s->pool_mu);
	free(s);
}

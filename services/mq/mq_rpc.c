/* mq_rpc.c - the RPC hot path: Publish, Fetch (with acks riding on it), Ack, Nack, and the
 * parked long-polls. A parked fetch holds no thread: the RPC closure is kept and called by
 * whichever thread makes data available (a Publish handler or the timer) via mq_srv_wake.
 * Handlers run on the gt_rpc worker threads; each takes its topic's mutex. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_log.h"
#include "gt/gt_metrics.h"
#include "gt/gt_rpc.h"
#include "gt/gt_time.h"
#include "gtpb/v1/mq.pb-c.h"
#include "mq_codec.h"
#include "mq_server_int.h"

#define MQ_DEFAULT_MAX_BYTES (4u << 20)
#define MQ_LIMIT_MAX_BYTES (64u << 20)
#define MQ_CONTEXTS_RESERVED 16 /* RPC contexts never used by parked long-polls */

static int
valid_member(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n > 0 && n <= 256;
}

/* ---- fetch output pool, replies, parked fetches ---- */

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

	if (o->cap > 65536) { /* do not hoard huge arrays */
		mq_fetch_out_fini(o);
		mq_fetch_out_init(o);
	}
	pthread_mutex_lock(&s->pool_mu);
	p->next = s->pool;
	s->pool = p;
	pthread_mutex_unlock(&s->pool_mu);
}

/* Pack the answer to a fetch, the deliveries in o (may be none), straight into the reply:
 * each stored message is copied once, from the partition log into the nng message. Under the
 * topic's lock, which keeps o's messages in place; 0 when out of memory. */
static int
fetch_pack(mq_server *s, const mq_fetch_out *o, void *cdata)
{
	uint8_t *p = gt_rpc_reply_begin(cdata, mq_fetch_out_packed_size(o, s->epoch));

	if (p == NULL)
		return 0;
	mq_fetch_out_pack(o, s->epoch, p);
	return 1;
}

/* Send what fetch_pack packed (or fail the call when it could not). No lock held. */
static void
fetch_send(mq_server *s, const mq_fetch_out *o, int packed, ProtobufCClosure closure,
           void *cdata)
{
	if (!packed) {
		gt_rpc_fail(cdata, GT_RPC_RESOURCE_EXHAUSTED, "out of memory");
		closure(NULL, cdata);
		return;
	}
	gt_counter_add(s->m_delivered, o->n);
	gt_counter_add(s->m_redelivered, o->redelivered);
	gt_rpc_reply_end(cdata);
}

/* Serve parked fetches of st that now have data (or expired when now >= deadline), and drop
 * those whose client has gone (its connection closed: answered CANCELLED, which nobody reads,
 * so that the RPC context is free again and the consumer can expire).
 * Called with no lock held; answers one waiter at a time. */
void
mq_srv_wake(mq_server *s, srv_topic *st, int check_deadlines)
{
	for (;;) {
		mq_fetch_out *o;
		waiter       *w = NULL, **pp;
		int64_t       now = gt_mono_ns();
		int           gone = 0, packed = 0;

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
			/* before fetching: a gone client must not take deliveries with it */
			gone = gt_rpc_cancelled(c->cdata);
			if (!stop && !gone &&
			    mq_topic_fetch(st->t, c->group, c->consumer, c->max_msgs, c->max_bytes,
			                   o) != GT_OK)
				mq_fetch_out_reset(o);
			if (gone || o->n > 0 || stop || (check_deadlines && now >= c->deadline)) {
				w = c;
				*pp = c->next;
				st->nwaiters--;
				atomic_fetch_sub(&s->parked, 1);
				mq_topic_park(st->t, c->group, c->consumer, -1);
				if (!gone)
					packed = fetch_pack(s, o, c->cdata);
				break;
			}
		}
		pthread_mutex_unlock(&st->mu);
		if (w == NULL) {
			pool_put(s, o);
			return;
		}
		if (gone) {
			gt_counter_inc(s->m_cancelled);
			gt_rpc_fail(w->cdata, GT_RPC_CANCELLED, "client gone");
			w->closure(NULL, w->cdata);
			pool_put(s, o);
			free(w);
			continue;
		}
		fetch_send(s, o, packed, w->closure, w->cdata);
		pool_put(s, o);
		free(w);
	}
}

void
mq_srv_wake_all(mq_server *s, int check_deadlines)
{
	int n = atomic_load(&s->ntopics);

	for (int i = 0; i < n; i++)
		mq_srv_wake(s, s->topics[i], check_deadlines);
}

/* ---- handlers ---- */

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

void
mq_rpc_publish(mq_server *s, const ProtobufCMessage *in, ProtobufCClosure closure, void *cdata)
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

	if (!mq_srv_valid_name(req->topic, 0)) {
		gt_rpc_fail(cdata, GT_RPC_INVALID_ARGUMENT, "bad topic name \"%.64s\"", req->topic);
		goto fail;
	}
	if ((rv = mq_srv_create(s, req->topic, &st)) != GT_OK) {
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
	else if (rv == GT_OK && dup && s->wal != NULL)
		/* A resend while the original may still wait for its fsync (the producer gave up
		 * waiting): confirmed only once the original is durable, which lies at or below
		 * everything appended so far. */
		wal_lsn = mq_wal_appended(s->wal);
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
		} else if (rv == GT_EINVAL) {
			gt_rpc_fail(cdata, GT_RPC_INVALID_ARGUMENT,
			            "message %zu: key or a header is not valid UTF-8 (or contains NUL)",
			            bad);
		} else {
			gt_rpc_fail(cdata, mq_srv_code(rv), "publish failed: %s", gt_strerror(rv));
		}
		goto fail;
	}
	if (wal_lsn && (rv = mq_wal_wait(s->wal, wal_lsn)) != GT_OK) {
		gt_rpc_fail(cdata, GT_RPC_INTERNAL, "wal: %s", gt_strerror(rv));
		goto fail;
	}
	if (wal_lsn && !dup) { /* durable: consumers may have it now */
		pthread_mutex_lock(&st->mu);
		mq_topic_commit(st->t, pos, n);
		pthread_mutex_unlock(&st->mu);
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
		mq_srv_pub_send(s, req->topic, req->messages, n);
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

void
mq_rpc_fetch(mq_server *s, const ProtobufCMessage *in, ProtobufCClosure closure, void *cdata)
{
	const Gtpb__V1__FetchRequest *req = (const Gtpb__V1__FetchRequest *)in;
	srv_topic                    *st;
	mq_fetch_out                 *o;
	size_t max_bytes = req->max_bytes ? req->max_bytes : MQ_DEFAULT_MAX_BYTES;
	size_t ngroups, nack_ids = 0;
	mq_id *ack_ids = NULL;
	int    packed = 0;
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
		if (wait > s->cfg.max_fetch_wait) /* a parked call holds a context: bounded */
			wait = s->cfg.max_fetch_wait;
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
	if (rv == GT_OK)
		packed = fetch_pack(s, o, cdata);
	pthread_mutex_unlock(&st->mu);
	if (rv != GT_OK) {
		gt_rpc_fail(cdata, mq_srv_code(rv), "fetch failed: %s", gt_strerror(rv));
		closure(NULL, cdata);
	} else {
		fetch_send(s, o, packed, closure, cdata);
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

void
mq_rpc_ack(mq_server *s, const ProtobufCMessage *in, ProtobufCClosure closure, void *cdata)
{
	const Gtpb__V1__AckRequest *r = (const Gtpb__V1__AckRequest *)in;
	h_ack_nack(s, 0, r->topic, r->group, r->ids, r->n_ids, r->ranges, r->n_ranges, 0, NULL,
	           closure, cdata);
}

void
mq_rpc_nack(mq_server *s, const ProtobufCMessage *in, ProtobufCClosure closure, void *cdata)
{
	const Gtpb__V1__NackRequest *r = (const Gtpb__V1__NackRequest *)in;
	h_ack_nack(s, 1, r->topic, r->group, r->ids, r->n_ids, NULL, 0, r->dead_letter, r->reason,
	           closure, cdata);
}

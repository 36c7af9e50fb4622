/* mq_admin.c - the administrative side: Stats/Topics/Health/DLQ RPCs and the HTTP admin
 * endpoints (/health, /stats, /metrics through the common service shell gt_svc; /topics).
 * None of this is on the hot path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_json.h"
#include "gt/gt_log.h"
#include "gt/gt_time.h"
#include "mq_server_int.h"

/* ---- stats ---- */

/* The broker's /stats members (gt_svc adds service, version, uptime_seconds). */
static gt_err
stats_members(void *arg, gt_buf *b, int *ofirst)
{
	mq_server *s = arg;
	int        first = 1, n = atomic_load(&s->ntopics);
	int        subs = s->pub != NULL ? gt_feed_subscribers(s->pub) : 0;
	uint64_t   total = 0, total_acked = 0;

	gt_json_key(b, ofirst, "topics");
	gt_buf_putc(b, '{');
	for (int i = 0; i < n; i++) {
		srv_topic     *st = s->topics[i];
		mq_topic_stats ts;
		int            gfirst = 1;

		pthread_mutex_lock(&st->mu);
		mq_topic_stats_get(st->t, &ts);
		total += ts.messages;
		gt_json_key(b, &first, mq_topic_name(st->t));
		gt_buf_printf(b,
		              "{\"messages\":%llu,\"subscribers\":%d,\"throughput_msg_per_sec\":",
		              (unsigned long long)ts.messages, subs);
		gt_json_dbl(b, st->rate);
		gt_buf_printf(
		    b,
		    ",\"partitions\":%u,\"retained\":%llu,\"bytes\":%llu,\"max_bytes\":%llu,"
		    "\"duplicates\":%llu,\"rejected_full\":%llu,\"dlq\":%llu,\"waiting_fetches\":%"
		    "zu,"
		    "\"groups\":{",
		    mq_topic_partitions(st->t), (unsigned long long)ts.retained,
		    (unsigned long long)ts.bytes, (unsigned long long)s->cfg.max_topic_bytes,
		    (unsigned long long)ts.duplicates, (unsigned long long)ts.rejected_full,
		    (unsigned long long)ts.dlq, atomic_load(&st->nwaiters));
		for (size_t g = 0; g < mq_topic_groups(st->t); g++) {
			mq_group_view v;
			if (mq_topic_group_view(st->t, g, &v) != GT_OK)
				continue;
			total_acked += v.acked;
			gt_json_key(b, &gfirst, v.name);
			gt_buf_printf(
			    b,
			    "{\"lag\":%llu,\"pending\":%llu,\"delivered\":%llu,\"redelivered\":%"
			    "llu,"
			    "\"acked\":%llu,\"dead_lettered\":%llu,\"consumers\":[",
			    (unsigned long long)v.lag, (unsigned long long)v.pending,
			    (unsigned long long)v.delivered, (unsigned long long)v.redelivered,
			    (unsigned long long)v.acked, (unsigned long long)v.dead_lettered);
			for (size_t c = 0; c < v.nconsumers; c++) {
				if (c)
					gt_buf_putc(b, ',');
				gt_json_cstr(b, v.consumers[c]);
			}
			gt_buf_puts(b, "]}");
			free(v.consumers);
		}
		gt_buf_puts(b, "}}");
		if (ts.dlq > 0) {
			char dn[MQ_NAME_MAX + 8];
			snprintf(dn, sizeof(dn), "%s.dlq", mq_topic_name(st->t));
			gt_json_key(b, &first, dn);
			gt_buf_printf(
			    b, "{\"messages\":%llu,\"subscribers\":0,\"throughput_msg_per_sec\":0}",
			    (unsigned long long)ts.dlq);
		}
		pthread_mutex_unlock(&st->mu);
	}
	gt_buf_printf(b, "},\"total_processed\":%llu,\"total_acked\":%llu",
	              (unsigned long long)total, (unsigned long long)total_acked);
	gt_buf_printf(b, ",\"epoch\":%llu,\"persistence\":%s", (unsigned long long)s->epoch,
	              s->wal ? "true" : "false");
	if (s->wal != NULL) {
		mq_wal_stats ws;
		mq_wal_stats_get(s->wal, &ws);
		gt_buf_printf(
		    b,
		    ",\"wal\":{\"segments\":%llu,\"bytes\":%llu,\"written\":%llu,\"fsyncs\":%llu,"
		    "\"truncated_bytes\":%llu}",
		    (unsigned long long)ws.segments, (unsigned long long)ws.bytes,
		    (unsigned long long)ws.written, (unsigned long long)ws.fsyncs,
		    (unsigned long long)ws.truncated);
	}
	gt_buf_puts(b, ",\"metrics\":{");
	{
		int mfirst = 1;
		gt_metrics_json(s->metrics, b, &mfirst);
	}
	return gt_buf_puts(b, "}");
}

static void
health_details(void *arg, gt_svc_health *h)
{
	mq_server *s = arg;

	h->status = atomic_load(&s->stopping) ? "down" : "ok";
	gt_svc_health_int(h, "epoch", (int64_t)s->epoch);
	gt_svc_health_bool(h, "persistence", s->wal != NULL);
}

gt_err
mq_admin_shell(mq_server *s)
{
	gt_svc_cfg c = {.service = "mq",
	                .metrics = s->metrics,
	                .health = health_details,
	                .stats = stats_members,
	                .arg = s};

	return gt_svc_new(&s->shell, &c);
}

void
mq_admin_stats(mq_server *s, const ProtobufCMessage *in, ProtobufCClosure closure, void *cdata)
{
	(void)in;
	gt_svc_rpc_stats(s->shell, (Gtpb__V1__StatsResponse_Closure)closure, cdata);
}

void
mq_admin_health(mq_server *s, const ProtobufCMessage *in, ProtobufCClosure closure, void *cdata)
{
	(void)in;
	gt_svc_rpc_health(s->shell, (Gtpb__V1__HealthResponse_Closure)closure, cdata);
}

void
mq_admin_topics(mq_server *s, const ProtobufCMessage *in, ProtobufCClosure closure, void *cdata)
{
	Gtpb__V1__TopicsResponse r = GTPB__V1__TOPICS_RESPONSE__INIT;
	int                      n = atomic_load(&s->ntopics);
	Gtpb__V1__TopicInfo     *ti = calloc((size_t)n + 1, sizeof(*ti));
	Gtpb__V1__TopicInfo    **tp = calloc((size_t)n + 1, sizeof(*tp));
	void                   **frees = NULL;
	size_t                   nfrees = 0;

	(void)in;
	if (ti == NULL || tp == NULL)
		goto oom;
	for (int i = 0; i < n; i++) {
		srv_topic     *st = s->topics[i];
		mq_topic_stats ts;
		size_t         ng;

		pthread_mutex_lock(&st->mu);
		gtpb__v1__topic_info__init(&ti[i]);
		mq_topic_stats_get(st->t, &ts);
		ti[i].name = (char *)mq_topic_name(st->t);
		ti[i].partitions = mq_topic_partitions(st->t);
		ti[i].messages = ts.messages;
		ti[i].bytes = ts.bytes;
		ti[i].max_bytes = (uint64_t)s->cfg.max_topic_bytes;
		ng = mq_topic_groups(st->t);
		if (ng > 0) {
			Gtpb__V1__GroupInfo  *gi = calloc(ng, sizeof(*gi));
			Gtpb__V1__GroupInfo **gp = calloc(ng, sizeof(*gp));
			void **nf = realloc(frees, (nfrees + 2 + 2 * ng) * sizeof(void *));
			if (gi == NULL || gp == NULL || nf == NULL) {
				free(gi);
				free(gp);
				if (nf)
					frees = nf;
				pthread_mutex_unlock(&st->mu);
				goto oom;
			}
			frees = nf;
			frees[nfrees++] = gi;
			frees[nfrees++] = gp;
			for (size_t g = 0; g < ng; g++) {
				mq_group_view v;
				gtpb__v1__group_info__init(&gi[g]);
				gp[g] = &gi[g];
				if (mq_topic_group_view(st->t, g, &v) != GT_OK)
					continue;
				gi[g].name = (char *)v.name;
				gi[g].lag = v.lag;
				gi[g].pending = v.pending;
				gi[g].redelivered = v.redelivered;
				gi[g].dead_lettered = v.dead_lettered;
				gi[g].n_consumers = v.nconsumers;
				gi[g].consumers = (char **)v.consumers;
				frees[nfrees++] = v.consumers;
			}
			ti[i].n_groups = ng;
			ti[i].groups = gp;
		}
		tp[i] = &ti[i];
		/* Names stay valid: topics and groups are never deleted. Counters are a snapshot.
		 */
		pthread_mutex_unlock(&st->mu);
	}
	r.n_topics = (size_t)n;
	r.topics = tp;
	closure(&r.base, cdata);
	goto out;
oom:
	gt_rpc_fail(cdata, GT_RPC_RESOURCE_EXHAUSTED, "out of memory");
	closure(NULL, cdata);
out:
	for (size_t i = 0; i < nfrees; i++)
		free(frees[i]);
	free(frees);
	free(ti);
	free(tp);
}

typedef struct dlq_ctx {
	Gtpb__V1__DeadLetter  *letters;
	Gtpb__V1__DeadLetter **lp;
	Gtpb__V1__DeliveryId  *ids;
	Gtpb__V1__Message    **msgs;
	char                 **strs;
	size_t                 n;
} dlq_ctx;

static void
dlq_visit(void *arg, const mq_dead_view *d)
{
	dlq_ctx              *c = arg;
	Gtpb__V1__DeadLetter *l = &c->letters[c->n];
	Gtpb__V1__DeliveryId *id = &c->ids[c->n];

	gtpb__v1__dead_letter__init(l);
	gtpb__v1__delivery_id__init(id);
	id->epoch = d->id.epoch;
	id->partition = d->id.partition;
	id->offset = d->id.offset;
	l->id = id;
	l->group = d->group_gone ? (char *)"(deleted group)" : (char *)d->group;
	l->attempts = d->attempts;
	l->reason = (char *)d->reason;
	l->dlq_offset = d->dlq_offset;
	c->msgs[c->n] = d->msg ? gtpb__v1__message__unpack(NULL, d->len, d->msg) : NULL;
	l->message = c->msgs[c->n];
	c->lp[c->n] = l;
	c->n++;
}

void
mq_admin_dlq_list(mq_server *s, const ProtobufCMessage *in, ProtobufCClosure closure, void *cdata)
{
	const Gtpb__V1__DlqListRequest *req = (const Gtpb__V1__DlqListRequest *)in;
	Gtpb__V1__DlqListResponse       r = GTPB__V1__DLQ_LIST_RESPONSE__INIT;
	srv_topic                      *st = mq_srv_find(s, req->topic);
	dlq_ctx                         c = {0};
	size_t                          limit = req->limit ? req->limit : 100, total;

	if (st == NULL) {
		gt_rpc_fail(cdata, GT_RPC_NOT_FOUND, "no topic \"%.64s\"", req->topic);
		closure(NULL, cdata);
		return;
	}
	if (limit > 10000)
		limit = 10000;
	pthread_mutex_lock(&st->mu);
	total = mq_topic_dlq_count(st->t);
	if (limit > total)
		limit = total;
	c.letters = calloc(limit + 1, sizeof(*c.letters));
	c.lp = calloc(limit + 1, sizeof(*c.lp));
	c.ids = calloc(limit + 1, sizeof(*c.ids));
	c.msgs = calloc(limit + 1, sizeof(*c.msgs));
	if (c.letters && c.lp && c.ids && c.msgs)
		mq_topic_dlq_each(st->t, limit, dlq_visit, &c);
	r.total = total;
	r.n_letters = c.n;
	r.letters = c.lp;
	/* The topic lock is held while packing: letters borrow the DLQ's strings. */
	if (c.letters && c.lp && c.ids && c.msgs) {
		closure(&r.base, cdata);
	} else {
		gt_rpc_fail(cdata, GT_RPC_RESOURCE_EXHAUSTED, "out of memory");
		closure(NULL, cdata);
	}
	pthread_mutex_unlock(&st->mu);
	for (size_t i = 0; i < c.n; i++)
		if (c.msgs[i])
			gtpb__v1__message__free_unpacked(c.msgs[i], NULL);
	free(c.letters);
	free(c.lp);
	free(c.ids);
	free(c.msgs);
}

/* With persistence, each replayed letter is logged as one REPLAY record (the republished
 * message and the DLQ trim together); the RPC answers once the last one is durable. */
typedef struct replay_ctx {
	mq_server *s;
	srv_topic *st;
	uint64_t   lsn;
	gt_err     wal_rv;
	mq_pos    *pos; /* where the letters were republished, committed once durable */
	size_t     npos, cap;
} replay_ctx;

static gt_err
replay_log(void *arg, mq_topic *t, const uint8_t *msg, size_t len, const mq_pos *pos,
           uint64_t below)
{
	replay_ctx *c = arg;

	(void)t;
	if (pos != NULL && c->npos == c->cap) {
		size_t  nc = c->cap ? 2 * c->cap : 64;
		mq_pos *np = realloc(c->pos, nc * sizeof(*np));
		if (np == NULL)
			return c->wal_rv = GT_ENOMEM;
		c->pos = np;
		c->cap = nc;
	}
	if (pos != NULL)
		c->pos[c->npos++] = *pos;
	c->wal_rv = mq_wal_replay(c->s->wal, c->st->wal_id, msg, len, pos, below, &c->lsn);
	return c->wal_rv;
}

void
mq_admin_dlq_replay(mq_server *s, const ProtobufCMessage *in, ProtobufCClosure closure, void *cdata)
{
	const Gtpb__V1__DlqReplayRequest *req = (const Gtpb__V1__DlqReplayRequest *)in;
	Gtpb__V1__DlqReplayResponse       r = GTPB__V1__DLQ_REPLAY_RESPONSE__INIT;
	srv_topic                        *st = mq_srv_find(s, req->topic);
	replay_ctx                        c = {s, st, 0, GT_OK, NULL, 0, 0};
	size_t                            n = 0;
	gt_err                            rv;

	if (st == NULL) {
		gt_rpc_fail(cdata, GT_RPC_NOT_FOUND, "no topic \"%.64s\"", req->topic);
		closure(NULL, cdata);
		return;
	}
	pthread_mutex_lock(&st->mu);
	rv = mq_topic_dlq_replay(st->t, req->limit, &n, s->wal ? replay_log : NULL, &c);
	pthread_mutex_unlock(&st->mu);
	GT_LOGI("dlq.replayed", GT_KV_STR("topic", req->topic), GT_KV_UINT("count", n));
	if (c.wal_rv == GT_OK && c.lsn)
		c.wal_rv = mq_wal_wait(s->wal, c.lsn);
	if (c.wal_rv == GT_OK && c.npos > 0) {
		pthread_mutex_lock(&st->mu);
		mq_topic_commit(st->t, c.pos, c.npos);
		pthread_mutex_unlock(&st->mu);
	}
	free(c.pos);
	if (n > 0)
		mq_srv_wake(s, st, 0);
	if (c.wal_rv != GT_OK) {
		gt_rpc_fail(cdata, GT_RPC_INTERNAL, "replay not persisted: %s",
		            gt_strerror(c.wal_rv));
		closure(NULL, cdata);
		return;
	}
	if (rv != GT_OK && n == 0) {
		gt_rpc_fail(cdata, mq_srv_code(rv), "replay failed: %s", gt_strerror(rv));
		closure(NULL, cdata);
		return;
	}
	r.replayed = (uint32_t)n;
	closure(&r.base, cdata);
}

void
mq_admin_dlq_purge(mq_server *s, const ProtobufCMessage *in, ProtobufCClosure closure, void *cdata)
{
	const Gtpb__V1__DlqPurgeRequest *req = (const Gtpb__V1__DlqPurgeRequest *)in;
	Gtpb__V1__DlqPurgeResponse       r = GTPB__V1__DLQ_PURGE_RESPONSE__INIT;
	srv_topic                       *st = mq_srv_find(s, req->topic);
	uint64_t                         below = 0, lsn = 0;
	gt_err                           rv = GT_OK;

	if (st == NULL) {
		gt_rpc_fail(cdata, GT_RPC_NOT_FOUND, "no topic \"%.64s\"", req->topic);
		closure(NULL, cdata);
		return;
	}
	pthread_mutex_lock(&st->mu);
	r.purged = (uint32_t)mq_topic_dlq_purge(st->t, &below);
	if (r.purged > 0 && s->wal != NULL)
		rv = mq_wal_dlq_trim(s->wal, st->wal_id, below, &lsn);
	pthread_mutex_unlock(&st->mu);
	GT_LOGI("dlq.purged", GT_KV_STR("topic", req->topic), GT_KV_UINT("count", r.purged));
	if (rv == GT_OK && lsn)
		rv = mq_wal_wait(s->wal, lsn);
	if (rv != GT_OK) {
		gt_rpc_fail(cdata, mq_srv_code(rv), "purge not persisted: %s", gt_strerror(rv));
		closure(NULL, cdata);
		return;
	}
	closure(&r.base, cdata);
}

/* Purge with --persistence: each group's newly done offsets are logged as ACK records (in
 * chunks), so recovery drops them again. */
typedef struct purge_ctx {
	mq_server *s;
	srv_topic *st;
} purge_ctx;

static gt_err
purge_log(void *arg, const char *group, uint32_t part, uint64_t from, uint64_t to)
{
	purge_ctx *c = arg;
	mq_id      ids[1024];
	gt_err     rv = GT_OK;

	while (from < to && rv == GT_OK) {
		size_t n = 0;

		for (; from < to && n < sizeof(ids) / sizeof(ids[0]); from++, n++) {
			ids[n].epoch = c->s->epoch;
			ids[n].partition = part;
			ids[n].offset = from;
		}
		rv = mq_wal_ack(c->s->wal, c->st->wal_id, group, ids, n);
	}
	return rv;
}

void
mq_admin_purge(mq_server *s, const ProtobufCMessage *in, ProtobufCClosure closure, void *cdata)
{
	const Gtpb__V1__PurgeRequest *req = (const Gtpb__V1__PurgeRequest *)in;
	Gtpb__V1__PurgeResponse       r = GTPB__V1__PURGE_RESPONSE__INIT;
	srv_topic                    *st = mq_srv_find(s, req->topic);
	purge_ctx                     c = {s, st};
	uint64_t                      n = 0, lsn = 0;
	gt_err                        rv = GT_OK;

	if (st == NULL) {
		gt_rpc_fail(cdata, GT_RPC_NOT_FOUND, "no topic \"%.64s\"", req->topic);
		closure(NULL, cdata);
		return;
	}
	pthread_mutex_lock(&st->mu);
	if (s->wal != NULL && mq_topic_groups(st->t) == 0)
		rv = GT_ENOTSUP; /* nothing to record the purge with: acks belong to groups */
	else
		rv = mq_topic_purge(st->t, &n, s->wal ? purge_log : NULL, &c);
	if (s->wal != NULL)
		lsn = mq_wal_appended(s->wal);
	pthread_mutex_unlock(&st->mu);
	if (rv == GT_ENOTSUP) {
		gt_rpc_fail(
		    cdata, GT_RPC_FAILED_PRECONDITION,
		    "topic %s has no consumer group: with --persistence a purge is recorded as "
		    "the groups' acks",
		    req->topic);
		closure(NULL, cdata);
		return;
	}
	GT_LOGI("topic.purged", GT_KV_STR("topic", req->topic), GT_KV_UINT("count", n));
	if (rv == GT_OK && lsn)
		rv = mq_wal_wait(s->wal, lsn);
	if (rv != GT_OK) {
		gt_rpc_fail(cdata, mq_srv_code(rv), "purge not persisted: %s", gt_strerror(rv));
		closure(NULL, cdata);
		return;
	}
	r.purged = n;
	closure(&r.base, cdata);
}

/* ---- HTTP ---- */

static void
http_topics(gt_http_req *req, void *arg)
{
	mq_server *s = arg;
	gt_buf     b;
	int        n = atomic_load(&s->ntopics);

	gt_buf_init(&b);
	gt_buf_puts(&b, "{\"topics\":[");
	for (int i = 0; i < n; i++) {
		srv_topic     *st = s->topics[i];
		mq_topic_stats ts;
		pthread_mutex_lock(&st->mu);
		mq_topic_stats_get(st->t, &ts);
		if (i)
			gt_buf_putc(&b, ',');
		gt_buf_puts(&b, "{\"name\":");
		gt_json_cstr(&b, mq_topic_name(st->t));
		gt_buf_printf(&b,
		              ",\"partitions\":%u,\"messages\":%llu,\"retained\":%llu,\"bytes\":%"
		              "llu,\"groups\":[",
		              mq_topic_partitions(st->t), (unsigned long long)ts.messages,
		              (unsigned long long)ts.retained, (unsigned long long)ts.bytes);
		for (size_t g = 0; g < mq_topic_groups(st->t); g++) {
			mq_group_view v;
			if (mq_topic_group_view(st->t, g, &v) != GT_OK)
				continue;
			if (g)
				gt_buf_putc(&b, ',');
			gt_json_cstr(&b, v.name);
			free(v.consumers);
		}
		gt_buf_puts(&b, "]}");
		pthread_mutex_unlock(&st->mu);
	}
	gt_buf_puts(&b, "]}");
	gt_http_reply_json(req, 200, &b);
	gt_buf_fini(&b);
}

gt_err
mq_admin_routes(mq_server *s)
{
	gt_err rv;

	if ((rv = gt_svc_routes(s->shell, s->http)) != GT_OK)
		return rv;
	return gt_http_route(s->http, "GET", "/topics", http_topics, s, 0);
}

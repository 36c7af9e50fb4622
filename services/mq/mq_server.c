/* mq_server.c - the broker's lifecycle: build (metrics, topics, persistence, RPC service,
 * PUB feed, HTTP admin), serve until a signal, shut down in order; the topic registry, the
 * method table, the timer thread and the live feed.
 *
 * Threads: gt_rpc worker threads run the handlers (mq_rpc.c, mq_admin.c); one timer thread
 * expires long-polls, wakes waiters when redeliveries fall due and expires consumer leases;
 * the gt_http thread serves admin requests; the main thread waits for a signal. Each topic
 * has one mutex that guards its mq_topic and its list of parked fetches. */
#include <nng/nng.h>
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

#define MQ_TICK_NS (2 * GT_NS_PER_MS)

/* ---- helpers ---- */

int
mq_srv_valid_name(const char *s, int allow_dlq)
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

gt_err
mq_srv_create(mq_server *s, const char *name, srv_topic **out)
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

/* ---- live feed ---- */

void
mq_srv_pub_send(mq_server *s, const char *topic, const ProtobufCBinaryData *msgs, size_t n)
{
	if (s->pub == NULL || gt_feed_subscribers(s->pub) <= 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (gt_feed_send(s->pub, topic, msgs[i].data, msgs[i].len) == GT_ENOMEM)
			return;
}

/* Method table: one row per rpc of MessageQueue in mq.proto. */
static const struct {
	const char *name;
	mq_handler  fn;
} mq_methods[] = {
    {"Publish", mq_rpc_publish},
    {"Fetch", mq_rpc_fetch},
    {"Ack", mq_rpc_ack},
    {"Nack", mq_rpc_nack},
    {"Topics", mq_admin_topics},
    {"Stats", mq_admin_stats},
    {"Health", mq_admin_health},
    {"DlqList", mq_admin_dlq_list},
    {"DlqReplay", mq_admin_dlq_replay},
    {"DlqPurge", mq_admin_dlq_purge},
    {"Purge", mq_admin_purge},
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

/* ---- lifecycle ---- */

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

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return GT_ENOMEM;
	s->cfg = *cfg;
	pthread_rwlock_init(&s->topics_lock, NULL);
	pthread_mutex_init(&s->pool_mu, NULL);
	*out = s;

	if ((rv = gt_metrics_new(&s->metrics, "gt_mq_")) != GT_OK ||
	    (rv = mq_admin_shell(s)) != GT_OK)
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
	s->m_cancelled = gt_metrics_counter(s->metrics, "fetch_cancelled_total", NULL,
	                                    "parked long-polls dropped because their client left");
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
	s->tcfg.on_dead = mq_persist_on_dead;
	s->tcfg.on_redeliver = mq_persist_on_redeliver;
	s->tcfg.hook_arg = s;
	s->tcfg.group_ttl = cfg->group_ttl;
	s->tcfg.on_group_deleted = mq_persist_on_group_deleted;
	/* first deliveries are collected into runs only when there is a WAL to log them */
	s->tcfg.on_delivered = cfg->persistence ? mq_persist_on_delivered : NULL;
	s->tcfg.hold_new = cfg->persistence; /* delivered once durable (mq_topic_commit) */

	if (cfg->persistence) {
		if ((rv = mq_persist_open(s)) != GT_OK)
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
			if (!mq_srv_valid_name(tok, 0)) {
				GT_LOGE("config.bad_topic", GT_KV_STR("topic", tok));
				free(list);
				return GT_EINVAL;
			}
			if ((rv = mq_srv_create(s, tok, &st)) != GT_OK) {
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
		if ((rv = gt_feed_open(&s->pub, cfg->pub_url)) != GT_OK)
			return rv;
		snprintf(s->pub_url, sizeof(s->pub_url), "%s", gt_feed_url(s->pub));
	}

	hc.service = "mq";
	hc.bind = cfg->bind;
	hc.port = (int)cfg->port;
	hc.token = *cfg->token ? cfg->token : NULL; /* guards every route but /health, /metrics */
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
	gt_rpc_dial_url(s->rpc_url, sizeof(s->rpc_url), cfg->rpc_url, gt_rpc_server_port(s->rpc));
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
	mq_srv_wake_all(s, 1); /* answers every parked fetch (empty) */
	gt_rpc_server_free(s->rpc);
	mq_srv_wake_all(s, 1);
	gt_http_free(s->http);
	gt_feed_close(s->pub);
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
	gt_svc_free(s->shell);
	gt_metrics_free(s->metrics);
	pthread_rwlock_destroy(&s->topics_lock);
	pthread_mutex_destroy(&s->pool_mu);
	free(s);
}

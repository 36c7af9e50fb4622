/* mq_persist.c - the broker's side of the write-ahead log: the hooks that log what the
 * topics do without an RPC saying so (dead-lettering, first deliveries and redeliveries,
 * group expiry), the
 * recovery callbacks that rebuild topics, groups, messages, acks, attempt counts, producers
 * and dead letters from the WAL, the
 * retention question the WAL writer asks before deleting a segment, and the start-up
 * sequence (open, recover, trim, start the writer). The RPC paths log their own records
 * (mq_rpc.c, mq_admin.c). */
#include <pthread.h>
#include <stdatomic.h>

#include "gt/gt_log.h"
#include "mq_server_int.h"

/* A message was dead-lettered (under the topic lock): the DEAD record carries the letter and
 * marks the offset done, like an ack. */
void
mq_persist_on_dead(void *arg, mq_topic *t, const mq_dead_view *d)
{
	mq_server *s = arg;
	int        n = atomic_load(&s->ntopics);

	if (s->wal == NULL)
		return;
	for (int i = 0; i < n; i++)
		if (s->topics[i]->t == t)
			mq_wal_dead(s->wal, s->topics[i]->wal_id, d);
}

/* A redelivery (under the topic lock): its attempt count survives restarts. */
void
mq_persist_on_redeliver(void *arg, mq_topic *t, const char *group, uint32_t part, uint64_t off,
                        unsigned attempts)
{
	mq_server *s = arg;
	int        n = atomic_load(&s->ntopics);

	if (s->wal == NULL)
		return;
	for (int i = 0; i < n; i++)
		if (s->topics[i]->t == t)
			mq_wal_attempt(s->wal, s->topics[i]->wal_id, group, part, off, attempts);
}

/* First deliveries of a fetch (under the topic lock): attempt 1 survives a crash, so that a
 * message delivered once and unacked comes back as attempt 2. One record per fetch. */
void
mq_persist_on_delivered(void *arg, mq_topic *t, const char *group, const mq_run *runs, size_t n)
{
	mq_server *s = arg;
	int        nt = atomic_load(&s->ntopics);

	if (s->wal == NULL)
		return;
	for (int i = 0; i < nt; i++)
		if (s->topics[i]->t == t)
			mq_wal_delivered(s->wal, s->topics[i]->wal_id, group, runs, n);
}

void
mq_persist_on_group_deleted(void *arg, mq_topic *t, const char *group)
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

	if ((rv = mq_srv_create(s, name, &st)) != GT_OK)
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

static gt_err
rec_dead(void *arg, uint32_t topic_id, const mq_dead_view *d, int done)
{
	srv_topic *st = rec_find(arg, topic_id);
	gt_err     rv;

	if (st == NULL)
		return GT_ECORRUPT;
	if (done &&
	    (rv = mq_topic_restore_done(st->t, d->group, d->id.partition, d->id.offset)) != GT_OK)
		return rv;
	return mq_topic_restore_dead(st->t, d);
}

static gt_err
rec_attempt(void *arg, uint32_t topic_id, const char *group, uint32_t part, uint64_t off,
            unsigned attempts)
{
	srv_topic *st = rec_find(arg, topic_id);
	return st ? mq_topic_restore_attempts(st->t, group, part, off, attempts) : GT_ECORRUPT;
}

static gt_err
rec_dlq_trim(void *arg, uint32_t topic_id, uint64_t below)
{
	srv_topic *st = rec_find(arg, topic_id);

	if (st == NULL)
		return GT_ECORRUPT;
	mq_topic_restore_dlq_trim(st->t, below);
	return GT_OK;
}

static gt_err
rec_part_end(void *arg, uint32_t topic_id, uint32_t part, uint64_t next)
{
	srv_topic *st = rec_find(arg, topic_id);
	return st ? mq_topic_restore_end(st->t, part, next) : GT_ECORRUPT;
}

gt_err
mq_persist_open(mq_server *s)
{
	const mq_config *cfg = &s->cfg;
	mq_wal_cfg       wc = {0};
	mq_wal_rec_ops   ops = {rec_topic,         rec_msg,  rec_producer, rec_ack,     rec_group,
	                        rec_group_deleted, rec_dead, rec_dlq_trim, rec_attempt, rec_part_end};
	gt_err           rv;

	wc.dir = cfg->persistence_path;
	wc.fsync = cfg->fsync;
	wc.fsync_interval = cfg->fsync_interval;
	wc.segment_bytes = (uint64_t)cfg->segment_bytes;
	if ((rv = mq_wal_open(&s->wal, &wc, &s->epoch)) != GT_OK) {
		GT_LOGE("wal.open_failed", GT_KV_STR("path", cfg->persistence_path), GT_KV_ERR(rv));
		return rv;
	}
	s->tcfg.epoch = s->epoch;
	if ((rv = mq_wal_recover(s->wal, &ops, s)) != GT_OK) {
		GT_LOGE("wal.recover_failed", GT_KV_ERR(rv));
		return rv;
	}
	for (int i = 0; i < atomic_load(&s->ntopics); i++)
		mq_topic_expire(s->topics[i]->t); /* trims what every group acked */
	return mq_wal_start(s->wal, srv_is_done, s);
}

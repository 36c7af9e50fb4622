/* mq_topic.c - one topic, its publish side: lifecycle, publish (validation, partitioning,
 * producer dedup, backpressure), groups, retention, recovery, stats. The consumer side is
 * mq_consume.c; partition logs are mq_plog, dead letters mq_dlq, groups mq_group. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_hash.h"
#include "gt/gt_log.h"
#include "gt/gt_mqmsg.h"
#include "mq_codec.h"
#include "mq_topic_int.h"

#define TS_MAX MQ_PLOG_TS_MAX
#define MAX_PRODUCERS 4096

struct mq_producer {
	char    *name;
	uint64_t seq;
	mq_pos  *pos;
	size_t   npos;
	uint64_t used; /* LRU tick */
};

/* ---- retention ---- */

/* Drop everything every group is done with. */
void
mq_topic_trim(mq_topic *t, uint32_t pi)
{
	uint64_t lo = UINT64_MAX, bytes;

	if (t->ngroups == 0)
		return;
	for (size_t i = 0; i < t->ngroups; i++)
		if (t->groups[i]->pels[pi].lo < lo)
			lo = t->groups[i]->pels[pi].lo;
	t->retained -= mq_plog_drop_below(&t->parts[pi], lo, &bytes);
	t->bytes -= bytes;
}

/* ---- topic ---- */

gt_err
mq_topic_new(mq_topic **out, const char *name, const mq_topic_cfg *cfg)
{
	mq_topic *t;

	if (cfg->partitions == 0 || cfg->clock == NULL)
		return GT_EINVAL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return GT_ENOMEM;
	t->cfg = *cfg;
	t->name = strdup(name);
	t->parts = calloc(cfg->partitions, sizeof(*t->parts));
	if (t->name == NULL || t->parts == NULL) {
		mq_topic_free(t);
		return GT_ENOMEM;
	}
	*out = t;
	return GT_OK;
}

void
mq_topic_free(mq_topic *t)
{
	if (t == NULL)
		return;
	if (t->parts != NULL)
		for (uint32_t i = 0; i < t->cfg.partitions; i++)
			mq_plog_fini(&t->parts[i]);
	for (size_t i = 0; i < t->ngroups; i++)
		mq_group_free(t->groups[i]);
	for (size_t i = 0; i < t->nprods; i++) {
		free(t->prods[i].name);
		free(t->prods[i].pos);
	}
	mq_dlq_fini(&t->dlq);
	free(t->prods);
	free(t->groups);
	free(t->parts);
	free(t->name);
	free(t);
}

const char *
mq_topic_name(const mq_topic *t)
{
	return t->name;
}

uint32_t
mq_topic_partitions(const mq_topic *t)
{
	return t->cfg.partitions;
}

mq_group *
mq_topic_group_find(const mq_topic *t, const char *name)
{
	for (size_t i = 0; i < t->ngroups; i++)
		if (strcmp(t->groups[i]->name, name) == 0)
			return t->groups[i];
	return NULL;
}

int
mq_topic_has_group(mq_topic *t, const char *group)
{
	return mq_topic_group_find(t, group) != NULL;
}

gt_err
mq_topic_group_create(mq_topic *t, const char *name, mq_group **out)
{
	uint64_t *starts;
	mq_group *g;
	gt_err    rv;

	if ((*out = mq_topic_group_find(t, name)) != NULL)
		return GT_OK;
	if (t->ngroups == t->capgroups) {
		size_t     nc = t->capgroups ? t->capgroups * 2 : 4;
		mq_group **ng = realloc(t->groups, nc * sizeof(*ng));
		if (ng == NULL)
			return GT_ENOMEM;
		t->groups = ng;
		t->capgroups = nc;
	}
	if ((starts = malloc(t->cfg.partitions * sizeof(*starts))) == NULL)
		return GT_ENOMEM;
	for (uint32_t p = 0; p < t->cfg.partitions; p++)
		starts[p] = t->parts[p].base;
	rv = mq_group_new(&g, name, t->cfg.partitions, starts);
	free(starts);
	if (rv != GT_OK)
		return rv;
	t->groups[t->ngroups++] = g;
	GT_LOGI("group.created", GT_KV_STR("topic", t->name), GT_KV_STR("group", name));
	*out = g;
	return GT_OK;
}

static mq_producer *
topic_producer(mq_topic *t, const char *name, int create)
{
	size_t lru = 0;

	for (size_t i = 0; i < t->nprods; i++) {
		if (strcmp(t->prods[i].name, name) == 0) {
			t->prods[i].used = ++t->tick;
			return &t->prods[i];
		}
		if (t->prods[i].used < t->prods[lru].used)
			lru = i;
	}
	if (!create)
		return NULL;
	if (t->nprods == MAX_PRODUCERS) {
		free(t->prods[lru].name);
		free(t->prods[lru].pos);
		t->prods[lru] = t->prods[--t->nprods];
	}
	if (t->nprods % 16 == 0) {
		mq_producer *np = realloc(t->prods, (t->nprods + 16) * sizeof(*np));
		if (np == NULL)
			return NULL;
		t->prods = np;
	}
	mq_producer *p = &t->prods[t->nprods];
	memset(p, 0, sizeof(*p));
	if ((p->name = strdup(name)) == NULL)
		return NULL;
	p->used = ++t->tick;
	t->nprods++;
	return p;
}

void
mq_topic_restore_producer(mq_topic *t, const char *name, uint64_t seq)
{
	mq_producer *p = topic_producer(t, name, 1);

	if (p != NULL && seq > p->seq) {
		p->seq = seq;
		free(p->pos);
		p->pos = NULL;
		p->npos = 0;
	}
}

/* Store msgs (already parsed; positions[i].partition set). */
static gt_err
topic_append(mq_topic *t, const ProtobufCBinaryData *msgs, const uint8_t *need_ts, size_t n,
             int64_t ts_ns, mq_pos *positions)
{
	for (size_t i = 0; i < n; i++) {
		mq_plog *p = &t->parts[positions[i].partition];
		uint64_t before = p->bytes;
		gt_err   rv;

		positions[i].offset = p->end;
		if ((rv = mq_plog_append(p, msgs[i].data, msgs[i].len, need_ts[i] ? ts_ns : 0)) !=
		    GT_OK)
			return rv;
		t->bytes += p->bytes - before;
		t->retained++;
		t->messages++;
	}
	return GT_OK;
}

static uint32_t
topic_partition_of(mq_topic *t, const gt_mqmsg *v)
{
	if (v->key_len == 0)
		return t->rr_pub++ % t->cfg.partitions;
	return (uint32_t)(gt_hash64(v->key, v->key_len) % t->cfg.partitions);
}

gt_err
mq_topic_publish(mq_topic *t, const ProtobufCBinaryData *msgs, size_t n, const char *prod_name,
                 uint64_t seq, int64_t ts_ns, mq_pos *positions, int *duplicate, size_t *bad)
{
	mq_producer *prod = NULL;
	uint8_t      ts_small[256];
	uint8_t     *need_ts = n <= sizeof(ts_small) ? ts_small : malloc(n);
	uint64_t     total = 0;
	gt_err       rv = GT_OK;

	*duplicate = 0;
	if (need_ts == NULL)
		return GT_ENOMEM;
	if (seq > 0 && prod_name != NULL && *prod_name) {
		prod = topic_producer(t, prod_name, 0);
		if (prod != NULL && seq <= prod->seq) {
			*duplicate = 1;
			t->duplicates++;
			for (size_t i = 0; i < n; i++) {
				if (seq == prod->seq && prod->npos == n)
					positions[i] = prod->pos[i];
				else
					memset(&positions[i], 0, sizeof(positions[i]));
			}
			goto done;
		}
	}
	for (size_t i = 0; i < n; i++) {
		gt_mqmsg v;
		gt_err   vr = gt_mqmsg_validate(msgs[i].data, msgs[i].len, &v);
		if (vr != GT_OK || msgs[i].len > UINT32_MAX / 2) {
			*bad = i;
			rv = vr == GT_EINVAL ? GT_EINVAL : GT_EPROTO;
			goto done;
		}
		need_ts[i] = v.timestamp_ns == 0;
		positions[i].partition = topic_partition_of(t, &v);
		total += msgs[i].len + (need_ts[i] ? TS_MAX : 0);
	}
	if (t->cfg.max_bytes && t->bytes > 0 && t->bytes + total > t->cfg.max_bytes) {
		t->rejected_full++;
		rv = GT_EFULL;
		goto done;
	}
	if ((rv = topic_append(t, msgs, need_ts, n, ts_ns, positions)) != GT_OK)
		goto done;
	if (!t->cfg.hold_new)
		mq_topic_commit(t, positions, n);
	if (seq > 0 && prod_name != NULL && *prod_name) {
		if (prod == NULL)
			prod = topic_producer(t, prod_name, 1);
		if (prod != NULL) {
			mq_pos *np = realloc(prod->pos, (n ? n : 1) * sizeof(*np));
			prod->seq = seq;
			if (np != NULL) {
				memcpy(np, positions, n * sizeof(*np));
				prod->pos = np;
				prod->npos = n;
			}
		}
	}
done:
	if (need_ts != ts_small)
		free(need_ts);
	return rv;
}

void
mq_topic_commit(mq_topic *t, const mq_pos *pos, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		mq_plog *p;

		if (pos[i].partition >= t->cfg.partitions)
			continue;
		p = &t->parts[pos[i].partition];
		if (pos[i].offset >= p->ready && pos[i].offset < p->end)
			p->ready = pos[i].offset + 1;
	}
}

uint64_t
mq_topic_base(const mq_topic *t, uint32_t part)
{
	return part < t->cfg.partitions ? t->parts[part].base : 0;
}

gt_err
mq_topic_restore_group(mq_topic *t, const char *group)
{
	mq_group *g;
	return mq_topic_group_create(t, group, &g);
}

/* Partition pi's log reaches up to off (exclusive): an empty log jumps there (what lay below
 * is gone, so every group has it done), a non-empty one gets empty placeholders. */
static gt_err
restore_reach(mq_topic *t, uint32_t pi, uint64_t off)
{
	mq_plog *p = &t->parts[pi];
	gt_err   rv;

	if (p->base == p->end && off > p->end) {
		mq_plog_skip_to(p, off);
		for (size_t i = 0; i < t->ngroups; i++)
			if (t->groups[i]->pels[pi].hi <= off) {
				/* acks of messages no longer in the log may have grown it */
				mq_pel_fini(&t->groups[i]->pels[pi]);
				mq_pel_init(&t->groups[i]->pels[pi], off);
			}
	}
	while (p->end < off) { /* gap: empty placeholders */
		if ((rv = mq_plog_append(p, (const uint8_t *)"", 0, 0)) != GT_OK)
			return rv;
		t->retained++;
	}
	p->ready = p->end; /* recovered: durable */
	return GT_OK;
}

gt_err
mq_topic_restore_end(mq_topic *t, uint32_t pi, uint64_t next)
{
	if (pi >= t->cfg.partitions)
		return GT_EINVAL;
	return t->parts[pi].end < next ? restore_reach(t, pi, next) : GT_OK;
}

gt_err
mq_topic_restore(mq_topic *t, uint32_t pi, uint64_t off, const uint8_t *msg, size_t len,
                 int64_t ts_ns)
{
	mq_plog *p;
	gt_err   rv;
	gt_mqmsg v;

	if (pi >= t->cfg.partitions)
		return GT_EINVAL;
	p = &t->parts[pi];
	if (off < p->end)
		return GT_OK; /* already there */
	if ((rv = restore_reach(t, pi, off)) != GT_OK)
		return rv;
	uint64_t before = p->bytes;
	if (gt_mqmsg_parse(msg, len, &v) != GT_OK)
		return GT_ECORRUPT;
	if ((rv = mq_plog_append(p, msg, len, v.timestamp_ns != 0 ? 0 : ts_ns)) != GT_OK)
		return rv;
	p->ready = p->end;
	t->bytes += p->bytes - before;
	t->retained++;
	t->messages++;
	return GT_OK;
}

gt_err
mq_topic_restore_done(mq_topic *t, const char *group, uint32_t part, uint64_t off)
{
	mq_group *g;
	gt_err    rv;

	if (part >= t->cfg.partitions)
		return GT_EINVAL;
	if ((rv = mq_topic_group_create(t, group, &g)) != GT_OK)
		return rv;
	mq_pel_done(&g->pels[part], off);
	return GT_OK;
}

gt_err
mq_topic_restore_attempts(mq_topic *t, const char *group, uint32_t part, uint64_t off,
                          unsigned attempts)
{
	mq_group *g;
	gt_err    rv;

	if (part >= t->cfg.partitions)
		return GT_EINVAL;
	if (off < t->parts[part].base || off >= t->parts[part].end)
		return GT_OK; /* not retained (its segment was deleted): done for everyone */
	if ((rv = mq_topic_group_create(t, group, &g)) != GT_OK)
		return rv;
	return mq_pel_restore_attempts(&g->pels[part], off, attempts);
}

/* Finish recovery-style trimming of every partition (after restore_done calls). */
void
mq_topic_trim_all(mq_topic *t)
{
	for (uint32_t p = 0; p < t->cfg.partitions; p++)
		mq_topic_trim(t, p);
}

/* ---- stats ---- */

void
mq_topic_stats_get(const mq_topic *t, mq_topic_stats *s)
{
	s->messages = t->messages;
	s->bytes = t->bytes;
	s->retained = t->retained;
	s->duplicates = t->duplicates;
	s->rejected_full = t->rejected_full;
	s->dlq = mq_topic_dlq_count(t);
}

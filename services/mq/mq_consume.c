/* mq_consume.c - the consumer side of a topic: fetch (due redeliveries first, then new
 * messages of the partitions the consumer owns), long-poll parking, ack / nack with
 * all-or-nothing validation, redelivery backoff, dead-lettering and the DLQ operations,
 * group expiry and deletion, group views. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_log.h"
#include "mq_codec.h"
#include "mq_topic_int.h"

/* ---- fetch output ---- */

void
mq_fetch_out_init(mq_fetch_out *o)
{
	memset(o, 0, sizeof(*o));
}

void
mq_fetch_out_reset(mq_fetch_out *o)
{
	o->n = 0;
	o->bytes = 0;
	o->redelivered = 0;
}

void
mq_fetch_out_fini(mq_fetch_out *o)
{
	free(o->refs);
	memset(o, 0, sizeof(*o));
}

static gt_err
out_add(mq_fetch_out *o, uint64_t epoch, uint32_t part, uint64_t off, uint32_t attempt,
        const uint8_t *msg, size_t len)
{
	mq_fetch_ref *r;

	if (o->n == o->cap) {
		size_t        nc = o->cap ? o->cap * 2 : 64;
		mq_fetch_ref *nr = realloc(o->refs, nc * sizeof(*nr));
		if (nr == NULL)
			return GT_ENOMEM;
		o->refs = nr;
		o->cap = nc;
	}
	r = &o->refs[o->n++];
	r->msg = msg;
	r->len = (uint32_t)len; /* stored messages are < 2 GiB */
	r->partition = part;
	r->epoch = epoch;
	r->offset = off;
	r->attempt = attempt;
	r->size = (uint32_t)mq_delivery_size(epoch, part, off, attempt, len);
	o->bytes += r->size;
	return GT_OK;
}

size_t
mq_fetch_out_packed_size(const mq_fetch_out *o, uint64_t epoch)
{
	size_t n = epoch ? 1 + gt_pb_varint_size(epoch) : 0;

	for (size_t i = 0; i < o->n; i++)
		n += 1 + gt_pb_varint_size(o->refs[i].size) + o->refs[i].size;
	return n;
}

/* Field by field as protobuf-c packs FetchResponse: deliveries (1), then epoch (2) if set. */
void
mq_fetch_out_pack(const mq_fetch_out *o, uint64_t epoch, uint8_t *p)
{
	for (size_t i = 0; i < o->n; i++) {
		const mq_fetch_ref *r = &o->refs[i];
		*p++ = (1 << 3) | 2;
		p += gt_pb_put_varint(p, r->size);
		p += mq_delivery_put(p, r->epoch, r->partition, r->offset, r->attempt, r->msg,
		                     r->len);
	}
	if (epoch) {
		*p++ = (2 << 3) | 0;
		gt_pb_put_varint(p, epoch);
	}
}

/* ---- dead letters ---- */

static void
topic_dead_letter(mq_topic *t, mq_group *g, uint32_t pi, uint64_t off, const char *reason)
{
	mq_pel      *pel = &g->pels[pi];
	mq_pel_ent  *e = mq_pel_get(pel, off);
	mq_plog     *p = &t->parts[pi];
	mq_plog_ent *le;
	mq_dead_view v = {0};

	if (e == NULL || e->state == MQ_PEL_DONE) /* PENDING, or NEW with restored attempts */
		return;
	le = off >= p->base && off < p->end ? mq_plog_at(p, off) : NULL;
	v.group = g->name;
	v.id.epoch = t->cfg.epoch;
	v.id.partition = pi;
	v.id.offset = off;
	v.attempts = e->attempts;
	v.reason = reason ? reason : "";
	v.msg = le ? le->p : NULL;
	v.len = le ? le->len : 0;
	if (mq_dlq_add(&t->dlq, &v, &v) != GT_OK)
		return; /* stays pending; tried again later */
	g->dead_lettered++;
	GT_LOGW("dlq.moved", GT_KV_STR("topic", t->name), GT_KV_STR("group", g->name),
	        GT_KV_UINT("partition", pi), GT_KV_UINT("offset", off),
	        GT_KV_UINT("attempts", e->attempts), GT_KV_STR("reason", reason ? reason : ""));
	mq_pel_done(pel, off);
	if (t->cfg.on_dead != NULL)
		t->cfg.on_dead(t->cfg.hook_arg, t, &v);
}

size_t
mq_topic_dlq_count(const mq_topic *t)
{
	return mq_dlq_count(&t->dlq);
}

void
mq_topic_dlq_each(mq_topic *t, size_t limit, void (*fn)(void *arg, const mq_dead_view *d),
                  void *arg)
{
	mq_dlq_each(&t->dlq, limit, fn, arg);
}

gt_err
mq_topic_dlq_replay(mq_topic *t, size_t limit, size_t *replayed, mq_replay_fn fn, void *arg)
{
	size_t       n = mq_topic_dlq_count(t);
	mq_dead_view d;
	gt_err       rv = GT_OK;

	*replayed = 0;
	if (limit && limit < n)
		n = limit;
	for (size_t i = 0; i < n && rv == GT_OK && mq_dlq_peek(&t->dlq, &d); i++) {
		ProtobufCBinaryData bd = {d.len, (uint8_t *)d.msg};
		mq_pos              pos;
		int                 dup;
		size_t              bad;

		if (d.msg != NULL) {
			rv = mq_topic_publish(t, &bd, 1, NULL, 0, 0, &pos, &dup, &bad);
			if (rv != GT_OK)
				return rv;
		}
		if (fn != NULL)
			rv = fn(arg, t, d.msg, d.len, d.msg ? &pos : NULL, d.dlq_offset + 1);
		mq_dlq_pop(&t->dlq);
		(*replayed)++;
	}
	return rv;
}

size_t
mq_topic_dlq_purge(mq_topic *t, uint64_t *below)
{
	size_t n = mq_dlq_purge(&t->dlq);

	if (below != NULL)
		*below = t->dlq.next;
	return n;
}

gt_err
mq_topic_restore_dead(mq_topic *t, const mq_dead_view *d)
{
	return mq_dlq_restore(&t->dlq, d);
}

void
mq_topic_restore_dlq_trim(mq_topic *t, uint64_t below)
{
	mq_dlq_trim(&t->dlq, below);
}

/* ---- fetch / ack / nack ---- */

#define MQ_RUNS_MAX 64 /* first-delivery runs batched per on_delivered call */

/* First deliveries of one fetch, collected as runs for the on_delivered hook. */
typedef struct first_runs {
	mq_run runs[MQ_RUNS_MAX];
	size_t n;
} first_runs;

static void
runs_flush(mq_topic *t, mq_group *g, first_runs *r)
{
	if (r->n > 0 && t->cfg.on_delivered != NULL)
		t->cfg.on_delivered(t->cfg.hook_arg, t, g->name, r->runs, r->n);
	r->n = 0;
}

static void
runs_add(mq_topic *t, mq_group *g, first_runs *r, uint32_t pi, uint64_t off)
{
	mq_run *last = r->n > 0 ? &r->runs[r->n - 1] : NULL;

	if (t->cfg.on_delivered == NULL)
		return;
	if (last != NULL && last->partition == pi && last->offset + last->count == off) {
		last->count++;
		return;
	}
	if (r->n == MQ_RUNS_MAX)
		runs_flush(t, g, r);
	r->runs[r->n].partition = pi;
	r->runs[r->n].offset = off;
	r->runs[r->n].count = 1;
	r->n++;
}

static unsigned
topic_max_attempts(const mq_topic *t)
{
	return 1 + t->cfg.max_retries;
}

gt_err
mq_topic_fetch(mq_topic *t, const char *group, const char *consumer, uint32_t max_msgs,
               size_t max_bytes, mq_fetch_out *out)
{
	int64_t    now = gt_clock_now(t->cfg.clock);
	mq_group  *g;
	int        ci;
	gt_err     rv;
	uint32_t   np = t->cfg.partitions;
	size_t     start_bytes = out->bytes;
	int        full = 0;
	first_runs first;

	if ((rv = mq_topic_group_create(t, group, &g)) != GT_OK)
		return rv;
	if ((rv = mq_group_touch(g, consumer, now, t->cfg.lease, &ci)) != GT_OK)
		return rv;
	if (max_msgs == 0)
		max_msgs = 1000;
	/* Redeliveries that are due. */
	for (uint32_t k = 0; k < np && !full; k++) {
		uint32_t pi = (g->rr + k) % np;
		mq_pel  *pel = &g->pels[pi];
		uint64_t off;
		int      trimmed = 0;

		if (g->owner[pi] != ci)
			continue;
		while (out->n < max_msgs && mq_pel_due(pel, now, &off, NULL) == GT_OK) {
			mq_pel_ent  *e = mq_pel_get(pel, off);
			mq_plog_ent *le = mq_plog_at(&t->parts[pi], off);
			if (e->attempts >= topic_max_attempts(t)) {
				topic_dead_letter(t, g, pi, off, "max retries exceeded");
				trimmed = 1;
				continue;
			}
			if (out->n > 0 && out->bytes - start_bytes + le->len > max_bytes) {
				full = 1;
				break;
			}
			mq_pel_redeliver(pel, off,
			                 now + mq_backoff(t->cfg.ack_timeout, e->attempts + 1u,
			                                  t->cfg.backoff_cap));
			if (t->cfg.on_redeliver != NULL)
				t->cfg.on_redeliver(t->cfg.hook_arg, t, g->name, pi, off,
				                    e->attempts);
			if ((rv = out_add(out, t->cfg.epoch, pi, off, e->attempts, le->p,
			                  le->len)) != GT_OK)
				return rv;
			g->redelivered++;
			out->redelivered++;
		}
		if (trimmed)
			mq_topic_trim(t, pi);
	}
	/* New messages. */
	first.n = 0;
	for (uint32_t k = 0; k < np && !full && out->n < max_msgs; k++) {
		uint32_t pi = (g->rr + k) % np;
		mq_pel  *pel = &g->pels[pi];
		mq_plog *p = &t->parts[pi];
		int      trimmed = 0;

		if (g->owner[pi] != ci)
			continue;
		while (out->n < max_msgs) {
			uint64_t     off = mq_pel_next_new(pel, p->ready);
			mq_pel_ent  *e;
			mq_plog_ent *le;
			if (off >= p->ready) /* none, or not yet durable */
				break;
			le = mq_plog_at(p, off);
			/* Delivered before a restart (attempts from the WAL): retries go on. */
			if ((e = mq_pel_get(pel, off)) != NULL &&
			    e->attempts >= topic_max_attempts(t)) {
				topic_dead_letter(t, g, pi, off, "max retries exceeded");
				trimmed = 1;
				continue;
			}
			if (out->n > 0 && out->bytes - start_bytes + le->len > max_bytes) {
				full = 1;
				break;
			}
			if ((rv = mq_pel_deliver(pel, off, now, t->cfg.ack_timeout)) != GT_OK) {
				runs_flush(t, g, &first);
				return rv;
			}
			e = mq_pel_get(pel, off);
			if (e->attempts >
			    1) { /* its own deadline: first deliveries' grow with off */
				mq_pel_schedule(pel, off,
				                now + mq_backoff(t->cfg.ack_timeout, e->attempts,
				                                 t->cfg.backoff_cap));
				/* delivered before a restart: log this attempt too */
				if (t->cfg.on_redeliver != NULL)
					t->cfg.on_redeliver(t->cfg.hook_arg, t, g->name, pi, off,
					                    e->attempts);
				g->redelivered++;
				out->redelivered++;
			} else {
				runs_add(t, g, &first, pi, off);
				g->delivered++;
			}
			if ((rv = out_add(out, t->cfg.epoch, pi, off, e->attempts, le->p,
			                  le->len)) != GT_OK) {
				runs_flush(t, g, &first);
				return rv;
			}
		}
		if (trimmed)
			mq_topic_trim(t, pi);
	}
	runs_flush(t, g, &first);
	g->rr++;
	return GT_OK;
}

void
mq_topic_park(mq_topic *t, const char *group, const char *consumer, int delta)
{
	mq_group *g = mq_topic_group_find(t, group);
	int       ci = g ? mq_group_find(g, consumer) : -1;

	if (ci >= 0) {
		g->cons[ci].parked += delta;
		if (g->cons[ci].parked < 0)
			g->cons[ci].parked = 0;
		g->cons[ci].last_seen = gt_clock_now(t->cfg.clock);
	}
}

/* Validate ids for ack/nack: every id delivered in this epoch. */
static gt_err
topic_check_ids(mq_topic *t, mq_group *g, const mq_id *ids, size_t n, size_t *bad)
{
	for (size_t i = 0; i < n; i++) {
		int st;
		if (ids[i].epoch != t->cfg.epoch || ids[i].partition >= t->cfg.partitions) {
			*bad = i;
			return GT_ENOENT;
		}
		st = mq_pel_state(&g->pels[ids[i].partition], ids[i].offset);
		if (st != MQ_PEL_PENDING && st != MQ_PEL_DONE) {
			*bad = i;
			return GT_ENOENT;
		}
	}
	return GT_OK;
}

gt_err
mq_topic_ack(mq_topic *t, const char *group, const mq_id *ids, size_t n, size_t *acked, size_t *bad)
{
	mq_group *g = mq_topic_group_find(t, group);
	uint64_t  touched = 0;
	gt_err    rv;

	*acked = 0;
	*bad = 0;
	if (g == NULL)
		return GT_ENOENT;
	if ((rv = topic_check_ids(t, g, ids, n, bad)) != GT_OK)
		return rv;
	for (size_t i = 0; i < n; i++) {
		if (mq_pel_done(&g->pels[ids[i].partition], ids[i].offset)) {
			(*acked)++;
			touched |= UINT64_C(1) << (ids[i].partition % 64);
		}
	}
	g->acked += *acked;
	for (uint32_t p = 0; p < t->cfg.partitions; p++)
		if (touched & (UINT64_C(1) << (p % 64)))
			mq_topic_trim(t, p);
	return GT_OK;
}

gt_err
mq_topic_nack(mq_topic *t, const char *group, const mq_id *ids, size_t n, int dead_letter,
              const char *reason, size_t *nacked, size_t *bad)
{
	mq_group *g = mq_topic_group_find(t, group);
	int64_t   now = gt_clock_now(t->cfg.clock);
	gt_err    rv;

	*nacked = 0;
	*bad = 0;
	if (g == NULL)
		return GT_ENOENT;
	if ((rv = topic_check_ids(t, g, ids, n, bad)) != GT_OK)
		return rv;
	for (size_t i = 0; i < n; i++) {
		uint32_t    pi = ids[i].partition;
		mq_pel_ent *e = mq_pel_get(&g->pels[pi], ids[i].offset);
		if (e == NULL || e->state != MQ_PEL_PENDING)
			continue;
		(*nacked)++;
		if (dead_letter || e->attempts >= topic_max_attempts(t)) {
			topic_dead_letter(t, g, pi, ids[i].offset,
			                  reason && *reason ? reason
			                                    : (dead_letter ? "nack: dead letter"
			                                                   : "nack: max retries"));
			mq_topic_trim(t, pi);
		} else {
			mq_pel_schedule(
			    &g->pels[pi], ids[i].offset,
			    now + mq_backoff(t->cfg.nack_delay, e->attempts, t->cfg.backoff_cap));
		}
	}
	return GT_OK;
}

int64_t
mq_topic_next_due(mq_topic *t, const char *group)
{
	mq_group *g = mq_topic_group_find(t, group);
	int64_t   now = gt_clock_now(t->cfg.clock), best = INT64_MAX;

	if (g == NULL)
		return INT64_MAX;
	for (uint32_t p = 0; p < t->cfg.partitions; p++) {
		uint64_t off;
		int64_t  nd = INT64_MAX;
		if (g->owner[p] < 0)
			continue;
		if (mq_pel_next_new(&g->pels[p], t->parts[p].ready) < t->parts[p].ready)
			return now;
		if (mq_pel_due(&g->pels[p], now, &off, &nd) == GT_OK)
			return now;
		if (nd < best)
			best = nd;
	}
	return best;
}

gt_err
mq_topic_remove_group(mq_topic *t, const char *group)
{
	for (size_t i = 0; i < t->ngroups; i++) {
		mq_group *g = t->groups[i];
		if (strcmp(g->name, group) != 0)
			continue;
		GT_LOGI("group.deleted", GT_KV_STR("topic", t->name), GT_KV_STR("group", group),
		        GT_KV_UINT("pending", mq_group_pending(g)));
		mq_dlq_group_gone(&t->dlq, group); /* its letters stay */
		memmove(&t->groups[i], &t->groups[i + 1],
		        (t->ngroups - i - 1) * sizeof(*t->groups));
		t->ngroups--;
		mq_group_free(g);
		mq_topic_trim_all(t);
		return GT_OK;
	}
	return GT_ENOENT;
}

void
mq_topic_expire(mq_topic *t)
{
	int64_t now = gt_clock_now(t->cfg.clock);

	for (size_t i = 0; i < t->ngroups; i++) {
		mq_group *g = t->groups[i];
		mq_group_expire(g, now, t->cfg.lease);
		if (g->last_active == 0)
			g->last_active = now;
		if (t->cfg.group_ttl > 0 && g->ncons == 0 &&
		    now - g->last_active > t->cfg.group_ttl) {
			char name[300];
			snprintf(name, sizeof(name), "%s", g->name);
			if (t->cfg.on_group_deleted != NULL)
				t->cfg.on_group_deleted(t->cfg.hook_arg, t, name);
			mq_topic_remove_group(t, name);
			i--;
		}
	}
	mq_topic_trim_all(t);
}

/* ---- views ---- */

size_t
mq_topic_groups(const mq_topic *t)
{
	return t->ngroups;
}

gt_err
mq_topic_group_view(mq_topic *t, size_t i, mq_group_view *v)
{
	mq_group *g;

	if (i >= t->ngroups)
		return GT_ENOENT;
	g = t->groups[i];
	memset(v, 0, sizeof(*v));
	v->name = g->name;
	for (uint32_t p = 0; p < t->cfg.partitions; p++) {
		uint64_t next = mq_pel_next_new(&g->pels[p], t->parts[p].end);
		if (next < t->parts[p].end)
			v->lag += t->parts[p].end - next;
	}
	v->pending = mq_group_pending(g);
	v->delivered = g->delivered;
	v->redelivered = g->redelivered;
	v->acked = g->acked;
	v->dead_lettered = g->dead_lettered;
	v->nconsumers = g->ncons;
	if (g->ncons) {
		if ((v->consumers = malloc(g->ncons * sizeof(char *))) == NULL)
			return GT_ENOMEM;
		for (size_t k = 0; k < g->ncons; k++)
			v->consumers[k] = g->cons[k].name;
	}
	return GT_OK;
}

/* ---- purge ---- */

gt_err
mq_topic_purge(mq_topic *t, uint64_t *purged, mq_purge_fn on_done, void *arg)
{
	uint64_t before = t->retained, bytes;
	gt_err   rv = GT_OK;

	for (size_t i = 0; i < t->ngroups && rv == GT_OK; i++) {
		mq_group *g = t->groups[i];

		for (uint32_t p = 0; p < t->cfg.partitions && rv == GT_OK; p++) {
			uint64_t from = g->pels[p].lo, end = t->parts[p].end;

			if (from >= end)
				continue;
			if (on_done != NULL && (rv = on_done(arg, g->name, p, from, end)) != GT_OK)
				break;
			for (uint64_t off = from; off < end; off++)
				mq_pel_done(&g->pels[p], off);
		}
	}
	if (t->ngroups > 0)
		mq_topic_trim_all(t);
	else
		for (uint32_t p = 0; p < t->cfg.partitions; p++) {
			t->retained -= mq_plog_drop_below(&t->parts[p], t->parts[p].end, &bytes);
			t->bytes -= bytes;
		}
	*purged = before - t->retained;
	return rv;
}

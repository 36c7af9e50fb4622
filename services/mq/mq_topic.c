/* mq_topic.c - partition logs in arena chunks, groups, dead letters, producer dedup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "gt/gt_hash.h"
#include "gt/gt_log.h"
#include "mq_codec.h"
#include "mq_group.h"
#include "mq_topic.h"

#define CHUNK_SIZE (1u << 20)
#define TS_MAX 11 /* tag + 10-byte varint */
#define MAX_PRODUCERS 4096

typedef struct log_chunk {
	struct log_chunk *next;
	size_t            size; /* mapping size */
	size_t            used, cap;
	uint64_t          last_off;
	uint8_t           data[];
} log_chunk;

typedef struct log_ent {
	uint8_t *p;
	uint32_t len;
} log_ent;

typedef struct mq_part {
	uint64_t   base, end; /* retained offsets [base, end) */
	log_ent   *ring;
	size_t     cap;
	log_chunk *head, *tail;
	uint64_t   bytes;
} mq_part;

typedef struct producer {
	char    *name;
	uint64_t seq;
	mq_pos  *pos;
	size_t   npos;
	uint64_t used; /* LRU tick */
} producer;

typedef struct dead {
	mq_group *g;
	mq_id     id;
	unsigned  attempts;
	char     *reason;
	uint8_t  *msg;
	size_t    len;
	uint64_t  dlq_offset;
} dead;

struct mq_topic {
	char        *name;
	mq_topic_cfg cfg;
	mq_part     *parts;
	mq_group   **groups;
	size_t       ngroups, capgroups;
	producer    *prods;
	size_t       nprods;
	uint64_t     tick;
	dead        *dlq;
	size_t       dlq_head, dlq_n, dlq_cap; /* live letters are [dlq_head, dlq_n) */
	uint64_t     dlq_next;
	uint32_t     rr_pub;
	uint64_t     messages, bytes, retained, duplicates, rejected_full;
};

/* ---- fetch output ---- */

void
mq_fetch_out_init(mq_fetch_out *o)
{
	memset(o, 0, sizeof(*o));
	gt_buf_init(&o->buf);
}

void
mq_fetch_out_reset(mq_fetch_out *o)
{
	gt_buf_reset(&o->buf);
	o->n = 0;
	o->redelivered = 0;
}

void
mq_fetch_out_fini(mq_fetch_out *o)
{
	gt_buf_fini(&o->buf);
	free(o->spans);
	memset(o, 0, sizeof(*o));
}

static gt_err
out_add(mq_fetch_out *o, uint64_t epoch, uint32_t part, uint64_t off, uint32_t attempt,
        const uint8_t *msg, size_t len)
{
	size_t sz = mq_delivery_size(epoch, part, off, attempt, len);
	gt_err rv;

	if (o->n == o->cap) {
		size_t  nc = o->cap ? o->cap * 2 : 64;
		size_t *ns = realloc(o->spans, nc * 2 * sizeof(*ns));
		if (ns == NULL)
			return GT_ENOMEM;
		o->spans = ns;
		o->cap = nc;
	}
	if ((rv = gt_buf_reserve(&o->buf, sz + 1)) != GT_OK)
		return rv;
	mq_delivery_put((uint8_t *)o->buf.data + o->buf.len, epoch, part, off, attempt, msg, len);
	o->spans[2 * o->n] = o->buf.len;
	o->spans[2 * o->n + 1] = sz;
	o->buf.len += sz;
	o->n++;
	return GT_OK;
}

/* ---- partition log ---- */

static void
chunk_free(log_chunk *c)
{
	munmap(c, c->size);
}

static log_chunk *
chunk_new(size_t need)
{
	size_t     size = CHUNK_SIZE;
	log_chunk *c;

	if (need + sizeof(log_chunk) > size)
		size = (need + sizeof(log_chunk) + 4095) & ~(size_t)4095;
	c = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c == MAP_FAILED)
		return NULL;
	c->next = NULL;
	c->size = size;
	c->used = 0;
	c->cap = size - sizeof(log_chunk);
	c->last_off = 0;
	return c;
}

static log_ent *
part_at(const mq_part *p, uint64_t off)
{
	return &p->ring[off & (p->cap - 1)];
}

static gt_err
part_reserve(mq_part *p, uint64_t want_end)
{
	size_t   ncap;
	log_ent *nr;

	if (want_end - p->base <= p->cap)
		return GT_OK;
	ncap = p->cap ? p->cap : 1024;
	while (want_end - p->base > ncap)
		ncap *= 2;
	if ((nr = malloc(ncap * sizeof(*nr))) == NULL)
		return GT_ENOMEM;
	for (uint64_t o = p->base; o < p->end; o++)
		nr[o & (ncap - 1)] = *part_at(p, o);
	free(p->ring);
	p->ring = nr;
	p->cap = ncap;
	return GT_OK;
}

/* Space for n bytes in the tail chunk. */
static uint8_t *
part_space(mq_part *p, size_t n)
{
	log_chunk *c = p->tail;

	if (c == NULL || c->cap - c->used < n) {
		if (c != NULL && p->head == c && c->used > 0 && p->base == p->end) {
			c->used = 0; /* everything trimmed: reuse */
		} else {
			log_chunk *nc = chunk_new(n);
			if (nc == NULL)
				return NULL;
			if (c == NULL)
				p->head = nc;
			else
				c->next = nc;
			p->tail = c = nc;
		}
		if (c->cap - c->used < n)
			return NULL;
	}
	return c->data + c->used;
}

/* Append msg (+ a timestamp field when ts_ns != 0) at offset p->end. */
static gt_err
part_append(mq_part *p, const uint8_t *msg, size_t len, int64_t ts_ns)
{
	uint8_t *dst;
	size_t   n = len;
	log_ent *e;

	if (part_reserve(p, p->end + 1) != GT_OK)
		return GT_ENOMEM;
	if ((dst = part_space(p, len + (ts_ns ? TS_MAX : 0))) == NULL)
		return GT_ENOMEM;
	memcpy(dst, msg, len);
	if (ts_ns)
		n += mq_ts_field_put(dst + len, ts_ns);
	p->tail->used += n;
	p->tail->last_off = p->end;
	e = part_at(p, p->end);
	e->p = dst;
	e->len = (uint32_t)n;
	p->end++;
	p->bytes += n;
	return GT_OK;
}

static void
part_fini(mq_part *p)
{
	log_chunk *c = p->head;

	while (c != NULL) {
		log_chunk *n = c->next;
		chunk_free(c);
		c = n;
	}
	free(p->ring);
}

/* Drop everything every group is done with. */
static void
topic_trim(mq_topic *t, uint32_t pi)
{
	mq_part *p = &t->parts[pi];
	uint64_t lo = UINT64_MAX;

	if (t->ngroups == 0)
		return;
	for (size_t i = 0; i < t->ngroups; i++)
		if (t->groups[i]->pels[pi].lo < lo)
			lo = t->groups[i]->pels[pi].lo;
	if (lo > p->end)
		lo = p->end;
	while (p->base < lo) {
		log_ent *e = part_at(p, p->base);
		p->bytes -= e->len;
		t->bytes -= e->len;
		t->retained--;
		p->base++;
	}
	while (p->head != NULL && p->head != p->tail && p->head->last_off < p->base) {
		log_chunk *c = p->head;
		p->head = c->next;
		chunk_free(c);
	}
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
			part_fini(&t->parts[i]);
	for (size_t i = 0; i < t->ngroups; i++)
		mq_group_free(t->groups[i]);
	for (size_t i = 0; i < t->nprods; i++) {
		free(t->prods[i].name);
		free(t->prods[i].pos);
	}
	for (size_t i = t->dlq_head; i < t->dlq_n; i++) {
		free(t->dlq[i].reason);
		free(t->dlq[i].msg);
	}
	free(t->dlq);
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

static mq_group *
topic_group(const mq_topic *t, const char *name)
{
	for (size_t i = 0; i < t->ngroups; i++)
		if (strcmp(t->groups[i]->name, name) == 0)
			return t->groups[i];
	return NULL;
}

int
mq_topic_has_group(mq_topic *t, const char *group)
{
	return topic_group(t, group) != NULL;
}

static gt_err
topic_group_create(mq_topic *t, const char *name, mq_group **out)
{
	uint64_t *starts;
	mq_group *g;
	gt_err    rv;

	if ((*out = topic_group(t, name)) != NULL)
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

static producer *
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
		producer *np = realloc(t->prods, (t->nprods + 16) * sizeof(*np));
		if (np == NULL)
			return NULL;
		t->prods = np;
	}
	producer *p = &t->prods[t->nprods];
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
	producer *p = topic_producer(t, name, 1);

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
		mq_part *p = &t->parts[positions[i].partition];
		uint64_t before = p->bytes;
		gt_err   rv;

		positions[i].offset = p->end;
		if ((rv = part_append(p, msgs[i].data, msgs[i].len, need_ts[i] ? ts_ns : 0)) !=
		    GT_OK)
			return rv;
		t->bytes += p->bytes - before;
		t->retained++;
		t->messages++;
	}
	return GT_OK;
}

static uint32_t
topic_partition_of(mq_topic *t, const mq_msg_view *v)
{
	if (v->key_len == 0)
		return t->rr_pub++ % t->cfg.partitions;
	return (uint32_t)(gt_hash64(v->key, v->key_len) % t->cfg.partitions);
}

gt_err
mq_topic_publish(mq_topic *t, const ProtobufCBinaryData *msgs, size_t n, const char *prod_name,
                 uint64_t seq, int64_t ts_ns, mq_pos *positions, int *duplicate, size_t *bad)
{
	producer *prod = NULL;
	uint8_t   ts_small[256];
	uint8_t  *need_ts = n <= sizeof(ts_small) ? ts_small : malloc(n);
	uint64_t  total = 0;
	gt_err    rv = GT_OK;

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
		mq_msg_view v;
		if (mq_msg_parse(msgs[i].data, msgs[i].len, &v) != GT_OK ||
		    msgs[i].len > UINT32_MAX / 2) {
			*bad = i;
			rv = GT_EPROTO;
			goto done;
		}
		need_ts[i] = !v.has_ts;
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

uint64_t
mq_topic_base(const mq_topic *t, uint32_t part)
{
	return part < t->cfg.partitions ? t->parts[part].base : 0;
}

gt_err
mq_topic_restore_group(mq_topic *t, const char *group)
{
	mq_group *g;
	return topic_group_create(t, group, &g);
}

gt_err
mq_topic_restore(mq_topic *t, uint32_t pi, uint64_t off, const uint8_t *msg, size_t len,
                 int64_t ts_ns)
{
	mq_part    *p;
	gt_err      rv;
	mq_msg_view v;

	if (pi >= t->cfg.partitions)
		return GT_EINVAL;
	p = &t->parts[pi];
	if (off < p->end)
		return GT_OK; /* already there */
	if (p->base == p->end && off > p->end) {
		p->base = p->end = off;
		for (size_t i = 0; i < t->ngroups; i++)
			if (t->groups[i]->pels[pi].hi <= off)
				mq_pel_init(&t->groups[i]->pels[pi], off);
	}
	while (p->end < off) { /* gap: empty placeholders */
		if ((rv = part_append(p, (const uint8_t *)"", 0, 0)) != GT_OK)
			return rv;
		t->retained++;
	}
	uint64_t before = p->bytes;
	if (mq_msg_parse(msg, len, &v) != GT_OK)
		return GT_ECORRUPT;
	if ((rv = part_append(p, msg, len, v.has_ts ? 0 : ts_ns)) != GT_OK)
		return rv;
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
	if ((rv = topic_group_create(t, group, &g)) != GT_OK)
		return rv;
	mq_pel_done(&g->pels[part], off);
	return GT_OK;
}

/* Finish recovery-style trimming of every partition (after restore_done calls). */
static void
topic_trim_all(mq_topic *t)
{
	for (uint32_t p = 0; p < t->cfg.partitions; p++)
		topic_trim(t, p);
}

/* ---- dead letters ---- */

static void
topic_dead_letter(mq_topic *t, mq_group *g, uint32_t pi, uint64_t off, const char *reason)
{
	mq_pel     *pel = &g->pels[pi];
	mq_pel_ent *e = mq_pel_get(pel, off);
	mq_part    *p = &t->parts[pi];
	log_ent    *le;
	dead       *d;

	if (e == NULL || e->state != MQ_PEL_PENDING)
		return;
	if (t->dlq_n == t->dlq_cap) {
		if (t->dlq_head > 0) {
			memmove(t->dlq, t->dlq + t->dlq_head,
			        (t->dlq_n - t->dlq_head) * sizeof(dead));
			t->dlq_n -= t->dlq_head;
			t->dlq_head = 0;
		}
		if (t->dlq_n == t->dlq_cap) {
			size_t nc = t->dlq_cap ? t->dlq_cap * 2 : 16;
			dead  *nd = realloc(t->dlq, nc * sizeof(*nd));
			if (nd == NULL)
				return; /* stays pending; tried again later */
			t->dlq = nd;
			t->dlq_cap = nc;
		}
	}
	d = &t->dlq[t->dlq_n];
	memset(d, 0, sizeof(*d));
	le = off >= p->base && off < p->end ? part_at(p, off) : NULL;
	if (le != NULL && (d->msg = malloc(le->len ? le->len : 1)) != NULL) {
		memcpy(d->msg, le->p, le->len);
		d->len = le->len;
	}
	d->g = g;
	d->id.epoch = t->cfg.epoch;
	d->id.partition = pi;
	d->id.offset = off;
	d->attempts = e->attempts;
	d->reason = strdup(reason ? reason : "");
	d->dlq_offset = t->dlq_next++;
	t->dlq_n++;
	g->dead_lettered++;
	GT_LOGW("dlq.moved", GT_KV_STR("topic", t->name), GT_KV_STR("group", g->name),
	        GT_KV_UINT("partition", pi), GT_KV_UINT("offset", off),
	        GT_KV_UINT("attempts", e->attempts), GT_KV_STR("reason", reason ? reason : ""));
	mq_pel_done(pel, off);
	if (t->cfg.on_done != NULL)
		t->cfg.on_done(t->cfg.on_done_arg, t, g->name, pi, off);
}

size_t
mq_topic_dlq_count(const mq_topic *t)
{
	return t->dlq_n - t->dlq_head;
}

void
mq_topic_dlq_each(mq_topic *t, size_t limit, void (*fn)(void *arg, const mq_dead_view *d),
                  void *arg)
{
	size_t n = 0;

	for (size_t i = t->dlq_head; i < t->dlq_n && (limit == 0 || n < limit); i++, n++) {
		dead        *d = &t->dlq[i];
		mq_dead_view v = {d->g ? d->g->name : "(deleted group)",
		                  d->id,
		                  d->attempts,
		                  d->reason ? d->reason : "",
		                  d->msg,
		                  d->len,
		                  d->dlq_offset};
		fn(arg, &v);
	}
}

gt_err
mq_topic_dlq_replay(mq_topic *t, size_t limit, size_t *replayed)
{
	size_t n = mq_topic_dlq_count(t);

	*replayed = 0;
	if (limit && limit < n)
		n = limit;
	for (size_t i = 0; i < n; i++) {
		dead               *d = &t->dlq[t->dlq_head];
		ProtobufCBinaryData bd = {d->len, d->msg};
		mq_pos              pos;
		int                 dup;
		size_t              bad;
		gt_err              rv;

		if (d->msg != NULL) {
			rv = mq_topic_publish(t, &bd, 1, NULL, 0, 0, &pos, &dup, &bad);
			if (rv != GT_OK)
				return rv;
		}
		free(d->msg);
		free(d->reason);
		t->dlq_head++;
		(*replayed)++;
	}
	return GT_OK;
}

size_t
mq_topic_dlq_purge(mq_topic *t)
{
	size_t n = mq_topic_dlq_count(t);

	for (size_t i = t->dlq_head; i < t->dlq_n; i++) {
		free(t->dlq[i].msg);
		free(t->dlq[i].reason);
	}
	t->dlq_head = t->dlq_n = 0;
	return n;
}

/* ---- fetch / ack / nack ---- */

static unsigned
topic_max_attempts(const mq_topic *t)
{
	return 1 + t->cfg.max_retries;
}

gt_err
mq_topic_fetch(mq_topic *t, const char *group, const char *consumer, uint32_t max_msgs,
               size_t max_bytes, mq_fetch_out *out)
{
	int64_t   now = gt_clock_now(t->cfg.clock);
	mq_group *g;
	int       ci;
	gt_err    rv;
	uint32_t  np = t->cfg.partitions;
	size_t    start_len = out->buf.len;
	int       full = 0;

	if ((rv = topic_group_create(t, group, &g)) != GT_OK)
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
			mq_pel_ent *e = mq_pel_get(pel, off);
			log_ent    *le = part_at(&t->parts[pi], off);
			if (e->attempts >= topic_max_attempts(t)) {
				topic_dead_letter(t, g, pi, off, "max retries exceeded");
				trimmed = 1;
				continue;
			}
			if (out->n > 0 && out->buf.len - start_len + le->len > max_bytes) {
				full = 1;
				break;
			}
			mq_pel_redeliver(pel, off,
			                 now + mq_backoff(t->cfg.ack_timeout, e->attempts + 1u,
			                                  t->cfg.backoff_cap));
			if ((rv = out_add(out, t->cfg.epoch, pi, off, e->attempts, le->p,
			                  le->len)) != GT_OK)
				return rv;
			g->redelivered++;
			out->redelivered++;
		}
		if (trimmed)
			topic_trim(t, pi);
	}
	/* New messages. */
	for (uint32_t k = 0; k < np && !full && out->n < max_msgs; k++) {
		uint32_t pi = (g->rr + k) % np;
		mq_pel  *pel = &g->pels[pi];
		mq_part *p = &t->parts[pi];

		if (g->owner[pi] != ci)
			continue;
		while (out->n < max_msgs) {
			uint64_t off = mq_pel_next_new(pel, p->end);
			log_ent *le;
			if (off >= p->end)
				break;
			le = part_at(p, off);
			if (out->n > 0 && out->buf.len - start_len + le->len > max_bytes) {
				full = 1;
				break;
			}
			if ((rv = mq_pel_deliver(pel, off, now, t->cfg.ack_timeout)) != GT_OK)
				return rv;
			if ((rv = out_add(out, t->cfg.epoch, pi, off, 1, le->p, le->len)) != GT_OK)
				return rv;
			g->delivered++;
		}
	}
	g->rr++;
	return GT_OK;
}

void
mq_topic_park(mq_topic *t, const char *group, const char *consumer, int delta)
{
	mq_group *g = topic_group(t, group);
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
	mq_group *g = topic_group(t, group);
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
			topic_trim(t, p);
	return GT_OK;
}

gt_err
mq_topic_nack(mq_topic *t, const char *group, const mq_id *ids, size_t n, int dead_letter,
              const char *reason, size_t *nacked, size_t *bad)
{
	mq_group *g = topic_group(t, group);
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
			topic_trim(t, pi);
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
	mq_group *g = topic_group(t, group);
	int64_t   now = gt_clock_now(t->cfg.clock), best = INT64_MAX;

	if (g == NULL)
		return INT64_MAX;
	for (uint32_t p = 0; p < t->cfg.partitions; p++) {
		uint64_t off;
		int64_t  nd = INT64_MAX;
		if (g->owner[p] < 0)
			continue;
		if (mq_pel_next_new(&g->pels[p], t->parts[p].end) < t->parts[p].end)
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
		/* Dead letters keep pointing at their group's name: keep it alive in them. */
		for (size_t k = t->dlq_head; k < t->dlq_n; k++)
			if (t->dlq[k].g == g)
				t->dlq[k].g = NULL;
		memmove(&t->groups[i], &t->groups[i + 1],
		        (t->ngroups - i - 1) * sizeof(*t->groups));
		t->ngroups--;
		mq_group_free(g);
		topic_trim_all(t);
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
				t->cfg.on_group_deleted(t->cfg.on_done_arg, t, name);
			mq_topic_remove_group(t, name);
			i--;
		}
	}
	topic_trim_all(t);
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

/* mq_wal_head.c - declarations and live dead letters, re-written at every segment head. */
#include <stdlib.h>
#include <string.h>

#include "gt/gt_hash.h"
#include "mq_wal_head.h"
#include "mq_wal_rec.h"

struct mq_wal_name {
	uint32_t topic;
	char    *name;
};

/* A live dead letter: the payload of its LETTER record. */
struct mq_wal_letter {
	uint64_t dlq_off;
	uint8_t *pl;
	size_t   len;
};

/* The letters of one topic: FIFO [head, n), trimmed below trim. */
struct mq_wal_dlq {
	uint64_t       trim, next; /* next: letters below are held or trimmed */
	mq_wal_letter *v;
	size_t         head, n, cap;
};

/* ---- declarations ---- */

static gt_err
names_add(mq_wal_name **v, size_t *n, uint32_t topic, const char *name)
{
	mq_wal_name *nv;

	for (size_t i = 0; i < *n; i++)
		if ((*v)[i].topic == topic && strcmp((*v)[i].name, name) == 0)
			return GT_OK;
	if ((nv = realloc(*v, (*n + 1) * sizeof(*nv))) == NULL)
		return GT_ENOMEM;
	*v = nv;
	nv[*n].topic = topic;
	if ((nv[*n].name = strdup(name)) == NULL)
		return GT_ENOMEM;
	(*n)++;
	return GT_OK;
}

static void
names_remove(mq_wal_name *v, size_t *n, uint32_t topic, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (v[i].topic == topic && strcmp(v[i].name, name) == 0) {
			free(v[i].name);
			memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof(*v));
			(*n)--;
			return;
		}
}

gt_err
mq_wal_head_topic(mq_wal_head *h, uint32_t topic, const char *name)
{
	return names_add(&h->topics, &h->ntopics, topic, name);
}

gt_err
mq_wal_head_group(mq_wal_head *h, uint32_t topic, const char *group)
{
	return names_add(&h->groups, &h->ngroups, topic, group);
}

/* ---- partition ends ---- */

struct mq_wal_ends {
	uint64_t *next; /* index: partition */
	size_t    n;
};

gt_err
mq_wal_head_end(mq_wal_head *h, uint32_t topic, uint32_t part, uint64_t next)
{
	mq_wal_ends *e;

	if (topic >= h->nends) {
		size_t       nn = topic + 1 > 2 * h->nends ? topic + 1 : 2 * h->nends;
		mq_wal_ends *nv = realloc(h->ends, nn * sizeof(*nv));
		if (nv == NULL)
			return GT_ENOMEM;
		memset(nv + h->nends, 0, (nn - h->nends) * sizeof(*nv));
		h->ends = nv;
		h->nends = nn;
	}
	e = &h->ends[topic];
	if (part >= e->n) {
		size_t    nn = part + 1 > 2 * e->n ? part + 1 : 2 * e->n;
		uint64_t *nv = realloc(e->next, nn * sizeof(*nv));
		if (nv == NULL)
			return GT_ENOMEM;
		memset(nv + e->n, 0, (nn - e->n) * sizeof(*nv));
		e->next = nv;
		e->n = nn;
	}
	if (next > e->next[part])
		e->next[part] = next;
	return GT_OK;
}

/* ---- producer sequences ---- */

struct mq_wal_prod {
	char    *name; /* NULL: an empty slot */
	uint32_t topic;
	uint64_t hash, seq, tick;
};

static uint64_t
prod_hash(uint32_t topic, const char *name)
{
	return gt_hash64(name, strlen(name)) ^ ((uint64_t)topic * UINT64_C(0x9e3779b97f4a7c15));
}

static mq_wal_prod *
prod_slot(mq_wal_prod *v, size_t cap, uint32_t topic, const char *name, uint64_t hash)
{
	for (size_t i = hash & (cap - 1);; i = (i + 1) & (cap - 1))
		if (v[i].name == NULL ||
		    (v[i].hash == hash && v[i].topic == topic && strcmp(v[i].name, name) == 0))
			return &v[i];
}

/* Into a table of cap slots: every entry updated at or after tick `since` (the rest freed). */
static gt_err
prod_rehash(mq_wal_head *h, size_t cap, uint64_t since)
{
	mq_wal_prod *nv = calloc(cap, sizeof(*nv));
	size_t       n = 0;

	if (nv == NULL)
		return GT_ENOMEM;
	for (size_t i = 0; i < h->pcap; i++) {
		mq_wal_prod *e = &h->prods[i];
		if (e->name == NULL)
			continue;
		if (e->tick < since) {
			free(e->name);
			continue;
		}
		*prod_slot(nv, cap, e->topic, e->name, e->hash) = *e;
		n++;
	}
	free(h->prods);
	h->prods = nv;
	h->pcap = cap;
	h->nprods = n;
	return GT_OK;
}

gt_err
mq_wal_head_producer(mq_wal_head *h, uint32_t topic, const char *producer, uint64_t seq)
{
	uint64_t     hash = prod_hash(topic, producer);
	mq_wal_prod *e;
	gt_err       rv;

	if (h->pcap == 0 || (h->nprods + 1) * 4 > h->pcap * 3 ||
	    h->nprods >= MQ_WAL_HEAD_MAX_PRODUCERS) {
		if (h->nprods >= MQ_WAL_HEAD_MAX_PRODUCERS)
			rv = prod_rehash(h, h->pcap, h->ptick - MQ_WAL_HEAD_MAX_PRODUCERS / 2 + 1);
		else
			rv = prod_rehash(h, h->pcap ? 2 * h->pcap : 16, 0);
		if (rv != GT_OK)
			return rv;
	}
	e = prod_slot(h->prods, h->pcap, topic, producer, hash);
	if (e->name == NULL) {
		if ((e->name = strdup(producer)) == NULL)
			return GT_ENOMEM;
		e->topic = topic;
		e->hash = hash;
		h->nprods++;
	}
	if (seq > e->seq)
		e->seq = seq;
	e->tick = ++h->ptick;
	return GT_OK;
}

/* ---- dead letters ---- */

static mq_wal_dlq *
dlq_of(mq_wal_head *h, uint32_t topic)
{
	if (topic >= h->ndlqs) {
		size_t      nn = topic + 1 > 2 * h->ndlqs ? topic + 1 : 2 * h->ndlqs;
		mq_wal_dlq *nv = realloc(h->dlqs, nn * sizeof(*nv));
		if (nv == NULL)
			return NULL;
		memset(nv + h->ndlqs, 0, (nn - h->ndlqs) * sizeof(*nv));
		h->dlqs = nv;
		h->ndlqs = nn;
	}
	return &h->dlqs[topic];
}

gt_err
mq_wal_head_letter(mq_wal_head *h, uint32_t topic, const uint8_t *pl, size_t len,
                   uint64_t dlq_offset)
{
	mq_wal_dlq    *d = dlq_of(h, topic);
	mq_wal_letter *l;

	if (d == NULL)
		return GT_ENOMEM;
	if (dlq_offset < d->next)
		return GT_OK;
	if (d->n == d->cap) {
		if (d->head > 0) {
			memmove(d->v, d->v + d->head, (d->n - d->head) * sizeof(*d->v));
			d->n -= d->head;
			d->head = 0;
		}
		if (d->n == d->cap) {
			size_t         nc = d->cap ? 2 * d->cap : 16;
			mq_wal_letter *nv = realloc(d->v, nc * sizeof(*nv));
			if (nv == NULL)
				return GT_ENOMEM;
			d->v = nv;
			d->cap = nc;
		}
	}
	l = &d->v[d->n];
	if ((l->pl = malloc(len)) == NULL)
		return GT_ENOMEM;
	memcpy(l->pl, pl, len);
	l->pl[0] = MQ_WAL_LETTER;
	l->len = len;
	l->dlq_off = dlq_offset;
	d->n++;
	d->next = dlq_offset + 1;
	return GT_OK;
}

void
mq_wal_head_trim(mq_wal_head *h, uint32_t topic, uint64_t below)
{
	mq_wal_dlq *d = dlq_of(h, topic);

	if (d == NULL)
		return;
	while (d->head < d->n && d->v[d->head].dlq_off < below)
		free(d->v[d->head++].pl);
	if (d->head == d->n)
		d->head = d->n = 0;
	if (below > d->trim)
		d->trim = below;
	if (below > d->next)
		d->next = below;
}

void
mq_wal_head_group_deleted(mq_wal_head *h, uint32_t topic, const char *group)
{
	mq_wal_dlq *d = topic < h->ndlqs ? &h->dlqs[topic] : NULL;

	names_remove(h->groups, &h->ngroups, topic, group);
	for (size_t i = d ? d->head : 0; d != NULL && i < d->n; i++)
		mq_wal_letter_gone(d->v[i].pl, d->v[i].len, group);
}

/* ---- the head ---- */

void
mq_wal_head_encode(const mq_wal_head *h, gt_buf *out)
{
	for (size_t i = 0; i < h->ntopics; i++)
		mq_wal_enc_decl(out, MQ_WAL_TOPIC, h->topics[i].topic, h->topics[i].name);
	for (size_t i = 0; i < h->ngroups; i++)
		mq_wal_enc_decl(out, MQ_WAL_GROUP, h->groups[i].topic, h->groups[i].name);
	for (size_t t = 0; t < h->nends; t++)
		for (size_t p = 0; p < h->ends[t].n; p++)
			if (h->ends[t].next[p] > 0)
				mq_wal_enc_part_end(out, (uint32_t)t, (uint32_t)p,
				                    h->ends[t].next[p]);
	for (size_t i = 0; i < h->pcap; i++)
		if (h->prods[i].name != NULL)
			mq_wal_enc_producer(out, h->prods[i].topic, h->prods[i].name,
			                    h->prods[i].seq);
	for (size_t t = 0; t < h->ndlqs; t++) {
		const mq_wal_dlq *d = &h->dlqs[t];
		if (d->trim > 0)
			mq_wal_enc_trim(out, (uint32_t)t, d->trim);
		for (size_t i = d->head; i < d->n; i++)
			mq_wal_frame(out, d->v[i].pl, d->v[i].len);
	}
}

void
mq_wal_head_fini(mq_wal_head *h)
{
	for (size_t i = 0; i < h->ntopics; i++)
		free(h->topics[i].name);
	for (size_t i = 0; i < h->ngroups; i++)
		free(h->groups[i].name);
	for (size_t t = 0; t < h->ndlqs; t++) {
		for (size_t i = h->dlqs[t].head; i < h->dlqs[t].n; i++)
			free(h->dlqs[t].v[i].pl);
		free(h->dlqs[t].v);
	}
	for (size_t t = 0; t < h->nends; t++)
		free(h->ends[t].next);
	free(h->ends);
	for (size_t i = 0; i < h->pcap; i++)
		free(h->prods[i].name);
	free(h->prods);
	free(h->topics);
	free(h->groups);
	free(h->dlqs);
	memset(h, 0, sizeof(*h));
}

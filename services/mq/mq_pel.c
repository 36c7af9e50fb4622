/* mq_pel.c - pending entry list: an offset-indexed ring plus a deadline heap. */
#include <stdlib.h>
#include <string.h>

#include "mq_pel.h"

void
mq_pel_init(mq_pel *p, uint64_t start)
{
	memset(p, 0, sizeof(*p));
	p->lo = p->hi = p->next = p->scan = start;
}

void
mq_pel_fini(mq_pel *p)
{
	if (p == NULL)
		return;
	free(p->ring);
	free(p->heap);
	memset(p, 0, sizeof(*p));
}

static mq_pel_ent *
pel_at(const mq_pel *p, uint64_t off)
{
	return &p->ring[off & (p->cap - 1)];
}

/* Make room for [lo, want_hi). */
static gt_err
pel_reserve(mq_pel *p, uint64_t want_hi)
{
	size_t      ncap;
	mq_pel_ent *nr;

	if (want_hi - p->lo <= p->cap)
		return GT_OK;
	ncap = p->cap ? p->cap : 64;
	while (want_hi - p->lo > ncap)
		ncap *= 2;
	if ((nr = malloc(ncap * sizeof(*nr))) == NULL)
		return GT_ENOMEM;
	for (uint64_t o = p->lo; o < p->hi; o++)
		nr[o & (ncap - 1)] = *pel_at(p, o);
	free(p->ring);
	p->ring = nr;
	p->cap = ncap;
	return GT_OK;
}

/* Extend hi to want_hi with NEW entries. */
static gt_err
pel_extend(mq_pel *p, uint64_t want_hi)
{
	gt_err rv;

	if (want_hi <= p->hi)
		return GT_OK;
	if ((rv = pel_reserve(p, want_hi)) != GT_OK)
		return rv;
	for (uint64_t o = p->hi; o < want_hi; o++)
		memset(pel_at(p, o), 0, sizeof(mq_pel_ent));
	p->hi = want_hi;
	return GT_OK;
}

int
mq_pel_state(const mq_pel *p, uint64_t off)
{
	if (off < p->lo)
		return MQ_PEL_DONE;
	if (off >= p->hi)
		return MQ_PEL_UNSEEN;
	return pel_at(p, off)->state;
}

mq_pel_ent *
mq_pel_get(mq_pel *p, uint64_t off)
{
	if (off < p->lo || off >= p->hi)
		return NULL;
	return pel_at(p, off);
}

uint64_t
mq_pel_next_new(mq_pel *p, uint64_t log_end)
{
	if (p->next < p->lo)
		p->next = p->lo;
	while (p->next < p->hi && p->next < log_end && pel_at(p, p->next)->state == MQ_PEL_DONE)
		p->next++;
	return p->next;
}

gt_err
mq_pel_deliver(mq_pel *p, uint64_t off, int64_t now, int64_t timeout)
{
	mq_pel_ent *e;
	gt_err      rv;

	if (off != mq_pel_next_new(p, off + 1))
		return GT_EINVAL;
	if ((rv = pel_extend(p, off + 1)) != GT_OK)
		return rv;
	e = pel_at(p, off);
	e->state = MQ_PEL_PENDING;
	if (e->attempts < UINT16_MAX) /* 0, or the deliveries before a restart */
		e->attempts++;
	e->in_heap = 0;
	e->due = now + timeout;
	p->pending++;
	p->next = off + 1;
	return GT_OK;
}

/* ---- heap ---- */

/* Ordered by deadline, then offset: the offsets redelivered together (same deadline) come
 * back in offset order, so a consumer sees a partition's redeliveries in order too. */
static int
tmo_before(const mq_pel_tmo *a, const mq_pel_tmo *b)
{
	return a->due < b->due || (a->due == b->due && a->off < b->off);
}

static void
heap_swap(mq_pel_tmo *a, mq_pel_tmo *b)
{
	mq_pel_tmo t = *a;
	*a = *b;
	*b = t;
}

static gt_err
heap_push(mq_pel *p, int64_t due, uint64_t off)
{
	size_t i;

	if (p->nheap == p->capheap) {
		size_t      nc = p->capheap ? p->capheap * 2 : 32;
		mq_pel_tmo *nh = realloc(p->heap, nc * sizeof(*nh));
		if (nh == NULL)
			return GT_ENOMEM;
		p->heap = nh;
		p->capheap = nc;
	}
	i = p->nheap++;
	p->heap[i].due = due;
	p->heap[i].off = off;
	while (i > 0) {
		size_t up = (i - 1) / 2;
		if (!tmo_before(&p->heap[i], &p->heap[up]))
			break;
		heap_swap(&p->heap[up], &p->heap[i]);
		i = up;
	}
	return GT_OK;
}

static void
heap_pop(mq_pel *p)
{
	size_t i = 0;

	p->heap[0] = p->heap[--p->nheap];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < p->nheap && tmo_before(&p->heap[l], &p->heap[m]))
			m = l;
		if (r < p->nheap && tmo_before(&p->heap[r], &p->heap[m]))
			m = r;
		if (m == i)
			break;
		heap_swap(&p->heap[m], &p->heap[i]);
		i = m;
	}
}

/* A heap entry is live while its offset is pending, scheduled, with the same deadline. */
static int
heap_top_live(mq_pel *p)
{
	mq_pel_tmo *t = &p->heap[0];
	mq_pel_ent *e = mq_pel_get(p, t->off);

	return e != NULL && e->state == MQ_PEL_PENDING && e->in_heap && e->due == t->due;
}

gt_err
mq_pel_due(mq_pel *p, int64_t now, uint64_t *off, int64_t *next_due)
{
	int64_t nd = INT64_MAX;

	while (p->nheap > 0 && !heap_top_live(p))
		heap_pop(p);
	if (p->nheap > 0) {
		if (p->heap[0].due <= now) {
			*off = p->heap[0].off;
			return GT_OK;
		}
		nd = p->heap[0].due;
	}
	if (p->scan < p->lo)
		p->scan = p->lo;
	while (p->scan < p->next && p->scan < p->hi) {
		mq_pel_ent *e = pel_at(p, p->scan);
		if (e->state != MQ_PEL_PENDING || e->in_heap) {
			p->scan++;
			continue;
		}
		if (e->due <= now) {
			*off = p->scan;
			return GT_OK;
		}
		if (e->due < nd)
			nd = e->due;
		break;
	}
	if (next_due != NULL)
		*next_due = nd;
	return GT_ENOENT;
}

gt_err
mq_pel_schedule(mq_pel *p, uint64_t off, int64_t due)
{
	mq_pel_ent *e = mq_pel_get(p, off);

	if (e == NULL || e->state != MQ_PEL_PENDING)
		return GT_ENOENT;
	e->due = due;
	e->in_heap = 1;
	return heap_push(p, due, off);
}

gt_err
mq_pel_redeliver(mq_pel *p, uint64_t off, int64_t due)
{
	mq_pel_ent *e = mq_pel_get(p, off);
	gt_err      rv;

	if (e == NULL || e->state != MQ_PEL_PENDING)
		return GT_ENOENT;
	if ((rv = mq_pel_schedule(p, off, due)) != GT_OK)
		return rv;
	if (e->attempts < UINT16_MAX)
		e->attempts++;
	return GT_OK;
}

int
mq_pel_done(mq_pel *p, uint64_t off)
{
	mq_pel_ent *e;

	if (off < p->lo)
		return 0;
	if (off >= p->hi && pel_extend(p, off + 1) != GT_OK)
		return 0;
	e = pel_at(p, off);
	if (e->state == MQ_PEL_DONE)
		return 0;
	if (e->state == MQ_PEL_PENDING)
		p->pending--;
	e->state = MQ_PEL_DONE;
	e->in_heap = 0;
	while (p->lo < p->hi && pel_at(p, p->lo)->state == MQ_PEL_DONE)
		p->lo++;
	if (p->next < p->lo)
		p->next = p->lo;
	return 1;
}

gt_err
mq_pel_restore_attempts(mq_pel *p, uint64_t off, unsigned attempts)
{
	mq_pel_ent *e;
	gt_err      rv;

	if (off < p->lo)
		return GT_OK;
	if (off >= p->hi && (rv = pel_extend(p, off + 1)) != GT_OK)
		return rv;
	e = pel_at(p, off);
	if (e->state == MQ_PEL_NEW)
		e->attempts = attempts < UINT16_MAX ? (uint16_t)attempts : UINT16_MAX;
	return GT_OK;
}

int64_t
mq_backoff(int64_t base, unsigned attempt, int64_t cap)
{
	int64_t d = base;

	for (unsigned i = 1; i < attempt && d < cap; i++)
		d *= 2;
	return d < cap ? d : cap;
}

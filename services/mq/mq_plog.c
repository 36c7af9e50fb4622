/* mq_plog.c - a partition log: arena chunks plus an offset ring. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mq_codec.h"
#include "mq_plog.h"

/* One transparent huge page. Under a hypervisor that shadows the guest's page tables, the
 * first store to each 4 KiB page of fresh memory costs microseconds even when the page is
 * populated; a huge page takes that cost once per 2 MiB (measured: copying into a fresh
 * 2 MiB chunk 3.2 ms with 4 KiB pages, 0.04 ms with a huge page). */
#define CHUNK_SIZE (2u << 20)

struct mq_plog_chunk {
	mq_plog_chunk *next;
	size_t         size; /* mapping size */
	size_t         used, cap;
	uint64_t       last_off;
	uint8_t        data[];
};

/* An emptied chunk: kept as p's spare when it is a standard one and there is none, else
 * unmapped. p NULL: always unmapped. */
static void
chunk_free(mq_plog *p, mq_plog_chunk *c)
{
	if (p != NULL && p->spare == NULL && c->size == CHUNK_SIZE) {
		c->next = NULL;
		p->spare = c;
		return;
	}
	munmap(c, c->size);
}

/* A populated mapping of size bytes: huge pages where the kernel has them (a standard chunk
 * is exactly one, and the kernel aligns a mapping of that size to it), else populated at once
 * anyway: one call instead of a page fault per 4 KiB as appends touch it. */
static mq_plog_chunk *
chunk_map(size_t size)
{
	void *c = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (c == MAP_FAILED)
		return NULL;
#ifdef MADV_HUGEPAGE
	(void)madvise(c, size, MADV_HUGEPAGE); /* advice only: THP may be off */
#endif
#ifdef MADV_POPULATE_WRITE
	if (madvise(c, size, MADV_POPULATE_WRITE) == 0)
		return c;
#endif
	for (size_t off = 0; off < size; off += 4096) /* kernels before 5.14 */
		((volatile uint8_t *)c)[off] = 0;
	return c;
}

static mq_plog_chunk *
chunk_new(mq_plog *p, size_t need)
{
	size_t         size = CHUNK_SIZE;
	mq_plog_chunk *c;

	if (need + sizeof(mq_plog_chunk) > size)
		size = (need + sizeof(mq_plog_chunk) + 4095) & ~(size_t)4095;
	if (size == CHUNK_SIZE && p->spare != NULL) {
		c = p->spare;
		p->spare = NULL;
	} else if ((c = chunk_map(size)) == NULL) {
		return NULL;
	}
	c->next = NULL;
	c->size = size;
	c->used = 0;
	c->cap = size - sizeof(mq_plog_chunk);
	c->last_off = 0;
	return c;
}

mq_plog_ent *
mq_plog_at(const mq_plog *p, uint64_t off)
{
	return &p->ring[off & (p->cap - 1)];
}

static gt_err
plog_reserve(mq_plog *p, uint64_t want_end)
{
	size_t       ncap;
	mq_plog_ent *nr;

	if (want_end - p->base <= p->cap)
		return GT_OK;
	ncap = p->cap ? p->cap : 1024;
	while (want_end - p->base > ncap)
		ncap *= 2;
	if ((nr = malloc(ncap * sizeof(*nr))) == NULL)
		return GT_ENOMEM;
	for (uint64_t o = p->base; o < p->end; o++)
		nr[o & (ncap - 1)] = *mq_plog_at(p, o);
	free(p->ring);
	p->ring = nr;
	p->cap = ncap;
	return GT_OK;
}

/* Space for n bytes in the tail chunk. */
static uint8_t *
plog_space(mq_plog *p, size_t n)
{
	mq_plog_chunk *c = p->tail;

	if (c == NULL || c->cap - c->used < n) {
		if (c != NULL && p->head == c && c->used > 0 && p->base == p->end) {
			c->used = 0; /* everything trimmed: reuse */
		} else {
			mq_plog_chunk *nc = chunk_new(p, n);
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

gt_err
mq_plog_append(mq_plog *p, const uint8_t *msg, size_t len, int64_t ts_ns)
{
	uint8_t     *dst;
	size_t       n = len;
	mq_plog_ent *e;

	if (plog_reserve(p, p->end + 1) != GT_OK)
		return GT_ENOMEM;
	if ((dst = plog_space(p, len + (ts_ns ? MQ_PLOG_TS_MAX : 0))) == NULL)
		return GT_ENOMEM;
	if (len > 0) /* the empty Message{} arrives as (NULL, 0) */
		memcpy(dst, msg, len);
	if (ts_ns)
		n += mq_ts_field_put(dst + len, ts_ns);
	p->tail->used += n;
	p->tail->last_off = p->end;
	e = mq_plog_at(p, p->end);
	e->p = dst;
	e->len = (uint32_t)n;
	p->end++;
	p->bytes += n;
	return GT_OK;
}

uint64_t
mq_plog_drop_below(mq_plog *p, uint64_t lo, uint64_t *bytes)
{
	uint64_t n = 0;

	*bytes = 0;
	if (lo > p->end)
		lo = p->end;
	while (p->base < lo) {
		mq_plog_ent *e = mq_plog_at(p, p->base);
		p->bytes -= e->len;
		*bytes += e->len;
		n++;
		p->base++;
	}
	if (p->ready < p->base)
		p->ready = p->base;
	while (p->head != NULL && p->head != p->tail && p->head->last_off < p->base) {
		mq_plog_chunk *c = p->head;
		p->head = c->next;
		chunk_free(p, c);
	}
	return n;
}

void
mq_plog_skip_to(mq_plog *p, uint64_t off)
{
	if (p->base == p->end && off > p->end)
		p->base = p->end = p->ready = off;
}

void
mq_plog_fini(mq_plog *p)
{
	mq_plog_chunk *c = p->head;

	while (c != NULL) {
		mq_plog_chunk *n = c->next;
		chunk_free(NULL, c);
		c = n;
	}
	if (p->spare != NULL)
		chunk_free(NULL, p->spare);
	free(p->ring);
	memset(p, 0, sizeof(*p));
}

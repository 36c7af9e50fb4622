/* col_cache.c - per-GPU rings under an LRU byte budget. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "col_cache.h"
#include "col_map.h"

typedef struct cache_ring {
	struct cache_ring *prev, *next; /* LRU list: head = most recent */
	char              *key;
	col_rec          **recs;
	size_t             head; /* index of the oldest */
	size_t             len;
	size_t             bytes;
	int64_t            floor;
} cache_ring;

struct col_cache {
	pthread_mutex_t mtx;
	col_cache_cfg   cfg;
	col_map        *rings;
	cache_ring     *lru_head, *lru_tail;
	col_cache_stats st;
};

#define RING_OVERHEAD(c) (sizeof(cache_ring) + (c)->cfg.max_entries * sizeof(col_rec *) + 64)

gt_err
col_cache_new(col_cache **out, const col_cache_cfg *cfg)
{
	col_cache *c;
	gt_err     rv;

	if (cfg->max_entries < 1)
		return GT_EINVAL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return GT_ENOMEM;
	c->cfg = *cfg;
	if ((rv = col_map_new(&c->rings)) != GT_OK) {
		free(c);
		return rv;
	}
	pthread_mutex_init(&c->mtx, NULL);
	*out = c;
	return GT_OK;
}

static void
ring_free(cache_ring *r)
{
	size_t i;

	for (i = 0; i < r->len; i++)
		col_rec_rele(r->recs[i]);
	free(r->recs);
	free(r->key);
	free(r);
}

void
col_cache_free(col_cache *c)
{
	cache_ring *r, *next;

	if (c == NULL)
		return;
	for (r = c->lru_head; r != NULL; r = next) {
		next = r->next;
		ring_free(r);
	}
	col_map_free(c->rings);
	pthread_mutex_destroy(&c->mtx);
	free(c);
}

static void
lru_unlink(col_cache *c, cache_ring *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		c->lru_head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		c->lru_tail = r->prev;
	r->prev = r->next = NULL;
}

static void
lru_front(col_cache *c, cache_ring *r)
{
	if (c->lru_head == r)
		return;
	if (r->prev || r->next || c->lru_tail == r)
		lru_unlink(c, r);
	r->next = c->lru_head;
	if (c->lru_head)
		c->lru_head->prev = r;
	c->lru_head = r;
	if (c->lru_tail == NULL)
		c->lru_tail = r;
}

static void
cache_drop_ring(col_cache *c, cache_ring *r)
{
	lru_unlink(c, r);
	col_map_del(c->rings, r->key);
	c->st.entries -= r->len;
	c->st.bytes -= r->bytes + RING_OVERHEAD(c);
	c->st.gpus--;
	c->st.evicted_gpus++;
	ring_free(r);
}

/* Drop the ring's oldest record, raising its floor. */
static void
ring_pop_oldest(col_cache *c, cache_ring *r)
{
	col_rec *old = r->recs[r->head];

	if (old->ts_ns > r->floor)
		r->floor = old->ts_ns;
	r->bytes -= old->size;
	c->st.bytes -= old->size;
	c->st.entries--;
	r->recs[r->head] = NULL;
	r->head = (r->head + 1) % c->cfg.max_entries;
	r->len--;
	col_rec_rele(old);
}

/* Puts one record; the cache mutex is held. */
static gt_err
cache_put_locked(col_cache *c, col_rec *rec, col_cache_floor_fn floor_fn, void *arg, int64_t floor)
{
	cache_ring *r;
	gt_err      rv = GT_OK;

	if ((r = col_map_find_h(c->rings, rec->gpu_key, rec->key_hash)) == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL ||
		    (r->recs = calloc(c->cfg.max_entries, sizeof(*r->recs))) == NULL ||
		    (r->key = strdup(rec->gpu_key)) == NULL ||
		    (rv = col_map_put(c->rings, rec->gpu_key, r)) != GT_OK) {
			if (r) {
				free(r->recs);
				free(r->key);
				free(r);
			}
			return rv != GT_OK ? rv : GT_ENOMEM;
		}
		r->floor = floor_fn ? floor_fn(arg, rec->gpu_key) : floor;
		c->st.gpus++;
		c->st.bytes += RING_OVERHEAD(c);
	}
	lru_front(c, r);
	if (r->len == c->cfg.max_entries)
		ring_pop_oldest(c, r);
	col_rec_hold(rec);
	r->recs[(r->head + r->len) % c->cfg.max_entries] = rec;
	r->len++;
	r->bytes += rec->size;
	c->st.bytes += rec->size;
	c->st.entries++;
	/* Over budget: evict least-recently-used GPUs, never the one just written; if it alone
	 * is over, shorten its ring. */
	while (c->cfg.max_bytes > 0 && c->st.bytes > c->cfg.max_bytes) {
		if (c->lru_tail != r)
			cache_drop_ring(c, c->lru_tail);
		else if (r->len > 1)
			ring_pop_oldest(c, r);
		else
			break;
	}
	return GT_OK;
}

gt_err
col_cache_put(col_cache *c, col_rec *rec, int64_t floor_if_new)
{
	gt_err rv;

	pthread_mutex_lock(&c->mtx);
	rv = cache_put_locked(c, rec, NULL, NULL, floor_if_new);
	pthread_mutex_unlock(&c->mtx);
	return rv;
}

gt_err
col_cache_put_batch(col_cache *c, col_rec *const *recs, size_t n, col_cache_floor_fn floor_fn,
                    void *arg)
{
	gt_err rv = GT_OK, e;
	size_t i;

	pthread_mutex_lock(&c->mtx);
	for (i = 0; i < n; i++) {
		if ((e = cache_put_locked(c, recs[i], floor_fn, arg, INT64_MIN)) != GT_OK)
			rv = e;
		if (i % 1024 == 1023) { /* let queries in */
			pthread_mutex_unlock(&c->mtx);
			pthread_mutex_lock(&c->mtx);
		}
	}
	pthread_mutex_unlock(&c->mtx);
	return rv;
}

gt_err
col_cache_get(col_cache *c, const char *key, int64_t since, int64_t until, col_rec ***out,
              size_t *n, int64_t *floor)
{
	cache_ring *r;
	col_rec   **v;
	size_t      i, k = 0;

	pthread_mutex_lock(&c->mtx);
	if ((r = col_map_find(c->rings, key)) == NULL) {
		pthread_mutex_unlock(&c->mtx);
		return GT_ENOENT;
	}
	lru_front(c, r);
	if ((v = malloc((r->len ? r->len : 1) * sizeof(*v))) == NULL) {
		pthread_mutex_unlock(&c->mtx);
		return GT_ENOMEM;
	}
	for (i = 0; i < r->len; i++) {
		col_rec *x = r->recs[(r->head + i) % c->cfg.max_entries];

		if (x->ts_ns < since || x->ts_ns > until)
			continue;
		col_rec_hold(x);
		v[k++] = x;
	}
	*floor = r->floor;
	pthread_mutex_unlock(&c->mtx);
	*out = v;
	*n = k;
	return GT_OK;
}

void
col_cache_count(col_cache *c, int hit)
{
	pthread_mutex_lock(&c->mtx);
	if (hit)
		c->st.hits++;
	else
		c->st.misses++;
	pthread_mutex_unlock(&c->mtx);
}

void
col_cache_stats_get(col_cache *c, col_cache_stats *st)
{
	pthread_mutex_lock(&c->mtx);
	*st = c->st;
	pthread_mutex_unlock(&c->mtx);
}

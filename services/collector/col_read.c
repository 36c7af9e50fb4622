/* col_read.c - time-bounded, newest- or oldest-first reads of a GPU's files through the
 * sparse index. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "col_file_int.h"

typedef struct rd_blk {
	store_blk blk;
	int       fd;
	uint64_t  order; /* (segment, block) position: ties keep file order */
} rd_blk;

typedef struct rd_vec {
	col_rec **v;
	uint64_t *pos;
	size_t    n, cap;
	int64_t   since, until;
	uint64_t  cur; /* position base of the block being read */
	uint32_t  line;
	gt_err    rv;
} rd_vec;

static void
rd_push(col_rec *r, void *arg)
{
	rd_vec *rv = arg;

	rv->line++;
	if (r->ts_ns < rv->since || r->ts_ns > rv->until || rv->rv != GT_OK)
		return;
	if (rv->n == rv->cap) {
		size_t    ncap = rv->cap ? rv->cap * 2 : 256;
		col_rec **nv = realloc(rv->v, ncap * sizeof(*nv));
		uint64_t *np;

		if (nv == NULL) {
			rv->rv = GT_ENOMEM;
			return;
		}
		rv->v = nv;
		if ((np = realloc(rv->pos, ncap * sizeof(*np))) == NULL) {
			rv->rv = GT_ENOMEM;
			return;
		}
		rv->pos = np;
		rv->cap = ncap;
	}
	col_rec_hold(r);
	rv->v[rv->n] = r;
	rv->pos[rv->n] = rv->cur + rv->line;
	rv->n++;
}

static int
blk_newest_first(const void *a, const void *b)
{
	const rd_blk *x = a, *y = b;

	if (x->blk.max_ts != y->blk.max_ts)
		return x->blk.max_ts < y->blk.max_ts ? 1 : -1;
	return x->order < y->order ? 1 : -1;
}

static int
blk_oldest_first(const void *a, const void *b)
{
	const rd_blk *x = a, *y = b;

	if (x->blk.min_ts != y->blk.min_ts)
		return x->blk.min_ts < y->blk.min_ts ? -1 : 1;
	return x->order < y->order ? -1 : 1;
}

/* Sort v[0..n) by (ts, pos) ascending: simple index sort. */
typedef struct rd_item {
	col_rec *r;
	uint64_t pos;
} rd_item;

static int
item_cmp(const void *a, const void *b)
{
	const rd_item *x = a, *y = b;

	if (x->r->ts_ns != y->r->ts_ns)
		return x->r->ts_ns < y->r->ts_ns ? -1 : 1;
	return x->pos < y->pos ? -1 : (x->pos > y->pos);
}

static gt_err
rd_sort_trim(rd_vec *rv, size_t limit, int oldest_first, int *truncated)
{
	rd_item *it;
	size_t   i, from = 0, keep = rv->n;

	if (rv->n == 0)
		return GT_OK;
	if ((it = malloc(rv->n * sizeof(*it))) == NULL)
		return GT_ENOMEM;
	for (i = 0; i < rv->n; i++) {
		it[i].r = rv->v[i];
		it[i].pos = rv->pos[i];
	}
	qsort(it, rv->n, sizeof(*it), item_cmp);
	if (limit > 0 && rv->n > limit) {
		*truncated = 1;
		keep = limit;
		from = oldest_first ? 0 : rv->n - limit;
		for (i = 0; i < rv->n; i++)
			if (i < from || i >= from + keep)
				col_rec_rele(it[i].r);
	}
	for (i = 0; i < keep; i++) {
		rv->v[i] = it[from + i].r;
		rv->pos[i] = it[from + i].pos;
	}
	rv->n = keep;
	free(it);
	return GT_OK;
}

gt_err
col_store_read(col_store *s, const char *key, int64_t since, int64_t until, size_t limit,
               int oldest_first, col_rec ***out, size_t *n, int *truncated)
{
	store_gpu *g;
	rd_blk    *bl = NULL;
	size_t     nb = 0, cap = 0, i, j;
	int       *fds = NULL;
	size_t     nfd = 0;
	rd_vec     rv = {0};
	gt_buf     tmp;
	gt_err     err = GT_OK;

	*truncated = 0;
	*out = NULL;
	*n = 0;
	rv.since = since;
	rv.until = until;
	pthread_mutex_lock(&s->mtx);
	if ((g = col_map_find(s->gpus, key)) == NULL) {
		pthread_mutex_unlock(&s->mtx);
		return GT_ENOENT;
	}
	if ((fds = calloc(g->nseg, sizeof(*fds))) == NULL) {
		pthread_mutex_unlock(&s->mtx);
		return GT_ENOMEM;
	}
	for (i = 0; i < g->nseg; i++) {
		store_seg *seg = &g->segs[i];
		char       path[SEG_PATH_MAX];
		int        fd = -1;

		for (j = 0; j < seg->nblk; j++) {
			const store_blk *b = &seg->blk[j];

			/* blocks with unknown timestamps (bad lines) are always read */
			if (b->max_ts != INT64_MIN && (b->max_ts < since || b->min_ts > until))
				continue;
			if (fd < 0) {
				col_seg_path(s, g, seg, path, sizeof(path));
				if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
					break;
				fds[nfd++] = fd;
			}
			if (nb == cap) {
				size_t  ncap = cap ? cap * 2 : 64;
				rd_blk *nbl = realloc(bl, ncap * sizeof(*nbl));

				if (nbl == NULL) {
					err = GT_ENOMEM;
					break;
				}
				bl = nbl;
				cap = ncap;
			}
			bl[nb].blk = *b;
			bl[nb].fd = fd;
			bl[nb].order = ((uint64_t)i << 40) | ((uint64_t)j << 16);
			nb++;
		}
	}
	pthread_mutex_unlock(&s->mtx);
	if (err != GT_OK)
		goto done;
	if (nb > 0) /* bl is NULL when no block matched: qsort(NULL, 0) is UB */
		qsort(bl, nb, sizeof(*bl), oldest_first ? blk_oldest_first : blk_newest_first);
	gt_buf_init(&tmp);
	for (i = 0; i < nb; i++) {
		/* Stop when `limit` records are certain: the next block cannot beat the
		 * limit-th record found so far. */
		if (limit > 0 && rv.n >= limit) {
			int tr = 0;

			if ((err = rd_sort_trim(&rv, limit, oldest_first, &tr)) != GT_OK)
				break;
			*truncated |= tr;
			if (oldest_first ? bl[i].blk.min_ts > rv.v[rv.n - 1]->ts_ns
			                 : bl[i].blk.max_ts < rv.v[0]->ts_ns) {
				*truncated = 1; /* blocks left that match the range */
				break;
			}
		}
		rv.cur = bl[i].order;
		rv.line = 0;
		__atomic_add_fetch(&s->st.blocks_read, 1, __ATOMIC_RELAXED);
		if ((err = col_seg_read_blocks(bl[i].fd, &bl[i].blk, 1, &tmp, rd_push, &rv,
		                               NULL)) != GT_OK)
			break;
		if ((err = rv.rv) != GT_OK)
			break;
	}
	gt_buf_fini(&tmp);
	if (err == GT_OK) {
		int tr = 0;

		err = rd_sort_trim(&rv, limit, oldest_first, &tr);
		*truncated |= tr;
	}
done:
	for (i = 0; i < nfd; i++)
		close(fds[i]);
	free(fds);
	free(bl);
	free(rv.pos);
	if (err != GT_OK) {
		for (i = 0; i < rv.n; i++)
			col_rec_rele(rv.v[i]);
		free(rv.v);
		return err;
	}
	*out = rv.v;
	*n = rv.n;
	return GT_OK;
}

/* col_query.c - cache-or-files query planning, filters and aggregation. */
#include <stdlib.h>
#include <string.h>

#include "col_query.h"

void
col_query_init(col_query *q)
{
	memset(q, 0, sizeof(*q));
	q->since = INT64_MIN;
	q->until = INT64_MAX;
}

void
col_result_fini(col_result *res)
{
	size_t i;

	for (i = 0; i < res->n; i++)
		col_rec_rele(res->recs[i]);
	free(res->recs);
	memset(res, 0, sizeof(*res));
}

typedef struct q_item {
	col_rec *r;
	size_t   i;
} q_item;

static int
q_item_cmp(const void *a, const void *b)
{
	const q_item *x = a, *y = b;

	if (x->r->ts_ns != y->r->ts_ns)
		return x->r->ts_ns < y->r->ts_ns ? -1 : 1;
	return x->i < y->i ? -1 : (x->i > y->i);
}

/* Sort v (ring order) by time, stable. */
static gt_err
q_sort(col_rec **v, size_t n)
{
	q_item *it;
	size_t  i;

	if (n < 2)
		return GT_OK;
	if ((it = malloc(n * sizeof(*it))) == NULL)
		return GT_ENOMEM;
	for (i = 0; i < n; i++) {
		it[i].r = v[i];
		it[i].i = i;
	}
	qsort(it, n, sizeof(*it), q_item_cmp);
	for (i = 0; i < n; i++)
		v[i] = it[i].r;
	free(it);
	return GT_OK;
}

static void
q_reverse(col_rec **v, size_t n)
{
	size_t i;

	for (i = 0; i < n / 2; i++) {
		col_rec *t = v[i];

		v[i] = v[n - 1 - i];
		v[n - 1 - i] = t;
	}
}

/* Sorted oldest-first records of [since, until]; from the cache when it is complete for
 * that need (limit newest when !oldest_first and limit > 0). */
static gt_err
q_collect(col_store *s, col_cache *c, const char *gpu, int64_t since, int64_t until, size_t limit,
          int oldest_first, col_rec ***out, size_t *n, int *truncated, int *from_cache)
{
	col_rec **v = NULL;
	size_t    nv = 0, i, above = 0;
	int64_t   floor = INT64_MIN;
	gt_err    rv;

	*truncated = 0;
	*from_cache = 0;
	if (col_cache_get(c, gpu, since, until, &v, &nv, &floor) == GT_OK) {
		int hit;

		for (i = 0; i < nv; i++)
			if (v[i]->ts_ns > floor)
				above++;
		hit = floor == INT64_MIN || since > floor ||
		      (!oldest_first && limit > 0 && above >= limit);
		if (hit) {
			col_cache_count(c, 1);
			if ((rv = q_sort(v, nv)) != GT_OK)
				goto fail;
			if (limit > 0 && nv > limit) {
				size_t from = oldest_first ? 0 : nv - limit;

				*truncated = 1;
				for (i = 0; i < nv; i++)
					if (i < from || i >= from + limit)
						col_rec_rele(v[i]);
				memmove(v, v + from, limit * sizeof(*v));
				nv = limit;
			}
			*from_cache = 1;
			*out = v;
			*n = nv;
			return GT_OK;
		}
		for (i = 0; i < nv; i++)
			col_rec_rele(v[i]);
		free(v);
	}
	col_cache_count(c, 0);
	return col_store_read(s, gpu, since, until, limit, oldest_first, out, n, truncated);
fail:
	for (i = 0; i < nv; i++)
		col_rec_rele(v[i]);
	free(v);
	return rv;
}

gt_err
col_query_run(col_store *s, col_cache *c, const col_query *q, col_result *res)
{
	size_t limit = q->limit ? q->limit : COL_QUERY_DEFAULT_LIMIT;
	gt_err rv;

	memset(res, 0, sizeof(*res));
	if (limit > COL_QUERY_MAX_LIMIT)
		limit = COL_QUERY_MAX_LIMIT;
	if (q->since > q->until)
		return GT_OK; /* empty range */
	rv = q_collect(s, c, q->gpu, q->since, q->until, limit, q->reverse, &res->recs, &res->n,
	               &res->truncated, &res->from_cache);
	if (rv != GT_OK)
		return rv;
	if (!q->reverse)
		q_reverse(res->recs, res->n);
	return GT_OK;
}

gt_err
col_query_aggregate(col_store *s, col_cache *c, const char *gpu, const char *metric, int64_t since,
                    int64_t until, int64_t step, col_agg_point **out, size_t *n)
{
	col_rec      **v = NULL;
	size_t         nv = 0, i, nsteps, k = 0;
	uint64_t       span;
	int            tr, fc;
	col_agg_point *pts;
	gt_err         rv;

	*out = NULL;
	*n = 0;
	/* Any int64 bounds are legal input: the span is computed unsigned (exact for
	 * since <= until), so nothing below can overflow. */
	if (step <= 0 || since > until)
		return GT_EINVAL;
	span = (uint64_t)until - (uint64_t)since;
	if (span / (uint64_t)step >= COL_QUERY_MAX_LIMIT)
		return GT_EINVAL;
	nsteps = (size_t)(span / (uint64_t)step) + 1;
	if ((rv = q_collect(s, c, gpu, since, until, 0, 1, &v, &nv, &tr, &fc)) != GT_OK)
		return rv;
	if ((pts = calloc(nsteps, sizeof(*pts))) == NULL) {
		rv = GT_ENOMEM;
		goto done;
	}
	for (i = 0; i < nv; i++) {
		double         x;
		col_agg_point *p;

		if (v[i]->ts_ns < since || v[i]->ts_ns > until || !col_rec_metric(v[i], metric, &x))
			continue;
		p = &pts[(size_t)(((uint64_t)v[i]->ts_ns - (uint64_t)since) / (uint64_t)step)];
		if (p->count == 0 || x < p->min)
			p->min = x;
		if (p->count == 0 || x > p->max)
			p->max = x;
		p->avg += x; /* sum for now */
		p->last = x;
		p->count++;
	}
	for (i = 0; i < nsteps; i++) {
		if (pts[i].count == 0)
			continue;
		pts[k] = pts[i];
		/* since + i * step <= until: the unsigned sum is in range */
		pts[k].t_ns = (int64_t)((uint64_t)since + (uint64_t)i * (uint64_t)step);
		pts[k].avg /= (double)pts[k].count;
		k++;
	}
	*out = pts;
	*n = k;
done:
	for (i = 0; i < nv; i++)
		col_rec_rele(v[i]);
	free(v);
	return rv;
}

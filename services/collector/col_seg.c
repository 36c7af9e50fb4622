/* col_seg.c - one GPU's segment files: names, the sparse time index, block reads. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "col_file_int.h"

void
col_seg_path(const col_store *s, const store_gpu *g, const store_seg *seg, char *buf, size_t len)
{
	if (seg->seq == 0)
		snprintf(buf, len, "%s/%s.jsonl", s->dir, g->stem);
	else
		snprintf(buf, len, "%s/%s.jsonl.%" PRIu64, s->dir, g->stem, seg->seq);
}

void
col_seg_init(store_seg *seg, uint64_t seq)
{
	memset(seg, 0, sizeof(*seg));
	seg->seq = seq;
	seg->min_ts = INT64_MAX;
	seg->max_ts = INT64_MIN;
}

gt_err
col_seg_index_add(store_seg *seg, uint32_t every, uint64_t off, uint64_t len, int64_t ts)
{
	store_blk *b = seg->nblk ? &seg->blk[seg->nblk - 1] : NULL;

	if (b == NULL || b->lines >= every || b->end != off) {
		if (seg->nblk == seg->cap) {
			size_t     ncap = seg->cap ? seg->cap * 2 : 16;
			store_blk *nb = realloc(seg->blk, ncap * sizeof(*nb));

			if (nb == NULL)
				return GT_ENOMEM;
			seg->blk = nb;
			seg->cap = ncap;
		}
		b = &seg->blk[seg->nblk++];
		b->off = b->end = off;
		b->lines = 0;
		b->min_ts = INT64_MAX;
		b->max_ts = INT64_MIN;
	}
	b->end = off + len;
	b->lines++;
	if (ts != INT64_MIN) {
		if (ts < b->min_ts)
			b->min_ts = ts;
		if (ts > b->max_ts)
			b->max_ts = ts;
		if (ts < seg->min_ts)
			seg->min_ts = ts;
		if (ts > seg->max_ts)
			seg->max_ts = ts;
	}
	seg->lines++;
	seg->size = off + len;
	return GT_OK;
}

store_gpu *
col_gpu_new(const char *stem)
{
	store_gpu *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	snprintf(g->stem, sizeof(g->stem), "%s", stem);
	g->fd = -1;
	g->batch_floor = INT64_MIN;
	gt_buf_init(&g->pend);
	return g;
}

void
col_gpu_free(store_gpu *g)
{
	size_t i;

	if (g == NULL)
		return;
	if (g->fd >= 0)
		close(g->fd);
	for (i = 0; i < g->nseg; i++)
		free(g->segs[i].blk);
	free(g->segs);
	col_rec_rele(g->latest);
	col_rec_rele(g->pend_latest);
	gt_buf_fini(&g->pend);
	free(g->pl);
	free(g->key);
	free(g);
}

store_seg *
col_gpu_add_seg(store_gpu *g, uint64_t seq)
{
	store_seg *ns = realloc(g->segs, (g->nseg + 1) * sizeof(*ns));
	size_t     i;

	if (ns == NULL)
		return NULL;
	g->segs = ns;
	/* keep rotated segments sorted by seq, the current one (seq 0) last */
	for (i = g->nseg; i > 0; i--) {
		store_seg *p = &g->segs[i - 1];

		if (seq != 0 && (p->seq == 0 || p->seq > seq))
			g->segs[i] = *p;
		else
			break;
	}
	col_seg_init(&g->segs[i], seq);
	g->nseg++;
	return &g->segs[i];
}

int64_t
col_gpu_max_ts(const store_gpu *g)
{
	int64_t m = INT64_MIN;
	size_t  i;

	for (i = 0; i < g->nseg; i++)
		if (g->segs[i].max_ts > m)
			m = g->segs[i].max_ts;
	return m;
}

/* Read the bytes of blocks [b0, b1) of seg and decode every line; cb per record. */
gt_err
col_seg_read_blocks(int fd, const store_blk *blk, size_t nb, gt_buf *tmp,
                    void (*cb)(col_rec *r, void *arg), void *arg, uint64_t *bad)
{
	size_t i;

	for (i = 0; i < nb; i++) {
		uint64_t len = blk[i].end - blk[i].off;
		ssize_t  n;
		size_t   p = 0;

		gt_buf_reset(tmp);
		if (gt_buf_reserve(tmp, len + 1) != GT_OK)
			return GT_ENOMEM;
		if ((n = pread(fd, tmp->data, len, (off_t)blk[i].off)) != (ssize_t)len)
			return GT_EIO;
		while (p < len) {
			const char *nl = memchr(tmp->data + p, '\n', len - p);
			size_t      ll = nl ? (size_t)(nl - (tmp->data + p)) : len - p;
			col_rec    *r;

			if (col_jsonl_decode(tmp->data + p, ll, &r, NULL) == GT_OK) {
				cb(r, arg);
				col_rec_rele(r);
			} else if (bad) {
				(*bad)++;
			}
			p += ll + 1;
		}
	}
	return GT_OK;
}

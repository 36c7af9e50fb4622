/* col_file.c - per-GPU JSONL segments, batched appends, rotation, retention, time index. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "col_file.h"
#include "col_key.h"
#include "col_map.h"
#include "gt/gt_buf.h"
#include "gt/gt_log.h"

typedef struct store_blk {
	uint64_t off, end; /* byte range [off, end) */
	uint32_t lines;
	int64_t  min_ts, max_ts;
} store_blk;

typedef struct store_seg {
	uint64_t   seq; /* 0 = current */
	uint64_t   size, lines;
	int64_t    min_ts, max_ts;
	store_blk *blk;
	size_t     nblk, cap;
} store_seg;

typedef struct pend_line {
	uint32_t len;
	int64_t  ts;
} pend_line;

typedef struct store_gpu {
	char              *key;
	char               stem[COL_KEY_STEM_MAX + 1];
	int                fd;
	int                dirty;
	store_seg         *segs; /* oldest first; segs[nseg - 1] is current */
	size_t             nseg;
	uint64_t           records;
	uint64_t           next_seq; /* number of the next rotated segment (never reused) */
	col_rec           *latest;
	int64_t            batch_floor;
	/* writer-only batch state */
	gt_buf             pend;
	pend_line         *pl;
	size_t             npl, capl;
	col_rec           *pend_latest;
	struct store_gpu  *next_batch;
	int                in_batch;
	struct store_gpu  *next_dirty;
} store_gpu;

struct col_store {
	col_store_cfg   cfg;
	char           *dir;
	pthread_mutex_t mtx;
	col_map        *gpus; /* key -> store_gpu */
	store_gpu      *batch;
	store_gpu      *dirty;
	col_store_stats st;
};

#define SEG_PATH_MAX (PATH_MAX + 64)

static void
seg_path(const col_store *s, const store_gpu *g, const store_seg *seg, char *buf, size_t len)
{
	if (seg->seq == 0)
		snprintf(buf, len, "%s/%s.jsonl", s->dir, g->stem);
	else
		snprintf(buf, len, "%s/%s.jsonl.%" PRIu64, s->dir, g->stem, seg->seq);
}

static void
seg_init(store_seg *seg, uint64_t seq)
{
	memset(seg, 0, sizeof(*seg));
	seg->seq = seq;
	seg->min_ts = INT64_MAX;
	seg->max_ts = INT64_MIN;
}

/* Add one line (ts may be INT64_MIN when unknown) at [off, off + len) to seg's index. */
static gt_err
seg_index_add(store_seg *seg, uint32_t every, uint64_t off, uint64_t len, int64_t ts)
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

static store_gpu *
gpu_new(const char *stem)
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

static void
gpu_free(store_gpu *g)
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

static store_seg *
gpu_add_seg(store_gpu *g, uint64_t seq)
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
	seg_init(&g->segs[i], seq);
	g->nseg++;
	return &g->segs[i];
}

static int64_t
gpu_max_ts(const store_gpu *g)
{
	int64_t m = INT64_MIN;
	size_t  i;

	for (i = 0; i < g->nseg; i++)
		if (g->segs[i].max_ts > m)
			m = g->segs[i].max_ts;
	return m;
}

/* Reverse search for the last ',"delivery":"' (it is the last member of our lines). */
static int
line_delivery(const char *line, size_t len, col_delivery *id)
{
	static const char key[] = ",\"delivery\":\"";
	const size_t      kl = sizeof(key) - 1;
	size_t            i;
	unsigned long long e, o;
	unsigned           p;
	char               tmp[80];

	if (len < kl + 6)
		return 0;
	for (i = len - kl; i > 0; i--) {
		if (line[i] == ',' && memcmp(line + i, key, kl) == 0) {
			size_t n = len - i - kl;

			if (n >= sizeof(tmp))
				return 0;
			memcpy(tmp, line + i + kl, n);
			tmp[n] = '\0';
			if (sscanf(tmp, "%llu:%u:%llu", &e, &p, &o) != 3)
				return 0;
			id->epoch = e;
			id->partition = p;
			id->offset = o;
			id->valid = 1;
			return 1;
		}
		if (len - i > 96)
			return 0;
	}
	return 0;
}

/* Index a whole segment file; truncate an incomplete last line; report ids past id_from. */
static gt_err
seg_scan(col_store *s, store_gpu *g, store_seg *seg, uint64_t id_from, const col_store_recover *rc)
{
	char        path[SEG_PATH_MAX];
	int         fd;
	gt_buf      carry;
	char       *buf;
	const size_t bsz = 1 << 20;
	uint64_t    pos = 0, line_off = 0;
	ssize_t     n;
	gt_err      rv = GT_OK;

	seg_path(s, g, seg, path, sizeof(path));
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
		return gt_err_from_errno(errno);
	if ((buf = malloc(bsz)) == NULL) {
		close(fd);
		return GT_ENOMEM;
	}
	gt_buf_init(&carry);
	while ((n = pread(fd, buf, bsz, (off_t)pos)) > 0) {
		size_t i = 0, start = 0;

		pos += (uint64_t)n;
		for (;;) {
			const char *nl = memchr(buf + i, '\n', (size_t)n - i);
			const char *line;
			size_t      len;
			int64_t     ts;

			if (nl == NULL)
				break;
			len = (size_t)(nl - (buf + start));
			if (carry.len > 0) {
				if ((rv = gt_buf_append(&carry, buf + start, len)) != GT_OK)
					goto done;
				line = carry.data;
				len = carry.len;
			} else {
				line = buf + start;
			}
			if (col_jsonl_peek_ts(line, len, &ts) != GT_OK) {
				ts = INT64_MIN;
				s->st.bad_lines++;
			}
			if ((rv = seg_index_add(seg, s->cfg.index_every, line_off, len + 1, ts)) != GT_OK)
				goto done;
			if (rc && rc->scan_ids && rc->id && line_off >= id_from) {
				col_delivery id = {0};

				if (line_delivery(line, len, &id))
					rc->id(&id, rc->arg);
			}
			line_off += len + 1;
			carry.len = 0;
			i = start = (size_t)(nl - buf) + 1;
		}
		if (start < (size_t)n && (rv = gt_buf_append(&carry, buf + start, (size_t)n - start)) != GT_OK)
			goto done;
	}
	if (n < 0) {
		rv = gt_err_from_errno(errno);
		goto done;
	}
	if (line_off < pos) {
		/* A torn last line: it was never acknowledged, so the broker redelivers it. */
		if (ftruncate(fd, (off_t)line_off) != 0) {
			rv = gt_err_from_errno(errno);
			goto done;
		}
		s->st.repaired_files++;
		GT_LOGW("file.repair", GT_KV_STR("path", path), GT_KV_UINT("dropped_bytes", pos - line_off));
	}
	seg->size = line_off;
done:
	gt_buf_fini(&carry);
	free(buf);
	close(fd);
	return rv;
}

/* Read the bytes of blocks [b0, b1) of seg and decode every line; cb per record. */
static gt_err
seg_read_blocks(int fd, const store_blk *blk, size_t nb, gt_buf *tmp,
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

typedef struct tail_ctx {
	store_gpu               *g;
	const col_store_recover *rc;
	int64_t                  floor;
} tail_ctx;

static void
tail_cb(col_rec *r, void *arg)
{
	tail_ctx *t = arg;

	if (t->g->key == NULL)
		t->g->key = strdup(r->gpu_key);
	if (t->g->latest == NULL || r->ts_ns >= t->g->latest->ts_ns) {
		col_rec_rele(t->g->latest);
		col_rec_hold(r);
		t->g->latest = r;
	}
	if (t->rc && t->rc->rec)
		t->rc->rec(r, t->floor, t->rc->arg);
}

/* Decode the newest blocks (enough for tail_lines, at least one) of g. */
static gt_err
gpu_tail(col_store *s, store_gpu *g, const col_store_recover *rc)
{
	size_t   want = rc && rc->tail_lines ? rc->tail_lines : 1, got = 0, si, bi, k;
	int64_t  floor = INT64_MIN;
	gt_buf   tmp;
	gt_err   rv = GT_OK;
	tail_ctx t = {g, rc, INT64_MIN};

	/* Find the first (segment, block) to load, walking back from the newest. */
	si = g->nseg;
	bi = 0;
	while (si > 0 && got < want) {
		store_seg *seg = &g->segs[si - 1];

		bi = seg->nblk;
		while (bi > 0 && got < want)
			got += seg->blk[--bi].lines;
		if (got < want)
			si--;
	}
	if (si == 0) {
		si = 1;
		bi = 0;
	}
	/* floor = newest timestamp of what is not loaded */
	for (k = 0; k + 1 < si; k++)
		if (g->segs[k].max_ts > floor)
			floor = g->segs[k].max_ts;
	for (k = 0; k < bi && si - 1 < g->nseg; k++)
		if (g->segs[si - 1].blk[k].max_ts > floor)
			floor = g->segs[si - 1].blk[k].max_ts;
	t.floor = floor;
	gt_buf_init(&tmp);
	for (k = si - 1; k < g->nseg; k++) {
		store_seg *seg = &g->segs[k];
		char       path[SEG_PATH_MAX];
		size_t     from = k == si - 1 ? bi : 0;
		int        fd;

		if (seg->nblk == 0)
			continue;
		seg_path(s, g, seg, path, sizeof(path));
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		rv = seg_read_blocks(fd, seg->blk + from, seg->nblk - from, &tmp, tail_cb, &t, NULL);
		close(fd);
		if (rv != GT_OK)
			break;
	}
	gt_buf_fini(&tmp);
	return rv;
}

static const col_ckpt_file *
ckpt_file_of(const col_store_recover *rc, const char *stem)
{
	size_t i;

	if (rc == NULL)
		return NULL;
	for (i = 0; i < rc->nfiles; i++)
		if (strcmp(rc->files[i].stem, stem) == 0)
			return &rc->files[i];
	return NULL;
}

static void
stem_free_cb(const char *key, void *val, void *arg)
{
	(void)key;
	(void)arg;
	gpu_free(val);
}

/* Parse "<stem>.jsonl" (seq 0) or "<stem>.jsonl.<n>"; returns 0 when not ours. */
static int
parse_name(const char *name, char *stem, size_t len, uint64_t *seq)
{
	const char *p = strstr(name, ".jsonl");
	const char *last = NULL;
	char       *end;

	while (p != NULL) {
		last = p;
		p = strstr(p + 1, ".jsonl");
	}
	if (last == NULL || last == name || (size_t)(last - name) >= len)
		return 0;
	if (last[6] == '\0') {
		*seq = 0;
	} else if (last[6] == '.' && last[7] >= '0' && last[7] <= '9') {
		*seq = strtoull(last + 7, &end, 10);
		if (*end != '\0' || *seq == 0)
			return 0;
	} else {
		return 0;
	}
	memcpy(stem, name, (size_t)(last - name));
	stem[last - name] = '\0';
	return 1;
}

typedef struct open_ctx {
	col_store               *s;
	const col_store_recover *rc;
	gt_err                   rv;
} open_ctx;

static void
open_gpu_cb(const char *stem, void *val, void *arg)
{
	open_ctx  *o = arg;
	store_gpu *g = val;
	size_t     i;
	const col_ckpt_file *ckf;
	int                  rotated_since;
	gt_err               rv;

	if (o->rv != GT_OK)
		return;
	if (g->nseg == 0 || g->segs[g->nseg - 1].seq != 0) {
		/* no current segment: add an empty one */
		if (gpu_add_seg(g, 0) == NULL) {
			o->rv = GT_ENOMEM;
			return;
		}
	}
	/* Which lines were written after the checkpoint: rotated segments numbered above the
	 * checkpoint's "rot" are newer (whole file), rot + 1 was the current file then (from
	 * its recorded size), the current file is new if anything rotated since. */
	ckf = ckpt_file_of(o->rc, stem);
	rotated_since = 0;
	for (i = 0; i < g->nseg; i++) {
		if (ckf && g->segs[i].seq > ckf->rot)
			rotated_since = 1;
		if (g->segs[i].seq >= g->next_seq)
			g->next_seq = g->segs[i].seq + 1;
	}
	if (ckf && ckf->rot >= g->next_seq)
		g->next_seq = ckf->rot + 1;
	if (g->next_seq == 0)
		g->next_seq = 1;
	for (i = 0; i < g->nseg; i++) {
		store_seg *seg = &g->segs[i];
		uint64_t   from;
		struct stat sb;
		char        path[SEG_PATH_MAX];

		seg_path(o->s, g, seg, path, sizeof(path));
		if (seg->seq == 0 && stat(path, &sb) != 0)
			continue; /* empty current segment, not created yet */
		if (ckf == NULL)
			from = 0;
		else if (seg->seq == 0)
			from = rotated_since ? 0 : ckf->size;
		else if (seg->seq <= ckf->rot)
			from = UINT64_MAX;
		else if (seg->seq == ckf->rot + 1)
			from = ckf->size;
		else
			from = 0;
		if ((rv = seg_scan(o->s, g, seg, from, o->rc)) != GT_OK) {
			GT_LOGE("file.scan_failed", GT_KV_STR("path", path), GT_KV_ERR(rv));
			o->rv = rv;
			return;
		}
		g->records += seg->lines;
	}
	if ((rv = gpu_tail(o->s, g, o->rc)) != GT_OK) {
		o->rv = rv;
		return;
	}
}

static void
store_move_cb(const char *stem, void *val, void *arg)
{
	col_store *s = arg;
	store_gpu *g = val;
	size_t     i;

	(void)stem;
	if (g->key == NULL || col_map_find(s->gpus, g->key) != NULL ||
	    col_map_put(s->gpus, g->key, g) != GT_OK) {
		if (g->key != NULL)
			GT_LOGW("file.skip_gpu", GT_KV_STR("stem", g->stem));
		gpu_free(g);
		return;
	}
	s->st.gpus++;
	for (i = 0; i < g->nseg; i++) {
		s->st.lines += g->segs[i].lines;
		s->st.bytes += g->segs[i].size;
		s->st.segments++;
	}
}

gt_err
col_store_open(col_store **out, const col_store_cfg *cfg, const col_store_recover *rc)
{
	col_store     *s;
	col_map       *stems = NULL;
	DIR           *d;
	struct dirent *de;
	gt_err         rv;
	open_ctx       oc;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return GT_ENOMEM;
	s->cfg = *cfg;
	if (s->cfg.index_every == 0)
		s->cfg.index_every = 128;
	pthread_mutex_init(&s->mtx, NULL);
	if ((s->dir = strdup(cfg->dir)) == NULL || (rv = col_map_new(&s->gpus)) != GT_OK ||
	    (rv = col_map_new(&stems)) != GT_OK) {
		rv = GT_ENOMEM;
		goto fail;
	}
	if (mkdir(s->dir, 0755) != 0 && errno != EEXIST) {
		rv = gt_err_from_errno(errno);
		GT_LOGE("file.mkdir_failed", GT_KV_STR("dir", s->dir), GT_KV_ERR(rv));
		goto fail;
	}
	if ((d = opendir(s->dir)) == NULL) {
		rv = gt_err_from_errno(errno);
		goto fail;
	}
	rv = GT_OK;
	while ((de = readdir(d)) != NULL && rv == GT_OK) {
		char       stem[NAME_MAX + 1];
		uint64_t   seq;
		store_gpu *g;

		if (!parse_name(de->d_name, stem, sizeof(stem), &seq) || strlen(stem) > COL_KEY_STEM_MAX)
			continue;
		if ((g = col_map_find(stems, stem)) == NULL) {
			if ((g = gpu_new(stem)) == NULL || col_map_put(stems, stem, g) != GT_OK) {
				gpu_free(g);
				rv = GT_ENOMEM;
				break;
			}
		}
		if (gpu_add_seg(g, seq) == NULL)
			rv = GT_ENOMEM;
	}
	closedir(d);
	if (rv != GT_OK)
		goto fail;
	oc.s = s;
	oc.rc = rc;
	oc.rv = GT_OK;
	col_map_each(stems, open_gpu_cb, &oc);
	if ((rv = oc.rv) != GT_OK)
		goto fail;
	/* Move GPUs with a known key into the key table (stems then only borrows). */
	col_map_each(stems, store_move_cb, s);
	col_map_free(stems);
	*out = s;
	return GT_OK;
fail:
	if (stems) {
		col_map_each(stems, stem_free_cb, NULL);
		col_map_free(stems);
	}
	col_store_close(s);
	return rv;
}

static void
gpu_free_cb(const char *key, void *val, void *arg)
{
	(void)key;
	(void)arg;
	gpu_free(val);
}

void
col_store_close(col_store *s)
{
	if (s == NULL)
		return;
	if (s->gpus) {
		col_store_sync(s);
		col_map_each(s->gpus, gpu_free_cb, NULL);
		col_map_free(s->gpus);
	}
	pthread_mutex_destroy(&s->mtx);
	free(s->dir);
	free(s);
}

gt_err
col_store_append(col_store *s, const col_rec *r, const char *line, size_t len)
{
	store_gpu *g;
	gt_err     rv;

	pthread_mutex_lock(&s->mtx);
	g = col_map_find_h(s->gpus, r->gpu_key, r->key_hash);
	pthread_mutex_unlock(&s->mtx);
	if (g == NULL) {
		char stem[COL_KEY_STEM_MAX + 1];

		col_key_stem(r->gpu_key, stem, sizeof(stem));
		if ((g = gpu_new(stem)) == NULL || (g->key = strdup(r->gpu_key)) == NULL ||
		    gpu_add_seg(g, 0) == NULL) {
			gpu_free(g);
			return GT_ENOMEM;
		}
		pthread_mutex_lock(&s->mtx);
		rv = col_map_put(s->gpus, g->key, g);
		if (rv == GT_OK) {
			s->st.gpus++;
			s->st.segments++;
		}
		pthread_mutex_unlock(&s->mtx);
		if (rv != GT_OK) {
			gpu_free(g);
			return rv;
		}
	}
	if (g->npl == g->capl) {
		size_t     ncap = g->capl ? g->capl * 2 : 64;
		pend_line *np = realloc(g->pl, ncap * sizeof(*np));

		if (np == NULL)
			return GT_ENOMEM;
		g->pl = np;
		g->capl = ncap;
	}
	if ((rv = gt_buf_append(&g->pend, line, len)) != GT_OK)
		return rv;
	g->pl[g->npl].len = (uint32_t)len;
	g->pl[g->npl].ts = r->ts_ns;
	g->npl++;
	if (g->pend_latest == NULL || r->ts_ns >= g->pend_latest->ts_ns) {
		col_rec_rele(g->pend_latest);
		col_rec_hold((col_rec *)r);
		g->pend_latest = (col_rec *)r;
	}
	if (!g->in_batch) {
		g->in_batch = 1;
		g->next_batch = s->batch;
		s->batch = g;
	}
	return GT_OK;
}

static gt_err
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return gt_err_from_errno(errno);
		}
		p += w;
		n -= (size_t)w;
	}
	return GT_OK;
}

static gt_err
gpu_open_current(col_store *s, store_gpu *g)
{
	char path[SEG_PATH_MAX];

	if (g->fd >= 0)
		return GT_OK;
	seg_path(s, g, &g->segs[g->nseg - 1], path, sizeof(path));
	if ((g->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		gt_err rv = gt_err_from_errno(errno);

		GT_LOGE("file.open_failed", GT_KV_STR("path", path), GT_KV_ERR(rv));
		return rv;
	}
	return GT_OK;
}

/* Rotate g's current segment: <stem>.jsonl -> <stem>.jsonl.<seq>. Writer thread. */
static gt_err
gpu_rotate(col_store *s, store_gpu *g)
{
	char     from[SEG_PATH_MAX], to[SEG_PATH_MAX];
	uint64_t seq = g->next_seq ? g->next_seq : 1;
	size_t   i;
	store_seg tmp;
	gt_err   rv = GT_OK;

	for (i = 0; i < g->nseg; i++)
		if (g->segs[i].seq >= seq)
			seq = g->segs[i].seq + 1;
	if (g->fd >= 0) {
		if (g->dirty && s->cfg.fsync != COL_FSYNC_NEVER)
			fdatasync(g->fd);
		close(g->fd);
		g->fd = -1;
	}
	seg_path(s, g, &g->segs[g->nseg - 1], from, sizeof(from));
	for (;;) {
		seg_init(&tmp, seq);
		seg_path(s, g, &tmp, to, sizeof(to));
		if (access(to, F_OK) != 0)
			break;
		seq++;
	}
	pthread_mutex_lock(&s->mtx);
	if (rename(from, to) != 0) {
		rv = gt_err_from_errno(errno);
	} else {
		g->segs[g->nseg - 1].seq = seq;
		g->next_seq = seq + 1;
		if (gpu_add_seg(g, 0) == NULL)
			rv = GT_ENOMEM;
		s->st.rotations++;
		s->st.segments++;
	}
	pthread_mutex_unlock(&s->mtx);
	if (rv != GT_OK)
		GT_LOGE("file.rotate_failed", GT_KV_STR("path", from), GT_KV_ERR(rv));
	else
		GT_LOGI("file.rotate", GT_KV_STR("path", to));
	return rv;
}

gt_err
col_store_commit(col_store *s, int *rotated)
{
	store_gpu *g, *next;
	gt_err     rv = GT_OK, r2;

	*rotated = 0;
	for (g = s->batch; g != NULL; g = next) {
		store_seg *seg;
		uint64_t   off;
		size_t     i;

		next = g->next_batch;
		g->next_batch = NULL;
		g->in_batch = 0;
		if (rv != GT_OK)
			goto drop; /* an earlier file failed: the batch is not acked */
		if ((r2 = gpu_open_current(s, g)) != GT_OK ||
		    (r2 = write_all(g->fd, g->pend.data, g->pend.len)) != GT_OK) {
			rv = r2;
			/* a partial write leaves a torn line; the next open repairs it */
			close(g->fd);
			g->fd = -1;
			goto drop;
		}
		if (s->cfg.fsync == COL_FSYNC_ALWAYS) {
			if (fdatasync(g->fd) != 0) {
				rv = gt_err_from_errno(errno);
				goto drop;
			}
		} else if (!g->dirty) {
			g->dirty = 1;
			g->next_dirty = s->dirty;
			s->dirty = g;
		}
		pthread_mutex_lock(&s->mtx);
		g->batch_floor = gpu_max_ts(g);
		seg = &g->segs[g->nseg - 1];
		off = seg->size;
		for (i = 0; i < g->npl; i++) {
			seg_index_add(seg, s->cfg.index_every, off, g->pl[i].len, g->pl[i].ts);
			off += g->pl[i].len;
		}
		g->records += g->npl;
		s->st.lines += g->npl;
		s->st.bytes += g->pend.len;
		if (g->latest == NULL || g->pend_latest->ts_ns >= g->latest->ts_ns) {
			col_rec_rele(g->latest);
			g->latest = g->pend_latest;
			g->pend_latest = NULL;
		}
		pthread_mutex_unlock(&s->mtx);
		if (s->cfg.rotate_bytes > 0 && seg->size >= s->cfg.rotate_bytes &&
		    gpu_rotate(s, g) == GT_OK)
			*rotated = 1;
	drop:
		col_rec_rele(g->pend_latest);
		g->pend_latest = NULL;
		gt_buf_reset(&g->pend);
		g->npl = 0;
	}
	s->batch = NULL;
	return rv;
}

int64_t
col_store_batch_floor(col_store *s, const char *key)
{
	store_gpu *g;
	int64_t    f = INT64_MIN;

	pthread_mutex_lock(&s->mtx);
	if ((g = col_map_find(s->gpus, key)) != NULL)
		f = g->batch_floor;
	pthread_mutex_unlock(&s->mtx);
	return f;
}

gt_err
col_store_sync(col_store *s)
{
	store_gpu *g, *next;
	gt_err     rv = GT_OK;

	for (g = s->dirty; g != NULL; g = next) {
		next = g->next_dirty;
		g->next_dirty = NULL;
		g->dirty = 0;
		if (g->fd >= 0 && fdatasync(g->fd) != 0)
			rv = gt_err_from_errno(errno);
	}
	s->dirty = NULL;
	return rv;
}

gt_err
col_store_sync_take(col_store *s, int **fds, size_t *n)
{
	store_gpu *g, *next;
	size_t     k = 0, cap = 0;
	int       *v = NULL;

	for (g = s->dirty; g != NULL; g = g->next_dirty)
		cap++;
	if (cap > 0 && (v = malloc(cap * sizeof(*v))) == NULL)
		return GT_ENOMEM;
	for (g = s->dirty; g != NULL; g = next) {
		next = g->next_dirty;
		g->next_dirty = NULL;
		g->dirty = 0;
		if (g->fd >= 0 && (v[k] = dup(g->fd)) >= 0)
			k++;
		else if (g->fd >= 0)
			fdatasync(g->fd); /* no descriptor left: sync here */
	}
	s->dirty = NULL;
	*fds = v;
	*n = k;
	return GT_OK;
}

typedef struct ret_ctx {
	col_store *s;
	int64_t    now;
	size_t     deleted;
} ret_ctx;

static void
retention_cb(const char *key, void *val, void *arg)
{
	ret_ctx   *rc = arg;
	col_store *s = rc->s;
	store_gpu *g = val;
	uint64_t   total = 0;
	size_t     i;

	(void)key;
	for (i = 0; i < g->nseg; i++)
		total += g->segs[i].size;
	/* only rotated segments (never the current one), oldest first */
	while (g->nseg > 1) {
		store_seg *old = &g->segs[0];
		int        too_old = s->cfg.retention_ns > 0 && old->max_ts != INT64_MIN &&
		    old->max_ts < rc->now - s->cfg.retention_ns;
		int        too_big = s->cfg.retention_bytes > 0 && total > s->cfg.retention_bytes;
		char       path[SEG_PATH_MAX];

		if (!too_old && !too_big)
			break;
		seg_path(s, g, old, path, sizeof(path));
		if (unlink(path) != 0 && errno != ENOENT)
			break;
		GT_LOGI("file.retention_delete", GT_KV_STR("path", path), GT_KV_UINT("lines", old->lines));
		total -= old->size;
		g->records -= old->lines;
		s->st.lines -= old->lines;
		s->st.bytes -= old->size;
		s->st.segments--;
		s->st.deleted_segments++;
		free(old->blk);
		memmove(&g->segs[0], &g->segs[1], (g->nseg - 1) * sizeof(store_seg));
		g->nseg--;
		rc->deleted++;
	}
}

size_t
col_store_retention(col_store *s, int64_t now_ns)
{
	ret_ctx rc = {s, now_ns, 0};

	if (s->cfg.retention_ns <= 0 && s->cfg.retention_bytes == 0)
		return 0;
	pthread_mutex_lock(&s->mtx);
	col_map_each(s->gpus, retention_cb, &rc);
	pthread_mutex_unlock(&s->mtx);
	return rc.deleted;
}

typedef struct files_ctx {
	col_ckpt_file *v;
	size_t         n, cap;
	gt_err         rv;
} files_ctx;

static void
files_cb(const char *key, void *val, void *arg)
{
	files_ctx *fc = arg;
	store_gpu *g = val;

	(void)key;
	if (fc->rv != GT_OK || fc->n == fc->cap)
		return;
	if ((fc->v[fc->n].stem = strdup(g->stem)) == NULL) {
		fc->rv = GT_ENOMEM;
		return;
	}
	fc->v[fc->n].size = g->segs[g->nseg - 1].size;
	fc->v[fc->n].rot = g->next_seq > 0 ? g->next_seq - 1 : 0;
	fc->n++;
}

gt_err
col_store_files(col_store *s, col_ckpt_file **files, size_t *n)
{
	files_ctx fc = {0};

	pthread_mutex_lock(&s->mtx);
	fc.cap = col_map_len(s->gpus);
	if ((fc.v = calloc(fc.cap ? fc.cap : 1, sizeof(*fc.v))) == NULL) {
		pthread_mutex_unlock(&s->mtx);
		return GT_ENOMEM;
	}
	col_map_each(s->gpus, files_cb, &fc);
	pthread_mutex_unlock(&s->mtx);
	if (fc.rv != GT_OK) {
		col_ckpt_files_free(fc.v, fc.n);
		return fc.rv;
	}
	*files = fc.v;
	*n = fc.n;
	return GT_OK;
}

typedef struct list_ctx {
	col_gpu_info *v;
	size_t        n, cap;
} list_ctx;

static char *
dupz(const char *s)
{
	return strdup(s ? s : "");
}

static void
list_cb(const char *key, void *val, void *arg)
{
	list_ctx     *lc = arg;
	store_gpu    *g = val;
	col_gpu_info *i;
	const col_rec *r = g->latest;

	if (lc->n == lc->cap || r == NULL)
		return;
	i = &lc->v[lc->n++];
	i->gpu_key = dupz(key);
	i->hostname = dupz(r->hostname);
	i->uuid = dupz(r->uuid);
	i->model = dupz(r->model);
	i->device = dupz(r->device);
	i->gpu_index = r->gpu_index;
	i->last_seen_ns = r->ts_ns;
	i->records = g->records;
	col_rec_hold(g->latest);
	i->latest = g->latest;
}

static int
info_cmp(const void *a, const void *b)
{
	return strcmp(((const col_gpu_info *)a)->gpu_key, ((const col_gpu_info *)b)->gpu_key);
}

gt_err
col_store_list(col_store *s, col_gpu_info **out, size_t *n)
{
	list_ctx lc = {0};

	pthread_mutex_lock(&s->mtx);
	lc.cap = col_map_len(s->gpus);
	if ((lc.v = calloc(lc.cap ? lc.cap : 1, sizeof(*lc.v))) == NULL) {
		pthread_mutex_unlock(&s->mtx);
		return GT_ENOMEM;
	}
	col_map_each(s->gpus, list_cb, &lc);
	pthread_mutex_unlock(&s->mtx);
	qsort(lc.v, lc.n, sizeof(*lc.v), info_cmp);
	*out = lc.v;
	*n = lc.n;
	return GT_OK;
}

void
col_store_list_free(col_gpu_info *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].gpu_key);
		free(v[i].hostname);
		free(v[i].uuid);
		free(v[i].model);
		free(v[i].device);
		col_rec_rele(v[i].latest);
	}
	free(v);
}

int
col_store_has(col_store *s, const char *key)
{
	int has;

	pthread_mutex_lock(&s->mtx);
	has = col_map_find(s->gpus, key) != NULL;
	pthread_mutex_unlock(&s->mtx);
	return has;
}

/* ---- reading ---- */

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
				seg_path(s, g, seg, path, sizeof(path));
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
			if (oldest_first ? bl[i].blk.min_ts > rv.v[rv.n - 1]->ts_ns :
			                   bl[i].blk.max_ts < rv.v[0]->ts_ns) {
				*truncated = 1; /* blocks left that match the range */
				break;
			}
		}
		rv.cur = bl[i].order;
		rv.line = 0;
		__atomic_add_fetch(&s->st.blocks_read, 1, __ATOMIC_RELAXED);
		if ((err = seg_read_blocks(bl[i].fd, &bl[i].blk, 1, &tmp, rd_push, &rv, NULL)) != GT_OK)
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

void
col_store_stats_get(col_store *s, col_store_stats *st)
{
	pthread_mutex_lock(&s->mtx);
	*st = s->st;
	pthread_mutex_unlock(&s->mtx);
}

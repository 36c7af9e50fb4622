/* col_file.c - the store: open/close, batched appends, rotation, fsync, retention, listing. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "col_file_int.h"
#include "gt/gt_log.h"

gt_err
col_store_open(col_store **out, const col_store_cfg *cfg, const col_store_recover *rc)
{
	col_store *s;
	gt_err     rv;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return GT_ENOMEM;
	s->cfg = *cfg;
	if (s->cfg.index_every == 0)
		s->cfg.index_every = 128;
	pthread_mutex_init(&s->mtx, NULL);
	if ((s->dir = strdup(cfg->dir)) == NULL || (rv = col_map_new(&s->gpus)) != GT_OK) {
		rv = GT_ENOMEM;
		goto fail;
	}
	if (mkdir(s->dir, 0755) != 0 && errno != EEXIST) {
		rv = gt_err_from_errno(errno);
		GT_LOGE("file.mkdir_failed", GT_KV_STR("dir", s->dir), GT_KV_ERR(rv));
		goto fail;
	}
	if ((rv = col_store_load(s, rc)) != GT_OK)
		goto fail;
	*out = s;
	return GT_OK;
fail:
	col_store_close(s);
	return rv;
}

static void
gpu_free_cb(const char *key, void *val, void *arg)
{
	(void)key;
	(void)arg;
	col_gpu_free(val);
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
	free(s->iov);
	free(s->dir);
	free(s);
}

/* Queue one line for r's GPU: copied into its pend buffer, or (copy = 0) referenced. */
static gt_err
store_queue(col_store *s, const col_rec *r, const char *line, size_t len, int copy)
{
	store_gpu *g;
	gt_err     rv;

	pthread_mutex_lock(&s->mtx);
	g = col_map_find_h(s->gpus, r->gpu_key, r->key_hash);
	pthread_mutex_unlock(&s->mtx);
	if (g == NULL) {
		char stem[COL_KEY_STEM_MAX + 1];

		col_key_stem(r->gpu_key, stem, sizeof(stem));
		if ((g = col_gpu_new(stem)) == NULL || (g->key = strdup(r->gpu_key)) == NULL ||
		    col_gpu_add_seg(g, 0) == NULL) {
			col_gpu_free(g);
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
			col_gpu_free(g);
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
	if (copy && (rv = gt_buf_append(&g->pend, line, len)) != GT_OK)
		return rv;
	g->pl[g->npl].p = copy ? NULL : line;
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

gt_err
col_store_append(col_store *s, const col_rec *r, const char *line, size_t len)
{
	return store_queue(s, r, line, len, 1);
}

gt_err
col_store_append_ref(col_store *s, const col_rec *r, const char *line, size_t len)
{
	return store_queue(s, r, line, len, 0);
}

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif

/* writev all of v[0..n) (modified), IOV_MAX at a time, resuming after partial writes. */
static gt_err
writev_all(int fd, struct iovec *v, size_t n)
{
	while (n > 0) {
		ssize_t w = writev(fd, v, n < IOV_MAX ? (int)n : IOV_MAX);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return gt_err_from_errno(errno);
		}
		while (n > 0 && (size_t)w >= v->iov_len) {
			w -= (ssize_t)v->iov_len;
			v++;
			n--;
		}
		if (n > 0) {
			v->iov_base = (char *)v->iov_base + w;
			v->iov_len -= (size_t)w;
		}
	}
	return GT_OK;
}

/* Write g's queued lines, in order, straight from where they are (no gathering copy);
 * lines that follow each other in memory share an iovec. */
static gt_err
gpu_write(col_store *s, store_gpu *g)
{
	size_t        i, n = 0, coff = 0;
	struct iovec *v;

	if (s->iov_cap < g->npl) {
		if ((v = realloc(s->iov, g->npl * sizeof(*v))) == NULL)
			return GT_ENOMEM;
		s->iov = v;
		s->iov_cap = g->npl;
	}
	v = s->iov;
	for (i = 0; i < g->npl; i++) {
		const char *p = g->pl[i].p;

		if (p == NULL) {
			p = g->pend.data + coff;
			coff += g->pl[i].len;
		}
		if (n > 0 && (const char *)v[n - 1].iov_base + v[n - 1].iov_len == p) {
			v[n - 1].iov_len += g->pl[i].len;
		} else {
			v[n].iov_base = (void *)p;
			v[n].iov_len = g->pl[i].len;
			n++;
		}
	}
	return writev_all(g->fd, v, n);
}

static gt_err
gpu_open_current(col_store *s, store_gpu *g)
{
	char        path[SEG_PATH_MAX];
	store_seg  *seg = &g->segs[g->nseg - 1];
	struct stat sb;
	gt_err      rv;

	if (g->fd >= 0)
		return GT_OK;
	col_seg_path(s, g, seg, path, sizeof(path));
	if ((g->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		rv = gt_err_from_errno(errno);
		GT_LOGE("file.open_failed", GT_KV_STR("path", path), GT_KV_ERR(rv));
		return rv;
	}
	/* After a failed write (disk full): cut the torn part so the file ends with the last
	 * line that was written whole. Shrinking needs no space. */
	if (g->repair) {
		if (fstat(g->fd, &sb) != 0 ||
		    ((uint64_t)sb.st_size > seg->size && ftruncate(g->fd, (off_t)seg->size) != 0)) {
			rv = gt_err_from_errno(errno);
			GT_LOGE("file.repair_failed", GT_KV_STR("path", path), GT_KV_ERR(rv));
			close(g->fd);
			g->fd = -1;
			return rv;
		}
		if ((uint64_t)sb.st_size > seg->size) {
			s->st.repaired_files++;
			GT_LOGW("file.repair", GT_KV_STR("path", path),
			        GT_KV_UINT("dropped_bytes", (uint64_t)sb.st_size - seg->size));
		}
		g->repair = 0;
	}
	return GT_OK;
}

/* Rotate g's current segment: <stem>.jsonl -> <stem>.jsonl.<seq>. Writer thread. */
static gt_err
gpu_rotate(col_store *s, store_gpu *g)
{
	char      from[SEG_PATH_MAX], to[SEG_PATH_MAX];
	uint64_t  seq = g->next_seq ? g->next_seq : 1;
	size_t    i;
	store_seg tmp;
	gt_err    rv = GT_OK;

	for (i = 0; i < g->nseg; i++)
		if (g->segs[i].seq >= seq)
			seq = g->segs[i].seq + 1;
	if (g->fd >= 0) {
		if (g->dirty && s->cfg.fsync != COL_FSYNC_NEVER)
			fdatasync(g->fd);
		close(g->fd);
		g->fd = -1;
	}
	col_seg_path(s, g, &g->segs[g->nseg - 1], from, sizeof(from));
	for (;;) {
		col_seg_init(&tmp, seq);
		col_seg_path(s, g, &tmp, to, sizeof(to));
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
		if (col_gpu_add_seg(g, 0) == NULL)
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
		uint64_t   off, start;
		size_t     i;

		next = g->next_batch;
		g->next_batch = NULL;
		g->in_batch = 0;
		g->commit_failed = 0;
		if ((r2 = gpu_open_current(s, g)) != GT_OK ||
		    (r2 = gpu_write(s, g)) != GT_OK ||
		    (s->cfg.fsync == COL_FSYNC_ALWAYS && fdatasync(g->fd) != 0 &&
		     (r2 = gt_err_from_errno(errno)) != GT_OK)) {
			/* Not written (or not durable): none of its lines count. A partial write
			 * leaves a torn line; it is cut before the next write to this file. The
			 * other GPUs of the batch are still written. */
			rv = r2;
			g->commit_failed = 1;
			g->failing = 1;
			if (!g->failing) /* once per failing spell of this file */
				GT_LOGE("file.write_failed", GT_KV_STR("stem", g->stem),
				        GT_KV_STR("error", strerror(errno)));
			g->repair = 1;
			if (g->fd >= 0) {
				/* cut the torn part now (shrinking needs no space); if that fails
				 * too, gpu_open_current does it before the next write */
				if (ftruncate(g->fd, (off_t)g->segs[g->nseg - 1].size) == 0)
					g->repair = 0;
				close(g->fd);
				g->fd = -1;
			}
			goto drop;
		}
		if (g->failing) {
			g->failing = 0;
			GT_LOGI("file.write_resumed", GT_KV_STR("stem", g->stem));
		}
		if (s->cfg.fsync != COL_FSYNC_ALWAYS && !g->dirty) {
			g->dirty = 1;
			g->next_dirty = s->dirty;
			s->dirty = g;
		}
		pthread_mutex_lock(&s->mtx);
		g->batch_floor = col_gpu_max_ts(g);
		seg = &g->segs[g->nseg - 1];
		off = start = seg->size;
		for (i = 0; i < g->npl; i++) {
			col_seg_index_add(seg, s->cfg.index_every, off, g->pl[i].len, g->pl[i].ts);
			off += g->pl[i].len;
		}
		g->records += g->npl;
		s->st.lines += g->npl;
		s->st.bytes += off - start;
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

int
col_store_committed(col_store *s, const col_rec *r)
{
	store_gpu *g;

	pthread_mutex_lock(&s->mtx);
	g = col_map_find_h(s->gpus, r->gpu_key, r->key_hash);
	pthread_mutex_unlock(&s->mtx);
	return g != NULL && !g->commit_failed;
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
		int  too_big = s->cfg.retention_bytes > 0 && total > s->cfg.retention_bytes;
		char path[SEG_PATH_MAX];

		if (!too_old && !too_big)
			break;
		col_seg_path(s, g, old, path, sizeof(path));
		if (unlink(path) != 0 && errno != ENOENT)
			break;
		GT_LOGI("file.retention_delete", GT_KV_STR("path", path),
		        GT_KV_UINT("lines", old->lines));
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
	list_ctx      *lc = arg;
	store_gpu     *g = val;
	col_gpu_info  *i;
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

void
col_store_stats_get(col_store *s, col_store_stats *st)
{
	pthread_mutex_lock(&s->mtx);
	*st = s->st;
	pthread_mutex_unlock(&s->mtx);
}

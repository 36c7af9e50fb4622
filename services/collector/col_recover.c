/* col_recover.c - start-up: find every GPU's segment files, index them, repair a torn last
 * line, report delivery ids written after the checkpoint, load each GPU's newest records. */
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

#include "col_file_int.h"
#include "gt/gt_log.h"

/* Reverse search for the last ',"delivery":"' (it is the last member of our lines). */
static int
line_delivery(const char *line, size_t len, col_delivery *id)
{
	static const char  key[] = ",\"delivery\":\"";
	const size_t       kl = sizeof(key) - 1;
	size_t             i;
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
	char         path[SEG_PATH_MAX];
	int          fd;
	gt_buf       carry;
	char        *buf;
	const size_t bsz = 1 << 20;
	uint64_t     pos = 0, line_off = 0;
	ssize_t      n;
	gt_err       rv = GT_OK;

	col_seg_path(s, g, seg, path, sizeof(path));
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
			if ((rv = col_seg_index_add(seg, s->cfg.index_every, line_off, len + 1,
			                            ts)) != GT_OK)
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
		if (start < (size_t)n &&
		    (rv = gt_buf_append(&carry, buf + start, (size_t)n - start)) != GT_OK)
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
		GT_LOGW("file.repair", GT_KV_STR("path", path),
		        GT_KV_UINT("dropped_bytes", pos - line_off));
	}
	seg->size = line_off;
done:
	gt_buf_fini(&carry);
	free(buf);
	close(fd);
	return rv;
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
		col_seg_path(s, g, seg, path, sizeof(path));
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		rv = col_seg_read_blocks(fd, seg->blk + from, seg->nblk - from, &tmp, tail_cb, &t,
		                         NULL);
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
	col_gpu_free(val);
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
	open_ctx            *o = arg;
	store_gpu           *g = val;
	size_t               i;
	const col_ckpt_file *ckf;
	int                  rotated_since;
	gt_err               rv;

	if (o->rv != GT_OK)
		return;
	if (g->nseg == 0 || g->segs[g->nseg - 1].seq != 0) {
		/* no current segment: add an empty one */
		if (col_gpu_add_seg(g, 0) == NULL) {
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
		store_seg  *seg = &g->segs[i];
		uint64_t    from;
		struct stat sb;
		char        path[SEG_PATH_MAX];

		col_seg_path(o->s, g, seg, path, sizeof(path));
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
		col_gpu_free(g);
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
col_store_load(col_store *s, const col_store_recover *rc)
{
	col_map       *stems = NULL;
	DIR           *d;
	struct dirent *de;
	gt_err         rv;
	open_ctx       oc;

	if ((rv = col_map_new(&stems)) != GT_OK)
		return rv;
	if ((d = opendir(s->dir)) == NULL) {
		rv = gt_err_from_errno(errno);
		goto fail;
	}
	rv = GT_OK;
	while ((de = readdir(d)) != NULL && rv == GT_OK) {
		char       stem[NAME_MAX + 1];
		uint64_t   seq;
		store_gpu *g;

		if (!parse_name(de->d_name, stem, sizeof(stem), &seq) ||
		    strlen(stem) > COL_KEY_STEM_MAX)
			continue;
		if ((g = col_map_find(stems, stem)) == NULL) {
			if ((g = col_gpu_new(stem)) == NULL ||
			    col_map_put(stems, stem, g) != GT_OK) {
				col_gpu_free(g);
				rv = GT_ENOMEM;
				break;
			}
		}
		if (col_gpu_add_seg(g, seq) == NULL)
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
	return GT_OK;
fail:
	col_map_each(stems, stem_free_cb, NULL);
	col_map_free(stems);
	return rv;
}

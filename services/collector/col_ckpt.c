/* col_ckpt.c - stored-offset intervals and the atomic checkpoint file. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "col_ckpt.h"
#include "gt/gt_buf.h"
#include "gt/gt_json.h"

typedef struct ckpt_iv {
	uint64_t lo, hi; /* inclusive */
} ckpt_iv;

typedef struct ckpt_part {
	uint64_t epoch;
	uint32_t partition;
	ckpt_iv *iv;
	size_t   n, cap;
} ckpt_part;

struct col_ckpt {
	ckpt_part *parts;
	size_t     n, cap;
	uint64_t   cur, prev; /* epochs whose marks are kept (see col_ckpt_epoch) */
	int        have_cur, have_prev;
};

gt_err
col_ckpt_new(col_ckpt **out)
{
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return GT_ENOMEM;
	return GT_OK;
}

static void
ckpt_clear(col_ckpt *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->parts[i].iv);
	c->n = 0;
}

void
col_ckpt_free(col_ckpt *c)
{
	if (c == NULL)
		return;
	ckpt_clear(c);
	free(c->parts);
	free(c);
}

static ckpt_part *
ckpt_part_find(const col_ckpt *c, uint64_t epoch, uint32_t partition)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->parts[i].epoch == epoch && c->parts[i].partition == partition)
			return &c->parts[i];
	return NULL;
}

/* Index of the first interval with hi >= off (n when none). */
static size_t
ckpt_lower(const ckpt_part *p, uint64_t off)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (p->iv[mid].hi < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
col_ckpt_seen(const col_ckpt *c, uint64_t epoch, uint32_t partition, uint64_t offset)
{
	const ckpt_part *p = ckpt_part_find(c, epoch, partition);
	size_t           i;

	if (p == NULL || p->n == 0 || offset > p->iv[p->n - 1].hi)
		return 0;
	i = ckpt_lower(p, offset);
	return i < p->n && p->iv[i].lo <= offset;
}

gt_err
col_ckpt_mark(col_ckpt *c, uint64_t epoch, uint32_t partition, uint64_t offset)
{
	ckpt_part *p = ckpt_part_find(c, epoch, partition);
	size_t     i;

	if (p == NULL) {
		if (c->n == c->cap) {
			size_t     ncap = c->cap ? c->cap * 2 : 8;
			ckpt_part *np = realloc(c->parts, ncap * sizeof(*np));

			if (np == NULL)
				return GT_ENOMEM;
			c->parts = np;
			c->cap = ncap;
		}
		p = &c->parts[c->n++];
		memset(p, 0, sizeof(*p));
		p->epoch = epoch;
		p->partition = partition;
	}
	/* Fast path: the next offset in order. */
	if (p->n > 0 && p->iv[p->n - 1].hi + 1 == offset) {
		p->iv[p->n - 1].hi = offset;
		return GT_OK;
	}
	i = ckpt_lower(p, offset);
	if (i < p->n && p->iv[i].lo <= offset)
		return GT_OK; /* already marked */
	/* Extend a neighbour when adjacent. */
	if (i > 0 && p->iv[i - 1].hi + 1 == offset) {
		p->iv[i - 1].hi = offset;
		if (i < p->n && p->iv[i].lo == offset + 1) {
			p->iv[i - 1].hi = p->iv[i].hi;
			memmove(&p->iv[i], &p->iv[i + 1], (p->n - i - 1) * sizeof(ckpt_iv));
			p->n--;
		}
		return GT_OK;
	}
	if (i < p->n && p->iv[i].lo == offset + 1) {
		p->iv[i].lo = offset;
		return GT_OK;
	}
	if (p->n == p->cap) {
		size_t   ncap = p->cap ? p->cap * 2 : 4;
		ckpt_iv *niv = realloc(p->iv, ncap * sizeof(*niv));

		if (niv == NULL)
			return GT_ENOMEM;
		p->iv = niv;
		p->cap = ncap;
	}
	memmove(&p->iv[i + 1], &p->iv[i], (p->n - i) * sizeof(ckpt_iv));
	p->iv[i].lo = p->iv[i].hi = offset;
	p->n++;
	return GT_OK;
}

static int
id_cmp(const void *a, const void *b)
{
	const col_ckpt_id *x = a, *y = b;

	if (x->epoch != y->epoch)
		return x->epoch < y->epoch ? -1 : 1;
	if (x->partition != y->partition)
		return x->partition < y->partition ? -1 : 1;
	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return 0;
}

gt_err
col_ckpt_mark_many(col_ckpt *c, col_ckpt_id *ids, size_t n)
{
	size_t i;
	gt_err rv;

	if (n > 1)
		qsort(ids, n, sizeof(*ids), id_cmp);
	for (i = 0; i < n; i++)
		if ((rv = col_ckpt_mark(c, ids[i].epoch, ids[i].partition, ids[i].offset)) != GT_OK)
			return rv;
	return GT_OK;
}

int
col_ckpt_epoch(col_ckpt *c, uint64_t epoch)
{
	size_t i, k = 0;

	if (c->have_cur && c->cur == epoch)
		return 0;
	if (c->have_cur) {
		c->prev = c->cur;
		c->have_prev = 1;
	}
	c->cur = epoch;
	c->have_cur = 1;
	for (i = 0; i < c->n; i++) {
		uint64_t e = c->parts[i].epoch;

		if (e == epoch || (c->have_prev && e == c->prev))
			c->parts[k++] = c->parts[i];
		else
			free(c->parts[i].iv);
	}
	c->n = k;
	return 1;
}

size_t
col_ckpt_intervals(const col_ckpt *c)
{
	size_t i, n = 0;

	for (i = 0; i < c->n; i++)
		n += c->parts[i].n;
	return n;
}

gt_err
col_ckpt_encode(const col_ckpt *c, const col_ckpt_file *files, size_t nfiles, gt_buf *b)
{
	size_t i, j;
	int    f2;

	if (gt_buf_puts(b, "{\"version\":1,\"parts\":[") != GT_OK)
		return GT_ENOMEM;
	for (i = 0; i < c->n; i++) {
		const ckpt_part *p = &c->parts[i];

		if (gt_buf_printf(b,
		                  "%s{\"epoch\":\"%" PRIu64 "\",\"partition\":%" PRIu32 ",\"iv\":[",
		                  i ? "," : "", p->epoch, p->partition) != GT_OK)
			return GT_ENOMEM;
		for (j = 0; j < p->n; j++)
			if (gt_buf_printf(b, "%s[%" PRIu64 ",%" PRIu64 "]", j ? "," : "",
			                  p->iv[j].lo, p->iv[j].hi) != GT_OK)
				return GT_ENOMEM;
		if (gt_buf_puts(b, "]}") != GT_OK)
			return GT_ENOMEM;
	}
	if (gt_buf_puts(b, "],\"files\":{") != GT_OK)
		return GT_ENOMEM;
	for (i = 0, f2 = 1; i < nfiles; i++)
		if (gt_json_key(b, &f2, files[i].stem) != GT_OK ||
		    gt_buf_printf(b, "[%" PRIu64 ",%" PRIu64 "]", files[i].size, files[i].rot) !=
		        GT_OK)
			return GT_ENOMEM;
	if (gt_buf_puts(b, "}}\n") != GT_OK)
		return GT_ENOMEM;
	return GT_OK;
}

gt_err
col_ckpt_write(const char *path, const void *data, size_t len)
{
	char       *tmp;
	size_t      off;
	int         fd = -1;
	gt_err      rv = GT_EIO;
	ssize_t     w;
	const char *p = data;

	if ((tmp = malloc(strlen(path) + 8)) == NULL)
		return GT_ENOMEM;
	sprintf(tmp, "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		goto done;
	for (off = 0; off < len; off += (size_t)w) {
		if ((w = write(fd, p + off, len - off)) < 0) {
			if (errno == EINTR) {
				w = 0;
				continue;
			}
			goto done;
		}
	}
	if (fsync(fd) != 0)
		goto done;
	close(fd);
	fd = -1;
	if (rename(tmp, path) != 0)
		goto done;
	rv = GT_OK;
done:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	return rv;
}

gt_err
col_ckpt_save(const col_ckpt *c, const char *path, const col_ckpt_file *files, size_t nfiles)
{
	gt_buf b;
	gt_err rv;

	gt_buf_init(&b);
	if ((rv = col_ckpt_encode(c, files, nfiles, &b)) == GT_OK)
		rv = col_ckpt_write(path, b.data, b.len);
	gt_buf_fini(&b);
	return rv;
}

gt_err
col_ckpt_load(col_ckpt *c, const char *path, col_ckpt_file **files, size_t *nfiles)
{
	json_t        *o, *parts, *p, *iv, *fo, *v;
	json_error_t   jerr;
	size_t         i, j, n = 0;
	const char    *k;
	col_ckpt_file *fv = NULL;
	gt_err         rv = GT_ECORRUPT;

	*files = NULL;
	*nfiles = 0;
	if (access(path, F_OK) != 0)
		return GT_ENOENT;
	ckpt_clear(c);
	if ((o = json_load_file(path, 0, &jerr)) == NULL)
		return GT_ECORRUPT;
	parts = json_object_get(o, "parts");
	fo = json_object_get(o, "files");
	if (!json_is_array(parts) || !json_is_object(fo))
		goto done;
	json_array_foreach(parts, i, p)
	{
		const char        *es = json_string_value(json_object_get(p, "epoch"));
		unsigned long long e;
		json_t            *lh;

		iv = json_object_get(p, "iv");
		if (es == NULL || sscanf(es, "%llu", &e) != 1 || !json_is_array(iv) ||
		    !json_is_integer(json_object_get(p, "partition")))
			goto done;
		json_array_foreach(iv, j, lh)
		{
			json_int_t lo = json_integer_value(json_array_get(lh, 0));
			json_int_t hi = json_integer_value(json_array_get(lh, 1));
			if (lo < 0 || hi < lo)
				goto done;
			/* mark lo, then widen that interval to hi (merging what it covers) */
			if (col_ckpt_mark(
			        c, e, (uint32_t)json_integer_value(json_object_get(p, "partition")),
			        (uint64_t)lo) != GT_OK)
				goto done;
			{
				ckpt_part *pp = ckpt_part_find(
				    c, e,
				    (uint32_t)json_integer_value(json_object_get(p, "partition")));
				size_t ix = ckpt_lower(pp, (uint64_t)lo);

				if ((uint64_t)hi > pp->iv[ix].hi)
					pp->iv[ix].hi = (uint64_t)hi;
				/* swallow following intervals now covered */
				while (ix + 1 < pp->n && pp->iv[ix + 1].lo <= pp->iv[ix].hi + 1) {
					if (pp->iv[ix + 1].hi > pp->iv[ix].hi)
						pp->iv[ix].hi = pp->iv[ix + 1].hi;
					memmove(&pp->iv[ix + 1], &pp->iv[ix + 2],
					        (pp->n - ix - 2) * sizeof(ckpt_iv));
					pp->n--;
				}
			}
		}
	}
	if (json_object_size(fo) > 0 && (fv = calloc(json_object_size(fo), sizeof(*fv))) == NULL) {
		rv = GT_ENOMEM;
		goto done;
	}
	json_object_foreach(fo, k, v)
	{
		if (json_is_integer(v)) {
			fv[n].size = (uint64_t)json_integer_value(v);
			fv[n].rot = 0;
		} else if (json_is_array(v) && json_is_integer(json_array_get(v, 0)) &&
		           json_is_integer(json_array_get(v, 1))) {
			fv[n].size = (uint64_t)json_integer_value(json_array_get(v, 0));
			fv[n].rot = (uint64_t)json_integer_value(json_array_get(v, 1));
		} else {
			goto done;
		}
		if ((fv[n].stem = strdup(k)) == NULL)
			goto done;
		n++;
	}
	*files = fv;
	*nfiles = n;
	fv = NULL;
	rv = GT_OK;
done:
	if (rv != GT_OK)
		ckpt_clear(c);
	col_ckpt_files_free(fv, n);
	json_decref(o);
	return rv;
}

void
col_ckpt_files_free(col_ckpt_file *files, size_t n)
{
	size_t i;

	if (files == NULL)
		return;
	for (i = 0; i < n; i++)
		free(files[i].stem);
	free(files);
}

/* mq_wal_recover.c - replay of the WAL at start (main thread, before the writer runs):
 * segments in order, each record decoded and handed to the broker's callbacks, while the
 * WAL rebuilds what its segment heads need (declarations, live dead letters) and which
 * offsets each segment holds. A torn or corrupt record ends its segment: the file is
 * truncated there (wal.truncated) and replay goes on with the next segment. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gt/gt_log.h"
#include "mq_wal_int.h"

typedef struct rec_ctx {
	mq_wal               *w;
	const mq_wal_rec_ops *ops;
	void                 *arg;
	mq_wal_segment       *seg;
	mq_wal_dec            dec;
} rec_ctx;

/* PUBLISH / REPLAY: every message, then the producer's sequence. */
static gt_err
rec_publish(rec_ctx *c, mq_wal_rec *r)
{
	uint32_t       part;
	uint64_t       off;
	const uint8_t *msg;
	size_t         len;
	gt_err         rv;

	while (mq_wal_rec_msg(r, &part, &off, &msg, &len)) {
		if ((rv = c->ops->msg(c->arg, r->topic, part, off, msg, len, r->ts_ns)) != GT_OK ||
		    (rv = mq_wal_head_end(&c->w->decl, r->topic, part, off + 1)) != GT_OK)
			return rv;
		mq_wal_mark_add(&c->seg->m, r->topic, part, off);
	}
	if (r->name[0] && r->seq > 0) {
		if ((rv = mq_wal_head_producer(&c->w->decl, r->topic, r->name, r->seq)) != GT_OK)
			return rv;
		return c->ops->producer(c->arg, r->topic, r->name, r->seq);
	}
	return GT_OK;
}

static gt_err
rec_trim(rec_ctx *c, uint32_t topic, uint64_t below)
{
	mq_wal_head_trim(&c->w->decl, topic, below);
	return c->ops->dlq_trim ? c->ops->dlq_trim(c->arg, topic, below) : GT_OK;
}

static gt_err
rec_apply(void *arg, const uint8_t *p, size_t len)
{
	rec_ctx   *c = arg;
	mq_wal    *w = c->w;
	mq_wal_rec r;
	uint32_t   part;
	uint64_t   off, cnt;
	gt_err     rv;

	if ((rv = mq_wal_rec_decode(&c->dec, p, len, &r)) != GT_OK)
		return rv;
	switch (r.type) {
	case MQ_WAL_TOPIC:
		mq_wal_head_topic(&w->decl, r.topic, r.name);
		return c->ops->topic(c->arg, r.topic, r.name);
	case MQ_WAL_GROUP:
		mq_wal_head_group(&w->decl, r.topic, r.name);
		return c->ops->group(c->arg, r.topic, r.name);
	case MQ_WAL_GROUP_DEL:
		mq_wal_head_group_deleted(&w->decl, r.topic, r.name);
		return c->ops->group_deleted ? c->ops->group_deleted(c->arg, r.topic, r.name)
		                             : GT_OK;
	case MQ_WAL_PUBLISH:
		return rec_publish(c, &r);
	case MQ_WAL_REPLAY:
		if ((rv = rec_publish(c, &r)) != GT_OK)
			return rv;
		return rec_trim(c, r.topic, r.below);
	case MQ_WAL_DLQ_TRIM:
		return rec_trim(c, r.topic, r.below);
	case MQ_WAL_PART_END:
		if ((rv = mq_wal_head_end(&w->decl, r.topic, r.part, r.off)) != GT_OK)
			return rv;
		return c->ops->part_end ? c->ops->part_end(c->arg, r.topic, r.part, r.off) : GT_OK;
	case MQ_WAL_PRODUCER:
		if ((rv = mq_wal_head_producer(&w->decl, r.topic, r.name, r.seq)) != GT_OK)
			return rv;
		return c->ops->producer(c->arg, r.topic, r.name, r.seq);
	case MQ_WAL_ACK:
		while (mq_wal_rec_run(&r, &part, &off, &cnt))
			for (uint64_t k = 0; k < cnt; k++)
				if ((rv = c->ops->ack(c->arg, r.topic, r.name, part, off + k)) !=
				    GT_OK)
					return rv;
		return GT_OK;
	case MQ_WAL_DELIVERED:
		while (c->ops->attempt != NULL && mq_wal_rec_run(&r, &part, &off, &cnt))
			for (uint64_t k = 0; k < cnt; k++)
				if ((rv = c->ops->attempt(c->arg, r.topic, r.name, part, off + k,
				                          1)) != GT_OK)
					return rv;
		return GT_OK;
	case MQ_WAL_ATTEMPT:
		return c->ops->attempt
		           ? c->ops->attempt(c->arg, r.topic, r.name, r.part, r.off, r.attempts)
		           : GT_OK;
	case MQ_WAL_DEAD:
	case MQ_WAL_LETTER:
		if ((rv = mq_wal_head_letter(&w->decl, r.topic, p, len, r.dead.dlq_offset)) !=
		    GT_OK)
			return rv;
		return c->ops->dead ? c->ops->dead(c->arg, r.topic, &r.dead, r.type == MQ_WAL_DEAD)
		                    : GT_OK;
	default:
		return GT_ECORRUPT;
	}
}

static int
seg_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static gt_err
read_file(const char *path, uint8_t **data, size_t *len)
{
	int         fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t      off = 0;

	*data = NULL;
	*len = 0;
	if (fd < 0)
		return gt_err_from_errno(errno);
	if (fstat(fd, &st) != 0) {
		close(fd);
		return gt_err_from_errno(errno);
	}
	if ((*data = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return GT_ENOMEM;
	}
	while (off < (size_t)st.st_size) {
		ssize_t r = read(fd, *data + off, (size_t)st.st_size - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		off += (size_t)r;
	}
	close(fd);
	*len = off;
	return GT_OK;
}

gt_err
mq_wal_recover(mq_wal *w, const mq_wal_rec_ops *ops, void *arg)
{
	DIR           *d = opendir(w->dir);
	struct dirent *de;
	uint64_t      *seqs = NULL;
	size_t         nseqs = 0, cap = 0;
	rec_ctx        c;
	uint64_t       records_bytes = 0;
	gt_err         rv = GT_OK;

	if (d == NULL)
		return gt_err_from_errno(errno);
	memset(&c, 0, sizeof(c));
	c.w = w;
	c.ops = ops;
	c.arg = arg;
	while ((de = readdir(d)) != NULL) {
		unsigned long long seq;
		char               tail;
		if (sscanf(de->d_name, "wal-%llu.lo%c", &seq, &tail) != 2 || tail != 'g')
			continue;
		if (nseqs == cap) {
			cap = cap ? cap * 2 : 16;
			uint64_t *ns = realloc(seqs, cap * sizeof(*ns));
			if (ns == NULL) {
				closedir(d);
				free(seqs);
				return GT_ENOMEM;
			}
			seqs = ns;
		}
		seqs[nseqs++] = seq;
	}
	closedir(d);
	if (nseqs > 1)
		qsort(seqs, nseqs, sizeof(*seqs), seg_cmp);
	for (size_t i = 0; i < nseqs; i++) {
		char     path[4200];
		uint8_t *data;
		size_t   len, valid;
		gt_err   ferr;

		mq_wal_seg_path(w, seqs[i], path, sizeof(path));
		if ((rv = read_file(path, &data, &len)) != GT_OK) {
			GT_LOGE("wal.read_failed", GT_KV_STR("path", path), GT_KV_ERR(rv));
			break;
		}
		if ((c.seg = mq_wal_seg_push(w, seqs[i])) == NULL) {
			free(data);
			rv = GT_ENOMEM;
			break;
		}
		valid = mq_wal_scan(data, len, rec_apply, &c, &ferr);
		free(data);
		if (ferr != GT_OK && ferr != GT_ECORRUPT) {
			GT_LOGE("wal.replay_failed", GT_KV_STR("path", path), GT_KV_ERR(ferr));
			rv = ferr;
			break;
		}
		if (valid < len) {
			GT_LOGW("wal.truncated", GT_KV_STR("path", path),
			        GT_KV_UINT("valid_bytes", valid),
			        GT_KV_UINT("dropped_bytes", len - valid),
			        GT_KV_BOOL("last_segment", i + 1 == nseqs));
			w->truncated += len - valid;
			if (truncate(path, (off_t)valid) != 0)
				GT_LOGE("wal.truncate_failed", GT_KV_STR("path", path),
				        GT_KV_STR("error", strerror(errno)));
		}
		records_bytes += valid;
		w->seg_seq = seqs[i];
	}
	mq_wal_dec_fini(&c.dec);
	w->total_bytes = records_bytes;
	GT_LOGI("wal.recovered", GT_KV_STR("dir", w->dir), GT_KV_UINT("segments", nseqs),
	        GT_KV_UINT("bytes", records_bytes), GT_KV_UINT("truncated_bytes", w->truncated));
	free(seqs);
	return rv;
}

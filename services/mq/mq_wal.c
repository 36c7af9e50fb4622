/* mq_wal.c - segment files, group commit by a writer thread, recovery, segment deletion.
 *
 * Appends (any RPC worker, under its topic lock) encode one framed record into the current
 * buffer under w->mu and return a logical sequence number (lsn = bytes appended so far).
 * The writer thread swaps buffers, write()s, fdatasync()s per policy and publishes the
 * durable lsn; mq_wal_wait blocks on a condition variable until then. Only the writer
 * touches segment files after start; the segment list (with the highest offset per
 * partition each segment holds) is the writer's alone. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gt/gt_buf.h"
#include "gt/gt_hash.h"
#include "gt/gt_log.h"
#include "gt/gt_time.h"
#include "mq_codec.h"
#include "mq_server.h"
#include "mq_wal.h"

enum { REC_TOPIC = 1, REC_PUBLISH = 2, REC_ACK = 3, REC_GROUP = 4, REC_GROUP_DEL = 5 };

#define WAL_MAX_REC (256u << 20)

typedef struct seg_mark {
	uint32_t topic, part;
	uint64_t max_off;
} seg_mark;

typedef struct marks {
	seg_mark *v;
	size_t    n, cap;
} marks;

typedef struct segment {
	struct segment *next;
	uint64_t        seq;
	marks           m;
} segment;

typedef struct name_ent {
	uint32_t topic;
	char    *name;
} name_ent;

struct mq_wal {
	mq_wal_cfg      cfg;
	char           *dir;
	pthread_mutex_t mu;
	pthread_cond_t  cv_work, cv_done;
	gt_buf          cur, spare;
	marks           cur_marks, spare_marks;
	uint64_t        appended; /* lsn of the end of cur */
	uint64_t        durable;  /* lsn durable under the policy */
	int             failed;
	int             stop;
	int             started;
	pthread_t       writer;
	/* declarations re-written at the head of every segment */
	name_ent *topics, *groups;
	size_t    ntopics, ngroups;
	/* writer-owned */
	int            fd;
	uint64_t       seg_seq;
	uint64_t       seg_size;
	segment       *segs, *segs_tail;
	int64_t        last_sync, last_gc;
	mq_wal_done_fn done_fn;
	void          *done_arg;
	/* stats */
	atomic_ullong written, fsyncs, truncated, total_bytes,
	    nsegs; /* writer-updated; read by stats */
};

/* ---- framing ---- */

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

gt_err
mq_wal_frame(gt_buf *buf, const void *payload, size_t len)
{
	uint8_t hdr[8];
	gt_err  rv;

	if (len > WAL_MAX_REC)
		return GT_EINVAL;
	put_u32(hdr, (uint32_t)len);
	put_u32(hdr + 4, gt_crc32c(0, payload, len));
	if ((rv = gt_buf_append(buf, hdr, 8)) != GT_OK)
		return rv;
	return gt_buf_append(buf, payload, len);
}

size_t
mq_wal_scan(const uint8_t *data, size_t len, gt_err (*fn)(void *, const uint8_t *, size_t),
            void *arg, gt_err *fn_err)
{
	size_t off = 0;

	if (fn_err)
		*fn_err = GT_OK;
	while (len - off >= 8) {
		uint32_t n = get_u32(data + off), crc = get_u32(data + off + 4);
		if (n == 0 || n > WAL_MAX_REC || n > len - off - 8)
			break;
		if (gt_crc32c(0, data + off + 8, n) != crc)
			break;
		if (fn != NULL) {
			gt_err rv = fn(arg, data + off + 8, n);
			if (rv != GT_OK) {
				if (fn_err)
					*fn_err = rv;
				break;
			}
		}
		off += 8 + n;
	}
	return off;
}

/* Record body builders: the frame header is reserved first, filled at the end. */
static size_t
rec_begin(gt_buf *b)
{
	size_t at = b->len;
	gt_buf_reserve(b, 8);
	b->len += 8;
	return at;
}

static gt_err
rec_end(gt_buf *b, size_t at)
{
	size_t n = b->len - at - 8;

	if (n > WAL_MAX_REC) {
		b->len = at;
		return GT_EINVAL;
	}
	put_u32((uint8_t *)b->data + at, (uint32_t)n);
	put_u32((uint8_t *)b->data + at + 4, gt_crc32c(0, b->data + at + 8, n));
	return GT_OK;
}

static gt_err
put_var(gt_buf *b, uint64_t v)
{
	uint8_t tmp[10];
	return gt_buf_append(b, tmp, gt_pb_put_varint(tmp, v));
}

static gt_err
put_str(gt_buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	gt_err rv = put_var(b, n);
	return rv == GT_OK && n ? gt_buf_append(b, s, n) : rv;
}

static void
marks_add(marks *m, uint32_t topic, uint32_t part, uint64_t off)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].topic == topic && m->v[i].part == part) {
			if (off > m->v[i].max_off)
				m->v[i].max_off = off;
			return;
		}
	if (m->n == m->cap) {
		size_t    nc = m->cap ? m->cap * 2 : 16;
		seg_mark *nv = realloc(m->v, nc * sizeof(*nv));
		if (nv == NULL)
			return; /* the segment will just never be deleted */
		m->v = nv;
		m->cap = nc;
	}
	m->v[m->n].topic = topic;
	m->v[m->n].part = part;
	m->v[m->n].max_off = off;
	m->n++;
}

static void
marks_merge(marks *dst, const marks *src)
{
	for (size_t i = 0; i < src->n; i++)
		marks_add(dst, src->v[i].topic, src->v[i].part, src->v[i].max_off);
}

/* ---- open / epoch ---- */

static gt_err
mkdir_p(const char *path)
{
	char   tmp[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(tmp))
		return GT_EINVAL;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = 0;
			if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
				return gt_err_from_errno(errno);
			*p = '/';
		}
	}
	if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
		return gt_err_from_errno(errno);
	return GT_OK;
}

static void
fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

static gt_err
epoch_load(mq_wal *w, uint64_t *epoch)
{
	char               path[4200], tmp[4200], buf[64];
	FILE              *f;
	unsigned long long e = 0;

	snprintf(path, sizeof(path), "%s/epoch", w->dir);
	if ((f = fopen(path, "r")) != NULL) {
		int ok =
		    fgets(buf, sizeof(buf), f) != NULL && sscanf(buf, "%llu", &e) == 1 && e != 0;
		fclose(f);
		if (ok) {
			*epoch = e;
			return GT_OK;
		}
		GT_LOGW("wal.bad_epoch_file", GT_KV_STR("path", path));
	}
	f = fopen("/dev/urandom", "rb");
	if (f == NULL || fread(&e, sizeof(e), 1, f) != 1)
		e = (uint64_t)gt_now_ns();
	if (f)
		fclose(f);
	e = (e >> 1) | 1;
	snprintf(tmp, sizeof(tmp), "%s/epoch.tmp", w->dir);
	if ((f = fopen(tmp, "w")) == NULL)
		return gt_err_from_errno(errno);
	fprintf(f, "%llu\n", e);
	fflush(f);
	fsync(fileno(f));
	fclose(f);
	if (rename(tmp, path) != 0)
		return gt_err_from_errno(errno);
	fsync_dir(w->dir);
	*epoch = e;
	return GT_OK;
}

gt_err
mq_wal_open(mq_wal **out, const mq_wal_cfg *cfg, uint64_t *epoch)
{
	mq_wal *w;
	gt_err  rv;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return GT_ENOMEM;
	w->cfg = *cfg;
	w->fd = -1;
	w->dir = strdup(cfg->dir);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv_work, NULL);
	pthread_cond_init(&w->cv_done, NULL);
	gt_buf_init(&w->cur);
	gt_buf_init(&w->spare);
	if (w->dir == NULL) {
		mq_wal_close(w);
		return GT_ENOMEM;
	}
	if ((rv = mkdir_p(w->dir)) != GT_OK || (rv = epoch_load(w, epoch)) != GT_OK) {
		GT_LOGE("wal.open_failed", GT_KV_STR("dir", w->dir), GT_KV_ERR(rv));
		mq_wal_close(w);
		return rv;
	}
	*out = w;
	return GT_OK;
}

/* ---- declarations ---- */

static gt_err
names_add(name_ent **v, size_t *n, uint32_t topic, const char *name)
{
	name_ent *nv;

	for (size_t i = 0; i < *n; i++)
		if ((*v)[i].topic == topic && strcmp((*v)[i].name, name) == 0)
			return GT_OK;
	if ((nv = realloc(*v, (*n + 1) * sizeof(*nv))) == NULL)
		return GT_ENOMEM;
	*v = nv;
	nv[*n].topic = topic;
	if ((nv[*n].name = strdup(name)) == NULL)
		return GT_ENOMEM;
	(*n)++;
	return GT_OK;
}

static gt_err
enc_decl(gt_buf *b, int type, uint32_t topic, const char *name)
{
	size_t  at = rec_begin(b);
	uint8_t t = (uint8_t)type;

	gt_buf_append(b, &t, 1);
	put_var(b, topic);
	put_str(b, name);
	return rec_end(b, at);
}

/* ---- appends ---- */

static void
wal_kick(mq_wal *w)
{
	pthread_cond_signal(&w->cv_work);
}

gt_err
mq_wal_topic(mq_wal *w, uint32_t topic_id, const char *name)
{
	gt_err rv;

	pthread_mutex_lock(&w->mu);
	rv = names_add(&w->topics, &w->ntopics, topic_id, name);
	if (rv == GT_OK && w->started) {
		rv = enc_decl(&w->cur, REC_TOPIC, topic_id, name);
		wal_kick(w);
	}
	pthread_mutex_unlock(&w->mu);
	return rv;
}

gt_err
mq_wal_group(mq_wal *w, uint32_t topic_id, const char *group)
{
	gt_err rv;

	pthread_mutex_lock(&w->mu);
	rv = names_add(&w->groups, &w->ngroups, topic_id, group);
	if (rv == GT_OK && w->started) {
		rv = enc_decl(&w->cur, REC_GROUP, topic_id, group);
		wal_kick(w);
	}
	pthread_mutex_unlock(&w->mu);
	return rv;
}

static void
names_remove(name_ent *v, size_t *n, uint32_t topic, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (v[i].topic == topic && strcmp(v[i].name, name) == 0) {
			free(v[i].name);
			memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof(*v));
			(*n)--;
			return;
		}
}

gt_err
mq_wal_group_deleted(mq_wal *w, uint32_t topic_id, const char *group)
{
	gt_err rv = GT_OK;

	pthread_mutex_lock(&w->mu);
	names_remove(w->groups, &w->ngroups, topic_id, group);
	if (w->started) {
		rv = enc_decl(&w->cur, REC_GROUP_DEL, topic_id, group);
		wal_kick(w);
	}
	pthread_mutex_unlock(&w->mu);
	return rv;
}

/* The lsn of everything appended so far (cur's end). Under mu. */
static uint64_t
wal_lsn(mq_wal *w)
{
	return w->appended + w->cur.len;
}

gt_err
mq_wal_publish(mq_wal *w, uint32_t topic_id, const char *topic, const char *producer, uint64_t seq,
               const ProtobufCBinaryData *msgs, size_t n, const mq_pos *pos, uint64_t *lsn,
               int64_t ts_ns)
{
	gt_buf  *b;
	size_t   at;
	uint8_t  t = REC_PUBLISH;
	uint64_t firsts[64];
	uint64_t seen = 0;
	unsigned nparts = 0;
	gt_err   rv;

	(void)topic;
	pthread_mutex_lock(&w->mu);
	if (w->failed) {
		pthread_mutex_unlock(&w->mu);
		return GT_EIO;
	}
	b = &w->cur;
	at = rec_begin(b);
	for (size_t i = 0; i < n; i++) {
		uint32_t p = pos[i].partition & 63;
		if (!(seen & (UINT64_C(1) << p))) {
			seen |= UINT64_C(1) << p;
			firsts[p] = pos[i].offset;
			nparts++;
		}
		marks_add(&w->cur_marks, topic_id, pos[i].partition, pos[i].offset);
	}
	gt_buf_append(b, &t, 1);
	put_var(b, topic_id);
	put_str(b, producer);
	put_var(b, seq);
	put_var(b, (uint64_t)ts_ns);
	put_var(b, nparts);
	for (unsigned p = 0; p < 64; p++)
		if (seen & (UINT64_C(1) << p)) {
			put_var(b, p);
			put_var(b, firsts[p]);
		}
	put_var(b, n);
	for (size_t i = 0; i < n; i++) {
		put_var(b, pos[i].partition);
		put_var(b, msgs[i].len);
		rv = gt_buf_append(b, msgs[i].data, msgs[i].len);
		if (rv != GT_OK)
			break;
	}
	rv = rec_end(b, at);
	*lsn = wal_lsn(w);
	wal_kick(w);
	pthread_mutex_unlock(&w->mu);
	return rv;
}

gt_err
mq_wal_ack(mq_wal *w, uint32_t topic_id, const char *group, const mq_id *ids, size_t n)
{
	gt_buf *b;
	size_t  at, nruns_at, runs = 0;
	uint8_t t = REC_ACK;
	gt_err  rv;

	if (n == 0)
		return GT_OK;
	pthread_mutex_lock(&w->mu);
	b = &w->cur;
	at = rec_begin(b);
	gt_buf_append(b, &t, 1);
	put_var(b, topic_id);
	put_str(b, group);
	/* Runs of consecutive offsets in one partition: (partition, first, count). The run count
	 * is written last as a fixed 5-byte varint placeholder. */
	nruns_at = b->len;
	gt_buf_append(b, "\x80\x80\x80\x80\x00", 5);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && ids[j].partition == ids[i].partition &&
		       ids[j].offset == ids[j - 1].offset + 1)
			j++;
		put_var(b, ids[i].partition);
		put_var(b, ids[i].offset);
		put_var(b, j - i);
		runs++;
		i = j;
	}
	{
		uint8_t *p = (uint8_t *)b->data + nruns_at;
		uint64_t v = runs;
		for (int k = 0; k < 4; k++) {
			p[k] = (uint8_t)((v & 0x7f) | 0x80);
			v >>= 7;
		}
		p[4] = (uint8_t)(v & 0x7f);
	}
	rv = rec_end(b, at);
	wal_kick(w);
	pthread_mutex_unlock(&w->mu);
	return rv;
}

gt_err
mq_wal_wait(mq_wal *w, uint64_t lsn)
{
	gt_err rv = GT_OK;

	pthread_mutex_lock(&w->mu);
	while (w->durable < lsn && !w->failed && !w->stop)
		pthread_cond_wait(&w->cv_done, &w->mu);
	if (w->durable < lsn)
		rv = GT_EIO;
	pthread_mutex_unlock(&w->mu);
	return rv;
}

/* ---- segments (writer thread, or main thread before start) ---- */

static void
seg_path(const mq_wal *w, uint64_t seq, char *buf, size_t len)
{
	snprintf(buf, len, "%s/wal-%016" PRIu64 ".log", w->dir, seq);
}

static segment *
seg_push(mq_wal *w, uint64_t seq)
{
	segment *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->seq = seq;
	if (w->segs_tail)
		w->segs_tail->next = s;
	else
		w->segs = s;
	w->segs_tail = s;
	w->nsegs++;
	return s;
}

static gt_err
seg_open_new(mq_wal *w)
{
	char     path[4200];
	gt_buf   hdr;
	segment *s;
	gt_err   rv = GT_OK;

	if (w->fd >= 0) {
		fdatasync(w->fd);
		close(w->fd);
		w->fd = -1;
	}
	w->seg_seq++;
	seg_path(w, w->seg_seq, path, sizeof(path));
	if ((w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644)) < 0)
		return gt_err_from_errno(errno);
	if ((s = seg_push(w, w->seg_seq)) == NULL)
		return GT_ENOMEM;
	(void)s;
	w->seg_size = 0;
	gt_buf_init(&hdr);
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < w->ntopics; i++)
		enc_decl(&hdr, REC_TOPIC, w->topics[i].topic, w->topics[i].name);
	for (size_t i = 0; i < w->ngroups; i++)
		enc_decl(&hdr, REC_GROUP, w->groups[i].topic, w->groups[i].name);
	pthread_mutex_unlock(&w->mu);
	if (hdr.len > 0 && write(w->fd, hdr.data, hdr.len) != (ssize_t)hdr.len)
		rv = GT_EIO;
	w->seg_size += hdr.len;
	w->total_bytes += hdr.len;
	gt_buf_fini(&hdr);
	fsync_dir(w->dir);
	GT_LOGD("wal.segment_opened", GT_KV_STR("path", path));
	return rv;
}

/* Delete the oldest segments whose every message is done for every group. */
static void
seg_gc(mq_wal *w)
{
	while (w->segs != NULL && w->segs != w->segs_tail && w->done_fn != NULL) {
		segment    *s = w->segs;
		char        path[4200];
		struct stat st;
		for (size_t i = 0; i < s->m.n; i++)
			if (!w->done_fn(w->done_arg, s->m.v[i].topic, s->m.v[i].part,
			                s->m.v[i].max_off))
				return;
		seg_path(w, s->seq, path, sizeof(path));
		if (stat(path, &st) == 0 && w->total_bytes >= (uint64_t)st.st_size)
			w->total_bytes -= (uint64_t)st.st_size;
		if (unlink(path) != 0 && errno != ENOENT)
			return;
		GT_LOGI("wal.segment_deleted", GT_KV_STR("path", path));
		w->segs = s->next;
		w->nsegs--;
		free(s->m.v);
		free(s);
	}
}

static void
wal_fail(mq_wal *w, const char *what)
{
	GT_LOGE("wal.io_failed", GT_KV_STR("op", what), GT_KV_STR("error", strerror(errno)));
	pthread_mutex_lock(&w->mu);
	w->failed = 1;
	pthread_cond_broadcast(&w->cv_done);
	pthread_mutex_unlock(&w->mu);
}

static void
cond_wait_ns(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ns += ts.tv_nsec;
	ts.tv_sec += ns / GT_NS_PER_S;
	ts.tv_nsec = ns % GT_NS_PER_S;
	pthread_cond_timedwait(cv, mu, &ts);
}

static void *
writer_main(void *arg)
{
	mq_wal *w = arg;
	int     unsynced = 0;

	for (;;) {
		uint64_t end;
		int      stop;
		int64_t  now;
		gt_buf   tb;
		marks    tm;

		pthread_mutex_lock(&w->mu);
		if (w->cur.len == 0 && !w->stop) {
			int64_t wait = 100 * GT_NS_PER_MS;
			if (unsynced && w->cfg.fsync == MQ_FSYNC_INTERVAL) {
				wait = w->last_sync + w->cfg.fsync_interval - gt_mono_ns();
				if (wait < 0)
					wait = 0;
			}
			if (wait > 0)
				cond_wait_ns(&w->cv_work, &w->mu, wait);
		}
		tb = w->cur;
		w->cur = w->spare;
		w->spare = tb;
		tm = w->cur_marks;
		w->cur_marks = w->spare_marks;
		w->spare_marks = tm;
		w->appended += w->spare.len;
		end = w->appended;
		stop = w->stop;
		pthread_mutex_unlock(&w->mu);

		if (w->spare.len > 0) {
			size_t off = 0;
			while (off < w->spare.len) {
				ssize_t r = write(w->fd, w->spare.data + off, w->spare.len - off);
				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0) {
					wal_fail(w, "write");
					return NULL;
				}
				off += (size_t)r;
			}
			w->seg_size += w->spare.len;
			w->total_bytes += w->spare.len;
			w->written += w->spare.len;
			marks_merge(&w->segs_tail->m, &w->spare_marks);
			w->spare_marks.n = 0;
			gt_buf_reset(&w->spare);
			if (w->spare.cap > (64u << 20)) {
				gt_buf_fini(&w->spare);
				gt_buf_init(&w->spare);
			}
			unsynced = 1;
		}
		now = gt_mono_ns();
		if (unsynced && (w->cfg.fsync == MQ_FSYNC_ALWAYS || stop ||
		                 (w->cfg.fsync == MQ_FSYNC_INTERVAL &&
		                  now - w->last_sync >= w->cfg.fsync_interval))) {
			if (fdatasync(w->fd) != 0) {
				wal_fail(w, "fdatasync");
				return NULL;
			}
			w->fsyncs++;
			w->last_sync = now;
			unsynced = 0;
		}
		pthread_mutex_lock(&w->mu);
		w->durable = end; /* always: fsynced above; interval and never: written */
		pthread_cond_broadcast(&w->cv_done);
		pthread_mutex_unlock(&w->mu);
		if (w->seg_size >= w->cfg.segment_bytes && !stop) {
			if (seg_open_new(w) != GT_OK) {
				wal_fail(w, "open segment");
				return NULL;
			}
			unsynced = 0; /* seg_open_new synced the old one */
		}
		if (now - w->last_gc >= 100 * GT_NS_PER_MS) {
			seg_gc(w);
			w->last_gc = now;
		}
		if (stop) {
			int empty;
			pthread_mutex_lock(&w->mu);
			empty = w->cur.len == 0;
			pthread_mutex_unlock(&w->mu);
			if (empty)
				return NULL;
		}
	}
}

/* ---- recovery ---- */

typedef struct rec_ctx {
	mq_wal               *w;
	const mq_wal_rec_ops *ops;
	void                 *arg;
	segment              *seg;
	char                  name[512];
	char                  name2[512];
} rec_ctx;

static gt_err
get_str(const uint8_t **p, const uint8_t *end, char *out, size_t outlen)
{
	uint64_t n;

	if (gt_pb_get_varint(p, end, &n) != GT_OK || n > (uint64_t)(end - *p) || n >= outlen)
		return GT_ECORRUPT;
	memcpy(out, *p, n);
	out[n] = 0;
	*p += n;
	return GT_OK;
}

#define GETV(var)                                                                                  \
	do {                                                                                       \
		uint64_t v_;                                                                       \
		if (gt_pb_get_varint(&p, end, &v_) != GT_OK)                                          \
			return GT_ECORRUPT;                                                        \
		var = v_;                                                                          \
	} while (0)

static gt_err
rec_apply(void *arg, const uint8_t *p, size_t len)
{
	rec_ctx       *c = arg;
	const uint8_t *end = p + len;
	uint8_t        type = *p++;
	uint64_t       topic, n, seq, ts, nparts, part, off, cnt;
	uint64_t       next[64];
	gt_err         rv;

	GETV(topic);
	switch (type) {
	case REC_TOPIC:
	case REC_GROUP:
		if (get_str(&p, end, c->name, sizeof(c->name)) != GT_OK)
			return GT_ECORRUPT;
		if (type == REC_TOPIC) {
			names_add(&c->w->topics, &c->w->ntopics, (uint32_t)topic, c->name);
			return c->ops->topic(c->arg, (uint32_t)topic, c->name);
		}
		names_add(&c->w->groups, &c->w->ngroups, (uint32_t)topic, c->name);
		return c->ops->group(c->arg, (uint32_t)topic, c->name);
	case REC_GROUP_DEL:
		if (get_str(&p, end, c->name, sizeof(c->name)) != GT_OK)
			return GT_ECORRUPT;
		names_remove(c->w->groups, &c->w->ngroups, (uint32_t)topic, c->name);
		return c->ops->group_deleted
		           ? c->ops->group_deleted(c->arg, (uint32_t)topic, c->name)
		           : GT_OK;
	case REC_PUBLISH:
		if (get_str(&p, end, c->name, sizeof(c->name)) != GT_OK)
			return GT_ECORRUPT;
		GETV(seq);
		GETV(ts);
		GETV(nparts);
		memset(next, 0, sizeof(next));
		for (uint64_t i = 0; i < nparts; i++) {
			GETV(part);
			GETV(off);
			if (part >= 64)
				return GT_ECORRUPT;
			next[part] = off;
		}
		GETV(n);
		for (uint64_t i = 0; i < n; i++) {
			uint64_t ml;
			GETV(part);
			GETV(ml);
			if (part >= 64 || ml > (uint64_t)(end - p))
				return GT_ECORRUPT;
			if ((rv = c->ops->msg(c->arg, (uint32_t)topic, (uint32_t)part, next[part],
			                      p, ml, (int64_t)ts)) != GT_OK)
				return rv;
			marks_add(&c->seg->m, (uint32_t)topic, (uint32_t)part, next[part]);
			next[part]++;
			p += ml;
		}
		if (c->name[0] && seq > 0)
			return c->ops->producer(c->arg, (uint32_t)topic, c->name, seq);
		return GT_OK;
	case REC_ACK:
		if (get_str(&p, end, c->name, sizeof(c->name)) != GT_OK)
			return GT_ECORRUPT;
		GETV(n);
		for (uint64_t i = 0; i < n; i++) {
			GETV(part);
			GETV(off);
			GETV(cnt);
			for (uint64_t k = 0; k < cnt; k++)
				if ((rv = c->ops->ack(c->arg, (uint32_t)topic, c->name,
				                      (uint32_t)part, off + k)) != GT_OK)
					return rv;
		}
		return GT_OK;
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
	rec_ctx        c = {w, ops, arg, NULL, {0}, {0}};
	uint64_t       records_bytes = 0;
	gt_err         rv = GT_OK;

	if (d == NULL)
		return gt_err_from_errno(errno);
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

		seg_path(w, seqs[i], path, sizeof(path));
		if ((rv = read_file(path, &data, &len)) != GT_OK) {
			GT_LOGE("wal.read_failed", GT_KV_STR("path", path), GT_KV_ERR(rv));
			break;
		}
		if ((c.seg = seg_push(w, seqs[i])) == NULL) {
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
	w->total_bytes = records_bytes;
	GT_LOGI("wal.recovered", GT_KV_STR("dir", w->dir), GT_KV_UINT("segments", nseqs),
	        GT_KV_UINT("bytes", records_bytes), GT_KV_UINT("truncated_bytes", w->truncated));
	free(seqs);
	return rv;
}

/* ---- lifecycle ---- */

gt_err
mq_wal_start(mq_wal *w, mq_wal_done_fn done_fn, void *done_arg)
{
	gt_err rv;

	w->done_fn = done_fn;
	w->done_arg = done_arg;
	w->last_sync = w->last_gc = gt_mono_ns();
	if ((rv = seg_open_new(w)) != GT_OK)
		return rv;
	if (pthread_create(&w->writer, NULL, writer_main, w) != 0)
		return GT_ENOMEM;
	pthread_mutex_lock(&w->mu);
	w->started = 1;
	pthread_mutex_unlock(&w->mu);
	return GT_OK;
}

int
mq_wal_started(mq_wal *w)
{
	int s;

	pthread_mutex_lock(&w->mu);
	s = w->started;
	pthread_mutex_unlock(&w->mu);
	return s;
}

void
mq_wal_stats_get(mq_wal *w, mq_wal_stats *s)
{
	pthread_mutex_lock(&w->mu);
	s->segments = w->nsegs;
	s->bytes = w->total_bytes;
	s->written = w->written;
	s->fsyncs = w->fsyncs;
	s->truncated = w->truncated;
	pthread_mutex_unlock(&w->mu);
}

void
mq_wal_close(mq_wal *w)
{
	segment *s;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_broadcast(&w->cv_work);
	pthread_mutex_unlock(&w->mu);
	if (w->started)
		pthread_join(w->writer, NULL);
	pthread_mutex_lock(&w->mu);
	pthread_cond_broadcast(&w->cv_done);
	pthread_mutex_unlock(&w->mu);
	if (w->fd >= 0) {
		fdatasync(w->fd);
		close(w->fd);
	}
	while ((s = w->segs) != NULL) {
		w->segs = s->next;
		free(s->m.v);
		free(s);
	}
	for (size_t i = 0; i < w->ntopics; i++)
		free(w->topics[i].name);
	for (size_t i = 0; i < w->ngroups; i++)
		free(w->groups[i].name);
	free(w->topics);
	free(w->groups);
	free(w->cur_marks.v);
	free(w->spare_marks.v);
	gt_buf_fini(&w->cur);
	gt_buf_fini(&w->spare);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv_work);
	pthread_cond_destroy(&w->cv_done);
	free(w->dir);
	free(w);
}

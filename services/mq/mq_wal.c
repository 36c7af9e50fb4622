/* mq_wal.c - appends, group commit by a writer thread, segment files and their deletion.
 *
 * Appends (any RPC worker, under its topic lock) encode one framed record into the current
 * buffer under w->mu and return a logical sequence number (lsn = bytes appended so far).
 * The writer thread swaps buffers, write()s, fdatasync()s per policy and publishes the
 * durable lsn; mq_wal_wait blocks on a condition variable until then. Only the writer
 * touches segment files after start; the segment list (with the highest offset per
 * partition each segment holds) is the writer's alone. Records: mq_wal_rec.c; segment
 * heads: mq_wal_head.c; replay at start: mq_wal_recover.c. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gt/gt_log.h"
#include "gt/gt_time.h"
#include "mq_server.h"
#include "mq_wal_int.h"

/* ---- segment marks ---- */

void
mq_wal_mark_add(mq_wal_marks *m, uint32_t topic, uint32_t part, uint64_t off)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].topic == topic && m->v[i].part == part) {
			if (off > m->v[i].max_off)
				m->v[i].max_off = off;
			return;
		}
	if (m->n == m->cap) {
		size_t       nc = m->cap ? m->cap * 2 : 16;
		mq_wal_mark *nv = realloc(m->v, nc * sizeof(*nv));
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
marks_merge(mq_wal_marks *dst, const mq_wal_marks *src)
{
	for (size_t i = 0; i < src->n; i++)
		mq_wal_mark_add(dst, src->v[i].topic, src->v[i].part, src->v[i].max_off);
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
	gt_buf_init(&w->head);
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

/* ---- appends (any thread, under the caller's topic lock) ---- */

static void
wal_kick(mq_wal *w)
{
	pthread_cond_signal(&w->cv_work);
}

/* The lsn of everything appended so far (cur's end). Under mu. */
static uint64_t
wal_lsn(mq_wal *w)
{
	return w->appended + w->cur.len;
}

gt_err
mq_wal_topic(mq_wal *w, uint32_t topic_id, const char *name)
{
	gt_err rv;

	pthread_mutex_lock(&w->mu);
	rv = mq_wal_head_topic(&w->decl, topic_id, name);
	if (rv == GT_OK && w->started) {
		rv = mq_wal_enc_decl(&w->cur, MQ_WAL_TOPIC, topic_id, name);
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
	rv = mq_wal_head_group(&w->decl, topic_id, group);
	if (rv == GT_OK && w->started) {
		rv = mq_wal_enc_decl(&w->cur, MQ_WAL_GROUP, topic_id, group);
		wal_kick(w);
	}
	pthread_mutex_unlock(&w->mu);
	return rv;
}

gt_err
mq_wal_group_deleted(mq_wal *w, uint32_t topic_id, const char *group)
{
	gt_err rv;

	pthread_mutex_lock(&w->mu);
	mq_wal_head_group_deleted(&w->decl, topic_id, group);
	/* Logged even before start (a TTL expiry right after recovery): written after the head
	 * of the first segment. */
	rv = mq_wal_enc_decl(&w->cur, MQ_WAL_GROUP_DEL, topic_id, group);
	if (w->started)
		wal_kick(w);
	pthread_mutex_unlock(&w->mu);
	return rv;
}

/* PUBLISH or REPLAY into cur, with the segment marks of its messages. Under mu. */
static gt_err
wal_put_publish(mq_wal *w, int type, uint32_t topic_id, const char *producer, uint64_t seq,
                const ProtobufCBinaryData *msgs, size_t n, const mq_pos *pos, int64_t ts_ns,
                uint64_t below, uint64_t *lsn)
{
	gt_err rv;

	if (w->failed)
		return GT_EIO;
	for (size_t i = 0; i < n; i++) {
		mq_wal_mark_add(&w->cur_marks, topic_id, pos[i].partition, pos[i].offset);
		if (mq_wal_head_end(&w->decl, topic_id, pos[i].partition, pos[i].offset + 1) !=
		    GT_OK)
			return GT_ENOMEM;
	}
	if (seq > 0 && producer[0] &&
	    mq_wal_head_producer(&w->decl, topic_id, producer, seq) != GT_OK)
		return GT_ENOMEM;
	rv = mq_wal_enc_publish(&w->cur, type, topic_id, producer, seq, ts_ns, msgs, n, pos, below);
	*lsn = wal_lsn(w);
	wal_kick(w);
	return rv;
}

gt_err
mq_wal_publish(mq_wal *w, uint32_t topic_id, const char *topic, const char *producer, uint64_t seq,
               const ProtobufCBinaryData *msgs, size_t n, const mq_pos *pos, uint64_t *lsn,
               int64_t ts_ns)
{
	gt_err rv;

	(void)topic;
	pthread_mutex_lock(&w->mu);
	rv = wal_put_publish(w, MQ_WAL_PUBLISH, topic_id, producer, seq, msgs, n, pos, ts_ns, 0,
	                     lsn);
	pthread_mutex_unlock(&w->mu);
	return rv;
}

gt_err
mq_wal_dead(mq_wal *w, uint32_t topic_id, const mq_dead_view *d)
{
	size_t at;
	gt_err rv;

	pthread_mutex_lock(&w->mu);
	at = w->cur.len;
	if ((rv = mq_wal_enc_dead(&w->cur, MQ_WAL_DEAD, topic_id, d)) == GT_OK)
		rv = mq_wal_head_letter(&w->decl, topic_id, (const uint8_t *)w->cur.data + at + 8,
		                        w->cur.len - at - 8, d->dlq_offset);
	wal_kick(w);
	pthread_mutex_unlock(&w->mu);
	return rv;
}

gt_err
mq_wal_replay(mq_wal *w, uint32_t topic_id, const uint8_t *msg, size_t len, const mq_pos *pos,
              uint64_t below, uint64_t *lsn)
{
	ProtobufCBinaryData bd = {len, (uint8_t *)msg};
	gt_err              rv;

	pthread_mutex_lock(&w->mu);
	rv = wal_put_publish(w, MQ_WAL_REPLAY, topic_id, "", 0, &bd, pos ? 1 : 0, pos, 0, below,
	                     lsn);
	if (rv == GT_OK)
		mq_wal_head_trim(&w->decl, topic_id, below);
	pthread_mutex_unlock(&w->mu);
	return rv;
}

gt_err
mq_wal_dlq_trim(mq_wal *w, uint32_t topic_id, uint64_t below, uint64_t *lsn)
{
	gt_err rv;

	pthread_mutex_lock(&w->mu);
	rv = mq_wal_enc_trim(&w->cur, topic_id, below);
	mq_wal_head_trim(&w->decl, topic_id, below);
	*lsn = wal_lsn(w);
	wal_kick(w);
	pthread_mutex_unlock(&w->mu);
	return rv;
}

gt_err
mq_wal_attempt(mq_wal *w, uint32_t topic_id, const char *group, uint32_t part, uint64_t off,
               unsigned attempts)
{
	gt_err rv;

	pthread_mutex_lock(&w->mu);
	rv = mq_wal_enc_attempt(&w->cur, topic_id, group, part, off, attempts);
	wal_kick(w);
	pthread_mutex_unlock(&w->mu);
	return rv;
}

gt_err
mq_wal_delivered(mq_wal *w, uint32_t topic_id, const char *group, const mq_run *runs, size_t n)
{
	gt_err rv;

	if (n == 0)
		return GT_OK;
	pthread_mutex_lock(&w->mu);
	rv = mq_wal_enc_delivered(&w->cur, topic_id, group, runs, n);
	wal_kick(w);
	pthread_mutex_unlock(&w->mu);
	return rv;
}

gt_err
mq_wal_ack(mq_wal *w, uint32_t topic_id, const char *group, const mq_id *ids, size_t n)
{
	gt_err rv;

	if (n == 0)
		return GT_OK;
	pthread_mutex_lock(&w->mu);
	rv = mq_wal_enc_ack(&w->cur, topic_id, group, ids, n);
	wal_kick(w);
	pthread_mutex_unlock(&w->mu);
	return rv;
}

uint64_t
mq_wal_appended(mq_wal *w)
{
	uint64_t lsn;

	pthread_mutex_lock(&w->mu);
	lsn = wal_lsn(w);
	pthread_mutex_unlock(&w->mu);
	return lsn;
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

void
mq_wal_seg_path(const mq_wal *w, uint64_t seq, char *buf, size_t len)
{
	snprintf(buf, len, "%s/wal-%016" PRIu64 ".log", w->dir, seq);
}

mq_wal_segment *
mq_wal_seg_push(mq_wal *w, uint64_t seq)
{
	mq_wal_segment *s = calloc(1, sizeof(*s));

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

/* Close the current segment and open the next one, starting with head (declarations and
 * live dead letters, see wal_head). The head is made durable before anything else happens:
 * once it is, older segments may be deleted without losing a letter. */
static gt_err
seg_open_new(mq_wal *w, const gt_buf *head)
{
	char            path[4200];
	mq_wal_segment *s;
	gt_err          rv = GT_OK;

	if (w->fd >= 0) {
		fdatasync(w->fd);
		close(w->fd);
		w->fd = -1;
	}
	w->seg_seq++;
	mq_wal_seg_path(w, w->seg_seq, path, sizeof(path));
	if ((w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644)) < 0)
		return gt_err_from_errno(errno);
	if ((s = mq_wal_seg_push(w, w->seg_seq)) == NULL)
		return GT_ENOMEM;
	(void)s;
	if (head->len > 0 && write(w->fd, head->data, head->len) != (ssize_t)head->len)
		rv = GT_EIO;
	if (rv == GT_OK && w->cfg.fsync != MQ_FSYNC_NEVER && fdatasync(w->fd) != 0)
		rv = GT_EIO;
	w->seg_size = w->seg_head = head->len;
	w->total_bytes += head->len;
	fsync_dir(w->dir);
	GT_LOGD("wal.segment_opened", GT_KV_STR("path", path), GT_KV_UINT("head_bytes", head->len));
	return rv;
}

/* Delete the oldest segments whose every message is done for every group. */
static void
seg_gc(mq_wal *w)
{
	while (w->segs != NULL && w->segs != w->segs_tail && w->done_fn != NULL) {
		mq_wal_segment *s = w->segs;
		char            path[4200];
		struct stat     st;
		for (size_t i = 0; i < s->m.n; i++)
			if (!w->done_fn(w->done_arg, s->m.v[i].topic, s->m.v[i].part,
			                s->m.v[i].max_off))
				return;
		mq_wal_seg_path(w, s->seq, path, sizeof(path));
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
		uint64_t     end;
		int          stop, roll;
		int64_t      now;
		gt_buf       tb;
		mq_wal_marks tm;

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
		/* Roll over after these bytes? Then the next head is taken now, matching them. A
		 * segment's body is at least as large as its head (bounds the re-logging cost). */
		roll = !stop && w->seg_size + w->spare.len >= w->cfg.segment_bytes &&
		       w->seg_size + w->spare.len >= 2 * w->seg_head;
		if (roll) {
			gt_buf_reset(&w->head);
			mq_wal_head_encode(&w->decl, &w->head);
		}
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
		if (roll) {
			if (seg_open_new(w, &w->head) != GT_OK) {
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

/* ---- lifecycle ---- */

gt_err
mq_wal_start(mq_wal *w, mq_wal_done_fn done_fn, void *done_arg)
{
	gt_err rv;

	w->done_fn = done_fn;
	w->done_arg = done_arg;
	w->last_sync = w->last_gc = gt_mono_ns();
	pthread_mutex_lock(&w->mu);
	gt_buf_reset(&w->head);
	mq_wal_head_encode(&w->decl, &w->head);
	pthread_mutex_unlock(&w->mu);
	if ((rv = seg_open_new(w, &w->head)) != GT_OK)
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
	mq_wal_segment *s;

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
	mq_wal_head_fini(&w->decl);
	gt_buf_fini(&w->head);
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

/* stm_follow.c - tail -F for the CSV reader (see stm_follow.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gt/gt_json.h"
#include "gt/gt_log.h"
#include "gt/gt_time.h"
#include "stm_follow.h"

struct stm_follow {
	char    *path;
	char    *state_file;
	int64_t  poll_ns;
	stm_pipe *pipe;
	stm_follow_cfg cfg;

	int      fd;
	dev_t    dev;
	ino_t    ino;
	uint64_t consumed;  /* bytes read from fd (its offset) */
	uint64_t confirmed; /* offset of the last saved state */
	uint64_t saved_q;   /* pipe "queued" when the state was last saved */
	stm_reader *r;

	pthread_mutex_t mtx; /* stats below */
	uint64_t rows, bad, records, dropped, rotations, truncations, offset, size;
	int64_t  last_row_ms;
	uint64_t last_rows;
};

gt_err
stm_follow_new(stm_follow **out, const stm_follow_cfg *cfg)
{
	stm_follow *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return GT_ENOMEM;
	f->fd = -1;
	f->poll_ns = cfg->poll_ns > 0 ? cfg->poll_ns : 50 * GT_NS_PER_MS;
	f->pipe = cfg->pipe;
	f->cfg = *cfg;
	pthread_mutex_init(&f->mtx, NULL);
	if ((f->path = strdup(cfg->path)) == NULL ||
	    (cfg->state_file && *cfg->state_file && (f->state_file = strdup(cfg->state_file)) == NULL)) {
		stm_follow_free(f);
		return GT_ENOMEM;
	}
	*out = f;
	return GT_OK;
}

void
stm_follow_free(stm_follow *f)
{
	if (f == NULL)
		return;
	if (f->fd >= 0)
		close(f->fd);
	pthread_mutex_destroy(&f->mtx);
	free(f->path);
	free(f->state_file);
	free(f);
}

/* ---------------------------------------------------------------- state file */

static void
state_write(stm_follow *f, uint64_t offset)
{
	char  tmp[4200];
	FILE *fp;

	if (f->state_file == NULL || f->fd < 0)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->state_file);
	if ((fp = fopen(tmp, "w")) == NULL) {
		GT_LOGW("follow.state_write_failed", GT_KV_STR("file", tmp), GT_KV_STR("reason", strerror(errno)));
		return;
	}
	fprintf(fp, "gt-streamer-follow 1 %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", (uint64_t)f->dev,
	    (uint64_t)f->ino, offset);
	if (fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
		fclose(fp);
		unlink(tmp);
		return;
	}
	fclose(fp);
	if (rename(tmp, f->state_file) == 0)
		f->confirmed = offset;
}

/* Offset that resumes after everything turned into records so far (a partial last line, an
 * open DCGM group is read again). */
static uint64_t
read_offset(stm_follow *f)
{
	uint64_t pend = stm_reader_pending(f->r);
	return f->consumed >= pend ? f->consumed - pend : 0;
}

void
stm_follow_save(stm_follow *f, int confirmed)
{
	if (confirmed && f->r != NULL)
		state_write(f, read_offset(f));
}

/* While running: save when every record queued so far has been confirmed. */
static void
state_maybe_save(stm_follow *f)
{
	stm_pipe_stats ps;
	uint64_t       off;

	if (f->state_file == NULL || f->pipe == NULL)
		return;
	off = read_offset(f);
	if (off == f->confirmed)
		return;
	stm_pipe_get_stats(f->pipe, &ps);
	if (ps.published == ps.queued && ps.failed == 0)
		state_write(f, off);
}

static int
state_read(stm_follow *f, uint64_t *dev, uint64_t *ino, uint64_t *off)
{
	FILE *fp;
	int   ok;

	if (f->state_file == NULL || (fp = fopen(f->state_file, "r")) == NULL)
		return 0;
	ok = fscanf(fp, "gt-streamer-follow 1 %" SCNu64 " %" SCNu64 " %" SCNu64, dev, ino, off) == 3;
	fclose(fp);
	return ok;
}

/* ---------------------------------------------------------------- following */

static void
stats_sync(stm_follow *f, int64_t size)
{
	stm_reader_stats st;

	stm_reader_get_stats(f->r, &st);
	pthread_mutex_lock(&f->mtx);
	if (st.rows != f->last_rows) {
		f->last_rows = st.rows;
		f->last_row_ms = gt_now_ns() / GT_NS_PER_MS;
	}
	f->rows = st.rows;
	f->bad = st.bad_rows;
	f->records = st.records;
	f->dropped = st.dropped;
	f->offset = f->consumed;
	if (size >= 0)
		f->size = (uint64_t)size;
	pthread_mutex_unlock(&f->mtx);
}

static int
stopping(stm_follow *f)
{
	return f->cfg.stopping != NULL && f->cfg.stopping(f->cfg.stopping_arg);
}

/* Open the path (waiting for it to exist). GT_OK or GT_ECANCELED. */
static gt_err
open_file(stm_follow *f)
{
	struct stat st;
	int         warned = 0;

	for (;;) {
		if ((f->fd = open(f->path, O_RDONLY | O_CLOEXEC)) >= 0 && fstat(f->fd, &st) == 0)
			break;
		if (f->fd >= 0) {
			close(f->fd);
			f->fd = -1;
		}
		if (!warned++)
			GT_LOGW("follow.waiting", GT_KV_STR("file", f->path), GT_KV_STR("reason", strerror(errno)));
		if (stopping(f))
			return GT_ECANCELED;
		gt_sleep_ns(f->poll_ns);
	}
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->consumed = 0;
	return GT_OK;
}

/* Feed the header line of the file (from its start) without moving fd's offset. */
static gt_err
feed_header(stm_follow *f)
{
	char    buf[8192];
	off_t   at = 0;
	ssize_t n;

	while (!stm_reader_has_header(f->r) && (n = pread(f->fd, buf, sizeof(buf), at)) > 0) {
		char  *nl = memchr(buf, '\n', (size_t)n);
		size_t take = nl ? (size_t)(nl - buf) + 1 : (size_t)n;
		gt_err rv = stm_reader_feed(f->r, buf, take);
		if (rv != GT_OK)
			return rv;
		at += (off_t)take;
		if (nl)
			break;
	}
	return GT_OK;
}

static gt_err
start_file(stm_follow *f, int resume)
{
	uint64_t dev, ino, off;
	gt_err   rv;

	if ((rv = open_file(f)) != GT_OK)
		return rv;
	if ((rv = stm_reader_begin(f->r, f->path)) != GT_OK)
		return rv;
	if (resume && state_read(f, &dev, &ino, &off) && dev == (uint64_t)f->dev &&
	    ino == (uint64_t)f->ino && off > 0) {
		struct stat st;
		if (fstat(f->fd, &st) == 0 && (uint64_t)st.st_size >= off) {
			if ((rv = feed_header(f)) != GT_OK)
				return rv;
			if (lseek(f->fd, (off_t)off, SEEK_SET) == (off_t)off) {
				f->consumed = off;
				f->confirmed = off;
				GT_LOGI("follow.resumed", GT_KV_STR("file", f->path), GT_KV_UINT("offset", off));
				return GT_OK;
			}
			stm_reader_begin(f->r, f->path);
		}
	}
	f->confirmed = 0;
	return GT_OK;
}

/* Wait at the end of the file: poll_ns, shorter when the idle callback (linger) asks. */
static void
wait_more(stm_follow *f)
{
	int64_t w = f->poll_ns;

	if (f->cfg.idle != NULL) {
		int64_t i = f->cfg.idle(f->cfg.idle_arg);
		if (i >= 0 && i < w)
			w = i;
	}
	if (w > 0)
		gt_sleep_ns(w);
}

gt_err
stm_follow_run(stm_follow *f, stm_reader *r)
{
	gt_err rv;

	f->r = r;
	if ((rv = start_file(f, 1)) != GT_OK)
		return rv;
	for (;;) {
		struct stat pst, fst;
		int         rotated = 0;

		if ((rv = stm_reader_drain_fd(r, f->fd, &f->consumed)) != GT_OK)
			break;
		if (fstat(f->fd, &fst) != 0)
			fst.st_size = -1;
		stats_sync(f, (int64_t)fst.st_size);
		state_maybe_save(f);
		if (stopping(f)) {
			rv = GT_ECANCELED;
			break;
		}
		if (fst.st_size >= 0 && (uint64_t)fst.st_size < f->consumed) {
			/* Truncated: the same file, shorter than what was read. Start over, header first. */
			GT_LOGI("follow.truncated", GT_KV_STR("file", f->path),
			    GT_KV_UINT("offset", f->consumed), GT_KV_INT("size", (int64_t)fst.st_size));
			if (lseek(f->fd, 0, SEEK_SET) != 0 || (rv = stm_reader_begin(r, f->path)) != GT_OK)
				break;
			f->consumed = 0;
			f->confirmed = (uint64_t)-1;
			pthread_mutex_lock(&f->mtx);
			f->truncations++;
			pthread_mutex_unlock(&f->mtx);
			continue;
		}
		if (stat(f->path, &pst) == 0 && (pst.st_ino != f->ino || pst.st_dev != f->dev))
			rotated = 1;
		if (!rotated) {
			wait_more(f);
			continue;
		}
		/* Rotated: whatever was appended to the old file before the rename is read first. */
		if ((rv = stm_reader_drain_fd(r, f->fd, &f->consumed)) != GT_OK)
			break;
		/* (an old file that never got its header is no error: nothing was in it) */
		if (stm_reader_has_header(r) && (rv = stm_reader_end(r)) != GT_OK)
			break;
		GT_LOGI("follow.rotated", GT_KV_STR("file", f->path), GT_KV_UINT("old_offset", f->consumed));
		close(f->fd);
		f->fd = -1;
		pthread_mutex_lock(&f->mtx);
		f->rotations++;
		pthread_mutex_unlock(&f->mtx);
		if ((rv = start_file(f, 0)) != GT_OK)
			break;
		f->confirmed = (uint64_t)-1;
	}
	stats_sync(f, -1);
	return rv;
}

void
stm_follow_json(stm_follow *f, gt_buf *b)
{
	int64_t now_ms = gt_now_ns() / GT_NS_PER_MS;

	pthread_mutex_lock(&f->mtx);
	gt_buf_puts(b, "{\"kind\":\"follow\",\"file\":");
	gt_json_cstr(b, f->path);
	gt_buf_printf(b,
	    ",\"rows\":%llu,\"bad_input\":%llu,\"records\":%llu,\"dropped_values\":%llu,"
	    "\"rotations\":%llu,\"truncations\":%llu,\"offset\":%llu,\"size\":%llu,"
	    "\"lag_bytes\":%llu,\"last_success_unix_ms\":%lld,\"lag_ms\":%lld}",
	    (unsigned long long)f->rows, (unsigned long long)f->bad, (unsigned long long)f->records,
	    (unsigned long long)f->dropped, (unsigned long long)f->rotations,
	    (unsigned long long)f->truncations, (unsigned long long)f->offset,
	    (unsigned long long)f->size,
	    (unsigned long long)(f->size > f->offset ? f->size - f->offset : 0),
	    (long long)f->last_row_ms, (long long)(f->last_row_ms ? now_ms - f->last_row_ms : -1));
	pthread_mutex_unlock(&f->mtx);
}

/* gt_http_static.c - static files (see gt_http_int.h): the resolver that maps a URL path to a
 * file under the static root and cannot be made to leave it (pure, any thread, unit tested in
 * test_gt_http_route.c), content types by extension, and serving a GET/HEAD that no route
 * matched (lws thread), with the SPA fallback to the index for browser navigations. The body
 * is read in GT__HTTP_CHUNK pieces by the file reader thread: the lws thread writes one chunk
 * while the next is read, and never waits for the disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gt/gt_log.h"
#include "gt_http_int.h"

/* ---- resolving (pure, any thread) ---- */

/* Checks one decoded path segment; returns 0 when it may be used. */
static int
static_seg_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.') /* "", ".", "..", dotfiles */
		return -1;
	if (n > NAME_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == '\\' || c == ':')
			return -1;
	}
	return 0;
}

/* Appends src to out at *len; returns -1 on overflow. */
static int
path_append(char *out, size_t cap, size_t *len, const char *src, size_t n)
{
	if (*len + n + 1 > cap)
		return -1;
	memcpy(out + *len, src, n);
	*len += n;
	out[*len] = '\0';
	return 0;
}

/* realpath()s cand and checks it is a regular file under root_real (or a directory, which
 * gets index appended once). */
static gt_err
static_finish(const char *root_real, size_t rlen, const char *cand, const char *index, int depth,
              char *out, size_t cap)
{
	char        real[PATH_MAX];
	struct stat st;

	if (realpath(cand, real) == NULL)
		return (errno == ENOENT || errno == ENOTDIR) ? GT_ENOENT : GT_EINVAL;
	/* Second line of defence: the resolved file must still be under the root. */
	if (strncmp(real, root_real, rlen) != 0 || (real[rlen] != '/' && real[rlen] != '\0'))
		return GT_EINVAL;
	if (stat(real, &st) != 0)
		return GT_ENOENT;
	if (S_ISDIR(st.st_mode)) {
		char   next[PATH_MAX];
		size_t len = 0, rl = strlen(real);

		if (depth > 0 || index == NULL || index[0] == '\0' || strchr(index, '/') != NULL)
			return GT_ENOENT;
		if (path_append(next, sizeof(next), &len, real, rl) != 0 ||
		    path_append(next, sizeof(next), &len, "/", 1) != 0 ||
		    path_append(next, sizeof(next), &len, index, strlen(index)) != 0)
			return GT_EINVAL;
		return static_finish(root_real, rlen, next, index, depth + 1, out, cap);
	}
	if (!S_ISREG(st.st_mode))
		return GT_ENOENT;
	if (strlen(real) + 1 > cap)
		return GT_EFULL;
	memcpy(out, real, strlen(real) + 1);
	return GT_OK;
}

gt_err
gt__http_static_resolve(const char *root_real, const char *path, const char *index, int flags,
                        char *out, size_t cap)
{
	char        dec[PATH_MAX];
	char        cand[PATH_MAX];
	const char *p;
	size_t      plen, dlen, clen = 0, rlen;
	int         nseg = 0;

	if (root_real == NULL || root_real[0] != '/' || path == NULL || path[0] != '/')
		return GT_EINVAL;
	plen = strlen(path);
	if (plen >= sizeof(dec))
		return GT_EINVAL;
	if (flags & GT__HTTP_PATH_ENCODED) {
		if (gt__http_pct_decode(path, plen, dec, sizeof(dec), GT__HTTP_DEC_NO_SLASH,
		                        &dlen) != GT_OK)
			return GT_EINVAL;
	} else {
		memcpy(dec, path, plen + 1);
		dlen = plen;
	}
	if (strlen(dec) != dlen)
		return GT_EINVAL;
	rlen = strlen(root_real);
	while (rlen > 1 && root_real[rlen - 1] == '/')
		rlen--;
	if (path_append(cand, sizeof(cand), &clen, root_real, rlen) != 0)
		return GT_EINVAL;
	/* Walk the segments after the leading '/'; only the last may be empty ("/", "/dir/"). */
	p = dec + 1;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t      n = slash != NULL ? (size_t)(slash - p) : strlen(p);

		if (slash == NULL && n == 0) {
			if (index == NULL || index[0] == '\0' || strchr(index, '/') != NULL)
				return GT_ENOENT;
			if (path_append(cand, sizeof(cand), &clen, "/", 1) != 0 ||
			    path_append(cand, sizeof(cand), &clen, index, strlen(index)) != 0)
				return GT_EINVAL;
			break;
		}
		if (++nseg > GT__HTTP_MAX_SEGMENTS || static_seg_ok(p, n) != 0)
			return GT_EINVAL;
		if (path_append(cand, sizeof(cand), &clen, "/", 1) != 0 ||
		    path_append(cand, sizeof(cand), &clen, p, n) != 0)
			return GT_EINVAL;
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	return static_finish(root_real, rlen, cand, index, 0, out, cap);
}

typedef struct ctype_row {
	const char *ext;
	const char *type;
} ctype_row;

static const ctype_row ctype_table[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"ico", "image/x-icon"},
    {"woff2", "font/woff2"},
    {"woff", "font/woff"},
    {"txt", "text/plain; charset=utf-8"},
    {"yaml", "application/yaml"},
    {"webmanifest", "application/manifest+json"},
};

const char *
gt__http_content_type(const char *filename)
{
	const char *slash, *dot;
	size_t      i;

	if (filename == NULL)
		return "application/octet-stream";
	slash = strrchr(filename, '/');
	dot = strrchr(slash != NULL ? slash : filename, '.');
	if (dot == NULL)
		return "application/octet-stream";
	for (i = 0; i < sizeof(ctype_table) / sizeof(ctype_table[0]); i++)
		if (strcasecmp(dot + 1, ctype_table[i].ext) == 0)
			return ctype_table[i].type;
	return "application/octet-stream";
}

int
gt__http_path_has_ext(const char *path)
{
	const char *slash;

	if (path == NULL)
		return 0;
	slash = strrchr(path, '/');
	return strchr(slash != NULL ? slash : path, '.') != NULL;
}

/* ---- serving (lws thread) ---- */

static int
accepts_html(const gt_http_req *r)
{
	return r->hdr[GT__HTTP_HDR_ACCEPT] != NULL &&
	       strstr(r->hdr[GT__HTTP_HDR_ACCEPT], "text/html") != NULL;
}

/* Serves a GET/HEAD that no route matched from the static root. */
void
gt__http_static_serve(gt_http *h, gt__http_conn *c, gt_http_req *r)
{
	char           file[PATH_MAX];
	struct stat    st;
	gt__http_file *f;
	gt_err         rv;
	int            fd;

	rv = gt__http_static_resolve(h->root_real, r->path, h->static_index, 0, file, sizeof(file));
	/* SPA fallback: a browser navigating to a client-side route gets the index. */
	if (rv == GT_ENOENT && !gt__http_path_has_ext(r->path) && accepts_html(r))
		rv = gt__http_static_resolve(h->root_real, "/", h->static_index, 0, file,
		                             sizeof(file));
	if (rv == GT_EINVAL) {
		GT_LOGW("http.static_refused", GT_KV_STR("path", r->path));
		gt__http_conn_error(c, 400, 0, NULL, NULL, "invalid path");
		return;
	}
	if (rv != GT_OK) {
		gt__http_conn_error(c, 404, 0, NULL, NULL, "not found: %s", r->path);
		return;
	}
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0 ||
	    !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		gt__http_conn_error(c, 404, 0, NULL, NULL, "not found: %s", r->path);
		return;
	}
	if ((f = malloc(sizeof(*f) + LWS_PRE + GT__HTTP_CHUNK)) == NULL) {
		close(fd);
		gt__http_conn_error(c, 500, 0, NULL, NULL, "out of memory");
		return;
	}
	memset(f, 0, sizeof(*f));
	f->fd = fd;
	f->size = (size_t)st.st_size;
	f->wsi = c->wsi;
	atomic_init(&f->refs, 1); /* the connection's */
	c->head = r->head;
	gt__http_req_free(r);
	c->req = NULL;
	c->file = f;
	gt__http_conn_start(c, 200, strdup(gt__http_content_type(file)), NULL, f->size);
}

/* ---- the file reader (chunks off the lws thread) ---- */

/* Any thread: the last reference closes and frees f. */
static void
file_unref(gt__http_file *f)
{
	if (f != NULL && atomic_fetch_sub(&f->refs, 1) == 1) {
		close(f->fd);
		free(f);
	}
}

void
gt__http_file_release(gt__http_file *f)
{
	if (f == NULL)
		return;
	f->wsi = NULL; /* a read still in flight must not wake the connection */
	file_unref(f);
}

/* lws thread: queues the read of the next chunk. 0, or -1 when the reader cannot take it. */
static int
file_read_next(gt_http *h, gt__http_file *f)
{
	size_t n = f->size - f->off;

	f->want = n > GT__HTTP_CHUNK ? GT__HTTP_CHUNK : n;
	f->len = 0;
	f->inflight = 1;
	atomic_fetch_add(&f->refs, 1); /* the reader's */
	if (gt_queue_push(h->fileq, f, 0) != GT_OK) {
		f->inflight = 0;
		atomic_fetch_sub(&f->refs, 1);
		GT_LOGW("http.static_busy", GT_KV_INT("queued", (int64_t)gt_queue_len(h->fileq)));
		return -1;
	}
	return 0;
}

int
gt__http_file_write(gt_http *h, gt__http_conn *c, struct lws *wsi, int *done)
{
	gt__http_file *f = c->file;
	int            last;

	*done = 0;
	if (f->inflight)
		return 0; /* the reader wakes us (gt__http_files_drain) */
	if (f->err != 0) {
		GT_LOGW("http.static_read", GT_KV_STR("path", c->logpath ? c->logpath : ""),
		        GT_KV_INT("errno", f->err));
		return -1;
	}
	if (f->len == 0)
		return file_read_next(h, f);
	last = c->off + f->len == c->len;
	if (lws_write(wsi, f->buf + LWS_PRE, f->len,
	              last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)f->len)
		return -1;
	c->off += f->len;
	f->len = 0;
	if (last) {
		*done = 1;
		return 0;
	}
	return file_read_next(h, f); /* read ahead while this chunk goes out */
}

/* The file reader thread. */
static void *
file_reader(void *arg)
{
	gt_http *h = arg;
	void    *item;

	while (gt_queue_pop(h->fileq, &item, -1) == GT_OK) {
		gt__http_file *f = item;
		size_t         got = 0;

		while (got < f->want && !atomic_load(&h->stop)) {
			ssize_t n = pread(f->fd, f->buf + LWS_PRE + got, f->want - got,
			                  (off_t)(f->off + got));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				f->err = n < 0 ? errno : EIO; /* the file shrank */
				break;
			}
			got += (size_t)n;
		}
		if (got == f->want) {
			f->len = got;
			f->off += got;
		} else if (f->err == 0) {
			f->err = ECANCELED;
		}
		pthread_mutex_lock(&h->lock);
		f->done_next = h->files_done;
		h->files_done = f;
		pthread_mutex_unlock(&h->lock);
		lws_cancel_service(h->ctx);
	}
	return NULL;
}

void
gt__http_files_drain(gt_http *h)
{
	gt__http_file *f;

	pthread_mutex_lock(&h->lock);
	f = h->files_done;
	h->files_done = NULL;
	pthread_mutex_unlock(&h->lock);
	while (f != NULL) {
		gt__http_file *next = f->done_next;

		f->inflight = 0;
		if (f->wsi != NULL)
			lws_callback_on_writable(f->wsi);
		file_unref(f);
		f = next;
	}
}

gt_err
gt__http_reader_start(gt_http *h)
{
	gt_err rv;
	int    err;

	if (h->root_real == NULL)
		return GT_OK;
	if ((rv = gt_queue_new(&h->fileq, 1024)) != GT_OK)
		return rv;
	if ((err = pthread_create(&h->reader, NULL, file_reader, h)) != 0)
		return gt_err_from_errno(err);
	h->reader_up = 1;
	return GT_OK;
}

void
gt__http_reader_stop(gt_http *h)
{
	if (h->fileq != NULL)
		gt_queue_close(h->fileq);
	if (h->reader_up)
		pthread_join(h->reader, NULL);
	h->reader_up = 0;
}

void
gt__http_files_fini(gt_http *h)
{
	gt__http_file *f = h->files_done;

	h->files_done = NULL;
	while (f != NULL) {
		gt__http_file *next = f->done_next;

		file_unref(f);
		f = next;
	}
	if (h->fileq != NULL)
		gt_queue_free(h->fileq);
	h->fileq = NULL;
}

/* gt_http_static.c - static files (see gt_http_int.h): the resolver that maps a URL path to a
 * file under the static root and cannot be made to leave it (pure, any thread, unit tested in
 * test_gt_http_route.c), content types by extension, and serving a GET/HEAD that no route
 * matched (lws thread), with the SPA fallback to the index for browser navigations.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
	char        file[PATH_MAX];
	struct stat st;
	gt_err      rv;
	int         fd;

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
	c->head = r->head;
	gt__http_req_free(r);
	c->req = NULL;
	c->has_fd = 1;
	c->fd = fd;
	gt__http_conn_start(c, 200, strdup(gt__http_content_type(file)), NULL, (size_t)st.st_size);
}

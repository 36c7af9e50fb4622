/* gt_http_int.h - pure (libwebsockets-free) helpers of the HTTP runtime, shared inside common
 * and unit tested on their own: name/value pairs, percent-decoding, query strings, route
 * patterns and the static-file path resolver. Every function here is reentrant and may be
 * called from any thread; none keeps state between calls.
 */
#ifndef GT_HTTP_INT_H
#define GT_HTTP_INT_H

#include <stddef.h>

#include "gt/gt_err.h"

/* Bounds: a request never makes these helpers allocate without limit. */
#define GT__HTTP_MAX_PAIRS 64    /* query arguments or route captures per request */
#define GT__HTTP_MAX_SEGMENTS 64 /* path segments considered by the matcher/resolver */

/* ---- name/value pairs (query arguments, {param} captures) ---- */
typedef struct gt__http_pair {
	char *name;  /* NUL-terminated, owned */
	char *value; /* NUL-terminated, owned ("" when absent) */
} gt__http_pair;

typedef struct gt__http_pairs {
	gt__http_pair *v;
	size_t         n;
	size_t         cap;
} gt__http_pairs;

void gt__http_pairs_init(gt__http_pairs *p);
void gt__http_pairs_fini(gt__http_pairs *p); /* accepts NULL / zeroed */
/* Drops the pairs after the first n (used to roll back a failed match). */
void gt__http_pairs_truncate(gt__http_pairs *p, size_t n);
/* Copies name[0..nlen) and value[0..vlen) (value may be NULL -> ""). GT_EFULL past
 * GT__HTTP_MAX_PAIRS, GT_ENOMEM. */
gt_err gt__http_pairs_add(gt__http_pairs *p, const char *name, size_t nlen, const char *value,
                          size_t vlen);
/* First value for name, or NULL. Borrowed: valid until the pairs change. */
const char *gt__http_pairs_get(const gt__http_pairs *p, const char *name);

/* ---- percent-decoding ---- */
enum {
	GT__HTTP_DEC_PLUS = 1 << 0,     /* '+' means ' ' (query strings) */
	GT__HTTP_DEC_NO_SLASH = 1 << 1, /* refuse an encoded '/' or '\\' (path segments) */
};
/* Decodes src[0..n) into dst (cap bytes, always NUL-terminated on GT_OK) and stores the
 * decoded length in *outlen (may be NULL). GT_EINVAL for a malformed escape, an encoded NUL
 * (%00), a raw NUL, or (with GT__HTTP_DEC_NO_SLASH) an encoded slash; GT_EFULL when dst is too
 * small. dst may equal src (decoding never grows). */
gt_err gt__http_pct_decode(const char *src, size_t n, char *dst, size_t cap, int flags,
                           size_t *outlen);

/* ---- query strings ---- */
/* Parses "a=1&b=x%20y+z;c" (no leading '?') into decoded pairs appended to out. '&' and ';'
 * separate; a piece without '=' gets the value ""; empty pieces are skipped. On error out
 * keeps what it had before the call. */
gt_err gt__http_query_parse(const char *qs, size_t len, gt__http_pairs *out);

/* ---- route patterns ---- */
/* A pattern is "/lit/{name}/lit" where {name} captures exactly one non-empty path segment
 * and a final-or-inner {name...} captures one or more segments joined by '/' (so gpu keys
 * like "host/0" fit "/api/v1/gpus/{id...}/telemetry"). Returns GT_OK if well formed. */
gt_err gt__http_pattern_check(const char *pattern);
/* Matches path (no query) against pattern. On a match the captures are appended to params
 * (percent-decoded when decode is nonzero, else copied as they are) and GT_OK is returned;
 * GT_ENOENT when it does not match (params unchanged); GT_EINVAL for a bad escape inside a
 * capture; GT_ENOMEM / GT_EFULL. A trailing '/' on path is not ignored. */
gt_err gt__http_route_match(const char *pattern, const char *path, int decode,
                            gt__http_pairs *params);

/* ---- static files ---- */
enum {
	GT__HTTP_PATH_ENCODED = 1 << 0, /* path is still percent-encoded: decode it first */
};
/* Resolves the URL path under root_real (a realpath()'d directory without trailing '/').
 * Refuses (GT_EINVAL) anything that could leave the root: no leading '/', "." or ".."
 * segments (also when they arrive as %2e), encoded slashes or backslashes, empty segments
 * ("//"), NUL or control bytes, segments starting with '.' (dotfiles), over-long paths.
 * A path ending in '/' (or a directory) gets index appended. The joined path is then
 * realpath()'d and must still lie under root_real (symlinks cannot escape). GT_ENOENT when
 * no such regular file exists. On GT_OK out (cap bytes) holds the resolved absolute path. */
gt_err gt__http_static_resolve(const char *root_real, const char *path, const char *index,
                               int flags, char *out, size_t cap);

/* Content type for a file name by its extension; "application/octet-stream" when unknown. */
const char *gt__http_content_type(const char *filename);

/* 1 if the last segment of path contains a '.', i.e. it looks like a file request. */
int gt__http_path_has_ext(const char *path);

/* Constant-time comparison of a "Bearer <token>" Authorization value with token.
 * Returns 1 when they match. NULL authorization -> 0. */
int gt__http_bearer_ok(const char *authorization, const char *token);

#endif

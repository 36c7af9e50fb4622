/* gt_http_route.c - pure helpers of the HTTP runtime: pairs, percent-decoding, query strings,
 * route patterns and bearer tokens. No libwebsockets calls here, so every rule that guards
 * the server is unit tested on its own (the static-file resolver, also pure, lives with the
 * rest of static serving in gt_http_static.c). All functions are reentrant and may run on
 * any thread.
 */
#include "gt_http_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- pairs ---- */

void
gt__http_pairs_init(gt__http_pairs *p)
{
	p->v = NULL;
	p->n = 0;
	p->cap = 0;
}

void
gt__http_pairs_truncate(gt__http_pairs *p, size_t n)
{
	while (p->n > n) {
		p->n--;
		free(p->v[p->n].name);
		free(p->v[p->n].value);
	}
}

void
gt__http_pairs_fini(gt__http_pairs *p)
{
	if (p == NULL)
		return;
	gt__http_pairs_truncate(p, 0);
	free(p->v);
	gt__http_pairs_init(p);
}

static char *
pairs_dup(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d == NULL)
		return NULL;
	if (n > 0)
		memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

gt_err
gt__http_pairs_add(gt__http_pairs *p, const char *name, size_t nlen, const char *value, size_t vlen)
{
	gt__http_pair pr;

	if (p->n >= GT__HTTP_MAX_PAIRS)
		return GT_EFULL;
	if (p->n == p->cap) {
		size_t         ncap = p->cap ? p->cap * 2 : 8;
		gt__http_pair *nv = realloc(p->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return GT_ENOMEM;
		p->v = nv;
		p->cap = ncap;
	}
	if ((pr.name = pairs_dup(name, nlen)) == NULL)
		return GT_ENOMEM;
	if ((pr.value = pairs_dup(value != NULL ? value : "", value != NULL ? vlen : 0)) == NULL) {
		free(pr.name);
		return GT_ENOMEM;
	}
	p->v[p->n++] = pr;
	return GT_OK;
}

const char *
gt__http_pairs_get(const gt__http_pairs *p, const char *name)
{
	size_t i;

	if (p == NULL || name == NULL)
		return NULL;
	for (i = 0; i < p->n; i++)
		if (strcmp(p->v[i].name, name) == 0)
			return p->v[i].value;
	return NULL;
}

/* ---- percent-decoding ---- */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

gt_err
gt__http_pct_decode(const char *src, size_t n, char *dst, size_t cap, int flags, size_t *outlen)
{
	size_t i, o = 0;

	if (cap == 0)
		return GT_EFULL;
	for (i = 0; i < n; i++) {
		char c = src[i];

		if (c == '\0')
			return GT_EINVAL;
		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return GT_EINVAL;
			hi = hexval(src[i + 1]);
			lo = hexval(src[i + 2]);
			if (hi < 0 || lo < 0)
				return GT_EINVAL;
			c = (char)((hi << 4) | lo);
			if (c == '\0')
				return GT_EINVAL;
			if ((flags & GT__HTTP_DEC_NO_SLASH) && (c == '/' || c == '\\'))
				return GT_EINVAL;
			i += 2;
		} else if (c == '+' && (flags & GT__HTTP_DEC_PLUS)) {
			c = ' ';
		}
		if (o + 1 >= cap)
			return GT_EFULL;
		dst[o++] = c;
	}
	dst[o] = '\0';
	if (outlen != NULL)
		*outlen = o;
	return GT_OK;
}

/* Decodes src[0..n) into a fresh heap string (query/capture helper). */
static gt_err
decode_dup(const char *src, size_t n, int flags, char **out, size_t *outlen)
{
	char  *d = malloc(n + 1);
	gt_err rv;

	if (d == NULL)
		return GT_ENOMEM;
	if ((rv = gt__http_pct_decode(src, n, d, n + 1, flags, outlen)) != GT_OK) {
		free(d);
		return rv;
	}
	*out = d;
	return GT_OK;
}

/* ---- query strings ---- */

/* Parses one "name=value" piece and appends it. */
static gt_err
query_piece(const char *s, size_t n, gt__http_pairs *out)
{
	const char *eq = memchr(s, '=', n);
	size_t      nlen = eq != NULL ? (size_t)(eq - s) : n;
	char       *name = NULL, *value = NULL;
	size_t      dn = 0, dv = 0;
	gt_err      rv;

	if ((rv = decode_dup(s, nlen, GT__HTTP_DEC_PLUS, &name, &dn)) != GT_OK)
		return rv;
	if (eq != NULL)
		rv = decode_dup(eq + 1, n - nlen - 1, GT__HTTP_DEC_PLUS, &value, &dv);
	if (rv == GT_OK)
		rv = gt__http_pairs_add(out, name, dn, value != NULL ? value : "", dv);
	free(name);
	free(value);
	return rv;
}

gt_err
gt__http_query_parse(const char *qs, size_t len, gt__http_pairs *out)
{
	size_t start = 0, i, before = out->n;
	gt_err rv;

	if (qs == NULL)
		return GT_OK;
	for (i = 0; i <= len; i++) {
		if (i < len && qs[i] != '&' && qs[i] != ';')
			continue;
		if (i > start && (rv = query_piece(qs + start, i - start, out)) != GT_OK) {
			gt__http_pairs_truncate(out, before);
			return rv;
		}
		start = i + 1;
	}
	return GT_OK;
}

/* ---- route patterns ---- */

typedef struct seg {
	const char *p;
	size_t      n;
} seg;

/* Splits "/a/b" (leading '/' required) into segments; "/" is one empty segment.
 * Returns the count or -1 when there are too many or no leading '/'. */
static int
split_segments(const char *s, seg *out, int max)
{
	int         n = 0;
	const char *p;

	if (s == NULL || s[0] != '/')
		return -1;
	p = s + 1;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t      len = slash != NULL ? (size_t)(slash - p) : strlen(p);

		if (n == max)
			return -1;
		out[n].p = p;
		out[n].n = len;
		n++;
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	return n;
}

enum { PSEG_LIT, PSEG_ONE, PSEG_MANY };

/* Classifies a pattern segment and returns its capture name (for ONE/MANY). */
static int
pseg_kind(const seg *s, const char **name, size_t *nlen)
{
	if (s->n >= 3 && s->p[0] == '{' && s->p[s->n - 1] == '}') {
		*name = s->p + 1;
		*nlen = s->n - 2;
		if (*nlen > 3 && memcmp(s->p + s->n - 4, "...", 3) == 0) {
			*nlen -= 3;
			return PSEG_MANY;
		}
		return PSEG_ONE;
	}
	return PSEG_LIT;
}

gt_err
gt__http_pattern_check(const char *pattern)
{
	seg segs[GT__HTTP_MAX_SEGMENTS];
	int n, i;

	if ((n = split_segments(pattern, segs, GT__HTTP_MAX_SEGMENTS)) < 0)
		return GT_EINVAL;
	for (i = 0; i < n; i++) {
		const char *name;
		size_t      nlen, k;
		int         kind = pseg_kind(&segs[i], &name, &nlen);

		if (kind == PSEG_LIT) {
			/* A literal may not contain braces: catches "{x" and "a{x}". */
			if (memchr(segs[i].p, '{', segs[i].n) || memchr(segs[i].p, '}', segs[i].n))
				return GT_EINVAL;
			continue;
		}
		if (nlen == 0)
			return GT_EINVAL;
		for (k = 0; k < nlen; k++) {
			char c = name[k];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '_' || c == '-'))
				return GT_EINVAL;
		}
	}
	return GT_OK;
}

typedef struct capture {
	const char *name;
	size_t      nlen;
	const char *val; /* points into the path */
	size_t      vlen;
} capture;

typedef struct matcher {
	const seg *ps;
	int        np;
	const seg *ss;
	int        ns;
	capture    caps[GT__HTTP_MAX_SEGMENTS];
	int        ncaps;
} matcher;

/* Recursive segment matcher with backtracking for {name...}. Depth <= segments (bounded). */
static int
match_from(matcher *m, int pi, int si)
{
	const char *name;
	size_t      nlen;
	int         kind, j, saved = m->ncaps;

	if (pi == m->np)
		return si == m->ns;
	if (si == m->ns)
		return 0;
	kind = pseg_kind(&m->ps[pi], &name, &nlen);
	if (kind == PSEG_LIT) {
		if (m->ps[pi].n != m->ss[si].n ||
		    memcmp(m->ps[pi].p, m->ss[si].p, m->ss[si].n) != 0)
			return 0;
		return match_from(m, pi + 1, si + 1);
	}
	if (m->ss[si].n == 0)
		return 0;
	if (kind == PSEG_ONE) {
		m->caps[m->ncaps++] = (capture){name, nlen, m->ss[si].p, m->ss[si].n};
		if (match_from(m, pi + 1, si + 1))
			return 1;
		m->ncaps = saved;
		return 0;
	}
	/* {name...}: one or more non-empty segments, longest first. */
	for (j = si; j < m->ns && m->ss[j].n > 0; j++)
		;
	for (; j > si; j--) {
		const seg *last = &m->ss[j - 1];

		m->caps[m->ncaps++] =
		    (capture){name, nlen, m->ss[si].p, (size_t)(last->p + last->n - m->ss[si].p)};
		if (match_from(m, pi + 1, j))
			return 1;
		m->ncaps = saved;
	}
	return 0;
}

gt_err
gt__http_route_match(const char *pattern, const char *path, int decode, gt__http_pairs *params)
{
	seg     ps[GT__HTTP_MAX_SEGMENTS], ss[GT__HTTP_MAX_SEGMENTS];
	matcher m;
	size_t  before = params->n;
	int     i;
	gt_err  rv = GT_OK;

	if ((m.np = split_segments(pattern, ps, GT__HTTP_MAX_SEGMENTS)) < 0)
		return GT_EINVAL;
	if ((m.ns = split_segments(path, ss, GT__HTTP_MAX_SEGMENTS)) < 0)
		return GT_ENOENT;
	m.ps = ps;
	m.ss = ss;
	m.ncaps = 0;
	if (!match_from(&m, 0, 0))
		return GT_ENOENT;
	for (i = 0; i < m.ncaps && rv == GT_OK; i++) {
		const capture *c = &m.caps[i];

		if (decode) {
			char  *v;
			size_t vlen;

			if ((rv = decode_dup(c->val, c->vlen, 0, &v, &vlen)) != GT_OK)
				break;
			rv = gt__http_pairs_add(params, c->name, c->nlen, v, vlen);
			free(v);
		} else {
			rv = gt__http_pairs_add(params, c->name, c->nlen, c->val, c->vlen);
		}
	}
	if (rv != GT_OK)
		gt__http_pairs_truncate(params, before);
	return rv;
}

/* ---- bearer tokens ---- */

int
gt__http_bearer_ok(const char *authorization, const char *token)
{
	const char   *given;
	size_t        glen, tlen, i;
	unsigned char diff;

	if (authorization == NULL || token == NULL)
		return 0;
	if (strncasecmp(authorization, "Bearer ", 7) != 0)
		return 0;
	given = authorization + 7;
	while (*given == ' ')
		given++;
	glen = strlen(given);
	while (glen > 0 && (given[glen - 1] == ' ' || given[glen - 1] == '\t'))
		glen--;
	tlen = strlen(token);
	/* Compare every byte of the token whatever the input length (no early exit). */
	diff = (unsigned char)(glen != tlen);
	for (i = 0; i < tlen; i++)
		diff |= (unsigned char)(token[i] ^ (i < glen ? given[i] : 0));
	return diff == 0;
}

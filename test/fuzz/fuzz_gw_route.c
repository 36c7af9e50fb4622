/* fuzz_gw_route.c - a request target as the gateway sees it ("/api/v1/gpus/h%2F0/telemetry?
 * limit=5&metric=a,b"): the path matched against every route pattern the gateway registers
 * (gt__http_route_match, raw and percent-decoded), the query string split into pairs
 * (gt__http_query_parse), and the values handed to the parameter parsers the handlers call.
 * Oracles: a pattern matches raw exactly when it matches decoded (or the decoded capture is
 * refused as a bad escape); a match puts the path back together from the pattern's literals
 * and the raw captures; a decoded capture equals a reference percent-decoder's output; query
 * pairs survive percent-encode -> parse unchanged; parsing is deterministic. The gateway's
 * own parsers (times, limits, names, cursors, the WebSocket message) are fuzz_gw_param. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "gt/gt_query.h"
#include "gt_http_int.h"
#include "gw_param.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The gateway's routes (services/gateway/gw_api.c gw_api_routes). */
static const char *const patterns[] = {
    "/api/v1/gpus",
    "/api/v1/hosts",
    "/api/v1/gpus/{id...}/telemetry",
    "/api/v1/gpus/{id...}/aggregate",
    "/openapi.json",
    "/docs",
    "/docs/",
    "/docs/{file}",
};

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Reference path decoder: %XX -> byte; a bad escape or a decoded NUL -> -1. */
static long
ref_decode(const char *s, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			int h, l;

			if (i + 2 >= n || (h = hexval(s[i + 1])) < 0 || (l = hexval(s[i + 2])) < 0)
				return -1;
			if (h == 0 && l == 0)
				return -1;
			out[o++] = (char)(h * 16 + l);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return (long)o;
}

static void
check_route(const char *pattern, const char *path)
{
	gt__http_pairs raw, dec;
	gt_err         r1, r2;

	gt__http_pairs_init(&raw);
	gt__http_pairs_init(&dec);
	FUZZ_CHECK(gt__http_pattern_check(pattern) == GT_OK);
	r1 = gt__http_route_match(pattern, path, 0, &raw);
	r2 = gt__http_route_match(pattern, path, 1, &dec);
	FUZZ_CHECK(r1 == GT_OK || r1 == GT_ENOENT);
	FUZZ_CHECK((r1 == GT_ENOENT) == (r2 == GT_ENOENT));
	if (r1 == GT_OK) {
		const char *open = strchr(pattern, '{');
		size_t      i;

		if (open == NULL) {
			FUZZ_CHECK(raw.n == 0 && strcmp(path, pattern) == 0);
		} else {
			/* prefix literal + capture + suffix literal == the path */
			const char *close = strchr(open, '}');
			size_t      pre = (size_t)(open - pattern), suf = strlen(close + 1);
			size_t      cl;

			FUZZ_CHECK(raw.n == 1);
			cl = strlen(raw.v[0].value);
			FUZZ_CHECK(cl > 0 && strlen(path) == pre + cl + suf);
			FUZZ_CHECK(memcmp(path, pattern, pre) == 0);
			FUZZ_CHECK(memcmp(path + pre, raw.v[0].value, cl) == 0);
			FUZZ_CHECK(strcmp(path + pre + cl, close + 1) == 0);
			/* no empty segment inside a capture; {file} is one segment */
			FUZZ_CHECK(raw.v[0].value[0] != '/' && raw.v[0].value[cl - 1] != '/' &&
			           strstr(raw.v[0].value, "//") == NULL);
			if (strstr(pattern, "...") == NULL)
				FUZZ_CHECK(strchr(raw.v[0].value, '/') == NULL);
			if (r2 == GT_OK) {
				char *ref = malloc(cl + 1);
				long  rl = ref_decode(raw.v[0].value, cl, ref);

				FUZZ_CHECK(dec.n == 1 && strcmp(dec.v[0].name, raw.v[0].name) == 0);
				FUZZ_CHECK(rl >= 0 && strlen(dec.v[0].value) == (size_t)rl);
				FUZZ_CHECK(strcmp(dec.v[0].value, ref) == 0);
				free(ref);
			} else {
				char *ref = malloc(cl + 1);

				FUZZ_CHECK(r2 == GT_EINVAL);
				FUZZ_CHECK(ref_decode(raw.v[0].value, cl, ref) < 0);
				FUZZ_CHECK(dec.n == 0); /* rolled back */
				free(ref);
			}
		}
		for (i = 0; i < raw.n; i++)
			FUZZ_CHECK(strcmp(raw.v[i].name, "id") == 0 ||
			           strcmp(raw.v[i].name, "file") == 0);
	}
	gt__http_pairs_fini(&raw);
	gt__http_pairs_fini(&dec);
}

static void
encode(gt_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '_' || c == '.')
			gt_buf_append(b, s, 1);
		else
			gt_buf_printf(b, "%%%02X", c);
	}
}

/* What a handler does with its parameters: each through its parser (UB and crashes only;
 * the parsers' own oracles are in fuzz_gw_param). */
static void
use_params(const gt__http_pairs *q)
{
	char             msg[160];
	uint64_t         u;
	int64_t          t;
	int              bv;
	gt_query_metrics m;
	const char      *v;

	if ((v = gt__http_pairs_get(q, "limit")) != NULL)
		(void)gt_query_uint("limit", v, 1, 100000, &u, msg, sizeof(msg));
	if ((v = gt__http_pairs_get(q, "since")) != NULL)
		(void)gt_query_time("since", v, INT64_C(1795730400000000000), &t, msg, sizeof(msg));
	if ((v = gt__http_pairs_get(q, "reverse")) != NULL)
		(void)gt_query_bool("reverse", v, &bv, msg, sizeof(msg));
	if ((v = gt__http_pairs_get(q, "metric")) != NULL)
		(void)gt_query_names_parse("metric", v, GW_NAME_MAX, &m, msg, sizeof(msg));
	if ((v = gt__http_pairs_get(q, "cursor")) != NULL) {
		char    host[256], key[512];
		int32_t idx;

		(void)gw_cursor_decode(v, host, sizeof(host), &idx, key, sizeof(key));
	}
}

static void
check_query(const char *qs)
{
	gt__http_pairs q, q2, q3;
	gt_err         r;

	gt__http_pairs_init(&q);
	gt__http_pairs_init(&q2);
	gt__http_pairs_init(&q3);
	r = gt__http_query_parse(qs, strlen(qs), &q);
	FUZZ_CHECK(gt__http_query_parse(qs, strlen(qs), &q3) == r && q3.n == q.n);
	if (r == GT_OK) {
		gt_buf b;
		size_t i;

		FUZZ_CHECK(q.n <= GT__HTTP_MAX_PAIRS);
		gt_buf_init(&b);
		for (i = 0; i < q.n; i++) {
			FUZZ_CHECK(strcmp(q.v[i].name, q3.v[i].name) == 0 &&
			           strcmp(q.v[i].value, q3.v[i].value) == 0);
			if (i > 0)
				gt_buf_append(&b, "&", 1);
			encode(&b, q.v[i].name);
			gt_buf_append(&b, "=", 1);
			encode(&b, q.v[i].value);
		}
		FUZZ_CHECK(gt__http_query_parse(b.data ? b.data : "", b.len, &q2) == GT_OK);
		/* pieces with an empty name may be dropped by the parser: compare what both keep */
		{
			size_t k = 0;

			for (i = 0; i < q.n; i++) {
				if (q.v[i].name[0] == '\0')
					continue;
				while (k < q2.n && q2.v[k].name[0] == '\0')
					k++;
				FUZZ_CHECK(k < q2.n);
				FUZZ_CHECK(strcmp(q.v[i].name, q2.v[k].name) == 0);
				FUZZ_CHECK(strcmp(q.v[i].value, q2.v[k].value) == 0);
				k++;
			}
		}
		gt_buf_fini(&b);
		use_params(&q);
	} else {
		FUZZ_CHECK(q.n == 0); /* nothing kept on error */
	}
	gt__http_pairs_fini(&q);
	gt__http_pairs_fini(&q2);
	gt__http_pairs_fini(&q3);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char  *s = malloc(size + 1), *qm;
	size_t i;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0'; /* a target holds no NUL (the front door refuses one): up to the first */
	if ((qm = strchr(s, '?')) != NULL)
		*qm++ = '\0';
	for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
		check_route(patterns[i], s);
	if (qm != NULL)
		check_query(qm);
	free(s);
	return 0;
}

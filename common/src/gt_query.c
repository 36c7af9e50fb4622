/* gt_query.c - REST query parameters and status mapping (see gt_query.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gt/gt_query.h"
#include "gt/gt_time.h"

static gt_err __attribute__((format(printf, 4, 5)))
bad(char *msg, size_t msglen, const char *name, const char *fmt, ...)
{
	va_list ap;
	int     n;

	if (msglen == 0)
		return GT_EINVAL;
	n = snprintf(msg, msglen, "invalid parameter %s: ", name);
	if (n >= 0 && (size_t)n < msglen) {
		va_start(ap, fmt);
		vsnprintf(msg + n, msglen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return GT_EINVAL;
}

gt_err
gt_query_uint(const char *name, const char *v, uint64_t min, uint64_t max, uint64_t *out,
              char *msg, size_t msglen)
{
	uint64_t x = 0;
	size_t   i;

	for (i = 0; v[i] != '\0'; i++) {
		if (v[i] < '0' || v[i] > '9' || x > (UINT64_MAX - 9) / 10)
			break;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	if (i == 0 || v[i] != '\0' || x < min || x > max)
		return bad(msg, msglen, name, "want an integer %llu..%llu", (unsigned long long)min,
		           (unsigned long long)max);
	*out = x;
	return GT_OK;
}

gt_err
gt_query_bool(const char *name, const char *v, int *out, char *msg, size_t msglen)
{
	if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes")) {
		*out = 1;
		return GT_OK;
	}
	if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no")) {
		*out = 0;
		return GT_OK;
	}
	return bad(msg, msglen, name, "want true or false");
}

gt_err
gt_query_time(const char *name, const char *v, int64_t now_ns, int64_t *out, char *msg,
              size_t msglen)
{
	const char *p = v;
	int64_t     d;

	if (strncmp(p, "now", 3) == 0) {
		p += 3;
		if (*p == '\0') {
			*out = now_ns;
			return GT_OK;
		}
	}
	if ((*p == '-' || *p == '+') && p[1] != '\0' &&
	    gt_duration_parse(p + 1, &d) == GT_OK) {
		if (*p == '-' ? now_ns < INT64_MIN + d : now_ns > INT64_MAX - d)
			return bad(msg, msglen, name, "out of range");
		*out = *p == '-' ? now_ns - d : now_ns + d;
		return GT_OK;
	}
	if (p == v && gt_time_parse(v, out) == GT_OK)
		return GT_OK;
	return bad(msg, msglen, name,
	           "want RFC 3339, unix ns, now or a relative time like -15m or now-1h");
}

int
gt_query_name_ok(const char *s, size_t len, size_t max_len)
{
	size_t i;

	if (len == 0 || len > max_len)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == ':' ||
		      s[i] == '-'))
			return 0;
	return 1;
}

/* The list walk of both list parsers; strict: names are checked by gt_query_name_ok. */
static gt_err
list_parse(const char *name, const char *v, size_t max_len, int strict, gt_query_metrics *m,
           char *msg, size_t msglen)
{
	char  *d = m->buf;
	size_t n;

	m->n = 0;
	while (*v != '\0') {
		n = strcspn(v, ",");
		if (strict && n > 0 && !gt_query_name_ok(v, n, max_len))
			return bad(msg, msglen, name, "a name is 1..%zu of [A-Za-z0-9_.:-]", max_len);
		if (n > max_len)
			return bad(msg, msglen, name, "a metric name has at most %zu characters",
			           max_len);
		if (n > 0) {
			if (m->n == GT_QUERY_MAX_METRICS)
				return bad(msg, msglen, name, "at most %d names",
				           GT_QUERY_MAX_METRICS);
			memcpy(d, v, n);
			d[n] = '\0';
			m->names[m->n++] = d;
			d += n + 1;
		}
		v += n;
		if (*v == ',')
			v++;
	}
	return GT_OK;
}

gt_err
gt_query_metrics_parse(const char *name, const char *v, gt_query_metrics *m, char *msg,
                       size_t msglen)
{
	return list_parse(name, v, GT_QUERY_MAX_METRIC_LEN, 0, m, msg, msglen);
}

gt_err
gt_query_names_parse(const char *name, const char *v, size_t max_len, gt_query_metrics *m,
                     char *msg, size_t msglen)
{
	if (max_len == 0 || max_len > GT_QUERY_MAX_METRIC_LEN)
		max_len = GT_QUERY_MAX_METRIC_LEN;
	return list_parse(name, v, max_len, 1, m, msg, msglen);
}

int
gt_query_http_status(gt_rpc_code c)
{
	switch (c) {
	case GT_RPC_OK:
		return 200;
	case GT_RPC_CANCELLED:
		return 499;
	case GT_RPC_INVALID_ARGUMENT:
	case GT_RPC_FAILED_PRECONDITION:
		return 400;
	case GT_RPC_DEADLINE_EXCEEDED:
		return 504;
	case GT_RPC_NOT_FOUND:
		return 404;
	case GT_RPC_ALREADY_EXISTS:
		return 409;
	case GT_RPC_RESOURCE_EXHAUSTED:
		return 429;
	case GT_RPC_UNIMPLEMENTED:
		return 501;
	case GT_RPC_UNAVAILABLE:
		return 503;
	case GT_RPC_UNAUTHENTICATED:
		return 401;
	case GT_RPC_UNKNOWN:
	case GT_RPC_INTERNAL:
		return 500;
	}
	return 500;
}

int
gt_query_http_status_err(gt_err e)
{
	return gt_query_http_status(gt_rpc_code_from_err(e));
}

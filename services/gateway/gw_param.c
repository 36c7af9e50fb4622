/* gw_param.c - parameter parsers (see gw_param.h). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_param.h"

/* One WebSocket subscription name into names[*n] (a gt_query checked name); an empty name
 * is skipped, as in a query-string list. */
static gt_err
add_name(const char *p, size_t len, char names[][GW_NAME_MAX + 1], size_t *n)
{
	if (len == 0)
		return GT_OK;
	if (*n >= GW_MAX_NAMES || !gt_query_name_ok(p, len, GW_NAME_MAX))
		return GT_EINVAL;
	memcpy(names[*n], p, len);
	names[*n][len] = '\0';
	(*n)++;
	return GT_OK;
}

const char *
gw_agg_check(int64_t since, int64_t until, int64_t step)
{
	int64_t span;

	if (step <= 0)
		return "step";
	if (since > until)
		return "since";
	if (__builtin_sub_overflow(until, since, &span))
		return "since";
	if ((uint64_t)span / (uint64_t)step >= GW_MAX_AGG_POINTS)
		return "step";
	return NULL;
}

/* ---- cursors ---- */

gt_err
gw_cursor_encode(const char *host, int32_t index, const char *key, char *out, size_t cap)
{
	char   raw[1024];
	int    n = snprintf(raw, sizeof(raw), "%s\x1f%d\x1f%s", host ? host : "", index,
	                    key ? key : "");
	size_t i;

	if (n < 0 || (size_t)n >= sizeof(raw) || (size_t)n * 2 + 1 > cap)
		return GT_EINVAL;
	for (i = 0; i < (size_t)n; i++)
		snprintf(out + 2 * i, 3, "%02x", (unsigned char)raw[i]);
	out[2 * (size_t)n] = '\0';
	return GT_OK;
}

static int
hexval(int c)
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
gw_cursor_decode(const char *s, char *host, size_t hcap, int32_t *index, char *key, size_t kcap)
{
	char        raw[1024];
	size_t      n = s ? strlen(s) : 0, i;
	const char *a, *b;
	char       *end;
	long        v;

	if (n == 0 || n % 2 || n / 2 >= sizeof(raw))
		return GT_EINVAL;
	for (i = 0; i < n / 2; i++) {
		int h = hexval((unsigned char)s[2 * i]), l = hexval((unsigned char)s[2 * i + 1]);

		if (h < 0 || l < 0 || (h == 0 && l == 0))
			return GT_EINVAL;
		raw[i] = (char)(h << 4 | l);
	}
	raw[n / 2] = '\0';
	if ((a = strchr(raw, '\x1f')) == NULL || (b = strchr(a + 1, '\x1f')) == NULL)
		return GT_EINVAL;
	if ((size_t)(a - raw) >= hcap || strlen(b + 1) >= kcap)
		return GT_EINVAL;
	errno = 0;
	v = strtol(a + 1, &end, 10);
	if (errno != 0 || end != b || end == a + 1 || v < INT32_MIN || v > INT32_MAX)
		return GT_EINVAL;
	memcpy(host, raw, (size_t)(a - raw));
	host[a - raw] = '\0';
	*index = (int32_t)v;
	strcpy(key, b + 1);
	return GT_OK;
}

/* ---- WebSocket client messages ---- */

static gt_err
ws_fail(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
	return GT_EINVAL;
}

void
gw_ws_msg_fini(gw_ws_msg *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->ngpus; i++)
		free(m->gpus[i]);
	free(m->gpus);
	free(m->ping);
	memset(m, 0, sizeof(*m));
}

static gt_err
ws_subscribe(json_t *sub, gw_ws_msg *out, char *err, size_t errlen)
{
	json_t *gpus = json_object_get(sub, "gpus"), *metrics = json_object_get(sub, "metrics");
	json_t *it;
	size_t  i;

	if (!json_is_object(sub))
		return ws_fail(err, errlen, "subscribe must be an object");
	out->type = GW_WS_SUBSCRIBE;
	if (gpus == NULL) {
		out->all_gpus = 1;
	} else {
		if (!json_is_array(gpus))
			return ws_fail(err, errlen, "subscribe.gpus must be an array of strings");
		if (json_array_size(gpus) > GW_MAX_WS_GPUS)
			return ws_fail(err, errlen, "subscribe.gpus: too many keys (at most 1024)");
		if ((out->gpus = calloc(json_array_size(gpus) + 1, sizeof(char *))) == NULL)
			return ws_fail(err, errlen, "out of memory");
		json_array_foreach(gpus, i, it)
		{
			const char *k = json_string_value(it);

			if (!json_is_string(it) || *k == '\0' || strlen(k) > 512 ||
			    memchr(k, '\0', json_string_length(it)) != NULL)
				return ws_fail(err, errlen,
				               "subscribe.gpus must hold non-empty strings");
			if (strcmp(k, "*") == 0) {
				out->all_gpus = 1;
				continue;
			}
			if ((out->gpus[out->ngpus] = strdup(k)) == NULL)
				return ws_fail(err, errlen, "out of memory");
			out->ngpus++;
		}
	}
	if (metrics != NULL) {
		if (!json_is_array(metrics))
			return ws_fail(err, errlen, "subscribe.metrics must be an array of strings");
		json_array_foreach(metrics, i, it)
		{
			const char *k = json_string_value(it);

			if (!json_is_string(it) ||
			    add_name(k, json_string_length(it), out->metrics, &out->nmetrics) !=
			        GT_OK ||
			    strlen(k) != json_string_length(it))
				return ws_fail(err, errlen,
				               "subscribe.metrics: at most 32 names of "
				               "[A-Za-z0-9_.:-]{1,64}");
		}
	}
	return GT_OK;
}

gt_err
gw_ws_msg_parse(const void *data, size_t len, gw_ws_msg *out, char *err, size_t errlen)
{
	json_error_t je;
	json_t      *root, *v;
	gt_err       rv;

	memset(out, 0, sizeof(*out));
	if ((root = json_loadb(data, len, JSON_DECODE_ANY, &je)) == NULL)
		return ws_fail(err, errlen, "not JSON");
	if (!json_is_object(root)) {
		rv = ws_fail(err, errlen, "want an object: {\"subscribe\":{...}} or {\"ping\":...}");
	} else if ((v = json_object_get(root, "subscribe")) != NULL) {
		rv = ws_subscribe(v, out, err, errlen);
	} else if ((v = json_object_get(root, "ping")) != NULL) {
		out->type = GW_WS_PING;
		out->ping = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		rv = out->ping != NULL ? GT_OK : ws_fail(err, errlen, "out of memory");
	} else {
		rv = ws_fail(err, errlen, "unknown message: want subscribe or ping");
	}
	json_decref(root);
	if (rv != GT_OK)
		gw_ws_msg_fini(out);
	return rv;
}

/* gw_api.c - the REST API over the collectors: /api/v1/gpus, /api/v1/hosts,
 * /api/v1/gpus/{id}/telemetry, /api/v1/gpus/{id}/aggregate, /openapi.json, /docs.
 * Handlers run on the lws thread: they parse, check the cache and start a scatter-gather;
 * the reply is written by the completion (gw_fan). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_gpu_metrics.h"
#include "gt/gt_json.h"
#include "gt/gt_query.h"
#include "gt/gt_time.h"
#include "gw_int.h"
#include "gw_param.h"

#define GW_DEF_GPU_LIMIT 1000
#define GW_MAX_GPU_LIMIT 10000
#define GW_DEF_TEL_LIMIT 100
#define GW_MAX_TEL_LIMIT 100000
#define GW_MAX_EXPORT_LIMIT 1000000000
#define GW_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- shared ---- */

void
gw_reply_pb(gw_req *q, const ProtobufCMessage *m, int cacheable)
{
	size_t   n = protobuf_c_message_get_packed_size(m);
	uint8_t *p = malloc(n ? n : 1);

	if (p == NULL) {
		gw_error(q, 500, "out of memory");
		return;
	}
	protobuf_c_message_pack(m, p);
	gw_reply(q, 200, "application/x-protobuf", p, n, cacheable);
	free(p);
}

static int
name_in(const char *name, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return 1;
	return 0;
}

size_t
gw_record_json(gt_buf *b, const Gtpb__V1__TelemetryRecord *r, const char *const *names, size_t n,
               const char *type)
{
	char   ts[40];
	size_t i, written = 0;
	int    first = 1;

	gt_buf_putc(b, '{');
	if (type != NULL) {
		gt_buf_puts(b, "\"type\":");
		gt_json_cstr(b, type);
		gt_buf_putc(b, ',');
	}
	gt_rfc3339_format(r->timestamp_ns, 9, ts, sizeof(ts));
	gt_buf_puts(b, "\"timestamp\":");
	gt_json_cstr(b, ts);
	gt_buf_printf(b, ",\"timestamp_ns\":%" PRId64 ",\"gpu_key\":", r->timestamp_ns);
	gt_json_cstr(b, r->gpu_key);
	gt_buf_puts(b, ",\"hostname\":");
	gt_json_cstr(b, r->hostname);
	gt_buf_puts(b, ",\"uuid\":");
	gt_json_cstr(b, r->uuid);
	gt_buf_puts(b, ",\"model\":");
	gt_json_cstr(b, r->model);
	gt_buf_printf(b, ",\"gpu_index\":%d,\"device\":", r->gpu_index);
	gt_json_cstr(b, r->device);
	gt_buf_puts(b, ",\"metrics\":{");
	for (i = 0; i < r->n_metrics; i++) {
		if (n > 0 && !name_in(r->metrics[i]->key, names, n))
			continue;
		gt_json_key(b, &first, r->metrics[i]->key);
		gt_json_dbl(b, r->metrics[i]->value);
		written++;
	}
	gt_buf_puts(b, "},\"labels\":{");
	first = 1;
	for (i = 0; i < r->n_labels; i++) {
		gt_json_key(b, &first, r->labels[i]->key);
		gt_json_cstr(b, r->labels[i]->value);
	}
	gt_buf_puts(b, "}}");
	return written;
}

/* ---- /api/v1/gpus and /api/v1/hosts ---- */

typedef struct gpus_q {
	gw_req *q;
	int     hosts; /* /api/v1/hosts */
	char    host[256], model[256], ns[256], pod[256];
	int     has_host, has_model, has_ns, has_pod, stale; /* stale: -1 = any */
	size_t  limit;
	int     has_cursor;
	char    c_host[256], c_key[512];
	int32_t c_index;
} gpus_q;

typedef struct gpu_row {
	const Gtpb__V1__GpuInfo *gi;
	uint64_t                 records;
	int64_t                  last;
	int                      stale;
} gpu_row;

static int
cmp_key(const void *a, const void *b)
{
	return strcmp(((const gpu_row *)a)->gi->gpu_key, ((const gpu_row *)b)->gi->gpu_key);
}

static int
cmp_sort(const gpu_row *x, const char *host, int32_t index, const char *key)
{
	int c = strcmp(x->gi->hostname, host);

	if (c != 0)
		return c;
	if (x->gi->gpu_index != index)
		return x->gi->gpu_index < index ? -1 : 1;
	return strcmp(x->gi->gpu_key, key);
}

static int
cmp_rows(const void *a, const void *b)
{
	const gpu_row *y = b;

	return cmp_sort(a, y->gi->hostname, y->gi->gpu_index, y->gi->gpu_key);
}

static const char *
gi_label(const Gtpb__V1__GpuInfo *gi, const char *k)
{
	size_t i;

	for (i = 0; i < gi->n_labels; i++)
		if (strcmp(gi->labels[i]->key, k) == 0)
			return gi->labels[i]->value;
	return NULL;
}

/* Merges the collectors' lists by key (newest last_seen wins, records add up), sorted by
 * hostname, index, key. *n rows; the GpuInfo are borrowed from res. */
static gpu_row *
merge_gpus(gw *g, gw_fan_res *res, size_t nres, size_t *n)
{
	size_t   i, k, total = 0, m = 0;
	gpu_row *v;
	int64_t  now = gt_now_ns();

	for (i = 0; i < nres; i++)
		if (res[i].code == GT_RPC_OK)
			total += ((Gtpb__V1__ListGpusResponse *)res[i].out)->n_gpus;
	if ((v = calloc(total ? total : 1, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < nres; i++) {
		const Gtpb__V1__ListGpusResponse *r = (const void *)res[i].out;

		if (res[i].code != GT_RPC_OK)
			continue;
		for (k = 0; k < r->n_gpus; k++) {
			v[m].gi = r->gpus[k];
			v[m].records = r->gpus[k]->records;
			v[m].last = r->gpus[k]->last_seen_ns;
			m++;
		}
	}
	qsort(v, m, sizeof(*v), cmp_key);
	for (i = 0, k = 0; i < m; i++) {
		if (k > 0 && strcmp(v[k - 1].gi->gpu_key, v[i].gi->gpu_key) == 0) {
			v[k - 1].records += v[i].records;
			if (v[i].last > v[k - 1].last) {
				v[k - 1].gi = v[i].gi;
				v[k - 1].last = v[i].last;
			}
			continue;
		}
		v[k++] = v[i];
	}
	for (i = 0; i < k; i++) {
		int64_t rx = gw_live_last_rx(g->live, v[i].gi->gpu_key);
		int64_t last = rx > v[i].last ? rx : v[i].last;

		v[i].stale = last < now - g->cfg->stale_after;
	}
	qsort(v, k, sizeof(*v), cmp_rows);
	*n = k;
	return v;
}

static int
row_matches(const gpus_q *p, const gpu_row *r)
{
	const char *l;

	if (p->has_host && strcmp(r->gi->hostname, p->host) != 0)
		return 0;
	if (p->has_model && strcmp(r->gi->model, p->model) != 0)
		return 0;
	if (p->stale >= 0 && r->stale != p->stale)
		return 0;
	if (p->has_ns && ((l = gi_label(r->gi, "namespace")) == NULL || strcmp(l, p->ns) != 0))
		return 0;
	if (p->has_pod && ((l = gi_label(r->gi, "pod")) == NULL || strcmp(l, p->pod) != 0))
		return 0;
	return 1;
}

static void
gpu_json(gt_buf *b, const gpu_row *r)
{
	const Gtpb__V1__GpuInfo *gi = r->gi;
	char                     ts[40];
	size_t                   i;
	int                      first = 1;

	gt_buf_puts(b, "{\"key\":");
	gt_json_cstr(b, gi->gpu_key);
	gt_buf_puts(b, ",\"hostname\":");
	gt_json_cstr(b, gi->hostname);
	gt_buf_puts(b, ",\"uuid\":");
	gt_json_cstr(b, gi->uuid);
	gt_buf_puts(b, ",\"model\":");
	gt_json_cstr(b, gi->model);
	gt_buf_printf(b, ",\"index\":%d,\"device\":", gi->gpu_index);
	gt_json_cstr(b, gi->device);
	gt_rfc3339_format(r->last, 9, ts, sizeof(ts));
	gt_buf_puts(b, ",\"last_seen\":");
	gt_json_cstr(b, ts);
	gt_buf_printf(b, ",\"last_seen_ns\":%" PRId64 ",\"stale\":%s,\"metrics\":{", r->last,
	              r->stale ? "true" : "false");
	for (i = 0; i < gi->n_latest; i++) {
		gt_json_key(b, &first, gi->latest[i]->key);
		gt_json_dbl(b, gi->latest[i]->value);
	}
	gt_buf_puts(b, "},\"labels\":{");
	first = 1;
	for (i = 0; i < gi->n_labels; i++) {
		gt_json_key(b, &first, gi->labels[i]->key);
		gt_json_cstr(b, gi->labels[i]->value);
	}
	gt_buf_printf(b, "},\"records\":%" PRIu64 "}", r->records);
}

static void
hosts_reply(gpus_q *p, gpu_row *v, size_t n, gw_fan_res *res, size_t nres)
{
	gt_buf b;
	size_t i, j;

	gt_buf_init(&b);
	gt_buf_puts(&b, "{\"hosts\":[");
	for (i = 0; i < n; i = j) {
		size_t stale = 0;

		for (j = i; j < n && strcmp(v[j].gi->hostname, v[i].gi->hostname) == 0; j++)
			stale += (size_t)v[j].stale;
		if (i)
			gt_buf_putc(&b, ',');
		gt_buf_puts(&b, "{\"hostname\":");
		gt_json_cstr(&b, v[i].gi->hostname);
		gt_buf_printf(&b, ",\"gpus\":%zu,\"stale_gpus\":%zu,\"keys\":[", j - i, stale);
		for (size_t k = i; k < j; k++) {
			if (k > i)
				gt_buf_putc(&b, ',');
			gt_json_cstr(&b, v[k].gi->gpu_key);
		}
		gt_buf_puts(&b, "]}");
	}
	gt_buf_putc(&b, ']');
	{
		size_t missing = gw_partial_json(&b, res, nres);

		gt_buf_putc(&b, '}');
		gw_reply_json(p->q, 200, &b, missing == 0);
	}
	gt_buf_fini(&b);
}

static void
gpus_done(void *arg, gw_fan_res *res, size_t nres)
{
	gpus_q  *p = arg;
	gpu_row *v;
	size_t   n = 0, i, ok = 0, start = 0, out = 0, last = 0;
	gt_buf   b;

	for (i = 0; i < nres; i++)
		ok += res[i].code == GT_RPC_OK;
	if (ok == 0) {
		gw_error(p->q, gw_fan_fail_status(res, nres), "no collector answered: %s",
		         nres ? res[0].msg : "none configured");
		free(p);
		return;
	}
	if ((v = merge_gpus(p->q->g, res, nres, &n)) == NULL) {
		gw_error(p->q, 500, "out of memory");
		free(p);
		return;
	}
	if (p->hosts) {
		hosts_reply(p, v, n, res, nres);
		free(v);
		free(p);
		return;
	}
	if (p->has_cursor)
		while (start < n && cmp_sort(&v[start], p->c_host, p->c_index, p->c_key) <= 0)
			start++;
	if (p->q->pb) {
		Gtpb__V1__ListGpusResponse out_pb = GTPB__V1__LIST_GPUS_RESPONSE__INIT;
		Gtpb__V1__GpuInfo        **gp = calloc(n ? n : 1, sizeof(*gp));

		if (gp == NULL) {
			gw_error(p->q, 500, "out of memory");
		} else {
			for (i = start; i < n && out < p->limit; i++)
				if (row_matches(p, &v[i]))
					gp[out++] = (Gtpb__V1__GpuInfo *)v[i].gi;
			out_pb.gpus = gp;
			out_pb.n_gpus = out;
			gw_reply_pb(p->q, &out_pb.base, 1);
			free(gp);
		}
		free(v);
		free(p);
		return;
	}
	gt_buf_init(&b);
	gt_buf_puts(&b, "{\"gpus\":[");
	for (i = start; i < n; i++) {
		if (!row_matches(p, &v[i]))
			continue;
		if (out == p->limit)
			break;
		if (out++)
			gt_buf_putc(&b, ',');
		gpu_json(&b, &v[i]);
		last = i;
	}
	gt_buf_puts(&b, "],\"next_cursor\":");
	if (i < n && out == p->limit) {
		/* more may match: the cursor is the last GPU returned */
		size_t j;

		for (j = i; j < n && !row_matches(p, &v[j]); j++)
			;
		if (j < n) {
			char cur[2100];

			if (gw_cursor_encode(v[last].gi->hostname, v[last].gi->gpu_index,
			                     v[last].gi->gpu_key, cur, sizeof(cur)) == GT_OK)
				gt_json_cstr(&b, cur);
			else
				gt_buf_puts(&b, "null");
		} else {
			gt_buf_puts(&b, "null");
		}
	} else {
		gt_buf_puts(&b, "null");
	}
	gt_buf_printf(&b, ",\"count\":%zu", out);
	{
		size_t missing = gw_partial_json(&b, res, nres);

		gt_buf_putc(&b, '}');
		gw_reply_json(p->q, 200, &b, missing == 0);
	}
	gt_buf_fini(&b);
	free(v);
	free(p);
}

static int
copy_param(gt_http_req *req, const char *name, char *dst, size_t cap, int *has)
{
	const char *v = gt_http_req_query(req, name);

	*has = 0;
	if (v == NULL)
		return 0;
	if (strlen(v) >= cap)
		return -1;
	strcpy(dst, v);
	*has = 1;
	return 0;
}

static void
gpus_start(gw *g, gt_http_req *req, int hosts)
{
	gpus_q                   *p;
	gw_req                   *q;
	gw_dep                   *deps[GW_MAX_COLLECTORS];
	Gtpb__V1__ListGpusRequest in = GTPB__V1__LIST_GPUS_REQUEST__INIT;
	const char               *v;
	uint64_t                  u;
	char                      key[2048], msg[160];
	const char *const         names[] = {"host", "model", "namespace", "pod", "stale", "limit",
	                                     "cursor"};
	size_t                    i, kl;
	int                       route = hosts ? GW_R_HOSTS : GW_R_GPUS;

	/* The cache key: the route, the parameters it reads, and the answer's format. */
	kl = (size_t)snprintf(key, sizeof(key), "%s|%d", hosts ? "hosts" : "gpus",
	                      gt_http_req_wants_protobuf(req));
	for (i = 0; i < GW_NELEM(names) && kl < sizeof(key); i++)
		if ((v = gt_http_req_query(req, names[i])) != NULL)
			kl += (size_t)snprintf(key + kl, sizeof(key) - kl, "|%s=%s", names[i], v);
	if ((q = gw_req_begin(g, req, route, kl < sizeof(key) ? key : NULL)) == NULL)
		return;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		gw_error(q, 500, "out of memory");
		return;
	}
	p->q = q;
	p->hosts = hosts;
	p->stale = -1;
	p->limit = GW_DEF_GPU_LIMIT;
	if (copy_param(req, "host", p->host, sizeof(p->host), &p->has_host) != 0 ||
	    copy_param(req, "model", p->model, sizeof(p->model), &p->has_model) != 0 ||
	    copy_param(req, "namespace", p->ns, sizeof(p->ns), &p->has_ns) != 0 ||
	    copy_param(req, "pod", p->pod, sizeof(p->pod), &p->has_pod) != 0) {
		gw_error(q, 400, "invalid parameter: host, model, namespace and pod are at most 255 "
		                 "bytes");
		free(p);
		return;
	}
	if ((v = gt_http_req_query(req, "stale")) != NULL &&
	    gt_query_bool("stale", v, &p->stale, msg, sizeof(msg)) != GT_OK) {
		gw_error(q, 400, "%s", msg);
		free(p);
		return;
	}
	if ((v = gt_http_req_query(req, "limit")) != NULL) {
		if (gt_query_uint("limit", v, 1, GW_MAX_GPU_LIMIT, &u, msg, sizeof(msg)) != GT_OK) {
			gw_error(q, 400, "%s", msg);
			free(p);
			return;
		}
		p->limit = (size_t)u;
	}
	if ((v = gt_http_req_query(req, "cursor")) != NULL) {
		if (gw_cursor_decode(v, p->c_host, sizeof(p->c_host), &p->c_index, p->c_key,
		                     sizeof(p->c_key)) != GT_OK) {
			gw_error(q, 400, "invalid parameter cursor: use next_cursor as given");
			free(p);
			return;
		}
		p->has_cursor = 1;
	}
	if (gw_fan(g, deps, gw_collectors(g, deps), &gtpb__v1__telemetry_service__descriptor,
	           "ListGpus", &in.base, 0, gpus_done, p) != GT_OK) {
		gw_error(q, 500, "out of memory");
		free(p);
	}
}

static void
h_gpus(gt_http_req *req, void *arg)
{
	gpus_start(arg, req, 0);
}

static void
h_hosts(gt_http_req *req, void *arg)
{
	gpus_start(arg, req, 1);
}

/* ---- /api/v1/gpus/{id}/telemetry ---- */

typedef struct tel_q {
	gw_req *q;
	char   *gpu;
	size_t  limit;
	int     reverse;
	gt_query_metrics names; /* the metric filter; strings of the request point here */
} tel_q;

static int
cmp_ts_desc(const void *a, const void *b)
{
	const Gtpb__V1__TelemetryRecord *x = *(const Gtpb__V1__TelemetryRecord *const *)a,
	                                *y = *(const Gtpb__V1__TelemetryRecord *const *)b;

	return x->timestamp_ns < y->timestamp_ns ? 1 : x->timestamp_ns > y->timestamp_ns ? -1 : 0;
}

static int
cmp_ts_asc(const void *a, const void *b)
{
	return -cmp_ts_desc(a, b);
}

/* Merges the answers of a GetTelemetry scatter-gather by timestamp. Returns the status to
 * answer with (200, 404, 503, 504); on 200 *recs (malloc'd, borrowed records) holds at most
 * limit records and *truncated says whether more matched. */
int
gw_tel_merge(gw_fan_res *res, size_t nres, size_t limit, int reverse,
             Gtpb__V1__TelemetryRecord ***recs, size_t *n, int *truncated)
{
	size_t i, k, total = 0, ok = 0, notfound = 0;

	*recs = NULL;
	*n = 0;
	*truncated = 0;
	for (i = 0; i < nres; i++) {
		if (res[i].code == GT_RPC_OK) {
			const Gtpb__V1__GetTelemetryResponse *r = (const void *)res[i].out;

			ok++;
			total += r->n_records;
			*truncated |= r->truncated;
		} else if (res[i].code == GT_RPC_NOT_FOUND) {
			notfound++;
		}
	}
	if (ok == 0)
		return notfound == nres ? 404 : gw_fan_fail_status(res, nres);
	if ((*recs = malloc((total ? total : 1) * sizeof(**recs))) == NULL)
		return 500;
	for (i = 0; i < nres; i++) {
		const Gtpb__V1__GetTelemetryResponse *r = (const void *)res[i].out;

		if (res[i].code != GT_RPC_OK)
			continue;
		for (k = 0; k < r->n_records; k++)
			(*recs)[(*n)++] = r->records[k];
	}
	if (ok > 1)
		qsort(*recs, *n, sizeof(**recs), reverse ? cmp_ts_asc : cmp_ts_desc);
	if (*n > limit) {
		*n = limit;
		*truncated = 1;
	}
	return 200;
}

static void
tel_done(void *arg, gw_fan_res *res, size_t nres)
{
	tel_q                      *t = arg;
	Gtpb__V1__TelemetryRecord **recs = NULL;
	size_t                      n = 0, i;
	int                         truncated, st;
	const char                 *nm[GW_MAX_NAMES];

	st = gw_tel_merge(res, nres, t->limit, t->reverse, &recs, &n, &truncated);
	if (st == 404) {
		gw_error(t->q, 404, "no such gpu: %s", t->gpu);
	} else if (st != 200) {
		gw_error(t->q, st, "no collector could answer for gpu %s: %s", t->gpu,
		         nres ? res[0].msg : "");
	} else if (t->q->pb) {
		Gtpb__V1__GetTelemetryResponse out = GTPB__V1__GET_TELEMETRY_RESPONSE__INIT;

		out.records = recs;
		out.n_records = n;
		out.truncated = truncated;
		gw_reply_pb(t->q, &out.base, 1);
	} else {
		gt_buf b;
		size_t missing;

		for (i = 0; i < t->names.n; i++)
			nm[i] = t->names.names[i];
		gt_buf_init(&b);
		gt_buf_puts(&b, "{\"gpu\":");
		gt_json_cstr(&b, t->gpu);
		gt_buf_printf(&b, ",\"count\":%zu,\"records\":[", n);
		for (i = 0; i < n; i++) {
			if (i)
				gt_buf_putc(&b, ',');
			gw_record_json(&b, recs[i], nm, t->names.n, NULL);
		}
		gt_buf_printf(&b, "],\"truncated\":%s", truncated ? "true" : "false");
		missing = gw_partial_json(&b, res, nres);
		gt_buf_putc(&b, '}');
		gw_reply_json(t->q, 200, &b, missing == 0);
		gt_buf_fini(&b);
	}
	free(recs);
	free(t->gpu);
	free(t);
}

/* Reads the telemetry parameters into in (strings point into the request / names). */
static int
tel_params(gw_req *q, Gtpb__V1__GetTelemetryRequest *in, gt_query_metrics *names, char **mptr,
           int *fmt)
{
	gt_http_req *req = q->req;
	const char  *v, *mname = "metric";
	char         msg[160];
	uint64_t     u;
	int64_t      now = gt_now_ns(), t;
	int          b;
	size_t       i;

	uint64_t     maxlim;

	*fmt = 0;
	if ((v = gt_http_req_query(req, "format")) != NULL) {
		if (strcmp(v, "json") == 0)
			*fmt = 0;
		else if (strcmp(v, "ndjson") == 0)
			*fmt = 1;
		else if (strcmp(v, "csv") == 0)
			*fmt = 2;
		else {
			gw_error(q, 400, "invalid parameter format: want json, ndjson or csv");
			return -1;
		}
	}
	/* streamed exports may be as large as wanted; a JSON answer is built in memory */
	maxlim = *fmt != 0 && !q->pb ? GW_MAX_EXPORT_LIMIT : GW_MAX_TEL_LIMIT;
	in->limit = GW_DEF_TEL_LIMIT;
	if ((v = gt_http_req_query(req, "limit")) != NULL) {
		if (gt_query_uint("limit", v, 1, maxlim, &u, msg, sizeof(msg)) != GT_OK) {
			gw_error(q, 400, "%s", msg);
			return -1;
		}
		in->limit = (uint32_t)u;
	}
	if ((v = gt_http_req_query(req, "reverse")) != NULL) {
		if (gt_query_bool("reverse", v, &b, msg, sizeof(msg)) != GT_OK) {
			gw_error(q, 400, "%s", msg);
			return -1;
		}
		in->reverse = b;
	}
	if ((v = gt_http_req_query(req, "since")) != NULL) {
		if (gt_query_time("since", v, now, &t, msg, sizeof(msg)) != GT_OK) {
			gw_error(q, 400, "%s", msg);
			return -1;
		}
		in->since_ns = t == 0 ? 1 : t; /* 0 means unbounded on the wire */
	}
	if ((v = gt_http_req_query(req, "until")) != NULL) {
		if (gt_query_time("until", v, now, &t, msg, sizeof(msg)) != GT_OK) {
			gw_error(q, 400, "%s", msg);
			return -1;
		}
		in->until_ns = t == 0 ? -1 : t;
	}
	if (in->since_ns && in->until_ns && in->since_ns > in->until_ns) {
		gw_error(q, 400, "invalid parameter since: after until");
		return -1;
	}
	if ((v = gt_http_req_query(req, mname)) != NULL ||
	    (v = gt_http_req_query(req, mname = "metrics")) != NULL) {
		if (gt_query_names_parse(mname, v, GW_NAME_MAX, names, msg, sizeof(msg)) != GT_OK) {
			gw_error(q, 400, "%s", msg);
			return -1;
		}
		for (i = 0; i < names->n; i++)
			mptr[i] = (char *)names->names[i];
		in->metrics = mptr;
		in->n_metrics = names->n;
	}
	return 0;
}

static void
h_telemetry(gt_http_req *req, void *arg)
{
	gw                            *g = arg;
	const char                    *id = gt_http_req_param(req, "id");
	Gtpb__V1__GetTelemetryRequest  in = GTPB__V1__GET_TELEMETRY_REQUEST__INIT;
	gw_dep                        *deps[GW_MAX_COLLECTORS];
	char                           key[2048];
	char                          *mptr[GW_MAX_NAMES];
	const char *const names[] = {"limit", "reverse", "since", "until", "metric", "metrics",
	                             "format"};
	const char *v;
	size_t      i, kl;
	int         fmt, relative = 0;
	tel_q      *t;
	gw_req     *q;

	kl = (size_t)snprintf(key, sizeof(key), "tel|%d|%s", gt_http_req_wants_protobuf(req),
	                      id ? id : "");
	for (i = 0; i < GW_NELEM(names) && kl < sizeof(key); i++)
		if ((v = gt_http_req_query(req, names[i])) != NULL) {
			kl += (size_t)snprintf(key + kl, sizeof(key) - kl, "|%s=%s", names[i], v);
			if (i == 6 && strcmp(v, "json") != 0)
				relative = 1; /* streamed formats are not cached */
		}
	if ((q = gw_req_begin(g, req, GW_R_TELEMETRY, kl < sizeof(key) && !relative ? key : NULL)) ==
	    NULL)
		return;
	if (id == NULL || *id == '\0') {
		gw_error(q, 400, "missing parameter id");
		return;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL || (t->gpu = strdup(id)) == NULL) {
		free(t);
		gw_error(q, 500, "out of memory");
		return;
	}
	t->q = q;
	if (tel_params(q, &in, &t->names, mptr, &fmt) != 0) {
		free(t->gpu);
		free(t);
		return;
	}
	in.gpu = t->gpu;
	t->limit = in.limit;
	t->reverse = in.reverse;
	if (fmt != 0 && !q->pb) {
		gw_stream_telemetry(q, &in, fmt == 2);
		free(t->gpu);
		free(t);
		return;
	}
	if (gw_fan(g, deps, gw_collectors(g, deps), &gtpb__v1__telemetry_service__descriptor,
	           "GetTelemetry", &in.base, 0, tel_done, t) != GT_OK) {
		gw_error(q, 500, "out of memory");
		free(t->gpu);
		free(t);
	}
}

/* ---- /api/v1/gpus/{id}/aggregate ---- */

typedef struct agg_q {
	gw_req *q;
	char   *gpu, *metric;
	int64_t step;
} agg_q;

static int
cmp_pt(const void *a, const void *b)
{
	const Gtpb__V1__AggregatePoint *x = *(const Gtpb__V1__AggregatePoint *const *)a,
	                               *y = *(const Gtpb__V1__AggregatePoint *const *)b;

	return x->t_ns < y->t_ns ? -1 : x->t_ns > y->t_ns;
}

static void
agg_done(void *arg, gw_fan_res *res, size_t nres)
{
	agg_q                     *a = arg;
	Gtpb__V1__AggregatePoint **pts = NULL;
	size_t                     i, k, n = 0, total = 0, ok = 0, notfound = 0, m = 0;

	for (i = 0; i < nres; i++) {
		if (res[i].code == GT_RPC_OK) {
			ok++;
			total += ((Gtpb__V1__AggregateResponse *)res[i].out)->n_points;
		} else if (res[i].code == GT_RPC_NOT_FOUND) {
			notfound++;
		} else if (res[i].code == GT_RPC_INVALID_ARGUMENT) {
			gw_error(a->q, 400, "invalid parameter step: %s", res[i].msg);
			goto out;
		}
	}
	if (ok == 0) {
		if (notfound == nres)
			gw_error(a->q, 404, "no such gpu: %s", a->gpu);
		else
			gw_error(a->q, gw_fan_fail_status(res, nres),
			         "no collector could answer for gpu %s", a->gpu);
		goto out;
	}
	if ((pts = malloc((total ? total : 1) * sizeof(*pts))) == NULL) {
		gw_error(a->q, 500, "out of memory");
		goto out;
	}
	for (i = 0; i < nres; i++) {
		const Gtpb__V1__AggregateResponse *r = (const void *)res[i].out;

		if (res[i].code == GT_RPC_OK)
			for (k = 0; k < r->n_points; k++)
				pts[n++] = r->points[k];
	}
	qsort(pts, n, sizeof(*pts), cmp_pt);
	/* several collectors with points for one step: combine them */
	for (i = 0; i < n; i++) {
		if (m > 0 && pts[m - 1]->t_ns == pts[i]->t_ns) {
			Gtpb__V1__AggregatePoint *x = pts[m - 1], *y = pts[i];
			uint64_t                  c = x->count + y->count;

			x->avg = c ? (x->avg * (double)x->count + y->avg * (double)y->count) / (double)c
			           : 0;
			x->min = y->min < x->min ? y->min : x->min;
			x->max = y->max > x->max ? y->max : x->max;
			x->last = y->last;
			x->count = c;
			continue;
		}
		pts[m++] = pts[i];
	}
	if (a->q->pb) {
		Gtpb__V1__AggregateResponse out = GTPB__V1__AGGREGATE_RESPONSE__INIT;

		out.points = pts;
		out.n_points = m;
		gw_reply_pb(a->q, &out.base, 1);
	} else {
		gt_buf b;
		char   ts[40];
		size_t missing;

		gt_buf_init(&b);
		gt_buf_puts(&b, "{\"gpu\":");
		gt_json_cstr(&b, a->gpu);
		gt_buf_puts(&b, ",\"metric\":");
		gt_json_cstr(&b, a->metric);
		gt_buf_printf(&b, ",\"step_ns\":%" PRId64 ",\"points\":[", a->step);
		for (i = 0; i < m; i++) {
			if (i)
				gt_buf_putc(&b, ',');
			gt_rfc3339_format(pts[i]->t_ns, 9, ts, sizeof(ts));
			gt_buf_printf(&b, "{\"t_ns\":%" PRId64 ",\"timestamp\":\"%s\",\"min\":",
			              pts[i]->t_ns, ts);
			gt_json_dbl(&b, pts[i]->min);
			gt_buf_puts(&b, ",\"avg\":");
			gt_json_dbl(&b, pts[i]->avg);
			gt_buf_puts(&b, ",\"max\":");
			gt_json_dbl(&b, pts[i]->max);
			gt_buf_puts(&b, ",\"last\":");
			gt_json_dbl(&b, pts[i]->last);
			gt_buf_printf(&b, ",\"count\":%" PRIu64 "}", pts[i]->count);
		}
		gt_buf_putc(&b, ']');
		missing = gw_partial_json(&b, res, nres);
		gt_buf_putc(&b, '}');
		gw_reply_json(a->q, 200, &b, missing == 0);
		gt_buf_fini(&b);
	}
out:
	free(pts);
	free(a->gpu);
	free(a->metric);
	free(a);
}

static void
h_aggregate(gt_http_req *req, void *arg)
{
	gw                        *g = arg;
	const char                *id = gt_http_req_param(req, "id"), *v, *bad;
	Gtpb__V1__AggregateRequest in = GTPB__V1__AGGREGATE_REQUEST__INIT;
	gw_dep                    *deps[GW_MAX_COLLECTORS];
	char                       key[2048], msg[160];
	gt_query_metrics           names;
	const char *const          pn[] = {"metric", "since", "until", "step"};
	int64_t                    now = gt_now_ns(), since, until, step;
	size_t                     i, kl;
	agg_q                     *a;
	gw_req                    *q;

	kl = (size_t)snprintf(key, sizeof(key), "agg|%d|%s", gt_http_req_wants_protobuf(req),
	                      id ? id : "");
	for (i = 0; i < GW_NELEM(pn) && kl < sizeof(key); i++)
		if ((v = gt_http_req_query(req, pn[i])) != NULL)
			kl += (size_t)snprintf(key + kl, sizeof(key) - kl, "|%s=%s", pn[i], v);
	if ((q = gw_req_begin(g, req, GW_R_AGGREGATE, kl < sizeof(key) ? key : NULL)) == NULL)
		return;
	v = gt_http_req_query(req, "metric");
	if (v == NULL || *v == '\0') {
		gw_error(q, 400, "missing parameter metric");
		return;
	}
	if (gt_query_names_parse("metric", v, GW_NAME_MAX, &names, msg, sizeof(msg)) != GT_OK) {
		gw_error(q, 400, "%s", msg);
		return;
	}
	if (names.n != 1) {
		gw_error(q, 400, "invalid parameter metric: want one name");
		return;
	}
	until = now;
	if ((v = gt_http_req_query(req, "until")) != NULL &&
	    gt_query_time("until", v, now, &until, msg, sizeof(msg)) != GT_OK) {
		gw_error(q, 400, "%s", msg);
		return;
	}
	if ((v = gt_http_req_query(req, "since")) != NULL) {
		if (gt_query_time("since", v, now, &since, msg, sizeof(msg)) != GT_OK) {
			gw_error(q, 400, "%s", msg);
			return;
		}
	} else if (__builtin_sub_overflow(until, 3600 * GT_NS_PER_S, &since)) {
		gw_error(q, 400, "invalid parameter until: out of range");
		return;
	}
	if ((v = gt_http_req_query(req, "step")) != NULL) {
		if (gt_duration_parse(v, &step) != GT_OK) {
			gw_error(q, 400, "invalid parameter step: want a duration (1m, 30s; a bare "
			                 "number is seconds)");
			return;
		}
	} else {
		int64_t span;

		step = __builtin_sub_overflow(until, since, &span) || span < 0 ? 0 : span / 60 + 1;
		if (step < GT_NS_PER_S)
			step = GT_NS_PER_S;
	}
	if ((bad = gw_agg_check(since, until, step)) != NULL) {
		gw_error(q, 400, "invalid parameter %s: need since <= until, step > 0 and at most %d "
		                 "points",
		         bad, GW_MAX_AGG_POINTS);
		return;
	}
	if (id == NULL || *id == '\0') {
		gw_error(q, 400, "missing parameter id");
		return;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL || (a->gpu = strdup(id)) == NULL ||
	    (a->metric = strdup(names.names[0])) == NULL) {
		if (a)
			free(a->gpu);
		free(a);
		gw_error(q, 500, "out of memory");
		return;
	}
	a->q = q;
	a->step = step;
	in.gpu = a->gpu;
	in.metric = a->metric;
	/* the collector reads 0 as "default": an explicit 0 becomes 1 ns / -1 ns */
	in.since_ns = since == 0 ? 1 : since;
	in.until_ns = until == 0 ? -1 : until;
	in.step_ns = step;
	if (gw_fan(g, deps, gw_collectors(g, deps), &gtpb__v1__telemetry_service__descriptor,
	           "Aggregate", &in.base, 0, agg_done, a) != GT_OK) {
		gw_error(q, 500, "out of memory");
		free(a->gpu);
		free(a->metric);
		free(a);
	}
}

/* ---- /openapi.json and /docs ---- */

static void
h_openapi(gt_http_req *req, void *arg)
{
	gw     *g = arg;
	int64_t t0 = gt_mono_ns();

	gt_http_reply(req, 200, "application/json", g->openapi, g->openapi_len);
	gw_account(g, GW_R_OPENAPI, 200, t0, "GET", "/openapi.json");
}

static const char docs_html[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<title>gt-gateway API</title>"
    "<link rel=\"stylesheet\" href=\"/docs/swagger-ui.css\"></head><body>"
    "<div id=\"swagger-ui\"></div>"
    "<script src=\"/docs/swagger-ui-bundle.js\"></script>"
    "<script src=\"/docs/swagger-ui-standalone-preset.js\"></script>"
    "<script>window.onload=function(){window.ui=SwaggerUIBundle({url:'/openapi.json',"
    "dom_id:'#swagger-ui',presets:[SwaggerUIBundle.presets.apis,"
    "SwaggerUIStandalonePreset],layout:'StandaloneLayout'});};</script>"
    "</body></html>\n";

static void
h_docs(gt_http_req *req, void *arg)
{
	gw     *g = arg;
	int64_t t0 = gt_mono_ns();

	gt_http_reply(req, 200, "text/html; charset=utf-8", docs_html, sizeof(docs_html) - 1);
	gw_account(g, GW_R_DOCS, 200, t0, "GET", "/docs");
}

/* /docs/{file}: one file of swagger-ui-dist from --docs-root (plain names only). */
static void
h_docs_file(gt_http_req *req, void *arg)
{
	gw         *g = arg;
	const char *f = gt_http_req_param(req, "file"), *ext, *ct = "application/octet-stream";
	int64_t     t0 = gt_mono_ns();
	char        path[4096], upath[512];
	FILE       *fp;
	long        n;
	char       *buf;
	size_t      i;

	/* the request is freed by its reply: log with a copy of the path */
	snprintf(upath, sizeof(upath), "%s", gt_http_req_path(req));
	if (f == NULL || g->cfg->docs_root == NULL || *g->cfg->docs_root == '\0' || f[0] == '.') {
		gt_http_error(req, 404, "no such file: docs are not installed (--docs-root)");
		gw_account(g, GW_R_DOCS, 404, t0, "GET", upath);
		return;
	}
	for (i = 0; f[i]; i++)
		if (!(f[i] == '.' || f[i] == '-' || f[i] == '_' || (f[i] >= 'a' && f[i] <= 'z') ||
		      (f[i] >= 'A' && f[i] <= 'Z') || (f[i] >= '0' && f[i] <= '9')))
			break;
	snprintf(path, sizeof(path), "%s/%s", g->cfg->docs_root, f);
	if (f[i] != '\0' || (fp = fopen(path, "rb")) == NULL) {
		gt_http_error(req, 404, "no such file: %s", f);
		gw_account(g, GW_R_DOCS, 404, t0, "GET", upath);
		return;
	}
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
	if (buf == NULL || fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		fclose(fp);
		free(buf);
		gt_http_error(req, 500, "cannot read %s", f);
		gw_account(g, GW_R_DOCS, 500, t0, "GET", upath);
		return;
	}
	fclose(fp);
	if ((ext = strrchr(f, '.')) != NULL) {
		if (!strcmp(ext, ".js"))
			ct = "application/javascript";
		else if (!strcmp(ext, ".css"))
			ct = "text/css";
		else if (!strcmp(ext, ".html"))
			ct = "text/html; charset=utf-8";
		else if (!strcmp(ext, ".png"))
			ct = "image/png";
		else if (!strcmp(ext, ".map") || !strcmp(ext, ".json"))
			ct = "application/json";
	}
	gt_http_reply(req, 200, ct, buf, (size_t)n);
	free(buf);
	gw_account(g, GW_R_DOCS, 200, t0, "GET", upath);
}

gt_err
gw_api_routes(gw *g)
{
	gt_http *h = g->http;
	gt_err   rv;

	if ((rv = gt_http_route(h, "GET", "/api/v1/gpus", h_gpus, g, GT_HTTP_ADMIN)) != GT_OK ||
	    (rv = gt_http_route(h, "GET", "/api/v1/hosts", h_hosts, g, GT_HTTP_ADMIN)) != GT_OK ||
	    (rv = gt_http_route(h, "GET", "/api/v1/gpus/{id...}/telemetry", h_telemetry, g,
	                        GT_HTTP_ADMIN)) != GT_OK ||
	    (rv = gt_http_route(h, "GET", "/api/v1/gpus/{id...}/aggregate", h_aggregate, g,
	                        GT_HTTP_ADMIN)) != GT_OK ||
	    (rv = gt_http_route(h, "GET", "/openapi.json", h_openapi, g, GT_HTTP_OPEN)) != GT_OK ||
	    (rv = gt_http_route(h, "GET", "/docs", h_docs, g, GT_HTTP_OPEN)) != GT_OK ||
	    (rv = gt_http_route(h, "GET", "/docs/", h_docs, g, GT_HTTP_OPEN)) != GT_OK ||
	    (rv = gt_http_route(h, "GET", "/docs/{file}", h_docs_file, g, GT_HTTP_OPEN)) != GT_OK)
		return rv;
	return GT_OK;
}

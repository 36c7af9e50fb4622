/* col_jsonl.c - JSONL encode (gt_json writer) and decode (jansson). */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_jsonl.h"
#include "gt/gt_json.h"
#include "gt/gt_time.h"

/* Doubles with at most 6 decimals (most telemetry) are written with integer arithmetic: the
 * decimal string is exact and parses back to the same double (IEEE division is correctly
 * rounded), so no printf/strtod round trip is needed. Others go to gt_json_dbl. */
static gt_err
jsonl_dbl(gt_buf *b, double v)
{
	double   m = v * 1e6, r = rint(m);
	uint64_t u, ip, fp;
	char     tmp[48], *e = tmp + sizeof(tmp), *p = e;
	int      neg, d;

	if (!isfinite(v) || m != r || fabs(r) >= 9007199254740992.0 || r / 1e6 != v || v == 0.0 ||
	    fabs(v) < 1e-6)
		return gt_json_dbl(b, v);
	neg = r < 0;
	u = (uint64_t)(neg ? -r : r);
	ip = u / 1000000;
	fp = u % 1000000;
	if (fp != 0) {
		int started = 0;

		for (d = 0; d < 6; d++) {
			unsigned dig = (unsigned)(fp % 10);

			fp /= 10;
			if (dig != 0 || started) {
				*--p = (char)('0' + dig);
				started = 1;
			}
		}
		*--p = '.';
	}
	do {
		*--p = (char)('0' + ip % 10);
		ip /= 10;
	} while (ip);
	if (neg)
		*--p = '-';
	return gt_buf_append(b, p, (size_t)(e - p));
}

/* RFC 3339 with 9 fraction digits; the "YYYY-MM-DDTHH:MM:SS" part is cached per thread for
 * the last second seen (a batch's records share seconds), the rest is integer arithmetic. */
static size_t
jsonl_ts(int64_t ns, char *buf, size_t len)
{
	static _Thread_local int64_t last_sec = INT64_MIN;
	static _Thread_local char    prefix[32];
	static _Thread_local size_t  plen;
	int64_t                      sec = ns / GT_NS_PER_S, frac = ns % GT_NS_PER_S;
	int                          i;

	if (frac < 0) {
		frac += GT_NS_PER_S;
		sec--;
	}
	if (sec != last_sec) {
		char   tmp[48];
		size_t n = gt_rfc3339_format(sec * GT_NS_PER_S, 0, tmp, sizeof(tmp));

		if (n < 2 || n - 1 >= sizeof(prefix))
			return gt_rfc3339_format(ns, 9, buf, len);
		memcpy(prefix, tmp, n - 1); /* without the 'Z' */
		plen = n - 1;
		last_sec = sec;
	}
	if (len < plen + 12)
		return gt_rfc3339_format(ns, 9, buf, len);
	memcpy(buf, prefix, plen);
	buf[plen] = '.';
	for (i = 9; i >= 1; i--) {
		buf[plen + (size_t)i] = (char)('0' + frac % 10);
		frac /= 10;
	}
	buf[plen + 10] = 'Z';
	buf[plen + 11] = '\0';
	return plen + 11;
}

/* Decimal digits of v into the end of a 24-byte area ending at e; returns the start. */
static char *
jsonl_u64(char *e, uint64_t v)
{
	do {
		*--e = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return e;
}

static int
jsonl_wanted(const char *name, const char *const *metrics, size_t nm)
{
	size_t i;

	if (nm == 0)
		return 1;
	for (i = 0; i < nm; i++)
		if (strcmp(metrics[i], name) == 0)
			return 1;
	return 0;
}

gt_err
col_jsonl_encode(gt_buf *out, const col_rec *r, const col_delivery *id)
{
	size_t start = out->len;
	gt_err rv;

	if ((rv = col_jsonl_encode_obj(out, r, id, NULL, 0)) == GT_OK &&
	    (rv = gt_buf_putc(out, '\n')) != GT_OK)
		out->len = start;
	return rv;
}

gt_err
col_jsonl_encode_obj(gt_buf *out, const col_rec *r, const col_delivery *id,
    const char *const *metrics, size_t nm)
{
	char     ts[40];
	size_t   tl, start = out->len;
	uint32_t i;
	int      first = 1, f2;
	gt_err   rv = GT_OK;

	tl = jsonl_ts(r->ts_ns, ts, sizeof(ts));
#define CK(x)                                                                                      \
	do {                                                                                       \
		if ((rv = (x)) != GT_OK)                                                           \
			goto fail;                                                                 \
	} while (0)
	CK(gt_buf_putc(out, '{'));
	CK(gt_json_key(out, &first, "gpu_id"));
	CK(gt_json_cstr(out, r->gpu_id));
	CK(gt_json_key(out, &first, "hostname"));
	CK(gt_json_cstr(out, r->hostname));
	CK(gt_json_key(out, &first, "uuid"));
	CK(gt_json_cstr(out, r->uuid));
	CK(gt_json_key(out, &first, "metrics"));
	CK(gt_buf_putc(out, '{'));
	for (i = 0, f2 = 1; i < r->nmetrics; i++) {
		if (!jsonl_wanted(r->metrics[i].name, metrics, nm))
			continue;
		CK(gt_json_key(out, &f2, r->metrics[i].name));
		CK(jsonl_dbl(out, r->metrics[i].value));
	}
	CK(gt_buf_putc(out, '}'));
	CK(gt_json_key(out, &first, "labels"));
	CK(gt_buf_putc(out, '{'));
	for (i = 0, f2 = 1; i < r->nlabels; i++) {
		CK(gt_json_key(out, &f2, r->labels[i].key));
		CK(gt_json_cstr(out, r->labels[i].value));
	}
	CK(gt_buf_putc(out, '}'));
	CK(gt_json_key(out, &first, "timestamp"));
	CK(gt_json_str(out, ts, tl));
	CK(gt_json_key(out, &first, "gpu_key"));
	CK(gt_json_cstr(out, r->gpu_key));
	CK(gt_json_key(out, &first, "gpu_index"));
	CK(gt_json_int(out, r->gpu_index));
	CK(gt_json_key(out, &first, "device"));
	CK(gt_json_cstr(out, r->device));
	CK(gt_json_key(out, &first, "model"));
	CK(gt_json_cstr(out, r->model));
	if (id != NULL && id->valid) {
		CK(gt_json_key(out, &first, "delivery"));
		char  d[80], *e = d + sizeof(d), *p;

		*--e = '"';
		p = jsonl_u64(e, id->offset);
		*--p = ':';
		p = jsonl_u64(p, id->partition);
		*--p = ':';
		p = jsonl_u64(p, id->epoch);
		*--p = '"';
		CK(gt_buf_append(out, p, (size_t)(d + sizeof(d) - p)));
	}
	CK(gt_buf_putc(out, '}'));
#undef CK
	return GT_OK;
fail:
	out->len = start;
	return rv;
}

static const char *
jsonl_str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

gt_err
col_jsonl_decode(const char *line, size_t len, col_rec **out, col_delivery *id)
{
	json_t                                  *o, *v, *metrics, *labels;
	json_error_t                             jerr;
	Gtpb__V1__TelemetryRecord                pb = GTPB__V1__TELEMETRY_RECORD__INIT;
	Gtpb__V1__TelemetryRecord__MetricsEntry *me = NULL, **mp = NULL;
	Gtpb__V1__TelemetryRecord__LabelsEntry  *le = NULL, **lp = NULL;
	const char                              *k, *s;
	size_t                                   nm = 0, nl = 0;
	gt_err                                   rv = GT_EPROTO;
	unsigned long long                       e, off;
	unsigned                                 p;

	if ((o = json_loadb(line, len, 0, &jerr)) == NULL)
		return GT_EPROTO;
	if (!json_is_object(o))
		goto done;
	if ((s = json_string_value(json_object_get(o, "timestamp"))) == NULL ||
	    gt_rfc3339_parse(s, &pb.timestamp_ns) != GT_OK)
		goto done;
	pb.gpu_key = (char *)jsonl_str(o, "gpu_key");
	pb.gpu_id = (char *)jsonl_str(o, "gpu_id");
	if (*pb.gpu_key == '\0')
		pb.gpu_key = pb.gpu_id; /* a seed line without gpu_key */
	if (*pb.gpu_key == '\0')
		goto done;
	pb.hostname = (char *)jsonl_str(o, "hostname");
	pb.uuid = (char *)jsonl_str(o, "uuid");
	pb.device = (char *)jsonl_str(o, "device");
	pb.model = (char *)jsonl_str(o, "model");
	v = json_object_get(o, "gpu_index");
	pb.gpu_index = json_is_integer(v) ? (int32_t)json_integer_value(v) : -1;
	metrics = json_object_get(o, "metrics");
	labels = json_object_get(o, "labels");
	if (json_is_object(metrics) && json_object_size(metrics) > 0) {
		size_t n = json_object_size(metrics);

		if ((me = calloc(n, sizeof(*me))) == NULL || (mp = calloc(n, sizeof(*mp))) == NULL) {
			rv = GT_ENOMEM;
			goto done;
		}
		json_object_foreach(metrics, k, v)
		{
			if (!json_is_number(v))
				continue;
			gtpb__v1__telemetry_record__metrics_entry__init(&me[nm]);
			me[nm].key = (char *)k;
			me[nm].value = json_number_value(v);
			mp[nm] = &me[nm];
			nm++;
		}
	}
	if (json_is_object(labels) && json_object_size(labels) > 0) {
		size_t n = json_object_size(labels);

		if ((le = calloc(n, sizeof(*le))) == NULL || (lp = calloc(n, sizeof(*lp))) == NULL) {
			rv = GT_ENOMEM;
			goto done;
		}
		json_object_foreach(labels, k, v)
		{
			if (!json_is_string(v))
				continue;
			gtpb__v1__telemetry_record__labels_entry__init(&le[nl]);
			le[nl].key = (char *)k;
			le[nl].value = (char *)json_string_value(v);
			lp[nl] = &le[nl];
			nl++;
		}
	}
	pb.n_metrics = nm;
	pb.metrics = mp;
	pb.n_labels = nl;
	pb.labels = lp;
	if (id != NULL) {
		memset(id, 0, sizeof(*id));
		s = json_string_value(json_object_get(o, "delivery"));
		if (s != NULL && sscanf(s, "%llu:%u:%llu", &e, &p, &off) == 3) {
			id->epoch = e;
			id->partition = p;
			id->offset = off;
			id->valid = 1;
		}
	}
	rv = col_rec_new_pb(out, &pb, NULL);
done:
	free(me);
	free(mp);
	free(le);
	free(lp);
	json_decref(o);
	return rv;
}

gt_err
col_jsonl_peek_ts(const char *line, size_t len, int64_t *ts)
{
	/* '},' before the key: only the real member (after "labels") can match, never a label. */
	static const char key[] = "},\"timestamp\":\"";
	const char       *p = memmem(line, len, key, sizeof(key) - 1), *q;
	char              tmp[48];

	col_rec *r;

	if (p == NULL) {
		/* Another member order (a seed file): decode fully. */
		if (col_jsonl_decode(line, len, &r, NULL) != GT_OK)
			return GT_EPROTO;
		*ts = r->ts_ns;
		col_rec_rele(r);
		return GT_OK;
	}
	p += sizeof(key) - 1;
	q = memchr(p, '"', len - (size_t)(p - line));
	if (q == NULL || (size_t)(q - p) >= sizeof(tmp))
		return GT_EPROTO;
	memcpy(tmp, p, (size_t)(q - p));
	tmp[q - p] = '\0';
	return gt_rfc3339_parse(tmp, ts);
}

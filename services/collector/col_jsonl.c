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

/* Two decimal digits of v (< 100) at o. */
static void
jsonl_2d(char *o, int64_t v)
{
	o[0] = (char)('0' + v / 10);
	o[1] = (char)('0' + v % 10);
}

/* RFC 3339 with 9 fraction digits, as gt_rfc3339_format writes it. The "YYYY-MM-DDT" part is
 * cached per thread for the last day seen (gmtime's calendar work and snprintf once a day of
 * data, not once a second); time of day and fraction are integer arithmetic. */
static size_t
jsonl_ts(int64_t ns, char *buf, size_t len)
{
	static _Thread_local int64_t last_day = INT64_MIN;
	static _Thread_local char    prefix[32];
	static _Thread_local size_t  plen;
	int64_t                      sec = ns / GT_NS_PER_S, frac = ns % GT_NS_PER_S, day, tod;
	int                          i;

	if (frac < 0) {
		frac += GT_NS_PER_S;
		sec--;
	}
	day = sec / 86400;
	tod = sec % 86400;
	if (tod < 0) {
		tod += 86400;
		day--;
	}
	/* the day's start in ns must not overflow (ns within ~1 day of INT64_MIN) */
	if (sec < INT64_MIN / GT_NS_PER_S + 2 * 86400)
		return gt_rfc3339_format(ns, 9, buf, len);
	if (day != last_day) {
		char   tmp[48];
		size_t n = gt_rfc3339_format(day * 86400 * GT_NS_PER_S, 0, tmp, sizeof(tmp));

		if (n < 10 || n - 9 >= sizeof(prefix) || memcmp(tmp + n - 10, "T00:00:00Z", 10) != 0)
			return gt_rfc3339_format(ns, 9, buf, len);
		memcpy(prefix, tmp, n - 9); /* up to and with the 'T' */
		plen = n - 9;
		last_day = day;
	}
	if (len < plen + 20)
		return gt_rfc3339_format(ns, 9, buf, len);
	memcpy(buf, prefix, plen);
	buf += plen;
	jsonl_2d(buf, tod / 3600);
	buf[2] = ':';
	jsonl_2d(buf + 3, tod / 60 % 60);
	buf[5] = ':';
	jsonl_2d(buf + 6, tod % 60);
	buf[8] = '.';
	for (i = 9; i >= 1; i--) {
		buf[8 + i] = (char)('0' + frac % 10);
		frac /= 10;
	}
	buf[18] = 'Z';
	buf[19] = '\0';
	return plen + 19;
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

/* A metric value at o; returns the end. Zero is common in telemetry (idle engines, counters)
 * and is the one value gt_json_dbl_fmt formats with snprintf: it is written here directly,
 * as the same "0" (also for -0.0). */
static char *
jsonl_dbl(char *o, double v)
{
	if (v == 0.0) {
		*o = '0';
		return o + 1;
	}
	return o + gt_json_dbl_fmt(o, v);
}

/* gt_json_str_raw's output for the common string, one with nothing to escape (no control
 * character, '"', '\\' or non-ASCII byte: checked 8 bytes at a time); any other string goes
 * to gt_json_str_raw, so the bytes are always its bytes. */
static char *
jsonl_put_str(char *o, const char *s, size_t n)
{
	const uint64_t ones = UINT64_C(0x0101010101010101), high = UINT64_C(0x8080808080808080);
	size_t         i;

	for (i = 0; i + 8 <= n; i += 8) {
		uint64_t w, q, b;

		memcpy(&w, s + i, 8);
		q = w ^ (ones * '"');
		b = w ^ (ones * '\\');
		/* any byte >= 0x80, < 0x20, == '"', == '\\' (exact for ASCII words) */
		if ((w | ((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b)) & high)
			return gt_json_str_raw(o, s, n);
	}
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80)
			return gt_json_str_raw(o, s, n);
	}
	*o++ = '"';
	memcpy(o, s, n);
	o += n;
	*o++ = '"';
	return o;
}

/* Metric names whose length col_jsonl_encode_obj keeps between its two passes. */
#define JSONL_NLEN 64

/* o + the literal s (no NUL) */
#define JSONL_LIT(o, s) (memcpy((o), (s), sizeof(s) - 1), (o) + sizeof(s) - 1)

/* A string member: o + the literal "key": + the escaped string (n bytes) */
#define JSONL_MEMBER(o, lit, str, n) jsonl_put_str(JSONL_LIT(o, lit), (str), (n))

/* The object is written in one pass into room reserved once for its worst case (every byte
 * escaped), with no per-member bounds checks: this runs for every record ingested. */
gt_err
col_jsonl_encode_obj(gt_buf *out, const col_rec *r, const col_delivery *id,
                     const char *const *metrics, size_t nm)
{
	/* the identity strings, in member order */
	const char *str[6] = {r->gpu_id, r->hostname, r->uuid, r->gpu_key, r->device, r->model};
	size_t      len[6], need = 320, tl, i; /* keys, punctuation, timestamp, ids: < 240 */
	size_t      nlen[JSONL_NLEN]; /* metric name lengths, measured once */
	char        ts[40], d[80], *o, *e, *p;
	int         first;
	gt_err      rv;

	for (i = 0; i < 6; i++) {
		len[i] = strlen(str[i]);
		need += GT_JSON_STR_MAX(len[i]);
	}
	for (i = 0; i < r->nmetrics; i++) {
		size_t n = strlen(r->metrics[i].name);

		if (i < JSONL_NLEN)
			nlen[i] = n;
		need += GT_JSON_STR_MAX(n) + 2 + GT_JSON_DBL_MAX;
	}
	for (i = 0; i < r->nlabels; i++)
		need += GT_JSON_STR_MAX(strlen(r->labels[i].key)) +
		        GT_JSON_STR_MAX(strlen(r->labels[i].value)) + 2;
	if ((rv = gt_buf_reserve(out, need)) != GT_OK)
		return rv;
	tl = jsonl_ts(r->ts_ns, ts, sizeof(ts));
	o = out->data + out->len;
	o = JSONL_MEMBER(o, "{\"gpu_id\":", str[0], len[0]);
	o = JSONL_MEMBER(o, ",\"hostname\":", str[1], len[1]);
	o = JSONL_MEMBER(o, ",\"uuid\":", str[2], len[2]);
	o = JSONL_LIT(o, ",\"metrics\":{");
	for (i = 0, first = 1; i < r->nmetrics; i++) {
		if (!jsonl_wanted(r->metrics[i].name, metrics, nm))
			continue;
		if (!first)
			*o++ = ',';
		first = 0;
		o = jsonl_put_str(o, r->metrics[i].name,
		                  i < JSONL_NLEN ? nlen[i] : strlen(r->metrics[i].name));
		*o++ = ':';
		o = jsonl_dbl(o, r->metrics[i].value);
	}
	o = JSONL_LIT(o, "},\"labels\":{");
	for (i = 0; i < r->nlabels; i++) {
		if (i > 0)
			*o++ = ',';
		o = jsonl_put_str(o, r->labels[i].key, strlen(r->labels[i].key));
		*o++ = ':';
		o = jsonl_put_str(o, r->labels[i].value, strlen(r->labels[i].value));
	}
	o = JSONL_LIT(o, "},\"timestamp\":\"");
	memcpy(o, ts, tl);
	o += tl;
	*o++ = '"';
	o = JSONL_MEMBER(o, ",\"gpu_key\":", str[3], len[3]);
	o = JSONL_LIT(o, ",\"gpu_index\":");
	e = d + sizeof(d);
	p = jsonl_u64(e,
	              r->gpu_index < 0 ? -(uint64_t)(int64_t)r->gpu_index : (uint64_t)r->gpu_index);
	if (r->gpu_index < 0)
		*--p = '-';
	memcpy(o, p, (size_t)(e - p));
	o += e - p;
	o = JSONL_MEMBER(o, ",\"device\":", str[4], len[4]);
	o = JSONL_MEMBER(o, ",\"model\":", str[5], len[5]);
	if (id != NULL && id->valid) {
		o = JSONL_LIT(o, ",\"delivery\":");
		*--e = '"';
		p = jsonl_u64(e, id->offset);
		*--p = ':';
		p = jsonl_u64(p, id->partition);
		*--p = ':';
		p = jsonl_u64(p, id->epoch);
		*--p = '"';
		memcpy(o, p, (size_t)(e + 1 - p));
		o += e + 1 - p;
	}
	*o++ = '}';
	*o = '\0';
	out->len = (size_t)(o - out->data);
	return GT_OK;
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

		if ((me = calloc(n, sizeof(*me))) == NULL ||
		    (mp = calloc(n, sizeof(*mp))) == NULL) {
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

		if ((le = calloc(n, sizeof(*le))) == NULL ||
		    (lp = calloc(n, sizeof(*lp))) == NULL) {
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

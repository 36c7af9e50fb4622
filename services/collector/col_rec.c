/* col_rec.c - compact, reference-counted telemetry records. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "col_rec.h"
#include "gt/gt_pb.h"

typedef struct rec_alloc {
	char *p; /* next free byte */
} rec_alloc;

/* A string given by pointer and length (not NUL-terminated). */
typedef struct rec_str_view {
	const char *p;
	size_t      n;
} rec_str_view;

static const char *
rec_str(rec_alloc *a, const char *s, size_t n)
{
	char *d = a->p;

	if (n > 0)
		memcpy(d, s, n);
	d[n] = '\0';
	a->p += n + 1;
	return d;
}

/* The record's identity strings, in allocation order. */
enum { RS_KEY, RS_HOST, RS_DEVICE, RS_UUID, RS_MODEL, RS_GPU_ID, RS_N };

/* Allocates a record with room for nm metrics, nl labels, the six strings and strbytes more
 * bytes of metric/label strings (each counted with its NUL); fills all but the metrics and
 * labels, which the caller writes through *m, *l and a. */
static col_rec *
rec_new(const rec_str_view str[RS_N], size_t nm, size_t nl, size_t strbytes, col_metric **m,
        col_label **l, rec_alloc *a)
{
	size_t size = sizeof(col_rec) + nm * sizeof(col_metric) + nl * sizeof(col_label) + strbytes;
	col_rec *r;
	int      i;

	for (i = 0; i < RS_N; i++)
		size += str[i].n + 1;
	if ((r = malloc(size)) == NULL)
		return NULL;
	*m = (col_metric *)(r + 1);
	*l = (col_label *)(*m + nm);
	a->p = (char *)(*l + nl);
	atomic_init(&r->refs, 1);
	r->size = size;
	r->gpu_key = rec_str(a, str[RS_KEY].p, str[RS_KEY].n);
	r->key_hash = col_map_hash(r->gpu_key, str[RS_KEY].n);
	r->hostname = rec_str(a, str[RS_HOST].p, str[RS_HOST].n);
	r->device = rec_str(a, str[RS_DEVICE].p, str[RS_DEVICE].n);
	r->uuid = rec_str(a, str[RS_UUID].p, str[RS_UUID].n);
	r->model = rec_str(a, str[RS_MODEL].p, str[RS_MODEL].n);
	r->gpu_id = rec_str(a, str[RS_GPU_ID].p, str[RS_GPU_ID].n);
	r->nmetrics = (uint32_t)nm;
	r->nlabels = (uint32_t)nl;
	r->metrics = *m;
	r->labels = *l;
	return r;
}

static rec_str_view
rec_cstr(const char *s)
{
	return (rec_str_view){s ? s : "", s ? strlen(s) : 0};
}

gt_err
col_rec_new_pb(col_rec **out, const Gtpb__V1__TelemetryRecord *pb, const char *key)
{
	size_t       i, nm = pb->n_metrics, nl = pb->n_labels, strbytes = 0;
	col_rec     *r;
	col_metric  *m;
	col_label   *l;
	rec_alloc    a;
	rec_str_view str[RS_N] = {rec_cstr(key ? key : pb->gpu_key),
	                          rec_cstr(pb->hostname),
	                          rec_cstr(pb->device),
	                          rec_cstr(pb->uuid),
	                          rec_cstr(pb->model),
	                          rec_cstr(pb->gpu_id)};

	for (i = 0; i < nm; i++)
		strbytes += rec_cstr(pb->metrics[i]->key).n + 1;
	for (i = 0; i < nl; i++)
		strbytes += rec_cstr(pb->labels[i]->key).n + rec_cstr(pb->labels[i]->value).n + 2;
	if ((r = rec_new(str, nm, nl, strbytes, &m, &l, &a)) == NULL)
		return GT_ENOMEM;
	r->ts_ns = pb->timestamp_ns;
	r->gpu_index = pb->gpu_index;
	for (i = 0; i < nm; i++) {
		rec_str_view k = rec_cstr(pb->metrics[i]->key);

		m[i].name = rec_str(&a, k.p, k.n);
		m[i].value = pb->metrics[i]->value;
	}
	for (i = 0; i < nl; i++) {
		rec_str_view k = rec_cstr(pb->labels[i]->key), v = rec_cstr(pb->labels[i]->value);

		l[i].key = rec_str(&a, k.p, k.n);
		l[i].value = rec_str(&a, v.p, v.n);
	}
	*out = r;
	return GT_OK;
}

/* A string from the wire, cut at an embedded NUL: records hold C strings (the same view
 * protobuf-c's unpack gives through col_rec_new_pb). */
static rec_str_view
wire_str(const uint8_t *p, size_t n)
{
	return (rec_str_view){(const char *)p, strnlen((const char *)p, n)};
}

/* One map entry (field 1 key: string; field 2 value: double when is_double, else string).
 * Missing fields are the defaults ("" and 0), as protobuf-c unpacks them. */
static gt_err
wire_entry(const uint8_t *p, const uint8_t *end, int is_double, rec_str_view *k, rec_str_view *v,
           double *d)
{
	gt_pb_field f;

	*k = *v = (rec_str_view){"", 0};
	*d = 0;
	while (p < end) {
		if (gt_pb_next_field(&p, end, &f) != GT_OK)
			return GT_EPROTO;
		if (f.num == 1) {
			if (f.type != GT_PB_LEN)
				return GT_EPROTO;
			*k = wire_str(f.p, f.len);
		} else if (f.num == 2) {
			if (is_double) {
				if (f.type != GT_PB_I64)
					return GT_EPROTO;
				memcpy(d, &f.u, sizeof(*d));
			} else {
				if (f.type != GT_PB_LEN)
					return GT_EPROTO;
				*v = wire_str(f.p, f.len);
			}
		}
	}
	return GT_OK;
}

/* Map entries remembered by the first pass of col_rec_new_wire (more: the second pass reads
 * them again from the bytes). */
#define WIRE_KEEP 64

typedef struct wire_kept {
	int          is_metric;
	rec_str_view k, v;
	double       d;
} wire_kept;

static void
wire_put(const wire_kept *e, col_metric *m, col_label *l, size_t *fm, size_t *fl, rec_alloc *a)
{
	if (e->is_metric) {
		m[*fm].name = rec_str(a, e->k.p, e->k.n);
		m[(*fm)++].value = e->d;
	} else {
		l[*fl].key = rec_str(a, e->k.p, e->k.n);
		l[(*fl)++].value = rec_str(a, e->v.p, e->v.n);
	}
}

gt_err
col_rec_new_wire(col_rec **out, const uint8_t *buf, size_t len, const char *key, size_t key_len)
{
	/* TelemetryRecord field number -> identity string slot (-1: not a string field) */
	static const int8_t slot[11] = {-1,      -1,       RS_KEY, RS_HOST, -1,       RS_DEVICE,
	                                RS_UUID, RS_MODEL, -1,     -1,      RS_GPU_ID};
	const uint8_t      *p, *end = buf + len;
	gt_pb_field         f;
	rec_str_view        str[RS_N];
	wire_kept           kept[WIRE_KEEP], *e;
	size_t              nm = 0, nl = 0, nk = 0, fm = 0, fl = 0, strbytes = 0, i;
	int64_t             ts = 0;
	int32_t             idx = 0;
	col_rec            *r;
	col_metric         *m;
	col_label          *l;
	rec_alloc           a;

	for (i = 0; i < RS_N; i++)
		str[i] = (rec_str_view){"", 0};
	/* pass 1: scalars (the last occurrence wins, as in protobuf), sizes, wire checks */
	for (p = buf; p < end;) {
		wire_kept tmp;

		if (gt_pb_next_field(&p, end, &f) != GT_OK)
			return GT_EPROTO;
		switch (f.num) {
		case 1:
		case 4:
			if (f.type != GT_PB_VARINT)
				return GT_EPROTO;
			if (f.num == 1)
				ts = (int64_t)f.u;
			else
				idx = (int32_t)(uint32_t)f.u;
			break;
		case 2:
		case 3:
		case 5:
		case 6:
		case 7:
		case 10:
			if (f.type != GT_PB_LEN)
				return GT_EPROTO;
			str[slot[f.num]] = wire_str(f.p, f.len);
			break;
		case 8:
		case 9:
			e = nk < WIRE_KEEP ? &kept[nk++] : &tmp;
			e->is_metric = f.num == 8;
			if (f.type != GT_PB_LEN || wire_entry(f.p, f.p + f.len, e->is_metric, &e->k,
			                                      &e->v, &e->d) != GT_OK)
				return GT_EPROTO;
			if (e->is_metric)
				nm++;
			else
				nl++;
			strbytes += e->k.n + 1 + (e->is_metric ? 0 : e->v.n + 1);
			break;
		default:
			break; /* unknown field: skipped */
		}
	}
	if (str[RS_KEY].n == 0 && key != NULL)
		str[RS_KEY] = wire_str((const uint8_t *)key, key_len);
	if ((r = rec_new(str, nm, nl, strbytes, &m, &l, &a)) == NULL)
		return GT_ENOMEM;
	r->ts_ns = ts;
	r->gpu_index = idx;
	/* pass 2: the map entries in wire order: the kept ones, then any others re-read */
	for (i = 0; i < nk; i++)
		wire_put(&kept[i], m, l, &fm, &fl, &a);
	if (nm + nl > nk) {
		size_t seen = 0;

		for (p = buf; p < end;) {
			wire_kept tmp;

			gt_pb_next_field(&p, end, &f); /* checked in pass 1 */
			if ((f.num != 8 && f.num != 9) || seen++ < WIRE_KEEP)
				continue;
			tmp.is_metric = f.num == 8;
			wire_entry(f.p, f.p + f.len, tmp.is_metric, &tmp.k, &tmp.v, &tmp.d);
			wire_put(&tmp, m, l, &fm, &fl, &a);
		}
	}
	*out = r;
	return GT_OK;
}

void
col_rec_hold(col_rec *r)
{
	atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
}

void
col_rec_rele(col_rec *r)
{
	if (r != NULL && atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1)
		free(r);
}

int
col_rec_metric(const col_rec *r, const char *name, double *v)
{
	uint32_t i;

	for (i = 0; i < r->nmetrics; i++) {
		if (strcmp(r->metrics[i].name, name) == 0) {
			*v = r->metrics[i].value;
			return 1;
		}
	}
	return 0;
}

static int
rec_wanted(const char *name, const char *const *metrics, size_t nm)
{
	size_t i;

	if (nm == 0)
		return 1;
	for (i = 0; i < nm; i++)
		if (strcmp(metrics[i], name) == 0)
			return 1;
	return 0;
}

Gtpb__V1__TelemetryRecord *
col_rec_pb_new(const col_rec *r, const char *const *metrics, size_t nm)
{
	Gtpb__V1__TelemetryRecord               *pb;
	Gtpb__V1__TelemetryRecord__MetricsEntry *me, **mp;
	Gtpb__V1__TelemetryRecord__LabelsEntry  *le, **lp;
	size_t                                   size, i, n = 0;

	size = sizeof(*pb) + r->nmetrics * (sizeof(*me) + sizeof(*mp)) +
	       r->nlabels * (sizeof(*le) + sizeof(*lp));
	if ((pb = malloc(size)) == NULL)
		return NULL;
	gtpb__v1__telemetry_record__init(pb);
	mp = (Gtpb__V1__TelemetryRecord__MetricsEntry **)(pb + 1);
	lp = (Gtpb__V1__TelemetryRecord__LabelsEntry **)(mp + r->nmetrics);
	me = (Gtpb__V1__TelemetryRecord__MetricsEntry *)(lp + r->nlabels);
	le = (Gtpb__V1__TelemetryRecord__LabelsEntry *)(me + r->nmetrics);
	pb->timestamp_ns = r->ts_ns;
	pb->gpu_key = (char *)r->gpu_key;
	pb->hostname = (char *)r->hostname;
	pb->gpu_index = r->gpu_index;
	pb->device = (char *)r->device;
	pb->uuid = (char *)r->uuid;
	pb->model = (char *)r->model;
	pb->gpu_id = (char *)r->gpu_id;
	for (i = 0; i < r->nmetrics; i++) {
		if (!rec_wanted(r->metrics[i].name, metrics, nm))
			continue;
		gtpb__v1__telemetry_record__metrics_entry__init(&me[n]);
		me[n].key = (char *)r->metrics[i].name;
		me[n].value = r->metrics[i].value;
		mp[n] = &me[n];
		n++;
	}
	pb->n_metrics = n;
	pb->metrics = mp;
	for (i = 0; i < r->nlabels; i++) {
		gtpb__v1__telemetry_record__labels_entry__init(&le[i]);
		le[i].key = (char *)r->labels[i].key;
		le[i].value = (char *)r->labels[i].value;
		lp[i] = &le[i];
	}
	pb->n_labels = r->nlabels;
	pb->labels = lp;
	return pb;
}

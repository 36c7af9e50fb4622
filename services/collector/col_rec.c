/* col_rec.c - compact, reference-counted telemetry records. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "col_rec.h"
#include "gt/gt_record.h"

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

/* Map entries col_rec_new_wire keeps from gt_record_decode's pass (more: the iterator reads
 * them again from the bytes). */
#define WIRE_KEEP 64

gt_err
col_rec_new_wire(col_rec **out, const uint8_t *buf, size_t len, const char *key, size_t key_len)
{
	/* view slot -> col_rec string slot */
	static const int slot[GT_RECORD_NSTR] = {
	    [GT_RECORD_GPU_KEY] = RS_KEY, [GT_RECORD_HOSTNAME] = RS_HOST,
	    [GT_RECORD_DEVICE] = RS_DEVICE, [GT_RECORD_UUID] = RS_UUID,
	    [GT_RECORD_MODEL] = RS_MODEL, [GT_RECORD_GPU_ID] = RS_GPU_ID};
	gt_record_view  v;
	gt_record_entry kept[WIRE_KEEP], e;
	gt_record_iter  it;
	rec_str_view    str[RS_N];
	size_t          fm = 0, fl = 0, i;
	col_rec        *r;
	col_metric     *m;
	col_label      *l;
	rec_alloc       a;

	if (gt_record_decode(&v, buf, len, kept, WIRE_KEEP) != GT_OK)
		return GT_EPROTO;
	for (i = 0; i < GT_RECORD_NSTR; i++)
		str[slot[i]] = (rec_str_view){v.str[i].p, v.str[i].n};
	if (str[RS_KEY].n == 0 && key != NULL)
		str[RS_KEY] = (rec_str_view){key, strnlen(key, key_len)};
	if ((r = rec_new(str, v.n_metrics, v.n_labels, v.entry_bytes, &m, &l, &a)) == NULL)
		return GT_ENOMEM;
	r->ts_ns = v.timestamp_ns;
	r->gpu_index = v.gpu_index;
	gt_record_iter_init(&it);
	while (gt_record_iter_next(&v, &it, &e)) {
		if (e.is_metric) {
			m[fm].name = rec_str(&a, e.key.p, e.key.n);
			m[fm++].value = e.num;
		} else {
			l[fl].key = rec_str(&a, e.key.p, e.key.n);
			l[fl++].value = rec_str(&a, e.value.p, e.value.n);
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

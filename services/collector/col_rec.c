/* col_rec.c - compact, reference-counted telemetry records. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "col_rec.h"

typedef struct rec_alloc {
	char  *p;   /* next free byte */
	char  *end;
} rec_alloc;

static const char *
rec_str(rec_alloc *a, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	char  *d = a->p;

	if (n > 0)
		memcpy(d, s, n);
	d[n] = '\0';
	a->p += n + 1;
	return d;
}

static size_t
rec_slen(const char *s)
{
	return (s ? strlen(s) : 0) + 1;
}

gt_err
col_rec_new_pb(col_rec **out, const Gtpb__V1__TelemetryRecord *pb, const char *key)
{
	size_t      size = sizeof(col_rec), i, nm = pb->n_metrics, nl = pb->n_labels;
	col_rec    *r;
	col_metric *m;
	col_label  *l;
	rec_alloc   a;
	const char *k = key ? key : pb->gpu_key;

	size += nm * sizeof(col_metric) + nl * sizeof(col_label);
	size += rec_slen(k) + rec_slen(pb->hostname) + rec_slen(pb->device) + rec_slen(pb->uuid) +
	    rec_slen(pb->model) + rec_slen(pb->gpu_id);
	for (i = 0; i < nm; i++)
		size += rec_slen(pb->metrics[i]->key);
	for (i = 0; i < nl; i++)
		size += rec_slen(pb->labels[i]->key) + rec_slen(pb->labels[i]->value);
	if ((r = malloc(size)) == NULL)
		return GT_ENOMEM;
	m = (col_metric *)(r + 1);
	l = (col_label *)(m + nm);
	a.p = (char *)(l + nl);
	a.end = (char *)r + size;
	atomic_init(&r->refs, 1);
	r->size = size;
	r->ts_ns = pb->timestamp_ns;
	r->gpu_index = pb->gpu_index;
	r->gpu_key = rec_str(&a, k);
	r->hostname = rec_str(&a, pb->hostname);
	r->device = rec_str(&a, pb->device);
	r->uuid = rec_str(&a, pb->uuid);
	r->model = rec_str(&a, pb->model);
	r->gpu_id = rec_str(&a, pb->gpu_id);
	for (i = 0; i < nm; i++) {
		m[i].name = rec_str(&a, pb->metrics[i]->key);
		m[i].value = pb->metrics[i]->value;
	}
	for (i = 0; i < nl; i++) {
		l[i].key = rec_str(&a, pb->labels[i]->key);
		l[i].value = rec_str(&a, pb->labels[i]->value);
	}
	r->nmetrics = (uint32_t)nm;
	r->nlabels = (uint32_t)nl;
	r->metrics = m;
	r->labels = l;
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

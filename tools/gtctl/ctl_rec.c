/* ctl_rec.c - TelemetryRecords as output rows, and the column order for their metrics
 * (the canonical names first, in the pipeline's order, then the others sorted). */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "gtpb/v1/telemetry.pb-c.h"

static const char *const canonical[] = {
    "temperature",         "utilization",        "memory_used",
    "memory_free",         "power_draw",         "sm_clock",
    "mem_clock",           "memory_utilization", "encoder_utilization",
    "decoder_utilization", "fan_speed"};
#define NCANON (sizeof(canonical) / sizeof(canonical[0]))

static int
is_fixed(const char *k)
{
	return strcmp(k, "timestamp") == 0 || strcmp(k, "gpu") == 0 || strcmp(k, "host") == 0 ||
	       strcmp(k, "timestamp_ns") == 0;
}

json_t *
ctl_rec_row(const ProtobufCMessage *m)
{
	const Gtpb__V1__TelemetryRecord *r = (const Gtpb__V1__TelemetryRecord *)m;
	json_t                          *o = json_object();
	char                             ts[64];

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "timestamp", json_string(ctl_ts(r->timestamp_ns, ts, sizeof(ts))));
	json_object_set_new(o, "timestamp_ns", json_integer(r->timestamp_ns));
	json_object_set_new(o, "gpu", json_string(r->gpu_key ? r->gpu_key : ""));
	json_object_set_new(o, "host", json_string(r->hostname ? r->hostname : ""));
	for (size_t i = 0; i < r->n_metrics; i++)
		if (!is_fixed(r->metrics[i]->key))
			json_object_set_new(o, r->metrics[i]->key, json_real(r->metrics[i]->value));
	return o;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *
ctl_rec_columns(json_t *rows, int with_gpu)
{
	json_t     *cols = json_array(), *seen = json_object(), *row, *v;
	const char *k, **other = NULL;
	size_t      i, nother = 0;

	json_array_append_new(cols, json_string("timestamp"));
	if (with_gpu) {
		json_array_append_new(cols, json_string("gpu"));
		json_array_append_new(cols, json_string("host"));
	}
	json_array_foreach(rows, i, row)
	{
		json_object_foreach(row, k, v)
		{
			if (!is_fixed(k))
				json_object_set_new(seen, k, json_true());
		}
	}
	for (i = 0; i < NCANON; i++)
		if (json_object_get(seen, canonical[i])) {
			json_array_append_new(cols, json_string(canonical[i]));
			json_object_del(seen, canonical[i]);
		}
	if ((other = calloc(json_object_size(seen) + 1, sizeof(*other))) != NULL) {
		json_object_foreach(seen, k, v) other[nother++] = k;
		qsort(other, nother, sizeof(*other), cmp_str);
		for (i = 0; i < nother; i++)
			json_array_append_new(cols, json_string(other[i]));
		free(other);
	}
	json_decref(seen);
	return cols;
}

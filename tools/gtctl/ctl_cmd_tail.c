/* ctl_cmd_tail.c - `gtctl tail [GPU...] [--metric M]`: records as the collectors store them
 * (their live feed), one line each, until Ctrl-C (or --count / --duration).
 * Table: "TIMESTAMP  GPU  HOST  metric=value ..."; JSON: one object per line; CSV: one
 * timestamp,gpu,host,metric,value row per metric (a fixed header for an open-ended stream). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_feed.h"
#include "gt/gt_signal.h"
#include "gt/gt_time.h"

static int
wanted(const char *metric, const char *list)
{
	size_t n = strlen(metric);

	if (list == NULL)
		return 1;
	for (const char *p = list; p && *p;) {
		const char *e = strchr(p, ',');
		size_t      l = e ? (size_t)(e - p) : strlen(p);

		if (l == n && strncmp(p, metric, n) == 0)
			return 1;
		p = e ? e + 1 : NULL;
	}
	return 0;
}

static void
print_rec(const ctl_ctx *c, const Gtpb__V1__TelemetryRecord *r, const char *metrics)
{
	char ts[64], num[64];

	ctl_ts(r->timestamp_ns, ts, sizeof(ts));
	if (c->fmt == CTL_OUT_JSON) {
		json_t *o =
		    json_pack("{s:s, s:I, s:s, s:s}", "timestamp", ts, "timestamp_ns",
		              (json_int_t)r->timestamp_ns, "gpu", r->gpu_key, "host", r->hostname);
		json_t *m = json_object();

		for (size_t i = 0; i < r->n_metrics; i++)
			if (wanted(r->metrics[i]->key, metrics))
				json_object_set_new(m, r->metrics[i]->key,
				                    json_real(r->metrics[i]->value));
		json_object_set_new(o, "metrics", m);
		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(o);
		return;
	}
	if (c->fmt == CTL_OUT_CSV) {
		for (size_t i = 0; i < r->n_metrics; i++) {
			if (!wanted(r->metrics[i]->key, metrics))
				continue;
			printf("%s,", ts);
			ctl_csv_field(stdout, r->gpu_key);
			fputc(',', stdout);
			ctl_csv_field(stdout, r->hostname);
			fputc(',', stdout);
			ctl_csv_field(stdout, r->metrics[i]->key);
			printf(",%s\n", ctl_real(r->metrics[i]->value, num, sizeof(num)));
		}
		return;
	}
	printf("%s  %s  %s", ts, r->gpu_key, *r->hostname ? r->hostname : "-");
	for (size_t i = 0; i < r->n_metrics; i++)
		if (wanted(r->metrics[i]->key, metrics))
			printf("  %s=%g", r->metrics[i]->key, r->metrics[i]->value);
	fputc('\n', stdout);
}

int
ctl_cmd_tail(ctl_ctx *c)
{
	ctl_feed   *f = NULL;
	const char *metrics = ctl_opt(c, "metric");
	uint32_t    count;
	uint64_t    seen = 0;
	int64_t     dur, end;
	int         rc;

	if ((rc = ctl_opt_u32(c, "count", 0, &count)) != CTL_EXIT_OK ||
	    (rc = ctl_opt_dur(c, "duration", 0, &dur)) != CTL_EXIT_OK)
		return rc;
	if ((rc = ctl_feed_open(&f, c->pub_url, c->argv, c->argc)) != CTL_EXIT_OK)
		return rc;
	gt_signal_install();
	end = dur > 0 ? gt_mono_ns() + dur : INT64_MAX;
	if (c->fmt == CTL_OUT_CSV)
		printf("timestamp,gpu,host,metric,value\n");
	fflush(stdout);
	while (!gt_signal_stopping() && gt_mono_ns() < end && (count == 0 || seen < count)) {
		Gtpb__V1__TelemetryBatch *b = NULL;
		int                       got;

		ctl_feed_wait(f, -1, 200);
		while ((count == 0 || seen < count) && (got = ctl_feed_recv(f, &b)) == 1) {
			for (size_t i = 0; i < b->n_records && (count == 0 || seen < count);
			     i++, seen++)
				print_rec(c, b->records[i], metrics);
			gtpb__v1__telemetry_batch__free_unpacked(b, NULL);
		}
		fflush(stdout);
	}
	ctl_feed_close(f);
	return CTL_EXIT_OK;
}

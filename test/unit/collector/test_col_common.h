/* test_col_common.h - record builders shared by the collector unit tests. */
#ifndef TEST_COL_COMMON_H
#define TEST_COL_COMMON_H

#include <stdio.h>
#include <string.h>

#include "col_rec.h"

/* A record with two metrics and one label. */
static inline col_rec *
tc_rec(const char *key, int64_t ts, double temp)
{
	Gtpb__V1__TelemetryRecord               pb = GTPB__V1__TELEMETRY_RECORD__INIT;
	Gtpb__V1__TelemetryRecord__MetricsEntry m[2], *mp[2] = {&m[0], &m[1]};
	Gtpb__V1__TelemetryRecord__LabelsEntry  l, *lp[1] = {&l};
	col_rec                                *r = NULL;

	gtpb__v1__telemetry_record__metrics_entry__init(&m[0]);
	gtpb__v1__telemetry_record__metrics_entry__init(&m[1]);
	gtpb__v1__telemetry_record__labels_entry__init(&l);
	m[0].key = "temperature";
	m[0].value = temp;
	m[1].key = "utilization";
	m[1].value = 50.5;
	l.key = "cluster";
	l.value = "c1";
	pb.timestamp_ns = ts;
	pb.gpu_key = (char *)key;
	pb.hostname = "host-1";
	pb.gpu_index = 3;
	pb.device = "nvidia3";
	pb.uuid = "GPU-1234";
	pb.model = "H100";
	pb.gpu_id = "3";
	pb.n_metrics = 2;
	pb.metrics = mp;
	pb.n_labels = 1;
	pb.labels = lp;
	if (col_rec_new_pb(&r, &pb, NULL) != GT_OK)
		return NULL;
	return r;
}

#endif

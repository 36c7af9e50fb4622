/* bench_rpc.c - RPC round trips/s with 1 and 8 client threads, and 1000-record batch calls,
 * over tcp loopback, each reported as the median of --runs runs.
 * usage: bench_rpc [runs] [seconds-per-run] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_rpc.h"
#include "gt/gt_time.h"
#include "gtpb/v1/test.pb-c.h"

static void
echo_echo(Gtpb__V1__Echo_Service *svc, const Gtpb__V1__EchoRequest *in,
    Gtpb__V1__EchoResponse_Closure closure, void *data)
{
	Gtpb__V1__EchoResponse out = GTPB__V1__ECHO_RESPONSE__INIT;

	(void)svc;
	out.data = in->data;
	closure(&out, data);
}

static void
echo_ingest(Gtpb__V1__Echo_Service *svc, const Gtpb__V1__TelemetryBatch *in,
    Gtpb__V1__BatchAck_Closure closure, void *data)
{
	Gtpb__V1__BatchAck out = GTPB__V1__BATCH_ACK__INIT;

	(void)svc;
	out.count = (uint32_t)in->n_records;
	closure(&out, data);
}

static Gtpb__V1__Echo_Service echo_service = GTPB__V1__ECHO__INIT(echo_);

typedef struct job {
	gt_rpc_client *cli;
	int            batch; /* 0 = 100-byte echo */
	int64_t        until;
	long           calls;
} job;

static void *
run_job(void *arg)
{
	job                      *j = arg;
	gt_rpc_stub               stub;
	uint8_t                   payload[100];
	Gtpb__V1__EchoRequest     req = GTPB__V1__ECHO_REQUEST__INIT;
	Gtpb__V1__TelemetryBatch  batch = GTPB__V1__TELEMETRY_BATCH__INIT;
	Gtpb__V1__TelemetryRecord rec[1000], *ptrs[1000];
	Gtpb__V1__TelemetryRecord__MetricsEntry me[5], *mp[5];
	static const char *const names[5] = {"temperature", "utilization", "memory_used", "power_draw", "sm_clock"};

	memset(payload, 'x', sizeof(payload));
	req.data.data = payload;
	req.data.len = sizeof(payload);
	for (int k = 0; k < 5; k++) {
		gtpb__v1__telemetry_record__metrics_entry__init(&me[k]);
		me[k].key = (char *)names[k];
		me[k].value = 42.5 + k;
		mp[k] = &me[k];
	}
	for (int i = 0; i < 1000; i++) {
		gtpb__v1__telemetry_record__init(&rec[i]);
		rec[i].timestamp_ns = gt_now_ns() + i;
		rec[i].gpu_key = "GPU-3f2c9a1e-5b7d-4c11-9e0a-1234567890ab";
		rec[i].hostname = "node-01";
		rec[i].uuid = rec[i].gpu_key;
		rec[i].model = "NVIDIA H100 80GB HBM3";
		rec[i].n_metrics = 5;
		rec[i].metrics = mp;
		ptrs[i] = &rec[i];
	}
	batch.n_records = (size_t)j->batch;
	batch.records = ptrs;
	gt_rpc_stub_init(&stub, j->cli, &gtpb__v1__echo__descriptor, 10 * GT_NS_PER_S);
	while (gt_mono_ns() < j->until) {
		ProtobufCMessage *out = NULL;
		if (gt_rpc_call(&stub, j->batch ? 1 : 0, j->batch ? &batch.base : &req.base, &out) != GT_OK) {
			fprintf(stderr, "call failed: %s\n", stub.status.message);
			exit(1);
		}
		protobuf_c_message_free_unpacked(out, NULL);
		j->calls++;
	}
	return NULL;
}

static double
measure(gt_rpc_client *cli, int threads, int batch, double seconds)
{
	pthread_t th[16];
	job       jobs[16];
	int64_t   t0 = gt_mono_ns();
	long      total = 0;

	for (int i = 0; i < threads; i++) {
		jobs[i] = (job){cli, batch, t0 + (int64_t)(seconds * 1e9), 0};
		pthread_create(&th[i], NULL, run_job, &jobs[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		total += jobs[i].calls;
	}
	return (double)total / ((double)(gt_mono_ns() - t0) / 1e9);
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	int               runs = argc > 1 ? atoi(argv[1]) : 5;
	double            secs = argc > 2 ? atof(argv[2]) : 2.0;
	gt_rpc_server    *srv;
	gt_rpc_client    *cli;
	gt_rpc_server_cfg scfg = {.url = "tcp://127.0.0.1:0", .contexts = 64, .workers = 2};
	char              url[64];
	static const struct {
		const char *name;
		int         threads, batch;
	} cases[] = {{"100-byte echo, 1 client", 1, 0}, {"100-byte echo, 8 clients", 8, 0},
	    {"1000-record batch, 1 client", 1, 1000}};

	if (runs < 1 || runs > 50)
		runs = 5;
	if (gt_rpc_server_new(&srv, &scfg) != GT_OK || gt_rpc_server_add(srv, &echo_service.base) != GT_OK ||
	    gt_rpc_server_start(srv) != GT_OK)
		return 1;
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", gt_rpc_server_port(srv));
	if (gt_rpc_client_open(&cli, url, NULL) != GT_OK)
		return 1;
	measure(cli, 1, 0, 0.2); /* warm up: connect, pool contexts */
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		double r[50];
		for (int i = 0; i < runs; i++)
			r[i] = measure(cli, cases[c].threads, cases[c].batch, secs);
		qsort(r, (size_t)runs, sizeof(double), cmp);
		if (cases[c].batch)
			printf("%-30s median %9.0f calls/s = %10.0f records/s (%d runs of %.1fs)\n",
			    cases[c].name, r[runs / 2], r[runs / 2] * cases[c].batch, runs, secs);
		else
			printf("%-30s median %9.0f calls/s (%d runs of %.1fs)\n", cases[c].name,
			    r[runs / 2], runs, secs);
	}
	gt_rpc_client_close(cli);
	gt_rpc_server_free(srv);
	return 0;
}

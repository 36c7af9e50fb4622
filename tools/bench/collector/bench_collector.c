/* bench_collector - end-to-end ingest and query latency of gt-collector against a local gt-mq.
 *
 *   bench_collector [--records N] [--gpus G] [--runs R] [--fsync interval|always|never]
 *                   [--workers W] [--queries Q] [--bin-dir DIR]
 *
 * Each run: start gt-mq (memory), publish N TelemetryRecords (batches of 1000, not timed),
 * start gt-collector on a fresh data dir, time until /stats "acked" reaches N (consumed,
 * written, fsynced per policy and acked), then time Q GET /telemetry/{gpu}?limit=100 queries
 * answered from the cache (newest first) and Q answered from the files (reverse=true: the
 * oldest records, not in the cache). Prints each run and the medians. */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gt/gt_rpc.h"
#include "gt/gt_time.h"
#include "gt_proc.h"
#include "gt_test.h"
#include "gtpb/v1/mq.pb-c.h"
#include "gtpb/v1/telemetry.pb-c.h"

static size_t      n_records = 500000, n_gpus = 64, runs = 3, n_queries = 200;
static const char *fsync_mode = "interval", *workers = "2";

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_dbl);
	return v[n / 2];
}

static int
publish(gt_rpc_client *cli)
{
	gt_rpc_stub stub;
	size_t      done = 0, batch = 1000;
	uint64_t    seq = 0;
	const char *metric_names[] = {"temperature", "utilization", "memory_used", "memory_free",
	                              "power_draw",  "sm_clock",    "mem_clock",   "fan_speed"};

	gt_rpc_stub_init(&stub, cli, &gtpb__v1__message_queue__descriptor, 30 * GT_NS_PER_S);
	while (done < n_records) {
		size_t k = n_records - done < batch ? n_records - done : batch, i, m;
		Gtpb__V1__PublishRequest req = GTPB__V1__PUBLISH_REQUEST__INIT;
		Gtpb__V1__Message       *msgs = calloc(k, sizeof(*msgs));
		Gtpb__V1__Message      **mp = calloc(k, sizeof(*mp));
		char(*keys)[48] = calloc(k, 48);
		ProtobufCMessage *out = NULL;
		int               tries;

		for (i = 0; i < k; i++) {
			size_t                    idx = done + i;
			Gtpb__V1__TelemetryRecord r = GTPB__V1__TELEMETRY_RECORD__INIT;
			Gtpb__V1__TelemetryRecord__MetricsEntry me[8], *mep[8];
			Gtpb__V1__TelemetryRecord__LabelsEntry  le, *lep[1] = {&le};
			char                                    host[32];

			snprintf(keys[i], 48, "GPU-bench-%04zu", idx % n_gpus);
			snprintf(host, sizeof(host), "node-%02zu", idx % n_gpus / 8);
			for (m = 0; m < 8; m++) {
				gtpb__v1__telemetry_record__metrics_entry__init(&me[m]);
				me[m].key = (char *)metric_names[m];
				me[m].value = (double)(idx % 100) + m * 0.5;
				mep[m] = &me[m];
			}
			gtpb__v1__telemetry_record__labels_entry__init(&le);
			le.key = "cluster";
			le.value = "bench";
			r.timestamp_ns = INT64_C(1764000000000000000) + (int64_t)idx * 1000;
			r.gpu_key = keys[i];
			r.hostname = host;
			r.gpu_index = (int32_t)(idx % 8);
			r.device = "nvidia0";
			r.uuid = keys[i];
			r.model = "NVIDIA H100 80GB HBM3";
			r.gpu_id = "0";
			r.n_metrics = 8;
			r.metrics = mep;
			r.n_labels = 1;
			r.labels = lep;
			gtpb__v1__message__init(&msgs[i]);
			msgs[i].key = keys[i];
			msgs[i].payload.len = gtpb__v1__telemetry_record__get_packed_size(&r);
			msgs[i].payload.data = malloc(msgs[i].payload.len);
			gtpb__v1__telemetry_record__pack(&r, msgs[i].payload.data);
			mp[i] = &msgs[i];
		}
		req.topic = "gpu-telemetry";
		req.messages = mp;
		req.n_messages = k;
		req.producer_id = "bench";
		req.sequence = ++seq;
		for (tries = 0; tries < 100; tries++) {
			if (gt_rpc_call_by_name(&stub, "Publish", &req.base, &out) == GT_OK)
				break;
			gt_sleep_ns(100 * GT_NS_PER_MS);
		}
		for (i = 0; i < k; i++)
			free(msgs[i].payload.data);
		free(msgs);
		free(mp);
		free(keys);
		if (out == NULL) {
			fprintf(stderr, "publish failed: %s\n", stub.status.message);
			return -1;
		}
		protobuf_c_message_free_unpacked(out, NULL);
		done += k;
	}
	return 0;
}

static int64_t
stat_int(int port, const char *field)
{
	char   *body = NULL;
	size_t  len = 0;
	int64_t v = -1;
	json_t *j;

	if (gt_test_http(port, "GET", "/stats", NULL, NULL, 0, &body, &len) == 200 &&
	    (j = json_loadb(body, len, 0, NULL)) != NULL) {
		if (json_is_integer(json_object_get(j, field)))
			v = json_integer_value(json_object_get(j, field));
		json_decref(j);
	}
	free(body);
	return v;
}

/* CPU seconds (user + system) from a /proc/.../stat file; the command name (between the
 * parentheses) into comm when not NULL. -1 when unreadable. */
static double
stat_cpu_s(const char *path, char *comm, size_t comm_len)
{
	char               buf[1024], *lp, *rp;
	FILE              *f;
	unsigned long long ut = 0, st = 0;
	size_t             n;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* fields after the ")" of comm: state(3) ... utime(14) stime(15) */
	if ((lp = strchr(buf, '(')) == NULL || (rp = strrchr(buf, ')')) == NULL ||
	    sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	if (comm != NULL)
		snprintf(comm, comm_len, "%.*s", (int)(rp - lp - 1), lp + 1);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds a process has used so far (0 when unreadable). */
static double
proc_cpu_s(pid_t pid)
{
	char   path[64];
	double s;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	return (s = stat_cpu_s(path, NULL, 0)) < 0 ? 0 : s;
}

/* Prints CPU seconds per thread name of a process (threads of one name summed). */
static void
print_thread_cpu(pid_t pid)
{
	char           path[64];
	DIR           *d;
	struct dirent *e;
	struct {
		char   name[32];
		double s;
		int    n;
	} t[32];
	size_t nt = 0, i;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char   p2[600], name[32];
		double s;

		if (e->d_name[0] == '.')
			continue;
		snprintf(p2, sizeof(p2), "%s/%s/stat", path, e->d_name);
		if ((s = stat_cpu_s(p2, name, sizeof(name))) < 0)
			continue;
		for (i = 0; i < nt && strcmp(t[i].name, name) != 0; i++)
			;
		if (i == nt) {
			if (nt == 32)
				continue;
			snprintf(t[nt].name, sizeof(t[nt].name), "%s", name);
			t[nt].s = 0;
			t[nt].n = 0;
			nt++;
		}
		t[i].s += s;
		t[i].n++;
	}
	closedir(d);
	printf("  threads:");
	for (i = 0; i < nt; i++)
		if (t[i].s >= 0.01)
			printf(" %s(x%d) %.2fs", t[i].name, t[i].n, t[i].s);
	printf("\n");
}

static void
query_lat(int port, const char *extra, double *p50, double *p99)
{
	double *lat = calloc(n_queries, sizeof(*lat));
	size_t  i;
	char    path[160];

	for (i = 0; i < n_queries; i++) {
		int64_t t0;

		snprintf(path, sizeof(path), "/telemetry/GPU-bench-%04zu?limit=100%s", i % n_gpus,
		         extra);
		t0 = gt_mono_ns();
		if (gt_test_http(port, "GET", path, NULL, NULL, 0, NULL, NULL) != 200)
			fprintf(stderr, "query failed: %s\n", path);
		lat[i] = (double)(gt_mono_ns() - t0) / 1e6;
	}
	qsort(lat, n_queries, sizeof(*lat), cmp_dbl);
	*p50 = lat[n_queries / 2];
	*p99 = lat[(size_t)((double)n_queries * 0.99)];
	free(lat);
}

int
main(int argc, char **argv)
{
	double rate[16], cp50[16], cp99[16], fp50[16], fp99[16];
	size_t r;
	int    i;

	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--records"))
			n_records = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--gpus"))
			n_gpus = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--runs"))
			runs = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--queries"))
			n_queries = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--fsync"))
			fsync_mode = argv[i + 1];
		else if (!strcmp(argv[i], "--workers"))
			workers = argv[i + 1];
		else if (!strcmp(argv[i], "--bin-dir"))
			setenv("GT_BIN_DIR", argv[i + 1], 1);
	}
	if (runs > 16)
		runs = 16;
	for (r = 0; r < runs; r++) {
		char          *dir = gt_test_tmpdir("benchcol");
		gt_proc       *mq = NULL, *col = NULL;
		gt_rpc_client *cli = NULL;
		char          *mq_url;
		int            port;
		int64_t        t0, t1, acked = 0;
		double         mq_cpu0, col_cpu, mq_cpu;
		const char    *margv[] = {"gt-mq",
		                          "--port",
		                          "0",
		                          "--bind",
		                          "127.0.0.1",
		                          "--rpc-url",
		                          "tcp://127.0.0.1:0",
		                          "--pub-url",
		                          "",
		                          "--max-topic-bytes",
		                          "4294967296",
		                          NULL};

		if (gt_proc_start(&mq, margv, NULL) != GT_OK ||
		    gt_proc_wait_ready(mq, 20 * GT_NS_PER_S) != GT_OK) {
			fprintf(stderr, "gt-mq did not start (GT_BIN_DIR?)\n");
			return 1;
		}
		mq_url = gt_proc_ready_str(mq, "rpc_url");
		gt_rpc_client_open(&cli, mq_url, NULL);
		if (publish(cli) != 0)
			return 1;
		{
			const char *cargv[] = {"gt-collector",
			                       "--port",
			                       "0",
			                       "--bind",
			                       "127.0.0.1",
			                       "--rpc-url",
			                       "tcp://127.0.0.1:0",
			                       "--pub-url",
			                       "tcp://127.0.0.1:0",
			                       "--mq-url",
			                       mq_url,
			                       "--data-dir",
			                       dir,
			                       "--consumer",
			                       "bench",
			                       "--fsync",
			                       fsync_mode,
			                       "--workers",
			                       workers,
			                       NULL};

			mq_cpu0 = proc_cpu_s(gt_proc_pid(mq));
			t0 = gt_mono_ns();
			if (gt_proc_start(&col, cargv, NULL) != GT_OK ||
			    gt_proc_wait_ready(col, 20 * GT_NS_PER_S) != GT_OK) {
				fprintf(stderr, "gt-collector did not start\n");
				return 1;
			}
		}
		port = (int)gt_proc_ready_int(col, "http_port");
		while ((acked = stat_int(port, "acked")) < (int64_t)n_records &&
		       gt_mono_ns() - t0 < 300 * GT_NS_PER_S)
			gt_sleep_ns(20 * GT_NS_PER_MS);
		t1 = gt_mono_ns();
		col_cpu = proc_cpu_s(gt_proc_pid(col));
		mq_cpu = proc_cpu_s(gt_proc_pid(mq)) - mq_cpu0;
		if (getenv("BENCH_STATS"))
			print_thread_cpu(gt_proc_pid(col));
		rate[r] = (double)acked / ((double)(t1 - t0) / 1e9);
		query_lat(port, "", &cp50[r], &cp99[r]);
		query_lat(port, "&reverse=true", &fp50[r], &fp99[r]);
		printf(
		    "run %zu: %zu records acked end-to-end in %.3f s = %.0f records/s; "
		    "query limit=100 cache p50 %.3f ms p99 %.3f ms; file p50 %.3f ms p99 %.3f ms\n",
		    r + 1, (size_t)acked, (double)(t1 - t0) / 1e9, rate[r], cp50[r], cp99[r],
		    fp50[r], fp99[r]);
		printf("  cpu during ingest: gt-collector %.2f s, gt-mq %.2f s (%.1f us/record in "
		       "all)\n",
		       col_cpu, mq_cpu, (col_cpu + mq_cpu) * 1e6 / (double)(acked > 0 ? acked : 1));
		if (getenv("BENCH_STATS")) {
			char  *body = NULL;
			size_t len = 0;

			gt_test_http(port, "GET", "/stats", NULL, NULL, 0, &body, &len);
			printf("  /stats: %.*s\n", (int)len, body ? body : "");
			free(body);
		}
		fflush(stdout);
		gt_rpc_client_close(cli);
		gt_proc_stop(col, 15, 30 * GT_NS_PER_S);
		gt_proc_stop(mq, 15, 30 * GT_NS_PER_S);
		gt_proc_free(col);
		gt_proc_free(mq);
		free(mq_url);
		gt_test_rmrf(dir);
		free(dir);
	}
	printf("median of %zu runs (records=%zu gpus=%zu fsync=%s workers=%s): %.0f records/s; "
	       "cache p50 %.3f ms p99 %.3f ms; file p50 %.3f ms p99 %.3f ms\n",
	       runs, n_records, n_gpus, fsync_mode, workers, median(rate, runs), median(cp50, runs),
	       median(cp99, runs), median(fp50, runs), median(fp99, runs));
	return 0;
}

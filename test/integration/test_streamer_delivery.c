/* test_streamer_delivery.c - gt-streamer against a real gt-mq: every row of a file arrives
 * exactly once (fetched back as a consumer, TelemetryRecords decoded and compared with the
 * CSV), the DCGM / nvidia-smi / edge-case fixtures, --rate within 5 %, SIGTERM drain, and the
 * HTTP endpoints. Uses gt-gen for generated input and test_mq_util.c for the broker. */
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gt/gt_time.h"
#include "gt_test.h"
#include "gt/gt_rpc.h"
#include "gtpb/v1/streamer.pb-c.h"
#include "gtpb/v1/telemetry.pb-c.h"
#include "test_mq_util.h"

static char *tmpdir;
#ifndef FETCH_MAX
#define FETCH_MAX 1000
#endif

/* ---- helpers ---- */

static char *
gen_file(const char *fmt, const char *hosts, const char *gpus, const char *samples)
{
	char       *path = malloc(strlen(tmpdir) + 64);
	gt_proc    *p;
	const char *argv[] = {"gt-gen", "--format", fmt, "--hosts", hosts, "--gpus", gpus,
	    "--samples", samples, "--seed", "11", "--out", NULL, NULL};

	sprintf(path, "%s/%s-%s-%s-%s.csv", tmpdir, fmt, hosts, gpus, samples);
	argv[12] = path;
	assert_int_equal(gt_proc_start(&p, argv, NULL), GT_OK);
	assert_int_equal(gt_proc_wait_exit(p, 20 * GT_NS_PER_S), 0);
	gt_proc_free(p);
	return path;
}

/* Start gt-streamer on csv with extra flags (NULL-terminated). */
static gt_proc *
streamer_start(tmq *m, const char *csv, const char *topic, const char *const *extra)
{
	const char *argv[64];
	size_t      n = 0;
	gt_proc    *p;
	char        mq[128], csvflag[512], topicflag[160];

	snprintf(mq, sizeof(mq), "--mq-url=%s", m->rpc_url);
	snprintf(csvflag, sizeof(csvflag), "--csv=%s", csv);
	snprintf(topicflag, sizeof(topicflag), "--topic=%s", topic);
	argv[n++] = "gt-streamer";
	argv[n++] = csvflag;
	argv[n++] = mq;
	argv[n++] = topicflag;
	argv[n++] = "--port=0";
	argv[n++] = "--bind=127.0.0.1";
	argv[n++] = "--rpc-url=tcp://127.0.0.1:0";
	for (size_t i = 0; extra && extra[i]; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	assert_int_equal(gt_proc_start(&p, argv, NULL), GT_OK);
	assert_int_equal(gt_proc_wait_ready(p, 10 * GT_NS_PER_S), GT_OK);
	return p;
}

typedef struct got {
	Gtpb__V1__TelemetryRecord **recs;
	int64_t                   *accept_ns; /* broker's accept time */
	size_t                     n, cap;
} got;

static void
got_free(got *g)
{
	for (size_t i = 0; i < g->n; i++)
		gtpb__v1__telemetry_record__free_unpacked(g->recs[i], NULL);
	free(g->recs);
	free(g->accept_ns);
	memset(g, 0, sizeof(*g));
}

/* Fetch (and ack) from topic until `expect` records came or nothing came for idle_ms. */
static void
fetch_all(tmq *m, const char *topic, size_t expect, int idle_ms, got *g)
{
	int64_t idle_until = gt_mono_ns() + (int64_t)idle_ms * GT_NS_PER_MS;

	while (gt_mono_ns() < idle_until && (expect == 0 || g->n < expect + 1)) {
		Gtpb__V1__FetchResponse *r = NULL;
		uint32_t                 acked;
		gt_rpc_code              code = tmq_fetch(m, topic, "verify", "c1", FETCH_MAX, 100, &r);

		if (code == GT_RPC_NOT_FOUND) { /* topic not created yet */
			gt_sleep_ns(50 * GT_NS_PER_MS);
			continue;
		}
		assert_int_equal(code, GT_RPC_OK);
		for (size_t i = 0; i < r->n_deliveries; i++) {
			Gtpb__V1__Message *msg = r->deliveries[i]->message;
			if (g->n == g->cap) {
				g->cap = g->cap ? g->cap * 2 : 256;
				g->recs = realloc(g->recs, g->cap * sizeof(*g->recs));
				g->accept_ns = realloc(g->accept_ns, g->cap * sizeof(*g->accept_ns));
			}
			g->recs[g->n] = gtpb__v1__telemetry_record__unpack(NULL, msg->payload.len,
			    msg->payload.data);
			assert_non_null(g->recs[g->n]);
			assert_string_equal(msg->key, g->recs[g->n]->gpu_key);
			assert_int_equal(r->deliveries[i]->attempt, 1);
			g->accept_ns[g->n] = msg->timestamp_ns;
			g->n++;
		}
		if (r->n_deliveries > 0) {
			assert_int_equal(tmq_ack(m, topic, "verify", "c1", r, &acked), GT_RPC_OK);
			idle_until = gt_mono_ns() + (int64_t)idle_ms * GT_NS_PER_MS;
			if (expect && g->n >= expect) /* then check that nothing more comes */
				idle_until = gt_mono_ns() + 300 * GT_NS_PER_MS;
		}
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
}

static double
metric(const Gtpb__V1__TelemetryRecord *r, const char *name)
{
	for (size_t i = 0; i < r->n_metrics; i++)
		if (strcmp(r->metrics[i]->key, name) == 0)
			return r->metrics[i]->value;
	return -1e300;
}

/* Expected rows of a gt-gen wide file: "timestamp,gpu_id,hostname,uuid,modelName,temperature,.." */
typedef struct row {
	char    uuid[64];
	int64_t ts;
	double  temp;
	int     seen;
} row;

static row *
read_wide(const char *path, size_t *n)
{
	char   *text = gt_test_read_file(path, NULL);
	char   *save = NULL, *line;
	row    *rows = NULL;
	size_t  cap = 0;

	assert_non_null(text);
	*n = 0;
	line = strtok_r(text, "\n", &save); /* header */
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		char *f[8], *s2 = NULL, *tok = strtok_r(line, ",", &s2);
		int   k = 0;
		while (tok && k < 8) {
			f[k++] = tok;
			tok = strtok_r(NULL, ",", &s2);
		}
		assert_int_equal(k, 8);
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			rows = realloc(rows, cap * sizeof(*rows));
		}
		snprintf(rows[*n].uuid, sizeof(rows[*n].uuid), "%s", f[3]);
		assert_int_equal(gt_rfc3339_parse(f[0], &rows[*n].ts), GT_OK);
		rows[*n].temp = strtod(f[5], NULL);
		rows[*n].seen = 0;
		(*n)++;
	}
	free(text);
	return rows;
}

static json_t *
log_json(gt_proc *p, const char *message)
{
	char   *line = NULL;
	size_t  cursor = 0;
	json_t *j;

	assert_int_equal(gt_proc_wait_log(p, message, 10 * GT_NS_PER_S, &cursor, &line), GT_OK);
	j = json_loads(line, 0, NULL);
	free(line);
	assert_non_null(j);
	return j;
}

static int
setup(void **state)
{
	(void)state;
	tmpdir = gt_test_tmpdir("streamer");
	return 0;
}

static int
teardown(void **state)
{
	tmq_cleanup(state);
	gt_test_rmrf(tmpdir);
	free(tmpdir);
	return 0;
}

/* ---- tests ---- */

static void
test_streamer_wide_file_every_row_arrives_exactly_once(void **state)
{
	tmq         m;
	char       *csv = gen_file("wide", "2", "4", "50");
	size_t      nrows, i, j;
	row        *rows = read_wide(csv, &nrows);
	got         g = {0};
	gt_proc    *p;
	json_t     *done;
	const char *extra[] = {"--workers=4", "--batch=16", NULL};
	(void)state;

	assert_int_equal(nrows, 400);
	tmq_start(&m, NULL);
	p = streamer_start(&m, csv, "wide", extra);
	assert_int_equal(gt_proc_wait_exit(p, 30 * GT_NS_PER_S), 0); /* exits 0 when confirmed */
	done = log_json(p, "stream.done");
	assert_int_equal(json_integer_value(json_object_get(done, "published")), 400);
	assert_int_equal(json_integer_value(json_object_get(done, "failed")), 0);
	json_decref(done);
	gt_proc_free(p);

	fetch_all(&m, "wide", nrows, 3000, &g);
	assert_int_equal(g.n, nrows);
	for (i = 0; i < g.n; i++) {
		Gtpb__V1__TelemetryRecord *r = g.recs[i];
		for (j = 0; j < nrows; j++)
			if (rows[j].ts == r->timestamp_ns && strcmp(rows[j].uuid, r->uuid) == 0)
				break;
		assert_true(j < nrows);           /* a row of the file */
		assert_int_equal(rows[j].seen, 0); /* exactly once */
		rows[j].seen = 1;
		assert_string_equal(r->gpu_key, rows[j].uuid);
		assert_true(metric(r, "temperature") == rows[j].temp);
		assert_int_equal(r->n_metrics, 10);
		assert_string_equal(r->model, "NVIDIA H100 80GB HBM3");
	}
	tmq_stop(&m);
	got_free(&g);
	free(rows);
	free(csv);
}

static void
test_streamer_fixtures_dcgm_smi_and_edge_cases(void **state)
{
	static const struct {
		const char *fixture, *topic;
		size_t      records, bad;
		const char *extra;
	} cases[] = {
		{"csv/dcgm_basic.csv", "dcgm", 4, 0, NULL},
		{"csv/dcgm_edge.csv", "dcgme", 3, 3, NULL},
		{"csv/smi_basic.csv", "smi", 3, 1, NULL},
		{"csv/wide_edge.csv", "edge", 4, 6, "--workers=1"},
		{"csv/smi_noheader.csv", "smin", 3, 0,
		    "--columns=index, temperature.gpu, utilization.gpu [%], power.draw [W], clocks.sm [MHz]"},
	};
	tmq m;
	(void)state;

	tmq_start(&m, NULL);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char       *path = gt_test_fixture(cases[c].fixture);
		const char *extra[] = {cases[c].extra, NULL};
		gt_proc    *p = streamer_start(&m, path, cases[c].topic, extra);
		got         g = {0};

		assert_int_equal(gt_proc_wait_exit(p, 20 * GT_NS_PER_S), 0);
		assert_int_equal(gt_proc_count_log(p, "csv.bad_row"), cases[c].bad);
		fetch_all(&m, cases[c].topic, cases[c].records, 2000, &g);
		assert_int_equal(g.n, cases[c].records);
		if (strcmp(cases[c].topic, "dcgm") == 0) {
			for (size_t i = 0; i < g.n; i++) {
				assert_int_equal(g.recs[i]->n_metrics, 3);
				assert_true(strncmp(g.recs[i]->gpu_key, "GPU-", 4) == 0);
				/* source timestamps kept for a single pass */
				assert_true(g.recs[i]->timestamp_ns >= INT64_C(1795730400000000000));
				assert_true(g.recs[i]->timestamp_ns <= INT64_C(1795730401000000000));
			}
		}
		got_free(&g);
		gt_proc_free(p);
		free(path);
	}
	tmq_stop(&m);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void
test_streamer_rate_is_never_exceeded(void **state)
{
	tmq         m;
	char       *csv = gen_file("wide", "1", "8", "100"); /* 800 rows */
	got         g = {0};
	gt_proc    *p;
	const char *extra[] = {"--workers=2", "--rate=100", "--batch=50", NULL};
	size_t      first = 0;
	double      span, rate;
	(void)state;

	tmq_start(&m, NULL);
	p = streamer_start(&m, csv, "rate", extra);
	assert_int_equal(gt_proc_wait_exit(p, 30 * GT_NS_PER_S), 0);
	gt_proc_free(p);
	fetch_all(&m, "rate", 800, 3000, &g);
	assert_int_equal(g.n, 800);
	qsort(g.accept_ns, g.n, sizeof(int64_t), cmp_i64);
	/* Records after the first grant of each worker, over the time they took. */
	while (first < g.n && g.accept_ns[first] < g.accept_ns[0] + 30 * GT_NS_PER_MS)
		first++;
	span = (double)(g.accept_ns[g.n - 1] - g.accept_ns[0]) / GT_NS_PER_S;
	rate = (double)(g.n - first) / span;
	print_message("rate: %zu records after the first grant in %.3f s = %.1f/s (want 200)\n",
	    g.n - first, span, rate);
	/* never above the rate (5 % for the clock edges); a floor far below it only catches a
	 * broken limiter: on a loaded machine the streamer may fall behind, which is not a fault
	 * of rate control (how close it stays is measured by tools/bench/streamer) */
	assert_true(rate <= 210.0);
	assert_true(rate >= 150.0);
	tmq_stop(&m);
	got_free(&g);
	free(csv);
}

static void
test_streamer_sigterm_drains_and_exits_0(void **state)
{
	tmq         m;
	char       *csv = gt_test_fixture("csv/wide_basic.csv");
	got         g = {0};
	gt_proc    *p;
	json_t     *done;
	const char *extra[] = {"--loop", "--rate=200", "--workers=2", "--batch=20", NULL};
	int         port;
	char       *body = NULL;
	int64_t     t0;
	(void)state;

	tmq_start(&m, NULL);
	p = streamer_start(&m, csv, "loop", extra);
	port = (int)gt_proc_ready_int(p, "http_port");
	assert_true(port > 0);
	fetch_all(&m, "loop", 100, 3000, &g); /* records flow */
	assert_true(g.n >= 100);
	/* --loop defaults to --timestamps now: a live series */
	assert_true(g.recs[0]->timestamp_ns > gt_now_ns() - 60 * GT_NS_PER_S);

	assert_int_equal(gt_test_http(port, "GET", "/health", NULL, NULL, 0, &body, NULL), 200);
	assert_non_null(strstr(body, "\"status\":\"ok\""));
	{
		/* the uptime field every service shares (was uptime_ms here) */
		json_t *j = json_loads(body, 0, NULL);
		assert_non_null(j);
		assert_true(json_is_number(json_object_get(j, "uptime_seconds")));
		assert_null(json_object_get(j, "uptime_ms"));
		assert_string_equal(json_string_value(json_object_get(j, "service")), "streamer");
		json_decref(j);
	}
	free(body);
	assert_int_equal(gt_test_http(port, "GET", "/stats", NULL, NULL, 0, &body, NULL), 200);
	{
		json_t *j = json_loads(body, 0, NULL);
		assert_non_null(j);
		assert_true(json_is_number(json_object_get(j, "uptime_seconds")));
		assert_null(json_object_get(j, "uptime_ms"));
		assert_string_equal(json_string_value(json_object_get(j, "format")), "wide");
		assert_true(json_integer_value(json_object_get(j, "published")) > 0);
		json_decref(j);
	}
	free(body);
	assert_int_equal(gt_test_http(port, "GET", "/metrics", NULL, NULL, 0, &body, NULL), 200);
	assert_non_null(strstr(body, "gt_streamer_records_published_total"));
	free(body);

	t0 = gt_mono_ns();
	assert_int_equal(gt_proc_stop(p, SIGTERM, 15 * GT_NS_PER_S), 0);
	assert_true(gt_mono_ns() - t0 < 5 * GT_NS_PER_S);
	done = log_json(p, "stream.done");
	assert_int_equal(json_integer_value(json_object_get(done, "abandoned")), 0);
	assert_int_equal(json_integer_value(json_object_get(done, "failed")), 0);
	assert_int_equal(json_integer_value(json_object_get(done, "published")),
	    json_integer_value(json_object_get(done, "queued")));
	/* everything confirmed is in the broker, once */
	fetch_all(&m, "loop", (size_t)json_integer_value(json_object_get(done, "published")), 2000, &g);
	assert_int_equal(g.n, (size_t)json_integer_value(json_object_get(done, "published")));
	json_decref(done);
	gt_proc_free(p);
	tmq_stop(&m);
	got_free(&g);
	free(csv);
}

static void
test_streamer_duration_stops_a_loop_cleanly(void **state)
{
	tmq         m;
	char       *csv = gt_test_fixture("csv/dcgm_basic.csv");
	gt_proc    *p;
	got         g = {0};
	json_t     *done;
	int64_t     t0 = gt_mono_ns(), el;
	const char *extra[] = {"--loop", "--duration=1500ms", "--rate=100", "--workers=1", NULL};
	(void)state;

	tmq_start(&m, NULL);
	p = streamer_start(&m, csv, "dur", extra);
	assert_int_equal(gt_proc_wait_exit(p, 15 * GT_NS_PER_S), 0);
	el = gt_mono_ns() - t0;
	assert_true(el >= 1500 * GT_NS_PER_MS && el < 6 * GT_NS_PER_S);
	assert_int_equal(gt_proc_count_log(p, "csv.pass_done") > 10, 1); /* 4 records a pass */
	done = log_json(p, "stream.done");
	assert_int_equal(json_integer_value(json_object_get(done, "published")),
	    json_integer_value(json_object_get(done, "queued")));
	fetch_all(&m, "dur", (size_t)json_integer_value(json_object_get(done, "published")), 2000, &g);
	assert_int_equal(g.n, (size_t)json_integer_value(json_object_get(done, "published")));
	/* ~100 records/s for 1.5 s, plus what was in flight at the stop (<= 3 chunks of 10) */
	print_message("duration: %zu records in 1.5 s at --rate 100\n", g.n);
	assert_true(g.n >= 120 && g.n <= 190);
	json_decref(done);
	gt_proc_free(p);
	tmq_stop(&m);
	got_free(&g);
	free(csv);
}

/* The Streamer RPC (what gtctl asks): Stats answers the /stats document, Health the state;
 * with a token, a call without it is refused. */
static void
test_streamer_rpc_stats_and_health(void **state)
{
	tmq                       m = {0};
	char                     *csv = gt_test_fixture("csv/wide_basic.csv");
	const char               *extra[] = {"--loop", "--rate=200", "--workers=1", NULL};
	gt_proc                  *p;
	char                     *url, *body = NULL;
	size_t                    len = 0, i;
	gt_rpc_client            *cli = NULL, *bad = NULL;
	gt_rpc_client_cfg         ccfg = {0};
	gt_rpc_stub               stub;
	Gtpb__V1__StatsRequest    sreq = GTPB__V1__STATS_REQUEST__INIT;
	Gtpb__V1__HealthRequest   hreq = GTPB__V1__HEALTH_REQUEST__INIT;
	Gtpb__V1__StatsResponse  *sr = NULL;
	Gtpb__V1__HealthResponse *hr = NULL;
	json_t                   *rpc_doc, *http_doc;
	int                       state_seen = 0;
	(void)state;

	tmq_start(&m, NULL);
	p = streamer_start(&m, csv, "rpc", extra);
	url = gt_proc_ready_str(p, "rpc_url");
	assert_non_null(url);
	assert_non_null(strstr(url, "tcp://127.0.0.1:"));
	assert_int_equal(gt_rpc_client_open(&cli, url, NULL), GT_OK);
	gt_rpc_stub_init(&stub, cli, &gtpb__v1__streamer__descriptor, 5 * GT_NS_PER_S);
	assert_int_equal(gt_rpc_call_by_name(&stub, "Stats", &sreq.base, (ProtobufCMessage **)&sr),
	    GT_OK);
	assert_non_null(rpc_doc = json_loads(sr->json, 0, NULL));
	assert_string_equal(json_string_value(json_object_get(rpc_doc, "service")), "streamer");
	assert_string_equal(json_string_value(json_object_get(rpc_doc, "topic")), "rpc");
	assert_int_equal(gt_test_http((int)gt_proc_ready_int(p, "http_port"), "GET", "/stats", NULL,
	                     NULL, 0, &body, &len),
	    200);
	assert_non_null(http_doc = json_loadb(body, len, 0, NULL));
	/* the same document: the same keys (values move on: it is streaming) */
	assert_int_equal(json_object_size(rpc_doc), json_object_size(http_doc));
	assert_true(json_integer_value(json_object_get(http_doc, "published")) >=
	            json_integer_value(json_object_get(rpc_doc, "published")));
	assert_int_equal(gt_rpc_call_by_name(&stub, "Health", &hreq.base, (ProtobufCMessage **)&hr),
	    GT_OK);
	assert_string_equal(hr->status, "ok");
	assert_string_equal(hr->service, "streamer");
	assert_true(hr->uptime_ns > 0);
	for (i = 0; i < hr->n_details; i++)
		if (strcmp(hr->details[i]->key, "state") == 0 &&
		    strcmp(hr->details[i]->value, "streaming") == 0)
			state_seen = 1;
	assert_true(state_seen);
	protobuf_c_message_free_unpacked(&sr->base, NULL);
	protobuf_c_message_free_unpacked(&hr->base, NULL);
	json_decref(rpc_doc);
	json_decref(http_doc);
	free(body);
	gt_rpc_client_close(cli);
	assert_int_equal(gt_proc_stop(p, SIGTERM, 10 * GT_NS_PER_S), 0);
	gt_proc_free(p);
	free(url);

	/* with --token: no token -> UNAUTHENTICATED */
	{
		const char *tok[] = {"--token=s3cret", "--loop", "--rate=50", "--workers=1", NULL};

		p = streamer_start(&m, csv, "rpc2", tok);
		url = gt_proc_ready_str(p, "rpc_url");
		assert_int_equal(gt_rpc_client_open(&bad, url, NULL), GT_OK);
		gt_rpc_stub_init(&stub, bad, &gtpb__v1__streamer__descriptor, 5 * GT_NS_PER_S);
		assert_int_not_equal(gt_rpc_call_by_name(&stub, "Health", &hreq.base,
		                         (ProtobufCMessage **)&hr),
		    GT_OK);
		assert_int_equal(stub.status.code, GT_RPC_UNAUTHENTICATED);
		gt_rpc_client_close(bad);
		ccfg.token = "s3cret";
		assert_int_equal(gt_rpc_client_open(&cli, url, &ccfg), GT_OK);
		gt_rpc_stub_init(&stub, cli, &gtpb__v1__streamer__descriptor, 5 * GT_NS_PER_S);
		if (gt_rpc_call_by_name(&stub, "Health", &hreq.base, (ProtobufCMessage **)&hr) != GT_OK)
			fail_msg("Health with the token: %s %s", gt_rpc_code_name(stub.status.code),
			    stub.status.message);
		protobuf_c_message_free_unpacked(&hr->base, NULL);
		gt_rpc_client_close(cli);
		assert_int_equal(gt_proc_stop(p, SIGTERM, 10 * GT_NS_PER_S), 0);
		gt_proc_free(p);
		free(url);
	}
	tmq_stop(&m);
	free(csv);
}

static void
test_streamer_waits_for_a_late_broker(void **state)
{
	tmq         m = {0};
	char       *csv = gt_test_fixture("csv/wide_basic.csv");
	char        url[64], mqurl[80], csvflag[600], rpcflag[80];
	int         port = gt_test_free_port();
	gt_proc    *p;
	got         g = {0};
	const char *extra[] = {rpcflag, NULL};
	const char *argv[] = {"gt-streamer", csvflag, mqurl, "--port=-1", "--rpc-url=", "--rpc-timeout=300ms",
	    "--topic=late", NULL};
	(void)state;

	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port);
	snprintf(mqurl, sizeof(mqurl), "--mq-url=%s", url);
	snprintf(rpcflag, sizeof(rpcflag), "--rpc-url=%s", url);
	snprintf(csvflag, sizeof(csvflag), "--csv=%s", csv);
	assert_int_equal(gt_proc_start(&p, argv, NULL), GT_OK);
	assert_int_equal(gt_proc_wait_ready(p, 10 * GT_NS_PER_S), GT_OK);
	/* nothing listens yet: attempts time out and are retried with backoff */
	assert_int_equal(gt_proc_wait_log(p, "publish.retry", 5 * GT_NS_PER_S, NULL, NULL), GT_OK);
	tmq_start(&m, extra);
	assert_int_equal(gt_proc_wait_exit(p, 20 * GT_NS_PER_S), 0);
	gt_proc_free(p);
	fetch_all(&m, "late", 6, 2000, &g);
	assert_int_equal(g.n, 6); /* every row once, none duplicated by the retries */
	tmq_stop(&m);
	got_free(&g);
	free(csv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_streamer_wide_file_every_row_arrives_exactly_once, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_streamer_fixtures_dcgm_smi_and_edge_cases, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_streamer_rate_is_never_exceeded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_streamer_rpc_stats_and_health, setup, teardown),
		cmocka_unit_test_setup_teardown(test_streamer_sigterm_drains_and_exits_0, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_streamer_duration_stops_a_loop_cleanly, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_streamer_waits_for_a_late_broker, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_gtctl.c - the real gtctl binary against real gt-mq, gt-collector and gt-streamer
 * processes on ephemeral loopback ports: exit codes, `-o json` parsed with jansson, tables and
 * CSV checked, unreachable services (3), a wrong token (1), bad arguments (2), unhealthy (4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_time.h"
#include "gt_test.h"
#include "gtpb/v1/mq.pb-c.h"
#include "test_gtctl_util.h"

#define DCGM_GPU1 "GPU-0a1b2c3d-0000-4000-8000-000000000001"

/* Publish a fixture with gtctl and wait until the collector lists n_gpus GPUs of host. */
static int64_t
publish_fixture(const char *name)
{
	char       *csv = gt_test_fixture(name);
	const char *args[] = {"publish", csv, "-o", "json", NULL};
	json_t     *doc;
	int64_t     records;

	assert_int_equal(tg_run_json(args, &doc, NULL), 0);
	records = json_integer_value(json_object_get(doc, "records"));
	assert_true(records > 0);
	assert_int_equal(json_integer_value(json_object_get(doc, "published")), records);
	assert_int_equal(json_integer_value(json_object_get(doc, "bad_rows")), 0);
	assert_string_equal(json_string_value(json_object_get(doc, "format")), "dcgm");
	json_decref(doc);
	free(csv);
	return records;
}

/* Wait until the GPU has n records stored (gtctl gpus -o json). */
static void
wait_gpu_records(const char *gpu, int64_t n)
{
	int64_t deadline = gt_mono_ns() + 20 * GT_NS_PER_S, got = -1;

	while (gt_mono_ns() < deadline) {
		const char *args[] = {"gpus", "-o", "json", NULL};
		json_t     *doc, *row;
		size_t      i;

		assert_int_equal(tg_run_json(args, &doc, NULL), 0);
		json_array_foreach(doc, i, row) {
			if (strcmp(json_string_value(json_object_get(row, "gpu")), gpu) == 0)
				got = json_integer_value(json_object_get(row, "records"));
		}
		json_decref(doc);
		if (got >= n)
			return;
		gt_sleep_ns(100 * GT_NS_PER_MS);
	}
	fail_msg("gpu %s: %lld records stored, want %lld", gpu, (long long)got, (long long)n);
}

static void
test_gtctl_bad_arguments_exit_2(void **state)
{
	static const char *const cases[][6] = {
	    {"bogus", NULL},
	    {"gpus", "--nope", NULL},
	    {"-o", "yaml", "topics", NULL},
	    {"--timeout", "soon", "topics", NULL},
	    {"telemetry", NULL},
	    {"telemetry", "g", "--limit", "ten", NULL},
	    {"telemetry", "g", "--since", "yesterday", NULL},
	    {"mq", "dlq", "list", NULL},
	    {"mq", "dlq", "purge", "gpu-telemetry", NULL},
	    {"mq", "purge", "gpu-telemetry", NULL},
	    {"top", "--sort", "color", NULL},
	    {"stats", "nothing", NULL},
	    {"completion", "fish", NULL},
	    {"publish", NULL},
	    {"alerts", "extra", NULL},
	    {"alerts", "--limit", "ten", NULL},
	    {"alerts", "--duration", "1s", NULL},
	    {"alerts", "--watch", "--duration", "soon", NULL},
	    {NULL},
	};
	char *out, *err;

	(void)state;
	setenv("GT_MQ_URL", tg_closed_url(), 1);
	setenv("GT_COLLECTOR_URL", tg_closed_url(), 1);
	setenv("GT_GATEWAY_URL", tg_closed_url(), 1);
	assert_int_equal(tg_run(NULL, NULL, &out, &err), 2);
	assert_non_null(strstr(err, "usage: gtctl"));
	free(out);
	free(err);
	for (size_t i = 0; cases[i][0]; i++) {
		assert_int_equal(tg_run(cases[i], NULL, &out, &err), 2);
		assert_true(strlen(err) > 0); /* says why */
		assert_null(strstr(err, "unreachable")); /* never got as far as a call */
		free(out);
		free(err);
	}
	/* --help on every command: exit 0 with its usage */
	for (size_t i = 0; i < 15; i++) {
		static const char *const verbs[] = {"health",  "stats",      "topics",    "groups",
		                                    "gpus",    "hosts",      "telemetry", "export",
		                                    "tail",    "top",        "doctor",    "mq",
		                                    "publish", "completion", "alerts"};
		const char *args[] = {verbs[i], "--help", NULL};
		char        want[64];

		assert_int_equal(tg_run(args, NULL, &out, NULL), 0);
		snprintf(want, sizeof(want), "usage: gtctl %s", verbs[i]);
		assert_non_null(strstr(out, want));
		assert_non_null(strstr(out, "--token"));
		free(out);
	}
	{
		const char *args[] = {"completion", "bash", NULL};

		assert_int_equal(tg_run(args, NULL, &out, NULL), 0);
		assert_non_null(strstr(out, "complete -F _gtctl gtctl"));
		assert_non_null(strstr(out, "doctor"));
		assert_non_null(
		    strstr(out, "alerts) COMPREPLY=($(compgen -W \"--history --watch "));
		free(out);
	}
}

static void
test_gtctl_unreachable_exit_3(void **state)
{
	static const char *const cases[][6] = {
	    {"topics", NULL},
	    {"groups", "-o", "json", NULL},
	    {"gpus", NULL},
	    {"telemetry", "GPU-x", NULL},
	    {"stats", "mq", NULL},
	    {"health", "mq", "collector", NULL},
	    {"mq", "dlq", "list", "gpu-telemetry", NULL},
	    {"tail", NULL},
	    {"top", "--once", NULL},
	    {NULL},
	};
	char *out, *err;

	(void)state;
	setenv("GT_MQ_URL", tg_closed_url(), 1);
	setenv("GT_COLLECTOR_URL", tg_closed_url(), 1);
	setenv("GT_GATEWAY_URL", tg_closed_url(), 1);
	setenv("GT_PUB_URL", tg_closed_url(), 1);
	for (size_t i = 0; cases[i][0]; i++) {
		int64_t t0 = gt_mono_ns();

		assert_int_equal(tg_run(cases[i], NULL, &out, &err), 3);
		assert_true(strstr(err, "unreachable") || strstr(out, "unreachable"));
		assert_true(gt_mono_ns() - t0 < 3 * GT_NS_PER_S); /* refused at once, not a timeout */
		free(out);
		free(err);
	}
	{
		char       *csv = gt_test_fixture("csv/wide_basic.csv");
		const char *args[] = {"publish", csv, NULL};

		assert_int_equal(tg_run(args, NULL, &out, &err), 3);
		free(csv);
		free(out);
		free(err);
	}
}

static void
test_gtctl_health_stats_topics_groups(void **state)
{
	tg_env e;
	json_t *doc, *row;
	char   *out, *err;
	size_t  i;

	(void)state;
	tg_start(&e, 1);
	{
		/* the three that run: all ok -> 0 */
		const char *args[] = {"health", "mq", "collector", "streamer", "-o", "json", NULL};

		assert_int_equal(tg_run_json(args, &doc, NULL), 0);
		assert_int_equal(json_array_size(doc), 3);
		json_array_foreach(doc, i, row) {
			assert_string_equal(json_string_value(json_object_get(row, "status")), "ok");
			assert_string_equal(json_string_value(json_object_get(row, "version")), "0.1.0");
			assert_true(json_number_value(json_object_get(row, "latency_ms")) >= 0);
			assert_true(json_number_value(json_object_get(row, "uptime_seconds")) > 0);
		}
		assert_string_equal(json_string_value(json_object_get(json_array_get(doc, 2), "component")),
		    "streamer");
		assert_non_null(json_object_get(json_object_get(json_array_get(doc, 2), "details"), "state"));
		json_decref(doc);
	}
	{
		/* every component: the gateway is not running -> down, exit 4; table has a line each */
		const char *args[] = {"health", NULL};

		assert_int_equal(tg_run(args, NULL, &out, &err), 4);
		assert_int_equal(tg_lines(out), 5);
		assert_non_null(strstr(out, "COMPONENT"));
		assert_non_null(strstr(out, "gateway    down"));
		assert_non_null(strstr(out, "mq         ok"));
		free(out);
		free(err);
	}
	{
		const char *args[] = {"stats", "mq", "-o", "json", NULL};

		assert_int_equal(tg_run_json(args, &doc, NULL), 0);
		assert_non_null(json_object_get(doc, "topics"));
		assert_non_null(json_object_get(doc, "uptime_seconds"));
		json_decref(doc);
	}
	{
		/* no gateway configured: the three others */
		const char *args[] = {"stats", "-o", "json", NULL};
		const char *env[] = {"GT_GATEWAY_URL=", NULL};
		char       *o;

		assert_int_equal(tg_run(args, env, &o, NULL), 0);
		doc = json_loads(o, 0, NULL);
		free(o);
		assert_non_null(doc);
		assert_null(json_object_get(doc, "gateway"));
		assert_non_null(json_object_get(doc, "mq"));
		assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "collector"),
		                        "service")),
		    "collector");
		assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "streamer"),
		                        "service")),
		    "streamer");
		json_decref(doc);
	}
	{
		const char *args[] = {"stats", "collector", NULL};

		assert_int_equal(tg_run(args, NULL, &out, NULL), 0);
		assert_non_null(strstr(out, "collector  total_processed"));
		free(out);
	}
	publish_fixture("csv/dcgm_basic.csv");
	{
		const char *args[] = {"topics", "-o", "json", NULL};

		assert_int_equal(tg_run_json(args, &doc, NULL), 0);
		assert_string_equal(json_string_value(json_object_get(json_array_get(doc, 0), "topic")),
		    "gpu-telemetry");
		assert_true(json_integer_value(json_object_get(json_array_get(doc, 0), "messages")) > 0);
		assert_int_equal(json_integer_value(json_object_get(json_array_get(doc, 0), "groups")), 1);
		json_decref(doc);
	}
	{
		const char *args[] = {"groups", "-o", "json", NULL};

		assert_int_equal(tg_run_json(args, &doc, NULL), 0);
		row = json_array_get(doc, 0);
		assert_string_equal(json_string_value(json_object_get(row, "group")), "collectors");
		assert_true(json_is_integer(json_object_get(row, "lag")));
		assert_true(json_is_integer(json_object_get(row, "pending")));
		assert_string_equal(json_string_value(json_array_get(json_object_get(row, "consumers"), 0)),
		    "c1");
		json_decref(doc);
	}
	{
		const char *args[] = {"groups", "-o", "csv", NULL};

		assert_int_equal(tg_run(args, NULL, &out, NULL), 0);
		assert_non_null(strstr(out, "topic,group,lag,pending,redelivered,dead_lettered,consumers\n"
		                            "gpu-telemetry,collectors,"));
		free(out);
	}
	tg_stop(&e);
}

static void
test_gtctl_publish_gpus_hosts_telemetry_export(void **state)
{
	tg_env  e;
	json_t *doc, *row;
	char   *out, *err;
	size_t  i;
	int64_t n1 = 0;

	(void)state;
	tg_start(&e, 0);
	publish_fixture("csv/dcgm_basic.csv");
	/* GPU 1 of node-1: count its records from the file's own groups */
	{
		char *csv = gt_test_fixture("csv/dcgm_basic.csv");
		char *text = gt_test_read_file(csv, NULL), *p = text;
		char  last[64] = "";

		assert_non_null(text);
		while ((p = strstr(p, DCGM_GPU1)) != NULL) {
			char *ls = p;

			while (ls > text && ls[-1] != '\n')
				ls--;
			if (strncmp(ls, last, 24) != 0) { /* a new timestamp group */
				n1++;
				memcpy(last, ls, 24);
			}
			p += strlen(DCGM_GPU1);
		}
		free(text);
		free(csv);
		assert_true(n1 > 1);
	}
	wait_gpu_records(DCGM_GPU1, n1);
	{
		const char *args[] = {"gpus", "-o", "json", NULL};

		assert_int_equal(tg_run_json(args, &doc, NULL), 0);
		assert_int_equal(json_array_size(doc), 3);
		json_array_foreach(doc, i, row) {
			assert_true(json_is_real(json_object_get(row, "temperature")));
			assert_true(json_is_true(json_object_get(row, "stale"))); /* 2026-11-26 data */
			assert_non_null(strstr(json_string_value(json_object_get(row, "host")), "node-"));
		}
		json_decref(doc);
	}
	{
		const char *args[] = {"gpus", "--host", "node-2", "-o", "json", NULL};

		assert_int_equal(tg_run_json(args, &doc, NULL), 0);
		assert_int_equal(json_array_size(doc), 1);
		json_decref(doc);
	}
	{
		const char *args[] = {"gpus", "--stale", "--stale-after", "1000000h", "-o", "json", NULL};

		assert_int_equal(tg_run_json(args, &doc, NULL), 0);
		assert_int_equal(json_array_size(doc), 0);
		json_decref(doc);
	}
	{
		const char *args[] = {"gpus", NULL};

		assert_int_equal(tg_run(args, NULL, &out, NULL), 0);
		assert_int_equal(tg_lines(out), 4);
		assert_true(strncmp(out, "GPU ", 4) == 0);
		assert_non_null(strstr(out, DCGM_GPU1 "  node-1"));
		free(out);
	}
	{
		const char *args[] = {"hosts", "-o", "json", NULL};
		int64_t     gpus = 0;

		assert_int_equal(tg_run_json(args, &doc, NULL), 0);
		assert_int_equal(json_array_size(doc), 2);
		json_array_foreach(doc, i, row) gpus += json_integer_value(json_object_get(row, "gpus"));
		assert_int_equal(gpus, 3);
		json_decref(doc);
	}
	{
		const char *args[] = {"telemetry", DCGM_GPU1, "--limit", "2", "-o", "json", NULL};
		int64_t     t0, t1;

		assert_int_equal(tg_run_json(args, &doc, NULL), 0);
		assert_int_equal(json_array_size(doc), 2);
		t0 = json_integer_value(json_object_get(json_array_get(doc, 0), "timestamp_ns"));
		t1 = json_integer_value(json_object_get(json_array_get(doc, 1), "timestamp_ns"));
		assert_true(t0 > t1); /* newest first */
		assert_string_equal(json_string_value(json_object_get(json_array_get(doc, 0), "gpu")),
		    DCGM_GPU1);
		assert_true(json_is_real(json_object_get(json_array_get(doc, 0), "temperature")));
		json_decref(doc);
	}
	{
		const char *args[] = {"telemetry", DCGM_GPU1, "--metric", "temperature", "--since",
		    "2026-11-26T22:00:01Z", "--until", "2026-11-26T22:00:01Z", "-o", "csv", NULL};

		assert_int_equal(tg_run(args, NULL, &out, NULL), 0);
		assert_string_equal(out, "timestamp,temperature\n2026-11-26T22:00:01.000Z,46\n");
		free(out);
	}
	{
		const char *args[] = {"telemetry", "GPU-none", NULL};

		assert_int_equal(tg_run(args, NULL, &out, &err), 1);
		assert_non_null(strstr(err, "NOT_FOUND"));
		free(out);
		free(err);
	}
	{
		/* export pages (--page 2) oldest first: every record exactly once */
		const char *args[] = {"export", DCGM_GPU1, "--since", "2026-01-01T00:00:00Z", "--page",
		    "2", "-o", "csv", NULL};

		assert_int_equal(tg_run(args, NULL, &out, &err), 0);
		assert_int_equal(tg_lines(out), (size_t)n1 + 1);
		assert_true(strncmp(out, "timestamp,gpu,host,temperature,utilization,power_draw", 52) == 0);
		assert_non_null(strstr(out, "2026-11-26T22:00:00.000Z," DCGM_GPU1 ",node-1,45,87,"));
		free(out);
		free(err);
	}
	{
		const char *args[] = {"export", DCGM_GPU1, "-o", "json", NULL};
		char       *line;
		int64_t     prev = 0;
		size_t      n = 0;

		assert_int_equal(tg_run(args, NULL, &out, NULL), 0);
		for (line = strtok(out, "\n"); line; line = strtok(NULL, "\n"), n++) {
			json_t *o = json_loads(line, 0, NULL);
			int64_t ts;

			assert_non_null(o);
			ts = json_integer_value(json_object_get(o, "timestamp_ns"));
			assert_true(ts > prev);
			prev = ts;
			json_decref(o);
		}
		assert_int_equal(n, (size_t)n1);
		free(out);
	}
	{
		const char *args[] = {"top", "--once", "-o", "json", "--sort", "temp", NULL};
		double      prev = 1e9;

		assert_int_equal(tg_run_json(args, &doc, NULL), 0);
		assert_int_equal(json_array_size(doc), 3);
		json_array_foreach(doc, i, row) {
			double t = json_number_value(json_object_get(row, "temperature"));

			assert_true(t <= prev); /* hottest first */
			prev = t;
		}
		json_decref(doc);
	}
	{
		const char *args[] = {"top", "--once", "--host", "node-2", NULL};

		assert_int_equal(tg_run(args, NULL, &out, NULL), 0);
		assert_int_equal(tg_lines(out), 2);
		assert_non_null(strstr(out, "TEMP"));
		assert_non_null(strstr(out, "node-2"));
		assert_null(strstr(out, "node-1"));
		free(out);
	}
	tg_stop(&e);
}

static void
test_gtctl_wrong_token_exit_1(void **state)
{
	tc_svc      mq;
	const char *extra[] = {"--token", "s3cret", NULL};
	char       *out, *err;

	(void)state;
	tc_mq_start(&mq, extra);
	setenv("GT_MQ_URL", mq.rpc_url, 1);
	{
		const char *args[] = {"topics", "--token", "wrong", NULL};

		assert_int_equal(tg_run(args, NULL, &out, &err), 1);
		assert_non_null(strstr(err, "UNAUTHENTICATED"));
		free(out);
		free(err);
	}
	{
		const char *args[] = {"health", "mq", "--token", "wrong", NULL};

		assert_int_equal(tg_run(args, NULL, &out, &err), 1);
		assert_non_null(strstr(err, "UNAUTHENTICATED"));
		assert_non_null(strstr(out, "mq         error"));
		free(out);
		free(err);
	}
	{
		const char *args[] = {"topics", NULL};
		const char *env[] = {"GT_TOKEN=s3cret", NULL};

		assert_int_equal(tg_run(args, env, &out, &err), 0);
		free(out);
		free(err);
	}
	{
		char       *csv = gt_test_fixture("csv/wide_basic.csv");
		const char *args[] = {"publish", csv, "--token=nope", NULL};

		assert_int_equal(tg_run(args, NULL, &out, &err), 1);
		assert_non_null(strstr(err, "UNAUTHENTICATED"));
		free(csv);
		free(out);
		free(err);
	}
	tc_stop(&mq);
}

static void
test_gtctl_doctor_and_unhealthy_exit_4(void **state)
{
	tg_env  e;
	json_t *doc, *row;
	char   *out, *err;
	size_t  i;
	int     no_data = 0;

	(void)state;
	tg_start(&e, 0);
	{
		/* nothing published yet: the doctor says so and exits 4 */
		const char *args[] = {"doctor", "--dlq-window", "50ms", "-o", "json", NULL};

		assert_int_equal(tg_run_json(args, &doc, NULL), 4);
		json_array_foreach(doc, i, row) {
			const char *msg = json_string_value(json_object_get(row, "message"));

			if (strstr(msg, "no telemetry stored yet"))
				no_data = strcmp(json_string_value(json_object_get(row, "status")), "fail") == 0;
			if (strcmp(json_string_value(json_object_get(row, "check")), "mq") == 0)
				assert_string_equal(json_string_value(json_object_get(row, "status")), "ok");
		}
		assert_true(no_data);
		json_decref(doc);
	}
	publish_fixture("csv/dcgm_basic.csv");
	wait_gpu_records(DCGM_GPU1, 2);
	{
		/* data (old timestamps: stale warnings), a consumer, an empty DLQ: exit 0 */
		const char *args[] = {"doctor", "--dlq-window", "50ms", NULL};

		assert_int_equal(tg_run(args, NULL, &out, &err), 0);
		assert_non_null(strstr(out, "[ok  ] mq "));
		assert_non_null(strstr(out, "[ok  ] lag       gpu-telemetry/collectors"));
		assert_non_null(strstr(out, "[warn] stale     3 of 3 GPUs"));
		assert_non_null(strstr(out, "[ok  ] dlq       gpu-telemetry.dlq is empty"));
		assert_non_null(strstr(out, "all good: 0 failed"));
		free(out);
		free(err);
	}
	{
		/* the collector reachable, its address wrong for one component: health exit 4 */
		const char *args[] = {"health", "mq", "collector", "--collector-url", tg_closed_url(), NULL};

		assert_int_equal(tg_run(args, NULL, &out, &err), 4);
		assert_non_null(strstr(out, "collector  down"));
		free(out);
		free(err);
	}
	{
		const char *args[] = {"doctor", "--dlq-window", "50ms", NULL};
		const char *env[256] = {NULL};
		char        col[128];

		snprintf(col, sizeof(col), "GT_COLLECTOR_URL=%s", tg_closed_url());
		env[0] = col;
		assert_int_equal(tg_run(args, env, &out, &err), 4);
		assert_non_null(strstr(out, "[fail] collector"));
		assert_non_null(strstr(out, "problems found"));
		free(out);
		free(err);
	}
	tg_stop(&e);
}

static void
test_gtctl_mq_dlq(void **state)
{
	tg_env  e;
	json_t *doc;
	char   *out, *err;
	int64_t deadline;
	int64_t total = 0;

	(void)state;
	tg_start(&e, 0);
	tc_publish_garbage(&e.mq, "GPU-bad-1");
	tc_publish_garbage(&e.mq, "GPU-bad-2");
	deadline = gt_mono_ns() + 20 * GT_NS_PER_S;
	while (gt_mono_ns() < deadline && total < 2) {
		const char *args[] = {"mq", "dlq", "list", "gpu-telemetry", "-o", "json", NULL};

		assert_int_equal(tg_run_json(args, &doc, NULL), 0);
		total = json_integer_value(json_object_get(doc, "total"));
		if (total == 2) {
			json_t *l = json_array_get(json_object_get(doc, "letters"), 0);

			assert_non_null(strstr(json_string_value(json_object_get(l, "key")), "GPU-bad-"));
			assert_string_equal(json_string_value(json_object_get(l, "group")), "collectors");
			assert_int_equal(json_integer_value(json_object_get(l, "bytes")), 6);
		}
		json_decref(doc);
		if (total < 2)
			gt_sleep_ns(100 * GT_NS_PER_MS);
	}
	assert_int_equal(total, 2);
	{
		const char *args[] = {"mq", "dlq", "list", "gpu-telemetry", NULL};

		assert_int_equal(tg_run(args, NULL, &out, NULL), 0);
		assert_non_null(strstr(out, "2 of 2 dead letters"));
		assert_non_null(strstr(out, "DLQ_OFFSET"));
		free(out);
	}
	{
		/* the doctor sees them (not growing: a warning) */
		const char *args[] = {"doctor", "--dlq-window", "50ms", NULL};

		tg_run(args, NULL, &out, NULL);
		assert_non_null(strstr(out, "gpu-telemetry.dlq holds 2 dead letters"));
		free(out);
	}
	{
		const char *args[] = {"mq", "dlq", "replay", "gpu-telemetry", "--limit", "1", "-o", "json",
		    NULL};

		assert_int_equal(tg_run_json(args, &doc, NULL), 0);
		assert_int_equal(json_integer_value(json_object_get(doc, "replayed")), 1);
		json_decref(doc);
	}
	{
		const char *args[] = {"mq", "dlq", "purge", "gpu-telemetry", NULL};

		assert_int_equal(tg_run(args, NULL, &out, &err), 2); /* no --yes */
		assert_non_null(strstr(err, "--yes"));
		free(out);
		free(err);
	}
	{
		const char *args[] = {"mq", "dlq", "purge", "gpu-telemetry", "--yes", NULL};

		assert_int_equal(tg_run(args, NULL, &out, NULL), 0);
		assert_non_null(strstr(out, "gpu-telemetry: purged "));
		free(out);
	}
	{
		const char *args[] = {"mq", "dlq", "list", "no-such-topic", NULL};

		assert_int_equal(tg_run(args, NULL, &out, &err), 1);
		assert_non_null(strstr(err, "NOT_FOUND"));
		free(out);
		free(err);
	}
	tg_stop(&e);
}

/* Retained bytes of topic (gtctl topics -o json), -1 when not listed. */
static int64_t
topic_bytes(const char *topic)
{
	const char *args[] = {"topics", "-o", "json", NULL};
	json_t     *doc, *row;
	size_t      i;
	int64_t     b = -1;

	assert_int_equal(tg_run_json(args, &doc, NULL), 0);
	json_array_foreach(doc, i, row) {
		if (strcmp(json_string_value(json_object_get(row, "topic")), topic) == 0)
			b = json_integer_value(json_object_get(row, "bytes"));
	}
	json_decref(doc);
	return b;
}

static void
test_gtctl_mq_purge(void **state)
{
	tc_svc      mq;
	char       *dir = gt_test_tmpdir("gtctl-purge");
	char       *csv = gt_test_fixture("csv/dcgm_basic.csv");
	const char *pub[] = {"publish", csv, "--topic", "spare", NULL};
	const char *purge[] = {"mq", "purge", "spare", "--yes", NULL};
	char       *out, *err;

	(void)state;
	/* in memory, a topic nobody consumes: its log is dropped */
	tc_mq_start(&mq, NULL);
	setenv("GT_MQ_URL", mq.rpc_url, 1);
	assert_int_equal(tg_run(pub, NULL, NULL, NULL), 0);
	assert_true(topic_bytes("spare") > 0);
	{
		const char *args[] = {"mq", "purge", "spare", NULL};

		assert_int_equal(tg_run(args, NULL, &out, &err), 2);
		assert_non_null(strstr(err, "--yes"));
		free(out);
		free(err);
	}
	assert_int_equal(tg_run(purge, NULL, &out, NULL), 0);
	assert_non_null(strstr(out, "spare: purged "));
	assert_null(strstr(out, "purged 0"));
	free(out);
	assert_int_equal(topic_bytes("spare"), 0);
	{
		const char *args[] = {"mq", "purge", "nope", "--yes", NULL};

		assert_int_equal(tg_run(args, NULL, &out, &err), 1);
		assert_non_null(strstr(err, "NOT_FOUND"));
		free(out);
		free(err);
	}
	tc_stop(&mq);

	/* with --persistence: refused without a group (nothing records it), and with a group the
	 * purge is its acks in the WAL: still empty after kill -9 */
	{
		const char *extra[] = {"--persistence", "--persistence-path", dir, "--fsync", "always",
		    NULL};
		Gtpb__V1__FetchRequest   fr = GTPB__V1__FETCH_REQUEST__INIT;
		Gtpb__V1__FetchResponse *fo = NULL;
		gt_rpc_stub              stub;

		tc_mq_start(&mq, extra);
		setenv("GT_MQ_URL", mq.rpc_url, 1);
		assert_int_equal(tg_run(pub, NULL, NULL, NULL), 0);
		assert_int_equal(tg_run(purge, NULL, &out, &err), 1);
		assert_non_null(strstr(err, "FAILED_PRECONDITION"));
		free(out);
		free(err);
		/* a group that took two messages and acked none */
		fr.topic = "spare";
		fr.group = "g";
		fr.consumer = "c";
		fr.max_messages = 2;
		gt_rpc_stub_init(&stub, mq.cli, &gtpb__v1__message_queue__descriptor, 5 * GT_NS_PER_S);
		assert_int_equal(gt_rpc_call_by_name(&stub, "Fetch", &fr.base, (ProtobufCMessage **)&fo),
		    GT_OK);
		assert_int_equal(fo->n_deliveries, 2);
		protobuf_c_message_free_unpacked(&fo->base, NULL);
		assert_int_equal(tg_run(purge, NULL, &out, NULL), 0);
		assert_null(strstr(out, "purged 0"));
		free(out);
		assert_int_equal(topic_bytes("spare"), 0);
		tc_kill(&mq);
		tc_mq_start(&mq, extra);
		setenv("GT_MQ_URL", mq.rpc_url, 1);
		assert_int_equal(topic_bytes("spare"), 0);
		fo = NULL;
		fr.wait_ms = 0;
		gt_rpc_stub_init(&stub, mq.cli, &gtpb__v1__message_queue__descriptor, 5 * GT_NS_PER_S);
		assert_int_equal(gt_rpc_call_by_name(&stub, "Fetch", &fr.base, (ProtobufCMessage **)&fo),
		    GT_OK);
		assert_int_equal(fo->n_deliveries, 0);
		protobuf_c_message_free_unpacked(&fo->base, NULL);
		tc_stop(&mq);
	}
	gt_test_rmrf(dir);
	free(dir);
	free(csv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_gtctl_bad_arguments_exit_2, tc_cleanup),
	    cmocka_unit_test_teardown(test_gtctl_unreachable_exit_3, tc_cleanup),
	    cmocka_unit_test_teardown(test_gtctl_health_stats_topics_groups, tc_cleanup),
	    cmocka_unit_test_teardown(test_gtctl_publish_gpus_hosts_telemetry_export, tc_cleanup),
	    cmocka_unit_test_teardown(test_gtctl_wrong_token_exit_1, tc_cleanup),
	    cmocka_unit_test_teardown(test_gtctl_doctor_and_unhealthy_exit_4, tc_cleanup),
	    cmocka_unit_test_teardown(test_gtctl_mq_dlq, tc_cleanup),
	    cmocka_unit_test_teardown(test_gtctl_mq_purge, tc_cleanup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

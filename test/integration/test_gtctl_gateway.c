/* test_gtctl_gateway.c - every gtctl command that talks to the gateway, against a real
 * gt-gateway on an ephemeral loopback port in front of real gt-mq + gt-collector (+ gt-streamer):
 * health (all up -> 0), stats, the telemetry commands served through the gateway (the collector's
 * own URL pointed at a closed port, so nothing can fall back to it), doctor, a wrong token (1 with
 * the message), and a gateway that is gone (3). */
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
#include "test_gtctl_util.h"

#define DCGM_GPU1 "GPU-0a1b2c3d-0000-4000-8000-000000000001"

typedef struct gw_proc {
	gt_proc *proc;
	char    *rpc_url;
} gw_proc;

/* "GT_COLLECTOR_URL=<a closed port>": with it, telemetry can only come through the gateway. */
static const char *
no_collector_env(void)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "GT_COLLECTOR_URL=%s", tg_closed_url());
	return buf;
}

/* gt-gateway in front of e's broker and collector, extra flags (NULL-terminated or NULL);
 * exports GT_GATEWAY_URL. */
static void
gw_start(gw_proc *g, tg_env *e, const char *const *extra)
{
	const char *argv[32] = {"gt-gateway", "--port", "0", "--bind", "127.0.0.1", "--rpc-url",
	                        "tcp://127.0.0.1:0", "--mq-url", e->mq.rpc_url, "--collector-url",
	                        e->col.rpc_url, "--collector-live-url", e->pub_url,
	                        "--health-interval", "200ms"};
	size_t      n = 15;

	memset(g, 0, sizeof(*g));
	while (extra && *extra && n < 31)
		argv[n++] = *extra++;
	argv[n] = NULL;
	assert_int_equal(gt_proc_start(&g->proc, argv, NULL), GT_OK);
	assert_int_equal(gt_proc_wait_ready(g->proc, 20 * GT_NS_PER_S), GT_OK);
	g->rpc_url = gt_proc_ready_str(g->proc, "rpc_url");
	assert_non_null(g->rpc_url);
	setenv("GT_GATEWAY_URL", g->rpc_url, 1);
}

/* SIGTERM: the gateway exits 0. */
static void
gw_stop(gw_proc *g)
{
	if (g->proc == NULL)
		return;
	assert_int_equal(gt_proc_stop(g->proc, 15, 20 * GT_NS_PER_S), 0);
	gt_proc_free(g->proc);
	free(g->rpc_url);
	memset(g, 0, sizeof(*g));
}

/* Wait until `gtctl health gateway` says ok (its first dependency check has run). */
static void
wait_gateway_ok(const char *const *env)
{
	const char *args[] = {"health", "gateway", NULL};
	int64_t     deadline = gt_mono_ns() + 20 * GT_NS_PER_S;
	int         rc;

	while ((rc = tg_run(args, env, NULL, NULL)) != 0 && gt_mono_ns() < deadline)
		gt_sleep_ns(50 * GT_NS_PER_MS);
	assert_int_equal(rc, 0);
}

/* tg_run with env, stdout parsed as JSON; returns the exit status. */
static int
run_json_env(const char *const *args, const char *const *env, json_t **doc)
{
	char        *out = NULL, *err = NULL;
	json_error_t jerr;
	int          rc = tg_run(args, env, &out, &err);

	*doc = json_loads(out, 0, &jerr);
	if (*doc == NULL || rc != 0)
		fprintf(stderr, "gtctl %s: exit %d, stdout %s\nstderr %s\n", args[0], rc, out, err);
	assert_non_null(*doc);
	free(out);
	free(err);
	return rc;
}

static void
test_gtctl_gateway_health_stats_doctor(void **state)
{
	tg_env  e;
	gw_proc g;
	json_t *doc, *row;
	char   *out, *err;
	size_t  i;

	(void)state;
	tg_start(&e, 1);
	gw_start(&g, &e, NULL);
	wait_gateway_ok(NULL);
	{
		/* every component up, the gateway included: 0, one line each */
		const char *args[] = {"health", NULL};

		assert_int_equal(tg_run(args, NULL, &out, &err), 0);
		assert_int_equal(tg_lines(out), 5);
		assert_non_null(strstr(out, "gateway    ok"));
		assert_non_null(strstr(out, g.rpc_url));
		free(out);
		free(err);
	}
	{
		const char *args[] = {"health", "-o", "json", NULL};

		assert_int_equal(tg_run_json(args, &doc, NULL), 0);
		assert_int_equal(json_array_size(doc), 4);
		json_array_foreach(doc, i, row)
		{
			assert_string_equal(json_string_value(json_object_get(row, "status")), "ok");
			assert_true(json_is_null(json_object_get(row, "error")));
		}
		row = json_array_get(doc, 3);
		assert_string_equal(json_string_value(json_object_get(row, "component")), "gateway");
		assert_string_equal(json_string_value(json_object_get(row, "url")), g.rpc_url);
		assert_string_equal(json_string_value(json_object_get(row, "version")), "0.1.0");
		assert_true(json_number_value(json_object_get(row, "uptime_seconds")) > 0);
		assert_true(json_number_value(json_object_get(row, "latency_ms")) >= 0);
		assert_true(json_is_object(json_object_get(row, "details")));
		json_decref(doc);
	}
	{
		/* the gateway's own /stats section through its Stats RPC */
		const char *args[] = {"stats", "gateway", "-o", "json", NULL};

		assert_int_equal(tg_run_json(args, &doc, NULL), 0);
		assert_true(json_is_object(doc));
		assert_true(json_object_size(doc) > 0);
		assert_non_null(json_object_get(doc, "uptime_seconds"));
		json_decref(doc);
	}
	{
		/* all four sections now that a gateway is configured */
		const char *args[] = {"stats", "-o", "json", NULL};

		assert_int_equal(tg_run_json(args, &doc, NULL), 0);
		assert_non_null(json_object_get(doc, "gateway"));
		assert_non_null(json_object_get(doc, "mq"));
		assert_non_null(json_object_get(doc, "collector"));
		assert_non_null(json_object_get(doc, "streamer"));
		json_decref(doc);
	}
	{
		const char *args[] = {"stats", "gateway", NULL};

		assert_int_equal(tg_run(args, NULL, &out, NULL), 0);
		assert_non_null(strstr(out, "gateway    uptime_seconds"));
		free(out);
	}
	{
		/* the streamer's records are stored: the doctor finds nothing wrong, gateway included */
		const char *args[] = {"doctor", "--dlq-window", "50ms", NULL};
		int64_t     deadline = gt_mono_ns() + 20 * GT_NS_PER_S;
		int         rc;

		while ((rc = tg_run(args, NULL, &out, &err)) != 0 && gt_mono_ns() < deadline) {
			free(out);
			free(err);
			gt_sleep_ns(100 * GT_NS_PER_MS);
		}
		if (rc != 0)
			fprintf(stderr, "doctor: %s\n%s\n", out, err);
		assert_int_equal(rc, 0);
		assert_non_null(strstr(out, "[ok  ] gateway   healthy at "));
		assert_non_null(strstr(out, g.rpc_url));
		free(out);
		free(err);
	}
	{
		const char *args[] = {"doctor", "--dlq-window", "50ms", "-o", "json", NULL};
		int         seen = 0;

		assert_int_equal(tg_run_json(args, &doc, NULL), 0);
		json_array_foreach(doc, i, row)
		{
			if (strcmp(json_string_value(json_object_get(row, "check")), "gateway") == 0) {
				assert_string_equal(json_string_value(json_object_get(row, "status")), "ok");
				seen = 1;
			}
		}
		assert_true(seen);
		json_decref(doc);
	}

	/* the gateway goes away: its address refuses at once -> 3 for it alone, 4 for the set */
	gw_stop(&g);
	setenv("GT_GATEWAY_URL", tg_closed_url(), 1);
	{
		const char *args[] = {"health", "gateway", NULL};
		int64_t     t0 = gt_mono_ns();

		assert_int_equal(tg_run(args, NULL, &out, &err), 3);
		assert_non_null(strstr(out, "gateway    down"));
		assert_true(gt_mono_ns() - t0 < 3 * GT_NS_PER_S);
		free(out);
		free(err);
	}
	{
		const char *args[] = {"stats", "gateway", NULL};

		assert_int_equal(tg_run(args, NULL, &out, &err), 3);
		assert_non_null(strstr(err, "unreachable"));
		free(out);
		free(err);
	}
	{
		const char *args[] = {"health", NULL};

		assert_int_equal(tg_run(args, NULL, &out, &err), 4);
		assert_non_null(strstr(out, "gateway    down"));
		free(out);
		free(err);
	}
	tg_stop(&e);
}

static void
test_gtctl_gateway_telemetry_commands(void **state)
{
	tg_env      e;
	gw_proc     g;
	json_t     *doc, *row;
	char       *out, *err;
	size_t      i;
	char       *csv = gt_test_fixture("csv/dcgm_basic.csv");
	const char *pub[] = {"publish", csv, "-o", "json", NULL};
	const char *env[2];

	(void)state;
	tg_start(&e, 0);
	gw_start(&g, &e, NULL);
	env[0] = no_collector_env();
	env[1] = NULL;
	wait_gateway_ok(env);
	assert_int_equal(run_json_env(pub, NULL, &doc), 0);
	assert_true(json_integer_value(json_object_get(doc, "published")) > 0);
	json_decref(doc);
	{
		/* stored: 3 GPUs of 2 hosts */
		const char *args[] = {"gpus", "-o", "json", NULL};
		int64_t     deadline = gt_mono_ns() + 20 * GT_NS_PER_S;
		size_t      n = 0;

		for (;;) {
			assert_int_equal(run_json_env(args, env, &doc), 0);
			n = json_array_size(doc);
			if (n == 3 || gt_mono_ns() > deadline)
				break;
			json_decref(doc);
			gt_sleep_ns(100 * GT_NS_PER_MS);
		}
		assert_int_equal(n, 3);
		json_array_foreach(doc, i, row)
		{
			assert_true(json_is_real(json_object_get(row, "temperature")));
			assert_non_null(strstr(json_string_value(json_object_get(row, "host")), "node-"));
		}
		json_decref(doc);
	}
	{
		const char *args[] = {"gpus", "--host", "node-2", "-o", "csv", NULL};

		assert_int_equal(tg_run(args, env, &out, NULL), 0);
		assert_int_equal(tg_lines(out), 2);
		assert_non_null(strstr(out, "node-2"));
		free(out);
	}
	{
		const char *args[] = {"hosts", "-o", "json", NULL};
		int64_t     gpus = 0;

		assert_int_equal(run_json_env(args, env, &doc), 0);
		assert_int_equal(json_array_size(doc), 2);
		json_array_foreach(doc, i, row) gpus += json_integer_value(json_object_get(row, "gpus"));
		assert_int_equal(gpus, 3);
		json_decref(doc);
	}
	{
		const char *args[] = {"telemetry", DCGM_GPU1, "--limit", "2", "-o", "json", NULL};

		assert_int_equal(run_json_env(args, env, &doc), 0);
		assert_int_equal(json_array_size(doc), 2);
		assert_true(json_integer_value(json_object_get(json_array_get(doc, 0), "timestamp_ns")) >
		            json_integer_value(json_object_get(json_array_get(doc, 1), "timestamp_ns")));
		assert_string_equal(json_string_value(json_object_get(json_array_get(doc, 0), "gpu")),
		                    DCGM_GPU1);
		json_decref(doc);
	}
	{
		const char *args[] = {"telemetry", DCGM_GPU1, "--metric", "temperature", "--since",
		                      "2026-11-26T22:00:01Z", "--until", "2026-11-26T22:00:01Z", "-o",
		                      "csv", NULL};

		assert_int_equal(tg_run(args, env, &out, NULL), 0);
		assert_string_equal(out, "timestamp,temperature\n2026-11-26T22:00:01.000Z,46\n");
		free(out);
	}
	{
		const char *args[] = {"telemetry", "GPU-none", NULL};

		assert_int_equal(tg_run(args, env, &out, &err), 1);
		assert_non_null(strstr(err, "NOT_FOUND"));
		free(out);
		free(err);
	}
	{
		/* export through the gateway, in pages of 2: every record once, oldest first */
		const char *args[] = {"export", DCGM_GPU1, "--since", "2026-01-01T00:00:00Z", "--page",
		                      "2", "-o", "json", NULL};
		char       *line;
		int64_t     prev = 0;
		size_t      n = 0;

		assert_int_equal(tg_run(args, env, &out, NULL), 0);
		for (line = strtok(out, "\n"); line; line = strtok(NULL, "\n"), n++) {
			json_t *o = json_loads(line, 0, NULL);
			int64_t ts;

			assert_non_null(o);
			ts = json_integer_value(json_object_get(o, "timestamp_ns"));
			assert_true(ts > prev);
			prev = ts;
			json_decref(o);
		}
		assert_true(n > 1);
		free(out);
	}
	{
		const char *args[] = {"top", "--once", "-o", "json", "--sort", "temp", NULL};
		double      prev = 1e9;

		assert_int_equal(run_json_env(args, env, &doc), 0);
		assert_int_equal(json_array_size(doc), 3);
		json_array_foreach(doc, i, row)
		{
			double t = json_number_value(json_object_get(row, "temperature"));

			assert_true(t <= prev);
			prev = t;
		}
		json_decref(doc);
	}
	/* the gateway gone as well: nothing answers telemetry any more -> 3 */
	gw_stop(&g);
	{
		const char *args[] = {"gpus", NULL};

		assert_int_equal(tg_run(args, env, &out, &err), 3);
		assert_non_null(strstr(err, "unreachable"));
		free(out);
		free(err);
	}
	tg_stop(&e);
	free(csv);
}

static void
test_gtctl_gateway_wrong_token_exit_1(void **state)
{
	tg_env      e;
	gw_proc     g;
	const char *extra[] = {"--token", "s3cret", NULL};
	const char *good[] = {"GT_TOKEN=s3cret", NULL};
	char       *out, *err;
	json_t     *doc;

	(void)state;
	tg_start(&e, 0);
	gw_start(&g, &e, extra);
	wait_gateway_ok(good);
	{
		const char *args[] = {"health", "gateway", "--token", "wrong", NULL};

		assert_int_equal(tg_run(args, NULL, &out, &err), 1);
		assert_non_null(strstr(err, "UNAUTHENTICATED"));
		assert_non_null(strstr(out, "gateway    error"));
		free(out);
		free(err);
	}
	{
		/* no token at all is refused the same way */
		const char *args[] = {"stats", "gateway", NULL};

		assert_int_equal(tg_run(args, NULL, &out, &err), 1);
		assert_non_null(strstr(err, "UNAUTHENTICATED"));
		free(out);
		free(err);
	}
	{
		const char *args[] = {"gpus", "--token=wrong", NULL};
		const char *env[] = {no_collector_env(), NULL};

		assert_int_equal(tg_run(args, env, &out, &err), 1);
		assert_non_null(strstr(err, "UNAUTHENTICATED"));
		free(out);
		free(err);
	}
	{
		const char *args[] = {"health", "gateway", "-o", "json", NULL};

		assert_int_equal(run_json_env(args, good, &doc), 0);
		assert_string_equal(json_string_value(json_object_get(json_array_get(doc, 0), "status")),
		                    "ok");
		json_decref(doc);
	}
	gw_stop(&g);
	tg_stop(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_gtctl_gateway_health_stats_doctor, tc_cleanup),
	    cmocka_unit_test_teardown(test_gtctl_gateway_telemetry_commands, tc_cleanup),
	    cmocka_unit_test_teardown(test_gtctl_gateway_wrong_token_exit_1, tc_cleanup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

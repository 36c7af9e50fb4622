/* test_gateway_multi.c - gt-gateway over two collectors: answers merged; a stopped collector
 * makes answers partial by the deadline (504 when it alone had the GPU), a killed one too,
 * never a hang; /health degraded then down; the token, CORS and --max-inflight (429). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gt/gt_time.h"
#include "gt/gt_version.h"
#include "gt_test.h"
#include "gtpb/v1/collector.pb-c.h"
#include "gtpb/v1/rpc.pb-c.h"
#include "gt_wsc.h"
#include "test_gateway_util.h"

static tg_env  env;
static int64_t ts0;

static int
setup(void **state)
{
	static const char *const extra[] = {"--rpc-timeout", "1s", "--cache-ttl", "0", NULL};
	(void)state;
	ts0 = gt_now_ns() - 60 * GT_NS_PER_S;
	tg_start(&env, 2, extra);
	tg_wait_component(&env, "collector-0", "ok");
	tg_wait_component(&env, "collector-1", "ok");
	tg_publish(&env, 0, 2000, 20, ts0, 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tg_stop(&env);
	return 0;
}

/* The collector that stored gpu g (its /gpus lists it). */
static int
owner(unsigned g)
{
	char   key[64], *raw = NULL;
	size_t len, i;
	int    who = -1;

	tc_key(key, sizeof(key), g, 0);
	for (i = 0; i < env.ncol; i++) {
		assert_int_equal(tc_get(&env.col[i], "/gpus", NULL, NULL, &raw, &len), 200);
		if (strstr(raw, key) != NULL)
			who = (int)i;
		free(raw);
	}
	return who;
}

/* SIGSTOP takes effect asynchronously: wait until the process is really stopped ('T' in
 * /proc/<pid>/stat), so a request sent next cannot still be answered by it. */
static void
stop_process(pid_t pid)
{
	char    path[64], buf[256], *p;
	int64_t end = gt_mono_ns() + 5 * GT_NS_PER_S;

	assert_int_equal(kill(pid, SIGSTOP), 0);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	while (gt_mono_ns() < end) {
		FILE  *f = fopen(path, "r");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

		if (f)
			fclose(f);
		buf[n] = '\0';
		if ((p = strrchr(buf, ')')) != NULL && p[1] == ' ' && p[2] == 'T')
			return;
		gt_sleep_ns(5 * GT_NS_PER_MS);
	}
	fail_msg("process %d did not stop", (int)pid);
}

static void
test_merged(void **state)
{
	json_t *j = NULL;
	size_t  on0 = 0, i;
	(void)state;

	for (i = 0; i < 20; i++)
		on0 += owner((unsigned)i) == 0;
	print_message("collector-0 has %zu of 20 GPUs\n", on0);
	assert_true(on0 > 0 && on0 < 20); /* both collectors hold some */
	assert_int_equal(tg_get(&env, "/api/v1/gpus", NULL, &j, NULL, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(j, "gpus")), 20);
	assert_true(json_is_false(json_object_get(j, "partial")));
	json_decref(j);
	for (i = 0; i < 20; i++) {
		char path[128];

		snprintf(path, sizeof(path), "/api/v1/gpus/GPU-test-%zu/telemetry?limit=1000", i);
		assert_int_equal(tg_get(&env, path, NULL, &j, NULL, NULL), 200);
		assert_int_equal(json_array_size(json_object_get(j, "records")), 100);
		json_decref(j);
	}
	assert_int_equal(tg_get(&env, "/stats", NULL, &j, NULL, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(j, "collectors")), 2);
	assert_true(json_is_object(
	    json_object_get(json_array_get(json_object_get(j, "collectors"), 1), "stats")));
	json_decref(j);
}

static void
test_stopped_collector_deadline(void **state)
{
	json_t *j = NULL;
	int64_t t0;
	char    path[128];
	unsigned g1 = 0, g0 = 0;
	(void)state;

	while (owner(g1) != 1)
		g1++;
	while (owner(g0) != 0)
		g0++;
	stop_process(gt_proc_pid(env.col[1].proc));
	t0 = gt_mono_ns();
	assert_int_equal(tg_get(&env, "/api/v1/gpus", NULL, &j, NULL, NULL), 200);
	assert_true(gt_mono_ns() - t0 < 3 * GT_NS_PER_S);
	assert_true(json_is_true(json_object_get(j, "partial")));
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "missing"), 0)),
	                    "collector-1");
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/gpus/GPU-test-%u/telemetry", g0);
	assert_int_equal(tg_get(&env, path, NULL, &j, NULL, NULL), 200);
	assert_true(json_is_true(json_object_get(j, "partial")));
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/gpus/GPU-test-%u/telemetry", g1);
	t0 = gt_mono_ns();
	{
		int st = tg_get(&env, path, NULL, &j, NULL, NULL);

		/* 504 by the deadline, or 503 once the health check has marked it down */
		assert_true(st == 504 || st == 503);
	}
	assert_true(gt_mono_ns() - t0 < 3 * GT_NS_PER_S);
	json_decref(j);
	kill(gt_proc_pid(env.col[1].proc), SIGCONT);
	tg_wait_component(&env, "collector-1", "ok");
}

static void
test_killed_collector_partial_then_down(void **state)
{
	json_t *j = NULL;
	int64_t t0;
	(void)state;

	tc_kill(&env.col[1]);
	t0 = gt_mono_ns();
	assert_int_equal(tg_get(&env, "/api/v1/gpus", NULL, &j, NULL, NULL), 200);
	assert_true(gt_mono_ns() - t0 < 3 * GT_NS_PER_S);
	assert_true(json_is_true(json_object_get(j, "partial")));
	json_decref(j);
	tg_wait_component(&env, "collector-1", "down");
	/* known down: answered at once */
	t0 = gt_mono_ns();
	assert_int_equal(tg_get(&env, "/api/v1/hosts", NULL, &j, NULL, NULL), 200);
	assert_true(gt_mono_ns() - t0 < 500 * GT_NS_PER_MS);
	assert_true(json_is_true(json_object_get(j, "partial")));
	json_decref(j);
	assert_int_equal(tg_get(&env, "/health", NULL, &j, NULL, NULL), 200);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "degraded");
	json_decref(j);
	tc_kill(&env.col[0]);
	tg_wait_component(&env, "collector-0", "down");
	assert_int_equal(tg_get(&env, "/health", NULL, &j, NULL, NULL), 503);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "down");
	json_decref(j);
	assert_int_equal(tg_get(&env, "/api/v1/gpus", NULL, &j, NULL, NULL), 503);
	json_decref(j);
}

/* Response headers of a GET (raw socket), malloc'd. */
static char *
get_headers(int port, const char *path, const char *extra)
{
	struct sockaddr_in a;
	int                fd = socket(AF_INET, SOCK_STREAM, 0);
	char               req[512], buf[8192];
	ssize_t            n, got = 0;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n", path,
	         extra ? extra : "");
	assert_true(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
	while ((n = read(fd, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	return strdup(buf);
}

static void *
slow_get(void *arg)
{
	int *st = arg;

	*st = tg_get(&env, "/api/v1/gpus", "Authorization: Bearer s3cret\r\n", NULL, NULL, NULL);
	return NULL;
}

static void
test_token_cors_inflight(void **state)
{
	static const char *const extra[] = {"--rpc-timeout", "5s", "--token", "s3cret",
	                                    "--cors-origin", "https://dash.example", "--max-inflight",
	                                    "1", "--cache-ttl", "0",
	                                    /* no background check may mark the stopped collector
	                                     * down (and answer 503 at once) during the 429 check */
	                                    "--health-interval", "2s", "--max-ws-clients", "2",
	                                    NULL};
	static const char upgrade[] = "Connection: Upgrade\r\nUpgrade: websocket\r\n"
	                              "Sec-WebSocket-Version: 13\r\n"
	                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
	char     *h;
	gt_wsc   *ws[3];
	pthread_t th;
	int       slow = 0;
	(void)state;

	/* fresh collectors for this part */
	gt_rpc_client_close(env.gw.cli);
	assert_int_equal(gt_proc_stop(env.gw.proc, 15, 20 * GT_NS_PER_S), 0);
	gt_proc_free(env.gw.proc);
	free(env.gw.rpc_url);
	memset(&env.gw, 0, sizeof(env.gw));
	tc_col_start(&env.col[0], &env.mq, env.dir[0], "col0", NULL);
	free(env.col_pub[0]);
	env.col_pub[0] = gt_proc_ready_str(env.col[0].proc, "pub_url");
	env.ncol = 1;
	tg_gw_start(&env, extra);
	tg_wait_component(&env, "collector-0", "ok");

	assert_int_equal(tg_get(&env, "/api/v1/gpus", NULL, NULL, NULL, NULL), 401);
	assert_int_equal(tg_get(&env, "/api/v1/gpus", "Authorization: Bearer nope\r\n", NULL, NULL,
	                        NULL),
	                 401);
	assert_int_equal(tg_get(&env, "/api/v1/gpus", "Authorization: Bearer s3cret\r\n", NULL, NULL,
	                        NULL),
	                 200);
	assert_int_equal(tg_get(&env, "/health", NULL, NULL, NULL, NULL), 200);
	assert_int_equal(tg_get(&env, "/metrics", NULL, NULL, NULL, NULL), 200);
	assert_int_equal(tg_get(&env, "/stats", NULL, NULL, NULL, NULL), 401);
	h = get_headers(env.gw.http_port, "/health", NULL);
	assert_non_null(strcasestr(h, "access-control-allow-origin: https://dash.example"));
	free(h);
	/* /ws: the token as a header or (browsers) as ?token=; --max-ws-clients refuses with 503 */
	{
		char  *body = NULL;
		size_t len;

		assert_int_equal(gt_test_http(env.gw.http_port, "GET", "/ws", upgrade, NULL, 0, &body,
		                              &len),
		                 401);
		assert_non_null(strstr(body, "\"UNAUTHENTICATED\""));
		free(body);
	}
	assert_null(gt_wsc_open(env.gw.http_port, "/ws", 0));
	assert_null(gt_wsc_open(env.gw.http_port, "/ws?token=nope", 0));
	assert_non_null(ws[0] = gt_wsc_open(env.gw.http_port, "/ws?token=s3cret", 0));
	assert_non_null(ws[1] = gt_wsc_open(env.gw.http_port, "/ws?token=s3cret", 0));
	{
		char  *body = NULL;
		size_t len;
		char   hdrs[512];

		snprintf(hdrs, sizeof(hdrs), "%sAuthorization: Bearer s3cret\r\n", upgrade);
		assert_int_equal(gt_test_http(env.gw.http_port, "GET", "/ws", hdrs, NULL, 0, &body,
		                              &len),
		                 503);
		assert_non_null(strstr(body, "too many WebSocket clients"));
		free(body);
	}
	gt_wsc_close(ws[1]);
	/* the slot comes back once the server has seen the close */
	{
		int64_t end = gt_mono_ns() + 10 * GT_NS_PER_S;

		ws[2] = NULL;
		while (ws[2] == NULL && gt_mono_ns() < end) {
			ws[2] = gt_wsc_open(env.gw.http_port, "/ws?token=s3cret", 0);
			if (ws[2] == NULL)
				gt_sleep_ns(50 * GT_NS_PER_MS);
		}
		assert_non_null(ws[2]);
	}
	{
		char *m = gt_wsc_recv(ws[2], 5 * GT_NS_PER_S);

		assert_non_null(m);
		assert_non_null(strstr(m, "\"type\":\"hello\""));
		free(m);
	}
	gt_wsc_close(ws[0]);
	gt_wsc_close(ws[2]);
	/* 405 for another method on a known route */
	{
		char  *body = NULL;
		size_t len;

		assert_int_equal(gt_test_http(env.gw.http_port, "POST", "/api/v1/gpus",
		                              "Authorization: Bearer s3cret\r\n", "x", 1, &body, &len),
		                 405);
		free(body);
	}
	/* one request held by a stopped collector; the next one is refused with 429 */
	stop_process(gt_proc_pid(env.col[0].proc));
	pthread_create(&th, NULL, slow_get, &slow);
	gt_sleep_ns(1500 * GT_NS_PER_MS); /* well inside its 5 s deadline, even under sanitizers */
	{
		int st = tg_get(&env, "/api/v1/gpus", "Authorization: Bearer s3cret\r\n", NULL, NULL,
		                NULL);

		pthread_join(th, NULL);
		kill(gt_proc_pid(env.col[0].proc), SIGCONT);
		assert_int_equal(st, 429);
	}
	assert_true(slow == 504 || slow == 503);
}

/* gtpb.v1.TelemetryService on the gateway's --rpc-url: one address for both collectors. */
static void
test_rpc_service_scatter_gather(void **state)
{
	gt_rpc_stub                     stub;
	Gtpb__V1__ListGpusRequest       lin = GTPB__V1__LIST_GPUS_REQUEST__INIT;
	Gtpb__V1__ListGpusResponse     *lout = NULL;
	Gtpb__V1__GetTelemetryRequest   tin = GTPB__V1__GET_TELEMETRY_REQUEST__INIT;
	Gtpb__V1__GetTelemetryResponse *tout = NULL;
	Gtpb__V1__HealthRequest         hin = GTPB__V1__HEALTH_REQUEST__INIT;
	Gtpb__V1__HealthResponse       *hout = NULL;
	Gtpb__V1__StatsRequest          sin = GTPB__V1__STATS_REQUEST__INIT;
	Gtpb__V1__StatsResponse        *sout = NULL;
	json_t                         *j;
	size_t                          g, i, seen = 0;
	(void)state;

	gt_rpc_stub_init(&stub, env.gw.cli, &gtpb__v1__telemetry_service__descriptor,
	                 5 * GT_NS_PER_S);
	assert_int_equal(gt_rpc_call_by_name(&stub, "ListGpus", &lin.base, (ProtobufCMessage **)&lout),
	                 GT_OK);
	assert_int_equal(lout->n_gpus, 20);
	protobuf_c_message_free_unpacked(&lout->base, NULL);
	for (g = 0; g < 20; g += 7) {
		char key[32];

		snprintf(key, sizeof(key), "GPU-test-%zu", g);
		tin.gpu = key;
		tin.limit = 1000;
		assert_int_equal(gt_rpc_call_by_name(&stub, "GetTelemetry", &tin.base,
		                                     (ProtobufCMessage **)&tout),
		                 GT_OK);
		assert_int_equal(tout->n_records, 100);
		assert_string_equal(tout->records[0]->gpu_key, key);
		protobuf_c_message_free_unpacked(&tout->base, NULL);
	}
	tin.gpu = "nope";
	assert_int_equal(gt_rpc_call_by_name(&stub, "GetTelemetry", &tin.base,
	                                     (ProtobufCMessage **)&tout),
	                 GT_ENOENT);
	assert_int_equal(stub.status.code, GT_RPC_NOT_FOUND);
	assert_int_equal(gt_rpc_call_by_name(&stub, "Health", &hin.base, (ProtobufCMessage **)&hout),
	                 GT_OK);
	assert_string_equal(hout->service, "gateway");
	/* the service shell's answer: the common version, the collectors as details */
	assert_string_equal(hout->version, GT_VERSION);
	assert_true(hout->uptime_ns > 0);
	for (i = 0; i < hout->n_details; i++)
		if (strcmp(hout->details[i]->key, "collectors") == 0) {
			assert_string_equal(hout->details[i]->value, "2");
			seen++;
		}
	assert_int_equal(seen, 1);
	protobuf_c_message_free_unpacked(&hout->base, NULL);
	assert_int_equal(gt_rpc_call_by_name(&stub, "Stats", &sin.base, (ProtobufCMessage **)&sout),
	                 GT_OK);
	assert_non_null(j = json_loads(sout->json, 0, NULL));
	assert_string_equal(json_string_value(json_object_get(j, "service")), "gateway");
	assert_string_equal(json_string_value(json_object_get(j, "version")), GT_VERSION);
	assert_true(json_is_object(json_object_get(j, "build")));
	assert_true(json_is_number(json_object_get(j, "uptime_seconds")));
	assert_true(json_is_object(json_object_get(j, "requests")));
	json_decref(j);
	protobuf_c_message_free_unpacked(&sout->base, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_merged),
	    cmocka_unit_test(test_rpc_service_scatter_gather),
	    cmocka_unit_test(test_stopped_collector_deadline),
	    cmocka_unit_test(test_killed_collector_partial_then_down),
	    cmocka_unit_test(test_token_cors_inflight),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/* test_streamer_live.c - gt-streamer's live sources end to end, with a real gt-mq and
 * gt-collector on loopback:
 *  - stdin (--csv -): rows written with pauses, each one stored at the collector before the
 *    next is written (--linger sends the partial batch); a sentinel value is dropped and
 *    counted; EOF ends the run with status 0;
 *  - --follow: a file appended to (a row split across two writes), truncated, rotated (rows
 *    written to the old file after the rename are read too), and a restart with --state-file
 *    while rows were appended: every row stored exactly once;
 *  - --scrape: a test HTTP server serving a dcgm-exporter exposition (several GPUs and hosts,
 *    label escaping), switched off (retried with backoff, /health degraded, never fatal) and
 *    on again (recovers), then serving garbage (counted as bad input, no crash).
 */
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "gt/gt_http.h"
#include "gt/gt_rpc.h"
#include "gt/gt_time.h"
#include "gt_test.h"
#include "gtpb/v1/streamer.pb-c.h"
#include "test_collector_util.h"

#define SEC GT_NS_PER_S

typedef struct stm {
	gt_proc *p;
	int      http_port;
} stm;

static void
stm_started(stm *s)
{
	assert_int_equal(gt_proc_wait_ready(s->p, 20 * SEC), GT_OK);
	s->http_port = (int)gt_proc_ready_int(s->p, "http_port");
	assert_true(s->http_port > 0);
}

/* gt-streamer with flags; stdin_path: its standard input (through sh), or NULL. Not waited
 * for: with a FIFO on stdin it opens only when the test opens the other end. */
static void
stm_spawn(stm *s, const tc_svc *mq, const char *stdin_path, const char *const *flags)
{
	const char *argv[48];
	size_t      n = 0;
	char        mqf[256], env0[1200];
	const char *env[2] = {env0, NULL};

	snprintf(mqf, sizeof(mqf), "--mq-url=%s", mq->rpc_url);
	if (stdin_path != NULL) {
		argv[n++] = "/bin/sh";
		argv[n++] = "-c";
		argv[n++] = "exec \"$GT_BIN_DIR/gt-streamer\" \"$@\" < \"$STM_STDIN\"";
		argv[n++] = "gt-streamer";
		snprintf(env0, sizeof(env0), "STM_STDIN=%s", stdin_path);
	} else {
		argv[n++] = "gt-streamer";
		env[0] = NULL;
	}
	argv[n++] = mqf;
	argv[n++] = "--http-port=0";
	argv[n++] = "--bind=127.0.0.1";
	argv[n++] = "--rpc-url=tcp://127.0.0.1:0";
	for (size_t i = 0; flags[i]; i++)
		argv[n++] = flags[i];
	argv[n] = NULL;
	memset(s, 0, sizeof(*s));
	assert_int_equal(gt_proc_start(&s->p, argv, env), GT_OK);
}

static json_t *
stm_stats(const stm *s)
{
	char   *body = NULL;
	size_t  len = 0;
	json_t *j;

	assert_int_equal(gt_test_http(s->http_port, "GET", "/stats", NULL, NULL, 0, &body, &len), 200);
	j = json_loadb(body, len, 0, NULL);
	free(body);
	assert_non_null(j);
	return j;
}

static int64_t
src_int(json_t *stats, const char *field)
{
	json_t *src = json_array_get(json_object_get(stats, "sources"), 0);
	return json_integer_value(json_object_get(src, field));
}

static const char *
health_status(const stm *s)
{
	static char st[32];
	char       *body = NULL;
	size_t      len = 0;
	json_t     *j;

	assert_int_equal(gt_test_http(s->http_port, "GET", "/health", NULL, NULL, 0, &body, &len), 200);
	j = json_loadb(body, len, 0, NULL);
	assert_non_null(j);
	snprintf(st, sizeof(st), "%s", json_string_value(json_object_get(j, "status")));
	json_decref(j);
	free(body);
	return st;
}

static void
write_all(int fd, const char *s)
{
	size_t n = strlen(s);
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		assert_true(w > 0);
		s += w;
		n -= (size_t)w;
	}
}

static const char header[] = "timestamp,gpu_id,hostname,uuid,temperature,utilization\n";

static void
row(char *buf, size_t len, unsigned i)
{
	/* unix ms timestamps, one per row; utilization 4294967295 (a sentinel) on row 3 */
	snprintf(buf, len, "%llu,0,h1,GPU-live,%u,%s\n", 1764633600000ULL + i, 30 + i % 50,
	    i == 3 ? "4294967295" : "50");
}

/* Wait until the collector stored exactly n, and stays there a moment (nothing twice). */
static void
expect_stored(const tc_svc *col, int64_t n)
{
	assert_int_equal(tc_wait_processed(col, n, 15 * SEC), n);
	gt_sleep_ns(600 * GT_NS_PER_MS);
	assert_int_equal(tc_stat(col, "total_processed"), n);
}

/* ---------------------------------------------------------------- stdin */

static void
test_streamer_stdin_rows_arrive_one_by_one(void **state)
{
	char       *dir = gt_test_tmpdir("stm-stdin");
	char        fifo[600], data[600], buf[160];
	tc_svc      mq, col;
	stm         s;
	const char *flags[] = {"--csv=-", "--linger=20ms", NULL};
	int         fd;
	json_t     *j;
	(void)state;

	snprintf(fifo, sizeof(fifo), "%s/stdin.fifo", dir);
	snprintf(data, sizeof(data), "%s/col", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	tc_mq_start(&mq, NULL);
	tc_col_start(&col, &mq, data, "c-stdin", NULL);
	stm_spawn(&s, &mq, fifo, flags);
	assert_true((fd = open(fifo, O_WRONLY)) >= 0); /* blocks until the streamer's shell opens it */
	stm_started(&s);
	write_all(fd, header);
	for (unsigned i = 0; i < 12; i++) {
		row(buf, sizeof(buf), i);
		write_all(fd, buf);
		/* stored before the next row is written: no batch ever fills (batch 1000) */
		assert_int_equal(tc_wait_processed(&col, i + 1, 10 * SEC), i + 1);
	}
	j = stm_stats(&s);
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(j, "sources"), 0), "kind")),
	    "stdin");
	assert_int_equal(src_int(j, "rows"), 12);
	assert_int_equal(src_int(j, "records"), 12);
	assert_int_equal(src_int(j, "dropped_values"), 1);
	assert_int_equal(json_integer_value(json_object_get(
	                     json_object_get(j, "dropped_values_by_metric"), "utilization")),
	    1);
	assert_true(src_int(j, "last_success_unix_ms") > 0);
	json_decref(j);
	close(fd); /* EOF ends the run like a file's end */
	assert_int_equal(gt_proc_wait_exit(s.p, 20 * SEC), 0);
	gt_proc_free(s.p);
	expect_stored(&col, 12);
	tc_stop(&col);
	tc_stop(&mq);
	gt_test_rmrf(dir);
	free(dir);
}

/* ---------------------------------------------------------------- --follow */

static void
append_rows(const char *path, unsigned from, unsigned n)
{
	char buf[160];
	int  fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);

	assert_true(fd >= 0);
	for (unsigned i = from; i < from + n; i++) {
		row(buf, sizeof(buf), i);
		write_all(fd, buf);
	}
	close(fd);
}

static void
test_streamer_follow_append_truncate_rotate_restart(void **state)
{
	char       *dir = gt_test_tmpdir("stm-follow");
	char        file[600], old[600], st[600], data[600], csvf[700], stf[700], buf[160];
	tc_svc      mq, col;
	stm         s;
	const char *flags[] = {csvf, "--follow", stf, NULL};
	int         fd;
	json_t     *j;
	(void)state;

	snprintf(file, sizeof(file), "%s/gpu.csv", dir);
	snprintf(old, sizeof(old), "%s/gpu.csv.1", dir);
	snprintf(st, sizeof(st), "%s/follow.state", dir);
	snprintf(data, sizeof(data), "%s/col", dir);
	snprintf(csvf, sizeof(csvf), "--csv=%s", file);
	snprintf(stf, sizeof(stf), "--state-file=%s", st);
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	write_all(fd, header);
	close(fd);
	append_rows(file, 0, 3);
	tc_mq_start(&mq, NULL);
	tc_col_start(&col, &mq, data, "c-follow", NULL);
	stm_spawn(&s, &mq, NULL, flags);
	stm_started(&s);
	assert_int_equal(tc_wait_processed(&col, 3, 15 * SEC), 3);

	/* appended, one row in two writes */
	fd = open(file, O_WRONLY | O_APPEND);
	row(buf, sizeof(buf), 3);
	write_all(fd, "1764633600003,0,h1,GP");
	gt_sleep_ns(200 * GT_NS_PER_MS);
	write_all(fd, buf + strlen("1764633600003,0,h1,GP"));
	close(fd);
	append_rows(file, 4, 1);
	expect_stored(&col, 5);

	/* truncated and written again, header first */
	fd = open(file, O_WRONLY | O_TRUNC);
	write_all(fd, header);
	close(fd);
	gt_sleep_ns(300 * GT_NS_PER_MS);
	append_rows(file, 5, 2);
	expect_stored(&col, 7);

	/* rotated: a row after the rename still goes to the old file, then a new file */
	append_rows(file, 7, 1);
	fd = open(file, O_WRONLY | O_APPEND);
	assert_int_equal(rename(file, old), 0);
	row(buf, sizeof(buf), 8);
	write_all(fd, buf);
	close(fd);
	gt_sleep_ns(200 * GT_NS_PER_MS);
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0644);
	write_all(fd, header);
	close(fd);
	append_rows(file, 9, 2);
	expect_stored(&col, 11);
	j = stm_stats(&s);
	assert_int_equal(src_int(j, "rotations"), 1);
	assert_int_equal(src_int(j, "truncations"), 1);
	assert_int_equal(src_int(j, "dropped_values"), 1);
	assert_int_equal(src_int(j, "lag_bytes"), 0);
	json_decref(j);

	/* restart: rows appended while it was down are read, nothing is sent twice */
	assert_int_equal(gt_proc_stop(s.p, SIGTERM, 20 * SEC), 0);
	gt_proc_free(s.p);
	append_rows(file, 11, 2);
	stm_spawn(&s, &mq, NULL, flags);
	stm_started(&s);
	expect_stored(&col, 13);
	assert_int_equal(gt_proc_count_log(s.p, "follow.resumed"), 1);
	assert_int_equal(gt_proc_stop(s.p, SIGTERM, 20 * SEC), 0);
	gt_proc_free(s.p);
	tc_stop(&col);
	tc_stop(&mq);
	gt_test_rmrf(dir);
	free(dir);
}

/* ---------------------------------------------------------------- --scrape */

typedef struct exporter {
	gt_http        *h;
	int             port;
	pthread_mutex_t mtx;
	char           *body;
	size_t          len;
} exporter;

static void
serve_metrics(gt_http_req *req, void *arg)
{
	exporter *e = arg;

	pthread_mutex_lock(&e->mtx);
	gt_http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", e->body, e->len);
	pthread_mutex_unlock(&e->mtx);
}

static void
exporter_on(exporter *e)
{
	gt_http_cfg hc = {0};
	gt_err      rv = GT_EIO;

	hc.service = "test-exporter";
	hc.bind = "127.0.0.1";
	hc.port = e->port;
	for (int tries = 0; tries < 50 && rv != GT_OK; tries++) {
		if ((rv = gt_http_new(&e->h, &hc)) == GT_OK &&
		    (rv = gt_http_route(e->h, "GET", "/metrics", serve_metrics, e, 0)) == GT_OK &&
		    (rv = gt_http_start(e->h)) == GT_OK)
			break;
		gt_http_free(e->h);
		e->h = NULL;
		gt_sleep_ns(100 * GT_NS_PER_MS); /* the port of the previous server */
	}
	assert_int_equal(rv, GT_OK);
	e->port = gt_http_port(e->h);
}

static void
exporter_off(exporter *e)
{
	gt_http_free(e->h);
	e->h = NULL;
}

static void
exporter_body(exporter *e, char *body, size_t len)
{
	pthread_mutex_lock(&e->mtx);
	free(e->body);
	e->body = body;
	e->len = len;
	pthread_mutex_unlock(&e->mtx);
}

static int
wait_health(const stm *s, const char *want, int64_t timeout)
{
	int64_t end = gt_mono_ns() + timeout;

	while (gt_mono_ns() < end) {
		if (strcmp(health_status(s), want) == 0)
			return 1;
		gt_sleep_ns(50 * GT_NS_PER_MS);
	}
	return 0;
}

static void
test_streamer_scrape_exporter_off_on_garbage(void **state)
{
	char       *dir = gt_test_tmpdir("stm-scrape");
	char       *fix = gt_test_fixture("prom/dcgm_exporter.prom");
	char        data[600], url[200];
	size_t      flen;
	char       *body = gt_test_read_file(fix, &flen);
	exporter    e = {0};
	tc_svc      mq, col;
	stm         s;
	const char *flags[] = {url, "--scrape-interval=200ms", "--scrape-timeout=1s", NULL};
	json_t     *j, *src;
	int64_t     n, scrapes;
	(void)state;

	assert_non_null(body);
	pthread_mutex_init(&e.mtx, NULL);
	exporter_body(&e, body, flen);
	exporter_on(&e);
	snprintf(url, sizeof(url), "--scrape=http://127.0.0.1:%d/metrics", e.port);
	snprintf(data, sizeof(data), "%s/col", dir);
	tc_mq_start(&mq, NULL);
	tc_col_start(&col, &mq, data, "c-scrape", NULL);
	stm_spawn(&s, &mq, NULL, flags);
	stm_started(&s);
	/* 4 GPUs on 2 hosts: 4 records per scrape */
	assert_true(tc_wait_processed(&col, 8, 15 * SEC) >= 8);
	assert_string_equal(health_status(&s), "ok");
	j = stm_stats(&s);
	src = json_array_get(json_object_get(j, "sources"), 0);
	assert_string_equal(json_string_value(json_object_get(src, "kind")), "scrape");
	assert_string_equal(json_string_value(json_object_get(src, "status")), "ok");
	assert_true(json_integer_value(json_object_get(src, "records")) >= 8);
	assert_int_equal(json_integer_value(json_object_get(src, "records")) % 4, 0);
	assert_int_equal(json_integer_value(json_object_get(src, "bad_input")), 0);
	/* per scrape: one utilization sentinel, three blank profiling values */
	assert_int_equal(json_integer_value(json_object_get(src, "dropped_values")),
	    json_integer_value(json_object_get(src, "records")));
	json_decref(j);

	/* switched off: degraded, retried, never fatal */
	exporter_off(&e);
	assert_true(wait_health(&s, "degraded", 10 * SEC));
	gt_sleep_ns(800 * GT_NS_PER_MS);
	j = stm_stats(&s);
	src = json_array_get(json_object_get(j, "sources"), 0);
	assert_string_equal(json_string_value(json_object_get(src, "status")), "failing");
	assert_true(json_integer_value(json_object_get(src, "consecutive_failures")) >= 2);
	assert_true(strlen(json_string_value(json_object_get(src, "last_error"))) > 0);
	scrapes = json_integer_value(json_object_get(src, "scrapes"));
	json_decref(j);
	assert_int_equal(gt_proc_count_log(s.p, "scrape.failed"), 1); /* logged once per outage */
	/* the Streamer RPC says the same: Health degraded, Stats with the failing source */
	{
		char                     *rurl = gt_proc_ready_str(s.p, "rpc_url");
		gt_rpc_client            *cli = NULL;
		gt_rpc_stub               stub;
		Gtpb__V1__StatsRequest    sreq = GTPB__V1__STATS_REQUEST__INIT;
		Gtpb__V1__HealthRequest   hreq = GTPB__V1__HEALTH_REQUEST__INIT;
		Gtpb__V1__StatsResponse  *sr = NULL;
		Gtpb__V1__HealthResponse *hr = NULL;

		assert_non_null(rurl);
		assert_int_equal(gt_rpc_client_open(&cli, rurl, NULL), GT_OK);
		gt_rpc_stub_init(&stub, cli, &gtpb__v1__streamer__descriptor, 5 * SEC);
		assert_int_equal(
		    gt_rpc_call_by_name(&stub, "Health", &hreq.base, (ProtobufCMessage **)&hr), GT_OK);
		assert_string_equal(hr->status, "degraded");
		assert_int_equal(
		    gt_rpc_call_by_name(&stub, "Stats", &sreq.base, (ProtobufCMessage **)&sr), GT_OK);
		assert_non_null(j = json_loads(sr->json, 0, NULL));
		src = json_array_get(json_object_get(j, "sources"), 0);
		assert_string_equal(json_string_value(json_object_get(src, "status")), "failing");
		json_decref(j);
		protobuf_c_message_free_unpacked(&sr->base, NULL);
		protobuf_c_message_free_unpacked(&hr->base, NULL);
		gt_rpc_client_close(cli);
		free(rurl);
	}

	/* on again: recovers */
	n = tc_stat(&col, "total_processed");
	exporter_on(&e);
	assert_true(wait_health(&s, "ok", 15 * SEC));
	assert_true(tc_wait_processed(&col, n + 8, 15 * SEC) >= n + 8);
	assert_true(gt_proc_count_log(s.p, "scrape.recovered") >= 1);

	/* garbage: counted as bad input, no records, never a crash */
	{
		const char *g = "<html><body>oops</body></html>\nDCGM_FI_DEV_GPU_TEMP{gpu=\"0\" 45\n"
		                "DCGM_FI_DEV_GPU_TEMP{gpu=\"0\",UUID=\"GPU-x\"} \xff\xfe\n";
		exporter_body(&e, strdup(g), strlen(g));
	}
	assert_true(wait_health(&s, "degraded", 10 * SEC));
	j = stm_stats(&s);
	src = json_array_get(json_object_get(j, "sources"), 0);
	assert_true(json_integer_value(json_object_get(src, "bad_lines")) >= 3);
	assert_true(json_integer_value(json_object_get(src, "scrapes")) > scrapes);
	json_decref(j);
	assert_int_equal(gt_proc_stop(s.p, SIGTERM, 20 * SEC), 0);
	gt_proc_free(s.p);
	exporter_off(&e);
	free(e.body);
	pthread_mutex_destroy(&e.mtx);
	tc_stop(&col);
	tc_stop(&mq);
	gt_test_rmrf(dir);
	free(dir);
	free(fix);
}

/* Targets are fetched concurrently: one that accepts the connection and never answers holds
 * only itself (until --scrape-timeout), the other keeps its 200 ms schedule. */
static void
test_streamer_scrape_silent_target_holds_only_itself(void **state)
{
	char               *dir = gt_test_tmpdir("stm-scrape2");
	char               *fix = gt_test_fixture("prom/dcgm_exporter.prom");
	char                data[600], urls[300];
	size_t              flen;
	exporter            e = {0};
	tc_svc              mq, col;
	stm                 s;
	const char         *flags[] = {urls, "--scrape-interval=200ms", "--scrape-timeout=10s", NULL};
	struct sockaddr_in  a = {0};
	socklen_t           al = sizeof(a);
	int                 silent = socket(AF_INET, SOCK_STREAM, 0);
	json_t             *j;
	int64_t             t0;
	(void)state;

	/* listens, never accepts: connect succeeds (backlog), no answer ever comes */
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(silent >= 0);
	assert_int_equal(bind(silent, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(silent, 16), 0);
	assert_int_equal(getsockname(silent, (struct sockaddr *)&a, &al), 0);
	e.body = gt_test_read_file(fix, &flen);
	e.len = flen;
	assert_non_null(e.body);
	pthread_mutex_init(&e.mtx, NULL);
	exporter_on(&e);
	snprintf(urls, sizeof(urls), "--scrape=http://127.0.0.1:%d/metrics,http://127.0.0.1:%d/metrics",
	         ntohs(a.sin_port), e.port);
	snprintf(data, sizeof(data), "%s/col", dir);
	tc_mq_start(&mq, NULL);
	tc_col_start(&col, &mq, data, "c-scrape2", NULL);
	stm_spawn(&s, &mq, NULL, flags);
	stm_started(&s);
	t0 = gt_mono_ns();
	/* 4 records per scrape of the live target; 10 scrapes need 2 s on schedule, 100 s if the
	 * silent target's 10 s timeout came first each round */
	assert_true(tc_wait_processed(&col, 40, 30 * SEC) >= 40);
	j = stm_stats(&s);
	{
		json_t *src0 = json_array_get(json_object_get(j, "sources"), 0);
		json_t *src1 = json_array_get(json_object_get(j, "sources"), 1);

		assert_int_equal(json_integer_value(json_object_get(src0, "records")), 0);
		assert_true(json_integer_value(json_object_get(src1, "scrapes")) >= 10);
	}
	json_decref(j);
	/* the first silent scrape has not even timed out yet when the other did ten */
	assert_true(gt_mono_ns() - t0 < 9 * SEC);
	assert_int_equal(gt_proc_stop(s.p, SIGTERM, 20 * SEC), 0);
	gt_proc_free(s.p);
	exporter_off(&e);
	free(e.body);
	pthread_mutex_destroy(&e.mtx);
	close(silent);
	tc_stop(&col);
	tc_stop(&mq);
	gt_test_rmrf(dir);
	free(dir);
	free(fix);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_streamer_stdin_rows_arrive_one_by_one, tc_cleanup),
		cmocka_unit_test_teardown(test_streamer_follow_append_truncate_rotate_restart, tc_cleanup),
		cmocka_unit_test_teardown(test_streamer_scrape_exporter_off_on_garbage, tc_cleanup),
		cmocka_unit_test_teardown(test_streamer_scrape_silent_target_holds_only_itself,
		                          tc_cleanup),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

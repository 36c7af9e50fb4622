/* test_streamer_limits.c - the real gt-streamer against a real gt-mq on hostile input: a 10 MB
 * line, an overflowing timestamp, the epoch, a row over the column limit (bad rows, counted
 * per reason in /stats and /metrics, logged with file:line; the good rows around them are
 * published unchanged), and a SIGTERM while the reader is inside an endless line of a FIFO or
 * waits on an idle FIFO (exit 0 promptly, what was parsed before is published). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "gt/gt_buf.h"
#include "gt/gt_time.h"
#include "gt_test.h"
#include "gtpb/v1/telemetry.pb-c.h"
#include "test_mq_util.h"

static char *tmpdir;

static gt_proc *
streamer_start(tmq *m, const char *csv, const char *topic, const char *const *extra)
{
	const char *argv[32];
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
	argv[n++] = "--http-port=0";
	argv[n++] = "--bind=127.0.0.1";
	argv[n++] = "--rpc-url=";
	argv[n++] = "--workers=1";
	for (size_t i = 0; extra && extra[i]; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	assert_int_equal(gt_proc_start(&p, argv, NULL), GT_OK);
	assert_int_equal(gt_proc_wait_ready(p, 10 * GT_NS_PER_S), GT_OK);
	return p;
}

/* Fetch (and ack) every record of topic until nothing came for idle_ms; *n records. */
static Gtpb__V1__TelemetryRecord **
fetch_all(tmq *m, const char *topic, int idle_ms, size_t *n)
{
	Gtpb__V1__TelemetryRecord **recs = NULL;
	int64_t                     idle_until = gt_mono_ns() + (int64_t)idle_ms * GT_NS_PER_MS;

	*n = 0;
	while (gt_mono_ns() < idle_until) {
		Gtpb__V1__FetchResponse *r = NULL;
		uint32_t                 acked;
		gt_rpc_code              code = tmq_fetch(m, topic, "verify", "c1", 1000, 100, &r);

		if (code == GT_RPC_NOT_FOUND) {
			gt_sleep_ns(50 * GT_NS_PER_MS);
			continue;
		}
		assert_int_equal(code, GT_RPC_OK);
		for (size_t i = 0; i < r->n_deliveries; i++) {
			Gtpb__V1__Message *msg = r->deliveries[i]->message;
			recs = realloc(recs, (*n + 1) * sizeof(*recs));
			assert_non_null(recs);
			recs[*n] = gtpb__v1__telemetry_record__unpack(NULL, msg->payload.len,
			    msg->payload.data);
			assert_non_null(recs[*n]);
			(*n)++;
		}
		if (r->n_deliveries > 0) {
			assert_int_equal(tmq_ack(m, topic, "verify", "c1", r, &acked), GT_RPC_OK);
			idle_until = gt_mono_ns() + (int64_t)idle_ms * GT_NS_PER_MS;
		}
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	return recs;
}

static void
recs_free(Gtpb__V1__TelemetryRecord **recs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		gtpb__v1__telemetry_record__free_unpacked(recs[i], NULL);
	free(recs);
}

static Gtpb__V1__TelemetryRecord *
rec_by_key(Gtpb__V1__TelemetryRecord **recs, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(recs[i]->gpu_key, key) == 0)
			return recs[i];
	return NULL;
}

/* The hostile file: lines 3 (10 MB), 4 (timestamp overflow), 5 (the epoch) and 8 (5,000
 * fields) are bad; lines 2, 6, 7 (empty timestamp) and 9 are good. */
static char *
hostile_file(void)
{
	char  *path = malloc(strlen(tmpdir) + 32);
	FILE  *f;
	char  *x = malloc(10u << 20);

	assert_non_null(path);
	assert_non_null(x);
	sprintf(path, "%s/hostile.csv", tmpdir);
	assert_non_null(f = fopen(path, "w"));
	memset(x, 'x', 10u << 20);
	fputs("timestamp,gpu_id,temperature\n", f);
	fputs("2026-11-26T22:00:00Z,0,40\n", f);
	fwrite(x, 1, 10u << 20, f);
	fputs("\n99999999999999999999,1,41\n", f);
	fputs("1970-01-01T00:00:00Z,2,42\n", f);
	fputs("2026-11-26T22:00:01Z,3,43\n", f);
	fputs(",4,44\n", f);
	fputs("2026-11-26T22:00:02Z,5", f);
	for (int i = 0; i < 4998; i++)
		fputs(",1", f);
	fputs("\n2026-11-26T22:00:03Z,6,46\n", f);
	assert_int_equal(fclose(f), 0);
	free(x);
	return path;
}

static int
setup(void **state)
{
	(void)state;
	tmpdir = gt_test_tmpdir("streamer-limits");
	signal(SIGPIPE, SIG_IGN);
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

static void
test_streamer_hostile_rows_are_counted_bad_and_the_rest_published(void **state)
{
	static const struct {
		int         line;
		const char *id, *detail;
	} bad[] = {
		{3, "line_too_long", "longer than 1048576 bytes"},
		{4, "timestamp_out_of_range", "99999999999999999999"},
		{5, "timestamp_out_of_range", "1970-01-01T00:00:00Z"},
		{8, "wrong_field_count", "more than 4096"},
	};
	tmq                         m;
	char                       *csv = hostile_file();
	gt_proc                    *p;
	Gtpb__V1__TelemetryRecord **recs, *r;
	size_t                      n, cursor = 0;
	int64_t                     t0 = gt_now_ns();
	(void)state;

	tmq_start(&m, NULL);
	p = streamer_start(&m, csv, "hostile", NULL);
	assert_int_equal(gt_proc_wait_exit(p, 60 * GT_NS_PER_S), 0);
	assert_int_equal(gt_proc_count_log(p, "csv.bad_row"), 4);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char   *line = NULL, at[600];
		json_t *j;
		assert_int_equal(gt_proc_wait_log(p, "csv.bad_row", 0, &cursor, &line), GT_OK);
		assert_non_null(j = json_loads(line, 0, NULL));
		snprintf(at, sizeof(at), "%s:%d", csv, bad[i].line);
		assert_string_equal(json_string_value(json_object_get(j, "at")), at);
		assert_string_equal(json_string_value(json_object_get(j, "id")), bad[i].id);
		assert_non_null(strstr(json_string_value(json_object_get(j, "detail")), bad[i].detail));
		json_decref(j);
		free(line);
	}
	gt_proc_free(p);

	recs = fetch_all(&m, "hostile", 1000, &n);
	assert_int_equal(n, 4); /* lines 2, 6, 7, 9 */
	for (size_t i = 0; i < n; i++)
		assert_true(recs[i]->timestamp_ns > 0); /* nothing wrapped to INT64_MIN */
	assert_non_null(r = rec_by_key(recs, n, "0"));
	assert_true(r->timestamp_ns == INT64_C(1795730400000000000));
	assert_non_null(r = rec_by_key(recs, n, "3"));
	assert_true(r->timestamp_ns == INT64_C(1795730401000000000));
	assert_non_null(r = rec_by_key(recs, n, "6"));
	assert_true(r->timestamp_ns == INT64_C(1795730403000000000));
	/* the empty cell, and only it, is stamped at publish time */
	assert_non_null(r = rec_by_key(recs, n, "4"));
	assert_true(r->timestamp_ns >= t0 && r->timestamp_ns <= gt_now_ns());
	assert_null(rec_by_key(recs, n, "1"));
	assert_null(rec_by_key(recs, n, "2"));
	recs_free(recs, n);
	tmq_stop(&m);
	free(csv);
}

/* Every reason is in /stats (bad_rows_by_reason) and /metrics (by reason label). */
static void
test_streamer_stats_count_bad_rows_per_reason(void **state)
{
	tmq         m;
	char       *csv = hostile_file();
	const char *extra[] = {"--loop", "--timestamps=source", NULL};
	gt_proc    *p;
	char       *body = NULL;
	int         port;
	json_t     *j, *by;
	uint64_t    passes, sum = 0;
	size_t      cursor = 0;
	const char *k;
	json_t     *v;
	(void)state;

	tmq_start(&m, NULL);
	p = streamer_start(&m, csv, "reasons", extra);
	port = (int)gt_proc_ready_int(p, "http_port");
	assert_true(port > 0);
	assert_int_equal(gt_proc_wait_log(p, "csv.pass_done", 30 * GT_NS_PER_S, &cursor, NULL), GT_OK);
	assert_int_equal(gt_test_http(port, "GET", "/stats", NULL, NULL, 0, &body, NULL), 200);
	assert_non_null(j = json_loads(body, 0, NULL));
	free(body);
	passes = (uint64_t)json_integer_value(json_object_get(j, "passes"));
	assert_true(passes >= 1);
	assert_non_null(by = json_object_get(j, "bad_rows_by_reason"));
	assert_int_equal(json_object_size(by), 12); /* every reason, zeros too */
	/* counters sync at the end of a pass; one more pass may have ended meanwhile */
	json_object_foreach(by, k, v) {
		uint64_t c = (uint64_t)json_integer_value(v);
		uint64_t per = strcmp(k, "timestamp_out_of_range") == 0 ? 2
		             : strcmp(k, "line_too_long") == 0 || strcmp(k, "wrong_field_count") == 0
		                 ? 1
		                 : 0;
		if (c < per * passes || c > per * (passes + 1))
			fail_msg("%s: %llu after %llu passes", k, (unsigned long long)c,
			    (unsigned long long)passes);
		sum += c;
	}
	assert_true(sum >= 4 * passes);
	json_decref(j);
	assert_int_equal(gt_test_http(port, "GET", "/metrics", NULL, NULL, 0, &body, NULL), 200);
	assert_non_null(strstr(body, "gt_streamer_csv_bad_rows_by_reason_total{reason=\"line_too_long\"}"));
	assert_non_null(
	    strstr(body, "gt_streamer_csv_bad_rows_by_reason_total{reason=\"timestamp_out_of_range\"}"));
	free(body);
	assert_int_equal(gt_proc_count_log(p, "csv.bad_row"), 4); /* logged on the first pass only */
	assert_int_equal(gt_proc_stop(p, SIGTERM, 30 * GT_NS_PER_S), 0);
	gt_proc_free(p);
	tmq_stop(&m);
	free(csv);
}

/* ---- SIGTERM inside an endless line ---- */

typedef struct writer {
	int              fd;
	atomic_int       stop;
	atomic_ulong     written;
	pthread_t        thr;
} writer;

static void *
writer_main(void *arg)
{
	writer *w = arg;
	char    buf[64 * 1024];

	memset(buf, 'x', sizeof(buf));
	while (!atomic_load(&w->stop)) {
		ssize_t n = write(w->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* EPIPE: the streamer closed its end */
		atomic_fetch_add(&w->written, (unsigned long)n);
	}
	return NULL;
}

static void
test_streamer_sigterm_inside_an_endless_line_exits_0(void **state)
{
	tmq                         m;
	char                       *fifo = malloc(strlen(tmpdir) + 16);
	gt_proc                    *p;
	writer                      w = {0};
	const char                 *head = "gpu_id,temperature\n0,40\n";
	Gtpb__V1__TelemetryRecord **recs;
	size_t                      n;
	int64_t                     t0;
	(void)state;

	sprintf(fifo, "%s/endless", tmpdir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	tmq_start(&m, NULL);
	p = streamer_start(&m, fifo, "endless", NULL);
	assert_true((w.fd = open(fifo, O_WRONLY)) >= 0); /* until the streamer opens it */
	assert_int_equal(write(w.fd, head, strlen(head)), (ssize_t)strlen(head));
	assert_int_equal(pthread_create(&w.thr, NULL, writer_main, &w), 0);
	/* well past the line limit: the reader is skipping the endless line (no record comes) */
	t0 = gt_mono_ns();
	while (atomic_load(&w.written) < (8ul << 20) && gt_mono_ns() - t0 < 30 * GT_NS_PER_S)
		gt_sleep_ns(10 * GT_NS_PER_MS);
	assert_true(atomic_load(&w.written) >= (8ul << 20));

	t0 = gt_mono_ns();
	assert_int_equal(gt_proc_stop(p, SIGTERM, 15 * GT_NS_PER_S), 0);
	print_message("SIGTERM inside the line: exit 0 after %.3f s\n",
	    (double)(gt_mono_ns() - t0) / GT_NS_PER_S);
	atomic_store(&w.stop, 1);
	pthread_join(w.thr, NULL);
	close(w.fd);
	assert_int_equal(gt_proc_count_log(p, "csv.bad_row"), 1); /* line_too_long, once */
	gt_proc_free(p);

	recs = fetch_all(&m, "endless", 1000, &n); /* what was parsed was flushed */
	assert_int_equal(n, 1);
	assert_string_equal(recs[0]->gpu_key, "0");
	recs_free(recs, n);
	tmq_stop(&m);
	free(fifo);
}

/* nvidia-smi -l 1 | gt-streamer: between two samples the FIFO has nothing to read; SIGTERM
 * still ends the run at once (the reader was blocked in read() and never looked). */
static void
test_streamer_sigterm_while_a_fifo_is_idle_exits_0(void **state)
{
	tmq                         m;
	char                       *fifo = malloc(strlen(tmpdir) + 16);
	gt_proc                    *p;
	int                         fd;
	const char                 *head = "gpu_id,temperature\n0,40\n1,41\n";
	Gtpb__V1__TelemetryRecord **recs;
	size_t                      n;
	(void)state;

	sprintf(fifo, "%s/idle", tmpdir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	tmq_start(&m, NULL);
	p = streamer_start(&m, fifo, "idle", NULL);
	assert_true((fd = open(fifo, O_WRONLY)) >= 0);
	assert_int_equal(write(fd, head, strlen(head)), (ssize_t)strlen(head));
	gt_sleep_ns(300 * GT_NS_PER_MS); /* read and parsed; the FIFO stays open and empty */
	assert_int_equal(gt_proc_stop(p, SIGTERM, 15 * GT_NS_PER_S), 0);
	close(fd);
	gt_proc_free(p);
	recs = fetch_all(&m, "idle", 1000, &n);
	assert_int_equal(n, 2);
	recs_free(recs, n);
	tmq_stop(&m);
	free(fifo);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_streamer_hostile_rows_are_counted_bad_and_the_rest_published, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_streamer_stats_count_bad_rows_per_reason, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_streamer_sigterm_inside_an_endless_line_exits_0, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_streamer_sigterm_while_a_fifo_is_idle_exits_0, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

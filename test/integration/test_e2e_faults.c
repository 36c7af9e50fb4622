/* Integration, faults injected into the whole pipeline (gt-streamer -> gt-mq -> gt-collector
 * -> gt-gateway on loopback) while a gt-gen file streams through it at a bounded rate; each
 * scenario is its own ctest (the scenario's name is argv[1]):
 *
 *   mq         the streamer starts before the broker (it waits, then delivers); then gt-mq with
 *              its WAL is kill -9ed at random moments mid-stream and restarted on its address
 *   collector  the collector is kill -9ed at random moments mid-stream and restarted
 *   stall      the collector is SIGSTOPped for 15 s mid-stream, then continued
 *   gateway    the gateway is kill -9ed at random moments mid-stream and restarted on its port;
 *              WebSocket clients reconnect
 *   group      two collectors in one consumer group, one kill -9ed mid-stream for good: the
 *              survivor takes its partitions
 *
 * Checked every time against the input file (each record is its GPU's uuid + timestamp): the
 * collectors' JSONL files hold every record, none twice; the gateway answers every record of
 * every GPU once; WebSocket clients subscribed before streaming get no record twice, and every
 * record when neither the collector nor the gateway restarted; nothing is dead-lettered. The
 * random moments come from a seed printed as GT_E2E_SEED=...; set it to replay a run. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_time.h"
#include "gt_test.h"
#include "test_e2e_util.h"

#define NHOST 2
#define NGPU_PER 4
#define NGPU (NHOST * NGPU_PER)
#define SEC GT_NS_PER_S
#define MS GT_NS_PER_MS

typedef struct input {
	char  *dir, *csv;
	char **want; /* sorted "key@timestamp_ns", one per record */
	size_t n, per_gpu;
	char   keys[NGPU][64];
	size_t nkeys;
} input;

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *
rec_id(const char *key, int64_t ns)
{
	char *s = malloc(strlen(key) + 24);

	assert_non_null(s);
	sprintf(s, "%s@%lld", key, (long long)ns);
	return s;
}

/* gt-gen wide: NHOST x NGPU_PER GPUs x samples; the expected records from the file itself. */
static void
input_make(input *in, unsigned samples)
{
	char        out[600], smp[16], *text, *line, *save = NULL;
	const char *argv[] = {"gt-gen", "--format", "wide",      "--hosts", "2",
	                      "--gpus", "4",        "--samples", smp,       "--seed",
	                      "16",     "--out",    out,         NULL};
	gt_proc    *p;
	size_t      len, k;

	memset(in, 0, sizeof(*in));
	in->dir = gt_test_tmpdir("e2ein");
	snprintf(out, sizeof(out), "%s/in.csv", in->dir);
	snprintf(smp, sizeof(smp), "%u", samples);
	assert_int_equal(gt_proc_start(&p, argv, NULL), GT_OK);
	assert_int_equal(gt_proc_wait_exit(p, 30 * SEC), 0);
	gt_proc_free(p);
	in->csv = strdup(out);
	assert_non_null(text = gt_test_read_file(out, &len));
	in->want = calloc((size_t)NGPU * samples, sizeof(char *));
	strtok_r(text, "\n", &save); /* header: timestamp,gpu_id,hostname,uuid,... */
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		char *f[4], *fs = NULL, *t = line;
		int   i;

		for (i = 0; i < 4; i++, t = NULL)
			assert_non_null(f[i] = strtok_r(t, ",", &fs));
		assert_true(in->n < (size_t)NGPU * samples);
		in->want[in->n++] = rec_id(f[3], te_rfc3339_ns(f[0]));
		for (k = 0; k < in->nkeys && strcmp(in->keys[k], f[3]) != 0; k++)
			;
		if (k == in->nkeys) {
			assert_true(in->nkeys < NGPU);
			snprintf(in->keys[in->nkeys++], sizeof(in->keys[0]), "%s", f[3]);
		}
	}
	free(text);
	assert_int_equal(in->n, (size_t)NGPU * samples);
	assert_int_equal(in->nkeys, NGPU);
	in->per_gpu = samples;
	qsort(in->want, in->n, sizeof(char *), cmp_str);
	for (k = 1; k < in->n; k++)
		assert_true(strcmp(in->want[k - 1], in->want[k]) < 0); /* distinct records */
}

static void
input_free(input *in)
{
	size_t i;

	for (i = 0; i < in->n; i++)
		free(in->want[i]);
	free(in->want);
	gt_test_rmrf(in->dir);
	free(in->dir);
	free(in->csv);
}

/* Which want[] entry a record (key + ns) is, or -1. */
static ssize_t
find(const input *in, const char *key, int64_t ns)
{
	char  *id = rec_id(key, ns);
	char **hit = bsearch(&id, in->want, in->n, sizeof(char *), cmp_str);

	free(id);
	return hit ? hit - in->want : -1;
}

/* Reads dir's JSONL: adds one to cnt[i] per line of record i. Returns lines not from the
 * input and lines that repeat a record within this dir through *extra / *twice. */
static size_t
count_dir(const input *in, const char *dir, int *cnt, size_t *extra, size_t *twice)
{
	json_t *lines = json_array(), *l;
	int    *mine = calloc(in->n, sizeof(int));
	size_t  i, n = te_jsonl_read(dir, lines);

	json_array_foreach(lines, i, l)
	{
		ssize_t k = find(in, json_string_value(json_object_get(l, "gpu_key")),
		                 te_rfc3339_ns(json_string_value(json_object_get(l, "timestamp"))));

		if (k < 0) {
			(*extra)++;
			continue;
		}
		if (mine[k]++ > 0)
			(*twice)++;
		cnt[k]++;
	}
	json_decref(lines);
	free(mine);
	return n;
}

/* Every record in the collectors' files, none twice in one data dir; returns how many were
 * stored by two collectors (the group case: see the README's "What the collector
 * guarantees"). */
static size_t
check_files(te_env *e, const input *in)
{
	int   *cnt = calloc(in->n, sizeof(int));
	size_t i, extra = 0, twice = 0, missing = 0, across = 0, lines = 0;

	for (i = 0; i < e->ncol; i++)
		lines += count_dir(in, e->dir[i], cnt, &extra, &twice);
	for (i = 0; i < in->n; i++) {
		missing += cnt[i] == 0;
		across += cnt[i] > 1;
	}
	print_message("files: %zu lines for %zu records: %zu missing, %zu twice in one dir, %zu in "
	              "two dirs, %zu unknown\n",
	              lines, in->n, missing, twice, across, extra);
	free(cnt);
	assert_int_equal(missing, 0);
	assert_int_equal(twice, 0);
	assert_int_equal(extra, 0);
	return across;
}

/* The gateway answers every record of every GPU, once. */
static void
check_gateway(te_env *e, const input *in)
{
	int   *cnt = calloc(in->n, sizeof(int));
	size_t g, i;

	for (g = 0; g < in->nkeys; g++) {
		char    url[200];
		json_t *j = NULL, *r;

		snprintf(url, sizeof(url), "/api/v1/gpus/%s/telemetry?limit=100000", in->keys[g]);
		assert_int_equal(tc_get(&e->gw, url, NULL, &j, NULL, NULL), 200);
		assert_false(json_is_true(json_object_get(j, "partial")));
		json_array_foreach(json_object_get(j, "records"), i, r)
		{
			ssize_t k = find(in, json_string_value(json_object_get(r, "gpu_key")),
			                 json_integer_value(json_object_get(r, "timestamp_ns")));

			assert_true(k >= 0);
			if (cnt[k]++ != 0)
				fail_msg("gateway: %s answered twice", in->want[k]);
		}
		json_decref(j);
	}
	for (i = 0; i < in->n; i++)
		if (cnt[i] != 1)
			fail_msg("gateway: %s answered %d times", in->want[i], cnt[i]);
	free(cnt);
}

/* The gateway's live-feed counters, printed next to what a client received (where a loss is). */
static void
print_gw_ws(te_env *e)
{
	json_t *j = NULL, *ws;

	if (tc_get(&e->gw, "/stats", NULL, &j, NULL, NULL) != 200)
		return;
	ws = json_object_get(json_object_get(j, "gateway"), "ws");
	print_message("gateway ws: records_in %lld, frames_sent %lld, frames_dropped %lld\n",
	              (long long)json_integer_value(json_object_get(ws, "records_in")),
	              (long long)json_integer_value(json_object_get(ws, "frames_sent")),
	              (long long)json_integer_value(json_object_get(ws, "frames_dropped")));
	json_decref(j);
}

/* WebSocket frames (record frames): none twice; all of them when exact. Returns how many. */
static size_t
check_ws(const input *in, json_t *frames, int exact, const char *what)
{
	int    *cnt = calloc(in->n, sizeof(int));
	size_t  i, n = 0;
	json_t *f;

	json_array_foreach(frames, i, f)
	{
		ssize_t k = find(in, json_string_value(json_object_get(f, "gpu_key")),
		                 json_integer_value(json_object_get(f, "timestamp_ns")));

		assert_true(k >= 0);
		if (cnt[k]++ != 0)
			fail_msg("%s: %s received twice", what, in->want[k]);
		n++;
	}
	print_message("%s: %zu of %zu records, %zu announced as dropped\n", what, n, in->n,
	              te_ws_dropped);
	if (exact) /* every record, or its loss announced (a slow client) */
		assert_int_equal(n + te_ws_dropped, in->n);
	free(cnt);
	return n;
}

static void
check_no_dlq(te_env *e)
{
	json_t *j = NULL;

	assert_int_equal(tc_get(&e->mq, "/stats", NULL, &j, NULL, NULL), 200);
	json_t *t = json_object_get(json_object_get(j, "topics"), "gpu-telemetry");

	assert_non_null(json_object_get(t, "dlq"));
	assert_int_equal(json_integer_value(json_object_get(t, "dlq")), 0);
	json_decref(j);
}

static int
running(gt_proc *p)
{
	return gt_proc_wait_exit(p, 10 * MS) == -1; /* 0 would not even look */
}

/* Records in the collectors' files (total_processed restarts at 0 with the process). */
static int64_t
stored(te_env *e)
{
	size_t i, n = 0;

	for (i = 0; i < e->ncol; i++)
		n += te_lines(e->dir[i]);
	return (int64_t)n;
}

/* The end of every scenario: the streamer confirmed everything, the collectors' files hold
 * as many lines as records (or more: then check_files says which), and a little longer than
 * the ack timeout has passed (late redeliveries came and were recognised). */
static void
finish(te_env *e, const input *in, gt_proc *stm)
{
	int64_t end;

	assert_int_equal(gt_proc_wait_exit(stm, 60 * SEC), 0);
	gt_proc_free(stm);
	end = gt_mono_ns() + 60 * SEC;
	while (stored(e) < (int64_t)in->n && gt_mono_ns() < end)
		gt_sleep_ns(100 * MS);
	gt_sleep_ns(2500 * MS);
}

static void
test_mq_kill9_with_wal(void **state)
{
	te_env      e;
	input       in;
	gt_proc    *stm;
	gt_wsc     *ws;
	te_wsr     *rd;
	json_t     *frames = json_array();
	const char *flags[] = {"--rate=600", NULL};
	int         k, mid = 0;

	(void)state;
	input_make(&in, 1200); /* 9,600 records, ~4 s at 4 x 600/s */
	te_init(&e, 1, 1);
	te_col_start(&e, 0, NULL); /* no broker yet */
	te_gw_start(&e);
	assert_non_null(ws = te_ws_subscribe(e.gw_port));
	rd = te_wsr_start(ws);
	gt_sleep_ns(500 * MS);
	stm = te_streamer(&e, in.csv, flags);
	/* the streamer runs before the broker exists: it retries ... */
	assert_int_equal(gt_proc_wait_log(stm, "publish.retry", 10 * SEC, NULL, NULL), GT_OK);
	gt_sleep_ns(te_rand(200, 1500) * MS);
	assert_true(running(stm));
	te_mq_start(&e); /* ... and delivers once it is there */
	for (k = 0; k < 3; k++) {
		int64_t s;

		gt_sleep_ns(te_rand(200, 900) * MS);
		s = stored(&e);
		mid += s < (int64_t)in.n && running(stm);
		print_message("kill -9 gt-mq #%d: %lld stored, streamer %s\n", k + 1, (long long)s,
		              running(stm) ? "running" : "done");
		tc_kill(&e.mq);
		gt_sleep_ns(te_rand(0, 500) * MS);
		te_mq_start(&e); /* same address, same WAL */
	}
	assert_true(mid >= 1); /* at least one kill hit the stream */
	finish(&e, &in, stm);
	check_files(&e, &in);
	check_gateway(&e, &in);
	json_decref(frames);
	frames = te_wsr_stop(rd, in.n, 5 * SEC);
	/* neither the collector nor the gateway restarted: every record, or its loss announced,
	 * even for the burst the collector stores after each broker outage */
	print_gw_ws(&e);
	check_ws(&in, frames, 1, "websocket");
	check_no_dlq(&e);
	gt_wsc_close(ws);
	json_decref(frames);
	te_fini(&e);
	input_free(&in);
}

static void
test_collector_kill9(void **state)
{
	te_env      e;
	input       in;
	gt_proc    *stm;
	gt_wsc     *ws;
	te_wsr     *rd;
	json_t     *frames = json_array(), *f;
	const char *flags[] = {"--rate=400", NULL};
	int         k, mid = 0;
	int64_t     s = 0, ts0 = te_rfc3339_ns("2026-01-01T00:00:00Z");
	size_t      i, later = 0;

	(void)state;
	input_make(&in, 1200); /* 9,600 records, ~6 s at 4 x 400/s */
	te_init(&e, 1, 0);
	te_start(&e);
	assert_non_null(ws = te_ws_subscribe(e.gw_port));
	rd = te_wsr_start(ws);
	gt_sleep_ns(500 * MS);
	stm = te_streamer(&e, in.csv, flags);
	for (k = 0; k < 3; k++) {
		gt_sleep_ns(te_rand(300, 1300) * MS);
		s = stored(&e);
		mid += s < (int64_t)in.n && running(stm);
		print_message("kill -9 gt-collector #%d: %lld stored\n", k + 1, (long long)s);
		tc_kill(&e.col[0]);
		gt_sleep_ns(te_rand(0, 300) * MS);
		te_col_start(&e, 0, NULL); /* same data dir, same addresses */
	}
	assert_true(mid >= 2);
	finish(&e, &in, stm);
	json_decref(frames);
	frames = te_wsr_stop(rd, 0, 1500 * MS);
	/* the client kept receiving: records sampled well after what was stored at the last kill
	 * (gt-gen samples every 1 s from ts0; 4 workers publish them about in file order) */
	json_array_foreach(frames, i, f) later +=
	    json_integer_value(json_object_get(f, "timestamp_ns")) - ts0 >= (s / NGPU + 100) * SEC;
	print_message("websocket: %zu frames of records stored after the last restart\n", later);
	assert_true(later > 0);
	check_files(&e, &in);
	check_gateway(&e, &in);
	print_gw_ws(&e);
	check_ws(&in, frames, 0, "websocket");
	check_no_dlq(&e);
	gt_wsc_close(ws);
	json_decref(frames);
	te_fini(&e);
	input_free(&in);
}

static void
test_collector_sigstop_15s(void **state)
{
	te_env      e;
	input       in;
	gt_proc    *stm;
	gt_wsc     *ws;
	te_wsr     *rd;
	json_t     *frames = json_array();
	const char *flags[] = {"--rate=500", NULL};
	int64_t     s0, s1, t;

	(void)state;
	input_make(&in, 1000); /* 8,000 records, ~4 s unstalled */
	te_init(&e, 1, 0);
	te_start(&e);
	assert_non_null(ws = te_ws_subscribe(e.gw_port));
	rd = te_wsr_start(ws); /* reads (and answers the gateway's pings) throughout */
	gt_sleep_ns(500 * MS);
	stm = te_streamer(&e, in.csv, flags);
	gt_sleep_ns(te_rand(500, 2000) * MS);
	s0 = stored(&e);
	assert_int_equal(kill(gt_proc_pid(e.col[0].proc), SIGSTOP), 0);
	print_message("SIGSTOP gt-collector at %lld stored, for 15 s\n", (long long)s0);
	assert_true(s0 < (int64_t)in.n);
	gt_sleep_ns(15 * SEC); /* 15 x the ack timeout, 5 x the consumer lease */
	/* the streamer finished meanwhile: the broker held everything */
	assert_false(running(stm));
	assert_int_equal(kill(gt_proc_pid(e.col[0].proc), SIGCONT), 0);
	t = gt_mono_ns();
	finish(&e, &in, stm);
	s1 = stored(&e);
	print_message("caught up: %lld stored %.1f s after SIGCONT\n", (long long)s1,
	              (double)(gt_mono_ns() - t) / 1e9 - 2.5);
	check_files(&e, &in);
	check_gateway(&e, &in);
	json_decref(frames);
	frames = te_wsr_stop(rd, in.n, 5 * SEC);
	/* none twice, and the client kept receiving after SIGCONT (all of them in most runs: the
	 * catch-up is a burst, see the "mq" scenario) */
	print_gw_ws(&e);
	assert_true(check_ws(&in, frames, 0, "websocket") > (size_t)s0);
	check_no_dlq(&e);
	gt_wsc_close(ws);
	json_decref(frames);
	te_fini(&e);
	input_free(&in);
}

static gt_wsc *
ws_reconnect(int port)
{
	int64_t end = gt_mono_ns() + 20 * SEC;
	gt_wsc *c;

	while (gt_mono_ns() < end) {
		if ((c = te_ws_subscribe(port)) != NULL)
			return c;
		gt_sleep_ns(100 * MS);
	}
	fail_msg("the WebSocket client could not reconnect");
	return NULL;
}

static void
test_gateway_kill9(void **state)
{
	te_env      e;
	input       in;
	gt_proc    *stm;
	gt_wsc     *ws;
	json_t     *frames = json_array();
	const char *flags[] = {"--rate=300", NULL};
	int         k;
	size_t      before;

	(void)state;
	input_make(&in, 1200); /* 9,600 records, ~8 s at 4 x 300/s */
	te_init(&e, 1, 0);
	te_start(&e);
	assert_non_null(ws = te_ws_subscribe(e.gw_port));
	gt_sleep_ns(500 * MS);
	stm = te_streamer(&e, in.csv, flags);
	for (k = 0; k < 2; k++) {
		gt_sleep_ns(te_rand(500, 2000) * MS);
		assert_true(running(stm));
		print_message("kill -9 gt-gateway #%d: %lld stored\n", k + 1,
		              (long long)stored(&e));
		gt_rpc_client_close(e.gw.cli);
		gt_proc_stop(e.gw.proc, 9, 5 * SEC);
		gt_proc_free(e.gw.proc);
		free(e.gw.rpc_url);
		memset(&e.gw, 0, sizeof(e.gw));
		/* the client sees the connection end ... */
		te_ws_collect(ws, frames, 0, 2 * SEC);
		assert_true(gt_wsc_closed(ws));
		gt_wsc_close(ws);
		te_gw_start(&e); /* same port */
		/* ... reconnects, subscribes again and receives what is stored from then on */
		ws = ws_reconnect(e.gw_port);
		before = json_array_size(frames);
		assert_true(te_ws_collect(ws, frames, 50, 5 * SEC) == 50);
		print_message("websocket: reconnected, %zu frames since\n",
		              json_array_size(frames) - before);
	}
	finish(&e, &in, stm);
	te_ws_collect(ws, frames, 0, 1 * SEC);
	check_files(&e, &in);
	check_gateway(&e, &in);
	check_ws(&in, frames, 0, "websocket (over 3 connections)");
	check_no_dlq(&e);
	gt_wsc_close(ws);
	json_decref(frames);
	te_fini(&e);
	input_free(&in);
}

static void
test_group_one_collector_killed(void **state)
{
	te_env      e;
	input       in;
	gt_proc    *stm;
	const char *flags[] = {"--rate=600", NULL};
	int64_t     s1, end;
	size_t      across, g, moved = 0;
	json_t     *j = NULL, *it;
	size_t      i;

	(void)state;
	input_make(&in, 1200); /* 9,600 records */
	te_init(&e, 2, 0);
	te_start(&e);
	gt_sleep_ns(700 * MS); /* both fetching: the partitions are split */
	stm = te_streamer(&e, in.csv, flags);
	gt_sleep_ns(te_rand(800, 2500) * MS);
	s1 = tc_stat(&e.col[1], "total_processed");
	print_message("kill -9 collector col1 for good: it stored %lld, col0 %lld\n", (long long)s1,
	              (long long)tc_stat(&e.col[0], "total_processed"));
	assert_true(s1 > 0); /* it had partitions */
	assert_true(s1 + tc_stat(&e.col[0], "total_processed") < (int64_t)in.n); /* mid-stream */
	tc_kill(&e.col[1]);
	assert_int_equal(gt_proc_wait_exit(stm, 60 * SEC), 0);
	gt_proc_free(stm);
	/* the survivor takes col1's partitions once its lease (3 x 1 s) ran out */
	end = gt_mono_ns() + 60 * SEC;
	while (te_lines(e.dir[0]) + te_lines(e.dir[1]) < in.n && gt_mono_ns() < end)
		gt_sleep_ns(200 * MS);
	gt_sleep_ns(2500 * MS);
	across = check_files(&e, &in);
	/* what col1 stored but had not acked when it died went to col0 too (at-least-once across
	 * a group); bounded by what col1 had stored */
	assert_true((int64_t)across <= s1);
	/* every GPU's newest records are with the survivor: it owns every partition now */
	assert_int_equal(tc_get(&e.col[0], "/gpus", NULL, &j, NULL, NULL), 200);
	json_array_foreach(json_object_get(j, "gpus"), i, it)
	{
		for (g = 0; g < in.nkeys; g++)
			if (strcmp(json_string_value(json_object_get(it, "gpu_key")), in.keys[g]) ==
			    0)
				moved++;
	}
	json_decref(j);
	assert_int_equal(moved, in.nkeys);
	check_no_dlq(&e);
	te_fini(&e);
	input_free(&in);
}

/* The broker's WAL after its segments were deleted: deterministic form of what the "mq"
 * scenario hits at random. 400 records published over two broker lives: after the first 200
 * are stored and acked, gt-mq is killed and restarted (it then deletes the WAL segment whose
 * messages are all acked), killed and restarted again; then 200 more are published. The
 * collector must store all 400 (offsets must not start again at 0 in the same epoch: the
 * collector's checkpoint would take the new records for ones it already stored). */
static void
test_mq_restart_after_segment_gc(void **state)
{
	te_env  e;
	int64_t end;
	size_t  n;

	(void)state;
	te_init(&e, 1, 1);
	te_mq_start(&e);
	te_col_start(&e, 0, NULL);
	tc_publish(&e.mq, 0, 200, 4, INT64_C(1795730000000000000), 0);
	end = gt_mono_ns() + 30 * SEC;
	while (te_lines(e.dir[0]) < 200 && gt_mono_ns() < end)
		gt_sleep_ns(50 * MS);
	assert_int_equal(te_lines(e.dir[0]), 200);
	gt_sleep_ns(1 * SEC); /* the acks are in the WAL */
	tc_kill(&e.mq);
	te_mq_start(&e);
	assert_int_equal(gt_proc_wait_log(e.mq.proc, "wal.segment_deleted", 10 * SEC, NULL, NULL),
	                 GT_OK);
	tc_kill(&e.mq);
	te_mq_start(&e);
	tc_publish(&e.mq, 200, 200, 4, INT64_C(1795730000000000000), 0);
	end = gt_mono_ns() + 20 * SEC;
	while (te_lines(e.dir[0]) < 400 && gt_mono_ns() < end)
		gt_sleep_ns(50 * MS);
	n = te_lines(e.dir[0]);
	print_message(
	    "after two broker restarts and a deleted WAL segment: %zu of 400 stored, %lld "
	    "taken for duplicates by the collector\n",
	    n, (long long)tc_stat(&e.col[0], "duplicates"));
	assert_int_equal(n, 400);
	te_fini(&e);
}

int
main(int argc, char **argv)
{
	static const struct {
		const char       *name;
		struct CMUnitTest t;
	} all[] = {
	    {"mq", cmocka_unit_test_teardown(test_mq_kill9_with_wal, tc_cleanup)},
	    {"mq_gc", cmocka_unit_test_teardown(test_mq_restart_after_segment_gc, tc_cleanup)},
	    {"collector", cmocka_unit_test_teardown(test_collector_kill9, tc_cleanup)},
	    {"stall", cmocka_unit_test_teardown(test_collector_sigstop_15s, tc_cleanup)},
	    {"gateway", cmocka_unit_test_teardown(test_gateway_kill9, tc_cleanup)},
	    {"group", cmocka_unit_test_teardown(test_group_one_collector_killed, tc_cleanup)},
	};
	struct CMUnitTest tests[6];
	size_t            i, n = 0;

	for (i = 0; i < 6; i++)
		if (argc < 2 || strcmp(argv[1], all[i].name) == 0)
			tests[n++] = all[i].t;
	if (n == 0) {
		fprintf(stderr, "unknown scenario %s\n", argv[1]);
		return 2;
	}
	return _cmocka_run_group_tests("e2e_faults", tests, n, NULL, NULL);
}

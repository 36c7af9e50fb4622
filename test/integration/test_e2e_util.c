/* test_e2e_util.c - see test_e2e_util.h. */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gt/gt_time.h"
#include "gt_test.h"
#include "test_e2e_util.h"

void
te_init(te_env *e, size_t ncol, int persistent)
{
	size_t i;

	memset(e, 0, sizeof(*e));
	assert_true(ncol >= 1 && ncol <= TE_MAX_COL);
	e->ncol = ncol;
	snprintf(e->mq_url, sizeof(e->mq_url), "tcp://127.0.0.1:%d", gt_test_free_port());
	if (persistent)
		e->wal = gt_test_tmpdir("e2ewal");
	for (i = 0; i < ncol; i++) {
		snprintf(e->col_rpc[i], sizeof(e->col_rpc[i]), "tcp://127.0.0.1:%d",
		         gt_test_free_port());
		snprintf(e->col_pub[i], sizeof(e->col_pub[i]), "tcp://127.0.0.1:%d",
		         gt_test_free_port());
		e->dir[i] = gt_test_tmpdir("e2ecol");
	}
	e->gw_port = gt_test_free_port();
	snprintf(e->gw_rpc, sizeof(e->gw_rpc), "tcp://127.0.0.1:%d", gt_test_free_port());
}

void
te_mq_start(te_env *e)
{
	const char *plain[] = {"--rpc-url", e->mq_url, "--ack-timeout", "1s", NULL};
	const char *wal[] = {
	    "--rpc-url",          e->mq_url, "--ack-timeout", "1s",     "--persistence",
	    "--persistence-path", e->wal,    "--fsync",       "always", NULL};

	tc_mq_start(&e->mq, e->wal ? wal : plain);
}

void
te_col_start(te_env *e, size_t i, const char *const *extra)
{
	const char *argv[32] = {"--rpc-url", e->col_rpc[i], "--pub-url", e->col_pub[i]};
	char        name[16];
	size_t      n = 4;
	tc_svc      mq = {0}; /* only its URL: the broker need not be up */

	while (extra && *extra && n < 30)
		argv[n++] = *extra++;
	argv[n] = NULL;
	snprintf(name, sizeof(name), "col%zu", i);
	mq.rpc_url = e->mq_url;
	tc_col_start(&e->col[i], &mq, e->dir[i], name, argv);
}

void
te_gw_start(te_env *e)
{
	const char       *argv[48];
	char              port[16];
	size_t            n = 0, i;
	gt_rpc_client_cfg cc = {0};

	snprintf(port, sizeof(port), "%d", e->gw_port);
	argv[n++] = "gt-gateway";
	argv[n++] = "--port";
	argv[n++] = port;
	argv[n++] = "--bind";
	argv[n++] = "127.0.0.1";
	argv[n++] = "--rpc-url";
	argv[n++] = e->gw_rpc;
	argv[n++] = "--mq-url";
	argv[n++] = e->mq_url;
	argv[n++] = "--health-interval";
	argv[n++] = "200ms";
	argv[n++] = "--cache-ttl";
	argv[n++] = "0"; /* every answer from the collectors */
	argv[n++] = "--ws-queue-bytes";
	argv[n++] = "16777216"; /* a test reader never loses frames to the slow-client bound */
	for (i = 0; i < e->ncol; i++) {
		argv[n++] = "--collector-url";
		argv[n++] = e->col_rpc[i];
		argv[n++] = "--collector-live-url";
		argv[n++] = e->col_pub[i];
	}
	argv[n] = NULL;
	memset(&e->gw, 0, sizeof(e->gw));
	assert_int_equal(gt_proc_start(&e->gw.proc, argv, NULL), GT_OK);
	assert_int_equal(gt_proc_wait_ready(e->gw.proc, 20 * GT_NS_PER_S), GT_OK);
	e->gw.http_port = (int)gt_proc_ready_int(e->gw.proc, "http_port");
	assert_int_equal(e->gw.http_port, e->gw_port);
	e->gw.rpc_url = gt_proc_ready_str(e->gw.proc, "rpc_url");
	assert_non_null(e->gw.rpc_url);
	cc.timeout_ns = 10 * GT_NS_PER_S;
	assert_int_equal(gt_rpc_client_open(&e->gw.cli, e->gw.rpc_url, &cc), GT_OK);
}

void
te_start(te_env *e)
{
	size_t i;

	te_mq_start(e);
	for (i = 0; i < e->ncol; i++)
		te_col_start(e, i, NULL);
	te_gw_start(e);
}

void
te_fini(te_env *e)
{
	size_t i;

	if (e->gw.proc != NULL) {
		gt_rpc_client_close(e->gw.cli);
		assert_int_equal(gt_proc_stop(e->gw.proc, 15, 20 * GT_NS_PER_S), 0);
		gt_proc_free(e->gw.proc);
		free(e->gw.rpc_url);
		memset(&e->gw, 0, sizeof(e->gw));
	}
	for (i = 0; i < e->ncol; i++) {
		if (e->col[i].proc != NULL)
			tc_stop(&e->col[i]);
		gt_test_rmrf(e->dir[i]);
		free(e->dir[i]);
		e->dir[i] = NULL;
	}
	if (e->mq.proc != NULL)
		tc_stop(&e->mq);
	if (e->wal != NULL) {
		gt_test_rmrf(e->wal);
		free(e->wal);
		e->wal = NULL;
	}
}

gt_proc *
te_streamer(te_env *e, const char *csv, const char *const *extra)
{
	static char csvf[1100], mqf[100]; /* copied by gt_proc_start before it returns */
	const char *argv[32] = {"gt-streamer",     csvf,         mqf,
	                        "--port=-1",       "--rpc-url=", "--rpc-timeout=500ms",
	                        "--log-level=info"};
	size_t      n = 7;
	gt_proc    *p = NULL;

	snprintf(csvf, sizeof(csvf), "--csv=%s", csv);
	snprintf(mqf, sizeof(mqf), "--mq-url=%s", e->mq_url);
	while (extra && *extra && n < 30)
		argv[n++] = *extra++;
	argv[n] = NULL;
	assert_int_equal(gt_proc_start(&p, argv, NULL), GT_OK);
	return p;
}

gt_wsc *
te_ws_subscribe(int port)
{
	gt_wsc *c = gt_wsc_open(port, "/ws", 0);
	char   *f;
	int64_t end = gt_mono_ns() + 10 * GT_NS_PER_S;

	if (c == NULL)
		return NULL;
	if (gt_wsc_send(c, "{\"subscribe\":{\"gpus\":[\"*\"],\"metrics\":[]}}") != 0 ||
	    gt_wsc_send(c, "{\"ping\":\"e2e\"}") != 0) {
		gt_wsc_close(c);
		return NULL;
	}
	while (gt_mono_ns() < end && (f = gt_wsc_recv(c, 2 * GT_NS_PER_S)) != NULL) {
		int pong = strstr(f, "\"type\":\"pong\"") != NULL;

		free(f);
		if (pong)
			return c;
	}
	gt_wsc_close(c);
	return NULL;
}

_Atomic size_t te_ws_dropped;

size_t
te_ws_collect(gt_wsc *c, json_t *recs, size_t n, int64_t idle_ns)
{
	size_t  got = 0;
	int64_t last = gt_mono_ns(), left;
	char   *f;

	/* idle = no record frame (heartbeats keep coming and do not count) */
	while ((n == 0 || got < n) && (left = last + idle_ns - gt_mono_ns()) > 0 &&
	       (f = gt_wsc_recv(c, left)) != NULL) {
		json_t     *j = json_loads(f, 0, NULL);
		const char *type = json_string_value(json_object_get(j, "type"));

		free(f);
		if (type != NULL && strcmp(type, "dropped") == 0)
			te_ws_dropped += (size_t)json_integer_value(json_object_get(j, "count"));
		if (type != NULL && strcmp(type, "record") == 0) {
			json_array_append(recs, j);
			got++;
			last = gt_mono_ns();
		}
		json_decref(j);
	}
	return got;
}

size_t
te_jsonl_read(const char *dir, json_t *out)
{
	DIR           *d = opendir(dir);
	struct dirent *de;
	size_t         n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char   path[1024], *data, *line, *save = NULL;
		size_t len;

		if (strstr(de->d_name, ".jsonl") == NULL || de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((data = gt_test_read_file(path, &len)) == NULL)
			continue;
		for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			json_t *j = json_loads(line, 0, NULL);

			assert_non_null(j); /* no torn or garbled line */
			json_array_append_new(out, j);
			n++;
		}
		free(data);
	}
	closedir(d);
	return n;
}

size_t
te_lines(const char *dir)
{
	DIR           *d = opendir(dir);
	struct dirent *de;
	size_t         n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char   path[1024], *data;
		size_t len, i;

		if (strstr(de->d_name, ".jsonl") == NULL || de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((data = gt_test_read_file(path, &len)) == NULL)
			continue;
		for (i = 0; i < len; i++)
			n += data[i] == '\n';
		free(data);
	}
	closedir(d);
	return n;
}

int64_t
te_wait_stored(te_env *e, int64_t n, int64_t timeout_ns)
{
	int64_t end = gt_mono_ns() + timeout_ns, sum = 0;
	size_t  i;

	while (gt_mono_ns() < end) {
		sum = 0;
		for (i = 0; i < e->ncol; i++)
			if (e->col[i].proc != NULL) {
				int64_t v = tc_stat(&e->col[i], "total_processed");

				sum += v > 0 ? v : 0;
			}
		if (sum >= n)
			break;
		gt_sleep_ns(50 * GT_NS_PER_MS);
	}
	return sum;
}

int64_t
te_rand(int64_t lo, int64_t hi)
{
	static uint64_t s;

	if (s == 0) {
		const char *env = getenv("GT_E2E_SEED");

		s = env ? strtoull(env, NULL, 10) : (uint64_t)gt_mono_ns();
		if (s == 0)
			s = 1;
		print_message("GT_E2E_SEED=%llu\n", (unsigned long long)s);
	}
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return lo + (int64_t)(s % (uint64_t)(hi - lo));
}

int64_t
te_rfc3339_ns(const char *s)
{
	struct tm tm;
	int       y, mo, d, h, mi, se, n = 0;
	int64_t   frac = 0, digits = 0;

	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6)
		return -1;
	s += n;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++, digits++)
			frac = frac * 10 + (*s - '0');
	if (*s != 'Z' || digits > 9)
		return -1;
	while (digits++ < 9)
		frac *= 10;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	return (int64_t)timegm(&tm) * INT64_C(1000000000) + frac;
}

struct te_wsr {
	gt_wsc        *c;
	json_t        *frames;
	pthread_t      th;
	atomic_int     stop;
	_Atomic size_t n;
};

static void *
wsr_main(void *arg)
{
	te_wsr *r = arg;

	while (!atomic_load(&r->stop))
		atomic_fetch_add(&r->n, te_ws_collect(r->c, r->frames, 0, 100 * GT_NS_PER_MS));
	return NULL;
}

te_wsr *
te_wsr_start(gt_wsc *c)
{
	te_wsr *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->c = c;
	r->frames = json_array();
	assert_int_equal(pthread_create(&r->th, NULL, wsr_main, r), 0);
	return r;
}

size_t
te_wsr_count(te_wsr *r)
{
	return atomic_load(&r->n);
}

json_t *
te_wsr_stop(te_wsr *r, size_t want, int64_t idle_ns)
{
	size_t  last = atomic_load(&r->n), n;
	int64_t t = gt_mono_ns();
	json_t *frames;

	while ((n = atomic_load(&r->n)) < want || want == 0) {
		if (n != last) {
			last = n;
			t = gt_mono_ns();
		} else if (gt_mono_ns() - t > idle_ns) {
			break;
		}
		gt_sleep_ns(20 * GT_NS_PER_MS);
	}
	if (want > 0) /* anything beyond (a record twice) */
		gt_sleep_ns(idle_ns < GT_NS_PER_S ? idle_ns : GT_NS_PER_S);
	atomic_store(&r->stop, 1);
	pthread_join(r->th, NULL);
	frames = r->frames;
	free(r);
	return frames;
}

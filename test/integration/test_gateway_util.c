/* test_gateway_util.c - see test_gateway_util.h. */
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
#include "test_gateway_util.h"

void
tg_gw_start(tg_env *e, const char *const *gw_extra)
{
	const char *argv[64] = {"gt-gateway", "--port", "0", "--bind", "127.0.0.1", "--rpc-url",
	                        "tcp://127.0.0.1:0", "--mq-url", e->mq.rpc_url, "--health-interval",
	                        "200ms", "--log-level", "info"};
	size_t      n = 13, i;
	gt_rpc_client_cfg cc = {0};

	for (i = 0; i < e->ncol; i++) {
		argv[n++] = "--collector-url";
		argv[n++] = e->col[i].rpc_url;
		argv[n++] = "--collector-live-url";
		argv[n++] = e->col_pub[i];
	}
	while (gw_extra && *gw_extra && n < 62)
		argv[n++] = *gw_extra++;
	argv[n] = NULL;
	memset(&e->gw, 0, sizeof(e->gw));
	assert_int_equal(gt_proc_start(&e->gw.proc, argv, NULL), GT_OK);
	assert_int_equal(gt_proc_wait_ready(e->gw.proc, 20 * GT_NS_PER_S), GT_OK);
	e->gw.http_port = (int)gt_proc_ready_int(e->gw.proc, "http_port");
	e->gw.rpc_url = gt_proc_ready_str(e->gw.proc, "rpc_url");
	assert_true(e->gw.http_port > 0);
	cc.timeout_ns = 10 * GT_NS_PER_S;
	assert_int_equal(gt_rpc_client_open(&e->gw.cli, e->gw.rpc_url, &cc), GT_OK);
}

void
tg_start(tg_env *e, size_t ncol, const char *const *gw_extra)
{
	size_t i;

	memset(e, 0, sizeof(*e));
	tc_mq_start(&e->mq, NULL);
	e->ncol = ncol;
	for (i = 0; i < ncol; i++) {
		char name[32];

		snprintf(name, sizeof(name), "col%zu", i);
		e->dir[i] = gt_test_tmpdir("gw");
		tc_col_start(&e->col[i], &e->mq, e->dir[i], name, NULL);
		e->col_pub[i] = gt_proc_ready_str(e->col[i].proc, "pub_url");
		assert_non_null(e->col_pub[i]);
	}
	tg_gw_start(e, gw_extra);
}

void
tg_stop(tg_env *e)
{
	size_t i;

	if (e->gw.proc != NULL) {
		gt_rpc_client_close(e->gw.cli);
		e->gw.cli = NULL;
		assert_int_equal(gt_proc_stop(e->gw.proc, 15, 20 * GT_NS_PER_S), 0);
		gt_proc_free(e->gw.proc);
		free(e->gw.rpc_url);
		memset(&e->gw, 0, sizeof(e->gw));
	}
	for (i = 0; i < e->ncol; i++) {
		if (e->col[i].proc != NULL)
			tc_stop(&e->col[i]);
		free(e->col_pub[i]);
		gt_test_rmrf(e->dir[i]);
		free(e->dir[i]);
	}
	tc_stop(&e->mq);
}

void
tg_publish(tg_env *e, uint64_t first, size_t n, unsigned ngpus, int64_t ts0, int slash)
{
	int64_t deadline = gt_mono_ns() + 30 * GT_NS_PER_S, want = 0, got = 0;
	size_t  i;

	for (i = 0; i < e->ncol; i++)
		if (e->col[i].proc != NULL) {
			int64_t v = tc_stat(&e->col[i], "total_processed");

			want += v > 0 ? v : 0;
		}
	want += (int64_t)n;
	tc_publish(&e->mq, first, n, ngpus, ts0, slash);
	while (gt_mono_ns() < deadline) {
		got = 0;
		for (i = 0; i < e->ncol; i++)
			if (e->col[i].proc != NULL) {
				int64_t v = tc_stat(&e->col[i], "total_processed");

				got += v > 0 ? v : 0;
			}
		if (got >= want)
			break;
		gt_sleep_ns(50 * GT_NS_PER_MS);
	}
	assert_true(got >= want);
}

int
tg_get(tg_env *e, const char *path, const char *headers, json_t **json, char **raw, size_t *len)
{
	char  *body = NULL;
	size_t blen = 0;
	int    st;

	st = gt_test_http(e->gw.http_port, "GET", path, headers, NULL, 0, &body, &blen);
	if (json)
		*json = body ? json_loadb(body, blen, 0, NULL) : NULL;
	if (raw) {
		*raw = body;
		*len = blen;
	} else {
		free(body);
	}
	return st;
}

void
tg_wait_component(tg_env *e, const char *name, const char *status)
{
	int64_t deadline = gt_mono_ns() + 20 * GT_NS_PER_S;
	char   *last = NULL;

	while (gt_mono_ns() < deadline) {
		json_t *j = NULL, *c;
		size_t  i, len;
		int     ok = 0;

		free(last);
		last = NULL;
		tg_get(e, "/health", NULL, NULL, &last, &len);
		j = last ? json_loads(last, 0, NULL) : NULL;
		json_array_foreach(json_object_get(j, "components"), i, c)
		{
			if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0 &&
			    strcmp(json_string_value(json_object_get(c, "status")), status) == 0)
				ok = 1;
		}
		json_decref(j);
		if (ok) {
			free(last);
			return;
		}
		gt_sleep_ns(50 * GT_NS_PER_MS);
	}
	fail_msg("component %s never became %s: %s", name, status, last ? last : "");
}

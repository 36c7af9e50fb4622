/* Integration, the whole pipeline: gt-streamer -> gt-mq -> gt-collector -> gt-gateway on
 * loopback, fed one fixture of each CSV format (test/fixtures/e2e: the wide seed format, a
 * DCGM-exporter export, nvidia-smi --format=csv) whose rows carry GPU keys of every form (uuid,
 * hostname/index, a plain id). Every record must be readable exactly once, with its values
 * intact, through the gateway's REST API (JSON), its TelemetryService RPC and its WebSocket
 * feed (subscribed before streaming), and be one line in the collector's files.
 * test/fixtures/e2e/expected.json holds what each fixture means (key, timestamp, metrics),
 * written from the formats' description, not from the pipeline's output. */
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
#include "gtpb/v1/collector.pb-c.h"
#include "test_e2e_util.h"

#define WARMUP_KEY "e2e-warmup"

static const char *const fixtures[] = {"wide.csv", "dcgm.csv", "nvidia-smi.csv"};

/* expected: a JSON array of {gpu_key, timestamp_ns, metrics}; seen: one counter per entry. */
static void
match(json_t *expected, int *seen, json_t *rec, const char *via)
{
	const char *key = json_string_value(json_object_get(rec, "gpu_key"));
	json_int_t  ts = json_integer_value(json_object_get(rec, "timestamp_ns"));
	json_t     *m = json_object_get(rec, "metrics"), *e, *v;
	const char *name;
	size_t      i;

	assert_non_null(key);
	json_array_foreach(expected, i, e)
	{
		json_t *em = json_object_get(e, "metrics");

		if (strcmp(json_string_value(json_object_get(e, "gpu_key")), key) != 0 ||
		    json_integer_value(json_object_get(e, "timestamp_ns")) != ts)
			continue;
		if (seen[i]++ != 0)
			fail_msg("%s: %s @%lld delivered twice", via, key, (long long)ts);
		if (json_object_size(m) != json_object_size(em))
			fail_msg("%s: %s @%lld: %zu metrics, expected %zu", via, key, (long long)ts,
			         json_object_size(m), json_object_size(em));
		json_object_foreach(em, name, v)
		{
			json_t *got = json_object_get(m, name);

			if (got == NULL || json_number_value(got) != json_number_value(v))
				fail_msg("%s: %s @%lld: %s = %.17g, expected %.17g", via, key,
				         (long long)ts, name, got ? json_number_value(got) : -1.0,
				         json_number_value(v));
		}
		return;
	}
	fail_msg("%s: %s @%lld is not in the fixtures", via, key, (long long)ts);
}

static void
all_seen_once(json_t *expected, const int *seen, const char *via)
{
	size_t i;

	for (i = 0; i < json_array_size(expected); i++)
		if (seen[i] != 1)
			fail_msg("%s: %s @%lld seen %d times", via,
			         json_string_value(
			             json_object_get(json_array_get(expected, i), "gpu_key")),
			         (long long)json_integer_value(
			             json_object_get(json_array_get(expected, i), "timestamp_ns")),
			         seen[i]);
}

/* The keys of expected, each once. */
static json_t *
keys_of(json_t *expected)
{
	json_t *keys = json_object(), *e;
	size_t  i;

	json_array_foreach(expected, i, e) json_object_set_new(
	    keys, json_string_value(json_object_get(e, "gpu_key")), json_true());
	return keys;
}

static json_t *
pb_to_json(const Gtpb__V1__TelemetryRecord *r)
{
	json_t *j = json_object(), *m = json_object();
	size_t  i;

	json_object_set_new(j, "gpu_key", json_string(r->gpu_key));
	json_object_set_new(j, "timestamp_ns", json_integer(r->timestamp_ns));
	for (i = 0; i < r->n_metrics; i++)
		json_object_set_new(m, r->metrics[i]->key, json_real(r->metrics[i]->value));
	json_object_set_new(j, "metrics", m);
	return j;
}

/* Publish warm-up records until one comes back on the WebSocket: the gateway's live-feed
 * subscription to the collector is then connected (PUB/SUB drops what is sent before). */
static size_t
warm_up(te_env *e, gt_wsc *ws)
{
	Gtpb__V1__TelemetryRecord               r = GTPB__V1__TELEMETRY_RECORD__INIT;
	Gtpb__V1__TelemetryRecord__MetricsEntry m = GTPB__V1__TELEMETRY_RECORD__METRICS_ENTRY__INIT,
	                                        *mp = &m;
	int64_t end = gt_mono_ns() + 30 * GT_NS_PER_S;
	size_t  sent = 0;

	r.gpu_key = WARMUP_KEY;
	r.n_metrics = 1;
	r.metrics = &mp;
	m.key = "temperature";
	while (gt_mono_ns() < end) {
		json_t *got = json_array();
		size_t  n;

		m.value = (double)sent;
		r.timestamp_ns = INT64_C(1795730000000000000) + (int64_t)sent;
		tc_publish_record(&e->mq, WARMUP_KEY, &r);
		sent++;
		n = te_ws_collect(ws, got, 1, 2 * GT_NS_PER_S);
		json_decref(got);
		if (n == 1)
			return sent;
	}
	fail_msg("the gateway's live feed never delivered a warm-up record");
	return 0;
}

static void
test_e2e_every_format_every_key_form_once_via_rest_rpc_ws(void **state)
{
	te_env      e;
	gt_wsc     *ws, *ws2;
	te_wsr     *r1, *r2;
	json_t     *all, *exp, *keys, *frames, *lines, *j = NULL, *it;
	char       *path;
	int        *seen;
	size_t      i, n, warm, nexp;
	const char *key;
	int64_t     t0 = gt_mono_ns();
	gt_rpc_stub stub;

	(void)state;
	path = gt_test_fixture("e2e/expected.json");
	all = json_load_file(path, 0, NULL);
	free(path);
	assert_non_null(all);
	exp = json_array();
	for (i = 0; i < 3; i++)
		json_array_extend(exp, json_object_get(all, fixtures[i]));
	nexp = json_array_size(exp);
	assert_int_equal(nexp, 20);
	keys = keys_of(exp);
	assert_int_equal(json_object_size(keys), 10);
	seen = calloc(nexp, sizeof(*seen));

	te_init(&e, 1, 0);
	te_start(&e);
	assert_non_null(ws = te_ws_subscribe(e.gw_port));
	warm = warm_up(&e, ws);
	/* a second client subscribed to one GPU and one metric: the filter holds end to end */
	assert_non_null(ws2 = gt_wsc_open(e.gw_port, "/ws", 0));
	assert_int_equal(gt_wsc_send(ws2, "{\"subscribe\":{\"gpus\":[\"node-a/1\"],\"metrics\":"
	                                  "[\"power_draw\"]}}"),
	                 0);
	assert_int_equal(gt_wsc_send(ws2, "{\"ping\":2}"), 0);
	{
		char *f;
		int   pong = 0;

		while (!pong && (f = gt_wsc_recv(ws2, 5 * GT_NS_PER_S)) != NULL) {
			pong = strstr(f, "\"pong\"") != NULL;
			free(f);
		}
		assert_true(pong);
	}

	/* both clients read all the time from here on (and so answer the gateway's pings) */
	r1 = te_wsr_start(ws);
	r2 = te_wsr_start(ws2);
	for (i = 0; i < 3; i++) {
		char     name[64];
		gt_proc *p;

		snprintf(name, sizeof(name), "e2e/%s", fixtures[i]);
		path = gt_test_fixture(name);
		p = te_streamer(&e, path, NULL);
		assert_int_equal(gt_proc_wait_exit(p, 30 * GT_NS_PER_S),
		                 0); /* everything confirmed */
		assert_int_equal(gt_proc_count_log(p, "csv.bad_row"), 0);
		gt_proc_free(p);
		free(path);
	}
	assert_int_equal(te_wait_stored(&e, (int64_t)(nexp + warm), 30 * GT_NS_PER_S),
	                 (int64_t)(nexp + warm));

	/* WebSocket: every record once, then nothing more */
	frames = te_wsr_stop(r1, nexp, 10 * GT_NS_PER_S);
	n = json_array_size(frames);
	json_array_foreach(frames, i, it)
	{
		if (strcmp(json_string_value(json_object_get(it, "gpu_key")), WARMUP_KEY) != 0)
			match(exp, seen, it, "websocket");
		else
			n--;
	}
	assert_int_equal(n, nexp);
	all_seen_once(exp, seen, "websocket");
	json_decref(frames);
	/* the filtered client: node-a/1's two records, power_draw only */
	frames = te_wsr_stop(r2, 2, 5 * GT_NS_PER_S);
	assert_int_equal(json_array_size(frames), 2);
	json_array_foreach(frames, i, it)
	{
		assert_string_equal(json_string_value(json_object_get(it, "gpu_key")), "node-a/1");
		assert_int_equal(json_object_size(json_object_get(it, "metrics")), 1);
		assert_non_null(json_object_get(json_object_get(it, "metrics"), "power_draw"));
	}
	json_decref(frames);

	/* REST: the GPU list holds every key once; each GPU's telemetry every record once */
	assert_int_equal(tc_get(&e.gw, "/api/v1/gpus?limit=1000", NULL, &j, NULL, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(j, "gpus")), json_object_size(keys) + 1);
	json_array_foreach(json_object_get(j, "gpus"), i, it)
	{
		const char *k = json_string_value(json_object_get(it, "key"));
		json_t     *r;
		size_t      q, cnt = 0;

		assert_non_null(k);
		if (strcmp(k, WARMUP_KEY) == 0)
			continue;
		assert_non_null(json_object_get(keys, k));
		json_array_foreach(exp, q, r) cnt +=
		    strcmp(json_string_value(json_object_get(r, "gpu_key")), k) == 0;
		assert_int_equal(json_integer_value(json_object_get(it, "records")), cnt);
	}
	json_decref(j);
	memset(seen, 0, nexp * sizeof(*seen));
	json_object_foreach(keys, key, it)
	{
		char url[300];

		snprintf(url, sizeof(url), "/api/v1/gpus/%s/telemetry?limit=1000", key);
		assert_int_equal(tc_get(&e.gw, url, NULL, &j, NULL, NULL), 200);
		json_t *recs = json_object_get(j, "records"), *r;
		size_t  k;

		assert_true(json_array_size(recs) > 0);
		json_array_foreach(recs, k, r) match(exp, seen, r, "rest");
		json_decref(j);
	}
	all_seen_once(exp, seen, "rest");

	/* RPC on the gateway's --rpc-url */
	memset(seen, 0, nexp * sizeof(*seen));
	gt_rpc_stub_init(&stub, e.gw.cli, &gtpb__v1__telemetry_service__descriptor,
	                 5 * GT_NS_PER_S);
	json_object_foreach(keys, key, it)
	{
		Gtpb__V1__GetTelemetryRequest   in = GTPB__V1__GET_TELEMETRY_REQUEST__INIT;
		Gtpb__V1__GetTelemetryResponse *out = NULL;
		size_t                          k;

		in.gpu = (char *)key;
		in.limit = 1000;
		assert_int_equal(
		    gt_rpc_call_by_name(&stub, "GetTelemetry", &in.base, (ProtobufCMessage **)&out),
		    GT_OK);
		for (k = 0; k < out->n_records; k++) {
			json_t *r = pb_to_json(out->records[k]);

			match(exp, seen, r, "rpc");
			json_decref(r);
		}
		protobuf_c_message_free_unpacked(&out->base, NULL);
	}
	all_seen_once(exp, seen, "rpc");

	/* the collector's files: one line per record */
	lines = json_array();
	assert_int_equal(te_jsonl_read(e.dir[0], lines), nexp + warm);
	memset(seen, 0, nexp * sizeof(*seen));
	json_array_foreach(lines, i, it)
	{
		if (strcmp(json_string_value(json_object_get(it, "gpu_key")), WARMUP_KEY) == 0)
			continue;
		json_object_set_new(it, "timestamp_ns",
		                    json_integer(te_rfc3339_ns(
		                        json_string_value(json_object_get(it, "timestamp")))));
		match(exp, seen, it, "jsonl");
	}
	all_seen_once(exp, seen, "jsonl");
	json_decref(lines);

	gt_wsc_close(ws);
	gt_wsc_close(ws2);
	te_fini(&e);
	json_decref(keys);
	json_decref(exp);
	json_decref(all);
	free(seen);
	print_message("e2e pipeline: %zu records, %.1f s\n", nexp,
	              (double)(gt_mono_ns() - t0) / 1e9);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_e2e_every_format_every_key_form_once_via_rest_rpc_ws,
	                              tc_cleanup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

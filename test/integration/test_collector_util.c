/* test_collector_util.c - see test_collector_util.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gt/gt_time.h"
#include "gt_test.h"
#include "gtpb/v1/mq.pb-c.h"
#include "gtpb/v1/telemetry.pb-c.h"
#include "test_collector_util.h"

/* Child environment. Under LeakSanitizer, gt_log's per-thread line buffer (common/src/gt_log.c,
 * a _Thread_local gt_buf never freed at thread exit) is reported as a leak by every thread
 * that logged; it is suppressed here (and reported to the lead) so the exit status stays 0. */
static const char *const *
child_env(void)
{
	static char        opt[300];
	static const char *env[2];

	if (env[0] == NULL) {
		char  path[256];
		FILE *f;

		snprintf(path, sizeof(path), "/tmp/gt-collector-lsan-%d.supp", (int)getpid());
		if ((f = fopen(path, "w")) != NULL) {
			fputs("# no suppressions: gt_log frees its per-thread buffer at thread exit\n", f);
			fclose(f);
		}
		snprintf(opt, sizeof(opt), "LSAN_OPTIONS=suppressions=%s", path);
		env[0] = opt;
	}
	return env;
}

/* Every started process, so a failed assertion (longjmp) does not leak it. */
static gt_proc *live[16];

static void
live_add(gt_proc *p)
{
	size_t i;

	for (i = 0; i < 16; i++)
		if (live[i] == NULL) {
			live[i] = p;
			return;
		}
}

static void
live_del(gt_proc *p)
{
	size_t i;

	for (i = 0; i < 16; i++)
		if (live[i] == p)
			live[i] = NULL;
}

int
tc_cleanup(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < 16; i++) {
		if (live[i] != NULL) {
			gt_proc_stop(live[i], 9, 5 * GT_NS_PER_S);
			gt_proc_free(live[i]);
			live[i] = NULL;
		}
	}
	return 0;
}

static void
svc_ready(tc_svc *s)
{
	gt_rpc_client_cfg cc = {0};

	assert_int_equal(gt_proc_wait_ready(s->proc, 20 * GT_NS_PER_S), GT_OK);
	s->http_port = (int)gt_proc_ready_int(s->proc, "http_port");
	s->rpc_url = gt_proc_ready_str(s->proc, "rpc_url");
	assert_true(s->http_port > 0);
	assert_non_null(s->rpc_url);
	cc.timeout_ns = 10 * GT_NS_PER_S;
	assert_int_equal(gt_rpc_client_open(&s->cli, s->rpc_url, &cc), GT_OK);
}

gt_err
tc_mq_try_start(tc_svc *m, const char *const *extra)
{
	const char *argv[40] = {"gt-mq", "--port", "0", "--bind", "127.0.0.1", "--rpc-url",
	    "tcp://127.0.0.1:0", "--pub-url", "", "--log-level", "info"};
	size_t      n = 11;
	gt_err      rv;

	memset(m, 0, sizeof(*m));
	while (extra && *extra && n < 38)
		argv[n++] = *extra++;
	argv[n] = NULL;
	assert_int_equal(gt_proc_start(&m->proc, argv, child_env()), GT_OK);
	live_add(m->proc);
	if ((rv = gt_proc_wait_ready(m->proc, 20 * GT_NS_PER_S)) != GT_OK) {
		live_del(m->proc);
		gt_proc_stop(m->proc, 9, 5 * GT_NS_PER_S);
		gt_proc_free(m->proc);
		memset(m, 0, sizeof(*m));
		return rv;
	}
	svc_ready(m);
	return GT_OK;
}

void
tc_mq_start(tc_svc *m, const char *const *extra)
{
	const char *argv[40] = {"gt-mq", "--port", "0", "--bind", "127.0.0.1", "--rpc-url",
	    "tcp://127.0.0.1:0", "--pub-url", "", "--log-level", "info"};
	size_t      n = 11;

	memset(m, 0, sizeof(*m));
	while (extra && *extra && n < 38)
		argv[n++] = *extra++;
	argv[n] = NULL;
	assert_int_equal(gt_proc_start(&m->proc, argv, child_env()), GT_OK);
	live_add(m->proc);
	svc_ready(m);
}

void
tc_col_spawn(tc_svc *c, const tc_svc *mq, const char *dir, const char *consumer,
    const char *const *extra)
{
	const char *argv[48] = {"gt-collector", "--port", "0", "--bind", "127.0.0.1", "--rpc-url",
	    "tcp://127.0.0.1:0", "--pub-url", "tcp://127.0.0.1:0", "--mq-url", mq->rpc_url,
	    "--data-dir", dir, "--consumer", consumer, "--fetch-wait", "200ms", "--workers", "2"};
	size_t      n = 19;

	memset(c, 0, sizeof(*c));
	while (extra && *extra && n < 46)
		argv[n++] = *extra++;
	argv[n] = NULL;
	assert_int_equal(gt_proc_start(&c->proc, argv, child_env()), GT_OK);
	live_add(c->proc);
}

void
tc_col_start(tc_svc *c, const tc_svc *mq, const char *dir, const char *consumer,
    const char *const *extra)
{
	tc_col_spawn(c, mq, dir, consumer, extra);
	svc_ready(c);
}

static void
svc_free(tc_svc *s)
{
	live_del(s->proc);
	gt_rpc_client_close(s->cli);
	gt_proc_free(s->proc);
	free(s->rpc_url);
	memset(s, 0, sizeof(*s));
}

void
tc_stop(tc_svc *s)
{
	gt_rpc_client_close(s->cli);
	s->cli = NULL;
	assert_int_equal(gt_proc_stop(s->proc, 15, 20 * GT_NS_PER_S), 0);
	svc_free(s);
}

void
tc_kill(tc_svc *s)
{
	gt_rpc_client_close(s->cli);
	s->cli = NULL;
	gt_proc_stop(s->proc, 9, 5 * GT_NS_PER_S);
	svc_free(s);
}

void
tc_key(char *buf, size_t len, unsigned g, int slash)
{
	if (slash)
		snprintf(buf, len, "host-%u/0", g);
	else
		snprintf(buf, len, "GPU-test-%u", g);
}

static void
publish_raw(const tc_svc *mq, Gtpb__V1__Message **msgs, size_t n)
{
	static uint64_t          seq;
	Gtpb__V1__PublishRequest req = GTPB__V1__PUBLISH_REQUEST__INIT;
	gt_rpc_stub              stub;
	ProtobufCMessage        *out = NULL;
	int                      tries;

	req.topic = "gpu-telemetry";
	req.messages = msgs;
	req.n_messages = n;
	req.producer_id = "tc-publisher";
	req.sequence = ++seq;
	gt_rpc_stub_init(&stub, mq->cli, &gtpb__v1__message_queue__descriptor, 10 * GT_NS_PER_S);
	for (tries = 0; tries < 50; tries++) {
		if (gt_rpc_call_by_name(&stub, "Publish", &req.base, &out) == GT_OK)
			break;
		gt_sleep_ns(100 * GT_NS_PER_MS);
	}
	assert_int_equal(stub.status.code, GT_RPC_OK);
	protobuf_c_message_free_unpacked(out, NULL);
}

void
tc_publish(const tc_svc *mq, uint64_t first, size_t n, unsigned ngpus, int64_t ts0, int slash)
{
	const size_t batch = 500;
	size_t       done = 0;

	while (done < n) {
		size_t             k = n - done < batch ? n - done : batch, i;
		Gtpb__V1__Message *msgs = calloc(k, sizeof(*msgs));
		Gtpb__V1__Message **mp = calloc(k, sizeof(*mp));
		char (*keys)[64] = calloc(k, 64);

		for (i = 0; i < k; i++) {
			uint64_t                                idx = first + done + i;
			Gtpb__V1__TelemetryRecord               r = GTPB__V1__TELEMETRY_RECORD__INIT;
			Gtpb__V1__TelemetryRecord__MetricsEntry me[2], *mep[2] = {&me[0], &me[1]};
			Gtpb__V1__TelemetryRecord__LabelsEntry  le, *lep[1] = {&le};
			char                                    host[32], idbuf[16];

			tc_key(keys[i], 64, (unsigned)(idx % ngpus), slash);
			gtpb__v1__telemetry_record__metrics_entry__init(&me[0]);
			gtpb__v1__telemetry_record__metrics_entry__init(&me[1]);
			gtpb__v1__telemetry_record__labels_entry__init(&le);
			me[0].key = "temperature";
			me[0].value = (double)idx;
			me[1].key = "power_draw";
			me[1].value = 100.5;
			le.key = "job";
			le.value = "train \"x\"";
			snprintf(host, sizeof(host), "host-%u", (unsigned)(idx % ngpus));
			snprintf(idbuf, sizeof(idbuf), "%u", (unsigned)(idx % ngpus));
			r.timestamp_ns = ts0 + (int64_t)idx * 1000;
			r.gpu_key = keys[i];
			r.hostname = host;
			r.gpu_index = 0;
			r.device = "nvidia0";
			r.uuid = keys[i];
			r.model = "NVIDIA H100 80GB HBM3";
			r.gpu_id = idbuf;
			r.n_metrics = 2;
			r.metrics = mep;
			r.n_labels = 1;
			r.labels = lep;
			gtpb__v1__message__init(&msgs[i]);
			msgs[i].key = keys[i];
			msgs[i].payload.len = gtpb__v1__telemetry_record__get_packed_size(&r);
			msgs[i].payload.data = malloc(msgs[i].payload.len);
			gtpb__v1__telemetry_record__pack(&r, msgs[i].payload.data);
			mp[i] = &msgs[i];
		}
		publish_raw(mq, mp, k);
		for (i = 0; i < k; i++)
			free(msgs[i].payload.data);
		free(msgs);
		free(mp);
		free(keys);
		done += k;
	}
}

void
tc_publish_record(const tc_svc *mq, const char *key, const Gtpb__V1__TelemetryRecord *r)
{
	Gtpb__V1__Message  m = GTPB__V1__MESSAGE__INIT;
	Gtpb__V1__Message *mp[1] = {&m};

	m.key = (char *)key;
	m.payload.len = gtpb__v1__telemetry_record__get_packed_size(r);
	m.payload.data = malloc(m.payload.len);
	assert_non_null(m.payload.data);
	gtpb__v1__telemetry_record__pack(r, m.payload.data);
	publish_raw(mq, mp, 1);
	free(m.payload.data);
}

void
tc_publish_garbage(const tc_svc *mq, const char *key)
{
	Gtpb__V1__Message  m = GTPB__V1__MESSAGE__INIT;
	Gtpb__V1__Message *mp[1] = {&m};
	uint8_t            junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};

	m.key = (char *)key;
	m.payload.data = junk;
	m.payload.len = sizeof(junk);
	publish_raw(mq, mp, 1);
}

int
tc_get(const tc_svc *s, const char *path, const char *accept, json_t **json, char **raw,
    size_t *rawlen)
{
	char   hdr[128];
	char  *body = NULL;
	size_t len = 0;
	int    st;

	hdr[0] = '\0';
	if (accept)
		snprintf(hdr, sizeof(hdr), "Accept: %s\r\n", accept);
	st = gt_test_http(s->http_port, "GET", path, accept ? hdr : NULL, NULL, 0, &body, &len);
	if (json)
		*json = body ? json_loadb(body, len, 0, NULL) : NULL;
	if (raw) {
		*raw = body;
		*rawlen = len;
	} else {
		free(body);
	}
	return st;
}

int64_t
tc_group_field(const tc_svc *mq, const char *field)
{
	json_t *j = NULL, *v;
	int64_t r = -1;

	if (tc_get(mq, "/stats", NULL, &j, NULL, NULL) == 200) {
		v = json_object_get(json_object_get(json_object_get(json_object_get(
		                                        json_object_get(j, "topics"), "gpu-telemetry"),
		                                        "groups"),
		                        "collectors"),
		    field);
		if (json_is_integer(v))
			r = json_integer_value(v);
	}
	json_decref(j);
	return r;
}

int64_t
tc_stat(const tc_svc *s, const char *field)
{
	json_t *j = NULL;
	int64_t v = -1;

	if (tc_get(s, "/stats", NULL, &j, NULL, NULL) == 200 && j) {
		json_t *x = json_object_get(j, field);

		if (json_is_integer(x))
			v = json_integer_value(x);
	}
	json_decref(j);
	return v;
}

int64_t
tc_wait_processed(const tc_svc *s, int64_t n, int64_t timeout_ns)
{
	int64_t end = gt_mono_ns() + timeout_ns, v = -1;

	while (gt_mono_ns() < end) {
		if ((v = tc_stat(s, "total_processed")) >= n)
			break;
		gt_sleep_ns(50 * GT_NS_PER_MS);
	}
	return v;
}

size_t
tc_count_lines(const char *dir, const char *stem)
{
	DIR           *d = opendir(dir);
	struct dirent *de;
	size_t         lines = 0, sl = strlen(stem);

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char   path[1024];
		char  *data;
		size_t len, i;

		if (strncmp(de->d_name, stem, sl) != 0)
			continue;
		/* exact stem, or a prefix ending in '@' (sanitised names end in a hash) */
		if (stem[sl - 1] == '@' ? strstr(de->d_name + sl, ".jsonl") == NULL :
		                          strncmp(de->d_name + sl, ".jsonl", 6) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((data = gt_test_read_file(path, &len)) == NULL)
			continue;
		for (i = 0; i < len; i++)
			lines += data[i] == '\n';
		free(data);
	}
	closedir(d);
	return lines;
}

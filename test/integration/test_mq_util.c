/* test_mq_util.c - helpers shared by the gt-mq integration tests. */
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gt/gt_time.h"
#include "gt_test.h"
#include "gtpb/v1/rpc.pb-c.h"
#include "test_mq_util.h"

/* Processes started by the running test, by value: a failed assertion longjmps out of the
 * test and its stack (with the tmq) is gone by the time the teardown runs. */
#define TMQ_LIVE_MAX 8
static struct {
	gt_proc       *proc;
	gt_rpc_client *cli;
} tmq_live[TMQ_LIVE_MAX];

static void
tmq_track(tmq *m, int add)
{
	for (int i = 0; i < TMQ_LIVE_MAX; i++) {
		if (add && tmq_live[i].proc == NULL) {
			tmq_live[i].proc = m->proc;
			tmq_live[i].cli = m->cli;
			return;
		}
		if (!add && tmq_live[i].proc == m->proc) {
			tmq_live[i].proc = NULL;
			tmq_live[i].cli = NULL;
			return;
		}
	}
}

int
tmq_cleanup(void **state)
{
	(void)state;
	for (int i = 0; i < TMQ_LIVE_MAX; i++) {
		if (tmq_live[i].proc == NULL)
			continue;
		gt_rpc_client_close(tmq_live[i].cli);
		gt_proc_free(tmq_live[i].proc); /* SIGKILLs a child still running */
		tmq_live[i].proc = NULL;
		tmq_live[i].cli = NULL;
	}
	return 0;
}

/* LeakSanitizer options for the children: an empty suppression list (nothing is excused). */
static const char *
tmq_lsan_env(void)
{
	static char env[300];
	const char *path = "/tmp/gt-mq-test-lsan.supp";
	FILE       *f;

	if (env[0] == 0 && (f = fopen(path, "w")) != NULL) {
		fputs("# no suppressions: gt_log frees its per-thread buffer at thread exit\n", f);
		fclose(f);
		snprintf(env, sizeof(env), "LSAN_OPTIONS=suppressions=%s", path);
	}
	return env;
}

void
tmq_start(tmq *m, const char *const *extra)
{
	const char *argv[64];
	size_t      n = 0;
	gt_err      rv;

	memset(m, 0, sizeof(*m));
	argv[n++] = "gt-mq";
	argv[n++] = "--port=0";
	argv[n++] = "--bind=127.0.0.1";
	argv[n++] = "--rpc-url=tcp://127.0.0.1:0";
	argv[n++] = "--pub-url=tcp://127.0.0.1:0";
	for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 62; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	{
		const char *env[] = {tmq_lsan_env(), NULL};
		assert_int_equal(gt_proc_start(&m->proc, argv, env), GT_OK);
	}
	rv = gt_proc_wait_ready(m->proc, 10 * GT_NS_PER_S);
	if (rv != GT_OK)
		gt_proc_free(m->proc);
	assert_int_equal(rv, GT_OK);
	m->http_port = (int)gt_proc_ready_int(m->proc, "http_port");
	m->rpc_url = gt_proc_ready_str(m->proc, "rpc_url");
	m->pub_url = gt_proc_ready_str(m->proc, "pub_url");
	assert_non_null(m->rpc_url);
	assert_true(m->http_port > 0);
	assert_int_equal(gt_rpc_client_open(&m->cli, m->rpc_url, NULL), GT_OK);
	tmq_track(m, 1);
	/* One round trip (any answer, UNAUTHENTICATED included), so the client's connection is
	 * complete: nng 1.5.2 leaks a dialer's pipe when the socket is closed while the dial is
	 * still negotiating, and a test that closes its client quickly saw LeakSanitizer reports. */
	{
		gt_rpc_stub             stub;
		Gtpb__V1__HealthRequest hr = GTPB__V1__HEALTH_REQUEST__INIT;
		ProtobufCMessage       *out = NULL;

		gt_rpc_stub_init(&stub, m->cli, &gtpb__v1__message_queue__descriptor, 5 * GT_NS_PER_S);
		if (gt_rpc_call_by_name(&stub, "Health", &hr.base, &out) == GT_OK)
			protobuf_c_message_free_unpacked(out, NULL);
	}
}

static void
tmq_release(tmq *m)
{
	tmq_track(m, 0);
	gt_rpc_client_close(m->cli);
	gt_proc_free(m->proc);
	free(m->rpc_url);
	free(m->pub_url);
	memset(m, 0, sizeof(*m));
}

void
tmq_stop(tmq *m)
{
	int st;

	gt_rpc_client_close(m->cli);
	m->cli = NULL;
	st = gt_proc_stop(m->proc, SIGTERM, 10 * GT_NS_PER_S);
	tmq_release(m);
	assert_int_equal(st, 0);
}

void
tmq_kill(tmq *m)
{
	gt_proc_stop(m->proc, SIGKILL, 10 * GT_NS_PER_S);
	tmq_release(m);
}

int64_t tmq_timeout_ns = 10 * GT_NS_PER_S;

gt_rpc_code
tmq_publish(tmq *m, const char *topic, const char *producer, uint64_t seq, uint64_t first, size_t n,
            unsigned nkeys, size_t payload_pad, Gtpb__V1__PublishResponse **out)
{
	Gtpb__V1__PublishRequest req = GTPB__V1__PUBLISH_REQUEST__INIT;
	Gtpb__V1__Message       *msgs = calloc(n, sizeof(*msgs));
	Gtpb__V1__Message      **mp = calloc(n, sizeof(*mp));
	char                    *keys = calloc(n, 32);
	char                    *pay = calloc(n, 48 + payload_pad);
	gt_rpc_stub              stub;
	ProtobufCMessage        *resp = NULL;

	assert_non_null(msgs);
	for (size_t i = 0; i < n; i++) {
		gtpb__v1__message__init(&msgs[i]);
		snprintf(keys + 32 * i, 32, "host-%u/gpu",
		         (unsigned)((first + i) % (nkeys ? nkeys : 1)));
		int l = snprintf(pay + (48 + payload_pad) * i, 48, "%llu|",
		                 (unsigned long long)(first + i));
		memset(pay + (48 + payload_pad) * i + l, 'x', payload_pad);
		msgs[i].key = keys + 32 * i;
		msgs[i].payload.data = (uint8_t *)pay + (48 + payload_pad) * i;
		msgs[i].payload.len = (size_t)l + payload_pad;
		mp[i] = &msgs[i];
	}
	req.topic = (char *)topic;
	req.producer_id = (char *)(producer ? producer : "");
	req.sequence = seq;
	req.n_messages = n;
	req.messages = mp;
	gt_rpc_stub_init(&stub, m->cli, &gtpb__v1__message_queue__descriptor, tmq_timeout_ns);
	if (gt_rpc_call_by_name(&stub, "Publish", &req.base, &resp) == GT_OK) {
		if (out)
			*out = (Gtpb__V1__PublishResponse *)resp;
		else
			protobuf_c_message_free_unpacked(resp, NULL);
	} else if (out) {
		*out = NULL;
	}
	free(msgs);
	free(mp);
	free(keys);
	free(pay);
	return stub.status.code;
}

gt_rpc_code
tmq_fetch(tmq *m, const char *topic, const char *group, const char *consumer, uint32_t max,
          uint32_t wait_ms, Gtpb__V1__FetchResponse **out)
{
	Gtpb__V1__FetchRequest req = GTPB__V1__FETCH_REQUEST__INIT;
	gt_rpc_stub            stub;
	ProtobufCMessage      *resp = NULL;

	req.topic = (char *)topic;
	req.group = (char *)group;
	req.consumer = (char *)consumer;
	req.max_messages = max;
	req.wait_ms = wait_ms;
	*out = NULL;
	gt_rpc_stub_init(&stub, m->cli, &gtpb__v1__message_queue__descriptor,
	                 (int64_t)wait_ms * GT_NS_PER_MS + 10 * GT_NS_PER_S);
	if (gt_rpc_call_by_name(&stub, "Fetch", &req.base, &resp) == GT_OK)
		*out = (Gtpb__V1__FetchResponse *)resp;
	return stub.status.code;
}

gt_rpc_code
tmq_ack_ids(tmq *m, const char *topic, const char *group, Gtpb__V1__DeliveryId **ids, size_t n,
            uint32_t *acked)
{
	Gtpb__V1__AckRequest req = GTPB__V1__ACK_REQUEST__INIT;
	gt_rpc_stub          stub;
	ProtobufCMessage    *resp = NULL;

	req.topic = (char *)topic;
	req.group = (char *)group;
	req.consumer = (char *)"c";
	req.n_ids = n;
	req.ids = ids;
	gt_rpc_stub_init(&stub, m->cli, &gtpb__v1__message_queue__descriptor, 10 * GT_NS_PER_S);
	if (gt_rpc_call_by_name(&stub, "Ack", &req.base, &resp) == GT_OK) {
		if (acked)
			*acked = ((Gtpb__V1__AckResponse *)resp)->acked;
		protobuf_c_message_free_unpacked(resp, NULL);
	}
	return stub.status.code;
}

gt_rpc_code
tmq_ack(tmq *m, const char *topic, const char *group, const char *consumer,
        const Gtpb__V1__FetchResponse *r, uint32_t *acked)
{
	Gtpb__V1__DeliveryId **ids = calloc(r->n_deliveries + 1, sizeof(*ids));
	gt_rpc_code            c;

	(void)consumer;
	for (size_t i = 0; i < r->n_deliveries; i++)
		ids[i] = r->deliveries[i]->id;
	c = tmq_ack_ids(m, topic, group, ids, r->n_deliveries, acked);
	free(ids);
	return c;
}

int64_t
tmq_payload_seq(const Gtpb__V1__Message *msg)
{
	char   buf[32];
	size_t n = msg->payload.len < 31 ? msg->payload.len : 31;

	memcpy(buf, msg->payload.data, n);
	buf[n] = 0;
	if (strchr(buf, '|') == NULL)
		return -1;
	return strtoll(buf, NULL, 10);
}

int
tmq_http(tmq *m, const char *path, char **body)
{
	return gt_test_http(m->http_port, "GET", path, NULL, NULL, 0, body, NULL);
}

int64_t
tmq_group_stat(tmq *m, const char *topic, const char *group, const char *field)
{
	char        *body = NULL;
	json_t      *root, *v;
	json_error_t err;
	int64_t      r = -1;

	if (tmq_http(m, "/stats", &body) != 200) {
		free(body);
		return -1;
	}
	root = json_loads(body, 0, &err);
	free(body);
	if (root == NULL)
		return -1;
	v = json_object_get(json_object_get(root, "topics"), topic);
	if (group != NULL)
		v = json_object_get(json_object_get(v, "groups"), group);
	v = json_object_get(v, field);
	if (json_is_integer(v))
		r = json_integer_value(v);
	json_decref(root);
	return r;
}

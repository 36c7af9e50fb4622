/* test_gt_rpc.c - RPC over nng: round trips, concurrency, failures, deadlines, auth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_rpc.h"
#include "gt/gt_time.h"
#include "gtpb/v1/mq.pb-c.h"
#include "gtpb/v1/rpc.pb-c.h"
#include "gt_echo.h"
#include "gtpb/v1/test.pb-c.h"

typedef struct fixture {
	gt_rpc_server *srv;
	gt_rpc_client *cli;
	char           url[64];
} fixture;

static int
setup_token(void **state, const char *token)
{
	fixture          *f = calloc(1, sizeof(*f));
	gt_rpc_server_cfg scfg = {.url = "tcp://127.0.0.1:0", .contexts = 32, .workers = 4, .token = token};
	gt_rpc_client_cfg ccfg = {.token = token};

	assert_int_equal(gt_rpc_server_new(&f->srv, &scfg), GT_OK);
	assert_int_equal(gt_rpc_server_add(f->srv, &gt_echo_service.base), GT_OK);
	assert_int_equal(gt_rpc_server_start(f->srv), GT_OK);
	assert_true(gt_rpc_server_port(f->srv) > 0);
	snprintf(f->url, sizeof(f->url), "tcp://127.0.0.1:%d", gt_rpc_server_port(f->srv));
	assert_int_equal(gt_rpc_client_open(&f->cli, f->url, &ccfg), GT_OK);
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	return setup_token(state, NULL);
}

static int
setup_auth(void **state)
{
	return setup_token(state, "s3cret");
}

static int
teardown(void **state)
{
	fixture *f = *state;

	gt_rpc_client_close(f->cli);
	gt_rpc_server_free(f->srv);
	free(f);
	return 0;
}

static gt_err
call_echo(gt_rpc_client *cli, const char *text, uint32_t sleep_ms, int fail, int64_t timeout,
    gt_rpc_status *st, char **reply)
{
	gt_rpc_stub             stub;
	Gtpb__V1__EchoRequest   req = GTPB__V1__ECHO_REQUEST__INIT;
	Gtpb__V1__EchoResponse *resp = NULL;
	gt_err                  rv;

	gt_rpc_stub_init(&stub, cli, &gtpb__v1__echo__descriptor, timeout);
	req.data.data = (uint8_t *)text;
	req.data.len = strlen(text);
	req.sleep_ms = sleep_ms;
	req.fail_code = fail;
	rv = gt_rpc_call_by_name(&stub, "Echo", &req.base, (ProtobufCMessage **)&resp);
	if (st)
		*st = stub.status;
	if (reply)
		*reply = resp ? strndup((char *)resp->data.data, resp->data.len) : NULL;
	if (resp)
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	return rv;
}

static void
test_rpc_round_trip(void **state)
{
	fixture      *f = *state;
	char         *reply = NULL;
	gt_rpc_status st;

	assert_int_equal(call_echo(f->cli, "hello", 0, 0, 5 * GT_NS_PER_S, &st, &reply), GT_OK);
	assert_int_equal(st.code, GT_RPC_OK);
	assert_string_equal(reply, "hello");
	free(reply);
}

/* A reply the handler packs in place reads like any other; large requests (unpacked into an
 * arena) leave nothing behind for the next call on the same context. */
static void
test_rpc_reply_packed_in_place(void **state)
{
	fixture      *f = *state;
	char         *reply = NULL, *big = malloc(100001);
	gt_rpc_status st;

	assert_non_null(big);
	memcpy(big, "packed:", 7);
	memset(big + 7, 'x', 100000 - 7);
	big[100000] = '\0';
	for (int i = 0; i < 3; i++) {
		assert_int_equal(call_echo(f->cli, "packed:hello", 0, 0, 5 * GT_NS_PER_S, &st, &reply),
		                 GT_OK);
		assert_int_equal(st.code, GT_RPC_OK);
		assert_string_equal(reply, "packed:hello");
		free(reply);
		assert_int_equal(call_echo(f->cli, big, 0, 0, 5 * GT_NS_PER_S, &st, &reply), GT_OK);
		assert_string_equal(reply, big);
		free(reply);
		big[7] = (char)('a' + i); /* a large request through the closure path too */
		assert_int_equal(call_echo(f->cli, big + 1, 0, 0, 5 * GT_NS_PER_S, &st, &reply), GT_OK);
		assert_string_equal(reply, big + 1);
		free(reply);
	}
	free(big);
}

/* The generated client stub with a closure, as other languages' stubs would be used. */
static void
on_echo(const Gtpb__V1__EchoResponse *resp, void *data)
{
	char **out = data;
	*out = resp ? strndup((char *)resp->data.data, resp->data.len) : NULL;
}

static void
test_rpc_generated_stub_closure(void **state)
{
	fixture              *f = *state;
	gt_rpc_stub           stub;
	Gtpb__V1__EchoRequest req = GTPB__V1__ECHO_REQUEST__INIT;
	char                 *got = NULL;

	gt_rpc_stub_init(&stub, f->cli, &gtpb__v1__echo__descriptor, 5 * GT_NS_PER_S);
	req.data.data = (uint8_t *)"via stub";
	req.data.len = 8;
	gtpb__v1__echo__echo(&stub.base, &req, on_echo, &got);
	assert_int_equal(stub.status.code, GT_RPC_OK);
	assert_non_null(got);
	assert_string_equal(got, "via stub");
	free(got);
	/* A failing call runs the closure with NULL and leaves the status in the stub. */
	req.fail_code = GT_RPC_NOT_FOUND;
	got = (char *)1;
	gtpb__v1__echo__echo(&stub.base, &req, on_echo, &got);
	assert_null(got);
	assert_int_equal(stub.status.code, GT_RPC_NOT_FOUND);
	assert_string_equal(stub.status.message, "asked to fail with 5");
}

typedef struct worker_arg {
	gt_rpc_client *cli;
	int            id;
	int            ok;
} worker_arg;

static void *
concurrent_worker(void *p)
{
	worker_arg *a = p;
	char        text[64], *reply;

	for (int i = 0; i < 50; i++) {
		snprintf(text, sizeof(text), "client-%d-call-%d", a->id, i);
		reply = NULL;
		if (call_echo(a->cli, text, (uint32_t)(i % 3), 0, 10 * GT_NS_PER_S, NULL, &reply) ==
		        GT_OK &&
		    reply != NULL && strcmp(reply, text) == 0)
			a->ok++;
		free(reply);
	}
	return NULL;
}

static void
test_rpc_16_concurrent_clients(void **state)
{
	fixture   *f = *state;
	pthread_t  th[16];
	worker_arg args[16];

	/* Half share the fixture's client (one socket, many contexts); half have their own. */
	for (int i = 0; i < 16; i++) {
		args[i].id = i;
		args[i].ok = 0;
		args[i].cli = f->cli;
		if (i % 2)
			assert_int_equal(gt_rpc_client_open(&args[i].cli, f->url, NULL), GT_OK);
		pthread_create(&th[i], NULL, concurrent_worker, &args[i]);
	}
	for (int i = 0; i < 16; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].ok, 50);
		if (i % 2)
			gt_rpc_client_close(args[i].cli);
	}
}

static void
test_rpc_batch_of_1000_records(void **state)
{
	fixture                  *f = *state;
	Gtpb__V1__TelemetryBatch  batch = GTPB__V1__TELEMETRY_BATCH__INIT;
	Gtpb__V1__TelemetryRecord recs[1000], *ptrs[1000];
	Gtpb__V1__BatchAck       *ack = NULL;
	gt_rpc_stub               stub;

	for (int i = 0; i < 1000; i++) {
		gtpb__v1__telemetry_record__init(&recs[i]);
		recs[i].gpu_key = "host-1/0";
		recs[i].timestamp_ns = i;
		ptrs[i] = &recs[i];
	}
	batch.n_records = 1000;
	batch.records = ptrs;
	gt_rpc_stub_init(&stub, f->cli, &gtpb__v1__echo__descriptor, 5 * GT_NS_PER_S);
	assert_int_equal(gt_rpc_call_by_name(&stub, "Ingest", &batch.base, (ProtobufCMessage **)&ack), GT_OK);
	assert_int_equal(ack->count, 1000);
	protobuf_c_message_free_unpacked(&ack->base, NULL);
}

static void
test_rpc_handler_status_passes_through(void **state)
{
	fixture      *f = *state;
	gt_rpc_status st;

	assert_int_equal(call_echo(f->cli, "x", 0, GT_RPC_RESOURCE_EXHAUSTED, GT_NS_PER_S * 5, &st, NULL), GT_EFULL);
	assert_int_equal(st.code, GT_RPC_RESOURCE_EXHAUSTED);
	assert_string_equal(st.message, "asked to fail with 8");
}

/* Raw REQ socket: send arbitrary bytes, get the decoded RpcResponse. */
static Gtpb__V1__RpcResponse *
raw_call(const char *url, const void *data, size_t len)
{
	nng_socket             s;
	nng_msg               *m;
	Gtpb__V1__RpcResponse *resp = NULL;

	assert_int_equal(nng_req0_open(&s), 0);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 5000);
	assert_int_equal(nng_dial(s, url, NULL, 0), 0);
	assert_int_equal(nng_msg_alloc(&m, 0), 0);
	nng_msg_append(m, data, len);
	assert_int_equal(nng_sendmsg(s, m, 0), 0);
	assert_int_equal(nng_recvmsg(s, &m, 0), 0);
	resp = gtpb__v1__rpc_response__unpack(NULL, nng_msg_len(m), nng_msg_body(m));
	nng_msg_free(m);
	nng_close(s);
	assert_non_null(resp);
	return resp;
}

static Gtpb__V1__RpcResponse *
raw_envelope(const char *url, const char *method, const void *payload, size_t plen, const char *token)
{
	Gtpb__V1__RpcRequest req = GTPB__V1__RPC_REQUEST__INIT;
	uint8_t              buf[4096];
	size_t               n;

	req.method = (char *)method;
	req.payload.data = (uint8_t *)payload;
	req.payload.len = plen;
	req.request_id = 77;
	if (token)
		req.token = (char *)token;
	n = gtpb__v1__rpc_request__pack(&req, buf);
	return raw_call(url, buf, n);
}

static void
test_rpc_unknown_method_unimplemented(void **state)
{
	fixture               *f = *state;
	Gtpb__V1__RpcResponse *r;
	gt_rpc_stub            stub;
	ProtobufCMessage      *out;

	r = raw_envelope(f->url, "gtpb.v1.Echo/Nope", NULL, 0, NULL);
	assert_int_equal(r->code, GT_RPC_UNIMPLEMENTED);
	assert_int_equal(r->request_id, 77);
	assert_non_null(strstr(r->message, "gtpb.v1.Echo/Nope"));
	protobuf_c_message_free_unpacked(&r->base, NULL);
	r = raw_envelope(f->url, "no.Such/Service", NULL, 0, NULL);
	assert_int_equal(r->code, GT_RPC_UNIMPLEMENTED);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	r = raw_envelope(f->url, "noslash", NULL, 0, NULL);
	assert_int_equal(r->code, GT_RPC_UNIMPLEMENTED);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	/* A client calling a service the server does not have. */
	gt_rpc_stub_init(&stub, f->cli, &gtpb__v1__message_queue__descriptor, 5 * GT_NS_PER_S);
	{
		Gtpb__V1__TopicsRequest treq = GTPB__V1__TOPICS_REQUEST__INIT;
		assert_int_equal(gt_rpc_call_by_name(&stub, "Topics", &treq.base, &out), GT_ENOTSUP);
		assert_null(out);
		assert_int_equal(stub.status.code, GT_RPC_UNIMPLEMENTED);
	}
}

static void
test_rpc_garbage_invalid_argument_and_keeps_serving(void **state)
{
	fixture               *f = *state;
	Gtpb__V1__RpcResponse *r;
	uint8_t                junk[512];
	char                  *reply = NULL;
	unsigned               seed = 12345;

	for (int round = 0; round < 50; round++) {
		size_t n = 1 + (size_t)(rand_r(&seed) % sizeof(junk));
		for (size_t i = 0; i < n; i++)
			junk[i] = (uint8_t)rand_r(&seed);
		junk[0] = 0xff; /* field 31, wire type 7: never valid */
		r = raw_call(f->url, junk, n);
		assert_int_equal(r->code, GT_RPC_INVALID_ARGUMENT);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	/* Truncated envelope: a valid one cut short. */
	{
		Gtpb__V1__RpcRequest req = GTPB__V1__RPC_REQUEST__INIT;
		uint8_t              buf[256];
		size_t               n;
		req.method = "gtpb.v1.Echo/Echo";
		req.payload.data = (uint8_t *)"0123456789";
		req.payload.len = 10;
		n = gtpb__v1__rpc_request__pack(&req, buf);
		for (size_t cut = n - 1; cut > n - 8; cut--) {
			r = raw_call(f->url, buf, cut);
			assert_int_equal(r->code, GT_RPC_INVALID_ARGUMENT);
			protobuf_c_message_free_unpacked(&r->base, NULL);
		}
	}
	/* Valid envelope, payload that is not an EchoRequest. */
	r = raw_envelope(f->url, "gtpb.v1.Echo/Echo", "\xff\xff\xff", 3, NULL);
	assert_int_equal(r->code, GT_RPC_INVALID_ARGUMENT);
	assert_non_null(strstr(r->message, "EchoRequest"));
	protobuf_c_message_free_unpacked(&r->base, NULL);
	/* Empty message. */
	r = raw_call(f->url, "", 0);
	assert_int_equal(r->code, GT_RPC_INVALID_ARGUMENT);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_int_equal(call_echo(f->cli, "still here", 0, 0, 5 * GT_NS_PER_S, NULL, &reply), GT_OK);
	assert_string_equal(reply, "still here");
	free(reply);
}

static void
test_rpc_slow_handler_deadline_exceeded(void **state)
{
	fixture      *f = *state;
	gt_rpc_status st;
	int64_t       t0 = gt_mono_ns(), took;
	char         *reply = NULL;

	assert_int_equal(call_echo(f->cli, "slow", 1500, 0, 200 * GT_NS_PER_MS, &st, NULL), GT_ETIMEDOUT);
	took = gt_mono_ns() - t0;
	assert_int_equal(st.code, GT_RPC_DEADLINE_EXCEEDED);
	assert_true(took < 1200 * GT_NS_PER_MS);
	/* The client and its pooled context keep working afterwards. */
	assert_int_equal(call_echo(f->cli, "after", 0, 0, 5 * GT_NS_PER_S, &st, &reply), GT_OK);
	assert_string_equal(reply, "after");
	free(reply);
}

static void
test_rpc_no_server_unavailable_by_deadline(void **state)
{
	gt_rpc_client *cli;
	gt_rpc_status  st;
	char           url[64];
	(void)state;

	/* Nothing listens there: the call ends at its deadline, it never hangs. */
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", 1);
	assert_int_equal(gt_rpc_client_open(&cli, url, NULL), GT_OK);
	assert_int_not_equal(call_echo(cli, "x", 0, 0, 300 * GT_NS_PER_MS, &st, NULL), GT_OK);
	assert_int_equal(st.code, GT_RPC_DEADLINE_EXCEEDED);
	gt_rpc_client_close(cli);
}

static void
test_rpc_token_required(void **state)
{
	fixture               *f = *state;
	gt_rpc_client         *bad;
	gt_rpc_client_cfg      wrong = {.token = "nope"};
	gt_rpc_status          st;
	char                  *reply = NULL;
	Gtpb__V1__RpcResponse *r;

	assert_int_equal(call_echo(f->cli, "authed", 0, 0, 5 * GT_NS_PER_S, &st, &reply), GT_OK);
	assert_string_equal(reply, "authed");
	free(reply);
	assert_int_equal(gt_rpc_client_open(&bad, f->url, &wrong), GT_OK);
	assert_int_equal(call_echo(bad, "x", 0, 0, 5 * GT_NS_PER_S, &st, NULL), GT_EAUTH);
	assert_int_equal(st.code, GT_RPC_UNAUTHENTICATED);
	assert_string_equal(st.message, "wrong token");
	gt_rpc_client_close(bad);
	r = raw_envelope(f->url, "gtpb.v1.Echo/Echo", NULL, 0, NULL);
	assert_int_equal(r->code, GT_RPC_UNAUTHENTICATED);
	assert_string_equal(r->message, "missing token");
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void
test_rpc_ipc_and_inproc_transports(void **state)
{
	const char *urls[] = {"ipc:///tmp/gt-test-rpc.sock", "inproc://gt-test-rpc"};
	(void)state;

	for (size_t i = 0; i < 2; i++) {
		gt_rpc_server    *srv;
		gt_rpc_client    *cli;
		gt_rpc_server_cfg scfg = {.url = urls[i]};
		char             *reply = NULL;

		assert_int_equal(gt_rpc_server_new(&srv, &scfg), GT_OK);
		assert_int_equal(gt_rpc_server_add(srv, &gt_echo_service.base), GT_OK);
		assert_int_equal(gt_rpc_server_start(srv), GT_OK);
		assert_int_equal(gt_rpc_client_open(&cli, urls[i], NULL), GT_OK);
		assert_int_equal(call_echo(cli, urls[i], 0, 0, 5 * GT_NS_PER_S, NULL, &reply), GT_OK);
		assert_string_equal(reply, urls[i]);
		free(reply);
		gt_rpc_client_close(cli);
		gt_rpc_server_free(srv);
	}
}

static void
test_rpc_listen_conflict_is_an_error(void **state)
{
	fixture          *f = *state;
	gt_rpc_server    *srv;
	gt_rpc_server_cfg scfg = {.url = f->url};

	assert_int_equal(gt_rpc_server_new(&srv, &scfg), GT_OK);
	assert_int_equal(gt_rpc_server_add(srv, &gt_echo_service.base), GT_OK);
	assert_int_equal(gt_rpc_server_start(srv), GT_EEXIST);
	gt_rpc_server_free(srv);
}

static void
test_rpc_dial_url(void **state)
{
	char b[128];
	(void)state;

	gt_rpc_dial_url(b, sizeof(b), "tcp://0.0.0.0:0", 40111);
	assert_string_equal(b, "tcp://127.0.0.1:40111");
	gt_rpc_dial_url(b, sizeof(b), "tcp://*:0", 5);
	assert_string_equal(b, "tcp://127.0.0.1:5");
	gt_rpc_dial_url(b, sizeof(b), "tcp://:9091", 9091);
	assert_string_equal(b, "tcp://127.0.0.1:9091");
	gt_rpc_dial_url(b, sizeof(b), "tcp://10.0.0.5:0", 7);
	assert_string_equal(b, "tcp://10.0.0.5:7");
	gt_rpc_dial_url(b, sizeof(b), "tcp://[::1]:0", 8);
	assert_string_equal(b, "tcp://[::1]:8");
	gt_rpc_dial_url(b, sizeof(b), "ipc:///tmp/gt.sock", 9);
	assert_string_equal(b, "ipc:///tmp/gt.sock");
	gt_rpc_dial_url(b, sizeof(b), "tcp://127.0.0.1:0", 0);
	assert_string_equal(b, "tcp://127.0.0.1:0"); /* nothing bound: as given */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rpc_dial_url),
	    cmocka_unit_test_setup_teardown(test_rpc_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rpc_reply_packed_in_place, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rpc_generated_stub_closure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rpc_16_concurrent_clients, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rpc_batch_of_1000_records, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rpc_handler_status_passes_through, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rpc_unknown_method_unimplemented, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rpc_garbage_invalid_argument_and_keeps_serving, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rpc_slow_handler_deadline_exceeded, setup, teardown),
	    cmocka_unit_test(test_rpc_no_server_unavailable_by_deadline),
	    cmocka_unit_test_setup_teardown(test_rpc_token_required, setup_auth, teardown),
	    cmocka_unit_test(test_rpc_ipc_and_inproc_transports),
	    cmocka_unit_test_setup_teardown(test_rpc_listen_conflict_is_an_error, setup, teardown),
	};
	return cmocka_run_group_tests_name("unit.common.rpc", tests, NULL, NULL);
}

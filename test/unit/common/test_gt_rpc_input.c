/* test_gt_rpc_input.c - the RPC server against hostile requests: negative deadlines, method
 * names with a NUL or invalid UTF-8, payload strings that are not UTF-8, status messages that
 * quote raw request bytes, and a deferred call whose client goes away (gt_rpc_cancelled). */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_pb.h"
#include "gt/gt_rpc.h"
#include "gt/gt_time.h"
#include "gt/gt_utf8.h"
#include "gtpb/v1/rpc.pb-c.h"
#include "gtpb/v1/test.pb-c.h"

#define FAIL_DEFER (-1) /* EchoRequest.fail_code asking the handler to park the call */

static atomic_int runs; /* handler invocations */
/* the parked call */
static _Atomic(void *)                parked_data;
static Gtpb__V1__EchoResponse_Closure parked_closure;

static void
in_echo(Gtpb__V1__Echo_Service *svc, const Gtpb__V1__EchoRequest *in,
        Gtpb__V1__EchoResponse_Closure closure, void *data)
{
	Gtpb__V1__EchoResponse out = GTPB__V1__ECHO_RESPONSE__INIT;

	(void)svc;
	atomic_fetch_add(&runs, 1);
	if (in->fail_code == FAIL_DEFER) {
		parked_closure = closure;
		atomic_store(&parked_data, data);
		return; /* answered later by the test */
	}
	if (in->fail_code) {
		/* quotes request bytes (a `bytes` field: not checked) into the status message, as a
		 * service reporting "no gpu <id>" would */
		gt_rpc_fail(data, (gt_rpc_code)in->fail_code, "no such thing \"%.*s\"",
		            (int)in->data.len, (const char *)in->data.data);
		closure(NULL, data);
		return;
	}
	out.data = in->data;
	closure(&out, data);
}

static void
in_ingest(Gtpb__V1__Echo_Service *svc, const Gtpb__V1__TelemetryBatch *in,
          Gtpb__V1__BatchAck_Closure closure, void *data)
{
	Gtpb__V1__BatchAck out = GTPB__V1__BATCH_ACK__INIT;

	(void)svc;
	atomic_fetch_add(&runs, 1);
	out.count = (uint32_t)in->n_records;
	closure(&out, data);
}

static Gtpb__V1__Echo_Service in_service = GTPB__V1__ECHO__INIT(in_);

typedef struct fixture {
	gt_rpc_server *srv;
	char           url[64];
} fixture;

static int
setup(void **state)
{
	fixture          *f = calloc(1, sizeof(*f));
	gt_rpc_server_cfg scfg = {.url = "tcp://127.0.0.1:0", .contexts = 16, .workers = 2};

	assert_int_equal(gt_rpc_server_new(&f->srv, &scfg), GT_OK);
	assert_int_equal(gt_rpc_server_add(f->srv, &in_service.base), GT_OK);
	assert_int_equal(gt_rpc_server_start(f->srv), GT_OK);
	snprintf(f->url, sizeof(f->url), "tcp://127.0.0.1:%d", gt_rpc_server_port(f->srv));
	atomic_store(&runs, 0);
	atomic_store(&parked_data, NULL);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fixture *f = *state;

	gt_rpc_server_free(f->srv);
	free(f);
	return 0;
}

/* An RpcRequest built by hand: method of any bytes (mlen), any deadline_ms. */
static size_t
envelope(uint8_t *buf, const char *method, size_t mlen, const uint8_t *payload, size_t plen,
         int64_t deadline_ms)
{
	size_t n = 0;

	buf[n++] = 0x0a;
	n += gt_pb_put_varint(buf + n, mlen);
	memcpy(buf + n, method, mlen);
	n += mlen;
	buf[n++] = 0x12;
	n += gt_pb_put_varint(buf + n, plen);
	if (plen)
		memcpy(buf + n, payload, plen);
	n += plen;
	if (deadline_ms != 0) {
		buf[n++] = 0x18;
		n += gt_pb_put_varint(buf + n, (uint64_t)deadline_ms);
	}
	buf[n++] = 0x20; /* request_id 9 */
	buf[n++] = 9;
	return n;
}

static nng_socket
raw_open(const char *url)
{
	nng_socket s;

	assert_int_equal(nng_req0_open(&s), 0);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 5000);
	assert_int_equal(nng_dial(s, url, NULL, 0), 0);
	return s;
}

static Gtpb__V1__RpcResponse *
raw_call(const char *url, const void *data, size_t len)
{
	nng_socket             s = raw_open(url);
	nng_msg               *m;
	Gtpb__V1__RpcResponse *resp;

	assert_int_equal(nng_msg_alloc(&m, 0), 0);
	nng_msg_append(m, data, len);
	assert_int_equal(nng_sendmsg(s, m, 0), 0);
	assert_int_equal(nng_recvmsg(s, &m, 0), 0);
	resp = gtpb__v1__rpc_response__unpack(NULL, nng_msg_len(m), nng_msg_body(m));
	nng_msg_free(m);
	nng_close(s);
	assert_non_null(resp);
	assert_int_equal(resp->request_id, 9);
	assert_true(gt_utf8_valid(resp->message, strlen(resp->message)));
	return resp;
}

static size_t
pack_echo(uint8_t *buf, const char *data, size_t len, int fail)
{
	Gtpb__V1__EchoRequest req = GTPB__V1__ECHO_REQUEST__INIT;

	req.data.data = (uint8_t *)data;
	req.data.len = len;
	req.fail_code = fail;
	return gtpb__v1__echo_request__pack(&req, buf);
}

static void
test_rpc_negative_deadline_is_not_run(void **state)
{
	fixture               *f = *state;
	const int64_t          deadlines[] = {-1, -5000, INT64_MIN};
	uint8_t                pl[64], buf[256];
	size_t                 pn = pack_echo(pl, "x", 1, 0), n;
	Gtpb__V1__RpcResponse *r;

	for (size_t i = 0; i < sizeof(deadlines) / sizeof(deadlines[0]); i++) {
		n = envelope(buf, "gtpb.v1.Echo/Echo", 17, pl, pn, deadlines[i]);
		r = raw_call(f->url, buf, n);
		assert_int_equal(r->code, GT_RPC_DEADLINE_EXCEEDED);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	assert_int_equal(atomic_load(&runs), 0);
	/* a positive budget and no budget still run */
	n = envelope(buf, "gtpb.v1.Echo/Echo", 17, pl, pn, 5000);
	r = raw_call(f->url, buf, n);
	assert_int_equal(r->code, GT_RPC_OK);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	n = envelope(buf, "gtpb.v1.Echo/Echo", 17, pl, pn, 0);
	r = raw_call(f->url, buf, n);
	assert_int_equal(r->code, GT_RPC_OK);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_int_equal(atomic_load(&runs), 2);
}

static void
test_rpc_method_with_nul_or_bad_utf8_not_dispatched(void **state)
{
	fixture               *f = *state;
	uint8_t                pl[64], buf[256];
	size_t                 pn = pack_echo(pl, "x", 1, 0), n;
	Gtpb__V1__RpcResponse *r;

	/* "Echo\0x" must not dispatch as "Echo" */
	n = envelope(buf, "gtpb.v1.Echo/Echo\0x", 19, pl, pn, 0);
	r = raw_call(f->url, buf, n);
	assert_int_equal(r->code, GT_RPC_UNIMPLEMENTED);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	n = envelope(buf, "gtpb.v1.Echo/Echo\0", 18, pl, pn, 0);
	r = raw_call(f->url, buf, n);
	assert_int_equal(r->code, GT_RPC_UNIMPLEMENTED);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	/* a method name that is not UTF-8: the envelope is not a valid RpcRequest */
	n = envelope(buf, "gtpb.v1.Echo/Ech\xff", 17, pl, pn, 0);
	r = raw_call(f->url, buf, n);
	assert_int_equal(r->code, GT_RPC_INVALID_ARGUMENT);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	n = envelope(buf,
	             "gtpb.v1.\xc0\xaf"
	             "Echo/Echo",
	             19, pl, pn, 0);
	r = raw_call(f->url, buf, n);
	assert_int_equal(r->code, GT_RPC_INVALID_ARGUMENT);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_int_equal(atomic_load(&runs), 0);
}

static size_t
pack_batch(uint8_t *buf, const char *gpu_key, const char *label_v)
{
	Gtpb__V1__TelemetryBatch               batch = GTPB__V1__TELEMETRY_BATCH__INIT;
	Gtpb__V1__TelemetryRecord              rec = GTPB__V1__TELEMETRY_RECORD__INIT;
	Gtpb__V1__TelemetryRecord__LabelsEntry lab = GTPB__V1__TELEMETRY_RECORD__LABELS_ENTRY__INIT;
	Gtpb__V1__TelemetryRecord__LabelsEntry *labs[1] = {&lab};
	Gtpb__V1__TelemetryRecord              *recs[1] = {&rec};

	rec.gpu_key = (char *)gpu_key;
	lab.key = "rack";
	lab.value = (char *)label_v;
	rec.n_labels = 1;
	rec.labels = labs;
	batch.n_records = 1;
	batch.records = recs;
	return gtpb__v1__telemetry_batch__pack(&batch, buf);
}

static void
test_rpc_payload_strings_must_be_utf8(void **state)
{
	fixture               *f = *state;
	uint8_t                pl[256], buf[512];
	size_t                 pn, n;
	Gtpb__V1__RpcResponse *r;

	pn = pack_batch(pl, "host/0", "b\xc3\xa9ta");
	n = envelope(buf, "gtpb.v1.Echo/Ingest", 19, pl, pn, 0);
	r = raw_call(f->url, buf, n);
	assert_int_equal(r->code, GT_RPC_OK);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_int_equal(atomic_load(&runs), 1);
	/* a nested message's string */
	pn = pack_batch(pl, "host\xff/0", "a");
	n = envelope(buf, "gtpb.v1.Echo/Ingest", 19, pl, pn, 0);
	r = raw_call(f->url, buf, n);
	assert_int_equal(r->code, GT_RPC_INVALID_ARGUMENT);
	assert_non_null(strstr(r->message, "gpu_key"));
	protobuf_c_message_free_unpacked(&r->base, NULL);
	/* a map value, three levels down (surrogate) */
	pn = pack_batch(pl, "host/0", "\xed\xb0\x80");
	n = envelope(buf, "gtpb.v1.Echo/Ingest", 19, pl, pn, 0);
	r = raw_call(f->url, buf, n);
	assert_int_equal(r->code, GT_RPC_INVALID_ARGUMENT);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_int_equal(atomic_load(&runs), 1);
}

static void
test_rpc_status_message_is_sanitized(void **state)
{
	fixture               *f = *state;
	uint8_t                pl[64], buf[256];
	size_t                 pn, n;
	Gtpb__V1__RpcResponse *r;

	pn = pack_echo(pl, "gpu\xff\xfe\xc3", 6, GT_RPC_NOT_FOUND);
	n = envelope(buf, "gtpb.v1.Echo/Echo", 17, pl, pn, 0);
	r = raw_call(f->url, buf, n); /* asserts the message is valid UTF-8 */
	assert_int_equal(r->code, GT_RPC_NOT_FOUND);
	assert_non_null(strstr(r->message, "no such thing \"gpu\xef\xbf\xbd"));
	protobuf_c_message_free_unpacked(&r->base, NULL);
	/* valid UTF-8 passes unchanged */
	pn = pack_echo(pl, "gpu-\xc3\xa9", 6, GT_RPC_NOT_FOUND);
	n = envelope(buf, "gtpb.v1.Echo/Echo", 17, pl, pn, 0);
	r = raw_call(f->url, buf, n);
	assert_string_equal(r->message, "no such thing \"gpu-\xc3\xa9\"");
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void
test_rpc_deferred_call_cancelled_when_client_leaves(void **state)
{
	fixture   *f = *state;
	uint8_t    pl[64], buf[256];
	size_t     pn = pack_echo(pl, "", 0, FAIL_DEFER), n;
	nng_socket s = raw_open(f->url);
	nng_msg   *m;
	void      *data = NULL;
	int64_t    until;

	n = envelope(buf, "gtpb.v1.Echo/Echo", 17, pl, pn, 0);
	assert_int_equal(nng_msg_alloc(&m, 0), 0);
	nng_msg_append(m, buf, n);
	assert_int_equal(nng_sendmsg(s, m, 0), 0);
	for (until = gt_mono_ns() + 5 * GT_NS_PER_S; gt_mono_ns() < until;
	     gt_sleep_ns(GT_NS_PER_MS))
		if ((data = atomic_load(&parked_data)) != NULL)
			break;
	assert_non_null(data);
	assert_false(gt_rpc_cancelled(data));
	nng_close(s); /* the client goes away */
	for (until = gt_mono_ns() + 5 * GT_NS_PER_S; gt_mono_ns() < until;
	     gt_sleep_ns(GT_NS_PER_MS))
		if (gt_rpc_cancelled(data))
			break;
	assert_true(gt_rpc_cancelled(data));
	gt_rpc_fail(data, GT_RPC_CANCELLED, "client gone");
	parked_closure(NULL, data); /* frees the context; the reply is discarded */
	/* other clients are served, and the new calls are not cancelled */
	for (int i = 0; i < 20; i++) {
		Gtpb__V1__RpcResponse *r;
		pn = pack_echo(pl, "again", 5, 0);
		n = envelope(buf, "gtpb.v1.Echo/Echo", 17, pl, pn, 0);
		r = raw_call(f->url, buf, n);
		assert_int_equal(r->code, GT_RPC_OK);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_rpc_negative_deadline_is_not_run, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rpc_method_with_nul_or_bad_utf8_not_dispatched,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rpc_payload_strings_must_be_utf8, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rpc_status_message_is_sanitized, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rpc_deferred_call_cancelled_when_client_leaves,
	                                    setup, teardown),
	};
	return cmocka_run_group_tests_name("unit.common.rpc_input", tests, NULL, NULL);
}
